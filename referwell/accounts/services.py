from __future__ import annotations

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.text import slugify
from django_otp.models import Device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from referwell.accounts.models import ApiToken, Member, Practice, Role, User
from referwell.accounts.security import client_ip, log_auth
from referwell.audit.services import log_action
from referwell.core.mail import queue_email


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
    """The operator's way in (create-practice, the demo): an accepted membership, with an
    account made for the address if it has none. Owners invite instead (member_invite)."""
    if role not in Role.values:
        raise AccountError(f"Unknown role '{role}'; use one of: {', '.join(Role.values)}.")
    email = email.strip().lower()
    user = User.objects.filter(email=email).first()
    if user is None:
        user = User.objects.create_user(
            email=email, password=password, first_name=first_name, last_name=last_name
        )
    member, _ = Member.objects.update_or_create(
        user=user,
        practice=practice,
        defaults={"role": role, "is_active": True, "accepted_at": timezone.now()},
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


# --- Two-factor login (django-otp: an authenticator app, plus one-time recovery codes) ----------

RECOVERY_CODE_COUNT = 10
TOTP_DEVICE_NAME = "Authenticator app"
RECOVERY_DEVICE_NAME = "Recovery codes"


def totp_device_pending(*, user: User) -> TOTPDevice:
    """The authenticator being set up: unconfirmed until the user types a code from it."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-id").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=TOTP_DEVICE_NAME, confirmed=False)
    return device


def _new_recovery_codes(*, user: User) -> list[str]:
    device, _ = StaticDevice.objects.get_or_create(
        user=user, name=RECOVERY_DEVICE_NAME, defaults={"confirmed": True}
    )
    device.token_set.all().delete()
    codes = [StaticToken.random_token() for _ in range(RECOVERY_CODE_COUNT)]
    StaticToken.objects.bulk_create(StaticToken(device=device, token=c) for c in codes)
    return codes


def normalize_code(code: str) -> str:
    return "".join(code.split()).replace("-", "").lower()


@transaction.atomic
def two_factor_confirm(
    *, user: User, device: TOTPDevice, code: str, request: HttpRequest | None = None
) -> list[str] | None:
    """Turn two-factor on if `code` comes from the device being set up; returns the new
    recovery codes (to show once), or None for a wrong code."""
    if (
        device.user_id != user.pk
        or device.confirmed
        or not device.verify_token(normalize_code(code))
    ):
        return None
    TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    codes = _new_recovery_codes(user=user)
    log_auth(user=user, action="referwell.auth.2fa_enabled", request=request)
    return codes


@transaction.atomic
def recovery_codes_regenerate(*, user: User, request: HttpRequest | None = None) -> list[str]:
    codes = _new_recovery_codes(user=user)
    log_auth(user=user, action="referwell.auth.recovery_codes_regenerated", request=request)
    return codes


@transaction.atomic
def two_factor_disable(*, user: User, request: HttpRequest | None = None) -> None:
    TOTPDevice.objects.filter(user=user).delete()
    StaticDevice.objects.filter(user=user).delete()
    log_auth(user=user, action="referwell.auth.2fa_disabled", request=request)


def two_factor_check(*, user: User, code: str, request: HttpRequest | None = None) -> Device | None:
    """The confirmed device that accepts `code`: six digits are checked against the
    authenticator, anything else against the recovery codes (each works once)."""
    code = normalize_code(code)
    if not code:
        return None
    device: Device | None
    if code.isdigit():
        device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    else:
        device = StaticDevice.objects.filter(user=user, confirmed=True).first()
    if device is None:
        return None
    with transaction.atomic():
        if not device.verify_token(code):
            return None
    if isinstance(device, StaticDevice):
        log_auth(
            user=user,
            action="referwell.auth.recovery_code_used",
            request=request,
            data={"remaining": device.token_set.count()},
        )
    return device


@transaction.atomic
def practice_require_two_factor_set(
    *, practice: Practice, required: bool, by: User, request: HttpRequest | None = None
) -> None:
    if practice.require_two_factor == required:
        return
    practice.require_two_factor = required
    practice.save(update_fields=["require_two_factor"])
    log_action(
        practice=practice,
        actor=by,
        action="referwell.practice.2fa_required" if required else "referwell.practice.2fa_optional",
        obj=practice,
        ip_address=client_ip(request),
    )


def _active_owners(practice: Practice) -> int:
    return Member.objects.active().filter(practice=practice, role=Role.OWNER).count()


@transaction.atomic
def member_invite(
    *,
    practice: Practice,
    email: str,
    role: str,
    by: User,
    request: HttpRequest,
) -> Member:
    """Invite someone to the practice. The invitation opens nothing until the person, logged
    in, accepts it (invitation_accept); until then the practice sees only the address it typed
    and "invited". A new account is made without a password or a name (the person chooses
    both: the password through the link in the e-mail, Django's password-reset token valid as
    long as PASSWORD_RESET_TIMEOUT; the name when accepting), so no practice names a person's
    account for them."""
    from django.contrib.auth.tokens import default_token_generator
    from django.template.loader import render_to_string
    from django.urls import reverse
    from django.utils.encoding import force_bytes
    from django.utils.http import urlsafe_base64_encode

    if role not in Role.values:
        raise AccountError(f"Unknown role '{role}'; use one of: {', '.join(Role.values)}.")
    email = email.strip().lower()
    existing = Member.objects.filter(practice=practice, user__email=email).first()
    if existing is not None and existing.is_active:
        if existing.is_accepted:
            raise AccountError(f"{email} is already a member of {practice.name}.")
        raise AccountError(f"{email} has already been invited; the invitation is waiting.")
    user = User.objects.filter(email=email).first()
    if user is None:
        user = User.objects.create_user(email=email, password=None)
    member, _ = Member.objects.update_or_create(
        user=user,
        practice=practice,
        defaults={"role": role, "is_active": True, "accepted_at": None},
    )
    log_action(
        practice=practice,
        actor=by,
        action="referwell.member.invited",
        obj=member,
        data={"role": role},
    )
    link = ""
    if not user.has_usable_password():
        path = reverse(
            "password_reset_confirm",
            kwargs={
                "uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
                "token": default_token_generator.make_token(user),
            },
        )
        link = request.build_absolute_uri(path)
    context = {
        "practice": practice,
        "by": by,
        "member": member,
        "link": link,
        "invitations_url": request.build_absolute_uri(reverse("invitations")),
    }
    queue_email(
        f"An invitation to join {practice.name} on Referwell",
        render_to_string("accounts/member_invitation.txt", context),
        [email],
    )
    return member


def invitations_of(*, user: User) -> list[Member]:
    return list(
        Member.objects.invited().filter(user=user).select_related("practice").order_by("id")
    )


def _open_invitation(*, user: User, member_id: int) -> Member:
    """The user's own invitation, still unanswered, locked for the answer."""
    member = (
        Member.objects.invited()
        .select_for_update()
        .filter(user=user, pk=member_id)
        .select_related("practice")
        .first()
    )
    if member is None:
        raise AccountError("This invitation is no longer open.")
    return member


@transaction.atomic
def invitation_accept(
    *,
    user: User,
    member_id: int,
    first_name: str = "",
    last_name: str = "",
    request: HttpRequest | None = None,
) -> Member:
    """The invited person, logged in, joins the practice. A name is taken only from them (and
    only when their account has none yet)."""
    member = _open_invitation(user=user, member_id=member_id)
    if not (user.first_name or user.last_name) and (first_name.strip() or last_name.strip()):
        user.first_name, user.last_name = first_name.strip()[:150], last_name.strip()[:150]
        user.save(update_fields=["first_name", "last_name"])
    member.accepted_at = timezone.now()
    member.save(update_fields=["accepted_at"])
    log_action(
        practice=member.practice,
        actor=user,
        action="referwell.member.accepted",
        obj=member,
        ip_address=client_ip(request),
    )
    return member


@transaction.atomic
def invitation_decline(*, user: User, member_id: int, request: HttpRequest | None = None) -> None:
    member = _open_invitation(user=user, member_id=member_id)
    log_action(  # no actor: the practice learns no name of someone who said no
        practice=member.practice,
        actor=None,
        action="referwell.member.declined",
        obj=member,
        ip_address=client_ip(request),
    )
    member.delete()


@transaction.atomic
def member_change(
    *, member: Member, by: User, role: str | None = None, active: bool | None = None
) -> Member:
    """Change a member's role, or remove (deactivate) them; the practice keeps an owner. An
    invitation not yet answered is withdrawn (deleted) on removal, and cannot be restored."""
    member = Member.objects.select_for_update().get(pk=member.pk)
    if not member.is_accepted:
        if active is False:
            log_action(
                practice=member.practice,
                actor=by,
                action="referwell.member.invitation_withdrawn",
                obj=member,
            )
            member.delete()
            return member
        if active is True:
            raise AccountError("Invite them again instead: the invitation was withdrawn.")
    if role is not None and role not in Role.values:
        raise AccountError(f"Unknown role '{role}'.")
    stays_owner = (role or member.role) == Role.OWNER and (
        member.is_active if active is None else active
    )
    if member.role == Role.OWNER and member.is_active and not stays_owner:
        if _active_owners(member.practice) <= 1:
            raise AccountError("A practice needs an owner: make someone else an owner first.")
    changes: dict[str, object] = {}
    if role is not None and role != member.role:
        changes["role"] = [member.role, role]
        member.role = role
    if active is not None and active != member.is_active:
        changes["active"] = active
        member.is_active = active
    if changes:
        member.save(update_fields=["role", "is_active"])
        if active is False:
            # A removed member's API tokens stop working at once.
            ApiToken.objects.filter(member=member, revoked_at__isnull=True).update(
                revoked_at=timezone.now()
            )
        log_action(
            practice=member.practice,
            actor=by,
            action="referwell.member.removed" if active is False else "referwell.member.changed",
            obj=member,
            data=changes,
        )
    return member


def _two_factor_clear(*, user: User, by: User | None, via: str) -> None:
    """Delete the user's authenticator and recovery codes (they serve every practice), and
    record it in every practice the user works in."""
    TOTPDevice.objects.filter(user=user).delete()
    StaticDevice.objects.filter(user=user).delete()
    for m in Member.objects.active().filter(user=user).select_related("practice").order_by("id"):
        log_action(
            practice=m.practice,
            actor=by,
            action="referwell.member.2fa_reset",
            obj=m,
            data={"by": via},
        )


@transaction.atomic
def member_two_factor_reset(*, member: Member, by: User) -> None:
    """An owner clears a member's lost authenticator: the member sets it up again at the next
    login (and must, if the practice requires it). The authenticator belongs to the person,
    not to the practice: an owner may clear it only when every practice the person works in
    is the owner's own; otherwise the server's operator does (`referwell reset-two-factor`)."""
    member = Member.objects.select_related("user").get(pk=member.pk)
    if not (member.is_active and member.is_accepted):
        raise AccountError("Only a member who has joined the practice can have two-factor reset.")
    elsewhere = Member.objects.active().filter(user=member.user).exclude(practice=member.practice)
    if elsewhere.exists():
        raise AccountError(
            f"{member.user} also works in another practice on Referwell, so their two-factor "
            "login cannot be reset from here. They can log in with a recovery code, or the "
            "server's operator can reset it (referwell reset-two-factor)."
        )
    _two_factor_clear(user=member.user, by=by, via="owner")


@transaction.atomic
def user_two_factor_reset(*, email: str) -> User:
    """The operator's reset (the command line), for any account."""
    user = User.objects.filter(email=email.strip().lower()).first()
    if user is None:
        raise AccountError(f"No account with the e-mail address {email}.")
    _two_factor_clear(user=user, by=None, via="operator")
    return user
