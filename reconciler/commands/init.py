"""`reconcile init [DIR]`: scaffold a rules repository; `--upgrade`: move its pins to this version.

The files come from the package's templates (reconciler/templates/init/, `dot-` standing for a
leading `.`), with this version, the tool's repository and the schemas' URLs filled in. init
writes nothing when a file it would create is already there, unless --force. --upgrade edits
only the pins that name this tool (the reusable workflows' `@vX` and `tool-version`, the
pre-commit `rev`, the schema modelines' tag), keeping every other byte of the files.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

from reconciler import __version__, output, release
from reconciler.calendarfiles import CALENDAR_SCHEMA
from reconciler.errors import FatalError
from reconciler.schema import RULES_SCHEMA, SETTINGS_SCHEMA

_DOT = "dot-"  # a template named dot-x is written as .x (package data skips dot files)
_V = r"(\d+\.\d+\.\d+)"


def run(directory: str = ".", *, force: bool = False, upgrade: bool = False) -> int:
    root = Path(directory)
    if upgrade:
        return _upgrade(root, force=force)
    return _scaffold(root, force=force)


# ---------------------------------------------------------------------------------------------
# Scaffold


def templates() -> dict[str, str]:
    """Every file init writes, by its path relative to DIR, rendered for this version."""
    base = resources.files("reconciler").joinpath("templates", "init")
    return {path: render(text) for path, text in sorted(_walk(base, ""))}


def _walk(node: Traversable, prefix: str) -> Iterator[tuple[str, str]]:
    for child in node.iterdir():
        name = "." + child.name[len(_DOT) :] if child.name.startswith(_DOT) else child.name
        if child.is_dir():
            yield from _walk(child, f"{prefix}{name}/")
        elif not name.endswith((".pyc", ".pyo")):
            yield f"{prefix}{name}", child.read_text(encoding="utf-8")


def render(text: str, version: str = __version__) -> str:
    fields = {
        "@RULES_SCHEMA_URL@": release.schema_url(RULES_SCHEMA, version),
        "@SETTINGS_SCHEMA_URL@": release.schema_url(SETTINGS_SCHEMA, version),
        "@CALENDAR_SCHEMA_URL@": release.schema_url(CALENDAR_SCHEMA, version),
        "@REPOSITORY_URL@": release.REPOSITORY_URL,
        "@REPOSITORY@": release.REPOSITORY,
        "@VERSION@": version,
    }
    for field, value in fields.items():
        text = text.replace(field, value)
    return text


def _scaffold(root: Path, *, force: bool) -> int:
    if root.exists() and not root.is_dir():
        raise FatalError(f"{root} is a file: name a directory for the new rules repository")
    files = templates()
    there = [path for path in files if (root / path).exists()]
    if there and not force:
        raise FatalError(
            f"{_plural(len(there), 'file')} already there in {root}: {', '.join(there)}; "
            "nothing was written. Use --force to overwrite them, or --upgrade to move an "
            "existing rules repository to this version"
        )
    for path, text in files.items():
        target = root / path
        _write(target, text)
        output.out(f"{'overwrote' if path in there else 'created'} {target.as_posix()}")
    output.err(_next_steps(root))
    return 0


def _write(target: Path, text: str) -> None:
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    except OSError as exc:  # a file where a folder belongs, no permission, a full disk
        raise FatalError(
            f"cannot write {target.as_posix()}: {exc.strerror or exc}; fix that path and run "
            "reconcile init again (with --force for the files it already wrote)"
        ) from None


def _next_steps(root: Path) -> str:
    where = "" if root == Path(".") else f"cd {root.as_posix()} && "
    return (
        f"A rules repository for Ouroboros {__version__}. Next:\n"
        "  1. ouroboros.yaml: the bootstrap stack's role ARNs in place of account 000000000000\n"
        "  2. schedules/example.yaml: your accounts, regions and tags\n"
        f"  3. {where}reconcile validate, then git init, commit and push; set the variables "
        "AWS_PLAN_ROLE_ARN, AWS_APPLY_ROLE_ARN and AWS_REGION"
    )


# ---------------------------------------------------------------------------------------------
# Upgrade


def _pins() -> tuple[re.Pattern[str], ...]:
    """Each tag of this tool a rules repository holds: group 1 what comes before `vX.Y.Z`."""
    repo = re.escape(release.REPOSITORY)
    url = re.escape(release.REPOSITORY_URL)
    return (
        # uses: OWNER/ouroboros/.github/workflows/reusable-plan.yml@v0.1.0
        re.compile(rf"(uses:\s*{repo}/\.github/workflows/[\w.-]+@)v{_V}"),
        # the pre-commit entry of this tool: its `rev` right after its `repo`
        re.compile(rf"(repo:\s*{url}(?:\.git)?/?\s*\n\s*rev:\s*[\"']?)v{_V}"),
        # yaml-language-server modelines at the released schemas
        re.compile(rf"(raw\.githubusercontent\.com/{repo}/)v{_V}(?=/schemas/)"),
        # links to the tool's docs at the version, in the comments init wrote
        re.compile(rf"({url}/blob/)v{_V}(?=/)"),
    )


# tool-version: "0.1.0", only in a workflow that calls this tool's reusable workflows
_TOOL_VERSION = re.compile(rf"(tool-version:\s*[\"']?){_V}")


def _upgrade(root: Path, *, force: bool) -> int:
    if not root.is_dir():
        raise FatalError(
            f"{root} is not a directory: run --upgrade in an existing rules repository"
        )
    changes = {path: _bumped(path.read_text(encoding="utf-8")) for path in _candidates(root)}
    found = {path: versions for path, (_, versions) in changes.items() if versions}
    if not found:
        raise FatalError(
            f"no pinned Ouroboros version found in {root}: --upgrade moves the pins that "
            "`reconcile init` wrote; run `reconcile init` to scaffold a rules repository"
        )
    newer = sorted({v for versions in found.values() for v in versions if _key(v) > _key()})
    if newer and not force:
        raise FatalError(
            f"{root} pins Ouroboros {', '.join(newer)}, newer than this reconcile "
            f"({__version__}); nothing was changed. Install that version "
            f"(pip install -U {release.DISTRIBUTION}), or use --force to go back to {__version__}"
        )
    for path in sorted(found):
        text, versions = changes[path]
        old = ", ".join(sorted(versions, key=_key))
        if versions == {__version__}:
            output.out(f"up to date {path.as_posix()} ({__version__})")
            continue
        _write(path, text)
        output.out(f"upgraded {path.as_posix()} ({old} -> {__version__})")
    return 0


def _candidates(root: Path) -> Iterator[Path]:
    workflows = root / ".github" / "workflows"
    for pattern in ("*.yml", "*.yaml"):
        yield from sorted(workflows.glob(pattern)) if workflows.is_dir() else ()
    if (root / ".pre-commit-config.yaml").is_file():
        yield root / ".pre-commit-config.yaml"
    yield from _yaml_under(root / "calendars")  # the calendar schema's modeline
    if (root / "ouroboros.yaml").is_file():
        yield root / "ouroboros.yaml"
    yield from _yaml_under(root / "schedules")


def _yaml_under(folder: Path) -> Iterator[Path]:
    for pattern in ("*.yml", "*.yaml"):
        yield from sorted(folder.rglob(pattern)) if folder.is_dir() else ()


def _bumped(text: str) -> tuple[str, set[str]]:
    """The text with every pin of this tool at this version, and the versions it held."""
    versions: set[str] = set()

    def replace(tagged: bool) -> Callable[[re.Match[str]], str]:
        def sub(match: re.Match[str]) -> str:
            versions.add(match.group(2))
            return match.group(1) + ("v" if tagged else "") + __version__

        return sub

    for pin in _pins():
        text = pin.sub(replace(True), text)
    if versions and _pins()[0].search(text):
        text = _TOOL_VERSION.sub(replace(False), text)
    return text, versions


def _key(version: str = __version__) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"
