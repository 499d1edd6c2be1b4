"""kube: the API seam's own behaviour against the local server (paging, warnings, parallelism, exec)."""

from kubectl_egress.app import App
from kubectl_egress.model import ENDPOINTS, SERVICES


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
