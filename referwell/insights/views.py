"""The insights page: every figure as a chart where one helps, its table, and its CSV."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal, InvalidOperation

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.views.decorators.http import require_POST

from referwell.accounts.http import PracticeRequest
from referwell.accounts.kept import Kept
from referwell.audit.services import log_request
from referwell.clients.models import Stream
from referwell.core import csvout, dates
from referwell.core.decorators import practice_required
from referwell.insights import charts, display
from referwell.insights.models import StreamCost
from referwell.insights.selectors import Insights, insights_cached, insights_changed
from referwell.outreach.pipeline import niche_coverage


def _range(request: PracticeRequest) -> tuple[dt.date, dt.date, str]:
    today = timezone.localdate()
    default_start = (today.replace(day=1) - dt.timedelta(days=335)).replace(day=1)
    error = ""
    try:
        start = dt.date.fromisoformat(request.GET.get("start") or default_start.isoformat())
        end = dt.date.fromisoformat(request.GET.get("end") or today.isoformat())
    except ValueError:
        start, end = default_start, today
        error = "Dates are written YYYY-MM-DD; showing the last 12 months."
    if not (dates.in_range(start) and dates.in_range(end)):
        start, end = default_start, today
        error = f"{dates.OUT_OF_RANGE} Showing the last 12 months."
    if start > end:
        start, end, error = end, start, "The start came after the end: swapped."
    if (end - start).days > 366 * 5:
        start, error = end - dt.timedelta(days=366 * 5), "Shown: at most five years."
    return start, end, error


# Each chart is drawn twice: for a phone's column and for a wider screen; the stylesheet shows
# one (.chart-narrow below 720 px, .chart-wide from there), so its text is never tiny nor huge.
WIDE = 720.0


def _both(draw: Callable[[float], SafeString]) -> SafeString:
    return format_html(
        '<div class="chart-narrow">{}</div><div class="chart-wide">{}</div>',
        draw(charts.NARROW),
        draw(WIDE),
    )


# Tables whose section heading already says what they are: their caption is for screen readers.
_HEADED = frozenset({"sources", "partners", "top"})

# The charts and tables of a report as HTML (drawing and rendering them costs more than the
# rest of the page), kept while the report is the same one: made at the same moment, for the
# same period. They hold no form, so nothing of one request.
_shown: Kept[dict[str, dict[str, SafeString]]] = Kept("insights", size=32)


def _report_html(
    request: PracticeRequest, data: Insights, made_at: dt.datetime, start: dt.date, end: dt.date
) -> dict[str, dict[str, SafeString]]:
    def make() -> dict[str, dict[str, SafeString]]:
        c = data.charts
        period = f"{display.month(f'{start:%Y-%m}')} – {display.month(f'{end:%Y-%m}')}"
        months = {
            key: [display.month(p) for p in c[key]["periods"]] for key in ("new_clients", "growth")
        }
        pictures = {
            "new_clients": _both(lambda width: charts.stacked_columns(
                title=f"New clients by stream, {period}", periods=months["new_clients"],
                series=c["new_clients"]["series"], width=width,
            )),
            "revenue": _both(lambda width: charts.bar_chart(
                title="Revenue from visits, by how clients found you",
                labels=c["revenue"]["labels"], values=c["revenue"]["values"], unit="$",
                width=width,
            )),
            "growth": _both(lambda width: charts.line_chart(
                title="Partners in your network, by stage", periods=months["growth"],
                series=c["growth"]["series"], width=width,
            )),
            "network": _both(lambda width: charts.network_picture(
                title="Your network: referrals each way", center=request.practice.name,
                nodes=c["network"]["nodes"], width=width,
            )),
            "leakage": _both(lambda width: charts.bar_chart(
                title="Referrals out: fate known or unknown",
                labels=["Fate known", "Fate unknown (leakage)"],
                values=[c["leakage"]["known"], c["leakage"]["unknown"]], width=width,
            )),
        }  # fmt: skip
        tables = {
            key: render_to_string(
                "insights/table.html",
                {
                    "table": display.shown(table),
                    "start": start,
                    "end": end,
                    "quiet_caption": key in _HEADED,
                },
            )
            for key, table in data.tables.items()
        }
        return {"pictures": pictures, "tables": tables}

    return _shown.get(
        practice_id=request.practice.pk,
        parts=[start, end, made_at, request.practice.name],
        make=make,
        slot=(start, end),
    )


@practice_required
def insights_page(request: PracticeRequest) -> HttpResponse:
    start, end, error = _range(request)
    if error:
        messages.warning(request, error)
    data, made_at = insights_cached(
        practice=request.practice, start=start, end=end, fresh=bool(request.GET.get("fresh"))
    )
    report = _report_html(request, data, made_at, start, end)
    return render(
        request,
        "insights/insights.html",
        {
            "data": data,
            "made_at": made_at,
            "pictures": report["pictures"],
            "tables": report["tables"],
            "start": start,
            "end": end,
            "coverage": niche_coverage(practice=request.practice),
            "streams": Stream.choices,
            "costs": StreamCost.objects.for_practice(request.practice)[:24],
        },
    )


@practice_required
def insights_csv(request: PracticeRequest, key: str) -> HttpResponse:
    start, end, _ = _range(request)
    table = insights_cached(practice=request.practice, start=start, end=end)[0].tables.get(key)
    if table is None:
        raise Http404("No such table.")
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{key}-{start}-{end}.csv"'
    writer = csvout.writer(response)
    writer.writerow(table.headers)
    writer.writerows(table.rows)
    log_request(request, action="referwell.insights.exported", data={"table": key})
    return response


@require_POST
@practice_required
def cost_add(request: PracticeRequest) -> HttpResponse:
    stream = request.POST.get("stream", "")
    try:
        month = dt.date.fromisoformat(request.POST.get("month", "") + "-01")
        amount = Decimal(request.POST.get("amount", ""))
        if stream not in Stream.values or amount < 0 or amount > Decimal("1000000"):
            raise ValueError
    except (ValueError, InvalidOperation):
        messages.error(request, "Give a stream, a month (YYYY-MM) and an amount of 0 or more.")
        return redirect("insights")
    StreamCost.objects.create(
        practice=request.practice,
        stream=stream,
        month=month,
        amount=amount,
        note=request.POST.get("note", "")[:200],
    )
    insights_changed(request.practice)
    messages.success(request, "Cost recorded.")
    return redirect("insights")
