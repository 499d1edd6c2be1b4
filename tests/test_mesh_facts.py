"""Mesh facts, pure: istiod's ExternalName mode by version, the data plane of namespaces and pods,
the outbound policy in force, revisions and tags. Vectors from the Istio (and Go) sources named."""
import json

import pytest

from kubectl_egress.mesh import MeshFacts
from kubectl_egress.mesh.dataplane import NamespaceMode, controller, namespace_mode, pod_mode, restart_command, workload_name
from kubectl_egress.mesh.istiod import Revision, alias_mode, parse_bool, release, revision
from kubectl_egress.mesh.policy import MeshConfig, imports, mesh_config, sidecar_in_force, sidecar_mode
from kubectl_egress.model import Mesh


# go/src/strconv/atob_test.go atobtests: what pkg/env accepts for a boolean variable
@pytest.mark.parametrize("text, want", [
    ("", None), ("asdf", None), ("0", False), ("f", False), ("F", False), ("FALSE", False), ("false", False),
    ("False", False), ("1", True), ("t", True), ("T", True), ("TRUE", True), ("true", True), ("True", True),
    ("yes", None), (None, None)])
def test_parse_bool_is_go_strconv(text, want):
    assert parse_bool(text) == want


# pilot/pkg/features/pilot.go: ENABLE_EXTERNAL_NAME_ALIAS registered with default false at 1.20.0,
# true at 1.21.0 and 1.23.0, absent from 1.24.0 (commit 3cb62000738, istio#52317)
@pytest.mark.parametrize("version, flag, alias, why", [
    ("1.19.10", None, False, "mesh service before 1.21"),
    ("1.19.10", "true", False, "mesh service before 1.21"),  # no flag to read yet
    ("1.20.8", None, False, "unset, off by default in 1.20"),
    ("1.20.8", "true", True, "sets ENABLE_EXTERNAL_NAME_ALIAS=true"),
    ("1.20.8", "1", True, "sets ENABLE_EXTERNAL_NAME_ALIAS=1"),
    ("1.21.0", None, True, "on by default from 1.21"),
    ("1.22.8", "false", False, "sets ENABLE_EXTERNAL_NAME_ALIAS=false, honoured from 1.21 to 1.23"),
    ("1.23.6", "F", False, "honoured from 1.21 to 1.23"),
    ("1.23.6", "no", True, "is not a boolean, so the default applies"),
    ("1.24.0", None, True, "alias is the only mode from 1.24"),
    ("1.24.3", "false", True, "ENABLE_EXTERNAL_NAME_ALIAS=false is no longer read"),
    ("1.28.10", "false", True, "no longer read"),
    ("", "false", False, "version unknown"),
    ("", None, None, "version is unknown"),
])
def test_alias_mode_by_version(version, flag, alias, why):
    got, reason = alias_mode(version, flag)
    assert got is alias and why in reason


def ns(name="default", **labels):
    return {"metadata": {"name": name, "labels": labels}}


# util/in_mesh.go NamespaceInAmbientMode; the webhooks of istio-discovery templates/mutatingwebhook.yaml
@pytest.mark.parametrize("labels, dataplane, revision", [
    ({}, "none", ""),
    ({"istio-injection": "enabled"}, "sidecar", "default"),
    ({"istio-injection": "enabled", "istio.io/rev": "canary"}, "sidecar", "default"),  # the legacy label wins
    ({"istio.io/rev": "canary"}, "sidecar", "canary"),
    ({"istio-injection": "disabled", "istio.io/rev": "canary"}, "none", ""),  # rev webhooks need it absent
    ({"istio.io/dataplane-mode": "ambient"}, "ambient", ""),
    ({"istio.io/dataplane-mode": "ambient", "istio-injection": "enabled"}, "sidecar", "default"),
    ({"istio.io/dataplane-mode": "ambient", "istio.io/rev": "canary"}, "sidecar", "canary"),
    ({"istio.io/dataplane-mode": "ambient", "istio-injection": "disabled"}, "ambient", ""),
    ({"istio.io/dataplane-mode": "none"}, "none", ""),
])
def test_namespace_mode(labels, dataplane, revision):
    got = namespace_mode(ns(**labels))
    assert (got.dataplane, got.revision) == (dataplane, revision)


def test_a_missing_namespace():
    assert namespace_mode(None, "gone") == NamespaceMode("gone", exists=False)


@pytest.mark.parametrize("labels, want", [
    ({"istio-injection": "enabled"}, NamespaceMode("web", "sidecar", "default", "istio-injection=enabled")),
    ({"istio.io/rev": "canary"}, NamespaceMode("web", "sidecar", "canary", "istio.io/rev=canary")),
    ({"istio.io/dataplane-mode": "ambient"}, NamespaceMode("web", "ambient", "", "istio.io/dataplane-mode=ambient")),
    ({"istio-injection": "disabled"}, NamespaceMode("web", "none", "", "istio-injection=disabled")),
    ({}, NamespaceMode("web", "none", "", "")),
])
def test_the_label_that_decides_is_named(labels, want):
    """`version` and the hints name the label that put a namespace in its mode."""
    assert namespace_mode({"metadata": {"name": "web", "labels": labels}}, "asked-as") == want


def pod(containers=("curl",), inits=(), labels=None, annotations=None, **meta):
    return {"metadata": {"name": "p", "namespace": "default", "labels": labels or {},
                         "annotations": annotations or {}, **meta},
            "spec": {"containers": [{"name": c} for c in containers],
                     "initContainers": [dict(name=n, **({"restartPolicy": "Always"} if native else {}))
                                        for n, native in inits]}}


STATUS = json.dumps({"initContainers": ["istio-init"], "containers": ["istio-proxy"], "revision": "canary"})


@pytest.mark.parametrize("p, dataplane, native, revision", [
    (pod(), "none", False, ""),
    (pod(("curl", "istio-proxy"), labels={"istio.io/rev": "default"}), "sidecar", False, "default"),
    (pod(inits=[("istio-init", False), ("istio-proxy", True)], labels={"istio.io/rev": "1-28"}),
     "sidecar", True, "1-28"),
    (pod(inits=[("istio-proxy", False)]), "none", False, ""),  # an init container that ends is no sidecar
    (pod(("curl", "istio-proxy"), annotations={"sidecar.istio.io/status": STATUS}), "sidecar", False, "canary"),
    (pod(("curl", "istio-proxy")), "sidecar", False, "default"),
    (pod(annotations={"ambient.istio.io/redirection": "enabled"}), "ambient", False, ""),
    (pod(annotations={"ambient.istio.io/redirection": "disabled"}), "none", False, ""),
])
def test_pod_mode(p, dataplane, native, revision):
    got = pod_mode(p)
    assert (got.dataplane, got.native, got.revision) == (dataplane, native, revision)


def owned(kind, name, generate="x-", labels=None):
    return {"metadata": {"name": "p-1", "namespace": "web", "generateName": generate, "labels": labels or {},
                         "ownerReferences": [{"kind": kind, "name": name, "controller": True}]}}


# pkg/kube/util_test.go TestCronJobMetadata and TestDeployMeta; a Deployment's ReplicaSet as
# GetDeployMetaFromPod reads it; the workload-name label of GetWorkloadMetaFromPod
@pytest.mark.parametrize("p, kind, name", [
    (owned("Job", "sec-1234567890"), "CronJob", "sec"),
    (owned("Job", "min-12345678"), "CronJob", "min"),
    (owned("Job", "job-123"), "Job", "job-123"),
    (owned("ReplicationController", "deploy-rc", labels={"deploymentconfig": "deploy"}), "DeploymentConfig", "deploy"),
    (owned("ReplicationController", "dep-rc"), "ReplicationController", "dep-rc"),
    (owned("ReplicaSet", "name-6dc78b855c", labels={"rollouts-pod-template-hash": "6dc78b855c"}), "Rollout", "name"),
    (owned("ReplicaSet", "curl-5b8f6", labels={"pod-template-hash": "5b8f6"}), "Deployment", "curl"),
    (owned("StatefulSet", "db"), "StatefulSet", "db"),
    (owned("ReplicaSet", "curl-5b8f6", generate=""), "Pod", "p-1"),  # a name not generated: the pod itself
    (owned("ReplicaSet", "web-frontend-7d4b9c8f6d", labels={"pod-template-hash": "7d4b9c8f6d"}), "Deployment",
     "web-frontend"),
    (owned("ReplicaSet", "web-frontend-7d4b9c8f6d", labels={"pod-template-hash": "5b8f6"}), "ReplicaSet",
     "web-frontend-7d4b9c8f6d"),  # a hash that is not its name's: the ReplicaSet itself
    (owned("StatefulSet", "db-abc", labels={"rollouts-pod-template-hash": "abc"}), "StatefulSet", "db-abc"),
    ({"metadata": {"name": "p-1", "generateName": "p-"}}, "Pod", "p-1"),  # generated, but no controller
])
def test_controller(p, kind, name):
    assert controller(p) == (kind, name)


def test_workload_name_label_wins_for_telemetry_not_for_restarts():
    p = owned("ReplicaSet", "curl-5b8f6", labels={"pod-template-hash": "5b8f6",
                                                   "service.istio.io/workload-name": "client"})
    assert workload_name(p) == "client"
    assert restart_command(p) == "kubectl rollout restart deployment/curl -n web"
    assert restart_command(owned("Job", "job-123")) == "kubectl delete pod p-1 -n web"
    assert workload_name(owned("ReplicaSet", "curl-5b8f6", labels={"pod-template-hash": "5b8f6"})) == "curl"
    assert restart_command(owned("StatefulSet", "db")) == "kubectl rollout restart statefulset/db -n web"
    assert restart_command(owned("DaemonSet", "agent")) == "kubectl rollout restart daemonset/agent -n web"


@pytest.mark.parametrize("text, want", [
    (None, MeshConfig(readable=False)),
    ("", MeshConfig(readable=True)),
    ("accessLogFile: /dev/stdout\n", MeshConfig()),
    ("accessLogFile: /dev/stdout\nrootNamespace: istio-system\ntrustDomain: cluster.local\n", MeshConfig()),
    ("outboundTrafficPolicy:\n  mode: REGISTRY_ONLY\nrootNamespace: istio-config\n",
     MeshConfig("REGISTRY_ONLY", "istio-config")),
    ("outboundTrafficPolicy: {mode: ALLOW_ANY}\n", MeshConfig()),
    ("outboundTrafficPolicy: [\n", MeshConfig(readable=False)),
])
def test_mesh_config(text, want):
    assert mesh_config(text) == want


def sidecar(name, namespace="default", selector=None, mode=None, created="2024-01-01T00:00:00Z", egress=None):
    spec: dict = {}
    if selector is not None:
        spec["workloadSelector"] = {"labels": selector}
    if mode is not None:
        spec["outboundTrafficPolicy"] = {"mode": mode} if mode != "unset" else {}
    if egress is not None:
        spec["egress"] = [{"hosts": egress}]
    return {"metadata": {"name": name, "namespace": namespace, "creationTimestamp": created}, "spec": spec}


# push_context.go initSidecarScopes / doGetSidecarScope
SIDECARS = [
    sidecar("ns-default", created="2024-01-02T00:00:00Z"),
    sidecar("web-new", selector={"app": "web"}, created="2024-01-03T00:00:00Z"),
    sidecar("web-old", selector={"app": "web"}, created="2024-01-01T00:00:00Z"),
    sidecar("root", namespace="istio-system"),
    sidecar("other-ns-only-selector", namespace="other", selector={"app": "x"}),
    sidecar("b-web", namespace="same-age", selector={"app": "web"}),
    sidecar("a-web", namespace="same-age", selector={"app": "web"}),
]


@pytest.mark.parametrize("namespace, labels, want", [
    ("default", {"app": "web", "v": "1"}, "web-old"),  # selectors first, oldest first
    ("same-age", {"app": "web"}, "a-web"),  # as old as each other: by name
    ("default", {"app": "api"}, "ns-default"),
    ("default", None, "ns-default"),
    ("other", {"app": "y"}, "root"),  # none of the namespace's selects it: the root's
    ("other", {"app": "x"}, "other-ns-only-selector"),
    ("other", None, "root"),
    ("third", None, "root"),
])
def test_sidecar_in_force(namespace, labels, want):
    assert sidecar_in_force(SIDECARS, namespace, labels)["metadata"]["name"] == want


def test_no_sidecar_anywhere():
    assert sidecar_in_force(SIDECARS[:3], "third", None) is None
    assert sidecar_in_force(SIDECARS[5:], "same-age", None) is None  # none without a selector, no root


@pytest.mark.parametrize("mode, want", [(None, None), ("ALLOW_ANY", "ALLOW_ANY"), ("REGISTRY_ONLY", "REGISTRY_ONLY"),
                                        ("unset", "REGISTRY_ONLY")])  # proto3: REGISTRY_ONLY = 0
def test_sidecar_mode(mode, want):
    assert sidecar_mode(sidecar("s", mode=mode)) == want


# sidecar.go: hosts are namespace/dnsName; "." is the Sidecar's namespace, "*" any, "~" excludes
@pytest.mark.parametrize("egress, service_ns, host, want", [
    (None, "default", "httpbin.org", True),
    (["./*"], "default", "httpbin.org", True),
    (["./*"], "egress", "httpbin.org", False),
    (["istio-system/*", "egress/httpbin.org"], "egress", "httpbin.org", True),
    (["*/*.org"], "egress", "httpbin.org", True),
    (["*/*.com"], "egress", "httpbin.org", False),
    (["*/*.bin.org"], "egress", "httpbin.org", False),  # *.bin.org is a suffix with its dot: not httpbin.org
    (["~/*"], "default", "httpbin.org", False),
    (["./*", "~default/httpbin.org"], "default", "httpbin.org", False),
    (["bad-host"], "default", "httpbin.org", False),
    (["bad-host", "a/b/c", "./*"], "default", "httpbin.org", True),  # an illegal host is skipped, not the rest
])
def test_sidecar_imports(egress, service_ns, host, want):
    assert imports(sidecar("s", egress=egress), service_ns, host) is want


def rev(name, version="1.24.3", alias=True, outbound="ALLOW_ANY"):
    istiod = "istiod" if name == "default" else f"istiod-{name}"
    return Revision(name, istiod, version, alias, "test", outbound)


def facts(*revisions, tags=None, namespaces=(), sidecars=(), configs=None):
    return MeshFacts("v1", revisions={r.name: r for r in revisions}, tags=tags or {}, tags_known=True,
                     namespaces={n["metadata"]["name"]: n for n in namespaces}, sidecars=list(sidecars),
                     configs=configs or {r.name: MeshConfig(r.outbound) for r in revisions})


def test_revisions_tags_and_the_default():
    f = facts(rev("1-20", "1.20.8", False), rev("1-24"), tags={"default": "1-20", "stable": "1-24"},
              namespaces=[ns("legacy", **{"istio-injection": "enabled"}), ns("new", **{"istio.io/rev": "stable"}),
                          ns("typo", **{"istio.io/rev": "canry"})])
    assert f.default.name == "1-20"
    assert f.revision_for("legacy").name == "1-20" and f.revision_for("new").name == "1-24"
    assert f.exists("stable") and f.exists("1-24") and f.exists("canry") is False
    assert f.revision_for("typo") is None
    assert f.mesh("legacy").mode == "legacy" and f.mesh("new").mode == "alias"
    unknown = MeshFacts("v1", revisions={"default": rev("default")}, tags_known=False)
    assert unknown.exists("canry") is None  # no tag could be read: cannot tell


def test_policy_per_revision_and_sidecar():
    f = facts(rev("default", outbound="REGISTRY_ONLY"), rev("canary", outbound="ALLOW_ANY"),
              namespaces=[ns("a", **{"istio-injection": "enabled"}), ns("b", **{"istio.io/rev": "canary"})],
              sidecars=[sidecar("open", namespace="a", selector={"app": "legacy"}, mode="ALLOW_ANY")])
    assert f.policy("a").registry_only and f.policy("a").source == "mesh config istio-system/istio"
    assert not f.policy("a", {"app": "legacy"}).registry_only
    assert f.policy("a", {"app": "legacy"}).source == "Sidecar a/open"
    assert not f.policy("b").registry_only and f.policy("b").source == "mesh config istio-system/istio-canary"


def test_pods_of_another_revision_than_their_namespace():
    f = facts(rev("default", "1.20.8", False), rev("canary"),
              namespaces=[ns("default", **{"istio.io/rev": "canary"}), ns("amb", **{"istio.io/dataplane-mode": "ambient"})])
    stale = f.pod(pod(("curl", "istio-proxy"), labels={"istio.io/rev": "default"}))
    assert stale.stale_revision and stale.revision.name == "default" and stale.asked.name == "canary"
    fresh = f.pod(pod(("curl", "istio-proxy"), labels={"istio.io/rev": "canary"}))
    assert not fresh.stale_revision and fresh.policy is not None
    ambient = f.pod({**pod(annotations={"ambient.istio.io/redirection": "enabled"}),
                     "metadata": {"namespace": "amb", "annotations": {"ambient.istio.io/redirection": "enabled"}}})
    assert ambient.dataplane == "ambient" and ambient.policy is None and f.ambient_namespace("amb")


def test_a_pods_facts_are_its_own_namespaces():
    """MeshFacts.pod: the namespace's data plane and the revision it asks for, for every pod; the
    control plane and outbound policy only for a sidecar whose revision is known, by the pod's labels."""
    f = facts(rev("default", outbound="REGISTRY_ONLY"), rev("canary"),
              namespaces=[ns("team", **{"istio.io/rev": "canary"}), ns("amb", **{"istio.io/dataplane-mode": "ambient"})],
              sidecars=[sidecar("open", namespace="team", selector={"app": "legacy"}, mode="ALLOW_ANY"),
                        sidecar("closed", namespace="default", mode="REGISTRY_ONLY")])
    bare = f.pod(pod(namespace="team"))
    assert (bare.dataplane, bare.namespace.dataplane, bare.revision, bare.asked.name, bare.policy) == (
        "none", "sidecar", None, "canary", None)
    ambient = f.pod(pod(namespace="amb", annotations={"ambient.istio.io/redirection": "enabled"}))
    assert (ambient.namespace.dataplane, ambient.asked, ambient.policy) == ("ambient", None, None)
    legacy = f.pod(pod(("curl", "istio-proxy"), labels={"app": "legacy", "istio.io/rev": "default"}, namespace="team"))
    assert legacy.revision.name == "default" and legacy.policy.source == "Sidecar team/open"
    assert not legacy.policy.registry_only  # the Sidecar of its labels, in its namespace
    other = f.pod(pod(("curl", "istio-proxy"), labels={"app": "web"}, namespace="team"))
    assert other.policy.source == "mesh config istio-system/istio" and other.policy.registry_only
    lost = f.pod(pod(("curl", "istio-proxy"), labels={"istio.io/rev": "gone"}, namespace="team"))
    assert (lost.revision, lost.policy) == (None, None)


def test_where_the_policy_comes_from():
    """A Sidecar's own mode wins, and names itself; an unreadable mesh config is Istio's default; a root
    namespace other than istio-system has its Sidecars read there (meshConfig.rootNamespace)."""
    closed = sidecar("closed", namespace="a", mode="REGISTRY_ONLY")
    f = facts(rev("default"), rev("canary"), namespaces=[ns("a", **{"istio-injection": "enabled"}),
                                                          ns("b", **{"istio.io/rev": "canary"}), ns("c")],
              sidecars=[closed, sidecar("root", namespace="mesh-root", mode="REGISTRY_ONLY")],
              configs={"default": MeshConfig(root_namespace="mesh-root")})
    policy = f.policy("a")
    assert (policy.mode, policy.source, policy.sidecar, policy.sidecar_name) == (
        "REGISTRY_ONLY", "Sidecar a/closed", closed, "a/closed")
    unread = f.policy("b")  # canary's mesh config could not be read
    assert (unread.mode, unread.source, unread.sidecar) == ("ALLOW_ANY", "Istio's default (istio-system/istio-canary "
                                                            "unreadable)", None)
    root = f.policy("c")
    assert (root.mode, root.source) == ("REGISTRY_ONLY", "Sidecar mesh-root/root")
    assert (f.namespace_exists("a"), f.namespace_exists("gone"), MeshFacts("v1", namespaces={"x": None})
            .namespace_exists("x")) == (True, None, False)


def istiod(name="istiod", labels=None, containers=None):
    return {"metadata": {"name": name, "labels": labels or {}},
            "spec": {"template": {"spec": {"containers": containers if containers is not None else []}}}}


DISCOVERY = {"name": "discovery", "image": "docker.io/istio/pilot:1.22.3-distroless",
             "env": [{"name": "ENABLE_EXTERNAL_NAME_ALIAS", "value": "false"}, {"name": "OTHER", "value": "x"}]}


# an istiod Deployment as istioctl (operator.istio.io/version) and the Helm charts (app.kubernetes.io/version,
# istio.io/rev) label it; the discovery container's image tag and env otherwise
@pytest.mark.parametrize("deployment, networking, want", [
    (istiod(labels={"operator.istio.io/version": "1.23.6", "app.kubernetes.io/version": "1.24.1"}), "v1",
     Revision("default", "istiod", "1.23.6", True, "istiod 1.23.6 leaves ENABLE_EXTERNAL_NAME_ALIAS unset, on by "
              "default from 1.21")),
    (istiod("istiod-canary", labels={"app.kubernetes.io/version": "1.20.8"}), "v1beta1",
     Revision("canary", "istiod-canary", "1.20.8", False, "istiod-canary 1.20.8 leaves ENABLE_EXTERNAL_NAME_ALIAS "
              "unset, off by default in 1.20")),
    (istiod("istiod-1-22", labels={"istio.io/rev": "stable"}, containers=[{"name": "sidecar", "image": "x:9.9"},
                                                                         DISCOVERY]), "v1",
     Revision("stable", "istiod-1-22", "1.22.3", False, "istiod-1-22 1.22.3 sets ENABLE_EXTERNAL_NAME_ALIAS=false, "
              "honoured from 1.21 to 1.23")),
    # no discovery container by name: the first; a tag that is no version: unknown, guessed from the API
    (istiod(containers=[{"name": "pilot", "image": "registry:5000/pilot:latest"}]), "v1",
     Revision("default", "istiod", "", True, "istiod's version is unknown: guessed from networking.istio.io/v1 "
              "(v1 is served from 1.22, alias mode from 1.21)")),
    (istiod(containers=[{"name": "pilot", "image": "registry:5000/pilot:1.20.8"}]), "v1beta1",
     Revision("default", "istiod", "1.20.8", False, "istiod 1.20.8 leaves ENABLE_EXTERNAL_NAME_ALIAS unset, off "
              "by default in 1.20")),
    ({"metadata": {"name": "istiod"}}, "v1beta1",
     Revision("default", "istiod", "", False, "istiod's version is unknown: guessed from "
              "networking.istio.io/v1beta1 (v1 is served from 1.22, alias mode from 1.21)")),
    ({}, "v1", Revision("default", "istiod", "", True, "istiod's version is unknown: guessed from "
                        "networking.istio.io/v1 (v1 is served from 1.22, alias mode from 1.21)")),
])
def test_an_istiod_deployment_read_as_its_revision(deployment, networking, want):
    assert revision(deployment, networking) == want


@pytest.mark.parametrize("version, flag, why", [
    ("1.24.0", "false", "istiod 1.24.0: alias is the only mode from 1.24; ENABLE_EXTERNAL_NAME_ALIAS=false is no "
                        "longer read, the opt-out ended with 1.23 (istio#52317)"),
    ("1.20.8", "true", "istiod 1.20.8 sets ENABLE_EXTERNAL_NAME_ALIAS=true"),
    ("v1.21.0", "0", "istiod v1.21.0 sets ENABLE_EXTERNAL_NAME_ALIAS=0, honoured from 1.21 to 1.23"),
    ("", "true", "istiod sets ENABLE_EXTERNAL_NAME_ALIAS=true, its version unknown"),
])
def test_the_reason_is_said_whole(version, flag, why):
    assert alias_mode(version, flag)[1] == why


@pytest.mark.parametrize("version, want", [
    ("1.24.3", (1, 24, 3)), ("v1.21.0", (1, 21, 0)), ("1.24", (1, 24, 0)), ("1.24.3-distroless", (1, 24, 3)),
    ("1.25-alpha.abc", (1, 25, 0)), ("1.24.10", (1, 24, 10)), ("latest", ()), ("", ()), (None, ()),
])
def test_versions_ordered_as_numbers(version, want):
    assert release(version) == want


TWO = (rev("1-20", "1.20.8", False), rev("1-22", "1.22.3", True))
GUESSED_V1 = Mesh(True, "v1", "alias", "", "guessed from networking.istio.io/v1 (istiod in istio-system could not be "
                                           "read)")


@pytest.mark.parametrize("mesh_facts, namespace, want", [
    (MeshFacts(None), None, Mesh(False, "v1", "none", "", "networking.istio.io is not served", False)),
    (MeshFacts("v1beta1", revisions={"default": rev("default")}, override="none"), None,
     Mesh(False, "v1beta1", "none", "", "--istio-mode none", True)),
    (MeshFacts("v1"), None, GUESSED_V1),
    (MeshFacts("v1beta1"), None, Mesh(True, "v1beta1", "legacy", "", "guessed from networking.istio.io/v1beta1 "
                                                                      "(istiod in istio-system could not be read)")),
    (facts(rev("default", "1.20.8", False)), None, Mesh(True, "v1", "legacy", "1.20.8", "test")),
    # no default revision: the newest by minor version (1.22 > 1.9, as numbers)
    (facts(*TWO, rev("1-9", "1.9.9", False)), None,
     Mesh(True, "v1", "alias", "1.22.3", "test; no default revision, so the newest")),
    (facts(*TWO, namespaces=[ns("b")]), "b", Mesh(True, "v1", "alias", "1.22.3", "test; no default revision, so the newest")),
    # ... and by patch release: a canary upgrade from 1.24.1 to 1.24.10 (10 > 9, as numbers)
    (facts(rev("1-24-1", "1.24.1"), rev("1-24-10", "v1.24.10-distroless"), rev("1-24-9", "1.24.9")), None,
     Mesh(True, "v1", "alias", "v1.24.10-distroless", "test; no default revision, so the newest")),
    (facts(rev("1-24-3", "1.24.3"), rev("x", "")), None,
     Mesh(True, "v1", "alias", "1.24.3", "test; no default revision, so the newest")),
    (facts(*TWO, namespaces=[ns("c", **{"istio.io/rev": "1-20"})]), "c", Mesh(True, "v1", "legacy", "1.20.8", "test")),
    # a namespace asking for a revision no istiod serves: nothing to go by but the API version
    # ... and with no istiod read at all, that is what the reason says
    (MeshFacts("v1", tags_known=True, namespaces={"a": ns("a", **{"istio.io/rev": "gone"})}), "a", GUESSED_V1),
    (facts(*TWO, namespaces=[ns("a", **{"istio.io/rev": "gone"})]), "a",
     Mesh(True, "v1", "alias", "", "guessed from networking.istio.io/v1 (namespace a asks for revision gone, which no "
                                   "istiod serves)")),
    (MeshFacts("v1", revisions={"default": rev("default", "1.20.8", False)}, override="alias"), None,
     Mesh(True, "v1", "alias", "1.20.8", "--istio-mode alias")),
    (MeshFacts("v1beta1", override="legacy"), None, Mesh(True, "v1beta1", "legacy", "", "--istio-mode legacy")),
])
def test_the_mesh_a_namespace_is_in(mesh_facts, namespace, want):
    got = mesh_facts.mesh(namespace)
    assert got == want and got.facts is mesh_facts
