"""Letters the practice writes, as its own editable templates, and every message it sent."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from referwell.core.crypto import EncryptedTextField
from referwell.core.models import TenantModel
from referwell.outreach.letters import LETTER_KINDS


class LetterTemplate(TenantModel):
    """A practice's own version of one kind of letter; without one the default is used."""

    kind = models.CharField(max_length=30, choices=sorted(LETTER_KINDS.items()))
    subject = models.CharField(max_length=300)
    body = models.TextField()
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["practice", "kind"], name="letter_template_unique_kind")
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.practice})"


class OutgoingMessage(TenantModel):
    """The outbox: every letter or e-mail the practice sent, as it was sent. An e-mail is
    written here as *queued* in the transaction of what caused it; the worker sends it
    (referwell/outreach/delivery.py)."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        PRINTED = "printed", "Letter (PDF) made"
        FAILED = "failed", "Failed"

    # Not stored: whether the member looking at the outbox may read it again (set by the page).
    readable: bool = True

    kind = models.CharField(max_length=30, choices=sorted(LETTER_KINDS.items()))
    to_name = models.CharField(max_length=200, blank=True)
    to_email = models.EmailField(blank=True)
    subject = models.CharField(max_length=300)
    body = EncryptedTextField()
    attachment_name = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices)
    error = models.CharField(max_length=500, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    sent_at = models.DateTimeField(null=True, blank=True)
    referral = models.ForeignKey(
        "referrals.Referral", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    partner = models.ForeignKey(
        "directory.Partner", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    disclosure = models.ForeignKey(
        "audit.Disclosure", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["practice", "created_at"])]  # the outbox, newest first

    def __str__(self) -> str:
        return f"{self.subject} → {self.to_email or self.to_name}"

    @property
    def can_retry(self) -> bool:
        return self.status in (self.Status.FAILED, self.Status.SENDING)

    @property
    def plain_error(self) -> str:
        """Why it has not left, in words a therapist can act on."""
        error = self.error.lower()
        if not error:
            return ""
        if "timed out" in error or "timeout" in error:
            return "The mail server did not answer in time."
        if "refused" in error or "errno 111" in error:
            return "The mail server refused the connection (is it running, is the port right?)."
        if "authentication" in error or "535" in error:
            return "The mail server refused the practice's user name or password."
        if "recipient" in error or "550" in error or "553" in error:
            return "The mail server refused the address."
        return "The mail server said: " + self.error


class ContactMethod(models.TextChoices):
    LETTER = "letter", "Letter"
    MEETING_REQUEST = "meeting_request", "10-minute meeting request"
    CALL = "call", "Phone call"
    VISIT = "visit", "Office visit"
    EVENT = "event", "Event"
    EMAIL = "email", "E-mail"


class ContactPlan(TenantModel):
    """The next step with a prospect: how and when; its outcome once done."""

    partner = models.ForeignKey(
        "directory.Partner", on_delete=models.CASCADE, related_name="contact_plans"
    )
    method = models.CharField(max_length=20, choices=ContactMethod.choices)
    planned_on = models.DateField()
    note = models.CharField(max_length=300, blank=True)
    done_on = models.DateField(null=True, blank=True)
    outcome = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["planned_on", "id"]
        indexes = [models.Index(fields=["practice", "done_on", "planned_on"])]  # open plans: Today

    def __str__(self) -> str:
        return f"{self.get_method_display()} with {self.partner} on {self.planned_on}"


class CalendarFeed(TenantModel):
    """A member's secret, revocable calendar address for the reminders (no client names)."""

    member = models.ForeignKey("accounts.Member", on_delete=models.CASCADE, related_name="+")
    token_hash = models.CharField(max_length=64, unique=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"calendar feed of {self.member}"
