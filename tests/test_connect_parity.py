"""Where kubectl connects, the plugin connects: one table, each row run by real kubectl and by
`kubectl egress` (through kubectl's plugin dispatch) with the same kubeconfig, environment
and flags, against one local cluster.

A row names what both must do (`ok`, or a text both errors hold) and, where it matters,
which proxy both must have gone through. The server is `https://kubernetes.default.svc:PORT`
where a row needs a name this machine cannot resolve (the serving certificate carries it):
only the test proxies, which resolve every name to this machine, reach it. A new case is one row.
"""
from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pytest
import yaml

from tests.apiserver import LocalAPIServer
from tests.conftest import plugin_path
from tests.proxies import ConnectProxy, SilentServer, Socks5Proxy

HIDDEN = "kubernetes.default.svc"  # in the serving certificate; resolvable only by the proxies
SA_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"  # rest.InClusterConfig's fixed path


@dataclass
class World:
    """What rows refer to: the server, its tokens and CA, the proxies, a scratch folder."""

    srv: LocalAPIServer
    dir: Path
    http: ConnectProxy
    https: ConnectProxy
    socks: Socks5Proxy
    silent: SilentServer

    @property
    def port(self) -> int:
        return self.srv.server.server_address[1]

    @property
    def admin(self) -> str:
        return self.srv.cluster.admin_token

    @property
    def reader(self) -> str:
        return self.srv.cluster.reader_token

    def file(self, name: str, text: str, mode: int = 0o600) -> str:
        path = self.dir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        path.chmod(mode)
        return str(path)

    @property
    def ca_file(self) -> str:
        return str(self.srv.ca.pair.cert)


Edit = Callable[[dict, World], None]


def cluster(**fields) -> Edit:
    """Set (or, with None, drop) fields of the kubeconfig's cluster; values may use {port}, {http},
    {https}, {socks}, {silent}, {ca}, {dir}."""
    def edit(config: dict, w: World) -> None:
        body = config["clusters"][0]["cluster"]
        for key, value in fields.items():
            key = key.replace("_", "-")
            if value is None:
                body.pop(key, None)
            else:
                body[key] = fill(value, w) if isinstance(value, str) else value
    return edit


def user(name: str = "local-admin", **fields) -> Edit:
    def edit(config: dict, w: World) -> None:
        body = next(u for u in config["users"] if u["name"] == name)["user"]
        for key, value in fields.items():
            if value is None:
                body.pop(key, None)
            else:
                body[key] = fill(value, w) if isinstance(value, str) else value
    return edit


def hidden_server(edit_config: dict, w: World) -> None:
    edit_config["clusters"][0]["cluster"]["server"] = f"https://{HIDDEN}:{w.port}"


def fill(text: str, w: World) -> str:
    return text.format(port=w.port, http=w.http.url, https=w.https.url, socks=w.socks.url,
                       silent=w.silent.url, ca=w.ca_file, dir=w.dir, admin=w.admin, reader=w.reader,
                       ca_b64=base64.b64encode(w.srv.ca.pem).decode())


def exec_plugin(w: World, check: str = "true") -> str:
    """A credential plugin in <dir>/bin that prints the admin token after `check` succeeds."""
    body = json.dumps({"apiVersion": "client.authentication.k8s.io/v1", "kind": "ExecCredential",
                       "status": {"token": w.admin}})
    return w.file("bin/cred.sh", f"#!/bin/sh\n{check} || exit 7\necho '{body}'\n", 0o755)


@dataclass(frozen=True)
class Row:
    name: str
    edits: tuple[Edit, ...] = ()
    env: dict[str, str] = field(default_factory=dict)
    flags: tuple[str, ...] = ()
    expect: str = "ok"  # "ok", or a text both error lines hold
    via: str = ""  # "http", "https" or "socks": the proxy both went through ("-": none)
    kubectl: tuple[str, ...] = ("get", "svc")
    plugin: tuple[str, ...] = ("get",)
    codes: tuple[int, int] | None = None  # (kubectl's, ours) where the project decided otherwise
    same_line: bool = False  # both print the very same last error line
    no_kubeconfig: bool = False
    in_cluster: bool = False  # a pod's service account folder and KUBERNETES_SERVICE_*
    setup: Callable[[World], None] | None = None


ROWS = [
    # -- proxies: the environment (HTTPS_PROXY, https_proxy, NO_PROXY), proxy-url, tls-server-name
    Row("env-proxy", (hidden_server,), {"HTTPS_PROXY": "{http}"}, via="http"),
    Row("env-proxy-lower-case", (hidden_server,), {"https_proxy": "{http}"}, via="http"),
    Row("env-proxy-without-scheme", (hidden_server,), {"HTTPS_PROXY": "127.0.0.1:{http_port}"}, via="http"),
    Row("env-http-proxy-is-not-for-https", (hidden_server,), {"HTTP_PROXY": "{http}"},
        expect="no such host", via="-"),
    Row("no-proxy-domain", (hidden_server,), {"HTTPS_PROXY": "{http}", "NO_PROXY": "example.com,.svc"},
        expect="no such host", via="-"),
    Row("no-proxy-star", (hidden_server,), {"HTTPS_PROXY": "{http}", "NO_PROXY": "*"}, expect="no such host", via="-"),
    Row("no-proxy-other-port", (hidden_server,), {"HTTPS_PROXY": "{http}", "NO_PROXY": f"{HIDDEN}:1"}, via="http"),
    Row("loopback-never-proxied", (), {"HTTPS_PROXY": "http://127.0.0.1:9"}, via="-"),
    Row("proxy-url-http", (hidden_server, cluster(proxy_url="{http}")), via="http"),
    Row("proxy-url-wins-over-env", (hidden_server, cluster(proxy_url="{http}")),
        {"HTTPS_PROXY": "http://127.0.0.1:9"}, via="http"),
    Row("proxy-url-https", (hidden_server, cluster(proxy_url="{https}")), via="https"),
    Row("proxy-url-socks5", (hidden_server, cluster(proxy_url="{socks}")), via="socks"),
    Row("proxy-url-and-tls-server-name", (cluster(server="https://apiserver.internal:{port}",
                                                  proxy_url="{http}", tls_server_name=HIDDEN),), via="http"),
    Row("socks5-and-tls-server-name", (cluster(server="https://apiserver.internal:{port}",
                                               proxy_url="{socks}", tls_server_name=HIDDEN),), via="socks"),
    Row("proxy-refused", (hidden_server, cluster(proxy_url="http://127.0.0.1:9")), expect="was refused",
        same_line=True),
    Row("proxy-url-bad-scheme", (cluster(proxy_url="ftp://127.0.0.1:21"),), expect='unsupported scheme "ftp"'),
    # -- timeouts: client-go's 10s TLS handshake limit; Go's duration syntax
    Row("server-never-answers", (cluster(server="{silent}"),), expect="net/http: TLS handshake timeout",
        same_line=True, kubectl=("get", "--raw", "/api/v1/namespaces/default/services")),
    Row("request-timeout-go-syntax", flags=("--request-timeout=.5s",)),
    Row("request-timeout-seconds", flags=("--request-timeout", "30")),
    # -- kubectl's global flags
    Row("server-token-ca-flags", no_kubeconfig=True,
        flags=("--server", "https://127.0.0.1:{port}", "--token", "{admin}", "--certificate-authority", "{ca}")),
    Row("server-flag-clears-tls-server-name", (cluster(tls_server_name="wrong.example"),),
        flags=("--server", "https://127.0.0.1:{port}")),
    Row("tls-server-name-flag", flags=("--tls-server-name", HIDDEN)),
    Row("wrong-tls-server-name", flags=("--tls-server-name", "wrong.example"), expect="failed to verify certificate"),
    Row("insecure-skip-tls-verify", (cluster(certificate_authority_data=None),),
        flags=("--insecure-skip-tls-verify",)),
    Row("no-ca-fails", (cluster(certificate_authority_data=None),), expect="failed to verify certificate"),
    Row("certificate-authority-flag", (cluster(certificate_authority_data=None),), flags=("--certificate-authority", "{ca}")),
    Row("client-certificate-flags", (user(token=None),),
        flags=("--client-certificate", "{dir}/admin.crt", "--client-key", "{dir}/admin.key")),
    Row("token-flag", (user(token="wrong"),), flags=("--token", "{admin}")),
    Row("token-flag-refused", flags=("--token", "wrong"), expect="You must be logged in to the server"),
    Row("disable-compression", flags=("--disable-compression",)),
    Row("cache-dir", flags=("--cache-dir", "{dir}/cache")),
    Row("warnings-as-errors", flags=("--warnings-as-errors",), expect="1 warning received", same_line=True,
        kubectl=("get", "endpoints"), plugin=("endpoints", "w", "203.0.113.7", "--port", "80", "--api", "endpoints")),
    Row("as-group-without-as", flags=("--as-group", "devs"), expect="without impersonating a user", codes=(1, 2)),
    # -- impersonation, against the local cluster's RBAC
    Row("as-reader-reads", flags=("--as", "reader")),
    Row("as-reader-cannot-write", flags=("--as", "reader"), expect='User "reader" cannot create resource "services"',
        kubectl=("create", "service", "externalname", "r", "--external-name", "example.com"),
        plugin=("externalname", "r", "example.com")),
    Row("as-admin-group-writes", flags=("--as", "someone", "--as-group", "system:masters"),
        kubectl=("create", "service", "externalname", "g", "--external-name", "example.com", "--dry-run=server"),
        plugin=("externalname", "g", "example.com", "--dry-run=server")),
    Row("reader-may-not-impersonate", flags=("--context", "local-readonly", "--as", "admin"), expect="Forbidden"),
    # -- credentials in the kubeconfig
    Row("token-file-wins-over-token", (user(token="wrong", tokenFile="{dir}/admin-token"),)),
    Row("token-file-read-each-time", (user(token="{admin}", tokenFile="{dir}/wrong-token"),), expect="You must be logged in to the server"),
    Row("exec-relative-command", (user(token=None, exec={"apiVersion": "client.authentication.k8s.io/v1",
                                                         "command": "./bin/cred.sh", "interactiveMode": "Never"}),),
        setup=lambda w: exec_plugin(w)),
    Row("exec-provide-cluster-info-ca-file",
        (cluster(certificate_authority_data=None, certificate_authority="{ca}"),
         user(token=None, exec={"apiVersion": "client.authentication.k8s.io/v1", "command": "./bin/cred.sh",
                                "interactiveMode": "Never", "provideClusterInfo": True})),
        setup=lambda w: exec_plugin(w, 'echo "$KUBERNETES_EXEC_INFO" | grep -q \'"certificate-authority-data":"'
                                       + base64.b64encode(w.srv.ca.pem).decode()[:40] + "'")),
    Row("symlinked-folder-relative-ca", (cluster(certificate_authority_data=None, certificate_authority="../ca.crt"),),
        env={"KUBECONFIG": "{dir}/links/config-link/kubeconfig"}, setup=lambda w: _symlinked(w)),
    # -- inside a pod: the service account, its namespace
    Row("in-cluster", in_cluster=True, no_kubeconfig=True, kubectl=("get", "svc", "-o", "name"),
        plugin=("get", "-o", "name")),
    Row("in-cluster-namespace-flag", in_cluster=True, no_kubeconfig=True, flags=("-n", "default")),
]


def _symlinked(w: World) -> None:
    """<dir>/links/config-link -> <dir>/real/deep: `../ca.crt` is <dir>/links/ca.crt for
    client-go (the link's folder), and would be <dir>/real/ca.crt (absent) through the target."""
    target = w.dir / "real" / "deep"
    target.mkdir(parents=True, exist_ok=True)
    (w.dir / "links").mkdir(exist_ok=True)
    link = w.dir / "links" / "config-link"
    if not link.exists():
        link.symlink_to(target)
    shutil.copy(w.ca_file, w.dir / "links" / "ca.crt")


@pytest.fixture(scope="module")
def world(ca, tmp_path_factory):
    base = tmp_path_factory.mktemp("parity")
    srv = LocalAPIServer(base / "kubeconfig", ca=ca).start()
    serving = ca.serving()
    w = World(srv, base, ConnectProxy(), ConnectProxy(tls=(serving.cert, serving.key)), Socks5Proxy(),
              SilentServer())
    pair = ca.client("admin-cert", ("system:masters",))
    shutil.copy(pair.cert, base / "admin.crt")
    shutil.copy(pair.key, base / "admin.key")
    w.file("admin-token", w.admin + "\n")
    w.file("wrong-token", "wrong\n")
    yield w
    for helper in (w.http, w.https, w.socks, w.silent):
        helper.close()
    srv.stop()


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else ""


def _normal(line: str) -> str:
    """Go names the resolver it asked (`lookup HOST on 10.0.0.53:53`); Python cannot know it."""
    return re.sub(r" on [^ ]+:53:", ":", line)


def _prefix_for(row: Row) -> list[str]:
    if not row.in_cluster:
        return []
    if os.geteuid() != 0 or not shutil.which("unshare"):
        pytest.skip("in-cluster rows need root and unshare (a private mount of the service account folder)")
    # a private mount namespace: /run (which /var/run is) replaced by a tmpfs holding the pod's
    # service account folder, for this process only
    return ["unshare", "--mount", "--propagation", "private", "sh", "-c",
            'mount -t tmpfs tmpfs /run && mkdir -p "$SA" && cp "$SRC"/* "$SA"/ && exec "$@"', "sh"]


@pytest.mark.parametrize("row", ROWS, ids=[r.name for r in ROWS])
def test_kubectl_and_the_plugin_connect_alike(world: World, row: Row, tmp_path):
    w = world
    if row.setup:
        row.setup(w)
    config = yaml.safe_load(w.srv.kubeconfig_path.read_text())
    for edit in row.edits:
        edit(config, w)
    kubeconfig = w.dir / f"{row.name}.kubeconfig"
    kubeconfig.write_text(yaml.safe_dump(config))
    if row.name.startswith("symlinked"):
        (w.dir / "real" / "deep" / "kubeconfig").write_text(yaml.safe_dump(config))
    env = {k: v for k, v in os.environ.items()
           if k.lower() not in ("http_proxy", "https_proxy", "no_proxy", "kubeconfig", "request_method")
           and not k.startswith("KUBERNETES_")}
    env.update(PATH=plugin_path(), HOME=str(tmp_path), KUBECACHEDIR=str(tmp_path / "cache"),
               KUBECONFIG="" if row.no_kubeconfig else str(kubeconfig))
    values = {"http_port": str(w.http.port)}
    env.update({k: fill(v.replace("{http_port}", values["http_port"]), w) for k, v in row.env.items()})
    if row.in_cluster:
        sa = w.dir / "serviceaccount"
        sa.mkdir(exist_ok=True)
        (sa / "token").write_text(w.admin)
        (sa / "ca.crt").write_bytes(w.srv.ca.pem)
        (sa / "namespace").write_text("team-a")
        env.update(KUBERNETES_SERVICE_HOST="127.0.0.1", KUBERNETES_SERVICE_PORT=str(w.port), SA=SA_DIR,
                   SRC=str(sa))
        _ensure_namespace(w, "team-a")
    flags = [fill(f, w) for f in row.flags]
    prefix = _prefix_for(row)
    runs = {"kubectl": [*prefix, "kubectl", *row.kubectl, *flags],
            "plugin": [*prefix, "kubectl", "egress", *row.plugin, *flags]}
    before = {name: len(p.targets) for name, p in (("http", w.http), ("https", w.https), ("socks", w.socks))}

    def run(argv: list[str]) -> subprocess.CompletedProcess:
        return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=90, stdin=subprocess.DEVNULL)

    with ThreadPoolExecutor(2) as pool:  # side by side: the slow rows wait once
        theirs, ours = pool.map(run, [runs["kubectl"], runs["plugin"]])
    report = (f"kubectl: exit {theirs.returncode}\n{theirs.stdout}{theirs.stderr}\n"
              f"plugin: exit {ours.returncode}\n{ours.stdout}{ours.stderr}")
    want = row.codes or ((0, 0) if row.expect == "ok" else (1, 1))
    assert (theirs.returncode, ours.returncode) == want, report
    if row.expect != "ok":
        assert row.expect in _last_line(theirs.stderr) or row.expect in theirs.stderr, report
        assert row.expect in _last_line(ours.stderr), report
        assert len(ours.stderr.strip().splitlines()) == 1 or "Warning:" in ours.stderr, report
    if row.same_line:
        assert _normal(_last_line(ours.stderr)) == _normal(_last_line(theirs.stderr)), report
    if row.via:
        used = {name for name, p in (("http", w.http), ("https", w.https), ("socks", w.socks))
                if len(p.targets) > before[name]}
        assert used == (set() if row.via == "-" else {row.via}), report
    if row.in_cluster and row.expect == "ok" and "-o" in row.plugin:
        assert ours.stdout == theirs.stdout == "service/in-team-a\n", report


def _ensure_namespace(w: World, namespace: str) -> None:
    """A namespace holding one managed egress Service, so that both listings name it."""
    status, _, _ = w.srv.request("GET", f"/api/v1/namespaces/{namespace}")
    if status == 404:
        w.srv.request("POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                                     "metadata": {"name": namespace}})
        w.srv.request("POST", f"/api/v1/namespaces/{namespace}/services", {
            "apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "in-team-a", "namespace": namespace,
                         "labels": {"app.kubernetes.io/managed-by": "kubectl-egress"}},
            "spec": {"type": "ExternalName", "externalName": "example.com",
                     "ports": [{"name": "http", "port": 80, "protocol": "TCP"}]}})
