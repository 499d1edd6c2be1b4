"""The emulated internet: the seed's external hosts, answering on their own addresses.

Pods see these hosts at these addresses (and only these, in their network
namespace): an httpbin-like echo at httpbin.org, a Wikipedia main page at the
seed's two Wikipedia IPs, example.com, and two misbehaving hosts for the
probe's diagnoses, and three that answer 200 and then fail the body (what curl
reports as exit 18, 28 or 56 with an HTTP 200). HTTPS uses certificates from the local cluster's CA, which
the pods trust. Each host serves one request per connection over any stream
socket it is handed.
"""
from __future__ import annotations

import json
import socket
import ssl
import threading
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:  # pragma: no cover
    from .pki import CA


@dataclass(frozen=True)
class Host:
    name: str
    ips: tuple[str, ...]
    app: str  # httpbin, wikipedia, static, site, tarpit, closed, or a BROKEN_BODY one
    http: int | None = 80
    https: int | None = 443
    aliases: tuple[str, ...] = ()
    self_signed: bool = False  # its certificate is its own, not the cluster CA's

    @property
    def names(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)


HOSTS: tuple[Host, ...] = (
    Host("httpbin.org", ("203.0.113.80",), "httpbin", aliases=("www.httpbin.org",)),
    Host("en.wikipedia.org", ("198.35.26.96", "208.80.153.224"), "wikipedia",
         aliases=("wikipedia.org", "www.wikipedia.org")),
    Host("example.com", ("203.0.113.10", "2001:db8:ec::10"), "static", aliases=("www.example.com",)),
    # plain HTTP gets a 301 to the same URL over https, as edition.cnn.com answers in Istio's
    # "Egress TLS Origination" task; HTTPS serves the page
    Host("site.example", ("203.0.113.44",), "site", aliases=("www.site.example",)),
    # badssl.com's host whose certificate no CA signed: clients that verify refuse it
    Host("self-signed.badssl.com", ("203.0.113.43",), "static", http=None, self_signed=True),
    # answers nothing: connections hang until the client gives up
    Host("slow.example.net", ("203.0.113.66",), "tarpit"),
    # up, but no service on any port: connections are refused
    Host("closed.example.net", ("203.0.113.99",), "closed", http=None, https=None),
    # answer 200 and a Content-Length, then fail the body: close early, stall, or reset
    Host("cut.example.net", ("203.0.113.67",), "cut", https=None),
    Host("stall.example.net", ("203.0.113.68",), "stall", https=None),
    Host("reset.example.net", ("203.0.113.69",), "reset", https=None),
)
BROKEN_BODY = ("cut", "stall", "reset")
PROMISED, SENT = 1024, 16  # bytes the broken-body hosts announce, and send

WIKIPEDIA_PAGE = """<!DOCTYPE html>
<html class="client-nojs" lang="en" dir="ltr">
<head>
<meta charset="UTF-8">
<title>Wikipedia, the free encyclopedia</title>
</head>
<body><h1>Welcome to Wikipedia</h1><p>the free encyclopedia that anyone can edit.</p></body>
</html>
"""
SITE_PAGE = """<!doctype html>
<html><head><title>site.example</title></head>
<body><h1>site.example</h1><p>Served over HTTPS only.</p></body></html>
"""
EXAMPLE_PAGE = """<!doctype html>
<html><head><title>Example Domain</title></head>
<body><h1>Example Domain</h1><p>This domain is for use in documentation examples.</p></body></html>
"""


def title_case(name: str) -> str:
    """httpbin echoes header names as Werkzeug does: `X-Envoy-Decorator-Operation`."""
    return "-".join(part[:1].upper() + part[1:].lower() for part in name.split("-"))


class _Handler(BaseHTTPRequestHandler):
    """One HTTP/1.1 request on a handed-over stream; the app decides the answer."""

    protocol_version = "HTTP/1.1"
    server_version = ""
    sys_version = ""
    app: Callable[["_Handler"], tuple[int, dict, bytes]]
    scheme = "http"
    peer = "0.0.0.0"

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - stdlib signature
        return

    def _any(self) -> None:
        code, headers, body = self.app(self)
        self.send_response_only(code)
        headers = {"Date": self.date_time_string(), "Content-Length": str(len(body)),
                   "Connection": "close", **headers}
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        self.close_connection = True

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = do_OPTIONS = _any

    def handle_one_request(self) -> None:
        # nginx rejects a request whose first byte cannot start a method at once, without waiting
        # for a line (src/http/ngx_http_parse.c, ngx_http_parse_request_line, state sw_start): a
        # TLS ClientHello sent to a plain-HTTP port, or carried inside TLS by a proxy that wrapped
        # a client's own TLS again (double TLS), gets this 400 in plain text
        first = self.rfile.peek(1)[:1]
        if first and first not in b"\r\n" and not (first.isupper() or first in b"_-"):
            self.wfile.write(b"HTTP/1.1 400 Bad Request\r\nServer: nginx\r\nContent-Type: text/html\r\n"
                             + f"Content-Length: {len(BAD_REQUEST)}\r\nConnection: close\r\n\r\n".encode()
                             + BAD_REQUEST)
            self.close_connection = True
            return
        super().handle_one_request()


BAD_REQUEST = (b"<html>\r\n<head><title>400 Bad Request</title></head>\r\n<body>\r\n"
               b"<center><h1>400 Bad Request</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n")


# httpbin leaves these out of what it echoes, unless asked with ?show_env=1
ENV_HEADERS = ("X-Varnish", "X-Request-Start", "X-Heroku-Queue-Depth", "X-Real-Ip", "X-Forwarded-Proto",
               "X-Forwarded-Protocol", "X-Forwarded-Ssl", "X-Heroku-Queue-Wait-Time", "X-Forwarded-For",
               "X-Heroku-Dynos-In-Use", "X-Forwarded-Port", "X-Request-Id", "Via", "Total-Route-Time",
               "Connect-Time")


def _json(code: int, data: dict, server: str = "gunicorn/19.9.0") -> tuple[int, dict, bytes]:
    # httpbin.org: sorted keys, two spaces of indent, and Flask's old ", " separator
    body = (json.dumps(data, indent=2, sort_keys=True, separators=(", ", ": ")) + "\n").encode()
    return code, {"Content-Type": "application/json", "Server": server,
                  "Access-Control-Allow-Origin": "*", "Access-Control-Allow-Credentials": "true"}, body


def httpbin(req: _Handler) -> tuple[int, dict, bytes]:
    path, _, query = req.path.partition("?")
    headers = {title_case(k): v for k, v in req.headers.items()}
    if "show_env" not in query:
        headers = {k: v for k, v in headers.items() if k not in ENV_HEADERS}
    headers["X-Amzn-Trace-Id"] = "Root=1-" + uuid.uuid4().hex[:8] + "-" + uuid.uuid4().hex[:24]
    if path == "/headers":
        return _json(200, {"headers": headers})
    if path == "/ip":
        return _json(200, {"origin": req.peer})
    if path in ("/get", "/anything") or path.startswith("/anything/"):
        host = req.headers.get("Host", "httpbin.org")
        return _json(200, {"args": {}, "headers": headers, "origin": req.peer,
                           "url": f"{req.scheme}://{host}{req.path}"})
    if path.startswith("/status/"):
        try:
            code = int(path.rsplit("/", 1)[1])
        except ValueError:
            return _json(400, {"error": "bad status"})
        return code, {"Server": "gunicorn/19.9.0", "Content-Type": "text/html; charset=utf-8"}, b""
    if path == "/":
        return 200, {"Content-Type": "text/html; charset=utf-8", "Server": "gunicorn/19.9.0"}, \
            b"<!DOCTYPE html><html><head><title>httpbin.org</title></head><body>httpbin</body></html>\n"
    return 404, {"Content-Type": "text/html", "Server": "gunicorn/19.9.0"}, b"<h1>Not Found</h1>\n"


def wikipedia(req: _Handler) -> tuple[int, dict, bytes]:
    path = req.path.split("?", 1)[0]
    base = {"Server": "mw-web.eqiad.main-7f5d4b5b8f-abcde", "Content-Language": "en"}
    if req.scheme == "http":
        return 301, {**base, "Location": f"https://en.wikipedia.org{req.path}"}, b""
    if path in ("/", "/wiki", "/wiki/"):
        return 301, {**base, "Location": "https://en.wikipedia.org/wiki/Main_Page"}, b""
    if path == "/wiki/Main_Page":
        return 200, {**base, "Content-Type": "text/html; charset=UTF-8"}, WIKIPEDIA_PAGE.encode()
    return 404, {**base, "Content-Type": "text/html; charset=UTF-8"}, \
        b"<!DOCTYPE html><title>Not Found</title><p>The requested page does not exist.</p>\n"


def static(req: _Handler) -> tuple[int, dict, bytes]:
    return 200, {"Content-Type": "text/html; charset=UTF-8", "Server": "ECAcc (nyd/D13E)"}, \
        EXAMPLE_PAGE.encode()


def site(req: _Handler) -> tuple[int, dict, bytes]:
    """Plain HTTP: 301 to https:// and the same path (nginx's `return 301 https://$host$request_uri`,
    as edition.cnn.com answers `curl http://edition.cnn.com/politics` in Istio's "Egress TLS
    Origination" task). HTTPS: the page at /, 404 elsewhere."""
    host = (req.headers.get("Host") or "site.example").split(":")[0]
    base = {"Server": "nginx", "Content-Type": "text/html"}
    if req.scheme == "http":
        body = (b"<html>\r\n<head><title>301 Moved Permanently</title></head>\r\n<body>\r\n"
                b"<center><h1>301 Moved Permanently</h1></center>\r\n<hr><center>nginx</center>\r\n"
                b"</body>\r\n</html>\r\n")
        return 301, {**base, "Location": f"https://{host}{req.path}"}, body
    if req.path.split("?", 1)[0] in ("/", "/index.html"):
        return 200, {**base, "Content-Type": "text/html; charset=utf-8"}, SITE_PAGE.encode()
    return 404, base, b"<html><head><title>404 Not Found</title></head><body><h1>404 Not Found</h1></body></html>\n"


APPS: dict[str, Callable[[_Handler], tuple[int, dict, bytes]]] = {
    "httpbin": httpbin, "wikipedia": wikipedia, "static": static, "site": site}


def _starts_tls(conn: socket.socket) -> bool:
    """Does the client open with a TLS handshake record?"""
    conn.settimeout(10)
    try:
        return conn.recv(1, socket.MSG_PEEK) == b"\x16"
    except OSError:
        return False
    finally:
        conn.settimeout(None)


@dataclass
class Internet:
    """Looks hosts up by name or address, and serves a connection made to one."""

    ca: "CA | None" = None
    hosts: tuple[Host, ...] = HOSTS
    _contexts: dict[str, ssl.SSLContext] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def by_ip(self, ip: str) -> Host | None:
        return next((h for h in self.hosts if ip in h.ips), None)

    def by_name(self, name: str) -> Host | None:
        name = name.rstrip(".").lower()
        return next((h for h in self.hosts if name in h.names), None)

    def ips(self) -> list[str]:
        return [ip for h in self.hosts for ip in h.ips]

    def ports(self) -> set[int]:
        return {p for h in self.hosts for p in (h.http, h.https) if p}

    def _tls(self, host: Host) -> ssl.SSLContext:
        with self._lock:
            if host.name not in self._contexts:
                if self.ca is None:
                    raise RuntimeError("the emulated internet needs a CA for HTTPS")
                names = [host.name, *host.aliases, f"*.{host.name.split('.', 1)[1]}"]
                pair = self.ca.self_signed(f"internet-{host.name}", names) if host.self_signed else \
                    self.ca.certificate(f"internet-{host.name}", names)
                context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
                context.load_cert_chain(pair.cert, pair.key)
                context.set_alpn_protocols(["http/1.1"])
                self._contexts[host.name] = context
            return self._contexts[host.name]

    def serves(self, ip: str, port: int) -> bool:
        host = self.by_ip(ip)
        return host is not None and port in (host.http, host.https)

    def serve(self, conn: socket.socket, ip: str, port: int, peer: str = "10.244.0.1") -> None:
        """Answer one connection made to ip:port (the caller made sure serves() is true)."""
        host = self.by_ip(ip)
        assert host is not None
        if host.app == "tarpit":
            try:
                conn.settimeout(60)
                while conn.recv(65536):
                    pass
            except OSError:
                pass
            return
        if host.app in BROKEN_BODY:
            _broken_body(conn, host.app)
            return
        scheme = "https" if port == host.https else "http"
        stream = conn
        if scheme == "https" and not _starts_tls(conn):
            # as nginx answers plain HTTP on a TLS port
            body = b"<html><head><title>400 The plain HTTP request was sent to HTTPS port</title></head>\n"
            try:
                conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Type: text/html\r\nConnection: close\r\n"
                             + f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
            except OSError:
                pass  # the client left without a word (a proxy that had no certificate to use, say)
            return
        if scheme == "https":
            try:
                stream = self._tls(host).wrap_socket(conn, server_side=True)
            except (ssl.SSLError, OSError):
                return  # the client spoke something else, or gave up
        handler = type("Handler", (_Handler,), {"app": staticmethod(APPS[host.app]),
                                                "scheme": scheme, "peer": peer})
        try:
            handler(stream, (peer, 0), None)
        except (OSError, ssl.SSLError):
            pass
        finally:
            try:
                stream.close()
            except OSError:
                pass



def _broken_body(conn: socket.socket, how: str) -> None:
    """Read one request, answer 200 with a Content-Length, send part of the body, then:
    cut: close (curl: 18, transfer closed with bytes remaining); stall: send nothing more
    until the client leaves (curl: 28 at --max-time); reset: a TCP RST (curl: 56, Recv failure)."""
    conn.settimeout(10)
    try:
        head = b""
        while b"\r\n\r\n" not in head and len(head) < 65536:
            data = conn.recv(4096)
            if not data:
                return
            head += data
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
                     + f"Content-Length: {PROMISED}\r\nConnection: close\r\n\r\n".encode() + b"x" * SENT)
        if how == "stall":
            conn.settimeout(60)
            while conn.recv(65536):
                pass
        elif how == "reset":
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    except OSError:
        pass
