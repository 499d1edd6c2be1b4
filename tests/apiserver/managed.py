"""Server-side field management: `metadata.managedFields` as kube-apiserver writes them.

Pure functions, no I/O. This is the field manager of
kubernetes/kubernetes staging/src/k8s.io/apimachinery/pkg/util/managedfields/internal
(fieldmanager.go, skipnonapplied.go, capmanagers.go, buildmanagerinfo.go,
managedfieldsupdater.go, stripmeta.go, structuredmerge.go, managedfields.go) over the
set algebra of kubernetes-sigs/structured-merge-diff (typed/compare.go,
typed/tofieldset.go, merge/update.go, fieldpath/serialize.go, fieldpath/element.go),
reduced to what a single-version, no-conversion server needs:

- `manager_name` / `validate_field_manager`: the manager of a request, from the
  `fieldManager` query parameter or the User-Agent (apiserver endpoints/handlers/rest.go
  managerOrUserAgent, apimachinery meta/v1/validation ValidateFieldManager).
- `object_type`: a structured-merge-diff type from an OpenAPI v3 schema
  (kube-openapi schemaconv: lists are atomic unless `x-kubernetes-list-type` says
  set or map; maps are granular unless `x-kubernetes-map-type: atomic`; fields the
  schema does not declare are "deduced": maps granular, lists atomic).
- `compare`, `to_field_set`: typed.Compare and typed.ToFieldSet.
- `track`: the new managedFields of an object after a create, update, patch or
  apply, from the live object, the new one and the request's manager.

Server-side apply here records ownership only: the object itself is merged by
the caller (the local server uses a JSON merge patch), there is no pruning of
fields a manager stopped applying, and there is no conflict detection (every
apply behaves as `force=true`: other managers silently lose the fields the
applier changes). The last-applied annotation bridge for kubectl
(lastappliedmanager.go, lastappliedupdater.go) is not modelled either.
"""
from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Iterable

FIELD_MANAGER_MAX_LENGTH = 128  # meta/v1/validation FieldManagerMaxLength
MAX_UPDATE_MANAGERS = 10  # fieldmanager.go DefaultMaxUpdateManagers
ANCIENT_CHANGES = "ancient-changes"  # capmanagers.go oldUpdatesManagerName
BEFORE_FIRST_APPLY = "before-first-apply"  # skipnonapplied.go beforeApplyManagerName

MISSING: Any = type("Missing", (), {"__repr__": lambda self: "MISSING"})()
"""A key absent from its parent (Go: a nil value.Value), unlike None (JSON null)."""


class ManagedFieldsError(ValueError):
    """managedFields that do not decode, or an object the type does not fit."""


# -- manager names ------------------------------------------------------------------
def _printable(ch: str) -> bool:
    """Go's unicode.IsPrint: letters, marks, numbers, punctuation, symbols and ASCII space."""
    return ch == " " or unicodedata.category(ch)[0] in "LMNPS"


def manager_from_user_agent(user_agent: str) -> str:
    """prefixFromUserAgent: what precedes the first '/', printable characters only, at most
    128 bytes (kubectl/v1.32.4 (linux/amd64) kubernetes/... -> kubectl)."""
    out, size = [], 0
    for ch in user_agent.split("/")[0]:
        if not _printable(ch):
            continue
        n = len(ch.encode())
        if size + n > FIELD_MANAGER_MAX_LENGTH:
            break
        out.append(ch)
        size += n
    return "".join(out)


def manager_name(field_manager: str, user_agent: str) -> str:
    """managerOrUserAgent, then buildManagerInfo's fallback: an empty name is "unknown"."""
    return field_manager or manager_from_user_agent(user_agent) or "unknown"


def validate_field_manager(name: str) -> list[tuple[str, str]]:
    """ValidateFieldManager: (cause reason, message) for field `fieldManager`."""
    causes = []
    if len(name.encode()) > FIELD_MANAGER_MAX_LENGTH:
        # field.TooLong since kubernetes#128553 (1.33): "may not be more than N bytes"
        causes.append(("FieldValueTooLong", f"Too long: may not be more than {FIELD_MANAGER_MAX_LENGTH} bytes"))
    for i, ch in enumerate(name):
        if not _printable(ch):
            position = len(name[:i].encode())  # Go ranges over bytes offsets
            causes.append(("FieldValueInvalid", f"Invalid value: {_go_quote(name)}: invalid character "
                                                f"U+{ord(ch):04X} (at position {position})"))
    return causes


def _go_quote(text: str) -> str:
    """strconv.Quote, enough for error messages."""
    out = ['"']
    for ch in text:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\r":
            out.append("\\r")
        elif not _printable(ch):
            code = ord(ch)
            out.append(f"\\x{code:02x}" if code < 0x80 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}")
        else:
            out.append(ch)
    return "".join(out) + '"'


# -- types ----------------------------------------------------------------------------
@dataclass(eq=False)
class Type:
    """A structured-merge-diff atom: "map" (struct or map), "list", "leaf" or "deduced"."""

    kind: str
    fields: dict[str, "Type"] = field(default_factory=dict)  # map: declared fields
    elem: "Type | None" = None  # map: undeclared keys (None: deduced); list: items
    atomic: bool = False  # map: x-kubernetes-map-type atomic
    rel: str = "atomic"  # list: atomic, set or map
    keys: tuple[str, ...] = ()  # list: x-kubernetes-list-map-keys
    key_defaults: dict[str, Any] = field(default_factory=dict)  # list: defaults of key fields
    # map/deduced: keys it does not declare are struct fields left undescribed (a built-in's
    # compact schema), not map entries; matters to to_field_set only (entries are members)
    loose: bool = False


LEAF = Type("leaf")
DEDUCED = Type("deduced")  # __untyped_deduced_: maps granular, lists atomic, scalars leaves
LOOSE = Type("deduced", loose=True)  # an undescribed part of a built-in type


def from_openapi(schema: dict | None, loose: bool = False) -> Type:
    """The structured-merge-diff type of an OpenAPI v3 schema (CRD or built-in dialect).
    loose: a partial schema (builtin_schemas.py) whose undeclared object keys are fields."""
    if not isinstance(schema, dict) or not schema:
        return LOOSE if loose else DEDUCED
    if schema.get("x-kubernetes-int-or-string"):
        return LEAF  # untyped atomic
    kind = schema.get("type")
    if kind == "array" or "items" in schema:
        elem = from_openapi(schema.get("items"), loose)
        list_type = schema.get("x-kubernetes-list-type", "atomic")
        if list_type == "map":
            keys = tuple(schema.get("x-kubernetes-list-map-keys") or ())
            defaults = {k: elem.fields[k].key_defaults["default"] for k in keys
                        if k in elem.fields and "default" in elem.fields[k].key_defaults}
            return Type("list", elem=elem, rel="map", keys=keys, key_defaults=defaults)
        return Type("list", elem=elem, rel="set" if list_type == "set" else "atomic")
    props = schema.get("properties")
    extra = schema.get("additionalProperties")
    if kind == "object" or props is not None or extra is not None or \
            schema.get("x-kubernetes-preserve-unknown-fields"):
        fields = {name: from_openapi(sub, loose) for name, sub in (props or {}).items()}
        elem = from_openapi(extra, loose) if isinstance(extra, dict) and extra else None
        is_map = extra is not None and extra is not False
        return Type("map", fields=fields, elem=elem, atomic=schema.get("x-kubernetes-map-type") == "atomic",
                    loose=loose and not is_map)
    if kind in ("string", "integer", "number", "boolean"):
        leaf = Type("leaf")
        if "default" in schema:
            leaf.key_defaults = {"default": schema["default"]}
        return leaf
    return LOOSE if loose else DEDUCED


def object_type(schema: dict | None, meta_schema: dict | None = None, loose: bool = False) -> Type:
    """The type of a whole object: its schema, with ObjectMeta for `metadata`."""
    t = from_openapi(schema or {"type": "object"}, loose)
    if t.kind != "map":
        t = Type("map", loose=loose)
    t = Type("map", fields=dict(t.fields), elem=t.elem, loose=t.loose)
    t.fields["apiVersion"] = LEAF
    t.fields["kind"] = LEAF
    if meta_schema is not None:
        t.fields["metadata"] = from_openapi(meta_schema, True)
    return t


def _child(t: Type, key: str) -> Type:
    return t.fields.get(key) or t.elem or (LOOSE if t.loose else DEDUCED)


def _shape(t: Type, value: Any) -> str:
    """How a value is walked under t: map, list or leaf."""
    if t.kind == "leaf":
        return "leaf"
    if t.kind == "deduced":
        return "map" if isinstance(value, dict) else "leaf"  # deduced lists are atomic leaves
    return t.kind


# -- path elements and sets ---------------------------------------------------------------
def go_json(value: Any) -> str:
    """JSON as jsoniter's ConfigCompatibleWithStandardLibrary writes it (sorted keys, compact,
    HTML-escaped), for `k:` and `v:` path elements."""
    text = json.dumps(value, separators=(",", ":"), sort_keys=True, ensure_ascii=False)
    return (text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


@dataclass(frozen=True)
class PE:
    """A fieldpath.PathElement: f:<name>, k:<json object>, v:<json value> or i:<index>."""

    type: str
    text: str

    def __str__(self) -> str:
        return f"{self.type}:{self.text}"

    def sort_key(self) -> tuple:
        """PathElement.Compare: fields < keys < values < indexes."""
        if self.type == "f":
            return (0, self.text)
        if self.type == "k":
            return (1, tuple((name, _value_key(v)) for name, v in json.loads(self.text).items()))
        if self.type == "v":
            return (2, _value_key(json.loads(self.text)))
        return (3, int(self.text))


def field_pe(name: str) -> PE:
    return PE("f", name)


def _value_key(value: Any) -> tuple:
    """value.Compare: numbers < strings < booleans < lists < maps < null."""
    if isinstance(value, bool):
        return (2, value)
    if isinstance(value, (int, float)):
        return (0, value)
    if isinstance(value, str):
        return (1, value)
    if isinstance(value, list):
        return (3, tuple(_value_key(v) for v in value))
    if isinstance(value, dict):
        return (4, tuple((k, _value_key(value[k])) for k in sorted(value)))
    return (5,)


def parse_pe(text: str) -> PE | None:
    """DeserializePathElement; None for a type this version does not know (ignored)."""
    if len(text) < 2:
        raise ManagedFieldsError("key must be 2 characters long")
    if text[1] != ":":
        raise ManagedFieldsError(f"missing colon: {text}")
    kind, body = text[0], text[2:]
    if kind == "f":
        return PE("f", body)
    if kind in "kv":
        try:
            value = json.loads(body)
        except ValueError as err:
            raise ManagedFieldsError(f"parsing key as path element: {err}") from None
        if kind == "k":
            if not isinstance(value, dict):
                raise ManagedFieldsError(f"parsing key as path element: {text}")
            return PE("k", go_json(value))
        return PE("v", go_json(value))
    if kind == "i":
        try:
            return PE("i", str(int(body)))
        except ValueError:
            raise ManagedFieldsError(f"parsing key as path element: {text}") from None
    return None


class FieldSet:
    """fieldpath.Set: members (leaf paths) and children (sub-sets) by path element."""

    __slots__ = ("members", "children")

    def __init__(self) -> None:
        self.members: set[PE] = set()
        self.children: dict[PE, FieldSet] = {}

    @classmethod
    def of(cls, *paths: Iterable[PE]) -> "FieldSet":
        s = cls()
        for path in paths:
            s.insert(list(path))
        return s

    @classmethod
    def from_paths(cls, *dotted: str) -> "FieldSet":
        """FieldSet.from_paths("status", "metadata.name"): field paths only."""
        return cls.of(*([field_pe(p) for p in d.split(".")] for d in dotted))

    def insert(self, path: list[PE]) -> None:
        if not path:
            return
        node = self
        for pe in path[:-1]:
            node = node.children.setdefault(pe, FieldSet())
        node.members.add(path[-1])

    def empty(self) -> bool:
        return not self.members and all(c.empty() for c in self.children.values())

    def copy(self) -> "FieldSet":
        out = FieldSet()
        out.members = set(self.members)
        out.children = {pe: c.copy() for pe, c in self.children.items()}
        return out

    def union(self, other: "FieldSet") -> "FieldSet":
        out = FieldSet()
        out.members = self.members | other.members
        for pe in self.children.keys() | other.children.keys():
            a, b = self.children.get(pe), other.children.get(pe)
            out.children[pe] = a.union(b) if a is not None and b is not None else (a or b).copy()
        return out

    def difference(self, other: "FieldSet") -> "FieldSet":
        """Set.Difference: paths of self that are not paths of other (children by children)."""
        out = FieldSet()
        out.members = self.members - other.members
        for pe, child in self.children.items():
            sub = child.difference(other.children[pe]) if pe in other.children else child.copy()
            if not sub.empty():
                out.children[pe] = sub
        return out

    def recursive_difference(self, other: "FieldSet") -> "FieldSet":
        """Set.RecursiveDifference: also drops everything under a member of other."""
        out = FieldSet()
        out.members = self.members - other.members
        for pe, child in self.children.items():
            if pe in other.members:
                continue
            sub = child.recursive_difference(other.children[pe]) if pe in other.children else child.copy()
            if not sub.empty():
                out.children[pe] = sub
        return out

    def to_fields_v1(self) -> dict:
        """Set.ToJSON: members and children in path-element order; "." (the node itself
        is a member) written after a child's own contents (fieldpath/serialize.go)."""
        out: dict = {}
        for pe in sorted(self.members | self.children.keys(), key=PE.sort_key):
            child = self.children.get(pe)
            if child is None or child.empty():
                if pe in self.members:
                    out[str(pe)] = {}
                continue
            inner = child.to_fields_v1()
            if pe in self.members:
                inner["."] = {}
            out[str(pe)] = inner
        return out

    @classmethod
    def from_fields_v1(cls, doc: Any) -> "FieldSet":
        """Set.FromJSON (readIterV1): `.` marks a member, `{}` a leaf member."""
        if not isinstance(doc, dict):
            raise ManagedFieldsError("fieldsV1 must be a JSON object")
        out = cls()
        for key, value in doc.items():
            if key == ".":
                continue
            pe = parse_pe(key)
            if pe is None:
                continue
            if not isinstance(value, dict):
                raise ManagedFieldsError(f"expected an object for {key}")
            if not value or "." in value:
                out.members.add(pe)
            child = cls.from_fields_v1({k: v for k, v in value.items() if k != "."})
            if not child.empty():
                out.children[pe] = child
        return out

    def __eq__(self, other: object) -> bool:
        return isinstance(other, FieldSet) and self.to_fields_v1() == other.to_fields_v1()

    def __repr__(self) -> str:
        return f"FieldSet({json.dumps(self.to_fields_v1())})"


# stripmeta.go: never part of anybody's managed fields
STRIP = FieldSet.from_paths("apiVersion", "kind", "metadata", "metadata.name", "metadata.namespace",
                            "metadata.creationTimestamp", "metadata.selfLink", "metadata.uid",
                            "metadata.clusterName", "metadata.generation", "metadata.managedFields",
                            "metadata.resourceVersion")


# -- walkers ---------------------------------------------------------------------------------
def _item_pe(t: Type, item: Any) -> PE:
    """listItemToPathElement: k:{keys} for list maps (missing keys from schema defaults),
    v:<value> for sets."""
    if t.rel == "map":
        if not isinstance(item, dict):
            raise ManagedFieldsError("associative list with keys has an element that is not a map")
        keys = {}
        for name in t.keys:
            if name in item:
                keys[name] = item[name]
            elif name in t.key_defaults:
                keys[name] = t.key_defaults[name]
        if not keys:
            raise ManagedFieldsError(f"associative list with keys has an element that omits all key "
                                     f"fields {list(t.keys)!r} (and doesn't have default values for any key fields)")
        return PE("k", go_json(keys))
    if isinstance(item, (dict, list)):
        raise ManagedFieldsError("associative list without keys has an element that's a map or list type")
    return PE("v", go_json(item))


def _index(t: Type, items: Any) -> dict[PE, Any]:
    out: dict[PE, Any] = {}
    for item in items if isinstance(items, list) else []:
        pe = _item_pe(t, item)
        out.setdefault(pe, item)  # compare.go: repeated occurrences are ignored
    return out


def to_field_set(value: Any, t: Type) -> FieldSet:
    """typed.ToFieldSet: every leaf, list item and undeclared map key of value."""
    out = FieldSet()
    _to_set(value, t, [], out)
    return out


def _to_set(value: Any, t: Type, path: list[PE], out: FieldSet) -> None:
    shape = _shape(t, value)
    if shape == "map":
        if t.atomic:
            out.insert(path)
            return
        if not isinstance(value, dict):
            if value is not None and t.kind != "deduced":
                out.insert(path)
            return
        for key, sub in value.items():
            child = path + [field_pe(key)]
            _to_set(sub, _child(t, key), child, out)
            if key not in t.fields and not t.loose:
                out.insert(child)
        return
    if shape == "list":
        if t.rel == "atomic" or not isinstance(value, list):
            if t.rel == "atomic" or value is not None:
                out.insert(path)
            return
        for item in value:
            child = path + [_item_pe(t, item)]
            _to_set(item, t.elem or LOOSE, child, out)
            out.insert(child)
        return
    out.insert(path)


@dataclass
class Comparison:
    """typed.Comparison: fields added, modified and removed from lhs to rhs."""

    added: FieldSet = field(default_factory=FieldSet)
    modified: FieldSet = field(default_factory=FieldSet)
    removed: FieldSet = field(default_factory=FieldSet)

    def exclude(self, fields: FieldSet) -> "Comparison":
        """Comparison.ExcludeFields (the strategy's reset fields)."""
        return Comparison(self.added.recursive_difference(fields), self.modified.recursive_difference(fields),
                          self.removed.recursive_difference(fields))


def _equal(a: Any, b: Any) -> bool:
    """value.Equals: numbers compare numerically, booleans are not numbers."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_equal(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and a == b


def compare(lhs: Any, rhs: Any, t: Type) -> Comparison:
    """typed.Compare: the leaf rule (added when lhs is missing, removed when rhs is, modified
    when both differ) at scalars, atomic lists and maps, and lists or maps empty on both
    sides; the post-item hook (added/removed) at every other map, list and list item.
    A map present in lhs (even empty) that gains entries is therefore not itself added:
    that is why `f:spec` of a built-in kind never carries `.`, and `f:labels` does."""
    c = Comparison()
    _compare(lhs, rhs, t, [], c)
    return c


def _leaf(lhs: Any, rhs: Any, path: list[PE], c: Comparison) -> None:
    if lhs is MISSING:
        c.added.insert(path)
    elif rhs is MISSING:
        c.removed.insert(path)
    elif not _equal(lhs, rhs):
        c.modified.insert(path)


def _post(lhs: Any, rhs: Any, path: list[PE], c: Comparison) -> None:
    if lhs is MISSING:
        c.added.insert(path)
    elif rhs is MISSING:
        c.removed.insert(path)


def _compare(lhs: Any, rhs: Any, t: Type, path: list[PE], c: Comparison) -> None:
    if lhs is MISSING and rhs is MISSING:
        return
    shapes = {_shape(t, v) for v in (lhs, rhs) if v is not MISSING and v is not None}
    shape = "map" if "map" in shapes else "list" if "list" in shapes else \
        ("leaf" if shapes or t.kind in ("leaf", "deduced") else t.kind)
    if shape == "map":
        lm = lhs if isinstance(lhs, dict) else None
        rm = rhs if isinstance(rhs, dict) else None
        if t.atomic or (not lm and not rm):  # atomic, or emptyPromoteToLeaf
            _leaf(lhs, rhs, path, c)
            return
        for key in list(lm or {}) + [k for k in rm or {} if k not in (lm or {})]:
            _compare((lm or {}).get(key, MISSING), (rm or {}).get(key, MISSING), _child(t, key),
                     path + [field_pe(key)], c)
        if any(v is not MISSING and v is not None and not isinstance(v, dict) for v in (lhs, rhs)):
            _leaf(lhs, rhs, path, c)  # a map on one side, a scalar on the other
        else:
            _post(lhs, rhs, path, c)
        return
    if shape == "list":
        ll = lhs if isinstance(lhs, list) else None
        rl = rhs if isinstance(rhs, list) else None
        if t.rel == "atomic" or (not ll and not rl):
            _leaf(lhs, rhs, path, c)
            return
        left, right = _index(t, ll), _index(t, rl)
        for pe in list(left) + [p for p in right if p not in left]:
            _compare(left.get(pe, MISSING), right.get(pe, MISSING), t.elem or DEDUCED, path + [pe], c)
        _post(lhs, rhs, path, c)
        return
    _leaf(lhs, rhs, path, c)


# -- managers ------------------------------------------------------------------------------
@dataclass
class Entry:
    """One decoded ManagedFieldsEntry."""

    manager: str
    operation: str  # Apply or Update
    api_version: str
    time: str | None
    fields: FieldSet
    subresource: str = ""

    @property
    def ident(self) -> tuple[str, str, str, str]:
        """BuildManagerIdentifier: appliers are one manager whatever the version they apply."""
        return (self.manager, self.operation, "" if self.operation == "Apply" else self.api_version,
                self.subresource)

    def encode(self) -> dict:
        """ManagedFieldsEntry in Go field order: manager, operation, apiVersion, time,
        fieldsType, fieldsV1, subresource."""
        out: dict = {"manager": self.manager, "operation": self.operation, "apiVersion": self.api_version}
        if self.time is not None:
            out["time"] = self.time
        out["fieldsType"] = "FieldsV1"
        out["fieldsV1"] = self.fields.to_fields_v1()
        if self.subresource:
            out["subresource"] = self.subresource
        return out


Managers = dict  # identity (manager, operation, apiVersion of updates, subresource) -> Entry


def _norm_time(value: Any) -> str | None:
    """metav1.Time: RFC 3339, written back in UTC to the second."""
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise ManagedFieldsError("time must be an RFC 3339 string")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ManagedFieldsError(f"parsing time {value!r} as RFC 3339") from None
    if parsed.tzinfo is None:
        raise ManagedFieldsError(f"parsing time {value!r} as RFC 3339")
    return parsed.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _seconds(stamp: str | None) -> int:
    if not stamp:
        return 0
    return int(datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc).timestamp())


def decode(entries: Any) -> Managers:
    """DecodeManagedFields; ManagedFieldsError for what it rejects."""
    if entries is None:
        return {}
    if not isinstance(entries, list):
        raise ManagedFieldsError("managedFields must be a list")
    out: Managers = {}
    for i, raw in enumerate(entries):
        if not isinstance(raw, dict):
            raise ManagedFieldsError(f"managed fields entry {i} is not an object")
        operation = raw.get("operation") or ""
        if operation not in ("Apply", "Update"):
            raise ManagedFieldsError("operation must be `Apply` or `Update`")
        if not raw.get("apiVersion"):
            raise ManagedFieldsError("apiVersion must not be empty")
        fields_type = raw.get("fieldsType") or ""
        if fields_type == "":
            raise ManagedFieldsError(f"missing fieldsType in managed fields entry {i}")
        if fields_type != "FieldsV1":
            raise ManagedFieldsError(f'invalid fieldsType "{fields_type}" in managed fields entry {i}')
        fields_v1 = raw.get("fieldsV1")
        entry = Entry(str(raw.get("manager") or ""), operation, str(raw["apiVersion"]), _norm_time(raw.get("time")),
                      FieldSet.from_fields_v1(fields_v1 if fields_v1 is not None else {}),
                      str(raw.get("subresource") or ""))
        out[entry.ident] = entry
    return out


def encode(managers: Managers) -> list[dict]:
    """encodeManagedFields: sorted by operation (Apply first), time, manager, apiVersion,
    subresource."""
    entries = sorted(managers.values(), key=lambda e: (e.operation, _seconds(e.time), e.manager,
                                                       e.api_version, e.subresource))
    return [e.encode() for e in entries]


def is_reset(entries: Any) -> bool:
    """isResetManagedFields: `[]`, or one entry with every field empty."""
    if not isinstance(entries, list):
        return False
    if not entries:
        return True
    if len(entries) == 1 and isinstance(entries[0], dict):
        return all(v in (None, "") for v in entries[0].values())
    return False


def go_view(obj: Any, zero: dict | None = None, omit_empty: Iterable[str] = ()) -> Any:
    """obj as the field manager sees a built-in kind's Go object: what the empty object always
    has (structs, fields without omitempty) is there, and the `omitempty` maps and lists
    named in omit_empty (dotted paths) are gone when empty."""
    if not isinstance(obj, dict):
        return obj
    out = _fill(obj, zero) if isinstance(zero, dict) else obj
    for dotted in omit_empty:
        *parents, last = dotted.split(".")
        node = out
        for name in parents:
            node = node.get(name) if isinstance(node, dict) else None
        if isinstance(node, dict) and last in node and node[last] in ({}, [], None):
            out = _copy_path(out, parents)
            node = out
            for name in parents:
                node = node[name]
            del node[last]
    return out


def _fill(obj: dict, zero: dict) -> dict:
    out = dict(obj)
    for key, value in zero.items():
        if key not in out:
            out[key] = value
        elif isinstance(value, dict) and isinstance(out[key], dict):
            out[key] = _fill(out[key], value)
    return out


def _copy_path(obj: dict, names: list[str]) -> dict:
    out = dict(obj)
    node = out
    for name in names:
        node[name] = dict(node[name])
        node = node[name]
    return out


def _without_managed_fields(obj: Any) -> Any:
    if not isinstance(obj, dict) or not isinstance(obj.get("metadata"), dict) or \
            "managedFields" not in obj["metadata"]:
        return obj
    meta = {k: v for k, v in obj["metadata"].items() if k != "managedFields"}
    return {**obj, "metadata": meta}


def _remove(managers: Managers, comparison: Comparison, skip: tuple | None) -> None:
    """merge.Updater.update with force: the others lose what changed and what went away."""
    taken = comparison.modified.union(comparison.added)
    for ident in list(managers):
        if ident == skip:
            continue
        entry = managers[ident]
        left = entry.fields.difference(taken).difference(comparison.removed)
        if left.empty():
            del managers[ident]
        else:
            entry.fields = left


def _identifier(ident: tuple[str, str, str, str]) -> str:
    """The JSON manager identifier BuildManagerIdentifier builds (what capmanagers.go sorts by)."""
    manager, operation, api_version, subresource = ident
    doc: dict = {"manager": manager, "operation": operation}
    if api_version:
        doc["apiVersion"] = api_version
    if subresource:
        doc["subresource"] = subresource
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False)


def _cap(managers: Managers, limit: int = MAX_UPDATE_MANAGERS) -> None:
    """capUpdateManagers: the oldest update entries merge into "ancient-changes" per version."""
    updaters = [i for i, e in managers.items() if e.operation == "Update"]
    if len(updaters) <= limit:
        return
    updaters.sort(key=lambda i: (_seconds(managers[i].time), _identifier(i)))
    first_of: dict[str, tuple] = {}
    length = len(updaters)
    for ident in updaters:
        if length <= limit:
            break
        entry = managers[ident]
        version = entry.api_version
        bucket = (ANCIENT_CHANGES, "Update", version, "")
        if version not in first_of:
            first_of[version] = ident
            continue
        if bucket not in managers:
            first = managers.pop(first_of[version])
            managers[bucket] = Entry(ANCIENT_CHANGES, "Update", version, first.time, first.fields)
        merged = managers[bucket]
        merged.fields = entry.fields.union(merged.fields)
        merged.time = entry.time
        del managers[ident]
        length -= 1


def _update(managers: Managers, live: Any, new: Any, t: Type, manager: str, api_version: str,
            subresource: str, now: str, reset: FieldSet) -> None:
    """CapManagers(BuildManagerInfo(ManagedFieldsUpdater(StripMeta(StructuredMerge.Update))))."""
    comparison = compare(live, new, t)
    _remove(managers, comparison.exclude(reset), None)  # every manager but "current-operation"
    taken = comparison.modified.union(comparison.added).difference(comparison.removed)
    taken = taken.recursive_difference(reset).difference(STRIP)
    if not taken.empty():
        ident = (manager, "Update", api_version, subresource)
        previous = managers.get(ident)
        fields = taken.union(previous.fields) if previous is not None else taken
        managers[ident] = Entry(manager, "Update", api_version, now, fields, subresource)
    _cap(managers)


def track(live: dict | None, new: dict, *, manager: str, api_version: str, now: str,
          type_: Type = DEDUCED, zero: dict | None = None, subresource: str = "",
          reset: FieldSet | None = None, applied: dict | None = None,
          omit_empty: Iterable[str] = ()) -> list[dict]:
    """The managedFields of `new` once written over `live` (None for a create).

    new: the object as it will be stored, before the registry's own changes
    (allocations, admission), with the `metadata.managedFields` the client sent.
    zero: the kind's empty object, the "live" object of a create; with omit_empty,
    what makes both objects look as the Go types make them (go_view).
    reset: the strategy's reset fields (status for the main resource of a kind
    with a status subresource), never owned by this request's manager.
    applied: the apply configuration for a server-side apply (operation Apply),
    None for an update (operation Update).

    Raises ManagedFieldsError where kube-apiserver's field manager fails: the
    caller keeps the live managedFields for updates (UpdateNoErrors), and fails
    an apply.
    """
    reset = reset or FieldSet()
    omit_empty = tuple(omit_empty)

    def view(obj: Any) -> Any:
        return go_view(_without_managed_fields(obj if obj is not None else {}), zero, omit_empty)

    live_obj = view(zero if live is None else live)
    live_entries = (live or {}).get("metadata", {}).get("managedFields")
    creating = live is None or not (live.get("metadata") or {}).get("uid")

    def live_managers() -> Managers:
        try:
            return decode(live_entries)
        except ManagedFieldsError:
            return {}

    sent = (new.get("metadata") or {}).get("managedFields", MISSING)
    new_obj = view(new)
    if applied is not None:
        managers = live_managers()
        if not managers and not creating:
            # skipnonapplied.go: the fields that exist before the first apply belong to
            # "before-first-apply", an update from the empty object.
            _update(managers, view(zero), live_obj, type_, BEFORE_FIRST_APPLY,
                    api_version, subresource, now, reset)
        ident = (manager, "Apply", "", subresource)
        previous = managers.get(ident)
        fields = to_field_set(_without_managed_fields(applied), type_).recursive_difference(reset)
        managers[ident] = Entry(manager, "Apply", api_version, previous.time if previous else None, fields,
                                subresource)
        _remove(managers, compare(live_obj, new_obj, type_).exclude(reset), ident)
        stripped = managers[ident].fields.difference(STRIP)
        if stripped.empty():
            del managers[ident]
        else:
            managers[ident].fields = stripped
            if not _equal(live_obj, new_obj):  # managedfieldsupdater.go: time moves on change only
                managers[ident].time = now
        return encode(managers)

    # decodeLiveOrNew
    if subresource:
        managers = live_managers()
    elif is_reset(sent):
        managers = {}
    else:
        try:
            managers = decode(None if sent is MISSING else sent)
        except ManagedFieldsError:
            managers = {}
        if not managers:
            managers = live_managers()
    if not managers and not creating:
        return []  # skipnonapplied.go: an object without managed fields stays untracked
    _update(managers, live_obj, new_obj, type_, manager, api_version, subresource, now, reset)
    return encode(managers)
