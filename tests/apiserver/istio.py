"""What installing Istio leaves in a cluster, per revision and version, and the control-plane
facts the emulated data plane reads back from the cluster.

`install` writes, as `istioctl install` (or the Helm charts) would:
- the networking.istio.io CRDs (DestinationRule, ServiceEntry, Sidecar) with the served and
  storage versions of the newest release installed (v1 appeared in 1.22);
- namespace istio-system; per revision an istiod Deployment (`istiod` for the default revision,
  `istiod-<rev>` for others, labelled `istio.io/rev`, imaged with the version) and its mesh
  config ConfigMap (`istio` or `istio-<rev>`, key `mesh`; istio-discovery templates/configmap.yaml),
  with `outboundTrafficPolicy.mode` when one is asked for;
- with ambient: the ztunnel and istio-cni-node DaemonSets (see ambient.py) and istiod's
  PILOT_ENABLE_AMBIENT (helm profile `ambient`);
- namespace `default` labelled for the default revision: `istio-injection=enabled`, or with
  ambient `istio.io/dataplane-mode=ambient` (the ambient getting-started guide);
- a mesh-wide DestinationRule `default` in istio-system with ISTIO_MUTUAL for `*.local`: Istio's
  classic global mutual TLS, the reason the seed recipe needs `tls.mode: DISABLE`.

The data plane never keeps its own copy of these choices: it reads the istiod Deployments (version
from the image, flags from the environment) and the mesh ConfigMaps from the store, so
`kubectl set env deploy/istiod ...` or `kubectl edit cm istio -n istio-system` take effect as
istiod's would.

Field managers as such a cluster shows them: istioctl applies its manifests server-side as
"istio-operator" (istio operator/pkg/helmreconciler, fieldOwnerOperator, force), creates
istio-system itself ("istioctl"); the namespace label and the mesh-wide rule are a user's
`kubectl label` and `kubectl create`.
"""
from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

import yaml

if TYPE_CHECKING:  # pragma: no cover
    from .cluster import Cluster
    from .store import Store

SYSTEM_NAMESPACE = "istio-system"
DEFAULT_REVISION = "default"
PATCH_RELEASES = {"1.18": "1.18.7", "1.19": "1.19.10", "1.20": "1.20.8", "1.21": "1.21.6",
                  "1.22": "1.22.8", "1.23": "1.23.6", "1.24": "1.24.3", "1.25": "1.25.2",
                  "1.26": "1.26.8", "1.27": "1.27.9", "1.28": "1.28.10"}
OUTBOUND_POLICIES = ("ALLOW_ANY", "REGISTRY_ONLY")

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


SIDECAR_SCHEMA = {"type": "object", "properties": {
    "spec": {"type": "object", "description": "Configuration affecting network reachability of a sidecar. See more "
             "details at: https://istio.io/docs/reference/config/networking/sidecar.html",
             "properties": {
                 "egress": {"type": "array", "items": {"type": "object", "properties": {
                     "bind": _STR, "captureMode": {"type": "string", "enum": ["DEFAULT", "IPTABLES", "NONE"]},
                     "hosts": _STR_LIST, "port": _ANY}, "required": ["hosts"]}},
                 "ingress": {"type": "array", "items": _ANY},
                 "inboundConnectionPool": _ANY,
                 "outboundTrafficPolicy": {"type": "object", "properties": {
                     "egressProxy": _ANY,
                     "mode": {"type": "string", "enum": ["REGISTRY_ONLY", "ALLOW_ANY"]}}},
                 "workloadSelector": {"type": "object", "properties": {"labels": _STR_MAP}}}},
    "status": _ANY}}


def full_version(version: str) -> str:
    if re.fullmatch(r"\d+\.\d+\.\d+", version):
        return version
    if version in PATCH_RELEASES:
        return PATCH_RELEASES[version]
    if re.fullmatch(r"\d+\.\d+", version):
        return version + ".0"
    raise ValueError(f"not an Istio version: {version!r} (want e.g. 1.20, 1.24 or 1.24.3)")


def minor(version: str) -> tuple[int, int]:
    major, minor_ = version.split(".")[:2]
    return int(major), int(minor_)


_minor = minor  # older name


def served_versions(version: str) -> tuple[list[str], str]:
    """(served versions, storage version) of the networking CRDs in this release
    (manifests/charts/base/files/crd-all.gen.yaml of each release)."""
    at = minor(version)
    if at < (1, 22):
        return ["v1alpha3", "v1beta1"], "v1alpha3"
    if at < (1, 23):
        return ["v1", "v1alpha3", "v1beta1"], "v1alpha3"
    if at < (1, 27):
        return ["v1", "v1alpha3", "v1beta1"], "v1beta1"
    return ["v1", "v1alpha3", "v1beta1"], "v1"


def crd(kind: str, plural: str, short: str, columns: list[dict] | None, schema: dict, version: str) -> dict:
    served, storage = served_versions(version)
    names = {"categories": ["istio-io", "networking-istio-io"], "kind": kind, "listKind": f"{kind}List",
             "plural": plural, "singular": kind.lower()}
    if short:
        names["shortNames"] = [short]
    versions = []
    for v in served:
        entry = {"name": v, "served": True, "storage": v == storage, "schema": {"openAPIV3Schema": schema},
                 "subresources": {"status": {}}}
        if columns is not None:
            entry["additionalPrinterColumns"] = columns
        versions.append(entry)
    return {
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.networking.istio.io",
                     "annotations": {"helm.sh/resource-policy": "keep"},
                     "labels": {"app": "istio-pilot", "chart": "istio", "heritage": "Tiller",
                                "release": "istio"}},
        "spec": {"group": "networking.istio.io", "names": names, "scope": "Namespaced", "versions": versions}}


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
        # the Sidecar CRD has neither short names nor printer columns (crd-all.gen.yaml)
        crd("Sidecar", "sidecars", "", None, SIDECAR_SCHEMA, version),
    ]


# -- revisions ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Revision:
    """One control plane: `default` is istiod (what `istio-injection=enabled` picks), any other
    name is istiod-<name> (picked with the label `istio.io/rev=<name>`)."""

    name: str
    version: str

    @property
    def istiod(self) -> str:
        return "istiod" if self.name == DEFAULT_REVISION else f"istiod-{self.name}"

    @property
    def mesh_configmap(self) -> str:
        return "istio" if self.name == DEFAULT_REVISION else f"istio-{self.name}"


def parse_revision(text: str) -> Revision:
    """`NAME=VERSION` (for --revision): NAME is a DNS label, as istioctl's --revision."""
    name, sep, version = text.partition("=")
    if not sep or not re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", name) or name == DEFAULT_REVISION:
        raise ValueError(f"--revision {text!r}: want NAME=VERSION, NAME a DNS label other than "
                         f"'default' (e.g. canary=1.22 or 1-24=1.24)")
    return Revision(name, full_version(version))


def istiod_labels(version: str, revision: str = DEFAULT_REVISION) -> dict[str, str]:
    labels = {"app": "istiod", "istio": "pilot", "istio.io/rev": revision,
              "install.operator.istio.io/owning-resource": "installed-state",
              "operator.istio.io/component": "Pilot", "release": "istio"}
    if minor(version) < (1, 24):
        labels["operator.istio.io/version"] = version
    else:
        labels.update({"app.kubernetes.io/managed-by": "Helm", "app.kubernetes.io/instance": "istiod",
                       "app.kubernetes.io/part-of": "istio", "app.kubernetes.io/version": version,
                       "app.kubernetes.io/name": "istiod", "helm.sh/chart": f"istiod-{version}"})
    return labels


def istiod_deployment(version: str, alias: bool | None = None, revision: str = DEFAULT_REVISION,
                      ambient: bool = False) -> dict:
    """istio-discovery templates/deployment.yaml: the name, labels and selector of a revision."""
    env = [{"name": "REVISION", "value": revision},
           {"name": "PILOT_CERT_PROVIDER", "value": "istiod"},
           {"name": "POD_NAME", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.name"}}},
           {"name": "POD_NAMESPACE", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}}},
           {"name": "PILOT_TRACE_SAMPLING", "value": "1"},
           {"name": "PILOT_ENABLE_ANALYSIS", "value": "false"},
           {"name": "CLUSTER_ID", "value": "Kubernetes"}]
    if ambient:  # helm-profiles/ambient.yaml: pilot.env
        env.append({"name": "PILOT_ENABLE_AMBIENT", "value": "true"})
    if alias is not None:
        env.append({"name": "ENABLE_EXTERNAL_NAME_ALIAS", "value": "true" if alias else "false"})
    default = revision == DEFAULT_REVISION
    name = "istiod" if default else f"istiod-{revision}"
    pod_labels = {"app": "istiod", "istio": "pilot" if default else "istiod", "istio.io/rev": revision,
                  "sidecar.istio.io/inject": "false"}
    selector = {"istio": "pilot"} if default else {"app": "istiod", "istio.io/rev": revision}
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": SYSTEM_NAMESPACE, "labels": istiod_labels(version, revision)},
        "spec": {"replicas": 1, "selector": {"matchLabels": selector},
                 "template": {"metadata": {"labels": pod_labels,
                                           "annotations": {"prometheus.io/port": "15014",
                                                           "prometheus.io/scrape": "true",
                                                           "sidecar.istio.io/inject": "false"}},
                              "spec": {"serviceAccountName": name,
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


def mesh_config(version: str, revision: str = DEFAULT_REVISION, outbound_policy: str | None = None,
                ambient: bool = False) -> dict:
    """The `mesh` of istio-discovery templates/configmap.yaml with the chart's default values:
    tracing to zipkin up to 1.21 (values.yaml global.proxy.tracer), the ambient profile's
    ISTIO_META_ENABLE_HBONE, and meshConfig.outboundTrafficPolicy when set; Envoy's access log on
    (`accessLogFile: /dev/stdout`), as Istio's egress tasks ask before they begin
    (`istioctl install --set meshConfig.accessLogFile=/dev/stdout`, istio.io
    tasks/observability/logs/access-log)."""
    istiod = "istiod" if revision == DEFAULT_REVISION else f"istiod-{revision}"
    default_config: dict = {"discoveryAddress": f"{istiod}.{SYSTEM_NAMESPACE}.svc:15012"}
    if minor(version) < (1, 22):
        default_config["tracing"] = {"zipkin": {"address": f"zipkin.{SYSTEM_NAMESPACE}:9411"}}
    if ambient:
        default_config["proxyMetadata"] = {"ISTIO_META_ENABLE_HBONE": "true"}
    mesh = {"accessLogFile": "/dev/stdout", "defaultConfig": default_config,
            "defaultProviders": {"metrics": ["prometheus"]},
            "enablePrometheusMerge": True, "rootNamespace": SYSTEM_NAMESPACE, "trustDomain": "cluster.local"}
    if outbound_policy:
        mesh["outboundTrafficPolicy"] = {"mode": outbound_policy}
    return mesh


def mesh_configmap(version: str, revision: str = DEFAULT_REVISION, outbound_policy: str | None = None,
                   ambient: bool = False) -> dict:
    name = "istio" if revision == DEFAULT_REVISION else f"istio-{revision}"
    text = yaml.safe_dump(mesh_config(version, revision, outbound_policy, ambient), sort_keys=True).rstrip("\n")
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": SYSTEM_NAMESPACE,
                         "labels": {"istio.io/rev": revision, "install.operator.istio.io/owning-resource": "unknown",
                                    "operator.istio.io/component": "Pilot", "release": "istio",
                                    "app.kubernetes.io/name": "istiod"}},
            "data": {"meshNetworks": "networks: {}", "mesh": text}}


MESH_WIDE_MTLS = {
    "kind": "DestinationRule",
    "metadata": {"name": "default", "namespace": SYSTEM_NAMESPACE},
    "spec": {"host": "*.local", "trafficPolicy": {"tls": {"mode": "ISTIO_MUTUAL"}}},
}


def install(cluster: "Cluster", revisions: list[Revision], outbound_policy: str | None = None,
            ambient: bool = False) -> None:
    """Install the control planes (the default revision, if any, first) and what comes with them."""
    from . import ambient as ambient_mode

    api, kinds = cluster.api, cluster.kinds
    newest = max((r.version for r in revisions), key=lambda v: tuple(int(x) for x in v.split(".")))
    ns_kind = kinds.get("", "v1", "namespaces")
    api.create_object(ns_kind, {"apiVersion": "v1", "kind": "Namespace",
                                "metadata": {"name": SYSTEM_NAMESPACE}}, manager="istioctl")
    crd_kind = kinds.get("apiextensions.k8s.io", "v1", "customresourcedefinitions")
    for definition in crds(newest):  # CRDs are cluster-wide: the newest release's base chart
        api.create_object(crd_kind, definition, manager="istio-operator", apply=True)
    deploy_kind = kinds.get("apps", "v1", "deployments")
    cm_kind = kinds.get("", "v1", "configmaps")
    for rev in revisions:
        api.create_object(cm_kind, mesh_configmap(rev.version, rev.name, outbound_policy, ambient),
                          manager="istio-operator", apply=True)
        api.create_object(deploy_kind, istiod_deployment(rev.version, revision=rev.name, ambient=ambient),
                          manager="istio-operator", apply=True)
    if ambient:
        ambient_mode.install(cluster, newest)
    if any(r.name == DEFAULT_REVISION for r in revisions):
        default_ns = cluster.store.get(ns_kind.key, "", "default")
        before = copy.deepcopy(default_ns)
        label = ("istio.io/dataplane-mode", "ambient") if ambient else ("istio-injection", "enabled")
        default_ns["metadata"].setdefault("labels", {})[label[0]] = label[1]
        api.system_update(ns_kind, before, default_ns, "kubectl-label")
        cluster.store.put(ns_kind.key, default_ns, "MODIFIED")
        cluster.hooks_for("/namespaces", "MODIFIED", default_ns, before)
    dr_kind = kinds.by_key("networking.istio.io/destinationrules")
    rule = dict(MESH_WIDE_MTLS, apiVersion=dr_kind.api_version())
    api.create_object(dr_kind, rule, manager="kubectl-create")


# -- control-plane facts, read back from the cluster ------------------------------------------------
def istiods(store: "Store") -> dict[str, dict]:
    """The istiod Deployments in istio-system by revision (label istio.io/rev, `default` for istiod)."""
    out = {}
    for deploy in store.scan("apps/deployments", SYSTEM_NAMESPACE):
        labels = deploy["metadata"].get("labels") or {}
        if labels.get("app") == "istiod":
            out[labels.get("istio.io/rev") or DEFAULT_REVISION] = deploy
    return out


def istiod_version(deploy: dict) -> str:
    """The version an istiod runs: its discovery container's image tag."""
    for container in deploy.get("spec", {}).get("template", {}).get("spec", {}).get("containers") or []:
        if container.get("name") == "discovery":
            tag = container.get("image", "").rpartition(":")[2]
            if re.fullmatch(r"\d+\.\d+\.\d+.*", tag):
                return tag.split("-")[0]
    return ""


def istiod_env(deploy: dict) -> dict[str, str]:
    """istiod's literal environment variables (valueFrom ones are not flags)."""
    env: dict[str, str] = {}
    for container in deploy.get("spec", {}).get("template", {}).get("spec", {}).get("containers") or []:
        if container.get("name") == "discovery":
            env.update({v["name"]: str(v.get("value", "")) for v in container.get("env") or [] if "name" in v
                        and "valueFrom" not in v})
    return env


def _flag(env: dict[str, str], name: str, default: bool) -> bool:
    """pkg/env: a boolean variable parsed with strconv.ParseBool; unset or unparsable: the default."""
    value = env.get(name)
    if value is None:
        return default
    lowered = value.strip()
    if lowered in ("1", "t", "T", "TRUE", "true", "True"):
        return True
    if lowered in ("0", "f", "F", "FALSE", "false", "False"):
        return False
    return default


def external_name_alias(version: str, env: dict[str, str]) -> bool:
    """Does this istiod treat ExternalName Services as DNS aliases?

    pilot/pkg/features: ENABLE_EXTERNAL_NAME_ALIAS first appears in 1.20 (default false), defaults
    to true from 1.21, and is removed in 1.24 together with the 1.20 compatibility profile
    (istio commit 3cb62000738 "Drop 1.20 compatibility version", #52317; release note
    compatibility-version-1-20): from 1.24 alias mode is the only mode and the variable is not read.
    The compatibility profile (compatibilityVersion 1.20) sets the variable to false on istiod.
    """
    at = minor(version)
    if at < (1, 20):
        return False
    if at >= (1, 24):
        return True
    return _flag(env, "ENABLE_EXTERNAL_NAME_ALIAS", at >= (1, 21))


def read_mesh_config(store: "Store", revision: str) -> dict:
    """The mesh config of a revision: ConfigMap istio (or istio-<rev>), key `mesh`, YAML."""
    name = "istio" if revision == DEFAULT_REVISION else f"istio-{revision}"
    cm = store.get("/configmaps", SYSTEM_NAMESPACE, name) or {}
    text = (cm.get("data") or {}).get("mesh") or ""
    if text not in _MESH_CACHE:
        try:
            mesh = yaml.safe_load(text) or {}
        except yaml.YAMLError:
            mesh = {}  # istiod keeps its last good mesh config; a broken one configures nothing new
        if len(_MESH_CACHE) > 64:
            _MESH_CACHE.clear()
        _MESH_CACHE[text] = mesh if isinstance(mesh, dict) else {}
    return copy.deepcopy(_MESH_CACHE[text])


_MESH_CACHE: dict[str, dict] = {}  # mesh text -> parsed (the data plane reads it per connection)
