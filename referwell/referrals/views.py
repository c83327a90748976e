from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from referwell.clients.selectors import client_get
from referwell.core.decorators import practice_required
from referwell.directory.selectors import partner_get
from referwell.referrals import selectors, services
from referwell.referrals.forms import ReferralForm, TransitionForm
from referwell.referrals.models import Direction
from referwell.referrals.states import Status, TransitionError


@practice_required
def referral_list(request: HttpRequest) -> HttpResponse:
    direction = request.GET.get("direction", "")
    direction = direction if direction in Direction.values else ""
    status = request.GET.get("status", "")
    status = status if status in Status.values else ""
    referrals = selectors.referral_list(
        practice=request.practice, direction=direction, status=status
    )[:200]
    template = "referrals/referral_list.html"
    if request.htmx:
        template += "#results"
    return render(
        request,
        template,
        {
            "referrals": referrals,
            "direction": direction,
            "status": status,
            "directions": Direction.choices,
            "statuses": Status.choices,
        },
    )


@practice_required
def referral_detail(request: HttpRequest, pk: int) -> HttpResponse:
    referral = selectors.referral_get(practice=request.practice, pk=pk)
    return render(
        request,
        "referrals/referral_detail.html",
        {
            "referral": referral,
            "events": selectors.referral_events(practice=request.practice, referral=referral),
            "form": TransitionForm(referral=referral),
        },
    )


@practice_required
def referral_create(request: HttpRequest) -> HttpResponse:
    initial = {}
    if client_id := request.GET.get("client"):
        initial["client"] = client_get(practice=request.practice, pk=client_id)
    if partner_id := request.GET.get("partner"):
        initial["partner"] = partner_get(practice=request.practice, pk=partner_id)
    # A suggestion from the guidance engine arrives with its profession and reason filled in.
    if profession := request.GET.get("profession"):
        initial["profession"] = profession
    if reasons := request.GET.get("reasons"):
        initial["reasons"] = reasons[:2000]
    form = ReferralForm(request.POST or None, practice=request.practice, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            referral = services.referral_create(
                practice=request.practice, by=request.user, fields=form.cleaned_data
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, "Referral saved as a draft.")
            return redirect("referral_detail", pk=referral.pk)
    return render(request, "referrals/referral_form.html", {"form": form})


@require_POST
@practice_required
def referral_transition(request: HttpRequest, pk: int) -> HttpResponse:
    referral = selectors.referral_get(practice=request.practice, pk=pk)
    form = TransitionForm(request.POST, referral=referral)
    if not form.is_valid():
        messages.error(request, "Choose one of the next steps offered.")
        return redirect("referral_detail", pk=referral.pk)
    try:
        services.referral_transition(
            referral=referral,
            to=form.cleaned_data["to"],
            by=request.user,
            note=form.cleaned_data["note"],
        )
    except TransitionError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"Referral marked {Status(form.cleaned_data['to']).label}.")
    return redirect("referral_detail", pk=referral.pk)
