"""The probe's shell script, run by the local sh with a stand-in curl on PATH.

The stand-in answers like curl would (headers with -D -, body into -o, the
-w line, exit codes) and logs when each transfer starts and ends, so these
tests see what the script itself does: checks side by side through its pool
of slots, the sidecar's metrics read around non-HTTP checks one at a time,
and output that parse() reads back whole.
"""
import os
import secrets
import subprocess
import sys
import textwrap
import time

import pytest

from kubectl_egress import probe
from tests.procs import holding

FAKE_CURL = textwrap.dedent('''\
    #!{python}
    import os, sys, time
    args = sys.argv[1:]
    url = args[-1]
    log = os.environ["FAKE_CURL_LOG"]
    if url.startswith("http://127.0.0.1:15000/"):
        if os.environ.get("FAKE_SIDECAR") != "1":
            sys.exit(7)
        with open(log, "a") as f:
            f.write(f"stats {{time.time()}}\\n")
        if url.endswith("/ready"):
            sys.exit(0)
        count = sum(1 for line in open(log) if line.startswith("end"))
        print(f"reporter=.=source;.;_istio_tcp_connections_opened_total: {{count}}")
        sys.exit(0)
    with open(log, "a") as f:
        f.write(f"start {{time.time()}} {{url}}\\n")
    time.sleep(float(os.environ.get("FAKE_CURL_DELAY", "0")) * (100 if "slow" in url else 1))
    body = args[args.index("-o") + 1]
    fmt = args[args.index("-w") + 1].replace("\\\\n", "\\n")
    code, exit_code = (200, 0) if "good" in url else (0, 6)
    if exit_code == 0:
        sys.stdout.write("HTTP/1.1 200 OK\\r\\nserver: envoy\\r\\n\\r\\n")
        with open(body, "w") as f:
            f.write("x" * int(os.environ.get("FAKE_BODY", "20")))
    else:
        sys.stderr.write(f"curl: (6) Could not resolve host: {{url}}\\n")
    fmt = (fmt.replace("%{{http_code}}", f"{{code:03d}}").replace("%{{time_total}}", "0.001")
           .replace("%{{remote_ip}}", "10.0.0.1" if code else "").replace("%{{remote_port}}", "80" if code else ""))
    sys.stdout.write(fmt)
    with open(log, "a") as f:
        f.write(f"end {{time.time()}} {{url}}\\n")
    sys.exit(exit_code)
''')


@pytest.fixture
def run_script(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    curl = bin_dir / "curl"
    curl.write_text(FAKE_CURL.format(python=sys.executable))
    curl.chmod(0o755)
    log = tmp_path / "curl.log"

    def environ(sidecar=False, delay=0.0, body=20):
        return {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "FAKE_CURL_LOG": str(log),
               "FAKE_SIDECAR": "1" if sidecar else "0", "FAKE_CURL_DELAY": str(delay), "FAKE_BODY": str(body),
               "TMPDIR": str(tmp_path)}

    def run(checks, parallel=probe.PARALLEL, sidecar=False, delay=0.0, body=20):
        log.write_text("")
        env = environ(sidecar, delay, body)
        argv = probe.command(checks, 5, "n0nce", parallel)
        done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        events = [line.split(" ", 2) for line in log.read_text().splitlines()]
        return probe.parse(done.stdout, "n0nce"), events

    run.environ = environ
    log.write_text("")
    return run


def http(i: int, good: bool = True) -> probe.Check:
    host = "good" if good else "bad"
    return probe.Check(str(i), f"s{i}", "default", f"http://{host}-{i}.default.svc.cluster.local/headers")


def tls(i: int) -> probe.Check:
    return probe.Check(str(i), f"s{i}", "default", "https://good.example/", "--connect-to",
                       f"good.example:443:s{i}.default.svc.cluster.local:443", tls=True)


def most_at_once(events) -> int:
    running = peak = 0
    for kind, _, _ in sorted((e for e in events if e[0] in ("start", "end")), key=lambda e: float(e[1])):
        running += 1 if kind == "start" else -1
        peak = max(peak, running)
    return peak


@pytest.mark.parametrize("parallel, at_most", [(1, 1), (3, 3), (8, 8)])
def test_checks_run_side_by_side_up_to_parallel(run_script, parallel, at_most):
    checks = [http(i, good=i % 3 != 0) for i in range(9)]
    outcomes, events = run_script(checks, parallel=parallel, delay=0.3)
    assert sorted(outcomes, key=int) == [c.id for c in checks]
    peak = most_at_once(events)
    assert peak <= at_most
    assert peak > 1 or parallel == 1
    for check in checks:
        got = outcomes[check.id]
        if "good" in check.url:
            assert (got.exit, got.code, got.remote, got.body) == (0, 200, "10.0.0.1:80", "x" * 20)
            assert got.headers == {"server": "envoy"} and got.error == ""
        else:
            assert (got.exit, got.code) == (6, 0) and "Could not resolve host" in got.error


def test_metrics_are_read_around_each_non_http_check_one_at_a_time(run_script):
    checks = [http(0), tls(1), http(2), tls(3)]
    outcomes, events = run_script(checks, sidecar=True, delay=0.1)
    assert not outcomes["0"].stats_before and not outcomes["2"].stats_before
    for ident in ("1", "3"):
        before, after = outcomes[ident].stats_before, outcomes[ident].stats_after
        assert sum(after.values()) == sum(before.values()) + 1  # its own transfer, nothing else
    # the ready check, the HTTP checks side by side, then each TLS check between two readings
    seen = [e[0] if e[0] == "stats" else f"{e[0]} {e[2].split('/')[2]}" for e in events]
    assert seen[0] == "stats"  # is there a sidecar (Envoy admin ready)?
    assert sorted(seen[1:5]) == ["end good-0.default.svc.cluster.local", "end good-2.default.svc.cluster.local",
                                 "start good-0.default.svc.cluster.local", "start good-2.default.svc.cluster.local"]
    assert seen[5:] == ["stats", "start good.example", "end good.example", "stats"] * 2


def test_without_a_sidecar_non_http_checks_run_side_by_side_too(run_script):
    outcomes, events = run_script([tls(i) for i in range(4)], delay=0.3)
    assert len(outcomes) == 4 and all(o.exit == 0 and not o.stats_before for o in outcomes.values())
    assert most_at_once(events) > 1


def test_the_body_is_cut_at_the_limit_and_nothing_is_left_behind(run_script, tmp_path):
    outcomes, _ = run_script([http(0)], body=probe.BODY_LIMIT + 5000)
    assert outcomes["0"].body == "x" * probe.BODY_LIMIT
    assert [p.name for p in tmp_path.iterdir() if p.name not in ("bin", "curl.log")] == []


def test_without_mkfifo_the_checks_run_one_by_one(run_script, tmp_path):
    link = tmp_path / "bin" / "mkfifo"
    link.write_text("#!/bin/sh\nexit 1\n")
    link.chmod(0o755)
    outcomes, events = run_script([http(i) for i in range(4)], delay=0.2)
    assert len(outcomes) == 4 and most_at_once(events) == 1


def started(argv: list[str], env: dict) -> subprocess.Popen:
    return subprocess.Popen(argv, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def lines_until(proc: subprocess.Popen, marker: str) -> list[tuple[float, str]]:
    """The script's output lines, each with when it arrived, up to the first holding marker."""
    seen = []
    for raw in proc.stdout:
        seen.append((time.monotonic(), raw.decode()))
        if marker in seen[-1][1]:
            return seen
    raise AssertionError(f"{marker!r} never came: {seen}")


def test_each_check_is_printed_as_soon_as_it_is_done(run_script):
    """A done line per check as it ends, so the client counts progress and keeps what it has if
    stopped; a slow check holds back only its own lines."""
    checks = [http(0), probe.Check("1", "s1", "default", "http://good-slow-1.default.svc.cluster.local/"),
              http(2)]
    proc = started(probe.command(checks, 5, "n0nce", 4), run_script.environ(delay=0.05))
    try:
        fast = lines_until(proc, "@@n0nce done 2")
        first = lines_until(proc, "@@n0nce done 1") if "done 1" not in "".join(t for _, t in fast) else fast
        out, _ = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert "@@n0nce done 1" not in "".join(text for _, text in fast)  # the slow one came after
    assert first[-1][0] - fast[-1][0] > 1
    outcomes = probe.parse("".join(t for _, t in fast + first) + out.decode(), "n0nce")
    assert sorted(outcomes) == ["0", "1", "2"] and all(o.code == 200 for o in outcomes.values())


@pytest.mark.parametrize("how", ["a stop line", "the end of stdin"])
def test_a_stop_kills_every_process_of_the_probe(run_script, tmp_path, how):
    """What the client does on Ctrl-C (a line), or what a node does when the client is gone (stdin
    closed): the watcher kills the shell, its subshells and every curl, and removes its files."""
    nonce = secrets.token_hex(6)
    checks = [probe.Check(str(i), f"s{i}", "default", f"http://good-slow-{i}.default.svc.cluster.local/")
              for i in range(6)]
    proc = started(probe.command(checks, 60, nonce, 3, watch=True), run_script.environ(delay=1))
    try:
        deadline = time.monotonic() + 20
        while len(holding(nonce)) < 3 + 3 + 1:  # the shell, the watcher, 3 slots and their curls
            assert time.monotonic() < deadline, holding(nonce)
            time.sleep(0.05)
        if how == "a stop line":
            proc.stdin.write(b"stop\n")
            proc.stdin.flush()
        else:
            proc.stdin.close()
        proc.wait(timeout=10)
    finally:
        proc.kill()
    deadline = time.monotonic() + 5
    while holding(nonce):
        assert time.monotonic() < deadline, holding(nonce)
        time.sleep(0.05)
    assert [p.name for p in tmp_path.iterdir() if p.name not in ("bin", "curl.log")] == []


def test_a_probe_that_ends_leaves_no_watcher(run_script):
    nonce = secrets.token_hex(6)
    proc = started(probe.command([http(i) for i in range(3)], 5, nonce, 2, watch=True), run_script.environ())
    try:
        out = proc.stdout.read()  # stdin stays open until the end, as an exec's does
        proc.wait(timeout=30)
        assert holding(nonce) == []
    finally:
        proc.kill()
    assert proc.returncode == 0 and len(probe.parse(out.decode(), nonce)) == 3
