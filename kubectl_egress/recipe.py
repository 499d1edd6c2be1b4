"""Make (or bring up to date) one egress service: the shared Run step of
`externalname`, `endpoints` and `serviceentry`.

The namespace must exist; the objects come from the pure builders for the
mesh this cluster runs (no Istio, Istio up to 1.20, or 1.21 and later, where
an ExternalName Service is an alias); objects the service no longer needs
(its old endpoints when it changes kind, its DestinationRule with
`--tls-mode none`, a ServiceEntry the mode no longer wants) are removed in
the same all-or-nothing apply.

One ServiceEntry per host and namespace, never two that conflict (Istio would
merge or shadow them): a host belongs to the ServiceEntry that first lists it.
`serviceentry NAME HOST` writes the ServiceEntry NAME (labelled
kubectl-egress/recipe=serviceentry) and, for TLS origination, the
DestinationRule NAME on HOST; it refuses a host that another ServiceEntry of
kubectl egress lists, and takes over the ServiceEntry of its own name (an
alias's, made by `externalname NAME HOST`). `externalname NAME HOST` in alias
mode uses a `serviceentry` ServiceEntry that lists HOST instead of writing its
own (and that entry's DestinationRule applies): it never changes or prunes
what `serviceentry` made, and needs that entry to serve its port.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from . import inventory, manifests, mesh as meshes
from . import waypoint as routes
from .mesh import fit
from .inventory import is_entry_recipe
from .apply import Applier, is_managed, key_of, plan
from .errors import EgressError
from .model import (MANAGED_SELECTOR, Entry, Mesh, ObjectChange, Target,
                    destination_rules, service_entries)

if TYPE_CHECKING:  # the connection module loads only when a command talks to the cluster
    from .kube import Kube



@dataclass(frozen=True)
class Result:
    changes: list[ObjectChange]
    notes: list[str]


def _namespace_must_exist(kube: Kube, namespace: str) -> None:
    if kube.namespace_exists(namespace) is False:  # a fact about the cluster, not a bad argument: exit 1
        raise EgressError(f'namespace "{namespace}" not found: create it with "kubectl '
                          f'create namespace {namespace}", or pick another with -n')


def entries_of(kube: Kube, mesh: Mesh, namespace: str) -> list[dict]:
    """The ServiceEntries kubectl egress made in a namespace."""
    return kube.list_if_served(service_entries(mesh.networking_version), namespace, MANAGED_SELECTOR)


def shared_entry(kube: Kube, mesh: Mesh, target: Target) -> dict | None:
    """The `serviceentry` ServiceEntry an ExternalName should use for its host (an alias from 1.21, or
    up to 1.20 the destination of its TLS-origination route), checked to serve the Service's port (and to
    originate TLS on it when the alias asks for that)."""
    if not (target.external_name and (mesh.alias or (mesh.istio and target.origination is not None))):
        return None
    for entry in entries_of(kube, mesh, target.namespace):
        spec = entry.get("spec") or {}
        if not is_entry_recipe(entry) or target.host not in (spec.get("hosts") or []):
            continue
        name = entry["metadata"]["name"]
        port = next((p for p in spec.get("ports") or [] if p.get("number") == target.port), None)
        where = f'"{target.host}" is in serviceentry.networking.istio.io/{name}, which "kubectl egress ' \
                f'serviceentry {name}" made and this alias uses'
        fix = f"kubectl egress serviceentry {name} {' '.join(spec.get('hosts') or [])} --port {target.port}"
        if port is None:
            served = " or ".join(str(p.get("number")) for p in spec.get("ports") or [])
            raise EgressError(f"{where}, but it serves port {served}, not {target.port}: give --port {served}, or "
                              f"move the entry with \"{fix}\"")
        if target.origination is not None and not port.get("targetPort"):
            raise EgressError(f"{where}, but it does not originate TLS on port {target.port}; run \"{fix} "
                              "--tls-origination\"")
        return entry
    return None


def apply_target(kube: Kube, target: Target, force: bool, dry_run: str, istio_mode: str = "auto",
                 waypoint: tuple[str, str] | None = None) -> Result:
    facts = meshes.read(kube, istio_mode, [target.namespace], ambient=False)
    if facts.namespace_exists(target.namespace) is None:  # not readable with the facts: ask as before
        _namespace_must_exist(kube, target.namespace)
    elif facts.namespace_exists(target.namespace) is False:
        raise EgressError(f'namespace "{target.namespace}" not found: create it with "kubectl '
                          f'create namespace {target.namespace}", or pick another with -n')
    mesh = facts.mesh(target.namespace)
    notes = []
    if not mesh.istio and target.origination is not None:
        notes.append("Warning: without Istio nothing originates TLS: callers of "
                     f"http://{target.fqdn}{'' if target.port == 80 else f':{target.port}'} reach "
                     f"{target.host}:{target.port} in plain HTTP")
    elif not mesh.istio and target.tls_mode is not None and istio_mode != "none":
        notes.append("Istio is not installed (networking.istio.io is not served): "
                     "creating no DestinationRule")
    if mesh.istio and target.external_name and target.protocol == "tcp":
        notes.append(f"Warning: a tcp port on an ExternalName Service makes Istio send all traffic on port "
                     f"{target.port} to it (IST0150); prefer --protocol tls or https if {target.host} "
                     "speaks TLS")
    if target.origination is not None and target.origination.verify == "skip" and mesh.istio:
        notes.append(skip_verify_warning(target.host))
    shared = shared_entry(kube, mesh, target)
    if shared is not None:
        notes.append(f"using serviceentry.networking.istio.io/{shared['metadata']['name']} for {target.host} "
                     "(made by kubectl egress serviceentry; its DestinationRule applies)")
    desired = manifests.objects(target, mesh, shared=shared is not None)
    entry = fit.registry_entry(target, mesh, facts) if shared is None and target.origination is None else None
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
    for key, obj in list(live.items()):
        if is_entry_recipe(obj):  # serviceentry's: never changed or pruned here
            if key in {key_of(o) for o in desired}:
                raise EgressError(f'{key[0].lower()}.networking.istio.io "{target.name}" belongs to "kubectl '
                                  f'egress serviceentry {target.name}" and does not list {target.host}; choose '
                                  "another NAME")
            del live[key]
    steps = plan(desired, live, force)
    return Result(Applier(kube, dry_run).run(steps), notes)


def skip_verify_warning(host: str) -> str:
    return (f"Warning: --insecure-skip-verify: the sidecar accepts any certificate for {host}, so whoever can "
            "intercept the connection can read and change the traffic; istioctl analyze reports it (IST0129)")


def apply_entry(kube: Kube, entry: Entry, force: bool, dry_run: str) -> Result:
    """`kubectl egress serviceentry`: the ServiceEntry (and origination rule), owning its hosts."""
    _namespace_must_exist(kube, entry.namespace)
    mesh = meshes.detect(kube)
    if not mesh.served:
        raise EgressError("Istio is not installed (networking.istio.io is not served): a ServiceEntry needs "
                          f'Istio; without it "kubectl egress externalname {entry.name} {entry.hosts[0]}" gives '
                          "the host an in-cluster name")
    notes = [skip_verify_warning(entry.hosts[0])] \
        if entry.origination is not None and entry.origination.verify == "skip" else []
    for other in entries_of(kube, mesh, entry.namespace):
        name = other["metadata"]["name"]
        taken = [h for h in entry.hosts if h in ((other.get("spec") or {}).get("hosts") or [])]
        if name == entry.name or not taken:
            continue
        made_by = "kubectl egress serviceentry" if is_entry_recipe(other) else "kubectl egress externalname"
        raise EgressError(f'"{taken[0]}" is already in serviceentry.networking.istio.io/{name} (made by {made_by} '
                          f"{name}); two ServiceEntries for one host conflict: use that name (\"kubectl egress "
                          f"serviceentry {name} {' '.join(entry.hosts)}\" takes it over), or clean it first")
    rules = destination_rules(mesh.networking_version)
    entries = service_entries(mesh.networking_version)
    live = {}
    for res in (entries, rules):
        obj = kube.get(res, entry.name, entry.namespace)
        if obj is None:
            continue
        obj.setdefault("apiVersion", res.api_version)
        if res == rules and not is_entry_recipe(obj):
            if entry.origination is None:
                continue  # not ours, and not in the way
            host = (obj.get("spec") or {}).get("host")
            if is_managed(obj) and host not in entry.hosts:
                raise EgressError(f'destinationrule.networking.istio.io "{entry.name}" belongs to "kubectl egress '
                                  f'externalname {entry.name}" (host {host}); choose another NAME')
        live[(obj["kind"], entry.name)] = obj
    steps = plan(manifests.entry_objects(entry, mesh), live, force)
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
