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
