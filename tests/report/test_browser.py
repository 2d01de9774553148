"""The report in a real browser: Debian's headless Chromium opens it from file://.

Driven by Playwright with the system's Chromium (no browser download). Without Chromium the test
fails and says what to install; `.ci/run` installs it, so CI always runs it. There is no
switch that skips it. Screenshots go to test-artifacts/ (kept by CI).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from playwright.sync_api import Browser, Page, sync_playwright

from reconciler.cli import cli
from reconciler.loader import load_rules
from reconciler.report.data import build_report
from reconciler.report.render import pages, write_site

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = os.environ.get("OUROBOROS_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
NOW = datetime(2026, 3, 27, 10, 0, tzinfo=UTC)


def _runs() -> list[dict[str, Any]]:
    """A few days of the examples' runs, one of them failed, and an apply."""
    base = {
        "kind": "run",
        "account": "111111111111",
        "region": "eu-west-1",
        "status": "ok",
        "matched": 4,
        "acted": ["i-0a", "i-0b", "i-0c"],
        "skipped": [{"id": "i-0d", "reason": "in-target-state", "detail": "already stopped"}],
        "errors": [],
    }
    entries: list[dict[str, Any]] = []
    for day in (24, 25, 26):
        entries.append(
            {
                **base,
                "rule": "dev-office-hours",
                "action": "start",
                "scheduled_time": f"2026-03-{day}T07:00:00Z",
            }
        )
        entries.append(
            {
                **base,
                "rule": "dev-office-hours",
                "action": "stop",
                "scheduled_time": f"2026-03-{day}T18:00:00Z",
            }
        )
    entries.append(
        {
            **base,
            "rule": "build-agents-nightly",
            "action": "stop",
            "scheduled_time": "2026-03-26T21:00:00Z",
            "status": "partial",
            "acted": ["i-1a"],
            "skipped": [],
            "errors": [
                {
                    "id": "i-1b",
                    "code": "UnsupportedHibernationConfiguration",
                    "message": "not configured for hibernation",
                }
            ],
        }
    )
    entries.append(
        {
            "kind": "apply",
            "started_at": "2026-03-25T14:02:11Z",
            "actor": "alice",
            "commit": "0f3c2a9e5b7d1c4e8a6f",
            "outcome": "ok",
            "summary": "1 created, 1 updated, 0 deleted",
            "pr_number": 42,
            "changes": [
                {
                    "action": "update",
                    "kind": "schedule",
                    "name": "dev-office-hours-stop",
                    "result": "updated",
                    "diff": [
                        {
                            "field": "ScheduleExpression",
                            "before": '"cron(0 18 ? * MON-FRI *)"',
                            "after": '"cron(0 19 ? * MON-FRI *)"',
                        }
                    ],
                },
                {
                    "action": "create",
                    "kind": "schedule",
                    "name": "build-agents-nightly-stop",
                    "result": "created",
                },
            ],
        }
    )
    return entries


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The repository's example rules, with a few days of runs."""
    loaded = load_rules([str(ROOT / "schedules")], now=NOW)
    assert loaded.ok
    assert loaded.rules
    report = build_report(
        loaded.rules,
        now=NOW,
        days=7,
        entries=_runs(),
        log_source="table ouroboros-runs in eu-west-1",
        repo_url="https://github.com/acme/schedules",
    )
    out = tmp_path_factory.mktemp("report")
    write_site(pages(report), out)
    return out


def chromium(path: str) -> str:
    """The browser to drive, or a loud failure saying what to install."""
    if shutil.which(path) is None:
        pytest.fail(
            f"no Chromium at {path}: the report's browser test needs one. Install Debian's "
            "(`sudo apt-get install -y chromium`; .ci/run does this), or point "
            "OUROBOROS_CHROMIUM at another",
            pytrace=False,
        )
    return path


def test_without_chromium_the_test_fails_saying_what_to_install() -> None:
    with pytest.raises(pytest.fail.Exception) as failed:
        chromium("/nonexistent/chromium")
    assert str(failed.value) == (
        "no Chromium at /nonexistent/chromium: the report's browser test needs one. Install "
        "Debian's (`sudo apt-get install -y chromium`; .ci/run does this), or point "
        "OUROBOROS_CHROMIUM at another"
    )


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    executable = chromium(CHROMIUM)
    with sync_playwright() as playwright:
        # Playwright gives every launch a fresh profile (--user-data-dir in a new temp dir).
        launched = playwright.chromium.launch(executable_path=executable, args=FLAGS)
        yield launched
        launched.close()


class Problems:
    """Console errors, uncaught exceptions and failed loads of a page."""

    def __init__(self, page: Page) -> None:
        self.found: list[str] = []
        page.on("console", lambda m: m.type == "error" and self.found.append(f"console: {m.text}"))
        page.on("pageerror", lambda e: self.found.append(f"exception: {e}"))
        page.on("requestfailed", lambda r: self.found.append(f"failed: {r.url}"))


def open_page(browser: Browser, url: str, **context: Any) -> tuple[Page, Problems]:
    page = browser.new_context(**context).new_page()
    problems = Problems(page)
    page.goto(url)
    page.wait_for_load_state("load")
    return page, problems


def visible_rule_names(page: Page) -> list[str]:
    names: list[str] = page.eval_on_selector_all(
        "#rule-table tbody tr", "rows => rows.filter(r => !r.hidden).map(r => r.cells[0].innerText)"
    )
    return names


def test_the_index_in_chromium_filters_sorts_and_has_no_errors(
    browser: Browser, site: Path
) -> None:
    page, problems = open_page(
        browser, (site / "index.html").as_uri(), viewport={"width": 1280, "height": 900}
    )
    rules = sorted(p.stem for p in (site / "rules").glob("*.html"))
    assert visible_rule_names(page) == rules  # one row per rule
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "report-index.png"), full_page=True)
    assert (ARTIFACTS / "report-index.png").stat().st_size > 10_000

    page.fill("#rule-filter", "berlin")
    assert visible_rule_names(page) == ["build-agents-nightly", "dev-office-hours"]
    assert page.inner_text("#rule-count") == f"2 of {len(rules)} shown"
    page.fill("#rule-filter", "sydney weekdays")
    assert visible_rule_names(page) == ["integration-weekdays"]
    page.fill("#rule-filter", "")
    assert visible_rule_names(page) == rules

    page.click("#rule-table thead th:nth-child(1) button")
    assert page.get_attribute("#rule-table thead th:nth-child(1)", "aria-sort") == "ascending"
    assert visible_rule_names(page) == rules
    page.click("#rule-table thead th:nth-child(1) button")
    assert visible_rule_names(page) == rules[::-1]
    page.click("#rule-table thead th:nth-child(6) button")  # next firing: in time, not as text
    assert visible_rule_names(page)[:3] == [
        "dev-us-office-hours",  # 07:30 in New York: 11:30 UTC
        "integration-month-end",  # 23:00 in Sydney: 12:00 UTC
        "dev-office-hours",  # 19:00 in Berlin: 18:00 UTC
    ]
    assert problems.found == []


def test_every_rule_page_loads_without_errors(browser: Browser, site: Path) -> None:
    disabled = {
        r.name for r in load_rules([str(ROOT / "schedules")], now=NOW).rules if not r.enabled
    }
    assert disabled  # the examples have one: its page says so instead of drawing a week
    for path in sorted((site / "rules").glob("*.html")):
        page, problems = open_page(browser, path.as_uri())
        charts = 0 if path.stem in disabled else 1
        assert page.locator("svg.chart").count() == charts, path.name
        assert page.locator("table.week-table tbody tr").count() == 7 * charts, path.name
        assert problems.found == [], path.name
        if path.stem == "dev-office-hours":
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "report-rule.png"), full_page=True)
        page.context.close()


def test_on_a_phone_in_dark_mode_nothing_but_the_tables_scrolls_sideways(
    browser: Browser, site: Path
) -> None:
    page, problems = open_page(
        browser,
        (site / "rules" / "dev-office-hours.html").as_uri(),
        viewport={"width": 390, "height": 844},
        color_scheme="dark",
    )
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(13, 17, 23)"  # the dark palette
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "report-phone-dark.png"), full_page=True)
    assert problems.found == []


def test_without_javascript_the_table_is_whole_and_the_filter_hidden(
    browser: Browser, site: Path
) -> None:
    page, problems = open_page(browser, (site / "index.html").as_uri(), java_script_enabled=False)
    assert len(visible_rule_names(page)) == len(list((site / "rules").glob("*.html")))
    assert not page.is_visible("#rule-filter")
    assert problems.found == []


def test_printed_the_filter_and_links_back_are_left_out(browser: Browser, site: Path) -> None:
    page, problems = open_page(browser, (site / "index.html").as_uri())
    page.emulate_media(media="print")
    assert not page.is_visible("#rule-filter")
    pdf = page.pdf()
    assert pdf.startswith(b"%PDF")
    assert len(pdf) > 10_000
    assert problems.found == []


def test_the_page_policy_refuses_inline_script(browser: Browser, site: Path) -> None:
    # Defence in depth behind the escaping: were markup ever to get through, the page's
    # Content-Security-Policy runs no inline script and loads nothing from elsewhere.
    page, problems = open_page(browser, (site / "index.html").as_uri())
    page.evaluate(
        """() => {
            const s = document.createElement("script");
            s.textContent = "window.injected = true";
            document.body.appendChild(s);
            const i = document.createElement("img");
            i.src = "https://example.com/x.png";
            document.body.appendChild(i);
        }"""
    )
    page.wait_for_timeout(200)
    assert page.evaluate("window.injected === undefined")
    console = [p for p in problems.found if p.startswith("console: ")]
    assert len(console) == 2
    assert all("violates the following Content Security Policy" in p for p in console), console
    assert "failed: https://example.com/x.png" in problems.found


def test_the_commands_offline_report_of_the_examples_in_chromium(
    browser: Browser, tmp_path: Path
) -> None:
    out = tmp_path / "report"
    result = CliRunner().invoke(
        cli,
        ["report", "--out", str(out), "--offline", "--rules", str(ROOT / "schedules")],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    page, problems = open_page(browser, Path(result.stdout.strip()).as_uri())
    assert page.inner_text(".banner").startswith("Offline report: rules and their times only.")
    assert len(visible_rule_names(page)) == len(load_rules([str(ROOT / "schedules")]).rules)
    assert page.locator("#runs").count() == 0
    assert problems.found == []
