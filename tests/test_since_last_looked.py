"""The dashboard's "Since you last looked" (issue "Safe, clear referral work in a therapist's
hands", item 3): what partners answered through their secure link, and the referrals that
arrived through the practice's public page, since the member last marked them seen — their
own, in their own practice. The front desk learns that an answer came, not what its note says.
Reading the page marks nothing seen: only "Mark as seen" does."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from django.test import Client as HttpClient
from django.urls import reverse
from django.utils import timezone

from referwell.accounts.models import Member, Role
from referwell.clients.models import Consent, ConsentScope
from referwell.inbound.models import ReferralRequest
from referwell.referrals import services
from referwell.referrals.models import EventKind, ReferralEvent, ReferralLink, Via
from referwell.referrals.states import Status
from tests.factories import (
    ClientFactory,
    MemberFactory,
    PartnerFactory,
    ReferralFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

HEAD = "Since you last looked"
PRECAUTION = "Avoid deep work on the neck until I have seen the MRI."
REASON = "Not taking new patients until May."


@pytest.fixture
def tess(elm_grove):
    """A therapist of Elm Grove besides alice: her news is her own."""
    user = UserFactory(email="tess@example.com", first_name="Tess", last_name="Therapist")
    return MemberFactory(user=user, practice=elm_grove, role=Role.THERAPIST)


def _http(member):
    http = HttpClient()
    http.force_login(member.user)
    return http


@pytest.fixture
def sent(elm_grove, partner):
    """A referral out of Elm Grove, sent to Dr. Dana Spine, for a client of its own."""

    def make(first_name="Alice", partner=partner, practice=elm_grove):
        client = ClientFactory(practice=practice, first_name=first_name, last_name="Jones")
        Consent.objects.create(
            practice=practice, client=client, partner=partner, scope=ConsentScope.REPORT
        )
        hour_ago = timezone.now() - dt.timedelta(hours=1)
        referral = ReferralFactory(
            practice=practice,
            client=client,
            partner=partner,
            status=Status.SENT,
            sent_at=hour_ago,
            reasons="Neck pain after a fall.",
        )
        ReferralEvent.objects.create(
            practice=practice, referral=referral, to_status=Status.SENT, at=hour_ago
        )
        return referral

    return make


def _answer(referral, action, note=""):
    """As the partner's page does: the link (and its referral) read afresh for each answer."""
    link = ReferralLink.objects.filter(referral=referral, revoked_at__isnull=True).first()
    if link is None:
        link, _ = services.link_issue(referral=referral, by=None)
    fresh = ReferralLink.objects.get(pk=link.pk)
    services.link_act(link=fresh, action=action, note=note, ip_address=None)


def _dashboard(http):
    response = http.get(reverse("dashboard"))
    assert response.status_code == 200
    return response.content.decode()


def _news(html):
    """The section "Since you last looked", or "" when there is none."""
    if HEAD not in html:
        return ""
    return html.split(f">{HEAD}</h2>")[1].split("</section>")[0]


def _mark_seen(http, html=None):
    """Press "Mark as seen" on the page `html` (as read: its form's moment)."""
    until = re.search(r'name="until" value="([^"]+)"', html or _dashboard(http)).group(1)
    response = http.post(reverse("dashboard"), {"until": until})
    assert response.status_code == 302 and response["Location"] == reverse("dashboard")
    return response


def _inbound(practice, first="Ann", referrer="Dr. Dana Spine", **fields):
    return ReferralRequest.objects.create(
        practice=practice,
        referrer_name=referrer,
        referrer_organization="Spine Clinic",
        client_first_name=first,
        client_last_name="Other",
        reason="Whiplash, three weeks; sleeps badly.",
        client_agreed_to_be_contacted=True,
        **fields,
    )


# --- what it shows --------------------------------------------------------------------------


def test_the_partners_answers_are_on_the_dashboard_naming_partner_move_and_when(alice_http, sent):
    accepted, declined, seen, noted = sent("Alice"), sent("Bea"), sent("Cora"), sent("Dora")
    _answer(accepted, "accept", PRECAUTION)
    _answer(declined, "decline", REASON)
    _answer(seen, "accept")
    _answer(seen, "seen")
    _answer(noted, "note", "Booked for Monday.")

    news = _news(_dashboard(alice_http))
    assert news
    detail = reverse("referral_detail", args=[accepted.pk])
    assert f'accepted the referral of <a href="{detail}">Alice Jones</a>' in news
    assert "<strong>Dr. Dana Spine</strong>" in news
    assert f"“{PRECAUTION}”" in news
    # A note that asks to hold back is marked as a precaution.
    assert '<li class="precaution"><strong>Precaution</strong>' in news
    assert f"Their reason: “{REASON}”" in news
    assert "declined the referral of" in news
    seen_link = reverse("referral_detail", args=[seen.pk])
    assert f'has seen <a href="{seen_link}">Cora Jones</a>' in news
    assert f'accepted the referral of <a href="{seen_link}">Cora Jones</a>' in news
    assert "sent a note about" in news and "“Booked for Monday.”" in news
    # "Received" is what the link marks on the way to the partner's answer: not said again.
    assert "received the referral of" not in news
    # When: the day and the time of each answer.
    today = timezone.localtime()
    assert f"{today:%b} {today.day}, " in news
    # Newest first.
    assert news.index("Dora Jones") < news.index("Alice Jones")


def test_a_received_alone_is_an_answer(alice_http, sent):
    referral = sent()
    _answer(referral, "received")
    news = _news(_dashboard(alice_http))
    assert "received the referral of" in news and "Alice Jones" in news


def test_the_front_desk_is_told_a_note_came_in_plain_words(bob_http, sent):
    _answer(sent("Alice"), "accept", PRECAUTION)
    _answer(sent("Bea"), "note", PRECAUTION)
    news = _news(_dashboard(bob_http))
    assert "A note came with it, for therapists and owners." in news
    assert "The note is for therapists and owners." in news
    assert PRECAUTION not in news and "Precaution" not in news


def test_notes_are_plain_text(alice_http, sent):
    referral = sent()
    _answer(referral, "note", "<script>alert(1)</script> <b>avoid</b> pressure")
    news = _news(_dashboard(alice_http))
    assert "<script>alert(1)" not in news and "<b>avoid</b>" not in news
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &lt;b&gt;avoid&lt;/b&gt; pressure" in news


def test_the_front_desk_sees_that_an_answer_came_not_its_note(bob_http, alice_http, sent):
    referral = sent()
    _answer(referral, "decline", REASON)
    _answer(sent("Bea"), "accept")
    html = _dashboard(bob_http)
    news = _news(html)
    assert "<strong>Dr. Dana Spine</strong> declined the referral of" in news
    assert "Alice Jones" in news and "Bea Jones" in news
    assert REASON not in html and "Their reason:" not in html
    assert "Their reason is for therapists and owners." in news
    assert news.count("for therapists and owners") == 1  # the acceptance came without a note
    # The clinical roles read it.
    assert REASON in _news(_dashboard(alice_http))


def test_new_referrals_through_the_public_page_link_to_their_request(
    alice_http, bob_http, elm_grove
):
    waiting = _inbound(elm_grove)
    taken = _inbound(elm_grove, first="Ben", status="accepted")
    for http in (alice_http, bob_http):
        html = _dashboard(http)
        news = _news(html)
        assert "Referrals through your public pages" in news
        link = reverse("inbound_detail", args=[waiting.pk])
        assert f'<a href="{link}">Ann Other</a>, from Dr. Dana Spine (Spine Clinic)' in news
        # One a colleague already accepted says so.
        assert reverse("inbound_detail", args=[taken.pk]) in news
        assert '<span class="badge accepted">Accepted</span>' in news
        assert "Whiplash" not in html  # the reason is read on its page


# --- since when -------------------------------------------------------------------------------


def test_reloading_marks_nothing_seen(alice, alice_http, sent, elm_grove):
    _answer(sent(), "accept")
    _inbound(elm_grove)
    for _ in range(3):
        news = _news(_dashboard(alice_http))
        assert "Alice Jones" in news and "Ann Other" in news
    alice.refresh_from_db()
    assert alice.seen_news_at is None


def test_mark_as_seen_empties_it_until_something_new_comes(alice, alice_http, sent, elm_grove):
    referral = sent()
    _answer(referral, "accept")
    _inbound(elm_grove)
    html = _dashboard(alice_http)
    assert 'method="post" action="/"' in _news(html) and ">Mark as seen</button>" in html
    _mark_seen(alice_http, html)

    alice.refresh_from_db()
    assert alice.seen_news_at is not None
    html = _dashboard(alice_http)
    assert HEAD not in html and "Mark as seen" not in html
    seen = timezone.localtime(alice.seen_news_at)
    assert (
        f'<p class="muted news-none">Nothing new from partners since {seen:%b} {seen.day}.</p>'
        in html
    )

    # The partner's next answer is news again, alone.
    _answer(referral, "seen")
    news = _news(_dashboard(alice_http))
    assert "has seen" in news and "accepted the referral of" not in news
    assert "Ann Other" not in news
    assert f"Since you marked it seen on {seen:%b} {seen.day}, {seen:%H:%M}" in news


def test_what_arrived_while_the_page_was_read_stays_news(alice, alice_http, sent):
    _answer(sent("Alice"), "accept")
    html = _dashboard(alice_http)  # read…
    _answer(sent("Bea"), "accept")  # …and meanwhile the partner answers another
    _mark_seen(alice_http, html)
    news = _news(_dashboard(alice_http))
    assert "Bea Jones" in news and "Alice Jones" not in news


def test_mark_as_seen_never_goes_back_nor_past_now(alice, alice_http):
    now = timezone.now()
    Member.objects.filter(pk=alice.pk).update(seen_news_at=now)
    alice_http.post(reverse("dashboard"), {"until": (now - dt.timedelta(days=3)).isoformat()})
    alice.refresh_from_db()
    assert alice.seen_news_at == now
    alice_http.post(reverse("dashboard"), {"until": (now + dt.timedelta(days=3)).isoformat()})
    alice.refresh_from_db()
    assert now < alice.seen_news_at <= timezone.now()
    # Without a moment (or a wrong one): now.
    alice_http.post(reverse("dashboard"), {"until": "yesterday"})
    alice.refresh_from_db()
    assert timezone.now() - alice.seen_news_at < dt.timedelta(seconds=5)


def test_never_marked_seen_is_the_last_14_days(alice_http, sent, elm_grove):
    old, recent = sent("Olga"), sent("Rita")
    _answer(old, "accept")
    _answer(recent, "accept")
    ReferralEvent.objects.filter(referral=old, via=Via.PARTNER_LINK).update(
        at=timezone.now() - dt.timedelta(days=15)
    )
    ReferralEvent.objects.filter(referral=recent, via=Via.PARTNER_LINK).update(
        at=timezone.now() - dt.timedelta(days=13)
    )
    old_request = _inbound(elm_grove, first="Oscar")
    ReferralRequest.objects.filter(pk=old_request.pk).update(
        created_at=timezone.now() - dt.timedelta(days=15)
    )
    news = _news(_dashboard(alice_http))
    assert "Rita Jones" in news
    assert "Olga Jones" not in news and "Oscar" not in news
    assert "In the last 14 days" in news


def test_the_empty_dashboard_says_so_in_one_line(alice_http):
    html = _dashboard(alice_http)
    assert HEAD not in html and "Mark as seen" not in html
    since = timezone.localtime() - dt.timedelta(days=14)
    assert f"Nothing new from partners since {since:%b} {since.day}." in html


def test_only_the_latest_are_listed(alice_http, sent):
    for i in range(12):
        _answer(sent(f"Client{i:02}"), "note", f"Note {i}")
    news = _news(_dashboard(alice_http))
    assert news.count("sent a note about") == 10
    assert "Client11 Jones" in news and "Client01 Jones" not in news
    assert "The latest 10 are shown" in news


# --- whose ------------------------------------------------------------------------------------


def test_each_member_marks_their_own(alice_http, tess, sent):
    _answer(sent(), "accept")
    _mark_seen(alice_http)
    assert HEAD not in _dashboard(alice_http)
    assert "Alice Jones" in _news(_dashboard(_http(tess)))


def test_another_practices_answers_and_requests_never_show(
    alice_http, charlie, charlie_http, sent, other_practice, elm_grove
):
    lakeside_partner = PartnerFactory(practice=other_practice, name="Dr. Lake Shore")
    _answer(sent("Lena", partner=lakeside_partner, practice=other_practice), "decline", REASON)
    _inbound(other_practice, first="Lakeside", referrer="Dr. Lake Shore")
    html = _dashboard(alice_http)
    assert HEAD not in html
    assert "Lake Shore" not in html and "Lena" not in html and "Lakeside" not in html
    assert REASON not in html

    _answer(sent("Alice"), "accept", PRECAUTION)
    _inbound(elm_grove)
    news = _news(_dashboard(charlie_http))
    assert "Dr. Lake Shore" in news and "Lena Jones" in news and "Lakeside Other" in news
    assert "Dana Spine" not in news and "Alice Jones" not in news and "Ann Other" not in news
    assert PRECAUTION not in news
    # Marking his seen marks nobody else's.
    _mark_seen(charlie_http)
    assert "Alice Jones" in _news(_dashboard(alice_http))


def test_mark_as_seen_needs_the_forms_csrf_token(alice, sent):
    _answer(sent(), "accept")
    http = HttpClient(enforce_csrf_checks=True)
    http.force_login(alice.user)
    response = http.post(reverse("dashboard"), {"until": timezone.now().isoformat()})
    assert response.status_code == 403
    alice.refresh_from_db()
    assert alice.seen_news_at is None
    html = _dashboard(http)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', _news(html)).group(1)
    until = re.search(r'name="until" value="([^"]+)"', html).group(1)
    response = http.post(reverse("dashboard"), {"until": until, "csrfmiddlewaretoken": token})
    assert response.status_code == 302
    alice.refresh_from_db()
    assert alice.seen_news_at is not None


def test_anonymous_cannot_mark_anything_seen(client, alice):
    response = client.post(reverse("dashboard"), {"until": timezone.now().isoformat()})
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    alice.refresh_from_db()
    assert alice.seen_news_at is None


def test_what_is_kept_of_the_dashboard_is_not_the_news(alice_http, tess, sent):
    """The dashboard's figures are kept while the practice's data holds (accounts/kept.py);
    the news is read for each member at each request: marking it seen changes it at once."""
    referral = sent()
    _answer(referral, "accept")
    html = _dashboard(alice_http)  # the figures are kept now
    assert "Alice Jones" in _news(html)
    _mark_seen(alice_http, html)
    assert HEAD not in _dashboard(alice_http)
    assert "Alice Jones" in _news(_dashboard(_http(tess)))  # the same figures, her news


def test_undoing_or_a_note_by_hand_is_not_a_partners_answer(alice, alice_http, sent):
    referral = sent()
    services.referral_note(referral=referral, by=alice.user, note="Called the office.")
    services.referral_transition(referral=referral, to=Status.ACCEPTED, by=alice.user)
    assert HEAD not in _dashboard(alice_http)
    assert not ReferralEvent.objects.filter(via=Via.PARTNER_LINK).exists()
    assert ReferralEvent.objects.filter(kind=EventKind.NOTE).count() == 1


# --- in a browser, on a phone and on a laptop -------------------------------------------------

SHOTS = Path("/tmp/dashshots")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("width", "height"), [(390, 844), (1280, 900)], ids=["phone", "laptop"])
def test_the_partners_answer_reaches_the_dashboard_in_a_browser(
    page, live_server, alice, elm_grove, client_alice_jones, partner, width, height
):
    from playwright.sync_api import expect

    Consent.objects.create(
        practice=elm_grove, client=client_alice_jones, partner=partner, scope=ConsentScope.REPORT
    )
    referral = services.referral_create(
        practice=elm_grove,
        by=alice.user,
        fields={"client": client_alice_jones, "partner": partner, "reasons": "Whiplash"},
    )
    services.referral_transition(referral=referral, to=Status.CONSENTED, by=alice.user)
    url = services.referral_send(referral=referral, by=alice.user, base_url=live_server.url)["url"]
    page.set_viewport_size({"width": width, "height": height})

    # The partner answers through the link, with a note, on their own device.
    page.goto(url)
    page.get_by_role("button", name="I can see Alice").click()
    expect(page.locator(".messages")).to_contain_text("has your answer")
    page.get_by_label("A short note to Elm Grove Massage").fill(PRECAUTION)
    page.get_by_role("button", name="Send the note").click()
    expect(page.locator(".messages")).to_contain_text("has your")
    page.context.clear_cookies()

    # The sender logs in: the answer is the first thing on the dashboard.
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("E-mail").fill("alice@example.com")
    page.get_by_label("Password").fill("password")
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(f"{live_server.url}/")
    news = page.locator("section[aria-labelledby=news-head]")
    expect(news.get_by_role("heading", name=HEAD)).to_be_visible()
    expect(news).to_contain_text("Dr. Dana Spine accepted the referral of Alice Jones")
    expect(news).to_contain_text(PRECAUTION)
    expect(news.locator("li.precaution")).to_contain_text("Precaution")
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / f"test-news-{width}.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    button = news.get_by_role("button", name="Mark as seen")
    assert button.bounding_box()["height"] >= 44

    # Its link opens the referral.
    news.get_by_role("link", name="Alice Jones").first.click()
    expect(page).to_have_url(f"{live_server.url}/referrals/{referral.pk}/")
    page.go_back()
    expect(news).to_contain_text("Alice Jones")  # still there: reading marks nothing seen

    page.get_by_role("button", name="Mark as seen").click()
    expect(page).to_have_url(f"{live_server.url}/")
    expect(page.locator("main")).to_contain_text("Nothing new from partners since")
    expect(page.get_by_role("heading", name=HEAD)).to_have_count(0)
    page.reload()
    expect(page.get_by_role("heading", name=HEAD)).to_have_count(0)
    page.screenshot(path=str(SHOTS / f"test-news-seen-{width}.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
