"""What to do next (issue "Phone-first and accessible", item 4): Today in groups — due today,
this week, older, coming up — with what is more than a month late folded into "Catch up", which
can be cleared once confirmed (each item skipped and audited like any other); each line says
who and about whom (a client by initials) and has one action, the others in its menu; the
dashboard opens with the first of them. Without JavaScript the forms post; htmx only spares the
reload."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from referwell.audit.models import AuditEntry
from referwell.directory.models import Touchpoint
from referwell.outreach import cadence
from referwell.referrals.models import Direction, Referral
from tests.factories import ClientFactory, PartnerFactory

pytestmark = pytest.mark.django_db

MARK = "CLINICALMARK"


def today() -> dt.date:
    return timezone.localdate()


def keep_in_touch_due(practice, offset: int, name: str | None = None):
    """A trusted partner whose keep-in-touch falls due `offset` days from today (negative:
    late), and nothing else."""
    partner = PartnerFactory(practice=practice, stage="trusted", name=name or f"Due {offset:+d}")
    Touchpoint.objects.create(
        practice=practice,
        partner=partner,
        kind="call",
        date=today() + dt.timedelta(days=offset - cadence.RULES["keep_in_touch"].ideal),
    )
    return partner


def referral_in(practice, client, *, days_ago: int, partner=None, referrer_client=None, **kw):
    r = Referral.objects.create(
        practice=practice,
        direction=Direction.IN,
        client=client,
        partner=partner,
        referrer_client=referrer_client,
        reasons=kw.pop("reasons", "x"),
        status=kw.pop("status", "received"),
        **kw,
    )
    moment = timezone.now() - dt.timedelta(days=days_ago)
    Referral.objects.filter(pk=r.pk).update(created_at=moment, received_at=moment)
    return r


def items_of(html: str) -> list[str]:
    """The items of a page (Today, the dashboard), each as its HTML."""
    return re.findall(r'<li class="card today-item [^"]*">(.*?)</li>', html, re.S)


def main(html: str) -> str:
    """The page without its menus (which name the member)."""
    return html.split('<main id="main"', 1)[1]


def section(html: str, title: str) -> str:
    """The part of Today under a heading, to the next section."""
    after = html.split(f">{title} <span", 1)[1]
    return re.split(r'</section>|<details class="section catch-up"', after, maxsplit=1)[0]


OFFSETS = (-40, -31, -30, -8, -7, -1, 0, 1, 7, 8)


@pytest.fixture
def spread(elm_grove):
    return {offset: keep_in_touch_due(elm_grove, offset) for offset in OFFSETS}


# --- the groups -----------------------------------------------------------------------------


def test_the_groups_split_the_list_by_how_late(elm_grove, spread):
    groups = cadence.today_groups(practice=elm_grove)

    def names(group):
        return [i.partner_name for i in group]

    assert names(groups.catch_up) == ["Due -40", "Due -31"]  # the most overdue first
    assert names(groups.older) == ["Due -30", "Due -8"]
    assert names(groups.this_week) == ["Due -7", "Due -1"]
    assert names(groups.due_today) == ["Due +0"]
    assert names(groups.coming) == ["Due +1", "Due +7"]  # a week ahead, no more
    assert groups.now == 5
    assert [i.partner_name for i in groups.next_items(3)] == ["Due +0", "Due -7", "Due -1"]
    # The list of what is due (the API, the command) stops at the day, as before.
    assert len(cadence.today(practice=elm_grove)) == 7
    assert max(i.due for i in cadence.today(practice=elm_grove)) == today()


def test_the_page_shows_each_group_under_its_heading_and_folds_the_catch_up(alice_http, spread):
    html = alice_http.get(reverse("today")).content.decode()
    headings = [h for h in ("Due today", "This week", "Older", "Coming up") if f">{h} <" in html]
    assert headings == ["Due today", "This week", "Older", "Coming up"]
    assert [html.index(f">{h} <") for h in headings] == sorted(
        html.index(f">{h} <") for h in headings
    )
    assert "Due -7" in section(html, "This week") and "7 days overdue" in section(html, "This week")
    assert "Due -30" in section(html, "Older") and "30 days overdue" in section(html, "Older")
    assert "due today" in section(html, "Due today")
    assert "due tomorrow" in section(html, "Coming up") and "due in 7 days" in section(
        html, "Coming up"
    )
    assert "Due +8" not in html
    # Long overdue: folded, closed, counted; nothing above it is red.
    assert '<details class="section catch-up" id="catch-up">' in html
    assert 'Catch up <span class="badge">2</span>' in html
    assert "5 to do now" in html and "2 coming up this week" in html
    shown = html.split('id="catch-up"')[0]
    assert "today-item red" not in shown
    assert "Due -40" in html.split('id="catch-up"')[1]
    # Opened from its link.
    assert 'href="?catchup=1#catch-up"' in html
    opened = alice_http.get(reverse("today") + "?catchup=1").content.decode()
    assert '<details class="section catch-up" id="catch-up" open>' in opened


def test_each_item_has_one_primary_action_and_the_rest_in_its_menu(alice_http, spread):
    html = alice_http.get(reverse("today")).content.decode()
    items = items_of(html)
    assert len(items) == 9
    act = reverse("today_act")
    for item in items:
        outside, _, menu = item.partition('<details class="menu">')
        primary = outside.count("<button") + outside.count('class="button"')
        assert primary == 1, item
        assert 'class="button small' not in outside and 'class="secondary' not in outside
        assert "Mark done" in menu and "Skip: no longer needed" in menu
        assert 'type="date" name="until"' in menu and ">Snooze</button>" in menu
        assert "<button" not in outside.split("Log a call")[1]  # nothing else beside it
        # Without JavaScript each form posts to Today's action; htmx swaps only the item.
        forms = re.findall(r"<form [^>]*>", item)
        assert len(forms) == 3
        for form in forms:
            assert f'method="post" action="{act}"' in form
            assert f'hx-post="{act}" hx-target="closest li" hx-swap="outerHTML"' in form


def test_an_item_without_a_partner_has_its_one_action_and_no_menu(
    alice_http, elm_grove, client_alice_jones
):
    friend = ClientFactory(practice=elm_grove, first_name="Maria", last_name="Santos")
    referral = referral_in(elm_grove, client_alice_jones, days_ago=4, referrer_client=friend)
    html = main(alice_http.get(reverse("today")).content.decode())
    (item,) = items_of(html)
    assert "Thank M. S. for referring A. J." in item
    assert f'<a class="button" href="{reverse("referral_thank", args=[referral.pk])}">' in item
    assert 'class="menu"' not in item
    # The clients are named by their initials only.
    assert "Maria" not in html and "Santos" not in html and "Alice Jones" not in html


def test_each_line_says_who_and_about_whom(alice_http, elm_grove, partner, client_alice_jones):
    referral_in(elm_grove, client_alice_jones, days_ago=3, partner=partner)
    reported = ClientFactory(practice=elm_grove, first_name="Beth Ann", last_name="kruger")
    referral_in(
        elm_grove,
        reported,
        days_ago=40,
        partner=partner,
        status="accepted",
        report_interval_days=30,
        thanked_at=timezone.now(),
    )
    waiting = ClientFactory(practice=elm_grove, first_name="Omar", last_name="Khalil")
    Referral.objects.create(
        practice=elm_grove,
        direction=Direction.OUT,
        client=waiting,
        partner=partner,
        reasons="x",
        status="sent",
        sent_at=timezone.now() - dt.timedelta(days=12),
    )
    html = main(alice_http.get(reverse("today")).content.decode())
    assert "Thank Dr. Dana Spine for referring A. J. on" in html
    assert "Progress report on B. K. to Dr. Dana Spine" in html
    assert "Follow up with Dr. Dana Spine about O. K.: no answer since" in html
    for name in ("Alice", "Jones", "Beth Ann", "kruger", "Omar", "Khalil"):
        assert name not in html, name
    assert "Write the report" in html and "Send the thank-you" in html and "Log a call" in html


def test_the_front_desk_sees_today_without_clinical_text(bob_http, elm_grove, partner):
    client = ClientFactory(practice=elm_grove, first_name="Ann", last_name="Bell", complaints=MARK)
    referral_in(
        elm_grove,
        client,
        days_ago=40,
        partner=partner,
        status="accepted",
        report_interval_days=30,
        thanked_at=timezone.now(),
        reasons=f"{MARK}-reasons",
    )
    html = bob_http.get(reverse("today")).content.decode()
    assert "Progress report on A. B. to Dr. Dana Spine" in html
    assert MARK not in html
    # The report is the clinical roles' to write: the desk opens the referral.
    assert "Write the report" not in html and ">Open<" in html


# --- clearing the catch-up -------------------------------------------------------------------


def test_clearing_the_catch_up_asks_first(alice_http, elm_grove, spread):
    html = alice_http.get(reverse("today") + "?clear=1").content.decode()
    assert "Clear 2 things more than a month late?" in html
    assert 'name="confirm" value="yes"' in html and "Yes, clear 2" in html
    assert '<details class="section catch-up" id="catch-up" open>' in html
    # Posted without the confirmation: the page asks, nothing is cleared.
    response = alice_http.post(reverse("today_act"), {"action": "clear"})
    assert response.status_code == 302
    assert response["Location"] == reverse("today") + "?clear=1#catch-up"
    assert not Touchpoint.objects.filter(outcome="skipped").exists()
    assert len(cadence.today_groups(practice=elm_grove).catch_up) == 2


def test_clearing_skips_what_is_more_than_a_month_late_each_audited(
    alice, alice_http, elm_grove, spread, client_alice_jones
):
    friend = ClientFactory(practice=elm_grove, first_name="Maria", last_name="Santos")
    referral_in(elm_grove, client_alice_jones, days_ago=45, referrer_client=friend)
    before = cadence.today_groups(practice=elm_grove)
    keys = {i.key for i in before.catch_up if i.partner}
    assert len(before.catch_up) == 3 and len(keys) == 2
    through = (today() - dt.timedelta(days=31)).isoformat()
    response = alice_http.post(
        reverse("today_act"),
        {"action": "clear", "confirm": "yes", "through": through},
        follow=True,
    )
    page = response.content.decode()
    assert "Cleared 2 things more than a month late: each is marked skipped." in page
    assert "1 is about a referral with no partner in your network" in page
    skipped = Touchpoint.objects.filter(practice=elm_grove, outcome="skipped")
    assert {t.cadence_key for t in skipped} == keys
    assert all(t.by == alice.user for t in skipped)
    entries = AuditEntry.objects.filter(practice=elm_grove, action="referwell.today.skipped")
    assert sorted(e.data["key"] for e in entries) == sorted(keys)
    after = cadence.today_groups(practice=elm_grove)
    assert [i.kind for i in after.catch_up] == ["thank_you"]  # no partner: stays
    assert [i.partner_name for i in after.older] == ["Due -30", "Due -8"]  # untouched
    assert after.now == before.now
    # A skip is no contact: the partner's reminders come back with the next contact's cadence.
    assert not Touchpoint.objects.filter(practice=elm_grove, date=today()).exclude(
        outcome="skipped"
    )


def test_clearing_never_reaches_a_later_day_than_a_month_ago(alice_http, elm_grove, spread):
    alice_http.post(
        reverse("today_act"),
        {"action": "clear", "confirm": "yes", "through": today().isoformat()},
    )
    after = cadence.today_groups(practice=elm_grove)
    assert not after.catch_up and len(after.older) == 2 and after.now == 5


def test_another_practices_owner_clears_nothing_of_alices(charlie_http, elm_grove, spread):
    response = charlie_http.post(reverse("today_act"), {"action": "clear", "confirm": "yes"})
    assert response.status_code == 302
    assert not Touchpoint.objects.filter(outcome="skipped").exists()
    assert len(cadence.today_groups(practice=elm_grove).catch_up) == 2
    # Nor acts on one of her items.
    item = cadence.today_groups(practice=elm_grove).due_today[0]
    response = charlie_http.post(
        reverse("today_act"),
        {"key": item.key, "partner": item.partner, "action": "skipped"},
    )
    assert response.status_code == 404


def test_the_front_desk_may_clear_the_catch_up(bob_http, elm_grove, spread):
    assert "Clear what no longer matters" in bob_http.get(reverse("today")).content.decode()
    bob_http.post(reverse("today_act"), {"action": "clear", "confirm": "yes"})
    assert not cadence.today_groups(practice=elm_grove).catch_up


# --- acting on an item ------------------------------------------------------------------------


def test_an_action_from_the_dashboard_comes_back_to_it(alice_http, elm_grove):
    partner = keep_in_touch_due(elm_grove, -2)
    (item,) = cadence.today(practice=elm_grove)
    data = {"key": item.key, "partner": partner.pk, "action": "log_call", "back": "dashboard"}
    response = alice_http.post(reverse("today_act"), data)
    assert response.status_code == 302 and response["Location"] == reverse("dashboard")
    assert partner.touchpoints.filter(kind="call", date=today()).exists()
    # Anywhere else it names: Today.
    data.update(back="https://evil.example/")
    response = alice_http.post(reverse("today_act"), data)
    assert response["Location"] == reverse("today")


def test_with_htmx_the_item_becomes_what_became_of_it(alice_http, elm_grove):
    partner = keep_in_touch_due(elm_grove, -2, name="Dr. Quick")
    (item,) = cadence.today(practice=elm_grove)
    base = {"key": item.key, "partner": partner.pk}
    response = alice_http.post(
        reverse("today_act"), {**base, "action": "log_call"}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    html = response.content.decode()
    # The item goes (nothing in its place); the page says what was done, in its status line.
    assert html.startswith('<div id="today-done" role="status" hx-swap-oob="true">')
    assert "<li>Logged: Phone call with Dr. Quick.</li>" in html and "today-item" not in html
    page = alice_http.get(reverse("today")).content.decode()
    assert '<div id="today-done" role="status"></div>' in page
    assert "Logged: Phone call" not in page  # said once, not again on the next page
    dashboard = alice_http.get(reverse("dashboard")).content.decode()
    assert '<div id="today-done" role="status"></div>' in dashboard
    assert not cadence.today(practice=elm_grove)
    # A mistake is said on the page, reloaded.
    response = alice_http.post(
        reverse("today_act"),
        {**base, "action": "snoozed", "until": "soon"},
        headers={"HX-Request": "true"},
    )
    assert response["HX-Redirect"] == reverse("today")
    page = alice_http.get(reverse("today")).content.decode()
    assert "Choose a date to snooze until." in page


# --- the dashboard ----------------------------------------------------------------------------


def test_the_dashboard_opens_with_what_to_do_next(alice_http, elm_grove):
    for n, offset in enumerate((-20, -5, -3, -2, -1, 0, 0, 3)):
        keep_in_touch_due(elm_grove, offset, name=f"Partner {n}")
    html = alice_http.get(reverse("dashboard")).content.decode()
    head = html.index(">What to do next</h2>")
    assert head < html.index("Key figures") and head < html.index("Nothing new from partners")
    items = items_of(html)
    assert len(items) == 5  # of 7 due now
    assert "All 7 on Today" in html and "1 coming up this week" in html
    assert "due today" in items[0] and "due today" in items[1]
    assert "5 days overdue" in items[2]  # then this week's, the most overdue first
    for item in items:
        outside = item.partition('<details class="menu">')[0]
        assert outside.count("<button") + outside.count('class="button"') == 1
        assert '<input type="hidden" name="back" value="dashboard">' in item


def test_with_nothing_due_the_dashboard_says_what_comes_next(alice_http, elm_grove):
    keep_in_touch_due(elm_grove, 2, name="Dr. Soon")
    keep_in_touch_due(elm_grove, -45, name="Dr. Long Ago")
    html = alice_http.get(reverse("dashboard")).content.decode()
    assert "Nothing due today. Coming up this week" in html
    (item,) = items_of(html)
    assert "Dr. Soon" in item and "due in 2 days" in item
    assert "1 to catch up" in html and "Dr. Long Ago" not in html


def test_an_empty_week_says_so(alice_http):
    html = alice_http.get(reverse("dashboard")).content.decode()
    assert "Nothing due this week: your network is looked after." in html
    page = alice_http.get(reverse("today")).content.decode()
    assert '<div class="empty"><p>Nothing due this week' in page


def test_the_front_desk_dashboard_shows_what_to_do_without_clinical_text(
    bob_http, elm_grove, partner
):
    client = ClientFactory(practice=elm_grove, first_name="Ann", last_name="Bell", notes=MARK)
    referral_in(elm_grove, client, days_ago=3, partner=partner, reasons=f"{MARK}-reasons")
    html = bob_http.get(reverse("dashboard")).content.decode()
    assert "Thank Dr. Dana Spine for referring A. B. on" in html
    assert MARK not in html


def test_another_practice_sees_none_of_alices_items(charlie_http, alice_http, elm_grove):
    keep_in_touch_due(elm_grove, 0, name="Dr. Elm Only")
    assert "Dr. Elm Only" in alice_http.get(reverse("dashboard")).content.decode()
    for url in (reverse("dashboard"), reverse("today")):
        assert "Dr. Elm Only" not in charlie_http.get(url).content.decode()


# --- a practice that fell behind ---------------------------------------------------------------


def test_a_practice_that_fell_behind_sees_fifty_a_page_and_its_catch_up_a_page_at_a_time(
    alice_http, elm_grove
):
    from referwell.outreach.today_views import TODAY_PAGE_SIZE

    for i in range(TODAY_PAGE_SIZE + 7):
        keep_in_touch_due(elm_grove, -8 - i % 23, name=f"Older {i:03d}")
        keep_in_touch_due(elm_grove, -40 - i, name=f"Behind {i:03d}")
    first = alice_http.get(reverse("today")).content.decode()
    assert f"1–{TODAY_PAGE_SIZE} of {TODAY_PAGE_SIZE + 7}" in first
    assert len(items_of(first.split('id="catch-up"')[0])) == TODAY_PAGE_SIZE
    assert len(items_of(first.split('id="catch-up"')[1])) == TODAY_PAGE_SIZE
    assert "?page=2" in first and "?catchup=2#catch-up" in first
    second = alice_http.get(reverse("today") + "?page=2").content.decode()
    assert ">Older <span" in second and "continued" in second
    assert len(items_of(second.split('id="catch-up"')[0])) == 7
    behind = alice_http.get(reverse("today") + "?catchup=2").content.decode()
    rest = behind.split('id="catch-up"')[1]
    assert len(items_of(rest)) == 7 and "Behind 000" in rest  # the least overdue last
    assert f"{TODAY_PAGE_SIZE + 1}–{TODAY_PAGE_SIZE + 7} of {TODAY_PAGE_SIZE + 7}" in rest


# --- in a browser, on a phone and on a laptop --------------------------------------------------


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("width", "height"), [(390, 844), (1280, 900)], ids=["phone", "laptop"])
def test_today_in_a_browser(page, live_server, alice, elm_grove, width, height):
    from pathlib import Path

    from playwright.sync_api import expect

    for offset in (-45, -33, -3, -1, 0, 2, 5):
        keep_in_touch_due(elm_grove, offset, name=f"Dr. Partner {offset:+d}")
    page.set_viewport_size({"width": width, "height": height})
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("E-mail").fill("alice@example.com")
    page.get_by_label("Password").fill("password")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="What to do next")).to_be_visible()
    page.get_by_role("link", name="Open Today").click()
    page.wait_for_function("() => window.htmx !== undefined && document.readyState === 'complete'")
    items = page.locator(".today-item")
    expect(items).to_have_count(7)
    # On a phone the first screen holds at least three items of what to do now.
    third = items.nth(2).bounding_box()
    assert third["y"] + third["height"] <= height
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    shots = Path("/tmp/todayshots")
    shots.mkdir(exist_ok=True)
    page.screenshot(path=str(shots / f"today-{width}.png"), full_page=True)

    # One click does an item: htmx replaces it by what was done, the page stays.
    page.evaluate("window.__notReloaded = true")
    item = items.filter(has_text="Dr. Partner -3")
    expect(item.locator("button:visible")).to_have_count(1)  # the menu's are folded
    item.get_by_role("button", name="Log a call").click()
    expect(page.locator("#today-done")).to_contain_text("Logged: Phone call with Dr. Partner -3")
    expect(items).to_have_count(6)
    assert page.evaluate("window.__notReloaded") is True

    # The catch-up: folded, then cleared once confirmed.
    catch_up = page.locator("details.catch-up")
    expect(catch_up.get_by_role("link", name="Losing touch with Dr. Partner -45")).to_be_hidden()
    catch_up.locator("> summary").click()
    catch_up.get_by_role("link", name="Clear what no longer matters").click()
    expect(page.get_by_role("alert")).to_contain_text("Clear 2 things more than a month late?")
    page.screenshot(path=str(shots / f"today-clear-{width}.png"), full_page=True)
    page.get_by_role("button", name="Yes, clear 2").click()
    expect(page.locator(".messages")).to_contain_text("Cleared 2 things more than a month late")
    expect(page.locator("details.catch-up")).to_have_count(0)
    expect(page.locator(".today-item")).to_have_count(4)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
