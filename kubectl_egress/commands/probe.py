"""kubectl egress probe [NAME...]: curl each egress service from inside and outside the mesh.

The checks of SCENARIO.md, done for every managed service at once: one exec
per source pod runs all the curls, several at a time, the sources run in
parallel, and each row says whether it worked, whether a sidecar carried it,
and, when not, why and what command fixes it. Exit 1 when any row fails, so it can gate CI.
"""
from __future__ import annotations

import secrets
import time
from dataclasses import dataclass

from .. import inventory, manifests, mesh as meshes, printers, probe, sources, terminal, validate as check
from .. import placement, workloads
from ..app import App
from ..errors import EgressError, UsageError
from ..inventory import Found
from .get import missing_error, no_resources

HEADERS = ("SERVICE", "SOURCE", "URL", "RESULT", "CODE", "TIME", "SIDECAR")
WIDE = HEADERS + ("CONNECTED-TO", "HINT")
# with --from, where in the pod the probe ran: its container, `NAME (ephemeral)` for the plugin's
CONTAINER = "CONTAINER"
# left out, in this order, on a terminal too narrow for the table (never from -o wide or a pipe);
# the URL follows from the service, and a failure's hint names what matters
OPTIONAL = ("URL", "TIME")


@dataclass(frozen=True)
class Options:
    names: tuple[str, ...] = ()
    without_istio: bool = False
    all_sources: bool = False
    from_pod: str | None = None  # --from: POD or TYPE/NAME
    from_namespace: str | None = None  # its namespace (default: the services')
    container: str | None = None  # -c
    all_pods: bool = False
    ephemeral: bool = False
    image: str | None = None
    source_namespace: str = sources.WITHOUT_ISTIO
    path: str = "/headers"
    timeout: str = "10s"
    parallel: int = probe.PARALLEL
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

    def note(self) -> printers.Note:
        """The row's hint below the table: `FAIL my-httpbin from default/curl-...: why`, then its fix."""
        return printers.Note(self.result, f"{self.service} from {self.source}:", self.hint.message, self.hint.fix)

    def as_dict(self) -> dict:
        return {"service": self.service, "namespace": self.namespace, "source": self.source, "url": self.url,
                "result": self.result, "code": self.code, "time": self.time, "sidecar": self.sidecar,
                "connectedTo": self.connected_to, "hint": str(self.hint), "curlExitCode": self.exit,
                **self.ran_in()}

    def ran_in(self) -> dict:
        """Where the probe ran, for -o json: pod, container, ephemeral or not, and its user."""
        if self.where is None:
            return {}
        w = self.where
        return {"pod": w.pod, "podNamespace": w.namespace, "container": w.container, "ephemeral": w.ephemeral,
                "uid": w.uid, "gid": w.gid}


def validate(opts: Options) -> float:
    for name in opts.names:
        check.service_name(name)
    if not opts.path.startswith("/"):
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
    if opts.image is not None:
        check.image(opts.image)
    check.namespace(opts.source_namespace)
    timeout = check.duration(opts.timeout, "--timeout")
    if timeout <= 0:
        raise UsageError("--timeout must be more than 0 (e.g. 10s)")
    if opts.without_istio and opts.from_pod:
        raise UsageError("--from names the mesh source; with --without-istio use --source-namespace")
    check.istio_mode(opts.istio_mode)
    if not 1 <= opts.parallel <= probe.MAX_PARALLEL:
        raise UsageError(f"--parallel must be from 1 to {probe.MAX_PARALLEL} (curls at once in each source pod)")
    return timeout


def format_time(seconds: float) -> str:
    return f"{seconds * 1000:.0f}ms" if seconds < 1 else f"{seconds:.2f}s"


def run(app: App, opts: Options) -> int:
    timeout = validate(opts)
    kube = app.kube()
    namespace = kube.namespace
    mesh = meshes.detect(kube, opts.istio_mode.lower())
    found = [f for f in inventory.find(kube, namespace, mesh, opts.names) if f.service is not None]
    errors = [missing_error(kube, n, namespace) for n in opts.names if n not in {f.name for f in found}]
    if errors:
        raise errors[0]
    if not found:
        app.printer.note(no_resources(namespace))
        return 0
    wanted = []
    if opts.all_sources or not opts.without_istio:
        wanted.append((namespace, True))
    if opts.all_sources or opts.without_istio:
        wanted.append((opts.source_namespace, False))
    if opts.deploy_sources:
        sources.deploy(kube, app.printer, [w for w in wanted if not (w[1] and opts.from_pod)])
    chosen, pods = choose(kube, opts, wanted)
    checks = [probe.check_for(i, f.target, _cluster_ip(f), opts.path,
                              f.target.host if mesh.alias and f.target.external_name else "")
              for i, f in enumerate(found)]
    nonce = secrets.token_hex(6)
    argv = probe.command(checks, timeout, nonce, opts.parallel)
    budget = timeout * 2 * len(checks) + 60

    where = placement.Placement(ephemeral=opts.ephemeral, image=opts.image or manifests.PROBE_IMAGE)

    def run_source(source: probe.Source) -> tuple[probe.Source, dict[str, probe.Outcome]]:
        ran = placement.run(kube, source, argv, nonce, budget, where, app.printer, pods.get(source.label))
        outcomes = probe.parse(ran.out, nonce)
        if not outcomes and ran.code != 0:
            raise EgressError(f"the probe could not run in {ran.source.label} (exit {ran.code}): "
                              f"{(ran.err.strip().splitlines() or ['no output'])[-1]}")
        return ran.source, outcomes

    started = time.monotonic()
    results = kube.parallel(run_source, chosen)
    chosen = [ran for ran, _ in results]
    if app.verbosity >= 1:
        app.printer.note(f"probed {len(checks)} service{'s' if len(checks) != 1 else ''} from "
                         f"{len(chosen)} source{'s' if len(chosen) != 1 else ''} in "
                         f"{time.monotonic() - started:.2f}s")
    rows = []
    for f, chk in zip(found, checks):
        for source, (_, outcomes) in zip(chosen, results):
            rows.append(row(f, chk, outcomes.get(chk.id, probe.Outcome()), source, timeout))
    output(app, rows, opts.output, container=bool(opts.from_pod))
    return 0 if all(r.result == "OK" for r in rows) else 1


def choose(kube, opts: Options, wanted: list[tuple[str, bool]]) -> tuple[list[probe.Source], dict[str, dict]]:
    """The source pods: --from's (any namespace, --all-pods) in place of the mesh sample, the
    samples otherwise; and the pods already read, by label."""
    chosen: list[probe.Source] = []
    pods: dict[str, dict] = {}
    for ns, sidecar in wanted:
        if sidecar and opts.from_pod:
            for source, pod in workloads.sources(kube, workloads.parse(opts.from_pod), opts.from_namespace or ns,
                                                 opts.container, opts.all_pods):
                chosen.append(source)
                pods[source.label] = pod
        else:
            chosen.append(sources.find(kube, ns, sidecar))
    return chosen, pods


def _cluster_ip(found: Found) -> str:
    return ((found.service or {}).get("spec", {}).get("clusterIPs") or [""])[0]


def row(found: Found, chk: probe.Check, outcome: probe.Outcome, source: probe.Source, timeout: float) -> Row:
    target = found.target
    good = probe.ok(outcome, chk)
    hint = probe.diagnose(chk, outcome, target, source, timeout)
    return Row(service=found.name, namespace=found.namespace, source=source.label, url=chk.url,
               result="OK" if good else "FAIL", code=str(outcome.code) if outcome.code else "-",
               time=format_time(outcome.time) if outcome.ran else "-",
               sidecar="yes" if probe.sidecar_seen(outcome) else "no",
               connected_to=outcome.remote, hint=hint, exit=outcome.exit, where=source)


def output(app: App, rows: list[Row], fmt: str | None, container: bool = False) -> None:
    """The table as kubectl prints one; then, unless -o wide put them in its HINT column, each
    hinted row's hint (a failure's, or a suspicious pass's) and its fixing command below it.
    container: a CONTAINER column after SOURCE (with --from, where the probe ran in the pod)."""
    if fmt in ("json", "yaml"):
        listing = {"apiVersion": "v1", "kind": "List", "items": [r.as_dict() for r in rows]}
        app.printer.text(printers.format_json(listing) if fmt == "json" else printers.format_yaml(listing))
        return
    term = app.printer.terminal()
    colors = {"RESULT": terminal.RESULT_COLORS}
    def headers(names: tuple[str, ...]) -> tuple[str, ...]:
        return (*names[:2], CONTAINER, *names[2:]) if container else names

    if fmt == "wide":
        app.printer.text(printers.format_table(headers(WIDE), [r.cells(True, container) for r in rows], term,
                                               colors))
        return
    app.printer.text(printers.format_table(headers(HEADERS), [r.cells(False, container) for r in rows], term,
                                           colors, OPTIONAL))
    hinted = [r.note() for r in rows if r.hint]
    if hinted:
        app.printer.text("\n" + printers.format_notes(hinted, term, terminal.RESULT_COLORS))
