from __future__ import annotations

import datetime as dt

from ninja import Schema
from pydantic import Field

from referwell.core.schemas import InSchema
from referwell.directory.models import HowMet, Partner, Stage

StageValue = Stage
HowMetValue = HowMet


class PartnerOut(Schema):
    id: int
    name: str
    credentials: str
    professions: list[str]
    specialties: str
    clinic: str
    street: str
    city: str
    state: str
    zip_code: str
    latitude: float | None
    longitude: float | None
    phone: str
    email: str
    website: str
    npi: str
    languages: str
    insurance_accepted: str
    niches: list[str]
    how_met: str
    how_met_detail: str
    stage: Stage
    not_a_fit_reason: str
    website_reviewed: bool
    values_fit: bool
    would_send_mother: bool
    visited_as_client: bool
    billing_concerns: str
    vetting_notes: str
    created_at: dt.datetime
    updated_at: dt.datetime

    @staticmethod
    def resolve_professions(obj: Partner) -> list[str]:
        return [p.slug for p in obj.professions.all()]

    @staticmethod
    def resolve_niches(obj: Partner) -> list[str]:
        return [n.name for n in obj.niches.all()]


class PartnerPatch(InSchema):
    name: str | None = Field(None, min_length=1, max_length=200)
    credentials: str | None = Field(None, max_length=100)
    professions: list[str] | None = None
    specialties: str | None = Field(None, max_length=300)
    clinic: str | None = Field(None, max_length=200)
    street: str | None = Field(None, max_length=200)
    city: str | None = Field(None, max_length=100)
    state: str | None = Field(None, max_length=2)
    zip_code: str | None = Field(None, max_length=10)
    phone: str | None = Field(None, max_length=40)
    email: str | None = Field(None, max_length=254)
    website: str | None = Field(None, max_length=200)
    npi: str | None = Field(None, max_length=10, pattern=r"^[0-9]*$")
    languages: str | None = Field(None, max_length=200)
    insurance_accepted: str | None = Field(None, max_length=300)
    niches: list[str] | None = None
    how_met: HowMet | None = None
    how_met_detail: str | None = Field(None, max_length=200)
    stage: Stage | None = None
    not_a_fit_reason: str | None = None
    website_reviewed: bool | None = None
    values_fit: bool | None = None
    would_send_mother: bool | None = None
    visited_as_client: bool | None = None
    billing_concerns: str | None = None
    vetting_notes: str | None = None


class PartnerIn(PartnerPatch):
    name: str = Field(..., min_length=1, max_length=200)
