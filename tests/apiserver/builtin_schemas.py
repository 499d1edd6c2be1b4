"""Field trees of the built-in kinds (k8s.io/api core/v1, discovery/v1, apps/v1, apiextensions/v1).

`SCHEMAS` finds unknown fields, as the server's strict decoder does for
`fieldValidation=Strict` (400) and `Warn` (a Warning header). Kinds not
listed there keep whatever fields they are sent.

`FIELD_SCHEMAS` and `OBJECT_META` carry what server-side field management
(managed.py) needs of a kind, in the OpenAPI v3 vocabulary CRDs use: which
lists are associative (`x-kubernetes-list-type: map` with their
`x-kubernetes-list-map-keys`, or `set`), which maps and structs are atomic
(`x-kubernetes-map-type: atomic`), and the defaults of list keys. These come
from the markers of k8s.io/api (`+listType`, `+listMapKey`, `+mapType`,
`+structType`, `+default`), as the published OpenAPI carries them; anything not
written here is a granular map or an atomic list, structured-merge-diff's default.

`ZERO` is each kind's empty Go object as the field manager sees it
(`scope.Creater.New(kind)`, the "live" object of a create): non-pointer structs and
fields without `omitempty` are present. A map present there does not get a `.`
entry when a create fills it (typed/compare.go), hence `f:spec` without `.` in
real dumps while `f:labels` (absent from the empty object) has one.
"""
from __future__ import annotations


def _obj(*names: str, **nested: dict) -> dict:
    props: dict = {n: {} for n in names}
    props.update(nested)
    return {"type": "object", "properties": props}


def _list(item: dict) -> dict:
    return {"type": "array", "items": item}


def _map_list(item: dict, *keys: str) -> dict:
    """`+listType=map` with its `+listMapKey`s."""
    return {**_list(item), "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": list(keys)}


def _set_list(item: dict | None = None) -> dict:
    """`+listType=set` (or patchStrategy merge on a list of scalars)."""
    return {**_list(item or {"type": "string"}), "x-kubernetes-list-type": "set"}


def _loose(**props: dict) -> dict:
    """An object of which only some fields matter here (the others are deduced)."""
    return {"type": "object", "properties": props}


_MAP = {"type": "object", "additionalProperties": {}}
_ANY = {"x-kubernetes-preserve-unknown-fields": True}
_ATOMIC_MAP = {**_MAP, "x-kubernetes-map-type": "atomic"}  # +mapType=atomic
_ATOMIC_STRUCT = {"type": "object", "x-kubernetes-map-type": "atomic"}  # +structType=atomic
_TCP = {"type": "string", "default": "TCP"}  # +default="TCP" (a list-map key's default)
_CONDITIONS = _map_list({"type": "object"}, "type")  # conditions: +listType=map +listMapKey=type

SERVICE_PORT = _obj("name", "appProtocol", "port", "targetPort", "nodePort", protocol=_TCP)

SERVICE = _obj(
    spec=_obj("clusterIP", "clusterIPs", "type", "externalIPs", "sessionAffinity", "loadBalancerIP",
              "loadBalancerSourceRanges", "externalName", "externalTrafficPolicy",
              "healthCheckNodePort", "publishNotReadyAddresses", "ipFamilies", "ipFamilyPolicy",
              "allocateLoadBalancerNodePorts", "loadBalancerClass", "internalTrafficPolicy",
              "trafficDistribution",
              # ServiceSpec.Ports: +listType=map +listMapKey=port +listMapKey=protocol;
              # ServiceSpec.Selector: +mapType=atomic (recent dumps show `f:selector: {}`)
              ports=_map_list(SERVICE_PORT, "port", "protocol"), selector=_ATOMIC_MAP,
              sessionAffinityConfig=_ANY),
    status={**_ANY, "properties": {"conditions": _CONDITIONS}},
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

NAMESPACE = _obj(spec=_obj("finalizers"), status={**_ANY, "properties": {"conditions": _CONDITIONS}})

SCHEMAS: dict[str, dict] = {
    "Service": SERVICE,
    "Endpoints": ENDPOINTS,
    "EndpointSlice": ENDPOINTSLICE,
    "Namespace": NAMESPACE,
}

# -- field management only ------------------------------------------------------------------
# ObjectMeta: ownerReferences +listType=map +listMapKey=uid of OwnerReference
# +structType=atomic (`k:{"uid":"..."}: {}`), finalizers +listType=set (`v:"..."`).
OBJECT_META = _loose(
    labels={"type": "object", "additionalProperties": {"type": "string"}},
    annotations={"type": "object", "additionalProperties": {"type": "string"}},
    ownerReferences=_map_list(_ATOMIC_STRUCT, "uid"),
    finalizers=_set_list(),
)

CONTAINER_PORT = _loose(protocol=_TCP)
CONTAINER = _loose(
    ports=_map_list(CONTAINER_PORT, "containerPort", "protocol"),
    env=_map_list({"type": "object"}, "name"),
    volumeMounts=_map_list({"type": "object"}, "mountPath"),
    volumeDevices=_map_list({"type": "object"}, "devicePath"),
)
POD_SPEC = _loose(
    containers=_map_list(CONTAINER, "name"),
    initContainers=_map_list(CONTAINER, "name"),
    ephemeralContainers=_map_list(CONTAINER, "name"),
    volumes=_map_list({"type": "object"}, "name"),
    hostAliases=_map_list({"type": "object"}, "ip"),
    topologySpreadConstraints=_map_list({"type": "object"}, "topologyKey", "whenUnsatisfiable"),
    nodeSelector=_ATOMIC_MAP,
)
POD_TEMPLATE = _loose(metadata=OBJECT_META, spec=POD_SPEC)
POD = _loose(spec=POD_SPEC, status=_loose(conditions=_CONDITIONS, podIPs=_map_list({"type": "object"}, "ip")))
# DeploymentSpec/ReplicaSetSpec.Selector: LabelSelector, +structType=atomic (`f:selector: {}`)
DEPLOYMENT = _loose(spec=_loose(selector=_ATOMIC_STRUCT, template=POD_TEMPLATE),
                    status=_loose(conditions=_CONDITIONS))
REPLICASET = DEPLOYMENT
DAEMONSET = _loose(spec=_loose(selector=_ATOMIC_STRUCT, template=POD_TEMPLATE),
                   status=_loose(conditions=_CONDITIONS))
CRD = _loose(status=_loose(conditions=_CONDITIONS))
NODE = _loose(status=_loose(conditions=_CONDITIONS, addresses=_map_list({"type": "object"}, "type")))

FIELD_SCHEMAS: dict[str, dict] = {
    **SCHEMAS,
    "Pod": POD,
    "Deployment": DEPLOYMENT,
    "ReplicaSet": REPLICASET,
    "DaemonSet": DAEMONSET,
    "CustomResourceDefinition": CRD,
    "Node": NODE,
}

_META0 = {"creationTimestamp": None}  # metav1.Time is a struct: never omitted, null when zero
_TEMPLATE0 = {"metadata": _META0, "spec": {"containers": None}}  # PodSpec.Containers has no omitempty
ZERO: dict[str, dict] = {
    "Namespace": {"metadata": _META0, "spec": {}, "status": {}},
    "Service": {"metadata": _META0, "spec": {}, "status": {"loadBalancer": {}}},
    "Endpoints": {"metadata": _META0},
    "EndpointSlice": {"metadata": _META0, "addressType": "", "endpoints": None, "ports": None},
    "Pod": {"metadata": _META0, "spec": {"containers": None}, "status": {}},
    "Deployment": {"metadata": _META0, "spec": {"selector": None, "template": _TEMPLATE0, "strategy": {}},
                   "status": {}},
    "ReplicaSet": {"metadata": _META0, "spec": {"selector": None, "template": _TEMPLATE0},
                   "status": {"replicas": 0}},
    # apps/v1 DaemonSetStatus: the four counts and numberReady have no omitempty
    "DaemonSet": {"metadata": _META0, "spec": {"selector": None, "template": _TEMPLATE0, "updateStrategy": {}},
                  "status": {"currentNumberScheduled": 0, "numberMisscheduled": 0, "desiredNumberScheduled": 0,
                             "numberReady": 0}},
    "CustomResourceDefinition": {"metadata": _META0,
                                 "spec": {"group": "", "names": {"plural": "", "kind": ""}, "scope": "",
                                          "versions": None},
                                 "status": {"acceptedNames": {"plural": "", "kind": ""}, "storedVersions": None}},
    "Node": {"metadata": _META0, "spec": {}, "status": {"daemonEndpoints": {"kubeletEndpoint": {"Port": 0}},
                                                        "nodeInfo": {}}},
    "ConfigMap": {"metadata": _META0},
    "ServiceAccount": {"metadata": _META0},
    "Event": {"metadata": _META0, "involvedObject": {}, "source": {}, "firstTimestamp": None,
              "lastTimestamp": None, "eventTime": None, "reportingComponent": "", "reportingInstance": ""},
}
