"""Commands against the local API server, in process, over real HTTP."""

from tests.apiserver import LocalAPIServer


def get_json(srv: LocalAPIServer, path: str):
    """Read an object straight from the server as the admin (not through the plugin)."""
    import json
    import ssl
    import urllib.request

    req = urllib.request.Request(srv.url + path, headers={"Authorization": f"Bearer {srv.cluster.admin_token}"})
    try:
        with urllib.request.urlopen(req, context=ssl.create_default_context(cadata=srv.ca.pem.decode())) as r:
            return json.loads(r.read())
    except urllib.error.HTTPError as err:
        if err.code == 404:
            return None
        raise


def kubectl_apply(kubectl, manifest: str):
    res = kubectl("apply", "-f", "-", input=manifest)
    assert res.code == 0, res.err
    return res


FOREIGN_SERVICE = """
apiVersion: v1
kind: Service
metadata: {name: theirs}
spec: {ports: [{port: 80}]}
"""
PROD = "apiVersion: v1\nkind: Namespace\nmetadata: {name: prod}\n"

SVC = "/api/v1/namespaces/default/services/"
DR = "/apis/networking.istio.io/v1beta1/namespaces/default/destinationrules/"
SLICES = "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices/"
EP = "/api/v1/namespaces/default/endpoints/"


def test_externalname_creates_then_is_unchanged(apiserver, egress):
    first = egress("externalname", "my-httpbin", "httpbin.org")
    assert first.code == 0, first.err
    assert first.lines == ["service/my-httpbin created",
                           "destinationrule.networking.istio.io/my-httpbin created"]
    assert first.err == ""
    second = egress("externalname", "my-httpbin", "httpbin.org")
    assert second.lines == ["service/my-httpbin unchanged",
                            "destinationrule.networking.istio.io/my-httpbin unchanged"]
    svc = get_json(apiserver, SVC + "my-httpbin")
    assert svc["spec"]["externalName"] == "httpbin.org"
    assert svc["spec"]["ports"] == [{"name": "http", "protocol": "TCP", "port": 80, "targetPort": 80}]
    assert svc["metadata"]["labels"] == {"app.kubernetes.io/managed-by": "kubectl-egress"}
    rule = get_json(apiserver, DR + "my-httpbin")
    assert rule["spec"] == {"host": "my-httpbin.default.svc.cluster.local",
                            "trafficPolicy": {"tls": {"mode": "DISABLE"}}}


def test_changed_flags_configure(apiserver, egress):
    egress("externalname", "my-httpbin", "httpbin.org")
    res = egress("externalname", "my-httpbin", "httpbin.org", "--port", "443", "--protocol", "https",
                 "--tls-mode", "SIMPLE")
    assert res.lines == ["service/my-httpbin configured",
                         "destinationrule.networking.istio.io/my-httpbin configured"]
    assert get_json(apiserver, SVC + "my-httpbin")["spec"]["ports"][0]["name"] == "https"
    assert get_json(apiserver, DR + "my-httpbin")["spec"]["trafficPolicy"]["tls"]["mode"] == "SIMPLE"


def test_tls_mode_none_removes_the_rule(apiserver, egress):
    egress("externalname", "my-httpbin", "httpbin.org")
    res = egress("externalname", "my-httpbin", "httpbin.org", "--tls-mode", "none")
    assert res.lines == ["service/my-httpbin unchanged",
                         "destinationrule.networking.istio.io/my-httpbin pruned"]
    assert get_json(apiserver, DR + "my-httpbin") is None


def test_endpoints_recipe_with_slices(apiserver, egress):
    res = egress("endpoints", "my-wikipedia", "198.35.26.96", "208.80.153.224", "--port", "443",
                 "--host", "en.wikipedia.org")
    assert res.code == 0, res.err
    assert res.lines == ["service/my-wikipedia created",
                         "endpointslice.discovery.k8s.io/my-wikipedia-ipv4 created",
                         "destinationrule.networking.istio.io/my-wikipedia created"]
    es = get_json(apiserver, SLICES + "my-wikipedia-ipv4")
    assert es["metadata"]["labels"]["kubernetes.io/service-name"] == "my-wikipedia"
    assert es["metadata"]["labels"]["endpointslice.kubernetes.io/managed-by"] == "kubectl-egress"
    assert [e["addresses"] for e in es["endpoints"]] == [["198.35.26.96"], ["208.80.153.224"]]
    assert es["ports"] == [{"name": "tls", "protocol": "TCP", "port": 443}]
    svc = get_json(apiserver, SVC + "my-wikipedia")
    assert svc["spec"]["clusterIP"].startswith("10.")
    assert "selector" not in svc["spec"]


def test_endpoints_recipe_v1_endpoints_warns(apiserver, egress):
    res = egress("endpoints", "my-wikipedia", "198.35.26.96", "208.80.153.224", "--port", "443",
                 "--api", "endpoints")
    assert res.code == 0, res.err
    assert "endpoints/my-wikipedia created" in res.lines
    assert res.err.count("Warning: v1 Endpoints is deprecated in v1.33+; use discovery.k8s.io/v1 "
                         "EndpointSlice") == 1
    ep = get_json(apiserver, EP + "my-wikipedia")
    assert ep["subsets"] == [{"addresses": [{"ip": "198.35.26.96"}, {"ip": "208.80.153.224"}],
                              "ports": [{"name": "tls", "port": 443, "protocol": "TCP"}]}]


def test_ipv6_and_dual_stack(apiserver, egress):
    res = egress("endpoints", "dual", "192.0.2.10", "2001:db8::10", "--port", "443")
    assert res.code == 0, res.err
    assert "endpointslice.discovery.k8s.io/dual-ipv6 created" in res.lines
    svc = get_json(apiserver, SVC + "dual")
    assert svc["spec"]["ipFamilies"] == ["IPv4", "IPv6"]
    assert len(svc["spec"]["clusterIPs"]) == 2


def test_switching_kinds_prunes_old_endpoints(apiserver, egress):
    egress("endpoints", "svc", "192.0.2.10", "--port", "443")
    res = egress("externalname", "svc", "example.com", "--port", "443", "--protocol", "tls")
    assert res.lines == ["service/svc configured", "destinationrule.networking.istio.io/svc unchanged",
                         "endpointslice.discovery.k8s.io/svc-ipv4 pruned"]
    assert get_json(apiserver, SVC + "svc")["spec"]["type"] == "ExternalName"
    assert get_json(apiserver, SLICES + "svc-ipv4") is None


def test_foreign_service_is_left_alone(apiserver, egress, kubectl):
    kubectl_apply(kubectl, FOREIGN_SERVICE)
    apiserver.clear_requests()
    res = egress("externalname", "theirs", "httpbin.org")
    assert res.code == 1
    assert res.err == ('error: service "theirs" already exists in namespace "default" and is not '
                       "managed by kubectl-egress; choose another NAME, or pass --force to take it over\n")
    assert apiserver.writes() == []
    forced = egress("externalname", "theirs", "httpbin.org", "--force")
    assert forced.lines[0] == "service/theirs configured"
    assert get_json(apiserver, SVC + "theirs")["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "kubectl-egress"


def test_dry_run_client_sends_nothing(apiserver, egress):
    apiserver.clear_requests()
    res = egress("externalname", "my-httpbin", "httpbin.org", "--dry-run=client")
    assert res.lines == ["service/my-httpbin created (dry run)",
                         "destinationrule.networking.istio.io/my-httpbin created (dry run)"]
    assert apiserver.writes() == []
    yaml_out = egress("externalname", "my-httpbin", "httpbin.org", "--dry-run=client", "-o", "yaml")
    assert "kind: List" in yaml_out.out and "externalName: httpbin.org" in yaml_out.out


def test_dry_run_server_persists_nothing(apiserver, egress):
    res = egress("endpoints", "w", "192.0.2.1", "--port", "443", "--dry-run=server")
    assert res.lines[0] == "service/w created (server dry run)"
    assert {r["method"] for r in apiserver.writes()} == {"POST"}
    assert all("dryRun=All" in r["path"] for r in apiserver.writes())
    assert get_json(apiserver, SVC + "w") is None


def test_output_name_and_json(apiserver, egress):
    res = egress("externalname", "a", "example.com", "-o", "name")
    assert res.lines == ["service/a", "destinationrule.networking.istio.io/a"]
    res = egress("externalname", "b", "example.com", "-o", "json", "--tls-mode", "none")
    assert res.json()["kind"] == "Service" and res.json()["metadata"]["uid"]


def test_no_istio_makes_only_the_service(bare_apiserver, egress):
    res = egress("externalname", "my-httpbin", "httpbin.org")
    assert res.lines == ["service/my-httpbin created"]
    assert "Istio is not installed" in res.err


def test_flags_before_or_after_the_subcommand(apiserver, egress, kubectl):
    kubectl_apply(kubectl, PROD)
    assert egress("-n", "prod", "externalname", "a", "example.com").code == 0
    assert egress("externalname", "b", "example.com", "-n", "prod").code == 0
    assert [line.split()[0] for line in egress("get", "-n", "prod").lines[1:]] == ["a", "b"]
    assert [line.split()[0] for line in egress("-n", "prod", "get").lines[1:]] == ["a", "b"]
    assert egress("get").err == "No resources found in default namespace.\n"


def test_get_table_and_wide(apiserver, egress):
    egress("externalname", "my-httpbin", "httpbin.org")
    egress("endpoints", "my-wikipedia", "198.35.26.96", "208.80.153.224", "--port", "443",
           "--host", "en.wikipedia.org")
    lines = egress("get").lines
    assert lines[0].split() == ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL", "PORT(S)", "TLS", "MANAGED-BY", "AGE"]
    assert lines[1].split()[:7] == ["my-httpbin", "ExternalName", "<none>", "httpbin.org", "80/TCP", "DISABLE",
                                    "kubectl-egress"]
    assert lines[2].split()[3:7] == ["198.35.26.96,208.80.153.224", "443/TCP", "DISABLE", "kubectl-egress"]
    wide = egress("get", "-o", "wide").lines
    assert wide[0].split()[8:] == ["PROTOCOL", "HOST", "ENDPOINTS", "DESTINATIONRULE", "SERVICEENTRY"]
    assert wide[2].split()[8:] == ["tls", "en.wikipedia.org", "EndpointSlice", "default/my-wikipedia", "<none>"]
    names = egress("get", "-o", "name").lines
    assert names == ["service/my-httpbin", "destinationrule.networking.istio.io/my-httpbin",
                     "service/my-wikipedia", "endpointslice.discovery.k8s.io/my-wikipedia-ipv4",
                     "destinationrule.networking.istio.io/my-wikipedia"]
    listing = egress("get", "-o", "json").json()
    assert listing["kind"] == "List" and len(listing["items"]) == 5


def test_get_age_uses_human_duration(apiserver, egress):
    egress("externalname", "old", "example.com")
    apiserver.control("POST", "/_local/age", {"resource": "/services", "namespace": "default",
                                              "name": "old", "seconds": 3 * 86400 + 4 * 3600 + 5})
    assert egress("get").lines[1].split()[-1] == "3d4h"


def test_get_all_namespaces(apiserver, egress, kubectl):
    kubectl_apply(kubectl, PROD)
    egress("externalname", "a", "example.com")
    egress("externalname", "b", "example.com", "-n", "prod")
    lines = egress("get", "-A").lines
    assert lines[0].split()[:2] == ["NAMESPACE", "NAME"]
    assert [line.split()[:2] for line in lines[1:]] == [["default", "a"], ["prod", "b"]]


def test_get_missing_and_not_egress_names(apiserver, egress, kubectl):
    kubectl_apply(kubectl, FOREIGN_SERVICE)
    kubectl_apply(kubectl, "apiVersion: v1\nkind: Service\nmetadata: {name: web}\n"
                           "spec: {selector: {app: web}, ports: [{port: 80}]}\n")
    res = egress("get", "nope")
    assert (res.code, res.err) == (1, 'Error from server (NotFound): services "nope" not found\n')
    res = egress("get", "web")
    assert res.code == 1
    assert res.err.startswith('error: service "web" is not an egress service: it has a selector (app=web)')
    # made by hand (no selector): an egress service, listed as anyone's
    assert egress("get", "theirs").lines[1].split()[:7] == ["theirs", "ClusterIP", get_json(
        apiserver, SVC + "theirs")["spec"]["clusterIP"], "<none>", "80/TCP", "ISTIO_MUTUAL", "<none>"]


def test_clean_deletes_exactly_what_was_made(apiserver, egress, kubectl):
    kubectl_apply(kubectl, FOREIGN_SERVICE)
    egress("externalname", "my-httpbin", "httpbin.org")
    egress("endpoints", "my-wikipedia", "198.35.26.96", "--port", "443", "--api", "endpoints")
    res = egress("clean")
    assert res.code == 0, res.err
    assert res.lines == ['destinationrule.networking.istio.io "my-httpbin" deleted',
                         'destinationrule.networking.istio.io "my-wikipedia" deleted',
                         'endpoints "my-wikipedia" deleted',
                         'service "my-httpbin" deleted',
                         'service "my-wikipedia" deleted']
    assert get_json(apiserver, SVC + "theirs") is not None
    assert get_json(apiserver, SVC + "kubernetes") is not None
    assert get_json(apiserver, "/apis/networking.istio.io/v1beta1/namespaces/istio-system/destinationrules/default")
    again = egress("clean")
    assert (again.code, again.out, again.err) == (0, "", "No resources found in default namespace.\n")


def test_clean_one_name_and_orphans(apiserver, egress, kubectl):
    egress("externalname", "a", "example.com")
    egress("externalname", "b", "example.com")
    kubectl("delete", "svc", "b")  # the DestinationRule of b is left behind
    assert egress("clean", "a").lines == ['destinationrule.networking.istio.io "a" deleted',
                                          'service "a" deleted']
    assert egress("clean").lines == ['destinationrule.networking.istio.io "b" deleted']


def test_clean_dry_run(apiserver, egress):
    egress("externalname", "a", "example.com")
    apiserver.clear_requests()
    assert egress("clean", "--dry-run=client").lines == [
        'destinationrule.networking.istio.io "a" deleted (dry run)', 'service "a" deleted (dry run)']
    assert apiserver.writes() == []
    assert get_json(apiserver, SVC + "a") is not None


def test_version(apiserver, egress):
    res = egress("version")
    assert res.lines[:2] == ["Client Version: v0.1.0", "Server Version: v1.33.1"]
    assert res.lines[2:] == ["Istio: 1.20.8, legacy mode: an ExternalName Service is a mesh service: rules go "
                             "on NAME.NAMESPACE.svc.cluster.local (istiod 1.20.8 leaves ENABLE_EXTERNAL_NAME_ALIAS "
                             "unset, off by default in 1.20)"]  # nothing more in a plain sidecar mesh
    assert egress("version", "--client").lines == ["Client Version: v0.1.0"]
