"""kubectl egress probe against the local cluster: real pods, real curl, real HTTP and TLS."""


import pytest

from tests.netns import requires_pod_networks

pytestmark = requires_pod_networks


@pytest.fixture
def recipes(apiserver, egress):
    assert egress("externalname", "my-httpbin", "httpbin.org").code == 0
    assert egress("endpoints", "my-wikipedia", "198.35.26.96", "208.80.153.224", "--port", "443",
                  "--host", "en.wikipedia.org").code == 0
    return apiserver


def rows(res):
    return res.json()["items"]


def test_both_recipes_from_both_sources(recipes, egress):
    res = egress("probe", "--deploy-sources", "--all-sources")
    assert res.code == 0, res.err
    lines = res.lines
    assert lines[0].split() == ["SERVICE", "SOURCE", "URL", "RESULT", "CODE", "TIME", "SIDECAR"]
    table = [line.split() for line in lines[1:]]
    assert [(r[0], r[1].split("/")[0], r[3], r[6]) for r in table] == [
        ("my-httpbin", "default", "OK", "yes"), ("my-httpbin", "without-istio", "OK", "no"),
        ("my-wikipedia", "default", "OK", "yes"), ("my-wikipedia", "without-istio", "OK", "no")]
    assert table[0][2] == "http://my-httpbin.default.svc.cluster.local/headers"
    assert table[2][2] == "https://en.wikipedia.org/"
    assert "waiting for the source pods to be ready: default/curl, without-istio/curl" in res.err
    again = egress("probe", "--deploy-sources", "--all-sources")
    assert "waiting" not in again.err and again.code == 0



@pytest.mark.parametrize("parallel", ["1", "2", "64"])
def test_the_same_rows_however_many_curls_run_at_once(recipes, egress, kubectl, parallel):
    """Mixed HTTP and TLS checks, with and without a sidecar, one by one or side by side."""
    egress("probe", "--deploy-sources", "--all-sources")
    kubectl("delete", "destinationrule", "my-wikipedia")  # one failing TLS row among passing ones
    for i in range(4):
        assert egress("externalname", f"extra-{i}", "httpbin.org").code == 0
    res = egress("probe", "--all-sources", "--parallel", parallel, "-o", "json")
    got = sorted((r["service"], r["source"].split("/")[0], r["result"], r["sidecar"]) for r in rows(res))
    expected = sorted([(name, "default", "OK", "yes") for name in ("extra-0", "extra-1", "extra-2", "extra-3",
                                                                   "my-httpbin")]
                      + [(name, "without-istio", "OK", "no") for name in ("extra-0", "extra-1", "extra-2",
                                                                          "extra-3", "my-httpbin", "my-wikipedia")]
                      + [("my-wikipedia", "default", "FAIL", "yes")])
    assert got == expected and res.code == 1

def test_missing_rule_fails_the_mesh_rows_with_the_mtls_hint(recipes, egress, kubectl):
    egress("probe", "--deploy-sources", "--all-sources")
    kubectl("delete", "destinationrule", "my-httpbin", "my-wikipedia")
    res = egress("probe", "--all-sources", "-o", "json")
    assert res.code == 1
    by = {(r["service"], r["source"].split("/")[0]): r for r in rows(res)}
    httpbin = by[("my-httpbin", "default")]
    assert (httpbin["result"], httpbin["code"]) == ("FAIL", "503")
    assert httpbin["hint"].startswith("the sidecar sent Istio mutual TLS to an external host")
    assert httpbin["hint"].endswith("fix: kubectl egress externalname my-httpbin httpbin.org --tls-mode DISABLE")
    wiki = by[("my-wikipedia", "default")]
    assert wiki["result"] == "FAIL" and "reset the TLS handshake" in wiki["hint"]
    assert by[("my-httpbin", "without-istio")]["result"] == "OK"
    assert by[("my-wikipedia", "without-istio")]["result"] == "OK"
    # the hint's command is the fix
    assert egress("externalname", "my-httpbin", "httpbin.org", "--tls-mode", "DISABLE").code == 0
    assert egress("probe", "my-httpbin").code == 0


def test_hints_and_their_fixes_go_below_the_table(recipes, egress, kubectl):
    egress("probe", "--deploy-sources", "--all-sources")
    kubectl("delete", "destinationrule", "my-httpbin", "my-wikipedia")
    res = egress("probe", "--all-sources")
    assert res.code == 1
    assert res.lines[0].split() == ["SERVICE", "SOURCE", "URL", "RESULT", "CODE", "TIME", "SIDECAR"]
    assert [line.split()[3] for line in res.lines[1:5]] == ["FAIL", "OK", "FAIL", "OK"]
    mesh = res.lines[1].split()[1]
    assert res.lines[5:] == [
        "",
        f"FAIL my-httpbin from {mesh}: the sidecar sent Istio mutual TLS to an external host, which cannot speak "
        "it: no DestinationRule with a non-mTLS mode applies to my-httpbin.default.svc.cluster.local",
        "  fix: kubectl egress externalname my-httpbin httpbin.org --tls-mode DISABLE",
        f"FAIL my-wikipedia from {mesh}: the sidecar reset the TLS handshake: Istio mutual TLS is applied to an "
        "external host (DestinationRule missing or in mode ISTIO_MUTUAL)",
        "  fix: kubectl egress endpoints my-wikipedia 198.35.26.96 208.80.153.224 --port 443 --host "
        "en.wikipedia.org --tls-mode DISABLE"]
    wide = egress("probe", "--all-sources", "-o", "wide")
    assert len(wide.lines) == 5  # -o wide keeps them in its HINT column, for scripts that read it
    assert wide.lines[1].endswith("; fix: kubectl egress externalname my-httpbin httpbin.org --tls-mode DISABLE")


def test_on_a_terminal_of_80_and_140_columns(recipes, egress, kubectl):
    """Through real kubectl on a pseudo-terminal, as in tmux: the header never wraps (at 80 columns the
    URL and TIME columns give way), hints wrap with a hanging indent, and each fix is one whole line."""
    import os

    from tests.conftest import plugin_path
    from tests.tty import run_on_terminal, visible

    egress("probe", "--deploy-sources", "--all-sources")
    kubectl("delete", "destinationrule", "my-httpbin", "my-wikipedia")
    fixes = [f"  fix: {r['hint'].split('; fix: ')[1]}" for r in rows(egress("probe", "--all-sources", "-o", "json"))
             if r["result"] == "FAIL"]
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "NO_COLOR")}
    env.update(PATH=plugin_path(), TERM="xterm-256color")
    for columns, header in [(80, ["SERVICE", "SOURCE", "RESULT", "CODE", "SIDECAR"]),
                            (140, ["SERVICE", "SOURCE", "URL", "RESULT", "CODE", "TIME", "SIDECAR"])]:
        res = run_on_terminal(["kubectl", "egress", "probe", "--all-sources"], columns, env)
        assert res.code == 1, res.err
        shown = visible(res.out).splitlines()
        assert shown[0].split() == header
        assert [line for line in shown if line.startswith("  fix: ")] == fixes
        assert all(len(line) <= columns for line in shown if line not in fixes)
        assert "\x1b[1;31mFAIL\x1b[0m" in res.out and "\x1b[32mOK\x1b[0m" in res.out


def test_wide_columns(recipes, egress):
    res = egress("probe", "--deploy-sources", "--without-istio", "-o", "wide")
    assert res.lines[0].split()[-2:] == ["CONNECTED-TO", "HINT"]
    assert res.lines[1].split()[7] == "203.0.113.80:80"
    assert all(line.split()[6] == "no" for line in res.lines[1:])


def test_a_target_that_would_break_a_shell_does_no_harm(recipes, egress, kubectl, tmp_path):
    marker = tmp_path / "pwned"
    nasty = f'x"; touch {marker}; echo "$(touch {marker})'
    kubectl("annotate", "svc", "my-wikipedia", "--overwrite", f"kubectl-egress/host={nasty}")
    res = egress("probe", "my-wikipedia", "--deploy-sources", "--without-istio", "-o", "json")
    assert not marker.exists()
    (row,) = rows(res)
    assert row["result"] == "FAIL"
    assert row["url"].startswith('https://x"; touch ')


def test_missing_sources_say_what_to_do(recipes, egress):
    res = egress("probe")
    assert res.code == 1
    assert res.err == ('error: no ready source pod with an Istio sidecar in namespace "default" (label '
                       "app=curl or app=sleep): add --deploy-sources to create one, or name one with "
                       "--from POD\n")
    res = egress("probe", "--without-istio", "--source-namespace", "elsewhere")
    assert "add --deploy-sources" in res.err


def test_from_a_named_pod_with_a_native_sidecar(recipes, egress, kubectl):
    pod = """
apiVersion: v1
kind: Pod
metadata: {name: native, labels: {sidecar.istio.io/inject: "false"}}
spec:
  initContainers:
  - {name: istio-proxy, image: docker.io/istio/proxyv2:1.24.3, restartPolicy: Always}
  containers:
  - {name: app, image: curlimages/curl, command: [sleep, infinity]}
"""
    assert kubectl("apply", "-f", "-", input=pod).code == 0
    assert kubectl("wait", "--for=condition=Ready", "pod/native", "--timeout=30s").code == 0
    res = egress("probe", "--from", "native", "-o", "json")
    assert res.code == 0, res.err
    assert [(r["source"], r["sidecar"]) for r in rows(res)] == [("default/native", "yes")] * 2
    missing = egress("probe", "--from", "ghost")
    assert missing.err == 'error: pod "ghost" not found in namespace "default" (--from)\n'


@pytest.mark.parametrize("host, args, hint", [
    ("slow.example.net", ["--timeout", "1s"], "no answer within --timeout=1s"),
    ("closed.example.net", [], "connection refused"),
    ("no-such-host.example", [], "DNS: "),
])
def test_failures_get_hints(apiserver, egress, host, args, hint):
    egress("externalname", "broken", host)
    res = egress("probe", "--deploy-sources", "--without-istio", "-o", "json", *args)
    assert res.code == 1
    (row,) = rows(res)
    assert row["result"] == "FAIL" and hint in row["hint"]


def test_wrong_protocol_name_gets_a_hint(apiserver, egress):
    egress("endpoints", "wiki-plain", "198.35.26.96", "--port", "443", "--protocol", "http",
           "--host", "en.wikipedia.org")
    res = egress("probe", "--deploy-sources", "--without-istio", "-o", "json")
    (row,) = rows(res)
    assert (row["result"], row["code"]) == ("FAIL", "400")
    assert row["hint"].endswith("fix: kubectl egress endpoints wiki-plain 198.35.26.96 --port 443 --protocol "
                                "https --host en.wikipedia.org")


def test_clean_removes_the_sources(recipes, egress, kubectl):
    egress("probe", "--deploy-sources", "--all-sources")
    res = egress("clean")
    assert res.lines[-3:] == ['deployment.apps "curl" deleted', 'serviceaccount "curl" deleted',
                              'namespace "without-istio" deleted']
    assert kubectl("get", "deploy", "-n", "default", "-o", "name").out == ""


@pytest.mark.parametrize("args, message", [
    (["--timeout", "0"], "--timeout must be more than 0"),
    (["--path", "headers"], '--path "headers" must start with "/"'),
    (["--from", "Bad_Pod"], '--from "Bad_Pod" is not a valid pod name'),
    (["--without-istio", "--from", "x"], "--from names the mesh source"),
    (["--parallel", "0"], "--parallel must be from 1 to 64"),
    (["--parallel", "65"], "--parallel must be from 1 to 64"),
    (["--parallel", "many"], "Invalid value for '--parallel': 'many' is not a valid integer"),
])
def test_bad_probe_flags(apiserver, egress, args, message):
    apiserver.clear_requests()
    res = egress("probe", *args)
    assert res.code == 2 and message in res.err
    assert apiserver.requests() == []


def test_nothing_to_probe(apiserver, egress):
    res = egress("probe")
    assert (res.code, res.err) == (0, "No resources found in default namespace.\n")


def test_probe_through_kubectl(recipes, kubectl):
    res = kubectl("egress", "probe", "--deploy-sources", "--all-sources")
    assert res.code == 0, res.err
    assert len(res.out.splitlines()) == 5



HAND_MADE = """
apiVersion: v1
kind: Service
metadata: {name: wiki-sni}
spec: {ports: [{name: tls, port: 443}]}
---
apiVersion: v1
kind: Endpoints
metadata: {name: wiki-sni}
subsets: [{addresses: [{ip: 198.35.26.96}], ports: [{name: tls, port: 443}]}]
---
apiVersion: networking.istio.io/v1beta1
kind: DestinationRule
metadata: {name: wiki-sni}
spec: {host: wiki-sni, trafficPolicy: {tls: {mode: DISABLE, sni: en.wikipedia.org}}}
---
apiVersion: v1
kind: Service
metadata: {name: wiki-se, labels: {app.kubernetes.io/managed-by: argocd}}
spec: {ports: [{name: https, port: 443}]}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: wiki-se-1, labels: {kubernetes.io/service-name: wiki-se}}
addressType: IPv4
endpoints: [{addresses: [208.80.153.224]}]
ports: [{name: https, port: 443}]
---
apiVersion: networking.istio.io/v1beta1
kind: ServiceEntry
metadata: {name: wikipedia}
spec:
  hosts: [en.wikipedia.org]
  ports: [{number: 443, name: tls, protocol: TLS}]
  resolution: STATIC
  endpoints: [{address: 208.80.153.224}]
---
apiVersion: networking.istio.io/v1beta1
kind: DestinationRule
metadata: {name: wiki-se}
spec: {host: wiki-se.default.svc.cluster.local, trafficPolicy: {tls: {mode: DISABLE}}}
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec: {selector: {app: web}, ports: [{name: http, port: 80}]}
"""


def test_hand_made_services_take_their_host_from_the_cluster(apiserver, egress, kubectl):
    """A DestinationRule's tls.sni, or a ServiceEntry's host, names the host of a hand-made TLS
    port; the probe writes nothing but its own sources."""
    from tests.test_commands import kubectl_apply
    kubectl_apply(kubectl, HAND_MADE)
    assert egress("probe", "--deploy-sources", "--all-sources", "wiki-sni").code == 0
    apiserver.clear_requests()
    res = egress("probe", "--all-sources", "-o", "json")
    assert res.code == 0, res.out + res.err
    got = sorted((r["service"], r["source"].split("/")[0], r["url"], r["result"], r["sidecar"])
                 for r in rows(res))
    assert got == [("wiki-se", "default", "https://en.wikipedia.org/", "OK", "yes"),
                   ("wiki-se", "without-istio", "https://en.wikipedia.org/", "OK", "no"),
                   ("wiki-sni", "default", "https://en.wikipedia.org/", "OK", "yes"),
                   ("wiki-sni", "without-istio", "https://en.wikipedia.org/", "OK", "no")]
    assert {r["observed"]["connectedTo"].split(":")[0] for r in rows(res) if r["service"] == "wiki-sni"} == {
        kubectl("get", "svc", "wiki-sni", "-o", "jsonpath={.spec.clusterIP}").out}
    assert [r for r in apiserver.writes() if not r["path"].endswith("/exec")] == []
    wrong = egress("probe", "web")
    assert wrong.code == 1 and 'service "web" is not an egress service' in wrong.err
    assert egress("probe", "wiki-sni", "--host", "nope=a.example").code == 2
    assert egress("externalname", "ext", "httpbin.org").code == 0
    apiserver.clear_requests()
    pointless = egress("probe", "--host", "ext=other.example")
    assert pointless.code == 1 and "--host ext=other.example: ext has no TLS port with endpoints" in pointless.err
    assert apiserver.writes() == []
