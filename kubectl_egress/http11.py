"""HTTP/1.1 on a connection transport's Dialer opens, as http.client speaks it.

The plugin's requests, written and read without importing http.client: its import brings
the email package, some 50 million instructions, more than all the requests of a `get`.
The framing rules are http.client's (CPython Lib/http/client.py: HTTPConnection.putrequest,
putheader, _send_output; HTTPResponse.begin, _check_close, _read_chunked, _safe_read;
parse_headers), so answers are read as before, and the errors keep http.client's names and
texts. tests/test_http.py reads the same bytes with both.
"""
from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Iterable

if TYPE_CHECKING:
    from .transport import Dialer

MAX_LINE = 65536  # http.client _MAXLINE
MAX_HEADERS = 100  # http.client _MAXHEADERS
_ILLEGAL_URL = re.compile("[\x00-\x20\x7f]")  # http.client _contains_disallowed_url_pchar_re
_ILLEGAL_METHOD = re.compile("[\x00-\x1f]")  # http.client _contains_disallowed_method_pchar_re
_LEGAL_HEADER_NAME = re.compile(rb"[^:\s][^:\r\n]*").fullmatch  # http.client _is_legal_header_name
_ILLEGAL_HEADER_VALUE = re.compile(rb"\n(?![ \t])|\r(?![ \t\n])").search  # _is_illegal_header_value


class HTTPException(Exception):
    """An answer that is not HTTP/1.x as http.client reads it (http.client.HTTPException)."""


class IncompleteRead(HTTPException):
    """The body ended before its length (http.client.IncompleteRead)."""

    def __init__(self, partial: bytes, expected: int | None = None) -> None:
        super().__init__(partial)
        self.partial, self.expected = partial, expected

    def __str__(self) -> str:
        more = f", {self.expected} more expected" if self.expected is not None else ""
        return f"IncompleteRead({len(self.partial)} bytes read{more})"


class RemoteDisconnected(ConnectionResetError, HTTPException):
    """The server closed the connection without an answer (http.client.RemoteDisconnected)."""


def _readline(fp: Any, what: str) -> bytes:
    line = fp.readline(MAX_LINE + 1)
    if len(line) > MAX_LINE:
        raise HTTPException(f"got more than {MAX_LINE} bytes when reading {what}")
    return line


def _head_lines(fp: Any) -> list[bytes]:
    """http.client's _read_headers: the header lines up to the blank one, which counts towards
    the limit as it does there."""
    lines = []
    while True:
        line = _readline(fp, "header line")
        lines.append(line)
        if len(lines) > MAX_HEADERS:
            raise HTTPException(f"got more than {MAX_HEADERS} headers")
        if line in (b"\r\n", b"\n", b""):
            return lines[:-1]


_HEADER_LINE = re.compile(r"^(From |[\041-\071\073-\176]*:|[\t ])")  # email.feedparser headerRE


def _fields(lines: list[bytes]) -> list[tuple[str, str]]:
    """(name, value) pairs as http.client's parse_headers gives them (email.feedparser with the
    compat32 policy): ISO-8859-1; a folded line continues the value above it; the headers end
    at the first line that is not one."""
    fields: list[list[str]] = []
    for raw in lines:
        line = raw.decode("iso-8859-1")
        if not _HEADER_LINE.match(line):
            break
        if line[0] in " \t":
            if fields:
                fields[-1][1] += line
            continue
        name, sep, value = line.partition(":")
        if line.startswith("From ") or not sep or not name:
            continue  # an envelope line or an empty name: dropped, as the parser drops them
        fields.append([name, value.lstrip(" \t")])
    return [(name, value.rstrip("\r\n")) for name, value in fields]


class Response:
    """One answer read from a connection: status, reason, headers, body (http.client's
    HTTPResponse.begin and read)."""

    def __init__(self, fp: Any, method: str) -> None:
        while True:
            version, self.status, reason = self._status_line(fp)
            if self.status != 100:  # 100 Continue: its headers skipped, the real answer follows
                break
            _head_lines(fp)
        self.reason = reason.strip()
        if version in ("HTTP/1.0", "HTTP/0.9"):
            self.version = 10
        elif version.startswith("HTTP/1."):
            self.version = 11
        else:
            raise HTTPException(version)  # UnknownProtocol
        self.headers = _fields(_head_lines(fp))
        chunked = (self.header("transfer-encoding") or "").lower() == "chunked"
        self.will_close = self._check_close()
        length: int | None = None
        if not chunked:
            try:
                length = int(self.header("content-length") or "")
            except ValueError:
                length = None
            if length is not None and length < 0:
                length = None
        if self.status in (204, 304) or 100 <= self.status < 200 or method == "HEAD":
            length = 0
        if not self.will_close and not chunked and length is None:
            self.will_close = True
        if method == "HEAD":
            self.body = b""
        elif chunked:
            self.body = self._chunked(fp)
        else:
            self.body = self._exact(fp, length)

    @staticmethod
    def _status_line(fp: Any) -> tuple[str, int, str]:
        line = str(_readline(fp, "status line"), "iso-8859-1")
        if not line:
            raise RemoteDisconnected("Remote end closed connection without response")
        try:
            version, status, reason = line.split(None, 2)
        except ValueError:
            try:
                version, status = line.split(None, 1)
                reason = ""
            except ValueError:
                version = ""
        if not version.startswith("HTTP/"):
            raise HTTPException(line)  # BadStatusLine
        try:
            code = int(status)
        except ValueError:
            raise HTTPException(line) from None
        if not 100 <= code <= 999:
            raise HTTPException(line)
        return version, code, reason

    def header(self, name: str) -> str | None:
        """The first value of a header, any case (email.message.Message.get)."""
        name = name.lower()
        return next((v for k, v in self.headers if k.lower() == name), None)

    def _check_close(self) -> bool:
        connection = (self.header("connection") or "").lower()
        if self.version == 11:
            return "close" in connection
        if self.header("keep-alive") or "keep-alive" in connection:
            return False
        return "keep-alive" not in (self.header("proxy-connection") or "").lower()

    @staticmethod
    def _exact(fp: Any, length: int | None) -> bytes:
        if length is None:
            return fp.read()  # until the server closes
        data = fp.read(length)
        if len(data) < length:
            raise IncompleteRead(data, length - len(data))
        return data

    @staticmethod
    def _chunked(fp: Any) -> bytes:
        parts: list[bytes] = []
        try:
            while True:
                line = _readline(fp, "chunk size")
                try:
                    size = int(line.split(b";", 1)[0], 16)
                except ValueError:
                    raise IncompleteRead(b"") from None
                if size == 0:
                    break
                parts.append(Response._exact(fp, size))
                Response._exact(fp, 2)  # the CRLF after the chunk
        except IncompleteRead:
            raise IncompleteRead(b"".join(parts)) from None
        while True:  # trailers, read and dropped as http.client drops them
            if _readline(fp, "trailer line") in (b"\r\n", b"\n", b""):
                return b"".join(parts)


class Connection:
    """One HTTP/1.1 connection whose socket the Dialer opens (proxy and TLS included)."""

    def __init__(self, dialer: Dialer) -> None:
        self.dialer = dialer
        self.sock: Any = None

    def close(self) -> None:
        if self.sock is not None:
            try:
                self.sock.close()
            except OSError:
                pass
        self.sock = None

    def head(self, method: str, target: str, headers: Iterable[tuple[str, str]]) -> bytes:
        """The request line and headers, checked as http.client's putrequest and putheader check
        them; Host as it sends it (the port left out only when it is 80, HTTPConnection's
        default_port)."""
        for text, kind, pattern, error in ((method, "method", _ILLEGAL_METHOD, ValueError),
                                           (target, "URL", _ILLEGAL_URL, HTTPException)):
            bad = pattern.search(text)
            if bad:
                raise error(f"{kind} can't contain control characters. {text!r} (found at least {bad.group()!r})")
        host = self.dialer.host
        try:
            host.encode("ascii")
        except UnicodeEncodeError:
            host = host.encode("idna").decode("ascii")
        if ":" in host:
            host = f"[{host}]"
        lines = [f"{method} {target} HTTP/1.1".encode("ascii"),
                 b"Host: " + (host if self.dialer.port == 80 else f"{host}:{self.dialer.port}").encode("ascii")]
        for name, value in headers:
            raw_name = name.encode("ascii")
            if not _LEGAL_HEADER_NAME(raw_name):
                raise ValueError(f"Invalid header name {raw_name!r}")
            raw_value = str(value).encode("latin-1")
            if _ILLEGAL_HEADER_VALUE(raw_value):
                raise ValueError(f"Invalid header value {raw_value!r}")
            lines.append(raw_name + b": " + raw_value)
        return b"\r\n".join(lines) + b"\r\n\r\n"

    def exchange(self, method: str, target: str, body: bytes | None,
                 headers: Iterable[tuple[str, str]]) -> Response:
        head = self.head(method, target, headers)
        if self.sock is None:
            self.sock = self.dialer.open()
        self.sock.sendall(head + body if body is not None else head)  # one write, as http.client
        with self.sock.makefile("rb") as fp:  # one reader per answer, as HTTPResponse has
            return Response(fp, method)
