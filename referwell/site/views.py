import datetime as dt

from django.db import connection
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from referwell.accounts.http import PracticeRequest
from referwell.accounts.models import Member
from referwell.core.decorators import practice_required
from referwell.outreach import cadence
from referwell.referrals.services import referrals_flag_no_response
from referwell.site.selectors import dashboard_summary, since_last_looked

# The dashboard's "What to do next": the first items of Today, each one click from done.
NEXT_SHOWN = 5


@require_http_methods(["GET", "POST"])
@practice_required
def dashboard(request: PracticeRequest) -> HttpResponse:
    """What to do next (Today's first items, each with its one action), the member's own news
    ("Since you last looked": partners' answers, new referrals through the public pages), then
    the practice at a glance. A POST is the news' "Mark as seen" button; reading the page marks
    nothing seen."""
    if request.method == "POST":
        _news_mark_seen(request.member, request.POST.get("until", ""))
        return redirect("dashboard")
    # A referral nobody answered becomes "no response" as soon as someone looks.
    referrals_flag_no_response(practice=request.practice)
    on = timezone.localdate()
    today = cadence.today_groups(practice=request.practice, on=on)
    context = {
        **dashboard_summary(practice=request.practice, today=on),
        "news": since_last_looked(member=request.member),
        "todo": {
            "lines": cadence.lines(today.next_items(NEXT_SHOWN), on),
            "now": today.now,
            "coming": len(today.coming),
            "catch_up": len(today.catch_up),
            # With nothing to do now, what comes next.
            "next": cadence.lines(today.coming[:3], on) if not today.now else [],
        },
        "snooze_default": (on + dt.timedelta(days=7)).isoformat(),
        "back": "dashboard",
    }
    return render(request, "site/dashboard.html", context)


def _news_mark_seen(member: Member, until: str) -> None:
    """The member has seen their news up to `until`, the moment the page they read was made
    (what arrived while they read stays news); now when the form does not say. Never back in
    time, never past now."""
    now = timezone.now()
    try:
        moment = dt.datetime.fromisoformat(until)
    except ValueError:
        moment = now
    if timezone.is_naive(moment):
        moment = now
    moment = min(moment, now)
    if member.seen_news_at is not None and moment <= member.seen_news_at:
        return
    Member.objects.filter(pk=member.pk).update(seen_news_at=moment)
    member.seen_news_at = moment


def health(request: PracticeRequest) -> JsonResponse:
    """For load balancers and uptime checks: the app answers and reaches its database."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})
