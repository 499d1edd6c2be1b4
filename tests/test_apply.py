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


def test_plan_steps_carry_the_desired_and_the_live_object():
    live_rule = served(RULE)
    live_rule["spec"]["trafficPolicy"]["tls"]["mode"] = "SIMPLE"
    stale = served(RULE)
    stale["kind"], stale["metadata"]["name"] = "ServiceEntry", "my-httpbin"
    live = {key(SERVICE): served(SERVICE), key(RULE): live_rule, key(stale): stale}
    steps = apply.plan([SERVICE, RULE], live, force=False)
    assert [(s.action, s.desired, s.live) for s in steps] == [
        ("unchanged", SERVICE, live[key(SERVICE)]), ("update", RULE, live_rule), ("delete", None, stale)]
    assert [(s.name, s.namespace) for s in steps] == [("my-httpbin", "default")] * 3
    (created,) = apply.plan([SERVICE], {}, force=False)
    assert (created.action, created.desired, created.live) == ("create", SERVICE, None)


def test_an_object_without_labels_or_metadata_is_not_ours():
    assert apply.is_managed({}) is False
    assert apply.is_managed({"metadata": {"labels": None}}) is False
    assert apply.is_managed(served(SERVICE)) is True


@pytest.mark.parametrize("spec, families", [
    ({"type": "ExternalName", "externalName": "a.org", "ipFamilies": ["IPv4"]}, ([], "")),
    ({"type": "ClusterIP"}, (["IPv4"], "SingleStack")),  # the API server's defaults on a single-stack cluster
    ({"type": "ClusterIP", "ipFamilies": ["IPv6"], "ipFamilyPolicy": "SingleStack"}, (["IPv6"], "SingleStack")),
    ({"type": "ClusterIP", "ipFamilies": ["IPv4", "IPv6"], "ipFamilyPolicy": "PreferDualStack"},
     (["IPv4", "IPv6"], "PreferDualStack")),
])
def test_effective_families(spec, families):
    assert apply._effective_families(spec) == families


V6 = Target("w", "default", ips=(ipaddress.ip_address("2001:db8::1"),), port=443, protocol="tls", host="w.org")
V4 = Target("w", "default", ips=(ipaddress.ip_address("192.0.2.1"),), port=443, protocol="tls", host="w.org")


def with_meta(obj, **meta):
    out = copy.deepcopy(obj)
    out["metadata"].update(meta)
    return out


@pytest.mark.parametrize("desired, live, equal", [
    (SERVICE, {"kind": "Service"}, False),
    (SERVICE, with_meta(served(SERVICE), labels={}), False),
    (SERVICE, with_meta(served(SERVICE), labels={"app.kubernetes.io/managed-by": "kubectl-egress", "team": "a"}),
     True),
    (manifests.service(V4), served(manifests.service(V4)), True),
    (manifests.service(V4), with_meta(served(manifests.service(V4)), annotations={}), False),
    (manifests.service(V4), with_meta(served(manifests.service(V4)),
                                      annotations={"kubectl-egress/host": "w.org", "note": "theirs"}), True),
    (manifests.service(V6), served(manifests.service(V4)), False),
    (manifests.service(V4), served(manifests.service(V4), externalName="old.example.com"), False),
    (RULE, with_meta(served(RULE)), True),
    (RULE, {**served(RULE), "apiVersion": "networking.istio.io/v1beta1"}, False),
    (RULE, {**served(RULE), "spec": {"host": RULE["spec"]["host"], "trafficPolicy": {"tls": {"mode": "SIMPLE"}}}},
     False),
])
def test_owned_equal(desired, live, equal):
    assert apply.owned_equal(desired, live) is equal


def test_merge_writes_ours_over_live_and_keeps_theirs():
    desired = manifests.service(V4)
    desired["spec"]["ports"][0]["port"] = 8443
    live = served(manifests.service(V4))
    live["metadata"].update(labels={"app.kubernetes.io/managed-by": "kubectl-egress", "team": "a"},
                            annotations={"kubectl-egress/host": "old.org", "note": "theirs"},
                            managedFields=[{"manager": "kubectl-egress"}])
    before = copy.deepcopy(live)
    body = apply.merged_for_update(desired, live)
    assert body == {
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "w", "namespace": "default", "uid": "u-1", "resourceVersion": "7",
                     "creationTimestamp": "2026-01-01T00:00:00Z",
                     "labels": {"app.kubernetes.io/managed-by": "kubectl-egress", "team": "a"},
                     "annotations": {"note": "theirs", "kubectl-egress/host": "w.org"}},
        "spec": {"type": "ClusterIP", "ports": [{"name": "tls", "protocol": "TCP", "port": 8443}],
                 "sessionAffinity": "None", "clusterIP": "10.96.0.9", "clusterIPs": ["10.96.0.9"],
                 "ipFamilies": ["IPv4"], "ipFamilyPolicy": "SingleStack", "internalTrafficPolicy": "Cluster"},
        "status": {"loadBalancer": {}},
    }
    assert live == before  # the live object read from the server is left as it was
    body["spec"]["ports"][0]["port"] = 1
    assert desired["spec"]["ports"][0]["port"] == 8443  # nor is the desired one shared


def test_merge_drops_our_annotation_when_the_recipe_has_none():
    live = served(manifests.service(V4))
    body = apply.merged_for_update(manifests.service(Target("w", "default", ips=V4.ips, port=443,
                                                            protocol="tls")), live)
    assert "annotations" not in body["metadata"]


def test_merge_to_the_named_families_or_from_an_external_name():
    v6 = manifests.service(V6)
    assert {k: v for k, v in apply.merged_for_update(v6, served(manifests.service(V4)))["spec"].items()
            if k.startswith("ipFamil")} == {"ipFamilies": ["IPv6"], "ipFamilyPolicy": "SingleStack"}
    # from an ExternalName, nothing of the old spec's families is carried over: the server allocates
    from_name = apply.merged_for_update(manifests.service(V4), {**served(SERVICE), "spec": {
        "type": "ExternalName", "externalName": "httpbin.org", "ports": [], "ipFamilies": ["IPv6"]}})
    assert from_name["spec"] == {"type": "ClusterIP", "ports": [{"name": "tls", "protocol": "TCP", "port": 443}]}


def test_merge_replaces_a_rules_spec_whole():
    live = served(RULE)
    live["apiVersion"] = "networking.istio.io/v1beta1"
    live["spec"] = {"host": "old.example.com", "exportTo": ["."], "trafficPolicy": {"tls": {"mode": "SIMPLE"}}}
    body = apply.merged_for_update(RULE, live)
    assert body["apiVersion"] == "networking.istio.io/v1"
    assert body["spec"] == RULE["spec"]
    body["spec"]["trafficPolicy"]["tls"]["mode"] = "changed"
    assert RULE["spec"]["trafficPolicy"]["tls"]["mode"] == "DISABLE"


def test_fresh_copy_is_what_can_be_created_again():
    live = served(manifests.service(V4))
    live["metadata"].update(generation=1, managedFields=[{}], deletionTimestamp="x", selfLink="/x",
                            deletionGracePeriodSeconds=0)
    fresh = apply.fresh_copy(live)
    assert fresh == {"apiVersion": "v1", "kind": "Service",
                     "metadata": {"name": "w", "namespace": "default",
                                  "labels": {"app.kubernetes.io/managed-by": "kubectl-egress"},
                                  "annotations": {"kubectl-egress/host": "w.org"}},
                     "spec": {"type": "ClusterIP", "ports": [{"name": "tls", "protocol": "TCP", "port": 443,
                                                              "targetPort": 443}],
                              "sessionAffinity": "None", "ipFamilies": ["IPv4"], "ipFamilyPolicy": "SingleStack",
                              "internalTrafficPolicy": "Cluster"}}
    assert live["metadata"]["uid"] == "u-1" and "status" in live  # a copy: the original keeps them
    rule = apply.fresh_copy(served(RULE))
    assert rule == RULE


def test_merge_onto_an_object_taken_over_with_force_adds_our_labels():
    theirs = served(SERVICE)
    theirs["metadata"]["labels"] = {"team": "a"}
    body = apply.merged_for_update(SERVICE, theirs)
    assert body["metadata"]["labels"] == {"team": "a", "app.kubernetes.io/managed-by": "kubectl-egress"}


def test_merge_onto_a_service_without_families_adds_none():
    # a Service read from a server that predates dual-stack fields has no ipFamilies
    live = served(manifests.service(V4))
    for field in ("ipFamilies", "ipFamilyPolicy"):
        del live["spec"][field]
    spec = apply.merged_for_update(manifests.service(V4), live)["spec"]
    assert "ipFamilies" not in spec and "ipFamilyPolicy" not in spec


def test_fresh_copy_of_an_external_name_service():
    fresh = apply.fresh_copy(served(SERVICE))
    assert fresh["spec"] == {"type": "ExternalName", "externalName": "httpbin.org", "sessionAffinity": "None",
                             "ports": [{"name": "http", "protocol": "TCP", "port": 80, "targetPort": 80}]}
