"""DestinationRules: which one applies to a host (EG0004, EG0005), and its TLS settings."""
from __future__ import annotations

from .snapshot import DOMAIN, ROOT_NAMESPACE, Finding, Snapshot, fix_command, ref


class RuleIndex:
    """DestinationRules by namespace and host, for Istio's choice of the one that applies.

    Exact hosts in a dict and wildcards longest first, so that a thousand services find their
    rules among a thousand rules without comparing every pair.
    """

    def __init__(self, rules: list[dict]) -> None:
        self.exact: dict[str, dict[str, dict]] = {}
        self.wild: dict[str, list[tuple[str, dict]]] = {}
        for rule in rules:
            ns = rule["metadata"].get("namespace", "")
            host = ((rule.get("spec") or {}).get("host") or "").lower()
            if "." not in host and host != "*":
                host = f"{host}.{ns}.{DOMAIN}"  # a short name is in the rule's own namespace
            if host == "*" or host.startswith("*."):
                self.wild.setdefault(ns, []).append((host[1:], rule))
            else:
                self.exact.setdefault(ns, {}).setdefault(host, rule)
        for entries in self.wild.values():
            entries.sort(key=lambda item: -len(item[0]))  # stable: the first of equals wins

    def in_namespace(self, host: str, namespace: str, exact_only: bool = False) -> dict | None:
        """The most specific rule of one namespace for host: its exact host, else the longest wildcard."""
        found = self.exact.get(namespace, {}).get(host)
        if found is not None or exact_only:
            return found
        return next((rule for suffix, rule in self.wild.get(namespace, ()) if host.endswith(suffix)), None)

    def effective(self, host: str, namespace: str) -> dict | None:
        """The DestinationRule Istio applies to host for a caller in namespace: the caller's
        namespace first, then the root namespace."""
        for ns in dict.fromkeys([namespace, ROOT_NAMESPACE]):
            found = self.in_namespace(host, ns)
            if found is not None:
                return found
        return None


def effective_rule(snapshot: Snapshot, host: str, namespace: str) -> dict | None:
    """The DestinationRule Istio applies to host from namespace (see RuleIndex.effective)."""
    return snapshot.rule_index().effective(host, namespace)


def tls_of(rule: dict | None, port: int = 0) -> dict:
    """A rule's TLS settings for a port: its first portLevelSettings entry for the port, else the rule's own.

    An entry for the port replaces the rule's policy whole, tls included, even when it sets no tls:
    port-level policies do not inherit (istio pilot/pkg/networking/util/util.go GetPortLevelTrafficPolicy).
    """
    policy = ((rule or {}).get("spec") or {}).get("trafficPolicy") or {}
    for level in policy.get("portLevelSettings") or []:
        if port and (level.get("port") or {}).get("number") == port:
            return level.get("tls") or {}
    return policy.get("tls") or {}


def alias_rules(snapshot: Snapshot, svc: dict) -> list[Finding]:
    """EG0004: a DestinationRule for an ExternalName Service's own name, which 1.21+ ignores."""
    from .messages import finding
    spec = svc.get("spec") or {}
    name, ns = svc["metadata"]["name"], svc["metadata"].get("namespace", "")
    facts = snapshot.mesh.facts
    revision = facts.revision_for(ns) if facts is not None and facts.override == "auto" else None
    alias = revision.alias if revision is not None else snapshot.mesh.alias  # the namespace's revision decides
    if not alias or spec.get("type") != "ExternalName":
        return []
    host = f"{name}.{ns}.{DOMAIN}"
    out = []
    index = snapshot.rule_index()
    for rule_ns in sorted(index.exact):
        rule = index.in_namespace(host, rule_ns, exact_only=True)
        if rule is not None:
            out.append(finding("EG0004", f"DestinationRule {rule_ns}/{rule['metadata']['name']}", host,
                               (revision.version if revision is not None else snapshot.mesh.version) or "1.21+", spec.get("externalName", "").rstrip("."),
                               fix=fix_command(snapshot, svc)))
    return out


def routed_host(snapshot: Snapshot, host: str, namespace: str) -> str:
    """Where a VirtualService's first HTTP route sends requests for host ('' if none does): the rules
    of that destination then apply (Istio's VirtualService reference: short names are relative to the
    route's namespace). kubectl egress writes such a route for TLS origination up to Istio 1.20."""
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
    from .messages import finding
    mesh = snapshot.mesh
    if not mesh.istio:
        return []
    spec = svc.get("spec") or {}
    name, ns = svc["metadata"]["name"], svc["metadata"].get("namespace", "")
    external = spec.get("type") == "ExternalName"
    host = spec.get("externalName", "").rstrip(".") if external and mesh.alias else f"{name}.{ns}.{DOMAIN}"
    host = routed_host(snapshot, host, ns) or host
    rule = effective_rule(snapshot, host, ns)
    numbers = [p.get("port") or 0 for p in spec.get("ports") or []] or [0]  # callers use the Service's ports
    if rule is None or all(tls_of(rule, number).get("mode") != "ISTIO_MUTUAL" for number in numbers):
        return []
    where = f"{rule['metadata'].get('namespace')}/{rule['metadata']['name']} (host {rule['spec'].get('host')})"
    return [finding("EG0005", ref(svc), host, where, fix=fix_command(snapshot, svc, tls_mode="DISABLE"))]
