"""Istio's outbound capture in the local cluster (tests/apiserver/capture.py): who a pod's
processes run as (images.identity), and which of their connections istio-iptables' rules send to
the sidecar. The decision is tested on vectors transcribed from istio-iptables' golden files
(tools/istio-iptables/pkg/capture/testdata), then on real connections from real pods."""
from __future__ import annotations

import json

import pytest

from tests.apiserver import capture, images
from tests.apiserver.capture import Rules
from tests.netns import requires_pod_networks

# ip-range.golden: -u 3,4 -g 1,2, exclude 1.1.0.0/16, include 9.9.0.0/16:
#   -m owner --uid-owner 3|4 -j RETURN; --gid-owner 1|2 -j RETURN; -d 127.0.0.1/32 -j RETURN;
#   -d 1.1.0.0/16 -j RETURN; -d 9.9.0.0/16 -j ISTIO_REDIRECT; -j RETURN
IP_RANGE = Rules((3, 4), (1, 2), exclude_ranges=("1.1.0.0/16",), include_ranges=("9.9.0.0/16",))
# outbound-ports-exclude.golden: -o 22,80,443, the default user 1337, no include ranges given
PORTS_EXCLUDE = Rules(exclude_ports=(22, 80, 443), include_ranges=())
# outbound-ports-include.golden: -q 32000,31000 and no include ranges: only those ports go to Envoy
PORTS_INCLUDE = Rules(include_ports=(32000, 31000), include_ranges=())
DEFAULT = Rules()  # the injection template's defaults: -u 1337, -i "*", -x ""

DECISIONS = [
    (IP_RANGE, 3, 0, "9.9.1.1", 80, False),
    (IP_RANGE, 4, 0, "9.9.1.1", 80, False),
    (IP_RANGE, 100, 2, "9.9.1.1", 80, False),
    (IP_RANGE, 100, 100, "9.9.1.1", 80, True),
    (IP_RANGE, 100, 100, "1.1.2.3", 80, False),
    (IP_RANGE, 100, 100, "8.8.8.8", 80, False),  # falls off the chain
    (IP_RANGE, 100, 100, "127.0.0.1", 80, False),
    (PORTS_EXCLUDE, 100, 100, "8.8.8.8", 443, False),
    (PORTS_EXCLUDE, 100, 100, "8.8.8.8", 8443, False),  # no include ranges either
    (PORTS_INCLUDE, 100, 100, "8.8.8.8", 32000, True),
    (PORTS_INCLUDE, 100, 100, "8.8.8.8", 443, False),
    (PORTS_INCLUDE, 1337, 1337, "8.8.8.8", 32000, False),  # the owner rules come first
    (DEFAULT, 1337, 101, "198.35.26.96", 443, False),
    (DEFAULT, 100, 1337, "198.35.26.96", 443, False),
    (DEFAULT, 100, 101, "198.35.26.96", 443, True),
    (DEFAULT, 0, 0, "2001:db8::1", 443, True),
    (DEFAULT, None, None, "198.35.26.96", 443, True),  # an owner not found is nobody exempt
]


@pytest.mark.parametrize("rules,uid,gid,ip,port,expected", DECISIONS)
def test_which_connections_the_rules_capture(rules, uid, gid, ip, port, expected):
    assert capture.captured(rules, uid, gid, ip, port) is expected


def _pod(init_args=None, annotations=None, proxy_sc=None) -> dict:
    spec: dict = {"containers": [{"name": "app", "image": "app"},
                                 {"name": "istio-proxy", "image": "proxyv2", "securityContext": proxy_sc or {}}]}
    if init_args is not None:
        spec["initContainers"] = [{"name": "istio-init", "args": init_args}]
    return {"metadata": {"annotations": annotations or {}}, "spec": spec}


TEMPLATE = ["istio-iptables", "-p", "15001", "-z", "15006", "-u", "1337", "-m", "REDIRECT", "-i", "*", "-x", "",
            "-b", "*", "-d", "15090,15021,15020"]
RULES = [
    ("istio-init, template defaults", _pod(TEMPLATE), Rules()),
    ("istio-init, annotations rendered", _pod(TEMPLATE[:10] + ["10.0.0.0/8,fd00::/8", "-x", "10.96.0.0/12", "-b", "*",
                                                               "-o", "443, 8443", "-q", "9000"]),
     Rules(exclude_ports=(443, 8443), include_ports=(9000,), exclude_ranges=("10.96.0.0/12",),
           include_ranges=("10.0.0.0/8", "fd00::/8"))),
    ("istio-init, -g given", _pod(["-u", "1337", "-g", "1338"]), Rules((1337,), (1338,))),
    ("istio-init, a range that does not parse is skipped", _pod(["-i", "*", "-x", "10.0.0.0/8,nonsense"]),
     Rules(exclude_ranges=("10.0.0.0/8",))),
    # Istio CNI (sidecar_redirect.go NewRedirect): annotations, the status port excluded, the proxy's user
    ("CNI, defaults", _pod(), Rules(exclude_ports=(15020,))),
    ("CNI, annotations and the proxy's user",
     _pod(annotations={"traffic.sidecar.istio.io/excludeOutboundPorts": "80",
                       "traffic.sidecar.istio.io/includeOutboundIPRanges": "10.96.0.0/12"},
          proxy_sc={"runAsUser": 1000650000, "runAsGroup": 1000650000}),
     Rules((1000650000,), (1000650000,), exclude_ports=(80,), include_ranges=("10.96.0.0/12",))),
]


@pytest.mark.parametrize("name,pod,expected", RULES, ids=[r[0] for r in RULES])
def test_rules_of_a_pod(name, pod, expected):
    assert capture.rules_of(pod) == expected


def test_proc_net_tcp_addresses():
    # /proc/net/tcp prints each 32-bit word little-endian, the port big-endian
    assert capture._hex_address("0100007F:1F90") == ("127.0.0.1", 8080)
    assert capture._hex_address("0000000000000000FFFF00000100007F:0050") == ("127.0.0.1", 80)
    assert capture._hex_address("B80D0120000000000000000001000000:01BB") == ("2001:db8::1", 443)


IDENTITIES = [
    # (image, container securityContext, pod securityContext, uid, gid, groups)
    ("curlimages/curl", {}, {}, 100, 101, ()),  # USER curl_user, from the image's /etc/passwd
    ("curlimages/curl", {"runAsUser": 1337}, {}, 1337, 0, ()),  # a uid /etc/passwd lacks: gid 0
    ("curlimages/curl", {"runAsUser": 100}, {"runAsGroup": 1337}, 100, 1337, ()),
    ("curlimages/curl", {}, {"runAsUser": 65534, "fsGroup": 2000, "supplementalGroups": [3000]}, 65534, 65534,
     (3000, 2000)),
    ("busybox", {}, {}, 0, 0, ()),
    ("gcr.io/distroless/static:nonroot", {}, {}, 65532, 65532, ()),
    ("gcr.io/distroless/static", {"runAsUser": 65532}, {}, 65532, 65532, ()),
    ("nginx:1.27", {"runAsUser": 101, "runAsGroup": 101}, {}, 101, 101, ()),
    ("nginx:1.27", {}, {}, 0, 0, ()),  # outside the catalogue: root unless the context says
]


@pytest.mark.parametrize("image,sc,pod_sc,uid,gid,groups", IDENTITIES)
def test_who_a_container_runs_as(image, sc, pod_sc, uid, gid, groups):
    container = {"name": "c", "image": image, "securityContext": sc}
    pod = {"spec": {"securityContext": pod_sc, "containers": [container]}}
    assert images.identity(images.lookup(image), container, pod) == images.Identity(uid, gid, groups)


# -- real connections from real pods ---------------------------------------------------------------
PODS = """
apiVersion: v1
kind: Service
metadata: {name: my-httpbin, namespace: default}
spec:
  type: ExternalName
  externalName: httpbin.org
  ports: [{name: http, port: 80}]
---
apiVersion: networking.istio.io/v1beta1
kind: DestinationRule
metadata: {name: my-httpbin, namespace: default}
spec:
  host: my-httpbin.default.svc.cluster.local
  trafficPolicy: {tls: {mode: DISABLE}}
---
apiVersion: v1
kind: Pod
metadata: {name: users, namespace: default}
spec:
  containers:
  - {name: app, image: curlimages/curl, command: [sleep, "3600"]}
  - {name: as-proxy, image: curlimages/curl, command: [sleep, "3600"], securityContext: {runAsUser: 1337}}
  - name: proxy-group
    image: curlimages/curl
    command: [sleep, "3600"]
    securityContext: {runAsUser: 2000, runAsGroup: 1337}
---
apiVersion: v1
kind: Pod
metadata:
  name: excluded
  namespace: default
  annotations: {traffic.sidecar.istio.io/excludeOutboundPorts: "80"}
spec:
  containers: [{name: app, image: curlimages/curl, command: [sleep, "3600"]}]
---
apiVersion: v1
kind: Pod
metadata:
  name: included
  namespace: default
  annotations: {traffic.sidecar.istio.io/includeOutboundIPRanges: "10.96.0.0/12"}
spec:
  containers: [{name: app, image: curlimages/curl, command: [sleep, "3600"]}]
"""
URL = "http://my-httpbin.default.svc.cluster.local/headers"


@pytest.fixture(scope="module")
def cluster(ca, tmp_path_factory):
    from tests.apiserver import LocalAPIServer
    from tests.conftest import run_kubectl
    tmp = tmp_path_factory.mktemp("capture")
    with LocalAPIServer(tmp / "kubeconfig", istio="1.20", ca=ca) as srv:
        env = {"KUBECONFIG": str(srv.kubeconfig_path), "KUBECACHEDIR": str(tmp / "cache")}

        def kubectl(*args, **kwargs):
            return run_kubectl(*args, env=env, **kwargs)

        applied = kubectl("apply", "-f", "-", input=PODS)
        assert applied.code == 0, applied.err
        waited = kubectl("wait", "--for=condition=Ready", "pod/users", "pod/excluded", "pod/included",
                         "--timeout=30s")
        assert waited.code == 0, waited.err
        yield kubectl


def through_sidecar(kubectl, pod: str, container: str = "app") -> bool:
    """Did the sidecar carry a request? Its headers reach httpbin's /headers echo."""
    res = kubectl("exec", pod, "-c", container, "--", "curl", "-sS", URL)
    assert res.code == 0, res.err
    return "X-Envoy-Decorator-Operation" in json.loads(res.out)["headers"]


@requires_pod_networks
def test_processes_run_as_their_containers_user(cluster):
    kubectl = cluster
    ids = {c: kubectl("exec", "users", "-c", c, "--", "id", "-u").out.strip() + ":" +
           kubectl("exec", "users", "-c", c, "--", "id", "-g").out.strip()
           for c in ("app", "as-proxy", "proxy-group")}
    assert ids == {"app": "100:101", "as-proxy": "1337:0", "proxy-group": "2000:1337"}


@requires_pod_networks
def test_the_proxys_uid_and_gid_bypass_the_sidecar(cluster):
    kubectl = cluster
    assert through_sidecar(kubectl, "users", "app")
    assert not through_sidecar(kubectl, "users", "as-proxy")  # --uid-owner 1337 -j RETURN
    assert not through_sidecar(kubectl, "users", "proxy-group")  # --gid-owner 1337 -j RETURN


@requires_pod_networks
def test_excluded_ports_and_ranges_bypass_the_sidecar(cluster):
    kubectl = cluster
    init = json.loads(kubectl("get", "pod", "excluded", "-o", "jsonpath={.spec.initContainers[0].args}").out)
    assert init[init.index("-o") + 1] == "80"  # the template renders the annotation into istio-init's args
    assert not through_sidecar(kubectl, "excluded")
    # only the service range is captured: httpbin.org's address (an ExternalName's target) is not
    assert not through_sidecar(kubectl, "included")
