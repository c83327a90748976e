from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandParser

from referwell.core.management.base import ReferwellCommand


def uses_queue() -> bool:
    """Whether tasks wait in the database for a worker (they do, unless configured to run at
    once with REFERWELL_TASKS_BACKEND)."""
    return settings.TASKS["default"]["BACKEND"] == "django_tasks_db.DatabaseBackend"


class Command(ReferwellCommand):
    help = (
        "Send the outbox's e-mail and run the other queued tasks (`referwell serve` starts one "
        "beside the web server; run it alone under systemd: docs/deployment.md)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--interval", type=float, default=1.0, help="Seconds between looks at the queue."
        )
        parser.add_argument(
            "--batch", action="store_true", help="Run what is queued now, then stop."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        call_command(
            "db_worker",
            interval=options["interval"],
            batch=options["batch"],
            startup_delay=False,
            reload=False,
            verbosity=options.get("verbosity", 1),
        )
