"""A second opinion: where croniter and EventBridge agree, our fire times must equal croniter's.

croniter is wrong for AWS in known ways (a sixth field of seconds, weekdays 0-6, DST, years past
2099), so each row gives the AWS expression and its hand-translated croniter spelling (7 fields:
min hour dom month dow second year; weekdays minus one; `6L` -> `L5`; `6#3` -> `5#3`), and the
comparison runs in zones and months without DST transitions.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from croniter import croniter

from reconciler.timeengine import next_fires

PAIRS = [
    ("cron(0 8 ? * MON-FRI *)", "0 8 * * MON-FRI 0 *"),
    ("cron(0/15 8-17 ? * 2-6 *)", "0/15 8-17 * * 1-5 0 *"),
    ("cron(0 12 ? * 1,7 *)", "0 12 * * 0,6 0 *"),
    ("cron(0 12 L * ? *)", "0 12 L * * 0 *"),
    ("cron(15 10 ? * 6L *)", "15 10 * * L5 0 *"),
    ("cron(0 9 ? * 6#3 *)", "0 9 * * 5#3 0 *"),
    ("cron(0 9 ? * 2#5 *)", "0 9 * * 1#5 0 *"),
    ("cron(0 9 15W * ? *)", "0 9 15W * * 0 *"),
    ("cron(0 9 1W * ? *)", "0 9 1W * * 0 *"),
    ("cron(30 20-2 ? * MON-FRI *)", "30 0-2,20-23 * * MON-FRI 0 *"),
    ("cron(0 0 1 NOV-FEB ? *)", "0 0 1 11,12,1,2 * 0 *"),
    ("cron(5,35 14 * * ? *)", "5,35 14 * * * 0 *"),
    ("cron(1/10 * * * ? *)", "1/10 * * * * 0 *"),
    ("cron(0 6 ? * SAT,SUN 2026-2030)", "0 6 * * SAT,SUN 0 2026-2030"),
    ("cron(0 0 29 2 ? *)", "0 0 29 2 * 0 *"),
    ("cron(45 23 1/7 * ? *)", "45 23 1/7 * * 0 *"),
]


def _croniter_fires(spelling: str, tz: str, start: datetime, count: int) -> list[datetime]:
    from zoneinfo import ZoneInfo

    it = croniter(spelling, start.astimezone(ZoneInfo(tz)), max_years_between_matches=10)
    return [it.get_next(datetime) for _ in range(count)]


@pytest.mark.parametrize("tz", ["UTC", "Asia/Kolkata", "Asia/Tokyo"])
@pytest.mark.parametrize(("aws", "spelling"), PAIRS)
def test_matches_croniter_where_croniter_is_right(aws: str, spelling: str, tz: str) -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    ours = next_fires(aws, tz, start, 150)
    # croniter runs past EventBridge's last year, 2199: compare up to there
    theirs = [f for f in _croniter_fires(spelling, tz, start, 150) if f.year <= 2199]
    assert [f.astimezone(UTC) for f in ours] == [f.astimezone(UTC) for f in theirs]


def test_croniter_verbatim_would_be_wrong() -> None:
    """Why the engine is our own: croniter reads AWS's year field as seconds."""
    start = datetime(2026, 1, 1, tzinfo=UTC)
    verbatim = croniter("0 8 ? * MON-FRI *", start)
    first, second = verbatim.get_next(datetime), verbatim.get_next(datetime)
    assert (second - first).total_seconds() == 1
    ours = next_fires("cron(0 8 ? * MON-FRI *)", "UTC", start, 2)
    assert (ours[1] - ours[0]).days == 1
