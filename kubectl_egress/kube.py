"""The only module that talks to the Kubernetes API.

It uses the official client (kubeconfig loading, auth, TLS and its REST
client) and exchanges plain JSON dicts, so that reading thousands of objects
never pays for model classes. Failures become one line each, in kubectl's
words: `Error from server (Reason): message`, `The connection to the server
HOST:PORT was refused - did you specify the right host or port?`, ...
Server warnings are printed once each, as kubectl does.
"""
from __future__ import annotations

import json
import re
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Iterable, TypeVar
from urllib.parse import quote, urlsplit

from . import __version__
from .errors import ConnectError, EgressError, ServerError
from .kubeconfig import KubeContext
from .model import NAMESPACES, PODS, Resource

T = TypeVar("T")
R = TypeVar("R")
USER_AGENT = f"kubectl-egress/v{__version__}"
_WARNING = re.compile(r'\d{3} [^ ]+ "((?:[^"\\]|\\.)*)"')


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
    """A connection to one cluster (one kubeconfig context)."""

    def __init__(self, ctx: KubeContext, verbosity: int = 0,
                 warn: Callable[[str], None] | None = None, workers: int = 16) -> None:
        from kubernetes.client import ApiClient, Configuration
        from kubernetes.config.config_exception import ConfigException
        from kubernetes.config.kube_config import KubeConfigLoader

        self.ctx = ctx
        self.namespace = ctx.namespace
        self.verbosity = verbosity
        self._warn = warn or (lambda text: sys.stderr.write(f"Warning: {text}\n"))
        self._warned: set[str] = set()
        self.workers = workers
        configuration = Configuration()
        try:
            KubeConfigLoader(config_dict=ctx.config, active_context=ctx.config["current-context"],
                             config_base_path=None).load_and_set(configuration)
        except ConfigException as err:
            raise EgressError(f"invalid kubeconfig: {err}") from None
        configuration.retries = False  # like kubectl: report a refused connection at once
        configuration.connection_pool_maxsize = max(workers, 4)
        self.api = ApiClient(configuration)
        self.api.user_agent = USER_AGENT
        self.host = urlsplit(configuration.host).netloc or configuration.host

    # -- transport -------------------------------------------------------------
    def request(self, method: str, path: str, *, query: Iterable[tuple[str, Any]] = (),
                body: Any = None, content_type: str = "application/json",
                accept: str = "application/json", not_found_ok: bool = False,
                quiet: bool = False) -> dict | None:
        """One API call; returns the decoded JSON (None for a tolerated 404).

        quiet: do not print the server's warnings (reads made for bookkeeping,
        such as looking for v1 Endpoints a user may have made earlier).
        """
        import urllib3
        from kubernetes.client.exceptions import ApiException

        headers = {"Accept": accept}
        if body is not None:
            headers["Content-Type"] = content_type
        params = [(k, v) for k, v in query if v not in (None, "")]
        method_, url, headers, body_, post = self.api.param_serialize(
            method, path, query_params=params or None, header_params=headers, body=body,
            auth_settings=["BearerToken"])
        started = time.monotonic()
        try:
            resp = self.api.call_api(method_, url, headers, body_, post,
                                     _request_timeout=self.ctx.request_timeout)
            data = resp.read()
        except urllib3.exceptions.HTTPError as err:
            self._log(method, url, "failed", started)
            raise self._connect_error(err) from None
        except ApiException as err:  # the client wraps TLS failures (status 0)
            self._log(method, url, "failed", started)
            raise ConnectError(f"Unable to connect to the server: {_ssl_text(str(err.reason))}") from None
        except ConnectionError as err:  # some urllib3 paths surface builtins
            self._log(method, url, "failed", started)
            raise ConnectError(f"Unable to connect to the server: {err}") from None
        self._log(method, url, f"{resp.status} {resp.reason}", started)
        if not quiet:
            self._warnings(resp.headers)
        if 200 <= resp.status < 300:
            return json.loads(data) if data else {}
        if resp.status == 404 and not_found_ok:
            return None
        raise self._server_error(resp.status, data, method, path)

    def _log(self, method: str, url: str, outcome: str, started: float) -> None:
        if self.verbosity >= 6:
            ms = int((time.monotonic() - started) * 1000)
            sys.stderr.write(f"{method} {url} {outcome} in {ms} milliseconds\n")

    def _warnings(self, headers: Any) -> None:
        values = headers.getlist("Warning") if hasattr(headers, "getlist") else \
            [v for k, v in dict(headers).items() if k.lower() == "warning"]
        for value in values:
            for match in _WARNING.finditer(value):
                text = match.group(1).replace('\\"', '"').replace("\\\\", "\\")
                if text not in self._warned:
                    self._warned.add(text)
                    self._warn(text)

    def _connect_error(self, err: Exception) -> EgressError:
        import urllib3

        text = str(err)
        if isinstance(err, urllib3.exceptions.NewConnectionError) or "refused" in text.lower():
            if "refused" in text.lower():
                return ConnectError(f"The connection to the server {self.host} was refused - "
                                    "did you specify the right host or port?")
            if "Name or service not known" in text or "nodename nor servname" in text or \
                    "Temporary failure in name resolution" in text:
                return ConnectError(f"Unable to connect to the server: dial tcp: lookup "
                                    f"{self.host.rsplit(':', 1)[0]}: no such host")
        if isinstance(err, (urllib3.exceptions.ReadTimeoutError, urllib3.exceptions.ConnectTimeoutError,
                            urllib3.exceptions.TimeoutError)):
            limit = self.ctx.request_timeout
            return ConnectError(f"Unable to connect to the server: no answer within "
                                f"--request-timeout={limit:g}s; retry, or raise --request-timeout")
        if isinstance(err, urllib3.exceptions.SSLError):
            return ConnectError(f"Unable to connect to the server: {_ssl_text(text)}")
        if isinstance(err, urllib3.exceptions.ProtocolError):
            return ConnectError(f"Unable to connect to the server: the connection to {self.host} "
                                "was closed before an answer came")
        return ConnectError(f"Unable to connect to the server: {text}")

    def _server_error(self, code: int, data: bytes, method: str, path: str) -> ServerError:
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
        return self.request("GET", path_of(res, namespace or self.namespace, name),
                            not_found_ok=True, quiet=quiet)

    def list(self, res: Resource, namespace: str | None, label_selector: str = "",
             limit: int = 500, quiet: bool = False) -> list[dict]:
        """All matching objects (namespace None: all namespaces), following `continue`."""
        items: list[dict] = []
        token = ""
        while True:
            page = self.request("GET", path_of(res, namespace),
                                query=[("labelSelector", label_selector), ("limit", limit),
                                       ("continue", token)], quiet=quiet)
            assert page is not None
            for item in page.get("items") or []:
                item.setdefault("apiVersion", res.api_version)
                item.setdefault("kind", res.kind)
                items.append(item)
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
        return result

    def replace(self, res: Resource, obj: dict, dry_run: bool = False) -> dict:
        meta = obj["metadata"]
        result = self.request("PUT", path_of(res, meta.get("namespace"), meta["name"]), body=obj,
                              query=[("fieldManager", "kubectl-egress"),
                                     ("dryRun", "All" if dry_run else "")])
        assert result is not None
        return result

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
        """The group's preferred version from discovery, or None when not served."""
        doc = self.request("GET", f"/apis/{group}", not_found_ok=True)
        if not doc:
            return None
        return (doc.get("preferredVersion") or {}).get("version")

    def server_version(self) -> dict:
        return self.request("GET", "/version") or {}

    # -- exec ------------------------------------------------------------------------------
    def exec(self, namespace: str, pod: str, container: str, command: list[str],
             timeout: float) -> tuple[int, str, str]:
        """Run command in a pod's container (pods/exec over WebSocket): (exit code, stdout, stderr)."""
        from kubernetes.client import CoreV1Api
        from kubernetes.client.exceptions import ApiException
        from kubernetes.stream import stream

        started = time.monotonic()
        path = f"{path_of(PODS, namespace, pod)}/exec"
        try:
            session = stream(CoreV1Api(self.api).connect_get_namespaced_pod_exec, pod, namespace,
                             command=command, container=container, stdin=False, stdout=True,
                             stderr=True, tty=False, _preload_content=False, binary=True)
        except ApiException as err:
            self._log("GET", path, "upgrade failed", started)
            raise self._exec_error(str(err.reason), path) from None
        try:
            session.run_forever(timeout=timeout)
            if session.is_open():
                raise EgressError(f"exec in pod {namespace}/{pod} did not finish within {timeout:g}s")
            out = session.read_channel(1) or b""
            err = session.read_channel(2) or b""
            code = session.returncode
        finally:
            session.close()
        self._log("GET", path, f"exit {code}", started)
        return (code if code is not None else -1, out.decode(errors="replace"), err.decode(errors="replace"))

    def _exec_error(self, reason: str, path: str) -> EgressError:
        """A refused exec upgrade: the server's Status if it sent one."""
        match = re.search(r'(\{"kind":\s*"Status".*\})', reason, re.S)
        if match:
            try:
                status = json.loads(match.group(1).encode().decode("unicode_escape"))
                if isinstance(status, dict) and status.get("kind") == "Status":
                    return status_message(status, reason)
            except ValueError:
                pass
        if "refused" in reason.lower():
            return ConnectError(f"The connection to the server {self.host} was refused - "
                                "did you specify the right host or port?")
        return EgressError(f"exec failed ({path}): {reason.splitlines()[0] if reason else 'no detail'}")

    # -- concurrency -------------------------------------------------------------------
    def parallel(self, fn: Callable[[T], R], items: list[T]) -> list[R]:
        """fn over items on the connection pool, results in order; the first error is raised."""
        if len(items) <= 1:
            return [fn(i) for i in items]
        with ThreadPoolExecutor(max_workers=min(self.workers, len(items))) as pool:
            return list(pool.map(fn, items))


def _ssl_text(text: str) -> str:
    """TLS failures in kubectl's words (`tls: failed to verify certificate: ...`)."""
    if "CERTIFICATE_VERIFY_FAILED" in text:
        detail = text.split("certificate verify failed:", 1)[-1].split("(")[0].strip(" )'\"")
        return f"tls: failed to verify certificate: x509: {detail or 'unknown authority'}"
    return " ".join(text.replace("SSLError", "").split()) or "TLS handshake failed"
