"""DestinationRules: which one applies to a host (EG0004, EG0005), and its TLS settings."""
from __future__ import annotations

from .snapshot import DOMAIN, ROOT_NAMESPACE, Finding, Snapshot, fix_command, ref

PUBLIC, PRIVATE, NONE = "*", ".", "~"


def _age(obj: dict) -> tuple[str, str, str]:
    """Istio's order of rules (push_context.go sortConfigBySelectorAndCreationTime): oldest first,
    then by name, then by namespace."""
    meta = obj.get("metadata") or {}
    return meta.get("creationTimestamp") or "", meta.get("name", ""), meta.get("namespace", "")


class _Hosts:
    """One namespace's rules by host, each host's in Istio's order with the namespaces it is exported to."""

    def __init__(self) -> None:
        self.exact: dict[str, list[tuple[dict, frozenset[str]]]] = {}
        self.wild: dict[str, list[tuple[dict, frozenset[str]]]] = {}  # by suffix: "*.example.com" -> ".example.com"
        self.longest: list[str] = []

    def add(self, host: str, rule: dict, export: frozenset[str]) -> None:
        if host.startswith("*"):
            self.wild.setdefault(host[1:], []).append((rule, export))
        else:
            self.exact.setdefault(host, []).append((rule, export))

    def done(self) -> None:
        self.longest = sorted(self.wild, key=len, reverse=True)  # distinct suffixes of one host differ in length

    def match(self, host: str) -> list[tuple[dict, frozenset[str]]]:
        """MostSpecificHostMatch (pilot/pkg/model/config.go): the exact host, else the longest wildcard."""
        found = self.exact.get(host)
        if found is not None:
            return found
        return next((self.wild[suffix] for suffix in self.longest if host.endswith(suffix)), [])


class RuleIndex:
    """DestinationRules by namespace and host, for Istio's choice of the one that applies.

    Built as push_context.go setDestinationRules builds its three indexes: each namespace's local
    rules (exportTo absent, `*`, `.` or the namespace itself), each namespace's exported ones (all but
    those only the namespace sees) and the root namespace's private ones. Exact hosts in dicts and
    wildcards longest first, so that a thousand services find their rules among a thousand rules
    without comparing every pair.
    """

    def __init__(self, rules: list[dict], default_export: tuple[str, ...] = (PUBLIC,),
                 root: str = ROOT_NAMESPACE) -> None:
        self.root = root
        self.exact: dict[str, dict[str, dict]] = {}  # every rule, by namespace then host as written
        self.local: dict[str, _Hosts] = {}
        self.exported: dict[str, _Hosts] = {}
        self.root_local = _Hosts()
        for rule in sorted(rules, key=_age):
            ns = rule["metadata"].get("namespace", "")
            spec = rule.get("spec") or {}
            host = (spec.get("host") or "").lower()
            if "." not in host and host != PUBLIC:
                host = f"{host}.{ns}.{DOMAIN}"  # a short name is in the rule's own namespace
            # a rule with a workloadSelector is not exported to other namespaces
            export = frozenset([PRIVATE] if spec.get("workloadSelector") is not None else spec.get("exportTo") or ())
            self.exact.setdefault(ns, {}).setdefault(host, rule)  # a wildcard too: a wildcard entry's own rule
            if not export or export & {PUBLIC, PRIVATE, ns}:
                self.local.setdefault(ns, _Hosts()).add(host, rule, export)
            private = PRIVATE in default_export if not export else len(export) == 1 and bool(export & {PRIVATE, ns})
            if not private:
                self.exported.setdefault(ns, _Hosts()).add(host, rule, export)
            elif ns == root:
                self.root_local.add(host, rule, export)
        for hosts in [*self.local.values(), *self.exported.values(), self.root_local]:
            hosts.done()

    def in_namespace(self, host: str, namespace: str) -> dict | None:
        """The oldest rule of one namespace for exactly host (a wildcard matches only itself, as
        MostSpecificHostMatch takes a wildcard needle), whatever its exportTo."""
        return self.exact.get(namespace, {}).get(host)

    def effective(self, host: str, namespace: str, service_namespace: str = "") -> dict | None:
        """The DestinationRule Istio applies to host for a caller in namespace (push_context.go
        destinationRule): the most specific of the caller's namespace (the root namespace's private
        ones for a caller there), else of the service's namespace, else of the root namespace, each
        of these two if exported to the caller's namespace."""
        local = self.root_local if namespace == self.root else self.local.get(namespace)
        found = local.match(host) if local is not None else []
        if found:
            return found[0][0]
        for owner in (service_namespace, self.root):
            hosts = self.exported.get(owner)
            # getExportedDestinationRuleFromNamespace: the most specific host first, then its rules
            # that the caller may see (a less specific host is not tried)
            for rule, export in hosts.match(host) if hosts is not None else ():
                if not export or PUBLIC in export or namespace in export:
                    return rule
        return None


def effective_rule(snapshot: Snapshot, host: str, namespace: str, service_namespace: str = "") -> dict | None:
    """The DestinationRule Istio applies to host from namespace (see RuleIndex.effective)."""
    return snapshot.rule_index().effective(host, namespace, service_namespace)


class EntryHosts:
    """The namespaces whose ServiceEntries declare each host (with the entries' exportTo), made once
    for a thousand services."""

    def __init__(self, entries: list[dict]) -> None:
        self.by_host: dict[str, list[tuple[str, list[str]]]] = {}
        for se in entries:
            spec = se.get("spec") or {}
            for host in spec.get("hosts") or []:
                self.by_host.setdefault(host.lower(), []).append((se["metadata"].get("namespace", ""),
                                                                  spec.get("exportTo") or [PUBLIC]))

    def service_namespace(self, host: str, caller: str) -> str:
        """The namespace of host's service for a caller ('' if none), push_context.go destinationRule's
        service namespace: a Service's (name.namespace.svc.cluster.local), else that of the ServiceEntry
        that declares host, the caller's own first, else the first other one exported to it (exportTo
        absent or `*`: everywhere)."""
        parts = host.split(".")
        if host.endswith(f".{DOMAIN}") and len(parts) == 5:
            return parts[1]
        declared = self.by_host.get(host, [])
        if any(ns == caller for ns, _ in declared):
            return caller
        return next((ns for ns, export in declared if PUBLIC in export or caller in export), "")


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
        rule = index.in_namespace(host, rule_ns)
        if rule is not None:
            out.append(finding("EG0004", f"DestinationRule {rule_ns}/{rule['metadata']['name']}", host,
                               (revision.version if revision is not None else snapshot.mesh.version) or "1.21+", spec.get("externalName", "").rstrip("."),
                               fix=fix_command(snapshot, svc)))
    return out


def visible_routes(routes: list[dict], caller: str, default_export: tuple[str, ...] = (PUBLIC,)) -> list[dict]:
    """The VirtualServices a sidecar in namespace caller sees, in Istio's order (push_context.go
    initVirtualServices and VirtualServicesForGateway for the `mesh` gateway): those private to its
    namespace, those exported to it by name, then the public ones (exportTo `*`, or absent under the
    default `*`); `~` hides one; each group oldest first (configCompareByCreationTime)."""
    ranked = []
    for vs in routes:
        spec, own = vs.get("spec") or {}, vs["metadata"].get("namespace", "")
        if "mesh" not in (spec.get("gateways") or ["mesh"]):
            continue  # bound to gateways only: not the sidecars' (getGatewayNames)
        export = {own if e == PRIVATE else e for e in spec.get("exportTo") or default_export}
        if PUBLIC in export:
            ranked.append((2, _age(vs), vs))
        elif NONE not in export and caller in export:
            ranked.append((0 if caller == own else 1, _age(vs), vs))
    return [vs for _, _, vs in sorted(ranked, key=lambda item: item[:2])]


def routed_host(snapshot: Snapshot, host: str, namespace: str) -> str:
    """Where the first VirtualService a caller in namespace sees for host sends its first HTTP route's
    requests ('' if none does): the rules of that destination then apply (Istio's VirtualService
    reference: short names are relative to the route's namespace). kubectl egress writes such a route
    for TLS origination up to Istio 1.20."""
    for vs in visible_routes(snapshot.routes, namespace):
        own = vs["metadata"].get("namespace", "")
        names = {h if "." in h else f"{h}.{own}.{DOMAIN}" for h in (vs.get("spec") or {}).get("hosts") or []}
        routes = [r for rule in (vs.get("spec") or {}).get("http") or [] for r in rule.get("route") or []]
        if host in names and routes:
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
    rule = effective_rule(snapshot, host, ns, snapshot.entry_hosts().service_namespace(host, ns))
    numbers = [p.get("port") or 0 for p in spec.get("ports") or []] or [0]  # callers use the Service's ports
    if rule is None or all(tls_of(rule, number).get("mode") != "ISTIO_MUTUAL" for number in numbers):
        return []
    where = f"{rule['metadata'].get('namespace')}/{rule['metadata']['name']} (host {rule['spec'].get('host')})"
    return [finding("EG0005", ref(svc), host, where, fix=fix_command(snapshot, svc, tls_mode="DISABLE"))]
