"""kubectl egress probe --from TYPE/NAME against the local cluster: the application's own pods, in their
own namespace, through their own sidecar; an ephemeral container where the image has no shell or curl
or the container runs as the proxy's UID; Pod Security "restricted"; the read-only context.
One cluster for the module: each test uses workloads of its own."""
from __future__ import annotations

import io
import json

import pytest

from tests.conftest import run_egress, run_kubectl, serving
# Istio CNI lets injected pods pass "restricted" (istio-validation instead of istio-init): namespace
# strict-mesh enforcing it, and its Deployment meshed on a distroless nonroot image
from tests.test_debug_e2e import MESHED_STRICT as RESTRICTED_MESH
from tests.netns import requires_pod_networks

WORKLOADS = """
apiVersion: v1
kind: Namespace
metadata: {name: shop, labels: {istio-injection: enabled}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: app, image: gcr.io/distroless/static-debian12, command: ["/app"]}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: fresh, namespace: shop}
spec:
  selector: {matchLabels: {app: fresh}}
  template:
    metadata: {labels: {app: fresh}}
    spec:
      containers: [{name: app, image: gcr.io/distroless/static-debian12, command: ["/app"]}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: plain, namespace: shop}
spec:
  selector: {matchLabels: {app: plain}}
  template:
    metadata: {labels: {app: plain}}
    spec:
      containers: [{name: app, image: curlimages/curl, command: [sleep, "3600"]}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: as-proxy, namespace: shop}
spec:
  selector: {matchLabels: {app: as-proxy}}
  template:
    metadata: {labels: {app: as-proxy}}
    spec:
      containers:
      - {name: app, image: curlimages/curl, command: [sleep, "3600"], securityContext: {runAsUser: 1337}}
---
apiVersion: v1
kind: Namespace
metadata: {name: late}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: rooty, namespace: late}
spec:
  selector: {matchLabels: {app: rooty}}
  template:
    metadata: {labels: {app: rooty}}
    spec:
      containers: [{name: app, image: gcr.io/distroless/static-debian12, command: ["/app"]}]
"""


@pytest.fixture(scope="module")
def cluster(ca, tmp_path_factory):
    with serving(tmp_path_factory.mktemp("probe-from"), ca) as srv:
        assert run_egress("externalname", "my-httpbin", "httpbin.org").code == 0
        assert run_egress("endpoints", "my-wikipedia", "198.35.26.96", "208.80.153.224", "--port", "443",
                          "--host", "en.wikipedia.org").code == 0
        for manifest, waits in ((WORKLOADS, ("shop", "late")), (RESTRICTED_MESH, ("strict-mesh",))):
            applied = run_kubectl("apply", "-f", "-", input=manifest)
            assert applied.code == 0, applied.err
            for ns in waits:
                waited = run_kubectl("wait", "--for=condition=Ready", "pod", "--all", "-n", ns, "--timeout=60s")
                assert waited.code == 0, waited.err
        yield srv


def rows(res) -> list[dict]:
    assert res.out, res.err
    return res.json()["items"]


def pod(name: str, ns: str) -> dict:
    return json.loads(run_kubectl("get", "pod", "-n", ns, name, "-o", "json").out)


def ephemeral_names(name: str, ns: str) -> list[str]:
    return [c["name"] for c in pod(name, ns)["spec"].get("ephemeralContainers") or []]


@requires_pod_networks
def test_a_distroless_deployment_through_its_own_sidecar_with_one_container_however_often(cluster):
    first = run_egress("probe", "--from", "deploy/web", "--from-namespace", "shop", "-o", "json")
    assert first.code == 0, first.err
    got = rows(first)
    assert [(r["service"], r["result"], r["sidecar"], r["ephemeral"], r["uid"], r["gid"]) for r in got] == [
        ("my-httpbin", "OK", "yes", True, 100, 101), ("my-wikipedia", "OK", "yes", True, 100, 101)]
    (where,) = {(r["podNamespace"], r["pod"], r["container"]) for r in got}
    assert where[0] == "shop" and where[2].startswith("egress-probe-") and got[0]["source"] == f"shop/{where[1]}"
    assert "container app's image gcr.io/distroless/static-debian12 has no shell" in first.err
    assert "UID 100, not the proxy's 1337 whose traffic bypasses the sidecar" in first.err
    assert "it stays until the pod is replaced" in first.err
    # twice: the same container, not a second one; nothing said about it
    again = run_egress("probe", "--from", "deploy/web", "--from-namespace", "shop", "-o", "json")
    assert again.code == 0 and again.err == ""
    assert {(r["pod"], r["container"]) for r in rows(again)} == {where[1:]}
    assert ephemeral_names(where[1], "shop") == [where[2]]
    spec = next(c for c in pod(where[1], "shop")["spec"]["ephemeralContainers"])
    assert spec["image"].startswith("curlimages/curl:8.11.1@sha256:")
    # and through real kubectl, where the table says where the probe ran
    res = run_kubectl("egress", "probe", "--from", "deploy/web", "--from-namespace", "shop")
    assert res.code == 0, res.err
    assert res.lines[0].split() == ["SERVICE", "SOURCE", "CONTAINER", "URL", "RESULT", "CODE", "TIME", "SIDECAR"]
    assert res.lines[1].split()[1:4] == [f"shop/{where[1]}", where[2], "(ephemeral)"]


@requires_pod_networks
def test_every_ready_pod_with_all_pods(cluster):
    res = run_egress("probe", "my-httpbin", "--from", "deploy/web", "--from-namespace", "shop", "--all-pods",
                     "-o", "json")
    assert res.code == 0, res.err
    names = sorted(run_kubectl("get", "pod", "-n", "shop", "-l", "app=web", "-o",
                               "jsonpath={.items[*].metadata.name}").out.split())
    assert [r["pod"] for r in rows(res)] == names and len(names) == 2
    assert all(r["result"] == "OK" and r["sidecar"] == "yes" for r in rows(res))


@requires_pod_networks
def test_a_container_that_can_probe_is_used_as_it_is(cluster):
    res = run_egress("probe", "my-httpbin", "--from", "deploy/plain", "--from-namespace", "shop", "-o", "json")
    assert res.code == 0, res.err
    (row,) = rows(res)
    assert (row["container"], row["ephemeral"], row["uid"], row["sidecar"]) == ("app", False, 100, "yes")
    name = row["pod"]
    assert not any(n.startswith("egress-probe-") for n in ephemeral_names(name, "shop"))
    # -c names it, and a pod by name works as well
    res = run_egress("probe", "my-httpbin", "--from", f"pod/{name}", "--from-namespace", "shop", "-c", "app",
                     "-o", "json")
    assert res.code == 0 and rows(res)[0]["container"] == "app"


@requires_pod_networks
def test_ephemeral_and_image(cluster):
    """--ephemeral even where the container could probe; --image must be a curl image with a sh."""
    res = run_egress("probe", "my-httpbin", "--from", "deploy/plain", "--from-namespace", "shop", "--ephemeral",
                     "-o", "json")
    assert res.code == 0, res.err
    (row,) = rows(res)
    assert (row["ephemeral"], row["uid"], row["sidecar"]) == (True, 100, "yes")
    assert "--ephemeral was given, so the probe runs in ephemeral container" in res.err
    res = run_egress("probe", "my-httpbin", "--from", "deploy/plain", "--from-namespace", "shop", "--ephemeral",
                     "--image", "busybox:1.36")
    assert res.code == 1 and res.out == ""
    assert res.err.splitlines()[-1] == ("error: the image busybox:1.36 has no curl; give --image a curl image "
                                        "(such as curlimages/curl:8.11.1)")
    # the pinned image's container is still the one reused
    again = run_egress("probe", "my-httpbin", "--from", "deploy/plain", "--from-namespace", "shop", "--ephemeral",
                       "-o", "json")
    assert again.code == 0 and again.err == "" and rows(again)[0]["container"] == row["container"]


@requires_pod_networks
def test_a_container_running_as_the_proxys_uid_is_corrected(cluster):
    """curl as UID 1337 would bypass the sidecar (the emulator's capture honours the owner match):
    the probe runs from an ephemeral container as UID 100 instead, and says so."""
    res = run_egress("probe", "my-httpbin", "--from", "deploy/as-proxy", "--from-namespace", "shop", "-o", "json")
    assert res.code == 0, res.err
    (row,) = rows(res)
    assert (row["ephemeral"], row["uid"], row["sidecar"]) == (True, 100, "yes")
    assert "container app runs as UID 1337 is the proxy's (istio-init -u 1337), whose traffic bypasses the " \
           "sidecar" in res.err
    # what that container itself would have shown: curl's request never met the sidecar
    direct = run_kubectl("exec", "-n", "shop", row["pod"], "-c", "app", "--", "curl", "-sS",
                         "http://my-httpbin.default.svc.cluster.local/headers")
    assert direct.code == 0 and "X-Envoy-Decorator-Operation" not in json.loads(direct.out)["headers"]
    # what the spec does not say, the probe's guard finds out before any curl: here the pod as read
    # hides the securityContext, as an image whose USER is 1337 would
    from kubectl_egress import placement, probe
    from kubectl_egress.app import App
    from kubectl_egress.printers import Printer

    app = App.from_raw({})
    kube = app.kube()
    obj = pod(row["pod"], "shop")
    hidden = json.loads(json.dumps(obj))
    hidden["spec"]["containers"][0].pop("securityContext")
    source = probe.Source("shop", row["pod"], "app", True, True)
    argv = probe.command([], 10, "n0nce")
    err = io.StringIO()
    ran = placement.run(kube, source, argv, "n0nce", 30, placement.Placement(), Printer(stderr=err), hidden)
    assert (ran.source.container, ran.source.ephemeral, ran.source.uid) == (row["container"], True, 100)
    assert err.getvalue() == ""  # the running probe container was reused


@requires_pod_networks
def test_a_namespace_enforcing_restricted_with_istio_cni(cluster):
    res = run_egress("probe", "--from", "deploy/meshed", "--from-namespace", "strict-mesh", "-o", "json")
    assert res.code == 0, res.err
    assert [(r["result"], r["sidecar"], r["ephemeral"]) for r in rows(res)] == [("OK", "yes", True)] * 2
    init = pod(rows(res)[0]["pod"], "strict-mesh")["spec"]["initContainers"]
    assert "istio-validation" in [c["name"] for c in init]


@requires_pod_networks
def test_the_read_only_context_changes_nothing(cluster):
    name = run_kubectl("get", "pod", "-n", "shop", "-l", "app=fresh", "-o", "jsonpath={.items[0].metadata.name}").out
    cluster.clear_requests()
    res = run_egress("--context", "local-readonly", "probe", "--from", "deploy/fresh", "--from-namespace", "shop")
    assert res.code == 1 and res.out == ""
    assert res.err.count("\n") == 1 and "pods/ephemeralcontainers" in res.err
    assert res.err.startswith(f"error: kubectl-egress may not add its probe container to pod shop/{name}: ")
    assert 'verbs ["patch"] on resources ["pods/ephemeralcontainers"]' in res.err
    tried = [(w["method"], w["path"].split("?")[0]) for w in cluster.writes() if "/_local/" not in w["path"]]
    assert tried == [("PATCH", f"/api/v1/namespaces/shop/pods/{name}/ephemeralcontainers")]  # refused
    assert ephemeral_names(name, "shop") == []


@requires_pod_networks
def test_a_pod_security_refusal_quotes_the_server(cluster):
    assert run_kubectl("label", "namespace", "late", "pod-security.kubernetes.io/enforce=restricted").code == 0
    name = run_kubectl("get", "pod", "-n", "late", "-l", "app=rooty", "-o", "jsonpath={.items[0].metadata.name}").out
    res = run_egress("probe", "--from", "deploy/rooty", "--from-namespace", "late")
    assert res.code == 1 and res.out == "" and res.err.count("\n") == 1
    assert res.err.startswith(f"error: Pod Security admission refused the probe's ephemeral container in pod "
                              f'late/{name}: violates PodSecurity "restricted:latest": ')
    assert 'container "app"' in res.err  # the application's container is what restricted refuses
    assert ephemeral_names(name, "late") == []


@requires_pod_networks
def test_workloads_that_are_not_there(cluster):
    res = run_egress("probe", "--from", "deploy/ghost", "--from-namespace", "shop")
    assert (res.code, res.err) == (1, 'error: deployments.apps "ghost" not found in namespace "shop" (--from)\n')
    res = run_egress("probe", "--from", "svc/my-httpbin")
    assert res.code == 1 and "Service is defined without a selector" in res.err
    res = run_egress("probe", "--from", "deploy/web", "--from-namespace", "shop", "-c", "sidecar")
    assert res.code == 1 and 'container "sidecar" is not in pod shop/' in res.err


@pytest.mark.parametrize("args,message", [
    (["--from", "cm/settings"], '--from "cm/settings": kubectl-egress probes from pods; give POD, pod/NAME'),
    (["--from", "deploy/web", "-c", "istio-proxy"], "-c istio-proxy: the proxy's own traffic (UID 1337) bypasses"),
    (["--from", "deploy/web", "--image", "curl:8:11"], 'invalid image name "curl:8:11": invalid reference format'),
    (["-c", "app"], "-c goes with --from (e.g. --from deploy/web -c app)"),
    (["--all-pods"], "--all-pods goes with --from"),
    (["--from-namespace", "shop"], "--from-namespace goes with --from (e.g. --from deploy/web --from-namespace NS)"),
    (["--from", "deploy/web", "--from-namespace", "Shop"], 'namespace "Shop" is not a valid namespace name'),
])
def test_bad_input_exits_2_before_any_request(args, message, monkeypatch, tmp_path):
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "none"))  # nothing to connect to: nothing is sent
    res = run_egress("probe", *args)
    assert res.code == 2 and res.out == "" and res.err.count("\n") == 1
    assert res.err.startswith(f"error: {message}")
