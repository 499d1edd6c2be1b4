"""Discovery documents: /api, /apis, group and group-version resource lists.

Built from the kind registry, so a CRD appears in discovery as soon as it is
created, as with apiextensions-apiserver.
"""
from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING

from .errors import not_found_path

if TYPE_CHECKING:  # pragma: no cover
    from .cluster import Cluster
    from .kinds import Kind

SUBRESOURCE_KINDS = {
    "exec": ("", "v1", "PodExecOptions"), "attach": ("", "v1", "PodAttachOptions"),
    "portforward": ("", "v1", "PodPortForwardOptions"), "binding": ("", "v1", "Binding"),
    "eviction": ("policy", "v1", "Eviction"), "scale": ("autoscaling", "v1", "Scale"),
    "token": ("authentication.k8s.io", "v1", "TokenRequest"),
}


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:11]


def api_versions(cluster: "Cluster") -> dict:
    return {"kind": "APIVersions", "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0",
                                            "serverAddress": cluster.address}]}


def _groups(cluster: "Cluster") -> dict[str, list[str]]:
    groups: dict[str, list[str]] = {}
    for kind in cluster.kinds.all():
        if not kind.group:
            continue
        versions = groups.setdefault(kind.group, [])
        for version in kind.versions:
            if version not in versions:
                versions.append(version)
    from .tables import version_priority
    for versions in groups.values():
        versions.sort(key=version_priority, reverse=True)
    return groups


def _group_doc(name: str, versions: list[str]) -> dict:
    entries = [{"groupVersion": f"{name}/{v}", "version": v} for v in versions]
    return {"name": name, "versions": entries, "preferredVersion": entries[0]}


def api_groups(cluster: "Cluster") -> dict:
    return {"kind": "APIGroupList", "apiVersion": "v1",
            "groups": [_group_doc(n, v) for n, v in _groups(cluster).items()]}


def api_group(cluster: "Cluster", name: str) -> dict | None:
    versions = _groups(cluster).get(name)
    if not versions:
        return None
    return {"kind": "APIGroup", "apiVersion": "v1", **_group_doc(name, versions)}


def _resource_entries(kind: "Kind") -> list[dict]:
    main = {"name": kind.plural, "singularName": kind.singular, "namespaced": kind.namespaced,
            "kind": kind.kind, "verbs": list(kind.verbs)}
    if kind.short_names:
        main["shortNames"] = list(kind.short_names)
    if kind.categories:
        main["categories"] = list(kind.categories)
    if kind.virtual is None:  # only stored resources have a storage version
        main["storageVersionHash"] = _hash(kind.key)
    out = [main]
    for sub, verbs in sorted(kind.subresources.items()):
        entry = {"name": f"{kind.plural}/{sub}", "singularName": "", "namespaced": kind.namespaced,
                 "kind": kind.kind, "verbs": list(verbs)}
        if sub in SUBRESOURCE_KINDS:
            group, version, sub_kind = SUBRESOURCE_KINDS[sub]
            entry["kind"] = sub_kind
            if group:
                entry["group"], entry["version"] = group, version
        out.append(entry)
    return out


def root_paths(cluster: "Cluster") -> list[str]:
    """What `/` lists (routes.IndexLister): the API paths and the other handlers, sorted."""
    paths = {"/api", "/api/v1", "/apis", "/apis/", "/healthz", "/livez", "/readyz", "/version",
             "/openapi/v3", "/openapi/v3/"}
    for name, versions in _groups(cluster).items():
        paths.add(f"/apis/{name}")
        paths.update(f"/apis/{name}/{v}" for v in versions)
    return sorted(paths)


def resource_list(cluster: "Cluster", group: str, version: str) -> dict | None:
    kinds = [k for k in cluster.kinds.all() if k.group == group and version in k.versions]
    if not kinds:
        return None
    gv = f"{group}/{version}" if group else version
    resources = [e for k in sorted(kinds, key=lambda k: k.plural) for e in _resource_entries(k)]
    doc = {"kind": "APIResourceList", "groupVersion": gv, "resources": resources}
    if group:
        doc["apiVersion"] = "v1"
    return doc


def aggregated(cluster: "Cluster", legacy: bool) -> dict:
    """apidiscovery.k8s.io/v2 APIGroupDiscoveryList for /api (legacy) or /apis."""
    items = []
    groups = {"": ["v1"]} if legacy else _groups(cluster)
    for name, versions in groups.items():
        entry_versions = []
        for version in versions:
            kinds = [k for k in cluster.kinds.all() if k.group == name and version in k.versions]
            resources = []
            for kind in sorted(kinds, key=lambda k: k.plural):
                res = {"resource": kind.plural,
                       "responseKind": {"group": kind.group, "version": version, "kind": kind.kind},
                       "scope": "Namespaced" if kind.namespaced else "Cluster",
                       "singularResource": kind.singular, "verbs": list(kind.verbs)}
                if kind.short_names:
                    res["shortNames"] = list(kind.short_names)
                if kind.categories:
                    res["categories"] = list(kind.categories)
                subs = []
                for sub, verbs in sorted(kind.subresources.items()):
                    group, sub_version, sub_kind = SUBRESOURCE_KINDS.get(sub, (kind.group, version, kind.kind))
                    subs.append({"subresource": sub, "responseKind": {"group": group, "version": sub_version,
                                                                      "kind": sub_kind}, "verbs": list(verbs)})
                if subs:
                    res["subresources"] = subs
                resources.append(res)
            entry_versions.append({"version": version, "resources": resources, "freshness": "Current"})
        items.append({"metadata": {"name": name, "creationTimestamp": None}, "versions": entry_versions})
    return {"kind": "APIGroupDiscoveryList", "apiVersion": "apidiscovery.k8s.io/v2",
            "metadata": {}, "items": items}


def openapi(cluster: "Cluster", path: str, hash_: str):
    """OpenAPI documents: enough for kubectl to learn that fieldValidation is served."""
    from .server import Response
    from . import openapi as spec
    if path == "/openapi/v2":
        raise not_found_path()
    if path == "/openapi/v3":
        return Response(200, spec.index(cluster))
    doc = spec.group_version(cluster, path[len("/openapi/v3/"):])
    if doc is None:
        raise not_found_path()
    headers = {"Etag": '"' + _hash(json.dumps(doc, sort_keys=True)) + '"'}
    if hash_:
        headers["Cache-Control"] = "public, immutable"
        headers["Expires"] = "Fri, 01 Jan 2100 00:00:00 GMT"
    return Response(200, doc, headers=headers)
