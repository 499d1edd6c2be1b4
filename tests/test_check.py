"""kubectl egress check: each problem in a cluster seeded with it, and nothing in one the plugin made;
its output piped, as JSON and YAML, and on terminals of 80 and 140 columns."""
import os

import pytest

from tests.test_commands import kubectl_apply


def service(name, spec):
    import json
    return json.dumps({"apiVersion": "v1", "kind": "Service", "metadata": {"name": name}, "spec": spec})


def findings(egress, *args):
    res = egress("check", "-o", "json", *args)
    return res.code, [(f["code"], f["object"]) for f in res.json()["items"]], res.json()["items"]


@pytest.mark.parametrize("manifest, code, severity", [
    (service("ext-tcp", {"type": "ExternalName", "externalName": "example.com",
                         "ports": [{"name": "tcp", "port": 443}]}), "IST0150", "Warning"),
    (service("ext-odd", {"type": "ExternalName", "externalName": "example.com",
                         "ports": [{"name": "web", "port": 80}]}), "IST0150", "Warning"),
    (service("plain-odd", {"ports": [{"name": "web", "port": 443}]}), "IST0118", "Info"),
])
def test_port_names_istio_cannot_read(apiserver, egress, kubectl, manifest, code, severity):
    kubectl_apply(kubectl, manifest)
    status, found, items = findings(egress)
    name = manifest.split('"name": "')[1].split('"')[0]
    # made by hand, without a DestinationRule: the mesh-wide ISTIO_MUTUAL rule applies too
    assert found == [("EG0005", f"Service default/{name}"), (code, f"Service default/{name}")]
    item = items[1]
    assert item["severity"] == severity
    assert item["fix"].startswith("kubectl egress ") and item["fix"].endswith("--force")


def test_port_names_do_not_matter_without_istio(bare_apiserver, egress, kubectl):
    kubectl_apply(kubectl, service("plain-odd", {"ports": [{"name": "web", "port": 443}]}))
    assert findings(egress)[:2] == (0, [])


def test_external_name_that_is_an_ip(bare_apiserver, egress, kubectl):
    kubectl_apply(kubectl, service("ext-ip", {"type": "ExternalName", "externalName": "203.0.113.10",
                                              "ports": [{"name": "http", "port": 80}]}))
    status, found, items = findings(egress)
    assert (status, found) == (1, [("EG0003", "Service default/ext-ip")])
    assert items[0]["fix"] == "kubectl egress endpoints ext-ip 203.0.113.10 --port 80 --protocol http --force"


def test_kubectl_create_port_names(apiserver, egress, kubectl):
    assert kubectl("create", "service", "externalname", "made-by-kubectl", "--external-name", "example.com",
                   "--tcp=80:80").code == 0
    status, found, items = findings(egress)
    # istioctl analyze reports IST0150 for the 80-80 port; EG0006 adds why, and never replaces it
    assert found == [("EG0005", "Service default/made-by-kubectl"), ("IST0150", "Service default/made-by-kubectl"),
                     ("EG0006", "Service default/made-by-kubectl")]
    assert items[2]["message"].startswith("Port name 80-80 is what `kubectl create service` gives")
    assert items[2]["fix"] == "kubectl egress externalname made-by-kubectl example.com --force"


def test_endpoint_port_names_must_match(bare_apiserver, egress, kubectl):
    kubectl_apply(kubectl, service("wiki", {"ports": [{"name": "tls", "port": 443}]}))
    kubectl_apply(kubectl, """
apiVersion: v1
kind: Endpoints
metadata: {name: wiki}
subsets: [{addresses: [{ip: 198.35.26.96}], ports: [{name: https, port: 443}]}]
""")
    status, found, items = findings(egress)
    assert found == [("EG0001", "Service default/wiki")]
    assert "Endpoints port https not among the Service's port names (tls)" in items[0]["message"]
    assert items[0]["fix"] == "kubectl egress endpoints wiki 198.35.26.96 --port 443 --force"


def test_endpoints_next_to_a_hand_made_slice(apiserver, egress, kubectl):
    egress("endpoints", "wiki", "198.35.26.96", "--port", "443")
    kubectl_apply(kubectl, """
apiVersion: v1
kind: Endpoints
metadata: {name: wiki}
subsets: [{addresses: [{ip: 198.35.26.96}], ports: [{name: tls, port: 443}]}]
""")
    status, found, items = findings(egress)
    assert found == [("EG0002", "Service default/wiki")]
    assert "endpointslice.kubernetes.io/skip-mirror=true" in items[0]["message"]
    kubectl("label", "endpoints", "wiki", "endpointslice.kubernetes.io/skip-mirror=true")
    assert findings(egress)[1] == []


def test_rule_on_an_alias_host_in_istio_124(apiserver_124, egress):
    egress("externalname", "my-httpbin", "httpbin.org", "--istio-mode", "legacy")
    status, found, items = findings(egress)
    assert found == [("EG0004", "DestinationRule default/my-httpbin")]
    assert "Istio 1.24.3 treats as a DNS alias: the rule applies to nothing" in items[0]["message"]
    assert items[0]["fix"] == "kubectl egress externalname my-httpbin httpbin.org"
    egress(*items[0]["fix"].split()[2:])  # the fix, as the finding says
    assert findings(egress)[1] == []


def test_mesh_wide_mtls_towards_an_external_host(apiserver, egress):
    egress("externalname", "my-httpbin", "httpbin.org", "--tls-mode", "none")
    status, found, items = findings(egress)
    assert (status, found) == (1, [("EG0005", "Service default/my-httpbin")])
    assert items[0]["severity"] == "Error"
    assert "istio-system/default (host *.local), mode ISTIO_MUTUAL" in items[0]["message"]
    assert items[0]["fix"] == "kubectl egress externalname my-httpbin httpbin.org --tls-mode DISABLE"
    egress(*items[0]["fix"].split()[2:])
    assert findings(egress)[:2] == (0, [])


@pytest.mark.parametrize("fixture", ["apiserver", "apiserver_124", "bare_apiserver"])
def test_nothing_to_report_where_the_plugin_made_everything(fixture, request, egress):
    request.getfixturevalue(fixture)
    egress("externalname", "my-httpbin", "httpbin.org")
    egress("externalname", "wiki-alias", "en.wikipedia.org", "--port", "443", "--protocol", "tls")
    egress("endpoints", "my-wikipedia", "198.35.26.96", "208.80.153.224", "--port", "443", "--host",
           "en.wikipedia.org")
    egress("endpoints", "legacy-api", "203.0.113.7", "--port", "8443", "--protocol", "https", "--api", "endpoints")
    res = egress("check")
    assert (res.code, res.out) == (0, "")
    assert res.err == "\u2714 No validation issues found when analyzing namespace: default.\n"


def test_a_line_per_finding_and_fail_on(apiserver, egress, kubectl):
    egress("externalname", "ext-tcp", "example.com", "--port", "443", "--protocol", "tcp")
    egress("endpoints", "plain-odd", "203.0.113.7", "--port", "443")
    kubectl("patch", "svc", "plain-odd", "--type=json", "-p",
            '[{"op": "replace", "path": "/spec/ports/0/name", "value": "web"}]')
    res = egress("check")
    assert res.code == 1
    items = egress("check", "-o", "json").json()["items"]
    # istioctl analyze's line, then the fix on its own line (Info findings here have one too)
    assert res.lines == [line for f in items for line in (
        f"{f['severity']} [{f['code']}] ({f['object']}) {f['message']}", f"  fix: {f['fix']}")]
    assert [line.split()[:3] for line in res.lines[::2]] == [
        ["Warning", "[IST0150]", "(Service"], ["Warning", "[EG0001]", "(Service"], ["Info", "[IST0118]", "(Service"]]
    assert egress("check", "--fail-on", "error").code == 0
    assert egress("check", "ext-tcp").code == 1
    assert egress("check", "ext-tcp", "--fail-on", "error").code == 0


def test_bad_check_flags(apiserver, egress):
    apiserver.clear_requests()
    assert egress("check", "--fail-on", "fatal").code == 2
    assert egress("check", "Bad_Name").code == 2
    assert apiserver.requests() == []
    assert egress("check", "nope").err == 'Error from server (NotFound): services "nope" not found\n'


# `kubectl egress check -o json|yaml` as the table version printed them (transcribed from its output):
# the new default format must leave them byte for byte as they were
JSON = (
    '{\n    "apiVersion": "v1",\n    "items": [\n        {\n            "code": "EG0005",\n'
    '            "fix": "kubectl egress externalname my-httpbin httpbin.org --tls-mode DISABLE",\n'
    '            "message": "the DestinationRule that applies to my-httpbin.default.svc.cluster.local is '
    'istio-system/default (host *.local), mode ISTIO_MUTUAL: callers with a sidecar send Istio mutual TLS to an '
    'external host that cannot speak it (HTTP 503 `upstream connect error ... connection termination`, or reset TLS '
    'handshakes)",\n            "object": "Service default/my-httpbin",\n            "severity": "Error"\n'
    '        }\n    ],\n    "kind": "List"\n}\n')
YAML = (
    "apiVersion: v1\nitems:\n- code: EG0005\n  fix: kubectl egress externalname my-httpbin httpbin.org --tls-mode "
    "DISABLE\n  message: 'the DestinationRule that applies to my-httpbin.default.svc.cluster.local\n    is "
    "istio-system/default (host *.local), mode ISTIO_MUTUAL: callers with a sidecar\n    send Istio mutual TLS to an "
    "external host that cannot speak it (HTTP 503 `upstream\n    connect error ... connection termination`, or reset "
    "TLS handshakes)'\n  object: Service default/my-httpbin\n  severity: Error\nkind: List\n")
PIPED = (
    "Error [EG0005] (Service default/my-httpbin) the DestinationRule that applies to "
    "my-httpbin.default.svc.cluster.local is istio-system/default (host *.local), mode ISTIO_MUTUAL: callers with a "
    "sidecar send Istio mutual TLS to an external host that cannot speak it (HTTP 503 `upstream connect error ... "
    "connection termination`, or reset TLS handshakes)\n"
    "  fix: kubectl egress externalname my-httpbin httpbin.org --tls-mode DISABLE\n")


def test_piped_output_is_never_wrapped_and_json_is_unchanged(apiserver, egress, kubectl):
    """`kubectl egress check | cat`: one line per finding and its fix, however narrow COLUMNS says the
    terminal is; -o json and -o yaml byte for byte as before."""
    egress("externalname", "my-httpbin", "httpbin.org", "--tls-mode", "none")
    narrow = {"COLUMNS": "40", "TERM": "xterm"}
    for res, out in [(kubectl("egress", "check", env=narrow), PIPED),
                     (kubectl("egress", "check", "-o", "json", env=narrow), JSON),
                     (kubectl("egress", "check", "-o", "yaml", env=narrow), YAML)]:
        assert (res.code, res.out, res.err) == (1, out, "")


@pytest.mark.parametrize("columns", [80, 140])
def test_in_a_terminal_prose_wraps_and_every_fix_stays_one_line(apiserver, egress, kubectl, columns):
    """Through real kubectl on a pseudo-terminal, as in tmux: findings wrap at the window's width with a
    hanging indent, the severities are painted, and each fix is one whole line to copy."""
    from tests.conftest import plugin_path
    from tests.tty import run_on_terminal, visible

    assert kubectl("create", "service", "externalname", "legacy-api", "--external-name", "api.example.com",
                   "--tcp=80:80").code == 0
    egress("endpoints", "my-wikipedia", "198.35.26.96", "208.80.153.224", "--port", "443", "--host",
           "en.wikipedia.org", "--tls-mode", "none")
    items = egress("check", "-o", "json").json()["items"]
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "NO_COLOR")}
    env.update(PATH=plugin_path(), TERM="xterm-256color")
    res = run_on_terminal(["kubectl", "egress", "check"], columns, env)
    assert res.code == 1, res.err
    shown = visible(res.out).splitlines()
    fixes = [line for line in shown if line.startswith("  fix: ")]
    assert fixes == [f"  fix: {f['fix']}" for f in items]
    assert all(len(line) <= columns for line in shown if line not in fixes)
    assert max(len(line) for line in fixes) > 80  # the wikipedia fix is longer than 80 columns, and whole
    prose = [line for line in shown if line not in fixes]
    assert " ".join(line.strip() for line in prose) == " ".join(
        f"{f['severity']} [{f['code']}] ({f['object']}) {f['message']}" for f in items)
    assert "\x1b[1;31mError\x1b[0m [EG0005]" in res.out and "\x1b[33mWarning\x1b[0m [EG0006]" in res.out
    plain = run_on_terminal(["kubectl", "egress", "check"], columns, {**env, "NO_COLOR": "1"})
    assert plain.out == visible(res.out)  # NO_COLOR: the same text, unpainted
    if columns == 140:  # COLUMNS, when exported, wins over the window's size
        assert run_on_terminal(["kubectl", "egress", "check"], columns, {**env, "COLUMNS": "80"}).out == \
            run_on_terminal(["kubectl", "egress", "check"], 80, env).out


RULE_ELSEWHERE = """
apiVersion: v1
kind: Namespace
metadata: {name: egress}
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: httpbin, namespace: egress}
spec: {hosts: [httpbin.org], ports: [{number: 443, name: https, protocol: HTTPS}], resolution: DNS}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: httpbin, namespace: egress}
spec: {host: httpbin.org, trafficPolicy: {tls: {mode: ISTIO_MUTUAL}}%s}
---
apiVersion: v1
kind: Service
metadata: {name: ext, namespace: default}
spec: {type: ExternalName, externalName: httpbin.org, ports: [{name: https, port: 443}]}
"""


@pytest.mark.parametrize("export, applies", [("", True), (", exportTo: [default]", True), (', exportTo: ["."]', False)])
def test_the_rule_of_the_entrys_namespace_applies_when_exported(apiserver_124, egress, kubectl, export, applies):
    """In alias mode the host is the ServiceEntry's, of another namespace: its DestinationRule applies to a
    caller in default when exported there (istio push_context.go destinationRule, the service's namespace)."""
    kubectl_apply(kubectl, RULE_ELSEWHERE % export)
    want = [("EG0005", "Service default/ext")] if applies else []
    for scope in ((), ("-A",)):  # the namespace alone reads the entry's namespace's rules too
        status, found, items = findings(egress, *scope)
        assert [f for f in found if f[0] == "EG0005"] == want
        if applies:
            assert "is egress/httpbin (host httpbin.org)" in items[0]["message"]
    # get reads the same rule: its TLS mode, and the rule in -o wide
    res = egress("get", "ext", "-o", "wide")
    assert res.code == 0, res.err
    assert ("ISTIO_MUTUAL" in res.out, "egress/httpbin" in res.out) == (applies, applies)


def test_other_namespaces_are_read_only_for_a_host_the_namespace_does_not_declare(apiserver_124, egress, kubectl):
    """get -n reads every namespace's ServiceEntries, and the rules of the one that declares the host, only
    for an alias host no ServiceEntry of its own namespace declares; with -A everything is read already."""
    kubectl_apply(kubectl, RULE_ELSEWHERE % "" + """
---
apiVersion: v1
kind: Service
metadata: {name: nowhere, namespace: egress}
spec: {type: ExternalName, externalName: nowhere.example.com, ports: [{name: http, port: 80}]}
""")

    def reads(*args):
        res = egress("get", *args, "-v", "6")
        assert res.code == 0, res.err
        return sorted(line.split()[1].split("/", 3)[3].split("?")[0] for line in res.err.splitlines()
                      if line.startswith("GET ") and "networking.istio.io" in line)

    v1 = "apis/networking.istio.io/v1"
    assert reads("-n", "default") == [f"{v1}/namespaces/default/destinationrules",
                                      f"{v1}/namespaces/default/serviceentries",
                                      f"{v1}/namespaces/egress/destinationrules",
                                      f"{v1}/namespaces/istio-system/destinationrules",
                                      f"{v1}/serviceentries"]
    assert reads("-A") == [f"{v1}/destinationrules", f"{v1}/serviceentries"]
    kubectl_apply(kubectl, """
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: httpbin, namespace: default}
spec: {hosts: [httpbin.org], ports: [{number: 443, name: https, protocol: HTTPS}], resolution: DNS}
""")
    assert reads("-n", "default") == [f"{v1}/namespaces/default/destinationrules",
                                      f"{v1}/namespaces/default/serviceentries",
                                      f"{v1}/namespaces/istio-system/destinationrules"]
