"""The referral state machine: the only place that knows which moves are allowed.

The full lifecycle (issue: referrals to closure) is declared here; the transitions allowed
today are the foundation's draft → sent → closed, plus cancelling.
"""

from __future__ import annotations

from django.db import models


class Status(models.TextChoices):
    DRAFT = "draft", "Draft"
    DISCUSSED = "discussed", "Discussed with the client"
    CONSENTED = "consented", "Client consented"
    SENT = "sent", "Sent"
    RECEIVED = "received", "Received by the partner"
    ACCEPTED = "accepted", "Accepted"
    DECLINED = "declined", "Declined"
    SEEN = "seen", "Client seen"
    REPORTED = "reported", "Report back"
    CLOSED = "closed", "Closed"
    CANCELLED = "cancelled", "Cancelled"
    NO_RESPONSE = "no-response", "No response"


TRANSITIONS: dict[str, set[str]] = {
    Status.DRAFT: {Status.SENT, Status.CANCELLED},
    Status.SENT: {Status.CLOSED, Status.CANCELLED},
    Status.CLOSED: set(),
    Status.CANCELLED: set(),
}

FINAL = {Status.CLOSED, Status.CANCELLED, Status.DECLINED, Status.NO_RESPONSE}

# FHIR Task.status for each state, for the interoperability export.
FHIR_TASK_STATUS = {
    Status.DRAFT: "draft",
    Status.DISCUSSED: "draft",
    Status.CONSENTED: "requested",
    Status.SENT: "requested",
    Status.RECEIVED: "received",
    Status.ACCEPTED: "accepted",
    Status.DECLINED: "rejected",
    Status.SEEN: "in-progress",
    Status.REPORTED: "in-progress",
    Status.CLOSED: "completed",
    Status.CANCELLED: "cancelled",
    Status.NO_RESPONSE: "failed",
}


class TransitionError(Exception):
    """A move the state machine refuses; the message says why, for a person to read."""


def allowed_next(status: str) -> list[str]:
    return sorted(TRANSITIONS.get(status, set()), key=list(Status).index)


def check_transition(current: str, to: str) -> None:
    if to not in Status.values:
        raise TransitionError(f"'{to}' is not a referral status.")
    if to not in TRANSITIONS.get(current, set()):
        nxt = ", ".join(allowed_next(current)) or "nothing (this referral is finished)"
        raise TransitionError(
            f"A referral that is {Status(current).label.lower()} cannot move to "
            f"'{to}'; it can move to: {nxt}."
        )
