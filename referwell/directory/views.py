from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from referwell.core.decorators import practice_required
from referwell.directory import selectors, services
from referwell.directory.forms import PartnerFilterForm, PartnerForm, TouchpointForm
from referwell.referrals.selectors import referral_list


@practice_required
def partner_list(request: HttpRequest) -> HttpResponse:
    form = PartnerFilterForm(request.GET or None, practice=request.practice)
    filters = selectors.PartnerFilters()
    if form.is_valid():
        filters = selectors.PartnerFilters(**{k: v for k, v in form.cleaned_data.items() if v})
    partners = selectors.partner_list(practice=request.practice, filters=filters)
    template = "directory/partner_list.html"
    if request.htmx:
        template += "#results"
    return render(
        request,
        template,
        {"form": form, "partners": partners, "with_distance": bool(filters.near_zip)},
    )


@practice_required
def partner_detail(request: HttpRequest, pk: int) -> HttpResponse:
    partner = selectors.partner_get(practice=request.practice, pk=pk)
    touchpoints = selectors.touchpoint_list(practice=request.practice, partner=partner)
    referrals = referral_list(practice=request.practice, partner_id=partner.pk)[:20]
    form = TouchpointForm(initial={"date": timezone.localdate()})
    stats = selectors.responsiveness_for(practice=request.practice, partner_ids=[partner.pk])
    return render(
        request,
        "directory/partner_detail.html",
        {
            "partner": partner,
            "touchpoints": touchpoints,
            "referrals": referrals,
            "form": form,
            "stats": stats[partner.pk],
        },
    )


@practice_required
def partner_create(request: HttpRequest) -> HttpResponse:
    form = PartnerForm(request.POST or None, practice=request.practice)
    if request.method == "POST" and form.is_valid():
        try:
            partner = services.partner_create(
                practice=request.practice, by=request.user, **form.service_kwargs()
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, f"{partner.name} is now in your network.")
            return redirect("partner_detail", pk=partner.pk)
    return render(request, "directory/partner_form.html", {"form": form, "partner": None})


@practice_required
def partner_edit(request: HttpRequest, pk: int) -> HttpResponse:
    partner = selectors.partner_get(practice=request.practice, pk=pk)
    form = PartnerForm(request.POST or None, instance=partner, practice=request.practice)
    if request.method == "POST" and form.is_valid():
        try:
            services.partner_update(partner=partner, by=request.user, **form.service_kwargs())
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, "Saved.")
            return redirect("partner_detail", pk=partner.pk)
    return render(request, "directory/partner_form.html", {"form": form, "partner": partner})


@require_POST
@practice_required
def touchpoint_add(request: HttpRequest, pk: int) -> HttpResponse:
    partner = selectors.partner_get(practice=request.practice, pk=pk)
    form = TouchpointForm(request.POST)
    if form.is_valid():
        services.touchpoint_create(partner=partner, by=request.user, **form.cleaned_data)
        messages.success(request, "Touchpoint logged.")
        form = TouchpointForm(initial={"date": timezone.localdate()})
    context = {
        "partner": partner,
        "touchpoints": selectors.touchpoint_list(practice=request.practice, partner=partner),
        "form": form,
    }
    if request.htmx:
        return render(request, "directory/partner_detail.html#touchpoints", context)
    if form.errors:
        messages.error(request, "The touchpoint was not saved: " + form.errors.as_text())
    return redirect("partner_detail", pk=partner.pk)


@require_POST
@practice_required
def partner_letter(request: HttpRequest, pk: int) -> HttpResponse:
    from referwell.outreach.letters import LetterTemplateError
    from referwell.outreach.services import PARTNER_LETTERS, partner_letter_send

    partner = selectors.partner_get(practice=request.practice, pk=pk)
    kind = request.POST.get("kind", "")
    if kind not in PARTNER_LETTERS:
        messages.error(request, "Choose a letter.")
        return redirect("partner_detail", pk=partner.pk)
    try:
        message = partner_letter_send(partner=partner, kind=kind, by=request.user)
    except LetterTemplateError as exc:
        messages.error(request, str(exc))
    except OSError as exc:
        messages.error(request, f"The e-mail could not be sent ({exc}); nothing was changed.")
    else:
        how = f"e-mailed to {message.to_email}" if message.to_email else "ready to print"
        messages.success(request, f"“{message.subject}” {how} (see the outbox).")
    return redirect("partner_detail", pk=partner.pk)
