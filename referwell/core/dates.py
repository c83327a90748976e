"""The dates a page accepts from a query string: 1900 to 2199.

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
