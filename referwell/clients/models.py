"""Clients (health information), their visits and their consents to share."""

from __future__ import annotations

import datetime as dt

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
    REPORT = "report", "Send a written report"
    RECORDS = "records", "Share records"


# A wider scope covers the narrower ones: records ⊃ report ⊃ talk.
SCOPE_RANK = {ConsentScope.TALK: 1, ConsentScope.REPORT: 2, ConsentScope.RECORDS: 3}


class Consent(TenantModel):
    """A client's permission to communicate: with whom, what, until when; revocable."""

    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="consents")
    partner = models.ForeignKey(
        "directory.Partner", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    profession = models.ForeignKey(
        "directory.Profession", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    scope = models.CharField(max_length=20, choices=ConsentScope.choices)
    purpose = models.CharField(max_length=200, blank=True)
    given_on = models.DateField(default=dt.date.today)
    expires_on = models.DateField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-given_on", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(partner__isnull=False) | models.Q(profession__isnull=False),
                name="consent_names_partner_or_profession",
            )
        ]

    def __str__(self) -> str:
        whom = self.partner or self.profession
        return f"{self.client}: {self.get_scope_display()} with {whom}"

    def is_active(self, on: dt.date | None = None) -> bool:
        on = on or timezone.localdate()
        return (
            self.revoked_at is None
            and self.given_on <= on
            and (self.expires_on is None or self.expires_on >= on)
        )

    def covers_scope(self, scope: str) -> bool:
        return SCOPE_RANK[self.scope] >= SCOPE_RANK[scope]
