"""How a recipe's objects fit the mesh in force, said where it is not a plain sidecar mesh that
allows any outbound traffic (there nothing is said: same objects, same output). Pure.

- REGISTRY_ONLY (the outbound policy of the namespace's sidecars: their revision's mesh config,
  or a Sidecar resource): a sidecar reaches only hosts in its registry; a blocked HTTP request
  gets Envoy's 502 from the BlackHoleCluster, blocked TLS a reset handshake (istio#28994,
  istio#43065). In alias mode (1.21+) the ServiceEntry is what puts the external host there; up
  to 1.20 an ExternalName Service is a registry entry of its own for HTTP, which is routed by
  the Service's name, but TLS is routed by its SNI, the external host, which only a ServiceEntry
  names: so there the recipe adds one for TLS ports. A Service with endpoints is always a
  registry entry. A Sidecar's egress hosts can still hide it.
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

import dataclasses

from .. import manifests
from ..model import TLS_PROTOCOLS, Mesh, Target

if TYPE_CHECKING:  # pragma: no cover
    from .facts import MeshFacts


def registry_entry(target: Target, mesh: Mesh, facts: MeshFacts | None) -> dict | None:
    """The ServiceEntry a legacy-mode TLS ExternalName needs under REGISTRY_ONLY (see above), else None."""
    if facts is None or not mesh.istio or mesh.alias or facts.override != "auto" or not target.external_name \
            or target.protocol not in TLS_PROTOCOLS or facts.ambient_namespace(target.namespace):
        return None
    policy = facts.policy(target.namespace)
    if policy is None or not policy.registry_only:
        return None
    return manifests.service_entry(target, dataclasses.replace(mesh, mode="alias"))


def notes(target: Target, mesh: Mesh, facts: MeshFacts | None, objects: list[dict] = ()) -> list[str]:
    """Lines for stderr about what the objects (those written) do in this mesh; none in a sidecar
    ALLOW_ANY mesh."""
    if facts is None or not mesh.istio:
        return []
    out: list[str] = []
    ns = target.namespace
    if facts.ambient_namespace(ns):
        extra = [x for x, wanted in (("the DestinationRule", target.tls_mode is not None),
                                     ("the ServiceEntry", mesh.alias and target.external_name)) if wanted]
        serve = f": {' and '.join(extra)} serve{'s' if len(extra) == 1 else ''} callers with a sidecar" if extra else ""
        out.append(f"namespace {ns} is in ambient mode: ztunnel sends no Istio mutual TLS to hosts outside "
                   "the mesh and does not apply REGISTRY_ONLY (istio#54281), so its pods need only the "
                   f"Service{serve}")
        return out + _revisions(target, mesh, facts)
    policy = facts.policy(ns)
    if policy is not None and policy.registry_only:
        real = facts.revision_for(ns)
        entry = any(o.get("kind") == "ServiceEntry" for o in objects)
        out.append(_registry_only(target, mesh, policy, real.alias if real is not None else mesh.alias, entry))
        host = target.host if mesh.alias and target.external_name else target.fqdn
        if not policy.sees(ns, host) and policy.sidecar is not None:
            out.append(f"Warning: Sidecar {policy.sidecar_name}'s egress hosts do not include {ns}/{host}: "
                       f"its workloads cannot reach it; add \"{ns}/{host}\" to them "
                       f"(kubectl edit sidecar {policy.sidecar_name.split('/')[1]} -n {policy.sidecar_name.split('/')[0]})")
    return out + _revisions(target, mesh, facts)


def _registry_only(target: Target, mesh: Mesh, policy, alias: bool, entry: bool) -> str:
    """alias: how the namespace's istiod treats ExternalName (mesh may be forced by --istio-mode);
    entry: a ServiceEntry is written."""
    head = f"outbound traffic policy REGISTRY_ONLY (from the {policy.source}): "
    blocked = f"sidecars block {target.host} (HTTP 502 from the BlackHoleCluster, reset TLS handshakes)"
    if not target.external_name:
        return head + "a Service with endpoints is a registry entry itself, so no ServiceEntry is needed"
    if alias:
        if entry:
            return head + f"the ServiceEntry puts {target.host} in the registry; without it {blocked}"
        return f"Warning: {head}no ServiceEntry is written (--istio-mode {mesh.mode}), so the {blocked}"
    if target.protocol not in TLS_PROTOCOLS:
        return head + ("up to Istio 1.20 an ExternalName Service is a registry entry itself for HTTP, which is "
                       "routed by its name, so no ServiceEntry is needed")
    if entry:
        return head + (f"TLS is routed by its SNI, {target.host}, which only a ServiceEntry puts in the registry "
                       "(up to Istio 1.20 the ExternalName Service itself is known by its own name)")
    return f"Warning: {head}no ServiceEntry names {target.host}, the SNI its TLS is routed by, so {blocked}"


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
