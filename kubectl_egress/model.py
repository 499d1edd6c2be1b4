"""The one model every command shares: an egress service, as built and as read back.

`Target` is what `externalname` and `endpoints` make and what `get`, `probe`
and `clean` read from the cluster, so building and reading are one model.
"""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Union

if TYPE_CHECKING:  # pragma: no cover
    from .mesh.facts import MeshFacts

MANAGED_BY = "app.kubernetes.io/managed-by"
MANAGER = "kubectl-egress"
MANAGED_SELECTOR = f"{MANAGED_BY}={MANAGER}"
SLICE_MANAGED_BY = "endpointslice.kubernetes.io/managed-by"
SLICE_SERVICE_NAME = "kubernetes.io/service-name"
# the host clients use for an endpoints service (`endpoints --host`), for the probe
HOST_ANNOTATION = "kubectl-egress/host"
# which command owns an Istio object: `serviceentry` marks its ServiceEntry and DestinationRule, which
# `externalname` then uses and never changes (no label: the object belongs to the Service of its name)
RECIPE_LABEL = "kubectl-egress/recipe"
SERVICE_ENTRY_RECIPE = "serviceentry"
# the proxyv2 image's OS CA bundle (Debian/Ubuntu path, the first of istio pkg/security/security.go
# GetOSRootFilePath): naming it in caCertificates verifies against the system roots in every
# Istio version, where an empty caCertificates verifies nothing up to 1.20 and raises IST0128/IST0129
OS_CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
VERIFY_MODES = ("system", "skip")
RESOLUTIONS = ("DNS", "NONE", "STATIC")
LOCATIONS = ("MESH_EXTERNAL", "MESH_INTERNAL")
# the egress waypoint (NAMESPACE/NAME) an ExternalName Service is routed through (`--waypoint`), whose
# namespace holds its ServiceEntry
WAYPOINT_ANNOTATION = "kubectl-egress/waypoint"
# The labels the cluster's own controllers put on the endpoints they write for Services with a
# selector (kubernetes pkg/controller/endpoint: LabelManagedBy, ControllerName; and
# pkg/controller/endpointslice: ControllerName): never an egress service's, so lists skip them.
ENDPOINTS_MANAGED_BY = "endpoints.kubernetes.io/managed-by"
ENDPOINTS_CONTROLLER = "endpoint-controller"
SLICE_CONTROLLER = "endpointslice-controller.k8s.io"

# Istio protocol names a port may carry (istio.io protocol selection); each is the port name.
PROTOCOLS = ("http", "https", "tls", "tcp", "grpc", "http2")
TLS_PROTOCOLS = ("https", "tls")
# Modes kubectl-egress writes into a DestinationRule; MUTUAL needs certificates it does not manage.
TLS_MODES = ("DISABLE", "SIMPLE", "ISTIO_MUTUAL")
ENDPOINTS_APIS = ("endpointslice", "endpoints")
CLUSTER_DOMAIN = "cluster.local"

IP = Union[ipaddress.IPv4Address, ipaddress.IPv6Address]


@dataclass(frozen=True)
class Origination:
    """TLS origination (Istio's "Egress TLS Origination"): the app speaks plain HTTP to the service's
    port, and the sidecar opens TLS to the host's target_port, verifying its certificate against the
    system roots (verify `system`) or not at all (`skip`, --insecure-skip-verify)."""

    target_port: int = 443
    verify: str = "system"


@dataclass(frozen=True)
class Target:
    """One egress service: a Service, its endpoints if any, and its Istio objects."""

    name: str
    namespace: str
    host: str = ""  # ExternalName target, or the host clients use for an endpoints service
    ips: tuple[IP, ...] = ()  # empty: an ExternalName service
    port: int = 80
    protocol: str = "http"
    tls_mode: str | None = "DISABLE"  # None: no DestinationRule
    endpoints_api: str = "endpointslice"
    cluster_domain: str = CLUSTER_DOMAIN
    origination: Origination | None = None
    recipe: str = ""  # "serviceentry": a ServiceEntry of `kubectl egress serviceentry`, no Service
    hosts: tuple[str, ...] = ()  # a ServiceEntry's hosts (host is the first)
    flags: tuple[str, ...] = ()  # a ServiceEntry's other `serviceentry` flags, to write it again
    managed: bool = True  # read back: made by kubectl-egress (else a fixing command needs --force)
    external: bool | None = None  # read back: type ExternalName or not; None: no IPs means ExternalName

    @property
    def is_entry(self) -> bool:
        return self.recipe == SERVICE_ENTRY_RECIPE

    @property
    def external_name(self) -> bool:
        return not self.ips if self.external is None else self.external

    @property
    def fqdn(self) -> str:
        """The in-cluster name: `NAME.NS.svc.cluster.local`."""
        return f"{self.name}.{self.namespace}.svc.{self.cluster_domain}"

    @property
    def families(self) -> tuple[str, ...]:
        """IP families of the endpoint addresses, IPv4 first."""
        found = {f"IPv{ip.version}" for ip in self.ips}
        return tuple(f for f in ("IPv4", "IPv6") if f in found)


def is_egress_service(svc: dict) -> bool:
    """The one definition of an egress service, whoever made it: a Service of type
    ExternalName, or a Service without a selector (its endpoints are set by hand), the API
    server's own `default/kubernetes` aside."""
    spec = svc.get("spec") or {}
    if spec.get("type") == "ExternalName":
        return True
    meta = svc.get("metadata") or {}
    if meta.get("name") == "kubernetes" and meta.get("namespace") == "default":
        return False
    return not spec.get("selector")


def managed_by(obj: dict) -> str:
    """The app.kubernetes.io/managed-by label (helm, argocd, kubectl-egress, ...), or ""."""
    return ((obj.get("metadata") or {}).get("labels") or {}).get(MANAGED_BY, "")


@dataclass(frozen=True)
class Entry:
    """What `kubectl egress serviceentry` makes: a ServiceEntry for external hosts (Istio's "Accessing
    External Services"), and with origination, the DestinationRule that originates TLS."""

    name: str
    namespace: str
    hosts: tuple[str, ...]
    port: int = 80
    protocol: str = "http"
    resolution: str = "DNS"
    addresses: tuple[str, ...] = ()
    endpoints: tuple[str, ...] = ()
    location: str = "MESH_EXTERNAL"
    export_to: tuple[str, ...] = ()
    origination: Origination | None = None


@dataclass(frozen=True)
class Mesh:
    """What the cluster runs of Istio, as far as the recipes care.

    mode: `legacy` (up to Istio 1.20: an ExternalName Service is a mesh service
    of its own, host NAME.NS.svc.cluster.local), `alias` (1.21 and later: it is
    only a DNS alias of its target, so rules go on the external host, with a
    ServiceEntry), or `none` (no Istio objects).
    """

    istio: bool = True
    networking_version: str = "v1"  # preferred networking.istio.io version
    mode: str = "legacy"
    version: str = ""  # istiod's version, when it could be read
    source: str = ""  # how the mode was found, for `kubectl egress version`
    served: bool = True  # networking.istio.io is served (objects may exist even in mode none)
    # per-namespace and per-pod facts (revisions, dataplanes, outbound policies), when the command read them
    facts: "MeshFacts | None" = field(default=None, compare=False, repr=False)

    @property
    def api_version(self) -> str:
        return f"networking.istio.io/{self.networking_version}"

    @property
    def alias(self) -> bool:
        return self.istio and self.mode == "alias"


@dataclass(frozen=True)
class Resource:
    """Where a kind lives in the API, and how kubectl names it in messages."""

    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool = True

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def display(self) -> str:
        """`service`, `endpointslice.discovery.k8s.io` (kubectl's `kind.group`)."""
        lower = self.kind.lower()
        return f"{lower}.{self.group}" if self.group else lower


SERVICES = Resource("", "v1", "services", "Service")
ENDPOINTS = Resource("", "v1", "endpoints", "Endpoints")
ENDPOINT_SLICES = Resource("discovery.k8s.io", "v1", "endpointslices", "EndpointSlice")
NAMESPACES = Resource("", "v1", "namespaces", "Namespace", namespaced=False)
PODS = Resource("", "v1", "pods", "Pod")
DEPLOYMENTS = Resource("apps", "v1", "deployments", "Deployment")
SERVICE_ACCOUNTS = Resource("", "v1", "serviceaccounts", "ServiceAccount")
CONFIG_MAPS = Resource("", "v1", "configmaps", "ConfigMap")
DAEMON_SETS = Resource("apps", "v1", "daemonsets", "DaemonSet")
# revision tags live in the injection webhooks (istioctl/pkg/tag)
MUTATING_WEBHOOKS = Resource("admissionregistration.k8s.io", "v1", "mutatingwebhookconfigurations",
                             "MutatingWebhookConfiguration", namespaced=False)
# egress waypoints are Gateway API Gateways of class istio-waypoint
GATEWAYS = Resource("gateway.networking.k8s.io", "v1", "gateways", "Gateway")


def destination_rules(version: str) -> Resource:
    return Resource("networking.istio.io", version, "destinationrules", "DestinationRule")


def service_entries(version: str) -> Resource:
    return Resource("networking.istio.io", version, "serviceentries", "ServiceEntry")


def virtual_services(version: str) -> Resource:
    return Resource("networking.istio.io", version, "virtualservices", "VirtualService")
def sidecars(version: str) -> Resource:
    return Resource("networking.istio.io", version, "sidecars", "Sidecar")


# Istio's protocol names for a ServiceEntry port, by the port name kubectl-egress gives
ISTIO_PROTOCOL = {"http": "HTTP", "https": "HTTPS", "tls": "TLS", "tcp": "TCP", "grpc": "GRPC",
                  "http2": "HTTP2"}
ISTIO_MODES = ("auto", "legacy", "alias", "none")


def resource_of(obj: dict) -> Resource:
    """The Resource of a manifest this plugin builds."""
    api_version, kind = obj["apiVersion"], obj["kind"]
    group, _, version = api_version.rpartition("/")
    for res in (SERVICES, ENDPOINTS, ENDPOINT_SLICES, NAMESPACES, DEPLOYMENTS, SERVICE_ACCOUNTS):
        if res.kind == kind:
            return res
    if kind == "DestinationRule":
        return destination_rules(version)
    if kind == "ServiceEntry":
        return service_entries(version)
    if kind == "VirtualService":
        return virtual_services(version)
    raise ValueError(f"not a kind kubectl-egress manages: {kind}")


@dataclass
class ObjectChange:
    """What happened to one object: created, configured, unchanged or deleted."""

    resource: Resource
    name: str
    namespace: str
    action: str
    obj: dict | None = None  # the object as the server returned it (or as sent, for client dry runs)
    before: dict | None = field(default=None, repr=False)  # for undo
