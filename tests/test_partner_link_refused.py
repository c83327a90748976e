"""A partner's link that no longer works says why, in the app's layout: a wrong token names
nobody; an expired or withdrawn one gives the practice's phone and e-mail, never the client."""

from __future__ import annotations

import pytest
from django.test import Client as HttpClient
from django.utils import timezone

from referwell.clients.services import consent_create
from referwell.referrals.models import ReferralLink
from referwell.referrals.services import link_revoke, referral_send, referral_transition

pytestmark = pytest.mark.django_db


@pytest.fixture
def sent(alice, elm_grove, referral, partner, client_alice_jones):
    elm_grove.phone = "414-555-0100"
    elm_grove.email = "hello@elmgrove.example"
    elm_grove.save()
    partner.email = "dana@spine.example"
    partner.save()
    consent_create(
        client=client_alice_jones, by=alice.user, fields={"partner": partner, "scope": "report"}
    )
    referral_transition(referral=referral, to="consented", by=alice.user)
    url = referral_send(referral=referral, by=alice.user, base_url="http://testserver")["url"]
    return url.removeprefix("http://testserver")


def _said(response) -> str:
    body = response.content.decode()
    assert "app.css" in body  # the app's layout, not Django's bare page
    assert "no-store" in response["Cache-Control"]
    return body


def test_a_wrong_token_is_told_nothing():
    response = HttpClient().get("/l/not-a-real-token/")
    assert response.status_code == 404
    body = _said(response)
    assert "This link does not work." in body
    assert "Elm Grove" not in body


def test_an_expired_link_gives_the_practices_contact_and_nothing_of_the_client(sent):
    ReferralLink.objects.update(expires_at=timezone.now() - timezone.timedelta(minutes=1))
    response = HttpClient().get(sent)
    assert response.status_code == 404
    body = _said(response)
    assert "This link has expired." in body
    assert "Elm Grove" in body and "414-555-0100" in body and "hello@elmgrove.example" in body
    assert 'href="tel:414-555-0100"' in body
    assert "Alice" not in body and "Jones" not in body and "Spine" not in body


def test_a_withdrawn_link_says_so_and_whom_to_ask(sent, alice):
    for link in ReferralLink.objects.all():
        link_revoke(link=link, by=alice.user)
    response = HttpClient().get(sent)
    assert response.status_code == 404
    body = _said(response)
    assert "This link was withdrawn by the practice." in body
    assert "414-555-0100" in body and "Alice" not in body


def test_an_answer_on_an_expired_link_moves_nothing(sent, referral):
    ReferralLink.objects.update(expires_at=timezone.now() - timezone.timedelta(minutes=1))
    response = HttpClient().post(sent, {"action": "accept"})
    assert response.status_code == 404
    referral.refresh_from_db()
    assert referral.status == "sent"
