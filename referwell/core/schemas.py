"""What every API router shares: the error body, bounded ids and pagination.

Bad input is a 4xx with a reason, never a 500: an id or an offset larger than the database's
64-bit integers would overflow in the query, so they are refused (422) before it.
"""

from __future__ import annotations

from typing import Annotated, Any

from django.core.exceptions import ImproperlyConfigured
from django.db.models import QuerySet
from django.dispatch import Signal
from django.http import HttpRequest
from ninja import Path, Schema
from ninja.pagination import LimitOffsetPagination
from pydantic import Field, field_validator

# The largest id a row can have (a signed 64-bit integer, SQLite's and PostgreSQL's bigint).
MAX_ID = 2**63 - 1
MAX_OFFSET = 10**9
MAX_LIMIT = 1000

# An object's id in a URL path, a query or a body: 1 … MAX_ID.
PathId = Annotated[int, Path(..., ge=1, le=MAX_ID)]
BodyId = Annotated[int, Field(ge=1, le=MAX_ID)]


def _refuse_nul(value: Any) -> Any:
    if isinstance(value, str) and "\x00" in value:
        raise ValueError("Null characters are not allowed.")
    if isinstance(value, list):
        for item in value:
            _refuse_nul(item)
    return value


class InSchema(Schema):
    """A request body. Its text may not hold NUL characters: PostgreSQL refuses them (a 500
    on save or in a query), and Django's forms refuse them too (ProhibitNullCharacters)."""

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        return _refuse_nul(value)


class ErrorOut(Schema):
    """Every 4xx answer: `detail` says why (a list of field errors for a malformed request)."""

    detail: str | list[dict[str, Any]]
    errors: dict[str, list[str]] | None = None


class Page(LimitOffsetPagination):
    """Limit and offset, bounded."""

    class Input(Schema):
        limit: int = Field(100, ge=1, le=MAX_LIMIT)
        offset: int = Field(0, ge=0, le=MAX_OFFSET)


# Sent (request, action, ids) for each page of client information an answer carries. The
# audit trail receives it (referwell.audit connects its receiver when the app is ready): the
# kernel knows that a read must be recorded, not the app that records it.
page_read = Signal()


class AuditedPage(Page):
    """A page of client information: one audit entry (`action`) naming the rows it returns.
    `@paginate(AuditedPage, action="referwell.client.listed")`."""

    def __init__(self, *, action: str, **kwargs: Any) -> None:
        self.action = action
        super().__init__(**kwargs)

    def paginate_queryset(
        self,
        queryset: QuerySet[Any],
        pagination: Any,  # a Page.Input
        request: HttpRequest,
        **params: Any,
    ) -> Any:
        if not page_read.has_listeners(AuditedPage):
            # Client information is never answered unrecorded.
            raise ImproperlyConfigured("Nothing records the reads of client information.")
        page = super().paginate_queryset(queryset, pagination, request, **params)
        rows = list(page[self.items_attribute])  # evaluated once, here, instead of by ninja
        page[self.items_attribute] = rows
        page_read.send(AuditedPage, request=request, action=self.action, ids=[r.pk for r in rows])
        return page


def clinical_text(value: str, context: Any) -> str:
    """Clinical text in an answer: for the members who see it; empty for the front desk
    (minimum necessary), and for anything without a member."""
    member = getattr((context or {}).get("request"), "member", None)
    return value if member is not None and member.sees_clinical else ""


def refuse_clinical_writes(
    request: HttpRequest, data: dict[str, Any], fields: tuple[str, ...]
) -> None:
    """The front desk does not write clinical text: a 403 that says which fields."""
    from ninja.errors import HttpError

    member = getattr(request, "member", None)
    written = [name for name in fields if name in data]
    if written and not (member is not None and member.sees_clinical):
        raise HttpError(403, f"The front desk cannot write clinical text ({', '.join(written)}).")
