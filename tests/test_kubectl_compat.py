"""Real kubectl against the local API server: what the project's users and tests rely on."""
import json

from tests.seed import TASK

# the task's Service, DestinationRule (in the version Istio 1.20 serves), Service and Endpoints
SEED = "---".join(TASK[:4]).replace("networking.istio.io/v1\n", "networking.istio.io/v1beta1\n")


def test_apply_create_delete_the_seed(apiserver, kubectl):
    first = kubectl("apply", "-f", "-", input=SEED)
    assert first.out.splitlines() == ["service/my-httpbin created",
                                      "destinationrule.networking.istio.io/my-httpbin created",
                                      "service/my-wikipedia created", "endpoints/my-wikipedia created"]
    again = kubectl("apply", "-f", "-", input=SEED)
    assert again.out.splitlines()[:3] == ["service/my-httpbin unchanged",
                                          "destinationrule.networking.istio.io/my-httpbin unchanged",
                                          "service/my-wikipedia unchanged"]
    dup = kubectl("create", "-f", "-", input=SEED)
    assert dup.code == 1
    assert 'Error from server (AlreadyExists): error when creating "STDIN": services "my-httpbin" already exists' in dup.err
    gone = kubectl("delete", "-f", "-", input=SEED)
    assert gone.code == 0, gone.err
    assert gone.out.splitlines() == ['service "my-httpbin" deleted',
                                     'destinationrule.networking.istio.io "my-httpbin" deleted',
                                     'service "my-wikipedia" deleted', 'endpoints "my-wikipedia" deleted']


def test_short_names_selectors_and_tables(apiserver, kubectl):
    kubectl("apply", "-f", "-", input=SEED)
    kubectl("label", "svc", "my-httpbin", "team=web")
    assert kubectl("get", "svc", "-l", "team=web", "-o", "name").out == "service/my-httpbin\n"
    eps = kubectl("get", "ep", "my-wikipedia").out.splitlines()
    assert eps[1].split()[:2] == ["my-wikipedia", "198.35.26.96:443,208.80.153.224:443"]
    rules = kubectl("get", "dr").out.splitlines()
    assert rules[0].split() == ["NAME", "HOST", "AGE"]
    assert rules[1].split()[:2] == ["my-httpbin", "my-httpbin.default.svc.cluster.local"]
    wide = kubectl("get", "svc", "-o", "wide").out.splitlines()[0].split()
    assert wide[-1] == "SELECTOR"
    paged = kubectl("get", "svc", "--chunk-size=1", "-o", "name").out.splitlines()
    assert paged == ["service/kubernetes", "service/my-httpbin", "service/my-wikipedia"]
    everywhere = kubectl("get", "svc", "-A").out.splitlines()
    assert everywhere[0].split()[0] == "NAMESPACE"


def test_yaml_and_patch(apiserver, kubectl):
    kubectl("apply", "-f", "-", input=SEED)
    patched = kubectl("patch", "svc", "my-httpbin", "-p", '{"spec":{"externalName":"example.com"}}')
    assert patched.out == "service/my-httpbin patched\n"
    svc = json.loads(kubectl("get", "svc", "my-httpbin", "-o", "json").out)
    assert svc["spec"]["externalName"] == "example.com"
    merged = kubectl("patch", "dr", "my-httpbin", "--type=merge", "-p",
                     '{"spec":{"trafficPolicy":{"tls":{"mode":"SIMPLE"}}}}')
    assert merged.code == 0, merged.err
    assert "mode: SIMPLE" in kubectl("get", "dr", "my-httpbin", "-o", "yaml").out


def test_api_resources_and_version(apiserver, kubectl):
    resources = kubectl("api-resources", "--api-group=networking.istio.io").out
    assert "destinationrules" in resources and "serviceentries" in resources and " dr " in resources
    assert "Server Version: v1.33.1" in kubectl("version").out


def test_readonly_context(apiserver, kubectl):
    res = kubectl("--context", "local-readonly", "apply", "-f", "-", input=SEED)
    assert res.code == 1
    assert 'User "reader" cannot create resource "services"' in res.err
    assert kubectl("--context", "local-readonly", "get", "svc").code == 0


def test_invalid_object_through_kubectl(apiserver, kubectl):
    bad = SEED.replace("name: my-httpbin\nspec:", "name: My_Httpbin\nspec:", 1)
    res = kubectl("apply", "-f", "-", input=bad)
    assert res.code == 1
    assert 'The Service "My_Httpbin" is invalid: metadata.name: Invalid value: "My_Httpbin"' in res.err


def test_imperative_create_sends_protobuf(apiserver, kubectl):
    assert kubectl("create", "namespace", "prod").out == "namespace/prod created\n"
    assert kubectl("create", "service", "clusterip", "web", "--tcp=80:8080", "-n", "prod").code == 0
    assert kubectl("create", "service", "externalname", "ext", "--external-name", "example.com").code == 0
    assert kubectl("create", "deployment", "app", "--image=nginx:1.27", "--replicas=2").code == 0
    svc = json.loads(kubectl("get", "svc", "web", "-n", "prod", "-o", "json").out)
    assert svc["spec"]["ports"] == [{"name": "80-8080", "port": 80, "protocol": "TCP", "targetPort": 8080}]
    ext = json.loads(kubectl("get", "svc", "ext", "-o", "json").out)
    assert ext["spec"]["externalName"] == "example.com"
    deploy = json.loads(kubectl("get", "deploy", "app", "-o", "json").out)
    assert deploy["spec"]["replicas"] == 2
