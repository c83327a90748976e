from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from referwell.accounts.models import Practice, User
from referwell.audit.services import log_action
from referwell.clients.models import Client, Stream
from referwell.clients.services import client_create
from referwell.directory.models import Partner
from referwell.inbound.models import ReferralRequest, RequestStatus, hash_ip

# The model fields a public form may fill; anything else in `fields` is refused.
RECEIVED_FIELDS = frozenset(
    {
        "referrer_name",
        "referrer_organization",
        "referrer_email",
        "referrer_phone",
        "client_first_name",
        "client_last_name",
        "client_phone",
        "client_email",
        "reason",
        "client_agreed_to_be_contacted",
    }
)


@transaction.atomic
def request_receive(
    *, practice: Practice, partner: Partner | None, fields: dict[str, Any], ip: str
) -> ReferralRequest:
    """Store a request sent through a public referral page, pending review."""
    unknown = set(fields) - RECEIVED_FIELDS
    if unknown:
        raise ValueError(f"Not a field of a referral request: {sorted(unknown)}")
    if partner is not None and partner.practice_id != practice.pk:
        raise ValidationError({"partner": "Not found in this practice."})
    request = ReferralRequest(practice=practice, partner=partner, ip_hash=hash_ip(ip), **fields)
    request.full_clean(exclude=["practice", "partner"])
    request.save()
    log_action(
        practice=practice,
        actor=None,
        action="referwell.inbound.received",
        obj=request,
        data={"partner": partner.pk if partner else None},
    )
    return request


def _lock_pending(request: ReferralRequest) -> ReferralRequest:
    """The row again, locked, so two members reviewing at once cannot both act on it."""
    locked = ReferralRequest.objects.select_for_update().get(pk=request.pk)
    if locked.status != RequestStatus.PENDING:
        raise ValidationError("This request has already been reviewed.")
    return locked


@transaction.atomic
def request_accept(*, request: ReferralRequest, by: User) -> Client:
    """Make the client (which records the referral in, credited to the partner) and link it."""
    request = _lock_pending(request)
    partner = request.partner
    fields: dict[str, Any] = {
        "first_name": request.client_first_name,
        "last_name": request.client_last_name,
        "phone": request.client_phone,
        "email": request.client_email,
        "stream": Stream.MEDICAL if partner else Stream.BUSINESS,
        "source_partner": partner,
        "source_name": "" if partner else request.referrer_label[:200],
        "complaints": request.reason,
    }
    client = client_create(practice=request.practice, by=by, fields=fields)
    request.status = RequestStatus.ACCEPTED
    request.client = client
    request.reviewed_by = by
    request.reviewed_at = timezone.now()
    request.save(update_fields=["status", "client", "reviewed_by", "reviewed_at", "updated_at"])
    log_action(
        practice=request.practice,
        actor=by,
        action="referwell.inbound.accepted",
        obj=request,
        data={"client": client.pk},
    )
    return client


@transaction.atomic
def request_reject(*, request: ReferralRequest, by: User) -> ReferralRequest:
    request = _lock_pending(request)
    request.status = RequestStatus.REJECTED
    request.reviewed_by = by
    request.reviewed_at = timezone.now()
    request.save(update_fields=["status", "reviewed_by", "reviewed_at", "updated_at"])
    log_action(
        practice=request.practice, actor=by, action="referwell.inbound.rejected", obj=request
    )
    return request
