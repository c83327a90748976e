from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import QuerySet
from django.http import Http404

from referwell.accounts.models import Practice
from referwell.directory.models import Partner
from referwell.inbound.models import ReferralRequest, RequestStatus


def request_list(
    *, practice: Practice, status: str = RequestStatus.PENDING
) -> QuerySet[ReferralRequest]:
    return (
        ReferralRequest.objects.for_practice(practice)
        .filter(status=status)
        .select_related("partner", "client")
    )


def request_get(*, practice: Practice, pk: int | str) -> ReferralRequest:
    try:
        return (
            ReferralRequest.objects.for_practice(practice)
            .select_related("partner", "client", "reviewed_by")
            .get(pk=int(pk))
        )
    except (ReferralRequest.DoesNotExist, ValueError, TypeError):
        raise Http404("No such request.") from None


@dataclass(frozen=True)
class NewRequest:
    """A request that arrived through a public referral page, as the dashboard's news lists
    it: who for, from whom, when, and where it stands (its reason is not read)."""

    pk: int
    at: dt.datetime
    client: str
    referrer: str
    status: str
    status_label: str


STATUS_LABELS = dict(RequestStatus.choices)


def requests_since(
    *, practice: Practice, since: dt.datetime, limit: int = 10
) -> tuple[list[NewRequest], bool]:
    """The requests that arrived after `since`, newest first, at most `limit`, and whether
    there are more; whatever happened to them since (a colleague may have accepted one). One
    query, on the (practice, status, created_at) index."""
    rows = list(
        ReferralRequest.objects.for_practice(practice)
        .filter(status__in=RequestStatus.values, created_at__gt=since)
        .order_by("-created_at", "-id")
        .values_list(
            "pk",
            "created_at",
            "client_first_name",
            "client_last_name",
            "referrer_name",
            "referrer_organization",
            "status",
        )[: limit + 1]
    )
    requests = [
        NewRequest(
            pk=pk,
            at=at,
            client=f"{first} {last}",
            referrer=f"{name} ({organization})" if organization else name,
            status=status,
            status_label=STATUS_LABELS.get(status, status),
        )
        for pk, at, first, last, name, organization, status in rows[:limit]
    ]
    return requests, len(rows) > limit


def partner_link_list(*, practice: Practice) -> QuerySet[Partner]:
    """Every partner, for the list of referral page links to share."""
    return Partner.objects.for_practice(practice).only("name", "clinic", "referral_code")


# Public pages: the practice by its slug, a partner by its code within that practice.


def public_practice_get(*, slug: str) -> Practice:
    practice = Practice.objects.filter(slug=slug).first()
    if practice is None:
        raise Http404("No such practice.")
    return practice


def public_partner_get(*, practice: Practice, code: str) -> Partner:
    partner = Partner.objects.for_practice(practice).filter(referral_code=code).first()
    if partner is None:
        raise Http404("No such referral page.")
    return partner
