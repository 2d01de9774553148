"""The documentation: a README short enough to finish, and a site that builds with no broken link."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
_LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


def test_the_readme_is_a_landing_page_that_opens_with_the_two_commands() -> None:
    text = README.read_text(encoding="utf-8")
    assert len(text.splitlines()) <= 150
    first_block = text.split("```sh\n", 1)[1].split("```", 1)[0]
    assert [line.split()[:2] for line in first_block.splitlines()] == [
        ["make", "demo"],
        ["make", "test"],
    ]


def test_every_relative_link_of_the_readme_and_contributing_names_a_file() -> None:
    checked = 0
    for page in (README, ROOT / "CONTRIBUTING.md"):
        targets = [t for t in _LINK.findall(page.read_text()) if "://" not in t]
        missing = [t for t in targets if not (page.parent / t).exists()]
        assert missing == [], f"{page.name} links to files that do not exist: {missing}"
        checked += len(targets)
    assert checked > 0  # the README links into docs/: a pattern that finds none checks nothing


def test_the_package_long_description_is_the_readme() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["readme"] == "README.md"
    assert README.is_file()


def test_the_docs_site_builds_in_strict_mode(tmp_path: Path) -> None:
    # --strict turns every warning (a link or an anchor that does not exist, a page missing
    # from the nav) into a failure, as `make docs` does.
    mkdocs = Path(sys.executable).parent / "mkdocs"
    built = subprocess.run(
        [str(mkdocs), "build", "--strict", "--quiet", "--site-dir", str(tmp_path / "site")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        check=False,
    )
    assert built.returncode == 0, built.stderr
    assert (tmp_path / "site" / "reference" / "commands" / "index.html").is_file()
