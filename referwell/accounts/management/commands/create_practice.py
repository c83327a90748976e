from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import CommandError, CommandParser
from django.core.validators import validate_email

from referwell.accounts.services import AccountError, practice_create
from referwell.core.management.base import ReferwellCommand


class Command(ReferwellCommand):
    help = "Create a practice and its owner."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--slug", required=True)
        parser.add_argument("--name", required=True)
        parser.add_argument("--owner-email", required=True)
        parser.add_argument("--password", required=True)
        parser.add_argument("--json", action="store_true", help="Print one JSON object.")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            validate_email(options["owner_email"])
        except ValidationError:
            raise CommandError(f"'{options['owner_email']}' is not an e-mail address.") from None
        try:
            practice = practice_create(
                slug=options["slug"],
                name=options["name"],
                owner_email=options["owner_email"],
                password=options["password"],
            )
        except AccountError as exc:
            raise CommandError(str(exc)) from None
        if options["json"]:
            self.print_json({"practice": practice.slug, "id": practice.pk})
        else:
            self.stdout.write(f"Created practice '{practice.slug}' ({practice.name}).")
