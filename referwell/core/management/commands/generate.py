from typing import Any

from django.core.management.base import CommandError, CommandParser

from referwell.core.management.base import ReferwellCommand


class Command(ReferwellCommand):
    help = "Generate a practice full of made-up data (small or large) for benchmarks."

    def add_arguments(self, parser: CommandParser) -> None:
        from referwell.core.generate import DEFAULT_SEED, DEFAULT_SLUG, SIZES

        parser.add_argument("--size", required=True, choices=list(SIZES))
        parser.add_argument(
            "--practice",
            default=DEFAULT_SLUG,
            metavar="SLUG",
            help=f"Slug of the new practice (default: {DEFAULT_SLUG}); it must not exist yet.",
        )
        parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="Same seed, same data.")
        parser.add_argument("--json", action="store_true", help="Print one JSON object.")

    def handle(self, *args: Any, **options: Any) -> None:
        from referwell.core.generate import GenerateError, generate

        try:
            result = generate(size=options["size"], slug=options["practice"], seed=options["seed"])
        except GenerateError as exc:
            raise CommandError(str(exc)) from None
        if options["json"]:
            self.print_json(result)
            return
        self.stdout.write(
            f"Created practice '{result['practice']}' ({result['size']}): "
            f"{result['partners']:,} partners, {result['clients']:,} clients, "
            f"{result['visits']:,} visits, {result['referrals']:,} referrals "
            f"in {result['seconds']:.1f} s."
        )
        login = result["login"]
        self.stdout.write(f"Log in with {login['email']}  password: {login['password']}")
