"""The cadence engine and the Today list: every rule at its boundaries, done / snoozed /
skipped, the page, the API, the command and the calendar feed."""

import datetime as dt
import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client as HttpClient
from django.urls import reverse
from django.utils import timezone

from referwell.directory.models import Touchpoint
from referwell.outreach.cadence import today
from referwell.outreach.models import ContactPlan
from referwell.referrals.models import Direction, Referral
from tests.factories import ClientFactory, PartnerFactory

pytestmark = pytest.mark.django_db
D = dt.date(2026, 3, 2)  # a Monday


def at(day, hour=10):
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour)))


def kinds(practice, on):
    return [(i.kind, i.partner) for i in today(practice=practice, on=on)]


def touch(partner, day, kind="call", **kw):
    return Touchpoint.objects.create(
        practice=partner.practice, partner=partner, kind=kind, date=day, **kw
    )


@pytest.fixture
def quiet(elm_grove):
    """A partner the keep-in-touch rule leaves alone (a prospect with a plan far away)."""
    return elm_grove


def referral_in(practice, partner, day, **kw):
    client = ClientFactory(practice=practice)
    r = Referral.objects.create(
        practice=practice,
        direction=Direction.IN,
        client=client,
        partner=partner,
        reasons="x",
        status=kw.pop("status", "received"),
        **kw,
    )
    Referral.objects.filter(pk=r.pk).update(created_at=at(day), received_at=at(day))
    return r


def test_thank_you_is_due_on_day_two_not_day_one(elm_grove, partner):
    partner.stage = "prospect"
    partner.save()
    ContactPlan.objects.create(
        practice=elm_grove, partner=partner, method="call", planned_on=D + dt.timedelta(days=300)
    )
    referral_in(elm_grove, partner, D)
    assert ("thank_you", partner.pk) not in kinds(elm_grove, D + dt.timedelta(days=1))
    items = {i.kind: i for i in today(practice=elm_grove, on=D + dt.timedelta(days=2))}
    assert items["thank_you"].overdue_days(D + dt.timedelta(days=2)) == 0
    assert items["thank_you"].level(D + dt.timedelta(days=3)) == "amber"
    assert items["thank_you"].level(D + dt.timedelta(days=7)) == "amber"
    assert items["thank_you"].level(D + dt.timedelta(days=8)) == "red"


def test_thanked_referrals_owe_nothing(elm_grove, partner):
    referral_in(elm_grove, partner, D, thanked_at=at(D))
    assert ("thank_you", partner.pk) not in kinds(elm_grove, D + dt.timedelta(days=5))


def test_follow_up_after_five_business_days(elm_grove, partner):
    client = ClientFactory(practice=elm_grove)
    friday = dt.date(2026, 3, 6)
    r = Referral.objects.create(
        practice=elm_grove,
        direction=Direction.OUT,
        client=client,
        partner=partner,
        reasons="x",
        status="sent",
        sent_at=at(friday),
    )
    assert ("follow_up", partner.pk) not in kinds(elm_grove, dt.date(2026, 3, 12))  # Thursday: 4
    item = next(
        i for i in today(practice=elm_grove, on=dt.date(2026, 3, 13)) if i.kind == "follow_up"
    )
    assert item.referral == r.pk and item.due == dt.date(2026, 3, 13)
    # A call logged resets it.
    touch(partner, dt.date(2026, 3, 13))
    assert ("follow_up", partner.pk) not in kinds(elm_grove, dt.date(2026, 3, 16))


def test_office_visit_every_six_months_for_partners_who_referred(elm_grove, partner):
    referral_in(elm_grove, partner, D - dt.timedelta(days=30), thanked_at=at(D))
    touch(partner, D, kind="office_visit")
    assert ("office_visit", partner.pk) not in kinds(elm_grove, D + dt.timedelta(days=181))
    assert ("office_visit", partner.pk) in kinds(elm_grove, D + dt.timedelta(days=182))
    other = PartnerFactory(practice=elm_grove, name="Never referred")
    touch(other, D, kind="office_visit")
    assert ("office_visit", other.pk) not in kinds(elm_grove, D + dt.timedelta(days=200))


def test_year_end_gift_for_top_referrers_from_mid_november(elm_grove, partner):
    for day in (dt.date(2026, 2, 1), dt.date(2026, 6, 1)):
        referral_in(elm_grove, partner, day, thanked_at=at(day))
    touch(partner, dt.date(2026, 11, 1), kind="office_visit")
    assert ("year_end_gift", partner.pk) not in kinds(elm_grove, dt.date(2026, 11, 14))
    items = [
        i for i in today(practice=elm_grove, on=dt.date(2026, 12, 15)) if i.kind == "year_end_gift"
    ]
    assert [i.partner for i in items] == [partner.pk]
    assert "referral fee" in items[0].caution
    touch(partner, dt.date(2026, 12, 16), kind="gift")
    assert ("year_end_gift", partner.pk) not in kinds(elm_grove, dt.date(2026, 12, 17))


def test_prospects_next_step(elm_grove):
    p = PartnerFactory(practice=elm_grove, name="Prospect", stage="prospect")
    Touchpoint.objects.create(practice=elm_grove, partner=p, kind="email", date=D)
    assert ("prospect", p.pk) not in kinds(elm_grove, D + dt.timedelta(days=13))
    assert ("prospect", p.pk) in kinds(elm_grove, D + dt.timedelta(days=14))
    plan = ContactPlan.objects.create(
        practice=elm_grove,
        partner=p,
        method="meeting_request",
        planned_on=D + dt.timedelta(days=30),
    )
    assert ("prospect", p.pk) not in kinds(elm_grove, D + dt.timedelta(days=29))
    item = next(
        i for i in today(practice=elm_grove, on=D + dt.timedelta(days=30)) if i.partner == p.pk
    )
    assert item.extra == {"plan": plan.pk} and "10-minute meeting request" in item.title


def test_keep_in_touch_and_any_contact_resets_it(elm_grove, partner):
    partner.stage = "trusted"
    partner.save()
    touch(partner, D)
    assert ("keep_in_touch", partner.pk) not in kinds(elm_grove, D + dt.timedelta(days=89))
    assert ("keep_in_touch", partner.pk) in kinds(elm_grove, D + dt.timedelta(days=90))
    item = next(
        i
        for i in today(practice=elm_grove, on=D + dt.timedelta(days=181))
        if i.kind == "keep_in_touch"
    )
    assert (
        item.level(D + dt.timedelta(days=180)) == "amber"
        and item.level(D + dt.timedelta(days=181)) == "red"
    )
    touch(partner, D + dt.timedelta(days=100), kind="email")
    assert ("keep_in_touch", partner.pk) not in kinds(elm_grove, D + dt.timedelta(days=150))


def test_the_practice_can_change_a_rule(elm_grove, partner):
    partner.stage = "trusted"
    partner.save()
    touch(partner, D)
    elm_grove.cadence = {"keep_in_touch": {"ideal": 30, "max": 60}}
    elm_grove.save()
    assert ("keep_in_touch", partner.pk) in kinds(elm_grove, D + dt.timedelta(days=30))
    elm_grove.cadence = {"keep_in_touch": {"on": False}}
    elm_grove.save()
    assert ("keep_in_touch", partner.pk) not in kinds(elm_grove, D + dt.timedelta(days=300))


def test_done_snoozed_and_skipped_are_touchpoints(alice_http, elm_grove, partner):
    partner.stage = "trusted"
    partner.save()
    touch(partner, timezone.localdate() - dt.timedelta(days=100))
    (item,) = [i for i in today(practice=elm_grove) if i.partner == partner.pk]
    until = timezone.localdate() + dt.timedelta(days=3)
    alice_http.post(
        reverse("today_act"),
        {"key": item.key, "partner": partner.pk, "action": "snoozed", "until": until.isoformat()},
    )
    assert ("keep_in_touch", partner.pk) not in kinds(elm_grove, timezone.localdate())
    assert ("keep_in_touch", partner.pk) in kinds(elm_grove, until)
    snoozed = Touchpoint.objects.get(outcome="snoozed")
    assert snoozed.cadence_key == item.key and snoozed.snooze_until == until
    alice_http.post(
        reverse("today_act"), {"key": item.key, "partner": partner.pk, "action": "skipped"}
    )
    assert ("keep_in_touch", partner.pk) not in kinds(elm_grove, until)


def test_log_the_visit_from_today(alice_http, elm_grove, partner):
    referral_in(elm_grove, partner, timezone.localdate() - dt.timedelta(days=250), thanked_at=at(D))
    page = alice_http.get(reverse("today")).content.decode()
    assert "Visit Dr. Dana Spine" in page and "Log the visit" in page
    (item,) = [i for i in today(practice=elm_grove) if i.kind == "office_visit"]
    response = alice_http.post(
        reverse("today_act"),
        {"key": item.key, "partner": partner.pk, "action": "log_visit"},
        follow=True,
    )
    assert b"Logged: Office visit" in response.content
    assert partner.touchpoints.filter(kind="office_visit", outcome="").exists()
    assert ("office_visit", partner.pk) not in kinds(elm_grove, timezone.localdate())


def test_charlie_cannot_act_on_alices_partner(charlie_http, partner):
    response = charlie_http.post(
        reverse("today_act"), {"key": "x", "partner": partner.pk, "action": "done"}
    )
    assert response.status_code == 404
    assert not Touchpoint.objects.exists()


def test_today_page_has_a_fixed_number_of_queries(
    alice_http, elm_grove, django_assert_max_num_queries
):
    for i in range(3):
        p = PartnerFactory(practice=elm_grove, stage="trusted")
        referral_in(elm_grove, p, D + dt.timedelta(days=i))
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as small:
        alice_http.get(reverse("today"))
    for i in range(15):
        p = PartnerFactory(practice=elm_grove, stage=["trusted", "prospect", "met"][i % 3])
        referral_in(elm_grove, p, D + dt.timedelta(days=i))
    with django_assert_max_num_queries(len(small.captured_queries)):
        alice_http.get(reverse("today"))


def test_api_and_command_give_the_same_list(alice_api, elm_grove, partner):
    client = referral_in(elm_grove, partner, D).client
    about = f"{client.first_name[0]}. {client.last_name[0]}."
    on = (D + dt.timedelta(days=3)).isoformat()
    api = alice_api.get(f"/api/v1/today?on={on}").json()
    out = StringIO()
    call_command("today", "--practice", "elm-grove", "--on", on, "--json", stdout=out)
    cli = json.loads(out.getvalue())
    assert api == cli
    thank = next(i for i in cli["items"] if i["kind"] == "thank_you")
    assert thank == {
        "kind": "thank_you",
        "due": "2026-03-04",
        "overdue_days": 1,
        "partner": partner.pk,
        "referral": thank["referral"],
        "title": f"Thank Dr. Dana Spine for referring {about} on Mar 02",
    }
    assert alice_api.get("/api/v1/today?on=not-a-date").status_code == 422


def test_calendar_feed_names_partners_and_counts_never_clients(alice_http, elm_grove, partner):
    from icalendar import Calendar

    friend = ClientFactory(practice=elm_grove, first_name="Secretive", last_name="Friend")
    newcomer = ClientFactory(practice=elm_grove, first_name="Hidden", last_name="Client")
    Referral.objects.create(
        practice=elm_grove,
        direction=Direction.IN,
        client=newcomer,
        referrer_client=friend,
        reasons="x",
        status="received",
    )
    referral_in(elm_grove, partner, timezone.localdate() - dt.timedelta(days=3))
    response = alice_http.post(reverse("calendar_feed_page"), {"action": "new"})
    url = next(
        line
        for line in response.content.decode().split('"')
        if "/calendar/" in line and line.endswith(".ics")
    )
    path = url.split("testserver", 1)[1]
    feed = HttpClient().get(path)
    assert feed.status_code == 200 and feed["Content-Type"].startswith("text/calendar")
    cal = Calendar.from_ical(feed.content)
    summaries = [str(e["SUMMARY"]) for e in cal.walk("VEVENT")]
    assert any("Dr. Dana Spine" in s for s in summaries)
    assert any(s.startswith("1 × Thank-you") for s in summaries)
    text = feed.content.decode()
    assert "Secretive" not in text and "Hidden" not in text and "Jones" not in text
    alice_http.post(reverse("calendar_feed_page"), {"action": "revoke"})
    assert HttpClient().get(path).status_code == 404
    assert HttpClient().get("/calendar/not-a-token.ics").status_code == 404


# Today's groups, its pages and its catch-up: tests/test_today_groups.py.


# ---------------------------------------------------------------------------- the kept list


def test_the_list_is_kept_until_the_practice_data_changes(
    elm_grove, partner, django_assert_num_queries
):
    from django.core.cache import caches

    from referwell.accounts.kept import forget_all

    partner.stage = "trusted"
    partner.save()
    touch(partner, D)
    on = D + dt.timedelta(days=100)
    first = today(practice=elm_grove, on=on)
    assert ("keep_in_touch", partner.pk) in kinds(elm_grove, on)
    with django_assert_num_queries(1):  # the data version alone: kept in this process
        again = today(practice=elm_grove, on=on)
    assert again.rows is first.rows
    forget_all()  # as another process would: from the shared cache
    with django_assert_num_queries(1):
        shared = today(practice=elm_grove, on=on)
    assert shared.rows == first.rows and shared.rows is not first.rows
    assert [vars(i) for i in shared] == [vars(i) for i in first]
    touch(partner, D + dt.timedelta(days=90))  # a contact since: nothing to keep in touch for
    assert ("keep_in_touch", partner.pk) not in kinds(elm_grove, on)
    # Another day, another list; a rule changed, another list.
    assert today(practice=elm_grove, on=on + dt.timedelta(days=1)).rows is not first.rows
    elm_grove.cadence = {"keep_in_touch": {"ideal": 10, "max": 20}}
    assert ("keep_in_touch", partner.pk) in kinds(elm_grove, on)
    caches["kept"].clear()
    forget_all()
    assert ("keep_in_touch", partner.pk) in kinds(elm_grove, on)  # made again


def test_a_page_of_today_makes_items_for_its_rows_only(elm_grove):
    from referwell.outreach.cadence import TodayList, _row, make_due_items

    partners = [PartnerFactory(practice=elm_grove, stage="trusted") for _ in range(3)]
    for p in partners:
        touch(p, D)
    items = today(practice=elm_grove, on=D + dt.timedelta(days=100))
    assert isinstance(items, TodayList) and len(items) == 3
    made = make_due_items(practice=elm_grove, on=D + dt.timedelta(days=100))
    made = sorted(made, key=lambda i: (i.due, i.kind, i.title))
    assert [vars(i) for i in items] == [vars(i) for i in made]  # nothing lost in the rows
    assert [_row(i) for i in items[1:3]] == items.rows[1:3]
    assert items[0].url == reverse("partner_detail", args=[items[0].partner])


def test_every_change_to_what_today_reads_moves_the_data_version(
    elm_grove, other_practice, alice, partner, client_alice_jones
):
    from referwell.accounts.selectors import data_version
    from referwell.directory.services import partner_update, touchpoint_create
    from referwell.referrals.services import referral_create

    def version():
        return data_version(practice_id=elm_grove.pk)

    theirs = data_version(practice_id=other_practice.pk)
    seen = [version()]

    def moved():
        seen.append(version())
        return seen[-1] > seen[-2]

    partner_update(partner=partner, by=alice.user, fields={"name": "Dr. Dana Spine, DC"})
    assert moved()
    touchpoint_create(partner=partner, by=alice.user, kind="call", date=D, note="Hello")
    assert moved()
    referral = referral_create(
        practice=elm_grove,
        by=alice.user,
        fields={
            "direction": Direction.OUT,
            "client": client_alice_jones,
            "partner": partner,
            "reasons": "Low back pain after a fall",
        },
    )
    assert moved()
    ContactPlan.objects.create(practice=elm_grove, partner=partner, method="call", planned_on=D)
    assert moved()
    client_alice_jones.first_name = "Alicia"
    client_alice_jones.save()
    assert moved()
    referral.delete()
    assert moved()
    partner.professions.add("physical-therapist")
    assert moved()
    partner.professions.clear()
    assert moved()
    assert data_version(practice_id=other_practice.pk) == theirs


def test_a_change_rolled_back_leaves_the_version(elm_grove, partner):
    from django.db import transaction

    from referwell.accounts.selectors import data_version

    before = data_version(practice_id=elm_grove.pk)
    with pytest.raises(RuntimeError), transaction.atomic():
        partner.name = "Someone else"
        partner.save()
        assert data_version(practice_id=elm_grove.pk) > before  # seen with the change
        raise RuntimeError("rolled back")
    assert data_version(practice_id=elm_grove.pk) == before


def test_a_practice_is_deleted_with_its_changes(elm_grove, partner):
    from referwell.accounts.models import DataChange

    touch(partner, D)
    assert DataChange.objects.filter(practice=elm_grove).exists()
    elm_grove.delete()
    assert not DataChange.objects.exists()


def test_old_changes_are_pruned(elm_grove, partner, monkeypatch):
    from referwell.accounts import kept
    from referwell.accounts.models import DataChange

    monkeypatch.setattr(kept, "PRUNE_EVERY", 3)
    for day in range(7):
        touch(partner, D + dt.timedelta(days=day))
    latest = DataChange.objects.filter(practice=elm_grove).order_by("-id").first()
    assert DataChange.objects.filter(practice=elm_grove).count() < 7
    assert DataChange.objects.filter(practice=elm_grove).order_by("-id").first() == latest


def test_the_kept_list_holds_no_csrf_token_and_each_member_gets_their_own(
    alice, elm_grove, partner
):
    """Today's list is kept as HTML with its forms; the token of each form is the request's
    own, put in after: a second owner's page works for her, and no token is ever kept."""
    import re

    from django.test import Client as HttpClient

    from referwell.accounts import kept
    from tests.factories import MemberFactory, UserFactory

    referral_in(elm_grove, partner, timezone.localdate() - dt.timedelta(days=30))
    carol = MemberFactory(
        user=UserFactory(email="carol@example.com"), practice=elm_grove, role=alice.role
    )
    pages, browsers = [], []
    for member in (alice, carol):
        browser = HttpClient(enforce_csrf_checks=True)
        browser.force_login(member.user)
        pages.append(browser.get(reverse("today")).content.decode())
        browsers.append(browser)
    in_list = r'name="csrfmiddlewaretoken" value="([^"]+)">\s*<input type="hidden" name="key"'
    tokens = [set(re.findall(in_list, p)) for p in pages]
    assert all(len(t) == 1 for t in tokens) and not tokens[0] & tokens[1]
    assert kept.CSRF_MARK not in pages[0] + pages[1]
    stored = [entry.value for entry in kept._fragments._entries.values()]
    assert stored and all(kept.CSRF_MARK in html for html in stored)
    assert not any(token in html for html in stored for t in tokens for token in t)
    key = re.search(r'name="key" value="([^"]+)"', pages[1]).group(1)
    done = browsers[1].post(
        reverse("today_act"),
        {
            "csrfmiddlewaretoken": tokens[1].pop(),
            "key": key,
            "partner": partner.pk,
            "action": "done",
        },
    )
    assert done.status_code == 302  # accepted: the token was Carol's own
