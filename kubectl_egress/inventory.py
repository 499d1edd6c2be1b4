"""Egress services as they are in the cluster: every one (the read side), and what kubectl-egress made.

Read side (`get`, `probe`, `check`): every egress service in scope, whoever made it (Helm,
Argo CD, Flux, a YAML file from Istio's docs, kubectl-egress), by model.is_egress_service:
a Service of type ExternalName, or a Service without a selector (`default/kubernetes`
aside), with its endpoints, the DestinationRule Istio applies to it, and, in Istio's alias
mode (1.21+), the ServiceEntry for its target host; a VirtualService that routes its HTTP
elsewhere (TLS origination up to 1.20) makes the route's destination its host. Also the
ServiceEntries `kubectl egress serviceentry` made, which have no Service. Reading never
changes anything.

Owned side (`clean`, and the recipes through `lookup`): only what carries
`app.kubernetes.io/managed-by: kubectl-egress`. The objects of one service share its name
(EndpointSlices carry it in `kubernetes.io/service-name`); objects whose Service is gone are
kept too, so that `clean` removes them. What the plugin did not make is never written.
"""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .analysis.protocol import protocol_of
from .analysis.rules import EntryHosts, RuleIndex, tls_of
from .analysis.snapshot import ROOT_NAMESPACE, Snapshot
from .model import (MANAGED_BY, CLUSTER_DOMAIN, DEPLOYMENTS, ENDPOINTS, ENDPOINTS_CONTROLLER, ENDPOINTS_MANAGED_BY,
                    ENDPOINT_SLICES, HOST_ANNOTATION, MANAGED_SELECTOR, MANAGER, NAMESPACES, RECIPE_LABEL,
                    SERVICE_ACCOUNTS, SERVICE_ENTRY_RECIPE, SERVICES, SLICE_CONTROLLER, SLICE_MANAGED_BY,
                    SLICE_SERVICE_NAME, Mesh, Origination, Resource, Target, destination_rules,
                    is_egress_service, managed_by, service_entries, virtual_services)
from .errors import ServerError

if TYPE_CHECKING:  # the connection module loads only when a command talks to the cluster
    from .kube import Kube

# the endpoints the cluster's controllers write for Services with a selector: never an egress service's
NOT_CONTROLLER_ENDPOINTS = f"{ENDPOINTS_MANAGED_BY}!={ENDPOINTS_CONTROLLER}"
NOT_CONTROLLER_SLICES = f"{SLICE_MANAGED_BY}!={SLICE_CONTROLLER}"
# Services are read a thousand a page: most are not egress services and are dropped as each page
# arrives, so memory stays that of one page (a page of 5,000 doubled `get -A`'s peak memory)
SERVICE_PAGE = 1000


@dataclass
class Found:
    """One egress service as it is in the cluster."""

    namespace: str
    name: str
    service: dict | None = None
    endpoints: list[tuple[Resource, dict]] = field(default_factory=list)
    rule: tuple[Resource, dict] | None = None  # its own DestinationRule (its namespace, its host)
    entry: tuple[Resource, dict] | None = None  # ServiceEntry (Istio 1.21+ ExternalName)
    applied: dict | None = None  # the DestinationRule Istio applies to its host, wherever it is
    route: tuple[Resource, dict] | None = None  # VirtualService (TLS origination up to Istio 1.20)

    def objects(self) -> list[tuple[Resource, dict]]:
        """Every object, in the order to delete them: route, rule, ServiceEntry, endpoints, Service."""
        out = [x for x in (self.route, self.rule, self.entry) if x]
        out.extend(self.endpoints)
        if self.service is not None:
            out.append((SERVICES, self.service))
        return out

    @property
    def managed_by(self) -> str:
        """Who made the Service, by its app.kubernetes.io/managed-by label ("" when unlabelled)."""
        return managed_by(self.service or {})

    @property
    def ports(self) -> list[dict]:
        return ((self.service or {}).get("spec") or {}).get("ports") or []

    @property
    def target(self) -> Target:
        return to_target(self)

    @property
    def is_entry(self) -> bool:
        """A ServiceEntry `kubectl egress serviceentry` made (with its rule), with no Service of its name."""
        return self.service is None and self.entry is not None and is_entry_recipe(self.entry[1])


def is_entry_recipe(obj: dict) -> bool:
    """Made by `kubectl egress serviceentry` (its ServiceEntry and DestinationRule)."""
    return ((obj.get("metadata") or {}).get("labels") or {}).get(RECIPE_LABEL) == SERVICE_ENTRY_RECIPE


def origination_of(rule: dict | None, entry: dict | None, port: int) -> Origination | None:
    """TLS origination on a port: the rule's port-level SIMPLE settings there, and the entry's targetPort."""
    policy = ((rule or {}).get("spec") or {}).get("trafficPolicy") or {}
    tls = next((level.get("tls") or {} for level in policy.get("portLevelSettings") or []
                if (level.get("port") or {}).get("number") == port), {})
    if tls.get("mode") != "SIMPLE":
        return None
    entry_port = next((p for p in ((entry or {}).get("spec") or {}).get("ports") or [] if p.get("number") == port), {})
    return Origination(target_port=int(entry_port.get("targetPort") or port),
                       verify="skip" if tls.get("insecureSkipVerify") else "system")


def entry_target(found: Found) -> Target:
    """A `serviceentry` ServiceEntry read back: its hosts, its first port, its origination, and the flags
    that write it again."""
    entry = found.entry[1] if found.entry else {}
    spec = entry.get("spec") or {}
    hosts = tuple(spec.get("hosts") or ())
    port = (spec.get("ports") or [{}])[0]
    number = int(port.get("number") or 0)
    rule = found.rule[1] if found.rule else None
    flags = []
    if spec.get("resolution", "DNS") != "DNS":
        flags.append(f"--resolution {spec['resolution']}")
    if spec.get("addresses"):
        flags.append(f"--addresses {','.join(spec['addresses'])}")
    if spec.get("endpoints"):
        flags.append(f"--endpoints {','.join(e.get('address', '') for e in spec['endpoints'])}")
    if spec.get("location", "MESH_EXTERNAL") != "MESH_EXTERNAL":
        flags.append(f"--location {spec['location']}")
    if spec.get("exportTo"):
        flags.append(f"--export-to {','.join(spec['exportTo'])}")
    return Target(name=found.name, namespace=found.namespace, host=hosts[0] if hosts else "", port=number,
                  protocol=(port.get("protocol") or port.get("name") or "").lower(), tls_mode=None,
                  origination=origination_of(rule, entry, number), recipe=SERVICE_ENTRY_RECIPE, hosts=hosts,
                  flags=tuple(flags), managed=True)


def mesh_host(svc: dict, mesh: Mesh) -> str:
    """The host Istio knows the Service by: its own name, or in alias mode an ExternalName's target."""
    spec = svc.get("spec") or {}
    if mesh.alias and spec.get("type") == "ExternalName":
        return (spec.get("externalName") or "").rstrip(".").lower()
    meta = svc["metadata"]
    return f"{meta['name']}.{meta.get('namespace', '')}.svc.{CLUSTER_DOMAIN}"


def addresses(found: Found) -> list[str]:
    """The endpoint addresses, each once (a mirrored slice repeats its v1 Endpoints')."""
    ips: list[str] = []
    for res, obj in found.endpoints:
        if res == ENDPOINTS:
            ips.extend(a["ip"] for s in obj.get("subsets") or [] for a in s.get("addresses") or [])
        else:
            ips.extend(a for e in obj.get("endpoints") or [] for a in e.get("addresses") or [])
    return list(dict.fromkeys(ips))


def to_target(found: Found, port: dict | None = None) -> Target:
    """The Target of one port (the first by default): what `externalname` or `endpoints` would make.

    protocol is Istio's for the port ("" when Istio sniffs it); host is the ExternalName's
    target, or the one `endpoints --host` recorded.
    """
    if found.is_entry:
        return entry_target(found)
    svc = found.service or {}
    spec = svc.get("spec") or {}
    port = port if port is not None else (found.ports or [{}])[0]
    if spec.get("type") == "ExternalName":
        host = (spec.get("externalName") or "").rstrip(".")
    else:
        host = ((svc.get("metadata") or {}).get("annotations") or {}).get(HOST_ANNOTATION, "")
    rule = found.applied if found.applied is not None else (found.rule[1] if found.rule else None)
    mode = tls_of(rule, port.get("port") or 0).get("mode") if rule is not None else None
    parsed = []
    for ip in addresses(found):
        try:
            parsed.append(ipaddress.ip_address(ip))
        except ValueError:
            continue
    api = "endpoints" if any(res == ENDPOINTS for res, _ in found.endpoints) else "endpointslice"
    number = int(port.get("port") or 0)
    origination = origination_of(rule, found.entry[1] if found.entry else None, number) \
        if spec.get("type") == "ExternalName" else None
    return Target(name=found.name, namespace=found.namespace, host=host, ips=tuple(parsed),
                  port=number, protocol=protocol_of(port) if port else "",
                  tls_mode=None if origination else mode, endpoints_api=api, managed=found.managed_by == MANAGER,
                  external=spec.get("type") == "ExternalName", origination=origination)


# -- the read side: every egress service ----------------------------------------------------------
def snapshot(kube: Kube, namespace: str | None, mesh: Mesh, selector: str = "") -> Snapshot:
    """What egress services are read from: the egress Services (selector: a label selector on
    them; other Services are dropped page by page), then only what they can have: the endpoints
    the cluster's controllers did not write (for Services with endpoints), the DestinationRules
    (the root namespace's too) and the ServiceEntries (for Services with endpoints, and for
    ExternalName ones in alias mode). One list per kind, each only when it can matter."""
    services = kube.list(SERVICES, namespace, selector, keep=is_egress_service, limit=SERVICE_PAGE)
    snap = Snapshot(mesh=mesh, services=services, namespace=namespace)
    external = any((s.get("spec") or {}).get("type") == "ExternalName" for s in services)
    endpoints = any((s.get("spec") or {}).get("type") != "ExternalName" for s in services)
    rules = destination_rules(mesh.networking_version)
    jobs: list[tuple[str, object]] = []
    if endpoints:
        jobs += [("endpoints", lambda: kube.list(ENDPOINTS, namespace, NOT_CONTROLLER_ENDPOINTS, quiet=True)),
                 ("slices", lambda: kube.list(ENDPOINT_SLICES, namespace, NOT_CONTROLLER_SLICES))]
    if mesh.served:  # with no egress Service, still the ServiceEntries of `kubectl egress serviceentry`
        jobs.append(("rules", lambda: kube.list_if_served(rules, namespace)))
        if namespace is not None and namespace != ROOT_NAMESPACE:
            jobs.append(("rules", lambda: root_rules(kube, rules)))
        jobs.append(("entries", lambda: kube.list_if_served(service_entries(mesh.networking_version), namespace)))
        if selector:  # `serviceentry`'s entries have no Service: -l selects among them by their labels
            jobs.append(("selected", lambda: kube.list_if_served(service_entries(mesh.networking_version),
                                                                 namespace, selector)))
        if external and not mesh.alias:  # TLS origination's route, up to 1.20
            jobs.append(("routes", lambda: kube.list_if_served(virtual_services(mesh.networking_version),
                                                               namespace)))
    for (field_name, _), found in zip(jobs, kube.parallel(lambda job: job[1](), jobs)):  # type: ignore[operator]
        setattr(snap, field_name, (getattr(snap, field_name) or []) + found)
    if namespace is not None and external and mesh.served and mesh.alias:
        _rules_elsewhere(kube, snap, namespace)
    return snap


def _rules_elsewhere(kube: Kube, snap: Snapshot, namespace: str) -> None:
    """In alias mode an ExternalName's host is a ServiceEntry's, perhaps of another namespace, whose
    rules exported to this one then apply (istio pilot/pkg/model/push_context.go destinationRule: the
    service's namespace comes between the caller's and the root's): for hosts no entry of the
    namespace declares, read every namespace's entries (when this user may) and those namespaces' rules."""
    declared = {h.lower() for se in snap.entries for h in (se.get("spec") or {}).get("hosts") or []}
    hosts = {(s.get("spec") or {}).get("externalName", "").rstrip(".").lower() for s in snap.services
             if (s.get("spec") or {}).get("type") == "ExternalName"} - declared
    if not hosts:
        return
    def readable(res: Resource, ns: str | None) -> list[dict] | None:  # None: this user may not
        try:
            return kube.list_if_served(res, ns)
        except ServerError as err:
            if err.code != 403:
                raise
            return None

    entries = readable(service_entries(snap.mesh.networking_version), None) or []
    declaring = EntryHosts(entries)
    owners = {declaring.service_namespace(host, namespace) for host in hosts} - {"", namespace, ROOT_NAMESPACE}
    rules = destination_rules(snap.mesh.networking_version)
    for ns, found in zip(sorted(owners), kube.parallel(lambda ns: readable(rules, ns), sorted(owners))):
        if found is not None:  # the entry counts only where its rules could be read
            snap.elsewhere += [se for se in entries if se["metadata"].get("namespace") == ns]
            snap.rules += found


def root_rules(kube: Kube, rules: Resource) -> list[dict]:
    """The root namespace's DestinationRules, where mesh-wide ones live. A user who may read only
    their own namespace (a Role there) is told what is left out, and the command goes on."""
    try:
        return kube.list_if_served(rules, ROOT_NAMESPACE)
    except ServerError as err:
        if err.code != 403:
            raise
        kube.warn(f"DestinationRules in {ROOT_NAMESPACE} could not be read ({err.message}); a mesh-wide rule "
                  "there is not taken into account")
        return []


def egress_services(snap: Snapshot, names: tuple[str, ...] = ()) -> list[Found]:
    """The snapshot's egress services (only NAMEs, if given), each with its objects (pure)."""
    mesh = snap.mesh
    rules_res = destination_rules(mesh.networking_version)
    entries_res = service_entries(mesh.networking_version)
    by_key: dict[tuple[str, str], Found] = {}
    for svc in snap.services:
        meta = svc["metadata"]
        if is_egress_service(svc) and (not names or meta["name"] in names):
            by_key[(meta.get("namespace", ""), meta["name"])] = Found(meta.get("namespace", ""), meta["name"], svc)
    for es in snap.slices:
        meta = es["metadata"]
        found = by_key.get((meta.get("namespace", ""), (meta.get("labels") or {}).get(SLICE_SERVICE_NAME, "")))
        if found is not None:
            found.endpoints.append((ENDPOINT_SLICES, es))
    for ep in snap.endpoints:
        found = by_key.get((ep["metadata"].get("namespace", ""), ep["metadata"]["name"]))
        if found is not None:
            found.endpoints.insert(0, (ENDPOINTS, ep))
    index = snap.rule_index() if mesh.istio else RuleIndex([])
    entries = _EntryIndex(snap.entries)
    owners = snap.entry_hosts()
    routes_res = virtual_services(mesh.networking_version)
    for found in by_key.values():
        svc = found.service or {}
        host = mesh_host(svc, mesh)
        route = _route_for(snap.routes, host, found.namespace) if mesh.istio else None
        if route is not None:  # its HTTP goes where the route leads, whose rules apply
            found.route = (routes_res, route[0])
            host = route[1]
        own = index.in_namespace(host, found.namespace)
        found.rule = (rules_res, own) if own is not None else None
        found.applied = index.effective(host, found.namespace, owners.service_namespace(host, found.namespace))
        entry = entries.find(found, mesh) if route is None else \
            entries._pick(entries.by_host.get((found.namespace, host), []), found.name)
        found.entry = (entries_res, entry) if entry is not None else None
    if mesh.istio:  # the ServiceEntries of `kubectl egress serviceentry`, with their own rules
        for se in snap.entries if snap.selected is None else snap.selected:
            meta = se["metadata"]
            key = (meta.get("namespace", ""), meta["name"])
            if not is_entry_recipe(se) or key in by_key or (names and meta["name"] not in names):
                continue
            found = Found(key[0], key[1], entry=(entries_res, se))
            hosts = [h.lower() for h in (se.get("spec") or {}).get("hosts") or []]
            own = index.in_namespace(hosts[0], key[0]) if hosts else None
            found.rule = (rules_res, own) if own is not None else None
            found.applied = own
            by_key[key] = found
    return sorted(by_key.values(), key=lambda f: (f.namespace, f.name))


def _route_for(routes: list[dict], host: str, namespace: str) -> tuple[dict, str] | None:
    """A VirtualService of the namespace that sends HTTP for host elsewhere, and that destination host
    (short names are relative to the route's namespace: Istio's VirtualService reference)."""
    for vs in routes:
        if vs["metadata"].get("namespace", "") != namespace:
            continue
        spec = vs.get("spec") or {}
        names = {h if "." in h else f"{h}.{namespace}.svc.{CLUSTER_DOMAIN}" for h in spec.get("hosts") or []}
        dests = [r.get("destination") or {} for rule in spec.get("http") or [] for r in rule.get("route") or []]
        if host in names and dests and dests[0].get("host"):
            dest = dests[0]["host"].lower()
            return vs, dest if "." in dest else f"{dest}.{namespace}.svc.{CLUSTER_DOMAIN}"
    return None


class _EntryIndex:
    """ServiceEntries by (namespace, host) and (namespace, address)."""

    def __init__(self, entries: list[dict]) -> None:
        self.by_host: dict[tuple[str, str], list[dict]] = {}
        self.by_address: dict[tuple[str, str], list[dict]] = {}
        for se in entries:
            ns, spec = se["metadata"].get("namespace", ""), se.get("spec") or {}
            for host in spec.get("hosts") or []:
                self.by_host.setdefault((ns, host.lower()), []).append(se)
            static = [e.get("address", "") for e in spec.get("endpoints") or []] \
                if spec.get("resolution") == "STATIC" else []
            for address in [*(spec.get("addresses") or []), *static]:
                self.by_address.setdefault((ns, address), []).append(se)

    @staticmethod
    def _pick(candidates: list[dict], name: str) -> dict | None:
        if not candidates:
            return None
        return next((se for se in candidates if se["metadata"]["name"] == name), candidates[0])

    def find(self, found: Found, mesh: Mesh) -> dict | None:
        """In alias mode, the ServiceEntry for an ExternalName's target host; for a Service with
        endpoints, the one that holds its cluster IP or its endpoint addresses. Same namespace."""
        spec = (found.service or {}).get("spec") or {}
        if spec.get("type") == "ExternalName":
            if not mesh.alias:
                return None
            return self._pick(self.by_host.get((found.namespace, mesh_host(found.service or {}, mesh)), []),
                              found.name)
        keys = [*(spec.get("clusterIPs") or []), *addresses(found)]
        hits = list({id(se): se for key in keys for se in self.by_address.get((found.namespace, key), [])}.values())
        return self._pick(hits, found.name)


def read(kube: Kube, namespace: str | None, mesh: Mesh, names: tuple[str, ...] = (),
         selector: str = "") -> list[Found]:
    """Every egress service in a namespace (None: all), whoever made it; only NAMEs if given;
    selector: a label selector on the Services. The one selection get, probe and check share."""
    return egress_services(snapshot(kube, namespace, mesh, selector), names)


# -- the owned side: what kubectl-egress made --------------------------------------------------------
def owned(kube: Kube, namespace: str | None, mesh: Mesh, names: tuple[str, ...] = ()) -> list[Found]:
    """Managed egress services in a namespace (None: all), optionally only these names."""
    rules = destination_rules(mesh.networking_version)
    entries = service_entries(mesh.networking_version)
    routes = virtual_services(mesh.networking_version)
    jobs = [(SERVICES, False), (ENDPOINT_SLICES, False), (ENDPOINTS, False)]
    if mesh.served:
        jobs += [(rules, True), (entries, True), (routes, True)]

    def fetch(job: tuple[Resource, bool]) -> list[dict]:
        res, optional = job
        if optional:
            return kube.list_if_served(res, namespace, MANAGED_SELECTOR)
        return kube.list(res, namespace, MANAGED_SELECTOR, quiet=res == ENDPOINTS)

    lists = kube.parallel(fetch, jobs)
    by_key: dict[tuple[str, str], Found] = {}

    def entry(obj: dict, name: str) -> Found:
        ns = obj["metadata"].get("namespace", "")
        return by_key.setdefault((ns, name), Found(ns, name))

    for svc in lists[0]:
        entry(svc, svc["metadata"]["name"]).service = svc
    for es in lists[1]:
        owner = (es["metadata"].get("labels") or {}).get(SLICE_SERVICE_NAME) or es["metadata"]["name"]
        entry(es, owner).endpoints.append((ENDPOINT_SLICES, es))
    for ep in lists[2]:
        entry(ep, ep["metadata"]["name"]).endpoints.append((ENDPOINTS, ep))
    if mesh.served:
        for dr in lists[3]:
            entry(dr, dr["metadata"]["name"]).rule = (rules, dr)
        for se in lists[4]:
            entry(se, se["metadata"]["name"]).entry = (entries, se)
        for vs in lists[5]:
            entry(vs, vs["metadata"]["name"]).route = (routes, vs)
    found = sorted(by_key.values(), key=lambda f: (f.namespace, f.name))
    if names:
        found = [f for f in found if f.name in names]
    if mesh.served:
        _routed_entries(kube, found, entries)
    return found


def _routed_entries(kube: Kube, found: list[Found], entries: Resource) -> None:
    """The ServiceEntry of a Service routed through a waypoint (`externalname --waypoint`) lives in the
    waypoint's namespace, named NAME.NAMESPACE: found through the Service's annotation."""
    from .waypoint import entry_name, previous
    for f in found:
        where = previous(f.service)
        if where is None or f.entry is not None:
            continue
        obj = kube.get(entries, entry_name(f.target), where[0])
        if obj is not None and (obj["metadata"].get("labels") or {}).get(MANAGED_BY) == MANAGER:
            obj.setdefault("apiVersion", entries.api_version)
            f.entry = (entries, obj)


def lookup(kube: Kube, namespace: str, mesh: Mesh, name: str) -> dict[tuple[str, str], dict]:
    """Everything named after one egress service, ours or not, keyed by (kind, name)."""
    rules = destination_rules(mesh.networking_version)
    entries = service_entries(mesh.networking_version)
    routes = virtual_services(mesh.networking_version)
    selector = f"{SLICE_SERVICE_NAME}={name},{MANAGED_SELECTOR}"
    jobs = [lambda: [kube.get(SERVICES, name, namespace)],
            lambda: [kube.get(ENDPOINTS, name, namespace, quiet=True)],
            lambda: kube.list(ENDPOINT_SLICES, namespace, selector)]
    if mesh.served:
        jobs += [lambda: [kube.get(rules, name, namespace)], lambda: [kube.get(entries, name, namespace)],
                 lambda: [kube.get(routes, name, namespace)]]
    live: dict[tuple[str, str], dict] = {}
    for objs in kube.parallel(lambda job: job(), jobs):
        for obj in objs:
            if obj is not None:
                res = {"Service": SERVICES, "Endpoints": ENDPOINTS, "EndpointSlice": ENDPOINT_SLICES,
                       "DestinationRule": rules, "ServiceEntry": entries,
                       "VirtualService": routes}[obj.get("kind", "")]
                obj.setdefault("apiVersion", res.api_version)
                live[(obj["kind"], obj["metadata"]["name"])] = obj
    return live


def sources(kube: Kube, namespace: str | None) -> list[tuple[Resource, dict]]:
    """The probe's source pods' objects that kubectl egress probe --deploy-sources made."""
    from .manifests import SOURCE_ROLE
    selector = f"{MANAGED_SELECTOR},{SOURCE_ROLE}=probe-source"
    found = []
    for res in (DEPLOYMENTS, SERVICE_ACCOUNTS):
        found.extend((res, obj) for obj in kube.list(res, namespace, selector))
    return found


def source_namespaces(kube: Kube) -> list[tuple[Resource, dict]]:
    from .manifests import SOURCE_ROLE
    selector = f"{MANAGED_SELECTOR},{SOURCE_ROLE}=probe-source"
    return [(NAMESPACES, ns) for ns in kube.list(NAMESPACES, None, selector)]
