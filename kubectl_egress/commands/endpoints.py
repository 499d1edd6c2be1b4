"""kubectl egress endpoints NAME IP [IP...] --port PORT: recipe 2 of SCENARIO.md.

A selector-less Service, its endpoints (EndpointSlices by default, or the
seed's v1 Endpoints with --api endpoints), and the DestinationRule.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from .. import printers, validate as check
from ..app import App
from ..errors import UsageError
from ..model import Target
from ..recipe import apply_target


@dataclass(frozen=True)
class Options:
    name: str
    ips: tuple[str, ...]
    port: int | None = None
    protocol: str = "tls"
    host: str = ""
    tls_mode: str = "DISABLE"
    api: str = "endpointslice"
    force: bool = False
    output: str | None = None
    dry_run: str = "none"
    istio_mode: str = "auto"


def validate(opts: Options) -> Target:
    name = check.service_name(opts.name)
    if opts.port is None:
        raise UsageError("--port is required: the port the external service listens on "
                               "(e.g. --port 443)")
    return Target(name=name, namespace="", host=check.host(opts.host, name, "--host") if opts.host else "",
                  ips=check.ips(opts.ips, name), port=check.port(opts.port),
                  protocol=check.protocol(opts.protocol), tls_mode=check.tls_mode(opts.tls_mode),
                  endpoints_api=check.endpoints_api(opts.api))


def run(app: App, opts: Options) -> int:
    target = validate(opts)
    check.istio_mode(opts.istio_mode)
    kube = app.kube()
    target = dataclasses.replace(target, namespace=kube.namespace)
    result = apply_target(kube, target, opts.force, opts.dry_run, check.istio_mode(opts.istio_mode))
    printers.print_changes(app.printer, result.changes, opts.output, opts.dry_run, result.notes)
    return 0
