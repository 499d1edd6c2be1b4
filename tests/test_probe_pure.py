"""probe: what to curl for each service, the output's meaning, and the hints (pure, table-driven)."""
import ipaddress

import pytest

from kubectl_egress import probe
from kubectl_egress.model import Target

HTTPBIN = Target("my-httpbin", "default", host="httpbin.org")
WIKI = Target("my-wikipedia", "default", host="en.wikipedia.org",
              ips=(ipaddress.ip_address("198.35.26.96"), ipaddress.ip_address("208.80.153.224")),
              port=443, protocol="tls")
EXT_TLS = Target("wiki", "team", host="en.wikipedia.org", port=443, protocol="https")
V6 = Target("v6", "default", host="example.com", ips=(ipaddress.ip_address("2001:db8::10"),), port=8443,
            protocol="tls")
NO_HOST = Target("raw", "default", ips=(ipaddress.ip_address("192.0.2.1"),), port=443, protocol="tls")
TCP = Target("db", "default", host="db.example.com", port=5432, protocol="tcp")
MESH = probe.Source("default", "curl-1", "curl", sidecar=True, mesh=True)
PLAIN = probe.Source("without-istio", "curl-2", "curl", sidecar=False, mesh=False)


@pytest.mark.parametrize("target, cluster_ip, url, option, value", [
    (HTTPBIN, "", "http://my-httpbin.default.svc.cluster.local/headers", "-", "-"),
    (Target("h", "default", host="h.example", port=8080), "", "http://h.default.svc.cluster.local:8080/headers",
     "-", "-"),
    (EXT_TLS, "", "https://en.wikipedia.org/", "--connect-to",
     "en.wikipedia.org:443:wiki.team.svc.cluster.local:443"),
    (WIKI, "10.96.7.7", "https://en.wikipedia.org/", "--resolve", "en.wikipedia.org:443:10.96.7.7"),
    (V6, "fd00:10:96::7", "https://example.com:8443/", "--resolve", "example.com:8443:[fd00:10:96::7]"),
    (NO_HOST, "10.96.7.8", "https://10.96.7.8/", "handshake", "-"),
    (TCP, "", "telnet://db.default.svc.cluster.local:5432", "-", "-"),
])
def test_check_for(target, cluster_ip, url, option, value):
    check = probe.check_for(0, target, cluster_ip, "/headers")
    assert (check.url, check.option, check.value) == (url, option, value)
    assert check.mesh_host == target.fqdn


def test_targets_travel_as_arguments_never_in_the_script():
    nasty = Target("x", "default", host='evil.example"; rm -rf / #', ips=(ipaddress.ip_address("192.0.2.1"),),
                   port=443, protocol="tls")
    check = probe.check_for(0, nasty, "10.96.0.9", "/headers")
    argv = probe.command([check], 5, "n0nce")
    assert argv[:2] == ["sh", "-c"]
    assert "evil" not in argv[2]  # the script is constant
    assert argv[-4:] == ["0", 'https://evil.example"; rm -rf / #/', "--resolve",
                         'evil.example"; rm -rf / #:443:10.96.0.9']


OUTPUT = """@@n0 stats before 0
reporter=.=source;.;destination_service=.=my-httpbin.default.svc.cluster.local;.;_istio_requests_total: 4
@@n0 begin 0
HTTP/1.1 200 OK\r
server: envoy\r
x-envoy-upstream-service-time: 3\r
\r

@@n0 result 0 200 0.004 203.0.113.80 80
@@n0 exit 0 0
@@n0 error 0
@@n0 body 0
{"headers": {"Host": "my-httpbin.default.svc.cluster.local", "X-Envoy-Decorator-Operation": "x:80/*"}}
@@n0 end 0
@@n0 stats after 0
reporter=.=source;.;destination_service=.=my-httpbin.default.svc.cluster.local;.;_istio_requests_total: 5
@@n0 begin 1

@@n0 result 1 000 0.001 10.96.7.7 443
@@n0 exit 1 35
@@n0 error 1
curl: (35) Recv failure: Connection reset by peer
@@n0 body 1

@@n0 end 1
"""


def test_parse():
    outcomes = probe.parse(OUTPUT, "n0")
    first, second = outcomes["0"], outcomes["1"]
    assert (first.exit, first.code, first.time, first.remote) == (0, 200, 0.004, "203.0.113.80:80")
    assert first.status_line == "HTTP/1.1 200 OK" and first.headers["server"] == "envoy"
    assert probe.echoed_headers(first.body)["x-envoy-decorator-operation"] == "x:80/*"
    assert probe.counted(first) == ["reporter=.=source;.;destination_service=.=my-httpbin.default.svc.cluster.local;"
                                    ".;_istio_requests_total"]
    assert (second.exit, second.code, second.remote) == (35, 0, "10.96.7.7:443")
    assert second.error == "curl: (35) Recv failure: Connection reset by peer"
    assert probe.ok(first, probe.Check("0", "s", "default", "http://x/")) is True
    assert probe.ok(second, probe.Check("1", "s", "default", "https://x/", tls=True)) is False


def outcome(**kw):
    return probe.Outcome(ran=True, **kw)


MTLS_BODY = "upstream connect error or disconnect/reset before headers. reset reason: connection termination"


@pytest.mark.parametrize("target, result, source, hint", [
    (HTTPBIN, outcome(exit=0, code=503, body=MTLS_BODY), MESH,
     "fix: kubectl egress externalname my-httpbin httpbin.org --tls-mode DISABLE"),
    (WIKI, outcome(exit=35, error="curl: (35) Recv failure: Connection reset by peer"), MESH,
     "the sidecar reset the TLS handshake: Istio mutual TLS is applied to an external host (DestinationRule "
     "missing or in mode ISTIO_MUTUAL); fix: kubectl egress endpoints my-wikipedia 198.35.26.96 "
     "208.80.153.224 --port 443 --host en.wikipedia.org --tls-mode DISABLE"),
    (EXT_TLS, outcome(exit=35, error="curl: (35) error:0A00010B:SSL routines::wrong version number"), PLAIN,
     "TLS and plain traffic are mixed on port 443: the port is named 'https', which looks wrong for this "
     "service; fix: kubectl egress externalname wiki en.wikipedia.org --port 443 --protocol http -n team"),
    (HTTPBIN, outcome(exit=6, error="curl: (6) Could not resolve host"), PLAIN,
     "DNS: my-httpbin.default.svc.cluster.local does not resolve in the pod"),
    (WIKI, outcome(exit=7, remote="10.96.0.5:443"), PLAIN, "connection refused (10.96.0.5:443): the Service"),
    (HTTPBIN, outcome(exit=28), PLAIN, "no answer within --timeout=10s"),
    (HTTPBIN, outcome(exit=0, code=404), PLAIN, "the external service answered 404"),
    (HTTPBIN, outcome(exit=0, code=200), probe.Source("default", "p", "c", sidecar=False, mesh=True),
     "has no istio-proxy sidecar: label its namespace"),
    (HTTPBIN, outcome(exit=0, code=200), MESH, "a sidecar was expected but none of its headers or counters"),
    (HTTPBIN, outcome(exit=0, code=200, headers={"server": "envoy"}), MESH, ""),
    (HTTPBIN, outcome(exit=0, code=200), PLAIN, ""),
])
def test_diagnose(target, result, source, hint):
    check = probe.check_for(0, target, "10.96.0.5", "/headers")
    text = str(probe.diagnose(check, result, target, source, 10))
    assert (hint in text) if hint else text == ""


def test_passthrough_hint():
    result = outcome(exit=0, code=200,
                     stats_before={"destination_service_name=.=PassthroughCluster;.;_istio_requests_total": 1},
                     stats_after={"destination_service_name=.=PassthroughCluster;.;_istio_requests_total": 2})
    check = probe.check_for(0, HTTPBIN, "", "/headers")
    assert probe.sidecar_seen(result)
    assert "passed it through without matching my-httpbin.default.svc.cluster.local" in \
        probe.diagnose(check, result, HTTPBIN, MESH, 10).message


@pytest.mark.parametrize("target, changes, line", [
    (HTTPBIN, {}, "kubectl egress externalname my-httpbin httpbin.org"),
    # made by hand: the recipe takes it over only with --force; Istio's other names as --protocol takes them
    (HTTPBIN, {"managed": False, "protocol": "grpc-web"},
     "kubectl egress externalname my-httpbin httpbin.org --force"),
    (WIKI, {"managed": False, "protocol": "mongo", "host": ""},
     "kubectl egress endpoints my-wikipedia 198.35.26.96 208.80.153.224 --port 443 --protocol tcp --force"),
    (EXT_TLS, {"tls_mode": None}, "kubectl egress externalname wiki en.wikipedia.org --port 443 --protocol https "
                                  "--tls-mode none -n team"),
    (WIKI, {"endpoints_api": "endpoints"}, "kubectl egress endpoints my-wikipedia 198.35.26.96 208.80.153.224 "
                                           "--port 443 --host en.wikipedia.org --api endpoints"),
])
def test_command_line(target, changes, line):
    assert probe.command_line(target, **changes) == line


# What curl 7.88's %{certs} prints (first lines of each certificate), as the handshake check reads it
CERTS = """Subject:CN = en.wikipedia.org
Issuer:CN = local-cluster-ca
Version:2
X509v3 Subject Alternative Name:DNS:en.wikipedia.org, DNS:*.wikipedia.org, IP Address:10.0.0.1
-----BEGIN CERTIFICATE-----
MIIB
-----END CERTIFICATE-----
Subject:CN = local-cluster-ca
X509v3 Subject Alternative Name:DNS:not-this-one.example
"""


@pytest.mark.parametrize("certs, names", [
    (CERTS, ["en.wikipedia.org", "*.wikipedia.org"]),
    ("Subject:C = US, O = Example, CN = example.com\n", ["example.com"]),  # no SAN: the subject's CN
    ("Subject:O = nobody\n", []),
    ("", []),  # curl before 7.88 prints nothing for %{certs}
])
def test_certificate_names(certs, names):
    assert probe.Outcome(certs=certs).cert_names == names


def test_handshake_only_when_no_host_is_known():
    check = probe.check_for(3, NO_HOST, "10.96.7.8", "/headers")
    assert check.handshake and check.args() == ["3", "https://10.96.7.8/", "handshake", "-"]
    headless = probe.check_for(4, NO_HOST, "", "/headers")
    assert headless.url == "https://raw.default.svc.cluster.local/"
    script = probe.SCRIPT
    assert "handshake) curl -sS -k " in script and "%{certs}" in script
    output = ("@@n begin 3\nHTTP/1.1 301 Moved\r\n\r\n\n@@n result 3 301 0.01 10.96.7.8 443\n@@n certs 3\n"
              + CERTS + "@@n exit 3 0\n@@n error 3\n@@n body 3\n\n@@n end 3\n")
    result = probe.parse(output, "n")["3"]
    assert probe.ok(result, check) and result.cert_names[0] == "en.wikipedia.org"
    hint = probe.diagnose(check, result, NO_HOST, PLAIN, 10)
    assert (hint.message, hint.fix) == (
        "no host name is known for port 443, so only the TLS handshake through 10.96.7.8:443 was checked: its "
        "certificate names en.wikipedia.org, *.wikipedia.org; for a full HTTPS check give the host clients use",
        "kubectl egress probe raw --host raw=en.wikipedia.org")
    failed = probe.Outcome(ran=True, exit=35, error="curl: (35) Recv failure: Connection reset by peer")
    assert not probe.ok(failed, check)
    assert "reset the TLS handshake" in str(probe.diagnose(check, failed, NO_HOST, MESH, 10))


@pytest.mark.parametrize("protocol, url, note", [
    ("", "telnet://db.default.svc.cluster.local:5432", "Istio cannot tell the protocol of port 5432"),
    ("mysql", "telnet://db.default.svc.cluster.local:5432", ""),
    ("grpc", "http://db.default.svc.cluster.local:5432/headers", ""),
])
def test_checks_follow_istios_protocol(protocol, url, note):
    check = probe.check_for(0, Target("db", "default", port=5432, protocol=protocol), "", "/headers")
    assert check.url == url and (note in check.note if note else check.note == "")


def hand_made(name="wiki", ports=({"name": "tls", "port": 443},), notes=None, rule=None, entry_hosts=None):
    from kubectl_egress.inventory import Found
    from kubectl_egress.model import service_entries
    meta = {"name": name, "namespace": "default", **({"annotations": notes} if notes else {})}
    found = Found("default", name, {"metadata": meta, "spec": {"clusterIPs": ["10.96.0.9"], "ports": list(ports)}})
    found.applied = rule
    if entry_hosts is not None:
        found.entry = (service_entries("v1"), {"metadata": {"name": name}, "spec": {"hosts": entry_hosts}})
    return found


SNI_RULE = {"metadata": {"name": "r", "namespace": "default"},
            "spec": {"host": "wiki", "trafficPolicy": {"tls": {"mode": "SIMPLE", "sni": "from.rule"},
                                                        "portLevelSettings": [{"port": {"number": 8443},
                                                                               "tls": {"sni": "from.port"}}]}}}


@pytest.mark.parametrize("found, hosts, port, host", [
    (hand_made(), {}, 443, ""),  # nothing says: a handshake, never a guess
    (hand_made(), {"wiki": "given.example"}, 443, "given.example"),
    (hand_made(notes={"kubectl-egress/host": "recorded.example"}), {}, 443, "recorded.example"),
    (hand_made(notes={"kubectl-egress/host": "recorded.example"}), {"wiki": "given.example"}, 443, "given.example"),
    (hand_made(rule=SNI_RULE), {}, 443, "from.rule"),
    (hand_made(rule=SNI_RULE), {}, 8443, "from.port"),
    (hand_made(entry_hosts=["en.wikipedia.org"]), {}, 443, "en.wikipedia.org"),
    (hand_made(entry_hosts=["a.example", "b.example"]), {}, 443, ""),  # which one? not said
    (hand_made(entry_hosts=["*.wikipedia.org"]), {}, 443, ""),
])
def test_the_tls_host_comes_from_what_the_user_or_cluster_says(found, hosts, port, host):
    from kubectl_egress.commands.probe import tls_host
    assert tls_host(found, {"port": port}, hosts) == host


def test_every_port_is_planned():
    from kubectl_egress.commands.probe import plan
    from kubectl_egress.model import Mesh
    found = hand_made(ports=({"name": "tls", "port": 443}, {"name": "http-admin", "port": 8080},
                             {"name": "dns", "port": 53, "protocol": "UDP"}, {"name": "web", "port": 9000}))
    planned, notes = plan([found], Mesh(), {"wiki": "en.wikipedia.org"}, "/headers")
    assert [p.check.url for p in planned] == ["https://en.wikipedia.org/", "http://wiki.default.svc.cluster.local:8080/headers",
                                              "telnet://wiki.default.svc.cluster.local:9000"]
    assert [p.check.id for p in planned] == ["0", "1", "2"] and planned[0].check.value == "en.wikipedia.org:443:10.96.0.9"
    assert notes == ["default/wiki: port 53/UDP is not probed (curl speaks TCP)"]


PLAIN_WIKI = Target("wiki-plain", "default", host="en.wikipedia.org", ips=(ipaddress.ip_address("198.35.26.96"),),
                    port=443, protocol="http")


@pytest.mark.parametrize("target, result, source, message, fix", [
    (HTTPBIN, outcome(exit=0, code=503, body=MTLS_BODY), MESH,
     "the sidecar sent Istio mutual TLS to an external host, which cannot speak it: no DestinationRule with a "
     "non-mTLS mode applies to my-httpbin.default.svc.cluster.local",
     "kubectl egress externalname my-httpbin httpbin.org --tls-mode DISABLE"),
    (WIKI, outcome(exit=35, error="curl: (35) Recv failure: Connection reset by peer"), MESH,
     "the sidecar reset the TLS handshake: Istio mutual TLS is applied to an external host (DestinationRule "
     "missing or in mode ISTIO_MUTUAL)",
     "kubectl egress endpoints my-wikipedia 198.35.26.96 208.80.153.224 --port 443 --host en.wikipedia.org "
     "--tls-mode DISABLE"),
    (EXT_TLS, outcome(exit=35, error="curl: (35) error:0A00010B:SSL routines::wrong version number"), PLAIN,
     "TLS and plain traffic are mixed on port 443: the port is named 'https', which looks wrong for this service",
     "kubectl egress externalname wiki en.wikipedia.org --port 443 --protocol http -n team"),
    (PLAIN_WIKI, outcome(exit=0, code=400, body="<center>The plain HTTP request was sent to HTTPS port</center>"),
     PLAIN, "plain HTTP reached a TLS port: name the port for TLS",
     "kubectl egress endpoints wiki-plain 198.35.26.96 --port 443 --protocol https --host en.wikipedia.org"),
    (HTTPBIN, outcome(exit=28), MESH,
     "no answer within --timeout=10s: an egress firewall, a NetworkPolicy or Istio's REGISTRY_ONLY outbound "
     "policy may block it, or the external host is down", ""),
    # REGISTRY_ONLY is a sidecar's: a pod outside the mesh (or ambient's ztunnel, istio#54281) never meets it
    (HTTPBIN, outcome(exit=28), PLAIN,
     "no answer within --timeout=10s: an egress firewall or a NetworkPolicy may block it, or the external host "
     "is down", ""),
    (WIKI, outcome(exit=6), PLAIN,
     "DNS: en.wikipedia.org does not resolve in the pod; is the Service there? (kubectl egress get my-wikipedia)",
     ""),
    # curl 28 after a status line: the server answered, then stalled the body (stall.example.net in the local
    # cluster): not a block, whoever carried it
    (HTTPBIN, outcome(exit=28, code=200, error="curl: (28) Operation timed out after 10001 milliseconds with 16 "
                                                "out of 1024 bytes received"), PLAIN,
     "the external service answered 200, then its body stalled: the rest did not arrive within --timeout=10s "
     "(curl exit 28), so nothing blocks the connection; the server, or a proxy on the path, stopped sending "
     "mid-answer", ""),
    (HTTPBIN, outcome(exit=28, code=200), MESH,
     "the external service answered 200, then its body stalled: the rest did not arrive within --timeout=10s "
     "(curl exit 28), so nothing blocks the connection; the server, or a proxy on the path, stopped sending "
     "mid-answer", ""),
])
def test_hints_keep_the_fix_apart(target, result, source, message, fix):
    """The command is the hint's fix alone, so it can be printed on its own line; the one-line form that
    -o json and -o wide carry keeps the words it had: "MESSAGE; fix: COMMAND"."""
    hint = probe.diagnose(probe.check_for(0, target, "10.96.0.5", "/headers"), result, target, source, 10)
    assert (hint.message, hint.fix) == (message, fix)
    assert str(hint) == (f"{message}; fix: {fix}" if fix else message)


def test_no_hint_is_empty():
    hint = probe.diagnose(probe.check_for(0, HTTPBIN, "", "/headers"), outcome(exit=0, code=200), HTTPBIN, PLAIN, 10)
    assert hint == probe.NO_HINT and not hint and str(hint) == ""


def test_output_puts_each_hint_below_the_table_and_wide_keeps_the_column():
    import io

    from kubectl_egress.app import App
    from kubectl_egress.commands.probe import Row
    from kubectl_egress.commands.probe import output as print_rows
    from kubectl_egress.printers import Printer

    def row(service, result, hint):
        return Row(service, "default", "default/curl-1", f"http://{service}.default.svc.cluster.local/headers", result,
                   "200", "2ms", "no", "203.0.113.80:80", hint, 0)

    rows = [row("a", "FAIL", probe.Hint("mTLS to an external host", "kubectl egress externalname a a.example")),
            row("b", "OK", probe.Hint("the source pod default/curl-1 has no istio-proxy sidecar")),
            row("c", "OK", probe.NO_HINT)]
    for fmt in (None, "wide"):
        out = io.StringIO()
        print_rows(App(printer=Printer(stdout=out, environ={})), rows, fmt)
        lines = out.getvalue().splitlines()
        assert [line.split()[0] for line in lines[:4]] == ["SERVICE", "a", "b", "c"]
        if fmt == "wide":
            assert lines[1].endswith("mTLS to an external host; fix: kubectl egress externalname a a.example")
            assert len(lines) == 4
        else:
            assert lines[4:] == ["", "FAIL a from default/curl-1: mTLS to an external host",
                                 "  fix: kubectl egress externalname a a.example",
                                 "OK b from default/curl-1: the source pod default/curl-1 has no istio-proxy sidecar"]


# What proves that istio-proxy carried a request (verdict.py): Envoy's own response headers,
# the headers it adds to the request (echoed back by httpbin's /headers), or Istio metrics that
# grew during the check. Istio's metric names: istio_requests_total (HTTP),
# istio_tcp_connections_opened_total (TCP and TLS); PassthroughCluster when no service matched.
SE = "reporter=.=source;.;destination_service=.=my-httpbin.default.svc.cluster.local;.;_istio_requests_total"
PT = "reporter=.=source;.;destination_service_name=.=PassthroughCluster;.;_istio_tcp_connections_opened_total"
ROUTED = '{"headers": {"X-Envoy-Peer-Metadata-Id": "sidecar~10.244.0.5", "X-Envoy-Decorator-Operation": "x:80/*"}}'
UNROUTED = '{"headers": {"X-Envoy-Peer-Metadata-Id": "sidecar~10.244.0.5", "Host": "example.com"}}'

EVIDENCE = [
    # (outcome, counted, sidecar seen, passthrough)
    (outcome(), [], False, False),
    (outcome(headers={"server": "envoy"}), [], True, False),
    (outcome(headers={"server": "Envoy"}), [], True, False),
    (outcome(headers={"server": "nginx"}), [], False, False),
    (outcome(headers={"x-envoy-upstream-service-time": "3"}), [], True, False),
    (outcome(body='{"headers": {"X-B3-Traceid": "abc"}}'), [], True, False),
    (outcome(body=ROUTED), [], True, False),
    (outcome(body=UNROUTED), [], True, True),
    (outcome(body="[1, 2]"), [], False, False),  # JSON, but not an httpbin echo
    (outcome(body='{"headers": "none"}'), [], False, False),
    (outcome(body="<html>"), [], False, False),
    (outcome(stats_before={SE: 4}, stats_after={SE: 5}), [SE], True, False),
    (outcome(stats_before={SE: 5}, stats_after={SE: 5}), [], False, False),
    (outcome(stats_before={}, stats_after={SE: 1}), [SE], True, False),
    (outcome(stats_before={SE: 2}, stats_after={SE: 5, PT: 1}), [SE, PT], True, False),
    (outcome(stats_before={PT: 0}, stats_after={PT: 1, SE: 0}), [PT], True, True),
]


@pytest.mark.parametrize("result, grown, seen, passed_through", EVIDENCE)
def test_the_sidecars_evidence(result, grown, seen, passed_through):
    assert probe.counted(result) == grown
    assert probe.sidecar_seen(result) is seen
    assert probe.passthrough(result) is passed_through


def test_echoed_headers_are_lower_cased_strings():
    assert probe.echoed_headers('{"headers": {"X-Count": 3, "Host": "a"}}') == {"x-count": "3", "host": "a"}
    assert probe.echoed_headers("[]") == {} and probe.echoed_headers("not json") == {}


@pytest.mark.parametrize("outcome, passed, said", [
    # curl's telnet:// holds a connection that the far end keeps open until --max-time (exit 28):
    # that is the TCP check passing, and its note, not a timeout, is what the row says
    (probe.Outcome(ran=True, exit=28, remote="203.0.113.80:80"), True, "Istio cannot tell the protocol of port 80"),
    (probe.Outcome(ran=True, exit=0, remote="203.0.113.80:80"), True, "Istio cannot tell the protocol of port 80"),
    # no connection within --timeout is the timeout it is
    (probe.Outcome(ran=True, exit=28), False, "no answer within --timeout=10s"),
    (probe.Outcome(ran=True, exit=7, remote="203.0.113.80:80",
                   error="curl: (7) Failed to connect to 203.0.113.80 port 80: Connection refused"),
     False, "connection refused (203.0.113.80:80)"),
])
def test_a_tcp_check_held_open_is_not_a_timeout(outcome, passed, said):
    target = Target("legacy", "team-b", host="httpbin.org", port=80, protocol="")
    check = probe.check_for(0, target, "", "/headers")
    assert check.url == "telnet://legacy.team-b.svc.cluster.local:80"
    assert probe.ok(outcome, check) is passed
    assert str(probe.diagnose(check, outcome, target, PLAIN, 10)).startswith(said)


CLOSED = probe.Outcome(ran=True, exit=0, remote="203.0.113.80:5432")
RESET = probe.Outcome(ran=True, exit=56, remote="203.0.113.80:5432",
                      error="curl: (56) Recv failure: Connection reset by peer")
BANNER = probe.Outcome(ran=True, exit=0, remote="203.0.113.80:5432", body="220 db ready\n")
HELD = probe.Outcome(ran=True, exit=28, remote="203.0.113.80:5432")


@pytest.mark.parametrize("outcome, mode, source, passed, said, fix", [
    # Envoy's TCP proxy accepts every connection the app makes, and closes (or resets) it when the
    # upstream connection fails: from a sidecar, an empty connection that ends at once is a failure
    (CLOSED, "DISABLE", MESH, False, "the sidecar accepted the connection and closed it empty (curl exit 0): it "
     "could not connect to db.example:5432", ""),
    (RESET, "ISTIO_MUTUAL", MESH, False, "the sidecar accepted the connection and closed it empty (curl exit 56): "
     "it wraps the traffic in Istio mutual TLS (DestinationRule mode ISTIO_MUTUAL for db.default.svc.cluster.local)",
     "kubectl egress externalname db db.example --port 5432 --protocol tcp --tls-mode DISABLE"),
    (BANNER, "DISABLE", MESH, True, "", ""),  # the server spoke first: it was reached
    (HELD, "DISABLE", MESH, True, "", ""),  # held open until --timeout: connected upstream and waiting
    # without a sidecar the connection is the server's own: accepted, then closed, it was reached
    (CLOSED, "DISABLE", PLAIN, True, "", ""),
])
def test_a_tcp_check_through_the_sidecar_needs_more_than_the_sidecar_accepting(outcome, mode, source, passed,
                                                                                 said, fix):
    target = Target("db", "default", host="db.example", port=5432, protocol="tcp", tls_mode=mode)
    check = probe.check_for(0, target, "", "/headers")
    assert probe.ok(outcome, check, source.sidecar) is passed
    hint = probe.diagnose(check, outcome, target, source, 10)
    if said:
        assert hint.message.startswith(said) and hint.fix == fix
    else:  # (a pure outcome carries no sidecar counters, which a later hint would ask for)
        assert "closed it empty" not in hint.message and "curl failed" not in hint.message


AMBIENT = probe.Source("default", "curl-3", "curl", sidecar=False, mesh=True, dataplane="ambient")


def test_ztunnel_also_accepts_first_and_closes_empty():
    # ztunnel takes an ambient pod's connections in the pod's network namespace, then connects out
    target = Target("db", "default", host="db.example", port=5432, protocol="tcp", tls_mode=None)
    check = probe.check_for(0, target, "", "/headers")
    assert not probe.ok(CLOSED, check, AMBIENT.sidecar, AMBIENT.ambient)
    assert probe.ok(HELD, check, AMBIENT.sidecar, AMBIENT.ambient)
    hint = probe.diagnose(check, CLOSED, target, AMBIENT, 10)
    assert hint.message.startswith("ztunnel accepted the connection and closed it empty (curl exit 0): it could not "
                                   "connect to db.example:5432") and hint.fix == ""


def test_the_verdicts_edges():
    """The boundaries of what passes: 2xx and 3xx with curl's exit 0; a redirect is a 3xx to an https://
    Location; a TCP check refused is a failure whatever curl's case; origination needs a 2xx or 3xx."""
    check = probe.check_for(0, HTTPBIN, "", "/headers")
    site = probe.Check("0", "s", "default", "http://s.default.svc.cluster.local/", originates="site.example:443")
    tcp = probe.Check("0", "db", "default", "telnet://db.default.svc.cluster.local:5432")
    envoy = {"server": "envoy"}
    assert [probe.ok(outcome(exit=0, code=c), check) for c in (199, 200, 399, 400)] == [False, True, True, False]
    assert [probe.redirect_to_https(outcome(code=c, headers={"location": "HTTPS://x/"})) for c in (299, 300, 399, 400)] \
        == ["", "HTTPS://x/", "HTTPS://x/", ""]
    assert probe.redirect_to_https(outcome(code=301, headers={"location": "http://x/"})) == ""
    assert probe.redirect_to_https(outcome(code=301)) == ""
    assert [probe.originated(outcome(exit=0, code=c, headers=envoy), site) for c in (200, 399, 400)] == [
        True, True, False]
    refused = outcome(exit=7, remote="10.96.0.9:5432", error="curl: (7) Failed to connect: Connection REFUSED")
    assert not probe.ok(refused, tcp) and not probe.ok(outcome(exit=0, remote="10.96.0.9:5432", error="refused"), tcp)
    assert probe.ok(outcome(exit=0, remote="10.96.0.9:5432"), tcp)


def test_a_closed_tcp_connection_under_the_users_own_mutual_tls_is_not_called_istios():
    # mode MUTUAL is the user's client certificate, not Istio's mutual TLS: no DISABLE fix is offered
    target = Target("db", "default", host="db.example", port=5432, protocol="tcp", tls_mode="MUTUAL")
    check = probe.check_for(0, target, "", "/headers")
    hint = probe.diagnose(check, RESET, target, MESH, 10)
    assert hint.message.startswith("the sidecar accepted the connection and closed it empty (curl exit 56): it "
                                   "could not connect to db.example:5432") and hint.fix == ""
