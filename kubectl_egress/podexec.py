"""Exec in pods: kubectl's pods/exec exchange over WebSocket.

kube.py stays the REST client; this module holds the streaming side: the
channel protocol (v5.channel.k8s.io, v4.channel.k8s.io), the exit code
read from the Status on channel 3, output handed on as it arrives, and a
way to stop sessions early (Stop: a line on their stdin).
"""
from __future__ import annotations

import json
import threading
import time
from typing import TYPE_CHECKING, Any, Callable
from urllib.parse import urlencode

from .errors import EgressError
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
        raise kube.server_error(err.status_code, getattr(err, "resp_body", None) or b"", "GET", path) from None
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
    raise EgressError(f"exec in pod {namespace}/{pod} failed: {data.get('message') or 'no detail'}")
