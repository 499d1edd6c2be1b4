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
    originates: str = ""  # TLS origination asked for: where the sidecar should speak TLS (host:port)

    def args(self) -> list[str]:
        return [self.id, self.url, self.option, self.value]


def _port(port: int, default: int) -> str:
    return "" if port == default else f":{port}"


def bracket(ip: str) -> str:
    return f"[{ip}]" if ":" in ip else ip


ORIGINATED_PATH = "/"  # a TLS-originated site is a site, not an echo: its page, as the task curls it


def checks_for(index: str, target: Target, cluster_ip: str, path: str | None, alias_host: str = "") -> list[Check]:
    """The curls for one egress service: one, or one per host of a ServiceEntry (wildcards aside)."""
    if not target.is_entry:
        return [check_for(index, target, cluster_ip, path, alias_host)]
    out = []
    for i, host in enumerate(h for h in target.hosts if "*" not in h):
        ident = f"{index}-{i}"
        if target.origination is not None:
            out.append(Check(ident, target.name, target.namespace,
                             f"http://{host}{_port(target.port, 80)}{path or ORIGINATED_PATH}", mesh_host=host,
                             originates=f"{host}:{target.origination.target_port}"))
        elif target.protocol in TLS_PROTOCOLS:
            out.append(Check(ident, target.name, target.namespace, f"https://{host}{_port(target.port, 443)}/",
                             tls=True, mesh_host=host))
        elif target.protocol in ("http", "http2", "grpc"):
            out.append(Check(ident, target.name, target.namespace,
                             f"http://{host}{_port(target.port, 80)}{path or '/headers'}", mesh_host=host))
        else:
            out.append(Check(ident, target.name, target.namespace, f"telnet://{host}:{target.port}", mesh_host=host))
    return out


def check_for(index: int | str, target: Target, cluster_ip: str, path: str | None, alias_host: str = "") -> Check:
    """The curl for one egress service, as the seed task does it by hand.

    HTTP ports: http://NAME.NS.svc.cluster.local[:port]<path>. TLS ports:
    https://HOST/ reached through the service: --connect-to for an
    ExternalName, --resolve HOST:PORT:CLUSTER-IP for endpoints. With TLS
    origination, http://NAME.NS.svc.cluster.local[:port]/: the app's plain HTTP.
    """
    fqdn = target.fqdn
    cluster = alias_host or fqdn  # the mesh host the sidecar would match
    ident = str(index)
    if target.origination is not None:
        return Check(ident, target.name, target.namespace, f"http://{fqdn}{_port(target.port, 80)}"
                     f"{path or ORIGINATED_PATH}", mesh_host=cluster,
                     originates=f"{target.host}:{target.origination.target_port}")
    path = path or "/headers"
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

    @property
    def label(self) -> str:
        return f"{self.namespace}/{self.pod}"
