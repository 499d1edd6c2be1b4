"""apply: the plan (create / unchanged / update / delete / refuse) is a pure function of desired and live."""
import copy
import ipaddress

import pytest

from kubectl_egress import apply, manifests
from kubectl_egress.errors import EgressError
from kubectl_egress.model import Mesh, Target

TARGET = Target("my-httpbin", "default", host="httpbin.org")
SERVICE, RULE = manifests.objects(TARGET, Mesh())


def served(obj, **spec_extra):
    """obj as the API server returns it: server fields and defaults added."""
    live = copy.deepcopy(obj)
    live["metadata"].update(uid="u-1", resourceVersion="7", creationTimestamp="2026-01-01T00:00:00Z")
    if live["kind"] == "Service":
        for port in live["spec"]["ports"]:
            port.setdefault("targetPort", port["port"])
        live["spec"].setdefault("sessionAffinity", "None")
        if live["spec"]["type"] == "ClusterIP":
            live["spec"].update(clusterIP="10.96.0.9", clusterIPs=["10.96.0.9"], ipFamilies=["IPv4"],
                                ipFamilyPolicy="SingleStack", internalTrafficPolicy="Cluster")
        live["spec"].update(spec_extra)
        live["status"] = {"loadBalancer": {}}
    return live


def key(obj):
    return apply.key_of(obj)


def actions(steps):
    return [(s.resource.kind, s.action) for s in steps]


def test_create_when_missing():
    assert actions(apply.plan([SERVICE, RULE], {}, force=False)) == [
        ("Service", "create"), ("DestinationRule", "create")]


def test_unchanged_despite_server_defaults():
    live = {key(SERVICE): served(SERVICE), key(RULE): served(RULE)}
    assert actions(apply.plan([SERVICE, RULE], live, force=False)) == [
        ("Service", "unchanged"), ("DestinationRule", "unchanged")]


@pytest.mark.parametrize("change", [
    lambda s: s["spec"].update(externalName="example.com"),
    lambda s: s["spec"]["ports"][0].update(port=8080),
    lambda s: s["spec"]["ports"][0].update(name="tcp"),
    lambda s: s["spec"].update(selector={"app": "x"}),
    lambda s: s["metadata"].setdefault("annotations", {}).update({"kubectl-egress/host": "old"}),
])
def test_update_when_a_recipe_field_differs(change):
    live = served(SERVICE)
    change(live)
    assert actions(apply.plan([SERVICE], {key(SERVICE): live}, force=False)) == [("Service", "update")]


def test_foreign_object_is_refused_unless_forced():
    live = served(SERVICE)
    live["metadata"]["labels"] = {"app": "theirs"}
    with pytest.raises(EgressError, match='service "my-httpbin" already exists in namespace "default" '
                                          "and is not managed by kubectl-egress; choose another NAME, "
                                          "or pass --force to take it over"):
        apply.plan([SERVICE], {key(SERVICE): live}, force=False)
    assert actions(apply.plan([SERVICE], {key(SERVICE): live}, force=True)) == [("Service", "update")]


def test_managed_leftovers_are_deleted_foreign_ones_kept():
    ours = served(RULE)
    theirs = copy.deepcopy(ours)
    theirs["metadata"]["labels"] = {}
    assert actions(apply.plan([SERVICE], {key(SERVICE): served(SERVICE), key(RULE): ours}, False)) == [
        ("Service", "unchanged"), ("DestinationRule", "delete")]
    assert actions(apply.plan([SERVICE], {key(SERVICE): served(SERVICE), key(RULE): theirs}, False)) == [
        ("Service", "unchanged")]


def test_merge_keeps_cluster_ip_and_foreign_labels():
    target = Target("w", "default", ips=(ipaddress.ip_address("192.0.2.1"),), port=443, protocol="tls")
    desired = manifests.service(target)
    live = served(desired)
    live["metadata"]["labels"]["team"] = "a"
    desired = copy.deepcopy(desired)
    desired["spec"]["ports"][0]["port"] = 8443
    body = apply.merged_for_update(desired, live)
    assert body["spec"]["clusterIP"] == "10.96.0.9"
    assert body["spec"]["ports"] == [{"name": "tls", "protocol": "TCP", "port": 8443}]
    assert body["metadata"]["labels"] == {"app.kubernetes.io/managed-by": "kubectl-egress", "team": "a"}
    assert body["metadata"]["resourceVersion"] == "7"


def test_merge_to_external_name_drops_cluster_ip_fields():
    target = Target("w", "default", ips=(ipaddress.ip_address("192.0.2.1"),), port=443, protocol="tls")
    live = served(manifests.service(target))
    body = apply.merged_for_update(manifests.service(Target("w", "default", host="example.com", port=443,
                                                            protocol="tls")), live)
    assert body["spec"] == {"type": "ExternalName", "externalName": "example.com", "sessionAffinity": "None",
                            "ports": [{"name": "tls", "protocol": "TCP", "port": 443}]}


@pytest.mark.parametrize("want, have, result", [
    ({"a": 1}, {"a": 1, "b": 2}, True),
    ({"a": 1}, {"a": 2}, False),
    ([{"a": 1}], [{"a": 1, "b": 2}], True),
    ([{"a": 1}], [{"a": 1}, {"a": 1}], False),
    ({"a": {"b": [1]}}, {"a": {"b": [1]}}, True),
    ({"a": None}, {}, False),
])
def test_subset(want, have, result):
    assert apply.subset(want, have) is result
