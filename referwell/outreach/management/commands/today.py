import datetime as dt
from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.utils import timezone

from referwell.accounts.management.base import PracticeCommand
from referwell.outreach.cadence import today


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"'{value}' is not a date (YYYY-MM-DD).") from None


class Command(PracticeCommand):
    help = "What upkeep is due or overdue (thank-yous, follow-ups, visits…), today or on --on."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--practice", required=True, metavar="SLUG")
        parser.add_argument("--on", metavar="DATE", help="Another day (YYYY-MM-DD).")
        parser.add_argument("--json", action="store_true", help="Print one JSON object.")

    def handle(self, *args: Any, **options: Any) -> None:
        practice = self.get_practice(options["practice"])
        on = _date(options["on"]) if options["on"] else timezone.localdate()
        items = today(practice=practice, on=on)
        if options["json"]:
            self.print_json({"items": [i.public(on) for i in items]})
            return
        if not items:
            self.stdout.write(f"Nothing due on {on}.")
        for item in items:
            late = item.overdue_days(on)
            when = f"{late} days overdue" if late else "due today"
            self.stdout.write(f"{item.due}  {when:>16}  {item.title}")
