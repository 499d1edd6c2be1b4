"""`kubectl egress check`: what is wrong with the egress services of a namespace, and the fix.

Pure: a Snapshot of the cluster's objects in, Findings out. Where istioctl
analyze has a message for a problem, its code and words are used (IST0150,
IST0118, from istio pkg/config/analysis/msg/messages.yaml and the service
PortNameAnalyzer); the egress problems it has no message for get codes EG0001
to EG0006. An egress service is an ExternalName Service or a Service without
a selector (the API server's own `kubernetes` Service aside).
"""
from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field

from .model import (HOST_ANNOTATION, ISTIO_PROTOCOL, MANAGED_BY, MANAGER, SLICE_MANAGED_BY,
                    SLICE_SERVICE_NAME, Mesh)

SEVERITIES = ("info", "warning", "error")
# Istio protocol selection: recognised names, cut at the first "-" (case-insensitive)
RECOGNISED = ("tcp", "udp", "grpc", "grpc-web", "http", "http_proxy", "http2", "https", "tls", "mongo",
              "redis", "mysql")
ROOT_NAMESPACE = "istio-system"
DOMAIN = "svc.cluster.local"
MIRROR_CONTROLLER = "endpointslicemirroring-controller.k8s.io"
SKIP_MIRROR = "endpointslice.kubernetes.io/skip-mirror"
KUBECTL_CREATE_PORT = re.compile(r"^\d+-\d+$")


@dataclass(frozen=True)
class Finding:
    severity: str  # info, warning, error
    code: str
    object: str  # "Service default/my-httpbin", as istioctl analyze names it
    message: str
    fix: str = ""

    def as_dict(self) -> dict:
        return {"severity": self.severity.capitalize(), "code": self.code, "object": self.object,
                "message": self.message, "fix": self.fix}


@dataclass
class Snapshot:
    """The objects check looks at (one namespace, or all)."""

    mesh: Mesh
    services: list[dict] = field(default_factory=list)
    endpoints: list[dict] = field(default_factory=list)
    slices: list[dict] = field(default_factory=list)
    rules: list[dict] = field(default_factory=list)  # DestinationRules, istio-system's included
    entries: list[dict] = field(default_factory=list)


def protocol_of(port: dict) -> str:
    """Istio's protocol for a Service port ('' when unsupported, so Istio sniffs)."""
    name = (port.get("appProtocol") or port.get("name") or "").lower()
    if name in RECOGNISED:
        return name
    prefix = name.split("-", 1)[0]
    return prefix if prefix in RECOGNISED else ""


def is_egress(svc: dict) -> bool:
    spec = svc.get("spec") or {}
    meta = svc.get("metadata") or {}
    if meta.get("namespace") == "default" and meta.get("name") == "kubernetes":
        return False
    return spec.get("type") == "ExternalName" or (not spec.get("selector") and spec.get("type", "ClusterIP")
                                                  in ("ClusterIP", ""))


def ref(svc: dict) -> str:
    meta = svc["metadata"]
    return f"Service {meta.get('namespace', '')}/{meta['name']}"


def _managed(obj: dict) -> bool:
    return (obj.get("metadata", {}).get("labels") or {}).get(MANAGED_BY) == MANAGER


def _ips(snapshot: Snapshot, svc: dict) -> list[str]:
    name, ns = svc["metadata"]["name"], svc["metadata"].get("namespace", "")
    ips = [a["ip"] for e in snapshot.endpoints if _same(e, ns, name)
           for s in e.get("subsets") or [] for a in s.get("addresses") or []]
    for es in _slices_of(snapshot, svc):
        if (es["metadata"].get("labels") or {}).get(SLICE_MANAGED_BY) != MIRROR_CONTROLLER:
            ips += [a for e in es.get("endpoints") or [] for a in e.get("addresses") or []]
    return list(dict.fromkeys(ips))


def _same(obj: dict, ns: str, name: str) -> bool:
    return obj["metadata"].get("namespace", "") == ns and obj["metadata"]["name"] == name


def _slices_of(snapshot: Snapshot, svc: dict) -> list[dict]:
    name, ns = svc["metadata"]["name"], svc["metadata"].get("namespace", "")
    return [es for es in snapshot.slices if es["metadata"].get("namespace", "") == ns and
            (es["metadata"].get("labels") or {}).get(SLICE_SERVICE_NAME) == name]


def fix_command(snapshot: Snapshot, svc: dict, protocol: str | None = None, tls_mode: str | None = None,
                as_endpoints: str | None = None, api: str | None = None) -> str:
    """The kubectl egress command that makes svc right (--force when it was made by hand)."""
    spec = svc.get("spec") or {}
    meta = svc["metadata"]
    port = (spec.get("ports") or [{}])[0]
    number = port.get("port") or 443
    proto = protocol or protocol_of(port) or ("https" if number in (443, 8443) else "http")
    if proto not in ISTIO_PROTOCOL:
        proto = "tls" if proto in ("tls", "https") else "tcp"
    ns = meta.get("namespace", "default")
    suffix = (f" -n {ns}" if ns != "default" else "") + ("" if _managed(svc) else " --force")
    mode = f" --tls-mode {tls_mode}" if tls_mode else ""
    if spec.get("type") == "ExternalName" and not as_endpoints:
        flags = (f" --port {number}" if number != 80 else "") + (f" --protocol {proto}" if proto != "http" else "")
        return f"kubectl egress externalname {meta['name']} {spec.get('externalName', '').rstrip('.')}" \
               f"{flags}{mode}{suffix}"
    ips = as_endpoints or " ".join(_ips(snapshot, svc)) or "IP"
    host = (meta.get("annotations") or {}).get(HOST_ANNOTATION)
    flags = f" --port {number}" + (f" --protocol {proto}" if proto != "tls" else "") + \
        (f" --host {host}" if host else "") + (f" --api {api}" if api else "")
    return f"kubectl egress endpoints {meta['name']} {ips}{flags}{mode}{suffix}"


# -- the analyzers ------------------------------------------------------------------------------
def port_names(snapshot: Snapshot, svc: dict) -> list[Finding]:
    """IST0150 / IST0118 (istio's PortNameAnalyzer), and EG0006 for kubectl create's `80-80`."""
    out = []
    external = (svc.get("spec") or {}).get("type") == "ExternalName"
    for port in (svc.get("spec") or {}).get("ports") or []:
        name = port.get("name", "")
        if KUBECTL_CREATE_PORT.match(name):
            guess = "https" if port.get("port") in (443, 8443) else "http"
            out.append(Finding("warning", "EG0006", ref(svc),
                               f"Port name {name} is what `kubectl create service` gives; Istio cannot tell "
                               "the protocol from it and treats the port as plain TCP or sniffs it",
                               fix_command(snapshot, svc, protocol=guess)))
            continue
        unsupported = not protocol_of(port)
        if external and (unsupported or name == "tcp"):
            out.append(Finding("warning", "IST0150", ref(svc),
                               "Port name for ExternalName service is invalid. Proxy may prevent tcp named "
                               "ports and unmatched traffic for ports serving TCP protocol from being "
                               f"forwarded correctly (port {port.get('port')} is named {name or 'nothing'})",
                               fix_command(snapshot, svc)))
        elif not external and unsupported:
            target = port.get("targetPort", port.get("port"))
            out.append(Finding("info", "IST0118", ref(svc),
                               f"Port name {name} (port: {port.get('port')}, targetPort: {target}) doesn't "
                               "follow the naming convention of Istio port.", fix_command(snapshot, svc)))
    return out


def endpoint_ports(snapshot: Snapshot, svc: dict) -> list[Finding]:
    """EG0001: endpoints whose port names are not the Service's (Istio matches them by name)."""
    spec = svc.get("spec") or {}
    if spec.get("type") == "ExternalName":
        return []
    wanted = {p.get("name", "") for p in spec.get("ports") or []}
    name, ns = svc["metadata"]["name"], svc["metadata"].get("namespace", "")
    found = []
    for ep in (e for e in snapshot.endpoints if _same(e, ns, name)):
        found += [("Endpoints", p.get("name", "")) for s in ep.get("subsets") or [] for p in s.get("ports") or []]
    for es in _slices_of(snapshot, svc):
        found += [("EndpointSlice " + es["metadata"]["name"], p.get("name") or "") for p in es.get("ports") or []]
    wrong = sorted({f"{kind} port {port or '(unnamed)'}" for kind, port in found if port not in wanted})
    if not wrong:
        return []
    return [Finding("warning", "EG0001", ref(svc),
                    f"{', '.join(wrong)} not among the Service's port names ({', '.join(sorted(wanted))}): "
                    "Istio pairs endpoints with Service ports by name, so this traffic has no endpoints "
                    "(istio#18624)", fix_command(snapshot, svc))]


def mirrored_twice(snapshot: Snapshot, svc: dict) -> list[Finding]:
    """EG0002: v1 Endpoints (mirrored into a slice) next to a hand-made EndpointSlice."""
    name, ns = svc["metadata"]["name"], svc["metadata"].get("namespace", "")
    endpoints = [e for e in snapshot.endpoints if _same(e, ns, name) and
                 (e["metadata"].get("labels") or {}).get(SKIP_MIRROR) != "true"]
    own = [es for es in _slices_of(snapshot, svc)
           if (es["metadata"].get("labels") or {}).get(SLICE_MANAGED_BY) != MIRROR_CONTROLLER]
    if not endpoints or not own:
        return []
    return [Finding("warning", "EG0002", ref(svc),
                    f"both v1 Endpoints {name} and EndpointSlice {own[0]['metadata']['name']}: the "
                    "EndpointSliceMirroring controller copies the Endpoints into a second slice, so every "
                    "address is there twice; keep one, or label the Endpoints "
                    f"{SKIP_MIRROR}=true", fix_command(snapshot, svc, api="endpointslice"))]


def external_name_ip(snapshot: Snapshot, svc: dict) -> list[Finding]:
    """EG0003: an ExternalName that is an IP address, which DNS never resolves."""
    spec = svc.get("spec") or {}
    target = (spec.get("externalName") or "").rstrip(".")
    if spec.get("type") != "ExternalName":
        return []
    try:
        ipaddress.ip_address(target)
    except ValueError:
        return []
    return [Finding("warning", "EG0003", ref(svc),
                    f"externalName {target} is an IP address: the cluster's DNS answers a CNAME to a "
                    "name that does not exist; a Service with endpoints gives an IP a name",
                    fix_command(snapshot, svc, as_endpoints=target))]


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


def mesh_mtls(snapshot: Snapshot, svc: dict) -> list[Finding]:
    """EG0005: Istio mutual TLS towards an external host (the mesh-wide rule, or a wrong one)."""
    mesh = snapshot.mesh
    if not mesh.istio:
        return []
    spec = svc.get("spec") or {}
    name, ns = svc["metadata"]["name"], svc["metadata"].get("namespace", "")
    external = spec.get("type") == "ExternalName"
    host = spec.get("externalName", "").rstrip(".") if external and mesh.alias else f"{name}.{ns}.{DOMAIN}"
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
    order = {s: i for i, s in enumerate(reversed(SEVERITIES))}
    return sorted(findings, key=lambda f: order[f.severity])


def at_or_above(findings: list[Finding], level: str) -> list[Finding]:
    floor = SEVERITIES.index(level)
    return [f for f in findings if SEVERITIES.index(f.severity) >= floor]
