"""kubectl egress get [NAME...] [-A] [-l SELECTOR]: every egress service in scope, whoever made it.

An egress service is a Service of type ExternalName or one without a selector
(model.is_egress_service), with its endpoints, the DestinationRule Istio
applies to it and, in alias mode, its ServiceEntry; and the ServiceEntries of
`kubectl egress serviceentry` (TYPE ServiceEntry). MANAGED-BY says who made
each: its app.kubernetes.io/managed-by label (kubectl-egress, helm, argocd, ...).
TLS says ORIGINATE where the sidecar originates TLS. Read-only: nothing is changed.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime

from .. import inventory, mesh as meshes, printers, validate as check
from ..app import App
from ..errors import EgressError, ServerError, UsageError
from ..inventory import Found
from ..model import SERVICES, is_egress_service, managed_by

HEADERS = ("NAME", "TYPE", "CLUSTER-IP", "EXTERNAL", "PORT(S)", "TLS", "MANAGED-BY", "AGE")
WIDE = HEADERS + ("PROTOCOL", "HOST", "ENDPOINTS", "DESTINATIONRULE", "SERVICEENTRY")


@dataclass(frozen=True)
class Options:
    names: tuple[str, ...] = ()
    all_namespaces: bool = False
    selector: str | None = None
    output: str | None = None


def validate(opts: Options) -> None:
    """Names, the selector, and the combinations kubectl get refuses (pkg/cmd/get/get.go)."""
    selection(opts.names, opts.all_namespaces, opts.selector)


def selection(names: tuple[str, ...], all_namespaces: bool, selector: str | None) -> None:
    """Which egress services a reading command works on, checked as kubectl get checks NAMEs, -A and
    -l (pkg/cmd/get/get.go); shared by get and probe."""
    for name in names:
        check.service_name(name)
    if selector is not None:
        check.label_selector(selector)
    if names and all_namespaces:
        raise UsageError("a resource cannot be retrieved by name across all namespaces; drop -A, "
                         "or pick the namespace with -n")
    if names and selector:
        raise UsageError("name cannot be provided when a selector is specified; give names or -l, not both")


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
             ports, "ORIGINATE" if target.origination else "", managed_by(entry), age(entry, now)]
    if wide:
        rule = found.rule[1] if found.rule else None
        rule_ref = f"{rule['metadata'].get('namespace', '')}/{rule['metadata']['name']}" if rule else ""
        cells += [target.protocol, target.host, spec.get("resolution", ""), rule_ref, ",".join(spec.get("hosts") or [])]
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
        external = ",".join(inventory.addresses(found))
    ports = ",".join(f"{p.get('port')}/{p.get('protocol', 'TCP')}" for p in found.ports)
    cluster_ip = (spec.get("clusterIPs") or [spec.get("clusterIP", "")])[0]
    cells = [found.name, spec.get("type", "ClusterIP"), cluster_ip, external, ports,
             "ORIGINATE" if target.origination else target.tls_mode or "", found.managed_by, age(svc, now)]
    if wide:
        kinds = sorted({res.kind for res, _ in found.endpoints})
        rule = found.applied
        rule_ref = f"{rule['metadata'].get('namespace', '')}/{rule['metadata']['name']}" if rule else ""
        entry_hosts = ",".join((found.entry[1].get("spec") or {}).get("hosts") or []) if found.entry else ""
        cells += [target.protocol, target.host, ",".join(kinds), rule_ref, entry_hosts]
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
    """Why NAME is not among the egress services: no such Service, or one with a selector."""
    svc = kube.get(SERVICES, name, namespace)
    if svc is None:
        return ServerError(f'services "{name}" not found', reason="NotFound", code=404)
    if is_egress_service(svc):  # made between the list and this read
        return EgressError(f'service "{name}" appeared while the egress services were read; run the command again')
    selector = ",".join(f"{k}={v}" for k, v in sorted(((svc.get("spec") or {}).get("selector") or {}).items()))
    return EgressError(f'service "{name}" is not an egress service: it has a selector ({selector}), so it '
                       "sends traffic to pods; egress services are ExternalName Services and Services "
                       f'without a selector (see it with "kubectl get svc {name} -n {namespace}")')


def no_resources(namespace: str | None) -> str:
    return "No resources found" if namespace is None else f"No resources found in {namespace} namespace."


def run(app: App, opts: Options) -> int:
    validate(opts)
    kube = app.kube()
    namespace = None if opts.all_namespaces else kube.namespace
    mesh = meshes.detect(kube)
    found = inventory.read(kube, namespace, mesh, opts.names, opts.selector or "")
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
