"""The emulated sidecar's TLS origination (tests/apiserver/origination.py): the rules as tables,
then real curl in real pods of one Istio 1.24 cluster shared by the module."""
import pytest

from tests.apiserver import LocalAPIServer
from tests.apiserver.origination import OS_BUNDLE, Failed, dns_name_match, local_reply, plan, port_settings
from tests.conftest import run_kubectl
from tests.netns import requires_pod_networks
from tests.test_network import SOURCES  # the seed's two curl pods

# Envoy test/common/tls/utility_test.cc, TestDnsNameMatching: (dns name, certificate pattern)
DNS_MATCHES = [("lyft.com", "lyft.com"), ("a.lyft.com", "*.lyft.com"), ("a.LYFT.com", "*.lyft.COM"),
               ("lyft.com", "*yft.com"), ("LYFT.com", "*yft.com"), ("lyft.com", "*lyft.com"),
               ("lyft.com", "lyf*.com"), ("lyft.com", "lyft*.com"), ("lyft.com", "l*ft.com"),
               ("t.lyft.com", "t*.lyft.com"), ("test.lyft.com", "t*.lyft.com"),
               ("l-lots-of-stuff-ft.com", "l*ft.com")]
DNS_MISMATCHES = [("t.lyft.com", "t*t.lyft.com"), ("lyft.com", "l*ft.co"), ("lyft.com", "ly?t.com"),
                  ("lyft.com", "lf*t.com"), (".lyft.com", "*lyft.com"), ("lyft.com", "**lyft.com"),
                  ("lyft.com", "lyft**.com"), ("lyft.com", "ly**ft.com"), ("lyft.com", "lyft.c*m"),
                  ("lyft.com", "*yft.c*m"), ("test.lyft.com.extra", "*.lyft.com"), ("a.b.lyft.com", "*.lyft.com"),
                  ("foo.test.com", "*.lyft.com"), ("lyft.com", "*.lyft.com"), ("alyft.com", "*.lyft.com"),
                  ("", "*lyft.com"), ("lyft.com", "")]


@pytest.mark.parametrize("name, pattern", DNS_MATCHES)
def test_dns_names_envoy_matches(name, pattern):
    assert dns_name_match(name, pattern)


@pytest.mark.parametrize("name, pattern", DNS_MISMATCHES)
def test_dns_names_envoy_refuses(name, pattern):
    assert not dns_name_match(name, pattern)


CA = b"--- the OS bundle ---"


@pytest.mark.parametrize("settings, selector, version, expected", [
    # 1.20: no auto SNI, and no verification without caCertificates (VERIFY_CERTIFICATE_AT_CLIENT off)
    ({"mode": "SIMPLE"}, False, (1, 20), dict(tls=True, sni="", trust=None, san_list=())),
    ({"mode": "SIMPLE", "caCertificates": OS_BUNDLE}, False, (1, 20), dict(trust=CA, san_list=())),
    # 1.21+: the OS bundle by default, SNI from the Host header, which the certificate must then name
    ({"mode": "SIMPLE"}, False, (1, 24), dict(sni="my-site.default.svc.cluster.local", trust=CA,
                                              san_list=("my-site.default.svc.cluster.local",))),
    # an explicit sni turns auto SAN validation off: only subjectAltNames check the name then
    ({"mode": "SIMPLE", "sni": "site.example"}, False, (1, 24), dict(sni="site.example", trust=CA, san_list=())),
    ({"mode": "SIMPLE", "sni": "site.example", "subjectAltNames": ["site.example"]}, False, (1, 24),
     dict(san_matchers=("site.example",), san_list=())),
    ({"mode": "SIMPLE", "insecureSkipVerify": True}, False, (1, 24),
     dict(sni="my-site.default.svc.cluster.local", trust=None, san_list=())),
    ({"mode": "SIMPLE", "caCertificates": "/etc/certs/other.pem"}, False, (1, 24),
     dict(trust=None, missing="caCertificates /etc/certs/other.pem")),
    # credentialName: no TLS at all without a workloadSelector; with one, a secret this cluster cannot serve
    ({"mode": "SIMPLE", "credentialName": "site-ca"}, False, (1, 24), dict(tls=False)),
    ({"mode": "SIMPLE", "credentialName": "site-ca"}, True, (1, 24),
     dict(tls=True, missing="credentialName site-ca")),
])
def test_what_envoy_gets_from_the_settings(settings, selector, version, expected):
    got = plan(settings, selector, version, "my-site.default.svc.cluster.local:80", (), CA)
    assert {k: getattr(got, k) for k in expected} == expected


def test_tcp_proxies_have_no_auto_sni():
    got = plan({"mode": "SIMPLE"}, False, (1, 24), "", (), CA, http=False)
    assert (got.sni, got.san_list, got.trust) == ("", (), CA)


def test_service_entry_names_stand_in_for_missing_subject_alt_names():
    got = plan({"mode": "SIMPLE", "sni": "site.example"}, False, (1, 24), "", ("site.example",), CA)
    assert got.san_matchers == ("site.example",)


def test_port_level_settings_replace_the_rules():
    spec = {"trafficPolicy": {"tls": {"mode": "DISABLE"},
                              "portLevelSettings": [{"port": {"number": 80}, "tls": {"mode": "SIMPLE"}}]}}
    assert port_settings(spec, 80) == {"mode": "SIMPLE"}
    assert port_settings(spec, 443) == {"mode": "DISABLE"}
    assert port_settings({}, 80) == {}


def test_envoy_local_replies():
    verify = "TLS_error:|268435581:SSL routines:OPENSSL_internal:CERTIFICATE_VERIFY_FAILED:verify cert failed: " \
             "verify SAN list:TLS_error_end"
    assert local_reply(Failed(verify)) == (
        "upstream connect error or disconnect/reset before headers. retried and the latest reset reason: remote "
        "connection failure, transport failure reason: " + verify)
    assert local_reply(Failed("")).endswith("retried and the latest reset reason: remote connection failure")


# -- real curl in real pods -------------------------------------------------------------------------
# Istio's "Egress TLS Origination" task, for site.example
ENTRY = """
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: site}
spec:
  hosts: [site.example]
  ports:
  - {number: 80, name: http-port, protocol: HTTP, targetPort: 443}
  - {number: 443, name: https-port, protocol: HTTPS}
  resolution: DNS
"""


def origination_rule(host="site.example", port=80, **tls):
    import json
    settings = {"mode": "SIMPLE", **tls}
    return json.dumps({"apiVersion": "networking.istio.io/v1", "kind": "DestinationRule",
                       "metadata": {"name": "originate"},
                       "spec": {"host": host, "trafficPolicy": {"portLevelSettings": [
                           {"port": {"number": port}, "tls": settings}]}}})


@pytest.fixture(scope="module")
def cluster(tmp_path_factory, ca):
    """One Istio 1.24 cluster with the two source pods, for the module."""
    if requires_pod_networks.args[0]:
        pytest.skip(requires_pod_networks.kwargs["reason"])
    tmp = tmp_path_factory.mktemp("origination")
    srv = LocalAPIServer(tmp / "kubeconfig", istio="1.24", ca=ca).start()
    env = {"KUBECONFIG": str(srv.kubeconfig_path), "KUBECACHEDIR": str(tmp / "cache")}

    def kubectl(*args, input=None):
        return run_kubectl(*args, env=env, input=input)

    assert kubectl("apply", "-f", "-", input=SOURCES).code == 0
    pods = {}
    for ns in ("default", "without-istio"):
        assert kubectl("wait", "--for=condition=Ready", "pod", "-l", "app=curl", "-n", ns, "--timeout=30s").code == 0
        pods[ns] = kubectl("get", "pod", "-l", "app=curl", "-n", ns, "-o", "jsonpath={.items[0].metadata.name}").out

    def curl(where, *args):
        ns = "default" if where == "mesh" else "without-istio"
        return kubectl("exec", "-n", ns, pods[ns], "-c", "curl", "--", "curl", "-sS", "--max-time", "5", *args)

    yield kubectl, curl
    srv.stop()


@pytest.fixture
def mesh(cluster):
    kubectl, curl = cluster
    yield kubectl, curl
    kubectl("delete", "destinationrule,serviceentry,service", "-l", "test=origination", "--wait=false")
    kubectl("delete", "destinationrule", "originate", "--ignore-not-found")
    kubectl("delete", "serviceentry", "site", "--ignore-not-found")


def apply(kubectl, *manifests):
    res = kubectl("apply", "-f", "-", input="\n---\n".join(manifests))
    assert res.code == 0, res.err


@requires_pod_networks
def test_the_task_originates_tls_and_verifies_the_certificate(mesh):
    kubectl, curl = mesh
    plain = curl("plain", "-D", "-", "-o", "/dev/null", "http://site.example/")
    assert plain.out.startswith("HTTP/1.1 301") and "Location: https://site.example/" in plain.out
    apply(kubectl, ENTRY, origination_rule(sni="site.example", caCertificates=OS_BUNDLE,
                                           subjectAltNames=["site.example"]))
    res = curl("mesh", "-D", "-", "http://site.example/")
    assert res.code == 0 and res.out.startswith("HTTP/1.1 200 OK")
    assert "server: envoy" in res.out and "Served over HTTPS only." in res.out
    # applications that speak HTTPS themselves go on working, on the task's 443 port
    assert "Served over HTTPS only." in curl("mesh", "https://site.example/").out
    # without a sidecar nothing originates TLS
    assert curl("plain", "-D", "-", "-o", "/dev/null", "http://site.example/").out.startswith("HTTP/1.1 301")


@requires_pod_networks
@pytest.mark.parametrize("host, tls, reason", [
    ("site.example", {"sni": "site.example", "subjectAltNames": ["api.other.test"]},
     "CERTIFICATE_VERIFY_FAILED:verify cert failed: SAN matcher:TLS_error_end"),
    ("self-signed.badssl.com", {"sni": "self-signed.badssl.com"},
     "CERTIFICATE_VERIFY_FAILED:verify cert failed: X509_verify_cert: certificate verification error at depth 0: "
     "self signed certificate:TLS_error_end"),
    ("site.example", {"sni": "site.example", "caCertificates": "/etc/certs/root-cert.pem"},
     "retried and the latest reset reason: remote connection failure"),
])
def test_certificates_that_fail_verification(mesh, host, tls, reason):
    kubectl, curl = mesh
    apply(kubectl, ENTRY.replace("site.example", host), origination_rule(host, **tls))
    res = curl("mesh", f"http://{host}/")
    assert res.out.startswith("upstream connect error or disconnect/reset before headers. ")
    assert res.out.endswith(reason), res.out
    assert "503" in curl("mesh", "-o", "/dev/null", "-w", "%{http_code}", f"http://{host}/").out


@requires_pod_networks
def test_insecure_skip_verify_accepts_any_certificate(mesh):
    kubectl, curl = mesh
    apply(kubectl, ENTRY.replace("site.example", "self-signed.badssl.com"),
          origination_rule("self-signed.badssl.com", insecureSkipVerify=True))
    res = curl("mesh", "http://self-signed.badssl.com/")
    assert res.code == 0 and "Example Domain" in res.out


@requires_pod_networks
def test_without_sni_through_an_alias_the_host_header_is_the_sni(mesh):
    """1.24 auto SNI: the alias's name goes out as SNI and must be in the certificate (verify SAN list)."""
    kubectl, curl = mesh
    alias = ("apiVersion: v1\nkind: Service\nmetadata: {name: my-site, labels: {test: origination}}\n"
             "spec: {type: ExternalName, externalName: site.example, ports: [{name: http, port: 80}]}")
    apply(kubectl, alias, ENTRY, origination_rule())
    res = curl("mesh", "http://my-site.default.svc.cluster.local/")
    assert res.out.endswith("CERTIFICATE_VERIFY_FAILED:verify cert failed: verify SAN list:TLS_error_end")
    apply(kubectl, origination_rule(sni="site.example"))
    assert "Served over HTTPS only." in curl("mesh", "http://my-site.default.svc.cluster.local/").out


@requires_pod_networks
def test_double_tls_gives_wrong_version_number(mesh):
    """istio.io "Double TLS": SIMPLE on the port the app already sends TLS to."""
    kubectl, curl = mesh
    apply(kubectl, ENTRY, origination_rule(port=443, sni="site.example"))
    res = curl("mesh", "https://site.example/")
    assert res.code == 35 and "wrong version number" in res.err
    assert curl("plain", "https://site.example/").code == 0


@requires_pod_networks
def test_origination_to_a_plain_http_port(mesh):
    kubectl, curl = mesh
    apply(kubectl, ENTRY.replace(", targetPort: 443", ""), origination_rule(sni="site.example"))
    res = curl("mesh", "http://site.example/")
    assert res.out.endswith("TLS_error:|268435703:SSL routines:OPENSSL_internal:WRONG_VERSION_NUMBER:TLS_error_end")


@requires_pod_networks
def test_credential_name_without_a_selector_sends_plain_text(mesh):
    kubectl, curl = mesh
    apply(kubectl, ENTRY, origination_rule(credentialName="site-ca"))
    res = curl("mesh", "http://site.example/")
    assert "400 The plain HTTP request was sent to HTTPS port" in res.out


def test_virtual_service_routes():
    """routing.py: the first HTTP rule that matches; short names relative to the route's namespace."""
    from tests.apiserver.routing import http_destination

    class Routes:
        def scan(self, key, ns=None):
            return [{"metadata": {"name": "r", "namespace": "default", "creationTimestamp": "1"},
                     "spec": {"hosts": ["my-site"], "http": [
                         {"match": [{"uri": {"prefix": "/admin"}}], "route": [{"destination": {"host": "admin"}}]},
                         {"match": [{"port": 8080}], "route": [{"destination": {"host": "other.example"}}]},
                         {"route": [{"destination": {"host": "site.example", "port": {"number": 80}}}]}]}},
                    {"metadata": {"name": "gw", "namespace": "default", "creationTimestamp": "2"},
                     "spec": {"hosts": ["gw.example"], "gateways": ["istio-system/gateway"],
                              "http": [{"route": [{"destination": {"host": "x.example"}}]}]}}]

    routes = Routes()
    assert http_destination(routes, "my-site.default.svc.cluster.local", 80, "default") == ("site.example", 80)
    assert http_destination(routes, "my-site.default.svc.cluster.local", 8080, "prod") == ("other.example", None)
    assert http_destination(routes, "gw.example", 80, "default") is None  # a gateway's, not the sidecars'
    assert http_destination(routes, "site.example", 80, "default") is None
