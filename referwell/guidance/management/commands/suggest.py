from typing import Any

from django.core.management.base import CommandError, CommandParser

from referwell.core.management.base import ReferwellCommand
from referwell.guidance.engine import RETURNING_CLIENT, Intake, suggest


class Command(ReferwellCommand):
    help = (
        "Suggest referrals for what a client said: professions, reasons, urgency, timing. "
        "Needs no database."
    )
    requires_system_checks: list[str] = []
    requires_migrations_checks = False

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--notes", required=True, help="What the client told you.")
        parser.add_argument(
            "--visit-number",
            type=int,
            default=None,
            help="1 for the first appointment; a returning client when left out.",
        )
        parser.add_argument(
            "--needs-assessment", action="store_true", help="Today is the needs-assessment day."
        )
        parser.add_argument("--json", action="store_true", help="Print one JSON object.")
        parser.add_argument(
            "--detail", action="store_true", help="Also list the findings and what was ignored."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        visit = options["visit_number"]
        if visit is not None and visit < 1:
            raise CommandError("--visit-number counts visits from 1 (the first appointment).")
        if len(options["notes"]) > 20_000:
            raise CommandError("--notes is longer than 20,000 characters.")
        result = suggest(
            Intake(
                notes=options["notes"],
                visit_number=visit or RETURNING_CLIENT,
                needs_assessment=options["needs_assessment"],
            )
        )
        if options["json"]:
            self.print_json(result.to_dict(detail=options["detail"]))
            return
        if not result.suggestions:
            self.stdout.write("Nothing to refer for in these notes.")
        for s in result.suggestions:
            flags = [s.urgency.upper()] if s.urgency != "routine" else []
            flags += ["sensitive"] if s.sensitive else []
            extra = f" [{', '.join(flags)}]" if flags else ""
            self.stdout.write(f"{s.name}{extra} — {s.timing}: {s.timing_reason}")
            for reason in s.reasons:
                self.stdout.write(f"    {reason}")
        if options["detail"]:
            for ignored in result.ignored:
                self.stdout.write(f"  (not counted: “{ignored.quote}” — {ignored.why})")
