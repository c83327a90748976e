from typing import Any

from django.core.management.base import CommandError, CommandParser

from referwell.accounts.services import AccountError, user_two_factor_reset
from referwell.core.management.base import ReferwellCommand


class Command(ReferwellCommand):
    help = (
        "Clear an account's authenticator and recovery codes (a lost phone), for any account; "
        "the reset is recorded in every practice the person works in."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--email", required=True)
        parser.add_argument("--json", action="store_true", help="Print one JSON object.")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            user = user_two_factor_reset(email=options["email"])
        except AccountError as exc:
            raise CommandError(str(exc)) from None
        if options["json"]:
            self.print_json({"reset": user.email})
        else:
            self.stdout.write(
                f"Two-factor login of {user.email} cleared: they set it up again at next login."
            )
