"""The lock files CI installs from (requirements/*.txt) agree with pyproject.toml.

Offline and cheap: every dependency pyproject.toml names (and its build requirements) is pinned
with `==` and at least one `--hash=` in the lock, at a version its range allows. `make lock`
regenerates them; the workflows install them with `--require-hashes`.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
REQUIREMENTS = ROOT / "requirements"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
PIN = re.compile(r"(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)==(?P<version>\S+)")


def parse(text: str) -> dict[str, tuple[str, int]]:
    """Every pinned package of a pip-compile lock: version and number of hashes, by canonical
    name. An entry is an unindented `name==version \\` line and the indented lines under it."""
    pins: dict[str, tuple[str, int]] = {}
    current = ""
    for line in text.splitlines():
        if line and not line[0].isspace() and (m := PIN.match(line)):
            current = canonicalize_name(m["name"])
            pins[current] = (m["version"], 0)
        elif current and line.lstrip().startswith("--hash=sha256:"):
            version, hashes = pins[current]
            pins[current] = (version, hashes + 1)
    return pins


def locked(name: str) -> dict[str, tuple[str, int]]:
    return parse((REQUIREMENTS / name).read_text())


def pulled_in_by_pyproject(text: str) -> set[str]:
    """The entries pip-compile says pyproject.toml asks for itself (`# via ouroboros-...`)."""
    found: set[str] = set()
    current = ""
    for line in text.splitlines():
        if line and not line[0].isspace() and (m := PIN.match(line)):
            current = canonicalize_name(m["name"])
        elif current and "ouroboros-reconciler (pyproject.toml" in line:
            found.add(current)
    return found


def declared(extra: str | None) -> list[Requirement]:
    names = list(PYPROJECT["project"]["dependencies"])
    names += PYPROJECT["build-system"]["requires"]
    if extra:
        names += PYPROJECT["project"]["optional-dependencies"][extra]
    return [Requirement(n) for n in names]


LOCKS = [("runtime.txt", None), ("dev.txt", "dev")]


@pytest.mark.parametrize(("lock", "extra"), LOCKS)
def test_every_declared_dependency_is_pinned_with_hashes(lock: str, extra: str | None) -> None:
    pins = locked(lock)
    problems = []
    for requirement in declared(extra):
        name = canonicalize_name(requirement.name)
        if name not in pins:
            problems.append(f"{requirement.name} is not in requirements/{lock}")
            continue
        version, hashes = pins[name]
        if not requirement.specifier.contains(version, prereleases=True):
            problems.append(f"{requirement.name}=={version} is outside {requirement.specifier}")
        if hashes == 0:
            problems.append(f"{requirement.name}=={version} has no --hash")
    assert problems == [], "run `make lock`: " + "; ".join(problems)


@pytest.mark.parametrize(("lock", "extra"), LOCKS)
def test_every_line_of_the_lock_is_a_hashed_pin(lock: str, extra: str | None) -> None:
    # pip --require-hashes refuses the whole file for one entry without a hash or `==`.
    text = (REQUIREMENTS / lock).read_text()
    entries = [line for line in text.splitlines() if line and not line[0].isspace()]
    entries = [line for line in entries if not line.startswith("#")]
    assert entries, lock
    assert all(re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*==\S+ \\", e) for e in entries), entries
    assert all(hashes > 0 for _, hashes in locked(lock).values())
    # Nothing that points pip elsewhere (an index URL, a local path) is written into the lock.
    assert not re.search(r"^\s*-(-index-url|-extra-index-url|-find-links|i|f)\b", text, re.M)


@pytest.mark.parametrize(("lock", "extra"), LOCKS)
def test_nothing_is_locked_for_a_dependency_pyproject_dropped(lock: str, extra: str | None) -> None:
    # A dependency removed from (or moved out of) pyproject.toml must leave the lock too.
    wanted = {canonicalize_name(r.name) for r in declared(extra)}
    assert pulled_in_by_pyproject((REQUIREMENTS / lock).read_text()) == wanted, "run `make lock`"


def test_runtime_and_dev_pin_the_same_versions() -> None:
    # The plan and apply jobs run with runtime.txt what the tests ran with dev.txt.
    runtime, dev = locked("runtime.txt"), locked("dev.txt")
    assert {n: v for n, (v, _) in runtime.items()} == {n: dev[n][0] for n in runtime if n in dev}
    assert set(runtime) <= set(dev)


def test_the_parser_sees_versions_and_hashes() -> None:
    lock = "PyYAML==6.0.2 \\\n    --hash=sha256:" + "a" * 64 + " \\\n    --hash=sha256:" + "b" * 64
    lock += "\n    # via x\nclick==8.1.0\n"
    assert parse(lock) == {"pyyaml": ("6.0.2", 2), "click": ("8.1.0", 0)}
    via = "boto3==1.0 \\\n    # via\n    #   ouroboros-reconciler (pyproject.toml)\n    #   moto\n"
    via += "jmespath==1.0 \\\n    # via boto3\n"
    assert pulled_in_by_pyproject(via) == {"boto3"}
