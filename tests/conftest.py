"""Fixtures: a local API server per test, and ways to run the plugin against it.

Three levels, as the project's guide asks:
- pure functions, table-driven (no fixture);
- commands against the local API server, in process (`egress`);
- end to end, real `kubectl egress ...` with kubectl-egress on PATH (`kubectl`).
"""
from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.apiserver import LocalAPIServer
from tests.apiserver.pki import CA

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def ca(tmp_path_factory) -> CA:
    """One certificate authority for every local server of the run (openssl is slow-ish)."""
    return CA(tmp_path_factory.mktemp("pki"))


def _server(tmp_path: Path, ca: CA, istio: str | None) -> LocalAPIServer:
    return LocalAPIServer(tmp_path / "kubeconfig", istio=istio, ca=ca).start()


def _use(srv: LocalAPIServer, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("KUBECONFIG", str(srv.kubeconfig_path))
    # kubectl caches discovery per host:port; a port reused by a later server must not see it
    monkeypatch.setenv("KUBECACHEDIR", str(tmp_path / "kube-cache"))


@contextlib.contextmanager
def serving(where: Path, ca: CA, istio: str | None = "1.20", **options):
    """A local cluster for a whole module (a module-scoped fixture's body): KUBECONFIG and
    KUBECACHEDIR point at it until the block ends."""
    with LocalAPIServer(where / "kubeconfig", istio=istio, ca=ca, **options) as srv, \
            pytest.MonkeyPatch.context() as mp:
        _use(srv, where, mp)
        yield srv


@pytest.fixture
def apiserver(tmp_path, ca, monkeypatch):
    """A fresh local cluster with Istio 1.20; KUBECONFIG points at it."""
    srv = _server(tmp_path, ca, "1.20")
    _use(srv, tmp_path, monkeypatch)
    yield srv
    srv.stop()


@pytest.fixture
def apiserver_124(tmp_path, ca, monkeypatch):
    """A local cluster with Istio 1.24 (ExternalName Services are DNS aliases)."""
    srv = _server(tmp_path, ca, "1.24")
    _use(srv, tmp_path, monkeypatch)
    yield srv
    srv.stop()


@pytest.fixture
def make_apiserver(tmp_path, ca, monkeypatch):
    """A local cluster with the mesh asked for, e.g. make_apiserver("1.28", revisions={"canary": "1.22"},
    outbound_policy="REGISTRY_ONLY", ambient=True); KUBECONFIG points at the last one made."""
    made: list[LocalAPIServer] = []

    def make(istio: str | None = "1.20", **options) -> LocalAPIServer:
        where = tmp_path / f"cluster-{len(made)}"
        srv = LocalAPIServer(where / "kubeconfig", istio=istio, ca=ca, **options).start()
        made.append(srv)
        _use(srv, where, monkeypatch)
        return srv

    yield make
    for srv in made:
        srv.stop()


@pytest.fixture
def bare_apiserver(tmp_path, ca, monkeypatch):
    """A local cluster without Istio."""
    srv = _server(tmp_path, ca, None)
    _use(srv, tmp_path, monkeypatch)
    yield srv
    srv.stop()


@dataclass
class Result:
    code: int
    out: str
    err: str

    @property
    def lines(self) -> list[str]:
        return self.out.splitlines()

    def json(self):
        return json.loads(self.out)


def run_egress(*args: str) -> Result:
    """Run the plugin in process (cli.main), as the shell would, capturing both streams."""
    from kubectl_egress.cli import main

    out, err = io.StringIO(), io.StringIO()
    code = 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main(list(args))
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
    return Result(code, out.getvalue(), err.getvalue())


@pytest.fixture
def egress():
    return run_egress


def plugin_path() -> str:
    """PATH with the installed kubectl-egress first (the venv's bin)."""
    bindir = Path(sys.executable).parent
    return f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}"


def run_kubectl(*args: str, env: dict | None = None, input: str | None = None,
                timeout: float = 60) -> Result:
    """Real kubectl (which finds kubectl-egress on PATH for `kubectl egress`)."""
    full_env = {**os.environ, "PATH": plugin_path(), **(env or {})}
    proc = subprocess.run(["kubectl", *args], capture_output=True, text=True, env=full_env,
                          input=input, timeout=timeout)
    return Result(proc.returncode, proc.stdout, proc.stderr)


@pytest.fixture
def kubectl():
    assert shutil.which("kubectl"), "the end-to-end tests need real kubectl on PATH"
    return run_kubectl


def serviceaccount_kubeconfig(srv: LocalAPIServer, path: Path, name: str = "nobody",
                              namespace: str = "default") -> Path:
    """A kubeconfig whose user is a new ServiceAccount's token (`kubectl create token`), a user
    with only what RBAC gives every authenticated user; its context is `sa`."""
    import yaml
    srv.request("POST", f"/api/v1/namespaces/{namespace}/serviceaccounts",
                {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": name}})
    _, _, body = srv.request("POST", f"/api/v1/namespaces/{namespace}/serviceaccounts/{name}/token",
                             {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {}})
    config = yaml.safe_load(Path(srv.kubeconfig_path).read_text())
    config["users"].append({"name": "sa", "user": {"token": body["status"]["token"]}})
    config["contexts"].append({"name": "sa", "context": {"cluster": "local", "user": "sa", "namespace": namespace}})
    path.write_text(yaml.safe_dump(config))
    return path
