"""The seven-day restart of stopped databases: which stop leaves one too long."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from reconciler import autostart, timeengine

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def _long_stop(**expressions: str) -> autostart.LongStop | None:
    parsed = {a: timeengine.parse(e, now=NOW) for a, e in expressions.items()}
    return autostart.first_long_stop(parsed, "Europe/Berlin", NOW)


@pytest.mark.parametrize(
    ("expressions", "stop", "quiet"),
    [
        ({"stop": "at(2026-12-23T19:00:00)"}, "2026-12-23 19:00", None),
        (
            {"stop": "cron(0 19 23 12 ? *)", "start": "cron(0 7 7 1 ? *)"},
            "2026-12-23 19:00",
            timedelta(days=14, hours=12),
        ),
        ({"stop": "cron(0 19 1 * ? *)"}, "2026-12-01 19:00", timedelta(days=31)),  # monthly
        ({"stop": "cron(0 19 ? * FRI *)"}, None, None),  # weekly: re-stopped on day 7
        ({"stop": "cron(0 19 ? * MON-FRI *)", "start": "cron(0 7 ? * MON-FRI *)"}, None, None),
        ({"start": "cron(0 7 ? * MON-FRI *)"}, None, None),
        ({"stop": "rate(1 minute)"}, None, None),
    ],
)
def test_the_first_stop_followed_by_more_than_a_week_of_quiet(
    expressions: dict[str, str], stop: str | None, quiet: timedelta | None
) -> None:
    found = _long_stop(**expressions)
    if stop is None:
        assert found is None
        return
    assert found is not None
    assert f"{found.stop:%Y-%m-%d %H:%M}" == stop
    assert found.quiet == quiet
    assert found.restarted == found.stop + timedelta(days=7)
