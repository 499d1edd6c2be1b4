"""Which cluster, as whom: kubeconfig loading, merging and overrides, as client-go's clientcmd.

`--kubeconfig` or `KUBECONFIG` (files joined by `:`, the first definition of
each name wins, and the first `current-context` set wins), else
`~/.kube/config`. Relative paths in a kubeconfig are joined to the folder of the
file as it was named, symlinks not followed (clientcmd loader.go
ResolveLocalPaths, GetAuthInfoFileReferences: an exec command too, when it holds
a `/`). kubectl's connection flags then override the context, cluster and user
(clientcmd client_config.go getContext, getCluster, getAuthInfo). With no
kubeconfig at all, inside a pod, the service account is used (rest.InClusterConfig,
merged_client_builder.go). No kubernetes client import here: --help and
argument errors never pay for it.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

from .errors import EgressError, UsageError

DEFAULT_PATH = Path("~/.kube/config")
PATH_KEYS = {"clusters": ("certificate-authority",),
             "users": ("client-certificate", "client-key", "tokenFile")}
CONTEXT_NAME = "kubectl-egress"  # the one context handed to the client
# rest.InClusterConfig and clientcmd's inClusterClientConfig read these fixed paths
SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"


@dataclass(frozen=True)
class ConnectionFlags:
    """kubectl's connection flags, as given (None, False or empty: not given)."""

    kubeconfig: str | None = None
    context: str | None = None
    cluster: str | None = None
    user: str | None = None
    namespace: str | None = None
    request_timeout: float | None = None
    server: str | None = None
    tls_server_name: str | None = None
    certificate_authority: str | None = None
    insecure_skip_tls_verify: bool = False
    disable_compression: bool = False
    client_certificate: str | None = None
    client_key: str | None = None
    token: str | None = None
    username: str | None = None
    password: str | None = None
    impersonate: str | None = None  # --as
    impersonate_groups: tuple[str, ...] = ()  # --as-group
    impersonate_uid: str | None = None  # --as-uid


@dataclass(frozen=True)
class KubeContext:
    """A resolved connection: one cluster and user, with the namespace and timeout."""

    config: dict = field(repr=False)  # a kubeconfig holding exactly CONTEXT_NAME
    context_name: str
    cluster_name: str
    server: str
    namespace: str
    namespace_explicit: bool  # -n given (kubectl's EnforceNamespace)
    request_timeout: float | None
    in_cluster: bool = False


def _read(path: Path) -> dict:
    from .yamllib import yaml as yaml_module  # only once a command needs the cluster

    yaml = yaml_module()

    try:
        data = yaml.load(path.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)) or {}
    except OSError as err:
        raise EgressError(f"cannot read kubeconfig {path}: {err.strerror}") from None
    except yaml.YAMLError as err:
        raise EgressError(f"kubeconfig {path} is not valid YAML: {err}") from None
    if not isinstance(data, dict):
        raise EgressError(f"kubeconfig {path} is not a kubeconfig (want a mapping)")
    return data


def _join(base: str, value: str) -> str:
    """clientcmd ResolvePaths: a relative path joined to base and cleaned (Go's filepath.Join)."""
    return value if os.path.isabs(value) else os.path.normpath(os.path.join(base, value))


def _absolute(entry: dict, keys: tuple[str, ...], base: str) -> dict:
    inner = dict(entry)
    for key in keys:
        value = inner.get(key)
        if isinstance(value, str) and value:
            inner[key] = _join(base, value)
    command = (inner.get("exec") or {}).get("command") if "tokenFile" in keys else None
    if isinstance(command, str) and os.sep in command:  # only a command that is not PATH based
        inner["exec"] = {**inner["exec"], "command": _join(base, command)}
    return inner


def merge(files: list[tuple[Path, dict]]) -> dict:
    """Merge kubeconfigs with kubectl's rules: the first name and first current-context win."""
    merged: dict = {"clusters": [], "users": [], "contexts": [], "current-context": ""}
    for path, data in files:
        base = os.path.abspath(os.path.dirname(path))  # filepath.Abs(filepath.Dir(...)): no symlinks resolved
        for section in ("clusters", "users", "contexts"):
            inner_key = section[:-1]  # cluster, user, context
            names = {e["name"] for e in merged[section]}
            for entry in data.get(section) or []:
                if not isinstance(entry, dict) or entry.get("name") in names:
                    continue
                body = entry.get(inner_key) or {}
                body = _absolute(body, PATH_KEYS.get(section, ()), base)
                merged[section].append({"name": entry.get("name"), inner_key: body})
                names.add(entry.get("name"))
        if not merged["current-context"] and data.get("current-context"):
            merged["current-context"] = data["current-context"]
    return merged


def config_files(flags: ConnectionFlags, environ: Mapping[str, str]) -> list[Path]:
    if flags.kubeconfig:
        path = Path(os.path.expanduser(flags.kubeconfig))
        if not path.exists():
            raise UsageError(f"--kubeconfig {flags.kubeconfig}: no such file")
        return [path]
    env = environ.get("KUBECONFIG", "")
    if env:
        paths = [Path(os.path.expanduser(p)) for p in env.split(os.pathsep) if p]
        return [p for p in paths if p.exists()]
    home = environ.get("HOME")
    default = Path(home) / ".kube" / "config" if home else Path(os.path.expanduser(str(DEFAULT_PATH)))
    return [default] if default.exists() else []


def _named(entries: list[dict], name: str) -> dict | None:
    return next((e for e in entries if e.get("name") == name), None)


def cluster_overrides(cluster: dict, flags: ConnectionFlags) -> dict:
    """clientcmd getCluster: --server, --certificate-authority, --insecure-skip-tls-verify,
    --tls-server-name and --disable-compression over the kubeconfig's cluster."""
    merged = dict(cluster)
    if flags.server:
        merged["server"] = flags.server
    if flags.disable_compression:
        merged["disable-compression"] = True
    # A CA or insecure flag replaces all three settings; a --server clears a kubeconfig's
    # tls-server-name unless --tls-server-name is given too.
    if flags.insecure_skip_tls_verify or flags.certificate_authority:
        merged.pop("certificate-authority-data", None)
        merged["certificate-authority"] = flags.certificate_authority or ""
        merged["insecure-skip-tls-verify"] = flags.insecure_skip_tls_verify
    if flags.tls_server_name or flags.server:
        merged["tls-server-name"] = flags.tls_server_name or ""
    return {k: v for k, v in merged.items() if v not in ("", None)}


def user_overrides(user: dict, flags: ConnectionFlags) -> dict:
    """clientcmd getAuthInfo: --token, --username/--password, --client-certificate/--client-key,
    --as/--as-group/--as-uid over the kubeconfig's user (a certificate or key flag replaces the
    kubeconfig's file and data alike)."""
    merged = dict(user)
    for key, value in (("token", flags.token), ("username", flags.username), ("password", flags.password),
                       ("as", flags.impersonate), ("as-uid", flags.impersonate_uid)):
        if value:
            merged[key] = value
    if flags.impersonate_groups:
        merged["as-groups"] = list(flags.impersonate_groups)
    if flags.client_certificate:
        merged.pop("client-certificate-data", None)
        merged["client-certificate"] = flags.client_certificate
    if flags.client_key:
        merged.pop("client-key-data", None)
        merged["client-key"] = flags.client_key
    return merged


def in_cluster_possible(environ: Mapping[str, str], sa_dir: str = SERVICE_ACCOUNT_DIR) -> bool:
    """clientcmd inClusterClientConfig.Possible: the service host and port set, and a token file."""
    return bool(environ.get("KUBERNETES_SERVICE_HOST")) and bool(environ.get("KUBERNETES_SERVICE_PORT")) \
        and os.path.isfile(os.path.join(sa_dir, "token"))


def in_cluster_namespace(environ: Mapping[str, str], sa_dir: str = SERVICE_ACCOUNT_DIR) -> str:
    """inClusterClientConfig.Namespace: POD_NAMESPACE, else the service account's, else default."""
    if environ.get("POD_NAMESPACE"):
        return environ["POD_NAMESPACE"]
    try:
        with open(os.path.join(sa_dir, "namespace")) as handle:
            namespace = handle.read().strip()
    except OSError:
        namespace = ""
    return namespace or "default"


def _in_cluster(flags: ConnectionFlags, environ: Mapping[str, str], sa_dir: str) -> KubeContext:
    """rest.InClusterConfig, with only the overrides inClusterClientConfig takes: --server,
    --token, --certificate-authority."""
    host, port = environ["KUBERNETES_SERVICE_HOST"], environ["KUBERNETES_SERVICE_PORT"]
    server = flags.server or f"https://{f'[{host}]' if ':' in host else host}:{port}"
    cluster: dict = {"server": server}
    ca_file = flags.certificate_authority or os.path.join(sa_dir, "ca.crt")
    if flags.certificate_authority or os.path.isfile(ca_file):
        cluster["certificate-authority"] = ca_file
    user = {"token": flags.token} if flags.token else {"tokenFile": os.path.join(sa_dir, "token")}
    namespace = flags.namespace or in_cluster_namespace(environ, sa_dir)
    return _context("in-cluster", {"name": "in-cluster", "cluster": cluster},
                    {"name": "in-cluster", "user": user}, namespace, flags, in_cluster=True)


def _validate(cluster_name: str, cluster: dict, user_name: str, user: dict, flags: ConnectionFlags) -> None:
    """The checks of clientcmd validation.go (validateClusterInfo, validateAuthInfo) that the
    plugin's own reading does not already make; from flags they are bad input (exit 2)."""
    from .transport import check_proxy_url

    if cluster.get("proxy-url"):
        try:
            check_proxy_url(cluster["proxy-url"])
        except ValueError as err:
            raise EgressError(f"invalid configuration: invalid 'proxy-url' \"{cluster['proxy-url']}\" "
                              f'for cluster "{cluster_name}": {err}') from None
    if (user.get("as-uid") or user.get("as-groups") or user.get("as-user-extra")) and not user.get("as"):
        message = f"requesting uid, groups or user-extra for {user_name} without impersonating a user"
        if flags.impersonate_groups or flags.impersonate_uid:
            raise UsageError(message + "; add --as USER")
        raise EgressError(message)
    methods = [m for m, on in (("token", user.get("token")),
                               ("basicAuth", user.get("username") or user.get("password"))) if on]
    if len(methods) > 1:
        message = (f"invalid configuration: more than one authentication method found for {user_name}; "
                   f"found [{' '.join(methods)}], only one is allowed")
        raise (UsageError if flags.token or flags.username or flags.password else EgressError)(message)


def server_url(server: str, cluster: dict, user: dict) -> str:
    """rest.DefaultServerURL: a server without a scheme is https when a CA, a client certificate
    or insecure-skip-tls-verify is set, else http."""
    from urllib.parse import urlsplit

    parts = urlsplit(server)
    if parts.scheme and parts.netloc:
        return server
    tls = any(cluster.get(k) for k in ("certificate-authority", "certificate-authority-data",
                                        "insecure-skip-tls-verify")) \
        or any(user.get(k) for k in ("client-certificate", "client-certificate-data"))
    return ("https://" if tls else "http://") + server


def _context(name: str, cluster_entry: dict, user_entry: dict, namespace: str, flags: ConnectionFlags,
             in_cluster: bool = False) -> KubeContext:
    user_name = user_entry.get("name") or "kubectl-egress-user"
    config = {
        "apiVersion": "v1", "kind": "Config", "current-context": CONTEXT_NAME,
        "clusters": [cluster_entry],
        "users": [{"name": user_name, "user": user_entry.get("user") or {}}],
        "contexts": [{"name": CONTEXT_NAME, "context": {
            "cluster": cluster_entry["name"], "user": user_name, "namespace": namespace}}],
    }
    return KubeContext(config=config, context_name=name, cluster_name=cluster_entry["name"],
                       server=cluster_entry["cluster"]["server"], namespace=namespace,
                       namespace_explicit=bool(flags.namespace),
                       request_timeout=flags.request_timeout or None, in_cluster=in_cluster)


def resolve(flags: ConnectionFlags, environ: Mapping[str, str] | None = None,
            sa_dir: str = SERVICE_ACCOUNT_DIR) -> KubeContext:
    """Flags + environment -> one connection, or an error that says what to fix."""
    environ = os.environ if environ is None else environ
    files = config_files(flags, environ)
    merged = merge([(p, _read(p)) for p in files])
    context_name = flags.context or merged["current-context"]
    context_entry = _named(merged["contexts"], context_name) if context_name else None
    if flags.context and context_entry is None:
        raise UsageError(f"context was not found for specified context: {flags.context}")
    context = dict((context_entry or {}).get("context") or {})
    if flags.cluster:
        if _named(merged["clusters"], flags.cluster) is None:
            raise UsageError(f'cluster "{flags.cluster}" was not found in the kubeconfig')
        context["cluster"] = flags.cluster
    if flags.user:
        if _named(merged["users"], flags.user) is None:
            raise UsageError(f'user "{flags.user}" was not found in the kubeconfig')
        context["user"] = flags.user
    cluster_entry = _named(merged["clusters"], context.get("cluster", "")) or {}
    cluster = cluster_overrides(cluster_entry.get("cluster") or {}, flags)
    possible = in_cluster_possible(environ, sa_dir)
    if not cluster and possible:  # nothing configured: the pod's service account
        return _in_cluster(flags, environ, sa_dir)
    if not cluster.get("server"):
        if not files and not flags.server:
            raise EgressError("no kubeconfig found: set KUBECONFIG or pass --kubeconfig, as for kubectl")
        if context_name and context_entry is None:
            raise EgressError(f"context was not found for specified context: {context_name}")
        if not context_name and not cluster:
            raise EgressError('no context is currently set, use "kubectl config use-context <context>"')
        raise EgressError(f'context "{context_name}" names cluster "{context.get("cluster", "")}", '
                          "which has no server in the kubeconfig")
    user_entry = _named(merged["users"], context.get("user", "")) or {}
    user = user_overrides(user_entry.get("user") or {}, flags)
    cluster["server"] = server_url(cluster["server"], cluster, user)
    _validate(cluster_entry.get("name") or "", cluster, user_entry.get("name") or "", user, flags)
    namespace = flags.namespace or context.get("namespace") or ""
    if not namespace:
        # merged_client_builder.go Namespace: no namespace in the kubeconfig, inside a pod
        namespace = in_cluster_namespace(environ, sa_dir) if possible else "default"
    return _context(context_name or "", {"name": cluster_entry.get("name") or "kubectl-egress-cluster",
                                         "cluster": cluster},
                    {"name": user_entry.get("name") or "", "user": user}, namespace, flags)
