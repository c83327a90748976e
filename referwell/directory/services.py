from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, replace
from dataclasses import field as default_field
from typing import Any

from django.core.exceptions import ValidationError
from django.db import DatabaseError, transaction

from referwell.accounts.models import Practice, User
from referwell.audit.services import log_action, update_with_audit
from referwell.core.geo import zip_centroid
from referwell.directory.duplicates import (
    find_duplicates,
    is_duplicate,
    merge_target,
    partner_references,
)
from referwell.directory.models import HowMet, Niche, Partner, Profession, Stage, Touchpoint
from referwell.directory.vcard import (
    CardData,
    ParsedFile,
    parse_vcards,
    profession_names,
    split_name,
)


def _geocode(partner: Partner) -> None:
    point = zip_centroid(partner.zip_code)
    partner.latitude, partner.longitude = point if point else (None, None)


@transaction.atomic
def partner_create(
    *,
    practice: Practice,
    by: User | None,
    fields: dict[str, Any],
    professions: Iterable[Profession] = (),
    niches: Iterable[Niche] = (),
) -> Partner:
    partner = Partner(practice=practice, **fields)
    _geocode(partner)
    partner.full_clean(exclude=["practice"])
    partner.save()
    partner.professions.set(list(professions))
    partner.niches.set([n for n in niches if n.practice_id == practice.id])
    log_action(practice=practice, actor=by, action="referwell.partner.created", obj=partner)
    return partner


@transaction.atomic
def partner_update(
    *,
    partner: Partner,
    by: User | None,
    fields: dict[str, Any],
    professions: Iterable[Profession] | None = None,
    niches: Iterable[Niche] | None = None,
) -> Partner:
    def check() -> None:
        if "zip_code" in fields:
            _geocode(partner)  # the place follows the ZIP code
        partner.full_clean(exclude=["practice"])

    update_with_audit(
        partner,
        practice=partner.practice,
        by=by,
        action="referwell.partner.changed",
        fields=fields,
        check=check,
    )
    if professions is not None:
        partner.professions.set(list(professions))
    if niches is not None:
        partner.niches.set([n for n in niches if n.practice_id == partner.practice_id])
    return partner


@transaction.atomic
def touchpoint_create(
    *, partner: Partner, by: User | None, kind: str, date: dt.date, note: str = ""
) -> Touchpoint:
    touchpoint = Touchpoint(
        practice=partner.practice, partner=partner, kind=kind, date=date, note=note, by=by
    )
    touchpoint.full_clean(exclude=["practice", "partner"])
    touchpoint.save()
    log_action(
        practice=partner.practice,
        actor=by,
        action="referwell.touchpoint.created",
        obj=touchpoint,
        data={"partner": partner.pk, "kind": kind},
    )
    return touchpoint


def niche_get_or_create(*, practice: Practice, name: str) -> Niche:
    niche, _ = Niche.objects.get_or_create(practice=practice, name=name.strip())
    return niche


# ------------------------------------------------------------------ business cards

ADDRESS_FIELDS = ("street", "city", "state", "zip_code")


def _validation_reason(exc: ValidationError) -> str:
    if hasattr(exc, "error_dict"):
        return "; ".join(
            f"{field.replace('_', ' ')}: {' '.join(messages)}"
            for field, messages in exc.message_dict.items()
        )
    return " ".join(exc.messages)


def _fill_from_card(
    *, partner: Partner, card: CardData, by: User | None, professions: list[Profession]
) -> bool:
    """Fill the partner's empty fields from a card, never overwriting; True if any changed.
    The address comes as a block, and only into a partner in the same city or in none."""
    fields: dict[str, Any] = {}
    same_place = not partner.city or partner.city.casefold() == card.city.casefold()
    for key, value in card.partner_fields().items():
        if key == "name" or not value or getattr(partner, key):
            continue
        if key in ADDRESS_FIELDS and not same_place:
            continue
        fields[key] = value
    add_professions = professions if not partner.professions.exists() else None
    if not fields and not add_professions:
        return False
    partner_update(partner=partner, by=by, fields=fields, professions=add_professions)
    return True


def card_key(file_number: int, card_number: int) -> str:
    """A card's name in the preview's form: its file's position (from 1), then its own."""
    return f"{file_number}-{card_number}"


@dataclass
class CardPreview:
    """One card of an upload as the preview shows it (or a problem with a whole file, card 0):
    what it says, and the partners of the directory it may duplicate."""

    key: str
    file: str
    number: int  # the card's position in its file, from 1; 0 for the file as a whole
    data: CardData | None = None
    error: str = ""  # why it cannot be read (or what is wrong with the file)
    duplicates: list[Partner] = default_field(default_factory=list)
    target: Partner | None = None  # the partner it would be merged into

    @property
    def readable(self) -> bool:
        return self.data is not None

    @property
    def nameless(self) -> bool:
        return self.data is not None and not self.data.name

    @property
    def likely_duplicate(self) -> bool:
        """A duplicate by the duplicates' rule (duplicates.py), not a colleague who only
        shares the phone number."""
        return any(is_duplicate(p.duplicate_reason) for p in self.duplicates)

    @property
    def checked(self) -> bool:
        """Ticked for import by default: a card with a name that matches no partner."""
        return self.readable and not self.nameless and not self.likely_duplicate

    @property
    def hint(self) -> str:
        """What tells a card without a name apart: its e-mail, organisation or phone."""
        data = self.data
        return (data.email or data.clinic or data.phone) if data else ""

    @property
    def email_parts(self) -> tuple[str, str]:
        """The e-mail address around its "@", for a page to break the line there."""
        local, _, domain = (self.data.email if self.data else "").partition("@")
        return local, domain

    @property
    def profession_names(self) -> list[str]:
        names = profession_names()
        return [names.get(slug, slug) for slug in self.data.professions] if self.data else []


def read_vcard_files(files: list[tuple[str, bytes]]) -> list[tuple[str, ParsedFile]]:
    return [(name, parse_vcards(raw)) for name, raw in files]


def _duplicates_of(practice: Practice, data: CardData) -> list[Partner]:
    return find_duplicates(
        practice=practice,
        name=data.name,
        city=data.city,
        email=data.email,
        phone=data.phone,
        npi=data.npi,
    )


def vcards_preview(*, practice: Practice, files: list[tuple[str, ParsedFile]]) -> list[CardPreview]:
    """Every card of the read files, in order, with the practice's partners it matches by the
    duplicates' rule (duplicates.py: the same NPI or e-mail; the same phone and family name, or
    name and city; a colleague sharing the phone is listed, not flagged); a problem with a file
    as a whole comes before its cards, as card 0."""
    previews = []
    for file_number, (filename, parsed) in enumerate(files, start=1):
        if parsed.problem:
            previews.append(
                CardPreview(
                    key=card_key(file_number, 0), file=filename, number=0, error=parsed.problem
                )
            )
        for card in parsed.cards:
            preview = CardPreview(
                key=card_key(file_number, card.number),
                file=filename,
                number=card.number,
                data=card.data,
                error=card.error,
            )
            if card.data is not None:
                preview.duplicates = _duplicates_of(practice, card.data)
                if preview.duplicates:
                    preview.target = merge_target(preview.duplicates)
            previews.append(preview)
    return previews


def _skip_reason(preview: CardPreview, *, chosen: bool) -> str:
    """Why a readable card is not imported, when the person did not choose it (or chose a card
    without a name and typed none)."""
    if preview.nameless:
        if chosen:
            return "No name on this card, and none was typed."
        return "No name on this card; not selected."
    if preview.target is not None:
        other = preview.target
        reason = other.duplicate_reason
        return f"Possibly already in your directory as {other.name} ({reason}); not selected."
    return "Not selected."


@transaction.atomic
def vcards_import(
    *,
    practice: Practice,
    files: list[tuple[str, bytes]] | None = None,
    parsed: list[tuple[str, ParsedFile]] | None = None,
    by: User | None,
    choices: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Business cards (vCard files, as bytes or as read) into the practice's network as
    prospects, card by card, each in its own savepoint.

    `choices` is what the person chose on the preview: the key (card_key) of every card to
    import, with the name they typed for it ("" to keep the card's). A card not chosen is
    skipped, and so is a chosen card without a name when none was typed. Without `choices`
    (the command line) every card with a name is imported, and a card that shares only a
    phone number with a partner of another name is skipped (perhaps a colleague).

    A card chosen is checked against the directory again (partners added since the preview,
    and the cards of this very upload, count): one already there (same NPI, e-mail, phone, or
    name and city) has only their empty fields filled, and counts as merged; otherwise it
    becomes a new prospect met by business card.

    Returns {"imported", "merged", "skipped", "unreadable", "rejected": [{"file", "card",
    "reason"}], "partners": [{"file", "card", "outcome", "partner_id", "name"}], "report":
    [{"file", "card", "outcome", "name", "partner_id", "reason", "hint"}]}: `report` lists
    every card (and each problem with a whole file, card 0) with its outcome — imported,
    merged, skipped or unreadable — and, for a card without a name, what tells it apart (its
    e-mail…); `rejected` every card not imported with the reason."""
    if parsed is None:
        parsed = read_vcard_files(files or [])
    by_slug = {p.slug: p for p in Profession.objects.filter(is_provider=True)}
    counts = {"imported": 0, "merged": 0, "skipped": 0, "unreadable": 0}
    report: list[dict[str, Any]] = []

    def record(
        preview: CardPreview,
        outcome: str,
        *,
        name: str = "",
        partner: Partner | None = None,
        reason: str = "",
    ) -> None:
        if preview.number:  # a card, not a problem with a whole file
            counts[outcome] += 1
        report.append(
            {
                "file": preview.file,
                "card": preview.number,
                "outcome": outcome,
                "name": partner.name if partner is not None else name,
                "partner_id": partner.pk if partner is not None else None,
                "reason": reason,
                "hint": "" if partner is not None or name else preview.hint,
            }
        )

    for file_number, (filename, read) in enumerate(parsed, start=1):
        if read.problem:
            record(
                CardPreview(key=card_key(file_number, 0), file=filename, number=0),
                "unreadable",
                reason=read.problem,
            )
        for card in read.cards:
            preview = CardPreview(
                key=card_key(file_number, card.number),
                file=filename,
                number=card.number,
                data=card.data,
                error=card.error,
            )
            if card.data is None:
                record(preview, "unreadable", reason=card.error)
                continue
            data = card.data
            chosen = choices is None or preview.key in choices
            typed = " ".join((choices or {}).get(preview.key, "").split())
            if chosen and typed:
                name, credentials = split_name(typed)
                data = replace(data, name=name, credentials=data.credentials or credentials)
            if not chosen or not data.name:
                if not chosen and data.name:  # which partner it resembles, as in the preview
                    preview.duplicates = _duplicates_of(practice, data)
                    if preview.duplicates:
                        preview.target = merge_target(preview.duplicates)
                if choices is None:
                    reason = "No name on this card."
                else:
                    reason = _skip_reason(preview, chosen=chosen)
                record(preview, "skipped", name=data.name, reason=reason)
                continue
            professions = [by_slug[s] for s in data.professions if s in by_slug]
            try:
                with transaction.atomic():
                    duplicates = _duplicates_of(practice, data)
                    target = merge_target(duplicates) if duplicates else None
                    if target is not None:
                        _fill_from_card(partner=target, card=data, by=by, professions=professions)
                        record(preview, "merged", partner=target)
                        continue
                    if duplicates and choices is None:
                        other = duplicates[0]
                        reason = (
                            f"{data.name}: same phone as {other.name} (partner #{other.pk}) but "
                            "another name, perhaps a colleague at the same office; not "
                            "imported, add them by hand if so."
                        )
                        record(preview, "skipped", name=data.name, reason=reason)
                        continue
                    partner = partner_create(
                        practice=practice,
                        by=by,
                        fields={
                            **data.partner_fields(),
                            "stage": Stage.PROSPECT,
                            "how_met": HowMet.OTHER,
                            "how_met_detail": "business card",
                        },
                        professions=professions,
                    )
            except ValidationError as exc:
                reason = f"{data.name}: {_validation_reason(exc)}"
                record(preview, "skipped", name=data.name, reason=reason)
                continue
            except DatabaseError as exc:
                reason = f"{data.name}: could not be saved ({type(exc).__name__})."
                record(preview, "skipped", name=data.name, reason=reason)
                continue
            record(preview, "imported", partner=partner)
    rejected = [
        {"file": row["file"], "card": row["card"], "reason": row["reason"]}
        for row in report
        if row["outcome"] in ("skipped", "unreadable")
    ]
    partners = [
        {key: row[key] for key in ("file", "card", "outcome", "partner_id", "name")}
        for row in report
        if row["outcome"] in ("imported", "merged")
    ]
    log_action(
        practice=practice,
        actor=by,
        action="referwell.partner.vcards_imported",
        data={
            "files": [name for name, _ in parsed],
            "imported": counts["imported"],
            "merged": counts["merged"],
            "skipped": counts["skipped"],
            "rejected": len(rejected),
        },
    )
    return {
        **counts,
        "rejected": rejected,
        "partners": partners,
        "report": report,
    }


# Free-text notes are kept from both partners; other fields only fill what is empty.
MERGED_NOTES = ("vetting_notes", "billing_concerns")
NOT_MERGED = {"id", "referral_code", "latitude", "longitude", "stage", "not_a_fit_reason"}


@transaction.atomic
def partner_merge(*, keep: Partner, duplicate: Partner, by: User | None) -> Partner:
    """Merge `duplicate` into `keep` and delete it: every touchpoint, referral (both ways),
    referred client, consent, disclosure, letter, contact plan and inbound request moves to
    `keep`, so two spellings of one professional never split their credit; niches and
    professions are joined; `keep`'s empty fields are filled from the duplicate (notes are
    kept from both, a prospect takes the duplicate's further stage)."""
    if keep.practice_id != duplicate.practice_id:
        raise ValidationError("Only partners of the same practice can be merged.")
    if keep.pk == duplicate.pk:
        raise ValidationError("A partner cannot be merged with itself.")
    keep = Partner.objects.select_for_update().get(pk=keep.pk)
    duplicate = Partner.objects.select_for_update().get(pk=duplicate.pk)

    moved: dict[str, int] = {}
    for model, key in partner_references():
        count = model._base_manager.filter(**{key: duplicate}).update(**{key: keep})
        if count:
            moved[f"{model._meta.label_lower}.{key}"] = count
    keep.niches.add(*duplicate.niches.all())
    keep.professions.add(*duplicate.professions.all())

    filled: list[str] = []
    for field in Partner._meta.concrete_fields:
        name = field.attname
        if name in NOT_MERGED or name.endswith("_id"):
            continue
        mine, theirs = getattr(keep, name), getattr(duplicate, name)
        if name in MERGED_NOTES and mine and theirs and theirs not in mine:
            setattr(keep, name, f"{mine}\n\n{theirs}")
            filled.append(name)
        elif theirs and not mine:
            setattr(keep, name, theirs)
            filled.append(name)
    if keep.stage == Stage.PROSPECT and duplicate.stage != Stage.PROSPECT:
        keep.stage, keep.not_a_fit_reason = duplicate.stage, duplicate.not_a_fit_reason
        filled.append("stage")
    if "zip_code" in filled:
        _geocode(keep)
    keep.full_clean(exclude=["practice"])
    keep.save()

    duplicate_pk, duplicate_name = duplicate.pk, duplicate.name
    duplicate.delete()
    log_action(
        practice=keep.practice,
        actor=by,
        action="referwell.partner.merged",
        obj=keep,
        data={
            "duplicate": duplicate_pk,
            "duplicate_name": duplicate_name,
            "moved": moved,
            "filled": sorted(filled),
        },
    )
    return keep
