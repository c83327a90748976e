"""Read-only figures for the insights page: one query per figure, whatever the data size.

Every figure is a table (headers and rows) — what the CSV export writes and the page shows
beside its chart. The rows hold plain values (ISO months "2026-02", numbers, None); each column
says what kind of value it holds (`Table.kinds`), so the page can write it for people
("Feb 2026", "$4,605", "67%") while the CSV keeps it as it is.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from statistics import median
from typing import Any

from django.db import connection
from django.db.models import (
    CharField,
    Count,
    Exists,
    Expression,
    ExpressionWrapper,
    F,
    FloatField,
    Func,
    OuterRef,
    Q,
    Sum,
)
from django.db.models.functions import Cast, Extract, TruncMonth
from django.utils import timezone

from referwell.accounts.kept import Kept
from referwell.accounts.models import Practice
from referwell.clients.models import INSURANCE_PAYERS, Client, Payer, Stream, Visit
from referwell.directory.models import Partner, Stage
from referwell.insights.models import StreamCost
from referwell.referrals.models import Direction, Referral
from referwell.referrals.states import FATE_KNOWN, NOT_MADE, SENT_OR_LATER, Status

STREAMS = list(Stream.choices)


# The kinds of column (insights/display.py writes each for people): a name, a month "YYYY-MM",
# a count, a signed count, an amount of money, a percentage, a number of days.
TEXT, MONTH, COUNT, SIGNED, MONEY, PERCENT, DAYS = (
    "text", "month", "count", "signed", "money", "percent", "days",
)  # fmt: skip


@dataclass
class Table:
    key: str
    title: str
    headers: list[str]
    rows: list[list[object]] = field(default_factory=list)
    kinds: tuple[str, ...] = ()  # one per header; a column without one is TEXT


@dataclass
class Insights:
    start: dt.date
    end: dt.date
    months: list[str]
    tables: dict[str, Table]
    charts: dict[str, dict[str, Any]]


def _months(start: dt.date, end: dt.date) -> list[dt.date]:
    out, day = [], start.replace(day=1)
    while day <= end:
        out.append(day)
        day = (day + dt.timedelta(days=32)).replace(day=1)
    return out


def _pct(part: float, whole: float) -> float | None:
    return round(100 * part / whole, 1) if whole else None


def _days_between(earlier: str, later: str) -> Expression:
    """Days from one timestamp to another, computed by the database itself (SQLite's
    julianday, PostgreSQL's epoch) instead of row by row in Python."""
    if connection.vendor == "sqlite":
        return Func(F(later), function="julianday", output_field=FloatField()) - Func(
            F(earlier), function="julianday", output_field=FloatField()
        )
    return ExpressionWrapper(
        Extract(F(later) - F(earlier), "epoch") / 86400.0, output_field=FloatField()
    )


def _span(start: dt.date, end: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """The range as aware datetimes, so indexes are used (no per-row date casting)."""
    tz = timezone.get_current_timezone()
    return (
        dt.datetime.combine(start, dt.time.min, tzinfo=tz),
        dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min, tzinfo=tz),
    )


def insights(*, practice: Practice, start: dt.date, end: dt.date) -> Insights:
    months = _months(start, end)
    since, until = _span(start, end)
    in_range = Q(created_at__gte=since, created_at__lt=until)
    month_keys = [m.strftime("%Y-%m") for m in months]
    tables: dict[str, Table] = {}
    charts: dict[str, dict[str, Any]] = {}

    # 1. New clients by stream, month by month.
    by_month: dict[str, dict[str, int]] = {k: defaultdict(int) for k in month_keys}
    for month, stream, n in (
        Client.objects.for_practice(practice)
        .filter(first_seen__range=(start, end))
        .annotate(month=TruncMonth("first_seen"))
        .values_list("month", "stream")
        .annotate(n=Count("id"))
        .values_list("month", "stream", "n")
    ):
        key = month.strftime("%Y-%m")
        if key in by_month:
            by_month[key][stream or Stream.WALK_IN_WEB] += n
    t = Table(
        "new_clients",
        "New clients by stream",
        ["Month", *[label for _, label in STREAMS], "Total"],
        kinds=(MONTH, *[COUNT] * len(STREAMS), COUNT),
    )
    for key in month_keys:
        counts = [by_month[key][value] for value, _ in STREAMS]
        t.rows.append([key, *counts, sum(counts)])
    tables[t.key] = t
    charts["new_clients"] = {
        "periods": month_keys,
        "series": {label: [by_month[k][value] for k in month_keys] for value, label in STREAMS},
    }

    # 2. Where new clients come from: the sources (partners, clients, others).
    sources = (
        Referral.objects.for_practice(practice)
        .filter(in_range, direction=Direction.IN)
        .values_list("partner__name", "referrer_client_id", "referrer_name")
        .annotate(n=Count("id"))
        .order_by("-n")[:25]
    )
    t = Table(
        "sources",
        "Where new clients come from",
        ["Source", "Kind", "New clients"],
        kinds=(TEXT, TEXT, COUNT),
    )
    lines: list[tuple[str, str, int]] = []
    from_clients = 0
    for partner, client_id, name, n in sources:
        if partner:
            lines.append((partner, "Partner", n))
        elif client_id:
            from_clients += n  # each client referrer stays private: one line for all
        else:
            lines.append((name or "Unknown", "Other", n))
    if from_clients:
        lines.append(("Clients who recommended you", "Client", from_clients))
    lines.sort(key=lambda line: -line[2])
    t.rows = [list(line) for line in lines]
    tables[t.key] = t

    # 3. Per partner: both ways, answers, leakage, declines.
    out_q = Q(direction=Direction.OUT)
    sent_q = out_q & Q(status__in=SENT_OR_LATER)
    per: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for pid, out_n, in_n, sent, known, answered, declined in (
        Referral.objects.for_practice(practice)
        .filter(in_range, partner__isnull=False)
        .values("partner_id")
        .annotate(
            out=Count("id", filter=out_q),
            inn=Count("id", filter=Q(direction=Direction.IN)),
            sent=Count("id", filter=sent_q),
            known=Count("id", filter=sent_q & Q(status__in=FATE_KNOWN)),
            answered=Count("id", filter=sent_q & Q(status__in=FATE_KNOWN)),
            declined=Count("id", filter=out_q & Q(status=Status.DECLINED)),
        )
        .values_list("partner_id", "out", "inn", "sent", "known", "answered", "declined")
    ):
        per[pid].update(
            out=out_n, sent=sent, known=known, answered=answered, declined=declined, **{"in": in_n}
        )
    ranked = sorted(per, key=lambda pid: -(per[pid]["in"] + per[pid]["out"]))[:60]
    names = {
        p.pk: p
        for p in Partner.objects.for_practice(practice)
        .filter(pk__in=ranked)
        .prefetch_related("professions")
    }
    durations: dict[int, list[float]] = defaultdict(list)
    for pid, wait in (
        Referral.objects.for_practice(practice)
        .filter(
            in_range,
            partner_id__in=ranked[:50],
            direction=Direction.OUT,
            answered_at__isnull=False,
            sent_at__isnull=False,
        )
        .annotate(wait=_days_between("sent_at", "answered_at"))
        .values_list("partner_id", "wait")
    ):
        durations[pid].append(float(wait))
    t = Table(
        "partners",
        "Referrals with each partner",
        ["Partner", "Out", "In", "Balance", "Acknowledged %", "Median days to answer",
         "Loop closed %", "Leakage (fate unknown)", "Declined"],
        kinds=(TEXT, COUNT, COUNT, SIGNED, PERCENT, DAYS, PERCENT, COUNT, COUNT),
    )  # fmt: skip
    for pid in ranked[:50]:
        d, p = per[pid], names.get(pid)
        if p is None:
            continue
        t.rows.append(
            [
                p.name, d["out"], d["in"], d["in"] - d["out"],
                _pct(d["answered"], d["sent"]),
                round(median(durations[pid]), 1) if durations[pid] else None,
                _pct(d["known"], d["sent"]), d["sent"] - d["known"], d["declined"],
            ]
        )  # fmt: skip
    tables[t.key] = t
    total_sent = sum(per[p]["sent"] for p in per)
    total_known = sum(per[p]["known"] for p in per)
    charts["leakage"] = {"known": total_known, "unknown": total_sent - total_known}

    # 4. What referred clients are worth, by stream: visits, revenue, insurance-paid work.
    value = {
        stream: row
        for stream, *row in Visit.objects.for_practice(practice)
        .filter(date__range=(start, end))
        .values_list("client__stream")
        .annotate(
            visits=Count("id"),
            revenue=Sum("fee"),
            clients=Count("client", distinct=True),
            insured=Count("id", filter=Q(payer__in=INSURANCE_PAYERS)),
            mvc=Count("id", filter=Q(payer=Payer.MOTOR_VEHICLE)),
            wc=Count("id", filter=Q(payer=Payer.WORKERS_COMP)),
        )
        .values_list("client__stream", "visits", "revenue", "clients", "insured", "mvc", "wc")
    }
    new_by_stream = {value_: sum(by_month[k][value_] for k in month_keys) for value_, _ in STREAMS}
    costs = dict(
        StreamCost.objects.for_practice(practice)
        .filter(month__range=(start.replace(day=1), end))
        .values_list("stream")
        .annotate(total=Sum("amount"))
        .values_list("stream", "total")
    )
    t = Table(
        "value",
        "What clients are worth, by stream",
        ["Stream", "Clients", "Visits", "Revenue", "Revenue per client", "New clients",
         "Spent", "Cost per new client", "Insurance-paid visits %"],
        kinds=(TEXT, COUNT, COUNT, MONEY, MONEY, COUNT, MONEY, MONEY, PERCENT),
    )  # fmt: skip
    all_visits = all_insured = all_mvc = all_wc = 0
    revenues: list[float] = []
    for stream_value, label in STREAMS:
        visits, revenue, clients, insured, mvc, wc = value.get(stream_value, (0, 0, 0, 0, 0, 0))
        revenue = revenue or Decimal("0")
        revenues.append(float(revenue))
        spent = costs.get(stream_value) or Decimal("0")
        new = new_by_stream[stream_value]
        all_visits, all_insured, all_mvc, all_wc = (
            all_visits + visits,
            all_insured + insured,
            all_mvc + mvc,
            all_wc + wc,
        )
        t.rows.append(
            [
                label, clients, visits, revenue, round(revenue / clients, 2) if clients else None,
                new, spent, round(spent / new, 2) if new and spent else None, _pct(insured, visits),
            ]
        )  # fmt: skip
    tables[t.key] = t
    charts["revenue"] = {"labels": [label for _, label in STREAMS], "values": revenues}
    tables["insurance"] = Table(
        "insurance",
        "Insurance-paid work",
        ["Payer", "Visits", "Share %"],
        [
            ["Motor-vehicle collision", all_mvc, _pct(all_mvc, all_visits)],
            ["Workers' compensation", all_wc, _pct(all_wc, all_visits)],
            ["All insurance", all_insured, _pct(all_insured, all_visits)],
        ],
        kinds=(TEXT, COUNT, PERCENT),
    )

    # 5. Did clients come back after we referred them out? (article 000's worry)
    # A visit on a later day than the referral (a date compares as its midnight).
    later_visit = Visit.objects.filter(
        practice=practice, client=OuterRef("client"), date__gt=OuterRef("created_at")
    )
    referred_out = (
        Referral.objects.for_practice(practice)
        .filter(in_range, direction=Direction.OUT)
        .exclude(status__in=NOT_MADE)
    )
    # (Counting with a filter on an Exists annotation is not reliable on SQLite: two counts.)
    returned = {
        "total": referred_out.count(),
        "back": referred_out.filter(Exists(later_visit)).count(),
    }
    tables["return"] = Table(
        "return",
        "Clients who came back after a referral out",
        ["Referrals out", "Client came back", "Return rate %"],
        [[returned["total"], returned["back"], _pct(returned["back"], returned["total"])]],
        kinds=(COUNT, COUNT, PERCENT),
    )

    # 6. Network growth: partners added month by month, by their stage today.
    growth: dict[str, dict[str, int]] = {k: defaultdict(int) for k in month_keys}
    before: defaultdict[str, int] = defaultdict(int)
    # Bucketed here, from the stored text of the timestamp (UTC "YYYY-MM…"), rather than
    # with a per-row month function or thousands of datetime conversions.
    for created, stage in (
        Partner.objects.for_practice(practice)
        .filter(created_at__lt=until)
        .annotate(created_text=Cast("created_at", CharField()))
        .values_list("created_text", "stage")
    ):
        key = created[:7]
        if key in growth:
            growth[key][stage] += 1
        elif key < month_keys[0]:
            before[stage] += 1
    t = Table("growth", "Network growth (partners, by their stage today)",
              ["Month", *[label for _, label in Stage.choices], "Total"],
              kinds=(MONTH, *[COUNT] * len(Stage.choices), COUNT))  # fmt: skip
    running = dict(before)
    series: dict[str, list[int]] = {label: [] for _, label in Stage.choices}
    for key in month_keys:
        for value_, label in Stage.choices:
            running[value_] = running.get(value_, 0) + growth[key][value_]
            series[label].append(running[value_])
        t.rows.append([key, *[running.get(v, 0) for v, _ in Stage.choices], sum(running.values())])
    tables[t.key] = t
    charts["growth"] = {"periods": month_keys, "series": series}

    # 7. Top referrers (they feed the year-end gifts).
    top = sorted((pid for pid in per if per[pid]["in"]), key=lambda pid: -per[pid]["in"])[:10]
    tables["top"] = Table(
        "top",
        "Top referrers",
        ["Partner", "Clients sent to you", "Referrals you sent them"],
        [[names[pid].name, per[pid]["in"], per[pid]["out"]] for pid in top if pid in names],
        kinds=(TEXT, COUNT, COUNT),
    )

    # 8. The network picture: the practice in the middle, partners by profession around it.
    charts["network"] = {
        "nodes": [
            {
                "label": names[pid].name,
                "group": next((x.name for x in names[pid].professions.all()), "Other"),
                "out": per[pid]["out"],
                "in": per[pid]["in"],
            }
            for pid in ranked
            if pid in names
        ]
    }
    return Insights(start, end, month_keys, tables, charts)


REPORT_SECONDS = 300

# Kept five minutes whatever changes, not while the data version holds: why, in
# referwell/accounts/kept.py (READS, "insights-report"). In the shared cache only, so that a
# report counted again in one process is the one every process shows.
_reports: Kept[tuple[Insights, dt.datetime]] = Kept(
    "insights-report", seconds=REPORT_SECONDS, size=0, timed=True
)


def insights_cached(
    *, practice: Practice, start: dt.date, end: dt.date, fresh: bool = False
) -> tuple[Insights, dt.datetime]:
    """The report and when it was made: kept five minutes per practice and period (a year of
    a large practice takes 0.4 s to count), made again at once on `fresh` or after
    `insights_changed` (a cost recorded)."""
    return _reports.get(
        practice_id=practice.pk,
        parts=[start.isoformat(), end.isoformat()],
        make=lambda: (insights(practice=practice, start=start, end=end), timezone.now()),
        fresh=fresh,
    )


def insights_changed(practice: Practice) -> None:
    """Forget the practice's kept reports (the next view counts again)."""
    _reports.renew(practice_id=practice.pk)
