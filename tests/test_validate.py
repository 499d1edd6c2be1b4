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
# " " and "\t ": white space alone is the empty selector (selector.go Lexer.Lex skips it to
# EndOfStringToken; Parser.parse ends there with no requirement)
@pytest.mark.parametrize("text", ["x=a,y=b,z=c", "", " ", "\t ", "x!=a,y=b", "x=", "x= ", "x=,z= ", "x= ,z= ", "!x",
                                  "x>1",
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


# apimachinery pkg/util/validation/validation_test.go: TestIsQualifiedName (a label key; here as `KEY`,
# an exists requirement) and TestIsValidLabelValue (as `x=VALUE`), the vectors the selector's tokens keep
QUALIFIED_GOOD = ["simple", "now-with-dashes", "1-starts-with-num", "1234", "simple/simple", "now-with-dashes/simple",
                  "now-with-dashes/now-with-dashes", "now.with.dots/simple", "now-with.dashes-and.dots/simple",
                  "1-num.2-num/3-num", "1234/5678", "1.2.3.4/5678", "Uppercase_Is_OK_123",
                  "example.com/Uppercase_Is_OK_123", "requests.storage-foo", "a" * 63, "a" * 253 + "/" + "b" * 63]
QUALIFIED_BAD = ["cantendwithadash-", "-cantstartwithadash-", "only/one/slash", "Example.com/abc", "example_com/abc",
                 "example.com/", "/simple", "a" * 64, "a" * 254 + "/abc"]
LABEL_VALUE_GOOD = ["simple", "now-with-dashes", "1-starts-with-num", "end-with-num-1", "1234", "a" * 63, ""]
LABEL_VALUE_BAD = ["Tama-nui-te-rā.is.Māori.sun", "\\backslashes\\are\\bad", "-starts-with-dash", "ends-with-dash-",
                   ".starts.with.dot", "ends.with.dot.", "a" * 64]
SELECTOR_HINT = "(e.g. -l app=web or -l 'env in (prod,staging)')"


@pytest.mark.parametrize("key", QUALIFIED_GOOD)
def test_label_selector_keys_ok(key):
    assert validate.label_selector(key) == key
    assert validate.label_selector(f"!{key}") == f"!{key}"


@pytest.mark.parametrize("key", QUALIFIED_BAD)
def test_label_selector_keys_bad(key):
    with pytest.raises(UsageError) as err:
        validate.label_selector(key)
    assert err.value.message == f'-l "{key}" is not a label selector: {key!r} is not a label key {SELECTOR_HINT}'


@pytest.mark.parametrize("value", LABEL_VALUE_GOOD)
def test_label_selector_values_ok(value):
    assert validate.label_selector(f"x={value}") == f"x={value}"


@pytest.mark.parametrize("value", LABEL_VALUE_BAD)
def test_label_selector_values_bad(value):
    with pytest.raises(UsageError) as err:
        validate.label_selector(f"x={value}")
    assert err.value.message == (f'-l "x={value}" is not a label selector: {value!r} is not a label value '
                                 f"{SELECTOR_HINT}")


# Where each bad selector goes wrong, the whole reason (labels.Parse refuses each of them too)
SELECTOR_WHY = [
    ("x=a||y=b", "'a||y' is not a label value"),
    ("x==a==b", "found '==' where a ',' belongs"),
    ("!x=a", "found '=' where a ',' belongs"),
    ("x<a", "'<' must be followed by a whole number"),
    ("x>", "'>' must be followed by a whole number"),
    ("x in a", "'in' must be followed by values in parentheses"),
    ("x in", "'in' must be followed by values in parentheses"),
    ("x notin a", "'notin' must be followed by values in parentheses"),
    ("x in (a", "a ')' is missing"),
    ("x in (", "a ')' is missing"),
    ("x in (-bad,b)", "'-bad' is not a label value"),
    ("x=(a,b)", "found '(' where a ',' belongs"),
    ("x=)", "found ')' where a ',' belongs"),
    ("x=a b", "found 'b' where a ',' belongs"),
    ("x y", "found 'y' where '=', '!=', 'in' or 'notin' belongs"),
    ("x=a,,y", "',' is not a label key"),
    ("x=a,!-bad", "'-bad' is not a label key"),
    ("!", "'!' must be followed by a label key"),
]


@pytest.mark.parametrize("text, why", SELECTOR_WHY)
def test_label_selector_why(text, why):
    with pytest.raises(UsageError) as err:
        validate.label_selector(text)
    assert err.value.message == f'-l "{text}" is not a label selector: {why} {SELECTOR_HINT}'


@pytest.mark.parametrize("text", ["x", "x,y", "x==a", "!x,!y", "a=b,!x,c", "x in (a),y"])
def test_label_selector_requirements_in_a_row(text):
    assert validate.label_selector(text) == text


def test_label_selector_bang_alone():
    with pytest.raises(UsageError) as err:
        validate.label_selector("x=a,!")
    assert err.value.message == ('-l "x=a,!" is not a label selector: \'!\' must be followed by a label key '
                                 f"{SELECTOR_HINT}")


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
    ("web=a=b.example", '--host "a=b.example" is not a valid DNS name'),  # NAME ends at the first "="
])
def test_host_override_bad(text, fragment):
    with pytest.raises(UsageError) as err:
        validate.host_override(text)
    assert fragment in err.value.message


# Every bad input gets one line that says what to type instead: the whole line, pinned.
RULES = "use lower case letters, digits and '-', starting with a letter and ending with a letter or digit"
DNS = ("use lower case letters, digits, '-' and '.', each label starting and ending with a letter or digit "
       "(e.g. httpbin.org)")
NOWHERE = "which a Service cannot send traffic to; give the external service's address"
MESSAGES = [
    (validate.service_name, "Bad_", f'NAME "Bad_" is not a valid Service name: {RULES} (e.g. "bad")'),
    (validate.service_name, "1Bad_x", f'NAME "1Bad_x" is not a valid Service name: {RULES} (e.g. "bad-x")'),
    (validate.service_name, "___", f'NAME "___" is not a valid Service name: {RULES}'),
    (validate.service_name, "a" * 64, f'NAME "{"a" * 64}" is too long (64 characters): a Service name has at most 63'),
    (validate.namespace, "Bad_NS", 'namespace "Bad_NS" is not a valid namespace name: use lower case letters, digits '
                                   "and '-', starting and ending with a letter or digit, at most 63 characters"),
    (validate.namespace, "a" * 64, f'namespace "{"a" * 64}" is not a valid namespace name: use lower case letters, '
                                   "digits and '-', starting and ending with a letter or digit, at most 63 characters"),
    (validate.host, "grpc://api.example.com:50051", 'HOST "grpc://api.example.com:50051" is a URL; give the host name '
     'alone, e.g. "kubectl egress externalname NAME api.example.com --port 50051 --protocol grpc"'),
    (validate.host, "tls://db.example.com:5432", 'HOST "tls://db.example.com:5432" is a URL; give the host name alone, '
     'e.g. "kubectl egress externalname NAME db.example.com --port 5432 --protocol tls"'),
    (validate.host, "tcp://db.example.com:5432", 'HOST "tcp://db.example.com:5432" is a URL; give the host name alone, '
     'e.g. "kubectl egress externalname NAME db.example.com --port 5432 --protocol tcp"'),
    (validate.host, "http2://x.example.com", 'HOST "http2://x.example.com" is a URL; give the host name alone, e.g. '
     '"kubectl egress externalname NAME x.example.com --protocol http2"'),
    (validate.host, "ftp://files.example.com", 'HOST "ftp://files.example.com" is a URL; give the host name alone, '
     'e.g. "kubectl egress externalname NAME files.example.com"'),
    (validate.host, "https://httpbin.org./get", 'HOST "https://httpbin.org./get" is a URL; give the host name alone, '
     'e.g. "kubectl egress externalname NAME httpbin.org --port 443 --protocol https"'),
    (validate.host, "https://", 'HOST "https://" is a URL; give the host name alone, e.g. "kubectl egress '
     'externalname NAME HOST --port 443 --protocol https"'),
    (validate.host, "[2001:db8::1]", 'HOST "[2001:db8::1]" is an IP address, which an ExternalName Service cannot '
     'resolve; use "kubectl egress endpoints NAME 2001:db8::1 --port PORT"'),
    (validate.host, "httpbin.org/a/b", 'HOST "httpbin.org/a/b" has a path; give the host name alone, e.g. '
     '"httpbin.org"'),
    (validate.host, "under_score.org", f'HOST "under_score.org" is not a valid DNS name: {DNS}'),
    (validate.ip, "10.0.0.0/24", 'IP "10.0.0.0/24" is a network; give single addresses, e.g. "10.0.0.0"'),
    (validate.ip, "10.0.0.1/24", 'IP "10.0.0.1/24" is a network; give single addresses, e.g. "10.0.0.1"'),
    (validate.ip, "abc/x", 'IP "abc/x" is not a valid IP address (e.g. 198.35.26.96 or 2620:0:863:ed1a::1)'),
    (validate.ip, "en.wikipedia.org.", 'IP "en.wikipedia.org." is a host name; use "kubectl egress externalname '
     'NAME en.wikipedia.org." for host names'),
    (validate.ip, " ", "IP is empty; give an address (e.g. 198.35.26.96)"),
    (validate.ip, "127.0.0.1", f'IP "127.0.0.1" is a loopback address, {NOWHERE}'),
    (validate.ip, "::", f'IP "::" is an unspecified address, {NOWHERE}'),
    (validate.ip, "fe80::1", f'IP "fe80::1" is a link-local address, {NOWHERE}'),
    (validate.ip, "ff02::1", f'IP "ff02::1" is a multicast address, {NOWHERE}'),
    (validate.ips, [], "give at least one IP address"),
    (validate.ips, ["en.wikipedia.org"], 'IP "en.wikipedia.org" is a host name; use "kubectl egress externalname '
     'NAME en.wikipedia.org" for host names'),
    (validate.ip, "X10.0.0.1", 'IP "X10.0.0.1" is a host name; use "kubectl egress externalname NAME x10.0.0.1" '
     "for host names"),
    (validate.ips, ["192.0.2.1", "2001:db8::1", "192.0.2.1"], 'IP "192.0.2.1" is given twice'),
    (validate.port, "x", '--port "x" is not a port number: give 1 to 65535'),
    (validate.port, 0, "--port 0 is out of range: give 1 to 65535"),
    (validate.protocol, "ftp", "--protocol \"ftp\" is not one of http, https, tls, tcp, grpc, http2 (Istio's port "
     "naming)"),
    (validate.tls_mode, "MUTUAL", "--tls-mode MUTUAL needs client certificates, which kubectl-egress does not manage; "
     "use DISABLE or SIMPLE, or write the DestinationRule yourself"),
    (validate.tls_mode, "OFF", '--tls-mode "OFF" is not one of DISABLE, SIMPLE, ISTIO_MUTUAL or none'),
    (validate.istio_mode, "maybe", '--istio-mode "maybe" is not one of auto, legacy, alias, none'),
    (validate.endpoints_api, "x", '--api "x" is not one of endpointslice, endpoints'),
    (validate.duration, "soon", 'invalid argument "soon" for "--request-timeout": give a duration such as 10s, 1m '
     "or 0 (no limit)"),
]


@pytest.mark.parametrize("check, value, message", MESSAGES, ids=[f"{c.__name__}-{v}" for c, v, _ in MESSAGES])
def test_the_whole_message(check, value, message):
    with pytest.raises(UsageError) as err:
        check(value)
    assert err.value.message == message
    assert err.value.exit_code == 2


@pytest.mark.parametrize("text, host", [
    ("api.example.TAX", "api.example.tax"),  # only trailing dots go, nothing else
    ("X10.0.0.1", "x10.0.0.1"),  # a host name, though an IP address follows its first letter
    ("a" * 63 + ".org", "a" * 63 + ".org"),  # a label of 63 is allowed
    ("a" * 40 + "." + "b" * 40 + ".org", "a" * 40 + "." + "b" * 40 + ".org"),  # the limit is per label
    (".".join(["a" * 63] * 3 + ["b" * 61]), ".".join(["a" * 63] * 3 + ["b" * 61])),  # 253 characters in all
])
def test_host_limits(text, host):
    assert validate.host(text) == host


def test_host_of_254_characters_is_refused():
    text = ".".join(["a" * 63] * 3 + ["b" * 62])
    with pytest.raises(UsageError, match="not a valid DNS name"):
        validate.host(text)


def test_namespace_ok():
    assert validate.namespace("a" * 63) == "a" * 63
    assert validate.namespace("0team") == "0team"  # a DNS-1123 label may start with a digit


def test_ips_keep_order_and_brackets_are_allowed():
    assert validate.ips(["[2001:db8::1]", "192.0.2.1"], "x") == (ipaddress.ip_address("2001:db8::1"),
                                                                  ipaddress.ip_address("192.0.2.1"))


def test_ips_name_the_service_in_the_hint():
    with pytest.raises(UsageError, match='use "kubectl egress externalname wiki en.wikipedia.org"'):
        validate.ips(["en.wikipedia.org"], "wiki")


@pytest.mark.parametrize("value", ["auto", "LEGACY", "alias", "none"])
def test_istio_mode_ok(value):
    assert validate.istio_mode(value) == value.lower()


@pytest.mark.parametrize("text, seconds", [("1ns", 1e-9), ("1us", 1e-6), ("1µs", 1e-6), ("1.5s", 1.5),
                                           (" 2m ", 120), ("1h1m1s1ms", 3661.001)])
def test_duration_units(text, seconds):
    assert validate.duration(text) == pytest.approx(seconds, rel=1e-9, abs=0)


# apimachinery pkg/util/validation/validation_test.go TestIsDNS1123Label: goodValues, badValues
DNS1123_LABEL_GOOD = ["a", "ab", "abc", "a1", "a-1", "a--1--2--b", "0", "01", "012", "1a", "1-a", "1--a--b--2",
                      "a" * 63]
DNS1123_LABEL_BAD = ["", "A", "ABC", "aBc", "A1", "A-1", "1-A", "-", "a-", "-a", "1-", "-1", "_", "a_", "_a", "a_b",
                     "1_", "_1", "1_2", ".", "a.", ".a", "a.b", "1.", ".1", "1.2", " ", "a ", " a", "a b", "1 ", " 1",
                     "1 2", "a" * 64]


@pytest.mark.parametrize("name", DNS1123_LABEL_GOOD)
def test_container_name_ok(name):
    assert validate.container_name(name) == name


@pytest.mark.parametrize("name", DNS1123_LABEL_BAD)
def test_container_name_bad(name):
    with pytest.raises(UsageError) as err:
        validate.container_name(name)
    assert err.value.message == (f'-c "{name}" is not a valid container name: use lower case letters, digits and '
                                 "'-', at most 63 characters")
    assert err.value.exit_code == 2


def test_container_name_never_the_proxy():
    with pytest.raises(UsageError) as err:
        validate.container_name("istio-proxy")
    assert err.value.message == ("-c istio-proxy: the proxy's own traffic (UID 1337) bypasses the sidecar, so the "
                                 "probe would check the wrong path; leave -c out, or name the application's container")
    assert err.value.exit_code == 2


def test_image_whole_message():
    assert validate.image("curlimages/curl:8.11.1") == "curlimages/curl:8.11.1"
    with pytest.raises(UsageError) as err:
        validate.image("curl:8:11")
    assert err.value.message == ('invalid image name "curl:8:11": invalid reference format (e.g. '
                                 "registry.example.com/curlimages/curl:8.11.1)")
    assert err.value.exit_code == 2


# Go src/time/time_test.go parseDurationTests (the ones a float of seconds holds exactly enough), and
# parseDurationErrorTests
GO_DURATIONS = [("0", 0), ("5s", 5), ("30s", 30), ("1478s", 1478), ("-5s", -5), ("+5s", 5), ("-0", 0), ("+0", 0),
                ("5.0s", 5), ("5.6s", 5.6), ("5.s", 5), (".5s", 0.5), ("1.0s", 1), ("1.00s", 1), ("1.004s", 1.004),
                ("1.0040s", 1.004), ("100.00100s", 100.001), ("10ns", 10e-9), ("11us", 11e-6), ("12µs", 12e-6),
                ("12μs", 12e-6), ("13ms", 13e-3), ("14s", 14), ("15m", 900), ("16h", 57600), ("3h30m", 12600),
                ("10.5s4m", 250.5), ("-2m3.4s", -123.4), ("1h2m3s4ms5us6ns", 3723.004005006),
                ("39h9m14.425s", 140954.425)]
GO_DURATION_ERRORS = ["", "3", "-", "s", ".", "-.", ".s", "+.s", "1d", "\x85\x85", "\xffff", "hello \xffff world"]


@pytest.mark.parametrize("text, seconds", GO_DURATIONS)
def test_go_duration(text, seconds):
    assert validate.go_duration(text) == pytest.approx(seconds, abs=1e-12)


@pytest.mark.parametrize("text", GO_DURATION_ERRORS)
def test_go_duration_refused(text):
    assert validate.go_duration(text) is None


# clientcmd ParseTimeout: strconv.ParseInt first ("00" and "-0" are 0 seconds), else time.ParseDuration
@pytest.mark.parametrize("text, seconds", [("00", 0), ("-0", 0), ("+0", 0), ("007", 7), ("0s", 0)])
def test_duration_whole_seconds(text, seconds):
    assert validate.duration(text) == seconds
