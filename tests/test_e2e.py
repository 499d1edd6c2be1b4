"""End to end: real `kubectl egress ...` (kubectl finds kubectl-egress on PATH) and real
`kubectl get` reading back the seed's objects from the local server, field by field."""
import json
import re

SEED_HTTPBIN_PORTS = [{"name": "http", "protocol": "TCP", "port": 80}]
SEED_RULE_SPEC = {"host": "my-httpbin.default.svc.cluster.local", "trafficPolicy": {"tls": {"mode": "DISABLE"}}}
SEED_WIKIPEDIA_SUBSETS = [{"addresses": [{"ip": "198.35.26.96"}, {"ip": "208.80.153.224"}],
                           "ports": [{"name": "tls", "port": 443}]}]


def subset(want, have):
    if isinstance(want, dict):
        return isinstance(have, dict) and all(k in have and subset(v, have[k]) for k, v in want.items())
    if isinstance(want, list):
        return isinstance(have, list) and len(want) == len(have) and all(map(subset, want, have))
    return want == have


def test_plugin_is_discovered(kubectl):
    res = kubectl("plugin", "list", "--name-only")
    assert "kubectl-egress" in res.out
    help_text = kubectl("egress", "--help").out
    assert help_text.startswith("Usage: kubectl egress [OPTIONS] COMMAND [ARGS]...")


def test_recipe_1_externalname(apiserver, kubectl):
    made = kubectl("egress", "externalname", "my-httpbin", "httpbin.org")
    assert (made.code, made.out) == (0, "service/my-httpbin created\n"
                                        "destinationrule.networking.istio.io/my-httpbin created\n")
    table = kubectl("get", "svc", "my-httpbin").out.splitlines()
    assert table[0].split() == ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"]
    assert re.fullmatch(r"my-httpbin   ExternalName   <none>       httpbin.org   80/TCP    \d+s", table[1])
    svc = json.loads(kubectl("get", "svc", "my-httpbin", "-o", "json").out)
    assert svc["spec"]["type"] == "ExternalName"
    assert svc["spec"]["externalName"] == "httpbin.org"
    assert subset(SEED_HTTPBIN_PORTS, svc["spec"]["ports"])
    rule = json.loads(kubectl("get", "dr", "my-httpbin", "-o", "json").out)
    assert rule["spec"] == SEED_RULE_SPEC
    assert rule["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "kubectl-egress"


def test_recipe_2_endpoints(apiserver, kubectl):
    made = kubectl("egress", "endpoints", "my-wikipedia", "198.35.26.96", "208.80.153.224", "--port", "443",
                   "--protocol", "tls", "--host", "en.wikipedia.org", "--api", "endpoints")
    assert made.code == 0, made.err
    assert "endpoints/my-wikipedia created" in made.out
    row = kubectl("get", "svc", "my-wikipedia").out.splitlines()[1].split()
    assert row[0:2] == ["my-wikipedia", "ClusterIP"] and re.fullmatch(r"10\.\d+\.\d+\.\d+", row[2])
    assert row[3:5] == ["<none>", "443/TCP"]
    ep = json.loads(kubectl("get", "ep", "my-wikipedia", "-o", "json").out)
    assert subset(SEED_WIKIPEDIA_SUBSETS, ep["subsets"])
    assert "v1 Endpoints is deprecated" in kubectl("get", "ep").err
    svc = json.loads(kubectl("get", "svc", "my-wikipedia", "-o", "json").out)
    assert subset([{"name": "tls", "protocol": "TCP", "port": 443}], svc["spec"]["ports"])
    rule = json.loads(kubectl("get", "destinationrule", "my-wikipedia", "-o", "json").out)
    assert rule["spec"]["host"] == "my-wikipedia.default.svc.cluster.local"


def test_get_and_clean_through_kubectl(apiserver, kubectl):
    kubectl("egress", "externalname", "my-httpbin", "httpbin.org")
    kubectl("egress", "endpoints", "my-wikipedia", "198.35.26.96", "208.80.153.224", "--port", "443")
    listing = kubectl("egress", "get").out.splitlines()
    assert [line.split()[0] for line in listing] == ["NAME", "my-httpbin", "my-wikipedia"]
    cleaned = kubectl("egress", "clean")
    assert cleaned.out.splitlines() == [
        'destinationrule.networking.istio.io "my-httpbin" deleted',
        'destinationrule.networking.istio.io "my-wikipedia" deleted',
        'endpointslice.discovery.k8s.io "my-wikipedia-ipv4" deleted',
        'service "my-httpbin" deleted', 'service "my-wikipedia" deleted']
    assert [line.split()[0] for line in kubectl("get", "svc").out.splitlines()] == ["NAME", "kubernetes"]
    assert kubectl("egress", "get").err == "No resources found in default namespace.\n"


def test_kubectl_reads_what_the_plugin_wrote_in_yaml(apiserver, kubectl):
    kubectl("egress", "externalname", "my-httpbin", "httpbin.org")
    by_label = kubectl("get", "svc,dr", "-l", "app.kubernetes.io/managed-by=kubectl-egress", "-o", "name")
    assert by_label.out.splitlines() == ["service/my-httpbin", "destinationrule.networking.istio.io/my-httpbin"]


def test_bad_input_through_kubectl(apiserver, kubectl):
    res = kubectl("egress", "externalname", "my-httpbin", "https://httpbin.org")
    assert res.code == 2
    assert res.err.startswith('error: HOST "https://httpbin.org" is a URL')
