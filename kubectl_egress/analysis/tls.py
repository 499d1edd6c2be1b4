"""DestinationRules that originate TLS: certificate checks (IST0128, IST0129, EG0008) and double TLS (EG0007).

IST0128/IST0129 are istioctl's CaCertificateAnalyzer (istio
pkg/config/analysis/analyzers/destinationrule/ca-certificates.go, texts from msg/messages.yaml): a
rule-level or port-level `tls` in mode SIMPLE or MUTUAL without `caCertificates`, unless it has a
`credentialName` and the rule a `workloadSelector`. It reports `insecureSkipVerify` rules too
(they have no caCertificates); EG0008 adds the case it cannot see, `insecureSkipVerify: true` next to
caCertificates, which Envoy then ignores (cluster_tls.go: no validation context when insecure).

EG0007 is double TLS (istio.io "Networking Problems", Double TLS; istio#36377): SIMPLE on a port
whose callers already speak TLS, i.e. a ServiceEntry port of protocol HTTPS or TLS, or a Service
port named (or appProtocol) https or tls; the sidecar encrypts their TLS again and they fail with
`wrong version number`.

Fixes: a rule kubectl egress made for TLS origination is made again by its command; any other rule
gets the `kubectl patch` that changes exactly the setting at fault.
"""
from __future__ import annotations

import json

from ..model import OS_CA_BUNDLE, RECIPE_LABEL, SERVICE_ENTRY_RECIPE
from .messages import finding
from .protocol import protocol_of
from .snapshot import DOMAIN, Finding, Snapshot, managed

TLS_PROTOCOLS = ("https", "tls")


def rule_ref(rule: dict) -> str:
    meta = rule["metadata"]
    return f"DestinationRule {meta.get('namespace', '')}/{meta['name']}"


def tls_settings(rule: dict) -> list[tuple[str, int | None, dict]]:
    """(JSON pointer, port or None for the rule level, settings) of each `tls` in a rule."""
    policy = (rule.get("spec") or {}).get("trafficPolicy") or {}
    out = []
    if policy.get("tls"):
        out.append(("/spec/trafficPolicy/tls", None, policy["tls"]))
    for i, level in enumerate(policy.get("portLevelSettings") or []):
        if level.get("tls"):
            out.append((f"/spec/trafficPolicy/portLevelSettings/{i}/tls", (level.get("port") or {}).get("number"),
                        level["tls"]))
    return out


def patch(rule: dict, ops: list[dict]) -> str:
    meta = rule["metadata"]
    ns = meta.get("namespace", "default")
    where = f" -n {ns}" if ns != "default" else ""
    body = json.dumps(ops, separators=(",", ":"))
    return f"kubectl patch destinationrule {meta['name']}{where} --type=json -p '{body}'"


def full_host(rule: dict) -> str:
    """The rule's host in lower case, a short name made whole in the rule's own namespace (Istio's
    DestinationRule reference, `host`)."""
    host = ((rule.get("spec") or {}).get("host") or "").lower()
    return host if "." in host else f"{host}.{rule['metadata'].get('namespace', '')}.{DOMAIN}"


def host_ports(snapshot: Snapshot, rule: dict) -> list[tuple[int, str, str]]:
    """(number, name, protocol) of the ports the rule's host has: its ServiceEntries', its Service's,
    or those of the ExternalName Services that alias it (their callers use the Service's port)."""
    host = full_host(rule)
    out = []
    for entry in snapshot.entries:
        spec = entry.get("spec") or {}
        if host in [h.lower() for h in spec.get("hosts") or []]:
            out += [(p.get("number"), p.get("name", ""), (p.get("protocol") or "").lower())
                    for p in spec.get("ports") or []]
    for svc in snapshot.services:
        spec = svc.get("spec") or {}
        meta = svc["metadata"]
        own = f"{meta['name']}.{meta.get('namespace', '')}.{DOMAIN}" == host
        alias = snapshot.mesh.alias and spec.get("type") == "ExternalName" and \
            (spec.get("externalName") or "").rstrip(".").lower() == host
        if own or alias:
            out += [(p.get("port"), p.get("name", ""), protocol_of(p)) for p in spec.get("ports") or []]
    return out


def origination_fix(snapshot: Snapshot, rule: dict, port: int | None) -> str:
    """The kubectl egress command that made this origination rule, with verification on ('' if none did)."""
    meta = rule["metadata"]
    if not managed(rule) or port is None:
        return ""
    name, ns = meta["name"], meta.get("namespace", "")
    host = (rule.get("spec") or {}).get("host", "")
    suffix = f" -n {ns}" if ns != "default" else ""
    flags = (f" --port {port}" if port != 80 else "") + " --tls-origination"
    if (meta.get("labels") or {}).get(RECIPE_LABEL) == SERVICE_ENTRY_RECIPE:
        entry = next((e for e in snapshot.entries if e["metadata"]["name"] == name and
                      e["metadata"].get("namespace") == ns), None)
        hosts = " ".join(((entry or {}).get("spec") or {}).get("hosts") or [host])
        return f"kubectl egress serviceentry {name} {hosts}{flags}{suffix}"
    svc = next((s for s in snapshot.services if s["metadata"]["name"] == name and
                s["metadata"].get("namespace") == ns and (s.get("spec") or {}).get("type") == "ExternalName"), None)
    if svc is None:
        return ""
    return f"kubectl egress externalname {name} {svc['spec'].get('externalName', '').rstrip('.')}{flags}{suffix}"


def verification(snapshot: Snapshot, rule: dict) -> list[Finding]:
    """IST0128 / IST0129 (istioctl's CaCertificateAnalyzer), and EG0008 for insecureSkipVerify."""
    spec = rule.get("spec") or {}
    meta = rule["metadata"]
    full, ns, host = f"{meta.get('namespace', '')}/{meta['name']}", meta.get("namespace", ""), spec.get("host", "")
    out = []
    for pointer, port, tls in tls_settings(rule):
        mode = tls.get("mode")
        if mode not in ("SIMPLE", "MUTUAL"):
            continue
        ops = [{"op": "remove", "path": f"{pointer}/insecureSkipVerify"}] if tls.get("insecureSkipVerify") else []
        fix = origination_fix(snapshot, rule, port) or \
            patch(rule, ops + [{"op": "add", "path": f"{pointer}/caCertificates", "value": OS_CA_BUNDLE}])
        if not tls.get("caCertificates") and not (tls.get("credentialName") and spec.get("workloadSelector")):
            if port is None:
                out.append(finding("IST0128", rule_ref(rule), full, ns, mode, host, fix=fix))
            else:  # the port as Go prints the PortSelector message: number:80
                out.append(finding("IST0129", rule_ref(rule), full, ns, mode, host, f"number:{port}", fix=fix))
        elif tls.get("insecureSkipVerify"):
            where = f"port {port} of {host}" if port is not None else host
            out.append(finding("EG0008", rule_ref(rule), where, tls.get("caCertificates"),
                               fix=origination_fix(snapshot, rule, port) or patch(rule, ops)))
    return out


def double_tls(snapshot: Snapshot, rule: dict) -> list[Finding]:
    """EG0007: SIMPLE on a port whose callers already speak TLS (istio#36377)."""
    host = (rule.get("spec") or {}).get("host", "")
    ports = host_ports(snapshot, rule)
    out = []
    for pointer, port, tls in tls_settings(rule):
        if tls.get("mode") != "SIMPLE":
            continue
        hit = next(((n, name, proto) for n, name, proto in ports
                    if proto in TLS_PROTOCOLS and (port is None or n == port)), None)
        if hit is None:
            continue
        number, name, proto = hit
        out.append(finding("EG0007", rule_ref(rule), number, host, name or number, proto, host,
                           fix=patch(rule, [{"op": "replace", "path": f"{pointer}/mode", "value": "DISABLE"}])))
    return out


def in_scope(snapshot: Snapshot, rule: dict, names: tuple[str, ...]) -> bool:
    """Rules of the namespace checked (all with -A); with NAMEs, those named so or on their hosts."""
    meta = rule["metadata"]
    if snapshot.namespace is not None and meta.get("namespace") != snapshot.namespace:
        return False
    if not names:
        return True
    host = full_host(rule)
    hosts = set()
    for svc in snapshot.services:
        if svc["metadata"]["name"] in names:
            hosts.add(f"{svc['metadata']['name']}.{svc['metadata'].get('namespace', '')}.{DOMAIN}")
            hosts.add(((svc.get("spec") or {}).get("externalName") or "").rstrip(".").lower())
    return meta["name"] in names or host in hosts


RULE_ANALYZERS = (verification, double_tls)
