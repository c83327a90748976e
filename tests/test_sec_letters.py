"""Issue #20, items 4 and 14: letter templates cannot run away (allow-listed tags and filters,
an output cap, a time limit — in preview and in sending), and a thank-you to a lay referrer
never names the client or the reason without the client's consent, whatever the template."""

import pytest
from django.core import mail
from django.urls import reverse

from referwell.clients.services import client_create
from referwell.outreach import letters
from referwell.outreach.letters import (
    LETTER_KINDS,
    LetterTemplateError,
    render_letter,
    validate_template,
)
from referwell.outreach.models import LetterTemplate, OutgoingMessage
from referwell.referrals.models import Referral
from tests.factories import ClientFactory

# 998,001 characters on the code before the fix (a real attack uses 9999 and nests it).
WIDTHRATIO = '{% widthratio 999 1 999 as n %}{{ "x"|ljust:n }}'
# Only allowed tags: 300 x 300 turns writing 10 characters each = 900 KB.
TOO_LONG = (
    "{% for a in '" + "x" * 300 + "' %}{% for b in '" + "y" * 300 + "' %}"
    "0123456789{% endfor %}{% endfor %}"
)


def _lay_referral(elm_grove, alice, *, agreed: bool) -> Referral:
    friend = ClientFactory(practice=elm_grove, first_name="Fran", email="fran@example.com")
    client = client_create(
        practice=elm_grove,
        by=alice.user,
        fields={
            "first_name": "Zed",
            "last_name": "Newcomer",
            "stream": "current_clients",
            "source_client": friend,
            "may_tell_referrer": agreed,
        },
    )
    referral = Referral.objects.get(client=client)
    referral.reasons = "Sciatica after a fall"
    referral.save(update_fields=["reasons"])
    return referral


# --------------------------------------------------------------------------- item 4


@pytest.mark.parametrize(
    "body",
    [
        WIDTHRATIO,
        "{% widthratio 5 1 5 %}",
        '{{ client.first_name|ljust:"40" }}',
        '{{ client.first_name|rjust:"40" }}',
        '{{ client.first_name|center:"40" }}',
        "{{ report.text|make_list }}",
        "{{ client.first_name|add:client.first_name }}",
        '{{ report.text|join:"xxxx" }}',
        "{% lorem 999 p %}",
    ],
)
def test_size_building_tags_and_filters_are_refused(body):
    with pytest.raises(LetterTemplateError, match="not allowed"):
        validate_template("Subject", body)


def test_widthratio_is_refused_at_save_with_a_plain_reason(alice_http, elm_grove):
    response = alice_http.post(
        reverse("letter_edit", args=["thanks_received"]),
        {"subject": "Thanks", "body": "Dear you,\n" + WIDTHRATIO, "save": "1"},
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "widthratio" in page and "not allowed in letter templates" in page
    assert "Traceback" not in page
    assert not LetterTemplate.objects.filter(practice=elm_grove).exists()


def test_widthratio_is_refused_in_the_preview(alice_http):
    response = alice_http.post(
        reverse("letter_edit", args=["thanks_received"]),
        {"subject": "Thanks", "body": WIDTHRATIO, "preview": "1"},
    )
    assert response.status_code == 400
    assert "not allowed in letter templates" in response.content.decode()
    assert "x" * 1000 not in response.content.decode()


def test_a_stored_widthratio_template_is_refused_in_preview_and_sending(
    alice_http, elm_grove, alice
):
    # Saved before the rules (or straight into the database): no validation on the way in.
    LetterTemplate.objects.create(
        practice=elm_grove, kind="thanks_received", subject="Thanks", body=WIDTHRATIO
    )
    page = alice_http.get(reverse("letter_edit", args=["thanks_received"]))
    assert page.status_code == 400
    assert "not allowed in letter templates" in page.content.decode()
    assert "x" * 1000 not in page.content.decode()

    referral = _lay_referral(elm_grove, alice, agreed=True)
    response = alice_http.post(reverse("referral_thank", args=[referral.pk]), follow=True)
    assert response.status_code == 200
    shown = response.content.decode()
    assert "Nothing was sent" in shown and "widthratio" in shown
    assert not OutgoingMessage.objects.filter(practice=elm_grove).exists()
    assert mail.outbox == []
    referral.refresh_from_db()
    assert referral.thanked_at is None


def test_output_is_capped_in_preview_and_sending(alice_http, elm_grove, alice):
    with pytest.raises(LetterTemplateError, match="100 KB"):
        render_letter(
            kind="thanks_received", context={}, subject_template="S", body_template=TOO_LONG
        )

    response = alice_http.post(
        reverse("letter_edit", args=["thanks_received"]),
        {"subject": "Thanks", "body": TOO_LONG, "preview": "1"},
    )
    assert response.status_code == 400
    assert "longer than 100 KB" in response.content.decode()

    LetterTemplate.objects.create(
        practice=elm_grove, kind="thanks_received", subject="Thanks", body=TOO_LONG
    )
    referral = _lay_referral(elm_grove, alice, agreed=True)
    response = alice_http.post(reverse("referral_thank", args=[referral.pk]), follow=True)
    assert "Nothing was sent" in response.content.decode()
    assert not OutgoingMessage.objects.filter(practice=elm_grove).exists()


def test_rendering_has_a_time_limit(monkeypatch):
    monkeypatch.setattr(letters, "MAX_RENDER_SECONDS", -1.0)
    with pytest.raises(LetterTemplateError, match="seconds"):
        render_letter(
            kind="thanks_received",
            context={"client": {"first_name": "Zed"}},
            subject_template="S",
            body_template="{% for c in client.first_name %}{{ c }}{% endfor %}",
        )


def test_normal_templates_still_save_and_render(alice_http, elm_grove):
    for kind in LETTER_KINDS:
        assert alice_http.get(reverse("letter_edit", args=[kind])).status_code == 200
    body = (
        "Dear {{ referrer.name|default:'friend'|title }},\n"
        "{% if client_agreed_to_be_named %}{{ client.first_name|upper }}{% else %}someone"
        "{% endif %}\n{% for c in 'ab' %}{{ forloop.counter }}{% empty %}none{% endfor %}\n"
        "{% with p=practice.name %}{{ p|truncatechars:40 }}{% endwith %} {% now 'Y' %}\n"
        "{{ today|date:'F j, Y' }}"
    )
    response = alice_http.post(
        reverse("letter_edit", args=["thanks_received"]),
        {"subject": "Thank you, {{ referrer.name }}", "body": body, "save": "1"},
    )
    assert response.status_code == 302
    assert LetterTemplate.objects.filter(practice=elm_grove, kind="thanks_received").exists()
    page = alice_http.get(reverse("letter_edit", args=["thanks_received"]))
    assert page.status_code == 200
    assert "Dear Dr. Sample Partner" in page.content.decode()
    assert "12" in page.content.decode()


# --------------------------------------------------------------------------- item 14

NAMING_TEMPLATE = (
    "Dear {{ referrer.name }},\nThank you for sending {{ client.first_name }} "
    "{{ client.last_name }} ({{ referral.reasons }}).\n"
)


@pytest.mark.parametrize("agreed", [False, True])
def test_a_lay_referrers_thank_you_names_the_client_only_with_consent(
    alice_http, elm_grove, alice, agreed
):
    LetterTemplate.objects.create(
        practice=elm_grove,
        kind="thanks_received",
        subject="Thanks for {{ client.first_name }} {{ client.last_name }}: {{ referral.reasons }}",
        body=NAMING_TEMPLATE,
    )
    referral = _lay_referral(elm_grove, alice, agreed=agreed)
    response = alice_http.post(reverse("referral_thank", args=[referral.pk]), follow=True)
    assert "Thank-you note sent" in response.content.decode()
    (email,) = mail.outbox
    (message,) = OutgoingMessage.objects.filter(practice=elm_grove)
    assert email.to == ["fran@example.com"]
    for text in (email.body, message.body):
        for secret in ("Zed", "Newcomer"):
            assert (secret in text) is agreed, (secret, text)
        assert ("Sciatica" in text) is agreed, text
    # A subject never carries the reason nor the client's name, consent or not (a template
    # saved before the rule included): whoever sees the inbox sees the subject.
    for text in (email.subject, message.subject):
        for secret in ("Sciatica", "Zed", "Newcomer"):
            assert secret not in text, (secret, text)
    if not agreed:
        assert "the person you recommended" in email.body


def test_a_professional_referrer_is_still_told_who_came(alice_http, elm_grove, alice, partner):
    partner.email = "dana@spine.example"
    partner.save()
    LetterTemplate.objects.create(
        practice=elm_grove, kind="thanks_received", subject="Thanks", body=NAMING_TEMPLATE
    )
    client = client_create(
        practice=elm_grove,
        by=alice.user,
        fields={
            "first_name": "Ben",
            "last_name": "Runner",
            "stream": "medical",
            "source_partner": partner,
        },
    )
    referral = Referral.objects.get(client=client)
    alice_http.post(reverse("referral_thank", args=[referral.pk]))
    (email,) = mail.outbox
    assert "Ben Runner" in email.body
