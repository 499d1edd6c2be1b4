"""Reading what the cluster runs of Istio: the only part of the mesh package that talks to the API.

`detect` answers the cluster-level question cheaply (discovery, then the istiod Deployments), for
commands that only need the API version and the ExternalName mode. `read` gathers the MeshFacts
once per command, the requests side by side: the istiod Deployments and their mesh config
ConfigMaps, the namespaces asked about, their Sidecar resources and the root namespace's, the
ztunnel DaemonSet, and, when a namespace names a revision no istiod serves, the revision tags
(MutatingWebhookConfigurations labelled istio.io/tag, as istioctl/pkg/tag reads them).
Whatever the user may not read is left unknown rather than guessed.
"""
from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Iterable

from ..errors import ServerError
from ..model import CONFIG_MAPS, DAEMON_SETS, DEPLOYMENTS, MUTATING_WEBHOOKS, NAMESPACES, Mesh, sidecars
from .facts import Ambient, MeshFacts
from .istiod import DEFAULT_REVISION, SYSTEM_NAMESPACE, istiod_facts, revision
from .policy import mesh_config

if TYPE_CHECKING:  # the connection module loads only when a command talks to the cluster
    from ..kube import Kube

ISTIO_NETWORKING = "networking.istio.io"
TAG_LABEL = "istio.io/tag"

__all__ = ["ISTIO_NETWORKING", "decide", "detect", "istiod_facts", "read"]


def _tolerate(call, *codes: int, default=None):
    """call(), or default when the server answers one of codes (403: not allowed; 404: not served)."""
    try:
        return call()
    except ServerError as err:
        if err.code in codes:
            return default
        raise


def _facts(networking_version: str | None, deployments: Iterable[dict], override: str) -> MeshFacts:
    facts = MeshFacts(networking_version, override=override)
    for deployment in deployments:
        rev = revision(deployment, networking_version or "v1")
        facts.revisions.setdefault(rev.name, rev)
    return facts


def decide(networking_version: str | None, deployment: dict | None, override: str = "auto") -> Mesh:
    """The mesh, from what discovery and one istiod say (pure)."""
    return _facts(networking_version, [deployment] if deployment else [], override).mesh()


def _istiods(kube: Kube) -> list[dict] | None:
    return _tolerate(lambda: kube.list(DEPLOYMENTS, SYSTEM_NAMESPACE, "app=istiod"), 403, 404)


def detect(kube: Kube, override: str = "auto") -> Mesh:
    """What this cluster runs, for the default revision: discovery, then istiod (skipped when the
    mode is forced)."""
    version = kube.preferred_version(ISTIO_NETWORKING)
    deployments: list[dict] = []
    if version is not None and override == "auto":
        deployments = _istiods(kube) or []
    return _facts(version, deployments, override).mesh()


def read(kube: Kube, override: str = "auto", namespaces: Iterable[str] = (), all_namespaces: bool = False,
         ambient: bool = True) -> MeshFacts:
    """The MeshFacts of the cluster and of namespaces (all_namespaces: every namespace).

    ambient: also look for ztunnel (recipes skip it unless a namespace asks for ambient).
    """
    wanted = list(dict.fromkeys(namespaces))
    networking = kube.preferred_version(ISTIO_NETWORKING)
    facts = MeshFacts(networking, override=override)
    istio = networking is not None and override != "none"
    sidecar_res = sidecars(networking or "v1")
    jobs: list = [lambda: ("istiod", _istiods(kube))] if istio else []
    if all_namespaces:
        jobs.append(lambda: ("namespaces", _tolerate(lambda: kube.list(NAMESPACES, None), 403)))
        if istio:
            jobs.append(lambda: ("sidecars", _tolerate(lambda: kube.list_if_served(sidecar_res, None), 403,
                                                       default=[])))
    else:
        for ns in wanted:
            jobs.append(lambda ns=ns: ("namespace", ns, _tolerate(lambda: kube.get(NAMESPACES, ns), 403,
                                                                  default=KeyError)))
        if istio:  # Sidecar resources are few: one list of them all, else each namespace's
            jobs.append(lambda: ("sidecars", _sidecars(kube, sidecar_res, [*wanted, SYSTEM_NAMESPACE])))
    if ambient and istio:
        jobs.append(lambda: ("ztunnel", _tolerate(lambda: kube.get(DAEMON_SETS, "ztunnel", SYSTEM_NAMESPACE), 403)))
    sidecar_lists = []
    for answer in kube.parallel(lambda job: job(), jobs):
        kind = answer[0]
        if kind == "istiod":
            facts.istiod_known = answer[1] is not None
            for deployment in answer[1] or []:
                rev = revision(deployment, networking)
                facts.revisions.setdefault(rev.name, rev)
        elif kind == "namespaces" and answer[1] is not None:
            facts.namespaces = {ns["metadata"]["name"]: ns for ns in answer[1]}
        elif kind == "namespace" and answer[2] is not KeyError:
            facts.namespaces[answer[1]] = answer[2]
        elif kind == "sidecars":
            sidecar_lists.append(answer[1])
        elif kind == "ztunnel" and answer[1] is not None:
            facts.ambient = Ambient(((answer[1].get("metadata") or {}).get("labels") or {})
                                    .get("app.kubernetes.io/version", ""))
    facts.sidecars = [s for found in sidecar_lists for s in found]
    if istio:
        _second_round(kube, facts, sidecar_res, all_namespaces)
    return facts


def _sidecars(kube: Kube, res, namespaces: list[str]) -> list[dict]:
    found = _tolerate(lambda: kube.list_if_served(res, None), 403)
    if found is not None:
        return found
    return [s for ns in dict.fromkeys(namespaces)
            for s in _tolerate(lambda ns=ns: kube.list_if_served(res, ns), 403, default=[])]


def _second_round(kube: Kube, facts: MeshFacts, sidecar_res, all_namespaces: bool) -> None:
    """What the first answers lead to: each revision's mesh config; the revision tags when a
    namespace asks for a revision no istiod serves (or none is the default); Sidecars of a root
    namespace other than istio-system."""
    jobs: list = [lambda rev=rev: ("config", rev, _tolerate(lambda: kube.get(CONFIG_MAPS, rev.mesh_configmap,
                                                                                  SYSTEM_NAMESPACE), 403, default=KeyError))
                  for rev in facts.revisions.values()]
    asked = {facts.namespace(ns).revision for ns in facts.namespaces} - {""}
    if asked - set(facts.revisions) or (facts.revisions and DEFAULT_REVISION not in facts.revisions):
        # not served (no admission webhooks at all): no tags; forbidden: unknown
        jobs.append(lambda: ("tags", _tolerate(lambda: kube.list_if_served(MUTATING_WEBHOOKS, None, TAG_LABEL), 403)))
    else:
        facts.tags_known = True  # every name asked for is a revision: no tag can change the answer
    roots = set()
    for answer in kube.parallel(lambda job: job(), jobs):
        if answer[0] == "config":
            rev, cm = answer[1], answer[2]
            text = None if cm is KeyError or cm is None else (cm.get("data") or {}).get("mesh", "")
            config = mesh_config(text)
            facts.configs[rev.name] = config
            source = (f"mesh config {SYSTEM_NAMESPACE}/{rev.mesh_configmap}" if config.readable
                      else f"Istio's default ({SYSTEM_NAMESPACE}/{rev.mesh_configmap} could not be read)")
            facts.revisions[rev.name] = dataclasses.replace(rev, outbound=config.outbound, outbound_source=source,
                                                            root_namespace=config.root_namespace)
            roots.add(config.root_namespace)
        elif answer[0] == "tags":
            facts.tags_known = answer[1] is not None
            for hook in answer[1] or []:
                labels = (hook.get("metadata") or {}).get("labels") or {}
                if labels.get(TAG_LABEL) and labels.get("istio.io/rev"):
                    facts.tags[labels[TAG_LABEL]] = labels["istio.io/rev"]
    have = {((s.get("metadata") or {}).get("namespace"), (s.get("metadata") or {}).get("name")) for s in facts.sidecars}
    for root in sorted(roots - {SYSTEM_NAMESPACE}):
        if not all_namespaces:
            facts.sidecars += [s for s in _tolerate(lambda: kube.list_if_served(sidecar_res, root), 403, default=[])
                               if (root, s["metadata"]["name"]) not in have]
