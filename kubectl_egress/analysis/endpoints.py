"""Endpoints and names: EG0001 (port names), EG0002 (mirrored twice), EG0003 (an IP as ExternalName)."""
from __future__ import annotations

import ipaddress

from ..model import SLICE_MANAGED_BY
from .messages import finding
from .snapshot import (MIRROR_CONTROLLER, SKIP_MIRROR, Finding, Snapshot, fix_command, ref, same,
                       slices_of)


def endpoint_ports(snapshot: Snapshot, svc: dict) -> list[Finding]:
    """EG0001: endpoints whose port names are not the Service's (Istio matches them by name)."""
    spec = svc.get("spec") or {}
    if spec.get("type") == "ExternalName":
        return []
    wanted = {p.get("name", "") for p in spec.get("ports") or []}
    name, ns = svc["metadata"]["name"], svc["metadata"].get("namespace", "")
    found = []
    for ep in (e for e in snapshot.endpoints if same(e, ns, name)):
        found += [("Endpoints", p.get("name", "")) for s in ep.get("subsets") or [] for p in s.get("ports") or []]
    for es in slices_of(snapshot, svc):
        found += [("EndpointSlice " + es["metadata"]["name"], p.get("name") or "") for p in es.get("ports") or []]
    wrong = sorted({f"{kind} port {port or '(unnamed)'}" for kind, port in found if port not in wanted})
    if not wrong:
        return []
    return [finding("EG0001", ref(svc), ", ".join(wrong), ", ".join(sorted(wanted)),
                    fix=fix_command(snapshot, svc))]


def mirrored_twice(snapshot: Snapshot, svc: dict) -> list[Finding]:
    """EG0002: v1 Endpoints (mirrored into a slice) next to a hand-made EndpointSlice."""
    name, ns = svc["metadata"]["name"], svc["metadata"].get("namespace", "")
    endpoints = [e for e in snapshot.endpoints if same(e, ns, name) and
                 (e["metadata"].get("labels") or {}).get(SKIP_MIRROR) != "true"]
    own = [es for es in slices_of(snapshot, svc)
           if (es["metadata"].get("labels") or {}).get(SLICE_MANAGED_BY) != MIRROR_CONTROLLER]
    if not endpoints or not own:
        return []
    return [finding("EG0002", ref(svc), name, own[0]["metadata"]["name"], SKIP_MIRROR,
                    fix=fix_command(snapshot, svc, api="endpointslice"))]


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
    return [finding("EG0003", ref(svc), target, fix=fix_command(snapshot, svc, as_endpoints=target))]
