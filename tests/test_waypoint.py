"""`externalname --waypoint`: the ServiceEntry in the egress waypoint's namespace, labelled
istio.io/use-waypoint, as Istio's ambient egress guide writes it; found again by later runs and clean."""
import pytest

from kubectl_egress import manifests, waypoint
from kubectl_egress.errors import UsageError
from kubectl_egress.model import Mesh, Target
from tests.test_commands import get_json

GATEWAY = """apiVersion: v1
kind: Namespace
metadata: {name: %(ns)s, labels: {istio.io/dataplane-mode: ambient}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: waypoint, namespace: %(ns)s, labels: {istio.io/waypoint-for: service}}
spec:
  gatewayClassName: istio-waypoint
  listeners: [{name: mesh, port: 15008, protocol: HBONE}]
"""
HTTPBIN = Target("my-httpbin", "default", host="httpbin.org")


@pytest.mark.parametrize("text, want", [("waypoint", ("default", "waypoint")),
                                        ("istio-egress/waypoint", ("istio-egress", "waypoint"))])
def test_parse(text, want):
    assert waypoint.parse(text, "default") == want


@pytest.mark.parametrize("text", ["", "a/b/c", "Egress/waypoint", "istio-egress/", "x_y"])
def test_parse_refuses(text):
    with pytest.raises(UsageError, match="is not \\[NAMESPACE/\\]NAME of a waypoint"):
        waypoint.parse(text, "default")


def test_route_moves_the_service_entry_into_the_waypoints_namespace():
    objs = waypoint.route(manifests.objects(HTTPBIN, Mesh(mode="alias")), HTTPBIN, ("istio-egress", "waypoint"))
    service, entry, rule = objs
    assert service["metadata"]["annotations"] == {"kubectl-egress/waypoint": "istio-egress/waypoint"}
    assert (entry["metadata"]["namespace"], entry["metadata"]["name"]) == ("istio-egress", "my-httpbin.default")
    assert entry["metadata"]["labels"]["istio.io/use-waypoint"] == "waypoint"
    assert entry["spec"]["hosts"] == ["httpbin.org"]
    assert rule["metadata"]["namespace"] == "default"  # for callers with a sidecar, as without a waypoint


def test_the_recipe_through_a_waypoint(make_apiserver, egress, kubectl):
    server = make_apiserver("1.28", ambient=True)
    server.clear_requests()
    missing = egress("externalname", "my-httpbin", "httpbin.org", "--waypoint", "istio-egress/waypoint")
    assert missing.code == 1 and missing.err.endswith(
        'error: waypoint "istio-egress/waypoint" not found: make it with "istioctl waypoint apply --for service '
        '--namespace istio-egress --name waypoint"\n')
    assert not [r for r in server.requests() if r["method"] != "GET"]  # nothing written
    assert kubectl("apply", "-f", "-", input=GATEWAY % {"ns": "istio-egress"}).code == 0
    res = egress("externalname", "my-httpbin", "httpbin.org", "--waypoint", "istio-egress/waypoint")
    assert res.lines == ["service/my-httpbin created", "serviceentry.networking.istio.io/my-httpbin.default created",
                         "destinationrule.networking.istio.io/my-httpbin created"]
    assert "through waypoint istio-egress/waypoint" in res.err and "does not implement ExternalName" in res.err
    entry = get_json(server, "/apis/networking.istio.io/v1/namespaces/istio-egress/serviceentries/my-httpbin.default")
    assert entry["metadata"]["labels"]["istio.io/use-waypoint"] == "waypoint"
    again = egress("externalname", "my-httpbin", "httpbin.org", "--waypoint", "istio-egress/waypoint")
    assert all(line.endswith(" unchanged") for line in again.lines)
    # another waypoint: the ServiceEntry moves; none: it comes back to the Service's namespace
    kubectl("apply", "-f", "-", input=GATEWAY % {"ns": "egress-2"})
    moved = egress("externalname", "my-httpbin", "httpbin.org", "--waypoint", "egress-2/waypoint")
    assert "serviceentry.networking.istio.io/my-httpbin.default created" in moved.lines
    assert "serviceentry.networking.istio.io/my-httpbin.default pruned" in moved.lines
    assert get_json(server, "/apis/networking.istio.io/v1/namespaces/istio-egress/serviceentries/"
                            "my-httpbin.default") is None
    assert egress("clean", "my-httpbin").lines == [
        'destinationrule.networking.istio.io "my-httpbin" deleted',
        'serviceentry.networking.istio.io "my-httpbin.default" deleted', 'service "my-httpbin" deleted']
    assert get_json(server, "/apis/networking.istio.io/v1/namespaces/egress-2/serviceentries/my-httpbin.default") is None


def test_a_waypoint_needs_alias_mode(make_apiserver, egress):
    make_apiserver("1.20")
    res = egress("externalname", "my-httpbin", "httpbin.org", "--waypoint", "waypoint")
    assert res.code == 1 and "needs Istio's alias mode" in res.err
    bad = egress("externalname", "my-httpbin", "httpbin.org", "--waypoint", "a/b/c")
    assert bad.code == 2
