"""How a recipe's objects fit the mesh in force, said where it is not a plain sidecar mesh that
allows any outbound traffic (there nothing is said: same objects, same output). Pure.

- REGISTRY_ONLY (the outbound policy of the namespace's sidecars: their revision's mesh config,
  or a Sidecar resource): a sidecar reaches only hosts in its registry; a blocked HTTP request
  gets Envoy's 502 from the BlackHoleCluster, blocked TLS a reset handshake (istio#28994,
  istio#43065). In alias mode (1.21+) the ServiceEntry is what puts the external host there; up
  to 1.20 an ExternalName Service is a registry entry of its own, and a Service with endpoints
  always is one. A Sidecar's egress hosts can still hide it.
- Ambient (the namespace labelled istio.io/dataplane-mode=ambient): ztunnel sends no Istio mutual
  TLS to destinations outside the mesh and passes unknown addresses through, ignoring
  REGISTRY_ONLY (istio#54281; pilot/pkg/serviceregistry/ambient does not implement ExternalName,
  which still works through DNS): the Service alone makes egress work for ambient pods; the
  DestinationRule and ServiceEntry serve callers with a sidecar (and waypoints).
- Revisions that disagree on the ExternalName mode (a canary upgrade from 1.20): the objects are
  for the namespace's revision; callers on the other one need the other mode's objects.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from ..model import Mesh, Target

if TYPE_CHECKING:  # pragma: no cover
    from .facts import MeshFacts


def notes(target: Target, mesh: Mesh, facts: MeshFacts | None) -> list[str]:
    """Lines for stderr about what the objects do in this mesh; none in a sidecar ALLOW_ANY mesh."""
    if facts is None or not mesh.istio:
        return []
    out: list[str] = []
    ns = target.namespace
    if facts.ambient_namespace(ns):
        extra = [x for x, wanted in (("the DestinationRule", target.tls_mode is not None),
                                     ("the ServiceEntry", mesh.alias and target.external_name)) if wanted]
        serve = f": {' and '.join(extra)} serve callers with a sidecar" if extra else ""
        out.append(f"namespace {ns} is in ambient mode: ztunnel sends no Istio mutual TLS to hosts outside "
                   "the mesh and does not apply REGISTRY_ONLY (istio#54281), so its pods need only the "
                   f"Service{serve}")
        return out + _revisions(target, mesh, facts)
    policy = facts.policy(ns)
    if policy is not None and policy.registry_only:
        real = facts.revision_for(ns)
        out.append(_registry_only(target, mesh, policy, real.alias if real is not None else mesh.alias))
        host = target.host if mesh.alias and target.external_name else target.fqdn
        if not policy.sees(ns, host) and policy.sidecar is not None:
            out.append(f"Warning: Sidecar {policy.sidecar_name}'s egress hosts do not include {ns}/{host}: "
                       f"its workloads cannot reach it; add \"{ns}/{host}\" to them "
                       f"(kubectl edit sidecar {policy.sidecar_name.split('/')[1]} -n {policy.sidecar_name.split('/')[0]})")
    return out + _revisions(target, mesh, facts)


def _registry_only(target: Target, mesh: Mesh, policy, alias: bool) -> str:
    """alias: how the namespace's istiod treats ExternalName (mesh may be forced by --istio-mode)."""
    head = f"outbound traffic policy REGISTRY_ONLY (from the {policy.source}): "
    if not target.external_name:
        return head + "a Service with endpoints is a registry entry itself, so no ServiceEntry is needed"
    if not alias:
        return (head + "up to Istio 1.20 an ExternalName Service is a registry entry itself, so no "
                "ServiceEntry is needed")
    if not mesh.alias:
        return (f"Warning: {head}no ServiceEntry is written (--istio-mode {mesh.mode}), so the sidecars of "
                f"this alias-mode istiod block {target.host} (HTTP 502, reset TLS handshakes)")
    return (head + f"the ServiceEntry puts {target.host} in the registry; without it sidecars block it "
            "(HTTP 502 from the BlackHoleCluster, reset TLS handshakes)")


def _revisions(target: Target, mesh: Mesh, facts: MeshFacts) -> list[str]:
    if not target.external_name or mesh.mode not in ("alias", "legacy") or facts.override != "auto":
        return []
    other = sorted(r.name for r in facts.revisions.values() if r.mode != mesh.mode)
    if not other:
        return []
    flip = "legacy" if mesh.alias else "alias"
    return [f"Istio revisions differ in ExternalName mode: these objects are for {mesh.mode} mode "
            f"({mesh.source}); pods injected by revision {', '.join(other)} need {flip} mode "
            f"(--istio-mode {flip}) until they move to the namespace's revision"]
