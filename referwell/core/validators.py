import datetime as dt

from django.core.exceptions import ValidationError

from referwell.core.geo import zip_centroid


def validate_npi(value: str) -> None:
    """A National Provider Identifier: 10 digits, Luhn check digit over the 80840 prefix."""
    if not value:
        return
    if len(value) != 10 or not (value.isascii() and value.isdigit()):
        raise ValidationError("An NPI has exactly 10 digits.")
    digits = [int(c) for c in "80840" + value[:9]]
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    if (10 - total % 10) % 10 != int(value[9]):
        raise ValidationError("This NPI's check digit is wrong; please check the number.")


def validate_us_zip(value: str) -> None:
    if value and zip_centroid(value) is None:
        raise ValidationError(f"'{value}' is not a US ZIP code we know.")


def validate_birth_date(value: dt.date | None) -> None:
    """A date of birth in the past, and not before 1900."""
    if value is None:
        return
    if value > dt.date.today():
        raise ValidationError("A date of birth cannot be in the future.")
    if value.year < 1900:
        raise ValidationError("A date of birth before 1900 is surely a typo.")
