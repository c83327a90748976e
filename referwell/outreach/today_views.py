"""The Today page: what upkeep is due, one click to do it."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from referwell.accounts.http import PracticeRequest
from referwell.accounts.kept import kept_fragment
from referwell.core import dates
from referwell.core.decorators import practice_required
from referwell.directory.models import Outcome, TouchpointKind
from referwell.directory.selectors import partner_get
from referwell.directory.services import touchpoint_create
from referwell.outreach import cadence, services
from referwell.outreach.feed import feed_issue, feed_revoke
from referwell.outreach.models import CalendarFeed

TODAY_PAGE_SIZE = 50

# What "do it" means for each kind: the touchpoint it logs (or the page it opens).
LOG_KIND = {
    "log_visit": TouchpointKind.OFFICE_VISIT,
    "log_call": TouchpointKind.CALL,
    "log_gift": TouchpointKind.GIFT,
}


@practice_required
def today_page(request: PracticeRequest) -> HttpResponse:
    on = timezone.localdate()
    try:
        if request.GET.get("on"):
            on = dt.date.fromisoformat(request.GET["on"])
    except ValueError:
        messages.error(request, "That date is not a date (use YYYY-MM-DD).")
    if not dates.in_range(on):
        messages.error(request, f"{dates.OUT_OF_RANGE} Showing today.")
        on = timezone.localdate()

    def items() -> dict[str, object]:
        # The most overdue first, a page at a time: a practice that fell behind has thousands.
        pages = Paginator(cadence.today(practice=request.practice, on=on), TODAY_PAGE_SIZE)
        page = pages.get_page(request.GET.get("page"))
        rows = list(page.object_list)
        return {
            "items": rows,
            "page": page,
            "query": f"on={on.isoformat()}" if request.GET.get("on") else "",
            "levels": {i.key: i.level(on) for i in rows},
            "overdue": {i.key: i.overdue_days(on) for i in rows},
            "snooze_default": (on + dt.timedelta(days=7)).isoformat(),
        }

    # Kept for the day shown while the practice's data holds (accounts/kept.py).
    html = kept_fragment(
        request, name=f"today:{on.isoformat()}", template="outreach/today.html#items", context=items
    )
    return render(request, "outreach/today.html", {"on": on, "items": html})


@require_POST
@practice_required
def today_act(request: PracticeRequest) -> HttpResponse:
    """Do, snooze or skip one item of the list."""
    key = request.POST.get("key", "")
    action = request.POST.get("action", "")
    partner = partner_get(practice=request.practice, pk=request.POST.get("partner", ""))
    note = request.POST.get("note", "")
    if action in LOG_KIND:
        touchpoint_create(
            partner=partner,
            by=request.user,
            kind=LOG_KIND[action],
            date=timezone.localdate(),
            note=note or dict(TouchpointKind.choices)[LOG_KIND[action]],
        )
        services.due_item_mark(
            practice=request.practice,
            key=key,
            partner=partner,
            outcome=Outcome.DONE,
            by=request.user,
            kind=LOG_KIND[action],
            note="(from Today)",
        )
        messages.success(
            request, f"Logged: {dict(TouchpointKind.choices)[LOG_KIND[action]]} with {partner}."
        )
    elif action in (Outcome.DONE, Outcome.SKIPPED):
        services.due_item_mark(
            practice=request.practice,
            key=key,
            partner=partner,
            outcome=action,
            by=request.user,
            note=note,
        )
        messages.success(request, "Marked done." if action == Outcome.DONE else "Skipped.")
    elif action == Outcome.SNOOZED:
        try:
            until = dt.date.fromisoformat(request.POST.get("until", ""))
        except ValueError:
            messages.error(request, "Choose a date to snooze until.")
            return redirect("today")
        if until <= timezone.localdate():
            messages.error(request, "Snooze until a day after today.")
            return redirect("today")
        services.due_item_mark(
            practice=request.practice,
            key=key,
            partner=partner,
            outcome=Outcome.SNOOZED,
            by=request.user,
            snooze_until=until,
        )
        messages.success(request, f"Snoozed until {until:%b %d}.")
    else:
        messages.error(request, "Choose what to do with this item.")
    return redirect("today")


@practice_required
def calendar_feed_page(request: PracticeRequest) -> HttpResponse:
    url = None
    if request.method == "POST":
        if request.POST.get("action") == "revoke":
            feed_revoke(member=request.member)
            messages.success(request, "The calendar address no longer works.")
        else:
            token = feed_issue(member=request.member)
            url = request.build_absolute_uri(reverse("calendar_feed", args=[token]))
            messages.success(
                request, "A new calendar address was made; any earlier one stops working."
            )
    active = (
        CalendarFeed.objects.for_practice(request.practice)
        .filter(member=request.member, revoked_at__isnull=True)
        .exists()
    )
    return render(request, "outreach/calendar.html", {"url": url, "active": active})
