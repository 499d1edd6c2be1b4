"""What `istioctl install` leaves in a cluster, for a given Istio version.

- the networking.istio.io CRDs (DestinationRule, ServiceEntry) with the
  served and storage versions of that release: v1 appeared in 1.22;
- namespace istio-system with the istiod Deployment (and its pod), labelled
  and imaged with the version, as `kubectl egress version` reads it;
- sidecar injection enabled in `default`;
- a mesh-wide DestinationRule `default` in istio-system with ISTIO_MUTUAL for
  `*.local`: Istio's classic global mutual TLS, the reason the seed recipe
  needs a DestinationRule with `tls.mode: DISABLE` for external hosts.

Field managers as such a cluster shows them: istioctl applies its manifests
server-side as "istio-operator" (istio operator/pkg/helmreconciler, fieldOwnerOperator,
force), creates istio-system itself ("istioctl"); the injection label and the
mesh-wide rule are a user's `kubectl label` and `kubectl create`.
"""
from __future__ import annotations

import copy
import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from .cluster import Cluster

PATCH_RELEASES = {"1.18": "1.18.7", "1.19": "1.19.10", "1.20": "1.20.8", "1.21": "1.21.6",
                  "1.22": "1.22.8", "1.23": "1.23.6", "1.24": "1.24.3", "1.25": "1.25.2"}

AGE_COLUMN = {"description": "CreationTimestamp is a timestamp representing the server time when "
              "this object was created. It is not guaranteed to be set in happens-before order "
              "across separate operations. Clients may not set this value. It is represented in "
              "RFC3339 form and is in UTC. Populated by the system. Read-only. Null for lists. "
              "More info: https://git.k8s.io/community/contributors/devel/api-conventions.md#metadata",
              "jsonPath": ".metadata.creationTimestamp", "name": "Age", "type": "date"}

_STR = {"type": "string"}
_STR_LIST = {"type": "array", "items": {"type": "string"}}
_STR_MAP = {"type": "object", "additionalProperties": {"type": "string"}}
_ANY = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}

TLS_SETTINGS = {"type": "object", "properties": {
    "mode": {"type": "string", "enum": ["DISABLE", "SIMPLE", "MUTUAL", "ISTIO_MUTUAL"],
             "description": "Indicates whether connections to this port should be secured using TLS."},
    "sni": _STR, "credentialName": _STR, "caCertificates": _STR, "clientCertificate": _STR,
    "privateKey": _STR, "subjectAltNames": _STR_LIST, "insecureSkipVerify": {"type": "boolean"},
    "caCrl": _STR}}

TRAFFIC_POLICY = {"type": "object", "properties": {
    "tls": TLS_SETTINGS,
    "loadBalancer": _ANY, "connectionPool": _ANY, "outlierDetection": _ANY, "tunnel": _ANY,
    "proxyProtocol": _ANY,
    "portLevelSettings": {"type": "array", "items": {"type": "object", "properties": {
        "port": {"type": "object", "properties": {"number": {"type": "integer", "maximum": 4294967295,
                                                             "minimum": 0}}},
        "tls": TLS_SETTINGS, "loadBalancer": _ANY, "connectionPool": _ANY, "outlierDetection": _ANY}}}}}

DESTINATION_RULE_SCHEMA = {"type": "object", "properties": {
    "spec": {"type": "object", "description": "Configuration affecting load balancing, outlier "
             "detection, etc. See more details at: https://istio.io/docs/reference/config/networking/destination-rule.html",
             "properties": {
                 "host": {"type": "string", "description": "The name of a service from the service registry."},
                 "trafficPolicy": TRAFFIC_POLICY,
                 "subsets": {"type": "array", "items": {"type": "object", "properties": {
                     "name": _STR, "labels": _STR_MAP, "trafficPolicy": TRAFFIC_POLICY}}},
                 "exportTo": _STR_LIST,
                 "workloadSelector": {"type": "object", "properties": {"matchLabels": _STR_MAP}}},
             "required": ["host"]},
    "status": _ANY}}

SERVICE_ENTRY_SCHEMA = {"type": "object", "properties": {
    "spec": {"type": "object", "description": "Configuration affecting service registry. See more "
             "details at: https://istio.io/docs/reference/config/networking/service-entry.html",
             "properties": {
                 "hosts": _STR_LIST, "addresses": _STR_LIST,
                 "ports": {"type": "array", "items": {"type": "object", "properties": {
                     "number": {"type": "integer", "maximum": 4294967295, "minimum": 0},
                     "protocol": _STR, "name": _STR,
                     "targetPort": {"type": "integer", "maximum": 4294967295, "minimum": 0}},
                     "required": ["number", "name"]}},
                 "location": {"type": "string", "enum": ["MESH_EXTERNAL", "MESH_INTERNAL"]},
                 "resolution": {"type": "string", "enum": ["NONE", "STATIC", "DNS", "DNS_ROUND_ROBIN"]},
                 "endpoints": {"type": "array", "items": {"type": "object", "properties": {
                     "address": _STR, "ports": {"type": "object", "additionalProperties": {"type": "integer"}},
                     "labels": _STR_MAP, "network": _STR, "locality": _STR,
                     "weight": {"type": "integer"}, "serviceAccount": _STR}}},
                 "workloadSelector": {"type": "object", "properties": {"labels": _STR_MAP}},
                 "exportTo": _STR_LIST, "subjectAltNames": _STR_LIST},
             "required": ["hosts"]},
    "status": _ANY}}


# VirtualService (manifests/charts/base/crds/crd-all.gen.yaml): what routing reads is spelled out
DESTINATION = {"type": "object", "properties": {
    "host": _STR, "subset": _STR,
    "port": {"type": "object", "properties": {"number": {"type": "integer", "maximum": 4294967295, "minimum": 0}}}},
    "required": ["host"]}
VIRTUAL_SERVICE_SCHEMA = {"type": "object", "properties": {
    "spec": {"type": "object", "description": "Configuration affecting label/content routing, sni routing, etc. "
             "See more details at: https://istio.io/docs/reference/config/networking/virtual-service.html",
             "properties": {
                 "hosts": _STR_LIST, "gateways": _STR_LIST, "exportTo": _STR_LIST,
                 "http": {"type": "array", "items": {"type": "object", "properties": {
                     "name": _STR, "match": {"type": "array", "items": _ANY},
                     "route": {"type": "array", "items": {"type": "object", "properties": {
                         "destination": DESTINATION, "weight": {"type": "integer"}, "headers": _ANY}}},
                     "rewrite": _ANY, "redirect": _ANY, "timeout": _STR, "retries": _ANY, "fault": _ANY,
                     "headers": _ANY, "mirror": _ANY, "corsPolicy": _ANY}, "x-kubernetes-preserve-unknown-fields": True}},
                 "tls": {"type": "array", "items": _ANY}, "tcp": {"type": "array", "items": _ANY}}},
    "status": _ANY}}


def full_version(version: str) -> str:
    if re.fullmatch(r"\d+\.\d+\.\d+", version):
        return version
    if version in PATCH_RELEASES:
        return PATCH_RELEASES[version]
    if re.fullmatch(r"\d+\.\d+", version):
        return version + ".0"
    raise ValueError(f"not an Istio version: {version!r} (want e.g. 1.20, 1.24 or 1.24.3)")


def _minor(version: str) -> tuple[int, int]:
    major, minor = version.split(".")[:2]
    return int(major), int(minor)


def served_versions(version: str) -> tuple[list[str], str]:
    """(served versions, storage version) of the networking CRDs in this release."""
    minor = _minor(version)
    if minor < (1, 22):
        return ["v1alpha3", "v1beta1"], "v1alpha3"
    if minor < (1, 23):
        return ["v1", "v1alpha3", "v1beta1"], "v1alpha3"
    if minor < (1, 27):
        return ["v1", "v1alpha3", "v1beta1"], "v1beta1"
    return ["v1", "v1alpha3", "v1beta1"], "v1"


def crd(kind: str, plural: str, short: str, columns: list[dict], schema: dict, version: str) -> dict:
    served, storage = served_versions(version)
    return {
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.networking.istio.io",
                     "annotations": {"helm.sh/resource-policy": "keep"},
                     "labels": {"app": "istio-pilot", "chart": "istio", "heritage": "Tiller",
                                "release": "istio"}},
        "spec": {"group": "networking.istio.io",
                 "names": {"categories": ["istio-io", "networking-istio-io"], "kind": kind,
                           "listKind": f"{kind}List", "plural": plural, "shortNames": [short],
                           "singular": kind.lower()},
                 "scope": "Namespaced",
                 "versions": [{"name": v, "served": True, "storage": v == storage,
                               "additionalPrinterColumns": columns,
                               "schema": {"openAPIV3Schema": schema},
                               "subresources": {"status": {}}} for v in served]}}


def crds(version: str) -> list[dict]:
    return [
        crd("DestinationRule", "destinationrules", "dr",
            [{"description": "The name of a service from the service registry", "jsonPath": ".spec.host",
              "name": "Host", "type": "string"}, AGE_COLUMN], DESTINATION_RULE_SCHEMA, version),
        crd("ServiceEntry", "serviceentries", "se",
            [{"description": "The hosts associated with the ServiceEntry", "jsonPath": ".spec.hosts",
              "name": "Hosts", "type": "string"},
             {"description": "Whether the service is external to the mesh or part of the mesh "
              "(MESH_EXTERNAL or MESH_INTERNAL)", "jsonPath": ".spec.location", "name": "Location",
              "type": "string"},
             {"description": "Service resolution mode for the hosts (NONE, STATIC, or DNS)",
              "jsonPath": ".spec.resolution", "name": "Resolution", "type": "string"}, AGE_COLUMN],
            SERVICE_ENTRY_SCHEMA, version),
        crd("VirtualService", "virtualservices", "vs",
            [{"description": "The names of gateways and sidecars that should apply these routes",
              "jsonPath": ".spec.gateways", "name": "Gateways", "type": "string"},
             {"description": "The destination hosts to which traffic is being sent", "jsonPath": ".spec.hosts",
              "name": "Hosts", "type": "string"}, AGE_COLUMN],
            VIRTUAL_SERVICE_SCHEMA, version),
    ]


def istiod_labels(version: str) -> dict[str, str]:
    labels = {"app": "istiod", "istio": "pilot", "istio.io/rev": "default",
              "install.operator.istio.io/owning-resource": "installed-state",
              "operator.istio.io/component": "Pilot", "release": "istio"}
    if _minor(version) < (1, 24):
        labels["operator.istio.io/version"] = version
    else:
        labels.update({"app.kubernetes.io/managed-by": "Helm", "app.kubernetes.io/instance": "istiod",
                       "app.kubernetes.io/part-of": "istio", "app.kubernetes.io/version": version,
                       "app.kubernetes.io/name": "istiod", "helm.sh/chart": f"istiod-{version}"})
    return labels


def istiod_deployment(version: str, alias: bool | None = None) -> dict:
    env = [{"name": "REVISION", "value": "default"},
           {"name": "PILOT_CERT_PROVIDER", "value": "istiod"},
           {"name": "POD_NAME", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.name"}}},
           {"name": "POD_NAMESPACE", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}}},
           {"name": "PILOT_TRACE_SAMPLING", "value": "1"},
           {"name": "PILOT_ENABLE_ANALYSIS", "value": "false"},
           {"name": "CLUSTER_ID", "value": "Kubernetes"}]
    if alias is not None:
        env.append({"name": "ENABLE_EXTERNAL_NAME_ALIAS", "value": "true" if alias else "false"})
    labels = istiod_labels(version)
    pod_labels = {"app": "istiod", "istio": "pilot", "istio.io/rev": "default",
                  "sidecar.istio.io/inject": "false"}
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "istiod", "namespace": "istio-system", "labels": labels},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"istio": "pilot"}},
                 "template": {"metadata": {"labels": pod_labels,
                                           "annotations": {"prometheus.io/port": "15014",
                                                           "prometheus.io/scrape": "true",
                                                           "sidecar.istio.io/inject": "false"}},
                              "spec": {"serviceAccountName": "istiod",
                                       "containers": [{"name": "discovery",
                                                       "image": f"docker.io/istio/pilot:{version}",
                                                       "args": ["discovery", "--monitoringAddr=:15014",
                                                                "--log_output_level=default:info",
                                                                "--domain", "cluster.local",
                                                                "--keepaliveMaxServerConnectionAge", "30m"],
                                                       "ports": [{"containerPort": 8080, "protocol": "TCP"},
                                                                 {"containerPort": 15010, "protocol": "TCP"},
                                                                 {"containerPort": 15017, "protocol": "TCP"}],
                                                       "env": env}]}}}}


MESH_WIDE_MTLS = {
    "kind": "DestinationRule",
    "metadata": {"name": "default", "namespace": "istio-system"},
    "spec": {"host": "*.local", "trafficPolicy": {"tls": {"mode": "ISTIO_MUTUAL"}}},
}


def install(cluster: "Cluster", version: str, alias: bool | None = None) -> None:
    version = full_version(version)
    cluster.istio_version = version
    api = cluster.api
    kinds = cluster.kinds
    ns_kind = kinds.get("", "v1", "namespaces")
    api.create_object(ns_kind, {"apiVersion": "v1", "kind": "Namespace",
                                "metadata": {"name": "istio-system"}}, manager="istioctl")
    default_ns = cluster.store.get(ns_kind.key, "", "default")
    before = copy.deepcopy(default_ns)
    default_ns["metadata"].setdefault("labels", {})["istio-injection"] = "enabled"
    api.system_update(ns_kind, before, default_ns, "kubectl-label")
    cluster.store.put(ns_kind.key, default_ns, "MODIFIED")
    crd_kind = kinds.get("apiextensions.k8s.io", "v1", "customresourcedefinitions")
    for definition in crds(version):
        api.create_object(crd_kind, definition, manager="istio-operator", apply=True)
    deploy_kind = kinds.get("apps", "v1", "deployments")
    api.create_object(deploy_kind, istiod_deployment(version, alias), manager="istio-operator", apply=True)
    dr_kind = kinds.by_key("networking.istio.io/destinationrules")
    rule = dict(MESH_WIDE_MTLS, apiVersion=dr_kind.api_version())
    api.create_object(dr_kind, rule, manager="kubectl-create")


def injection_wanted(pod: dict, namespace: dict) -> bool:
    """Istio's injection policy: the namespace opts in, the pod may opt out (label, then annotation)."""
    meta = pod.get("metadata", {})
    if meta.get("namespace") in ("kube-system", "kube-public", "istio-system"):
        return False
    if pod.get("spec", {}).get("hostNetwork"):
        return False
    labels = meta.get("labels") or {}
    notes = meta.get("annotations") or {}
    choice = labels.get("sidecar.istio.io/inject", notes.get("sidecar.istio.io/inject"))
    if choice is not None and choice.lower() == "false":
        return False
    ns_labels = (namespace.get("metadata") or {}).get("labels") or {}
    if ns_labels.get("istio-injection") == "disabled":
        return False
    return ns_labels.get("istio-injection") == "enabled" or "istio.io/rev" in ns_labels or \
        (choice is not None and choice.lower() == "true")


def cni_enabled(values: dict) -> bool:
    """The injector's values (ConfigMap istio-sidecar-injector, key `values`): Istio CNI is
    `istio_cni.enabled`, `pilot.cni.enabled` in the charts of later releases."""
    return bool((values.get("istio_cni") or {}).get("enabled")) or \
        bool(((values.get("pilot") or {}).get("cni") or {}).get("enabled"))


def inject(pod: dict, namespace: dict, version: str, cni: bool = False) -> None:
    """Add the sidecar as Istio's injection webhook does: istio-init and istio-proxy, or with
    Istio CNI istio-validation, which needs no capabilities (injection-template.yaml)."""
    spec = pod.setdefault("spec", {})
    names = [c.get("name") for c in (spec.get("containers") or []) + (spec.get("initContainers") or [])]
    if "istio-proxy" in names or not injection_wanted(pod, namespace):
        return
    meta = pod.setdefault("metadata", {})
    labels = meta.setdefault("labels", {})
    app = labels.get("app") or labels.get("app.kubernetes.io/name") or meta.get("generateName", "").rstrip("-")
    first = (spec.get("containers") or [{}])[0].get("name", "")
    image = f"docker.io/istio/proxyv2:{full_version(version)}"
    args = ["istio-iptables", "-p", "15001", "-z", "15006", "-u", "1337", "-m", "REDIRECT", "-i", "*",
            "-x", "", "-b", "*", "-d", "15090,15021,15020", "--log_output_level=default:info"]
    # the securityContext of injection-template.yaml (what Pod Security admission judges)
    if cni:
        init = {"name": "istio-validation", "image": image, "args": [*args, "--run-validation", "--skip-rule-apply"],
                "securityContext": {"allowPrivilegeEscalation": False, "privileged": False,
                                    "capabilities": {"drop": ["ALL"]}, "readOnlyRootFilesystem": True,
                                    "runAsGroup": 1337, "runAsUser": 1337, "runAsNonRoot": True}}
    else:
        init = {"name": "istio-init", "image": image, "args": args,
                "securityContext": {"allowPrivilegeEscalation": False, "privileged": False,
                                    "capabilities": {"add": ["NET_ADMIN", "NET_RAW"], "drop": ["ALL"]},
                                    "readOnlyRootFilesystem": False, "runAsGroup": 0, "runAsNonRoot": False,
                                    "runAsUser": 0}}
    spec.setdefault("initContainers", []).append(init)
    spec.setdefault("containers", []).append({
        "name": "istio-proxy", "image": image,
        "args": ["proxy", "sidecar", "--domain", "$(POD_NAMESPACE).svc.cluster.local",
                 "--proxyLogLevel=warning", "--proxyComponentLogLevel=misc:error", "--log_output_level=default:info"],
        "ports": [{"containerPort": 15090, "name": "http-envoy-prom", "protocol": "TCP"}],
        "readinessProbe": {"httpGet": {"path": "/healthz/ready", "port": 15021}},
        "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]},
                            "privileged": False, "readOnlyRootFilesystem": True, "runAsGroup": 1337,
                            "runAsNonRoot": True, "runAsUser": 1337}})
    labels.setdefault("security.istio.io/tlsMode", "istio")
    labels.setdefault("service.istio.io/canonical-name", app)
    labels.setdefault("service.istio.io/canonical-revision", labels.get("version", "latest"))
    notes = meta.setdefault("annotations", {})
    notes.setdefault("kubectl.kubernetes.io/default-container", first)
    notes.setdefault("kubectl.kubernetes.io/default-logs-container", first)
    notes["sidecar.istio.io/status"] = (
        '{"initContainers":["' + init["name"] + '"],"containers":["istio-proxy"],'
        '"volumes":["workload-socket","credential-socket","workload-certs","istio-envoy","istio-data",'
        '"istio-podinfo","istio-token","istiod-ca-cert"],"imagePullSecrets":null,"revision":"default"}')
