import time
from pathlib import Path
from typing import Any

from django.core.management.base import CommandParser

from referwell.accounts.management.base import PracticeCommand
from referwell.accounts.models import Practice
from referwell.audit.checkpoints import checkpoint_problem, checkpoints_latest
from referwell.audit.selectors import Broken, audit_verify


class Command(PracticeCommand):
    help = (
        "Check that each practice's audit trail is whole: every entry unchanged, none deleted, "
        "inserted or reordered, and its newest entries not cut since the latest checkpoint "
        "(AUDIT_CHECKPOINT_FILE, or --checkpoints). Exits 1 when a chain is broken."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--practice", metavar="SLUG", help="One practice (default: all).")
        parser.add_argument(
            "--checkpoints",
            metavar="FILE",
            help="The checkpoint file to check against (default: AUDIT_CHECKPOINT_FILE).",
        )
        parser.add_argument("--json", action="store_true", help="Print one JSON object.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["practice"]:
            practices = [self.get_practice(options["practice"])]
        else:
            practices = list(Practice.objects.order_by("slug"))
        started = time.perf_counter()
        entries = 0
        broken: list[dict[str, Any]] = []
        checkpoints = checkpoints_latest(
            Path(options["checkpoints"]) if options["checkpoints"] else None
        )
        for practice in practices:
            report = audit_verify(practice=practice)
            if report.ok and practice.pk in checkpoints:
                if problem := checkpoint_problem(checkpoints[practice.pk]):
                    report.broken.append(Broken(None, None, problem))
            entries += report.entries
            for b in report.broken:
                broken.append(
                    {
                        "practice": practice.slug,
                        "entry": b.entry,
                        "at": b.at.isoformat() if b.at else None,
                        "reason": b.reason,
                    }
                )
            if not options["json"]:
                if report.ok:
                    self.stdout.write(f"{practice.slug}: OK ({report.entries} entries)")
                for b in report.broken:
                    when = f" at {b.at:%Y-%m-%d %H:%M:%S} UTC" if b.at else ""
                    where = f" at entry {b.entry}" if b.entry is not None else ""
                    self.stdout.write(f"{practice.slug}: BROKEN{where}{when}: {b.reason}")
        ok = not broken
        if options["json"]:
            self.print_json(
                {"practices": len(practices), "entries": entries, "ok": ok, "broken": broken}
            )
        else:
            seconds = time.perf_counter() - started
            self.stderr.write(f"{entries} entries in {len(practices)} practice(s), {seconds:.2f}s")
        if not ok:
            raise SystemExit(1)
