from collections.abc import Callable
from typing import Any

from django.core.management.base import CommandError, CommandParser

from referwell.core.management.base import ReferwellCommand
from referwell.site.generate import (
    CHOICES,
    DEFAULT_SEED,
    DEFAULT_SLUG,
    MULTI,
    GenerateError,
    generate,
    generate_many,
)


class Command(ReferwellCommand):
    help = (
        "Generate made-up practices for benchmarks: one small or large practice, or xlarge "
        "(200 large practices)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--size", required=True, choices=list(CHOICES))
        parser.add_argument(
            "--practice",
            default=DEFAULT_SLUG,
            metavar="SLUG",
            help=f"Slug of the new practice (default: {DEFAULT_SLUG}); it must not exist yet. "
            "With several practices, they are SLUG-001, SLUG-002…",
        )
        parser.add_argument(
            "--practices",
            type=int,
            metavar="N",
            help="Make N practices of the size's profile (SLUG-001…); xlarge makes 200 by default.",
        )
        parser.add_argument(
            "--seed",
            type=int,
            default=DEFAULT_SEED,
            help="Same seed, same data (practice i of several gets seed + i - 1).",
        )
        parser.add_argument("--json", action="store_true", help="Print one JSON object.")

    def handle(self, *args: Any, **options: Any) -> None:
        size, slug, seed = options["size"], options["practice"], options["seed"]
        try:
            if size in MULTI or options["practices"] is not None:
                result = generate_many(
                    size=size,
                    slug=slug,
                    seed=seed,
                    practices=options["practices"],
                    progress=self.progress(quiet=options["json"]),
                )
            else:
                result = generate(size=size, slug=slug, seed=seed)
        except GenerateError as exc:
            raise CommandError(str(exc)) from None
        if options["json"]:
            self.print_json(result)
            return
        if "practices" in result:
            done = result["practices"]
            self.stdout.write(
                f"Created {len(done)} practices ({result['profile']} profile) "
                f"{done[0]['practice']} … {done[-1]['practice']} in {result['seconds']:.1f} s; "
                "each owner logs in with owner@SLUG.example and the password printed above."
            )
            return
        self.stdout.write(self.summary(result))
        login = result["login"]
        self.stdout.write(f"Log in with {login['email']}  password: {login['password']}")

    @staticmethod
    def summary(result: dict[str, Any]) -> str:
        return (
            f"Created practice '{result['practice']}' ({result['size']}): "
            f"{result['partners']:,} partners, {result['clients']:,} clients, "
            f"{result['visits']:,} visits, {result['referrals']:,} referrals "
            f"in {result['seconds']:.1f} s."
        )

    def progress(self, *, quiet: bool) -> Callable[[int, int, dict[str, Any]], None]:
        """One line per practice as it is done (on stderr with --json, stdout stays JSON)."""
        out = self.stderr if quiet else self.stdout

        def report(i: int, total: int, result: dict[str, Any]) -> None:
            login = result["login"]
            out.write(
                f"[{i}/{total}] {self.summary(result)} "
                f"Login {login['email']}  password: {login['password']}",
                style_func=str,  # progress, not an error, even on stderr
            )
            out.flush()

        return report
