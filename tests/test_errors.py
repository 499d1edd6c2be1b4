"""Bad input and failures: one line on stderr, exit 2 for bad arguments and 1 for the rest,
nothing created or changed, and a failure after a partial change undoes it."""
import pytest
import yaml

from tests.test_commands import DR, SVC, get_json


def one_line(res):
    assert res.out == ""
    assert res.err.count("\n") == 1 and res.err.endswith("\n"), res.err
    return res.err.rstrip("\n")


BAD_INPUT = [
    (["externalname", "Bad_Name", "httpbin.org"], 'NAME "Bad_Name" is not a valid Service name'),
    (["externalname", "x", "https://httpbin.org/get"], 'is a URL; give the host name alone, e.g. "kubectl egress '
                                                      'externalname x httpbin.org --port 443 --protocol https"'),
    (["externalname", "x", "203.0.113.9"], 'use "kubectl egress endpoints x 203.0.113.9 --port PORT"'),
    (["externalname", "x", "httpbin.org:8080"], 'use HOST "httpbin.org" with --port 8080'),
    (["externalname", "x", "bad_host.org"], "is not a valid DNS name"),
    (["externalname", "x", "httpbin.org", "--port", "0"], "--port 0 is out of range: give 1 to 65535"),
    (["externalname", "x", "httpbin.org", "--port", "70000"], "--port 70000 is out of range"),
    (["externalname", "x", "httpbin.org", "--port", "http"], '--port "http" is not a port number'),
    (["externalname", "x", "httpbin.org", "--protocol", "ftp"], '--protocol "ftp" is not one of'),
    (["externalname", "x", "httpbin.org", "--tls-mode", "OFF"], '--tls-mode "OFF" is not one of'),
    (["externalname", "x", "httpbin.org", "--tls-mode", "MUTUAL"], "needs client certificates"),
    (["externalname", "x"], "Missing argument 'HOST'"),
    (["externalname", "x", "httpbin.org", "--bogus"], "No such option '--bogus'"),
    (["externalname", "x", "httpbin.org", "--dry-run=maybe"], "Invalid value for '--dry-run'"),
    (["externalname", "x", "httpbin.org", "-o", "table"], "Invalid value for '-o' / '--output'"),
    (["endpoints", "x", "127.0.0.1", "--port", "443"], "loopback"),
    (["endpoints", "x", "169.254.169.254", "--port", "443"], "link-local"),
    (["endpoints", "x", "224.0.0.1", "--port", "443"], "multicast"),
    (["endpoints", "x", "0.0.0.0", "--port", "443"], "unspecified"),
    (["endpoints", "x", "198.35.26.300", "--port", "443"], "not a valid IP address"),
    (["endpoints", "x", "en.wikipedia.org", "--port", "443"], 'use "kubectl egress externalname x en.wikipedia.org"'),
    (["endpoints", "x", "198.35.26.96"], "--port is required"),
    (["endpoints", "x", "--port", "443"], "Missing argument 'IP [IP...]'"),
    (["endpoints", "x", "198.35.26.96", "--port", "443", "--api", "slices"], '--api "slices" is not one of'),
    (["endpoints", "x", "198.35.26.96", "--port", "443", "--host", "https://en.wikipedia.org"], '--host "https://'),
    (["externalname", "x", "httpbin.org "], 'HOST "httpbin.org " has spaces around it; give it without them'),
    (["endpoints", "x", "198.35.26.96", "--port", "443", "--host", " en.wikipedia.org"], "has spaces around it"),
    (["get", "Bad_Name"], 'NAME "Bad_Name" is not a valid Service name'),
    (["get", "-l", "a b"], '-l "a b" is not a label selector'),
    (["probe", "--host", "x"], '--host "x" must be NAME=HOST'),
    (["clean", "Bad_Name"], 'NAME "Bad_Name" is not a valid Service name'),
    (["externalname", "x", "httpbin.org", "-n", "Bad_NS"], 'namespace "Bad_NS" is not a valid namespace name'),
    (["externalname", "x", "httpbin.org", "--request-timeout", "soon"], 'invalid argument "soon" for "--request-timeout"'),
    (["-v", "lots", "get"], '"lots" is not a log level'),
    (["nosuchcommand"], "No such command 'nosuchcommand'"),
]


@pytest.mark.parametrize("args, fragment", BAD_INPUT, ids=[" ".join(a) for a, _ in BAD_INPUT])
def test_bad_input_exits_2_with_one_line_and_sends_nothing(apiserver, egress, args, fragment):
    apiserver.clear_requests()
    res = egress(*args)
    line = one_line(res)
    assert res.code == 2, line
    assert line.startswith("error: ")
    assert fragment in line
    assert apiserver.requests() == []


def test_missing_namespace_is_a_fact_about_the_cluster_and_writes_nothing(apiserver, egress, kubectl):
    apiserver.clear_requests()
    res = egress("externalname", "x", "httpbin.org", "-n", "no-such-ns")
    assert one_line(res) == ('error: namespace "no-such-ns" not found: create it with "kubectl create '
                             'namespace no-such-ns", or pick another with -n')
    assert apiserver.writes() == []
    # exit 1, as kubectl create's: Error from server (NotFound): namespaces "no-such-ns" not found
    assert kubectl("create", "service", "externalname", "x", "--external-name", "httpbin.org",
                   "-n", "no-such-ns").code == res.code == 1


def test_unknown_context_is_bad_input(apiserver, egress):
    res = egress("get", "--context", "nope")
    assert (res.code, one_line(res)) == (2, "error: context was not found for specified context: nope")


def test_unreachable_server(apiserver, egress, tmp_path):
    config = yaml.safe_load(apiserver.kubeconfig_path.read_text())
    config["clusters"][0]["cluster"]["server"] = "https://127.0.0.1:9"
    path = tmp_path / "down"
    path.write_text(yaml.safe_dump(config))
    res = egress("get", "--kubeconfig", str(path))
    assert (res.code, one_line(res)) == (
        1, "The connection to the server 127.0.0.1:9 was refused - did you specify the right host or port?")


def test_untrusted_certificate(apiserver, egress, tmp_path):
    config = yaml.safe_load(apiserver.kubeconfig_path.read_text())
    del config["clusters"][0]["cluster"]["certificate-authority-data"]
    path = tmp_path / "untrusted"
    path.write_text(yaml.safe_dump(config))
    res = egress("get", "--kubeconfig", str(path))
    assert res.code == 1
    assert one_line(res).startswith("Unable to connect to the server: tls: failed to verify certificate: x509:")


def test_unauthorized(apiserver, egress, tmp_path):
    config = yaml.safe_load(apiserver.kubeconfig_path.read_text())
    config["users"][0]["user"]["token"] = "wrong"
    path = tmp_path / "wrong-token"
    path.write_text(yaml.safe_dump(config))
    res = egress("externalname", "x", "httpbin.org", "--kubeconfig", str(path))
    assert (res.code, one_line(res)) == (1, "error: You must be logged in to the server (Unauthorized)")


def test_forbidden_carries_the_rbac_reason_and_changes_nothing(apiserver, egress):
    res = egress("externalname", "x", "httpbin.org", "--context", "local-readonly")
    assert (res.code, one_line(res)) == (
        1, 'Error from server (Forbidden): services is forbidden: User "reader" cannot create resource '
           '"services" in API group "" in the namespace "default"')
    assert get_json(apiserver, SVC + "x") is None


def test_readonly_user_can_still_get(apiserver, egress):
    egress("externalname", "x", "httpbin.org")
    assert egress("get", "--context", "local-readonly").code == 0
    res = egress("clean", "--context", "local-readonly")
    assert res.code == 1
    assert 'User "reader" cannot delete resource "destinationrules"' in res.err


def test_already_exists_race(apiserver, egress):
    apiserver.fault(method="POST", path="/services$", status=409, reason="AlreadyExists",
                    message='services "x" already exists', details={"name": "x", "kind": "services"}, times=1)
    res = egress("externalname", "x", "httpbin.org")
    assert (res.code, one_line(res)) == (1, 'Error from server (AlreadyExists): services "x" already exists')


def test_stale_update_conflict_is_undone(apiserver, egress):
    egress("externalname", "x", "httpbin.org")
    apiserver.fault(method="PUT", path="/destinationrules/x$", status=409, reason="Conflict",
                    message='Operation cannot be fulfilled on destinationrules.networking.istio.io "x": the '
                            "object has been modified; please apply your changes to the latest version and "
                            "try again", times=1)
    res = egress("externalname", "x", "httpbin.org", "--port", "8080", "--tls-mode", "SIMPLE")
    assert res.code == 1
    assert one_line(res).startswith('Error from server (Conflict): Operation cannot be fulfilled on '
                                     'destinationrules.networking.istio.io "x"')
    # the Service had been configured (port 8080) before the rule failed: it is back on 80
    assert get_json(apiserver, SVC + "x")["spec"]["ports"][0]["port"] == 80


def test_invalid_from_the_server_names_the_causes(apiserver, egress):
    egress("endpoints", "x", "192.0.2.1", "--port", "443")
    res = egress("endpoints", "x", "2001:db8::1", "--port", "443")
    assert res.code == 1
    assert one_line(res) == ('The Service "x" is invalid: spec.ipFamilies[0]: Invalid value: '
                             '[]core.IPFamily{"IPv6"}: may not change once set')


def test_invalid_with_several_causes_stays_one_line(apiserver, egress):
    causes = [{"reason": "FieldValueInvalid", "message": "Invalid value: 1: bad", "field": "spec.a"},
              {"reason": "FieldValueRequired", "message": "Required value", "field": "spec.b"}]
    apiserver.fault(method="POST", path="/services$", status=422, reason="Invalid",
                    message="Service \"x\" is invalid: [...]",
                    details={"name": "x", "kind": "Service", "causes": causes}, times=1)
    res = egress("externalname", "x", "httpbin.org")
    assert one_line(res) == 'The Service "x" is invalid: spec.a: Invalid value: 1: bad; spec.b: Required value'


def test_timeout(apiserver, egress):
    apiserver.fault(method="GET", path="/namespaces/default$", delay=3, times=1)
    res = egress("externalname", "x", "httpbin.org", "--request-timeout=1s")
    assert (res.code, one_line(res)) == (
        1, "Unable to connect to the server: no answer within --request-timeout=1s; retry, or raise "
           "--request-timeout")


def test_server_error_without_status(apiserver, egress):
    apiserver.fault(method="GET", path="/namespaces/default$", status=502, body="bad gateway", times=1)
    res = egress("externalname", "x", "httpbin.org")
    assert res.code == 1
    assert one_line(res).startswith('Error from server (InternalError): an error on the server ("bad gateway") '
                                    "has prevented the request from succeeding")


def test_rule_failure_removes_the_service_made_a_moment_before(apiserver, egress):
    apiserver.fault(method="POST", path="/destinationrules$", status=500, reason="InternalError",
                    message="Internal error occurred: etcd is down", times=1)
    res = egress("externalname", "x", "httpbin.org")
    assert (res.code, one_line(res)) == (1, "Error from server (InternalError): Internal error occurred: etcd is down")
    assert get_json(apiserver, SVC + "x") is None
    assert get_json(apiserver, DR + "x") is None
    posts = [r for r in apiserver.writes() if r["method"] == "POST"]
    deletes = [r for r in apiserver.writes() if r["method"] == "DELETE"]
    assert len(posts) == 2 and len(deletes) == 1


def test_no_traceback_unless_asked(apiserver, egress):
    apiserver.fault(method="GET", path="/namespaces/default$", status=500, reason="InternalError",
                    message="boom", times=2)
    quiet = egress("externalname", "x", "httpbin.org")
    assert "Traceback" not in quiet.err
    loud = egress("externalname", "x", "httpbin.org", "-v=1")
    assert "Traceback (most recent call last)" in loud.err
    assert loud.err.rstrip().endswith("Error from server (InternalError): boom")
