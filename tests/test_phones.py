"""One reading of phone numbers (referwell/core/phones.py): a form to show, a key to match."""

import pytest

from referwell.core.phones import phone_display, phone_key

US_FORMS = [
    "(414) 555-0100",
    "414.555.0100",
    "414-555-0100",
    "4145550100",
    "+1 414 555 0100",
    "+1 (414) 555-0100",
    "1-414-555-0100",
    "tel:+1-414-555-0100",
]


@pytest.mark.parametrize("raw", US_FORMS)
def test_us_forms_show_nationally_and_share_one_key(raw):
    assert phone_display(raw) == "(414) 555-0100"
    assert phone_key(raw) == "+14145550100"


def test_an_extension_is_shown_but_not_matched():
    assert phone_display("+1 262 555 0190 ext. 12") == "(262) 555-0190 ext. 12"
    assert phone_display("tel:+1-414-555-0100;ext=12") == "(414) 555-0100 ext. 12"
    assert phone_display("(212) 555-0199 x 7") == "(212) 555-0199 ext. 7"
    assert phone_key("+1 262 555 0190 ext. 12") == "+12625550190"
    assert phone_key("tel:+1-414-555-0100;ext=12") == phone_key("(414) 555-0100")


def test_a_canadian_number_is_shown_internationally():
    assert phone_display("+1 416 555 0123") == "+1 416-555-0123"
    assert phone_key("+1 416 555 0123") == "+14165550123"
    assert phone_key("(416) 555-0123") == "+14165550123"  # written without +1: still one key


def test_a_uk_number():
    assert phone_display("+44 20 7946 0958") == "+44 20 7946 0958"
    assert phone_key("+44 (0)20 7946 0958") == "+442079460958"
    assert phone_key("+44 20 7946 0958") == "+442079460958"


@pytest.mark.parametrize("raw", ["call me", "123456", "n/a", "+", "555"])
def test_junk_is_no_number(raw):
    assert phone_key(raw) == ""
    with pytest.raises(ValueError, match="is not a phone number"):
        phone_display(raw)


@pytest.mark.parametrize("raw", ["", "   "])
def test_empty_is_nothing(raw):
    assert phone_key(raw) == ""
    assert phone_display(raw) == ""
