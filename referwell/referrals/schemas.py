from __future__ import annotations

import datetime as dt
from typing import Any

from ninja import Schema
from pydantic import Field

from referwell.core.schemas import BodyId, InSchema, clinical_text
from referwell.referrals.models import NOTE_MAX_LENGTH, Direction, Referral, ReferralEvent
from referwell.referrals.states import FHIR_TASK_STATUS, Status


class ReferralEventOut(Schema):
    kind: str  # "move", "note" (the referral did not move) or "undo" (the last move taken back)
    via: str  # "letter", "report", "partner link", or "" when made by hand
    from_status: str
    to_status: str
    at: dt.datetime
    by: str | None = None
    note: str

    @staticmethod
    def resolve_note(obj: ReferralEvent, context: Any) -> str:
        return clinical_text(obj.note, context)

    @staticmethod
    def resolve_by(obj: object) -> str | None:
        by = getattr(obj, "by", None)
        return by.email if by is not None else None


class ReferralOut(Schema):
    id: int
    direction: Direction
    client: int = Field(..., alias="client_id")
    partner: int | None = Field(None, alias="partner_id")
    profession: str | None = Field(None, alias="profession_id")
    referrer_client: int | None = Field(None, alias="referrer_client_id")
    referrer_name: str
    reasons: str
    status: Status
    fhir_task_status: str
    valid_until: dt.date | None
    valid_visits: int | None
    report_interval_days: int | None
    created_at: dt.datetime
    sent_at: dt.datetime | None
    closed_at: dt.datetime | None
    events: list[ReferralEventOut]

    @staticmethod
    def resolve_reasons(obj: Referral, context: Any) -> str:
        return clinical_text(obj.reasons, context)

    @staticmethod
    def resolve_events(obj: Referral) -> list[ReferralEvent]:
        return list(obj.events.all())

    @staticmethod
    def resolve_fhir_task_status(obj: Referral) -> str:
        return FHIR_TASK_STATUS[obj.status]


class ReferralPatch(InSchema):
    partner: BodyId | None = None
    profession: str | None = None
    reasons: str | None = Field(None, min_length=1)
    valid_until: dt.date | None = None
    valid_visits: int | None = Field(None, ge=1, le=1000)
    report_interval_days: int | None = Field(None, ge=1, le=3650)


class ReferralIn(InSchema):
    direction: Direction = Direction.OUT
    client: BodyId
    partner: BodyId | None = None
    profession: str | None = None
    reasons: str = Field(..., min_length=1)
    referrer_name: str = Field("", max_length=200)
    valid_until: dt.date | None = None
    valid_visits: int | None = Field(None, ge=1, le=1000)
    report_interval_days: int | None = Field(None, ge=1, le=3650)


class TransitionIn(InSchema):
    to: str
    note: str = Field("", max_length=NOTE_MAX_LENGTH)


class NoteIn(InSchema):
    """A note on the timeline: the referral does not move."""

    note: str = Field("", max_length=NOTE_MAX_LENGTH)


class SendOut(Schema):
    referral: int
    status: str
    message: int
    sent_by: str  # "email" or "letter"
    to_email: str
    link: str  # the partner's secure link, shown once


class LinkOut(Schema):
    link: str
    expires_at: dt.datetime


class ReportIn(InSchema):
    text: str = Field(..., min_length=1, max_length=10_000)


class MessageOut(Schema):
    id: int
    kind: str
    subject: str
    to_name: str
    to_email: str
    status: str
    created_at: dt.datetime
