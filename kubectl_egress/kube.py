"""The only module that talks to the Kubernetes API.

It speaks HTTP/1.1 with the standard library, with the credentials
client-go would use, and exchanges plain JSON dicts, so that starting up and
reading thousands of objects never pays for the generated client (the
official client serves auth-provider entries only); exec streams use its
WebSocket library. Failures become one line each, in kubectl's words:
`Error from server (Reason): message`, `The connection to the server
HOST:PORT was refused - did you specify the right host or port?`, ...
Server warnings are printed once each, as kubectl does.
"""
from __future__ import annotations

import json
import os
import re
import socket
import ssl
import sys
import time
from typing import Any, Callable, Iterable, Mapping, TypeVar
from urllib.parse import quote, urlencode, urlsplit

from . import __version__
from .errors import ConnectError, EgressError, ServerError
from .credentials import credentials
from .kubeconfig import KubeContext
from .http11 import HTTPException, IncompleteRead, RemoteDisconnected
from .transport import Dialer, Transport, TransportError, tls_context
from .model import NAMESPACES, Resource

T = TypeVar("T")
R = TypeVar("R")
O = TypeVar("O", bound="dict | None")
USER_AGENT = f"kubectl-egress/v{__version__}"
# Objects per list page. kubectl asks for 500; larger pages cost the server fewer round trips for
# the thousands of objects `get -A` and `clean -A` read, and stay bounded.
PAGE = 5000
SEQUENTIAL = 8  # up to this many calls, Kube.parallel runs them in turn
_WARNING = re.compile(r'\d{3} [^ ]+ "((?:[^"\\]|\\.)*)"')


def _lean(obj: O) -> O:
    """The object without metadata.managedFields: the plugin never reads them, kubectl does not
    print them by default, and they are half the size of a Service read in the thousands."""
    if obj is not None:
        meta = obj.get("metadata")
        if isinstance(meta, dict):
            meta.pop("managedFields", None)
    return obj


def path_of(res: Resource, namespace: str | None, name: str = "") -> str:
    """`/api/v1/namespaces/NS/services/NAME`, `/apis/GROUP/VERSION/...`; namespace None: all."""
    root = f"/apis/{res.group}/{res.version}" if res.group else f"/api/{res.version}"
    scope = f"/namespaces/{quote(namespace, safe='')}" if res.namespaced and namespace else ""
    tail = f"/{quote(name, safe='')}" if name else ""
    return f"{root}{scope}/{res.plural}{tail}"


def status_message(status: dict, fallback: str) -> ServerError:
    """A Status body as kubectl's StandardErrorMessage words it, on one line."""
    reason = status.get("reason", "")
    code = int(status.get("code") or 0)
    message = status.get("message") or fallback
    details = status.get("details") or {}
    if reason == "Unauthorized" or code == 401:
        return ServerError(f"You must be logged in to the server ({message})", reason="Unauthorized",
                           code=401, status=status, prefix="error: ")
    if reason == "Invalid" and details.get("causes"):
        causes = []
        for cause in details["causes"]:
            text = f"{cause['field']}: {cause.get('message', '')}" if cause.get("field") else cause.get("message", "")
            if text not in causes:
                causes.append(text)
        kind = details.get("kind", "")
        if details.get("group"):
            kind = f"{kind}.{details['group']}"
        return ServerError(f'The {kind} "{details.get("name", "")}" is invalid: ' + "; ".join(causes),
                           reason=reason, code=code, status=status, prefix="")
    return ServerError(message, reason=reason, code=code, status=status)


class Kube:
    """A connection to one cluster (one kubeconfig context).

    Requests go over keep-alive connections (see Transport) with the
    credentials client-go would use for the context; the official client is
    loaded only for auth-provider entries, so a command such as `get` starts
    in a fraction of the time.
    """

    def __init__(self, ctx: KubeContext, verbosity: int = 0,
                 warn: Callable[[str], None] | None = None, workers: int = 16,
                 environ: Mapping[str, str] | None = None,
                 cache_dir: "os.PathLike[str] | None" = None) -> None:
        self.ctx = ctx
        self.cache_dir = cache_dir  # kubectl's cache (discovery.py); None: ask the server every time
        self.namespace = ctx.namespace
        self.verbosity = verbosity
        self._warn = warn or (lambda text: sys.stderr.write(f"Warning: {text}\n"))
        self._warned: set[str] = set()
        self.workers = workers
        scratch: list[str] = []  # inline certificate data, as files for ssl to load
        try:
            self.creds = creds = credentials(ctx, scratch, environ)
            context = tls_context(creds)
        finally:
            # the context holds what it loaded: no file of a user's key outlives the connection's set-up
            for path in scratch:
                try:
                    os.unlink(path)
                except OSError:
                    pass
        self.base = creds.server
        self.host = urlsplit(self.base).netloc or self.base
        self.dialer = Dialer(creds.server, context=context, server_name=creds.tls_server_name,
                             proxy=creds.proxy, timeout=ctx.request_timeout)
        self.http = Transport(self.dialer, urlsplit(creds.server).path)
        self.headers = {"User-Agent": USER_AGENT}
        if creds.authorization:
            self.headers["Authorization"] = creds.authorization

    def header_list(self, **more: str) -> list[tuple[str, str]]:
        """Every request's headers, Impersonate-* (which may repeat) included."""
        return [*self.headers.items(), *self.creds.impersonate, *more.items()]

    def warn(self, text: str) -> None:
        """A warning of the plugin's own, printed as kubectl prints warnings (--warnings-as-errors counts
        only the server's)."""
        self._warn(text)

    @property
    def warning_count(self) -> int:
        """Distinct server warnings printed so far (kubectl's --warnings-as-errors counts these)."""
        return len(self._warned)

    # -- transport -------------------------------------------------------------
    def request(self, method: str, path: str, *, query: Iterable[tuple[str, Any]] = (),
                body: Any = None, content_type: str = "application/json",
                accept: str = "application/json", not_found_ok: bool = False,
                quiet: bool = False) -> dict | None:
        """One API call; returns the decoded JSON (None for a tolerated 404).

        quiet: do not print the server's warnings (reads made for bookkeeping,
        such as looking for v1 Endpoints a user may have made earlier).
        """
        headers = self.header_list(Accept=accept)
        data = None
        if body is not None:
            headers.append(("Content-Type", content_type))
            data = json.dumps(body).encode()
        params = [(k, str(v)) for k, v in query if v not in (None, "")]
        target = path + ("?" + urlencode(params, safe="/:,=!") if params else "")
        started = time.monotonic()
        try:
            status, reason, resp_headers, payload = self.http.request(method, target, data, headers)
        except (OSError, HTTPException) as err:
            self.log(method, self.base + target, "failed", started)
            raise self.connect_error(err) from None
        self.log(method, self.base + target, f"{status} {reason}", started)
        if not quiet:
            self._warnings(resp_headers)
        if 200 <= status < 300:
            return json.loads(payload) if payload else {}
        if status == 404 and not_found_ok:
            return None
        raise self.server_error(status, payload, method, path)

    def get_text(self, path: str) -> str:
        """A GET whose answer is not JSON: a pod's metrics through the API server's pod proxy
        (/api/v1/namespaces/NS/pods/NAME:PORT/proxy/PATH)."""
        headers = {**self.headers, "Accept": "*/*"}
        started = time.monotonic()
        try:
            status, reason, _, payload = self.http.request("GET", path, None, headers)
        except (OSError, HTTPException) as err:
            self.log("GET", self.base + path, "failed", started)
            raise self.connect_error(err) from None
        self.log("GET", self.base + path, f"{status} {reason}", started)
        if 200 <= status < 300:
            return (payload or b"").decode(errors="replace")
        raise self.server_error(status, payload, "GET", path)

    def log(self, method: str, url: str, outcome: str, started: float) -> None:
        if self.verbosity >= 6:
            ms = int((time.monotonic() - started) * 1000)
            sys.stderr.write(f"{method} {url} {outcome} in {ms} milliseconds\n")

    def _warnings(self, headers: list[tuple[str, str]]) -> None:
        for value in (v for k, v in headers if k.lower() == "warning"):
            for match in _WARNING.finditer(value):
                text = match.group(1).replace('\\"', '"').replace("\\\\", "\\")
                if text not in self._warned:
                    self._warned.add(text)
                    self._warn(text)

    def connect_error(self, err: Exception) -> EgressError:
        """A failure to talk to the server, in kubectl's words (cmdutil StandardErrorMessage:
        an error that mentions a refused connection, a proxy's included, names the server)."""
        if isinstance(err, TransportError):
            if "connection refused" in err.text:
                return ConnectError(f"The connection to the server {self.host} was refused - "
                                    "did you specify the right host or port?")
            return ConnectError(f"Unable to connect to the server: {err.text}")
        if isinstance(err, ConnectionRefusedError):
            return ConnectError(f"The connection to the server {self.host} was refused - "
                                "did you specify the right host or port?")
        if isinstance(err, socket.gaierror):
            return ConnectError(f"Unable to connect to the server: dial tcp: lookup "
                                f"{self.host.rsplit(':', 1)[0]}: no such host")
        if isinstance(err, (socket.timeout, TimeoutError)):
            limit = self.ctx.request_timeout or 0
            return ConnectError(f"Unable to connect to the server: no answer within "
                                f"--request-timeout={limit:g}s; retry, or raise --request-timeout")
        if isinstance(err, ssl.SSLCertVerificationError):
            return ConnectError(f"Unable to connect to the server: tls: failed to verify certificate: "
                                f"x509: {err.verify_message}")
        if isinstance(err, ssl.SSLError):
            return ConnectError(f"Unable to connect to the server: tls: {err.reason or err}")
        if isinstance(err, (RemoteDisconnected, ConnectionResetError, BrokenPipeError, IncompleteRead)):
            return ConnectError(f"Unable to connect to the server: the connection to {self.host} "
                                "was closed before an answer came")
        return ConnectError(f"Unable to connect to the server: {err}")

    def server_error(self, code: int, data: bytes, method: str, path: str) -> ServerError:
        try:
            status = json.loads(data)
        except ValueError:
            status = None
        if isinstance(status, dict) and status.get("kind") == "Status":
            return status_message(status, f"the server answered {code}")
        if code == 401:
            return ServerError("You must be logged in to the server (the server has asked for the "
                               "client to provide credentials)", reason="Unauthorized", code=401,
                               prefix="error: ")
        reason = {403: "Forbidden", 404: "NotFound", 409: "Conflict", 429: "TooManyRequests",
                  503: "ServiceUnavailable", 504: "Timeout"}.get(code, "InternalError")
        snippet = (data or b"").decode(errors="replace").strip().splitlines()
        return ServerError(f'an error on the server ("{snippet[0][:200] if snippet else "unknown"}") '
                           f"has prevented the request from succeeding ({method.lower()} {path})",
                           reason=reason, code=code)

    # -- resources ---------------------------------------------------------------
    def get(self, res: Resource, name: str, namespace: str | None = None,
            quiet: bool = False) -> dict | None:
        """The object, or None when it does not exist."""
        return _lean(self.request("GET", path_of(res, namespace or self.namespace, name),
                                  not_found_ok=True, quiet=quiet))

    def list(self, res: Resource, namespace: str | None, label_selector: str = "",
             limit: int = PAGE, quiet: bool = False, keep: Callable[[dict], bool] | None = None) -> list[dict]:
        """All matching objects (namespace None: all namespaces), page by page (`continue`).

        keep: only the objects it accepts, dropped as each page arrives (memory stays that of
        one page and what is kept).
        """
        items: list[dict] = []
        token = ""
        while True:
            page = self.request("GET", path_of(res, namespace),
                                query=[("labelSelector", label_selector), ("limit", limit),
                                       ("continue", token)], quiet=quiet)
            assert page is not None
            for item in page.pop("items", None) or []:
                if keep is not None and not keep(item):
                    continue
                item.setdefault("apiVersion", res.api_version)
                item.setdefault("kind", res.kind)
                items.append(_lean(item))
            token = (page.get("metadata") or {}).get("continue", "")
            if not token:
                return items

    def list_if_served(self, res: Resource, namespace: str | None, label_selector: str = "") -> list[dict]:
        """Like list, but [] when the API is not served (no Istio, say)."""
        try:
            return self.list(res, namespace, label_selector)
        except ServerError as err:
            if err.code == 404 and not err.status.get("details"):
                return []
            raise

    def create(self, res: Resource, obj: dict, dry_run: bool = False) -> dict:
        namespace = obj["metadata"].get("namespace") if res.namespaced else None
        result = self.request("POST", path_of(res, namespace), body=obj,
                              query=[("fieldManager", "kubectl-egress"),
                                     ("dryRun", "All" if dry_run else "")])
        assert result is not None
        return _lean(result)

    def replace(self, res: Resource, obj: dict, dry_run: bool = False) -> dict:
        meta = obj["metadata"]
        result = self.request("PUT", path_of(res, meta.get("namespace"), meta["name"]), body=obj,
                              query=[("fieldManager", "kubectl-egress"),
                                     ("dryRun", "All" if dry_run else "")])
        assert result is not None
        return _lean(result)

    def delete(self, res: Resource, name: str, namespace: str | None, dry_run: bool = False,
               uid: str = "") -> bool:
        """Delete; False when it was already gone. uid: only that incarnation."""
        options: dict = {"propagationPolicy": "Background"}
        if uid:
            options["preconditions"] = {"uid": uid}
        if dry_run:
            options["dryRun"] = ["All"]
        result = self.request("DELETE", path_of(res, namespace, name), body=options,
                              query=[("dryRun", "All" if dry_run else "")], not_found_ok=True)
        return result is not None

    # -- cluster facts -------------------------------------------------------------
    def namespace_exists(self, name: str) -> bool | None:
        """True/False, or None when this user may not read namespaces."""
        try:
            return self.get(NAMESPACES, name) is not None
        except ServerError as err:
            if err.code == 403:
                return None
            raise

    def preferred_version(self, group: str) -> str | None:
        """The group's preferred version from discovery, or None when not served.

        From kubectl's discovery cache while it is fresh (see discovery.py); a group missing
        there may have been installed since, so the server is asked about it.
        """
        if self.cache_dir is not None:
            from . import discovery
            from pathlib import Path
            directory = discovery.server_dir(Path(self.cache_dir), self.base)
            groups = discovery.read_groups(directory)
            if groups is None:
                core = self.request("GET", "/api") or {}
                groups = (self.request("GET", "/apis") or {}).get("groups") or []
                discovery.write_groups(directory, core, groups)
                return discovery.preferred(groups, group)
            version = discovery.preferred(groups, group)
            if version is not None:
                return version
        doc = self.request("GET", f"/apis/{group}", not_found_ok=True)
        if not doc:
            return None
        return (doc.get("preferredVersion") or {}).get("version")

    def server_version(self) -> dict:
        return self.request("GET", "/version") or {}

    def parallel(self, fn: Callable[[T], R], items: list[T]) -> list[R]:
        """fn over items, results in order; the first error is raised.

        Bulk work runs on a thread pool (one keep-alive connection per thread); a
        handful of calls run in turn on this thread's connection, which is quicker
        than opening (and TLS-handshaking) more connections.
        """
        if len(items) <= SEQUENTIAL:
            return [fn(i) for i in items]
        from concurrent.futures import ThreadPoolExecutor  # only for bulk work
        with ThreadPoolExecutor(max_workers=min(self.workers, len(items))) as pool:
            return list(pool.map(fn, items))

