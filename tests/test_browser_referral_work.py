"""The referral's work walked as a therapist, a client and a partner would, in Chromium, on a phone
(390 × 844) and a laptop (1280 × 900): consent signed by the client through their link, the
letter read and edited before it leaves (the e-mail and its PDF carry what was read, names in
Polish, Vietnamese and Japanese intact), the partner's answer and note reaching the therapist's
client page and inbox, and a link that expired naming the practice to call.

Screenshots go to /tmp/shots (looked at when the pages change)."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import Page, expect
from pypdf import PdfReader

from referwell.core.fonts import pdf_fonts
from referwell.referrals.models import Referral, ReferralLink
from referwell.referrals.services import referral_create
from referwell.referrals.states import Status
from tests.test_consent_sign import _draw

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not pdf_fonts(), reason="the PDF fonts are not installed: run `make fonts`"),
]

SHOTS = Path("/tmp/shots")
NOTE = "Cervical strain — avoid deep work on the neck for 2 weeks."
SIZES = [(390, 844, "Hương", "Nguyễn"), (1280, 900, "太郎", "山田")]


def _fits(page: Page) -> None:
    """Nothing in the page is wider than the window."""
    wide = page.evaluate(
        """() => [...document.querySelectorAll("main *")]
             .filter(e => e.getBoundingClientRect().right > window.innerWidth + 0.5)
             .map(e => e.tagName + "." + e.className)"""
    )
    assert not wide, wide


def _shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def _mail_to(address: str):
    found = [m for m in mail.outbox if address in m.to]
    assert found, [m.to for m in mail.outbox]
    return found[-1]


@pytest.mark.parametrize(("width", "height", "first", "last"), SIZES, ids=["phone", "laptop"])
def test_a_referral_walked_from_consent_to_the_partners_answer(
    page: Page,
    browser,
    live_server,
    alice,
    elm_grove,
    client_alice_jones,
    partner,
    width,
    height,
    first,
    last,
):
    elm_grove.phone = "414-555-0100"
    elm_grove.email = "hello@elmgrove.example"
    elm_grove.save()
    partner.name = "Dr. Łucja Wąsowska"
    partner.email = "lucja@spine.example"
    partner.save()
    client = client_alice_jones
    client.first_name, client.last_name = first, last
    client.email = "client@example.com"
    client.save()
    referral = referral_create(
        practice=elm_grove,
        by=alice.user,
        fields={"client": client, "partner": partner, "reasons": "Whiplash, three weeks ago."},
    )
    size = "phone" if width < 600 else "laptop"

    # The therapist logs in and records the consent this letter needs, from the referral.
    page.set_viewport_size({"width": width, "height": height})
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("E-mail").fill("alice@example.com")
    page.get_by_label("Password").fill("password")
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(f"{live_server.url}/")
    page.goto(f"{live_server.url}{reverse('consent_add', args=[client.pk])}?referral={referral.pk}")
    expect(page.locator("#id_partner")).to_have_value(str(partner.pk))  # prefilled
    expect(page.locator("input[name=scope][value=report]")).to_be_checked()
    page.get_by_label(f"E-mail {first} a link to sign, at client@example.com").check()
    _fits(page)
    _shot(page, f"walk-{size}-1-consent")
    page.get_by_role("button", name="Record consent").click()
    expect(page).to_have_url(re.compile(rf"/referrals/{referral.pk}/$"))  # back to the referral

    # The client signs on their own phone, through the link in their e-mail.
    invitation = _mail_to("client@example.com")
    assert first not in invitation.subject
    link = re.search(r"https?://\S+/consent/[\w-]+/", invitation.body).group(0)
    phone = browser.new_context(viewport={"width": 390, "height": 844})
    client_page = phone.new_page()
    client_page.goto(link)
    client_page.locator("input[name=signed_name]").fill(f"{first} {last}")
    _draw(client_page, client_page.locator("canvas"))
    _fits(client_page)
    client_page.get_by_role("button", name="I agree").click()
    expect(client_page.locator(".messages")).to_contain_text("has your signed consent")

    # The therapist moves it on, then reads the letter before it leaves and adds a line.
    page.goto(f"{live_server.url}/referrals/{referral.pk}/")
    page.get_by_role("button", name="Client agreed").click()
    badge = page.locator(".actions .badge")
    expect(badge).to_have_text("Client consented")
    page.get_by_role("link", name=re.compile("Read and send the letter")).click()
    body = page.locator("#id_body")
    expect(body).to_contain_text(f"{first} {last}")
    expect(body).to_contain_text("Dear Dr. Wąsowska")
    expect(page.locator("#id_subject")).not_to_have_value(re.compile(re.escape(first)))
    _fits(page)
    _shot(page, f"walk-{size}-2-letter")
    body.fill(body.input_value() + "\nP.S. She prefers mornings.")
    page.get_by_role("button", name=re.compile(r"^Send ")).click()
    expect(badge).to_have_text("Sent")

    # What was read is what left: the e-mail and the PDF it carries.
    letter = _mail_to("lucja@spine.example")
    assert "P.S. She prefers mornings." in letter.body and f"{first} {last}" in letter.body
    assert first not in letter.subject and last not in letter.subject
    ((_, pdf, _),) = letter.attachments
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    assert f"{first} {last}" in text and "Wąsowska" in text and "She prefers mornings" in text

    # The partner answers on their phone, without an account, with a precaution.
    partner_url = re.search(r"https?://\S+/l/[\w-]+/", letter.body).group(0)
    partner_page = phone.new_page()
    partner_page.goto(partner_url)
    partner_page.get_by_role("button", name=f"I can see {first}").click()
    expect(partner_page.locator(".badge")).to_have_text("Accepted")
    partner_page.get_by_label(re.compile("A short note to Elm Grove Massage")).fill(NOTE)
    partner_page.get_by_role("button", name="Send the note").click()
    _fits(partner_page)
    _shot(partner_page, f"walk-{size}-3-partner")

    # The sender hears of it by e-mail, and finds it on the client's page.
    told = _mail_to("alice@example.com")
    assert NOTE in told.body or "note" in told.body.lower()
    page.goto(f"{live_server.url}/clients/{client.pk}/")
    from_partners = page.locator("#from-partners").locator("xpath=..")
    expect(from_partners).to_contain_text(NOTE)
    _fits(page)
    _shot(page, f"walk-{size}-4-client")

    # Months later the link has expired: the partner is told whom to call, nothing else.
    ReferralLink.objects.filter(referral=referral).update(
        expires_at=timezone.now() - timezone.timedelta(minutes=1)
    )
    partner_page.goto(partner_url)
    expect(partner_page.get_by_role("heading", level=1)).to_have_text("This link has expired.")
    expect(partner_page.locator("main")).to_contain_text("414-555-0100")
    expect(partner_page.locator("main")).not_to_contain_text(first)
    _fits(partner_page)
    _shot(partner_page, f"walk-{size}-5-expired")
    phone.close()
    assert Referral.objects.get(pk=referral.pk).status == Status.ACCEPTED
