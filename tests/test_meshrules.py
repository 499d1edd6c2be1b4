"""The local cluster's Istio rules (tests/apiserver/meshrules.py) against the vectors of Istio's
own tests, transcribed here with the upstream file and test named on each table."""
import pytest

from tests.apiserver import meshrules as m
from tests.apiserver import origination

# istio pkg/config/host/name_test.go TestNameMatches: (a, b, a.Matches(b))
NAME_MATCHES = [
    ("", "", True), ("", "foo.com", False), ("foo.com", "", False),
    ("foo.com", "foo.com", True), ("bar.com", "foo.com", False), ("foo.com", "bar.com", False),
    ("bar.foo.com", "foo.com", False), ("foo.com", "bar.foo.com", False),
    ("*.com", "foo.com", True), ("*.com", "bar.com", True), ("*.foo.com", "bar.foo.com", True),
    ("*", "foo.com", True), ("*", "*.com", True), ("*", "com", True), ("*", "*", True), ("*", "", True),
    ("*.com", "*.foo.com", True), ("foo.com", "*.foo.com", False), ("*.foo.com", "foo.com", False),
    ("*.foo.bar.baz", "baz", False), ("baz", "*.foo.bar.baz", False),
    ("*.foo.bar.baz", "*.baz", True), ("foo.bar.baz", "*.baz", True),
]

# istio pkg/config/host/name_test.go TestNameSubsetOf: (a, b, a.SubsetOf(b))
NAME_SUBSET_OF = [
    ("", "", True), ("", "foo.com", False), ("foo.com", "", False),
    ("foo.com", "foo.com", True), ("bar.com", "foo.com", False), ("foo.com", "bar.com", False),
    ("bar.foo.com", "foo.com", False), ("foo.com", "bar.foo.com", False),
    ("foo.com", "*.com", True), ("bar.com", "*.com", True), ("bar.foo.com", "*.foo.com", True),
    ("foo.com", "*", True), ("*.com", "*", True), ("com", "*", True), ("*", "*", True), ("", "*", True),
    ("*.foo.com", "*.com", True), ("*.foo.com", "foo.com", False),
    ("*.foo.bar.baz", "baz", False), ("foo.bar.baz", "*.baz", True),
]

# istio pilot/pkg/model/config_test.go TestMostSpecificHostMatch: (hosts, needle, want)
MOST_SPECIFIC = [
    ([], "*", ""),
    (["*.foo.com", "*.com"], "bar.foo.com", "*.foo.com"),
    (["*.foo.com", "*.com"], "foo.com", "*.com"),
    (["foo.com", "*.com"], "*.foo.com", "*.com"),
    (["*.foo.com", "foo.com"], "foo.com", "foo.com"),
    (["*.foo.com", "foo.com"], "*.foo.com", "*.foo.com"),
    (["bar.com", "foo.com"], "*.com", ""),
    (["bar.com", "*.foo.com"], "*foo.com", ""),
    (["foo.com", "*.foo.com"], "*foo.com", ""),
    (["*.bar.com", "foo.bar.com"], "foo.bar.com", "foo.bar.com"),
    (["*.foo.bar.com", "bar.foo.bar.com"], "bar.foo.bar.com", "bar.foo.bar.com"),
    (["bar.foo.com", "foo.bar.com"], "*.foo.com", ""),
    (["foo.bar.foo.com", "bar.foo.bar.com"], "*.bar.foo.com", ""),
]

# istio pilot/pkg/model/config_test.go TestResolveShortnameToFQDN: (name, namespace, domain, out)
SHORT_NAMES = [
    ("*", "", "", "*"), ("*", "default", "cluster.local", "*"),
    ("foo", "default", "cluster.local", "foo.default.svc.cluster.local"),
    ("foo.bar", "default", "cluster.local", "foo.bar"),
    ("foo", "", "cluster.local", "foo.svc.cluster.local"),
    ("foo", "default", "", "foo.default"),
    ("42.185.131.210", "default", "", "42.185.131.210"),
    ("42.185.131.210", "cluster.local", "", "42.185.131.210"),
]


@pytest.mark.parametrize("a,b,want", NAME_MATCHES)
def test_name_matches(a, b, want):
    assert m.matches(a, b) is want


@pytest.mark.parametrize("a,b,want", NAME_SUBSET_OF)
def test_name_subset_of(a, b, want):
    assert m.subset_of(a, b) is want


@pytest.mark.parametrize("hosts,needle,want", MOST_SPECIFIC)
def test_most_specific_host_match(hosts, needle, want):
    specific = {h: h.upper() for h in hosts if not h.startswith("*")}
    wildcard = {h: h.upper() for h in hosts if h.startswith("*")}
    found = m.most_specific_host_match(needle, specific, wildcard)
    assert (found[0] if found else "") == want
    if found:
        assert found[1] == want.upper()  # the value of the matching key


@pytest.mark.parametrize("name,namespace,domain,out", SHORT_NAMES)
def test_short_names(name, namespace, domain, out):
    assert m.resolve_short_name(name, namespace, domain) == out


def rule(name, namespace, host, *, export_to=None, subsets=(), selector=None, created="2024-01-01T00:00:00Z",
         tls=None):
    spec = {"host": host, "subsets": [{"name": s} for s in subsets]}
    if export_to is not None:
        spec["exportTo"] = export_to
    if selector is not None:
        spec["workloadSelector"] = {"matchLabels": selector}
    if tls is not None:
        spec["trafficPolicy"] = {"tls": {"mode": tls}}
    return {"metadata": {"name": name, "namespace": namespace, "creationTimestamp": created}, "spec": spec}


def subsets(mdr):
    return [s["name"] for s in mdr.spec.get("subsets") or []]


# istio pilot/pkg/model/push_context_test.go TestSetDestinationRuleWithExportTo
EXPORT_TO_RULES = [
    rule("rule1", "test1", "httpbin.org", export_to=[".", "ns1"], subsets=["subset1", "subset2"]),
    rule("rule2", "test2", "httpbin.org", export_to=["test2", "ns1", "test1", "newNS"], subsets=["subset3", "subset4"]),
    rule("rule3", "test3", "httpbin.org", export_to=["test1", "test2", "*"], subsets=["subset5", "subset6"]),
    rule("rule4-local", "test4", "httpbin.org", export_to=["test4"], subsets=["subset15", "subset16"]),
    rule("rule4", "istio-system", "httpbin.org", subsets=["subset7", "subset8"]),
    rule("rule1", "istio-system", "httpbin.org", export_to=["."], subsets=["subset9", "subset10"]),
    rule("rule2", "istio-system", "*.org", export_to=["."], subsets=["subset11", "subset12"]),
    rule("rule3", "istio-system", "*.app.org", export_to=["."], subsets=["subset13", "subset14"]),
    rule("rule5", "test5", "api.test.com", export_to=["istio-system"], subsets=["subset5-0", "subset5-1"]),
    rule("rule6", "test6", "api.test.com", export_to=["istio-system"], subsets=["subset6-0", "subset6-1"]),
]
EXPORT_TO_CASES = [  # (proxy namespace, service namespace, host, subsets wanted)
    ("test1", "test1", "httpbin.org", ["subset1", "subset2"]),
    ("test1", "test2", "httpbin.org", ["subset1", "subset2"]),
    ("test2", "test1", "httpbin.org", ["subset3", "subset4"]),
    ("newNS", "test2", "httpbin.org", ["subset3", "subset4"]),
    ("test3", "test1", "httpbin.org", ["subset5", "subset6"]),
    ("test5", "test4", "httpbin.org", ["subset7", "subset8"]),
    ("ns1", "test1", "httpbin.org", ["subset1", "subset2"]),
    ("ns1", "random", "httpbin.org", ["subset7", "subset8"]),
    ("random", "random", "httpbin.org", ["subset7", "subset8"]),
    ("test3", "random", "httpbin.org", ["subset5", "subset6"]),
    ("istio-system", "random", "httpbin.org", ["subset9", "subset10"]),
    ("istio-system", "istio-system", "httpbin.org", ["subset9", "subset10"]),
    ("istio-system", "istio-system", "foo.app.org", ["subset13", "subset14"]),
    ("istio-system", "test5", "api.test.com", ["subset5-0", "subset5-1"]),
    ("istio-system", "test6", "api.test.com", ["subset6-0", "subset6-1"]),
    ("istio-system", "test7", "api.test.com", None),
]


@pytest.mark.parametrize("proxy_ns,service_ns,host,want", EXPORT_TO_CASES)
def test_destination_rule_lookup_with_export_to(proxy_ns, service_ns, host, want):
    index = m.index_destination_rules(EXPORT_TO_RULES)
    found = m.destination_rules_for(index, proxy_ns, host, service_ns)
    assert (subsets(found[0]) if found else None) == want


def test_destination_rule_merging():
    """push_context_test.go TestSetDestinationRuleMerging (default exportTo public)."""
    index = m.index_destination_rules([
        rule("rule1", "test", "httpbin.org", subsets=["subset1", "subset2"]),
        rule("rule2", "test", "httpbin.org", subsets=["subset3", "subset4"]),
        rule("rule3", "test", "httpbin.org", export_to=["istio-system"], subsets=["subset5", "subset6"])])
    private = index.namespace_local["test"].specific["httpbin.org"]
    public = index.exported["test"].specific["httpbin.org"]
    assert (len(private), len(public)) == (1, 2)
    assert private[0].sources == public[0].sources == [("test", "rule1"), ("test", "rule2")]
    assert len(subsets(private[0])) == len(subsets(public[0])) == 4
    assert public[1].sources == [("test", "rule3")] and len(subsets(public[1])) == 2
    assert "istio-system" in public[1].export_to


# push_context_test.go TestSetDestinationRuleWithWorkloadSelector (creation times now-1s, now, now+1s)
SELECTOR_RULES = [
    rule("nsRule1", "test", "httpbin.org", export_to=["test2", "."], selector={"app": "app1"},
         created="2024-01-01T00:00:01Z", tls="MUTUAL"),
    rule("nsRule2", "test", "httpbin.org", export_to=["test2", "."], selector={"app": "app2"},
         created="2024-01-01T00:00:02Z", tls="SIMPLE"),
    rule("nsRule3", "test", "httpbin.org", export_to=["test2", "."], selector={"app": "app2"},
         created="2024-01-01T00:00:02Z", tls="SIMPLE"),
    rule("nsRule4", "test", "httpbin.org", export_to=[".", "test2"], created="2024-01-01T00:00:00Z", tls="SIMPLE"),
]


def test_destination_rules_with_workload_selectors():
    index = m.index_destination_rules(SELECTOR_RULES)
    local = m.destination_rules_for(index, "test", "httpbin.org", "test")
    assert [r.rule["metadata"]["name"] for r in local] == ["nsRule1", "nsRule2", "nsRule4"]
    assert [r.sources for r in local] == [
        [("test", "nsRule1"), ("test", "nsRule4")],
        [("test", "nsRule2"), ("test", "nsRule3"), ("test", "nsRule4")],
        [("test", "nsRule4")]]
    # "workload specific DR should not be exported"
    assert [r.rule["metadata"]["name"] for r in m.destination_rules_for(index, "test2", "httpbin.org", "test")] \
        == ["nsRule4"]
    # SidecarScope.DestinationRule: the selector that matches the proxy, else the catch-all
    assert m.destination_rule_for(index, "test", {"app": "app1"}, "httpbin.org", "test").rule["metadata"]["name"] \
        == "nsRule1"
    assert m.destination_rule_for(index, "test", {"app": "other"}, "httpbin.org", "test").rule["metadata"]["name"] \
        == "nsRule4"


def test_wildcard_precedence_and_the_mesh_wide_rule():
    """The mesh-wide `*.local` ISTIO_MUTUAL rule in the root namespace loses to a rule for the host
    in the client's or the service's namespace, and to a more specific wildcard."""
    mesh_wide = rule("default", "istio-system", "*.local", tls="ISTIO_MUTUAL")
    index = m.index_destination_rules([mesh_wide, rule("svc", "default", "my-svc", tls="DISABLE"),
                                       rule("ns", "other", "*.other.svc.cluster.local", tls="SIMPLE")])
    pick = lambda ns, host, svc_ns: m.tls_mode(m.destination_rule_for(index, ns, {}, host, svc_ns), 80)  # noqa: E731
    assert pick("default", "my-svc.default.svc.cluster.local", "default") == "DISABLE"
    assert pick("client", "my-svc.default.svc.cluster.local", "default") == "DISABLE"  # the service's namespace
    assert pick("client", "x.other.svc.cluster.local", "other") == "SIMPLE"
    assert pick("client", "y.third.svc.cluster.local", "third") == "ISTIO_MUTUAL"
    assert pick("client", "httpbin.org", "default") is None  # no rule: auto mTLS


def test_tls_mode_port_level_first():
    r = rule("r", "ns", "h.example", tls="DISABLE")
    r["spec"]["trafficPolicy"]["portLevelSettings"] = [{"port": {"number": 443}, "tls": {"mode": "SIMPLE"}}]
    mdr = m.index_destination_rules([r]).namespace_local["ns"].specific["h.example"][0]
    assert (m.tls_mode(mdr, 443), m.tls_mode(mdr, 80)) == ("SIMPLE", "DISABLE")


# istio pilot/pkg/networking/core/cluster_traffic_policy.go MergeTrafficPolicy: the first
# portLevelSettings entry whose port.number is the port replaces ConnectionPool, OutlierDetection,
# LoadBalancer and Tls whole, "per the docs, port level policies do not inherit" (Tls = p.Tls, nil
# included); an entry for another port, or with no port, changes nothing.
@pytest.mark.parametrize("top, levels, port, want, mode", [
    ("DISABLE", [{"port": {"number": 443}, "tls": {"mode": "SIMPLE"}}], 443, "SIMPLE", "SIMPLE"),
    ("DISABLE", [{"port": {"number": 443}, "tls": {"mode": "SIMPLE"}}], 80, "DISABLE", "DISABLE"),
    ("ISTIO_MUTUAL", [{"port": {"number": 443}, "connectionPool": {"tcp": {"maxConnections": 9}}}], 443, None, None),
    ("ISTIO_MUTUAL", [{"port": {"number": 443}}, {"port": {"number": 443}, "tls": {"mode": "SIMPLE"}}], 443, None, None),
    ("ISTIO_MUTUAL", [{"tls": {"mode": "SIMPLE"}}], 443, "ISTIO_MUTUAL", "ISTIO_MUTUAL"),
    (None, [{"port": {"number": 443}, "tls": {}}], 443, "DISABLE", None),  # tls without mode: DISABLE, the enum's zero
    (None, [], 443, None, None),
])
def test_port_level_settings_replace_the_rules_tls(top, levels, port, want, mode):
    r = rule("r", "ns", "h.example", **({"tls": top} if top else {}))
    r["spec"].setdefault("trafficPolicy", {})["portLevelSettings"] = levels
    mdr = m.index_destination_rules([r]).namespace_local["ns"].specific["h.example"][0]
    assert m.tls_mode(mdr, port) == want
    assert origination.port_settings(r["spec"], port).get("mode") == mode  # what origination reads


def sidecar(name, namespace, *, selector=None, mode=None, created="2024-01-01T00:00:00Z"):
    spec = {}
    if selector is not None:
        spec["workloadSelector"] = {"labels": selector}
    if mode is not None:
        spec["outboundTrafficPolicy"] = {"mode": mode} if mode != "unset" else {}
    return {"metadata": {"name": name, "namespace": namespace, "creationTimestamp": created}, "spec": spec}


def test_sidecar_scope_and_outbound_policy():
    """push_context.go getSidecarScope: selector in the namespace, then the namespace's default,
    then the root namespace's; sidecar.go convertToSidecarScope for the policy."""
    sidecars = [sidecar("root", "istio-system", mode="REGISTRY_ONLY"),
                sidecar("ns-default", "apps", mode="ALLOW_ANY", created="2024-01-02T00:00:00Z"),
                sidecar("ns-newer", "apps", mode="REGISTRY_ONLY", created="2024-01-03T00:00:00Z"),
                sidecar("web", "apps", selector={"app": "web"}, mode="REGISTRY_ONLY", created="2024-01-04T00:00:00Z"),
                sidecar("empty-mode", "strict", mode="unset")]
    name = lambda s: s["metadata"]["name"] if s else None  # noqa: E731
    assert name(m.sidecar_for(sidecars, "apps", {"app": "web"})) == "web"
    assert name(m.sidecar_for(sidecars, "apps", {"app": "api"})) == "ns-default"  # the oldest default
    assert name(m.sidecar_for(sidecars, "elsewhere", {})) == "root"
    assert m.sidecar_for(sidecars[1:], "elsewhere", {}) is None
    mesh_allow, mesh_block = {"outboundTrafficPolicy": {"mode": "ALLOW_ANY"}}, \
        {"outboundTrafficPolicy": {"mode": "REGISTRY_ONLY"}}
    assert m.outbound_policy(mesh_block, m.sidecar_for(sidecars, "apps", {"app": "api"})) == "ALLOW_ANY"
    assert m.outbound_policy(mesh_allow, m.sidecar_for(sidecars, "apps", {"app": "web"})) == "REGISTRY_ONLY"
    assert m.outbound_policy(mesh_allow, sidecar("no-policy", "x")) == "ALLOW_ANY"  # the mesh's
    assert m.outbound_policy(mesh_block, None) == "REGISTRY_ONLY"
    assert m.outbound_policy({}, None) == "ALLOW_ANY"  # DefaultMeshConfig
    # an outboundTrafficPolicy without mode is the enum's zero value, REGISTRY_ONLY
    assert m.outbound_policy(mesh_allow, m.sidecar_for(sidecars, "strict", {})) == "REGISTRY_ONLY"
