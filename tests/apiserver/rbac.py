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
account) has only what every authenticated user has: discovery and the reviews.

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


def authorize(user: str, groups: tuple[str, ...], attrs: Attributes) -> tuple[bool, str]:
    """(allowed, reason): the RBAC authorizer's decision and its reason."""
    for binding in CLUSTER_ROLE_BINDINGS:
        subject = next((s for s in binding.subjects if _applies(s, user, groups)), None)
        if subject is None:
            continue
        for rule in CLUSTER_ROLES.get(binding.role, ()):
            if rule_allows(attrs, rule):
                return True, f"RBAC: allowed by {_describe(binding, subject)}"
    return False, ""


def rules_for(user: str, groups: tuple[str, ...], namespace: str = "") -> list[Rule]:
    """Every rule that applies to the user in the namespace (RulesFor), bindings in order."""
    rules: list[Rule] = []
    for binding in CLUSTER_ROLE_BINDINGS:
        if any(_applies(s, user, groups) for s in binding.subjects):
            rules.extend(CLUSTER_ROLES.get(binding.role, ()))
    return rules
