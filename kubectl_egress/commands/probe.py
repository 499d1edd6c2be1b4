"""kubectl egress probe [NAME...] [-A] [-l SELECTOR]: curl each egress service from inside and outside the mesh.

The checks of SCENARIO.md, done for every egress service of the namespace (or of
the cluster, -A), whoever made it, at once: one exec per source pod runs all its
curls, several at a time, the sources run side by side up to a cluster-wide cap,
and each row says whether it worked, whether a sidecar carried it, and, when not,
why and what command fixes it. Exit 1 when any row fails, so it can gate CI; 130
when stopped with Ctrl-C, after the rows done so far. The probe writes nothing
but its own labelled source pods (--deploy-sources) and the report files asked for.

The steps, each a function: the selection (validate, plan), the sources of each
namespace (assign), the runner with its cap and progress (runner.py), and the
reports (output, junit_cases, print_summary).
"""
from __future__ import annotations

import dataclasses
import os
import time
from dataclasses import dataclass
from datetime import datetime, timezone

from .. import __version__, evidence, inventory, manifests, mesh as meshes, placement, printers, probe, progress
from .. import reports, runner, sources, terminal, validate as check, workloads
from ..analysis import tls_of
from ..app import App
from ..errors import EgressError, UsageError
from ..inventory import Found
from ..model import HOST_ANNOTATION, Mesh, Target
from .get import missing_error, no_resources, selection

HEADERS = ("SERVICE", "SOURCE", "URL", "RESULT", "CODE", "TIME", "SIDECAR")
WIDE = HEADERS + ("CONNECTED-TO", "HINT")
# with --from, where in the pod the probe ran: its container, `NAME (ephemeral)` for the plugin's
CONTAINER = "CONTAINER"
MAX_EXECS = 256  # --max-execs at most
INTERRUPTED = 130  # a shell's status for a command ended by SIGINT (128 + 2), as cli.py's boundary gives
# left out, in this order, on a terminal too narrow for the table (never from -o wide or a pipe);
# the URL follows from the service, and a failure's hint names what matters
OPTIONAL = ("URL", "TIME")


@dataclass(frozen=True)
class Options:
    names: tuple[str, ...] = ()
    all_namespaces: bool = False
    selector: str | None = None
    without_istio: bool = False
    all_sources: bool = False
    from_pod: str | None = None  # --from: POD or TYPE/NAME
    from_namespace: str | None = None  # its namespace (default: the services'; with -A, required)
    container: str | None = None  # -c
    all_pods: bool = False
    ephemeral: bool = False
    source_namespace: str = sources.WITHOUT_ISTIO
    path: str | None = None  # /headers, or / for TLS-originated sites
    timeout: str = "10s"
    parallel: int = probe.PARALLEL
    max_execs: int = runner.MAX_EXECS
    hosts: tuple[str, ...] = ()
    deploy_sources: bool = False
    image: str | None = None  # of the plugin's own probe containers: the sources it makes, the ephemeral one
    junit_file: str | None = None
    summary: bool = False
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
    seconds: float = 0.0  # curl's time_total
    case: str = ""  # the JUnit case's name: the same from run to run (no pod name, no timing)
    kind: str = ""  # the hint with this row's own names replaced, which --summary counts by
    where: probe.Source | None = None  # the pod and container the probe ran in

    @property
    def container(self) -> str:
        if self.where is None:
            return ""
        return f"{self.where.container} (ephemeral)" if self.where.ephemeral else self.where.container

    def cells(self, wide: bool, container: bool = False) -> list[str]:
        cells = [self.service, self.source, *([self.container] if container else []), self.url, self.result,
                 self.code, self.time, self.sidecar]
        return cells + [self.connected_to, str(self.hint)] if wide else cells

    def note(self, all_namespaces: bool = False) -> printers.Note:
        """The row's hint below the table: `FAIL my-httpbin from default/curl-...: why`, then its fix."""
        service = f"{self.namespace}/{self.service}" if all_namespaces else self.service
        return printers.Note(self.result, f"{service} from {self.source}:", self.hint.message, self.hint.fix)

    def as_dict(self) -> dict:
        """One -o json item. What stays the same between two runs that find the same, at the top; what
        changes from run to run by itself (curl's time, the endpoint kube-proxy picked) under
        `observed`, so that two reports can be diffed: `source` names the pod, and changes only with it."""
        return {"service": self.service, "namespace": self.namespace, "port": self.port, "source": self.source,
                "url": self.url, "result": self.result, "code": self.code, "sidecar": self.sidecar,
                "hint": str(self.hint), "curlExitCode": self.exit, "tlsOriginated": self.originated,
                "via": self.via, "viaEvidence": self.evidence, **self.ran_in(),
                "observed": {"time": self.time, "connectedTo": self.connected_to}}

    def ran_in(self) -> dict:
        """Where the probe ran, for -o json: pod, container, ephemeral or not, and its user."""
        if self.where is None:
            return {}
        w = self.where
        return {"pod": w.pod, "podNamespace": w.namespace, "container": w.container, "ephemeral": w.ephemeral,
                "uid": w.uid, "gid": w.gid}


@dataclass(frozen=True)
class Planned:
    """One check of one port of one egress service."""

    found: Found
    target: Target
    check: probe.Check


def validate(opts: Options) -> tuple[float, dict[str, str]]:
    """The per-curl timeout, and the --host NAME=HOST given."""
    selection(opts.names, opts.all_namespaces, opts.selector)
    if opts.path is not None and not opts.path.startswith("/"):
        raise UsageError(f'--path "{opts.path}" must start with "/" (e.g. /headers)')
    if opts.from_pod is not None:
        workloads.parse(opts.from_pod)
    elif opts.from_namespace or opts.container or opts.all_pods:
        flag = "--from-namespace" if opts.from_namespace else "-c" if opts.container else "--all-pods"
        raise UsageError(f"{flag} goes with --from (e.g. --from deploy/web {flag}"
                         f"{' NS' if flag == '--from-namespace' else ' app' if flag == '-c' else ''})")
    if opts.from_namespace:
        check.namespace(opts.from_namespace)
    if opts.container is not None:
        check.container_name(opts.container)
    if opts.all_namespaces and opts.from_pod and opts.from_namespace is None:
        raise UsageError("with -A, --from needs --from-namespace NS: the namespace of the pods it names (they "
                         "probe the namespaces that have no source of their own)")
    check.namespace(opts.source_namespace)
    timeout = check.duration(opts.timeout, "--timeout")
    if timeout <= 0:
        raise UsageError("--timeout must be more than 0 (e.g. 10s)")
    if opts.without_istio and opts.from_pod:
        raise UsageError("--from names the mesh source; with --without-istio use --source-namespace")
    check.istio_mode(opts.istio_mode)
    if not 1 <= opts.parallel <= probe.MAX_PARALLEL:
        raise UsageError(f"--parallel must be from 1 to {probe.MAX_PARALLEL} (curls at once in each source pod)")
    if not 1 <= opts.max_execs <= MAX_EXECS:
        raise UsageError(f"--max-execs must be from 1 to {MAX_EXECS} (execs at once across the cluster)")
    if opts.image is not None:
        check.image(opts.image)
    if opts.summary and opts.output == "wide":
        raise UsageError("--summary prints counts, not rows: drop -o wide (or use -o json|yaml)")
    if opts.junit_file is not None:
        junit_path(opts.junit_file)
    if opts.hosts and opts.all_namespaces:
        raise UsageError("--host NAME=HOST names a service of one namespace: probe that namespace (-n NS) "
                         "without -A")
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


def junit_path(path: str) -> str:
    """--junit-file: a file that can be written, checked before anything runs."""
    if not path or os.path.isdir(path):
        raise UsageError(f'--junit-file "{path}" is a directory: name a file (e.g. --junit-file probe.xml)')
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise UsageError(f'--junit-file "{path}": directory {directory} does not exist; create it, or name '
                         "another file")
    if not os.access(directory, os.W_OK):
        raise UsageError(f'--junit-file "{path}": directory {directory} is not writable; name another file')
    return path


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
    scope = None if opts.all_namespaces else namespace  # None: every namespace
    read_in = ([namespace] if scope else []) + [opts.source_namespace] + \
        ([opts.from_namespace] if opts.from_namespace else [])
    facts = meshes.read(kube, opts.istio_mode.lower(), read_in, all_namespaces=scope is None)
    mesh = facts.mesh(scope)  # -A: the default revision's, as check -A reads it
    found = inventory.read(kube, scope, mesh, opts.names, opts.selector or "")
    errors = [missing_error(kube, n, namespace) for n in opts.names if n not in {f.name for f in found}]
    if errors:
        raise errors[0]
    if not found:
        app.printer.note(no_resources(scope))
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
        where = f"namespace {namespace}" if scope else "the cluster"
        raise EgressError(f"nothing to probe: the egress services in {where} have only UDP ports")
    jobs = assign(kube, app, opts, planned, scope, facts)
    chosen = [j.source for j in jobs]
    ctxs = dict(zip([s.label for s in chosen], evidence.contexts(facts, chosen)))
    hosts_known = evidence.entry_hosts(kube, facts, namespace if scope else None, list(ctxs.values()),
                                       any(p.target.external_name for p in planned))
    shown = progress.wanted(app.printer.err, app.printer.env, opts.output)
    meter = progress.Progress(app.printer.err if shown else None, sum(len(j.checks) for j in jobs),
                              app.printer.env)
    captured = [s for s in chosen if s.ambient]
    ztunnel = evidence.Ztunnel(kube)
    ztunnel.start(captured)
    started = time.monotonic()
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    where = placement.Placement(ephemeral=opts.ephemeral, image=opts.image or manifests.PROBE_IMAGE)

    def execute(source, argv, nonce, budget, on_stdout, stop):  # in its container, or the plugin's ephemeral one
        ran = placement.run(kube, source, argv, nonce, budget, where, app.printer, source.obj, on_stdout, stop)
        return ran.source, ran.code, ran.err

    finished = runner.run(kube, jobs, timeout, opts.parallel, meter, opts.max_execs, execute)
    expected = {p.check.id: evidence.destinations(p.target.fqdn, p.target.host if p.target.external_name else "")
                for p in planned}
    outcomes_of = {j.source.label: j.outcomes for j in jobs}
    carried = ztunnel.finish(captured, expected, lambda s: {i: bool(o.remote) or o.exit == 0
                                                           for i, o in outcomes_of[s.label].items()})
    for problem in ztunnel.problems:
        app.printer.note(f"{problem}: its rows say the ambient path was not verified")
    if app.verbosity >= 1:
        checks = len(planned)
        app.printer.note(f"probed {checks} service port{'s' if checks != 1 else ''} from "
                         f"{len(jobs)} source{'s' if len(jobs) != 1 else ''} in "
                         f"{time.monotonic() - started:.2f}s")
    failed = [j for j in jobs if j.error is not None]
    if failed and scope is not None and finished:  # one namespace: a source that cannot run is the answer
        raise failed[0].error  # type: ignore[misc]
    rows = rows_of(planned, jobs, timeout, finished, Evidence(ctxs, hosts_known, carried))
    report(app, rows, opts, stamp)
    if not finished:
        total = sum(len(j.checks) for j in jobs)
        app.printer.note(f"interrupted: {len(rows)} of {total} checks done; the probe's processes in the "
                         "source pods were stopped")
        return INTERRUPTED
    return 0 if all(r.result == "OK" for r in rows) else 1


def assign(kube, app: App, opts: Options, planned: list[Planned], scope: str | None,
           facts: meshes.MeshFacts) -> list[runner.Job]:
    """The source pods and the checks each runs: one job per pod.

    One namespace: its mesh source (the curl or sleep sample with a sidecar, or --from) and the
    source without one (in --source-namespace), each running every check. Every namespace (-A):
    each namespace's checks run from its own mesh source; a namespace without one uses the pod
    --from names, once for the whole run (pods reach NAME.NS.svc.cluster.local from any
    namespace); --deploy-sources puts the sample where neither is, and nowhere else. The source
    without a sidecar runs every check. A mesh source in a namespace in ambient mode is a pod
    ztunnel captures, not one with a sidecar.
    """
    mesh_wanted = opts.all_sources or not opts.without_istio
    plain_wanted = opts.all_sources or opts.without_istio
    image = opts.image or manifests.PROBE_IMAGE
    checks = [p.check for p in planned]
    fallbacks: list[probe.Source] = []  # --from's pods: all of them with --all-pods
    if mesh_wanted and opts.from_pod:
        fallbacks = workloads.sources(kube, workloads.parse(opts.from_pod), opts.from_namespace or kube.namespace,
                                      opts.container, opts.all_pods)
    if scope is not None:
        wanted = [(scope, True)] if mesh_wanted and not fallbacks else []
        wanted += [(opts.source_namespace, False)] if plain_wanted else []
        if opts.deploy_sources:
            sources.deploy(kube, app.printer, wanted, image)
        chosen = fallbacks + [find_source(kube, facts, ns, mesh, facts.ambient_namespace(scope)) for ns, mesh in wanted]
        return [runner.Job(source, list(checks)) for source in chosen]
    namespaces = sorted({p.found.namespace for p in planned})
    pods = sources.every_candidate(kube)
    ambient = {ns: facts.ambient_namespace(ns) for ns in namespaces}
    own = {ns: sources.pick(pods, ns, True, ambient[ns]) for ns in namespaces} if mesh_wanted else {}
    missing = [ns for ns in namespaces if mesh_wanted and own[ns] is None and not fallbacks]
    plain = sources.pick(pods, opts.source_namespace, False) if plain_wanted else None
    wanted = [(ns, True) for ns in missing] + ([(opts.source_namespace, False)] if plain_wanted and not plain else [])
    if wanted and opts.deploy_sources:
        sources.deploy(kube, app.printer, wanted, image, everywhere=True, have=pods,
                       existing=frozenset(namespaces))
        pods = sources.every_candidate(kube)
        for ns in missing:  # ours, in a namespace outside the mesh, has no sidecar: its rows say so
            own[ns] = sources.pick(pods, ns, True, ambient[ns]) or sources.pick_deployed(pods, ns)
        if plain_wanted and not plain:
            plain = sources.pick(pods, opts.source_namespace, False)
    elif missing:
        shown = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
        raise EgressError(f"no ready source pod in the mesh (label app=curl or app=sleep, with a sidecar, or "
                          f"captured by ztunnel in an ambient namespace) in namespace{'s' if len(missing) > 1 else ''} "
                          f"{shown}: add --deploy-sources to create them, or name one pod for the rest with "
                          "--from POD --from-namespace NS")
    if plain_wanted and plain is None:
        plain = sources.find(kube, opts.source_namespace, False)  # or says why, as for one namespace
    jobs: dict[str, runner.Job] = {}
    for p in planned:
        mine = own.get(p.found.namespace)
        for source in ([mine] if mine else fallbacks) if mesh_wanted else []:
            jobs.setdefault(source.label, runner.Job(source, [])).checks.append(p.check)
    if plain is not None:
        jobs[plain.label] = runner.Job(plain, list(checks))
    return list(jobs.values())


@dataclass(frozen=True)
class Evidence:
    """What the mesh says about the rows beyond curl (evidence.py): each source's Context, the
    hosts ServiceEntries name, and what ztunnel's counters showed for ambient sources."""

    contexts: dict[str, probe.Context]  # by source label
    entry_hosts: set[str] | None = None
    carried: dict = dataclasses.field(default_factory=dict)  # source label -> check id -> Carried


def rows_of(planned: list[Planned], jobs: list[runner.Job], timeout: float, finished: bool,
            seen: Evidence = Evidence({})) -> list[Row]:
    """A row per check and source that ran it, in the order of the services and, for each, of the
    sources (mesh first). A stopped run has the rows of the checks that finished; a source that
    could not run (-A) fails its rows with why."""
    by_check: dict[str, list[runner.Job]] = {}
    for job in jobs:
        for c in job.checks:
            by_check.setdefault(c.id, []).append(job)
    rows = []
    for p in planned:
        for job in sorted(by_check.get(p.check.id, []), key=lambda j: (not j.source.mesh, j.source.label)):
            outcome = job.outcomes.get(p.check.id)
            if outcome is None and not finished:
                continue
            label = job.source.label
            ctx = seen.contexts.get(label, probe.Context())
            ctx = evidence.with_entry(ctx, p.target.host, seen.entry_hosts) if p.target.external_name else ctx
            one = row(p, outcome or probe.Outcome(), job.source, timeout, ctx,
                      seen.carried.get(label, {}).get(p.check.id))
            if outcome is None and job.error is not None:
                one = dataclasses.replace(one, hint=probe.Hint(job.error.message), kind="the probe could not run")
            rows.append(one)
    return rows


def find_source(kube, facts: meshes.MeshFacts, namespace: str, mesh: bool, ambient: bool) -> probe.Source:
    """sources.find; when no mesh source is found because the namespace asks for no mesh at all, say so."""
    try:
        return sources.find(kube, namespace, mesh, ambient=mesh and ambient)
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
    good = probe.ok(outcome, chk, source.sidecar, source.ambient)
    hint = probe.diagnose(chk, outcome, target, source, timeout, ctx)
    originated = probe.originated(outcome, chk)
    cell, via, why = carrier(outcome, source, carried)
    names = [(chk.url, "<url>"), (chk.mesh_host, "<service-host>"), (target.host, "<host>"),
             (outcome.remote, "<address>"), (source.label, "<source>"), (target.name, "<service>"),
             *((str(ip), "<ip>") for ip in target.ips)]
    return Row(service=planned.found.name, namespace=planned.found.namespace, source=source.label, url=chk.url,
               result="OK" if good else "FAIL", code=str(outcome.code) if outcome.code else "-",
               time=format_time(outcome.time) if outcome.ran else "-",
               sidecar="yes (TLS)" if originated else cell,  # kubectl's own cells say "3 (5m ago)"
               connected_to=outcome.remote, hint=hint, exit=outcome.exit, port=target.port, originated=originated,
               via=via, evidence=why, seconds=outcome.time, case=case_name(planned, source), where=source,
               kind=reports.hint_kind(hint.message, names) if hint else "")


def case_name(planned: Planned, source: probe.Source) -> str:
    """`my-httpbin:80 from default (mesh)`: the check and the source's role, without the pod's
    name, which changes whenever the pod is replaced."""
    role = "mesh" if source.mesh else "no mesh"
    return f"{planned.found.name}:{planned.target.port} from {source.namespace} ({role})"


def report(app: App, rows: list[Row], opts: Options, stamp: str) -> None:
    """The rows (or, with --summary, their counts) on stdout, and the JUnit file if asked for."""
    if opts.junit_file:
        data = reports.junit(junit_cases(rows), stamp, [("kubectl-egress", __version__)])
        reports.write_atomically(opts.junit_file, data)
    if opts.summary:
        print_summary(app, rows, opts.output)
    else:
        output(app, rows, opts.output, opts.all_namespaces, container=bool(opts.from_pod))


def junit_cases(rows: list[Row]) -> list[reports.Case]:
    """Each row as a JUnit case: the hint (and its fix) as a failure's message, what was seen below it."""
    cases = []
    for r in rows:
        detail = (f"url: {r.url}\nsource: {r.source}\nresult: {r.result}, code {r.code}, curl exit {r.exit}, "
                  f"sidecar {r.sidecar}\nconnected to: {r.connected_to or '-'}")
        if r.hint.fix:
            detail += f"\nfix: {r.hint.fix}"
        cases.append(reports.Case(classname=r.namespace, name=r.case, result=r.result, seconds=r.seconds,
                                  message=str(r.hint), detail=detail))
    return cases


def print_summary(app: App, rows: list[Row], fmt: str | None) -> None:
    """Checks by result, then by hint (most first), with the services each is about."""
    by_result, hints = reports.summary((r.result, r.kind, f"{r.namespace}/{r.service}") for r in rows)
    if fmt in ("json", "yaml"):
        doc = {"results": by_result,
               "hints": [{"hint": h.kind, "result": h.result, "checks": h.checks, "services": list(h.services)}
                         for h in hints]}
        app.printer.text(printers.format_json(doc) if fmt == "json" else printers.format_yaml(doc))
        return
    term = app.printer.terminal()
    colors = {"RESULT": terminal.RESULT_COLORS}
    app.printer.text(printers.format_table(("RESULT", "CHECKS"), [[k, v] for k, v in by_result.items()], term,
                                           colors))
    if hints:
        table = [[h.checks, h.result, reports.services_cell(h.services), h.kind] for h in hints]
        app.printer.text("\n" + printers.format_table(("CHECKS", "RESULT", "SERVICES", "HINT"), table, term, colors))


def output(app: App, rows: list[Row], fmt: str | None, all_namespaces: bool = False, container: bool = False) -> None:
    """The table as kubectl prints one; then, unless -o wide put them in its HINT column, each
    hinted row's hint (a failure's, or a suspicious pass's) and its fixing command below it.
    all_namespaces: a NAMESPACE column first, as kubectl get -A prints it; container: a CONTAINER
    column after SOURCE (with --from, where the probe ran in the pod)."""
    if fmt in ("json", "yaml"):
        listing = {"apiVersion": "v1", "kind": "List", "items": [r.as_dict() for r in rows]}
        app.printer.text(printers.format_json(listing) if fmt == "json" else printers.format_yaml(listing))
        return
    term = app.printer.terminal()
    colors = {"RESULT": terminal.RESULT_COLORS}
    wide = fmt == "wide"
    headers = WIDE if wide else HEADERS
    if container:
        headers = (*headers[:2], CONTAINER, *headers[2:])
    cells = [r.cells(wide, container) for r in rows]
    if all_namespaces:
        headers = ("NAMESPACE", *headers)
        cells = [[r.namespace, *c] for r, c in zip(rows, cells)]
    app.printer.text(printers.format_table(headers, cells, term, colors, () if wide else OPTIONAL))
    if wide:
        return
    hinted = [r.note(all_namespaces) for r in rows if r.hint]
    if hinted:
        app.printer.text("\n" + printers.format_notes(hinted, term, terminal.RESULT_COLORS))
