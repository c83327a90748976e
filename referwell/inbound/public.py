"""The public referral pages: a practice's, and each partner's, without an account.

What comes in is held for review and never shown back: the thank-you page repeats nothing.
Abuse is kept down by a honeypot field, a body size limit and rate limits per IP and per
practice; the sender's IP is stored only as a keyed SHA-256."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from referwell.accounts.models import Practice
from referwell.core.ratelimit import client_ip, rate_limited
from referwell.directory.models import Partner
from referwell.inbound import selectors, services
from referwell.inbound.forms import HONEYPOT_FIELD, ReferralRequestForm
from referwell.inbound.notify import request_arrived

MAX_BODY_BYTES = 20 * 1024
SUBMISSIONS_PER_IP_PER_HOUR = 5
SUBMISSIONS_PER_PRACTICE_PER_DAY = 100
VIEWS_PER_IP_PER_TEN_MINUTES = 120


@never_cache
@require_http_methods(["GET", "POST"])
def refer_practice(request: HttpRequest, practice_slug: str) -> HttpResponse:
    practice = selectors.public_practice_get(slug=practice_slug)
    return _refer(request, practice, partner=None)


@never_cache
@require_http_methods(["GET", "POST"])
def refer_partner(request: HttpRequest, practice_slug: str, code: str) -> HttpResponse:
    practice = selectors.public_practice_get(slug=practice_slug)
    partner = selectors.public_partner_get(practice=practice, code=code)
    return _refer(request, practice, partner=partner)


@require_GET
def refer_thanks(request: HttpRequest, practice_slug: str) -> HttpResponse:
    practice = selectors.public_practice_get(slug=practice_slug)
    return render(request, "inbound/public_thanks.html", {"practice": practice})


def _refer(request: HttpRequest, practice: Practice, *, partner: Partner | None) -> HttpResponse:
    ip = client_ip(request)
    if request.method != "POST":
        if rate_limited(f"refer-view:{ip}", limit=VIEWS_PER_IP_PER_TEN_MINUTES, window=600):
            return _refused(request, practice, 429, "Too many requests from your connection.")
        return _page(request, practice, partner, ReferralRequestForm())

    # Every attempt counts, valid or not, before the body is read.
    if rate_limited(f"refer-ip:{ip}", limit=SUBMISSIONS_PER_IP_PER_HOUR, window=3600):
        return _refused(request, practice, 429, "Too many referrals sent from your connection.")
    if _body_too_large(request):
        return _refused(request, practice, 413, "What you sent is too large.")
    if request.POST.get(HONEYPOT_FIELD, ""):
        # A bot filled the hidden field: it is told the same as a person, and nothing is kept.
        return redirect("refer_thanks", practice_slug=practice.slug)

    form = ReferralRequestForm(request.POST)
    if not form.is_valid():
        return _page(request, practice, partner, form, status=400)
    practice_key = f"refer-practice:{practice.pk}"
    if rate_limited(practice_key, limit=SUBMISSIONS_PER_PRACTICE_PER_DAY, window=86400):
        return _refused(request, practice, 429, "This form has received too many referrals today.")
    try:
        with transaction.atomic():
            received = services.request_receive(
                practice=practice, partner=partner, fields=form.request_fields(), ip=ip
            )
            # The practice hears of it (queued with it, sent by the worker).
            request_arrived(request=received, base_url=request.build_absolute_uri("/"))
    except ValidationError as exc:
        form.add_error(None, exc)
        return _page(request, practice, partner, form, status=400)
    return redirect("refer_thanks", practice_slug=practice.slug)


def _body_too_large(request: HttpRequest) -> bool:
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return True
    if declared > MAX_BODY_BYTES:
        return True
    return len(request.body) > MAX_BODY_BYTES


def _page(
    request: HttpRequest,
    practice: Practice,
    partner: Partner | None,
    form: ReferralRequestForm,
    status: int = 200,
) -> HttpResponse:
    context = {"practice": practice, "partner": partner, "form": form}
    return render(request, "inbound/public_refer.html", context, status=status)


def _refused(request: HttpRequest, practice: Practice, status: int, message: str) -> HttpResponse:
    context = {"practice": practice, "message": message, "status": status}
    return render(request, "inbound/public_refused.html", context, status=status)
