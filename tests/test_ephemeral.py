"""Ephemeral containers in the local cluster: the pods/ephemeralcontainers subresource
(kubernetes pkg/registry/core/pod/storage/storage.go EphemeralContainersREST,
pkg/registry/core/pod/strategy.go podEphemeralContainersStrategy,
pkg/apis/core/validation/validation.go ValidatePodEphemeralContainersUpdate and
validateEphemeralContainers), and the kubelet's side (pkg/kubelet/kubelet_pods.go
convertToAPIContainerStatuses, kuberuntime verifyRunAsNonRoot).
One server for the module; each test works in pods of its own."""
from __future__ import annotations

import copy
import json
import ssl
import time

import pytest

from tests.netns import requires_pod_networks

NS = "debugging"
APP = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "PLACEHOLDER", "namespace": NS},
       "spec": {"containers": [{"name": "app", "image": "gcr.io/distroless/static-debian12", "command": ["/app"]}]}}
DEBUGGER = {"name": "debugger", "image": "curlimages/curl", "command": ["sleep", "600"]}


@pytest.fixture(scope="module")
def srv(ca, tmp_path_factory):
    from tests.apiserver import LocalAPIServer
    with LocalAPIServer(tmp_path_factory.mktemp("ephemeral") / "kubeconfig", istio="1.20", ca=ca) as server:
        server.request("POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                                      "metadata": {"name": NS}})
        yield server


def make_pod(srv, name: str, spec: dict | None = None, namespace: str = NS) -> dict:
    body = copy.deepcopy(APP)
    body["metadata"].update(name=name, namespace=namespace)
    if spec is not None:
        body["spec"] = spec
    code, _, pod = srv.request("POST", f"/api/v1/namespaces/{namespace}/pods", body)
    assert code == 201, pod
    wait(lambda: get(srv, name, namespace).get("status", {}).get("podIP"))
    return pod


def get(srv, name: str, namespace: str = NS) -> dict:
    return srv.request("GET", f"/api/v1/namespaces/{namespace}/pods/{name}")[2]


def wait(condition, timeout: float = 10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError("condition not met in time")


def patch(srv, name: str, body, namespace: str = NS, token: str = "admin",
          content_type: str = "application/strategic-merge-patch+json"):
    return srv.request("PATCH", f"/api/v1/namespaces/{namespace}/pods/{name}/ephemeralcontainers", body,
                       content_type=content_type, token=token)


def add(srv, name: str, *containers: dict, namespace: str = NS):
    return patch(srv, name, {"spec": {"ephemeralContainers": [copy.deepcopy(c) for c in containers]}}, namespace)


def state_of(srv, name: str, container: str, namespace: str = NS) -> dict:
    for status in (get(srv, name, namespace).get("status") or {}).get("ephemeralContainerStatuses") or []:
        if status["name"] == container:
            return status
    return {}


# -- the subresource ------------------------------------------------------------------------------
def test_get_returns_the_pod_and_discovery_lists_it(srv):
    make_pod(srv, "get")
    code, _, body = srv.request("GET", f"/api/v1/namespaces/{NS}/pods/get/ephemeralcontainers")
    assert (code, body["kind"], body["metadata"]["name"]) == (200, "Pod", "get")
    resources = {r["name"]: r for r in srv.request("GET", "/api/v1")[2]["resources"]}
    assert resources["pods/ephemeralcontainers"]["verbs"] == ["get", "patch", "update"]
    assert resources["pods/ephemeralcontainers"]["kind"] == "Pod"


def test_patch_as_kubectl_debug_changes_only_ephemeral_containers(srv):
    make_pod(srv, "patched")
    before = get(srv, "patched")
    code, _, pod = patch(srv, "patched", {
        "metadata": {"labels": {"sneaky": "yes"}},
        "spec": {"containers": [{"name": "app", "image": "nginx"}], "ephemeralContainers": [DEBUGGER]}})
    assert code == 200, pod
    assert pod["kind"] == "Pod"
    assert pod["spec"]["containers"] == before["spec"]["containers"]
    assert "sneaky" not in (pod["metadata"].get("labels") or {})
    assert pod["spec"]["ephemeralContainers"] == [{  # SetDefaults_EphemeralContainer
        **DEBUGGER, "imagePullPolicy": "Always", "resources": {}, "terminationMessagePath": "/dev/termination-log",
        "terminationMessagePolicy": "File"}]
    entry = next(e for e in pod["metadata"]["managedFields"] if e.get("subresource") == "ephemeralcontainers")
    assert list(entry["fieldsV1"]) == ["f:spec"]
    assert list(entry["fieldsV1"]["f:spec"]) == ["f:ephemeralContainers"]
    # kubectl debug's second container: a two-way merge patch that keeps the order
    code, _, pod = patch(srv, "patched", {"spec": {
        "$setElementOrder/ephemeralContainers": [{"name": "debugger"}, {"name": "second"}],
        "ephemeralContainers": [{"name": "second", "image": "busybox", "command": ["sleep", "1"]}]}})
    assert code == 200 and [c["name"] for c in pod["spec"]["ephemeralContainers"]] == ["debugger", "second"]


def test_put_replaces_the_list(srv):
    make_pod(srv, "put")
    pod = get(srv, "put")
    pod["spec"]["ephemeralContainers"] = [DEBUGGER]
    code, _, body = srv.request("PUT", f"/api/v1/namespaces/{NS}/pods/put/ephemeralcontainers", pod)
    assert code == 200 and body["spec"]["ephemeralContainers"][0]["name"] == "debugger"
    pod["metadata"]["resourceVersion"] = "1"
    assert srv.request("PUT", f"/api/v1/namespaces/{NS}/pods/put/ephemeralcontainers", pod)[0] == 409


INVALID = [
    ([{**DEBUGGER, "name": "app"}], 'spec.ephemeralContainers[0].name: Duplicate value: "app"'),
    ([DEBUGGER, DEBUGGER], 'spec.ephemeralContainers[1].name: Duplicate value: "debugger"'),
    ([{**DEBUGGER, "name": "Bad_Name"}], 'spec.ephemeralContainers[0].name: Invalid value: "Bad_Name": a lowercase '
                                         "RFC 1123 label must consist of"),
    ([{"name": "noimage"}], "spec.ephemeralContainers[0].image: Required value"),
    ([{**DEBUGGER, "ports": [{"containerPort": 80}]}],
     "spec.ephemeralContainers[0].ports: Forbidden: cannot be set for an Ephemeral Container"),
    ([{**DEBUGGER, "resources": {"limits": {"cpu": "1"}}}],
     "spec.ephemeralContainers[0].resources: Forbidden: cannot be set for an Ephemeral Container"),
    ([{**DEBUGGER, "readinessProbe": {"exec": {"command": ["true"]}}}],
     "spec.ephemeralContainers[0].readinessProbe: Forbidden: cannot be set for an Ephemeral Container"),
    ([{**DEBUGGER, "lifecycle": {"preStop": {"exec": {"command": ["true"]}}}}],
     "spec.ephemeralContainers[0].lifecycle: Forbidden: cannot be set for an Ephemeral Container"),
    ([{**DEBUGGER, "targetContainerName": "nope"}],
     'spec.ephemeralContainers[0].targetContainerName: Not found: "nope"'),
    ([{**DEBUGGER, "volumeMounts": [{"name": "v", "mountPath": "/v", "subPath": "x"}]}],
     "spec.ephemeralContainers[0].volumeMounts[0].subPath: Forbidden: cannot be set for an Ephemeral Container"),
]


@pytest.mark.parametrize("containers,message", INVALID)
def test_validation_messages(srv, containers, message):
    name = f"invalid-{INVALID.index((containers, message))}"
    make_pod(srv, name)
    # a merge patch sends the list as it is (a strategic merge would fold the duplicates by name)
    code, _, body = patch(srv, name, {"spec": {"ephemeralContainers": containers}},
                          content_type="application/merge-patch+json")
    assert (code, body["reason"]) == (422, "Invalid")
    assert body["message"].startswith(f'Pod "{name}" is invalid: {message}')
    assert "ephemeralContainers" not in get(srv, name)["spec"]


def test_existing_ones_may_not_be_removed_or_changed(srv):
    make_pod(srv, "kept")
    assert add(srv, "kept", DEBUGGER)[0] == 200
    assert add(srv, "kept", {**DEBUGGER, "name": "target", "targetContainerName": "app"})[0] == 200
    code, _, body = patch(srv, "kept", {"spec": {"ephemeralContainers": [{"name": "debugger", "$patch": "delete"}]}})
    assert code == 422 and body["message"] == ('Pod "kept" is invalid: spec.ephemeralContainers: Forbidden: '
                                               'existing ephemeral containers "debugger" may not be removed\n')
    code, _, body = patch(srv, "kept", {"spec": {"ephemeralContainers": [{"name": "debugger", "image": "busybox"}]}})
    assert code == 422 and body["message"].startswith(
        'Pod "kept" is invalid: spec.ephemeralContainers: Forbidden: existing ephemeral containers "debugger" may '
        "not be changed\n")
    assert "busybox" in body["message"]


def test_not_on_create_and_not_through_the_pod(srv):
    body = copy.deepcopy(APP)
    body["metadata"]["name"] = "created-with"
    body["spec"]["ephemeralContainers"] = [DEBUGGER]
    code, _, answer = srv.request("POST", f"/api/v1/namespaces/{NS}/pods", body)
    assert (code, answer["message"]) == (422, 'Pod "created-with" is invalid: spec.ephemeralContainers: '
                                              "Forbidden: cannot be set on create")


def test_read_only_user_gets_the_real_403(srv):
    make_pod(srv, "rbac")
    code, _, body = patch(srv, "rbac", {"spec": {"ephemeralContainers": [DEBUGGER]}}, token="reader")
    assert (code, body["reason"], body["message"]) == (
        403, "Forbidden", 'pods "rbac" is forbidden: User "reader" cannot patch resource "pods/ephemeralcontainers" '
                          f'in API group "" in the namespace "{NS}"')
    assert srv.request("GET", f"/api/v1/namespaces/{NS}/pods/rbac/ephemeralcontainers", token="reader")[0] == 200


def test_pod_security_judges_the_new_container(srv):
    """admission.go isSignificantPodUpdate: an added ephemeral container is evaluated, on the whole pod."""
    srv.request("POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {
        "name": "strict-debug", "labels": {"pod-security.kubernetes.io/enforce": "restricted"}}})
    make_pod(srv, "locked", {"securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
                             "containers": [{"name": "app", "image": "gcr.io/distroless/static-debian12:nonroot",
                                             "securityContext": {"allowPrivilegeEscalation": False,
                                                                 "capabilities": {"drop": ["ALL"]}}}]},
             namespace="strict-debug")
    code, _, body = add(srv, "locked", DEBUGGER, namespace="strict-debug")
    assert (code, body["message"]) == (403, 'pods "locked" is forbidden: violates PodSecurity "restricted:latest": '
                                            'allowPrivilegeEscalation != false (container "debugger" must set '
                                            'securityContext.allowPrivilegeEscalation=false), unrestricted '
                                            'capabilities (container "debugger" must set '
                                            'securityContext.capabilities.drop=["ALL"])')
    restricted = {**DEBUGGER, "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]},
                                                  "runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}}}
    assert add(srv, "locked", restricted, namespace="strict-debug")[0] == 200
    # kubectl debug --profile=restricted: admitted, but curl_user is a name the kubelet cannot check
    status = wait(lambda: state_of(srv, "locked", "debugger", "strict-debug").get("state", {}).get("waiting", {})
                  .get("reason") == "CreateContainerConfigError" and state_of(srv, "locked", "debugger", "strict-debug"))
    uid = get(srv, "locked", "strict-debug")["metadata"]["uid"]
    assert status["state"]["waiting"]["message"] == (
        "container has runAsNonRoot and image has non-numeric user (curl_user), cannot verify user is non-root "
        f'(pod: "locked_strict-debug({uid})", container: debugger)')
    numeric = {**restricted, "name": "numeric", "securityContext": {**restricted["securityContext"], "runAsUser": 100}}
    assert add(srv, "locked", restricted, numeric, namespace="strict-debug")[0] == 200
    wait(lambda: "running" in state_of(srv, "locked", "numeric", "strict-debug").get("state", {}))


# -- the kubelet ------------------------------------------------------------------------------------
def test_statuses_go_from_waiting_to_running(srv):
    pod = make_pod(srv, "statuses")
    rv = get(srv, "statuses")["metadata"]["resourceVersion"]
    assert add(srv, "statuses", DEBUGGER)[0] == 200
    seen = []
    wait(lambda: "running" in state_of(srv, "statuses", "debugger").get("state", {}))
    # every change since the patch, as a watch replays them (JSON lines)
    raw = srv.request("GET", f"/api/v1/namespaces/{NS}/pods?watch=1&resourceVersion={rv}&timeoutSeconds=1"
                             f"&fieldSelector=metadata.name=statuses")[2]
    for line in (raw if isinstance(raw, str) else json.dumps(raw)).splitlines():
        event = json.loads(line)
        for s in (event["object"].get("status") or {}).get("ephemeralContainerStatuses") or []:
            seen.append(next(iter(s["state"])) + ":" + s["state"].get("waiting", {}).get("reason", ""))
    assert seen[0] == "waiting:ContainerCreating" and "running:" in seen
    final = state_of(srv, "statuses", "debugger")
    assert final["image"] == "docker.io/curlimages/curl:latest"
    assert final["imageID"].startswith("docker.io/curlimages/curl@sha256:")
    assert final["containerID"].startswith("containerd://") and len(final["containerID"]) == len("containerd://") + 64
    assert (final["ready"], final["restartCount"], final["lastState"]) == (False, 0, {})
    assert "started" not in final
    assert get(srv, "statuses")["status"]["phase"] == "Running"
    assert pod["metadata"]["uid"] == get(srv, "statuses")["metadata"]["uid"]


def test_root_images_and_missing_programs(srv):
    make_pod(srv, "failing")
    as_non_root = {"name": "rootless", "image": "busybox", "command": ["sleep", "600"],
                   "securityContext": {"runAsNonRoot": True}}
    missing = {"name": "nosh", "image": "gcr.io/distroless/static", "command": ["sh", "-c", "true"]}
    assert add(srv, "failing", as_non_root, missing)[0] == 200
    uid = get(srv, "failing")["metadata"]["uid"]
    status = wait(lambda: state_of(srv, "failing", "rootless").get("state", {}).get("waiting", {}).get(
        "reason") == "CreateContainerConfigError" and state_of(srv, "failing", "rootless"))
    assert status["state"]["waiting"]["message"] == ("container has runAsNonRoot and image will run as root "
                                                     f'(pod: "failing_{NS}({uid})", container: rootless)')
    status = wait(lambda: "terminated" in state_of(srv, "failing", "nosh").get("state", {})
                  and state_of(srv, "failing", "nosh"))
    terminated = status["state"]["terminated"]
    assert (terminated["exitCode"], terminated["reason"]) == (128, "StartError")
    assert terminated["message"].endswith('exec: "sh": executable file not found in $PATH: unknown')
    # exec into a container that does not run: kubelet finds no such container
    code, _, body = srv.request("GET", f"/api/v1/namespaces/{NS}/pods/failing/exec?command=true&container=nosh")
    assert (code, body["message"]) == (400, 'unable to upgrade connection: container not found ("nosh")')


def test_deployments_of_root_images_wait_under_run_as_non_root(srv):
    """The kubelet checks regular containers the same way: the pod stays Pending."""
    make_pod(srv, "rootapp", {"securityContext": {"runAsNonRoot": True},
                              "containers": [{"name": "app", "image": "alpine", "command": ["sleep", "600"]}]})
    status = get(srv, "rootapp")["status"]
    assert status["phase"] == "Pending"
    assert status["containerStatuses"][0]["state"]["waiting"]["reason"] == "CreateContainerConfigError"


@requires_pod_networks
def test_processes_end_as_their_container_ends(srv):
    make_pod(srv, "lifecycle")
    quick = {"name": "quick", "image": "curlimages/curl", "command": ["sh", "-c", "exit 3"]}
    fine = {"name": "fine", "image": "busybox", "command": ["true"]}
    assert add(srv, "lifecycle", quick, fine)[0] == 200
    quick_state = wait(lambda: state_of(srv, "lifecycle", "quick").get("state", {}).get("terminated"))
    fine_state = wait(lambda: state_of(srv, "lifecycle", "fine").get("state", {}).get("terminated"))
    assert (quick_state["exitCode"], quick_state["reason"]) == (3, "Error")
    assert (fine_state["exitCode"], fine_state["reason"]) == (0, "Completed")


# -- exec of a missing program, through the API --------------------------------------------------
def exec_frames(srv, namespace: str, pod: str, container: str, command: list[str]) -> dict[int, bytes]:
    import websocket

    query = "&".join([*(f"command={c}" for c in command), f"container={container}", "stdout=true", "stderr=true"])
    context = ssl.create_default_context(cadata=srv.ca.pem.decode())
    ws = websocket.create_connection(
        srv.url.replace("https", "wss") + f"/api/v1/namespaces/{namespace}/pods/{pod}/exec?{query}",
        header=[f"Authorization: Bearer {srv.cluster.admin_token}"], subprotocols=["v5.channel.k8s.io"],
        sslopt={"context": context}, timeout=10)
    frames: dict[int, bytes] = {}
    try:
        while True:
            opcode, data = ws.recv_data()
            if opcode == websocket.ABNF.OPCODE_CLOSE:
                break
            frames[data[0]] = frames.get(data[0], b"") + data[1:]
    except websocket.WebSocketConnectionClosedException:
        pass
    finally:
        ws.close()
    return frames


@requires_pod_networks
def test_a_missing_program_fails_as_containerd_says(srv):
    make_pod(srv, "distroless")
    frames = exec_frames(srv, NS, "distroless", "app", ["curl", "-sS", "http://example.com/"])
    status = json.loads(frames[3])
    cause = status["details"]["causes"][0]["message"]
    assert (status["status"], status["reason"], status["code"]) == ("Failure", "InternalError", 500)
    assert status["message"] == "Internal error occurred: " + cause
    assert cause.startswith("error executing command in container: failed to exec in container: failed to start "
                            'exec "')
    assert cause.endswith('": OCI runtime exec failed: exec failed: unable to start container process: exec: '
                          '"curl": executable file not found in $PATH: unknown')
    assert 1 not in frames and 2 not in frames
    absolute = json.loads(exec_frames(srv, NS, "distroless", "app", ["/bin/sh"])[3])
    assert absolute["message"].endswith('exec: "/bin/sh": stat /bin/sh: no such file or directory: unknown')
