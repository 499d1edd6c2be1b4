"""OpenAPI v3 documents: one per group version, with the paths and the schemas clients read.

- paths: for each kind, the POST, PUT and PATCH operations with the
  `fieldValidation` parameter and `x-kubernetes-group-version-kind`, which is
  how kubectl learns that the server validates fields. Strategic merge is not
  among the PATCH content types, so kubectl computes apply patches from its
  compiled-in types, as it does for built-ins when the schemas carry no patch
  metadata (kubectl pkg/cmd/apply/patcher.go, gvkSupportsPatchOpenAPIV3).
- components.schemas: what `kubectl explain` walks. Built-in kinds get the
  schemas, field descriptions and required fields of the Kubernetes API types as
  the installed Kubernetes Python client's models publish them (its generated
  pydantic models, turned from JSON Schema into the OpenAPI v3 shape kube-openapi
  serves: `allOf` references with descriptions, components named
  io.k8s.api.core.v1.Service, io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta,
  int-or-string as IntOrString); that client follows a newer Kubernetes than the
  server reports, so explain may show fields newer than 1.33. Custom resources
  get their CRD's schema as apiextensions-apiserver's builder publishes it
  (pkg/controller/openapi/builder/builder.go buildKubeNative: named
  io.istio.networking.v1.DestinationRule, metadata, apiVersion and kind added).
The index `/openapi/v3` names each document with a hash of what it holds.
"""
from __future__ import annotations

import copy
import hashlib
import json
import os
import re
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from .cluster import Cluster
    from .kinds import Kind

_PARAMS = [{"name": name, "in": "query", "schema": {"type": "string"}}
           for name in ("dryRun", "fieldManager", "fieldValidation", "force")]
_PATCH_TYPES = {"application/json-patch+json": {}, "application/merge-patch+json": {},
                "application/apply-patch+yaml": {}}

META = "io.k8s.apimachinery.pkg.apis.meta.v1"
INT_OR_STRING = "io.k8s.apimachinery.pkg.util.intstr.IntOrString"
# the client's class for a kind where it is not "V1" + kind
CLIENT_CLASSES = {"Event": "CoreV1Event", "TokenRequest": "AuthenticationV1TokenRequest"}
# apimachinery's meta/v1 types, as the client names them
META_TYPES = ("ObjectMeta", "ListMeta", "LabelSelector", "LabelSelectorRequirement", "ManagedFieldsEntry",
              "OwnerReference", "Condition", "Status", "StatusDetails", "StatusCause", "DeleteOptions",
              "Preconditions", "FieldSelectorRequirement", "ServerAddressByClientCIDR")
# Go packages of the API groups served here
PACKAGES = {"": "io.k8s.api.core.v1", "apps": "io.k8s.api.apps.v1", "discovery.k8s.io": "io.k8s.api.discovery.v1",
            "authorization.k8s.io": "io.k8s.api.authorization.v1",
            "authentication.k8s.io": "io.k8s.api.authentication.v1",
            "autoscaling": "io.k8s.api.autoscaling.v1", "policy": "io.k8s.api.policy.v1",
            "rbac.authorization.k8s.io": "io.k8s.api.rbac.v1",
            "apiextensions.k8s.io": "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1"}
# the kinds of subresources, their group, and the group version document that carries them
# (pods/binding, pods/eviction, serviceaccounts/token; deployments/scale, replicasets/scale)
SUBRESOURCE_KINDS = (("V1Binding", "", ""), ("V1Eviction", "policy", ""),
                     ("AuthenticationV1TokenRequest", "authentication.k8s.io", ""), ("V1Scale", "autoscaling", "apps"))
INT_OR_STRING_SCHEMA = {
    "description": "IntOrString is a type that can hold an int32 or a string.  When used in JSON or YAML "
                   "marshalling and unmarshalling, it produces or consumes the inner type.  This allows you to "
                   "have, for example, a JSON field that can accept a name or number.",
    "format": "int-or-string", "oneOf": [{"type": "integer"}, {"type": "string"}]}


def _gv_key(group: str, version: str) -> str:
    return f"apis/{group}/{version}" if group else f"api/{version}"


def _group_versions(cluster: "Cluster") -> list[tuple[str, str]]:
    seen: list[tuple[str, str]] = []
    for kind in cluster.kinds.all():
        for version in kind.versions:
            if (kind.group, version) not in seen:
                seen.append((kind.group, version))
    return seen


# -- built-in schemas, from the client's models ----------------------------------------------------
_CLIENT_NAME = re.compile(r"^(?:[A-Z][a-z]+)*?V\d+(?:alpha\d+|beta\d+)?(?=[A-Z])")
_lock = threading.Lock()
_builtin: dict[str, dict] = {}  # component name -> schema, for every built-in kind


def _type_name(client_name: str) -> str:
    """V1ServiceSpec -> ServiceSpec, CoreV1Event -> Event."""
    return _CLIENT_NAME.sub("", client_name)


def _clean(node, refs: dict[str, str]):
    """A JSON Schema from pydantic, in kube-openapi's v3 shape."""
    if isinstance(node, list):
        return [_clean(n, refs) for n in node]
    if not isinstance(node, dict):
        return node
    node = {k: v for k, v in node.items() if k not in ("title", "default")}
    any_of = node.pop("anyOf", None)
    if any_of is not None:  # Optional[X] is X; int | str is IntOrString
        kinds = [a for a in any_of if a != {"type": "null"}]
        if sorted(a.get("type", "") for a in kinds) == ["integer", "string"]:
            node.update({"allOf": [{"$ref": f"#/components/schemas/{INT_OR_STRING}"}]})
            return {k: _clean(v, refs) if k != "allOf" else v for k, v in node.items()}
        elif len(kinds) == 1:
            node = {**kinds[0], **node}
    if "$ref" in node:  # a reference with a description: allOf, as kube-openapi writes it
        ref = node.pop("$ref")
        if node:
            node = {"allOf": [{"$ref": ref}], **node}
            node.setdefault("default", {})
        else:
            node = {"$ref": ref}
    if node.get("additionalProperties") is False:
        del node["additionalProperties"]
    if "description" in node:
        node["description"] = node["description"].split("\n\nAttributes:\n", 1)[0].strip()
    out = {}
    for key, value in node.items():
        if key == "$ref":
            out[key] = f"#/components/schemas/{refs.get(value.rsplit('/', 1)[1], value.rsplit('/', 1)[1])}"
        elif key == "properties":
            out[key] = {name: _clean(prop, refs) for name, prop in value.items()}
        else:
            out[key] = _clean(value, refs)
    return out


def builtin_schemas(kinds: list["Kind"]) -> dict[str, dict]:
    """Component schemas of the built-in kinds: computed once per process, and kept in a file
    of the temporary directory named after the client's version and this module's text, so a
    later process reads them (building them takes seconds)."""
    with _lock:
        if not _builtin:
            cache = _cache_file(kinds)
            try:
                _builtin.update(json.loads(cache.read_text()))
            except (OSError, ValueError):
                _builtin.update(_generate(kinds))
                try:
                    partial = cache.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
                    partial.write_text(json.dumps(_builtin))
                    partial.replace(cache)
                except OSError:
                    pass
        return _builtin


def _cache_file(kinds: list["Kind"]):
    import tempfile
    from pathlib import Path

    import kubernetes
    seed = json.dumps([kubernetes.__version__, Path(__file__).read_text(), sorted(f"{k.group}/{k.versions}/{k.kind}" for k in kinds)])
    digest = hashlib.sha256(seed.encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"local-apiserver-openapi-{digest}.json"


def _generate(kinds: list["Kind"]) -> dict[str, dict]:
    import kubernetes.client as client
    from pydantic.json_schema import models_json_schema

    tops: list[tuple[str, "Kind | None", str]] = []  # (client class, kind, group)
    for kind in kinds:
        name = CLIENT_CLASSES.get(kind.kind, "V1" + kind.kind)
        if hasattr(client, name):
            tops.append((name, kind, kind.group))
    tops.extend((name, None, group) for name, group, _ in SUBRESOURCE_KINDS)
    models = [(getattr(client, name), "validation") for name, _, _ in tops]
    _, schema = models_json_schema(models, by_alias=True, ref_template="#/$defs/{model}")
    defs = schema.get("$defs", {})
    # each type's package: meta/v1 types by name, core's closure first, then each group's own
    owner: dict[str, str] = {}
    for name in defs:
        if _type_name(name) in META_TYPES:
            owner[name] = META
    for name, _, group in sorted(tops, key=lambda t: t[2] != ""):  # other groups embed core types
        for reached in _closure(name, defs):
            owner.setdefault(reached, PACKAGES[group])
    refs = {name: f"{owner.get(name, PACKAGES[''])}.{_type_name(name)}" for name in defs}
    out = {refs[name]: _clean(body, refs) for name, body in defs.items()}
    for name, kind, group in tops:
        versions = kind.versions if kind is not None else ("v1",)
        out[refs[name]]["x-kubernetes-group-version-kind"] = [
            {"group": group, "kind": _type_name(name), "version": v} for v in versions]
    out[INT_OR_STRING] = dict(INT_OR_STRING_SCHEMA)
    return out


def _closure(name: str, defs: dict) -> list[str]:
    seen, todo = [], [name]
    while todo:
        current = todo.pop()
        if current in seen or current not in defs:
            continue
        seen.append(current)
        todo.extend(re.findall(r'"#/\$defs/([A-Za-z0-9_]+)"', json.dumps(defs[current])))
    return seen


def _referenced(schemas: dict[str, dict], roots: list[str]) -> dict[str, dict]:
    """The schemas reachable from roots (one document holds what its kinds use)."""
    keep, todo = {}, list(roots)
    while todo:
        name = todo.pop()
        if name in keep or name not in schemas:
            continue
        keep[name] = schemas[name]
        todo.extend(re.findall(r'"#/components/schemas/([^"]+)"', json.dumps(schemas[name])))
    return keep


# -- custom resources, as apiextensions-apiserver's builder publishes them ---------------------------
def crd_schema(kind: "Kind", version: str, meta_descriptions: dict[str, str]) -> tuple[str, dict]:
    group = ".".join(reversed(kind.group.split(".")))
    name = f"{group}.{version}.{kind.kind}"  # gvkToModelName
    body = copy.deepcopy(kind.schemas.get(version) or {"type": "object"})
    body.setdefault("type", "object")
    props = body.setdefault("properties", {})
    props["metadata"] = {"allOf": [{"$ref": f"#/components/schemas/{META}.ObjectMeta"}],
                         "description": meta_descriptions.get("metadata", "")}
    props["apiVersion"] = {"type": "string", "description": meta_descriptions.get("apiVersion", "")}
    props["kind"] = {"type": "string", "description": meta_descriptions.get("kind", "")}
    body["x-kubernetes-group-version-kind"] = [{"group": kind.group, "kind": kind.kind, "version": version}]
    return name, body


def _meta_descriptions(schemas: dict[str, dict]) -> dict[str, str]:
    """TypeMeta's and PartialObjectMetadata's field descriptions (the builder's typeMetaType)."""
    for body in schemas.values():
        props = body.get("properties") or {}
        if {"apiVersion", "kind", "metadata"} <= set(props):
            return {k: props[k].get("description", "") for k in ("apiVersion", "kind", "metadata")}
    return {}


# -- documents -------------------------------------------------------------------------------------
def _paths(cluster: "Cluster", group: str, version: str) -> dict:
    paths = {}
    prefix = "/" + _gv_key(group, version)
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
    return paths


def group_version(cluster: "Cluster", key: str) -> dict | None:
    match = next(((g, v) for g, v in _group_versions(cluster) if _gv_key(g, v) == key), None)
    if match is None:
        return None
    group, version = match
    kinds = [k for k in cluster.kinds.all() if k.group == group and version in k.versions]
    builtins = builtin_schemas([k for k in cluster.kinds.all() if not k.schemas])
    roots, schemas = [], dict(builtins)
    for kind in kinds:
        if kind.schemas:
            name, body = crd_schema(kind, version, _meta_descriptions(builtins))
            schemas[name] = body
            roots.append(name)
        else:
            roots.extend(n for n, body in builtins.items()
                         if {"group": group, "kind": kind.kind, "version": version}
                         in body.get("x-kubernetes-group-version-kind", []))
    roots.extend(f"{PACKAGES[type_group]}.{_type_name(name)}" for name, type_group, doc in SUBRESOURCE_KINDS
                 if doc == group and version == "v1")
    return {"openapi": "3.0.0", "info": {"title": "Kubernetes", "version": "v1.33.1"},
            "paths": _paths(cluster, group, version),
            "components": {"schemas": dict(sorted(_referenced(schemas, roots).items()))}}


def index(cluster: "Cluster") -> dict:
    """The documents and their hashes; a hash covers what the document is made from (the
    kinds and their schemas), so it changes when a CRD does, without building every document."""
    paths = {}
    for group, version in _group_versions(cluster):
        key = _gv_key(group, version)
        kinds = [(k.kind, k.plural, k.namespaced, k.schemas.get(version)) for k in cluster.kinds.all()
                 if k.group == group and version in k.versions]
        digest = hashlib.sha512(json.dumps(kinds, sort_keys=True, default=str).encode()).hexdigest()[:32].upper()
        paths[key] = {"serverRelativeURL": f"/openapi/v3/{key}?hash={digest}"}
    return {"paths": paths}


def warm(cluster: "Cluster") -> None:
    """Build the built-in schemas in the background, once per process, so the first
    document request does not wait for them."""
    kinds = [k for k in cluster.kinds.all() if not k.schemas]
    threading.Thread(target=builtin_schemas, args=(kinds,), daemon=True, name="openapi-schemas").start()
