from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404

from referwell.accounts.models import Practice
from referwell.referrals.models import Referral, ReferralEvent


def referral_list(
    *,
    practice: Practice,
    direction: str = "",
    status: str = "",
    client_id: int | None = None,
    partner_id: int | None = None,
) -> QuerySet[Referral]:
    qs = Referral.objects.for_practice(practice).select_related("client", "partner", "profession")
    if direction:
        qs = qs.filter(direction=direction)
    if status:
        qs = qs.filter(status=status)
    if client_id:
        qs = qs.filter(client_id=client_id)
    if partner_id:
        qs = qs.filter(partner_id=partner_id)
    return qs.order_by("-created_at", "-id")


def referral_get(*, practice: Practice, pk: int | str) -> Referral:
    try:
        return (
            Referral.objects.for_practice(practice)
            .select_related("client", "partner", "profession", "created_by")
            .get(pk=int(pk))
        )
    except (Referral.DoesNotExist, ValueError, TypeError):
        raise Http404("No such referral.") from None


def referral_events(*, practice: Practice, referral: Referral) -> QuerySet[ReferralEvent]:
    return (
        ReferralEvent.objects.for_practice(practice).filter(referral=referral).select_related("by")
    )
