"""The outreach pipeline board, contact plans and niche coverage."""

import pytest
from django.urls import reverse

from referwell.directory.models import Niche, Partner, Touchpoint
from referwell.outreach.models import ContactPlan
from referwell.outreach.pipeline import board, niche_coverage, professions_for_niche
from tests.factories import PartnerFactory

pytestmark = pytest.mark.django_db


def test_scores_are_shown_with_their_parts(elm_grove):
    elm_grove.zip_code = "53122"
    elm_grove.save()
    runners = Niche.objects.create(practice=elm_grove, name="Endurance runners")
    near = PartnerFactory(
        practice=elm_grove, name="Near PT", stage="prospect", professions=["physical-therapist"]
    )
    near.niches.add(runners)
    far = PartnerFactory(
        practice=elm_grove, name="Far trainer", stage="prospect", professions=["personal-trainer"]
    )
    far.zip_code, far.latitude, far.longitude = "10001", 40.75, -73.99
    far.save()
    cards = board(practice=elm_grove)["prospect"]
    assert [c.partner.name for c in cards] == ["Near PT", "Far trainer"]
    parts = {p.name: p for p in cards[0].parts}
    assert set(parts) == {
        "likely to refer",
        "niche fit",
        "distance",
        "values fit",
        "mutual contacts",
    }
    assert parts["niche fit"].why == "serves your Endurance runners"
    assert parts["distance"].why == "0.0 miles away"
    assert cards[0].score == round(sum(p.score * p.weight for p in cards[0].parts) * 100)


def test_niches_know_the_professions_they_need():
    assert {
        "podiatrist",
        "physical-therapist",
        "sports-medicine-physician",
    } <= professions_for_niche("Endurance runners")
    assert "occupational-therapist" in professions_for_niche("Office workers")


def test_niche_coverage_shows_gaps(alice_http, elm_grove):
    runners = Niche.objects.create(practice=elm_grove, name="Endurance runners")
    pt = PartnerFactory(practice=elm_grove, stage="trusted", professions=["physical-therapist"])
    pt.niches.add(runners)
    PartnerFactory(practice=elm_grove, stage="trusted", professions=["sports-medicine-physician"])
    (c,) = niche_coverage(practice=elm_grove)
    assert [name for name, _ in c.covered] == ["Physical therapist"]
    assert [name for name, _ in c.partly] == ["Sports medicine physician"]
    assert c.gaps == ["Podiatrist"]
    page = alice_http.get(reverse("niches")).content.decode()
    assert "your endurance runners niche has no trusted podiatrist" in page


def test_add_a_niche_and_refuse_an_empty_one(alice_http, elm_grove):
    alice_http.post(reverse("niches"), {"name": "Fertility support"})
    assert Niche.objects.filter(practice=elm_grove, name="Fertility support").exists()
    response = alice_http.post(reverse("niches"), {"name": " "}, follow=True)
    assert b"Give the niche a name" in response.content


def test_move_through_the_board_with_htmx(alice_http, elm_grove):
    p = PartnerFactory(practice=elm_grove, name="Dr. Prospect", stage="prospect")
    response = alice_http.post(
        reverse("pipeline_move", args=[p.pk]), {"to": "researched"}, headers={"HX-Request": "true"}
    )
    assert (
        response.status_code == 200
        and b'id="board"' in response.content
        and b"<html" not in response.content
    )
    p.refresh_from_db()
    assert p.stage == "researched"
    refused = alice_http.post(
        reverse("pipeline_move", args=[p.pk]), {"to": "not_a_fit"}, headers={"HX-Request": "true"}
    )
    assert refused.status_code == 400 and b"not a fit" in refused.content
    alice_http.post(
        reverse("pipeline_move", args=[p.pk]), {"to": "not_a_fit", "reason": "Pushes supplements"}
    )
    p.refresh_from_db()
    assert p.stage == "not_a_fit" and p.not_a_fit_reason == "Pushes supplements"


def test_plan_a_contact_and_log_its_outcome(alice_http, elm_grove):
    p = PartnerFactory(practice=elm_grove, stage="contacted")
    alice_http.post(
        reverse("plan_add", args=[p.pk]), {"method": "meeting_request", "planned_on": "2026-12-01"}
    )
    plan = ContactPlan.objects.get(partner=p)
    assert plan.get_method_display() == "10-minute meeting request"
    bad = alice_http.post(
        reverse("plan_add", args=[p.pk]),
        {"method": "carrier-pigeon", "planned_on": "soon"},
        follow=True,
    )
    assert b"Choose how" in bad.content and ContactPlan.objects.count() == 1
    alice_http.post(
        reverse("plan_done", args=[plan.pk]), {"outcome": "Met for coffee, will refer runners"}
    )
    plan.refresh_from_db()
    assert plan.done_on is not None
    assert Touchpoint.objects.get(partner=p).note.endswith("will refer runners")


def test_board_queries_do_not_grow(alice_http, elm_grove, django_assert_max_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    PartnerFactory(practice=elm_grove, stage="prospect")
    with CaptureQueriesContext(connection) as small:
        alice_http.get(reverse("pipeline"))
    for i in range(20):
        p = PartnerFactory(
            practice=elm_grove,
            stage=["prospect", "met", "trusted"][i % 3],
            professions=["chiropractor", "podiatrist"],
        )
        ContactPlan.objects.create(
            practice=elm_grove, partner=p, method="call", planned_on="2026-12-01"
        )
    with django_assert_max_num_queries(len(small.captured_queries)):
        assert alice_http.get(reverse("pipeline")).status_code == 200


def test_charlie_cannot_touch_alices_plans_or_niches(charlie_http, elm_grove, partner):
    plan = ContactPlan.objects.create(
        practice=elm_grove, partner=partner, method="call", planned_on="2026-12-01"
    )
    niche = Niche.objects.create(practice=elm_grove, name="Runners")
    assert charlie_http.post(reverse("plan_done", args=[plan.pk])).status_code == 404
    assert charlie_http.post(reverse("niche_delete", args=[niche.pk])).status_code == 404
    assert (
        charlie_http.post(reverse("pipeline_move", args=[partner.pk]), {"to": "met"}).status_code
        == 404
    )
    assert Partner.objects.get(pk=partner.pk).stage == "trusted"
