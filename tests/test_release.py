"""One version, and the names a rules repository pins, all derived from it."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

from reconciler import __version__, release

ROOT = Path(__file__).resolve().parents[1]


def test_the_version_has_one_home() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "version" not in project["project"]
    assert project["project"]["dynamic"] == ["version"]
    dynamic = project["tool"]["setuptools"]["dynamic"]["version"]
    assert dynamic == {"attr": "reconciler.__version__"}
    assert re.fullmatch(r"\d+\.\d+\.\d+", __version__)


def test_reconcile_version_prints_it() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "reconciler", "--version"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert (proc.returncode, proc.stdout) == (0, f"reconcile, version {__version__}\n")


def test_the_names_a_rules_repository_pins() -> None:
    assert release.tag("1.2.3") == "v1.2.3"
    assert release.schema_url("rules.schema.json", "1.2.3") == (
        "https://raw.githubusercontent.com/ouroboros-project/ouroboros/v1.2.3/schemas/"
        "rules.schema.json"
    )
    assert release.workflow_ref("plan", "1.2.3") == (
        "ouroboros-project/ouroboros/.github/workflows/reusable-plan.yml@v1.2.3"
    )


def test_each_schema_id_is_its_file_at_this_versions_tag() -> None:
    # A release bumps reconciler/__init__.py and the $id together (CONTRIBUTING, Releasing).
    for path in sorted((ROOT / "schemas").glob("*.schema.json")):
        assert json.loads(path.read_text())["$id"] == release.schema_url(path.name), path.name


def test_the_changelog_keeps_a_changelog() -> None:
    text = (ROOT / "CHANGELOG.md").read_text()
    assert text.startswith("# Changelog\n")
    assert "https://keepachangelog.com/en/1.1.0/" in text
    headings = re.findall(r"^## \[(.+?)\]", text, flags=re.MULTILINE)
    assert headings[0] == "Unreleased"
    assert __version__ in headings  # the version being released has its section
    # Every heading has its comparison link at the foot.
    for heading in headings:
        assert re.search(rf"^\[{re.escape(heading)}\]: {release.REPOSITORY_URL}/", text, re.M)


# Where the docs name a released version, it is this one: a release bumps them with the code.
_VERSION_MENTIONS = re.compile(
    r"ouroboros-reconciler==(\d+\.\d+\.\d+)"
    r"|ouroboros-project/ouroboros/v(\d+\.\d+\.\d+)/"
    r"|reusable-[a-z-]+\.yml@v(\d+\.\d+\.\d+)"
    r"|tool-version: \"(\d+\.\d+\.\d+)\""
)


def test_the_docs_name_this_version() -> None:
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
    found = {
        (page.relative_to(ROOT).as_posix(), next(v for v in m.groups() if v))
        for page in pages
        for m in _VERSION_MENTIONS.finditer(page.read_text())
    }
    assert found  # the tutorial and the reference name it
    assert {(page, v) for page, v in found if v != __version__} == set()
