"""Reads about accounts: who has two-factor, who must have it."""

from __future__ import annotations

from django.db.models import Exists, OuterRef
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from referwell.accounts.models import DataChange, Member, Practice, User


def user_has_two_factor(user: User) -> bool:
    """Two-factor is on when the user has a confirmed authenticator (the recovery codes come
    with it)."""
    has: bool = TOTPDevice.objects.filter(user=user, confirmed=True).exists()
    return has


def two_factor_required_for(user: User) -> bool:
    """A member of any practice that requires two-factor must have it."""
    return Member.objects.active().filter(user=user, practice__require_two_factor=True).exists()


def two_factor_state(user: User) -> tuple[bool, bool]:
    """(has two-factor, must have it), in one query: asked on every request until verified."""
    row = (
        User.objects.filter(pk=user.pk)
        .annotate(
            has=Exists(TOTPDevice.objects.filter(user=OuterRef("pk"), confirmed=True)),
            required=Exists(
                Member.objects.active().filter(
                    user=OuterRef("pk"), practice__require_two_factor=True
                )
            ),
        )
        .values_list("has", "required")
        .first()
    )
    return (bool(row[0]), bool(row[1])) if row else (False, False)


def recovery_codes_left(user: User) -> int:
    device = StaticDevice.objects.filter(user=user, confirmed=True).first()
    return device.token_set.count() if device is not None else 0


def member_list_with_two_factor(*, practice: Practice) -> list[tuple[Member, bool]]:
    members = list(
        Member.objects.active().filter(practice=practice).select_related("user").order_by("id")
    )
    with_device = set(
        TOTPDevice.objects.filter(
            confirmed=True, user__in=[m.user_id for m in members]
        ).values_list("user_id", flat=True)
    )
    return [(m, m.user_id in with_device) for m in members]


def data_version(*, practice_id: int) -> int:
    """The practice's data version (see accounts.models.DataChange): one index seek."""
    latest = (
        DataChange.objects.filter(practice_id=practice_id)
        .order_by("-id")
        .values_list("id", flat=True)
        .first()
    )
    return latest or 0
