from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.core.exceptions import ValidationError
from django.db import DatabaseError, transaction

from referwell.accounts.models import Practice, User
from referwell.audit.services import log_action
from referwell.core.geo import zip_centroid
from referwell.directory.duplicates import find_duplicates, merge_target, partner_references
from referwell.directory.models import HowMet, Niche, Partner, Profession, Stage, Touchpoint
from referwell.directory.vcard import CardData, parse_vcards


def _geocode(partner: Partner) -> None:
    point = zip_centroid(partner.zip_code)
    partner.latitude, partner.longitude = point if point else (None, None)


def _changed(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    return sorted(k for k in after if before.get(k) != after[k])


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
    before = {k: getattr(partner, k) for k in fields}
    for key, value in fields.items():
        setattr(partner, key, value)
    if "zip_code" in fields:
        _geocode(partner)
    partner.full_clean(exclude=["practice"])
    partner.save()
    if professions is not None:
        partner.professions.set(list(professions))
    if niches is not None:
        partner.niches.set([n for n in niches if n.practice_id == partner.practice_id])
    log_action(
        practice=partner.practice,
        actor=by,
        action="referwell.partner.changed",
        obj=partner,
        data={"fields": _changed(before, fields)},
    )
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


@transaction.atomic
def vcards_import(
    *, practice: Practice, files: list[tuple[str, bytes]], by: User | None
) -> dict[str, Any]:
    """Business cards (vCard files) into the practice's network as prospects.

    Card by card, each in its own savepoint: a new professional becomes a prospect met by
    business card; one already in the network (same NPI, e-mail, phone, or name and city)
    has only their empty fields filled, and counts as merged; a card that shares only a phone
    number with a partner of another name is flagged (rejected with that reason), as is a
    card that cannot be read. Returns {"imported", "merged", "rejected": [{"file", "card",
    "reason"}], "partners": [{"file", "card", "outcome", "partner_id", "name"}]}; card 0 in
    a rejection is about the file as a whole (empty, no card in it)."""
    by_slug = {p.slug: p for p in Profession.objects.filter(is_provider=True)}
    imported = merged = 0
    rejected: list[dict[str, Any]] = []
    partners: list[dict[str, Any]] = []
    for filename, raw in files:
        parsed = parse_vcards(raw)
        if parsed.problem:
            rejected.append({"file": filename, "card": 0, "reason": parsed.problem})
        for card in parsed.cards:
            if card.data is None:
                rejected.append({"file": filename, "card": card.number, "reason": card.error})
                continue
            data = card.data
            professions = [by_slug[s] for s in data.professions if s in by_slug]
            try:
                with transaction.atomic():
                    duplicates = find_duplicates(
                        practice=practice,
                        name=data.name,
                        city=data.city,
                        email=data.email,
                        phone=data.phone,
                        npi=data.npi,
                    )
                    target = merge_target(duplicates, name=data.name) if duplicates else None
                    if target is not None:
                        partner = target
                        _fill_from_card(partner=partner, card=data, by=by, professions=professions)
                        outcome = "merged"
                    elif duplicates:
                        other = duplicates[0]
                        rejected.append(
                            {
                                "file": filename,
                                "card": card.number,
                                "reason": f"{data.name}: same phone as {other.name} "
                                f"(partner #{other.pk}) but another name, perhaps a colleague "
                                "at the same office; not imported, add them by hand if so.",
                            }
                        )
                        continue
                    else:
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
                        outcome = "imported"
            except ValidationError as exc:
                reason = f"{data.name}: {_validation_reason(exc)}"
                rejected.append({"file": filename, "card": card.number, "reason": reason})
                continue
            except DatabaseError as exc:
                reason = f"{data.name}: could not be saved ({type(exc).__name__})."
                rejected.append({"file": filename, "card": card.number, "reason": reason})
                continue
            if outcome == "merged":
                merged += 1
            else:
                imported += 1
            partners.append(
                {
                    "file": filename,
                    "card": card.number,
                    "outcome": outcome,
                    "partner_id": partner.pk,
                    "name": partner.name,
                }
            )
    log_action(
        practice=practice,
        actor=by,
        action="referwell.partner.vcards_imported",
        data={
            "files": [name for name, _ in files],
            "imported": imported,
            "merged": merged,
            "rejected": len(rejected),
        },
    )
    return {"imported": imported, "merged": merged, "rejected": rejected, "partners": partners}


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
    for model, field in partner_references():
        count = model._base_manager.filter(**{field: duplicate}).update(**{field: keep})
        if count:
            moved[f"{model._meta.label_lower}.{field}"] = count
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
