"""Traffic in the meshes people run today, through real kubectl exec and real curl in pods: the
outbound traffic policy (meshConfig and Sidecar resources) with Envoy's own answers, native
sidecars, revisions that differ in ExternalName mode, and ambient's ztunnel."""
import json

import pytest

from tests.netns import requires_pod_networks

pytestmark = requires_pod_networks

CURL = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: %(name)s, namespace: %(ns)s}
spec:
  selector: {matchLabels: {app: %(name)s}}
  template:
    metadata: {labels: {app: %(name)s}}
    spec:
      containers: [{name: curl, image: curlimages/curl, command: ["/bin/sleep", "infinity"]}]
"""
SERVICE_ENTRY = """
apiVersion: networking.istio.io/v1beta1
kind: ServiceEntry
metadata: {name: %(name)s, namespace: %(ns)s}
spec:
  hosts: [%(host)s]
  location: MESH_EXTERNAL
  resolution: DNS
  ports: [{number: %(port)s, name: %(proto)s, protocol: %(proto_upper)s}]
"""
RULE = """
apiVersion: networking.istio.io/v1beta1
kind: DestinationRule
metadata: {name: %(name)s, namespace: %(ns)s}
spec: {host: %(host)s, trafficPolicy: {tls: {mode: %(mode)s}}}
"""


class Pods:
    """curl pods made through real kubectl, and exec into them."""

    def __init__(self, kubectl):
        self.kubectl = kubectl

    def deploy(self, namespace="default", name="curl", *ns_labels):
        if namespace != "default":
            self.kubectl("create", "namespace", namespace)
        if ns_labels:
            self.kubectl("label", "namespace", namespace, "--overwrite", *ns_labels)
        assert self.kubectl("apply", "-f", "-", input=CURL % {"name": name, "ns": namespace}).code == 0
        waited = self.kubectl("wait", "--for=condition=Ready", "pod", "-l", f"app={name}", "-n", namespace,
                              "--timeout=30s")
        assert waited.code == 0, waited.err
        return self.kubectl("get", "pod", "-l", f"app={name}", "-n", namespace,
                            "-o", "jsonpath={.items[0].metadata.name}").out

    def curl(self, namespace, pod, *args):
        return self.kubectl("exec", "-n", namespace, pod, "-c", "curl", "--", "curl", "-sS", "--max-time", "5", *args)

    def apply(self, text, **values):
        res = self.kubectl("apply", "-f", "-", input=text % values)
        assert res.code == 0, res.err


@pytest.fixture
def pods(kubectl):
    return Pods(kubectl)


def http_service(kubectl):
    """An HTTP service on port 80 in the mesh, so that sidecars have an HTTP listener on port 80 (as
    on clusters with Istio's ingress gateway): without one, port 80 is plain TCP to Envoy."""
    kubectl("create", "service", "clusterip", "mesh-web", "--tcp=80:8080")
    kubectl("patch", "svc", "mesh-web", "--type", "json", "-p",
            '[{"op": "replace", "path": "/spec/ports/0/name", "value": "http"}]')


def service_entry(pods, name, host, port=80, proto="http", ns="default"):
    pods.apply(SERVICE_ENTRY, name=name, ns=ns, host=host, port=port, proto=proto, proto_upper=proto.upper())


def test_registry_only_blocks_with_envoys_answers(make_apiserver, pods, egress):
    """REGISTRY_ONLY on 1.24: HTTP to an unknown host gets the block_all route's 502, TLS a reset
    handshake (curl 35), until a ServiceEntry puts the host in the registry."""
    make_apiserver("1.24", outbound_policy="REGISTRY_ONLY")
    pod = pods.deploy()
    # no HTTP listener on port 80 yet: the TCP catch-all's BlackHoleCluster closes the connection
    assert pods.curl("default", pod, "http://httpbin.org/headers").code == 56
    http_service(pods.kubectl)
    blocked = pods.curl("default", pod, "-i", "http://httpbin.org/headers")
    head = blocked.out.splitlines()  # (kubectl's text mode turned the CRLFs into newlines)
    assert head[0] == "HTTP/1.1 502 Bad Gateway", blocked.out
    assert "server: envoy" in head and "content-length: 0" in head
    assert "content-type" not in blocked.out and blocked.out.endswith("\n\n")  # no body
    tls = pods.curl("default", pod, "https://en.wikipedia.org/")
    assert tls.code == 35 and "reset" in tls.err.lower(), tls.err
    # an alias-mode ExternalName is no registry entry: blocked the same way
    assert egress("externalname", "my-httpbin", "httpbin.org", "--istio-mode", "legacy").code == 0
    alias = pods.curl("default", pod, "-o", "/dev/null", "-w", "%{http_code}",
                      "http://my-httpbin.default.svc.cluster.local/headers")
    assert alias.out == "502"
    service_entry(pods, "httpbin", "httpbin.org")
    pods.apply(RULE, name="httpbin", ns="default", host="httpbin.org", mode="DISABLE")
    allowed = pods.curl("default", pod, "http://httpbin.org/headers")
    assert json.loads(allowed.out)["headers"]["X-Envoy-Decorator-Operation"] == "httpbin.org:80/*"
    via_alias = pods.curl("default", pod, "http://my-httpbin.default.svc.cluster.local/headers")
    assert via_alias.code == 0 and json.loads(via_alias.out)["headers"]["Host"] == "my-httpbin.default.svc.cluster.local"
    stats = pods.curl("default", pod, "-s", "localhost:15000/stats?filter=BlackHole").out
    assert "destination_service_name=.=BlackHoleCluster;.;" in stats
    assert "response_code=.=502;.;" in stats and "request_protocol=.=tcp;.;" in stats


def test_a_legacy_external_name_is_a_registry_entry(make_apiserver, pods, egress):
    """1.20 (legacy mode) under REGISTRY_ONLY: the ExternalName Service is a service of its own."""
    make_apiserver("1.20", outbound_policy="REGISTRY_ONLY")
    pod = pods.deploy()
    assert egress("externalname", "my-httpbin", "httpbin.org").code == 0
    res = pods.curl("default", pod, "http://my-httpbin.default.svc.cluster.local/headers")
    assert json.loads(res.out)["headers"]["X-Envoy-Decorator-Operation"] == "my-httpbin.default.svc.cluster.local:80/*"
    assert pods.curl("default", pod, "-o", "/dev/null", "-w", "%{http_code}", "http://httpbin.org/headers").out == "502"


def test_sidecar_resources_set_the_policy_per_namespace_and_workload(make_apiserver, pods, kubectl):
    make_apiserver("1.22")  # the mesh allows any
    http_service(kubectl)
    web, other = pods.deploy(name="web"), pods.deploy(name="other")
    code = ["-o", "/dev/null", "-w", "%{http_code}", "http://httpbin.org/headers"]
    assert pods.curl("default", web, *code).out == "200"
    pods.apply("apiVersion: networking.istio.io/v1\nkind: Sidecar\nmetadata: {name: %(name)s}\n"
               "spec: {workloadSelector: {labels: {app: web}}, outboundTrafficPolicy: {mode: REGISTRY_ONLY}}\n",
               name="web-only")
    assert pods.curl("default", web, *code).out == "502"
    assert pods.curl("default", other, *code).out == "200"
    # egress hosts scope the registry: a ServiceEntry outside them is not seen
    service_entry(pods, "httpbin", "httpbin.org")
    pods.apply(RULE, name="httpbin", ns="default", host="httpbin.org", mode="DISABLE")
    assert pods.curl("default", web, *code).out == "200"
    pods.apply("apiVersion: networking.istio.io/v1\nkind: Sidecar\nmetadata: {name: web-only}\n"
               "spec: {workloadSelector: {labels: {app: web}}, outboundTrafficPolicy: {mode: REGISTRY_ONLY},\n"
               "       egress: [{hosts: [./mesh-web.default.svc.cluster.local, istio-system/*]}]}\n")
    assert pods.curl("default", web, *code).out == "502"
    pods.apply("apiVersion: networking.istio.io/v1\nkind: Sidecar\nmetadata: {name: web-only}\n"
               "spec: {workloadSelector: {labels: {app: web}}, outboundTrafficPolicy: {mode: REGISTRY_ONLY},\n"
               "       egress: [{hosts: [istio-system/*]}]}\n")
    assert pods.curl("default", web, *code).code == 56  # nothing on port 80 is HTTP to it any more
    # a root-namespace Sidecar is the mesh's default
    pods.apply("apiVersion: networking.istio.io/v1\nkind: Sidecar\nmetadata: {name: default, namespace: istio-system}\n"
               "spec: {outboundTrafficPolicy: {mode: REGISTRY_ONLY}}\n")
    assert pods.curl("default", other, "-o", "/dev/null", "-w", "%{http_code}", "http://example.com/").out == "502"
    # and the mesh config decides when no Sidecar says anything: istiod reads the ConfigMap again
    kubectl("delete", "sidecar", "-n", "istio-system", "default")
    kubectl("patch", "configmap", "istio", "-n", "istio-system", "--type", "merge", "-p",
            json.dumps({"data": {"mesh": "outboundTrafficPolicy:\n  mode: REGISTRY_ONLY\nrootNamespace: istio-system\n"}}))
    assert pods.curl("default", other, "-o", "/dev/null", "-w", "%{http_code}", "http://example.com/").out == "502"


def test_native_sidecars_carry_traffic(make_apiserver, pods, egress):
    make_apiserver("1.28")
    pod = pods.deploy()
    assert egress("externalname", "my-httpbin", "httpbin.org").code == 0
    res = pods.curl("default", pod, "http://httpbin.org/headers")
    headers = json.loads(res.out)["headers"]
    assert headers["X-Envoy-Decorator-Operation"] == "httpbin.org:80/*"
    assert "X-B3-Traceid" not in headers  # no zipkin tracing by default since 1.22


def test_two_revisions_differ_in_external_name_mode(make_apiserver, pods, kubectl):
    """A 1.20 and a 1.24 revision side by side, as in a canary upgrade: the 1.20 proxies apply the
    rule on the ExternalName's own host, the 1.24 ones ignore it."""
    make_apiserver("1.20", revisions={"1-24": "1.24"})
    old = pods.deploy()
    new = pods.deploy("upgraded", "curl", "istio.io/rev=1-24")
    kubectl("create", "service", "externalname", "legacy-api", "--external-name", "httpbin.org", "--tcp=80:80")
    kubectl("patch", "svc", "legacy-api", "--type", "json", "-p",
            '[{"op": "replace", "path": "/spec/ports/0/name", "value": "http"}]')
    pods.apply(RULE, name="legacy-api", ns="default", host="legacy-api.default.svc.cluster.local", mode="ISTIO_MUTUAL")
    url = "http://legacy-api.default.svc.cluster.local/headers"
    assert pods.curl("default", old, "-o", "/dev/null", "-w", "%{http_code}", url).out == "503"  # the rule applies
    assert pods.curl("upgraded", new, "-o", "/dev/null", "-w", "%{http_code}", url).out == "200"  # an alias: ignored
    # the 1.20 revision opts into alias mode with its istiod's flag; 1.24 no longer reads it
    kubectl("set", "env", "deploy/istiod", "-n", "istio-system", "ENABLE_EXTERNAL_NAME_ALIAS=true")
    assert pods.curl("default", old, "-o", "/dev/null", "-w", "%{http_code}", url).out == "200"
    kubectl("set", "env", "deploy/istiod-1-24", "-n", "istio-system", "ENABLE_EXTERNAL_NAME_ALIAS=false")
    assert pods.curl("upgraded", new, "-o", "/dev/null", "-w", "%{http_code}", url).out == "200"


def test_ambient_pods_go_through_ztunnel(make_apiserver, pods, egress, kubectl):
    """ztunnel for out-of-mesh destinations: no Istio mTLS (the mesh-wide ISTIO_MUTUAL rule plays no
    part), passthrough for ExternalName, its own endpoint pick for a selector-less Service, no
    REGISTRY_ONLY; every connection counted in its metrics."""
    make_apiserver("1.24", ambient=True, outbound_policy="REGISTRY_ONLY")
    http_service(kubectl)
    pod = pods.deploy()
    assert egress("externalname", "my-httpbin", "httpbin.org", "--tls-mode", "none").code == 0
    assert egress("endpoints", "my-wikipedia", "198.35.26.96", "--port", "443", "--tls-mode", "none").code == 0
    plain = pods.curl("default", pod, "http://my-httpbin.default.svc.cluster.local/headers")
    headers = json.loads(plain.out)["headers"]
    assert headers["Host"] == "my-httpbin.default.svc.cluster.local"
    assert not any(k.startswith("X-Envoy") for k in headers)  # no sidecar on the way
    ip = kubectl("get", "svc", "my-wikipedia", "-o", "jsonpath={.spec.clusterIP}").out
    page = pods.curl("default", pod, "--resolve", f"en.wikipedia.org:443:{ip}",
                     "https://en.wikipedia.org/wiki/Main_Page")
    assert "<title>Wikipedia, the free encyclopedia</title>" in page.out, page.err
    zt = kubectl("get", "pod", "-n", "istio-system", "-l", "app=ztunnel", "-o",
                 "jsonpath={.items[0].metadata.name}").out
    metrics = kubectl("get", "--raw", f"/api/v1/namespaces/istio-system/pods/{zt}:15020/proxy/metrics").out
    opened = [line for line in metrics.splitlines() if line.startswith("istio_tcp_connections_opened_total{")]
    assert len(opened) == 2, metrics
    passthrough = next(line for line in opened if 'destination_service="unknown"' in line)
    assert 'reporter="source",source_workload="curl",source_canonical_service="curl",' in passthrough
    assert 'source_workload_namespace="default"' in passthrough and passthrough.endswith(" 1")
    assert 'connection_security_policy="unknown"' in passthrough
    service = next(line for line in opened if 'destination_service="my-wikipedia.default.svc.cluster.local"' in line)
    assert 'destination_service_name="my-wikipedia",' in service
    sent = [line for line in metrics.splitlines() if line.startswith("istio_tcp_sent_bytes_total{")]
    assert all(int(line.rsplit(" ", 1)[1]) > 0 for line in sent)
    # a pod with a sidecar in an ambient namespace is not captured (and gets its sidecar's policy)
    kubectl("label", "namespace", "default", "istio-injection=enabled")
    side = pods.deploy("default", "sidecar-pod")
    assert pods.curl("default", side, "-o", "/dev/null", "-w", "%{http_code}", "http://example.com/").out == "502"
    assert pods.curl("default", pod, "-o", "/dev/null", "-w", "%{http_code}", "http://example.com/").out == "200"


EGRESS_WAYPOINT = """
apiVersion: v1
kind: Namespace
metadata: {name: istio-egress, labels: {istio.io/dataplane-mode: ambient}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: waypoint, namespace: istio-egress, labels: {istio.io/waypoint-for: service}}
spec:
  gatewayClassName: istio-waypoint
  listeners: [{name: mesh, port: 15008, protocol: HBONE}]
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: httpbin-org, namespace: istio-egress}
spec:
  hosts: [httpbin.org]
  ports: [{number: 80, name: http, protocol: HTTP%(target)s}]
  resolution: DNS
"""


def ztunnel_lines(kubectl, metric="istio_tcp_connections_opened_total"):
    zt = kubectl("get", "pod", "-n", "istio-system", "-l", "app=ztunnel", "-o",
                 "jsonpath={.items[0].metadata.name}").out
    text = kubectl("get", "--raw", f"/api/v1/namespaces/istio-system/pods/{zt}:15020/proxy/metrics").out
    return [line for line in text.splitlines() if line.startswith(metric + "{")]


def test_egress_through_a_waypoint(make_apiserver, pods, kubectl):
    """Istio's ambient egress guide on 1.28: a waypoint in istio-egress (what `istioctl waypoint
    apply --for service --enroll-namespace` writes), a ServiceEntry there; ztunnel's DNS proxy gives
    the host istiod's address, ztunnel sends the connection to the waypoint over HBONE, which
    originates TLS where a DestinationRule says so."""
    make_apiserver("1.28", ambient=True)
    pod = pods.deploy()
    pods.apply(EGRESS_WAYPOINT, target="")
    kubectl("label", "namespace", "istio-egress", "istio.io/use-waypoint=waypoint")
    assert kubectl("wait", "--for=condition=Programmed", "gateway/waypoint", "-n", "istio-egress",
                   "--timeout=20s").code == 0
    addresses = kubectl("get", "se", "httpbin-org", "-n", "istio-egress", "-o", "jsonpath={.status.addresses}").out
    assert json.loads(addresses) == [{"host": "httpbin.org", "value": "240.240.0.1"},
                                     {"host": "httpbin.org", "value": "2001:2::1"}]
    code = ["-o", "/dev/null", "-w", "%{http_code}", "http://httpbin.org/get"]
    assert pods.curl("default", pod, *code).out == "200"
    (via,) = ztunnel_lines(kubectl)
    assert 'destination_service="httpbin.org",destination_service_namespace="istio-egress",' \
           'destination_service_name="httpbin-org",destination_workload="waypoint",' in via
    assert 'source_principal="spiffe://cluster.local/ns/default/sa/default"' in via
    assert via.endswith('connection_security_policy="mutual_tls"} 1')
    # TLS origination at the waypoint: port 80 to the host's 443, with and without the rule
    pods.apply(EGRESS_WAYPOINT, target=", targetPort: 443")
    plain = pods.curl("default", pod, "http://httpbin.org/get")
    assert "400 The plain HTTP request was sent to HTTPS port" in plain.out
    pods.apply(RULE, name="httpbin-org-tls", ns="istio-egress", host="httpbin.org", mode="SIMPLE")
    assert pods.curl("default", pod, *code).out == "200"
    # the ServiceEntry opts out of the namespace's waypoint: ztunnel resolves the host itself
    kubectl("label", "se", "httpbin-org", "-n", "istio-egress", "istio.io/use-waypoint=none")
    assert "400 The plain HTTP request" in pods.curl("default", pod, "http://httpbin.org/get").out
    direct = [line for line in ztunnel_lines(kubectl) if 'destination_workload="unknown"' in line]
    assert direct and 'destination_service="httpbin.org"' in direct[0] and 'security_policy="unknown"' in direct[0]


def test_no_dns_capture_no_waypoint_for_external_hosts(make_apiserver, pods, kubectl):
    """1.24's defaults: no address allocation, no DNS capture, so the pod resolves the real address
    and ztunnel passes the connection through, past the waypoint."""
    make_apiserver("1.24", ambient=True)
    pod = pods.deploy()
    pods.apply(EGRESS_WAYPOINT, target="")
    kubectl("label", "namespace", "istio-egress", "istio.io/use-waypoint=waypoint")
    kubectl("wait", "--for=condition=Programmed", "gateway/waypoint", "-n", "istio-egress", "--timeout=20s")
    assert kubectl("get", "se", "-n", "istio-egress", "httpbin-org", "-o", "jsonpath={.status}").out == ""
    assert pods.curl("default", pod, "-o", "/dev/null", "-w", "%{http_code}", "http://httpbin.org/get").out == "200"
    (line,) = ztunnel_lines(kubectl)
    assert 'destination_service="unknown"' in line and 'destination_workload="unknown"' in line


@pytest.mark.parametrize("version", ["1.20", "1.28"])
def test_the_plugins_recipes_in_a_registry_only_mesh(make_apiserver, kubectl, version):
    """End to end through real `kubectl egress`: the recipes make the services reachable under
    REGISTRY_ONLY (1.20: the ExternalName is a registry entry; 1.28: the ServiceEntry, with a native
    sidecar); without the ServiceEntry the 1.28 sidecar answers 502 (or, were no HTTP service on
    port 80 left, resets the connection)."""
    make_apiserver(version, outbound_policy="REGISTRY_ONLY")
    http_service(kubectl)
    assert kubectl("egress", "externalname", "my-httpbin", "httpbin.org").code == 0
    assert kubectl("egress", "endpoints", "my-wikipedia", "198.35.26.96", "208.80.153.224", "--port", "443",
                   "--host", "en.wikipedia.org").code == 0
    res = kubectl("egress", "probe", "--deploy-sources", "--all-sources", "-o", "json", timeout=120)
    assert res.code == 0, res.out + res.err
    assert {(r["service"], r["result"], r["sidecar"]) for r in res.json()["items"]} == {
        ("my-httpbin", "OK", "yes"), ("my-httpbin", "OK", "no"), ("my-wikipedia", "OK", "yes"),
        ("my-wikipedia", "OK", "no")}
    if version == "1.28":
        kubectl("delete", "serviceentry", "my-httpbin")
        failing = kubectl("egress", "probe", "my-httpbin", "--all-sources", "-o", "json", timeout=120)
        rows = {r["source"].split("/")[0]: r for r in failing.json()["items"]}
        assert failing.code == 1 and (rows["default"]["result"], rows["default"]["code"]) == ("FAIL", "502")
        assert rows["without-istio"]["result"] == "OK"
