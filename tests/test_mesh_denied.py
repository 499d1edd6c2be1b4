"""Reading the mesh (mesh/detect.py) as users who may not read all of it, against one local cluster
with RBAC: what they cannot read is left unknown, never guessed, and the commands go on with what
they can read.

- nobody: discovery only (every authenticated user's bootstrap roles);
- jane: a namespace developer, a Role in `team` (Services, Endpoints, EndpointSlices, Istio config);
- ops: the istiod Deployments, one revision's mesh config (resourceNames), namespaces `b` and
  `mesh-root`, the Sidecars of istio-system and mesh-root.
Roles and RoleBindings as `kubectl create role/rolebinding` would make them; the local cluster's RBAC
authorizer visits them as kube-apiserver's does (tests/apiserver/rbac.py, validation/rule.go)."""
import importlib

import pytest

from kubectl_egress.app import App
from tests.conftest import serving
from tests.test_commands import kubectl_apply

detect = importlib.import_module("kubectl_egress.mesh.detect")  # the package re-exports a function of that name

OBJECTS = """
apiVersion: v1
kind: Namespace
metadata: {name: team, labels: {istio.io/rev: canary}}
---
apiVersion: v1
kind: Namespace
metadata: {name: b, labels: {istio.io/rev: stable}}
---
apiVersion: v1
kind: Namespace
metadata: {name: mesh-root}
---
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: default, namespace: team}
spec: {outboundTrafficPolicy: {mode: REGISTRY_ONLY}}
---
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: default, namespace: istio-system}
spec: {egress: [{hosts: ["./*"]}]}
---
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: default, namespace: b}
spec: {egress: [{hosts: ["./*"]}]}
---
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: default, namespace: mesh-root}
spec: {egress: [{hosts: ["*/*"]}]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: dev, namespace: team}
rules:
- {apiGroups: [""], resources: [services, endpoints], verbs: ["*"]}
- {apiGroups: [discovery.k8s.io], resources: [endpointslices], verbs: ["*"]}
- {apiGroups: [networking.istio.io], resources: ["*"], verbs: ["*"]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: dev, namespace: team}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: dev}
subjects: [{kind: User, apiGroup: rbac.authorization.k8s.io, name: jane}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: istio-reader, namespace: istio-system}
rules:
- {apiGroups: [apps], resources: [deployments], verbs: [get, list]}
- {apiGroups: [""], resources: [configmaps], resourceNames: [istio-canary], verbs: [get]}
- {apiGroups: [networking.istio.io], resources: [sidecars], verbs: [list]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: ops, namespace: istio-system}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: istio-reader}
subjects: [{kind: User, apiGroup: rbac.authorization.k8s.io, name: ops}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: namespace-reader, namespace: b}
rules:
- {apiGroups: [""], resources: [namespaces], resourceNames: [b], verbs: [get]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: ops, namespace: b}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: namespace-reader}
subjects: [{kind: User, apiGroup: rbac.authorization.k8s.io, name: ops}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: root-reader, namespace: mesh-root}
rules:
- {apiGroups: [""], resources: [namespaces], resourceNames: [mesh-root], verbs: [get]}
- {apiGroups: [networking.istio.io], resources: [sidecars], verbs: [list]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: ops, namespace: mesh-root}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: root-reader}
subjects: [{kind: User, apiGroup: rbac.authorization.k8s.io, name: ops}]
"""

CANARY_MESH = '{"data": {"mesh": "outboundTrafficPolicy:\\n  mode: ALLOW_ANY\\nrootNamespace: mesh-root\\n"}}'


@pytest.fixture(scope="module")
def cluster(tmp_path_factory, ca):
    from tests.conftest import run_kubectl
    with serving(tmp_path_factory.mktemp("denied"), ca, "1.23", revisions={"canary": "1.28"},
                 outbound_policy="REGISTRY_ONLY", ambient=True) as srv:
        kubectl_apply(run_kubectl, OBJECTS)
        # the canary's mesh config moves its root namespace (meshConfig.rootNamespace)
        assert run_kubectl("patch", "configmap", "istio-canary", "-n", "istio-system", "--type", "merge",
                           "-p", CANARY_MESH).code == 0
        yield srv


def kube_as(user: str):
    return App.from_raw({"as": user}).kube()


def sidecar_names(facts):
    return [(s["metadata"]["namespace"], s["metadata"]["name"]) for s in facts.sidecars]


def test_the_rbac_the_users_have(cluster, kubectl):
    """The cluster's authorizer, as kubectl sees it: each user may read what its Roles give, no more."""
    for user, verb, what, where, allowed in [
            ("jane", "create", "services", "team", "yes"), ("jane", "list", "services", "default", "no"),
            ("jane", "get", "namespaces/team", "", "no"),
            ("jane", "list", "sidecars.networking.istio.io", "team", "yes"),
            ("ops", "list", "deployments.apps", "istio-system", "yes"),
            ("ops", "get", "configmaps/istio-canary", "istio-system", "yes"),
            ("ops", "get", "configmaps/istio", "istio-system", "no"), ("ops", "get", "namespaces/b", "b", "yes"),
            ("nobody", "list", "deployments.apps", "istio-system", "no")]:
        res = kubectl("auth", "can-i", verb, what, *(["-n", where] if where else []), "--as", user)
        assert res.out.strip() == allowed, (user, verb, what, where, res.err)
    # the reason names the RoleBinding (roleBindingDescriber, validation/rule.go)
    res = kubectl("create", "-o", "jsonpath={.status.reason}", "-f", "-", "--as", "jane", input="""
apiVersion: authorization.k8s.io/v1
kind: SelfSubjectAccessReview
spec: {resourceAttributes: {verb: create, resource: services, namespace: team}}
""")
    assert res.out == 'RBAC: allowed by RoleBinding "dev/team" of Role "dev" to User "jane"', res.err
    wide = kubectl("get", "rolebindings", "-n", "team", "-o", "wide").lines  # printers.go printRoleBinding
    assert wide[0].split() == ["NAME", "ROLE", "AGE", "USERS", "GROUPS", "SERVICEACCOUNTS"]
    name, role, _, users = wide[1].split()
    assert (name, role, users) == ("dev", "Role/dev", "jane")


def test_nobody_sees_only_that_istio_is_served(cluster, egress, kubectl):
    kube = kube_as("nobody")
    facts = detect.read(kube, namespaces=["team"])
    assert (facts.networking_version, facts.istiod_known, facts.revisions, facts.configs) == ("v1", False, {}, {})
    assert (facts.namespaces, facts.sidecars, facts.ambient) == ({}, [], None)
    assert facts.namespace_exists("team") is None and facts.exists("canary") is None
    everywhere = detect.read(kube, all_namespaces=True)
    assert (everywhere.namespaces, everywhere.sidecars, everywhere.istiod_known) == ({}, [], False)
    guessed = "guessed from networking.istio.io/v1 (istiod in istio-system could not be read)"
    assert (facts.mesh("team").mode, facts.mesh("team").source) == ("alias", guessed)
    mesh = detect.detect(kube)
    assert (mesh.istio, mesh.mode, mesh.version, mesh.source) == (True, "alias", "", guessed)

    res = egress("version", "--as", "nobody")
    assert res.code == 0, res.err
    assert res.lines[2] == ("Istio: unknown version, alias mode: an ExternalName Service is a DNS alias: a "
                            "ServiceEntry and rules go on "
                            f"the external host ({guessed})")
    res = kubectl("egress", "version", "-o", "json", "--as", "nobody")
    assert res.code == 0, res.err
    assert {k: res.json()["istio"][k] for k in ("mode", "source", "revisions", "ambient")} == {
        "mode": "alias", "source": guessed, "revisions": [], "ambient": {"installed": False, "ztunnelVersion": ""}}
    res = egress("check", "-n", "team", "--as", "nobody")
    assert res.code == 1 and res.err.startswith('Error from server (Forbidden): ') and 'User "nobody"' in res.err


def test_a_namespace_developer(cluster, egress, kubectl):
    """jane may write in team, and read nothing of istio-system nor the namespace object itself."""
    kube = kube_as("jane")
    facts = detect.read(kube, namespaces=["team"])
    assert (facts.istiod_known, facts.revisions, facts.namespaces, facts.ambient) == (False, {}, {}, None)
    # the cluster-wide list is refused: each namespace's, where team's is allowed and istio-system's not
    assert sidecar_names(facts) == [("team", "default")]
    assert facts.policy("team") is None  # no istiod known: no outbound policy to tell
    everywhere = detect.read(kube, all_namespaces=True)
    assert (everywhere.namespaces, everywhere.sidecars) == ({}, [])

    res = egress("externalname", "api", "api.example.com", "-n", "team", "--as", "jane")
    # istiod unread: alias mode guessed from networking v1 (served from 1.22), so a ServiceEntry too
    assert (res.code, res.lines) == (0, ["service/api created", "serviceentry.networking.istio.io/api created",
                                         "destinationrule.networking.istio.io/api created"]), res.err
    res = kubectl("egress", "clean", "api", "-n", "team", "--as", "jane")
    assert (res.code, sorted(res.lines)) == (0, ['destinationrule.networking.istio.io "api" deleted',
                                                 'service "api" deleted',
                                                 'serviceentry.networking.istio.io "api" deleted']), res.err
    res = egress("externalname", "api", "api.example.com", "-n", "default", "--as", "jane")
    assert res.code == 1 and 'User "jane" cannot' in res.err and 'in the namespace "default"' in res.err


def test_a_namespace_developer_gets_and_checks_their_own(cluster, egress, kubectl):
    """Read-only commands work on what jane may read: istio-system's DestinationRules are left out, and
    she is told so once, in kubectl's warning line."""
    assert egress("externalname", "web", "web.example.com", "-n", "team", "--as", "jane").code == 0
    warning = ('Warning: DestinationRules in istio-system could not be read (destinationrules.networking.istio.io '
               'is forbidden: User "jane" cannot list resource "destinationrules" in API group '
               '"networking.istio.io" in the namespace "istio-system"); a mesh-wide rule there is not taken '
               'into account')
    try:
        res = kubectl("egress", "get", "-n", "team", "--as", "jane")
        assert res.code == 0 and res.err.splitlines() == [warning], res.err
        assert [line.split()[:2] for line in res.lines] == [["NAME", "TYPE"], ["web", "ExternalName"]]
        res = egress("check", "-n", "team", "--as", "jane", "-o", "json")
        assert res.code == 0 and res.err.splitlines() == [warning] and res.json()["items"] == [], res.err
        res = egress("get", "-A", "--as", "jane")  # every namespace's Services: a fact about the cluster
        assert res.code == 1 and 'cannot list resource "services"' in res.err
    finally:
        assert egress("clean", "web", "-n", "team", "--as", "jane").code == 0


def test_istio_readable_in_part(cluster, egress, kubectl):
    """ops reads the istiod Deployments and one mesh config, not the other, nor the tag webhooks, nor
    Sidecars but istio-system's and mesh-root's: each unknown is said or left unknown."""
    kube = kube_as("ops")
    facts = detect.read(kube, namespaces=["b", "istio-system"])
    assert facts.istiod_known and sorted(facts.revisions) == ["canary", "default"]
    default, canary = facts.revisions["default"], facts.revisions["canary"]
    assert (default.outbound, default.outbound_source, default.root_namespace) == (
        "ALLOW_ANY", "Istio's default (istio-system/istio could not be read)", "istio-system")
    assert (canary.outbound, canary.outbound_source, canary.root_namespace) == (
        "ALLOW_ANY", "mesh config istio-system/istio-canary", "mesh-root")
    assert not facts.configs["default"].readable and facts.configs["canary"].readable
    # b asks for revision stable, which no istiod serves: the tag webhooks would tell, and are refused
    assert (facts.tags, facts.tags_known, facts.exists("stable"), facts.exists("canary")) == ({}, False, None, True)
    assert facts.namespace_exists("b") is True and facts.namespace("b").revision == "stable"
    # Sidecars: the cluster list refused, then each namespace's once (b's refused, istio-system's), then
    # those of the canary's root namespace, mesh-root
    assert sidecar_names(facts) == [("istio-system", "default"), ("mesh-root", "default")] and facts.ambient is None
    assert sidecar_names(detect.read(kube, namespaces=["b"])) == sidecar_names(facts)
    # a namespace that asks for no revision: no tag to read, so a revision that is not there is known not to be
    root = detect.read(kube, namespaces=["mesh-root"])
    assert (root.tags_known, root.exists("stable"), root.namespace("mesh-root").revision) == (True, False, "")
    assert sidecar_names(root) == [("mesh-root", "default"), ("istio-system", "default")]
    assert facts.mesh("b").source == "guessed from networking.istio.io/v1 (namespace b asks for revision stable, " \
                                     "which no istiod serves)"

    res = kubectl("egress", "version", "-o", "json", "--as", "ops")
    assert res.code == 0, res.err
    assert [(r["name"], r["outboundTrafficPolicySource"]) for r in res.json()["istio"]["revisions"]] == [
        ("canary", "mesh config istio-system/istio-canary"),
        ("default", "Istio's default (istio-system/istio could not be read)")]
    admin = detect.read(App.from_raw({}).kube(), namespaces=["b"])  # what ops is not told
    assert admin.tags_known and admin.configs["default"].outbound == "REGISTRY_ONLY"
    assert sidecar_names(admin) == [("b", "default"), ("istio-system", "default"), ("mesh-root", "default"),
                                    ("team", "default")]


def test_a_namespace_developer_with_a_host_no_entry_of_theirs_declares(cluster, egress, kubectl):
    """In alias mode a host no ServiceEntry of the namespace declares sends get to every namespace's entries
    (whose namespace's exported rules Istio applies): jane may not list them, so that lookup is left out
    quietly and get goes on with what she may read."""
    kubectl_apply(kubectl, "apiVersion: v1\nkind: Service\nmetadata: {name: bare, namespace: team}\n"
                           "spec: {type: ExternalName, externalName: bare.example.com, ports: [{name: https, port: 443}]}\n")
    try:
        res = egress("get", "-n", "team", "--as", "jane")  # in process: where make mutate's mutants are seen
        assert res.code == 0 and len(res.err.splitlines()) == 1 and "istio-system" in res.err, res.err
        assert [line.split()[:2] for line in res.lines] == [["NAME", "TYPE"], ["bare", "ExternalName"]]
    finally:
        assert kubectl("delete", "service", "bare", "-n", "team").code == 0
