"""The tenant (Practice), the people who log in (User, Member) and their API tokens."""

from __future__ import annotations

import hashlib
import secrets
from typing import ClassVar

from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.db import models
from django.utils import timezone


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def _create(self, email: str, password: str | None, **extra: object) -> User:
        if not email:
            raise ValueError("An e-mail address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra: object) -> User:
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra: object) -> User:
        extra["is_staff"] = True
        extra["is_superuser"] = True
        return self._create(email, password, **extra)


class User(AbstractUser):
    """A person who logs in with an e-mail address."""

    username = None  # type: ignore[assignment]
    email = models.EmailField("e-mail address", unique=True)

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    # The stubs type AbstractUser.objects as Django's username manager; Django lets a custom
    # user model replace it, as this one does (e-mail addresses, no username).
    objects: ClassVar[UserManager] = UserManager()  # type: ignore[assignment]

    def __str__(self) -> str:
        return self.get_full_name() or self.email


class Practice(models.Model):
    """One therapist's business or one clinic: the tenant everything else belongs to."""

    slug = models.SlugField(unique=True)
    name = models.CharField(max_length=200)
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=40, blank=True)
    street = models.CharField(max_length=200, blank=True)
    city = models.CharField(max_length=100, blank=True)
    state = models.CharField(max_length=2, blank=True)
    zip_code = models.CharField("ZIP code", max_length=10, blank=True)
    modalities = models.CharField(
        max_length=300,
        blank=True,
        default="Swedish, deep tissue, relaxation, sports massage, prenatal massage, trigger point",
        help_text="Massage modalities the practice offers, comma-separated.",
    )
    cadence = models.JSONField(
        default=dict,
        blank=True,
        help_text="Overrides of the cadence rules: {rule: {ideal: days, max: days, on: bool}}.",
    )
    no_response_business_days = models.PositiveSmallIntegerField(
        default=5, help_text="Business days without an answer before a referral is 'no response'."
    )
    treats = models.TextField(
        blank=True, help_text="What the practice treats, for the public referral page."
    )
    does_not_treat = models.TextField(blank=True, help_text="What it does not treat.")
    how_to_refer = models.TextField(blank=True, help_text="How professionals can refer a client.")
    require_two_factor = models.BooleanField(
        default=False,
        help_text="Every member must log in with a code from an authenticator app.",
    )
    paper_size = models.CharField(
        "paper for letters",
        max_length=6,
        choices=[("letter", "US Letter"), ("a4", "A4")],
        default="letter",
        help_text="The page size of the letters' PDFs.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name

    @property
    def address(self) -> str:
        place = " ".join(x for x in (self.city, self.state, self.zip_code) if x)
        return ", ".join(x for x in (self.street, place) if x)

    @property
    def modality_list(self) -> tuple[str, ...]:
        return tuple(m.strip().lower() for m in self.modalities.split(",") if m.strip())


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    THERAPIST = "therapist", "Therapist"
    FRONT_DESK = "front_desk", "Front desk"


class MemberQuerySet(models.QuerySet["Member"]):
    def active(self) -> MemberQuerySet:
        """Members who work in the practice: accepted, not removed, with an active account."""
        return self.filter(is_active=True, user__is_active=True, accepted_at__isnull=False)

    def invited(self) -> MemberQuerySet:
        """Invitations the person has not answered yet: they give no access to anything."""
        return self.filter(is_active=True, user__is_active=True, accepted_at__isnull=True)


class Member(models.Model):
    """A user's membership of one practice, with a role.

    Membership is given, not taken: an owner's invitation makes a row with no `accepted_at`,
    which opens nothing until the person accepts it while logged in (accounts.services
    .invitation_accept). Rows made by the operator (create-practice, demo) are accepted."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    practice = models.ForeignKey(Practice, on_delete=models.CASCADE, related_name="members")
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.THERAPIST)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    accepted_at = models.DateTimeField(
        null=True, blank=True, help_text="When the person accepted; empty while invited."
    )
    # What the member is told by e-mail (through the outbox); each member sets their own.
    notify_answers = models.BooleanField(
        "e-mail me when a partner answers a referral I sent", default=True
    )
    notify_inbound = models.BooleanField(
        "e-mail me when a referral arrives through the practice's public page", default=True
    )
    # The dashboard's "Since you last looked": what partners answered and what arrived after
    # this moment, until the member marks it seen again (empty: the last 14 days).
    seen_news_at = models.DateTimeField(
        "news marked seen at",
        null=True,
        blank=True,
        help_text="When the member last marked the dashboard's news seen.",
    )

    objects = MemberQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "practice"], name="member_unique_user_practice")
        ]

    def __str__(self) -> str:
        return f"{self.user} ({self.get_role_display()}, {self.practice})"

    @property
    def is_accepted(self) -> bool:
        return self.accepted_at is not None

    @property
    def is_owner(self) -> bool:
        return self.role == Role.OWNER

    @property
    def sees_clinical(self) -> bool:
        """Front desk sees schedules and contact details, not clinical notes."""
        return self.role != Role.FRONT_DESK

    @property
    def sees_disclosures(self) -> bool:
        """Who received what about a client (the accounting of disclosures): the one rule for
        the client page, the referral page, the disclosures page and the API. Not the front
        desk."""
        return self.sees_clinical


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class ApiToken(models.Model):
    """A member's API token; only its SHA-256 is stored, the token is shown once."""

    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100, default="API token")
    token_hash = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=8)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.member})"

    @classmethod
    def issue(cls, *, member: Member, name: str = "API token") -> tuple[ApiToken, str]:
        token = "rw_" + secrets.token_urlsafe(32)
        row = cls.objects.create(
            member=member, name=name, token_hash=hash_token(token), prefix=token[3:11]
        )
        return row, token

    def revoke(self) -> None:
        self.revoked_at = timezone.now()
        self.save(update_fields=["revoked_at"])


class DataChange(models.Model):
    """A change to a partner (or its professions and niches), touchpoint, client, referral or
    contact plan of the practice, one row each, written in the change's own transaction: the
    practice's latest id is its data version (`accounts.selectors.data_version`), and what is
    kept of the practice's data (accounts/kept.py: Today's list, the dashboard, the guidance
    facts) is good while it has not moved. Rows are only ever added (and the old ones pruned),
    so no change waits on a lock for another."""

    practice = models.ForeignKey(Practice, on_delete=models.CASCADE, related_name="+")

    class Meta:
        indexes = [models.Index(fields=["practice", "id"], name="data_change_latest")]

    def __str__(self) -> str:
        return f"change {self.pk} of practice {self.practice_id}"
