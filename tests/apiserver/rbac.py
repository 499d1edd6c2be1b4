"""Authorization as kube-apiserver's RBAC authorizer decides it, for this cluster's policy.

One function of (user, groups, request attributes): `authorize`, the RBAC
authorizer's `Authorize` (kubernetes plugin/pkg/auth/authorizer/rbac/rbac.go):
the rules of every binding whose subjects name the user or one of its groups
are visited in turn; the first rule that allows the request wins, and its
binding is the reason (`RBAC: allowed by ClusterRoleBinding "x" of ClusterRole
"y" to Group "z"`). Nothing allows: no opinion, no reason, and the request is
forbidden. `rules_for` is `RulesFor`, what SelfSubjectRulesReview lists.
Rule matching is `RuleAllows` with the helpers of pkg/apis/rbac/v1/evaluation_helpers.go.

The policy: the bootstrap cluster roles a fresh cluster binds to every
authenticated user (plugin/pkg/auth/authorizer/rbac/bootstrappolicy/policy.go:
system:basic-user, system:discovery, system:public-info-viewer; cluster-admin
bound to the group system:masters), and this cluster's own `local-readonly`
ClusterRole (get, list and watch on everything) bound to the kubeconfig's
`reader`. Any other user (a certificate outside system:masters, a service
account) has only what every authenticated user has: discovery and the reviews,
and what the Roles and RoleBindings a test creates in a namespace give it there
(after the cluster bindings, as VisitRulesFor visits them: a RoleBinding names a
Role of its namespace or one of the ClusterRoles above). The cluster-wide roles
and bindings are this fixed policy, not stored objects; no escalation check
guards writing a Role (policybased/storage.go): only system:masters may write
them here unless a binding says otherwise.

As in Kubernetes 1.33, `get` on pods/exec is enough to exec through a WebSocket
(kubectl's GET upgrade is authorized as get; the extra `create` check of
AuthorizePodWebsocketUpgradeCreatePermission is beta only from 1.35,
kubernetes#133515), so the reader can exec. Authentication (who the user is, impersonation) is
not decided here: callers pass the user they authenticated.
"""
from __future__ import annotations

from dataclasses import dataclass

READ = ("get", "list", "watch")


@dataclass(frozen=True)
class Rule:
    """rbacv1.PolicyRule."""

    verbs: tuple[str, ...]
    api_groups: tuple[str, ...] = ()
    resources: tuple[str, ...] = ()
    resource_names: tuple[str, ...] = ()
    non_resource_urls: tuple[str, ...] = ()


@dataclass(frozen=True)
class Binding:
    """A ClusterRoleBinding: its subjects are (kind, name) pairs, kind User or Group."""

    name: str
    role: str
    subjects: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Attributes:
    """authorizer.Attributes of one request (or of a SubjectAccessReview's spec)."""

    verb: str
    resource_request: bool = True
    namespace: str = ""
    api_group: str = ""
    resource: str = ""
    subresource: str = ""
    name: str = ""
    path: str = ""


# bootstrappolicy/policy.go ClusterRoles() (Kubernetes 1.33); selfsubjectreviews joined
# system:basic-user when SelfSubjectReview went GA (1.28).
CLUSTER_ROLES: dict[str, tuple[Rule, ...]] = {
    "cluster-admin": (Rule(("*",), ("*",), ("*",)), Rule(("*",), non_resource_urls=("*",))),
    "system:discovery": (Rule(("get",), non_resource_urls=(
        "/livez", "/readyz", "/healthz", "/version", "/version/", "/openapi", "/openapi/*",
        "/api", "/api/*", "/apis", "/apis/*")),),
    "system:basic-user": (
        Rule(("create",), ("authorization.k8s.io",), ("selfsubjectaccessreviews", "selfsubjectrulesreviews")),
        Rule(("create",), ("authentication.k8s.io",), ("selfsubjectreviews",))),
    "system:public-info-viewer": (Rule(("get",), non_resource_urls=(
        "/livez", "/readyz", "/healthz", "/version", "/version/")),),
    # this cluster's read-only user: everything, read only
    "local-readonly": (Rule(READ, ("*",), ("*",)),),
}

AUTHENTICATED, UNAUTHENTICATED = ("Group", "system:authenticated"), ("Group", "system:unauthenticated")

# bootstrappolicy/policy.go ClusterRoleBindings(), plus local-readonly; visited by name, as
# kubectl lists them (the real lister's order is its cache's).
CLUSTER_ROLE_BINDINGS: tuple[Binding, ...] = (
    Binding("cluster-admin", "cluster-admin", (("Group", "system:masters"),)),
    Binding("local-readonly", "local-readonly", (("User", "reader"),)),
    Binding("system:basic-user", "system:basic-user", (AUTHENTICATED,)),
    Binding("system:discovery", "system:discovery", (AUTHENTICATED,)),
    Binding("system:public-info-viewer", "system:public-info-viewer", (AUTHENTICATED, UNAUTHENTICATED)),
)


def _applies(subject: tuple[str, str], user: str, groups: tuple[str, ...]) -> bool:
    """appliesToUser (pkg/registry/rbac/validation/rule.go) for User and Group subjects."""
    kind, name = subject
    return (kind == "User" and name == user) or (kind == "Group" and name in groups)


def _verb_matches(rule: Rule, verb: str) -> bool:
    return "*" in rule.verbs or verb in rule.verbs


def _group_matches(rule: Rule, group: str) -> bool:
    return "*" in rule.api_groups or group in rule.api_groups


def _resource_matches(rule: Rule, combined: str, subresource: str) -> bool:
    for resource in rule.resources:
        if resource in ("*", combined):
            return True
        # */subresource
        if subresource and resource == "*/" + subresource:
            return True
    return False


def _name_matches(rule: Rule, name: str) -> bool:
    return not rule.resource_names or name in rule.resource_names


def _url_matches(rule: Rule, path: str) -> bool:
    for url in rule.non_resource_urls:
        if url in ("*", path):
            return True
        if url.endswith("*") and path.startswith(url.rstrip("*")):
            return True
    return False


def rule_allows(attrs: Attributes, rule: Rule) -> bool:
    """RuleAllows (rbac.go)."""
    if attrs.resource_request:
        combined = f"{attrs.resource}/{attrs.subresource}" if attrs.subresource else attrs.resource
        return (_verb_matches(rule, attrs.verb) and _group_matches(rule, attrs.api_group)
                and _resource_matches(rule, combined, attrs.subresource) and _name_matches(rule, attrs.name))
    return _verb_matches(rule, attrs.verb) and _url_matches(rule, attrs.path)


def _describe(binding: Binding, subject: tuple[str, str]) -> str:
    """clusterRoleBindingDescriber.String and describeSubject (validation/rule.go)."""
    return (f'ClusterRoleBinding "{binding.name}" of ClusterRole "{binding.role}" to '
            f'{subject[0]} "{subject[1]}"')


@dataclass(frozen=True)
class RoleBinding:
    """A RoleBinding of a namespace, its role's rules resolved (GetRoleReferenceRules)."""

    name: str
    namespace: str
    role_kind: str  # Role or ClusterRole
    role: str
    subjects: tuple[dict, ...]  # rbacv1.Subject: kind, name, namespace (ServiceAccount)
    rules: tuple[Rule, ...]


def _rule(rule: dict) -> Rule:
    return Rule(tuple(rule.get("verbs") or ()), tuple(rule.get("apiGroups") or ()),
                tuple(rule.get("resources") or ()), tuple(rule.get("resourceNames") or ()),
                tuple(rule.get("nonResourceURLs") or ()))


def role_bindings(bindings: list[dict], roles: list[dict]) -> list[RoleBinding]:
    """The RoleBinding objects of one namespace with their rules: a Role of that namespace, or a
    ClusterRole of this cluster's policy; a role that does not exist gives no rules (rule.go
    GetRoleReferenceRules answers an error, which the authorizer skips)."""
    by_name = {r["metadata"]["name"]: r for r in roles}
    out = []
    for obj in bindings:
        ref = obj.get("roleRef") or {}
        if ref.get("kind") == "Role":
            rules = tuple(_rule(r) for r in (by_name.get(ref.get("name"), {}).get("rules") or ()))
        else:
            rules = CLUSTER_ROLES.get(ref.get("name", ""), ())
        out.append(RoleBinding(obj["metadata"]["name"], obj["metadata"].get("namespace", ""), ref.get("kind", ""),
                               ref.get("name", ""), tuple(obj.get("subjects") or ()), rules))
    return out


def _subject_applies(subject: dict, user: str, groups: tuple[str, ...], namespace: str) -> bool:
    """appliesToUser (validation/rule.go): a ServiceAccount without a namespace is the binding's."""
    kind, name = subject.get("kind"), subject.get("name")
    if kind == "ServiceAccount":
        return user == f"system:serviceaccount:{subject.get('namespace') or namespace}:{name}"
    return _applies((kind or "", name or ""), user, groups)


def _describe_subject(subject: dict, namespace: str) -> str:
    """describeSubject (validation/rule.go)."""
    if subject.get("kind") == "ServiceAccount":
        return f'ServiceAccount "{subject.get("name")}/{subject.get("namespace") or namespace}"'
    return f'{subject.get("kind")} "{subject.get("name")}"'


def authorize(user: str, groups: tuple[str, ...], attrs: Attributes,
              namespaced: list[RoleBinding] = ()) -> tuple[bool, str]:
    """(allowed, reason): the RBAC authorizer's decision and its reason. namespaced: the
    RoleBindings of the request's namespace (visited only for a namespaced request)."""
    for binding in CLUSTER_ROLE_BINDINGS:
        subject = next((s for s in binding.subjects if _applies(s, user, groups)), None)
        if subject is None:
            continue
        for rule in CLUSTER_ROLES.get(binding.role, ()):
            if rule_allows(attrs, rule):
                return True, f"RBAC: allowed by {_describe(binding, subject)}"
    for rb in namespaced if attrs.namespace else ():
        subject = next((s for s in rb.subjects if _subject_applies(s, user, groups, rb.namespace)), None)
        if subject is None:
            continue
        for rule in rb.rules:
            if rule_allows(attrs, rule):  # roleBindingDescriber.String
                return True, (f'RBAC: allowed by RoleBinding "{rb.name}/{rb.namespace}" of {rb.role_kind} '
                              f'"{rb.role}" to {_describe_subject(subject, rb.namespace)}')
    return False, ""


def rules_for(user: str, groups: tuple[str, ...], namespace: str = "",
              namespaced: list[RoleBinding] = ()) -> list[Rule]:
    """Every rule that applies to the user in the namespace (RulesFor), bindings in order."""
    rules: list[Rule] = []
    for binding in CLUSTER_ROLE_BINDINGS:
        if any(_applies(s, user, groups) for s in binding.subjects):
            rules.extend(CLUSTER_ROLES.get(binding.role, ()))
    for rb in namespaced if namespace else ():
        if any(_subject_applies(s, user, groups, rb.namespace) for s in rb.subjects):
            rules.extend(rb.rules)
    return rules
