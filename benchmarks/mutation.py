"""How much of the boundary modules' behaviour do the tests pin? (issue 16)

Runs mutmut (configured in pyproject.toml's [tool.mutmut]: reconciler/checks.py, plan.py,
planfile.py and the executor's modules, each mutant against the tests that cover it) with at most
two workers, then reads `mutmut results --all true` and prints per module: killed/total, the
score, the surviving mutants by name, and the equivalent mutants listed with a reason in
benchmarks/mutation-equivalent.txt (shown apart, not counted). A timeout counts as killed; a
mutant no selected test reaches ("no tests") as a survivor; one not run yet is only counted.

Target: >= 95% per module. Run: `python benchmarks/mutation.py` (or `make mutation`; minutes);
`--no-run` reports the last run's results; a module name (e.g. reconciler.checks) runs only
its mutants. `mutmut show NAME` shows one mutant's diff. Exits 1 when a module misses the target.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EQUIVALENT_FILE = ROOT / "benchmarks" / "mutation-equivalent.txt"
MUTMUT = Path(sys.executable).with_name("mutmut")
TARGET = 95.0
DETECTED = ("killed", "timeout", "caught by type check")


@dataclass
class Module:
    name: str
    killed: int = 0
    survivors: list[str] = field(default_factory=list)
    equivalent: list[str] = field(default_factory=list)
    not_run: int = 0

    @property
    def counted(self) -> int:
        return self.killed + len(self.survivors)

    @property
    def score(self) -> float:
        return 100.0 * self.killed / self.counted if self.counted else 100.0


def module_of(mutant: str) -> str:
    """reconciler.checks.x_check_event__mutmut_3 -> reconciler.checks (methods: xǁClassǁ...)."""
    parts = mutant.split(".")
    for i, part in enumerate(parts):
        if part.startswith(("x_", "xǁ")):
            return ".".join(parts[:i])
    return ".".join(parts[:-1])


def read_equivalent(path: Path) -> dict[str, str]:
    """`mutant-name  why it is equivalent` per line; # starts a comment line."""
    reasons: dict[str, str] = {}
    if not path.exists():
        return reasons
    for number, line in enumerate(path.read_text().splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, _, reason = line.partition(" ")
        if not reason.strip():
            sys.exit(f"{path.name}:{number}: {name} has no reason; say why it is equivalent")
        reasons[name] = reason.strip()
    return reasons


def read_results() -> dict[str, str]:
    """Each mutant's status, from `mutmut results --all true` ("    name: status")."""
    out = subprocess.run(
        [str(MUTMUT), "results", "--all", "true"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    statuses: dict[str, str] = {}
    for line in out.splitlines():
        name, sep, status = line.strip().rpartition(": ")
        if sep and "__mutmut_" in name:
            statuses[name] = status
    return statuses


def tally(statuses: dict[str, str], equivalent: dict[str, str]) -> list[Module]:
    modules: dict[str, Module] = defaultdict(lambda: Module(""))
    for name, status in sorted(statuses.items(), key=lambda kv: _natural(kv[0])):
        module = modules[module_of(name)]
        module.name = module_of(name)
        if name in equivalent:
            module.equivalent.append(name)
        elif status == "not checked":
            module.not_run += 1
        elif status in DETECTED:
            module.killed += 1
        else:
            module.survivors.append(name if status == "survived" else f"{name} ({status})")
    return sorted(modules.values(), key=lambda m: m.name)


def _natural(name: str) -> tuple[str, int]:
    stem, _, number = name.rpartition("__mutmut_")
    return stem, int(number) if number.isdigit() else 0


def report(modules: list[Module], equivalent: dict[str, str]) -> bool:
    ok = True
    for m in modules:
        met = m.counted > 0 and m.score >= TARGET
        ok = ok and met
        print(
            f"{m.name:32} {m.killed:4}/{m.counted:<4} killed  {m.score:5.1f}%  "
            f"{len(m.equivalent)} equivalent  {_verdict(m, met)}"
            + (f"  ({m.not_run} not run yet)" if m.not_run else "")
        )
        for name in m.survivors:
            print(f"    survived: {name}")
        for name in m.equivalent:
            print(f"    equivalent: {name}: {equivalent[name]}")
    return ok


def _verdict(module: Module, met: bool) -> str:
    if not module.counted:
        return "not run"
    return "ok" if met else f"below {TARGET:.0f}%"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("modules", nargs="*", help="only these modules, e.g. reconciler.checks")
    parser.add_argument("--no-run", action="store_true", help="report the last run only")
    parser.add_argument("--max-children", type=int, default=2)
    args = parser.parse_args()
    if not args.no_run:
        names = [f"{m}.x*" for m in args.modules]
        run = [str(MUTMUT), "run", "--max-children", str(args.max_children), *names]
        subprocess.run(run, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    equivalent = read_equivalent(EQUIVALENT_FILE)
    modules = tally(read_results(), equivalent)
    if args.modules:
        modules = [m for m in modules if m.name in args.modules]
    return 0 if report(modules, equivalent) else 1


if __name__ == "__main__":
    sys.exit(main())
