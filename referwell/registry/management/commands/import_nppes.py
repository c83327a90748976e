import sys
import time
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError, CommandParser

from referwell.core.management.base import ReferwellCommand
from referwell.registry.layout import NppesFormatError
from referwell.registry.nppes import nppes_import

SHOWN_PROBLEMS = 20


def _state(value: str) -> str:
    code = value.strip().upper()
    if len(code) != 2 or not code.isalpha():
        raise CommandError(f"'{value}' is not a two-letter state code.")
    return code


class Command(ReferwellCommand):
    help = (
        "Import CMS's monthly NPPES provider file (npidata_pfile_*.csv, or the zip CMS "
        "distributes) into the public provider registry: the professions of the knowledge "
        "base, optionally some states; a re-import updates and deactivates by NPI."
    )
    requires_system_checks: list[str] = []  # a one-shot data command: start fast

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", metavar="FILE", help="npidata_pfile_*.csv or the .zip")
        parser.add_argument(
            "--state",
            action="append",
            default=[],
            metavar="XX",
            help="Keep providers practising in this state (repeatable; default: every state).",
        )
        parser.add_argument("--json", action="store_true", help="Print one JSON object.")

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"No such file: {options['file']}")
        states = [_state(s) for s in options["state"]]
        progress = _Progress()
        try:
            run = nppes_import(path, states=states, progress=progress)
        except NppesFormatError as exc:
            progress.done()
            raise CommandError(f"{path.name}: {exc}") from None
        except OSError as exc:
            progress.done()
            raise CommandError(f"Cannot read {path.name}: {exc.strerror or exc}") from None
        progress.done(run.read, run.kept)
        for problem in run.problems[:SHOWN_PROBLEMS]:
            sys.stderr.write(f"rejected: line {problem['line']}: {problem['reason']}\n")
        if run.rejected > SHOWN_PROBLEMS:
            sys.stderr.write(f"rejected: … and {run.rejected - SHOWN_PROBLEMS:,} more\n")
        counts = {
            "read": run.read,
            "kept": run.kept,
            "created": run.created,
            "updated": run.updated,
            "deactivated": run.deactivated,
            "rejected": run.rejected,
        }
        if options["json"]:
            self.print_json(counts)
            return
        self.stdout.write(
            f"{run.read:,} rows read, {run.kept:,} kept: {run.created:,} created, "
            f"{run.updated:,} updated, {run.unchanged:,} unchanged, "
            f"{run.deactivated:,} deactivated; {run.rejected:,} rejected."
        )


class _Progress:
    """The progress line on stderr ("read N rows, kept N"): rewritten in place on a
    terminal, else printed every 10 seconds."""

    def __init__(self) -> None:
        self.tty = sys.stderr.isatty()
        self.every = 0.5 if self.tty else 10.0
        self.last = time.monotonic()
        self.shown = False

    def __call__(self, counts: Any) -> None:
        now = time.monotonic()
        if now - self.last < self.every:
            return
        self.last = now
        self._write(counts.read, counts.kept)

    def _write(self, read: int, kept: int) -> None:
        line = f"read {read:,} rows, kept {kept:,}"
        sys.stderr.write(f"\r{line}\x1b[K" if self.tty else f"{line}\n")
        sys.stderr.flush()
        self.shown = True

    def done(self, read: int | None = None, kept: int | None = None) -> None:
        if read is not None and kept is not None:
            self._write(read, kept)
        if self.tty and self.shown:
            sys.stderr.write("\n")
