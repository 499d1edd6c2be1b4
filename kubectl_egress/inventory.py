"""What kubectl-egress manages in the cluster, read back into Targets.

Everything it creates carries `app.kubernetes.io/managed-by: kubectl-egress`;
the objects of one egress service share its name (EndpointSlices carry it in
`kubernetes.io/service-name`). Objects whose Service is gone are kept too, so
that `clean` removes them.
"""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .model import (DEPLOYMENTS, ENDPOINTS, ENDPOINT_SLICES, HOST_ANNOTATION, MANAGED_SELECTOR,
                    NAMESPACES, RECIPE_LABEL, SERVICE_ACCOUNTS, SERVICE_ENTRY_RECIPE, SERVICES,
                    SLICE_SERVICE_NAME, Mesh, Origination, Resource, Target, destination_rules,
                    service_entries, virtual_services)

if TYPE_CHECKING:  # the connection module loads only when a command talks to the cluster
    from .kube import Kube


@dataclass
class Found:
    """One egress service as it is in the cluster."""

    namespace: str
    name: str
    service: dict | None = None
    endpoints: list[tuple[Resource, dict]] = field(default_factory=list)
    rule: tuple[Resource, dict] | None = None
    entry: tuple[Resource, dict] | None = None  # ServiceEntry (Istio 1.21+ ExternalName)
    route: tuple[Resource, dict] | None = None  # VirtualService (TLS origination up to Istio 1.20)

    def objects(self) -> list[tuple[Resource, dict]]:
        """Every object, in the order to delete them: route, rule, ServiceEntry, endpoints, Service."""
        out = [x for x in (self.route, self.rule, self.entry) if x]
        out.extend(self.endpoints)
        if self.service is not None:
            out.append((SERVICES, self.service))
        return out

    @property
    def target(self) -> Target:
        return to_target(self)

    @property
    def is_entry(self) -> bool:
        """A ServiceEntry `kubectl egress serviceentry` made (with its rule), with no Service of its name."""
        return self.service is None and self.entry is not None and \
            (self.entry[1]["metadata"].get("labels") or {}).get(RECIPE_LABEL) == SERVICE_ENTRY_RECIPE


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
    """A `serviceentry` ServiceEntry read back: its hosts, its first port, and its origination."""
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
                  flags=tuple(flags))


def to_target(found: Found) -> Target:
    if found.is_entry:
        return entry_target(found)
    svc = found.service or {}
    spec = svc.get("spec") or {}
    ports = spec.get("ports") or [{}]
    ips: list = []
    api = "endpointslice"
    for res, obj in found.endpoints:
        if res == ENDPOINTS:
            api = "endpoints"
            ips.extend(a["ip"] for s in obj.get("subsets") or [] for a in s.get("addresses") or [])
        else:
            ips.extend(a for e in obj.get("endpoints") or [] for a in e.get("addresses") or [])
    if spec.get("type") == "ExternalName":
        host = (spec.get("externalName") or "").rstrip(".")
    else:
        host = ((svc.get("metadata") or {}).get("annotations") or {}).get(HOST_ANNOTATION, "")
    mode = None
    if found.rule:
        mode = (((found.rule[1].get("spec") or {}).get("trafficPolicy") or {}).get("tls") or {}).get("mode")
    parsed = []
    for ip in ips:
        try:
            parsed.append(ipaddress.ip_address(ip))
        except ValueError:
            continue
    port = int(ports[0].get("port") or 0)
    origination = origination_of(found.rule[1] if found.rule else None, found.entry[1] if found.entry else None,
                                 port) if spec.get("type") == "ExternalName" else None
    return Target(name=found.name, namespace=found.namespace, host=host, ips=tuple(parsed),
                  port=port, protocol=ports[0].get("name", ""),
                  tls_mode=None if origination else mode, endpoints_api=api, origination=origination)


def find(kube: Kube, namespace: str | None, mesh: Mesh, names: tuple[str, ...] = ()) -> list[Found]:
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
    return found


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
