"""kubectl egress externalname NAME HOST: recipe 1 of SCENARIO.md.

A Service of type ExternalName whose port is named after its protocol, and a
DestinationRule for NAME.NS.svc.cluster.local that turns Istio mTLS off. With
--tls-origination, the ServiceEntry sends the app's plain HTTP on to HOST:443
and the DestinationRule originates TLS there, as Istio's "Egress TLS
Origination" task does; up to Istio 1.20, where the Service is a mesh service
of its own, a VirtualService routes its traffic to that ServiceEntry.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from .. import printers, validate as check, waypoint as routes
from ..app import App
from ..errors import UsageError
from ..model import Target
from ..recipe import apply_target
from .serviceentry import origination


@dataclass(frozen=True)
class Options:
    name: str
    host: str
    port: int = 80
    protocol: str = "http"
    tls_mode: str | None = None  # None: DISABLE, unless --tls-origination writes the rule
    tls_origination: bool = False
    target_port: int | str = 443
    insecure_skip_verify: bool = False
    force: bool = False
    output: str | None = None
    dry_run: str = "none"
    istio_mode: str = "auto"
    waypoint: str | None = None


def validate(opts: Options) -> Target:
    """Raw arguments -> a Target (namespace still to fill in), or a UsageError."""
    name = check.service_name(opts.name)
    protocol = check.protocol(opts.protocol)
    plan = origination(opts.tls_origination, opts.target_port, opts.insecure_skip_verify)
    if plan is not None:
        if opts.tls_mode is not None:
            raise UsageError("--tls-origination writes the DestinationRule (SIMPLE on the app's port); drop "
                             "--tls-mode")
        if protocol != "http":
            raise UsageError(f"--tls-origination makes the sidecar speak TLS for an app that speaks plain HTTP; "
                             f"--protocol {protocol} says the app already speaks it, and TLS twice fails with "
                             "'wrong version number' (istio#36377); drop --protocol or --tls-origination")
    return Target(name=name, namespace="", host=check.host(opts.host, name),
                  port=check.port(opts.port), protocol=protocol,
                  tls_mode=check.tls_mode(opts.tls_mode or "DISABLE"), origination=plan)


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
