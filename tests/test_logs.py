"""Container logs and the istio-proxy access log: the kubelet's reading rules (pure), the
Envoy/Istio line format against Istio's own example, then real `kubectl logs`."""
from __future__ import annotations

import subprocess
import time

import pytest

from tests.apiserver import accesslog, logs
from tests.apiserver.errors import APIError
from tests.conftest import plugin_path
from tests.netns import requires_pod_networks


def store_with(*lines: tuple[float, str, bytes]) -> tuple[logs.LogStore, logs.Instance]:
    store = logs.LogStore()
    store.start("uid", "c")
    for ts, stream, data in lines:
        store.write("uid", "c", data, stream, ts=ts)
    return store, store.instance("uid", "c", False)


def read(store, instance, **options) -> bytes:
    return b"".join(store.read(instance, logs.LogOptions(**options)))


# -- pkg/kubelet/kuberuntime/logs/logs.go ReadLogs -----------------------------------------------------
def test_lines_tail_since_limit_and_timestamps():
    store, inst = store_with((100.0, "stdout", b"one\ntwo\n"), (200.5, "stderr", b"three\n"), (300.0, "stdout", b"four"))
    assert read(store, inst) == b"one\ntwo\nthree\n"  # "four" waits for its newline
    store.end("uid", "c")
    assert read(store, inst) == b"one\ntwo\nthree\nfour"
    assert read(store, inst, tail=2) == b"three\nfour"
    assert read(store, inst, tail=0) == b""
    assert read(store, inst, since=150.0) == b"three\nfour"
    assert read(store, inst, limit_bytes=5) == b"one\nt"
    assert read(store, inst, tail=1, timestamps=True).startswith(b"1970-01-01T00:0") and \
        read(store, inst, tail=2, timestamps=True).split(b"\n")[0] == b"1970-01-01T00:03:20.500000000Z three"


@pytest.mark.parametrize("ts, text", [(0.0, "1970-01-01T00:00:00.000000000Z"),
                                      (1.5, "1970-01-01T00:00:01.500000000Z"),
                                      (1735689600.25, "2025-01-01T00:00:00.250000000Z")])
def test_rfc3339_nano_fixed(ts, text):
    assert logs.rfc3339_nano_fixed(ts) == text


def test_follow_stops_when_the_container_stops():
    store, inst = store_with((1.0, "stdout", b"a\n"))
    chunks = store.read(inst, logs.LogOptions(follow=True))
    assert next(chunks) == b"a\n"
    store.write("uid", "c", b"b\n")
    assert next(c for c in chunks if c) == b"b\n"
    store.end("uid", "c")
    assert list(c for c in chunks if c) == []


def test_a_restart_keeps_the_previous_instance():
    store, _ = store_with((1.0, "stdout", b"first\n"))
    store.start("uid", "c")
    store.write("uid", "c", b"second\n")
    assert read(store, store.instance("uid", "c", True)) == b"first\n"
    assert read(store, store.instance("uid", "c", False)) == b"second\n"


# -- ValidatePodLogOptions, validateContainer, validateContainerLogStatus -------------------------------
@pytest.mark.parametrize("query, message", [
    ({"tailLines": ["-1"]}, 'PodLogOptions "p" is invalid: tailLines: Invalid value: -1: must be greater than or equal to 0'),
    ({"limitBytes": ["0"]}, 'PodLogOptions "p" is invalid: limitBytes: Invalid value: 0: must be greater than 0'),
    ({"sinceSeconds": ["0"]}, 'PodLogOptions "p" is invalid: sinceSeconds: Invalid value: 0: must be greater than 0'),
    ({"sinceSeconds": ["5"], "sinceTime": ["2024-01-01T00:00:00Z"]},
     'PodLogOptions "p" is invalid: : Forbidden: at most one of `sinceTime` or `sinceSeconds` may be specified'),
    ({"tailLines": ["x"]}, 'strconv.ParseInt: parsing "x": invalid syntax'),
    ({"follow": ["maybe"]}, 'strconv.ParseBool: parsing "maybe": invalid syntax'),
])
def test_log_options_refused(query, message):
    with pytest.raises(APIError) as err:
        logs.parse_options(query, "p", 1000.0)
    assert message in err.value.message


def test_log_options():
    opts = logs.parse_options({"container": ["c"], "follow": ["true"], "tailLines": ["3"], "sinceSeconds": ["10"],
                               "timestamps": ["1"], "limitBytes": ["9"]}, "p", 1000.0)
    assert opts == logs.LogOptions("c", True, False, True, 3, 9, 990.0)


POD = {"metadata": {"name": "p"}, "spec": {"initContainers": [{"name": "init"}],
                                           "containers": [{"name": "app"}, {"name": "istio-proxy"}]},
       "status": {"containerStatuses": [
           {"name": "app", "state": {"running": {}}},
           {"name": "istio-proxy", "state": {"waiting": {"reason": "CrashLoopBackOff"}},
            "lastState": {"terminated": {"containerID": "containerd://1"}}}],
           "initContainerStatuses": [{"name": "init", "state": {"waiting": {"reason": "PodInitializing"}}}]}}


@pytest.mark.parametrize("container, previous, message", [
    ("", False, "a container name must be specified for pod p, choose one of: [init app istio-proxy]"),
    ("nope", False, "container nope is not valid for pod p"),
    ("app", True, 'previous terminated container "app" in pod "p" not found'),
    ("init", False, 'container "init" in pod "p" is waiting to start: PodInitializing'),
])
def test_container_refusals(container, previous, message):
    with pytest.raises(APIError) as err:
        logs.validate_status(POD, logs.validate_container(POD, container), previous)
    assert (err.value.code, err.value.message) == (400, message)


def test_container_allowed():
    logs.validate_status(POD, "app", False)
    logs.validate_status(POD, "istio-proxy", True)  # the previous instance of a restarted container
    logs.validate_status(POD, "istio-proxy", False)  # waiting, with a last state: its logs


# -- the access log line ------------------------------------------------------------------------------
def test_istio_docs_example_line():
    """istio.io tasks/observability/logs/access-log: the line for curl's GET /status/418."""
    entry = accesslog.Entry(
        start=1606339578.409, method="GET", path="/status/418", protocol="HTTP/1.1", code=418,
        details="via_upstream", sent=135, duration_ms=4, upstream_service_time="4", user_agent="curl/7.73.0-DEV",
        request_id="84961386-6d84-929d-98bd-c5aee93b5c88", authority="httpbin:8000", upstream_host="10.44.1.27:80",
        cluster="outbound|8000||httpbin.foo.svc.cluster.local", upstream_local="10.44.1.23:37652",
        downstream_local="10.0.45.184:8000", downstream_remote="10.44.1.23:46520", route="default")
    assert accesslog.format_text(entry) == (
        '[2020-11-25T21:26:18.409Z] "GET /status/418 HTTP/1.1" 418 - via_upstream - "-" 0 135 4 4 "-" '
        '"curl/7.73.0-DEV" "84961386-6d84-929d-98bd-c5aee93b5c88" "httpbin:8000" "10.44.1.27:80" '
        'outbound|8000||httpbin.foo.svc.cluster.local 10.44.1.23:37652 10.0.45.184:8000 10.44.1.23:46520 - default\n')


def test_tcp_line_and_json_encoding():
    entry = accesslog.Entry(start=0.0, flags="UF,URX", received=0, sent=0, duration_ms=13,
                            upstream_host="208.80.153.224:443", cluster="outbound|443||w.default.svc.cluster.local",
                            downstream_local="10.96.0.7:443", downstream_remote="10.244.0.9:5000", sni="en.wikipedia.org")
    assert accesslog.format_text(entry) == (
        '[1970-01-01T00:00:00.000Z] "- - -" 0 UF,URX - - "-" 0 0 13 - "-" "-" "-" "-" "208.80.153.224:443" '
        'outbound|443||w.default.svc.cluster.local - 10.96.0.7:443 10.244.0.9:5000 en.wikipedia.org -\n')
    line = accesslog.format_json(entry)
    import json
    data = json.loads(line)
    assert list(data) == sorted(data) and data["response_code"] == 0 and data["method"] is None
    assert data["upstream_cluster"] == "outbound|443||w.default.svc.cluster.local"
    assert accesslog.TEXT_FORMAT_RAW.count("%UPSTREAM_CLUSTER_RAW%") == 1


def test_the_mesh_config_turns_it_on_and_off(apiserver):
    assert accesslog.settings(apiserver.cluster) == accesslog.Settings("/dev/stdout", "TEXT", "")
    status, _, cm = apiserver.request("GET", "/api/v1/namespaces/istio-system/configmaps/istio")
    cm["data"]["mesh"] = cm["data"]["mesh"].replace("accessLogFile: /dev/stdout", "accessLogEncoding: JSON")
    assert apiserver.request("PUT", "/api/v1/namespaces/istio-system/configmaps/istio", cm)[0] == 200
    assert accesslog.settings(apiserver.cluster) == accesslog.Settings("", "JSON", "")


# -- real kubectl ---------------------------------------------------------------------------------------
SLEEP = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: sleep}
spec:
  selector: {matchLabels: {app: sleep}}
  template:
    metadata: {labels: {app: sleep}}
    spec:
      containers: [{name: sleep, image: curlimages/curl, command: ["/bin/sleep", "infinity"]}]
"""


@pytest.fixture
def sleep(apiserver, kubectl):
    assert kubectl("apply", "-f", "-", input=SLEEP).code == 0
    assert kubectl("wait", "--for=condition=Ready", "pod", "-l", "app=sleep", "--timeout=30s").code == 0
    return kubectl("get", "pod", "-l", "app=sleep", "-o", "jsonpath={.items[0].metadata.name}").out


def test_kubectl_logs(sleep, kubectl):
    res = kubectl("logs", "deploy/sleep")  # kubectl.kubernetes.io/default-container picks sleep
    assert (res.code, res.out) == (0, "")
    assert kubectl("logs", sleep, "-c", "istio-proxy", "--tail=5").code == 0
    res = kubectl("logs", sleep, "--previous")
    assert res.code == 1 and res.err == (f'Error from server (BadRequest): previous terminated container "sleep" in '
                                         f'pod "{sleep}" not found\n')
    res = kubectl("logs", sleep, "-c", "nope")
    assert res.code == 1 and f"container nope is not valid for pod {sleep}" in res.err


def test_kubectl_logs_follow_streams_what_comes(apiserver, sleep):
    uid = apiserver.cluster.store.get("/pods", "default", sleep)["metadata"]["uid"]
    proc = subprocess.Popen(["kubectl", "logs", "-f", sleep, "-c", "istio-proxy"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env={**__import__("os").environ, "PATH": plugin_path()})
    try:
        time.sleep(0.5)
        apiserver.cluster.logs.write(uid, "istio-proxy", b"a line the proxy wrote\n")
        assert proc.stdout.readline() == b"a line the proxy wrote\n"
    finally:
        proc.kill()
        proc.wait()


@requires_pod_networks
def test_the_proxy_logs_each_request_it_carried(apiserver, sleep, kubectl):
    """Istio's egress evidence: the access log names the cluster that carried each request."""
    env = {"PATH": plugin_path()}
    assert kubectl("egress", "externalname", "my-httpbin", "httpbin.org", env=env).code == 0
    curl = ["exec", sleep, "-c", "sleep", "--", "curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}"]
    assert kubectl(*curl, "http://my-httpbin.default.svc.cluster.local/headers").out == "200"
    assert kubectl("delete", "destinationrule", "my-httpbin").code == 0
    assert kubectl(*curl, "http://my-httpbin.default.svc.cluster.local/headers").out == "503"
    assert kubectl(*curl, "https://en.wikipedia.org/").out == "301"
    lines = kubectl("logs", sleep, "-c", "istio-proxy").out.splitlines()
    assert len(lines) == 3
    ok, mtls, passthrough = (line.split() for line in lines)
    assert ok[1:10] == ['"GET', '/headers', 'HTTP/1.1"', "200", "-", "via_upstream", "-", '"-"', "0"]
    assert ok[-6] == "outbound|80||my-httpbin.default.svc.cluster.local" and ok[-1] == "default"
    assert mtls[4:7] == ["503", "UC", "upstream_reset_before_response_started{connection_termination}"]
    assert passthrough[1:4] == ['"-', "-", '-"'] and "PassthroughCluster" in passthrough
    assert passthrough[-2:] == ["en.wikipedia.org", "-"]  # the SNI the TLS inspector saw


def test_kubectl_attach_streams_the_containers_output(apiserver, sleep):
    """AttachREST: the container's stdout and stderr from now on, over kubectl's WebSocket."""
    uid = apiserver.cluster.store.get("/pods", "default", sleep)["metadata"]["uid"]
    proc = subprocess.Popen(["kubectl", "attach", sleep, "-c", "istio-proxy"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env={**__import__("os").environ, "PATH": plugin_path()})
    try:
        time.sleep(1.0)
        apiserver.cluster.logs.write(uid, "istio-proxy", b"written while attached\n")
        assert proc.stdout.readline() == b"written while attached\n"
    finally:
        proc.kill()
        proc.wait()


@requires_pod_networks
def test_an_ephemeral_containers_process_writes_its_log(sleep, kubectl):
    """What a container's process prints is its log: here a `kubectl debug` container's."""
    res = kubectl("debug", sleep, "--image=busybox", "-c", "dbg", "--", "sh", "-c",
                  "echo hello from the debugger; echo to stderr >&2; sleep 600")
    assert res.code == 0, res.err

    def logged():
        return kubectl("logs", sleep, "-c", "dbg").out

    deadline = time.monotonic() + 15
    while "to stderr" not in logged() and time.monotonic() < deadline:
        time.sleep(0.1)
    # two streams, each in its order; the log keeps the order in which lines arrived
    assert sorted(logged().splitlines()) == ["hello from the debugger", "to stderr"]
    assert kubectl("logs", sleep, "-c", "dbg", "--tail=1").out in ("to stderr\n", "hello from the debugger\n")


@requires_pod_networks
def test_registry_only_blocks_are_logged_per_revision(make_apiserver, kubectl):
    """REGISTRY_ONLY: HTTP to an unknown host takes the block_all route, a direct response that
    picks no cluster ("-"); a connection the catch-all's BlackHoleCluster closes is logged with
    UH and nothing else known (the line of istio#33281). Each proxy reads its own revision's mesh
    config: with the canary's access log off, its pods log nothing."""
    make_apiserver("1.24", revisions={"canary": "1.22"}, outbound_policy="REGISTRY_ONLY")
    kubectl("create", "service", "clusterip", "mesh-web", "--tcp=80:8080")  # an HTTP listener on 80
    kubectl("patch", "svc", "mesh-web", "--type", "json", "-p",
            '[{"op": "replace", "path": "/spec/ports/0/name", "value": "http"}]')
    assert kubectl("create", "namespace", "canary").code == 0
    assert kubectl("label", "namespace", "canary", "istio.io/rev=canary").code == 0
    assert kubectl("patch", "configmap", "istio-canary", "-n", "istio-system", "--type", "merge", "-p",
                   '{"data": {"mesh": "outboundTrafficPolicy:\\n  mode: REGISTRY_ONLY\\n"}}').code == 0
    for ns in ("default", "canary"):
        assert kubectl("apply", "-n", ns, "-f", "-", input=SLEEP).code == 0
    names = {}
    for ns in ("default", "canary"):
        assert kubectl("wait", "-n", ns, "--for=condition=Ready", "pod", "-l", "app=sleep", "--timeout=30s").code == 0
        names[ns] = kubectl("get", "pod", "-n", ns, "-l", "app=sleep", "-o", "jsonpath={.items[0].metadata.name}").out
        curl = ["exec", "-n", ns, names[ns], "-c", "sleep", "--", "curl", "-sS", "--max-time", "5"]
        assert kubectl(*curl, "-o", "/dev/null", "-w", "%{http_code}", "http://httpbin.org/headers").out == "502"
        assert kubectl(*curl, "https://en.wikipedia.org/").code == 35
    http, tcp = (line.split() for line in kubectl("logs", "-n", "default", names["default"],
                                                  "-c", "istio-proxy").out.splitlines())
    assert http[1:10] == ['"GET', "/headers", 'HTTP/1.1"', "502", "-", "direct_response", "-", '"-"', "0"]
    assert http[10] == "0" and http[-8] == '"httpbin.org"' and http[-1] == "block_all"
    assert http[-7:-4] == ['"-"', "-", "-"]  # no upstream host, no cluster, no upstream address
    assert tcp[1:10] == ['"-', "-", '-"', "0", "UH", "-", "-", '"-"', "0"]
    assert tcp[-7:] == ['"-"', "-", "-", tcp[-4], tcp[-3], "-", "-"] and tcp[-4].endswith(":443")
    assert kubectl("logs", "-n", "canary", names["canary"], "-c", "istio-proxy").out == ""
