from __future__ import annotations

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
