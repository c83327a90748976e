"""The reminders as an iCalendar (RFC 5545) feed at a secret, revocable address.

The feed leaves the app, onto a phone: it names partners and counts, never a client.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections import Counter

from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone
from icalendar import Calendar, Event

from referwell.accounts.models import Member, Practice
from referwell.accounts.selectors import user_has_two_factor
from referwell.core.ratelimit import client_ip, rate_limited
from referwell.outreach.cadence import RULES, due_items
from referwell.outreach.models import CalendarFeed

HORIZON = dt.timedelta(days=120)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def feed_issue(*, member: Member) -> str:
    """A new secret address for this member; their earlier one stops working."""
    CalendarFeed.objects.filter(member=member, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    token = secrets.token_urlsafe(32)
    CalendarFeed.objects.create(practice=member.practice, member=member, token_hash=_hash(token))
    return token


def feed_revoke(*, member: Member) -> int:
    return CalendarFeed.objects.filter(member=member, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )


def feed_calendar(*, practice: Practice, on: dt.date) -> bytes:
    cal = Calendar()
    cal.add("prodid", "-//Referwell//Reminders//EN")
    cal.add("version", "2.0")
    cal.add("x-wr-calname", f"Referwell — {practice.name}")
    per_day: Counter[tuple[dt.date, str]] = Counter()
    for item in due_items(practice=practice, on=on):
        day = max(item.due, on)  # what is overdue shows today
        if day > on + HORIZON:
            continue
        label = RULES[item.kind].label
        if item.partner is None:
            per_day[(day, label)] += 1
            continue
        event = Event()
        event.add("uid", f"{item.key}@referwell.{practice.slug}")
        event.add("summary", f"{label}: {item.partner_name}")
        event.add("dtstart", day)
        event.add("dtend", day + dt.timedelta(days=1))
        event.add("dtstamp", timezone.now())
        cal.add_component(event)
    for (day, label), count in sorted(per_day.items()):
        event = Event()
        event.add("uid", f"{day.isoformat()}-{label}@referwell.{practice.slug}")
        event.add("summary", f"{count} × {label}")
        event.add("dtstart", day)
        event.add("dtend", day + dt.timedelta(days=1))
        event.add("dtstamp", timezone.now())
        cal.add_component(event)
    ical: bytes = cal.to_ical()  # icalendar leaves it unannotated
    return ical


def calendar_feed(request: HttpRequest, token: str) -> HttpResponse:
    if rate_limited(f"feed:{client_ip(request)}", limit=60, window=600):
        return HttpResponse("Too many requests.", status=429)
    feed = (
        CalendarFeed.objects.select_related("practice", "member__user")
        .filter(token_hash=_hash(token), revoked_at__isnull=True)
        .first()
    )
    # The same rule as logging in: a member who works in the practice (joined, not removed,
    # the account active) and, where the practice requires it, has two-factor login.
    if feed is None or not Member.objects.active().filter(pk=feed.member_id).exists():
        raise Http404("No such calendar.")
    if feed.practice.require_two_factor and not user_has_two_factor(feed.member.user):
        return HttpResponse(
            "Your practice requires two-factor login: set it up in Referwell, then the calendar "
            "works again.",
            status=403,
            content_type="text/plain; charset=utf-8",
        )
    body = feed_calendar(practice=feed.practice, on=timezone.localdate())
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Cache-Control"] = "private, max-age=900"
    return response
