"""pods/exec over WebSocket, as kubelet streams it through kube-apiserver.

Subprotocols `v5.channel.k8s.io` (kubectl 1.30+) and `v4.channel.k8s.io`
(older Python clients): every binary message is one channel byte and data;
0 stdin, 1 stdout, 2 stderr, 3 the exit Status (JSON), 4 resize, and in v5
255 to close a stream. The command runs as a local process inside the pod's
network (see network.py); its exit status goes out on channel 3 before the
close frame, as client-go and the Python client expect.

A client that goes away does not end the command, as on a real node: containerd's CRI
execInContainer "only returns when the exec process exits ... if the `kubectl exec -it` process
is killed, IO will be closed" and the process keeps running (containerd
pkg/cri/server/container_execsync.go; kubernetes#89031, kubectl#1076). What the client's end
does reach is the command's stdin, when it asked for one: execInternal attaches it with
StdinOnce and CloseStdin, so the process reads EOF. The command ends with its container
(the kubelet's stopped(), which kills what `started` handed it).
"""
from __future__ import annotations

import base64
import hashlib
import json
import os
import selectors
import struct
import subprocess
import threading
from typing import BinaryIO

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
PROTOCOLS = ("v5.channel.k8s.io", "v4.channel.k8s.io")
STDIN, STDOUT, STDERR, ERROR, RESIZE, CLOSE = 0, 1, 2, 3, 4, 255
OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA


def choose_protocol(offered: str) -> str | None:
    names = [p.strip() for p in offered.split(",") if p.strip()]
    return next((p for p in PROTOCOLS if p in names), None)


def accept_key(key: str) -> str:
    return base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()


def exit_status(code: int, command: list[str]) -> dict:
    """The Status kubelet sends on channel 3."""
    if code == 0:
        return {"metadata": {}, "status": "Success"}
    return {"metadata": {}, "status": "Failure",
            "message": f"command terminated with non-zero exit code: error executing command "
                       f"[{' '.join(command)}], exit code {code}",
            "reason": "NonZeroExitCode",
            "details": {"causes": [{"reason": "ExitCode", "message": str(code)}]}}


class WebSocket:
    """Server side of RFC 6455 over an established stream (frames out unmasked)."""

    def __init__(self, reader: BinaryIO, writer: BinaryIO) -> None:
        self.reader = reader
        self.writer = writer
        self.lock = threading.Lock()
        self.closed = False

    def send(self, opcode: int, payload: bytes) -> None:
        head = bytes([0x80 | opcode])
        size = len(payload)
        if size < 126:
            head += bytes([size])
        elif size < 1 << 16:
            head += bytes([126]) + struct.pack("!H", size)
        else:
            head += bytes([127]) + struct.pack("!Q", size)
        with self.lock:
            if self.closed:
                return
            try:
                self.writer.write(head + payload)
                self.writer.flush()
            except OSError:
                self.closed = True

    def send_channel(self, channel: int, data: bytes) -> None:
        self.send(OP_BINARY, bytes([channel]) + data)

    def close(self, code: int = 1000) -> None:
        self.send(OP_CLOSE, struct.pack("!H", code))
        with self.lock:
            self.closed = True

    def _read(self, count: int) -> bytes:
        data = b""
        while len(data) < count:
            chunk = self.reader.read(count - len(data))
            if not chunk:
                raise EOFError
            data += chunk
        return data

    def receive(self) -> tuple[int, bytes]:
        """The next data message (opcode, payload); answers pings; EOFError at the end."""
        message, opcode = b"", None
        while True:
            first, second = self._read(2)
            op = first & 0x0F
            size = second & 0x7F
            if size == 126:
                size = struct.unpack("!H", self._read(2))[0]
            elif size == 127:
                size = struct.unpack("!Q", self._read(8))[0]
            mask = self._read(4) if second & 0x80 else b""
            payload = self._read(size)
            if mask:
                payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
            if op == OP_PING:
                self.send(OP_PONG, payload)
                continue
            if op == OP_PONG:
                continue
            if op == OP_CLOSE:
                raise EOFError
            if op != OP_CONT:
                opcode = op
            message += payload
            if first & 0x80:
                return opcode or OP_BINARY, message


def run_session(ws: WebSocket, argv: list[str], command: list[str], want_stdin: bool,
                env: dict[str, str] | None = None, started=None) -> int:
    """Run argv, streaming its output on channels 1 and 2; returns the exit code.

    started(proc): told of the process (in a session of its own, as a container's processes are
    apart from the node's), so that it ends with its container."""
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE if want_stdin else subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, start_new_session=True)
    if started is not None:
        started(proc)
    if want_stdin:
        threading.Thread(target=_feed_stdin, args=(ws, proc), daemon=True).start()
    else:
        threading.Thread(target=_drain_client, args=(ws, proc), daemon=True).start()
    # selectors (epoll), not select(): a server with many pods holds thousands of sockets, and
    # select() fails on any descriptor numbered 1024 or more
    streams = {proc.stdout.fileno(): STDOUT, proc.stderr.fileno(): STDERR}
    with selectors.DefaultSelector() as selector:
        for fd in streams:
            selector.register(fd, selectors.EVENT_READ)
        while streams:
            for key, _ in selector.select(1.0):
                data = os.read(key.fd, 65536)
                if data:
                    ws.send_channel(streams[key.fd], data)
                else:
                    selector.unregister(key.fd)
                    del streams[key.fd]
            # a closed client gets nothing more (send() drops it); the process runs on
    code = proc.wait()
    if code < 0:  # killed by a signal: 128 + its number, as runc reports it (libcontainer/utils ExitStatus)
        code = 128 - code
    ws.send_channel(ERROR, json.dumps(exit_status(code, command)).encode())
    ws.close()
    return code


def fail_session(ws: WebSocket, status: dict) -> None:
    """End a session whose command never started: kubelet writes the Status on channel 3."""
    ws.send_channel(ERROR, json.dumps(status).encode())
    ws.close()


def _feed_stdin(ws: WebSocket, proc: subprocess.Popen) -> None:
    try:
        while True:
            _, payload = ws.receive()
            if not payload:
                continue
            channel, data = payload[0], payload[1:]
            if channel == STDIN and proc.stdin:
                proc.stdin.write(data)
                proc.stdin.flush()
            elif channel == CLOSE and data[:1] == bytes([STDIN]) and proc.stdin:
                proc.stdin.close()
    except (EOFError, OSError, ValueError):
        pass
    finally:
        try:  # the client's stdin ended (or the client did): the process reads EOF, and runs on
            if proc.stdin:
                proc.stdin.close()
        except OSError:
            pass


def _drain_client(ws: WebSocket, proc) -> None:
    """Without stdin, still read the client's frames: pings, resizes, its close."""
    try:
        while True:
            ws.receive()
    except (EOFError, OSError, ValueError):
        if proc.poll() is None or isinstance(proc, _Done):
            with ws.lock:
                ws.closed = True


def handshake(handler, protocol: str) -> None:
    """Answer 101 Switching Protocols on the HTTP handler's connection."""
    key = handler.headers.get("Sec-WebSocket-Key", "")
    handler.send_response(101, "Switching Protocols")
    handler.send_header("Upgrade", "websocket")
    handler.send_header("Connection", "Upgrade")
    handler.send_header("Sec-WebSocket-Accept", accept_key(key))
    handler.send_header("Sec-WebSocket-Protocol", protocol)
    handler.end_headers()
    handler.wfile.flush()



def attach_session(ws: WebSocket, store, instance, since: float) -> None:
    """pods/attach: what the container's process writes from now on, stdout on channel 1 and
    stderr on 2, until the client closes or the container stops (then a Success status on 3).
    The client's stdin and resize frames are read and dropped: the emulated containers' main
    processes read no input."""
    threading.Thread(target=_drain_client, args=(ws, _Done()), daemon=True).start()
    with store.changed:
        position = len(instance.lines)
    while not ws.closed:
        with store.changed:
            if len(instance.lines) == position and instance.running:
                store.changed.wait(timeout=0.5)
            lines, running = list(instance.lines[position:]), instance.running
        position += len(lines)
        try:
            for line in lines:
                ws.send_channel(STDOUT if line.stream == "stdout" else STDERR, line.data)
        except OSError:
            return
        if not running:
            break
    if not ws.closed:
        ws.send_channel(ERROR, json.dumps({"metadata": {}, "status": "Success"}).encode())
        ws.close()


class _Done:
    """A stand-in for a process that has already finished (for _drain_client)."""

    @staticmethod
    def poll() -> int:
        return 0
