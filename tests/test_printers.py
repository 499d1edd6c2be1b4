"""printers: kubectl's table look and apimachinery's HumanDuration, pinned by golden tests; prose
(check's findings, the probe's hints) at 80 and 140 columns, piped, and what makes a terminal."""
import fcntl
import io
import os
import re
import struct
import termios

import pytest

from kubectl_egress import printers, terminal
from kubectl_egress.terminal import Terminal

M, H, D, Y = 60, 3600, 86400, 365 * 86400


@pytest.mark.parametrize("seconds, text", [
    (-5, "<invalid>"), (-1, "0s"), (0, "0s"), (4, "4s"), (90, "90s"), (119, "119s"),
    (120, "2m"), (121, "2m1s"), (125, "2m5s"), (9 * M + 59, "9m59s"), (10 * M, "10m"),
    (179 * M, "179m"), (3 * H, "3h"), (7 * H + 30 * M, "7h30m"), (7 * H + 59 * M, "7h59m"),
    (8 * H, "8h"), (21 * H, "21h"), (47 * H, "47h"), (3 * D + 4 * H, "3d4h"), (3 * D, "3d"),
    (10 * D, "10d"), (367 * D, "367d"), (400 * D, "400d"), (2 * Y + D, "2y1d"), (800 * D, "2y70d"),
    (3 * Y, "3y"), (8 * Y, "8y"), (20 * Y, "20y"),
])
def test_human_duration(seconds, text):
    assert printers.human_duration(seconds) == text


def test_table_matches_kubectl_layout():
    text = printers.format_table(["NAME", "TYPE", "PORT(S)", "AGE"],
                                 [["my-httpbin", "ExternalName", "80/TCP", "4s"],
                                  ["my-wikipedia", "ClusterIP", "443/TCP", "12m"]])
    assert text == (
        "NAME           TYPE           PORT(S)   AGE\n"
        "my-httpbin     ExternalName   80/TCP    4s\n"
        "my-wikipedia   ClusterIP      443/TCP   12m\n")


def test_table_empty_cells_and_numbers():
    text = printers.format_table(["NAME", "CODE", "IP"], [["a", "200", ""], ["bb", "0", None]])
    # numbers stay left-aligned as text; empty cells read <none>; no trailing spaces
    assert text == ("NAME   CODE   IP\n"
                    "a      200    <none>\n"
                    "bb     0      <none>\n")


def test_list_wrapper():
    assert printers.to_list([{"kind": "Service"}]) == {
        "apiVersion": "v1", "items": [{"kind": "Service"}], "kind": "List",
        "metadata": {"resourceVersion": ""}}


def test_yaml_and_json_sort_keys_like_kubectl():
    obj = {"kind": "Service", "apiVersion": "v1", "metadata": {"name": "a"}}
    assert printers.format_yaml(obj) == "apiVersion: v1\nkind: Service\nmetadata:\n  name: a\n"
    assert printers.format_json(obj).splitlines()[1] == '    "apiVersion": "v1",'


# --- prose on a terminal: wrapping, notes, colour (terminal.py and printers.format_notes) ---

ANSI = re.compile(r"\x1b\[[0-9;]*m")


@pytest.mark.parametrize("text, width, lines", [
    ("one two three", None, ["one two three"]),
    ("a  b", None, ["a  b"]),  # a pipe gets the text exactly as given
    ("Warning [IST0150] (Service default/x) Port name tcp is not enough for Istio", 40,
     ["Warning [IST0150] (Service default/x)", "    Port name tcp is not enough for", "    Istio"]),
    # words never break, hyphens included; a word longer than the room gets a line of its own
    ("see my-httpbin.default.svc.cluster.local-and-a-very-long-name now", 30,
     ["see", "    my-httpbin.default.svc.cluster.local-and-a-very-long-name", "    now"]),
    # a backticked span and a parenthesised kubectl command are one word each
    ("x gives `kubectl create service ok` and then (kubectl egress get my-httpbin) too", 30,
     ["x gives", "    `kubectl create service ok`", "    and then", "    (kubectl egress get my-httpbin)", "    too"]),
    ("(`a b`)! end", 24, ["(`a b`)! end"]),
    ("", 80, [""]),
    # a terminal narrower than the indent plus 20 columns still gets 20 columns of words a line
    ("aaaa bbbb cccc dddd eeee ffff", 5, ["aaaa bbbb cccc dddd eeee", "    ffff"]),
])
def test_wrap(text, width, lines):
    assert terminal.wrap(text, width) == lines


NOTES = [printers.Note("Error", "[EG0005] (Service default/my-httpbin)",
                       "the DestinationRule that applies to my-httpbin.default.svc.cluster.local is istio-system/"
                       "default (host *.local), mode ISTIO_MUTUAL: callers with a sidecar send Istio mutual TLS to "
                       "an external host that cannot speak it (HTTP 503 `upstream connect error ... connection "
                       "termination`, or reset TLS handshakes)",
                       "kubectl egress endpoints my-wikipedia 198.35.26.96 208.80.153.224 --port 443 --host "
                       "en.wikipedia.org --tls-mode DISABLE"),
         printers.Note("Info", "[IST0118] (Service team/plain-odd)", "Port name web (port 443) doesn't follow the "
                       "naming convention of Istio port.")]

PIPED = (
    "Error [EG0005] (Service default/my-httpbin) the DestinationRule that applies to "
    "my-httpbin.default.svc.cluster.local is istio-system/default (host *.local), mode ISTIO_MUTUAL: callers with a "
    "sidecar send Istio mutual TLS to an external host that cannot speak it (HTTP 503 `upstream connect error ... "
    "connection termination`, or reset TLS handshakes)\n"
    "  fix: kubectl egress endpoints my-wikipedia 198.35.26.96 208.80.153.224 --port 443 --host en.wikipedia.org "
    "--tls-mode DISABLE\n"
    "Info [IST0118] (Service team/plain-odd) Port name web (port 443) doesn't follow the naming convention of Istio "
    "port.\n")

AT_80 = """\
Error [EG0005] (Service default/my-httpbin) the DestinationRule that applies to
    my-httpbin.default.svc.cluster.local is istio-system/default (host *.local),
    mode ISTIO_MUTUAL: callers with a sidecar send Istio mutual TLS to an
    external host that cannot speak it (HTTP 503
    `upstream connect error ... connection termination`, or reset TLS
    handshakes)
  fix: kubectl egress endpoints my-wikipedia 198.35.26.96 208.80.153.224 --port 443 --host en.wikipedia.org --tls-mode DISABLE
Info [IST0118] (Service team/plain-odd) Port name web (port 443) doesn't follow
    the naming convention of Istio port.
"""

AT_140 = """\
Error [EG0005] (Service default/my-httpbin) the DestinationRule that applies to my-httpbin.default.svc.cluster.local is istio-system/default
    (host *.local), mode ISTIO_MUTUAL: callers with a sidecar send Istio mutual TLS to an external host that cannot speak it (HTTP 503
    `upstream connect error ... connection termination`, or reset TLS handshakes)
  fix: kubectl egress endpoints my-wikipedia 198.35.26.96 208.80.153.224 --port 443 --host en.wikipedia.org --tls-mode DISABLE
Info [IST0118] (Service team/plain-odd) Port name web (port 443) doesn't follow the naming convention of Istio port.
"""


@pytest.mark.parametrize("term, text", [
    (terminal.PIPE, PIPED), (Terminal(width=80), AT_80), (Terminal(width=140), AT_140)])
def test_notes_at_80_and_140_columns_and_piped(term, text):
    out = printers.format_notes(NOTES, term, terminal.SEVERITY_COLORS)
    assert out == text
    for line in out.splitlines():  # prose fits; the fix, a command, is never broken
        assert line.startswith(printers.FIX) or term.width is None or len(line) <= term.width


def test_notes_paint_the_level_alone_as_istioctl():
    out = printers.format_notes(NOTES, Terminal(width=80, color=True), terminal.SEVERITY_COLORS)
    assert out.startswith("\x1b[1;31mError\x1b[0m [EG0005] (Service default/my-httpbin) the DestinationRule")
    assert "\nInfo [IST0118]" in out  # istioctl leaves Info plain
    assert ANSI.sub("", out) == AT_80
    warning = printers.Note("Warning", "[IST0150] (Service default/x)", "m", "kubectl egress externalname x h")
    assert printers.format_notes([warning], Terminal(color=True), terminal.SEVERITY_COLORS) == \
        "\x1b[33mWarning\x1b[0m [IST0150] (Service default/x) m\n  fix: kubectl egress externalname x h\n"


PROBE_ROWS = [["my-httpbin", "default/curl-dd47ncwfpt-qrjp9", "http://my-httpbin.default.svc.cluster.local/headers",
               "FAIL", "503", "3ms", "yes"],
              ["my-wikipedia", "without-istio/curl-wcbclwqz6f-gvk8k", "https://en.wikipedia.org/", "OK", "301", "9ms",
               "no"]]
PROBE_HEADERS = ["SERVICE", "SOURCE", "URL", "RESULT", "CODE", "TIME", "SIDECAR"]


@pytest.mark.parametrize("width, headers", [
    (None, PROBE_HEADERS),  # a pipe gets every column, however long
    (140, PROBE_HEADERS),
    (120, ["SERVICE", "SOURCE", "RESULT", "CODE", "TIME", "SIDECAR"]),
    (80, ["SERVICE", "SOURCE", "RESULT", "CODE", "SIDECAR"]),
    (40, ["SERVICE", "SOURCE", "RESULT", "CODE", "SIDECAR"]),  # only the optional columns ever go
])
def test_a_terminal_too_narrow_leaves_out_optional_columns(width, headers):
    text = printers.format_table(PROBE_HEADERS, PROBE_ROWS, Terminal(width=width), optional=("URL", "TIME"))
    lines = text.splitlines()
    assert lines[0].split() == headers
    if width is None or width >= 80:
        assert max(len(line) for line in lines) <= (width or 1000)
    if width is None:
        assert text == printers.format_table(PROBE_HEADERS, PROBE_ROWS)


def test_painted_cells_keep_the_columns():
    term = Terminal(width=200, color=True)
    text = printers.format_table(PROBE_HEADERS, PROBE_ROWS, term, {"RESULT": terminal.RESULT_COLORS})
    assert ANSI.sub("", text) == printers.format_table(PROBE_HEADERS, PROBE_ROWS)
    assert "\x1b[1;31mFAIL\x1b[0m     503" in text and "\x1b[32mOK\x1b[0m       301" in text
    assert "\x1b" not in text.splitlines()[0]  # the header is not painted
    assert printers.format_table(PROBE_HEADERS, PROBE_ROWS, Terminal(width=200),
                                 {"RESULT": terminal.RESULT_COLORS}) == printers.format_table(PROBE_HEADERS, PROBE_ROWS)


@pytest.fixture
def pty_pair():
    """A pseudo-terminal sized 100x40, as a text stream on its slave side."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 100, 0, 0))
    stream = open(slave, "w", closefd=True)
    yield stream, slave
    stream.close()
    os.close(master)


@pytest.mark.parametrize("env, width, color", [
    ({"TERM": "xterm"}, 100, True),  # the window size, as kubectl's term.GetSize reads it
    ({"TERM": "xterm", "COLUMNS": "80"}, 80, True),  # COLUMNS, when set, is the user's choice (POSIX)
    ({"COLUMNS": "0"}, 100, True),
    ({"COLUMNS": "wide"}, 100, True),
    ({"NO_COLOR": "1"}, 100, False),
    ({"NO_COLOR": ""}, 100, False),  # kubectl's os.LookupEnv: set at all is enough
    ({"TERM": "dumb"}, 100, False),
])
def test_a_terminal_is_detected_with_its_width_and_colour(pty_pair, env, width, color):
    stream, _ = pty_pair
    assert terminal.detect(stream, env) == Terminal(width=width, color=color)


def test_a_pipe_is_never_wrapped_or_painted(pty_pair):
    assert terminal.detect(io.StringIO(), {"COLUMNS": "80", "TERM": "xterm"}) == terminal.PIPE
    read, write = os.pipe()
    with open(write, "w") as pipe:
        assert terminal.detect(pipe, {"COLUMNS": "80"}) == terminal.PIPE
    os.close(read)
    stream, slave = pty_pair
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 0, 0, 0, 0))
    assert terminal.detect(stream, {}) == Terminal(width=None, color=True)  # a terminal nobody sized


def test_warnings_are_painted_on_a_terminal_as_kubectl_does(pty_pair):
    stream, _ = pty_pair
    seen = io.StringIO()
    stream.write = seen.write  # the pty stays the stream that answers isatty()
    printers.Printer(stderr=stream, environ={"TERM": "xterm"}).warn("v1 Endpoints is deprecated")
    assert seen.getvalue() == "\x1b[33;1mWarning:\x1b[0m v1 Endpoints is deprecated\n"
    seen.truncate(0), seen.seek(0)
    printers.Printer(stderr=stream, environ={"NO_COLOR": "1"}).warn("x")
    assert seen.getvalue() == "Warning: x\n"
    piped = io.StringIO()
    printers.Printer(stderr=piped, environ={"TERM": "xterm"}).warn("x")
    assert piped.getvalue() == "Warning: x\n"
