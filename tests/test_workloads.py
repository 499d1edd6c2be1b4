"""Probing from a workload's pods, the pure parts: --from as kubectl parses TYPE/NAME, the pod kubectl
exec picks (podutils.ActivePods, vectors from kubectl pkg/util/podutils/podutils_test.go), the probe's
user against Istio's owner rules, its guard script, the ephemeral container and its image reference."""
from __future__ import annotations

import subprocess

import pytest

from kubectl_egress import manifests, placement, validate, workloads
from kubectl_egress.errors import UsageError
from kubectl_egress.probe import runas

# -- --from -----------------------------------------------------------------------------------------
PARSED = [
    ("web-7d4b9-x2x4z", "pods", "web-7d4b9-x2x4z"),  # a bare name is a pod (ResourceNames("pods", ...))
    ("pod/x", "pods", "x"),
    ("po/x", "pods", "x"),
    ("pods/x", "pods", "x"),
    ("deploy/web", "deployments", "web"),
    ("deployment/web", "deployments", "web"),
    ("Deployment/web", "deployments", "web"),  # kinds match without regard to case
    ("deployments.apps/web", "deployments", "web"),
    ("deployment.v1.apps/web", "deployments", "web"),
    ("sts/db", "statefulsets", "db"),
    ("statefulsets.apps/db", "statefulsets", "db"),
    ("ds/agent", "daemonsets", "agent"),
    ("rs/web-7d4b9", "replicasets", "web-7d4b9"),
    ("rc/old", "replicationcontrollers", "old"),
    ("job/batch-1", "jobs", "batch-1"),
    ("jobs.batch/batch-1", "jobs", "batch-1"),
    ("svc/web", "services", "web"),
]


@pytest.mark.parametrize("text,plural,name", PARSED)
def test_from_takes_kubectls_forms(text, plural, name):
    ref = workloads.parse(text)
    assert (ref.kind.resource.plural, ref.name) == (plural, name)


@pytest.mark.parametrize("text,message", [
    ("cm/settings", 'kubectl-egress probes from pods; give POD, pod/NAME, deploy/NAME'),
    ("deploy.apps/web", "kubectl-egress probes from pods"),  # a short name takes no group
    ("pods.v1/x", "kubectl-egress probes from pods"),  # nor does the core group
    ("deploy/", '"" is not a valid deployment name'),
    ("deploy/Web", '"Web" is not a valid deployment name'),
    ("deploy/a/b", '"a/b" is not a valid deployment name'),
])
def test_from_refuses_what_kubectl_could_not_attach_to(text, message):
    with pytest.raises(UsageError, match=message.replace(".", r"\.").replace("(", r"\(")):
        workloads.parse(text)


@pytest.mark.parametrize("selector,query", [
    ({"matchLabels": {"app": "web", "tier": "front"}}, "app=web,tier=front"),
    ({"matchExpressions": [{"key": "env", "operator": "In", "values": ["b", "a"]},
                           {"key": "canary", "operator": "DoesNotExist"},
                           {"key": "team", "operator": "Exists"},
                           {"key": "zone", "operator": "NotIn", "values": ["x"]}]},
     "env in (a,b),!canary,team,zone notin (x)"),
])
def test_label_selectors_as_kubectl_sends_them(selector, query):
    assert workloads.label_selector(selector) == query


T1, T2, T3 = "2025-01-01T00:00:00Z", "2025-01-01T00:00:01Z", "2025-01-01T00:00:02Z"


def _pod(name, node="node1", phase="Running", ready_at=None, deleting=None, created=None, restarts=None,
         sidecar_restarts=None) -> dict:
    status: dict = {"phase": phase}
    if ready_at:
        status["conditions"] = [{"type": "Ready", "status": "True", "lastTransitionTime": ready_at}]
    if restarts is not None:
        status["containerStatuses"] = [{"restartCount": restarts}]
    spec: dict = {"nodeName": node} if node else {}
    if sidecar_restarts is not None:
        spec["initContainers"] = [{"name": "sidecar", "restartPolicy": "Always"}]
        status["initContainerStatuses"] = [{"name": "sidecar", "restartCount": sidecar_restarts}]
    meta = {"name": name, **({"deletionTimestamp": deleting} if deleting else {}),
            **({"creationTimestamp": created} if created else {})}
    return {"metadata": meta, "spec": spec, "status": status}


# TestActivePods: pod1 sorts before pod2 (is less active); kubectl picks the most active, so pod2
ACTIVE = [
    ("unassigned before assigned", _pod("unassignedPod", node="", phase=""), _pod("assignedPod", phase="")),
    ("pending before unknown", _pod("pendingPod", phase="Pending"), _pod("unknownPod", phase="Unknown", created=T1)),
    ("unknown before running", _pod("unknownPod", phase="Unknown", created=T1), _pod("runningPod", created=T1)),
    ("unready before ready", _pod("unreadyPod"), _pod("readyPod", ready_at=T1)),
    ("deleting before not deleting", _pod("readyPodDeleting", ready_at=T1, deleting=T2), _pod("readyPod", ready_at=T1)),
    ("older deletion before newer", _pod("readyPodDeletingOlder", ready_at=T1, deleting=T2),
     _pod("readyPodDeletingNewer", ready_at=T1, deleting=T3)),
    ("newer ready before older ready", _pod("newerReadyPod", ready_at=T3), _pod("olderReadyPod", ready_at=T2)),
    ("more restarts before fewer", _pod("podWithMoreRestarts", ready_at=T1, restarts=3),
     _pod("podWithLessRestarts", ready_at=T1, restarts=2)),
    ("newer creation before older", _pod("newerCreationPod", ready_at=T1, created=T3),
     _pod("olderCreationPod", ready_at=T1, created=T2)),
    ("more sidecar restarts before fewer", _pod("podWithMoreRestarts", ready_at=T1, restarts=3, sidecar_restarts=3),
     _pod("podWithLessRestarts", ready_at=T1, restarts=3, sidecar_restarts=2)),
]


@pytest.mark.parametrize("name,pod1,pod2", ACTIVE, ids=[a[0] for a in ACTIVE])
def test_the_pod_kubectl_exec_picks(name, pod1, pod2):
    assert workloads.most_active_first([pod1, pod2]) == [pod2, pod1]
    assert workloads.most_active_first([pod2, pod1]) == [pod2, pod1]


# -- the probe's user -------------------------------------------------------------------------------
def _meshed(init_args=None, proxy_sc=None) -> dict:
    spec: dict = {"containers": [{"name": "app"}, {"name": "istio-proxy", "securityContext": proxy_sc or {}}]}
    if init_args is not None:
        spec["initContainers"] = [{"name": "istio-init", "args": init_args}]
    return {"spec": spec}


@pytest.mark.parametrize("pod,sidecar,uids,gids", [
    (_meshed(["istio-iptables", "-p", "15001", "-u", "1337", "-m", "REDIRECT"]), True, (1337,), (1337,)),
    (_meshed(["-u", "1337", "-g", "1338"]), True, (1337,), (1338,)),
    (_meshed(), True, (1337,), (1337,)),  # Istio CNI: istio-proxy's user, 1337 when unset
    (_meshed(proxy_sc={"runAsUser": 1000650000, "runAsGroup": 1000650001}), True, (1000650000,), (1000650001,)),
    (_meshed(), False, (), ()),  # ambient or no mesh: no user is exempt
])
def test_the_users_the_capture_rules_exempt(pod, sidecar, uids, gids):
    exempt = runas.exemption(pod, sidecar)
    assert (exempt.uids, exempt.gids) == (uids, gids)


def test_the_probe_never_takes_an_exempt_user():
    assert runas.probe_user(runas.Exemption((1337,), (1337,))) == (100, 101)
    assert runas.probe_user(runas.Exemption((100,), (100,))) == (65532, 65532)  # OpenShift-like ranges
    assert runas.probe_user(runas.Exemption((1337,), (101,))) == (65532, 65532)
    assert runas.probe_user(runas.Exemption()) == (100, 101)


def test_declared_users_merge_as_the_kubelet_does():
    pod = {"spec": {"securityContext": {"runAsUser": 1337, "runAsGroup": 7}}}
    assert runas.declared_user({"securityContext": {"runAsUser": 1000}}, pod) == (1000, 7)
    assert runas.declared_user({}, pod) == (1337, 7)
    assert runas.declared_user({}, {"spec": {}}) == (None, None)


def _sh(argv: list[str]) -> str:
    """Run a guarded argv's sh here (the guard reads /proc/self/status, as in a container)."""
    return subprocess.run(argv, capture_output=True, text=True, timeout=10).stdout


def test_the_guard_stops_an_exempt_user_before_any_curl():
    import os
    me = os.getuid()
    probe = ["sh", "-c", "echo probed", "kubectl-egress-probe", "10", "n0nce", "8"]
    out = _sh(runas.guarded(probe, "n0nce", runas.Exemption((me,), (4242,))))
    guard = runas.read_guard(out, "n0nce")
    assert (guard.uid, guard.exempt, "probed" in out) == (me, True, False)
    out = _sh(runas.guarded(probe, "n0nce", runas.Exemption((4242,), (4242,))))
    guard = runas.read_guard(out, "n0nce")
    assert (guard.uid, guard.gid, guard.exempt) == (me, os.getgid(), False)
    assert ("probed" in out) is (not guard.no_curl)


def test_the_guard_goes_before_the_script_with_its_own_arguments():
    argv = ["sh", "-c", "SCRIPT", "kubectl-egress-probe", "10", "abc", "8", "0", "http://x/", "-", "-"]
    guarded = runas.guarded(argv, "abc", runas.Exemption((1337,), (1337, 1338)))
    assert guarded[:2] == ["sh", "-c"] and guarded[2].endswith("SCRIPT")
    assert guarded[3:] == ["kubectl-egress-probe", "abc", "1337", "1337,1338", "10", "abc", "8", "0", "http://x/",
                           "-", "-"]
    assert runas.guarded(argv, "abc", runas.Exemption())[5:7] == ["-", "-"]


# -- the ephemeral container ----------------------------------------------------------------------------
def test_the_probe_container_passes_restricted():
    """Checked with the local cluster's transcription of k8s.io/pod-security-admission."""
    from tests.apiserver import podsecurity
    container = manifests.probe_container("egress-probe-abcde", manifests.PROBE_IMAGE, 100, 101)
    spec = {"containers": [], "ephemeralContainers": [container]}
    assert podsecurity.evaluate("restricted", podsecurity.LATEST, {}, spec) == []
    assert container["securityContext"]["runAsUser"] != runas.PROXY_UID
    assert validate.IMAGE_REFERENCE.match(manifests.PROBE_IMAGE)
    assert "@sha256:" in manifests.PROBE_IMAGE and ":8.11.1@" in manifests.PROBE_IMAGE  # tag and digest


@pytest.mark.parametrize("image,shell_less", [
    ("gcr.io/distroless/static-debian12", True),
    ("gcr.io/distroless/static-debian12:nonroot", True),
    ("gcr.io/distroless/base@sha256:" + "a" * 64, True),
    ("gcr.io/distroless/base-debian12:debug", False),  # debug tags add BusyBox's sh
    ("gcr.io/distroless/cc-debian12:debug-nonroot", False),
    ("cgr.dev/chainguard/static:latest", True),
    ("curlimages/curl", False),
    ("registry.example.com/gcr.io/distroless/static", False),  # a mirror: the exec finds out
])
def test_images_known_to_have_no_shell(image, shell_less):
    assert placement.shell_less(image) is shell_less


@pytest.mark.parametrize("reference,valid", [
    ("curlimages/curl", True),
    ("registry.example.com:5000/mirror/curl:8.11.1", True),
    (manifests.PROBE_IMAGE, True),
    ("[fd00::1]:5000/curl", True),
    ("localhost/curl@sha256:" + "0" * 64, True),
    ("curlimages/Curl", False),  # path components are lower case (a first one may be a domain)
    ("curl:8:11", False),
    ("curl@sha256:abc", False),  # a digest has at least 32 hex digits
    ("", False),
])
def test_image_references_as_kubectl_debug_checks_them(reference, valid):
    if valid:
        assert validate.image(reference) == reference
    else:
        with pytest.raises(UsageError, match="invalid reference format"):
            validate.image(reference)


def test_the_proxys_container_is_refused():
    with pytest.raises(UsageError, match="bypasses the sidecar"):
        validate.container_name("istio-proxy")
    assert validate.container_name("app") == "app"
