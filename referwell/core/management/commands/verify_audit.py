import time
from typing import Any

from django.core.management.base import CommandParser

from referwell.core.management.base import ReferwellCommand


class Command(ReferwellCommand):
    help = (
        "Check that each practice's audit trail is whole: every entry unchanged, none deleted, "
        "inserted or reordered. Exits 1 when a chain is broken."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--practice", metavar="SLUG", help="One practice (default: all).")
        parser.add_argument("--json", action="store_true", help="Print one JSON object.")

    def handle(self, *args: Any, **options: Any) -> None:
        from referwell.accounts.models import Practice
        from referwell.audit.selectors import audit_verify

        if options["practice"]:
            practices = [self.get_practice(options["practice"])]
        else:
            practices = list(Practice.objects.order_by("slug"))
        started = time.perf_counter()
        entries = 0
        broken: list[dict[str, Any]] = []
        for practice in practices:
            report = audit_verify(practice=practice)
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
                    self.stdout.write(
                        f"{practice.slug}: BROKEN at entry {b.entry}{when}: {b.reason}"
                    )
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
