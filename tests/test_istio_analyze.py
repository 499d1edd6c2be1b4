"""check agrees with `istioctl analyze` on Istio's own analyzer test data.

Transcribed from istio/istio at commit 86c9f01fd735 (the same rules since Istio 1.20):
- the Services of pkg/config/analysis/analyzers/testdata/*port-name*.yaml, below as INPUTS;
- what pkg/config/analysis/analyzers/analyzers_test.go expects service.PortNameAnalyzer to
  report for each file (msg.PortNameIsNotUnderNamingConvention is IST0118,
  msg.ExternalNameServiceTypeInvalidPortName IST0150, per pkg/config/analysis/msg/messages.yaml);
- the vectors of pkg/config/kube/conversion_test.go TestConvertProtocol and
  pkg/config/protocol/instance_test.go TestParse.
Three levels: Istio's rule on every Service of the data (pure); `kubectl egress check -A` on the
same objects in the local cluster (the egress services among them get exactly Istio's codes,
EG codes only beside them); and the kubectl create service case of the issue, end to end.
"""
from __future__ import annotations

import pytest
import yaml

from kubectl_egress.analysis import SYSTEM_NAMESPACES
from kubectl_egress.analysis.ports import istio_port_codes
from kubectl_egress.analysis.protocol import convert_protocol
from kubectl_egress.model import is_egress_service
from tests.test_commands import kubectl_apply

INPUTS = {
    # testdata/service-no-port-name.yaml
    "service-no-port-name.yaml": """
apiVersion: v1
kind: Service
metadata:
  name: my-service1
  namespace: my-namespace1
spec:
  selector:
    app: my-service1
  ports:
    - protocol: TCP
      port: 8080
      targetPort: 8080
    - protocol: TCP
      port: 8081
      targetPort: 8081
---
apiVersion: v1
kind: Service
metadata:
  name: my-service2
  namespace: my-namespace2
spec:
  selector:
    app: my-service2
  ports:
    - name: foo
      protocol: TCP
      port: 8080
      targetPort: 8080
""",
    # testdata/service-port-name.yaml
    "service-port-name.yaml": """
apiVersion: v1
kind: Service
metadata:
  name: my-service
  namespace: my-namespace
spec:
  selector:
    app: my-service
  ports:
  - name: tcp-foo
    protocol: TCP
    port: 8080
    targetPort: 8080
---
apiVersion: v1
kind: Service
metadata:
  labels:
    gateway.istio.io/managed: istio.io-mesh-controller
  name: reviews-istio-waypoint
  namespace: ambient
spec:
  ports:
  - appProtocol: tcp
    name: status-port
    port: 15021
    protocol: TCP
    targetPort: 15021
  - appProtocol: hbone
    name: mesh
    port: 15008
    protocol: TCP
    targetPort: 15008
  selector:
    gateway.networking.k8s.io/gateway-name: reviews
  sessionAffinity: None
  type: ClusterIP
---
apiVersion: v1
kind: Service
metadata:
  annotations:
    test: test
  labels:
    gateway.istio.io/managed: istio.io-gateway-controller
  name: gateway-istio
  namespace: istio-ingress
spec:
  ports:
  - appProtocol: tcp
    name: status-port
    nodePort: 32481
    port: 15021
    protocol: TCP
    targetPort: 15021
  - appProtocol: http
    name: default
    nodePort: 30686
    port: 80
    protocol: TCP
    targetPort: 80
  selector:
    gateway.networking.k8s.io/gateway-name: gateway
  type: LoadBalancer
""",
    # testdata/service-no-port-name-system-namespace.yaml
    "service-no-port-name-system-namespace.yaml": """
apiVersion: v1
kind: Service
metadata:
  name: my-service1
  namespace: kube-system
spec:
  selector:
    app: my-service1
  ports:
    - protocol: TCP
      port: 8080
      targetPort: 8080
    - protocol: TCP
      port: 8081
      targetPort: 8081
---
apiVersion: v1
kind: Service
metadata:
  name: my-service2
  namespace: istio-system
  labels:
    istio: xxx
spec:
  selector:
    app: my-service2
  ports:
    - name: foo
      protocol: TCP
      port: 8080
      targetPort: 8080
---
apiVersion: v1
kind: Service
metadata:
  name: my-service3
  namespace: kube-public
spec:
  selector:
    app: my-service3
  ports:
    - name: bar
      protocol: TCP
      port: 8080
      targetPort: 8080
---
apiVersion: v1
kind: Service
metadata:
  name: my-service4
  namespace: istio-system
  labels:
    release: istio
spec:
  selector:
    app: my-service4
  ports:
    - name: foo
      protocol: TCP
      port: 8080
      targetPort: 8080
""",
    # testdata/incorrect-port-name-external-name-service-type.yaml
    "incorrect-port-name-external-name-service-type.yaml": """
apiVersion: v1
kind: Service
metadata:
  name: nginx
  namespace: nginx-ns
spec:
  externalName: nginx.example.com
  ports:
  - name: nginx
    port: 443
    protocol: TCP
    targetPort: 443
  type: ExternalName
---
apiVersion: v1
kind: Service
metadata:
  name: nginx-svc2
  namespace: nginx-ns2
spec:
  externalName: nginx.example.com
  ports:
  - port: 443
    protocol: TCP
    targetPort: 443
  type: ExternalName
---
apiVersion: v1
kind: Service
metadata:
  name: nginx-svc3
  namespace: nginx-ns3
spec:
  externalName: nginx.example.com
  ports:
  - name: tcp
    port: 443
    protocol: TCP
    targetPort: 443
  type: ExternalName
""",
    # testdata/correct-port-name-external-name-service-type.yaml
    "correct-port-name-external-name-service-type.yaml": """
apiVersion: v1
kind: Service
metadata:
  name: nginx-svc4
  namespace: nginx-ns4
spec:
  externalName: nginx.example.com
  ports:
  - name: https
    port: 443
    protocol: TCP
    targetPort: 443
  type: ExternalName
""",
}

# analyzers_test.go, the PortNameAnalyzer cases: input file -> expected (code, object), in order
EXPECTED = {
    "service-no-port-name.yaml": [("IST0118", "Service my-namespace1/my-service1"),
                                  ("IST0118", "Service my-namespace1/my-service1"),
                                  ("IST0118", "Service my-namespace2/my-service2")],
    "service-port-name.yaml": [],
    "service-no-port-name-system-namespace.yaml": [],
    "incorrect-port-name-external-name-service-type.yaml": [("IST0150", "Service nginx-ns/nginx"),
                                                            ("IST0150", "Service nginx-ns2/nginx-svc2"),
                                                            ("IST0150", "Service nginx-ns3/nginx-svc3")],
    "correct-port-name-external-name-service-type.yaml": [],
}


def services(name: str) -> list[dict]:
    return [doc for doc in yaml.safe_load_all(INPUTS[name]) if doc]


def ref(svc: dict) -> str:
    return f"Service {svc['metadata']['namespace']}/{svc['metadata']['name']}"


def istio_rule(name: str) -> list[tuple[str, str]]:
    """PortNameAnalyzer over a file, as istioctl analyze reads it (system namespaces left out)."""
    return [(code, ref(svc)) for svc in services(name) if svc["metadata"]["namespace"] not in SYSTEM_NAMESPACES
            for code, _ in istio_port_codes(svc)]


@pytest.mark.parametrize("name", sorted(INPUTS))
def test_the_port_name_rule_reports_what_istio_expects(name):
    assert istio_rule(name) == EXPECTED[name]


# pkg/config/kube/conversion_test.go TestConvertProtocol: (port, name, protocol, appProtocol) -> protocol
@pytest.mark.parametrize("port, name, proto, app, expected", [
    (0, "", "", None, "UnsupportedProtocol"),  # resolves empty
    (0, "", "UDP", None, "UDP"),  # resolves from protocol directly
    (0, "http-something", "", None, "HTTP"),  # resolves from port name
    (0, "http-something", "", "https", "HTTPS"),  # prefers appProto over portName
    (0, "something-httpx", "", "https", "HTTPS"),  # resolves from appProto
    (0, "grpc-web-x", "", None, "GRPC-Web"),  # resolves grpc-web
    (0, "grpcweb-x", "", None, "UnsupportedProtocol"),  # grpc-web is not resolved incorrectly
    (3306, "random-name", "", None, "TCP"),  # resolves based on known ports
    (3306, "random-name", "", "kubernetes.io/h2c", "HTTP2"),  # standard app protocol
])
def test_convert_protocol(port, name, proto, app, expected):
    spec = {"port": port, "name": name, "protocol": proto}
    if app is not None:
        spec["appProtocol"] = app
    assert convert_protocol(spec) == expected


# pkg/config/protocol/instance_test.go TestParse (a port name is parsed the same way)
@pytest.mark.parametrize("name, expected", [
    ("tcp", "TCP"), ("http", "HTTP"), ("HTTP", "HTTP"), ("Http", "HTTP"), ("http_proxy", "HTTP_PROXY"),
    ("Http_Proxy", "HTTP_PROXY"), ("HTTP_PROXY", "HTTP_PROXY"), ("https", "HTTPS"), ("http2", "HTTP2"),
    ("grpc", "GRPC"), ("grpc-web", "GRPC-Web"), ("gRPC-Web", "GRPC-Web"), ("grpc-Web", "GRPC-Web"),
    ("udp", "UDP"), ("Mongo", "Mongo"), ("mongo", "Mongo"), ("MONGO", "Mongo"), ("Redis", "Redis"),
    ("redis", "Redis"), ("REDIS", "Redis"), ("Mysql", "MySQL"), ("mysql", "MySQL"), ("MYSQL", "MySQL"),
    ("MySQL", "MySQL"), ("", "UnsupportedProtocol"), ("SMTP", "UnsupportedProtocol"),
    ("HBONE", "UnsupportedProtocol"),
])
def test_parse(name, expected):
    assert convert_protocol({"name": name, "port": 8080}) == expected


def istio_codes(findings: list[dict]) -> list[tuple[str, str]]:
    return sorted((f["code"], f["object"]) for f in findings if f["code"].startswith("IST"))


def namespaces_of(names) -> str:
    found = sorted({svc["metadata"]["namespace"] for name in names for svc in services(name)})
    return "\n---\n".join(f"apiVersion: v1\nkind: Namespace\nmetadata: {{name: {ns}}}" for ns in found)


@pytest.fixture(scope="module")
def loaded(tmp_path_factory, ca):
    """One local cluster (Istio 1.20) holding all the test data, twice: as it is, and with every
    selector removed (the `-bare` copies), which makes each Service an egress service. The
    analyzer does not read selectors, so Istio reports the same for both."""
    import os
    import subprocess

    from tests.apiserver import LocalAPIServer
    from tests.conftest import plugin_path

    work = tmp_path_factory.mktemp("istio-analyze")
    srv = LocalAPIServer(work / "kubeconfig", istio="1.20", ca=ca).start()
    env = {**os.environ, "PATH": plugin_path(), "KUBECONFIG": str(srv.kubeconfig_path),
           "KUBECACHEDIR": str(work / "cache")}
    docs = [svc for name in INPUTS for svc in services(name)]
    bare = []
    for svc in docs:
        copy = yaml.safe_load(yaml.safe_dump(svc))
        copy["metadata"]["name"] += "-bare"
        copy["spec"].pop("selector", None)
        for port in copy["spec"].get("ports") or []:
            port.pop("nodePort", None)
        bare.append(copy)
    manifest = namespaces_of(INPUTS) + "\n---\n" + "\n---\n".join(yaml.safe_dump(d) for d in docs + bare)
    done = subprocess.run(["kubectl", "apply", "-f", "-"], input=manifest, text=True, capture_output=True, env=env)
    # Kubernetes wants every port of a multi-port Service named (ValidateService: "Required value"),
    # so the two unnamed ports of my-service1 exist only in files; istioctl reads them from files
    refused = sorted(line.split('Service "')[1].split('"')[0] for line in done.stderr.splitlines()
                     if line.startswith("Error from server"))
    assert refused == ["my-service1", "my-service1", "my-service1-bare", "my-service1-bare"], done.stderr
    assert all("spec.ports[0].name: Required value, spec.ports[1].name: Required value" in line
               for line in done.stderr.splitlines() if line.startswith("Error from server"))
    check = subprocess.run(["kubectl", "egress", "check", "-A", "-o", "json"], text=True, capture_output=True,
                           env=env)
    assert check.returncode in (0, 1), check.stderr
    import json
    yield json.loads(check.stdout)["items"]
    srv.stop()


def stored(svc: dict) -> bool:
    """Did the API server take it (see loaded)?"""
    return len(svc["spec"].get("ports") or []) < 2 or all(p.get("name") for p in svc["spec"]["ports"])


@pytest.mark.parametrize("name", sorted(INPUTS))
def test_check_gives_istios_codes_on_the_same_objects(loaded, name):
    """Through real kubectl: every egress service of the file gets exactly the IST codes Istio
    expects for it; Services with a selector are no egress services, and check leaves them alone."""
    objects = {ref(svc) for svc in services(name) if stored(svc)}
    egress = {ref(svc) for svc in services(name) if stored(svc) and is_egress_service(svc)}
    got = istio_codes([f for f in loaded if f["object"] in objects])
    assert got == sorted(e for e in EXPECTED[name] if e[1] in egress)
    assert {f["object"] for f in loaded if f["object"] in objects} <= egress


@pytest.mark.parametrize("name", sorted(INPUTS))
def test_check_agrees_on_the_data_made_egress_services(loaded, name):
    """The same Services without a selector: check reports what Istio expects for the originals."""
    def bare(obj: str) -> str:
        return obj + "-bare"
    kept = {ref(s) for s in services(name) if stored(s)}
    got = istio_codes([f for f in loaded if f["object"] in {bare(obj) for obj in kept}])
    assert got == sorted((code, bare(obj)) for code, obj in EXPECTED[name] if obj in kept)
    if name == "service-no-port-name.yaml":
        assert got == [("IST0118", "Service my-namespace2/my-service2-bare")]


def test_istio_codes_are_never_replaced(apiserver, egress, kubectl):
    """The issue's case: kubectl create service externalname --tcp=80:80 names the port 80-80;
    istioctl analyze reports IST0150 for it, and check does too, with EG0006 beside it."""
    assert kubectl("create", "service", "externalname", "legacy-api", "--external-name", "api.example.com",
                   "--tcp=80:80").code == 0
    kubectl_apply(kubectl, """
apiVersion: v1
kind: Service
metadata: {name: plain-80}
spec: {ports: [{name: 80-80, port: 80}]}
""")
    items = egress("check", "-o", "json").json()["items"]
    codes = sorted((f["code"], f["object"]) for f in items)
    assert ("IST0150", "Service default/legacy-api") in codes and ("EG0006", "Service default/legacy-api") in codes
    assert ("IST0118", "Service default/plain-80") in codes and ("EG0006", "Service default/plain-80") in codes
    ist = next(f for f in items if f["code"] == "IST0150")
    assert ist["severity"] == "Warning"
    assert ist["message"].startswith("Port name for ExternalName service is invalid. Proxy may prevent tcp named "
                                     "ports and unmatched traffic for ports serving TCP protocol from being "
                                     "forwarded correctly")
    info = next(f for f in items if f["code"] == "IST0118")
    assert (info["severity"], info["message"]) == (
        "Info", "Port name 80-80 (port: 80, targetPort: 80) doesn't follow the naming convention of Istio port.")
