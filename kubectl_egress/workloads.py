"""--from: the pods a probe runs in, named as kubectl names them and found as kubectl exec finds them.

kubectl exec and debug take `POD` or `TYPE/NAME` (k8s.io/cli-runtime pkg/resource/builder.go
ResourceNames: a bare name is of the default type, pods; TYPE is a resource's plural, singular
or short name, or its kind, optionally `.group` or `.version.group`, matched without regard to
case by the REST mapper). For a workload, kubectl takes the pods its selector selects
(kubectl pkg/polymorphichelpers/helpers.go SelectorsForObject: ReplicaSets, ReplicationControllers,
Deployments, StatefulSets, DaemonSets, Jobs and Services) and attaches to the first after
sorting them with `sort.Reverse(podutils.ActivePods(pods))`
(attachablepodforobject.go): the most active pod first.

The short names are the API server's (pkg/registry/*/storage: po, rc, rs, deploy, sts, ds, svc;
jobs have none).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from .errors import EgressError, UsageError
from .model import Resource
from .probe.checks import Source

if TYPE_CHECKING:  # the connection module loads only when a command talks to the cluster
    from .kube import Kube


@dataclass(frozen=True)
class Kind:
    """A kind --from accepts: where it lives, and the names kubectl knows it by."""

    resource: Resource
    singular: str
    short: tuple[str, ...] = ()

    @property
    def display(self) -> str:
        """kubectl's `deployments.apps`, `pods` (as in `deployments.apps "web" not found`)."""
        group = self.resource.group
        return f"{self.resource.plural}.{group}" if group else self.resource.plural

    @property
    def short_name(self) -> str:
        return (self.short or (self.singular,))[0]

    def names(self) -> set[str]:
        res = self.resource
        bare = {res.plural, self.singular, res.kind.lower(), *self.short}
        qualified = {f"{n}.{res.group}" for n in (res.plural, self.singular, res.kind.lower())}
        versioned = {f"{n}.{res.version}.{res.group}" for n in (res.plural, self.singular, res.kind.lower())}
        return bare | qualified | versioned if res.group else bare  # the core group has no `.group` form


POD = Kind(Resource("", "v1", "pods", "Pod"), "pod", ("po",))
KINDS = (
    POD,
    Kind(Resource("apps", "v1", "deployments", "Deployment"), "deployment", ("deploy",)),
    Kind(Resource("apps", "v1", "statefulsets", "StatefulSet"), "statefulset", ("sts",)),
    Kind(Resource("apps", "v1", "daemonsets", "DaemonSet"), "daemonset", ("ds",)),
    Kind(Resource("apps", "v1", "replicasets", "ReplicaSet"), "replicaset", ("rs",)),
    Kind(Resource("", "v1", "replicationcontrollers", "ReplicationController"), "replicationcontroller", ("rc",)),
    Kind(Resource("batch", "v1", "jobs", "Job"), "job"),
    Kind(Resource("", "v1", "services", "Service"), "service", ("svc",)),
)
FORMS = "POD, pod/NAME, deploy/NAME, sts/NAME, ds/NAME, rs/NAME, rc/NAME, job/NAME or svc/NAME"


@dataclass(frozen=True)
class Ref:
    """What --from names: a kind and a name."""

    kind: Kind
    name: str

    def __str__(self) -> str:
        return f"{self.kind.short_name}/{self.name}"


def parse(text: str) -> Ref:
    """`web-7d4b9-x2x4z`, `pod/x`, `deploy/web`, `deployments.apps/web`, `StatefulSet/db` -> Ref."""
    from .validate import DNS1123_SUBDOMAIN

    kind_text, slash, name = text.partition("/")
    if not slash:
        kind_text, name = "pods", text
    kind = next((k for k in KINDS if kind_text.lower() in k.names()), None)
    if kind is None:
        raise UsageError(f'--from "{text}": kubectl-egress probes from pods; give {FORMS}')
    if not name or "/" in name or len(name) > 253 or not DNS1123_SUBDOMAIN.match(name):
        what = f'"{text}" is' if not slash else f'"{text}": "{name}" is'
        raise UsageError(f"--from {what} not a valid {kind.singular} name; give {FORMS}")
    return Ref(kind, name)


# -- which pods -------------------------------------------------------------------------------------
def label_selector(selector: dict) -> str:
    """metav1.LabelSelectorAsSelector, printed as a labelSelector query: matchLabels as `k=v`,
    matchExpressions as `k in (a,b)`, `k notin (a,b)`, `k`, `!k`."""
    parts = [f"{k}={v}" for k, v in sorted((selector.get("matchLabels") or {}).items())]
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr.get("key", ""), expr.get("operator", ""), sorted(expr.get("values") or [])
        if op == "In":
            parts.append(f"{key} in ({','.join(values)})")
        elif op == "NotIn":
            parts.append(f"{key} notin ({','.join(values)})")
        elif op == "Exists":
            parts.append(key)
        elif op == "DoesNotExist":
            parts.append(f"!{key}")
    return ",".join(parts)


def selector_of(ref: Ref, obj: dict) -> str:
    """SelectorsForObject: a Service's and a ReplicationController's spec.selector map, the
    others' spec.selector LabelSelector."""
    spec = obj.get("spec") or {}
    if ref.kind.resource.kind in ("Service", "ReplicationController"):
        labels = spec.get("selector") or {}
        if not labels:
            what = "service" if ref.kind.resource.kind == "Service" else ref.kind.singular
            raise EgressError(f"invalid {what} '{ref.name}': {ref.kind.resource.kind} is defined without a "
                              "selector (--from)")
        return ",".join(f"{k}={v}" for k, v in sorted(labels.items()))
    selector = label_selector(spec.get("selector") or {})
    if not selector:
        raise EgressError(f"{ref} has an empty selector, which selects no pods for kubectl (--from)")
    return selector


def ready(pod: dict) -> bool:
    """podutils.IsPodReady: the Ready condition is True (and, for a probe, not being deleted)."""
    status = pod.get("status") or {}
    return not (pod.get("metadata") or {}).get("deletionTimestamp") and \
        any(c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions") or [])


def _time(text: str | None) -> float:
    if not text:
        return 0.0
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc).timestamp()


def _ready_since(pod: dict) -> float:
    for c in (pod.get("status") or {}).get("conditions") or []:
        if c.get("type") == "Ready" and c.get("status") == "True":
            return _time(c.get("lastTransitionTime"))
    return 0.0


def _restarts(pod: dict) -> tuple[int, int]:
    """maxContainerRestarts: the regular containers' highest count, then the native sidecars'."""
    status = pod.get("status") or {}
    regular = max((s.get("restartCount") or 0 for s in status.get("containerStatuses") or []), default=0)
    sidecars = {c.get("name") for c in (pod.get("spec") or {}).get("initContainers") or []
                if c.get("restartPolicy") == "Always"}
    native = max((s.get("restartCount") or 0 for s in status.get("initContainerStatuses") or []
                  if s.get("name") in sidecars), default=0)
    return regular, native


def _after_or_zero(t1: float, t2: float) -> bool:
    """afterOrZero: is t1 after t2, a zero time counting as after any other."""
    if not t1 or not t2:
        return not t1
    return t1 > t2


def _less_active(a: dict, b: dict) -> bool:
    """podutils.ActivePods Less: is a less active than b?"""
    sa, sb = a.get("spec") or {}, b.get("spec") or {}
    na, nb = sa.get("nodeName") or "", sb.get("nodeName") or ""
    if na != nb and (not na or not nb):
        return not na  # 1. unassigned < assigned
    phases = {"Pending": 0, "Unknown": 1, "Running": 2}
    pa, pb = (phases.get((p.get("status") or {}).get("phase"), 0) for p in (a, b))
    if pa != pb:
        return pa < pb  # 2. Pending < Unknown < Running
    ra, rb = ready(a), ready(b)
    if ra != rb:
        return not ra  # 3. not ready < ready
    da, db = ((p.get("metadata") or {}).get("deletionTimestamp") for p in (a, b))
    if bool(da) != bool(db):
        return bool(da)  # 4. deleting < not deleting
    if da and db and da != db:
        return _time(da) < _time(db)  # 5. older deletion < newer
    if ra and rb and _ready_since(a) != _ready_since(b):
        return _after_or_zero(_ready_since(a), _ready_since(b))  # 6. ready for less time < more time
    (ca, sca), (cb, scb) = _restarts(a), _restarts(b)
    if ca != cb:
        return ca > cb  # 7. more restarts < fewer (compareMaxContainerRestarts: regular first)
    if sca != scb:
        return sca > scb
    created = [_time((p.get("metadata") or {}).get("creationTimestamp")) for p in (a, b)]
    if created[0] != created[1]:
        return _after_or_zero(created[0], created[1])  # 8. empty < newer < older
    return False


def most_active_first(pods: list[dict]) -> list[dict]:
    """sort.Reverse(podutils.ActivePods(pods)): the order kubectl picks a workload's pod in.
    (sort.Sort is not stable in Go; equal pods keep their list order here.)"""
    from functools import cmp_to_key

    def compare(a: dict, b: dict) -> int:
        return -1 if _less_active(b, a) else 1 if _less_active(a, b) else 0

    return sorted(pods, key=cmp_to_key(compare))


def pods_of(kube: Kube, ref: Ref, namespace: str) -> list[dict]:
    """The pod --from names, or its workload's pods, most active first; the 404 as kubectl says it."""
    from .model import PODS

    if ref.kind is POD:
        pod = kube.get(PODS, ref.name, namespace)
        if pod is None:
            raise EgressError(f'pod "{ref.name}" not found in namespace "{namespace}" (--from)')
        return [pod]
    obj = kube.get(ref.kind.resource, ref.name, namespace)
    if obj is None:
        raise EgressError(f'{ref.kind.display} "{ref.name}" not found in namespace "{namespace}" (--from)')
    return most_active_first(kube.list(PODS, namespace, selector_of(ref, obj)))


def sources(kube: Kube, ref: Ref, namespace: str, container: str | None, all_pods: bool) -> list[Source]:
    """The sources --from names: its pod, or one ready pod of the workload (the one kubectl exec
    would pick), or with --all-pods every ready one, by name; each with the container to use
    (-c, else the default-container annotation, else the first that is not istio-proxy), its
    data plane and the pod as read (Source.obj)."""
    from .sources import app_container, dataplane, has_sidecar, ready as running_and_ready

    pods = pods_of(kube, ref, namespace)
    usable = [p for p in pods if running_and_ready(p)]
    if not usable:
        if ref.kind is POD:
            raise EgressError(f'pod "{namespace}/{ref.name}" is not running and ready (--from)')
        found = f"{len(pods)} pod{'s' if len(pods) != 1 else ''}, none running and ready" if pods else \
            "its selector matches no pod"
        raise EgressError(f'no ready pod of {ref} in namespace "{namespace}" ({found}) (--from)')
    chosen = sorted(usable, key=lambda p: p["metadata"]["name"]) if all_pods else usable[:1]
    out = []
    for pod in chosen:
        name = pod["metadata"]["name"]
        if container:
            from .podexec import container_names
            names = container_names(pod)
            if container not in names:
                listed = ", ".join(c.get("name", "") for c in (pod.get("spec") or {}).get("containers") or [])
                raise EgressError(f'container "{container}" is not in pod {namespace}/{name} (its containers: '
                                  f"{listed}) (-c)")
        out.append(Source(namespace, name, container or app_container(pod), has_sidecar(pod), True, dataplane(pod), pod))
    return out
