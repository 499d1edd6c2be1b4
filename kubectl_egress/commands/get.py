"""kubectl egress get [NAME...] [-A]: the egress services kubectl-egress manages, as a table
(ServiceEntries of `kubectl egress serviceentry` among them, TYPE ServiceEntry)."""
from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime

from .. import inventory, mesh as meshes, printers, validate as check
from ..app import App
from ..errors import EgressError, ServerError
from ..inventory import Found
from ..model import SERVICES

HEADERS = ("NAME", "TYPE", "CLUSTER-IP", "EXTERNAL", "PORT(S)", "TLS", "AGE")
WIDE = HEADERS + ("PROTOCOL", "HOST", "ENDPOINTS", "DESTINATIONRULE", "SERVICEENTRY")


@dataclass(frozen=True)
class Options:
    names: tuple[str, ...] = ()
    all_namespaces: bool = False
    output: str | None = None


def age(obj: dict, now: float) -> str:
    stamp = obj.get("metadata", {}).get("creationTimestamp")
    try:
        created = datetime.fromisoformat(stamp).timestamp()
    except (TypeError, ValueError):
        return "<unknown>"
    return printers.human_duration(now - created)


def entry_row(found: Found, now: float, wide: bool) -> list[str]:
    """A ServiceEntry `kubectl egress serviceentry` made: its hosts, ports (Istio protocols) and TLS."""
    entry = found.entry[1] if found.entry else {}
    spec = entry.get("spec") or {}
    target = found.target
    ports = ",".join(f"{p.get('number')}/{p.get('protocol', '')}" for p in spec.get("ports") or [])
    cells = [found.name, "ServiceEntry", ",".join(spec.get("addresses") or []), ",".join(spec.get("hosts") or []),
             ports, "ORIGINATE" if target.origination else "", age(entry, now)]
    if wide:
        rule_host = ((found.rule[1].get("spec") or {}).get("host", "")) if found.rule else ""
        cells += [target.protocol, target.host, spec.get("resolution", ""), rule_host, ",".join(spec.get("hosts") or [])]
    return cells


def row(found: Found, now: float, wide: bool = False) -> list[str]:
    """One table row for one egress service."""
    if found.is_entry:
        return entry_row(found, now, wide)
    svc = found.service or {}
    spec = svc.get("spec") or {}
    target = found.target
    if spec.get("type") == "ExternalName":
        external = spec.get("externalName", "")
    else:
        external = ",".join(str(ip) for ip in target.ips)
    ports = ",".join(f"{p.get('port')}/{p.get('protocol', 'TCP')}" for p in spec.get("ports") or [])
    cluster_ip = (spec.get("clusterIPs") or [""])[0]
    cells = [found.name, spec.get("type", ""), cluster_ip, external, ports,
             "ORIGINATE" if target.origination else target.tls_mode or "", age(svc, now)]
    if wide:
        kinds = sorted({res.kind for res, _ in found.endpoints})
        rule_host = ((found.rule[1].get("spec") or {}).get("host", "")) if found.rule else ""
        entry_hosts = ",".join((found.entry[1].get("spec") or {}).get("hosts") or []) if found.entry else ""
        cells += [target.protocol, target.host, ",".join(kinds), rule_host, entry_hosts]
    return cells


def table(found: list[Found], wide: bool, all_namespaces: bool, now: float | None = None) -> str:
    now = time.time() if now is None else now
    headers = list(WIDE if wide else HEADERS)
    rows = [row(f, now, wide) for f in found]
    if all_namespaces:
        headers.insert(0, "NAMESPACE")
        rows = [[f.namespace, *r] for f, r in zip(found, rows)]
    return printers.format_table(headers, rows)


def missing_error(kube, name: str, namespace: str) -> EgressError:
    """Why NAME is not listed: no such Service, or one kubectl-egress does not manage."""
    if kube.get(SERVICES, name, namespace) is None:
        return ServerError(f'services "{name}" not found', reason="NotFound", code=404)
    return EgressError(f'service "{name}" is not managed by kubectl-egress (no label '
                       f'app.kubernetes.io/managed-by=kubectl-egress); see it with "kubectl get svc {name}"')


def no_resources(namespace: str | None) -> str:
    return "No resources found" if namespace is None else f"No resources found in {namespace} namespace."


def run(app: App, opts: Options) -> int:
    for name in opts.names:
        check.service_name(name)
    kube = app.kube()
    namespace = None if opts.all_namespaces else kube.namespace
    mesh = meshes.detect(kube)
    found = [f for f in inventory.find(kube, namespace, mesh, opts.names) if f.service is not None or f.is_entry]
    errors = [missing_error(kube, n, kube.namespace) for n in opts.names
              if n not in {f.name for f in found}]
    if found:
        if opts.output in ("yaml", "json"):
            listing = printers.to_list([obj for f in found for _, obj in reversed(f.objects())])
            app.printer.text(printers.format_json(listing) if opts.output == "json"
                             else printers.format_yaml(listing))
        elif opts.output == "name":
            for f in found:
                for res, obj in reversed(f.objects()):
                    app.printer.line(f"{res.display}/{obj['metadata']['name']}")
        else:
            app.printer.text(table(found, opts.output == "wide", opts.all_namespaces))
    elif not errors:
        app.printer.note(no_resources(namespace))
    for err in errors[:-1]:
        app.printer.note(err.line())
    if errors:
        raise errors[-1]
    return 0
