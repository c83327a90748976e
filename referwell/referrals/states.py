"""The referral state machine: the only place that knows which moves are allowed.

Every question about a referral's status — may it move, may a partner link be issued, is it
open, is it finished, is an answer awaited — is a function (or a named set) of this module;
the pages, the API, the partner's link page, the insights and the cadence ask it, and never
list statuses of their own.

A referral out goes draft → discussed → consented → sent → received (the partner opened it)
→ accepted or declined → seen → reported (the partner reported back) → closed; it can be
cancelled on the way, and becomes no-response when the partner stays silent. A referral in
arrives as received, is accepted (or declined), the client is seen, a progress report goes
back to the referring professional, and it is closed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection

from django.db import models

from referwell.core.errors import ApplicationError


class Status(models.TextChoices):
    DRAFT = "draft", "Draft"
    DISCUSSED = "discussed", "Discussed with the client"
    CONSENTED = "consented", "Client consented"
    SENT = "sent", "Sent"
    RECEIVED = "received", "Received"
    ACCEPTED = "accepted", "Accepted"
    DECLINED = "declined", "Declined"
    SEEN = "seen", "Client seen"
    REPORTED = "reported", "Report back"
    CLOSED = "closed", "Closed"
    CANCELLED = "cancelled", "Cancelled"
    NO_RESPONSE = "no-response", "No response"


S = Status
OUT_TRANSITIONS: dict[str, set[str]] = {
    S.DRAFT: {S.DISCUSSED, S.CONSENTED, S.CANCELLED},
    S.DISCUSSED: {S.CONSENTED, S.CANCELLED},
    S.CONSENTED: {S.SENT, S.CANCELLED},
    S.SENT: {S.RECEIVED, S.ACCEPTED, S.DECLINED, S.NO_RESPONSE, S.CANCELLED},
    S.RECEIVED: {S.ACCEPTED, S.DECLINED, S.NO_RESPONSE, S.CANCELLED},
    S.NO_RESPONSE: {S.SENT, S.RECEIVED, S.ACCEPTED, S.DECLINED, S.CLOSED, S.CANCELLED},
    S.ACCEPTED: {S.SEEN, S.CLOSED, S.CANCELLED},
    S.DECLINED: {S.CLOSED},
    S.SEEN: {S.REPORTED, S.CLOSED},
    S.REPORTED: {S.CLOSED},
    S.CLOSED: set(),
    S.CANCELLED: set(),
}
IN_TRANSITIONS: dict[str, set[str]] = {
    S.RECEIVED: {S.ACCEPTED, S.DECLINED, S.CANCELLED},
    S.ACCEPTED: {S.SEEN, S.CLOSED, S.CANCELLED},
    S.DECLINED: {S.CLOSED},
    S.SEEN: {S.REPORTED, S.CLOSED},
    S.REPORTED: {S.CLOSED},
    S.CLOSED: set(),
    S.CANCELLED: set(),
}
INITIAL = {"out": S.DRAFT, "in": S.RECEIVED}


def _in_order(statuses: Collection[str]) -> tuple[Status, ...]:
    """These statuses as a tuple in the order of Status: a set's order changes from one
    process to the next, and `status__in=` must write the same SQL every time."""
    return tuple(s for s in Status if s in statuses)


# The named sets, each defined once. Tuples in a fixed order, for the same SQL every time.
#
# Finished: nothing can happen to it any more. A tuple in *this* order: `status__in=FINAL`
# must write the same SQL in every process (the open-referrals partial index is matched on
# it, and its migration compares it). Do not reorder.
FINAL = (S.CANCELLED, S.CLOSED)
# Sent, and the partner has not answered: the fate is not known yet, the loop is open.
AWAITING_ANSWER = (S.SENT, S.RECEIVED, S.NO_RESPONSE)
OPEN_OUT = AWAITING_ANSWER  # its older name
# The partner has answered (opened it and acted on it).
ANSWERED = (S.ACCEPTED, S.DECLINED, S.SEEN, S.REPORTED)
# The fate of a referral out is known: answered, or the loop was closed.
FATE_KNOWN = (*ANSWERED, S.CLOSED)
# A referral out that has gone to the partner (cancelled ones are left out: whether they had
# gone is not known from the status).
SENT_OR_LATER = _in_order({*AWAITING_ANSWER, *FATE_KNOWN})
# The professional took the client on, and the referral is not closed: a referral out the
# partner accepted, a referral in whose client we see.
TAKEN_ON = (S.ACCEPTED, S.SEEN, S.REPORTED)
# Never became a referral the practice made: still a draft, or called off.
NOT_MADE = (S.DRAFT, S.CANCELLED)
# The partner's page has nothing left for the partner to do (not even a note): they
# declined, or the referral is finished.
PARTNER_DONE = _in_order({S.DECLINED, *FINAL})
# A new partner link may be issued for a referral out in these states: it has gone to the
# partner and their page still lets them do something (acknowledge, accept or decline, mark
# the client seen, write a note). Never for a draft (the link goes out with the letter), and
# never for a declined, closed or cancelled referral.
LINK_STATUSES = tuple(s for s in SENT_OR_LATER if s not in PARTNER_DONE)

# Moves that send the client's information to the other professional. The page makes them
# only through their own action (Send the referral, Send the report), which writes the
# letter; made by hand (the API: sent by fax, by phone) they are recorded as a disclosure.
# Only a clinician makes them.
SENDING_MOVES: frozenset[tuple[str, str]] = frozenset({("out", S.SENT), ("in", S.REPORTED)})

# Moves that end a referral's course: the partner (or we) declined it, it is closed, it is
# cancelled. The page asks before it makes one — a second step, never a single click.
ENDING_MOVES = _in_order({S.DECLINED, *FINAL})

# The last move may be taken back for this long, by the member who made it, while nothing else
# happened to the referral (notes aside). An undo is a move back, recorded on the timeline.
UNDO_WINDOW = dt.timedelta(minutes=10)

# Moves that disclose client information, and what each discloses: a kind of communication
# whose consent scope is the clients' one rule (referwell.clients.services.CONSENT_FOR_KIND) —
# a call needs a consent to talk, a letter with the reason a written one.
DISCLOSING_MOVES: dict[tuple[str, str], str] = {
    ("out", S.CONSENTED): "talk",
    ("out", S.SENT): "referral",
    ("in", S.REPORTED): "progress_report",
}

# FHIR Task.status for each state, for the interoperability export.
FHIR_TASK_STATUS: dict[str, str] = {
    S.DRAFT: "draft",
    S.DISCUSSED: "draft",
    S.CONSENTED: "requested",
    S.SENT: "requested",
    S.RECEIVED: "received",
    S.ACCEPTED: "accepted",
    S.DECLINED: "rejected",
    S.SEEN: "in-progress",
    S.REPORTED: "in-progress",
    S.CLOSED: "completed",
    S.CANCELLED: "cancelled",
    S.NO_RESPONSE: "failed",
}


class TransitionError(ApplicationError):
    """A move the state machine refuses; the message says why, for a person to read."""


def transitions(direction: str) -> dict[str, set[str]]:
    return OUT_TRANSITIONS if direction == "out" else IN_TRANSITIONS


def allowed_next(status: str, direction: str = "out") -> list[str]:
    return sorted(transitions(direction).get(status, set()), key=Status.values.index)


def can_move(direction: str, current: str, to: str) -> bool:
    """May a referral of this direction move from `current` to `to`?"""
    return to in transitions(direction).get(current, set())


def move_refusal(direction: str, current: str, to: str) -> str:
    """Why the move is refused, for a person to read; "" when it is allowed."""
    if to not in Status.values:
        return f"'{to}' is not a referral status."
    if can_move(direction, current, to):
        return ""
    nxt = ", ".join(allowed_next(current, direction)) or "nothing (this referral is finished)"
    kind = "referral out" if direction == "out" else "referral in"
    label = Status(current).label.lower() if current in Status.values else f"'{current}'"
    return f"A {kind} that is {label} cannot move to '{to}'; it can move to: {nxt}."


def check_transition(current: str, to: str, direction: str = "out") -> None:
    """Raise TransitionError, with the reason, unless the move is allowed."""
    if reason := move_refusal(direction, current, to):
        raise TransitionError(reason)


def moves_into(direction: str, to: str) -> tuple[Status, ...]:
    """The statuses a referral of this direction can move to `to` from, in order (for
    `status__in=`: e.g. the referrals that can be flagged no-response)."""
    return tuple(s for s in Status if can_move(direction, s, to))


def sends_information(direction: str, to: str) -> bool:
    """Does this move send the client's information out (a letter, a report)? Only a
    clinician makes it, and the page makes it through its own action, not by hand."""
    return (direction, to) in SENDING_MOVES


def needs_confirmation(direction: str, to: str) -> bool:
    """Does this move end the referral's course (declined, closed, cancelled)? The page makes
    it only once the person has confirmed it, in a second step."""
    return to in ENDING_MOVES and any(to in nxt for nxt in transitions(direction).values())


def undo_refusal(
    direction: str,
    status: str,
    last_move: tuple[str, str] | None,
    *,
    made_by_you: bool,
    age: dt.timedelta,
) -> str:
    """Why the referral's last move cannot be undone, for a person to read; "" when it can.

    `last_move` is (from, to) of the referral's last move — None when there is none to undo
    (only its creation, or the last one was itself an undo). The undo is the move back, from
    `to` to `from`: by the member who made the move, within UNDO_WINDOW, and never for a move
    that sent the client's information out (a letter or a report cannot be called back)."""
    if last_move is None or not last_move[0]:
        return "There is no move to undo."
    frm, to = last_move
    if to != status:
        return "The referral has moved since: there is nothing to undo."
    if sends_information(direction, to):
        return (
            "What was sent cannot be called back: a referral sent (or a report sent back) "
            "is not undone."
        )
    if not can_move(direction, frm, to):
        return "This move cannot be undone."
    if not made_by_you:
        return "Only the person who made the move can undo it."
    if age > UNDO_WINDOW:
        minutes = int(UNDO_WINDOW.total_seconds() // 60)
        return f"A move can be undone for {minutes} minutes after it is made; this one is older."
    return ""


def disclosure_of_move(direction: str, to: str) -> str | None:
    """What the move discloses (a key of clients.services.CONSENT_FOR_KIND), None if nothing."""
    return DISCLOSING_MOVES.get((direction, to))


def is_finished(status: str) -> bool:
    """Closed or cancelled: nothing can happen to it any more."""
    return status in FINAL


def is_open(status: str) -> bool:
    """Not finished (the opposite of is_finished; `status__final=False` in a query)."""
    return status not in FINAL


def awaiting_answer(status: str) -> bool:
    """A referral out that was sent and whose partner has not answered: the loop is open."""
    return status in AWAITING_ANSWER


def fate_known(status: str) -> bool:
    """The partner answered, or the loop was closed."""
    return status in FATE_KNOWN


def taken_on(status: str) -> bool:
    """The professional took the client on and the referral is not closed (a progress
    report may be due on a referral in)."""
    return status in TAKEN_ON


def may_send(status: str, direction: str) -> bool:
    """Does the page offer "Send the referral" (the letter and the link)? For a referral out
    the client consented to. (The machine also lets a no-response referral move to sent again;
    the page offers a new link for it instead of a second letter.)"""
    return direction == "out" and status == S.CONSENTED


def may_thank_for_care(status: str, direction: str) -> bool:
    """May the practice thank the partner for taking care of the client? Once the partner has
    taken the client on (or the loop is closed)."""
    return direction == "out" and (status in TAKEN_ON or status == S.CLOSED)


def partner_done(status: str) -> bool:
    """Nothing is left for the partner to do on their page (not even a note)."""
    return status in PARTNER_DONE


def link_refusal(status: str, direction: str) -> str:
    """Why no new partner link may be issued, for a person to read; "" when one may.

    The one rule, for the page and the API alike: a referral out that has gone to the partner
    and whose page still lets them do something (LINK_STATUSES)."""
    if direction != "out":
        return "A partner link is for a referral out: the partner answers it through the link."
    if status in LINK_STATUSES:
        return ""
    if status in FINAL:
        return f"This referral is {Status(status).label.lower()}: no new link is issued for it."
    if status == S.DECLINED:
        return "The partner declined this referral: there is nothing left for them to answer."
    return "The partner's link goes out with the referral: send the referral first."


def may_issue_link(status: str, direction: str) -> bool:
    """May a new partner link be issued (the earlier one then stops working)? See
    link_refusal for the rule and the reasons."""
    return not link_refusal(status, direction)
