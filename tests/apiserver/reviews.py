"""Reviews a user asks about itself: SelfSubjectAccessReview (`kubectl auth can-i`),
SelfSubjectRulesReview (`auth can-i --list`) and SelfSubjectReview (`auth whoami`).

Computed per request, never stored (create only, 201), answered from the same
authorizer that guards every request (rbac.py), for the request's own user:

- SelfSubjectAccessReview: pkg/registry/authorization/selfsubjectaccessreview/rest.go
  (ValidateSelfSubjectAccessReviewSpec: exactly one of resourceAttributes or
  nonResourceAttributes; status allowed, denied, reason);
- SelfSubjectRulesReview: pkg/registry/authorization/selfsubjectrulesreview/rest.go
  ("no namespace on request" without one; the rules RulesFor gives, resource and
  non-resource rules apart; incomplete false: no authorizer here lists partially);
- SelfSubjectReview: pkg/registry/authentication/selfsubjectreview/rest.go.

Like every create, the answer carries the field manager's managedFields of what
the client sent.
"""
from __future__ import annotations

import copy
from typing import TYPE_CHECKING

from . import rbac
from .errors import Cause, bad_request, invalid

if TYPE_CHECKING:  # pragma: no cover
    from .cluster import Cluster
    from .routes import Target
    from .server import Request


def _start(cluster: "Cluster", req: "Request", target: "Target", body: dict) -> dict:
    kind = target.kind
    if not isinstance(body, dict) or body.get("kind") != kind.kind \
            or body.get("apiVersion") not in (kind.api_version(target.version), None):
        raise bad_request(f"not a {kind.kind}: {body!r:.200}")
    obj = copy.deepcopy(body)
    obj["apiVersion"] = kind.api_version(target.version)
    meta = obj.setdefault("metadata", {})
    meta["creationTimestamp"] = None
    cluster.api.track_create(kind, target.version, obj, req)
    return obj


def access_review(cluster: "Cluster", req: "Request", target: "Target", body: dict) -> dict:
    obj = _start(cluster, req, target, body)
    spec = obj.get("spec") or {}
    resource, non_resource = spec.get("resourceAttributes"), spec.get("nonResourceAttributes")
    causes = []
    if resource is not None and non_resource is not None:
        causes.append(Cause("FieldValueInvalid", "Invalid value: \"null\": cannot be specified in combination "
                            "with resourceAttributes", "spec.nonResourceAttributes"))
    if resource is None and non_resource is None:
        causes.append(Cause("FieldValueInvalid", "Invalid value: \"null\": exactly one of nonResourceAttributes "
                            "or resourceAttributes must be specified", "spec.resourceAttributes"))
    if causes:
        raise invalid("SelfSubjectAccessReview", "", causes, "authorization.k8s.io")
    if resource is not None:  # authorizationutil.ResourceAttributesFrom
        attrs = rbac.Attributes(resource.get("verb", ""), True, resource.get("namespace", ""),
                                resource.get("group", ""), resource.get("resource", ""),
                                resource.get("subresource", ""), resource.get("name", ""))
    else:
        attrs = rbac.Attributes(non_resource.get("verb", ""), False, path=non_resource.get("path", ""))
    allowed, reason = cluster.allowed(req.user, attrs)
    status: dict = {"allowed": allowed}
    if reason:
        status["reason"] = reason
    obj["status"] = status
    return obj


def rules_review(cluster: "Cluster", req: "Request", target: "Target", body: dict) -> dict:
    obj = _start(cluster, req, target, body)
    namespace = (obj.get("spec") or {}).get("namespace", "")
    if not namespace:
        raise bad_request("no namespace on request")
    resource_rules, non_resource_rules = [], []
    for rule in rbac.rules_for(req.user.name, req.user.groups, namespace,
                                 cluster.role_bindings(namespace)):
        if rule.resources:
            entry = {"verbs": list(rule.verbs), "apiGroups": list(rule.api_groups), "resources": list(rule.resources)}
            if rule.resource_names:
                entry["resourceNames"] = list(rule.resource_names)
            resource_rules.append(entry)
        if rule.non_resource_urls:
            non_resource_rules.append({"verbs": list(rule.verbs), "nonResourceURLs": list(rule.non_resource_urls)})
    obj["status"] = {"resourceRules": resource_rules, "nonResourceRules": non_resource_rules, "incomplete": False}
    return obj


def self_review(cluster: "Cluster", req: "Request", target: "Target", body: dict) -> dict:
    obj = _start(cluster, req, target, body)
    obj["status"] = {"userInfo": {"username": req.user.name, "groups": list(req.user.groups)}}
    return obj
