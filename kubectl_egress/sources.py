"""The pods the probe curls from: found by the seed's labels, or made with --deploy-sources.

As in the seed's "before you begin": a pod of the curl (formerly sleep)
sample with an Istio sidecar in the target namespace, and one without a
sidecar in namespace `without-istio`. A sidecar counts when `istio-proxy` is
a container or a native sidecar (an init container with restartPolicy Always).
"""
from __future__ import annotations

import time
from typing import TYPE_CHECKING

from . import manifests
from .errors import EgressError, ServerError
from .model import DEPLOYMENTS, NAMESPACES, PODS, SERVICE_ACCOUNTS
from .printers import Printer
from .probe.checks import Source

if TYPE_CHECKING:  # the connection module loads only when a command talks to the cluster
    from .kube import Kube


SOURCE_SELECTORS = ("app=curl", "app=sleep")
WITHOUT_ISTIO = "without-istio"
READY_TIMEOUT = 180.0


def has_sidecar(pod: dict) -> bool:
    spec = pod.get("spec") or {}
    if any(c.get("name") == "istio-proxy" for c in spec.get("containers") or []):
        return True
    return any(c.get("name") == "istio-proxy" and c.get("restartPolicy") == "Always"
               for c in spec.get("initContainers") or [])


def app_container(pod: dict) -> str:
    """The container to exec into: the default-container annotation, else the first that is not istio-proxy."""
    notes = (pod.get("metadata") or {}).get("annotations") or {}
    names = [c["name"] for c in (pod.get("spec") or {}).get("containers") or []]
    default = notes.get("kubectl.kubernetes.io/default-container")
    if default in names:
        return default
    return next((n for n in names if n != "istio-proxy"), names[0] if names else "")


def ready(pod: dict) -> bool:
    status = pod.get("status") or {}
    return status.get("phase") == "Running" and not pod.get("metadata", {}).get("deletionTimestamp") and \
        any(c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions") or [])


def candidates(kube: Kube, namespace: str) -> list[dict]:
    pods: list[dict] = []
    for selector in SOURCE_SELECTORS:
        pods.extend(kube.list(PODS, namespace, selector))
    return sorted((p for p in pods if ready(p)), key=lambda p: p["metadata"]["name"])


def dataplane(pod: dict) -> str:
    """sidecar, ambient (captured by ztunnel) or none."""
    from .mesh.dataplane import pod_mode

    return pod_mode(pod).dataplane


def find(kube: Kube, namespace: str, mesh: bool, ambient: bool = False) -> Source:
    """The first ready pod of the sample with (mesh) or without a sidecar, the pod as read in
    Source.obj; ambient: the mesh source is a pod ztunnel captures (its namespace is in ambient
    mode). --from's pods: workloads.py."""
    found = pick(candidates(kube, namespace), namespace, mesh, ambient)
    if found is not None:
        return found
    what = {"sidecar": "with an Istio sidecar", "ambient": "in ambient mode (captured by ztunnel)",
            "none": "without a sidecar"}[wanted_dataplane(mesh, ambient)]
    other = "name one with --from POD" if mesh else "pick another namespace with --source-namespace"
    raise EgressError(f'no ready source pod {what} in namespace "{namespace}" (label app=curl or '
                      f"app=sleep): add --deploy-sources to create one, or {other}")


def wanted_dataplane(mesh: bool, ambient: bool) -> str:
    """What a source must have: the mesh source a sidecar (ambient's ztunnel in an ambient
    namespace), the other none."""
    return ("ambient" if ambient else "sidecar") if mesh else "none"


def pick(pods: list[dict], namespace: str, mesh: bool, ambient: bool = False) -> Source | None:
    """The first ready pod of the sample in namespace, in the mesh (mesh) or not (pure)."""
    want = wanted_dataplane(mesh, ambient)
    for pod in sorted(pods, key=lambda p: p["metadata"]["name"]):
        if pod["metadata"].get("namespace") == namespace and ready(pod) and dataplane(pod) == want:
            return Source(namespace, pod["metadata"]["name"], app_container(pod), want == "sidecar", mesh, want, pod)
    return None


def pick_deployed(pods: list[dict], namespace: str) -> Source | None:
    """The mesh source --deploy-sources made in namespace, sidecar or not: in a namespace outside
    the mesh it has none, and its rows say so (pure)."""
    for pod in sorted(pods, key=lambda p: p["metadata"]["name"]):
        labels = pod["metadata"].get("labels") or {}
        if pod["metadata"].get("namespace") == namespace and ready(pod) and \
                labels.get(manifests.SOURCE_ROLE) == "probe-source" and "sidecar.istio.io/inject" not in labels:
            return Source(namespace, pod["metadata"]["name"], app_container(pod), has_sidecar(pod), True,
                          dataplane(pod), pod)
    return None


def every_candidate(kube: Kube) -> list[dict]:
    """The sample pods of every namespace: one list across the cluster, with a set-based selector
    for both samples, so that a probe of a hundred namespaces reads pods once."""
    selector = f"app in ({','.join(sel.split('=', 1)[1] for sel in SOURCE_SELECTORS)})"
    return kube.list(PODS, None, selector)


# waiting reasons after which the kubelet will not start a container without a change (kubelet
# images/types.go ErrImagePullBackOff, ErrInvalidImageName, ErrImageNeverPull; kuberuntime
# CreateContainerConfigError, CreateContainerError, RunContainerError)
HOPELESS = ("ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull", "CreateContainerConfigError",
            "CreateContainerError", "RunContainerError")


def deploy(kube: Kube, printer: Printer, wanted: list[tuple[str, bool]], image: str = manifests.PROBE_IMAGE,
           everywhere: bool = False, have: list[dict] | None = None, existing: frozenset[str] = frozenset()) -> None:
    """Create the curl sample where a source is missing, then wait until its pods are ready.

    wanted: (namespace, in the mesh: with a sidecar, or captured by ambient's ztunnel). Everything made
    carries the managed-by label, so that `kubectl egress clean` removes it. everywhere: the
    namespaces are many, read the sources' pods and Deployments across the cluster, once a round,
    not a namespace at a time. have: the sample pods already read (every_candidate); existing:
    namespaces known to be there (the services'), not asked about again. A namespace that refuses
    the pods (Pod Security admission, a quota: the ReplicaSet's FailedCreate) or whose pods cannot
    start (an image that cannot be pulled) is one line with the cluster's own words, not a silent wait.
    """
    waiting = []
    for namespace, sidecar in wanted:
        present = have if have is not None else candidates(kube, namespace)
        if any(p["metadata"].get("namespace") == namespace and ready(p) and (dataplane(p) != "none") == sidecar
               for p in present):
            continue
        if namespace not in existing:
            exists = kube.namespace_exists(namespace)
            if exists is False:
                kube.create(NAMESPACES, manifests.source_namespace(namespace))
                printer.note(f"namespace/{namespace} created")
        for obj in manifests.source_objects(namespace, sidecar, image):
            res = SERVICE_ACCOUNTS if obj["kind"] == "ServiceAccount" else DEPLOYMENTS
            try:
                kube.create(res, obj)
            except ServerError as err:
                if err.code != 409:  # already there (made by an earlier run): use it
                    raise
                continue
            printer.note(f"{res.display}/{obj['metadata']['name']} created in namespace {namespace}")
        waiting.append(namespace)
    if waiting:
        wait_ready(kube, printer, waiting, everywhere)


def wait_ready(kube: Kube, printer: Printer, namespaces: list[str], everywhere: bool) -> None:
    """Until every namespace has a ready source pod of ours; a refusal or a pod that cannot start
    ends the wait at once with why."""
    shown = ", ".join(f"{ns}/{manifests.SOURCE_NAME}" for ns in namespaces[:3])
    more = f" and {len(namespaces) - 3} more" if len(namespaces) > 3 else ""
    printer.note(f"waiting for the source pods to be ready: {shown}{more}")
    selector = f"{manifests.SOURCE_ROLE}=probe-source"
    deadline = time.monotonic() + READY_TIMEOUT
    pause = 0.1
    left = list(namespaces)
    while True:
        scope: list[str | None] = [None] if everywhere else list(dict.fromkeys(left))
        pods = [p for ns in scope for p in kube.list(PODS, ns, selector)]
        done = {p["metadata"].get("namespace") for p in pods if ready(p)}
        left = [ns for ns in left if ns not in done]
        if not left:
            return
        deployments = [d for ns in scope for d in kube.list(DEPLOYMENTS, ns, selector)]
        refused = refusal(deployments, pods, left)
        if refused:
            raise EgressError(refused)
        if time.monotonic() > deadline:
            raise EgressError("the source pods did not become ready within "
                              f"{READY_TIMEOUT:g}s: " + ", ".join(f"{ns}/{manifests.SOURCE_NAME}" for ns in left)
                              + " (kubectl get pods -n NS -l app=curl)")
        time.sleep(pause)
        pause = min(pause * 1.5, 1.0)


def refusal(deployments: list[dict], pods: list[dict], waiting: list[str]) -> str:
    """Why the sources of these namespaces will not come up, in the cluster's words ('' while they
    may): the Deployment's ReplicaFailure condition, which the deployment controller copies from its
    ReplicaSet's (FailedCreate: kubernetes pkg/controller/deployment/progress.go, replicaset
    calculateStatus), e.g. Pod Security admission's `violates PodSecurity "restricted:latest": ...`;
    or a pod whose container waits for a reason the kubelet will not get past alone (pure)."""
    stuck = set(waiting)
    found: list[tuple[str, str]] = []
    for deploy in deployments:
        ns = deploy["metadata"].get("namespace", "")
        if ns not in stuck:
            continue
        for cond in (deploy.get("status") or {}).get("conditions") or []:
            if cond.get("type") == "ReplicaFailure" and cond.get("status") == "True":
                found.append((ns, f"the source pods cannot be created in namespace {ns}: "
                                  f"{cond.get('message') or cond.get('reason', 'FailedCreate')}"))
    for pod in pods:
        ns = pod["metadata"].get("namespace", "")
        if ns not in stuck:
            continue
        for status in (pod.get("status") or {}).get("containerStatuses") or []:
            waiting_state = (status.get("state") or {}).get("waiting") or {}
            if waiting_state.get("reason") in HOPELESS:
                found.append((ns, f"the source pod {ns}/{pod['metadata']['name']} cannot start its container "
                                  f"{status.get('name')}: {waiting_state['reason']}: "
                                  f"{waiting_state.get('message', '')}".rstrip(": ")
                                  + ("; for a mirrored registry give --image" if "Image" in waiting_state["reason"]
                                     else "")))
    if not found:
        return ""
    found.sort()
    others = len({ns for ns, _ in found}) - 1
    return found[0][1] + (f" (and in {others} more namespace{'s' if others != 1 else ''})" if others else "")
