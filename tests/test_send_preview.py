"""Every referral letter is read before it leaves: the preview is exactly what is sent,
editable for this one letter; names in any script survive into the e-mail and its PDF."""

from __future__ import annotations

import io

import pytest
from django.core import mail
from django.urls import reverse
from pypdf import PdfReader

from referwell.clients.services import consent_create
from referwell.core.fonts import pdf_fonts
from referwell.outreach.models import OutgoingMessage
from referwell.referrals.services import LINK_MARK, referral_create, referral_transition
from referwell.referrals.states import Status


@pytest.fixture
def ready(elm_grove, alice, client_alice_jones, partner):
    partner.email = "dana@spine.example"
    partner.save()
    referral = referral_create(
        practice=elm_grove,
        by=alice.user,
        fields={"client": client_alice_jones, "partner": partner, "reasons": "Whiplash, 3 weeks"},
    )
    consent_create(
        client=client_alice_jones, by=None, fields={"partner": partner, "scope": "report"}
    )
    referral_transition(referral=referral, to=Status.CONSENTED, by=alice.user)
    return referral


def test_the_preview_is_what_is_sent_and_nothing_leaves_on_looking(ready, alice_http):
    page = alice_http.get(reverse("referral_send", args=[ready.pk]))
    assert page.status_code == 200 and not mail.outbox
    assert not OutgoingMessage.objects.exists()
    ready.refresh_from_db()
    assert ready.status == Status.CONSENTED
    html = page.content.decode()
    assert "Read the letter before it leaves" in html and "Whiplash, 3 weeks" in html
    subject = page.context["subject"]
    body = page.context["body"]
    assert LINK_MARK in body
    alice_http.post(
        reverse("referral_send", args=[ready.pk]),
        {"subject": subject, "body": body + "\nP.S. Mornings suit her best."},
    )
    (email,) = mail.outbox
    assert email.subject == subject
    assert "P.S. Mornings suit her best." in email.body and "/l/" in email.body
    assert LINK_MARK not in email.body


def test_an_edited_subject_naming_the_client_is_refused_and_nothing_leaves(ready, alice_http):
    response = alice_http.post(
        reverse("referral_send", args=[ready.pk]),
        {"subject": "Referral: Alice Jones", "body": "Dear Dr. Spine, please see Alice."},
    )
    assert response.status_code == 400
    assert "must not name the client" in response.content.decode()
    assert not mail.outbox
    ready.refresh_from_db()
    assert ready.status == Status.CONSENTED


def test_the_front_desk_and_another_practice_see_no_letter(ready, bob_http, charlie_http):
    assert bob_http.get(reverse("referral_send", args=[ready.pk])).status_code == 403
    assert charlie_http.get(reverse("referral_send", args=[ready.pk])).status_code == 404


@pytest.mark.skipif(not pdf_fonts(), reason="the PDF fonts are not installed: run `make fonts`")
@pytest.mark.parametrize(
    "first,last", [("Łucja", "Wąsowska"), ("Hương", "Nguyễn"), ("太郎", "山田")]
)
def test_a_name_in_any_script_reaches_the_e_mail_and_its_pdf_intact(ready, alice_http, first, last):
    client = ready.client
    client.first_name, client.last_name = first, last
    client.save()
    page = alice_http.get(reverse("referral_send", args=[ready.pk]))
    assert f"{first} {last}" in page.context["body"]
    alice_http.post(
        reverse("referral_send", args=[ready.pk]),
        {"subject": page.context["subject"], "body": page.context["body"]},
    )
    (email,) = mail.outbox
    assert f"{first} {last}" in email.body
    ((_, pdf, _),) = email.attachments
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    assert f"{first} {last}" in text
