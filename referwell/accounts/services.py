from __future__ import annotations

from django.db import transaction
from django.utils.text import slugify

from referwell.accounts.models import ApiToken, Member, Practice, Role, User
from referwell.audit.services import log_action


class AccountError(ValueError):
    """Bad input for an account operation; the message is for a person."""


@transaction.atomic
def member_add(
    *,
    practice: Practice,
    email: str,
    password: str | None,
    role: str,
    first_name: str = "",
    last_name: str = "",
    by: User | None = None,
) -> Member:
    if role not in Role.values:
        raise AccountError(f"Unknown role '{role}'; use one of: {', '.join(Role.values)}.")
    email = email.strip().lower()
    user = User.objects.filter(email=email).first()
    if user is None:
        user = User.objects.create_user(
            email=email, password=password, first_name=first_name, last_name=last_name
        )
    member, _ = Member.objects.update_or_create(
        user=user, practice=practice, defaults={"role": role, "is_active": True}
    )
    log_action(
        practice=practice,
        actor=by,
        action="referwell.member.added",
        obj=member,
        data={"role": role},
    )
    return member


@transaction.atomic
def practice_create(
    *, slug: str, name: str, owner_email: str, password: str, owner_first_name: str = ""
) -> Practice:
    if slugify(slug) != slug or not slug:
        raise AccountError(f"'{slug}' is not a valid slug (lowercase letters, digits, hyphens).")
    if Practice.objects.filter(slug=slug).exists():
        raise AccountError(f"A practice with the slug '{slug}' already exists.")
    if not name.strip():
        raise AccountError("The practice needs a name.")
    if len(password) < 8:
        raise AccountError("The password must have at least 8 characters.")
    practice = Practice.objects.create(slug=slug, name=name.strip())
    member_add(
        practice=practice,
        email=owner_email,
        password=password,
        role=Role.OWNER,
        first_name=owner_first_name,
    )
    log_action(practice=practice, actor=None, action="referwell.practice.created", obj=practice)
    return practice


def member_get_by_email(*, practice_slug: str, email: str) -> Member:
    member = (
        Member.objects.active()
        .select_related("practice", "user")
        .filter(practice__slug=practice_slug, user__email=email.strip().lower())
        .first()
    )
    if member is None:
        raise AccountError(f"No active member {email} in practice '{practice_slug}'.")
    return member


@transaction.atomic
def token_issue(*, practice_slug: str, email: str, name: str = "API token") -> str:
    member = member_get_by_email(practice_slug=practice_slug, email=email)
    row, token = ApiToken.issue(member=member, name=name)
    log_action(
        practice=member.practice,
        actor=member.user,
        action="referwell.api_token.issued",
        obj=row,
        data={"prefix": row.prefix},
    )
    return token
