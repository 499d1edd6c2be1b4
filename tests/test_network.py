"""The local cluster's pods: exec over WebSocket, a network where every reachable address is local,
cluster DNS, kube-proxy, the emulated internet and the emulated Istio sidecar."""
import json
import os

import pytest

from tests.conftest import serviceaccount_kubeconfig
from tests.netns import requires_pod_networks

pytestmark = requires_pod_networks

SOURCES = """
apiVersion: v1
kind: Namespace
metadata: {name: without-istio}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: curl, namespace: default}
spec:
  selector: {matchLabels: {app: curl}}
  template:
    metadata: {labels: {app: curl}}
    spec:
      containers: [{name: curl, image: curlimages/curl, command: ["/bin/sleep", "infinity"]}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: curl, namespace: without-istio}
spec:
  selector: {matchLabels: {app: curl}}
  template:
    metadata: {labels: {app: curl}}
    spec:
      containers: [{name: curl, image: curlimages/curl, command: ["/bin/sleep", "infinity"]}]
"""


@pytest.fixture
def pods(apiserver, kubectl):
    """The seed's two source pods: default (sidecar injected) and without-istio (none)."""
    assert kubectl("apply", "-f", "-", input=SOURCES).code == 0
    for ns in ("default", "without-istio"):
        waited = kubectl("wait", "--for=condition=Ready", "pod", "-l", "app=curl", "-n", ns, "--timeout=30s")
        assert waited.code == 0, waited.err

    def name(ns):
        return kubectl("get", "pod", "-l", "app=curl", "-n", ns, "-o", "jsonpath={.items[0].metadata.name}").out

    mesh, plain = name("default"), name("without-istio")

    def exec_in(where, *command):
        ns, pod = ("default", mesh) if where == "mesh" else ("without-istio", plain)
        return kubectl("exec", "-n", ns, pod, "-c", "curl", "--", *command)

    return exec_in


def test_injection_and_readiness(pods, kubectl):
    mesh = json.loads(kubectl("get", "pod", "-l", "app=curl", "-o", "json").out)["items"][0]
    assert [c["name"] for c in mesh["spec"]["containers"]] == ["curl", "istio-proxy"]
    assert [c["name"] for c in mesh["spec"]["initContainers"]] == ["istio-init"]
    assert mesh["metadata"]["labels"]["security.istio.io/tlsMode"] == "istio"
    plain = json.loads(kubectl("get", "pod", "-n", "without-istio", "-o", "json").out)["items"][0]
    assert [c["name"] for c in plain["spec"]["containers"]] == ["curl"]
    table = kubectl("get", "pods", "-A").out
    assert "2/2     Running" in table and "1/1     Running" in table


def test_exec_works_when_the_server_holds_more_than_1024_descriptors(pods):
    """A server with many pods holds thousands of sockets; exec must not depend on select(),
    which refuses descriptors numbered 1024 and above."""
    held = [os.open(os.devnull, os.O_RDONLY) for _ in range(1100)]
    try:
        res = pods("plain", "sh", "-c", "echo out; echo err >&2")
        assert (res.code, res.out) == (0, "out\n") and "err" in res.err
    finally:
        for fd in held:
            os.close(fd)


def test_exec_exit_codes_and_streams(pods):
    res = pods("plain", "sh", "-c", "echo out; echo err >&2; exit 3")
    assert (res.code, res.out) == (3, "out\n")
    assert "err" in res.err and "command terminated with exit code 3" in res.err
    assert pods("plain", "true").code == 0


def test_exec_with_stdin(pods, kubectl, apiserver):
    pod = kubectl("get", "pod", "-n", "without-istio", "-o", "jsonpath={.items[0].metadata.name}").out
    res = kubectl("exec", "-i", "-n", "without-istio", pod, "-c", "curl", "--", "cat", input="hello\n")
    assert res.out == "hello\n"


def test_exec_errors(pods, kubectl, apiserver, tmp_path):
    pod = kubectl("get", "pod", "-o", "jsonpath={.items[0].metadata.name}").out
    res = kubectl("exec", pod, "-c", "nope", "--", "true")
    assert res.code == 1 and "container nope is not valid for pod" in res.err
    # Kubernetes 1.33 authorizes kubectl's WebSocket exec (a GET) as `get` on pods/exec, so a
    # user who may read everything may exec (kubernetes#133515; the create check is 1.35's)
    assert kubectl("--context", "local-readonly", "exec", pod, "-c", "curl", "--", "true").code == 0
    nobody = serviceaccount_kubeconfig(apiserver, tmp_path / "sa")
    res = kubectl("--kubeconfig", str(nobody), "--context", "sa", "exec", pod, "-c", "curl", "--", "true")
    # kubectl reads the pod before it execs: that is the first thing refused
    assert res.code == 1 and ('User "system:serviceaccount:default:nobody" cannot get resource "pods" in '
                              'API group "" in the namespace "default"') in res.err


def test_a_pod_reaches_nothing_off_this_machine(pods):
    res = pods("plain", "curl", "-sS", "--max-time", "3", "http://1.1.1.1/")
    assert res.code == 7 and "Couldn't connect" in res.err
    res = pods("plain", "curl", "-sS", "--max-time", "3", "http://www.google.com/")
    assert res.code == 6  # only the cluster's names resolve


def test_cluster_dns_and_the_emulated_internet(pods):
    res = pods("plain", "curl", "-sS", "http://httpbin.org/headers")
    assert json.loads(res.out)["headers"]["Host"] == "httpbin.org"
    page = pods("plain", "curl", "-sS", "https://en.wikipedia.org/wiki/Main_Page")
    assert "<title>Wikipedia, the free encyclopedia</title>" in page.out  # the pods trust the cluster CA
    assert pods("plain", "getent", "hosts", "kubernetes.default.svc.cluster.local").out.startswith("10.96.0.1 ")


def test_seed_recipe_1_without_and_with_sidecar(pods, egress):
    assert egress("externalname", "my-httpbin", "httpbin.org").code == 0
    plain = json.loads(pods("plain", "curl", "-sS", "my-httpbin.default.svc.cluster.local/headers").out)["headers"]
    assert plain["Host"] == "my-httpbin.default.svc.cluster.local"
    assert not any(k.startswith("X-Envoy") for k in plain)
    mesh = json.loads(pods("mesh", "curl", "-sS", "my-httpbin.default.svc.cluster.local/headers").out)["headers"]
    assert mesh["Host"] == "my-httpbin.default.svc.cluster.local"
    assert mesh["X-Envoy-Decorator-Operation"] == "my-httpbin.default.svc.cluster.local:80/*"
    assert mesh["X-Envoy-Peer-Metadata-Id"].startswith("sidecar~10.244.")
    assert "X-B3-Traceid" in mesh  # Istio 1.20 still traces to zipkin


def test_seed_recipe_2_without_and_with_sidecar(pods, egress, kubectl):
    assert egress("endpoints", "my-wikipedia", "198.35.26.96", "208.80.153.224", "--port", "443",
                  "--api", "endpoints").code == 0
    ip = kubectl("get", "svc", "my-wikipedia", "-o", "jsonpath={.spec.clusterIP}").out
    for where in ("plain", "mesh"):
        res = pods(where, "curl", "-sSv", "--resolve", f"en.wikipedia.org:443:{ip}",
                   "https://en.wikipedia.org/wiki/Main_Page")
        assert "<title>Wikipedia, the free encyclopedia</title>" in res.out, (where, res.err)
        assert f"Connected to en.wikipedia.org ({ip}) port 443" in res.err


def test_mesh_wide_mtls_breaks_external_hosts_without_a_rule(pods, egress, kubectl):
    egress("externalname", "my-httpbin", "httpbin.org", "--tls-mode", "none")
    egress("endpoints", "my-wikipedia", "198.35.26.96", "--port", "443", "--tls-mode", "none")
    res = pods("mesh", "curl", "-sS", "-i", "my-httpbin.default.svc.cluster.local/headers")
    assert res.out.startswith("HTTP/1.1 503 Service Unavailable")
    assert "server: envoy" in res.out
    assert res.out.endswith("upstream connect error or disconnect/reset before headers. reset reason: "
                            "connection termination")
    ip = kubectl("get", "svc", "my-wikipedia", "-o", "jsonpath={.spec.clusterIP}").out
    tls = pods("mesh", "curl", "-sS", "--resolve", f"en.wikipedia.org:443:{ip}", "https://en.wikipedia.org/")
    assert tls.code == 35 and "reset" in tls.err.lower()
    assert pods("plain", "curl", "-sS", "my-httpbin.default.svc.cluster.local/headers").code == 0


def test_sidecar_metrics(pods, egress):
    egress("externalname", "my-httpbin", "httpbin.org")
    pods("mesh", "curl", "-s", "my-httpbin.default.svc.cluster.local/headers")
    stats = pods("mesh", "curl", "-s", "localhost:15000/stats?filter=istio_requests").out
    assert "destination_service=.=my-httpbin.default.svc.cluster.local;.;" in stats
    assert stats.strip().endswith("_istio_requests_total: 1")
    assert pods("plain", "curl", "-s", "localhost:15000/stats").code == 7  # no sidecar, no admin port


def test_protocol_mixups_answer_as_real_servers_do(pods):
    plain_to_tls = pods("plain", "curl", "-sS", "http://en.wikipedia.org:443/")
    assert "400 The plain HTTP request was sent to HTTPS port" in plain_to_tls.out
    tls_to_plain = pods("plain", "curl", "-sS", "https://httpbin.org:80/")
    assert tls_to_plain.code == 35 and "wrong version number" in tls_to_plain.err
