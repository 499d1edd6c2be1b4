"""The local cluster shares no code with the plugin: where both implement one upstream rule,
each is written from the upstream source on its own and checked against upstream's vectors."""
import ast
from pathlib import Path

import pytest

from kubectl_egress import printers
from tests.apiserver import tables

APISERVER = Path(__file__).resolve().parent / "apiserver"

NS = 1
MS = 1_000_000 * NS
S = 1000 * MS
M, H = 60 * S, 3600 * S
D, Y = 24 * H, 365 * 24 * H

# k8s.io/apimachinery pkg/util/duration/duration_test.go (kubernetes/kubernetes
# staging/src/k8s.io/apimachinery/...), TestHumanDuration and TestHumanDurationBoundaries:
# (time.Duration in nanoseconds, HumanDuration's text)
HUMAN_DURATION = [
    # TestHumanDuration
    (S, "1s"), (70 * S, "70s"), (190 * S, "3m10s"), (70 * M, "70m"), (47 * H, "47h"),
    (49 * H, "2d1h"), ((8 * 24 + 2) * H, "8d"), (367 * D, "367d"), (2 * Y + 25 * H, "2y1d"),
    (8 * Y + 2 * H, "8y"),
    # TestHumanDurationBoundaries
    (-2 * S, "<invalid>"), (-2 * S + NS, "0s"), (0, "0s"), (S - MS, "0s"), (2 * M - MS, "119s"),
    (2 * M, "2m"), (2 * M + S, "2m1s"), (10 * M - MS, "9m59s"), (10 * M, "10m"), (10 * M + S, "10m"),
    (3 * H - MS, "179m"), (3 * H, "3h"), (3 * H + M, "3h1m"), (8 * H - MS, "7h59m"), (8 * H, "8h"),
    (8 * H + 59 * M, "8h"), (2 * D - MS, "47h"), (2 * D, "2d"), (2 * D + H, "2d1h"), (8 * D - MS, "7d23h"),
    (8 * D, "8d"), (8 * D + 23 * H, "8d"), (2 * Y - MS, "729d"), (2 * Y, "2y"), (2 * Y + 23 * H, "2y"),
    (2 * Y + 23 * H + 59 * M, "2y"), (2 * Y + 24 * H - MS, "2y"), (2 * Y + 24 * H, "2y1d"), (3 * Y, "3y"),
    (4 * Y, "4y"), (5 * Y, "5y"), (6 * Y, "6y"), (7 * Y, "7y"), (8 * Y - MS, "7y364d"), (8 * Y, "8y"),
    (8 * Y + 364 * D, "8y"), (9 * Y, "9y"),
]


@pytest.mark.parametrize("implementation", [printers.human_duration, tables.human_duration],
                         ids=["plugin", "apiserver"])
@pytest.mark.parametrize("duration, text", HUMAN_DURATION, ids=[t for _, t in HUMAN_DURATION])
def test_human_duration_matches_apimachinery(implementation, duration, text):
    assert implementation(duration / S) == text


def imported_modules(path: Path) -> set[str]:
    """Every module an `import` or `from ... import` in the file names (relative ones as written)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
    return names


def test_the_local_cluster_imports_nothing_from_the_plugin():
    modules = sorted(APISERVER.rglob("*.py"))
    assert len(modules) > 10, "the walk found the local cluster's modules"
    offenders = {str(p.relative_to(APISERVER)): sorted(m for m in imported_modules(p)
                                                        if m.split(".")[0] == "kubectl_egress")
                 for p in modules}
    assert {k: v for k, v in offenders.items() if v} == {}
    # nor by a dynamic import or a path the AST cannot see (`grep -rn kubectl_egress tests/apiserver`)
    assert [str(p.relative_to(APISERVER)) for p in modules if "kubectl_egress" in p.read_text()] == []
