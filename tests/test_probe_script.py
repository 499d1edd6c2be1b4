"""The probe's shell script, run by the local sh with a stand-in curl on PATH.

The stand-in answers like curl would (headers with -D -, body into -o, the
-w line, exit codes) and logs when each transfer starts and ends, so these
tests see what the script itself does: checks side by side through its pool
of slots, the sidecar's metrics read around non-HTTP checks one at a time,
and output that parse() reads back whole.
"""
import os
import subprocess
import sys
import textwrap

import pytest

from kubectl_egress import probe

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
    time.sleep(float(os.environ.get("FAKE_CURL_DELAY", "0")))
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

    def run(checks, parallel=probe.PARALLEL, sidecar=False, delay=0.0, body=20):
        log.write_text("")
        env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "FAKE_CURL_LOG": str(log),
               "FAKE_SIDECAR": "1" if sidecar else "0", "FAKE_CURL_DELAY": str(delay), "FAKE_BODY": str(body),
               "TMPDIR": str(tmp_path)}
        argv = probe.command(checks, 5, "n0nce", parallel)
        done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        events = [line.split(" ", 2) for line in log.read_text().splitlines()]
        return probe.parse(done.stdout, "n0nce"), events

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
