"""Every egress service, whoever made it: the one definition, get on it, and clean beside it.

Pure tables for the definition and the pairing of Services with their objects; then get and
clean against the local cluster with hand-made objects (as Istio's task, Helm or Argo CD
leave them) next to the ones kubectl-egress made.
"""
from __future__ import annotations

import pytest

from kubectl_egress import inventory
from kubectl_egress.analysis import Snapshot
from kubectl_egress.model import Mesh, is_egress_service
from tests.test_commands import DR, SVC, get_json, kubectl_apply


def svc(name, ns="default", **spec):
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": ns}, "spec": spec}


@pytest.mark.parametrize("service, egress", [
    (svc("ext", type="ExternalName", externalName="httpbin.org"), True),
    (svc("ext-with-selector", type="ExternalName", externalName="a.example", selector={"app": "x"}), True),
    (svc("wiki", ports=[{"port": 443}]), True),  # the task's selector-less Service
    (svc("headless", clusterIP="None", ports=[{"port": 443}]), True),
    (svc("lb", type="LoadBalancer", ports=[{"port": 443}]), True),
    (svc("web", selector={"app": "web"}, ports=[{"port": 80}]), False),
    (svc("kubernetes", ports=[{"port": 443}]), False),  # the API server's own, in default
    (svc("kubernetes", "team", ports=[{"port": 443}]), True),  # a namesake elsewhere is not
])
def test_the_one_definition(service, egress):
    assert is_egress_service(service) is egress


def rule(name, ns, host, **tls):
    return {"apiVersion": "networking.istio.io/v1beta1", "kind": "DestinationRule",
            "metadata": {"name": name, "namespace": ns}, "spec": {"host": host, "trafficPolicy": {"tls": tls}}}


def entry(name, ns, hosts, **spec):
    return {"apiVersion": "networking.istio.io/v1beta1", "kind": "ServiceEntry",
            "metadata": {"name": name, "namespace": ns}, "spec": {"hosts": hosts, **spec}}


def test_pairing_services_with_their_objects():
    snap = Snapshot(
        mesh=Mesh(mode="alias"),
        services=[svc("ext", type="ExternalName", externalName="httpbin.org", ports=[{"name": "http", "port": 80}]),
                  svc("wiki", clusterIPs=["10.96.0.9"], ports=[{"name": "tls", "port": 443}]),
                  svc("bare", clusterIPs=["10.96.0.10"], ports=[{"name": "tls", "port": 443}]),
                  svc("web", selector={"app": "web"})],
        endpoints=[{"metadata": {"name": "wiki", "namespace": "default"},
                    "subsets": [{"addresses": [{"ip": "198.35.26.96"}]}]}],
        slices=[{"metadata": {"name": "wiki-x", "namespace": "default",  # mirrored from the Endpoints
                              "labels": {"kubernetes.io/service-name": "wiki"}},
                 "endpoints": [{"addresses": ["198.35.26.96"]}]}],
        rules=[rule("default", "istio-system", "*.local", mode="ISTIO_MUTUAL"),
               rule("wiki", "default", "wiki", mode="DISABLE", sni="en.wikipedia.org"),
               rule("httpbin", "default", "httpbin.org", mode="DISABLE")],
        entries=[entry("httpbin", "default", ["httpbin.org"]),
                 entry("wiki-se", "default", ["en.wikipedia.org"], resolution="STATIC",
                       endpoints=[{"address": "198.35.26.96"}])])
    found = {f.name: f for f in inventory.egress_services(snap)}
    assert sorted(found) == ["bare", "ext", "wiki"]
    ext, wiki, bare = found["ext"], found["wiki"], found["bare"]
    # alias mode: an ExternalName's rules and ServiceEntry are its target host's
    assert ext.rule[1]["metadata"]["name"] == "httpbin" and ext.entry[1]["metadata"]["name"] == "httpbin"
    assert ext.target.tls_mode == "DISABLE" and not ext.target.managed
    # a short rule host is in the rule's namespace; a STATIC entry holding its addresses goes with it
    assert wiki.rule[1]["metadata"]["name"] == "wiki" and wiki.entry[1]["metadata"]["name"] == "wiki-se"
    assert inventory.addresses(wiki) == ["198.35.26.96"]  # the mirrored slice repeats the Endpoints
    assert wiki.target.endpoints_api == "endpoints"
    # nothing of its own: the mesh-wide rule applies, but is not one of its objects
    assert bare.rule is None and bare.applied["metadata"]["name"] == "default"
    assert bare.target.tls_mode == "ISTIO_MUTUAL" and bare.objects() == [(inventory.SERVICES, bare.service)]


def test_legacy_mode_pairs_no_service_entry_with_an_external_name():
    snap = Snapshot(mesh=Mesh(mode="legacy"),
                    services=[svc("ext", type="ExternalName", externalName="httpbin.org")],
                    rules=[rule("ext", "default", "ext.default.svc.cluster.local", mode="DISABLE")],
                    entries=[entry("httpbin", "default", ["httpbin.org"])])
    [ext] = inventory.egress_services(snap)
    assert ext.entry is None and ext.rule[1]["metadata"]["name"] == "ext"


HAND_MADE = """
apiVersion: v1
kind: Service
metadata: {name: by-hand}
spec: {type: ExternalName, externalName: example.com, ports: [{name: http, port: 80}]}
---
apiVersion: v1
kind: Service
metadata: {name: from-helm, labels: {app.kubernetes.io/managed-by: Helm}}
spec: {ports: [{name: tls, port: 443}]}
---
apiVersion: v1
kind: Endpoints
metadata: {name: from-helm}
subsets: [{addresses: [{ip: 198.35.26.96}], ports: [{name: tls, port: 443}]}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: by-hand-slice, labels: {kubernetes.io/service-name: from-helm}}
addressType: IPv4
endpoints: [{addresses: [208.80.153.224]}]
ports: [{name: tls, port: 443}]
---
apiVersion: networking.istio.io/v1beta1
kind: DestinationRule
metadata: {name: by-hand}
spec: {host: by-hand.default.svc.cluster.local, trafficPolicy: {tls: {mode: DISABLE}}}
---
apiVersion: networking.istio.io/v1beta1
kind: ServiceEntry
metadata: {name: by-hand}
spec: {hosts: [example.com], ports: [{number: 80, name: http, protocol: HTTP}], resolution: DNS}
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec: {selector: {app: web}, ports: [{name: http, port: 80}]}
"""


def test_get_lists_every_egress_service_and_who_made_it(apiserver, egress, kubectl):
    kubectl_apply(kubectl, HAND_MADE)
    egress("externalname", "mine", "httpbin.org")
    lines = egress("get").lines
    assert [(line.split()[0], line.split()[6]) for line in lines[1:]] == [
        ("by-hand", "<none>"), ("from-helm", "Helm"), ("mine", "kubectl-egress")]  # never web
    assert lines[2].split()[3:6] == ["198.35.26.96,208.80.153.224", "443/TCP", "ISTIO_MUTUAL"]
    assert egress("get", "by-hand").lines[1].split()[:6] == ["by-hand", "ExternalName", "<none>", "example.com",
                                                             "80/TCP", "DISABLE"]
    assert egress("get", "from-helm", "-o", "name").lines == [
        "service/from-helm", "endpointslice.discovery.k8s.io/by-hand-slice", "endpoints/from-helm"]
    helm = egress("get", "-l", "app.kubernetes.io/managed-by=Helm")
    assert [line.split()[0] for line in helm.lines[1:]] == ["from-helm"]
    assert [line.split()[0] for line in egress("get", "-l", "!app.kubernetes.io/managed-by").lines[1:]] == ["by-hand"]


def test_get_all_namespaces_with_a_selector(apiserver, egress, kubectl):
    kubectl_apply(kubectl, "apiVersion: v1\nkind: Namespace\nmetadata: {name: prod}\n")
    kubectl_apply(kubectl, HAND_MADE.replace("metadata: {name: by-hand}",
                                             "metadata: {name: by-hand, labels: {team: a}}"))
    egress("externalname", "theirs", "example.com", "-n", "prod")
    kubectl("label", "svc", "theirs", "-n", "prod", "team=a")
    lines = egress("get", "-A", "-l", "team in (a,b)").lines
    assert [line.split()[:2] for line in lines[1:]] == [["default", "by-hand"], ["prod", "theirs"]]


@pytest.mark.parametrize("args, fragment", [
    (("-l", "x==a==b"), '-l "x==a==b" is not a label selector'),
    (("-l", "env in (a"), "a ')' is missing"),
    (("by-hand", "-A"), "a resource cannot be retrieved by name across all namespaces"),
    (("by-hand", "-l", "a=b"), "name cannot be provided when a selector is specified"),
])
def test_get_bad_input_sends_nothing(apiserver, egress, args, fragment):
    apiserver.clear_requests()
    res = egress("get", *args)
    assert res.code == 2 and fragment in res.err and res.err.count("\n") == 1
    assert apiserver.requests() == []


def test_the_alias_mode_service_entry_in_istio_124(apiserver_124, egress, kubectl):
    kubectl_apply(kubectl, HAND_MADE)
    wide = egress("get", "by-hand", "-o", "wide").lines
    assert wide[0].split()[-1] == "SERVICEENTRY" and wide[1].split()[-1] == "example.com"
    # alias mode: the rule on the Service's own name applies to nothing (and *.local is not example.com)
    assert wide[1].split()[5] == "<none>"
    assert "serviceentry.networking.istio.io/by-hand" in egress("get", "by-hand", "-o", "name").lines


def test_clean_leaves_every_hand_made_object(apiserver, egress, kubectl):
    kubectl_apply(kubectl, HAND_MADE)
    egress("externalname", "mine", "httpbin.org")
    egress("endpoints", "mine-too", "203.0.113.7", "--port", "443")
    before = kubectl("get", "svc,endpoints,endpointslices,destinationrules,serviceentries", "-o", "name").lines
    res = egress("clean")
    assert res.code == 0, res.err
    assert sorted(res.lines) == sorted(['destinationrule.networking.istio.io "mine" deleted',
                                        'destinationrule.networking.istio.io "mine-too" deleted',
                                        'endpointslice.discovery.k8s.io "mine-too-ipv4" deleted',
                                        'service "mine" deleted', 'service "mine-too" deleted'])
    after = kubectl("get", "svc,endpoints,endpointslices,destinationrules,serviceentries", "-o", "name").lines
    assert after == [line for line in before if "/mine" not in line]
    assert get_json(apiserver, DR + "by-hand") is not None and get_json(apiserver, SVC + "from-helm") is not None
    apiserver.clear_requests()
    refused = egress("clean", "from-helm")
    assert refused.code == 1 and apiserver.writes() == []
    assert refused.err == ('error: service "from-helm" was not made by kubectl-egress '
                           "(app.kubernetes.io/managed-by: Helm), so clean leaves it alone; delete it yourself "
                           'if you mean to ("kubectl delete svc from-helm")\n')
