"""Issue 23, item 4: consent a client can sign.

From a referral, "Record consent" is filled in with what its letter needs and comes back to it;
each scope says what it allows and each kind of letter needs its scope (a talk consent sends no
written letter); the client signs on the practice's screen, through a link e-mailed to them, or
on paper (uploaded); the signed form is kept as a PDF; the link also withdraws it; every refusal
is said in plain words. The browser test draws a signature with the mouse at 390 × 844.
"""

from __future__ import annotations

import base64
import io
import re
from pathlib import Path

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client as HttpClient
from django.urls import include, path, reverse
from django.utils import timezone
from PIL import Image, ImageDraw
from pypdf import PdfReader

from config.urls import urlpatterns as app_urlpatterns
from referwell.audit.models import AuditEntry, Disclosure
from referwell.clients.documents import signature_png
from referwell.clients.models import Consent, ConsentScope, SignedHow
from referwell.clients.services import (
    CLIENT_LINK_PATH,
    consent_create,
    consent_form_file,
    consent_link_send,
    consent_scope_for,
    consent_sign,
)
from referwell.referrals.services import referral_create, referral_send, referral_transition
from referwell.referrals.states import Status, TransitionError
from tests.factories import ReferralFactory

# The client's pages are wired in config/urls.py by `path("consent/", include(...))`; until
# then (and whatever it becomes), this module is the URL configuration of its tests.
_wired = any(str(p.pattern) == "consent/" for p in app_urlpatterns)
urlpatterns = list(app_urlpatterns) + (
    [] if _wired else [path("consent/", include("referwell.clients.public_urls"))]
)

pytestmark = [pytest.mark.django_db, pytest.mark.urls(__name__)]

SHOTS = Path("/tmp/shots")


# --------------------------------------------------------------------------- helpers


def signature_data_url(width=300, height=120, ink=True, background=(255, 255, 255, 0)):
    """A small PNG data URL as the canvas writes it: a scribble, or nothing drawn."""
    image = Image.new("RGBA", (width, height), background)
    if ink:
        draw = ImageDraw.Draw(image)
        draw.line(
            [(20, 90), (60, 30), (100, 80), (150, 25), (200, 85), (260, 40)],
            fill=(16, 36, 58, 255),
            width=4,
        )
    out = io.BytesIO()
    image.save(out, format="PNG")
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode()


def small_pdf():
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", size=12)
    pdf.cell(0, 10, "I agree. Signed: Alice Jones")
    return bytes(pdf.output())


def small_jpeg():
    out = io.BytesIO()
    Image.new("RGB", (800, 1000), (250, 250, 245)).save(out, format="JPEG")
    return out.getvalue()


def link_from_mail():
    (message,) = mail.outbox
    found = re.search(r"https?://\S+/consent/[\w-]+/", message.body)
    assert found, message.body
    return message, found.group(0)


@pytest.fixture
def out_referral(elm_grove, alice, client_alice_jones, partner):
    partner.email = "dana@spine.example"
    partner.save()
    return referral_create(
        practice=elm_grove,
        by=alice.user,
        fields={"client": client_alice_jones, "partner": partner, "reasons": "Whiplash, 3 weeks"},
    )


@pytest.fixture
def with_email(client_alice_jones):
    client_alice_jones.email = "alice.jones@example.com"
    client_alice_jones.save()
    return client_alice_jones


@pytest.fixture
def practice_contact(elm_grove):
    elm_grove.phone = "414-555-0100"
    elm_grove.email = "hello@elmgrove.example"
    elm_grove.save()
    return elm_grove


# --------------------------------------------------------------------------- the rule


def test_each_kind_needs_its_scope_and_a_talk_consent_sends_no_letter(
    out_referral, alice, client_alice_jones, partner
):
    assert consent_scope_for("referral") == ConsentScope.REPORT
    assert consent_scope_for("progress_report") == ConsentScope.REPORT
    assert consent_scope_for("talk") == ConsentScope.TALK
    consent_create(
        client=client_alice_jones, by=alice.user, fields={"partner": partner, "scope": "talk"}
    )
    # Talk is enough to mark the referral consented (it was talked over) …
    referral_transition(referral=out_referral, to=Status.CONSENTED, by=alice.user)
    # … not to send the letter, which gives the reason in writing.
    with pytest.raises(TransitionError) as refused:
        referral_send(referral=out_referral, by=alice.user, base_url="http://testserver")
    message = str(refused.value)
    assert "Alice has agreed only to “Talk about the client” with Dr. Dana Spine" in message
    assert "“Letters and reports in writing”" in message
    assert f"/clients/{client_alice_jones.pk}/consents/?referral={out_referral.pk}" in message
    assert "report" not in message.split("“")[0]  # no code, no scope key
    out_referral.refresh_from_db()
    assert out_referral.status == Status.CONSENTED
    assert not Disclosure.objects.filter(referral=out_referral).exists()
    assert mail.outbox == []


def test_the_send_refused_on_the_page_says_which_consent_and_where(
    alice_http, out_referral, alice, client_alice_jones, partner
):
    consent_create(
        client=client_alice_jones, by=alice.user, fields={"partner": partner, "scope": "talk"}
    )
    referral_transition(referral=out_referral, to=Status.CONSENTED, by=alice.user)
    page = alice_http.post(reverse("referral_send", args=[out_referral.pk]), follow=True)
    body = page.content.decode()
    assert "Not sent: Alice has agreed only to" in body
    assert f"/clients/{client_alice_jones.pk}/consents/?referral={out_referral.pk}" in body


def test_a_consent_waiting_for_a_signature_does_not_count(
    out_referral, alice, client_alice_jones, partner
):
    consent_create(
        client=client_alice_jones,
        by=alice.user,
        fields={"partner": partner, "scope": "report", "awaiting_signature": True},
    )
    with pytest.raises(TransitionError, match="waiting for Alice's signature"):
        referral_transition(referral=out_referral, to=Status.CONSENTED, by=alice.user)


# --------------------------------------------------------------------------- the form


def test_from_a_referral_the_form_is_filled_in_and_returns_to_it(
    alice_http, out_referral, client_alice_jones, partner
):
    url = reverse("consent_add", args=[client_alice_jones.pk]) + f"?referral={out_referral.pk}"
    page = alice_http.get(url)
    assert page.status_code == 200
    form = page.context["form"]
    assert form.initial["partner"] == partner
    assert form.initial["scope"] == ConsentScope.REPORT
    assert form.initial["purpose"] == "Referral to Dr. Dana Spine"
    body = page.content.decode()
    # Each scope says what it allows, in plain words, on the form.
    assert "Talk about the client by phone or in person. Nothing in writing" in body
    assert "the referral letter with its reason, progress reports" in body
    assert f'name="referral" value="{out_referral.pk}"' in body
    assert "Whiplash" not in body  # the referral's reasons are not the consent's business

    referral_url = reverse("referral_detail", args=[out_referral.pk])
    done = alice_http.post(
        reverse("consent_add", args=[client_alice_jones.pk]),
        {
            "referral": out_referral.pk,
            "next": referral_url,
            "partner": partner.pk,
            "scope": "report",
            "purpose": "Referral to Dr. Dana Spine",
            "given_on": "2026-01-02",
            "how": "noted",
        },
    )
    assert done.status_code == 302 and done["Location"] == referral_url
    consent = Consent.objects.get(client=client_alice_jones)
    assert consent.scope == "report" and consent.partner == partner and consent.is_active()


def test_next_is_only_a_path_of_this_site(alice_http, client_alice_jones, partner):
    url = reverse("consent_add", args=[client_alice_jones.pk])
    fields = {"partner": partner.pk, "scope": "talk", "given_on": "2026-01-02", "how": "noted"}
    for evil in ("https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:x"):
        done = alice_http.post(url, {**fields, "next": evil})
        assert done.status_code == 302
        assert done["Location"] == reverse("client_detail", args=[client_alice_jones.pk]) + (
            "#consents"
        ), evil


def test_someone_elses_referral_cannot_fill_the_form(
    alice_http, elm_grove, client_alice_jones, partner
):
    other_clients = ReferralFactory(practice=elm_grove, partner=partner)
    url = reverse("consent_add", args=[client_alice_jones.pk]) + f"?referral={other_clients.pk}"
    assert alice_http.get(url).status_code == 404


def test_an_empty_form_says_what_is_missing_in_plain_words(alice_http, client_alice_jones):
    page = alice_http.post(reverse("consent_add", args=[client_alice_jones.pk]), {})
    assert page.status_code == 400
    body = page.content.decode()
    assert "Constraint" not in body and "consent_names_partner_or_profession" not in body
    assert body.count("Name the partner, or the kind of professional") == 1
    assert "Choose what may be shared." in body
    assert "Choose how the client agrees." in body
    assert not Consent.objects.exists()


def test_every_refusal_is_a_form_message(alice_http, client_alice_jones, partner):
    url = reverse("consent_add", args=[client_alice_jones.pk])
    base = {"partner": partner.pk, "scope": "report", "given_on": "2026-03-05"}
    cases = {
        "The consent cannot end before it was given.": {
            **base,
            "expires_on": "2026-03-01",
            "how": "noted",
        },
        "has no e-mail address": {**base, "how": "link"},
        "Upload the signed form, or choose another way.": {**base, "how": "paper"},
        "Select a valid choice": {**base, "how": "noted", "scope": "everything"},
    }
    for expected, data in cases.items():
        page = alice_http.post(url, data)
        assert page.status_code == 400, expected
        assert expected in page.content.decode(), expected
        assert "Constraint" not in page.content.decode()
    assert not Consent.objects.exists()


# --------------------------------------------------------------------------- signing


def test_the_client_signs_on_the_practice_screen(
    alice_http, out_referral, alice, client_alice_jones, partner
):
    referral_url = reverse("referral_detail", args=[out_referral.pk])
    done = alice_http.post(
        reverse("consent_add", args=[client_alice_jones.pk]),
        {
            "referral": out_referral.pk,
            "next": referral_url,
            "partner": partner.pk,
            "scope": "report",
            "given_on": timezone.localdate().isoformat(),
            "how": "sign_here",
        },
    )
    consent = Consent.objects.get(client=client_alice_jones)
    assert consent.awaiting_signature and not consent.is_active()
    sign_url = reverse("consent_sign", args=[consent.pk])
    assert done["Location"].startswith(sign_url)

    page = alice_http.get(done["Location"])
    body = page.content.decode()
    assert page.status_code == 200
    assert "Elm Grove Massage may write to Dr. Dana Spine about you" in body
    assert "Signing here needs JavaScript" in body  # said when it is off
    assert "clients/signature.js" in body and "<script>" not in body

    refused = alice_http.post(done["Location"], {"signed_name": "Alice Jones", "signature": ""})
    assert refused.status_code == 400
    assert "Sign in the box with a finger or the mouse" in refused.content.decode()

    signed = alice_http.post(
        done["Location"], {"signed_name": "Alice Jones", "signature": signature_data_url()}
    )
    assert signed.status_code == 302 and signed["Location"] == referral_url
    consent.refresh_from_db()
    assert consent.signed_how == SignedHow.TABLET and consent.is_active()
    form = alice_http.get(reverse("consent_document", args=[consent.pk]))
    assert form["Content-Type"] == "application/pdf"
    pdf = form.content
    assert pdf.startswith(b"%PDF-") and len(pdf) > 2000
    assert AuditEntry.objects.filter(action="referwell.consent.form_viewed").count() == 1
    # Now the letter goes out.
    referral_transition(referral=out_referral, to=Status.CONSENTED, by=alice.user)
    referral_send(referral=out_referral, by=alice.user, base_url="http://testserver")


def test_the_pdf_says_what_who_when_and_how(alice, client_alice_jones, partner):
    consent = consent_create(
        client=client_alice_jones,
        by=alice.user,
        fields={"partner": partner, "scope": "report", "purpose": "Referral for an assessment"},
    )
    consent_sign(
        consent=consent,
        how=SignedHow.TABLET,
        name="Alice Jones",
        signature=signature_png(signature_data_url()),
        by=alice.user,
    )
    consent.refresh_from_db()
    content, kind = consent_form_file(consent)
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)
    text = " ".join(text.split())
    for expected in (
        "Consent to share information",
        "Elm Grove Massage may write to Dr. Dana Spine about you",
        "Alice Jones",
        "Referral for an assessment",
        "Signed on the practice's tablet or phone, handed to the client by Alice Owner",
        "withdraw this consent at any time",
    ):
        assert expected in text, expected


def test_the_client_signs_through_their_link_then_the_referral_is_sent(
    alice_http, out_referral, alice, with_email, partner
):
    done = alice_http.post(
        reverse("consent_add", args=[with_email.pk]),
        {
            "referral": out_referral.pk,
            "partner": partner.pk,
            "scope": "report",
            "given_on": timezone.localdate().isoformat(),
            "how": "link",
        },
    )
    assert done.status_code == 302
    assert done["Location"] == reverse("referral_detail", args=[out_referral.pk])
    consent = Consent.objects.get(client=with_email)
    assert consent.awaiting_signature
    message, url = link_from_mail()
    assert message.to == ["alice.jones@example.com"]
    assert "Alice" not in message.subject and "Spine" not in message.body  # nobody named
    assert url.startswith("http://testserver/consent/")
    assert CLIENT_LINK_PATH.format(token="T") == reverse("client_consent", args=["T"])
    path_ = url.removeprefix("http://testserver")

    # Not signed yet: nothing goes out.
    with pytest.raises(TransitionError, match="waiting for Alice's signature"):
        referral_transition(referral=out_referral, to=Status.CONSENTED, by=alice.user)

    browser = HttpClient()  # the client's own phone: no account
    page = browser.get(path_)
    assert page.status_code == 200
    body = page.content.decode()
    assert "Elm Grove Massage asks for your permission" in body
    assert "may write to Dr. Dana Spine about you" in body
    assert "I agree" in body and "data-signature" in body
    assert "no-store" in page["Cache-Control"]
    assert "Whiplash" not in body and "rear-ended" not in body  # no clinical text
    assert AuditEntry.objects.filter(action="referwell.consent.link_opened").count() == 1

    signed = browser.post(
        path_,
        {"action": "sign", "signed_name": "Alice  Jones", "signature": signature_data_url()},
    )
    assert signed.status_code == 302 and signed["Location"].endswith("?done=signed")
    consent.refresh_from_db()
    assert consent.signed_how == SignedHow.LINK and consent.signed_name == "Alice Jones"
    assert consent.is_active() and consent.signed_form_type == "application/pdf"
    entry = AuditEntry.objects.get(action="referwell.consent.signed")
    assert entry.actor is None and entry.ip_address == "127.0.0.1"
    thanks = browser.get(signed["Location"]).content.decode()
    assert "has your signed consent" in thanks and "Withdraw my consent" in thanks
    copy = browser.get(path_ + "copy/")
    assert copy.status_code == 200 and copy.content.startswith(b"%PDF-")

    referral_transition(referral=out_referral, to=Status.CONSENTED, by=alice.user)
    result = referral_send(referral=out_referral, by=alice.user, base_url="http://testserver")
    assert result["disclosure"].consent == consent


def test_the_client_withdraws_through_the_same_link(alice, with_email, partner):
    consent = consent_create(
        client=with_email,
        by=alice.user,
        fields={"partner": partner, "scope": "report", "awaiting_signature": True},
    )
    url = consent_link_send(consent=consent, by=alice.user, base_url="http://testserver")
    path_ = url.removeprefix("http://testserver")
    browser = HttpClient()
    browser.post(
        path_, {"action": "sign", "signed_name": "Alice Jones", "signature": signature_data_url()}
    )
    consent.refresh_from_db()
    assert consent.is_active()

    withdrawn = browser.post(path_, {"action": "revoke"})
    assert withdrawn.status_code == 302 and withdrawn["Location"].endswith("?done=revoked")
    consent.refresh_from_db()
    assert consent.revoked_at is not None and consent.revoked_by_client and not consent.is_active()
    entry = AuditEntry.objects.get(action="referwell.consent.revoked")
    assert entry.actor is None and entry.data["via"] == "link"
    page = browser.get(withdrawn["Location"]).content.decode()
    assert "your consent is withdrawn" in page
    # Signing again through the link is refused in words.
    again = browser.post(
        path_, {"action": "sign", "signed_name": "Alice Jones", "signature": signature_data_url()}
    )
    assert again.status_code == 400 and "withdrawn" in again.content.decode()


def test_a_wrong_or_expired_link_is_a_page_with_the_practices_contact(
    alice, with_email, partner, practice_contact
):
    browser = HttpClient()
    wrong = browser.get("/consent/not-a-real-token/")
    assert wrong.status_code == 404
    body = wrong.content.decode()
    assert "This link does not work." in body and "app.css" in body
    assert "Elm Grove" not in body  # a wrong token tells nothing

    consent = consent_create(
        client=with_email,
        by=alice.user,
        fields={"partner": partner, "scope": "report", "awaiting_signature": True},
    )
    url = consent_link_send(consent=consent, by=alice.user, base_url="http://testserver")
    Consent.objects.filter(pk=consent.pk).update(
        link_expires_at=timezone.now() - timezone.timedelta(minutes=1)
    )
    expired = browser.get(url.removeprefix("http://testserver"))
    assert expired.status_code == 404
    body = expired.content.decode()
    assert "This link has expired." in body
    assert "414-555-0100" in body and "hello@elmgrove.example" in body
    assert "Alice" not in body and "Spine" not in body
    assert "no-store" in expired["Cache-Control"]

    # A new link replaces the old one: the old one stops working.
    Consent.objects.filter(pk=consent.pk).update(
        link_expires_at=timezone.now() + Consent.LINK_LIFETIME
    )
    newer = consent_link_send(consent=consent, by=alice.user, base_url="http://testserver")
    assert browser.get(url.removeprefix("http://testserver")).status_code == 404
    assert browser.get(newer.removeprefix("http://testserver")).status_code == 200


def test_the_link_page_is_rate_limited(alice, with_email, partner):
    browser = HttpClient()
    for _ in range(30):
        browser.get("/consent/guess/")
    limited = browser.get("/consent/guess/")
    assert limited.status_code == 429
    assert "Too many requests" in limited.content.decode()


def test_a_signature_must_be_a_drawing(alice, with_email, partner):
    consent = consent_create(
        client=with_email,
        by=alice.user,
        fields={"partner": partner, "scope": "report", "awaiting_signature": True},
    )
    path_ = consent_link_send(consent=consent, by=alice.user, base_url="http://t").removeprefix(
        "http://t"
    )
    browser = HttpClient()
    for signature, expected in (
        (signature_data_url(ink=False), "Sign in the box"),
        ("data:image/png;base64,bm90IGEgcG5n", "could not be read"),
        ("data:text/html;base64,PHNjcmlwdD4=", "could not be read"),
        ("data:image/png;base64,%%%", "could not be read"),
    ):
        page = browser.post(
            path_, {"action": "sign", "signed_name": "Alice Jones", "signature": signature}
        )
        assert page.status_code == 400
        assert expected in page.content.decode(), expected
    consent.refresh_from_db()
    assert not consent.is_signed and consent.awaiting_signature


# --------------------------------------------------------------------------- paper


def test_a_signed_paper_form_is_uploaded(alice_http, alice, client_alice_jones, partner):
    url = reverse("consent_add", args=[client_alice_jones.pk])
    fields = {"partner": partner.pk, "scope": "report", "given_on": "2026-03-05", "how": "paper"}
    done = alice_http.post(
        url, {**fields, "paper": SimpleUploadedFile("form.pdf", small_pdf(), "application/pdf")}
    )
    assert done.status_code == 302
    consent = Consent.objects.get(client=client_alice_jones)
    assert consent.signed_how == SignedHow.PAPER and consent.is_active()
    shown = alice_http.get(reverse("consent_document", args=[consent.pk]))
    assert shown["Content-Type"] == "application/pdf"
    assert shown.content.startswith(b"%PDF-")

    # A photo of the form, on a consent waiting for a signature, from its page.
    waiting = consent_create(
        client=client_alice_jones,
        by=alice.user,
        fields={"partner": partner, "scope": "talk", "awaiting_signature": True},
    )
    photo = SimpleUploadedFile("photo.png", small_jpeg(), "image/png")  # the name lies
    uploaded = alice_http.post(reverse("consent_upload", args=[waiting.pk]), {"paper": photo})
    assert uploaded.status_code == 302
    waiting.refresh_from_db()
    assert waiting.signed_form_type == "image/jpeg" and waiting.is_active()


def test_a_paper_form_is_checked(alice_http, alice, client_alice_jones, partner, settings):
    waiting = consent_create(
        client=client_alice_jones,
        by=alice.user,
        fields={"partner": partner, "scope": "talk", "awaiting_signature": True},
    )
    url = reverse("consent_upload", args=[waiting.pk])
    cases = {
        "Upload a PDF, or a photo or scan as JPEG or PNG.": SimpleUploadedFile(
            "form.pdf", b"<html>not a pdf</html>", "application/pdf"
        ),
        "The file is too large": SimpleUploadedFile(
            "big.pdf", b"%PDF-1.4\n" + b"0" * (5 * 1024 * 1024 + 10) + b"\n%%EOF", "application/pdf"
        ),
        "The submitted file is empty.": SimpleUploadedFile("empty.pdf", b"", "application/pdf"),
    }
    for expected, upload in cases.items():
        page = alice_http.post(url, {"paper": upload})
        assert page.status_code == 400, expected
        assert expected in page.content.decode(), expected
    waiting.refresh_from_db()
    assert not waiting.is_signed


# --------------------------------------------------------------------------- roles


def test_the_front_desk_records_and_has_consents_signed(
    bob_http, alice, client_alice_jones, partner
):
    """Consent is whom and what kind of sharing, never clinical text: the front desk handles
    it (a paper form handed in, a link sent), and sees no intake on these pages."""
    consent = consent_create(
        client=client_alice_jones,
        by=alice.user,
        fields={"partner": partner, "scope": "report", "awaiting_signature": True},
    )
    for name in ("consent_detail", "consent_sign"):
        page = bob_http.get(reverse(name, args=[consent.pk]))
        assert page.status_code == 200, name
        assert "rear-ended" not in page.content.decode(), name
    page = bob_http.get(reverse("consent_add", args=[client_alice_jones.pk]))
    assert page.status_code == 200 and "rear-ended" not in page.content.decode()
    signed = bob_http.post(
        reverse("consent_sign", args=[consent.pk]),
        {"signed_name": "Alice Jones", "signature": signature_data_url()},
    )
    assert signed.status_code == 302
    assert bob_http.get(reverse("consent_document", args=[consent.pk])).status_code == 200


def test_another_practice_gets_404_on_every_consent_page(
    charlie_http, alice, client_alice_jones, partner
):
    consent = consent_create(
        client=client_alice_jones, by=alice.user, fields={"partner": partner, "scope": "report"}
    )
    for name in (
        "consent_detail",
        "consent_sign",
        "consent_send_link",
        "consent_upload",
        "consent_document",
        "consent_revoke",
    ):
        url = reverse(name, args=[consent.pk])
        for method in ("get", "post"):
            status = getattr(charlie_http, method)(url).status_code
            assert status in (404, 405), (name, method, status)
    consent.refresh_from_db()
    assert consent.revoked_at is None


# --------------------------------------------------------------------------- in a browser


WIDER_THAN_THE_WINDOW = """() => Array.from(document.querySelectorAll("body *"))
    .filter((el) => el.getBoundingClientRect().right > window.innerWidth + 0.5)
    .slice(0, 8).map((el) => `${el.tagName}.${el.className}#${el.id}`)"""


def _no_horizontal_overflow(page):
    width = page.evaluate("document.documentElement.scrollWidth")
    viewport = page.evaluate("window.innerWidth")
    assert width <= viewport, (
        f"the page is {width}px wide in a {viewport}px window: "
        f"{page.evaluate(WIDER_THAN_THE_WINDOW)}"
    )


def _draw(page, canvas):
    """A signature drawn with the mouse (pointer events, as a finger's): down, zigzag, up."""
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    x, y, w, h = box["x"], box["y"], box["width"], box["height"]
    page.mouse.move(x + w * 0.1, y + h * 0.7)
    page.mouse.down()
    for i in range(1, 25):
        page.mouse.move(x + w * (0.1 + 0.03 * i), y + h * (0.3 if i % 2 else 0.75), steps=3)
    page.mouse.up()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_client_signs_with_a_finger_on_a_phone(
    page, live_server, alice, elm_grove, client_alice_jones, partner
):
    from playwright.sync_api import expect

    elm_grove.phone = "414-555-0100"
    elm_grove.save()
    client_alice_jones.email = "alice.jones@example.com"
    client_alice_jones.save()
    consent = consent_create(
        client=client_alice_jones,
        by=alice.user,
        fields={
            "partner": partner,
            "scope": "report",
            "purpose": "Referral for an assessment",
            "awaiting_signature": True,
        },
    )
    url = consent_link_send(consent=consent, by=alice.user, base_url=live_server.url)
    SHOTS.mkdir(parents=True, exist_ok=True)

    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(url)
    expect(page.locator("canvas")).to_be_visible()
    _no_horizontal_overflow(page)
    page.screenshot(path=str(SHOTS / "client-link-1280.png"), full_page=True)

    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(url)
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Elm Grove Massage asks for your permission"
    )
    expect(page.locator(".agreement")).to_contain_text("may write to Dr. Dana Spine about you")
    expect(page.locator("[data-signature-nojs]")).to_be_hidden()  # JavaScript is on
    _no_horizontal_overflow(page)
    page.screenshot(path=str(SHOTS / "client-link-390.png"), full_page=True)

    # "I agree" without a signature: stopped in the page, said why.
    page.get_by_role("button", name="I agree").click()
    expect(page.locator("[data-signature-status]")).to_contain_text("Sign in the box")

    _draw(page, page.locator("canvas"))
    expect(page.locator("[data-signature-status]")).to_contain_text("Signed")
    assert page.locator("input[name=signature]").input_value().startswith("data:image/png;base64,")
    page.screenshot(path=str(SHOTS / "client-link-390-signed.png"), full_page=True)
    page.get_by_role("button", name="I agree").click()
    expect(page.locator(".messages")).to_contain_text("has your signed consent")
    _no_horizontal_overflow(page)
    page.screenshot(path=str(SHOTS / "client-link-390-done.png"), full_page=True)

    consent.refresh_from_db()
    assert consent.signed_how == SignedHow.LINK and consent.is_active()
    assert consent.signed_form_type == "application/pdf"


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_consent_form_and_the_tablet_page_fit_a_phone_and_a_desktop(
    page, live_server, alice, elm_grove, client_alice_jones, partner
):
    from playwright.sync_api import expect

    from tests.test_browser import log_in

    referral = referral_create(
        practice=elm_grove,
        by=alice.user,
        fields={"client": client_alice_jones, "partner": partner, "reasons": "Whiplash, 3 weeks"},
    )
    SHOTS.mkdir(parents=True, exist_ok=True)
    log_in(page, live_server, "alice@example.com")
    form_url = f"{live_server.url}/clients/{client_alice_jones.pk}/consents/?referral={referral.pk}"
    for width, height in ((1280, 900), (390, 844)):
        page.set_viewport_size({"width": width, "height": height})
        page.goto(form_url)
        expect(page.get_by_role("heading", name="Record a consent")).to_be_visible()
        _no_horizontal_overflow(page)
        page.screenshot(path=str(SHOTS / f"consent-form-{width}.png"), full_page=True)

    # On the phone: the client signs on the practice's screen, and it is back to the referral.
    expect(page.locator("input[name=scope][value=report]")).to_be_checked()
    page.get_by_role("button", name="Record consent").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("please read and sign")
    _no_horizontal_overflow(page)
    page.screenshot(path=str(SHOTS / "tablet-sign-390.png"), full_page=True)
    _draw(page, page.locator("canvas"))
    page.get_by_role("button", name="I agree").click()
    expect(page).to_have_url(re.compile(rf"/referrals/{referral.pk}/$"))
    expect(page.locator(".messages")).to_contain_text("the consent counts now")
    page.set_viewport_size({"width": 1280, "height": 900})
    consent = Consent.objects.get(client=client_alice_jones)
    page.goto(f"{live_server.url}/clients/consents/{consent.pk}/sign/")  # signed: back to it
    page.goto(f"{live_server.url}/clients/consents/{consent.pk}/")
    _no_horizontal_overflow(page)
    page.screenshot(path=str(SHOTS / "consent-detail-1280.png"), full_page=True)
    assert consent.signed_how == SignedHow.TABLET and consent.is_active()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_without_javascript_the_page_says_so(
    browser, live_server, alice, client_alice_jones, partner
):
    client_alice_jones.email = "alice.jones@example.com"
    client_alice_jones.save()
    consent = consent_create(
        client=client_alice_jones,
        by=alice.user,
        fields={"partner": partner, "scope": "report", "awaiting_signature": True},
    )
    url = consent_link_send(consent=consent, by=alice.user, base_url=live_server.url)
    context = browser.new_context(java_script_enabled=False, viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.goto(url)
    note = page.locator("[data-signature-nojs]")
    assert note.is_visible()
    assert "needs JavaScript" in note.inner_text()
    assert not page.locator("canvas").is_visible()
    page.screenshot(path=str(SHOTS / "client-link-390-nojs.png"), full_page=True)
    page.get_by_label("Your full name").fill("Alice Jones")
    page.get_by_role("button", name="I agree").click()
    assert "Sign in the box" in page.content()
    context.close()
