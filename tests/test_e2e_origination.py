"""Issue 11's "Done when", end to end: real `kubectl egress ...` and real kubectl against one
Istio 1.24 local cluster with real pods, shared by the module (each test cleans up after itself)."""
import json
import os
import subprocess

import pytest

from tests.apiserver import LocalAPIServer
from tests.conftest import plugin_path, run_kubectl
from tests.netns import requires_pod_networks
from tests.test_origination import ENTRY  # Istio's task, for site.example

pytestmark = requires_pod_networks


@pytest.fixture(scope="module")
def kubectl(tmp_path_factory, ca):
    tmp = tmp_path_factory.mktemp("e2e-origination")
    srv = LocalAPIServer(tmp / "kubeconfig", istio="1.24", ca=ca).start()
    env = {"KUBECONFIG": str(srv.kubeconfig_path), "KUBECACHEDIR": str(tmp / "cache")}

    def run(*args, input=None):
        return run_kubectl(*args, env=env, input=input)

    run.env = env
    deployed = run("egress", "probe", "--deploy-sources", "--all-sources")  # nothing to probe yet: sources only
    assert deployed.code == 0, deployed.err
    yield run
    srv.stop()


def rows(res):
    return {(r["service"], r["source"].split("/")[0]): r for r in json.loads(res.out)["items"]}


def shell(kubectl, command):
    """Run a fix as a user pastes it into a shell."""
    env = {**os.environ, "PATH": plugin_path(), **kubectl.env}
    return subprocess.run(command, shell=True, capture_output=True, text=True, env=env, timeout=60)


def test_service_entry_then_probe_ok_from_both_sources(kubectl):
    made = kubectl("egress", "serviceentry", "my-httpbin", "httpbin.org")
    assert made.out == "serviceentry.networking.istio.io/my-httpbin created\n"
    res = kubectl("egress", "probe", "--all-sources", "--deploy-sources")
    assert res.code == 0, res.out + res.err
    table = [line.split() for line in res.out.splitlines()]
    assert table[0] == ["SERVICE", "SOURCE", "URL", "RESULT", "CODE", "TIME", "SIDECAR"]
    assert [(r[0], r[1].split("/")[0], r[2], r[3], r[4], r[6]) for r in table[1:]] == [
        ("my-httpbin", "default", "http://httpbin.org/headers", "OK", "200", "yes"),
        ("my-httpbin", "without-istio", "http://httpbin.org/headers", "OK", "200", "no")]
    assert kubectl("egress", "clean", "my-httpbin").out == 'serviceentry.networking.istio.io "my-httpbin" deleted\n'


def test_externalname_with_tls_origination(kubectl):
    made = kubectl("egress", "externalname", "my-site", "site.example", "--tls-origination")
    assert made.code == 0, made.err
    res = kubectl("egress", "probe", "--all-sources")
    assert res.code == 0, res.out + res.err
    lines = res.out.splitlines()
    mesh, plain = lines[1].split(), lines[2].split()
    # the mesh source gets the HTTPS site's answer over plain HTTP, and the row says the sidecar originated TLS
    assert mesh[2:5] == ["http://my-site.default.svc.cluster.local/", "OK", "200"] and mesh[6:] == ["yes", "(TLS)"]
    # the source without a sidecar gets the site's redirect, and the row says why
    assert plain[2:5] == ["http://my-site.default.svc.cluster.local/", "OK", "301"] and plain[6:] == ["no"]
    assert lines[4].startswith(f"OK my-site from without-istio/{plain[1].split('/')[1]}: no sidecar here, so nothing "
                               "originates TLS: plain HTTP reached site.example, which redirects (301) to https://")
    data = rows(kubectl("egress", "probe", "--all-sources", "-o", "json"))
    assert data[("my-site", "default")]["tlsOriginated"] is True
    assert data[("my-site", "without-istio")]["tlsOriginated"] is False
    # what kubectl sees: the task's ServiceEntry and DestinationRule
    rule = json.loads(kubectl("get", "dr", "my-site", "-o", "json").out)["spec"]
    assert rule["trafficPolicy"]["portLevelSettings"][0]["tls"]["sni"] == "site.example"
    assert kubectl("egress", "check").code == 0
    kubectl("egress", "clean", "my-site")


def test_missing_sni_fails_with_its_hint_and_the_fix_works(kubectl):
    kubectl("egress", "externalname", "my-site", "site.example", "--tls-origination")
    tls = "/spec/trafficPolicy/portLevelSettings/0/tls"
    patched = kubectl("patch", "dr", "my-site", "--type=json", "-p",  # the task's rule: no sni, no names
                      f'[{{"op":"remove","path":"{tls}/sni"}},{{"op":"remove","path":"{tls}/subjectAltNames"}}]')
    assert patched.code == 0, patched.err
    res = kubectl("egress", "probe", "-o", "json")
    row = rows(res)[("my-site", "default")]
    assert res.code == 1 and row["result"] == "FAIL" and row["code"] == "503"
    assert row["hint"].startswith("missing SNI: the DestinationRule gives no sni, so the sidecar (Istio 1.21+) sent "
                                  "the Host header, my-site.default.svc.cluster.local, as SNI")
    fix = row["hint"].split("; fix: ")[1]
    assert fix == "kubectl egress externalname my-site site.example --tls-origination"
    assert shell(kubectl, fix).returncode == 0
    assert kubectl("egress", "probe").code == 0
    kubectl("egress", "clean", "my-site")


def test_double_tls_probe_and_check(kubectl):
    kubectl("egress", "externalname", "my-api", "httpbin.org", "--port", "443", "--protocol", "https",
            "--tls-mode", "SIMPLE")
    res = kubectl("egress", "probe", "-o", "json")
    row = rows(res)[("my-api", "default")]
    assert res.code == 1 and row["curlExitCode"] == 35
    assert row["hint"].startswith("double TLS: the DestinationRule originates TLS (mode SIMPLE) on port 443")
    found = json.loads(kubectl("egress", "check", "-o", "json").out)["items"]
    assert [f["code"] for f in found] == ["EG0007", "IST0128"]
    assert shell(kubectl, found[0]["fix"]).returncode == 0  # the check's fix: SIMPLE off on the TLS port
    assert kubectl("egress", "probe").code == 0
    assert json.loads(kubectl("egress", "check", "-o", "json").out)["items"] == []
    kubectl("egress", "clean", "my-api")


HAND_MADE = ENTRY.replace("name: site", "name: cnn") + """
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: cnn}
spec:
  host: site.example
  trafficPolicy:
    portLevelSettings:
    - port: {number: 80}
      tls: {mode: SIMPLE}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: https-twice}
spec:
  host: site.example
  trafficPolicy:
    portLevelSettings:
    - port: {number: 443}
      tls: {mode: SIMPLE, caCertificates: /etc/ssl/certs/ca-certificates.crt}
"""


def test_check_on_the_task_written_by_hand(kubectl):
    """The task's objects, as written by hand: no certificate check on 80, double TLS on 443."""
    assert kubectl("apply", "-f", "-", input=HAND_MADE).code == 0
    res = kubectl("egress", "check")
    assert res.code == 1
    found = json.loads(kubectl("egress", "check", "-o", "json").out)["items"]
    assert [(f["code"], f["object"]) for f in found] == [("EG0007", "DestinationRule default/https-twice"),
                                                         ("IST0129", "DestinationRule default/cnn")]
    assert "IST0129" in res.out and "  fix: kubectl patch destinationrule cnn --type=json" in res.out
    for finding in found:
        done = shell(kubectl, finding["fix"])
        assert done.returncode == 0, done.stderr
    assert kubectl("egress", "check").code == 0
    kubectl("delete", "se,dr", "--all")


def test_origination_up_to_istio_120(apiserver):
    """Legacy mode: the VirtualService hands the Service's traffic to the ServiceEntry that originates TLS."""
    from tests.conftest import run_kubectl as legacy  # the function-scoped Istio 1.20 cluster of `apiserver`
    made = legacy("egress", "externalname", "my-site", "site.example", "--tls-origination")
    assert made.lines[-1] == "virtualservice.networking.istio.io/my-site created"
    res = legacy("egress", "probe", "--deploy-sources", "--all-sources", "-o", "json")
    assert res.code == 0, res.out + res.err
    got = rows(res)
    assert (got[("my-site", "default")]["code"], got[("my-site", "default")]["tlsOriginated"]) == ("200", True)
    assert got[("my-site", "without-istio")]["code"] == "301"
