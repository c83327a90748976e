"""The partner's page: one referral, reached by a secure link, without an account."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache

from referwell.core.ratelimit import client_ip, rate_limited
from referwell.referrals import services
from referwell.referrals.models import ReferralLink, hash_link_token
from referwell.referrals.notify import partner_answered
from referwell.referrals.states import Status, TransitionError, can_move, partner_done

LIMIT_PER_TEN_MINUTES = 30


def _refused(
    request: HttpRequest, link: ReferralLink | None, status: int, reason: str
) -> HttpResponse:
    """A page in the app's layout: why the link does not work and, when the practice is known
    (an expired or withdrawn link), how to reach it. A wrong token names nobody."""
    practice = link.referral.practice if link is not None else None
    context = {
        "practice": practice,
        "practice_name": practice.name if practice else "",
        "reason": reason,
        "status": status,
    }
    return render(request, "referrals/partner_link_refused.html", context, status=status)


def _link(request: HttpRequest, token: str) -> ReferralLink | HttpResponse:
    """The usable link for this token, or the page saying why it does not work: a wrong token
    is told nothing; an expired or withdrawn one is told whom to ask (never about the client)."""
    link = (
        ReferralLink.objects.select_related(
            "referral__client", "referral__practice", "referral__partner", "referral__profession"
        )
        .filter(token_hash=hash_link_token(token))
        .first()
    )
    if link is None:
        return _refused(request, None, 404, "This link does not work.")
    if link.revoked_at is not None:
        return _refused(request, link, 404, "This link was withdrawn by the practice.")
    if not link.is_usable:
        return _refused(request, link, 404, "This link has expired.")
    return link


@never_cache
def partner_link(request: HttpRequest, token: str) -> HttpResponse:
    ip = client_ip(request)
    if rate_limited(f"link:{ip}", limit=LIMIT_PER_TEN_MINUTES, window=600):
        return _refused(request, None, 429, "Too many requests from your connection.")
    link = _link(request, token)
    if isinstance(link, HttpResponse):
        return link
    if request.method == "POST":
        action = request.POST.get("action", "")
        note = request.POST.get("note", "")
        try:
            with transaction.atomic():
                referral = services.link_act(link=link, action=action, note=note, ip_address=ip)
                # The therapist who sent it hears of it (queued with the answer).
                partner_answered(
                    referral=referral,
                    action=action,
                    note=note.strip()[:1000],
                    base_url=request.build_absolute_uri("/"),
                )
        except (ValidationError, TransitionError) as exc:
            error = exc.messages[0] if isinstance(exc, ValidationError) else str(exc)
            return render(
                request,
                "referrals/partner_link.html",
                _context(link) | {"error": error},
                status=400,
            )
        return redirect(request.path + "?done=" + action)
    services.link_opened(link=link, ip_address=ip)  # counted; the referral does not move
    link.referral.refresh_from_db()
    return render(
        request,
        "referrals/partner_link.html",
        _context(link) | {"done": request.GET.get("done", "")},
    )


def _context(link: ReferralLink) -> dict[str, object]:
    """What the partner's page offers: the moves the state machine allows from here."""
    referral = link.referral
    status, direction = referral.status, referral.direction
    return {
        "referral": referral,
        "practice": referral.practice,
        "client": referral.client,
        "can_acknowledge": can_move(direction, status, Status.RECEIVED),
        "can_accept": can_move(direction, status, Status.ACCEPTED),
        "can_seen": can_move(direction, status, Status.SEEN),
        "finished": partner_done(status),
    }
