"""transport: Go's proxy rules (vectors transcribed from golang.org/x/net
http/httpproxy/proxy_test.go), and connections through the test proxies and to a server that
never answers."""
from __future__ import annotations

import socket
import time

import pytest

from kubectl_egress.transport import (Dialer, HandshakeTimeout, ProxyEnv, TransportError, check_proxy_url,
                                      proxy_for_url, use_proxy)
from tests.proxies import ConnectProxy, SilentServer, Socks5Proxy

# proxyForURLTests: (HTTP_PROXY, HTTPS_PROXY, NO_PROXY, request URL, proxy chosen)
PROXY_FOR_URL = [
    ("127.0.0.1:8080", "", "", "", "http://127.0.0.1:8080"),
    ("cache.corp.example.com:1234", "", "", "", "http://cache.corp.example.com:1234"),
    ("cache.corp.example.com", "", "", "", "http://cache.corp.example.com"),
    ("localhost", "", "", "", "http://localhost"),
    ("https://cache.corp.example.com", "", "", "", "https://cache.corp.example.com"),
    ("http://127.0.0.1:8080", "", "", "", "http://127.0.0.1:8080"),
    ("https://127.0.0.1:8080", "", "", "", "https://127.0.0.1:8080"),
    ("socks5://127.0.0.1", "", "", "", "socks5://127.0.0.1"),
    ("foo://host", "", "", "", "foo://host"),
    ("http.proxy.tld", "secure.proxy.tld", "", "http://insecure.tld/", "http://http.proxy.tld"),
    ("http.proxy.tld", "secure.proxy.tld", "", "https://secure.tld/", "http://secure.proxy.tld"),
    ("http.proxy.tld", "https://secure.proxy.tld", "", "https://secure.tld/", "https://secure.proxy.tld"),
    ("http.proxy.tld", "", "", "https://secure.tld/", None),
    ("http.proxy.tld", "", "", "ftp://insecure.tld/", None),
    ("", "", "", "", None),
    ("proxy", "", "example.com", "http://example.com/", None),
    ("proxy", "", ".example.com", "http://example.com/", "http://proxy"),
    ("proxy", "", "ample.com", "http://example.com/", "http://proxy"),
    ("proxy", "", "example.com", "http://foo.example.com/", None),
    ("proxy", "", ".foo.com", "http://example.com/", "http://proxy"),
    ("proxy", "", ".示例.com", "http://www.示例.com", None),
    ("proxy", "", "xn--fsq092h.com", "http://www.示例.com", None),
    ("proxy", "", "示例.com", "http://www.xn--fsq092h.com", None),
    ("proxy", "", "example.com", "http://[1000::%25.example.com]:123", "http://proxy"),
]


@pytest.mark.parametrize("http_proxy, https_proxy, no_proxy, url, want", PROXY_FOR_URL)
def test_proxy_for_url(http_proxy, https_proxy, no_proxy, url, want):
    env = ProxyEnv(http_proxy=http_proxy, https_proxy=https_proxy, no_proxy=no_proxy)
    assert proxy_for_url(env, url or "http://example.com") == want


def test_http_proxy_is_refused_in_a_cgi_environment():
    env = ProxyEnv(http_proxy="http://10.1.2.3:8080", cgi=True)
    with pytest.raises(TransportError, match="refusing to use HTTP_PROXY value in CGI environment"):
        proxy_for_url(env, "http://example.com")
    assert proxy_for_url(ProxyEnv(https_proxy="https://secure.proxy.tld", cgi=True),
                         "https://secure.tld/") == "https://secure.proxy.tld"


NO_PROXY = ("foobar.com, .barbaz.net, *.wildcard.io, 192.168.1.1, 192.168.1.2:81, 192.168.1.3:80, "
            "10.0.0.0/30, 2001:db8::52:0:1, [2001:db8::52:0:2]:443, [2001:db8::52:0:3]:80, 2002:db8:a::45/64")
# UseProxyTests: host (port 80), whether the proxy is used
USE_PROXY = [
    ("localhost", False), ("127.0.0.1", False), ("127.0.0.2", False), ("::1", False), ("::2", True),
    ("192.168.1.1", False), ("192.168.1.2", True), ("192.168.1.3", False), ("192.168.1.4", True),
    ("10.0.0.2", False), ("2001:db8::52:0:1", False), ("2001:db8::52:0:2", True), ("2001:db8::52:0:3", False),
    ("2002:db8:a::123", False), ("fe80::424b:c8be:1643:a1b6", True),
    ("barbaz.net", True), ("www.barbaz.net", False), ("foobar.com", False), ("www.foobar.com", False),
    ("foofoobar.com", True), ("baz.com", True), ("localhost.net", True), ("local.localhost", True),
    ("barbarbaz.net", True), ("wildcard.io", True), ("nested.wildcard.io", False), ("awildcard.io", True),
]


@pytest.mark.parametrize("host, used", USE_PROXY)
def test_use_proxy(host, used):
    assert use_proxy(NO_PROXY, host, "80") is used


@pytest.mark.parametrize("host, used", USE_PROXY)
def test_no_proxy_star_matches_everything(host, used):
    assert use_proxy("*", host, "80") is False


def test_invalid_no_proxy_entry_is_ignored():
    assert use_proxy(":1", "example.com", "80") is True


@pytest.mark.parametrize("environ, want", [
    ({"HTTP_PROXY": "httpproxy", "HTTPS_PROXY": "httpsproxy", "NO_PROXY": "noproxy"},
     ProxyEnv("httpproxy", "httpsproxy", "noproxy", False)),
    ({"HTTP_PROXY": "httpproxy", "HTTPS_PROXY": "httpsproxy", "NO_PROXY": "noproxy", "REQUEST_METHOD": "PUT"},
     ProxyEnv("httpproxy", "httpsproxy", "noproxy", True)),
    ({"http_proxy": "httpproxy", "https_proxy": "httpsproxy", "no_proxy": "noproxy"},
     ProxyEnv("httpproxy", "httpsproxy", "noproxy", False)),
    ({"HTTPS_PROXY": "", "https_proxy": "lower"}, ProxyEnv(https_proxy="lower")),  # the first non-empty
])
def test_from_environment(environ, want):
    assert ProxyEnv.from_environ(environ) == want


@pytest.mark.parametrize("url, error", [
    ("http://proxy:3128", None), ("https://proxy", None), ("socks5://127.0.0.1:1080", None),
    ("ftp://proxy", 'unsupported scheme "ftp", must be http, https, or socks5'),
    ("proxy:3128", 'unsupported scheme "proxy", must be http, https, or socks5'),
])
def test_proxy_url_schemes(url, error):
    """clientcmd parseProxyURL: only http, https and socks5."""
    if error is None:
        assert check_proxy_url(url) == url
    else:
        with pytest.raises(ValueError, match=error):
            check_proxy_url(url)


# -- connections -------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def echo():
    """A plain TCP server that answers each connection's first line with `echo: LINE`."""
    import threading
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)

    def serve():
        while True:
            try:
                conn, _ = sock.accept()
            except OSError:
                return
            with conn:
                data = conn.recv(1024)
                conn.sendall(b"echo: " + data)
    threading.Thread(target=serve, daemon=True).start()
    yield sock.getsockname()[1]
    sock.close()


@pytest.mark.parametrize("kind", ["http", "socks5", "http-auth"])
def test_through_a_proxy_by_name(echo, kind):
    proxy = Socks5Proxy() if kind == "socks5" else ConnectProxy(auth="me:s3cret" if kind == "http-auth" else None)
    try:
        dialer = Dialer(f"http://unresolvable.internal:{echo}", context=None, server_name=None,
                        proxy=proxy.url, timeout=5)
        sock = dialer.open()
        sock.sendall(b"hello")
        assert sock.recv(100) == b"echo: hello"
        sock.close()
        assert proxy.targets == [f"unresolvable.internal:{echo}"]  # the proxy resolved the name
    finally:
        proxy.close()


def test_proxy_refusing_credentials():
    proxy = ConnectProxy(auth="me:s3cret")
    try:
        dialer = Dialer("http://unresolvable.internal:80", context=None, server_name=None,
                        proxy=f"http://127.0.0.1:{proxy.port}", timeout=5)
        with pytest.raises(TransportError, match="^Proxy Authentication Required$"):
            dialer.open()
    finally:
        proxy.close()


@pytest.mark.parametrize("proxy, text", [
    ("http://127.0.0.1:9", "proxyconnect tcp: dial tcp 127.0.0.1:9: connect: connection refused"),
    ("socks5://127.0.0.1:9", "socks connect tcp 127.0.0.1:9->kube.internal:6443: dial tcp 127.0.0.1:9: "
                             "connect: connection refused"),
])
def test_dead_proxy_in_go_words(proxy, text):
    dialer = Dialer("https://kube.internal:6443", context=None, server_name=None, proxy=proxy, timeout=5)
    with pytest.raises(TransportError) as err:
        dialer.open()
    assert err.value.text == text


def test_silent_server_tls_handshake_limits():
    """client-go's 10s TLS handshake limit, unless --request-timeout is shorter."""
    import ssl
    silent = SilentServer()
    try:
        context = ssl.create_default_context()
        started = time.monotonic()
        with pytest.raises(socket.timeout):
            Dialer(silent.url, context=context, server_name=None, proxy=None, timeout=0.3).open()
        assert time.monotonic() - started < 2
        import kubectl_egress.transport as transport
        original = transport.TLS_HANDSHAKE_TIMEOUT
        transport.TLS_HANDSHAKE_TIMEOUT = 0.2  # the real 10s is run against kubectl in test_connect_parity
        try:
            with pytest.raises(HandshakeTimeout, match="net/http: TLS handshake timeout"):
                Dialer(silent.url, context=context, server_name=None, proxy=None, timeout=None).open()
        finally:
            transport.TLS_HANDSHAKE_TIMEOUT = original
    finally:
        silent.close()


def test_plain_server_through_an_https_proxy(echo, ca, monkeypatch):
    """TLS to the proxy only (verified by the system's trust, here SSL_CERT_FILE, as OpenSSL reads
    it): the tunnel itself carries the plain server's bytes."""
    monkeypatch.setenv("SSL_CERT_FILE", str(ca.pair.cert))
    serving = ca.serving()
    proxy = ConnectProxy(tls=(serving.cert, serving.key))
    try:
        sock = Dialer(f"http://unresolvable.internal:{echo}", context=None, server_name=None,
                      proxy=proxy.url, timeout=5).open()
        sock.sendall(b"plain")
        assert sock.recv(100) == b"echo: plain"
        sock.close()
    finally:
        proxy.close()
