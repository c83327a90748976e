"""The Today page: what upkeep is due, one click to do it."""

from __future__ import annotations

import datetime as dt
from typing import NamedTuple

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.template.defaultfilters import pluralize
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseClientRedirect

from referwell.accounts.http import PracticeRequest
from referwell.accounts.kept import kept_fragment
from referwell.core import dates
from referwell.core.decorators import practice_required
from referwell.directory.models import Outcome, TouchpointKind
from referwell.directory.selectors import partner_get
from referwell.directory.services import touchpoint_create
from referwell.outreach import cadence, services
from referwell.outreach.cadence import TodayList
from referwell.outreach.feed import feed_issue, feed_revoke
from referwell.outreach.models import CalendarFeed

TODAY_PAGE_SIZE = 50

# What "do it" means for each kind: the touchpoint it logs (or the page it opens).
LOG_KIND = {
    "log_visit": TouchpointKind.OFFICE_VISIT,
    "log_call": TouchpointKind.CALL,
    "log_gift": TouchpointKind.GIFT,
}

# Where an action on an item goes back to: the page its form was on.
BACK_TO = {"dashboard": "dashboard", "today": "today"}


class Section(NamedTuple):
    """A group of Today as a page shows it: its part on this page."""

    key: str
    title: str
    lede: str
    lines: list[cadence.TodayLine]
    size: int  # in the whole group
    continued: bool  # it began on the page before


def _groups(groups: cadence.TodayGroups) -> list[tuple[str, str, str, TodayList]]:
    """The groups shown in full, in the page's order (the catch-up is folded after them)."""
    return [
        ("due-today", "Due today", "", groups.due_today),
        ("this-week", "This week", "", groups.this_week),
        ("older", "Older", "Up to a month late.", groups.older),
        ("coming", "Coming up", "In the next seven days: done early is done.", groups.coming),
    ]


def _shown(on: dt.date, request: PracticeRequest) -> dict[str, object]:
    """What the list part of the page shows: its groups, a page at a time (50 items), and the
    catch-up, a page at a time too (a practice that fell behind owes thousands)."""
    groups = cadence.today_groups(practice=request.practice, on=on)
    active = _groups(groups)
    total = sum(len(group) for *_, group in active)
    page = Paginator(range(total), TODAY_PAGE_SIZE).get_page(request.GET.get("page"))
    low, high = (page.start_index() - 1, page.end_index()) if total else (0, 0)
    sections, offset = [], 0
    for key, title, lede, group in active:
        first, last = max(low - offset, 0), min(high - offset, len(group))
        if first < last:
            shown = cadence.lines(group[first:last], on)
            sections.append(Section(key, title, lede, shown, len(group), first > 0))
        offset += len(group)
    catch_up = groups.catch_up
    catch_page = Paginator(range(len(catch_up)), TODAY_PAGE_SIZE).get_page(
        request.GET.get("catchup")
    )
    catch_lines = (
        cadence.lines(catch_up[catch_page.start_index() - 1 : catch_page.end_index()], on)
        if catch_up
        else []
    )
    is_today = on == timezone.localdate()
    query = f"on={on.isoformat()}&" if request.GET.get("on") else ""
    return {
        "sections": sections,
        "page": page,
        "total": total,
        "now": groups.now,
        "coming": len(groups.coming),
        "catch_up": catch_lines,
        "catch_page": catch_page,
        "catch_count": len(catch_up),
        "clearable": catch_up.with_partner() if is_today else 0,
        "catch_open": "catchup" in request.GET or "clear" in request.GET,
        "confirm_clear": is_today and request.GET.get("clear") == "1",
        "clear_through": (on - dt.timedelta(days=cadence.CATCH_UP_AFTER + 1)).isoformat(),
        "catch_up_after": cadence.CATCH_UP_AFTER,
        "query": query,
        "snooze_default": (on + dt.timedelta(days=7)).isoformat(),
        "back": "today",
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
    # Kept for the day shown and the query while the practice's data holds (accounts/kept.py).
    html = kept_fragment(
        request,
        name=f"today:{on.isoformat()}",
        template="outreach/today.html#items",
        context=lambda: _shown(on, request),
    )
    return render(request, "outreach/today.html", {"on": on, "items": html})


def _back(request: PracticeRequest, message: str = "", *, error: bool = False) -> HttpResponse:
    """After an action: back to the page the form was on (Today or the dashboard) with what was
    done; to htmx, nothing in place of the item and what was done in the page's status line
    (a mistake reloads the page, which says it)."""
    back = BACK_TO.get(request.POST.get("back", ""), "today")
    if request.htmx and not error:
        return render(request, "outreach/today.html#acted", {"message": message, "back": back})
    if message:
        (messages.error if error else messages.success)(request, message)
    if request.htmx:
        return HttpResponseClientRedirect(reverse(back))
    return redirect(back)


@require_POST
@practice_required
def today_act(request: PracticeRequest) -> HttpResponse:
    """Do, snooze or skip one item of the list; or clear the catch-up (confirmed)."""
    action = request.POST.get("action", "")
    if action == "clear":
        return _clear(request)
    key = request.POST.get("key", "")
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
        return _back(
            request, f"Logged: {dict(TouchpointKind.choices)[LOG_KIND[action]]} with {partner}."
        )
    if action in (Outcome.DONE, Outcome.SKIPPED):
        services.due_item_mark(
            practice=request.practice,
            key=key,
            partner=partner,
            outcome=action,
            by=request.user,
            note=note,
        )
        return _back(
            request,
            f"Marked done: {partner}." if action == Outcome.DONE else f"Skipped: {partner}.",
        )
    if action == Outcome.SNOOZED:
        try:
            until = dt.date.fromisoformat(request.POST.get("until", ""))
        except ValueError:
            return _back(request, "Choose a date to snooze until.", error=True)
        if until <= timezone.localdate():
            return _back(request, "Snooze until a day after today.", error=True)
        services.due_item_mark(
            practice=request.practice,
            key=key,
            partner=partner,
            outcome=Outcome.SNOOZED,
            by=request.user,
            snooze_until=until,
        )
        return _back(request, f"Snoozed until {until:%b} {until.day}: {partner}.")
    return _back(request, "Choose what to do with this item.", error=True)


def _clear(request: PracticeRequest) -> HttpResponse:
    """Clear the catch-up: everything more than a month late (due on or before the day the
    confirmation named), skipped. Asked first: without `confirm`, the page asks."""
    on = timezone.localdate()
    if request.POST.get("confirm") != "yes":
        return redirect(reverse("today") + "?clear=1#catch-up")
    latest = on - dt.timedelta(days=cadence.CATCH_UP_AFTER + 1)
    try:
        through = min(dt.date.fromisoformat(request.POST.get("through", "")), latest)
    except ValueError:
        through = latest
    rows = cadence.today_groups(practice=request.practice, on=on).catch_up
    items = [(i.key, i.partner) for i in rows if i.due <= through]
    cleared = services.due_items_clear(practice=request.practice, items=items, by=request.user)
    left = len(items) - cleared
    message = (
        f"Cleared {cleared} thing{pluralize(cleared)} more than a month late: each is marked "
        "skipped. A new contact with a partner brings their reminders back as usual."
    )
    if left:
        message += (
            f" {left} {'is' if left == 1 else 'are'} about a referral with no partner in your "
            "network: open each to close it."
        )
    messages.success(request, message)
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
