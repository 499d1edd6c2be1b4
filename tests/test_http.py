"""http11: the HTTP/1.1 reader and writer, against http.client (what it stands in for) on the same bytes.

The answers are those CPython's Lib/test/test_httplib.py feeds http.client (BasicTest:
test_chunked, test_chunked_extension, test_chunked_trailers, test_incomplete_read,
test_status_lines, test_bad_status_repr, test_too_many_headers, test_headers_debuglevel's
folded header, ExtendedReadTest's 100 Continue, test_response_headers' HEAD), plus the
keep-alive rules of HTTPResponse._check_close. Each is read by both; status, reason,
headers, body and whether the connection closes must agree, or both must fail alike.
"""
import http.client
import io

import pytest

from kubectl_egress import http11
from kubectl_egress.http11 import Connection, Response
from kubectl_egress.transport import Dialer

CHUNKED = (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
           b"a\r\nhello worl\r\n3\r\nd! \r\n8\r\nand now \r\n22\r\nfor something completely different\r\n")
ANSWERS = {
    "length": b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
    "chunked": CHUNKED + b"0\r\n\r\n",
    "chunked extension": CHUNKED.replace(b"a\r\n", b"a;foo=bar\r\n", 1) + b"0;x=y\r\n\r\n",
    "chunked trailers": CHUNKED + b"0\r\nX-Trailer: 1\r\nX-Other: 2\r\n\r\n",
    "chunked, cut short": CHUNKED,
    "chunked, bad size": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    "length, cut short": b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nHello\r\n",
    "no length, read to close": b"HTTP/1.1 200 OK\r\n\r\nall of it",
    "connection close": b"HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 2\r\n\r\n{}",
    "1.0 without keep-alive": b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\n{}",
    "1.0 with keep-alive": b"HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 2\r\n\r\n{}",
    "1.0 with Keep-Alive header": b"HTTP/1.0 200 OK\r\nKeep-Alive: timeout=5\r\nContent-Length: 2\r\n\r\n{}",
    "negative length": b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\nrest",
    "204": b"HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n",
    "100 continue first": b"HTTP/1.1 100 Continue\r\nX: y\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\n{}",
    "folded and repeated headers": (b"HTTP/1.1 200 OK\r\nWarning: 299 - \"one\"\r\nX-Long: a\r\n  b\r\n"
                                    b"warning: 299 - \"two\"\r\nContent-Length: 0\r\n\r\n"),
    "a header line that is none": b"HTTP/1.1 200 OK\r\nA: 1\r\nnot a header\r\nB: 2\r\nContent-Length: 0\r\n\r\n",
    "reason with spaces": b"HTTP/1.1 422 Unprocessable Entity \r\nContent-Length: 0\r\n\r\n",
    "no reason": b"HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n",
    "empty": b"",
    "bad status line": b"HTTP/1.1 2xx OK\r\n\r\n",
    "not HTTP": b"SSH-2.0-OpenSSH_9.6\r\n",
    "status out of range": b"HTTP/1.1 1000 Huge\r\n\r\n",
    "unknown protocol": b"HTTP/2.0 200 OK\r\n\r\n",
    "too many headers": b"HTTP/1.1 200 OK\r\n" + b"X: y\r\n" * 100 + b"\r\n",
    "99 headers": b"HTTP/1.1 200 OK\r\n" + b"X: y\r\n" * 98 + b"Content-Length: 0\r\n\r\n",
    "header line too long": b"HTTP/1.1 200 OK\r\nX: " + b"y" * 70000 + b"\r\n\r\n",
}


class FakeSocket:
    """test_httplib's FakeSocket: makefile() gives the answer's bytes."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def makefile(self, mode: str) -> io.BufferedReader:
        return io.BufferedReader(io.BytesIO(self.data))


def outcome(read):
    try:
        return read()
    except Exception as err:  # both must fail with the same kind of error and text
        kind = "RemoteDisconnected" if isinstance(err, ConnectionResetError) else \
            "IncompleteRead" if "IncompleteRead" in type(err).__name__ else \
            "HTTPException" if isinstance(err, (http.client.HTTPException, http11.HTTPException)) else type(err).__name__
        return kind, str(err)


def reference(data: bytes, method: str):
    resp = http.client.HTTPResponse(FakeSocket(data), method=method)
    resp.begin()
    body = resp.read()
    return resp.status, resp.reason, resp.getheaders(), body, resp.will_close


def ours(data: bytes, method: str):
    resp = Response(FakeSocket(data).makefile("rb"), method)
    return resp.status, resp.reason, resp.headers, resp.body, resp.will_close


@pytest.mark.parametrize("method", ["GET", "HEAD"])
@pytest.mark.parametrize("name", list(ANSWERS))
def test_answers_read_as_http_client_reads_them(name, method):
    data = ANSWERS[name]
    assert outcome(lambda: ours(data, method)) == outcome(lambda: reference(data, method))


class Recorder:
    """A socket for HTTPConnection that records what it is sent."""

    def __init__(self) -> None:
        self.sent = b""

    def sendall(self, data: bytes) -> None:
        self.sent += data


def reference_request(host: str, port: int, method: str, target: str, headers, body: bytes | None) -> bytes:
    conn = http.client.HTTPConnection(host, port)
    conn.sock = Recorder()
    conn.putrequest(method, target, skip_accept_encoding=True)
    for name, value in headers:
        conn.putheader(name, value)
    conn.endheaders(body)
    return conn.sock.sent


@pytest.mark.parametrize("server,method,target,headers,body", [
    ("https://127.0.0.1:6443", "GET", "/api/v1/namespaces/default/services?limit=500",
     [("User-Agent", "kubectl-egress/v0"), ("Authorization", "Bearer abc"), ("Accept", "application/json")], None),
    ("https://[::1]:443", "POST", "/api/v1/namespaces/x/services?fieldManager=kubectl-egress",
     [("Content-Type", "application/json"), ("Content-Length", "2"), ("Impersonate-Group", "a"),
      ("Impersonate-Group", "b")], b"{}"),
    ("http://cluster.example:80", "DELETE", "/prefix/apis/x", [("Accept", "*/*")], None),
    ("https://bücher.example:6443", "GET", "/version", [], None),
    ("https://k8s.example", "GET", "/a b", [], None),
    ("https://k8s.example", "GE T", "/", [], None),
    ("https://k8s.example", "GET\x01", "/", [], None),
    ("https://k8s.example", "GET", "/", [("Authorization", "Bearer x\r\ny")], None),
    ("https://k8s.example", "GET", "/", [("Bad Name:", "v")], None),
    ("https://k8s.example", "GET", "/", [("X-Folded", "a\r\n b")], None),
])
def test_requests_written_as_http_client_writes_them(server, method, target, headers, body):
    dialer = Dialer(server, context=None, server_name=None, proxy=None, timeout=None)

    def mine() -> bytes:
        head = Connection(dialer).head(method, target, headers)
        return head + body if body is not None else head

    assert outcome(mine) == outcome(lambda: reference_request(dialer.host, dialer.port, method, target,
                                                              headers, body))
