"""kubectl egress serviceentry, and --tls-origination on externalname, against the local API server:
Istio's shapes, the house conventions, one ServiceEntry per host, and check's TLS findings."""
import json
import os

import pytest

from tests.conftest import plugin_path
from tests.test_commands import get_json, kubectl_apply

V1 = "/apis/networking.istio.io/v1/namespaces/default/"
V1BETA1 = "/apis/networking.istio.io/v1beta1/namespaces/default/"
LABELS = {"app.kubernetes.io/managed-by": "kubectl-egress", "kubectl-egress/recipe": "serviceentry"}
# Istio's "Accessing External Services" ServiceEntry, for httpbin.org on port 80
ACCESS = {"hosts": ["httpbin.org"], "location": "MESH_EXTERNAL", "resolution": "DNS",
          "ports": [{"number": 80, "name": "http", "protocol": "HTTP"}]}
# Istio's "Egress TLS Origination": port 80 sent on to 443, the 443 port kept for HTTPS callers, and a
# port-level SIMPLE rule (sni, and the certificate checked against the OS bundle, so no IST0129)
ORIGINATION_ENTRY = {"hosts": ["site.example"], "location": "MESH_EXTERNAL", "resolution": "DNS",
                     "ports": [{"number": 80, "name": "http", "protocol": "HTTP", "targetPort": 443},
                               {"number": 443, "name": "https", "protocol": "HTTPS"}]}
ORIGINATION_RULE = {"host": "site.example", "trafficPolicy": {"portLevelSettings": [
    {"port": {"number": 80}, "tls": {"mode": "SIMPLE", "sni": "site.example",
                                     "caCertificates": "/etc/ssl/certs/ca-certificates.crt",
                                     "subjectAltNames": ["site.example"]}}]}}


def findings(egress, *args):
    res = egress("check", "-o", "json", *args)
    return [(f["code"], f["object"]) for f in res.json()["items"]], res.json()["items"]


def test_the_access_task_and_the_house_conventions(apiserver, egress, kubectl):
    res = egress("serviceentry", "my-httpbin", "httpbin.org")
    assert (res.code, res.out, res.err) == (0, "serviceentry.networking.istio.io/my-httpbin created\n", "")
    entry = get_json(apiserver, V1BETA1 + "serviceentries/my-httpbin")  # Istio 1.20 serves v1beta1
    assert entry["spec"] == ACCESS and entry["metadata"]["labels"] == LABELS
    assert egress("serviceentry", "my-httpbin", "httpbin.org").out == \
        "serviceentry.networking.istio.io/my-httpbin unchanged\n"
    assert egress("serviceentry", "my-httpbin", "httpbin.org", "--port", "443", "--protocol", "https").out == \
        "serviceentry.networking.istio.io/my-httpbin configured\n"
    row = kubectl("get", "se", "my-httpbin").out.splitlines()[1].split()
    assert row[:4] == ["my-httpbin", '["httpbin.org"]', "MESH_EXTERNAL", "DNS"]
    assert egress("get").lines[1].split()[:6] == ["my-httpbin", "ServiceEntry", "<none>", "httpbin.org",
                                                   "443/HTTPS", "<none>"]
    assert egress("serviceentry", "my-httpbin", "httpbin.org", "-o", "name").out == \
        "serviceentry.networking.istio.io/my-httpbin\n"
    assert egress("clean").lines == ['serviceentry.networking.istio.io "my-httpbin" deleted']


@pytest.mark.parametrize("fixture, version", [("apiserver", "v1beta1"), ("apiserver_124", "v1")])
def test_tls_origination_in_the_task_shapes(fixture, version, request, egress):
    srv = request.getfixturevalue(fixture)
    res = egress("serviceentry", "my-site", "site.example", "--tls-origination")
    assert res.lines == ["serviceentry.networking.istio.io/my-site created",
                         "destinationrule.networking.istio.io/my-site created"]
    base = f"/apis/networking.istio.io/{version}/namespaces/default/"
    assert get_json(srv, base + "serviceentries/my-site")["spec"] == ORIGINATION_ENTRY
    assert get_json(srv, base + "destinationrules/my-site")["spec"] == ORIGINATION_RULE
    assert findings(egress) == ([], [])  # verified: no IST0129
    skip = egress("serviceentry", "my-site", "site.example", "--tls-origination", "--insecure-skip-verify")
    assert skip.lines[1] == "destinationrule.networking.istio.io/my-site configured"
    assert "accepts any certificate for site.example" in skip.err and "IST0129" in skip.err
    tls = get_json(srv, base + "destinationrules/my-site")["spec"]["trafficPolicy"]["portLevelSettings"][0]["tls"]
    assert tls == {"mode": "SIMPLE", "sni": "site.example", "insecureSkipVerify": True}
    found, items = findings(egress)
    assert found == [("IST0129", "DestinationRule default/my-site")]
    assert items[0]["message"] == ("DestinationRule default/my-site in namespace default has TLS mode set to SIMPLE but "
                                   "no caCertificates are set to validate server identity for host: site.example at "
                                   "port number:80")
    assert items[0]["fix"] == "kubectl egress serviceentry my-site site.example --tls-origination"
    egress(*items[0]["fix"].split()[2:])
    assert findings(egress) == ([], [])
    # turning origination off prunes the rule
    assert egress("serviceentry", "my-site", "site.example").lines == [
        "serviceentry.networking.istio.io/my-site configured", "destinationrule.networking.istio.io/my-site pruned"]


def test_externalname_originates_tls_in_alias_mode(apiserver_124, egress):
    res = egress("externalname", "my-site", "site.example", "--tls-origination")
    assert res.lines == ["service/my-site created", "serviceentry.networking.istio.io/my-site created",
                         "destinationrule.networking.istio.io/my-site created"]
    entry = get_json(apiserver_124, V1 + "serviceentries/my-site")
    assert entry["spec"] == ORIGINATION_ENTRY and "kubectl-egress/recipe" not in entry["metadata"]["labels"]
    assert get_json(apiserver_124, V1 + "destinationrules/my-site")["spec"] == ORIGINATION_RULE
    assert egress("get").lines[1].split()[5] == "ORIGINATE"
    assert egress("externalname", "my-site", "site.example", "--tls-origination").lines[2] == \
        "destinationrule.networking.istio.io/my-site unchanged"


def test_externalname_origination_in_legacy_mode_routes_to_the_entry(apiserver, egress, kubectl):
    """Up to 1.20 the Service is a mesh service of its own, sent to site.example:80 whatever its
    targetPort: a VirtualService hands its HTTP traffic to the ServiceEntry, which originates TLS."""
    res = egress("externalname", "my-site", "site.example", "--tls-origination")
    assert res.lines == ["service/my-site created", "serviceentry.networking.istio.io/my-site created",
                         "destinationrule.networking.istio.io/my-site created",
                         "virtualservice.networking.istio.io/my-site created"]
    assert get_json(apiserver, V1BETA1 + "serviceentries/my-site")["spec"] == ORIGINATION_ENTRY
    assert get_json(apiserver, V1BETA1 + "destinationrules/my-site")["spec"] == ORIGINATION_RULE
    assert get_json(apiserver, V1BETA1 + "virtualservices/my-site")["spec"] == {
        "hosts": ["my-site.default.svc.cluster.local"],
        "http": [{"route": [{"destination": {"host": "site.example", "port": {"number": 80}}}]}]}
    assert kubectl("get", "vs").out.splitlines()[1].split()[:2] == ["my-site", '["my-site.default.svc.cluster.local"]']
    assert findings(egress) == ([], [])  # the route leads away from the mesh-wide ISTIO_MUTUAL rule
    # without origination the route goes, and the seed's rule on the Service's own host comes back
    assert egress("externalname", "my-site", "site.example").lines == [
        "service/my-site unchanged", "destinationrule.networking.istio.io/my-site configured",
        "serviceentry.networking.istio.io/my-site pruned", "virtualservice.networking.istio.io/my-site pruned"]


def test_without_istio(bare_apiserver, egress):
    res = egress("serviceentry", "my-httpbin", "httpbin.org")
    assert res.code == 1 and "a ServiceEntry needs Istio" in res.err
    res = egress("externalname", "my-site", "site.example", "--tls-origination")
    assert res.lines == ["service/my-site created"]
    assert res.err == ("Warning: without Istio nothing originates TLS: callers of "
                       "http://my-site.default.svc.cluster.local reach site.example:80 in plain HTTP\n")


@pytest.mark.parametrize("args, fragment", [
    (["my-site", "site.example", "--tls-origination", "--protocol", "https"], "'wrong version number'"),
    (["my-site", "*.example.com"], "use --resolution NONE"),
    (["my-site", "a.example", "--resolution", "NONE", "--endpoints", "203.0.113.7"], "--resolution NONE"),
    (["my-site", "a.example", "--addresses", "10.0.0.0/8"], "only with --resolution NONE or STATIC"),
    (["my-site", "a.example", "--export-to", ".,*"], '"*" already means every namespace'),
    (["my-site", "a.example", "--export-to", ".,default"], '("." is this namespace)'),
    (["my-site", "a.example", "--location", "outside"], "MESH_EXTERNAL, MESH_INTERNAL"),
    (["my-site", "a.example", "--insecure-skip-verify"], "only applies with --tls-origination"),
    (["My_Site", "a.example"], "not a valid Service name"),
])
def test_bad_input_exits_2_and_sends_nothing(apiserver, egress, args, fragment):
    apiserver.clear_requests()
    res = egress("serviceentry", *args)
    assert res.code == 2 and fragment in res.err and res.err.count("\n") == 1
    assert apiserver.writes() == []


def test_dry_runs_and_rollback(apiserver, egress):
    apiserver.clear_requests()
    res = egress("serviceentry", "my-site", "site.example", "--tls-origination", "--dry-run=client", "-o", "json")
    assert [o["kind"] for o in res.json()["items"]] == ["ServiceEntry", "DestinationRule"]
    assert apiserver.writes() == []
    res = egress("serviceentry", "my-site", "site.example", "--tls-origination", "--dry-run=server")
    assert res.lines == ["serviceentry.networking.istio.io/my-site created (server dry run)",
                         "destinationrule.networking.istio.io/my-site created (server dry run)"]
    assert get_json(apiserver, V1BETA1 + "serviceentries/my-site") is None
    apiserver.fault(method="POST", path="/destinationrules$", status=500, reason="InternalError", times=1)
    res = egress("serviceentry", "my-site", "site.example", "--tls-origination")
    assert res.code == 1
    assert get_json(apiserver, V1BETA1 + "serviceentries/my-site") is None  # undone


def test_never_touches_what_it_did_not_make(apiserver, egress, kubectl):
    kubectl_apply(kubectl, json.dumps({"apiVersion": "networking.istio.io/v1beta1", "kind": "ServiceEntry",
                                       "metadata": {"name": "theirs"}, "spec": ACCESS}))
    res = egress("serviceentry", "theirs", "httpbin.org")
    assert res.code == 1 and "not managed by kubectl-egress" in res.err and "--force" in res.err
    res = egress("serviceentry", "theirs", "httpbin.org", "--force")
    assert res.lines == ["serviceentry.networking.istio.io/theirs configured"]


def test_one_service_entry_per_host(apiserver_124, egress):
    """The ownership rule: a host's ServiceEntry belongs to whoever listed it first; aliases use
    serviceentry's; serviceentry takes over an alias's entry of its own name, and no other."""
    assert egress("serviceentry", "my-site", "site.example", "--tls-origination").code == 0
    res = egress("serviceentry", "other", "site.example")
    assert res.code == 1 and '"site.example" is already in serviceentry.networking.istio.io/my-site' in res.err
    res = egress("externalname", "alias", "site.example")
    assert res.lines == ["service/alias created"]
    assert "using serviceentry.networking.istio.io/my-site for site.example" in res.err
    res = egress("externalname", "alias", "site.example", "--port", "8080")
    assert res.code == 1 and "serves port 80 or 443, not 8080" in res.err
    # an alias made first: serviceentry of the same name takes its entry over, the Service stays
    egress("externalname", "my-httpbin", "httpbin.org")
    res = egress("serviceentry", "other", "httpbin.org")
    assert res.code == 1 and "made by kubectl egress externalname my-httpbin" in res.err
    res = egress("serviceentry", "my-httpbin", "httpbin.org")
    assert res.lines == ["serviceentry.networking.istio.io/my-httpbin configured"]
    again = egress("externalname", "my-httpbin", "httpbin.org")
    assert again.lines == ["service/my-httpbin unchanged", "destinationrule.networking.istio.io/my-httpbin pruned"]
    entry = get_json(apiserver_124, V1 + "serviceentries/my-httpbin")
    assert entry["metadata"]["labels"]["kubectl-egress/recipe"] == "serviceentry"


# -- check: hand-made rules, as the "Done when" has them ----------------------------------------
DOUBLE_TLS = """
apiVersion: networking.istio.io/v1beta1
kind: ServiceEntry
metadata: {name: httpbin}
spec:
  hosts: [httpbin.org]
  ports: [{number: 443, name: https, protocol: HTTPS}]
  resolution: DNS
---
apiVersion: networking.istio.io/v1beta1
kind: DestinationRule
metadata: {name: originate-tls}
spec:
  host: httpbin.org
  trafficPolicy: {tls: {mode: SIMPLE}}
"""
UNVERIFIED = """
apiVersion: networking.istio.io/v1beta1
kind: DestinationRule
metadata: {name: unverified, namespace: prod}
spec:
  host: example.com
  trafficPolicy:
    portLevelSettings:
    - port: {number: 80}
      tls: {mode: SIMPLE, sni: example.com, insecureSkipVerify: true}
"""


def test_check_finds_double_tls_and_unverified_rules_and_the_fixes_work(apiserver, egress, kubectl):
    import subprocess
    kubectl_apply(kubectl, DOUBLE_TLS)
    kubectl("create", "namespace", "prod")
    kubectl_apply(kubectl, UNVERIFIED)
    found, items = findings(egress, "-A")
    assert found == [("EG0007", "DestinationRule default/originate-tls"),
                     ("IST0128", "DestinationRule default/originate-tls"),
                     ("IST0129", "DestinationRule prod/unverified")]
    assert items[0]["severity"] == "Error"
    assert "whose callers already speak TLS (port https, protocol https)" in items[0]["message"]
    assert items[1]["message"] == ("DestinationRule default/originate-tls in namespace default has TLS mode set to "
                                   "SIMPLE but no caCertificates are set to validate server identity for host: "
                                   "httpbin.org")
    assert items[2]["fix"].startswith("kubectl patch destinationrule unverified -n prod --type=json")
    for item in (items[0], items[2]):  # each fix, run by a shell as a user would
        env = {**os.environ, "PATH": plugin_path(), "KUBECONFIG": str(apiserver.kubeconfig_path)}
        done = subprocess.run(item["fix"], shell=True, capture_output=True, text=True, env=env)
        assert done.returncode == 0, done.stderr
    assert findings(egress, "-A") == ([], [])
    rule = get_json(apiserver, "/apis/networking.istio.io/v1beta1/namespaces/prod/destinationrules/unverified")
    assert rule["spec"]["trafficPolicy"]["portLevelSettings"][0]["tls"] == {
        "mode": "SIMPLE", "sni": "example.com", "caCertificates": "/etc/ssl/certs/ca-certificates.crt"}


def test_skip_verify_next_to_ca_certificates(apiserver, egress, kubectl):
    kubectl_apply(kubectl, UNVERIFIED.replace("namespace: prod", "namespace: default")
                  .replace("insecureSkipVerify: true", "insecureSkipVerify: true, caCertificates: /etc/ca.pem"))
    found, items = findings(egress)
    assert found == [("EG0008", "DestinationRule default/unverified")]
    assert items[0]["fix"] == ("kubectl patch destinationrule unverified --type=json -p "
                               "'[{\"op\":\"remove\",\"path\":\"/spec/trafficPolicy/portLevelSettings/0/tls/"
                               "insecureSkipVerify\"}]'")
