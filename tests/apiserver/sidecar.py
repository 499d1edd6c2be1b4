"""The emulated Istio sidecar: what a pod's outbound traffic meets when istio-proxy is in the pod.

Istio's iptables rules send a pod's outbound connections to Envoy, which
matches them against the mesh's services and applies their DestinationRules.
This module does the same for the connections network.py hands it:

- *matching*: HTTP by the Host header on the port's HTTP listener; TCP and TLS
  by cluster IP, ServiceEntry address, SNI, or (for an ExternalName Service's
  TCP port before Istio 1.21) any traffic on that port (istio#20703). No match
  goes to the PassthroughCluster, untouched.
- *ExternalName Services* follow the mesh's version: up to Istio 1.20 (unless
  ENABLE_EXTERNAL_NAME_ALIAS) each is a service of its own, host
  NAME.NS.svc.cluster.local, so DestinationRules on that host apply; from
  1.21 it is only an alias of its target's host, and only rules on the target
  host (written for a ServiceEntry) apply.
- *TLS mode*: the DestinationRule that applies (exact host before wildcards;
  the client's namespace, then the service's, then istio-system; one selecting
  the pod first) decides. A mode of ISTIO_MUTUAL towards an external host fails
  as Envoy does: HTTP 503 `upstream connect error or disconnect/reset before
  headers. reset reason: connection termination`, or a reset TLS handshake.
  SIMPLE originates TLS as Envoy does under Istio's settings (origination.py):
  HTTP is sent on in TLS, TCP (an app's own TLS included) is wrapped again.
- *routes*: a VirtualService's HTTP route sends a request on to its
  destination's service and port (routing.py), whose rules then apply.
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
import re
import socket
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from . import origination, routing
from .network import reset, splice

if TYPE_CHECKING:  # pragma: no cover
    from .network import Network, PodNet

SERVICE_ENTRIES = "networking.istio.io/serviceentries"
DOMAIN = "svc.cluster.local"
HTTP_PROTOCOLS = ("http", "http2", "grpc", "grpc-web", "http_proxy")
KNOWN_PROTOCOLS = HTTP_PROTOCOLS + ("https", "tls", "tcp", "udp", "mongo", "redis", "mysql")
MTLS_RESET = ("upstream connect error or disconnect/reset before headers. "
              "reset reason: connection termination")


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


class Sidecar:
    def __init__(self, network: "Network") -> None:
        self.network = network
        self.stats: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
        self.lock = threading.Lock()

    def version(self) -> tuple[int, int]:
        major, minor = (self.network.cluster.istio_version or "1.20").split(".")[:2]
        return int(major), int(minor)

    @property
    def store(self):
        return self.network.cluster.store

    # -- mesh configuration -------------------------------------------------------------
    def alias_mode(self) -> bool:
        return self.network.cluster.external_name_alias()

    def registry(self) -> list[Entry]:
        """Every (host, port) the sidecar has a cluster for."""
        entries: list[Entry] = []
        alias = self.alias_mode()
        for svc in self.store.scan("/services"):
            meta, spec = svc["metadata"], svc.get("spec", {})
            host = f"{meta['name']}.{meta['namespace']}.{DOMAIN}"
            for port in spec.get("ports") or []:
                if spec.get("type") == "ExternalName":
                    if alias:
                        continue  # only an alias in 1.21+: see aliases()
                    entries.append(Entry(host, meta["namespace"], port["port"], port_protocol(port),
                                         dns=spec.get("externalName", "").rstrip(".")))
                else:
                    entries.append(Entry(host, meta["namespace"], port["port"], port_protocol(port),
                                         service=svc, service_port=port))
        for se in self.store.scan(SERVICE_ENTRIES):
            spec = se.get("spec", {})
            for host in spec.get("hosts") or []:
                for port in spec.get("ports") or []:
                    protocol = (port.get("protocol") or "").lower()
                    ups = tuple((e["address"], (e.get("ports") or {}).get(port.get("name"), port.get("targetPort") or port["number"]))
                                for e in spec.get("endpoints") or [] if e.get("address"))
                    entries.append(Entry(host, se["metadata"]["namespace"], port["number"],
                                         protocol if protocol in KNOWN_PROTOCOLS else "",
                                         upstreams=ups if spec.get("resolution") == "STATIC" else (),
                                         dns="" if spec.get("resolution") == "STATIC" else host,
                                         target_port=port.get("targetPort") or 0))
        return entries

    def aliases(self) -> dict[str, str]:
        """1.21+: ExternalName hosts that are DNS aliases of another mesh host."""
        if not self.alias_mode():
            return {}
        out = {}
        for svc in self.store.scan("/services"):
            spec = svc.get("spec", {})
            if spec.get("type") == "ExternalName":
                meta = svc["metadata"]
                out[f"{meta['name']}.{meta['namespace']}.{DOMAIN}"] = spec.get("externalName", "").rstrip(".")
        return out

    def tls_mode(self, entry: Entry, client_ns: str, labels: dict | None = None) -> str | None:
        """The TLS mode of the DestinationRule that applies to entry, or None (auto mTLS)."""
        return self.client_tls(entry, client_ns, labels or {})[1].get("mode")

    def client_tls(self, entry: Entry, client_ns: str, labels: dict) -> tuple[dict | None, dict]:
        """The DestinationRule that applies to entry for a client pod, and its TLS settings for the port."""
        rule = origination.applicable_rule(self.store, entry.host, entry.namespace, client_ns, labels)
        return rule, origination.port_settings(rule, entry.port)

    def pod_labels(self, net: "PodNet") -> dict:
        pod = self.store.get("/pods", net.namespace, net.name) or {}
        return (pod.get("metadata") or {}).get("labels") or {}

    def originate(self, net: "PodNet", entry: Entry, rule: dict | None, settings: dict, host: str,
                  upstream: socket.socket, http: bool = True) -> socket.socket:
        """Envoy's TLS towards the upstream under SIMPLE settings (origination.py); raises origination.Failed."""
        sans: tuple[str, ...] = ()
        for se in self.store.scan(SERVICE_ENTRIES, entry.namespace):
            if entry.host in (se.get("spec") or {}).get("hosts") or []:
                sans = tuple(se["spec"].get("subjectAltNames") or ())
        ca = self.network.cluster.ca
        plan = origination.plan(settings, rule, self.network.cluster.istio_version or "", host if http else "",
                                sans, ca.pem if ca else b"", http=http)
        return origination.handshake(plan, upstream) if plan.tls else upstream

    # -- matching -------------------------------------------------------------------------
    def by_host(self, host: str, port: int, client_ns: str) -> Entry | None:
        host = host.lower().rstrip(".")
        names = {host}
        if "." not in host:
            names.add(f"{host}.{client_ns}.{DOMAIN}")
        elif host.count(".") == 1:
            names.add(f"{host}.{DOMAIN}")
        elif host.endswith(".svc"):
            names.add(f"{host}.cluster.local")
        for name in list(names):
            target = self.aliases().get(name)
            if target:
                names.add(target)
        for entry in self.registry():
            if entry.port == port and entry.host in names:
                return entry
        return None

    def by_address(self, ip: str, port: int, sni: str) -> Entry | None:
        entries = [e for e in self.registry() if e.port == port]
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
    def count(self, net: "PodNet", entry: "Entry | None", host: str, protocol: str, code: int = 0) -> None:
        """One Istio metric sample, as the source reporter records it."""
        if entry is not None:
            name, _, rest = entry.host.partition(".")
            namespace = rest.split(".")[0] if rest.endswith(DOMAIN) else entry.namespace
            service, service_name = entry.host, name if rest.endswith(DOMAIN) else entry.host
        else:
            service, service_name, namespace = host or "unknown", "PassthroughCluster", "unknown"
        tags = [("reporter", "source"), ("source_workload", net.workload),
                ("source_workload_namespace", net.namespace), ("destination_service", service),
                ("destination_service_name", service_name), ("destination_service_namespace", namespace),
                ("request_protocol", protocol)]
        if protocol == "http":
            tags.append(("response_code", str(code)))
        tags += [("response_flags", "-"), ("connection_security_policy", "unknown")]
        metric = "istio_requests_total" if protocol == "http" else "istio_tcp_connections_opened_total"
        key = ";.;".join(f"{k}=.={v}" for k, v in tags) + f";.;_{metric}"
        with self.lock:
            self.stats[net.uid][key] += 1

    def outbound(self, net: "PodNet", conn: socket.socket, ip: str, port: int) -> None:
        first = peek(conn)
        is_tls = first[:1] == b"\x16"
        http_port = any(e.port == port and e.protocol in HTTP_PROTOCOLS for e in self.registry())
        looks_http = bool(re.match(rb"^[A-Z]+ \S+ HTTP/1\.[01]\r?\n", first))
        by_address = self.by_address(ip, port, sni_of(first) if is_tls else "")
        if by_address is not None and by_address.protocol not in HTTP_PROTOCOLS + ("",):
            return self.tcp(net, conn, ip, port, by_address)
        if looks_http and (http_port or (by_address is not None)):
            return self.http(net, conn, ip, port, by_address)
        if by_address is not None and not looks_http:
            return self.tcp(net, conn, ip, port, by_address)
        self.passthrough(net, conn, ip, port)

    def passthrough(self, net: "PodNet", conn: socket.socket, ip: str, port: int) -> None:
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

    def tcp(self, net: "PodNet", conn: socket.socket, ip: str, port: int, entry: Entry) -> None:
        self.count(net, entry, entry.host, "tcp")
        rule, settings = self.client_tls(entry, net.namespace, self.pod_labels(net))
        mode = settings.get("mode")
        if mode in ("ISTIO_MUTUAL", "MUTUAL"):
            # Envoy wraps the app's bytes in Istio's mutual TLS; the external host cannot follow.
            peek(conn)
            reset(conn)
            return
        address = self._upstream_address(entry, ip, port)
        if address is None:
            reset(conn)
            return
        upstream = self.network.connect(address[0], address[1], net.ip)
        if mode == "SIMPLE":
            # Envoy's TCP proxy wraps whatever the app sends in its own TLS: an app that speaks TLS
            # itself is encrypted twice (istio.io "Double TLS"), and what the server answers to the
            # inner ClientHello reaches the app as plain text ("wrong version number").
            try:
                wrapped = self.originate(net, entry, rule, settings, "", upstream, http=False)
            except origination.Failed:
                upstream.close()
                reset(conn)
                return
            origination.relay(conn, wrapped)
            wrapped.close()
            return
        splice(conn, upstream)
        upstream.close()

    def http(self, net: "PodNet", conn: socket.socket, ip: str, port: int, by_address: Entry | None) -> None:
        request = read_http(conn)
        if request is None:
            return
        line, headers, body = request
        host = header(headers, "host").split(":")[0] or ip
        entry = by_address or self.by_host(host, port, net.namespace)
        if entry is not None:  # a VirtualService may send the request on to another service (routing.py)
            routed = routing.http_destination(self.store, entry.host, port, net.namespace)
            if routed is not None:
                entry = self.by_host(routed[0], routed[1] or port, net.namespace) or entry
        started = time.monotonic()
        headers = outbound_headers(headers, entry, net, b3=self.version() < (1, 22))
        if entry is None:  # the allow_any virtual host: PassthroughCluster, no decorator
            upstream = self.network.connect(ip, port, net.ip)
            code = self._forward(conn, upstream, line, headers, body, started)
            self.count(net, None, host, "http", code)
            return
        rule, settings = self.client_tls(entry, net.namespace, self.pod_labels(net))
        mode = settings.get("mode")
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
        if mode == "SIMPLE":  # TLS origination, as Envoy does it under Istio's settings (origination.py)
            try:
                upstream = self.originate(net, entry, rule, settings, header(headers, "host") or host, upstream)
            except origination.Failed as failure:
                upstream.close()
                send_envoy_error(conn, 503, origination.local_reply(failure))
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


def send_envoy_error(conn: socket.socket, code: int, text: str) -> None:
    body = text.encode()
    reason = {503: "Service Unavailable", 502: "Bad Gateway"}.get(code, "Error")
    stamp = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime())
    try:
        conn.sendall(f"HTTP/1.1 {code} {reason}\r\ncontent-length: {len(body)}\r\n"
                     f"content-type: text/plain\r\ndate: {stamp}\r\nserver: envoy\r\n"
                     "connection: close\r\n\r\n".encode() + body)
    except OSError:
        pass

