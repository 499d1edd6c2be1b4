"""`kubectl explain` from the OpenAPI v3 documents, and the events the control plane writes, as
`kubectl get events` and `kubectl describe` show them."""
from __future__ import annotations

import time

import pytest

from tests.apiserver import events
from tests.apiserver.openapi import _clean, crd_schema


# -- the documents (pure) ----------------------------------------------------------------------------------
def test_json_schema_to_kube_openapi_shape():
    refs = {"V1ObjectMeta": "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"}
    schema = {"properties": {
        "metadata": {"anyOf": [{"$ref": "#/$defs/V1ObjectMeta"}, {"type": "null"}], "default": None,
                     "description": "Standard object's metadata."},
        "port": {"anyOf": [{"type": "integer"}, {"type": "string"}, {"type": "null"}], "description": "A port."},
        "name": {"anyOf": [{"type": "string"}, {"type": "null"}], "title": "Name", "description": "A name."}},
        "additionalProperties": False, "description": "A thing.\n\nAttributes:\n  openapi_types (dict): ..."}
    assert _clean(schema, refs) == {"description": "A thing.", "properties": {
        "metadata": {"allOf": [{"$ref": "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"}],
                     "description": "Standard object's metadata.", "default": {}},
        "port": {"allOf": [{"$ref": "#/components/schemas/io.k8s.apimachinery.pkg.util.intstr.IntOrString"}],
                 "description": "A port."},
        "name": {"type": "string", "description": "A name."}}}


def test_custom_resources_as_the_crd_builder_publishes_them(apiserver):
    kind = apiserver.cluster.kinds.get("networking.istio.io", "v1beta1", "destinationrules")
    name, body = crd_schema(kind, "v1beta1", {"metadata": "m", "apiVersion": "a", "kind": "k"})
    assert name == "io.istio.networking.v1beta1.DestinationRule"  # gvkToModelName
    assert body["x-kubernetes-group-version-kind"] == [
        {"group": "networking.istio.io", "kind": "DestinationRule", "version": "v1beta1"}]
    assert body["properties"]["metadata"]["allOf"][0]["$ref"].endswith("meta.v1.ObjectMeta")


# -- kubectl explain ---------------------------------------------------------------------------------------
def test_kubectl_explain(apiserver, kubectl):
    res = kubectl("explain", "service.spec.externalName")
    assert res.code == 0, res.err
    assert res.out.splitlines()[:4] == ["KIND:       Service", "VERSION:    v1", "", "FIELD: externalName <string>"]
    assert "externalName is the external reference that discovery mechanisms will return" in res.out
    assert "FIELD: targetPort <IntOrString>" in kubectl("explain", "svc.spec.ports.targetPort").out
    assert "FIELD: host <string>" in kubectl("explain", "destinationrule.spec.host").out
    assert "containerPort\t<integer> -required-" in kubectl("explain", "deploy.spec.template.spec.containers.ports").out
    for kind in ("pods", "endpoints", "endpointslices", "namespaces", "nodes", "events", "serviceaccounts",
                 "configmaps", "replicasets", "customresourcedefinitions", "serviceentries",
                 "selfsubjectaccessreviews", "selfsubjectrulesreviews", "selfsubjectreviews"):
        res = kubectl("explain", kind)
        assert res.code == 0 and "DESCRIPTION:" in res.out, (kind, res.err)
    res = kubectl("explain", "service.spec.nope")
    assert res.code == 1 and 'field "nope" does not exist' in res.err


# -- events ------------------------------------------------------------------------------------------------
DEPLOYMENT = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: nginx:1.27, imagePullPolicy: IfNotPresent}]
"""


def wait_for(predicate, seconds=10.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def test_events_of_a_deployment_and_its_pod(apiserver, kubectl):
    assert kubectl("apply", "-f", "-", input=DEPLOYMENT).code == 0
    assert kubectl("wait", "--for=condition=Ready", "pod", "-l", "app=web", "--timeout=30s").code == 0
    pod = kubectl("get", "pod", "-l", "app=web", "-o", "jsonpath={.items[0].metadata.name}").out
    rs = pod.rsplit("-", 1)[0]
    assert wait_for(lambda: "Started container istio-proxy" in kubectl("get", "events").out)
    rows = [line.split(None, 4) for line in kubectl("get", "events").out.splitlines()]
    assert rows[0] == ["LAST", "SEEN", "TYPE", "REASON", "OBJECT MESSAGE"] or rows[0][:3] == ["LAST", "SEEN", "TYPE"]
    table = {(r[2], r[3]): r[4] for r in rows[1:]}
    assert table[("Scheduled", f"pod/{pod}")] == f"Successfully assigned default/{pod} to local-control-plane"
    assert table[("Pulled", f"pod/{pod}")] in ('Container image "nginx:1.27" already present on machine',
                                               'Container image "docker.io/istio/proxyv2:1.20.8" already present on machine')
    assert table[("SuccessfulCreate", f"replicaset/{rs}")] == f"Created pod: {pod}"
    assert table[("ScalingReplicaSet", "deployment/web")] == f"Scaled up replica set {rs} from 0 to 1"
    described = kubectl("describe", "pod", pod).out
    events_part = described.split("Events:", 1)[1].splitlines()
    assert events_part[1].split() == ["Type", "Reason", "Age", "From", "Message"]
    froms = [line.split()[3] for line in events_part[3:] if line.strip()]
    assert froms[0] == "default-scheduler" and set(froms[1:]) == {"kubelet"}
    assert any("Created container: web" in line for line in events_part)
    assert any("Started container web" in line for line in events_part)
    wide = kubectl("get", "events", "-o", "wide", "--field-selector", f"involvedObject.name={pod},reason=Created").out
    assert "spec.containers{web}" in wide and "kubelet, local-control-plane" in wide
    assert kubectl("delete", "pod", pod).code == 0
    killing = kubectl("get", "events", "--field-selector", "reason=Killing", "-o", "jsonpath={.items[*].message}").out
    assert "Stopping container web" in killing and "Stopping container istio-proxy" in killing
    # the ReplicaSet controller replaces the deleted pod
    assert wait_for(lambda: len(kubectl("get", "pods", "-l", "app=web", "-o", "name").out.split()) == 1
                    and pod not in kubectl("get", "pods", "-l", "app=web", "-o", "name").out)


def test_scaling_events(apiserver, kubectl):
    assert kubectl("apply", "-f", "-", input=DEPLOYMENT).code == 0
    assert kubectl("scale", "deployment", "web", "--replicas=2").code == 0  # the scale subresource
    assert wait_for(lambda: "from 1 to 2" in kubectl("get", "events").out)
    assert kubectl("get", "deploy", "web", "-o", "jsonpath={.spec.replicas}").out == "2"
    assert kubectl("scale", "deployment", "web", "--replicas=1").code == 0
    assert wait_for(lambda: "Scaled down replica set" in kubectl("get", "events").out)


@pytest.mark.parametrize("event, cells", [
    ({"metadata": {"name": "p.1"}, "involvedObject": {"kind": "Pod", "name": "p", "fieldPath": "spec.containers{c}"},
      "type": "Normal", "reason": "Started", "message": " Started container c ", "source": {"component": "kubelet",
      "host": "n"}, "count": 3, "firstTimestamp": "1970-01-01T00:00:00Z", "lastTimestamp": "1970-01-01T00:01:00Z"},
     ["60s", "Normal", "Started", "pod/p", "spec.containers{c}", "kubelet, n", "Started container c", "2m", 3, "p.1"]),
    ({"metadata": {"name": "p.2"}, "involvedObject": {"kind": "Pod", "name": "p"}, "type": "Normal",
      "reason": "Scheduled", "message": "m", "source": {}, "reportingComponent": "default-scheduler",
      "reportingInstance": "default-scheduler-n", "eventTime": "1970-01-01T00:00:00.000000Z"},
     ["2m", "Normal", "Scheduled", "pod/p", "", "default-scheduler, default-scheduler-n", "m", "2m", 1, "p.2"]),
])
def test_event_columns(event, cells):
    """printEvent (pkg/printers/internalversion/printers.go): last seen falls back to first seen,
    then to eventTime; the source falls back to the reporting controller and instance."""
    assert [c.cell(event, 120.0) for c in events.columns()] == cells
