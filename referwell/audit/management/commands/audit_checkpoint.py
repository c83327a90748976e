from typing import Any

from django.core.management.base import CommandParser

from referwell.accounts.models import Practice
from referwell.audit.checkpoints import checkpoint_file, checkpoints_take
from referwell.core.management.base import ReferwellCommand


class Command(ReferwellCommand):
    help = (
        "Append a signed checkpoint of each practice's audit trail (its number of entries and "
        "its last hash) to AUDIT_CHECKPOINT_FILE and the log; verify-audit then sees a cut tail. "
        "`referwell sweep` takes one too."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true", help="Print one JSON object.")

    def handle(self, *args: Any, **options: Any) -> None:
        taken = checkpoints_take(Practice.objects.order_by("pk").values_list("pk", flat=True))
        if options["json"]:
            self.print_json(
                {
                    "file": str(checkpoint_file()),
                    "checkpoints": [
                        {"practice": c.practice_id, "entries": c.entries} for c in taken
                    ],
                }
            )
        else:
            self.stdout.write(f"{len(taken)} checkpoint(s) appended to {checkpoint_file()}")
