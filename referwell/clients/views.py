from __future__ import annotations

import datetime as dt
from functools import lru_cache
from typing import TypeVar

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Model, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.safestring import SafeString
from django.views.decorators.http import require_http_methods, require_POST

from referwell.audit.services import log_read, log_request
from referwell.clients import selectors, services
from referwell.clients.forms import ClientForm, ConsentForm, VisitForm
from referwell.clients.models import Client, Stream
from referwell.core.decorators import practice_required
from referwell.guidance.selectors import guidance_for_client
from referwell.referrals.selectors import referral_list


@practice_required
def client_list(request: HttpRequest) -> HttpResponse:
    q = request.GET.get("q", "").strip()
    stream = request.GET.get("stream", "")
    stream = stream if stream in Stream.values else ""
    clients = selectors.client_list(practice=request.practice, q=q, stream=stream)
    template = "clients/client_list.html"
    if request.htmx:
        template += "#results"
    return render(
        request,
        template,
        {"clients": clients, "q": q, "stream": stream, "streams": Stream.choices},
    )


# Each list of the client page shows its latest rows, and all of them on asking (`?visits=all`,
# `?referrals=all`, `?consents=all`, `?disclosures=all`): a long history does not slow the page.
LIST_SHOWN = 10  # the latest visits, referrals, consents and disclosures shown
T = TypeVar("T", bound=Model)


def _latest(request: HttpRequest, name: str, rows: QuerySet[T]) -> tuple[list[T], bool]:
    """The first LIST_SHOWN rows (all of them when asked), and whether there are more."""
    if request.GET.get(name) == "all":
        return list(rows), False
    latest = list(rows[: LIST_SHOWN + 1])
    return latest[:LIST_SHOWN], len(latest) > LIST_SHOWN


def _visit_fields(form: VisitForm) -> SafeString:
    return render_to_string("form_fields.html", {"fields": form})


@lru_cache(maxsize=4)
def _blank_visit_fields(day: dt.date, clinical: bool) -> SafeString:
    """The fields of an empty visit form on `day`: the same on every client page of the day (no
    client, no request in them), so rendered once a day by each process instead of on every
    view — a third of the page's rendering. The form's CSRF token is outside them. Without
    the notes field for the front desk (`clinical` False)."""
    return _visit_fields(VisitForm(initial={"date": day, "fee": "95.00"}, clinical=clinical))


def _detail_context(request: HttpRequest, client: Client) -> dict[str, object]:
    practice = request.practice
    # Every visit's day (newest first) and what the table shows of the latest — no note
    # decrypted — in one query; all of them on asking.
    rows = list(
        selectors.visit_list(practice=practice, client=client).values("date", "service", "fee")
    )
    days = [row["date"] for row in rows]
    all_visits = request.GET.get("visits") == "all"
    shown_visits = rows if all_visits else rows[:LIST_SHOWN]
    guidance = None
    today = timezone.localdate()
    if request.member.sees_clinical:
        guidance = guidance_for_client(
            practice=practice, client=client, visit_days=days, today=today
        )
    # The client is this page's own, and the reasons are not shown here: neither is decrypted
    # again for every referral.
    referrals, more_referrals = _latest(
        request,
        "referrals",
        referral_list(practice=practice, client_id=client.pk)
        .select_related(None)
        .select_related("partner", "profession")
        .defer("reasons"),
    )
    consents, more_consents = _latest(
        request, "consents", selectors.consent_list(practice=practice, client=client)
    )
    for r in referrals:
        used = sum(1 for day in days if day >= r.created_at.date())
        r.validity = r.validity_warning(visits_used=used, today=today)
        r.thank_you_owed = r.direction == "in" and r.thanked_at is None
    disclosures, more_disclosures = [], False
    if request.member.sees_disclosures:
        disclosures, more_disclosures = _latest(
            request, "disclosures", selectors.disclosure_list(practice=practice, client=client)
        )
    return {
        "client": client,
        "guidance": guidance,
        "disclosures": disclosures,
        "more_disclosures": more_disclosures,
        "visits": shown_visits,
        "visit_count": len(days),
        "all_visits": all_visits,
        "consents": consents,
        "more_consents": more_consents,
        "referrals": referrals,
        "more_referrals": more_referrals,
        "visit_fields": _blank_visit_fields(today, request.member.sees_clinical),
        "today": today,
    }


@practice_required
def client_detail(request: HttpRequest, pk: int) -> HttpResponse:
    client = selectors.client_get(practice=request.practice, pk=pk)
    log_request(request, action="referwell.client.viewed", obj=client)
    return render(request, "clients/client_detail.html", _detail_context(request, client))


@practice_required
def client_create(request: HttpRequest) -> HttpResponse:
    form = ClientForm(
        request.POST or None, practice=request.practice, clinical=request.member.sees_clinical
    )
    if request.method == "POST" and form.is_valid():
        try:
            client = services.client_create(
                practice=request.practice, by=request.user, fields=form.cleaned_data
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, f"{client.full_name} added.")
            return redirect("client_detail", pk=client.pk)
    return render(request, "clients/client_form.html", {"form": form, "client": None})


@practice_required
def client_edit(request: HttpRequest, pk: int) -> HttpResponse:
    client = selectors.client_get(practice=request.practice, pk=pk)
    form = ClientForm(
        request.POST or None,
        instance=client,
        practice=request.practice,
        clinical=request.member.sees_clinical,
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.client_update(client=client, by=request.user, fields=form.cleaned_data)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, "Saved.")
            return redirect("client_detail", pk=client.pk)
    log_read(request, action="referwell.client.opened_for_editing", obj=client, ids=[client.pk])
    return render(request, "clients/client_form.html", {"form": form, "client": client})


@require_POST
@practice_required
def visit_add(request: HttpRequest, pk: int) -> HttpResponse:
    client = selectors.client_get(practice=request.practice, pk=pk)
    form = VisitForm(request.POST, clinical=request.member.sees_clinical)
    if form.is_valid():
        services.visit_create(client=client, by=request.user, **form.cleaned_data)
        messages.success(request, "Visit recorded.")
        return redirect("client_detail", pk=client.pk)
    context = _detail_context(request, client) | {
        "visit_form": form,
        "visit_fields": _visit_fields(form),
    }
    return render(request, "clients/client_detail.html", context, status=400)


@require_http_methods(["GET", "POST"])
@practice_required
def consent_add(request: HttpRequest, pk: int) -> HttpResponse:
    """Its own page: the list of every partner of a large network (hundreds of kilobytes) is
    sent when a consent is recorded, not with every view of the client."""
    client = selectors.client_get(practice=request.practice, pk=pk)
    if request.method == "POST":
        form = ConsentForm(request.POST, practice=request.practice)
        if form.is_valid():
            services.consent_create(client=client, by=request.user, fields=form.cleaned_data)
            messages.success(request, "Consent recorded.")
            return redirect("client_detail", pk=client.pk)
    else:
        form = ConsentForm(practice=request.practice, initial={"given_on": timezone.localdate()})
    status = 400 if form.errors else 200
    context = {"client": client, "form": form}
    return render(request, "clients/consent_form.html", context, status=status)


@require_POST
@practice_required
def consent_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    consent = selectors.consent_get(practice=request.practice, pk=pk)
    services.consent_revoke(consent=consent, by=request.user)
    messages.success(request, "Consent revoked: nothing more will be shared under it.")
    return redirect("client_detail", pk=consent.client_id)
