"""REST semantics of kube-apiserver's generic registry, for every kind.

create / get / list / update / patch / delete / deletecollection / watch, with
what a real server does around them: namespace existence, generateName,
defaulting, validation (422 with causes), field validation (Strict, Warn,
Ignore), resourceVersion preconditions (409), dryRun=All, version conversion
for custom resources, labelSelector / fieldSelector, limit / continue, and
server-side field management (metadata.managedFields, see managed.py).
"""
from __future__ import annotations

import copy
import json
import random
import time
import uuid
from typing import TYPE_CHECKING, Iterator

from . import managed, schema, selectors, tables
from .errors import (BUILTIN_MEDIA_TYPES, CUSTOM_MEDIA_TYPES, PATCH_TYPES, APIError, Cause, already_exists,
                     bad_request, conflict, invalid, not_found, unsupported_media_type)
from .kinds import Kind
from .patch import json_patch, merge_patch, strategic_merge_patch

if TYPE_CHECKING:  # pragma: no cover
    from .cluster import Cluster
    from .server import Request

NAME_CHARS = "bcdfghjklmnpqrstvwxz2456789"  # apimachinery's SimpleNameGenerator alphabet


def now_rfc3339() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def decode_body(req: "Request", kind: Kind | None = None) -> dict:
    """The request body as JSON would give it, decoded by its Content-Type, or the 400 or 415
    the serializer negotiation answers (apiserver handlers/create.go: NegotiateInputSerializer,
    transformDecodeError). Custom resources take no protobuf (apiextensions-apiserver's
    serializer offers JSON and YAML only)."""
    ctype = (req.headers.get("content-type") or "application/json").split(";")[0].strip().lower()
    custom = kind is not None and bool(kind.schemas)
    accepted = CUSTOM_MEDIA_TYPES if custom else BUILTIN_MEDIA_TYPES
    if ctype == "application/vnd.kubernetes.protobuf" and not custom:
        # typed clients (kubectl create namespace/service/deployment/token, auth can-i ...) send protobuf
        from . import protobuf
        try:
            return protobuf.decode(req.body or b"")
        except ValueError as err:
            what = kind.kind if kind is not None else "object"
            raise bad_request(f"the object provided is unrecognized (must be of type {what}): {err}")
    if ctype in ("application/yaml", "application/apply-patch+yaml"):
        import yaml
        try:
            data = yaml.safe_load(req.body or b"{}")
        except yaml.YAMLError as err:
            raise bad_request(f"error converting YAML to JSON: {err}")
    elif ctype in ("application/json", "application/merge-patch+json", "application/json-patch+json",
                   "application/strategic-merge-patch+json", "*/*", ""):
        try:
            data = json.loads(req.body or b"{}")
        except ValueError as err:
            raise bad_request(f"couldn't get version/kind; json parse error: {err}")
    else:
        raise unsupported_media_type(accepted)
    return data


OPTIONS_KIND = {"POST": "CreateOptions", "PUT": "UpdateOptions", "PATCH": "PatchOptions",
                "DELETE": "DeleteOptions"}


def _options_invalid(req: "Request", cause: Cause | list[Cause]) -> APIError:
    """422 on the request's options, as `ValidateCreateOptions` and friends report it
    (errors.NewInvalid: one cause inline, several in brackets)."""
    causes = cause if isinstance(cause, list) else [cause]
    kind = OPTIONS_KIND.get(req.method, "CreateOptions")
    texts = list(dict.fromkeys(c.text() for c in causes))
    joined = texts[0] if len(texts) == 1 else "[" + ", ".join(texts) + "]"
    return APIError(422, "Invalid", f'{kind}.meta.k8s.io "" is invalid: {joined}',
                    {"group": "meta.k8s.io", "kind": kind,
                     "causes": [{"reason": c.reason, "message": c.message, "field": c.field} for c in causes]})


def _validate_options(req: "Request | None", apply: bool = False) -> None:
    """ValidateCreateOptions / ValidateUpdateOptions / ValidatePatchOptions
    (apimachinery pkg/apis/meta/v1/validation): force, fieldManager, dryRun,
    fieldValidation, all errors in one 422."""
    if req is None:
        return
    causes: list[Cause] = []
    manager = req.param("fieldManager")
    if req.method == "PATCH":
        if not apply and "force" in req.query:
            causes.append(Cause("FieldValueForbidden", "Forbidden: may not be specified for non-apply patch",
                                "force"))
        if apply and not manager:
            # "This field is defaulted to "kubectl" by kubectl, but HAS TO be explicitly set by controllers."
            causes.append(Cause("FieldValueRequired", "Required value: is required for apply patch",
                                "fieldManager"))
    causes.extend(Cause(reason, message, "fieldManager")
                  for reason, message in managed.validate_field_manager(manager))
    for check in (_dry_run, _field_validation):
        try:
            check(req)
        except APIError as err:
            causes.extend(Cause(c["reason"], c["message"], c["field"]) for c in err.details["causes"])
    if causes:
        raise _options_invalid(req, causes)


def _dry_run(req: "Request | None") -> bool:
    if req is None:
        return False
    values = req.query.get("dryRun", [])
    if any(v != "All" for v in values):
        shown = "[]string{" + ", ".join(f'"{v}"' for v in values) + "}"
        raise _options_invalid(req, Cause("FieldValueNotSupported", f'Unsupported value: {shown}: '
                                          'supported values: "All"', "dryRun"))
    return bool(values)


def _field_validation(req: "Request | None") -> str:
    if req is None:
        return "Ignore"
    value = req.param("fieldValidation")
    if value not in ("", "Strict", "Warn", "Ignore"):
        raise _options_invalid(req, Cause("FieldValueNotSupported", f'Unsupported value: "{value}": '
                                          'supported values: "", "Ignore", "Strict", "Warn"',
                                          "fieldValidation"))
    return value or "Warn"


class API:
    def __init__(self, cluster: "Cluster") -> None:
        self.cluster = cluster
        self.store = cluster.store

    # -- helpers -------------------------------------------------------------
    def _convert(self, kind: Kind, obj: dict, version: str) -> dict:
        """obj as seen at version (custom resources: conversion None, only apiVersion changes)."""
        api_version = kind.api_version(version)
        if obj.get("apiVersion") == api_version:
            return obj
        return {**obj, "apiVersion": api_version}

    def _check_namespace(self, kind: Kind, namespace: str) -> None:
        if not kind.namespaced:
            return
        ns = self.store.get("/namespaces", "", namespace)
        if ns is None:
            raise not_found("namespaces", namespace)
        if ns.get("status", {}).get("phase") == "Terminating":
            raise APIError(403, "Forbidden", f"{kind.qualified} \"\" is forbidden: unable to create "
                           f"new content in namespace {namespace} because it is being terminated",
                           {"kind": kind.plural, "group": kind.group,
                            "causes": [{"reason": "NamespaceTerminating",
                                        "message": f"namespace {namespace} is being terminated",
                                        "field": "metadata.namespace"}]})

    def _check_type(self, kind: Kind, version: str, body: dict) -> None:
        if not isinstance(body, dict):
            raise bad_request("the object provided is unrecognized (must be of type "
                              f"{kind.kind})")
        expected = kind.api_version(version)
        api_version, obj_kind = body.get("apiVersion", ""), body.get("kind", "")
        if not obj_kind:
            raise bad_request("Object 'Kind' is missing in '" + json.dumps(body)[:200] + "'")
        if obj_kind != kind.kind or (api_version and api_version != expected):
            raise bad_request(f"the API version in the data ({api_version}) does not match the "
                              f"expected API version ({expected})" if obj_kind == kind.kind else
                              f"the object provided is unrecognized (must be of type {kind.kind}): "
                              f"{obj_kind} in version \"{api_version}\" cannot be handled as a {kind.kind}")

    def _fields(self, kind: Kind, version: str, body: dict, mode: str) -> list[str]:
        """Unknown and pruned fields, handled as fieldValidation asks."""
        unknown = schema.prune(kind, version, body)
        if not unknown or mode == "Ignore":
            return []
        texts = [f'unknown field "{u}"' for u in unknown]
        if mode == "Strict":
            raise bad_request(f'{kind.kind} in version "{version}" cannot be handled as a '
                              f'{kind.kind}: strict decoding error: ' + ", ".join(texts))
        return texts

    def _validate(self, kind: Kind, obj: dict, old: dict | None, strategy=None) -> None:
        if strategy is not None:
            causes = strategy.validate_update(obj, old, kind)
        else:
            causes = kind.validate(obj, old, kind) if kind.validate else []
        if causes:
            raise invalid(kind.kind, obj["metadata"].get("name", ""), causes, kind.group)

    def _hooks(self, kind: Kind, event: str, obj: dict, old: dict | None) -> None:
        for hook in self.cluster.hooks(kind):
            hook(event, obj, old)

    # -- reads ---------------------------------------------------------------
    def get(self, kind: Kind, version: str, namespace: str, name: str, sub: str = "") -> dict:
        obj = self.store.get(kind.key, namespace, name)
        if obj is None:
            raise not_found(kind.plural, name, kind.group)
        return self._convert(kind, obj, version)

    def list(self, kind: Kind, version: str, namespace: str, req: "Request") -> tuple[list[dict], dict]:
        labels = selectors.parse_label_selector(req.param("labelSelector"))
        fields = selectors.parse_field_selector(req.param("fieldSelector"), kind.field_selectors, kind.plural)
        try:
            limit = int(req.param("limit") or 0)
        except ValueError:
            raise bad_request(f'invalid limit: "{req.param("limit")}"')

        def match(obj: dict) -> bool:
            return selectors.labels_match(labels, obj["metadata"].get("labels")) and \
                selectors.fields_match(fields, obj, kind.field_selectors)

        items, rv, token, remaining = self.store.list(kind.key, namespace or None, match,
                                                      limit, req.param("continue"))
        meta: dict = {"resourceVersion": str(rv)}
        if token:
            meta["continue"] = token
            if remaining is not None:
                meta["remainingItemCount"] = remaining
        return [self._convert(kind, o, version) for o in items], meta

    def table(self, kind: Kind, version: str, items: list[dict], meta: dict, include: str) -> dict:
        if include not in ("", "None", "Metadata", "Object"):
            raise bad_request(f'unrecognized includeObject value: "{include}"')
        return tables.table(kind, items, include or "Metadata", lambda o: o, meta)

    # -- writes --------------------------------------------------------------
    def create(self, kind: Kind, version: str, namespace: str, body: dict,
               req: "Request | None", manager: str = "kube-apiserver",
               applied: dict | None = None) -> tuple[dict, list[str]]:
        """POST (also PUT or apply to a missing name). manager names the writer when
        there is no request (the system's own objects); applied: the apply
        configuration of a server-side apply that creates the object."""
        _validate_options(req, apply=applied is not None)
        dry = _dry_run(req)
        mode = _field_validation(req)
        self._check_type(kind, version, body)
        obj = copy.deepcopy(body)
        meta = obj.setdefault("metadata", {})
        if not isinstance(meta, dict):
            raise bad_request("metadata must be an object")
        if kind.namespaced:
            if meta.get("namespace") and namespace and meta["namespace"] != namespace:
                raise bad_request("the namespace of the provided object does not match the "
                                  "namespace sent on the request")
            meta["namespace"] = namespace or meta.get("namespace") or "default"
        else:
            meta.pop("namespace", None)
        warnings = self._fields(kind, version, obj, mode)
        with self.store.lock:
            if kind.namespaced:
                self._check_namespace(kind, meta["namespace"])
            if not meta.get("name") and meta.get("generateName"):
                meta["name"] = meta["generateName"] + "".join(random.choice(NAME_CHARS) for _ in range(5))
            for sysfield in ("uid", "resourceVersion", "creationTimestamp", "deletionTimestamp",
                             "deletionGracePeriodSeconds", "generation", "selfLink"):
                meta.pop(sysfield, None)
            meta["uid"] = str(uuid.uuid4())
            meta["creationTimestamp"] = now_rfc3339()
            if kind.has_generation:
                meta["generation"] = 1
            if kind.status_subresource and kind.kind not in ("Pod", "Node"):
                obj.pop("status", None)
            obj["apiVersion"] = kind.api_version(kind.storage_version)
            if kind.decode:
                kind.decode(obj)
            self._track(kind, version, None, obj, req, "", manager, applied)
            if kind.default:
                kind.default(obj, None, self.cluster, dry)
            try:
                self._validate(kind, obj, None)
                # validating admission (Pod Security), after validation and before storage
                warnings = warnings + self.cluster.admit(kind, obj, None, "")
                if self.store.get(kind.key, meta.get("namespace", ""), meta.get("name", "")) is not None:
                    raise already_exists(kind.plural, meta["name"], kind.group)
            except APIError:
                self.cluster.release(kind, obj, None, dry)
                raise
            if dry:
                return self._convert(kind, obj, version), warnings
            stored = self.store.put(kind.key, obj, "ADDED")
            self._hooks(kind, "ADDED", stored, None)
        return self._convert(kind, stored, version), warnings

    def create_object(self, kind: Kind, obj: dict, manager: str = "kube-apiserver",
                      apply: bool = False) -> dict:
        """Create as the system does (seeding, controllers, installers): manager is the
        writer's field manager; apply: a server-side apply (operation Apply) of obj."""
        ns = obj["metadata"].get("namespace", "")
        stored, _ = self.create(kind, kind.storage_version, ns, obj, None, manager=manager,
                                applied=copy.deepcopy(obj) if apply else None)
        return stored

    def track_create(self, kind: Kind, version: str, obj: dict, req: "Request") -> None:
        """managedFields of an object a create answers without storing it (the reviews)."""
        self._track(kind, version, None, obj, req, "", "kube-apiserver", None)

    def system_update(self, kind: Kind, old: dict, new: dict, manager: str, sub: str = "") -> dict:
        """new with the managedFields of a write by a system component (a controller's
        status update, say) that stores it directly; returns new."""
        self._track(kind, kind.storage_version, old, new, None, sub, manager, None)
        return new

    def _track(self, kind: Kind, version: str, old: dict | None, obj: dict, req: "Request | None",
               sub: str, manager: str, applied: dict | None) -> None:
        """Set obj's metadata.managedFields as the field manager does: after the body is
        decoded and defaulted by the scheme, before the registry (allocation, admission,
        strategy), so the writer owns what it sent and what the scheme defaulted."""
        if req is not None:
            manager = managed.manager_name(req.param("fieldManager"), req.headers.get("user-agent", ""))
        meta = obj.setdefault("metadata", {})
        try:
            entries = managed.track(old, obj, manager=manager, api_version=kind.api_version(version),
                                    now=now_rfc3339(), type_=kind.field_type(version), zero=kind.zero(version),
                                    subresource=sub, reset=kind.reset_fields(sub), applied=applied,
                                    omit_empty=kind.omit_empty())
        except managed.ManagedFieldsError as err:
            if applied is not None:
                where = f"{meta.get('namespace') or '<unknown>'}/{meta.get('name') or '<unknown>'}"
                raise APIError(500, "InternalError", f"Internal error occurred: failed to create typed patch "
                               f"object ({where}; {kind.group}/{version}, Kind={kind.kind}): {err}")
            # UpdateNoErrors: keep the live object's managedFields
            entries = ((old or {}).get("metadata") or {}).get("managedFields") or []
        if entries:
            meta["managedFields"] = entries
        else:
            meta.pop("managedFields", None)

    def update(self, kind: Kind, version: str, namespace: str, name: str, body: dict,
               req: "Request | None", sub: str = "") -> tuple[dict, int, list[str]]:
        _validate_options(req)
        self._check_type(kind, version, body)
        mode = _field_validation(req)
        body = copy.deepcopy(body)
        meta = body.setdefault("metadata", {})
        if meta.get("name") and meta["name"] != name:
            raise bad_request(f"the name of the object ({meta['name']}) does not match the name "
                              f"on the URL ({name})")
        if kind.namespaced and meta.get("namespace") and meta["namespace"] != namespace:
            raise bad_request("the namespace of the provided object does not match the namespace "
                              "sent on the request")
        warnings = self._fields(kind, version, body, mode)
        return self._replace(kind, version, namespace, name, lambda old: body, req, sub, warnings,
                             create_if_missing=kind.create_on_update and not sub, patch_body=body,
                             is_put=True)

    def patch(self, kind: Kind, version: str, namespace: str, name: str, req: "Request",
              sub: str = "") -> tuple[dict, int, list[str]]:
        ctype = (req.headers.get("content-type") or "").split(";")[0].strip().lower()
        custom = bool(kind.schemas)
        # handlers/patch.go: the patch types the resource takes (no strategic merge for custom ones)
        patch_types = PATCH_TYPES if custom else PATCH_TYPES[:2] + ("application/strategic-merge-patch+json",) \
            + PATCH_TYPES[2:]
        if ctype not in patch_types:
            raise unsupported_media_type(patch_types)
        patch_doc = decode_body(req, kind)
        applying = ctype == "application/apply-patch+yaml"
        _validate_options(req, apply=applying)
        if applying:
            self._check_applied(kind, version, patch_doc)

        def apply(old: dict) -> dict:
            current = self._convert(kind, copy.deepcopy(old), version)
            if ctype == "application/merge-patch+json":
                result = merge_patch(current, patch_doc)
            elif ctype == "application/json-patch+json":
                result = json_patch(current, patch_doc)
            elif ctype == "application/apply-patch+yaml":
                result = merge_patch(current, patch_doc)
            else:
                result = strategic_merge_patch(current, patch_doc, kind.kind)
            if not isinstance(result, dict):
                raise bad_request("patch produced a non-object")
            return result

        return self._replace(kind, version, namespace, name, apply, req, sub, [],
                             create_if_missing=applying, patch_body=patch_doc,
                             applied=patch_doc if applying else None)

    def replace(self, kind: Kind, version: str, namespace: str, name: str, build, req: "Request | None",
                sub: str) -> tuple[dict, int, list[str]]:
        """A subresource's write (scale, finalize): build(old) makes the new object."""
        _validate_options(req)
        return self._replace(kind, version, namespace, name, build, req, sub, [])

    @staticmethod
    def _check_applied(kind: Kind, version: str, patch_doc) -> None:
        """What the field manager refuses in an apply configuration: another group, version
        or kind (versioncheck.go), and managedFields (structuredmerge.go)."""
        doc = patch_doc if isinstance(patch_doc, dict) else {}
        api_version, obj_kind = str(doc.get("apiVersion") or ""), str(doc.get("kind") or "")
        group, _, ver = api_version.rpartition("/") if "/" in api_version else ("", "", api_version)
        if api_version.count("/") > 1:
            group, ver = "", ""
        if (group, ver, obj_kind) != (kind.group, version, kind.kind):
            raise bad_request(f"invalid object type: {group}/{ver}, Kind={obj_kind}")
        meta = doc.get("metadata")
        if isinstance(meta, dict) and meta.get("managedFields") is not None:
            raise bad_request("metadata.managedFields must be nil")

    def _replace(self, kind: Kind, version: str, namespace: str, name: str, build,
                 req: "Request | None", sub: str, warnings: list[str],
                 create_if_missing: bool = False, patch_body: dict | None = None,
                 is_put: bool = False, applied: dict | None = None) -> tuple[dict, int, list[str]]:
        dry = _dry_run(req)
        with self.store.lock:
            old = self.store.get(kind.key, namespace, name)
            if old is None:
                if create_if_missing and isinstance(patch_body, dict):
                    body = copy.deepcopy(patch_body)
                    body.setdefault("metadata", {})["name"] = name
                    obj, more = self.create(kind, version, namespace, body, req, applied=applied)
                    return obj, 201, warnings + more
                raise not_found(kind.plural, name, kind.group)
            obj = build(copy.deepcopy(old))
            meta = obj.setdefault("metadata", {})
            wanted_rv = meta.get("resourceVersion")
            if wanted_rv in (None, "", "0") and not kind.unconditional_update and is_put:
                raise APIError(422, "Invalid", f'{kind.qualified} "{name}" is invalid: '
                               "metadata.resourceVersion: Invalid value: 0x0: must be specified for an update",
                               {"name": name, "group": kind.group, "kind": kind.plural,
                                "causes": [{"reason": "FieldValueInvalid",
                                            "message": "Invalid value: 0x0: must be specified for an update",
                                            "field": "metadata.resourceVersion"}]})
            if wanted_rv and wanted_rv != old["metadata"]["resourceVersion"]:
                raise conflict(kind.plural, name, kind.group)
            meta["name"] = name
            if kind.namespaced:
                meta["namespace"] = namespace
            for sysfield in ("uid", "creationTimestamp", "generation", "deletionTimestamp"):
                if sysfield in old["metadata"]:
                    meta[sysfield] = old["metadata"][sysfield]
                else:
                    meta.pop(sysfield, None)
            obj["apiVersion"] = kind.api_version(kind.storage_version)
            strategy = kind.strategies.get(sub)
            if strategy is not None:  # e.g. pods/ephemeralcontainers: only its own part changes
                obj = strategy.prepare_for_update(obj, old)
                meta = obj["metadata"]
            elif sub == "status":
                status = obj.get("status")
                obj = copy.deepcopy(old)
                if status is not None:
                    obj["status"] = status
            elif kind.status_subresource and "status" in old:
                obj["status"] = copy.deepcopy(old["status"])
            elif kind.status_subresource:
                obj.pop("status", None)
            if kind.decode:
                kind.decode(obj)
            self._track(kind, version, old, obj, req, sub, "kube-apiserver", applied)
            if kind.default and strategy is None:
                kind.default(obj, old, self.cluster, dry)
            try:
                self._validate(kind, obj, old, strategy)
                warnings = warnings + self.cluster.admit(kind, obj, old, sub)
            except APIError:
                self.cluster.release(kind, obj, old, dry)
                raise
            meta["resourceVersion"] = old["metadata"]["resourceVersion"]
            if obj == old:
                return self._convert(kind, obj, version), 200, warnings
            if kind.has_generation and {k: v for k, v in obj.items() if k not in ("metadata", "status")} != \
                    {k: v for k, v in old.items() if k not in ("metadata", "status")}:
                meta["generation"] = old["metadata"].get("generation", 1) + 1
            if dry:
                return self._convert(kind, obj, version), 200, warnings
            self.cluster.release(kind, old, obj, False)
            stored = self.store.put(kind.key, obj, "MODIFIED")
            self._hooks(kind, "MODIFIED", stored, old)
        return self._convert(kind, stored, version), 200, warnings

    def delete(self, kind: Kind, version: str, namespace: str, name: str,
               req: "Request | None") -> tuple[dict, int]:
        dry = _dry_run(req)
        options = {}
        if req is not None and req.body:
            try:
                options = json.loads(req.body)
            except ValueError:
                options = {}  # a protobuf DeleteOptions carries nothing this server needs
        with self.store.lock:
            old = self.store.get(kind.key, namespace, name)
            if old is None:
                raise not_found(kind.plural, name, kind.group)
            pre = options.get("preconditions") or {}
            if pre.get("uid") and pre["uid"] != old["metadata"]["uid"]:
                raise APIError(409, "Conflict", f"Operation cannot be fulfilled on {kind.qualified} "
                               f"\"{name}\": Precondition failed: UID in precondition: {pre['uid']}, "
                               f"UID in object meta: {old['metadata']['uid']}",
                               {"name": name, "group": kind.group, "kind": kind.plural})
            if pre.get("resourceVersion") and pre["resourceVersion"] != old["metadata"]["resourceVersion"]:
                raise APIError(409, "Conflict", f"Operation cannot be fulfilled on {kind.qualified} "
                               f"\"{name}\": Precondition failed: ResourceVersion in precondition: "
                               f"{pre['resourceVersion']}, ResourceVersion in object meta: "
                               f"{old['metadata']['resourceVersion']}",
                               {"name": name, "group": kind.group, "kind": kind.plural})
            if dry:
                return self._convert(kind, old, version), 200
            finalizing = self.cluster.finalize(kind, old)
            if finalizing is not None:
                return self._convert(kind, finalizing, version), 200
            gone = self.store.delete(kind.key, namespace, name)
            self.cluster.release(kind, gone, None, False)
            self._hooks(kind, "DELETED", gone, old)
        details = {"name": name, "kind": kind.plural, "uid": old["metadata"]["uid"]}
        if kind.group:
            details["group"] = kind.group
        if kind.kind in ("Pod", "Namespace", "CustomResourceDefinition") or kind.schemas:
            return self._convert(kind, gone, version), 200
        return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                "details": details}, 200

    def delete_collection(self, kind: Kind, version: str, namespace: str, req: "Request") -> dict:
        items, _ = self.list(kind, version, namespace, req)
        deleted = []
        for item in items:
            try:
                obj, _ = self.delete(kind, version, item["metadata"].get("namespace", ""),
                                     item["metadata"]["name"], req)
                deleted.append(item)
            except APIError as err:
                if err.code != 404:
                    raise
        return {"kind": f"{kind.kind}List", "apiVersion": kind.api_version(version),
                "metadata": {"resourceVersion": str(self.store.rv)}, "items": deleted}

    # -- watch ---------------------------------------------------------------
    def watch(self, kind: Kind, version: str, namespace: str, req: "Request") -> Iterator[dict]:
        labels = selectors.parse_label_selector(req.param("labelSelector"))
        fields = selectors.parse_field_selector(req.param("fieldSelector"), kind.field_selectors, kind.plural)
        timeout = float(req.param("timeoutSeconds") or 1800)
        start_rv = req.param("resourceVersion")

        def match(obj: dict) -> bool:
            if namespace and obj["metadata"].get("namespace") != namespace:
                return False
            return selectors.labels_match(labels, obj["metadata"].get("labels")) and \
                selectors.fields_match(fields, obj, kind.field_selectors)

        with self.store.lock:
            if start_rv in ("", "0"):
                initial = [o for o in self.store.items(kind.key, namespace or None) if match(o)]
                rv = self.store.rv
            else:
                initial = []
                rv = int(start_rv)
                self.store.events_since(rv)  # 410 when too old

        def stream() -> Iterator[dict]:
            nonlocal rv
            deadline = time.monotonic() + timeout
            for obj in initial:
                yield {"type": "ADDED", "object": self._convert(kind, obj, version)}
            while time.monotonic() < deadline:
                with self.store.lock:
                    pending = self.store.events_since(rv)
                    if not pending:
                        self.store.changed.wait(timeout=min(1.0, max(0.0, deadline - time.monotonic())))
                        pending = self.store.events_since(rv)
                    if pending:
                        rv = pending[-1].rv
                for event in pending:
                    if event.resource == kind.key and match(event.obj):
                        yield {"type": event.type,
                               "object": self._convert(kind, copy.deepcopy(event.obj), version)}

        return stream()

