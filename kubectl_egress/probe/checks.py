"""What to curl for each egress service port, and from where (pure)."""
from __future__ import annotations

from dataclasses import dataclass, field

from ..model import TLS_PROTOCOLS, Target

# The kinds of check, by Istio's protocol of the port (analysis.protocol): HTTP ones fetch
# http://NAME.NS.svc..., TLS_PROTOCOLS https://HOST/ (or a TLS handshake when no host is known),
# the rest a TCP connection.
HTTP_PROTOCOLS = ("http", "http2", "http_proxy", "grpc", "grpc-web")
HANDSHAKE = "handshake"  # the script's pseudo-option: curl -k, and the server's certificates


@dataclass(frozen=True)
class Check:
    """One curl from one source to one port of one egress service."""

    id: str
    service: str
    namespace: str
    url: str
    option: str = "-"  # --connect-to / --resolve / handshake, or "-"
    value: str = "-"
    tls: bool = False
    mesh_host: str = ""  # the service host Istio would report (destination_service)
    note: str = ""  # what this check cannot tell, and how to check more
    port: int = 0
    originates: str = ""  # TLS origination asked for: where the sidecar should speak TLS (host:port)

    def args(self) -> list[str]:
        return [self.id, self.url, self.option, self.value]

    @property
    def handshake(self) -> bool:
        """Only the TLS handshake is checked (no host name known for the port)."""
        return self.option == HANDSHAKE


def _port(port: int, default: int) -> str:
    return "" if port == default else f":{port}"


def bracket(ip: str) -> str:
    return f"[{ip}]" if ":" in ip else ip


ORIGINATED_PATH = "/"  # a TLS-originated site is a site, not an echo: its page, as the task curls it


def checks_for(index: str, target: Target, cluster_ip: str, path: str | None, alias_host: str = "") -> list[Check]:
    """The curls for one egress service port: one, or one per host of a `serviceentry` ServiceEntry
    (wildcards aside), which callers reach by the host's own name."""
    if not target.is_entry:
        return [check_for(index, target, cluster_ip, path, alias_host)]
    out = []
    for i, host in enumerate(h for h in target.hosts if "*" not in h):
        common = {"id": f"{index}-{i}", "service": target.name, "namespace": target.namespace, "mesh_host": host,
                  "port": target.port}
        if target.origination is not None:
            out.append(Check(url=f"http://{host}{_port(target.port, 80)}{path or ORIGINATED_PATH}",
                             originates=f"{host}:{target.origination.target_port}", **common))
        elif target.protocol in TLS_PROTOCOLS:
            out.append(Check(url=f"https://{host}{_port(target.port, 443)}/", tls=True, **common))
        elif target.protocol in HTTP_PROTOCOLS:
            out.append(Check(url=f"http://{host}{_port(target.port, 80)}{path or '/headers'}", **common))
        else:
            out.append(Check(url=f"telnet://{host}:{target.port}", **common))
    return out


def check_for(index: int | str, target: Target, cluster_ip: str, path: str | None, alias_host: str = "") -> Check:
    """The curl for one egress service port, as the seed task does it by hand.

    By Istio's protocol of the port (target.protocol, "" when Istio sniffs it):
    HTTP: http://NAME.NS.svc.cluster.local[:port]<path>. TLS with a host name:
    https://HOST/ reached through the service, --connect-to for an ExternalName,
    --resolve HOST:PORT:CLUSTER-IP for endpoints; TLS without one: only the
    handshake through the cluster IP (the NAME when there is none), whose
    certificate then names the host that answered. TCP, and names Istio cannot
    read: a TCP connection, telnet://NAME.NS.svc.cluster.local:PORT. With TLS
    origination: http://NAME.NS.svc.cluster.local[:port]/, the app's plain HTTP.
    """
    fqdn = target.fqdn
    cluster = alias_host or fqdn  # the mesh host the sidecar would match
    common = {"id": str(index), "service": target.name, "namespace": target.namespace, "mesh_host": cluster,
              "port": target.port}
    if target.origination is not None:
        return Check(url=f"http://{fqdn}{_port(target.port, 80)}{path or ORIGINATED_PATH}",
                     originates=f"{target.host}:{target.origination.target_port}", **common)
    path = path or "/headers"
    if target.protocol in TLS_PROTOCOLS:
        if target.external_name:
            host = target.host
            return Check(url=f"https://{host}{_port(target.port, 443)}/", option="--connect-to",
                         value=f"{host}:{target.port}:{fqdn}:{target.port}", tls=True, **common)
        if target.host and cluster_ip:
            return Check(url=f"https://{target.host}{_port(target.port, 443)}/", option="--resolve",
                         value=f"{target.host}:{target.port}:{bracket(cluster_ip)}", tls=True, **common)
        through = bracket(cluster_ip) if cluster_ip else fqdn
        return Check(url=f"https://{through}{_port(target.port, 443)}/", option=HANDSHAKE, tls=True,
                     note=(f"no host name is known for port {target.port}, so only the TLS handshake through "
                           f"{through}:{target.port} was checked"), **common)
    if target.protocol in HTTP_PROTOCOLS:
        return Check(url=f"http://{fqdn}{_port(target.port, 80)}{path}", **common)
    note = "" if target.protocol else (f"Istio cannot tell the protocol of port {target.port} from its name and "
                                       "sniffs it, so only a TCP connection was checked (kubectl egress check "
                                       f"{target.name} says how to name it)")
    return Check(url=f"telnet://{fqdn}:{target.port}", note=note, **common)


@dataclass(frozen=True)
class Source:
    """A pod the probe curls from."""

    namespace: str
    pod: str
    container: str
    sidecar: bool
    mesh: bool  # chosen as the mesh source (a sidecar, or ambient's ztunnel, is expected)
    dataplane: str = ""  # what the pod has: sidecar, ambient or none ("": sidecar or none, by `sidecar`)
    obj: dict | None = field(default=None, compare=False, repr=False)  # the pod as read
    ephemeral: bool = False  # the container is the plugin's ephemeral probe container
    uid: int | None = None  # the user the probe ran as, as it read it itself
    gid: int | None = None

    @property
    def label(self) -> str:
        return f"{self.namespace}/{self.pod}"

    @property
    def ambient(self) -> bool:
        return self.dataplane == "ambient"
