"""Ephemeral containers: the pods/ephemeralcontainers subresource and the kubelet's side.

The subresource (kubernetes pkg/registry/core/pod/storage/storage.go
EphemeralContainersREST, pkg/registry/core/pod/strategy.go
podEphemeralContainersStrategy): GET returns the pod; PUT and PATCH (kubectl
debug sends a strategic merge patch) change nothing but
spec.ephemeralContainers (dropNonEphemeralContainerUpdates), validated by
ValidatePodEphemeralContainersUpdate (pkg/apis/core/validation/validation.go):
the pod's spec as a whole, each ephemeral container (validateEphemeralContainers:
a name unique across all containers, a targetContainerName that names a
container or init container, none of the fields outside
allowedEphemeralContainerFields, no subPath), and no existing one removed or
changed. The "may not be changed" message ends in the Go value diff (cmp.Diff),
which this server renders as `-`/`+` lines of the fields that differ.

The kubelet (pkg/kubelet/kubelet_pods.go convertToAPIContainerStatuses): an
ephemeral container not started yet is waiting (ContainerCreating, or
PodInitializing in a pod with init containers), then running with the image the
runtime reports, its imageID and containerID; ready stays false and `started` is
unset (the prober manages neither). runAsNonRoot is checked against the image's
user first (kuberuntime verifyRunAsNonRoot): a failure leaves it waiting with
CreateContainerConfigError. Its process (command, else the image's entrypoint)
runs in the pod's network namespace, so its traffic meets the pod's sidecar; it
ends terminated (Completed, Error, or StartError with exit code 128 when the
runtime cannot find the program). Ephemeral containers are never restarted.
"""
from __future__ import annotations

import copy
import os
import secrets
import signal
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

from . import images
from .errors import Cause
from .validation import Duplicate, Forbidden, Required, _decode_container, dns1123_label, Invalid, \
    validate_pod

if TYPE_CHECKING:  # pragma: no cover
    from .cluster import Cluster
    from .kinds import Kind

PODS, KUBELET = "/pods", "kubelet"
# EphemeralContainerCommon's fields outside allowedEphemeralContainerFields, in struct order
FORBIDDEN_FIELDS = ("ports", "resources", "resizePolicy", "restartPolicy", "livenessProbe",
                    "readinessProbe", "startupProbe", "lifecycle")
EXIT_START_ERROR = 128  # what containerd reports for a process that never started


def NotFound(path: str, value) -> Cause:  # noqa: N802 - mirrors field.NotFound
    from .validation import go_value
    return Cause("FieldValueNotFound", f"Not found: {go_value(value)}", path)


def _set(value) -> bool:
    """Not the Go zero value (validateFieldAllowList compares with reflect.Zero)."""
    return value not in (None, "", 0, False, [], {})


# -- the subresource's strategy -------------------------------------------------------------------
class EphemeralContainersStrategy:
    """podEphemeralContainersStrategy: PrepareForUpdate and ValidateUpdate."""

    @staticmethod
    def prepare_for_update(new: dict, old: dict) -> dict:
        """dropNonEphemeralContainerUpdates: the old pod with the new ephemeral containers."""
        pod = copy.deepcopy(old)
        pod["metadata"]["resourceVersion"] = (new.get("metadata") or {}).get("resourceVersion")
        containers = (new.get("spec") or {}).get("ephemeralContainers")
        if containers:
            pod.setdefault("spec", {})["ephemeralContainers"] = copy.deepcopy(containers)
            for container in pod["spec"]["ephemeralContainers"]:
                if isinstance(container, dict):
                    _decode_container(container)  # SetDefaults_EphemeralContainer
        else:
            pod.setdefault("spec", {}).pop("ephemeralContainers", None)
        return pod

    @staticmethod
    def validate_update(new: dict, old: dict, kind: "Kind") -> list[Cause]:
        causes = validate_pod(new, old, kind)
        causes.extend(validate_ephemeral_containers(new.get("spec") or {}))
        if "kubernetes.io/config.mirror" in ((old.get("metadata") or {}).get("annotations") or {}):
            return [Forbidden("", "static pods do not support ephemeral containers")]
        by_name = {c.get("name"): c for c in (new.get("spec") or {}).get("ephemeralContainers") or []
                   if isinstance(c, dict)}
        for previous in (old.get("spec") or {}).get("ephemeralContainers") or []:
            name = previous.get("name", "")
            current = by_name.get(name)
            if current is None:
                causes.append(Forbidden("spec.ephemeralContainers",
                                        f'existing ephemeral containers "{name}" may not be removed\n'))
            elif current != previous:
                causes.append(Forbidden("spec.ephemeralContainers",
                                        f'existing ephemeral containers "{name}" may not be changed\n'
                                        + _diff(previous, current)))
        return causes


def validate_ephemeral_containers(spec: dict) -> list[Cause]:
    """validateEphemeralContainers, for each container in spec.ephemeralContainers."""
    causes: list[Cause] = []
    others = {c.get("name") for group in ("containers", "initContainers")
              for c in spec.get(group) or [] if isinstance(c, dict)}
    names = set(others)
    for i, container in enumerate(spec.get("ephemeralContainers") or []):
        path = f"spec.ephemeralContainers[{i}]"
        if not isinstance(container, dict):
            causes.append(Required(f"{path}.name"))
            continue
        name = container.get("name") or ""
        if not name:
            causes.append(Required(f"{path}.name"))
        else:
            causes.extend(Invalid(f"{path}.name", name, e) for e in dns1123_label(name))
        if not container.get("image"):
            causes.append(Required(f"{path}.image"))
        if name in names:
            causes.append(Duplicate(f"{path}.name", name))
        else:
            names.add(name)
        target = container.get("targetContainerName") or ""
        if target and target not in others:
            causes.append(NotFound(f"{path}.targetContainerName", target))
        for key in FORBIDDEN_FIELDS:
            if _set(container.get(key)):
                causes.append(Forbidden(f"{path}.{key}", "cannot be set for an Ephemeral Container"))
        for j, mount in enumerate(container.get("volumeMounts") or []):
            for key in ("subPath", "subPathExpr"):
                if isinstance(mount, dict) and mount.get(key):
                    causes.append(Forbidden(f"{path}.volumeMounts[{j}].{key}",
                                            "cannot be set for an Ephemeral Container"))
    return causes


def _diff(old: dict, new: dict) -> str:
    lines = []
    for key in dict.fromkeys([*old, *new]):
        if old.get(key) != new.get(key):
            if key in old:
                lines.append(f"-\t{key}: {old[key]!r}")
            if key in new:
                lines.append(f"+\t{key}: {new[key]!r}")
    return "\n".join(lines)


STRATEGY = EphemeralContainersStrategy()


# -- the kubelet's side ---------------------------------------------------------------------------
def now_rfc3339() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def container_id() -> str:
    return "containerd://" + secrets.token_hex(32)


def _copy_output(pipe, logs, uid: str, container: str, stream: str) -> None:
    """A container process's stdout or stderr into its log, until the process closes it."""
    try:
        for chunk in iter(lambda: pipe.read1(65536), b""):
            logs.write(uid, container, chunk, stream)
    except (OSError, ValueError):
        pass
    finally:
        pipe.close()
        if stream == "stdout":
            logs.end(uid, container)


def _pod_label(pod: dict) -> str:
    """kubelet's format.Pod: name_namespace(uid)."""
    meta = pod["metadata"]
    return f'{meta["name"]}_{meta["namespace"]}({meta["uid"]})'


def run_as_non_root_error(pod: dict, container: dict, image: images.Image | None) -> str:
    """kuberuntime verifyRunAsNonRoot: '' when the container may start."""
    pod_sc = (pod.get("spec") or {}).get("securityContext") or {}
    sc = container.get("securityContext") or {}
    non_root = sc.get("runAsNonRoot", pod_sc.get("runAsNonRoot"))
    if not non_root:
        return ""
    name = container.get("name", "")
    run_as = sc.get("runAsUser", pod_sc.get("runAsUser"))
    if run_as is not None:
        if run_as == 0:
            return f"container's runAsUser breaks non-root policy (pod: \"{_pod_label(pod)}\", container: {name})"
        return ""
    if image is None:
        return ""  # an image this server does not know: its user is unknown too
    if image.uid == 0:
        return f'container has runAsNonRoot and image will run as root (pod: "{_pod_label(pod)}", container: {name})'
    if image.uid is None:
        return (f"container has runAsNonRoot and image has non-numeric user ({image.user}), cannot verify "
                f'user is non-root (pod: "{_pod_label(pod)}", container: {name})')
    return ""


def _kill_groups(procs: list[subprocess.Popen]) -> None:
    """Exec'd processes and what they started (each exec is a process group of its own): a stopped
    container's PID namespace takes all its processes with it (pid_namespaces(7))."""
    for proc in procs:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


class Kubelet:
    """Starts the ephemeral containers added to running pods, and runs their processes."""

    watches = (PODS,)

    def __init__(self, cluster: "Cluster") -> None:
        self.cluster = cluster
        self._lock = threading.Lock()
        self._starting: set[tuple[str, str]] = set()  # (pod uid, container)
        self._procs: dict[str, list[subprocess.Popen]] = {}  # pod uid -> processes
        self._execs: dict[str, list[subprocess.Popen]] = {}  # pod uid -> exec'd processes (their groups)
        # a process dies with the thread that started it (PR_SET_PDEATHSIG): one long-lived thread
        self._spawner = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ephemeral-containers")
        self.root = images.Root(Path(cluster.workdir or "/nonexistent") / "images")

    # -- reactions to stored changes -------------------------------------------------------
    def changed(self, event: str, obj: dict, old: dict | None) -> None:
        if event != "MODIFIED" or obj.get("kind") != "Pod":
            return
        spec, status = obj.get("spec") or {}, obj.get("status") or {}
        if not status.get("podIP"):
            return  # no sandbox yet: the kubelet starts ephemeral containers in a running sandbox
        known = {s.get("name") for s in status.get("ephemeralContainerStatuses") or []}
        uid = obj["metadata"]["uid"]
        for container in spec.get("ephemeralContainers") or []:
            key = (uid, container.get("name"))
            with self._lock:
                if container.get("name") in known or key in self._starting:
                    continue
                self._starting.add(key)
            timer = threading.Timer(0.01, self._start, args=(obj["metadata"]["namespace"],
                                                             obj["metadata"]["name"], uid, container["name"]))
            timer.daemon = True
            timer.start()

    def exec_started(self, pod: dict, proc: subprocess.Popen) -> None:
        """An exec'd process: it runs until it ends or its pod stops, whoever holds its stream."""
        with self._lock:
            procs = self._execs.setdefault(pod["metadata"]["uid"], [])
            procs[:] = [p for p in procs if p.poll() is None] + [proc]

    def stopped(self, pod: dict) -> None:
        with self._lock:
            procs = self._procs.pop(pod["metadata"]["uid"], [])
            execs = self._execs.pop(pod["metadata"]["uid"], [])
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
        _kill_groups(execs)

    def shutdown(self) -> None:
        with self._lock:
            procs = [p for ps in self._procs.values() for p in ps]
            execs = [p for ps in self._execs.values() for p in ps]
            self._procs.clear()
            self._execs.clear()
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
        _kill_groups(execs)
        self._spawner.shutdown(wait=False)

    # -- a container's life -----------------------------------------------------------------
    def _status(self, namespace: str, name: str, uid: str, container: str, state: dict,
                **fields) -> dict | None:
        """Write one ephemeral container's status as the kubelet's status manager does."""
        store = self.cluster.store
        with store.lock:
            pod = store.get(PODS, namespace, name)
            if pod is None or pod["metadata"]["uid"] != uid:
                return None
            spec = next((c for c in (pod.get("spec") or {}).get("ephemeralContainers") or []
                         if c.get("name") == container), None)
            if spec is None:
                return None
            old = copy.deepcopy(pod)
            statuses = [s for s in pod.setdefault("status", {}).get("ephemeralContainerStatuses") or []
                        if s.get("name") != container]
            entry = {"name": container, "image": spec.get("image", ""), "imageID": "",
                     "lastState": {}, "ready": False, "restartCount": 0, "state": state, **fields}
            statuses.append(entry)
            pod["status"]["ephemeralContainerStatuses"] = sorted(statuses, key=lambda s: s["name"])
            self.cluster.api.system_update(self.cluster.kinds.by_key(PODS), old, pod, KUBELET, "status")
            store.put(PODS, pod, "MODIFIED")
            return copy.deepcopy(pod)

    def _start(self, namespace: str, name: str, uid: str, container: str) -> None:
        try:
            self._run(namespace, name, uid, container)
        finally:
            with self._lock:
                self._starting.discard((uid, container))

    def _run(self, namespace: str, name: str, uid: str, container: str) -> None:
        pod = self.cluster.store.get(PODS, namespace, name)
        if pod is None:
            return
        spec = next((c for c in pod["spec"].get("ephemeralContainers") or [] if c.get("name") == container), {})
        waiting = "PodInitializing" if pod["spec"].get("initContainers") else "ContainerCreating"
        pod = self._status(namespace, name, uid, container, {"waiting": {"reason": waiting}})
        if pod is None:
            return
        image = images.lookup(spec.get("image", ""))
        refused = run_as_non_root_error(pod, spec, image)
        if refused:
            self._status(namespace, name, uid, container,
                         {"waiting": {"reason": "CreateContainerConfigError", "message": refused}})
            return
        ref = images.parse(spec.get("image", ""))
        cid = container_id()
        ran = {"image": str(ref), "imageID": ref.image_id, "containerID": cid}
        started = now_rfc3339()
        argv = images.container_argv(image, spec)
        if image is not None and argv:
            path, why = image.lookup(argv[0])
            if not path:
                self._status(namespace, name, uid, container, {"terminated": {
                    "exitCode": EXIT_START_ERROR, "reason": "StartError",
                    "message": images.start_failure(argv[0], why), "startedAt": "1970-01-01T00:00:00Z",
                    "finishedAt": now_rfc3339(), "containerID": cid}}, **ran)
                return
        proc = self._spawn(pod, spec, image, argv)
        self._status(namespace, name, uid, container, {"running": {"startedAt": started}}, **ran)
        if proc is None:
            return
        code = proc.wait()
        with self._lock:
            procs = self._procs.get(uid)
            if procs is None:
                return  # the pod is gone
            if proc in procs:
                procs.remove(proc)
        self._status(namespace, name, uid, container, {"terminated": {
            "exitCode": code if code >= 0 else 128 - code, "reason": "Completed" if code == 0 else "Error",
            "startedAt": started, "finishedAt": now_rfc3339(), "containerID": cid}}, **ran)

    def _spawn(self, pod: dict, spec: dict, image: images.Image | None, argv: list[str]):
        """The container's process in the pod's network namespace (None where pods have no
        network here, or nothing is known to run)."""
        from .network import _die_with_parent, unavailable

        if not argv or unavailable():
            return None
        net = self.cluster.network.prepare(pod)
        env = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
               "HOSTNAME": pod["metadata"]["name"], "HOME": "/root", "SSL_CERT_FILE": str(net.dir / "ca.crt")}
        for var in spec.get("env") or []:
            if isinstance(var, dict) and "value" in var:
                env[var["name"]] = str(var["value"])
        command = self.command(image, argv)
        uid = pod["metadata"]["uid"]

        def start() -> subprocess.Popen:
            return subprocess.Popen(net.argv(command, images.identity(image, spec, pod)), stdin=subprocess.DEVNULL,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                                    preexec_fn=_die_with_parent)

        self.cluster.logs.start(uid, spec.get("name", ""))
        try:
            proc = self._spawner.submit(start).result()
        except RuntimeError:  # the cluster is shutting down
            return None
        # what the process writes is the container's log (kubectl logs POD -c NAME), as the runtime keeps it
        for pipe, stream in ((proc.stdout, "stdout"), (proc.stderr, "stderr")):
            threading.Thread(target=_copy_output, args=(pipe, self.cluster.logs, uid, spec.get("name", ""), stream),
                             daemon=True).start()
        with self._lock:
            self._procs.setdefault(uid, []).append(proc)
        if self.cluster.store.get(PODS, pod["metadata"]["namespace"], pod["metadata"]["name"]) is None:
            self.stopped(pod)  # deleted while it started
        return proc

    def command(self, image: images.Image | None, argv: list[str]) -> list[str]:
        """argv as it runs inside a container of the image: only the image's programs on PATH."""
        if image is None:
            return argv
        program = argv[0]
        if "/" in program:
            program = self.root.program(image, image.lookup(program)[0])
        return ["env", f"PATH={self.root.path_for(image)}", program, *argv[1:]]

