"""What a request asks for, before it is routed: kube-apiserver's RequestInfo.

A transcription of `RequestInfoFactory.NewRequestInfo` (kubernetes/apiserver
pkg/endpoints/request/requestinfo.go). The filter chain computes it from the
path, the method and two query parameters, then authorizes it, and only then
does a handler look at the path. So a request the router will refuse (404, 405)
is still authorized first, with the verb and resource this function names.
"""
from __future__ import annotations

from dataclasses import dataclass, field

API_PREFIXES = ("api", "apis")
GROUPLESS_PREFIXES = ("api",)
SPECIAL_VERBS = ("proxy", "watch")
SPECIAL_VERBS_NO_SUBRESOURCES = ("proxy",)
NAMESPACE_SUBRESOURCES = ("status", "finalize")
VERBS_WITH_SELECTORS = ("list", "watch", "deletecollection")
METHOD_VERBS = {"POST": "create", "GET": "get", "HEAD": "get", "PUT": "update", "PATCH": "patch",
                "DELETE": "delete"}


@dataclass
class RequestInfo:
    path: str
    verb: str
    resource_request: bool = False
    api_prefix: str = ""
    api_group: str = ""
    api_version: str = ""
    namespace: str = ""
    resource: str = ""
    subresource: str = ""
    name: str = ""
    parts: list[str] = field(default_factory=list)
    verb_via_path: bool = False  # /watch/..., /proxy/...


def _split(path: str) -> list[str]:
    path = path.strip("/")
    return path.split("/") if path else []


def _watch(query: dict[str, list[str]]) -> bool:
    """ListOptions.Watch as the parameter codec reads it (a bool: true/1, false/0)."""
    values = query.get("watch")
    if not values:
        return False
    return values[0].lower() not in ("false", "0", "")


def _field_name(query: dict[str, list[str]]) -> str:
    """`metadata.name=X` (or `==`) in the field selector: RequiresExactMatch."""
    for term in (query.get("fieldSelector") or [""])[0].split(","):
        for op in ("==", "="):
            key, sep, value = term.partition(op)
            if sep and key.strip() == "metadata.name" and "!" not in key:
                return value.strip()
    return ""


def request_info(method: str, path: str, query: dict[str, list[str]] | None = None) -> RequestInfo:
    """RequestInfoFactory.NewRequestInfo, for kube-apiserver's prefixes (api, apis)."""
    query = query or {}
    info = RequestInfo(path=path, verb=method.lower())
    parts = _split(path)
    if len(parts) < 3 or parts[0] not in API_PREFIXES:
        return info  # a non-resource request: /api, /apis/apps, /version, /openapi/v3 ...
    info.api_prefix, parts = parts[0], parts[1:]
    if info.api_prefix not in GROUPLESS_PREFIXES:
        if len(parts) < 3:
            return info
        info.api_group, parts = parts[0], parts[1:]
    info.resource_request = True
    info.api_version, parts = parts[0], parts[1:]
    if parts and parts[0] in SPECIAL_VERBS:
        if len(parts) < 2:
            raise ValueError(f"unable to determine kind and namespace from url, {path}")
        info.verb, parts = parts[0], parts[1:]
        info.verb_via_path = True
    else:
        info.verb = METHOD_VERBS.get(method, "")
    if parts and parts[0] == "namespaces":
        if len(parts) > 1:
            info.namespace = parts[1]
            if len(parts) > 2 and parts[2] not in NAMESPACE_SUBRESOURCES:
                parts = parts[2:]
    info.parts = parts
    if len(parts) >= 3 and info.verb not in SPECIAL_VERBS_NO_SUBRESOURCES:
        info.subresource = parts[2]
    if len(parts) >= 2:
        info.name = parts[1]
    if parts:
        info.resource = parts[0]
    if not info.name and info.verb == "get":
        info.verb = "watch" if _watch(query) else "list"
        name = _field_name(query)
        if name and "/" not in name and name not in (".", ".."):
            info.name = name
    if not info.name and info.verb == "delete":
        info.verb = "deletecollection"
    return info
