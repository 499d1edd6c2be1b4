"""HTTP front of the local API server: routing, content negotiation, auth, Status errors.

The REST semantics (create, update, patch, delete, list, watch) live in
`api.py`; this module turns HTTP requests into calls on it and the results
back into responses, as kube-apiserver's handler chain does: authentication,
authorization, fault injection for tests, then the resource handler.
"""
from __future__ import annotations

import json
import re
import socket
import ssl
import threading
import time
import traceback
import uuid
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Iterator
from urllib.parse import parse_qs, urlsplit

from . import discovery, routes, subresources
from .errors import APIError, PlainNotFound, not_acceptable, not_found_path, unauthorized
from .cluster import Cluster, User
from .impersonation import impersonate
from .requestinfo import RequestInfo, request_info

TABLE_V1 = ("meta.k8s.io", "v1")
TABLE_V1BETA1 = ("meta.k8s.io", "v1beta1")
AGGREGATED_DISCOVERY = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    user: User | None = None
    peer_cert: dict | None = None  # a verified TLS client certificate
    header_list: list[tuple[str, str]] = field(default_factory=list)  # as sent, repeats kept
    info: RequestInfo | None = None  # what the filter chain made of it

    def param(self, name: str, default: str = "") -> str:
        values = self.query.get(name)
        return values[-1] if values else default


@dataclass
class Response:
    status: int
    body: Any = None  # dict -> JSON; bytes -> as is; iterator -> chunked stream
    headers: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    content_type: str = "application/json"


def _media_ranges(accept: str) -> list[tuple[str, dict[str, str]]]:
    out = []
    for part in (accept or "*/*").split(","):
        bits = [b.strip() for b in part.split(";")]
        params = {}
        for b in bits[1:]:
            if "=" in b:
                k, v = b.split("=", 1)
                params[k.strip()] = v.strip()
        out.append((bits[0].lower(), params))
    return out


def negotiate(accept: str, allow_table: bool, allow_discovery: bool = False) -> str:
    """Pick the representation: 'table', 'discovery-v2', or 'json'."""
    for media, params in _media_ranges(accept):
        if media in ("application/json", "application/*", "*/*"):
            as_ = params.get("as")
            if as_ == "Table" and allow_table and (params.get("g"), params.get("v")) in (TABLE_V1, TABLE_V1BETA1):
                return "table"
            if as_ == "APIGroupDiscoveryList" and allow_discovery and params.get("v") == "v2":
                return "discovery-v2"
            if as_ is None:
                return "json"
        elif media in ("application/yaml",):
            return "yaml"
    raise not_acceptable(accept)


class App:
    """Routes one request; shared by all server threads."""

    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster

    def handle(self, req: Request) -> Response:
        try:
            if req.path.startswith("/_local/"):
                return self._local(req)
            fault = self.cluster.faults.match(req.method, req.path)
            if fault is not None:
                if fault.delay:
                    time.sleep(fault.delay)
                if fault.status and fault.body is not None:
                    return Response(fault.status, fault.body.encode(), content_type="text/plain")
                if fault.status:
                    raise APIError(fault.status, fault.reason, fault.message, fault.details)
            if req.path in ("/healthz", "/livez", "/readyz"):
                return Response(200, b"ok", content_type="text/plain; charset=utf-8")
            req.user = self.cluster.authenticate(req.headers.get("authorization", ""), req.peer_cert)
            if req.user is None:
                raise unauthorized()
            # the filter chain: RequestInfo, then authorization, then the handler
            try:
                req.info = request_info(req.method, req.path, req.query)
            except ValueError as err:
                return Response(500, f"Internal Server Error: {req.path!r}: failed to create "
                                f"RequestInfo: {err}\n".encode(), content_type="text/plain; charset=utf-8")
            req.user = impersonate(self.cluster, req.user, req.header_list)  # after authentication, before authorization
            self.cluster.authorize_request(req.user, req.info)
            return self._route(req)
        except PlainNotFound:
            return Response(404, PlainNotFound.body, content_type=PlainNotFound.content_type,
                            headers={"X-Content-Type-Options": "nosniff"})
        except APIError as err:
            return Response(err.code, err.status(), headers=err.headers, warnings=err.warnings)
        except Exception:  # an emulator bug must still answer like a server
            traceback.print_exc()
            return Response(500, APIError(500, "InternalError", "Internal error occurred: "
                                          "local API server bug, see its stderr").status())

    def _route(self, req: Request) -> Response:
        path = req.path.rstrip("/") or "/"
        accept = req.headers.get("accept", "")
        if path in ("/", "/index.html"):
            return Response(200, {"paths": discovery.root_paths(self.cluster)})  # routes.Index
        if path == "/version":
            return Response(200, self.cluster.version_info())
        if path in ("/openapi/v2", "/openapi/v3") or path.startswith("/openapi/v3/"):
            return discovery.openapi(self.cluster, path, req.param("hash"))
        parts = path.strip("/").split("/")
        if parts[0] == "api":
            if len(parts) == 1:
                if negotiate(accept, False, allow_discovery=True) == "discovery-v2":
                    return Response(200, discovery.aggregated(self.cluster, legacy=True),
                                    content_type=AGGREGATED_DISCOVERY)
                return Response(200, discovery.api_versions(self.cluster))
            if parts[1] != "v1":
                raise not_found_path()  # the /api web service claims everything under it
            if len(parts) == 2:
                return Response(200, discovery.resource_list(self.cluster, "", "v1"))
            return self._resource(req, "", "v1", parts[2:])
        if parts[0] == "apis":
            if len(parts) == 1:
                if negotiate(accept, False, allow_discovery=True) == "discovery-v2":
                    return Response(200, discovery.aggregated(self.cluster, legacy=False),
                                    content_type=AGGREGATED_DISCOVERY)
                return Response(200, discovery.api_groups(self.cluster))
            if len(parts) == 2:
                grp = discovery.api_group(self.cluster, parts[1])
                if grp is None:
                    raise PlainNotFound()
                return Response(200, grp)
            group, version = parts[1], parts[2]
            if len(parts) == 3:
                listing = discovery.resource_list(self.cluster, group, version)
                if listing is None:
                    raise PlainNotFound()
                return Response(200, listing)
            return self._resource(req, group, version, parts[3:])
        raise PlainNotFound()

    def _resource(self, req: Request, group: str, version: str, rest: list[str]) -> Response:
        in_group = [k for k in self.cluster.kinds.all() if k.group == group]
        builtins = [k for k in in_group if not k.schemas and version in k.versions]
        if builtins:
            target = routes.builtin(builtins, version, rest, req.method, req.query, req.headers, req.body)
        elif any(version in k.versions for k in in_group):
            target = routes.custom(in_group, version, req.info)
        else:
            raise PlainNotFound()
        warnings = [target.kind.warning] if target.kind.warning else []
        try:
            return self._serve(req, target, warnings)
        except APIError as err:
            err.warnings = warnings + err.warnings
            raise

    def _serve(self, req: Request, target: "routes.Target", warnings: list[str]) -> Response:
        api, kind, version = self.cluster.api, target.kind, target.version
        namespace, name, verb = target.namespace, target.name, target.action
        if target.sub and target.sub != "status":
            return subresources.serve(self.cluster, req, target, warnings)
        sub = target.sub
        if kind.virtual is not None:  # SelfSubjectAccessReview and friends: computed, never stored
            obj = kind.virtual(self.cluster, req, target, self._body(req, kind))
            return Response(201, obj, warnings=warnings)
        accept = req.headers.get("accept", "")
        if verb == "watch":
            stream = api.watch(kind, version, namespace, req)
            return Response(200, stream, warnings=warnings)
        if verb in ("get", "list"):
            mode = negotiate(accept, allow_table=True)
            if verb == "get":
                obj = api.get(kind, version, namespace, name, sub)
                body = api.table(kind, version, [obj], {"resourceVersion": obj["metadata"].get("resourceVersion", "")},
                                 req.param("includeObject")) if mode == "table" else obj
            else:
                items, meta = api.list(kind, version, namespace, req)
                if mode == "table":
                    body = api.table(kind, version, items, meta, req.param("includeObject"))
                else:
                    body = {"kind": f"{kind.kind}List", "apiVersion": kind.api_version(version),
                            "metadata": meta, "items": items}
            return Response(200, body, warnings=warnings, content_type=_content_type(mode))
        negotiate(accept, allow_table=False)
        if verb == "create":
            obj, more = api.create(kind, version, namespace, self._body(req, kind), req)
            return Response(201, obj, warnings=warnings + more)
        if verb == "update":
            obj, code, more = api.update(kind, version, namespace, name, self._body(req, kind), req, sub)
            return Response(code, obj, warnings=warnings + more)
        if verb == "patch":
            obj, code, more = api.patch(kind, version, namespace, name, req, sub)
            return Response(code, obj, warnings=warnings + more)
        if verb == "delete":
            obj, code = api.delete(kind, version, namespace, name, req)
            return Response(code, obj, warnings=warnings)
        if verb != "deletecollection":
            raise APIError(500, "InternalError", f"Internal error occurred: no handler for {verb}")
        obj = api.delete_collection(kind, version, namespace, req)
        return Response(200, obj, warnings=warnings)

    @staticmethod
    def _body(req: Request, kind=None) -> dict:
        from .api import decode_body
        return decode_body(req, kind)

    def _local(self, req: Request) -> Response:
        """Test controls: faults, time travel. Not part of the Kubernetes API."""
        path = req.path
        body = json.loads(req.body or b"{}") if req.body else {}
        if path == "/_local/faults" and req.method == "POST":
            self.cluster.faults.add(**body)
            return Response(201, {"ok": True})
        if path == "/_local/faults" and req.method == "DELETE":
            self.cluster.faults.clear()
            return Response(200, {"ok": True})
        if path == "/_local/requests" and req.method == "GET":
            return Response(200, {"requests": self.cluster.request_log()})
        if path == "/_local/requests" and req.method == "DELETE":
            self.cluster.clear_request_log()
            return Response(200, {"ok": True})
        if path == "/_local/age" and req.method == "POST":
            self.cluster.backdate(body["resource"], body.get("namespace", ""), body["name"], body["seconds"])
            return Response(200, {"ok": True})
        raise not_found_path()


def _content_type(mode: str) -> str:
    return "application/yaml" if mode == "yaml" else "application/json"


def _encode(body: Any, content_type: str) -> bytes:
    if isinstance(body, (bytes, bytearray)):
        return bytes(body)
    if content_type.startswith("application/yaml"):
        import yaml
        return yaml.safe_dump(body, sort_keys=False).encode()
    return json.dumps(body, separators=(",", ":")).encode() + b"\n"


# kube-apiserver reads a request's line and headers up to http.Server's MaxHeaderBytes, 1 << 20
# (k8s.io/apiserver pkg/server/secure_serving.go Serve), plus the 4096 bytes net/http allows over it
# (server.go initialReadLimitSize), and answers 431 beyond; Python's http.server stops at 64 KiB.
# An exec's command travels in its URL (one `command=` per argument), so the difference matters.
MAX_HEADER_BYTES = (1 << 20) + 4096


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "local-kube-apiserver"
    sys_version = ""
    wbufsize = 1 << 16  # one write per response (flushed after each request)

    def handle_one_request(self) -> None:
        """BaseHTTPRequestHandler's, with kube-apiserver's limit on the request line."""
        try:
            self.raw_requestline = self.rfile.readline(MAX_HEADER_BYTES + 1)
            if len(self.raw_requestline) > MAX_HEADER_BYTES:
                self.requestline = self.request_version = self.command = ""
                self.send_error(HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE)
                return
            if not self.raw_requestline:
                self.close_connection = True
                return
            if not self.parse_request():
                return
            method = getattr(self, "do_" + self.command, None)
            if method is None:
                self.send_error(HTTPStatus.NOT_IMPLEMENTED, f"Unsupported method ({self.command!r})")
                return
            method()
            self.wfile.flush()
        except TimeoutError as err:
            self.log_error("Request timed out: %r", err)
            self.close_connection = True

    def setup(self) -> None:
        super().setup()
        # answer at once: no Nagle delay against the client's delayed ACK
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        if self.server.verbose:  # type: ignore[attr-defined]
            super().log_message(format, *args)

    def _serve(self) -> None:
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        req = Request(self.command, url.path, parse_qs(url.query, keep_blank_values=True), headers, body,
                      header_list=list(self.headers.items()))
        if isinstance(self.connection, ssl.SSLSocket):
            req.peer_cert = self.connection.getpeercert() or None
        app: App = self.server.app  # type: ignore[attr-defined]
        if headers.get("upgrade", "").lower() == "websocket":
            app.cluster.record(req.method, self.path, headers.get("user-agent", ""))
            resp = app.handle(req)
            if resp.status == 101 and callable(resp.body):
                resp.body(self)  # the exec session takes over the connection
                self.close_connection = True
                return
            self._respond(resp)
            return
        if not url.path.startswith("/_local/"):  # test controls are not traffic
            app.cluster.record(req.method, self.path, headers.get("user-agent", ""))
        if app.cluster.faults.reset(req.method, url.path):
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        self._respond(app.handle(req))

    def _respond(self, resp: Response) -> None:
        self.send_response(resp.status)
        self.send_header("Audit-Id", str(uuid.uuid4()))
        self.send_header("Cache-Control", "no-cache, private")
        for text in resp.warnings:
            # apimachinery util/net NewWarningHeader: a quoted-string, `"` and `\` escaped
            quoted = text.replace("\\", "\\\\").replace('"', '\\"')
            self.send_header("Warning", f'299 - "{quoted}"')
        for key, value in resp.headers.items():
            self.send_header(key, value)
        self.send_header("Content-Type", resp.content_type)
        self.send_header("X-Kubernetes-Pf-Flowschema-Uid", "local")
        if isinstance(resp.body, Iterator):
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            self.wfile.flush()  # a watch answers at once, events follow
            try:
                for chunk in resp.body:
                    data = _encode(chunk, resp.content_type)
                    if not data:  # a stream with nothing to say: is the reader still there?
                        if self._reader_gone():
                            break
                        continue
                    self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
                    self.wfile.flush()  # each watch event leaves at once
                self.wfile.write(b"0\r\n\r\n")
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True
            return
        data = _encode(resp.body, resp.content_type) if resp.body is not None else b""
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":  # a HEAD answer has the headers of a GET, no body
            self.wfile.write(data)

    def _reader_gone(self) -> bool:
        """Has the client closed its side (EOF or reset) while we stream to it?"""
        import select
        try:
            readable, _, _ = select.select([self.connection], [], [], 0)
            return bool(readable) and self.connection.recv(1, socket.MSG_PEEK) == b""
        except (OSError, ValueError, ssl.SSLError):
            return True

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _serve


class LocalServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256

    def __init__(self, address: tuple[str, int], cluster: Cluster, tls: ssl.SSLContext | None = None,
                 verbose: bool = False) -> None:
        super().__init__(address, Handler)
        self.app = App(cluster)
        self.tls = tls
        self.verbose = verbose

    def finish_request(self, request, client_address) -> None:
        # The TLS handshake runs in the connection's own thread, not in the accept loop.
        if self.tls is not None:
            try:
                request = self.tls.wrap_socket(request, server_side=True)
            except (ssl.SSLError, OSError):
                return
        super().finish_request(request, client_address)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"{'https' if self.tls else 'http'}://{host}:{port}"

    def start(self) -> threading.Thread:
        thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05},
                                  name="apiserver", daemon=True)
        thread.start()
        return thread
