"""VirtualService HTTP routes, as far as a sidecar's outbound route configuration needs them.

From Istio's VirtualService reference (istio.io docs/reference/config/networking/virtual-service):
a VirtualService without `gateways` applies to sidecars ("mesh"), in the namespaces it is exported to
(`exportTo`, default every namespace; "." its own); `hosts` and destination hosts given as short
names are relative to the VirtualService's namespace; the first `http` rule whose `match` list is
empty or has an entry matching the request wins, and its destination's `port.number`, when given,
picks the destination's port. Only `port` matches are read here: a rule that matches on anything
else (uri, headers, ...) is not taken, rather than taken wrongly.
"""
from __future__ import annotations

VIRTUAL_SERVICES = "networking.istio.io/virtualservices"
DOMAIN = "svc.cluster.local"


def _fqdn(host: str, namespace: str) -> str:
    host = host.lower()
    return host if "." in host or host == "*" else f"{host}.{namespace}.{DOMAIN}"


def _visible(vs: dict, client_ns: str) -> bool:
    spec = vs.get("spec") or {}
    if "mesh" not in (spec.get("gateways") or ["mesh"]):
        return False
    export = spec.get("exportTo") or ["*"]
    own = vs["metadata"].get("namespace", "")
    return "*" in export or client_ns in export or ("." in export and client_ns == own)


def _matches(rule: dict, port: int) -> bool:
    matches = rule.get("match") or []
    if not matches:
        return True
    return any(set(m) <= {"port", "name"} and m.get("port") in (None, port) for m in matches)


def http_destination(store, host: str, port: int, client_ns: str) -> tuple[str, int | None] | None:
    """(destination host, port or None) of the VirtualService route for an HTTP request to host:port."""
    for vs in sorted(store.scan(VIRTUAL_SERVICES), key=lambda v: v["metadata"].get("creationTimestamp", "")):
        own = vs["metadata"].get("namespace", "")
        spec = vs.get("spec") or {}
        if not _visible(vs, client_ns) or host not in {_fqdn(h, own) for h in spec.get("hosts") or []}:
            continue
        for rule in spec.get("http") or []:
            if not _matches(rule, port):
                continue
            routes = rule.get("route") or []
            if not routes:
                return None
            destination = max(routes, key=lambda r: r.get("weight", 100)).get("destination") or {}
            return _fqdn(destination.get("host", host), own), (destination.get("port") or {}).get("number")
    return None
