"""The probe's reports for CI and for a glance (pure, but for the file's one write).

- JUnit XML (`--junit-file`), in the shape cilium-cli's `connectivity test --junit-file` writes
  (cilium-cli/connectivity/internal/junit/junit.go, and check/junit.go for how a run fills it),
  which Jenkins, GitLab and GitHub's test reporters read: `<testsuites>` with totals, one
  `<testsuite>` with a timestamp, one `<testcase>` per service port and source, `status` passed
  or failed, a `<failure message=... type="failure">` carrying the hint, and the file
  written whole or not at all (a temporary file renamed into place, readable by others).
- The summary (`--summary`): checks by result, and by hint, where a hint's own names (the
  service, its host, its URL, the pod) are replaced by what they stand for, so that the same
  trouble in a hundred namespaces counts as one line.
"""
from __future__ import annotations

import os
import re
import tempfile
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Iterable, Sequence

RESULTS = ("OK", "FAIL")
SUITE = "kubectl egress probe"
PACKAGE = "kubectl-egress"


@dataclass(frozen=True)
class Case:
    """One check as a test case."""

    classname: str  # the service's namespace
    name: str  # "SERVICE:PORT from SOURCE-NAMESPACE (mesh|no mesh)": the same from run to run
    result: str  # OK or FAIL
    seconds: float
    message: str = ""  # the hint, on one line
    detail: str = ""  # what the run saw: URL, pod, code, curl's exit


def seconds_text(value: float) -> str:
    """A duration as Go's encoder writes a float64 attribute, to the millisecond: 7, 14.7, 0.012."""
    text = f"{max(value, 0.0):.3f}".rstrip("0").rstrip(".")
    return text or "0"


def junit(cases: Sequence[Case], timestamp: str, properties: Sequence[tuple[str, str]] = ()) -> bytes:
    """The JUnit XML document for these cases (cilium-cli junit.go TestSuites.WriteReport)."""
    failures = sum(1 for c in cases if c.result == "FAIL")
    total = sum(c.seconds for c in cases)
    suites = ET.Element("testsuites", {"tests": str(len(cases)), "disabled": "0", "errors": "0",
                                       "failures": str(failures), "time": seconds_text(total)})
    suite = ET.SubElement(suites, "testsuite", {
        "name": SUITE, "id": "0", "package": PACKAGE, "tests": str(len(cases)), "errors": "0",
        "failures": str(failures), "time": seconds_text(total), "timestamp": timestamp})
    if properties:
        props = ET.SubElement(suite, "properties")
        for name, value in properties:
            ET.SubElement(props, "property", {"name": name, "value": value})
    for case in cases:
        element = ET.SubElement(suite, "testcase", {
            "name": case.name, "classname": case.classname, "status": "failed" if case.result == "FAIL" else "passed",
            "time": seconds_text(case.seconds)})
        if case.result == "FAIL":
            failure = ET.SubElement(element, "failure", {"message": case.message or f"{case.name} failed",
                                                         "type": "failure"})
            failure.text = case.detail
        elif case.message:  # a pass that looks wrong: its hint, where CI shows a test's output
            ET.SubElement(element, "system-out").text = case.message
    ET.indent(suites, space="    ")
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="utf-8") + b"\n"


def write_atomically(path: str, data: bytes) -> None:
    """data as the file at path, whole or not at all: a temporary file beside it, renamed into
    place (cilium-cli JUnitCollector.Write), mode 0644 so that a CI upload step can read it."""
    directory = os.path.dirname(os.path.abspath(path))
    fd, scratch = tempfile.mkstemp(prefix=os.path.basename(path) + ".tmp-", dir=directory)
    try:
        with os.fdopen(fd, "wb") as out:
            os.fchmod(out.fileno(), 0o644)
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(scratch, path)
    except BaseException:
        try:
            os.unlink(scratch)
        except OSError:
            pass
        raise


# -- the summary -------------------------------------------------------------------------------
def hint_kind(message: str, names: Iterable[tuple[str, str]]) -> str:
    """message with the row's own names replaced by what they stand for, e.g. the service's host
    by <host>: names are (text, placeholder), the compound ones (hosts, URLs, pods, addresses)
    replaced wherever they stand, a bare name only as a whole word."""
    for text, placeholder in sorted((n for n in names if n[0]), key=lambda n: -len(n[0])):
        if re.fullmatch(r"[a-z0-9-]+", text):
            message = re.sub(rf"(?<![\w.\-/]){re.escape(text)}(?![\w\-/]|\.\w)", placeholder, message)
        else:
            message = message.replace(text, placeholder)
    return message


@dataclass(frozen=True)
class HintCount:
    kind: str
    result: str
    checks: int
    services: tuple[str, ...]  # NAMESPACE/NAME, in order, each once


def summary(rows: Iterable[tuple[str, str, str]]) -> tuple[dict[str, int], list[HintCount]]:
    """rows: (result, kind of hint or '', NAMESPACE/SERVICE). Counts by result (OK, then FAIL, each
    shown), and by hint: the most checks first, failures before passes, then by its text."""
    by_result = {result: 0 for result in RESULTS}
    groups: dict[tuple[str, str], list[str]] = {}
    for result, kind, service in rows:
        by_result[result] = by_result.get(result, 0) + 1
        if kind:
            groups.setdefault((kind, result), []).append(service)
    counts = [HintCount(kind, result, len(services), tuple(dict.fromkeys(services)))
              for (kind, result), services in groups.items()]
    counts.sort(key=lambda h: (-h.checks, h.result != "FAIL", h.kind))
    return by_result, counts


def services_cell(services: Sequence[str], shown: int = 3) -> str:
    """The first few services a hint is about, and how many more."""
    head = ",".join(services[:shown])
    return head + (f" +{len(services) - shown} more" if len(services) > shown else "")
