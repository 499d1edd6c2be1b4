"""The mesh's registry under REGISTRY_ONLY (EG0009), and the revisions namespaces ask for (EG0010).

Istio has no analyzer message for either, so both are kubectl-egress codes.

EG0009: the callers in scope (the sidecars of the service's namespace: their revision's mesh config,
or the Sidecar resource that configures them, see mesh.policy) have outbound traffic policy
REGISTRY_ONLY, and the host the sidecar routes by is not in their registry: Envoy answers HTTP with
a 502 from the BlackHoleCluster and resets TLS (istio#28994, istio#43065). The host is the external
one for an alias-mode (1.21+) ExternalName, and for a legacy one's TLS ports (routed by SNI); a
ServiceEntry naming it puts it there, which the recipe writes. Otherwise the Service is the entry,
and only a Sidecar's egress hosts can hide it. Pods in ambient mode are not callers here: ztunnel
does not apply REGISTRY_ONLY (istio#54281).

EG0010: a namespace labelled `istio.io/rev=REV` (or `istio-injection=enabled`, the default revision)
where no istiod serves REV and no revision tag points at it (istioctl/pkg/tag): no injection
webhook selects its pods, which start without a sidecar.
"""
from __future__ import annotations

import difflib
import json

from ..model import TLS_PROTOCOLS
from .protocol import protocol_of
from .snapshot import DOMAIN, Finding, Snapshot, fix_command, ref

REGISTRY_ONLY = "REGISTRY_ONLY"


def _covers(pattern: str, host: str) -> bool:
    pattern = pattern.lower()
    return pattern == host or (pattern.startswith("*.") and host.endswith(pattern[1:])) or pattern == "*"


def entries_for(snapshot: Snapshot, host: str) -> list[dict]:
    """ServiceEntries whose hosts name host (exported everywhere, Istio's default)."""
    entries = snapshot.entries if snapshot.registry is None else snapshot.registry
    return [se for se in entries
            if any(_covers(h, host) for h in (se.get("spec") or {}).get("hosts") or [])]


def callers(facts, namespace: str) -> list[tuple[str, object]]:
    """(who, Policy) of the namespace's sidecar callers: its default, and each selector Sidecar's."""
    out = []
    default = facts.policy(namespace)
    if default is not None:
        out.append((f"callers in namespace {namespace}", default))
    for sidecar in facts.sidecars:
        meta = sidecar.get("metadata") or {}
        selector = ((sidecar.get("spec") or {}).get("workloadSelector") or {}).get("labels")
        if meta.get("namespace") == namespace and selector:
            policy = facts.policy(namespace, dict(selector))
            if policy is not None:
                labels = ",".join(f"{k}={v}" for k, v in sorted(selector.items()))
                out.append((f"callers in namespace {namespace} labelled {labels}", policy))
    return out


def _patch(policy, namespace: str, host: str) -> str:
    """kubectl patch that adds NS/HOST to the first egress listener of the Sidecar in force."""
    ns, name = policy.sidecar_name.split("/")
    op = json.dumps([{"op": "add", "path": "/spec/egress/0/hosts/-", "value": f"{namespace}/{host}"}])
    return f"kubectl patch sidecar {name} -n {ns} --type json -p '{op}'"


def registry_only(snapshot: Snapshot, svc: dict) -> list[Finding]:
    """EG0009: an egress service the callers in scope cannot reach under REGISTRY_ONLY."""
    from .messages import finding
    facts = snapshot.mesh.facts
    if facts is None:
        return []
    meta, spec = svc["metadata"], svc.get("spec") or {}
    ns, name = meta.get("namespace", ""), meta["name"]
    if facts.ambient_namespace(ns):
        return []
    revision = facts.revision_for(ns)
    alias = revision.alias if revision is not None and facts.override == "auto" else snapshot.mesh.alias
    external = spec.get("type") == "ExternalName"
    target = (spec.get("externalName") or "").rstrip(".").lower()
    tls = any(protocol_of(p) in TLS_PROTOCOLS for p in spec.get("ports") or [])
    out = []
    for who, policy in callers(facts, ns):
        if not policy.registry_only:
            continue
        if external and (alias or tls):
            host = target
            found = [se for se in entries_for(snapshot, host) if policy.sees(se["metadata"].get("namespace", ""), host)]
            if not found:
                hidden = entries_for(snapshot, host)
                if hidden and policy.sidecar is not None:
                    se = hidden[0]["metadata"]
                    out.append(finding("EG0009", ref(svc), who, policy.source, host,
                                       f"ServiceEntry {se.get('namespace')}/{se['name']} names it, but the egress hosts of "
                                       f"Sidecar {policy.sidecar_name} do not import it",
                                       fix=_patch(policy, se.get("namespace", ""), host)))
                else:
                    out.append(finding("EG0009", ref(svc), who, policy.source, host,
                                       "no ServiceEntry names it" + (
                                           ", and from Istio 1.21 an ExternalName Service is only a DNS alias of it"
                                           if alias else ", and up to 1.20 TLS is routed by its SNI, that host"),
                                       fix=fix_command(snapshot, svc)))
            continue
        host = f"{name}.{ns}.{DOMAIN}"
        if not policy.sees(ns, host):
            out.append(finding("EG0009", ref(svc), who, policy.source, host,
                               f"the egress hosts of Sidecar {policy.sidecar_name} do not import it",
                               fix=_patch(policy, ns, host)))
    return out


def namespace_revision(snapshot: Snapshot, namespace: str) -> list[Finding]:
    """EG0010: a namespace asks for a revision no istiod serves and no tag names."""
    from .messages import finding
    facts = snapshot.mesh.facts
    if facts is None or not facts.revisions and not facts.istiod_known:
        return []
    asked = facts.namespace(namespace)
    if asked.dataplane != "sidecar" or facts.exists(asked.revision) is not False:
        return []
    known = sorted({*facts.revisions, *facts.tags})
    close = difflib.get_close_matches(asked.revision, known, n=1)  # a typo's nearest name, else the default
    pick = close[0] if close else facts.default.name if facts.default is not None else (known[0] if known else "")
    if asked.revision == "default":  # istio-injection=enabled, with no default revision or tag
        fix = f"kubectl label namespace {namespace} istio-injection- istio.io/rev={pick}" if pick else ""
    else:
        fix = f"kubectl label namespace {namespace} istio.io/rev={pick} --overwrite" if pick else ""
    return [finding("EG0010", f"Namespace {namespace}", asked.label, asked.revision,
                    ", ".join(known) or "none", fix=fix)]
