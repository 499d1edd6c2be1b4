"""How a recipe's objects fit the mesh in force (mesh/fit.py, pure), word for word: the notes a recipe
prints on stderr for REGISTRY_ONLY, ambient namespaces and revisions that disagree on the ExternalName
mode, and the ServiceEntry a legacy-mode TLS ExternalName needs under REGISTRY_ONLY. The facts are
built as mesh/facts.py reads them; the Istio behaviour each note states is cited in mesh/fit.py."""
import dataclasses
import ipaddress

import pytest

from kubectl_egress import manifests
from kubectl_egress.mesh import MeshFacts, Revision, fit
from kubectl_egress.mesh.policy import MeshConfig
from kubectl_egress.model import Mesh, Target

HTTP = Target("a", "team", host="httpbin.org")
TLS = Target("w", "team", host="en.wikipedia.org", port=443, protocol="tls")
HTTPS = dataclasses.replace(TLS, protocol="https")
NO_RULE = dataclasses.replace(HTTP, tls_mode=None)
ENDPOINTS = Target("e", "team", host="api.example.com", ips=(ipaddress.ip_address("192.0.2.1"),), port=443,
                   protocol="tls")
SIDECAR_NS = {"istio-injection": "enabled"}
AMBIENT_NS = {"istio.io/dataplane-mode": "ambient"}
# a Sidecar of the namespace whose egress hosts see only istio-system
HIDE = [{"metadata": {"name": "only-system", "namespace": "team"}, "spec": {"egress": [{"hosts": ["istio-system/*"]}]}}]
# ... and one that imports its own namespace's services
OWN = [{"metadata": {"name": "own", "namespace": "team"}, "spec": {"egress": [{"hosts": ["./*"]}]}}]


def rev(name, alias, outbound="ALLOW_ANY"):
    return Revision(name, "istiod" if name == "default" else f"istiod-{name}", "1.24.3" if alias else "1.20.8",
                    alias, "why", outbound)


def facts(alias=True, outbound="ALLOW_ANY", labels=SIDECAR_NS, sidecars=(), override="auto", other=None,
          more=()):
    """Namespace team (labels) and istiod's default revision; other: a canary revision's alias mode;
    more: further revisions."""
    revs = {"default": rev("default", alias, outbound)}
    if other is not None:
        revs["canary"] = rev("canary", other, outbound)
    revs.update({r.name: r for r in more})
    return MeshFacts("v1", revisions=revs, configs={n: MeshConfig(r.outbound) for n, r in revs.items()},
                     namespaces={"team": {"metadata": {"name": "team", "labels": labels}}},
                     sidecars=list(sidecars), override=override)


NOTES = [
    # --istio-mode alias over a legacy istiod: the namespace's istiod still treats ExternalName as legacy
    ("forced-alias-over-legacy", HTTP, facts(False, "REGISTRY_ONLY", override="alias"), True,
     ['outbound traffic policy REGISTRY_ONLY (from the mesh config istio-system/istio): up to Istio '
      '1.20 an ExternalName Service is a registry entry itself for HTTP, which is routed by its name, '
      'so no ServiceEntry is needed']),
    # a Sidecar in force that imports the host: no warning
    ("registry-seen-by-sidecar", ENDPOINTS, facts(outbound="REGISTRY_ONLY", sidecars=OWN), None,
     ['outbound traffic policy REGISTRY_ONLY (from the mesh config istio-system/istio): a Service with '
      'endpoints is a registry entry itself, so no ServiceEntry is needed']),
    ("two-revisions-differ", HTTP, facts(other=False, more=[rev("stable", False)]), None,
     ["Istio revisions differ in ExternalName mode: these objects are for alias mode (why); pods injected "
      "by revision canary, stable need legacy mode (--istio-mode legacy) until they move to the "
      "namespace's revision"]),
    ("allow-any", HTTP, facts(), None,
     []),
    ("alias-registry-with-entry", HTTP, facts(outbound="REGISTRY_ONLY"), True,
     ['outbound traffic policy REGISTRY_ONLY (from the mesh config istio-system/istio): the '
      'ServiceEntry puts httpbin.org in the registry; without it sidecars block httpbin.org (HTTP 502 '
      'from the BlackHoleCluster, reset TLS handshakes)']),
    ("alias-registry-no-entry", HTTP, facts(outbound="REGISTRY_ONLY", override="alias"), False,
     ['Warning: outbound traffic policy REGISTRY_ONLY (from the mesh config istio-system/istio): no '
      'ServiceEntry is written (--istio-mode alias), so the sidecars block httpbin.org (HTTP 502 from '
      'the BlackHoleCluster, reset TLS handshakes)']),
    ("legacy-registry-http", HTTP, facts(False, "REGISTRY_ONLY"), None,
     ['outbound traffic policy REGISTRY_ONLY (from the mesh config istio-system/istio): up to Istio '
      '1.20 an ExternalName Service is a registry entry itself for HTTP, which is routed by its name, '
      'so no ServiceEntry is needed']),
    ("legacy-registry-tls-entry", TLS, facts(False, "REGISTRY_ONLY"), True,
     ['outbound traffic policy REGISTRY_ONLY (from the mesh config istio-system/istio): TLS is routed '
      'by its SNI, en.wikipedia.org, which only a ServiceEntry puts in the registry (up to Istio 1.20 '
      'the ExternalName Service itself is known by its own name)']),
    ("legacy-registry-tls-no-entry", TLS, facts(False, "REGISTRY_ONLY"), False,
     ['Warning: outbound traffic policy REGISTRY_ONLY (from the mesh config istio-system/istio): no '
      'ServiceEntry names en.wikipedia.org, the SNI its TLS is routed by, so sidecars block '
      'en.wikipedia.org (HTTP 502 from the BlackHoleCluster, reset TLS handshakes)']),
    ("registry-endpoints", ENDPOINTS, facts(outbound="REGISTRY_ONLY"), None,
     ['outbound traffic policy REGISTRY_ONLY (from the mesh config istio-system/istio): a Service with '
      'endpoints is a registry entry itself, so no ServiceEntry is needed']),
    ("registry-hidden-by-sidecar", HTTP, facts(outbound="REGISTRY_ONLY", sidecars=HIDE), True,
     ['outbound traffic policy REGISTRY_ONLY (from the mesh config istio-system/istio): the '
      'ServiceEntry puts httpbin.org in the registry; without it sidecars block httpbin.org (HTTP 502 '
      'from the BlackHoleCluster, reset TLS handshakes)',
      "Warning: Sidecar team/only-system's egress hosts do not include team/httpbin.org: its workloads "
      'cannot reach it; add "team/httpbin.org" to them (kubectl edit sidecar only-system -n team)']),
    ("registry-hidden-endpoints", ENDPOINTS, facts(outbound="REGISTRY_ONLY", sidecars=HIDE), None,
     ['outbound traffic policy REGISTRY_ONLY (from the mesh config istio-system/istio): a Service with '
      'endpoints is a registry entry itself, so no ServiceEntry is needed',
      "Warning: Sidecar team/only-system's egress hosts do not include team/e.team.svc.cluster.local: "
      'its workloads cannot reach it; add "team/e.team.svc.cluster.local" to them (kubectl edit sidecar '
      'only-system -n team)']),
    ("legacy-hidden-fqdn", HTTP, facts(False, outbound="REGISTRY_ONLY", sidecars=HIDE), None,
     ['outbound traffic policy REGISTRY_ONLY (from the mesh config istio-system/istio): up to Istio '
      '1.20 an ExternalName Service is a registry entry itself for HTTP, which is routed by its name, '
      'so no ServiceEntry is needed',
      "Warning: Sidecar team/only-system's egress hosts do not include team/a.team.svc.cluster.local: "
      'its workloads cannot reach it; add "team/a.team.svc.cluster.local" to them (kubectl edit sidecar '
      'only-system -n team)']),
    ("ambient-both", HTTP, facts(labels=AMBIENT_NS), None,
     ['namespace team is in ambient mode: ztunnel sends no Istio mutual TLS to hosts outside the mesh '
      'and does not apply REGISTRY_ONLY (istio#54281), so its pods need only the Service: the '
      'DestinationRule and the ServiceEntry serve callers with a sidecar']),
    ("ambient-rule-only-legacy", HTTP, facts(False, labels=AMBIENT_NS), None,
     ['namespace team is in ambient mode: ztunnel sends no Istio mutual TLS to hosts outside the mesh '
      'and does not apply REGISTRY_ONLY (istio#54281), so its pods need only the Service: the '
      'DestinationRule serves callers with a sidecar']),
    ("ambient-entry-only", NO_RULE, facts(labels=AMBIENT_NS), None,
     ['namespace team is in ambient mode: ztunnel sends no Istio mutual TLS to hosts outside the mesh '
      'and does not apply REGISTRY_ONLY (istio#54281), so its pods need only the Service: the '
      'ServiceEntry serves callers with a sidecar']),
    ("ambient-none", dataclasses.replace(ENDPOINTS, tls_mode=None), facts(labels=AMBIENT_NS), None,
     ['namespace team is in ambient mode: ztunnel sends no Istio mutual TLS to hosts outside the mesh '
      'and does not apply REGISTRY_ONLY (istio#54281), so its pods need only the Service']),
    ("ambient-and-revisions", HTTP, facts(labels=AMBIENT_NS, other=False), None,
     ['namespace team is in ambient mode: ztunnel sends no Istio mutual TLS to hosts outside the mesh '
      'and does not apply REGISTRY_ONLY (istio#54281), so its pods need only the Service: the '
      'DestinationRule and the ServiceEntry serve callers with a sidecar',
      'Istio revisions differ in ExternalName mode: these objects are for alias mode (why); pods '
      'injected by revision canary need legacy mode (--istio-mode legacy) until they move to the '
      "namespace's revision"]),
    ("revisions-differ", HTTP, facts(other=False), None,
     ['Istio revisions differ in ExternalName mode: these objects are for alias mode (why); pods '
      'injected by revision canary need legacy mode (--istio-mode legacy) until they move to the '
      "namespace's revision"]),
    ("revisions-differ-legacy", HTTP, facts(False, other=True), None,
     ['Istio revisions differ in ExternalName mode: these objects are for legacy mode (why); pods '
      'injected by revision canary need alias mode (--istio-mode alias) until they move to the '
      "namespace's revision"]),
    ("revisions-same", HTTP, facts(other=True), None,
     []),
    ("revisions-endpoints", ENDPOINTS, facts(other=False), None,
     []),
    ("revisions-override", HTTP, facts(other=False, override="alias"), None,
     []),
]


@pytest.mark.parametrize("target, mesh_facts, entry, said", [row[1:] for row in NOTES], ids=[row[0] for row in NOTES])
def test_what_a_recipe_says_about_the_mesh(target, mesh_facts, entry, said):
    objects = [{"kind": "Service"}] + ([{"kind": "ServiceEntry"}] if entry else [])
    assert fit.notes(target, mesh_facts.mesh("team"), mesh_facts, objects) == said


def test_nothing_is_said_without_istio():
    assert fit.notes(HTTP, Mesh(istio=False, mode="none"), facts(labels=AMBIENT_NS, other=False)) == []
    assert fit.notes(HTTP, Mesh(mode="alias"), None) == []


@pytest.mark.parametrize("target, mesh_facts, wanted", [
    (TLS, facts(False, "REGISTRY_ONLY"), True),  # legacy mode routes TLS by SNI: only a ServiceEntry names it
    (HTTPS, facts(False, "REGISTRY_ONLY"), True),
    (HTTP, facts(False, "REGISTRY_ONLY"), False),  # HTTP is routed by the Service's own name
    (TLS, facts(False), False),  # ALLOW_ANY: nothing is blocked
    (TLS, facts(True, "REGISTRY_ONLY"), False),  # alias mode: the recipe writes its ServiceEntry anyway
    (TLS, facts(False, "REGISTRY_ONLY", override="legacy"), False),  # --istio-mode: the user's objects only
    (ENDPOINTS, facts(False, "REGISTRY_ONLY"), False),  # a Service with endpoints is a registry entry
    (TLS, facts(False, "REGISTRY_ONLY", labels=AMBIENT_NS), False),  # ztunnel ignores REGISTRY_ONLY
    (TLS, MeshFacts("v1", namespaces={"team": {"metadata": {"name": "team", "labels": SIDECAR_NS}}}), False),
    # the policy of the namespace's own revision, not the default one's
    (TLS, facts(False, "ALLOW_ANY", labels={"istio.io/rev": "canary"},
                more=[rev("canary", False, "REGISTRY_ONLY")]), True),
    (TLS, facts(False, "REGISTRY_ONLY", labels={"istio.io/rev": "canary"}, more=[rev("canary", False)]), False),
])
def test_the_serviceentry_legacy_tls_needs_under_registry_only(target, mesh_facts, wanted):
    mesh = mesh_facts.mesh("team")
    want = manifests.service_entry(target, dataclasses.replace(mesh, mode="alias")) if wanted else None
    assert fit.registry_entry(target, mesh, mesh_facts) == want
    assert fit.registry_entry(target, mesh, None) is None
    assert fit.registry_entry(target, dataclasses.replace(mesh, istio=False), mesh_facts) is None
