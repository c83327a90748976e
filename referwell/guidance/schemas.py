from __future__ import annotations

from typing import Literal

from ninja import Schema
from pydantic import Field

from referwell.core.schemas import MAX_ID, InSchema


class SuggestIn(InSchema):
    notes: str = Field("", max_length=20_000, description="What the client told you.")
    complaints: str = Field("", max_length=5_000)
    goals: str = Field("", max_length=5_000)
    history: str = Field("", max_length=5_000)
    visit_number: int | None = Field(
        None, ge=1, le=10_000, description="1 = first appointment; default: a returning client."
    )
    needs_assessment: bool = False
    client: int | None = Field(
        None,
        ge=1,
        le=MAX_ID,
        description="A client of yours: their intake, visits, ZIP code and insurance are used.",
    )
    zip_code: str = Field("", max_length=10, description="Where the client lives, for distances.")
    insurance: str = Field("", max_length=100)


class ComponentOut(Schema):
    name: str
    score: float
    weight: float
    why: str


class RankedPartnerOut(Schema):
    partner: int
    name: str
    score: float
    components: list[ComponentOut]


class SuggestionOut(Schema):
    profession: str
    name: str
    reasons: list[str]
    urgency: Literal["emergency", "soon", "routine"]
    sensitive: bool
    timing: Literal["now", "later"]
    timing_reason: str
    partners: list[RankedPartnerOut]


class FindingOut(Schema):
    finding: str
    label: str
    quote: str
    field: str
    urgency: str


class IgnoredOut(Schema):
    finding: str
    label: str
    quote: str
    why: str


class SuggestOut(Schema):
    suggestions: list[SuggestionOut]
    findings: list[FindingOut]
    ignored: list[IgnoredOut]
    knowledge_base_version: str
