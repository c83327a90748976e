"""`referwell generate`: exact sizes, believable shapes, consistent timestamps, determinism."""

from __future__ import annotations

import datetime as dt
import io
import json
from collections import Counter
from statistics import median

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Count, F, Max, Min

from referwell.accounts.models import Member, Practice, Role
from referwell.clients.models import Client, Visit
from referwell.directory.models import Partner, Touchpoint
from referwell.referrals.models import Referral, ReferralEvent
from referwell.referrals.states import Status
from referwell.site.generate import SIZES, generate

pytestmark = pytest.mark.django_db


def test_small_practice_has_the_exact_sizes_and_believable_shapes():
    result = generate(size="small", slug="bench-small", seed=7)
    size = SIZES["small"]
    assert (result["partners"], result["clients"], result["visits"], result["referrals"]) == (
        200,
        800,
        12_000,
        4_000,
    )
    practice = Practice.objects.get(slug="bench-small")
    assert Partner.objects.filter(practice=practice).count() == size.partners
    assert Client.objects.filter(practice=practice).count() == size.clients
    assert Visit.objects.filter(practice=practice).count() == size.visits
    referrals = Referral.objects.filter(practice=practice)
    assert referrals.count() == size.referrals
    assert ReferralEvent.objects.filter(practice=practice).count() == size.referrals
    assert Member.objects.get(practice=practice).role == Role.OWNER
    assert result["login"]["email"] == "owner@bench-small.example"

    # Both directions, about 40 % in; every status among the referrals out.
    directions = Counter(referrals.values_list("direction", flat=True))
    assert directions["in"] == 1600 and directions["out"] == 2400
    out_statuses = set(referrals.filter(direction="out").values_list("status", flat=True))
    assert out_statuses == set(Status.values)
    in_statuses = Counter(referrals.filter(direction="in").values_list("status", flat=True))
    assert in_statuses.most_common(1)[0][0] == Status.CLOSED

    # A few partners send most referrals in (Zipf): the top 5 % send at least 40 %.
    per_partner = Counter(referrals.filter(direction="in").values_list("partner_id", flat=True))
    top = sorted(per_partner.values(), reverse=True)[: size.partners // 20]
    assert sum(top) >= 0.4 * directions["in"]

    # Most clients come a few times, some regulars come 50 times or more.
    per_client = list(
        Client.objects.filter(practice=practice)
        .annotate(n=Count("visits"))
        .values_list("n", flat=True)
    )
    assert min(per_client) >= 1
    assert median(per_client) <= 10
    assert max(per_client) >= 50

    # Timestamps tell one consistent story.
    assert not referrals.filter(answered_at__lt=F("sent_at")).exists()
    assert not referrals.filter(received_at__lt=F("sent_at")).exists()
    assert not referrals.filter(closed_at__lt=F("created_at")).exists()
    assert not referrals.filter(status=Status.CLOSED, closed_at=None).exists()
    assert not referrals.filter(status=Status.CANCELLED, closed_at=None).exists()
    assert not referrals.filter(status=Status.DRAFT).exclude(sent_at=None).exists()
    answered = referrals.filter(direction="out", status__in=["accepted", "seen", "closed"])
    assert not answered.filter(answered_at=None).exists()
    assert not referrals.filter(direction="out", status="sent", sent_at=None).exists()
    thanked = referrals.filter(direction="in").exclude(thanked_at=None).count()
    assert thanked > 0.7 * directions["in"]
    # A partner is in the list before its first referral.
    assert not (
        Partner.objects.filter(practice=practice)
        .annotate(first=Min("referrals__created_at"))
        .filter(first__lt=F("created_at"))
        .exists()
    )

    # Spread over the last three years, not all stamped "now".
    for model in (Partner, Client, Referral):
        span = model.objects.filter(practice=practice).aggregate(
            a=Min("created_at"), b=Max("created_at")
        )
        assert span["b"] - span["a"] > dt.timedelta(days=365), model.__name__
    visit_span = Visit.objects.filter(practice=practice).aggregate(a=Min("date"), b=Max("date"))
    assert visit_span["b"] - visit_span["a"] > dt.timedelta(days=2 * 365)

    # Stages: mostly prospects, fewer trusted; touchpoints about 2 per partner.
    stages = Counter(Partner.objects.filter(practice=practice).values_list("stage", flat=True))
    assert len(stages) == 6 and stages["prospect"] > stages["trusted"] > 0
    touchpoints = Touchpoint.objects.filter(practice=practice).count()
    assert 1.2 * size.partners < touchpoints < 3 * size.partners
    # Medical-stream clients name the partner who sent them.
    medical = Client.objects.filter(practice=practice, stream="medical")
    assert medical.count() > 100 and not medical.filter(source_partner=None).exists()
    special = Visit.objects.filter(practice=practice, service__regex=r"motor-vehicle|workers' comp")
    assert 0.03 * size.visits < special.count() < 0.15 * size.visits


def _shape(slug):
    practice = Practice.objects.get(slug=slug)
    return (
        list(
            Partner.objects.filter(practice=practice).order_by("id").values_list("name", flat=True)
        ),
        list(
            Client.objects.filter(practice=practice)
            .order_by("id")
            .annotate(n=Count("visits"))
            .values_list("first_name", "last_name", "n")
        ),
        list(
            Referral.objects.filter(practice=practice)
            .order_by("id")
            .values_list("direction", "status")
        ),
    )


def test_same_seed_gives_the_same_data_and_a_slug_is_used_once():
    generate(size="small", slug="seed-one", seed=11)
    out = io.StringIO()
    call_command("generate", "--size", "small", "--practice", "seed-two", "--seed", "11",
                 "--json", stdout=out)  # fmt: skip
    payload = json.loads(out.getvalue())
    assert set(payload) == {
        "practice", "size", "partners", "clients", "visits", "referrals", "seconds", "login",
    }  # fmt: skip
    assert payload["practice"] == "seed-two" and payload["size"] == "small"
    assert payload["referrals"] == 4000 and isinstance(payload["seconds"], float)
    assert payload["login"]["email"] == "owner@seed-two.example"
    assert len(payload["login"]["password"]) >= 12

    one, two = _shape("seed-one"), _shape("seed-two")
    assert one[0] == two[0] and len(set(one[0])) == 200
    assert one[1] == two[1]
    assert one[2] == two[2]

    with pytest.raises(CommandError, match="already exists; choose another --practice"):
        call_command("generate", "--size", "small", "--practice", "seed-one")
    with pytest.raises(CommandError):
        call_command("generate", "--size", "huge", "--practice", "seed-three")
    with pytest.raises(CommandError, match="not a valid slug"):
        call_command("generate", "--size", "small", "--practice", "Not A Slug")
    assert not Practice.objects.filter(slug="seed-three").exists()


def test_several_practices_each_with_its_own_data_and_no_row_crossing_practices():
    from referwell.clients.models import Consent
    from referwell.directory.models import Niche

    out, err = io.StringIO(), io.StringIO()
    call_command("generate", "--size", "small", "--practices", "3", "--practice", "net",
                 "--seed", "5", "--json", stdout=out, stderr=err)  # fmt: skip
    payload = json.loads(out.getvalue())
    assert payload["size"] == "small" and payload["profile"] == "small"
    slugs = [r["practice"] for r in payload["practices"]]
    assert slugs == ["net-001", "net-002", "net-003"]
    assert not Practice.objects.filter(slug="net").exists()
    # Progress: one line per practice, on stderr so that stdout stays one JSON object.
    lines = err.getvalue().splitlines()
    assert [line.split()[0] for line in lines] == ["[1/3]", "[2/3]", "[3/3]"]
    assert "owner@net-002.example" in lines[1]

    size = SIZES["small"]
    names = []
    for result in payload["practices"]:
        practice = Practice.objects.get(slug=result["practice"])
        assert Member.objects.get(practice=practice).user.email == result["login"]["email"]
        assert Partner.objects.filter(practice=practice).count() == size.partners
        assert Client.objects.filter(practice=practice).count() == size.clients
        assert Visit.objects.filter(practice=practice).count() == size.visits
        assert Referral.objects.filter(practice=practice).count() == size.referrals
        names.append(
            list(Partner.objects.filter(practice=practice).order_by("id").values_list("name"))
        )
        _assert_realistic_shapes(practice, size)
    # Each its own seed: no two practices alike.
    assert names[0] != names[1] != names[2] != names[0]

    # No row points at a row of another practice.
    same = F("practice")
    assert not Visit.objects.exclude(client__practice=same).exists()
    assert not Referral.objects.exclude(client__practice=same).exists()
    assert not Referral.objects.exclude(partner__practice=same).exists()
    members = set(Member.objects.values_list("user_id", "practice_id"))
    authors = Referral.objects.exclude(created_by=None).values_list("created_by_id", "practice_id")
    assert set(authors) <= members
    touched_by = Touchpoint.objects.values_list("by_id", "practice_id")
    assert set(touched_by) <= members
    assert not ReferralEvent.objects.exclude(referral__practice=same).exists()
    assert not Touchpoint.objects.exclude(partner__practice=same).exists()
    assert not Consent.objects.exclude(client__practice=same).exists()
    assert not Consent.objects.exclude(partner__practice=same).exists()
    assert (
        not Client.objects.exclude(source_partner=None)
        .exclude(source_partner__practice=same)
        .exists()
    )
    assert (
        not Client.objects.exclude(source_client=None)
        .exclude(source_client__practice=same)
        .exists()
    )
    through = Partner.niches.through.objects
    assert not through.exclude(niche__practice=F("partner__practice")).exists()
    assert Niche.objects.count() == 3 * 4

    # A slug already used by the series stops the whole run before anything is written.
    before = Practice.objects.count()
    with pytest.raises(CommandError, match="'net-001' already exists"):
        call_command("generate", "--size", "small", "--practices", "2", "--practice", "net")
    with pytest.raises(CommandError, match="at least 1"):
        call_command("generate", "--size", "small", "--practices", "0", "--practice", "x")
    assert Practice.objects.count() == before


def _assert_realistic_shapes(practice, size):
    """What the issue asks, for every seed: a few partners send most referrals; most clients
    have few visits (and a few regulars make a large share of them)."""
    referrals_in = Referral.objects.filter(practice=practice, direction="in")
    per_partner = sorted(
        Counter(referrals_in.values_list("partner_id", flat=True)).values(), reverse=True
    )
    total = sum(per_partner)
    assert sum(per_partner[: size.partners // 20]) > 0.5 * total  # top 5 % send most
    assert sum(per_partner[: size.partners // 100]) > 0.2 * total  # top 1 % a fifth
    assert len(per_partner) < 0.8 * size.partners  # many partners (prospects) send none
    visits = sorted(
        Client.objects.filter(practice=practice)
        .annotate(n=Count("visits"))
        .values_list("n", flat=True)
    )
    clients = len(visits)
    assert sum(1 for n in visits if n <= 3) > 0.35 * clients
    assert sum(1 for n in visits if n <= 15) > 0.65 * clients
    assert median(visits) <= 8
    assert sum(visits[-clients // 10 :]) > 0.4 * size.visits  # the regulars


def test_xlarge_is_two_hundred_large_practices_by_default():
    from referwell.site.generate import MULTI, practice_slugs

    assert MULTI["xlarge"] == ("large", 200)
    slugs = practice_slugs("big", 200)
    assert slugs[0] == "big-001" and slugs[-1] == "big-200" and len(set(slugs)) == 200
    # xlarge goes through the same checks before writing anything.
    Practice.objects.create(slug="big-007", name="Taken")
    with pytest.raises(CommandError, match="'big-007' already exists"):
        call_command("generate", "--size", "xlarge", "--practice", "big")
    assert not Practice.objects.filter(slug="big-001").exists()
