from typing import Any

from django.core.management.base import CommandParser

from referwell.accounts.models import Practice
from referwell.core.management.base import ReferwellCommand
from referwell.site.demo import DEMO_SLUG, demo_load


class Command(ReferwellCommand):
    help = "Create the demo practice Elm Grove Massage (idempotent) and print its logins."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true", help="Print one JSON object.")
        parser.add_argument(
            "--if-new",
            action="store_true",
            help="Only when the database holds no practice yet (used by `make run`).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["if_new"] and Practice.objects.exclude(slug=DEMO_SLUG).exists():
            return
        result = demo_load()
        if options["json"]:
            self.print_json({"practice": result["practice"], "logins": result["logins"]})
            return
        verb = "Created" if result["created"] else "Found"
        self.stdout.write(f"{verb} the demo practice '{result['practice']}'. Log in with:")
        for login in result["logins"]:
            self.stdout.write(
                f"  {login['role']:<11} {login['email']}  password: {login['password']}"
            )
