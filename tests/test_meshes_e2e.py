"""Issue 9's "Done when", end to end through real `kubectl egress` and real kubectl: on Istio 1.20,
1.22, 1.24 and 1.28, with and without REGISTRY_ONLY, and in ambient mode, the two recipes (and an
ExternalName for a TLS host) then `probe --deploy-sources --all-sources` give only OK rows; removing
the object that matters in that mesh gives a failing row whose hint names it, exit 1; `check` finds a
hand-made alias ExternalName blocked by REGISTRY_ONLY, and its fix makes the probe pass.

One cluster per version: the outbound policy changes as users change it, in the mesh config
ConfigMap (`kubectl edit cm istio -n istio-system`), which the next connection follows.
"""
import json
import shlex

import pytest

from tests.netns import requires_pod_networks
from tests.test_mesh_traffic import http_service

pytestmark = requires_pod_networks

RECIPES = [
    ("externalname", "my-httpbin", "httpbin.org"),
    ("endpoints", "my-wikipedia", "198.35.26.96", "208.80.153.224", "--port", "443", "--host", "en.wikipedia.org"),
    ("externalname", "wiki-alias", "en.wikipedia.org", "--port", "443", "--protocol", "tls"),
]
REGISTRY_ONLY = "outboundTrafficPolicy:\n  mode: REGISTRY_ONLY\n"


def make(egress):
    """The recipes, in process (the probe, check and the fixes go through real kubectl)."""
    for recipe in RECIPES:
        res = egress(*recipe)
        assert res.code == 0, res.err


def probe(kubectl, *args):
    res = kubectl("egress", "probe", "--all-sources", "-o", "json", *args, timeout=120)
    assert res.out, res.err
    rows = {(r["service"], r["source"].split("/")[0]): r for r in res.json()["items"]}
    return res.code, rows


def all_ok(kubectl, via, *args):
    code, rows = probe(kubectl, *args)
    assert code == 0 and {r["result"] for r in rows.values()} == {"OK"}, json.dumps(rows, indent=1)
    assert {r["via"] for (_, ns), r in rows.items() if ns == "default"} == {via}
    assert {r["via"] for (_, ns), r in rows.items() if ns == "without-istio"} == {"none"}
    return rows


def failing(kubectl, names, words, sources=("default",)):
    """Only these services fail, from these sources (the mesh source), each hint naming what is missing."""
    code, rows = probe(kubectl)
    failed = {key: r for key, r in rows.items() if r["result"] == "FAIL"}
    assert code == 1 and set(failed) == {(n, s) for n in names for s in sources}, json.dumps(rows, indent=1)
    for (svc, _), r in failed.items():
        assert words[svc] in r["hint"], (svc, r["hint"])
    return {svc: r for (svc, ns), r in failed.items() if ns == "default"}


def registry_only(kubectl):
    cm = json.loads(kubectl("get", "cm", "istio", "-n", "istio-system", "-o", "json").out)
    mesh = cm["data"]["mesh"] + "\n" + REGISTRY_ONLY
    assert kubectl("patch", "cm", "istio", "-n", "istio-system", "--type", "merge",
                   "-p", json.dumps({"data": {"mesh": mesh}})).code == 0


@pytest.mark.parametrize("version, alias", [("1.20", False), ("1.22", True), ("1.24", True), ("1.28", True)])
def test_sidecar_meshes(make_apiserver, kubectl, egress, version, alias):
    make_apiserver(version)
    if version == "1.28":
        http_service(kubectl)  # an HTTP listener on port 80: blocked HTTP gets Envoy's 502, not a reset
    make(egress)
    all_ok(kubectl, "sidecar", "--deploy-sources")
    # ALLOW_ANY: the DestinationRules are what matter against the mesh-wide ISTIO_MUTUAL rule (in alias
    # mode httpbin.org is not under *.local, so only the Service with endpoints, and 1.20's aliases, fail)
    kubectl("delete", "destinationrule", "my-httpbin", "my-wikipedia", "wiki-alias")
    rule = {"my-httpbin": "DestinationRule", "my-wikipedia": "DestinationRule", "wiki-alias": "DestinationRule"}
    failing(kubectl, ["my-wikipedia"] + ([] if alias else ["my-httpbin"]), rule)
    make(egress)
    all_ok(kubectl, "sidecar")

    # REGISTRY_ONLY: the recipes write what puts the hosts in the registry, and say so
    registry_only(kubectl)
    notes = egress(*RECIPES[0]).err + egress(*RECIPES[2]).err
    assert notes.count("outbound traffic policy REGISTRY_ONLY (from the mesh config istio-system/istio)") == 2
    all_ok(kubectl, "sidecar")
    kubectl("delete", "serviceentry", "--all")
    entry = {"my-httpbin": "no ServiceEntry puts httpbin.org in its registry",
             "wiki-alias": "no ServiceEntry puts en.wikipedia.org in its registry"}
    # 1.20: the ExternalName Service is the registry entry for HTTP; TLS is routed by SNI, the external host
    blocked = failing(kubectl, ["my-httpbin", "wiki-alias"] if alias else ["wiki-alias"], entry)
    for row in blocked.values():  # each hint's fix, run as printed
        assert kubectl(*shlex.split(row["hint"].split("; fix: ")[1])[1:]).code == 0
    all_ok(kubectl, "sidecar")

    if version == "1.24":  # check on a hand-made alias ExternalName: blocked, and its fix works
        kubectl("create", "service", "externalname", "legacy-api", "--external-name", "example.com", "--tcp=80:80")
        res = kubectl("egress", "check", "legacy-api", "-o", "json")
        (found,) = [f for f in res.json()["items"] if f["code"] == "EG0009"]
        assert res.code == 1 and found["severity"] == "Error" and "cannot reach example.com" in found["message"]
        assert probe(kubectl, "legacy-api")[0] == 1
        assert kubectl(*shlex.split(found["fix"])[1:]).code == 0
        assert "EG0009" not in kubectl("egress", "check", "legacy-api").out
        all_ok(kubectl, "sidecar", "legacy-api")


@pytest.mark.parametrize("version", ["1.24", "1.28"])
def test_ambient_meshes(make_apiserver, kubectl, egress, version):
    """ztunnel sends no Istio mutual TLS to external hosts and ignores REGISTRY_ONLY (istio#54281): the
    rules and ServiceEntries change nothing for ambient pods; a Service's endpoints are what matter."""
    make_apiserver(version, ambient=True, outbound_policy="REGISTRY_ONLY")
    make(egress)
    rows = all_ok(kubectl, "ztunnel", "--deploy-sources")
    assert rows[("my-wikipedia", "default")]["sidecar"] == "no (ztunnel)"
    assert "my-wikipedia.default.svc.cluster.local" in rows[("my-wikipedia", "default")]["viaEvidence"]
    kubectl("delete", "destinationrule,serviceentry", "--all")
    all_ok(kubectl, "ztunnel")
    kubectl("delete", "endpointslice", "my-wikipedia-ipv4")
    failed = failing(kubectl, ["my-wikipedia"], {"my-wikipedia": "no EndpointSlice or Endpoints"},
                     ("default", "without-istio"))  # a Service without endpoints fails everywhere
    assert failed["my-wikipedia"]["sidecar"] == "no (ambient, not verified)"
