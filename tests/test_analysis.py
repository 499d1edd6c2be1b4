"""check's analyzers, pure: a Snapshot of objects in, Findings out (codes, objects, exact words, exact fix).

Each table row states a rule as Istio or a user would state it. Upstream vectors are cited by path in
istio/istio: the DestinationRule choice (pilot/pkg/model/push_context.go destinationRule,
MostSpecificHostMatch), the port-level settings (pilot/pkg/networking/util/util.go
GetPortLevelTrafficPolicy), the CaCertificateAnalyzer (pkg/config/analysis/analyzers/destinationrule/
ca-certificates.go, its testdata/destinationrule-*.yaml and the expectations of analyzers_test.go),
and the message texts (pkg/config/analysis/msg/messages.yaml). No cluster: the command-level tests
(test_check.py, test_istio_analyze.py) show the same analyzers behind `kubectl egress check`.
"""
from __future__ import annotations

import pytest

from kubectl_egress.analysis import Finding, Snapshot, analyze, at_or_above, effective_rule, tls_of
from kubectl_egress.analysis.endpoints import endpoint_ports, external_name_ip, mirrored_twice
from kubectl_egress.analysis.ports import port_names
from kubectl_egress.analysis.registry import namespace_revision, registry_only
from kubectl_egress.analysis.rules import (EntryHosts, RuleIndex, alias_rules, mesh_mtls, routed_host,
                                           visible_routes)
from kubectl_egress.analysis.snapshot import fix_command, ips_of
from kubectl_egress.analysis.tls import double_tls, in_scope, verification
from kubectl_egress.mesh import MeshFacts
from kubectl_egress.mesh.istiod import Revision
from kubectl_egress.mesh.policy import MeshConfig
from kubectl_egress.model import Mesh

LEGACY = Mesh(True, "v1", "legacy", "1.20.8", "test")
ALIAS = Mesh(True, "v1", "alias", "1.24.3", "test")
NO_ISTIO = Mesh(False, "v1", "none", "", "test", False)
MANAGED = {"app.kubernetes.io/managed-by": "kubectl-egress"}
ORIGINATION = {**MANAGED, "kubectl-egress/recipe": "externalname"}  # what each recipe labels its rules
BY_ENTRY = {**MANAGED, "kubectl-egress/recipe": "serviceentry"}
HTTPS = ({"name": "https", "port": 443},)
CA = "/etc/ssl/certs/ca-certificates.crt"
MTLS_WORDS = ("mode ISTIO_MUTUAL: callers with a sidecar send Istio mutual TLS to an external host that cannot "
              "speak it (HTTP 503 `upstream connect error ... connection termination`, or reset TLS handshakes)")


def svc(name, ns="default", ext=None, ports=HTTPS, labels=None, annotations=None, selector=None):
    spec: dict = {"ports": [dict(p) for p in ports]}
    if ext is not None:
        spec.update(type="ExternalName", externalName=ext)
    if selector:
        spec["selector"] = selector
    meta: dict = {"name": name, "namespace": ns}
    if labels:
        meta["labels"] = dict(labels)
    if annotations:
        meta["annotations"] = dict(annotations)
    return {"metadata": meta, "spec": spec}


def dr(name, ns, host, tls=None, levels=(), labels=None, **spec):
    """A DestinationRule: tls at the rule's level, levels = ((port, tls), ...) in portLevelSettings."""
    policy: dict = {}
    if tls is not None:
        policy["tls"] = tls
    if levels:
        policy["portLevelSettings"] = [{"port": {"number": p}, **({"tls": t} if t is not None else {})}
                                       for p, t in levels]
    meta: dict = {"name": name, "namespace": ns}
    if labels:
        meta["labels"] = dict(labels)
    return {"metadata": meta, "spec": {"host": host, **({"trafficPolicy": policy} if policy else {}), **spec}}


def se(name, ns, hosts, ports=({"number": 443, "name": "https", "protocol": "HTTPS"},)):
    return {"metadata": {"name": name, "namespace": ns}, "spec": {"hosts": list(hosts), "ports": list(ports)}}


def vs(name, ns, hosts, *destinations):
    return {"metadata": {"name": name, "namespace": ns},
            "spec": {"hosts": list(hosts), "http": [{"route": [{"destination": {"host": d}}]} for d in destinations]}}


def endpoints(name, ns="default", ips=("198.35.26.96",), ports=({"name": "https", "port": 443},), labels=None):
    meta: dict = {"name": name, "namespace": ns}
    if labels:
        meta["labels"] = dict(labels)
    return {"metadata": meta, "subsets": [{"addresses": [{"ip": ip} for ip in ips], "ports": list(ports)}]}


def endpoint_slice(name, service, ns="default", ips=("198.35.26.96",), ports=({"name": "https", "port": 443},),
                   mirrored=False):
    labels = {"kubernetes.io/service-name": service}
    if mirrored:
        labels["endpointslice.kubernetes.io/managed-by"] = "endpointslicemirroring-controller.k8s.io"
    return {"metadata": {"name": name, "namespace": ns, "labels": labels},
            "endpoints": [{"addresses": [ip]} for ip in ips], "ports": list(ports)}


def namespace(name, **labels):
    return {"metadata": {"name": name, "labels": labels}}


def rev(name, version="1.24.3", alias=True, outbound="ALLOW_ANY"):
    return Revision(name, "istiod" if name == "default" else f"istiod-{name}", version, alias, "test", outbound)


def facts(*revisions, namespaces=(), sidecars=(), tags=None, override="auto", tags_known=True, istiod_known=True):
    return MeshFacts("v1", revisions={r.name: r for r in revisions}, tags=tags or {}, tags_known=tags_known,
                     istiod_known=istiod_known, namespaces={n["metadata"]["name"]: n for n in namespaces},
                     sidecars=list(sidecars), configs={r.name: MeshConfig(r.outbound) for r in revisions},
                     override=override)


def with_facts(mesh: Mesh, mesh_facts: MeshFacts) -> Mesh:
    return Mesh(mesh.istio, mesh.networking_version, mesh.mode, mesh.version, mesh.source, facts=mesh_facts)


def sidecar(name, ns, hosts=None, mode="REGISTRY_ONLY", selector=None):
    spec: dict = {"outboundTrafficPolicy": {"mode": mode}}
    if hosts is not None:
        spec["egress"] = [{"hosts": list(hosts)}]
    if selector:
        spec["workloadSelector"] = {"labels": selector}
    return {"metadata": {"name": name, "namespace": ns, "creationTimestamp": "2026-01-01T00:00:00Z"}, "spec": spec}


def codes(found: list[Finding]) -> list[tuple[str, str]]:
    return [(f.code, f.object) for f in found]


# -- which DestinationRule applies ------------------------------------------------------------------
# push_context.go destinationRule: the caller's namespace first, then the root namespace (istio-system);
# in one namespace MostSpecificHostMatch: the exact host, else the longest wildcard that matches. A short
# host is relative to the rule's own namespace (DestinationRule reference, `host`). Rules are taken in
# the order listed (creation order); of two with the same host the first wins.
@pytest.mark.parametrize("rules, host, caller, want", [
    ([("istio-system", "root", "httpbin.org"), ("web", "own", "httpbin.org")], "httpbin.org", "web", "own"),
    ([("istio-system", "root", "httpbin.org")], "httpbin.org", "web", "root"),
    ([("istio-system", "root", "*.org"), ("web", "own", "*")], "httpbin.org", "web", "own"),  # namespace first
    ([("istio-system", "root", "httpbin.org")], "httpbin.org", "istio-system", "root"),
    ([("web", "wild", "*.example.com"), ("web", "exact", "api.example.com")], "api.example.com", "web", "exact"),
    ([("web", "short", "*.com"), ("web", "long", "*.example.com")], "api.example.com", "web", "long"),
    ([("web", "long", "*.example.com"), ("web", "short", "*.com")], "api.example.com", "web", "long"),
    ([("web", "any", "*"), ("web", "com", "*.com")], "api.example.com", "web", "com"),
    ([("web", "any", "*"), ("web", "com", "*.com")], "httpbin.org", "web", "any"),
    ([("web", "wild", "*.example.com")], "example.com", "web", None),  # *.example.com is a suffix with its dot
    ([("web", "wild", "*.example.com")], "api.example.org", "web", None),
    ([("web", "exact", "api.example.com")], "www.example.com", "web", None),
    ([("web", "wiki", "wiki")], "wiki.web.svc.cluster.local", "web", "wiki"),
    ([("default", "wiki", "wiki")], "wiki.web.svc.cluster.local", "web", None),  # wiki.default.svc.cluster.local
    ([("istio-system", "wiki", "wiki")], "wiki.web.svc.cluster.local", "web", None),
    ([("web", "first", "httpbin.org"), ("web", "second", "httpbin.org")], "httpbin.org", "web", "first"),
    ([("web", "first", "*.example.com"), ("web", "second", "*.example.com"), ("web", "com", "*.com")],
     "api.example.com", "web", "first"),
    ([], "httpbin.org", "web", None),
])
def test_the_destination_rule_istio_applies(rules, host, caller, want):
    snapshot = Snapshot(LEGACY, rules=[dr(name, ns, h) for ns, name, h in rules])
    found = effective_rule(snapshot, host, caller)
    assert (found["metadata"]["name"] if found else None) == want


# pilot/pkg/networking/util/util.go GetPortLevelTrafficPolicy: the first portLevelSettings entry for the
# port replaces the rule's policy whole ("port level policies do not inherit"), tls included even when the
# entry sets none; a port without an entry has the rule's own
@pytest.mark.parametrize("rule, port, want", [
    (None, 443, {}),
    (dr("r", "web", "h"), 443, {}),
    (dr("r", "web", "h", tls={"mode": "SIMPLE"}), 443, {"mode": "SIMPLE"}),
    (dr("r", "web", "h", tls={"mode": "SIMPLE"}, levels=((443, {"mode": "DISABLE"}),)), 443, {"mode": "DISABLE"}),
    (dr("r", "web", "h", tls={"mode": "SIMPLE"}, levels=((8443, {"mode": "DISABLE"}),)), 443, {"mode": "SIMPLE"}),
    (dr("r", "web", "h", tls={"mode": "SIMPLE"}, levels=((443, None),)), 443, {}),
    (dr("r", "web", "h", tls={"mode": "SIMPLE"}, levels=((443, None), (443, {"mode": "MUTUAL"}))), 443, {}),
    (dr("r", "web", "h", levels=((443, {"mode": "DISABLE"}), (443, {"mode": "MUTUAL"}))), 443, {"mode": "DISABLE"}),
    (dr("r", "web", "h", levels=((80, {"mode": "DISABLE"}), (443, {"mode": "MUTUAL"}))), 443, {"mode": "MUTUAL"}),
    (dr("r", "web", "h", tls={"mode": "SIMPLE"}, levels=((443, {"mode": "DISABLE"}),)), 0, {"mode": "SIMPLE"}),
])
def test_port_level_tls_over_the_rules(rule, port, want):
    assert tls_of(rule, port) == want


# a VirtualService's first HTTP route sends a host's requests to its destination, whose rules then apply
# (VirtualService reference: short names are relative to the VirtualService's namespace)
@pytest.mark.parametrize("routes, host, caller, want", [
    ([vs("r", "default", ["ext"], "httpbin.org")], "ext.default.svc.cluster.local", "default", "httpbin.org"),
    ([vs("r", "default", ["ext.default.svc.cluster.local"], "egress")], "ext.default.svc.cluster.local", "default",
     "egress.default.svc.cluster.local"),
    ([vs("r", "istio-system", ["ext.web.svc.cluster.local"], "httpbin.org")], "ext.web.svc.cluster.local", "web",
     "httpbin.org"),
    ([vs("r", "default", ["ext"])], "ext.default.svc.cluster.local", "default", ""),
    ([vs("r", "default", ["wiki"], "httpbin.org")], "ext.default.svc.cluster.local", "default", ""),
    ([vs("r", "default", ["ext"], "first.org", "second.org")], "ext.default.svc.cluster.local", "default",
     "first.org"),
    ([vs("a", "default", ["other"], "no.org"), vs("b", "default", ["ext"], "yes.org")],
     "ext.default.svc.cluster.local", "default", "yes.org"),
])
def test_routed_host(routes, host, caller, want):
    assert routed_host(Snapshot(LEGACY, routes=routes), host, caller) == want


# -- exportTo: the DestinationRule lookup path, and the VirtualServices a sidecar sees -------------------
# istio/istio pilot/pkg/model/push_context_test.go TestSetDestinationRuleWithExportTo, transcribed: its
# rules as (namespace, name, host, exportTo) and its cases as (proxy namespace, service namespace, host,
# the rule whose subsets it expects, as namespace/name). The lookup is push_context.go destinationRule.
UPSTREAM_RULES = [
    ("test1", "rule1", "httpbin.org", [".", "ns1"]),
    ("test2", "rule2", "httpbin.org", ["test2", "ns1", "test1", "newNS"]),
    ("test3", "rule3", "httpbin.org", ["test1", "test2", "*"]),
    ("test4", "rule4-local", "httpbin.org", ["test4"]),
    ("istio-system", "rule4", "httpbin.org", []),
    ("istio-system", "rule1", "httpbin.org", ["."]),
    ("istio-system", "rule2", "*.org", ["."]),
    ("istio-system", "rule3", "*.app.org", ["."]),
    ("test5", "rule5", "api.test.com", ["istio-system"]),
    ("test6", "rule6", "api.test.com", ["istio-system"]),
]


@pytest.mark.parametrize("caller, service_ns, host, want", [
    ("test1", "test1", "httpbin.org", "test1/rule1"),
    ("test1", "test2", "httpbin.org", "test1/rule1"),
    ("test2", "test1", "httpbin.org", "test2/rule2"),
    ("newNS", "test2", "httpbin.org", "test2/rule2"),
    ("test3", "test1", "httpbin.org", "test3/rule3"),
    ("test5", "test4", "httpbin.org", "istio-system/rule4"),
    ("ns1", "test1", "httpbin.org", "test1/rule1"),
    ("ns1", "random", "httpbin.org", "istio-system/rule4"),
    ("random", "random", "httpbin.org", "istio-system/rule4"),
    ("test3", "random", "httpbin.org", "test3/rule3"),
    ("istio-system", "random", "httpbin.org", "istio-system/rule1"),
    ("istio-system", "istio-system", "httpbin.org", "istio-system/rule1"),
    ("istio-system", "istio-system", "foo.app.org", "istio-system/rule3"),
    ("istio-system", "test5", "api.test.com", "test5/rule5"),
    ("istio-system", "test6", "api.test.com", "test6/rule6"),
    ("istio-system", "test7", "api.test.com", None),
])
def test_the_rule_lookup_path_upstream(caller, service_ns, host, want):
    index = RuleIndex([dr(name, ns, h, exportTo=export) if export else dr(name, ns, h)
                       for ns, name, h, export in UPSTREAM_RULES])
    found = index.effective(host, caller, service_ns)
    assert (f"{found['metadata']['namespace']}/{found['metadata']['name']}" if found else None) == want


def aged(rule, created):
    rule["metadata"]["creationTimestamp"] = created
    return rule


# the same rules of push_context.go setDestinationRules and destinationRule, row by row
@pytest.mark.parametrize("rules, host, caller, service_ns, default, want", [
    # the service's namespace comes before the root namespace, when its rule is exported to the caller
    ([dr("root", "istio-system", "httpbin.org"), dr("svc", "egress", "httpbin.org")], "httpbin.org", "web", "egress",
     ("*",), "svc"),
    ([dr("root", "istio-system", "httpbin.org"), dr("svc", "egress", "httpbin.org", exportTo=["."])], "httpbin.org",
     "web", "egress", ("*",), "root"),
    ([dr("svc", "egress", "httpbin.org", exportTo=["egress"])], "httpbin.org", "web", "egress", ("*",), None),
    ([dr("svc", "egress", "httpbin.org", exportTo=["web"])], "httpbin.org", "web", "egress", ("*",), "svc"),
    ([dr("svc", "egress", "httpbin.org", exportTo=["~"])], "httpbin.org", "web", "egress", ("*",), None),
    ([dr("svc", "egress", "httpbin.org")], "httpbin.org", "web", "", ("*",), None),  # another namespace's: not looked at
    ([dr("svc", "egress", "httpbin.org")], "httpbin.org", "web", "other", ("*",), None),
    # exportTo absent: the mesh's defaultDestinationRuleExportTo ("." keeps it home; only . and * count)
    ([dr("svc", "egress", "httpbin.org")], "httpbin.org", "web", "egress", (".",), None),
    ([dr("svc", "egress", "httpbin.org")], "httpbin.org", "web", "egress", ("other",), "svc"),
    ([dr("own", "web", "httpbin.org")], "httpbin.org", "web", "", (".",), "own"),
    # the caller's namespace has its own rules whatever they are exported to, unless that leaves it out
    ([dr("own", "web", "httpbin.org", exportTo=["other"])], "httpbin.org", "web", "", ("*",), None),
    ([dr("own", "web", "httpbin.org", exportTo=["other"]), dr("root", "istio-system", "httpbin.org")],
     "httpbin.org", "web", "web", ("*",), "root"),
    ([dr("own", "web", "httpbin.org", exportTo=["web"])], "httpbin.org", "web", "", ("*",), "own"),
    ([dr("own", "web", "httpbin.org", exportTo=["other", "web"])], "httpbin.org", "web", "", ("*",), "own"),
    ([dr("own", "web", "httpbin.org", exportTo=["*"])], "httpbin.org", "web", "", ("*",), "own"),
    ([dr("own", "web", "httpbin.org", exportTo=["~"])], "httpbin.org", "web", "", ("*",), None),
    # the most specific host of a namespace's exported rules, then whether the caller sees it: a less
    # specific one of that namespace is not tried (getExportedDestinationRuleFromNamespace)
    ([dr("any", "egress", "*.org"), dr("exact", "egress", "httpbin.org", exportTo=["other"])], "httpbin.org", "web",
     "egress", ("*",), None),
    ([dr("any", "egress", "*.org"), dr("long", "egress", "*.httpbin.org", exportTo=["other"])], "api.httpbin.org",
     "web", "egress", ("*",), None),
    ([dr("any", "egress", "*.org"), dr("exact", "egress", "httpbin.org", exportTo=["."])], "httpbin.org", "web",
     "egress", ("*",), "any"),  # a private rule is not among the exported ones at all
    # of one host's rules exported differently, the first the caller sees (mergeDestinationRule keeps them apart)
    ([dr("a", "egress", "httpbin.org", exportTo=["other"]), dr("b", "egress", "httpbin.org", exportTo=["web"])],
     "httpbin.org", "web", "egress", ("*",), "b"),
    # a rule with a workloadSelector stays in its namespace
    ([dr("sel", "egress", "httpbin.org", workloadSelector={"matchLabels": {"app": "a"}})], "httpbin.org", "web",
     "egress", ("*",), None),
    ([dr("sel", "istio-system", "httpbin.org", workloadSelector={"matchLabels": {"app": "a"}})], "httpbin.org",
     "web", "", ("*",), None),
    # a caller in the root namespace: its private rules, then the service's namespace, then its exported ones
    ([dr("root", "istio-system", "httpbin.org"), dr("svc", "egress", "httpbin.org")], "httpbin.org",
     "istio-system", "egress", ("*",), "svc"),
    ([dr("root", "istio-system", "httpbin.org", exportTo=["."]), dr("svc", "egress", "httpbin.org")], "httpbin.org",
     "istio-system", "egress", ("*",), "root"),
    ([dr("root", "istio-system", "httpbin.org", exportTo=["."])], "httpbin.org", "web", "", ("*",), None),
    # oldest first, then by name (sortConfigBySelectorAndCreationTime), whatever the order listed
    ([aged(dr("b", "web", "httpbin.org"), "2026-01-02T00:00:00Z"), aged(dr("a", "web", "httpbin.org"),
                                                                       "2026-01-03T00:00:00Z")],
     "httpbin.org", "web", "", ("*",), "b"),
    ([dr("b", "web", "httpbin.org"), dr("a", "web", "httpbin.org")], "httpbin.org", "web", "", ("*",), "a"),
    ([dr("b", "istio-system", "httpbin.org"), dr("a", "istio-system", "httpbin.org")], "httpbin.org", "web", "",
     ("*",), "a"),
])
def test_the_rule_lookup_path(rules, host, caller, service_ns, default, want):
    found = RuleIndex(rules, default).effective(host, caller, service_ns)
    assert (found["metadata"]["name"] if found else None) == want


# a host's service namespace: a Service's from its name, else its ServiceEntry's, the caller's own first
@pytest.mark.parametrize("entries, host, caller, want", [
    ([], "wiki.web.svc.cluster.local", "other", "web"),
    ([], "httpbin.org", "web", ""),
    ([se("h", "egress", ["httpbin.org"])], "httpbin.org", "web", "egress"),
    ([se("h", "egress", ["HTTPbin.org"])], "httpbin.org", "web", "egress"),
    ([se("h", "egress", ["httpbin.org"]), se("h", "web", ["httpbin.org"])], "httpbin.org", "web", "web"),
    ([se("h", "a", ["httpbin.org"]), se("h", "b", ["httpbin.org"])], "httpbin.org", "web", "a"),
    ([se("h", "egress", ["other.org"])], "httpbin.org", "web", ""),
    ([{**se("h", "egress", ["httpbin.org"]), "spec": {"hosts": ["httpbin.org"], "exportTo": ["."]}}],
     "httpbin.org", "web", ""),
    ([{**se("h", "egress", ["httpbin.org"]), "spec": {"hosts": ["httpbin.org"], "exportTo": ["web"]}}],
     "httpbin.org", "web", "egress"),
    ([{**se("h", "a", ["httpbin.org"]), "spec": {"hosts": ["httpbin.org"], "exportTo": ["."]}},
      se("h", "b", ["httpbin.org"])], "httpbin.org", "web", "b"),
    ([], "a.b.c.svc.cluster.local", "web", ""),
])
def test_the_service_namespace_of_a_host(entries, host, caller, want):
    assert EntryHosts(entries).service_namespace(host, caller) == want


def routing(name, ns, host, export=None, gateways=None):
    spec: dict = {"hosts": [host]}
    if export is not None:
        spec["exportTo"] = export
    if gateways is not None:
        spec["gateways"] = gateways
    return {"metadata": {"name": name, "namespace": ns}, "spec": spec}


# push_context_test.go TestVirtualServiceWithExportTo (root namespace "zzz"), the mesh gateway's cases:
# the hosts of the VirtualServices each proxy namespace sees, in order
UPSTREAM_ROUTES = [routing("rule1", "test1", "rule1.com", [".", "ns1"]),
                   routing("rule2", "test2", "rule2.com", ["test2", "ns1", "test1"]),
                   routing("rule3", "test3", "rule3.com", ["test1", "test2", "*"], ["mesh"]),
                   routing("rule2Gw", "test2", "rule2gw.com", ["test2", "ns1", "test1"], ["default/gateway", "mesh"]),
                   routing("rule3Gw", "test3", "rule3gw.com", ["test1", "test2", "*"], ["default/gateway"]),
                   routing("zzz", "zzz", "rootNS.com")]
# and TestVirtualServiceWithDefaultExportTo, defaultVirtualServiceExportTo [".", "ns1"]
UPSTREAM_DEFAULT_ROUTES = [routing("mesh-rule1", "test1", "mesh-rule1.com"),
                           routing("mesh-rule2", "test2", "mesh-rule2.com"),
                           routing("gw-rule", "test1", "gw-rule.com", gateways=["default/gateway"])]


@pytest.mark.parametrize("routes, default, caller, want", [
    (UPSTREAM_ROUTES, ("*",), "test1", ["rule1.com", "rule2.com", "rule2gw.com", "rule3.com", "rootNS.com"]),
    (UPSTREAM_ROUTES, ("*",), "test2", ["rule2.com", "rule2gw.com", "rule3.com", "rootNS.com"]),
    (UPSTREAM_ROUTES, ("*",), "ns1", ["rule1.com", "rule2.com", "rule2gw.com", "rule3.com", "rootNS.com"]),
    (UPSTREAM_ROUTES, ("*",), "random", ["rule3.com", "rootNS.com"]),
    (UPSTREAM_DEFAULT_ROUTES, (".", "ns1"), "test1", ["mesh-rule1.com"]),
    (UPSTREAM_DEFAULT_ROUTES, (".", "ns1"), "ns1", ["mesh-rule1.com", "mesh-rule2.com"]),
    (UPSTREAM_DEFAULT_ROUTES, (".", "ns1"), "test2", ["mesh-rule2.com"]),
    (UPSTREAM_DEFAULT_ROUTES, (".", "ns1"), "random", []),
    # ours: `~` hides one even when it names the caller; oldest first within a group
    ([routing("r", "a", "r.com", ["~", "web"])], ("*",), "web", []),
    ([routing("r", "a", "r.com", ["~", "*"])], ("*",), "web", ["r.com"]),
    ([aged(routing("new", "a", "new.com"), "2026-02-01T00:00:00Z"),
      aged(routing("old", "b", "old.com"), "2026-01-01T00:00:00Z")], ("*",), "web", ["old.com", "new.com"]),
    # the groups before age: private, then exported by name, then public
    ([aged(routing("exp", "a", "exp.com", ["web"]), "2026-01-01T00:00:00Z"),
      aged(routing("own", "web", "own.com", ["."]), "2026-02-01T00:00:00Z")], ("*",), "web", ["own.com", "exp.com"]),
    ([aged(routing("pub", "a", "pub.com"), "2026-01-01T00:00:00Z"),
      aged(routing("exp", "b", "exp.com", ["web"]), "2026-02-01T00:00:00Z")], ("*",), "web", ["exp.com", "pub.com"]),
])
def test_the_virtual_services_a_sidecar_sees(routes, default, caller, want):
    assert [h for vs in visible_routes(routes, caller, default) for h in vs["spec"]["hosts"]] == want


# routed_host takes the first VirtualService the caller sees for the host
@pytest.mark.parametrize("routes, caller, want", [
    ([vs("a", "other", ["ext.web.svc.cluster.local"], "public.org")], "web", "public.org"),
    ([{**vs("a", "other", ["ext.web.svc.cluster.local"], "hidden.org"),
       "spec": {**vs("a", "other", ["x"], "hidden.org")["spec"], "hosts": ["ext.web.svc.cluster.local"],
                "exportTo": ["."]}}], "web", ""),
    ([vs("a", "other", ["ext.web.svc.cluster.local"], "public.org"), vs("b", "web", ["ext"], "own.org")], "web",
     "public.org"),
    ([vs("a", "other", ["ext.web.svc.cluster.local"], "public.org"),
      {**vs("b", "web", ["ext"], "own.org"), "spec": {**vs("b", "web", ["ext"], "own.org")["spec"], "exportTo": ["."]}}],
     "web", "own.org"),
    ([{**vs("a", "web", ["ext"], "gw.org"), "spec": {**vs("a", "web", ["ext"], "gw.org")["spec"],
                                                    "gateways": ["web/gw"]}}], "web", ""),
])
def test_the_route_a_caller_sees(routes, caller, want):
    assert routed_host(Snapshot(LEGACY, routes=routes), "ext.web.svc.cluster.local", caller) == want


# -- EG0005: Istio mutual TLS towards an external host ----------------------------------------------
MESH_WIDE = dr("default", "istio-system", "*.local", tls={"mode": "ISTIO_MUTUAL"})


@pytest.mark.parametrize("mesh, services, rules, routes, want", [
    # up to 1.20 an ExternalName Service is a mesh service: the mesh-wide *.local rule applies to it
    (LEGACY, [svc("ext", ext="httpbin.org")], [MESH_WIDE], [],
     ("ext.default.svc.cluster.local", "istio-system/default (host *.local)",
      "kubectl egress externalname ext httpbin.org --port 443 --protocol https --tls-mode DISABLE --force")),
    (LEGACY, [svc("ext", "web", ext="httpbin.org.", labels=MANAGED)], [MESH_WIDE], [],
     ("ext.web.svc.cluster.local", "istio-system/default (host *.local)",
      "kubectl egress externalname ext httpbin.org --port 443 --protocol https --tls-mode DISABLE -n web")),
    # the caller's namespace's rule is the one that applies
    (LEGACY, [svc("ext", ext="httpbin.org")], [MESH_WIDE, dr("off", "default", "ext", tls={"mode": "DISABLE"})],
     [], None),
    (LEGACY, [svc("ext", ext="httpbin.org")], [dr("mine", "default", "ext", tls={"mode": "ISTIO_MUTUAL"})], [],
     ("ext.default.svc.cluster.local", "default/mine (host ext)",
      "kubectl egress externalname ext httpbin.org --port 443 --protocol https --tls-mode DISABLE --force")),
    # from 1.21 the alias's target is the host
    (ALIAS, [svc("ext", ext="httpbin.org")], [MESH_WIDE], [], None),
    (ALIAS, [svc("ext", ext="httpbin.org.")], [dr("h", "default", "httpbin.org", tls={"mode": "ISTIO_MUTUAL"})], [],
     ("httpbin.org", "default/h (host httpbin.org)",
      "kubectl egress externalname ext httpbin.org --port 443 --protocol https --tls-mode DISABLE --force")),
    (ALIAS, [svc("ext", ext="httpbin.org")], [dr("all", "istio-system", "*", tls={"mode": "ISTIO_MUTUAL"})], [],
     ("httpbin.org", "istio-system/all (host *)",
      "kubectl egress externalname ext httpbin.org --port 443 --protocol https --tls-mode DISABLE --force")),
    # a Service with endpoints is a mesh service in every version
    (ALIAS, [svc("wiki")], [MESH_WIDE], [],
     ("wiki.default.svc.cluster.local", "istio-system/default (host *.local)",
      "kubectl egress endpoints wiki IP --port 443 --protocol https --tls-mode DISABLE --force")),
    (LEGACY, [svc("ext", ext="httpbin.org")], [dr("s", "default", "ext", tls={"mode": "SIMPLE"})], [], None),
    # the Service's ports decide: a port-level entry replaces the rule's tls (GetPortLevelTrafficPolicy)
    (LEGACY, [svc("ext", ext="httpbin.org")], [dr("p", "default", "ext", levels=((443, {"mode": "ISTIO_MUTUAL"}),))],
     [], ("ext.default.svc.cluster.local", "default/p (host ext)",
          "kubectl egress externalname ext httpbin.org --port 443 --protocol https --tls-mode DISABLE --force")),
    (LEGACY, [svc("ext", ext="httpbin.org", ports=[{"name": "http", "port": 80}, {"name": "https", "port": 443}])],
     [dr("p", "default", "ext", levels=((443, {"mode": "ISTIO_MUTUAL"}),))], [],
     ("ext.default.svc.cluster.local", "default/p (host ext)",
      "kubectl egress externalname ext httpbin.org --tls-mode DISABLE --force")),
    (LEGACY, [svc("ext", ext="httpbin.org")], [dr("p", "default", "ext", tls={"mode": "ISTIO_MUTUAL"},
                                                  levels=((443, {"mode": "DISABLE"}),))], [], None),
    (LEGACY, [svc("ext", ext="httpbin.org")], [dr("p", "default", "ext", tls={"mode": "ISTIO_MUTUAL"},
                                                  levels=((443, None),))], [], None),
    (LEGACY, [svc("ext", ext="httpbin.org", ports=[])], [dr("p", "default", "ext", tls={"mode": "ISTIO_MUTUAL"},
                                                            levels=((1, {"mode": "DISABLE"}),))], [],
     ("ext.default.svc.cluster.local", "default/p (host ext)",
      "kubectl egress externalname ext httpbin.org --port 443 --protocol https --tls-mode DISABLE --force")),
    (LEGACY, [svc("ext", ext="httpbin.org")], [], [], None),
    # origination up to 1.20: the route sends ext's requests to the external host, whose rule applies
    (LEGACY, [svc("ext", ext="httpbin.org")], [dr("ext", "default", "httpbin.org", tls={"mode": "ISTIO_MUTUAL"})],
     [vs("ext", "default", ["ext"], "httpbin.org")],
     ("httpbin.org", "default/ext (host httpbin.org)",
      "kubectl egress externalname ext httpbin.org --port 443 --protocol https --tls-mode DISABLE --force")),
    (LEGACY, [svc("ext", ext="httpbin.org")], [MESH_WIDE, dr("ext", "default", "httpbin.org",
                                                               tls={"mode": "SIMPLE"})],
     [vs("ext", "default", ["ext"], "httpbin.org")], None),
])
def test_istio_mutual_tls_to_an_external_host(mesh, services, rules, routes, want):
    snapshot = Snapshot(mesh, services=services, rules=rules, routes=routes)
    found = mesh_mtls(snapshot, services[0])
    if want is None:
        assert found == []
        return
    host, where, fix = want
    ns = services[0]["metadata"]["namespace"]
    assert found == [Finding("error", "EG0005", f"Service {ns}/{services[0]['metadata']['name']}",
                             f"the DestinationRule that applies to {host} is {where}, {MTLS_WORDS}", fix)]


def test_no_mutual_tls_finding_without_istio():
    snapshot = Snapshot(NO_ISTIO, services=[svc("ext", ext="httpbin.org")], rules=[MESH_WIDE])
    assert mesh_mtls(snapshot, snapshot.services[0]) == []


# -- EG0004: a DestinationRule on an alias's own name -------------------------------------------------
def alias_words(host, version, target):
    return (f"host {host} is an ExternalName Service, which Istio {version} treats as a DNS alias: the rule applies "
            f"to nothing; rules for {target} belong on that host, with a ServiceEntry")


EXT = svc("ext", ext="httpbin.org.")
EXT_FIX = "kubectl egress externalname ext httpbin.org --port 443 --protocol https --force"


@pytest.mark.parametrize("mesh, rules, want", [
    (ALIAS, [dr("ext-dr", "default", "ext")], [("DestinationRule default/ext-dr", "1.24.3")]),
    (ALIAS, [dr("b", "istio-system", "ext.default.svc.cluster.local"), dr("a", "default", "ext")],
     [("DestinationRule default/a", "1.24.3"), ("DestinationRule istio-system/b", "1.24.3")]),
    (Mesh(True, "v1", "alias", "", "guessed"), [dr("ext-dr", "default", "ext")],
     [("DestinationRule default/ext-dr", "1.21+")]),
    (ALIAS, [dr("wild", "default", "*.default.svc.cluster.local")], []),  # not the alias's own name
    (ALIAS, [dr("other", "default", "wiki"), dr("wild", "default", "*.default.svc.cluster.local")], []),
    # the revision of the Service's namespace decides, not the default one
    (with_facts(ALIAS, facts(rev("default", "1.24.3", True), rev("old", "1.20.8", False),
                             namespaces=[namespace("default", **{"istio.io/rev": "old"})])),
     [dr("ext-dr", "default", "ext")], []),
    (ALIAS, [dr("other", "default", "wiki")], []),
    (LEGACY, [dr("ext-dr", "default", "ext")], []),  # a mesh service of its own up to 1.20
    (with_facts(LEGACY, facts(rev("1-22", "1.22.3", True))), [dr("ext-dr", "default", "ext")],
     [("DestinationRule default/ext-dr", "1.22.3")]),  # the namespace's revision decides
    (with_facts(ALIAS, facts(rev("1-20", "1.20.8", False))), [dr("ext-dr", "default", "ext")], []),
    (with_facts(ALIAS, facts(rev("1-20", "1.20.8", False), override="alias")), [dr("ext-dr", "default", "ext")],
     [("DestinationRule default/ext-dr", "1.24.3")]),  # --istio-mode alias: the Mesh's mode and version
    (with_facts(ALIAS, facts()), [dr("ext-dr", "default", "ext")], [("DestinationRule default/ext-dr", "1.24.3")]),
])
def test_rules_on_an_alias_apply_to_nothing(mesh, rules, want):
    snapshot = Snapshot(mesh, services=[EXT], rules=rules)
    assert alias_rules(snapshot, EXT) == [
        Finding("warning", "EG0004", obj, alias_words("ext.default.svc.cluster.local", version, "httpbin.org"),
                EXT_FIX) for obj, version in want]


def test_only_an_external_name_service_is_an_alias():
    wiki = svc("wiki")
    assert alias_rules(Snapshot(ALIAS, services=[wiki], rules=[dr("w", "default", "wiki")]), wiki) == []


# -- port names: IST0150, IST0118 (istio's PortNameAnalyzer), EG0006 ------------------------------------
IST0150 = ("Port name for ExternalName service is invalid. Proxy may prevent tcp named ports and unmatched traffic "
           "for ports serving TCP protocol from being forwarded correctly")
KUBECTL_CREATE = ("Port name {} is what `kubectl create service` gives; Istio cannot tell the protocol from it and "
                  "treats the port as plain TCP or sniffs it")


@pytest.mark.parametrize("service, want", [
    (svc("ext", ext="example.com", ports=[{"name": "tcp", "port": 443}]),
     [("warning", "IST0150", f"{IST0150} (port 443 is named tcp)",
       "kubectl egress externalname ext example.com --port 443 --protocol tcp --force")]),
    (svc("ext", ext="example.com", ports=[{"port": 8080}]),
     [("warning", "IST0150", f"{IST0150} (port 8080 is named nothing)",
       "kubectl egress externalname ext example.com --port 8080 --force")]),
    (svc("ext", ext="example.com", ports=[{"name": "https", "port": 443}, {"name": "web", "port": 80}]),
     [("warning", "IST0150", f"{IST0150} (port 80 is named web)", EXT_FIX.replace("httpbin.org", "example.com"))]),
    (svc("plain", ports=[{"name": "web", "port": 443}]),
     [("info", "IST0118", "Port name web (port: 443, targetPort: 0) doesn't follow the naming convention of Istio "
                          "port.", "kubectl egress endpoints plain IP --port 443 --protocol https --force")]),
    (svc("plain", "web", ports=[{"name": "web", "port": 8443, "targetPort": "api"}], labels=MANAGED),
     [("info", "IST0118", "Port name web (port: 8443, targetPort: api) doesn't follow the naming convention of "
                          "Istio port.", "kubectl egress endpoints plain IP --port 8443 --protocol https -n web")]),
    (svc("plain", ports=[{"name": "tcp", "port": 9000, "targetPort": 9001}]), []),  # only an ExternalName's `tcp`
    (svc("ext", ext="example.com", ports=[{"name": "tcp-db", "port": 5432}]), []),
    (svc("ext", ext="example.com", ports=[{"name": "web", "port": 3306}]), []),  # a well-known port is TCP
    (svc("ext", ext="example.com", ports=[{"name": "80-80", "port": 80}]),
     [("warning", "IST0150", f"{IST0150} (port 80 is named 80-80)", "kubectl egress externalname ext example.com --force"),
      ("warning", "EG0006", KUBECTL_CREATE.format("80-80"), "kubectl egress externalname ext example.com --force")]),
    (svc("ext", ext="example.com", ports=[{"name": "443-443", "port": 443}]),
     [("warning", "IST0150", f"{IST0150} (port 443 is named 443-443)",
       "kubectl egress externalname ext example.com --port 443 --protocol https --force"),
      ("warning", "EG0006", KUBECTL_CREATE.format("443-443"),
       "kubectl egress externalname ext example.com --port 443 --protocol https --force")]),
    (svc("ext", ext="example.com", ports=[{"name": "8443-8443", "port": 8443, "appProtocol": "https"}]), []),
    (svc("ext", ext="example.com", ports=[{"name": "8443-8443", "port": 8443}]),
     [("warning", "IST0150", f"{IST0150} (port 8443 is named 8443-8443)",
       "kubectl egress externalname ext example.com --port 8443 --protocol https --force"),
      ("warning", "EG0006", KUBECTL_CREATE.format("8443-8443"),
       "kubectl egress externalname ext example.com --port 8443 --protocol https --force")]),
    # the protocol suggested is the one of the port so named, whatever the first port is
    (svc("ext", ext="example.com", ports=[{"name": "https", "port": 443}, {"name": "80-80", "port": 80}]),
     [("warning", "IST0150", f"{IST0150} (port 80 is named 80-80)", EXT_FIX.replace("httpbin.org", "example.com")),
      ("warning", "EG0006", KUBECTL_CREATE.format("80-80"),
       "kubectl egress externalname ext example.com --port 443 --force")]),
    (svc("plain", ports=[{"port": 8080}]),
     [("info", "IST0118", "Port name  (port: 8080, targetPort: 0) doesn't follow the naming convention of Istio "
                          "port.", "kubectl egress endpoints plain IP --port 8080 --protocol http --force")]),
    (svc("plain", ports=[{"name": "8080-80", "port": 8080}]),
     [("info", "IST0118", "Port name 8080-80 (port: 8080, targetPort: 0) doesn't follow the naming convention of "
                          "Istio port.", "kubectl egress endpoints plain IP --port 8080 --protocol http --force"),
      ("warning", "EG0006", KUBECTL_CREATE.format("8080-80"),
       "kubectl egress endpoints plain IP --port 8080 --protocol http --force")]),
    (svc("plain", ports=[{"name": "80-80x", "port": 80}]),
     [("info", "IST0118", "Port name 80-80x (port: 80, targetPort: 0) doesn't follow the naming convention of "
                          "Istio port.", "kubectl egress endpoints plain IP --port 80 --protocol http --force")]),
    # util.IsIstioControlPlane and the gateway controllers' Services are skipped
    (svc("istiod", ext="x.org", ports=[{"name": "web", "port": 80}], labels={"istio": "pilot"}), []),
    (svc("gw", ext="x.org", ports=[{"name": "web", "port": 80}], labels={"release": "istio"}), []),
    (svc("gw", ext="x.org", ports=[{"name": "web", "port": 80}], labels={"release": "other"}),
     [("warning", "IST0150", f"{IST0150} (port 80 is named web)", "kubectl egress externalname gw x.org --force")]),
    *[(svc("gw", ext="x.org", ports=[{"name": "web", "port": 80}], labels={"gateway.istio.io/managed": c}), [])
      for c in ("istio.io-gateway-controller", "istio.io-mesh-controller", "istio.io-eastwest-controller")],
    (svc("gw", ext="x.org", ports=[{"name": "web", "port": 80}], labels={"gateway.istio.io/managed": "other"}),
     [("warning", "IST0150", f"{IST0150} (port 80 is named web)", "kubectl egress externalname gw x.org --force")]),
])
def test_port_names(service, want):
    ref = f"Service {service['metadata']['namespace']}/{service['metadata']['name']}"
    assert port_names(Snapshot(LEGACY, services=[service]), service) == [
        Finding(level, code, ref, message, fix) for level, code, message, fix in want]


# -- endpoints and names: EG0001, EG0002, EG0003 --------------------------------------------------------
NOT_PAIRED = ("{} not among the Service's port names ({}): Istio pairs endpoints with Service ports by name, so "
              "this traffic has no endpoints (istio#18624)")


@pytest.mark.parametrize("service, eps, slices, want", [
    (svc("wiki", ports=[{"name": "tls", "port": 443}]), [endpoints("wiki")], [],
     (NOT_PAIRED.format("Endpoints port https", "tls"), "kubectl egress endpoints wiki 198.35.26.96 --port 443 --force")),
    (svc("wiki", ports=[{"name": "tls", "port": 443}, {"name": "http", "port": 80}]), [endpoints("wiki")],
     [endpoint_slice("wiki-abc", "wiki", ips=("198.35.26.97",), ports=[{"port": 443}])],
     (NOT_PAIRED.format("EndpointSlice wiki-abc port (unnamed), Endpoints port https", "http, tls"),
      "kubectl egress endpoints wiki 198.35.26.96 198.35.26.97 --port 443 --force")),
    (svc("wiki", ports=[{"port": 443}]), [endpoints("wiki", ports=[{"port": 443}])], [], None),  # both unnamed
    (svc("wiki", ports=[{"name": "https", "port": 443}]), [endpoints("wiki")], [endpoint_slice("w", "wiki")], None),
    (svc("wiki", ports=[{"name": "tls", "port": 443}]), [endpoints("wiki", ns="other"), endpoints("wiki2")],
     [endpoint_slice("w", "wiki", ns="other"), endpoint_slice("w2", "wiki2")], None),
    (svc("ext", ext="httpbin.org", ports=[{"name": "tls", "port": 443}]), [endpoints("ext")], [], None),
])
def test_endpoint_port_names(service, eps, slices, want):
    snapshot = Snapshot(LEGACY, services=[service], endpoints=eps, slices=slices)
    ref = f"Service default/{service['metadata']['name']}"
    assert endpoint_ports(snapshot, service) == ([] if want is None else [Finding("warning", "EG0001", ref, *want)])


MIRRORED = ("both v1 Endpoints wiki and EndpointSlice {}: the EndpointSliceMirroring controller copies the Endpoints "
            "into a second slice, so every address is there twice; keep one, or label the Endpoints "
            "endpointslice.kubernetes.io/skip-mirror=true")


@pytest.mark.parametrize("eps, slices, want", [
    ([endpoints("wiki")], [endpoint_slice("wiki-mine", "wiki")], "wiki-mine"),
    ([endpoints("wiki")], [endpoint_slice("wiki-m", "wiki", mirrored=True), endpoint_slice("wiki-2", "wiki"),
                           endpoint_slice("wiki-3", "wiki")], "wiki-2"),
    ([endpoints("wiki")], [endpoint_slice("wiki-m", "wiki", mirrored=True)], None),  # the controller's own copy
    ([endpoints("wiki", labels={"endpointslice.kubernetes.io/skip-mirror": "true"})],
     [endpoint_slice("wiki-mine", "wiki")], None),
    ([endpoints("wiki", labels={"endpointslice.kubernetes.io/skip-mirror": "false"})],
     [endpoint_slice("wiki-mine", "wiki")], "wiki-mine"),
    ([], [endpoint_slice("wiki-mine", "wiki")], None),
    ([endpoints("wiki")], [], None),
    ([endpoints("wiki", ns="other")], [endpoint_slice("wiki-mine", "wiki")], None),
])
def test_endpoints_mirrored_twice(eps, slices, want):
    wiki = svc("wiki")
    found = mirrored_twice(Snapshot(LEGACY, services=[wiki], endpoints=eps, slices=slices), wiki)
    assert found == ([] if want is None else [
        Finding("warning", "EG0002", "Service default/wiki", MIRRORED.format(want),
                "kubectl egress endpoints wiki 198.35.26.96 --port 443 --protocol https --api endpointslice --force")])


@pytest.mark.parametrize("target, want", [
    ("203.0.113.10", "203.0.113.10"),
    ("203.0.113.10.", "203.0.113.10"),
    ("2001:db8::1", "2001:db8::1"),
    ("example.com", None),
    ("203.0.113.300", None),
])
def test_an_ip_as_external_name(target, want):
    ext = svc("ext", ext=target)
    found = external_name_ip(Snapshot(LEGACY, services=[ext]), ext)
    assert found == ([] if want is None else [
        Finding("warning", "EG0003", "Service default/ext",
                f"externalName {want} is an IP address: the cluster's DNS answers a CNAME to a name that does not "
                "exist; a Service with endpoints gives an IP a name",
                f"kubectl egress endpoints ext {want} --port 443 --protocol https --force")])


def test_an_ip_on_a_service_with_endpoints_is_not_an_external_name():
    plain = svc("plain")
    plain["spec"]["externalName"] = "203.0.113.10"
    assert external_name_ip(Snapshot(LEGACY, services=[plain]), plain) == []


# -- the fix command ----------------------------------------------------------------------------------
@pytest.mark.parametrize("service, kwargs, want", [
    (svc("ext", ext="example.com", ports=[{"name": "http", "port": 80}]), {}, "kubectl egress externalname ext example.com --force"),
    (svc("ext", ext="example.com.", ports=[{"name": "http", "port": 80}], labels=MANAGED), {},
     "kubectl egress externalname ext example.com"),
    (svc("ext", "web", ext="example.com", ports=[]), {}, "kubectl egress externalname ext example.com --port 443 "
                                                         "--protocol https -n web --force"),
    (svc("ext", ext="example.com", ports=[{"port": 8443}]), {}, "kubectl egress externalname ext example.com --port 8443 "
                                                               "--protocol https --force"),
    (svc("ext", ext="example.com", ports=[{"port": 8080}]), {}, "kubectl egress externalname ext example.com --port 8080 "
                                                               "--force"),
    (svc("ext", ext="example.com", ports=[{"name": "tls", "port": 443}]), {},
     "kubectl egress externalname ext example.com --port 443 --protocol tls --force"),
    (svc("ext", ext="example.com", ports=[{"name": "grpc-web", "port": 80}]), {},
     "kubectl egress externalname ext example.com --protocol tcp --force"),  # not a protocol a recipe writes
    (svc("ext", ext="example.com", ports=[{"name": "grpc", "port": 80}]), {},
     "kubectl egress externalname ext example.com --protocol grpc --force"),
    (svc("ext", ext="example.com", ports=[{"name": "web", "port": 80}]), {"protocol": "https"},
     "kubectl egress externalname ext example.com --protocol https --force"),
    (svc("ext", ext="example.com", ports=[{"name": "web", "port": 80}]), {"protocol": "tls"},
     "kubectl egress externalname ext example.com --protocol tls --force"),
    (svc("ext", ext="example.com"), {"tls_mode": "SIMPLE"},
     "kubectl egress externalname ext example.com --port 443 --protocol https --tls-mode SIMPLE --force"),
    (svc("ext", ext="203.0.113.10"), {"as_endpoints": "203.0.113.10"},
     "kubectl egress endpoints ext 203.0.113.10 --port 443 --protocol https --force"),
    (svc("wiki", ports=[{"name": "tls", "port": 443}]), {}, "kubectl egress endpoints wiki IP --port 443 --force"),
    (svc("wiki", "web", ports=[{"name": "http", "port": 80}], labels=MANAGED,
         annotations={"kubectl-egress/host": "wiki.example.org"}), {"api": "endpoints"},
     "kubectl egress endpoints wiki IP --port 80 --protocol http --host wiki.example.org --api endpoints -n web"),
])
def test_the_fix_command(service, kwargs, want):
    assert fix_command(Snapshot(LEGACY, services=[service]), service, **kwargs) == want


def test_the_ips_of_a_service_are_its_endpoints_and_own_slices_once_each():
    wiki = svc("wiki")
    snapshot = Snapshot(LEGACY, services=[wiki], endpoints=[endpoints("wiki", ips=("10.0.0.1", "10.0.0.2")),
                                                              endpoints("wiki", "other", ips=("10.9.9.9",))],
                        slices=[endpoint_slice("m", "wiki", ips=("10.0.0.3",), mirrored=True),
                                endpoint_slice("s", "wiki", ips=("10.0.0.2", "10.0.0.4")),
                                endpoint_slice("o", "wiki", "other", ips=("10.9.9.8",))])
    assert ips_of(snapshot, wiki) == ["10.0.0.1", "10.0.0.2", "10.0.0.4"]


# -- EG0009: REGISTRY_ONLY, and EG0010: a revision no istiod serves ------------------------------------
def blocked(who, source, host, why, fix, service="Service web/ext"):
    return Finding("error", "EG0009", service,
                   f"{who} have outbound traffic policy REGISTRY_ONLY, from the {source}, and cannot reach {host}: "
                   f"{why}; their sidecars answer HTTP 502 from the BlackHoleCluster and reset TLS handshakes", fix)


WEB = namespace("web", **{"istio-injection": "enabled"})
CLOSED = rev("default", "1.24.3", True, "REGISTRY_ONLY")
CLOSED_120 = rev("default", "1.20.8", False, "REGISTRY_ONLY")
WEB_CALLERS = "callers in namespace web"
MESH_CONFIG = "mesh config istio-system/istio"
EXT_WEB = svc("ext", "web", ext="httpbin.org")
EXT_WEB_FIX = "kubectl egress externalname ext httpbin.org --port 443 --protocol https -n web --force"
NO_ENTRY_ALIAS = "no ServiceEntry names it, and from Istio 1.21 an ExternalName Service is only a DNS alias of it"
NO_ENTRY_SNI = "no ServiceEntry names it, and up to 1.20 TLS is routed by its SNI, that host"


def patch_sidecar(name, value):
    return (f"kubectl patch sidecar {name} -n web --type json -p "
            f"'[{{\"op\": \"add\", \"path\": \"/spec/egress/0/hosts/-\", \"value\": \"{value}\"}}]'")


@pytest.mark.parametrize("mesh_facts, service, entries, registry, want", [
    (facts(CLOSED, namespaces=[WEB]), EXT_WEB, [], None,
     [blocked(WEB_CALLERS, MESH_CONFIG, "httpbin.org", NO_ENTRY_ALIAS, EXT_WEB_FIX)]),
    (facts(CLOSED, namespaces=[WEB]), svc("ext", "web", ext="HttpBin.org."), [], None,
     [blocked(WEB_CALLERS, MESH_CONFIG, "httpbin.org", NO_ENTRY_ALIAS, EXT_WEB_FIX.replace("httpbin", "HttpBin"))]),
    (facts(CLOSED, namespaces=[WEB]), EXT_WEB, [se("httpbin", "egress", ["httpbin.org"])], None, []),
    (facts(CLOSED, namespaces=[WEB]), EXT_WEB, [se("any-org", "egress", ["*.org"])], None, []),
    (facts(CLOSED, namespaces=[WEB]), EXT_WEB, [se("all", "egress", ["*"])], None, []),
    (facts(CLOSED, namespaces=[WEB]), EXT_WEB, [se("httpbin", "egress", ["HTTPBIN.org"])], None, []),
    (facts(CLOSED, namespaces=[WEB]), EXT_WEB, [se("sub", "egress", ["*.httpbin.org", "www.httpbin.org"])], None,
     [blocked(WEB_CALLERS, MESH_CONFIG, "httpbin.org", NO_ENTRY_ALIAS, EXT_WEB_FIX)]),
    # under REGISTRY_ONLY check reads every namespace's entries (registry); the checked ones otherwise
    (facts(CLOSED, namespaces=[WEB]), EXT_WEB, [se("httpbin", "web", ["httpbin.org"])], [], 
     [blocked(WEB_CALLERS, MESH_CONFIG, "httpbin.org", NO_ENTRY_ALIAS, EXT_WEB_FIX)]),
    (facts(CLOSED, namespaces=[WEB]), EXT_WEB, [], [se("httpbin", "egress", ["httpbin.org"])], []),
    (facts(rev("default", outbound="ALLOW_ANY"), namespaces=[WEB]), EXT_WEB, [], None, []),
    (facts(CLOSED, namespaces=[namespace("web", **{"istio.io/dataplane-mode": "ambient"})]), EXT_WEB, [], None, []),
    # up to 1.20: TLS is routed by SNI, the external host; plain HTTP by the Service's own name
    (facts(CLOSED_120, namespaces=[WEB]), EXT_WEB, [], None,
     [blocked(WEB_CALLERS, MESH_CONFIG, "httpbin.org", NO_ENTRY_SNI, EXT_WEB_FIX)]),
    (facts(CLOSED_120, namespaces=[WEB]), svc("ext", "web", ext="httpbin.org", ports=[{"name": "tls", "port": 8443}]),
     [], None, [blocked(WEB_CALLERS, MESH_CONFIG, "httpbin.org", NO_ENTRY_SNI,
                        "kubectl egress externalname ext httpbin.org --port 8443 --protocol tls -n web --force")]),
    (facts(CLOSED_120, namespaces=[WEB]), svc("ext", "web", ext="httpbin.org", ports=[{"name": "http", "port": 80}]),
     [], None, []),
    (facts(CLOSED_120, namespaces=[WEB], override="alias"), EXT_WEB, [], None,
     [blocked(WEB_CALLERS, MESH_CONFIG, "httpbin.org", NO_ENTRY_SNI, EXT_WEB_FIX)]),  # the Mesh (legacy) decides
    # a Sidecar's egress hosts hide the entry, or the Service itself
    (facts(CLOSED, namespaces=[WEB], sidecars=[sidecar("own-only", "web", ["./*"])]), EXT_WEB,
     [se("httpbin", "egress", ["httpbin.org"]), se("more", "egress", ["httpbin.org"])], None,
     [blocked(WEB_CALLERS, "Sidecar web/own-only", "httpbin.org",
              "ServiceEntry egress/httpbin names it, but the egress hosts of Sidecar web/own-only do not import it",
              patch_sidecar("own-only", "egress/httpbin.org"))]),
    (facts(CLOSED, namespaces=[WEB], sidecars=[sidecar("own-only", "web", ["./*"])]), EXT_WEB,
     [se("httpbin", "web", ["httpbin.org"])], None, []),
    (facts(CLOSED, namespaces=[WEB], sidecars=[sidecar("own-only", "web", ["./*"])]), EXT_WEB, [], None,
     [blocked(WEB_CALLERS, "Sidecar web/own-only", "httpbin.org", NO_ENTRY_ALIAS, EXT_WEB_FIX)]),
    (facts(CLOSED, namespaces=[WEB], sidecars=[sidecar("sys", "web", ["istio-system/*"])]), svc("wiki", "web"), [],
     None, [blocked(WEB_CALLERS, "Sidecar web/sys", "wiki.web.svc.cluster.local",
                    "the egress hosts of Sidecar web/sys do not import it",
                    patch_sidecar("sys", "web/wiki.web.svc.cluster.local"), "Service web/wiki")]),
    (facts(CLOSED, namespaces=[WEB], sidecars=[sidecar("own", "web", ["./*"])]), svc("wiki", "web"), [], None, []),
    (facts(CLOSED, namespaces=[WEB]), svc("wiki", "web"), [], None, []),
    # a Sidecar with a workloadSelector: its workloads are callers of their own
    (facts(rev("default"), namespaces=[WEB], sidecars=[sidecar("legacy", "web", selector={"tier": "b", "app": "old"})]),
     EXT_WEB, [], None, [blocked("callers in namespace web labelled app=old,tier=b", "Sidecar web/legacy",
                                 "httpbin.org", NO_ENTRY_ALIAS, EXT_WEB_FIX)]),
    (facts(CLOSED, namespaces=[WEB], sidecars=[sidecar("open", "web", selector={"app": "x"}, mode="ALLOW_ANY"),
                                               sidecar("other", "dev", selector={"app": "x"})]),
     EXT_WEB, [], None, [blocked(WEB_CALLERS, MESH_CONFIG, "httpbin.org", NO_ENTRY_ALIAS, EXT_WEB_FIX)]),
    (facts(CLOSED, namespaces=[WEB], sidecars=[sidecar("legacy", "web", selector={"app": "old"})]), EXT_WEB, [], None,
     [blocked(WEB_CALLERS, MESH_CONFIG, "httpbin.org", NO_ENTRY_ALIAS, EXT_WEB_FIX),
      blocked("callers in namespace web labelled app=old", "Sidecar web/legacy", "httpbin.org", NO_ENTRY_ALIAS,
              EXT_WEB_FIX)]),
    # the revision of the Service's namespace decides whether an ExternalName is an alias
    (facts(CLOSED, rev("old", "1.20.8", False, "REGISTRY_ONLY"), namespaces=[namespace("web", **{"istio.io/rev": "old"})]),
     svc("ext", "web", ext="httpbin.org", ports=[{"name": "http", "port": 80}]), [], None, []),
    (facts(namespaces=[WEB]), EXT_WEB, [], None, []),  # no istiod known: no policy to go by
])
def test_blocked_by_registry_only(mesh_facts, service, entries, registry, want):
    mesh = with_facts(LEGACY if mesh_facts.override == "alias" else ALIAS, mesh_facts)
    snapshot = Snapshot(mesh, services=[service], entries=entries, registry=registry)
    assert registry_only(snapshot, service) == want


def test_registry_only_needs_the_mesh_facts():
    assert registry_only(Snapshot(ALIAS, services=[EXT_WEB]), EXT_WEB) == []


def no_revision(label, asked, known):
    return (f"the namespace is labelled {label}, but Istio has no revision or revision tag {asked} (there are: "
            f"{known}): no injection webhook selects its pods, which start without a sidecar")


@pytest.mark.parametrize("mesh_facts, want", [
    (facts(rev("default"), rev("canary"), namespaces=[namespace("typo", **{"istio.io/rev": "canry"})]),
     (no_revision("istio.io/rev=canry", "canry", "canary, default"),
      "kubectl label namespace typo istio.io/rev=canary --overwrite")),
    (facts(rev("default"), rev("alpha"), namespaces=[namespace("typo", **{"istio.io/rev": "zzz"})],
           tags={"stable": "default"}),
     (no_revision("istio.io/rev=zzz", "zzz", "alpha, default, stable"),
      "kubectl label namespace typo istio.io/rev=default --overwrite")),  # no close name: the default
    (facts(rev("1-24"), rev("1-20"), namespaces=[namespace("typo", **{"istio-injection": "enabled"})]),
     (no_revision("istio-injection=enabled", "default", "1-20, 1-24"),
      "kubectl label namespace typo istio-injection- istio.io/rev=1-20")),
    (facts(rev("1-24"), rev("1-20"), namespaces=[namespace("typo", **{"istio.io/rev": "zzz"})]),
     (no_revision("istio.io/rev=zzz", "zzz", "1-20, 1-24"), "kubectl label namespace typo istio.io/rev=1-20 "
                                                             "--overwrite")),
    (facts(namespaces=[namespace("typo", **{"istio.io/rev": "canary"})]),
     (no_revision("istio.io/rev=canary", "canary", "none"), "")),
    (facts(namespaces=[namespace("typo", **{"istio-injection": "enabled"})]),
     (no_revision("istio-injection=enabled", "default", "none"), "")),
    (facts(rev("default"), namespaces=[namespace("typo", **{"istio.io/rev": "stable"})], tags={"stable": "gone"}),
     None),  # a tag is there, even pointing nowhere
    (facts(rev("default"), namespaces=[namespace("typo", **{"istio.io/rev": "canary"})], tags_known=False), None),
    (facts(rev("default"), namespaces=[namespace("typo", **{"istio.io/rev": "default"})]), None),
    (facts(rev("default"), namespaces=[namespace("typo", **{"istio.io/dataplane-mode": "ambient"})]), None),
    (facts(namespaces=[namespace("typo", **{"istio.io/rev": "canary"})], istiod_known=False), None),
])
def test_a_namespace_asking_for_a_revision_no_istiod_serves(mesh_facts, want):
    found = namespace_revision(Snapshot(with_facts(ALIAS, mesh_facts)), "typo")
    assert found == ([] if want is None else [Finding("warning", "EG0010", "Namespace typo", *want)])


def test_no_revision_finding_without_facts():
    assert namespace_revision(Snapshot(ALIAS), "typo") == []


# -- IST0128, IST0129 (istioctl's CaCertificateAnalyzer), EG0008 -----------------------------------------
def no_ca(name, ns, mode, host, port=None):
    text = (f"DestinationRule {ns}/{name} in namespace {ns} has TLS mode set to {mode} but no caCertificates are set "
            f"to validate server identity for host: {host}")
    return text if port is None else f"{text} at port number:{port}"


def patch_dr(name, ops, ns="default"):
    where = f" -n {ns}" if ns != "default" else ""
    return f"kubectl patch destinationrule {name}{where} --type=json -p '{ops}'"


DB = "mydbserver.prod.svc.cluster.local"
CERTS = {"clientCertificate": "/etc/certs/myclientcert.pem", "privateKey": "/etc/certs/client_private_key.pem"}
SNI = {"sni": "my-nginx.mesh-external.svc.cluster.local"}
ADD_CA = '[{{"op":"add","path":"/spec/trafficPolicy/{}/caCertificates","value":"' + CA + '"}}]'
RULE_CA = ADD_CA.format("tls")
PORT0_CA = ADD_CA.format("portLevelSettings/0/tls")
SELECTOR = {"workloadSelector": {"matchLabels": {"app": "db"}}}


# testdata/destinationrule-*.yaml, with the code analyzers_test.go expects of each, placed in namespace
# `default` as istio.io's IST0128 and IST0129 pages show them; the rows after the last file are other modes
# and namespaces
@pytest.mark.parametrize("rule, want", [
    # destinationrule-simple-destination.yaml
    (dr("db-tls", "default", DB, tls={"mode": "SIMPLE", **CERTS}),
     [("IST0128", no_ca("db-tls", "default", "SIMPLE", DB), patch_dr("db-tls", RULE_CA))]),
    # destinationrule-mutual-destination.yaml
    (dr("db-mtls", "default", DB, tls={"mode": "MUTUAL", **CERTS}),
     [("IST0128", no_ca("db-mtls", "default", "MUTUAL", DB), patch_dr("db-mtls", RULE_CA))]),
    # destinationrule-simple-port.yaml
    (dr("db-tls", "default", DB, levels=((443, {"mode": "SIMPLE", **CERTS, **SNI}),)),
     [("IST0129", no_ca("db-tls", "default", "SIMPLE", DB, 443), patch_dr("db-tls", PORT0_CA))]),
    # destinationrule-mutual-port.yaml
    (dr("db-mtls", "default", DB, levels=((443, {"mode": "MUTUAL", **CERTS, **SNI}),)),
     [("IST0129", no_ca("db-mtls", "default", "MUTUAL", DB, 443), patch_dr("db-mtls", PORT0_CA))]),
    # destinationrule-simple-destination-credentialname.yaml: a credentialName without a workloadSelector
    (dr("db-tls", "default", DB, tls={"mode": "SIMPLE", "credentialName": "db-credential"}),
     [("IST0128", no_ca("db-tls", "default", "SIMPLE", DB), patch_dr("db-tls", RULE_CA))]),
    # destinationrule-simple-destination-credentialname-selector.yaml
    (dr("db-tls", "default", DB, tls={"mode": "SIMPLE", "credentialName": "db-credential"}, **SELECTOR), []),
    # destinationrule-simple-port-credentialname.yaml
    (dr("db-tls", "default", DB, levels=((443, {"mode": "SIMPLE", "credentialName": "db-credential"}),)),
     [("IST0129", no_ca("db-tls", "default", "SIMPLE", DB, 443), patch_dr("db-tls", PORT0_CA))]),
    # destinationrule-simple-port-credentialname-selector.yaml
    (dr("db-tls", "default", DB, levels=((443, {"mode": "SIMPLE", "credentialName": "db-credential"}),),
        **SELECTOR), []),
    # destinationrule-compound-simple-mutual.yaml: MUTUAL at the rule's level, SIMPLE at port 443
    (dr("db-mtls", "default", DB, tls={"mode": "MUTUAL", **CERTS}, levels=((443, {"mode": "SIMPLE", **CERTS, **SNI}),)),
     [("IST0128", no_ca("db-mtls", "default", "MUTUAL", DB), patch_dr("db-mtls", RULE_CA)),
      ("IST0129", no_ca("db-mtls", "default", "SIMPLE", DB, 443), patch_dr("db-mtls", PORT0_CA))]),
    # destinationrule-compound-mutual-simple.yaml
    (dr("db-mtls", "default", DB, tls={"mode": "SIMPLE", **CERTS}, levels=((443, {"mode": "MUTUAL", **CERTS, **SNI}),)),
     [("IST0128", no_ca("db-mtls", "default", "SIMPLE", DB), patch_dr("db-mtls", RULE_CA)),
      ("IST0129", no_ca("db-mtls", "default", "MUTUAL", DB, 443), patch_dr("db-mtls", PORT0_CA))]),
    # destinationrule-with-ca.yaml
    (dr("db-mtls", "default", DB, tls={"mode": "MUTUAL", **CERTS, "caCertificates": "/etc/certs/root.pem"},
        levels=((443, {"mode": "SIMPLE", **CERTS, "caCertificates": "/etc/certs/root.pem", **SNI}),)), []),
    # modes that verify nothing themselves, or need no caCertificates
    (dr("r", "default", DB, tls={"mode": "DISABLE"}, levels=((443, {"mode": "ISTIO_MUTUAL"}),)), []),
    (dr("r", "default", DB, tls={"mode": "DISABLE"}, levels=((443, {"mode": "SIMPLE"}),)),
     [("IST0129", no_ca("r", "default", "SIMPLE", DB, 443), patch_dr("r", PORT0_CA))]),
    (dr("r", "default", DB, levels=((80, None), (443, {"mode": "SIMPLE"}))),
     [("IST0129", no_ca("r", "default", "SIMPLE", DB, 443),
       patch_dr("r", ADD_CA.format("portLevelSettings/1/tls")))]),
    (dr("r", "web", "httpbin.org", tls={"mode": "SIMPLE", "insecureSkipVerify": True}),
     [("IST0128", no_ca("r", "web", "SIMPLE", "httpbin.org"),
       patch_dr("r", '[{"op":"remove","path":"/spec/trafficPolicy/tls/insecureSkipVerify"},{"op":"add","path":'
                     '"/spec/trafficPolicy/tls/caCertificates","value":"' + CA + '"}]', "web"))]),
    (dr("r", "default", DB, tls={"mode": "SIMPLE"}, workloadSelector={"matchLabels": {"app": "db"}}),
     [("IST0128", no_ca("r", "default", "SIMPLE", DB), patch_dr("r", RULE_CA))]),  # a selector without credential
])
def test_server_certificate_verification(rule, want):
    assert verification(Snapshot(LEGACY, rules=[rule]), rule) == [
        Finding("warning", code, f"DestinationRule {rule['metadata']['namespace']}/{rule['metadata']['name']}",
                message, fix) for code, message, fix in want]


SKIPPED = ("insecureSkipVerify is true for {}: the sidecar accepts any certificate and ignores caCertificates {}, so "
           "whoever can intercept the connection can read and change it")
REMOVE_SKIP = '[{{"op":"remove","path":"/spec/trafficPolicy/{}/insecureSkipVerify"}}]'


@pytest.mark.parametrize("rule, want", [
    (dr("r", "default", "httpbin.org", tls={"mode": "SIMPLE", "caCertificates": CA, "insecureSkipVerify": True}),
     [(SKIPPED.format("httpbin.org", CA), patch_dr("r", REMOVE_SKIP.format("tls")))]),
    (dr("r", "web", "httpbin.org", levels=((443, {"mode": "MUTUAL", "caCertificates": "/c.pem",
                                                  "insecureSkipVerify": True}),)),
     [(SKIPPED.format("port 443 of httpbin.org", "/c.pem"),
       patch_dr("r", REMOVE_SKIP.format("portLevelSettings/0/tls"), "web"))]),
    (dr("r", "default", "httpbin.org", tls={"mode": "SIMPLE", "caCertificates": CA, "insecureSkipVerify": False}), []),
    (dr("ext", "web", "httpbin.org", labels=ORIGINATION, levels=((443, {"mode": "SIMPLE", "caCertificates": CA,
                                                                      "insecureSkipVerify": True}),)),
     [(SKIPPED.format("port 443 of httpbin.org", CA),
       "kubectl egress externalname ext httpbin.org --port 443 --tls-origination -n web")]),
    (dr("r", "default", "httpbin.org", tls={"mode": "DISABLE", "caCertificates": CA, "insecureSkipVerify": True}), []),
    (dr("r", "default", "httpbin.org", tls={"mode": "SIMPLE", "credentialName": "c", "insecureSkipVerify": True},
        **SELECTOR), [(SKIPPED.format("httpbin.org", None), patch_dr("r", REMOVE_SKIP.format("tls")))]),
])
def test_certificate_verification_skipped(rule, want):
    assert verification(Snapshot(LEGACY, services=[svc("ext", "web", ext="httpbin.org")], rules=[rule]), rule) == [
        Finding("warning", "EG0008", f"DestinationRule {rule['metadata']['namespace']}/{rule['metadata']['name']}",
                message, fix) for message, fix in want]


# a rule kubectl egress made for TLS origination is fixed by its own command, verification on


@pytest.mark.parametrize("rule, services, entries, want", [
    (dr("ext", "default", "httpbin.org", levels=((443, {"mode": "SIMPLE", "insecureSkipVerify": True}),),
        labels=ORIGINATION), [svc("ext", ext="httpbin.org.")], [],
     "kubectl egress externalname ext httpbin.org --port 443 --tls-origination"),
    (dr("ext", "web", "httpbin.org", levels=((80, {"mode": "SIMPLE"}),), labels=ORIGINATION),
     [svc("ext", "web", ext="httpbin.org")], [], "kubectl egress externalname ext httpbin.org --tls-origination -n web"),
    (dr("ext", "web", "httpbin.org", levels=((80, {"mode": "SIMPLE"}),), labels=ORIGINATION),
     [svc("ext", "default", ext="httpbin.org"), svc("ext", "web"), svc("ext2", "web", ext="httpbin.org")], [],
     patch_dr("ext", PORT0_CA, "web")),  # no ExternalName ext in web: the patch
    (dr("ext", "default", "httpbin.org", tls={"mode": "SIMPLE"}, labels=ORIGINATION), [svc("ext", ext="httpbin.org")],
     [], patch_dr("ext", RULE_CA)),  # the recipes originate on a port
    (dr("ext", "default", "httpbin.org", levels=((443, {"mode": "SIMPLE"}),), labels={"kubectl-egress/recipe": "x"}),
     [svc("ext", ext="httpbin.org")], [], patch_dr("ext", PORT0_CA)),  # not made by kubectl egress
    (dr("api", "web", "api.example.com", levels=((8443, {"mode": "SIMPLE"}),), labels=BY_ENTRY), [],
     [se("api", "default", ["other.example.com"]), se("api", "web", ["api.example.com", "www.example.com"])],
     "kubectl egress serviceentry api api.example.com www.example.com --port 8443 --tls-origination -n web"),
    (dr("api", "default", "api.example.com", levels=((443, {"mode": "SIMPLE"}),), labels=BY_ENTRY), [],
     [se("other", "default", ["x.example.com"])],
     "kubectl egress serviceentry api api.example.com --port 443 --tls-origination"),
])
def test_an_origination_rule_is_fixed_by_its_recipe(rule, services, entries, want):
    found = verification(Snapshot(LEGACY, services=services, entries=entries, rules=[rule]), rule)
    assert [(f.code, f.fix) for f in found] == [("IST0129" if "portLevelSettings" in str(rule) else "IST0128", want)]


# -- EG0007: double TLS (istio.io Networking Problems, "Double TLS"; istio#36377) ----------------------
def double(port, host, name, proto, pointer, ns="default", rule="r"):
    text = (f"double TLS: the rule originates TLS (mode SIMPLE) on port {port} of {host}, whose callers already speak "
            f"TLS (port {name}, protocol {proto}); the sidecar encrypts their TLS again and they fail with `wrong "
            f"version number` (istio#36377). Turn origination off there, or let the app call http://{host}/ "
            "(--tls-origination)")
    fix = patch_dr(rule, f'[{{"op":"replace","path":"/spec/trafficPolicy/{pointer}/mode","value":"DISABLE"}}]', ns)
    return Finding("error", "EG0007", f"DestinationRule {ns}/{rule}", text, fix)


@pytest.mark.parametrize("mesh, rule, services, entries, want", [
    (LEGACY, dr("r", "default", "httpbin.org", levels=((443, {"mode": "SIMPLE"}),)), [], [se("e", "x", ["httpbin.org"])],
     [double(443, "httpbin.org", "https", "https", "portLevelSettings/0/tls")]),
    (LEGACY, dr("r", "default", "HTTPBIN.org", levels=((443, {"mode": "SIMPLE"}),)), [],
     [se("e", "x", ["httpbin.ORG"])], [double(443, "HTTPBIN.org", "https", "https", "portLevelSettings/0/tls")]),
    (LEGACY, dr("r", "default", "httpbin.org", tls={"mode": "SIMPLE"}), [],
     [se("e", "x", ["httpbin.org"], ports=[{"number": 80, "name": "http", "protocol": "HTTP"},
                                           {"number": 8443, "protocol": "TLS"}])],
     [double(8443, "httpbin.org", 8443, "tls", "tls")]),
    (LEGACY, dr("r", "default", "httpbin.org", levels=((80, {"mode": "SIMPLE"}),)), [],
     [se("e", "x", ["httpbin.org"], ports=[{"number": 80, "name": "http", "protocol": "HTTP"},
                                           {"number": 443, "name": "https", "protocol": "HTTPS"}])], []),
    (LEGACY, dr("r", "default", "httpbin.org", levels=((443, {"mode": "DISABLE"}), (443, {"mode": "MUTUAL"}))), [],
     [se("e", "x", ["httpbin.org"])], []),
    (LEGACY, dr("r", "default", "httpbin.org", levels=((443, {"mode": "SIMPLE"}),)), [],
     [se("e", "x", ["www.httpbin.org"])], []),
    # up to 1.20 an ExternalName Service is a host of its own, with its ports
    (LEGACY, dr("r", "web", "ext", levels=((443, {"mode": "SIMPLE"}),)), [svc("ext", "web", ext="httpbin.org")], [],
     [double(443, "ext", "https", "https", "portLevelSettings/0/tls", "web")]),
    (LEGACY, dr("r", "web", "ext", levels=((443, {"mode": "SIMPLE"}),)), [svc("ext", "dev", ext="httpbin.org")], [],
     []),
    (LEGACY, dr("r", "web", "httpbin.org", levels=((443, {"mode": "SIMPLE"}),)),
     [svc("ext", "web", ext="httpbin.org")], [], []),
    # from 1.21 its callers use the alias's port towards the external host
    (ALIAS, dr("r", "web", "httpbin.org", levels=((443, {"mode": "SIMPLE"}),)),
     [svc("ext", "web", ext="HttpBin.org.", ports=[{"name": "tls-x", "port": 443}])], [],
     [double(443, "httpbin.org", "tls-x", "tls", "portLevelSettings/0/tls", "web")]),
    (ALIAS, dr("r", "web", "httpbin.org", levels=((443, {"mode": "SIMPLE"}),)),
     [svc("ext", "web", ext="httpbin.org", ports=[{"name": "http", "port": 443}]), svc("wiki", "web")], [], []),
    # each tls of the rule is looked at
    (LEGACY, dr("r", "default", "httpbin.org", tls={"mode": "DISABLE"}, levels=((80, {"mode": "SIMPLE"}),
                                                                             (443, {"mode": "SIMPLE"}))), [],
     [se("e", "x", ["httpbin.org"], ports=[{"number": 80, "name": "http", "protocol": "HTTP"},
                                           {"number": 443, "name": "https", "protocol": "HTTPS"}])],
     [double(443, "httpbin.org", "https", "https", "portLevelSettings/1/tls")]),
    # every ServiceEntry and every alias of the host counts
    (LEGACY, dr("r", "default", "httpbin.org", levels=((443, {"mode": "SIMPLE"}),)), [],
     [se("tls", "x", ["httpbin.org"]), se("plain", "y", ["httpbin.org"], ports=[{"number": 80, "protocol": "HTTP"}])],
     [double(443, "httpbin.org", "https", "https", "portLevelSettings/0/tls")]),
    (ALIAS, dr("r", "web", "httpbin.org", levels=((443, {"mode": "SIMPLE"}),)),
     [svc("a", "web", ext="httpbin.org", ports=[{"port": 443, "appProtocol": "tls"}]),
      svc("b", "dev", ext="httpbin.org", ports=[{"name": "http", "port": 80}])], [se("p", "x", ["httpbin.org"], ports=[])],
     [double(443, "httpbin.org", 443, "tls", "portLevelSettings/0/tls", "web")]),
])
def test_double_tls(mesh, rule, services, entries, want):
    assert double_tls(Snapshot(mesh, services=services, entries=entries, rules=[rule]), rule) == want


# -- the whole of check: which objects, in which order --------------------------------------------------
@pytest.mark.parametrize("snapshot_ns, names, rule, want", [
    (None, (), dr("r", "web", "x.org"), True),
    ("web", (), dr("r", "web", "x.org"), True),
    ("dev", (), dr("r", "web", "x.org"), False),
    (None, ("r",), dr("r", "web", "x.org"), True),
    (None, ("ext",), dr("r", "web", "x.org"), False),
    (None, ("ext",), dr("r", "web", "HTTPBIN.org"), True),  # the alias's external host
    (None, ("ext",), dr("r", "web", "ext.web.svc.cluster.local"), True),
    (None, ("wiki",), dr("r", "web", "ext.web.svc.cluster.local"), False),
    (None, ("ext",), dr("r", "web", "ext"), True),  # a short host is in the rule's namespace
    (None, ("ext",), dr("r", "dev", "ext"), False),
])
def test_the_rules_in_scope(snapshot_ns, names, rule, want):
    snapshot = Snapshot(ALIAS, services=[svc("ext", "web", ext="httpbin.org."), svc("wiki", "web")],
                        namespace=snapshot_ns)
    assert in_scope(snapshot, rule, names) is want


def test_check_orders_errors_first_and_skips_what_it_must():
    services = [svc("plain", "web", ports=[{"name": "web", "port": 443}]),  # IST0118 (info) and EG0005 (error)
                svc("ext", "web", ext="203.0.113.10", labels=MANAGED),  # EG0003 (warning) and EG0005
                svc("app", "web", selector={"app": "x"}, ports=[{"name": "web", "port": 80}]),  # not egress
                svc("dns", "kube-system", ext="203.0.113.11")]  # a system namespace
    rules = [MESH_WIDE, dr("sys", "kube-system", "x.org", tls={"mode": "SIMPLE"}),
             dr("own", "web", "x.org", tls={"mode": "SIMPLE"})]  # IST0128 (warning)
    snapshot = Snapshot(LEGACY, services=services, rules=rules, namespaces=["web"])
    assert codes(analyze(snapshot)) == [("EG0005", "Service web/ext"), ("EG0005", "Service web/plain"),
                                        ("EG0003", "Service web/ext"),
                                        ("IST0128", "DestinationRule web/own"), ("IST0118", "Service web/plain")]
    assert codes(analyze(snapshot, ("ext",))) == [("EG0005", "Service web/ext"), ("EG0003", "Service web/ext")]
    without = Snapshot(NO_ISTIO, services=services, rules=rules, namespaces=["web"])
    assert codes(analyze(without)) == [("EG0003", "Service web/ext")]


def test_check_reads_namespaces_only_without_names():
    typo = namespace("typo", **{"istio.io/rev": "canry"})
    mesh = with_facts(ALIAS, facts(rev("default"), namespaces=[typo, namespace("kube-system", **{"istio.io/rev": "x"})]))
    snapshot = Snapshot(mesh, namespaces=["kube-system", "typo"])
    assert codes(analyze(snapshot)) == [("EG0010", "Namespace typo")]
    assert analyze(snapshot, ("ext",)) == []
    assert analyze(Snapshot(with_facts(NO_ISTIO, mesh.facts), namespaces=["typo"])) == []


def test_services_in_order_of_namespace_then_name():
    services = [svc(n, ns, ext="203.0.113.1") for ns, n in (("web", "b"), ("dev", "z"), ("web", "a"))]
    assert [f.object for f in analyze(Snapshot(NO_ISTIO, services=services))] == [
        "Service dev/z", "Service web/a", "Service web/b"]


@pytest.mark.parametrize("level, want", [
    ("info", ["error", "warning", "info"]), ("warning", ["error", "warning"]), ("error", ["error"])])
def test_at_or_above(level, want):
    found = [Finding(s, "X", "o", "m") for s in ("error", "warning", "info")]
    assert [f.severity for f in at_or_above(found, level)] == want


def test_a_finding_as_istioctl_prints_it():
    assert Finding("warning", "EG0004", "DestinationRule a/b", "text", "fix").as_dict() == {
        "severity": "Warning", "code": "EG0004", "object": "DestinationRule a/b", "message": "text", "fix": "fix"}


# istio pkg/kube/inject IgnoredNamespaces, left out by istioctl analyze (pkg/config/analysis/local/istiod_analyze.go)
@pytest.mark.parametrize("system", ["kube-system", "kube-public", "kube-node-lease", "local-path-storage"])
def test_system_namespaces_are_not_checked(system):
    ip = svc("ext", system, ext="203.0.113.10", ports=[{"name": "web", "port": 80}])
    rule = dr("r", system, "x.org", tls={"mode": "SIMPLE"})
    mesh = with_facts(LEGACY, facts(rev("default"), namespaces=[namespace(system, **{"istio.io/rev": "gone"})]))
    assert analyze(Snapshot(mesh, services=[ip], rules=[rule], namespaces=[system])) == []
    ip["metadata"]["namespace"] = rule["metadata"]["namespace"] = "web"
    assert codes(analyze(Snapshot(LEGACY, services=[ip], rules=[rule], namespaces=["web"]))) == [
        ("IST0150", "Service web/ext"), ("EG0003", "Service web/ext"), ("IST0128", "DestinationRule web/r")]


# the names of the IST rows: istio pkg/config/analysis/msg/messages.gen.go (from messages.yaml)
@pytest.mark.parametrize("code, name", [
    ("IST0118", "PortNameIsNotUnderNamingConvention"),
    ("IST0128", "NoServerCertificateVerificationDestinationLevel"),
    ("IST0129", "NoServerCertificateVerificationPortLevel"),
    ("IST0150", "ExternalNameServiceTypeInvalidPortName"),
])
def test_istio_message_names(code, name):
    from kubectl_egress.analysis.messages import MESSAGES
    assert MESSAGES[code].name == name


def test_rules_in_order_of_namespace_then_name():
    rules = [dr(n, ns, "x.org", tls={"mode": "SIMPLE"}) for ns, n in (("web", "b"), ("web", "a"), ("dev", "z"))]
    assert [f.object for f in analyze(Snapshot(LEGACY, rules=rules))] == [
        "DestinationRule dev/z", "DestinationRule web/a", "DestinationRule web/b"]


def test_without_istio_only_endpoints_and_names_are_checked():
    """--istio-mode none (or no Istio served): a REGISTRY_ONLY control plane's facts, mutual TLS and a
    rule on an alias say nothing; endpoints mirrored twice and an IP as externalName still do."""
    none = Mesh(False, "v1", "none", "", "--istio-mode none", facts=facts(CLOSED, namespaces=[WEB]))
    services = [svc("wiki", "web", ports=[{"name": "web", "port": 443}]), svc("ext", "web", ext="203.0.113.10"),
                svc("alias", "web", ext="httpbin.org")]
    snapshot = Snapshot(none, services=services, endpoints=[endpoints("wiki", "web")],
                        slices=[endpoint_slice("wiki-mine", "wiki", "web")], rules=[MESH_WIDE, dr("a", "web", "alias")],
                        namespaces=["web"])
    assert codes(analyze(snapshot)) == [("EG0003", "Service web/ext"), ("EG0001", "Service web/wiki"),
                                        ("EG0002", "Service web/wiki")]


# istio pkg/config/kube/conversion.go ConvertProtocol: the name is cut at its first `-` (strings.IndexByte)
@pytest.mark.parametrize("name, want", [("http-api-v2", "http"), ("tls-a-b", "tls"), ("grpc-web-x-y", "grpc-web"),
                                        ("x-http-y", "")])
def test_the_protocol_is_the_name_before_its_first_dash(name, want):
    from kubectl_egress.analysis import protocol_of
    assert protocol_of({"name": name, "port": 8080}) == want


# EG0005 in alias mode: the rule of the namespace of the ServiceEntry that declares the host applies,
# when it is exported to the Service's namespace (push_context.go destinationRule, the service's namespace)
@pytest.mark.parametrize("export, want", [(None, True), (["web"], True), (["*"], True), (["."], False),
                                          (["egress"], False)])
def test_mutual_tls_from_the_rule_of_the_entrys_namespace(export, want):
    rule = dr("h", "egress", "httpbin.org", tls={"mode": "ISTIO_MUTUAL"}, **({"exportTo": export} if export else {}))
    service = svc("ext", "web", ext="httpbin.org")
    snapshot = Snapshot(ALIAS, services=[service], rules=[rule], entries=[se("h", "egress", ["httpbin.org"])])
    assert codes(mesh_mtls(snapshot, service)) == ([("EG0005", "Service web/ext")] if want else [])
    elsewhere = Snapshot(ALIAS, services=[service], rules=[rule], elsewhere=[se("h", "egress", ["httpbin.org"])])
    assert codes(mesh_mtls(elsewhere, service)) == codes(mesh_mtls(snapshot, service))


def test_mutual_tls_follows_the_callers_own_route_and_entry():
    # a route kept to the Service's namespace (exportTo ".") is the caller's; an entry of the caller's own
    # namespace is the host's service, so the rule of another namespace's entry does not apply
    route = {**vs("r", "web", ["ext"], "httpbin.org")}
    route["spec"] = {**route["spec"], "exportTo": ["."]}
    service = svc("ext", "web", ext="httpbin.org")
    routed = Snapshot(LEGACY, services=[service], routes=[route],
                      rules=[dr("h", "web", "httpbin.org", tls={"mode": "ISTIO_MUTUAL"})])
    assert codes(mesh_mtls(routed, service)) == [("EG0005", "Service web/ext")]
    rule = dr("h", "other", "httpbin.org", tls={"mode": "ISTIO_MUTUAL"})
    entries = [se("h", "other", ["httpbin.org"]), se("h", "web", ["httpbin.org"])]
    assert codes(mesh_mtls(Snapshot(ALIAS, services=[service], rules=[rule], entries=entries), service)) == []
    assert codes(mesh_mtls(Snapshot(ALIAS, services=[service], rules=[rule], entries=entries[:1]), service)) == \
        [("EG0005", "Service web/ext")]


# a wildcard host finds only the rule written for that wildcard (MostSpecificHostMatch with a wildcard needle)
@pytest.mark.parametrize("host, want", [("*.example.com", "wild"), ("api.example.com", "api"),
                                        ("www.example.com", None), ("*.org", "org"), ("*.com", None)])
def test_the_rule_written_for_a_host(host, want):
    index = RuleIndex([dr("wild", "web", "*.example.com"), dr("api", "web", "api.example.com"), dr("org", "web", "*.org")])
    found = index.in_namespace(host, "web")
    assert (found["metadata"]["name"] if found else None) == want
