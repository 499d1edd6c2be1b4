"""metadata.managedFields as kube-apiserver writes them: server-side field management.

Sources for the expected values (cited again where a case is not obvious):
- kubernetes/kubernetes staging/src/k8s.io/apimachinery/pkg/util/managedfields/internal:
  fieldmanager.go (decodeLiveOrNew, isResetManagedFields), skipnonapplied.go,
  capmanagers.go, managedfieldsupdater.go, stripmeta.go, managedfields.go (entry order);
- kubernetes/kubernetes staging/src/k8s.io/apiserver/pkg/endpoints/handlers/rest.go
  (managerOrUserAgent, prefixFromUserAgent) and apimachinery pkg/apis/meta/v1/validation
  (ValidateFieldManager, ValidatePatchOptions);
- kubernetes-sigs/structured-merge-diff typed/compare.go, typed/tofieldset.go,
  merge/update.go, fieldpath/serialize.go, fieldpath/element.go;
- real `kubectl get -o yaml` dumps of kubectl-create / kubectl-expose Services, kubectl-create
  Deployments, kube-controller-manager pods and kubelet status entries in public issue
  threads and tutorials, and https://kubernetes.io/docs/reference/using-api/server-side-apply/.
"""
import copy
import json
import re

import pytest

from tests.apiserver import istio, managed
from tests.apiserver.kinds import builtin_kinds, kind_from_crd
from tests.apiserver.managed import PE, FieldSet

KINDS = {k.kind: k for k in builtin_kinds()}
DR_KIND = kind_from_crd(istio.crds("1.20")[0])
T0, T1, T2 = "2025-05-01T10:00:00Z", "2025-05-01T10:00:05Z", "2025-05-01T10:00:09Z"


def track(kind, live, new, manager, now=T0, sub="", applied=None, version=None):
    """managed.track with what the local server passes for the kind (api.API._track)."""
    version = version or kind.storage_version
    new = copy.deepcopy(new)
    if kind.decode and sub != "status":
        kind.decode(new)
    return managed.track(live, new, manager=manager, api_version=kind.api_version(version), now=now,
                         type_=kind.field_type(version), zero=kind.zero(version), subresource=sub,
                         reset=kind.reset_fields(sub), applied=applied, omit_empty=kind.omit_empty())


def stored(obj, entries, uid="u-1"):
    """obj as the server stores it once written with those managedFields."""
    out = copy.deepcopy(obj)
    out.setdefault("metadata", {})["uid"] = uid
    if entries:
        out["metadata"]["managedFields"] = entries
    return out


def by_manager(entries):
    return {(e["manager"], e["operation"], e.get("subresource", "")): e for e in entries}


# -- manager names and their validation -------------------------------------------------
@pytest.mark.parametrize("field_manager, user_agent, expected", [
    ("", "kubectl/v1.32.4 (linux/amd64) kubernetes/8adc0f0", "kubectl"),
    ("", "kubectl-egress/v0.3.0", "kubectl-egress"),
    ("", "OpenAPI-Generator/31.0.0/python", "OpenAPI-Generator"),  # the official Python client
    ("", "Go-http-client/2.0", "Go-http-client"),
    ("kubectl-create", "kubectl/v1.32.4 (linux/amd64) kubernetes/8adc0f0", "kubectl-create"),
    ("", "no slash at all", "no slash at all"),
    ("", "a\x00b\tc/1", "abc"),  # prefixFromUserAgent drops what unicode.IsPrint refuses
    ("", "x" * 200, "x" * 128),  # ... and stops at FieldManagerMaxLength bytes
    ("", "é" * 100 + "/1", "é" * 64),  # 2 bytes each: 64 fit in 128 bytes
    ("", "", "unknown"),  # buildmanagerinfo.go: an empty manager is "unknown"
])
def test_manager_name(field_manager, user_agent, expected):
    assert managed.manager_name(field_manager, user_agent) == expected


@pytest.mark.parametrize("name, causes", [
    ("kubectl", []),
    ("x" * 128, []),
    ("x" * 129, [("FieldValueTooLong", "Too long: may not be more than 128 bytes")]),
    ("é" * 65, [("FieldValueTooLong", "Too long: may not be more than 128 bytes")]),  # bytes, not runes
    ("a\tb", [("FieldValueInvalid", 'Invalid value: "a\\tb": invalid character U+0009 (at position 1)')]),
    ("é\x7f", [("FieldValueInvalid", 'Invalid value: "é\\x7f": invalid character U+007F (at position 2)')]),
])
def test_validate_field_manager(name, causes):
    # ValidateFieldManager: field.TooLong ("may not be more than N bytes" since kubernetes#128553,
    # 1.33) and field.Invalid with "invalid character %#U (at position %d)", a byte offset
    assert managed.validate_field_manager(name) == causes


# -- fieldsV1 encoding ----------------------------------------------------------------------
def test_field_set_serialization_order_and_dot_last():
    s = FieldSet.of([PE("f", "spec"), PE("f", "ports")],
                    [PE("f", "spec"), PE("f", "ports"), PE("k", '{"port":80,"protocol":"TCP"}')],
                    [PE("f", "spec"), PE("f", "ports"), PE("k", '{"port":80,"protocol":"TCP"}'), PE("f", "port")],
                    [PE("f", "spec"), PE("f", "ports"), PE("k", '{"port":443,"protocol":"TCP"}')],
                    [PE("f", "spec"), PE("f", "ports"), PE("k", '{"port":9,"protocol":"UDP"}')],
                    [PE("f", "metadata"), PE("f", "finalizers"), PE("v", '"b"')],
                    [PE("f", "metadata"), PE("f", "finalizers"), PE("v", '"a"')])
    # fieldpath/serialize.go: children in PathElement order (keys compare field by field and
    # numbers numerically: 9 < 80 < 443), "." written after the node's own children
    assert json.dumps(s.to_fields_v1(), separators=(",", ":")) == (
        '{"f:metadata":{"f:finalizers":{"v:\\"a\\"":{},"v:\\"b\\"":{}}},'
        '"f:spec":{"f:ports":{"k:{\\"port\\":9,\\"protocol\\":\\"UDP\\"}":{},'
        '"k:{\\"port\\":80,\\"protocol\\":\\"TCP\\"}":{"f:port":{},".":{}},'
        '"k:{\\"port\\":443,\\"protocol\\":\\"TCP\\"}":{},".":{}}}}')
    assert FieldSet.from_fields_v1(s.to_fields_v1()) == s


def test_fields_v1_parsing():
    doc = {"f:a": {".": {}, "f:b": {}}, "k:{\"z\":1,\"name\":\"x\"}": {}, "x:future": {"f:c": {}}}
    s = FieldSet.from_fields_v1(doc)
    # keys are re-sorted by field name; unknown element types are dropped (readIterV1)
    assert s.to_fields_v1() == {"f:a": {"f:b": {}, ".": {}}, 'k:{"name":"x","z":1}': {}}
    for bad in ({"f:a": 1}, {"q": {}}, {"k:[1]": {}}, {"fa": {}}):
        with pytest.raises(managed.ManagedFieldsError):
            FieldSet.from_fields_v1(bad)


SERVICE_EXTERNALNAME = {  # what `kubectl create service externalname web --external-name example.com` sends
    "apiVersion": "v1", "kind": "Service",
    "metadata": {"name": "web", "namespace": "default", "labels": {"app": "web"}},
    "spec": {"type": "ExternalName", "externalName": "example.com", "selector": {"app": "web"}}}
SERVICE_CLUSTERIP = {  # `kubectl create service clusterip web --tcp=80:8080`
    "apiVersion": "v1", "kind": "Service",
    "metadata": {"name": "web", "namespace": "default", "labels": {"app": "web"}},
    "spec": {"type": "ClusterIP", "selector": {"app": "web"},
             "ports": [{"name": "80-8080", "port": 80, "protocol": "TCP", "targetPort": 8080}]}}
DEPLOYMENT = {  # `kubectl create deployment d --image=nginx:1.25 --port=80`
    "apiVersion": "apps/v1", "kind": "Deployment",
    "metadata": {"name": "d", "namespace": "default", "labels": {"app": "d"}},
    "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "d"}}, "strategy": {},
             "template": {"metadata": {"labels": {"app": "d"}},
                          "spec": {"containers": [{"name": "nginx", "image": "nginx:1.25", "resources": {},
                                                   "ports": [{"containerPort": 80}]}]}}}}
DESTINATION_RULE = {  # `kubectl apply -f` (client side) of the seed's rule
    "apiVersion": "networking.istio.io/v1alpha3", "kind": "DestinationRule",
    "metadata": {"name": "r", "namespace": "default",
                 "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{}"}},
    "spec": {"host": "example.com", "exportTo": ["."], "trafficPolicy": {"tls": {"mode": "DISABLE"}}}}


@pytest.mark.parametrize("kind, obj, manager, expected", [
    # Real dumps (kubectl-expose, kubectl-create, oc, 2020-2023): labels `.` (absent from the
    # empty Service), no `.` on f:spec (ServiceSpec is a struct, present in the empty object,
    # typed/compare.go's post-item hook adds only what lhs lacks); scheme defaults owned
    # (sessionAffinity, type, internalTrafficPolicy, port protocol and targetPort);
    # selector atomic (+mapType=atomic: `f:selector: {}` in recent dumps).
    ("Service", SERVICE_EXTERNALNAME, "kubectl-create",
     {"f:metadata": {"f:labels": {".": {}, "f:app": {}}},
      "f:spec": {"f:externalName": {}, "f:selector": {}, "f:sessionAffinity": {}, "f:type": {}}}),
    ("Service", SERVICE_CLUSTERIP, "kubectl-create",
     {"f:metadata": {"f:labels": {".": {}, "f:app": {}}},
      "f:spec": {"f:internalTrafficPolicy": {},
                 "f:ports": {".": {}, 'k:{"port":80,"protocol":"TCP"}': {
                     ".": {}, "f:name": {}, "f:port": {}, "f:protocol": {}, "f:targetPort": {}}},
                 "f:selector": {}, "f:sessionAffinity": {}, "f:type": {}}}),
    # The kubectl-create Deployment dumps: strategy/template/template.metadata/template.spec and
    # containers present in the empty Deployment (no `.`), rollingUpdate, labels, ports absent
    # (`.`); LabelSelector +structType=atomic; containers by name, ports by containerPort+protocol;
    # every SetDefaults_* field owned by the creator.
    ("Deployment", DEPLOYMENT, "kubectl-create",
     {"f:metadata": {"f:labels": {".": {}, "f:app": {}}},
      "f:spec": {"f:progressDeadlineSeconds": {}, "f:replicas": {}, "f:revisionHistoryLimit": {},
                 "f:selector": {},
                 "f:strategy": {"f:rollingUpdate": {".": {}, "f:maxSurge": {}, "f:maxUnavailable": {}},
                                "f:type": {}},
                 "f:template": {"f:metadata": {"f:labels": {".": {}, "f:app": {}}},
                                "f:spec": {"f:containers": {'k:{"name":"nginx"}': {
                                    ".": {}, "f:image": {}, "f:imagePullPolicy": {}, "f:name": {},
                                    "f:ports": {".": {}, 'k:{"containerPort":80,"protocol":"TCP"}': {
                                        ".": {}, "f:containerPort": {}, "f:protocol": {}}},
                                    "f:resources": {}, "f:terminationMessagePath": {},
                                    "f:terminationMessagePolicy": {}},
                                },
                                    "f:dnsPolicy": {}, "f:restartPolicy": {}, "f:schedulerName": {},
                                    "f:securityContext": {}, "f:terminationGracePeriodSeconds": {}}}}}),
    # Custom resources start from an empty unstructured object: f:spec gets `.`; lists without
    # x-kubernetes-list-type are atomic (`f:exportTo: {}`).
    ("DestinationRule", DESTINATION_RULE, "kubectl-client-side-apply",
     {"f:metadata": {"f:annotations": {".": {}, "f:kubectl.kubernetes.io/last-applied-configuration": {}}},
      "f:spec": {".": {}, "f:exportTo": {}, "f:host": {},
                 "f:trafficPolicy": {".": {}, "f:tls": {".": {}, "f:mode": {}}}}}),
])
def test_fields_v1_of_a_create(kind, obj, manager, expected):
    k = DR_KIND if kind == "DestinationRule" else KINDS[kind]
    version = "v1alpha3" if kind == "DestinationRule" else None
    [entry] = track(k, None, obj, manager, version=version)
    assert entry == {"manager": manager, "operation": "Update", "apiVersion": obj["apiVersion"],
                     "time": T0, "fieldsType": "FieldsV1", "fieldsV1": expected}


def test_status_is_not_owned_by_main_resource_writes():
    # strategies' GetResetFields: a kind with a status subresource resets status on the main
    # resource; metadata name/namespace/uid/... are never tracked (stripmeta.go)
    svc = copy.deepcopy(SERVICE_EXTERNALNAME)
    svc["status"] = {"loadBalancer": {"ingress": [{"ip": "1.2.3.4"}]}}
    svc["metadata"].update(uid="x", resourceVersion="5", generation=3, creationTimestamp=T0)
    [entry] = track(KINDS["Service"], None, svc, "m")
    assert "f:status" not in entry["fieldsV1"]
    assert entry["fieldsV1"]["f:metadata"] == {"f:labels": {".": {}, "f:app": {}}}


def test_endpointslice_lists_are_atomic():
    # discovery/v1: endpoints and ports +listType=atomic; addressType/endpoints/ports have no
    # omitempty, so the empty slice has them (modified, not added)
    slice_ = {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
              "metadata": {"name": "s", "labels": {"kubernetes.io/service-name": "s"}},
              "addressType": "IPv4", "endpoints": [{"addresses": ["10.0.0.1"]}],
              "ports": [{"name": "http", "port": 80}]}
    [entry] = track(KINDS["EndpointSlice"], None, slice_, "m")
    assert entry["fieldsV1"] == {"f:addressType": {}, "f:endpoints": {},
                                 "f:metadata": {"f:labels": {".": {}, "f:kubernetes.io/service-name": {}}},
                                 "f:ports": {}}


def test_owner_references_and_generate_name():
    # OwnerReference is +structType=atomic: `k:{"uid":"..."}: {}` (recent kube-controller-manager
    # pod dumps); generateName is tracked, name is not
    pod = {"apiVersion": "v1", "kind": "Pod",
           "metadata": {"generateName": "d-abc-", "name": "d-abc-x", "labels": {"app": "d"},
                        "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "d-abc",
                                             "uid": "1234", "controller": True}]},
           "spec": {"containers": [{"name": "c", "image": "i:1"}]}}
    [entry] = track(KINDS["Pod"], None, pod, "kube-controller-manager")
    assert entry["fieldsV1"]["f:metadata"] == {
        "f:generateName": {}, "f:labels": {".": {}, "f:app": {}},
        "f:ownerReferences": {".": {}, 'k:{"uid":"1234"}': {}}}
    assert "f:enableServiceLinks" in entry["fieldsV1"]["f:spec"]  # SetDefaults_Pod
    assert "f:serviceAccountName" not in entry["fieldsV1"]["f:spec"]  # admission's, not a default


# -- update semantics -------------------------------------------------------------------------------
def created_service():
    [entry] = track(KINDS["Service"], None, SERVICE_EXTERNALNAME, "kubectl-create", T0)
    obj = copy.deepcopy(SERVICE_EXTERNALNAME)
    KINDS["Service"].decode(obj)
    return stored(obj, [entry])


def test_second_manager_owns_only_what_it_adds():
    live = created_service()
    new = copy.deepcopy(live)
    new["metadata"]["labels"]["team"] = "a"
    entries = track(KINDS["Service"], live, new, "kubectl-label", T1)
    assert [e["manager"] for e in entries] == ["kubectl-create", "kubectl-label"]
    assert entries[0] == live["metadata"]["managedFields"][0]  # untouched, time too
    assert entries[1]["fieldsV1"] == {"f:metadata": {"f:labels": {"f:team": {}}}}
    assert entries[1]["time"] == T1


def test_changed_field_moves_to_the_writer():
    live = created_service()
    new = copy.deepcopy(live)
    new["spec"]["externalName"] = "other.example.com"
    entries = by_manager(track(KINDS["Service"], live, new, "kubectl-edit", T1))
    assert "f:externalName" not in entries["kubectl-create", "Update", ""]["fieldsV1"]["f:spec"]
    assert entries["kubectl-edit", "Update", ""]["fieldsV1"] == {"f:spec": {"f:externalName": {}}}


def test_removed_fields_leave_every_manager_and_empty_entries_go():
    live = created_service()
    labelled = copy.deepcopy(live)
    labelled["metadata"]["labels"]["team"] = "a"
    labelled["metadata"]["managedFields"] = track(KINDS["Service"], live, labelled, "kubectl-label", T1)
    unlabelled = copy.deepcopy(labelled)
    del unlabelled["metadata"]["labels"]["team"]
    entries = track(KINDS["Service"], labelled, unlabelled, "kubectl-label", T2)
    # the removal takes nothing: kubectl-label owns nothing any more, its entry is gone
    assert [e["manager"] for e in entries] == ["kubectl-create"]


def test_same_manager_merges_into_one_entry_with_a_new_time():
    live = created_service()
    new = copy.deepcopy(live)
    new["metadata"]["labels"]["team"] = "a"
    [entry] = track(KINDS["Service"], live, new, "kubectl-create", T1)
    assert entry["time"] == T1
    assert entry["fieldsV1"]["f:metadata"] == {"f:labels": {".": {}, "f:app": {}, "f:team": {}}}


def test_no_change_keeps_entries_and_times():
    live = created_service()
    assert track(KINDS["Service"], live, copy.deepcopy(live), "someone-else", T2) == \
        live["metadata"]["managedFields"]


def test_update_with_another_api_version_is_another_entry():
    # BuildManagerIdentifier: an Update's identity includes its apiVersion
    live = stored(DESTINATION_RULE, track(DR_KIND, None, DESTINATION_RULE, "m", version="v1alpha3"))
    new = copy.deepcopy(live)
    new["apiVersion"] = "networking.istio.io/v1beta1"
    new["metadata"]["labels"] = {"x": "y"}
    entries = track(DR_KIND, live, new, "m", T1, version="v1beta1")
    assert [(e["manager"], e["apiVersion"]) for e in entries] == [
        ("m", "networking.istio.io/v1alpha3"), ("m", "networking.istio.io/v1beta1")]


@pytest.mark.parametrize("sent, expected_managers", [
    (None, ["kubectl-create", "w"]),  # nothing sent: the live entries (decodeLiveOrNew)
    ([], []),  # reset: empty, and an existing object without entries is not tracked (skipnonapplied.go)
    ([{}], []),  # one empty entry is a reset too (isResetManagedFields)
    ([{"manager": "x", "operation": "Bogus", "apiVersion": "v1", "fieldsType": "FieldsV1", "fieldsV1": {}}],
     ["kubectl-create", "w"]),  # invalid: ignored, the live entries are used
    ([{"manager": "mine", "operation": "Update", "apiVersion": "v1", "time": "2025-05-01T12:00:00+02:00",
       "fieldsType": "FieldsV1", "fieldsV1": {"f:spec": {"f:type": {}}}}],
     ["mine", "w"]),  # valid: kept (written back in UTC), the update goes on from them
])
def test_managed_fields_sent_by_the_client(sent, expected_managers):
    live = created_service()
    new = copy.deepcopy(live)
    new["metadata"]["labels"]["team"] = "a"
    if sent is None:
        del new["metadata"]["managedFields"]
    else:
        new["metadata"]["managedFields"] = sent
    entries = track(KINDS["Service"], live, new, "w", T1)
    assert [e["manager"] for e in entries] == expected_managers
    if expected_managers[:1] == ["mine"]:
        assert entries[0]["time"] == "2025-05-01T10:00:00Z"


def test_untracked_object_stays_untracked_until_applied():
    live = created_service()
    del live["metadata"]["managedFields"]
    new = copy.deepcopy(live)
    new["spec"]["externalName"] = "x.example.com"
    assert track(KINDS["Service"], live, new, "w", T1) == []
    # skipnonapplied.go: the first apply makes "before-first-apply" own what was there
    config = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "labels": {"team": "a"}}}
    merged = copy.deepcopy(live)
    merged["metadata"]["labels"]["team"] = "a"
    entries = by_manager(track(KINDS["Service"], live, merged, "kubectl", T1, applied=config))
    assert entries["kubectl", "Apply", ""]["fieldsV1"] == {"f:metadata": {"f:labels": {"f:team": {}}}}
    assert entries["before-first-apply", "Update", ""]["fieldsV1"]["f:spec"]["f:externalName"] == {}


def test_status_subresource_writes_own_only_status():
    kind = KINDS["Deployment"]
    [entry] = track(kind, None, DEPLOYMENT, "kubectl-create")
    obj = copy.deepcopy(DEPLOYMENT)
    kind.decode(obj)
    obj["status"] = {}
    live = stored(obj, [entry])
    new = copy.deepcopy(live)
    new["status"] = {"replicas": 1, "conditions": [{"type": "Available", "status": "True"}]}
    new["spec"]["replicas"] = 5  # reset for the status subresource: not owned
    entries = by_manager(track(kind, live, new, "kube-controller-manager", T1, sub="status"))
    status = entries["kube-controller-manager", "Update", "status"]
    # DeploymentStatus is a struct, present when empty: no `.` on f:status
    assert status["fieldsV1"] == {"f:status": {"f:conditions": {
        ".": {}, 'k:{"type":"Available"}': {".": {}, "f:status": {}, "f:type": {}}}, "f:replicas": {}}}
    assert status["subresource"] == "status"
    assert list(status) == ["manager", "operation", "apiVersion", "time", "fieldsType", "fieldsV1", "subresource"]


def test_entry_order_apply_first_then_time_then_manager():
    live = created_service()  # kubectl-create at T0
    new = copy.deepcopy(live)
    new["metadata"]["labels"]["a"] = "1"
    new["metadata"]["managedFields"] = track(KINDS["Service"], live, new, "zz-late", T2)
    newer = copy.deepcopy(new)
    newer["metadata"]["labels"]["b"] = "2"
    newer["metadata"]["managedFields"] = track(KINDS["Service"], new, newer, "aa-early", T1)
    config = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "labels": {"c": "3"}}}
    applied = copy.deepcopy(newer)
    applied["metadata"]["labels"]["c"] = "3"
    entries = track(KINDS["Service"], newer, applied, "kubectl", T0, applied=config)
    # managedfields.go sortEncodedManagedFields: operation (Apply < Update), time, manager
    assert [(e["operation"], e["manager"]) for e in entries] == [
        ("Apply", "kubectl"), ("Update", "kubectl-create"), ("Update", "aa-early"), ("Update", "zz-late")]


def test_more_than_ten_updaters_merge_into_ancient_changes():
    live = created_service()
    obj = live
    for i in range(11):
        new = copy.deepcopy(obj)
        new["metadata"]["labels"][f"l{i}"] = "x"
        new["metadata"]["managedFields"] = track(KINDS["Service"], obj, new, f"m{i:02}",
                                                 f"2025-05-01T10:00:{10 + i}Z")
        obj = new
    managers = [e["manager"] for e in obj["metadata"]["managedFields"]]
    # capmanagers.go: at the 10th updater the two oldest (kubectl-create, m00) merge into
    # "ancient-changes" per version, with the merged one's time; at the 11th, the bucket is the
    # oldest entry and m01 joins it
    assert managers == ["ancient-changes"] + [f"m{i:02}" for i in range(2, 11)]
    ancient = obj["metadata"]["managedFields"][0]
    assert ancient["time"] == "2025-05-01T10:00:11Z"
    assert set(ancient["fieldsV1"]["f:metadata"]["f:labels"]) == {".", "f:app", "f:l0", "f:l1"}
    assert ancient["fieldsV1"]["f:spec"]["f:externalName"] == {}


def test_apply_owns_what_it_applies_without_dots_and_takes_over():
    live = created_service()
    config = {"apiVersion": "v1", "kind": "Service",
              "metadata": {"name": "web", "labels": {"app": "web", "team": "a"}},
              "spec": {"type": "ExternalName", "externalName": "new.example.com",
                       "ports": [{"port": 443}]}}
    merged = copy.deepcopy(live)
    merged["metadata"]["labels"]["team"] = "a"
    merged["spec"].update(externalName="new.example.com", ports=[{"port": 443}])
    entries = by_manager(track(KINDS["Service"], live, merged, "kubectl", T1, applied=config))
    # typed/tofieldset.go: leaves and list items only (no `.` on maps that are struct fields);
    # the port's protocol key comes from its schema default (+default="TCP")
    assert entries["kubectl", "Apply", ""] == {
        "manager": "kubectl", "operation": "Apply", "apiVersion": "v1", "time": T1, "fieldsType": "FieldsV1",
        "fieldsV1": {"f:metadata": {"f:labels": {"f:app": {}, "f:team": {}}},
                     "f:spec": {"f:externalName": {}, "f:ports": {'k:{"port":443,"protocol":"TCP"}': {
                         ".": {}, "f:port": {}}}, "f:type": {}}}}
    # no conflict detection here: the applier takes externalName from kubectl-create (force)
    assert "f:externalName" not in entries["kubectl-create", "Update", ""]["fieldsV1"]["f:spec"]
    assert "f:type" in entries["kubectl-create", "Update", ""]["fieldsV1"]["f:spec"]  # unchanged: shared


def test_apply_of_deduced_fields_owns_map_entries():
    config = {"apiVersion": "networking.istio.io/v1alpha3", "kind": "DestinationRule",
              "metadata": {"name": "r"},
              "spec": {"host": "h", "trafficPolicy": {"loadBalancer": {"simple": "ROUND_ROBIN",
                                                                        "consistentHash": {"minimumRingSize": 1}}}}}
    entries = track(DR_KIND, None, config, "kubectl", applied=config, version="v1alpha3")
    # loadBalancer preserves unknown fields: its keys are map entries (members), nested ones too
    assert entries[0]["fieldsV1"] == {"f:spec": {"f:host": {}, "f:trafficPolicy": {"f:loadBalancer": {
        "f:consistentHash": {".": {}, "f:minimumRingSize": {}}, "f:simple": {}}}}}


def test_apply_that_changes_nothing_sets_no_time():
    config = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "labels": {"app": "web"}}}
    live = created_service()
    first = track(KINDS["Service"], live, copy.deepcopy(live), "kubectl", T1, applied=config)
    # managedfieldsupdater.go: an apply that changes nothing does not set a time
    assert by_manager(first)["kubectl", "Apply", ""].get("time") is None


# -- the local server, through real kubectl and raw requests ---------------------------------------------
SVC = "/api/v1/namespaces/default/services"
CM = "/api/v1/namespaces/default/configmaps"
DR = "/apis/networking.istio.io/v1beta1/namespaces/default/destinationrules"
TIME = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$"  # metav1.Time: RFC 3339, seconds, UTC


def managed_fields(kubectl, *what):
    res = kubectl("get", *what, "-o", "json", "--show-managed-fields")
    assert res.code == 0, res.err
    return res.json()["metadata"].get("managedFields", [])


def without_times(entries):
    return [{k: v for k, v in e.items() if k != "time"} for e in entries]


def test_kubectl_create_then_label(apiserver, kubectl):
    assert kubectl("create", "service", "externalname", "web", "--external-name", "example.com").code == 0
    assert kubectl("label", "svc", "web", "team=a").code == 0
    entries = managed_fields(kubectl, "svc", "web")
    assert all(re.match(TIME, e["time"]) for e in entries)
    assert without_times(entries) == [
        {"apiVersion": "v1", "fieldsType": "FieldsV1",
         "fieldsV1": {"f:metadata": {"f:labels": {".": {}, "f:app": {}}},
                      "f:spec": {"f:externalName": {}, "f:selector": {}, "f:sessionAffinity": {}, "f:type": {}}},
         "manager": "kubectl-create", "operation": "Update"},
        {"apiVersion": "v1", "fieldsType": "FieldsV1",
         "fieldsV1": {"f:metadata": {"f:labels": {"f:team": {}}}},
         "manager": "kubectl-label", "operation": "Update"}]
    # kubectl itself hides them unless asked (the server sends them)
    assert "managedFields" not in kubectl("get", "svc", "web", "-o", "json").json()["metadata"]
    status, _, raw = apiserver.request("GET", SVC + "/web")
    assert [e["manager"] for e in raw["metadata"]["managedFields"]] == ["kubectl-create", "kubectl-label"]
    # removing the label takes it from its owner; an owner of nothing has no entry
    assert kubectl("label", "svc", "web", "team-").code == 0
    assert [e["manager"] for e in managed_fields(kubectl, "svc", "web")] == ["kubectl-create"]


def test_allocated_fields_are_nobodys(apiserver, kubectl):
    assert kubectl("create", "service", "clusterip", "web", "--tcp=80:8080").code == 0
    svc = kubectl("get", "svc", "web", "-o", "json", "--show-managed-fields").json()
    assert svc["spec"]["clusterIP"] and svc["spec"]["ipFamilies"] == ["IPv4"]
    [entry] = svc["metadata"]["managedFields"]
    # the field manager runs before the registry allocates: clusterIP(s), ipFamilies and
    # ipFamilyPolicy are nobody's, the scheme's defaults are the creator's (2023 "oc" dump)
    assert entry["fieldsV1"]["f:spec"] == {
        "f:internalTrafficPolicy": {},
        "f:ports": {".": {}, 'k:{"port":80,"protocol":"TCP"}': {
            ".": {}, "f:name": {}, "f:port": {}, "f:protocol": {}, "f:targetPort": {}}},
        "f:selector": {}, "f:sessionAffinity": {}, "f:type": {}}


def test_server_side_apply_records_apply(apiserver, kubectl):
    manifest = ("apiVersion: v1\nkind: Service\nmetadata:\n  name: ssa\n  labels: {app: ssa}\n"
                "spec:\n  ports: [{port: 80}]\n  selector: {app: ssa}\n")
    res = kubectl("apply", "--server-side", "-f", "-", input=manifest)
    assert res.code == 0 and "serverside-applied" in res.out, res.err
    assert kubectl("label", "svc", "ssa", "team=a").code == 0
    entries = managed_fields(kubectl, "svc", "ssa")
    # kubectl's default manager for --server-side is "kubectl"; Apply entries come first
    assert without_times(entries) == [
        {"apiVersion": "v1", "fieldsType": "FieldsV1",
         "fieldsV1": {"f:metadata": {"f:labels": {"f:app": {}}},
                      "f:spec": {"f:ports": {'k:{"port":80,"protocol":"TCP"}': {".": {}, "f:port": {}}},
                                 "f:selector": {}}},
         "manager": "kubectl", "operation": "Apply"},
        {"apiVersion": "v1", "fieldsType": "FieldsV1", "fieldsV1": {"f:metadata": {"f:labels": {"f:team": {}}}},
         "manager": "kubectl-label", "operation": "Update"}]
    # applying again with the label in the manifest: the applier now owns it too
    res = kubectl("apply", "--server-side", "-f", "-", input=manifest.replace("{app: ssa}\nspec",
                                                                              "{app: ssa, team: a}\nspec"))
    assert res.code == 0, res.err
    entries = managed_fields(kubectl, "svc", "ssa")
    assert entries[0]["fieldsV1"]["f:metadata"] == {"f:labels": {"f:app": {}, "f:team": {}}}


def test_apply_patch_checks(apiserver, kubectl):
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a": "b"}}
    path = CM + "/c?fieldManager=me"
    ctype = "application/apply-patch+yaml"
    status, _, body = apiserver.request("PATCH", CM + "/c", cm, content_type=ctype)
    # ValidatePatchOptions; the message kubectl shows (it says `The PatchOptions "" is invalid`)
    assert (status, body["reason"], body["message"]) == (
        422, "Invalid", 'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: '
                        "is required for apply patch")
    assert body["details"] == {"group": "meta.k8s.io", "kind": "PatchOptions", "causes": [
        {"reason": "FieldValueRequired", "message": "Required value: is required for apply patch",
         "field": "fieldManager"}]}
    res = kubectl("apply", "--server-side", "--field-manager=", "-f", "-", input=json.dumps(cm))
    assert res.code == 1 and "fieldManager: Required value: is required for apply patch" in res.err
    # structuredmerge.go / versioncheck.go
    with_fields = {**cm, "metadata": {"name": "c", "managedFields": []}}
    assert apiserver.request("PATCH", path, with_fields, content_type=ctype)[2]["message"] == \
        "metadata.managedFields must be nil"
    status, _, body = apiserver.request("PATCH", path, {**cm, "kind": "Secret"}, content_type=ctype)
    assert (status, body["message"]) == (400, "invalid object type: /v1, Kind=Secret")
    status, _, body = apiserver.request("PATCH", path, cm, content_type=ctype)
    assert status == 201 and body["metadata"]["managedFields"][0]["manager"] == "me"
    # force belongs to apply patches only
    status, _, body = apiserver.request("PATCH", CM + "/c?force=true", {"data": {"a": "c"}},
                                        content_type="application/merge-patch+json")
    assert (status, body["message"]) == (422, 'PatchOptions.meta.k8s.io "" is invalid: force: Forbidden: '
                                              "may not be specified for non-apply patch")


def test_field_manager_validation(apiserver, kubectl):
    res = kubectl("create", "configmap", "c", "--field-manager=" + "m" * 129)
    assert res.code == 1
    assert 'CreateOptions.meta.k8s.io "" is invalid: fieldManager: Too long: may not be more than 128 bytes' \
        in res.err
    status, _, body = apiserver.request("POST", CM + "?fieldManager=a%09b&dryRun=Some",
                                        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}})
    # one 422 for every option error, in ValidateCreateOptions' order
    assert (status, body["message"]) == (
        422, 'CreateOptions.meta.k8s.io "" is invalid: [fieldManager: Invalid value: "a\\tb": invalid character '
             'U+0009 (at position 1), dryRun: Unsupported value: []string{"Some"}: supported values: "All"]')


def test_manager_from_user_agent(apiserver):
    # no fieldManager: the User-Agent's prefix (urllib's "Python-urllib/3.x" here)
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"k": "v"}}
    status, _, obj = apiserver.request("POST", CM, body)
    assert status == 201
    assert obj["metadata"]["managedFields"][0]["manager"] == "Python-urllib"
    assert obj["metadata"]["managedFields"][0]["fieldsV1"] == {"f:data": {".": {}, "f:k": {}}}


def test_dry_run_returns_managed_fields_without_storing(apiserver):
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"k": "v"}}
    status, _, obj = apiserver.request("POST", CM + "?dryRun=All&fieldManager=dry", body)
    assert status == 201 and obj["metadata"]["managedFields"][0]["manager"] == "dry"
    assert apiserver.request("GET", CM + "/c")[0] == 404
    apiserver.request("POST", CM + "?fieldManager=real", body)
    status, _, obj = apiserver.request("PUT", CM + "/c?dryRun=All&fieldManager=dry",
                                       {**body, "data": {"k": "w"}})
    # managedfields.go encodeManagedFields: sorted by time, then manager name: "dry" first
    # when both writes fall in the same second, "real" first when the POST was a second earlier
    entries = {e["manager"]: e for e in obj["metadata"]["managedFields"]}
    order = ["dry", "real"] if entries["dry"]["time"] == entries["real"]["time"] else ["real", "dry"]
    assert entries["real"]["time"] <= entries["dry"]["time"]
    assert [e["manager"] for e in obj["metadata"]["managedFields"]] == order
    assert entries["dry"]["fieldsV1"] == {"f:data": {"f:k": {}}}
    stored_obj = apiserver.request("GET", CM + "/c")[2]
    assert [e["manager"] for e in stored_obj["metadata"]["managedFields"]] == ["real"]


def test_reset_by_the_client(apiserver, kubectl):
    assert kubectl("create", "configmap", "c", "--from-literal=a=b").code == 0
    # docs (server-side-apply, "Clearing managedFields"): a single empty entry strips them
    res = kubectl("patch", "configmap", "c", "--type=merge", "-p", '{"metadata":{"managedFields":[{}]}}')
    assert res.code == 0, res.err
    assert managed_fields(kubectl, "configmap", "c") == []
    # skipnonapplied.go: once empty, updates are not tracked ...
    assert kubectl("label", "configmap", "c", "x=y").code == 0
    assert managed_fields(kubectl, "configmap", "c") == []
    # ... until an apply, which gives what was there to "before-first-apply"
    res = kubectl("apply", "--server-side", "-f", "-",
                  input="apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {z: '1'}\n")
    assert res.code == 0, res.err
    entries = managed_fields(kubectl, "configmap", "c")
    assert [(e["manager"], e["operation"]) for e in entries] == [("kubectl", "Apply"),
                                                                 ("before-first-apply", "Update")]
    assert entries[1]["fieldsV1"] == {"f:data": {".": {}, "f:a": {}},
                                      "f:metadata": {"f:labels": {".": {}, "f:x": {}}}}


def test_status_subresource_entry(apiserver, kubectl):
    rule = {"apiVersion": "networking.istio.io/v1beta1", "kind": "DestinationRule",
            "metadata": {"name": "r"}, "spec": {"host": "example.com"}}
    assert kubectl("create", "-f", "-", input=json.dumps(rule)).code == 0
    res = kubectl("patch", "dr", "r", "--subresource=status", "--type=merge",
                  "-p", '{"status":{"observedGeneration":1}}')
    assert res.code == 0, res.err
    entries = managed_fields(kubectl, "dr", "r")
    assert without_times(entries) == [
        {"apiVersion": "networking.istio.io/v1beta1", "fieldsType": "FieldsV1",
         "fieldsV1": {"f:spec": {".": {}, "f:host": {}}}, "manager": "kubectl-create", "operation": "Update"},
        {"apiVersion": "networking.istio.io/v1beta1", "fieldsType": "FieldsV1",
         "fieldsV1": {"f:status": {".": {}, "f:observedGeneration": {}}}, "manager": "kubectl-patch",
         "operation": "Update", "subresource": "status"}]


def test_controllers_and_kubelet(apiserver, kubectl):
    assert kubectl("create", "deployment", "d", "--image=nginx:1.25", "--port=80").code == 0
    assert kubectl("rollout", "status", "deploy/d", "--timeout=20s").code == 0
    deploy = by_manager(managed_fields(kubectl, "deploy", "d"))
    assert set(deploy) == {("kubectl-create", "Update", ""), ("kube-controller-manager", "Update", "status")}
    assert set(deploy["kube-controller-manager", "Update", "status"]["fieldsV1"]["f:status"]) >= {
        "f:availableReplicas", "f:conditions", "f:observedGeneration", "f:replicas"}
    pods = kubectl("get", "pods", "-l", "app=d", "-o", "json", "--show-managed-fields").json()["items"]
    entries = by_manager(pods[0]["metadata"]["managedFields"])
    assert set(entries) == {("kube-controller-manager", "Update", ""), ("kubelet", "Update", "status")}
    created = entries["kube-controller-manager", "Update", ""]["fieldsV1"]
    assert created["f:metadata"]["f:ownerReferences"] == {
        ".": {}, 'k:{"uid":"%s"}' % pods[0]["metadata"]["ownerReferences"][0]["uid"]: {}}
    # the sidecar comes from admission (Istio's webhook): nobody's
    assert list(created["f:spec"]["f:containers"]) == ['k:{"name":"nginx"}']
    kubelet = entries["kubelet", "Update", "status"]["fieldsV1"]
    assert list(kubelet) == ["f:status"]  # spec.nodeName is the binding's: nobody's
    assert {"f:phase", "f:podIP", "f:conditions", "f:containerStatuses"} <= set(kubelet["f:status"])


def test_seeded_objects_carry_their_managers(apiserver, kubectl):
    namespace = by_manager(managed_fields(kubectl, "namespace", "default"))
    assert namespace["kube-apiserver", "Update", ""]["fieldsV1"] == {
        "f:metadata": {"f:labels": {".": {}, "f:kubernetes.io/metadata.name": {}}}}
    assert namespace["kubectl-label", "Update", ""]["fieldsV1"] == {
        "f:metadata": {"f:labels": {"f:istio-injection": {}}}}
    [svc] = managed_fields(kubectl, "svc", "kubernetes")
    assert svc["manager"] == "kube-apiserver" and "f:clusterIP" in svc["fieldsV1"]["f:spec"]
    istiod = managed_fields(kubectl, "-n", "istio-system", "deploy", "istiod")
    assert [(e["manager"], e["operation"]) for e in istiod][0] == ("istio-operator", "Apply")


def test_plugin_writes_as_kubectl_egress(apiserver, egress, kubectl):
    assert egress("externalname", "my-httpbin", "httpbin.org").code == 0
    svc = managed_fields(kubectl, "svc", "my-httpbin")
    rule = managed_fields(kubectl, "dr", "my-httpbin")
    assert [(e["manager"], e["operation"]) for e in svc + rule] == [("kubectl-egress", "Update")] * 2
    assert egress("externalname", "my-httpbin", "httpbin.org", "--port", "443", "--protocol", "https").code == 0
    [entry] = managed_fields(kubectl, "svc", "my-httpbin")
    assert list(entry["fieldsV1"]["f:spec"]["f:ports"]) == [".", 'k:{"port":443,"protocol":"TCP"}']
