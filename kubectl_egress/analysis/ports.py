"""Port names Istio cannot read: IST0150 and IST0118 (istio's PortNameAnalyzer), and EG0006."""
from __future__ import annotations

from .snapshot import KUBECTL_CREATE_PORT, Finding, Snapshot, fix_command, protocol_of, ref


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
