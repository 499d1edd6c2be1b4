"""What the analyzers read and write: the Snapshot of the cluster's objects, Findings,
and the shared readings of a Service (its protocol, its endpoints, the command that fixes it)."""
from __future__ import annotations

from dataclasses import dataclass, field

from ..model import (HOST_ANNOTATION, ISTIO_PROTOCOL, MANAGED_BY, MANAGER, SLICE_MANAGED_BY,
                     SLICE_SERVICE_NAME, Mesh)
from .protocol import protocol_of

SEVERITIES = ("info", "warning", "error")
ROOT_NAMESPACE = "istio-system"
DOMAIN = "svc.cluster.local"
MIRROR_CONTROLLER = "endpointslicemirroring-controller.k8s.io"
SKIP_MIRROR = "endpointslice.kubernetes.io/skip-mirror"
# istioctl analyze leaves these out of what it reads (istio pkg/kube/inject IgnoredNamespaces,
# filtered in pkg/config/analysis/local/istiod_analyze.go since 1.20, istio#46258)
SYSTEM_NAMESPACES = ("kube-system", "kube-public", "kube-node-lease", "local-path-storage")


@dataclass(frozen=True)
class Finding:
    severity: str  # info, warning, error
    code: str
    object: str  # "Service default/my-httpbin", as istioctl analyze names it
    message: str
    fix: str = ""

    def as_dict(self) -> dict:
        return {"severity": self.severity.capitalize(), "code": self.code, "object": self.object,
                "message": self.message, "fix": self.fix}


@dataclass
class Snapshot:
    """The objects check looks at (one namespace, or all)."""

    mesh: Mesh
    services: list[dict] = field(default_factory=list)
    endpoints: list[dict] = field(default_factory=list)
    slices: list[dict] = field(default_factory=list)
    rules: list[dict] = field(default_factory=list)  # DestinationRules, istio-system's included
    entries: list[dict] = field(default_factory=list)
    routes: list[dict] = field(default_factory=list)  # VirtualServices
    selected: list[dict] | None = None  # with -l: the ServiceEntries it selects (None: no selector)
    namespace: str | None = None  # the namespace checked; None: all
    namespaces: list[str] = field(default_factory=list)  # in scope, for the namespace analyzers
    registry: list[dict] | None = None  # every namespace's ServiceEntries, read under REGISTRY_ONLY
    # in alias mode, other namespaces' ServiceEntries that declare the external hosts (their rules are in rules)
    elsewhere: list[dict] = field(default_factory=list)
    _index: object = field(default=None, repr=False, compare=False)
    _hosts: object = field(default=None, repr=False, compare=False)

    def rule_index(self):
        """The rules indexed by namespace and host (rules.RuleIndex), made on first use."""
        if self._index is None:
            from .rules import RuleIndex
            self._index = RuleIndex(self.rules)
        return self._index

    def entry_hosts(self):
        """The namespaces of the ServiceEntries (and those elsewhere) by host (rules.EntryHosts), made on first use."""
        if self._hosts is None:
            from .rules import EntryHosts
            self._hosts = EntryHosts(self.entries + self.elsewhere)
        return self._hosts


def ref(svc: dict) -> str:
    meta = svc["metadata"]
    return f"Service {meta.get('namespace', '')}/{meta['name']}"


def managed(obj: dict) -> bool:
    return (obj.get("metadata", {}).get("labels") or {}).get(MANAGED_BY) == MANAGER


def ips_of(snapshot: Snapshot, svc: dict) -> list[str]:
    name, ns = svc["metadata"]["name"], svc["metadata"].get("namespace", "")
    ips = [a["ip"] for e in snapshot.endpoints if same(e, ns, name)
           for s in e.get("subsets") or [] for a in s.get("addresses") or []]
    for es in slices_of(snapshot, svc):
        if (es["metadata"].get("labels") or {}).get(SLICE_MANAGED_BY) != MIRROR_CONTROLLER:
            ips += [a for e in es.get("endpoints") or [] for a in e.get("addresses") or []]
    return list(dict.fromkeys(ips))


def same(obj: dict, ns: str, name: str) -> bool:
    return obj["metadata"].get("namespace", "") == ns and obj["metadata"]["name"] == name


def slices_of(snapshot: Snapshot, svc: dict) -> list[dict]:
    name, ns = svc["metadata"]["name"], svc["metadata"].get("namespace", "")
    return [es for es in snapshot.slices if es["metadata"].get("namespace", "") == ns and
            (es["metadata"].get("labels") or {}).get(SLICE_SERVICE_NAME) == name]


def fix_command(snapshot: Snapshot, svc: dict, protocol: str | None = None, tls_mode: str | None = None,
                as_endpoints: str | None = None, api: str | None = None) -> str:
    """The kubectl egress command that makes svc right (--force when it was made by hand)."""
    spec = svc.get("spec") or {}
    meta = svc["metadata"]
    port = (spec.get("ports") or [{}])[0]
    number = port.get("port") or 443
    proto = protocol or protocol_of(port) or ("https" if number in (443, 8443) else "http")
    if proto not in ISTIO_PROTOCOL:
        proto = "tls" if proto in ("tls", "https") else "tcp"
    ns = meta.get("namespace", "default")
    suffix = (f" -n {ns}" if ns != "default" else "") + ("" if managed(svc) else " --force")
    mode = f" --tls-mode {tls_mode}" if tls_mode else ""
    if spec.get("type") == "ExternalName" and not as_endpoints:
        flags = (f" --port {number}" if number != 80 else "") + (f" --protocol {proto}" if proto != "http" else "")
        return f"kubectl egress externalname {meta['name']} {spec.get('externalName', '').rstrip('.')}" \
               f"{flags}{mode}{suffix}"
    ips = as_endpoints or " ".join(ips_of(snapshot, svc)) or "IP"
    host = (meta.get("annotations") or {}).get(HOST_ANNOTATION)
    flags = f" --port {number}" + (f" --protocol {proto}" if proto != "tls" else "") + \
        (f" --host {host}" if host else "") + (f" --api {api}" if api else "")
    return f"kubectl egress endpoints {meta['name']} {ips}{flags}{mode}{suffix}"
