"""The base of the commands that touch one practice's data (`--practice SLUG`)."""

from __future__ import annotations

from django.core.management.base import CommandError

from referwell.accounts.models import Practice
from referwell.core.management.base import ReferwellCommand


class PracticeCommand(ReferwellCommand):
    def get_practice(self, slug: str) -> Practice:
        practice = Practice.objects.filter(slug=slug).first()
        if practice is None:
            raise CommandError(f"No practice with the slug '{slug}'.")
        return practice
