"""make bench: kubectl-egress against kubectl, on the same local cluster, in one run.

    python -m tests.bench [--quick]

Each case runs ours and kubectl's equivalent interleaved (A B A B ...) and
compares medians. The CPU column holds each side's median CPU time (user + system,
from wait4), a figure that a loaded machine disturbs far less than the wall clock, which
counts the time a command waits for a core. Peak memory is the largest maximum resident set of our
runs, each started by a small launcher process so that the bench's own
memory does not count. Ours is the one-folder build, as krew installs it (the
one-file build is measured for --help too). Prints one table and exits 0 whether or not the
targets are met: speed is reported here, never asserted in tests.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ONEDIR = ROOT / "dist" / "onedir" / "kubectl-egress" / "kubectl-egress"
ONEFILE = ROOT / "dist" / "kubectl-egress"
MANAGED = "app.kubernetes.io/managed-by=kubectl-egress"


@dataclass
class Run:
    seconds: float
    max_rss_kib: int
    code: int
    cpu: float = 0.0  # user + system seconds


@dataclass
class Case:
    name: str
    ours: float
    theirs: float
    target: str
    ratio: float
    met: bool
    note: str = ""
    cpu: tuple[float, float] | None = None  # median CPU seconds: ours, kubectl's


# Runs each measured command and reports its time and peak memory. A child's maximum resident set
# (wait4) starts at its parent's when it is spawned (Linux carries the parent's high-water mark
# through fork and exec), so the commands are started by this small process, spawned before the
# bench grows, and not by the bench itself, which holds thousands of objects while seeding.
LAUNCHER = r"""
import json, os, subprocess, sys, time
for line in sys.stdin:
    job = json.loads(line)
    started = time.perf_counter()
    proc = subprocess.Popen(job["argv"], env=job["env"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            stdin=subprocess.DEVNULL if job["stdin"] is None else subprocess.PIPE)
    if job["stdin"] is not None:
        proc.stdin.write(job["stdin"].encode())
        proc.stdin.close()
    err = proc.stderr.read().decode(errors="replace")
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    print(json.dumps({"seconds": time.perf_counter() - started, "rss": usage.ru_maxrss,
                      "cpu": usage.ru_utime + usage.ru_stime,
                      "code": proc.returncode, "err": err[-300:]}), flush=True)
"""


class Launcher:
    def __init__(self) -> None:
        self.proc = subprocess.Popen([sys.executable, "-S", "-c", LAUNCHER], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)

    def run(self, argv: list[str], env: dict, stdin: str | None = None) -> Run:
        """One timed run, with the command's own peak resident memory."""
        self.proc.stdin.write(json.dumps({"argv": argv, "env": env, "stdin": stdin}) + "\n")
        self.proc.stdin.flush()
        done = json.loads(self.proc.stdout.readline())
        if done["code"] not in (0, 1):
            raise SystemExit(f"bench: {' '.join(argv[:4])}... failed ({done['code']}): {done['err'].strip()}")
        return Run(done["seconds"], done["rss"], done["code"], done["cpu"])

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


class Bench:
    def __init__(self, quick: bool, launcher: Launcher) -> None:
        self.quick = quick
        self.launcher = launcher
        self.work = Path(tempfile.mkdtemp(prefix="kubectl-egress-bench-"))
        self.kubeconfig = self.work / "kubeconfig"
        self.server = subprocess.Popen([sys.executable, "-m", "tests.apiserver", "--kubeconfig",
                                        str(self.kubeconfig)], cwd=ROOT, stdout=subprocess.PIPE,
                                       stderr=subprocess.DEVNULL, text=True)
        line = self.server.stdout.readline()
        if not line.startswith("ready "):
            raise SystemExit("bench: the local API server did not start")
        self.env = {**os.environ, "KUBECONFIG": str(self.kubeconfig),
                    "KUBECACHEDIR": str(self.work / "kube-cache")}
        self.ours = str(ONEDIR)
        self.rss: list[tuple[int, str]] = []  # (peak KiB, our command)
        self.cases: list[Case] = []
        self.cpu: tuple[float, float] | None = None  # the last interleaved() call's CPU medians
        from kubectl_egress.app import App
        self.kube = App.from_raw({"kubeconfig": str(self.kubeconfig)}).kube()

    def close(self) -> None:
        self.server.terminate()
        self.server.wait(timeout=30)

    # -- helpers -----------------------------------------------------------------------------
    def ours_run(self, *args: str) -> Run:
        result = self.launcher.run([self.ours, *args], self.env)
        self.rss.append((result.max_rss_kib, " ".join(args[:3])))
        return result

    def kubectl(self, *args: str, stdin: str | None = None) -> Run:
        return self.launcher.run(["kubectl", *args], self.env, stdin)

    def interleaved(self, count: int, ours, theirs) -> tuple[float, float]:
        """Wall-clock medians of ours and theirs; their CPU medians are left in self.cpu."""
        mine, other = [], []
        for i in range(count):
            mine.append(ours(i))
            other.append(theirs(i))
        self.cpu = (statistics.median(r.cpu for r in mine), statistics.median(r.cpu for r in other))
        return statistics.median(r.seconds for r in mine), statistics.median(r.seconds for r in other)

    def add(self, name: str, ours: float, theirs: float, limit: float, note: str = "",
            cpu: tuple[float, float] | None = None) -> None:
        ratio = ours / theirs
        self.cases.append(Case(name, ours, theirs, f"<= {limit:g}x", ratio, ratio <= limit, note, cpu))

    def namespace(self, name: str) -> None:
        from kubectl_egress.model import NAMESPACES
        if self.kube.get(NAMESPACES, name) is None:
            self.kube.create(NAMESPACES, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})

    def seed(self, count: int, namespaces: list[str], prefix: str) -> None:
        """count managed ExternalName services with DestinationRules, spread over namespaces."""
        from kubectl_egress import manifests
        from kubectl_egress.model import Mesh, Target, resource_of
        mesh = Mesh(networking_version="v1beta1")
        for ns in namespaces:
            self.namespace(ns)
        objects = [obj for i in range(count)
                   for obj in manifests.objects(Target(f"{prefix}{i}", namespaces[i % len(namespaces)],
                                                       host="example.com"), mesh)]
        self.kube.parallel(lambda obj: self.kube.create(resource_of(obj), obj), objects)

    def seed_plain(self, count: int, namespaces: list[str], prefix: str) -> None:
        """count ordinary Services (with a selector: not egress services), spread over namespaces."""
        from kubectl_egress.model import SERVICES
        objects = [{"apiVersion": "v1", "kind": "Service",
                    "metadata": {"name": f"{prefix}{i}", "namespace": namespaces[i % len(namespaces)],
                                 "labels": {"app": f"{prefix}{i}"}},
                    "spec": {"selector": {"app": f"{prefix}{i}"}, "ports": [{"name": "http", "port": 80}]}}
                   for i in range(count)]
        self.kube.parallel(lambda obj: self.kube.create(SERVICES, obj), objects)

    # -- cases ----------------------------------------------------------------------------------
    def help(self) -> None:
        n = 11 if self.quick else 31
        mine, kubectl = self.interleaved(n, lambda i: self.ours_run("--help"),
                                         lambda i: self.kubectl("version", "--client"))
        self.add("--help (one folder, as krew installs it) vs kubectl version --client", mine, kubectl, 2,
                 cpu=self.cpu)
        onefile, kubectl2 = self.interleaved(max(5, n // 3), lambda i: self.launcher.run([str(ONEFILE), "--help"], self.env),
                                             lambda i: self.kubectl("version", "--client"))
        self.add("--help (one file) vs kubectl version --client", onefile, kubectl2, 2,
                 "for comparison: the one-file build unpacks itself on every start", cpu=self.cpu)

    def get_small(self) -> None:
        self.seed(10, ["bench-get"], "svc-")
        n = 11 if self.quick else 31
        mine, kubectl = self.interleaved(n, lambda i: self.ours_run("get", "-n", "bench-get"),
                                         lambda i: self.kubectl("get", "svc", "-n", "bench-get"))
        self.add("get, 10 services vs kubectl get svc", mine, kubectl, 1.2, cpu=self.cpu)

    def externalname(self) -> None:
        self.namespace("bench-apply")
        n = 9 if self.quick else 21

        def manifest(name: str) -> str:
            from kubectl_egress import manifests
            from kubectl_egress.model import Mesh, Target
            objs = manifests.objects(Target(name, "bench-apply", host="httpbin.org"), Mesh(networking_version="v1beta1"))
            return "\n---\n".join(json.dumps(o) for o in objs)

        mine, kubectl = self.interleaved(
            n, lambda i: self.ours_run("externalname", f"ours-{i}", "httpbin.org", "-n", "bench-apply"),
            lambda i: self.kubectl("apply", "-f", "-", stdin=manifest(f"theirs-{i}")))
        self.add("externalname (Service + DestinationRule) vs kubectl apply -f", mine, kubectl, 1.2, cpu=self.cpu)

    def clean_bulk(self) -> None:
        count = 200 if self.quick else 1000
        namespaces = [f"bench-clean-{i}" for i in range(10)]
        mine, theirs = [], []
        for round_ in range(1 if self.quick else 3):
            self.seed(count, namespaces, "c-")
            mine.append(self.ours_run("clean", "-A").seconds)
            if round_ == 0:  # kubectl's client-side rate limit makes one run last minutes
                self.seed(count, namespaces, "c-")
                theirs.append(self.kubectl("delete", "svc,destinationrule", "-A", "-l", MANAGED,
                                                "--wait=false").seconds)
        self.add(f"clean -A, {count} services vs kubectl delete svc,destinationrule -A -l ... --wait=false",
                 statistics.median(mine), statistics.median(theirs), 1,
                 f"ours: median of {len(mine)} runs; kubectl: 1 run (it throttles itself to a few "
                 "requests a second)")

    def get_bulk(self) -> None:
        count = 1000 if self.quick else 5000
        namespaces = [f"bench-list-{i}" for i in range(10)]
        self.seed(count // 5, namespaces, "l-")  # egress services, with their DestinationRules
        self.seed_plain(count - count // 5, namespaces, "app-")
        n = 3 if self.quick else 7
        mine, kubectl = self.interleaved(n, lambda i: self.ours_run("get", "-A"),
                                         lambda i: self.kubectl("get", "svc", "-A"))
        self.add(f"get -A, {count} services ({count // 5} egress) vs kubectl get svc -A", mine, kubectl, 1,
                 cpu=self.cpu)

    def probe(self) -> None:
        """probe -A over egress services in many namespaces, from each namespace's own source and the
        one without a sidecar, against sequential `kubectl exec ... curl`, timed on a sample and
        extrapolated to every check; and what the API server saw: one exec per source pod, and lists."""
        from tests.apiserver.network import unavailable
        target = ">= 20x faster"
        if unavailable():
            self.cases.append(Case("probe -A", 0, 0, target, 0, False, unavailable()))
            return
        spaces, per = (10, 10) if self.quick else (100, 10)
        namespaces = [f"bench-probe-{i}" for i in range(spaces)]
        for ns in namespaces:  # mesh namespaces: sidecars injected
            self.namespace(ns)
        self.kubectl("label", "namespace", *namespaces, "istio-injection=enabled", "--overwrite")
        self.seed(spaces * per, namespaces, "p-")  # ExternalName services of the emulated example.com
        args = ("probe", "-A", "--all-sources")
        warm = self.ours_run(*args, "--deploy-sources")
        if warm.code != 0:
            raise SystemExit("bench: the first probe -A (deploying the sources) failed")
        from kubectl_egress.model import PODS
        pods = {p["metadata"]["namespace"]: p["metadata"]["name"] for p in self.kube.list(PODS, None, "app=curl")}
        checks = [(ns, f"http://p-{i}.{ns}.svc.cluster.local/") for i, ns in
                  ((i, namespaces[i % spaces]) for i in range(spaces * per))]
        sample = 50
        picked = [checks[i * len(checks) // (sample // 2)] for i in range(sample // 2)]
        by_hand = [(ns, url) for ns, url in picked] + [("without-istio", url) for _, url in picked]

        def kubectl_sample(_: int) -> Run:
            total = sum(self.kubectl("exec", "-n", ns, pods[ns], "-c", "curl", "--", "curl", "-sS", "-o", "/dev/null",
                                     "-w", "%{http_code}", url).seconds for ns, url in by_hand)
            return Run(total / len(by_hand) * 2 * len(checks), 0, 0)  # each check from both sources

        seen: list[dict] = []

        def ours(_: int) -> Run:
            self.kube.request("DELETE", "/_local/requests")
            result = self.ours_run(*args)
            if result.code != 0:
                raise SystemExit("bench: probe -A found failures; it must pass to be timed")
            seen[:] = (self.kube.request("GET", "/_local/requests") or {}).get("requests", [])
            return result

        mine, kubectl = self.interleaved(1 if self.quick else 3, ours, kubectl_sample)
        execs = [r for r in seen if r["path"].split("?")[0].endswith("/exec")]
        others = sorted({r["path"].split("?")[0] for r in seen if r not in execs})
        speedup = kubectl / mine
        self.cases.append(Case(
            f"probe -A, {spaces * per} services in {spaces} namespaces x 2 sources vs sequential kubectl exec curl "
            f"(extrapolated from {sample})", mine, kubectl, target, speedup, speedup >= 20,
            f"first run (deploys {spaces + 1} sources) {warm.seconds:.2f}s; API requests of the last run: "
            f"{len(execs)} execs for {len({r['path'].split('?')[0] for r in execs})} source pods, "
            f"{len(seen) - len(execs)} others ({', '.join(others)})"))

    def probe_from_workload(self) -> None:
        """Issue 10's two figures. The first probe of a distroless pod adds an ephemeral container,
        so it may cost that container's start (PATCH to running, timed apart on other pods of the
        same Deployment) plus 1 s; a re-run reuses it and may cost no more than a probe from a pod
        whose own container has curl."""
        from tests.apiserver.network import unavailable
        if unavailable():
            self.cases.append(Case("probe --from a distroless pod", 0, 0, "<= start + 1s", 0, False, unavailable()))
            return
        from kubectl_egress import manifests, podexec
        from kubectl_egress.model import DEPLOYMENTS, PODS
        ns, rounds = "bench-workload", 3 if self.quick else 7
        self.namespace(ns)
        self.kubectl("label", "namespace", ns, "istio-injection=enabled", "--overwrite")
        self.seed(5, [ns], "w-")
        for name, image, command in (("distroless", "gcr.io/distroless/static-debian12", ["/app"]),
                                     ("curl", "curlimages/curl", ["sleep", "3600"])):
            self.kube.create(DEPLOYMENTS, {
                "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": ns},
                "spec": {"replicas": 2 * rounds if name == "distroless" else 1,
                         "selector": {"matchLabels": {"app": name}},
                         "template": {"metadata": {"labels": {"app": name}},
                                      "spec": {"containers": [{"name": "app", "image": image, "command": command}]}}}})
        deadline = time.monotonic() + 120
        while True:
            pods = self.kube.list(PODS, ns, "app=distroless")
            if len(pods) == 2 * rounds and all(
                    any(c.get("type") == "Ready" and c.get("status") == "True"
                        for c in (p.get("status") or {}).get("conditions") or []) for p in pods) and \
                    self.kube.list(PODS, ns, "app=curl"):
                break
            if time.monotonic() > deadline:
                raise SystemExit("bench: the workload pods did not become ready")
            time.sleep(0.2)
        names = sorted(p["metadata"]["name"] for p in pods)
        timed, probed = names[:rounds], names[rounds:]

        def start(pod_name: str) -> float:
            """An ephemeral container's start on its own: the probe's container, PATCH to running."""
            pod = self.kube.get(PODS, pod_name, ns)
            name = podexec.new_name(pod, "bench-")
            began = time.perf_counter()
            podexec.add_ephemeral(self.kube, pod, manifests.probe_container(name, manifests.PROBE_IMAGE, 100, 101))
            podexec.wait_running(self.kube, ns, pod_name, name, 60)
            return time.perf_counter() - began

        starts, firsts = [], []
        for timed_pod, probed_pod in zip(timed, probed):
            starts.append(start(timed_pod))
            result = self.ours_run("probe", "-n", ns, "--from", f"pod/{probed_pod}")
            if result.code != 0:
                raise SystemExit("bench: the probe from a distroless pod failed")
            firsts.append(result.seconds)
        first, container = statistics.median(firsts), statistics.median(starts)
        curl_pod = self.kube.list(PODS, ns, "app=curl")[0]["metadata"]["name"]
        rerun, with_curl = self.interleaved(
            2 * rounds + 1, lambda i: self.ours_run("probe", "-n", ns, "--from", f"pod/{probed[i % len(probed)]}"),
            lambda i: self.ours_run("probe", "-n", ns, "--from", f"pod/{curl_pod}"))
        self.cases.append(Case("probe --from a distroless pod, first run vs its ephemeral container's start",
                               first, container, "<= start + 1s", first - container, first <= container + 1,
                               f"KUBECTL column: the container's start alone (PATCH to running), median of {rounds}; "
                               f"the first run costs {first - with_curl:+.2f}s over a probe from a curl pod"))
        self.add("probe --from a distroless pod, re-run vs probe --from a pod with curl", rerun, with_curl, 1,
                 f"KUBECTL column: ours, from a curl pod's own container; medians of {2 * rounds + 1}")

    def memory(self) -> None:
        kib, command = max(self.rss)
        peak = kib / 1024
        by_command: dict[str, int] = {}
        for size, name in self.rss:
            verb = name.split(" ", 1)[0]
            by_command[verb] = max(size, by_command.get(verb, 0))
        each = ", ".join(f"{name} {size / 1024:.0f}" for name, size in by_command.items())
        floor = self.launcher.run(["true"], self.env).max_rss_kib / 1024
        self.cases.append(Case("peak memory of our runs (MiB)", peak, 0, "<= 64 MiB", peak, peak <= 64,
                               f"largest: kubectl egress {command}; each command's peak: {each}; "
                               f"a command that does nothing measures {floor:.0f}"))

    def report(self) -> str:
        from kubectl_egress.printers import format_table
        rows = []
        for c in self.cases:
            cpu = f"{c.cpu[0]:.3f}s/{c.cpu[1]:.3f}s {c.cpu[0] / c.cpu[1]:.2f}x" if c.cpu and c.cpu[1] else "-"
            if c.name.startswith("peak memory"):
                rows.append([c.name, f"{c.ours:.1f} MiB", "-", "-", cpu, c.target, "yes" if c.met else "NO"])
            elif c.target.startswith("<= start"):
                rows.append([c.name, f"{c.ours:.3f}s", f"{c.theirs:.3f}s", f"{c.ratio:+.2f}s", cpu, c.target,
                             "yes" if c.met else "NO"])
            elif c.target.startswith(">="):
                rows.append([c.name, f"{c.ours:.3f}s", f"{c.theirs:.3f}s", f"{c.ratio:.1f}x faster", cpu,
                             c.target, "yes" if c.met else "NO"])
            else:
                rows.append([c.name, f"{c.ours:.3f}s", f"{c.theirs:.3f}s", f"{c.ratio:.2f}x", cpu, c.target,
                             "yes" if c.met else "NO"])
        notes = [f"  {c.name}: {c.note}" for c in self.cases if c.note]
        return format_table(["CASE", "OURS", "KUBECTL", "RATIO", "CPU OURS/KUBECTL", "TARGET", "MET"], rows) + \
            ("notes:\n" + "\n".join(notes) + "\n" if notes else "")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer runs and smaller sizes (a smoke run)")
    args = parser.parse_args()
    for binary in (ONEDIR, ONEFILE):
        if not binary.exists():
            raise SystemExit(f"bench: {binary} is missing: run make build")
    launcher = Launcher()  # first, while this process is small
    bench = Bench(args.quick, launcher)
    try:
        # probe -A first: it finds only its own egress services; and the probes before the bulk cases,
        # since the emulated pod network's work per exec grows with the number of Services, which would
        # slow kubectl's execs more than ours
        for case in (bench.help, bench.probe, bench.get_small, bench.externalname, bench.probe_from_workload,
                     bench.clean_bulk, bench.get_bulk, bench.memory):
            started = time.perf_counter()
            case()
            print(f"bench: {case.__name__} done in {time.perf_counter() - started:.1f}s", file=sys.stderr)
    finally:
        bench.close()
        launcher.close()
    print(f"kubectl-egress bench ({'quick' if args.quick else 'full'}; medians of interleaved runs; "
          f"{os.cpu_count()} cores)")
    print(bench.report(), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
