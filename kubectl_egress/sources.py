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
from .errors import EgressError
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


def find(kube: Kube, namespace: str, mesh: bool, pod_name: str | None = None, ambient: bool = False) -> Source:
    """The source pod: named, or the first ready one of the sample with (mesh) or without a sidecar;
    ambient: the mesh source is a pod ztunnel captures (its namespace is in ambient mode)."""
    if pod_name:
        pod = kube.get(PODS, pod_name, namespace)
        if pod is None:
            raise EgressError(f'pod "{pod_name}" not found in namespace "{namespace}" (--from)')
        if not ready(pod):
            raise EgressError(f'pod "{namespace}/{pod_name}" is not running and ready (--from)')
        return Source(namespace, pod_name, app_container(pod), has_sidecar(pod), mesh, dataplane(pod), pod)
    want = ("ambient" if ambient else "sidecar") if mesh else "none"
    for pod in candidates(kube, namespace):
        if dataplane(pod) == want:
            return Source(namespace, pod["metadata"]["name"], app_container(pod), want == "sidecar", mesh, want, pod)
    what = {"sidecar": "with an Istio sidecar", "ambient": "in ambient mode (captured by ztunnel)",
            "none": "without a sidecar"}[want]
    other = "name one with --from POD" if mesh else "pick another namespace with --source-namespace"
    raise EgressError(f'no ready source pod {what} in namespace "{namespace}" (label app=curl or '
                      f"app=sleep): add --deploy-sources to create one, or {other}")


def deploy(kube: Kube, printer: Printer, wanted: list[tuple[str, bool]]) -> None:
    """Create the curl sample where a source is missing, then wait until its pods are ready.

    wanted: (namespace, in the mesh: with a sidecar, or captured by ambient's ztunnel). Everything made
    carries the managed-by label, so that `kubectl egress clean` removes it.
    """
    waiting = []
    for namespace, sidecar in wanted:
        exists = kube.namespace_exists(namespace)
        if exists and any((dataplane(p) != "none") == sidecar for p in candidates(kube, namespace)):
            continue
        if exists is False:
            kube.create(NAMESPACES, manifests.source_namespace(namespace))
            printer.note(f"namespace/{namespace} created")
        for obj in manifests.source_objects(namespace, sidecar):
            res = SERVICE_ACCOUNTS if obj["kind"] == "ServiceAccount" else DEPLOYMENTS
            if kube.get(res, obj["metadata"]["name"], namespace) is None:
                kube.create(res, obj)
                printer.note(f"{res.display}/{obj['metadata']['name']} created in namespace {namespace}")
        waiting.append((namespace, sidecar))
    if not waiting:
        return
    printer.note("waiting for the source pods to be ready: " +
                 ", ".join(f"{ns}/{manifests.SOURCE_NAME}" for ns, _ in waiting))
    deadline = time.monotonic() + READY_TIMEOUT
    while waiting:
        waiting = [(ns, sidecar) for ns, sidecar in waiting
                   if not any(ready(p) for p in kube.list(PODS, ns, f"{manifests.SOURCE_ROLE}=probe-source"))]
        if not waiting:
            return
        if time.monotonic() > deadline:
            raise EgressError("the source pods did not become ready within "
                              f"{READY_TIMEOUT:g}s: " + ", ".join(f"{ns}/{manifests.SOURCE_NAME}" for ns, _ in waiting)
                              + " (kubectl get pods -n NS -l app=curl)")
        time.sleep(0.2)
