"""manifests: pure builders, checked against the seed's objects field by field."""
import ipaddress

import pytest

from kubectl_egress import manifests
from kubectl_egress.model import Mesh, Target

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
