"""Guidance where a therapist sees it: the client page, the draft it prefills, the API."""

import datetime as dt
import json

import pytest
from django.urls import reverse

from referwell.audit.models import AuditEntry
from referwell.directory.models import Stage
from referwell.guidance.selectors import partner_facts
from referwell.referrals.models import Direction
from referwell.referrals.states import Status
from tests.factories import ClientFactory, PartnerFactory, ReferralFactory, VisitFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice_jones(elm_grove):
    client = ClientFactory(
        practice=elm_grove,
        first_name="Alice",
        last_name="Jones",
        zip_code="53122",
        complaints="Neck and low back pain since she was rear-ended three weeks ago.",
        notes="Limps on the right. Marriage is in trouble.",
    )
    VisitFactory(client=client)
    VisitFactory(client=client)
    return client


@pytest.fixture
def chiros(elm_grove):
    near = PartnerFactory(practice=elm_grove, name="Dr. Near Trusted", stage=Stage.TRUSTED)
    far = PartnerFactory(practice=elm_grove, name="Dr. Far Prospect", stage=Stage.PROSPECT)
    far.zip_code, far.latitude, far.longitude = "53703", 43.07, -89.38
    far.save()
    PartnerFactory(practice=elm_grove, name="Dr. Not A Fit", stage=Stage.NOT_A_FIT)
    return near, far


def test_client_page_shows_suggestions_with_ranked_partners(alice_http, alice_jones, chiros):
    page = alice_http.get(reverse("client_detail", args=[alice_jones.pk])).content.decode()
    assert "Suggested referrals" in page
    page = page[page.index("Suggested referrals") : page.index('<h2 id="referrals">Referrals</h2>')]
    assert "Chiropractor" in page and "rear-ended" in page
    assert "Physical therapist" in page and "Psychotherapist" in page
    assert "Sensitive" in page
    assert page.index("Dr. Near Trusted") < page.index("Dr. Far Prospect")
    assert "Dr. Not A Fit" not in page
    assert "Draft referral" in page


def test_the_draft_link_prefills_the_referral_form(alice_http, alice_jones, chiros):
    near, _ = chiros
    url = reverse("referral_create") + (
        f"?client={alice_jones.pk}&partner={near.pk}&profession=chiropractor"
        "&reasons=rear-ended+three+weeks+ago"
    )
    page = alice_http.get(url).content.decode()
    assert "rear-ended three weeks ago</textarea>" in page
    assert f'<option value="{near.pk}" selected>' in page
    assert '<option value="chiropractor" selected>' in page


def test_front_desk_sees_no_guidance(bob_http, alice_jones):
    page = bob_http.get(reverse("client_detail", args=[alice_jones.pk])).content.decode()
    assert "Suggested referrals" not in page


def test_client_page_queries_do_not_grow_with_the_network(
    alice_http, elm_grove, alice_jones, django_assert_max_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    PartnerFactory(practice=elm_grove)
    url = reverse("client_detail", args=[alice_jones.pk])
    with CaptureQueriesContext(connection) as small:
        alice_http.get(url)
    for _ in range(25):
        p = PartnerFactory(practice=elm_grove, professions=["chiropractor", "physical-therapist"])
        ReferralFactory(practice=elm_grove, partner=p, status=Status.SENT)
    with django_assert_max_num_queries(len(small.captured_queries)):
        alice_http.get(url)


def test_partner_facts_count_answers_and_reciprocity(elm_grove, partner):
    for status in (Status.SENT, Status.ACCEPTED, Status.CLOSED, Status.DRAFT):
        ReferralFactory(practice=elm_grove, partner=partner, status=status)
    ReferralFactory(
        practice=elm_grove, partner=partner, direction=Direction.IN, status=Status.CLOSED
    )
    (f,) = partner_facts(practice=elm_grove, professions=["chiropractor"])
    assert (f.referrals_sent, f.referrals_answered, f.referrals_received) == (3, 2, 1)


def test_partner_facts_are_kept_and_counted_again_when_the_network_changes(
    elm_grove, partner, django_assert_num_queries
):
    ReferralFactory(practice=elm_grove, partner=partner, status=Status.SENT)
    (first,) = partner_facts(practice=elm_grove, professions=["chiropractor"])
    with django_assert_num_queries(1):  # only the data version: the facts are kept
        assert partner_facts(practice=elm_grove, professions=["chiropractor"]) == [first]
    answered = ReferralFactory(practice=elm_grove, partner=partner, status=Status.ACCEPTED)
    (again,) = partner_facts(practice=elm_grove, professions=["chiropractor"])
    assert (again.referrals_sent, again.referrals_answered) == (2, 1)  # a referral: recounted
    answered.status = Status.CANCELLED
    answered.save()
    (later,) = partner_facts(practice=elm_grove, professions=["chiropractor"])
    assert (later.referrals_sent, later.referrals_answered) == (1, 0)  # a status: at once
    newcomer = PartnerFactory(practice=elm_grove, name="New Chiro", professions=["chiropractor"])
    facts = partner_facts(practice=elm_grove, professions=["chiropractor"])
    assert newcomer.pk in {f.id for f in facts}  # a partner added: at once


def test_the_ranking_is_kept_per_context_and_made_again_when_the_network_changes(
    elm_grove, alice_jones, chiros, monkeypatch
):
    """The same professions for the same place and plan rank once while the data holds; a
    client elsewhere is ranked for herself; a new partner is ranked at once."""
    from referwell.guidance import selectors

    calls = []
    real_rank = selectors.rank_each
    monkeypatch.setattr(
        selectors, "rank_each", lambda *a, **k: calls.append(a[1]) or real_rank(*a, **k)
    )

    def ranked(client):
        guidance = selectors.guidance_for_client(
            practice=elm_grove, client=client, visit_days=[], today=dt.date(2026, 3, 1)
        )
        return {
            p.name: next(c.why for c in p.components if c.name == "distance")
            for p in guidance.partners["chiropractor"]
        }

    first = ranked(alice_jones)
    assert list(first) == ["Dr. Near Trusted", "Dr. Far Prospect"]
    made = len(calls)
    assert made >= 1
    assert ranked(alice_jones) == first
    assert len(calls) == made  # kept
    madison = ClientFactory(
        practice=elm_grove, zip_code="53703", complaints=alice_jones.complaints, notes=""
    )
    theirs = ranked(madison)  # ranked for her: the distances from Madison
    assert len(calls) > made
    assert theirs["Dr. Far Prospect"] != first["Dr. Far Prospect"]
    assert theirs["Dr. Far Prospect"].startswith("0.")  # the partner is in her ZIP code
    made = len(calls)
    PartnerFactory(practice=elm_grove, name="Dr. Newcomer", stage=Stage.TRUSTED)
    assert "Dr. Newcomer" in ranked(alice_jones)  # a partner added: ranked at once
    assert len(calls) > made


def post(http, body):
    return http.post(
        "/api/v1/guidance/suggest", data=json.dumps(body), content_type="application/json"
    )


def test_api_suggest_from_notes(alice_api, chiros):
    response = post(alice_api, {"notes": "MVA two weeks ago, neck pain.", "zip_code": "53122"})
    assert response.status_code == 200, response.content
    body = response.json()
    s, beside = body["suggestions"]
    assert s["profession"] == "chiropractor" and s["urgency"] == "routine"
    assert beside["profession"] == "physical-therapist" and beside["urgency"] == "routine"
    assert [p["name"] for p in s["partners"]] == ["Dr. Near Trusted", "Dr. Far Prospect"]
    assert {c["name"] for c in s["partners"][0]["components"]} >= {"trust", "distance"}
    assert body["findings"][0]["finding"] == "car-accident"


def test_api_suggest_for_a_client_is_audited(alice_api, alice_jones):
    response = post(alice_api, {"client": alice_jones.pk})
    assert response.status_code == 200
    slugs = [s["profession"] for s in response.json()["suggestions"]]
    assert {"chiropractor", "physical-therapist", "psychotherapist"} <= set(slugs)
    assert AuditEntry.objects.filter(
        action="referwell.guidance.suggested", object_id=str(alice_jones.pk)
    ).exists()


def test_api_suggest_for_another_practices_client_is_404(charlie_api, alice_jones):
    assert post(charlie_api, {"client": alice_jones.pk}).status_code == 404


def test_api_suggest_is_not_for_the_front_desk(bob, alice_jones):
    from django.test import Client as HttpClient

    from referwell.accounts.models import ApiToken

    _, token = ApiToken.issue(member=bob)
    http = HttpClient(headers={"Authorization": f"Bearer {token}"})
    response = post(http, {"notes": "neck pain"})
    assert response.status_code == 403
    assert "front desk" in response.json()["detail"]


@pytest.mark.parametrize(
    "body", [{"visit_number": 0}, {"notes": "x" * 20_001}, {"client": "abc"}, {"notes": 5}]
)
def test_api_suggest_bad_input_is_422(alice_api, body):
    response = post(alice_api, body)
    assert response.status_code == 422


def test_api_suggest_anonymous_is_401(alice):
    from django.test import Client as HttpClient

    assert post(HttpClient(), {"notes": "x"}).status_code == 401


def test_the_needs_assessment_is_said_in_the_form_and_holds_referral_talk_back(
    alice_http, bob_http, client_alice_jones
):
    from django.utils import timezone

    from tests.factories import VisitFactory

    # Seen once before: today is the second session, and the needs assessment.
    VisitFactory(client=client_alice_jones, date=timezone.localdate() - dt.timedelta(days=7))
    url = reverse("client_edit", args=[client_alice_jones.pk])
    assert 'name="assessment_today"' in alice_http.get(url).content.decode()
    assert 'name="assessment_today"' not in bob_http.get(url).content.decode()
    before = alice_http.get(reverse("client_detail", args=[client_alice_jones.pk])).content
    assert b"the needs assessment</strong>" not in before
    alice_http.post(
        url,
        {
            "first_name": client_alice_jones.first_name,
            "last_name": client_alice_jones.last_name,
            "complaints": client_alice_jones.complaints,
            "stream": client_alice_jones.stream,
            "assessment_today": "on",
        },
    )
    client_alice_jones.refresh_from_db()
    assert client_alice_jones.needs_assessment_on == timezone.localdate()
    page = alice_http.get(reverse("client_detail", args=[client_alice_jones.pk])).content.decode()
    assert "the needs assessment</strong>" in page
    assert "Not on the needs-assessment day" in page
