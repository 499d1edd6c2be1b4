"""The three patch types kube-apiserver accepts.

- JSON merge patch (RFC 7386): `application/merge-patch+json`.
- JSON patch (RFC 6902): `application/json-patch+json`.
- Strategic merge patch: `application/strategic-merge-patch+json`, built-in
  kinds only; lists with a merge key merge item by item, the rest replace.
  `kubectl apply` sends it with `$setElementOrder` and `$patch` directives.
"""
from __future__ import annotations

import copy
from typing import Any

from .errors import APIError, bad_request

# patchMergeKey of list fields with patchStrategy "merge", by field path
# (k8s.io/api struct tags). Paths are dotted, list items skipped.
MERGE_KEYS: dict[str, dict[str, str]] = {
    "Service": {"spec.ports": "port", "metadata.ownerReferences": "uid"},
    "Pod": {"spec.containers": "name", "spec.initContainers": "name", "spec.volumes": "name",
            "spec.ephemeralContainers": "name", "spec.ephemeralContainers.env": "name",
            "spec.containers.env": "name", "spec.initContainers.env": "name",
            "spec.containers.ports": "containerPort", "spec.containers.volumeMounts": "mountPath",
            "spec.imagePullSecrets": "name", "metadata.ownerReferences": "uid",
            "status.conditions": "type"},
    "Deployment": {"spec.template.spec.containers": "name",
                   "spec.template.spec.initContainers": "name",
                   "spec.template.spec.volumes": "name",
                   "spec.template.spec.containers.env": "name",
                   "spec.template.spec.containers.ports": "containerPort",
                   "spec.template.spec.containers.volumeMounts": "mountPath",
                   "status.conditions": "type", "metadata.ownerReferences": "uid"},
    "Namespace": {"metadata.ownerReferences": "uid", "status.conditions": "type"},
}
# fields whose patchStrategy is "merge" for primitive lists (union of values)
MERGE_PRIMITIVES: dict[str, set[str]] = {
    "*": {"metadata.finalizers"},
}


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def _pointer(path: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise bad_request(f'the server rejected our request due to an error in our request')
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _walk(doc: Any, parts: list[str]) -> Any:
    for part in parts:
        if isinstance(doc, dict):
            if part not in doc:
                raise KeyError(part)
            doc = doc[part]
        elif isinstance(doc, list):
            doc = doc[int(part)]
        else:
            raise KeyError(part)
    return doc


def json_patch(doc: Any, ops: Any) -> Any:
    """RFC 6902, with kube-apiserver's error wording for failed operations."""
    if not isinstance(ops, list):
        raise bad_request("json: cannot unmarshal object into Go value of type jsonpatch.Patch")
    doc = copy.deepcopy(doc)
    for op in ops:
        kind = op.get("op")
        parts = _pointer(op.get("path", ""))
        try:
            if kind in ("add", "replace", "test"):
                value = copy.deepcopy(op.get("value"))
            if kind == "test":
                if _walk(doc, parts) != value:
                    raise APIError(422, "Invalid", "the server rejected our request due to an "
                                   f"error in our request: testing value {op.get('path')} failed")
                continue
            if kind in ("move", "copy"):
                src = _pointer(op.get("from", ""))
                value = copy.deepcopy(_walk(doc, src))
                if kind == "move":
                    _remove(doc, src)
                doc = _add(doc, parts, value)
                continue
            if kind == "add":
                doc = _add(doc, parts, value)
            elif kind == "remove":
                _remove(doc, parts)
            elif kind == "replace":
                _walk(doc, parts)  # must exist
                _remove(doc, parts)
                doc = _add(doc, parts, value)
            else:
                raise bad_request(f"Unexpected kind: {kind}")
        except (KeyError, IndexError, ValueError, TypeError):
            reason = "doc is missing path" if kind != "remove" else "unable to remove nonexistent key"
            raise APIError(422, "Invalid", f"the server rejected our request due to an error in "
                           f'our request: {reason}: "{op.get("path")}": missing value')
    return doc


def _add(doc: Any, parts: list[str], value: Any) -> Any:
    if not parts:
        return value
    parent = _walk(doc, parts[:-1])
    last = parts[-1]
    if isinstance(parent, dict):
        parent[last] = value
    elif isinstance(parent, list):
        if last == "-":
            parent.append(value)
        else:
            index = int(last)
            if index > len(parent):
                raise IndexError(last)
            parent.insert(index, value)
    else:
        raise KeyError(last)
    return doc


def _remove(doc: Any, parts: list[str]) -> None:
    parent = _walk(doc, parts[:-1])
    if isinstance(parent, dict):
        del parent[parts[-1]]
    else:
        del parent[int(parts[-1])]


def strategic_merge_patch(original: dict, patch: dict, kind: str) -> dict:
    """Strategic merge for the built-in kinds this server knows."""
    if not isinstance(patch, dict):
        raise bad_request("json: cannot unmarshal array into Go value of type map[string]interface {}")
    keys = MERGE_KEYS.get(kind, {})
    return _smp(copy.deepcopy(original), patch, "", keys)


def _smp(original: Any, patch: dict, path: str, keys: dict[str, str]) -> Any:
    if not isinstance(original, dict):
        original = {}
    if patch.get("$patch") == "replace":
        return {k: v for k, v in patch.items() if k != "$patch"}
    if patch.get("$patch") == "delete":
        return None
    retain = patch.get("$retainKeys")
    for key, value in patch.items():
        if key.startswith("$setElementOrder/") or key in ("$patch", "$retainKeys"):
            continue
        if key.startswith("$deleteFromPrimitiveList/"):
            field = key.split("/", 1)[1]
            original[field] = [v for v in original.get(field) or [] if v not in value]
            continue
        sub = f"{path}.{key}" if path else key
        if value is None:
            original.pop(key, None)
        elif isinstance(value, dict):
            merged = _smp(original.get(key), value, sub, keys)
            if merged is None:
                original.pop(key, None)
            else:
                original[key] = merged
        elif isinstance(value, list) and sub in keys:
            original[key] = _merge_list(original.get(key) or [], value, keys[sub], sub, keys,
                                        patch.get(f"$setElementOrder/{key}"))
        elif isinstance(value, list) and sub in MERGE_PRIMITIVES["*"]:
            current = list(original.get(key) or [])
            original[key] = current + [v for v in value if v not in current]
        else:
            original[key] = copy.deepcopy(value)
    if isinstance(retain, list):
        for key in list(original):
            if key not in retain:
                del original[key]
    return original


def _merge_list(current: list, patch: list, merge_key: str, path: str, keys: dict[str, str],
                order: list | None) -> list:
    result = [copy.deepcopy(item) for item in current]
    for item in patch:
        if not isinstance(item, dict):
            raise bad_request(f"unable to find api field in struct for the patch list item {item!r}")
        if item.get("$patch") == "replace":
            return [i for i in patch if i.get("$patch") != "replace"]
        ident = item.get(merge_key)
        index = next((i for i, cur in enumerate(result) if cur.get(merge_key) == ident), None)
        if item.get("$patch") == "delete":
            if index is not None:
                result.pop(index)
            continue
        if index is None:
            result.append({k: v for k, v in item.items() if not k.startswith("$")})
        else:
            result[index] = _smp(result[index], item, path, keys)
    if order:
        rank = {o.get(merge_key): i for i, o in enumerate(order) if isinstance(o, dict)}
        result.sort(key=lambda x: rank.get(x.get(merge_key), len(rank)))
    return result
