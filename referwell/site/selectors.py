"""Reads for the dashboard: a fixed number of queries whatever the size of the practice."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import NamedTuple, TypedDict

from django.db.models import Count, Max, Q, QuerySet
from django.utils import timezone

from referwell.accounts.kept import Kept
from referwell.accounts.models import Member, Practice
from referwell.clients.models import Client, Stream
from referwell.directory.models import Partner, Stage
from referwell.inbound.selectors import NewRequest, requests_since
from referwell.referrals.models import Direction, Referral
from referwell.referrals.selectors import LinkAnswer, last_move_at, partner_answers_since
from referwell.referrals.states import Status


class ReferralLine(NamedTuple):
    """A referral as the dashboard lists it: no clinical text."""

    pk: int
    client: str
    partner: str
    profession: str
    status: str
    status_label: str
    created_at: dt.datetime
    since: dt.datetime  # its last move: how long it has been where it is (not its creation)
    referrer: str  # for a referral in: who sent it, or "(referrer not recorded)"


class PartnerLine(NamedTuple):
    pk: int
    name: str
    last_contact: dt.date | None


class DashboardSummary(TypedDict):
    stages: list[tuple[str, str, int]]  # value, label, partners
    partner_total: int
    client_total: int
    counts: dict[str, int]  # open_out, out_year, in_year
    open_out: list[ReferralLine]
    recent_in: list[ReferralLine]
    streams: list[tuple[str, int]]  # label, new clients this year
    stream_max: int
    losing_touch: list[PartnerLine]
    today: dt.date


STATUS_LABELS = dict(Status.choices)
_LINE_FIELDS = (
    "pk",
    "client__first_name",
    "client__last_name",
    "partner__name",
    "profession__name",
    "status",
    "created_at",
    "moved_at",
    "referrer_client__first_name",
    "referrer_client__last_name",
    "referrer_name",
)
NO_REFERRER = "(referrer not recorded)"

_dashboard_kept: Kept[DashboardSummary] = Kept("dashboard")


def _lines(referrals: QuerySet[Referral], limit: int) -> list[ReferralLine]:
    rows = referrals.annotate(moved_at=last_move_at()).values_list(*_LINE_FIELDS)[:limit]
    return [
        ReferralLine(pk, f"{first} {last}", partner or "", profession or "", status,
                     STATUS_LABELS.get(status, status), created_at, moved_at or created_at,
                     partner or " ".join(filter(None, (r_first, r_last))) or r_name
                     or NO_REFERRER)
        for (pk, first, last, partner, profession, status, created_at, moved_at, r_first,
             r_last, r_name) in rows
    ]  # fmt: skip


def dashboard_summary(*, practice: Practice, today: dt.date | None = None) -> DashboardSummary:
    """The dashboard's figures and short lists, kept while the practice's data holds (plain
    values only: names, dates and counts, no clinical text)."""
    today = today or timezone.localdate()
    return _dashboard_kept.get(
        practice_id=practice.pk,
        parts=today.isoformat(),
        make=lambda: _dashboard_summary(practice=practice, today=today),
    )


def _dashboard_summary(*, practice: Practice, today: dt.date) -> DashboardSummary:
    year_ago = today - dt.timedelta(days=365)
    # A moment, not a date: comparing created_at__date would convert every row's timestamp.
    year_start = timezone.make_aware(dt.datetime.combine(year_ago, dt.time.min))
    half_year_ago = today - dt.timedelta(days=183)

    stage_counts = dict(
        Partner.objects.for_practice(practice)
        .values_list("stage")
        .annotate(n=Count("id"))
        .values_list("stage", "n")
    )
    stages = [(value, label, stage_counts.get(value, 0)) for value, label in Stage.choices]

    referrals = Referral.objects.for_practice(practice)
    # Three counts, each read from an index alone, not one aggregate over every referral of the
    # practice (docs/performance.md, "Measured choices").
    counts = {
        "open_out": referrals.filter(direction=Direction.OUT).filter(status__final=False).count(),
        "out_year": referrals.filter(direction=Direction.OUT, created_at__gte=year_start).count(),
        "in_year": referrals.filter(direction=Direction.IN, created_at__gte=year_start).count(),
    }
    open_out = _lines(
        referrals.filter(direction=Direction.OUT)
        .filter(status__final=False)
        .order_by("created_at"),
        8,
    )
    recent_in = _lines(referrals.filter(direction=Direction.IN).order_by("-created_at"), 5)
    # Counted here from the (practice, first_seen, stream) index's range of the last year:
    # grouped in SQL, SQLite chose the (practice, stream) index and read every client.
    stream_counts = Counter(
        Client.objects.for_practice(practice)
        .filter(first_seen__gte=year_ago)
        .order_by()
        .values_list("stream", flat=True)
    )
    streams = [(label, stream_counts.get(value, 0)) for value, label in Stream.choices]
    losing_touch = [
        PartnerLine(*row)
        for row in Partner.objects.for_practice(practice)
        .filter(stage__in=[Stage.MET, Stage.TRUSTED])
        .values("pk")
        .annotate(last_contact=Max("touchpoints__date"))
        .filter(Q(last_contact__lt=half_year_ago) | Q(last_contact__isnull=True))
        .order_by("last_contact")
        .values_list("pk", "name", "last_contact")[:6]
    ]
    return {
        "stages": stages,
        "partner_total": sum(stage_counts.values()),
        "client_total": Client.objects.for_practice(practice).count(),
        "counts": counts,
        "open_out": open_out,
        "recent_in": recent_in,
        "streams": streams,
        "stream_max": max(stream_counts.values(), default=0),
        "losing_touch": losing_touch,
        "today": today,
    }


# --- "Since you last looked": per member, never kept --------------------------------------------

NEWS_DAYS = 14  # what a member who never marked the news seen is shown
NEWS_SHOWN = 10  # answers, and requests, listed


class News(TypedDict):
    since: dt.datetime  # what is shown arrived after this moment
    marked: bool  # since the member marked it seen (else: the last `days` days)
    days: int
    until: dt.datetime  # the moment it was read: "Mark as seen" marks what arrived until then
    answers: list[LinkAnswer]
    more_answers: bool
    requests: list[NewRequest]
    more_requests: bool


def news_since(member: Member, now: dt.datetime) -> dt.datetime:
    """Since when the member's news is: the moment they last marked it seen, else the last
    NEWS_DAYS days."""
    return member.seen_news_at or now - dt.timedelta(days=NEWS_DAYS)


def since_last_looked(*, member: Member, now: dt.datetime | None = None) -> News:
    """What partners answered through their link and the referral requests that arrived since
    the member last marked them seen, in their practice. Read for each request, not kept: it
    is the member's own and changes when they mark it seen. The partners' notes only for the
    clinical roles. Two queries."""
    now = now or timezone.now()
    since = news_since(member, now)
    answers, more_answers = partner_answers_since(
        practice=member.practice, since=since, notes=member.sees_clinical, limit=NEWS_SHOWN
    )
    requests, more_requests = requests_since(
        practice=member.practice, since=since, limit=NEWS_SHOWN
    )
    return {
        "since": since,
        "marked": member.seen_news_at is not None,
        "days": NEWS_DAYS,
        "until": now,
        "answers": answers,
        "more_answers": more_answers,
        "requests": requests,
        "more_requests": more_requests,
    }
