"""Impersonation, as kube-apiserver's filter does it (kubernetes/apiserver
pkg/endpoints/filters/impersonation/impersonation.go, WithImpersonation and
buildImpersonationRequests).

`Impersonate-User` (a user, or `system:serviceaccount:NS:NAME`), `Impersonate-Group`
(repeated), `Impersonate-Uid` and `Impersonate-Extra-*` each ask the authorizer for the verb
`impersonate` on users, serviceaccounts, groups, uids or userextras; the first refusal is the
403. Groups, a UID or extras without a user are a 400. The impersonated user gets
`system:authenticated` unless a group says otherwise. The cluster's RBAC decides both who may
impersonate (the admin, through `system:masters`) and what the impersonated user may do.
"""
from __future__ import annotations

from urllib.parse import unquote

from . import rbac
from .cluster import Cluster, User
from .errors import bad_request, forbidden

SA_PREFIX = "system:serviceaccount:"


def _reference(kind: str, name: str, namespace: str = "", api_version: str = "", field_path: str = "") -> str:
    """A v1.ObjectReference as Go's %v prints it: {Kind Namespace Name UID APIVersion ResourceVersion FieldPath}."""
    return "{" + " ".join([kind, namespace, name, "", api_version, "", field_path]) + "}"


def impersonate(cluster: Cluster, requestor: User, headers: list[tuple[str, str]]) -> User:
    """The user a request acts as: requestor itself, or whom its Impersonate-* headers name."""
    lower = [(k.lower(), v) for k, v in headers]
    user_name = next((v for k, v in lower if k == "impersonate-user"), "")
    groups_asked = [v for k, v in lower if k == "impersonate-group"]
    uid = next((v for k, v in lower if k == "impersonate-uid"), "")
    extras = [(unquote(k[len("impersonate-extra-"):]), v) for k, v in lower if k.startswith("impersonate-extra-")]
    if not (user_name or groups_asked or uid or extras):
        return requestor
    # (resource, namespace, name, subresource) to authorize, in buildImpersonationRequests' order
    asks: list[tuple[str, str, str, str]] = []
    refs: list[str] = []
    service_account = None
    if user_name:
        parts = user_name[len(SA_PREFIX):].split(":") if user_name.startswith(SA_PREFIX) else []
        if len(parts) == 2 and all(parts):
            service_account = parts
            asks.append(("serviceaccounts", parts[0], parts[1], ""))
            refs.append(_reference("ServiceAccount", parts[1], parts[0]))
        else:
            asks.append(("users", "", user_name, ""))
            refs.append(_reference("User", user_name))
    for group in groups_asked:
        asks.append(("groups", "", group, ""))
        refs.append(_reference("Group", group))
    for key, value in extras:
        asks.append(("userextras", "", value, key))
        refs.append(_reference("UserExtra", value, api_version="authentication.k8s.io/v1", field_path=key))
    if uid:
        asks.append(("uids", "", uid, ""))
        refs.append(_reference("UID", uid, api_version="authentication.k8s.io/v1"))
    if not user_name:
        raise bad_request(f"requested [{' '.join(refs)}] without impersonating a user")
    for resource, namespace, name, sub in asks:
        group = "authentication.k8s.io" if resource in ("uids", "userextras") else ""
        if not cluster.allowed(requestor, rbac.Attributes("impersonate", True, namespace, group, resource, sub,
                                                          name))[0]:
            raise forbidden(requestor.name, "impersonate", resource, group, namespace, name, sub)
    groups = list(groups_asked)
    if service_account and not groups_asked:
        groups = ["system:serviceaccounts", f"system:serviceaccounts:{service_account[0]}"]
    if user_name != "system:anonymous":
        if not {"system:authenticated", "system:unauthenticated"} & set(groups):
            groups.append("system:authenticated")
    elif "system:unauthenticated" not in groups:
        groups.append("system:unauthenticated")
    return User(user_name, tuple(groups))

