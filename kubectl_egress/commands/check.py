"""kubectl egress check [NAME...] [-A]: find what is wrong with egress services, managed or not.

In the spirit of `istioctl analyze`, with Istio's codes where it has them;
each finding carries the kubectl egress command that fixes it. Exits 1 when a
finding is at or above --fail-on (default warning), so it can gate CI.
"""
from __future__ import annotations

from dataclasses import dataclass

from .. import analysis, inventory, mesh as meshes, printers, terminal, validate as check
from ..app import App
from ..errors import ServerError, UsageError
from ..model import service_entries
from .get import missing_error


@dataclass(frozen=True)
class Options:
    names: tuple[str, ...] = ()
    all_namespaces: bool = False
    fail_on: str = "warning"
    output: str | None = None
    istio_mode: str = "auto"


def run(app: App, opts: Options) -> int:
    for name in opts.names:
        check.service_name(name)
    if opts.fail_on.lower() not in analysis.SEVERITIES:
        raise UsageError(f'--fail-on "{opts.fail_on}" is not one of {", ".join(analysis.SEVERITIES)}')
    mode = check.istio_mode(opts.istio_mode)
    kube = app.kube()
    namespace = None if opts.all_namespaces else kube.namespace
    facts = meshes.read(kube, mode, [] if namespace is None else [namespace], all_namespaces=namespace is None)
    snap = inventory.snapshot(kube, namespace, facts.mesh(namespace))
    snap.namespaces = sorted(facts.namespaces) if namespace is None else [namespace]
    registry_entries(kube, snap, facts)
    present = {s["metadata"]["name"] for s in snap.services} | {e["metadata"]["name"] for e in snap.entries}
    for name in opts.names:
        if name not in present:
            raise missing_error(kube, name, kube.namespace)
    findings = analysis.analyze(snap, opts.names)
    if opts.output in ("json", "yaml"):
        listing = {"apiVersion": "v1", "kind": "List", "items": [f.as_dict() for f in findings]}
        app.printer.text(printers.format_json(listing) if opts.output == "json" else printers.format_yaml(listing))
    elif findings:
        output(app, findings)
    else:
        where = "all namespaces" if namespace is None else f"namespace: {namespace}"
        app.printer.note(f"\u2714 No validation issues found when analyzing {where}.")
    return 1 if analysis.at_or_above(findings, opts.fail_on.lower()) else 0


def registry_entries(kube, snap: analysis.Snapshot, facts) -> None:
    """Under REGISTRY_ONLY any namespace's ServiceEntry can put a host in the registry (exported
    everywhere by default): read them all then (snap.registry, for that question only); the
    namespace's, in the snapshot, when that is all this user may read."""
    from ..analysis.registry import callers

    if facts.networking_version is None or not any(policy.registry_only for ns in snap.namespaces
                                                   for _, policy in callers(facts, ns)):
        return
    try:
        entries = kube.list_if_served(service_entries(facts.networking_version), None)
    except ServerError as err:
        if err.code != 403:
            raise
        return
    snap.registry = entries


def output(app: App, findings: list[analysis.Finding]) -> None:
    """A line per finding as istioctl analyze prints it, `Warning [IST0150] (Service default/x)
    message`, then `  fix: COMMAND`: wrapped to a terminal, one line each through a pipe.

    (The table this replaces put prose in columns, which wrapped into each other; `-o json`
    is what scripts read, so no table is kept.)
    """
    notes = [printers.Note(f.severity.capitalize(), f"[{f.code}] ({f.object})", f.message, f.fix) for f in findings]
    app.printer.text(printers.format_notes(notes, app.printer.terminal(), terminal.SEVERITY_COLORS))
