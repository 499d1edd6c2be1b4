"""Kubeconfig resolution, as kubectl does it (client-go clientcmd).

The one seam between flags/environment and the cluster connection:
`--kubeconfig` or `KUBECONFIG` (files joined by `:`, the first definition of
each name wins, and the first `current-context` set wins), else
`~/.kube/config`; then `--context`, `--cluster`, `--user` and
`-n/--namespace` override. Relative file paths inside a kubeconfig are
relative to that file. No kubernetes client import here: --help and argument
errors never pay for it.
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


@dataclass(frozen=True)
class ConnectionFlags:
    """kubectl's connection flags, as given (None: not given)."""

    kubeconfig: str | None = None
    context: str | None = None
    cluster: str | None = None
    user: str | None = None
    namespace: str | None = None
    request_timeout: float | None = None


@dataclass(frozen=True)
class KubeContext:
    """A resolved connection: one context, with its namespace and timeout."""

    config: dict = field(repr=False)  # a kubeconfig holding exactly CONTEXT_NAME
    context_name: str
    cluster_name: str
    server: str
    namespace: str
    namespace_explicit: bool  # -n given (kubectl's EnforceNamespace)
    request_timeout: float | None


def _read(path: Path) -> dict:
    import yaml  # only once a command needs the cluster

    try:
        data = yaml.load(path.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)) or {}
    except OSError as err:
        raise EgressError(f"cannot read kubeconfig {path}: {err.strerror}") from None
    except yaml.YAMLError as err:
        raise EgressError(f"kubeconfig {path} is not valid YAML: {err}") from None
    if not isinstance(data, dict):
        raise EgressError(f"kubeconfig {path} is not a kubeconfig (want a mapping)")
    return data


def _absolute(entry: dict, keys: tuple[str, ...], base: Path) -> dict:
    inner = dict(entry)
    for key in keys:
        value = inner.get(key)
        if isinstance(value, str) and value and not os.path.isabs(value):
            inner[key] = str(base / os.path.expanduser(value))
    return inner


def merge(files: list[tuple[Path, dict]]) -> dict:
    """Merge kubeconfigs with kubectl's rules: the first name and first current-context win."""
    merged: dict = {"clusters": [], "users": [], "contexts": [], "current-context": ""}
    for path, data in files:
        base = path.parent.resolve()
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


def resolve(flags: ConnectionFlags, environ: Mapping[str, str] | None = None) -> KubeContext:
    """Flags + environment -> one connection, or an error that says what to fix."""
    environ = os.environ if environ is None else environ
    files = config_files(flags, environ)
    if not files:
        raise EgressError("no kubeconfig found: set KUBECONFIG or pass --kubeconfig, "
                          "as for kubectl")
    merged = merge([(p, _read(p)) for p in files])
    context_name = flags.context or merged["current-context"]
    if not context_name:
        raise EgressError('no context is currently set, use "kubectl config use-context <context>"')
    context_entry = _named(merged["contexts"], context_name)
    if context_entry is None:
        message = f"context was not found for specified context: {context_name}"
        raise UsageError(message) if flags.context else EgressError(message)
    context = dict(context_entry.get("context") or {})
    if flags.cluster:
        if _named(merged["clusters"], flags.cluster) is None:
            raise UsageError(f'cluster "{flags.cluster}" was not found in the kubeconfig')
        context["cluster"] = flags.cluster
    if flags.user:
        if _named(merged["users"], flags.user) is None:
            raise UsageError(f'user "{flags.user}" was not found in the kubeconfig')
        context["user"] = flags.user
    cluster_entry = _named(merged["clusters"], context.get("cluster", ""))
    if cluster_entry is None or not (cluster_entry.get("cluster") or {}).get("server"):
        raise EgressError(f'context "{context_name}" names cluster "{context.get("cluster", "")}", '
                          "which has no server in the kubeconfig")
    user_entry = _named(merged["users"], context.get("user", "")) or {"name": "", "user": {}}
    namespace = flags.namespace or context.get("namespace") or "default"
    config = {
        "apiVersion": "v1", "kind": "Config", "current-context": CONTEXT_NAME,
        "clusters": [cluster_entry],
        "users": [{"name": user_entry.get("name") or "kubectl-egress-user",
                   "user": user_entry.get("user") or {}}],
        "contexts": [{"name": CONTEXT_NAME, "context": {
            "cluster": cluster_entry["name"],
            "user": user_entry.get("name") or "kubectl-egress-user",
            "namespace": namespace}}],
    }
    return KubeContext(config=config, context_name=context_name, cluster_name=cluster_entry["name"],
                       server=cluster_entry["cluster"]["server"], namespace=namespace,
                       namespace_explicit=bool(flags.namespace),
                       request_timeout=flags.request_timeout or None)


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
    proxy: str | None = None


def _file_or_data(entry: dict, file_key: str, data_key: str, scratch: list[str]) -> str | None:
    """A path for entry's file_key, or for its base64 data_key written to a private temp file."""
    import base64
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


def credentials(ctx: KubeContext, scratch: list[str], environ: Mapping[str, str] | None = None) -> Credentials:
    """The connection and identity of a resolved context, as client-go builds them.

    Tokens, token files, basic auth, client certificates (files or data) and
    exec credential plugins are handled here; the deprecated auth-provider
    entries (oidc) through the official client's loader. Temporary files for
    inline certificate data are appended to scratch, for the caller to remove.
    """
    cluster = ctx.config["clusters"][0]["cluster"]
    user = dict(ctx.config["users"][0].get("user") or {})
    creds = {"server": cluster["server"].rstrip("/"),
             "ca_file": _file_or_data(cluster, "certificate-authority", "certificate-authority-data", scratch),
             "insecure": bool(cluster.get("insecure-skip-tls-verify")),
             "tls_server_name": cluster.get("tls-server-name"),
             "proxy": cluster.get("proxy-url")}
    if user.get("exec"):
        status = exec_credential(user["exec"], cluster, environ if environ is not None else os.environ)
        if status.get("clientCertificateData"):
            user["client-certificate-data"] = _b64(status["clientCertificateData"])
            user["client-key-data"] = _b64(status.get("clientKeyData", ""))
        if status.get("token"):
            user["token"] = status["token"]
    creds["cert_file"] = _file_or_data(user, "client-certificate", "client-certificate-data", scratch)
    creds["key_file"] = _file_or_data(user, "client-key", "client-key-data", scratch)
    token = user.get("token")
    if not token and user.get("tokenFile"):
        try:
            with open(user["tokenFile"]) as handle:
                token = handle.read().strip()
        except OSError as err:
            raise EgressError(f"kubeconfig: tokenFile {user['tokenFile']}: {err.strerror}") from None
    if token:
        creds["authorization"] = f"Bearer {token}"
    elif user.get("username") is not None and user.get("password") is not None:
        import base64
        pair = f"{user['username']}:{user['password']}".encode()
        creds["authorization"] = "Basic " + base64.b64encode(pair).decode()
    elif user.get("auth-provider"):
        creds["authorization"] = _auth_provider_token(ctx)
    return Credentials(**creds)


def _b64(text: str) -> str:
    import base64
    return base64.b64encode(text.encode()).decode()


def exec_credential(spec: dict, cluster: dict, environ: Mapping[str, str]) -> dict:
    """Run a client-go exec credential plugin; its ExecCredential status."""
    import json
    import subprocess

    api_version = spec.get("apiVersion", "client.authentication.k8s.io/v1")
    interactive = spec.get("interactiveMode", "IfAvailable") != "Never" and os.isatty(0)
    info: dict = {"apiVersion": api_version, "kind": "ExecCredential", "spec": {"interactive": interactive}}
    if spec.get("provideClusterInfo"):
        info["spec"]["cluster"] = {k: cluster.get(k) for k in ("server", "certificate-authority-data",
                                                                 "insecure-skip-tls-verify", "tls-server-name",
                                                                 "proxy-url") if cluster.get(k) is not None}
    env = dict(environ)
    env.update({e["name"]: e.get("value", "") for e in spec.get("env") or [] if "name" in e})
    env["KUBERNETES_EXEC_INFO"] = json.dumps(info)
    command = [spec.get("command", "")] + [str(a) for a in spec.get("args") or []]
    try:
        proc = subprocess.run(command, env=env, stdout=subprocess.PIPE, stderr=None if interactive else subprocess.PIPE,
                              stdin=None if interactive else subprocess.DEVNULL, timeout=120)
    except FileNotFoundError:
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
