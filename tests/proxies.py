"""Small network helpers for connection tests: an HTTP CONNECT proxy (optionally over TLS), a
SOCKS5 proxy, and a server that accepts connections and never answers.

The proxies stand for a corporate proxy or an `ssh -D` bastion: the names they are asked for
resolve on their side only (every name is this machine, 127.0.0.1), so a server name the
client cannot resolve is reachable only through them. Each records the targets it was asked
for, so a test can tell whether a client went through it.
"""
from __future__ import annotations

import base64
import selectors
import socket
import ssl
import struct
import threading
from pathlib import Path


def _relay(a: socket.socket, b: socket.socket) -> None:
    """Copy bytes both ways until either side closes. A selector, not select.select: in a long
    test run the process's descriptors pass 1023, which select.select cannot watch."""
    pair = [a, b]
    watch = selectors.DefaultSelector()
    try:
        for sock in pair:
            watch.register(sock, selectors.EVENT_READ)
        while True:
            ready = [key.fileobj for key, _ in watch.select(30)]
            if not ready:
                return
            for sock in ready:
                data = sock.recv(65536)
                if not data:
                    return
                (b if sock is a else a).sendall(data)
    except OSError:
        return
    finally:
        watch.close()
        for sock in pair:
            sock.close()


def _upstream(host: str, port: int) -> socket.socket:
    """The proxy's side of the network: every name is this machine."""
    try:
        socket.inet_pton(socket.AF_INET6 if ":" in host else socket.AF_INET, host)
        address = host
    except OSError:
        address = "127.0.0.1"
    return socket.create_connection((address, port), timeout=10)


class _Listener:
    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.targets: list[str] = []
        self._stop = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._stop:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._guarded, args=(conn,), daemon=True).start()

    def _guarded(self, conn: socket.socket) -> None:
        try:
            self.serve(conn)
        except (OSError, ValueError, IndexError):
            conn.close()

    def serve(self, conn: socket.socket) -> None:
        raise NotImplementedError

    def close(self) -> None:
        self._stop = True
        self.sock.close()


class ConnectProxy(_Listener):
    """An HTTP proxy that tunnels CONNECT host:port. tls: serve the proxy itself over TLS (an
    `https://` proxy URL); auth: "user:password" it requires (407 otherwise)."""

    def __init__(self, tls: tuple[Path, Path] | None = None, auth: str | None = None) -> None:
        self.context = None
        if tls:
            self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self.context.load_cert_chain(*tls)
        self.auth = auth
        super().__init__()

    @property
    def url(self) -> str:
        creds = f"{self.auth}@" if self.auth else ""
        return f"{'https' if self.context else 'http'}://{creds}127.0.0.1:{self.port}"

    def serve(self, conn: socket.socket) -> None:
        if self.context is not None:
            conn = self.context.wrap_socket(conn, server_side=True)
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = conn.recv(1)
            if not chunk:
                conn.close()
                return
            head += chunk
        lines = head.decode("latin-1").split("\r\n")
        method, target = lines[0].split(" ")[:2]
        headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)}
        if method != "CONNECT":
            conn.sendall(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
            conn.close()
            return
        if self.auth and headers.get("proxy-authorization") != "Basic " + base64.b64encode(self.auth.encode()).decode():
            conn.sendall(b"HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n")
            conn.close()
            return
        self.targets.append(target)
        host, _, port = target.rpartition(":")
        try:
            upstream = _upstream(host.strip("[]"), int(port))
        except OSError:
            conn.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
            conn.close()
            return
        conn.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        if self.context is not None:  # a TLS socket: relay with a thread each way
            _relay_threads(conn, upstream)
        else:
            _relay(conn, upstream)


def _relay_threads(a, b) -> None:
    def pump(src, dst) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (a, b):
                try:
                    sock.close()
                except OSError:
                    pass
    threading.Thread(target=pump, args=(b, a), daemon=True).start()
    pump(a, b)


class Socks5Proxy(_Listener):
    """A SOCKS5 proxy (RFC 1928) for CONNECT, without authentication, resolving names itself
    (what `ssh -D` offers)."""

    @property
    def url(self) -> str:
        return f"socks5://127.0.0.1:{self.port}"

    def serve(self, conn: socket.socket) -> None:
        def read(count: int) -> bytes:
            data = b""
            while len(data) < count:
                chunk = conn.recv(count - len(data))
                if not chunk:
                    raise ValueError("closed")
                data += chunk
            return data

        _, count = read(2)
        methods = read(count)
        if 0 not in methods:
            conn.sendall(b"\x05\xff")
            conn.close()
            return
        conn.sendall(b"\x05\x00")
        _, command, _, kind = read(4)
        if kind == 1:
            host = socket.inet_ntop(socket.AF_INET, read(4))
        elif kind == 4:
            host = socket.inet_ntop(socket.AF_INET6, read(16))
        else:
            host = read(read(1)[0]).decode()
        port = struct.unpack(">H", read(2))[0]
        self.targets.append(f"{host}:{port}")
        try:
            upstream = _upstream(host, port)
        except OSError:
            conn.sendall(b"\x05\x05\x00\x01" + bytes(6))  # connection refused
            conn.close()
            return
        conn.sendall(b"\x05\x00\x00\x01" + socket.inet_aton("127.0.0.1") + struct.pack(">H", port))
        _relay(conn, upstream)


class SilentServer:
    """Accepts TCP connections (the kernel does, from its backlog) and never says a word: a
    TLS handshake with it never ends."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.url = f"https://127.0.0.1:{self.port}"

    def close(self) -> None:
        self.sock.close()
