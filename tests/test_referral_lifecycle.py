"""Referrals to closure: consent gating, disclosures, the letter by e-mail, the partner's link,
incoming referrals and what they owe, no-response, validity."""

import datetime as dt
import json

import pytest
from django.core import mail
from django.test import Client as HttpClient
from django.urls import reverse
from django.utils import timezone

from referwell.audit.models import AuditEntry, Disclosure
from referwell.clients.services import client_create, consent_create, consent_revoke
from referwell.outreach.models import OutgoingMessage
from referwell.referrals.models import Direction, Referral, ReferralLink
from referwell.referrals.services import (
    business_days_between,
    link_issue,
    referral_create,
    referral_send,
    referral_transition,
    referrals_flag_no_response,
    report_send,
    thank_you_send,
)
from referwell.referrals.states import Status, TransitionError
from tests.factories import ClientFactory, PartnerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def out_referral(elm_grove, alice, client_alice_jones, partner):
    partner.email = "dana@spine.example"
    partner.save()
    return referral_create(
        practice=elm_grove,
        by=alice.user,
        fields={"client": client_alice_jones, "partner": partner, "reasons": "Whiplash, 3 weeks"},
    )


def consent(client, partner=None, scope="report", **kw):
    """A consent that lets the referral letter go out (written); `scope="talk"` does not."""
    fields = {"partner": partner, "scope": scope, **kw}
    if partner is None:
        fields["profession_id"] = kw.pop("profession", "chiropractor")
        fields.pop("profession", None)
    return consent_create(client=client, by=None, fields=fields)


# --- consent gating ------------------------------------------------------------------------


def test_no_consent_no_send(out_referral, alice):
    with pytest.raises(TransitionError, match="has not given consent"):
        referral_transition(referral=out_referral, to=Status.CONSENTED, by=alice.user)
    out_referral.refresh_from_db()
    assert out_referral.status == Status.DRAFT


def test_consent_for_the_partner_or_its_profession_covers(out_referral, alice, partner):
    consent(out_referral.client, profession="chiropractor")
    referral_transition(referral=out_referral, to=Status.CONSENTED, by=alice.user)
    assert Referral.objects.get(pk=out_referral.pk).status == Status.CONSENTED


@pytest.mark.parametrize(
    "make",
    [
        lambda c, p: consent(
            c,
            p,
            expires_on=timezone.localdate() - dt.timedelta(days=1),
            given_on=timezone.localdate() - dt.timedelta(days=30),
        ),
        lambda c, p: consent_revoke(consent=consent(c, p), by=None),
        lambda c, p: consent(c, PartnerFactory(practice=c.practice)),
        lambda c, p: consent(c, profession="podiatrist"),
    ],
    ids=["expired", "revoked", "another-partner", "another-profession"],
)
def test_a_consent_that_does_not_cover_is_refused(out_referral, alice, partner, make):
    make(out_referral.client, partner)
    with pytest.raises(TransitionError, match="consent"):
        referral_transition(referral=out_referral, to=Status.CONSENTED, by=alice.user)


def test_revoking_stops_further_disclosures(out_referral, alice, partner):
    c = consent(out_referral.client, partner)
    referral_transition(referral=out_referral, to=Status.CONSENTED, by=alice.user)
    consent_revoke(consent=c, by=alice.user)
    with pytest.raises(TransitionError):
        referral_send(referral=out_referral, by=alice.user, base_url="http://testserver/")
    assert not Disclosure.objects.exists() and not mail.outbox


# --- sending: letter, e-mail with PDF, link, disclosure --------------------------------------


def test_send_emails_the_letter_with_its_pdf_and_records_the_disclosure(
    out_referral, alice, partner
):
    c = consent(out_referral.client, partner)
    referral_transition(referral=out_referral, to=Status.CONSENTED, by=alice.user)
    result = referral_send(referral=out_referral, by=alice.user, base_url="http://testserver/")
    out_referral.refresh_from_db()
    assert out_referral.status == Status.SENT and out_referral.sent_at
    (email,) = mail.outbox
    assert email.to == ["dana@spine.example"]
    # The subject names the practice, never the client: whoever sees the inbox sees it.
    assert "Alice" not in email.subject and "Jones" not in email.subject
    assert email.subject == "A referral from Elm Grove Massage"
    assert "Whiplash, 3 weeks" in email.body
    assert result["url"] in email.body
    # Minimum necessary: the reason, never the chart.
    assert "rear-ended" not in email.body and out_referral.client.complaints not in email.body
    ((name, content, mimetype),) = email.attachments
    assert mimetype == "application/pdf" and content.startswith(b"%PDF")
    (disclosure,) = Disclosure.objects.all()
    assert disclosure.consent == c and disclosure.partner == partner
    assert disclosure.by == alice.user and disclosure.channel == "email"
    assert OutgoingMessage.objects.get().disclosure == disclosure


def test_a_partner_without_email_gets_a_pdf_to_print(out_referral, alice, partner):
    partner.email = ""
    partner.save()
    consent(out_referral.client, partner)
    referral_transition(referral=out_referral, to=Status.CONSENTED, by=alice.user)
    referral_send(referral=out_referral, by=alice.user, base_url="http://testserver/")
    assert not mail.outbox
    message = OutgoingMessage.objects.get()
    assert message.status == "printed"
    assert Disclosure.objects.get().channel == "letter"


def test_a_failing_mail_server_never_fails_the_send_and_the_letter_waits_to_be_retried(
    out_referral, alice, partner, settings
):
    from referwell.outreach.delivery import message_retry

    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 2
    consent(out_referral.client, partner)
    referral_transition(referral=out_referral, to=Status.CONSENTED, by=alice.user)
    referral_send(referral=out_referral, by=alice.user, base_url="http://testserver/")
    out_referral.refresh_from_db()
    # The referral is in the outbox: sent as far as the practice is concerned, the letter kept.
    assert out_referral.status == Status.SENT
    message = OutgoingMessage.objects.get()
    # The test backend runs the retries at once: after 1 + 3 attempts it is failed, with why.
    assert message.status == "failed" and message.attempts == 4
    assert "Connection refused" in message.error or "Errno" in message.error
    assert not mail.outbox
    # The mail server is back: a person retries and it leaves, once.
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    message = message_retry(message=message, by=alice.user)
    assert message.status == "sent" and message.sent_at is not None
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["dana@spine.example"]


def test_real_smtp_server_receives_the_letter_and_its_pdf(out_referral, alice, partner, settings):
    import email as email_lib
    import socket

    from aiosmtpd.controller import Controller

    class Sink:
        def __init__(self):
            self.messages = []

        async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's API
            self.messages.append(envelope)
            return "250 OK"

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    sink = Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
        consent(out_referral.client, partner)
        referral_transition(referral=out_referral, to=Status.CONSENTED, by=alice.user)
        referral_send(referral=out_referral, by=alice.user, base_url="http://testserver/")
    finally:
        controller.stop()
    (envelope,) = sink.messages
    assert envelope.rcpt_tos == ["dana@spine.example"]
    message = email_lib.message_from_bytes(envelope.content)
    assert "Alice" not in message["Subject"] and "Elm Grove Massage" in message["Subject"]
    parts = {p.get_content_type(): p for p in message.walk()}
    assert "Whiplash" in parts["text/plain"].get_payload(decode=True).decode()
    pdf = parts["application/pdf"].get_payload(decode=True)
    from io import BytesIO

    from pypdf import PdfReader

    text = "".join(page.extract_text() for page in PdfReader(BytesIO(pdf)).pages)
    assert "Elm Grove Massage" in text and "Whiplash" in text


# --- the partner's link ----------------------------------------------------------------------


@pytest.fixture
def sent(out_referral, alice, partner):
    consent(out_referral.client, partner)
    referral_transition(referral=out_referral, to=Status.CONSENTED, by=alice.user)
    result = referral_send(referral=out_referral, by=alice.user, base_url="http://testserver/")
    return out_referral, result["url"].replace("http://testserver", "")


def test_opening_the_link_leaves_it_sent_and_accepting_moves_on(sent):
    referral, path = sent
    http = HttpClient()
    page = http.get(path)
    assert page.status_code == 200 and b"Alice Jones" in page.content
    referral.refresh_from_db()
    assert referral.status == Status.SENT  # a mail scanner opens links too
    http.post(path, {"action": "accept"})
    http.post(path, {"action": "note", "note": "Booked for Monday"})
    http.post(path, {"action": "seen"})
    referral.refresh_from_db()
    assert referral.status == Status.SEEN and referral.answered_at
    events = list(referral.events.values_list("kind", "via", "to_status", "note"))
    assert ("move", "partner link", Status.SEEN, "") in events
    assert ("note", "partner link", Status.ACCEPTED, "Booked for Monday") in events
    actions = set(
        AuditEntry.objects.filter(action__startswith="referwell.link.").values_list(
            "action", flat=True
        )
    )
    assert {
        "referwell.link.opened",
        "referwell.link.accept",
        "referwell.link.seen",
        "referwell.link.note",
    } <= actions


def test_declining_needs_a_reason(sent):
    referral, path = sent
    http = HttpClient()
    bad = http.post(path, {"action": "decline", "note": " "})
    assert bad.status_code == 400 and b"reason" in bad.content
    http.post(path, {"action": "decline", "note": "Not taking new patients"})
    referral.refresh_from_db()
    assert referral.status == Status.DECLINED


@pytest.mark.parametrize("how", ["wrong", "expired", "revoked", "replaced"])
def test_a_link_that_is_not_valid_is_a_404_that_tells_nothing_of_the_client(sent, alice, how):
    """A wrong token names nobody; an expired, withdrawn or replaced one names only the practice
    to ask (tests/test_partner_link_refused.py)."""
    referral, path = sent
    link = referral.links.get()
    if how == "wrong":
        path = "/l/not-a-real-token/"
    elif how == "expired":
        ReferralLink.objects.filter(pk=link.pk).update(
            expires_at=timezone.now() - dt.timedelta(seconds=1)
        )
    elif how == "revoked":
        ReferralLink.objects.filter(pk=link.pk).update(revoked_at=timezone.now())
    else:
        link_issue(referral=referral, by=alice.user)
    response = HttpClient().get(path)
    assert response.status_code == 404
    assert b"Alice" not in response.content and b"Jones" not in response.content
    assert (b"Elm Grove" in response.content) == (how != "wrong")
    assert HttpClient().post(path, {"action": "accept"}).status_code == 404
    referral.refresh_from_db()
    assert referral.status == Status.SENT


def test_the_link_is_stored_hashed_and_expires_in_30_days(sent):
    referral, path = sent
    link = referral.links.get()
    token = path.split("/")[2]
    assert token not in link.token_hash and len(link.token_hash) == 64
    assert abs((link.expires_at - timezone.now()) - dt.timedelta(days=30)) < dt.timedelta(minutes=1)


def test_the_link_is_rate_limited(sent):
    from django.core.cache import cache

    cache.clear()
    referral, path = sent
    http = HttpClient()
    codes = [http.get(path).status_code for _ in range(31)]
    assert codes[:30] == [200] * 30 and codes[30] == 429


def test_therapist_pages_for_the_link(sent, alice_http):
    referral, path = sent
    alice_http.post(reverse("referral_link_revoke", args=[referral.pk]))
    assert HttpClient().get(path).status_code == 404
    response = alice_http.post(reverse("referral_link_new", args=[referral.pk]), follow=True)
    assert b"/l/" in response.content  # the new link, shown once
    assert referral.links.filter(revoked_at__isnull=True).count() == 1


# --- no response -----------------------------------------------------------------------------


def test_business_days_skip_weekends():
    friday = dt.date(2026, 11, 20)
    assert business_days_between(friday, dt.date(2026, 11, 23)) == 1  # Monday
    assert business_days_between(friday, dt.date(2026, 11, 27)) == 5


def test_silence_after_five_business_days_is_no_response(sent, elm_grove):
    referral, _ = sent
    Referral.objects.filter(pk=referral.pk).update(sent_at=timezone.now() - dt.timedelta(days=4))
    assert (
        referrals_flag_no_response(practice=elm_grove) == []
        or elm_grove.no_response_business_days < 3
    )
    Referral.objects.filter(pk=referral.pk).update(sent_at=timezone.now() - dt.timedelta(days=8))
    assert referrals_flag_no_response(practice=elm_grove) == [referral.pk]
    referral.refresh_from_db()
    assert referral.status == Status.NO_RESPONSE
    assert "business days" in referral.events.last().note


# --- incoming referrals ------------------------------------------------------------------------


def test_a_new_client_from_a_partner_records_a_referral_in(elm_grove, alice, partner):
    client = client_create(
        practice=elm_grove,
        by=alice.user,
        fields={
            "first_name": "Ben",
            "last_name": "Runner",
            "stream": "medical",
            "source_partner": partner,
        },
    )
    referral = Referral.objects.get(client=client)
    assert referral.direction == Direction.IN and referral.partner == partner
    assert referral.status == Status.RECEIVED


def test_thanks_to_a_professional_names_the_client(elm_grove, alice, partner):
    partner.email = "dana@spine.example"
    partner.save()
    client = client_create(
        practice=elm_grove,
        by=alice.user,
        fields={
            "first_name": "Ben",
            "last_name": "Runner",
            "stream": "medical",
            "source_partner": partner,
        },
    )
    referral = Referral.objects.get(client=client)
    thank_you_send(referral=referral, by=alice.user)
    assert "Ben" in mail.outbox[0].body
    assert Disclosure.objects.filter(client=client).count() == 1
    assert partner.touchpoints.filter(kind="thank_you").exists()


@pytest.mark.parametrize("agreed", [False, True])
def test_thanks_to_a_friend_names_the_client_only_if_they_agreed(elm_grove, alice, agreed):
    friend = ClientFactory(practice=elm_grove, first_name="Fran", email="fran@example.com")
    client = client_create(
        practice=elm_grove,
        by=alice.user,
        fields={
            "first_name": "Zed",
            "last_name": "Newcomer",
            "stream": "current_clients",
            "source_client": friend,
            "may_tell_referrer": agreed,
        },
    )
    referral = Referral.objects.get(client=client)
    thank_you_send(referral=referral, by=alice.user)
    (email,) = mail.outbox
    assert ("Zed" in email.body) is agreed
    assert Disclosure.objects.filter(client=client).exists() is agreed


def test_progress_reports_need_consent_to_written_reports(elm_grove, alice, partner):
    client = client_create(
        practice=elm_grove,
        by=alice.user,
        fields={
            "first_name": "Ben",
            "last_name": "Runner",
            "stream": "medical",
            "source_partner": partner,
        },
    )
    referral = Referral.objects.get(client=client)
    with pytest.raises(TransitionError, match="consented to a written report"):
        report_send(referral=referral, text="Much better", by=alice.user)
    consent(client, partner, scope="talk")
    with pytest.raises(TransitionError):
        report_send(referral=referral, text="Much better", by=alice.user)
    c = consent(client, partner, scope="report")
    report_send(referral=referral, text="Neck rotation much improved.", by=alice.user)
    assert Disclosure.objects.get(client=client, channel="report").consent == c
    referral.refresh_from_db()
    assert referral.last_report_at is not None


def test_validity_warns_30_days_before_and_when_it_runs_out(elm_grove, client_alice_jones):
    today = dt.date(2026, 11, 24)
    referral = Referral(
        direction=Direction.IN, valid_until=today + dt.timedelta(days=20), valid_visits=6
    )
    assert "runs out in 20 days" in referral.validity_warning(visits_used=1, today=today)
    assert referral.validity_warning(visits_used=1, today=today - dt.timedelta(days=40)) == ""
    assert "expired" in referral.validity_warning(
        visits_used=1, today=today + dt.timedelta(days=21)
    )
    assert "all 6 visits used" in referral.validity_warning(
        visits_used=6, today=today - dt.timedelta(days=40)
    )


def test_referral_page_shows_what_is_owed(alice_http, elm_grove, alice, partner):
    client = client_create(
        practice=elm_grove,
        by=alice.user,
        fields={
            "first_name": "Ben",
            "last_name": "Runner",
            "stream": "medical",
            "source_partner": partner,
        },
    )
    referral = Referral.objects.get(client=client)
    page = alice_http.get(reverse("referral_detail", args=[referral.pk])).content.decode()
    assert "A thank-you note is owed" in page
    alice_http.post(reverse("referral_thank", args=[referral.pk]))
    page = alice_http.get(reverse("referral_detail", args=[referral.pk])).content.decode()
    assert "Thank-you sent" in page


def test_api_send_and_link(alice_api, out_referral, partner):
    rid = out_referral.pk

    def post(path, body=None):
        return alice_api.post(path, data=json.dumps(body or {}), content_type="application/json")

    assert post(f"/api/v1/referrals/{rid}/send").status_code == 409
    consent(out_referral.client, partner)
    post(f"/api/v1/referrals/{rid}/transitions", {"to": "consented"})
    response = post(f"/api/v1/referrals/{rid}/send")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "sent" and body["sent_by"] == "email" and "/l/" in body["link"]
    assert alice_api.delete(f"/api/v1/referrals/{rid}/link").status_code == 204
    assert HttpClient().get(body["link"].replace("http://testserver", "")).status_code == 404
    fresh = post(f"/api/v1/referrals/{rid}/link")
    assert fresh.status_code == 201
    assert (
        HttpClient().get(fresh.json()["link"].replace("http://testserver", "")).status_code == 200
    )


def test_partner_responsiveness_is_measured_and_shown(sent, alice_http, elm_grove, partner):
    from referwell.directory.selectors import responsiveness_for

    referral, path = sent
    Referral.objects.filter(pk=referral.pk).update(sent_at=timezone.now() - dt.timedelta(days=3))
    HttpClient().get(path)  # opened now: acknowledged after 3 days
    HttpClient().post(path, {"action": "decline", "note": "Full"})
    stats = responsiveness_for(practice=elm_grove, partner_ids=[partner.pk])[partner.pk]
    assert (stats.sent, stats.acknowledged, stats.declined, stats.closed_loop) == (1, 1, 1, 1)
    assert stats.median_days == pytest.approx(3.0, abs=0.1)
    page = alice_http.get(reverse("partner_detail", args=[partner.pk])).content.decode()
    assert "median time to acknowledge" in page and "3.0 d" in page


def test_client_page_lists_the_disclosures(sent, alice_http):
    referral, _ = sent
    page = alice_http.get(reverse("client_detail", args=[referral.client.pk])).content.decode()
    assert "Accounting of disclosures" in page
    assert "Referral letter: client&#x27;s name and the reason for referral" in page


def test_sweep_command_prints_json(sent, elm_grove):
    from io import StringIO

    from django.core.management import call_command

    referral, _ = sent
    Referral.objects.filter(pk=referral.pk).update(sent_at=timezone.now() - dt.timedelta(days=10))
    out = StringIO()
    call_command("sweep", "--practice", "elm-grove", "--json", stdout=out)
    assert json.loads(out.getvalue()) == {
        "no_response": {"elm-grove": [referral.pk]},
        "audit_pruned": {"elm-grove": 0},
        "imports_swept": 0,
    }


def test_a_report_marked_by_hand_is_still_a_disclosure(elm_grove, alice, partner):
    client = client_create(
        practice=elm_grove,
        by=alice.user,
        fields={
            "first_name": "Ben",
            "last_name": "Runner",
            "stream": "medical",
            "source_partner": partner,
        },
    )
    referral = Referral.objects.get(client=client)
    for step in ("accepted", "seen"):
        referral_transition(referral=referral, to=step, by=alice.user)
    with pytest.raises(TransitionError, match="consent"):
        referral_transition(referral=referral, to="reported", by=alice.user)
    consent(client, partner, scope="report")
    referral_transition(referral=referral, to="reported", by=alice.user, note="Faxed")
    assert Disclosure.objects.get(client=client).what == "Progress report sent outside Referwell"


def test_sending_a_report_through_referwell_records_one_disclosure(elm_grove, alice, partner):
    client = client_create(
        practice=elm_grove,
        by=alice.user,
        fields={
            "first_name": "Ben",
            "last_name": "Runner",
            "stream": "medical",
            "source_partner": partner,
        },
    )
    referral = Referral.objects.get(client=client)
    for step in ("accepted", "seen"):
        referral_transition(referral=referral, to=step, by=alice.user)
    consent(client, partner, scope="report")
    report_send(referral=referral, text="Better.", by=alice.user)
    referral.refresh_from_db()
    assert referral.status == Status.REPORTED
    assert Disclosure.objects.filter(client=client).count() == 1


def test_thanks_for_taking_care_needs_consent_and_is_a_disclosure(sent, alice_http, partner):
    referral, path = sent
    HttpClient().post(path, {"action": "accept"})
    response = alice_http.post(reverse("referral_thank_care", args=[referral.pk]), follow=True)
    assert b"Thank-you sent" in response.content
    assert mail.outbox[-1].to == ["dana@spine.example"] and "Alice" in mail.outbox[-1].body
    assert Disclosure.objects.filter(what__startswith="Thank-you for taking care").exists()
    assert partner.touchpoints.filter(kind="thank_you").exists()


def test_introduction_letter_to_a_prospect(alice_http, elm_grove):
    prospect = PartnerFactory(practice=elm_grove, name="Dr. New Prospect", stage="prospect")
    prospect.email = "new@clinic.example"
    prospect.save()
    alice_http.post(reverse("partner_letter", args=[prospect.pk]), {"kind": "introduction"})
    (email,) = mail.outbox
    assert email.to == ["new@clinic.example"] and "10 minutes" in email.body
    assert prospect.touchpoints.get().kind == "letter"
    assert not Disclosure.objects.exists()  # no client information in it
    bad = alice_http.post(
        reverse("partner_letter", args=[prospect.pk]), {"kind": "referral"}, follow=True
    )
    assert b"Choose a letter" in bad.content


def test_owner_edits_a_letter_template_with_preview_and_safe_subset(
    alice_http, bob_http, out_referral, alice, partner
):
    url = reverse("letter_edit", args=["referral"])
    assert bob_http.get(url).status_code == 403
    preview = alice_http.post(
        url,
        {
            "subject": "Referral for my client",
            "body": "Hi {{ partner.name }}, about {{ client.first_name }}",
            "preview": "1",
        },
    )
    assert b"about Sam" in preview.content
    naming = alice_http.post(
        url, {"subject": "Please see {{ client.first_name }}", "body": "Hi", "save": "1"}
    )
    assert naming.status_code == 400 and "must not name the client" in naming.content.decode()
    unsafe = alice_http.post(url, {"subject": "x", "body": "{% load static %}", "save": "1"})
    assert unsafe.status_code == 400 and b"load" in unsafe.content
    alice_http.post(
        url,
        {
            "subject": "Please see my client",
            "body": "Dear {{ partner.name }}, {{ referral.reasons }}. {{ link }}",
            "save": "1",
        },
    )
    consent(out_referral.client, partner)
    referral_transition(referral=out_referral, to=Status.CONSENTED, by=alice.user)
    referral_send(referral=out_referral, by=alice.user, base_url="http://testserver/")
    assert mail.outbox[-1].subject == "Please see my client"
    assert mail.outbox[-1].body.startswith("Dear Dr. Dana Spine, Whiplash, 3 weeks.")


def test_outbox_lists_and_serves_the_pdf(sent, alice_http):
    page = alice_http.get(reverse("outbox")).content.decode()
    assert "A referral from Elm Grove Massage" in page
    message = OutgoingMessage.objects.get()
    pdf = alice_http.get(reverse("outbox_pdf", args=[message.pk]))
    assert pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
