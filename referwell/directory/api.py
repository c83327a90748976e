from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from ninja import Query, Router, Status
from ninja.pagination import paginate

from referwell.accounts.http import PracticeRequest
from referwell.core.schemas import Page, PathId
from referwell.directory import selectors, services
from referwell.directory.models import Partner, Profession
from referwell.directory.schemas import PartnerIn, PartnerOut, PartnerPatch

router = Router(tags=["partners"])


def _split(payload: PartnerPatch, request: PracticeRequest) -> dict[str, Any]:
    data = payload.dict(exclude_unset=True)
    kwargs: dict[str, Any] = {}
    if "professions" in data:
        slugs = data.pop("professions") or []
        found = list(Profession.objects.filter(slug__in=slugs))
        missing = sorted(set(slugs) - {p.slug for p in found})
        if missing:
            raise ValidationError({"professions": f"Unknown profession: {', '.join(missing)}."})
        kwargs["professions"] = found
    if "niches" in data:
        kwargs["niches"] = [
            services.niche_get_or_create(practice=request.practice, name=name)
            for name in data.pop("niches") or []
            if name.strip()
        ]
    for key, value in list(data.items()):
        if value is None:
            data.pop(key)
        elif key == "state":
            data[key] = value.upper()
    kwargs["fields"] = data
    return kwargs


@router.get("", response=list[PartnerOut])
@paginate(Page)
def list_partners(
    request: PracticeRequest,
    q: str = "",
    profession: str = "",
    stage: str = "",
    near_zip: str = "",
    # ninja types Query for mypy as an Annotated alias; called, it is the parameter's default.
    miles: float | None = Query(None, ge=0),  # type: ignore[type-arg]  # noqa: B008
) -> list[Partner]:
    filters = selectors.PartnerFilters(
        q=q, profession=profession, stage=stage, near_zip=near_zip, miles=miles
    )
    return selectors.partner_list(practice=request.practice, filters=filters)


@router.post("", response={201: PartnerOut})
def create_partner(request: PracticeRequest, payload: PartnerIn) -> Status[Partner]:
    partner = services.partner_create(
        practice=request.practice, by=request.user, **_split(payload, request)
    )
    return Status(201, selectors.partner_get(practice=request.practice, pk=partner.pk))


@router.get("/{partner_id}", response=PartnerOut)
def get_partner(request: PracticeRequest, partner_id: PathId) -> Partner:
    return selectors.partner_get(practice=request.practice, pk=partner_id)


@router.patch("/{partner_id}", response=PartnerOut)
def update_partner(request: PracticeRequest, partner_id: PathId, payload: PartnerPatch) -> Partner:
    partner = selectors.partner_get(practice=request.practice, pk=partner_id)
    services.partner_update(partner=partner, by=request.user, **_split(payload, request))
    return selectors.partner_get(practice=request.practice, pk=partner_id)
