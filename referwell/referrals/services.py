"""Writes on referrals: creating, moving through the state machine, sending, the partner link,
the follow-ups that close the loop. Every disclosure is recorded here, never in a view."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, TypedDict

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from referwell.accounts.models import Practice, User
from referwell.audit.models import Channel, Disclosure
from referwell.audit.services import disclosure_record, log_action, update_with_audit
from referwell.clients.models import Client, Consent
from referwell.clients.selectors import consent_covering
from referwell.core.dates import business_days_between
from referwell.directory.models import Partner
from referwell.directory.services import touchpoint_create
from referwell.referrals.models import (
    NOTE_MAX_LENGTH,
    Direction,
    EventKind,
    Referral,
    ReferralEvent,
    ReferralLink,
    Via,
)
from referwell.referrals.states import (
    ANSWERED,
    Status,
    TransitionError,
    can_move,
    check_transition,
    disclosure_of_move,
    is_finished,
    may_thank_for_care,
    moves_into,
    undo_refusal,
)

if TYPE_CHECKING:
    from referwell.outreach.letters import RenderedLetter


class SentLetter(Protocol):
    """A letter in the outbox (outreach's OutgoingMessage, in a layer above this one): what
    the referrals read of it."""

    @property
    def pk(self) -> int: ...
    @property
    def subject(self) -> str: ...
    @property
    def to_name(self) -> str: ...
    @property
    def to_email(self) -> str: ...
    @property
    def disclosure(self) -> Disclosure | None: ...


class ReferralSent(TypedDict):
    """What sending a referral made: the letter, the partner's link and its address, the
    disclosure recorded."""

    message: SentLetter
    link: ReferralLink
    url: str
    disclosure: Disclosure | None


def _check_same_practice(referral: Referral) -> None:
    for attr in ("client", "partner", "referrer_client"):
        other = getattr(referral, attr)
        if other is not None and other.practice_id != referral.practice_id:
            raise ValidationError({attr: "Not found in this practice."})


@transaction.atomic
def referral_create(*, practice: Practice, by: User | None, fields: dict[str, Any]) -> Referral:
    referral = Referral(practice=practice, created_by=by, **fields)
    referral.status = referral.initial_status()
    _check_same_practice(referral)
    if referral.is_out and referral.partner is None and referral.profession is None:
        raise ValidationError("Name a partner or at least a profession.")
    if referral.partner is not None and referral.profession is None:
        referral.profession = referral.partner.professions.first()
    if referral.direction == Direction.IN:
        referral.received_at = timezone.now()
    referral.full_clean(exclude=["practice"])
    referral.save()
    ReferralEvent.objects.create(
        practice=practice, referral=referral, to_status=referral.status, at=timezone.now(), by=by
    )
    log_action(
        practice=practice,
        actor=by,
        action="referwell.referral.created",
        obj=referral,
        data={"direction": referral.direction},
    )
    return referral


@transaction.atomic
def referral_update(*, referral: Referral, by: User | None, fields: dict[str, Any]) -> Referral:
    def check() -> None:
        _check_same_practice(referral)
        referral.full_clean(exclude=["practice"])
        # A letter left ready for the front desk was read about the referral as it was: it goes.
        _letter_unprepare(referral)

    # A status moves through referral_transition only (states.py decides every move).
    update_with_audit(
        referral,
        practice=referral.practice,
        by=by,
        action="referwell.referral.changed",
        fields=fields,
        check=check,
        not_allowed=("status",),
    )
    return referral


def referral_consent(referral: Referral, scope: str, on: dt.date | None = None) -> Consent | None:
    """The consent that covers this referral's partner (or profession) for this scope."""
    slugs = {referral.profession_id} if referral.profession_id else set()
    return consent_covering(
        client=referral.client,
        scope=scope,
        partner=referral.partner,
        profession_slugs=slugs,
        on=on,
    )


def _require_consent(referral: Referral, to: str, on: dt.date | None = None) -> Consent | None:
    from referwell.clients.services import consent_refusal, consent_scope_for

    # What the move discloses (states.DISCLOSING_MOVES) and the consent that needs: one rule,
    # the clients' (CONSENT_FOR_KIND): a talk consent does not send a letter.
    kind = disclosure_of_move(referral.direction, to)
    if kind is None:
        return None
    consent = referral_consent(referral, consent_scope_for(kind), on)
    if consent is None:
        from django.urls import reverse

        record = reverse("consent_add", args=[referral.client_id])
        raise TransitionError(
            consent_refusal(
                client=referral.client,
                kind=kind,
                partner=referral.partner,
                profession=referral.profession,
                on=on,
                record_url=f"{record}?referral={referral.pk}",
            )
        )
    return consent


# A move that sends the client's information, made by hand (sent by fax, by phone, a letter
# handed over): what the disclosure records.
_SENT_OUTSIDE: dict[tuple[str, str], str] = {
    (Direction.OUT, Status.SENT): "Referral sent outside Referwell: client's name and reason",
    (Direction.IN, Status.REPORTED): "Progress report sent outside Referwell",
}


@transaction.atomic
def referral_transition(
    *,
    referral: Referral,
    to: str,
    by: User | None,
    note: str = "",
    at: dt.datetime | None = None,
    via: str = "",
) -> Referral:
    """Move a referral; raises TransitionError when the move or its consent is missing."""
    # Lock the row so two people (or a person and the partner's link) cannot race. Only the
    # referral's row (`of=("self",)`, as everywhere here): PostgreSQL refuses to lock the
    # nullable side of the outer joins that select_related makes.
    referral = (
        Referral.objects.select_for_update(of=("self",))
        .select_related("client")
        .get(pk=referral.pk)
    )
    check_transition(referral.status, to, referral.direction)
    at = at or timezone.now()
    consent = _require_consent(referral, to, timezone.localtime(at).date())
    outside = _SENT_OUTSIDE.get((referral.direction, to))
    if outside and via not in ("letter", "report"):
        # Sent by fax, phone or a letter handed over: still a disclosure.
        partner = referral.partner
        disclosure_record(
            client=referral.client,
            recipient=str(partner or referral.profession or "a professional"),
            channel=Channel.LETTER,
            what=outside,
            by=by,
            consent=consent,
            referral=referral,
            partner=partner,
        )
    ReferralEvent.objects.create(
        practice=referral.practice,
        referral=referral,
        kind=EventKind.MOVE,
        via=via,
        from_status=referral.status,
        to_status=to,
        at=at,
        by=by,
        note=note,
    )
    referral.status = to
    if to == Status.SENT and referral.sent_at is None:
        referral.sent_at = at
    if to == Status.RECEIVED and referral.received_at is None:
        referral.received_at = at
    if to in ANSWERED and referral.answered_at is None and referral.is_out:
        referral.answered_at = at
    if is_finished(to):
        referral.closed_at = at
    referral.save()
    log_action(
        practice=referral.practice,
        actor=by,
        action=f"referwell.referral.{to.replace('-', '_')}",
        obj=referral,
        data={"via": via} if via else None,
    )
    return referral


@transaction.atomic
def referral_note(
    *, referral: Referral, by: User | None, note: str, via: str = ""
) -> ReferralEvent:
    """A note on the referral's timeline. It never moves the referral: a note is written as a
    note, and a move is made only by its own button (issue 23: a note typed before "Update"
    once cancelled a referral)."""
    note = note.strip()
    if not note:
        raise ValidationError("The note is empty.")
    if len(note) > NOTE_MAX_LENGTH:
        raise ValidationError(f"A note is at most {NOTE_MAX_LENGTH} characters.")
    event = ReferralEvent.objects.create(
        practice=referral.practice,
        referral=referral,
        kind=EventKind.NOTE,
        via=via,
        from_status=referral.status,
        to_status=referral.status,
        at=timezone.now(),
        by=by,
        note=note,
    )
    log_action(
        practice=referral.practice,
        actor=by,
        action="referwell.referral.noted",
        obj=referral,
        data={"via": via} if via else None,
    )
    return event


def last_move(events: Iterable[ReferralEvent]) -> ReferralEvent | None:
    """The referral's last move among its timeline's events (in the timeline's order, oldest
    first): notes do not count; None when there is no move to undo (the last one was an undo)."""
    moves = [e for e in events if e.kind != EventKind.NOTE]
    if not moves or moves[-1].kind == EventKind.UNDO:
        return None
    return moves[-1]


def move_undo_refusal(
    *, referral: Referral, move: ReferralEvent | None, by: User | None, now: dt.datetime
) -> str:
    """Why `move` (the referral's last move) cannot be undone by `by` now; "" when it can.
    The rule is states.undo_refusal's; the page offers the button and the API answers by it."""
    return undo_refusal(
        referral.direction,
        referral.status,
        (move.from_status, move.to_status) if move is not None else None,
        made_by_you=move is not None and by is not None and move.by_id == by.pk,
        age=now - move.at if move is not None else dt.timedelta(0),
    )


@transaction.atomic
def referral_undo(*, referral: Referral, by: User | None) -> Referral:
    """Take the referral's last move back: the referral returns to the status it had, and the
    undo is a step of its own on the timeline (and in the audit trail). Raises TransitionError
    with the reason when it may not be undone (states.undo_refusal)."""
    referral = Referral.objects.select_for_update(of=("self",)).get(pk=referral.pk)
    now = timezone.now()
    events = ReferralEvent.objects.filter(referral=referral).exclude(kind=EventKind.NOTE)
    move = last_move(events.order_by("-at", "-id")[:1])
    reason = move_undo_refusal(referral=referral, move=move, by=by, now=now)
    if reason or move is None:
        raise TransitionError(reason or "There is no move to undo.")
    back, undone = move.from_status, move.to_status
    ReferralEvent.objects.create(
        practice=referral.practice,
        referral=referral,
        kind=EventKind.UNDO,
        from_status=undone,
        to_status=back,
        at=now,
        by=by,
    )
    referral.status = back
    # What the move stamped, it takes back (a stamp from an earlier step stays).
    for stamp in ("received_at", "answered_at", "closed_at"):
        if getattr(referral, stamp) == move.at:
            setattr(referral, stamp, None)
    referral.save()
    log_action(
        practice=referral.practice,
        actor=by,
        action="referwell.referral.undone",
        obj=referral,
        data={"from": undone, "to": back},
    )
    return referral


def _contact_details(client: Client, consent: Consent | None) -> dict[str, object]:
    """What the receiving office needs to find and book the client — the date of birth and
    the phone — only when the consent the letter goes under says they may have it."""
    if consent is None or not consent.share_contact_details:
        return {"date_of_birth": None, "phone": ""}
    return {"date_of_birth": client.date_of_birth, "phone": client.phone}


def _letter_render(
    *,
    referral: Referral,
    kind: str,
    by: User | None,
    consent: Consent | None = None,
    link: str = "",
    report: dict[str, object] | None = None,
    referrer: dict[str, object] | None = None,
) -> RenderedLetter:
    """A letter about the referral from the practice's template, the same in its preview and
    when it is sent; `consent` is the one it goes under (None: it carries no client details)."""
    from referwell.outreach.services import letter_context, letter_render

    context = letter_context(
        practice=referral.practice,
        by=by,
        partner=referral.partner,
        client=referral.client,
        referral=referral,
        link=link,
        report=report,
        referrer=referrer,
    )
    context["client"] = {**context["client"], **_contact_details(referral.client, consent)}
    return letter_render(practice=referral.practice, kind=kind, context=context)


def _letter_out(
    *,
    referral: Referral,
    kind: str,
    by: User | None,
    to_name: str,
    to_email: str,
    disclose: str = "",
    channel: str = "",
    consent: Consent | None = None,
    edited: tuple[str, str] | None = None,
    link: str = "",
    report: dict[str, object] | None = None,
    referrer: dict[str, object] | None = None,
) -> SentLetter:
    """Write one letter about a referral from the practice's template — or as the sender
    edited it for this one letter after the preview (`edited`: subject, body) — record the
    disclosure when it carries client information (`disclose` says what), and send it — all
    inside the caller's transaction, so a failed send leaves no disclosure behind."""
    from referwell.outreach.letters import RenderedLetter
    from referwell.outreach.services import message_send

    if edited is not None:
        subject, body = edited
        if link:  # the secure link goes where the preview showed it, or at the end
            body = body.replace(LINK_MARK, link) if LINK_MARK in body else f"{body}\n\n{link}\n"
        letter = RenderedLetter(subject=subject, body=body)
    else:
        letter = _letter_render(
            referral=referral,
            kind=kind,
            by=by,
            consent=consent,
            link=link,
            report=report,
            referrer=referrer,
        )
    disclosure = None
    if disclose:
        disclosure = disclosure_record(
            client=referral.client,
            recipient=f"{to_name} <{to_email}>" if to_email else to_name,
            channel=channel or (Channel.EMAIL if to_email else Channel.LETTER),
            what=disclose,
            by=by,
            consent=consent,
            referral=referral,
            partner=referral.partner,
        )
    return message_send(
        practice=referral.practice,
        kind=kind,
        letter=letter,
        to_name=to_name,
        to_email=to_email,
        by=by,
        referral=referral,
        partner=referral.partner,
        disclosure=disclosure,
    )


# --- Letters read before they leave ----------------------------------------------------------


# In a letter's preview, where the partner's secure link will be (it is made when it is sent).
LINK_MARK = "[the secure link is added here when you send]"
# In a progress report's preview, where the therapist writes the report.
REPORT_MARK = "[Write the report here: only what the doctor needs to know.]"
EDITED_MAX_CHARS = 20_000
# The letters about a referral, each read before it leaves (letter_preview).
REFERRAL_LETTERS = ("referral", "thanks_received", "thanks_care", "progress_report")


class AlreadySent(ValidationError):
    """A thank-you or a progress report already went for this referral, and sending another
    was not confirmed: a double click or a replayed form does not send it twice."""


@dataclass(frozen=True)
class LetterDraft:
    """A letter about a referral as it would leave now: the subject and text the sender reads,
    and may edit for this one letter, and to whom it goes (no e-mail address: a PDF to print)."""

    kind: str
    subject: str
    body: str
    to_name: str
    to_email: str


def _referral_letter_to(referral: Referral) -> tuple[str, str]:
    partner = referral.partner
    if partner is None:
        return str(referral.profession or ""), ""
    return partner.name, partner.email


def _referral_send_check(referral: Referral) -> Consent | None:
    """Why the referral letter cannot go now (raised), or the consent it goes under."""
    if not referral.is_out:
        raise TransitionError("Only a referral out is sent.")
    check_transition(referral.status, Status.SENT, referral.direction)
    return _require_consent(referral, Status.SENT)


def _thank_you_to(referral: Referral) -> tuple[str, str, bool]:
    """Whoever sent us the client: their name, e-mail, and whether a health-care professional."""
    if referral.direction != Direction.IN:
        raise ValidationError("A thank-you is for a referral in.")
    if referral.partner is not None:
        return referral.partner.name, referral.partner.email, True
    if referral.referrer_client is not None:
        rc: Client = referral.referrer_client
        return rc.full_name, rc.email, False
    return referral.referrer_name or "", "", False


def _thanks_care_check(referral: Referral) -> tuple[Partner, Consent]:
    """The partner who took our client on, and the consent to name the client to them."""
    partner = referral.partner
    if not referral.is_out or partner is None:
        raise ValidationError("This thank-you is for a partner who took care of your client.")
    if not may_thank_for_care(referral.status, referral.direction):
        raise ValidationError("Thank the partner once they have taken the client on.")
    consent = referral_consent(referral, "talk")
    if consent is None:
        raise TransitionError(
            f"{referral.client.first_name} has not given consent to share with "
            f"{partner}: record the client's permission first."
        )
    return partner, consent


def _report_to(referral: Referral) -> Partner:
    if referral.direction != Direction.IN or referral.partner is None:
        raise ValidationError("Progress reports go to the professional who referred the client.")
    return referral.partner


def _report_consent(referral: Referral, partner: Partner) -> Consent:
    consent = referral_consent(referral, "report")
    if consent is None:
        raise TransitionError(
            f"{referral.client.first_name} has not consented to a written report to "
            f"{partner}: record the client's permission first."
        )
    return consent


def _report(referral: Referral, text: str) -> dict[str, object]:
    visits = referral.client.visits.filter(date__gte=referral.created_at.date()).count()
    return {"text": text, "visits": visits, "period": ""}


def letter_preview(*, referral: Referral, kind: str, by: User | None) -> LetterDraft:
    """A letter about the referral (`kind`, one of REFERRAL_LETTERS) exactly as it would be sent
    now, and to whom: what the sender reads, and may edit, before sending. Refused with the
    reason (TransitionError, ValidationError) as sending it would be. The referral letter marks
    where the partner's secure link will go; a progress report, where the therapist writes it."""
    consent: Consent | None = None
    report: dict[str, object] | None = None
    referrer: dict[str, object] | None = None
    link = ""
    if kind == "referral":
        consent = _referral_send_check(referral)
        to_name, to_email = _referral_letter_to(referral)
        link = LINK_MARK
    elif kind == "thanks_received":
        to_name, to_email, professional = _thank_you_to(referral)
        referrer = {"name": to_name, "is_professional": professional}
    elif kind == "thanks_care":
        partner, consent = _thanks_care_check(referral)
        to_name, to_email = partner.name, partner.email
    elif kind == "progress_report":
        partner = _report_to(referral)
        consent = _report_consent(referral, partner)
        to_name, to_email = partner.name, partner.email
        report = _report(referral, REPORT_MARK)
    else:
        raise ValueError(f"{kind!r} is not a letter about a referral.")
    letter = _letter_render(
        referral=referral,
        kind=kind,
        by=by,
        consent=consent,
        link=link,
        report=report,
        referrer=referrer,
    )
    return LetterDraft(
        kind=kind, subject=letter.subject, body=letter.body, to_name=to_name, to_email=to_email
    )


def edited_letter_check(
    *,
    referral: Referral,
    subject: str,
    body: str,
    kind: str = "referral",
    names_client: bool = True,
) -> tuple[str, str]:
    """The sender's edits, refused in plain words when they would break a rule of letters
    (`names_client` False: a thank-you that must not say who came)."""
    subject, body = " ".join(subject.split()), body.replace("\r\n", "\n").strip() + "\n"
    if not subject or not body.strip():
        raise ValidationError("The letter needs a subject and a text.")
    if len(body) > EDITED_MAX_CHARS or len(subject) > 300:
        raise ValidationError("The letter is too long to send.")
    client = referral.client
    names = [n for n in (client.first_name, client.last_name) if len(n) > 1]
    if any(n.lower() in subject.lower() for n in names):
        raise ValidationError(
            "The subject must not name the client: whoever sees the inbox sees the subject."
        )
    if kind == "progress_report" and REPORT_MARK in body:
        raise ValidationError(f"Write the report in the letter, in place of “{REPORT_MARK}”.")
    if not names_client and any(
        re.search(rf"\b{re.escape(n)}\b", body, re.IGNORECASE) for n in names
    ):
        raise ValidationError(
            f"The note must not name {client.first_name}: they have not agreed that the person "
            "who recommended you may know they came."
        )
    return subject, body


def letter_pdf_preview(*, referral: Referral, subject: str, body: str) -> bytes:
    """The PDF of a letter as its preview shows it (the text as it stands, edits included),
    under the practice's letterhead: the printed letter, or the e-mail's attachment."""
    from referwell.outreach.letters import RenderedLetter, letter_pdf

    if len(body) > EDITED_MAX_CHARS or len(subject) > 300:
        raise ValidationError("The letter is too long to send.")
    practice = referral.practice
    return letter_pdf(
        letter=RenderedLetter(subject=" ".join(subject.split()), body=body.replace("\r\n", "\n")),
        letterhead={
            "name": practice.name,
            "address": practice.address,
            "phone": practice.phone,
            "email": practice.email,
        },
        paper=practice.paper_size,
    )


_PREPARED = ("letter_subject", "letter_body", "letter_prepared_by", "letter_prepared_at")


def _letter_unprepare(referral: Referral) -> bool:
    """Forget the letter left ready for the front desk (on the instance: the caller saves it);
    whether there was one."""
    if referral.letter_prepared_at is None and not referral.letter_body:
        return False
    referral.letter_subject = referral.letter_body = ""
    referral.letter_prepared_by = None
    referral.letter_prepared_at = None
    return True


@transaction.atomic
def referral_send(
    *,
    referral: Referral,
    by: User | None,
    base_url: str,
    subject: str | None = None,
    body: str | None = None,
) -> ReferralSent:
    """Send a consented referral: the letter (e-mail with PDF, or a PDF to print), a secure link
    for the partner, a disclosure recorded, the referral marked sent — all or nothing. A letter
    left ready for the front desk is then done with."""

    referral = Referral.objects.select_related("client", "partner", "practice").get(pk=referral.pk)
    consent = _referral_send_check(referral)
    edited = None
    if subject is not None and body is not None:
        edited = edited_letter_check(referral=referral, subject=subject, body=body)
    link, token = link_issue(referral=referral, by=by)
    url = base_url.rstrip("/") + f"/l/{token}/"
    to_name, to_email = _referral_letter_to(referral)
    message = _letter_out(
        referral=referral,
        kind="referral",
        by=by,
        to_name=to_name,
        to_email=to_email,
        disclose="Referral letter: client's name and the reason for referral",
        consent=consent,
        edited=edited,
        link=url,
    )
    disclosure = message.disclosure
    if _letter_unprepare(referral):
        referral.save(update_fields=[*_PREPARED, "updated_at"])
    referral_transition(
        referral=referral, to=Status.SENT, by=by, note=f"Letter: {message.subject}", via="letter"
    )
    return {"message": message, "link": link, "url": url, "disclosure": disclosure}


@transaction.atomic
def referral_letter_prepare(
    *, referral: Referral, by: User | None, subject: str, body: str
) -> Referral:
    """A clinician read the referral letter (and maybe edited it) and leaves it "ready to send":
    the front desk sends exactly this letter (referral_send_prepared) without reading it. A new
    one replaces it; the audit records who prepared it."""
    referral = (
        Referral.objects.select_for_update(of=("self",))
        .select_related("client", "partner", "practice")
        .get(pk=referral.pk)
    )
    _referral_send_check(referral)
    subject, body = edited_letter_check(referral=referral, subject=subject, body=body)
    referral.letter_subject, referral.letter_body = subject, body
    referral.letter_prepared_by = by
    referral.letter_prepared_at = timezone.now()
    referral.save(update_fields=[*_PREPARED, "updated_at"])
    log_action(
        practice=referral.practice,
        actor=by,
        action="referwell.referral.letter_prepared",
        obj=referral,
    )
    return referral


@transaction.atomic
def referral_send_prepared(*, referral: Referral, by: User | None, base_url: str) -> ReferralSent:
    """Send the referral letter a clinician left ready (the front desk's Send): exactly that
    letter, through referral_send — the same consent checks, the same outbox. The audit records
    who prepared it and who sent it."""
    referral = (
        Referral.objects.select_for_update(of=("self",))
        .select_related("letter_prepared_by", "practice")
        .get(pk=referral.pk)
    )
    if referral.letter_prepared_at is None:
        raise ValidationError("No letter is ready to send: a therapist reads it first.")
    prepared_by, prepared_at = referral.letter_prepared_by, referral.letter_prepared_at
    result = referral_send(
        referral=referral,
        by=by,
        base_url=base_url,
        subject=referral.letter_subject,
        body=referral.letter_body,
    )
    log_action(
        practice=referral.practice,
        actor=by,
        action="referwell.referral.prepared_letter_sent",
        obj=referral,
        data={
            "prepared_by": prepared_by.email if prepared_by is not None else "",
            "prepared_at": prepared_at.isoformat(),
        },
    )
    return result


# --- The partner's link ----------------------------------------------------------------------


def link_issue(*, referral: Referral, by: User | None) -> tuple[ReferralLink, str]:
    """A new link for the partner; earlier links of the referral stop working."""
    ReferralLink.objects.filter(referral=referral, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    link, token = ReferralLink.issue(referral=referral)
    log_action(practice=referral.practice, actor=by, action="referwell.link.issued", obj=link)
    return link, token


@transaction.atomic
def link_revoke(*, link: ReferralLink, by: User | None) -> ReferralLink:
    if link.revoked_at is None:
        link.revoked_at = timezone.now()
        link.save(update_fields=["revoked_at", "updated_at"])
        log_action(practice=link.practice, actor=by, action="referwell.link.revoked", obj=link)
    return link


LINK_ACTIONS = {
    "received": Status.RECEIVED,
    "accept": Status.ACCEPTED,
    "decline": Status.DECLINED,
    "seen": Status.SEEN,
}


@transaction.atomic
def link_opened(*, link: ReferralLink, ip_address: str | None) -> ReferralLink:
    """The page was fetched: counted and audited, but the referral does not move — mail
    scanners and link previews fetch links too. The partner's first answer on the page (a
    POST, link_act) is what marks it received."""
    link = ReferralLink.objects.select_for_update().get(pk=link.pk)
    link.use_count += 1
    link.last_used_at = timezone.now()
    link.save(update_fields=["use_count", "last_used_at", "updated_at"])
    log_action(
        practice=link.practice,
        actor=None,
        action="referwell.link.opened",
        obj=link,
        ip_address=ip_address,
    )
    return link


@transaction.atomic
def link_act(*, link: ReferralLink, action: str, note: str, ip_address: str | None) -> Referral:
    """What the partner did through the link: received, accept, decline (with a reason), seen,
    a note. The first of them marks a referral that was sent (or had no response) received."""
    referral = link.referral
    note = note.strip()[:1000]
    if action != "note" and action not in LINK_ACTIONS:
        raise ValidationError("Unknown action.")
    if action == "decline" and not note:
        raise ValidationError("Please give a short reason for declining.")
    if action == "note" and not note:
        raise ValidationError("The note is empty.")
    if can_move(referral.direction, referral.status, Status.RECEIVED):  # not marked yet
        referral = referral_transition(
            referral=referral, to=Status.RECEIVED, by=None, via=Via.PARTNER_LINK
        )
    if action == "note":
        referral_note(referral=referral, by=None, note=note, via=Via.PARTNER_LINK)
    elif action != "received":  # "received" is done above, or was already
        referral = referral_transition(
            referral=referral, to=LINK_ACTIONS[action], by=None, note=note, via=Via.PARTNER_LINK
        )
    log_action(
        practice=referral.practice,
        actor=None,
        action=f"referwell.link.{action}",
        obj=link,
        ip_address=ip_address,
    )
    return referral


# --- Closing the loop ------------------------------------------------------------------------


def referrals_flag_no_response(*, practice: Practice, today: dt.date | None = None) -> list[int]:
    """Referrals sent and not answered within the practice's business days: no response.

    The pages call it as they open: it reads first, and opens a (writing) transaction only
    when there is something to flag — N business days are at least N calendar days, so a
    referral sent since then cannot be due yet."""
    today = today or timezone.localdate()
    days = practice.no_response_business_days
    cutoff = timezone.make_aware(dt.datetime.combine(today - dt.timedelta(days=days), dt.time.max))
    candidates = [
        referral
        for referral in Referral.objects.for_practice(practice)
        .filter(
            direction=Direction.OUT,
            status__in=moves_into(Direction.OUT, Status.NO_RESPONSE),  # sent, received
            sent_at__isnull=False,
            sent_at__lte=cutoff,
        )
        .order_by()
        if business_days_between(timezone.localtime(referral.sent_at).date(), today) >= days
    ]
    if not candidates:
        return []
    flagged = []
    with transaction.atomic():
        for referral in candidates:
            waited = business_days_between(timezone.localtime(referral.sent_at).date(), today)
            try:
                referral_transition(
                    referral=referral,
                    to=Status.NO_RESPONSE,
                    by=None,
                    note=f"No answer after {waited} business days.",
                )
            except TransitionError:
                continue  # moved since it was read: answered, or flagged by another page
            flagged.append(referral.pk)
    return flagged


def _already_sent(referral: Referral, kind: str, what: str) -> None:
    """Refuse a second thank-you or report the sender did not confirm (AlreadySent)."""
    at = referral.letter_sent_at(kind)
    if at is not None:
        raise AlreadySent(
            f"{what} already went on {timezone.localtime(at):%b} {timezone.localtime(at).day}: "
            "confirm to send another."
        )


@transaction.atomic
def report_send(
    *,
    referral: Referral,
    text: str,
    by: User | None,
    subject: str | None = None,
    body: str | None = None,
    once: bool = False,
) -> SentLetter:
    """A progress report to the professional who referred the client — only with consent. The
    report is `text` in the practice's letter, or the letter as the therapist wrote it from its
    preview (`subject`, `body`). `once`: refused (AlreadySent) if a report already went."""

    referral = (
        Referral.objects.select_for_update(of=("self",))
        .select_related("client", "partner")
        .get(pk=referral.pk)
    )
    partner = _report_to(referral)
    edited = None
    if subject is not None and body is not None:
        edited = edited_letter_check(
            referral=referral, subject=subject, body=body, kind="progress_report"
        )
    elif not text.strip():
        raise ValidationError("The report is empty.")
    consent = _report_consent(referral, partner)
    if once:
        _already_sent(referral, "progress_report", "A progress report")
    message = _letter_out(
        referral=referral,
        kind="progress_report",
        by=by,
        to_name=partner.name,
        to_email=partner.email,
        disclose="Progress report",
        channel=Channel.REPORT,
        consent=consent,
        edited=edited,
        report=_report(referral, text.strip()),
    )
    referral.last_report_at = timezone.now()
    referral.save(update_fields=["last_report_at", "updated_at"])
    if can_move(referral.direction, referral.status, Status.REPORTED):  # the client was seen
        referral_transition(
            referral=referral, to=Status.REPORTED, by=by, note="Progress report sent", via="report"
        )
    return message


@transaction.atomic
def thank_you_send(
    *,
    referral: Referral,
    by: User | None,
    subject: str | None = None,
    body: str | None = None,
    once: bool = False,
) -> SentLetter:
    """Thank whoever sent us a client; a non-professional referrer is not told who came unless
    the client agreed. The practice's letter, or as edited from its preview (`subject`,
    `body`); `once`: refused (AlreadySent) if a thank-you already went."""

    referral = (
        Referral.objects.select_for_update(of=("self",))
        .select_related("client", "partner", "referrer_client")
        .get(pk=referral.pk)
    )
    to_name, to_email, professional = _thank_you_to(referral)
    named = professional or referral.client.may_tell_referrer
    edited = None
    if subject is not None and body is not None:
        edited = edited_letter_check(
            referral=referral,
            subject=subject,
            body=body,
            kind="thanks_received",
            names_client=named,
        )
    if once:
        _already_sent(referral, "thanks_received", "A thank-you")
    message = _letter_out(
        referral=referral,
        kind="thanks_received",
        by=by,
        to_name=to_name,
        to_email=to_email,
        disclose="Thank-you note naming the client" if named else "",
        edited=edited,
        referrer={"name": to_name, "is_professional": professional},
    )
    referral.thanked_at = timezone.now()
    referral.save(update_fields=["thanked_at", "updated_at"])
    if referral.partner is not None:
        touchpoint_create(
            partner=referral.partner,
            by=by,
            kind="thank_you",
            date=timezone.localdate(),
            note="Thank-you for referring a client",
        )
    return message


@transaction.atomic
def followup_done(*, referral: Referral, by: User | None) -> Referral:
    referral.followup_done_at = timezone.now()
    referral.save(update_fields=["followup_done_at", "updated_at"])
    log_action(
        practice=referral.practice,
        actor=by,
        action="referwell.referral.followup_done",
        obj=referral,
    )
    return referral


@transaction.atomic
def thanks_care_send(
    *,
    referral: Referral,
    by: User | None,
    subject: str | None = None,
    body: str | None = None,
    once: bool = False,
) -> SentLetter:
    """Thank a partner for taking care of our client: it names the client, so it needs the
    client's consent and is a disclosure. The practice's letter, or as edited from its preview
    (`subject`, `body`); `once`: refused (AlreadySent) if this thank-you already went."""

    referral = (
        Referral.objects.select_for_update(of=("self",))
        .select_related("client", "partner__practice", "practice")
        .get(pk=referral.pk)
    )
    partner, consent = _thanks_care_check(referral)
    edited = None
    if subject is not None and body is not None:
        edited = edited_letter_check(
            referral=referral, subject=subject, body=body, kind="thanks_care"
        )
    if once:
        _already_sent(referral, "thanks_care", "A thank-you")
    message = _letter_out(
        referral=referral,
        kind="thanks_care",
        by=by,
        to_name=partner.name,
        to_email=partner.email,
        disclose="Thank-you for taking care of the client (names the client)",
        consent=consent,
        edited=edited,
    )
    referral.thanked_for_care_at = timezone.now()
    referral.save(update_fields=["thanked_for_care_at", "updated_at"])

    touchpoint_create(
        partner=partner,
        by=by,
        kind="thank_you",
        date=timezone.localdate(),
        note="Thank-you for taking care of a client",
    )
    return message


def letter_send(
    *,
    referral: Referral,
    kind: str,
    by: User | None,
    subject: str | None = None,
    body: str | None = None,
    text: str = "",
    once: bool = False,
) -> SentLetter:
    """A thank-you or a progress report as its preview showed it (`subject`, `body`; without
    them, the practice's letter). The referral letter is referral_send: it makes a link."""
    if kind == "thanks_received":
        return thank_you_send(referral=referral, by=by, subject=subject, body=body, once=once)
    if kind == "thanks_care":
        return thanks_care_send(referral=referral, by=by, subject=subject, body=body, once=once)
    if kind == "progress_report":
        return report_send(
            referral=referral, text=text, by=by, subject=subject, body=body, once=once
        )
    raise ValueError(f"{kind!r} is not a letter sent from its preview.")
