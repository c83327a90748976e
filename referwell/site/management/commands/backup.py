from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.db import connection

from referwell.accounts.models import Practice
from referwell.audit.checkpoints import checkpoints_take
from referwell.core import backup
from referwell.core.management.base import ReferwellCommand


class Command(ReferwellCommand):
    help = (
        "Back up the whole database while the app runs (SQLite: the online backup API; "
        "PostgreSQL: pg_dump) to var/backups/ or --out, with a manifest beside it: engine, "
        "migrations, rows per table and the file's SHA-256. `referwell restore` restores it."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--out",
            metavar="PATH",
            help="The file to write, or a directory for the default name "
            "(default: var/backups/referwell-YYYYmmdd-HHMMSS.sqlite3 or .dump).",
        )
        parser.add_argument("--json", action="store_true", help="Print one JSON object.")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            out = backup.resolve_out(options["out"], backup.engine_of(connection))
            manifest = backup.create_backup(out)
        except backup.BackupError as exc:
            raise CommandError(str(exc)) from None
        # With each backup, a checkpoint of every audit trail outside the database.

        checkpoints_take(Practice.objects.order_by("pk").values_list("pk", flat=True))
        integrity = manifest["integrity_check"]
        if options["json"]:
            self.print_json(
                {
                    "backup": str(out),
                    "manifest": str(backup.manifest_path(out)),
                    "engine": manifest["engine"],
                    "size": manifest["size"],
                    "sha256": manifest["sha256"],
                    "tables": len(manifest["tables"]),
                    "rows": manifest["rows"],
                    "integrity_check": integrity,
                    "seconds": manifest["seconds"],
                }
            )
        else:
            self.stdout.write(
                f"Wrote {out} ({manifest['size']:,} bytes, {len(manifest['tables'])} tables, "
                f"{manifest['rows']:,} rows) in {manifest['seconds']:.1f} s; "
                f"manifest {backup.manifest_path(out).name}, SHA-256 {manifest['sha256'][:16]}…"
            )
        if integrity not in (None, "ok"):
            # Kept (the best copy there is), but a nightly job must not report success.
            raise CommandError(
                f"The database fails PRAGMA integrity_check ({integrity}); the backup was "
                "written anyway. Restore a previous backup, or ask for help."
            )
