"""Which data plane a namespace asks for and a pod has, and the revision behind it (pure).

Namespaces (istio pkg/config/analysis/analyzers/util/in_mesh.go NamespaceInAmbientMode, and the
injection webhooks' namespace selectors in istio-discovery templates/mutatingwebhook.yaml):
`istio-injection=enabled` asks the default revision for sidecars; otherwise `istio.io/rev=REV`
asks revision (or revision tag) REV; any other `istio-injection` value turns injection off;
`istio.io/dataplane-mode=ambient` enrolls the namespace in ambient where no injection applies.

Pods: a sidecar is `istio-proxy` as a container, or as a native sidecar (an init container with
restartPolicy Always, Istio's default from 1.27: releasenotes native-sidecar-default.yaml);
ambient is the CNI's annotation `ambient.istio.io/redirection: enabled`
(in_mesh.go PodInAmbientMode). An injected pod carries its injector's revision in the label
`istio.io/rev` (the injection template) and in the `sidecar.istio.io/status` annotation.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass

from .istiod import DEFAULT_REVISION, REV_LABEL

INJECTION = "istio-injection"
DATAPLANE_MODE = "istio.io/dataplane-mode"
REDIRECTION = "ambient.istio.io/redirection"
SIDECAR_STATUS = "sidecar.istio.io/status"
WORKLOAD_NAME = "service.istio.io/workload-name"
PROXY = "istio-proxy"
SIDECAR, AMBIENT, NONE = "sidecar", "ambient", "none"


@dataclass(frozen=True)
class NamespaceMode:
    """What a namespace asks of Istio."""

    name: str
    dataplane: str = NONE  # sidecar, ambient or none
    revision: str = ""  # the revision (or tag) asked for, for sidecars
    label: str = ""  # the label that decides, e.g. "istio-injection=enabled"
    exists: bool = True


def namespace_mode(namespace: dict | None, name: str = "") -> NamespaceMode:
    if namespace is None:
        return NamespaceMode(name, exists=False)
    name = (namespace.get("metadata") or {}).get("name", name)
    labels = (namespace.get("metadata") or {}).get("labels") or {}
    injection = labels.get(INJECTION)
    rev = labels.get(REV_LABEL)
    if injection == "enabled":
        return NamespaceMode(name, SIDECAR, DEFAULT_REVISION, f"{INJECTION}=enabled")
    if injection is None and rev:
        return NamespaceMode(name, SIDECAR, rev, f"{REV_LABEL}={rev}")
    if not rev and labels.get(DATAPLANE_MODE) == "ambient":
        return NamespaceMode(name, AMBIENT, "", f"{DATAPLANE_MODE}=ambient")
    label = f"{INJECTION}={injection}" if injection is not None else ""
    return NamespaceMode(name, NONE, "", label)


@dataclass(frozen=True)
class PodMode:
    """The data plane a pod has."""

    dataplane: str = NONE
    native: bool = False  # istio-proxy as a native sidecar (an init container)
    revision: str = ""  # the revision that injected it


def has_sidecar(pod: dict) -> tuple[bool, bool]:
    """(has istio-proxy, as a native sidecar)."""
    spec = pod.get("spec") or {}
    if any(c.get("name") == PROXY for c in spec.get("containers") or []):
        return True, False
    native = any(c.get("name") == PROXY and c.get("restartPolicy") == "Always"
                 for c in spec.get("initContainers") or [])
    return native, native


def pod_mode(pod: dict) -> PodMode:
    meta = pod.get("metadata") or {}
    sidecar, native = has_sidecar(pod)
    if sidecar:
        rev = (meta.get("labels") or {}).get(REV_LABEL)
        if not rev:
            try:
                rev = json.loads((meta.get("annotations") or {}).get(SIDECAR_STATUS) or "{}").get("revision")
            except (ValueError, AttributeError):
                rev = None
        return PodMode(SIDECAR, native, rev or DEFAULT_REVISION)
    if (meta.get("annotations") or {}).get(REDIRECTION) == "enabled":
        return PodMode(AMBIENT)
    return PodMode(NONE)


_CRONJOB = re.compile(r"^(.+)-\d{8,10}$")


def controller(pod: dict) -> tuple[str, str]:
    """(kind, name) of the workload that runs a pod (pkg/kube/util.go GetDeployMetaFromPod's
    heuristics over the controller reference)."""
    meta = pod.get("metadata") or {}
    labels = meta.get("labels") or {}
    kind, name = "Pod", meta.get("name", "")
    if meta.get("generateName"):
        ref = next((r for r in meta.get("ownerReferences") or [] if r.get("controller")), None)
        if ref is not None:
            kind, name = ref.get("kind", ""), ref.get("name", "")
            template = labels.get("pod-template-hash", "")
            rollout = labels.get("rollouts-pod-template-hash", "")
            if kind == "ReplicaSet" and template and name.endswith(template):
                kind, name = "Deployment", name[:-len(template) - 1]
            elif kind == "ReplicaSet" and rollout and name.endswith(rollout):
                kind, name = "Rollout", name[:-len(rollout) - 1]
            elif kind == "ReplicationController" and labels.get("deploymentconfig"):
                kind, name = "DeploymentConfig", labels["deploymentconfig"]
            elif kind == "Job" and _CRONJOB.match(name):
                kind, name = "CronJob", _CRONJOB.match(name).group(1)  # type: ignore[union-attr]
    return kind, name or meta.get("name", "")


def workload_name(pod: dict) -> str:
    """The workload name Istio's telemetry (ztunnel's source_workload) gives a pod
    (GetWorkloadMetaFromPod: the service.istio.io/workload-name label wins)."""
    labels = (pod.get("metadata") or {}).get("labels") or {}
    return labels.get(WORKLOAD_NAME) or controller(pod)[1]


def restart_command(pod: dict) -> str:
    """The kubectl command that replaces a pod, so that it is injected (or enrolled) anew."""
    meta = pod.get("metadata") or {}
    ns = meta.get("namespace", "default")
    kind, name = controller(pod)
    if kind in ("Deployment", "StatefulSet", "DaemonSet"):
        return f"kubectl rollout restart {kind.lower()}/{name} -n {ns}"
    return f"kubectl delete pod {meta.get('name', '')} -n {ns}"
