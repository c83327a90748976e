import datetime as dt

from django.db import connection
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from referwell.accounts.http import PracticeRequest
from referwell.accounts.models import Member
from referwell.core.decorators import practice_required
from referwell.referrals.services import referrals_flag_no_response
from referwell.site.selectors import dashboard_summary, since_last_looked


@require_http_methods(["GET", "POST"])
@practice_required
def dashboard(request: PracticeRequest) -> HttpResponse:
    """The practice at a glance, with the member's own news at the top ("Since you last
    looked"). A POST is its "Mark as seen" button; reading the page marks nothing seen."""
    if request.method == "POST":
        _news_mark_seen(request.member, request.POST.get("until", ""))
        return redirect("dashboard")
    # A referral nobody answered becomes "no response" as soon as someone looks.
    referrals_flag_no_response(practice=request.practice)
    context = {
        **dashboard_summary(practice=request.practice),
        "news": since_last_looked(member=request.member),
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
