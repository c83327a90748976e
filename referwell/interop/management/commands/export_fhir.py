import json
import os
import tempfile
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError, CommandParser

from referwell.accounts.management.base import PracticeCommand
from referwell.interop.fhir.exporter import fhir_export


class Command(PracticeCommand):
    help = (
        "Write a practice's directory (partners) and referrals as one FHIR R4 Bundle of type "
        "collection (JSON)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--practice", required=True, metavar="SLUG")
        parser.add_argument("--out", required=True, metavar="FILE", help="The JSON file to write.")

    def handle(self, *args: Any, **options: Any) -> None:
        practice = self.get_practice(options["practice"])
        out = Path(options["out"])
        if out.is_dir():
            raise CommandError(f"{out} is a directory; give a file name.")
        bundle = fhir_export(practice=practice, by=None)
        text = json.dumps(bundle, ensure_ascii=False, indent=1) + "\n"
        # Written beside the target and renamed: never a half-written file.
        try:
            fd, tmp = tempfile.mkstemp(dir=out.resolve().parent, prefix=".fhir-", suffix=".json")
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
            os.replace(tmp, out)
        except OSError as exc:
            raise CommandError(f"Cannot write {out}: {exc.strerror or exc}") from None
        counts: dict[str, int] = {}
        for entry in bundle["entry"]:
            kind = entry["resource"]["resourceType"]
            counts[kind] = counts.get(kind, 0) + 1
        summary = ", ".join(f"{n} {kind}" for kind, n in counts.items())
        self.stdout.write(f"Wrote {len(bundle['entry'])} resources to {out}: {summary}.")
