"""`externalname --waypoint [NAMESPACE/]NAME`: route an egress service through an egress waypoint, as
Istio's ambient egress guide does (istio.io docs/ambient/usage/egress-gateway): the ServiceEntry for
the external host lives in the waypoint's namespace, labelled `istio.io/use-waypoint: NAME`, so that
ztunnel sends every mesh connection to that host through the waypoint (a Gateway of class
`istio-waypoint`). The Service stays where it is, annotated with the waypoint so that `clean` and a
later run find the ServiceEntry.

For ztunnel to see a connection as going to the ServiceEntry, the pod must resolve the host to the
ServiceEntry's address: istiod allocates one (on by default from 1.25) and ztunnel's DNS proxy
answers with it (istio-cni-config AMBIENT_DNS_CAPTURE, true by default from 1.25). Without them the
pod resolves the real address and ztunnel passes the connection through, past the waypoint; the
recipe says so.
"""
from __future__ import annotations

import copy
from typing import TYPE_CHECKING

from .errors import EgressError, ServerError, UsageError
from .model import CONFIG_MAPS, GATEWAYS, WAYPOINT_ANNOTATION, Target
from .validate import DNS1123_LABEL

if TYPE_CHECKING:  # pragma: no cover
    from .kube import Kube

USE_WAYPOINT = "istio.io/use-waypoint"
WAYPOINT_CLASS = "istio-waypoint"


def parse(text: str, namespace: str) -> tuple[str, str]:
    """`[NAMESPACE/]NAME` -> (namespace, name); the namespace defaults to the service's."""
    ns, _, name = text.rpartition("/")
    ns = ns or namespace
    for part in (ns, name):
        if not DNS1123_LABEL.match(part) or len(part) > 63:
            raise UsageError(f'--waypoint "{text}" is not [NAMESPACE/]NAME of a waypoint (e.g. --waypoint '
                             "istio-egress/waypoint)")
    return ns, name


def entry_name(target: Target) -> str:
    """The ServiceEntry's name in the waypoint's namespace: NAME.NAMESPACE, one per Service."""
    return f"{target.name}.{target.namespace}"


def route(objects: list[dict], target: Target, waypoint: tuple[str, str]) -> list[dict]:
    """The recipe's objects with its ServiceEntry moved into the waypoint's namespace and labelled to
    use it, and the Service annotated with the waypoint (pure)."""
    ns, name = waypoint
    out = []
    for obj in objects:
        obj = copy.deepcopy(obj)
        meta = obj["metadata"]
        if obj["kind"] == "Service":
            meta["annotations"] = {**(meta.get("annotations") or {}), WAYPOINT_ANNOTATION: f"{ns}/{name}"}
        elif obj["kind"] == "ServiceEntry":
            meta.update(name=entry_name(target), namespace=ns)
            meta["labels"] = {**meta["labels"], USE_WAYPOINT: name}
        out.append(obj)
    return out


def previous(service: dict | None) -> tuple[str, str] | None:
    """The waypoint a Service was routed through, from its annotation."""
    text = (((service or {}).get("metadata") or {}).get("annotations") or {}).get(WAYPOINT_ANNOTATION, "")
    ns, _, name = text.partition("/")
    return (ns, name) if ns and name else None


def check_gateway(kube: Kube, waypoint: tuple[str, str]) -> None:
    """The waypoint must be there, a Gateway of class istio-waypoint; else say how to make it."""
    ns, name = waypoint
    make = f"istioctl waypoint apply --for service --namespace {ns} --name {name}"
    if kube.preferred_version(GATEWAYS.group) is None:
        raise EgressError(f"--waypoint needs an ambient mesh and the Gateway API CRDs ({GATEWAYS.group} is not "
                          "served): install them as Istio's ambient guide does")
    gateway = kube.get(GATEWAYS, name, ns)
    if gateway is None:
        raise EgressError(f'waypoint "{ns}/{name}" not found: make it with "{make}"')
    cls = (gateway.get("spec") or {}).get("gatewayClassName")
    if cls != WAYPOINT_CLASS:
        raise EgressError(f'Gateway "{ns}/{name}" is of class {cls}, not {WAYPOINT_CLASS}: it is no waypoint '
                          f'(make one with "{make}")')


def dns_capture(kube: Kube) -> bool | None:
    """Does ztunnel answer pods' DNS (istio-cni-config AMBIENT_DNS_CAPTURE)? None: unknown."""
    try:
        cm = kube.get(CONFIG_MAPS, "istio-cni-config", "istio-system")
    except ServerError:
        return None
    if cm is None:
        return None
    return str((cm.get("data") or {}).get("AMBIENT_DNS_CAPTURE", "")).lower() == "true"


def notes(target: Target, waypoint: tuple[str, str], capture: bool | None) -> list[str]:
    ns, name = waypoint
    out = [f"ztunnel sends mesh connections to {target.host} through waypoint {ns}/{name}: its ServiceEntry "
           f"{ns}/{entry_name(target)} is labelled {USE_WAYPOINT}={name}"]
    out.append(f"Warning: ambient mode does not implement ExternalName Services: {target.fqdn} resolves "
               f"through cluster DNS to {target.host}'s own address, which ztunnel passes through, past the "
               f"waypoint; callers reach the waypoint when they call {target.host}")
    if capture is False:
        out.append(f"Warning: ztunnel's DNS proxy is off (istio-cni-config AMBIENT_DNS_CAPTURE=false, the default "
                   f"before Istio 1.25): pods resolve {target.host} themselves and their connections pass the "
                   "waypoint by; turn it on with the istio-cni value ambient.dnsCapture=true")
    return out
