"""Browser tests: a real Chromium (Debian's) driven by Playwright against the live server.

Run with: .venv/bin/pytest tests/test_browser.py -q
"""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import Page, expect

from referwell.clients.models import Client
from referwell.directory.models import Partner
from referwell.referrals.models import Referral, ReferralEvent
from referwell.referrals.states import Status
from tests.factories import PartnerFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "password"


def log_in(page: Page, live_server, email: str, password: str = PASSWORD) -> None:
    """Log in through the real login form and wait for the dashboard."""
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(f"{live_server.url}/")


def test_login_lands_on_dashboard_and_wrong_password_is_refused(page: Page, live_server, alice):
    # A wrong password: an error, and still on the login page.
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("E-mail").fill("alice@example.com")
    page.get_by_label("Password").fill("not-her-password")
    page.get_by_role("button", name="Log in").click()
    expect(page.locator(".errorlist")).to_contain_text("correct")
    expect(page).to_have_url(re.compile(r"/accounts/login/$"))
    expect(page.get_by_role("heading", name="Log in to Referwell")).to_be_visible()
    expect(page.get_by_role("navigation", name="Main")).to_have_count(0)

    # The right one: the dashboard of her practice.
    log_in(page, live_server, "alice@example.com")
    expect(page.get_by_role("heading", level=1)).to_have_text("Elm Grove Massage")
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()
    expect(page.get_by_role("link", name="New referral")).to_be_visible()


def test_add_partner_then_find_it_with_the_htmx_search(page: Page, live_server, alice, elm_grove):
    PartnerFactory(practice=elm_grove, name="Dr. Dana Spine", professions=["chiropractor"])
    log_in(page, live_server, "alice@example.com")

    page.get_by_role("link", name="Add partner").first.click()
    expect(page.get_by_role("heading", name="Add a partner")).to_be_visible()
    page.locator("#id_name").fill("Dr. Maple Adjust")
    page.get_by_role("checkbox", name="Chiropractor").check()
    page.locator("#id_zip_code").fill("53122")
    page.locator("#id_stage").select_option(label="Met")
    page.get_by_role("button", name="Save partner").click()

    # The detail page of the new partner.
    expect(page).to_have_url(re.compile(r"/partners/\d+/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Dr. Maple Adjust")
    facts = page.locator("dl.facts")
    expect(facts.locator("dt", has_text="Profession").locator("+ dd")).to_have_text("Chiropractor")
    expect(facts.locator("dt", has_text="Stage").locator("+ dd")).to_contain_text("Met")
    expect(page.locator(".messages")).to_contain_text("Dr. Maple Adjust is now in your network.")

    # The list shows both partners.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Partners").click()
    results = page.locator("#results")
    expect(results.get_by_role("link", name="Dr. Maple Adjust")).to_be_visible()
    expect(results.get_by_role("link", name="Dr. Dana Spine")).to_be_visible()
    expect(results).to_contain_text("2 partners")

    # Typing in the search box swaps only #results (htmx), not the whole page.
    search_box = page.get_by_role("textbox", name="Search", exact=True)
    # htmx is a deferred script: type only once it is listening.
    page.wait_for_function("() => window.htmx !== undefined && document.readyState === 'complete'")
    page.evaluate("window.__notReloaded = true")
    with page.expect_response(
        lambda r: (
            "/partners/" in r.url
            and "q=Maple" in r.url
            and r.request.headers.get("hx-request") == "true"
        )
    ):
        search_box.press_sequentially("Maple")
    expect(results.get_by_role("link", name="Dr. Dana Spine")).to_have_count(0)
    expect(results.get_by_role("link", name="Dr. Maple Adjust")).to_be_visible()
    expect(results).to_contain_text("1 partner")
    # The swap replaces the container rather than nesting a second #results inside it.
    expect(results).to_have_count(1)
    expect(page).to_have_url(re.compile(r"[?&]q=Maple"))
    assert page.evaluate("window.__notReloaded") is True
    expect(search_box).to_have_value("Maple")


def test_add_client(page: Page, live_server, alice):
    log_in(page, live_server, "alice@example.com")
    page.get_by_role("link", name="Add client").click()
    expect(page.get_by_role("heading", name="Add a client")).to_be_visible()
    page.locator("#id_first_name").fill("Rosa")
    page.locator("#id_last_name").fill("Marquez")
    page.locator("#id_phone").fill("414-555-0134")
    page.get_by_role("button", name="Save client").click()

    expect(page).to_have_url(re.compile(r"/clients/\d+/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Rosa Marquez")
    expect(page.locator(".messages")).to_contain_text("Rosa Marquez added.")
    expect(page.locator("dl.facts").first).to_contain_text("414-555-0134")
    assert Client.objects.filter(first_name="Rosa", last_name="Marquez").count() == 1


def test_create_referral_then_send_it(page: Page, live_server, alice, client_alice_jones, partner):
    log_in(page, live_server, "alice@example.com")
    page.get_by_role("link", name="New referral").click()
    expect(page.get_by_role("heading", name="New referral")).to_be_visible()
    page.locator("#id_client").select_option(label="Alice Jones")
    page.locator("#id_partner").select_option(label="Dr. Dana Spine")
    page.locator("#id_reasons").fill("Neck pain after a car accident; wants an assessment.")
    page.get_by_role("button", name="Save draft").click()

    expect(page).to_have_url(re.compile(r"/referrals/\d+/$"))
    badge = page.locator(".actions .badge")
    expect(badge).to_have_text("Draft")
    expect(page.get_by_role("heading", level=1)).to_have_text("Alice Jones → Dr. Dana Spine")
    timeline = page.locator("ol.timeline > li")
    expect(timeline).to_have_count(1)
    expect(timeline.first).to_contain_text("Draft")
    referral_pk = int(re.search(r"/referrals/(\d+)/$", page.url).group(1))

    # No consent yet: the move is refused with the reason.
    page.get_by_role("button", name="Client agreed").click()
    expect(page.locator(".messages")).to_contain_text("has not given consent")
    expect(badge).to_have_text("Draft")

    # Record the client's permission on her page, then come back and send.
    page.get_by_role("link", name="Alice Jones").first.click()
    page.get_by_text("Record a consent").click()
    page.locator("#id_partner").select_option(label="Dr. Dana Spine")
    # The letter gives the reason in writing: written consent (talk would not send it).
    page.locator("input[name=scope][value=report]").check()
    page.get_by_label("The client agreed by word: note it, without a signature").check()
    page.get_by_role("button", name="Record consent").click()
    expect(page.locator(".messages")).to_contain_text("Consent recorded.")
    page.goto(f"{live_server.url}/referrals/{referral_pk}/")
    page.get_by_role("button", name="Client agreed").click()
    expect(badge).to_have_text("Client consented")
    page.get_by_role("link", name=re.compile("Read and send the letter")).click()
    # The letter as it will leave, editable for this one letter.
    expect(page.get_by_role("heading", name="Read the letter before it leaves")).to_be_visible()
    body = page.locator("#id_body")
    expect(body).to_contain_text("I would like to refer my client")
    body.fill(body.input_value() + "\nP.S. She prefers mornings.")
    page.get_by_role("button", name="Send the letter").click()

    expect(badge).to_have_text("Sent")
    expect(page.locator(".messages")).to_contain_text("Referral sent")
    expect(page.get_by_label("Partner link")).to_have_value(re.compile(r"/l/[\w-]+/$"))
    expect(timeline).to_have_count(3)
    expect(timeline.nth(2)).to_contain_text("Sent")

    referral = Referral.objects.get(pk=referral_pk)
    assert referral.status == Status.SENT
    assert referral.client_id == client_alice_jones.pk
    assert referral.partner_id == partner.pk
    assert referral.sent_at is not None
    events = list(ReferralEvent.objects.filter(referral=referral).order_by("at", "id"))
    assert [(e.from_status, e.to_status) for e in events] == [
        ("", Status.DRAFT),
        (Status.DRAFT, Status.CONSENTED),
        (Status.CONSENTED, Status.SENT),
    ]
    assert events[-1].by_id == alice.user_id
    # What was read and edited is what left: the outbox holds the edited letter.
    from referwell.outreach.models import OutgoingMessage

    message = OutgoingMessage.objects.get(referral=referral)
    assert "P.S. She prefers mornings." in message.body and "/l/" in message.body
    assert "[the secure link" not in message.body


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_partner_answers_through_the_link_without_an_account(
    page: Page, live_server, alice, client_alice_jones, partner
):
    from referwell.clients.services import consent_create
    from referwell.referrals.services import referral_create, referral_send, referral_transition

    partner.email = "dana@spine.example"
    partner.save()
    consent_create(
        client=client_alice_jones, by=alice.user, fields={"partner": partner, "scope": "report"}
    )
    referral = referral_create(
        practice=alice.practice,
        by=alice.user,
        fields={"client": client_alice_jones, "partner": partner, "reasons": "Whiplash, 3 weeks"},
    )
    referral_transition(referral=referral, to="consented", by=alice.user)
    url = referral_send(referral=referral, by=alice.user, base_url=live_server.url)["url"]

    # The partner, on a phone, with no account.
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(url)
    expect(page.get_by_role("heading", level=1)).to_have_text("Referral from Elm Grove Massage")
    expect(page.locator("dl")).to_contain_text("Alice Jones")
    expect(page.locator("dl")).to_contain_text("Whiplash, 3 weeks")
    expect(page.locator("dl")).not_to_contain_text("rear-ended")  # minimum necessary
    expect(page.locator(".badge")).to_have_text("Sent")  # opening it is not an answer
    page.get_by_role("button", name="I can see Alice").click()
    expect(page.locator(".messages")).to_contain_text("has your answer")
    expect(page.locator(".badge")).to_have_text("Accepted")
    page.get_by_label("A short note to Elm Grove Massage").fill("First visit booked for Monday.")
    page.get_by_role("button", name="Send the note").click()
    page.get_by_role("button", name="I have seen Alice").click()
    expect(page.locator(".badge")).to_have_text("Client seen")

    referral.refresh_from_db()
    assert referral.status == Status.SEEN
    notes = [e.note for e in ReferralEvent.objects.filter(referral=referral)]
    assert any("First visit booked for Monday." in n for n in notes)

    # The therapist revokes the link: it is gone, with nothing to tell why.
    from referwell.referrals.services import link_revoke

    for link in referral.links.all():
        link_revoke(link=link, by=alice.user)
    response = page.goto(url)
    assert response.status == 404
    expect(page.locator("body")).not_to_contain_text("Alice")


def test_partner_form_error_keeps_what_was_typed(page: Page, live_server, alice):
    log_in(page, live_server, "alice@example.com")
    page.goto(f"{live_server.url}/partners/new/")
    page.locator("#id_name").fill("Dr. Zed Wrongzip")
    page.get_by_role("checkbox", name="Chiropractor").check()
    page.locator("#id_zip_code").fill("00000")
    page.get_by_role("button", name="Save partner").click()

    zip_error = page.locator("#id_zip_code_error")
    expect(zip_error).to_be_visible()
    expect(zip_error).to_contain_text("'00000' is not a US ZIP code we know.")
    expect(page).to_have_url(re.compile(r"/partners/new/$"))
    expect(page.locator("#id_name")).to_have_value("Dr. Zed Wrongzip")
    expect(page.locator("#id_zip_code")).to_have_value("00000")
    expect(page.get_by_role("checkbox", name="Chiropractor")).to_be_checked()
    expect(page.locator("#id_professions input:checked")).to_have_count(1)
    assert not Partner.objects.filter(name="Dr. Zed Wrongzip").exists()


def test_dashboard_has_no_horizontal_scroll_on_a_phone(page: Page, live_server, alice, referral):
    page.set_viewport_size({"width": 390, "height": 844})
    log_in(page, live_server, "alice@example.com")
    expect(page.get_by_role("heading", level=1)).to_have_text("Elm Grove Massage")
    # The open referral makes the dashboard render its table too.
    expect(page.get_by_role("link", name="Alice Jones")).to_be_visible()
    assert page.evaluate("window.innerWidth") == 390
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= page.evaluate("window.innerWidth") + 1, (
        f"the dashboard is {scroll_width}px wide on a 390px-wide phone"
    )


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_do_a_due_item_from_today(page: Page, live_server, alice, partner):
    import datetime as dt

    from django.utils import timezone

    from referwell.directory.models import Touchpoint

    Touchpoint.objects.create(
        practice=alice.practice,
        partner=partner,
        kind="call",
        date=timezone.localdate() - dt.timedelta(days=120),
    )
    log_in(page, live_server, "alice@example.com")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Today").click()
    item = page.locator(".today-item", has_text="Losing touch with Dr. Dana Spine")
    expect(item).to_be_visible()
    expect(item).to_contain_text("30 days overdue")
    item.get_by_role("button", name="Log a call").click()
    expect(page.locator(".messages")).to_contain_text("Logged: Phone call with Dr. Dana Spine")
    expect(page.locator(".today-item", has_text="Dr. Dana Spine")).to_have_count(0)
    assert partner.touchpoints.filter(kind="call", date=timezone.localdate()).exists()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_move_a_prospect_through_the_board(page: Page, live_server, alice):
    from referwell.directory.models import Partner
    from tests.factories import PartnerFactory

    prospect = PartnerFactory(practice=alice.practice, name="Dr. Newcomer", stage="prospect")
    log_in(page, live_server, "alice@example.com")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Outreach").click()
    page.wait_for_function("() => window.htmx !== undefined && document.readyState === 'complete'")
    for column in ("Researched", "Contacted", "Met", "Trusted"):
        page.get_by_role("button", name="Move Dr. Newcomer forward").click()
        expect(page.get_by_role("region", name=column).get_by_text("Dr. Newcomer")).to_be_visible()
    expect(page.get_by_role("button", name="Move Dr. Newcomer forward")).to_have_count(0)
    page.get_by_role("region", name="Trusted").get_by_label(
        "How to contact Dr. Newcomer"
    ).select_option(label="Office visit")
    page.get_by_role("region", name="Trusted").get_by_role("button", name="Plan").click()
    expect(page.get_by_role("region", name="Trusted")).to_contain_text("Next: Office visit")
    assert Partner.objects.get(pk=prospect.pk).stage == "trusted"


def test_set_up_two_factor_then_log_in_with_a_code(page: Page, live_server, alice):
    """Scan-free setup (the key typed by hand), the recovery codes, then a login that asks
    for the code before the dashboard."""
    from base64 import b32decode

    from django_otp.oath import TOTP
    from django_otp.plugins.otp_totp.models import TOTPDevice

    def code_after(device: TOTPDevice) -> str:
        device.refresh_from_db()
        step = max(int(time.time()) // 30, device.last_t + 1)
        totp = TOTP(device.bin_key)
        totp.time = step * 30
        return f"{totp.token():06d}"

    log_in(page, live_server, "alice@example.com")
    page.locator(".who .menu > summary").click()  # the account menu
    page.get_by_role("link", name="Two-factor").click()
    expect(page.get_by_role("heading", name="Two-factor login")).to_be_visible()
    expect(page.locator(".qr svg")).to_be_visible()
    secret = page.locator("#totp-secret").inner_text().replace(" ", "")
    totp = TOTP(b32decode(secret + "=" * (-len(secret) % 8)))
    page.get_by_label("Code").fill(f"{totp.token():06d}")
    page.get_by_role("button", name="Turn on two-factor login").click()
    expect(page.get_by_role("heading", name="Your recovery codes")).to_be_visible()
    expect(page.locator("#recovery-codes li")).to_have_count(10)
    page.get_by_role("link", name="I have kept them — continue").click()
    page.locator(".who .menu > summary").click()
    page.get_by_role("button", name="Log out").click()

    page.get_by_label("E-mail").fill("alice@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Enter your code")).to_be_visible()
    expect(page.get_by_role("navigation", name="Main")).to_have_count(0)
    device = TOTPDevice.objects.get(user=alice.user, confirmed=True)
    page.get_by_label("Code").fill(code_after(device))
    page.get_by_role("button", name="Verify").click()
    expect(page).to_have_url(f"{live_server.url}/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Elm Grove Massage")
