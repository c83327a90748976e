from __future__ import annotations

import datetime as dt
from typing import Any

from ninja import Schema
from pydantic import Field

from referwell.audit.models import Disclosure
from referwell.clients.models import Client, Stream
from referwell.core.schemas import BodyId, InSchema, clinical_text


class ClientOut(Schema):
    id: int
    first_name: str
    last_name: str
    email: str
    phone: str
    date_of_birth: dt.date | None
    zip_code: str
    insurance: str
    complaints: str
    goals: str
    history: str
    notes: str
    stream: str
    source_partner: int | None = Field(None, alias="source_partner_id")
    source_client: int | None = Field(None, alias="source_client_id")
    first_seen: dt.date | None
    created_at: dt.datetime
    updated_at: dt.datetime

    @staticmethod
    def resolve_complaints(obj: Client, context: Any) -> str:
        return clinical_text(obj.complaints, context)

    @staticmethod
    def resolve_goals(obj: Client, context: Any) -> str:
        return clinical_text(obj.goals, context)

    @staticmethod
    def resolve_history(obj: Client, context: Any) -> str:
        return clinical_text(obj.history, context)

    @staticmethod
    def resolve_notes(obj: Client, context: Any) -> str:
        return clinical_text(obj.notes, context)


CLINICAL_FIELDS = ("complaints", "goals", "history", "notes")


class ClientPatch(InSchema):
    first_name: str | None = Field(None, min_length=1, max_length=100)
    last_name: str | None = Field(None, min_length=1, max_length=100)
    email: str | None = Field(None, max_length=254)
    phone: str | None = Field(None, max_length=40)
    date_of_birth: dt.date | None = None
    zip_code: str | None = Field(None, max_length=10)
    insurance: str | None = Field(None, max_length=100)
    complaints: str | None = None
    goals: str | None = None
    history: str | None = None
    notes: str | None = None
    stream: Stream | None = None
    source_partner: BodyId | None = None
    source_client: BodyId | None = None


class ClientIn(ClientPatch):
    first_name: str = Field(..., min_length=1, max_length=100)
    last_name: str = Field(..., min_length=1, max_length=100)


class ConsentIn(InSchema):
    partner: BodyId | None = None
    profession: str | None = None
    scope: str = Field(..., description="talk, report or records")
    purpose: str = Field("", max_length=200)
    given_on: dt.date | None = None
    expires_on: dt.date | None = None
    share_contact_details: bool = Field(
        False,
        description="The partner may have the client's date of birth and phone, to find and "
        "book them (the referral letter then gives them).",
    )


class ConsentOut(Schema):
    id: int
    client: int = Field(..., alias="client_id")
    partner: int | None = Field(None, alias="partner_id")
    profession: str | None = Field(None, alias="profession_id")
    scope: str
    purpose: str
    given_on: dt.date
    expires_on: dt.date | None
    share_contact_details: bool
    revoked_at: dt.datetime | None


class DisclosureOut(Schema):
    id: int
    at: dt.datetime
    recipient: str
    channel: str
    what: str
    referral: int | None = Field(None, alias="referral_id")
    consent: int | None = Field(None, alias="consent_id")
    by: str | None = None

    @staticmethod
    def resolve_by(obj: Disclosure) -> str | None:
        return obj.by.email if obj.by is not None else None
