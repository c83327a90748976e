from typing import Any

from django.core.management.base import CommandError, CommandParser

from referwell.core.management.base import ReferwellCommand
from referwell.registry.selectors import SearchError, registry_search


class Command(ReferwellCommand):
    help = (
        "Search the public provider registry (imported with import-nppes): one profession "
        "within N miles of a ZIP code, nearest first."
    )
    requires_system_checks: list[str] = []  # a one-shot data command: start fast

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--profession", required=True, metavar="SLUG")
        parser.add_argument("--zip", required=True, metavar="ZIP")
        parser.add_argument("--miles", required=True, type=float, metavar="N")
        parser.add_argument("--limit", type=int, default=50, metavar="N")
        parser.add_argument("--json", action="store_true", help="Print one JSON object.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["limit"] < 1:
            raise CommandError("--limit must be at least 1.")
        try:
            hits = registry_search(
                profession=options["profession"],
                zip_code=options["zip"],
                miles=options["miles"],
                limit=options["limit"],
            )
        except SearchError as exc:
            raise CommandError(str(exc)) from None
        if options["json"]:
            self.print_json({"results": [hit.as_json() for hit in hits]})
            return
        if not hits:
            self.stdout.write("Nobody found; try more miles.")
        for hit in hits:
            e = hit.entry
            name = f"{e.name}, {e.credentials}" if e.credentials else e.name
            self.stdout.write(
                f"{hit.distance_miles:6.1f} mi  {e.npi}  {name} — {e.city.title()}, {e.state}"
                f"  {e.phone}"
            )
