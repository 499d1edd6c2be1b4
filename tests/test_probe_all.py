"""probe -A against the local cluster: each namespace from its own source, sources placed only where
needed, one exec per source pod, reports for CI, bad input refused before anything is written, and
sources that Pod Security "restricted" admits."""
import json
import time
import xml.etree.ElementTree as ET

import pytest

from kubectl_egress import manifests
from tests.conftest import run_egress, serving
from tests.netns import requires_pod_networks

pytestmark = requires_pod_networks

ROLE = f"{manifests.SOURCE_ROLE}=probe-source"


@pytest.fixture(scope="module")
def cluster(ca, tmp_path_factory):
    """team-a and team-b in the mesh with `tier: gold` services, team-c with one more, idle with none."""
    with serving(tmp_path_factory.mktemp("probe-all"), ca) as srv:
        for ns in ("team-a", "team-b", "team-c", "idle", "outside"):
            labels = {} if ns == "outside" else {"istio-injection": "enabled"}
            assert srv.request("POST", "/api/v1/namespaces", {
                "apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns, "labels": labels}})[0] == 201
        for ns, name, host in (("team-a", "web", "httpbin.org"), ("team-a", "api", "example.com"),
                               ("team-b", "web", "httpbin.org"), ("team-c", "ext", "example.com"),
                               ("outside", "web", "httpbin.org")):
            assert run_egress("externalname", name, host, "-n", ns).code == 0
        for ns, tier in (("team-a", "gold"), ("team-b", "gold"), ("outside", "silver")):
            assert srv.request("PATCH", f"/api/v1/namespaces/{ns}/services/web",
                               {"metadata": {"labels": {"tier": tier}}},
                               content_type="application/merge-patch+json")[0] == 200
        yield srv


def items(res) -> list[dict]:
    assert res.out, res.err
    return res.json()["items"]


def stable(res) -> list[dict]:
    return [{k: v for k, v in item.items() if k != "observed"} for item in items(res)]


def sources_in(srv) -> set[str]:
    _, _, body = srv.request("GET", f"/apis/apps/v1/deployments?labelSelector={ROLE}")
    return {d["metadata"]["namespace"] for d in body["items"]}


def execs(srv) -> list[str]:
    return [r["path"].split("?")[0] for r in srv.requests() if r["path"].split("?")[0].endswith("/exec")]


def test_each_namespace_from_its_own_source_placed_only_where_needed(cluster, egress):
    res = egress("probe", "-A", "-l", "tier=gold", "--deploy-sources", "--all-sources", "-o", "json")
    assert res.code == 0, res.err
    got = [(r["namespace"], r["service"], r["source"].split("/")[0], r["result"], r["sidecar"]) for r in items(res)]
    assert got == [("team-a", "web", "team-a", "OK", "yes"), ("team-a", "web", "without-istio", "OK", "no"),
                   ("team-b", "web", "team-b", "OK", "yes"), ("team-b", "web", "without-istio", "OK", "no")]
    # where -l left services to probe, and nowhere else: not team-c, not idle
    assert sources_in(cluster) == {"team-a", "team-b", "without-istio"}
    table = egress("probe", "-A", "-l", "tier=gold", "--all-sources")
    assert table.code == 0
    assert table.lines[0].split()[:3] == ["NAMESPACE", "SERVICE", "SOURCE"]
    assert [line.split()[:2] for line in table.lines[1:]] == [["team-a", "web"]] * 2 + [["team-b", "web"]] * 2


def test_a_namespace_outside_the_mesh_is_probed_from_the_source_made_there(cluster, egress):
    """--deploy-sources makes its source there too; without injection it gets no sidecar, and its
    rows say so, with the command that puts the namespace in the mesh."""
    res = egress("probe", "-A", "-l", "tier=silver", "--deploy-sources", "-o", "json")
    assert res.code == 0, res.err
    [row] = items(res)
    assert (row["namespace"], row["source"].split("/")[0], row["result"], row["sidecar"]) == \
        ("outside", "outside", "OK", "no")
    assert row["hint"].startswith(f"the source pod {row['source']} has no istio-proxy sidecar: label its namespace "
                                  "(kubectl label namespace outside istio-injection=enabled)")


def test_a_namespace_without_a_source_is_named_or_probed_from_the_one_given(cluster, egress, kubectl):
    egress("probe", "-A", "-l", "tier=gold", "--deploy-sources", "--all-sources")
    cluster.clear_requests()
    missing = egress("probe", "-A", "--all-sources", "-l", "tier!=silver")
    assert missing.code == 1 and missing.out == ""
    assert missing.err.strip() == (
        "error: no ready source pod in the mesh (label app=curl or app=sleep, with a sidecar, or captured by "
        "ztunnel in an ambient namespace) in namespace team-c: add --deploy-sources to create them, or name one "
        "pod for the rest with --from POD --from-namespace NS")
    assert cluster.writes() == [] and execs(cluster) == []
    pod = kubectl("get", "pod", "-n", "team-a", "-l", ROLE, "-o", "jsonpath={.items[0].metadata.name}").out
    cluster.clear_requests()
    res = egress("probe", "-A", "--all-sources", "-l", "tier!=silver", "--from", "deploy/curl", "--from-namespace", "team-a",
                 "-o", "json")
    assert res.code == 0, res.err
    sources = {(r["namespace"], r["service"], r["source"]) for r in items(res) if "without-istio" not in r["source"]}
    assert sources == {("team-a", "api", f"team-a/{pod}"), ("team-a", "web", f"team-a/{pod}"),
                       ("team-b", "web", sources_of(items(res), "team-b")), ("team-c", "ext", f"team-a/{pod}")}
    assert sources_of(items(res), "team-b").startswith("team-b/")  # its own, not the one given
    # one exec per source pod: team-a's pod runs team-a's and team-c's checks at once
    assert sorted(execs(cluster)) == sorted({f"/api/v1/namespaces/{r['source'].split('/')[0]}/pods/"
                                             f"{r['source'].split('/')[1]}/exec" for r in items(res)})
    assert len(execs(cluster)) == 3
    assert cluster.writes() == []  # reading only: no source was missing


def sources_of(rows: list[dict], namespace: str) -> str:
    return next(r["source"] for r in rows if r["namespace"] == namespace and "without-istio" not in r["source"])


def test_the_pods_are_read_once_for_the_whole_cluster(cluster, egress):
    egress("probe", "-A", "-l", "tier=gold", "--deploy-sources", "--all-sources")
    cluster.clear_requests()
    assert egress("probe", "-A", "-l", "tier=gold", "--all-sources", "--summary").code == 0
    lists = [r["path"] for r in cluster.requests() if r["method"] == "GET" and "/pods" in r["path"]
             and not r["path"].split("?")[0].endswith("/exec")]
    assert [p.split("?")[0] for p in lists] == ["/api/v1/pods"]


def test_json_rows_can_be_diffed_between_runs(cluster, egress):
    egress("probe", "-A", "-l", "tier=gold", "--deploy-sources", "--all-sources")
    first = egress("probe", "-A", "-l", "tier=gold", "--all-sources", "--parallel", "1", "-o", "json")
    second = egress("probe", "-A", "-l", "tier=gold", "--all-sources", "--parallel", "8", "-o", "json")
    assert stable(first) == stable(second)
    assert set(items(first)[0]["observed"]) == {"time", "connectedTo"}
    assert [list(item) for item in items(first)][0] == [
        "code", "container", "curlExitCode", "ephemeral", "gid", "hint", "namespace", "observed", "pod",
        "podNamespace", "port", "result", "service", "sidecar", "source", "tlsOriginated", "uid", "url", "via",
        "viaEvidence"]


def test_summary_and_junit_name_the_broken_service(cluster, egress, kubectl, tmp_path):
    egress("probe", "-A", "-l", "tier=gold", "--deploy-sources", "--all-sources")
    assert kubectl("delete", "destinationrule", "web", "-n", "team-b").code == 0
    try:
        report = tmp_path / "probe.xml"
        res = egress("probe", "-A", "-l", "tier=gold", "--all-sources", "--summary", "--junit-file", str(report))
        assert res.code == 1, res.err
        assert res.lines[:3] == ["RESULT   CHECKS", "OK       3", "FAIL     1"]
        assert res.lines[4].split() == ["CHECKS", "RESULT", "SERVICES", "HINT"]
        assert res.lines[5].startswith("1        FAIL     team-b/web   the sidecar sent Istio mutual TLS to an external "
                                       "host, which cannot speak it: no DestinationRule with a non-mTLS mode applies "
                                       "to <service-host>")
        suite = ET.parse(report).getroot().find("testsuite")
        assert (suite.get("tests"), suite.get("failures")) == ("4", "1")
        failed = [c for c in suite.findall("testcase") if c.find("failure") is not None]
        assert [(c.get("classname"), c.get("name")) for c in failed] == [("team-b", "web:80 from team-b (mesh)")]
        message = failed[0].find("failure").get("message")
        assert "no DestinationRule with a non-mTLS mode applies to web.team-b.svc.cluster.local" in message
        assert message.endswith("fix: kubectl egress externalname web httpbin.org --tls-mode DISABLE -n team-b")
        summary = egress("probe", "-A", "-l", "tier=gold", "--all-sources", "--summary", "-o", "json")
        assert summary.json()["results"] == {"OK": 3, "FAIL": 1}
        assert summary.json()["hints"][0]["services"] == ["team-b/web"]
    finally:
        assert egress("externalname", "web", "httpbin.org", "-n", "team-b").code == 0


@pytest.mark.parametrize("args, said", [
    (["-A", "web"], "a resource cannot be retrieved by name across all namespaces"),
    (["-l", "tier=gold", "web"], "name cannot be provided when a selector is specified"),
    (["-l", "tier in gold"], "-l"),
    (["-A", "--host", "web=example.com"], "--host NAME=HOST names a service of one namespace"),
    (["--from-namespace", "team-a"], "--from-namespace goes with --from"),
    (["-A", "--from", "curl-1"], "with -A, --from needs --from-namespace NS"),
    (["-A", "--max-execs", "0"], "--max-execs must be from 1 to 256"),
    (["-A", "--image", "Not An Image"], 'invalid image name "Not An Image"'),
    (["-A", "--summary", "-o", "wide"], "--summary prints counts, not rows: drop -o wide"),
    (["-A", "--junit-file", "/nonexistent-dir/probe.xml"], "directory /nonexistent-dir does not exist"),
])
def test_bad_input_is_refused_before_anything_is_written(cluster, egress, tmp_path, args, said):
    cluster.clear_requests()
    res = egress("probe", "--deploy-sources", "--all-sources", *args)
    assert res.code == 2 and res.out == ""
    assert said in res.err and len(res.err.strip().splitlines()) == 1
    assert cluster.writes() == [] and execs(cluster) == []


def test_a_junit_file_that_is_a_directory(egress, tmp_path):
    res = egress("probe", "-A", "--junit-file", str(tmp_path))
    assert res.code == 2 and "is a directory: name a file" in res.err


# -- Pod Security "restricted" --------------------------------------------------------------------
def restricted(srv, name: str, mesh: bool) -> None:
    labels = {"pod-security.kubernetes.io/enforce": "restricted"}
    if mesh:
        labels["istio-injection"] = "enabled"
    else:
        labels.update({"istio-injection": "disabled"})
    assert srv.request("POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                                      "metadata": {"name": name, "labels": labels}})[0] == 201


def test_restricted_namespaces_admit_the_sources_with_istio_cni(apiserver, egress):
    """Istio's injected istio-init needs NET_ADMIN; with Istio CNI the injector adds istio-validation
    instead, which restricted admits (tests/apiserver/istio.py). Both sources run; the rows pass."""
    assert apiserver.request("POST", "/api/v1/namespaces/istio-system/configmaps", {
        "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "istio-sidecar-injector"},
        "data": {"values": json.dumps({"istio_cni": {"enabled": True}}), "config": "{}"}})[0] == 201
    restricted(apiserver, "strict", mesh=True)
    restricted(apiserver, "without-istio", mesh=False)
    assert egress("externalname", "web", "httpbin.org", "-n", "strict").code == 0
    res = egress("probe", "-A", "--deploy-sources", "--all-sources", "-o", "json")
    assert res.code == 0, res.err
    assert [(r["source"].split("/")[0], r["result"], r["sidecar"]) for r in items(res)] == [
        ("strict", "OK", "yes"), ("without-istio", "OK", "no")]
    assert "Warning" not in res.err  # nothing restricted would refuse, so no warning either
    _, _, pods = apiserver.request("GET", f"/api/v1/namespaces/strict/pods?labelSelector={ROLE}")
    spec = pods["items"][0]["spec"]
    assert spec["containers"][0]["image"] == manifests.PROBE_IMAGE
    assert [c["name"] for c in spec["initContainers"]] == ["istio-validation"]


def test_a_namespace_that_refuses_the_sources_says_why_at_once(apiserver, egress):
    """Without Istio CNI restricted refuses the injected pod: the ReplicaSet's FailedCreate, quoted."""
    restricted(apiserver, "strict", mesh=True)
    assert egress("externalname", "web", "httpbin.org", "-n", "strict").code == 0
    started = time.monotonic()
    res = egress("probe", "-n", "strict", "--deploy-sources")
    assert res.code == 1 and res.out == ""
    last = res.err.strip().splitlines()[-1]
    assert last.startswith('error: the source pods cannot be created in namespace strict: pods "curl-')
    assert 'is forbidden: violates PodSecurity "restricted:latest": ' in last
    assert last.endswith('is forbidden: violates PodSecurity "restricted:latest": unrestricted capabilities '
                         '(container "istio-init" must not include "NET_ADMIN", "NET_RAW" in '
                         'securityContext.capabilities.add), runAsNonRoot != true (container "istio-init" must not '
                         'set securityContext.runAsNonRoot=false), runAsUser=0 (container "istio-init" must not set '
                         'runAsUser=0)')
    assert '"curl"' not in last  # the source's own container is not what is refused
    assert time.monotonic() - started < 60  # not the 180 s wait for pods that will never come


def test_ambient_and_sidecar_namespaces_each_from_their_own_kind_of_source(make_apiserver, egress):
    """An ambient namespace's mesh source is a pod ztunnel captures, a sidecar namespace's one with a
    sidecar; --deploy-sources makes both, and each row shows what carried it (issue 9's evidence)."""
    srv = make_apiserver("1.24", ambient=True)  # namespace default is enrolled in ambient
    assert srv.request("POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {
        "name": "side", "labels": {"istio-injection": "enabled"}}})[0] == 201
    assert egress("externalname", "web", "httpbin.org").code == 0
    assert egress("externalname", "web", "httpbin.org", "-n", "side").code == 0
    res = egress("probe", "-A", "--deploy-sources", "-o", "json")
    assert res.code == 0, res.err
    assert [(r["namespace"], r["source"].split("/")[0], r["result"], r["sidecar"], r["via"]) for r in items(res)] == [
        ("default", "default", "OK", "no (ztunnel)", "ztunnel"), ("side", "side", "OK", "yes", "sidecar")]
