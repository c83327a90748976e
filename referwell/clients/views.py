from __future__ import annotations

import datetime as dt
from functools import lru_cache
from typing import Protocol, TypeVar, cast
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Model, QuerySet
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import SafeString
from django.views.decorators.http import require_http_methods, require_POST

from referwell.accounts.http import PracticeRequest
from referwell.audit.models import Disclosure
from referwell.audit.services import log_read, log_request, request_ip
from referwell.clients import selectors, services
from referwell.clients.forms import ClientForm, ConsentForm, PaperForm, SignatureForm, VisitForm
from referwell.clients.models import Client, Consent, SignedHow, Stream
from referwell.clients.services import HOW_LINK, HOW_PAPER, HOW_SIGN_HERE
from referwell.core.decorators import practice_required
from referwell.guidance.selectors import guidance_for_client
from referwell.referrals.selectors import partner_answers, referral_list


@practice_required
def client_list(request: PracticeRequest) -> HttpResponse:
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
BEFORE_SENDING = frozenset({"draft", "discussed", "consented"})  # referrals' states
T = TypeVar("T", bound=Model)


class _ListedReferral(Protocol):
    """What the client page adds to each referral it lists, for its template."""

    validity: str
    thank_you_owed: bool
    before_sending: bool


def _latest(request: PracticeRequest, name: str, rows: QuerySet[T]) -> tuple[list[T], bool]:
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


def _detail_context(request: PracticeRequest, client: Client) -> dict[str, object]:
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
    from_partners: list[object] = []
    today = timezone.localdate()
    if request.member.sees_clinical:
        from_partners = list(partner_answers(practice=practice, client_id=client.pk))
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
        listed = cast(_ListedReferral, r)
        listed.validity = r.validity_warning(visits_used=used, today=today)
        listed.thank_you_owed = r.direction == "in" and r.thanked_at is None
        # Not sent yet: its consent can still be recorded from here, filled in from it.
        listed.before_sending = r.direction == "out" and r.status in BEFORE_SENDING
    disclosures: list[Disclosure] = []
    more_disclosures = False
    if request.member.sees_disclosures:
        disclosures, more_disclosures = _latest(
            request, "disclosures", selectors.disclosure_list(practice=practice, client=client)
        )
    return {
        "client": client,
        "guidance": guidance,
        "from_partners": from_partners,
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
def client_detail(request: PracticeRequest, pk: int) -> HttpResponse:
    client = selectors.client_get(practice=request.practice, pk=pk)
    log_request(request, action="referwell.client.viewed", obj=client)
    return render(request, "clients/client_detail.html", _detail_context(request, client))


@practice_required
def client_create(request: PracticeRequest) -> HttpResponse:
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
def client_edit(request: PracticeRequest, pk: int) -> HttpResponse:
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
def visit_add(request: PracticeRequest, pk: int) -> HttpResponse:
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


# --- Consent ----------------------------------------------------------------------------------
#
# Recording a consent is the front desk's work too (a paper form handed in, a link sent): none
# of these pages shows clinical text — whom, what kind of sharing, for what, the signature.


def _next(request: PracticeRequest, default: str) -> str:
    """Where to go after the form: `next` when it is a path of this site, else `default`."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if (
        target.startswith("/")
        and not target.startswith("//")
        and "\\" not in target
        and url_has_allowed_host_and_scheme(
            target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        )
    ):
        return target
    return default


def _with_next(url: str, next_url: str) -> str:
    return f"{url}?{urlencode({'next': next_url})}" if next_url else url


def _prefill(referral: object) -> dict[str, object]:
    """The consent a referral needs: its partner (else its profession), the scope its letter
    needs (clients.services.CONSENT_FOR_KIND), and what for — no reason, no health detail."""
    is_out = getattr(referral, "direction", "out") == "out"
    partner = getattr(referral, "partner", None)
    profession = getattr(referral, "profession", None)
    whom = partner or profession
    kind = "referral" if is_out else "progress_report"
    return {
        "partner": partner,
        "profession": None if partner else profession,
        "scope": services.consent_scope_for(kind),
        "purpose": (f"Referral to {whom}" if is_out else f"Progress reports to {whom}")[:200],
    }


@require_http_methods(["GET", "POST"])
@practice_required
def consent_add(request: PracticeRequest, pk: int) -> HttpResponse:
    """Its own page: the list of every partner of a large network (hundreds of kilobytes) is
    sent when a consent is recorded, not with every view of the client. From a referral
    (`?referral=`), filled in with what its letter needs, and back to it afterwards."""
    client = selectors.client_get(practice=request.practice, pk=pk)
    referral = None
    referral_id = request.POST.get("referral") or request.GET.get("referral")
    if referral_id:
        referral = selectors.referral_for_consent(client=client, pk=referral_id)
    default = (
        reverse("referral_detail", args=[referral.pk])
        if referral is not None
        else reverse("client_detail", args=[client.pk]) + "#consents"
    )
    next_url = _next(request, default)
    if request.method == "POST":
        form = ConsentForm(request.POST, request.FILES, practice=request.practice, client=client)
        if form.is_valid():
            how = form.cleaned_data["how"]
            try:
                consent = services.consent_record(
                    client=client,
                    by=request.user,
                    fields=form.consent_fields(),
                    how=how,
                    paper=form.cleaned_data.get("paper"),
                    base_url=request.build_absolute_uri("/"),
                )
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                return _after_recording(request, consent, how, next_url)
    else:
        initial: dict[str, object] = {"given_on": timezone.localdate(), "how": HOW_SIGN_HERE}
        if referral is not None:
            initial |= _prefill(referral)
        form = ConsentForm(practice=request.practice, client=client, initial=initial)
    status = 400 if form.errors else 200
    context = {"client": client, "form": form, "referral": referral, "next": next_url}
    return render(request, "clients/consent_form.html", context, status=status)


def _after_recording(
    request: PracticeRequest, consent: Consent, how: str, next_url: str
) -> HttpResponse:
    client = consent.client
    if how == HOW_SIGN_HERE:
        return redirect(_with_next(reverse("consent_sign", args=[consent.pk]), next_url))
    if how == HOW_LINK:
        messages.success(
            request,
            f"A link to sign was e-mailed to {client.email}. The consent counts once "
            f"{client.first_name} signs.",
        )
    elif how == HOW_PAPER:
        messages.success(request, "Consent recorded, with the signed paper form.")
    else:
        messages.success(request, "Consent recorded.")
    return redirect(next_url)


@practice_required
def consent_detail(request: PracticeRequest, pk: int) -> HttpResponse:
    """One consent: what it allows in plain words, whether it counts, how it was signed — and
    the ways to have it signed (here, by link, on paper) or to revoke it."""
    consent = selectors.consent_get(practice=request.practice, pk=pk)
    return _detail_page(request, consent, PaperForm())


def _detail_page(
    request: PracticeRequest, consent: Consent, paper_form: PaperForm, status: int = 200
) -> HttpResponse:
    context = {
        "consent": consent,
        "client": consent.client,
        "paper_form": paper_form,
        "today": timezone.localdate(),
        "next": _next(request, ""),
    }
    return render(request, "clients/consent_detail.html", context, status=status)


@require_http_methods(["GET", "POST"])
@practice_required
def consent_sign(request: PracticeRequest, pk: int) -> HttpResponse:
    """The client signs on the practice's tablet or phone, the therapist beside them."""
    consent = selectors.consent_get(practice=request.practice, pk=pk)
    detail = reverse("consent_detail", args=[consent.pk])
    next_url = _next(request, detail)
    if consent.revoked_at is not None or consent.is_signed:
        messages.error(
            request,
            "This consent was revoked: record a new one."
            if consent.revoked_at
            else "This consent is already signed.",
        )
        return redirect(detail)
    form = SignatureForm(request.POST or None, initial={"signed_name": consent.client.full_name})
    if request.method == "POST" and form.is_valid():
        try:
            services.consent_sign(
                consent=consent,
                how=SignedHow.TABLET,
                name=form.cleaned_data["signed_name"],
                signature=form.cleaned_data["signature"],
                by=request.user,
                ip_address=request_ip(request),
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(
                request, f"Signed by {form.cleaned_data['signed_name']}: the consent counts now."
            )
            return redirect(next_url)
    context = {
        "consent": consent,
        "practice_name": request.practice.name,
        "agreement": consent.agreement(request.practice.name),
        "form": form,
        "on_tablet": True,
        "next": next_url,
        "cancel_url": next_url,
    }
    return render(request, "clients/consent_sign.html", context, status=400 if form.errors else 200)


@require_POST
@practice_required
def consent_send_link(request: PracticeRequest, pk: int) -> HttpResponse:
    consent = selectors.consent_get(practice=request.practice, pk=pk)
    if consent.is_signed:
        messages.error(request, "This consent is already signed.")
    else:
        try:
            services.consent_link_send(
                consent=consent, by=request.user, base_url=request.build_absolute_uri("/")
            )
        except ValidationError as exc:
            messages.error(request, exc.messages[0])
        else:
            messages.success(
                request,
                f"A link to sign was e-mailed to {consent.client.email}; it works for "
                f"{Consent.LINK_LIFETIME.days} days. The consent counts once signed.",
            )
    return redirect(_next(request, reverse("consent_detail", args=[consent.pk])))


@require_http_methods(["GET", "POST"])
@practice_required
def consent_upload(request: PracticeRequest, pk: int) -> HttpResponse:
    """The paper form the client signed (the form is on the consent's page)."""
    consent = selectors.consent_get(practice=request.practice, pk=pk)
    detail = reverse("consent_detail", args=[consent.pk])
    if request.method != "POST":
        return redirect(detail + "#paper")
    form = PaperForm(request.POST, request.FILES)
    if form.is_valid():
        content, content_type = form.cleaned_data["paper"]
        try:
            services.consent_attach_paper(
                consent=consent, by=request.user, content=content, content_type=content_type
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, "The signed paper form is kept: the consent counts now.")
            return redirect(_next(request, detail))
    return _detail_page(request, consent, form, status=400)


@practice_required
def consent_document(request: PracticeRequest, pk: int) -> HttpResponse:
    """The signed form (the PDF made at signing, or the paper form), shown in the browser."""
    consent = selectors.consent_get(practice=request.practice, pk=pk, with_form=True)
    content, content_type = services.consent_form_file(consent)
    if not content:
        messages.error(request, "This consent has no signed form yet.")
        return redirect("consent_detail", pk=consent.pk)
    log_request(
        request,
        action="referwell.consent.form_viewed",
        obj=consent,
        data={"client": consent.client_id},
    )
    extension = {"application/pdf": "pdf", "image/jpeg": "jpg", "image/png": "png"}
    response = HttpResponse(content, content_type=content_type)
    name = f"consent-{consent.pk}.{extension.get(content_type, 'bin')}"
    response["Content-Disposition"] = f'inline; filename="{name}"'
    response["X-Content-Type-Options"] = "nosniff"
    return response


@require_POST
@practice_required
def consent_revoke(request: PracticeRequest, pk: int) -> HttpResponse:
    consent = selectors.consent_get(practice=request.practice, pk=pk)
    services.consent_revoke(consent=consent, by=request.user)
    messages.success(request, "Consent revoked: nothing more will be shared under it.")
    return redirect(_next(request, reverse("client_detail", args=[consent.client_id])))
