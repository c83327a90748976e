from typing import Any

from django.core.management.base import CommandError, CommandParser

from referwell.core.management.base import ReferwellCommand
from referwell.guidance import library, meaning


class Command(ReferwellCommand):
    help = (
        "Make the guidance's example vectors anew from data/examples.jsonl (after its notes "
        "change); --check says whether they are current. Needs no database."
    )
    requires_system_checks: list[str] = []
    requires_migrations_checks = False

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--check", action="store_true", help="Only check that the vectors are current."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not meaning.available():
            raise CommandError(meaning.why_unavailable())
        if options["check"]:
            try:
                library.read("a check")
            except library.LibraryError as exc:
                raise CommandError(str(exc)) from exc
            self.stdout.write(f"The example vectors are current ({len(library.examples())} notes).")
            return
        n = library.build()
        self.stdout.write(f"Encoded {n} example notes into {library.VECTORS.name}.")
