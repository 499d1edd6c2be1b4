"""ztunnel's evidence that it carried an ambient pod's checks (pure): its counters before and after.

ztunnel counts every connection it carries in `istio_tcp_connections_opened_total`, labelled with
the CommonTrafficLabels of istio/ztunnel src/proxy/metrics.rs: `reporter` ("source" on the
client's node), `source_workload` (Istio's workload name of the pod, see mesh.dataplane) and
`source_workload_namespace`, `destination_service` (the Service's host name, or "unknown" for an
address it passes through, as an ExternalName's target without a ServiceEntry), and
`destination_workload` (the waypoint, when it sends the connection to one). It serves them in
OpenMetrics text on its pod's port 15020 (src/metrics/server.rs), read here through the API
server's pod proxy. A check counts as carried by ztunnel when the connections to its destination
grew by at least as many as the checks of this source that connected there; when they did not, or
the counters could not be read, the row says it was not verified: nothing is guessed.
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

OPENED = "istio_tcp_connections_opened_total"
UNKNOWN = "unknown"
PORT = 15020
_SERIES = re.compile(r'^(\w+)\{(.*)\}\s+([0-9.eE+-]+)')
_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def metrics_path(namespace: str, pod: str) -> str:
    """ztunnel's metrics through the API server's pod proxy."""
    return f"/api/v1/namespaces/{namespace}/pods/{pod}:{PORT}/proxy/metrics"


def opened(text: str) -> dict[tuple[tuple[str, str], ...], float]:
    """The series of istio_tcp_connections_opened_total: their labels (sorted) -> value."""
    out = {}
    for line in text.splitlines():
        match = _SERIES.match(line)
        if not match or match.group(1) != OPENED:
            continue
        labels = tuple(sorted((k, v.replace('\\"', '"').replace("\\\\", "\\"))
                              for k, v in _LABEL.findall(match.group(2))))
        try:
            out[labels] = float(match.group(3))
        except ValueError:
            continue
    return out


def grown(before: str, after: str, namespace: str, workload: str) -> Counter:
    """Connections this workload opened between the two readings, by (destination_service,
    destination_workload)."""
    old = opened(before)
    out: Counter = Counter()
    for labels, value in opened(after).items():
        tags = dict(labels)
        if tags.get("reporter") != "source" or tags.get("source_workload_namespace") != namespace or \
                tags.get("source_workload") != workload:
            continue
        delta = int(value - old.get(labels, 0))
        if delta > 0:
            out[(tags.get("destination_service", UNKNOWN), tags.get("destination_workload", UNKNOWN))] += delta
    return out


@dataclass(frozen=True)
class Carried:
    """What carried one ambient check: via "ztunnel", "waypoint", or "" (not verified), and why."""

    via: str = ""
    evidence: str = ""


def destinations(service_host: str, external_host: str = "") -> frozenset[str]:
    """The destination_service values a check's connection can be counted under: the Service's host
    (a Service with a cluster IP), or for an ExternalName "unknown" (passed through) or its target's
    host (a ServiceEntry that ztunnel's DNS proxy gave an address)."""
    if external_host:
        return frozenset({UNKNOWN, external_host.lower()})
    return frozenset({service_host.lower()})


def attribute(expected: dict[str, frozenset[str]], connected: dict[str, bool], growth: Counter,
              where: str) -> dict[str, Carried]:
    """For each check id, whether ztunnel's counters show its connection. expected: the
    destinations per check; connected: did curl connect; growth: from `grown`; where: the ztunnel
    pod read, for the evidence."""
    out: dict[str, Carried] = {}
    groups: dict[frozenset[str], list[str]] = {}
    for ident, keys in expected.items():
        groups.setdefault(keys, []).append(ident)
    for keys, idents in groups.items():
        need = sum(1 for i in idents if connected.get(i))
        seen = {k: n for k, n in growth.items() if k[0] in keys}
        total = sum(seen.values())
        for ident in idents:
            if not connected.get(ident):
                out[ident] = Carried("", "curl did not connect, so ztunnel had nothing to count")
            elif total >= need:
                waypoints = {w for (_, w) in seen if w != UNKNOWN}
                named = ", ".join(sorted({d for d, _ in seen}))
                if waypoints and all(w != UNKNOWN for (_, w) in seen):
                    out[ident] = Carried("waypoint", f"{where} counted {total} connection(s) to {named} through "
                                                     f"waypoint {', '.join(sorted(waypoints))}")
                else:
                    out[ident] = Carried("ztunnel", f"{where} counted {total} connection(s) to {named}")
            else:
                out[ident] = Carried("", f"{where} counted {total} connection(s) to {', '.join(sorted(keys))} for "
                                         f"{need} check(s) that connected")
    return out
