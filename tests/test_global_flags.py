"""kubectl's global flags: accepted before or after the subcommand, listed once by `kubectl
egress options` (as `kubectl options` lists kubectl's), hidden from each command's page."""
from __future__ import annotations

import subprocess
import sys
import warnings

import pytest

from kubectl_egress.app import App
from kubectl_egress.cli import GLOBAL_FLAGS, cli

NAMES = [names[-1] for names, *_ in GLOBAL_FLAGS]


def test_the_flags_kubectl_options_lists_that_fit_a_plugin(kubectl):
    """Every flag here is one of kubectl's global flags, and those left out are the profiling and
    logging ones."""
    theirs = {line.split("=")[0].split(", ")[-1].strip() for line in kubectl("options").out.splitlines()
              if line.startswith("    -")}
    assert set(NAMES) <= theirs
    assert theirs - set(NAMES) == {"--log-flush-frequency", "--match-server-version", "--profile",
                                   "--profile-output", "--vmodule"}


def test_options_lists_them_all(egress):
    res = egress("options")
    assert res.code == 0 and res.out.startswith("The following options can be passed to any command:")
    for names, *_ in GLOBAL_FLAGS:
        assert f"    {', '.join(names)}=" in res.out
    assert "    --as-group=[]:\n\tGroup to impersonate" in res.out


@pytest.mark.parametrize("command", sorted(n for n, c in cli.commands.items() if not c.hidden))
def test_help_pages_point_to_options_instead(egress, command):
    out = egress(command, "--help").out
    options = out.split("Options:")[1]
    assert "--kubeconfig" not in options and "--as" not in options and "--token" not in options
    assert 'Use "kubectl egress options" for a list of global command-line options' in out


def flags_of(*argv: str) -> App:
    """The App a command would get, from a parse of argv (the command itself not run)."""
    ctx = cli.make_context("kubectl egress", list(argv))
    with warnings.catch_warnings():  # click 8.2+ deprecates protected_args; 8.1 needs it
        warnings.simplefilter("ignore", DeprecationWarning)
        rest = [*ctx.protected_args, *ctx.args]
    sub_name, sub_cmd, args = cli.resolve_command(ctx, rest)
    sub_cmd.make_context(sub_name, args, parent=ctx)
    return App.from_raw(ctx.meta.get("kubectl_egress.flags", {}))


def test_before_or_after_the_subcommand_and_repeated_groups_add_up():
    app = flags_of("--as", "jane", "--as-group", "a", "--server", "https://k:6443", "get", "--as-group", "b",
                   "-s", "https://near:6443", "--insecure-skip-tls-verify", "--request-timeout", ".5s",
                   "--warnings-as-errors", "--token", "t", "--cache-dir", "/c", "--disable-compression")
    flags = app.flags
    assert (flags.impersonate, flags.impersonate_groups, flags.server, flags.insecure_skip_tls_verify,
            flags.request_timeout, flags.token, flags.disable_compression, app.warnings_as_errors) == \
        ("jane", ("a", "b"), "https://near:6443", True, 0.5, "t", True, True)


@pytest.mark.parametrize("argv, message", [
    (["get", "--request-timeout", "-1s"], 'invalid argument "-1s" for "--request-timeout"'),
    (["get", "--as-group", "devs"], "requesting uid, groups or user-extra for local-admin without "
                                    "impersonating a user; add --as USER"),
])
def test_bad_flags_exit_2_before_any_request(apiserver, egress, argv, message):
    apiserver.clear_requests()
    res = egress(*argv)
    assert res.code == 2 and res.err.startswith(f"error: {message}") and res.err.count("\n") == 1
    assert apiserver.requests() == []


def test_options_loads_nothing_heavy():
    code = ("import sys; from kubectl_egress.cli import main\n"
            "try: main(['options'])\n"
            "except SystemExit: pass\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('kubernetes', 'yaml', 'http', 'ssl')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout
    assert out.strip().splitlines()[-1] == "[]"


def test_cache_dir_flag_wins_over_kubecachedir(apiserver, egress, kubectl, tmp_path):
    """kubectl's --cache-dir (default $KUBECACHEDIR, else ~/.kube/cache): the discovery cache the
    plugin shares with kubectl goes there."""
    from kubectl_egress import discovery

    assert egress("get", "--cache-dir", str(tmp_path / "flag")).code == 0
    written = discovery.read_groups(discovery.server_dir(tmp_path / "flag", apiserver.url))
    assert written is not None and discovery.preferred(written, "networking.istio.io")
    assert kubectl("get", "svc", "--cache-dir", str(tmp_path / "flag")).code == 0
