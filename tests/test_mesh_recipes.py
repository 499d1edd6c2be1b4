"""The recipes in the meshes people run today, against the local cluster: nothing changes in a sidecar
mesh that allows any outbound traffic; REGISTRY_ONLY, ambient and mixed revisions are said."""
import pytest

from kubectl_egress import manifests
from kubectl_egress.mesh import MeshFacts, Revision
from kubectl_egress.mesh import fit
from kubectl_egress.mesh.policy import MeshConfig
from kubectl_egress.model import Mesh, Target
from tests.test_commands import get_json

HTTPBIN = ("externalname", "my-httpbin", "httpbin.org")
WIKIPEDIA = ("endpoints", "my-wikipedia", "198.35.26.96", "208.80.153.224", "--port", "443", "--host",
             "en.wikipedia.org")


def objects(server, version):
    """The specs of what the two recipes wrote, by kind/name."""
    group = f"/apis/networking.istio.io/{version}/namespaces/default/"
    out = {f"Service/{n}": get_json(server, f"/api/v1/namespaces/default/services/{n}")["spec"]
           for n in ("my-httpbin", "my-wikipedia")}
    for kind, plural in (("DestinationRule", "destinationrules"), ("ServiceEntry", "serviceentries")):
        for name in ("my-httpbin", "my-wikipedia"):
            found = get_json(server, group + f"{plural}/{name}")
            if found is not None:
                out[f"{kind}/{name}"] = found["spec"]
    for spec in out.values():
        spec.pop("clusterIP", None), spec.pop("clusterIPs", None)
    return out


# What the recipes wrote before the mesh facts existed (v0.1), pinned: a sidecar mesh that allows any
# outbound traffic gets the same objects and the same output, whatever else the plugin now reads.
LEGACY = {
    "Service/my-httpbin": {"type": "ExternalName", "externalName": "httpbin.org", "sessionAffinity": "None",
                           "ports": [{"name": "http", "protocol": "TCP", "port": 80, "targetPort": 80}]},
    "DestinationRule/my-httpbin": {"host": "my-httpbin.default.svc.cluster.local",
                                   "trafficPolicy": {"tls": {"mode": "DISABLE"}}},
    "DestinationRule/my-wikipedia": {"host": "my-wikipedia.default.svc.cluster.local",
                                     "trafficPolicy": {"tls": {"mode": "DISABLE"}}},
}
ALIAS = {**LEGACY,
         "DestinationRule/my-httpbin": {"host": "httpbin.org", "trafficPolicy": {"tls": {"mode": "DISABLE"}}},
         "ServiceEntry/my-httpbin": {"hosts": ["httpbin.org"], "location": "MESH_EXTERNAL", "resolution": "DNS",
                                     "ports": [{"number": 80, "name": "http", "protocol": "HTTP"}]}}


@pytest.mark.parametrize("version, api, want, lines", [
    ("1.20", "v1beta1", LEGACY, ["service/my-httpbin created", "destinationrule.networking.istio.io/my-httpbin created"]),
    ("1.28", "v1", ALIAS, ["service/my-httpbin created", "serviceentry.networking.istio.io/my-httpbin created",
                           "destinationrule.networking.istio.io/my-httpbin created"]),
])
def test_a_sidecar_allow_any_mesh_is_unchanged(make_apiserver, egress, version, api, want, lines):
    server = make_apiserver(version)
    first = egress(*HTTPBIN)
    second = egress(*WIKIPEDIA)
    assert (first.code, first.lines, first.err) == (0, lines, "")
    assert (second.code, second.err) == (0, "")
    assert second.lines == ["service/my-wikipedia created", "endpointslice.discovery.k8s.io/my-wikipedia-ipv4 created",
                            "destinationrule.networking.istio.io/my-wikipedia created"]
    got = objects(server, api)
    got["Service/my-wikipedia"].pop("ipFamilies"), got["Service/my-wikipedia"].pop("ipFamilyPolicy")
    assert got.pop("Service/my-wikipedia") == {"type": "ClusterIP", "sessionAffinity": "None",
                                               "internalTrafficPolicy": "Cluster",
                                               "ports": [{"name": "tls", "protocol": "TCP", "port": 443,
                                                          "targetPort": 443}]}
    assert got == want
    again = egress(*HTTPBIN)
    assert again.err == "" and all(line.endswith(" unchanged") for line in again.lines)


def test_registry_only_and_ambient_are_said(make_apiserver, egress, kubectl):
    make_apiserver("1.24", outbound_policy="REGISTRY_ONLY")
    res = egress(*HTTPBIN)
    assert res.code == 0 and res.lines[1] == "serviceentry.networking.istio.io/my-httpbin created"
    assert res.err == ("outbound traffic policy REGISTRY_ONLY (from the mesh config istio-system/istio): the "
                       "ServiceEntry puts httpbin.org in the registry; without it sidecars block httpbin.org (HTTP 502 "
                       "from the BlackHoleCluster, reset TLS handshakes)\n")
    assert "a Service with endpoints is a registry entry itself" in egress(*WIKIPEDIA).err
    forced = egress("externalname", "old-style", "httpbin.org", "--istio-mode", "legacy")
    assert forced.err.startswith("Warning: outbound traffic policy REGISTRY_ONLY") and \
        "no ServiceEntry is written (--istio-mode legacy)" in forced.err
    # a Sidecar resource decides for its namespace, and its egress hosts scope the registry
    kubectl("apply", "-f", "-", input="apiVersion: networking.istio.io/v1\nkind: Sidecar\n"
            "metadata: {name: default, namespace: default}\n"
            "spec: {outboundTrafficPolicy: {mode: ALLOW_ANY}}\n")
    assert egress(*HTTPBIN).err == ""
    kubectl("apply", "-f", "-", input="apiVersion: networking.istio.io/v1\nkind: Sidecar\n"
            "metadata: {name: default, namespace: default}\n"
            "spec: {outboundTrafficPolicy: {mode: REGISTRY_ONLY}, egress: [{hosts: [istio-system/*]}]}\n")
    err = egress(*HTTPBIN).err.splitlines()
    assert err[0].startswith("outbound traffic policy REGISTRY_ONLY (from the Sidecar default/default)")
    assert err[1] == ("Warning: Sidecar default/default's egress hosts do not include default/httpbin.org: its "
                      "workloads cannot reach it; add \"default/httpbin.org\" to them (kubectl edit sidecar "
                      "default -n default)")
    kubectl("label", "namespace", "default", "istio-injection-", "istio.io/dataplane-mode=ambient")
    assert egress(*HTTPBIN).err == (
        "namespace default is in ambient mode: ztunnel sends no Istio mutual TLS to hosts outside the mesh and "
        "does not apply REGISTRY_ONLY (istio#54281), so its pods need only the Service: the DestinationRule and "
        "the ServiceEntry serve callers with a sidecar\n")


def test_the_namespaces_revision_picks_the_mode(make_apiserver, egress, kubectl):
    """A canary upgrade: 1.20 is the default revision, namespace `upgraded` moved to 1.24."""
    make_apiserver("1.20", revisions={"canary": "1.24"})
    kubectl("create", "namespace", "upgraded")
    kubectl("label", "namespace", "upgraded", "istio.io/rev=canary")
    res = egress("externalname", "my-httpbin", "httpbin.org", "-n", "upgraded")
    assert res.lines == ["service/my-httpbin created", "serviceentry.networking.istio.io/my-httpbin created",
                         "destinationrule.networking.istio.io/my-httpbin created"]
    assert res.err == ("Istio revisions differ in ExternalName mode: these objects are for alias mode (istiod-canary "
                       "1.24.3: alias is the only mode from 1.24); pods injected by revision default need legacy "
                       "mode (--istio-mode legacy) until they move to the namespace's revision\n")
    legacy = egress("externalname", "my-httpbin", "httpbin.org")
    assert legacy.lines == ["service/my-httpbin created", "destinationrule.networking.istio.io/my-httpbin created"]
    assert "pods injected by revision canary need alias mode" in legacy.err


def revision(name, alias, outbound="ALLOW_ANY"):
    return Revision(name, "istiod", "1.24.3" if alias else "1.20.8", alias, "why", outbound)


@pytest.mark.parametrize("target, alias, outbound, ambient, kinds, said", [
    # sidecar, ALLOW_ANY: nothing said
    (Target("a", "default", host="httpbin.org"), True, "ALLOW_ANY", False,
     ["Service", "ServiceEntry", "DestinationRule"], []),
    (Target("a", "default", host="httpbin.org"), True, "REGISTRY_ONLY", False,
     ["Service", "ServiceEntry", "DestinationRule"], ["the ServiceEntry puts httpbin.org in the registry"]),
    (Target("a", "default", host="httpbin.org"), False, "REGISTRY_ONLY", False,
     ["Service", "DestinationRule"], ["an ExternalName Service is a registry entry itself for HTTP"]),
    # legacy mode routes TLS by its SNI, the external host: a ServiceEntry is added (see fit.registry_entry)
    (Target("a", "default", host="en.wikipedia.org", port=443, protocol="tls"), False, "REGISTRY_ONLY", False,
     ["Service", "ServiceEntry", "DestinationRule"], ["TLS is routed by its SNI, en.wikipedia.org"]),
    (Target("a", "default", host="en.wikipedia.org", port=443, protocol="tls"), False, "ALLOW_ANY", False,
     ["Service", "DestinationRule"], []),
    (Target("a", "default", host="httpbin.org", tls_mode=None), True, "ALLOW_ANY", True,
     ["Service", "ServiceEntry"], ["need only the Service: the ServiceEntry serve"]),
])
def test_notes_table(target, alias, outbound, ambient, kinds, said):
    labels = {"istio.io/dataplane-mode": "ambient"} if ambient else {"istio-injection": "enabled"}
    facts = MeshFacts("v1", revisions={"default": revision("default", alias, outbound)},
                      configs={"default": MeshConfig(outbound)},
                      namespaces={"default": {"metadata": {"name": "default", "labels": labels}}})
    mesh = facts.mesh("default")
    objects = manifests.objects(target, mesh)
    entry = fit.registry_entry(target, mesh, facts)
    if entry is not None:
        objects.insert(1, entry)
    assert [o["kind"] for o in objects] == kinds
    notes = fit.notes(target, mesh, facts, objects)
    assert len(notes) == len(said) and all(s in n for s, n in zip(said, notes))
    assert fit.notes(target, Mesh(), None) == []


def test_version_shows_revisions_policy_and_ambient(make_apiserver, egress, kubectl):
    make_apiserver("1.23", revisions={"canary": "1.28"}, outbound_policy="REGISTRY_ONLY", ambient=True)
    kubectl("set", "env", "deploy/istiod", "-n", "istio-system", "ENABLE_EXTERNAL_NAME_ALIAS=false")
    kubectl("set", "env", "deploy/istiod-canary", "-n", "istio-system", "ENABLE_EXTERNAL_NAME_ALIAS=false")
    lines = egress("version").lines[2:]
    assert lines == [
        "Istio: 1.23.6, legacy mode: an ExternalName Service is a mesh service: rules go on "
        "NAME.NAMESPACE.svc.cluster.local (istiod 1.23.6 sets ENABLE_EXTERNAL_NAME_ALIAS=false, honoured from 1.21 "
        "to 1.23)",
        "Istio revision canary: 1.28.10, alias mode (istiod-canary 1.28.10: alias is the only mode from 1.24; "
        "ENABLE_EXTERNAL_NAME_ALIAS=false is no longer read, the opt-out ended with 1.23 (istio#52317))",
        "Outbound traffic policy (revision canary): REGISTRY_ONLY, from the mesh config istio-system/istio-canary: "
        "sidecars reach only services in their registry (Kubernetes Services and ServiceEntries)",
        "Outbound traffic policy (revision default): REGISTRY_ONLY, from the mesh config istio-system/istio: "
        "sidecars reach only services in their registry (Kubernetes Services and ServiceEntries)",
        "Ambient: ztunnel 1.28.10 (DaemonSet istio-system/ztunnel); it sends no Istio mTLS to hosts outside the mesh "
        "and does not enforce REGISTRY_ONLY (istio#54281)"]
    info = egress("version", "-o", "json").json()["istio"]
    assert [(r["name"], r["mode"], r["outboundTrafficPolicy"]) for r in info["revisions"]] == [
        ("canary", "alias", "REGISTRY_ONLY"), ("default", "legacy", "REGISTRY_ONLY")]
    assert info["ambient"] == {"installed": True, "ztunnelVersion": "1.28.10"}
