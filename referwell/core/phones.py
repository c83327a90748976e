"""Phone numbers, read one way for the whole app (the `phonenumbers` library, the US by
default): a form to show and a key to compare.

- `phone_display`: a US number in the national format the app shows, "(414) 555-0101"; a
  number of another country (Canada included) in international format, "+44 20 7946 0958",
  "+1 416-555-0123"; an extension is kept ("(414) 555-0101 ext. 12"). ValueError when the
  text cannot be a phone number.
- `phone_key`: E.164, "+14145550101", for matching: "(414) 555-0101", "414.555.0101",
  "+1 414 555 0101" and "tel:+1-414-555-0101;ext=12" are one number (the extension aside).
  "" when the text cannot be a phone number (too short to compare, words, nothing).
"""

from __future__ import annotations

import re
from functools import lru_cache

import phonenumbers

DEFAULT_REGION = "US"


def _parse(raw: str) -> phonenumbers.PhoneNumber | None:
    text = re.sub(r"^tel:", "", (raw or "").strip(), flags=re.IGNORECASE)
    if not text:
        return None
    try:
        number = phonenumbers.parse(text, DEFAULT_REGION)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return number


def _is_us(number: phonenumbers.PhoneNumber) -> bool:
    # The made-up 555-01xx numbers belong to no region; with +1 they are shown as American.
    region = phonenumbers.region_code_for_number(number)
    return number.country_code == 1 and region in ("US", None)


def phone_display(raw: str) -> str:
    """The number as the app shows it: national for a US number, international otherwise,
    with its extension; "" for empty text; ValueError when it cannot be a phone number."""
    if not (raw or "").strip():
        return ""
    number = _parse(raw)
    if number is None:
        raise ValueError(f"“{raw}” is not a phone number")
    if _is_us(number):
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


@lru_cache(maxsize=8192)
def phone_key(raw: str) -> str:
    """E.164 (+14145550100) to compare numbers, or "" for what cannot be a phone number."""
    number = _parse(raw)
    if number is None:
        return ""
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
