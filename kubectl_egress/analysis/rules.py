"""DestinationRules: which one applies to a host (EG0004, EG0005)."""
from __future__ import annotations

from .snapshot import DOMAIN, ROOT_NAMESPACE, Finding, Snapshot, fix_command, ref


def _rule_matches(rule_host: str, host: str, rule_ns: str) -> int:
    """How specifically a DestinationRule host names host (-1: not at all)."""
    rule_host = rule_host.lower()
    if "." not in rule_host and rule_host != "*":
        rule_host = f"{rule_host}.{rule_ns}.{DOMAIN}"
    if rule_host == host:
        return 1000
    if rule_host == "*":
        return 0
    if rule_host.startswith("*.") and host.endswith(rule_host[1:]):
        return len(rule_host)
    return -1


def effective_rule(snapshot: Snapshot, host: str, namespace: str) -> dict | None:
    """The DestinationRule Istio applies to host from namespace: the caller's namespace, the
    service's, then the root namespace; within one, the most specific host wins."""
    for ns in dict.fromkeys([namespace, ROOT_NAMESPACE]):
        best, rank = None, -1
        for rule in snapshot.rules:
            if rule["metadata"].get("namespace", "") != ns:
                continue
            score = _rule_matches((rule.get("spec") or {}).get("host", ""), host, ns)
            if score > rank:
                best, rank = rule, score
        if best is not None:
            return best
    return None


def alias_rules(snapshot: Snapshot, svc: dict) -> list[Finding]:
    """EG0004: a DestinationRule for an ExternalName Service's own name, which 1.21+ ignores."""
    spec = svc.get("spec") or {}
    if not snapshot.mesh.alias or spec.get("type") != "ExternalName":
        return []
    name, ns = svc["metadata"]["name"], svc["metadata"].get("namespace", "")
    host = f"{name}.{ns}.{DOMAIN}"
    out = []
    for rule in snapshot.rules:
        rule_ns = rule["metadata"].get("namespace", "")
        if _rule_matches((rule.get("spec") or {}).get("host", ""), host, rule_ns) == 1000:
            version = snapshot.mesh.version or "1.21+"
            out.append(Finding("warning", "EG0004", f"DestinationRule {rule_ns}/{rule['metadata']['name']}",
                               f"host {host} is an ExternalName Service, which Istio {version} treats as a "
                               "DNS alias: the rule applies to nothing; rules for "
                               f"{spec.get('externalName', '').rstrip('.')} belong on that host, with a "
                               "ServiceEntry", fix_command(snapshot, svc)))
    return out


def routed_host(snapshot: Snapshot, host: str, namespace: str) -> str:
    """Where a VirtualService's first HTTP route sends requests for host ('' if none does): the rules
    of that destination then apply (Istio's VirtualService reference: short names are relative to the
    route's namespace)."""
    for vs in snapshot.routes:
        own = vs["metadata"].get("namespace", "")
        names = {h if "." in h else f"{h}.{own}.{DOMAIN}" for h in (vs.get("spec") or {}).get("hosts") or []}
        routes = [r for rule in (vs.get("spec") or {}).get("http") or [] for r in rule.get("route") or []]
        if host in names and routes and own in (namespace, ROOT_NAMESPACE):
            dest = (routes[0].get("destination") or {}).get("host", "")
            return dest if "." in dest else f"{dest}.{own}.{DOMAIN}"
    return ""


def mesh_mtls(snapshot: Snapshot, svc: dict) -> list[Finding]:
    """EG0005: Istio mutual TLS towards an external host (the mesh-wide rule, or a wrong one)."""
    mesh = snapshot.mesh
    if not mesh.istio:
        return []
    spec = svc.get("spec") or {}
    name, ns = svc["metadata"]["name"], svc["metadata"].get("namespace", "")
    external = spec.get("type") == "ExternalName"
    host = spec.get("externalName", "").rstrip(".") if external and mesh.alias else f"{name}.{ns}.{DOMAIN}"
    host = routed_host(snapshot, host, ns) or host
    rule = effective_rule(snapshot, host, ns)
    mode = (((rule or {}).get("spec") or {}).get("trafficPolicy") or {}).get("tls", {}).get("mode")
    if mode != "ISTIO_MUTUAL":
        return []
    where = f"{rule['metadata'].get('namespace')}/{rule['metadata']['name']} (host {rule['spec'].get('host')})"
    return [Finding("error", "EG0005", ref(svc),
                    f"the DestinationRule that applies to {host} is {where}, mode ISTIO_MUTUAL: callers with a "
                    "sidecar send Istio mutual TLS to an external host that cannot speak it (HTTP 503 "
                    "`upstream connect error ... connection termination`, or reset TLS handshakes)",
                    fix_command(snapshot, svc, tls_mode="DISABLE"))]


# (analyzer, needs Istio): port names and rules only matter in a mesh; endpoints and names always
