"""Clients (health information), their visits and their consents to share."""

from __future__ import annotations

import datetime as dt
import hashlib

from django.db import models
from django.utils import timezone

from referwell.core.crypto import EncryptedTextField
from referwell.core.models import TenantModel
from referwell.core.validators import validate_birth_date, validate_us_zip


class Stream(models.TextChoices):
    """Where new clients come from (article 003's four streams, plus walk-in / web)."""

    CURRENT_CLIENTS = "current_clients", "Current clients"
    PEOPLE_YOU_KNOW = "people_you_know", "People you know"
    MEDICAL = "medical", "Medical professionals"
    BUSINESS = "business", "Business professionals"
    WALK_IN_WEB = "walk_in_web", "Walk-in / web"


class Client(TenantModel):
    first_name = models.CharField(max_length=100)
    last_name = models.CharField(max_length=100)
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=40, blank=True)
    date_of_birth = models.DateField(null=True, blank=True, validators=[validate_birth_date])
    zip_code = models.CharField("ZIP code", max_length=10, blank=True, validators=[validate_us_zip])
    insurance = models.CharField(
        max_length=100, blank=True, help_text="Plan or program, e.g. workers' compensation."
    )
    # Intake
    complaints = EncryptedTextField("Main complaints", blank=True)
    goals = EncryptedTextField(blank=True)
    history = EncryptedTextField("Health history", blank=True)
    notes = EncryptedTextField("Intake notes", blank=True, help_text="What the client told you.")
    # How they found the practice
    stream = models.CharField(max_length=20, choices=Stream.choices, blank=True)
    source_partner = models.ForeignKey(
        "directory.Partner",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="referred_clients",
    )
    source_client = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="referred_clients"
    )
    source_name = models.CharField(
        "Referred by (someone else)",
        max_length=200,
        blank=True,
        help_text="A friend, a business… when not a partner or a client.",
    )
    first_seen = models.DateField(null=True, blank=True)
    needs_assessment_on = models.DateField(
        "Needs-assessment session on",
        null=True,
        blank=True,
        help_text="The day of the session where the client's needs are assessed: referral talk "
        "waits that day (red flags excepted).",
    )
    may_tell_referrer = models.BooleanField(
        "The person who referred them may know they came",
        default=False,
        help_text="Never tell a referrer that someone became a client without this.",
    )

    class Meta:
        ordering = ["last_name", "first_name"]
        indexes = [
            models.Index(fields=["practice", "last_name", "first_name"]),
            # The client list's stream filter; the dashboard's new clients of the year by stream.
            models.Index(fields=["practice", "stream"]),
            models.Index(fields=["practice", "first_seen", "stream"]),
        ]

    def __str__(self) -> str:
        return f"{self.first_name} {self.last_name}"

    @property
    def full_name(self) -> str:
        return str(self)


class Payer(models.TextChoices):
    CLIENT = "client", "The client"
    HEALTH_INSURANCE = "health", "Health insurance"
    MOTOR_VEHICLE = "mvc", "Motor-vehicle collision insurance"
    WORKERS_COMP = "workers_comp", "Workers' compensation"
    OTHER = "other", "Other"


INSURANCE_PAYERS = (Payer.HEALTH_INSURANCE, Payer.MOTOR_VEHICLE, Payer.WORKERS_COMP)


class Visit(TenantModel):
    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="visits")
    date = models.DateField(default=dt.date.today)
    service = models.CharField(max_length=100, default="Massage, 60 minutes")
    fee = models.DecimalField(max_digits=8, decimal_places=2, default=0)
    payer = models.CharField(max_length=20, choices=Payer.choices, default=Payer.CLIENT)
    notes = EncryptedTextField(blank=True)

    class Meta:
        ordering = ["-date", "-id"]
        indexes = [
            models.Index(fields=["practice", "client", "date"]),
            # Covers the insights' aggregate of visits by date (no table lookups).
            models.Index(
                fields=["practice", "date", "client", "fee", "payer"], name="visit_insights_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.client} on {self.date}"


class ConsentScope(models.TextChoices):
    TALK = "talk", "Talk about the client"
    REPORT = "report", "Letters and reports in writing"
    RECORDS = "records", "Share records"


# A wider scope covers the narrower ones: records ⊃ report ⊃ talk. Keyed by the scopes, looked
# up by a consent's stored value (a str, equal to its ConsentScope).
SCOPE_RANK: dict[str, int] = {ConsentScope.TALK: 1, ConsentScope.REPORT: 2, ConsentScope.RECORDS: 3}

# What each scope allows, in plain words: for the therapist (the form, the client's page)…
SCOPE_ALLOWS: dict[str, str] = {
    ConsentScope.TALK: "Talk about the client by phone or in person. Nothing in writing: "
    "no referral letter, no progress report.",
    ConsentScope.REPORT: "Write about the client: the referral letter with its reason, "
    "progress reports. Talking is included.",
    ConsentScope.RECORDS: "Send copies of the client's records (intake, visit notes), as well "
    "as letters and reports. Talking is included.",
}
# …and for the client, who reads and signs it ("{whom}": the partner or the kind of
# professional).
SCOPE_FOR_CLIENT: dict[str, str] = {
    ConsentScope.TALK: "may talk with {whom} about you and your care, by phone or in person. "
    "Nothing about you is sent to them in writing.",
    ConsentScope.REPORT: "may write to {whom} about you: a referral letter with your name and "
    "the reason for it, and reports on how your treatment is going. They may also talk "
    "about you.",
    ConsentScope.RECORDS: "may send {whom} copies of your records (what you told us when you "
    "started and the notes of your visits), letters and reports about you, and talk about "
    "you.",
}


class SignedHow(models.TextChoices):
    TABLET = "tablet", "Signed on the practice's tablet or phone"
    LINK = "link", "Signed through the link e-mailed to the client"
    PAPER = "paper", "Signed on paper (the form was uploaded)"


class Consent(TenantModel):
    """A client's permission to communicate: with whom, what, until when; revocable.

    Recorded by the therapist, it counts at once; asked of the client to sign (on the practice's
    tablet or through a link), it counts once signed. The signed form (a PDF made at signing, or
    the paper form uploaded) is kept encrypted with it."""

    LINK_LIFETIME = dt.timedelta(days=30)

    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="consents")
    partner = models.ForeignKey(
        "directory.Partner", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    profession = models.ForeignKey(
        "directory.Profession", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    scope = models.CharField(max_length=20, choices=ConsentScope.choices)
    purpose = models.CharField(max_length=200, blank=True)
    # What the receiving office needs to find the client: only with this (a letter under the
    # consent gives them, when the client has them).
    share_contact_details = models.BooleanField(
        "They may have the client's date of birth and phone number, to find and book them",
        default=False,
    )
    given_on = models.DateField(default=dt.date.today)
    expires_on = models.DateField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by_client = models.BooleanField(default=False)
    # The client's signature: asked for (it does not count until given), how, when, by whom.
    awaiting_signature = models.BooleanField(default=False)
    signed_how = models.CharField(max_length=10, choices=SignedHow.choices, blank=True)
    signed_at = models.DateTimeField(null=True, blank=True)
    signed_name = models.CharField(max_length=200, blank=True)
    # The signed form, base64 of the file (PDF, JPEG or PNG), encrypted: never read by a list.
    signed_form = EncryptedTextField(blank=True)
    signed_form_type = models.CharField(max_length=40, blank=True)
    # The client's link (to sign, later to withdraw): random, stored hashed, expiring.
    link_hash = models.CharField(max_length=64, blank=True)
    link_expires_at = models.DateTimeField(null=True, blank=True)
    link_used_at = models.DateTimeField(null=True, blank=True)
    link_uses = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-given_on", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(partner__isnull=False) | models.Q(profession__isnull=False),
                name="consent_names_partner_or_profession",
                violation_error_message="Name the partner, or the kind of professional, the "
                "client agrees to share with.",
            ),
            models.UniqueConstraint(
                fields=["link_hash"],
                condition=~models.Q(link_hash=""),
                name="consent_link_hash_unique",
                violation_error_message="This link is already in use; send a new one.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.client}: {self.get_scope_display()} — {self.whom}"

    @property
    def whom(self) -> str:
        """The partner, or any professional of a kind."""
        if self.partner_id:
            return str(self.partner)
        return f"any {str(self.profession).lower()}" if self.profession_id else "—"

    @property
    def allows(self) -> str:
        """What the consent allows, in plain words, for the therapist."""
        return SCOPE_ALLOWS[self.scope]

    def agreement(self, practice_name: str | None = None) -> str:
        """What the client agrees to, in plain words, addressed to the client."""
        if self.partner_id:
            whom = str(self.partner)
        elif self.profession_id:
            whom = f"any {str(self.profession).lower()} the practice works with"
        else:
            whom = "the professional named"
        name = practice_name or self.practice.name
        text = f"{name} {SCOPE_FOR_CLIENT[self.scope].format(whom=whom)}"
        if self.share_contact_details:
            text += (
                f" {whom[:1].upper()}{whom[1:]} may also have your date of birth and phone "
                "number, to find you and book you."
            )
        return text

    @property
    def is_signed(self) -> bool:
        return bool(self.signed_how)

    def is_active(self, on: dt.date | None = None) -> bool:
        on = on or timezone.localdate()
        return (
            self.revoked_at is None
            and not self.awaiting_signature
            and self.given_on <= on
            and (self.expires_on is None or self.expires_on >= on)
        )

    def is_expired(self, on: dt.date | None = None) -> bool:
        on = on or timezone.localdate()
        return self.expires_on is not None and self.expires_on < on

    def covers_scope(self, scope: str) -> bool:
        return SCOPE_RANK[self.scope] >= SCOPE_RANK[scope]

    def link_is_usable(self) -> bool:
        return bool(self.link_hash) and (
            self.link_expires_at is not None and self.link_expires_at > timezone.now()
        )


def hash_consent_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
