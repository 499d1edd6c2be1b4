"""Server-side printing: the cells kube-apiserver puts in a meta.k8s.io/v1 Table.

Cells follow kubernetes pkg/printers/internalversion/printers.go.
"""
from __future__ import annotations

import json
import re
import time
from datetime import datetime, timezone
from typing import Any, Callable

SECOND = 1_000_000_000  # Go's time.Duration counts nanoseconds
MINUTE, HOUR = 60 * SECOND, 3600 * SECOND


def _trunc_div(a: int, b: int) -> int:
    """Go's integer division (and float-to-int conversion) truncates toward zero."""
    q = abs(a) // abs(b)
    return q if (a < 0) == (b < 0) else -q


def human_duration(seconds: float) -> str:
    """apimachinery pkg/util/duration/duration.go `HumanDuration`, step by step on a Duration
    in nanoseconds, as kube-apiserver's table printer renders AGE."""
    d = int(seconds * SECOND)
    whole = _trunc_div(d, SECOND)  # int(d.Seconds())
    if whole < -1:  # up to 2 s of clock skew reads as "now"
        return "<invalid>"
    if whole < 0:
        return "0s"
    if whole < 60 * 2:
        return "%ds" % whole
    minutes = d // MINUTE
    if minutes < 10:
        s = (d // SECOND) % 60
        return "%dm" % minutes if s == 0 else "%dm%ds" % (minutes, s)
    if minutes < 60 * 3:
        return "%dm" % minutes
    hours = d // HOUR
    if hours < 8:
        m = minutes % 60
        return "%dh" % hours if m == 0 else "%dh%dm" % (hours, m)
    if hours < 48:
        return "%dh" % hours
    if hours < 24 * 8:
        h = hours % 24
        return "%dd" % (hours // 24) if h == 0 else "%dd%dh" % (hours // 24, h)
    if hours < 24 * 365 * 2:
        return "%dd" % (hours // 24)
    if hours < 24 * 365 * 8:
        dy = (hours // 24) % 365
        return "%dy" % (hours // 24 // 365) if dy == 0 else "%dy%dd" % (hours // 24 // 365, dy)
    return "%dy" % (hours // 24 // 365)


def parse_time(stamp: str) -> float | None:
    try:
        return datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc).timestamp()
    except (TypeError, ValueError):
        return None


def age(obj: dict, now: float) -> str:
    created = parse_time(obj["metadata"].get("creationTimestamp", ""))
    return "<unknown>" if created is None else human_duration(now - created)


def version_priority(name: str) -> tuple[int, int, int]:
    """Kube-aware ordering: GA > beta > alpha, then by number (apimachinery version.CompareKubeAwareVersionStrings)."""
    match = re.match(r"^v(\d+)(?:(alpha|beta)(\d+))?$", name)
    if not match:
        return (0, 0, 0)
    stage = {"alpha": 1, "beta": 2, None: 3}[match.group(2)]
    return (stage, int(match.group(1)), int(match.group(3) or 0))


def _col(name: str, type_: str, description: str, cell: Callable[[dict, float], Any],
         priority: int = 0, fmt: str = ""):
    from .kinds import Column  # local import: kinds imports this module
    return Column(name, type_, description, cell, priority, fmt)


def _name_col():
    return _col("Name", "string", "Name must be unique within a namespace. Is required when "
                "creating resources, although some resources may allow a client to request the "
                "generation of an appropriate name automatically. Name is primarily intended for "
                "creation idempotence and configuration definition. Cannot be updated. More info: "
                "https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names",
                lambda o, now: o["metadata"]["name"], fmt="name")


def _age_col():
    return _col("Age", "string", "CreationTimestamp is a timestamp representing the server time "
                "when this object was created. It is not guaranteed to be set in happens-before "
                "order across separate operations. Clients may not set this value. It is "
                "represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. "
                "Null for lists. More info: https://git.k8s.io/community/contributors/devel/"
                "sig-architecture/api-conventions.md#metadata", age)


def format_labels(labels: dict | None) -> str:
    if not labels:
        return "<none>"
    return ",".join(f"{k}={v}" for k, v in sorted(labels.items()))


# -- services ----------------------------------------------------------------
def service_external_ip(svc: dict) -> str:
    spec = svc.get("spec", {})
    kind = spec.get("type", "ClusterIP")
    external = spec.get("externalIPs") or []
    if kind in ("ClusterIP", "NodePort"):
        return ",".join(external) if external else "<none>"
    if kind == "LoadBalancer":
        ingress = [i.get("ip") or i.get("hostname") for i in
                   (svc.get("status", {}).get("loadBalancer", {}).get("ingress") or [])]
        found = [i for i in ingress if i] + list(external)
        return ",".join(found) if found else "<pending>"
    if kind == "ExternalName":
        return spec.get("externalName", "")
    return "<unknown>"


def service_ports(svc: dict) -> str:
    parts = []
    for port in svc.get("spec", {}).get("ports") or []:
        proto = port.get("protocol", "TCP")
        if port.get("nodePort"):
            parts.append(f"{port['port']}:{port['nodePort']}/{proto}")
        else:
            parts.append(f"{port['port']}/{proto}")
    return ",".join(parts) if parts else "<none>"


def _cluster_ip(svc: dict) -> str:
    ips = svc.get("spec", {}).get("clusterIPs") or []
    return ips[0] if ips else "<none>"


SERVICE_COLUMNS = (
    _name_col(),
    _col("Type", "string", "type determines how the Service is exposed.",
         lambda o, now: o.get("spec", {}).get("type", "")),
    _col("Cluster-IP", "string", "clusterIP is the IP address of the service and is usually "
         "assigned randomly.", lambda o, now: _cluster_ip(o)),
    _col("External-IP", "string", "externalIPs is a list of IP addresses for which nodes in the "
         "cluster will also accept traffic for this service.", lambda o, now: service_external_ip(o)),
    _col("Port(s)", "string", "The list of ports that are exposed by this service.",
         lambda o, now: service_ports(o)),
    _age_col(),
    _col("Selector", "string", "Route service traffic to pods with label keys and values "
         "matching this selector.", lambda o, now: format_labels(o.get("spec", {}).get("selector")),
         priority=1),
)


# -- endpoints ---------------------------------------------------------------
def format_endpoints(ep: dict, max_shown: int = 3) -> str:
    """`formatEndpoints`: port-major `ip:port` pairs, three at most, then `+ N more...`."""
    subsets = ep.get("subsets") or []
    if not subsets:
        return "<none>"
    shown: list[str] = []
    count = 0
    more = False
    for subset in subsets:
        addresses = subset.get("addresses") or []
        ports = subset.get("ports") or []
        if not ports:
            count += len(addresses)
            for address in addresses:
                if len(shown) == max_shown:
                    more = True
                    break
                shown.append(address["ip"])
            continue
        for port in ports:
            count += len(addresses)
            for address in addresses:
                if len(shown) == max_shown:
                    more = True
                    break
                ip = address["ip"]
                shown.append(f"[{ip}]:{port['port']}" if ":" in ip else f"{ip}:{port['port']}")
    text = ",".join(shown)
    return f"{text} + {count - max_shown} more..." if more else text


ENDPOINTS_COLUMNS = (
    _name_col(),
    _col("Endpoints", "string", "Endpoints of the service.", lambda o, now: format_endpoints(o)),
    _age_col(),
)


def _more(items: list[str], count: int, max_shown: int = 3) -> str:
    """`listWithMoreString`."""
    text = ",".join(items[:max_shown])
    if count > max_shown:
        return f"{text} + {count - max_shown} more..."
    return text or "<unset>"


def _slice_ports(es: dict) -> str:
    ports = [str(p["port"]) if p.get("port") is not None else (p.get("name") or "*")
             for p in es.get("ports") or []]
    return _more(ports, len(ports))


def _slice_endpoints(es: dict) -> str:
    addresses = [a for e in es.get("endpoints") or [] for a in e.get("addresses") or []]
    return _more(addresses, len(addresses))


ENDPOINTSLICE_COLUMNS = (
    _name_col(),
    _col("AddressType", "string", "The IP protocol for this slice",
         lambda o, now: o.get("addressType", "")),
    _col("Ports", "string", "The ports for this slice", lambda o, now: _slice_ports(o)),
    _col("Endpoints", "string", "The endpoints for this slice", lambda o, now: _slice_endpoints(o)),
    _age_col(),
)


# -- pods --------------------------------------------------------------------
def _restartable_init(c: dict) -> bool:
    return c.get("restartPolicy") == "Always"


def pod_ready(pod: dict) -> str:
    spec = pod.get("spec", {})
    sidecars = [c for c in spec.get("initContainers") or [] if _restartable_init(c)]
    total = len(spec.get("containers") or []) + len(sidecars)
    statuses = (pod.get("status", {}).get("containerStatuses") or [])
    init_statuses = {s["name"]: s for s in pod.get("status", {}).get("initContainerStatuses") or []}
    ready = sum(1 for s in statuses if s.get("ready"))
    ready += sum(1 for c in sidecars if init_statuses.get(c["name"], {}).get("ready"))
    return f"{ready}/{total}"


def pod_status(pod: dict) -> str:
    if pod["metadata"].get("deletionTimestamp"):
        return "Terminating"
    status = pod.get("status", {})
    reason = status.get("reason") or status.get("phase", "")
    for s in status.get("containerStatuses") or []:
        waiting = s.get("state", {}).get("waiting")
        if waiting and waiting.get("reason"):
            reason = waiting["reason"]
    return reason


def pod_restarts(pod: dict) -> str:
    return str(sum(s.get("restartCount", 0) for s in pod.get("status", {}).get("containerStatuses") or []))


POD_COLUMNS = (
    _name_col(),
    _col("Ready", "string", "The aggregate readiness state of this pod for accepting traffic.",
         lambda o, now: pod_ready(o)),
    _col("Status", "string", "The aggregate status of the containers in this pod.",
         lambda o, now: pod_status(o)),
    _col("Restarts", "string", "The number of times the containers in this pod have been "
         "restarted and when the last container in this pod has restarted.",
         lambda o, now: pod_restarts(o)),
    _age_col(),
    _col("IP", "string", "The IP address assigned to the pod",
         lambda o, now: o.get("status", {}).get("podIP") or "<none>", priority=1),
    _col("Node", "string", "The name of the node assigned to the pod",
         lambda o, now: o.get("spec", {}).get("nodeName") or "<none>", priority=1),
    _col("Nominated Node", "string", "The name of the node nominated by the scheduler",
         lambda o, now: o.get("status", {}).get("nominatedNodeName") or "<none>", priority=1),
    _col("Readiness Gates", "string", "The readiness gates associated with the pod",
         lambda o, now: "<none>", priority=1),
)


# -- deployments -------------------------------------------------------------
def _containers(obj: dict, attr: str) -> str:
    cs = obj.get("spec", {}).get("template", {}).get("spec", {}).get("containers") or []
    return ",".join(c.get(attr, "") for c in cs)


DEPLOYMENT_COLUMNS = (
    _name_col(),
    _col("Ready", "string", "Number of the pod with ready state",
         lambda o, now: f"{o.get('status', {}).get('readyReplicas', 0)}/{o.get('spec', {}).get('replicas', 1)}"),
    _col("Up-to-date", "string", "Total number of non-terminated pods targeted by this "
         "deployment that have the desired template spec.",
         lambda o, now: o.get("status", {}).get("updatedReplicas", 0)),
    _col("Available", "string", "Total number of available pods (ready for at least "
         "minReadySeconds) targeted by this deployment.",
         lambda o, now: o.get("status", {}).get("availableReplicas", 0)),
    _age_col(),
    _col("Containers", "string", "Names of each container in the template.",
         lambda o, now: _containers(o, "name"), priority=1),
    _col("Images", "string", "Images referenced by each container in the template.",
         lambda o, now: _containers(o, "image"), priority=1),
    _col("Selector", "string", "Label selector for pods. Existing ReplicaSets whose pods are "
         "selected by this will be the ones affected by this deployment.",
         lambda o, now: format_labels(o.get("spec", {}).get("selector", {}).get("matchLabels")),
         priority=1),
)


# kubernetes pkg/printers/internalversion/printers.go daemonSetColumnDefinitions, printDaemonSet
DAEMONSET_COLUMNS = (
    _name_col(),
    _col("Desired", "integer", "The desired number of nodes that should be running the daemon pod.",
         lambda o, now: o.get("status", {}).get("desiredNumberScheduled", 0)),
    _col("Current", "integer", "The number of nodes that are running at least 1 daemon pod and are "
         "supposed to run the daemon pod.", lambda o, now: o.get("status", {}).get("currentNumberScheduled", 0)),
    _col("Ready", "integer", "The number of nodes that should be running the daemon pod and have one or more "
         "of the daemon pod running and ready.", lambda o, now: o.get("status", {}).get("numberReady", 0)),
    _col("Up-to-date", "integer", "The total number of nodes that are running updated daemon pod",
         lambda o, now: o.get("status", {}).get("updatedNumberScheduled", 0)),
    _col("Available", "integer", "The number of nodes that should be running the daemon pod and have one or "
         "more of the daemon pod running and available (ready for at least spec.minReadySeconds)",
         lambda o, now: o.get("status", {}).get("numberAvailable", 0)),
    _col("Node Selector", "string", "NodeSelector is a selector which must be true for the pod to fit on a "
         "node. Selector which must match a node's labels for the pod to be scheduled on that node.",
         lambda o, now: format_labels(o.get("spec", {}).get("template", {}).get("spec", {}).get("nodeSelector"))),
    _age_col(),
    _col("Containers", "string", "Names of each container in the template.",
         lambda o, now: _containers(o, "name"), priority=1),
    _col("Images", "string", "Images referenced by each container in the template.",
         lambda o, now: _containers(o, "image"), priority=1),
    _col("Selector", "string", "A label query over pods that are managed by the daemon set.",
         lambda o, now: format_labels(o.get("spec", {}).get("selector", {}).get("matchLabels")), priority=1),
)


NODE_COLUMNS = (
    _name_col(),
    _col("Status", "string", "The status of the node", lambda o, now: "Ready"),
    _col("Roles", "string", "The roles of the node", lambda o, now: "control-plane"),
    _age_col(),
    _col("Version", "string", "Kubelet Version reported by the node.",
         lambda o, now: o.get("status", {}).get("nodeInfo", {}).get("kubeletVersion", "")),
)


# -- custom resources --------------------------------------------------------
def json_path_cell(path: str, type_: str) -> Callable[[dict, float], Any]:
    """A cell from a CRD additionalPrinterColumn's JSONPath: fields, `[N]`, `[*]` and filters
    `[?(@.type=="Programmed")]`; of several results the first, as apiextensions-apiserver's
    tableconvertor takes `results[0][0]`."""
    parts = [p for p in re.split(r"\.(?![^\[]*\])", path.strip().lstrip(".")) if p]

    def step(values: list, part: str) -> list:
        match = re.match(r"""^([^\[]+)(?:\[(\d+|\*|\?\(@\.([\w.-]+)\s*==\s*["']([^"']*)["']\))\])?$""", part)
        if not match:
            return []
        out: list = []
        for value in values:
            found = value.get(match.group(1)) if isinstance(value, dict) else None
            selector = match.group(2)
            if found is None:
                continue
            if selector is None:
                out.append(found)
            elif not isinstance(found, list):
                continue
            elif selector == "*":
                out.extend(found)
            elif match.group(3):
                out.extend(e for e in found if isinstance(e, dict) and str(e.get(match.group(3))) == match.group(4))
            elif int(selector) < len(found):
                out.append(found[int(selector)])
        return out

    def cell(obj: dict, now: float) -> Any:
        values: list = [obj]
        for part in parts:
            values = step(values, part)
        value = values[0] if values else None
        if value is None:
            return None
        if type_ == "date":
            # the server already turns dates into ages (ConvertToHumanReadableDateType)
            when = parse_time(value) if isinstance(value, str) else None
            return "<invalid>" if when is None else human_duration(now - when)
        if type_ == "string":
            return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
        return value

    return cell


def table(kind, objects: list[dict], include_object: str, api_version_of: Callable[[dict], dict],
          list_meta: dict) -> dict:
    """A meta.k8s.io/v1 Table for objects of one kind."""
    now = time.time()
    columns = [{"name": c.name, "type": c.type, "format": c.format, "description": c.description,
                "priority": c.priority} for c in kind.columns]
    rows = []
    for obj in objects:
        row: dict = {"cells": [c.cell(obj, now) for c in kind.columns]}
        if include_object == "Object":
            row["object"] = obj
        elif include_object != "None":
            row["object"] = {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                             "metadata": obj["metadata"]}
        rows.append(row)
    return {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": list_meta,
            "columnDefinitions": columns, "rows": rows}
