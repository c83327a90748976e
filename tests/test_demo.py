"""The demo practice: what it contains, that it is idempotent and deterministic."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth import authenticate
from django.db import transaction
from django.test import RequestFactory

from referwell.accounts.models import Member, Practice, User
from referwell.clients.models import Client, Consent, Visit
from referwell.directory.models import Partner, Profession, Stage, Touchpoint
from referwell.referrals.models import Referral, ReferralEvent
from referwell.site.demo import DEMO_SLUG, demo_load

TODAY = dt.date(2026, 3, 16)


@pytest.fixture
def demo() -> dict:
    return demo_load(today=TODAY)


@pytest.fixture
def practice(demo: dict) -> Practice:
    return Practice.objects.get(slug=DEMO_SLUG)


def _counts() -> dict[str, int]:
    models = (Practice, User, Member, Partner, Touchpoint, Client, Visit, Consent, Referral)
    return {m.__name__: m.objects.count() for m in (*models, ReferralEvent)}


class _Rollback(Exception):
    pass


def _fingerprint_of_fresh_load(today: dt.date) -> list[tuple]:
    """Load the demo inside a savepoint, describe it, then roll it back."""
    rows: list[tuple] = []
    try:
        with transaction.atomic():
            demo_load(today=today)
            rows += Partner.objects.order_by("id").values_list(
                "name", "phone", "stage", "website_reviewed", "would_send_mother"
            )
            rows += Visit.objects.order_by("id").values_list("client__last_name", "date", "fee")
            rows += Referral.objects.order_by("id").values_list("direction", "status")
            raise _Rollback
    except _Rollback:
        pass
    return rows


@pytest.mark.django_db
def test_demo_creates_the_practice_with_two_members(demo: dict, practice: Practice) -> None:
    assert demo["created"] is True
    assert demo["practice"] == "elm-grove"
    assert practice.name == "Elm Grove Massage"
    assert practice.zip_code == "53122"
    roles = sorted(practice.members.values_list("user__email", "role"))
    assert roles == [
        ("frontdesk@elmgrove.example", "front_desk"),
        ("maya@elmgrove.example", "owner"),
    ]
    assert sorted((x["email"], x["role"]) for x in demo["logins"]) == roles


@pytest.mark.django_db
def test_demo_logins_authenticate(demo: dict) -> None:
    assert len(demo["logins"]) == 2
    for login in demo["logins"]:
        assert len(login["password"]) >= 10
        # django-axes (first backend) needs the request it counts failures for.
        request = RequestFactory().post("/accounts/login/")
        user = authenticate(request, email=login["email"], password=login["password"])
        assert user is not None
        assert user.email == login["email"]


@pytest.mark.django_db
def test_demo_network(practice: Practice) -> None:
    partners = Partner.objects.filter(practice=practice)
    assert partners.count() >= 38
    assert Profession.objects.filter(partners__practice=practice).distinct().count() >= 15
    assert not partners.filter(professions__slug="emergency-care").exists()
    assert set(partners.values_list("stage", flat=True)) == set(Stage.values)
    for partner in partners.filter(stage=Stage.NOT_A_FIT):
        assert partner.not_a_fit_reason
    assert all(p.latitude is not None for p in partners)
    trusted = partners.filter(stage=Stage.TRUSTED)
    assert sum(p.vetting_done for p in trusted) >= 3 * trusted.count()
    assert all("555-01" in p.phone and p.email.endswith(".example") for p in partners)
    assert partners.filter(niches__name="Car-accident recovery").exists()
    assert partners.filter(niches__name="Fertility support").exists()
    touchpoints = Touchpoint.objects.filter(practice=practice)
    assert touchpoints.count() >= 60
    assert not touchpoints.filter(partner__stage=Stage.PROSPECT).exists()
    assert not touchpoints.filter(date__gte=TODAY).exists()


@pytest.mark.django_db
def test_demo_clients_and_alice(practice: Practice) -> None:
    clients = Client.objects.filter(practice=practice)
    assert clients.count() >= 28
    assert clients.exclude(stream="").count() == clients.count()
    alice = clients.get(first_name="Alice", last_name="Jones")
    intake = " ".join([alice.complaints, alice.goals, alice.history, alice.notes]).lower()
    for words in (
        "car accident",
        "rear-ended",
        "neck",
        "low back",
        "limp",
        "marriage",
        "lose weight",
        "doctors",
    ):
        assert words in intake
    alice_visits = list(alice.visits.values_list("date", flat=True))
    assert alice_visits and all(TODAY - dt.timedelta(days=7) <= d < TODAY for d in alice_visits)
    assert alice.first_seen == min(alice_visits)
    referred = clients.exclude(source_partner=None)
    assert referred.exists()
    assert all(c.source_partner.practice_id == practice.id for c in referred)


@pytest.mark.django_db
def test_demo_visits_span_a_year(practice: Practice) -> None:
    dates = list(Visit.objects.filter(practice=practice).values_list("date", flat=True))
    assert len(dates) >= 150
    assert max(dates) < TODAY
    assert (max(dates) - min(dates)).days >= 330
    assert Visit.objects.filter(practice=practice, service__icontains="prenatal").exists()


@pytest.mark.django_db
def test_demo_referrals(practice: Practice) -> None:
    referrals = Referral.objects.filter(practice=practice)
    assert set(referrals.values_list("direction", flat=True)) == {"in", "out"}
    assert referrals.filter(direction="out").count() >= 20
    assert referrals.filter(direction="in").count() >= 15
    assert {"draft", "sent", "closed"} <= set(referrals.values_list("status", flat=True))
    for referral in referrals.filter(direction="in"):
        assert referral.client.source_partner_id == referral.partner_id
    for referral in referrals.filter(direction="out").exclude(sent_at=None):
        consents = Consent.objects.filter(client=referral.client, partner=referral.partner)
        assert consents.filter(given_on__lte=referral.sent_at.date()).exists()
    for referral in referrals.select_related(None).prefetch_related("events"):
        times = [e.at for e in referral.events.all()]
        assert times == sorted(times)
        assert referral.created_at <= times[-1]


@pytest.mark.django_db
def test_demo_is_idempotent(demo: dict) -> None:
    before = _counts()
    again = demo_load(today=TODAY)
    assert again["created"] is False
    assert again["logins"] == demo["logins"]
    assert _counts() == before


@pytest.mark.django_db
def test_demo_is_deterministic() -> None:
    first = _fingerprint_of_fresh_load(TODAY)
    assert not Practice.objects.filter(slug=DEMO_SLUG).exists()
    second = _fingerprint_of_fresh_load(TODAY)
    assert first
    assert first == second


def test_the_demos_timelines_are_in_order(db):
    from django.core.management import call_command

    from referwell.referrals.models import Referral

    call_command("demo", verbosity=0)
    for referral in Referral.objects.prefetch_related("events"):
        times = [e.at for e in sorted(referral.events.all(), key=lambda e: e.id)]
        assert times == sorted(times), referral.pk
        assert not times or times[0] >= referral.created_at - dt.timedelta(seconds=1)


def _upkeep(practice: Practice, on: dt.date) -> dict[str, list[tuple[str, int]]]:
    """Today's groups for the demo on `on`: (kind, days from `on`) of each item."""
    from referwell.outreach.cadence import today_groups

    groups = today_groups(practice=practice, on=on)
    return {
        name: [(i.kind, (i.due - on).days) for i in getattr(groups, name)]
        for name in ("catch_up", "older", "this_week", "due_today", "coming")
    }


def _assert_well_kept(practice: Practice, on: dt.date) -> None:
    upkeep = _upkeep(practice, on)
    # Nothing months (or weeks) late: no catch-up, nothing older than a week.
    assert upkeep["catch_up"] == [] and upkeep["older"] == [], upkeep
    # A few things late by days…
    late = upkeep["this_week"]
    assert 2 <= len(late) <= 4 and all(-4 <= days < 0 for _, days in late), late
    # …and a handful due today and in the coming days, of several kinds.
    soon = upkeep["due_today"] + upkeep["coming"]
    assert 5 <= len(soon) <= 8, soon
    assert len({kind for kind, _ in late + soon}) >= 4, late + soon


@pytest.mark.django_db
def test_the_demo_is_a_practice_that_keeps_up(practice: Practice) -> None:
    """Today on the day the demo is made: a few things late by days, a handful this week — not
    a year of neglect."""
    _assert_well_kept(practice, TODAY)
    # The rest of what the demo shows is still there: the partners' answers through their link,
    # the referrals through the public pages, a referral in owing its thank-you.
    from referwell.inbound.models import ReferralRequest
    from referwell.referrals.models import Via

    assert ReferralEvent.objects.filter(practice=practice, via=Via.PARTNER_LINK).count() >= 4
    assert ReferralRequest.objects.filter(practice=practice).count() == 2
    assert ("thank_you", -3) in _upkeep(practice, TODAY)["this_week"]
    statuses = set(Referral.objects.filter(practice=practice).values_list("status", flat=True))
    assert statuses >= {
        "draft", "discussed", "consented", "sent", "received", "accepted", "declined", "seen",
        "reported", "closed", "cancelled",
    }  # fmt: skip
    # Every open referral in was thanked (but the latest's), on a day after it came in.
    open_in = Referral.objects.filter(practice=practice, direction="in", status__final=False)
    thanked = open_in.exclude(thanked_at=None)
    assert thanked.count() == open_in.count() - 1
    assert all(r.thanked_at > r.received_at for r in thanked)
    assert not Touchpoint.objects.filter(practice=practice, date__gte=TODAY).exists()


@pytest.mark.django_db
def test_the_demo_keeps_up_in_the_year_end_gift_season_too() -> None:
    december = dt.date(2026, 12, 10)
    demo_load(today=december)
    _assert_well_kept(Practice.objects.get(slug=DEMO_SLUG), december)
