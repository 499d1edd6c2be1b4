"""Who may do what: RequestInfo, the RBAC authorizer, the reviews that report it, and service
account tokens; pure tables with upstream vectors, then real `kubectl auth` and `kubectl create token`."""
from __future__ import annotations

import base64
import json

import pytest

from tests.apiserver import rbac
from tests.apiserver.requestinfo import request_info

# apiserver pkg/endpoints/request/requestinfo_test.go TestGetAPIRequestInfo (successCases):
# method, url, verb, namespace, resource, subresource, name
REQUEST_INFO = [
    ("GET", "/api/v1/namespaces", "list", "", "namespaces", "", ""),
    ("GET", "/api/v1/namespaces/other", "get", "other", "namespaces", "", "other"),
    ("GET", "/api/v1/namespaces/other/pods", "list", "other", "pods", "", ""),
    ("GET", "/api/v1/namespaces/other/pods/foo", "get", "other", "pods", "", "foo"),
    ("HEAD", "/api/v1/namespaces/other/pods/foo", "get", "other", "pods", "", "foo"),
    ("GET", "/api/v1/pods", "list", "", "pods", "", ""),
    ("HEAD", "/api/v1/pods", "list", "", "pods", "", ""),
    ("GET", "/api/v1/proxy/namespaces/other/pods/foo", "proxy", "other", "pods", "", "foo"),
    ("GET", "/api/v1/proxy/namespaces/other/pods/foo/subpath/not/a/subresource", "proxy", "other", "pods", "", "foo"),
    ("GET", "/api/v1/watch/pods", "watch", "", "pods", "", ""),
    ("GET", "/api/v1/pods?watch=true", "watch", "", "pods", "", ""),
    ("GET", "/api/v1/pods?watch=false", "list", "", "pods", "", ""),
    ("GET", "/api/v1/watch/namespaces/other/pods", "watch", "other", "pods", "", ""),
    ("GET", "/api/v1/namespaces/other/pods?watch=1", "watch", "other", "pods", "", ""),
    ("GET", "/api/v1/namespaces/other/pods?watch=0", "list", "other", "pods", "", ""),
    ("GET", "/api/v1/namespaces/other/pods/foo/status", "get", "other", "pods", "status", "foo"),
    ("GET", "/api/v1/namespaces/other/pods/foo/proxy/subpath", "get", "other", "pods", "proxy", "foo"),
    ("PUT", "/api/v1/namespaces/other/finalize", "update", "other", "namespaces", "finalize", "other"),
    ("PUT", "/api/v1/namespaces/other/status", "update", "other", "namespaces", "status", "other"),
    ("PATCH", "/api/v1/namespaces/other/pods/foo", "patch", "other", "pods", "", "foo"),
    ("DELETE", "/api/v1/namespaces/other/pods/foo", "delete", "other", "pods", "", "foo"),
    ("POST", "/api/v1/namespaces/other/pods", "create", "other", "pods", "", ""),
    ("DELETE", "/api/v1/nodes", "deletecollection", "", "nodes", "", ""),
    ("DELETE", "/api/v1/namespaces", "deletecollection", "", "namespaces", "", ""),
    ("DELETE", "/api/v1/namespaces/other/pods", "deletecollection", "other", "pods", "", ""),
    ("DELETE", "/apis/extensions/v1/namespaces/other/pods", "deletecollection", "other", "pods", "", ""),
    ("POST", "/apis/extensions/v1/namespaces/other/pods", "create", "other", "pods", "", ""),
    ("POST", "/apis/extensions/v1beta3/namespaces/other/pods", "create", "other", "pods", "", ""),
    # TestFieldSelectorParsing: an exact metadata.name names the object of a list or watch
    ("GET", "/api/v1/namespaces/other/pods?fieldSelector=metadata.name%3Dfoo", "list", "other", "pods", "", "foo"),
]


@pytest.mark.parametrize("method, url, verb, namespace, resource, sub, name", REQUEST_INFO)
def test_request_info(method, url, verb, namespace, resource, sub, name):
    from urllib.parse import parse_qs, unquote, urlsplit
    parts = urlsplit(url)
    info = request_info(method, parts.path, {k: [unquote(v) for v in vs]
                                             for k, vs in parse_qs(parts.query, keep_blank_values=True).items()})
    assert info.resource_request
    assert (info.verb, info.namespace, info.resource, info.subresource, info.name) == \
        (verb, namespace, resource, sub, name)


@pytest.mark.parametrize("path", ["/", "/api", "/apis", "/apis/apps", "/version", "/openapi/v3/api/v1", "/healthz"])
def test_non_resource_requests(path):
    info = request_info("GET", path)
    assert not info.resource_request and info.verb == "get" and info.path == path


# pkg/apis/rbac/v1/evaluation_helpers.go (ResourceMatches, NonResourceURLMatches) via RuleAllows
RULES = [
    (rbac.Rule(("get",), ("",), ("pods",)), rbac.Attributes("get", resource="pods"), True),
    (rbac.Rule(("get",), ("",), ("pods",)), rbac.Attributes("list", resource="pods"), False),
    (rbac.Rule(("get",), ("",), ("pods",)), rbac.Attributes("get", resource="pods", subresource="log"), False),
    (rbac.Rule(("get",), ("",), ("pods/log",)), rbac.Attributes("get", resource="pods", subresource="log"), True),
    (rbac.Rule(("get",), ("",), ("*/log",)), rbac.Attributes("get", resource="pods", subresource="log"), True),
    (rbac.Rule(("get",), ("",), ("*/log",)), rbac.Attributes("get", resource="pods"), False),
    (rbac.Rule(("*",), ("*",), ("*",)), rbac.Attributes("create", api_group="apps", resource="deployments"), True),
    (rbac.Rule(("get",), ("apps",), ("deployments",)), rbac.Attributes("get", resource="deployments"), False),
    (rbac.Rule(("get",), ("",), ("pods",), ("a",)), rbac.Attributes("get", resource="pods", name="a"), True),
    (rbac.Rule(("get",), ("",), ("pods",), ("a",)), rbac.Attributes("get", resource="pods", name="b"), False),
    (rbac.Rule(("get",), non_resource_urls=("/apis/*",)), rbac.Attributes("get", False, path="/apis/apps"), True),
    (rbac.Rule(("get",), non_resource_urls=("/apis",)), rbac.Attributes("get", False, path="/apis/apps"), False),
    (rbac.Rule(("get",), non_resource_urls=("*",)), rbac.Attributes("post", False, path="/x"), False),
]


@pytest.mark.parametrize("rule, attrs, allowed", RULES)
def test_rule_allows(rule, attrs, allowed):
    assert rbac.rule_allows(attrs, rule) is allowed


def test_decisions_and_reasons():
    admin = ("admin", ("system:masters", "system:authenticated"))
    assert rbac.authorize(*admin, rbac.Attributes("create", namespace="default", resource="services")) == (
        True, 'RBAC: allowed by ClusterRoleBinding "cluster-admin" of ClusterRole "cluster-admin" to Group '
              '"system:masters"')
    assert rbac.authorize("reader", ("system:authenticated",), rbac.Attributes("list", resource="pods")) == (
        True, 'RBAC: allowed by ClusterRoleBinding "local-readonly" of ClusterRole "local-readonly" to User "reader"')
    assert rbac.authorize("reader", ("system:authenticated",), rbac.Attributes("create", resource="pods")) == \
        (False, "")
    sa = ("system:serviceaccount:default:x", ("system:serviceaccounts", "system:authenticated"))
    assert rbac.authorize(*sa, rbac.Attributes("get", resource="pods"))[0] is False
    assert rbac.authorize(*sa, rbac.Attributes("get", False, path="/version"))[0] is True
    assert rbac.authorize("system:anonymous", ("system:unauthenticated",),
                          rbac.Attributes("get", False, path="/healthz"))[0] is True



def test_role_bindings_of_a_namespace():
    """VisitRulesFor after the cluster bindings: a namespace's RoleBindings, for requests in it only;
    a ServiceAccount subject without a namespace is the binding's (appliesToUser), a missing Role
    gives no rules (GetRoleReferenceRules), and the reasons are roleBindingDescriber's."""
    roles = [{"metadata": {"name": "dev", "namespace": "team"},
              "rules": [{"apiGroups": [""], "resources": ["services"], "verbs": ["get", "list"]}]}]
    bindings = rbac.role_bindings([
        {"metadata": {"name": "gone", "namespace": "team"}, "roleRef": {"kind": "Role", "name": "missing"},
         "subjects": [{"kind": "User", "name": "jane"}]},
        {"metadata": {"name": "dev", "namespace": "team"}, "roleRef": {"kind": "Role", "name": "dev"},
         "subjects": [{"kind": "Group", "name": "devs"}, {"kind": "ServiceAccount", "name": "bot"}]},
        {"metadata": {"name": "view", "namespace": "team"},
         "roleRef": {"kind": "ClusterRole", "name": "local-readonly"},
         "subjects": [{"kind": "ServiceAccount", "name": "ci", "namespace": "tools"}]},
    ], roles)
    get = rbac.Attributes("get", namespace="team", resource="services")
    authenticated = ("system:authenticated",)
    assert rbac.authorize("jane", authenticated, get, bindings) == (False, "")
    assert rbac.authorize("jane", ("devs", *authenticated), get, bindings) == (
        True, 'RBAC: allowed by RoleBinding "dev/team" of Role "dev" to Group "devs"')
    assert rbac.authorize("system:serviceaccount:team:bot", authenticated, get, bindings) == (
        True, 'RBAC: allowed by RoleBinding "dev/team" of Role "dev" to ServiceAccount "bot/team"')
    assert rbac.authorize("system:serviceaccount:other:bot", authenticated, get, bindings) == (False, "")
    assert rbac.authorize("system:serviceaccount:tools:ci", authenticated,
                          rbac.Attributes("list", namespace="team", resource="pods"), bindings) == (
        True, 'RBAC: allowed by RoleBinding "view/team" of ClusterRole "local-readonly" to ServiceAccount "ci/tools"')
    # a cluster-scoped request is not the namespace's: its RoleBindings are not visited
    assert rbac.authorize("jane", ("devs", *authenticated), rbac.Attributes("get", resource="services"),
                          bindings) == (False, "")
    assert rbac.authorize("jane", ("devs", *authenticated), rbac.Attributes("delete", namespace="team",
                                                                            resource="services"), bindings)[0] is False
    assert rbac.rules_for("jane", ("devs", *authenticated), "team", bindings)[-1] == rbac.Rule(
        ("get", "list"), ("",), ("services",))


# -- real kubectl ------------------------------------------------------------------------------------
def test_kubectl_auth_can_i_with_both_contexts(apiserver, kubectl):
    res = kubectl("auth", "can-i", "create", "services")
    assert (res.code, res.out) == (0, "yes\n")
    res = kubectl("--context", "local-readonly", "auth", "can-i", "create", "services")
    assert (res.code, res.out) == (1, "no\n")
    assert kubectl("--context", "local-readonly", "auth", "can-i", "list", "destinationrules").out == "yes\n"
    assert kubectl("auth", "can-i", "get", "/healthz").out == "yes\n"


def test_kubectl_auth_can_i_list(apiserver, kubectl):
    rows = [line.split() for line in kubectl("--context", "local-readonly", "auth", "can-i", "--list").out.splitlines()]
    assert rows[0] == ["Resources", "Non-Resource", "URLs", "Resource", "Names", "Verbs"]
    assert ["*.*", "[]", "[]", "[get", "list", "watch]"] in rows
    assert ["selfsubjectaccessreviews.authorization.k8s.io", "[]", "[]", "[create]"] in rows
    assert ["[/version]", "[]", "[get]"] in rows
    admin = kubectl("auth", "can-i", "--list").out
    assert "[*]                 []               [*]" in admin


def test_kubectl_create_token_and_use_it(apiserver, kubectl):
    assert kubectl("create", "serviceaccount", "sleep").code == 0
    res = kubectl("create", "token", "sleep")  # a protobuf TokenRequest
    assert res.code == 0, res.err
    token = res.out.strip()
    header, claims, signature = token.split(".")
    pad = lambda s: s + "=" * (-len(s) % 4)  # noqa: E731
    assert json.loads(base64.urlsafe_b64decode(pad(header)))["alg"] == "RS256"
    claims = json.loads(base64.urlsafe_b64decode(pad(claims)))
    assert claims["sub"] == "system:serviceaccount:default:sleep"
    assert claims["aud"] == ["https://kubernetes.default.svc.cluster.local"]
    assert claims["exp"] - claims["iat"] == 3600
    assert list(claims) == ["aud", "exp", "iat", "iss", "jti", "kubernetes.io", "nbf", "sub"]
    who = kubectl("--token", token, "auth", "whoami", "-o", "json")
    assert json.loads(who.out)["status"]["userInfo"]["username"] == "system:serviceaccount:default:sleep"
    res = kubectl("--token", token, "get", "pods")
    assert res.code == 1 and ('User "system:serviceaccount:default:sleep" cannot list resource "pods" in API group'
                              ' "" in the namespace "default"') in res.err
    res = kubectl("create", "token", "sleep", "--duration", "5m")
    assert res.code == 1 and "may not specify a duration less than 10 minutes" in res.err
    assert kubectl("delete", "serviceaccount", "sleep").code == 0
    res = kubectl("--token", token, "auth", "whoami")
    assert res.code == 1 and "Unauthorized" in res.err  # the token died with its ServiceAccount
