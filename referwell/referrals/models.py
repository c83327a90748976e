"""Referrals both ways and the timeline of their status changes."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from referwell.core.models import TenantModel
from referwell.referrals.states import FINAL, Status


class Direction(models.TextChoices):
    OUT = "out", "Out (we refer a client)"
    IN = "in", "In (a client is referred to us)"


class Referral(TenantModel):
    direction = models.CharField(max_length=3, choices=Direction.choices, default=Direction.OUT)
    client = models.ForeignKey("clients.Client", on_delete=models.CASCADE, related_name="referrals")
    partner = models.ForeignKey(
        "directory.Partner",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="referrals",
    )
    profession = models.ForeignKey(
        "directory.Profession",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="referrals",
    )
    reasons = models.TextField(help_text="Why this referral: the reason and relevant findings.")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.DRAFT)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    sent_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["practice", "status"]),
            models.Index(fields=["practice", "direction", "created_at"]),
            models.Index(fields=["practice", "partner"]),
        ]

    def __str__(self) -> str:
        arrow = "→" if self.direction == Direction.OUT else "←"
        return f"{self.client} {arrow} {self.partner or self.profession or '?'}"

    @property
    def is_open(self) -> bool:
        return self.status not in FINAL


class ReferralEvent(TenantModel):
    """One step of a referral's timeline: from which status to which, by whom, when."""

    referral = models.ForeignKey(Referral, on_delete=models.CASCADE, related_name="events")
    from_status = models.CharField(max_length=20, choices=Status.choices, blank=True)
    to_status = models.CharField(max_length=20, choices=Status.choices)
    at = models.DateTimeField()
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.referral_id}: {self.from_status or '∅'} → {self.to_status}"
