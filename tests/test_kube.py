"""kube: the API seam's own behaviour against the local server (paging, warnings, parallelism, exec)."""
import pytest

from kubectl_egress.app import App
from kubectl_egress.model import ENDPOINTS, SERVICES
from tests.netns import requires_pod_networks


def kube():
    return App.from_raw({}).kube()


def test_list_follows_continue_tokens(apiserver):
    client = kube()
    for i in range(7):
        client.create(SERVICES, {"apiVersion": "v1", "kind": "Service",
                                 "metadata": {"name": f"s{i}", "namespace": "default"},
                                 "spec": {"ports": [{"port": 80}]}})
    apiserver.clear_requests()
    names = [s["metadata"]["name"] for s in client.list(SERVICES, "default", limit=3)]
    assert names == ["kubernetes"] + [f"s{i}" for i in range(7)]
    pages = [r["path"] for r in apiserver.requests()]
    assert len(pages) == 3 and "continue=" in pages[1] and "continue=" in pages[2]


def test_warnings_are_printed_once_per_run(apiserver):
    seen = []
    client = kube()
    client._warn = seen.append
    for _ in range(3):
        client.list(ENDPOINTS, "default")
    assert seen == ["v1 Endpoints is deprecated in v1.33+; use discovery.k8s.io/v1 EndpointSlice"]
    client.list(ENDPOINTS, "default", quiet=True)
    assert len(seen) == 1


def test_parallel_keeps_order_and_raises_the_first_error(apiserver):
    client = kube()
    assert client.parallel(lambda x: x * 2, list(range(40))) == [x * 2 for x in range(40)]
    try:
        client.parallel(lambda x: 1 / (x - 20), list(range(40)))
    except ZeroDivisionError:
        pass
    else:
        raise AssertionError("the error of one call must reach the caller")


def test_an_exec_upgrade_that_does_not_answer_in_time(apiserver):
    from kubectl_egress.errors import EgressError

    apiserver.fault(path="/pods/ghost/exec$", delay=3, times=1)
    with pytest.raises(EgressError, match="exec in pod default/ghost did not finish within 1s"):
        kube().exec("default", "ghost", "main", ["true"], 1)


def test_a_dropped_keep_alive_connection_is_retried_for_reads_only(apiserver):
    from kubectl_egress.errors import ConnectError

    client = kube()
    client.get(SERVICES, "kubernetes", "default")
    apiserver.fault(method="GET", path="/services/kubernetes$", reset=True, times=1)
    assert client.get(SERVICES, "kubernetes", "default")["metadata"]["name"] == "kubernetes"
    apiserver.fault(method="POST", path="/services$", reset=True, times=1)
    try:
        client.create(SERVICES, {"apiVersion": "v1", "kind": "Service",
                                 "metadata": {"name": "x", "namespace": "default"},
                                 "spec": {"ports": [{"port": 80}]}})
    except ConnectError as err:
        assert "was closed before an answer came" in err.message
    else:
        raise AssertionError("a create must not be sent twice")
    assert client.get(SERVICES, "x", "default") is None


def test_objects_come_back_without_managed_fields(apiserver):
    """kubectl hides them unless --show-managed-fields; the plugin never reads them, and they
    are half of every object get -A holds."""
    client = kube()
    made = client.create(SERVICES, {"apiVersion": "v1", "kind": "Service",
                                    "metadata": {"name": "lean", "namespace": "default"},
                                    "spec": {"ports": [{"port": 80}]}})
    raw = client.request("GET", "/api/v1/namespaces/default/services/lean")
    assert [m["manager"] for m in raw["metadata"]["managedFields"]] == ["kubectl-egress"]
    got = client.get(SERVICES, "lean", "default")
    listed = [s for s in client.list(SERVICES, "default") if s["metadata"]["name"] == "lean"]
    replaced = client.replace(SERVICES, got)
    for obj in (made, got, listed[0], replaced):
        assert "managedFields" not in obj["metadata"] and obj["metadata"]["name"] == "lean"


@pytest.mark.parametrize("status, code", [
    (b'{"metadata": {}, "status": "Success"}', 0),
    (b'{"status": "Failure", "reason": "NonZeroExitCode", "message": "command terminated with non-zero exit '
     b'code: error executing command [sh -c exit 3], exit code 3", "details": {"causes": '
     b'[{"reason": "ExitCode", "message": "3"}]}}', 3),
    (b'{"status": "Failure", "message": "container not running"}', "failed: container not running"),
    (b"", "ended without an exit status"),
    (b"not json", "ended without an exit status"),
])
def test_exit_code_from_the_status_on_channel_3(status, code):
    from kubectl_egress.errors import EgressError
    from kubectl_egress.kube import Kube

    if isinstance(code, int):
        assert Kube._exit_code(status, "ns", "pod") == code
    else:
        with pytest.raises(EgressError, match=code):
            Kube._exit_code(status, "ns", "pod")


POD = """
apiVersion: v1
kind: Pod
metadata: {name: shell, namespace: default}
spec:
  containers: [{name: main, image: curlimages/curl, command: ["/bin/sleep", "infinity"]}]
"""


@requires_pod_networks
def test_exec_streams_exit_codes_and_errors(apiserver, kubectl):
    from kubectl_egress.errors import EgressError, ServerError

    assert kubectl("apply", "-f", "-", input=POD).code == 0
    assert kubectl("wait", "--for=condition=Ready", "pod/shell", "--timeout=30s").code == 0
    client = kube()
    assert client.exec("default", "shell", "main", ["sh", "-c", "echo out; echo err >&2; exit 3"], 10) == \
        (3, "out\n", "err\n")
    big = client.exec("default", "shell", "main", ["sh", "-c", "head -c 300000 /dev/zero | tr '\\0' x"], 10)
    assert big == (0, "x" * 300000, "")
    with pytest.raises(ServerError, match="container nope is not valid for pod shell"):
        client.exec("default", "shell", "nope", ["true"], 10)
    with pytest.raises(ServerError, match='pods "ghost" not found'):
        client.exec("default", "ghost", "main", ["true"], 10)
    with pytest.raises(EgressError, match="did not finish within 1s"):
        client.exec("default", "shell", "main", ["sleep", "5"], 1)
    reader = App.from_raw({"context": "local-readonly"}).kube()
    with pytest.raises(ServerError, match='cannot create resource "pods/exec"'):
        reader.exec("default", "shell", "main", ["true"], 10)
