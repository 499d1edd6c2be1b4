"""The emulated Istio sidecar: what a pod's outbound traffic meets when istio-proxy is in the pod.

Istio's iptables rules send a pod's outbound connections to Envoy, which
matches them against the mesh's services and applies their DestinationRules.
This module does the same for the connections network.py hands it, as the
pod's own revision configures it (proxyconfig.py: the registry, the
ExternalName mode, the matching, the DestinationRule that applies):

- *no match* goes to the PassthroughCluster under ALLOW_ANY, untouched; under
  REGISTRY_ONLY (meshConfig, or the pod's Sidecar resource) HTTP gets the
  block_all route's 502 and anything else the BlackHoleCluster, a closed
  connection (a reset TLS handshake).
- *routes*: a VirtualService's HTTP route sends a request on to its
  destination's service and port (routing.py), whose rules then apply.
- *TLS mode*: a mode of ISTIO_MUTUAL towards an external host fails as Envoy
  does: HTTP 503 `upstream connect error or disconnect/reset before headers.
  reset reason: connection termination`, or a reset TLS handshake. SIMPLE
  originates TLS as Envoy does under Istio's settings (origination.py): HTTP is
  sent on in TLS, TCP (an app's own TLS included) is wrapped again.
- *headers*: requests get the headers Istio's sidecar adds (decorator
  operation, peer metadata id, B3 trace ids, ...); responses get
  `server: envoy` and `x-envoy-upstream-service-time`.
- *access log*: each request or connection it carried is one line of the
  pod's istio-proxy log, as Envoy's access log writes it (accesslog.py), with
  the upstream cluster (`outbound|80||httpbin.org`, PassthroughCluster) and
  the response flags of its failures.
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
from typing import TYPE_CHECKING

from . import accesslog, meshrules, origination, routing
from .network import reset, splice
from .proxyconfig import DOMAIN, HTTP_PROTOCOLS, SERVICE_ENTRIES, Entry, Proxy, ProxyConfig

if TYPE_CHECKING:  # pragma: no cover
    from .network import Network, PodNet

BLACKHOLE = "BlackHoleCluster"
MTLS_RESET = ("upstream connect error or disconnect/reset before headers. "
              "reset reason: connection termination")


class Sidecar:
    def __init__(self, network: "Network") -> None:
        self.network = network
        self.stats: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
        self.lock = threading.Lock()
        self.config = ProxyConfig(network.cluster)

    @property
    def store(self):
        return self.network.cluster.store

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
        proxy = self.config.proxy(net)
        registry = self.config.registry(proxy)
        declared = None if inspected(port, registry) else self.config.by_address(ip, port, "", registry)
        if declared is not None:
            # A port whose services all declare a protocol that is neither HTTP nor TLS gets no listener
            # inspector, so Envoy's TCP proxy takes the connection at once, without waiting for the
            # client's first bytes (pilot/pkg/networking/core listener_inbound.go populateListenerFilters:
            # TLS and HTTP inspectors only where a filter chain matches on them; istio.io
            # docs/ops/deployment/application-requirements, "Server First Protocols")
            return self.tcp(net, conn, ip, port, declared, proxy)
        first = peek(conn)
        is_tls = first[:1] == b"\x16"
        http_port = any(e.port == port and e.protocol in HTTP_PROTOCOLS for e in registry)
        looks_http = bool(re.match(rb"^[A-Z]+ \S+ HTTP/1\.[01]\r?\n", first))
        by_address = self.config.by_address(ip, port, sni_of(first) if is_tls else "", registry)
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
            # the log of a blocked connection (istio#33281, Istio 1.9): flag UH, no cluster, no
            # upstream, no server name, nothing sent or received
            log = accesslog.Entry(flags=accesslog.NO_HEALTHY_UPSTREAM, downstream_remote=remote(net, conn))
            self.count(net, None, ip, "tcp", cluster=BLACKHOLE)
            reset(conn)
            self.access(net, conn, ip, port, log, proxy)
            return
        self.count(net, None, ip, "tcp")
        log = accesslog.Entry(cluster="PassthroughCluster", upstream_host=_join(ip, port),
                              downstream_remote=remote(net, conn), sni=sni_of(peek(conn, wait=0.2)) or None)
        upstream = self.network.connect(ip, port, net.ip)
        log.received, log.sent = splice(conn, upstream) or (0, 0)
        upstream.close()
        log.upstream_local = self.local_address(net)
        self.access(net, conn, ip, port, log, proxy)

    def access(self, net: "PodNet", conn: socket.socket, ip: str, port: int, entry: accesslog.Entry,
               proxy: Proxy) -> None:
        """One access log line for a request or connection that ends here, as the mesh config of
        the proxy's revision asks (accesslog.record)."""
        entry.downstream_local = entry.downstream_local or _join(ip, port)
        accesslog.record(self.network.cluster, net.uid, entry, proxy.revision, proxy.version)

    def local_address(self, net: "PodNet") -> str:
        """UPSTREAM_LOCAL_ADDRESS: the pod's IP and an ephemeral port of Linux's default range
        (32768-60999); the emulated upstream connection has no socket of its own to ask."""
        with self.lock:
            self._ports = getattr(self, "_ports", 32767) % 60999 + 1
            return f"{net.ip}:{max(self._ports, 32768)}"

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

    def originate(self, entry: Entry, proxy: Proxy, host: str, upstream: socket.socket,
                  http: bool = True) -> socket.socket:
        """Envoy's TLS towards the upstream under SIMPLE settings (origination.py); raises origination.Failed."""
        rule = meshrules.destination_rule_for(proxy.rules, proxy.namespace, proxy.labels, entry.host,
                                              entry.namespace)
        spec = rule.spec if rule is not None else {}
        sans: tuple[str, ...] = ()
        for se in self.store.scan(SERVICE_ENTRIES, entry.namespace):
            if entry.host in (se.get("spec") or {}).get("hosts") or []:
                sans = tuple(se["spec"].get("subjectAltNames") or ())
        ca = self.network.cluster.ca
        plan = origination.plan(origination.port_settings(spec, entry.port), "workloadSelector" in spec,
                                proxy.version, host if http else "", sans, ca.pem if ca else b"", http=http)
        return origination.handshake(plan, upstream) if plan.tls else upstream

    def tcp(self, net: "PodNet", conn: socket.socket, ip: str, port: int, entry: Entry, proxy: Proxy) -> None:
        self.count(net, entry, entry.host, "tcp")
        started = time.time()
        mode = self.config.tls_mode(entry, proxy)
        sni = sni_of(peek(conn, wait=0.2)) or None
        log = accesslog.Entry(start=started, cluster=entry.cluster, sni=sni, downstream_remote=remote(net, conn))
        address = self._upstream_address(entry, ip, port)
        if mode in ("ISTIO_MUTUAL", "MUTUAL"):
            # Envoy's TCP proxy connects upstream as the connection arrives and wraps it in Istio's mutual
            # TLS; the external host cannot follow, and the connection ends whether the app spoke or not.
            peek(conn, wait=0.2)
            reset(conn)
            log.flags, log.transport_failure = "UF,URX", CERT_VERIFY_FAILED
            log.upstream_host = _join(*address) if address else None
            self.access(net, conn, ip, port, log, proxy)
            return
        if address is None:
            reset(conn)
            log.flags = accesslog.NO_HEALTHY_UPSTREAM
            self.access(net, conn, ip, port, log, proxy)
            return
        upstream = self.network.connect(address[0], address[1], net.ip)
        if mode == "SIMPLE":
            # Envoy's TCP proxy wraps whatever the app sends in its own TLS: an app that speaks TLS
            # itself is encrypted twice (istio.io "Double TLS"), and what the server answers to the
            # inner ClientHello reaches the app as plain text ("wrong version number").
            log.upstream_host, log.upstream_local = _join(*address), self.local_address(net)
            try:
                wrapped = self.originate(entry, proxy, "", upstream, http=False)
            except origination.Failed as failure:
                upstream.close()
                reset(conn)
                log.flags, log.transport_failure = "UF,URX", str(failure) or None
                self.access(net, conn, ip, port, log, proxy)
                return
            origination.relay(conn, wrapped)
            wrapped.close()
            self.access(net, conn, ip, port, log, proxy)
            return
        sent, received = splice(conn, upstream) or (0, 0)
        upstream.close()
        log.upstream_host, log.upstream_local = _join(*address), self.local_address(net)
        log.received, log.sent = sent, received
        self.access(net, conn, ip, port, log, proxy)

    def http(self, net: "PodNet", conn: socket.socket, ip: str, port: int, by_address: Entry | None,
             proxy: Proxy, registry: list[Entry]) -> None:
        downstream = remote(net, conn)
        request = read_http(conn)
        if request is None:
            return
        line, headers, body = request
        host = header(headers, "host").split(":")[0] or ip
        entry = by_address or self.config.by_host(host, port, proxy, registry)
        if entry is not None:  # a VirtualService may send the request on to another service (routing.py)
            routed = routing.http_destination(self.store, entry.host, port, net.namespace)
            if routed is not None:
                entry = self.config.by_host(routed[0], routed[1] or port, proxy, registry) or entry
        started = time.monotonic()
        headers = outbound_headers(headers, entry, net, b3=proxy.version < (1, 22))
        method, _, rest = line.partition(" ")
        log = accesslog.Entry(
            start=time.time(), method=method, path=rest.rpartition(" ")[0] or None,
            protocol=rest.rpartition(" ")[2] or None, received=len(body), user_agent=header(headers, "user-agent"),
            request_id=header(headers, "x-request-id"), authority=header(headers, "host") or None,
            downstream_remote=downstream)
        relayed: dict = {}
        if entry is None and proxy.policy == "REGISTRY_ONLY":
            # the block_all virtual host: a direct response 502 with no body
            # (pilot/pkg/networking/core/httproute.go, BlackHole route; istio#21385); a direct
            # response picks no cluster, so the log's UPSTREAM_CLUSTER is "-"
            send_envoy_error(conn, 502, "")
            self.count(net, None, host, "http", 502, cluster=BLACKHOLE)
            log.code, log.details, log.route = 502, "direct_response", "block_all"
            self.access(net, conn, ip, port, log, proxy)
            return
        if entry is None:  # the allow_any virtual host: PassthroughCluster, no decorator
            upstream = self.network.connect(ip, port, net.ip)
            code = self._forward(conn, upstream, line, headers, body, started, relayed)
            self.count(net, None, host, "http", code)
            self.access(net, conn, ip, port, _relayed(log, relayed, code, "PassthroughCluster", "allow_any",
                                                      _join(ip, port), self.local_address(net)), proxy)
            return
        log.cluster, log.route = entry.cluster, "default"
        mode = self.config.tls_mode(entry, proxy)
        if mode in ("ISTIO_MUTUAL", "MUTUAL"):
            send_envoy_error(conn, 503, MTLS_RESET)
            self.count(net, entry, entry.host, "http", 503)
            address = self._upstream_address(entry, ip, port)
            log.code, log.flags = 503, accesslog.UPSTREAM_CONNECTION_TERMINATION
            log.details = "upstream_reset_before_response_started{connection_termination}"
            log.sent, log.upstream_host = len(MTLS_RESET), _join(*address) if address else None
            log.upstream_local = self.local_address(net) if address else None
            self.access(net, conn, ip, port, log, proxy)
            return
        address = self._upstream_address(entry, ip, port)
        if address is None:
            send_envoy_error(conn, 503, "no healthy upstream")
            self.count(net, entry, entry.host, "http", 503)
            log.code, log.flags, log.details = 503, accesslog.NO_HEALTHY_UPSTREAM, "no_healthy_upstream"
            log.sent = len("no healthy upstream")
            self.access(net, conn, ip, port, log, proxy)
            return
        upstream = self.network.connect(address[0], address[1], net.ip)
        if mode == "SIMPLE":  # TLS origination, as Envoy does it under Istio's settings (origination.py)
            try:
                upstream = self.originate(entry, proxy, header(headers, "host") or host, upstream)
            except origination.Failed as failure:
                upstream.close()
                reply = origination.local_reply(failure)
                send_envoy_error(conn, 503, reply)
                self.count(net, entry, entry.host, "http", 503)
                reason = str(failure)
                # retried (Istio's default route retries connect failures), as envoy logs it:
                # upstream_reset_before_response_started{remote_connection_failure|TLS_error:|...}
                log.code = 503
                log.flags = f"{accesslog.UPSTREAM_CONNECTION_FAILURE},{accesslog.UPSTREAM_RETRY_LIMIT_EXCEEDED}"
                log.transport_failure = reason or None
                log.details = "upstream_reset_before_response_started{remote_connection_failure" + \
                    (f"|{reason.replace(' ', '_')}" if reason else "") + "}"
                log.sent, log.upstream_host = len(reply), _join(*address)
                self.access(net, conn, ip, port, log, proxy)
                return
        code = self._forward(conn, upstream, line, headers, body, started, relayed)
        self.count(net, entry, entry.host, "http", code)
        self.access(net, conn, ip, port, _relayed(log, relayed, code, entry.cluster, "default", _join(*address),
                                                  self.local_address(net)), proxy)

    @staticmethod
    def _forward(conn: socket.socket, upstream: socket.socket, line: str, headers: list[tuple[str, str]],
                 body: bytes, started: float, relayed: dict | None = None) -> int:
        """Send the request upstream and its answer back; the status code sent to the client."""
        try:
            upstream.sendall(render(line, headers, body))
            return relay_response(upstream, conn, started, relayed)
        except OSError:
            send_envoy_error(conn, 503, MTLS_RESET)
            if relayed is not None:
                relayed["reset"] = True
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
# what Envoy's upstream TLS handshake reports when the server's certificate is not the mesh's
CERT_VERIFY_FAILED = "TLS_error:|268435581:SSL routines:OPENSSL_internal:CERTIFICATE_VERIFY_FAILED:TLS_error_end"


def remote(net: "PodNet", conn: socket.socket) -> str | None:
    """DOWNSTREAM_REMOTE_ADDRESS: the pod's IP and the client's port (in the emulated pod the
    kernel picks the local route's address as the source, where a real pod has its own IP)."""
    try:
        return _join(net.ip, conn.getpeername()[1])
    except OSError:
        return None


def _join(ip: str, port: int) -> str:
    """host:port as Envoy prints addresses ([v6]:port)."""
    return f"[{ip}]:{port}" if ":" in str(ip) else f"{ip}:{port}"


def _relayed(log: accesslog.Entry, relayed: dict, code: int, cluster: str, route: str, upstream_host: str,
             upstream_local: str) -> accesslog.Entry:
    """The access log entry of a request that was sent upstream (answered, or reset)."""
    log.code, log.cluster, log.route, log.upstream_host = code, cluster, route, upstream_host
    log.upstream_local = upstream_local
    if relayed.get("reset"):
        log.flags = accesslog.UPSTREAM_CONNECTION_TERMINATION
        log.details = "upstream_reset_before_response_started{connection_termination}"
        log.sent = len(MTLS_RESET)
    else:
        log.details, log.sent = accesslog.VIA_UPSTREAM, relayed.get("sent", 0)
        log.upstream_service_time = relayed.get("service_time")
    return log


def inspected(port: int, registry: list[Entry]) -> bool:
    """Does the listener of this port wait for the client's first bytes? It does where a service on
    the port is HTTP, TLS or sniffed (no protocol declared): the HTTP or TLS inspector reads them."""
    return any(e.port == port and e.protocol in HTTP_PROTOCOLS + ("", "https", "tls") for e in registry)


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


def relay_response(upstream: socket.socket, client: socket.socket, started: float,
                   relayed: dict | None = None) -> int:
    """Copy the upstream's answer to the client, rewritten as Envoy does; returns its status code
    (relayed, when given, gets the body's size and the upstream service time, for the access log)."""
    response = read_http(upstream)
    if response is None:
        send_envoy_error(client, 503, MTLS_RESET)
        if relayed is not None:
            relayed["reset"] = True
        return 503
    line, headers, body = response
    elapsed = max(1, int((time.monotonic() - started) * 1000))
    headers = [(k, v) for k, v in headers if k.lower() not in ("server",)]
    headers += [("x-envoy-upstream-service-time", str(elapsed)), ("server", "envoy")]
    if relayed is not None:
        relayed.update(sent=len(body), service_time=str(elapsed))
    client.sendall(render(line, headers, body))
    try:
        return int(line.split(" ")[1])
    except (IndexError, ValueError):
        return 0


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

