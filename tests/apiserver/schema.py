"""Structural schemas: pruning of unknown fields and OpenAPI v3 validation.

Custom resources are checked against their CRD's `openAPIV3Schema` as
apiextensions-apiserver does: unknown fields are pruned (or rejected under
fieldValidation=Strict), then types, enums and required fields are
validated, each failure a field error with the server's wording. Built-in
kinds use the compact schemas in `builtin_schemas.py` for pruning only.
"""
from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from .errors import Cause

if TYPE_CHECKING:  # pragma: no cover
    from .kinds import Kind

META_FIELDS = {"name", "generateName", "namespace", "uid", "resourceVersion", "generation",
               "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "labels",
               "annotations", "ownerReferences", "finalizers", "managedFields", "selfLink"}


def _schema_for(kind: "Kind", version: str) -> dict | None:
    if kind.schemas:
        return kind.schemas.get(version) or None
    from .builtin_schemas import SCHEMAS
    return SCHEMAS.get(kind.kind)


def prune(kind: "Kind", version: str, obj: dict) -> list[str]:
    """Drop fields the schema does not declare; return their paths (`spec.foo`)."""
    schema = _schema_for(kind, version)
    unknown: list[str] = []
    meta = obj.get("metadata")
    if isinstance(meta, dict):
        for key in list(meta):
            if key not in META_FIELDS:
                unknown.append(f"metadata.{key}")
                del meta[key]
    if schema is None:
        return unknown
    for key in list(obj):
        if key in ("apiVersion", "kind", "metadata"):
            continue
        props = schema.get("properties") or {}
        if key not in props and not schema.get("x-kubernetes-preserve-unknown-fields"):
            unknown.append(key)
            del obj[key]
        elif key in props:
            _prune(obj[key], props[key], key, unknown)
    return unknown


def _prune(value: Any, schema: dict, path: str, unknown: list[str]) -> None:
    if schema.get("x-kubernetes-preserve-unknown-fields") and not schema.get("properties"):
        return
    if isinstance(value, dict):
        props = schema.get("properties")
        extra = schema.get("additionalProperties")
        if props is None and extra is None:
            return
        for key in list(value):
            if props is not None and key in props:
                _prune(value[key], props[key], f"{path}.{key}", unknown)
            elif isinstance(extra, dict):
                _prune(value[key], extra, f"{path}.{key}", unknown)
            elif extra is True or schema.get("x-kubernetes-preserve-unknown-fields"):
                continue
            else:
                unknown.append(f"{path}.{key}")
                del value[key]
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for i, item in enumerate(value):
            _prune(item, schema["items"], f"{path}[{i}]", unknown)


_JSON_TYPES = {"string": str, "boolean": bool, "object": dict, "array": list}


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _quote(value: Any) -> str:
    return json.dumps(value) if isinstance(value, str) else str(value)


def validate(value: Any, schema: dict, path: str) -> list[Cause]:
    """OpenAPI v3 validation with kube-openapi's messages."""
    causes: list[Cause] = []
    _validate(value, schema, path, causes)
    return causes


def _validate(value: Any, schema: dict, path: str, causes: list[Cause]) -> None:
    if value is None:
        if not schema.get("nullable") and schema.get("type"):
            causes.append(Cause("FieldValueTypeInvalid",
                                f'Invalid value: "null": {path} in body must be of type '
                                f'{schema["type"]}: "null"', path))
        return
    want = schema.get("type")
    if schema.get("x-kubernetes-int-or-string"):
        if not isinstance(value, (int, str)) or isinstance(value, bool):
            causes.append(Cause("FieldValueTypeInvalid", f'Invalid value: "{_type_name(value)}": '
                                f'{path} in body must be of type integer,string: "{_type_name(value)}"', path))
        return
    if want:
        got = _type_name(value)
        ok = (got == want or (want == "number" and got == "integer"))
        if not ok:
            causes.append(Cause("FieldValueTypeInvalid", f'Invalid value: "{got}": {path} in body '
                                f'must be of type {want}: "{got}"', path))
            return
    if "enum" in schema and value not in schema["enum"]:
        supported = ", ".join(_quote(v) for v in schema["enum"])
        causes.append(Cause("FieldValueNotSupported",
                            f"Unsupported value: {_quote(value)}: supported values: {supported}", path))
    if isinstance(value, str):
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            causes.append(Cause("FieldValueTooLong", f"Too long: may not be more than "
                                f"{schema['maxLength']} bytes", path))
        if "minLength" in schema and len(value) < schema["minLength"]:
            causes.append(Cause("FieldValueInvalid", f'Invalid value: {_quote(value)}: {path} in body '
                                f'should be at least {schema["minLength"]} chars long', path))
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if "maximum" in schema and value > schema["maximum"]:
            causes.append(Cause("FieldValueInvalid", f"Invalid value: {value}: {path} in body "
                                f"should be less than or equal to {schema['maximum']}", path))
        if "minimum" in schema and value < schema["minimum"]:
            causes.append(Cause("FieldValueInvalid", f"Invalid value: {value}: {path} in body "
                                f"should be greater than or equal to {schema['minimum']}", path))
    if isinstance(value, dict):
        for req in schema.get("required") or []:
            if req not in value:
                causes.append(Cause("FieldValueRequired", "Required value", f"{path}.{req}"))
        props = schema.get("properties") or {}
        extra = schema.get("additionalProperties")
        for key, item in value.items():
            if key in props:
                _validate(item, props[key], f"{path}.{key}", causes)
            elif isinstance(extra, dict):
                _validate(item, extra, f"{path}.{key}", causes)
    if isinstance(value, list):
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            causes.append(Cause("FieldValueTooMany", f"Too many: {len(value)}: must have at most "
                                f"{schema['maxItems']} items", path))
        items = schema.get("items")
        if isinstance(items, dict):
            for i, item in enumerate(value):
                _validate(item, items, f"{path}[{i}]", causes)
