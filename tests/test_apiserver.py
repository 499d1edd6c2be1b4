"""The local API server answers as kube-apiserver does: status codes, Status bodies, validation
messages, resourceVersion, selectors, pagination, discovery, tables, CRDs, watch, patches."""
import json
import threading

import pytest

SVC = "/api/v1/namespaces/default/services"
DR = "/apis/networking.istio.io/v1beta1/namespaces/default/destinationrules"


def service(name="alpha", **spec):
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
            "spec": spec or {"ports": [{"name": "tls", "port": 443}]}}


def created(srv, path, body, **kw):
    status, _, obj = srv.request("POST", path, body, **kw)
    assert status == 201, obj
    return obj


# -- identity ----------------------------------------------------------------------
def test_no_or_wrong_token_is_401(apiserver):
    for token in (None, "wrong"):
        status, _, body = apiserver.request("GET", SVC, token=token)
        assert status == 401
        assert body == {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                        "message": "Unauthorized", "reason": "Unauthorized", "code": 401}


def test_reader_may_read_but_not_write(apiserver):
    assert apiserver.request("GET", SVC, token="reader")[0] == 200
    status, _, body = apiserver.request("POST", SVC, service(), token="reader")
    assert status == 403
    assert body["message"] == ('services is forbidden: User "reader" cannot create resource "services" '
                               'in API group "" in the namespace "default"')
    status, _, body = apiserver.request("DELETE", DR + "/x", token="reader")
    assert body["message"] == ('destinationrules.networking.istio.io "x" is forbidden: User "reader" cannot '
                               'delete resource "destinationrules" in API group "networking.istio.io" in the '
                               'namespace "default"')


# -- services ------------------------------------------------------------------------
def test_external_name_service_as_the_server_returns_it(apiserver):
    obj = created(apiserver, SVC, service("my-httpbin", type="ExternalName", externalName="httpbin.org",
                                          ports=[{"name": "http", "protocol": "TCP", "port": 80}]))
    assert obj["spec"] == {"ports": [{"name": "http", "protocol": "TCP", "port": 80, "targetPort": 80}],
                           "type": "ExternalName", "sessionAffinity": "None", "externalName": "httpbin.org"}
    assert obj["status"] == {"loadBalancer": {}}
    assert obj["metadata"]["uid"] and obj["metadata"]["resourceVersion"].isdigit()


def test_cluster_ip_allocation(apiserver):
    a = created(apiserver, SVC, service("a"))
    b = created(apiserver, SVC, service("b"))
    assert a["spec"]["clusterIP"] != b["spec"]["clusterIP"]
    assert a["spec"]["clusterIP"].startswith("10.")
    assert a["spec"]["clusterIPs"] == [a["spec"]["clusterIP"]]
    assert (a["spec"]["ipFamilies"], a["spec"]["ipFamilyPolicy"], a["spec"]["internalTrafficPolicy"]) == \
        (["IPv4"], "SingleStack", "Cluster")
    status, _, body = apiserver.request("POST", SVC, service("c", clusterIP=a["spec"]["clusterIP"],
                                                             ports=[{"port": 80}]))
    assert status == 422
    assert body["message"].endswith(f'failed to allocate IP {a["spec"]["clusterIP"]}: provided IP is already '
                                    "allocated")


def test_invalid_name_message(apiserver):
    status, _, body = apiserver.request("POST", SVC, service("Bad_Name"))
    assert status == 422
    assert body["message"] == (
        'Service "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name": a DNS-1035 label must '
        "consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end "
        "with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is "
        "'[a-z]([-a-z0-9]*[a-z0-9])?')")
    assert body["details"]["causes"][0]["field"] == "metadata.name"
    assert body["details"]["causes"][0]["reason"] == "FieldValueInvalid"


def test_several_causes_in_brackets(apiserver):
    status, _, body = apiserver.request("POST", SVC, service("x", ports=[{"port": 0}], type="Foo"))
    assert status == 422
    assert body["message"] == (
        'Service "x" is invalid: [spec.ports[0].port: Invalid value: 0: must be between 1 and 65535, '
        "inclusive, spec.ports[0].targetPort: Invalid value: 0: must be between 1 and 65535, inclusive, "
        'spec.type: Unsupported value: "Foo": supported values: "ClusterIP", "ExternalName", "LoadBalancer", '
        '"NodePort"]')
    assert [c["field"] for c in body["details"]["causes"]] == ["spec.ports[0].port", "spec.ports[0].targetPort",
                                                               "spec.type"]


@pytest.mark.parametrize("spec, message", [
    ({"type": "ExternalName", "externalName": "Httpbin.org"},
     'spec.externalName: Invalid value: "Httpbin.org": a lowercase RFC 1123 subdomain must consist of'),
    ({"type": "ExternalName"}, "spec.externalName: Required value"),
    ({"type": "ClusterIP"}, "spec.ports: Required value"),
    ({"ports": [{"port": 80}, {"port": 81}]}, "spec.ports[0].name: Required value"),
    ({"ports": [{"port": 80, "name": "HTTP"}]}, 'spec.ports[0].name: Invalid value: "HTTP": a lowercase RFC 1123 label'),
    ({"ports": [{"port": 80, "protocol": "HTTP"}]},
     'spec.ports[0].protocol: Unsupported value: "HTTP": supported values: "SCTP", "TCP", "UDP"'),
])
def test_service_validation(apiserver, spec, message):
    status, _, body = apiserver.request("POST", SVC, service("x", **spec))
    assert status == 422
    assert message in body["message"]


def test_type_changes(apiserver):
    ext = created(apiserver, SVC, service("x", type="ExternalName", externalName="example.com",
                                          ports=[{"name": "tls", "port": 443}]))
    ext["spec"] = {"type": "ClusterIP", "ports": [{"name": "tls", "port": 443}]}
    status, _, now = apiserver.request("PUT", SVC + "/x", ext)
    assert status == 200 and now["spec"]["clusterIP"].startswith("10.")
    ip = now["spec"]["clusterIP"]
    now["spec"] = {"type": "ExternalName", "externalName": "example.com", "ports": [{"name": "tls", "port": 443}]}
    status, _, back = apiserver.request("PUT", SVC + "/x", now)
    assert status == 200 and "clusterIP" not in back["spec"]
    assert not apiserver.cluster.ipam.in_use(ip)


# -- metadata and concurrency ----------------------------------------------------------
def test_already_exists_and_not_found(apiserver):
    created(apiserver, SVC, service())
    status, _, body = apiserver.request("POST", SVC, service())
    assert (status, body["reason"], body["message"], body["details"]) == (
        409, "AlreadyExists", 'services "alpha" already exists', {"name": "alpha", "kind": "services"})
    status, _, body = apiserver.request("GET", SVC + "/nope")
    assert (status, body["message"], body["details"]) == (
        404, 'services "nope" not found', {"name": "nope", "kind": "services"})
    status, _, body = apiserver.request("POST", "/api/v1/namespaces/no-such-ns/services", service())
    assert (status, body["message"]) == (404, 'namespaces "no-such-ns" not found')


def test_stale_resource_version_is_409(apiserver):
    obj = created(apiserver, SVC, service())
    fresh = json.loads(json.dumps(obj))
    fresh["metadata"]["labels"] = {"a": "b"}
    assert apiserver.request("PUT", SVC + "/alpha", fresh)[0] == 200
    obj["metadata"]["labels"] = {"a": "c"}
    status, _, body = apiserver.request("PUT", SVC + "/alpha", obj)
    assert status == 409 and body["reason"] == "Conflict"
    assert body["message"] == ('Operation cannot be fulfilled on services "alpha": the object has been '
                               "modified; please apply your changes to the latest version and try again")


def test_custom_resources_need_a_resource_version_on_put(apiserver):
    rule = {"apiVersion": "networking.istio.io/v1beta1", "kind": "DestinationRule",
            "metadata": {"name": "r"}, "spec": {"host": "x.default.svc.cluster.local"}}
    created(apiserver, DR, rule)
    status, _, body = apiserver.request("PUT", DR + "/r", rule)
    assert status == 422
    assert body["message"].endswith("metadata.resourceVersion: Invalid value: 0x0: must be specified for an update")


def test_no_op_update_keeps_the_resource_version(apiserver):
    obj = created(apiserver, SVC, service())
    status, _, same = apiserver.request("PUT", SVC + "/alpha", obj)
    assert status == 200 and same["metadata"]["resourceVersion"] == obj["metadata"]["resourceVersion"]


def test_dry_run(apiserver):
    status, _, body = apiserver.request("POST", SVC + "?dryRun=All", service())
    assert status == 201 and body["metadata"]["uid"] and "resourceVersion" not in body["metadata"]
    assert apiserver.request("GET", SVC + "/alpha")[0] == 404
    status, _, body = apiserver.request("POST", SVC + "?dryRun=foo", service())
    assert (status, body["message"]) == (422, 'CreateOptions.meta.k8s.io "" is invalid: dryRun: Unsupported '
                                              'value: []string{"foo"}: supported values: "All"')


def test_field_validation(apiserver):
    body = service()
    body["spec"]["foo"] = 1
    status, _, err = apiserver.request("POST", SVC + "?fieldValidation=Strict", body)
    assert (status, err["reason"], err["message"]) == (
        400, "BadRequest", 'Service in version "v1" cannot be handled as a Service: strict decoding error: '
                           'unknown field "spec.foo"')
    status, headers, obj = apiserver.request("POST", SVC, body)
    assert status == 201 and "foo" not in obj["spec"]
    assert headers["Warning"] == '299 - "unknown field \\"spec.foo\\""' or "unknown field" in headers["Warning"]


# -- lists ---------------------------------------------------------------------------------
def test_label_and_field_selectors(apiserver):
    for name, labels in (("a", {"tier": "web", "env": "prod"}), ("b", {"tier": "db"}), ("c", {})):
        body = service(name)
        body["metadata"]["labels"] = labels
        created(apiserver, SVC, body)

    def names(query):
        status, _, body = apiserver.request("GET", SVC + "?" + query)
        assert status == 200, body
        return [i["metadata"]["name"] for i in body["items"]]

    assert names("labelSelector=tier%3Dweb") == ["a"]
    assert names("labelSelector=tier%21%3Dweb") == ["b", "c", "kubernetes"]
    assert names("labelSelector=tier+in+(web,db)") == ["a", "b"]
    assert names("labelSelector=tier+notin+(web)") == ["b", "c", "kubernetes"]
    assert names("labelSelector=env") == ["a"]
    assert names("labelSelector=%21tier") == ["c", "kubernetes"]
    assert names("fieldSelector=metadata.name%3Db") == ["b"]
    status, _, body = apiserver.request("GET", SVC + "?fieldSelector=spec.type%3DClusterIP")
    assert (status, body["message"]) == (400, "field label not supported: spec.type")
    status, _, body = apiserver.request("GET", SVC + "?labelSelector=a%3D%3D%3D")
    assert status == 400


def test_limit_and_continue(apiserver):
    for i in range(5):
        created(apiserver, SVC, service(f"s{i}"))
    status, _, page = apiserver.request("GET", SVC + "?limit=2")
    assert [i["metadata"]["name"] for i in page["items"]] == ["kubernetes", "s0"]
    assert page["metadata"]["remainingItemCount"] == 4
    seen = [i["metadata"]["name"] for i in page["items"]]
    while page["metadata"].get("continue"):
        status, _, page = apiserver.request("GET", SVC + "?limit=2&continue=" + page["metadata"]["continue"])
        seen += [i["metadata"]["name"] for i in page["items"]]
    assert seen == ["kubernetes", "s0", "s1", "s2", "s3", "s4"]
    status, _, body = apiserver.request("GET", SVC + "?limit=2&continue=garbage")
    assert status == 400


def test_tables(apiserver):
    created(apiserver, SVC, service("my-httpbin", type="ExternalName", externalName="httpbin.org",
                                    ports=[{"name": "http", "port": 80}]))
    status, _, table = apiserver.request(
        "GET", SVC, accept="application/json;as=Table;v=v1;g=meta.k8s.io,application/json")
    assert table["kind"] == "Table"
    assert [c["name"] for c in table["columnDefinitions"]] == [
        "Name", "Type", "Cluster-IP", "External-IP", "Port(s)", "Age", "Selector"]
    row = next(r for r in table["rows"] if r["cells"][0] == "my-httpbin")
    assert row["cells"][:5] == ["my-httpbin", "ExternalName", "<none>", "httpbin.org", "80/TCP"]
    assert row["object"]["kind"] == "PartialObjectMetadata"


# -- endpoints ---------------------------------------------------------------------------
def test_endpoints_warning_and_ip_rules(apiserver):
    ep = {"apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": "w"},
          "subsets": [{"addresses": [{"ip": "127.0.0.1"}], "ports": [{"port": 443}]}]}
    status, headers, body = apiserver.request("POST", "/api/v1/namespaces/default/endpoints", ep)
    assert status == 422
    assert body["message"] == ('Endpoints "w" is invalid: subsets[0].addresses[0].ip: Invalid value: '
                               '"127.0.0.1": may not be in the loopback range (127.0.0.0/8, ::1/128)')
    assert headers["Warning"] == ('299 - "v1 Endpoints is deprecated in v1.33+; use discovery.k8s.io/v1 '
                                  'EndpointSlice"')


def test_endpointslice_rules(apiserver):
    es = {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice", "metadata": {"name": "w"},
          "addressType": "IPv4", "endpoints": [{"addresses": ["2001:db8::1"]}]}
    status, _, body = apiserver.request("POST", "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices", es)
    assert status == 422
    assert body["message"] == ('EndpointSlice.discovery.k8s.io "w" is invalid: endpoints[0].addresses[0]: '
                               'Invalid value: "2001:db8::1": must be a valid IPv4 address')


# -- custom resources ------------------------------------------------------------------
def test_discovery_follows_the_istio_version(apiserver, ca, tmp_path):
    status, _, group = apiserver.request("GET", "/apis/networking.istio.io")
    assert group["preferredVersion"]["version"] == "v1beta1"
    assert [v["version"] for v in group["versions"]] == ["v1beta1", "v1alpha3"]
    status, _, resources = apiserver.request("GET", "/apis/networking.istio.io/v1beta1")
    rules = next(r for r in resources["resources"] if r["name"] == "destinationrules")
    assert rules["shortNames"] == ["dr"] and rules["categories"] == ["istio-io", "networking-istio-io"]
    from tests.apiserver import LocalAPIServer
    with LocalAPIServer(tmp_path / "k124", istio="1.24", ca=ca) as newer:
        assert newer.request("GET", "/apis/networking.istio.io")[2]["preferredVersion"]["version"] == "v1"


def test_destination_rule_schema(apiserver):
    rule = {"apiVersion": "networking.istio.io/v1beta1", "kind": "DestinationRule", "metadata": {"name": "r"},
            "spec": {"host": "x", "trafficPolicy": {"tls": {"mode": "OFF"}}}}
    status, _, body = apiserver.request("POST", DR, rule)
    assert status == 422
    assert body["message"] == ('DestinationRule.networking.istio.io "r" is invalid: spec.trafficPolicy.tls.mode: '
                               'Unsupported value: "OFF": supported values: "DISABLE", "SIMPLE", "MUTUAL", '
                               '"ISTIO_MUTUAL"')
    rule["spec"] = {"trafficPolicy": {}}
    status, _, body = apiserver.request("POST", DR, rule)
    assert "spec.host: Required value" in body["message"]


def test_a_new_crd_is_served_at_once(apiserver):
    crd = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
           "metadata": {"name": "widgets.example.com"},
           "spec": {"group": "example.com", "scope": "Namespaced",
                    "names": {"plural": "widgets", "kind": "Widget", "shortNames": ["wd"]},
                    "versions": [{"name": "v1", "served": True, "storage": True,
                                  "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                                      "spec": {"type": "object", "properties": {"size": {"type": "integer"}}}}}}}]}}
    created(apiserver, "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd)
    widget = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}, "spec": {"size": "big"}}
    status, _, body = apiserver.request("POST", "/apis/example.com/v1/namespaces/default/widgets", widget)
    assert status == 422 and 'spec.size in body must be of type integer: "string"' in body["message"]
    widget["spec"]["size"] = 3
    created(apiserver, "/apis/example.com/v1/namespaces/default/widgets", widget)
    assert apiserver.request("DELETE", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.example.com")[0] == 200
    assert apiserver.request("GET", "/apis/example.com/v1/namespaces/default/widgets")[0] == 404


# -- patches and watch ---------------------------------------------------------------
def test_patch_types(apiserver):
    created(apiserver, SVC, service("p", ports=[{"name": "a", "port": 80}]))
    status, _, obj = apiserver.request("PATCH", SVC + "/p", {"metadata": {"labels": {"x": "1"}}},
                                       content_type="application/merge-patch+json")
    assert obj["metadata"]["labels"] == {"x": "1"}
    status, _, obj = apiserver.request("PATCH", SVC + "/p", {"spec": {"ports": [{"name": "b", "port": 81}]}},
                                       content_type="application/strategic-merge-patch+json")
    assert [p["port"] for p in obj["spec"]["ports"]] == [80, 81]  # merged by the merge key `port`
    status, _, obj = apiserver.request("PATCH", SVC + "/p", [{"op": "remove", "path": "/metadata/labels/x"}],
                                       content_type="application/json-patch+json")
    assert obj["metadata"].get("labels", {}) == {}
    status, _, body = apiserver.request("PATCH", SVC + "/p", {}, content_type="text/plain")
    assert status == 415


def test_watch_sees_changes(apiserver):
    events = []

    def watch():
        status, _, body = apiserver.request("GET", SVC + "?watch=1&timeoutSeconds=2", timeout=10)
        events.extend(body.splitlines() if isinstance(body, str) else [json.dumps(body)])

    thread = threading.Thread(target=watch)
    thread.start()
    import time
    time.sleep(0.3)
    created(apiserver, SVC, service("watched"))
    thread.join()
    types = [(json.loads(e)["type"], json.loads(e)["object"]["metadata"]["name"]) for e in events]
    assert ("ADDED", "kubernetes") in types and ("ADDED", "watched") in types


# -- namespaces and faults -------------------------------------------------------------
def test_namespace_lifecycle(apiserver):
    ns = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "tmp"}}
    obj = created(apiserver, "/api/v1/namespaces", ns)
    assert obj["status"] == {"phase": "Active"}
    assert obj["metadata"]["labels"] == {"kubernetes.io/metadata.name": "tmp"}
    created(apiserver, "/api/v1/namespaces/tmp/services", service())
    status, _, gone = apiserver.request("DELETE", "/api/v1/namespaces/tmp")
    assert status == 200 and gone["status"]["phase"] == "Terminating"
    import time
    for _ in range(50):
        if apiserver.request("GET", "/api/v1/namespaces/tmp")[0] == 404:
            break
        time.sleep(0.02)
    assert apiserver.request("GET", "/api/v1/namespaces/tmp")[0] == 404
    assert apiserver.request("GET", "/api/v1/namespaces/tmp/services/alpha")[0] == 404


def test_faults(apiserver):
    apiserver.fault(path="/services$", method="GET", status=503, reason="ServiceUnavailable",
                    message="try later", times=1)
    assert apiserver.request("GET", SVC)[0] == 503
    assert apiserver.request("GET", SVC)[0] == 200
    apiserver.fault(path="/services$", delay=0.5, times=1)
    import time
    start = time.monotonic()
    apiserver.request("GET", SVC)
    assert time.monotonic() - start >= 0.5


def test_request_lines_up_to_kube_apiservers_limit(apiserver):
    """kube-apiserver reads a request's line and headers up to MaxHeaderBytes, 1 MiB (k8s.io/apiserver
    pkg/server/secure_serving.go), with net/http's 4096 bytes over it; beyond, 431. An exec's command
    travels in its URL, so a probe of a thousand services sends a line of a hundred KiB or more."""
    long = "a" * 200_000  # past Python's own 64 KiB
    status, _, body = apiserver.request("GET", f"/api/v1/namespaces/default/services?labelSelector=x%3D1&pad={long}")
    assert status == 200 and body["kind"] == "ServiceList"
    status, _, _ = apiserver.request("GET", f"/api/v1/namespaces/default/services?pad={'a' * (1 << 20)}{long}")
    assert status == 431
