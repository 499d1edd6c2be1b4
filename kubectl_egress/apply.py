"""Apply a set of objects the way `kubectl apply` reports it, all or nothing.

Plan first, from what the cluster has, before any write: each object is to
be created, left unchanged, or configured; an object of the same name that
kubectl-egress does not manage stops everything (unless --force adopts it).
Then write in order; if a write fails, undo the writes made so far, so a
failed command leaves the cluster as it found it.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .errors import EgressError, ServerError
from .model import HOST_ANNOTATION, MANAGED_BY, MANAGER, WAYPOINT_ANNOTATION, ObjectChange, Resource, resource_of

if TYPE_CHECKING:  # the connection module loads only when a command talks to the cluster
    from .kube import Kube


OWN_ANNOTATIONS = (HOST_ANNOTATION, WAYPOINT_ANNOTATION)
SERVER_FIELDS = ("uid", "resourceVersion", "creationTimestamp", "generation", "managedFields",
                 "deletionTimestamp", "deletionGracePeriodSeconds", "selfLink")
# Service spec fields that belong to the recipe; the rest (cluster IPs, defaults) stay the server's.
SERVICE_OWNED = ("type", "externalName", "ports", "selector", "ipFamilies", "ipFamilyPolicy")
NOT_FOR_EXTERNAL_NAME = ("clusterIP", "clusterIPs", "ipFamilies", "ipFamilyPolicy",
                         "internalTrafficPolicy", "externalTrafficPolicy")


def is_managed(obj: dict) -> bool:
    return (obj.get("metadata", {}).get("labels") or {}).get(MANAGED_BY) == MANAGER


def subset(want: object, have: object) -> bool:
    """Everything in want is in have (dicts by key, lists item by item)."""
    if isinstance(want, dict):
        return isinstance(have, dict) and all(k in have and subset(v, have[k]) for k, v in want.items())
    if isinstance(want, list):
        return isinstance(have, list) and len(want) == len(have) and \
            all(subset(w, h) for w, h in zip(want, have))
    return want == have


def _effective_families(spec: dict) -> tuple[list[str], str]:
    if spec.get("type") == "ExternalName":
        return [], ""
    return list(spec.get("ipFamilies") or ["IPv4"]), spec.get("ipFamilyPolicy") or "SingleStack"


def owned_equal(desired: dict, live: dict) -> bool:
    """Does live already hold everything desired says (ignoring server defaults)?"""
    want_meta, have_meta = desired["metadata"], live.get("metadata", {})
    if not subset(want_meta.get("labels") or {}, have_meta.get("labels") or {}):
        return False
    want_notes = want_meta.get("annotations") or {}
    have_notes = have_meta.get("annotations") or {}
    if {k: v for k, v in have_notes.items() if k in OWN_ANNOTATIONS} != want_notes:
        return False
    if desired.get("apiVersion") != live.get("apiVersion"):
        return False
    if desired["kind"] == "Service":
        want, have = desired["spec"], live.get("spec") or {}
        if have.get("selector") or want.get("type") != have.get("type"):
            return False
        if want.get("externalName", "") != have.get("externalName", "") and want["type"] == "ExternalName":
            return False
        if want["type"] != "ExternalName" and have.get("externalName"):
            return False
        if _effective_families(want) != _effective_families(have):
            return False
        return subset(want.get("ports") or [], have.get("ports") or [])
    return all(subset(v, live.get(k)) for k, v in desired.items()
               if k not in ("apiVersion", "kind", "metadata"))


def merged_for_update(desired: dict, live: dict) -> dict:
    """live with desired's fields written over it (what a PUT should send)."""
    obj = copy.deepcopy(live)
    obj["apiVersion"] = desired["apiVersion"]
    meta = obj["metadata"]
    meta.pop("managedFields", None)
    meta["labels"] = {**(meta.get("labels") or {}), **(desired["metadata"].get("labels") or {})}
    notes = {k: v for k, v in (meta.get("annotations") or {}).items() if k not in OWN_ANNOTATIONS}
    notes.update(desired["metadata"].get("annotations") or {})
    if notes:
        meta["annotations"] = notes
    else:
        meta.pop("annotations", None)
    for key, value in desired.items():
        if key in ("apiVersion", "kind", "metadata"):
            continue
        if key == "spec" and desired["kind"] == "Service":
            spec = {k: v for k, v in (live.get("spec") or {}).items() if k not in SERVICE_OWNED}
            if value.get("type") == "ExternalName":
                spec = {k: v for k, v in spec.items() if k not in NOT_FOR_EXTERNAL_NAME}
            elif (live.get("spec") or {}).get("type") != "ExternalName":
                # keep the allocated families unless the recipe names them
                for k in ("ipFamilies", "ipFamilyPolicy"):
                    if k not in value and k in (live.get("spec") or {}):
                        spec[k] = live["spec"][k]
            spec.update(copy.deepcopy(value))
            obj["spec"] = spec
        else:
            obj[key] = copy.deepcopy(value)
    return obj


def fresh_copy(obj: dict) -> dict:
    """An object as it could be created again (no server-set metadata)."""
    out = copy.deepcopy(obj)
    for key in SERVER_FIELDS:
        out.get("metadata", {}).pop(key, None)
    out.pop("status", None)
    if out.get("kind") == "Service":
        for key in ("clusterIP", "clusterIPs"):
            out.get("spec", {}).pop(key, None)
    return out


@dataclass
class Step:
    resource: Resource
    desired: dict | None  # None: delete
    live: dict | None
    action: str  # create, update, unchanged, delete

    @property
    def name(self) -> str:
        obj = self.desired or self.live or {}
        return obj["metadata"]["name"]

    @property
    def namespace(self) -> str:
        obj = self.desired or self.live or {}
        return obj["metadata"].get("namespace", "")


def not_managed_error(resource: Resource, name: str, namespace: str) -> EgressError:
    return EgressError(f'{resource.display} "{name}" already exists in namespace "{namespace}" '
                       "and is not managed by kubectl-egress; choose another NAME, or pass "
                       "--force to take it over")


def key_of(obj: dict) -> tuple[str, str]:
    """How plans match desired and live objects: (kind, name) within one namespace."""
    return obj["kind"], obj["metadata"]["name"]


def plan(desired: list[dict], live: dict[tuple[str, str], dict], force: bool) -> list[Step]:
    """What to do with each object, from what the cluster has (pure).

    live holds the objects of the same kind and name as desired ones, and any
    other managed objects of the service, which are no longer wanted and go.
    Raises before any write when an object is not ours and force is off.
    """
    steps = []
    wanted = set()
    for obj in desired:
        res = resource_of(obj)
        key = key_of(obj)
        wanted.add(key)
        have = live.get(key)
        if have is None:
            steps.append(Step(res, obj, None, "create"))
        elif not is_managed(have) and not force:
            raise not_managed_error(res, obj["metadata"]["name"], obj["metadata"]["namespace"])
        elif is_managed(have) and owned_equal(obj, have):
            steps.append(Step(res, obj, have, "unchanged"))
        else:
            steps.append(Step(res, obj, have, "update"))
    for key, have in live.items():
        if key not in wanted and is_managed(have):
            steps.append(Step(resource_of(have), None, have, "delete"))
    return steps


class Applier:
    """Carries out a plan; dry_run is none, client or server."""

    def __init__(self, kube: Kube, dry_run: str = "none") -> None:
        self.kube = kube
        self.dry_run = dry_run

    def run(self, steps: list[Step]) -> list[ObjectChange]:
        done: list[ObjectChange] = []
        try:
            for step in steps:
                done.append(self._do(step))
        except EgressError as err:
            if self.dry_run == "none":
                failed = self._undo(done)
                if failed:
                    err.message += f" (and undoing the earlier changes failed: {failed}; " \
                                   "run kubectl egress clean to remove what was left)"
            raise
        return done

    def _do(self, step: Step) -> ObjectChange:
        res, server_dry = step.resource, self.dry_run == "server"
        if step.action == "unchanged":
            return ObjectChange(res, step.name, step.namespace, "unchanged", step.live)
        if step.action == "delete":
            if self.dry_run != "client":
                self.kube.delete(res, step.name, step.namespace, dry_run=server_dry,
                                 uid=step.live["metadata"].get("uid", ""))
            return ObjectChange(res, step.name, step.namespace, "deleted", step.live, before=step.live)
        if step.action == "create":
            obj = step.desired if self.dry_run == "client" else \
                self.kube.create(res, step.desired, dry_run=server_dry)
            return ObjectChange(res, step.name, step.namespace, "created", obj)
        body = merged_for_update(step.desired, step.live)
        obj = body if self.dry_run == "client" else self.kube.replace(res, body, dry_run=server_dry)
        return ObjectChange(res, step.name, step.namespace, "configured", obj, before=step.live)

    def _undo(self, done: list[ObjectChange]) -> str:
        """Reverse the changes made, newest first; returns what could not be undone."""
        problems = []
        for change in reversed(done):
            try:
                if change.action == "created":
                    self.kube.delete(change.resource, change.name, change.namespace,
                                     uid=(change.obj or {}).get("metadata", {}).get("uid", ""))
                elif change.action == "configured" and change.before is not None:
                    current = self.kube.get(change.resource, change.name, change.namespace)
                    restored = copy.deepcopy(change.before)
                    restored["metadata"].pop("managedFields", None)
                    if current is not None:
                        restored["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
                        self.kube.replace(change.resource, restored)
                elif change.action == "deleted" and change.before is not None:
                    self.kube.create(change.resource, fresh_copy(change.before))
            except (EgressError, ServerError) as err:
                problems.append(f"{change.resource.display}/{change.name}: {err.message}")
        return "; ".join(problems)
