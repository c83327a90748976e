from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from referwell.accounts.http import PracticeRequest
from referwell.audit.services import log_action, request_ip
from referwell.core.decorators import practice_required
from referwell.inbound import selectors, services
from referwell.inbound.models import RequestStatus


@require_GET
@practice_required
def inbound_list(request: PracticeRequest) -> HttpResponse:
    status = request.GET.get("status", "")
    status = status if status in RequestStatus.values else RequestStatus.PENDING
    requests = selectors.request_list(practice=request.practice, status=status)
    template = "inbound/inbound_list.html"
    if request.htmx:
        return render(request, template + "#results", {"requests": requests, "status": status})
    practice = request.practice
    practice_url = request.build_absolute_uri(reverse("refer_practice", args=[practice.slug]))
    partner_links = [
        (
            partner,
            request.build_absolute_uri(
                reverse("refer_partner", args=[practice.slug, partner.referral_code])
            ),
        )
        for partner in selectors.partner_link_list(practice=practice)
    ]
    context = {
        "requests": requests,
        "status": status,
        "statuses": RequestStatus.choices,
        "practice_url": practice_url,
        "partner_links": partner_links,
    }
    return render(request, template, context)


@require_GET
@practice_required
def inbound_detail(request: PracticeRequest, pk: int) -> HttpResponse:
    inbound = selectors.request_get(practice=request.practice, pk=pk)
    log_action(
        practice=request.practice,
        actor=request.user,
        action="referwell.inbound.viewed",
        obj=inbound,
        ip_address=request_ip(request),
    )
    return render(request, "inbound/inbound_detail.html", {"inbound": inbound})


@require_POST
@practice_required
def inbound_accept(request: PracticeRequest, pk: int) -> HttpResponse:
    inbound = selectors.request_get(practice=request.practice, pk=pk)
    try:
        client = services.request_accept(request=inbound, by=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("inbound_detail", pk=inbound.pk)
    messages.success(request, f"{client.full_name} added as a client, with the referral in.")
    return redirect("client_detail", pk=client.pk)


@require_POST
@practice_required
def inbound_reject(request: PracticeRequest, pk: int) -> HttpResponse:
    inbound = selectors.request_get(practice=request.practice, pk=pk)
    try:
        services.request_reject(request=inbound, by=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("inbound_detail", pk=inbound.pk)
    messages.success(request, "Request rejected.")
    return redirect("inbound_list")
