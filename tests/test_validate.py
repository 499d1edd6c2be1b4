"""validate: every kind of bad input gets a one-line UsageError that says what to type."""
import ipaddress

import pytest

from kubectl_egress import validate
from kubectl_egress.errors import UsageError


@pytest.mark.parametrize("name", ["my-httpbin", "a", "x1", "a" * 63])
def test_service_name_ok(name):
    assert validate.service_name(name) == name


@pytest.mark.parametrize("name, fragment", [
    ("Bad_Name", 'e.g. "bad-name"'),
    ("1abc", "starting with a letter"),
    ("abc-", "ending with a letter or digit"),
    ("a.b", "not a valid Service name"),
    ("", "not a valid Service name"),
    ("a" * 64, "at most 63"),
])
def test_service_name_bad(name, fragment):
    with pytest.raises(UsageError) as err:
        validate.service_name(name)
    assert fragment in err.value.message
    assert err.value.exit_code == 2
    assert "\n" not in err.value.message


@pytest.mark.parametrize("text, host", [
    ("httpbin.org", "httpbin.org"),
    ("httpbin.org.", "httpbin.org"),
    ("HTTPBIN.org", "httpbin.org"),
    ("a-b.c-d.example", "a-b.c-d.example"),
])
def test_host_ok(text, host):
    assert validate.host(text) == host


@pytest.mark.parametrize("text, fragment", [
    ("https://httpbin.org/get", 'is a URL; give the host name alone, e.g. "kubectl egress externalname NAME '
                                'httpbin.org --port 443 --protocol https"'),
    ("http://httpbin.org", 'e.g. "kubectl egress externalname NAME httpbin.org"'),
    ("http://httpbin.org:8080/x", "httpbin.org --port 8080"),
    ("1.2.3.4", 'use "kubectl egress endpoints NAME 1.2.3.4 --port PORT"'),
    ("2001:db8::1", 'use "kubectl egress endpoints NAME 2001:db8::1 --port PORT"'),
    ("httpbin.org:8080", 'use HOST "httpbin.org" with --port 8080'),
    ("httpbin.org/anything", 'has a path; give the host name alone, e.g. "httpbin.org"'),
    ("under_score.org", "not a valid DNS name"),
    ("-lead.org", "not a valid DNS name"),
    ("a" * 64 + ".org", "not a valid DNS name"),
    ("", "not a valid DNS name"),
    # refused, not trimmed: the API server refuses `"httpbin.org "` too (DNS-1123 subdomain)
    ("httpbin.org ", 'HOST "httpbin.org " has spaces around it; give it without them, e.g. "httpbin.org"'),
    ("\thttpbin.org", 'has spaces around it; give it without them, e.g. "httpbin.org"'),
    ("  ", "HOST is empty"),
])
def test_host_bad(text, fragment):
    with pytest.raises(UsageError) as err:
        validate.host(text)
    assert fragment in err.value.message


@pytest.mark.parametrize("text", ["198.35.26.96", "208.80.153.224", "2620:0:863:ed1a::1", "10.0.0.1"])
def test_ip_ok(text):
    assert validate.ip(text) == ipaddress.ip_address(text)


@pytest.mark.parametrize("text, fragment", [
    ("127.0.0.1", "loopback"),
    ("::1", "loopback"),
    ("169.254.1.1", "link-local"),
    ("fe80::1", "link-local"),
    ("224.0.0.5", "multicast"),
    ("239.1.1.1", "multicast"),
    ("ff02::1", "multicast"),
    ("0.0.0.0", "unspecified"),
    ("::", "unspecified"),
    ("300.1.1.1", "not a valid IP address"),
    ("10.0.0.0/24", "is a network; give single addresses"),
    ("en.wikipedia.org", 'use "kubectl egress externalname NAME en.wikipedia.org"'),
    (" 198.35.26.96", 'IP " 198.35.26.96" has spaces around it; give it without them, e.g. "198.35.26.96"'),
])
def test_ip_bad(text, fragment):
    with pytest.raises(UsageError) as err:
        validate.ip(text)
    assert fragment in err.value.message


def test_ips_twice():
    with pytest.raises(UsageError, match="given twice"):
        validate.ips(["1.2.3.4", "1.2.3.4"])


@pytest.mark.parametrize("value, ok", [(1, True), (65535, True), ("443", True), (0, False),
                                       (65536, False), ("http", False), (-1, False)])
def test_port(value, ok):
    if ok:
        assert validate.port(value) == int(value)
    else:
        with pytest.raises(UsageError, match="1 to 65535"):
            validate.port(value)


@pytest.mark.parametrize("value, expected", [("http", "http"), ("HTTPS", "https"), ("tls", "tls"),
                                             ("tcp", "tcp"), ("grpc", "grpc"), ("http2", "http2")])
def test_protocol_ok(value, expected):
    assert validate.protocol(value) == expected


def test_protocol_bad():
    with pytest.raises(UsageError, match="is not one of http, https, tls, tcp, grpc, http2"):
        validate.protocol("ftp")


@pytest.mark.parametrize("value, expected", [("DISABLE", "DISABLE"), ("disable", "DISABLE"),
                                             ("SIMPLE", "SIMPLE"), ("none", None),
                                             ("ISTIO_MUTUAL", "ISTIO_MUTUAL")])
def test_tls_mode_ok(value, expected):
    assert validate.tls_mode(value) == expected


@pytest.mark.parametrize("value, fragment", [("MUTUAL", "needs client certificates"),
                                             ("OFF", "is not one of")])
def test_tls_mode_bad(value, fragment):
    with pytest.raises(UsageError, match=fragment):
        validate.tls_mode(value)


@pytest.mark.parametrize("text, seconds", [("0", 0), ("5", 5), ("1s", 1), ("1m30s", 90),
                                           ("250ms", 0.25), ("2h", 7200)])
def test_duration_ok(text, seconds):
    assert validate.duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["soon", "1d", "-1s", ""])
def test_duration_bad(text):
    with pytest.raises(UsageError, match="give a duration"):
        validate.duration(text)


@pytest.mark.parametrize("value", ["endpointslice", "ENDPOINTS"])
def test_endpoints_api_ok(value):
    assert validate.endpoints_api(value) == value.lower()


def test_endpoints_api_bad():
    with pytest.raises(UsageError, match="endpointslice, endpoints"):
        validate.endpoints_api("slices")


# k8s.io/apimachinery/pkg/labels/selector_test.go TestSelectorParse (testGoodStrings, testBadStrings)
# and TestSetSelectorParser's set forms
@pytest.mark.parametrize("text", ["x=a,y=b,z=c", "", "x!=a,y=b", "x=", "x= ", "x=,z= ", "x= ,z= ", "!x", "x>1",
                                  "x>1,z<5", "x in (a,b,c)", "x notin (a,b,c)", "x in (a,b),y notin (a,b)",
                                  "app.kubernetes.io/managed-by=Helm", "!app.kubernetes.io/managed-by"])
def test_label_selector_ok(text):
    assert validate.label_selector(text) == text


@pytest.mark.parametrize("text", ["x=a||y=b", "x==a==b", "!x=a", "x<a", "x in a", "x in (a", "x=(a,b)", "!",
                                  "Bad Key=a", "x=" + "v" * 64])
def test_label_selector_bad(text):
    with pytest.raises(UsageError) as err:
        validate.label_selector(text)
    assert err.value.message.startswith(f'-l "{text}" is not a label selector: ')
    assert err.value.message.endswith("(e.g. -l app=web or -l 'env in (prod,staging)')")


@pytest.mark.parametrize("text, expected", [
    ("my-wikipedia=en.wikipedia.org", ("my-wikipedia", "en.wikipedia.org")),
    ("my-wikipedia=EN.wikipedia.org.", ("my-wikipedia", "en.wikipedia.org")),
])
def test_host_override_ok(text, expected):
    assert validate.host_override(text) == expected


@pytest.mark.parametrize("text, fragment", [
    ("en.wikipedia.org", "must be NAME=HOST"),
    ("=en.wikipedia.org", "must be NAME=HOST"),
    ("Bad_Name=a.example", 'NAME "Bad_Name" is not a valid Service name'),
    ("x=https://a.example/", '--host "https://a.example/" is a URL'),
    ("x=a.example ", '--host "a.example " has spaces around it'),
])
def test_host_override_bad(text, fragment):
    with pytest.raises(UsageError) as err:
        validate.host_override(text)
    assert fragment in err.value.message
