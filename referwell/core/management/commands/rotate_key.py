from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import CommandError, CommandParser

from referwell.core import crypto
from referwell.core.management.base import ReferwellCommand


class Command(ReferwellCommand):
    help = (
        "Re-encrypt every stored clinical text (intake, visit notes, referral reasons, letters) "
        "with the first key of ENCRYPTION_KEYS, in one transaction. Rotation: put the new key "
        "first, run this, then remove the old key. --new-key prints a fresh key, changes nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--new-key", action="store_true", help="Print a new key and stop (nothing is changed)."
        )
        parser.add_argument("--json", action="store_true", help="Print one JSON object.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["new_key"]:
            key = crypto.generate_key()
            if options["json"]:
                self.print_json({"key": key})
            else:
                self.stdout.write(key)
            return
        try:
            crypto.fernet()  # a malformed key: one clear line before anything is touched
            counts = crypto.rotate_all()
        except ImproperlyConfigured as exc:  # also a stored text that no key opens
            raise CommandError(str(exc)) from exc
        total = sum(counts.values())
        if options["json"]:
            self.print_json({"rewritten": counts, "total": total})
            return
        for label, count in counts.items():
            self.stdout.write(f"{label}: {count} row(s) re-encrypted")
        self.stdout.write(f"Done: {total} row(s) now encrypted with the first key.")
