"""mesh: which Istio runs and how it treats ExternalName Services (pure), and the manifests per mode."""
import pytest

from kubectl_egress import manifests
from kubectl_egress.mesh import decide, istiod_facts
from kubectl_egress.model import Mesh, Target


def istiod(labels=None, image="docker.io/istio/pilot:1.20.8", env=()):
    return {"metadata": {"labels": labels or {}},
            "spec": {"template": {"spec": {"containers": [
                {"name": "discovery", "image": image, "env": [{"name": k, "value": v} for k, v in env]}]}}}}


@pytest.mark.parametrize("deployment, facts", [
    (istiod({"operator.istio.io/version": "1.20.2"}), ("1.20.2", None)),
    (istiod({"app.kubernetes.io/version": "1.24.3"}, image="x/pilot:1.24.3"), ("1.24.3", None)),
    (istiod(image="gcr.io/istio-release/pilot:1.22.1-distroless"), ("1.22.1", None)),
    (istiod(env=[("ENABLE_EXTERNAL_NAME_ALIAS", "true")]), ("1.20.8", "true")),
    (istiod(image="pilot:latest"), ("", None)),
])
def test_istiod_facts(deployment, facts):
    assert istiod_facts(deployment) == facts


@pytest.mark.parametrize("served, deployment, override, mode, istio", [
    (None, None, "auto", "none", False),
    ("v1beta1", istiod(), "auto", "legacy", True),
    ("v1", istiod(image="pilot:1.24.3"), "auto", "alias", True),
    ("v1beta1", istiod(image="pilot:1.21.0"), "auto", "alias", True),
    ("v1beta1", istiod(env=[("ENABLE_EXTERNAL_NAME_ALIAS", "true")]), "auto", "alias", True),
    # 1.24 no longer reads the opt-out (istio commit 3cb62000738, istio#52317)
    ("v1", istiod(image="pilot:1.24.3", env=[("ENABLE_EXTERNAL_NAME_ALIAS", "false")]), "auto", "alias", True),
    ("v1", istiod(image="pilot:1.23.6", env=[("ENABLE_EXTERNAL_NAME_ALIAS", "false")]), "auto", "legacy", True),
    ("v1", None, "auto", "alias", True),  # istiod unreadable: v1 is served from 1.22
    # istiod's version unknown (a tag for an image): guessed from the networking version as well
    ("v1", istiod(image="pilot:latest"), "auto", "alias", True),
    ("v1beta1", istiod(image="pilot:latest"), "auto", "legacy", True),
    ("v1beta1", None, "auto", "legacy", True),
    ("v1", istiod(image="pilot:1.24.3"), "legacy", "legacy", True),
    ("v1beta1", istiod(), "alias", "alias", True),
    ("v1", istiod(), "none", "none", False),
])
def test_decide(served, deployment, override, mode, istio):
    mesh = decide(served, deployment, override)
    assert (mesh.mode, mesh.istio, mesh.alias) == (mode, istio, mode == "alias")
    assert mesh.source


HTTPBIN = Target("my-httpbin", "default", host="httpbin.org")


def test_alias_mode_writes_a_service_entry_and_the_rule_on_the_external_host():
    objs = manifests.objects(HTTPBIN, Mesh(mode="alias"))
    assert [o["kind"] for o in objs] == ["Service", "ServiceEntry", "DestinationRule"]
    assert objs[1]["spec"] == {"hosts": ["httpbin.org"], "location": "MESH_EXTERNAL", "resolution": "DNS",
                               "ports": [{"number": 80, "name": "http", "protocol": "HTTP"}]}
    assert objs[2]["spec"]["host"] == "httpbin.org"


@pytest.mark.parametrize("mesh, kinds, host", [
    (Mesh(mode="legacy"), ["Service", "DestinationRule"], "my-httpbin.default.svc.cluster.local"),
    (Mesh(istio=False, mode="none"), ["Service"], None),
])
def test_other_modes(mesh, kinds, host):
    objs = manifests.objects(HTTPBIN, mesh)
    assert [o["kind"] for o in objs] == kinds
    assert (objs[-1]["spec"].get("host") if host else None) == host


def test_endpoints_services_are_real_services_in_every_mode():
    import ipaddress
    target = Target("w", "default", ips=(ipaddress.ip_address("198.35.26.96"),), port=443, protocol="tls")
    objs = manifests.objects(target, Mesh(mode="alias"))
    assert [o["kind"] for o in objs] == ["Service", "EndpointSlice", "DestinationRule"]
    assert objs[-1]["spec"]["host"] == "w.default.svc.cluster.local"


@pytest.mark.parametrize("served, deployment", [("v1", istiod(image="pilot:1.24.3")), ("v1beta1", None), (None, None)])
def test_decide_is_auto_unless_told(served, deployment):
    """No --istio-mode is auto: the facts say so, which fit and check read (override == "auto")."""
    mesh = decide(served, deployment)
    assert mesh == decide(served, deployment, "auto") and mesh.facts.override == "auto"
