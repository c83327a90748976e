"""The public provider registry: CMS's NPPES file, filtered to the knowledge base's professions.

A global table, not tenant data: the same public record for every practice. A practice's own
network lives in `directory.Partner`; an entry becomes a partner only when someone adds it.
"""

from __future__ import annotations

from typing import Any

from django.db import models


class EntityType(models.IntegerChoices):
    INDIVIDUAL = 1, "Individual"
    ORGANISATION = 2, "Organisation"


class RegistryEntryQuerySet(models.QuerySet["RegistryEntry"]):
    def active(self) -> RegistryEntryQuerySet:
        return self.filter(deactivated_on__isnull=True)


class RegistryEntry(models.Model):
    """One NPI of the monthly file, as CMS publishes it (practice location, not mailing).

    The primary key is the NPI as a number (`save` sets it): the table is stored in NPI order
    (SQLite's rowid) and needs no second index to be unique by NPI — the import writes one
    B-tree fewer, and a bulk insert into the empty registry copies its staged rows as they are.
    """

    # Ten digits, the first 1 or 2: `id` is this, as an integer (a 10-digit number has one).
    npi = models.CharField("NPI", max_length=10)
    entity_type = models.PositiveSmallIntegerField(choices=EntityType.choices)
    name = models.CharField(max_length=300)
    credentials = models.CharField(max_length=100, blank=True)
    # Indexed by the (profession, latitude) index below, whose first column it is.
    profession = models.CharField(
        max_length=50, help_text="Slug of the primary taxonomy's profession."
    )
    taxonomy = models.CharField(
        "primary taxonomy", max_length=10, help_text="NUCC code: the primary one if it matches."
    )
    taxonomies = models.JSONField(default=list, help_text="Every matching NUCC code.")
    address = models.CharField(max_length=300, blank=True)
    city = models.CharField(max_length=100, blank=True)
    state = models.CharField(max_length=2, blank=True)
    zip_code = models.CharField("ZIP code", max_length=10, blank=True)
    phone = models.CharField(max_length=20, blank=True)
    latitude = models.FloatField(null=True, blank=True)
    longitude = models.FloatField(null=True, blank=True)
    last_updated_on = models.DateField(null=True, blank=True, help_text="CMS's Last Update Date.")
    deactivated_on = models.DateField(null=True, blank=True)
    # A digest of the imported values: a re-import rewrites only the rows that changed.
    fingerprint = models.BigIntegerField(default=0)
    # No timestamps of its own: CMS's dates above, and each ImportRun, say when what changed.

    objects = RegistryEntryQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "registry entries"
        indexes = [
            # The search: one profession, a band of latitudes (the bounding box).
            models.Index(fields=["profession", "latitude"], name="registry_prof_lat"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.npi})"

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.pk = int(self.npi)
        super().save(*args, **kwargs)

    @property
    def zip5(self) -> str:
        return self.zip_code[:5]

    @property
    def is_active(self) -> bool:
        return self.deactivated_on is None


class ImportStatus(models.TextChoices):
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class ImportRun(models.Model):
    """One run of `referwell import-nppes`: what was read, kept, written and rejected."""

    file_name = models.CharField(max_length=500)
    states = models.JSONField(default=list, help_text="The --state filter; empty for all.")
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=ImportStatus.choices, default="running")
    read = models.PositiveIntegerField(default=0)
    kept = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    deactivated = models.PositiveIntegerField(default=0)
    rejected = models.PositiveIntegerField(default=0)
    problems = models.JSONField(
        default=list, help_text="The first rejected rows: line number and reason."
    )
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"{self.file_name} ({self.started_at:%Y-%m-%d})"
