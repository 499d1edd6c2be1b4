"""Real `kubectl debug` and `kubectl exec` against the local cluster: an ephemeral container
beside a distroless application, its traffic through the pod's sidecar, a missing program as
containerd reports it, and Pod Security in the way (kubectl pkg/cmd/debug: a strategic merge
patch of pods/ephemeralcontainers; profiles.go: --profile=restricted in kubectl 1.32)."""
from __future__ import annotations

import json
import time

import pytest

from tests.netns import requires_pod_networks

pytestmark = requires_pod_networks

WORKLOADS = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: default}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: app, image: gcr.io/distroless/static-debian12, command: ["/app"]}]
---
apiVersion: v1
kind: Service
metadata: {name: my-httpbin, namespace: default}
spec:
  type: ExternalName
  externalName: httpbin.org
  ports: [{name: http, protocol: TCP, port: 80}]
---
apiVersion: networking.istio.io/v1beta1
kind: DestinationRule
metadata: {name: my-httpbin, namespace: default}
spec:
  host: my-httpbin.default.svc.cluster.local
  trafficPolicy: {tls: {mode: DISABLE}}
---
apiVersion: v1
kind: Namespace
metadata:
  name: strict
  labels: {pod-security.kubernetes.io/enforce: restricted}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: locked, namespace: strict}
spec:
  selector: {matchLabels: {app: locked}}
  template:
    metadata: {labels: {app: locked}}
    spec:
      securityContext: {runAsNonRoot: true, seccompProfile: {type: RuntimeDefault}}
      containers:
      - name: app
        image: gcr.io/distroless/static-debian12:nonroot
        command: ["/app"]
        securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}
"""
MISSING_CURL = ('exec: "curl": executable file not found in $PATH: unknown')


@pytest.fixture(scope="module")
def cluster(ca, tmp_path_factory, kubectl_module):
    from tests.apiserver import LocalAPIServer
    tmp = tmp_path_factory.mktemp("debug")
    with LocalAPIServer(tmp / "kubeconfig", istio="1.20", ca=ca) as srv:
        env = {"KUBECONFIG": str(srv.kubeconfig_path), "KUBECACHEDIR": str(tmp / "cache")}

        def kubectl(*args, **kwargs):
            return kubectl_module(*args, env=env, **kwargs)

        applied = kubectl("apply", "-f", "-", input=WORKLOADS)
        assert applied.code == 0, applied.err
        for ns, app in (("default", "web"), ("strict", "locked")):
            assert kubectl("wait", "--for=condition=Ready", "pod", "-l", f"app={app}", "-n", ns,
                           "--timeout=30s").code == 0
        yield srv, kubectl, env


@pytest.fixture(scope="module")
def kubectl_module():
    from tests.conftest import run_kubectl
    return run_kubectl


def pod_of(kubectl, app: str, ns: str = "default") -> str:
    return kubectl("get", "pod", "-n", ns, "-l", f"app={app}", "-o", "jsonpath={.items[0].metadata.name}").out


def debug(kubectl, pod: str, *flags: str, ns: str = "default") -> str:
    """kubectl debug ... -- sleep 600; the name kubectl chose for the container."""
    res = kubectl("debug", "-n", ns, pod, "--image=curlimages/curl", *flags, "--", "sleep", "600")
    assert res.code == 0, res.err
    return res.out.split("Defaulting debug container name to ", 1)[1].split(".\n", 1)[0]


def container_state(kubectl, pod: str, name: str, ns: str = "default", want: str = "running",
                    timeout: float = 10) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        statuses = json.loads(kubectl("get", "pod", "-n", ns, pod, "-o",
                                      "jsonpath={.status.ephemeralContainerStatuses}").out or "[]")
        state = next((s["state"] for s in statuses if s["name"] == name), {})
        if want in state or time.monotonic() > deadline:
            return state
        time.sleep(0.05)


def test_debug_then_exec_curl_goes_through_the_pods_sidecar(cluster):
    srv, kubectl, _ = cluster
    pod = pod_of(kubectl, "web")
    name = debug(kubectl, pod)
    assert "running" in container_state(kubectl, pod, name)
    res = kubectl("exec", pod, "-c", name, "--", "curl", "-sS", "http://my-httpbin.default.svc.cluster.local/headers")
    assert res.code == 0, res.err
    headers = json.loads(res.out)["headers"]
    # the seed's step 5: the sidecar's headers, so istio-proxy carried the request
    assert headers["Host"] == "my-httpbin.default.svc.cluster.local"
    assert headers["X-Envoy-Decorator-Operation"].startswith("my-httpbin.default.svc.cluster.local:80")
    described = kubectl("describe", "pod", pod).out
    assert "Ephemeral Containers:" in described and name in described


def test_the_application_container_has_no_curl_and_no_shell(cluster):
    srv, kubectl, env = cluster
    pod = pod_of(kubectl, "web")
    res = kubectl("exec", pod, "-c", "app", "--", "curl", "-sS", "http://my-httpbin.default.svc.cluster.local/")
    assert res.code == 1
    assert res.out == ""
    assert res.err.startswith("error: Internal error occurred: error executing command in container: failed to "
                              "exec in container: failed to start exec ")
    assert res.err.rstrip().endswith(MISSING_CURL)
    res = kubectl("exec", pod, "-c", "app", "--", "sh", "-c", "true")
    assert res.code == 1 and 'exec: "sh": executable file not found in $PATH: unknown' in res.err
    # the same Status through the API, as the plugin's exec reads it
    import os

    from kubectl_egress import podexec
    from kubectl_egress.app import App
    from kubectl_egress.errors import EgressError

    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        with pytest.raises(EgressError) as err:
            podexec.run(App.from_raw({}).kube(), "default", pod, "app", ["curl", "http://x/"], 10)
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    assert str(err.value).startswith(f"exec in pod default/{pod} failed: Internal error occurred: error executing "
                                     "command in container")
    assert str(err.value).endswith(MISSING_CURL)


def test_busybox_has_a_shell_but_no_curl(cluster):
    srv, kubectl, _ = cluster
    pod = pod_of(kubectl, "web")
    res = kubectl("debug", pod, "--image=busybox:1.36", "--", "sleep", "600")
    name = res.out.split("Defaulting debug container name to ", 1)[1].split(".\n", 1)[0]
    assert "running" in container_state(kubectl, pod, name)
    assert kubectl("exec", pod, "-c", name, "--", "sh", "-c", "echo hi").out == "hi\n"
    res = kubectl("exec", pod, "-c", name, "--", "sh", "-c", "curl http://example.com/")
    assert res.code == 127 and "curl: not found" in res.err
    res = kubectl("exec", pod, "-c", name, "--", "curl", "http://example.com/")
    assert res.code == 1 and res.err.rstrip().endswith(MISSING_CURL)


def test_debug_in_a_restricted_namespace(cluster):
    srv, kubectl, _ = cluster
    pod = pod_of(kubectl, "locked", "strict")
    res = kubectl("debug", "-n", "strict", pod, "--image=curlimages/curl", "--", "sleep", "600")
    assert res.code == 1
    refused = res.out.split("name to ")[1].split(".")[0]
    assert res.err.splitlines()[-1] == (
        f'Error from server (Forbidden): pods "{pod}" is forbidden: violates PodSecurity "restricted:latest": '
        f'allowPrivilegeEscalation != false (container "{refused}" must set '
        f'securityContext.allowPrivilegeEscalation=false), unrestricted capabilities (container '
        f'"{refused}" must set securityContext.capabilities.drop=["ALL"])')
    # --profile=restricted is admitted; curlimages/curl's USER is a name, which runAsNonRoot cannot verify
    name = debug(kubectl, pod, "--profile=restricted", ns="strict")
    state = container_state(kubectl, pod, name, "strict", want="waiting")
    assert state["waiting"]["reason"] == "CreateContainerConfigError"
    assert "image has non-numeric user (curl_user), cannot verify user is non-root" in state["waiting"]["message"]
    # a numeric user through --custom starts it, and curl works from the pod's network
    custom = srv.workdir / "custom.json"
    custom.write_text(json.dumps({"securityContext": {"runAsUser": 100}}))
    name = debug(kubectl, pod, "--profile=restricted", f"--custom={custom}", ns="strict")
    assert "running" in container_state(kubectl, pod, name, "strict")
    res = kubectl("exec", "-n", "strict", pod, "-c", name, "--", "curl", "-sS", "-o", "/dev/null", "-w",
                  "%{http_code}", "http://httpbin.org/status/204")
    assert (res.code, res.out) == (0, "204")


def test_read_only_context_gets_the_403(cluster):
    srv, kubectl, _ = cluster
    pod = pod_of(kubectl, "web")
    res = kubectl("--context=local-readonly", "debug", pod, "--image=curlimages/curl", "--profile=general", "--",
                  "sleep", "1")
    assert res.code == 1
    assert res.err.splitlines()[-1] == (f'Error from server (Forbidden): pods "{pod}" is forbidden: User "reader" '
                                        'cannot patch resource "pods/ephemeralcontainers" in API group "" in the '
                                        'namespace "default"')


MESHED_STRICT = """
apiVersion: v1
kind: ConfigMap
metadata: {name: istio-sidecar-injector, namespace: istio-system}
data: {values: '{"istio_cni": {"enabled": true}}', config: '{}'}
---
apiVersion: v1
kind: Namespace
metadata:
  name: strict-mesh
  labels: {pod-security.kubernetes.io/enforce: restricted, istio-injection: enabled}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: meshed, namespace: strict-mesh}
spec:
  selector: {matchLabels: {app: meshed}}
  template:
    metadata: {labels: {app: meshed}}
    spec:
      securityContext: {runAsNonRoot: true, seccompProfile: {type: RuntimeDefault}}
      containers:
      - name: app
        image: gcr.io/distroless/static-debian12:nonroot
        command: ["/app"]
        securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}
"""


def test_restricted_and_in_the_mesh_with_istio_cni(cluster):
    """Istio CNI's injection passes restricted; the debug container's curl meets the pod's sidecar."""
    srv, kubectl, _ = cluster
    applied = kubectl("apply", "-f", "-", input=MESHED_STRICT)
    assert applied.code == 0, applied.err
    assert kubectl("wait", "--for=condition=Ready", "pod", "-l", "app=meshed", "-n", "strict-mesh",
                   "--timeout=30s").code == 0
    pod = pod_of(kubectl, "meshed", "strict-mesh")
    custom = srv.workdir / "numeric.json"
    custom.write_text(json.dumps({"securityContext": {"runAsUser": 100}}))
    name = debug(kubectl, pod, "--profile=restricted", f"--custom={custom}", ns="strict-mesh")
    assert "running" in container_state(kubectl, pod, name, "strict-mesh")
    res = kubectl("exec", "-n", "strict-mesh", pod, "-c", name, "--", "curl", "-sS",
                  "http://my-httpbin.default.svc.cluster.local/headers")
    assert res.code == 0, res.err
    assert "X-Envoy-Decorator-Operation" in json.loads(res.out)["headers"]
    kubectl("delete", "configmap", "-n", "istio-system", "istio-sidecar-injector")
