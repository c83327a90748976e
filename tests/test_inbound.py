"""The public referral pages and the review of what they receive."""

import pytest
from django.core.cache import cache
from django.urls import reverse

from referwell.audit.models import AuditEntry
from referwell.clients.models import Client, Stream
from referwell.inbound.models import ReferralRequest, RequestStatus
from referwell.referrals.models import Direction, Referral

pytestmark = pytest.mark.django_db

VALID = {
    "referrer_name": "Dr. Dana Spine",
    "referrer_organization": "Spine & Joint Clinic",
    "referrer_phone": "414-555-0100",
    "referrer_email": "",
    "client_first_name": "Nora",
    "client_last_name": "Quinlan",
    "client_phone": "414-555-0199",
    "client_email": "nora@example.com",
    "reason": "Chronic neck tension after whiplash; cleared for massage.",
    "client_agreed_to_be_contacted": "on",
    "website": "",
}


@pytest.fixture(autouse=True)
def empty_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def practice_page(elm_grove):
    elm_grove.treats = "Neck and back tension, sports recovery."
    elm_grove.does_not_treat = "Acute injuries, fractures."
    elm_grove.how_to_refer = "Use the form below or call us."
    elm_grove.phone = "414-555-0123"
    elm_grove.save()
    return reverse("refer_practice", args=[elm_grove.slug])


@pytest.fixture
def partner_page(practice_page, elm_grove, partner):
    return reverse("refer_partner", args=[elm_grove.slug, partner.referral_code])


@pytest.fixture
def inbound_request(elm_grove, partner):
    return ReferralRequest.objects.create(
        practice=elm_grove,
        partner=partner,
        referrer_name="Dr. Dana Spine",
        client_first_name="Nora",
        client_last_name="Quinlan",
        client_phone="414-555-0199",
        client_email="nora@example.com",
        reason="Neck tension.",
        client_agreed_to_be_contacted=True,
    )


def test_the_practice_page_shows_what_it_treats_without_login(client, practice_page):
    response = client.get(practice_page)
    assert response.status_code == 200
    body = response.content.decode()
    assert "Neck and back tension" in body
    assert "Acute injuries" in body
    assert "Use the form below" in body
    assert "414-555-0123" in body
    assert 'name="website"' in body
    assert "Referring from" not in body


def test_the_partner_page_names_the_partner(client, partner_page):
    response = client.get(partner_page)
    assert response.status_code == 200
    body = response.content.decode()
    assert "Neck and back tension" in body
    assert "Referring from <strong>Dr. Dana Spine</strong>" in body


def test_unknown_practice_or_code_is_404(client, elm_grove, partner, other_practice):
    assert client.get(reverse("refer_practice", args=["nowhere"])).status_code == 404
    assert client.get(reverse("refer_partner", args=["elm-grove", "nope"])).status_code == 404
    assert client.get(reverse("refer_thanks", args=["nowhere"])).status_code == 404
    # A partner's code only works under its own practice.
    url = reverse("refer_partner", args=[other_practice.slug, partner.referral_code])
    assert client.get(url).status_code == 404


def test_a_referral_through_the_partner_page_is_held_for_review(client, partner_page, partner):
    response = client.post(partner_page, VALID)
    assert response.status_code == 302
    assert response.url == reverse("refer_thanks", args=["elm-grove"])
    request = ReferralRequest.objects.get()
    assert request.partner == partner
    assert request.practice == partner.practice
    assert request.status == RequestStatus.PENDING
    assert request.client_last_name == "Quinlan"
    assert request.ip_hash and len(request.ip_hash) == 64
    assert "127.0.0.1" not in request.ip_hash
    entry = AuditEntry.objects.get(action="referwell.inbound.received")
    assert entry.actor is None and entry.object_id == str(request.pk)
    assert entry.ip_address is None
    # Nothing that was sent is repeated on the thank-you page.
    thanks = client.get(response.url)
    assert thanks.status_code == 200
    assert b"Quinlan" not in thanks.content and b"whiplash" not in thanks.content
    # Nor is anything created on the client side until someone accepts it.
    assert not Client.objects.exists()


def test_a_referral_through_the_practice_page_has_no_partner(client, practice_page):
    assert client.post(practice_page, VALID).status_code == 302
    assert ReferralRequest.objects.get().partner is None


def test_the_honeypot_stores_nothing_but_says_thank_you(client, partner_page):
    response = client.post(partner_page, VALID | {"website": "http://spam.example"})
    assert response.status_code == 302
    assert response.url == reverse("refer_thanks", args=["elm-grove"])
    assert not ReferralRequest.objects.exists()
    assert not AuditEntry.objects.filter(action="referwell.inbound.received").exists()


def test_a_too_long_reason_is_a_form_error(client, practice_page):
    response = client.post(practice_page, VALID | {"reason": "x" * 2001})
    assert response.status_code == 400
    assert b"at most 2000 characters" in response.content
    assert not ReferralRequest.objects.exists()


def test_every_field_has_a_maximum_length(client, practice_page):
    response = client.post(practice_page, VALID | {"client_last_name": "Q" * 101})
    assert response.status_code == 400
    assert not ReferralRequest.objects.exists()


def test_the_client_must_have_agreed_and_be_reachable(client, practice_page):
    data = {k: v for k, v in VALID.items() if k != "client_agreed_to_be_contacted"}
    assert client.post(practice_page, data).status_code == 400
    response = client.post(practice_page, VALID | {"client_phone": "", "client_email": ""})
    assert response.status_code == 400
    assert b"phone or e-mail" in response.content
    assert not ReferralRequest.objects.exists()


def test_a_body_over_20_kb_is_refused(client, practice_page):
    response = client.post(practice_page, VALID | {"referrer_organization": "x" * 25_000})
    assert response.status_code == 413
    assert not ReferralRequest.objects.exists()


def test_the_sixth_submission_from_one_ip_within_the_hour_is_429(client, practice_page):
    cache.clear()
    for n in range(5):
        response = client.post(practice_page, VALID | {"client_first_name": f"N{n}"})
        assert response.status_code == 302, n
    response = client.post(practice_page, VALID)
    assert response.status_code == 429
    assert ReferralRequest.objects.count() == 5
    # Another connection is not held back.
    other = client.post(practice_page, VALID, REMOTE_ADDR="10.0.0.9")
    assert other.status_code == 302


def test_the_practice_takes_at_most_100_a_day(client, practice_page, monkeypatch):
    from referwell.inbound import public

    assert public.SUBMISSIONS_PER_PRACTICE_PER_DAY == 100
    monkeypatch.setattr(public, "SUBMISSIONS_PER_PRACTICE_PER_DAY", 2)
    for n in range(2):
        assert client.post(practice_page, VALID, REMOTE_ADDR=f"10.0.1.{n}").status_code == 302
    response = client.post(practice_page, VALID, REMOTE_ADDR="10.0.1.9")
    assert response.status_code == 429
    assert ReferralRequest.objects.count() == 2


def test_alice_sees_the_request_charlie_does_not(
    alice_http, charlie_http, inbound_request, elm_grove, partner
):
    response = alice_http.get(reverse("inbound_list"))
    assert response.status_code == 200
    body = response.content.decode()
    assert "Nora Quinlan" in body
    assert f"/refer/{elm_grove.slug}/" in body
    assert f"/refer/{elm_grove.slug}/{partner.referral_code}/" in body
    detail = alice_http.get(reverse("inbound_detail", args=[inbound_request.pk]))
    assert detail.status_code == 200
    assert b"Neck tension." in detail.content

    charlie_list = charlie_http.get(reverse("inbound_list")).content.decode()
    assert "Quinlan" not in charlie_list and partner.referral_code not in charlie_list
    assert charlie_http.get(reverse("inbound_detail", args=[inbound_request.pk])).status_code == 404
    for name in ("inbound_accept", "inbound_reject"):
        assert charlie_http.post(reverse(name, args=[inbound_request.pk])).status_code == 404
    inbound_request.refresh_from_db()
    assert inbound_request.status == RequestStatus.PENDING


def test_the_list_filters_by_status(alice_http, inbound_request):
    inbound_request.status = RequestStatus.REJECTED
    inbound_request.save()
    assert b"Quinlan" not in alice_http.get(reverse("inbound_list")).content
    rejected = alice_http.get(reverse("inbound_list") + "?status=rejected")
    assert b"Quinlan" in rejected.content
    fragment = alice_http.get(
        reverse("inbound_list") + "?status=rejected", headers={"HX-Request": "true"}
    )
    assert b"Quinlan" in fragment.content and b"<html" not in fragment.content


def test_front_desk_does_not_see_the_reason(bob_http, inbound_request):
    response = bob_http.get(reverse("inbound_detail", args=[inbound_request.pk]))
    assert response.status_code == 200
    assert b"Neck tension." not in response.content


def test_accept_makes_the_client_and_the_referral_in(alice_http, alice, inbound_request, partner):
    response = alice_http.post(reverse("inbound_accept", args=[inbound_request.pk]))
    client = Client.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("client_detail", args=[client.pk])
    assert client.source_partner == partner
    assert client.stream == Stream.MEDICAL
    assert client.complaints == "Neck tension."
    assert (client.first_name, client.last_name) == ("Nora", "Quinlan")
    referral = Referral.objects.get(client=client)
    assert referral.direction == Direction.IN
    assert referral.partner == partner
    inbound_request.refresh_from_db()
    assert inbound_request.status == RequestStatus.ACCEPTED
    assert inbound_request.client == client
    assert inbound_request.reviewed_by == alice.user
    assert inbound_request.reviewed_at is not None
    entry = AuditEntry.objects.get(action="referwell.inbound.accepted")
    assert entry.actor == alice.user and entry.object_id == str(inbound_request.pk)
    # Accepting twice does not make a second client.
    alice_http.post(reverse("inbound_accept", args=[inbound_request.pk]))
    assert Client.objects.count() == 1


def test_accept_without_partner_credits_the_named_referrer(alice_http, inbound_request):
    inbound_request.partner = None
    inbound_request.referrer_organization = "Lakeview Family Medicine"
    inbound_request.save()
    alice_http.post(reverse("inbound_accept", args=[inbound_request.pk]))
    client = Client.objects.get()
    assert client.source_partner is None
    assert client.stream == Stream.BUSINESS
    assert client.source_name == "Dr. Dana Spine (Lakeview Family Medicine)"
    referral = Referral.objects.get(client=client)
    assert referral.direction == Direction.IN
    assert referral.referrer_name == client.source_name


def test_reject_changes_the_status_only(alice_http, alice, inbound_request):
    response = alice_http.post(reverse("inbound_reject", args=[inbound_request.pk]))
    assert response.status_code == 302
    inbound_request.refresh_from_db()
    assert inbound_request.status == RequestStatus.REJECTED
    assert inbound_request.reviewed_by == alice.user
    assert inbound_request.client is None
    assert not Client.objects.exists()
    assert not Referral.objects.exists()
    assert AuditEntry.objects.filter(action="referwell.inbound.rejected").count() == 1


def test_anonymous_is_sent_to_login(client, inbound_request):
    for url in (reverse("inbound_list"), reverse("inbound_detail", args=[inbound_request.pk])):
        response = client.get(url)
        assert response.status_code == 302
        assert reverse("login") in response.url
    response = client.post(reverse("inbound_accept", args=[inbound_request.pk]))
    assert response.status_code == 302 and reverse("login") in response.url
    assert not Client.objects.exists()


def test_the_nav_links_to_inbound(alice_http):
    assert b'href="/inbound/"' in alice_http.get(reverse("dashboard")).content
