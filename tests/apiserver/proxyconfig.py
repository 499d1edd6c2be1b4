"""What istiod pushes to one sidecar, read from the cluster at each connection.

`ProxyConfig.proxy` finds a pod's configuration as its revision gives it: the istiod that
injected it (annotation istio.io/rev, else the injector's sidecar.istio.io/status) and so that
istiod's version and ExternalName mode, the mesh config of the revision, the Sidecar resource
that scopes the pod, and the DestinationRules as istiod indexes them (meshrules.py). Then:

- *registry*: every (host, port) the proxy has a cluster for: Services (an ExternalName one only
  up to alias mode), ServiceEntries; a Sidecar resource's egress hosts and a service's exportTo
  leave services out;
- *aliases*: from 1.21 (istio.external_name_alias) an ExternalName Service is only an alias of
  its target's host, and only rules on the target host apply;
- *matching*: HTTP by the Host header on the port's HTTP listener; TCP and TLS by cluster IP,
  ServiceEntry address, SNI, or (for an ExternalName Service's TCP port before Istio 1.21) any
  traffic on that port (istio#20703);
- *TLS mode*: the DestinationRule that applies (meshrules.py: the client's namespace, then the
  service's, then istio-system; the most specific host; workload selectors).
"""
from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from . import istio, meshrules

if TYPE_CHECKING:  # pragma: no cover
    from .cluster import Cluster
    from .network import PodNet

DESTINATION_RULES = "networking.istio.io/destinationrules"
SERVICE_ENTRIES = "networking.istio.io/serviceentries"
SIDECARS = "networking.istio.io/sidecars"
ROOT_NAMESPACE = "istio-system"
DOMAIN = "svc.cluster.local"
HTTP_PROTOCOLS = ("http", "http2", "grpc", "grpc-web", "http_proxy")
KNOWN_PROTOCOLS = HTTP_PROTOCOLS + ("https", "tls", "tcp", "udp", "mongo", "redis", "mysql")


def port_protocol(port: dict) -> str:
    """Istio protocol selection: appProtocol, else the name's prefix; '' when unrecognised."""
    name = (port.get("appProtocol") or port.get("name") or port.get("protocol") or "").lower()
    prefix = name.split("-", 1)[0]
    return prefix if prefix in KNOWN_PROTOCOLS else ""


@dataclass(frozen=True)
class Entry:
    """A service in the mesh's registry, as Envoy clusters see it."""

    host: str
    namespace: str
    port: int
    protocol: str  # from the port's name; '' when Istio would sniff
    upstreams: tuple[tuple[str, int], ...] = ()  # static endpoints (ip, port)
    dns: str = ""  # resolution DNS: connect to this name, at `port`
    target_port: int = 0
    service: dict | None = field(default=None, compare=False, repr=False)  # its endpoints, read when used
    service_port: dict | None = field(default=None, compare=False, repr=False)

    @property
    def cluster(self) -> str:
        return f"outbound|{self.port}||{self.host}"


@dataclass
class Proxy:
    """What istiod pushes to one sidecar, read from the cluster at each connection: the revision
    that injected it (annotation istio.io/rev) and so that istiod's version and ExternalName mode,
    the outbound traffic policy in force, the Sidecar resource that scopes it, and the
    DestinationRules as its revision indexes them (meshrules.py)."""

    namespace: str
    labels: dict[str, str]
    revision: str
    version: tuple[int, int]
    alias: bool
    policy: str
    scope: dict | None
    rules: meshrules.DestinationRuleIndex

    def visible(self, entry: "Entry", services_export: dict[tuple[str, str], list[str]]) -> bool:
        """Is the entry in this proxy's registry? Its exportTo (Service annotation
        networking.istio.io/exportTo, ServiceEntry spec.exportTo: `*` by default, `.` its own
        namespace, `~` none) and the Sidecar's egress hosts (`namespace/dnsName`, namespace `*`,
        `.` or a name; pilot/pkg/model/sidecar.go selectServices, hostClassification.Matches)."""
        export = services_export.get((entry.namespace, entry.host))
        if export:
            ok = "*" in export or self.namespace in export or ("." in export and entry.namespace == self.namespace)
            if not ok:
                return False
        listeners = ((self.scope or {}).get("spec") or {}).get("egress") or []
        if not listeners:
            return True
        scope_ns = (self.scope or {}).get("metadata", {}).get("namespace", "")
        for listener in listeners:
            port = (listener.get("port") or {}).get("number")
            if port and port != entry.port:
                continue
            for item in listener.get("hosts") or []:
                ns, _, dns = item.partition("/")
                ns = scope_ns if ns == "." else ns
                if ns not in ("*", entry.namespace):
                    continue
                if dns == "*" or dns == entry.host or (meshrules.is_wildcarded(dns) and
                                                       meshrules.subset_of(entry.host, dns)):
                    return True
        return False


class ProxyConfig:
    """The configuration side of the emulated sidecar, for one cluster."""

    def __init__(self, cluster: "Cluster") -> None:
        self.cluster = cluster
        self.lock = threading.Lock()
        self._rules: tuple | None = None
        self._registries: dict[tuple, list[Entry]] = {}

    @property
    def store(self):
        return self.cluster.store

    def proxy(self, net: "PodNet") -> Proxy:
        """The pod's configuration now (a pod keeps its revision; the rest may change any time)."""
        pod = self.store.get("/pods", net.namespace, net.name) or {}
        meta = pod.get("metadata") or {}
        notes = meta.get("annotations") or {}
        revision = notes.get("istio.io/rev") or istio.DEFAULT_REVISION
        if "istio.io/rev" not in notes:
            try:
                revision = json.loads(notes.get("sidecar.istio.io/status", "{}")).get("revision") or revision
            except ValueError:
                pass
        deploy = istio.istiods(self.store).get(revision)
        if deploy is not None:
            version, env = istio.istiod_version(deploy), istio.istiod_env(deploy)
        else:  # its control plane is gone: the proxy keeps what its image says
            version, env = _proxy_image_version(pod), {}
        version = version or (self.cluster.istio_version or "1.20.0")
        mesh = istio.read_mesh_config(self.store, revision)
        labels = meta.get("labels") or {}
        scope = meshrules.sidecar_for(self.store.scan(SIDECARS), net.namespace, labels,
                                      mesh.get("rootNamespace") or ROOT_NAMESPACE)
        export = frozenset(mesh.get("defaultDestinationRuleExportTo") or ["*"])
        rules = self.rule_index(mesh.get("rootNamespace") or ROOT_NAMESPACE, export)
        return Proxy(net.namespace, labels, revision, istio.minor(version),
                     istio.external_name_alias(version, env), meshrules.outbound_policy(mesh, scope), scope, rules)

    def rule_index(self, root: str, export: frozenset[str]) -> meshrules.DestinationRuleIndex:
        """The DestinationRule index, built again only when a rule changed (as istiod's push)."""
        rules = self.store.scan(DESTINATION_RULES)
        key = (root, export, tuple((r["metadata"].get("uid"), r["metadata"].get("resourceVersion")) for r in rules))
        with self.lock:
            if self._rules is not None and self._rules[0] == key:
                return self._rules[1]
        index = meshrules.index_destination_rules(rules, root, export)
        with self.lock:
            self._rules = (key, index)
        return index

    def registry(self, proxy: Proxy) -> list[Entry]:
        """Every (host, port) the proxy has a cluster for; computed again only when the cluster's
        objects changed (as istiod pushes on a change), not for every connection."""
        scope = (proxy.scope or {}).get("metadata") or {}
        key = (self.store.rv, proxy.namespace, proxy.alias, scope.get("uid"), scope.get("resourceVersion"))
        with self.lock:
            cached = self._registries.get(key)
        if cached is None:
            cached = self._registry(proxy)
            with self.lock:
                if len(self._registries) > 64:
                    self._registries.clear()
                self._registries[key] = cached
        return list(cached)

    def _registry(self, proxy: Proxy) -> list[Entry]:
        entries: list[Entry] = []
        exports: dict[tuple[str, str], list[str]] = {}
        for svc in self.store.scan("/services"):
            meta, spec = svc["metadata"], svc.get("spec", {})
            host = f"{meta['name']}.{meta['namespace']}.{DOMAIN}"
            note = (meta.get("annotations") or {}).get("networking.istio.io/exportTo")
            if note:
                exports[(meta["namespace"], host)] = [x.strip() for x in note.split(",")]
            for port in spec.get("ports") or []:
                if spec.get("type") == "ExternalName":
                    if proxy.alias:
                        continue  # only an alias in 1.21+: see aliases()
                    entries.append(Entry(host, meta["namespace"], port["port"], port_protocol(port),
                                         dns=spec.get("externalName", "").rstrip(".")))
                else:
                    entries.append(Entry(host, meta["namespace"], port["port"], port_protocol(port),
                                         service=svc, service_port=port))
        for se in self.store.scan(SERVICE_ENTRIES):
            spec = se.get("spec", {})
            for host in spec.get("hosts") or []:
                if spec.get("exportTo"):
                    exports[(se["metadata"]["namespace"], host)] = spec["exportTo"]
                for port in spec.get("ports") or []:
                    protocol = (port.get("protocol") or "").lower()
                    ups = tuple((e["address"], (e.get("ports") or {}).get(port.get("name"), port.get("targetPort") or port["number"]))
                                for e in spec.get("endpoints") or [] if e.get("address"))
                    entries.append(Entry(host, se["metadata"]["namespace"], port["number"],
                                         protocol if protocol in KNOWN_PROTOCOLS else "",
                                         upstreams=ups if spec.get("resolution") == "STATIC" else (),
                                         dns="" if spec.get("resolution") == "STATIC" else host,
                                         target_port=port.get("targetPort") or 0))
        return [e for e in entries if proxy.visible(e, exports)]

    def aliases(self, proxy: Proxy) -> dict[str, str]:
        """1.21+: ExternalName hosts that are DNS aliases of another mesh host."""
        if not proxy.alias:
            return {}
        out = {}
        for svc in self.store.scan("/services"):
            spec = svc.get("spec", {})
            if spec.get("type") == "ExternalName":
                meta = svc["metadata"]
                out[f"{meta['name']}.{meta['namespace']}.{DOMAIN}"] = spec.get("externalName", "").rstrip(".")
        return out

    @staticmethod
    def tls_mode(entry: Entry, proxy: Proxy) -> str | None:
        """The TLS mode of the DestinationRule that applies to entry for this proxy, or None (auto mTLS)."""
        rule = meshrules.destination_rule_for(proxy.rules, proxy.namespace, proxy.labels, entry.host,
                                              entry.namespace)
        return meshrules.tls_mode(rule, entry.port)

    # -- matching -------------------------------------------------------------------------
    def by_host(self, host: str, port: int, proxy: Proxy, registry: list[Entry]) -> Entry | None:
        host = host.lower().rstrip(".")
        names = {host}
        if "." not in host:
            names.add(f"{host}.{proxy.namespace}.{DOMAIN}")
        elif host.count(".") == 1:
            names.add(f"{host}.{DOMAIN}")
        elif host.endswith(".svc"):
            names.add(f"{host}.cluster.local")
        aliases = self.aliases(proxy)
        for name in list(names):
            target = aliases.get(name)
            if target:
                names.add(target)
        for entry in registry:
            if entry.port == port and entry.host in names:
                return entry
        return None

    def by_address(self, ip: str, port: int, sni: str, registry: list[Entry]) -> Entry | None:
        entries = [e for e in registry if e.port == port]
        for svc in self.store.scan("/services"):
            if ip in (svc.get("spec", {}).get("clusterIPs") or []):
                meta = svc["metadata"]
                host = f"{meta['name']}.{meta['namespace']}.{DOMAIN}"
                return next((e for e in entries if e.host == host), None)
        for se in self.store.scan(SERVICE_ENTRIES):
            if ip in (se.get("spec", {}).get("addresses") or []):
                return next((e for e in entries if e.host in se["spec"].get("hosts", [])), None)
        if sni:
            found = next((e for e in entries if e.host == sni and e.protocol in ("https", "tls")), None)
            if found:
                return found
        # a TCP port of a DNS service without addresses captures all traffic on the port
        return next((e for e in entries if e.protocol == "tcp" and e.dns), None)


def _proxy_image_version(pod: dict) -> str:
    """The version of a pod's istio-proxy image (proxyv2:1.24.3), '' when there is none."""
    spec = pod.get("spec") or {}
    for container in (spec.get("containers") or []) + (spec.get("initContainers") or []):
        if container.get("name") == "istio-proxy":
            tag = container.get("image", "").rpartition(":")[2]
            if re.fullmatch(r"\d+\.\d+\.\d+.*", tag):
                return tag.split("-")[0]
    return ""
