"""Istio's configuration rules that decide what a proxy does, written from Istio's source.

Pure functions over objects as the API server stores them (plain dicts). The emulated
sidecar (sidecar.py) and ztunnel (ambient.py) apply them; each is tested against the
vectors of Istio's own tests in tests/test_meshrules.py.

- Host names (istio pkg/config/host/name.go `Name.Matches`, `Name.SubsetOf`; names.go
  `MoreSpecific`; pilot/pkg/model/config.go `MostSpecificHostMatch`,
  `ResolveShortnameToFQDN`).
- DestinationRules: the index istiod builds once per push (pilot/pkg/model/push_context.go
  `setDestinationRules`, with destination_rule.go `mergeDestinationRule`), the lookup a proxy
  gets (`PushContext.destinationRule`: the proxy's namespace, then the service's, then the
  root namespace, each by the most specific host) and the workload-selector choice
  (pilot/pkg/model/sidecar.go `SidecarScope.DestinationRule`). The merge is the one of Istio
  1.22 and later (ENABLE_ENHANCED_DESTINATIONRULE_MERGE, on by default): rules that differ in
  exportTo stay apart. Older releases merged them; the two differ only for duplicate rules of
  one host with different exportTo.
- Sidecar resources: which one configures a workload (push_context.go `initSidecarScopes`,
  `getSidecarScope`) and the outbound traffic policy in force (sidecar.go
  `convertToSidecarScope`: the Sidecar's own, else the mesh config's, else ALLOW_ANY).
"""
from __future__ import annotations

import copy
import ipaddress
from dataclasses import dataclass, field
from typing import Any, Iterable

ROOT_NAMESPACE = "istio-system"  # meshConfig.rootNamespace as the charts set it
DOMAIN = "cluster.local"
PUBLIC, PRIVATE = "*", "."  # pkg/config/visibility


# -- host names -------------------------------------------------------------------------------
def is_wildcarded(name: str) -> bool:
    return name[:1] == "*"


def matches(n: str, o: str) -> bool:
    """host.Name.Matches: the names overlap (either one may be a wildcard)."""
    if is_wildcarded(n):
        if is_wildcarded(o):
            return o[1:].endswith(n[1:]) if len(n) < len(o) else n[1:].endswith(o[1:])
        return o.endswith(n[1:])
    if is_wildcarded(o):
        return n.endswith(o[1:])
    return n == o


def subset_of(n: str, o: str) -> bool:
    """host.Name.SubsetOf: n is covered by o."""
    if is_wildcarded(n):
        if is_wildcarded(o):
            return False if len(n) < len(o) else n[1:].endswith(o[1:])
        return False
    if is_wildcarded(o):
        return n.endswith(o[1:])
    return n == o


def more_specific(a: str, b: str) -> bool:
    """host.MoreSpecific: longest first, then alphabetical, wildcards last."""
    if not a and not b:
        return True
    aw, bw = is_wildcarded(a), is_wildcarded(b)
    if aw != bw:
        return bw
    if len(a) == len(b):
        return a < b
    return len(a) > len(b)


def most_specific_host_match(needle: str, specific: dict[str, Any],
                             wildcard: dict[str, Any]) -> tuple[str, Any] | None:
    """MostSpecificHostMatch: an exact key first, else the most specific wildcard that covers needle."""
    if is_wildcarded(needle):
        if needle in wildcard:
            return needle, wildcard[needle]
        needle = needle[1:]
    elif needle in specific:
        return needle, specific[needle]
    found: str | None = None
    for candidate in wildcard:
        if needle.endswith(candidate[1:]) and (found is None or more_specific(candidate, found)):
            found = candidate
    return (found, wildcard[found]) if found is not None else None


def resolve_short_name(host: str, namespace: str, domain: str = DOMAIN) -> str:
    """ResolveShortnameToFQDN: a name without a dot is NAME.NAMESPACE.svc.DOMAIN; `*`, IPs and
    dotted names stay as they are."""
    if not host or host == "*":
        return host
    try:
        ipaddress.ip_address(host)
        return host
    except ValueError:
        pass
    if "." not in host:
        host = f"{host}.{namespace}" if namespace else host
        host = f"{host}.svc.{domain}" if domain else host
    return host


# -- label selectors as Istio compares them (pkg/config/labels Instance.SubsetOf) ------------------
def labels_subset(selector: dict[str, str] | None, labels: dict[str, str] | None) -> bool:
    labels = labels or {}
    return all(labels.get(k) == v for k, v in (selector or {}).items())


# -- DestinationRules ---------------------------------------------------------------------------
def _meta(obj: dict) -> dict:
    return obj.get("metadata") or {}


def _sort_key(rule: dict) -> tuple:
    """sortConfigBySelectorAndCreationTime: rules with a workload selector first, then oldest,
    then by name and namespace (creation times are whole seconds, so ties are common)."""
    meta = _meta(rule)
    selector = (rule.get("spec") or {}).get("workloadSelector") is not None
    return (not selector, meta.get("creationTimestamp") or "", meta.get("name", ""), meta.get("namespace", ""))


@dataclass
class ConsolidatedRule:
    """ConsolidatedDestRule: one rule, or several of one host merged; `sources` names them."""

    rule: dict
    export_to: frozenset[str]
    sources: list[tuple[str, str]] = field(default_factory=list)

    @property
    def namespace(self) -> str:
        return _meta(self.rule).get("namespace", "")

    @property
    def spec(self) -> dict:
        return self.rule.get("spec") or {}


@dataclass
class RuleSet:
    """consolidatedDestRules: rules by exact host and by wildcard host."""

    specific: dict[str, list[ConsolidatedRule]] = field(default_factory=dict)
    wildcard: dict[str, list[ConsolidatedRule]] = field(default_factory=dict)

    def merge(self, rule: dict, export_to: frozenset[str]) -> None:
        """mergeDestinationRule (ENABLE_ENHANCED_DESTINATIONRULE_MERGE on)."""
        spec = rule.get("spec") or {}
        host = spec.get("host", "")
        table = self.wildcard if is_wildcarded(host) else self.specific
        source = (_meta(rule).get("namespace", ""), _meta(rule).get("name", ""))
        existing = table.get(host)
        if existing is None:
            table[host] = [ConsolidatedRule(rule, export_to, [source])]
            return
        separately = True
        for mdr in existing:
            if export_to == mdr.export_to:
                separately = False
            elif mdr.export_to and export_to >= mdr.export_to:
                separately = True
            else:
                separately = True
                continue
            theirs = mdr.spec.get("workloadSelector")
            mine = spec.get("workloadSelector")
            both_with = theirs is not None and mine is not None
            same = ((theirs or {}).get("matchLabels") or {}) == ((mine or {}).get("matchLabels") or {})
            if both_with and not same:
                separately = True
                continue
            if (theirs is None and mine is None) or (both_with and same):
                separately = False
            merged = copy.deepcopy(mdr.rule)
            mdr.rule = merged
            mdr.sources.append(source)
            merged_spec = merged.setdefault("spec", {})
            names = {s.get("name") for s in merged_spec.get("subsets") or []}
            for subset in spec.get("subsets") or []:
                if subset.get("name") not in names:
                    merged_spec.setdefault("subsets", []).append(subset)
            if merged_spec.get("trafficPolicy") is None and spec.get("trafficPolicy") is not None:
                merged_spec["trafficPolicy"] = spec["trafficPolicy"]
        if separately:
            table[host].append(ConsolidatedRule(rule, export_to, [source]))

    def find(self, host: str) -> list[ConsolidatedRule] | None:
        found = most_specific_host_match(host, self.specific, self.wildcard)
        return found[1] if found else None


@dataclass
class DestinationRuleIndex:
    namespace_local: dict[str, RuleSet]
    exported: dict[str, RuleSet]
    root_local: RuleSet
    root_namespace: str


def index_destination_rules(rules: Iterable[dict], root_namespace: str = ROOT_NAMESPACE,
                            default_export: frozenset[str] = frozenset({PUBLIC}),
                            domain: str = DOMAIN) -> DestinationRuleIndex:
    """setDestinationRules: hosts resolved, rules merged per namespace, private and exported apart.
    default_export is meshConfig.defaultDestinationRuleExportTo (only `.` matters here)."""
    local: dict[str, RuleSet] = {}
    exported: dict[str, RuleSet] = {}
    root_local = RuleSet()
    for original in sorted(rules, key=_sort_key):
        # the rule's identity and spec are all the index needs (not its managedFields)
        meta = _meta(original)
        rule = {"metadata": {k: meta[k] for k in ("name", "namespace", "creationTimestamp") if k in meta},
                "spec": copy.deepcopy(original.get("spec") or {})}
        ns = _meta(rule).get("namespace", "")
        spec = rule.setdefault("spec", {})
        spec["host"] = resolve_short_name(spec.get("host", ""), ns, domain)
        # destination rules with a workload selector are never exported
        export_to = frozenset(spec.get("exportTo") or []) if spec.get("workloadSelector") is None \
            else frozenset({PRIVATE})
        if not export_to or PUBLIC in export_to or PRIVATE in export_to or ns in export_to:
            local.setdefault(ns, RuleSet()).merge(rule, export_to)
        private_only = (not export_to and PRIVATE in default_export) or \
            (len(export_to) == 1 and (PRIVATE in export_to or ns in export_to))
        if not private_only:
            exported.setdefault(ns, RuleSet()).merge(rule, export_to)
        elif ns == root_namespace:
            root_local.merge(rule, export_to)
    return DestinationRuleIndex(local, exported, root_local, root_namespace)


def _exported_from(index: DestinationRuleIndex, owner: str, host: str, client: str) -> list[ConsolidatedRule]:
    """getExportedDestinationRuleFromNamespace."""
    found = index.exported[owner].find(host) if owner in index.exported else None
    return [mdr for mdr in found or []
            if not mdr.export_to or PUBLIC in mdr.export_to or client in mdr.export_to]


def destination_rules_for(index: DestinationRuleIndex, proxy_namespace: str, host: str,
                          service_namespace: str) -> list[ConsolidatedRule]:
    """PushContext.destinationRule: the rules a proxy in proxy_namespace gets for a service."""
    if proxy_namespace != index.root_namespace:
        found = index.namespace_local[proxy_namespace].find(host) \
            if proxy_namespace in index.namespace_local else None
    else:
        found = index.root_local.find(host)
    if found:
        return found
    if service_namespace:
        out = _exported_from(index, service_namespace, host, proxy_namespace)
        if out:
            return out
    return _exported_from(index, index.root_namespace, host, proxy_namespace)


def destination_rule_for(index: DestinationRuleIndex, proxy_namespace: str, proxy_labels: dict[str, str],
                         host: str, service_namespace: str) -> ConsolidatedRule | None:
    """SidecarScope.DestinationRule (outbound): a rule of the proxy's namespace whose workload
    selector matches the proxy, else the (last) rule without a selector."""
    catch_all = None
    for mdr in destination_rules_for(index, proxy_namespace, host, service_namespace):
        selector = mdr.spec.get("workloadSelector")
        if selector is None:
            catch_all = mdr
        if proxy_namespace == mdr.namespace and selector is not None and \
                labels_subset(selector.get("matchLabels"), proxy_labels):
            return mdr
    return catch_all


def tls_mode(rule: ConsolidatedRule | None, port: int) -> str | None:
    """The TLS mode a rule sets for a port (pilot/pkg/networking/core cluster_traffic_policy.go
    MergeTrafficPolicy): the first portLevelSettings entry for the port replaces the top level's tls
    with its own, even when it has none ("port level policies do not inherit"); None: no tls, so
    auto mTLS decides."""
    if rule is None:
        return None
    policy = rule.spec.get("trafficPolicy") or {}
    tls = policy.get("tls")
    for level in policy.get("portLevelSettings") or []:
        if (level.get("port") or {}).get("number") == port:
            tls = level.get("tls")
            break
    return tls.get("mode", "DISABLE") if tls is not None else None


# -- Sidecar resources and the outbound traffic policy --------------------------------------------
def sidecar_for(sidecars: Iterable[dict], proxy_namespace: str, proxy_labels: dict[str, str],
                root_namespace: str = ROOT_NAMESPACE) -> dict | None:
    """getSidecarScope for a sidecar proxy: in its namespace the oldest Sidecar whose
    workloadSelector matches (selectors first), else the oldest without a selector; else the
    root namespace's Sidecar without a selector; else none (the default scope)."""
    def by_age(s: dict) -> tuple:
        meta = _meta(s)
        return (meta.get("creationTimestamp") or "", meta.get("name", ""), meta.get("namespace", ""))

    ordered = sorted(sidecars, key=by_age)
    ordered = [s for s in ordered if (s.get("spec") or {}).get("workloadSelector") is not None] + \
        [s for s in ordered if (s.get("spec") or {}).get("workloadSelector") is None]
    for sidecar in ordered:
        if _meta(sidecar).get("namespace") != proxy_namespace:
            continue
        selector = (sidecar.get("spec") or {}).get("workloadSelector")
        if selector is not None and not labels_subset(selector.get("labels"), proxy_labels):
            continue
        return sidecar
    return next((s for s in ordered if _meta(s).get("namespace") == root_namespace
                 and (s.get("spec") or {}).get("workloadSelector") is None), None)


def outbound_policy(mesh_config: dict | None, sidecar: dict | None) -> str:
    """The outbound traffic policy mode in force: the Sidecar's outboundTrafficPolicy when it has
    one (its mode enum's zero value is REGISTRY_ONLY: istio api networking/v1alpha3/sidecar.proto
    OutboundTrafficPolicy.Mode), else meshConfig.outboundTrafficPolicy, else ALLOW_ANY (the
    default mesh config's, pkg/config/mesh DefaultMeshConfig)."""
    own = ((sidecar or {}).get("spec") or {}).get("outboundTrafficPolicy")
    if own is not None:
        return own.get("mode") or "REGISTRY_ONLY"
    mode = ((mesh_config or {}).get("outboundTrafficPolicy") or {}).get("mode")
    return mode or "ALLOW_ANY"
