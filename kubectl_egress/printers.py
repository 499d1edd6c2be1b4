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
    """Render rows as `kubectl get` does; empty cells become `<none>`."""
    import tabulate as tabulate_module  # only when a table is printed
    from tabulate import DataRow, TableFormat, tabulate

    tabulate_module.MIN_PADDING = 0  # kubectl pads headers like any cell

    kubectl_format = TableFormat(lineabove=None, linebelowheader=None, linebetweenrows=None,
                                 linebelow=None, headerrow=DataRow("", " " * 3, ""),
                                 datarow=DataRow("", " " * 3, ""), padding=0,
                                 with_header_hide=None)
    cells = [[NONE if cell in (None, "") else str(cell) for cell in row] for row in rows]
    # tabwriter's minwidth of 6 includes the 3 spaces of padding.
    text = tabulate(cells, headers=[h.upper() for h in headers], tablefmt=kubectl_format,
                    disable_numparse=True, stralign="left", numalign="left")
    return "\n".join(line.rstrip() for line in text.splitlines()) + "\n"


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


def resource_name(kind: str, group: str, name: str) -> str:
    """`service/my-httpbin`, `destinationrule.networking.istio.io/my-httpbin`."""
    lower = kind.lower()
    return f"{lower}.{group}/{name}" if group else f"{lower}/{name}"


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
