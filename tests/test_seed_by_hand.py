"""The issue's "Done when", end to end: Istio's task followed by hand, then the plugin on it.

Istio's task "Kubernetes Services for Egress Traffic" (SCENARIO.md, seed/), literally: the
`sleep` sample in `default` and in `without-istio`, `kubectl apply` of the task's Service,
v1 Endpoints and DestinationRules (networking.istio.io/v1). Then, through real kubectl:
`kubectl egress probe --all-sources` gives four OK rows; with the my-httpbin rule deleted, the
sidecar row fails with the hint, exit 1; `kubectl egress clean` leaves every hand-made object.

The mesh: the task's rules on `my-httpbin.default.svc.cluster.local` apply where an
ExternalName Service is a mesh service of its own (up to 1.20, or 1.21 to 1.23 with the
documented opt-out ENABLE_EXTERNAL_NAME_ALIAS=false), and `networking.istio.io/v1` is served
from 1.22: so Istio 1.22 with the opt-out, set on istiod as its upgrade notes say.
"""
from __future__ import annotations

import json
import time

import pytest

from tests.conftest import _server, _use
from tests.netns import requires_pod_networks
from tests.seed import SLEEP_SAMPLE, TASK

pytestmark = requires_pod_networks

@pytest.fixture
def seeded(tmp_path, ca, monkeypatch, kubectl):
    srv = _server(tmp_path, ca, "1.22")
    _use(srv, tmp_path, monkeypatch)
    try:
        # Istio 1.21-1.23's opt-out of alias mode, on istiod as its release notes set it
        assert kubectl("set", "env", "deployment/istiod", "-n", "istio-system",
                       "ENABLE_EXTERNAL_NAME_ALIAS=false").code == 0
        # before you begin: the sleep sample with a sidecar, and without one in without-istio
        assert kubectl("apply", "-f", "-", input=SLEEP_SAMPLE).code == 0
        assert kubectl("create", "namespace", "without-istio").code == 0
        assert kubectl("apply", "-f", "-", "-n", "without-istio", input=SLEEP_SAMPLE).code == 0
        for manifest in TASK:
            done = kubectl("apply", "-f", "-", input=manifest)
            assert done.code == 0, done.err
        deadline = time.monotonic() + 60
        while True:  # kubectl wait --for=condition=Ready pod -l app=sleep, in both namespaces
            pods = [json.loads(kubectl("get", "pods", "-n", ns, "-l", "app=sleep", "-o", "json").out)["items"]
                    for ns in ("default", "without-istio")]
            if all(any(c["type"] == "Ready" and c["status"] == "True" for p in items
                       for c in p.get("status", {}).get("conditions", [])) for items in pods):
                break
            assert time.monotonic() < deadline, "the sleep pods did not become ready"
            time.sleep(0.2)
        yield srv
    finally:
        srv.stop()


def objects(kubectl) -> list[str]:
    listed = kubectl("get", "svc,endpoints,endpointslices,destinationrules,serviceaccounts,deployments",
                     "-A", "-o", "name")
    return sorted(listed.lines)


def test_the_seed_by_hand_then_probe_and_clean(seeded, kubectl):
    assert "ENABLE_EXTERNAL_NAME_ALIAS=false" in kubectl("egress", "version").out  # legacy mode, and why
    res = kubectl("egress", "probe", "--all-sources")
    assert res.code == 0, res.out + res.err
    table = res.out.split("\n\n")[0].splitlines()  # the table, then a note per hinted row
    rows = [line.split() for line in table[1:]]
    assert [(r[0], r[1].split("/")[0], r[1].split("/")[1].startswith("sleep-"), r[3], r[6]) for r in rows] == [
        ("my-httpbin", "default", True, "OK", "yes"), ("my-httpbin", "without-istio", True, "OK", "no"),
        ("my-wikipedia", "default", True, "OK", "yes"), ("my-wikipedia", "without-istio", True, "OK", "no")]
    cluster_ip = json.loads(kubectl("get", "svc", "my-wikipedia", "-o", "json").out)["spec"]["clusterIP"]
    # no host name for the hand-made TLS port: the handshake through the cluster IP, and the row says so
    assert rows[2][2] == f"https://{cluster_ip}/"
    assert (f"OK my-wikipedia from default/{rows[2][1].split('/')[1]}: no host name is known for port 443, so only "
            f"the TLS handshake through {cluster_ip}:443 was checked: its certificate names en.wikipedia.org") in res.out
    assert "  fix: kubectl egress probe my-wikipedia --host my-wikipedia=en.wikipedia.org\n" in res.out
    full = kubectl("egress", "probe", "my-wikipedia", "--all-sources", "--host", "my-wikipedia=en.wikipedia.org")
    assert full.code == 0 and [line.split()[2] for line in full.lines[1:]] == ["https://en.wikipedia.org/"] * 2

    hand_made = objects(kubectl)
    assert kubectl("delete", "destinationrule", "my-httpbin").code == 0
    broken = kubectl("egress", "probe", "--all-sources", "-o", "json")
    assert broken.code == 1
    by = {(r["service"], r["source"].split("/")[0]): r for r in json.loads(broken.out)["items"]}
    assert [by[k]["result"] for k in sorted(by)] == ["FAIL", "OK", "OK", "OK"]
    sidecar = by[("my-httpbin", "default")]
    assert (sidecar["code"], sidecar["sidecar"]) == ("503", "yes")
    assert sidecar["hint"] == (
        "the sidecar sent Istio mutual TLS to an external host, which cannot speak it: no DestinationRule with "
        "a non-mTLS mode applies to my-httpbin.default.svc.cluster.local; fix: kubectl egress externalname "
        "my-httpbin httpbin.org --tls-mode DISABLE --force")

    cleaned = kubectl("egress", "clean")
    assert (cleaned.code, cleaned.out) == (0, "")
    assert objects(kubectl) == [o for o in hand_made if o != "destinationrule.networking.istio.io/my-httpbin"]
