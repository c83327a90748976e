from __future__ import annotations

import datetime as dt

from django.utils import timezone
from ninja import Query, Router, Schema

from referwell.accounts.http import PracticeRequest
from referwell.outreach import cadence
from referwell.outreach.cadence import PublicItem

router = Router(tags=["today"])

# The days a practice plans for. Upkeep is computed by adding days and months to the day, so
# the calendar's last days (9999-12-31) would overflow: a 500 rather than an answer.
FIRST_DAY = dt.date(1900, 1, 1)
LAST_DAY = dt.date(2199, 12, 31)


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
def today(
    request: PracticeRequest,
    # ninja types Query for mypy as an Annotated alias; called, it is the parameter's default.
    on: dt.date | None = Query(None, ge=FIRST_DAY, le=LAST_DAY),  # type: ignore[type-arg]  # noqa: B008
) -> dict[str, list[PublicItem]]:
    """What upkeep is due or overdue on a day (today by default): thank-yous, follow-ups,
    reports, office visits, gifts, prospects' next steps, partners losing touch."""
    day = on or timezone.localdate()
    return {"items": [i.public(day) for i in cadence.today(practice=request.practice, on=day)]}
