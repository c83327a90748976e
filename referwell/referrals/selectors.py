from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import TypedDict

from django.db.models import BooleanField, ExpressionWrapper, OuterRef, Q, QuerySet, Subquery
from django.http import Http404
from django.utils import timezone

from referwell.accounts.models import Practice, User
from referwell.referrals.models import (
    Direction,
    EventKind,
    Referral,
    ReferralEvent,
    ReferralLink,
    Via,
)
from referwell.referrals.states import (
    UNDO_WINDOW,
    Status,
    is_open,
    may_issue_link,
    may_send,
    may_thank_for_care,
)


def referral_list(
    *,
    practice: Practice,
    direction: str = "",
    status: str = "",
    client_id: int | None = None,
    partner_id: int | None = None,
) -> QuerySet[Referral]:
    qs = Referral.objects.for_practice(practice).select_related("client", "partner", "profession")
    if direction:
        qs = qs.filter(direction=direction)
    if status:
        qs = qs.filter(status=status)
    if client_id:
        qs = qs.filter(client_id=client_id)
    if partner_id:
        qs = qs.filter(partner_id=partner_id)
    return qs.order_by("-created_at", "-id")


def referral_get(*, practice: Practice, pk: int | str) -> Referral:
    try:
        return (
            Referral.objects.for_practice(practice)
            .select_related("client", "partner", "profession", "created_by", "letter_prepared_by")
            .get(pk=int(pk))
        )
    except (Referral.DoesNotExist, ValueError, TypeError):
        raise Http404("No such referral.") from None


def referral_events(*, practice: Practice, referral: Referral) -> QuerySet[ReferralEvent]:
    return (
        ReferralEvent.objects.for_practice(practice).filter(referral=referral).select_related("by")
    )


def last_move_at() -> Subquery:
    """The moment of a referral's last move (not a note), to annotate a list with: how long a
    referral has been where it is ("since" on the dashboard), which its creation date is not."""
    return Subquery(
        ReferralEvent.objects.filter(referral=OuterRef("pk"))
        .exclude(kind=EventKind.NOTE)
        .order_by("-at", "-id")
        .values("at")[:1]
    )


# What the partner did through the secure link, as the timeline says it.
PARTNER_ANSWERS: dict[str, str] = {
    Status.RECEIVED: "{partner} acknowledged it via the secure link",
    Status.ACCEPTED: "{partner} accepted via the secure link",
    Status.DECLINED: "{partner} declined via the secure link",
    Status.SEEN: "{partner} has seen the client (via the secure link)",
}


@dataclass(frozen=True)
class TimelineEntry:
    """One step of a referral's timeline as the page shows it."""

    kind: str
    title: str
    at: dt.datetime
    by: User | None
    note: str
    event: ReferralEvent


def _label(status: str) -> str:
    return Status(status).label if status in Status.values else status


def timeline_title(event: ReferralEvent, *, partner: str) -> str:
    """What happened, in words: a move by its status, the partner's answers as theirs, a note
    as a note (never as a second "Client seen"), an undo as the move taken back."""
    if event.kind == EventKind.NOTE:
        return f"Note from {partner}" if event.via == Via.PARTNER_LINK else "Note"
    if event.kind == EventKind.UNDO:
        return f"Undone: {_label(event.from_status)} — back to {_label(event.to_status)}"
    if event.via == Via.PARTNER_LINK and event.to_status in PARTNER_ANSWERS:
        return PARTNER_ANSWERS[event.to_status].format(partner=partner)
    return _label(event.to_status)


def referral_timeline(*, referral: Referral, events: list[ReferralEvent]) -> list[TimelineEntry]:
    partner = str(referral.partner) if referral.partner_id else "The partner"
    return [
        TimelineEntry(
            kind=e.kind,
            title=timeline_title(e, partner=partner),
            at=e.at,
            by=e.by,
            note=e.note,
            event=e,
        )
        for e in events
    ]


# The Undo the page offers: the move, its two statuses in words, and until when.
UndoOffer = TypedDict(
    "UndoOffer", {"event": ReferralEvent, "from": str, "to": str, "until": dt.datetime}
)


def undo_offer(
    *, referral: Referral, events: list[ReferralEvent], user: User | None
) -> UndoOffer | None:
    """The Undo the page offers this member (their last move, for UNDO_WINDOW), or None: the
    same rule as services.referral_undo, read from the timeline already loaded."""
    from referwell.referrals.services import last_move, move_undo_refusal

    move = last_move(events)
    if move is None or move_undo_refusal(referral=referral, move=move, by=user, now=timezone.now()):
        return None
    return {
        "event": move,
        "from": _label(move.from_status),
        "to": _label(move.to_status),
        "until": move.at + UNDO_WINDOW,
    }


def referral_links(*, practice: Practice, referral: Referral) -> QuerySet[ReferralLink]:
    return ReferralLink.objects.for_practice(practice).filter(
        referral=referral, revoked_at__isnull=True
    )


@dataclass(frozen=True)
class SentBefore:
    """A thank-you or a report that already went for a referral: when, to whom, and whether by
    e-mail (None: not known — it was recorded without its letter, imported for instance)."""

    at: dt.datetime
    to_name: str
    by_email: bool | None


def letter_sent_before(*, practice: Practice, referral: Referral, kind: str) -> SentBefore | None:
    """The last letter of `kind` that went for this referral (its preview says so before another
    is sent), or None."""
    from referwell.outreach.models import OutgoingMessage

    at = referral.letter_sent_at(kind)
    if at is None:
        return None
    message = (
        OutgoingMessage.objects.for_practice(practice)
        .filter(referral=referral, kind=kind)
        .only("created_at", "to_name", "to_email")
        .first()
    )
    if message is None:
        return SentBefore(at=at, to_name="", by_email=None)
    return SentBefore(
        at=message.created_at, to_name=message.to_name, by_email=bool(message.to_email)
    )


def referral_detail_context(
    *, practice: Practice, referral: Referral, user: User | None = None
) -> dict[str, object]:
    """Everything the referral page shows: timeline, links, disclosures, what is owed, and the
    Undo offered to `user`."""
    from referwell.audit.models import Disclosure
    from referwell.outreach.models import OutgoingMessage
    from referwell.referrals.services import referral_consent

    today = timezone.localdate()
    visits_used = referral.client.visits.filter(date__gte=referral.created_at.date()).count()
    links = list(referral_links(practice=practice, referral=referral))
    owed = []
    if referral.direction == Direction.IN:
        if referral.thanked_at is None:
            owed.append("thank_you")
        if (
            referral.partner_id
            and referral.report_interval_days
            and is_open(referral.status)
            and (
                referral.last_report_at is None
                or (timezone.now() - referral.last_report_at).days >= referral.report_interval_days
            )
        ):
            owed.append("report")
        if referral.partner_id and referral.followup_done_at is None and _is_physician(referral):
            owed.append("followup")
    events = list(referral_events(practice=practice, referral=referral))
    return {
        "referral": referral,
        "events": referral_timeline(referral=referral, events=events),
        "undo": undo_offer(referral=referral, events=events, user=user),
        "links": [link for link in links if link.is_usable],
        "disclosures": Disclosure.objects.for_practice(practice)
        .filter(referral=referral)
        .select_related("by", "consent"),
        "messages_sent": OutgoingMessage.objects.for_practice(practice).filter(referral=referral),
        "consent": referral_consent(referral, "talk") if referral.is_out else None,
        "report_consent": referral_consent(referral, "report")
        if referral.direction == Direction.IN
        else None,
        "owed": owed,
        "validity": referral.validity_warning(visits_used=visits_used, today=today),
        # What the page offers, as states.py decides it (the template holds no rule).
        "can_send": may_send(referral.status, referral.direction),
        "can_issue_link": may_issue_link(referral.status, referral.direction),
        "can_thank_care": referral.partner_id is not None
        and may_thank_for_care(referral.status, referral.direction),
    }


PHYSICIANS = {
    "primary-care-physician",
    "orthopedic-surgeon",
    "sports-medicine-physician",
    "neurologist",
    "dermatologist",
    "osteopath",
    "psychiatrist",
    "obstetrician-gynecologist",
    "fertility-specialist",
}


def _is_physician(referral: Referral) -> bool:
    partner = referral.partner
    return partner is not None and any(p.slug in PHYSICIANS for p in partner.professions.all())


# Words by which a partner's note asks the massage therapist to hold back: shown first.
PRECAUTION = re.compile(
    r"\b(avoid|do not|don'?t|no (deep|massage|pressure|work)|precaution|contraindicat\w*|"
    r"until (cleared|further|i see|we)|hold off|gentle only|careful|not (on|over|near) the)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class PartnerAnswer:
    at: dt.datetime
    partner: str
    what: str
    note: str
    precaution: bool
    referral_id: int


def partner_answers(*, practice: Practice, client_id: int, limit: int = 5) -> list[PartnerAnswer]:
    """What partners answered about this client through their secure link, newest first, with
    notes that ask for a precaution ("avoid deep work on the neck for two weeks") first — for
    the client's page a therapist opens before the next session. One query."""
    events = (
        ReferralEvent.objects.filter(
            practice=practice, referral__client_id=client_id, via=Via.PARTNER_LINK
        )
        .select_related("referral__partner")
        .order_by("-at", "-id")[: limit * 3]
    )
    answers = []
    for e in events:
        partner = e.referral.partner.name if e.referral.partner else "The partner"
        what = "Note" if e.kind == EventKind.NOTE else e.get_to_status_display()
        note = e.note or ""
        answers.append(
            PartnerAnswer(
                at=e.at,
                partner=partner,
                what=what,
                note=note,
                precaution=bool(note and PRECAUTION.search(note)),
                referral_id=e.referral_id,
            )
        )
    answers.sort(key=lambda a: not a.precaution)  # stable: newest first within each
    return answers[:limit]


# --- What partners answered through their link since a moment: the dashboard's news ---------

# Each answer in words, between the partner's name and the client's.
ANSWER_WORDS: dict[str, str] = {
    Status.RECEIVED: "received the referral of",
    Status.ACCEPTED: "accepted the referral of",
    Status.DECLINED: "declined the referral of",
    Status.SEEN: "has seen",
    Status.REPORTED: "reported back about",
}
NOTE_WORDS = "sent a note about"


@dataclass(frozen=True)
class LinkAnswer:
    """One answer a partner gave through the secure link: who, what, when, about which
    referral. Its note (clinical text) only when it was asked for: `has_note` says that there
    is one either way."""

    at: dt.datetime
    partner: str
    what: str  # "accepted the referral of", "sent a note about" (then the client's name)
    status: str  # the status it moved the referral to; "" for a note
    client: str
    referral_id: int
    has_note: bool
    note: str
    precaution: bool


def partner_answers_since(
    *, practice: Practice, since: dt.datetime, notes: bool, limit: int = 10
) -> tuple[list[LinkAnswer], bool]:
    """What partners answered through their secure link after `since`, newest first, at most
    `limit`, and whether there are more. Their notes are read (and decrypted) only with
    `notes` — for the clinical roles; the front desk learns that a note came, not what it says.
    A "received" that the partner's next answer made on the way (the link marks a referral
    received before accepting it) is left out when that answer is listed. One query."""
    fields = [
        "at",
        "kind",
        "to_status",
        "referral_id",
        "referral__partner__name",
        "referral__client__first_name",
        "referral__client__last_name",
        "has_note",
    ]
    if notes:
        fields.append("note")
    rows = list(
        ReferralEvent.objects.filter(practice=practice, via=Via.PARTNER_LINK, at__gt=since)
        .exclude(kind=EventKind.UNDO)
        .annotate(has_note=ExpressionWrapper(~Q(note=""), output_field=BooleanField()))
        .order_by("-at", "-id")
        .values(*fields)[: 2 * limit + 1]
    )
    answers: list[LinkAnswer] = []
    answered_later: set[int] = set()  # referrals with a later answer listed (newest first)
    for row in rows[: 2 * limit]:
        referral_id = row["referral_id"]
        is_note = row["kind"] == EventKind.NOTE
        status = "" if is_note else row["to_status"]
        if status == Status.RECEIVED and referral_id in answered_later:
            continue
        answered_later.add(referral_id)
        note = row.get("note") or ""
        what = ANSWER_WORDS.get(status, f"moved to {_label(status)} the referral of")
        client = (row["referral__client__first_name"], row["referral__client__last_name"])
        answers.append(
            LinkAnswer(
                at=row["at"],
                partner=row["referral__partner__name"] or "The partner",
                what=NOTE_WORDS if is_note else what,
                status=status,
                client=" ".join(client),
                referral_id=referral_id,
                has_note=bool(row["has_note"]),
                note=note,
                precaution=bool(note and PRECAUTION.search(note)),
            )
        )
    more = len(answers) > limit or len(rows) > 2 * limit
    return answers[:limit], more
