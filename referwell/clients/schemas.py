from __future__ import annotations

import datetime as dt

from ninja import Schema
from pydantic import Field

from referwell.clients.models import Stream


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


class ClientPatch(Schema):
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
    source_partner: int | None = None
    source_client: int | None = None


class ClientIn(ClientPatch):
    first_name: str = Field(..., min_length=1, max_length=100)  # type: ignore[assignment]
    last_name: str = Field(..., min_length=1, max_length=100)  # type: ignore[assignment]
