"""Who did what to which record, and every disclosure of client information."""

from django.conf import settings
from django.db import models
from django.utils import timezone

from referwell.core.models import PracticeQuerySet


class AuditEntry(models.Model):
    """One action: a namespaced code (referwell.partner.created) and a small JSON payload.

    Written only through `audit.services.log_action`, which chains it to the practice's
    previous entry (`prev_hash`, `hash`: see audit/chain.py)."""

    practice = models.ForeignKey("accounts.Practice", on_delete=models.CASCADE, related_name="+")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    action = models.CharField(max_length=100, db_index=True)
    object_type = models.CharField(max_length=50, blank=True)
    object_id = models.CharField(max_length=40, blank=True)
    data = models.JSONField(default=dict, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    # Set by log_action before the hash is computed (auto_now_add would set it after).
    at = models.DateTimeField(default=timezone.now, editable=False, db_index=True)
    prev_hash = models.CharField(max_length=64, blank=True, editable=False)
    hash = models.CharField(max_length=64, blank=True, editable=False)

    objects = PracticeQuerySet.as_manager()

    # Not columns: set on the rows of the owner's trail page (audit/views.py) for its template.
    label: str  # the action in words
    link: str | None  # the page of the object, when it still exists
    who: str  # the member's name or e-mail, "" for nobody

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name_plural = "audit entries"
        indexes = [
            models.Index(fields=["practice", "object_type", "object_id"]),
            models.Index(fields=["practice", "at"], name="audit_entry_practice_at"),
            # The audit trail filtered by member, newest first.
            models.Index(fields=["practice", "actor", "at"]),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.action} {self.object_type}#{self.object_id}"


class AuditChain(models.Model):
    """The head of a practice's audit chain: the hash of its last entry, locked while an entry
    is appended so that entries chain one after the other. `anchor_hash` is the hash of the
    last entry removed by retention (prune-audit): the first kept entry chains to it."""

    practice = models.OneToOneField("accounts.Practice", on_delete=models.CASCADE, related_name="+")
    head_hash = models.CharField(max_length=64, blank=True)
    anchor_hash = models.CharField(max_length=64, blank=True)
    pruned_before = models.DateTimeField(null=True, blank=True)
    pruned_count = models.PositiveBigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.practice_id}: {self.head_hash[:12]}"


class Channel(models.TextChoices):
    EMAIL = "email", "E-mail"
    LETTER = "letter", "Letter (PDF)"
    LINK = "link", "Partner link"
    REPORT = "report", "Progress report"
    EXPORT = "export", "Export"


class Disclosure(models.Model):
    """Client information that left the practice: to whom, what, when, under which consent."""

    practice = models.ForeignKey("accounts.Practice", on_delete=models.CASCADE, related_name="+")
    client = models.ForeignKey(
        "clients.Client", on_delete=models.CASCADE, related_name="disclosures"
    )
    referral = models.ForeignKey(
        "referrals.Referral", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    partner = models.ForeignKey(
        "directory.Partner", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    recipient = models.CharField(max_length=300)
    channel = models.CharField(max_length=20, choices=Channel.choices)
    what = models.CharField(max_length=300, help_text="What was disclosed, in a few words.")
    consent = models.ForeignKey(
        "clients.Consent",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="disclosures",
    )
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField(auto_now_add=True, db_index=True)

    objects = PracticeQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["practice", "client", "at"])]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d} {self.what} to {self.recipient}"
