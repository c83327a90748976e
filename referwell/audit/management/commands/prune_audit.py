import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.core.management.base import CommandParser
from django.utils import timezone

from referwell.accounts.management.base import PracticeCommand
from referwell.accounts.models import Practice
from referwell.audit.checkpoints import checkpoints_take
from referwell.audit.services import audit_prune


def prune_all(practices: Iterable[Practice] | None = None) -> dict[str, int]:
    """Delete audit entries older than AUDIT_RETENTION_DAYS; {practice slug: entries deleted}."""
    before = timezone.now() - dt.timedelta(days=settings.AUDIT_RETENTION_DAYS)
    practices = practices if practices is not None else Practice.objects.order_by("slug")
    pruned = {p: audit_prune(practice=p, before=before) for p in practices}
    # What the retention removed is no cut: a checkpoint of the trail as it now stands.
    checkpoints_take(p.pk for p, count in pruned.items() if count)
    return {p.slug: count for p, count in pruned.items()}


class Command(PracticeCommand):
    help = (
        "Delete audit entries older than AUDIT_RETENTION_DAYS (six years by default); the "
        "chain keeps an anchor so that verify-audit still passes."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--practice", metavar="SLUG", help="One practice (default: all).")
        parser.add_argument("--json", action="store_true", help="Print one JSON object.")

    def handle(self, *args: Any, **options: Any) -> None:
        practices = [self.get_practice(options["practice"])] if options["practice"] else None
        pruned = prune_all(practices)
        if options["json"]:
            self.print_json({"retention_days": settings.AUDIT_RETENTION_DAYS, "pruned": pruned})
            return
        for slug, count in pruned.items():
            self.stdout.write(f"{slug}: {count} audit entries older than the retention deleted")
