"""The state of one local cluster: objects, kinds, users, IP allocation, faults.

`Cluster` is what the HTTP layer talks to. It seeds what a fresh cluster has
(namespaces, the `kubernetes` Service, a node, and Istio when asked for) and
answers authentication as kube-apiserver would for the two users of the
kubeconfig it writes, `admin` (group system:masters) and `reader`, for client
certificates and for service account tokens; authorization is RBAC's (rbac.py),
a function of the user and its groups.
"""
from __future__ import annotations

import ipaddress
import random
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import controllers, ephemeral, execws, images, injection, istio, podsecurity, rbac
from . import tokens as serviceaccount_tokens
from .logs import LogStore
from .network import Network
from .errors import APIError, forbidden, forbidden_path
from .kinds import Kind, builtin_kinds, kind_from_crd
from .store import Store

RBAC_GROUP = "rbac.authorization.k8s.io"

K8S_VERSION = {"major": "1", "minor": "33", "gitVersion": "v1.33.1", "gitCommit": "8adc0f041b8e7ad1d30e29cc59c6ae7a15e19828",
               "gitTreeState": "clean", "buildDate": "2025-05-15T08:19:08Z", "goVersion": "go1.24.2",
               "compiler": "gc", "platform": "linux/amd64"}
SERVICE_CIDR_V4 = ipaddress.ip_network("10.96.0.0/12")
SERVICE_CIDR_V6 = ipaddress.ip_network("fd00:10:96::/112")
POD_CIDR = ipaddress.ip_network("10.244.0.0/16")


@dataclass(frozen=True)
class User:
    name: str
    groups: tuple[str, ...]


@dataclass
class Fault:
    """A test-injected misbehaviour for requests whose method and path match."""

    path: str = ".*"
    method: str = ".*"
    status: int = 0
    reason: str = "InternalError"
    message: str = "Internal error occurred: injected fault"
    delay: float = 0.0
    times: int = -1  # -1: for ever
    reset: bool = False  # close the connection without an answer
    details: dict | None = None  # the Status details (causes, ...)
    body: str | None = None  # a raw, non-Status answer body


class Faults:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []

    def add(self, **kwargs) -> None:
        with self._lock:
            self._faults.append(Fault(**kwargs))

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def _take(self, method: str, path: str, reset: bool) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.reset != reset or fault.times == 0:
                    continue
                if re.fullmatch(fault.method, method) and re.search(fault.path, path):
                    if fault.times > 0:
                        fault.times -= 1
                    return fault
        return None

    def match(self, method: str, path: str) -> Fault | None:
        return self._take(method, path, reset=False)

    def reset(self, method: str, path: str) -> bool:
        return self._take(method, path, reset=True) is not None


class KindRegistry:
    """Built-in kinds plus the kinds CustomResourceDefinitions define."""

    def __init__(self) -> None:
        self._builtin = builtin_kinds()
        self._crds: dict[str, Kind] = {}
        self._lock = threading.Lock()

    def all(self) -> list[Kind]:
        with self._lock:
            return self._builtin + list(self._crds.values())

    def get(self, group: str, version: str, plural: str) -> Kind | None:
        for kind in self.all():
            if kind.group == group and kind.plural == plural and version in kind.versions:
                return kind
        return None

    def by_key(self, key: str) -> Kind | None:
        return next((k for k in self.all() if k.key == key), None)

    def set_crd(self, crd: dict | None, name: str) -> None:
        with self._lock:
            if crd is None:
                self._crds.pop(name, None)
            else:
                self._crds[name] = kind_from_crd(crd)


class IPAllocator:
    """Cluster IPs, handed out at random from the service ranges as kube-apiserver does."""

    def __init__(self, seed: int = 0) -> None:
        self._rng = random.Random(seed)
        self._used: set[str] = set()
        self._lock = threading.Lock()

    def allocate(self, family: str, wanted: str = "", reserve: bool = True) -> str:
        """An IP of the family (or the wanted one); dry runs choose without reserving."""
        net = SERVICE_CIDR_V4 if family == "IPv4" else SERVICE_CIDR_V6
        with self._lock:
            if wanted:
                if reserve:
                    self._used.add(wanted)
                return wanted
            for _ in range(1000):
                offset = self._rng.randrange(1, net.num_addresses - 1)
                ip = str(net.network_address + offset)
                if ip not in self._used:
                    if reserve:
                        self._used.add(ip)
                    return ip
        raise APIError(500, "InternalError", "Internal error occurred: failed to allocate a "
                       f"serviceIP: range is full")

    def check(self, ip: str) -> str:
        """'' when ip may be taken, else why not (for a 422 message)."""
        try:
            addr = ipaddress.ip_address(ip)
        except ValueError:
            return "must be a valid IP address"
        net = SERVICE_CIDR_V4 if addr.version == 4 else SERVICE_CIDR_V6
        if addr not in net:
            return (f"failed to allocate IP {ip}: provided IP is not in the valid range. "
                    f"The range of valid IPs is {net}")
        with self._lock:
            if ip in self._used:
                return f"failed to allocate IP {ip}: provided IP is already allocated"
        return ""

    def release(self, ip: str) -> None:
        with self._lock:
            self._used.discard(ip)

    def in_use(self, ip: str) -> bool:
        with self._lock:
            return ip in self._used


@dataclass
class LoggedRequest:
    method: str
    path: str
    user_agent: str


class Cluster:
    def __init__(self, istio_version: str | None = "1.20", seed: int = 0,
                 tokens: tuple[str, str] | None = None, workdir=None, ca=None,
                 revisions: tuple[istio.Revision, ...] = (), outbound_policy: str | None = None,
                 ambient: bool = False) -> None:
        """istio_version: the default revision (istiod), or None; revisions: more control planes
        (istiod-<rev>); outbound_policy: meshConfig.outboundTrafficPolicy.mode of every revision;
        ambient: ztunnel and istio-cni as the ambient profile installs them."""
        from .api import API  # api needs Cluster's type only at run time

        self.store = Store()
        self.kinds = KindRegistry()
        self.faults = Faults()
        self.ipam = IPAllocator(seed)
        self.revisions: list[istio.Revision] = []
        if istio_version:
            self.revisions.append(istio.Revision(istio.DEFAULT_REVISION, istio.full_version(istio_version)))
        self.revisions += [r for r in revisions if r.name != istio.DEFAULT_REVISION]
        if outbound_policy not in (None, *istio.OUTBOUND_POLICIES):
            raise ValueError(f"--outbound-policy {outbound_policy!r}: want one of "
                             f"{', '.join(istio.OUTBOUND_POLICIES)}")
        if (outbound_policy or ambient) and not self.revisions:
            raise ValueError("--outbound-policy and --ambient need Istio: give --istio VERSION or --revision")
        self.outbound_policy = outbound_policy
        self.ambient = ambient
        # the default revision's version (else the first revision's): what "the mesh" runs
        self.istio_version = self.revisions[0].version if self.revisions else None
        self.workdir = workdir
        self.ca = ca
        admin, reader = tokens or (secrets.token_hex(16), secrets.token_hex(16))
        self.tokens = {admin: User("admin", ("system:masters", "system:authenticated")),
                       reader: User("reader", ("system:authenticated",))}
        self.admin_token, self.reader_token = admin, reader
        self.sa_tokens = serviceaccount_tokens.Tokens(Path(workdir) / "serviceaccount" if workdir else None)
        self.logs = LogStore()
        self.api = API(self)
        self.started = time.time()
        self._log: list[LoggedRequest] = []
        self._log_lock = threading.Lock()
        self.address = "127.0.0.1:0"  # host:port, set once the server listens
        self.closed = False  # set by shutdown: background work stops
        self.kubelet = ephemeral.Kubelet(self)  # ephemeral containers and their processes
        self.controllers: list = [controllers.Deployments(self), controllers.DaemonSets(self), self.kubelet]
        if self.revisions:  # istiod's own controllers: waypoints and ServiceEntry addresses
            from .waypoints import Controllers
            self.controllers.append(Controllers(self))
        if ambient:
            from .ambient import Cni
            self.controllers.append(Cni(self))
        self.network = Network(self)
        self._seed()
        from . import openapi
        openapi.warm(self)  # explain's schemas, built once per process in the background

    # -- identity ------------------------------------------------------------
    def authenticate(self, header: str, cert: dict | None = None) -> User | None:
        """A bearer token of the kubeconfig's users or a service account token this cluster
        issued, or an x509 client certificate signed by the cluster CA (user = CN, groups = O),
        as kube-apiserver's authenticators do."""
        if header.lower().startswith("bearer "):
            token = header[7:].strip()
            return self.tokens.get(token) or serviceaccount_tokens.authenticate(self, token)
        if cert:
            subject = [item for rdn in cert.get("subject", ()) for item in rdn]
            name = next((v for k, v in subject if k == "commonName"), "")
            groups = tuple(v for k, v in subject if k == "organizationName")
            if name:
                return User(name, groups + ("system:authenticated",))
        return None

    def allowed(self, user: User, attrs: rbac.Attributes) -> tuple[bool, str]:
        """The authorizer's decision for (user, groups) and the request attributes, with its
        reason (RBAC only: kube-apiserver's Node authorizer has no opinion on non-nodes)."""
        return rbac.authorize(user.name, user.groups, attrs, self.role_bindings(attrs.namespace))

    def role_bindings(self, namespace: str) -> list[rbac.RoleBinding]:
        """The RoleBindings of a namespace, their roles resolved (none for a cluster-scoped request)."""
        if not namespace:
            return []
        bindings = self.store.scan(f"{RBAC_GROUP}/rolebindings", namespace)
        return rbac.role_bindings(bindings, self.store.scan(f"{RBAC_GROUP}/roles", namespace)) if bindings else []

    def authorize(self, user: User, verb: str, kind: Kind, namespace: str, name: str,
                  sub: str = "") -> None:
        """A check a handler makes beyond the filter's (403 with the RBAC wording)."""
        attrs = rbac.Attributes(verb, True, namespace, kind.group, kind.plural, sub, name)
        if not self.allowed(user, attrs)[0]:
            raise forbidden(user.name, verb, kind.plural, kind.group, namespace, name, sub)

    def authorize_request(self, user: User, info) -> None:
        """The authorization filter (apiserver endpoints/filters/authorization.go): the
        request's RequestInfo, authorized before any handler sees the path."""
        attrs = rbac.Attributes(info.verb, info.resource_request, info.namespace, info.api_group,
                                info.resource, info.subresource, info.name, info.path)
        if self.allowed(user, attrs)[0]:
            return
        if not info.resource_request:
            raise forbidden_path(user.name, info.verb, info.path)
        raise forbidden(user.name, info.verb, info.resource, info.api_group, info.namespace,
                        info.name, info.subresource)

    def external_name_alias(self, revision: str = istio.DEFAULT_REVISION) -> bool:
        """Does a revision's istiod treat ExternalName Services as DNS aliases (istio.external_name_alias)?"""
        deploy = istio.istiods(self.store).get(revision)
        if deploy is None:
            return False
        return istio.external_name_alias(istio.istiod_version(deploy), istio.istiod_env(deploy))

    def version_info(self) -> dict:
        return dict(K8S_VERSION)

    # -- test support --------------------------------------------------------
    def record(self, method: str, path: str, user_agent: str) -> None:
        with self._log_lock:
            self._log.append(LoggedRequest(method, path, user_agent))
            del self._log[:-5000]

    def request_log(self) -> list[dict]:
        with self._log_lock:
            return [vars(r) for r in self._log]

    def clear_request_log(self) -> None:
        with self._log_lock:
            self._log.clear()

    def backdate(self, resource: str, namespace: str, name: str, seconds: float) -> None:
        """Make an object older (for AGE columns)."""
        with self.store.lock:
            obj = self.store.get(resource, namespace, name)
            if obj is None:
                raise APIError(404, "NotFound", f"{resource} {namespace}/{name} not found")
            created = time.time() - seconds
            obj["metadata"]["creationTimestamp"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(created))
            self.store.put(resource, obj, "MODIFIED")

    def exec_pod(self, req, kind: Kind, namespace: str, name: str):
        """pods/exec: validate as the API server and kubelet do, then hand over the connection."""
        from .server import Response
        pod = self.store.get("/pods", namespace, name)
        if pod is None:
            raise APIError(404, "NotFound", f'pods "{name}" not found', {"name": name, "kind": "pods"})
        command = req.query.get("command", [])
        if not command:
            raise APIError(400, "BadRequest", "you must specify at least 1 command")
        from .logs import validate_container
        container = validate_container(pod, req.param("container"))  # streamLocation
        spec = pod.get("spec", {})
        every = [c for group in ("containers", "initContainers", "ephemeralContainers")
                 for c in spec.get(group) or []]
        status = pod.get("status") or {}
        phase = status.get("phase")
        if phase in ("Succeeded", "Failed"):
            raise APIError(400, "BadRequest", f"cannot exec into a container in a completed pod; current "
                           f"phase is {phase}")
        states = {s.get("name"): s.get("state") or {} for group in ("containerStatuses", "initContainerStatuses",
                                                                     "ephemeralContainerStatuses")
                  for s in status.get(group) or []}
        running = "running" in states[container] if container in states else phase == "Running"
        if not running:  # kubelet's findContainer sees running containers only
            raise APIError(400, "BadRequest", f'unable to upgrade connection: container not found ("{container}")')
        if req.headers.get("upgrade", "").lower() != "websocket":
            raise APIError(400, "BadRequest", "Upgrade request required")
        protocol = execws.choose_protocol(req.headers.get("sec-websocket-protocol", ""))
        if protocol is None:
            raise APIError(400, "BadRequest", "unable to upgrade connection: no supported subprotocol "
                           f"among {req.headers.get('sec-websocket-protocol', '')!r}; this server speaks "
                           + ", ".join(execws.PROTOCOLS))
        try:
            net = self.network.prepare(pod)
        except (RuntimeError, OSError) as err:
            raise APIError(500, "InternalError", f"Internal error occurred: the pod's network could not "
                           f"be set up: {err}")
        spec_of = next(c for c in every if c["name"] == container)
        image = images.lookup(spec_of.get("image", ""))
        missing = image.lookup(command[0])[1] if image is not None else ""
        user = images.identity(image, spec_of, pod)
        argv = net.argv(self.kubelet.command(image, command), user) if not missing else []
        want_stdin = req.param("stdin").lower() in ("true", "1")
        env = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOSTNAME": name,
               "HOME": "/root", "SSL_CERT_FILE": str(net.dir / "ca.crt")}

        def session(handler) -> None:
            execws.handshake(handler, protocol)
            ws = execws.WebSocket(handler.rfile, handler.wfile)
            if missing:  # the runtime cannot start it: the streams open, then the error arrives
                execws.fail_session(ws, images.exec_failure(command[0], missing))
                return
            execws.run_session(ws, argv, command, want_stdin, env,
                               started=lambda proc: self.kubelet.exec_started(pod, proc))

        return Response(101, session)

    # -- pods: admission and the kubelet's side ---------------------------------
    def admit_pod(self, pod: dict) -> None:
        """Mutating admission for new pods: the sidecar injector of the revision whose webhook
        selects the pod (injection.py)."""
        deployments = istio.istiods(self.store)
        if not deployments:
            return
        ns = self.store.get("/namespaces", "", pod["metadata"].get("namespace", "")) or {}
        revision = injection.select_revision(pod, ns, deployments)
        if revision is None or not injection.inject_required(pod):
            return
        spec = pod.get("spec") or {}
        if any(c.get("name") == "istio-proxy" for c in (spec.get("containers") or []) + (spec.get("initContainers") or [])):
            return  # injected already (istioctl kube-inject)
        deploy = deployments[revision]
        version, env = istio.istiod_version(deploy), istio.istiod_env(deploy)
        kubelets = [(n.get("status") or {}).get("nodeInfo", {}).get("kubeletVersion", "")
                    for n in self.store.scan("/nodes")]
        native = injection.native_for_pod(injection.native_sidecars(version, env, kubelets), version,
                                          pod["metadata"].get("annotations") or {})
        cni = injection.cni_enabled(injection.injector_values(self.store, revision))
        injection.inject(pod, revision, version, native, cni)

    def pod_started(self, pod: dict, ip: str) -> bool:
        """Bring up what a pod needs to run (its network comes with its first exec); with ambient,
        the CNI plugin enrolls it as its sandbox is made."""
        for controller in self.controllers:
            started = getattr(controller, "pod_sandbox", None)
            if started is not None:
                started(pod)
        return True

    def pod_stopped(self, pod: dict) -> None:
        """The kubelet stops a deleted pod: Killing for each running container, then its
        network and logs go (pkg/kubelet/kuberuntime/kuberuntime_container.go killContainer)."""
        from . import events
        status = pod.get("status") or {}
        for group, statuses in (("initContainers", "initContainerStatuses"), ("containers", "containerStatuses"),
                                ("ephemeralContainers", "ephemeralContainerStatuses")):
            for cs in status.get(statuses) or []:
                if (cs.get("state") or {}).get("running") is not None:
                    events.record(self, pod, "Killing", f"Stopping container {cs['name']}", "kubelet",
                                  events.NODE, field_path=f"spec.{group}{{{cs['name']}}}")
        self.kubelet.stopped(pod)
        self.network.stopped(pod)
        self.logs.drop(pod["metadata"]["uid"])

    def admit(self, kind: Kind, obj: dict, old: dict | None, sub: str) -> list[str]:
        """Validating admission, after validation and before storage: Pod Security.
        Returns its warnings; raises its refusal."""
        return podsecurity.admit(self, kind, obj, old, sub)

    def shutdown(self) -> None:
        """Stop background work: controllers' retries, ephemeral containers' processes, pod networks."""
        self.closed = True
        self.kubelet.shutdown()
        self.network.shutdown()

    # -- what happens around writes -------------------------------------------
    def hooks(self, kind: Kind) -> list:
        """Reactions to a stored change (controllers and registries), by kind."""
        if kind.key == "apiextensions.k8s.io/customresourcedefinitions":
            return [self._crd_changed]
        return [c.changed for c in self.controllers if kind.key in c.watches]

    def hooks_for(self, resource: str, event: str, obj: dict, old: dict | None) -> None:
        """Run the reactions to a change the system stored directly (store.put without the API)."""
        kind = self.kinds.by_key(resource)
        if kind is not None:
            for hook in self.hooks(kind):
                hook(event, obj, old)

    def _crd_changed(self, event: str, obj: dict, old: dict | None) -> None:
        self.kinds.set_crd(None if event == "DELETED" else obj, obj["metadata"]["name"])

    def release(self, kind: Kind, obj: dict | None, keep: dict | None, dry: bool) -> None:
        """Give back cluster IPs obj holds that keep does not (failed or undone writes)."""
        if dry or obj is None or kind.key != "/services":
            return
        kept = set((keep or {}).get("spec", {}).get("clusterIPs") or [])
        for ip in obj.get("spec", {}).get("clusterIPs") or []:
            if ip not in kept and ip != "None":
                self.ipam.release(ip)

    def finalize(self, kind: Kind, obj: dict) -> dict | None:
        """Namespaces terminate: mark Terminating, empty them, then remove them."""
        if kind.key != "/namespaces":
            return None
        if obj.get("status", {}).get("phase") == "Terminating":
            return obj
        obj["metadata"]["deletionTimestamp"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        obj.setdefault("status", {})["phase"] = "Terminating"
        stored = self.store.put(kind.key, obj, "MODIFIED")
        threading.Thread(target=self._empty_namespace, args=(obj["metadata"]["name"],),
                         daemon=True).start()
        return stored

    def _empty_namespace(self, name: str) -> None:
        time.sleep(0.05)
        for kind in self.kinds.all():
            if not kind.namespaced:
                continue
            for obj in self.store.items(kind.key, name):
                gone = self.store.delete(kind.key, name, obj["metadata"]["name"])
                self.release(kind, gone, None, False)
                for hook in self.hooks(kind):
                    hook("DELETED", gone, obj)
        self.store.delete("/namespaces", "", name)

    # -- seeding -------------------------------------------------------------
    def _seed(self) -> None:
        ns_kind = self.kinds.get("", "v1", "namespaces")
        for ns in ("default", "kube-system", "kube-public", "kube-node-lease"):
            self.api.create_object(ns_kind, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
        self.api.create_object(self.kinds.get("", "v1", "services"), {
            "apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "kubernetes", "namespace": "default",
                         "labels": {"component": "apiserver", "provider": "kubernetes"}},
            "spec": {"clusterIP": "10.96.0.1", "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": 6443}]}})
        self.api.create_object(self.kinds.get("", "v1", "nodes"), {
            "apiVersion": "v1", "kind": "Node",
            "metadata": {"name": "local-control-plane", "labels": {"kubernetes.io/hostname": "local-control-plane",
                                                                   "node-role.kubernetes.io/control-plane": ""}},
            "status": {"nodeInfo": {"kubeletVersion": K8S_VERSION["gitVersion"]},
                       "conditions": [{"type": "Ready", "status": "True"}]}}, manager="kubelet")
        if self.revisions:
            istio.install(self, self.revisions, self.outbound_policy, self.ambient)
