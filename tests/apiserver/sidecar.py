"""The emulated Istio sidecar: what a pod's outbound traffic meets when istio-proxy is in the pod.

Istio's iptables rules send a pod's outbound connections to Envoy, which
matches them against the mesh's services and applies their DestinationRules.
This module does the same for the connections network.py hands it, as the
pod's own revision configures it (`Proxy`: the istiod that injected it, its
version and mesh config, the Sidecar resource that scopes the pod):

- *matching*: HTTP by the Host header on the port's HTTP listener; TCP and TLS
  by cluster IP, ServiceEntry address, SNI, or (for an ExternalName Service's
  TCP port before Istio 1.21) any traffic on that port (istio#20703). No match
  goes to the PassthroughCluster, untouched.
- *visibility*: a Sidecar resource's egress hosts and a service's exportTo
  leave services out of the proxy's registry.
- *ExternalName Services* follow the revision's istiod: up to Istio 1.20 (unless
  ENABLE_EXTERNAL_NAME_ALIAS) each is a service of its own, host
  NAME.NS.svc.cluster.local, so DestinationRules on that host apply; from
  1.21 it is only an alias of its target's host, and only rules on the target
  host (written for a ServiceEntry) apply (istio.external_name_alias).
- *outbound traffic policy* (meshConfig, or the Sidecar's): no match goes to
  the PassthroughCluster under ALLOW_ANY; under REGISTRY_ONLY HTTP gets the
  block_all route's 502 and anything else the BlackHoleCluster, a closed
  connection (a reset TLS handshake).
- *TLS mode*: the DestinationRule that applies (meshrules.py: the client's
  namespace, then the service's, then istio-system; the most specific host;
  workload selectors) decides. A mode of ISTIO_MUTUAL towards an external host
  fails as Envoy does: HTTP 503 `upstream connect error or disconnect/reset
  before headers. reset reason: connection termination`, or a reset TLS handshake.
- *headers*: requests get the headers Istio's sidecar adds (decorator
  operation, peer metadata id, B3 trace ids, ...); responses get
  `server: envoy` and `x-envoy-upstream-service-time`.
- *admin*: 127.0.0.1:15000/stats in the pod serves Istio's standard metrics in
  Envoy's tag-encoded form (`reporter=.=source;.;...;.;destination_service=.=
  HOST;.;..._istio_requests_total: 1`, `..._istio_tcp_connections_opened_total`),
  which a default Istio records (the `cluster.outbound|...` counters need
  statsInclusionPrefixes, so they are not there).
"""
from __future__ import annotations

import base64
import collections
import json
import re
import socket
import ssl
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from . import istio, meshrules
from .network import reset, splice

if TYPE_CHECKING:  # pragma: no cover
    from .network import Network, PodNet

DESTINATION_RULES = "networking.istio.io/destinationrules"
SERVICE_ENTRIES = "networking.istio.io/serviceentries"
SIDECARS = "networking.istio.io/sidecars"
ROOT_NAMESPACE = "istio-system"
BLACKHOLE = "BlackHoleCluster"
DOMAIN = "svc.cluster.local"
HTTP_PROTOCOLS = ("http", "http2", "grpc", "grpc-web", "http_proxy")
KNOWN_PROTOCOLS = HTTP_PROTOCOLS + ("https", "tls", "tcp", "udp", "mongo", "redis", "mysql")
MTLS_RESET = ("upstream connect error or disconnect/reset before headers. "
              "reset reason: connection termination")
TLS_ERROR = ("upstream connect error or disconnect/reset before headers. reset reason: connection "
             "failure, transport failure reason: TLS_error:|268435703:SSL routines:OPENSSL_internal:"
             "WRONG_VERSION_NUMBER:TLS_error_end")


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


class Sidecar:
    def __init__(self, network: "Network") -> None:
        self.network = network
        self.stats: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
        self.lock = threading.Lock()
        self._rules: tuple | None = None

    @property
    def store(self):
        return self.network.cluster.store

    # -- mesh configuration -------------------------------------------------------------
    def proxy(self, net: "PodNet") -> Proxy:
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
        version = version or (self.network.cluster.istio_version or "1.20.0")
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
        """Every (host, port) the proxy has a cluster for."""
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

    # -- traffic --------------------------------------------------------------------------------
    def count(self, net: "PodNet", entry: "Entry | None", host: str, protocol: str, code: int = 0,
              cluster: str = "PassthroughCluster") -> None:
        """One Istio metric sample, as the source reporter records it (traffic to no service is
        named after the PassthroughCluster or BlackHoleCluster it went to, istio/proxy#2792)."""
        if entry is not None:
            name, _, rest = entry.host.partition(".")
            namespace = rest.split(".")[0] if rest.endswith(DOMAIN) else entry.namespace
            service, service_name = entry.host, name if rest.endswith(DOMAIN) else entry.host
        else:
            service, service_name, namespace = host or "unknown", cluster, "unknown"
        tags = [("reporter", "source"), ("source_workload", net.workload),
                ("source_workload_namespace", net.namespace), ("destination_service", service),
                ("destination_service_name", service_name), ("destination_service_namespace", namespace),
                ("request_protocol", protocol)]
        if protocol == "http":
            tags.append(("response_code", str(code)))
        tags += [("response_flags", "UH" if cluster == BLACKHOLE and protocol == "tcp" else "-"),
                 ("connection_security_policy", "unknown")]
        metric = "istio_requests_total" if protocol == "http" else "istio_tcp_connections_opened_total"
        key = ";.;".join(f"{k}=.={v}" for k, v in tags) + f";.;_{metric}"
        with self.lock:
            self.stats[net.uid][key] += 1

    def outbound(self, net: "PodNet", conn: socket.socket, ip: str, port: int) -> None:
        proxy = self.proxy(net)
        registry = self.registry(proxy)
        first = peek(conn)
        is_tls = first[:1] == b"\x16"
        http_port = any(e.port == port and e.protocol in HTTP_PROTOCOLS for e in registry)
        looks_http = bool(re.match(rb"^[A-Z]+ \S+ HTTP/1\.[01]\r?\n", first))
        by_address = self.by_address(ip, port, sni_of(first) if is_tls else "", registry)
        if by_address is not None and by_address.protocol not in HTTP_PROTOCOLS + ("",):
            return self.tcp(net, conn, ip, port, by_address, proxy)
        if looks_http and (http_port or (by_address is not None)):
            return self.http(net, conn, ip, port, by_address, proxy, registry)
        if by_address is not None and not looks_http:
            return self.tcp(net, conn, ip, port, by_address, proxy)
        self.passthrough(net, conn, ip, port, proxy)

    def passthrough(self, net: "PodNet", conn: socket.socket, ip: str, port: int, proxy: Proxy) -> None:
        """The outbound listener's catch-all: PassthroughCluster under ALLOW_ANY, BlackHoleCluster
        (a static cluster without endpoints) under REGISTRY_ONLY, where Envoy closes the connection
        at once: a reset TLS handshake, curl exit 35 (pilot/pkg/networking/core/listener_builder.go
        buildOutboundCatchAllNetworkFiltersOnly; istio#33281; istio.io egress-control task)."""
        if proxy.policy == "REGISTRY_ONLY":
            self.count(net, None, ip, "tcp", cluster=BLACKHOLE)
            reset(conn)
            return
        self.count(net, None, ip, "tcp")
        upstream = self.network.connect(ip, port, net.ip)
        splice(conn, upstream)
        upstream.close()

    def _upstream_address(self, entry: Entry, ip: str, port: int) -> tuple[str, int] | None:
        upstreams = list(entry.upstreams)
        if entry.service is not None:
            upstreams = self.network.endpoints(entry.service, entry.service_port or {})
        if upstreams:
            return self.network.pick(entry.cluster, upstreams)
        if entry.dns:
            ips = self.network.resolve(entry.dns)
            if ips:
                return ips[0], entry.target_port or entry.port
        return None

    def tcp(self, net: "PodNet", conn: socket.socket, ip: str, port: int, entry: Entry, proxy: Proxy) -> None:
        self.count(net, entry, entry.host, "tcp")
        mode = self.tls_mode(entry, proxy)
        if mode in ("ISTIO_MUTUAL", "MUTUAL", "SIMPLE"):
            # Envoy wraps the app's bytes in its own TLS; the external host cannot follow.
            peek(conn)
            reset(conn)
            return
        address = self._upstream_address(entry, ip, port)
        if address is None:
            reset(conn)
            return
        upstream = self.network.connect(address[0], address[1], net.ip)
        splice(conn, upstream)
        upstream.close()

    def http(self, net: "PodNet", conn: socket.socket, ip: str, port: int, by_address: Entry | None,
             proxy: Proxy, registry: list[Entry]) -> None:
        request = read_http(conn)
        if request is None:
            return
        line, headers, body = request
        host = header(headers, "host").split(":")[0] or ip
        entry = by_address or self.by_host(host, port, proxy, registry)
        started = time.monotonic()
        headers = outbound_headers(headers, entry, net, b3=proxy.version < (1, 22))
        if entry is None and proxy.policy == "REGISTRY_ONLY":
            # the block_all virtual host: a direct response 502 with no body
            # (pilot/pkg/networking/core/httproute.go, BlackHole route; istio#21385)
            send_envoy_error(conn, 502, "")
            self.count(net, None, host, "http", 502, cluster=BLACKHOLE)
            return
        if entry is None:  # the allow_any virtual host: PassthroughCluster, no decorator
            upstream = self.network.connect(ip, port, net.ip)
            code = self._forward(conn, upstream, line, headers, body, started)
            self.count(net, None, host, "http", code)
            return
        mode = self.tls_mode(entry, proxy)
        if mode in ("ISTIO_MUTUAL", "MUTUAL"):
            send_envoy_error(conn, 503, MTLS_RESET)
            self.count(net, entry, entry.host, "http", 503)
            return
        address = self._upstream_address(entry, ip, port)
        if address is None:
            send_envoy_error(conn, 503, "no healthy upstream")
            self.count(net, entry, entry.host, "http", 503)
            return
        upstream = self.network.connect(address[0], address[1], net.ip)
        if mode == "SIMPLE":  # TLS origination
            try:
                context = ssl.create_default_context(cadata=(self.network.cluster.ca.pem.decode()))
                upstream = context.wrap_socket(upstream, server_hostname=entry.dns or host)
            except (ssl.SSLError, OSError):
                send_envoy_error(conn, 503, TLS_ERROR)
                self.count(net, entry, entry.host, "http", 503)
                return
        code = self._forward(conn, upstream, line, headers, body, started)
        self.count(net, entry, entry.host, "http", code)

    @staticmethod
    def _forward(conn: socket.socket, upstream: socket.socket, line: str, headers: list[tuple[str, str]],
                 body: bytes, started: float) -> int:
        """Send the request upstream and its answer back; the status code sent to the client."""
        try:
            upstream.sendall(render(line, headers, body))
            return relay_response(upstream, conn, started)
        except OSError:
            send_envoy_error(conn, 503, MTLS_RESET)
            return 503
        finally:
            upstream.close()

    def admin(self, net: "PodNet", conn: socket.socket) -> None:
        """Envoy's admin endpoint: GET /stats[?filter=REGEX] and /ready."""
        request = read_http(conn)
        if request is None:
            return
        line = request[0]
        target = line.split(" ")[1] if " " in line else "/"
        path, _, query = target.partition("?")
        if path == "/ready":
            body = b"LIVE\n"
        elif path == "/stats":
            pattern = ""
            for part in query.split("&"):
                if part.startswith("filter="):
                    from urllib.parse import unquote
                    pattern = unquote(part[len("filter="):])
            with self.lock:
                counters = dict(self.stats[net.uid])
            lines = [f"{name}: {value}" for name, value in sorted(counters.items())
                     if not pattern or re.search(pattern, name)]
            body = ("\n".join(lines) + ("\n" if lines else "")).encode()
        else:
            conn.sendall(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
            return
        conn.sendall(b"HTTP/1.1 200 OK\r\ncontent-type: text/plain; charset=UTF-8\r\n" +
                     f"content-length: {len(body)}\r\nserver: envoy\r\nconnection: close\r\n\r\n".encode() + body)


# -- helpers -------------------------------------------------------------------------------------
def peek(conn: socket.socket, size: int = 4096, wait: float = 2.0) -> bytes:
    """The first bytes the client sent, left in the socket."""
    conn.settimeout(wait)
    try:
        return conn.recv(size, socket.MSG_PEEK)
    except (socket.timeout, OSError):
        return b""
    finally:
        conn.settimeout(None)


def sni_of(hello: bytes) -> str:
    """The server_name of a TLS ClientHello, '' when there is none."""
    try:
        if hello[0] != 0x16 or hello[5] != 0x01:
            return ""
        pos = 9 + 2 + 32  # record + handshake headers, version, random
        pos += 1 + hello[pos]  # session id
        pos += 2 + int.from_bytes(hello[pos:pos + 2], "big")  # cipher suites
        pos += 1 + hello[pos]  # compression methods
        end = pos + 2 + int.from_bytes(hello[pos:pos + 2], "big")
        pos += 2
        while pos + 4 <= end:
            kind = int.from_bytes(hello[pos:pos + 2], "big")
            length = int.from_bytes(hello[pos + 2:pos + 4], "big")
            if kind == 0:  # server_name: list length, type, name length, name
                size = int.from_bytes(hello[pos + 7:pos + 9], "big")
                return hello[pos + 9:pos + 9 + size].decode("ascii", "replace")
            pos += 4 + length
    except (IndexError, ValueError):
        pass
    return ""


def read_http(conn: socket.socket, limit: int = 1 << 20) -> tuple[str, list[tuple[str, str]], bytes] | None:
    """One HTTP/1.1 message head and body (Content-Length bodies only)."""
    data = b""
    conn.settimeout(30)
    try:
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(65536)
            if not chunk:
                return None
            data += chunk
            if len(data) > limit:
                return None
        head, _, rest = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        headers = [tuple(part.strip() for part in h.split(":", 1)) for h in lines[1:] if ":" in h]
        length = int(header(headers, "content-length") or 0)
        while len(rest) < length:
            chunk = conn.recv(65536)
            if not chunk:
                break
            rest += chunk
        return lines[0], headers, rest[:length]
    except (OSError, ValueError):
        return None
    finally:
        try:
            conn.settimeout(None)
        except OSError:
            pass


def header(headers: list[tuple[str, str]], name: str) -> str:
    return next((v for k, v in headers if k.lower() == name), "")


def render(line: str, headers: list[tuple[str, str]], body: bytes) -> bytes:
    return (line + "\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers) + "\r\n").encode("latin-1") + body


def peer_metadata(net: "PodNet") -> str:
    """x-envoy-peer-metadata: a base64 protobuf Struct of string fields, keys sorted."""
    fields = {"APP_CONTAINERS": net.workload, "CLUSTER_ID": "Kubernetes", "INSTANCE_IPS": net.ip,
              "MESH_ID": "cluster.local", "NAME": net.name, "NAMESPACE": net.namespace,
              "WORKLOAD_NAME": net.workload}

    def length_delimited(number: int, payload: bytes) -> bytes:
        size, out = len(payload), b""
        while True:
            byte = size & 0x7F
            size >>= 7
            out += bytes([byte | (0x80 if size else 0)])
            if not size:
                break
        return bytes([number << 3 | 2]) + out + payload

    struct = b"".join(length_delimited(1, length_delimited(1, k.encode()) +
                                       length_delimited(2, length_delimited(3, v.encode())))
                      for k, v in sorted(fields.items()))
    return base64.b64encode(struct).decode()


def outbound_headers(headers: list[tuple[str, str]], entry: Entry | None, net: "PodNet",
                     b3: bool) -> list[tuple[str, str]]:
    """What Istio's sidecar adds to an outbound request (the decorator only when a route matched)."""
    trace = uuid.uuid4().hex
    added = [("x-forwarded-proto", "http"), ("x-request-id", str(uuid.uuid4()))]
    if entry is not None:
        added.append(("x-envoy-decorator-operation", f"{entry.host}:{entry.port}/*"))
    added += [("x-envoy-peer-metadata", peer_metadata(net)),
              ("x-envoy-peer-metadata-id", f"sidecar~{net.ip}~{net.name}.{net.namespace}~{net.namespace}.{DOMAIN}"),
              ("x-envoy-attempt-count", "1")]
    if b3:  # Istio 1.20/1.21 still trace to zipkin by default
        added += [("x-b3-traceid", trace[:32]), ("x-b3-spanid", trace[16:32]), ("x-b3-sampled", "0")]
    names = {k.lower() for k, _ in added}
    return [(k, v) for k, v in headers if k.lower() not in names] + added


def relay_response(upstream: socket.socket, client: socket.socket, started: float) -> int:
    """Copy the upstream's answer to the client, rewritten as Envoy does; returns its status code."""
    response = read_http(upstream)
    if response is None:
        send_envoy_error(client, 503, MTLS_RESET)
        return 503
    line, headers, body = response
    elapsed = max(1, int((time.monotonic() - started) * 1000))
    headers = [(k, v) for k, v in headers if k.lower() not in ("server",)]
    headers += [("x-envoy-upstream-service-time", str(elapsed)), ("server", "envoy")]
    client.sendall(render(line, headers, body))
    try:
        return int(line.split(" ")[1])
    except (IndexError, ValueError):
        return 0


def _proxy_image_version(pod: dict) -> str:
    """The version of a pod's istio-proxy image (proxyv2:1.24.3), '' when there is none."""
    spec = pod.get("spec") or {}
    for container in (spec.get("containers") or []) + (spec.get("initContainers") or []):
        if container.get("name") == "istio-proxy":
            tag = container.get("image", "").rpartition(":")[2]
            if re.fullmatch(r"\d+\.\d+\.\d+.*", tag):
                return tag.split("-")[0]
    return ""


def send_envoy_error(conn: socket.socket, code: int, text: str) -> None:
    """A local reply (a body and text/plain), or a direct response without a body (the BlackHole
    route's 502: `content-length: 0`, no content-type, istio#21385)."""
    body = text.encode()
    reason = {503: "Service Unavailable", 502: "Bad Gateway"}.get(code, "Error")
    stamp = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime())
    kind = "content-type: text/plain\r\n" if body else ""
    close = "connection: close\r\n" if body else ""
    try:
        conn.sendall(f"HTTP/1.1 {code} {reason}\r\ncontent-length: {len(body)}\r\n"
                     f"{kind}date: {stamp}\r\nserver: envoy\r\n{close}\r\n".encode() + body)
    except OSError:
        pass

