"""Pod Security admission in the local cluster (tests/apiserver/podsecurity.py).

Pure tables first, with vectors transcribed from k8s.io/pod-security-admission v0.33.1:
the pass/fail fixture pods of test/testdata/{baseline,restricted}/v1.32 and
restricted/v1.21 (tests/data/pod_security_fixtures.json, each row naming its upstream
file), the messages of policy/check_*_test.go, api/helpers_test.go TestPolicyToEvaluate.
Then the admission through the local API server, and through real kubectl.
"""
from __future__ import annotations

import copy
import json
import time
from pathlib import Path

import pytest

from tests.apiserver import podsecurity as ps
from tests.apiserver.validation import decode_pod

FIXTURES = json.loads((Path(__file__).parent / "data" / "pod_security_fixtures.json").read_text())


@pytest.mark.parametrize("path,meta,spec", FIXTURES, ids=[row[0] for row in FIXTURES])
def test_upstream_fixtures_pass_and_fail(path, meta, spec):
    """test/testdata/<level>/<version>/{pass,fail}/*.yaml, decoded as the API server sees them."""
    level, version, outcome, _ = path.split("/")
    pod = {"metadata": copy.deepcopy(meta), "spec": copy.deepcopy(spec)}
    decode_pod(pod)  # SetDefaults_Volume turns a volume without a source into an emptyDir
    results = ps.evaluate(level, (1, int(version.split(".")[1])), pod["metadata"], pod["spec"])
    assert (not results) == (outcome == "pass"), [r.reason for r in results]


def by_id(check_id):
    return next(check for check in ps.CHECKS if check.id == check_id)


def c(name, **sc):
    return {"name": name, **({"securityContext": sc} if sc else {})}


# (check, pod spec, reason, detail): policy/check_*_test.go
CHECK_VECTORS = [
    (ps.run_as_non_root, {"containers": [c("a")]},
     "runAsNonRoot != true", 'pod or container "a" must set securityContext.runAsNonRoot=true'),
    (ps.run_as_non_root, {"securityContext": {"runAsNonRoot": False}, "containers": [{"name": "a"}]},
     "runAsNonRoot != true", "pod must not set securityContext.runAsNonRoot=false"),
    (ps.run_as_non_root, {"securityContext": {"runAsNonRoot": True}, "containers": [
        c("a"), {"name": "b", "securityContext": {}}, c("c", runAsNonRoot=False), c("d", runAsNonRoot=False),
        c("e", runAsNonRoot=True), c("f", runAsNonRoot=True)]},
     "runAsNonRoot != true", 'containers "c", "d" must not set securityContext.runAsNonRoot=false'),
    (ps.run_as_non_root, {"containers": [c("a"), {"name": "b", "securityContext": {}}, c("d", runAsNonRoot=True),
                                         c("e", runAsNonRoot=True)]},
     "runAsNonRoot != true", 'pod or containers "a", "b" must set securityContext.runAsNonRoot=true'),
    (ps.capabilities_restricted, {"containers": [
        c("a", capabilities={"add": ["FOO", "BAR"]}), c("b", capabilities={"add": ["BAR", "BAZ"]}),
        c("c", capabilities={"add": ["NET_BIND_SERVICE", "CHOWN"], "drop": ["ALL", "FOO"]})]},
     "unrestricted capabilities", 'containers "a", "b" must set securityContext.capabilities.drop=["ALL"]; '
     'containers "a", "b", "c" must not include "BAR", "BAZ", "CHOWN", "FOO" in securityContext.capabilities.add'),
    (ps.capabilities_baseline, {"containers": [
        c("a", capabilities={"add": ["FOO", "BAR"]}), c("b", capabilities={"add": ["BAR", "BAZ"]}),
        c("c", capabilities={"add": ["NET_BIND_SERVICE", "CHOWN"], "drop": ["ALL", "FOO"]})]},
     "non-default capabilities", 'containers "a", "b" must not include "BAR", "BAZ", "FOO" in '
     "securityContext.capabilities.add"),
    (ps.host_ports, {"containers": [{"name": "a", "ports": [{"hostPort": 0}]},
                                    {"name": "b", "ports": [{"hostPort": 0}, {"hostPort": 20}]}]},
     "hostPort", 'container "b" uses hostPort 20'),
    (ps.host_ports, {"containers": [{"name": "a", "ports": [{"hostPort": 0}]},
                                    {"name": "b", "ports": [{"hostPort": 0}, {"hostPort": 10}, {"hostPort": 20}]},
                                    {"name": "c", "ports": [{"hostPort": 0}, {"hostPort": 10}, {"hostPort": 30}]}]},
     "hostPort", 'containers "b", "c" use hostPorts 10, 20, 30'),
    (ps.seccomp_profile_restricted, {"containers": [{"name": "a"}]}, "seccompProfile",
     'pod or container "a" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost"'),
    (ps.seccomp_profile_restricted, {"securityContext": {"seccompProfile": {"type": "Unconfined"}},
                                     "containers": [{"name": "a"}]},
     "seccompProfile", 'pod must not set securityContext.seccompProfile.type to "Unconfined"'),
    (ps.seccomp_profile_restricted, {"securityContext": {"seccompProfile": {"type": "RuntimeDefault"}}, "containers": [
        c("a"), {"name": "b", "securityContext": {}}, c("c", seccompProfile={"type": "Unconfined"}),
        c("d", seccompProfile={"type": "Unconfined"}), c("e", seccompProfile={"type": "RuntimeDefault"})]},
     "seccompProfile", 'containers "c", "d" must not set securityContext.seccompProfile.type to "Unconfined"'),
    (by_id("seLinuxOptions").at((1, 31)).check, {"securityContext": {"seLinuxOptions": {"type": "foo", "user": "bar", "role": "baz"}},
                                      "containers": [
        c("a", seLinuxOptions={"type": "container_t"}), c("b", seLinuxOptions={"type": "container_init_t"}),
        c("c", seLinuxOptions={"type": "container_kvm_t"}), c("d", seLinuxOptions={"type": "container_engine_t"}),
        c("e", seLinuxOptions={"type": "bar"}), c("f", seLinuxOptions={"user": "bar"}),
        c("g", seLinuxOptions={"role": "baz"})]},
     "seLinuxOptions", 'pod and containers "e", "f", "g" set forbidden securityContext.seLinuxOptions: '
     'types "bar", "foo"; user may not be set; role may not be set'),
]


@pytest.mark.parametrize("check,spec,reason,detail", CHECK_VECTORS)
def test_check_messages(check, spec, reason, detail):
    assert check({}, spec) == ps.Result(False, reason, detail)


def test_windows_pods_are_exempt_from_1_25():
    """check_capabilities_restricted_test.go and check_seccompProfile_restricted_test.go: windows pods."""
    windows = {"os": {"name": "windows"}, "containers": [{"name": "a"}]}
    linux = {"os": {"name": "linux"}, "containers": [{"name": "a"}]}
    assert by_id("capabilities_restricted").at((1, 25)).check({}, windows).allowed
    assert not by_id("capabilities_restricted").at((1, 25)).check({}, linux).allowed
    assert not by_id("capabilities_restricted").at((1, 24)).check({}, windows).allowed  # the 1.22 version knows no exemption


def test_check_order_and_overrides():
    """registry.go: baseline IDs sorted, then restricted IDs sorted; capabilities_restricted
    replaces capabilities_baseline from 1.22, restrictedVolumes replaces hostPathVolumes."""
    names = [f.__name__ for f in ps.checks_for("restricted", ps.LATEST)]
    assert names == ["app_armor_profile", "host_namespaces", "host_ports", "privileged", "proc_mount",
                     "se_linux_options", "sysctls", "windows_host_process", "allow_privilege_escalation_1_25",
                     "capabilities_restricted_1_25", "restricted_volumes", "run_as_non_root", "run_as_user",
                     "seccomp_profile_restricted_1_25"]
    old = [f.__name__ for f in ps.checks_for("restricted", (1, 21))]
    assert "capabilities_baseline" in old and "run_as_user" not in old
    assert ps.checks_for("privileged", ps.LATEST) == []
    assert ps.MAX_VERSION == (1, 32)


def lv(level, version=ps.LATEST):
    return ps.LevelVersion(level, version)


PRIV = lv("privileged")
# api/helpers_test.go TestPolicyToEvaluate
POLICY_VECTORS = [
    ({"enforce": "baseline"}, ps.Policy(lv("baseline"), PRIV, lv("baseline")), False),
    ({"warn": "restricted"}, ps.Policy(PRIV, PRIV, lv("restricted")), False),
    ({"audit": "baseline"}, ps.Policy(PRIV, lv("baseline"), PRIV), False),
    ({"enforce": "baseline", "warn": "restricted"}, ps.Policy(lv("baseline"), PRIV, lv("restricted")), False),
    ({"enforce": "baseline", "enforce-version": "v1.22"},
     ps.Policy(lv("baseline", (1, 22)), PRIV, lv("baseline", (1, 22))), False),
    ({"enforce": "baseline", "enforce-version": "v1.22", "warn-version": "latest"},
     ps.Policy(lv("baseline", (1, 22)), PRIV, lv("baseline")), False),
    ({"enforce": "baseline", "warn-version": "v1.23"}, ps.Policy(lv("baseline"), PRIV, lv("baseline", (1, 23))), False),
    ({"enforce": "baseline", "enforce-version": "v1.20", "warn": "restricted", "warn-version": "v1.21",
      "audit": "restricted", "audit-version": "v1.22"},
     ps.Policy(lv("baseline", (1, 20)), lv("restricted", (1, 22)), lv("restricted", (1, 21))), False),
    ({"enforce": "baseline", "warn": "privileged"}, ps.Policy(lv("baseline"), PRIV, PRIV), False),
    ({"enforce": "baseline", "warn": "foo"}, ps.Policy(lv("baseline"), PRIV, PRIV), True),
    ({"enforce": "foo"}, ps.Policy(lv("restricted"), PRIV, PRIV), True),
]


@pytest.mark.parametrize("labels,policy,error", POLICY_VECTORS)
def test_policy_to_evaluate(labels, policy, error):
    got, errors = ps.policy_to_evaluate({ps.LABEL + k: v for k, v in labels.items()})
    assert got == policy
    assert bool(errors) == error


def test_level_version_strings():
    assert str(lv("restricted")) == "restricted:latest"
    assert str(lv("baseline", (1, 27))) == "baseline:v1.27"


# -- through the local API server ------------------------------------------------------------------
RESTRICTED_OK = {"securityContext": {"runAsNonRoot": True, "runAsUser": 1000,
                                     "seccompProfile": {"type": "RuntimeDefault"}},
                 "containers": [{"name": "app", "image": "gcr.io/distroless/static-debian12:nonroot",
                                 "securityContext": {"allowPrivilegeEscalation": False,
                                                     "capabilities": {"drop": ["ALL"]}}}]}
RESTRICTED_MESSAGE = (
    'pods "bad" is forbidden: violates PodSecurity "restricted:latest": allowPrivilegeEscalation != false '
    '(container "app" must set securityContext.allowPrivilegeEscalation=false), unrestricted capabilities '
    '(container "app" must set securityContext.capabilities.drop=["ALL"]), runAsNonRoot != true (pod or '
    'container "app" must set securityContext.runAsNonRoot=true), seccompProfile (pod or container "app" '
    'must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")')


def namespace(srv, name, **labels):
    body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {
        "name": name, "labels": {ps.LABEL + k.replace("_", "-"): v for k, v in labels.items()}}}
    return srv.request("POST", "/api/v1/namespaces", body)


def pod(name, spec):
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": copy.deepcopy(spec)}


def warnings_of(headers) -> list[str]:
    return headers.get_all("Warning") or []


@pytest.fixture(scope="module")
def srv(ca, tmp_path_factory):
    from tests.apiserver import LocalAPIServer
    with LocalAPIServer(tmp_path_factory.mktemp("psa") / "kubeconfig", istio="1.20", ca=ca) as server:
        yield server


def test_enforce_refuses_a_pod_with_the_real_message(srv):
    assert namespace(srv, "strict", enforce="restricted")[0] == 201
    code, _, body = srv.request("POST", "/api/v1/namespaces/strict/pods",
                                pod("bad", {"containers": [{"name": "app", "image": "busybox"}]}))
    assert (code, body["reason"], body["message"]) == (403, "Forbidden", RESTRICTED_MESSAGE)
    assert body["details"] == {"name": "bad", "kind": "pods"}
    assert srv.request("GET", "/api/v1/namespaces/strict/pods/bad")[0] == 404
    code, _, _ = srv.request("POST", "/api/v1/namespaces/strict/pods?dryRun=All", pod("bad", RESTRICTED_OK))
    assert code == 201
    assert srv.request("POST", "/api/v1/namespaces/strict/pods", pod("good", RESTRICTED_OK))[0] == 201


def test_invalid_pod_is_422_before_pod_security(srv):
    """Validation runs before validating admission."""
    namespace(srv, "strict2", enforce="restricted")
    code, _, body = srv.request("POST", "/api/v1/namespaces/strict2/pods", pod("x", {"containers": [{"name": "a"}]}))
    assert (code, body["reason"]) == (422, "Invalid")


def test_versions_and_warn_labels(srv):
    """restricted:v1.22 has no runAsUser check; the warn level only warns."""
    namespace(srv, "old", enforce="restricted", enforce_version="v1.22", warn="restricted")
    as_root = copy.deepcopy(RESTRICTED_OK)
    as_root["securityContext"]["runAsUser"] = 0
    code, headers, _ = srv.request("POST", "/api/v1/namespaces/old/pods", pod("root", as_root))
    assert code == 201
    assert warnings_of(headers) == ['299 - "would violate PodSecurity \\"restricted:latest\\": runAsUser=0 '
                                    '(pod must not set runAsUser=0)"']
    namespace(srv, "warned", warn="baseline", audit="restricted")
    code, headers, _ = srv.request("POST", "/api/v1/namespaces/warned/pods", pod("p", {"hostNetwork": True, "containers": [
        {"name": "app", "image": "busybox"}]}))
    assert code == 201
    assert warnings_of(headers) == ['299 - "would violate PodSecurity \\"baseline:latest\\": host namespaces '
                                    '(hostNetwork=true)"']


def test_namespace_labels_are_validated(srv):
    code, _, body = namespace(srv, "typo", enforce="restrcted")
    assert (code, body["message"]) == (422, 'Namespace "typo" is invalid: metadata.labels'
                                             '[pod-security.kubernetes.io/enforce]: Invalid value: "restrcted": '
                                             "must be one of privileged, baseline, restricted")
    code, _, body = namespace(srv, "typo", enforce="baseline", enforce_version="1.30")
    assert code == 422 and body["message"].endswith('Invalid value: "1.30": must be "latest" or "v1.x"')


def test_tightening_enforce_warns_about_existing_pods(srv):
    namespace(srv, "loose")
    for name in ("b-pod", "a-pod"):
        srv.request("POST", "/api/v1/namespaces/loose/pods", pod(name, {"containers": [{"name": "c", "image": "busybox"}]}))
    srv.request("POST", "/api/v1/namespaces/loose/pods", pod("ok", RESTRICTED_OK))
    code, headers, _ = srv.request("PATCH", "/api/v1/namespaces/loose", {"metadata": {"labels": {
        ps.LABEL + "enforce": "restricted"}}}, content_type="application/merge-patch+json")
    assert code == 200
    assert warnings_of(headers) == [
        '299 - "existing pods in namespace \\"loose\\" violate the new PodSecurity enforce level \\"restricted:latest\\""',
        '299 - "a-pod (and 1 other pod): allowPrivilegeEscalation != false, unrestricted capabilities, '
        'runAsNonRoot != true, seccompProfile"']


def test_deployment_warns_and_its_replicaset_meets_failed_create(srv):
    """Pod controllers are warned, never refused; the ReplicaSet controller's pods are refused:
    Warning FailedCreate events and a ReplicaFailure condition (replica_set.go), copied to the
    Deployment (deployment progress.go)."""
    namespace(srv, "deploys", enforce="restricted")
    body = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}, "spec": {
        "selector": {"matchLabels": {"app": "web"}}, "template": {"metadata": {"labels": {"app": "web"}},
                                                                  "spec": {"containers": [{"name": "app", "image": "nginx"}]}}}}
    code, headers, _ = srv.request("POST", "/apis/apps/v1/namespaces/deploys/deployments", body)
    assert code == 201
    assert warnings_of(headers)[0].startswith('299 - "would violate PodSecurity \\"restricted:latest\\": '
                                              "allowPrivilegeEscalation != false")
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        events = srv.request("GET", "/api/v1/namespaces/deploys/events")[2]["items"]
        if len(events) >= 2:
            break
        time.sleep(0.05)
    event = events[0]
    assert (event["type"], event["reason"], event["source"], event["involvedObject"]["kind"]) == \
        ("Warning", "FailedCreate", {"component": "replicaset-controller"}, "ReplicaSet")
    assert event["message"].startswith('Error creating: pods "web-') and \
        'is forbidden: violates PodSecurity "restricted:latest": allowPrivilegeEscalation != false' in event["message"]
    rs = srv.request("GET", "/apis/apps/v1/namespaces/deploys/replicasets")[2]["items"][0]
    failure = rs["status"]["conditions"][0]
    assert (failure["type"], failure["status"], failure["reason"]) == ("ReplicaFailure", "True", "FailedCreate")
    assert failure["message"].startswith('pods "web-') and 'is forbidden: violates PodSecurity' in failure["message"]
    deploy = srv.request("GET", "/apis/apps/v1/namespaces/deploys/deployments/web")[2]
    assert [c["type"] for c in deploy["status"]["conditions"]] == ["Available", "ReplicaFailure"]
    assert srv.request("GET", "/api/v1/namespaces/deploys/pods")[2]["items"] == []
    # relaxed: the controller's next retry makes the pod
    srv.request("PATCH", "/api/v1/namespaces/deploys", {"metadata": {"labels": {ps.LABEL + "enforce": "privileged"}}},
                content_type="application/merge-patch+json")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not srv.request("GET", "/api/v1/namespaces/deploys/pods")[2]["items"]:
        time.sleep(0.05)
    assert srv.request("GET", "/api/v1/namespaces/deploys/pods")[2]["items"]
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        conditions = srv.request("GET", "/apis/apps/v1/namespaces/deploys/replicasets")[2]["items"][0]["status"]
        if "ReplicaFailure" not in json.dumps(conditions):
            break
        time.sleep(0.05)
    assert "ReplicaFailure" not in json.dumps(conditions)


def test_sidecar_injection_meets_baseline(srv):
    """Istio's istio-init adds NET_ADMIN and NET_RAW (injection-template.yaml without CNI):
    baseline refuses an injected pod, as on a real cluster without Istio CNI."""
    namespace(srv, "meshed", enforce="baseline")
    srv.request("PATCH", "/api/v1/namespaces/meshed", {"metadata": {"labels": {"istio-injection": "enabled"}}},
                content_type="application/merge-patch+json")
    code, _, body = srv.request("POST", "/api/v1/namespaces/meshed/pods", pod("p", RESTRICTED_OK))
    assert (code, body["message"]) == (403, 'pods "p" is forbidden: violates PodSecurity "baseline:latest": '
                                            'non-default capabilities (container "istio-init" must not include '
                                            '"NET_ADMIN", "NET_RAW" in securityContext.capabilities.add)')


def test_kubectl_prints_the_reason_and_the_warning(srv, kubectl):
    env = {"KUBECONFIG": str(srv.kubeconfig_path)}
    namespace(srv, "kubectl-ns", enforce="restricted")
    res = kubectl("-n", "kubectl-ns", "run", "bad", "--image=busybox", "--", "sleep", "1", env=env)
    assert res.code == 1
    assert res.err.strip() == "Error from server (Forbidden): " + RESTRICTED_MESSAGE.replace('"app"', '"bad"')
    res = kubectl("-n", "kubectl-ns", "create", "deployment", "web", "--image=nginx", env=env)
    assert res.code == 0
    assert res.err.startswith('Warning: would violate PodSecurity "restricted:latest": allowPrivilegeEscalation != false')


def test_with_istio_cni_a_restricted_pod_gets_its_sidecar(srv):
    """With Istio CNI (the injector's values: istio_cni.enabled) the template injects
    istio-validation, which needs no capabilities: restricted admits the pod."""
    values = json.dumps({"istio_cni": {"enabled": True}})
    assert srv.request("POST", "/api/v1/namespaces/istio-system/configmaps", {
        "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "istio-sidecar-injector"},
        "data": {"values": values, "config": "{}"}})[0] == 201
    try:
        namespace(srv, "meshed-cni", enforce="restricted")
        srv.request("PATCH", "/api/v1/namespaces/meshed-cni", {"metadata": {"labels": {"istio-injection": "enabled"}}},
                    content_type="application/merge-patch+json")
        code, _, body = srv.request("POST", "/api/v1/namespaces/meshed-cni/pods", pod("p", RESTRICTED_OK))
        assert code == 201, body
        assert [c["name"] for c in body["spec"]["initContainers"]] == ["istio-validation"]
        assert [c["name"] for c in body["spec"]["containers"]] == ["app", "istio-proxy"]
    finally:
        srv.request("DELETE", "/api/v1/namespaces/istio-system/configmaps/istio-sidecar-injector")
