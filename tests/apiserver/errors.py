"""`Status` errors as kube-apiserver sends them (apimachinery pkg/api/errors)."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Cause:
    """One entry of `details.causes`: a field error as `field.Error` renders it."""

    reason: str  # FieldValueInvalid, FieldValueRequired, FieldValueNotSupported, ...
    message: str  # the text after the field path, e.g. `Invalid value: 0: must be ...`
    field: str

    def text(self) -> str:
        return f"{self.field}: {self.message}" if self.field else self.message


@dataclass
class APIError(Exception):
    code: int
    reason: str
    message: str
    details: dict = field(default_factory=dict)
    headers: dict = field(default_factory=dict)
    warnings: list = field(default_factory=list)  # Warning headers travel on errors too

    def status(self) -> dict:
        body = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                "message": self.message, "reason": self.reason, "code": self.code}
        if self.details:
            body["details"] = self.details
        return body

    def __str__(self) -> str:
        return f"{self.code} {self.reason}: {self.message}"


def _qualified(resource: str, group: str) -> str:
    return f"{resource}.{group}" if group else resource


def not_found(resource: str, name: str, group: str = "") -> APIError:
    details = {"name": name, "kind": resource}
    if group:
        details["group"] = group
    return APIError(404, "NotFound", f'{_qualified(resource, group)} "{name}" not found', details)


def not_found_path() -> APIError:
    return APIError(404, "NotFound", "the server could not find the requested resource", {})


def already_exists(resource: str, name: str, group: str = "") -> APIError:
    details = {"name": name, "kind": resource}
    if group:
        details["group"] = group
    return APIError(409, "AlreadyExists",
                    f'{_qualified(resource, group)} "{name}" already exists', details)


def conflict(resource: str, name: str, group: str = "") -> APIError:
    details = {"name": name, "kind": resource}
    if group:
        details["group"] = group
    return APIError(409, "Conflict",
                    f'Operation cannot be fulfilled on {_qualified(resource, group)} "{name}": '
                    "the object has been modified; please apply your changes to the latest "
                    "version and try again", details)


def invalid(kind: str, name: str, causes: list[Cause], group: str = "") -> APIError:
    """422 as `errors.NewInvalid` builds it: one cause inline, several in brackets."""
    texts = list(dict.fromkeys(c.text() for c in causes))  # the aggregate drops duplicates
    joined = texts[0] if len(texts) == 1 else "[" + ", ".join(texts) + "]"
    details: dict = {"name": name, "kind": kind}
    if group:
        details["group"] = group
    details["causes"] = [{"reason": c.reason, "message": c.message, "field": c.field}
                         for c in causes]
    return APIError(422, "Invalid", f'{kind}{"." + group if group else ""} "{name}" is invalid: {joined}',
                    details)


def bad_request(message: str) -> APIError:
    return APIError(400, "BadRequest", message)


def forbidden(user: str, verb: str, resource: str, group: str, namespace: str,
              name: str = "", subresource: str = "") -> APIError:
    what = _qualified(resource, group)
    res = f"{resource}/{subresource}" if subresource else resource
    scope = f' in the namespace "{namespace}"' if namespace else " at the cluster scope"
    reason = (f'User "{user}" cannot {verb} resource "{res}" in API group "{group}"{scope}')
    prefix = f'{what} "{name}" is forbidden' if name else f"{what} is forbidden"
    details = {"kind": resource}
    if name:
        details["name"] = name
    if group:
        details["group"] = group
    return APIError(403, "Forbidden", f"{prefix}: {reason}", details)


def unauthorized() -> APIError:
    return APIError(401, "Unauthorized", "Unauthorized")


def method_not_allowed() -> APIError:
    return APIError(405, "MethodNotAllowed",
                    "the server does not allow this method on the requested resource", {})


def not_acceptable(accept: str) -> APIError:
    return APIError(406, "NotAcceptable",
                    "only the following media types are accepted: application/json, "
                    "application/yaml, application/vnd.kubernetes.protobuf")


def unsupported_media_type(content_type: str) -> APIError:
    return APIError(415, "UnsupportedMediaType",
                    f'the body of the request was in an unknown format - accepted media types '
                    f'include: application/json, application/yaml')


def gone(message: str) -> APIError:
    return APIError(410, "Expired", message)
