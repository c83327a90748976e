from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import QuerySet, prefetch_related_objects
from ninja import Query, Router, Status
from ninja.errors import HttpError
from ninja.pagination import paginate

from referwell.accounts.http import PracticeRequest
from referwell.audit.services import log_request
from referwell.clients.models import Client
from referwell.core.decorators import CLINICAL_ONLY, api_clinical_required, is_clinical
from referwell.core.schemas import MAX_ID, AuditedPage, PathId, refuse_clinical_writes
from referwell.directory.models import Partner, Profession
from referwell.referrals import selectors, services
from referwell.referrals.models import Referral
from referwell.referrals.schemas import (
    LinkOut,
    MessageOut,
    NoteIn,
    ReferralIn,
    ReferralOut,
    ReferralPatch,
    ReportIn,
    SendOut,
    TransitionIn,
)
from referwell.referrals.states import link_refusal, sends_information

router = Router(tags=["referrals"])


def _resolve(data: dict[str, Any], request: PracticeRequest) -> dict[str, Any]:
    """Turn ids into this practice's objects; an id from elsewhere is simply not found."""
    refuse_clinical_writes(request, data, ("reasons",))
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


def _get(request: PracticeRequest, referral_id: int) -> Referral:
    referral = selectors.referral_get(practice=request.practice, pk=referral_id)
    return referral


def _out(referral: Referral) -> Referral:
    """A referral to answer with: its timeline and each step's author in two queries."""
    prefetch_related_objects([referral], "events__by")
    return referral


@router.get("", response=list[ReferralOut])
@paginate(AuditedPage, action="referwell.referral.listed")
def list_referrals(
    request: PracticeRequest,
    direction: str = "",
    status: str = "",
    # ninja types Query for mypy as an Annotated alias; called, it is the parameter's default.
    client: int | None = Query(None, ge=1, le=MAX_ID),  # type: ignore[type-arg]
) -> QuerySet[Referral]:
    return selectors.referral_list(
        practice=request.practice, direction=direction, status=status, client_id=client
    ).prefetch_related("events__by")


@router.post("", response={201: ReferralOut})
def create_referral(request: PracticeRequest, payload: ReferralIn) -> Status[Referral]:
    referral = services.referral_create(
        practice=request.practice, by=request.user, fields=_resolve(payload.dict(), request)
    )
    return Status(201, _out(_get(request, referral.pk)))


@router.get("/{referral_id}", response=ReferralOut)
def get_referral(request: PracticeRequest, referral_id: PathId) -> Referral:

    referral = _get(request, referral_id)
    log_request(request, action="referwell.referral.viewed", obj=referral)
    return _out(referral)


@router.patch("/{referral_id}", response=ReferralOut)
def update_referral(
    request: PracticeRequest, referral_id: PathId, payload: ReferralPatch
) -> Referral:
    referral = _get(request, referral_id)
    fields = _resolve(payload.dict(exclude_unset=True), request)
    services.referral_update(referral=referral, by=request.user, fields=fields)
    return _out(_get(request, referral_id))


@router.post("/{referral_id}/transitions", response=ReferralOut)
def transition_referral(
    request: PracticeRequest, referral_id: PathId, payload: TransitionIn
) -> Referral:
    if payload.note:
        refuse_clinical_writes(request, {"note": payload.note}, ("note",))
    referral = _get(request, referral_id)
    # Marking it sent (or a report sent back) by hand is sending: a clinician's move.
    if sends_information(referral.direction, payload.to) and not is_clinical(request):
        raise HttpError(403, CLINICAL_ONLY)
    services.referral_transition(
        referral=referral, to=payload.to, by=request.user, note=payload.note
    )
    return _out(_get(request, referral_id))


@router.post("/{referral_id}/notes", response={201: ReferralOut})
@api_clinical_required
def add_note(request: PracticeRequest, referral_id: PathId, payload: NoteIn) -> Status[Referral]:
    """A note on the timeline (a clinician's: it is clinical text). The referral does not move."""
    referral = _get(request, referral_id)
    services.referral_note(referral=referral, by=request.user, note=payload.note)
    return Status(201, _out(_get(request, referral_id)))


@router.post("/{referral_id}/undo", response=ReferralOut)
def undo_move(request: PracticeRequest, referral_id: PathId) -> Referral:
    """Take the last move back: by the member who made it, within states.UNDO_WINDOW, while
    nothing else happened to the referral (notes aside), never a move that sent information;
    409 with the reason otherwise (states.undo_refusal). The page's Undo follows the same rule."""
    referral = _get(request, referral_id)
    services.referral_undo(referral=referral, by=request.user)
    return _out(_get(request, referral_id))


def _base_url(request: PracticeRequest) -> str:
    return request.build_absolute_uri("/")


@router.post("/{referral_id}/send", response=SendOut)
@api_clinical_required
def send_referral(request: PracticeRequest, referral_id: PathId) -> dict[str, object]:
    """Send a consented referral: letter by e-mail (or PDF), partner link, disclosure."""
    referral = _get(request, referral_id)
    result = services.referral_send(referral=referral, by=request.user, base_url=_base_url(request))
    message = result["message"]
    return {
        "referral": referral.pk,
        "status": "sent",
        "message": message.pk,
        "sent_by": "email" if message.to_email else "letter",
        "to_email": message.to_email,
        "link": result["url"],
    }


@router.post("/{referral_id}/link", response={201: LinkOut})
@api_clinical_required
def new_link(request: PracticeRequest, referral_id: PathId) -> Status[dict[str, object]]:
    referral = _get(request, referral_id)
    if reason := link_refusal(referral.status, referral.direction):
        raise HttpError(409, reason)
    link, token = services.link_issue(referral=referral, by=request.user)
    return Status(
        201,
        {"link": _base_url(request).rstrip("/") + f"/l/{token}/", "expires_at": link.expires_at},
    )


@router.delete("/{referral_id}/link", response={204: None})
@api_clinical_required
def revoke_links(request: PracticeRequest, referral_id: PathId) -> Status[None]:
    referral = _get(request, referral_id)
    for link in selectors.referral_links(practice=request.practice, referral=referral):
        services.link_revoke(link=link, by=request.user)
    return Status(204, None)


@router.post("/{referral_id}/report", response=MessageOut)
@api_clinical_required
def send_report(
    request: PracticeRequest, referral_id: PathId, payload: ReportIn
) -> services.SentLetter:
    referral = _get(request, referral_id)
    return services.report_send(referral=referral, text=payload.text, by=request.user)


@router.post("/{referral_id}/thank-you", response=MessageOut)
def send_thank_you(request: PracticeRequest, referral_id: PathId) -> services.SentLetter:
    referral = _get(request, referral_id)
    return services.thank_you_send(referral=referral, by=request.user)
