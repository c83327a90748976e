"""Issue #20, items 6, 11 and 13: every bulk read of client information leaves one audit entry
naming what it returned; API and FHIR tokens wait for two-factor where the practice requires it;
no answer with health information may be kept by a cache (`Cache-Control: no-store`)."""

import pytest
from django.test import Client as HttpClient
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from referwell.audit.labels import action_label
from referwell.audit.models import AuditEntry
from referwell.clients.services import consent_create
from referwell.outreach.models import OutgoingMessage
from referwell.referrals.services import referral_send, referral_transition
from referwell.referrals.states import Status
from tests.factories import ClientFactory, ReferralFactory

pytestmark = pytest.mark.django_db

FHIR = "/fhir/R4"


def _entries(practice, action):
    return list(AuditEntry.objects.filter(practice=practice, action=action))


def _only_entry(practice, action, actor):
    entries = _entries(practice, action)
    assert len(entries) == 1, f"{action}: {len(entries)} entries"
    entry = entries[0]
    assert entry.actor == actor
    assert action_label(action) != action  # the audit page names it in words
    return entry


@pytest.fixture
def clients(elm_grove, client_alice_jones):
    return [client_alice_jones, *ClientFactory.create_batch(2, practice=elm_grove)]


@pytest.fixture
def referrals(elm_grove, clients, partner):
    return [ReferralFactory(practice=elm_grove, client=c, partner=partner) for c in clients]


# --- item 6: bulk reads are audited, one entry per request --------------------------------------


def test_the_api_client_list_leaves_one_entry_naming_the_clients(alice_api, alice, clients):
    body = alice_api.get("/api/v1/clients?limit=2").json()
    returned = [row["id"] for row in body["items"]]
    assert len(returned) == 2
    entry = _only_entry(alice.practice, "referwell.client.listed", alice.user)
    assert entry.data == {"ids": returned, "count": 2}
    assert entry.ip_address == "127.0.0.1"


def test_the_api_referral_list_leaves_one_entry_naming_the_referrals(alice_api, alice, referrals):
    body = alice_api.get("/api/v1/referrals").json()
    returned = [row["id"] for row in body["items"]]
    assert sorted(returned) == sorted(r.pk for r in referrals)
    entry = _only_entry(alice.practice, "referwell.referral.listed", alice.user)
    assert entry.data == {"ids": returned, "count": 3}


def test_an_empty_page_is_recorded_too(alice_api, alice, clients):
    alice_api.get("/api/v1/clients?offset=50")
    entry = _only_entry(alice.practice, "referwell.client.listed", alice.user)
    assert entry.data == {"ids": [], "count": 0}


def test_the_client_edit_page_leaves_one_entry(alice_http, alice, client_alice_jones):
    response = alice_http.get(reverse("client_edit", args=[client_alice_jones.pk]))
    assert response.status_code == 200 and b"rear-ended" in response.content
    entry = _only_entry(alice.practice, "referwell.client.opened_for_editing", alice.user)
    assert entry.data == {"ids": [client_alice_jones.pk], "count": 1}
    assert (entry.object_type, entry.object_id) == ("client", str(client_alice_jones.pk))


def test_a_fhir_search_leaves_one_entry_naming_what_it_returned(alice_api, alice, referrals):
    bundle = alice_api.get(f"{FHIR}/ServiceRequest?_count=2").json()
    returned = [e["resource"]["id"] for e in bundle["entry"]]
    assert len(returned) == 2
    entry = _only_entry(alice.practice, "referwell.fhir.searched", alice.user)
    assert entry.data == {"type": "ServiceRequest", "ids": returned, "count": 2}


@pytest.mark.parametrize("resource_type", ["ServiceRequest", "Task"])
def test_a_fhir_read_leaves_one_entry(alice_api, alice, referral, resource_type):
    response = alice_api.get(f"{FHIR}/{resource_type}/{referral.pk}")
    assert response.status_code == 200
    entry = _only_entry(alice.practice, "referwell.fhir.read", alice.user)
    assert entry.data == {"type": resource_type, "ids": [str(referral.pk)], "count": 1}
    assert (entry.object_type, entry.object_id) == ("referral", str(referral.pk))


def test_a_read_that_finds_nothing_of_the_practice_is_not_recorded(charlie_api, charlie, referral):
    assert charlie_api.get(f"{FHIR}/ServiceRequest/{referral.pk}").status_code == 404
    assert not AuditEntry.objects.filter(action__startswith="referwell.fhir.").exists()


# --- item 11: tokens wait for two-factor where the practice requires it -----------------------


@pytest.fixture
def requires_two_factor(elm_grove):
    elm_grove.require_two_factor = True
    elm_grove.save()
    return elm_grove


@pytest.mark.parametrize("url", ["/api/v1/clients", "/api/v1/referrals", "/api/v1/partners"])
def test_the_api_refuses_a_token_until_two_factor_is_set_up(
    alice_api, alice, requires_two_factor, client_alice_jones, url
):
    response = alice_api.get(url)
    assert response.status_code == 403
    assert "requires two-factor" in response.json()["detail"]
    assert "Jones" not in response.content.decode()
    TOTPDevice.objects.create(user=alice.user, name="phone", confirmed=True)
    assert alice_api.get(url).status_code == 200


def test_the_api_refuses_writes_too(alice_api, requires_two_factor):
    response = alice_api.post(
        "/api/v1/clients", {"first_name": "Eve", "last_name": "X"}, content_type="application/json"
    )
    assert response.status_code == 403
    assert not AuditEntry.objects.filter(action="referwell.client.created").exists()


@pytest.mark.parametrize("path", ["ServiceRequest", "ServiceRequest/{id}", "Practitioner"])
def test_fhir_refuses_a_token_until_two_factor_is_set_up(
    alice_api, alice, requires_two_factor, referral, path
):
    url = f"{FHIR}/{path.format(id=referral.pk)}"
    response = alice_api.get(url)
    assert response.status_code == 403
    body = response.json()
    assert body["resourceType"] == "OperationOutcome"
    assert "requires two-factor" in body["issue"][0]["diagnostics"]
    TOTPDevice.objects.create(user=alice.user, name="phone", confirmed=True)
    assert alice_api.get(url).status_code == 200


def test_a_practice_without_the_requirement_keeps_tokens_working(alice_api, elm_grove):
    assert not elm_grove.require_two_factor
    assert alice_api.get("/api/v1/clients").status_code == 200
    assert alice_api.get(f"{FHIR}/Practitioner").status_code == 200


def test_the_openapi_schema_documents_the_403(alice_api):
    schema = alice_api.get("/api/v1/openapi.json").json()
    assert "403" in schema["paths"]["/api/v1/clients"]["get"]["responses"]


# --- item 13: no-store on everything with health information ----------------------------------


@pytest.fixture
def sent(elm_grove, alice, client_alice_jones, partner):
    """A referral sent by e-mail: its letter in the outbox, its partner link."""
    partner.email = "dana@spine.example"
    partner.save()
    referral = ReferralFactory(
        practice=elm_grove, client=client_alice_jones, partner=partner, status=Status.DRAFT
    )
    consent_create(
        client=client_alice_jones, by=None, fields={"partner": partner, "scope": "report"}
    )
    referral_transition(referral=referral, to=Status.CONSENTED, by=alice.user)
    result = referral_send(referral=referral, by=alice.user, base_url="http://testserver/")
    return referral, result["url"].replace("http://testserver", "")


def _no_store(response):
    assert response.status_code == 200, response.status_code
    assert "no-store" in response.get("Cache-Control", ""), response.get("Cache-Control")


def test_pages_of_a_member_are_not_stored(alice_http, client_alice_jones, partner):
    _no_store(alice_http.get(reverse("client_detail", args=[client_alice_jones.pk])))
    _no_store(alice_http.get(reverse("client_edit", args=[client_alice_jones.pk])))
    _no_store(alice_http.get(reverse("client_list")))
    _no_store(alice_http.get(reverse("partner_vcard", args=[partner.pk])))


def test_the_api_and_fhir_answers_are_not_stored(alice_api, referral):
    _no_store(alice_api.get("/api/v1/clients"))
    _no_store(alice_api.get(f"/api/v1/referrals/{referral.pk}"))
    _no_store(alice_api.get(f"{FHIR}/ServiceRequest/{referral.pk}"))
    _no_store(alice_api.get(f"{FHIR}/ServiceRequest"))


def test_downloads_are_not_stored(alice_http, sent):
    pdf = alice_http.get(reverse("outbox_pdf", args=[OutgoingMessage.objects.get().pk]))
    assert pdf["Content-Type"] == "application/pdf"
    _no_store(pdf)
    _no_store(alice_http.get(reverse("insights_csv", args=["partners"])))


def test_the_partner_link_page_is_not_stored(sent):
    _, path = sent
    _no_store(HttpClient().get(path))  # (never_cache already; kept so)


def test_static_files_keep_their_own_caching(alice_http):
    response = alice_http.get("/static/referwell/app.css")
    assert response.status_code == 200
    assert "no-store" not in response.get("Cache-Control", "")
