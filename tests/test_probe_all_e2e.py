"""probe -A end to end, through real kubectl: a hundred namespaces with a JUnit report, the progress
line on a terminal only, and Ctrl-C, which leaves nothing running in the pods."""
import os
import signal
import subprocess
import time
import xml.etree.ElementTree as ET

import pytest

from kubectl_egress import manifests, runner
from kubectl_egress.app import App
from kubectl_egress.errors import ServerError
from kubectl_egress.model import NAMESPACES, Mesh, Target, resource_of
from tests.conftest import plugin_path
from tests.netns import requires_pod_networks
from tests.procs import command_lines
from tests.tty import run_on_terminal

pytestmark = requires_pod_networks

NAMESPACES_COUNT = 100


def seed(kube, namespaces: list[str], services: list[tuple[str, str, str]]) -> None:
    """Namespaces in the mesh, and ExternalName egress services (namespace, name, host) with the
    DestinationRule each needs, made as kubectl-egress makes them."""
    def namespace(name: str) -> None:
        kube.create(NAMESPACES, {"apiVersion": "v1", "kind": "Namespace",
                                 "metadata": {"name": name, "labels": {"istio-injection": "enabled"}}})
    kube.parallel(namespace, namespaces)
    mesh = Mesh(networking_version="v1beta1")
    objects = [obj for ns, name, host in services for obj in manifests.objects(Target(name, ns, host=host), mesh)]

    def create(obj: dict) -> None:
        try:
            kube.create(resource_of(obj), obj)
        except ServerError as err:
            assert err.code == 409, err
    kube.parallel(create, objects)


def pod_processes(srv, curls_to: str = "") -> dict[str, set[int]]:
    """Each pod's processes: those in its network namespace, the namespace's own holder aside
    (the local cluster runs a pod's processes on this machine, in the pod's network); curls_to:
    only curl processes whose command line holds this text."""
    nets = {net.name: (os.stat(net.ns_path).st_ino, net.holder.pid) for net in srv.cluster.network.pods.values()}
    found: dict[str, set[int]] = {name: set() for name in nets}
    for pid, argv in command_lines():
        if curls_to and not (argv[0].endswith(b"curl") and any(curls_to.encode() in arg for arg in argv)):
            continue
        try:
            inode = os.stat(f"/proc/{pid}/ns/net").st_ino
        except OSError:
            continue
        for name, (ns_inode, holder) in nets.items():
            if inode == ns_inode and pid != holder:
                found[name].add(pid)
    return found


def test_a_hundred_namespaces_all_ok_then_exactly_the_broken_row_fails(apiserver, kubectl, tmp_path):
    """Issue 13's "done when", at its size: `kubectl egress probe -A --deploy-sources --all-sources
    --junit-file out.xml` over 100 namespaces of egress services; then one broken service."""
    namespaces = [f"team-{i:03d}" for i in range(NAMESPACES_COUNT)]
    seed(App.from_raw({}).kube(), namespaces, [(ns, "web", "httpbin.org") for ns in namespaces])
    report = tmp_path / "out.xml"
    res = kubectl("egress", "probe", "-A", "--deploy-sources", "--all-sources", "--junit-file", str(report),
                  timeout=600)
    assert res.code == 0, res.err[-2000:]
    rows = [line.split() for line in res.lines[1:]]
    assert len(rows) == 2 * NAMESPACES_COUNT and {r[4] for r in rows} == {"OK"}  # RESULT
    assert {(r[0], r[2].split("/")[0]) for r in rows} == {(ns, src) for ns in namespaces
                                                          for src in (ns, "without-istio")}
    suite = ET.parse(report).getroot().find("testsuite")
    assert (suite.get("tests"), suite.get("failures")) == (str(2 * NAMESPACES_COUNT), "0")

    apiserver.clear_requests()
    assert kubectl("delete", "destinationrule", "web", "-n", "team-042").code == 0
    res = kubectl("egress", "probe", "-A", "--all-sources", "--junit-file", str(report), timeout=600)
    assert res.code == 1, res.err[-2000:]
    failing = [line.split() for line in res.lines[1:] if line.split()[4:5] == ["FAIL"]]
    assert [(r[0], r[1], r[2].split("/")[0]) for r in failing] == [("team-042", "web", "team-042")]
    suite = ET.parse(report).getroot().find("testsuite")
    assert (suite.get("tests"), suite.get("failures")) == (str(2 * NAMESPACES_COUNT), "1")
    failed = [c for c in suite.findall("testcase") if c.get("status") == "failed"]
    assert [(c.get("classname"), c.get("name")) for c in failed] == [("team-042", "web:80 from team-042 (mesh)")]
    message = failed[0].find("failure").get("message")
    assert message == ("the sidecar sent Istio mutual TLS to an external host, which cannot speak it: no "
                       "DestinationRule with a non-mTLS mode applies to web.team-042.svc.cluster.local; fix: "
                       "kubectl egress externalname web httpbin.org --tls-mode DISABLE -n team-042")
    # the API server saw one exec per source pod, plus its lists
    execs = [r for r in apiserver.requests() if r["path"].split("?")[0].endswith("/exec")]
    assert len(execs) == NAMESPACES_COUNT + 1
    assert len({r["path"].split("?")[0] for r in execs}) == NAMESPACES_COUNT + 1


@pytest.fixture
def small(apiserver, egress):
    """Two namespaces; sources deployed."""
    seed(App.from_raw({}).kube(), ["shop", "pay"], [("shop", "web", "httpbin.org"), ("pay", "api", "example.com")])
    assert egress("probe", "-A", "--deploy-sources", "--all-sources").code == 0
    return apiserver


def test_the_progress_line_shows_on_a_terminal_and_never_in_a_pipe(small, kubectl):
    env = {**os.environ, "PATH": plugin_path(), "TERM": "xterm"}
    seen = run_on_terminal(["kubectl", "egress", "probe", "-A", "--all-sources"], 140, env,
                           stderr_on_terminal=True)
    assert seen.code == 0, seen.out
    drawn = seen.out.split("NAMESPACE")[0]  # what stderr drew before the table
    assert "\r\033[Kprobing: " in drawn and "/4 checks, 0 failed, " in drawn
    assert drawn.endswith("\r\033[K")  # erased, so the table starts on a clean line
    assert "probing" not in seen.out.split("NAMESPACE", 1)[1]
    as_json = run_on_terminal(["kubectl", "egress", "probe", "-A", "--all-sources", "-o", "json"], 140, env,
                              stderr_on_terminal=True)
    assert as_json.code == 0 and "probing" not in as_json.out
    piped = kubectl("egress", "probe", "-A", "--all-sources")
    assert piped.code == 0 and "probing" not in piped.err and "\033" not in piped.err + piped.out


def test_ctrl_c_prints_the_rows_so_far_and_leaves_no_process_in_the_pods(small, egress, kubectl):
    # slow.example.net takes connections and never answers: these checks hold their curls open
    seed(App.from_raw({}).kube(), [], [("pay", f"slow-{i}", "slow.example.net") for i in range(4)])
    before = pod_processes(small)
    assert all(not procs for procs in before.values()), before
    env = {**os.environ, "PATH": plugin_path()}
    proc = subprocess.Popen(["kubectl", "egress", "probe", "-A", "--all-sources", "--timeout", "120s",
                             "--parallel", "2"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while sum(len(p) for p in pod_processes(small, "slow-").values()) < 4:  # 2 curls wait in each source
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.1)
        os.kill(proc.pid, signal.SIGINT)  # kubectl exec'd the plugin: this is kubectl-egress
        interrupted = time.monotonic()
        out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    # stopped through the execs' stdin, not by closing them after runner.GRACE
    assert time.monotonic() - interrupted < runner.GRACE
    rows = [line.split() for line in out.splitlines()[1:] if line.split()[:1] in (["shop"], ["pay"])]
    # what finished, and only that. In pay's source and without-istio's, api ran first and a slow
    # check took its slot only once api was done and printed; without-istio's two slots then wait on
    # slow-0 and slow-1, before shop's turn; shop's own source may or may not have finished
    got = {(r[0], r[1], r[2].split("/")[0], r[4]) for r in rows}
    finished = {("pay", "api", "pay", "OK"), ("pay", "api", "without-istio", "OK")}
    assert finished <= got <= finished | {("shop", "web", "shop", "OK")}, got
    assert "interrupted: " in err and "the probe's processes in the source pods were stopped" in err
    deadline = time.monotonic() + 10
    while any(pod_processes(small).values()):
        assert time.monotonic() < deadline, pod_processes(small)
        time.sleep(0.1)
