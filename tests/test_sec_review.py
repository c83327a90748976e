"""What an independent review found still open after issue 20's first fixes: clinical text in
a letter's subject, the front desk's letters carrying a reason, and vCard uploads whose cards
are few but whose lines are many."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from referwell.outreach.letters import render_letter
from referwell.outreach.services import letter_context
from tests.factories import ClientFactory, ReferralFactory

pytestmark = pytest.mark.django_db


def test_a_subject_never_carries_the_reason_or_a_report(elm_grove, alice, referral):
    referral.reasons = "Sciatica after a fall"
    context = letter_context(
        practice=elm_grove,
        by=alice.user,
        partner=referral.partner,
        client=referral.client,
        referral=referral,
        report={"text": "Improving slowly"},
    )
    letter = render_letter(
        kind="referral",
        context=context,
        subject_template="Re {{ client.first_name }}: {{ referral.reasons }} {{ report.text }}",
        body_template="{{ referral.reasons }} / {{ report.text }}",
    )
    assert "Sciatica" not in letter.subject and "Improving" not in letter.subject
    assert "Sciatica after a fall" in letter.body and "Improving slowly" in letter.body


def test_the_front_desks_letters_carry_no_clinical_text(elm_grove, bob, alice):
    client = ClientFactory(practice=elm_grove)
    referral = ReferralFactory(practice=elm_grove, client=client, reasons="Sciatica")
    desk = letter_context(
        practice=elm_grove,
        by=bob.user,
        client=client,
        referral=referral,
        report={"text": "Improving"},
    )
    assert desk["referral"]["reasons"] == "" and desk["report"]["text"] == ""
    therapist = letter_context(practice=elm_grove, by=alice.user, client=client, referral=referral)
    assert therapist["referral"]["reasons"] == "Sciatica"


def test_a_vcard_upload_of_few_cards_but_many_lines_is_refused_before_reading(alice_http):
    card = (
        "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Many Mails\r\n"
        + "".join(f"EMAIL:m{i}@example.com\r\n" for i in range(150))
        + "END:VCARD\r\n"
    )
    raw = (card * 210).encode()  # 210 cards, ~32,000 lines
    upload = SimpleUploadedFile("many.vcf", raw, content_type="text/vcard")
    response = alice_http.post(reverse("partner_import"), {"files": [upload]})
    page = response.content.decode()
    assert "lines of contact details" in page and "30,000" in page


def test_the_calendar_feed_follows_the_login_rules(elm_grove, alice, client):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from referwell.outreach.feed import feed_issue

    token = feed_issue(member=alice)
    url = reverse("calendar_feed", kwargs={"token": token})
    assert client.get(url).status_code == 200
    elm_grove.require_two_factor = True
    elm_grove.save()
    refused = client.get(url)
    assert refused.status_code == 403 and b"two-factor" in refused.content
    TOTPDevice.objects.create(user=alice.user, name="phone", confirmed=True)
    assert client.get(url).status_code == 200
    alice.user.is_active = False
    alice.user.save()
    assert client.get(url).status_code == 404
