"""A local Kubernetes API server for tests and the demo.

Real HTTP on 127.0.0.1, answering as kube-apiserver does for the kinds
kubectl-egress touches, so that both the plugin (through the official Python
client) and real kubectl work against it. Start it in-process with
`LocalAPIServer`, or as a process with `python -m tests.apiserver`.
"""
from __future__ import annotations

import base64
import json
import os
import shutil
import ssl
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from .cluster import Cluster
from .istio import Revision, full_version
from .pki import CA
from .server import LocalServer


def kubeconfig(url: str, ca_pem: bytes, admin_token: str, reader_token: str) -> dict:
    """A kubeconfig with contexts `local` (admin) and `local-readonly` (reader)."""
    return {
        "apiVersion": "v1", "kind": "Config", "preferences": {},
        "clusters": [{"name": "local", "cluster": {
            "server": url, "certificate-authority-data": base64.b64encode(ca_pem).decode()}}],
        "users": [{"name": "local-admin", "user": {"token": admin_token}},
                  {"name": "local-reader", "user": {"token": reader_token}}],
        "contexts": [{"name": "local", "context": {"cluster": "local", "user": "local-admin",
                                                   "namespace": "default"}},
                     {"name": "local-readonly", "context": {"cluster": "local", "user": "local-reader",
                                                            "namespace": "default"}}],
        "current-context": "local",
    }


def write_kubeconfig(path: Path, config: dict) -> None:
    import yaml
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    os.chmod(path, 0o600)


@dataclass
class LocalAPIServer:
    """An in-process local cluster: `with LocalAPIServer(path) as srv: ...`."""

    kubeconfig_path: Path
    istio: str | None = "1.20"  # the default revision's version, or None
    port: int = 0
    ca: CA | None = None  # reuse one CA (and its serving certificate) across servers
    revisions: dict[str, str] = field(default_factory=dict)  # more control planes: name -> version
    outbound_policy: str | None = None  # meshConfig.outboundTrafficPolicy.mode: ALLOW_ANY | REGISTRY_ONLY
    ambient: bool = False  # ztunnel and istio-cni, the default namespace enrolled in ambient

    def __post_init__(self) -> None:
        self.workdir = Path(tempfile.mkdtemp(prefix="local-apiserver-"))
        os.chmod(self.workdir, 0o711)  # pods' processes run as their users, who must reach their files
        if self.ca is None:
            self.ca = CA(self.workdir / "pki")
        serving = self.ca.serving()
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.load_cert_chain(serving.cert, serving.key)
        tls.verify_mode = ssl.CERT_OPTIONAL  # client certificates authenticate, as --client-ca-file does
        tls.load_verify_locations(cadata=self.ca.pem.decode())
        tls.set_alpn_protocols(["http/1.1"])
        revisions = tuple(Revision(name, full_version(version)) for name, version in self.revisions.items())
        self.cluster = Cluster(istio_version=self.istio, workdir=self.workdir, ca=self.ca, revisions=revisions,
                               outbound_policy=self.outbound_policy, ambient=self.ambient)
        self.server = LocalServer(("127.0.0.1", self.port), self.cluster, tls=tls)
        self.cluster.address = "%s:%d" % self.server.server_address[:2]
        write_kubeconfig(Path(self.kubeconfig_path),
                         kubeconfig(self.url, self.ca.pem, self.cluster.admin_token,
                                    self.cluster.reader_token))

    @property
    def url(self) -> str:
        return self.server.url

    def start(self) -> "LocalAPIServer":
        self.server.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.cluster.shutdown()
        shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> "LocalAPIServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- test controls, over HTTP like any client ------------------------------
    def control(self, method: str, path: str, body: dict | None = None) -> dict:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        trust = ssl.create_default_context(cadata=self.ca.pem.decode())
        with urllib.request.urlopen(req, timeout=10, context=trust) as resp:
            return json.loads(resp.read() or b"{}")

    def request(self, method: str, path: str, body=None, *, token: str | None = "admin",
                content_type: str = "application/json", accept: str = "application/json",
                timeout: float = 10, headers: dict | None = None) -> tuple[int, dict, object]:
        """A raw API call as a client makes it: (status, headers, decoded body)."""
        tokens = {"admin": self.cluster.admin_token, "reader": self.cluster.reader_token}
        extra, headers = headers or {}, {"Accept": accept}
        if token:
            headers["Authorization"] = f"Bearer {tokens.get(token, token)}"
        data = None
        if body is not None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            headers["Content-Type"] = content_type
        headers.update(extra)
        req = urllib.request.Request(self.url + path, data=data, method=method, headers=headers)
        trust = ssl.create_default_context(cadata=self.ca.pem.decode())
        try:
            with urllib.request.urlopen(req, timeout=timeout, context=trust) as resp:
                status, head, raw = resp.status, resp.headers, resp.read()
        except urllib.error.HTTPError as err:
            status, head, raw = err.code, err.headers, err.read()
        try:
            decoded = json.loads(raw) if raw else None
        except ValueError:
            decoded = raw.decode()
        return status, head, decoded

    def fault(self, **spec) -> None:
        """Inject a fault: path (regex), method, status, reason, message, delay, times, reset."""
        self.control("POST", "/_local/faults", spec)

    def clear_faults(self) -> None:
        self.control("DELETE", "/_local/faults")

    def requests(self) -> list[dict]:
        return self.control("GET", "/_local/requests")["requests"]

    def clear_requests(self) -> None:
        self.control("DELETE", "/_local/requests")

    def writes(self) -> list[dict]:
        """Requests that could change state (anything but GET)."""
        return [r for r in self.requests() if r["method"] not in ("GET", "HEAD")]


__all__ = ["Cluster", "LocalAPIServer", "LocalServer", "kubeconfig", "write_kubeconfig"]
