"""`kubectl egress check`: what is wrong with the egress services of a namespace, and the fix.

Pure: a Snapshot of the cluster's objects in, Findings out. Where istioctl
analyze has a message for a problem, its code and words are used (IST0150,
IST0118: istio's PortNameAnalyzer, with its protocol rules); the egress
problems it has no message for get EG codes (EG0009, EG0010 from the mesh's facts:
registry.py). Every message is
one row of messages.MESSAGES. Egress services are model.is_egress_service's;
Istio's system namespaces are skipped, as istioctl analyze skips them.

One module per area, as istio's pkg/config/analysis/analyzers/<area>:
snapshot (inputs, findings, shared readings), protocol (Istio's protocol of a
port), messages, ports, endpoints, rules, registry (REGISTRY_ONLY and revisions), and tls (DestinationRules that
originate TLS: IST0128, IST0129, EG0007, EG0008), which looks at rules rather
than Services, as istioctl's destinationrule analyzers do.
"""
from __future__ import annotations

from ..model import is_egress_service
from .protocol import protocol_of
from .rules import effective_rule, tls_of
from .snapshot import ROOT_NAMESPACE, SEVERITIES, SYSTEM_NAMESPACES, Finding, Snapshot

__all__ = ["ROOT_NAMESPACE", "SEVERITIES", "SYSTEM_NAMESPACES", "Finding", "Snapshot", "analyze",
           "at_or_above", "effective_rule", "protocol_of", "tls_of"]


def analyzers() -> tuple:
    """(analyzer, needs Istio): port names and rules only matter in a mesh; endpoints and names
    always. Imported when check runs: get and probe read snapshots without them."""
    from .endpoints import endpoint_ports, external_name_ip, mirrored_twice
    from .ports import port_names
    from .registry import registry_only
    from .rules import alias_rules, mesh_mtls
    return ((port_names, True), (endpoint_ports, False), (mirrored_twice, False), (external_name_ip, False),
            (alias_rules, True), (mesh_mtls, True), (registry_only, True))


def analyze(snapshot: Snapshot, names: tuple[str, ...] = ()) -> list[Finding]:
    """Every finding for the egress services of the snapshot (or only NAMEs)."""
    every = analyzers()
    findings = []
    for svc in sorted(snapshot.services, key=lambda s: (s["metadata"].get("namespace", ""), s["metadata"]["name"])):
        if not is_egress_service(svc) or (names and svc["metadata"]["name"] not in names) or \
                svc["metadata"].get("namespace") in SYSTEM_NAMESPACES:
            continue
        for analyzer, istio_only in every:
            if snapshot.mesh.istio or not istio_only:
                findings.extend(analyzer(snapshot, svc))
    if snapshot.mesh.istio:  # rule analyzers, each DestinationRule in scope once
        from .tls import RULE_ANALYZERS, in_scope
        for rule in sorted(snapshot.rules, key=lambda r: (r["metadata"].get("namespace", ""), r["metadata"]["name"])):
            if in_scope(snapshot, rule, names) and rule["metadata"].get("namespace") not in SYSTEM_NAMESPACES:
                for rule_analyzer in RULE_ANALYZERS:
                    findings.extend(rule_analyzer(snapshot, rule))
    if snapshot.mesh.istio and not names:
        from .registry import namespace_revision
        for namespace in snapshot.namespaces:
            if namespace not in SYSTEM_NAMESPACES:
                findings.extend(namespace_revision(snapshot, namespace))
    order = {s: i for i, s in enumerate(reversed(SEVERITIES))}
    return sorted(findings, key=lambda f: order[f.severity])


def at_or_above(findings: list[Finding], level: str) -> list[Finding]:
    floor = SEVERITIES.index(level)
    return [f for f in findings if SEVERITIES.index(f.severity) >= floor]
