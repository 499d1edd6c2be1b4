"""TCP ports through the sidecar, against the local cluster: Envoy's TCP proxy accepts every
connection the app makes, so the probe asks more of a TCP check from a sidecar than a connection."""
import json

import pytest

from tests.conftest import run_kubectl
from tests.netns import requires_pod_networks
from tests.test_commands import kubectl_apply

pytestmark = requires_pod_networks


def rows(egress, *args):
    res = egress("probe", *args, "--all-sources", "--timeout", "3s", "-o", "json")
    return res.code, {(r["service"], r["sidecar"]): r for r in json.loads(res.out)["items"]}


def test_a_tcp_port_passes_only_when_the_sidecar_reached_the_host(apiserver, egress):
    # httpbin.org listens on 80 and not on 5432 (the emulated internet); both ports declared TCP
    assert egress("externalname", "web", "httpbin.org", "--port", "80", "--protocol", "tcp").code == 0
    assert egress("externalname", "db", "httpbin.org", "--port", "5432", "--protocol", "tcp").code == 0
    assert egress("probe", "--deploy-sources", "--all-sources", "--timeout", "3s").code == 1
    code, found = rows(egress)
    assert code == 1
    # held open until --timeout: connected upstream, and the server waits for its client to speak
    assert [found["web", s]["result"] for s in ("yes", "no")] == ["OK", "OK"]
    # nothing listens on 5432: refused without a sidecar; with one, Envoy takes the connection and
    # closes it empty once its upstream connection fails
    assert found["db", "no"]["result"] == "FAIL" and "connection refused" in found["db", "no"]["hint"]
    assert found["db", "yes"]["result"] == "FAIL"
    assert found["db", "yes"]["hint"].startswith("the sidecar accepted the connection and closed it empty")

    # without its DestinationRule the mesh-wide ISTIO_MUTUAL applies: the hint names it and the fix
    assert run_kubectl("delete", "destinationrule", "web").code == 0
    res = egress("probe", "web", "--timeout", "3s")
    assert res.code == 1
    fix = "kubectl egress externalname web httpbin.org --protocol tcp --tls-mode DISABLE"
    assert "Istio mutual TLS (DestinationRule mode ISTIO_MUTUAL for web.default.svc.cluster.local)" in res.out
    assert f"  fix: {fix}" in res.out.splitlines()
    assert egress(*fix.split()[2:]).code == 0
    assert egress("probe", "web", "--timeout", "3s").code == 0


def test_through_ztunnel_too(make_apiserver, egress):
    # an ambient pod's connections are accepted by ztunnel, which then connects out: refused upstream,
    # ztunnel closes the pod's connection empty
    make_apiserver("1.24", ambient=True)
    assert egress("externalname", "web", "httpbin.org", "--port", "80", "--protocol", "tcp").code == 0
    assert egress("externalname", "db", "httpbin.org", "--port", "5432", "--protocol", "tcp").code == 0
    assert egress("probe", "--deploy-sources", "--all-sources", "--timeout", "3s").code == 1
    code, found = rows(egress)
    assert code == 1
    assert found["web", "no (ztunnel)"]["result"] == "OK"
    assert found["db", "no (ztunnel)"]["result"] == "FAIL"
    assert found["db", "no (ztunnel)"]["hint"].startswith("ztunnel accepted the connection and closed it empty")


RULE_ELSEWHERE = """
apiVersion: v1
kind: Namespace
metadata: {name: egress}
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: httpbin, namespace: egress}
spec: {hosts: [httpbin.org], ports: [{number: 80, name: tcp, protocol: TCP}], resolution: DNS}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: httpbin, namespace: egress}
spec: {host: httpbin.org, trafficPolicy: {tls: {mode: ISTIO_MUTUAL}}%s}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: default}
spec: {type: ExternalName, externalName: httpbin.org, ports: [{name: tcp, port: 80}]}
"""


@pytest.mark.parametrize("export, applies", [("", True), (', exportTo: ["."]', False)])
def test_the_rule_of_the_entrys_namespace_when_exported(apiserver_124, egress, kubectl, export, applies):
    # in alias mode the host is the ServiceEntry's (namespace egress): its rule, exported to default, makes the
    # sidecar wrap the connection in Istio mutual TLS (istio push_context.go destinationRule), and the probe's
    # hint names it; kept to its namespace (exportTo "."), it applies to nothing here
    kubectl_apply(kubectl, RULE_ELSEWHERE % export)
    code, found = rows(egress, "web", "--deploy-sources")
    row = found["web", "yes"]
    assert (code, row["result"]) == ((1, "FAIL") if applies else (0, "OK"))
    assert ("DestinationRule mode ISTIO_MUTUAL for httpbin.org" in row["hint"]) == applies
