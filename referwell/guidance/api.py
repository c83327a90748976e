from __future__ import annotations

from typing import Any

from django.utils import timezone
from ninja import Router

from referwell.accounts.http import PracticeRequest
from referwell.audit.services import log_request
from referwell.clients.selectors import client_get, visit_list
from referwell.core.decorators import api_clinical_required
from referwell.core.schemas import ErrorOut
from referwell.guidance.engine import RETURNING_CLIENT, Intake
from referwell.guidance.schemas import SuggestIn, SuggestOut
from referwell.guidance.selectors import Guidance, guidance_for, guidance_for_client

router = Router(tags=["guidance"])


def _out(guidance: Guidance) -> dict[str, Any]:
    result = guidance.result
    return {
        "suggestions": [
            {
                **s.public(),
                "name": s.name,
                "partners": [
                    {
                        "partner": p.partner_id,
                        "name": p.name,
                        "score": p.score,
                        "components": [c.__dict__ for c in p.components],
                    }
                    for p in guidance.partners.get(s.profession, [])
                ],
            }
            for s in result.suggestions
        ],
        "findings": [m.__dict__ for m in result.findings],
        "ignored": [i.__dict__ for i in result.ignored],
        "knowledge_base_version": result.kb_version,
    }


@router.post("/suggest", response={200: SuggestOut, 403: ErrorOut, 404: ErrorOut})
@api_clinical_required  # it reads clinical notes: not for the front desk
def suggest_referrals(request: PracticeRequest, payload: SuggestIn) -> dict[str, Any]:
    """Which professions could help, why, how urgently, when — and your partners, ranked."""
    practice = request.practice
    if payload.client is not None:
        client = client_get(practice=practice, pk=payload.client)
        days = list(visit_list(practice=practice, client=client).values_list("date", flat=True))
        log_request(request, action="referwell.guidance.suggested", obj=client)
        return _out(
            guidance_for_client(
                practice=practice, client=client, visit_days=days, today=timezone.localdate()
            )
        )
    intake = Intake(
        notes=payload.notes,
        complaints=payload.complaints,
        goals=payload.goals,
        history=payload.history,
        visit_number=payload.visit_number or RETURNING_CLIENT,
        needs_assessment=payload.needs_assessment,
        offered_modalities=practice.modality_list,
    )
    return _out(
        guidance_for(
            practice=practice, intake=intake, zip_code=payload.zip_code, insurance=payload.insurance
        )
    )
