from typing import Any

from django.core.management.base import CommandError, CommandParser

from referwell.accounts.management.base import PracticeCommand
from referwell.accounts.services import AccountError, token_issue


class Command(PracticeCommand):
    help = "Issue an API token for a member (shown once; use it as `Authorization: Bearer …`)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--practice", required=True, metavar="SLUG")
        parser.add_argument("--email", required=True)
        parser.add_argument("--name", default="API token", help="A label for the token.")
        parser.add_argument("--json", action="store_true", help="Print one JSON object.")

    def handle(self, *args: Any, **options: Any) -> None:
        self.get_practice(options["practice"])
        try:
            token = token_issue(
                practice_slug=options["practice"], email=options["email"], name=options["name"]
            )
        except AccountError as exc:
            raise CommandError(str(exc)) from None
        if options["json"]:
            self.print_json({"token": token})
        else:
            self.stdout.write(token)
