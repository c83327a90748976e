"""Every model a kept result is made of is watched (referwell.accounts.kept).

A result kept while the practice's data version holds is only as good as the list of models
whose changes move that version. Here each kept result is made from the real pages with its
queries recorded: it reads exactly the models it declares (READS), each of them moves the data
version on save, delete and many-to-many change (WATCHED), and a real change to each makes
every such result again."""

import datetime as dt
import re
from collections import Counter

import pytest
from django.apps import apps
from django.core.cache import caches
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

import referwell.guidance.selectors
import referwell.insights.selectors
import referwell.insights.views
import referwell.outreach.cadence
import referwell.site.selectors  # noqa: F401 — each module makes its kept results
from referwell.accounts import kept
from referwell.accounts.selectors import data_version
from referwell.clients.models import Visit
from referwell.directory.models import Niche, Touchpoint
from referwell.insights.models import StreamCost
from referwell.outreach.models import ContactPlan
from referwell.referrals.models import EventKind, ReferralEvent
from tests.factories import ClientFactory, PartnerFactory, ReferralFactory

pytestmark = pytest.mark.django_db

VERSION = "accounts.DataChange"  # the data version itself, read by a kept result made inside
TABLE = re.compile(r'(?:FROM|JOIN)\s+"(\w+)"', re.IGNORECASE)


def _versioned():
    """The results kept while the practice's data version holds."""
    return [k for k in kept.registered() if not k.timed]


def _model(label):
    return apps.get_model(label)


def test_every_kept_result_says_what_it_is_made_of():
    names = {k.name for k in kept.registered()}
    assert set(kept.READS) <= names  # no declaration of a result nobody keeps
    with pytest.raises(ImproperlyConfigured, match="READS"):
        kept.Kept("undeclared")
    for label in {label for reads in kept.READS.values() for label in reads}:
        _model(label)  # each a model that exists


def test_every_model_a_result_kept_while_the_data_holds_reads_is_watched():
    """And nothing else is: the list is exact. A model read by no practice (SHARED) has no
    practice to follow."""
    read = {label for k in _versioned() for label in k.reads}
    assert read - set(kept.SHARED) <= set(kept.WATCHED)
    in_table = {label for name, reads in kept.READS.items() for label in reads}
    assert set(kept.WATCHED) <= in_table - set(kept.SHARED)
    for label in kept.SHARED:
        assert "practice" not in {f.name for f in _model(label)._meta.get_fields()}, label


def _changes(model, instance):
    """The signals a change of the model sends, as Django sends them."""
    owner = model._meta.auto_created
    if owner:  # a many-to-many's table, changed through its field (from the owner's side)
        other = next(
            f.related_model
            for f in model._meta.get_fields()
            if f.many_to_one and f.related_model is not owner
        )
        return [
            (m2m_changed, {"action": action, "reverse": False, "model": other, "pk_set": set()})
            for action in ("post_add", "post_remove", "post_clear")
        ]
    return [
        (post_save, {"created": True, "update_fields": None, "raw": False}),
        (post_save, {"created": False, "update_fields": None, "raw": False}),
        (post_delete, {"origin": instance}),
    ]


def _instance(model, practice):
    """A row of the practice (for a many-to-many, of the side that belongs to it)."""
    owner = model._meta.auto_created or model
    return owner(practice_id=practice.pk)


# Every model the results kept while the data holds read, but the shared ones.
FOLLOWED = sorted({label for k in _versioned() for label in k.reads} - set(kept.SHARED))


@pytest.mark.parametrize("label", FOLLOWED)
def test_each_read_model_moves_the_data_version_on_save_delete_and_links(
    label, elm_grove, other_practice
):
    model = _model(label)
    theirs = data_version(practice_id=other_practice.pk)
    instance = _instance(model, elm_grove)
    for signal, kwargs in _changes(model, instance):
        before = data_version(practice_id=elm_grove.pk)
        signal.send(sender=model, instance=instance, using="default", **kwargs)
        assert data_version(practice_id=elm_grove.pk) > before, (label, signal, kwargs)
    assert data_version(practice_id=other_practice.pk) == theirs


@pytest.mark.parametrize("label", FOLLOWED)
def test_each_result_is_made_again_when_a_model_it_reads_changes(label, elm_grove):
    """Each kept result itself (its own name, its own shared keys), on each change."""
    model = _model(label)
    instance = _instance(model, elm_grove)
    readers = [k for k in _versioned() if label in k.reads]
    assert readers
    for each in readers:
        made = []

        def get(each=each, made=made):
            make = lambda: made.append(1) or len(made)  # noqa: E731
            return each.get(practice_id=elm_grove.pk, parts="watch", slot="watch", make=make)

        assert get() == get() == 1
        for n, (signal, kwargs) in enumerate(_changes(model, instance), start=2):
            signal.send(sender=model, instance=instance, using="default", **kwargs)
            assert get() == n, (each.name, label, signal, kwargs)


# ---------------------------------------------------------------------------- the real pages


@pytest.fixture
def recorded(monkeypatch):
    """Each kept result's makings by name, and the models its queries read."""
    made, read = Counter(), {}
    to_label = {m._meta.db_table: m._meta.label for m in apps.get_models(include_auto_created=True)}
    real_get = kept.Kept.get

    def get(self, *, make, **kwargs):
        def recording():
            with CaptureQueriesContext(connection) as queries:
                value = make()
            made[self.name] += 1
            tables = {t for q in queries.captured_queries for t in TABLE.findall(q["sql"])}
            read.setdefault(self.name, set()).update(to_label.get(t, t) for t in tables)
            return value

        return real_get(self, make=recording, **kwargs)

    monkeypatch.setattr(kept.Kept, "get", get)
    return made, read


@pytest.fixture
def world(elm_grove, partner, client_alice_jones):
    """A little of everything the kept results read."""
    today = timezone.localdate()
    niche = Niche.objects.create(practice=elm_grove, name="Runners")
    partner.niches.add(niche)
    Touchpoint.objects.create(
        practice=elm_grove, partner=partner, kind="call", date=today - dt.timedelta(days=200)
    )
    ContactPlan.objects.create(practice=elm_grove, partner=partner, method="call", planned_on=today)
    referral = ReferralFactory(
        practice=elm_grove, client=client_alice_jones, partner=partner, direction="in"
    )
    ReferralFactory(practice=elm_grove, client=client_alice_jones, partner=partner)
    ReferralEvent.objects.create(
        practice=elm_grove, referral=referral, to_status="received", at=timezone.now()
    )
    Visit.objects.create(practice=elm_grove, client=client_alice_jones, date=today, fee=50)
    StreamCost.objects.create(
        practice=elm_grove, stream="medical", month=today.replace(day=1), amount=5
    )
    return {"niche": niche, "partner": partner, "client": client_alice_jones, "referral": referral}


def _pages(world, *, variants=False):
    """A page for each kept result; with `variants`, the filters that read more."""
    niche, client = world["niche"], world["client"]
    pages = [
        reverse("dashboard"),
        reverse("today"),
        reverse("partner_list"),
        reverse("referral_list"),
        reverse("client_detail", args=[client.pk]),
        reverse("insights"),
    ]
    if variants:
        pages += [
            reverse("partner_list") + f"?profession=chiropractor&niche={niche.pk}",
            reverse("partner_list") + "?near_zip=53122&miles=50",  # every match measured
            reverse("referral_list") + "?direction=in&status=received",
        ]
    return pages


def _visit(http, pages):
    for url in pages:
        assert http.get(url).status_code == 200, url


def test_each_kept_result_reads_exactly_the_models_it_declares(alice_http, world, recorded):
    made, read = recorded
    for url in _pages(
        world, variants=True
    ):  # each page with nothing kept: every result made, inner ones too
        caches["kept"].clear()
        kept.forget_all()
        _visit(alice_http, [url])
    assert set(made) == set(kept.READS)  # every kept result made here
    for name, reads in kept.READS.items():
        assert read[name] - {VERSION} == set(reads), name


# A real change of each watched model, made (then undone) as the application would.
def _partner(world):
    return PartnerFactory(practice=world["partner"].practice, name="Dr. New Partner")


def _client(world):
    return ClientFactory(practice=world["partner"].practice, first_name="Newly")


def _niche(world):
    return Niche.objects.create(practice=world["partner"].practice, name="Office workers")


def _touchpoint(world):
    partner = world["partner"]
    return Touchpoint.objects.create(
        practice=partner.practice, partner=partner, kind="email", date=timezone.localdate()
    )


def _plan(world):
    partner = world["partner"]
    return ContactPlan.objects.create(
        practice=partner.practice, partner=partner, method="visit", planned_on=timezone.localdate()
    )


def _referral(world):
    return ReferralFactory(
        practice=world["partner"].practice, client=world["client"], partner=world["partner"]
    )


def _event(world):
    referral = world["referral"]
    return ReferralEvent.objects.create(
        practice=referral.practice,
        referral=referral,
        kind=EventKind.NOTE,
        to_status=referral.status,
        at=timezone.now(),
    )


class _Link:
    """A partner's link (a profession, a niche): added, then removed."""

    def __init__(self, world, field, value):
        self.related = getattr(world["partner"], field)
        self.value = value
        self.related.add(value)

    def delete(self):
        self.related.remove(self.value)


CHANGES = {
    "clients.Client": _client,
    "directory.Niche": _niche,
    "directory.Partner": _partner,
    "directory.Partner_niches": lambda world: _Link(world, "niches", _niche(world)),
    "directory.Partner_professions": lambda world: _Link(
        world, "professions", "physical-therapist"
    ),
    "directory.Touchpoint": _touchpoint,
    "outreach.ContactPlan": _plan,
    "referrals.Referral": _referral,
    "referrals.ReferralEvent": _event,
}


def test_a_real_change_to_each_watched_model_makes_every_result_again(alice_http, world, recorded):
    """Added, then removed: after each, every result kept while the data holds is made again
    at the next view of its page; the insights report, kept five minutes whatever changes, is
    not."""
    assert set(CHANGES) == set(kept.WATCHED)
    made, _ = recorded
    pages = _pages(world)
    _visit(alice_http, pages)
    before = Counter(made)
    _visit(alice_http, pages)
    assert made == before  # all kept
    versioned = {k.name for k in _versioned() if k.name in kept.READS}
    for label, change in CHANGES.items():
        row = change(world)
        for step in ("added", "removed"):
            if step == "removed":
                row.delete()
            before = Counter(made)
            _visit(alice_http, pages)
            again = {name for name in made if made[name] > before[name]}
            assert versioned <= again, (label, step, versioned - again)
            assert "insights-report" not in again


def test_the_insights_report_is_counted_again_on_demand_or_on_a_cost(alice_http, world, recorded):
    made, _ = recorded
    url = reverse("insights")
    _visit(alice_http, [url, url])
    assert made["insights-report"] == 1
    _visit(alice_http, [url + "?fresh=1", url])
    assert made["insights-report"] == 2
    month = timezone.localdate().strftime("%Y-%m")
    alice_http.post(
        reverse("insights_cost_add"), {"stream": "medical", "month": month, "amount": 1}
    )
    _visit(alice_http, [url, url])
    assert made["insights-report"] == 3
