"""The JSON API at /api/v1/, assembled: each app's router, the errors every operation may give,
and bearer tokens per member (`referwell.accounts.api.MemberToken`), scoped to the member's
practice."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.utils.datastructures import MultiValueDict
from ninja import NinjaAPI
from ninja.errors import HttpError
from ninja.openapi.schema import OpenAPISchema
from ninja.parser import Parser

from referwell.accounts.api import MemberToken
from referwell.clients.api import router as clients_router
from referwell.core.errors import ApplicationError
from referwell.core.schemas import ErrorOut
from referwell.directory.api import router as directory_router
from referwell.guidance.api import router as guidance_router
from referwell.outreach.api import router as today_router
from referwell.outreach.letters import LetterTemplateError
from referwell.referrals.api import router as referrals_router
from referwell.referrals.states import TransitionError

# The answers any operation may give besides its own, all with an ErrorOut body: the status
# codes of the exception handlers below and of django-ninja itself (401, 422, and 400 for a
# body that is not JSON), so that clients and schemathesis know every status the API sends.
ERROR_STATUSES = {
    "400": "The request cannot be carried out: `detail` says why, `errors` per field.",
    "401": "No API token, or a revoked one.",
    "403": "Refused: your role does not allow this, or your practice requires two-factor login "
    "and you have not set it up yet.",
    "422": "Malformed request: `detail` lists each field that is wrong and why.",
}
ERROR_STATUSES_WITH_ID = {"404": "Nothing with this id in your practice."}
ERROR_STATUSES_OF_WRITES = {
    "403": "Your role does not allow this write (the front desk and clinical text).",
    "409": "Not possible in the object's current state: `detail` says why.",
    "503": "The e-mail could not be sent; nothing was changed.",
}


class QueryParser(Parser):
    """Query parameters without NUL characters, which PostgreSQL refuses in a query (a 500);
    request bodies are checked by their schemas (core.schemas.InSchema)."""

    def parse_querydict(
        self, data: MultiValueDict[str, str], list_fields: list[str], request: HttpRequest
    ) -> dict[str, Any]:
        for key, values in data.lists():
            if "\x00" in key or any("\x00" in value for value in values):
                raise HttpError(400, f"The parameter {key!r} holds a NUL character.")
        return super().parse_querydict(data, list_fields, request)


class ReferwellAPI(NinjaAPI):
    def get_openapi_schema(self, **kwargs: Any) -> OpenAPISchema:
        schema = super().get_openapi_schema(**kwargs)
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components["ErrorOut"] = ErrorOut.model_json_schema(
            ref_template="#/components/schemas/{model}"
        )
        body = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorOut"}}}
        for path, operations in schema["paths"].items():
            for method, operation in operations.items():
                statuses = dict(ERROR_STATUSES)
                if "{" in path:
                    statuses.update(ERROR_STATUSES_WITH_ID)
                if method != "get":
                    statuses.update(ERROR_STATUSES_OF_WRITES)
                for status, description in statuses.items():
                    operation["responses"].setdefault(
                        status, {"description": description, "content": body}
                    )
        return schema


api = ReferwellAPI(
    title="Referwell API",
    version="1",
    description="Partners, clients and referrals of your practice. "
    "Authenticate with `Authorization: Bearer TOKEN` (`referwell token`).",
    auth=MemberToken(),
    parser=QueryParser(),
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


@api.exception_handler(ApplicationError)
def on_application_error(request: HttpRequest, exc: ApplicationError) -> HttpResponse:
    # A refusal of a service's (core.errors); its subclasses with a handler of their own
    # (a move the states refuse: 409; a letter template) answer through theirs.
    return api.create_response(request, {"detail": exc.message}, status=400)


@api.exception_handler(OSError)
def on_mail_error(request: HttpRequest, exc: OSError) -> HttpResponse:
    # smtplib's errors are OSErrors: the mail server could not take the message.
    detail = f"The e-mail could not be sent: {exc}. Nothing was changed."
    return api.create_response(request, {"detail": detail}, status=503)


api.add_router("/partners", directory_router)
api.add_router("/clients", clients_router)
api.add_router("/referrals", referrals_router)
api.add_router("/guidance", guidance_router)
api.add_router("/today", today_router)
