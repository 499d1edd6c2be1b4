"""kubectl egress clean [NAME...] [-A]: delete what kubectl-egress made, and nothing else.

Per egress service: the DestinationRule, then the EndpointSlices or
Endpoints, then the Service (the seed's cleanup order). Deletes of one kind
run in parallel; only objects labelled as managed by kubectl-egress are
touched, each only in the incarnation that was listed (uid precondition).
"""
from __future__ import annotations

from dataclasses import dataclass

from .. import inventory, mesh as meshes, validate as check
from ..app import App
from ..errors import EgressError, ServerError
from ..model import MANAGED_BY, SERVICES, managed_by
from .get import no_resources

PHASES = ("VirtualService", "DestinationRule", "ServiceEntry", "EndpointSlice", "Endpoints", "Service", "Deployment",
          "ServiceAccount", "Namespace")


@dataclass(frozen=True)
class Options:
    names: tuple[str, ...] = ()
    all_namespaces: bool = False
    dry_run: str = "none"


def run(app: App, opts: Options) -> int:
    for name in opts.names:
        check.service_name(name)
    kube = app.kube()
    namespace = None if opts.all_namespaces else kube.namespace
    mesh = meshes.detect(kube)
    found = inventory.owned(kube, namespace, mesh, opts.names)
    errors = [not_owned_error(kube, n, kube.namespace) for n in opts.names
              if n not in {f.name for f in found}]
    objects = [(res, obj) for f in found for res, obj in f.objects()]
    if not opts.names:  # everything kubectl egress made here, the probe's source pods included
        objects += inventory.sources(kube, namespace)
        if opts.all_namespaces or not _egress_elsewhere(kube, kube.namespace):
            objects += inventory.source_namespaces(kube)
    if not objects and not errors:
        app.printer.note(no_resources(namespace))
        return 0
    suffix = {"client": " (dry run)", "server": " (server dry run)"}.get(opts.dry_run, "")
    for kind in PHASES:
        batch = [(res, obj) for res, obj in objects if res.kind == kind]

        def delete(item):
            res, obj = item
            meta = obj["metadata"]
            if opts.dry_run == "client":
                return True
            return kube.delete(res, meta["name"], meta.get("namespace"), dry_run=opts.dry_run == "server",
                               uid=meta.get("uid", ""))

        for (res, obj), gone in zip(batch, kube.parallel(delete, batch)):
            if gone:
                app.printer.line(f'{res.display} "{obj["metadata"]["name"]}" deleted{suffix}')
    for err in errors[:-1]:
        app.printer.note(err.line())
    if errors:
        raise errors[-1]
    return 0



def not_owned_error(kube, name: str, namespace: str) -> EgressError:
    """Why NAME is not cleaned: no such Service, or one kubectl-egress did not make."""
    svc = kube.get(SERVICES, name, namespace)
    if svc is None:
        return ServerError(f'services "{name}" not found', reason="NotFound", code=404)
    maker = f"{MANAGED_BY}: {managed_by(svc)}" if managed_by(svc) else f"no {MANAGED_BY} label"
    return EgressError(f'service "{name}" was not made by kubectl-egress ({maker}), so clean leaves it '
                       f'alone; delete it yourself if you mean to ("kubectl delete svc {name}")')


def _egress_elsewhere(kube, namespace: str) -> bool:
    """Do managed egress services live in other namespaces (whose probes share the source namespace)?"""
    from ..model import MANAGED_SELECTOR, SERVICES
    return any(svc["metadata"].get("namespace") != namespace
               for svc in kube.list(SERVICES, None, MANAGED_SELECTOR))
