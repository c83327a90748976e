from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.http import HttpRequest
from ninja import Router, Status
from ninja.pagination import LimitOffsetPagination, paginate

from referwell.clients import selectors, services
from referwell.clients.models import Client
from referwell.clients.schemas import ClientIn, ClientOut, ClientPatch
from referwell.directory.models import Partner

router = Router(tags=["clients"])


def _fields(payload: ClientPatch, request: HttpRequest) -> dict[str, Any]:
    data = payload.dict(exclude_unset=True)
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
@paginate(LimitOffsetPagination)
def list_clients(request: HttpRequest, q: str = "", stream: str = "") -> Any:
    return selectors.client_list(practice=request.practice, q=q, stream=stream)


@router.post("", response={201: ClientOut})
def create_client(request: HttpRequest, payload: ClientIn) -> Any:
    client = services.client_create(
        practice=request.practice, by=request.user, fields=_fields(payload, request)
    )
    return Status(201, client)


@router.get("/{int:client_id}", response=ClientOut)
def get_client(request: HttpRequest, client_id: int) -> Any:
    client = selectors.client_get(practice=request.practice, pk=client_id)
    from referwell.audit.services import log_action

    log_action(
        practice=request.practice, actor=request.user, action="referwell.client.viewed", obj=client
    )
    return client


@router.patch("/{int:client_id}", response=ClientOut)
def update_client(request: HttpRequest, client_id: int, payload: ClientPatch) -> Any:
    client = selectors.client_get(practice=request.practice, pk=client_id)
    return services.client_update(client=client, by=request.user, fields=_fields(payload, request))
