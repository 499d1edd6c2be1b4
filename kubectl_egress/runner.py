"""Run the probe in its source pods: one exec per pod, a bounded number at once, stoppable.

Each source pod gets one exec that runs all of its checks (probe/script.py) and prints each
check as soon as it is done; the output is read as it arrives, cut at the script's `done`
lines and parsed one check at a time, so progress is counted per check and a stopped run keeps
every check that finished. Execs run side by side, at most `max_execs` at once across the
cluster: each holds a connection through the API server to a kubelet and runs up to --parallel
curls on its node. The pods with the most checks start first, since they take longest.

The checks travel in the exec's URL (one `command=` parameter per argument), which kube-apiserver
reads up to 1 MiB (http.Server MaxHeaderBytes, k8s.io/apiserver pkg/server/secure_serving.go):
a pod with more checks than half of that holds (some 4,000) runs them in several execs, one
after the other.

Ctrl-C (KeyboardInterrupt on the main thread) stops every running exec through its stdin
(podexec.Stop): the script kills its own processes, since a closed exec stream would leave them
running; execs not yet started never start. A second Ctrl-C closes the streams at once.
"""
from __future__ import annotations

import queue
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable
from urllib.parse import urlencode

from . import podexec, probe
from .errors import EgressError
from .progress import Progress

if TYPE_CHECKING:
    from .kube import Kube

# Execs at once across the cluster. Kubernetes bounds none of this for us: exec is a long-running
# request, which kube-apiserver leaves out of its max-requests-inflight and priority-and-fairness
# seats (--long-running-request-regexp names exec), so each one is a held connection through the
# API server to a kubelet, and a process tree in a pod. 16 is the bound the plugin keeps on all
# its parallel requests (Kube.workers): with --parallel 8, at most 128 curls at once cluster-wide.
MAX_EXECS = 16
GRACE = 10.0  # seconds a stopped exec gets to end by itself before its stream is closed
MAX_COMMAND = 1 << 19  # bytes of an exec URL's command parameters: half of kube-apiserver's limit


# runs one exec for a source: (source, argv, nonce, budget, on_stdout, stop) -> (where it ran, exit
# code, stderr); the probe command's runs it in the pod's container or its ephemeral one (placement.py)
Execute = Callable[[probe.Source, list[str], str, float, Callable[[bytes], None], podexec.Stop],
                   tuple[probe.Source, int, str]]


@dataclass
class Job:
    """One source pod and the checks it runs."""

    source: probe.Source  # updated to where the probe really ran (an ephemeral container, say)
    checks: list[probe.Check]
    outcomes: dict[str, probe.Outcome] = field(default_factory=dict)
    error: EgressError | None = None


class _Stream:
    """A job's stdout, cut into checks at the script's `done` lines, each parsed as it ends."""

    def __init__(self, job: Job, nonce: str, progress: Progress) -> None:
        self.job = job
        self.nonce = nonce
        self.progress = progress
        self.by_id = {c.id: c for c in job.checks}
        self.done = re.compile(rf"^@@{re.escape(nonce)} done (\S+)$")
        self.partial = b""
        self.block: list[str] = []

    def feed(self, data: bytes) -> None:
        lines = (self.partial + data).split(b"\n")
        self.partial = lines.pop()
        for raw in lines:
            line = raw.decode(errors="replace")
            match = self.done.match(line)
            if match is None:
                self.block.append(line)
                continue
            ident = match.group(1)
            outcome = probe.parse("\n".join(self.block), self.nonce).get(ident, probe.Outcome())
            self.block = []
            check = self.by_id.get(ident)
            if check is None:
                continue
            self.job.outcomes[ident] = outcome
            source = self.job.source
            self.progress.advance(failed=not probe.ok(outcome, check, source.sidecar, source.ambient))


def direct(kube: Kube) -> Execute:
    """Execs in the sources' own containers, as they are."""
    def execute(source: probe.Source, argv: list[str], nonce: str, budget: float,
                on_stdout: Callable[[bytes], None], stop: podexec.Stop) -> tuple[probe.Source, int, str]:
        code, _, err = podexec.run(kube, source.namespace, source.pod, source.container, argv, budget,
                                   on_stdout=on_stdout, stop=stop)
        return source, code, err
    return execute


def run(kube: Kube, jobs: list[Job], timeout: float, parallel: int, progress: Progress,
        max_execs: int = MAX_EXECS, execute: Execute | None = None) -> bool:
    """Run every job, filling in its outcomes (or error); False when stopped by Ctrl-C."""
    execute = execute or direct(kube)
    stop = podexec.Stop()
    todo: queue.Queue[Job] = queue.Queue()
    for job in sorted(jobs, key=lambda j: -len(j.checks)):
        todo.put(job)
    left = [len(jobs)]
    lock = threading.Lock()
    all_done = threading.Event()
    if not jobs:
        all_done.set()

    def work() -> None:
        while True:
            try:
                job = todo.get_nowait()
            except queue.Empty:
                return
            try:
                if not stop.stopped:
                    one(execute, job, timeout, parallel, progress, stop)
            except EgressError as err:
                job.error = err
            except Exception as err:  # a bug in one job must not hang the others' wait
                job.error = EgressError(f"the probe failed in {job.source.label}: {type(err).__name__}: {err}")
            finally:
                with lock:
                    left[0] -= 1
                    if not left[0]:
                        all_done.set()

    # daemon threads: a stream that will not close must not keep the command from exiting
    threads = [threading.Thread(target=work, daemon=True, name=f"probe-exec-{i}")
               for i in range(min(max_execs, len(jobs)))]
    for thread in threads:
        thread.start()
    try:
        _wait(all_done, progress, None)
        return True
    except KeyboardInterrupt:
        stop.stop()
        try:
            if not _wait(all_done, progress, time.monotonic() + GRACE):
                stop.abort()
                _wait(all_done, progress, time.monotonic() + 2)
        except KeyboardInterrupt:
            stop.abort()
        return False
    finally:
        progress.clear()


def _wait(all_done: threading.Event, progress: Progress, deadline: float | None) -> bool:
    """Until every job is done (True) or the deadline (False); redraws the progress line meanwhile."""
    while not all_done.wait(0.05):
        progress.tick()
        if deadline is not None and time.monotonic() > deadline:
            return False
    return True


def batches(checks: list[probe.Check], argv: list[str], limit: int = MAX_COMMAND) -> list[list[probe.Check]]:
    """The checks in as few execs as the URL allows: each batch's command (argv, the script and its
    settings, then four arguments a check) encodes to at most limit bytes, one check at least."""
    def size(args: list[str]) -> int:
        return len(urlencode([("command", a) for a in args])) + 1

    base = size(argv)
    out: list[list[probe.Check]] = [[]]
    used = base
    for check in checks:
        more = size(check.args())
        if out[-1] and used + more > limit:
            out.append([])
            used = base
        out[-1].append(check)
        used += more
    return out


def one(execute: Execute, job: Job, timeout: float, parallel: int, progress: Progress, stop: podexec.Stop,
        limit: int = MAX_COMMAND) -> None:
    """One exec (more only for thousands of checks): the job's checks in its source pod."""
    source = job.source
    nonce = secrets.token_hex(6)
    for part in batches(job.checks, probe.command([], timeout, nonce, parallel, watch=True), limit):
        if stop.stopped:
            return
        argv = probe.command(part, timeout, nonce, parallel, watch=True)
        budget = timeout * 2 * len(part) + 60
        stream = _Stream(job, nonce, progress)
        job.source, code, err = execute(source, argv, nonce, budget, stream.feed, stop)
        source = job.source
        stream.feed(b"\n")
        if not any(c.id in job.outcomes for c in part) and code not in (0, -1) and not stop.stopped:
            raise EgressError(f"the probe could not run in {source.label} (exit {code}): "
                              f"{(err.strip().splitlines() or ['no output'])[-1]}")
