"""Expressions in a reviewer's words, and what changed between two of them."""

from __future__ import annotations

import pytest

from reconciler.schedule_words import change_words, when


@pytest.mark.parametrize(
    ("expression", "words"),
    [
        ("cron(0 8 ? * MON-FRI *)", "08:00, Mon-Fri"),
        ("cron(30 7 ? * 2-6 *)", "07:30, Mon-Fri"),
        ("cron(0 9 ? * SAT,SUN *)", "09:00, Sun, Sat"),
        ("cron(0 9 ? * MON,WED,FRI *)", "09:00, Mon, Wed, Fri"),
        ("cron(0 22 * * ? *)", "22:00, every day"),
        ("cron(0 18 ? * 6L *)", "18:00, the last Friday of the month"),
        ("cron(0 5 ? * 2#1 *)", "05:00, the first Monday of the month"),
        ("cron(0 5 L * ? *)", "05:00, the last day of the month"),
        ("cron(0 5 15W * ? *)", "05:00, the weekday nearest day 15 of the month"),
        ("cron(0 5 1,15 * ? *)", "05:00, days 1, 15 of the month"),
        ("cron(0 5 1 JAN,JUL ? *)", "05:00, day 1 of the month in Jan, Jul"),
        ("at(2027-01-04T08:00:00)", "08:00, once, on 2027-01-04"),
        # What the words cannot say exactly is shown as written.
        ("cron(0 8,12 ? * MON-FRI *)", "cron(0 8,12 ? * MON-FRI *)"),
        ("cron(0 8 ? * MON-FRI 2027)", "cron(0 8 ? * MON-FRI 2027)"),
        ("rate(2 hours)", "rate(2 hours)"),
    ],
)
def test_when(expression: str, words: str) -> None:
    assert str(when(expression)) == words


@pytest.mark.parametrize(
    ("before", "after", "words"),
    [
        (
            "cron(0 8 ? * MON-FRI *)",
            "cron(30 7 ? * MON-FRI *)",
            "starts 07:30 instead of 08:00, Mon-Fri, Europe/Berlin",
        ),
        (
            "cron(0 8 ? * MON-FRI *)",
            "cron(0 8 ? * MON-SAT *)",
            "starts 08:00 on Mon-Sat instead of Mon-Fri, Europe/Berlin",
        ),
        (
            "cron(0 8 ? * MON-FRI *)",
            "cron(0 9 * * ? *)",
            "starts 09:00, every day instead of 08:00, Mon-Fri, Europe/Berlin",
        ),
        (None, "cron(0 8 ? * MON-FRI *)", "now also starts 08:00, Mon-Fri, Europe/Berlin"),
        ("cron(0 8 ? * MON-FRI *)", None, "no longer starts (was 08:00, Mon-Fri, Europe/Berlin)"),
        ("cron(0 8 ? * MON-FRI *)", "cron(0 8 ? * MON-FRI *)", None),
    ],
)
def test_change_words(before: str | None, after: str | None, words: str | None) -> None:
    assert change_words("starts", before, after, "Europe/Berlin") == words
