from __future__ import annotations

import datetime as dt

from ninja import Schema
from pydantic import Field

from referwell.referrals.models import Direction, Referral
from referwell.referrals.states import Status


class ReferralEventOut(Schema):
    from_status: str
    to_status: str
    at: dt.datetime
    by: str | None = None
    note: str

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
    reasons: str
    status: Status
    created_at: dt.datetime
    sent_at: dt.datetime | None
    closed_at: dt.datetime | None
    events: list[ReferralEventOut]

    @staticmethod
    def resolve_events(obj: Referral) -> list[object]:
        return list(obj.events.all())


class ReferralPatch(Schema):
    partner: int | None = None
    profession: str | None = None
    reasons: str | None = Field(None, min_length=1)


class ReferralIn(Schema):
    direction: Direction = Direction.OUT
    client: int
    partner: int | None = None
    profession: str | None = None
    reasons: str = Field(..., min_length=1)


class TransitionIn(Schema):
    to: str
    note: str = ""
