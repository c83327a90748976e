"""The outreach board, contact plans and niches."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from referwell.accounts.http import PracticeRequest
from referwell.core.decorators import practice_required
from referwell.directory.models import Niche, Stage
from referwell.directory.selectors import partner_get
from referwell.directory.services import niche_get_or_create, partner_update
from referwell.outreach import pipeline, services
from referwell.outreach.models import ContactMethod, ContactPlan


def _board(request: PracticeRequest, status: int = 200) -> HttpResponse:
    columns = pipeline.board(practice=request.practice)
    template = "outreach/pipeline.html#board" if request.htmx else "outreach/pipeline.html"
    stages = pipeline.BOARD_STAGES
    return render(
        request,
        template,
        {
            # Each column with the stages a card moves to from it (back, forward), named.
            "columns": [
                {
                    "stage": s,
                    "label": Stage(s).label,
                    "cards": columns[s],
                    "back": Stage(stages[i - 1]) if i > 0 else None,
                    "forward": Stage(stages[i + 1]) if i + 1 < len(stages) else None,
                }
                for i, s in enumerate(stages)
            ],
            "not_a_fit": columns[Stage.NOT_A_FIT],
            "methods": ContactMethod.choices,
            "stages": pipeline.BOARD_STAGES,
            "today": dt.date.today(),
        },
        status=status,
    )


@practice_required
def pipeline_page(request: PracticeRequest) -> HttpResponse:
    return _board(request)


@require_POST
@practice_required
def pipeline_move(request: PracticeRequest, pk: int) -> HttpResponse:
    partner = partner_get(practice=request.practice, pk=pk)
    to = request.POST.get("to", "")
    if to not in Stage.values:
        messages.error(request, "Choose a stage.")
        return _board(request, status=400) if request.htmx else redirect("pipeline")
    fields = {"stage": to}
    if to == Stage.NOT_A_FIT:
        fields["not_a_fit_reason"] = request.POST.get("reason", "").strip()
        if not fields["not_a_fit_reason"]:
            messages.error(request, f"Say why {partner.name} is not a fit.")
            return _board(request, status=400) if request.htmx else redirect("pipeline")
    try:
        partner_update(partner=partner, by=request.user, fields=fields)
    except ValidationError as exc:
        messages.error(request, "; ".join(exc.messages))
    else:
        messages.success(request, f"{partner.name}: {Stage(to).label}.")
    return _board(request) if request.htmx else redirect("pipeline")


@require_POST
@practice_required
def plan_add(request: PracticeRequest, pk: int) -> HttpResponse:
    partner = partner_get(practice=request.practice, pk=pk)
    try:
        planned = dt.date.fromisoformat(request.POST.get("planned_on", ""))
        services.contact_plan_create(
            partner=partner,
            by=request.user,
            method=request.POST.get("method", ""),
            planned_on=planned,
            note=request.POST.get("note", ""),
        )
    except (ValueError, ValidationError):
        messages.error(request, "Choose how (letter, call, visit…) and a date for the next step.")
    else:
        messages.success(request, f"Next step with {partner.name} planned for {planned:%b %d}.")
    return _board(request) if request.htmx else redirect("pipeline")


@require_POST
@practice_required
def plan_done(request: PracticeRequest, pk: int) -> HttpResponse:
    plan = ContactPlan.objects.for_practice(request.practice).filter(pk=pk).first()
    if plan is None:
        raise Http404("No such plan.")
    services.contact_plan_done(plan=plan, by=request.user, outcome=request.POST.get("outcome", ""))
    messages.success(request, "Logged.")
    return _board(request) if request.htmx else redirect("pipeline")


@practice_required
def niches_page(request: PracticeRequest) -> HttpResponse:
    if request.method == "POST":
        name = request.POST.get("name", "").strip()
        if not name or len(name) > 100:
            messages.error(request, "Give the niche a name (up to 100 characters).")
        else:
            niche_get_or_create(practice=request.practice, name=name)
            messages.success(request, f"Niche “{name}” added.")
        return redirect("niches")
    return render(
        request,
        "outreach/niches.html",
        {"coverage": pipeline.niche_coverage(practice=request.practice)},
    )


@require_POST
@practice_required
def niche_delete(request: PracticeRequest, pk: int) -> HttpResponse:
    niche = Niche.objects.for_practice(request.practice).filter(pk=pk).first()
    if niche is None:
        raise Http404("No such niche.")
    niche.delete()
    messages.success(request, "Niche removed.")
    return redirect("niches")
