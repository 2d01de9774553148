"""The fire-time decisions as pure functions: overrides, who holds on, and the manifest."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from reconciler.calendars import Calendar
from reconciler.executor import decisions, manifest
from reconciler.executor.manifest import Manifest, RuleEntry

AT = datetime(2026, 11, 27, 19, 0, tzinfo=UTC)  # a Friday


@pytest.mark.parametrize(
    ("value", "skip", "note"),
    [
        ("2026-11-28T00:00:00Z", "override until 2026-11-28T00:00:00Z", None),
        ("2026-11-27T20:30:00+01:00", "override until 2026-11-27T20:30:00+01:00", None),
        (
            "2026-11-27T19:59:00+01:00",
            None,
            "override until 2026-11-27T19:59:00+01:00 expired: acted on as usual",
        ),
        (
            "2026-11-27T19:00:00Z",
            None,
            "override until 2026-11-27T19:00:00Z expired: acted on as usual",
        ),
    ],
)
def test_override(value: str, skip: str | None, note: str | None) -> None:
    assert decisions.override({decisions.SKIP_UNTIL_TAG: value}, AT) == decisions.Override(
        skip, note
    )


@pytest.mark.parametrize("value", ["tomorrow", "2026-11-28", "2026-11-28T08:00:00", ""])
def test_an_unreadable_override_skips_and_says_why(value: str) -> None:
    result = decisions.override({decisions.SKIP_UNTIL_TAG: value}, AT)
    assert result.note is None
    assert result.skip == (
        f"override tag ouroboros:skip-until={value!r} is not an ISO 8601 instant with Z or an "
        "offset (e.g. 2026-12-01T08:00:00Z): skipped until it is fixed or removed"
    )


def test_no_tag_no_override() -> None:
    assert decisions.override({"Name": "x"}, AT) == decisions.Override()


def _entry(name: str, start: str | None, stop: str | None, **fields: object) -> RuleEntry:
    values: dict[str, object] = {
        "name": name,
        "resource": "ec2",
        "accounts": ("123456789012",),
        "regions": ("eu-west-1",),
        "targets": (("tag:Environment", ("dev",)),),
        "timezone": "UTC",
        "start": start,
        "stop": stop,
    }
    values.update(fields)
    return RuleEntry(**values)  # type: ignore[arg-type]


def _holders(*rules: RuleEntry, at: datetime = AT) -> list[str]:
    found = decisions.holders(
        Manifest("t", rules), "firing", "ec2", "123456789012", "eu-west-1", at
    )
    return [h.reason() for h in found.found]


def test_a_rule_inside_its_window_holds_until_its_next_stop() -> None:
    late = _entry("late", "cron(0 18 ? * MON-FRI *)", "cron(0 23 ? * MON-FRI *)")
    assert _holders(late) == ["held on by rule late until 2026-11-27T23:00:00+00:00"]


def test_who_does_not_hold() -> None:
    assert (
        _holders(
            _entry("closed", "cron(0 8 ? * MON-FRI *)", "cron(0 17 ? * MON-FRI *)"),
            _entry("stop-only", None, "cron(0 23 * * ? *)"),
            _entry("firing", "cron(0 18 * * ? *)", "cron(0 23 * * ? *)"),  # itself
            _entry("other-kind", "cron(0 18 * * ? *)", "cron(0 23 * * ? *)", resource="rds"),
            _entry(
                "other-region", "cron(0 18 * * ? *)", "cron(0 23 * * ? *)", regions=("us-east-1",)
            ),
            # Stopping at the same minute: neither may keep the other's resources up.
            _entry("same-time", "cron(0 18 * * ? *)", "cron(0 19 * * ? *)"),
            _entry("rate", "rate(1 hour)", "cron(0 23 * * ? *)"),
        )
        == []
    )


def test_a_start_its_calendar_skipped_does_not_hold() -> None:
    holiday = Calendar("fri", dates=("2026-11-27",))
    late = _entry("late", "cron(0 18 ? * MON-FRI *)", "cron(0 23 ? * MON-FRI *)", calendar=holiday)
    assert _holders(late) == []


def test_the_latest_start_is_found_a_month_back() -> None:
    # Started on the 1st, stopped never since: held on weeks later.
    monthly = _entry("monthly", "cron(0 6 1 * ? *)", "cron(0 6 L * ? *)")
    assert _holders(monthly) == ["held on by rule monthly until 2026-11-30T06:00:00+00:00"]


def test_held_by_matches_the_filters() -> None:
    late = _entry("late", "cron(0 18 ? * MON-FRI *)", "cron(0 23 ? * MON-FRI *)")
    found = decisions.holders(
        Manifest("t", (late,)), "firing", "ec2", "123456789012", "eu-west-1", AT
    )
    assert found.held_by({"Environment": "dev"}, {}) == found.found[0]
    assert found.held_by({"Environment": "prod"}, {}) is None
    assert found.held_by({"Team": "dev"}, {}) is None


def test_the_first_matching_holder_in_manifest_order_wins() -> None:
    by_type = _entry(
        "by-type",
        "cron(0 18 * * ? *)",
        "cron(0 22 * * ? *)",
        targets=(("instance-type", ("t3.*",)),),
    )
    by_tag = _entry("by-tag", "cron(0 18 * * ? *)", "cron(0 23 * * ? *)")
    found = decisions.holders(
        Manifest("t", (by_tag, by_type)), "firing", "ec2", "123456789012", "eu-west-1", AT
    )
    tags, attributes = {"Environment": "dev"}, {"instance-type": "t3.micro"}
    held = found.held_by(tags, attributes)
    assert held is not None
    assert held.rule.name == "by-tag"
    assert found.held_by({}, attributes) == found.found[1]


def test_the_manifest_round_trips_and_is_compact() -> None:
    rules = tuple(
        _entry(
            f"rule-{n}",
            "cron(0 8 ? * MON-FRI *)",
            "cron(0 19 ? * MON-FRI *)",
            calendar=Calendar("de", country="DE", timezone="UTC") if n % 2 else None,
        )
        for n in range(1000)
    )
    built = Manifest("2026-11-27T10:00:00Z", rules)
    item = manifest.encode(built)
    assert manifest.decode(item) == built
    assert len(item["body"]["B"]) < 40_000  # a thousand rules, well inside one item


def test_a_manifest_of_another_version_is_unreadable() -> None:
    item = manifest.encode(Manifest("t", ()))
    item["version"] = {"N": "2"}
    with pytest.raises(
        manifest.ManifestUnreadable, match="version 2, this executor reads version 1"
    ):
        manifest.decode(item)


def test_build_keeps_enabled_rules_and_both_expressions() -> None:
    event = {
        "rule": "r",
        "action": "start",
        "accounts": ["123456789012"],
        "regions": ["eu-west-1"],
        "targets": {"tag:A": ["b"]},
    }
    built = manifest.build(
        [
            (event, "cron(0 8 * * ? *)", "Europe/Berlin", True),
            ({**event, "action": "stop"}, "cron(0 19 * * ? *)", "Europe/Berlin", True),
            ({**event, "rule": "off"}, "cron(0 8 * * ? *)", "UTC", False),
        ],
        "t",
    )
    assert built.rules == (
        RuleEntry(
            "r",
            "ec2",
            ("123456789012",),
            ("eu-west-1",),
            (("tag:A", ("b",)),),
            "Europe/Berlin",
            "cron(0 8 * * ? *)",
            "cron(0 19 * * ? *)",
        ),
    )
