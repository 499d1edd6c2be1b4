"""The terminal output goes to: how wide it is, whether it takes colour, and prose wrapped to fit.

Only a terminal gets wrapping and colour; piped output is never wrapped, truncated or coloured.

- Colour: cli-runtime's `printers.AllowsColorOutput` (pkg/printers/terminal.go), which kubectl
  uses for its warnings: the stream is a terminal, TERM is not `dumb`, and NO_COLOR is not set
  (set at all, even empty: it reads it with os.LookupEnv). istioctl's
  `formatting.IstioctlColorDefault` (istioctl/pkg/util/formatting/formatter.go) checks the
  same terminal and TERM.
- Width: COLUMNS when it is a decimal integer above 0 (POSIX XBD chapter 8, Environment
  Variables: the user's preferred width, over the system's; FreeBSD environ(7): "if unset or
  empty, utilities will use an ioctl(2) call"), else the window size of the stream's terminal,
  as kubectl's `term.GetSize` reads it (kubectl pkg/util/term/resize.go, moby/term GetWinsize:
  TIOCGWINSZ).
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Mapping, TextIO

RESET = "\033[0m"
# istioctl formatter.go colorPrefixes: Info plain, Warning yellow, Error bold red
SEVERITY_COLORS = {"Warning": "\033[33m", "Error": "\033[1;31m"}
# the probe's results: a failure as istioctl's Error, a pass in green (SGR 32)
RESULT_COLORS = {"OK": "\033[32m", "FAIL": "\033[1;31m"}
# client-go rest/warnings.go and cli-runtime printers/warningprinter.go: "Warning:" in bold yellow
WARNING_COLOR = "\033[33;1m"

INDENT = "    "  # a wrapped paragraph's later lines; a fix line is indented less (see printers)
NARROWEST = 20  # a line keeps at least this much room for words after its indent

# a word, where a span in backticks or a parenthesised kubectl command counts as one word
# (so a command named in prose never breaks across lines)
_WORD = re.compile(r"(?:`[^`]*`|\(kubectl [^)]*\)|\S)+")


@dataclass(frozen=True)
class Terminal:
    """Where output goes: width None means not a terminal (never wrap); color, whether to paint."""

    width: int | None = None
    color: bool = False

    def paint(self, text: str, sgr: str | None) -> str:
        return f"{sgr}{text}{RESET}" if self.color and sgr else text


PIPE = Terminal()


def is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError, OSError):  # closed, or not a file at all
        return False


def allows_color(stream: TextIO, environ: Mapping[str, str]) -> bool:
    """cli-runtime's AllowsColorOutput (the Windows WT_SESSION rule aside)."""
    return is_terminal(stream) and environ.get("TERM") != "dumb" and "NO_COLOR" not in environ


def columns(stream: TextIO, environ: Mapping[str, str]) -> int | None:
    """The terminal's width: COLUMNS when it is a number above 0, else the window size; None
    when stream is no terminal (or the size cannot be read)."""
    if not is_terminal(stream):
        return None
    value = environ.get("COLUMNS", "")
    if value.isdigit() and int(value) > 0:
        return int(value)
    try:
        width = os.get_terminal_size(stream.fileno()).columns
    except (AttributeError, ValueError, OSError):
        return None
    return width or None  # a pty nobody sized reports 0 columns


def detect(stream: TextIO, environ: Mapping[str, str]) -> Terminal:
    if not is_terminal(stream):
        return PIPE
    return Terminal(width=columns(stream, environ), color=allows_color(stream, environ))


def wrap(text: str, width: int | None, indent: str = INDENT) -> list[str]:
    """text in lines of at most width columns, the later ones indented (a hanging indent).

    Words are never broken: a word longer than the room left gets a line of its own, whole.
    Without a width (not a terminal) the text stays one line, exactly as given.
    """
    if width is None:
        return [text]
    width = max(width, len(indent) + NARROWEST)
    lines: list[str] = []
    line = ""
    for word in _WORD.findall(text):
        if not line:
            line = (indent if lines else "") + word
        elif len(line) + 1 + len(word) <= width:
            line += " " + word
        else:
            lines.append(line)
            line = indent + word
    return lines + [line] if line else lines or [""]
