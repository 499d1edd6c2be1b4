"""kubectl egress probe [NAME...]: curl each egress service from inside and outside the mesh.

The checks of SCENARIO.md, done for every egress service of the namespace,
whoever made it, at once: one exec per source pod runs all the curls, several
at a time, the sources run in parallel, and each row says whether it worked,
whether a sidecar carried it, and, when not, why and what command fixes it.
Exit 1 when any row fails, so it can gate CI. The probe writes nothing but its
own labelled source pods (--deploy-sources).
"""
from __future__ import annotations

import dataclasses
import secrets
import time
from dataclasses import dataclass

from .. import evidence, inventory, mesh as meshes, podexec, printers, probe, sources, terminal, validate as check
from ..analysis import tls_of
from ..app import App
from ..errors import EgressError, UsageError
from ..inventory import Found
from ..model import HOST_ANNOTATION, Mesh, Target
from .get import missing_error, no_resources

HEADERS = ("SERVICE", "SOURCE", "URL", "RESULT", "CODE", "TIME", "SIDECAR")
WIDE = HEADERS + ("CONNECTED-TO", "HINT")
# left out, in this order, on a terminal too narrow for the table (never from -o wide or a pipe);
# the URL follows from the service, and a failure's hint names what matters
OPTIONAL = ("URL", "TIME")


@dataclass(frozen=True)
class Options:
    names: tuple[str, ...] = ()
    without_istio: bool = False
    all_sources: bool = False
    from_pod: str | None = None
    source_namespace: str = sources.WITHOUT_ISTIO
    path: str | None = None  # /headers, or / for TLS-originated sites
    timeout: str = "10s"
    parallel: int = probe.PARALLEL
    hosts: tuple[str, ...] = ()
    deploy_sources: bool = False
    output: str | None = None
    istio_mode: str = "auto"


@dataclass
class Row:
    service: str
    namespace: str
    source: str
    url: str
    result: str
    code: str
    time: str
    sidecar: str
    connected_to: str
    hint: probe.Hint
    exit: int
    port: int = 0
    originated: bool = False  # the sidecar spoke TLS for the app (TLS origination seen)
    via: str = ""  # what carried it: sidecar, ztunnel, waypoint, none, or unverified (ambient, no evidence)
    evidence: str = ""  # for ambient rows: what ztunnel's counters showed, or why they could not

    def cells(self, wide: bool) -> list[str]:
        cells = [self.service, self.source, self.url, self.result, self.code, self.time, self.sidecar]
        return cells + [self.connected_to, str(self.hint)] if wide else cells

    def note(self) -> printers.Note:
        """The row's hint below the table: `FAIL my-httpbin from default/curl-...: why`, then its fix."""
        return printers.Note(self.result, f"{self.service} from {self.source}:", self.hint.message, self.hint.fix)

    def as_dict(self) -> dict:
        return {"service": self.service, "namespace": self.namespace, "port": self.port, "source": self.source,
                "url": self.url, "result": self.result, "code": self.code, "time": self.time,
                "sidecar": self.sidecar, "connectedTo": self.connected_to, "hint": str(self.hint),
                "curlExitCode": self.exit, "tlsOriginated": self.originated, "via": self.via,
                "viaEvidence": self.evidence}


@dataclass(frozen=True)
class Planned:
    """One check of one port of one egress service."""

    found: Found
    target: Target
    check: probe.Check


def validate(opts: Options) -> tuple[float, dict[str, str]]:
    """The per-curl timeout, and the --host NAME=HOST given."""
    for name in opts.names:
        check.service_name(name)
    if opts.path is not None and not opts.path.startswith("/"):
        raise UsageError(f'--path "{opts.path}" must start with "/" (e.g. /headers)')
    if opts.from_pod is not None and not check.DNS1123_SUBDOMAIN.match(opts.from_pod):
        raise UsageError(f'--from "{opts.from_pod}" is not a valid pod name')
    check.namespace(opts.source_namespace)
    timeout = check.duration(opts.timeout, "--timeout")
    if timeout <= 0:
        raise UsageError("--timeout must be more than 0 (e.g. 10s)")
    if opts.without_istio and opts.from_pod:
        raise UsageError("--from names the mesh source; with --without-istio use --source-namespace")
    check.istio_mode(opts.istio_mode)
    if not 1 <= opts.parallel <= probe.MAX_PARALLEL:
        raise UsageError(f"--parallel must be from 1 to {probe.MAX_PARALLEL} (curls at once in each source pod)")
    hosts: dict[str, str] = {}
    for text in opts.hosts:
        name, host = check.host_override(text)
        if hosts.get(name, host) != host:
            raise UsageError(f"--host {name}= is given twice, with {hosts[name]} and {host}; give one")
        hosts[name] = host
    if opts.names and set(hosts) - set(opts.names):
        raise UsageError(f"--host {sorted(set(hosts) - set(opts.names))[0]}=... names a service that is not "
                         "probed; add it to the NAMEs, or drop the --host")
    return timeout, hosts


def format_time(seconds: float) -> str:
    return f"{seconds * 1000:.0f}ms" if seconds < 1 else f"{seconds:.2f}s"


def tls_host(found: Found, port: dict, hosts: dict[str, str]) -> str:
    """The host name clients use for a TLS port of a Service with endpoints, from what the user or the
    cluster says, never guessed: --host, the host `endpoints --host` recorded, the tls.sni of the
    DestinationRule that applies (its port's, else its own), or the one host of its ServiceEntry."""
    if found.name in hosts:
        return hosts[found.name]
    notes = ((found.service or {}).get("metadata") or {}).get("annotations") or {}
    if notes.get(HOST_ANNOTATION):
        return notes[HOST_ANNOTATION]
    sni = tls_of(found.applied, port.get("port") or 0).get("sni", "")
    if sni:
        return sni
    named = [h for h in ((found.entry[1].get("spec") or {}).get("hosts") or [] if found.entry else [])
             if "*" not in h]
    return named[0] if len(named) == 1 else ""


def plan(found: list[Found], mesh: Mesh, hosts: dict[str, str], path: str | None) -> tuple[list[Planned], list[str]]:
    """The checks for every port of every egress service, and a note for each port that has none
    (UDP: curl speaks TCP). The selection every probe, one namespace or many, starts from. A
    ServiceEntry of `kubectl egress serviceentry` is checked at each of its hosts."""
    planned: list[Planned] = []
    notes = []
    for f in found:
        if f.is_entry:
            target = f.target
            planned += [Planned(f, target, chk) for chk in probe.checks_for(str(len(planned)), target, "", path)]
            continue
        spec = (f.service or {}).get("spec") or {}
        cluster_ip = next((ip for ip in spec.get("clusterIPs") or [spec.get("clusterIP") or ""] if ip != "None"), "")
        for port in f.ports:
            if port.get("protocol") == "UDP":
                notes.append(f"{f.namespace}/{f.name}: port {port.get('port')}/UDP is not probed (curl speaks TCP)")
                continue
            target = inventory.to_target(f, port)
            if target.protocol in probe.TLS_PROTOCOLS and not target.external_name:
                target = dataclasses.replace(target, host=tls_host(f, port, hosts))
            alias = target.host if mesh.alias and target.external_name else ""
            planned.append(Planned(f, target, probe.check_for(len(planned), target, cluster_ip, path, alias)))
    return planned, notes


def run(app: App, opts: Options) -> int:
    timeout, hosts = validate(opts)
    kube = app.kube()
    namespace = kube.namespace
    facts = meshes.read(kube, opts.istio_mode.lower(), [namespace, opts.source_namespace])
    mesh = facts.mesh(namespace)
    found = inventory.read(kube, namespace, mesh, opts.names)
    errors = [missing_error(kube, n, namespace) for n in opts.names if n not in {f.name for f in found}]
    if errors:
        raise errors[0]
    if not found:
        app.printer.note(no_resources(namespace))
        return 0
    unknown = sorted(set(hosts) - {f.name for f in found})
    if unknown:
        raise missing_error(kube, unknown[0], namespace)
    planned, notes = plan(found, mesh, hosts, opts.path)
    used = {p.found.name for p in planned if p.target.protocol in probe.TLS_PROTOCOLS and not p.target.external_name}
    for name in sorted(set(hosts) - used):  # said, but it would change nothing: say so rather than ignore it
        raise EgressError(f"--host {name}={hosts[name]}: {name} has no TLS port with endpoints, whose host the "
                          "probe could not know otherwise (an ExternalName's host is its externalName); drop it")
    for note in notes:
        app.printer.note(note)
    if not planned:
        raise EgressError(f"nothing to probe: the egress services in namespace {namespace} have only UDP ports")
    wanted = []
    if opts.all_sources or not opts.without_istio:
        wanted.append((namespace, True))
    if opts.all_sources or opts.without_istio:
        wanted.append((opts.source_namespace, False))
    if opts.deploy_sources:
        sources.deploy(kube, app.printer, [w for w in wanted if not (w[1] and opts.from_pod)])
    ambient = facts.ambient_namespace(namespace)  # the mesh source is then a pod ztunnel captures
    chosen = [find_source(kube, facts, ns, sidecar, opts.from_pod if sidecar else None, ambient)
              for ns, sidecar in wanted]
    ctxs = evidence.contexts(facts, chosen)
    hosts_known = evidence.entry_hosts(kube, facts, namespace, ctxs, any(p.target.external_name for p in planned))
    checks = [p.check for p in planned]
    nonce = secrets.token_hex(6)
    argv = probe.command(checks, timeout, nonce, opts.parallel)
    budget = timeout * 2 * len(checks) + 60

    def run_source(source: probe.Source) -> dict[str, probe.Outcome]:
        code, out, err = podexec.run(kube, source.namespace, source.pod, source.container, argv, budget)
        outcomes = probe.parse(out, nonce)
        if not outcomes and code != 0:
            raise EgressError(f"the probe could not run in {source.label} (exit {code}): "
                              f"{(err.strip().splitlines() or ['no output'])[-1]}")
        return outcomes

    captured = [s for s in chosen if s.ambient]
    ztunnel = evidence.Ztunnel(kube)
    ztunnel.start(captured)
    started = time.monotonic()
    results = kube.parallel(run_source, chosen)
    expected = {p.check.id: evidence.destinations(p.target.fqdn, p.target.host if p.target.external_name else "")
                for p in planned}
    outcomes_of = dict(zip([s.label for s in chosen], results))
    carried = ztunnel.finish(captured, expected, lambda s: {i: bool(o.remote) or o.exit == 0
                                                           for i, o in outcomes_of[s.label].items()})
    for problem in ztunnel.problems:
        app.printer.note(f"{problem}: its rows say the ambient path was not verified")
    if app.verbosity >= 1:
        app.printer.note(f"probed {len(checks)} service port{'s' if len(checks) != 1 else ''} from "
                         f"{len(chosen)} source{'s' if len(chosen) != 1 else ''} in "
                         f"{time.monotonic() - started:.2f}s")
    rows = []
    for p in planned:
        for source, outcomes, ctx in zip(chosen, results, ctxs):
            ctx = evidence.with_entry(ctx, p.target.host, hosts_known) if p.target.external_name else ctx
            rows.append(row(p, outcomes.get(p.check.id, probe.Outcome()), source, timeout, ctx,
                            carried.get(source.label, {}).get(p.check.id)))
    output(app, rows, opts.output)
    return 0 if all(r.result == "OK" for r in rows) else 1


def find_source(kube, facts: meshes.MeshFacts, namespace: str, mesh: bool, pod: str | None,
                ambient: bool) -> probe.Source:
    """sources.find; when no mesh source is found because the namespace asks for no mesh at all, say so."""
    try:
        return sources.find(kube, namespace, mesh, pod, ambient=mesh and ambient)
    except EgressError as err:
        asked = facts.namespace(namespace)
        if not mesh or not facts.revisions or asked.dataplane != "none" or not asked.exists or \
                namespace not in facts.namespaces:
            raise
        how = (f"kubectl label namespace {namespace} istio.io/dataplane-mode=ambient" if facts.ambient_installed
               else f"kubectl label namespace {namespace} istio-injection=enabled")
        raise EgressError(f"{err.message}; namespace {namespace} is not in the mesh (no istio-injection, istio.io/rev "
                          f"or istio.io/dataplane-mode label): enroll it with \"{how}\"" +
                          ("" if facts.ambient_installed else " and restart its pods")) from None


def carrier(outcome: probe.Outcome, source: probe.Source, carried) -> tuple[str, str, str]:
    """(SIDECAR cell, via, evidence): whether a sidecar's headers or metrics were seen, as ever; for a
    pod in ambient mode, what ztunnel's counters showed (`no (ztunnel)`), or that they did not
    (`no (ambient, not verified)`)."""
    if probe.sidecar_seen(outcome):
        return "yes", "sidecar", ""
    if not source.ambient:
        return "no", "none", ""
    if carried is None or not carried.via:
        return "no (ambient, not verified)", "unverified", carried.evidence if carried else ""
    return f"no ({carried.via})", carried.via, carried.evidence


def row(planned: Planned, outcome: probe.Outcome, source: probe.Source, timeout: float,
        ctx: probe.Context = probe.Context(), carried=None) -> Row:
    chk, target = planned.check, planned.target
    good = probe.ok(outcome, chk, source.sidecar)
    hint = probe.diagnose(chk, outcome, target, source, timeout, ctx)
    originated = probe.originated(outcome, chk)
    cell, via, why = carrier(outcome, source, carried)
    return Row(service=planned.found.name, namespace=planned.found.namespace, source=source.label, url=chk.url,
               result="OK" if good else "FAIL", code=str(outcome.code) if outcome.code else "-",
               time=format_time(outcome.time) if outcome.ran else "-",
               sidecar="yes (TLS)" if originated else cell,  # kubectl's own cells say "3 (5m ago)"
               connected_to=outcome.remote, hint=hint, exit=outcome.exit, port=target.port, originated=originated,
               via=via, evidence=why)


def output(app: App, rows: list[Row], fmt: str | None) -> None:
    """The table as kubectl prints one; then, unless -o wide put them in its HINT column, each
    hinted row's hint (a failure's, or a suspicious pass's) and its fixing command below it."""
    if fmt in ("json", "yaml"):
        listing = {"apiVersion": "v1", "kind": "List", "items": [r.as_dict() for r in rows]}
        app.printer.text(printers.format_json(listing) if fmt == "json" else printers.format_yaml(listing))
        return
    term = app.printer.terminal()
    colors = {"RESULT": terminal.RESULT_COLORS}
    if fmt == "wide":
        app.printer.text(printers.format_table(WIDE, [r.cells(True) for r in rows], term, colors))
        return
    app.printer.text(printers.format_table(HEADERS, [r.cells(False) for r in rows], term, colors, OPTIONAL))
    hinted = [r.note() for r in rows if r.hint]
    if hinted:
        app.printer.text("\n" + printers.format_notes(hinted, term, terminal.RESULT_COLORS))
