"""Base models shared by every tenant-owned table."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Self, TypeVar

from django.db import models

_M = TypeVar("_M", bound=models.Model)


class PracticeQuerySet(models.QuerySet[_M]):
    """The one place that scopes rows to a practice: every selector starts here."""

    def for_practice(self, practice: models.Model) -> Self:  # an accounts.Practice
        return self.filter(practice=practice)


class TenantModel(models.Model):
    """A row that belongs to exactly one practice."""

    practice = models.ForeignKey("accounts.Practice", on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = PracticeQuerySet.as_manager()

    class Meta:
        abstract = True


@contextmanager
def explicit_timestamps(*model_classes: type[models.Model]) -> Iterator[None]:
    """Let bulk_create keep the created_at / updated_at we set instead of 'now'.

    `auto_now_add` / `auto_now` fields are filled by the field's pre_save on every insert, so
    the flags are switched off for the duration (a command runs alone in its process).
    """
    fields = [
        f
        for model in model_classes
        for f in model._meta.concrete_fields
        if isinstance(f, models.DateField | models.TimeField) and (f.auto_now or f.auto_now_add)
    ]
    saved = [(f, f.auto_now, f.auto_now_add) for f in fields]
    for f in fields:
        f.auto_now = f.auto_now_add = False
    try:
        yield
    finally:
        for f, now, now_add in saved:
            f.auto_now, f.auto_now_add = now, now_add


# The record of long work started from a page, a model of this app kept with its helpers.
from referwell.core.jobs import ImportJob  # noqa: E402, F401
