"""The probe in the meshes people run today (pure): ztunnel's counters as evidence for ambient
sources, and the hints a mesh's facts lead to, table-driven: (outcome, facts) -> hint."""
import ipaddress
from collections import Counter

import pytest

from kubectl_egress import probe
from kubectl_egress.mesh import MeshFacts, Revision
from kubectl_egress.mesh.policy import MeshConfig
from kubectl_egress.model import Target
from kubectl_egress.probe import ztunnel
from kubectl_egress.probe.hints import Context, diagnose

# ztunnel's OpenMetrics text: CommonTrafficLabels in the field order of istio/ztunnel src/proxy/metrics.rs
LABELS = ('reporter="source",source_workload="curl",source_canonical_service="curl",source_canonical_revision="latest",'
          'source_workload_namespace="{ns}",source_principal="spiffe://cluster.local/ns/{ns}/sa/curl",'
          'source_app="curl",source_version="latest",source_cluster="Kubernetes",destination_service="{svc}",'
          'destination_service_namespace="unknown",destination_service_name="unknown",destination_workload="{wl}",'
          'destination_canonical_service="unknown",destination_canonical_revision="unknown",'
          'destination_workload_namespace="unknown",destination_principal="unknown",destination_app="unknown",'
          'destination_version="unknown",destination_cluster="unknown",request_protocol="tcp",response_flags="-",'
          'connection_security_policy="unknown"')


def metrics(*series):
    lines = ["# TYPE istio_tcp_connections_opened counter"]
    for ns, svc, wl, value in series:
        lines.append(f"istio_tcp_connections_opened_total{{{LABELS.format(ns=ns, svc=svc, wl=wl)}}} {value}")
        lines.append(f"istio_tcp_connections_closed_total{{{LABELS.format(ns=ns, svc=svc, wl=wl)}}} {value}")
    return "\n".join(lines + ["# EOF"]) + "\n"


def test_grown_counts_only_this_workloads_new_connections():
    before = metrics(("default", "unknown", "unknown", 3), ("other", "unknown", "unknown", 9))
    after = metrics(("default", "unknown", "unknown", 5), ("other", "unknown", "unknown", 20),
                    ("default", "w.default.svc.cluster.local", "unknown", 1))
    assert ztunnel.grown(before, after, "default", "curl") == Counter(
        {("unknown", "unknown"): 2, ("w.default.svc.cluster.local", "unknown"): 1})
    assert ztunnel.grown(before, after, "default", "someone-else") == Counter()
    assert ztunnel.opened('x{a="b \\"q\\""} 1\nistio_tcp_connections_opened_total{a="b \\"q\\""} 2\n') == \
        {(("a", 'b "q"'),): 2.0}


EXTERNAL = ztunnel.destinations("my-httpbin.default.svc.cluster.local", "httpbin.org")
SERVICE = ztunnel.destinations("w.default.svc.cluster.local")


@pytest.mark.parametrize("expected, connected, growth, want", [
    ({"0": SERVICE}, {"0": True}, Counter({("w.default.svc.cluster.local", "unknown"): 1}), {"0": "ztunnel"}),
    # two ExternalNames passed through share "unknown": two connections verify both, one verifies neither
    ({"0": EXTERNAL, "1": EXTERNAL}, {"0": True, "1": True}, Counter({("unknown", "unknown"): 2}),
     {"0": "ztunnel", "1": "ztunnel"}),
    ({"0": EXTERNAL, "1": EXTERNAL}, {"0": True, "1": True}, Counter({("unknown", "unknown"): 1}), {"0": "", "1": ""}),
    # one did not connect: the other's one connection is enough for it
    ({"0": EXTERNAL, "1": EXTERNAL}, {"0": True, "1": False}, Counter({("unknown", "unknown"): 1}),
     {"0": "ztunnel", "1": ""}),
    # ztunnel's DNS proxy gave the ServiceEntry's address: counted under its host, sent to the waypoint
    ({"0": EXTERNAL}, {"0": True}, Counter({("httpbin.org", "waypoint"): 1}), {"0": "waypoint"}),
    ({"0": SERVICE}, {"0": True}, Counter({("unknown", "unknown"): 4}), {"0": ""}),  # not its destination
])
def test_attribute(expected, connected, growth, want):
    got = ztunnel.attribute(expected, connected, growth, "istio-system/ztunnel-x")
    assert {k: v.via for k, v in got.items()} == want
    assert all(v.evidence for v in got.values())


HTTPBIN = Target("my-httpbin", "default", host="httpbin.org")
WIKI = Target("my-wikipedia", "default", host="en.wikipedia.org", ips=(ipaddress.ip_address("198.35.26.96"),),
              port=443, protocol="tls")
WIKI_ALIAS = Target("wiki-alias", "default", host="en.wikipedia.org", port=443, protocol="tls")
SIDECAR = probe.Source("default", "curl-1", "curl", sidecar=True, mesh=True, dataplane="sidecar")
AMBIENT = probe.Source("default", "curl-1", "curl", sidecar=False, mesh=True, dataplane="ambient")
BARE = probe.Source("default", "curl-1", "curl", sidecar=False, mesh=True, dataplane="none",
                    obj={"metadata": {"name": "curl-1", "namespace": "default", "labels": {"app": "curl"}}})


def ns(**labels):
    return {"metadata": {"name": "default", "labels": labels}}


def facts(outbound="ALLOW_ANY", alias=True, namespace=None, sidecars=(), canary=None):
    revs = {"default": Revision("default", "istiod", "1.24.3" if alias else "1.20.8", alias, "why", outbound)}
    if canary:
        revs["canary"] = Revision("canary", "istiod-canary", canary[0], canary[1], "why", outbound)
    return MeshFacts("v1", revisions=revs, configs={r: MeshConfig(outbound) for r in revs},
                     namespaces={"default": namespace or ns(**{"istio-injection": "enabled"})},
                     sidecars=list(sidecars), tags_known=True)


def pod(rev="default", **labels):
    return {"metadata": {"name": "curl-1", "namespace": "default", "labels": {"app": "curl", "istio.io/rev": rev, **labels}},
            "spec": {"containers": [{"name": "curl"}, {"name": "istio-proxy"}]}}


def ctx(f, p=None, entry=None, ambient=False):
    return Context(f.pod(p or pod()), ambient, entry, "kubectl rollout restart deployment/curl -n default")


def out(**kw):
    kw.setdefault("ran", True)
    return probe.Outcome(**kw)


BLACKHOLE_STATS = ("reporter=.=source;.;destination_service=.=198.35.26.96;.;destination_service_name=.="
                   "BlackHoleCluster;.;_istio_tcp_connections_opened_total")
RESET = "curl: (35) Recv failure: Connection reset by peer"
REGISTRY = facts("REGISTRY_ONLY")
HIDING = facts("ALLOW_ANY", sidecars=[{"metadata": {"name": "default", "namespace": "default"},
                                        "spec": {"outboundTrafficPolicy": {"mode": "REGISTRY_ONLY"},
                                                 "egress": [{"hosts": ["istio-system/*"]}]}}])


@pytest.mark.parametrize("target, outcome, source, context, message, fix", [
    # REGISTRY_ONLY, alias mode, no ServiceEntry: Envoy's 502 from the block_all route
    (HTTPBIN, out(exit=0, code=502, headers={"server": "envoy"}), SIDECAR, ctx(REGISTRY, entry=False),
     "the sidecar blocked it (HTTP 502 from the BlackHoleCluster): outbound traffic policy REGISTRY_ONLY, from the "
     "mesh config istio-system/istio, and no ServiceEntry puts httpbin.org in its registry",
     "kubectl egress externalname my-httpbin httpbin.org"),
    # ... and a reset connection where no HTTP listener serves port 80
    (HTTPBIN, out(exit=56, error="curl: (56) Recv failure: Connection reset by peer"), SIDECAR,
     ctx(REGISTRY, entry=False), "the sidecar blocked it (a reset connection): outbound traffic policy "
     "REGISTRY_ONLY, from the mesh config istio-system/istio, and no ServiceEntry puts httpbin.org in its registry",
     "kubectl egress externalname my-httpbin httpbin.org"),
    # legacy (1.20) TLS: routed by SNI, so the host needs a ServiceEntry; BlackHoleCluster in the metrics
    (WIKI_ALIAS, out(exit=35, error=RESET, stats_after={BLACKHOLE_STATS: 1}), SIDECAR,
     ctx(facts("REGISTRY_ONLY", alias=False), entry=False),
     "the sidecar blocked it (a reset connection, counted for the BlackHoleCluster): outbound traffic policy "
     "REGISTRY_ONLY, from the mesh config istio-system/istio, and no ServiceEntry puts en.wikipedia.org in its "
     "registry", "kubectl egress externalname wiki-alias en.wikipedia.org --port 443 --protocol tls"),
    # the host is registered (the Service itself) but a Sidecar's egress hosts hide it
    (WIKI, out(exit=35, error=RESET), SIDECAR, ctx(HIDING),
     "the sidecar blocked it (a reset connection): outbound traffic policy REGISTRY_ONLY, from the Sidecar "
     "default/default, and the egress hosts of Sidecar default/default do not include "
     "default/my-wikipedia.default.svc.cluster.local (the Service is there, but hidden): add "
     "\"default/my-wikipedia.default.svc.cluster.local\" to them", "kubectl edit sidecar default -n default"),
    # a reset without REGISTRY_ONLY (or with the ServiceEntry there) is still Istio mutual TLS
    (WIKI, out(exit=35, error=RESET), SIDECAR, ctx(facts()),
     "the sidecar reset the TLS handshake: Istio mutual TLS is applied to an external host (DestinationRule "
     "missing or in mode ISTIO_MUTUAL)", "kubectl egress endpoints my-wikipedia 198.35.26.96 --port 443 --host "
     "en.wikipedia.org --tls-mode DISABLE"),
    (WIKI_ALIAS, out(exit=35, error=RESET), SIDECAR, ctx(REGISTRY, entry=True),
     "the sidecar reset the TLS handshake: Istio mutual TLS is applied to an external host (DestinationRule "
     "missing or in mode ISTIO_MUTUAL)",
     "kubectl egress externalname wiki-alias en.wikipedia.org --port 443 --protocol tls --tls-mode DISABLE"),
    # a pod of the old revision in a namespace moved to a canary that differs in ExternalName mode
    (HTTPBIN, out(exit=0, code=503, body="upstream connect error or disconnect/reset before headers"), SIDECAR,
     ctx(facts(alias=False, canary=("1.24.3", True), namespace=ns(**{"istio.io/rev": "canary"}))),
     "the source pod runs revision default (1.20.8) but its namespace asks for revision canary (1.24.3): its "
     "sidecar follows istiod in legacy mode, which needs other objects for an ExternalName Service than alias "
     "mode, until the pod is replaced", "kubectl rollout restart deployment/curl -n default"),
    # ... and on a passing row, a note all the same
    (HTTPBIN, out(exit=0, code=200, headers={"server": "envoy"}), SIDECAR,
     ctx(facts(canary=("1.28.10", True), namespace=ns(**{"istio.io/rev": "canary"}))),
     "the source pod runs revision default (1.24.3) but its namespace asks for revision canary (1.28.10): its "
     "sidecar follows istiod so this row shows the old control plane's behaviour, until the pod is replaced",
     "kubectl rollout restart deployment/curl -n default"),
    # mesh sources outside the mesh: an ambient mesh enrolls the namespace, no sidecar is suggested
    (HTTPBIN, out(exit=0, code=200), BARE, Context(facts(namespace=ns()).pod(BARE.obj), True, None, ""),
     "the source pod default/curl-1 is not in the mesh: namespace default is enrolled in neither ambient mode nor "
     "sidecar injection; ambient mode needs no restart", "kubectl label namespace default istio.io/dataplane-mode=ambient"),
    (HTTPBIN, out(exit=0, code=200), BARE,
     Context(facts(namespace=ns(**{"istio.io/dataplane-mode": "ambient"})).pod(BARE.obj), True, None, ""),
     "namespace default is enrolled in ambient mode (istio.io/dataplane-mode=ambient), but ztunnel has not "
     "captured the source pod default/curl-1 (no ambient.istio.io/redirection annotation): is istio-cni-node "
     "running on its node?", ""),
    (HTTPBIN, out(exit=0, code=200), BARE, Context(facts().pod(BARE.obj), False, None, "kubectl delete pod curl-1"),
     "the source pod default/curl-1 has no istio-proxy though namespace default asks for sidecars "
     "(istio-injection=enabled): it started before, so replace it", "kubectl delete pod curl-1"),
    # ambient sources: no REGISTRY_ONLY (istio#54281), no mutual TLS, never a sidecar
    (HTTPBIN, out(exit=0, code=200), AMBIENT, Context(None, True), "", ""),
    (HTTPBIN, out(exit=28), AMBIENT, Context(None, True),
     "no answer within --timeout=10s: an egress firewall or a NetworkPolicy may block it, or the external host is "
     "down", ""),
    (Target("gone", "default", host="en.wikipedia.org", port=443, protocol="tls", external=False),
     out(exit=7, error="curl: (7) Failed to connect"), AMBIENT, Context(None, True),
     "the Service has no endpoints (no EndpointSlice or Endpoints with its name), so nothing answers on port 443 "
     "(curl exit 7): give its IPs again", "kubectl egress endpoints gone IP --port 443 --host en.wikipedia.org"),
])
def test_mesh_hints(target, outcome, source, context, message, fix):
    chk = probe.check_for(0, target, "10.96.0.7" if target.ips else "", "/headers",
                          target.host if target.external_name else "")
    if target.name == "gone":
        chk = probe.Check("0", "gone", "default", "https://gone.default.svc.cluster.local/", tls=True,
                          mesh_host=target.fqdn, port=443)
    hint = diagnose(chk, outcome, target, source, 10, context)
    assert (hint.message, hint.fix) == (message, fix)


OUTCOMES = [out(exit=0, code=200), out(exit=0, code=502), out(exit=0, code=503, body="upstream connect error or "
            "disconnect/reset before headers"), out(exit=35, error=RESET), out(exit=56, error="reset"), out(exit=28),
            out(exit=7), out(exit=6), out(exit=60, error="SSL certificate problem")]


@pytest.mark.parametrize("outcome", OUTCOMES)
@pytest.mark.parametrize("f", [facts(), REGISTRY, facts(namespace=ns(**{"istio.io/dataplane-mode": "ambient"}))])
def test_no_hint_ever_tells_an_ambient_pod_to_get_a_sidecar(outcome, f):
    for target in (HTTPBIN, WIKI, WIKI_ALIAS):
        chk = probe.check_for(0, target, "10.96.0.7", "/headers", target.host if target.external_name else "")
        hint = diagnose(chk, outcome, target, AMBIENT, 10, Context(None, True, False, "x"))
        text = str(hint).lower()
        assert "istio-injection" not in text and "sidecar" not in text and "mutual tls" not in text, text
