"""The cluster-wide probe's pure parts: JUnit XML, the summary, the progress line, the stream of
checks a source prints, the sources of each namespace and why they do not come up."""
import io
import os
import stat
import xml.etree.ElementTree as ET

import pytest

from kubectl_egress import manifests, probe, progress, reports, sources
from kubectl_egress.runner import Job, _Stream, batches

# cilium-cli/connectivity/internal/junit/junit_test.go suitesText, the shape CI systems read:
# attribute order of each element, a failure's message and type, a passing case without children
CILIUM = """<?xml version="1.0" encoding="UTF-8"?>
  <testsuites tests="3" disabled="1" errors="0" failures="1" time="14.7">
      <testsuite name="testSuite" id="0" package="test" tests="3" errors="0" failures="1" skipped="1" time="14.7" timestamp="2006-01-02T15:04:05Z07:00">
          <testcase name="test1" classname="test" status="passed" time="7.7"></testcase>
          <testcase name="test2" classname="test" status="skipped" time="0">
              <skipped message="test2 skipped"></skipped>
          </testcase>
          <testcase name="test3" classname="test" status="failed" time="7">
              <failure message="test3 failed" failureMessage="failure message" type="failure">failure &gt; expected</failure>
          </testcase>
      </testsuite>
  </testsuites>"""


def attributes(element: ET.Element) -> list[str]:
    return list(element.attrib)


def test_junit_has_the_shape_cilium_cli_writes():
    cases = [reports.Case("default", "my-httpbin:80 from default (mesh)", "OK", 0.007),
             reports.Case("default", "my-httpbin:80 from without-istio (no mesh)", "FAIL", 7,
                          "the sidecar reset <it> & more; fix: kubectl egress externalname x y", "url: a > b"),
             reports.Case("team-2", "wiki:443 from team-2 (mesh)", "OK", 7.7, "only the TLS handshake was checked")]
    ours = ET.fromstring(reports.junit(cases, "2026-11-29T10:00:00Z", [("kubectl-egress", "0.1.0")]))
    theirs = ET.fromstring(CILIUM.split("\n", 1)[1])
    assert ours.tag == theirs.tag == "testsuites"
    assert attributes(ours) == attributes(theirs)
    assert ours.attrib == {"tests": "3", "disabled": "0", "errors": "0", "failures": "1", "time": "14.707"}
    suite, their_suite = ours.find("testsuite"), theirs.find("testsuite")
    assert attributes(suite) == [a for a in attributes(their_suite) if a != "skipped"]  # omitempty when none
    assert (suite.get("name"), suite.get("package"), suite.get("tests"), suite.get("failures"),
            suite.get("timestamp")) == ("kubectl egress probe", "kubectl-egress", "3", "1", "2026-11-29T10:00:00Z")
    assert [(p.get("name"), p.get("value")) for p in suite.find("properties")] == [("kubectl-egress", "0.1.0")]
    passed, failed, noted = suite.findall("testcase")
    assert attributes(passed) == attributes(their_suite.findall("testcase")[0])
    assert (passed.get("classname"), passed.get("status"), passed.get("time"), list(passed)) == \
        ("default", "passed", "0.007", [])
    failure = failed.find("failure")
    assert (failed.get("status"), failed.get("time"), failure.get("type")) == ("failed", "7", "failure")
    assert failure.get("message") == "the sidecar reset <it> & more; fix: kubectl egress externalname x y"
    assert failure.text == "url: a > b"
    assert noted.get("status") == "passed" and noted.find("system-out").text == "only the TLS handshake was checked"


@pytest.mark.parametrize("seconds, text", [(0, "0"), (7.0, "7"), (14.7, "14.7"), (0.0123, "0.012"),
                                           (0.0004, "0"), (-1, "0"), (123.4567, "123.457")])
def test_seconds_as_go_writes_them(seconds, text):
    assert reports.seconds_text(seconds) == text


def test_the_report_is_written_whole_and_readable_by_others(tmp_path):
    path = tmp_path / "out.xml"
    path.write_bytes(b"old")
    reports.write_atomically(str(path), b"<new/>")
    assert path.read_bytes() == b"<new/>"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o644
    assert [p.name for p in tmp_path.iterdir()] == ["out.xml"]  # no temporary file left


@pytest.mark.parametrize("message, names, kind", [
    ("no DestinationRule with a non-mTLS mode applies to web-7.team-7.svc.cluster.local",
     [("web-7.team-7.svc.cluster.local", "<service-host>"), ("web-7", "<service>")],
     "no DestinationRule with a non-mTLS mode applies to <service-host>"),
    ("connection refused (203.0.113.9:443): the Service has no ready endpoint on port 443",
     [("203.0.113.9:443", "<address>")], "connection refused (<address>): the Service has no ready endpoint on port 443"),
    ("DNS: web does not resolve in the pod; is the Service there? (kubectl egress get web)",
     [("web", "<service>")], "DNS: <service> does not resolve in the pod; is the Service there? (kubectl egress get "
                             "<service>)"),
    # a bare name only as a whole word: not inside a host, a path or a longer name
    ("the source pod team/web-x has no sidecar; web.example.com and web-2 stay", [("web", "<service>")],
     "the source pod team/web-x has no sidecar; web.example.com and web-2 stay"),
    ("nothing of its own", [("", "<host>")], "nothing of its own"),
])
def test_a_hint_without_its_own_names(message, names, kind):
    assert reports.hint_kind(message, names) == kind


def test_the_summary_counts_by_result_and_by_hint():
    rows = [("OK", "", "a/x"), ("FAIL", "blocked", "a/x"), ("FAIL", "blocked", "b/y"), ("FAIL", "blocked", "b/y"),
            ("OK", "only the handshake", "c/z"), ("FAIL", "refused", "d/w")]
    by_result, hints = reports.summary(rows)
    assert by_result == {"OK": 2, "FAIL": 4}
    assert [(h.kind, h.result, h.checks, h.services) for h in hints] == [
        ("blocked", "FAIL", 3, ("a/x", "b/y")), ("refused", "FAIL", 1, ("d/w",)),
        ("only the handshake", "OK", 1, ("c/z",))]
    assert reports.summary([])[0] == {"OK": 0, "FAIL": 0}
    assert reports.services_cell(["a/1", "a/2", "a/3", "a/4", "a/5"]) == "a/1,a/2,a/3 +2 more"
    assert reports.services_cell(["a/1"]) == "a/1"


# -- the progress line ------------------------------------------------------------------------------
class Terminal(io.StringIO):
    def __init__(self, tty: bool = True) -> None:
        super().__init__()
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


@pytest.mark.parametrize("tty, term, output, shown", [
    (True, "xterm-256color", None, True),
    (True, "xterm", "wide", True),
    (True, "xterm", "json", False),  # -o json|yaml: the stream stays quiet
    (True, "xterm", "yaml", False),
    (False, "xterm", None, False),  # piped
    (True, "dumb", None, False),  # cannot erase a line
])
def test_the_line_shows_only_where_someone_watches(tty, term, output, shown):
    assert progress.wanted(Terminal(tty), {"TERM": term}, output) is shown


def test_the_line_counts_redraws_in_place_and_is_erased_at_the_end():
    now = [100.0]
    stream = Terminal()
    meter = progress.Progress(stream, 2000, {"COLUMNS": "200"}, clock=lambda: now[0])
    meter.tick()
    for failed in (False, True, False):
        meter.advance(failed)
    meter.tick()  # too soon: not drawn again
    now[0] += 75
    meter.tick()
    meter.clear()
    assert stream.getvalue() == ("\r\033[Kprobing: 0/2000 checks, 0 failed, 0s"
                                 "\r\033[Kprobing: 3/2000 checks, 1 failed, 75s\r\033[K")


def test_the_line_never_wraps():
    stream = Terminal()
    meter = progress.Progress(stream, 2000, {"COLUMNS": "20"}, clock=lambda: 0.0)
    meter.tick()
    assert stream.getvalue() == "\r\033[K" + "probing: 0/2000 che"
    silent = progress.Progress(None, 5)
    silent.advance()
    silent.tick()
    silent.clear()
    assert silent.done == 1


# -- a source's output, check by check ---------------------------------------------------------------
def block(nonce: str, ident: str, code: int, exit_code: int = 0) -> str:
    return (f"@@{nonce} begin {ident}\nHTTP/1.1 {code} OK\r\n\r\n\n@@{nonce} result {ident} {code} 0.010 10.0.0.1 80\n"
            f"@@{nonce} exit {ident} {exit_code}\n@@{nonce} error {ident}\n@@{nonce} body {ident}\n{{}}\n\n"
            f"@@{nonce} end {ident}\n@@{nonce} done {ident}\n")


def test_a_stream_is_parsed_check_by_check_as_it_arrives():
    checks = [probe.Check(str(i), f"s{i}", "ns", f"http://s{i}.ns.svc.cluster.local/") for i in range(3)]
    job = Job(probe.Source("ns", "pod", "curl", True, True), checks)
    meter = progress.Progress(None, 3)
    stream = _Stream(job, "n0nce", meter)
    data = (block("n0nce", "1", 200) + block("n0nce", "0", 503) + block("n0nce", "2", 200)).encode()
    cut = data.index(b"done 0") + 3  # a chunk that ends inside a line
    stream.feed(data[:17])
    assert job.outcomes == {}
    stream.feed(data[17:cut])
    assert list(job.outcomes) == ["1"] and (meter.done, meter.failed) == (1, 0)
    stream.feed(data[cut:])
    assert sorted(job.outcomes) == ["0", "1", "2"] and (meter.done, meter.failed) == (3, 1)
    assert job.outcomes["0"].code == 503 and job.outcomes["2"].remote == "10.0.0.1:80"
    stream.feed(b"@@n0nce done 99\n")  # not one of its checks: ignored
    assert len(job.outcomes) == 3 and meter.done == 3


# -- the sources: hardened, picked per namespace, and why they do not come up ----------------------------
def test_a_source_pod_passes_pod_security_restricted():
    deploy = manifests.source_objects("team-1", True, "mirror.example/curl:8.11.1")[1]
    pod = deploy["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert container["image"] == "mirror.example/curl:8.11.1"
    assert manifests.PROBE_IMAGE.startswith("curlimages/curl:8.11.1@sha256:")
    assert container["securityContext"] == {
        "runAsNonRoot": True, "runAsUser": 100, "runAsGroup": 101, "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]}, "seccompProfile": {"type": "RuntimeDefault"}}
    assert pod["securityContext"] == {"seccompProfile": {"type": "RuntimeDefault"}}  # for injected containers too
    assert container["resources"] == {"requests": {"cpu": "10m", "memory": "32Mi"}}
    plain = manifests.source_objects("without-istio", False)[1]["spec"]["template"]
    assert plain["metadata"]["labels"]["sidecar.istio.io/inject"] == "false"
    assert plain["spec"]["containers"][0]["image"] == manifests.PROBE_IMAGE


def pod(ns: str, name: str, sidecar: bool, ready: bool = True, labels: dict | None = None,
        waiting: str = "") -> dict:
    containers = [{"name": "curl"}] + ([{"name": "istio-proxy"}] if sidecar else [])
    status = {"phase": "Running" if ready else "Pending",
              "conditions": [{"type": "Ready", "status": "True" if ready else "False"}]}
    if waiting:
        status["containerStatuses"] = [{"name": "curl", "state": {"waiting": {"reason": waiting,
                                                                               "message": "back-off pulling"}}}]
    return {"metadata": {"name": name, "namespace": ns, "labels": labels or {"app": "curl"}},
            "spec": {"containers": containers}, "status": status}


def test_sources_are_picked_per_namespace():
    pods = [pod("a", "curl-2", True), pod("a", "curl-1", True), pod("a", "curl-0", False), pod("b", "sleep-1", False),
            pod("c", "curl-9", True, ready=False)]
    assert sources.pick(pods, "a", True).label == "a/curl-1"
    assert sources.pick(pods, "a", False).label == "a/curl-0"
    assert sources.pick(pods, "b", True) is None and sources.pick(pods, "c", True) is None
    ours = {"app": "curl", manifests.SOURCE_ROLE: "probe-source"}
    deployed = [pod("d", "curl-x", False, labels=ours),
                pod("d", "curl-y", False, labels={**ours, "sidecar.istio.io/inject": "false"})]
    found = sources.pick_deployed(deployed, "d")
    assert (found.label, found.sidecar, found.mesh) == ("d/curl-x", False, True)
    assert sources.pick_deployed(pods, "a") is None


def deployment(ns: str, message: str | None) -> dict:
    conditions = [{"type": "Available", "status": "False"}]
    if message is not None:
        conditions.append({"type": "ReplicaFailure", "status": "True", "reason": "FailedCreate", "message": message})
    return {"metadata": {"name": "curl", "namespace": ns}, "status": {"conditions": conditions}}


FORBIDDEN = ('pods "curl-6f7d8-" is forbidden: violates PodSecurity "restricted:latest": '
             'allowPrivilegeEscalation != false (container "istio-init" must set '
             'securityContext.allowPrivilegeEscalation=false)')


@pytest.mark.parametrize("deployments, pods, waiting, said", [
    ([deployment("strict", FORBIDDEN)], [], ["strict"],
     f"the source pods cannot be created in namespace strict: {FORBIDDEN}"),
    ([deployment("strict", FORBIDDEN), deployment("b", "quota"), deployment("ok", "x")], [], ["strict", "b"],
     "the source pods cannot be created in namespace b: quota (and in 1 more namespace)"),
    ([deployment("strict", None)], [pod("strict", "curl-1", False, ready=False, waiting="ImagePullBackOff")],
     ["strict"], "the source pod strict/curl-1 cannot start its container curl: ImagePullBackOff: back-off pulling; "
                 "for a mirrored registry give --image"),
    ([deployment("slow", None)], [pod("slow", "curl-1", False, ready=False, waiting="ContainerCreating")],
     ["slow"], ""),  # still coming up
    ([deployment("done", FORBIDDEN)], [], ["other"], ""),  # not one it waits for
])
def test_why_sources_will_not_come_up(deployments, pods, waiting, said):
    assert sources.refusal(deployments, pods, waiting) == said


def test_thousands_of_checks_go_in_as_few_execs_as_the_url_allows():
    """kube-apiserver reads an exec's URL, with its command, up to 1 MiB: a pod with more checks than
    half of that holds gets several execs, each within it."""
    from urllib.parse import urlencode

    checks = [probe.Check(str(i), f"svc-{i}", "ns", f"http://svc-{i}.ns.svc.cluster.local/headers") for i in range(10, 60)]
    argv = probe.command([], 10, "n0nce", 8, watch=True)  # the checks are all of one size
    assert batches(checks, argv) == [checks]
    size = len(urlencode([("command", a) for a in probe.command(checks[:10], 10, "n0nce", 8, watch=True)]))
    parts = batches(checks, argv, limit=size + 1)
    assert [len(p) for p in parts] == [10, 10, 10, 10, 10] and sum(parts, []) == checks
    for part in parts:
        assert len(urlencode([("command", a) for a in probe.command(part, 10, "n0nce", 8, watch=True)])) <= size + 1
    assert [len(p) for p in batches(checks[:2], argv, limit=1)] == [1, 1]  # one check each, at least
