"""Which handler a resource path reaches, or how kube-apiserver refuses it.

Built-in kinds are served by go-restful web services, one per group version
(`/api/v1`, `/apis/apps/v1`), with the routes the API installer registers for
what each storage implements (apiserver pkg/endpoints/installer.go,
registerResourceHandlers): a collection path (list, create, deletecollection),
an item path (get, update, patch, delete), one path per subresource, `proxy`
paths with a trailing `{path:*}`, and the deprecated `watch/` paths. go-restful
answers a path with no route 404 and a route without the method 405
(go-restful jsr311.go detectRoute), both through the ServiceErrorHandler.

Custom resources are served by apiextensions-apiserver's crdHandler
(customresource_handler.go ServeHTTP), which works from the request's
RequestInfo: an unknown resource or an unserved version falls through to the
not-found handler (a text 404), an unknown subresource is the resource's
NotFound, and a verb the storage lacks is MethodNotSupported.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from .errors import PlainNotFound, bad_request, method_not_allowed, method_not_supported, not_found, \
    not_found_path, route_not_acceptable, route_unsupported_media_type

if TYPE_CHECKING:  # pragma: no cover
    from .kinds import Kind
    from .requestinfo import RequestInfo

# discovery verb -> HTTP method of its route (installer.go: toDiscoveryKubeVerb, reversed)
VERB_METHODS = {"get": "GET", "create": "POST", "update": "PUT", "patch": "PATCH", "delete": "DELETE"}
MEDIA_TYPES = ["application/json", "application/yaml", "application/vnd.kubernetes.protobuf"]
STREAM_MEDIA_TYPES = ["application/json;stream=watch", "application/vnd.kubernetes.protobuf;stream=watch"]
# the patch routes' Consumes (installer.go: supportedTypes for built-ins)
PATCH_CONSUMES = ("application/json-patch+json", "application/merge-patch+json",
                  "application/strategic-merge-patch+json", "application/apply-patch+yaml")
CONNECT_SUBRESOURCES = ("exec", "attach", "portforward", "proxy")


@dataclass
class Target:
    """A request that reached a handler: what it acts on, and how."""

    kind: "Kind"
    version: str
    namespace: str = ""
    name: str = ""
    sub: str = ""
    subpath: str = ""
    action: str = ""  # list, watch, create, deletecollection, get, update, patch, delete (options: proxy)


def _media_types(value: str) -> list[str]:
    out = []
    for part in (value or "").split(","):
        media = part.split(";", 1)[0].strip().lower()
        if media:
            out.append(media)
    return out


def _check_media(method: str, headers: dict[str, str], body: bytes, produces: list[str],
                 consumes: tuple[str, ...] | None) -> None:
    """go-restful's Content-Type then Accept checks of the one route the method selected."""
    ctype = (headers.get("content-type") or "").split(";", 1)[0].strip().lower()
    if consumes is not None and ctype not in consumes:  # no Content-Type reads as octet-stream
        if body:
            raise route_unsupported_media_type()
        produces = []  # no candidate route left for the Accept check
    accept = _media_types(headers.get("accept", "")) or ["*/*"]
    if produces and ("*/*" in produces or any(m == "*/*" or m in produces for m in accept)):
        return
    if method in ("POST", "PUT", "PATCH") and not body:
        raise route_unsupported_media_type(produces)
    raise route_not_acceptable(produces)


def builtin(kinds: list["Kind"], version: str, parts: list[str], method: str, query: dict,
            headers: dict[str, str], body: bytes) -> Target:
    """Route a path under a built-in group version (parts after /api/v1 or /apis/G/V)."""
    by_plural = {k.plural: k for k in kinds}
    watch_path = bool(parts) and parts[0] == "watch"
    if watch_path:
        parts = parts[1:]
    if not parts:
        raise not_found_path()
    namespace = ""
    if parts[0] == "namespaces" and len(parts) >= 3 and getattr(by_plural.get(parts[2]), "namespaced", False):
        namespace, kind, rest = parts[1], by_plural[parts[2]], parts[3:]
    else:
        kind, rest = by_plural.get(parts[0]), parts[1:]
        if kind is None:
            raise not_found_path()
    target = Target(kind, version, namespace)
    verbs = set(kind.verbs)
    routes: dict[str, str] = {}  # method -> action
    produces = MEDIA_TYPES
    consumes = None
    if not rest:
        cross_namespace = kind.namespaced and not namespace
        if "list" in verbs:
            routes["GET"] = "list"
            produces = MEDIA_TYPES + STREAM_MEDIA_TYPES
        if not cross_namespace and not watch_path:
            if "create" in verbs:
                routes["POST"] = "create"
            if "deletecollection" in verbs:
                routes["DELETE"] = "deletecollection"
        if watch_path and "GET" in routes:
            routes = {"GET": "watch"}
    elif kind.namespaced and not namespace:
        raise not_found_path()  # items of namespaced kinds only live under namespaces/NS/
    elif len(rest) == 1:
        target.name = rest[0]
        if watch_path:
            routes = {"GET": "watch"} if "watch" in verbs else {}
            produces = MEDIA_TYPES + STREAM_MEDIA_TYPES
        else:
            routes = {VERB_METHODS[v]: v for v in ("get", "update", "patch", "delete") if v in verbs}
            if method == "PATCH":
                consumes = PATCH_CONSUMES
    else:
        target.name, target.sub = rest[0], rest[1]
        sub_verbs = kind.subresources.get(target.sub)
        if watch_path or sub_verbs is None or (len(rest) > 2 and target.sub != "proxy"):
            raise not_found_path()
        target.subpath = "/".join(rest[2:])
        routes = {VERB_METHODS[v]: v for v in sub_verbs if v in VERB_METHODS}
        if target.sub == "proxy":
            routes.update({"HEAD": "get", "OPTIONS": "options"})
        if target.sub in CONNECT_SUBRESOURCES:
            produces = ["*/*"]
        elif target.sub == "log":
            produces = ["text/plain"] + MEDIA_TYPES  # LogREST.ProducesMIMETypes
        elif method == "PATCH":
            consumes = PATCH_CONSUMES
    if not routes:
        raise not_found_path()
    if method not in routes:
        raise method_not_allowed()
    _check_media(method, headers, body, produces, consumes)
    target.action = routes[method]
    if target.action == "list" and str((query.get("watch") or [""])[0]).lower() not in ("", "0", "false"):
        target.action = "watch"
    return target


POSSIBLY_ACROSS_ALL_NAMESPACES = ("list", "watch")


def custom(kinds: list["Kind"], version: str, info: "RequestInfo") -> Target:
    """Route a custom resource request as crdHandler.ServeHTTP does, from its RequestInfo."""
    kind = next((k for k in kinds if k.plural == info.resource), None)
    if kind is None or version not in kind.versions:
        raise PlainNotFound()
    if not kind.namespaced and info.namespace:
        raise PlainNotFound()
    if kind.namespaced and not info.namespace and info.verb not in POSSIBLY_ACROSS_ALL_NAMESPACES:
        raise PlainNotFound()
    target = Target(kind, version, info.namespace, info.name, info.subresource, action=info.verb)
    if info.subresource == "status" and "status" in kind.subresources:
        if info.verb not in ("get", "update", "patch"):
            raise method_not_supported(kind.plural, kind.group, info.verb)
    elif info.subresource:
        raise not_found(kind.plural, info.name, kind.group)
    elif info.verb not in ("get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"):
        raise method_not_supported(kind.plural, kind.group, info.verb)
    if info.verb in ("update", "patch") and not info.name:
        raise bad_request("name must be provided")  # ContextBasedNaming.Name: errEmptyName
    return target
