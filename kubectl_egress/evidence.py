"""What the mesh says about the probe's rows, beyond curl: each source's mesh facts, the registry
its sidecar checks against, and for ambient sources ztunnel's counters (the I/O; the readings are
in probe.ztunnel and probe.hints).

- Contexts: per source, its PodFacts (data plane, revision, outbound policy) and the command that
  replaces it; per check, whether a ServiceEntry names the external host (read only where a
  sidecar source is under REGISTRY_ONLY and an ExternalName is probed: elsewhere it changes no hint).
- ztunnel: the ztunnel pod on the source's node (DaemonSet istio-system/ztunnel, pods app=ztunnel),
  its metrics read through the API server's pod proxy before and after the probe's exec.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable

from .errors import EgressError
from .mesh.dataplane import restart_command, workload_name
from .model import PODS, service_entries
from .probe import Context, Source
from .probe.ztunnel import Carried, attribute, destinations, grown, metrics_path

if TYPE_CHECKING:  # pragma: no cover
    from .kube import Kube
    from .mesh import MeshFacts

ZTUNNEL_NAMESPACE = "istio-system"
ZTUNNEL_SELECTOR = "app=ztunnel"  # the ztunnel chart's pod label (templates/daemonset.yaml)


def contexts(facts: MeshFacts, chosen: list[Source]) -> list[Context]:
    """One Context per source (the ServiceEntry question is answered per check, see entry_hosts)."""
    out = []
    for source in chosen:
        pod = source.obj or {}
        out.append(Context(facts.pod(pod) if pod else None, facts.ambient_installed, None,
                           restart_command(pod) if pod else ""))
    return out


def _host_in(host: str, hosts: set[str]) -> bool:
    host = host.lower()
    return host in hosts or any(h.startswith("*.") and host.endswith(h[1:]) for h in hosts)


def entry_hosts(kube: Kube, facts: MeshFacts, namespace: str, ctxs: list[Context],
                external: bool) -> set[str] | None:
    """The hosts ServiceEntries name (cluster-wide, else the namespace's), when a sidecar source is
    under REGISTRY_ONLY and an ExternalName is probed; None when it is not needed."""
    if not external or facts.networking_version is None or \
            not any(c.pod is not None and c.pod.policy is not None and c.pod.policy.registry_only for c in ctxs):
        return None
    from .errors import ServerError

    res = service_entries(facts.networking_version)
    try:
        entries = kube.list_if_served(res, None)
    except ServerError as err:
        if err.code != 403:
            raise
        entries = kube.list_if_served(res, namespace)
    return {h.lower() for se in entries for h in (se.get("spec") or {}).get("hosts") or []}


def with_entry(ctx: Context, host: str, hosts: set[str] | None) -> Context:
    if hosts is None:
        return ctx
    return Context(ctx.pod, ctx.ambient_installed, _host_in(host, hosts), ctx.restart)


@dataclass
class Ztunnel:
    """ztunnel's counters around the probe, for the ambient sources."""

    kube: Kube
    pods: dict[str, str] = field(default_factory=dict)  # node -> ztunnel pod
    before: dict[str, str | EgressError] = field(default_factory=dict)  # source label -> metrics text
    problems: list[str] = field(default_factory=list)

    def start(self, ambient: list[Source]) -> None:
        if not ambient:
            return
        try:
            for pod in self.kube.list(PODS, ZTUNNEL_NAMESPACE, ZTUNNEL_SELECTOR):
                node = (pod.get("spec") or {}).get("nodeName") or ""
                self.pods.setdefault(node, pod["metadata"]["name"])
        except EgressError as err:
            self.problems.append(f"ztunnel's pods could not be listed ({err.message})")
            return
        for source, text in zip(ambient, self.kube.parallel(self._read, ambient)):
            self.before[source.label] = text

    def _where(self, source: Source) -> str:
        node = ((source.obj or {}).get("spec") or {}).get("nodeName") or ""
        return self.pods.get(node, "")

    def _read(self, source: Source) -> str | EgressError:
        pod = self._where(source)
        if not pod:
            return EgressError(f"no ztunnel pod runs on the node of {source.label}")
        try:
            return self.kube.get_text(metrics_path(ZTUNNEL_NAMESPACE, pod))
        except EgressError as err:
            return err

    def finish(self, ambient: list[Source], expected: dict[str, frozenset[str]],
               connected: Callable[[Source], dict[str, bool]]) -> dict[str, dict[str, Carried]]:
        """Per ambient source label, per check id: what ztunnel's counters show."""
        out: dict[str, dict[str, Carried]] = {}
        ready = [s for s in ambient if isinstance(self.before.get(s.label), str)]
        after = dict(zip([s.label for s in ready], self.kube.parallel(self._read, ready)))
        for source in ambient:
            before, now = self.before.get(source.label), after.get(source.label)
            if not isinstance(before, str) or not isinstance(now, str):
                problem = before if not isinstance(before, str) else now
                why = problem.message if isinstance(problem, EgressError) else "ztunnel's pods could not be read"
                self.problems.append(f"{source.label}: ztunnel's metrics could not be read ({why})")
                out[source.label] = {i: Carried("", f"ztunnel's metrics could not be read: {why}") for i in expected}
                continue
            growth: Counter = grown(before, now, source.namespace, workload_name(source.obj or {}))
            out[source.label] = attribute(expected, connected(source), growth,
                                          f"{ZTUNNEL_NAMESPACE}/{self._where(source)}")
        return out


__all__ = ["Ztunnel", "contexts", "destinations", "entry_hosts", "with_entry"]
