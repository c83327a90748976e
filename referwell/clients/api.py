from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from ninja import Router, Status
from ninja.errors import HttpError
from ninja.pagination import paginate

from referwell.accounts.http import PracticeRequest
from referwell.audit.models import Disclosure
from referwell.audit.services import log_request
from referwell.clients import selectors, services
from referwell.clients.models import Client, Consent
from referwell.clients.schemas import (
    CLINICAL_FIELDS,
    ClientIn,
    ClientOut,
    ClientPatch,
    ConsentIn,
    ConsentOut,
    DisclosureOut,
)
from referwell.core.schemas import AuditedPage, ErrorOut, PathId, refuse_clinical_writes
from referwell.directory.models import Partner, Profession

router = Router(tags=["clients"])


def _fields(payload: ClientPatch, request: PracticeRequest) -> dict[str, Any]:
    data = payload.dict(exclude_unset=True)
    refuse_clinical_writes(request, data, CLINICAL_FIELDS)
    practice = request.practice
    for key, model in (("source_partner", Partner), ("source_client", Client)):
        if key in data and data[key] is not None:
            obj = model.objects.for_practice(practice).filter(pk=data[key]).first()
            if obj is None:
                raise ValidationError({key: f"No {key.replace('_', ' ')} {data[key]} here."})
            data[key] = obj
    for text in (
        "email",
        "phone",
        "zip_code",
        "insurance",
        "complaints",
        "goals",
        "history",
        "notes",
    ):
        if text in data and data[text] is None:
            data[text] = ""
    if "stream" in data and data["stream"] is None:
        data["stream"] = ""
    return data


@router.get("", response=list[ClientOut])
@paginate(AuditedPage, action="referwell.client.listed")
def list_clients(request: PracticeRequest, q: str = "", stream: str = "") -> QuerySet[Client]:
    return selectors.client_list(practice=request.practice, q=q, stream=stream)


@router.post("", response={201: ClientOut})
def create_client(request: PracticeRequest, payload: ClientIn) -> Status[Client]:
    client = services.client_create(
        practice=request.practice, by=request.user, fields=_fields(payload, request)
    )
    return Status(201, client)


@router.get("/{client_id}", response=ClientOut)
def get_client(request: PracticeRequest, client_id: PathId) -> Client:
    client = selectors.client_get(practice=request.practice, pk=client_id)

    log_request(request, action="referwell.client.viewed", obj=client)
    return client


@router.patch("/{client_id}", response=ClientOut)
def update_client(request: PracticeRequest, client_id: PathId, payload: ClientPatch) -> Client:
    client = selectors.client_get(practice=request.practice, pk=client_id)
    return services.client_update(client=client, by=request.user, fields=_fields(payload, request))


@router.get("/{client_id}/consents", response=list[ConsentOut])
def list_consents(request: PracticeRequest, client_id: PathId) -> list[Consent]:
    client = selectors.client_get(practice=request.practice, pk=client_id)
    return list(selectors.consent_list(practice=request.practice, client=client))


@router.post("/{client_id}/consents", response={201: ConsentOut})
def create_consent(
    request: PracticeRequest, client_id: PathId, payload: ConsentIn
) -> Status[Consent]:
    client = selectors.client_get(practice=request.practice, pk=client_id)
    data = payload.dict()
    if data["partner"] is not None:
        partner = Partner.objects.for_practice(request.practice).filter(pk=data["partner"]).first()
        if partner is None:
            raise ValidationError({"partner": f"No partner {data['partner']} here."})
        data["partner"] = partner
    if data["profession"] is not None:
        data["profession"] = Profession.objects.filter(pk=data["profession"]).first()
        if data["profession"] is None:
            raise ValidationError({"profession": f"Unknown profession '{payload.profession}'."})
    if data["given_on"] is None:
        data.pop("given_on")
    if data["partner"] is None and data["profession"] is None:
        raise ValidationError("Name the partner or the kind of professional.")
    return Status(201, services.consent_create(client=client, by=request.user, fields=data))


@router.post("/consents/{consent_id}/revoke", response=ConsentOut)
def revoke_consent(request: PracticeRequest, consent_id: PathId) -> Consent:
    consent = selectors.consent_get(practice=request.practice, pk=consent_id)
    return services.consent_revoke(consent=consent, by=request.user)


@router.get("/{client_id}/disclosures", response={200: list[DisclosureOut], 403: ErrorOut})
def list_disclosures(request: PracticeRequest, client_id: PathId) -> list[Disclosure]:
    """The accounting of disclosures: every time this client's information left the practice.
    Not for the front desk (403)."""
    client = selectors.client_get(practice=request.practice, pk=client_id)
    if not request.member.sees_disclosures:
        raise HttpError(403, "The accounting of disclosures is for therapists and owners.")
    return list(selectors.disclosure_list(practice=request.practice, client=client))
