"""The owner's audit trail, and a client's accounting of disclosures (printable)."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone

from referwell.accounts.http import PracticeRequest
from referwell.accounts.models import Practice
from referwell.audit import selectors
from referwell.audit.forms import AuditFilterForm
from referwell.audit.labels import action_label
from referwell.audit.models import AuditEntry
from referwell.audit.selectors import AuditFilters
from referwell.audit.services import log_request
from referwell.clients.selectors import client_get
from referwell.core import csvout
from referwell.core.decorators import owner_required, practice_required

PAGE_SIZE = 50

# Objects that have a page: object_type → (model label, URL name).
OBJECT_PAGES = {
    "client": ("clients.Client", "client_detail"),
    "partner": ("directory.Partner", "partner_detail"),
    "referral": ("referrals.Referral", "referral_detail"),
    "referralrequest": ("inbound.ReferralRequest", "inbound_detail"),
}


def _object_links(practice: Practice, entries: list[AuditEntry]) -> None:
    """entry.link: the object's page when it still exists here — one query per kind of
    object, whatever the number of entries."""
    from django.apps import apps

    wanted: dict[str, set[int]] = {}
    for e in entries:
        if e.object_type in OBJECT_PAGES and e.object_id.isdigit():
            wanted.setdefault(e.object_type, set()).add(int(e.object_id))
    existing: dict[str, set[int]] = {}
    for object_type, ids in wanted.items():
        model = apps.get_model(OBJECT_PAGES[object_type][0])
        existing[object_type] = set(
            model.objects.filter(practice=practice, pk__in=ids).values_list("pk", flat=True)
        )
    for e in entries:
        e.label = action_label(e.action)
        e.link = None
        if e.object_id.isdigit() and int(e.object_id) in existing.get(e.object_type, ()):
            e.link = reverse(OBJECT_PAGES[e.object_type][1], kwargs={"pk": int(e.object_id)})


def _who(entry: AuditEntry) -> str:
    if entry.actor is None:
        return ""
    return entry.actor.get_full_name() or entry.actor.email


@owner_required("reads the audit trail")
def audit_trail(request: PracticeRequest) -> HttpResponse:
    practice = request.practice
    people = list(selectors.actors_of(practice=practice))
    form = AuditFilterForm(request.GET or None, people=people)
    filters = form.filters()
    entries = selectors.audit_list(practice=practice, filters=filters)
    if request.GET.get("format") == "csv":
        return _csv(request, entries, filters)
    page = Paginator(entries, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = list(page.object_list)
    _object_links(practice, rows)
    for e in rows:
        e.who = _who(e)
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "audit/audit_trail.html",
        {"form": form, "page": page, "rows": rows, "query": query.urlencode()},
    )


def _csv(
    request: PracticeRequest, entries: QuerySet[AuditEntry], filters: AuditFilters
) -> HttpResponse:
    practice = request.practice
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    name = f"{practice.slug}-audit-{timezone.localdate():%Y-%m-%d}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    writer = csvout.writer(response)
    writer.writerow(
        ["id", "at (UTC)", "who", "action", "what", "object type", "object id", "from", "hash"]
    )
    count = 0
    for e in entries.iterator(chunk_size=2000):
        writer.writerow(
            [
                e.pk,
                e.at.astimezone(dt.UTC).isoformat(),
                _who(e),
                e.action,
                action_label(e.action),
                e.object_type,
                e.object_id,
                e.ip_address or "",
                e.hash,
            ]
        )
        count += 1
    log_request(
        request,
        action="referwell.audit.exported",
        data={"rows": count, "filters": {k: str(v) for k, v in vars(filters).items() if v}},
    )
    return response


@practice_required
def client_disclosures(request: PracticeRequest, pk: int) -> HttpResponse:
    """Every disclosure of one client's information, to print or hand to the client. No
    clinical text, but who received what about a client: not for the front desk."""
    client = client_get(practice=request.practice, pk=pk)
    if not request.member.sees_disclosures:
        raise PermissionDenied("The accounting of disclosures is for therapists and owners.")
    disclosures = list(selectors.client_disclosures(practice=request.practice, client=client))
    log_request(request, action="referwell.disclosures.viewed", obj=client)
    return render(
        request,
        "audit/client_disclosures.html",
        {"client": client, "disclosures": disclosures, "printed_at": timezone.now()},
    )
