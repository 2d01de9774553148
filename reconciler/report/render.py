"""The report as files: index.html, one page per rule, and the page's CSS and JavaScript.

Jinja2 with autoescaping on: every value comes from a rule file or the log table, so every
value is text, never markup. Control characters are escaped too (an HTML parser rejects them).
The templates, CSS and JavaScript are package data beside this module.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from importlib import resources
from pathlib import Path

import jinja2
from markupsafe import Markup

from reconciler.checks import escape_controls
from reconciler.report.data import Report

ASSETS = ("report.css", "report.js")
_STATUS_CLASS = re.compile(r"[a-z-]{1,20}")


def pages(report: Report) -> dict[str, str]:
    """Every file of the site (relative path -> text), the assets included."""
    env = _environment()
    context = {"report": report, "pages": {rule.name: rule.page for rule in report.rules}}
    site = {"index.html": env.get_template("index.html").render(root="", **context)}
    rule_template = env.get_template("rule.html")
    for rule in report.rules:
        site[rule.page] = rule_template.render(root="../", rule=rule, **context)
    assets = resources.files("reconciler.report").joinpath("assets")
    for name in ASSETS:
        site[f"assets/{name}"] = assets.joinpath(name).read_text(encoding="utf-8")
    return site


def write_site(site: Mapping[str, str], out: Path) -> None:
    for relative, text in site.items():
        path = out / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("reconciler.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        finalize=_finalize,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["when"] = _when
    env.filters["status_class"] = _status_class
    return env


def _finalize(value: object) -> object:
    """Every value printed: control characters escaped (markup from the templates is kept)."""
    if isinstance(value, str) and not isinstance(value, Markup):
        return escape_controls(value)
    return value


def _when(iso: str) -> str:
    """`2026-11-30T08:00:00+01:00` as `2026-11-30 08:00 +01:00`; UTC as `... 08:00 UTC`."""
    date, _, rest = iso.partition("T")
    if not rest:
        return iso
    if rest.endswith("Z"):
        return f"{date} {rest[:5]} UTC"
    return f"{date} {rest[:5]} {rest[8:]}".rstrip()


def _status_class(value: str) -> str:
    """A status as a CSS class name: known words only (the value comes from the log table)."""
    return value if _STATUS_CLASS.fullmatch(value) else "other"
