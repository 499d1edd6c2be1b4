"""Exec in pods: kubectl's pods/exec exchange over WebSocket.

kube.py stays the REST client; this module holds the streaming side: the
channel protocol (v5.channel.k8s.io, v4.channel.k8s.io), and the exit code
read from the Status on channel 3.
"""
from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from .errors import EgressError
from .kube import path_of
from .model import PODS

if TYPE_CHECKING:
    from .kube import Kube

PROTOCOLS = ("v5.channel.k8s.io", "v4.channel.k8s.io")  # kubectl's, newest first


def run(kube: Kube, namespace: str, pod: str, container: str, command: list[str],
        timeout: float) -> tuple[int, str, str]:
    """Run command in a pod's container (pods/exec over WebSocket): (exit code, stdout, stderr).

    kubectl's exchange: a WebSocket upgrade offering v5.channel.k8s.io and
    v4.channel.k8s.io, then frames whose first byte names the channel
    (1 stdout, 2 stderr, 3 the final Status). The frames are read with
    websocket-client, the official client's WebSocket library, on the same
    TLS settings and credentials as every other request.
    """
    import websocket

    started = time.monotonic()
    path = f"{path_of(PODS, namespace, pod)}/exec"
    query = urlencode([*(("command", part) for part in command), ("container", container),
                       ("stderr", "true"), ("stdin", "false"), ("stdout", "true"), ("tty", "false")])
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
    try:
        while True:
            left = timeout - (time.monotonic() - started)
            if left <= 0:
                raise websocket.WebSocketTimeoutException()
            ws.settimeout(left)
            opcode, data = ws.recv_data()
            if opcode == websocket.ABNF.OPCODE_CLOSE:
                break
            if data and data[0] in streams:
                streams[data[0]] += data[1:]
    except websocket.WebSocketTimeoutException:
        raise too_slow from None
    except websocket.WebSocketConnectionClosedException:
        pass  # closed without a close frame: what arrived is all there is
    except (OSError, websocket.WebSocketException) as err:
        raise kube.connect_error(err) from None
    finally:
        ws.close()
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
