"""Business days, counted one way for the whole app (referwell/core/dates.py): the no-response
flag of a referral sent (referrals) and the follow-up due on Today (outreach)."""

import datetime as dt

import pytest

from referwell.core.dates import add_business_days, business_days_between

FRIDAY = dt.date(2026, 11, 20)
SATURDAY = dt.date(2026, 11, 21)
SUNDAY = dt.date(2026, 11, 22)
MONDAY = dt.date(2026, 11, 23)


def test_a_weekend_in_between_does_not_count():
    assert business_days_between(FRIDAY, SATURDAY) == 0
    assert business_days_between(FRIDAY, SUNDAY) == 0
    assert business_days_between(FRIDAY, MONDAY) == 1
    assert business_days_between(FRIDAY, dt.date(2026, 11, 27)) == 5  # the next Friday
    assert business_days_between(FRIDAY, dt.date(2026, 12, 4)) == 10
    assert add_business_days(FRIDAY, 1) == MONDAY
    assert add_business_days(FRIDAY, 5) == dt.date(2026, 11, 27)
    assert add_business_days(dt.date(2026, 11, 18), 5) == dt.date(2026, 11, 25)  # Wed → Wed


def test_starting_on_a_saturday_or_a_sunday():
    assert business_days_between(SATURDAY, SUNDAY) == 0
    assert business_days_between(SATURDAY, MONDAY) == 1
    assert business_days_between(SUNDAY, dt.date(2026, 11, 27)) == 5
    assert add_business_days(SATURDAY, 1) == MONDAY
    assert add_business_days(SATURDAY, 5) == dt.date(2026, 11, 27)  # a Friday, not a Saturday
    assert add_business_days(SUNDAY, 10) == dt.date(2026, 12, 4)


def test_zero():
    assert business_days_between(FRIDAY, FRIDAY) == 0
    assert add_business_days(FRIDAY, 0) == FRIDAY
    assert add_business_days(SATURDAY, 0) == SATURDAY


def test_backwards_is_no_time_and_a_negative_count_is_refused():
    assert business_days_between(MONDAY, FRIDAY) == 0
    with pytest.raises(ValueError, match="0 or more"):
        add_business_days(MONDAY, -1)


def _counted_day_by_day(start, end):
    return sum(
        (start + dt.timedelta(days=i)).weekday() < 5 for i in range(1, (end - start).days + 1)
    )


@pytest.mark.parametrize("offset", range(7))
def test_both_agree_with_counting_day_by_day(offset):
    start = MONDAY + dt.timedelta(days=offset)
    for span in range(0, 40):
        end = start + dt.timedelta(days=span)
        assert business_days_between(start, end) == _counted_day_by_day(start, end)
    for days in range(0, 30):
        day = add_business_days(start, days)
        assert business_days_between(start, day) == days
        # The first such day: the day before had not got there yet.
        assert days == 0 or business_days_between(start, day - dt.timedelta(days=1)) == days - 1
