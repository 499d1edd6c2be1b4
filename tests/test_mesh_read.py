"""Reading the mesh from the cluster (mesh/detect.py) against the local cluster, in one lean test: the
istiod revisions with their mesh config, the namespaces asked about (a missing one known to be missing),
the Sidecar resources of those namespaces and of the root namespace, ztunnel, and --istio-mode."""
import importlib

from kubectl_egress.app import App
from kubectl_egress.mesh import Ambient, Revision
from kubectl_egress.mesh.policy import MeshConfig
from tests.test_commands import kubectl_apply

detect = importlib.import_module("kubectl_egress.mesh.detect")  # the package re-exports a function of that name

OBJECTS = """
apiVersion: v1
kind: Namespace
metadata: {name: a, labels: {istio.io/rev: canary}}
---
apiVersion: v1
kind: Namespace
metadata: {name: b, labels: {istio.io/rev: stable}}
---
apiVersion: v1
kind: Namespace
metadata: {name: c, labels: {istio-injection: enabled}}
---
apiVersion: v1
kind: Namespace
metadata: {name: mesh-root}
---
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: default, namespace: a}
spec: {outboundTrafficPolicy: {mode: ALLOW_ANY}}
---
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: default, namespace: istio-system}
spec: {egress: [{hosts: ["./*"]}]}
---
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: other, namespace: c}
spec: {egress: [{hosts: ["./*"]}]}
---
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: default, namespace: mesh-root}
spec: {egress: [{hosts: ["*/*"]}]}
---
# not an istiod: a gateway beside them, which is no control plane (and sorts first)
apiVersion: apps/v1
kind: Deployment
metadata: {name: istio-egressgateway, namespace: istio-system, labels: {app: istio-egressgateway}}
spec:
  replicas: 0
  selector: {matchLabels: {app: istio-egressgateway}}
  template:
    metadata: {labels: {app: istio-egressgateway}}
    spec: {containers: [{name: istio-proxy, image: "docker.io/istio/proxyv2:1.23.6"}]}
"""


def sidecar_names(facts):
    return [(s["metadata"]["namespace"], s["metadata"]["name"]) for s in facts.sidecars]


def test_what_the_mesh_facts_read(make_apiserver, kubectl):
    make_apiserver("1.23", revisions={"canary": "1.28"}, outbound_policy="REGISTRY_ONLY", ambient=True)
    kubectl_apply(kubectl, OBJECTS)
    # the canary's mesh config moves its root namespace (meshConfig.rootNamespace)
    assert kubectl("patch", "configmap", "istio-canary", "-n", "istio-system", "--type", "merge", "-p",
                   '{"data": {"mesh": "outboundTrafficPolicy:\\n  mode: ALLOW_ANY\\nrootNamespace: mesh-root\\n"}}'
                   ).code == 0
    kube = App.from_raw({}).kube()

    facts = detect.read(kube, namespaces=["a", "b", "missing", "a"])
    assert (facts.networking_version, facts.istiod_known, facts.override) == ("v1", True, "auto")
    assert facts.revisions == {
        "default": Revision("default", "istiod", "1.23.6", True, "istiod 1.23.6 leaves ENABLE_EXTERNAL_NAME_ALIAS "
                            "unset, on by default from 1.21", "REGISTRY_ONLY", "mesh config istio-system/istio",
                            "istio-system"),
        "canary": Revision("canary", "istiod-canary", "1.28.10", True, "istiod-canary 1.28.10: alias is the only "
                           "mode from 1.24", "ALLOW_ANY", "mesh config istio-system/istio-canary", "mesh-root")}
    assert facts.configs == {"default": MeshConfig("REGISTRY_ONLY", "istio-system", True),
                             "canary": MeshConfig("ALLOW_ANY", "mesh-root", True)}
    assert {k: v and v["metadata"]["labels"].get("istio.io/rev") for k, v in facts.namespaces.items()} == {
        "a": "canary", "b": "stable", "missing": None}
    # b asks for a revision no istiod serves: the tags are read (the webhooks are not served here: none)
    assert (facts.tags, facts.tags_known) == ({}, True)
    assert sidecar_names(facts) == [("a", "default"), ("c", "other"), ("istio-system", "default"),
                                    ("mesh-root", "default")]
    assert facts.ambient == Ambient("1.28.10")

    everywhere = detect.read(kube, all_namespaces=True, ambient=False)
    assert {"a", "b", "c", "default", "istio-system", "mesh-root"} <= set(everywhere.namespaces)
    assert sidecar_names(everywhere) == sidecar_names(facts) and everywhere.ambient is None
    assert everywhere.revisions == facts.revisions

    # every namespace asked for names a served revision: no tag can change the answer
    served = detect.read(kube, namespaces=["a", "c"])
    assert served.tags_known and list(served.namespaces) == ["a", "c"]

    forced = detect.read(kube, override="none", namespaces=["a"])
    assert (forced.revisions, forced.configs, forced.sidecars, forced.ambient, forced.tags_known) == (
        {}, {}, [], None, False)
    assert forced.override == "none" and detect.read(kube, override="legacy").mesh().mode == "legacy"
    assert list(forced.namespaces) == ["a"]

    assert (detect.detect(kube).mode, detect.detect(kube).version) == ("alias", "1.23.6")
    assert set(detect.detect(kube).facts.revisions) == {"default", "canary"}  # each istiod by its revision
    assert (detect.detect(kube, "legacy").mode, detect.detect(kube, "legacy").version) == ("legacy", "")
    assert detect.detect(kube, "none").istio is False


def test_an_older_mesh_read_as_it_is(make_apiserver, kubectl):
    """Istio 1.20 serves networking.istio.io/v1beta1 only: its Sidecars are read there; an istiod whose
    image tag tells no version is guessed from that API version (legacy); a ztunnel without its version
    label has an unknown version."""
    make_apiserver("1.20", ambient=True)
    kubectl_apply(kubectl, """
apiVersion: networking.istio.io/v1beta1
kind: Sidecar
metadata: {name: default, namespace: default}
spec: {egress: [{hosts: ["./*"]}]}
""")
    assert kubectl("set", "image", "deployment/istiod", "-n", "istio-system", "discovery=docker.io/istio/pilot:latest"
                   ).code == 0
    assert kubectl("label", "deployment", "istiod", "-n", "istio-system", "operator.istio.io/version-",
                   "app.kubernetes.io/version-").code == 0
    assert kubectl("label", "daemonset", "ztunnel", "-n", "istio-system", "app.kubernetes.io/version-").code == 0
    # a mesh config map without its `mesh` text: read, and Istio's defaults apply
    assert kubectl("patch", "configmap", "istio", "-n", "istio-system", "--type", "json", "-p",
                   '[{"op": "remove", "path": "/data/mesh"}]').code == 0
    facts = detect.read(App.from_raw({}).kube(), namespaces=["default"])
    assert facts.networking_version == "v1beta1" and sidecar_names(facts) == [("default", "default")]
    default = facts.revisions["default"]
    assert (default.version, default.alias) == ("", False)
    assert default.reason == ("istiod's version is unknown: guessed from networking.istio.io/v1beta1 (v1 is served "
                              "from 1.22, alias mode from 1.21)")
    assert facts.ambient == Ambient("")
    assert facts.configs["default"] == MeshConfig("ALLOW_ANY", "istio-system", True)
    assert default.outbound_source == "mesh config istio-system/istio"
