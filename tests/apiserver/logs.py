"""Container logs: what each container's processes wrote, and `pods/log` reading it.

The store keeps, per pod and container, one log per container instance (a
restart starts a new one, as the container runtime writes a new file), each a
list of lines with the time the runtime received them and their stream. It is
written by whoever plays a container's process: the emulated sidecar's access
log (accesslog.py) for istio-proxy, the kubelet for what a container's command
prints. Reading follows the kubelet: `validate_status` is
`validateContainerLogStatus` (pkg/kubelet/kubelet_pods.go), `read` is
`ReadLogs` (pkg/kubelet/kuberuntime/logs/logs.go): tail the last N lines, drop
lines older than `since`, prefix RFC3339NanoFixed timestamps, cut at
`limitBytes`, and when following, wait for new lines until the container stops.

Interface for writers (the sidecar, ztunnel, a container process):

    cluster.logs.write(pod_uid, container, b"one line\\n", stream="stdout")

Lines are split on newlines; a last line without one is held until more comes
or the instance ends (`end`), as the runtime's log writer does.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Iterator

from .errors import APIError, Cause, bad_request, invalid


@dataclass
class Line:
    ts: float
    stream: str
    data: bytes  # with its newline, unless the instance ended without one


@dataclass
class Instance:
    """The log of one container instance (one log file of the runtime)."""

    lines: list[Line] = field(default_factory=list)
    partial: dict[str, tuple[float, bytes]] = field(default_factory=dict)  # per stream: no newline yet
    running: bool = True


class LogStore:
    def __init__(self) -> None:
        self._logs: dict[tuple[str, str], list[Instance]] = {}
        self.changed = threading.Condition()

    def start(self, uid: str, container: str) -> None:
        """A container instance started: its output goes to a new log."""
        with self.changed:
            instances = self._logs.setdefault((uid, container), [])
            if instances:
                self._end(instances[-1])
            instances.append(Instance())
            self.changed.notify_all()

    def write(self, uid: str, container: str, data: bytes, stream: str = "stdout",
              ts: float | None = None) -> None:
        """Output of the container's current instance (started on first write)."""
        with self.changed:
            instances = self._logs.setdefault((uid, container), [])
            if not instances or not instances[-1].running:
                instances.append(Instance())
            current = instances[-1]
            now = time.time() if ts is None else ts
            first, held = current.partial.pop(stream, (now, b""))
            *whole, rest = (held + data).split(b"\n")
            for i, chunk in enumerate(whole):  # a held start keeps the time it came
                current.lines.append(Line(first if i == 0 else now, stream, chunk + b"\n"))
            if rest:
                current.partial[stream] = (first if not whole else now, rest)
            self.changed.notify_all()

    @staticmethod
    def _end(instance: Instance) -> None:
        for stream, (ts, rest) in instance.partial.items():
            instance.lines.append(Line(ts, stream, rest))
        instance.partial.clear()
        instance.running = False

    def end(self, uid: str, container: str) -> None:
        """The container instance stopped: followers of its log finish."""
        with self.changed:
            instances = self._logs.get((uid, container)) or []
            if instances and instances[-1].running:
                self._end(instances[-1])
            self.changed.notify_all()

    def drop(self, uid: str) -> None:
        """The pod is gone, and its logs with it."""
        with self.changed:
            for key in [k for k in self._logs if k[0] == uid]:
                for instance in self._logs.pop(key):
                    instance.running = False
            self.changed.notify_all()

    def instance(self, uid: str, container: str, previous: bool) -> Instance:
        with self.changed:
            instances = self._logs.get((uid, container)) or []
            if previous:
                return instances[-2] if len(instances) > 1 else Instance(running=False)
            return instances[-1] if instances else Instance(running=False)

    def read(self, instance: Instance, options: "LogOptions") -> Iterator[bytes]:
        """ReadLogs: the lines the options select, then (follow) new ones until the
        instance stops; while waiting it yields b"" now and then, so the server can
        notice a reader that went away."""
        with self.changed:
            lines = list(instance.lines)
        start = max(0, len(lines) - options.tail) if options.tail >= 0 else 0
        remain = options.limit_bytes if options.limit_bytes >= 0 else -1
        position = start
        limited = options.tail >= 0 and not options.follow
        while True:
            for line in lines[position:]:
                position += 1
                if line.ts < options.since:
                    continue
                data = line.data
                if options.timestamps:
                    data = rfc3339_nano_fixed(line.ts).encode() + b" " + data
                if remain >= 0:
                    data = data[:remain]
                    remain -= len(data)
                yield data
                if remain == 0:
                    return
            if limited or not options.follow:
                return
            with self.changed:
                if len(instance.lines) == position and instance.running:
                    self.changed.wait(timeout=1.0)  # logForceCheckPeriod
                lines = list(instance.lines)
                done = not instance.running
            if done and len(lines) == position:
                return
            if len(lines) == position:
                yield b""  # nothing new: lets the server notice a reader that went away


def rfc3339_nano_fixed(ts: float) -> str:
    """types.RFC3339NanoFixed: 2006-01-02T15:04:05.000000000Z07:00, in UTC."""
    seconds = int(ts)
    nanos = int(round((ts - seconds) * 1e9))
    if nanos >= 1_000_000_000:
        seconds, nanos = seconds + 1, nanos - 1_000_000_000
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{nanos:09d}Z"


@dataclass(frozen=True)
class LogOptions:
    """The kubelet's LogOptions made from PodLogOptions (NewLogOptions)."""

    container: str = ""
    follow: bool = False
    previous: bool = False
    timestamps: bool = False
    tail: int = -1
    limit_bytes: int = -1
    since: float = 0.0


def _bool(value: str, name: str) -> bool:
    """strconv.ParseBool, as the query parameter codec converts booleans."""
    if value in ("1", "t", "T", "TRUE", "true", "True"):
        return True
    if value in ("0", "f", "F", "FALSE", "false", "False", ""):
        return False
    raise bad_request(f'strconv.ParseBool: parsing "{value}": invalid syntax')


def _int(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise bad_request(f'strconv.ParseInt: parsing "{value}": invalid syntax')


def parse_options(query: dict[str, list[str]], name: str, now: float) -> LogOptions:
    """PodLogOptions from the query, validated as ValidatePodLogOptions does
    (pkg/apis/core/validation/validation.go) before LogREST.Get asks the kubelet."""
    def param(key: str) -> str | None:
        values = query.get(key)
        return values[-1] if values else None

    tail, limit, since_s, since_t = param("tailLines"), param("limitBytes"), param("sinceSeconds"), param("sinceTime")
    tail_n = _int(tail) if tail is not None else None
    limit_n = _int(limit) if limit is not None else None
    since_n = _int(since_s) if since_s is not None else None
    causes = []
    if tail_n is not None and tail_n < 0:
        causes.append(Cause("FieldValueInvalid", f"Invalid value: {tail_n}: must be greater than or equal to 0",
                            "tailLines"))
    if limit_n is not None and limit_n < 1:
        causes.append(Cause("FieldValueInvalid", f"Invalid value: {limit_n}: must be greater than 0", "limitBytes"))
    if since_n is not None and since_t is not None:  # field.Forbidden(field.NewPath(""), ...): an empty path
        causes.append(Cause("FieldValueForbidden",
                            "Forbidden: at most one of `sinceTime` or `sinceSeconds` may be specified", " "))
    elif since_n is not None and since_n < 1:
        causes.append(Cause("FieldValueInvalid", f"Invalid value: {since_n}: must be greater than 0", "sinceSeconds"))
    if causes:
        raise invalid("PodLogOptions", name, causes)
    since = 0.0
    if since_n is not None:
        since = now - since_n
    elif since_t is not None:
        since = _parse_time(since_t)
    return LogOptions(container=param("container") or "", follow=_bool(param("follow") or "", "follow"),
                      previous=_bool(param("previous") or "", "previous"),
                      timestamps=_bool(param("timestamps") or "", "timestamps"),
                      tail=-1 if tail_n is None else tail_n, limit_bytes=-1 if limit_n is None else limit_n,
                      since=since)


def _parse_time(value: str) -> float:
    import calendar
    try:
        return float(calendar.timegm(time.strptime(value, "%Y-%m-%dT%H:%M:%SZ")))
    except ValueError:
        raise bad_request(f'parsing time "{value}" as "2006-01-02T15:04:05Z07:00": cannot parse "{value}" '
                          'as "2006"')


def validate_container(pod: dict, container: str) -> str:
    """validateContainer (pkg/registry/core/pod/strategy.go): the named container, or the only one;
    several and none named lists every container, init and ephemeral ones included."""
    spec = pod.get("spec") or {}
    name = pod["metadata"]["name"]
    every = [c.get("name", "") for group in ("initContainers", "containers", "ephemeralContainers")
             for c in spec.get(group) or []]
    if not container:
        containers = spec.get("containers") or []
        if len(containers) == 1:
            return containers[0].get("name", "")
        if not containers:
            raise bad_request(f"a container name must be specified for pod {name}")
        raise bad_request(f"a container name must be specified for pod {name}, choose one of: "
                          f"[{' '.join(every)}]")
    if container not in every:
        raise bad_request(f"container {container} is not valid for pod {name}")
    return container


def validate_status(pod: dict, container: str, previous: bool) -> None:
    """validateContainerLogStatus: the kubelet's refusals, which the API server passes on as
    400 BadRequest with the kubelet's text (GenericHttpResponseChecker)."""
    name = pod["metadata"]["name"]
    status = pod.get("status") or {}
    found = None
    for group in ("containerStatuses", "initContainerStatuses", "ephemeralContainerStatuses"):
        found = next((s for s in status.get(group) or [] if s.get("name") == container), None)
        if found is not None:
            break
    if found is None:
        raise bad_request(f'container "{container}" in pod "{name}" is not available')
    last = (found.get("lastState") or {}).get("terminated")
    state = found.get("state") or {}
    if previous:
        if not last or not last.get("containerID"):
            raise bad_request(f'previous terminated container "{container}" in pod "{name}" not found')
        return
    if state.get("running") is not None:
        return
    if state.get("terminated") is not None:
        if not state["terminated"].get("containerID") and not (last and last.get("containerID")):
            raise bad_request(f'container "{container}" in pod "{name}" is terminated')
        return
    if last is not None:
        if not last.get("containerID"):
            raise bad_request(f'container "{container}" in pod "{name}" is terminated')
        return
    if state.get("waiting") is not None:
        reason = state["waiting"].get("reason", "")
        if reason == "ErrImagePull":
            raise bad_request(f'container "{container}" in pod "{name}" is waiting to start: image can\'t be pulled')
        if reason == "ImagePullBackOff":
            raise bad_request(f'container "{container}" in pod "{name}" is waiting to start: trying and '
                              'failing to pull image')
        raise bad_request(f'container "{container}" in pod "{name}" is waiting to start: {reason}')
    raise bad_request(f'container "{container}" in pod "{name}" is waiting to start - no logs yet')


def pod_log(cluster, req, namespace: str, name: str):
    """GET pods/NAME/log (pkg/registry/core/pod/rest/log.go LogREST.Get): options, the pod and
    container, the kubelet's checks, then the log as text/plain (streamed when following)."""
    from .server import Response
    options = parse_options(req.query, name, time.time())
    pod = cluster.store.get("/pods", namespace, name)
    if pod is None:
        raise APIError(404, "NotFound", f'pods "{name}" not found', {"name": name, "kind": "pods"})
    container = validate_container(pod, options.container)
    if not (pod.get("spec") or {}).get("nodeName"):
        return Response(200, b"", content_type="text/plain")  # no host yet: an empty location
    validate_status(pod, container, options.previous)
    instance = cluster.logs.instance(pod["metadata"]["uid"], container, options.previous)
    chunks = cluster.logs.read(instance, options)
    if options.follow:
        return Response(200, chunks, content_type="text/plain")
    return Response(200, b"".join(chunks), content_type="text/plain")
