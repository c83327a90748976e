from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone

from referwell.accounts.models import Practice
from referwell.referrals.models import Direction, Referral, ReferralEvent, ReferralLink
from referwell.referrals.states import is_open, may_issue_link, may_send, may_thank_for_care


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


def referral_links(*, practice: Practice, referral: Referral) -> QuerySet[ReferralLink]:
    return ReferralLink.objects.for_practice(practice).filter(
        referral=referral, revoked_at__isnull=True
    )


def referral_detail_context(*, practice: Practice, referral: Referral) -> dict[str, object]:
    """Everything the referral page shows: timeline, links, disclosures, what is owed."""
    from referwell.audit.models import Disclosure
    from referwell.outreach.models import OutgoingMessage
    from referwell.referrals.services import referral_consent

    today = timezone.localdate()
    visits_used = referral.client.visits.filter(date__gte=referral.created_at.date()).count()
    links = list(referral_links(practice=practice, referral=referral))
    owed = []
    if referral.direction == Direction.IN:
        if referral.thanked_at is None:
            owed.append("thank_you")
        if (
            referral.partner_id
            and referral.report_interval_days
            and is_open(referral.status)
            and (
                referral.last_report_at is None
                or (timezone.now() - referral.last_report_at).days >= referral.report_interval_days
            )
        ):
            owed.append("report")
        if referral.partner_id and referral.followup_done_at is None and _is_physician(referral):
            owed.append("followup")
    return {
        "referral": referral,
        "events": referral_events(practice=practice, referral=referral),
        "links": [link for link in links if link.is_usable],
        "disclosures": Disclosure.objects.for_practice(practice)
        .filter(referral=referral)
        .select_related("by", "consent"),
        "messages_sent": OutgoingMessage.objects.for_practice(practice).filter(referral=referral),
        "consent": referral_consent(referral, "talk") if referral.is_out else None,
        "report_consent": referral_consent(referral, "report")
        if referral.direction == Direction.IN
        else None,
        "owed": owed,
        "validity": referral.validity_warning(visits_used=visits_used, today=today),
        # What the page offers, as states.py decides it (the template holds no rule).
        "can_send": may_send(referral.status, referral.direction),
        "can_issue_link": may_issue_link(referral.status, referral.direction),
        "can_thank_care": referral.partner_id is not None
        and may_thank_for_care(referral.status, referral.direction),
    }


PHYSICIANS = {
    "primary-care-physician",
    "orthopedic-surgeon",
    "sports-medicine-physician",
    "neurologist",
    "dermatologist",
    "osteopath",
    "psychiatrist",
    "obstetrician-gynecologist",
    "fertility-specialist",
}


def _is_physician(referral: Referral) -> bool:
    return any(p.slug in PHYSICIANS for p in referral.partner.professions.all())
