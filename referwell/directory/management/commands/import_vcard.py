from pathlib import Path
from typing import Any

from django.core.management.base import CommandError, CommandParser

from referwell.accounts.management.base import PracticeCommand
from referwell.accounts.models import Practice
from referwell.directory.services import (
    CardPreview,
    read_vcard_files,
    vcards_import,
    vcards_preview,
)


def planned(card: CardPreview) -> tuple[str, str]:
    """What the command does with a card (without --dry-run): (outcome, reason)."""
    if not card.readable:
        return "unreadable", card.error
    if card.nameless:
        return "skipped", "No name on this card."
    if card.target is not None:
        return "merged", f"into {card.target.name} (partner #{card.target.pk})"
    if card.duplicates:
        other = card.duplicates[0]
        return "skipped", f"same phone as {other.name} (partner #{other.pk}) but another name"
    return "imported", ""


def preview_lines(card: CardPreview) -> list[str]:
    """The card as the web page's preview shows it, in a few lines of text."""
    where = f"{card.file}, card {card.number}" if card.number else f"{card.file}, the file"
    data = card.data
    if data is None:
        return [f"{where}: cannot be read: {card.error}"]
    name = data.name or "NO NAME ON THIS CARD"
    if data.credentials:
        name += f", {data.credentials}"
    lines = [f"{where}: {name}"]
    facts = [
        f"organisation: {data.clinic or '—'}",
        f"title: {data.title or '—'}",
        "profession: "
        + (", ".join(card.profession_names) + " (guessed)" if card.profession_names else "—"),
    ]
    lines.append("    " + " · ".join(facts))
    phone = data.phone or "—"
    notes = []
    if data.phone_preferred:
        notes.append("preferred")
    if data.other_phones:
        notes.append(f"{len(data.other_phones)} other not kept")
    if notes:
        phone += f" ({'; '.join(notes)})"
    lines.append(f"    phone: {phone} · e-mail: {data.email or '—'}")
    for other in card.duplicates:
        reason = getattr(other, "duplicate_reason", "")
        lines.append(f"    possibly already there: {other.name} (partner #{other.pk}, {reason})")
    outcome, reason = planned(card)
    verb = {"imported": "would be imported", "merged": "would be merged", "skipped": "skipped"}
    lines.append(f"    → {verb[outcome]}" + (f": {reason}" if reason else ""))
    return lines


class Command(PracticeCommand):
    help = (
        "Import vCard files (business cards) into a practice's network as prospects; a card "
        "about a partner already there is merged into it, a card without a name is skipped, "
        "an unreadable card is reported. --dry-run shows each card and imports nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--practice", required=True, metavar="SLUG")
        parser.add_argument("files", nargs="+", metavar="FILE", help="vCard files (.vcf).")
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Print the preview of every card (name, organisation, title, profession, "
            "phone, possible duplicates, what would become of it) and import nothing.",
        )
        parser.add_argument("--json", action="store_true", help="Print one JSON object.")

    def handle(self, *args: Any, **options: Any) -> None:
        practice = self.get_practice(options["practice"])
        files = []
        for name in options["files"]:
            path = Path(name)
            if not path.is_file():
                raise CommandError(f"No such file: {name}")
            try:
                files.append((name, path.read_bytes()))
            except OSError as exc:
                raise CommandError(f"Cannot read {name}: {exc.strerror or exc}") from None
        if options["dry_run"]:
            self.dry_run(practice, files, as_json=options["json"])
            return
        result = vcards_import(practice=practice, files=files, by=None)
        if options["json"]:
            self.print_json(
                {
                    "imported": result["imported"],
                    "merged": result["merged"],
                    "rejected": result["rejected"],
                }
            )
            return
        for row in result["report"]:
            where = f"card {row['card']}" if row["card"] else "the file"
            if row["outcome"] == "imported":
                self.stdout.write(f"{row['file']}, {where}: imported {row['name']}")
            elif row["outcome"] == "merged":
                self.stdout.write(f"{row['file']}, {where}: merged into {row['name']}")
            else:
                self.stdout.write(f"{row['file']}, {where}: not imported: {row['reason']}")
        self.stdout.write(
            f"{result['imported']} imported, {result['merged']} merged, "
            f"{len(result['rejected'])} not imported."
        )

    def dry_run(self, practice: Practice, files: list[tuple[str, bytes]], *, as_json: bool) -> None:
        previews = vcards_preview(practice=practice, files=read_vcard_files(files))
        outcomes = [planned(card) for card in previews]
        totals = {key: 0 for key in ("imported", "merged", "skipped", "unreadable")}
        for card, (outcome, _) in zip(previews, outcomes, strict=True):
            if card.number:
                totals[outcome] += 1
        if as_json:
            self.print_json(
                {
                    "dry_run": True,
                    **totals,
                    "cards": [
                        self.card_json(card, outcome, reason)
                        for card, (outcome, reason) in zip(previews, outcomes, strict=True)
                    ],
                }
            )
            return
        for card in previews:
            for line in preview_lines(card):
                self.stdout.write(line)
        self.stdout.write(
            f"Dry run, nothing imported: {totals['imported']} would be imported, "
            f"{totals['merged']} merged, {totals['skipped']} skipped, "
            f"{totals['unreadable']} cannot be read."
        )

    @staticmethod
    def card_json(card: CardPreview, outcome: str, reason: str) -> dict[str, Any]:
        data = card.data
        return {
            "file": card.file,
            "card": card.number,
            "name": data.name if data else "",
            "nameless": card.nameless,
            "credentials": data.credentials if data else "",
            "organisation": data.clinic if data else "",
            "title": data.title if data else "",
            "professions": list(data.professions) if data else [],
            "phone": data.phone if data else "",
            "phone_preferred": data.phone_preferred if data else False,
            "email": data.email if data else "",
            "duplicates": [
                {"partner": d.pk, "name": d.name, "reason": getattr(d, "duplicate_reason", "")}
                for d in card.duplicates
            ],
            "outcome": outcome,
            "reason": reason,
        }
