"""Field trees of the built-in kinds kubectl-egress writes (k8s.io/api core/v1, discovery/v1).

Used to find unknown fields, as the server's strict decoder does for
`fieldValidation=Strict` (400) and `Warn` (a Warning header). Kinds not
listed here keep whatever fields they are sent.
"""
from __future__ import annotations


def _obj(*names: str, **nested: dict) -> dict:
    props: dict = {n: {} for n in names}
    props.update(nested)
    return {"type": "object", "properties": props}


def _list(item: dict) -> dict:
    return {"type": "array", "items": item}


_MAP = {"type": "object", "additionalProperties": {}}
_ANY = {"x-kubernetes-preserve-unknown-fields": True}

SERVICE_PORT = _obj("name", "protocol", "appProtocol", "port", "targetPort", "nodePort")

SERVICE = _obj(
    spec=_obj("clusterIP", "clusterIPs", "type", "externalIPs", "sessionAffinity", "loadBalancerIP",
              "loadBalancerSourceRanges", "externalName", "externalTrafficPolicy",
              "healthCheckNodePort", "publishNotReadyAddresses", "ipFamilies", "ipFamilyPolicy",
              "allocateLoadBalancerNodePorts", "loadBalancerClass", "internalTrafficPolicy",
              "trafficDistribution",
              ports=_list(SERVICE_PORT), selector=_MAP, sessionAffinityConfig=_ANY),
    status=_ANY,
)

ENDPOINT_ADDRESS = _obj("ip", "hostname", "nodeName", targetRef=_ANY)
ENDPOINTS = _obj(subsets=_list(_obj(addresses=_list(ENDPOINT_ADDRESS),
                                    notReadyAddresses=_list(ENDPOINT_ADDRESS),
                                    ports=_list(_obj("name", "port", "protocol", "appProtocol")))))

ENDPOINTSLICE = _obj(
    "addressType",
    endpoints=_list(_obj("addresses", "hostname", "nodeName", "zone",
                         conditions=_obj("ready", "serving", "terminating"),
                         targetRef=_ANY, deprecatedTopology=_MAP, hints=_ANY)),
    ports=_list(_obj("name", "protocol", "port", "appProtocol")),
)

NAMESPACE = _obj(spec=_obj("finalizers"), status=_ANY)

SCHEMAS: dict[str, dict] = {
    "Service": SERVICE,
    "Endpoints": ENDPOINTS,
    "EndpointSlice": ENDPOINTSLICE,
    "Namespace": NAMESPACE,
}
