"""The controllers a real cluster runs, reduced to what kubectl-egress meets.

- Deployments: a ReplicaSet per pod template, pods for its replicas, status.
- DaemonSets: one pod per node (istio's ztunnel and istio-cni-node), status.
- Kubelet: pods go from Pending to Running and Ready shortly after creation,
  get a pod IP, and (see `network.py`) a network of their own.
- Garbage collection of ReplicaSets and pods when their owner goes.

Writes carry the field managers a real cluster shows: kube-controller-manager for
the ReplicaSets and pods it creates and the Deployment's status (subresource
status), kubelet for pod status.
"""
from __future__ import annotations

import copy
import hashlib
import ipaddress
import itertools
import json
import threading
import time
from typing import TYPE_CHECKING

from . import events, images
from .api import NAME_CHARS, now_rfc3339
from .ephemeral import container_id, run_as_non_root_error
from .errors import APIError

if TYPE_CHECKING:  # pragma: no cover
    from .cluster import Cluster

DEPLOYMENTS, REPLICASETS, PODS = "apps/deployments", "apps/replicasets", "/pods"
DAEMONSETS = "apps/daemonsets"
CONTROLLER_MANAGER, KUBELET = "kube-controller-manager", "kubelet"
# the event sources (each controller's recorder component)
DEPLOYMENT_CONTROLLER, REPLICASET_CONTROLLER = "deployment-controller", "replicaset-controller"


def template_hash(template: dict) -> str:
    digest = hashlib.sha256(json.dumps(template, sort_keys=True).encode()).digest()
    return "".join(NAME_CHARS[b % len(NAME_CHARS)] for b in digest[:10])


def _owner(obj: dict, kind: str, api_version: str) -> dict:
    return {"apiVersion": api_version, "kind": kind, "name": obj["metadata"]["name"],
            "uid": obj["metadata"]["uid"], "controller": True, "blockOwnerDeletion": True}


def _owned_by(obj: dict, owner: dict) -> bool:
    return any(ref.get("uid") == owner["metadata"]["uid"]
               for ref in obj["metadata"].get("ownerReferences") or [])


class Deployments:
    """Deployment -> ReplicaSet -> Pods, and the Deployment's status."""

    watches = (DEPLOYMENTS, PODS)

    def __init__(self, cluster: "Cluster") -> None:
        self.cluster = cluster
        self._ips = itertools.count(10)
        self._lock = threading.RLock()
        self._failures: dict[tuple[str, str], int] = {}  # ReplicaSet -> failed syncs in a row
        self._pending: set[tuple[str, str]] = set()  # ReplicaSets with a retry scheduled

    def changed(self, event: str, obj: dict, old: dict | None) -> None:
        if obj.get("kind") == "Pod" or obj.get("apiVersion") == "v1":
            if event == "ADDED" or (event == "MODIFIED" and (obj.get("spec") or {}).get("nodeName")
                                    and not ((old or {}).get("spec") or {}).get("nodeName")):
                self._schedule(obj)  # a new pod, or one just bound by another scheduler
            elif event == "DELETED":
                self.cluster.pod_stopped(obj)
                self._replace_pod(obj)
            self._resync_owner_of(obj)
            return
        if event == "DELETED":
            self._collect(obj)
            return
        self.sync(obj)

    # -- deployments ---------------------------------------------------------
    def sync(self, deploy: dict) -> None:
        cluster = self.cluster
        store = cluster.store
        with store.lock:
            ns = deploy["metadata"]["namespace"]
            template = deploy["spec"].get("template", {})
            rs_name = f"{deploy['metadata']['name']}-{template_hash(template)}"
            replicas = deploy["spec"].get("replicas", 1)
            rs_kind = cluster.kinds.by_key(REPLICASETS)
            pod_kind = cluster.kinds.by_key(PODS)
            for rs in store.items(REPLICASETS, ns):
                if _owned_by(rs, deploy) and rs["metadata"]["name"] != rs_name:
                    self._delete_tree(rs)
            rs = store.get(REPLICASETS, ns, rs_name)
            if rs is None:
                labels = dict(template.get("metadata", {}).get("labels") or {})
                labels["pod-template-hash"] = rs_name.rsplit("-", 1)[1]
                rs = cluster.api.create_object(rs_kind, {
                    "apiVersion": "apps/v1", "kind": "ReplicaSet",
                    "metadata": {"name": rs_name, "namespace": ns, "labels": labels,
                                 "ownerReferences": [_owner(deploy, "Deployment", "apps/v1")]},
                    "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                             "template": {**copy.deepcopy(template),
                                          "metadata": {**template.get("metadata", {}), "labels": labels}}}},
                    manager=CONTROLLER_MANAGER)
                events.record(cluster, deploy, "ScalingReplicaSet",
                              f"Scaled up replica set {rs_name} from 0 to {replicas}", DEPLOYMENT_CONTROLLER)
            elif rs["spec"].get("replicas") != replicas:  # scaled: the ReplicaSet follows
                before, old_rs = rs["spec"].get("replicas", 0), copy.deepcopy(rs)
                rs["spec"]["replicas"] = replicas
                cluster.api.system_update(rs_kind, old_rs, rs, CONTROLLER_MANAGER)
                rs = store.put(REPLICASETS, rs, "MODIFIED")
                events.record(cluster, deploy, "ScalingReplicaSet", f"Scaled {'up' if replicas > before else 'down'} "
                              f"replica set {rs_name} from {before} to {replicas}", DEPLOYMENT_CONTROLLER)
            pods = [p for p in store.items(PODS, ns) if _owned_by(p, rs)]
            failure = None
            for _ in range(replicas - len(pods)):
                pod_template = rs["spec"]["template"]
                try:
                    pod = cluster.api.create_object(pod_kind, {
                        "apiVersion": "v1", "kind": "Pod",
                        "metadata": {"generateName": f"{rs_name}-", "namespace": ns,
                                     "labels": dict(pod_template["metadata"].get("labels") or {}),
                                     "annotations": dict(pod_template["metadata"].get("annotations") or {}),
                                     "ownerReferences": [_owner(rs, "ReplicaSet", "apps/v1")]},
                        "spec": copy.deepcopy(pod_template.get("spec", {}))}, manager=CONTROLLER_MANAGER)
                except APIError as err:  # admission refused it (Pod Security): FailedCreate, retry later
                    failure = err.message
                    events.record(cluster, rs, "FailedCreate", f"Error creating: {failure}", REPLICASET_CONTROLLER,
                                  type_="Warning")
                    break
                events.record(cluster, rs, "SuccessfulCreate", f"Created pod: {pod['metadata']['name']}",
                              REPLICASET_CONTROLLER)
            self._replica_failure(rs, failure)
            for pod in pods[replicas:]:
                self._delete_tree(pod)
                events.record(cluster, rs, "SuccessfulDelete", f"Deleted pod: {pod['metadata']['name']}",
                              REPLICASET_CONTROLLER)
            self._status(deploy["metadata"]["namespace"], deploy["metadata"]["name"])

    def _status(self, ns: str, name: str) -> None:
        store = self.cluster.store
        with store.lock:
            deploy = store.get(DEPLOYMENTS, ns, name)
            if deploy is None:
                return
            pods = [p for rs in store.items(REPLICASETS, ns) if _owned_by(rs, deploy)
                    for p in store.items(PODS, ns) if _owned_by(p, rs)]
            ready = sum(1 for p in pods if _ready(p))
            replicas = deploy["spec"].get("replicas", 1)
            status = {"observedGeneration": deploy["metadata"].get("generation", 1),
                      "replicas": len(pods), "updatedReplicas": len(pods),
                      "readyReplicas": ready, "availableReplicas": ready,
                      "conditions": [{"type": "Available",
                                      "status": "True" if ready >= replicas else "False",
                                      "reason": "MinimumReplicasAvailable" if ready >= replicas
                                      else "MinimumReplicasUnavailable"}]}
            failed = [c for rs in store.items(REPLICASETS, ns) if _owned_by(rs, deploy)
                      for c in (rs.get("status") or {}).get("conditions") or [] if c.get("type") == "ReplicaFailure"]
            if failed:  # deployment progress.go: the ReplicaSets' failure condition moves up
                status["conditions"].append({**failed[0], "lastUpdateTime": failed[0].get("lastTransitionTime")})
            if ready < len(pods):
                status["unavailableReplicas"] = len(pods) - ready
            if not ready:
                del status["readyReplicas"], status["availableReplicas"]
            if deploy.get("status") != status:
                old = copy.deepcopy(deploy)
                deploy["status"] = status
                self.cluster.api.system_update(self.cluster.kinds.by_key(DEPLOYMENTS), old, deploy,
                                               CONTROLLER_MANAGER, "status")
                store.put(DEPLOYMENTS, deploy, "MODIFIED")

    # -- failures: the ReplicaSet's ReplicaFailure condition, events, retries ------------------
    def _replica_failure(self, rs: dict, message: str | None) -> None:
        """replica_set.go calculateStatus: ReplicaFailure (FailedCreate) while pods cannot be made;
        the sync is retried with the workqueue's backoff (5ms doubling, at most 1000s)."""
        store = self.cluster.store
        key = (rs["metadata"]["namespace"], rs["metadata"]["name"])
        current = store.get(REPLICASETS, *key)
        if current is None:
            return
        conditions = [c for c in (current.get("status") or {}).get("conditions") or []
                      if c.get("type") != "ReplicaFailure"]
        had = len(conditions) != len((current.get("status") or {}).get("conditions") or [])
        if message is None:
            self._failures.pop(key, None)
            if not had:
                return
        else:
            if had:
                conditions = (current.get("status") or {}).get("conditions")
            else:
                conditions.append({"type": "ReplicaFailure", "status": "True", "lastTransitionTime": now_rfc3339(),
                                   "reason": "FailedCreate", "message": message})
            count = self._failures[key] = self._failures.get(key, 0) + 1
            owner = next((r["name"] for r in rs["metadata"].get("ownerReferences") or []
                          if r.get("kind") == "Deployment"), None)
            if owner is not None and key not in self._pending:
                self._pending.add(key)
                timer = threading.Timer(min(0.005 * 2 ** count, 1000.0), self._retry, args=(key, owner))
                timer.daemon = True
                timer.start()
            if had:
                return
        old = copy.deepcopy(current)
        current.setdefault("status", {})["conditions"] = conditions
        if not conditions:
            del current["status"]["conditions"]
        self.cluster.api.system_update(self.cluster.kinds.by_key(REPLICASETS), old, current, CONTROLLER_MANAGER,
                                       "status")
        store.put(REPLICASETS, current, "MODIFIED")

    def _retry(self, key: tuple[str, str], name: str) -> None:
        self._pending.discard(key)
        deploy = self.cluster.store.get(DEPLOYMENTS, key[0], name)
        if deploy is not None and not self.cluster.closed:
            self.sync(deploy)

    def _resync_owner_of(self, pod: dict) -> None:
        store = self.cluster.store
        ns = pod["metadata"].get("namespace", "")
        for ref in pod["metadata"].get("ownerReferences") or []:
            rs = store.get(REPLICASETS, ns, ref["name"])
            if rs is None:
                continue
            for dref in rs["metadata"].get("ownerReferences") or []:
                self._status(ns, dref["name"])

    def _replace_pod(self, pod: dict) -> None:
        """The ReplicaSet controller replaces a pod that was deleted (or evicted) while its
        ReplicaSet still wants it (pkg/controller/replicaset/replica_set.go manageReplicas)."""
        from .errors import APIError
        store = self.cluster.store
        ns = pod["metadata"].get("namespace", "")
        for ref in pod["metadata"].get("ownerReferences") or []:
            rs = store.get(REPLICASETS, ns, ref.get("name", ""))
            for dref in (rs or {}).get("metadata", {}).get("ownerReferences") or []:
                deploy = store.get(DEPLOYMENTS, ns, dref.get("name", ""))
                if deploy is not None:
                    try:
                        self.sync(deploy)
                    except APIError:
                        pass  # a terminating namespace takes no new pods

    # -- garbage collection --------------------------------------------------
    def _collect(self, owner: dict) -> None:
        store = self.cluster.store
        ns = owner["metadata"].get("namespace", "")
        for resource in (REPLICASETS, PODS):
            for obj in store.items(resource, ns):
                if _owned_by(obj, owner):
                    self._delete_tree(obj)

    def _delete_tree(self, obj: dict) -> None:
        store = self.cluster.store
        resource = REPLICASETS if obj.get("kind") == "ReplicaSet" else PODS
        gone = store.delete(resource, obj["metadata"]["namespace"], obj["metadata"]["name"])
        if gone is None:
            return
        if resource == PODS:
            self.cluster.pod_stopped(gone)
        self._collect(gone)

    # -- kubelet -------------------------------------------------------------
    def _schedule(self, pod: dict) -> None:
        timer = threading.Timer(0.05, self._start_pod, args=(pod["metadata"]["namespace"],
                                                             pod["metadata"]["name"]))
        timer.daemon = True
        timer.start()

    def _start_pod(self, ns: str, name: str) -> None:
        store = self.cluster.store
        with store.lock:
            pod = store.get(PODS, ns, name)
            if pod is None or pod.get("status", {}).get("phase") == "Running":
                return
            spec = pod.get("spec", {})
            if not spec.get("nodeName") and spec.get("schedulerName", "default-scheduler") != "default-scheduler":
                return  # another scheduler's pod: it stays Pending until something binds it
            scheduled = not spec.get("nodeName")
            ip = str(ipaddress.ip_address("10.244.0.0") + next(self._ips))
        started = self.cluster.pod_started(pod, ip)  # the pod's network, outside the lock
        with store.lock:
            pod = store.get(PODS, ns, name)
            if pod is None:
                return
            old = copy.deepcopy(pod)
            now = now_rfc3339()
            spec = pod.get("spec", {})

            def status(c: dict) -> dict:
                # kuberuntime verifyRunAsNonRoot: the image's user, before the container exists
                refused = run_as_non_root_error(pod, c, images.lookup(c.get("image", "")))
                if refused or not started:
                    state = {"waiting": {"reason": "CreateContainerConfigError", "message": refused}
                             if refused else {"reason": "ContainerCreating"}}
                    return {"name": c["name"], "image": c.get("image", ""), "imageID": "", "ready": False,
                            "restartCount": 0, "started": False, "state": state}
                ref = images.parse(c.get("image", ""))
                return {"name": c["name"], "image": str(ref), "imageID": ref.image_id,
                        "containerID": container_id(), "ready": True, "restartCount": 0, "started": True,
                        "state": {"running": {"startedAt": now}}}

            def completed(c: dict) -> dict:
                ref = images.parse(c.get("image", ""))
                return {"name": c["name"], "image": str(ref), "imageID": ref.image_id, "containerID": container_id(),
                        "ready": False, "restartCount": 0, "started": False,
                        "state": {"terminated": {"exitCode": 0, "reason": "Completed", "startedAt": now,
                                                 "finishedAt": now}}}

            statuses = [status(c) for c in spec.get("containers") or []]
            # every init container has a status: a restartable one (a native sidecar) runs beside
            # the app, the others have run to completion (kubelet's convertToAPIContainerStatuses)
            init = [status(c) if c.get("restartPolicy") == "Always" else completed(c)
                    for c in spec.get("initContainers") or []]
            sandbox = started  # the pod's sandbox runs, whatever its containers do
            # kubelet getPhase: a container still waiting keeps the pod Pending
            started = started and all("running" in s["state"] or "terminated" in s["state"]
                                      for s in statuses + init)
            cond = "True" if started else "False"
            pod["status"] = {"phase": "Running" if started else "Pending",
                             "conditions": [{"type": t, "status": "True" if t in ("PodScheduled", "Initialized") else cond,
                                             "lastTransitionTime": now}
                                            for t in ("Initialized", "Ready", "ContainersReady", "PodScheduled")],
                             "hostIP": "172.18.0.2", "podIP": ip, "podIPs": [{"ip": ip}],
                             "startTime": now, "qosClass": "BestEffort", "containerStatuses": statuses}
            if init:
                pod["status"]["initContainerStatuses"] = init
            pod["spec"]["nodeName"] = pod["spec"].get("nodeName") or events.NODE  # the binding: nobody's field
            self.cluster.api.system_update(self.cluster.kinds.by_key(PODS), old, pod, KUBELET, "status")
            stored = store.put(PODS, pod, "MODIFIED")
            self.cluster.hooks_for(PODS, "MODIFIED", stored, old)  # owners' status, the CNI's agent
        if sandbox:
            self._kubelet_started(stored, scheduled)

    def _kubelet_started(self, pod: dict, scheduled: bool) -> None:
        """What a pod's start leaves behind: the scheduler's event when it bound the pod, the
        kubelet's events for each container (init containers first) and their logs begun."""
        cluster, spec, status = self.cluster, pod.get("spec", {}), pod.get("status", {})
        if scheduled:
            events.record_scheduled(cluster, pod)
        states = {s["name"]: s.get("state") or {} for group in ("initContainerStatuses", "containerStatuses")
                  for s in status.get(group) or []}
        for group in ("initContainers", "containers"):
            for c in spec.get(group) or []:
                where = f"spec.{group}{{{c['name']}}}"
                events.pulled(cluster, pod, c, where)
                waiting = states.get(c["name"], {}).get("waiting") or {}
                if waiting.get("reason") == "CreateContainerConfigError":  # kuberuntime startContainer
                    events.record(cluster, pod, "Failed", f"Error: {waiting.get('message', '')}", KUBELET,
                                  events.NODE, type_="Warning", field_path=where)
                    continue
                cluster.logs.start(pod["metadata"]["uid"], c["name"])
                events.record(cluster, pod, "Created", f"Created container: {c['name']}", KUBELET, events.NODE,
                              field_path=where)
                events.record(cluster, pod, "Started", f"Started container {c['name']}", KUBELET, events.NODE,
                              field_path=where)


class DaemonSets:
    """DaemonSet -> one pod per node (kubernetes pkg/controller/daemon), and its status."""

    watches = (DAEMONSETS, PODS)

    def __init__(self, cluster: "Cluster") -> None:
        self.cluster = cluster

    def changed(self, event: str, obj: dict, old: dict | None) -> None:
        if obj.get("kind") == "Pod" or obj.get("apiVersion") == "v1":
            ns = obj["metadata"].get("namespace", "")
            for ref in obj["metadata"].get("ownerReferences") or []:
                if ref.get("kind") == "DaemonSet":
                    ds = self.cluster.store.get(DAEMONSETS, ns, ref["name"])
                    if ds is not None:
                        self.sync(ds)  # a deleted pod is replaced, a ready one counted
            return
        if event == "DELETED":
            store = self.cluster.store
            for pod in store.items(PODS, obj["metadata"]["namespace"]):
                if _owned_by(pod, obj):
                    gone = store.delete(PODS, pod["metadata"]["namespace"], pod["metadata"]["name"])
                    if gone is not None:
                        self.cluster.pod_stopped(gone)
            return
        self.sync(obj)

    def sync(self, ds: dict) -> None:
        cluster, store = self.cluster, self.cluster.store
        with store.lock:
            ds = store.get(DAEMONSETS, ds["metadata"]["namespace"], ds["metadata"]["name"])
            if ds is None:
                return
            ns = ds["metadata"]["namespace"]
            template = ds["spec"].get("template", {})
            pods = [p for p in store.items(PODS, ns) if _owned_by(p, ds)]
            nodes = [n["metadata"]["name"] for n in store.items("/nodes", "")]
            have = {p.get("spec", {}).get("nodeName") or _affinity_node(p) for p in pods}
            for node in nodes:
                if node in have:
                    continue
                labels = dict(template.get("metadata", {}).get("labels") or {})
                labels["controller-revision-hash"] = template_hash(template)
                labels["pod-template-generation"] = str(ds["metadata"].get("generation", 1))
                spec = copy.deepcopy(template.get("spec", {}))
                # the controller pins each pod to its node (daemon/util.ReplaceDaemonSetPodNodeNameNodeAffinity)
                spec["affinity"] = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
                    "nodeSelectorTerms": [{"matchFields": [{"key": "metadata.name", "operator": "In",
                                                            "values": [node]}]}]}}}
                cluster.api.create_object(cluster.kinds.by_key(PODS), {
                    "apiVersion": "v1", "kind": "Pod",
                    "metadata": {"generateName": f"{ds['metadata']['name']}-", "namespace": ns, "labels": labels,
                                 "annotations": dict(template.get("metadata", {}).get("annotations") or {}),
                                 "ownerReferences": [_owner(ds, "DaemonSet", "apps/v1")]},
                    "spec": spec}, manager=CONTROLLER_MANAGER)
            pods = [p for p in store.items(PODS, ns) if _owned_by(p, ds)]
            ready = sum(1 for p in pods if _ready(p))
            status = {"currentNumberScheduled": len(pods), "desiredNumberScheduled": len(nodes),
                      "numberMisscheduled": 0, "numberReady": ready,
                      "observedGeneration": ds["metadata"].get("generation", 1),
                      "updatedNumberScheduled": len(pods)}
            if ready:
                status["numberAvailable"] = ready
            if len(pods) - ready:
                status["numberUnavailable"] = len(pods) - ready
            if ds.get("status") != status:
                old = copy.deepcopy(ds)
                ds["status"] = status
                cluster.api.system_update(cluster.kinds.by_key(DAEMONSETS), old, ds, CONTROLLER_MANAGER, "status")
                store.put(DAEMONSETS, ds, "MODIFIED")


def _affinity_node(pod: dict) -> str:
    terms = (((pod.get("spec") or {}).get("affinity") or {}).get("nodeAffinity") or {}) \
        .get("requiredDuringSchedulingIgnoredDuringExecution", {}).get("nodeSelectorTerms") or []
    for term in terms:
        for field in term.get("matchFields") or []:
            if field.get("key") == "metadata.name" and field.get("values"):
                return field["values"][0]
    return ""


def _ready(pod: dict) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in pod.get("status", {}).get("conditions") or [])

