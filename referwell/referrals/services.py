from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from referwell.accounts.models import Practice, User
from referwell.audit.services import log_action
from referwell.referrals.models import Referral, ReferralEvent
from referwell.referrals.states import Status, check_transition


def _check_same_practice(referral: Referral) -> None:
    for attr in ("client", "partner"):
        other = getattr(referral, attr)
        if other is not None and other.practice_id != referral.practice_id:
            raise ValidationError({attr: "Not found in this practice."})


@transaction.atomic
def referral_create(*, practice: Practice, by: User | None, fields: dict[str, Any]) -> Referral:
    referral = Referral(practice=practice, created_by=by, status=Status.DRAFT, **fields)
    _check_same_practice(referral)
    if referral.partner is None and referral.profession is None:
        raise ValidationError("Name a partner or at least a profession.")
    if referral.partner is not None and referral.profession is None:
        referral.profession = referral.partner.professions.first()
    referral.full_clean(exclude=["practice"])
    referral.save()
    ReferralEvent.objects.create(
        practice=practice, referral=referral, to_status=Status.DRAFT, at=timezone.now(), by=by
    )
    log_action(
        practice=practice,
        actor=by,
        action="referwell.referral.created",
        obj=referral,
        data={"direction": referral.direction},
    )
    return referral


@transaction.atomic
def referral_update(*, referral: Referral, by: User | None, fields: dict[str, Any]) -> Referral:
    for key, value in fields.items():
        setattr(referral, key, value)
    _check_same_practice(referral)
    referral.full_clean(exclude=["practice"])
    referral.save()
    log_action(
        practice=referral.practice,
        actor=by,
        action="referwell.referral.changed",
        obj=referral,
        data={"fields": sorted(fields)},
    )
    return referral


@transaction.atomic
def referral_transition(
    *, referral: Referral, to: str, by: User | None, note: str = "", at: Any = None
) -> Referral:
    """Move a referral to another status; raises TransitionError when the move is not allowed."""
    # Lock the row so two people cannot move the same referral at once.
    referral = Referral.objects.select_for_update().get(pk=referral.pk)
    check_transition(referral.status, to)
    at = at or timezone.now()
    ReferralEvent.objects.create(
        practice=referral.practice,
        referral=referral,
        from_status=referral.status,
        to_status=to,
        at=at,
        by=by,
        note=note,
    )
    referral.status = to
    if to == Status.SENT:
        referral.sent_at = at
    if to in (Status.CLOSED, Status.CANCELLED):
        referral.closed_at = at
    referral.save(update_fields=["status", "sent_at", "closed_at", "updated_at"])
    log_action(
        practice=referral.practice,
        actor=by,
        action=f"referwell.referral.{to.replace('-', '_')}",
        obj=referral,
    )
    return referral
