"""Partners' answers and new inbound referrals reach the therapist by e-mail (the outbox),
each member choosing their own."""

from __future__ import annotations

import pytest
from django.core import mail
from django.test import Client as HttpClient
from django.urls import reverse

from referwell.referrals.notify import partner_answered
from referwell.referrals.services import referral_create


@pytest.fixture
def sent_by_alice(elm_grove, alice, client_alice_jones, partner):
    return referral_create(
        practice=elm_grove,
        by=alice.user,
        fields={"client": client_alice_jones, "partner": partner, "reasons": "Neck pain"},
    )


def test_the_sender_hears_the_partners_answer_with_its_words(sent_by_alice, alice):
    note = "Cervical strain - avoid deep work on the neck for 2 weeks"
    assert partner_answered(
        referral=sent_by_alice, action="accept", note=note, base_url="http://rw.example/"
    )
    (email,) = mail.outbox
    assert email.to == [alice.user.email]
    assert "accepted your referral" in email.subject
    assert "Alice" not in email.subject and "Jones" not in email.subject  # no client name
    assert note in email.body and "Alice" in email.body and "Jones" not in email.body
    assert f"http://rw.example/referrals/{sent_by_alice.pk}/" in email.body


def test_a_member_who_turned_it_off_is_not_e_mailed(sent_by_alice, alice, alice_http):
    response = alice_http.post(reverse("notifications"), {"notify_inbound": "on"})
    assert response.status_code == 302
    alice.refresh_from_db()
    assert alice.notify_answers is False and alice.notify_inbound is True
    assert not partner_answered(
        referral=sent_by_alice, action="note", note="Hi", base_url="http://rw.example/"
    )
    assert not mail.outbox


def test_a_referral_through_the_public_page_tells_the_clinicians_not_the_front_desk(
    elm_grove, alice, bob
):
    response = HttpClient().post(
        reverse("refer_practice", args=[elm_grove.slug]),
        {
            "referrer_name": "Dr. Kim Park",
            "referrer_organization": "Park Chiropractic",
            "referrer_phone": "414-555-0100",
            "referrer_email": "",
            "client_first_name": "Eric",
            "client_last_name": "Moss",
            "client_phone": "262-555-0199",
            "client_email": "eric@example.com",
            "reason": "Low back pain",
            "client_agreed_to_be_contacted": "on",
            "website": "",
        },
    )
    assert response.status_code == 302, response.content.decode()[:500]
    assert [m.to for m in mail.outbox] == [[alice.user.email]]  # bob is the front desk
    (email,) = mail.outbox
    assert "Eric" not in email.subject + email.body and "Low back" not in email.body


def test_each_member_sets_only_their_own_e_mails(bob_http, bob, alice):
    assert bob_http.get(reverse("notifications")).status_code == 200
    bob_http.post(reverse("notifications"), {})
    bob.refresh_from_db()
    alice.refresh_from_db()
    assert not bob.notify_answers and not bob.notify_inbound
    assert alice.notify_answers and alice.notify_inbound


def test_a_note_through_the_partners_link_reaches_the_sender(sent_by_alice, alice, partner):
    from referwell.referrals.services import link_issue

    _, token = link_issue(referral=sent_by_alice, by=alice.user)
    note = "Cervical strain - avoid deep work on the neck for 2 weeks"
    response = HttpClient().post(f"/l/{token}/", {"action": "note", "note": note})
    assert response.status_code == 302
    (email,) = mail.outbox
    assert email.to == [alice.user.email] and note in email.body
    assert "sent you a note" in email.subject and "Alice" not in email.subject


def test_the_partners_answers_are_on_the_clients_page_precautions_first(
    sent_by_alice, alice, alice_http, bob_http
):
    from referwell.referrals.services import link_issue

    _, token = link_issue(referral=sent_by_alice, by=alice.user)
    HttpClient().post(f"/l/{token}/", {"action": "note", "note": "Avoid deep work on the neck"})
    HttpClient().post(f"/l/{token}/", {"action": "note", "note": "Seen on Monday, doing well"})
    page = alice_http.get(reverse("client_detail", args=[sent_by_alice.client.pk])).content
    page = page.decode()
    section = page[page.index("From partners") : page.index('<div class="grid2">')]
    assert section.index("Avoid deep work") < section.index("doing well")  # precaution first
    assert "Precaution" in section
    # The front desk does not read clinical notes.
    desk = bob_http.get(reverse("client_detail", args=[sent_by_alice.client.pk])).content.decode()
    assert "From partners" not in desk and "Avoid deep work" not in desk
