"""Istio's ambient mode: the CNI's enrollment of pods, and ztunnel on their outbound path.

Installed (`install`, with `--ambient`) as the ambient profile does: the ztunnel DaemonSet
(manifests/charts/ztunnel templates/daemonset.yaml: container `istio-proxy`, stats on 15020,
image ztunnel:<version>-distroless) and the istio-cni-node DaemonSet (charts/istio-cni).

Enrollment (`Cni`), as istio-cni does it: a pod is captured when its namespace or itself is
labelled `istio.io/dataplane-mode=ambient`, it has no sidecar (no `sidecar.istio.io/status`),
is not labelled `istio.io/dataplane-mode=none` and is not host-network
(cni/pkg/util/podutil.go PodRedirectionEnabled). The CNI plugin marks a new pod as its sandbox is
made, and the node agent reconciles pods when they or their namespace change
(cni/pkg/nodeagent/informers.go): both write the annotation `ambient.istio.io/redirection:
enabled` (or remove it) with a merge patch on pods/status (util.AnnotateEnrolledPod), as
"install-cni" (pkg/kube/util.go IstioUserAgent: the binary's name is the user agent).

ztunnel (`Ztunnel`), for the out-of-mesh destinations egress is about (ztunnel
src/proxy/outbound.rs build_request):
- to a Service's cluster IP: ztunnel picks one of its endpoints itself and connects to it
  directly over TCP (the endpoints are not mesh workloads, so no HBONE, no mTLS); a Service
  without endpoints fails the connection (NoHealthyUpstream);
- to any other address: passthrough, a plain TCP connection to the original destination. So an
  ExternalName Service works through DNS alone, DestinationRules play no part, and
  outboundTrafficPolicy REGISTRY_ONLY is not enforced (istio#54281, ztunnel#369).
Each connection is counted in ztunnel's metrics (src/proxy/metrics.rs: istio_tcp_connections_
opened/closed, istio_tcp_sent/received_bytes, with the CommonTrafficLabels in their field order),
served in OpenMetrics text on the ztunnel pod's port 15020 at /metrics and /stats/prometheus
(src/metrics/server.rs), which clients read through the API server's pod proxy
(`/api/v1/namespaces/istio-system/pods/ztunnel-xxxxx:15020/proxy/metrics`).
Not emulated: ztunnel's DNS proxy (on by default from 1.25: charts/istio-cni values
ambient.dnsCapture) and ServiceEntry address allocation; pods resolve names through cluster DNS.
"""
from __future__ import annotations

import collections
import copy
import socket
import threading
from typing import TYPE_CHECKING

from .istio import SYSTEM_NAMESPACE, minor

if TYPE_CHECKING:  # pragma: no cover
    from .cluster import Cluster
    from .network import Network, PodNet

REDIRECTION = "ambient.istio.io/redirection"
DATAPLANE_MODE = "istio.io/dataplane-mode"
STATS_PORT = 15020
PODS, NAMESPACES = "/pods", "/namespaces"
CNI_MANAGER = "install-cni"


def daemonsets(version: str) -> list[dict]:
    """ztunnel and istio-cni-node as their charts render them with the ambient profile
    (global.variant distroless)."""
    ztunnel = {
        "apiVersion": "apps/v1", "kind": "DaemonSet",
        "metadata": {"name": "ztunnel", "namespace": SYSTEM_NAMESPACE,
                     "labels": {"app.kubernetes.io/name": "ztunnel", "app.kubernetes.io/version": version,
                                "app.kubernetes.io/part-of": "istio", "app.kubernetes.io/managed-by": "Helm"}},
        "spec": {"selector": {"matchLabels": {"app": "ztunnel"}},
                 "updateStrategy": {"rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
                 "template": {
                     "metadata": {"labels": {"sidecar.istio.io/inject": "false", DATAPLANE_MODE: "none",
                                             "app": "ztunnel", "app.kubernetes.io/name": "ztunnel"},
                                  "annotations": {"sidecar.istio.io/inject": "false",
                                                  "prometheus.io/port": str(STATS_PORT),
                                                  "prometheus.io/scrape": "true"}},
                     "spec": {"serviceAccountName": "ztunnel", "nodeSelector": {"kubernetes.io/os": "linux"},
                              "containers": [{
                                  "name": "istio-proxy",
                                  "image": f"docker.io/istio/ztunnel:{version}-distroless",
                                  "args": ["proxy", "ztunnel"],
                                  "ports": [{"containerPort": STATS_PORT, "name": "ztunnel-stats",
                                             "protocol": "TCP"}],
                                  "readinessProbe": {"httpGet": {"path": "/healthz/ready", "port": 15021}},
                                  "env": [{"name": "CA_ADDRESS", "value": "istiod.istio-system.svc:15012"},
                                          {"name": "XDS_ADDRESS", "value": "istiod.istio-system.svc:15012"},
                                          {"name": "ISTIO_META_CLUSTER_ID", "value": "Kubernetes"},
                                          {"name": "INPOD_ENABLED", "value": "true"}]}]}}}}
    cni = {
        "apiVersion": "apps/v1", "kind": "DaemonSet",
        "metadata": {"name": "istio-cni-node", "namespace": SYSTEM_NAMESPACE,
                     "labels": {"k8s-app": "istio-cni-node", "app.kubernetes.io/name": "istio-cni",
                                "app.kubernetes.io/version": version, "app.kubernetes.io/part-of": "istio"}},
        "spec": {"selector": {"matchLabels": {"k8s-app": "istio-cni-node"}},
                 "template": {
                     "metadata": {"labels": {"k8s-app": "istio-cni-node", "sidecar.istio.io/inject": "false",
                                             "app.kubernetes.io/name": "istio-cni"},
                                  "annotations": {"sidecar.istio.io/inject": "false"}},
                     "spec": {"serviceAccountName": "istio-cni", "hostNetwork": True,
                              "nodeSelector": {"kubernetes.io/os": "linux"},
                              "containers": [{"name": "install-cni",
                                              "image": f"docker.io/istio/install-cni:{version}-distroless",
                                              "args": ["--log_output_level=info"]}]}}}}
    return [ztunnel, cni]


def cni_config(version: str) -> dict | None:
    """ConfigMap istio-cni-config (charts/istio-cni templates/configmap-cni.yaml): AMBIENT_DNS_CAPTURE
    from 1.24, where values ambient.dnsCapture is false; true from 1.25."""
    if minor(version) < (1, 24):
        return None
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "istio-cni-config", "namespace": SYSTEM_NAMESPACE,
                         "labels": {"app": "istio-cni", "release": "istio", "istio.io/rev": "default",
                                    "operator.istio.io/component": "Cni", "app.kubernetes.io/name": "istio-cni"}},
            "data": {"CURRENT_AGENT_VERSION": version, "AMBIENT_ENABLED": "true",
                     "AMBIENT_DNS_CAPTURE": "true" if minor(version) >= (1, 25) else "false",
                     "AMBIENT_IPV6": "true", "CHAINED_CNI_PLUGIN": "true", "EXCLUDE_NAMESPACES": "kube-system"}}


def install(cluster: "Cluster", version: str) -> None:
    from . import waypoints

    config = cni_config(version)
    if config is not None:
        cluster.api.create_object(cluster.kinds.get("", "v1", "configmaps"), config,
                                  manager="istio-operator", apply=True)
    kind = cluster.kinds.by_key("apps/daemonsets")
    for ds in daemonsets(version):
        cluster.api.create_object(kind, ds, manager="istio-operator", apply=True)
    waypoints.install(cluster)


def dns_capture(store) -> bool:
    """Does ztunnel answer captured pods' DNS (istio-cni-config AMBIENT_DNS_CAPTURE)?"""
    cm = store.get("/configmaps", SYSTEM_NAMESPACE, "istio-cni-config") or {}
    return (cm.get("data") or {}).get("AMBIENT_DNS_CAPTURE", "false").lower() == "true"


def has_sidecar_status(pod: dict) -> bool:
    """podutil.go podHasSidecar: the injector's status annotation, not the containers."""
    return "sidecar.istio.io/status" in ((pod.get("metadata") or {}).get("annotations") or {})


def redirection_enabled(namespace: dict, pod: dict) -> bool:
    """cni/pkg/util/podutil.go PodRedirectionEnabled."""
    ns_labels = (namespace.get("metadata") or {}).get("labels") or {}
    pod_labels = (pod.get("metadata") or {}).get("labels") or {}
    if ns_labels.get(DATAPLANE_MODE) != "ambient" and pod_labels.get(DATAPLANE_MODE) != "ambient":
        return False
    if has_sidecar_status(pod):
        return False
    if pod_labels.get(DATAPLANE_MODE) == "none":
        return False
    return not (pod.get("spec") or {}).get("hostNetwork")


def redirected(pod: dict) -> bool:
    """podutil.go PodRedirectionActive: the CNI has captured the pod (what ztunnel's path keys on)."""
    return ((pod.get("metadata") or {}).get("annotations") or {}).get(REDIRECTION) == "enabled"


def is_ztunnel(pod: dict) -> bool:
    """podutil.go IsZtunnelPod."""
    meta = pod.get("metadata") or {}
    return meta.get("namespace") == SYSTEM_NAMESPACE and (meta.get("labels") or {}).get("app") == "ztunnel"


class Cni:
    """istio-cni: the plugin (new pods) and the node agent (pods and namespaces that change)."""

    watches = (PODS, NAMESPACES)

    def __init__(self, cluster: "Cluster") -> None:
        self.cluster = cluster

    def pod_sandbox(self, pod: dict) -> None:
        """The CNI plugin, as the kubelet makes the pod's sandbox."""
        self._reconcile(pod["metadata"]["namespace"], pod["metadata"]["name"])

    def changed(self, event: str, obj: dict, old: dict | None) -> None:
        if obj.get("kind") == "Namespace":
            if event == "MODIFIED" and ((obj["metadata"].get("labels") or {}).get(DATAPLANE_MODE) !=
                                        (((old or {}).get("metadata") or {}).get("labels") or {}).get(DATAPLANE_MODE)):
                for pod in self.cluster.store.items(PODS, obj["metadata"]["name"]):
                    self._reconcile(pod["metadata"]["namespace"], pod["metadata"]["name"])
            return
        if event == "MODIFIED" and (obj.get("status") or {}).get("podIP"):
            self._reconcile(obj["metadata"]["namespace"], obj["metadata"]["name"])

    def _reconcile(self, namespace: str, name: str) -> None:
        store = self.cluster.store
        with store.lock:
            pod = store.get(PODS, namespace, name)
            ns = store.get(NAMESPACES, "", namespace)
            if pod is None or ns is None or is_ztunnel(pod) or pod["metadata"].get("deletionTimestamp"):
                return
            want = redirection_enabled(ns, pod)
            if want == redirected(pod):
                return
            old = copy.deepcopy(pod)
            notes = pod["metadata"].setdefault("annotations", {})
            if want:
                notes[REDIRECTION] = "enabled"
            else:
                notes.pop(REDIRECTION, None)
            kind = self.cluster.kinds.by_key(PODS)
            self.cluster.api.system_update(kind, old, pod, CNI_MANAGER, "status")
            stored = store.put(PODS, pod, "MODIFIED")
            self.cluster.hooks_for(PODS, "MODIFIED", stored, old)


# -- ztunnel's data path and metrics ------------------------------------------------------------------
LABELS = ("reporter", "source_workload", "source_canonical_service", "source_canonical_revision",
          "source_workload_namespace", "source_principal", "source_app", "source_version", "source_cluster",
          "destination_service", "destination_service_namespace", "destination_service_name",
          "destination_workload", "destination_canonical_service", "destination_canonical_revision",
          "destination_workload_namespace", "destination_principal", "destination_app", "destination_version",
          "destination_cluster", "request_protocol", "response_flags", "connection_security_policy")
METRICS = (  # name, help (prometheus-client appends a full stop to each help text)
    ("tcp_connections_opened", "The total number of TCP connections opened"),
    ("tcp_connections_closed", "The total number of TCP connections closed"),
    ("tcp_received_bytes", "The size of total bytes received during request in case of a TCP connection"),
    ("tcp_sent_bytes", "The size of total bytes sent during response in case of a TCP connection"),
)


def canonical(pod: dict, workload: str) -> tuple[str, str]:
    """(canonical service, canonical revision) of a pod, from its labels as istiod derives them
    (pkg/config/kube/labels.go CanonicalService)."""
    labels = (pod.get("metadata") or {}).get("labels") or {}
    name = labels.get("service.istio.io/canonical-name") or labels.get("app.kubernetes.io/name") or \
        labels.get("app") or workload
    revision = labels.get("service.istio.io/canonical-revision") or labels.get("app.kubernetes.io/version") or \
        labels.get("version") or "latest"
    return name, revision


class Ztunnel:
    """The node's ztunnel: captured pods' outbound connections, and its metrics."""

    def __init__(self, network: "Network") -> None:
        self.network = network
        self.lock = threading.Lock()
        # per ztunnel pod (a restarted ztunnel starts from zero): metric -> labels -> value
        self.counters: dict[str, dict[str, collections.Counter]] = {}

    @property
    def store(self):
        return self.network.cluster.store

    def pod(self) -> dict | None:
        """The running ztunnel pod of the (only) node."""
        for pod in self.store.scan(PODS, SYSTEM_NAMESPACE):
            if is_ztunnel(pod) and (pod.get("status") or {}).get("phase") == "Running":
                return pod
        return None

    def labels(self, net: "PodNet", service: tuple[str, str, str] | None,
               waypoint: dict | None = None) -> tuple[str, ...]:
        """CommonTrafficLabels of a connection: the source pod; the service (hostname, namespace,
        name); with a waypoint, HBONE: mutual TLS, the source's identity, the waypoint as the
        destination workload."""
        pod = self.store.get(PODS, net.namespace, net.name) or {}
        app, version = canonical(pod, net.workload)
        values = {"reporter": "source", "source_workload": net.workload, "source_canonical_service": app,
                  "source_canonical_revision": version, "source_workload_namespace": net.namespace,
                  "source_app": app, "source_version": version, "source_cluster": "Kubernetes",
                  "request_protocol": "tcp", "response_flags": "-", "connection_security_policy": "unknown"}
        if service is not None:
            values.update({"destination_service": service[0], "destination_service_namespace": service[1],
                           "destination_service_name": service[2]})
        if waypoint is not None:
            account = (pod.get("spec") or {}).get("serviceAccountName") or "default"
            name, ns = waypoint["metadata"]["name"], waypoint["metadata"]["namespace"]
            values.update({"source_principal": f"spiffe://cluster.local/ns/{net.namespace}/sa/{account}",
                           "destination_workload": name, "destination_canonical_service": name,
                           "destination_canonical_revision": "latest", "destination_workload_namespace": ns,
                           "destination_principal": f"spiffe://cluster.local/ns/{ns}/sa/{name}",
                           "destination_app": name, "destination_version": "latest",
                           "destination_cluster": "Kubernetes", "connection_security_policy": "mutual_tls"})
        return tuple(values.get(name, "unknown") for name in LABELS)

    def _add(self, ztunnel_uid: str, metric: str, labels: tuple[str, ...], value: int) -> None:
        with self.lock:
            self.counters.setdefault(ztunnel_uid, {}).setdefault(metric, collections.Counter())[labels] += value

    def outbound(self, net: "PodNet", conn: socket.socket, ip: str, port: int) -> None:
        from .network import reset, splice
        from .proxyconfig import port_protocol
        from .waypoints import service_entry_at, waypoint_for

        ztunnel = self.pod()
        if ztunnel is None:  # the pod's traffic is redirected to a ztunnel that is not there
            reset(conn)
            return
        uid = ztunnel["metadata"]["uid"]
        target: tuple[str, int] | None = (ip, port)
        service: tuple[str, str, str] | None = None
        owner, protocol = None, "tcp"
        found = self.network.service_at(ip, port)
        entry = None if found else service_entry_at(self.store, ip)
        if found is not None:
            svc, svc_port = found
            meta = svc["metadata"]
            owner, protocol = svc, port_protocol(svc_port) or "tcp"
            service = (f"{meta['name']}.{meta['namespace']}.svc.cluster.local", meta["namespace"], meta["name"])
            choices = self.network.endpoints(svc, svc_port)
            target = self.network.pick(meta["uid"] + str(port), choices) if choices else None
        elif entry is not None:
            # a ServiceEntry's address (DNS capture): ztunnel resolves DNS entries itself (on-demand DNS)
            se, host = entry
            owner = se
            service = (host, se["metadata"]["namespace"], se["metadata"]["name"])
            se_port = next((p for p in (se.get("spec") or {}).get("ports") or [] if p.get("number") == port), None)
            protocol = ((se_port or {}).get("protocol") or "tcp").lower()
            target = None
            if se_port is not None:
                if (se.get("spec") or {}).get("resolution") == "STATIC":
                    ups = [e["address"] for e in (se.get("spec") or {}).get("endpoints") or [] if e.get("address")]
                    target = (ups[0], se_port.get("targetPort") or port) if ups else None
                else:
                    ips = self.network.resolve(host)
                    target = (ips[0], se_port.get("targetPort") or port) if ips else None
        waypoint = waypoint_for(self.store, owner) if owner is not None else None
        if waypoint is None and target is None:
            reset(conn)  # NoHealthyUpstream: a service-addressed connection with no endpoint
            return
        labels = self.labels(net, service, waypoint)
        self._add(uid, "tcp_connections_opened", labels, 1)
        self._add(uid, "tcp_received_bytes", labels, 0)
        self._add(uid, "tcp_sent_bytes", labels, 0)
        counts = (0, 0)
        try:
            if waypoint is not None:  # HBONE to the waypoint, which forwards as it is configured
                ours, theirs = socket.socketpair()

                def relay() -> None:
                    try:
                        self.network.waypoint.forward(theirs, waypoint, service[0], port, service[1], protocol,
                                                      target, net)
                    finally:
                        theirs.close()

                threading.Thread(target=relay, daemon=True).start()
                counts = splice(conn, ours)
                ours.close()
            else:
                upstream = self.network.connect(target[0], target[1], net.ip)
                counts = splice(conn, upstream)
                upstream.close()
        finally:
            self._add(uid, "tcp_received_bytes", labels, counts[0])
            self._add(uid, "tcp_sent_bytes", labels, counts[1])
            self._add(uid, "tcp_connections_closed", labels, 1)

    def metrics(self, ztunnel: dict, version: str) -> str:
        """OpenMetrics text as prometheus-client encodes ztunnel's registry."""
        with self.lock:
            counters = {m: dict(c) for m, c in self.counters.get(ztunnel["metadata"]["uid"], {}).items()}
        lines = ["# HELP istio_build Istio component build info.", "# TYPE istio_build gauge",
                 f'istio_build{{component="ztunnel",tag="{version}"}} 1']
        for name, text in METRICS:
            lines += [f"# HELP istio_{name} {text}.", f"# TYPE istio_{name} counter"]
            for labels, value in counters.get(name, {}).items():
                pairs = ",".join(f'{k}="{v}"' for k, v in zip(LABELS, labels))
                lines.append(f"istio_{name}_total{{{pairs}}} {value}")
        return "\n".join(lines + ["# EOF"]) + "\n"
