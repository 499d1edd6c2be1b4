"""Istio's sidecar injector: which revision's webhook takes a new pod, and what it adds.

Which webhook: each revision installs a MutatingWebhookConfiguration whose webhooks select pods by
namespace and object labels (istio-discovery templates/mutatingwebhook.yaml, the same from 1.20 to
1.28); `select_revision` evaluates those selectors. The webhook then decides for itself
(pkg/kube/inject/inject.go `injectRequired`): never host-network pods nor kube-system, kube-public
and kube-node-lease (initializer.go IgnoredNamespaces), and a `sidecar.istio.io/inject` label (or
annotation) of false/true wins over the policy, which is "enabled".

What it adds (injection-template.yaml and webhook.go `reorderPod`): istio-init (or, with Istio
CNI in the injector's values, istio-validation, which needs no capabilities), istio-proxy, the
labels and annotations of the template (istio.io/rev, sidecar.istio.io/status, the default
containers, Prometheus merge). istio-proxy is a native sidecar, an init container with
`restartPolicy: Always` placed right after istio-init, when `native_sidecars` says so; otherwise a
regular container, last, with istio-init last (istio-validation first) among the init containers.
"""
from __future__ import annotations

import json
from typing import TYPE_CHECKING, Iterable

from .istio import DEFAULT_REVISION, SYSTEM_NAMESPACE, _flag, minor

if TYPE_CHECKING:  # pragma: no cover
    from .store import Store

IGNORED_NAMESPACES = ("kube-system", "kube-public", "kube-node-lease")
TRUE_VALUES = ("y", "yes", "true", "on")  # injectRequired: http://yaml.org/type/bool.html


# -- LabelSelector evaluation (apimachinery metav1.LabelSelectorAsSelector) -----------------------
def selector_matches(selector: dict, labels: dict[str, str] | None) -> bool:
    labels = labels or {}
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr["key"], expr["operator"], expr.get("values") or []
        present = key in labels
        if op == "In" and not (present and labels[key] in values):
            return False
        if op == "NotIn" and present and labels[key] in values:
            return False
        if op == "Exists" and not present:
            return False
        if op == "DoesNotExist" and present:
            return False
    return True


def _expr(key: str, op: str, *values: str) -> dict:
    return {"key": key, "operator": op, **({"values": list(values)} if values else {})}


def webhooks(revision: str) -> list[tuple[str, dict, dict]]:
    """(name, namespaceSelector, objectSelector) of a revision's injection webhooks, as
    templates/mutatingwebhook.yaml renders them (sidecarInjectorWebhook.enableNamespacesByDefault
    off, the chart's default)."""
    rev = revision or DEFAULT_REVISION
    hooks = [
        ("rev.namespace.sidecar-injector.istio.io",
         {"matchExpressions": [_expr("istio.io/rev", "In", rev), _expr("istio-injection", "DoesNotExist")]},
         {"matchExpressions": [_expr("sidecar.istio.io/inject", "NotIn", "false")]}),
        ("rev.object.sidecar-injector.istio.io",
         {"matchExpressions": [_expr("istio.io/rev", "DoesNotExist"), _expr("istio-injection", "DoesNotExist")]},
         {"matchExpressions": [_expr("sidecar.istio.io/inject", "NotIn", "false"), _expr("istio.io/rev", "In", rev)]}),
    ]
    if rev == DEFAULT_REVISION:
        hooks += [
            ("namespace.sidecar-injector.istio.io",
             {"matchExpressions": [_expr("istio-injection", "In", "enabled")]},
             {"matchExpressions": [_expr("sidecar.istio.io/inject", "NotIn", "false")]}),
            ("object.sidecar-injector.istio.io",
             {"matchExpressions": [_expr("istio-injection", "DoesNotExist"), _expr("istio.io/rev", "DoesNotExist")]},
             {"matchExpressions": [_expr("sidecar.istio.io/inject", "In", "true"), _expr("istio.io/rev", "DoesNotExist")]}),
        ]
    return hooks


def select_revision(pod: dict, namespace: dict, revisions: Iterable[str]) -> str | None:
    """The revision whose webhook is called for a new pod (the first in revisions' order when
    several would be), or None. The namespace selector sees the namespace's labels, including the
    `kubernetes.io/metadata.name` label the API server sets."""
    ns_labels = (namespace.get("metadata") or {}).get("labels") or {}
    pod_labels = (pod.get("metadata") or {}).get("labels") or {}
    for revision in revisions:
        for _, ns_selector, object_selector in webhooks(revision):
            if selector_matches(ns_selector, ns_labels) and selector_matches(object_selector, pod_labels):
                return revision
    return None


def inject_required(pod: dict) -> bool:
    """injectRequired with policy "enabled" and no never/always selectors (the chart's defaults)."""
    meta = pod.get("metadata") or {}
    if (pod.get("spec") or {}).get("hostNetwork"):
        return False
    if meta.get("namespace") in IGNORED_NAMESPACES:
        return False
    choice = (meta.get("annotations") or {}).get("sidecar.istio.io/inject", "")
    labels = meta.get("labels") or {}
    if "sidecar.istio.io/inject" in labels:  # the label is the newer API and wins
        choice = labels["sidecar.istio.io/inject"]
    if choice == "":
        return True
    return choice.lower() in TRUE_VALUES


def native_sidecars(version: str, env: dict[str, str], kubelet_versions: Iterable[str]) -> bool:
    """Does this istiod inject istio-proxy as a native sidecar (before the pod's annotation)?

    - up to 1.26: only when ENABLE_NATIVE_SIDECARS=true on istiod (pilot/pkg/features, default false);
    - from 1.27 the default is "auto" (istio#56918, "Support native sidecar by default"): native when
      every node's kubelet is 1.33 or newer, where the SidecarContainers feature is GA
      (pkg/kube/inject/webhook.go DetectNativeSidecar; the pod is not scheduled yet at admission,
      so all nodes are checked); "true" and "false" force it.
    """
    value = env.get("ENABLE_NATIVE_SIDECARS")
    if minor(version) < (1, 27):
        return _flag(env, "ENABLE_NATIVE_SIDECARS", False)
    if value == "true":
        return True
    if value not in (None, "auto"):
        return False  # "false", or an unknown value, which pilot logs and treats as disabled
    kubelets = list(kubelet_versions)
    for kubelet in kubelets:
        try:
            if int(kubelet.lstrip("v").split(".")[1]) < 33:
                return False
        except (IndexError, ValueError):
            return False
    return bool(kubelets)


def native_for_pod(native_default: bool, version: str, annotations: dict[str, str]) -> bool:
    """The `sidecar.istio.io/nativeSidecar` annotation overrides the default from 1.24 on
    (injection-template.yaml `$nativeSidecar`; 1.20 to 1.23 read only the environment)."""
    if minor(version) >= (1, 24):
        value = annotations.get("sidecar.istio.io/nativeSidecar")
        if value is not None:
            return value != "false" if minor(version) >= (1, 27) else value == "true"
    return native_default


def injector_values(store: "Store", revision: str) -> dict:
    """The injector's values: ConfigMap istio-sidecar-injector (istio-sidecar-injector-<rev>),
    key `values`, JSON (istio-discovery templates/istiod-injector-configmap.yaml)."""
    name = "istio-sidecar-injector" if revision == DEFAULT_REVISION else f"istio-sidecar-injector-{revision}"
    injector = store.get("/configmaps", SYSTEM_NAMESPACE, name) or {}
    try:
        values = json.loads((injector.get("data") or {}).get("values") or "{}")
    except ValueError:
        return {}
    return values if isinstance(values, dict) else {}


def cni_enabled(values: dict) -> bool:
    """Istio CNI in the injector's values: `istio_cni.enabled`, `pilot.cni.enabled` in the charts
    of later releases."""
    return bool((values.get("istio_cni") or {}).get("enabled")) or \
        bool(((values.get("pilot") or {}).get("cni") or {}).get("enabled"))


def _by_name(containers: list[dict], name: str) -> dict | None:
    return next((c for c in containers if c.get("name") == name), None)


def _move(containers: list[dict], name: str, first: bool) -> list[dict]:
    """webhook.go modifyContainers: MoveFirst / MoveLast."""
    found = _by_name(containers, name)
    if found is None:
        return containers
    rest = [c for c in containers if c is not found]
    return [found, *rest] if first else [*rest, found]


def inject(pod: dict, revision: str, version: str, native: bool, cni: bool = False) -> None:
    """Add the sidecar as the revision's injector does (istio-init or istio-validation, istio-proxy)."""
    spec = pod.setdefault("spec", {})
    meta = pod.setdefault("metadata", {})
    labels = meta.setdefault("labels", {})
    notes = meta.setdefault("annotations", {})
    app_containers = [c.get("name", "") for c in spec.get("containers") or [] if c.get("name") != "istio-proxy"]
    owner = meta.get("generateName", "").rstrip("-").rsplit("-", 1)[0] if meta.get("generateName") else meta.get("name", "")
    image = f"docker.io/istio/proxyv2:{version}"
    # the template's istio-iptables arguments: the traffic.sidecar.istio.io annotations, or the
    # chart's defaults (global.proxy.includeIPRanges "*", excludeIPRanges ""), -q and -o only when set
    traffic = "traffic.sidecar.istio.io/"
    args = ["istio-iptables", "-p", "15001", "-z", "15006", "-u", "1337", "-m", "REDIRECT",
            "-i", notes.get(traffic + "includeOutboundIPRanges", "*"),
            "-x", notes.get(traffic + "excludeOutboundIPRanges", ""), "-b", "*", "-d", "15090,15021,15020"]
    for flag, name in (("-q", "includeOutboundPorts"), ("-o", "excludeOutboundPorts")):
        if traffic + name in notes:
            args += [flag, notes[traffic + name]]
    args.append("--log_output_level=default:info")
    if cni:
        init = {"name": "istio-validation", "image": image, "args": [*args, "--run-validation", "--skip-rule-apply"],
                "securityContext": {"allowPrivilegeEscalation": False, "privileged": False,
                                    "capabilities": {"drop": ["ALL"]}, "readOnlyRootFilesystem": True,
                                    "runAsGroup": 1337, "runAsUser": 1337, "runAsNonRoot": True}}
    else:
        init = {"name": "istio-init", "image": image, "args": args,
                "securityContext": {"allowPrivilegeEscalation": False,
                                    "capabilities": {"add": ["NET_ADMIN", "NET_RAW"], "drop": ["ALL"]},
                                    "privileged": False, "readOnlyRootFilesystem": False,
                                    "runAsGroup": 0, "runAsNonRoot": False, "runAsUser": 0}}
    proxy = {"name": "istio-proxy", "image": image,
             "args": ["proxy", "sidecar", "--domain", "$(POD_NAMESPACE).svc.cluster.local",
                      "--proxyLogLevel=warning", "--proxyComponentLogLevel=misc:error",
                      "--log_output_level=default:info"],
             "env": [{"name": "ISTIO_META_APP_CONTAINERS", "value": ",".join(app_containers)},
                     {"name": "ISTIO_META_CLUSTER_ID", "value": "Kubernetes"},
                     {"name": "ISTIO_META_INTERCEPTION_MODE", "value": "REDIRECT"}],
             "ports": [{"containerPort": 15090, "name": "http-envoy-prom", "protocol": "TCP"}],
             "readinessProbe": {"failureThreshold": 4, "httpGet": {"path": "/healthz/ready", "port": 15021},
                                "periodSeconds": 15, "timeoutSeconds": 3},
             "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]},
                                 "privileged": False, "readOnlyRootFilesystem": True,
                                 "runAsGroup": 1337, "runAsNonRoot": True, "runAsUser": 1337}}
    inits = list(spec.get("initContainers") or [])
    containers = list(spec.get("containers") or [])
    if native:  # {istio-init/istio-validation} => proxy => rest
        proxy["restartPolicy"] = "Always"
        proxy["startupProbe"] = {"failureThreshold": 600, "httpGet": {"path": "/healthz/ready", "port": 15021},
                                 "periodSeconds": 1, "timeoutSeconds": 3}
        inits = _move(_move(inits + [init, proxy], "istio-proxy", True), init["name"], True)
    else:  # istio-validation => rest => istio-init; the proxy last among the containers
        inits = _move(inits + [init], init["name"], cni)
        containers = _move(containers + [proxy], "istio-proxy", False)
    spec["initContainers"], spec["containers"] = inits, containers
    labels.setdefault("security.istio.io/tlsMode", "istio")
    labels.setdefault("service.istio.io/canonical-name",
                      labels.get("app.kubernetes.io/name") or labels.get("app") or owner)
    labels.setdefault("service.istio.io/canonical-revision",
                      labels.get("app.kubernetes.io/version") or labels.get("version") or "latest")
    notes["istio.io/rev"] = revision or DEFAULT_REVISION
    if app_containers:
        notes.setdefault("kubectl.kubernetes.io/default-logs-container", app_containers[0])
        notes.setdefault("kubectl.kubernetes.io/default-container", app_containers[0])
    # the webhook's Prometheus merge (meshConfig.enablePrometheusMerge, on in the charts)
    notes.setdefault("prometheus.io/path", "/stats/prometheus")
    notes.setdefault("prometheus.io/port", "15020")
    notes.setdefault("prometheus.io/scrape", "true")
    status = {"initContainers": [init["name"], "istio-proxy"] if native else [init["name"]],
              "containers": None if native else ["istio-proxy"],
              "volumes": ["workload-socket", "credential-socket", "workload-certs", "istio-envoy", "istio-data",
                          "istio-podinfo", "istio-token", "istiod-ca-cert"],
              "imagePullSecrets": None, "revision": revision or DEFAULT_REVISION}
    notes["sidecar.istio.io/status"] = json.dumps(status, separators=(",", ":"))
