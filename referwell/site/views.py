from django.db import connection
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render

from referwell.accounts.http import PracticeRequest
from referwell.core.decorators import practice_required
from referwell.referrals.services import referrals_flag_no_response
from referwell.site.selectors import dashboard_summary


@practice_required
def dashboard(request: PracticeRequest) -> HttpResponse:
    # A referral nobody answered becomes "no response" as soon as someone looks.
    referrals_flag_no_response(practice=request.practice)
    return render(request, "site/dashboard.html", dashboard_summary(practice=request.practice))


def health(request: PracticeRequest) -> JsonResponse:
    """For load balancers and uptime checks: the app answers and reaches its database."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})
