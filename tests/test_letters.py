"""The letters module: default templates, the safe template subset and the PDF output."""

import io
from datetime import date

import pytest
from pypdf import PdfReader

from referwell.outreach.letters import (
    LETTER_KINDS,
    LetterTemplateError,
    RenderedLetter,
    default_template,
    letter_pdf,
    pdf_fonts,
    render_letter,
    validate_template,
)

LETTERHEAD = {
    "name": "Elm Grove Massage",
    "address": "12 Elm Grove Road\nSpringfield",
    "phone": "555-0100",
    "email": "hello@elmgrove.example",
}


def sample_context(**overrides):
    context = {
        "practice": {
            "name": "Elm Grove Massage",
            "phone": "555-0100",
            "email": "hello@elmgrove.example",
            "address": "12 Elm Grove Road, Springfield",
        },
        "therapist": {"name": "Alice Owner"},
        "partner": {"name": "Dr. Rivera", "clinic": "Riverside Chiropractic"},
        "client": {"first_name": "Jamie", "last_name": "Doe", "history": "secret history"},
        "referral": {
            "reasons": "persistent lower back pain after a fall",
            "date": date(2025, 3, 4),
        },
        "report": {
            "text": "Range of motion in the neck has improved steadily.",
            "visits": 4,
            "period": "March 2025",
        },
        "referrer": {"name": "Dr. Patel", "is_professional": True},
        "client_agreed_to_be_named": False,
        "today": date(2025, 3, 10),
    }
    context.update(overrides)
    return context


def pdf_text(data: bytes) -> tuple[int, str]:
    reader = PdfReader(io.BytesIO(data))
    return len(reader.pages), "\n".join(page.extract_text() for page in reader.pages)


def test_exactly_the_expected_kinds():
    assert set(LETTER_KINDS) == {
        "referral",
        "thanks_received",
        "thanks_care",
        "progress_report",
        "introduction",
        "what_is_massage",
    }
    assert all(label for label in LETTER_KINDS.values())


@pytest.mark.parametrize("kind", sorted(LETTER_KINDS))
def test_every_kind_renders_and_is_signed(kind):
    subject, body = default_template(kind)
    assert subject and "\n" not in subject
    assert body.strip()
    letter = render_letter(kind=kind, context=sample_context())
    assert isinstance(letter, RenderedLetter)
    assert letter.subject and "\n" not in letter.subject
    assert "Alice Owner" in letter.body
    assert "Elm Grove Massage" in letter.body
    assert "555-0100" in letter.body and "hello@elmgrove.example" in letter.body
    assert "{{" not in letter.body and "{%" not in letter.body
    assert "\n\n\n" not in letter.body


@pytest.mark.parametrize(
    ("kind", "names"),
    [
        ("referral", ["Jamie Doe", "Dr. Rivera", "Riverside Chiropractic"]),
        ("thanks_received", ["Jamie Doe", "Dr. Patel"]),
        ("thanks_care", ["Jamie Doe", "Dr. Rivera"]),
        ("progress_report", ["Jamie Doe", "Dr. Rivera"]),
        ("introduction", ["Dr. Rivera"]),
        ("what_is_massage", ["Riverside Chiropractic"]),
    ],
)
def test_each_kind_names_the_right_people(kind, names):
    letter = render_letter(kind=kind, context=sample_context())
    for name in names:
        assert name in letter.body, name


def test_referral_gives_only_the_reason_for_referral():
    letter = render_letter(kind="referral", context=sample_context())
    assert "persistent lower back pain after a fall" in letter.body
    assert "Jamie" not in letter.subject and "Doe" not in letter.subject  # never in a subject
    assert "Jamie Doe" in letter.body
    assert "secret history" not in letter.body
    assert "secret history" not in letter.subject
    # Not luck: the default template never reaches for anything but the reasons.
    subject, body = default_template("referral")
    assert "history" not in subject + body
    assert "referral.reasons" in body


def test_thanks_received_hides_the_client_from_a_lay_referrer():
    context = sample_context(referrer={"name": "Sam Neighbour", "is_professional": False})
    letter = render_letter(kind="thanks_received", context=context)
    assert "Sam Neighbour" in letter.body
    for text in (letter.subject, letter.body):
        assert "Jamie" not in text
        assert "Doe" not in text


def test_thanks_received_names_the_client_when_agreed():
    context = sample_context(
        referrer={"name": "Sam Neighbour", "is_professional": False},
        client_agreed_to_be_named=True,
    )
    letter = render_letter(kind="thanks_received", context=context)
    assert "Jamie Doe" in letter.body


def test_thanks_received_names_the_client_to_a_professional():
    letter = render_letter(kind="thanks_received", context=sample_context())
    assert "Jamie Doe" in letter.body


def test_progress_report_carries_the_report():
    letter = render_letter(kind="progress_report", context=sample_context())
    assert "Range of motion in the neck has improved steadily." in letter.body
    assert "4" in letter.body and "March 2025" in letter.body


def test_introduction_asks_for_ten_minutes():
    letter = render_letter(kind="introduction", context=sample_context())
    assert "10 minutes" in letter.subject + letter.body
    assert "massage" in letter.body.lower()


def test_what_is_massage_names_no_client():
    letter = render_letter(kind="what_is_massage", context=sample_context())
    assert "Jamie" not in letter.body and "Doe" not in letter.body
    subject, body = default_template("what_is_massage")
    assert "client." not in subject + body


def test_custom_templates_render_as_plain_text():
    letter = render_letter(
        kind="thanks_care",
        context=sample_context(partner={"name": "Dr. O'Brien & Co <Clinic>"}),
        subject_template="Hi {{ partner.name }}",
        body_template="Dear {{ partner.name }},\n{{ missing.value }}|{{ today|date:'Y' }}",
    )
    assert letter.subject == "Hi Dr. O'Brien & Co <Clinic>"  # not HTML-escaped
    assert "|2025" in letter.body  # unknown variables render as ""


def test_missing_context_does_not_crash():
    letter = render_letter(kind="referral", context={})
    assert letter.body.strip()


def test_unknown_kind_raises():
    with pytest.raises(LetterTemplateError, match="Unknown letter kind"):
        render_letter(kind="love_letter", context=sample_context())
    with pytest.raises(LetterTemplateError):
        default_template("love_letter")


@pytest.mark.parametrize(
    "body",
    [
        "{% load static %}{% static 'x.css' %}",
        '{% include "x" %}',
        '{% extends "base.txt" %}',
        "{% debug %}",
        "{% csrf_token %}",
        "{% url 'home' %}",
    ],
)
def test_validate_template_rejects_unsafe_tags(body):
    with pytest.raises(LetterTemplateError, match="not allowed"):
        validate_template("Subject", body)


def test_unsafe_tags_are_refused_by_render_too():
    with pytest.raises(LetterTemplateError, match="load"):
        render_letter(
            kind="referral",
            context=sample_context(),
            subject_template="Hello",
            body_template="Hi\n\n{% load static %}",
        )


def test_validate_template_reports_the_line_of_a_syntax_error():
    body = "Dear {{ partner.name }},\n\n{% if client.first_name %}\nHello\n"
    with pytest.raises(LetterTemplateError) as excinfo:
        validate_template("Subject", body)
    assert "line 3" in str(excinfo.value)
    assert excinfo.value.line == 3


def test_validate_template_reports_the_line_of_a_forbidden_tag():
    with pytest.raises(LetterTemplateError, match="line 2"):
        validate_template("Subject", 'Dear you,\n{% include "x" %}')


def test_validate_template_rejects_a_bad_subject():
    with pytest.raises(LetterTemplateError, match="Subject template"):
        validate_template("{% if %}", "Body")


def test_validate_template_accepts_the_defaults_and_now():
    for kind in LETTER_KINDS:
        validate_template(*default_template(kind))
    validate_template("Today", '{% now "Y" %}')


def test_runaway_templates_are_refused():
    with pytest.raises(LetterTemplateError, match="digits"):
        validate_template("Subject", '{{ x|ljust:"999999999" }}')
    nested = "{% for a in x %}{% for b in x %}{% for c in x %}{% endfor %}{% endfor %}{% endfor %}"
    with pytest.raises(LetterTemplateError, match="nested"):
        validate_template("Subject", nested)


def test_letter_pdf_is_a_pdf_with_letterhead_and_subject():
    letter = render_letter(kind="referral", context=sample_context())
    data = letter_pdf(letter=letter, letterhead=LETTERHEAD)
    assert isinstance(data, bytes)
    assert data.startswith(b"%PDF")
    pages, text = pdf_text(data)
    assert pages == 1
    assert "Elm Grove Massage" in text
    assert letter.subject in text
    assert "555-0100" in text


def test_letter_pdf_keeps_text_outside_latin1():
    letter = RenderedLetter(
        subject="Notes \u2014 \u201cquoted\u201d",
        body="She said \u201cthank you\u201d \u2014 it\u2019s working \u2192 next step\u2026 \u4f60\u597d",
    )
    data = letter_pdf(letter=letter, letterhead={"name": "Caf\u00e9 \u0141ódz Massage"})
    assert data.startswith(b"%PDF")
    _, text = pdf_text(data)
    if pdf_fonts():  # the fonts `make install` puts in place: every character as written
        assert (
            "\u201cthank you\u201d \u2014 it\u2019s working \u2192 next step\u2026 \u4f60\u597d"
            in text
        )
        assert "Caf\u00e9 \u0141ódz" in text
    else:  # the core font: Latin-1, the rest transliterated
        assert '"thank you" - it\'s working -> next step...' in text
        assert "Caf\u00e9" in text


def test_letter_pdf_with_an_empty_letterhead():
    letter = RenderedLetter(subject="Hello", body="Short.")
    data = letter_pdf(
        letter=letter, letterhead={"name": "", "address": "", "phone": "", "email": ""}
    )
    assert data.startswith(b"%PDF")


def test_long_letter_pdf_breaks_pages():
    body = "\n\n".join(
        f"Paragraph {n}: the client reported feeling looser after each session." for n in range(200)
    )
    letter = RenderedLetter(subject="A long report", body=body)
    pages, text = pdf_text(letter_pdf(letter=letter, letterhead=LETTERHEAD))
    assert pages > 1
    assert "Paragraph 199" in text


def test_a_professional_is_greeted_by_title_and_an_e_mail_encloses_nothing(elm_grove, alice):
    from referwell.directory.services import partner_create
    from referwell.outreach.services import letter_context, letter_render, salutation

    assert salutation("Daniel Okafor", "MD") == "Dr. Okafor"
    assert salutation("Kim Park, DC") == "Dr. Park"
    assert salutation("Sofia Ruiz", "LMT") == "Sofia Ruiz"  # no guess at Mr. or Ms.
    partner = partner_create(
        practice=elm_grove,
        by=None,
        fields={"name": "Daniel Okafor", "credentials": "MD", "email": "d@okafor.example"},
    )
    letter = letter_render(
        practice=elm_grove,
        kind="referral",
        context=letter_context(practice=elm_grove, by=alice.user, partner=partner),
    )
    assert letter.body.startswith("Dear Dr. Okafor,")
    by_email = letter_render(
        practice=elm_grove,
        kind="thanks_received",
        context=letter_context(
            practice=elm_grove,
            by=alice.user,
            referrer={"name": "Dr. Okafor", "is_professional": True, "email": "d@okafor.example"},
        ),
    )
    assert "enclosed" not in by_email.body and "drop off a few of my cards" in by_email.body
    on_paper = letter_render(
        practice=elm_grove,
        kind="thanks_received",
        context=letter_context(
            practice=elm_grove, by=alice.user, referrer={"name": "Dr. O", "is_professional": True}
        ),
    )
    assert "enclosed a few of my cards" in on_paper.body
