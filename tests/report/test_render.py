"""The report's pages: valid HTML5, hostile text kept as text, nothing loaded from elsewhere."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import html5lib
import pytest
from recon_support import rule

from reconciler.report.data import Report, build_report
from reconciler.report.render import pages, write_site

NOW = datetime(2026, 3, 27, 10, 0, tzinfo=UTC)
HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)> & "quoted" \x1b[31m'
NS = {"h": "http://www.w3.org/1999/xhtml"}


def entries() -> list[dict[str, Any]]:
    return [
        {
            "kind": "run",
            "rule": "dev-office-hours",
            "action": "stop",
            "account": "123456789012",
            "region": "eu-west-1",
            "scheduled_time": "2026-03-26T18:00:00Z",
            "status": "failed",
            "matched": 1,
            "acted": [],
            "skipped": [],
            "errors": [{"id": "i-0a", "code": "AccessDenied", "message": HOSTILE}],
        },
        {
            "kind": "run",
            "rule": '<b onclick="x">forged</b>',
            "action": "stop",
            "account": "<i>",
            "region": "eu-west-1",
            "scheduled_time": "2026-03-26T19:00:00Z",
            "status": '"><script>',
            "detail": HOSTILE,
        },
        {
            "kind": "apply",
            "started_at": "2026-03-25T10:00:00Z",
            "actor": HOSTILE,
            "commit": "0f3c2a9e5b7d",
            "outcome": "ok",
            "summary": HOSTILE,
            "pr_number": 42,
            "changes": [
                {
                    "action": "update",
                    "kind": "schedule",
                    "name": HOSTILE,
                    "result": "updated",
                    "diff": [{"field": "x", "before": HOSTILE, "after": "</ins><script>"}],
                }
            ],
        },
    ]


def online() -> Report:
    rules = [
        rule("dev-office-hours", timezone="Europe/Berlin", description=HOSTILE),
        rule("build-agents", start=None, stop="cron(0 22 * * ? *)", enabled=False),
    ]
    return build_report(
        rules,
        now=NOW,
        days=7,
        entries=entries(),
        log_source="table ouroboros-runs in eu-west-1",
        targets={"dev-office-hours": 12},
        targets_from="plan.json",
        repo_url="https://github.com/acme/schedules",
    )


def offline() -> Report:
    return build_report([rule("dev-office-hours", description=HOSTILE)], now=NOW, days=7)


def parse(text: str) -> Any:
    """html5lib's strict parser: raises on the first parse error."""
    return html5lib.HTMLParser(strict=True, namespaceHTMLElements=True).parse(text)


@pytest.mark.parametrize("make", [online, offline], ids=["online", "offline"])
def test_every_page_is_valid_html5(make: Any) -> None:
    site = pages(make())
    html = [name for name in site if name.endswith(".html")]
    assert html == ["index.html", *(r.page for r in make().rules)]
    for name in html:
        parse(site[name])  # raises html5lib.html5parser.ParseError on any error


def test_the_strict_parser_does_catch_an_error() -> None:
    with pytest.raises(html5lib.html5parser.ParseError):
        parse("<!DOCTYPE html><title>x</title><p></div>")


@pytest.mark.parametrize("make", [online, offline], ids=["online", "offline"])
def test_hostile_text_renders_as_text(make: Any) -> None:
    site = pages(make())
    for name, text in site.items():
        if not name.endswith(".html"):
            continue
        tree = parse(text)
        scripts = tree.findall(".//h:script", NS)
        assert [s.get("src") for s in scripts] == [
            f"{'../' if '/' in name else ''}assets/report.js"
        ]
        assert not tree.findall(".//h:img", NS)
        assert not tree.findall(".//h:b", NS)
        assert not [e for e in tree.iter() if any(a.startswith("on") for a in e.attrib)]
        assert "\x1b" not in text  # control characters escaped
    index = parse(site["index.html"])
    words = "".join(index.itertext())
    assert '<script>alert("x")</script><img src=x onerror=alert(1)> & "quoted" \\x1b[31m' in words
    assert "<script>" not in site["index.html"].split("</head>", 1)[1]


def test_the_index_lists_every_rule_once_with_its_page() -> None:
    report = online()
    tree = parse(pages(report)["index.html"])
    table = tree.find(".//h:table[@id='rule-table']", NS)
    rows = table.findall("h:tbody/h:tr", NS)
    links = [row.find("h:th/h:a", NS) for row in rows]
    assert [(a.text, a.get("href")) for a in links] == [
        ("build-agents", "rules/build-agents.html"),
        ("dev-office-hours", "rules/dev-office-hours.html"),
    ]
    cells = ["".join(c.itertext()).strip() for c in rows[1]]
    assert cells[2:] == [
        "yes",
        "Europe/Berlin",
        "123456789012 / eu-west-1",
        "stop 2026-03-27 19:00 +01:00",
        "112 h",
        "488 h",
        "12",
        "failed",
    ]
    agents = ["".join(c.itertext()).strip() for c in rows[0]]
    assert agents[2] == "no (disabled)"
    assert agents[6:9] == ["\u2013", "\u2013", "\u2013"]


def test_the_index_heads_with_failed_runs_and_shows_runs_and_applies() -> None:
    text = pages(online())["index.html"]
    words = " ".join("".join(parse(text).itertext()).split())
    assert words.index("Failed or missed firings") < words.index("Rules")
    assert '2 runs in the last 7 days: 1 "><script>, 1 failed.' in words
    assert "Firings that never ran at all are not listed here" in words
    assert 'href="https://github.com/acme/schedules/commit/0f3c2a9e5b7d"' in text
    assert 'href="https://github.com/acme/schedules/pull/42"' in text
    assert 'class="status s-other"' in text  # a status the page does not know is no class name


def test_offline_says_so_and_shows_no_log_sections() -> None:
    site = pages(offline())
    words = " ".join("".join(parse(site["index.html"]).itertext()).split())
    assert "Offline report: rules and their times only." in words
    for heading in ("Failed or missed firings", "Recent runs", "Apply history", "Last run"):
        assert heading not in words
    rule_words = "".join(parse(site["rules/dev-office-hours.html"]).itertext())
    assert "Offline report" in rule_words
    assert "Runs" not in rule_words.split("The week", 1)[1]


def test_a_rule_page_has_its_definition_firings_week_and_runs() -> None:
    site = pages(online())
    tree = parse(site["rules/dev-office-hours.html"])
    words = " ".join(" ".join(tree.itertext()).split())
    for expected in (
        "Time zone Europe/Berlin",
        "Start cron(0 8 ? * MON-FRI *)",
        "Filters tag:Environment = dev",
        "Targets 12 (from plan.json)",
        "stop 2026-03-27 19:00 +01:00 2026-03-27 18:00 UTC",
        "Sun 29 Mar none off all day 0 clocks go forward (23-hour day)",
        "Mon 30 Mar start 08:00, stop 19:00 08:00\u201319:00 11",
        "On for 55 hours in these 7 days. Off: 112 h in the next 7 days, 488 h in the next 30.",
    ):
        assert expected in words
    # The chart is drawn for the eye; the table below it carries the same figures.
    svg = tree.find(".//{http://www.w3.org/2000/svg}svg")
    assert svg.get("aria-hidden") == "true"
    bars = svg.findall(".//{http://www.w3.org/2000/svg}rect[@class='on']")
    assert len(bars) == 5
    assert (bars[0].get("x"), bars[0].get("width")) == ("304.0", "286.0")  # 08:00 for 11 h
    fires = svg.findall(".//{http://www.w3.org/2000/svg}line[@class='fire stop']")
    assert [f.get("x1") for f in fires] == ["590.0"] * 5  # 19:00
    assert fires[0].find("{http://www.w3.org/2000/svg}title").text == "stop 19:00"
    assert tree.find(".//h:table[@class='week-table']", NS) is not None
    back = tree.find(".//h:p[@class='back']/h:a", NS)
    assert back.get("href") == "../index.html#rules"


def test_nothing_is_loaded_from_elsewhere() -> None:
    site = pages(online())
    for name, text in site.items():
        if name.endswith(".html"):
            for url in re.findall(r'(?:src|href)="([^"]*)"', text):
                assert url.startswith(("https://github.com/acme/", "data:", "#")) or not re.match(
                    r"[a-z]+:", url
                ), (name, url)
    css = site["assets/report.css"]
    assert "@import" not in css
    assert "url(" not in css
    assert "@font-face" not in css
    assert "prefers-color-scheme: dark" in css
    assert "@media print" in css


def test_write_site_writes_every_file(tmp_path: Path) -> None:
    site = pages(offline())
    write_site(site, tmp_path)
    assert sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file()) == [
        "assets/report.css",
        "assets/report.js",
        "index.html",
        "rules/dev-office-hours.html",
    ]


def test_a_disabled_rule_has_no_week_chart() -> None:
    site = pages(online())
    tree = parse(site["rules/build-agents.html"])
    words = " ".join(" ".join(tree.itertext()).split())
    assert "Disabled: nothing fires, so the rule turns nothing on or off this week." in words
    assert tree.find(".//{http://www.w3.org/2000/svg}svg") is None
