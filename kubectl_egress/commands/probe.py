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

from .. import inventory, mesh as meshes, podexec, printers, probe, sources, terminal, validate as check
from ..app import App
from ..errors import EgressError, UsageError
from ..inventory import Found
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

    def cells(self, wide: bool) -> list[str]:
        cells = [self.service, self.source, self.url, self.result, self.code, self.time, self.sidecar]
        return cells + [self.connected_to, str(self.hint)] if wide else cells

    def note(self) -> printers.Note:
        """The row's hint below the table: `FAIL my-httpbin from default/curl-...: why`, then its fix."""
        return printers.Note(self.result, f"{self.service} from {self.source}:", self.hint.message, self.hint.fix)

    def as_dict(self) -> dict:
        return {"service": self.service, "namespace": self.namespace, "source": self.source, "url": self.url,
                "result": self.result, "code": self.code, "time": self.time, "sidecar": self.sidecar,
                "connectedTo": self.connected_to, "hint": str(self.hint), "curlExitCode": self.exit}


def validate(opts: Options) -> float:
    for name in opts.names:
        check.service_name(name)
    if not opts.path.startswith("/"):
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
    chosen = [sources.find(kube, ns, sidecar, opts.from_pod if sidecar else None) for ns, sidecar in wanted]
    checks = [probe.check_for(i, f.target, _cluster_ip(f), opts.path,
                              f.target.host if mesh.alias and f.target.external_name else "")
              for i, f in enumerate(found)]
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

    started = time.monotonic()
    results = kube.parallel(run_source, chosen)
    if app.verbosity >= 1:
        app.printer.note(f"probed {len(checks)} service{'s' if len(checks) != 1 else ''} from "
                         f"{len(chosen)} source{'s' if len(chosen) != 1 else ''} in "
                         f"{time.monotonic() - started:.2f}s")
    rows = []
    for f, chk in zip(found, checks):
        for source, outcomes in zip(chosen, results):
            rows.append(row(f, chk, outcomes.get(chk.id, probe.Outcome()), source, timeout))
    output(app, rows, opts.output)
    return 0 if all(r.result == "OK" for r in rows) else 1


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
               connected_to=outcome.remote, hint=hint, exit=outcome.exit)


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
