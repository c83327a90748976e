"""Every letter about a referral is read before it leaves (issue "Safe, clear referral work in a
therapist's hands", items 2 and 5): the thank-yous and the progress report have the referral
letter's preview, a second one needs a deliberate confirmation, the receiving office gets the
client's date of birth and phone only under a consent that covers them, and the front desk
sends only a referral letter a clinician left ready — without reading it."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from referwell.audit.models import AuditEntry
from referwell.clients.models import Consent
from referwell.clients.services import client_create, consent_create
from referwell.outreach.models import OutgoingMessage
from referwell.referrals.models import Referral
from referwell.referrals.services import (
    REPORT_MARK,
    referral_create,
    referral_letter_prepare,
    referral_transition,
    referral_update,
)
from referwell.referrals.states import Status
from tests.factories import PartnerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def partner_with_email(partner):
    partner.email = "dana@spine.example"
    partner.save()
    return partner


@pytest.fixture
def referral_in(elm_grove, alice, partner_with_email):
    """A client Dr. Spine sent us, who agreed to written reports to her."""
    client = client_create(
        practice=elm_grove,
        by=alice.user,
        fields={
            "first_name": "Ben",
            "last_name": "Runner",
            "stream": "medical",
            "source_partner": partner_with_email,
        },
    )
    consent_create(
        client=client, by=None, fields={"partner": partner_with_email, "scope": "report"}
    )
    return Referral.objects.get(client=client)


@pytest.fixture
def accepted(elm_grove, alice, client_alice_jones, partner_with_email):
    """Our client, whom Dr. Spine took on: a thank-you for her care is due."""
    referral = referral_create(
        practice=elm_grove,
        by=alice.user,
        fields={
            "client": client_alice_jones,
            "partner": partner_with_email,
            "reasons": "Whiplash, 3 weeks",
        },
    )
    consent_create(
        client=client_alice_jones,
        by=None,
        fields={"partner": partner_with_email, "scope": "report"},
    )
    for step in (Status.CONSENTED, Status.SENT, Status.ACCEPTED):
        referral_transition(referral=referral, to=step, by=alice.user)
    return referral


@pytest.fixture
def consented(elm_grove, alice, client_alice_jones, partner_with_email):
    """A referral out, ready to send."""
    referral = referral_create(
        practice=elm_grove,
        by=alice.user,
        fields={
            "client": client_alice_jones,
            "partner": partner_with_email,
            "reasons": "Whiplash, 3 weeks",
        },
    )
    consent_create(
        client=client_alice_jones,
        by=None,
        fields={"partner": partner_with_email, "scope": "report"},
    )
    referral_transition(referral=referral, to=Status.CONSENTED, by=alice.user)
    return referral


KINDS = [
    ("referral_thank", "referral_in", "thanks_received"),
    ("referral_thank_care", "accepted", "thanks_care"),
    ("referral_report", "referral_in", "progress_report"),
]


def _edited(body):
    return body.replace(REPORT_MARK, "Neck rotation much improved.") + "\nP.S. Edited by hand.\n"


# --- The preview is what leaves ----------------------------------------------------------------


@pytest.mark.parametrize(("name", "fixture", "kind"), KINDS, ids=[k for _, _, k in KINDS])
def test_each_letters_preview_is_what_is_queued(alice_http, request, name, fixture, kind):
    referral = request.getfixturevalue(fixture)
    url = reverse(name, args=[referral.pk])
    page = alice_http.get(url)
    assert page.status_code == 200
    assert not OutgoingMessage.objects.exists() and not mail.outbox  # looking sends nothing
    html = page.content.decode()
    assert "before it leaves" in html and "Dr. Dana Spine" in html and "by e-mail" in html
    subject, body = page.context["subject"], page.context["body"]
    assert (REPORT_MARK in body) is (kind == "progress_report")
    edited = _edited(body)
    response = alice_http.post(url, {"subject": subject, "body": edited})
    assert response.status_code == 302
    (message,) = OutgoingMessage.objects.filter(referral=referral, kind=kind)
    assert message.subject == subject
    assert message.body == edited.strip() + "\n"
    assert message.to_email == "dana@spine.example"
    (email,) = mail.outbox
    assert email.body == message.body and "P.S. Edited by hand." in email.body


@pytest.mark.parametrize(("name", "fixture", "kind"), KINDS, ids=[k for _, _, k in KINDS])
def test_a_second_letter_needs_a_deliberate_confirmation(alice_http, request, name, fixture, kind):
    referral = request.getfixturevalue(fixture)
    url = reverse(name, args=[referral.pk])
    page = alice_http.get(url)
    form = {"subject": page.context["subject"], "body": _edited(page.context["body"])}
    # A double click, or the form posted again: the second one sends nothing.
    assert alice_http.post(url, form).status_code == 302
    replay = alice_http.post(url, form)
    assert replay.status_code == 409
    assert "Nothing was sent" in replay.content.decode()
    assert OutgoingMessage.objects.filter(referral=referral, kind=kind).count() == 1
    assert len(mail.outbox) == 1
    # The preview says what went, and asks before another.
    html = alice_http.get(url).content.decode()
    today = timezone.localdate()
    assert f"went to Dr. Dana Spine on {today:%b} {today.day}, {today.year} by e-mail" in html
    assert 'name="again"' in html
    # Confirmed, another goes.
    assert alice_http.post(url, {**form, "again": "1"}).status_code == 302
    assert OutgoingMessage.objects.filter(referral=referral, kind=kind).count() == 2


def test_a_report_is_not_sent_with_its_place_left_empty(alice_http, referral_in):
    url = reverse("referral_report", args=[referral_in.pk])
    page = alice_http.get(url)
    response = alice_http.post(
        url, {"subject": page.context["subject"], "body": page.context["body"]}
    )
    assert response.status_code == 400
    assert "Write the report in the letter" in response.content.decode()
    assert not OutgoingMessage.objects.exists()


def test_an_edited_thank_you_subject_naming_the_client_is_refused(alice_http, referral_in):
    url = reverse("referral_thank", args=[referral_in.pk])
    response = alice_http.post(
        url, {"subject": "Thanks for Ben Runner", "body": "Dear Dana, thanks."}
    )
    assert response.status_code == 400
    assert "must not name the client" in response.content.decode()
    assert not OutgoingMessage.objects.exists()


def test_a_lay_referrers_thank_you_cannot_be_edited_into_naming_the_client(
    alice_http, elm_grove, alice
):
    friend = client_create(
        practice=elm_grove,
        by=alice.user,
        fields={"first_name": "Fran", "last_name": "Friend", "email": "fran@example.com"},
    )
    newcomer = client_create(
        practice=elm_grove,
        by=alice.user,
        fields={"first_name": "Zed", "last_name": "Newcomer", "source_client": friend},
    )
    referral = Referral.objects.get(client=newcomer)
    url = reverse("referral_thank", args=[referral.pk])
    page = alice_http.get(url)
    assert "Zed" not in page.context["body"]
    response = alice_http.post(
        url, {"subject": page.context["subject"], "body": page.context["body"] + "\nSay hi to Zed."}
    )
    assert response.status_code == 400 and not OutgoingMessage.objects.exists()


def test_the_pdf_is_of_exactly_the_text_shown(alice_http, referral_in):
    url = reverse("referral_thank", args=[referral_in.pk])
    page = alice_http.get(url)
    response = alice_http.post(
        url,
        {
            "subject": page.context["subject"],
            "body": page.context["body"] + "\nA line only this letter has.",
            "action": "pdf",
        },
    )
    assert response["Content-Type"] == "application/pdf"
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(response.content)).pages)
    assert "A line only this letter has." in text
    assert not OutgoingMessage.objects.exists()  # a look, not a send


def test_the_referral_page_links_to_each_preview(alice_http, referral_in, accepted):
    html = alice_http.get(reverse("referral_detail", args=[referral_in.pk])).content.decode()
    assert f'href="{reverse("referral_thank", args=[referral_in.pk])}"' in html
    assert f'href="{reverse("referral_report", args=[referral_in.pk])}"' in html
    html = alice_http.get(reverse("referral_detail", args=[accepted.pk])).content.decode()
    assert f'href="{reverse("referral_thank_care", args=[accepted.pk])}"' in html


# --- The client's date of birth and phone ----------------------------------------------------


@pytest.mark.parametrize("covered", [False, True])
def test_the_letter_gives_date_of_birth_and_phone_only_under_a_consent_that_covers_them(
    alice_http, consented, covered
):
    client = consented.client
    client.date_of_birth = dt.date(1984, 3, 7)
    client.phone = "414-555-0199"
    client.save()
    Consent.objects.filter(client=client).update(share_contact_details=covered)
    url = reverse("referral_send", args=[consented.pk])
    page = alice_http.get(url)
    body = page.context["body"]
    assert ("March 7, 1984" in body) is covered
    assert ("414-555-0199" in body) is covered
    alice_http.post(url)  # the practice's letter, as rendered
    (message,) = OutgoingMessage.objects.filter(referral=consented)
    assert ("March 7, 1984" in message.body) is covered
    assert ("414-555-0199" in message.body) is covered
    assert "1984" not in message.subject and "0199" not in message.subject


def test_without_them_on_file_the_letter_says_nothing_of_them(alice_http, consented):
    Consent.objects.filter(client=consented.client).update(share_contact_details=True)
    body = alice_http.get(reverse("referral_send", args=[consented.pk])).context["body"]
    assert "Date of birth" not in body and "Phone:" not in body


def test_the_consent_form_asks_and_the_client_reads_it(alice_http, client_alice_jones, partner):
    url = reverse("consent_add", args=[client_alice_jones.pk])
    form = alice_http.get(url).content.decode()
    assert "date of birth and phone number, to find and book them" in form
    alice_http.post(
        url,
        {
            "partner": partner.pk,
            "scope": "report",
            "share_contact_details": "on",
            "given_on": "2026-01-02",
            "how": "noted",
        },
    )
    consent = Consent.objects.get(client=client_alice_jones)
    assert consent.share_contact_details
    assert "date of birth and phone number" in consent.agreement()
    consent.share_contact_details = False
    assert "date of birth" not in consent.agreement()


# --- The front desk sends only what a clinician left ready ----------------------------------


def test_the_front_desk_sends_a_letter_left_ready_without_reading_it(
    alice_http, bob_http, alice, bob, consented
):
    url = reverse("referral_send", args=[consented.pk])
    assert bob_http.get(url).status_code == 403
    assert bob_http.post(url).status_code == 403  # nothing ready: as before
    waiting = bob_http.get(reverse("referral_detail", args=[consented.pk])).content.decode()
    assert "a therapist reads it and sends it, or leaves it ready here for you" in waiting
    page = alice_http.get(url)
    edited = page.context["body"] + "\nP.S. Mornings suit her best.\n"
    response = alice_http.post(
        url, {"subject": page.context["subject"], "body": edited, "action": "ready"}
    )
    assert response.status_code == 302 and not OutgoingMessage.objects.exists()
    consented.refresh_from_db()
    assert consented.status == Status.CONSENTED
    assert consented.letter_prepared_by == alice.user and consented.letter_prepared_at
    # The front desk reads who prepared it, when, and to whom: not the letter, not the reason.
    desk_page = bob_http.get(reverse("referral_detail", args=[consented.pk])).content.decode()
    assert "Letter ready to send" in desk_page
    assert "leaves it ready here for you" not in desk_page
    assert f"prepared by {alice.user.first_name}" in desk_page and "by e-mail" in desk_page
    for secret in ("Mornings suit her best", "Whiplash"):
        assert secret not in desk_page
    assert bob_http.get(url).status_code == 403  # the letter itself stays closed to them
    # Send: exactly the prepared letter, through the same send (link, disclosure, outbox).
    assert bob_http.post(url, {"action": "send"}).status_code == 302
    (message,) = OutgoingMessage.objects.filter(referral=consented)
    assert "P.S. Mornings suit her best." in message.body and "/l/" in message.body
    assert message.by == bob.user and message.subject == page.context["subject"]
    consented.refresh_from_db()
    assert consented.status == Status.SENT
    assert consented.letter_prepared_at is None and consented.letter_body == ""
    prepared = AuditEntry.objects.get(action="referwell.referral.letter_prepared")
    sent = AuditEntry.objects.get(action="referwell.referral.prepared_letter_sent")
    assert prepared.actor == alice.user and sent.actor == bob.user
    assert sent.data["prepared_by"] == alice.user.email
    # Sent and cleared: the same press again sends nothing.
    assert bob_http.post(url, {"action": "send"}).status_code == 403
    assert OutgoingMessage.objects.filter(referral=consented).count() == 1


def test_the_prepared_letter_is_stored_encrypted(alice, consented):
    from django.db import connection

    referral_letter_prepare(
        referral=consented, by=alice.user, subject="A referral", body="Whiplash, be gentle."
    )
    with connection.cursor() as cursor:
        cursor.execute("SELECT letter_body FROM referrals_referral WHERE id = %s", [consented.pk])
        (stored,) = cursor.fetchone()
    assert "Whiplash" not in stored
    consented.refresh_from_db()
    assert consented.letter_body == "Whiplash, be gentle.\n"


def test_editing_the_referral_or_a_new_ready_replaces_the_prepared_letter(
    alice_http, alice, consented
):
    referral_letter_prepare(referral=consented, by=alice.user, subject="First", body="First text.")
    url = reverse("referral_send", args=[consented.pk])
    page = alice_http.get(url)  # a clinician reads the letter left ready
    assert page.context["subject"] == "First" and "left ready for the front desk" in (
        page.content.decode()
    )
    fresh = alice_http.get(url + "?fresh=1")
    assert "First text." not in fresh.context["body"]
    assert "left a letter ready for the front desk" in fresh.content.decode()
    alice_http.post(url, {"subject": "Second", "body": "Second text.", "action": "ready"})
    consented.refresh_from_db()
    assert consented.letter_subject == "Second" and consented.letter_body == "Second text.\n"
    referral_update(referral=consented, by=alice.user, fields={"reasons": "Whiplash, 4 weeks"})
    consented.refresh_from_db()
    assert consented.letter_prepared_at is None and consented.letter_subject == ""


def test_the_front_desk_cannot_prepare_nor_see_a_report_but_may_thank(
    bob_http, referral_in, consented
):
    url = reverse("referral_send", args=[consented.pk])
    response = bob_http.post(url, {"subject": "S", "body": "B", "action": "ready"})
    assert response.status_code == 403
    consented.refresh_from_db()
    assert consented.letter_prepared_at is None
    assert bob_http.get(reverse("referral_report", args=[referral_in.pk])).status_code == 403
    assert bob_http.get(reverse("referral_thank", args=[referral_in.pk])).status_code == 200


# --- Another practice -------------------------------------------------------------------------


@pytest.mark.parametrize("action", ["send", "pdf", "ready"])
def test_another_practice_gets_404_on_every_letter_page(
    charlie_http, referral_in, accepted, consented, action
):
    urls = [
        reverse("referral_send", args=[consented.pk]),
        reverse("referral_thank", args=[referral_in.pk]),
        reverse("referral_report", args=[referral_in.pk]),
        reverse("referral_thank_care", args=[accepted.pk]),
    ]
    for url in urls:
        assert charlie_http.get(url).status_code == 404, url
        form = {"subject": "S", "body": "B", "action": action, "again": "1"}
        assert charlie_http.post(url, form).status_code == 404, url
    assert not OutgoingMessage.objects.exists()


def test_a_partner_without_e_mail_gets_a_letter_to_print(alice_http, elm_grove, alice):
    partner = PartnerFactory(practice=elm_grove, name="Dr. Paper Only")
    client = client_create(
        practice=elm_grove,
        by=alice.user,
        fields={
            "first_name": "Cy",
            "last_name": "Post",
            "stream": "medical",
            "source_partner": partner,
        },
    )
    referral = Referral.objects.get(client=client)
    url = reverse("referral_thank", args=[referral.pk])
    html = alice_http.get(url).content.decode()
    assert "a PDF to print and post" in html
    page = alice_http.get(url)
    alice_http.post(url, {"subject": page.context["subject"], "body": page.context["body"]})
    (message,) = OutgoingMessage.objects.filter(referral=referral)
    assert message.status == OutgoingMessage.Status.PRINTED and not mail.outbox
    html = alice_http.get(url).content.decode()
    today = timezone.localdate()
    assert (
        f"went to Dr. Paper Only on {today:%b} {today.day}, {today.year} as a letter to print"
        in html
    )
