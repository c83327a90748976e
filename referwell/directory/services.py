from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.db import transaction

from referwell.accounts.models import Practice, User
from referwell.audit.services import log_action
from referwell.core.geo import zip_centroid
from referwell.directory.models import Niche, Partner, Profession, Touchpoint


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
