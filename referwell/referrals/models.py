"""Referrals both ways and the timeline of their status changes."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import models
from django.utils import timezone

from referwell.core.crypto import EncryptedTextField
from referwell.core.models import TenantModel
from referwell.referrals.states import FINAL, INITIAL, Status

if TYPE_CHECKING:
    from django.db.backends.base.base import BaseDatabaseWrapper
    from django.db.models.sql.compiler import SQLCompiler


class Direction(models.TextChoices):
    OUT = "out", "Out (we refer a client)"
    IN = "in", "In (a client is referred to us)"


class FinalLookup(models.Lookup):
    """`status__final=False`: still open. The final states are written as literals, not
    parameters: SQLite matches a partial index on the statement it prepares, before any value
    is bound, so `NOT (status IN (?, ?))` never used the open-referrals index (19 ms instead of
    1 ms for the dashboard's count of a large practice). Our own constants only."""

    lookup_name = "final"
    prepare_rhs = False

    # The stubs say the parameters are a tuple; Django 5.2's own lookups return a list.
    def as_sql(  # type: ignore[override]
        self, compiler: SQLCompiler, connection: BaseDatabaseWrapper
    ) -> tuple[str, list[str | int]]:
        lhs, params = self.process_lhs(compiler, connection)
        literals = ", ".join(f"'{status}'" for status in FINAL)
        if self.rhs:
            return f"{lhs} IN ({literals})", list(params)
        return f"NOT ({lhs} IN ({literals}))", list(params)


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
    reasons = EncryptedTextField(help_text="Why this referral: the reason and relevant findings.")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.DRAFT)
    # Who referred a client to us when it is not a partner: a client, a friend, a business.
    referrer_client = models.ForeignKey(
        "clients.Client",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="referrals_made",
    )
    referrer_name = models.CharField(
        max_length=200, blank=True, help_text="A friend, a business… when not a partner or client."
    )
    valid_until = models.DateField(
        null=True,
        blank=True,
        help_text="For a referral in: the date it runs out (insurers, doctors).",
    )
    valid_visits = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="For a referral in: the number of visits it allows."
    )
    report_interval_days = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        help_text="Send the referring professional a progress report this often (with consent).",
    )
    thanked_at = models.DateTimeField(null=True, blank=True)
    followup_done_at = models.DateTimeField(null=True, blank=True)
    last_report_at = models.DateTimeField(null=True, blank=True)
    # A referral out: when our thank-you for taking care of the client went to the partner.
    thanked_for_care_at = models.DateTimeField(null=True, blank=True)
    # The referral letter a clinician read and left "ready to send" for the front desk: its
    # subject and text exactly as they will leave (encrypted, like the reasons they carry),
    # who prepared it and when. Emptied when it is sent, or when the referral changes.
    letter_subject = EncryptedTextField(blank=True)
    letter_body = EncryptedTextField(blank=True)
    letter_prepared_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    letter_prepared_at = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField(null=True, blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    sent_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    fhir_identifier = models.CharField(max_length=200, blank=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # The referral list, newest first: (practice, created_at, and the row id that every
            # index ends with) is the list's order, "-created_at, -id", read backwards.
            models.Index(fields=["practice", "created_at", "id"], name="referral_list_idx"),
            # The referral list's status filter, newest first.
            models.Index(fields=["practice", "status", "created_at"]),
            # The no-response sweep that the dashboard and the referral list run as they open:
            # the referrals sent (or received) before a day, read alone.
            models.Index(fields=["practice", "status", "sent_at"], name="referral_sent_idx"),
            models.Index(fields=["practice", "direction", "created_at"]),
            # A partner's and a client's referrals, newest first (their pages, the API).
            models.Index(fields=["practice", "partner", "created_at"]),
            models.Index(fields=["practice", "client", "created_at"]),
            # Covers the insights' count per partner, direction and status over a period.
            models.Index(
                fields=["practice", "created_at", "partner", "direction", "status"],
                name="referral_insights_idx",
            ),
            # Per partner, by direction and date, without reading the rows: Today's counts of
            # referrals received this year and the first one (docs/performance.md, "Measured
            # choices").
            models.Index(
                fields=["partner", "direction", "created_at"], name="referral_partner_dir_idx"
            ),
            # The referrals still open (a third of them in a practice with years of data):
            # Today's rules and the dashboard's open referrals read only these.
            models.Index(
                fields=["practice", "direction", "created_at"],
                condition=~models.Q(status__in=FINAL),
                name="referral_open_idx",
            ),
        ]

    def __str__(self) -> str:
        arrow = "→" if self.direction == Direction.OUT else "←"
        return f"{self.client} {arrow} {self.partner or self.profession or '?'}"

    @property
    def is_open(self) -> bool:
        return self.status not in FINAL

    @property
    def is_out(self) -> bool:
        return self.direction == Direction.OUT

    def initial_status(self) -> str:
        return INITIAL[self.direction]

    def letter_sent_at(self, kind: str) -> dt.datetime | None:
        """When a letter of `kind` (a thank-you, a progress report) last went for this referral;
        None if none did. The referral letter is sent once: its status says so."""
        sent = {
            "thanks_received": self.thanked_at,
            "thanks_care": self.thanked_for_care_at,
            "progress_report": self.last_report_at,
        }
        return sent.get(kind)

    @property
    def referrer_label(self) -> str:
        """Who sent a referral in, for a person to read."""
        if self.partner_id:
            return str(self.partner)
        if self.referrer_client_id:
            return str(self.referrer_client)
        return self.referrer_name or "(referrer not recorded)"

    def validity_warning(self, *, visits_used: int, today: dt.date) -> str:
        """A referral in that runs out soon, or has run out (insurers and doctors set limits)."""
        if self.direction != Direction.IN:
            return ""
        notes = []
        if self.valid_until:
            days = (self.valid_until - today).days
            if days < 0:
                notes.append(f"expired on {self.valid_until:%b %d, %Y}")
            elif days <= 30:
                notes.append(
                    f"runs out in {days} day{'s' if days != 1 else ''} ({self.valid_until:%b %d})"
                )
        if self.valid_visits:
            left = self.valid_visits - visits_used
            if left <= 0:
                notes.append(f"all {self.valid_visits} visits used")
            elif left <= 2:
                notes.append(f"{left} of {self.valid_visits} visits left")
        return "; ".join(notes)


def hash_link_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


Referral._meta.get_field("status").register_lookup(FinalLookup)


class ReferralLink(TenantModel):
    """The partner's no-account link to one referral: random, stored hashed, expiring, revocable."""

    LIFETIME = dt.timedelta(days=30)

    referral = models.ForeignKey(Referral, on_delete=models.CASCADE, related_name="links")
    token_hash = models.CharField(max_length=64, unique=True)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    use_count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"link for referral {self.referral_id}"

    @classmethod
    def issue(cls, *, referral: Referral) -> tuple[ReferralLink, str]:
        token = secrets.token_urlsafe(32)
        link = cls.objects.create(
            practice=referral.practice,
            referral=referral,
            token_hash=hash_link_token(token),
            expires_at=timezone.now() + cls.LIFETIME,
        )
        return link, token

    @property
    def is_usable(self) -> bool:
        return self.revoked_at is None and self.expires_at > timezone.now()


# A note on a referral's timeline (one written with a move, or on its own) is at most this long.
NOTE_MAX_LENGTH = 2000


class EventKind(models.TextChoices):
    MOVE = "move", "Move"  # from_status → to_status (from "" when the referral was made)
    NOTE = "note", "Note"  # the referral does not move: from_status == to_status
    UNDO = "undo", "Undo"  # the last move taken back: from its status to the one before


class Via(models.TextChoices):
    """How a step came about when it was not made by hand on the page or in the API."""

    LETTER = "letter", "the referral letter"
    REPORT = "report", "a progress report"
    PARTNER_LINK = "partner link", "the secure link"


class ReferralEvent(TenantModel):
    """One step of a referral's timeline: from which status to which, by whom, when — a move,
    a note (the status unchanged) or the undo of a move."""

    referral = models.ForeignKey(Referral, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=10, choices=EventKind.choices, default=EventKind.MOVE)
    via = models.CharField(max_length=20, choices=Via.choices, blank=True)
    from_status = models.CharField(max_length=20, choices=Status.choices, blank=True)
    to_status = models.CharField(max_length=20, choices=Status.choices)
    at = models.DateTimeField()
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    note = EncryptedTextField(blank=True)

    class Meta:
        ordering = ["at", "id"]
        indexes = [
            # The dashboard's "Since you last looked": a practice's answers through the
            # partner's link after a time, newest first, without reading the whole timeline.
            models.Index(fields=["practice", "via", "at"], name="event_practice_via_at_idx"),
        ]

    def __str__(self) -> str:
        if self.kind == EventKind.NOTE:
            return f"{self.referral_id}: note ({self.to_status})"
        return f"{self.referral_id}: {self.from_status or '∅'} → {self.to_status}"
