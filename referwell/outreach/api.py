from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from ninja import Router, Schema

from referwell.outreach import cadence

router = Router(tags=["today"])


class DueItemOut(Schema):
    kind: str
    due: dt.date
    overdue_days: int
    partner: int | None
    referral: int | None
    title: str


class TodayOut(Schema):
    items: list[DueItemOut]


@router.get("", response=TodayOut)
def today(request: HttpRequest, on: dt.date | None = None) -> Any:
    """What upkeep is due or overdue on a day (today by default): thank-yous, follow-ups,
    reports, office visits, gifts, prospects' next steps, partners losing touch."""
    day = on or timezone.localdate()
    return {"items": [i.public(day) for i in cadence.today(practice=request.practice, on=day)]}
