"""Port names Istio cannot read: IST0150 and IST0118, as istio's PortNameAnalyzer, and EG0006.

istio pkg/config/analysis/analyzers/service/portname.go, rule for rule: Services of Istio's
control plane (a label `istio`, or `release: istio`) and the gateway controllers' Services
(label gateway.istio.io/managed) are skipped; a port is reported when ConvertProtocol finds no
protocol for it, or when it is named exactly `tcp` on an ExternalName Service; an ExternalName
Service gets IST0150, any other IST0118. (System namespaces are left out before any analyzer
runs: see snapshot.SYSTEM_NAMESPACES.) EG0006 adds, never replaces, the reason for kubectl
create's `80-80` names.
"""
from __future__ import annotations

import re

from .messages import finding
from .protocol import UNSUPPORTED, convert_protocol
from .snapshot import Finding, Snapshot, fix_command, ref

KUBECTL_CREATE_PORT = re.compile(r"^\d+-\d+$")  # kubectl create service --tcp=80:80 names it 80-80
GATEWAY_MANAGED = "gateway.istio.io/managed"  # istio.io/api label.GatewayManaged
# pkg/config/constants: ManagedGatewayControllerLabel, ManagedGatewayMeshControllerLabel,
# ManagedGatewayEastWestControllerLabel (the last from 1.27)
GATEWAY_CONTROLLERS = ("istio.io-gateway-controller", "istio.io-mesh-controller", "istio.io-eastwest-controller")


def skipped(svc: dict) -> bool:
    """util.IsIstioControlPlane, and the gateway controllers' own Services."""
    labels = (svc.get("metadata") or {}).get("labels") or {}
    return "istio" in labels or labels.get("release") == "istio" or \
        labels.get(GATEWAY_MANAGED) in GATEWAY_CONTROLLERS


def target_port(port: dict) -> str:
    """intstr.IntOrString.String() of targetPort: its number or name; 0 when unset."""
    return str(port.get("targetPort", 0))


def istio_port_codes(svc: dict) -> list[tuple[str, dict]]:
    """(code, port) for each port PortNameAnalyzer reports: IST0150 or IST0118 (pure)."""
    if skipped(svc):
        return []
    spec = svc.get("spec") or {}
    external = spec.get("type") == "ExternalName"
    out = []
    for port in spec.get("ports") or []:
        if convert_protocol(port) == UNSUPPORTED or (port.get("name") == "tcp" and external):
            out.append(("IST0150" if external else "IST0118", port))
    return out


def port_names(snapshot: Snapshot, svc: dict) -> list[Finding]:
    """IST0150 / IST0118 (istio's PortNameAnalyzer), then EG0006 for kubectl create's `80-80`."""
    out = []
    for code, port in istio_port_codes(svc):
        name = port.get("name", "")
        if code == "IST0150":
            out.append(finding(code, ref(svc), fix=fix_command(snapshot, svc),
                               detail=f"(port {port.get('port')} is named {name or 'nothing'})"))
        else:
            out.append(finding(code, ref(svc), name, port.get("port") or 0, target_port(port),
                               fix=fix_command(snapshot, svc)))
    for port in (svc.get("spec") or {}).get("ports") or []:
        name = port.get("name", "")
        if KUBECTL_CREATE_PORT.match(name) and port.get("appProtocol") is None:
            suggested = "https" if port.get("port") in (443, 8443) else "http"
            out.append(finding("EG0006", ref(svc), name, fix=fix_command(snapshot, svc, protocol=suggested)))
    return out
