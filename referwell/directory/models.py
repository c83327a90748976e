"""The network: professions (from the knowledge base), partners, niches and touchpoints."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models

from referwell.core.models import TenantModel
from referwell.core.validators import validate_npi, validate_us_zip


class Profession(models.Model):
    """A kind of professional; rows are synced from referwell/guidance/data/professions.json."""

    slug = models.SlugField(primary_key=True, max_length=50)
    name = models.CharField(max_length=100)
    nucc_codes = models.JSONField(default=list, blank=True)
    summary = models.TextField(blank=True)
    is_provider = models.BooleanField(
        default=True, help_text="False for places such as emergency care, never ranked."
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Stage(models.TextChoices):
    PROSPECT = "prospect", "Prospect"
    RESEARCHED = "researched", "Researched"
    CONTACTED = "contacted", "Contacted"
    MET = "met", "Met"
    TRUSTED = "trusted", "Trusted"
    NOT_A_FIT = "not_a_fit", "Not a fit"


class HowMet(models.TextChoices):
    CLIENT = "client", "A client's recommendation"
    COLLEAGUE = "colleague", "A colleague's recommendation"
    EVENT = "event", "An event"
    WEB = "web", "A web search"
    REGISTRY = "registry", "The public registry"
    REFERRED_TO_US = "referred_to_us", "They referred a client to us"
    OTHER = "other", "Other"


class Niche(TenantModel):
    """A focused market the practice serves (endurance runners, fertility, office workers)."""

    name = models.CharField(max_length=100)
    description = models.TextField(blank=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["practice", "name"], name="niche_unique_name")
        ]

    def __str__(self) -> str:
        return self.name


def new_referral_code() -> str:
    return secrets.token_urlsafe(9)


class Partner(TenantModel):
    """A professional in the network, or a prospect not met yet."""

    name = models.CharField(max_length=200)
    credentials = models.CharField(max_length=100, blank=True, help_text="DC, PT, MD, LMT…")
    professions = models.ManyToManyField(Profession, related_name="partners")
    specialties = models.CharField(
        max_length=300, blank=True, help_text="Specialties or massage modalities, comma-separated."
    )
    clinic = models.CharField(max_length=200, blank=True)
    street = models.CharField(max_length=200, blank=True)
    city = models.CharField(max_length=100, blank=True)
    state = models.CharField(max_length=2, blank=True)
    zip_code = models.CharField("ZIP code", max_length=10, blank=True, validators=[validate_us_zip])
    latitude = models.FloatField(null=True, blank=True, editable=False)
    longitude = models.FloatField(null=True, blank=True, editable=False)
    phone = models.CharField(max_length=40, blank=True)
    email = models.EmailField(blank=True)
    website = models.URLField(blank=True)
    npi = models.CharField("NPI", max_length=10, blank=True, validators=[validate_npi])
    languages = models.CharField(max_length=200, blank=True, help_text="Comma-separated.")
    insurance_accepted = models.CharField(
        max_length=300, blank=True, help_text="Plans or programs, comma-separated."
    )
    niches = models.ManyToManyField(Niche, blank=True, related_name="partners")
    how_met = models.CharField(max_length=20, choices=HowMet.choices, blank=True)
    how_met_detail = models.CharField(max_length=200, blank=True)
    stage = models.CharField(max_length=20, choices=Stage.choices, default=Stage.PROSPECT)
    not_a_fit_reason = models.TextField(blank=True)
    # Vetting checklist (article 003): what a careful therapist checks before trusting.
    website_reviewed = models.BooleanField(default=False)
    values_fit = models.BooleanField("Values and philosophy fit", default=False)
    would_send_mother = models.BooleanField("I would send my mother there", default=False)
    visited_as_client = models.BooleanField("I have been treated there", default=False)
    billing_concerns = models.TextField(
        blank=True, help_text="Over-treatment or billing worries, if any."
    )
    vetting_notes = models.TextField(blank=True)
    referral_code = models.CharField(
        max_length=16,
        unique=True,
        default=new_referral_code,
        editable=False,
        help_text="Names the partner's public referral page.",
    )
    fhir_identifier = models.CharField(max_length=200, blank=True, db_index=True)

    # Not stored: set on the partners a search returns. How far they are from the ZIP code
    # asked (selectors.partner_list), why they look like a duplicate (find_duplicates).
    distance_miles: float | None = None
    duplicate_reason: str = ""

    class Meta:
        ordering = ["name"]
        indexes = [
            models.Index(fields=["practice", "stage"]),
            models.Index(fields=["practice", "name"]),
            models.Index(fields=["practice", "zip_code"]),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def vetting_done(self) -> int:
        return sum(
            [
                self.website_reviewed,
                self.values_fit,
                self.would_send_mother,
                self.visited_as_client,
            ]
        )


class TouchpointKind(models.TextChoices):
    MEETING = "meeting", "Meeting"
    CALL = "call", "Phone call"
    EMAIL = "email", "E-mail"
    LETTER = "letter", "Letter"
    THANK_YOU = "thank_you", "Thank-you note"
    OFFICE_VISIT = "office_visit", "Office visit"
    GIFT = "gift", "Gift"
    DEMO_MASSAGE = "demo_massage", "Demo massage"
    EVENT = "event", "Event"
    OTHER = "other", "Other"


class Outcome(models.TextChoices):
    """What became of a due item of the Today list (article 002's upkeep, kept as touchpoints)."""

    DONE = "done", "Done"
    SNOOZED = "snoozed", "Snoozed"
    SKIPPED = "skipped", "Skipped"


class Touchpoint(TenantModel):
    """Any contact with a partner."""

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="touchpoints")
    kind = models.CharField(max_length=20, choices=TouchpointKind.choices)
    date = models.DateField()
    note = models.TextField(blank=True)
    # Set when the touchpoint answers an item of the Today list.
    cadence_key = models.CharField(max_length=60, blank=True, db_index=True)
    outcome = models.CharField(max_length=10, choices=Outcome.choices, blank=True)
    snooze_until = models.DateField(null=True, blank=True)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-date", "-id"]
        indexes = [
            models.Index(fields=["practice", "partner", "date"]),
            # Today: the last office visit and gift per partner.
            models.Index(fields=["practice", "kind", "partner", "date"]),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} with {self.partner} on {self.date}"
