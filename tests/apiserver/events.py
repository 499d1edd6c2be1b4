"""Events, as the control plane's components write them, and their table columns.

Two writers, as in a real cluster:

- the legacy recorder of client-go (tools/record: makeEvent, and the
  EventCorrelator that counts repeats), which the kubelet and the
  kube-controller-manager's controllers use: a core/v1 Event named
  `<object>.<hex unix nanoseconds>`, `source` {component, host},
  firstTimestamp/lastTimestamp/count, reportingComponent/Instance copied from
  the source;
- the events.k8s.io/v1 recorder of the scheduler (tools/events), which in the
  core/v1 view has `eventTime`, `action`, `reportingComponent`
  default-scheduler and reportingInstance default-scheduler-NODE, no source
  and no first/last timestamps.

What is recorded (reasons and messages from kubernetes pkg/kubelet/events
and the components that emit them):
- default-scheduler: Scheduled `Successfully assigned NS/POD to NODE`;
- deployment-controller: ScalingReplicaSet `Scaled up replica set RS from 0 to N`
  (pkg/controller/deployment/sync.go);
- replicaset-controller: SuccessfulCreate `Created pod: POD`, SuccessfulDelete
  `Deleted pod: POD` (pkg/controller/replicaset/replica_set.go);
- kubelet, per container (init containers first): Pulled `Container image "IMG"
  already present on machine` (IfNotPresent/Never), or Pulling/Pulled `Successfully
  pulled image ...` (Always); Created `Created container: NAME`; Started
  `Started container NAME`; and Killing `Stopping container NAME` when the pod
  goes (pkg/kubelet/images/image_manager.go, kuberuntime_container.go).
"""
from __future__ import annotations

import time
from typing import TYPE_CHECKING

from .tables import human_duration, parse_time

if TYPE_CHECKING:  # pragma: no cover
    from .cluster import Cluster

NODE = "local-control-plane"
EVENTS = "/events"


def _rfc3339(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def _micro(ts: float) -> str:
    """metav1.MicroTime: RFC3339 with microseconds."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts)) + f".{int((ts % 1) * 1e6):06d}Z"


def reference(obj: dict, field_path: str = "") -> dict:
    """reference.GetReference: the involvedObject of an event about obj."""
    meta = obj["metadata"]
    ref = {"kind": obj.get("kind", ""), "namespace": meta.get("namespace", ""), "name": meta["name"],
           "uid": meta.get("uid", ""), "apiVersion": obj.get("apiVersion", ""),
           "resourceVersion": meta.get("resourceVersion", "")}
    if not ref["namespace"]:
        del ref["namespace"]
    if field_path:
        ref["fieldPath"] = field_path
    return ref


def record(cluster: "Cluster", obj: dict, reason: str, message: str, component: str, host: str = "",
           type_: str = "Normal", field_path: str = "") -> None:
    """The legacy recorder (client-go tools/record events_cache.go): the EventAggregator turns
    the tenth distinct message of similar events (same object, type, reason, source) into one
    "(combined from similar events): ..." event; the EventLogger counts repeats of one event."""
    now = time.time()
    ref = reference(obj, field_path)
    namespace = ref.get("namespace") or "default"
    kind = cluster.kinds.by_key(EVENTS)
    cache = cluster.__dict__.setdefault("_event_cache", {"similar": {}, "names": {}})
    similar = (ref["uid"], field_path, type_, reason, component, host)
    seen = cache["similar"].setdefault(similar, set())
    seen.add(message)
    if len(seen) >= 10:  # maxEvents of the aggregator
        seen.discard(message)
        key, message = similar, f"(combined from similar events): {message}"
    else:
        key = (*similar, message)
    with cluster.store.lock:
        name = cache["names"].get(key)
        event = cluster.store.get(EVENTS, namespace, name) if name else None
        if event is not None:
            event = dict(event, count=event.get("count", 1) + 1, lastTimestamp=_rfc3339(now), message=message)
            _write(cluster, kind, namespace, event, update=True)
            return
        name = f"{ref['name']}.{int(now * 1e9):x}"
        cache["names"][key] = name
    event = {"apiVersion": "v1", "kind": "Event",
             "metadata": {"name": name, "namespace": namespace},
             "involvedObject": ref, "reason": reason, "message": message,
             "source": {"component": component, **({"host": host} if host else {})},
             "firstTimestamp": _rfc3339(now), "lastTimestamp": _rfc3339(now), "count": 1, "type": type_,
             "eventTime": None, "reportingComponent": component, "reportingInstance": host}
    _write(cluster, kind, namespace, event)


def record_scheduled(cluster: "Cluster", pod: dict, node: str = NODE) -> None:
    """The scheduler's events.k8s.io/v1 event for a bound pod (pkg/scheduler/schedule_one.go)."""
    now = time.time()
    meta = pod["metadata"]
    event = {"apiVersion": "v1", "kind": "Event",
             "metadata": {"name": f"{meta['name']}.{int(now * 1e9):x}", "namespace": meta["namespace"]},
             "involvedObject": reference(pod), "reason": "Scheduled",
             "message": f"Successfully assigned {meta['namespace']}/{meta['name']} to {node}",
             "source": {}, "firstTimestamp": None, "lastTimestamp": None, "type": "Normal",
             "eventTime": _micro(now), "action": "Binding", "reportingComponent": "default-scheduler",
             "reportingInstance": f"default-scheduler-{node}"}
    _write(cluster, cluster.kinds.by_key(EVENTS), meta["namespace"], event)


def _write(cluster: "Cluster", kind, namespace: str, event: dict, update: bool = False) -> None:
    from .errors import APIError
    try:
        if update:
            cluster.api.update(kind, "v1", namespace, event["metadata"]["name"], event, None)
        else:
            cluster.api.create_object(kind, event, manager=event.get("reportingComponent") or "kube-apiserver")
    except APIError:
        pass  # a terminating namespace refuses new events, as it refuses the real recorder's


def pulled(cluster: "Cluster", pod: dict, container: dict, field_path: str) -> None:
    """The image manager's events for a container about to start (EnsureImageExists): every
    image is on this node already, so IfNotPresent and Never find it; Always pulls anyway."""
    image = container.get("image", "")
    policy = container.get("imagePullPolicy") or "IfNotPresent"
    if policy != "Always":
        record(cluster, pod, "Pulled", f'Container image "{image}" already present on machine', "kubelet", NODE,
               field_path=field_path)
        return
    record(cluster, pod, "Pulling", f'Pulling image "{image}"', "kubelet", NODE, field_path=field_path)
    started = time.monotonic()
    took = f"{max(1, int((time.monotonic() - started) * 1000))}ms"
    record(cluster, pod, "Pulled", f'Successfully pulled image "{image}" in {took} ({took} including waiting). '
           f"Image size: {image_size(image)} bytes.", "kubelet", NODE, field_path=field_path)


def image_size(image: str) -> int:
    """The size this node's image store reports for an image (the runtime's ImageStatus): a
    stable number per image name, since the emulated node keeps no image layers."""
    import hashlib
    return 10_000_000 + int(hashlib.sha256(image.encode()).hexdigest()[:6], 16)


# -- kubectl get events: the server's columns (pkg/printers/internalversion/printers.go) ---------
def _since(stamp: str | None, now: float) -> str:
    ts = parse_time(stamp or "") if stamp else None
    if ts is None and stamp:  # a MicroTime
        ts = parse_time(stamp.split(".")[0] + "Z")
    return "<unknown>" if ts is None else human_duration(now - ts)


def _first_seen(event: dict, now: float) -> str:
    return _since(event.get("firstTimestamp") or event.get("eventTime"), now)


def _last_seen(event: dict, now: float) -> str:
    series = event.get("series") or {}
    if series.get("lastObservedTime"):
        return _since(series["lastObservedTime"], now)
    if event.get("lastTimestamp"):
        return _since(event["lastTimestamp"], now)
    return _first_seen(event, now)


def _object(event: dict, now: float) -> str:
    ref = event.get("involvedObject") or {}
    kind = (ref.get("kind") or "").lower()
    return f"{kind}/{ref['name']}" if ref.get("name") else kind


def _source(event: dict, now: float) -> str:
    """formatEventSource: component (or reporting controller), then host (or instance)."""
    source = event.get("source") or {}
    component = source.get("component") or event.get("reportingComponent") or ""
    instance = source.get("host") or event.get("reportingInstance") or ""
    return f"{component}, {instance}" if instance else component


def _count(event: dict, now: float) -> int:
    series = event.get("series") or {}
    return int(series.get("count") or event.get("count") or 1)


def columns():
    from .kinds import Column
    return (
        Column("Last Seen", "string", "The time at which the most recent occurrence of this event was recorded.",
               _last_seen),
        Column("Type", "string", "Type of this event (Normal, Warning), new types could be added in the future",
               lambda e, now: e.get("type", "")),
        Column("Reason", "string", "This should be a short, machine understandable string that gives the "
               "reason for the transition into the object's current status.", lambda e, now: e.get("reason", "")),
        Column("Object", "string", "The object that this event is about.", _object),
        Column("Subobject", "string", "If referring to a piece of an object instead of an entire object, this "
               "string should contain a valid JSON/Go field access statement, such as "
               "desiredState.manifest.containers[2].",
               lambda e, now: (e.get("involvedObject") or {}).get("fieldPath", ""), priority=1),
        Column("Source", "string", "The component reporting this event. Should be a short machine understandable "
               "string.", _source, priority=1),
        Column("Message", "string", "A human-readable description of the status of this operation.",
               lambda e, now: (e.get("message") or "").strip()),
        Column("First Seen", "string", "The time at which the event was first recorded. (Time of server receipt "
               "is in TypeMeta.)", _first_seen, priority=1),
        Column("Count", "string", "The number of times this event has occurred.", _count, priority=1),
        Column("Name", "string", "Name must be unique within a namespace.",
               lambda e, now: e["metadata"]["name"], priority=1, format="name"),
    )
