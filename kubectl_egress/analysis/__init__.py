"""`kubectl egress check`: what is wrong with the egress services of a namespace, and the fix.

Pure: a Snapshot of the cluster's objects in, Findings out. Where istioctl
analyze has a message for a problem, its code and words are used (IST0150,
IST0118, from istio pkg/config/analysis/msg/messages.yaml and the service
PortNameAnalyzer); the egress problems it has no message for get codes EG0001
to EG0006. An egress service is an ExternalName Service or a Service without
a selector (the API server's own `kubernetes` Service aside).

One module per area, as istio's pkg/config/analysis/analyzers/<area>:
snapshot (inputs, findings, shared readings), ports, endpoints, rules, and
tls (DestinationRules that originate TLS: IST0128, IST0129, EG0007, EG0008),
which looks at rules rather than Services, as istioctl's destinationrule
analyzers do.
"""
from __future__ import annotations

from .endpoints import endpoint_ports, external_name_ip, mirrored_twice
from .ports import port_names
from .rules import alias_rules, effective_rule, mesh_mtls
from .snapshot import ROOT_NAMESPACE, SEVERITIES, Finding, Snapshot, is_egress, protocol_of
from .tls import RULE_ANALYZERS, in_scope

__all__ = ["ROOT_NAMESPACE", "SEVERITIES", "Finding", "Snapshot", "analyze", "at_or_above",
           "effective_rule", "is_egress", "protocol_of"]

# (analyzer, needs Istio): port names and rules only matter in a mesh; endpoints and names always
ANALYZERS = ((port_names, True), (endpoint_ports, False), (mirrored_twice, False), (external_name_ip, False),
             (alias_rules, True), (mesh_mtls, True))


def analyze(snapshot: Snapshot, names: tuple[str, ...] = ()) -> list[Finding]:
    """Every finding for the egress services of the snapshot (or only NAMEs)."""
    findings = []
    for svc in sorted(snapshot.services, key=lambda s: (s["metadata"].get("namespace", ""), s["metadata"]["name"])):
        if not is_egress(svc) or (names and svc["metadata"]["name"] not in names):
            continue
        for analyzer, istio_only in ANALYZERS:
            if snapshot.mesh.istio or not istio_only:
                findings.extend(analyzer(snapshot, svc))
    if snapshot.mesh.istio:  # rule analyzers, each DestinationRule in scope once
        for rule in sorted(snapshot.rules, key=lambda r: (r["metadata"].get("namespace", ""), r["metadata"]["name"])):
            if in_scope(snapshot, rule, names):
                for rule_analyzer in RULE_ANALYZERS:
                    findings.extend(rule_analyzer(snapshot, rule))
    order = {s: i for i, s in enumerate(reversed(SEVERITIES))}
    return sorted(findings, key=lambda f: order[f.severity])


def at_or_above(findings: list[Finding], level: str) -> list[Finding]:
    floor = SEVERITIES.index(level)
    return [f for f in findings if SEVERITIES.index(f.severity) >= floor]
