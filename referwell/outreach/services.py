"""Letters from the practice's templates, and sending them: PDF and e-mail, into the outbox."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify
from nameparser import HumanName

from referwell.accounts.models import Member, Practice, User
from referwell.audit.models import Disclosure
from referwell.audit.services import log_action
from referwell.clients.models import Client
from referwell.directory.models import Outcome, Partner, Touchpoint
from referwell.directory.services import touchpoint_create
from referwell.outreach.delivery import deliver_message
from referwell.outreach.letters import (
    RenderedLetter,
    default_template,
    render_letter,
    validate_template,
)
from referwell.outreach.models import ContactPlan, LetterTemplate, OutgoingMessage
from referwell.referrals.models import Referral

# What a letter to a lay referrer says instead of the client's name and reason for coming
# when the client did not agree to be named.
UNNAMED_CLIENT = {"first_name": "the person you recommended", "last_name": ""}
UNNAMED_REASON = "your recommendation"


# Credentials that make a "Dr." in a salutation.
DOCTORS = frozenset("md do dc dpm dds dmd phd psyd nd od dnp dpt drph edd".split())


def salutation(name: str, credentials: str = "") -> str:
    """How a letter greets a professional: "Dr. Okafor" for a physician, chiropractor,
    podiatrist, dentist or other doctor (by the name's own "Dr." or by the credentials), the
    full name otherwise ("Dear Sam Lee" — no guess at Mr. or Ms.)."""
    name = " ".join(name.split())
    if not name:
        return ""
    person = HumanName(name)
    creds = {c.strip(" .").lower().replace(".", "") for c in credentials.replace(",", " ").split()}
    creds |= {s.lower().replace(".", "") for s in person.suffix_list}
    is_doctor = person.title.lower().rstrip(".") == "dr" or bool(creds & DOCTORS)
    if is_doctor and person.last:
        return f"Dr. {person.last}"
    plain = " ".join(x for x in (person.first, person.middle, person.last) if x)
    return plain or name


def letter_context(
    *,
    practice: Practice,
    by: User | None,
    partner: Partner | None = None,
    client: Client | None = None,
    referral: Referral | None = None,
    link: str = "",
    report: dict[str, object] | None = None,
    referrer: dict[str, object] | None = None,
) -> dict[str, Any]:
    """Only plain values, and only what a letter needs: names, the reason — never the chart.

    A letter to a referrer who is not a health-care professional never carries the client's
    name or the reason for coming unless the client agreed (``may_tell_referrer``): whatever
    the practice's template says, those variables hold neutral words here."""
    context: dict[str, Any] = {
        "practice": {
            "name": practice.name,
            "phone": practice.phone,
            "email": practice.email,
            "address": practice.address,
        },
        "therapist": {"name": (by.get_full_name() or by.email) if by else practice.name},
        # Every key a template may name is present, so templates never fail on a lookup.
        "partner": {
            "name": partner.name,
            "clinic": partner.clinic,
            "salutation": salutation(partner.name, partner.credentials),
        }
        if partner
        else {"name": "", "clinic": "", "salutation": ""},
        "client": {"first_name": client.first_name, "last_name": client.last_name}
        if client
        else {"first_name": "", "last_name": ""},
        "referral": {"reasons": referral.reasons, "date": referral.created_at.date()}
        if referral
        else {"reasons": "", "date": None},
        "report": {"text": "", "visits": 0, "period": ""} | (report or {}),
        "referrer": {"name": "", "is_professional": False} | (referrer or {}),
        "client_agreed_to_be_named": bool(client and client.may_tell_referrer),
        "link": link,
        "today": timezone.localdate(),
        # How it leaves: an e-mail has nothing "enclosed" (partner_letter_send and the referral
        # letters e-mail whoever has an address).
        "channel": "email"
        if (partner is not None and partner.email) or (referrer or {}).get("email")
        else "letter",
    }
    lay_referrer = referrer is not None and not referrer.get("is_professional", False)
    if lay_referrer and not context["client_agreed_to_be_named"]:
        context["client"] = dict(UNNAMED_CLIENT)
        context["referral"]["reasons"] = UNNAMED_REASON
    # Someone without the clinical role (the front desk) sends no clinical text, whatever the
    # practice's template names: the reason and a report's text are not theirs to write.
    clinical_text = referral is not None or bool(report)
    if clinical_text and by is not None and not _sees_clinical(practice=practice, user=by):
        context["referral"]["reasons"] = ""
        context["report"]["text"] = ""
    return context


def _sees_clinical(*, practice: Practice, user: User) -> bool:
    member = Member.objects.filter(practice=practice, user=user).only("role").first()
    return member is not None and member.sees_clinical


def template_for(*, practice: Practice, kind: str) -> tuple[str, str]:
    """The practice's own template of this kind, or the default."""
    own = LetterTemplate.objects.for_practice(practice).filter(kind=kind).first()
    return (own.subject, own.body) if own else default_template(kind)


def letter_render(*, practice: Practice, kind: str, context: dict[str, Any]) -> RenderedLetter:
    subject, body = template_for(practice=practice, kind=kind)
    return render_letter(kind=kind, context=context, subject_template=subject, body_template=body)


@transaction.atomic
def letter_template_save(
    *, practice: Practice, kind: str, subject: str, body: str, by: User | None
) -> LetterTemplate:
    validate_template(subject, body)
    row, _ = LetterTemplate.objects.update_or_create(
        practice=practice, kind=kind, defaults={"subject": subject, "body": body, "updated_by": by}
    )
    log_action(practice=practice, actor=by, action="referwell.letter_template.saved", obj=row)
    return row


def message_send(
    *,
    practice: Practice,
    kind: str,
    letter: RenderedLetter,
    to_name: str,
    to_email: str,
    by: User | None,
    referral: Referral | None = None,
    partner: Partner | None = None,
    disclosure: Disclosure | None = None,
) -> OutgoingMessage:
    """Into the outbox: an e-mail (the letter as PDF attached) is *queued* in the caller's
    transaction and sent by the worker once it commits (outreach/delivery.py) — the request
    never waits for the mail server, and nothing is queued if the caller's change is rolled
    back. Without an address the letter is a PDF to print."""
    message = OutgoingMessage(
        practice=practice,
        kind=kind,
        to_name=to_name,
        to_email=to_email,
        subject=letter.subject,
        body=letter.body,
        status=OutgoingMessage.Status.QUEUED if to_email else OutgoingMessage.Status.PRINTED,
        referral=referral,
        partner=partner,
        disclosure=disclosure,
        by=by,
    )
    message.attachment_name = f"{slugify(letter.subject)[:80] or 'letter'}.pdf"
    message.save()
    log_action(
        practice=practice,
        actor=by,
        action="referwell.message.sent",
        obj=message,
        data={"kind": kind, "channel": "email" if to_email else "letter"},
    )
    if to_email:
        # A row of the task queue, in this same transaction: committed together or not at all.
        deliver_message.enqueue(message.pk)
    return message


PARTNER_LETTERS = ("introduction", "what_is_massage")


@transaction.atomic
def partner_letter_send(*, partner: Partner, kind: str, by: User | None) -> OutgoingMessage:
    """An introduction (a 10-minute meeting request) or the one page on massage therapy: no
    client information, logged as a touchpoint with the partner."""
    if kind not in PARTNER_LETTERS:
        raise ValueError(f"'{kind}' is not a letter for a partner.")
    letter = letter_render(
        practice=partner.practice,
        kind=kind,
        context=letter_context(practice=partner.practice, by=by, partner=partner),
    )
    message = message_send(
        practice=partner.practice,
        kind=kind,
        letter=letter,
        to_name=partner.name,
        to_email=partner.email,
        by=by,
        partner=partner,
    )
    touchpoint_create(
        partner=partner, by=by, kind="letter", date=timezone.localdate(), note=letter.subject
    )
    return message


@transaction.atomic
def due_item_mark(
    *,
    practice: Practice,
    key: str,
    partner: Partner,
    outcome: str,
    by: User | None,
    note: str = "",
    snooze_until: dt.date | None = None,
    kind: str = "other",
) -> Touchpoint:
    """Done, snoozed or skipped: recorded as a touchpoint carrying the item's key."""
    if outcome not in Outcome.values:
        raise ValueError(f"'{outcome}' is not an outcome.")
    if outcome == Outcome.SNOOZED and not snooze_until:
        raise ValueError("Say until when to snooze.")
    touchpoint = Touchpoint.objects.create(
        practice=practice,
        partner=partner,
        kind=kind,
        date=timezone.localdate(),
        note=note[:500],
        by=by,
        cadence_key=key[:60],
        outcome=outcome,
        snooze_until=snooze_until,
    )
    log_action(
        practice=practice,
        actor=by,
        action=f"referwell.today.{outcome}",
        obj=touchpoint,
        data={"key": key},
    )
    return touchpoint


@transaction.atomic
def due_items_clear(
    *, practice: Practice, items: list[tuple[str, int | None]], by: User | None
) -> int:
    """Clear what no longer matters on Today (its "Catch up"): each item (its key, its partner)
    skipped as `due_item_mark` records a skip — a touchpoint carrying its key and an audit
    entry each —, in one transaction. An item without a partner (a thank-you owed to a client)
    has no touchpoint to carry it and stays. Returns how many were cleared."""
    partners = Partner.objects.for_practice(practice).in_bulk(
        {partner for _, partner in items if partner is not None}
    )
    cleared = 0
    for key, partner_id in items:
        partner = partners.get(partner_id) if partner_id is not None else None
        if partner is None:
            continue
        due_item_mark(
            practice=practice,
            key=key,
            partner=partner,
            outcome=Outcome.SKIPPED,
            by=by,
            note="Cleared from Today's catch-up: no longer mattered.",
        )
        cleared += 1
    return cleared


@transaction.atomic
def contact_plan_create(
    *, partner: Partner, by: User | None, method: str, planned_on: dt.date, note: str = ""
) -> ContactPlan:
    plan = ContactPlan(
        practice=partner.practice, partner=partner, method=method, planned_on=planned_on, note=note
    )
    plan.full_clean(exclude=["practice", "partner"])
    plan.save()
    log_action(practice=partner.practice, actor=by, action="referwell.plan.created", obj=plan)
    return plan


@transaction.atomic
def contact_plan_done(*, plan: ContactPlan, by: User | None, outcome: str) -> ContactPlan:
    """A planned contact happened: its outcome is logged as a touchpoint too."""
    kinds = {
        "letter": "letter",
        "meeting_request": "letter",
        "call": "call",
        "visit": "office_visit",
        "event": "event",
        "email": "email",
    }
    plan.done_on = timezone.localdate()
    plan.outcome = outcome[:300]
    plan.save(update_fields=["done_on", "outcome", "updated_at"])
    touchpoint_create(
        partner=plan.partner,
        by=by,
        kind=kinds.get(plan.method, "other"),
        date=plan.done_on,
        note=f"{plan.get_method_display()}: {outcome}" if outcome else plan.get_method_display(),
    )
    return plan
