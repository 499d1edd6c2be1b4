"""Nothing unimplemented answers as if it were: each request below gets the status, reason and
message kube-apiserver gives it, whether the local server implements the route or refuses it.

One server for the module; each row names where the real answer comes from (paths in
kubernetes/kubernetes, or its staging repositories apiserver, apimachinery, apiextensions-apiserver,
and emicklei/go-restful). Every subresource handler is reached by some row (the last test checks
it), so removing one fails this table.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field

import pytest

from tests.apiserver import LocalAPIServer
from tests.apiserver.subresources import HANDLERS

NS = "/api/v1/namespaces/default"
DRS = "/apis/networking.istio.io/v1alpha3/namespaces/default/destinationrules"
PROTOBUF = "application/vnd.kubernetes.protobuf"


def pod(name: str, *containers: str, init: tuple[str, ...] = ()) -> dict:
    spec = {"containers": [{"name": c, "image": "curlimages/curl", "command": ["sleep", "infinity"]}
                           for c in containers]}
    if init:
        spec["initContainers"] = [{"name": c, "image": "busybox", "command": ["true"]} for c in init]
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "annotations": {
        "sidecar.istio.io/inject": "false"}}, "spec": spec}


@pytest.fixture(scope="module")
def server(tmp_path_factory, ca):
    srv = LocalAPIServer(tmp_path_factory.mktemp("routes") / "kubeconfig", ca=ca).start()

    def make(path, body):
        status, _, out = srv.request("POST", path, body)
        assert status == 201, out

    make(f"{NS}/pods", pod("solo", "main"))
    make(f"{NS}/pods", pod("web", "main", "side", init=("setup",)))
    make(f"{NS}/pods", pod("evictee", "main"))
    make("/apis/apps/v1/namespaces/default/deployments", {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "app"},
        "spec": {"selector": {"matchLabels": {"app": "app"}}, "template": {
            "metadata": {"labels": {"app": "app"}, "annotations": {"sidecar.istio.io/inject": "false"}},
            "spec": {"containers": [{"name": "main", "image": "busybox"}]}}}})
    make(f"{NS}/services", {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "ext"},
                            "spec": {"type": "ExternalName", "externalName": "httpbin.org"}})
    make(f"{NS}/services", {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "manual"},
                            "spec": {"ports": [{"name": "http", "port": 80}]}})
    make(f"{NS}/endpoints", {"apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": "manual"},
                             "subsets": [{"addresses": [{"ip": "198.51.100.7"}], "ports": [{"name": "http", "port": 80}]}]})
    make(DRS, {"apiVersion": "networking.istio.io/v1alpha3", "kind": "DestinationRule", "metadata": {"name": "x"},
               "spec": {"host": "x.default.svc.cluster.local"}})
    make(f"{NS}/serviceaccounts", {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "nobody"}})
    _, _, token = srv.request("POST", f"{NS}/serviceaccounts/nobody/token",
                              {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {}})
    srv.nobody = token["status"]["token"]
    for name in ("solo", "web", "evictee"):  # the emulated kubelet starts them
        for _ in range(100):
            if (srv.request("GET", f"{NS}/pods/{name}")[2].get("status") or {}).get("phase") == "Running":
                break
            import time
            time.sleep(0.02)
    yield srv
    srv.stop()


@dataclass
class Row:
    why: str  # where the real answer comes from
    method: str
    path: str
    status: int
    reason: str | None = None  # None: not a Status body (text, or an object); "": a Status without one
    message: str = ""  # a part of the Status message (or of the text)
    body: object = None
    token: str = "admin"
    headers: dict = field(default_factory=dict)
    content_type: str = "application/json"
    accept: str = "application/json"
    kind: str = ""  # the kind of a successful answer


def eviction(name):
    return {"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": name}}


ROWS = [
    # -- paths nobody claims, and paths under a web service with no route ------------------------------
    Row("apiserver pkg/util/notfoundhandler: http.NotFound at the end of the delegation chain",
        "GET", "/foo", 404, None, "404 page not found"),
    Row("apiextensions-apiserver crdHandler: an unknown group falls through to the not found handler",
        "GET", "/apis/foo.example.com", 404, None, "404 page not found"),
    Row("crdHandler versionDiscoveryHandler, then the delegate", "GET", "/apis/foo.example.com/v1", 404, None,
        "404 page not found"),
    Row("crdHandler: no served version of a known group", "GET", "/apis/apps/v9", 404, None, "404 page not found"),
    Row("apiserver server/handler.go serviceErrorHandler: the /api web service, no route",
        "GET", "/api/v9/pods", 404, "NotFound", "the server could not find the requested resource"),
    Row("go-restful CurlyRouter.SelectRoute: no route in the /api/v1 web service", "GET", "/api/v1/foos", 404,
        "NotFound", "the server could not find the requested resource"),
    Row("no route in the apps/v1 web service", "GET", "/apis/apps/v1/namespaces/default/foos", 404, "NotFound",
        "the server could not find the requested resource"),
    Row("installer.go: items of namespaced kinds only under namespaces/{namespace}", "GET", "/api/v1/pods/solo",
        404, "NotFound", "the server could not find the requested resource"),
    Row("no such subresource route", "GET", f"{NS}/pods/solo/foo", 404, "NotFound",
        "the server could not find the requested resource"),
    Row("watch/ paths have no subresources", "GET", f"/api/v1/watch{NS[7:]}/pods/solo/status", 404, "NotFound",
        "the server could not find the requested resource"),
    Row("routes.IndexLister at /", "GET", "/", 200),
    # -- methods without a route: go-restful 405 (RouterJSR311.detectRoute) -----------------------------
    Row("installer.go: no POST on an item path", "POST", f"{NS}/pods/solo", 405, "MethodNotAllowed",
        "the server does not allow this method on the requested resource", body={}),
    Row("no PUT on a collection", "PUT", f"{NS}/pods", 405, "MethodNotAllowed", body={}),
    Row("the cross-namespace list path is GET only", "DELETE", "/api/v1/pods", 405, "MethodNotAllowed"),
    Row("namespaces have no deletecollection", "DELETE", "/api/v1/namespaces", 405, "MethodNotAllowed"),
    Row("SelfSubjectAccessReview storage is a Creater only", "GET",
        "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", 405, "MethodNotAllowed"),
    # -- authorization comes before routing (filters/authorization.go) ---------------------------------
    Row("the reader may not create: 403 before the route's 405", "POST", f"{NS}/pods/solo", 403, "Forbidden",
        'pods "solo" is forbidden: User "reader" cannot create resource "pods" in API group "" in the namespace',
        body={}, token="reader"),
    Row("responsewriters.forbiddenMessage for an unknown resource",
        "GET", "/api/v1/foos", 403, "Forbidden",
        'foos is forbidden: User "system:serviceaccount:default:nobody" cannot list resource "foos" in API group '
        '"" at the cluster scope', token="nobody"),
    Row("a non-resource path", "GET", "/foo", 403, "Forbidden",
        'forbidden: User "system:serviceaccount:default:nobody" cannot get path "/foo"', token="nobody"),
    # -- content negotiation --------------------------------------------------------------------------
    Row("go-restful: no route produces text/html", "GET", f"{NS}/pods", 406, "NotAcceptable",
        "406: Not Acceptable\n\nAvailable representations: application/json, application/yaml, "
        "application/vnd.kubernetes.protobuf, application/json;stream=watch", accept="text/html"),
    Row("negotiation.NewNotAcceptableError: the route matched, the conversion did not",
        "GET", f"{NS}/pods/solo", 406, "NotAcceptable", "only the following media types are accepted",
        accept="application/json;as=Foo;v=v1;g=meta.k8s.io"),
    Row("handlers/create.go NegotiateInputSerializer", "POST", f"{NS}/configmaps", 415, "UnsupportedMediaType",
        "the body of the request was in an unknown format - accepted media types include: application/json, "
        "application/yaml, application/vnd.kubernetes.protobuf", body=b"x", content_type="text/plain"),
    Row("go-restful: a PATCH route consumes only patch types", "PATCH", f"{NS}/pods/solo", 415,
        "UnsupportedMediaType", "415: Unsupported Media Type", body={"metadata": {}}),
    Row("crdHandler: custom resources take no strategic merge patch", "PATCH", f"{DRS}/x", 415,
        "UnsupportedMediaType", "accepted media types include: application/json-patch+json, "
        "application/merge-patch+json, application/apply-patch+yaml", body={"spec": {}},
        content_type="application/strategic-merge-patch+json"),
    Row("apiextensions-apiserver serves no protobuf", "POST", DRS, 415, "UnsupportedMediaType",
        "accepted media types include: application/json, application/yaml", body=b"k8s\x00",
        content_type=PROTOBUF),
    # -- custom resources (customresource_handler.go ServeHTTP) ---------------------------------------
    Row("an unknown subresource is the resource's NotFound", "GET", f"{DRS}/x/foo", 404, "NotFound",
        'destinationrules.networking.istio.io "x" not found'),
    Row("serveStatus: a verb its storage lacks is NewMethodNotSupported", "POST", f"{DRS}/x/status", 405,
        "MethodNotAllowed", 'create is not supported on resources of kind "destinationrules.networking.istio.io"',
        body={}),
    Row("a namespaced CRD without a namespace, verb get: the delegate's 404", "GET",
        "/apis/networking.istio.io/v1alpha3/destinationrules/x", 404, None, "404 page not found"),
    Row("an unknown resource of a CRD group", "GET", "/apis/networking.istio.io/v1alpha3/foos", 404, None,
        "404 page not found"),
    Row("ContextBasedNaming.Name: PUT needs a name", "PUT", DRS, 400, "BadRequest", "name must be provided",
        body={}),
    Row("POST to an item path is create: the body names the object", "POST", f"{DRS}/x", 201,
        kind="DestinationRule", body={"apiVersion": "networking.istio.io/v1alpha3", "kind": "DestinationRule",
                                      "metadata": {"name": "made-by-item-path"}, "spec": {"host": "h"}}),
    # -- pods/log (pod/rest/log.go, pod/strategy.go LogLocation, kubelet validateContainerLogStatus) ------
    Row("LogREST.Get", "GET", f"{NS}/pods/solo/log", 200, accept="*/*"),
    Row("log is GET only", "POST", f"{NS}/pods/solo/log", 405, "MethodNotAllowed", body={}),
    Row("validateContainer: several containers, none named", "GET", f"{NS}/pods/web/log", 400, "BadRequest",
        "a container name must be specified for pod web, choose one of: [setup main side]"),
    Row("validateContainer: an unknown container", "GET", f"{NS}/pods/solo/log?container=nope", 400, "BadRequest",
        "container nope is not valid for pod solo"),
    Row("the kubelet: no previous instance", "GET", f"{NS}/pods/solo/log?previous=true", 400, "BadRequest",
        'previous terminated container "main" in pod "solo" not found'),
    Row("ValidatePodLogOptions", "GET", f"{NS}/pods/solo/log?tailLines=-1", 422, "Invalid",
        'PodLogOptions "solo" is invalid: tailLines: Invalid value: -1: must be greater than or equal to 0'),
    # -- exec, attach, portforward (pod/rest/subresources.go, util/proxy/upgradeaware.go) ------------------
    Row("streamLocation, then UpgradeAwareHandler.UpgradeRequired", "GET", f"{NS}/pods/solo/exec?command=true",
        400, "BadRequest", "Upgrade request required"),
    Row("AttachLocation: validateContainer first", "GET", f"{NS}/pods/web/attach", 400, "BadRequest",
        "a container name must be specified for pod web, choose one of: [setup main side]"),
    Row("attach without an upgrade", "GET", f"{NS}/pods/solo/attach", 400, "BadRequest",
        "Upgrade request required"),
    Row("portforward without an upgrade", "GET", f"{NS}/pods/solo/portforward", 400, "BadRequest",
        "Upgrade request required"),
    Row("portforward: no streaming server on this node (upgradeaware.go DialForUpgrade)", "GET",
        f"{NS}/pods/solo/portforward", 500, "", "error dialing backend: dial tcp 172.18.0.2:10250",
        headers={"Upgrade": "websocket", "Connection": "Upgrade"}),
    # -- proxy (pod.ResourceLocation, service REST ResourceLocation, util/proxy/transport.go) ---------------
    Row("a pod serves nothing on its address", "GET", f"{NS}/pods/solo/proxy/", 503, "ServiceUnavailable",
        "error trying to reach service: dial tcp 10.244."),
    Row("SplitSchemeNamePort", "GET", f"{NS}/pods/a:b:c:d/proxy", 400, "BadRequest", 'invalid pod request "a:b:c:d"'),
    Row("an ExternalName Service has no Endpoints", "GET", f"{NS}/services/ext/proxy", 404, "NotFound",
        'endpoints "ext" not found'),
    Row("no service port with that number", "GET", f"{NS}/services/manual:99/proxy", 503, "ServiceUnavailable",
        'no service port 99 found for service "manual"'),
    Row("isValidAddress: hand-made endpoints have no pod targetRef", "GET", f"{NS}/services/manual/proxy", 503,
        "ServiceUnavailable", 'no endpoints available for service "manual"'),
    Row("nodes/proxy: the kubelet's address", "GET", "/api/v1/nodes/local-control-plane/proxy/stats", 503,
        "ServiceUnavailable", "dial tcp 172.18.0.2:10250"),
    # -- binding, eviction (pod/storage/storage.go BindingREST, pod/storage/eviction.go) --------------------
    Row("BindingREST is a NamedCreater only", "GET", f"{NS}/pods/solo/binding", 405, "MethodNotAllowed"),
    Row("a bound pod", "POST", f"{NS}/pods/solo/binding", 409, "Conflict",
        'Operation cannot be fulfilled on pods/binding "solo": pod solo is already assigned to node '
        '"local-control-plane"', body={"apiVersion": "v1", "kind": "Binding", "metadata": {"name": "solo"},
                                       "target": {"kind": "Node", "name": "local-control-plane"}}),
    Row("EvictionREST is a Creater only", "GET", f"{NS}/pods/solo/eviction", 405, "MethodNotAllowed"),
    Row("the Eviction's name must be the URL's", "POST", f"{NS}/pods/solo/eviction", 400, "BadRequest",
        "name in URL does not match name in Eviction object", body=eviction("other")),
    Row("no PodDisruptionBudget forbids it: the pod goes", "POST", f"{NS}/pods/evictee/eviction", 201,
        body=eviction("evictee"), kind="Status"),
    # -- status, ephemeralcontainers, scale, token, finalize -----------------------------------------------
    Row("StatusREST.Get answers the pod", "GET", f"{NS}/pods/solo/status", 200, kind="Pod"),
    Row("no POST on status", "POST", f"{NS}/pods/solo/status", 405, "MethodNotAllowed", body={}),
    Row("EphemeralContainersREST.Get answers the pod", "GET", f"{NS}/pods/solo/ephemeralcontainers", 200, kind="Pod"),
    Row("ScaleREST.Get: autoscaling/v1 Scale", "GET", "/apis/apps/v1/namespaces/default/deployments/app/scale",
        200, kind="Scale"),
    Row("ScaleREST.Update through a merge patch", "PATCH", "/apis/apps/v1/namespaces/default/deployments/app/scale",
        200, kind="Scale", body={"spec": {"replicas": 2}}, content_type="application/merge-patch+json"),
    Row("no POST on scale", "POST", "/apis/apps/v1/namespaces/default/deployments/app/scale", 405,
        "MethodNotAllowed", body={}),
    Row("TokenREST is a NamedCreater only", "GET", f"{NS}/serviceaccounts/nobody/token", 405, "MethodNotAllowed"),
    Row("TokenREST: the ServiceAccount must exist", "POST", f"{NS}/serviceaccounts/ghost/token", 404, "NotFound",
        'serviceaccounts "ghost" not found', body={"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest"}),
    Row("FinalizeREST is an Updater only", "GET", "/api/v1/namespaces/default/finalize", 405, "MethodNotAllowed"),
    Row("FinalizeREST.Update", "PUT", "/api/v1/namespaces/default/finalize", 200, kind="Namespace",
        body={"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "default"},
              "spec": {"finalizers": ["kubernetes"]}}),
    # -- reviews ------------------------------------------------------------------------------------------
    Row("ValidateSelfSubjectAccessReviewSpec", "POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
        422, "Invalid", "exactly one of nonResourceAttributes or resourceAttributes must be specified",
        body={"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview", "spec": {}}),
    Row("SelfSubjectRulesReview REST: no namespace", "POST", "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews",
        400, "BadRequest", "no namespace on request",
        body={"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectRulesReview", "spec": {}}),
]


@pytest.mark.parametrize("row", ROWS, ids=[f"{r.method} {r.path} {r.status}" for r in ROWS])
def test_route(server, row):
    token = server.nobody if row.token == "nobody" else row.token
    body = row.body if row.body is None or isinstance(row.body, bytes) else json.dumps(row.body).encode()
    status, headers, answer = server.request(row.method, row.path, body, token=token, content_type=row.content_type,
                                             accept=row.accept, headers=row.headers)
    assert status == row.status, (row.why, answer)
    if row.reason is not None:
        assert isinstance(answer, dict) and answer.get("kind") == "Status", (row.why, answer)
        assert (answer.get("reason", ""), answer["code"]) == (row.reason, row.status), row.why
        assert row.message in answer["message"], (row.why, answer["message"])
    elif row.message:
        assert isinstance(answer, str) and row.message in answer, (row.why, answer)
        assert headers["Content-Type"].startswith("text/plain"), row.why
    if row.kind:
        assert answer["kind"] == row.kind, (row.why, answer)


def test_plain_404_and_generic_405_bodies(server):
    """The exact bodies: Go's http.NotFound text, and the ServiceErrorHandler's Status with
    empty details (apimachinery errors.NewGenericServerResponse)."""
    status, headers, body = server.request("GET", "/foo")
    assert (status, body, headers["Content-Type"]) == (404, "404 page not found\n", "text/plain; charset=utf-8")
    status, _, body = server.request("DELETE", "/api/v1/namespaces")
    assert body == {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                    "message": "the server does not allow this method on the requested resource",
                    "reason": "MethodNotAllowed", "details": {}, "code": 405}
    status, _, body = server.request("GET", f"{NS}/pods/solo/portforward",
                                     headers={"Upgrade": "websocket", "Connection": "Upgrade"})
    assert "reason" not in body and "details" not in body  # ErrorToAPIStatus: reason Unknown, no details


def test_every_subresource_handler_is_in_the_table():
    reached = {r.path.split("?")[0].split("/")[-1] for r in ROWS if r.status != 404}
    reached |= {r.path.split("/proxy")[0] and "proxy" for r in ROWS if "/proxy" in r.path}
    assert set(HANDLERS) <= reached | {"ephemeralcontainers"}, set(HANDLERS) - reached
    assert any(r.path.endswith("/ephemeralcontainers") for r in ROWS)
