"""Output in kubectl's formats: tables, yaml, json and names.

Tables copy cli-runtime's tabwriter settings (minwidth 6, padding 3, no
padding after the last column); AGE uses apimachinery's `HumanDuration`.
YAML and JSON have sorted keys, as kubectl's printers (which marshal Go maps).
"""
from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from typing import Any, Iterable, Sequence, TextIO

NONE = "<none>"


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


def format_table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """Render rows as `kubectl get` does; empty cells become `<none>`.

    cli-runtime's tabwriter settings: cells left-aligned, each column as wide as
    its widest cell plus 3 spaces (6 at least), no padding after the last
    column. (Formatting is done here rather than with tabulate, whose per-cell
    type detection made `get -A` on thousands of services a fifth of a second
    slower.)
    """
    table = [[h.upper() for h in headers]]
    table += [[NONE if cell is None or cell == "" else str(cell) for cell in row] for row in rows]
    widths = [max(6, max(len(row[i]) for row in table) + 3) for i in range(len(headers))]
    last = len(headers) - 1
    lines = ["".join(cell if i == last else cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip()
             for row in table]
    return "\n".join(lines) + "\n"


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

    @property
    def out(self) -> TextIO:
        return self.stdout or sys.stdout

    @property
    def err(self) -> TextIO:
        return self.stderr or sys.stderr

    def line(self, text: str) -> None:
        self.out.write(text + "\n")

    def text(self, text: str) -> None:
        self.out.write(text)

    def warn(self, text: str) -> None:
        self.err.write(f"Warning: {text}\n")

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
