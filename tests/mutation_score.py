"""`make mutate`'s report: the mutation score of each module mutmut ran, from mutants/*.meta.

Score = killed / (mutants - equivalent). Killed counts mutants a test failed on, timed out on,
or that broke the import; a mutant no test reaches counts as surviving. Equivalent mutants
(the program behaves the same, so no test can kill them) are listed with their reason in
tests/mutation-equivalents.txt; a listed mutant that is killed or gone is reported, so the list
does not go stale.

    python -m tests.mutation_score [--min 90]    exit 1 if a module in scope scores below --min
"""
from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EQUIVALENTS = ROOT / "tests" / "mutation-equivalents.txt"
KILLED = {1, 3, 36, 24, -24, 152, 255, 37}  # mutmut's exit codes: test failed, pytest error, timeout, type check
SURVIVED = {0, 5, 33}  # a test run that passed, or no test reached the mutant
TARGET = 90.0


@dataclass
class Score:
    module: str
    total: int = 0
    killed: int = 0
    survived: int = 0
    no_tests: int = 0
    equivalent: int = 0
    unchecked: int = 0

    @property
    def percent(self) -> float:
        counted = self.total - self.equivalent - self.unchecked
        return 100.0 * self.killed / counted if counted else 0.0


def equivalents(path: Path = EQUIVALENTS) -> dict[str, str]:
    """mutant name -> why it is equivalent (lines `NAME  reason`, # comments)."""
    out = {}
    for line in path.read_text().splitlines() if path.exists() else []:
        line = line.strip()
        if line and not line.startswith("#"):
            name, _, reason = line.partition(" ")
            out[name] = reason.strip()
    return out


def module_of(mutant: str) -> str:
    """kubectl_egress.apply.x_plan__mutmut_3 (or .xǁApplierǁrun__mutmut_1) -> kubectl_egress.apply"""
    return mutant[:mutant.index(".x")]


def scores(mutants: Path, equivalent: dict[str, str]) -> tuple[list[Score], list[str]]:
    """Each module's score, and what is wrong with the equivalents list."""
    found, problems = [], []
    seen = set()
    for meta in sorted(mutants.rglob("*.py.meta")):
        codes = json.loads(meta.read_text()).get("exit_code_by_key", {})
        if not codes:
            continue
        score = Score(str(meta.relative_to(mutants))[:-len(".meta")])
        for name, code in codes.items():
            seen.add(name)
            score.total += 1
            if code is None:
                score.unchecked += 1
            elif code in KILLED:
                score.killed += 1
                if name in equivalent:
                    problems.append(f"{name} is listed as equivalent but a test kills it")
            elif name in equivalent:
                score.equivalent += 1
            elif code in (5, 33):
                score.no_tests += 1
            else:
                score.survived += 1
        if score.unchecked < score.total:  # modules outside a narrowed run (ONLY=...) stay out
            found.append(score)
    ran = {s.module.replace("/", ".")[:-len(".py")] for s in found}
    for name in equivalent:
        if name not in seen and module_of(name) in ran:
            problems.append(f"{name} is listed as equivalent but no longer exists")
    return found, problems


def report(found: list[Score], problems: list[str], minimum: float | None = None) -> int:
    rows = [("MODULE", "MUTANTS", "KILLED", "SURVIVED", "NO TESTS", "EQUIVALENT", "NOT RUN", "SCORE")]
    for s in found:
        rows.append((s.module, str(s.total), str(s.killed), str(s.survived), str(s.no_tests), str(s.equivalent),
                     str(s.unchecked), f"{s.percent:.1f}%"))
    widths = [max(len(r[i]) for r in rows) + 3 for i in range(len(rows[0]))]
    for r in rows:
        print("".join(cell.ljust(w) for cell, w in zip(r, widths)).rstrip())
    print(f"score: killed / (mutants - equivalent - not run); target {TARGET:.0f}% per module")
    for problem in problems:
        print(f"warning: {problem}")
    if minimum is not None and any(s.percent < minimum for s in found):
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mutants", type=Path, default=ROOT / "mutants")
    parser.add_argument("--min", type=float, default=None, help="exit 1 if a module scores below this")
    args = parser.parse_args(argv)
    if not args.mutants.exists():
        print("no mutants/: run make mutate", file=sys.stderr)
        return 2
    found, problems = scores(args.mutants, equivalents())
    return report(found, problems, args.min)


if __name__ == "__main__":
    sys.exit(main())
