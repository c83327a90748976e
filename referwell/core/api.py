"""The JSON API at /api/v1/: bearer tokens per member, scoped to the member's practice."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from ninja import NinjaAPI
from ninja.security import HttpBearer

from referwell.accounts.models import ApiToken, hash_token
from referwell.outreach.letters import LetterTemplateError
from referwell.referrals.states import TransitionError


class MemberToken(HttpBearer):
    """`Authorization: Bearer TOKEN`; sets request.member and request.practice."""

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        row = (
            ApiToken.objects.select_related("member__practice", "member__user")
            .filter(token_hash=hash_token(token), revoked_at__isnull=True)
            .first()
        )
        if row is None or not row.member.is_active or not row.member.user.is_active:
            return None
        ApiToken.objects.filter(pk=row.pk).update(last_used_at=timezone.now())
        request.member = row.member  # type: ignore[attr-defined]
        request.practice = row.member.practice  # type: ignore[attr-defined]
        request.user = row.member.user
        return row.member


api = NinjaAPI(
    title="Referwell API",
    version="1",
    description="Partners, clients and referrals of your practice. "
    "Authenticate with `Authorization: Bearer TOKEN` (`referwell token`).",
    auth=MemberToken(),
    urls_namespace="api",
)


def _messages(exc: ValidationError) -> dict[str, list[str]]:
    if hasattr(exc, "error_dict"):
        return {k: [str(m) for e in v for m in e.messages] for k, v in exc.error_dict.items()}
    return {"__all__": [str(m) for m in exc.messages]}


@api.exception_handler(ValidationError)
def on_validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    errors = _messages(exc)
    first = next(iter(errors.items()))
    reason = first[1][0] if first[0] == "__all__" else f"{first[0]}: {first[1][0]}"
    return api.create_response(request, {"detail": reason, "errors": errors}, status=400)


@api.exception_handler(TransitionError)
def on_transition_error(request: HttpRequest, exc: TransitionError) -> HttpResponse:
    return api.create_response(request, {"detail": str(exc)}, status=409)


@api.exception_handler(LetterTemplateError)
def on_letter_error(request: HttpRequest, exc: LetterTemplateError) -> HttpResponse:
    return api.create_response(
        request, {"detail": f"The practice's letter template is wrong: {exc}"}, status=400
    )


@api.exception_handler(OSError)
def on_mail_error(request: HttpRequest, exc: OSError) -> HttpResponse:
    # smtplib's errors are OSErrors: the mail server could not take the message.
    detail = f"The e-mail could not be sent: {exc}. Nothing was changed."
    return api.create_response(request, {"detail": detail}, status=503)


# The routers import the API's schemas and services; they are added last.
from referwell.clients.api import router as clients_router  # noqa: E402
from referwell.directory.api import router as directory_router  # noqa: E402
from referwell.guidance.api import router as guidance_router  # noqa: E402
from referwell.outreach.api import router as today_router  # noqa: E402
from referwell.referrals.api import router as referrals_router  # noqa: E402

api.add_router("/partners", directory_router)
api.add_router("/clients", clients_router)
api.add_router("/referrals", referrals_router)
api.add_router("/guidance", guidance_router)
api.add_router("/today", today_router)
