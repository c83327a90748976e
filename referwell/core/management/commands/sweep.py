from typing import Any

from django.core.management.base import CommandParser

from referwell.core.management.base import ReferwellCommand


class Command(ReferwellCommand):
    help = (
        "Mark referrals out that had no answer within the practice's business days as "
        "'no response' (the pages do it too when they open; this is for a daily job), and "
        "delete audit entries older than the retention (as prune-audit does)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--practice", metavar="SLUG", help="One practice (default: all).")
        parser.add_argument("--json", action="store_true", help="Print one JSON object.")

    def handle(self, *args: Any, **options: Any) -> None:
        from referwell.accounts.models import Practice
        from referwell.core.management.commands.prune_audit import prune_all
        from referwell.referrals.services import referrals_flag_no_response

        if options["practice"]:
            practices = [self.get_practice(options["practice"])]
        else:
            practices = list(Practice.objects.all())
        flagged = {p.slug: referrals_flag_no_response(practice=p) for p in practices}
        pruned = prune_all(practices)
        if options["json"]:
            self.print_json({"no_response": flagged, "audit_pruned": pruned})
            return
        for slug, ids in flagged.items():
            self.stdout.write(f"{slug}: {len(ids)} referral(s) marked no response")
            if pruned[slug]:
                self.stdout.write(
                    f"{slug}: {pruned[slug]} audit entries past the retention deleted"
                )
