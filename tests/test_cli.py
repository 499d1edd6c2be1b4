"""Every command has help text that reads `kubectl egress ...`, with examples, under -h and --help."""
import pytest

from kubectl_egress.cli import cli

COMMANDS = sorted(name for name, command in cli.commands.items() if not command.hidden)


def test_the_commands():
    assert COMMANDS == ["check", "clean", "completion", "endpoints", "externalname", "get", "options", "probe",
                        "serviceentry", "version"]


@pytest.mark.parametrize("name", COMMANDS)
@pytest.mark.parametrize("flag", ["-h", "--help"])
def test_help(egress, name, flag):
    res = egress(name, flag)
    assert res.code == 0 and res.err == ""
    assert res.out.startswith(f"Usage: kubectl egress {name} ")
    assert len(cli.commands[name].help.strip()) > 40


@pytest.mark.parametrize("name", [c for c in COMMANDS if c != "version"])
def test_help_has_examples(egress, name):
    assert "Examples:" in egress(name, "--help").out


def test_no_arguments_prints_help(egress):
    res = egress()
    assert res.code == 0 and res.out.startswith("Usage: kubectl egress [OPTIONS] COMMAND [ARGS]...")


def test_help_and_usage_errors_do_not_load_the_client():
    import subprocess
    import sys
    code = ("import sys; from kubectl_egress.cli import main\n"
            "try: main(sys.argv[1:])\n"
            "except SystemExit: pass\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('kubernetes', 'yaml', 'http')))")
    for args in (["--help"], ["get", "--help"], ["externalname", "Bad_Name", "x.org"], ["version", "--client"],
                 ["completion", "bash"]):
        out = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True).stdout
        assert out.strip().splitlines()[-1] == "[]", args


def test_the_process_ends_as_sys_exit_would(apiserver, tmp_path):
    """main() run as the program ends with os._exit (cli.end_process): the atexit functions still
    remove the temporary file of the kubeconfig's CA data, output piped to another process
    arrives whole, and the exit codes are kubectl's."""
    import json
    import os
    import subprocess
    import sys
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    env = {**os.environ, "TMPDIR": str(scratch)}
    program = [sys.executable, "-c", "from kubectl_egress.cli import main; main()"]
    made = subprocess.run([*program, "externalname", "my-httpbin", "httpbin.org"], env=env, capture_output=True)
    assert made.returncode == 0, made.stderr
    listing = subprocess.run([*program, "get", "-o", "json"], env=env, capture_output=True, text=True)
    assert listing.returncode == 0 and len(json.loads(listing.stdout)["items"]) == 2, listing.stderr
    missing = subprocess.run([*program, "get", "no-such-service"], env=env, capture_output=True, text=True)
    assert missing.returncode == 1 and 'services "no-such-service" not found' in missing.stderr
    assert subprocess.run([*program, "get", "--bad"], env=env, capture_output=True).returncode == 2
    assert list(scratch.iterdir()) == []
