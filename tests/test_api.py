import json

import pytest
from django.test import Client as HttpClient

from referwell.audit.models import AuditEntry
from referwell.referrals.models import Referral

pytestmark = pytest.mark.django_db


def post(http, path, body):
    return http.post(path, data=json.dumps(body), content_type="application/json")


def patch(http, path, body):
    return http.patch(path, data=json.dumps(body), content_type="application/json")


def test_openapi_document_is_public_json():
    response = HttpClient().get("/api/v1/openapi.json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    assert "/api/v1/partners" in paths
    assert "/api/v1/referrals/{referral_id}/transitions" in paths


@pytest.mark.parametrize("path", ["/api/v1/partners", "/api/v1/clients", "/api/v1/referrals"])
def test_without_a_token_the_api_answers_401(path, alice):
    assert HttpClient().get(path).status_code == 401
    bad = HttpClient(headers={"Authorization": "Bearer rw_not-a-token"})
    assert bad.get(path).status_code == 401


def test_a_revoked_token_no_longer_works(alice):
    from referwell.accounts.models import ApiToken

    row, token = ApiToken.issue(member=alice)
    http = HttpClient(headers={"Authorization": f"Bearer {token}"})
    assert http.get("/api/v1/partners").status_code == 200
    row.revoke()
    assert http.get("/api/v1/partners").status_code == 401


def test_partner_create_read_update_list(alice_api, alice):
    response = post(
        alice_api,
        "/api/v1/partners",
        {
            "name": "Riverside Physical Therapy",
            "professions": ["physical-therapist"],
            "zip_code": "53186",
            "stage": "contacted",
            "niches": ["Endurance runners"],
        },
    )
    assert response.status_code == 201, response.content
    created = response.json()
    assert created["professions"] == ["physical-therapist"]
    assert created["niches"] == ["Endurance runners"]
    assert created["latitude"] == pytest.approx(43.01, abs=0.1)  # geocoded from the ZIP code
    pid = created["id"]
    assert alice_api.get(f"/api/v1/partners/{pid}").json()["name"] == "Riverside Physical Therapy"
    updated = patch(
        alice_api, f"/api/v1/partners/{pid}", {"stage": "trusted", "phone": "262-555-0100"}
    )
    assert updated.status_code == 200
    assert updated.json()["stage"] == "trusted"
    assert updated.json()["name"] == "Riverside Physical Therapy"  # untouched fields stay
    listed = alice_api.get("/api/v1/partners?stage=trusted").json()
    assert [p["id"] for p in listed["items"]] == [pid]
    assert AuditEntry.objects.filter(
        action="referwell.partner.changed", object_id=str(pid)
    ).exists()


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"name": ""}, "name"),
        ({"name": "X", "zip_code": "00000"}, "ZIP"),
        ({"name": "X", "npi": "1234567890"}, "check digit"),
        ({"name": "X", "professions": ["wizard"]}, "Unknown profession"),
        ({"name": "X", "stage": "best-friend"}, "stage"),
        ({"name": "X", "email": "not-an-email"}, "email"),
    ],
)
def test_bad_partner_input_is_a_400_or_422_with_a_reason(alice_api, body, reason):
    response = post(alice_api, "/api/v1/partners", body)
    assert response.status_code in (400, 422), response.content
    assert reason.lower() in response.content.decode().lower()


def test_a_valid_npi_is_accepted(alice_api):
    # 1234567893 is the worked example of the NPI check-digit algorithm.
    response = post(alice_api, "/api/v1/partners", {"name": "Dr. Valid", "npi": "1234567893"})
    assert response.status_code == 201, response.content


def test_client_create_and_update(alice_api, partner):
    response = post(
        alice_api,
        "/api/v1/clients",
        {
            "first_name": "Ben",
            "last_name": "Runner",
            "stream": "medical",
            "source_partner": partner.pk,
            "complaints": "Plantar heel pain after long runs",
        },
    )
    assert response.status_code == 201, response.content
    cid = response.json()["id"]
    assert response.json()["source_partner"] == partner.pk
    response = patch(alice_api, f"/api/v1/clients/{cid}", {"phone": "414-555-0199"})
    assert response.json()["phone"] == "414-555-0199"
    assert response.json()["complaints"] == "Plantar heel pain after long runs"


def test_referral_lifecycle_through_the_api(alice_api, client_alice_jones, partner):
    response = post(
        alice_api,
        "/api/v1/referrals",
        {"client": client_alice_jones.pk, "partner": partner.pk, "reasons": "Car accident"},
    )
    assert response.status_code == 201, response.content
    ref = response.json()
    assert ref["status"] == "draft"
    assert ref["profession"] == "chiropractor"  # taken from the partner
    rid = ref["id"]
    no_consent = post(alice_api, f"/api/v1/referrals/{rid}/transitions", {"to": "consented"})
    assert no_consent.status_code == 409
    assert "consent" in no_consent.json()["detail"]
    consent = post(
        alice_api,
        f"/api/v1/clients/{client_alice_jones.pk}/consents",
        # Marked sent, the referral went out in writing (a fax): written consent, not talk.
        {"partner": partner.pk, "scope": "report", "purpose": "referral"},
    )
    assert consent.status_code == 201, consent.content
    assert consent.json()["share_contact_details"] is False  # only when asked for
    for step in ("discussed", "consented", "sent", "received", "accepted", "seen", "reported"):
        moved = post(alice_api, f"/api/v1/referrals/{rid}/transitions", {"to": step, "note": step})
        assert moved.status_code == 200, (step, moved.content)
        assert moved.json()["status"] == step
    assert moved.json()["fhir_task_status"] == "in-progress"
    refused = post(alice_api, f"/api/v1/referrals/{rid}/transitions", {"to": "draft"})
    assert refused.status_code == 409
    assert "cannot move" in refused.json()["detail"]
    unknown = post(alice_api, f"/api/v1/referrals/{rid}/transitions", {"to": "teleported"})
    assert unknown.status_code == 409
    closed = post(alice_api, f"/api/v1/referrals/{rid}/transitions", {"to": "closed"})
    assert closed.json()["status"] == "closed"
    assert [e["to_status"] for e in closed.json()["events"]][0] == "draft"
    assert Referral.objects.get(pk=rid).closed_at is not None
    # Marking it sent by hand (a fax) is still a disclosure, under the consent.
    disclosures = alice_api.get(f"/api/v1/clients/{client_alice_jones.pk}/disclosures").json()
    assert len(disclosures) == 1 and disclosures[0]["consent"] == consent.json()["id"]


def test_referral_needs_a_partner_or_profession(alice_api, client_alice_jones):
    response = post(
        alice_api, "/api/v1/referrals", {"client": client_alice_jones.pk, "reasons": "x"}
    )
    assert response.status_code == 400
    assert "partner" in response.json()["detail"].lower()


def test_malformed_json_is_a_4xx_not_a_500(alice_api):
    response = alice_api.post("/api/v1/partners", data="{not json", content_type="application/json")
    assert 400 <= response.status_code < 500


def test_a_consent_through_the_api_may_share_the_clients_contact_details(
    alice_api, client_alice_jones, partner
):
    consent = post(
        alice_api,
        f"/api/v1/clients/{client_alice_jones.pk}/consents",
        {"partner": partner.pk, "scope": "report", "share_contact_details": True},
    )
    assert consent.status_code == 201, consent.content
    assert consent.json()["share_contact_details"] is True
    from referwell.clients.models import Consent

    assert Consent.objects.get(pk=consent.json()["id"]).share_contact_details
