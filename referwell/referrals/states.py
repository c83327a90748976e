"""The referral state machine: the only place that knows which moves are allowed.

A referral out goes draft → discussed → consented → sent → received (the partner opened it)
→ accepted or declined → seen → reported (the partner reported back) → closed; it can be
cancelled on the way, and becomes no-response when the partner stays silent. A referral in
arrives as received, is accepted (or declined), the client is seen, a progress report goes
back to the referring professional, and it is closed.
"""

from __future__ import annotations

from django.db import models


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
# A tuple, in a fixed order: `status__in=FINAL` must write the same SQL in every process (the
# open-referrals partial index is matched on it, and its migration compares it).
FINAL = (S.CANCELLED, S.CLOSED)
# Where the fate is not known yet: the loop is open.
OPEN_OUT = {S.SENT, S.RECEIVED, S.NO_RESPONSE}
# The partner has answered (opened and acted on it).
ANSWERED = {S.ACCEPTED, S.DECLINED, S.SEEN, S.REPORTED}

# Moves that disclose client information, and the consent scope each needs.
CONSENT_NEEDED: dict[tuple[str, str], str] = {
    ("out", S.CONSENTED): "talk",
    ("out", S.SENT): "talk",
    ("in", S.REPORTED): "report",
}

# FHIR Task.status for each state, for the interoperability export.
FHIR_TASK_STATUS = {
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


class TransitionError(Exception):
    """A move the state machine refuses; the message says why, for a person to read."""


def transitions(direction: str) -> dict[str, set[str]]:
    return OUT_TRANSITIONS if direction == "out" else IN_TRANSITIONS


def allowed_next(status: str, direction: str = "out") -> list[str]:
    return sorted(transitions(direction).get(status, set()), key=list(Status).index)


def check_transition(current: str, to: str, direction: str = "out") -> None:
    if to not in Status.values:
        raise TransitionError(f"'{to}' is not a referral status.")
    if to not in transitions(direction).get(current, set()):
        nxt = ", ".join(allowed_next(current, direction)) or "nothing (this referral is finished)"
        kind = "referral out" if direction == "out" else "referral in"
        raise TransitionError(
            f"A {kind} that is {Status(current).label.lower()} cannot move to "
            f"'{to}'; it can move to: {nxt}."
        )


def consent_scope_needed(direction: str, to: str) -> str | None:
    return CONSENT_NEEDED.get((direction, to))
