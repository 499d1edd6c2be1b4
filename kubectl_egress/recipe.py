"""Make (or bring up to date) one egress service: the shared Run step of
`externalname` and `endpoints`.

The namespace must exist; the objects come from the pure builders for the
mesh this cluster runs (no Istio, Istio up to 1.20, or 1.21 and later, where
an ExternalName Service is an alias); objects the service no longer needs
(its old endpoints when it changes kind, its DestinationRule with
`--tls-mode none`, a ServiceEntry the mode no longer wants) are removed in
the same all-or-nothing apply.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from . import inventory, manifests, mesh as meshes
from . import waypoint as routes
from .mesh import fit
from .apply import Applier, plan
from .errors import EgressError
from .model import ObjectChange, Target, service_entries

if TYPE_CHECKING:  # the connection module loads only when a command talks to the cluster
    from .kube import Kube



@dataclass(frozen=True)
class Result:
    changes: list[ObjectChange]
    notes: list[str]


def apply_target(kube: Kube, target: Target, force: bool, dry_run: str, istio_mode: str = "auto",
                 waypoint: tuple[str, str] | None = None) -> Result:
    facts = meshes.read(kube, istio_mode, [target.namespace], ambient=False)
    exists = facts.namespace_exists(target.namespace)
    if exists is None:
        exists = kube.namespace_exists(target.namespace)
    if exists is False:  # a fact about the cluster, not a bad argument: exit 1, as kubectl create
        raise EgressError(f'namespace "{target.namespace}" not found: create it with "kubectl '
                         f'create namespace {target.namespace}", or pick another with -n')
    mesh = facts.mesh(target.namespace)
    notes = []
    if not mesh.istio and target.tls_mode is not None and istio_mode != "none":
        notes.append("Istio is not installed (networking.istio.io is not served): "
                     "creating no DestinationRule")
    if mesh.istio and target.external_name and target.protocol == "tcp":
        notes.append(f"Warning: a tcp port on an ExternalName Service makes Istio send all traffic on port "
                     f"{target.port} to it (IST0150); prefer --protocol tls or https if {target.host} "
                     "speaks TLS")
    desired = manifests.objects(target, mesh)
    entry = fit.registry_entry(target, mesh, facts)
    if entry is not None:  # legacy mode, REGISTRY_ONLY, TLS: the SNI's host must be in the registry
        desired.insert(1, entry)
    notes += fit.notes(target, mesh, facts, desired)
    if waypoint is not None:
        if not mesh.alias:
            raise EgressError(f"--waypoint routes a ServiceEntry through a waypoint, which needs Istio's alias mode "
                              f"for ExternalName Services (1.21+, ambient); this mesh is in {mesh.mode} mode "
                              f"({mesh.source})")
        routes.check_gateway(kube, waypoint)
        desired = routes.route(desired, target, waypoint)
        notes += routes.notes(target, waypoint, routes.dns_capture(kube))
    live = inventory.lookup(kube, target.namespace, mesh, target.name)
    live.update(_routed(kube, mesh, target, live, waypoint))
    steps = plan(desired, live, force)
    return Result(Applier(kube, dry_run).run(steps), notes)


def _routed(kube: Kube, mesh, target: Target, live: dict, waypoint: tuple[str, str] | None) -> dict:
    """The ServiceEntries in waypoints' namespaces the service has or had (its Service's annotation),
    keyed as inventory.lookup keys objects, so that the plan keeps, moves or prunes them."""
    found = {}
    places = {routes.previous(live.get(("Service", target.name))), waypoint} - {None}
    for ns, _ in places:
        obj = kube.get(service_entries(mesh.networking_version), routes.entry_name(target), ns) if mesh.served else None
        if obj is not None:
            obj.setdefault("apiVersion", service_entries(mesh.networking_version).api_version)
            here = waypoint is not None and ns == waypoint[0]  # else one to prune, keyed apart from the wanted one
            found[("ServiceEntry", obj["metadata"]["name"] + ("" if here else f" in {ns}"))] = obj
    return found
