"""Exec in pods: kubectl's pods/exec exchange over WebSocket, and the probe's ephemeral containers.

kube.py stays the REST client; this module holds the streaming side: the
channel protocol (v5.channel.k8s.io, v4.channel.k8s.io), the exit code
read from the Status on channel 3 (a command the runtime cannot find is
NotInContainer, so a caller can fall back), output handed on as it arrives, and
a way to stop sessions early (Stop: a line on their stdin). And the containers
the plugin adds to a pod to exec in when the pod's own cannot run the probe:
added through pods/ephemeralcontainers as `kubectl debug` adds them, waited for
as the kubelet reports them, reused while they run (they can be neither
restarted nor removed).
"""
from __future__ import annotations

import json
import re
import secrets
import threading
import time
from typing import TYPE_CHECKING, Any, Callable
from urllib.parse import urlencode

from .errors import EgressError, ServerError
from .kube import path_of
from .model import PODS

if TYPE_CHECKING:
    from .kube import Kube

PROTOCOLS = ("v5.channel.k8s.io", "v4.channel.k8s.io")  # kubectl's, newest first
STDIN = 0
STOP_LINE = b"stop\n"


class Stop:
    """Ends the exec sessions given it, early (Ctrl-C): each gets a line on its stdin, which the
    command is written to read (closing the stream would not end it on a real node: containerd
    keeps an exec'd process running when its client goes, kubernetes#89031). Sessions that start
    after stop() get the line as soon as they are open."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._open: set[Any] = set()
        self.stopped = False

    def add(self, ws: Any) -> None:
        with self._lock:
            self._open.add(ws)
            late = self.stopped
        if late:
            _send_stop(ws)

    def discard(self, ws: Any) -> None:
        with self._lock:
            self._open.discard(ws)

    def stop(self) -> None:
        with self._lock:
            self.stopped = True
            sessions = list(self._open)
        for ws in sessions:
            _send_stop(ws)

    def abort(self) -> None:
        """Close every session now (a second Ctrl-C): the line went out with stop()."""
        with self._lock:
            self.stopped = True
            sessions = list(self._open)
        for ws in sessions:
            try:
                ws.abort()
            except Exception:  # already closed
                pass


def _send_stop(ws: Any) -> None:
    import websocket

    try:
        ws.send(bytes([STDIN]) + STOP_LINE, opcode=websocket.ABNF.OPCODE_BINARY)
    except (OSError, websocket.WebSocketException):
        pass  # the session is ending anyway


EXEC_RULE = 'the RBAC rule it needs: verbs ["create"] on resources ["pods/exec"] (apiGroups [""])'


class NotInContainer(EgressError):
    """The container runtime could not start the command: the container has no such program."""


def run(kube: Kube, namespace: str, pod: str, container: str, command: list[str],
        timeout: float, *, on_stdout: Callable[[bytes], None] | None = None,
        stop: Stop | None = None) -> tuple[int, str, str]:
    """Run command in a pod's container (pods/exec over WebSocket): (exit code, stdout, stderr).

    kubectl's exchange: a WebSocket upgrade offering v5.channel.k8s.io and
    v4.channel.k8s.io, then frames whose first byte names the channel
    (0 stdin, 1 stdout, 2 stderr, 3 the final Status). The frames are read with
    websocket-client, the official client's WebSocket library, on the same
    TLS settings and credentials as every other request.

    on_stdout: takes stdout as it arrives (the returned stdout is then empty). stop: the session
    opens stdin and can be stopped with it (see Stop); a stopped session that ends without a
    status returns exit code -1 instead of failing.
    """
    import websocket

    started = time.monotonic()
    path = f"{path_of(PODS, namespace, pod)}/exec"
    query = urlencode([*(("command", part) for part in command), ("container", container),
                       ("stderr", "true"), ("stdin", "true" if stop else "false"), ("stdout", "true"),
                       ("tty", "false")])
    http = kube.http
    url = f"{'wss' if http.tls else 'ws'}://{kube.host}{http.prefix}{path}?{query}"
    options: dict[str, Any] = {
        "header": [f"{name}: {value}" for name, value in kube.header_list()],
        "subprotocols": list(PROTOCOLS), "timeout": timeout,
    }
    too_slow = EgressError(f"exec in pod {namespace}/{pod} did not finish within {timeout:g}s")
    try:
        # the same connection as every request: proxy (kubeconfig or environment), TLS and
        # tls-server-name, client-go's dial and handshake limits
        options["socket"] = kube.dialer.open()
        options["socket"].settimeout(timeout)
    except OSError as err:
        raise kube.connect_error(err) from None
    try:
        ws = websocket.create_connection(url, **options)
    except websocket.WebSocketBadStatusException as err:
        kube.log("GET", path, f"upgrade failed {err.status_code}", started)
        error = kube.server_error(err.status_code, getattr(err, "resp_body", None) or b"", "GET", path)
        if error.code == 403 and "pods/exec" in error.message:
            error.message += f"; {EXEC_RULE}"
        raise error from None
    except websocket.WebSocketTimeoutException:
        raise too_slow from None
    except (OSError, websocket.WebSocketException) as err:
        raise kube.connect_error(err) from None
    streams = {1: bytearray(), 2: bytearray(), 3: bytearray()}
    if stop is not None:
        stop.add(ws)
    try:
        while True:
            left = timeout - (time.monotonic() - started)
            if left <= 0:
                raise websocket.WebSocketTimeoutException()
            ws.settimeout(left)
            opcode, data = ws.recv_data()
            if opcode == websocket.ABNF.OPCODE_CLOSE:
                break
            if data and data[0] == 1 and on_stdout is not None:
                on_stdout(data[1:])
            elif data and data[0] in streams:
                streams[data[0]] += data[1:]
    except websocket.WebSocketTimeoutException:
        raise too_slow from None
    except websocket.WebSocketConnectionClosedException:
        pass  # closed without a close frame: what arrived is all there is
    except (OSError, websocket.WebSocketException) as err:
        if stop is None or not stop.stopped:
            raise kube.connect_error(err) from None
    finally:
        if stop is not None:
            stop.discard(ws)
        ws.close()
    if stop is not None and stop.stopped and not streams[3].strip():
        kube.log("GET", path, "stopped", started)
        return -1, streams[1].decode(errors="replace"), streams[2].decode(errors="replace")
    code = exit_code(bytes(streams[3]), namespace, pod)
    kube.log("GET", path, f"exit {code}", started)
    return code, streams[1].decode(errors="replace"), streams[2].decode(errors="replace")

def exit_code(status: bytes, namespace: str, pod: str) -> int:
    """The command's exit code from the Status on channel 3 (kubelet's ExitCode cause)."""
    try:
        data = json.loads(status) if status.strip() else None
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise EgressError(f"exec in pod {namespace}/{pod} ended without an exit status")
    if data.get("status") == "Success":
        return 0
    for cause in (data.get("details") or {}).get("causes") or []:
        if cause.get("reason") == "ExitCode":
            try:
                return int(cause.get("message", ""))
            except ValueError:
                break
    message = data.get("message") or "no detail"
    # containerd's and CRI-O's words for a program the image lacks (runc: `exec: "sh": executable
    # file not found in $PATH`, `stat /bin/sh: no such file or directory`)
    if data.get("reason") == "InternalError" and re.search(r"executable file.* not found|no such file or directory",
                                                           message):
        raise NotInContainer(f"exec in pod {namespace}/{pod} failed: {message}")
    raise EgressError(f"exec in pod {namespace}/{pod} failed: {message}")


# -- ephemeral containers -------------------------------------------------------------------------
EPHEMERAL_RULE = ('the RBAC rule it needs: verbs ["patch"] on resources ["pods/ephemeralcontainers"] '
                  '(apiGroups [""]), and "create" on "pods/exec"')
STAYS = "ephemeral containers cannot be removed: it stays in the pod's spec until the pod is replaced"
# waiting reasons after which the kubelet will not start the container without a change
# (kubelet images/types.go ErrImagePullBackOff, ErrInvalidImageName, ErrImageNeverPull;
# kuberuntime CreateContainerConfigError, CreateContainerError, RunContainerError)
HOPELESS = ("ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull", "CreateContainerConfigError",
            "CreateContainerError", "RunContainerError")
NAME_CHARS = "bcdfghjklmnpqrstvwxz2456789"  # apimachinery util/rand.String, as kubectl debug names


def container_names(pod: dict) -> set[str]:
    spec = pod.get("spec") or {}
    return {c.get("name") for group in ("containers", "initContainers", "ephemeralContainers")
            for c in spec.get(group) or []}


def new_name(pod: dict, prefix: str) -> str:
    """computeDebugContainerName: prefix and five random characters, unique in the pod."""
    taken = container_names(pod)
    while True:
        name = prefix + "".join(secrets.choice(NAME_CHARS) for _ in range(5))
        if name not in taken:
            return name


def ephemeral_state(pod: dict, name: str) -> dict:
    """An ephemeral container's state as the kubelet reports it ({} before it does)."""
    for status in (pod.get("status") or {}).get("ephemeralContainerStatuses") or []:
        if status.get("name") == name:
            return status.get("state") or {}
    return {}


def add_ephemeral(kube: Kube, pod: dict, container: dict) -> dict:
    """Add an ephemeral container as kubectl debug does: a strategic merge patch of the
    pods/ephemeralcontainers subresource (debugByEphemeralContainer; CreateTwoWayMergePatch keeps
    the existing ones' order with $setElementOrder). A refusal is one line: the RBAC rule a 403
    needs, Pod Security's reason quoted, kubectl's words when the feature is off."""
    meta = pod["metadata"]
    where = f"{meta['namespace']}/{meta['name']}"
    existing = [{"name": c["name"]} for c in (pod.get("spec") or {}).get("ephemeralContainers") or []]
    spec: dict = {"ephemeralContainers": [container]}
    if existing:
        spec["$setElementOrder/ephemeralContainers"] = existing + [{"name": container["name"]}]
    try:
        result = kube.request("PATCH", path_of(PODS, meta["namespace"], meta["name"]) + "/ephemeralcontainers",
                              body={"spec": spec}, content_type="application/strategic-merge-patch+json",
                              query=[("fieldManager", "kubectl-egress")])
    except ServerError as err:
        if err.code == 403 and "violates PodSecurity" in err.message:
            reason = err.message[err.message.index("violates PodSecurity"):]
            raise EgressError(f"Pod Security admission refused the probe's ephemeral container in pod {where}: "
                              f"{reason}") from None
        if err.code == 403:
            raise EgressError(f"kubectl-egress may not add its probe container to pod {where}: {err.message}; "
                              f"{EPHEMERAL_RULE}") from None
        if err.code == 404 and not (err.status.get("details") or {}).get("name"):
            raise EgressError(f'ephemeral containers are disabled for this cluster (error from server: '
                              f'"{err.message}")') from None
        raise
    assert result is not None
    return result


def wait_running(kube: Kube, namespace: str, pod_name: str, name: str, timeout: float) -> dict:
    """The pod once the ephemeral container runs; a container the kubelet will not start, or
    one that ended, is one line with its reason."""
    started = time.monotonic()
    deadline = started + timeout
    where = f"the probe container {name} in pod {namespace}/{pod_name}"
    while True:
        pod = kube.get(PODS, pod_name, namespace)
        if pod is None:
            raise EgressError(f"pod {namespace}/{pod_name} is gone (it was replaced while the probe started)")
        state = ephemeral_state(pod, name)
        if "running" in state:
            return pod
        if "terminated" in state:
            ended = state["terminated"]
            raise EgressError(f"{where} ended ({ended.get('reason', 'Error')}: "
                              f"{ended.get('message') or 'exit code ' + str(ended.get('exitCode'))}); {STAYS}")
        waiting = state.get("waiting") or {}
        if waiting.get("reason") in HOPELESS:
            raise EgressError(f"{where} cannot start ({waiting['reason']}: {waiting.get('message', '')}); "
                              f"{STAYS}; for a mirrored image give --image")
        if time.monotonic() > deadline:
            raise EgressError(f"{where} is not running after {timeout:g}s "
                              f"({waiting.get('reason') or 'no status yet'}); {STAYS}")
        # every 50 ms while a start is likely (a container from a pulled image starts in a
        # fraction of a second), then every half second while an image is pulled
        time.sleep(0.05 if time.monotonic() - started < 5 else 0.5)
