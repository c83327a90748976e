import os
import tempfile
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError, CommandParser

from referwell.accounts.management.base import PracticeCommand
from referwell.interop.export.archive import export_practice


class Command(PracticeCommand):
    help = (
        "Write every record of a practice into a zip of documented JSON files (with its "
        "letters as PDFs), which `referwell import-practice` restores."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--practice", required=True, metavar="SLUG")
        parser.add_argument("--out", required=True, metavar="FILE.zip", help="The zip to write.")
        parser.add_argument("--json", action="store_true", help="Print one JSON object.")

    def handle(self, *args: Any, **options: Any) -> None:
        practice = self.get_practice(options["practice"])
        out = Path(options["out"])
        if not out.parent.is_dir():
            raise CommandError(f"No such directory: {out.parent}")
        if out.is_dir():
            raise CommandError(f"{out} is a directory; give a file name such as export.zip.")
        # Written beside the target, then renamed: a failed export leaves no half a zip.
        fd, partial = tempfile.mkstemp(prefix=".export-", suffix=".zip", dir=out.parent)
        try:
            with os.fdopen(fd, "wb") as handle:
                manifest = export_practice(practice, handle, via="cli")
            os.replace(partial, out)
        except OSError as exc:
            raise CommandError(f"Cannot write {out}: {exc.strerror or exc}") from None
        finally:
            if os.path.exists(partial):
                os.unlink(partial)
        if options["json"]:
            self.print_json(
                {
                    "practice": practice.slug,
                    "out": str(out),
                    "counts": manifest["counts"],
                    "letters": manifest["letters"],
                    "notes": manifest["notes"],
                }
            )
            return
        total = sum(manifest["counts"].values())
        self.stdout.write(
            f"Wrote {out}: {total} records of '{practice.slug}' in "
            f"{len(manifest['counts'])} files, {manifest['letters']} letters."
        )
        for note in manifest["notes"]:
            self.stdout.write(f"Note: {note}")
