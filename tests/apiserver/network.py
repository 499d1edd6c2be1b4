"""Pod networks: what a pod can reach, and who answers.

Each pod that is exec'd into gets a Linux network namespace of its own (held
by an `unshare --net sleep` process). In it, the only routes are *local*
ones: the service ranges, the emulated internet's addresses and the pod's own
IP, all on the loopback device. So a pod can reach nothing off this machine;
every connection it makes lands on a listening socket that this process
created inside the namespace (with setns(2) in a throw-away thread), and is
handled here:

- to a cluster IP: kube-proxy's part, to one of the Service's endpoints;
- to an address of the emulated internet: that host answers (internet.py);
- from a pod with an Istio sidecar: through the emulated sidecar first
  (sidecar.py), as Istio's iptables capture would send it, except what its
  rules exempt (capture.py): the proxy's own user, excluded ports and ranges;
- from a pod the ambient CNI captured: through the node's emulated ztunnel
  (ambient.py), as ztunnel's in-pod redirection would send it.

Commands run as their container's user (images.identity), so those rules see
the user a real pod's process would have. Names resolve through a hosts file that plays cluster DNS (a mount namespace
per exec binds it over /etc/hosts), with ExternalName Services flattened to
their target's addresses as a CNAME would be. Pods trust the cluster's CA.
"""
from __future__ import annotations

import ctypes
import ipaddress
import itertools
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

from . import capture
from .capture import Rules
from .internet import Internet

if TYPE_CHECKING:  # pragma: no cover
    from .cluster import Cluster
    from .images import Identity

CLONE_NEWNET = 0x40000000
IP_FREEBIND = 15
PR_SET_PDEATHSIG = 1
SERVICE_CIDRS = ("10.96.0.0/12", "fd00:10:96::/112")
CLUSTER_DNS = "10.96.0.10"
CLUSTER_DOMAIN = "cluster.local"
SIDECAR_ADMIN_PORT = 15000
AUTO_ALLOCATED = "240.240.0.0/16"  # istiod's ServiceEntry addresses (waypoints.py)
ENTER = ('[ -e /etc/hosts ] && mount --bind "$1" /etc/hosts; '
         'mount --bind "$2" /etc/resolv.conf 2>/dev/null; '
         '[ -e /etc/ssl/certs/ca-certificates.crt ] && mount --bind "$3" /etc/ssl/certs/ca-certificates.crt; '
         'hostname "$4"; cd /; shift 5; exec "$@"')
_libc = ctypes.CDLL(None, use_errno=True)


def unavailable() -> str:
    """Why pod networks cannot be made here ('' when they can)."""
    if os.geteuid() != 0:
        return "pod networks need root (network and mount namespaces)"
    missing = [tool for tool in ("unshare", "nsenter", "ip", "mount", "sh", "setpriv") if shutil.which(tool) is None]
    if missing:
        return f"pod networks need {', '.join(missing)} on PATH"
    return ""


def _die_with_parent() -> None:
    _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def plain_ip(address: str) -> str:
    """`::ffff:198.35.26.96` -> `198.35.26.96`."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if ip.version == 6 and ip.ipv4_mapped:
        return str(ip.ipv4_mapped)
    return str(ip)


def has_sidecar(pod: dict) -> bool:
    """Is Istio's proxy on this pod's path?

    Istio finds its proxy by name, `istio-proxy`, among the containers and then the init
    containers (pkg/kube/inject/app_probe.go FindSidecar; the injector puts it in one place or the
    other, injection.py). An init container runs beside the application only when it is
    restartable, `restartPolicy: Always` (a native sidecar: Kubernetes KEP-753,
    pkg/api/v1/pod/util.go IsRestartableInitContainer); any other init container has exited
    before the application starts, so then no proxy is there to capture its traffic.
    """
    spec = pod.get("spec") or {}
    if any(c.get("name") == "istio-proxy" for c in spec.get("containers") or []):
        return True
    return any(c.get("name") == "istio-proxy" and c.get("restartPolicy") == "Always"
               for c in spec.get("initContainers") or [])


def dataplane(pod: dict) -> str:
    """What carries a pod's outbound traffic: "sidecar", "ambient" (captured by the CNI for
    ztunnel) or "none". ztunnel's own pod is not captured, whatever its container is named."""
    from .ambient import is_ztunnel, redirected

    if is_ztunnel(pod):
        return "none"
    if has_sidecar(pod):
        return "sidecar"
    return "ambient" if redirected(pod) else "none"


class PodNet:
    """One pod's network namespace, its listening sockets and its files."""

    def __init__(self, pod: dict, ip: str, internet_ips: list[str], workdir: Path) -> None:
        meta = pod["metadata"]
        self.name, self.namespace, self.uid = meta["name"], meta["namespace"], meta["uid"]
        self.ip = ip
        self.mode = dataplane(pod)  # refreshed by each prepare(): the CNI may capture it later
        self.rules: Rules | None = None  # a sidecar's capture rules (capture.py), set by prepare()
        self.gid_matters = False  # may a process here have a proxy GID? (only then is it looked up)
        owners = meta.get("ownerReferences") or []
        # a Deployment's pod is NAME-HASH-SUFFIX; Istio names the workload after the Deployment
        self.workload = self.name.rsplit("-", 2)[0] if owners and owners[0].get("kind") == "ReplicaSet" \
            else self.name
        self.dir = workdir / "pods" / self.uid
        self.dir.mkdir(parents=True, exist_ok=True)
        self.listeners: dict[tuple[str, int], socket.socket] = {}
        self.lock = threading.Lock()
        self.holder = subprocess.Popen(["unshare", "--net", "sleep", "infinity"], stdin=subprocess.DEVNULL,
                                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                       preexec_fn=_die_with_parent)
        self.ns_path = f"/proc/{self.holder.pid}/ns/net"
        mine = os.readlink("/proc/self/ns/net")
        deadline = time.monotonic() + 5
        while True:
            try:
                if os.readlink(self.ns_path) != mine:
                    break
            except OSError:
                pass
            if self.holder.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("could not make a network namespace: " +
                                   (self.holder.stderr.read().decode() if self.holder.stderr else ""))
            time.sleep(0.002)
        commands = ["link set lo up"]
        commands += [f"route add local {cidr} dev lo" for cidr in SERVICE_CIDRS]
        for address in internet_ips:
            bits = "" if "/" in address else "/32" if ":" not in address else "/128"
            commands.append(f"route add local {address}{bits} dev lo")
        commands.append(f"addr add {ip}/32 dev lo")
        subprocess.run(["nsenter", f"--net={self.ns_path}", "ip", "-batch", "-"],
                       input="\n".join(commands).encode() + b"\n", check=True, capture_output=True)

    def in_namespace(self, make):
        """Run make() in a thread that has joined this namespace; sockets it opens live there."""
        result: dict = {}

        def run() -> None:
            try:
                fd = os.open(self.ns_path, os.O_RDONLY)
                try:
                    if _libc.setns(fd, CLONE_NEWNET) != 0:
                        raise OSError(ctypes.get_errno(), "setns")
                finally:
                    os.close(fd)
                result["value"] = make()
            except BaseException as err:  # handed back to the caller's thread
                result["error"] = err

        thread = threading.Thread(target=run)
        thread.start()
        thread.join()
        if "error" in result:
            raise result["error"]
        return result["value"]

    def listen(self, wanted: set[tuple[str, int]]) -> list[socket.socket]:
        """Listen on exactly these (address, port) pairs; returns the sockets new to the set.

        Anything else refuses connections, as a host with nothing on that port does.
        """
        with self.lock:
            for key in [k for k in self.listeners if k not in wanted]:
                _close(self.listeners.pop(key))
            missing = [w for w in sorted(wanted) if w not in self.listeners]

            def make() -> list[tuple[tuple[str, int], socket.socket]]:
                made = []
                for address, port in missing:
                    family = socket.AF_INET6 if ":" in address else socket.AF_INET
                    sock = socket.socket(family, socket.SOCK_STREAM)
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                    # addresses of the local routes are not on any device: bind them anyway
                    sock.setsockopt(socket.SOL_IP, IP_FREEBIND, 1)
                    if address == "::":
                        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
                    sock.bind((address, port))
                    sock.listen(128)
                    made.append(((address, port), sock))
                return made

            made = self.in_namespace(make) if missing else []
            for key, sock in made:
                self.listeners[key] = sock
            return [sock for _, sock in made]

    def argv(self, command: list[str], user: "Identity | None" = None) -> list[str]:
        """Run command in this pod: its network, its hosts file, its trust, its hostname, and as
        the container's user (images.identity), which Istio's capture rules look at; the
        namespaces and mounts are made as root first, then setpriv(1) drops to that user."""
        files = [str(self.dir / "hosts"), str(self.dir / "resolv.conf"), str(self.dir / "ca.crt")]
        if user is not None and not user.root:
            groups = f"--groups={','.join(map(str, user.groups))}" if user.groups else "--clear-groups"
            command = ["setpriv", f"--reuid={user.uid}", f"--regid={user.gid}", groups, "--", *command]
        return ["nsenter", f"--net={self.ns_path}", "--", "unshare", "--mount", "--uts",
                "--propagation", "private", "--", "sh", "-c", ENTER, "sh", *files, self.name, "--",
                *command]

    def close(self) -> None:
        with self.lock:
            for sock in self.listeners.values():
                _close(sock)
            self.listeners.clear()
        if self.holder.poll() is None:
            self.holder.kill()
        self.holder.wait()
        if self.holder.stderr:
            self.holder.stderr.close()
        shutil.rmtree(self.dir, ignore_errors=True)


class Network:
    """All pod networks of one cluster, and the traffic between them and the world."""

    def __init__(self, cluster: "Cluster") -> None:
        from .ambient import Ztunnel
        from .sidecar import Sidecar
        from .waypoints import Waypoint

        self.cluster = cluster
        self.internet = Internet(cluster.ca)
        self.sidecar = Sidecar(self)
        self.ztunnel = Ztunnel(self)
        self.waypoint = Waypoint(self)
        self.pods: dict[str, PodNet] = {}
        self.lock = threading.Lock()
        self._round_robin: dict[str, itertools.count] = {}
        # Namespace holders die with the thread that started them (PR_SET_PDEATHSIG is per
        # thread), so one long-lived thread starts them all.
        self._spawner = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pod-networks")

    # -- pods --------------------------------------------------------------------------
    def pod(self, pod: dict) -> PodNet:
        uid = pod["metadata"]["uid"]
        with self.lock:
            net = self.pods.get(uid)
            if net is None:
                why = unavailable()
                if why:
                    raise RuntimeError(why)
                ip = (pod.get("status") or {}).get("podIP") or "10.244.255.254"
                local = self.internet.ips()
                if self.cluster.ambient:  # ServiceEntry addresses a captured pod may be told by ztunnel
                    local += [AUTO_ALLOCATED]
                net = self._spawner.submit(PodNet, pod, ip, local, Path(self.cluster.workdir)).result()
                self.pods[uid] = net
            return net

    def prepare(self, pod: dict) -> PodNet:
        """Ready a pod for a command: listeners for every port in use, fresh DNS and trust files."""
        net = self.pod(pod)
        net.mode = dataplane(pod)
        if net.mode == "sidecar":
            net.rules = capture.rules_of(pod)
            net.gid_matters = any(identity.gid in net.rules.proxy_gids for identity in _identities(pod))
            # Istio's iptables capture every outbound connection, whatever its address
            wanted = {("::", port) for port in self.ports()}
            wanted.add(("127.0.0.1", SIDECAR_ADMIN_PORT))
        elif net.mode == "ambient":
            # ztunnel's in-pod rules capture every outbound connection too
            wanted = {("::", port) for port in self.ports()}
        else:
            wanted = self.addresses()
        for sock in net.listen(wanted):
            threading.Thread(target=self._accept, args=(net, sock), daemon=True).start()
        (net.dir / "hosts").write_text(self.hosts_file(net))
        (net.dir / "resolv.conf").write_text(
            f"search {net.namespace}.svc.{CLUSTER_DOMAIN} svc.{CLUSTER_DOMAIN} {CLUSTER_DOMAIN}\n"
            f"nameserver {CLUSTER_DNS}\noptions ndots:5\n")
        (net.dir / "ca.crt").write_bytes(self.cluster.ca.pem if self.cluster.ca else b"")
        return net

    def stopped(self, pod: dict) -> None:
        with self.lock:
            net = self.pods.pop(pod["metadata"]["uid"], None)
        if net is not None:
            net.close()

    def shutdown(self) -> None:
        with self.lock:
            nets, self.pods = list(self.pods.values()), {}
        for net in nets:
            net.close()
        self._spawner.shutdown(wait=False)

    def ports(self) -> set[int]:
        """Every port a connection may be made to: services', endpoints', ServiceEntries', the internet's."""
        ports = set(self.internet.ports())
        store = self.cluster.store
        for svc in store.scan("/services"):
            ports.update(p.get("port") for p in svc.get("spec", {}).get("ports") or [])
        for es in store.scan("discovery.k8s.io/endpointslices"):
            ports.update(p.get("port") for p in es.get("ports") or [])
        for ep in store.scan("/endpoints"):
            ports.update(p.get("port") for s in ep.get("subsets") or [] for p in s.get("ports") or [])
        for se in store.scan("networking.istio.io/serviceentries"):
            ports.update(p.get("number") for p in se.get("spec", {}).get("ports") or [])
        return {p for p in ports if isinstance(p, int) and 0 < p < 65536 and p != SIDECAR_ADMIN_PORT}

    def addresses(self) -> set[tuple[str, int]]:
        """The (address, port) pairs that answer: cluster IPs' ports and the internet's hosts."""
        pairs = {(ip, port) for host in self.internet.hosts for ip in host.ips
                 for port in (host.http, host.https) if port}
        for svc in self.cluster.store.scan("/services"):
            spec = svc.get("spec", {})
            for ip in spec.get("clusterIPs") or []:
                if ip != "None":
                    pairs.update((ip, p["port"]) for p in spec.get("ports") or [] if p.get("port"))
        return pairs

    def pod_http(self, pod: dict, port: int, method: str, path: str) -> tuple[int, str, bytes] | None:
        """An HTTP request to a pod's IP and port (the API server's pod proxy): (status,
        content type, body), or None when nothing listens there."""
        from .ambient import STATS_PORT, is_ztunnel
        if is_ztunnel(pod) and port == STATS_PORT and (pod.get("status") or {}).get("phase") == "Running":
            # ztunnel src/metrics/server.rs: /metrics and /stats/prometheus, anything else 404
            if path.split("?")[0] not in ("/metrics", "/stats/prometheus"):
                return 404, "text/plain", b""
            image = next((c.get("image", "") for c in pod["spec"].get("containers") or []), "")
            version = image.rpartition(":")[2].split("-")[0]
            return (200, "application/openmetrics-text;charset=utf-8;version=1.0.0",
                    self.ztunnel.metrics(pod, version).encode())
        return None

    # -- DNS --------------------------------------------------------------------------------
    def resolve(self, name: str, depth: int = 0) -> list[str]:
        """Addresses of a name as cluster DNS answers it (ExternalName is a CNAME)."""
        name = name.rstrip(".").lower()
        host = self.internet.by_name(name)
        if host is not None:
            return list(host.ips)
        suffix = f".svc.{CLUSTER_DOMAIN}"
        if name.endswith(suffix) and depth < 8:
            parts = name[: -len(suffix)].split(".")
            if len(parts) == 2:
                svc = self.cluster.store.get("/services", parts[1], parts[0])
                if svc is not None:
                    spec = svc.get("spec", {})
                    if spec.get("type") == "ExternalName":
                        return self.resolve(spec.get("externalName", ""), depth + 1)
                    return [ip for ip in spec.get("clusterIPs") or [] if ip != "None"]
        return []

    def hosts_file(self, net: PodNet) -> str:
        lines = ["127.0.0.1\tlocalhost", "::1\tlocalhost ip6-localhost ip6-loopback",
                 f"{net.ip}\t{net.name}"]
        for svc in self.cluster.store.scan("/services"):
            name, ns = svc["metadata"]["name"], svc["metadata"]["namespace"]
            names = [f"{name}.{ns}.svc.{CLUSTER_DOMAIN}", f"{name}.{ns}.svc", f"{name}.{ns}"]
            if ns == net.namespace:
                names.append(name)
            for ip in self.resolve(names[0]):
                lines.append(f"{ip}\t{' '.join(names)}")
        if net.mode == "ambient":
            lines += self.captured_dns()
        for host in self.internet.hosts:
            for ip in host.ips:
                lines.append(f"{ip}\t{' '.join(host.names)}")
        return "\n".join(lines) + "\n"

    def captured_dns(self) -> list[str]:
        """What ztunnel's DNS proxy answers a captured pod beyond cluster DNS (when the CNI
        captures DNS, ambient.dns_capture): a ServiceEntry's hosts at its addresses, user-given
        or allocated by istiod (IPv4 only here). Listed before the internet's, so they win."""
        from .ambient import dns_capture
        if not dns_capture(self.cluster.store):
            return []
        lines = []
        for se in self.cluster.store.scan("networking.istio.io/serviceentries"):
            spec = se.get("spec") or {}
            given = [a for a in spec.get("addresses") or [] if ":" not in a and "/" not in a]
            for host in spec.get("hosts") or []:
                ips = given or [a.get("value") for a in (se.get("status") or {}).get("addresses") or []
                                if a.get("host") == host and ":" not in a.get("value", "")]
                lines += [f"{ip}\t{host}" for ip in ips[:1]]
        return lines

    # -- traffic ------------------------------------------------------------------------------
    def _accept(self, net: PodNet, listener: socket.socket) -> None:
        while True:
            try:
                conn, peer = listener.accept()
            except OSError:
                return
            threading.Thread(target=self._handle, args=(net, conn, peer), daemon=True).start()

    def _handle(self, net: PodNet, conn: socket.socket, peer) -> None:
        try:
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            address, port = conn.getsockname()[:2]
            ip = plain_ip(address)
            if net.mode == "sidecar" and port == SIDECAR_ADMIN_PORT and ip == "127.0.0.1":
                self.sidecar.admin(net, conn)
            elif net.mode == "sidecar" and self.captured(net, peer, ip, port):
                self.sidecar.outbound(net, conn, ip, port)
            elif net.mode == "ambient":
                self.ztunnel.outbound(net, conn, ip, port)
            else:
                self.direct(conn, ip, port, net.ip)
        except Exception:  # a broken connection must not take the listener down
            reset(conn)
        finally:
            try:
                conn.close()
            except OSError:
                pass

    def captured(self, net: PodNet, peer, ip: str, port: int) -> bool:
        """Do Istio's iptables rules send this connection of a sidecar pod to Envoy? They look at
        the destination and at the user who made the socket (capture.py): the proxy's own UID
        and GID bypass it, as do excluded ports and ranges."""
        rules = net.rules or capture.Rules()
        owner = capture.socket_owner(net.holder.pid, (plain_ip(peer[0]), peer[1]), (ip, port))
        uid, inode = owner if owner is not None else (None, None)
        gid = None
        if net.gid_matters and inode and uid not in rules.proxy_uids:
            gid = capture.socket_fsgid(os.readlink(net.ns_path), inode)
        return capture.captured(rules, uid, gid, ip, port)

    def service_at(self, ip: str, port: int) -> tuple[dict, dict] | None:
        """The Service (and its port) whose cluster IP and port these are."""
        for svc in self.cluster.store.scan("/services"):
            spec = svc.get("spec", {})
            if ip in (spec.get("clusterIPs") or []):
                for svc_port in spec.get("ports") or []:
                    if svc_port.get("port") == port:
                        return svc, svc_port
        return None

    def endpoints(self, svc: dict, svc_port: dict) -> list[tuple[str, int]]:
        """Ready endpoint addresses of one Service port, from EndpointSlices and v1 Endpoints."""
        name, ns = svc["metadata"]["name"], svc["metadata"]["namespace"]
        port_name = svc_port.get("name", "")
        found: list[tuple[str, int]] = []
        for es in self.cluster.store.scan("discovery.k8s.io/endpointslices", ns):
            if (es["metadata"].get("labels") or {}).get("kubernetes.io/service-name") != name:
                continue
            numbers = [p.get("port") for p in es.get("ports") or [] if (p.get("name") or "") == port_name]
            for endpoint in es.get("endpoints") or []:
                if (endpoint.get("conditions") or {}).get("ready") is False:
                    continue
                for address in endpoint.get("addresses") or []:
                    found.extend((address, n) for n in numbers if n)
        ep = self.cluster.store.get("/endpoints", ns, name)
        for subset in (ep or {}).get("subsets") or []:
            numbers = [p.get("port") for p in subset.get("ports") or [] if (p.get("name") or "") == port_name]
            for address in subset.get("addresses") or []:
                found.extend((address["ip"], n) for n in numbers if n)
        return list(dict.fromkeys(found))

    def pick(self, key: str, choices: list[tuple[str, int]]) -> tuple[str, int]:
        counter = self._round_robin.setdefault(key, itertools.count())
        return choices[next(counter) % len(choices)]

    def direct(self, conn: socket.socket, ip: str, port: int, source: str) -> None:
        """Traffic as it leaves a pod without a sidecar: kube-proxy, then the internet."""
        found = self.service_at(ip, port)
        if found is not None:
            svc, svc_port = found
            choices = self.endpoints(svc, svc_port)
            if not choices:
                reset(conn)  # kube-proxy rejects a Service without endpoints
                return
            ip, port = self.pick(svc["metadata"]["uid"] + str(port), choices)
        if self.internet.serves(ip, port):
            self.internet.serve(conn, ip, port, source)
        else:
            reset(conn)

    def connect(self, ip: str, port: int, source: str) -> socket.socket:
        """A connection to ip:port as a pod without sidecar would make it (for the sidecar's upstreams)."""
        ours, theirs = socket.socketpair()

        def serve() -> None:
            try:
                self.direct(theirs, ip, port, source)
            finally:
                theirs.close()

        threading.Thread(target=serve, daemon=True).start()
        return ours


def _identities(pod: dict) -> list:
    """Who the pod's processes besides the proxy run as (images.identity), init containers aside."""
    from . import images
    spec = pod.get("spec") or {}
    return [images.identity(images.lookup(c.get("image", "")), c, pod)
            for group in ("containers", "ephemeralContainers") for c in spec.get(group) or []
            if c.get("name") != "istio-proxy"]


def _close(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()


def reset(conn: socket.socket) -> None:
    """Close with a TCP RST where the socket allows it (connection refused/reset)."""
    try:
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    except OSError:
        pass
    try:
        conn.close()
    except OSError:
        pass


def splice(a: socket.socket, b: socket.socket) -> tuple[int, int]:
    """Copy bytes both ways until either side closes; the bytes copied (a to b, b to a)."""
    counts = [0, 0]

    def pump(src: socket.socket, dst: socket.socket, which: int) -> None:
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
                counts[which] += len(data)
        except OSError:
            pass
        finally:
            try:
                dst.shutdown(socket.SHUT_WR)
            except OSError:
                pass

    other = threading.Thread(target=pump, args=(b, a, 1), daemon=True)
    other.start()
    pump(a, b, 0)
    other.join(timeout=60)
    return counts[0], counts[1]
