"""Base models shared by every tenant-owned table."""

from __future__ import annotations

from typing import TYPE_CHECKING, Self

from django.db import models

if TYPE_CHECKING:
    from referwell.accounts.models import Practice


class PracticeQuerySet(models.QuerySet):
    """The one place that scopes rows to a practice: every selector starts here."""

    def for_practice(self, practice: Practice) -> Self:
        return self.filter(practice=practice)


class TenantModel(models.Model):
    """A row that belongs to exactly one practice."""

    practice = models.ForeignKey("accounts.Practice", on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = PracticeQuerySet.as_manager()

    class Meta:
        abstract = True
