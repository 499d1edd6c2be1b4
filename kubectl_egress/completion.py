"""Shell completion: for `kubectl egress ...` through kubectl, and for `kubectl-egress ...` itself.

kubectl 1.26+ completes a plugin's arguments by running the helper
`kubectl_complete-egress` with the words typed after `egress` (the last one
being the word to complete); the helper prints one candidate per line
(`value<TAB>help`) and a last line `:4` (cobra's ShellCompDirectiveNoFileComp).
The same binary serves as that helper when called by that name (a symlink) or
as `kubectl egress __complete ...`. NAME arguments complete to the egress
services of the namespace (for clean and the recipes: the ones kubectl-egress
made).

`kubectl egress completion bash|zsh|fish` prints click's script for the
`kubectl-egress` command itself.
"""
from __future__ import annotations

import click
from click.shell_completion import CompletionItem, ShellComplete, get_completion_class

COMPLETE_VAR = "_KUBECTL_EGRESS_COMPLETE"
NO_FILE_COMPLETION = 4
HELPER = "kubectl_complete-egress"
_typed: list[str] = []  # the words being completed, for the NAME completer


def candidates(cli: click.Command, words: list[str]) -> list[CompletionItem]:
    """Completions for the last word, given the words before it."""
    global _typed
    _typed = list(words)
    args, incomplete = (words[:-1], words[-1]) if words else ([], "")
    return ShellComplete(cli, {}, "kubectl egress", COMPLETE_VAR).get_completions(args, incomplete)


def helper_output(cli: click.Command, words: list[str]) -> str:
    """What kubectl expects from kubectl_complete-egress."""
    lines = [f"{item.value}\t{item.help}" if item.help else str(item.value) for item in candidates(cli, words)]
    lines.append(f":{NO_FILE_COMPLETION}")
    return "\n".join(lines) + "\n"


def script(cli: click.Command, shell: str) -> str:
    """The completion script of one shell for the kubectl-egress command."""
    kind = get_completion_class(shell)
    if kind is None:
        raise click.BadParameter(f'"{shell}" is not one of bash, zsh, fish', param_hint="SHELL")
    return kind(cli, {}, "kubectl-egress", COMPLETE_VAR).source()


def _flag(words: list[str], *names: str) -> str | None:
    for i, word in enumerate(words):
        for name in names:
            if word == name and i + 1 < len(words):
                return words[i + 1]
            if word.startswith(name + "="):
                return word.split("=", 1)[1]
    return None


def _names(incomplete: str, managed_only: bool) -> list[CompletionItem]:
    try:
        from .app import App
        from .model import MANAGED_SELECTOR, SERVICES, is_egress_service

        raw = {"kubeconfig": _flag(_typed, "--kubeconfig"), "context": _flag(_typed, "--context"),
               "namespace": _flag(_typed, "-n", "--namespace"), "request_timeout": "3s"}
        app = App.from_raw({k: v for k, v in raw.items() if v is not None})
        kube = app.kube()
        names = [s["metadata"]["name"] for s in kube.list(SERVICES, kube.namespace,
                                                          MANAGED_SELECTOR if managed_only else "",
                                                          keep=is_egress_service)]
    except Exception:  # completion must never fail loudly
        return []
    taken = set(_typed[:-1])
    return [CompletionItem(n) for n in names if n.startswith(incomplete) and n not in taken]


def service_names(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """The egress services of the namespace in the typed flags, whoever made them (none if the
    cluster is out of reach)."""
    return _names(incomplete, managed_only=False)


def owned_names(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """The egress services kubectl-egress made (what clean, externalname and endpoints act on)."""
    return _names(incomplete, managed_only=True)
