import sys
from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.db import connection

from referwell.core import backup
from referwell.core.management.base import ReferwellCommand


class Command(ReferwellCommand):
    help = (
        "Restore a backup written by `referwell backup` into the configured database: check "
        "the file's SHA-256 against its manifest, save the current database, restore, then "
        "verify rows per table (and PRAGMA integrity_check on SQLite)."
    )
    requires_system_checks: list[str] = []  # the database may be the thing that is broken

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", metavar="PATH", help="The backup file (or its manifest).")
        parser.add_argument(
            "--yes", action="store_true", help="Replace a database that holds data without asking."
        )
        parser.add_argument(
            "--no-safety-backup",
            action="store_true",
            help="Do not save the current database first (only when it cannot be saved).",
        )
        parser.add_argument("--json", action="store_true", help="Print one JSON object.")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            path, manifest = backup.read_manifest(options["path"])
            digest = backup.verify_checksum(path, manifest)
            notes = backup.check_compatible(manifest)
            backup.check_content(path, manifest)
            rows = backup.rows_of_data()
            if rows and not options["yes"]:
                self._confirm(rows, connection.settings_dict["NAME"])
            safety = None
            if rows and not options["no_safety_backup"]:
                safety = backup.safety_backup_path(backup.engine_of(connection))
                try:
                    backup.create_backup(safety)
                except backup.BackupError as exc:
                    raise backup.BackupError(
                        f"Could not save the current database first ({exc}); nothing was "
                        "restored (--no-safety-backup restores without that copy)."
                    ) from None
            result = backup.restore_backup(path, manifest)
        except backup.BackupError as exc:
            raise CommandError(str(exc)) from None
        if result["problems"]:
            kept = f" The database as it was is in {safety}." if safety else ""
            raise CommandError(
                f"Restored {path.name}, but it does not verify: {'; '.join(result['problems'])}."
                + kept
            )
        notes += [
            f"Table {t} is not in the backup; left as it was." for t in result["extra_tables"]
        ]
        if options["json"]:
            self.print_json(
                {
                    "restored": str(path),
                    "engine": manifest["engine"],
                    "sha256": digest,
                    "checksum": "ok",
                    "safety_backup": str(safety) if safety else None,
                    "tables": result["tables"],
                    "rows": result["rows"],
                    "counts_match": result["counts_match"],
                    "migrations_match": result["migrations_match"],
                    "integrity_check": result["integrity_check"],
                    "seconds": result["seconds"],
                    "notes": notes,
                }
            )
            return
        self.stdout.write(f"Checksum: ok (SHA-256 {digest[:16]}… as in the manifest).")
        if safety:
            self.stdout.write(f"Saved the database as it was to {safety}.")
        self.stdout.write(
            f"Restored {path.name} ({manifest.get('created_at', '?')}) in "
            f"{result['seconds']:.1f} s."
        )
        checks = f"row counts of {result['tables']} tables ({result['rows']:,} rows) equal the "
        checks += "manifest's; migrations as in the backup"
        if result["integrity_check"] is not None:
            checks += f"; PRAGMA integrity_check: {result['integrity_check']}"
        self.stdout.write(f"Verified: {checks}.")
        for note in notes:
            self.stdout.write(f"Note: {note}")

    def _confirm(self, rows: int, database: Any) -> None:
        question = f"The database {database} holds {rows:,} rows; restoring replaces all of them"
        if not sys.stdin.isatty():
            raise CommandError(f"{question}. Add --yes to confirm (a copy is saved first).")
        answer = input(f"{question} (a copy is saved first). Type 'yes' to go on: ")
        if answer.strip().lower() != "yes":
            raise CommandError("Nothing was restored.")
