"""The probe's pure parts for ServiceEntries and TLS origination: what to curl, what passes, why not."""
import pytest

from kubectl_egress import probe
from kubectl_egress.model import Origination, Target

SITE = Target("my-site", "default", host="site.example", origination=Origination())
ENTRY = Target("my-site", "default", host="site.example", hosts=("site.example",), recipe="serviceentry",
               origination=Origination())
MESH = probe.Source("default", "curl-1", "curl", sidecar=True, mesh=True)
PLAIN = probe.Source("without-istio", "curl-2", "curl", sidecar=False, mesh=False)
TLS_ERROR = ("upstream connect error or disconnect/reset before headers. retried and the latest reset reason: "
             "remote connection failure, transport failure reason: TLS_error:|268435581:SSL routines:"
             "OPENSSL_internal:CERTIFICATE_VERIFY_FAILED:{}:TLS_error_end")


def outcome(**kw):
    base = dict(exit=0, code=200, ran=True)
    base.update(kw)
    return probe.Outcome(**base)


@pytest.mark.parametrize("target, urls", [
    (Target("api", "default", host="a.example", hosts=("a.example", "*.b.example", "c.example"),
            recipe="serviceentry"), ["http://a.example/headers", "http://c.example/headers"]),
    (Target("api", "default", host="a.example", hosts=("a.example",), recipe="serviceentry", port=443,
            protocol="https"), ["https://a.example/"]),
    (Target("db", "default", host="db.example", hosts=("db.example",), recipe="serviceentry", port=5432,
            protocol="tcp"), ["telnet://db.example:5432"]),
    (ENTRY, ["http://site.example/"]),
    (SITE, ["http://my-site.default.svc.cluster.local/"]),
])
def test_what_the_probe_curls(target, urls):
    checks = probe.checks_for("3", target, "", None)
    assert [c.url for c in checks] == urls
    assert len({c.id for c in checks}) == len(checks)


def test_origination_checks_know_where_tls_should_go():
    check = probe.checks_for("0", SITE, "", None, "site.example")[0]
    assert (check.originates, check.mesh_host, check.tls) == ("site.example:443", "site.example", False)
    assert probe.checks_for("0", SITE, "", "/status")[0].url == "http://my-site.default.svc.cluster.local/status"


REDIRECT = dict(code=301, headers={"location": "https://site.example/", "server": "nginx"})
ENVOY = {"server": "envoy", "x-envoy-upstream-service-time": "5"}


def test_what_passes_and_what_counts_as_origination():
    check = probe.checks_for("0", SITE, "", None)[0]
    answered = outcome(headers=ENVOY)
    assert probe.ok(answered, check, True) and probe.originated(answered, check)
    redirected = outcome(**REDIRECT)
    assert probe.redirect_to_https(redirected) == "https://site.example/"
    assert not probe.ok(redirected, check, True)  # the sidecar should have spoken TLS
    assert probe.ok(redirected, check, False) and not probe.originated(redirected, check)
    assert not probe.originated(outcome(), check)  # no sidecar seen, no claim


def hint(target, out, source=MESH):
    check = probe.checks_for("0", target, "", None, target.host)[0]
    return probe.diagnose(check, out, target, source, 10)


@pytest.mark.parametrize("out, source, message, fix", [
    (outcome(**REDIRECT), PLAIN, "no sidecar here, so nothing originates TLS: plain HTTP reached site.example, "
     "which redirects (301) to https://site.example/", ""),
    (outcome(**REDIRECT), MESH, "the sidecar did not originate TLS: site.example answered plain HTTP with 301",
     "kubectl egress externalname my-site site.example --tls-origination"),
    (outcome(code=503, body=TLS_ERROR.format("verify cert failed: verify SAN list")), MESH,
     "missing SNI: the DestinationRule gives no sni, so the sidecar (Istio 1.21+) sent the Host header, "
     "my-site.default.svc.cluster.local, as SNI", "kubectl egress externalname my-site site.example --tls-origination"),
    (outcome(code=503, body=TLS_ERROR.format("verify cert failed: X509_verify_cert: certificate verification error "
                                              "at depth 0: self signed certificate")), MESH,
     "the sidecar could not verify site.example's certificate (verify cert failed: X509_verify_cert: certificate verification "
     "error at depth 0: self signed certificate)", ""),
    (outcome(code=503, body=TLS_ERROR.replace("268435581", "268435703").format("x").replace(
        "CERTIFICATE_VERIFY_FAILED:x", "WRONG_VERSION_NUMBER")), MESH,
     "the sidecar spoke TLS to a port of site.example that answers plain HTTP",
     "kubectl egress externalname my-site site.example --tls-origination"),
    (outcome(headers=ENVOY), MESH, "", ""),
])
def test_origination_hints(out, source, message, fix):
    got = hint(SITE, out, source)
    assert got.message.startswith(message) if message else not got
    assert got.fix == fix


def test_double_tls_hint_and_its_fix():
    target = Target("my-api", "default", host="httpbin.org", port=443, protocol="https", tls_mode="SIMPLE")
    check = probe.check_for(0, target, "", None)
    out = outcome(exit=35, code=0, error="curl: (35) OpenSSL/3.3.2: error:0A00010B:SSL routines::wrong version number")
    got = probe.diagnose(check, out, target, MESH, 10)
    assert got.message.startswith("double TLS: the DestinationRule originates TLS (mode SIMPLE) on port 443")
    assert got.fix == "kubectl egress externalname my-api httpbin.org --port 443 --protocol https --tls-mode DISABLE"


def test_a_plain_http_service_that_redirects_to_https():
    target = Target("my-site", "default", host="site.example")
    got = hint(target, outcome(**REDIRECT), PLAIN)
    assert got.message.startswith("301 to https://site.example/: the site wants HTTPS")


@pytest.mark.parametrize("target, line", [
    (ENTRY, "kubectl egress serviceentry my-site site.example --tls-origination"),
    (Target("db", "prod", host="db.example", hosts=("db.example",), recipe="serviceentry", port=5432,
            protocol="tcp", flags=("--resolution STATIC", "--endpoints 203.0.113.7")),
     "kubectl egress serviceentry db db.example --port 5432 --protocol tcp --resolution STATIC "
     "--endpoints 203.0.113.7 -n prod"),
    (Target("my-site", "default", host="site.example", origination=Origination(8443, "skip")),
     "kubectl egress externalname my-site site.example --tls-origination --target-port 8443 --insecure-skip-verify"),
])
def test_the_commands_hints_give(target, line):
    assert probe.command_line(target) == line
