"""Label and field selectors, parsed the way apimachinery's `labels.Parse` does.

Grammar (k8s.io/apimachinery/pkg/labels/selector.go):
    selector    = requirement ("," requirement)*
    requirement = key ("=" | "==" | "!=") value
                | key ("in" | "notin") "(" value ("," value)* ")"
                | key | "!" key
                | key (">" | "<") integer
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Mapping

from .errors import bad_request

_KEY = re.compile(r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
                  r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")
_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
_TOKEN = re.compile(r"\s*(!=|==|=|!|\(|\)|,|>|<|[^\s!=(),<>]+)")


@dataclass(frozen=True)
class Requirement:
    key: str
    op: str  # "=", "!=", "in", "notin", "exists", "!", "gt", "lt"
    values: tuple[str, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        has = self.key in labels
        value = labels.get(self.key)
        if self.op == "=":
            return has and value == self.values[0]
        if self.op == "!=":
            return not has or value != self.values[0]
        if self.op == "in":
            return has and value in self.values
        if self.op == "notin":
            return not has or value not in self.values
        if self.op == "exists":
            return has
        if self.op == "!":
            return not has
        if not has:
            return False
        try:
            number = int(value or "")
        except ValueError:
            return False
        bound = int(self.values[0])
        return number > bound if self.op == "gt" else number < bound


def _tokens(text: str) -> list[str]:
    out, pos = [], 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match:
            break
        if match.group(1):
            out.append(match.group(1))
        pos = match.end()
    return out


def _check_key(key: str, selector: str) -> None:
    if not _KEY.match(key) or len(key.split("/")[-1]) > 63:
        raise bad_request(f"unable to parse requirement: invalid label key \"{key}\": "
                          "name part must consist of alphanumeric characters, '-', '_' or '.', "
                          "and must start and end with an alphanumeric character")


def _check_value(value: str) -> None:
    if len(value) > 63 or not _VALUE.match(value):
        raise bad_request(f"unable to parse requirement: values[0][{value}]: Invalid value: "
                          f"\"{value}\": a valid label must be an empty string or consist of "
                          "alphanumeric characters, '-', '_' or '.', and must start and end "
                          "with an alphanumeric character")


def parse_label_selector(text: str) -> list[Requirement]:
    """Parse `-l` syntax into requirements; an empty selector matches everything."""
    toks = _tokens(text or "")
    reqs: list[Requirement] = []
    i = 0

    def expect_value() -> str:
        nonlocal i
        if i < len(toks) and toks[i] not in (",", ")", "("):
            i += 1
            return toks[i - 1]
        return ""

    while i < len(toks):
        tok = toks[i]
        if tok == "!":
            i += 1
            if i >= len(toks):
                raise bad_request("unable to parse requirement: found '', expected: identifier")
            _check_key(toks[i], text)
            reqs.append(Requirement(toks[i], "!"))
            i += 1
        else:
            key = tok
            _check_key(key, text)
            i += 1
            if i >= len(toks) or toks[i] == ",":
                reqs.append(Requirement(key, "exists"))
            elif toks[i] in ("=", "==", "!="):
                op = "!=" if toks[i] == "!=" else "="
                i += 1
                value = expect_value()
                _check_value(value)
                reqs.append(Requirement(key, op, (value,)))
            elif toks[i] in ("in", "notin"):
                op = toks[i]
                i += 1
                if i >= len(toks) or toks[i] != "(":
                    raise bad_request(f"unable to parse requirement: found '{toks[i] if i < len(toks) else ''}', expected: '('")
                i += 1
                values: list[str] = []
                while i < len(toks) and toks[i] != ")":
                    if toks[i] == ",":
                        i += 1
                        continue
                    _check_value(toks[i])
                    values.append(toks[i])
                    i += 1
                if i >= len(toks):
                    raise bad_request("unable to parse requirement: found '', expected: ')'")
                i += 1
                reqs.append(Requirement(key, op, tuple(values)))
            elif toks[i] in (">", "<"):
                op = "gt" if toks[i] == ">" else "lt"
                i += 1
                value = expect_value()
                if not value.lstrip("-").isdigit():
                    raise bad_request(f"unable to parse requirement: for 'Gt', 'Lt' operators, "
                                      f"the value must be an integer")
                reqs.append(Requirement(key, op, (value,)))
            else:
                raise bad_request(f"unable to parse requirement: found '{toks[i]}', expected: "
                                  "'=', '!=', '==', 'in', notin'")
        if i < len(toks):
            if toks[i] != ",":
                raise bad_request(f"unable to parse requirement: found '{toks[i]}', expected: ','")
            i += 1
    return reqs


def labels_match(reqs: list[Requirement], labels: Mapping[str, str] | None) -> bool:
    labels = labels or {}
    return all(r.matches(labels) for r in reqs)


@dataclass(frozen=True)
class FieldRequirement:
    field: str
    op: str  # "=" or "!="
    value: str


def parse_field_selector(text: str, supported: Mapping[str, Callable[[dict], str]],
                         resource: str) -> list[FieldRequirement]:
    """Parse `--field-selector`; unknown fields are a 400 as on a real server."""
    out: list[FieldRequirement] = []
    for part in filter(None, (p.strip() for p in (text or "").split(","))):
        match = re.match(r"^([^=!]+)(==|=|!=)(.*)$", part)
        if not match:
            raise bad_request(f"invalid selector: '{text}'; can't understand '{part}'")
        field, op, value = match.group(1), match.group(2), match.group(3)
        if field not in supported:
            raise bad_request(f"field label not supported: {field}")
        out.append(FieldRequirement(field, "!=" if op == "!=" else "=", value))
    return out


def fields_match(reqs: list[FieldRequirement], obj: dict,
                 supported: Mapping[str, Callable[[dict], str]]) -> bool:
    for req in reqs:
        actual = supported[req.field](obj)
        if (actual == req.value) != (req.op == "="):
            return False
    return True


def selector_string(selector: Mapping | None) -> str:
    """A LabelSelector as metav1.LabelSelectorAsSelector(...).String() writes it: requirements
    sorted by key, `k=v`, `k in (a,b)`, `k notin (a,b)`, `k`, `!k` (values sorted)."""
    reqs: list[tuple[str, str]] = []
    for key, value in sorted(((selector or {}).get("matchLabels") or {}).items()):
        reqs.append((key, f"{key}={value}"))
    for expr in (selector or {}).get("matchExpressions") or []:
        key, op, values = expr.get("key", ""), expr.get("operator", ""), sorted(expr.get("values") or [])
        text = {"In": f"{key} in ({','.join(values)})", "NotIn": f"{key} notin ({','.join(values)})",
                "Exists": key, "DoesNotExist": f"!{key}"}.get(op, "")
        reqs.append((key, text))
    return ",".join(text for _, text in sorted(reqs, key=lambda r: r[0]))
