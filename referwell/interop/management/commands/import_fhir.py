from pathlib import Path
from typing import Any

from django.core.management.base import CommandError, CommandParser

from referwell.accounts.management.base import PracticeCommand
from referwell.interop.fhir.importer import FhirImportError, fhir_import, parse_fhir_json


class Command(PracticeCommand):
    help = (
        "Import a FHIR R4 Bundle (or a single resource) into a practice: Practitioner, "
        "PractitionerRole, Organization and Location become partners, ServiceRequests "
        "referrals. Importing the same file twice creates nothing new."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--practice", required=True, metavar="SLUG")
        parser.add_argument("file", metavar="FILE", help="A FHIR JSON file.")
        parser.add_argument("--json", action="store_true", help="Print one JSON object.")

    def handle(self, *args: Any, **options: Any) -> None:
        practice = self.get_practice(options["practice"])
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"No such file: {options['file']}")
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise CommandError(f"Cannot read {options['file']}: {exc.strerror or exc}") from None
        try:
            data = parse_fhir_json(raw)
        except FhirImportError as exc:
            raise CommandError(f"{options['file']}: {exc}") from None
        report = fhir_import(practice=practice, data=data, by=None)
        if options["json"]:
            self.print_json(report.as_json())
            return
        for line in report.lines:
            self.stdout.write(line)
        for row in report.skipped:
            self.stdout.write(f"skipped {row['resource']}: {row['reason']}")
        self.stdout.write(
            f"{report.created} created, {report.updated} updated, {len(report.skipped)} skipped."
        )
