"""Every egress service, whoever made it: the one definition, get on it, and clean beside it.

Pure tables for the definition and the pairing of Services with their objects; then get and
clean against the local cluster with hand-made objects (as Istio's task, Helm or Argo CD
leave them) next to the ones kubectl-egress made.
"""
from __future__ import annotations

import dataclasses
import ipaddress

import pytest

from kubectl_egress import inventory
from kubectl_egress.analysis import Snapshot
from kubectl_egress.model import (ENDPOINT_SLICES, ENDPOINTS, SERVICES, Mesh, Origination, destination_rules,
                                  is_egress_service, service_entries, virtual_services)
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


# -- the pure readings: what a found service's objects say, field by field ------------------------------

ENTRY_LABELS = {"app.kubernetes.io/managed-by": "kubectl-egress", "kubectl-egress/recipe": "serviceentry"}


def port_level(port, **tls):
    return {"spec": {"trafficPolicy": {"portLevelSettings": [
        {"port": {"number": 1}, "tls": {"mode": "DISABLE"}}, {"port": {"number": port}, "tls": tls}]}}}


@pytest.mark.parametrize("rule, entry, port, want", [
    (None, None, 80, None),
    (port_level(80, mode="SIMPLE"), None, 80, Origination(80, "system")),  # no entry: the port itself
    (port_level(80, mode="SIMPLE"), {"spec": {"ports": [{"number": 80, "targetPort": 8443}]}}, 80,
     Origination(8443, "system")),
    (port_level(80, mode="SIMPLE"), {"spec": {"ports": [{"number": 81, "targetPort": 8443}, {"number": 80}]}}, 80,
     Origination(80, "system")),  # the entry's port of that number, without a targetPort
    (port_level(80, mode="SIMPLE", insecureSkipVerify=True), None, 80, Origination(80, "skip")),
    (port_level(80, mode="SIMPLE", insecureSkipVerify=False), None, 80, Origination(80, "system")),
    (port_level(80, mode="SIMPLE"), None, 8080, None),  # another port's settings
    (port_level(80, mode="DISABLE"), None, 80, None),
    (port_level(1, mode="SIMPLE"), None, 1, None),  # the first level of the port decides
    ({"spec": {"trafficPolicy": {"tls": {"mode": "SIMPLE"}}}}, None, 80, None),  # not port-level: no origination
])
def test_origination_is_a_port_level_simple_rule(rule, entry, port, want):
    assert inventory.origination_of(rule, entry, port) == want


def entry_found(spec, name="api", ns="team", rule=None, labels=ENTRY_LABELS):
    se = {"metadata": {"name": name, "namespace": ns, "labels": dict(labels)}, "spec": spec}
    return inventory.Found(ns, name, entry=(service_entries("v1"), se),
                           rule=(destination_rules("v1"), rule) if rule else None)


@pytest.mark.parametrize("spec, host, hosts, port, protocol, flags", [
    ({"hosts": ["api.example.com"], "ports": [{"number": 443, "name": "tls", "protocol": "TLS"}]},
     "api.example.com", ("api.example.com",), 443, "tls", ()),
    ({"hosts": ["a.example.com", "b.example.com"], "ports": [{"number": 8080, "name": "HTTP"}], "resolution": "DNS",
      "location": "MESH_EXTERNAL"}, "a.example.com", ("a.example.com", "b.example.com"), 8080, "http", ()),
    ({"hosts": ["db.example.com"], "ports": [{"number": 5432, "protocol": "TCP"}], "resolution": "STATIC",
      "addresses": ["10.0.0.1", "10.0.0.2"], "endpoints": [{"address": "192.0.2.1"}, {"address": "192.0.2.2"}],
      "location": "MESH_INTERNAL", "exportTo": [".", "prod"]},
     "db.example.com", ("db.example.com",), 5432, "tcp",
     ("--resolution STATIC", "--addresses 10.0.0.1,10.0.0.2", "--endpoints 192.0.2.1,192.0.2.2",
      "--location MESH_INTERNAL", "--export-to .,prod")),
    ({"hosts": ["x.example.com"], "resolution": "NONE", "endpoints": [{}]}, "x.example.com", ("x.example.com",),
     0, "", ("--resolution NONE", "--endpoints ")),
    ({}, "", (), 0, "", ()),
])
def test_a_serviceentry_read_back_is_the_command_that_wrote_it(spec, host, hosts, port, protocol, flags):
    found = entry_found(spec)
    assert found.is_entry
    target = found.target
    assert (target.name, target.namespace, target.host, target.hosts, target.port, target.protocol, target.flags) \
        == ("api", "team", host, hosts, port, protocol, flags)
    assert target.is_entry and target.managed and target.tls_mode is None and target.origination is None


def test_a_serviceentry_read_back_keeps_its_origination():
    found = entry_found({"hosts": ["api.example.com"], "ports": [{"number": 80, "name": "http", "targetPort": 443}]},
                        rule=port_level(80, mode="SIMPLE", insecureSkipVerify=True))
    assert found.target.origination == Origination(443, "skip")


@pytest.mark.parametrize("found, is_entry", [
    (entry_found({"hosts": ["a"]}), True),
    (entry_found({"hosts": ["a"]}, labels={"kubectl-egress/recipe": "externalname"}), False),
    (entry_found({"hosts": ["a"]}, labels={}), False),
    (inventory.Found("team", "api", service=svc("api", "team", type="ExternalName", externalName="a"),
                     entry=entry_found({"hosts": ["a"]}).entry), False),  # a Service of its name: not the recipe's
    (inventory.Found("team", "api"), False),
])
def test_which_found_services_are_serviceentry_recipes(found, is_entry):
    assert found.is_entry is is_entry


@pytest.mark.parametrize("service, mesh, host", [
    (svc("ext", type="ExternalName", externalName="HttpBin.ORG."), Mesh(mode="alias"), "httpbin.org"),
    (svc("ext", type="ExternalName"), Mesh(mode="alias"), ""),
    (svc("ext", type="ExternalName", externalName="Inbox.Example.TAX."), Mesh(mode="alias"), "inbox.example.tax"),
    (svc("ext", type="ExternalName", externalName="httpbin.org"), Mesh(mode="legacy"),
     "ext.default.svc.cluster.local"),
    (svc("ext", type="ExternalName", externalName="httpbin.org"), Mesh(istio=False, mode="alias"),
     "ext.default.svc.cluster.local"),
    (svc("wiki", "team"), Mesh(mode="alias"), "wiki.team.svc.cluster.local"),
    ({"metadata": {"name": "x"}}, Mesh(mode="alias"), "x..svc.cluster.local"),
])
def test_the_host_istio_knows_a_service_by(service, mesh, host):
    assert inventory.mesh_host(service, mesh) == host


def endpoints_obj(name, *ips, ns="default"):
    return {"metadata": {"name": name, "namespace": ns}, "subsets": [{"addresses": [{"ip": ip} for ip in ips]}]}


def slice_obj(name, service, *ips, ns="default", **labels):
    return {"metadata": {"name": name, "namespace": ns,
                         "labels": {"kubernetes.io/service-name": service, **labels}},
            "endpoints": [{"addresses": [ip]} for ip in ips]}


def test_addresses_each_once_in_order():
    found = inventory.Found("default", "db", endpoints=[
        (ENDPOINTS, {"subsets": [{"addresses": [{"ip": "192.0.2.2"}, {"ip": "192.0.2.1"}]}, {}]}),
        (ENDPOINT_SLICES, {"endpoints": [{"addresses": ["192.0.2.1", "2001:db8::1"]}, {}]}),
        (ENDPOINTS, {}), (ENDPOINT_SLICES, {})])
    assert inventory.addresses(found) == ["192.0.2.2", "192.0.2.1", "2001:db8::1"]


def test_objects_in_the_order_to_delete_them():
    service = svc("ext", type="ExternalName", externalName="a.example")
    rule_, entry_, route = ((destination_rules("v1"), {"r": 1}), (service_entries("v1"), {"e": 1}),
                            (virtual_services("v1"), {"v": 1}))
    slice_, eps = (ENDPOINT_SLICES, {"s": 1}), (ENDPOINTS, {"p": 1})
    found = inventory.Found("default", "ext", service, [eps, slice_], rule_, entry_, route=route)
    assert found.objects() == [route, rule_, entry_, eps, slice_, (SERVICES, service)]
    assert inventory.Found("default", "gone", rule=rule_).objects() == [rule_]


@pytest.mark.parametrize("service, kw, want", [
    # an ExternalName's target without its root dot, the port's protocol, the rule's mode on that port
    (svc("ext", type="ExternalName", externalName="httpbin.org.", ports=[{"name": "https", "port": 443}],
         ), {"rule": rule("ext", "default", "ext.default.svc.cluster.local", mode="SIMPLE")},
     dict(host="httpbin.org", port=443, protocol="https", tls_mode="SIMPLE", external=True, managed=False,
          endpoints_api="endpointslice", ips=())),
    # no port: 0, protocol "" (Istio sniffs), no rule: no mode
    (svc("ext", type="ExternalName", externalName="a.example"), {},
     dict(host="a.example", port=0, protocol="", tls_mode=None, external=True)),
    # no port: no port-level settings apply (the root dot goes, the case stays)
    (svc("ext", type="ExternalName", externalName="Inbox.Example.TAX."), {"rule": port_level(80, mode="SIMPLE")},
     dict(host="Inbox.Example.TAX", port=0, tls_mode=None)),
    # endpoints: the host the annotation recorded, IPs that parse (a hostname in an address is skipped)
    ({**svc("db", ports=[{"name": "tcp", "port": 5432}]),
      "metadata": {"name": "db", "namespace": "default", "annotations": {"kubectl-egress/host": "db.example.com"},
                   "labels": {"app.kubernetes.io/managed-by": "kubectl-egress"}}},
     {"endpoints": [(ENDPOINT_SLICES, slice_obj("db-x", "db", "not-an-ip", "192.0.2.1"))]},
     dict(host="db.example.com", port=5432, protocol="tcp", external=False, managed=True,
          endpoints_api="endpointslice", ips=(ipaddress.ip_address("192.0.2.1"),))),
    ({**svc("db", ports=[{"port": 443, "appProtocol": "tls"}])},
     {"endpoints": [(ENDPOINTS, endpoints_obj("db", "192.0.2.1"))]},
     dict(host="", port=443, protocol="tls", endpoints_api="endpoints", external=False)),
    # the rule Istio applies wins over the Service's own
    (svc("ext", type="ExternalName", externalName="a.example", ports=[{"name": "http", "port": 80}]),
     {"rule": rule("ext", "default", "ext", mode="SIMPLE"),
      "applied": rule("all", "istio-system", "*.local", mode="ISTIO_MUTUAL")}, dict(tls_mode="ISTIO_MUTUAL")),
])
def test_a_found_service_read_back_as_a_target(service, kw, want):
    rules = destination_rules("v1")
    found = inventory.Found("default", service["metadata"]["name"], service, kw.get("endpoints", []),
                            (rules, kw["rule"]) if "rule" in kw else None, applied=kw.get("applied"))
    target = found.target
    assert {k: getattr(target, k) for k in want} == want


def test_origination_is_read_for_an_external_name_only():
    rule_ = (destination_rules("v1"), port_level(80, mode="SIMPLE"))
    entry_ = (service_entries("v1"), {"spec": {"ports": [{"number": 80, "targetPort": 8443}]}})
    ext = inventory.Found("default", "ext", svc("ext", type="ExternalName", externalName="a.example",
                                                ports=[{"name": "http", "port": 80}]), rule=rule_, entry=entry_)
    assert ext.target.origination == Origination(8443, "system") and ext.target.tls_mode is None
    db = inventory.Found("default", "db", svc("db", ports=[{"name": "http", "port": 80}]), rule=rule_, entry=entry_)
    # a Service with endpoints: the port-level mode is its TLS mode (the app's traffic), never origination
    assert db.target.origination is None and db.target.tls_mode == "SIMPLE"
    # another port than the first
    assert ext.target.port == 80 and inventory.to_target(ext, {"name": "http", "port": 81}).origination is None


def route(name, ns, hosts, *dests):
    return {"metadata": {"name": name, "namespace": ns},
            "spec": {"hosts": hosts, "http": [{"route": [{"destination": {"host": d}} for d in dests]}]}}


ORIGINATION = dict(
    services=[svc("ext", type="ExternalName", externalName="httpbin.org", ports=[{"name": "http", "port": 80}]),
              svc("other", type="ExternalName", externalName="example.com", ports=[{"name": "http", "port": 80}])],
    routes=[route("ext", "team", ["ext"], "elsewhere"),  # another namespace's route: not its own
            route("nothing", "default", ["other"]),  # no destination: it routes nowhere else
            route("ext", "default", ["ext"], "HttpBin.org", "ignored.example"),
            route("other", "default", ["other.default.svc.cluster.local"], "gateway")],
    rules=[rule("httpbin-tls", "default", "httpbin.org", mode="SIMPLE"),
           rule("ext", "default", "ext.default.svc.cluster.local", mode="DISABLE"),
           rule("gw", "default", "gateway.default.svc.cluster.local", mode="ISTIO_MUTUAL")],
    entries=[entry("httpbin-b", "default", ["httpbin.org"]), entry("ext", "default", ["httpbin.org"])])


def test_a_route_that_sends_http_elsewhere_makes_its_destination_the_host():
    """TLS origination up to Istio 1.20: a VirtualService of the Service's namespace sends its HTTP to
    the external host, whose DestinationRule and ServiceEntry then apply (short names are relative
    to the route's namespace)."""
    found = {f.name: f for f in inventory.egress_services(Snapshot(mesh=Mesh(mode="legacy"), **ORIGINATION))}
    ext, other = found["ext"], found["other"]
    assert ext.route == (virtual_services("v1"), ORIGINATION["routes"][2])
    assert ext.rule[1]["metadata"]["name"] == "httpbin-tls" and ext.applied["metadata"]["name"] == "httpbin-tls"
    assert ext.entry == (service_entries("v1"), ORIGINATION["entries"][1])  # the one of its name, of the host's
    assert other.route[1]["metadata"]["name"] == "other" and other.rule[1]["metadata"]["name"] == "gw"
    assert other.entry is None
    # no Istio: no route, no rule, no entry
    for f in inventory.egress_services(Snapshot(mesh=Mesh(istio=False, mode="none"), **ORIGINATION)):
        assert (f.route, f.rule, f.entry, f.applied) == (None, None, None, None)


def test_no_route_leaves_the_service_its_own_rule():
    snap = Snapshot(mesh=Mesh(mode="legacy"), **{**ORIGINATION, "routes": ORIGINATION["routes"][:2]})
    ext = {f.name: f for f in inventory.egress_services(snap)}["ext"]
    assert ext.route is None and ext.rule[1]["metadata"]["name"] == "ext" and ext.entry is None


def recipe_entry(name, ns, hosts, labels=ENTRY_LABELS):
    se = entry(name, ns, hosts)
    se["metadata"]["labels"] = dict(labels)
    return se


RECIPE_ENTRIES = [recipe_entry("api", "default", ["API.example.com", "b.example.com"]),
                  recipe_entry("api", "team", ["api.example.com"]),
                  recipe_entry("ext", "default", ["httpbin.org"]),  # a Service has its name: the Service's
                  recipe_entry("hand", "default", ["hand.example.com"], labels={}),
                  recipe_entry("none", "default", [])]


@pytest.mark.parametrize("mesh, names, selected, want", [
    (Mesh(mode="alias"), (), None, [("default", "api"), ("default", "ext"), ("default", "none"), ("team", "api")]),
    (Mesh(mode="alias"), ("api",), None, [("default", "api"), ("team", "api")]),
    (Mesh(mode="alias"), ("ext",), None, [("default", "ext")]),
    (Mesh(mode="alias"), (), [RECIPE_ENTRIES[1]], [("default", "ext"), ("team", "api")]),  # -l: what it selects
    (Mesh(mode="alias"), (), [], [("default", "ext")]),
    (Mesh(istio=False, mode="none"), (), None, [("default", "ext")]),
])
def test_the_serviceentries_of_the_recipe_are_egress_services(mesh, names, selected, want):
    snap = Snapshot(mesh=mesh, services=[svc("ext", type="ExternalName", externalName="httpbin.org")],
                    entries=RECIPE_ENTRIES, selected=selected,
                    rules=[rule("api", "default", "api.example.com", mode="SIMPLE"),
                           rule("other", "default", "b.example.com", mode="DISABLE"),
                           rule("all", "istio-system", "*.com", mode="ISTIO_MUTUAL")])
    found = inventory.egress_services(snap, names)
    assert [(f.namespace, f.name) for f in found] == want
    by_key = {(f.namespace, f.name): f for f in found}
    if ("default", "api") in by_key:  # its own rule on its first host is the one that applies
        api = by_key[("default", "api")]
        assert api.service is None and api.entry == (service_entries("v1"), RECIPE_ENTRIES[0])
        assert api.rule == (destination_rules("v1"), snap.rules[0]) and api.applied is snap.rules[0]
        assert by_key[("team", "api")].rule is None and by_key[("team", "api")].applied is None
    if ("default", "none") in by_key:  # no host: no rule
        assert by_key[("default", "none")].rule is None and by_key[("default", "none")].applied is None
    if ("default", "ext") in by_key:
        assert by_key[("default", "ext")].service is not None


def test_endpoints_pair_by_namespace_and_service_name():
    snap = Snapshot(mesh=Mesh(mode="legacy"),
                    services=[svc("db", ports=[{"port": 5432}]), svc("db", "team", ports=[{"port": 5432}])],
                    endpoints=[endpoints_obj("db", "192.0.2.1"), endpoints_obj("db", "192.0.2.9", ns="prod"),
                               endpoints_obj("other", "192.0.2.8")],
                    slices=[slice_obj("db-a", "db", "192.0.2.2"), slice_obj("db-b", "db", "192.0.2.3", ns="team"),
                            slice_obj("db", "other", "192.0.2.4"), slice_obj("db-c", "db", "192.0.2.5")])
    found = {(f.namespace, f.name): f for f in inventory.egress_services(snap)}
    assert [obj["metadata"]["name"] for _, obj in found[("default", "db")].endpoints] == ["db", "db-a", "db-c"]
    assert [res for res, _ in found[("default", "db")].endpoints] == [ENDPOINTS, ENDPOINT_SLICES, ENDPOINT_SLICES]
    assert [obj["metadata"]["name"] for _, obj in found[("team", "db")].endpoints] == ["db-b"]


def test_names_select_services_and_the_result_is_sorted():
    snap = Snapshot(mesh=Mesh(mode="legacy"), services=[svc(n, ns, type="ExternalName", externalName="a.example")
                                                         for n, ns in [("b", "z"), ("b", "a"), ("a", "z"), ("c", "a")]])
    assert [(f.namespace, f.name) for f in inventory.egress_services(snap)] == [
        ("a", "b"), ("a", "c"), ("z", "a"), ("z", "b")]
    assert [(f.namespace, f.name) for f in inventory.egress_services(snap, ("b", "x"))] == [("a", "b"), ("z", "b")]


@pytest.mark.parametrize("service, entries, want", [
    # a Service with endpoints: the entry that holds its cluster IP or an endpoint address, its namesake first
    (svc("db", clusterIPs=["10.96.0.9"]),
     [entry("a", "default", ["x"], addresses=["10.96.0.9"]), entry("db", "default", ["y"], addresses=["10.96.0.9"])],
     "db"),
    (svc("db", clusterIPs=["10.96.0.9"]),
     [entry("db", "default", ["y"], addresses=["10.96.0.9"]), entry("a", "default", ["x"], addresses=["10.96.0.9"])],
     "db"),
    (svc("db", clusterIPs=["10.96.0.9"]),  # none of its name: the first that holds an address
     [entry("a", "default", ["x"], addresses=["10.96.0.9"]), entry("b", "default", ["y"], addresses=["192.0.2.1"])],
     "a"),
    (svc("db", clusterIPs=["10.96.0.9"]), [entry("a", "team", ["x"], addresses=["10.96.0.9"])], None),
    (svc("db"), [entry("s", "default", ["x"], resolution="STATIC", endpoints=[{"address": "192.0.2.1"}])], "s"),
    (svc("db"), [entry("s", "default", ["x"], resolution="DNS", endpoints=[{"address": "192.0.2.1"}])], None),
    (svc("db"), [entry("s", "default", ["x"], endpoints=[{"address": "192.0.2.1"}])], None),
    (svc("db"), [entry("s", "default", ["192.0.2.1"])], None),  # a host is not an address
    # alias mode: the entry for the ExternalName's target host, case-insensitively
    (svc("ext", type="ExternalName", externalName="HTTPBIN.org"), [entry("h", "default", ["HttpBin.org"])], "h"),
    (svc("ext", type="ExternalName", externalName="httpbin.org"),
     [entry("h", "default", ["httpbin.org"]), entry("ext", "default", ["httpbin.org"])], "ext"),
    (svc("ext", type="ExternalName", externalName="httpbin.org"),
     [entry("h", "default", ["httpbin.org"], addresses=["10.96.0.9"])], "h"),
    (svc("ext", type="ExternalName", externalName="httpbin.org"), [entry("h", "team", ["httpbin.org"])], None),
])
def test_the_serviceentry_that_goes_with_a_service(service, entries, want):
    snap = Snapshot(mesh=Mesh(mode="alias"), services=[service], entries=entries,
                    endpoints=[endpoints_obj(service["metadata"]["name"], "192.0.2.1")])
    [found] = inventory.egress_services(snap)
    assert (found.entry[1]["metadata"]["name"] if found.entry else None) == want


# -- the two sides against the local cluster: what each reads, and never more ----------------------------
BESIDE = """
apiVersion: v1
kind: Namespace
metadata: {name: other}
---
apiVersion: v1
kind: Namespace
metadata: {name: sources, labels: {app.kubernetes.io/managed-by: kubectl-egress, kubectl-egress/role: probe-source}}
---
apiVersion: v1
kind: Namespace
metadata: {name: hand-sources, labels: {kubectl-egress/role: probe-source}}
---
apiVersion: networking.istio.io/v1beta1
kind: DestinationRule
metadata: {name: hand}
spec: {host: api.example.com, trafficPolicy: {tls: {mode: SIMPLE}}}
---
apiVersion: networking.istio.io/v1beta1
kind: ServiceEntry
metadata: {name: hand}
spec: {hosts: [api.example.com], resolution: DNS, ports: [{number: 443, name: tls, protocol: TLS}]}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: eps-hand, labels: {kubernetes.io/service-name: eps}}
addressType: IPv4
endpoints: [{addresses: [192.0.2.77]}]
ports: [{name: tls, port: 443}]
---
apiVersion: networking.istio.io/v1beta1
kind: DestinationRule
metadata: {name: orphan, labels: {app.kubernetes.io/managed-by: kubectl-egress}}
spec: {host: orphan.default.svc.cluster.local, trafficPolicy: {tls: {mode: DISABLE}}}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: stray, labels: {app.kubernetes.io/managed-by: kubectl-egress}}
addressType: IPv4
endpoints: [{addresses: [192.0.2.78]}]
ports: [{name: tls, port: 443}]
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec: {selector: {app: web}, ports: [{port: 80}]}
---
apiVersion: v1
kind: Endpoints
metadata: {name: web, labels: {endpoints.kubernetes.io/managed-by: endpoint-controller}}
subsets: [{addresses: [{ip: 10.244.0.9}], ports: [{port: 80}]}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: web-abcde
  labels: {kubernetes.io/service-name: web, endpointslice.kubernetes.io/managed-by: endpointslice-controller.k8s.io}
addressType: IPv4
endpoints: [{addresses: [10.244.0.9]}]
ports: [{port: 80}]
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: src, labels: {app.kubernetes.io/managed-by: kubectl-egress, kubectl-egress/role: probe-source}}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: src-hand, labels: {kubectl-egress/role: probe-source}}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: src-other, labels: {app.kubernetes.io/managed-by: kubectl-egress}}
"""


def kinds(found):
    return {(f.namespace, f.name): [(res.kind, obj["metadata"]["name"]) for res, obj in f.objects()] for f in found}


def names(objs):
    return [(obj["metadata"].get("namespace"), obj["metadata"]["name"]) for obj in objs]


def test_the_owned_side_reads_only_what_the_plugin_made_and_the_read_side_only_what_can_matter(
        apiserver, egress, kubectl):
    """owned (clean) and lookup (the recipes) see the objects kubectl-egress labelled, a rule whose Service
    is gone included, never a hand-made one beside them; the read side (get, probe, check) reads each
    list only where it can matter."""
    from kubectl_egress.app import App
    from kubectl_egress.mesh.detect import detect

    kubectl_apply(kubectl, BESIDE)
    for args in (["externalname", "mine", "httpbin.org"], ["endpoints", "eps", "192.0.2.1", "--port", "443"],
                 ["endpoints", "legacy", "192.0.2.2", "--port", "443", "--api", "endpoints"],
                 ["externalname", "site", "site.example", "--tls-origination"],
                 ["externalname", "away", "example.com", "-n", "other"],
                 ["endpoints", "far", "192.0.2.9", "--port", "443", "-n", "other"]):
        assert egress(*args).code == 0, args
    kube = App.from_raw({}).kube()
    mesh = detect(kube)
    assert (mesh.mode, mesh.networking_version) == ("legacy", "v1beta1")
    here = {("default", "eps"): [("DestinationRule", "eps"), ("EndpointSlice", "eps-ipv4"), ("Service", "eps")],
            ("default", "legacy"): [("DestinationRule", "legacy"), ("Endpoints", "legacy"), ("Service", "legacy")],
            ("default", "mine"): [("DestinationRule", "mine"), ("Service", "mine")],
            ("default", "orphan"): [("DestinationRule", "orphan")],
            ("default", "stray"): [("EndpointSlice", "stray")],  # no service-name label: its own name
            ("default", "site"): [("VirtualService", "site"), ("DestinationRule", "site"), ("ServiceEntry", "site"),
                                  ("Service", "site")]}
    owned = inventory.owned(kube, "default", mesh)
    assert kinds(owned) == here and [(f.namespace, f.name) for f in owned] == sorted(here)
    assert kinds(inventory.owned(kube, None, mesh)) == {
        **here, ("other", "away"): [("DestinationRule", "away"), ("Service", "away")],
        ("other", "far"): [("DestinationRule", "far"), ("EndpointSlice", "far-ipv4"), ("Service", "far")]}
    assert kinds(inventory.owned(kube, "default", mesh, ("mine", "orphan", "x"))) == {
        k: v for k, v in here.items() if k[1] in ("mine", "orphan")}
    assert all(obj.get("apiVersion") for f in owned for _, obj in f.objects())
    # Istio's API not served: nothing of it is asked for
    apiserver.clear_requests()
    bare = inventory.owned(kube, "default", Mesh(istio=False, mode="none", served=False))
    assert [(f.name, f.rule, f.entry, f.route) for f in bare] == [
        (n, None, None, None) for n in ("eps", "legacy", "mine", "site", "stray")]
    assert not [r for r in apiserver.requests() if "istio" in r["path"]]

    # lookup: everything named after one service, ours or not; slices only ours
    assert sorted(inventory.lookup(kube, "default", mesh, "eps")) == [
        ("DestinationRule", "eps"), ("EndpointSlice", "eps-ipv4"), ("Service", "eps")]
    hand = inventory.lookup(kube, "default", mesh, "hand")
    assert sorted(hand) == [("DestinationRule", "hand"), ("ServiceEntry", "hand")]
    assert hand[("ServiceEntry", "hand")]["apiVersion"] == "networking.istio.io/v1beta1"
    assert sorted(inventory.lookup(kube, "default", mesh, "site")) == [
        ("DestinationRule", "site"), ("Service", "site"), ("ServiceEntry", "site"), ("VirtualService", "site")]
    assert sorted(inventory.lookup(kube, "default", mesh, "legacy")) == [
        ("DestinationRule", "legacy"), ("Endpoints", "legacy"), ("Service", "legacy")]
    assert sorted(inventory.lookup(kube, "default", Mesh(istio=False, mode="none", served=False), "hand")) == []
    # another namespace than the kubeconfig's: nothing of default's namesakes
    for name in ("mine", "eps", "legacy", "site"):
        assert inventory.lookup(kube, "other", mesh, name) == {}, name
    assert sorted(inventory.lookup(kube, "other", mesh, "far")) == [
        ("DestinationRule", "far"), ("EndpointSlice", "far-ipv4"), ("Service", "far")]

    # the probe's source objects: only the ones --deploy-sources made
    assert [(res.kind, obj["metadata"]["name"]) for res, obj in inventory.sources(kube, "default")] == [
        ("ServiceAccount", "src")]
    assert [(res.kind, obj["metadata"]["name"]) for res, obj in inventory.source_namespaces(kube)] == [
        ("Namespace", "sources")]

    # the read side: egress Services only, endpoints the controllers did not write, the root namespace's
    # rules too, and the routes of TLS origination (legacy mode, an ExternalName there)
    snap = inventory.snapshot(kube, "default", mesh)
    assert names(snap.services) == [("default", n) for n in ("eps", "legacy", "mine", "site")]
    assert names(snap.endpoints) == [("default", "legacy")]
    assert names(snap.slices) == [("default", "eps-hand"), ("default", "eps-ipv4"), ("default", "stray")]
    assert names(snap.rules) == [("default", n) for n in ("eps", "hand", "legacy", "mine", "orphan", "site")] + [
        ("istio-system", "default")]
    assert names(snap.entries) == [("default", "hand"), ("default", "site")]
    assert names(snap.routes) == [("default", "site")] and snap.selected is None
    assert (snap.mesh, snap.namespace) == (mesh, "default")
    other = inventory.snapshot(kube, "other", mesh, "app.kubernetes.io/managed-by=kubectl-egress")
    assert names(other.services) == [("other", "away"), ("other", "far")]
    assert (names(other.endpoints), names(other.slices)) == ([], [("other", "far-ipv4")])
    assert names(other.rules) == [("other", "away"), ("other", "far"), ("istio-system", "default")]
    assert (other.entries, other.routes, other.selected) == ([], [], [])
    everywhere = inventory.snapshot(kube, None, mesh)
    assert names(everywhere.rules).count(("istio-system", "default")) == 1
    assert ("other", "away") in names(everywhere.services) and ("other", "away") in names(everywhere.rules)
    selected = inventory.snapshot(kube, "default", mesh, "app.kubernetes.io/managed-by=kubectl-egress")
    assert names(selected.selected) == [("default", "site")]
    assert names(selected.services) == [("default", n) for n in ("eps", "legacy", "mine", "site")]
    # read: the one selection get and probe share
    assert [(f.namespace, f.name) for f in inventory.read(kube, "default", mesh)] == [
        ("default", n) for n in ("eps", "legacy", "mine", "site")]
    assert [f.name for f in inventory.read(kube, None, mesh, ("away", "mine"))] == ["mine", "away"]
    assert [f.name for f in inventory.read(kube, "default", mesh, (), "app.kubernetes.io/managed-by=Helm")] == []
    # alias mode routes nothing; with no Service with endpoints, no endpoints are read
    kubectl("delete", "svc", "eps", "legacy")
    assert names(inventory.snapshot(kube, "default", mesh).routes) == [("default", "site")]  # ExternalNames only
    apiserver.clear_requests()
    alias = inventory.snapshot(kube, "default", dataclasses.replace(mesh, mode="alias"))
    assert alias.routes == [] and alias.endpoints == [] and alias.slices == []
    assert not [r for r in apiserver.requests() if "virtualservices" in r["path"] or "endpoints" in r["path"]]
    bare_snap = inventory.snapshot(kube, "default", Mesh(istio=False, mode="none", served=False))
    assert (bare_snap.rules, bare_snap.entries, bare_snap.routes) == ([], [], [])


def test_a_wildcard_rule_applies_but_is_not_the_services_own():
    """Its own DestinationRule names its host exactly; a wildcard one of the namespace applies to it
    (Istio's most specific host), but is not one of its objects, so clean never deletes it."""
    wild = rule("wild", "default", "*.default.svc.cluster.local", mode="SIMPLE")
    team_wild = rule("wild", "team", "*.example.com", mode="SIMPLE")
    snap = Snapshot(mesh=Mesh(mode="legacy"), services=[svc("ext", type="ExternalName", externalName="a.example")],
                    rules=[wild, team_wild], entries=[recipe_entry("api", "team", ["api.example.com"])])
    ext, api = inventory.egress_services(snap)
    assert (ext.rule, ext.applied) == (None, wild) and ext.objects() == [(SERVICES, ext.service)]
    assert (api.name, api.rule, api.applied) == ("api", None, None)


def test_a_waypoints_serviceentry_is_owned_only_while_it_carries_the_label(make_apiserver, egress, kubectl):
    """`externalname --waypoint` puts the ServiceEntry in the waypoint's namespace as NAME.NAMESPACE;
    clean finds it through the Service's annotation, and only while it is labelled as made by
    kubectl-egress."""
    from kubectl_egress.app import App
    from kubectl_egress.mesh.detect import detect
    from tests.test_waypoint import GATEWAY

    make_apiserver("1.28", ambient=True)
    kubectl_apply(kubectl, GATEWAY % {"ns": "istio-egress"})
    assert egress("externalname", "a-plain", "example.com").code == 0
    assert egress("externalname", "my-httpbin", "httpbin.org", "--waypoint", "istio-egress/waypoint").code == 0
    kube = App.from_raw({}).kube()
    mesh = detect(kube)
    plain, routed = inventory.owned(kube, "default", mesh)
    assert plain.entry[1]["metadata"]["namespace"] == "default"
    res, obj = routed.entry
    assert (res.kind, obj["metadata"]["namespace"], obj["metadata"]["name"], obj["apiVersion"]) == (
        "ServiceEntry", "istio-egress", "my-httpbin.default", "networking.istio.io/v1")
    assert kubectl("label", "serviceentry", "my-httpbin.default", "-n", "istio-egress",
                   "app.kubernetes.io/managed-by-").code == 0
    assert inventory.owned(kube, "default", mesh)[1].entry is None
    assert egress("clean", "my-httpbin").lines == [
        'destinationrule.networking.istio.io "my-httpbin" deleted', 'service "my-httpbin" deleted']
    assert kubectl("get", "serviceentry", "my-httpbin.default", "-n", "istio-egress").code == 0
