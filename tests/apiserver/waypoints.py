"""Waypoints, and egress through one as Istio's ambient egress guide does it
(istio.io docs/ambient/usage/egress-gateway: a waypoint in istio-egress, the namespace labelled
`istio.io/use-waypoint=waypoint`, a ServiceEntry there, a DestinationRule for TLS origination).

What the cluster has, with `--ambient`:
- the Gateway API CRDs (gateways, gatewayclasses; bundle v1.4.0 as Istio's own tests carry it in
  tests/integration/pilot/testdata/gateway-api-crd.yaml), which the guide installs first;
- istiod's GatewayClasses `istio` and `istio-waypoint` (pilot/pkg/config/kube/gateway
  deploymentcontroller.go classInfos; gatewayclass.go);
- istiod's deployment controller for `istio-waypoint` Gateways (files/waypoint.yaml): a
  ServiceAccount, Deployment and Service named after the Gateway, then the Gateway's status:
  Accepted, Programmed, and both an IPAddress and a Hostname address ("report both");
- istiod's ServiceEntry IP allocator (pilot/pkg/controllers/ipallocate): hosts of a ServiceEntry
  without `addresses` and with a resolution other than NONE get `status.addresses` from
  240.240.0.0/16 and 2001:2::/48, one of each per host; on by default from 1.25
  (PILOT_ENABLE_IP_AUTOALLOCATE), opt out with the label networking.istio.io/enable-autoallocate-ip=false.

Which waypoint serves a Service or ServiceEntry (pilot/pkg/serviceregistry/kube/controller/ambient/
waypoints.go fetchWaypointForService): its own `istio.io/use-waypoint` label (`none` opts out;
`istio.io/use-waypoint-namespace` names another namespace), else its namespace's; the Gateway must
have addresses (a ready pod) and carry traffic for services (`istio.io/waypoint-for` service or
all, service by default).

ztunnel sends a connection addressed to such a service's address to the waypoint over HBONE
(ztunnel src/proxy/outbound.rs); the waypoint, an Envoy configured for the service, forwards it
to the destination with the DestinationRule its namespace gives the host (`Waypoint.forward`).
Captured pods find a ServiceEntry's address through ztunnel's DNS proxy (ambient.py dns_capture).
"""
from __future__ import annotations

import copy
import ipaddress
import socket
import ssl
import threading
import time
from typing import TYPE_CHECKING

from .istio import SYSTEM_NAMESPACE, istiod_env, istiod_version, istiods, minor

if TYPE_CHECKING:  # pragma: no cover
    from .cluster import Cluster
    from .network import Network, PodNet

GATEWAYS, GATEWAY_CLASSES = "gateway.networking.k8s.io/gateways", "gateway.networking.k8s.io/gatewayclasses"
SERVICE_ENTRIES = "networking.istio.io/serviceentries"
WAYPOINT_CLASS, MESH_CONTROLLER = "istio-waypoint", "istio.io/mesh-controller"
USE_WAYPOINT, USE_WAYPOINT_NS = "istio.io/use-waypoint", "istio.io/use-waypoint-namespace"
WAYPOINT_FOR = "istio.io/waypoint-for"
GATEWAY_NAME = "gateway.networking.k8s.io/gateway-name"
HBONE_PORT = 15008
V4_PREFIX, V6_PREFIX = ipaddress.ip_network("240.240.0.0/16"), ipaddress.ip_network("2001:2::/48")
PILOT = "pilot-discovery"  # istiod's field manager (pkg/kube/util.go IstioUserAgent)

_ANY = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}


def _crd(kind: str, plural: str, short: str, scope: str, columns: list[dict], spec: dict) -> dict:
    schema = {"type": "object", "properties": {"spec": spec, "status": _ANY}}
    return {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": f"{plural}.gateway.networking.k8s.io",
                         "annotations": {"api-approved.kubernetes.io": "https://github.com/kubernetes-sigs/gateway-api/pull/3328",
                                         "gateway.networking.k8s.io/bundle-version": "v1.4.0",
                                         "gateway.networking.k8s.io/channel": "standard"}},
            "spec": {"group": "gateway.networking.k8s.io", "scope": scope,
                     "names": {"categories": ["gateway-api"], "kind": kind, "listKind": f"{kind}List",
                               "plural": plural, "shortNames": [short], "singular": kind.lower()},
                     "versions": [{"name": v, "served": True, "storage": v == "v1",
                                   "additionalPrinterColumns": columns, "schema": {"openAPIV3Schema": schema},
                                   "subresources": {"status": {}}} for v in ("v1", "v1beta1")]}}


AGE = {"jsonPath": ".metadata.creationTimestamp", "name": "Age", "type": "date"}


def crds() -> list[dict]:
    """Gateway and GatewayClass with their printer columns; the schemas keep the required fields
    and pass the rest through."""
    listener = {"type": "object", "required": ["name", "port", "protocol"], "properties": {
        "name": {"type": "string"}, "port": {"type": "integer", "minimum": 1, "maximum": 65535},
        "protocol": {"type": "string"}, "hostname": {"type": "string"}, "allowedRoutes": _ANY, "tls": _ANY}}
    gateway = {"type": "object", "required": ["gatewayClassName", "listeners"], "properties": {
        "gatewayClassName": {"type": "string"},
        "listeners": {"type": "array", "items": listener},
        "addresses": {"type": "array", "items": _ANY}, "infrastructure": _ANY, "tls": _ANY,
        "allowedListeners": _ANY, "defaultScope": {"type": "string"}}}
    gateway_class = {"type": "object", "required": ["controllerName"], "properties": {
        "controllerName": {"type": "string"}, "description": {"type": "string"}, "parametersRef": _ANY}}
    return [
        _crd("GatewayClass", "gatewayclasses", "gc", "Cluster",
             [{"jsonPath": ".spec.controllerName", "name": "Controller", "type": "string"},
              {"jsonPath": '.status.conditions[?(@.type=="Accepted")].status', "name": "Accepted", "type": "string"},
              AGE, {"jsonPath": ".spec.description", "name": "Description", "priority": 1, "type": "string"}],
             gateway_class),
        _crd("Gateway", "gateways", "gtw", "Namespaced",
             [{"jsonPath": ".spec.gatewayClassName", "name": "Class", "type": "string"},
              {"jsonPath": ".status.addresses[*].value", "name": "Address", "type": "string"},
              {"jsonPath": '.status.conditions[?(@.type=="Programmed")].status', "name": "Programmed",
               "type": "string"}, AGE], gateway),
    ]


def _condition(kind: str, reason: str, message: str, generation: int) -> dict:
    return {"type": kind, "status": "True", "reason": reason, "message": message,
            "observedGeneration": generation, "lastTransitionTime": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}


def install(cluster: "Cluster") -> None:
    """The CRDs (as the guide's `kubectl apply` of standard-install.yaml), then istiod's classes."""
    api, kinds = cluster.api, cluster.kinds
    crd_kind = kinds.get("apiextensions.k8s.io", "v1", "customresourcedefinitions")
    for definition in crds():
        api.create_object(crd_kind, definition, manager="kubectl-client-side-apply")
    class_kind = kinds.by_key(GATEWAY_CLASSES)
    for name, controller, text in (("istio", "istio.io/gateway-controller", "The default Istio GatewayClass"),
                                   (WAYPOINT_CLASS, MESH_CONTROLLER, "The default Istio waypoint GatewayClass")):
        created = api.create_object(class_kind, {
            "apiVersion": "gateway.networking.k8s.io/v1", "kind": "GatewayClass", "metadata": {"name": name},
            "spec": {"controllerName": controller, "description": text}}, manager=PILOT)
        old = copy.deepcopy(created)
        created["status"] = {"conditions": [_condition("Accepted", "Accepted", "Handled by Istio controller", 1)]}
        api.system_update(class_kind, old, created, PILOT, "status")
        cluster.store.put(class_kind.key, created, "MODIFIED")


# -- istiod's controllers ---------------------------------------------------------------------------
class Controllers:
    """The waypoint deployment controller and the ServiceEntry IP allocator."""

    watches = (GATEWAYS, SERVICE_ENTRIES, "/pods")

    def __init__(self, cluster: "Cluster") -> None:
        self.cluster = cluster
        self.lock = threading.RLock()

    def changed(self, event: str, obj: dict, old: dict | None) -> None:
        if event == "DELETED":
            return  # the waypoint's objects are the Gateway's (ownerReferences); addresses are never reused
        if obj.get("kind") == "ServiceEntry":
            self._allocate(obj)
        elif obj.get("kind") == "Gateway":
            self._deploy(obj)
        elif obj.get("kind") == "Pod":
            name = (obj["metadata"].get("labels") or {}).get(GATEWAY_NAME)
            gateway = self.cluster.store.get(GATEWAYS, obj["metadata"]["namespace"], name) if name else None
            if gateway is not None:
                self._status(gateway)

    # ServiceEntry addresses
    def allocating(self) -> bool:
        deploy = istiods(self.cluster.store).get("default") or next(iter(istiods(self.cluster.store).values()), None)
        if deploy is None:
            return False
        env = istiod_env(deploy)
        value = env.get("PILOT_ENABLE_IP_AUTOALLOCATE")
        if value is not None:
            return value.lower() in ("1", "t", "true")
        return minor(istiod_version(deploy)) >= (1, 25)

    def _allocate(self, se: dict) -> None:
        spec = se.get("spec") or {}
        labels = se["metadata"].get("labels") or {}
        if not self.allocating() or spec.get("resolution") == "NONE" or spec.get("addresses") or \
                labels.get("networking.istio.io/enable-autoallocate-ip", "").lower() == "false":
            return
        store = self.cluster.store
        with self.lock, store.lock:
            current = store.get(SERVICE_ENTRIES, se["metadata"]["namespace"], se["metadata"]["name"])
            if current is None:
                return
            existing = (current.get("status") or {}).get("addresses") or []
            have = {a.get("host") for a in existing}
            hosts = [h for h in dict.fromkeys(spec.get("hosts") or [])
                     if not h.startswith("*") or spec.get("resolution") == "DYNAMIC_DNS"]
            if set(hosts) == have:
                return
            used = {a.get("value") for s in store.scan(SERVICE_ENTRIES) for a in (s.get("status") or {}).get("addresses") or []}
            assigned = []
            for host in hosts:
                mine = [a for a in existing if a.get("host") == host]
                if not mine:
                    mine = [{"value": self._next(V4_PREFIX, used), "host": host},
                            {"value": self._next(V6_PREFIX, used), "host": host}]
                assigned += mine
            old = copy.deepcopy(current)
            current.setdefault("status", {})["addresses"] = assigned
            kind = self.cluster.kinds.by_key(SERVICE_ENTRIES)
            self.cluster.api.system_update(kind, old, current, PILOT, "status")
            store.put(SERVICE_ENTRIES, current, "MODIFIED")

    @staticmethod
    def _next(prefix, used: set) -> str:
        """prefixUse.allocateNext: the first free address after the prefix's network address."""
        for offset in range(1, prefix.num_addresses):
            candidate = str(prefix.network_address + offset)
            if candidate not in used:
                used.add(candidate)
                return candidate
        raise RuntimeError(f"{prefix} is full")

    # waypoints
    def _deploy(self, gateway: dict) -> None:
        if (gateway.get("spec") or {}).get("gatewayClassName") != WAYPOINT_CLASS:
            return
        cluster = self.cluster
        meta = gateway["metadata"]
        name, ns = meta["name"], meta["namespace"]
        owner = {"apiVersion": "gateway.networking.k8s.io/v1beta1", "kind": "Gateway", "name": name, "uid": meta["uid"]}
        labels = {GATEWAY_NAME: name, "gateway.networking.k8s.io/gateway-class-name": WAYPOINT_CLASS}
        with self.lock:
            if cluster.store.get("apps/deployments", ns, name) is not None:
                return
            revision = (meta.get("labels") or {}).get("istio.io/rev", "default")
            deploy = istiods(cluster.store).get(revision) or {}
            version = istiod_version(deploy) or (cluster.istio_version or "")
            kinds = cluster.kinds
            cluster.api.create_object(kinds.get("", "v1", "serviceaccounts"), {
                "apiVersion": "v1", "kind": "ServiceAccount",
                "metadata": {"name": name, "namespace": ns, "labels": dict(labels), "ownerReferences": [owner]}},
                manager=PILOT)
            ports = [{"name": "status-port", "port": 15021, "protocol": "TCP", "appProtocol": "tcp"}]
            ports += [{"name": l.get("name", "mesh"), "port": l.get("port"), "protocol": "TCP",
                       **({"appProtocol": "all"} if l.get("protocol") == "HBONE" else {})}
                      for l in gateway["spec"].get("listeners") or []]
            cluster.api.create_object(kinds.get("", "v1", "services"), {
                "apiVersion": "v1", "kind": "Service",
                "metadata": {"name": name, "namespace": ns, "labels": {**labels, "gateway.istio.io/managed": "istio.io-mesh-controller"},
                             "ownerReferences": [owner]},
                "spec": {"selector": {GATEWAY_NAME: name}, "type": "ClusterIP", "ports": ports}}, manager=PILOT)
            pod_labels = {"sidecar.istio.io/inject": "false", "istio.io/dataplane-mode": "none",
                          "service.istio.io/canonical-name": name, "service.istio.io/canonical-revision": "latest",
                          **labels, "gateway.istio.io/managed": "istio.io-mesh-controller"}
            cluster.api.create_object(kinds.get("apps", "v1", "deployments"), {
                "apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": {"name": name, "namespace": ns, "labels": {**labels, "gateway.istio.io/managed":
                                                                      "istio.io-mesh-controller"},
                             "ownerReferences": [owner]},
                "spec": {"selector": {"matchLabels": {GATEWAY_NAME: name}},
                         "template": {"metadata": {"labels": pod_labels,
                                                   "annotations": {"istio.io/rev": revision,
                                                                   "prometheus.io/path": "/stats/prometheus",
                                                                   "prometheus.io/port": "15020",
                                                                   "prometheus.io/scrape": "true"}},
                                      "spec": {"serviceAccountName": name, "containers": [{
                                          "name": "istio-proxy", "image": f"docker.io/istio/proxyv2:{version}",
                                          "args": ["proxy", "waypoint", "--domain", "$(POD_NAMESPACE).svc.cluster.local",
                                                   "--serviceCluster", f"{name}.$(POD_NAMESPACE)"],
                                          "ports": [{"containerPort": 15020, "name": "metrics", "protocol": "TCP"},
                                                    {"containerPort": 15021, "name": "status-port", "protocol": "TCP"},
                                                    {"containerPort": 15090, "name": "http-envoy-prom",
                                                     "protocol": "TCP"}]}]}}}}, manager=PILOT)
        self._status(gateway)

    def _status(self, gateway: dict) -> None:
        """Accepted at once; addresses and Programmed once the waypoint has a ready pod."""
        store = self.cluster.store
        with self.lock, store.lock:
            gateway = store.get(GATEWAYS, gateway["metadata"]["namespace"], gateway["metadata"]["name"])
            if gateway is None:
                return
            meta = gateway["metadata"]
            svc = store.get("/services", meta["namespace"], meta["name"]) or {}
            ready = any(_ready(p) for p in store.scan("/pods", meta["namespace"])
                        if (p["metadata"].get("labels") or {}).get(GATEWAY_NAME) == meta["name"])
            generation = meta.get("generation", 1)
            conditions = [_condition("Accepted", "Accepted", "Resource accepted", generation)]
            status: dict = {}
            if ready and (svc.get("spec") or {}).get("clusterIP"):
                status["addresses"] = [{"type": "IPAddress", "value": svc["spec"]["clusterIP"]},
                                       {"type": "Hostname", "value": f"{meta['name']}.{meta['namespace']}.svc.cluster.local"}]
                conditions.append(_condition("Programmed", "Programmed", "Resource programmed, assigned to service(s) "
                                             f"{meta['name']}.{meta['namespace']}.svc.cluster.local:{HBONE_PORT}",
                                             generation))
            status["conditions"] = conditions
            before = gateway.get("status") or {}
            if [c["type"] for c in before.get("conditions") or []] == [c["type"] for c in conditions] and \
                    before.get("addresses") == status.get("addresses"):
                return
            old = copy.deepcopy(gateway)
            gateway["status"] = status
            kind = self.cluster.kinds.by_key(GATEWAYS)
            self.cluster.api.system_update(kind, old, gateway, PILOT, "status")
            store.put(GATEWAYS, gateway, "MODIFIED")


def _ready(pod: dict) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in (pod.get("status") or {}).get("conditions") or [])


# -- which waypoint, and the waypoint's own forwarding -----------------------------------------------
def waypoint_for(store, obj: dict) -> dict | None:
    """fetchWaypointForService: the ready Gateway that serves obj (a Service or ServiceEntry)."""
    meta = obj["metadata"]
    if (meta.get("labels") or {}).get("gateway.istio.io/managed") == "istio.io-mesh-controller":
        return None  # a waypoint has no waypoint

    def use(labels: dict, namespace: str) -> tuple[str, str] | None | bool:
        if USE_WAYPOINT not in labels:
            return None
        if labels[USE_WAYPOINT] == "none":
            return False
        return labels[USE_WAYPOINT], labels.get(USE_WAYPOINT_NS, namespace)

    target = use(meta.get("labels") or {}, meta["namespace"])
    if target is False:
        return None
    if target is None:
        ns = store.get("/namespaces", "", meta["namespace"]) or {}
        target = use((ns.get("metadata") or {}).get("labels") or {}, meta["namespace"]) or None
    if not target:
        return None
    gateway = store.get(GATEWAYS, target[1], target[0])
    if gateway is None or not (gateway.get("status") or {}).get("addresses"):
        return None  # not ready: ReportWaypointIsNotReady
    for_ = (gateway["metadata"].get("labels") or {}).get(WAYPOINT_FOR, "service")
    return gateway if for_ in ("service", "all") else None


def service_entry_at(store, ip: str) -> tuple[dict, str] | None:
    """The ServiceEntry (and host) an address belongs to: spec.addresses, or status.addresses."""
    for se in store.scan(SERVICE_ENTRIES):
        spec = se.get("spec") or {}
        if ip in (spec.get("addresses") or []):
            return se, (spec.get("hosts") or [""])[0]
        for address in (se.get("status") or {}).get("addresses") or []:
            if address.get("value") == ip:
                return se, address.get("host", "")
    return None


class Waypoint:
    """The Envoy of a waypoint pod, for connections ztunnel hands it (one per request here)."""

    def __init__(self, network: "Network") -> None:
        self.network = network

    def forward(self, conn: socket.socket, gateway: dict, host: str, port: int, namespace: str,
                protocol: str, upstream: tuple[str, int] | None, source: "PodNet") -> None:
        """Forward to the destination as the waypoint's configuration says: the DestinationRule a
        proxy in the waypoint's namespace gets for host (meshrules.py); SIMPLE originates TLS;
        ISTIO_MUTUAL towards an external host fails as a sidecar's does."""
        from . import meshrules
        from .network import reset, splice
        from .sidecar import MTLS_RESET, read_http, relay_response, render, send_envoy_error

        store = self.network.cluster.store
        gw_ns = gateway["metadata"]["namespace"]
        pod = next((p for p in store.scan("/pods", gw_ns)
                    if (p["metadata"].get("labels") or {}).get(GATEWAY_NAME) == gateway["metadata"]["name"]), {})
        index = meshrules.index_destination_rules(store.scan("networking.istio.io/destinationrules"))
        rule = meshrules.destination_rule_for(index, gw_ns, (pod.get("metadata") or {}).get("labels") or {},
                                              host, namespace)
        mode = meshrules.tls_mode(rule, port)
        if upstream is None:
            reset(conn)
            return
        if protocol not in ("http", "http2", "grpc"):
            if mode in ("ISTIO_MUTUAL", "MUTUAL", "SIMPLE"):
                reset(conn)
                return
            remote = self.network.connect(upstream[0], upstream[1], (pod.get("status") or {}).get("podIP", ""))
            splice(conn, remote)
            remote.close()
            return
        request = read_http(conn)
        if request is None:
            return
        if mode in ("ISTIO_MUTUAL", "MUTUAL"):
            send_envoy_error(conn, 503, MTLS_RESET)
            return
        remote = self.network.connect(upstream[0], upstream[1], (pod.get("status") or {}).get("podIP", ""))
        if mode == "SIMPLE":
            try:
                context = ssl.create_default_context(cadata=self.network.cluster.ca.pem.decode())
                remote = context.wrap_socket(remote, server_hostname=host)
            except (ssl.SSLError, OSError):
                send_envoy_error(conn, 503, "upstream connect error or disconnect/reset before headers. "
                                 "reset reason: connection failure")
                return
        line, headers, body = request
        try:
            remote.sendall(render(line, headers, body))
            relay_response(remote, conn, time.monotonic())
        except OSError:
            send_envoy_error(conn, 503, MTLS_RESET)
        finally:
            remote.close()
