"""Make (or bring up to date) one egress service: the shared Run step of
`externalname` and `endpoints`.

The namespace must exist; the objects come from the pure builders for the
mesh this cluster runs; objects the service no longer needs (its old
endpoints when it changes kind, its DestinationRule with `--tls-mode none`)
are removed in the same all-or-nothing apply.
"""
from __future__ import annotations

from dataclasses import dataclass

from . import inventory, manifests, mesh as meshes
from .apply import Applier, plan
from .errors import UsageError
from .kube import Kube
from .model import ObjectChange, Target


@dataclass(frozen=True)
class Result:
    changes: list[ObjectChange]
    notes: list[str]


def apply_target(kube: Kube, target: Target, force: bool, dry_run: str) -> Result:
    exists = kube.namespace_exists(target.namespace)
    if exists is False:
        raise UsageError(f'namespace "{target.namespace}" not found: create it with "kubectl '
                         f'create namespace {target.namespace}", or pick another with -n')
    mesh = meshes.detect(kube)
    notes = []
    if not mesh.istio and target.tls_mode is not None:
        notes.append("Istio is not installed (networking.istio.io is not served): "
                     "creating no DestinationRule")
    desired = manifests.objects(target, mesh)
    live = inventory.lookup(kube, target.namespace, mesh, target.name)
    steps = plan(desired, live, force)
    return Result(Applier(kube, dry_run).run(steps), notes)
