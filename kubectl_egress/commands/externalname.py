"""kubectl egress externalname NAME HOST: recipe 1 of SCENARIO.md.

A Service of type ExternalName whose port is named after its protocol, and a
DestinationRule for NAME.NS.svc.cluster.local that turns Istio mTLS off.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from .. import printers, validate as check, waypoint as routes
from ..app import App
from ..model import Target
from ..recipe import apply_target


@dataclass(frozen=True)
class Options:
    name: str
    host: str
    port: int = 80
    protocol: str = "http"
    tls_mode: str = "DISABLE"
    force: bool = False
    output: str | None = None
    dry_run: str = "none"
    istio_mode: str = "auto"
    waypoint: str | None = None


def validate(opts: Options) -> Target:
    """Raw arguments -> a Target (namespace still to fill in), or a UsageError."""
    name = check.service_name(opts.name)
    return Target(name=name, namespace="", host=check.host(opts.host, name),
                  port=check.port(opts.port), protocol=check.protocol(opts.protocol),
                  tls_mode=check.tls_mode(opts.tls_mode))


def run(app: App, opts: Options) -> int:
    target = validate(opts)
    check.istio_mode(opts.istio_mode)
    if opts.waypoint:
        routes.parse(opts.waypoint, "default")  # its form, before any request
    kube = app.kube()
    target = dataclasses.replace(target, namespace=kube.namespace)
    waypoint = routes.parse(opts.waypoint, kube.namespace) if opts.waypoint else None
    result = apply_target(kube, target, opts.force, opts.dry_run, check.istio_mode(opts.istio_mode), waypoint)
    printers.print_changes(app.printer, result.changes, opts.output, opts.dry_run, result.notes)
    return 0
