"""Who the requests are from, and how they reach the server: what client-go builds from a context.

clientcmd client_config.go (ClientConfig, getUserIdentificationPartialConfig): a
token (a tokenFile, when set, wins: client-go transport round_trippers.go
NewBearerAuthWithRefreshRoundTripper rereads it for every request), basic auth,
client certificates (files or data), exec credential plugins
(plugin/pkg/client/auth/exec, with rest/exec.go ConfigToExecCluster for
provideClusterInfo), impersonation, and the deprecated auth-provider entries
through the official client's loader. Credentials go only to an https server
(rest.IsConfigTransportTLS). The proxy: the kubeconfig's proxy-url, else the
environment's (transport.py).
"""
from __future__ import annotations

import base64
import os
from dataclasses import dataclass
from typing import Mapping

from .errors import EgressError
from .kubeconfig import KubeContext

EXEC_EXTENSION = "client.authentication.k8s.io/exec"  # clientcmd's clusterExtensionKey


@dataclass(frozen=True)
class Credentials:
    """What a request needs to reach and authenticate to the cluster."""

    server: str
    ca_file: str | None = None  # None: the system's trust store
    insecure: bool = False
    tls_server_name: str | None = None
    cert_file: str | None = None
    key_file: str | None = None
    authorization: str | None = None  # the Authorization header (Bearer or Basic)
    proxy: str | None = None  # the proxy for this server (kubeconfig or environment), or None
    impersonate: tuple[tuple[str, str], ...] = ()  # Impersonate-* headers


def _file_or_data(entry: dict, file_key: str, data_key: str, scratch: list[str]) -> str | None:
    """A path for entry's file_key, or for its base64 data_key written to a private temp file."""
    import tempfile

    if entry.get(data_key):
        try:
            data = base64.b64decode(entry[data_key])
        except ValueError:
            raise EgressError(f"kubeconfig: {data_key} is not valid base64") from None
        handle, path = tempfile.mkstemp(prefix="kubectl-egress-")
        os.write(handle, data)
        os.close(handle)
        scratch.append(path)
        return path
    value = entry.get(file_key)
    if value:
        if not os.path.exists(value):
            raise EgressError(f"kubeconfig: {file_key} {value}: no such file")
        return value
    return None


def read_token_file(path: str) -> str:
    """client-go's fileTokenSource: the file's text, trimmed; empty is an error."""
    try:
        with open(path) as handle:
            token = handle.read().strip()
    except OSError as err:
        raise EgressError(f'failed to read token file "{path}": {err.strerror}') from None
    if not token:
        raise EgressError(f'read empty token from file "{path}"')
    return token


def proxy_of(cluster: dict, environ: Mapping[str, str]) -> str | None:
    """The kubeconfig's proxy-url, else the environment's proxy for the server (Go's rules)."""
    from .transport import ProxyEnv, check_proxy_url, proxy_for_url

    if cluster.get("proxy-url"):
        return check_proxy_url(cluster["proxy-url"])  # checked when the kubeconfig was read
    return proxy_for_url(ProxyEnv.from_environ(environ), cluster["server"])


def impersonation(user: dict) -> tuple[tuple[str, str], ...]:
    """client-go's ImpersonatingRoundTripper headers for --as, --as-group, --as-uid (and the
    kubeconfig's as, as-groups, as-uid, as-user-extra)."""
    if not (user.get("as") or user.get("as-uid") or user.get("as-groups") or user.get("as-user-extra")):
        return ()
    headers = [("Impersonate-User", user.get("as") or "")]
    if user.get("as-uid"):
        headers.append(("Impersonate-Uid", user["as-uid"]))
    headers += [("Impersonate-Group", group) for group in user.get("as-groups") or []]
    from urllib.parse import quote
    for key, values in (user.get("as-user-extra") or {}).items():
        headers += [("Impersonate-Extra-" + quote(key, safe=""), v) for v in values or []]
    return tuple(headers)


def credentials(ctx: KubeContext, scratch: list[str], environ: Mapping[str, str] | None = None) -> Credentials:
    """The connection and identity of a resolved context, as client-go builds them.

    Temporary files for inline certificate data are appended to scratch, for the caller to
    remove.
    """
    environ = environ if environ is not None else os.environ
    cluster = ctx.config["clusters"][0]["cluster"]
    user = dict(ctx.config["users"][0].get("user") or {})
    server = cluster["server"].rstrip("/")
    creds: dict = {"server": server, "proxy": proxy_of(cluster, environ),
                   "impersonate": impersonation(user)}
    if not server.startswith("https://"):
        return Credentials(**creds)  # rest.IsConfigTransportTLS: no credentials in clear text
    creds.update(ca_file=_file_or_data(cluster, "certificate-authority", "certificate-authority-data", scratch),
                 insecure=bool(cluster.get("insecure-skip-tls-verify")),
                 tls_server_name=cluster.get("tls-server-name"))
    if user.get("exec"):
        status = exec_credential(user["exec"], exec_cluster(cluster, creds["proxy"] if cluster.get("proxy-url")
                                                            else None), environ)
        if status.get("clientCertificateData"):
            user["client-certificate-data"] = _b64(status["clientCertificateData"])
            user["client-key-data"] = _b64(status.get("clientKeyData", ""))
        if status.get("token"):
            user["token"] = status["token"]
    creds["cert_file"] = _file_or_data(user, "client-certificate", "client-certificate-data", scratch)
    creds["key_file"] = _file_or_data(user, "client-key", "client-key-data", scratch)
    token = user.get("token") or ""
    if user.get("tokenFile"):
        # the file wins; a token beside it is used only when the file cannot be read
        try:
            token = read_token_file(user["tokenFile"])
        except EgressError:
            if not token:
                raise
    basic = user.get("username") or user.get("password")
    if token and basic:  # a token file or an exec plugin's token beside basic auth
        raise EgressError("username/password or bearer token may be set, but not both")
    if token:
        creds["authorization"] = f"Bearer {token}"
    elif basic:
        pair = f"{user.get('username', '')}:{user.get('password', '')}".encode()
        creds["authorization"] = "Basic " + base64.b64encode(pair).decode()
    elif user.get("auth-provider"):
        creds["authorization"] = _auth_provider_token(ctx)
    return Credentials(**creds)


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def exec_cluster(cluster: dict, proxy: str | None) -> dict:
    """rest/exec.go ConfigToExecCluster: the ExecCredential's spec.cluster (the CA as data, read
    from the file where the kubeconfig names one; the proxy only from proxy-url)."""
    info: dict = {"server": cluster["server"]}
    if cluster.get("tls-server-name"):
        info["tls-server-name"] = cluster["tls-server-name"]
    if cluster.get("insecure-skip-tls-verify"):
        info["insecure-skip-tls-verify"] = True
    ca = cluster.get("certificate-authority-data")
    if not ca and cluster.get("certificate-authority"):
        try:
            with open(cluster["certificate-authority"], "rb") as handle:
                ca = base64.b64encode(handle.read()).decode()
        except OSError as err:
            raise EgressError(f"failed to load CA bundle for execProvider: {err}") from None
    if ca:
        info["certificate-authority-data"] = ca
    if proxy:
        info["proxy-url"] = proxy
    if cluster.get("disable-compression"):
        info["disable-compression"] = True
    for extension in cluster.get("extensions") or []:
        if extension.get("name") == EXEC_EXTENSION and extension.get("extension") is not None:
            info["config"] = extension["extension"]
    return info


def exec_credential(spec: dict, cluster: dict, environ: Mapping[str, str]) -> dict:
    """Run a client-go exec credential plugin; its ExecCredential status."""
    import json
    import subprocess

    api_version = spec.get("apiVersion", "client.authentication.k8s.io/v1")
    interactive = spec.get("interactiveMode", "IfAvailable") != "Never" and os.isatty(0)
    info: dict = {"apiVersion": api_version, "kind": "ExecCredential", "spec": {"interactive": interactive}}
    if spec.get("provideClusterInfo"):
        info["spec"]["cluster"] = cluster
    env = dict(environ)
    env.update({e["name"]: e.get("value", "") for e in spec.get("env") or [] if "name" in e})
    env["KUBERNETES_EXEC_INFO"] = json.dumps(info, separators=(",", ":"))  # compact, as Go encodes it
    command = [spec.get("command", "")] + [str(a) for a in spec.get("args") or []]
    try:
        proc = subprocess.run(command, env=env, stdout=subprocess.PIPE, stderr=None if interactive else subprocess.PIPE,
                              stdin=None if interactive else subprocess.DEVNULL, timeout=120)
    except (FileNotFoundError, PermissionError, NotADirectoryError):
        hint = spec.get("installHint", "").strip()
        raise EgressError(f'exec: executable {command[0]} not found' + (f" ({hint})" if hint else "")) from None
    except subprocess.TimeoutExpired:
        raise EgressError(f"exec credential plugin {command[0]} did not answer within 120s") from None
    if proc.returncode != 0:
        detail = (proc.stderr or b"").decode(errors="replace").strip().splitlines()
        raise EgressError(f"exec credential plugin {command[0]} failed (exit {proc.returncode})"
                          + (f": {detail[-1]}" if detail else ""))
    try:
        status = json.loads(proc.stdout).get("status") or {}
    except (ValueError, AttributeError):
        raise EgressError(f"exec credential plugin {command[0]} did not print an ExecCredential") from None
    if not status.get("token") and not status.get("clientCertificateData"):
        raise EgressError(f"exec credential plugin {command[0]} returned neither a token nor a certificate")
    return status


def _auth_provider_token(ctx: KubeContext) -> str:
    """auth-provider (oidc, ...): left to the official client's loader, which refreshes tokens."""
    from kubernetes.client import Configuration
    from kubernetes.config.config_exception import ConfigException
    from kubernetes.config.kube_config import KubeConfigLoader

    configuration = Configuration()
    try:
        KubeConfigLoader(config_dict=ctx.config, active_context=ctx.config["current-context"]).load_and_set(configuration)
    except ConfigException as err:
        raise EgressError(f"kubeconfig auth-provider: {err}") from None
    value = configuration.api_key.get("BearerToken") or configuration.api_key.get("authorization") or ""
    if not value:
        raise EgressError("kubeconfig auth-provider gave no token")
    return value if value.lower().startswith("bearer ") else f"Bearer {value}"
