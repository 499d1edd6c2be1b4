"""The promises the README makes, each stated as a user would and checked against the local
cluster: kubectl egress never touches what it did not make, a failure leaves the cluster as it
was found, and a check passes only when curl fetched the whole answer."""
import copy
import json
import threading
import time

import pytest

from kubectl_egress import probe
from tests.netns import requires_pod_networks
from tests.test_commands import get_json

# -- Never touches what it did not make -------------------------------------------------------

# What a user writes by hand next to the egress services: a rule and an entry of their own,
# an extra EndpointSlice for the managed Service my-svc, their own Endpoints; and in namespace
# `other`, objects with the managed service's very name.
HAND_MADE = """
apiVersion: v1
kind: Namespace
metadata: {name: other}
---
apiVersion: networking.istio.io/v1beta1
kind: DestinationRule
metadata: {name: hand-dr, namespace: default, labels: {team: payments}}
spec: {host: api.example.com, trafficPolicy: {tls: {mode: SIMPLE}}}
---
apiVersion: networking.istio.io/v1beta1
kind: ServiceEntry
metadata: {name: hand-se, namespace: default}
spec:
  hosts: [api.example.com]
  location: MESH_EXTERNAL
  resolution: DNS
  ports: [{number: 443, name: tls, protocol: TLS}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: my-svc-hand
  namespace: default
  labels: {kubernetes.io/service-name: my-svc, endpointslice.kubernetes.io/managed-by: staff}
addressType: IPv4
endpoints: [{addresses: [192.0.2.77]}]
ports: [{name: tls, port: 443, protocol: TCP}]
---
apiVersion: v1
kind: Endpoints
metadata: {name: hand-ep, namespace: default}
subsets: [{addresses: [{ip: 192.0.2.10}], ports: [{name: tls, port: 443, protocol: TCP}]}]
---
apiVersion: networking.istio.io/v1beta1
kind: DestinationRule
metadata: {name: my-svc, namespace: other}
spec: {host: my-svc.other.svc.cluster.local, trafficPolicy: {tls: {mode: DISABLE}}}
---
apiVersion: networking.istio.io/v1beta1
kind: ServiceEntry
metadata: {name: my-svc, namespace: other}
spec: {hosts: [httpbin.org], location: MESH_EXTERNAL, resolution: DNS, ports: [{number: 80, name: http, protocol: HTTP}]}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: my-svc-ipv4
  namespace: other
  labels: {kubernetes.io/service-name: my-svc, endpointslice.kubernetes.io/managed-by: staff}
addressType: IPv4
endpoints: [{addresses: [192.0.2.1]}]
ports: [{name: tls, port: 443, protocol: TCP}]
---
apiVersion: v1
kind: Endpoints
metadata: {name: my-svc, namespace: other}
subsets: [{addresses: [{ip: 192.0.2.1}], ports: [{name: tls, port: 443, protocol: TCP}]}]
"""
ISTIO = "/apis/networking.istio.io/v1beta1/namespaces/"
HAND_MADE_PATHS = [
    ISTIO + "default/destinationrules/hand-dr",
    ISTIO + "default/serviceentries/hand-se",
    "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices/my-svc-hand",
    "/api/v1/namespaces/default/endpoints/hand-ep",
    ISTIO + "other/destinationrules/my-svc",
    ISTIO + "other/serviceentries/my-svc",
    "/apis/discovery.k8s.io/v1/namespaces/other/endpointslices/my-svc-ipv4",
    "/api/v1/namespaces/other/endpoints/my-svc",
]


def versions(srv) -> dict[str, str]:
    """Each hand-made object's resourceVersion: any write to it, or its deletion, changes it."""
    objs = {path: get_json(srv, path) for path in HAND_MADE_PATHS}
    return {path: obj["metadata"]["resourceVersion"] if obj else "deleted" for path, obj in objs.items()}


@pytest.fixture(params=["1.20", "1.24"])
def cluster(request, kubectl):
    """A cluster of either Istio mode, with the user's own objects applied by kubectl."""
    srv = request.getfixturevalue("apiserver" if request.param == "1.20" else "apiserver_124")
    res = kubectl("apply", "-f", "-", input=HAND_MADE)
    assert res.code == 0, res.err
    return srv


# Every recipe, run again, and switched from one kind of service to another: each run that
# changes something prunes what the service no longer needs, and must prune only that.
RECIPE_RUNS = [
    ["externalname", "my-svc", "httpbin.org"],
    ["externalname", "my-svc", "httpbin.org"],
    ["externalname", "my-svc", "httpbin.org", "--port", "8080"],
    ["endpoints", "my-svc", "192.0.2.1", "--port", "443", "--protocol", "tls"],
    ["endpoints", "my-svc", "192.0.2.1", "--port", "443", "--protocol", "tls"],
    ["endpoints", "my-svc", "192.0.2.1", "192.0.2.2", "--port", "443", "--protocol", "tls"],
    ["endpoints", "my-svc", "192.0.2.1", "--port", "443", "--protocol", "tls", "--api", "endpoints"],
    ["endpoints", "my-svc", "192.0.2.1", "--port", "443", "--protocol", "tls", "--api", "endpoints"],
    ["endpoints", "my-svc", "192.0.2.1", "--port", "443", "--protocol", "tls", "--api", "endpoints",
     "--tls-mode", "none"],
    ["endpoints", "my-svc", "192.0.2.1", "--port", "443", "--protocol", "tls"],
    ["externalname", "my-svc", "httpbin.org", "--tls-mode", "SIMPLE"],
    ["externalname", "my-svc", "httpbin.org", "--istio-mode", "none"],
    ["externalname", "my-svc", "httpbin.org"],
]


def test_hand_made_objects_survive_every_recipe_run(cluster, egress):
    before = versions(cluster)
    assert "deleted" not in before.values()
    for args in RECIPE_RUNS:
        res = egress(*args)
        assert res.code == 0, (args, res.err)
        assert versions(cluster) == before, args
    # the runs did prune: the managed slices and Endpoints of my-svc are gone, the hand-made slice stays
    assert get_json(cluster, "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices/my-svc-ipv4") is None
    assert get_json(cluster, "/api/v1/namespaces/default/endpoints/my-svc") is None


def test_hand_made_objects_survive_clean_name_clean_and_clean_all(cluster, egress, kubectl):
    for args in (["externalname", "my-svc", "httpbin.org"],
                 ["endpoints", "my-wiki", "198.35.26.96", "--port", "443", "--host", "en.wikipedia.org"],
                 ["endpoints", "my-legacy", "192.0.2.5", "--port", "443", "--api", "endpoints"],
                 ["externalname", "away", "example.com", "-n", "other"]):
        assert egress(*args).code == 0, args
    before = versions(cluster)

    named = egress("clean", "my-svc")
    assert named.code == 0, named.err
    assert all('"my-svc" deleted' in line for line in named.lines), named.out
    assert versions(cluster) == before

    here = egress("clean")
    assert here.code == 0, here.err
    assert {line.split('"')[1] for line in here.lines} == {"my-wiki", "my-wiki-ipv4", "my-legacy"}
    assert versions(cluster) == before

    everywhere = egress("clean", "-A")
    assert everywhere.code == 0, everywhere.err
    assert {line.split('"')[1] for line in everywhere.lines} == {"away"}
    assert versions(cluster) == before
    # and as the user sees it through kubectl: only their own objects are left
    left = kubectl("get", "destinationrules,serviceentries,endpointslices,endpoints", "-A", "-o", "name",
                   "-l", "app.kubernetes.io/managed-by=kubectl-egress")
    assert (left.code, left.out) == (0, "")


# -- All or nothing: a failure after a prune puts the pruned objects back --------------------

SVC = "/api/v1/namespaces/default/services/"
SERVER_SET = ("uid", "resourceVersion", "creationTimestamp", "generation", "managedFields")


def content(obj: dict) -> dict:
    """An object as its author wrote it: without what the server sets on every write."""
    out = copy.deepcopy(obj)
    for key in SERVER_SET:
        out["metadata"].pop(key, None)
    return out


TEAM = "/apis/discovery.k8s.io/v1/namespaces/team/endpointslices/"
TEAM_SVC = "/api/v1/namespaces/team/services/"
TEAM_RULE = ISTIO + "team/destinationrules/"


def test_a_fault_after_a_prune_restores_every_change_with_its_content(apiserver, egress, kubectl):
    """Service and rule configured, one slice pruned, then the second prune fails: all three come back."""
    assert kubectl("create", "namespace", "team").code == 0
    made = egress("endpoints", "my-wiki", "198.35.26.96", "2001:db8::1", "--port", "443",
                  "--host", "en.wikipedia.org", "-n", "team")
    assert made.code == 0, made.err
    service, rule = get_json(apiserver, TEAM_SVC + "my-wiki"), get_json(apiserver, TEAM_RULE + "my-wiki")
    slices = [get_json(apiserver, TEAM + f"my-wiki-ipv{v}") for v in (4, 6)]
    apiserver.fault(method="DELETE", path="/endpointslices/my-wiki-ipv6$", status=500, reason="InternalError",
                    message="Internal error occurred: etcd is down", times=1)
    apiserver.clear_requests()
    res = egress("externalname", "my-wiki", "en.wikipedia.org", "--port", "443", "--protocol", "tls",
                 "--tls-mode", "SIMPLE", "-n", "team")
    assert (res.code, res.err) == (1, "Error from server (InternalError): Internal error occurred: etcd is down\n")
    writes = [(r["method"], r["path"].split("?")[0].rsplit("/", 2)[-2:]) for r in apiserver.writes()]
    assert writes[:4] == [("PUT", ["services", "my-wiki"]), ("PUT", ["destinationrules", "my-wiki"]),
                          ("DELETE", ["endpointslices", "my-wiki-ipv4"]),
                          ("DELETE", ["endpointslices", "my-wiki-ipv6"])]
    for old in slices:
        now = get_json(apiserver, TEAM + old["metadata"]["name"])
        assert now is not None, f'{old["metadata"]["name"]} was pruned and not put back'
        assert content(now) == content(old)
    assert content(get_json(apiserver, TEAM_RULE + "my-wiki")) == content(rule)
    restored = get_json(apiserver, TEAM_SVC + "my-wiki")
    assert content(restored)["spec"] == content(service)["spec"]
    assert restored["metadata"]["annotations"] == service["metadata"]["annotations"]


def test_a_fault_after_pruning_a_rule_restores_it_with_its_content(apiserver_124, egress):
    srv = apiserver_124
    assert egress("externalname", "my-httpbin", "httpbin.org", "--tls-mode", "SIMPLE").code == 0
    rule = get_json(srv, ISTIO + "default/destinationrules/my-httpbin")
    entry = get_json(srv, ISTIO + "default/serviceentries/my-httpbin")
    # without Istio objects: the rule is pruned first, then the ServiceEntry, whose delete fails
    srv.fault(method="DELETE", path="/serviceentries/my-httpbin$", status=503, reason="ServiceUnavailable",
              message="the server is currently unable to handle the request", times=1)
    res = egress("externalname", "my-httpbin", "httpbin.org", "--istio-mode", "none")
    assert res.code == 1
    assert "ServiceUnavailable" in res.err
    now = get_json(srv, ISTIO + "default/destinationrules/my-httpbin")
    assert now is not None, "the pruned DestinationRule was not put back"
    assert content(now) == content(rule)
    assert content(get_json(srv, ISTIO + "default/serviceentries/my-httpbin")) == content(entry)


def test_when_undoing_fails_too_the_error_says_what_was_left(apiserver, egress):
    apiserver.fault(method="POST", path="/destinationrules$", status=500, reason="InternalError",
                    message="Internal error occurred: etcd is down", times=1)
    apiserver.fault(method="DELETE", path="/(endpointslices/x-ipv4|services/x)$", status=503,
                    reason="ServiceUnavailable", message="the server is currently unable to handle the request",
                    times=2)
    res = egress("endpoints", "x", "192.0.2.1", "--port", "443")
    assert res.code == 1
    assert res.err == (
        "Error from server (InternalError): Internal error occurred: etcd is down (and undoing the earlier "
        "changes failed: endpointslice.discovery.k8s.io/x-ipv4: the server is currently unable to handle the "
        "request; service/x: the server is currently unable to handle the request; run kubectl egress clean "
        "to remove what was left)\n")
    cleaned = egress("clean", "x")
    assert cleaned.lines == ['endpointslice.discovery.k8s.io "x-ipv4" deleted', 'service "x" deleted']


def test_undo_never_deletes_what_someone_made_in_the_meantime(apiserver, egress):
    """The Service made a moment before is replaced by hand while the rule's write hangs, then
    fails: the undo's delete names the uid it made, so the hand-made Service stays."""
    apiserver.fault(method="POST", path="/destinationrules$", status=500, reason="InternalError",
                    message="Internal error occurred: etcd is down", delay=2, times=1)
    result = {}
    worker = threading.Thread(target=lambda: result.update(res=egress("externalname", "x", "httpbin.org")))
    worker.start()
    deadline = time.monotonic() + 10
    while get_json(apiserver, SVC + "x") is None and time.monotonic() < deadline:
        time.sleep(0.05)
    status, _, _ = apiserver.request("DELETE", SVC + "x")
    assert status == 200
    theirs = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "x", "labels": {"team": "a"}},
              "spec": {"ports": [{"port": 80}]}}
    status, _, made = apiserver.request("POST", SVC, theirs)
    assert status == 201
    worker.join(timeout=30)
    res = result["res"]
    assert res.code == 1
    assert "(and undoing the earlier changes failed: service/x: " in res.err
    assert "Precondition failed: UID in precondition" in res.err
    assert get_json(apiserver, SVC + "x")["metadata"]["uid"] == made["metadata"]["uid"]


# -- A check passes only when curl fetched the whole answer -------------------------------------

# curl's exit codes (curl include/curl/curl.h, CURLcode; everything.curl.dev/cmdline/exitcode):
# 18 CURLE_PARTIAL_FILE (the body ended before its Content-Length), 28 CURLE_OPERATION_TIMEDOUT
# (--max-time ran out mid-body), 56 CURLE_RECV_ERROR (the connection was reset while receiving).
# Each can follow an HTTP 200 status line: the status was good, the transfer was not.
HTTP_CHECK = probe.Check("0", "my-httpbin", "default", "http://my-httpbin.default.svc.cluster.local/headers")
TLS_CHECK = probe.Check("1", "my-wikipedia", "default", "https://en.wikipedia.org/", tls=True)
TCP_CHECK = probe.Check("2", "my-db", "default", "telnet://my-db.default.svc.cluster.local:5432")

VERDICTS = [
    # (check, curl's exit, HTTP status, remote, error, OK?)
    (HTTP_CHECK, 0, 200, "203.0.113.80:80", "", True),
    (HTTP_CHECK, 0, 204, "203.0.113.80:80", "", True),
    (TLS_CHECK, 0, 301, "198.35.26.96:443", "", True),
    (HTTP_CHECK, 0, 399, "203.0.113.80:80", "", True),
    (HTTP_CHECK, 18, 200, "203.0.113.80:80", "curl: (18) transfer closed with 1008 bytes remaining to read", False),
    (HTTP_CHECK, 28, 200, "203.0.113.80:80", "curl: (28) Operation timed out after 1001 milliseconds with "
                                             "16 out of 1024 bytes received", False),
    (HTTP_CHECK, 56, 200, "203.0.113.80:80", "curl: (56) Recv failure: Connection reset by peer", False),
    (TLS_CHECK, 18, 200, "198.35.26.96:443", "curl: (18) transfer closed with outstanding read data remaining",
     False),
    (TLS_CHECK, 56, 200, "198.35.26.96:443", "curl: (56) OpenSSL SSL_read: unexpected eof while reading", False),
    (HTTP_CHECK, 0, 400, "203.0.113.80:80", "", False),
    (HTTP_CHECK, 0, 404, "203.0.113.80:80", "", False),
    (HTTP_CHECK, 0, 503, "203.0.113.80:80", "", False),
    (HTTP_CHECK, 0, 199, "203.0.113.80:80", "", False),
    (HTTP_CHECK, 0, 0, "", "", False),
    (HTTP_CHECK, 7, 0, "", "curl: (7) Failed to connect", False),
    # a TCP port: connecting is the check; telnet never ends by itself, so a timeout after
    # connecting passes, a refusal or no connection fails
    (TCP_CHECK, 28, 0, "10.96.0.7:5432", "curl: (28) Operation timed out", True),
    (TCP_CHECK, 0, 0, "10.96.0.7:5432", "", True),
    (TCP_CHECK, 28, 0, "", "curl: (28) Connection timed out", False),
    (TCP_CHECK, 7, 0, "10.96.0.7:5432", "curl: (7) Failed to connect: Connection refused", False),
    (TCP_CHECK, 28, 0, "10.96.0.7:5432", "Connection refused", False),
    (TCP_CHECK, 56, 0, "10.96.0.7:5432", "curl: (56) Recv failure: Connection reset by peer", False),
]


@pytest.mark.parametrize("check, exit_code, code, remote, error, passed", VERDICTS,
                         ids=[f"{c.url.split(':')[0]}-exit{e}-{s}" for c, e, s, *_ in VERDICTS])
def test_ok_only_when_curl_fetched_the_whole_answer(check, exit_code, code, remote, error, passed):
    outcome = probe.Outcome(exit=exit_code, code=code, remote=remote, error=error, ran=True)
    assert probe.ok(outcome, check) is passed


# The same through real curl in a pod: hosts of the emulated internet that answer 200 and then
# fail the body. One probe covers the three; the row shows the 200, and FAIL.
@requires_pod_networks
def test_a_200_with_a_failed_transfer_is_fail(apiserver, egress, kubectl):
    for host in ("cut", "stall", "reset"):
        assert egress("externalname", host, f"{host}.example.net").code == 0
    res = kubectl("egress", "probe", "--deploy-sources", "--without-istio", "--timeout", "1s", "-o", "json")
    assert res.code == 1, res.err
    rows = {r["service"]: r for r in json.loads(res.out)["items"]}
    assert {name: (r["result"], r["code"]) for name, r in rows.items()} == {
        "cut": ("FAIL", "200"), "stall": ("FAIL", "200"), "reset": ("FAIL", "200")}
    assert rows["cut"]["hint"].startswith("curl failed (exit 18): curl: (18) transfer closed with 1008 bytes")
    assert rows["reset"]["hint"] == "curl failed (exit 56): curl: (56) Recv failure: Connection reset by peer"
    # curl 28: --max-time ran out mid-body, after the 200: a stall, not a block
    assert rows["stall"]["hint"].startswith("the external service answered 200, then its body stalled: the rest "
                                            "did not arrive within --timeout=1s (curl exit 28)")


# -- Idempotent, and a dry run writes nothing ---------------------------------------------------

def everything(srv) -> dict[str, str]:
    """Every egress object in namespace default, by path, with its resourceVersion."""
    out = {}
    for path in ("/api/v1/namespaces/default/services", "/api/v1/namespaces/default/endpoints",
                 "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices",
                 ISTIO + "default/destinationrules", ISTIO + "default/serviceentries"):
        for obj in get_json(srv, path)["items"]:
            out[f'{path}/{obj["metadata"]["name"]}'] = obj["metadata"]["resourceVersion"]
    return out


@pytest.mark.parametrize("mode, suffix", [("server", " (server dry run)"), ("client", " (dry run)")])
def test_a_dry_run_that_would_configure_and_prune_writes_nothing(apiserver, egress, mode, suffix):
    assert egress("endpoints", "w", "192.0.2.1", "2001:db8::1", "--port", "443", "--host", "w.example").code == 0
    before = everything(apiserver)
    res = egress("externalname", "w", "w.example", "--port", "443", "--protocol", "tls", "--tls-mode", "SIMPLE",
                 f"--dry-run={mode}")
    assert res.code == 0, res.err
    assert res.lines == [f"service/w configured{suffix}", f"destinationrule.networking.istio.io/w configured{suffix}",
                         f"endpointslice.discovery.k8s.io/w-ipv4 pruned{suffix}",
                         f"endpointslice.discovery.k8s.io/w-ipv6 pruned{suffix}"]
    assert everything(apiserver) == before
    fresh = egress("endpoints", "new", "192.0.2.9", "--port", "443", f"--dry-run={mode}")
    assert fresh.lines == [f"service/new created{suffix}", f"endpointslice.discovery.k8s.io/new-ipv4 created{suffix}",
                           f"destinationrule.networking.istio.io/new created{suffix}"]
    assert everything(apiserver) == before


def test_the_same_command_twice_says_unchanged_and_writes_nothing(apiserver, egress):
    assert egress("endpoints", "w", "192.0.2.1", "--port", "443", "--host", "w.example").code == 0
    apiserver.clear_requests()
    again = egress("endpoints", "w", "192.0.2.1", "--port", "443", "--host", "w.example")
    assert again.lines == ["service/w unchanged", "endpointslice.discovery.k8s.io/w-ipv4 unchanged",
                           "destinationrule.networking.istio.io/w unchanged"]
    assert apiserver.writes() == []


def test_the_same_command_twice_prints_the_objects_as_they_are(apiserver, egress):
    first = egress("externalname", "my-httpbin", "httpbin.org", "-o", "json")
    second = egress("externalname", "my-httpbin", "httpbin.org", "-o", "json")
    assert second.code == 0, second.err
    names = [(o["kind"], o["metadata"]["name"], o["metadata"]["resourceVersion"]) for o in second.json()["items"]]
    assert names == [(o["kind"], o["metadata"]["name"], o["metadata"]["resourceVersion"])
                     for o in first.json()["items"]]
    assert [kind for kind, _, _ in names] == ["Service", "DestinationRule"]
    changed = egress("externalname", "my-httpbin", "httpbin.org", "--port", "8080", "-o", "json")
    assert [o["spec"]["ports"][0]["port"] for o in changed.json()["items"] if o["kind"] == "Service"] == [8080]


def test_a_prune_never_deletes_what_someone_made_in_the_meantime(apiserver, egress):
    """Between reading the service's objects and pruning them, its slice is replaced by hand:
    the prune names the uid it read, so the hand-made slice stays and the command fails."""
    assert egress("endpoints", "w", "192.0.2.1", "--port", "443").code == 0
    apiserver.fault(method="PUT", path="/services/w$", delay=2, times=1)  # slow, then served
    result = {}
    worker = threading.Thread(target=lambda: result.update(res=egress("externalname", "w", "w.example")))
    worker.start()
    deadline = time.monotonic() + 10
    while not any(r["method"] == "PUT" for r in apiserver.requests()) and time.monotonic() < deadline:
        time.sleep(0.05)
    path = "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices/"
    mine = get_json(apiserver, path + "w-ipv4")
    assert apiserver.request("DELETE", path + "w-ipv4")[0] == 200
    theirs = {**content(mine), "endpoints": [{"addresses": ["192.0.2.99"]}]}
    theirs["metadata"]["labels"] = {"kubernetes.io/service-name": "w", "app.kubernetes.io/managed-by": "kubectl-egress"}
    status, _, made = apiserver.request("POST", path, theirs)
    assert status == 201, made
    worker.join(timeout=30)
    res = result["res"]
    assert res.code == 1
    assert "Precondition failed: UID in precondition" in res.err
    assert get_json(apiserver, path + "w-ipv4")["metadata"]["uid"] == made["metadata"]["uid"]
    assert get_json(apiserver, SVC + "w")["spec"]["type"] == "ClusterIP"  # and the Service is put back
