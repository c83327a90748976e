"""Dates: those a page accepts from a query string (1900 to 2199), and business days.

Python's dates run from year 1 to 9999, and a filter adds a day (the end of a range) or turns
a day into a time in the practice's zone: at either end that overflows. A date outside these
bounds is a typo, and the page says so rather than failing.
"""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError

EARLIEST = dt.date(1900, 1, 1)
LATEST = dt.date(2199, 12, 31)
OUT_OF_RANGE = "Dates run from 1900 to 2199."


def in_range(day: dt.date) -> bool:
    return EARLIEST <= day <= LATEST


def validate_in_range(value: dt.date | None) -> None:
    """For a form's date field."""
    if value is not None and not in_range(value):
        raise ValidationError(OUT_OF_RANGE)


# --- Business days: Monday to Friday (holidays are not known) ------------------------------


def _weekdays_from(first: dt.date, count: int) -> int:
    """How many of the `count` days from `first` on (itself included) fall Monday to Friday."""
    weeks, rest = divmod(count, 7)
    return weeks * 5 + sum(
        (first + dt.timedelta(days=weeks * 7 + i)).weekday() < 5 for i in range(rest)
    )


def business_days_between(start: dt.date, end: dt.date) -> int:
    """The business days after `start`, up to and including `end`: from a Friday to the next
    Monday is 1, to the next Friday 5; from a Saturday to the next Monday 1. 0 when `end` is
    `start` or before it (no time has passed)."""
    if end <= start:
        return 0
    return _weekdays_from(start + dt.timedelta(days=1), (end - start).days)


def add_business_days(start: dt.date, days: int) -> dt.date:
    """The first day on which `days` business days have passed since `start` (so that
    business_days_between(start, that day) == days): a Friday plus 1 is the next Monday, a
    Saturday plus 5 the next Friday; plus 0 is `start` itself. ValueError for fewer than 0."""
    if days < 0:
        raise ValueError("business days are counted forwards: days must be 0 or more")
    if days == 0:
        return start
    weeks = (days - 1) // 5  # whole weeks of five business days, then one to five more
    day, counted = start + dt.timedelta(weeks=weeks), weeks * 5
    while counted < days:
        day += dt.timedelta(days=1)
        if day.weekday() < 5:
            counted += 1
    return day
