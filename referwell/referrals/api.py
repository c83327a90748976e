from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.http import HttpRequest
from ninja import Router, Status
from ninja.pagination import LimitOffsetPagination, paginate

from referwell.clients.models import Client
from referwell.directory.models import Partner, Profession
from referwell.referrals import selectors, services
from referwell.referrals.schemas import ReferralIn, ReferralOut, ReferralPatch, TransitionIn

router = Router(tags=["referrals"])


def _resolve(data: dict[str, Any], request: HttpRequest) -> dict[str, Any]:
    """Turn ids into this practice's objects; an id from elsewhere is simply not found."""
    practice = request.practice
    if "client" in data:
        client = Client.objects.for_practice(practice).filter(pk=data["client"]).first()
        if client is None:
            raise ValidationError({"client": f"No client {data['client']} here."})
        data["client"] = client
    if data.get("partner") is not None:
        partner = Partner.objects.for_practice(practice).filter(pk=data["partner"]).first()
        if partner is None:
            raise ValidationError({"partner": f"No partner {data['partner']} here."})
        data["partner"] = partner
    if data.get("profession") is not None:
        profession = Profession.objects.filter(pk=data["profession"]).first()
        if profession is None:
            raise ValidationError({"profession": f"Unknown profession '{data['profession']}'."})
        data["profession"] = profession
    return data


def _get(request: HttpRequest, referral_id: int) -> Any:
    referral = selectors.referral_get(practice=request.practice, pk=referral_id)
    return referral


@router.get("", response=list[ReferralOut])
@paginate(LimitOffsetPagination)
def list_referrals(
    request: HttpRequest, direction: str = "", status: str = "", client: int | None = None
) -> Any:
    return selectors.referral_list(
        practice=request.practice, direction=direction, status=status, client_id=client
    ).prefetch_related("events__by")


@router.post("", response={201: ReferralOut})
def create_referral(request: HttpRequest, payload: ReferralIn) -> Any:
    referral = services.referral_create(
        practice=request.practice, by=request.user, fields=_resolve(payload.dict(), request)
    )
    return Status(201, _get(request, referral.pk))


@router.get("/{int:referral_id}", response=ReferralOut)
def get_referral(request: HttpRequest, referral_id: int) -> Any:
    return _get(request, referral_id)


@router.patch("/{int:referral_id}", response=ReferralOut)
def update_referral(request: HttpRequest, referral_id: int, payload: ReferralPatch) -> Any:
    referral = _get(request, referral_id)
    fields = _resolve(payload.dict(exclude_unset=True), request)
    services.referral_update(referral=referral, by=request.user, fields=fields)
    return _get(request, referral_id)


@router.post("/{int:referral_id}/transitions", response=ReferralOut)
def transition_referral(request: HttpRequest, referral_id: int, payload: TransitionIn) -> Any:
    referral = _get(request, referral_id)
    services.referral_transition(
        referral=referral, to=payload.to, by=request.user, note=payload.note
    )
    return _get(request, referral_id)
