from typing import Any

from django.core.management.base import CommandParser

from referwell.accounts.management.base import PracticeCommand
from referwell.accounts.models import Practice
from referwell.audit.checkpoints import checkpoints_take
from referwell.audit.management.commands.prune_audit import prune_all
from referwell.interop.csv.views import sweep_pending_imports
from referwell.referrals.services import referrals_flag_no_response


class Command(PracticeCommand):
    help = (
        "Mark referrals out that had no answer within the practice's business days as "
        "'no response' (the pages do it too when they open; this is for a daily job), "
        "delete audit entries older than the retention (as prune-audit does), and CSV files "
        "waiting to be imported for more than an hour; then take a checkpoint of every audit "
        "trail (as audit-checkpoint does)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--practice", metavar="SLUG", help="One practice (default: all).")
        parser.add_argument("--json", action="store_true", help="Print one JSON object.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["practice"]:
            practices = [self.get_practice(options["practice"])]
        else:
            practices = list(Practice.objects.all())
        flagged = {p.slug: referrals_flag_no_response(practice=p) for p in practices}
        pruned = prune_all(practices)
        imports_swept = sweep_pending_imports()
        checkpoints_take(p.pk for p in practices)
        if options["json"]:
            self.print_json(
                {"no_response": flagged, "audit_pruned": pruned, "imports_swept": imports_swept}
            )
            return
        if imports_swept:
            self.stdout.write(f"{imports_swept} expired file(s) of CSV imports deleted")
        for slug, ids in flagged.items():
            self.stdout.write(f"{slug}: {len(ids)} referral(s) marked no response")
            if pruned[slug]:
                self.stdout.write(
                    f"{slug}: {pruned[slug]} audit entries past the retention deleted"
                )
