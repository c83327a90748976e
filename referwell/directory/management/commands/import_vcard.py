from pathlib import Path
from typing import Any

from django.core.management.base import CommandError, CommandParser

from referwell.accounts.management.base import PracticeCommand
from referwell.directory.services import vcards_import


class Command(PracticeCommand):
    help = (
        "Import vCard files (business cards) into a practice's network as prospects; a card "
        "about a partner already there is merged into it, an unreadable card is reported."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--practice", required=True, metavar="SLUG")
        parser.add_argument("files", nargs="+", metavar="FILE", help="vCard files (.vcf).")
        parser.add_argument("--json", action="store_true", help="Print one JSON object.")

    def handle(self, *args: Any, **options: Any) -> None:
        practice = self.get_practice(options["practice"])
        files = []
        for name in options["files"]:
            path = Path(name)
            if not path.is_file():
                raise CommandError(f"No such file: {name}")
            try:
                files.append((name, path.read_bytes()))
            except OSError as exc:
                raise CommandError(f"Cannot read {name}: {exc.strerror or exc}") from None
        result = vcards_import(practice=practice, files=files, by=None)
        if options["json"]:
            self.print_json(
                {
                    "imported": result["imported"],
                    "merged": result["merged"],
                    "rejected": result["rejected"],
                }
            )
            return
        for row in result["partners"]:
            verb = "merged into" if row["outcome"] == "merged" else "imported"
            self.stdout.write(f"{row['file']}, card {row['card']}: {verb} {row['name']}")
        for row in result["rejected"]:
            where = f"card {row['card']}" if row["card"] else "the file"
            self.stdout.write(f"{row['file']}, {where}: not imported: {row['reason']}")
        self.stdout.write(
            f"{result['imported']} imported, {result['merged']} merged, "
            f"{len(result['rejected'])} not imported."
        )
