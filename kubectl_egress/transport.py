"""Connections to the API server, made as client-go's transport makes them.

Where a connection goes: through the kubeconfig's `proxy-url` (http, https or
socks5), else through the environment's proxy (HTTPS_PROXY or HTTP_PROXY, with
NO_PROXY), by Go's rules (golang.org/x/net http/httpproxy/proxy.go, which
net/http's ProxyFromEnvironment is): loopback addresses and `localhost` are never
proxied. How long it waits when no --request-timeout is given: client-go's
defaults (client-go transport/cache.go: dial 30s, TLS handshake 10s), and no
limit on the answer itself. TLS: the cluster's CA (or the system's), the client
certificate, `tls-server-name` (through a proxy too), insecure-skip-tls-verify.

HTTP/1.1 itself is http11.py. Standard library only: HTTP CONNECT and SOCKS5 (RFC 1928, RFC 1929) are a few
lines each. TLS inside an HTTPS proxy's TLS uses urllib3's SSLTransport (the
official client's HTTP library), loaded only for that case.
"""
from __future__ import annotations

import base64
import ipaddress
import socket
import ssl
import struct
import threading
import time
from dataclasses import dataclass
from typing import Any, Mapping
from urllib.parse import SplitResult, unquote, urlsplit

from .http11 import Connection, RemoteDisconnected

# client-go transport/cache.go (tlsCache.get): net.Dialer{Timeout: 30 * time.Second} and
# http.Transport{TLSHandshakeTimeout: 10 * time.Second}.
DIAL_TIMEOUT = 30.0
TLS_HANDSHAKE_TIMEOUT = 10.0
DEFAULT_PORTS = {"http": 80, "https": 443, "socks5": 1080}  # httpproxy's portMap
PROXY_SCHEMES = ("http", "https", "socks5")  # clientcmd client_config.go parseProxyURL
# golang.org/x/net internal/socks: the text of each reply code
SOCKS_REPLIES = {1: "general SOCKS server failure", 2: "connection not allowed by ruleset",
                 3: "network unreachable", 4: "host unreachable", 5: "connection refused",
                 6: "TTL expired", 7: "command not supported", 8: "address type not supported"}


class TransportError(OSError):
    """A failure on the way to the server, worded as Go's net/http words it (kubectl prints
    it after `Unable to connect to the server: `)."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


class HandshakeTimeout(TransportError, TimeoutError):
    """client-go's 10s TLS handshake limit ran out."""


# -- which proxy (Go's httpproxy) ------------------------------------------------------------
@dataclass(frozen=True)
class ProxyEnv:
    """golang.org/x/net httpproxy.Config: the proxy settings of the environment."""

    http_proxy: str = ""
    https_proxy: str = ""
    no_proxy: str = ""
    cgi: bool = False  # REQUEST_METHOD set: HTTP_PROXY is not trusted (httpoxy)

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> "ProxyEnv":
        """httpproxy.FromEnvironment: upper case first, the first non-empty value wins."""
        def first(*names: str) -> str:
            return next((environ[n] for n in names if environ.get(n)), "")
        return cls(first("HTTP_PROXY", "http_proxy"), first("HTTPS_PROXY", "https_proxy"),
                   first("NO_PROXY", "no_proxy"), bool(environ.get("REQUEST_METHOD")))


def parse_proxy(text: str) -> str | None:
    """httpproxy's parseProxy: a value without a scheme or host is read as `http://VALUE`."""
    if not text:
        return None
    parts = urlsplit(text)
    if not parts.scheme or not parts.netloc:
        return "http://" + text
    return text


def proxy_for_url(env: ProxyEnv, url: str) -> str | None:
    """httpproxy's proxyForURL: the proxy for a request to url, or None to connect directly."""
    parts = urlsplit(url)
    if parts.scheme == "https":
        proxy = parse_proxy(env.https_proxy)
    elif parts.scheme == "http":
        proxy = parse_proxy(env.http_proxy)
        if proxy and env.cgi:
            raise TransportError("refusing to use HTTP_PROXY value in CGI environment; "
                                 "see golang.org/s/cgihttpproxy")
    else:
        proxy = None
    if not proxy:
        return None
    host = _ascii(parts.hostname or "")
    port = str(parts.port or DEFAULT_PORTS.get(parts.scheme, ""))
    return proxy if use_proxy(env.no_proxy, host, port) else None


def _ascii(host: str) -> str:
    """httpproxy's idnaASCII: non-ASCII labels in punycode (`.示例.com` -> `.xn--fsq092h.com`)."""
    if host.isascii():
        return host
    try:
        return ".".join(label if label.isascii() else label.encode("idna").decode() for label in host.split("."))
    except UnicodeError:
        return host


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _split_host_port(text: str) -> tuple[str, str] | None:
    """Go's net.SplitHostPort, or None where it fails (no port, too many colons)."""
    if text.startswith("["):
        end = text.find("]")
        if end < 0 or text[end + 1:end + 2] != ":":
            return None
        return text[1:end], text[end + 2:]
    host, sep, port = text.rpartition(":")
    if not sep or ":" in host:
        return None
    return host, port


def use_proxy(no_proxy: str, host: str, port: str) -> bool:
    """httpproxy's useProxy: False when host:port is loopback, localhost, or matched by NO_PROXY.

    NO_PROXY entries: `*`; an IP or CIDR; `IP:port`, `[IPv6]:port`; `example.com` (itself and
    its subdomains), `.example.com` and `*.example.com` (subdomains only), each with an
    optional `:port`.
    """
    if host == "localhost":
        return False
    ip = _ip(host)
    if ip is not None and ip.is_loopback:
        return False
    host = host.strip().lower()
    for entry in no_proxy.split(","):
        rule = entry.strip().lower()
        if not rule:
            continue
        if rule == "*":
            return False
        if "/" in rule:
            try:
                net = ipaddress.ip_network(rule, strict=False)
            except ValueError:
                net = None
            if net is not None:
                if ip is not None and ip.version == net.version and ip in net:
                    return False
                continue
        split = _split_host_port(rule)
        rule_host, rule_port = split if split else (rule, "")
        if split and not rule_host:
            continue  # ":1": no host part, malformed
        rule_ip = _ip(rule_host) if "%" not in rule_host else None
        if rule_ip is not None:
            if ip is not None and ip == rule_ip and rule_port in ("", port):
                return False
            continue
        if not rule_host:
            continue
        if rule_host.startswith("*."):
            rule_host = rule_host[1:]
        exact = not rule_host.startswith(".")
        if exact:
            rule_host = "." + rule_host
        rule_host = _ascii(rule_host)
        if ip is None and (host.endswith(rule_host) or (exact and host == rule_host[1:])) \
                and rule_port in ("", port):
            return False
    return True


def check_proxy_url(text: str) -> str:
    """clientcmd's parseProxyURL: the kubeconfig's proxy-url must be http, https or socks5."""
    scheme = urlsplit(text).scheme
    if scheme not in PROXY_SCHEMES:
        raise ValueError(f'unsupported scheme "{scheme}", must be http, https, or socks5')
    return text


def tls_context(creds) -> ssl.SSLContext | None:
    """client-go's TLS config: the cluster's CA (or the system's), insecure-skip-tls-verify, the
    client certificate; HTTP/1.1 only."""
    if not creds.server.startswith("https://"):
        return None
    context = ssl.create_default_context(cafile=creds.ca_file if not creds.insecure else None)
    if creds.insecure:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    if creds.cert_file:
        context.load_cert_chain(creds.cert_file, creds.key_file)
    context.set_alpn_protocols(["http/1.1"])
    return context


# -- opening a connection ------------------------------------------------------------------------
def _hostport(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _dial_text(err: OSError, addr: str) -> str:
    """An OS error of a dial, as Go words it."""
    if isinstance(err, socket.gaierror):
        return f"dial tcp: lookup {addr.rsplit(':', 1)[0].strip('[]')}: no such host"
    if isinstance(err, (socket.timeout, TimeoutError)):
        return f"dial tcp {addr}: i/o timeout"
    if isinstance(err, ConnectionRefusedError):
        return f"dial tcp {addr}: connect: connection refused"
    return f"dial tcp {addr}: {err.strerror or err}"


class Dialer:
    """Opens connections to one API server: direct or through a proxy, then TLS.

    timeout: --request-timeout in seconds (None or 0: none); it also bounds the dial and the
    TLS handshake, which otherwise have client-go's own limits.
    """

    def __init__(self, server: str, *, context: ssl.SSLContext | None, server_name: str | None,
                 proxy: str | None, timeout: float | None) -> None:
        parts = urlsplit(server)
        self.tls = parts.scheme == "https"
        self.host = parts.hostname or "localhost"
        self.port = parts.port or (443 if self.tls else 80)
        self.context = context if self.tls else None
        self.server_name = server_name or None
        self.proxy: SplitResult | None = urlsplit(proxy) if proxy else None
        self.timeout = timeout or None

    @property
    def tls_name(self) -> str:
        """The name the server's certificate must carry (tls-server-name, else the host)."""
        return self.server_name or self.host

    def _limit(self, default: float, deadline: float | None) -> tuple[float, bool]:
        """(seconds to wait, whether it is the request timeout rather than client-go's default)."""
        if deadline is None:
            return default, False
        left = max(deadline - time.monotonic(), 0.001)
        return (left, True) if left <= default else (default, False)

    def open(self) -> Any:
        """A connected socket (TLS-wrapped for https), its timeout set to --request-timeout."""
        deadline = time.monotonic() + self.timeout if self.timeout else None
        if self.proxy is None:
            wait, _ = self._limit(DIAL_TIMEOUT, deadline)
            sock: Any = socket.create_connection((self.host, self.port), timeout=wait)
        else:
            sock = self._through_proxy(self.proxy, deadline)
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except (OSError, AttributeError):
            pass  # an SSLTransport over an HTTPS proxy has no options of its own
        if self.context is not None:
            sock = self._handshake(sock, self.tls_name, deadline, nested=self.proxy is not None
                                   and self.proxy.scheme == "https")
        sock.settimeout(self.timeout)
        return sock

    def _handshake(self, sock: Any, name: str, deadline: float | None, nested: bool = False,
                   context: ssl.SSLContext | None = None) -> Any:
        context = context or self.context
        assert context is not None
        wait, is_request = self._limit(TLS_HANDSHAKE_TIMEOUT, deadline)
        sock.settimeout(wait)
        try:
            if nested:  # TLS inside the proxy's TLS
                from urllib3.util.ssltransport import SSLTransport
                return SSLTransport(sock, context, server_hostname=name)
            return context.wrap_socket(sock, server_hostname=name)
        except (socket.timeout, TimeoutError):
            sock.close()
            if is_request:
                raise socket.timeout("timed out") from None
            raise HandshakeTimeout("net/http: TLS handshake timeout") from None
        except BaseException:
            sock.close()
            raise

    def _through_proxy(self, proxy: SplitResult, deadline: float | None) -> Any:
        scheme = proxy.scheme
        proxy_host = proxy.hostname or ""
        proxy_port = proxy.port or DEFAULT_PORTS.get(scheme, 80)
        proxy_addr = _hostport(proxy_host, proxy_port)
        target = _hostport(self.host, self.port)
        wait, _ = self._limit(DIAL_TIMEOUT, deadline)
        try:
            sock: Any = socket.create_connection((proxy_host, proxy_port), timeout=wait)
        except OSError as err:
            text = _dial_text(err, proxy_addr)
            if scheme == "socks5":
                raise TransportError(f"socks connect tcp {proxy_addr}->{target}: {text}") from None
            raise TransportError(f"proxyconnect tcp: {text}") from None
        try:
            if scheme == "socks5":
                _socks5_connect(sock, self.host, self.port, proxy, f"{proxy_addr}->{target}")
                return sock
            if scheme == "https":
                # net/http's addTLS: the transport's own TLS config (the system's for an http
                # server), ServerName the proxy's host unless tls-server-name is set
                sock = self._handshake(sock, self.server_name or proxy_host, deadline,
                                       context=self.context or ssl.create_default_context())
            _http_connect(sock, target, proxy)
            return sock
        except BaseException:
            sock.close()
            raise


def _read_head(sock: Any, limit: int = 65536) -> bytes:
    """Bytes up to the blank line ending an HTTP head; nothing of what follows."""
    data = bytearray()
    while not data.endswith(b"\r\n\r\n"):
        chunk = sock.recv(1)
        if not chunk:
            raise TransportError("proxyconnect tcp: unexpected EOF")
        data += chunk
        if len(data) > limit:
            raise TransportError("proxyconnect tcp: the proxy's answer is too long")
    return bytes(data)


def _http_connect(sock: Any, target: str, proxy: SplitResult) -> None:
    """net/http's CONNECT to an HTTP(S) proxy; a status other than 200 is the error."""
    head = [f"CONNECT {target} HTTP/1.1", f"Host: {target}"]
    if proxy.username is not None:
        pair = f"{unquote(proxy.username)}:{unquote(proxy.password or '')}".encode()
        head.append("Proxy-Authorization: Basic " + base64.b64encode(pair).decode())
    sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode())
    status_line = _read_head(sock).split(b"\r\n", 1)[0].decode("latin-1")
    parts = status_line.split(" ", 2)
    if len(parts) < 2 or parts[1] != "200":
        # net/http transport.go: the text after the status code is the error
        raise TransportError(parts[2] if len(parts) == 3 else "unknown status code")


def _socks5_connect(sock: Any, host: str, port: int, proxy: SplitResult, where: str) -> None:
    """SOCKS5 CONNECT (RFC 1928), with username/password (RFC 1929) when the URL has them; the
    host name is sent as is for the proxy to resolve, as golang.org/x/net internal/socks does."""
    def fail(text: str) -> TransportError:
        return TransportError(f"socks connect tcp {where}: {text}")

    def read(count: int) -> bytes:
        data = b""
        while len(data) < count:
            chunk = sock.recv(count - len(data))
            if not chunk:
                raise fail("unexpected EOF")
            data += chunk
        return data

    with_password = proxy.username is not None
    sock.sendall(b"\x05\x02\x00\x02" if with_password else b"\x05\x01\x00")
    version, method = read(2)
    if version != 5:
        raise fail(f"unexpected protocol version {version}")
    if method == 0x02 and with_password:
        user, password = unquote(proxy.username or "").encode(), unquote(proxy.password or "").encode()
        sock.sendall(bytes([1, len(user)]) + user + bytes([len(password)]) + password)
        if read(2)[1] != 0:
            raise fail("username/password authentication failed")
    elif method != 0x00:
        raise fail("no acceptable authentication methods")
    ip = _ip(host)
    if ip is None:
        name = host.encode("idna") if not host.isascii() else host.encode()
        address = b"\x03" + bytes([len(name)]) + name
    else:
        address = (b"\x01" if ip.version == 4 else b"\x04") + ip.packed
    sock.sendall(b"\x05\x01\x00" + address + struct.pack(">H", port))
    _, reply, _, kind = read(4)
    if reply != 0:
        raise fail("unknown error " + SOCKS_REPLIES.get(reply, f"unknown code: {reply}"))
    read({1: 4, 4: 16}.get(kind, 0) or read(1)[0])
    read(2)  # the bound port


# -- HTTP/1.1 over those connections ----------------------------------------------------------------
class Transport:
    """HTTP/1.1 keep-alive connections to one server, one per thread.

    A request on a reused connection that the server has meanwhile closed is
    sent again once, if it is idempotent.
    """

    IDEMPOTENT = ("GET", "HEAD", "PUT", "DELETE", "OPTIONS")

    def __init__(self, dialer: Dialer, prefix: str = "") -> None:
        self.dialer = dialer
        self.tls = dialer.tls
        self.prefix = prefix.rstrip("/")
        self.local = threading.local()

    def request(self, method: str, target: str, body: bytes | None,
                headers: Mapping[str, str] | list[tuple[str, str]]) -> tuple[int, str, list[tuple[str, str]], bytes]:
        items = list(headers.items() if isinstance(headers, Mapping) else headers)
        if body is not None:
            items.append(("Content-Length", str(len(body))))
        for attempt in (0, 1):
            conn = getattr(self.local, "conn", None)
            reused = conn is not None
            if conn is None:
                conn = self.local.conn = Connection(self.dialer)
            try:
                resp = conn.exchange(method, self.prefix + target, body, items)
            except (RemoteDisconnected, ConnectionResetError, BrokenPipeError) as err:
                conn.close()
                self.local.conn = None
                if reused and attempt == 0 and method in self.IDEMPOTENT:
                    continue
                raise err
            except BaseException:
                conn.close()
                self.local.conn = None
                raise
            if resp.will_close:
                conn.close()
                self.local.conn = None
            return resp.status, resp.reason, resp.headers, resp.body
        raise AssertionError("unreachable")
