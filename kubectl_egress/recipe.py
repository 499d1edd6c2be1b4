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
from .apply import Applier, plan
from .errors import EgressError
from .model import ObjectChange, Target

if TYPE_CHECKING:  # the connection module loads only when a command talks to the cluster
    from .kube import Kube



@dataclass(frozen=True)
class Result:
    changes: list[ObjectChange]
    notes: list[str]


def apply_target(kube: Kube, target: Target, force: bool, dry_run: str, istio_mode: str = "auto") -> Result:
    exists = kube.namespace_exists(target.namespace)
    if exists is False:  # a fact about the cluster, not a bad argument: exit 1, as kubectl create
        raise EgressError(f'namespace "{target.namespace}" not found: create it with "kubectl '
                         f'create namespace {target.namespace}", or pick another with -n')
    mesh = meshes.detect(kube, istio_mode)
    notes = []
    if not mesh.istio and target.tls_mode is not None and istio_mode != "none":
        notes.append("Istio is not installed (networking.istio.io is not served): "
                     "creating no DestinationRule")
    if mesh.istio and target.external_name and target.protocol == "tcp":
        notes.append(f"Warning: a tcp port on an ExternalName Service makes Istio send all traffic on port "
                     f"{target.port} to it (IST0150); prefer --protocol tls or https if {target.host} "
                     "speaks TLS")
    desired = manifests.objects(target, mesh)
    live = inventory.lookup(kube, target.namespace, mesh, target.name)
    steps = plan(desired, live, force)
    return Result(Applier(kube, dry_run).run(steps), notes)
