"""Output in kubectl's formats: tables, yaml, json and names; and prose (findings, hints).

Tables copy cli-runtime's tabwriter settings (minwidth 6, padding 3, no
padding after the last column); AGE uses apimachinery's `HumanDuration`.
YAML and JSON have sorted keys, as kubectl's printers (which marshal Go maps).
Prose is a line per note in istioctl analyze's shape, wrapped to a terminal
and never to a pipe (see terminal.py), with the fixing command on a line of
its own.
"""
from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence, TextIO

from . import terminal
from .terminal import PIPE, Terminal

NONE = "<none>"
FIX = "  fix: "  # before the command that fixes a note: indented, never wrapped


def human_duration(seconds: float) -> str:
    """apimachinery `duration.HumanDuration`: at most two units, coarser as it grows."""
    secs = int(seconds)
    if secs < -1:
        return "<invalid>"
    if secs < 0:
        return "0s"
    if secs < 60 * 2:
        return f"{secs}s"
    minutes = secs // 60
    if minutes < 10:
        rest = secs % 60
        return f"{minutes}m" if rest == 0 else f"{minutes}m{rest}s"
    if minutes < 60 * 3:
        return f"{minutes}m"
    hours = secs // 3600
    if hours < 8:
        rest = minutes % 60
        return f"{hours}h" if rest == 0 else f"{hours}h{rest}m"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        rest = hours % 24
        return f"{hours // 24}d" if rest == 0 else f"{hours // 24}d{rest}h"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        years, days = hours // 24 // 365, (hours // 24) % 365
        return f"{years}y" if days == 0 else f"{years}y{days}d"
    return f"{hours // 24 // 365}y"


def format_table(headers: Sequence[str], rows: Iterable[Sequence[Any]], term: Terminal = PIPE,
                 colors: Mapping[str, Mapping[str, str]] | None = None, optional: Sequence[str] = ()) -> str:
    """Render rows as `kubectl get` does; empty cells become `<none>`.

    cli-runtime's tabwriter settings: cells left-aligned, each column as wide as
    its widest cell plus 3 spaces (6 at least), no padding after the last
    column. (Formatting is done here rather than with tabulate, whose per-cell
    type detection made `get -A` on thousands of services a fifth of a second
    slower.)

    On a terminal only: the `optional` columns are left out, in that order, while the table is
    wider than the terminal (the Table API's column priority: "columns that may be omitted in
    limited space scenarios should be given a priority greater than 0", apimachinery
    meta/v1 TableColumnDefinition), and cells whose column and text are in `colors` are painted.
    """
    table = [[h.upper() for h in headers]]
    table += [[NONE if cell is None or cell == "" else str(cell) for cell in row] for row in rows]
    widths = [max(6, max(len(row[i]) for row in table) + 3) for i in range(len(headers))]
    if term.width is not None and optional:
        table, widths = _fit(table, widths, term.width, [h.upper() for h in optional])
    paint = {i: colors[h] for i, h in enumerate(table[0]) if h in colors} if term.color and colors else {}
    if paint:  # the header is never painted
        return "".join(_painted_line(row, widths, paint if n else {}, term) + "\n" for n, row in enumerate(table))
    last = len(widths) - 1
    lines = ["".join(cell if i == last else cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip()
             for row in table]
    return "\n".join(lines) + "\n"


def _painted_line(row: list[str], widths: list[int], paint: Mapping[int, Mapping[str, str]],
                  term: Terminal) -> str:
    """A table line whose cells are padded by their plain width, then painted."""
    last = len(widths) - 1
    parts = []
    for i, cell in enumerate(row):
        text = term.paint(cell, paint[i].get(cell)) if i in paint else cell
        parts.append(text if i == last else text + " " * (widths[i] - len(cell)))
    return "".join(parts).rstrip()


def table_width(table: list[list[str]], widths: list[int]) -> int:
    """Columns the widest line takes: padded columns, and the last one unpadded."""
    return sum(widths[:-1]) + max(len(row[-1]) for row in table)


def _fit(table: list[list[str]], widths: list[int], width: int,
         optional: list[str]) -> tuple[list[list[str]], list[int]]:
    for name in optional:
        if table_width(table, widths) <= width:
            break
        if name in table[0] and len(widths) > 1:
            i = table[0].index(name)
            table = [row[:i] + row[i + 1:] for row in table]
            widths = widths[:i] + widths[i + 1:]
    return table, widths


@dataclass(frozen=True)
class Note:
    """One finding or hint: `LABEL HEAD MESSAGE`, and the command that fixes it."""

    label: str  # painted on a terminal: a severity (Warning) or a result (FAIL)
    head: str  # what it is about: "[IST0150] (Service default/my-httpbin)"
    message: str
    fix: str = ""


def format_notes(notes: Iterable[Note], term: Terminal = PIPE, colors: Mapping[str, str] | None = None) -> str:
    """Notes as istioctl analyze prints messages (istioctl/pkg/util/formatting/formatter.go
    `render`: `%s%v%s [%v]%s %s`, the level alone painted), each followed by `  fix: COMMAND`.

    On a terminal the note wraps at its width with a hanging indent; the fix line never wraps,
    so the command stays one line to copy. Piped, each note is one line as it is.
    """
    out = []
    for note in notes:
        lines = terminal.wrap(" ".join(part for part in (note.label, note.head, note.message) if part),
                              term.width)
        lines[0] = term.paint(note.label, (colors or {}).get(note.label)) + lines[0][len(note.label):]
        out += lines
        if note.fix:
            out.append(FIX + note.fix)
    return "".join(line + "\n" for line in out)


def to_list(items: Sequence[dict]) -> dict:
    """kubectl's wrapper for several objects (`kind: List`)."""
    return {"apiVersion": "v1", "items": list(items), "kind": "List",
            "metadata": {"resourceVersion": ""}}


def format_json(obj: Any) -> str:
    return json.dumps(obj, indent=4, sort_keys=True, ensure_ascii=False) + "\n"


def format_yaml(obj: Any) -> str:
    import yaml  # lazily: only -o yaml pays for it

    return yaml.safe_dump(obj, default_flow_style=False, sort_keys=True, allow_unicode=True)


def format_objects(objects: Sequence[dict], output: str) -> str:
    """-o json|yaml of one object as itself, of several as a List."""
    payload = objects[0] if len(objects) == 1 else to_list(objects)
    return format_json(payload) if output == "json" else format_yaml(payload)


@dataclass
class Printer:
    """Where output goes; commands hand it text, never print themselves.

    By default the streams are looked up at each write, so redirections
    (tests, pipes) made after start-up are honoured.
    """

    stdout: TextIO | None = None
    stderr: TextIO | None = None
    environ: Mapping[str, str] | None = None  # TERM, NO_COLOR, COLUMNS (os.environ by default)

    @property
    def out(self) -> TextIO:
        return self.stdout or sys.stdout

    @property
    def err(self) -> TextIO:
        return self.stderr or sys.stderr

    @property
    def env(self) -> Mapping[str, str]:
        return os.environ if self.environ is None else self.environ

    def terminal(self) -> Terminal:
        """What stdout is now: a terminal's width and colour, or a pipe."""
        return terminal.detect(self.out, self.env)

    def line(self, text: str) -> None:
        self.out.write(text + "\n")

    def text(self, text: str) -> None:
        self.out.write(text)

    def warn(self, text: str) -> None:
        """kubectl's warning line; "Warning:" in bold yellow on a colour terminal (client-go
        rest/warnings.go warningWriter)."""
        prefix = "Warning:"
        if terminal.allows_color(self.err, self.env):
            prefix = f"{terminal.WARNING_COLOR}{prefix}{terminal.RESET}"
        self.err.write(f"{prefix} {text}\n")

    def note(self, text: str) -> None:
        self.err.write(text + "\n")


def change_line(change, dry_run: str) -> str:
    """`service/my-httpbin created`, as kubectl apply prints it (removed objects are `pruned`)."""
    action = "pruned" if change.action == "deleted" else change.action
    suffix = {"client": " (dry run)", "server": " (server dry run)"}.get(dry_run, "")
    return f"{change.resource.display}/{change.name} {action}{suffix}"


def print_changes(printer: Printer, changes, output: str | None, dry_run: str,
                  notes: list[str] = ()) -> None:
    for note in notes:
        printer.note(note)
    if output in ("yaml", "json"):
        objects = [c.obj for c in changes if c.obj is not None and c.action != "deleted"]
        printer.text(format_objects(objects, output))
    elif output == "name":
        for change in changes:
            printer.line(f"{change.resource.display}/{change.name}")
    else:
        for change in changes:
            printer.line(change_line(change, dry_run))
