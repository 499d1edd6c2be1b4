"""What to curl for each egress service, and from where (pure)."""
from __future__ import annotations

from dataclasses import dataclass

from ..model import TLS_PROTOCOLS, Target

@dataclass(frozen=True)
class Check:
    """One curl from one source to one egress service."""

    id: str
    service: str
    namespace: str
    url: str
    option: str = "-"  # --connect-to / --resolve, or "-"
    value: str = "-"
    tls: bool = False
    mesh_host: str = ""  # the service host Istio would report (destination_service)
    note: str = ""  # a known problem with the check itself (no host recorded, ...)

    def args(self) -> list[str]:
        return [self.id, self.url, self.option, self.value]


def _port(port: int, default: int) -> str:
    return "" if port == default else f":{port}"


def bracket(ip: str) -> str:
    return f"[{ip}]" if ":" in ip else ip


def check_for(index: int, target: Target, cluster_ip: str, path: str, alias_host: str = "") -> Check:
    """The curl for one egress service, as the seed task does it by hand.

    HTTP ports: http://NAME.NS.svc.cluster.local[:port]<path>. TLS ports:
    https://HOST/ reached through the service: --connect-to for an
    ExternalName, --resolve HOST:PORT:CLUSTER-IP for endpoints.
    """
    fqdn = target.fqdn
    cluster = alias_host or fqdn  # the mesh host the sidecar would match
    ident = str(index)
    if target.protocol in TLS_PROTOCOLS:
        if target.external_name:
            host = target.host
            return Check(ident, target.name, target.namespace, f"https://{host}{_port(target.port, 443)}/",
                         "--connect-to", f"{host}:{target.port}:{fqdn}:{target.port}", True, cluster)
        if target.host and cluster_ip:
            return Check(ident, target.name, target.namespace,
                         f"https://{target.host}{_port(target.port, 443)}/", "--resolve",
                         f"{target.host}:{target.port}:{bracket(cluster_ip)}", True, cluster)
        return Check(ident, target.name, target.namespace, f"https://{fqdn}{_port(target.port, 443)}/",
                     tls=True, mesh_host=cluster,
                     note="no --host was recorded, so the certificate cannot match; record it with "
                          "kubectl egress endpoints ... --host HOST")
    if target.protocol == "tcp":
        return Check(ident, target.name, target.namespace, f"telnet://{fqdn}:{target.port}",
                     mesh_host=cluster)
    return Check(ident, target.name, target.namespace, f"http://{fqdn}{_port(target.port, 80)}{path}",
                 mesh_host=cluster)


@dataclass(frozen=True)
class Source:
    """A pod the probe curls from."""

    namespace: str
    pod: str
    container: str
    sidecar: bool
    mesh: bool  # chosen as the mesh source (a sidecar is expected)
    ephemeral: bool = False  # the container is the plugin's ephemeral probe container
    uid: int | None = None  # the user the probe ran as, as it read it itself
    gid: int | None = None

    @property
    def label(self) -> str:
        return f"{self.namespace}/{self.pod}"
