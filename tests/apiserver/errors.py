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
        """field.Error.Error(): `path: body`; a cause with no field at all is the body alone, and
        " " stands for the empty path of field.NewPath("") (which prints as ": body")."""
        if self.field == " ":
            return f": {self.message}"
        return f"{self.field}: {self.message}" if self.field else self.message


@dataclass
class APIError(Exception):
    code: int
    reason: str  # "" is StatusReasonUnknown, which the JSON leaves out
    message: str
    details: dict | None = None  # None: no details; {}: an empty StatusDetails, sent as "details":{}
    headers: dict = field(default_factory=dict)
    warnings: list = field(default_factory=list)  # Warning headers travel on errors too

    def status(self) -> dict:
        body = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                "message": self.message}
        if self.reason:
            body["reason"] = self.reason
        if self.details is not None:
            body["details"] = self.details
        body["code"] = self.code
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
    """go-restful found no route under a registered web service (/api/v1, /apis/apps/v1, ...):
    the ServiceErrorHandler's NewGenericServerResponse(404) (apiserver pkg/server/handler.go)."""
    return APIError(404, "NotFound", "the server could not find the requested resource", {})


class PlainNotFound(Exception):
    """No handler claims the path at all: the delegation chain ends in the notfoundhandler,
    which answers with Go's http.NotFound, a text body and no Status
    (apiserver pkg/util/notfoundhandler/not_found_handler.go)."""

    body = b"404 page not found\n"
    content_type = "text/plain; charset=utf-8"


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
    details["causes"] = [{"reason": c.reason, "message": c.message, "field": c.field.strip()}
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
    """go-restful matched the path but no route has the method ("405: Method Not Allowed"),
    through the same ServiceErrorHandler: the generic message and empty details."""
    return APIError(405, "MethodNotAllowed",
                    "the server does not allow this method on the requested resource", {})


def method_not_supported(resource: str, group: str, verb: str) -> APIError:
    """errors.NewMethodNotSupported, as the custom resource handler answers a verb its
    storage lacks (apiextensions-apiserver customresource_handler.go)."""
    details = {"group": group, "kind": resource} if group else {"kind": resource}
    return APIError(405, "MethodNotAllowed",
                    f'{verb} is not supported on resources of kind "{_qualified(resource, group)}"', details)


def service_unavailable(message: str) -> APIError:
    """errors.NewServiceUnavailable."""
    return APIError(503, "ServiceUnavailable", message)


def unknown_error(code: int, message: str) -> APIError:
    """An error that is not a Status, as ErrorToAPIStatus wraps it: reason Unknown (left out
    of the JSON), no details (apiserver handlers/responsewriters/status.go)."""
    return APIError(code, "", message)


def forbidden_path(user: str, verb: str, path: str) -> APIError:
    """A non-resource request the authorizer refused (responsewriters.forbiddenMessage,
    errors.NewForbidden with no resource: "forbidden: ...")."""
    return APIError(403, "Forbidden", f'forbidden: User "{user}" cannot {verb} path "{path}"', {})


def route_not_acceptable(available: list[str]) -> APIError:
    """go-restful found the route but none produces what Accept asks for (RouterJSR311.detectRoute):
    the 406 keeps go-restful's message, available representations included."""
    return APIError(406, "NotAcceptable", "406: Not Acceptable\n\nAvailable representations: "
                    + ", ".join(available), {})


def route_unsupported_media_type(available: list[str] | None = None) -> APIError:
    """go-restful found no route that consumes the body's Content-Type (PATCH routes list
    their patch types): "415: Unsupported Media Type", kept as the message; a POST, PUT or
    PATCH without a body that fails the Accept check gets the list of what is available."""
    message = "415: Unsupported Media Type"
    if available is not None:
        message += "\n\nAvailable representations: " + ", ".join(available)
    return APIError(415, "UnsupportedMediaType", message, {})


def not_acceptable(accept: str) -> APIError:
    return APIError(406, "NotAcceptable",
                    "only the following media types are accepted: application/json, "
                    "application/yaml, application/vnd.kubernetes.protobuf")


BUILTIN_MEDIA_TYPES = ("application/json", "application/yaml", "application/vnd.kubernetes.protobuf")
CUSTOM_MEDIA_TYPES = ("application/json", "application/yaml")  # custom resources: no protobuf
PATCH_TYPES = ("application/json-patch+json", "application/merge-patch+json", "application/apply-patch+yaml")


def unsupported_media_type(accepted=BUILTIN_MEDIA_TYPES) -> APIError:
    """negotiation.NewUnsupportedMediaTypeError(accepted) from the handler (the serializer's
    media types for a body, the patch types for a patch)."""
    return APIError(415, "UnsupportedMediaType",
                    "the body of the request was in an unknown format - accepted media types "
                    "include: " + ", ".join(accepted))


def gone(message: str) -> APIError:
    return APIError(410, "Expired", message)
