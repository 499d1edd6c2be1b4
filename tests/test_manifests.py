"""manifests: pure builders, checked against the seed's objects field by field."""
import ipaddress

import pytest

from kubectl_egress import manifests
from kubectl_egress.model import Entry, Mesh, Origination, Target

LABELS = {"app.kubernetes.io/managed-by": "kubectl-egress"}
HTTPBIN = Target("my-httpbin", "default", host="httpbin.org")
WIKIPEDIA = Target("my-wikipedia", "default", host="en.wikipedia.org",
                   ips=(ipaddress.ip_address("198.35.26.96"), ipaddress.ip_address("208.80.153.224")),
                   port=443, protocol="tls", endpoints_api="endpoints")

# The seed's YAML (SCENARIO.md), plus the managed-by label.
SEED_HTTPBIN_SERVICE = {
    "apiVersion": "v1", "kind": "Service",
    "metadata": {"name": "my-httpbin", "namespace": "default", "labels": LABELS},
    "spec": {"type": "ExternalName", "externalName": "httpbin.org",
             "ports": [{"name": "http", "protocol": "TCP", "port": 80}]},
}
SEED_HTTPBIN_RULE = {
    "apiVersion": "networking.istio.io/v1", "kind": "DestinationRule",
    "metadata": {"name": "my-httpbin", "namespace": "default", "labels": LABELS},
    "spec": {"host": "my-httpbin.default.svc.cluster.local",
             "trafficPolicy": {"tls": {"mode": "DISABLE"}}},
}
SEED_WIKIPEDIA_SERVICE = {
    "apiVersion": "v1", "kind": "Service",
    "metadata": {"name": "my-wikipedia", "namespace": "default", "labels": LABELS,
                 "annotations": {"kubectl-egress/host": "en.wikipedia.org"}},
    "spec": {"type": "ClusterIP", "ports": [{"name": "tls", "protocol": "TCP", "port": 443}]},
}
SEED_WIKIPEDIA_ENDPOINTS = {
    "apiVersion": "v1", "kind": "Endpoints",
    "metadata": {"name": "my-wikipedia", "namespace": "default", "labels": LABELS},
    "subsets": [{"addresses": [{"ip": "198.35.26.96"}, {"ip": "208.80.153.224"}],
                 "ports": [{"name": "tls", "port": 443, "protocol": "TCP"}]}],
}


@pytest.mark.parametrize("target, expected", [
    (HTTPBIN, [SEED_HTTPBIN_SERVICE, SEED_HTTPBIN_RULE]),
    (WIKIPEDIA, [SEED_WIKIPEDIA_SERVICE, SEED_WIKIPEDIA_ENDPOINTS,
                 {**SEED_HTTPBIN_RULE,
                  "metadata": {"name": "my-wikipedia", "namespace": "default", "labels": LABELS},
                  "spec": {"host": "my-wikipedia.default.svc.cluster.local",
                           "trafficPolicy": {"tls": {"mode": "DISABLE"}}}}]),
])
def test_seed_recipes(target, expected):
    assert manifests.objects(target, Mesh()) == expected


def test_slices_per_family():
    target = Target("db", "apps", ips=(ipaddress.ip_address("203.0.113.7"),
                                       ipaddress.ip_address("2001:db8::7"),
                                       ipaddress.ip_address("203.0.113.8")),
                    port=5432, protocol="tcp")
    slices = manifests.endpoint_slices(target)
    assert [s["metadata"]["name"] for s in slices] == ["db-ipv4", "db-ipv6"]
    assert [s["addressType"] for s in slices] == ["IPv4", "IPv6"]
    assert slices[0]["endpoints"] == [{"addresses": ["203.0.113.7"], "conditions": {"ready": True}},
                                      {"addresses": ["203.0.113.8"], "conditions": {"ready": True}}]
    assert slices[1]["ports"] == [{"name": "tcp", "protocol": "TCP", "port": 5432}]
    assert slices[0]["metadata"]["labels"] == {
        "app.kubernetes.io/managed-by": "kubectl-egress",
        "kubernetes.io/service-name": "db",
        "endpointslice.kubernetes.io/managed-by": "kubectl-egress"}
    svc = manifests.service(target)
    assert svc["spec"]["ipFamilies"] == ["IPv4", "IPv6"]
    assert svc["spec"]["ipFamilyPolicy"] == "PreferDualStack"


@pytest.mark.parametrize("ips, families, policy", [
    (("2001:db8::1",), ["IPv6"], "SingleStack"),
    (("192.0.2.1",), None, None),
])
def test_service_families(ips, families, policy):
    target = Target("x", "default", ips=tuple(ipaddress.ip_address(i) for i in ips), port=443)
    spec = manifests.service(target)["spec"]
    assert spec.get("ipFamilies") == families
    assert spec.get("ipFamilyPolicy") == policy


def test_endpoints_sorted_as_the_server_repacks():
    target = Target("x", "default", ips=(ipaddress.ip_address("2001:db8::1"), ipaddress.ip_address("10.0.0.9"),
                                         ipaddress.ip_address("10.0.0.2")), port=443)
    ips = [a["ip"] for a in manifests.endpoints(target)["subsets"][0]["addresses"]]
    assert ips == ["10.0.0.2", "10.0.0.9", "2001:db8::1"]


@pytest.mark.parametrize("mode, mesh, has_rule", [
    ("DISABLE", Mesh(), True),
    (None, Mesh(), False),
    ("DISABLE", Mesh(istio=False), False),
])
def test_destination_rule_when(mode, mesh, has_rule):
    target = Target("x", "default", host="example.com", tls_mode=mode)
    kinds = [o["kind"] for o in manifests.objects(target, mesh)]
    assert ("DestinationRule" in kinds) == has_rule


def test_rule_version_follows_the_cluster():
    rule = manifests.destination_rule(HTTPBIN, Mesh(networking_version="v1beta1"))
    assert rule["apiVersion"] == "networking.istio.io/v1beta1"


@pytest.mark.parametrize("protocol", ["http", "https", "tls", "tcp", "grpc", "http2"])
def test_port_named_after_protocol(protocol):
    target = Target("x", "default", host="example.com", protocol=protocol, port=8443)
    assert manifests.service(target)["spec"]["ports"] == [{"name": protocol, "protocol": "TCP", "port": 8443}]


# Istio 1.21+ (alias mode): an ExternalName Service is only a DNS alias, so the recipe adds a
# ServiceEntry for the external host and puts the DestinationRule on that host (README, Istio
# versions; Istio's "Kubernetes Services for Egress Traffic" task).
ALIAS = Mesh(mode="alias")


def test_alias_mode_externalname_recipe():
    target = Target("my-httpbin", "default", host="httpbin.org", port=443, protocol="https", tls_mode="SIMPLE")
    assert manifests.objects(target, ALIAS) == [
        {"apiVersion": "v1", "kind": "Service",
         "metadata": {"name": "my-httpbin", "namespace": "default", "labels": LABELS},
         "spec": {"type": "ExternalName", "externalName": "httpbin.org",
                  "ports": [{"name": "https", "protocol": "TCP", "port": 443}]}},
        {"apiVersion": "networking.istio.io/v1", "kind": "ServiceEntry",
         "metadata": {"name": "my-httpbin", "namespace": "default", "labels": LABELS},
         "spec": {"hosts": ["httpbin.org"], "location": "MESH_EXTERNAL", "resolution": "DNS",
                  "ports": [{"number": 443, "name": "https", "protocol": "HTTPS"}]}},
        {"apiVersion": "networking.istio.io/v1", "kind": "DestinationRule",
         "metadata": {"name": "my-httpbin", "namespace": "default", "labels": LABELS},
         "spec": {"host": "httpbin.org", "trafficPolicy": {"tls": {"mode": "SIMPLE"}}}},
    ]


def test_alias_mode_leaves_endpoints_services_on_their_own_name():
    target = Target("db", "apps", ips=(ipaddress.ip_address("192.0.2.7"),), port=5432, protocol="tcp",
                    host="db.example.com")
    kinds = [(o["kind"], o.get("spec", {}).get("host")) for o in manifests.objects(target, ALIAS)]
    assert kinds == [("Service", None), ("EndpointSlice", None), ("DestinationRule", "db.apps.svc.cluster.local")]


def test_endpoint_slice_whole():
    target = Target("db", "apps", ips=(ipaddress.ip_address("192.0.2.7"),), port=5432, protocol="tcp")
    assert manifests.objects(target, Mesh(istio=False)) == [
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "db", "namespace": "apps", "labels": LABELS},
         "spec": {"type": "ClusterIP", "ports": [{"name": "tcp", "protocol": "TCP", "port": 5432}]}},
        {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
         "metadata": {"name": "db-ipv4", "namespace": "apps",
                      "labels": {**LABELS, "kubernetes.io/service-name": "db",
                                 "endpointslice.kubernetes.io/managed-by": "kubectl-egress"}},
         "addressType": "IPv4",
         "endpoints": [{"addresses": ["192.0.2.7"], "conditions": {"ready": True}}],
         "ports": [{"name": "tcp", "protocol": "TCP", "port": 5432}]},
    ]


def test_endpoints_sorted_by_their_16_byte_form():
    # Go's net.IP holds IPv4 as ::ffff:a.b.c.d, so an address below that range sorts first, and
    # 198.35.26.96 (0xc6...) still sorts before 2001:db8::1
    ips = ("2001:db8::1", "198.35.26.96", "::6000:0:1", "10.0.0.2")
    target = Target("x", "default", ips=tuple(ipaddress.ip_address(i) for i in ips), port=443)
    got = [a["ip"] for a in manifests.endpoints(target)["subsets"][0]["addresses"]]
    assert got == ["::6000:0:1", "10.0.0.2", "198.35.26.96", "2001:db8::1"]


# The probe's sources: Istio's curl sample (istio/istio samples/curl/curl.yaml: ServiceAccount and
# Deployment `curl`, image curlimages/curl sleeping for ever, grace period 0), labelled as ours so
# that clean finds them; the one without a sidecar opts out of injection.
SOURCE_LABELS = {**LABELS, "kubectl-egress/role": "probe-source"}


# The sources are Istio's curl sample hardened for restricted namespaces: the image pinned by tag
# and digest, curl_user (100:101) by number, and the restricted profile's context.
PINNED_CURL = "curlimages/curl:8.11.1@sha256:c1fe1679c34d9784c1b0d1e5f62ac0a79fca01fb6377cdd33e90473c6f9f9a69"
RESTRICTED_AS_CURL_USER = {"runAsNonRoot": True, "runAsUser": 100, "runAsGroup": 101,
                           "allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]},
                           "seccompProfile": {"type": "RuntimeDefault"}}


@pytest.mark.parametrize("sidecar, pod_labels", [
    (True, {"app": "curl", "kubectl-egress/role": "probe-source"}),
    (False, {"app": "curl", "kubectl-egress/role": "probe-source", "sidecar.istio.io/inject": "false"}),
])
def test_source_objects_are_istios_curl_sample(sidecar, pod_labels):
    meta = {"name": "curl", "namespace": "team", "labels": SOURCE_LABELS}
    assert manifests.source_objects("team", sidecar) == [
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta},
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta,
         "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "curl"}},
                  "template": {"metadata": {"labels": pod_labels},
                               "spec": {"terminationGracePeriodSeconds": 0, "serviceAccountName": "curl",
                                        "securityContext": {"seccompProfile": {"type": "RuntimeDefault"}},
                                        "containers": [{
                                            "name": "curl", "image": PINNED_CURL,
                                            "command": ["/bin/sleep", "infinity"],
                                            "imagePullPolicy": "IfNotPresent",
                                            "resources": {"requests": {"cpu": "10m", "memory": "32Mi"}},
                                            "securityContext": RESTRICTED_AS_CURL_USER}]}}}},
    ]


def test_source_namespace_has_injection_off():
    assert manifests.source_namespace("without-istio") == {
        "apiVersion": "v1", "kind": "Namespace",
        "metadata": {"name": "without-istio", "labels": {**SOURCE_LABELS, "istio-injection": "disabled"}}}


def test_host_annotation_only_when_a_host_is_known():
    target = Target("x", "default", ips=(ipaddress.ip_address("192.0.2.1"),), port=443)
    assert "annotations" not in manifests.service(target)["metadata"]


# -- kubectl egress serviceentry, TLS origination and the probe container: whole objects --------
ENTRY_LABELS = {**LABELS, "kubectl-egress/recipe": "serviceentry"}


def test_a_service_entry_alone():
    entry = Entry("apis", "team", ("api.example.com", "*.api.example.com"), port=443, protocol="tls")
    assert manifests.entry_objects(entry, Mesh(networking_version="v1beta1")) == [{
        "apiVersion": "networking.istio.io/v1beta1", "kind": "ServiceEntry",
        "metadata": {"name": "apis", "namespace": "team", "labels": ENTRY_LABELS},
        "spec": {"hosts": ["api.example.com", "*.api.example.com"], "location": "MESH_EXTERNAL",
                 "resolution": "DNS", "ports": [{"number": 443, "name": "tls", "protocol": "TLS"}]}}]


def test_a_service_entry_with_everything_and_origination():
    """Istio's "Egress TLS Origination" task: port 80 sent on to 443, the HTTPS port beside it, and
    the rule exported where the entry is."""
    entry = Entry("db", "team", ("db.example.com",), port=80, resolution="STATIC", addresses=("240.0.0.1",),
                  endpoints=("192.0.2.1", "192.0.2.2"), location="MESH_INTERNAL", export_to=(".", "other"),
                  origination=Origination(443, "system"))
    entry_obj, rule = manifests.entry_objects(entry, Mesh())
    assert entry_obj == {
        "apiVersion": "networking.istio.io/v1", "kind": "ServiceEntry",
        "metadata": {"name": "db", "namespace": "team", "labels": ENTRY_LABELS},
        "spec": {"hosts": ["db.example.com"], "addresses": ["240.0.0.1"], "location": "MESH_INTERNAL",
                 "resolution": "STATIC",
                 "ports": [{"number": 80, "name": "http", "protocol": "HTTP", "targetPort": 443},
                           {"number": 443, "name": "https", "protocol": "HTTPS"}],
                 "endpoints": [{"address": "192.0.2.1"}, {"address": "192.0.2.2"}], "exportTo": [".", "other"]}}
    assert rule == {
        "apiVersion": "networking.istio.io/v1", "kind": "DestinationRule",
        "metadata": {"name": "db", "namespace": "team", "labels": ENTRY_LABELS},
        "spec": {"host": "db.example.com", "exportTo": [".", "other"], "trafficPolicy": {"portLevelSettings": [
            {"port": {"number": 80}, "tls": {"mode": "SIMPLE", "sni": "db.example.com",
                                             "caCertificates": "/etc/ssl/certs/ca-certificates.crt",
                                             "subjectAltNames": ["db.example.com"]}}]}}}
    rule["metadata"]["labels"]["x"] = "y"  # the rule's labels are its own
    assert entry_obj["metadata"]["labels"] == ENTRY_LABELS
    # same port both sides: one port; no exportTo: none on the rule either
    same = Entry("db", "team", ("db.example.com",), port=443, origination=Origination(443, "skip"))
    entry_obj, rule = manifests.entry_objects(same, Mesh())
    assert entry_obj["spec"]["ports"] == [{"number": 443, "name": "http", "protocol": "HTTP", "targetPort": 443}]
    assert "exportTo" not in rule["spec"] and "exportTo" not in entry_obj["spec"]


@pytest.mark.parametrize("verify, tls", [
    ("system", {"mode": "SIMPLE", "sni": "api.example.com", "caCertificates": "/etc/ssl/certs/ca-certificates.crt",
                "subjectAltNames": ["api.example.com"]}),
    ("skip", {"mode": "SIMPLE", "sni": "api.example.com", "insecureSkipVerify": True}),
])
def test_origination_tls(verify, tls):
    assert manifests.origination_tls("api.example.com", Origination(443, verify)) == tls


def test_the_probe_container_is_kubectl_debugs_with_the_restricted_context():
    assert manifests.probe_container("egress-probe-1", "curlimages/curl:8.11.1", 1000, 2000) == {
        "name": "egress-probe-1", "image": "curlimages/curl:8.11.1", "command": ["sleep", "3650d"],
        "imagePullPolicy": "IfNotPresent", "terminationMessagePolicy": "File",
        "securityContext": {"runAsNonRoot": True, "runAsUser": 1000, "runAsGroup": 2000,
                            "allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]},
                            "seccompProfile": {"type": "RuntimeDefault"}}}


def test_tls_origination_up_to_1_20_routes_the_service_to_the_entry():
    """Istio's "Egress TLS Origination" for an ExternalName Service up to 1.20: its own Istio service sends
    to HOST on the Service's port, so a route sends it to HOST's entry, whose port 80 goes on to 443."""
    target = Target("api", "shop", host="api.example.com", port=80, origination=Origination(443, "system"))
    meta = {"name": "api", "namespace": "shop", "labels": LABELS}
    assert manifests.objects(target, Mesh(networking_version="v1beta1")) == [
        {"apiVersion": "v1", "kind": "Service", "metadata": meta,
         "spec": {"type": "ExternalName", "externalName": "api.example.com",
                  "ports": [{"name": "http", "protocol": "TCP", "port": 80}]}},
        {"apiVersion": "networking.istio.io/v1beta1", "kind": "ServiceEntry", "metadata": meta,
         "spec": {"hosts": ["api.example.com"], "location": "MESH_EXTERNAL", "resolution": "DNS",
                  "ports": [{"number": 80, "name": "http", "protocol": "HTTP", "targetPort": 443},
                            {"number": 443, "name": "https", "protocol": "HTTPS"}]}},
        {"apiVersion": "networking.istio.io/v1beta1", "kind": "DestinationRule", "metadata": meta,
         "spec": {"host": "api.example.com", "trafficPolicy": {"portLevelSettings": [
             {"port": {"number": 80}, "tls": {"mode": "SIMPLE", "sni": "api.example.com",
                                              "caCertificates": "/etc/ssl/certs/ca-certificates.crt",
                                              "subjectAltNames": ["api.example.com"]}}]}}},
        {"apiVersion": "networking.istio.io/v1beta1", "kind": "VirtualService", "metadata": meta,
         "spec": {"hosts": ["api.shop.svc.cluster.local"],
                  "http": [{"route": [{"destination": {"host": "api.example.com", "port": {"number": 80}}}]}]}},
    ]
    # from 1.21 the Service is an alias of HOST: no route; and without Istio, nothing to originate with
    assert [o["kind"] for o in manifests.objects(target, ALIAS)] == ["Service", "ServiceEntry", "DestinationRule"]
    assert [o["kind"] for o in manifests.objects(target, Mesh(istio=False))] == ["Service"]
