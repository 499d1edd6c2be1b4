"""Subresources other than status: each one implemented as kube-apiserver's REST for it,
or refused the way a real server refuses it (routes.py decides which methods reach them).

| subresource | upstream (kubernetes/kubernetes) | here |
| --- | --- | --- |
| pods/log | pkg/registry/core/pod/rest/log.go LogREST | logs.py |
| pods/exec | pod/rest/subresources.go ExecREST | Cluster.exec_pod (WebSocket) |
| pods/attach | AttachREST | the container's output, over the same WebSocket protocols |
| pods/portforward | PortForwardREST | no streaming server: "error dialing backend" |
| pods/proxy, services/proxy, nodes/proxy | ProxyREST, ResourceLocation | the location, then the backend's answer |
| pods/binding | pod/storage/storage.go BindingREST | binds an unbound pod, 409 otherwise |
| pods/eviction | pod/storage/eviction.go EvictionREST | deletes the pod (no PodDisruptionBudget is served) |
| pods/ephemeralcontainers | EphemeralContainersREST | GET: the pod |
| deployments/scale, replicasets/scale | apps/*/storage ScaleREST | autoscaling/v1 Scale |
| serviceaccounts/token | serviceaccount/storage/token.go TokenREST | tokens.py |
| namespaces/finalize | namespace/storage FinalizeREST | spec.finalizers only |
"""
from __future__ import annotations

import copy
import ipaddress
import re
import time
from typing import TYPE_CHECKING

from . import logs
from .errors import APIError, bad_request, conflict, not_found, not_found_path, service_unavailable, \
    unknown_error

if TYPE_CHECKING:  # pragma: no cover
    from .cluster import Cluster
    from .routes import Target
    from .server import Request, Response

NODE_KUBELET = "172.18.0.2:10250"  # the node's InternalIP and the kubelet's port


def serve(cluster: "Cluster", req: "Request", target: "Target", warnings: list[str]) -> "Response":
    handler = HANDLERS.get(target.sub)
    if handler is None:
        raise not_found_path()  # listed in discovery, but no route here
    resp = handler(cluster, req, target)
    resp.warnings = warnings + resp.warnings
    return resp


def _pod(cluster: "Cluster", target: "Target", name: str | None = None) -> dict:
    name = name or target.name
    pod = cluster.store.get("/pods", target.namespace, name)
    if pod is None:
        raise not_found("pods", name)
    return pod


def _response(status: int, body, content_type: str = "application/json", headers=None) -> "Response":
    from .server import Response
    return Response(status, body, headers=headers or {}, content_type=content_type)


# -- pods/log, exec, attach, portforward --------------------------------------------------------
def log(cluster: "Cluster", req: "Request", target: "Target") -> "Response":
    return logs.pod_log(cluster, req, target.namespace, target.name)


def exec_(cluster: "Cluster", req: "Request", target: "Target") -> "Response":
    return cluster.exec_pod(req, target.kind, target.namespace, target.name)


def _stream_location(pod: dict, container: str) -> str:
    """streamLocation (pkg/registry/core/pod/strategy.go): the container, then a host."""
    container = logs.validate_container(pod, container)
    if not (pod.get("spec") or {}).get("nodeName"):
        raise bad_request(f"pod {pod['metadata']['name']} does not have a host assigned")
    return container


def attach(cluster: "Cluster", req: "Request", target: "Target") -> "Response":
    """AttachREST.Connect: the location, then an upgrade-required proxy to the kubelet, whose
    attach streams the container's output (stdout on channel 1, stderr on 2) from now on."""
    pod = _pod(cluster, target)
    container = _stream_location(pod, req.param("container"))
    if req.headers.get("upgrade", "").lower() != "websocket":
        raise bad_request("Upgrade request required")  # UpgradeAwareHandler, UpgradeRequired
    from . import execws
    protocol = execws.choose_protocol(req.headers.get("sec-websocket-protocol", ""))
    if protocol is None:
        raise bad_request("Upgrade request required")
    logs.validate_status(pod, container, False)
    instance = cluster.logs.instance(pod["metadata"]["uid"], container, False)

    def session(handler) -> None:
        execws.handshake(handler, protocol)
        ws = execws.WebSocket(handler.rfile, handler.wfile)
        execws.attach_session(ws, cluster.logs, instance, time.time())

    return _response(101, session)


def portforward(cluster: "Cluster", req: "Request", target: "Target") -> "Response":
    """PortForwardREST.Connect: the pod must have a host; then the API server dials the
    node's kubelet for the stream. This cluster's node runs no streaming server, so the
    dial fails as kube-apiserver reports it (apimachinery util/proxy/upgradeaware.go)."""
    pod = _pod(cluster, target)
    if not (pod.get("spec") or {}).get("nodeName"):
        raise bad_request(f"pod {target.name} does not have a host assigned")
    if not req.headers.get("upgrade"):
        raise bad_request("Upgrade request required")
    raise unknown_error(500, f"error dialing backend: dial tcp {NODE_KUBELET}: connect: connection refused")


# -- proxy -----------------------------------------------------------------------------------
VALID_SCHEMES = ("http", "https", "")


def split_scheme_name_port(value: str) -> tuple[str, str, str]:
    """utilnet.SplitSchemeNamePort: name, name:port or scheme:name:port; ValueError if not."""
    parts = value.split(":")
    if len(parts) == 1:
        scheme, name, port = "", parts[0], ""
    elif len(parts) == 2:
        scheme, name, port = "", parts[0], parts[1]
    elif len(parts) == 3:
        scheme, name, port = parts
    else:
        raise ValueError(value)
    if not name or scheme not in VALID_SCHEMES:
        raise ValueError(value)
    return scheme, name, port


def proxy(cluster: "Cluster", req: "Request", target: "Target") -> "Response":
    from .server import Response
    kind = target.kind.plural
    pod = None
    if kind == "pods":
        pod, host, port = _pod_location(cluster, target)
    elif kind == "services":
        pod, host, port = _service_location(cluster, target)
    else:  # nodes: the kubelet, at the node's address and its port
        if cluster.store.get("/nodes", "", split_scheme_name_port(target.name)[1]) is None:
            raise not_found("nodes", target.name)
        host, port = NODE_KUBELET.split(":")
    # the backend: what listens on a pod's address here (network.pod_http: ztunnel's stats
    # server; pods run no other server processes, the node no kubelet API). Otherwise the dial
    # is refused, and the proxy transport reports it (apimachinery util/proxy/transport.go)
    if pod is not None:
        served = cluster.network.pod_http(pod, int(port) if port.isdigit() else 80, req.method,
                                          "/" + target.subpath)
        if served is not None:
            status, content_type, body = served
            return Response(status, body, content_type=content_type)
    raise service_unavailable(f"error trying to reach service: dial tcp {host}:{port or 80}: connect: "
                              "connection refused")


def _pod_location(cluster: "Cluster", target: "Target") -> tuple[dict, str, str]:
    """pod.ResourceLocation: the pod's first IP, the named port or the first container port."""
    try:
        _, name, port = split_scheme_name_port(target.name)
    except ValueError:
        raise bad_request(f'invalid pod request "{target.name}"')
    pod = _pod(cluster, target, name)
    if not port:
        for container in (pod.get("spec") or {}).get("containers") or []:
            if container.get("ports"):
                port = str(container["ports"][0].get("containerPort", ""))
                break
    ips = (pod.get("status") or {}).get("podIPs") or []
    ip = ips[0].get("ip", "") if ips else ""
    try:  # net.IP.IsGlobalUnicast
        address = ipaddress.ip_address(ip)
        if address.is_loopback or address.is_link_local or address.is_multicast or address.is_unspecified \
                or str(address) == "255.255.255.255":
            raise ValueError(ip)
    except ValueError:
        raise bad_request("address not allowed")
    return pod, ip, port


def _service_location(cluster: "Cluster", target: "Target") -> tuple[dict, str, str]:
    """Service REST ResourceLocation (pkg/registry/core/service/storage/storage.go): the port
    number names a service port; the v1 Endpoints give an address whose targetRef is a pod
    with that IP (isValidAddress)."""
    try:
        _, name, port = split_scheme_name_port(target.name)
    except ValueError:
        raise bad_request(f'invalid service request "{target.name}"')
    if re.fullmatch(r"-?\d+", port or "x"):
        svc = cluster.store.get("/services", target.namespace, name)
        if svc is None:
            raise not_found("services", name)
        named = next((p for p in (svc.get("spec") or {}).get("ports") or [] if str(p.get("port")) == str(int(port))),
                     None)
        if named is None:
            raise service_unavailable(f'no service port {int(port)} found for service "{name}"')
        port = named.get("name", "")
    eps = cluster.store.get("/endpoints", target.namespace, name)
    if eps is None:
        raise not_found("endpoints", name)
    subsets = eps.get("subsets") or []
    if not subsets:
        raise service_unavailable(f'no endpoints available for service "{name}"')
    for subset in subsets:
        for svc_port in subset.get("ports") or []:
            if (svc_port.get("name") or "") != (port or ""):
                continue
            for address in subset.get("addresses") or []:
                ref = address.get("targetRef") or {}
                if ref.get("kind") != "Pod" or ref.get("namespace") != target.namespace:
                    continue  # "Address has no target ref, skipping"
                pod = cluster.store.get("/pods", target.namespace, ref.get("name", ""))
                if pod and address.get("ip") in [i.get("ip") for i in (pod.get("status") or {}).get("podIPs") or []]:
                    return pod, address["ip"], str(svc_port.get("port", ""))
    raise service_unavailable(f'no endpoints available for service "{target.name}"')


# -- binding, eviction ---------------------------------------------------------------------------
def _typed_body(cluster: "Cluster", req: "Request", kinds: tuple[tuple[str, str], ...], what: str) -> dict:
    from .api import decode_body
    body = decode_body(req)
    if not isinstance(body, dict) or (body.get("apiVersion"), body.get("kind")) not in kinds:
        raise bad_request(f"not a {what} object: {body!r:.200}")
    return body


def binding(cluster: "Cluster", req: "Request", target: "Target") -> "Response":
    """BindingREST.Create: set spec.nodeName of a pod that has none (409 otherwise)."""
    body = _typed_body(cluster, req, (("v1", "Binding"),), "Binding")
    meta = body.get("metadata") or {}
    if meta.get("name") != target.name:
        raise bad_request("name in URL does not match name in Binding object")
    node = (body.get("target") or {}).get("name", "")
    pods = cluster.kinds.by_key("/pods")
    with cluster.store.lock:
        pod = _pod(cluster, target)
        if pod["metadata"].get("deletionTimestamp"):
            raise conflict_binding(target.name, f"pod {target.name} is being deleted, cannot be assigned to a host")
        if (pod.get("spec") or {}).get("nodeName"):
            raise conflict_binding(target.name, f'pod {target.name} is already assigned to node '
                                                f'"{pod["spec"]["nodeName"]}"')
        if "All" not in req.query.get("dryRun", []):
            old = copy.deepcopy(pod)
            pod["spec"]["nodeName"] = node
            pod["metadata"].setdefault("annotations", {}).update(meta.get("annotations") or {})
            cluster.api.system_update(pods, old, pod, "kube-scheduler")
            stored = cluster.store.put("/pods", pod, "MODIFIED")
            for hook in cluster.hooks(pods):  # the kubelet sees its new pod
                hook("MODIFIED", stored, old)
    return _response(201, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201})


def conflict_binding(name: str, why: str) -> APIError:
    """errors.NewConflict(pods/binding, name, err)."""
    return APIError(409, "Conflict", f'Operation cannot be fulfilled on pods/binding "{name}": {why}',
                    {"name": name, "kind": "pods/binding"})


def eviction(cluster: "Cluster", req: "Request", target: "Target") -> "Response":
    """EvictionREST.Create: no PodDisruptionBudget can forbid it here (none is served), so the
    pod is deleted with the eviction's delete options."""
    body = _typed_body(cluster, req, (("policy/v1", "Eviction"), ("policy/v1beta1", "Eviction")), "Eviction")
    if (body.get("metadata") or {}).get("name") != target.name:
        raise bad_request("name in URL does not match name in Eviction object")
    _pod(cluster, target)
    if "All" not in req.query.get("dryRun", []) and "All" not in ((body.get("deleteOptions") or {}).get("dryRun") or []):
        cluster.api.delete(target.kind, "v1", target.namespace, target.name, None)
    return _response(201, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201})


# -- ephemeralcontainers, finalize ---------------------------------------------------------------
def ephemeral(cluster: "Cluster", req: "Request", target: "Target") -> "Response":
    """GET answers the pod, as EphemeralContainersREST.Get does; changes are issue 10's."""
    api = cluster.api
    if req.method == "GET":
        return _response(200, api.get(target.kind, target.version, target.namespace, target.name))
    if req.method == "PUT":
        from .api import decode_body
        obj, code, more = api.update(target.kind, target.version, target.namespace, target.name,
                                     decode_body(req, target.kind), req, "ephemeralcontainers")
    else:
        obj, code, more = api.patch(target.kind, target.version, target.namespace, target.name, req,
                                    "ephemeralcontainers")
    resp = _response(code, obj)
    resp.warnings = more
    return resp


def finalize(cluster: "Cluster", req: "Request", target: "Target") -> "Response":
    """FinalizeREST.Update: only spec.finalizers of the namespace changes."""
    from .api import decode_body
    body = decode_body(req, target.kind)
    finalizers = ((body or {}).get("spec") or {}).get("finalizers")

    def build(old: dict) -> dict:
        new = copy.deepcopy(old)
        new.setdefault("spec", {})["finalizers"] = finalizers or []
        if not finalizers:
            new["spec"].pop("finalizers")
        rv = ((body or {}).get("metadata") or {}).get("resourceVersion")
        if rv:
            new["metadata"]["resourceVersion"] = rv
        return new

    obj, code, more = cluster.api.replace(target.kind, target.version, target.namespace, target.name, build,
                                          req, "finalize")
    resp = _response(code, obj)
    resp.warnings = more
    return resp


# -- scale ---------------------------------------------------------------------------------------
def scale_of(obj: dict) -> dict:
    """scaleFromDeployment / scaleFromReplicaSet (apps storage): autoscaling/v1 Scale."""
    meta = obj["metadata"]
    selector = ((obj.get("spec") or {}).get("selector") or {})
    from .selectors import selector_string
    return {"kind": "Scale", "apiVersion": "autoscaling/v1",
            "metadata": {k: meta[k] for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")
                         if k in meta},
            "spec": {"replicas": (obj.get("spec") or {}).get("replicas", 0)},
            "status": {"replicas": (obj.get("status") or {}).get("replicas", 0),
                       "selector": selector_string(selector)}}


def scale(cluster: "Cluster", req: "Request", target: "Target") -> "Response":
    """ScaleREST: GET the Scale; PUT or PATCH it, which sets the parent's spec.replicas."""
    api, kind = cluster.api, target.kind
    current = api.get(kind, target.version, target.namespace, target.name)
    if req.method == "GET":
        return _response(200, scale_of(current))
    from .api import decode_body
    from .patch import json_patch, merge_patch
    ctype = (req.headers.get("content-type") or "").split(";")[0].strip().lower()
    if req.method == "PUT":
        wanted = decode_body(req)
        if not isinstance(wanted, dict) or wanted.get("kind") != "Scale":
            raise bad_request(f"expected input object type to be Scale, but {type(wanted).__name__} was given")
    elif ctype == "application/json-patch+json":
        wanted = json_patch(scale_of(current), decode_body(req))
    else:  # merge and strategic merge patches of a Scale are the same: it has no lists
        wanted = merge_patch(scale_of(current), decode_body(req))
    replicas = ((wanted or {}).get("spec") or {}).get("replicas", 0)
    if not isinstance(replicas, int) or replicas < 0:
        raise APIError(422, "Invalid", f'Scale.autoscaling "{target.name}" is invalid: spec.replicas: Invalid '
                       f"value: {replicas}: must be greater than or equal to 0",
                       {"name": target.name, "group": "autoscaling", "kind": "Scale",
                        "causes": [{"reason": "FieldValueInvalid", "field": "spec.replicas",
                                    "message": f"Invalid value: {replicas}: must be greater than or equal to 0"}]})
    rv = ((wanted or {}).get("metadata") or {}).get("resourceVersion")
    if rv and rv != current["metadata"]["resourceVersion"]:
        raise conflict(kind.plural, target.name, kind.group)

    def build(old: dict) -> dict:
        new = copy.deepcopy(old)
        new.setdefault("spec", {})["replicas"] = replicas
        return new

    obj, code, more = api.replace(kind, target.version, target.namespace, target.name, build, req, "scale")
    resp = _response(code, scale_of(obj))
    resp.warnings = more
    return resp


def token(cluster: "Cluster", req: "Request", target: "Target") -> "Response":
    from . import tokens
    return _response(201, tokens.token_request(cluster, req, target))


HANDLERS = {"log": log, "exec": exec_, "attach": attach, "portforward": portforward, "proxy": proxy,
            "binding": binding, "eviction": eviction, "ephemeralcontainers": ephemeral,
            "finalize": finalize, "scale": scale, "token": token}
