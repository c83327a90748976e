"""Referral requests sent through the public referral pages, held for review."""

from __future__ import annotations

import hashlib
import hmac

from django.conf import settings
from django.db import models

from referwell.core.crypto import EncryptedTextField
from referwell.core.models import TenantModel


class RequestStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    ACCEPTED = "accepted", "Accepted"
    REJECTED = "rejected", "Rejected"


def hash_ip(ip: str) -> str:
    """SHA-256 of the sender's IP, keyed with SECRET_KEY so the IPv4 space cannot simply be
    hashed and compared; the raw address is never stored."""
    return hmac.new(settings.SECRET_KEY.encode(), ip.encode(), hashlib.sha256).hexdigest()


class ReferralRequest(TenantModel):
    """A client sent to the practice by someone without an account, until a member reviews it."""

    partner = models.ForeignKey(
        "directory.Partner",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="referral_requests",
        help_text="Set when the request came through the partner's own page.",
    )
    referrer_name = models.CharField("Your name", max_length=200)
    referrer_organization = models.CharField("Office or organization", max_length=200, blank=True)
    referrer_email = models.EmailField("Your e-mail", blank=True)
    referrer_phone = models.CharField("Your phone", max_length=40, blank=True)
    client_first_name = models.CharField("Client's first name", max_length=100)
    client_last_name = models.CharField("Client's last name", max_length=100)
    client_phone = models.CharField("Client's phone", max_length=40, blank=True)
    client_email = models.EmailField("Client's e-mail", blank=True)
    reason = EncryptedTextField("Reason for the referral")
    client_agreed_to_be_contacted = models.BooleanField(
        "The client agreed to be contacted by the practice", default=False
    )
    status = models.CharField(
        max_length=10, choices=RequestStatus.choices, default=RequestStatus.PENDING
    )
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    client = models.ForeignKey(
        "clients.Client",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="referral_requests",
    )
    ip_hash = models.CharField(max_length=64, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["practice", "status", "created_at"])]

    def __str__(self) -> str:
        return f"{self.client_first_name} {self.client_last_name}, from {self.referrer_label}"

    @property
    def client_name(self) -> str:
        return f"{self.client_first_name} {self.client_last_name}"

    @property
    def referrer_label(self) -> str:
        """Who sent it, as the referral in will name them when there is no partner."""
        if self.referrer_organization:
            return f"{self.referrer_name} ({self.referrer_organization})"
        return self.referrer_name

    @property
    def is_pending(self) -> bool:
        return self.status == RequestStatus.PENDING
