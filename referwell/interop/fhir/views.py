"""The FHIR R4 read and search API at /fhir/R4/: plain Django views answering
application/fhir+json, authenticated by a member's API token (`Authorization: Bearer TOKEN`)
and scoped to the token's practice. Every error is an OperationOutcome with a 4xx status."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import wraps
from typing import Any, Generic, Protocol, TypeVar
from urllib.parse import urlencode

from django.db import models
from django.db.models import Prefetch, Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.views.decorators.csrf import csrf_exempt
from ninja.errors import HttpError

from referwell.accounts.api import MemberToken
from referwell.accounts.http import PracticeRequest
from referwell.accounts.models import Member, Practice
from referwell.audit.services import log_read
from referwell.directory.models import Partner
from referwell.directory.selectors import partner_get
from referwell.guidance import kb
from referwell.interop.fhir import mapping
from referwell.referrals.models import Referral, ReferralEvent
from referwell.referrals.selectors import referral_get
from referwell.referrals.states import FHIR_TASK_STATUS

DEFAULT_COUNT = 20
MAX_COUNT = 100
MAX_OFFSET = 10**9
# Result parameters a client may send that change nothing here.
IGNORED_PARAMS = {"_format", "_pretty", "_total", "_totalMethod"}
JSON_FORMATS = {"json", "application/json", "application/fhir+json"}
CONTENT_TYPE = f"{mapping.CONTENT_TYPE}; charset=utf-8"


class SearchError(ValueError):
    """A search the server cannot run: the message tells the client why (400)."""


def _response(data: dict[str, Any], status: int = 200) -> HttpResponse:
    return HttpResponse(
        json.dumps(data, ensure_ascii=False), status=status, content_type=CONTENT_TYPE
    )


def outcome(status: int, code: str, message: str) -> HttpResponse:
    response = _response(mapping.operation_outcome(code, message), status=status)
    if status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="Referwell FHIR"'
    return response


def _authenticate(request: HttpRequest) -> Member | None:
    """The member whose token is in the Authorization header, or None. Only the token counts:
    a browser session does not open the FHIR API."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return MemberToken().authenticate(request, token.strip())


def fhir_view(
    *, auth: bool = True
) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """A FHIR view: read-only, JSON only, errors as OperationOutcomes; with `auth`, behind a
    member's API token, which sets the request's member and practice (a PracticeRequest)."""

    def decorate(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @csrf_exempt
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if request.method not in ("GET", "HEAD"):
                response = outcome(
                    405, "not-supported", "This FHIR server is read-only: use GET (read, search)."
                )
                response["Allow"] = "GET, HEAD"
                return response
            fmt = request.GET.get("_format")
            if fmt and fmt not in JSON_FORMATS:
                return outcome(406, "not-supported", "Only JSON (application/fhir+json).")
            try:
                if auth and _authenticate(request) is None:
                    return outcome(
                        401, "login", "Send a valid API token: Authorization: Bearer TOKEN."
                    )
            except HttpError as exc:  # a token refused with a reason (two-factor first)
                return outcome(exc.status_code, "security", str(exc))
            try:
                return view(request, *args, **kwargs)
            except SearchError as exc:
                return outcome(400, "invalid", str(exc))
            except Http404 as exc:
                return outcome(404, "not-found", str(exc) or "Not found.")

        return wrapper

    return decorate


# ------------------------------------------------------------------ search parameters


@dataclass(frozen=True)
class DateCondition:
    """One `_lastUpdated` value: a prefix and the range its precision covers."""

    prefix: str
    start: dt.datetime
    end: dt.datetime

    def q(self, name: str) -> Q:
        if self.prefix == "eq":
            return Q(**{f"{name}__gte": self.start, f"{name}__lt": self.end})
        if self.prefix == "ne":
            return ~Q(**{f"{name}__gte": self.start, f"{name}__lt": self.end})
        if self.prefix == "gt":
            return Q(**{f"{name}__gte": self.end})
        if self.prefix == "ge":
            return Q(**{f"{name}__gte": self.start})
        if self.prefix == "lt":
            return Q(**{f"{name}__lt": self.start})
        return Q(**{f"{name}__lt": self.end})  # le

    def matches(self, value: dt.datetime) -> bool:
        inside = self.start <= value < self.end
        return {
            "eq": inside,
            "ne": not inside,
            "gt": value >= self.end,
            "ge": value >= self.start,
            "lt": value < self.start,
            "le": value < self.end,
        }[self.prefix]


DATE_VALUE = re.compile(r"^(eq|ne|gt|lt|ge|le)?(\d{4})(?:-(\d{2})(?:-(\d{2})(T.+)?)?)?$")


def parse_date_condition(value: str) -> DateCondition:
    match = DATE_VALUE.match(value.strip())
    if not match:
        raise SearchError(
            f"'{value}' is not a date search: a prefix (eq, ne, gt, ge, lt, le) and a date "
            "such as ge2026-01-01."
        )
    prefix, year, month, day, time = match.groups()
    try:
        if time:
            start = parse_datetime(f"{year}-{month}-{day}{time}")
            if start is None:
                raise ValueError
            end = start + dt.timedelta(seconds=1)
        elif day:
            start = dt.datetime(int(year), int(month), int(day))
            end = start + dt.timedelta(days=1)
        elif month:
            start = dt.datetime(int(year), int(month), 1)
            end = dt.datetime(int(year) + int(month) // 12, int(month) % 12 + 1, 1)
        else:
            start = dt.datetime(int(year), 1, 1)
            end = dt.datetime(int(year) + 1, 1, 1)
        if timezone.is_naive(start):
            start, end = timezone.make_aware(start), timezone.make_aware(end)
        # Compared in UTC: the calendar's first and last days may not fit once converted.
        start.astimezone(dt.UTC), end.astimezone(dt.UTC)
    except (ValueError, OverflowError):
        raise SearchError(f"'{value}' is not a valid date.") from None
    return DateCondition(prefix or "eq", start, end)


def _tokens(value: str) -> list[tuple[str | None, str]]:
    """A token value, possibly several separated by commas (any of them): (system, code)."""
    tokens: list[tuple[str | None, str]] = []
    for part in value.split(","):
        if "|" in part:
            system, _, code = part.partition("|")
            tokens.append((system or None, code))
        else:
            tokens.append((None, part))
    return [t for t in tokens if t[1]]


def _row_id(value: str) -> int | None:
    """A row id, or None: not digits, or beyond what a database key holds."""
    # isascii: "²".isdigit() is true, and int("²") a ValueError.
    return int(value) if value.isascii() and value.isdigit() and len(value) <= 18 else None


def _int_ids(values: list[str]) -> list[int]:
    return [i for i in (_row_id(v) for v in values) if i is not None]


def _reference_ids(value: str, resource_type: str) -> list[str]:
    ids = []
    for part in value.split(","):
        key = mapping.reference_key(part) if "/" in part else f"{resource_type}/{part}"
        if key and key.startswith(f"{resource_type}/"):
            ids.append(key.split("/", 1)[1])
    return ids


def _nucc_slugs(code: str) -> list[str]:
    return [slug for slug, p in kb.load().professions.items() if code in p.nucc]


def _string_q(names: list[str], value: str, modifier: str) -> Q:
    q = Q()
    for part in value.split(","):
        lookup = "exact" if modifier == "exact" else "icontains"
        for name in names:
            q |= Q(**{f"{name}__{lookup}": part})
    return q


# What a resource type's search finds and its read renders: a partner, a referral, or (an
# Organization) the practice itself or a partner's clinic.
_Row = TypeVar("_Row", bound=models.Model)


@dataclass
class Rows(Generic[_Row]):
    """Search results: an optional first row (the practice itself) and a queryset."""

    queryset: QuerySet[_Row]
    head: list[_Row] = field(default_factory=list)
    head_updated: Callable[[_Row], dt.datetime] | None = None

    def count(self) -> int:
        return len(self.head) + self.queryset.count()

    def page(self, offset: int, count: int) -> list[_Row]:
        head = self.head[offset : offset + count]
        start = max(0, offset - len(self.head))
        rest = count - len(head)
        return head + (list(self.queryset[start : start + rest]) if rest > 0 else [])

    def filter(self, q: Q, keep_head: Callable[[_Row], bool] | None = None) -> Rows[_Row]:
        head = [row for row in self.head if keep_head and keep_head(row)]
        return Rows(self.queryset.filter(q).distinct(), head, self.head_updated)


class Apply(Protocol):
    """A search parameter's filter: (rows, value, modifier, practice) → rows, for any kind."""

    def __call__(
        self, rows: Rows[_Row], value: str, modifier: str, practice: Practice, /
    ) -> Rows[_Row]: ...


@dataclass
class Param:
    type: str
    documentation: str
    apply: Apply
    modifiers: tuple[str, ...] = ("",)


def _by_id(rows: Rows[_Row], value: str, modifier: str, practice: Practice) -> Rows[_Row]:
    ids = value.split(",")
    return rows.filter(Q(pk__in=_int_ids(ids)), keep_head=lambda _row: mapping.PRACTICE_ID in ids)


def _by_last_updated(rows: Rows[_Row], value: str, modifier: str, practice: Practice) -> Rows[_Row]:
    condition = parse_date_condition(value)
    updated = rows.head_updated
    return rows.filter(
        condition.q("updated_at"),
        keep_head=lambda row: updated is not None and condition.matches(updated(row)),
    )


def _by_partner_identifier(
    rows: Rows[_Row], value: str, modifier: str, practice: Practice
) -> Rows[_Row]:
    q = Q(pk__in=[])
    for system, code in _tokens(value):
        if system in (None, mapping.NPI_SYSTEM):
            q |= Q(npi=code)
        if system == mapping.partner_system(practice.slug) and _row_id(code) is not None:
            q |= Q(pk=_row_id(code))
    return rows.filter(q)


def _by_specialty(rows: Rows[_Row], value: str, modifier: str, practice: Practice) -> Rows[_Row]:
    q = Q(pk__in=[])
    for system, code in _tokens(value):
        if system == mapping.NUCC_SYSTEM or (system is None and _nucc_slugs(code)):
            q |= Q(professions__slug__in=_nucc_slugs(code))
        if system is None:
            q |= Q(specialties__icontains=code)
    return rows.filter(q)


def _by_role(rows: Rows[_Row], value: str, modifier: str, practice: Practice) -> Rows[_Row]:
    q = Q(pk__in=[])
    for system, code in _tokens(value):
        if system in (None, mapping.NUCC_SYSTEM):
            q |= Q(professions__slug__in=_nucc_slugs(code))
    return rows.filter(q)


def _string(*names: str, head: Callable[[Practice], str] | None = None) -> Apply:
    """`head`: the practice's value, when the rows begin with the practice (Organization)."""

    def apply(rows: Rows[_Row], value: str, modifier: str, practice: Practice) -> Rows[_Row]:
        def keep(row: _Row) -> bool:
            text = head(row) if head and isinstance(row, Practice) else ""
            parts = value.split(",")
            if modifier == "exact":
                return text in parts
            return any(p.lower() in text.lower() for p in parts)

        return rows.filter(_string_q(list(names), value, modifier), keep_head=keep)

    return apply


def _by_reference(field_name: str, resource_type: str) -> Apply:
    def apply(rows: Rows[_Row], value: str, modifier: str, practice: Practice) -> Rows[_Row]:
        ids = _int_ids(_reference_ids(value, resource_type))
        return rows.filter(Q(**{f"{field_name}__in": ids}))

    return apply


def _by_request_status(
    rows: Rows[_Row], value: str, modifier: str, practice: Practice
) -> Rows[_Row]:
    codes = {code for _, code in _tokens(value)}
    statuses = [s for s, fhir in mapping.SERVICE_REQUEST_STATUS.items() if fhir in codes]
    return rows.filter(Q(status__in=statuses))


def _by_task_status(rows: Rows[_Row], value: str, modifier: str, practice: Practice) -> Rows[_Row]:
    codes = {code for _, code in _tokens(value)}
    statuses = [s for s, fhir in FHIR_TASK_STATUS.items() if fhir in codes]
    return rows.filter(Q(status__in=statuses))


STRING_MODIFIERS = ("", "contains", "exact")
ID = Param("token", "The resource id; several separated by commas.", _by_id)
LAST_UPDATED = Param(
    "date",
    "When the resource last changed, with a prefix: ge2026-01-01, lt2026-02.",
    _by_last_updated,
)


# ------------------------------------------------------------------ the resource types


@dataclass
class Kind(Generic[_Row]):
    """One resource type: where its rows come from, how one row reads, its parameters."""

    name: str
    documentation: str
    rows: Callable[[Practice], Rows[_Row]]
    get: Callable[[Practice, str], _Row]
    render: Callable[[PracticeRequest, _Row], dict[str, Any]]
    params: dict[str, Param]


def _partners(practice: Practice) -> QuerySet[Partner]:
    return Partner.objects.for_practice(practice).prefetch_related("professions").order_by("pk")


def _partner(practice: Practice, resource_id: str) -> Partner:
    if _row_id(resource_id) is None:
        raise Http404(f"No resource with the id '{resource_id}'.")
    return partner_get(practice=practice, pk=resource_id)


def _professions(partner: Partner) -> list[tuple[str, str]]:
    return [(p.slug, p.name) for p in partner.professions.all()]


def _organization(practice: Practice, resource_id: str) -> Partner | Practice:
    if resource_id == mapping.PRACTICE_ID:
        return practice
    partner = _partner(practice, resource_id)
    if not mapping.has_organization(partner):
        raise Http404(f"Partner {resource_id} names no clinic.")
    return partner


def _location(practice: Practice, resource_id: str) -> Partner:
    partner = _partner(practice, resource_id)
    if not mapping.has_location(partner):
        raise Http404(f"Partner {resource_id} has no address.")
    return partner


def _located(practice: Practice) -> QuerySet[Partner]:
    return _partners(practice).filter(
        ~Q(street="")
        | ~Q(city="")
        | ~Q(state="")
        | ~Q(zip_code="")
        | Q(latitude__isnull=False, longitude__isnull=False)
    )


def _referrals(practice: Practice) -> QuerySet[Referral]:
    return (
        Referral.objects.for_practice(practice)
        .select_related("client", "partner", "profession")
        .prefetch_related(Prefetch("events", queryset=ReferralEvent.objects.order_by("at", "id")))
        .order_by("pk")
    )


def _referral(practice: Practice, resource_id: str) -> Referral:
    if _row_id(resource_id) is None:
        raise Http404(f"No resource with the id '{resource_id}'.")
    referral_get(practice=practice, pk=resource_id)  # the 404 of another practice's id
    return _referrals(practice).get(pk=int(resource_id))


def _render_organization(request: PracticeRequest, row: Partner | Practice) -> dict[str, Any]:
    if isinstance(row, Partner):
        return mapping.partner_organization(row) or {}
    return mapping.practice_organization(row)


def _render_request(request: PracticeRequest, referral: Referral) -> dict[str, Any]:
    return mapping.referral_service_request(
        referral,
        practice=request.practice,
        clinical=request.member.sees_clinical,
        events=referral.events.all(),
    )


# Each kind has its own rows: a partner, a referral, or the practice or a partner's clinic.
_KINDS: list[Kind[Any]] = [
    Kind[Partner](
        "Practitioner",
        "The professionals of the practice's network (its partners).",
        lambda practice: Rows(_partners(practice)),
        _partner,
        lambda request, p: mapping.partner_practitioner(
            p,
            practice_slug=request.practice.slug,
        ),
        {
            "_id": ID,
            "_lastUpdated": LAST_UPDATED,
            "name": Param(
                "string",
                "Part of the name (`:exact` for the whole name).",
                _string("name"),
                STRING_MODIFIERS,
            ),
            "identifier": Param(
                "token",
                f"An NPI ({mapping.NPI_SYSTEM}|NNNNNNNNNN) or the Referwell "
                "identifier (urn:referwell:<practice>:partner|ID).",
                _by_partner_identifier,
            ),
            "specialty": Param(
                "token",
                "A specialty or modality (text), or a NUCC taxonomy code "
                f"({mapping.NUCC_SYSTEM}|CODE) of the partner's professions.",
                _by_specialty,
            ),
        },
    ),
    Kind[Partner](
        "PractitionerRole",
        "What each partner does (NUCC-coded professions, specialties), how to reach them "
        "and where.",
        lambda practice: Rows(_partners(practice)),
        _partner,
        lambda request, p: mapping.partner_role(
            p,
            practice_slug=request.practice.slug,
            professions=_professions(p),
        ),
        {
            "_id": ID,
            "_lastUpdated": LAST_UPDATED,
            "specialty": Param(
                "token",
                "A specialty or modality (text), or a NUCC taxonomy code.",
                _by_specialty,
            ),
            "role": Param("token", f"A NUCC taxonomy code ({mapping.NUCC_SYSTEM}|CODE).", _by_role),
            "practitioner": Param(
                "reference", "Practitioner/ID.", _by_reference("pk", "Practitioner")
            ),
            "identifier": Param(
                "token", "An NPI or the Referwell identifier.", _by_partner_identifier
            ),
        },
    ),
    Kind[Partner | Practice](
        "Organization",
        "The practice itself (id `practice`) and the partners' clinics.",
        lambda practice: Rows(
            _partners(practice).exclude(clinic=""),
            head=[practice],
            head_updated=lambda p: p.created_at,
        ),
        _organization,
        _render_organization,
        {
            "_id": ID,
            "_lastUpdated": LAST_UPDATED,
            "name": Param(
                "string",
                "Part of the name.",
                _string("clinic", head=lambda p: p.name),
                STRING_MODIFIERS,
            ),
        },
    ),
    Kind[Partner](
        "Location",
        "Where the partners work: address and position.",
        lambda practice: Rows(_located(practice)),
        _location,
        lambda request, p: mapping.partner_location(p) or {},
        {
            "_id": ID,
            "_lastUpdated": LAST_UPDATED,
            "name": Param(
                "string",
                "Part of the clinic's (or the partner's) name.",
                _string("clinic", "name"),
                STRING_MODIFIERS,
            ),
            "address-city": Param("string", "The city.", _string("city"), STRING_MODIFIERS),
            "address-state": Param(
                "string", "The state (two letters).", _string("state"), STRING_MODIFIERS
            ),
            "address-postalcode": Param(
                "string", "The ZIP code.", _string("zip_code"), STRING_MODIFIERS
            ),
        },
    ),
    Kind[Referral](
        "ServiceRequest",
        "Referrals, out and in. The client is named by first name and last initial only.",
        lambda practice: Rows(_referrals(practice)),
        _referral,
        _render_request,
        {
            "_id": ID,
            "_lastUpdated": LAST_UPDATED,
            "status": Param("token", "draft, active, completed or revoked.", _by_request_status),
        },
    ),
    Kind[Referral](
        "Task",
        "The fulfilment of each referral; its status follows the referral's.",
        lambda practice: Rows(_referrals(practice)),
        _referral,
        lambda request, r: mapping.referral_task(
            r,
            practice=request.practice,
        ),
        {
            "_id": ID,
            "_lastUpdated": LAST_UPDATED,
            "status": Param(
                "token",
                "draft, requested, received, accepted, rejected, in-progress, "
                "completed, cancelled or failed.",
                _by_task_status,
            ),
            "focus": Param(
                "reference", "ServiceRequest/ID.", _by_reference("pk", "ServiceRequest")
            ),
        },
    ),
]
KINDS = {k.name: k for k in _KINDS}


def _kind(resource_type: str) -> Kind[Any]:
    kind = KINDS.get(resource_type)
    if kind is None:
        raise Http404(
            f"The resource type '{resource_type}' is not served here; "
            f"these are: {', '.join(KINDS)}."
        )
    return kind


def _non_negative(name: str, value: str) -> int:
    if not (value.isascii() and value.isdigit()):  # "²".isdigit() is true, int("²") fails
        raise SearchError(f"{name} must be a whole number, not '{value}'.")
    return int(value) if len(value) <= 18 else 10**18  # the callers cap it


# ------------------------------------------------------------------ views


@fhir_view(auth=False)
def metadata(request: HttpRequest) -> HttpResponse:
    """The CapabilityStatement: what this server reads and searches (public, as FHIR wants)."""
    base = request.build_absolute_uri(reverse("fhir_metadata")).rsplit("/", 1)[0]
    resources = [
        {
            "type": kind.name,
            "documentation": kind.documentation,
            "interaction": [{"code": "read"}, {"code": "search-type"}],
            "searchParam": [
                {"name": name, "type": param.type, "documentation": param.documentation}
                for name, param in kind.params.items()
            ],
        }
        for kind in KINDS.values()
    ]
    statement = {
        "resourceType": "CapabilityStatement",
        "id": "referwell",
        "url": request.build_absolute_uri(reverse("fhir_metadata")),
        "name": "ReferwellFHIR",
        "title": "Referwell FHIR R4 API",
        "status": "active",
        "experimental": False,
        "date": timezone.localdate().isoformat(),
        "publisher": "Referwell",
        "description": "A massage practice's referral network: its partners and referrals.",
        "kind": "instance",
        "software": {"name": "Referwell"},
        "implementation": {"description": "Referwell", "url": base},
        "fhirVersion": mapping.FHIR_VERSION,
        "format": [mapping.CONTENT_TYPE, "json"],
        "rest": [
            {
                "mode": "server",
                "documentation": (
                    f"Read and search only. Page with _count (default {DEFAULT_COUNT}, at most "
                    f"{MAX_COUNT}) and follow the Bundle's next link."
                ),
                "security": {
                    "description": (
                        "Authorization: Bearer TOKEN, a member's API token (`referwell "
                        "token`). Everything belongs to the token's practice; another "
                        "practice's ids are not found."
                    )
                },
                "resource": resources,
            }
        ],
    }
    return _response(statement)


@fhir_view()
def search(request: PracticeRequest, resource_type: str) -> HttpResponse:
    kind = _kind(resource_type)
    practice = request.practice
    rows = kind.rows(practice)
    count, offset = DEFAULT_COUNT, 0
    kept: list[tuple[str, str]] = []
    for key in request.GET:
        values = request.GET.getlist(key)
        if key in IGNORED_PARAMS:
            continue
        if key == "_count":
            count = min(_non_negative("_count", values[-1]), MAX_COUNT)
            continue
        if key == "_offset":
            offset = min(_non_negative("_offset", values[-1]), MAX_OFFSET)
            continue
        name, _, modifier = key.partition(":")
        param = kind.params.get(name)
        if param is None:
            raise SearchError(
                f"'{name}' is not a search parameter of {kind.name}; these are: "
                f"{', '.join(kind.params)}, _count."
            )
        if modifier not in param.modifiers:
            raise SearchError(f"The modifier ':{modifier}' is not supported on '{name}'.")
        for value in values:
            if "\x00" in value:
                raise SearchError(f"The value of '{key}' holds a NUL character.")
            if value:
                rows = param.apply(rows, value, modifier, practice)
                kept.append((key, value))
    total = rows.count()
    page = rows.page(offset, count) if count else []
    base = request.build_absolute_uri(reverse("fhir_search", args=[kind.name]))

    def link(relation: str, at: int) -> dict[str, str]:
        query = urlencode([*kept, ("_count", str(count)), ("_offset", str(at))])
        return {"relation": relation, "url": f"{base}?{query}"}

    links = [link("self", offset)]
    if count and offset + count < total:
        links.append(link("next", offset + count))
    if count and offset > 0:
        links.append(link("previous", max(0, offset - count)))
    bundle: dict[str, Any] = {
        "resourceType": "Bundle",
        "type": "searchset",
        "meta": {"lastUpdated": mapping.instant(timezone.now())},
        "total": total,
        "link": links,
    }
    entries: list[dict[str, Any]] = []
    for row in page:
        resource = kind.render(request, row)
        url = reverse("fhir_read", args=[kind.name, resource["id"]])
        entries.append(
            {
                "fullUrl": request.build_absolute_uri(url),
                "resource": resource,
                "search": {"mode": "match"},
            }
        )
    if entries:
        bundle["entry"] = entries
    ids = [entry["resource"]["id"] for entry in entries]
    log_read(request, action="referwell.fhir.searched", ids=ids, data={"type": kind.name})
    return _response(bundle)


@fhir_view()
def read(request: PracticeRequest, resource_type: str, resource_id: str) -> HttpResponse:
    kind = _kind(resource_type)
    if not mapping.RESOURCE_ID.match(resource_id):
        raise Http404(f"'{resource_id}' is not a resource id.")
    row = kind.get(request.practice, resource_id)
    resource = kind.render(request, row)
    log_read(
        request,
        action="referwell.fhir.read",
        obj=row,
        ids=[resource.get("id", resource_id)],
        data={"type": kind.name},
    )
    return _response(resource)


@fhir_view(auth=False)
def unknown(request: HttpRequest, path: str) -> HttpResponse:
    raise Http404(
        f"Nothing at '{path or '/'}': read [type]/[id], search [type]?params, "
        "or see metadata for the CapabilityStatement."
    )
