"""The local cluster's Istio as each release installs it: revisions, mesh config, sidecar injection
(native or not), ambient's ztunnel and CNI, and the pod proxy to ztunnel's metrics. The rules are
tables with their upstream source named; the rest runs against the server through real kubectl."""
import json
import subprocess
import sys

import pytest
import yaml

from tests.apiserver import ambient, injection, istio
from tests.apiserver.network import has_sidecar

ROOT = __import__("pathlib").Path(__file__).resolve().parent.parent


# -- pure rules ---------------------------------------------------------------------------------------
def ns(**labels):
    return {"metadata": {"name": "apps", "labels": labels}}


def pod(labels=None, annotations=None, **spec):
    return {"metadata": {"namespace": "apps", "labels": labels or {}, "annotations": annotations or {}},
            "spec": {"containers": [{"name": "app"}], **spec}}


# istio-discovery templates/mutatingwebhook.yaml: which revision's webhook a new pod meets
WEBHOOK_CASES = [
    (ns(**{"istio-injection": "enabled"}), pod(), "default"),
    (ns(**{"istio-injection": "enabled"}), pod({"sidecar.istio.io/inject": "false"}), None),
    (ns(**{"istio-injection": "disabled"}), pod(), None),
    (ns(**{"istio-injection": "disabled"}), pod({"sidecar.istio.io/inject": "true"}), None),
    (ns(**{"istio.io/rev": "canary"}), pod(), "canary"),
    (ns(**{"istio.io/rev": "default"}), pod(), "default"),
    (ns(**{"istio.io/rev": "missing"}), pod(), None),
    # "if both revision and legacy selector, we give precedence to the legacy one"
    (ns(**{"istio-injection": "enabled", "istio.io/rev": "canary"}), pod(), "default"),
    (ns(), pod({"istio.io/rev": "canary"}), "canary"),
    (ns(), pod({"sidecar.istio.io/inject": "true"}), "default"),
    (ns(), pod({"sidecar.istio.io/inject": "true", "istio.io/rev": "canary"}), "canary"),
    (ns(), pod(), None),
    (ns(**{"istio.io/dataplane-mode": "ambient"}), pod(), None),
    # the namespace label wins over a pod's revision label
    (ns(**{"istio.io/rev": "canary"}), pod({"istio.io/rev": "default"}), "canary"),
]


@pytest.mark.parametrize("namespace,new_pod,want", WEBHOOK_CASES)
def test_the_webhook_that_selects_a_pod(namespace, new_pod, want):
    assert injection.select_revision(new_pod, namespace, ["default", "canary"]) == want


@pytest.mark.parametrize("labels,annotations,spec,want", [  # inject.go injectRequired
    ({}, {}, {}, True),
    ({}, {"sidecar.istio.io/inject": "false"}, {}, False),
    ({"sidecar.istio.io/inject": "true"}, {"sidecar.istio.io/inject": "false"}, {}, True),  # the label wins
    ({}, {"sidecar.istio.io/inject": "yes"}, {}, True),
    ({}, {}, {"hostNetwork": True}, False),
])
def test_inject_required(labels, annotations, spec, want):
    assert injection.inject_required(pod(labels, annotations, **spec)) is want


@pytest.mark.parametrize("version,env,kubelets,want", [
    # pilot/pkg/features ENABLE_NATIVE_SIDECARS: off by default up to 1.26
    ("1.20.8", {}, ["v1.33.1"], False),
    ("1.24.3", {}, ["v1.33.1"], False),
    ("1.24.3", {"ENABLE_NATIVE_SIDECARS": "true"}, ["v1.33.1"], True),
    ("1.26.8", {}, ["v1.33.1"], False),
    # 1.27+: "auto", native where every kubelet is 1.33+ (webhook.go DetectNativeSidecar, istio#56918)
    ("1.27.9", {}, ["v1.33.1"], True),
    ("1.28.10", {}, ["v1.33.1"], True),
    ("1.28.10", {}, ["v1.33.1", "v1.32.4"], False),
    ("1.28.10", {"ENABLE_NATIVE_SIDECARS": "false"}, ["v1.33.1"], False),
    ("1.28.10", {"ENABLE_NATIVE_SIDECARS": "true"}, ["v1.30.0"], True),
    ("1.28.10", {"ENABLE_NATIVE_SIDECARS": "nonsense"}, ["v1.33.1"], False),
])
def test_native_sidecars_by_version(version, env, kubelets, want):
    assert injection.native_sidecars(version, env, kubelets) is want


@pytest.mark.parametrize("default,version,annotation,want", [
    # injection-template.yaml $nativeSidecar: no annotation before 1.24
    (False, "1.22.8", "true", False),
    (False, "1.24.3", "true", True), (True, "1.24.3", "false", False), (True, "1.24.3", "yes", False),
    (True, "1.28.10", "false", False), (False, "1.28.10", "true", True), (False, "1.28.10", "yes", True),
    (True, "1.28.10", None, True),
])
def test_the_native_sidecar_annotation(default, version, annotation, want):
    notes = {} if annotation is None else {"sidecar.istio.io/nativeSidecar": annotation}
    assert injection.native_for_pod(default, version, notes) is want


@pytest.mark.parametrize("version,env,want", [
    ("1.19.10", {}, False),
    ("1.20.8", {}, False), ("1.20.8", {"ENABLE_EXTERNAL_NAME_ALIAS": "true"}, True),
    ("1.21.6", {}, True), ("1.22.8", {"ENABLE_EXTERNAL_NAME_ALIAS": "false"}, False),
    ("1.23.6", {"ENABLE_EXTERNAL_NAME_ALIAS": "false"}, False),
    ("1.23.6", {"ENABLE_EXTERNAL_NAME_ALIAS": "maybe"}, True),  # unparsable: the default
    # gone in 1.24 (istio #52317, release note compatibility-version-1-20)
    ("1.24.3", {"ENABLE_EXTERNAL_NAME_ALIAS": "false"}, True), ("1.28.10", {}, True),
])
def test_external_name_alias_by_version(version, env, want):
    assert istio.external_name_alias(version, env) is want


def containers(*names, init=()):
    """A pod spec from Istio's injection golden files (pkg/kube/inject/testdata/inject/*.injected)."""
    return {"spec": {"containers": [{"name": n} for n in names],
                     "initContainers": [{"name": n, **({"restartPolicy": r} if r else {})} for n, r in init]}}


@pytest.mark.parametrize("spec,want", [
    (containers("hello", "istio-proxy", init=[("istio-init", None)]), True),  # 1.24 hello.yaml.injected
    (containers("hello", init=[("istio-init", None), ("istio-proxy", "Always")]), True),  # 1.28 hello / native-sidecar
    (containers("hello", init=[("istio-init", None), ("istio-proxy", "Always"), ("other-sidecar", "Always")]),
     True),  # native-sidecar-opt-in.yaml.injected
    (containers("hello", init=[("istio-proxy", "Always"), ("init-one", None)]), True),  # init-no-intercept-no-native
    (containers("hello", "istio-proxy", init=[("istio-init", None)]), True),  # native-sidecar-opt-out
    (containers("hello"), False),
    # an init container that is not restartable has exited before the app runs (KEP-753)
    (containers("hello", init=[("istio-proxy", None)]), False),
    (containers("hello", init=[("istio-proxy", "OnFailure")]), False),
    (containers("istio-proxy-like", init=[("other-sidecar", "Always")]), False),
])
def test_sidecar_detection(spec, want):
    assert has_sidecar(spec) is want


@pytest.mark.parametrize("ns_labels,pod_labels,annotations,host_network,want", [  # podutil.go PodRedirectionEnabled
    ({"istio.io/dataplane-mode": "ambient"}, {}, {}, False, True),
    ({}, {"istio.io/dataplane-mode": "ambient"}, {}, False, True),
    ({}, {}, {}, False, False),
    ({"istio.io/dataplane-mode": "ambient"}, {"istio.io/dataplane-mode": "none"}, {}, False, False),
    ({"istio.io/dataplane-mode": "ambient"}, {}, {"sidecar.istio.io/status": "{}"}, False, False),
    ({"istio.io/dataplane-mode": "ambient"}, {}, {}, True, False),
])
def test_ambient_redirection(ns_labels, pod_labels, annotations, host_network, want):
    new = pod(pod_labels, annotations, hostNetwork=host_network)
    assert ambient.redirection_enabled(ns(**ns_labels), new) is want


# -- against the server ---------------------------------------------------------------------------------
CURL = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: curl, namespace: %s}
spec:
  selector: {matchLabels: {app: curl}}
  template:
    metadata: {labels: {app: curl}, annotations: %s}
    spec:
      containers: [{name: curl, image: curlimages/curl, command: ["/bin/sleep", "infinity"]}]
"""


def deploy_curl(kubectl, namespace="default", annotations="{}", *labels):
    if namespace != "default":
        kubectl("create", "namespace", namespace)
    if labels:
        kubectl("label", "namespace", namespace, *labels)
    assert kubectl("apply", "-f", "-", input=CURL % (namespace, annotations)).code == 0
    waited = kubectl("wait", "--for=condition=Ready", "pod", "-l", "app=curl", "-n", namespace, "--timeout=20s")
    assert waited.code == 0, waited.err
    return json.loads(kubectl("get", "pod", "-l", "app=curl", "-n", namespace, "-o", "json").out)["items"][0]


def names(items):
    return [c["name"] for c in items or []]


def test_istio_128_injects_a_native_sidecar(make_apiserver, kubectl):
    make_apiserver("1.28")
    curl = deploy_curl(kubectl)
    assert names(curl["spec"]["containers"]) == ["curl"]
    assert names(curl["spec"]["initContainers"]) == ["istio-init", "istio-proxy"]
    assert curl["spec"]["initContainers"][1]["restartPolicy"] == "Always"
    assert curl["spec"]["initContainers"][1]["image"] == "docker.io/istio/proxyv2:1.28.10"
    notes = curl["metadata"]["annotations"]
    assert notes["istio.io/rev"] == "default"
    status = json.loads(notes["sidecar.istio.io/status"])
    assert (status["initContainers"], status["containers"]) == (["istio-init", "istio-proxy"], None)
    statuses = {s["name"]: s for s in curl["status"]["initContainerStatuses"]}
    assert statuses["istio-init"]["state"]["terminated"]["reason"] == "Completed"
    assert "running" in statuses["istio-proxy"]["state"]
    assert "2/2     Running" in kubectl("get", "pods").out  # kubectl counts the native sidecar


def test_istio_124_injects_a_container_unless_the_pod_asks_for_native(make_apiserver, kubectl):
    make_apiserver("1.24")
    curl = deploy_curl(kubectl)
    assert names(curl["spec"]["containers"]) == ["curl", "istio-proxy"]
    assert names(curl["spec"]["initContainers"]) == ["istio-init"]
    native = deploy_curl(kubectl, "opted-in", '{"sidecar.istio.io/nativeSidecar": "true"}', "istio-injection=enabled")
    assert names(native["spec"]["containers"]) == ["curl"]
    assert names(native["spec"]["initContainers"]) == ["istio-init", "istio-proxy"]


def test_revisions_inject_their_own_version(make_apiserver, kubectl):
    make_apiserver("1.24", revisions={"canary": "1.22"})
    deployments = kubectl("get", "deploy", "-n", "istio-system", "-L", "istio.io/rev").out.splitlines()
    assert [line.split()[0] for line in deployments[1:]] == ["istiod", "istiod-canary"]
    assert [line.split()[-1] for line in deployments[1:]] == ["default", "canary"]
    mesh = yaml.safe_load(kubectl("get", "cm", "istio-canary", "-n", "istio-system",
                                  "-o", "jsonpath={.data.mesh}").out)
    assert mesh["defaultConfig"]["discoveryAddress"] == "istiod-canary.istio-system.svc:15012"
    kubectl("create", "namespace", "canary-apps")
    kubectl("label", "namespace", "canary-apps", "istio.io/rev=canary")
    assert kubectl("apply", "-f", "-", input=CURL % ("canary-apps", "{}")).code == 0
    kubectl("wait", "--for=condition=Ready", "pod", "-l", "app=curl", "-n", "canary-apps", "--timeout=20s")
    canary = json.loads(kubectl("get", "pod", "-n", "canary-apps", "-o", "json").out)["items"][0]
    proxy = next(c for c in canary["spec"]["containers"] if c["name"] == "istio-proxy")
    assert proxy["image"] == "docker.io/istio/proxyv2:1.22.8"
    assert canary["metadata"]["annotations"]["istio.io/rev"] == "canary"
    assert json.loads(canary["metadata"]["annotations"]["sidecar.istio.io/status"])["revision"] == "canary"
    # a namespace asking for a revision that does not exist gets no sidecar
    kubectl("create", "namespace", "nowhere")
    kubectl("label", "namespace", "nowhere", "istio.io/rev=1-99")
    kubectl("apply", "-f", "-", input=CURL % ("nowhere", "{}"))
    kubectl("wait", "--for=condition=Ready", "pod", "-l", "app=curl", "-n", "nowhere", "--timeout=20s")
    lone = json.loads(kubectl("get", "pod", "-n", "nowhere", "-o", "json").out)["items"][0]
    assert names(lone["spec"]["containers"]) == ["curl"] and "initContainers" not in lone["spec"]


def test_mesh_config_and_the_outbound_policy(make_apiserver, kubectl):
    make_apiserver("1.20", outbound_policy="REGISTRY_ONLY")
    mesh = yaml.safe_load(kubectl("get", "configmap", "istio", "-n", "istio-system",
                                  "-o", "jsonpath={.data.mesh}").out)
    assert mesh["outboundTrafficPolicy"] == {"mode": "REGISTRY_ONLY"}
    assert mesh["rootNamespace"] == "istio-system"
    assert mesh["defaultConfig"]["tracing"]["zipkin"]["address"] == "zipkin.istio-system:9411"  # 1.20's tracer
    crds = kubectl("get", "crd", "-o", "name").out.split()
    assert "customresourcedefinition.apiextensions.k8s.io/sidecars.networking.istio.io" in crds
    sidecar = "apiVersion: networking.istio.io/v1beta1\nkind: Sidecar\nmetadata: {name: default}\n" \
              "spec: {outboundTrafficPolicy: {mode: ALLOW_ANY}}\n"
    assert kubectl("apply", "-f", "-", input=sidecar).code == 0
    bad = kubectl("apply", "-f", "-", input=sidecar.replace("ALLOW_ANY", "BLOCK"))
    assert bad.code == 1 and 'Unsupported value: "BLOCK"' in bad.err


def test_ambient_installs_ztunnel_and_enrolls_pods(make_apiserver, kubectl):
    make_apiserver("1.24", ambient=True)
    table = kubectl("get", "ds", "-n", "istio-system").out.splitlines()
    assert table[0].split() == ["NAME", "DESIRED", "CURRENT", "READY", "UP-TO-DATE", "AVAILABLE", "NODE",
                                "SELECTOR", "AGE"]
    assert [line.split()[:6] for line in table[1:]] == [["istio-cni-node", "1", "1", "1", "1", "1"],
                                                        ["ztunnel", "1", "1", "1", "1", "1"]]
    assert kubectl("get", "ns", "default", "-o", "jsonpath={.metadata.labels.istio\\.io/dataplane-mode}").out \
        == "ambient"
    curl = deploy_curl(kubectl)
    assert names(curl["spec"]["containers"]) == ["curl"]  # no injection in an ambient namespace
    assert curl["metadata"]["annotations"][ambient.REDIRECTION] == "enabled"
    # the node agent follows the namespace label, writing through pods/status as install-cni
    kubectl("create", "namespace", "later")
    later = deploy_curl(kubectl, "later")
    assert ambient.REDIRECTION not in later["metadata"].get("annotations", {})
    kubectl("label", "namespace", "later", "istio.io/dataplane-mode=ambient")
    got = json.loads(kubectl("get", "pod", "-n", "later", "-o", "json", "--show-managed-fields").out)["items"][0]
    assert got["metadata"]["annotations"][ambient.REDIRECTION] == "enabled"
    writer = [m for m in got["metadata"]["managedFields"] if m["manager"] == "install-cni"]
    assert writer and writer[0]["subresource"] == "status"
    kubectl("label", "pod", "-n", "later", "--all", "istio.io/dataplane-mode=none")
    got = json.loads(kubectl("get", "pod", "-n", "later", "-o", "json").out)["items"][0]
    assert ambient.REDIRECTION not in got["metadata"].get("annotations", {})


def test_ztunnel_metrics_through_the_pod_proxy(make_apiserver, kubectl):
    make_apiserver("1.28", ambient=True)
    kubectl("wait", "--for=condition=Ready", "pod", "-l", "app=ztunnel", "-n", "istio-system", "--timeout=20s")
    zt = kubectl("get", "pod", "-n", "istio-system", "-l", "app=ztunnel", "-o", "jsonpath={.items[0].metadata.name}").out
    base = f"/api/v1/namespaces/istio-system/pods/{zt}:15020/proxy"
    metrics = kubectl("get", "--raw", base + "/metrics")
    assert metrics.code == 0, metrics.err
    assert 'istio_build{component="ztunnel",tag="1.28.10"} 1' in metrics.out
    assert "# TYPE istio_tcp_connections_opened counter" in metrics.out and metrics.out.endswith("# EOF\n")
    assert kubectl("get", "--raw", base + "/stats/prometheus").out == metrics.out
    assert kubectl("get", "--raw", base + "/nope").code == 1  # 404 from ztunnel's stats server
    refused = kubectl("get", "--raw", f"/api/v1/namespaces/istio-system/pods/{zt}:15021/proxy/")
    assert refused.code == 1 and "ServiceUnavailable" in refused.err
    missing = kubectl("get", "--raw", "/api/v1/namespaces/istio-system/pods/nope:15020/proxy/metrics")
    assert 'pods "nope" not found' in missing.err
    bad = kubectl("get", "--raw", f"/api/v1/namespaces/istio-system/pods/ftp:{zt}:15020/proxy/metrics")
    assert "invalid pod request" in bad.err


@pytest.mark.parametrize("args,message", [
    (["--revision", "canary"], "want NAME=VERSION"),
    (["--revision", "default=1.22"], "other than 'default'"),
    (["--revision", "canary=latest"], "not an Istio version"),
    (["--revision", "a=1.22", "--revision", "a=1.24"], "each NAME once"),
    (["--outbound-policy", "BLOCK"], "invalid choice"),
    (["--istio", "none", "--ambient"], "need Istio"),
])
def test_bad_mesh_flags(tmp_path, args, message):
    res = subprocess.run([sys.executable, "-m", "tests.apiserver", "--kubeconfig", str(tmp_path / "kc"), *args],
                         cwd=ROOT, capture_output=True, text=True, timeout=30)
    assert res.returncode == 2 and message in res.stderr, res.stderr


def test_revisions_without_a_default(make_apiserver, kubectl):
    """`--istio none --revision 1-24=1.24`: only a revisioned control plane, so istio-injection=enabled
    finds no webhook (there is no default revision) while istio.io/rev=1-24 does."""
    srv = make_apiserver(None, revisions={"1-24": "1.24"})
    deployments = srv.request("GET", "/apis/apps/v1/namespaces/istio-system/deployments")[2]["items"]
    assert [d["metadata"]["name"] for d in deployments] == ["istiod-1-24"]
    assert "istio-injection" not in kubectl("get", "ns", "default", "--show-labels").out
    plain = deploy_curl(kubectl, "legacy-label", "{}", "istio-injection=enabled")
    assert names(plain["spec"]["containers"]) == ["curl"]
    revised = deploy_curl(kubectl, "revised", "{}", "istio.io/rev=1-24")
    assert names(revised["spec"]["containers"]) == ["curl", "istio-proxy"]


SERVICE_ENTRY = """
apiVersion: networking.istio.io/v1beta1
kind: ServiceEntry
metadata: {name: %s, labels: %s}
spec: {hosts: [%s], ports: [{number: 80, name: http, protocol: HTTP}], resolution: %s}
"""


def se_status(kubectl, name):
    return kubectl("get", "se", name, "-o", "jsonpath={.status.addresses[*].value}").out


def test_service_entry_addresses_from_istiod(make_apiserver, kubectl):
    """pilot/pkg/controllers/ipallocate: on by default from 1.25, per host, never for resolution
    NONE, user addresses, or the opt-out label."""
    make_apiserver("1.28")
    for name, labels, hosts, resolution in (("one", "{}", "a.example, b.example", "DNS"),
                                            ("none", "{}", "c.example", "NONE"),
                                            ("optout", "{networking.istio.io/enable-autoallocate-ip: 'false'}",
                                             "d.example", "DNS")):
        assert kubectl("apply", "-f", "-", input=SERVICE_ENTRY % (name, labels, hosts, resolution)).code == 0
    assert se_status(kubectl, "one") == "240.240.0.1 2001:2::1 240.240.0.2 2001:2::2"
    assert se_status(kubectl, "none") == se_status(kubectl, "optout") == ""
    managed = json.loads(kubectl("get", "se", "one", "-o", "json", "--show-managed-fields").out)
    assert [(m["manager"], m.get("subresource")) for m in managed["metadata"]["managedFields"]][-1] == \
        ("pilot-discovery", "status")


def test_service_entry_addresses_are_opt_in_before_125(make_apiserver, kubectl):
    make_apiserver("1.24")
    kubectl("apply", "-f", "-", input=SERVICE_ENTRY % ("one", "{}", "a.example", "DNS"))
    assert se_status(kubectl, "one") == ""
    kubectl("set", "env", "deploy/istiod", "-n", "istio-system", "PILOT_ENABLE_IP_AUTOALLOCATE=true")
    kubectl("apply", "-f", "-", input=SERVICE_ENTRY % ("two", "{}", "b.example", "DNS"))
    assert se_status(kubectl, "two") == "240.240.0.1 2001:2::1"


def test_waypoints_are_deployed_by_istiod(make_apiserver, kubectl):
    make_apiserver("1.28", ambient=True)
    classes = kubectl("get", "gatewayclass").out.splitlines()
    assert [line.split()[:3] for line in classes] == [["NAME", "CONTROLLER", "ACCEPTED"],
                                                       ["istio", "istio.io/gateway-controller", "True"],
                                                       ["istio-waypoint", "istio.io/mesh-controller", "True"]]
    kubectl("create", "namespace", "istio-egress")
    gateway = ("apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata: {name: waypoint, namespace: "
               "istio-egress}\nspec: {gatewayClassName: istio-waypoint, listeners: [{name: mesh, port: 15008, "
               "protocol: HBONE}]}\n")
    assert kubectl("apply", "-f", "-", input=gateway).code == 0
    assert kubectl("wait", "--for=condition=Programmed", "gtw/waypoint", "-n", "istio-egress", "--timeout=20s").code == 0
    ip = kubectl("get", "svc", "waypoint", "-n", "istio-egress", "-o", "jsonpath={.spec.clusterIP}").out
    row = kubectl("get", "gtw", "-n", "istio-egress").out.splitlines()[1].split()
    assert row[:4] == ["waypoint", "istio-waypoint", ip, "True"]
    deploy = json.loads(kubectl("get", "deploy", "waypoint", "-n", "istio-egress", "-o", "json").out)
    assert deploy["metadata"]["ownerReferences"][0]["kind"] == "Gateway"
    template = deploy["spec"]["template"]
    assert template["metadata"]["labels"]["istio.io/dataplane-mode"] == "none"
    assert template["spec"]["containers"][0]["args"][:2] == ["proxy", "waypoint"]
    ports = kubectl("get", "svc", "waypoint", "-n", "istio-egress", "-o", "jsonpath={.spec.ports[*].port}").out
    assert ports == "15021 15008"
    missing = gateway.replace("listeners: [{name: mesh, port: 15008, protocol: HBONE}]", "listeners: [{port: 1}]")
    bad = kubectl("apply", "-f", "-", input=missing.replace("name: waypoint,", "name: broken,"))
    assert bad.code == 1 and "spec.listeners[0].name: Required value" in bad.err


@pytest.mark.parametrize("native,cni,inits,containers", [  # webhook.go reorderPod
    (False, False, ["user-init", "istio-init"], ["app", "istio-proxy"]),
    (False, True, ["istio-validation", "user-init"], ["app", "istio-proxy"]),
    (True, False, ["istio-init", "istio-proxy", "user-init"], ["app"]),
    (True, True, ["istio-validation", "istio-proxy", "user-init"], ["app"]),
])
def test_where_the_injector_puts_its_containers(native, cni, inits, containers):
    new = {"metadata": {"generateName": "web-5d8f7b9c4-", "labels": {"app": "web"}},
           "spec": {"initContainers": [{"name": "user-init"}], "containers": [{"name": "app"}]}}
    injection.inject(new, "canary", "1.28.10", native, cni)
    assert names(new["spec"]["initContainers"]) == inits and names(new["spec"]["containers"]) == containers
    status = json.loads(new["metadata"]["annotations"]["sidecar.istio.io/status"])
    first = "istio-validation" if cni else "istio-init"
    assert status["initContainers"] == ([first, "istio-proxy"] if native else [first])
    assert status["containers"] == (None if native else ["istio-proxy"])
    assert status["revision"] == "canary" and new["metadata"]["annotations"]["istio.io/rev"] == "canary"
    assert new["metadata"]["labels"]["service.istio.io/canonical-name"] == "web"


@pytest.mark.parametrize("version,served,storage,version_label", [
    # manifests/charts/base/files/crd-all.gen.yaml of each release; the operator's labels before 1.24,
    # Helm's from 1.24 (istio-discovery templates)
    ("1.20", ["v1alpha3", "v1beta1"], "v1alpha3", "operator.istio.io/version"),
    ("1.22", ["v1", "v1alpha3", "v1beta1"], "v1alpha3", "operator.istio.io/version"),
    ("1.24", ["v1", "v1alpha3", "v1beta1"], "v1beta1", "app.kubernetes.io/version"),
    ("1.28", ["v1", "v1alpha3", "v1beta1"], "v1", "app.kubernetes.io/version"),
])
def test_each_release_installs_its_own(version, served, storage, version_label):
    full = istio.full_version(version)
    for definition in istio.crds(full):
        versions = definition["spec"]["versions"]
        assert [v["name"] for v in versions] == served
        assert [v["name"] for v in versions if v["storage"]] == [storage]
    deploy = istio.istiod_deployment(full, revision="canary")
    assert deploy["metadata"]["name"] == "istiod-canary"
    assert deploy["metadata"]["labels"][version_label] == full
    assert deploy["spec"]["selector"]["matchLabels"] == {"app": "istiod", "istio.io/rev": "canary"}
    assert istio.istiod_version(deploy) == full
    assert [c["metadata"]["name"] for c in istio.crds(full)] == [
        "destinationrules.networking.istio.io", "serviceentries.networking.istio.io",
        "virtualservices.networking.istio.io", "sidecars.networking.istio.io"]
