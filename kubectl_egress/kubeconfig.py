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
        data = yaml.safe_load(path.read_text()) or {}
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
