"""kubectl egress serviceentry NAME HOST [HOST...]: Istio's "Accessing External Services" recipe.

A ServiceEntry (MESH_EXTERNAL, resolution DNS by default) that makes external hosts known to the
mesh, as REGISTRY_ONLY meshes require; with --tls-origination, Istio's "Egress TLS Origination"
shapes: the app's plain-HTTP port sent on to the host's 443 (targetPort) and a DestinationRule
that originates TLS there, verifying the certificate. Every flag is checked by Istio's own rules
(validate_entry.py) before any request.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from .. import printers, validate as check, validate_entry as rules
from ..app import App
from ..errors import UsageError
from ..model import Entry, Origination
from ..recipe import apply_entry


@dataclass(frozen=True)
class Options:
    name: str
    hosts: tuple[str, ...]
    port: int | str = 80
    protocol: str = "http"
    resolution: str = "DNS"
    addresses: tuple[str, ...] = ()
    endpoints: tuple[str, ...] = ()
    location: str = "MESH_EXTERNAL"
    export_to: tuple[str, ...] = ()
    tls_origination: bool = False
    target_port: int | str = 443
    insecure_skip_verify: bool = False
    force: bool = False
    output: str | None = None
    dry_run: str = "none"


def origination(enabled: bool, target_port: int | str, insecure: bool) -> Origination | None:
    """--tls-origination and the flags that only mean something with it."""
    if not enabled:
        if insecure:
            raise UsageError("--insecure-skip-verify only applies with --tls-origination")
        return None
    return Origination(target_port=check.port(target_port, "--target-port"), verify="skip" if insecure else "system")


def validate(opts: Options) -> tuple[Entry, list[str]]:
    """Raw arguments -> an Entry (namespace and exportTo still to fill in) and Istio's warnings."""
    name = check.service_name(opts.name)
    resolution = rules.resolution(opts.resolution)
    endpoints = rules.endpoints(rules.split(opts.endpoints), resolution)
    hosts = rules.hosts(opts.hosts, name, resolution, bool(endpoints))
    port = check.port(opts.port)
    protocol = check.protocol(opts.protocol)
    addresses = rules.addresses(rules.split(opts.addresses), resolution)
    plan = origination(opts.tls_origination, opts.target_port, opts.insecure_skip_verify)
    warnings = rules.shape(name, hosts, protocol, resolution, addresses, plan, port)
    if plan is not None and "~" in rules.split(opts.export_to):
        raise UsageError('--export-to "~" cannot go with --tls-origination: a DestinationRule cannot be '
                               "exported to no one (Istio); give the namespaces of the callers")
    entry = Entry(name=name, namespace="", hosts=hosts, port=port, protocol=protocol, resolution=resolution,
                  addresses=addresses, endpoints=endpoints, location=rules.location(opts.location),
                  origination=plan)
    return entry, warnings


def run(app: App, opts: Options) -> int:
    entry, warnings = validate(opts)
    kube = app.kube()
    export_to = rules.export_to(rules.split(opts.export_to), kube.namespace)  # '.' is this namespace
    entry = dataclasses.replace(entry, namespace=kube.namespace, export_to=export_to)
    result = apply_entry(kube, entry, opts.force, opts.dry_run)
    printers.print_changes(app.printer, result.changes, opts.output, opts.dry_run, warnings + result.notes)
    return 0
