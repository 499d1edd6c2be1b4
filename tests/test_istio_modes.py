"""The recipes for the Istio that runs: 1.20 (legacy), 1.24 (ExternalName as alias), none."""

import pytest

from tests.netns import REASON
from tests.test_commands import get_json

V1 = "/apis/networking.istio.io/v1/namespaces/default/"


def test_istio_124_gets_a_service_entry_and_the_rule_on_the_external_host(apiserver_124, egress, kubectl):
    res = egress("externalname", "my-httpbin", "httpbin.org")
    assert res.lines == ["service/my-httpbin created", "serviceentry.networking.istio.io/my-httpbin created",
                         "destinationrule.networking.istio.io/my-httpbin created"]
    entry = get_json(apiserver_124, V1 + "serviceentries/my-httpbin")
    assert entry["spec"] == {"hosts": ["httpbin.org"], "location": "MESH_EXTERNAL", "resolution": "DNS",
                             "ports": [{"number": 80, "name": "http", "protocol": "HTTP"}]}
    assert get_json(apiserver_124, V1 + "destinationrules/my-httpbin")["spec"]["host"] == "httpbin.org"
    table = kubectl("get", "se").out.splitlines()
    assert table[1].split()[:4] == ["my-httpbin", '["httpbin.org"]', "MESH_EXTERNAL", "DNS"]
    assert egress("externalname", "my-httpbin", "httpbin.org").lines[1] == \
        "serviceentry.networking.istio.io/my-httpbin unchanged"
    wide = egress("get", "-o", "wide").lines[1].split()
    assert wide[-2:] == ["default/my-httpbin", "httpbin.org"]  # the rule that applies, the entry's hosts
    assert egress("clean").lines == ['destinationrule.networking.istio.io "my-httpbin" deleted',
                                     'serviceentry.networking.istio.io "my-httpbin" deleted',
                                     'service "my-httpbin" deleted']


def test_istio_120_gets_the_seed_objects(apiserver, egress):
    res = egress("externalname", "my-httpbin", "httpbin.org")
    assert res.lines == ["service/my-httpbin created", "destinationrule.networking.istio.io/my-httpbin created"]
    rule = get_json(apiserver, "/apis/networking.istio.io/v1beta1/namespaces/default/destinationrules/my-httpbin")
    assert rule["spec"]["host"] == "my-httpbin.default.svc.cluster.local"


def test_no_istio_only_the_service(bare_apiserver, egress):
    res = egress("externalname", "my-httpbin", "httpbin.org")
    assert res.lines == ["service/my-httpbin created"]
    assert res.err == "Istio is not installed (networking.istio.io is not served): creating no DestinationRule\n"
    assert egress("version").lines[2] == "Istio: not installed (networking.istio.io is not served)"


def test_version_shows_the_mode(apiserver_124, egress):
    line = egress("version").lines[2]
    assert line.startswith("Istio: 1.24.3, alias mode: an ExternalName Service is a DNS alias")
    data = egress("version", "-o", "json").json()["istio"]
    assert (data["version"], data["mode"], data["networkingVersion"]) == ("1.24.3", "alias", "v1")


def test_switching_modes_moves_the_rule(apiserver_124, egress):
    egress("externalname", "my-httpbin", "httpbin.org", "--istio-mode", "legacy")
    assert get_json(apiserver_124, V1 + "destinationrules/my-httpbin")["spec"]["host"] == \
        "my-httpbin.default.svc.cluster.local"
    assert get_json(apiserver_124, V1 + "serviceentries/my-httpbin") is None
    res = egress("externalname", "my-httpbin", "httpbin.org")
    assert res.lines == ["service/my-httpbin unchanged", "serviceentry.networking.istio.io/my-httpbin created",
                         "destinationrule.networking.istio.io/my-httpbin configured"]
    none = egress("externalname", "my-httpbin", "httpbin.org", "--istio-mode", "none")
    assert none.lines == ["service/my-httpbin unchanged", "destinationrule.networking.istio.io/my-httpbin pruned",
                          "serviceentry.networking.istio.io/my-httpbin pruned"]


def test_bad_istio_mode(apiserver, egress):
    apiserver.clear_requests()
    res = egress("externalname", "x", "httpbin.org", "--istio-mode", "1.24")
    assert res.code == 2 and '--istio-mode "1.24" is not one of auto, legacy, alias, none' in res.err
    assert apiserver.requests() == []


@pytest.mark.skipif(bool(REASON), reason=REASON or "available")
def test_probe_on_istio_124_passes_from_both_sources(apiserver_124, egress):
    egress("externalname", "my-httpbin", "httpbin.org")
    egress("endpoints", "my-wikipedia", "198.35.26.96", "208.80.153.224", "--port", "443", "--host",
           "en.wikipedia.org")
    egress("externalname", "wiki-alias", "en.wikipedia.org", "--port", "443", "--protocol", "tls")
    res = egress("probe", "--deploy-sources", "--all-sources", "-o", "json")
    assert res.code == 0, res.out
    rows = {(r["service"], r["source"].split("/")[0]): r for r in res.json()["items"]}
    assert {k: (r["result"], r["sidecar"]) for k, r in rows.items()} == {
        ("my-httpbin", "default"): ("OK", "yes"), ("my-httpbin", "without-istio"): ("OK", "no"),
        ("my-wikipedia", "default"): ("OK", "yes"), ("my-wikipedia", "without-istio"): ("OK", "no"),
        ("wiki-alias", "default"): ("OK", "yes"), ("wiki-alias", "without-istio"): ("OK", "no")}
    assert rows[("my-httpbin", "default")]["hint"] == ""  # the ServiceEntry's route matched


@pytest.mark.skipif(bool(REASON), reason=REASON or "available")
def test_the_sidecar_follows_the_mode(apiserver_124, egress, kubectl):
    """1.24 honours rules on the external host and ignores rules on the alias host."""
    egress("externalname", "my-httpbin", "httpbin.org")
    egress("probe", "--deploy-sources")
    kubectl("delete", "destinationrule", "my-httpbin")
    rule = """
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: %s}
spec: {host: %s, trafficPolicy: {tls: {mode: %s}}}
"""
    kubectl("apply", "-f", "-", input=rule % ("external", "httpbin.org", "ISTIO_MUTUAL"))
    failing = egress("probe", "-o", "json")
    assert failing.code == 1 and failing.json()["items"][0]["code"] == "503"
    kubectl("apply", "-f", "-", input=rule % ("external", "httpbin.org", "DISABLE"))
    kubectl("apply", "-f", "-", input=rule % ("on-alias", "my-httpbin.default.svc.cluster.local", "ISTIO_MUTUAL"))
    ignored = egress("probe", "-o", "json")
    assert ignored.code == 0, ignored.out
