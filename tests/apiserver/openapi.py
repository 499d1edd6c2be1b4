"""OpenAPI v3 documents, reduced to what clients read from them.

kubectl reads /openapi/v3 to learn whether the server takes
`fieldValidation` (a PATCH operation per kind with that query parameter and
`x-kubernetes-group-version-kind`). Strategic merge is not listed, so kubectl
computes apply patches from its compiled-in types, as it does for built-ins.
"""
from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from .cluster import Cluster

_PARAMS = [{"name": name, "in": "query", "schema": {"type": "string"}}
           for name in ("dryRun", "fieldManager", "fieldValidation", "force")]
_PATCH_TYPES = {"application/json-patch+json": {}, "application/merge-patch+json": {},
                "application/apply-patch+yaml": {}}


def _gv_key(group: str, version: str) -> str:
    return f"apis/{group}/{version}" if group else f"api/{version}"


def _group_versions(cluster: "Cluster") -> list[tuple[str, str]]:
    seen: list[tuple[str, str]] = []
    for kind in cluster.kinds.all():
        for version in kind.versions:
            if (kind.group, version) not in seen:
                seen.append((kind.group, version))
    return seen


def group_version(cluster: "Cluster", key: str) -> dict | None:
    paths = {}
    for group, version in _group_versions(cluster):
        if _gv_key(group, version) != key:
            continue
        prefix = "/" + key
        for kind in cluster.kinds.all():
            if kind.group != group or version not in kind.versions:
                continue
            scope = f"{prefix}/namespaces/{{namespace}}" if kind.namespaced else prefix
            gvk = {"group": group, "version": version, "kind": kind.kind}
            paths[f"{scope}/{kind.plural}/{{name}}"] = {
                "patch": {"x-kubernetes-group-version-kind": gvk, "parameters": _PARAMS,
                          "requestBody": {"content": _PATCH_TYPES}},
                "put": {"x-kubernetes-group-version-kind": gvk, "parameters": _PARAMS}}
            paths[f"{scope}/{kind.plural}"] = {
                "post": {"x-kubernetes-group-version-kind": gvk, "parameters": _PARAMS}}
    if not paths:
        return None
    return {"openapi": "3.0.0", "info": {"title": "Kubernetes", "version": "v1.33.1"}, "paths": paths}


def index(cluster: "Cluster") -> dict:
    paths = {}
    for group, version in _group_versions(cluster):
        key = _gv_key(group, version)
        doc = group_version(cluster, key)
        digest = hashlib.sha512(repr(doc).encode()).hexdigest()[:32].upper()
        paths[key] = {"serverRelativeURL": f"/openapi/v3/{key}?hash={digest}"}
    return {"paths": paths}
