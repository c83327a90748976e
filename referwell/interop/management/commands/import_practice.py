from pathlib import Path
from typing import Any

from django.core.management.base import CommandError, CommandParser

from referwell.core.management.base import ReferwellCommand
from referwell.interop.export.archive import ArchiveError, import_practice


class Command(ReferwellCommand):
    help = (
        "Restore a practice from a zip written by `referwell export-practice`, into an "
        "instance that does not have its slug; every row gets a new key, in one transaction."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", metavar="FILE.zip", help="The export to restore.")
        parser.add_argument("--json", action="store_true", help="Print one JSON object.")

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"No such file: {path}")
        try:
            result = import_practice(path)
        except ArchiveError as exc:
            raise CommandError(str(exc)) from None
        if options["json"]:
            self.print_json({"practice": result["practice"], "created": result["created"]})
            return
        created = result["created"]
        total = sum(n for name, n in created.items() if name != "users")
        self.stdout.write(f"Restored practice '{result['practice']}': {total} records.")
        for email in result["new_users"]:
            self.stdout.write(
                f"New account {email}: no known password; reset it with “Forgot your "
                f"password?” or `referwell changepassword {email}`."
            )
