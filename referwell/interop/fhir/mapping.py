"""FHIR R4 ↔ Referwell: our models as FHIR resources (plain dicts) and FHIR resources back as
model fields. Pure: no database access, no writes; the views, the exporter and the importer
fetch the rows and call these functions.

A partner is a Practitioner (the person), a PractitionerRole (professions as NUCC codes,
specialties, telecom, where), an Organization (the clinic) and a Location (address and
position). A referral is a ServiceRequest (who asks whom, for whom, why) and a Task (its
fulfilment, whose status follows the referral state machine). The client appears only as a
Patient reference whose display is the first name and the last initial: the minimum necessary.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator, validate_email
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from referwell.accounts.models import Practice
from referwell.core.validators import validate_npi, validate_us_zip
from referwell.directory.models import Partner, Stage
from referwell.guidance import kb
from referwell.referrals.models import Direction, Referral, ReferralEvent
from referwell.referrals.states import FHIR_TASK_STATUS, IN_TRANSITIONS, OUT_TRANSITIONS, Status

FHIR_VERSION = "4.0.1"
CONTENT_TYPE = "application/fhir+json"
NUCC_SYSTEM = "http://nucc.org/provider-taxonomy"
NPI_SYSTEM = "http://hl7.org/fhir/sid/us-npi"
SSN_SYSTEM = "http://hl7.org/fhir/sid/us-ssn"
SNOMED_SYSTEM = "http://snomed.info/sct"
ORGANIZATION_TYPE_SYSTEM = "http://terminology.hl7.org/CodeSystem/organization-type"
TASK_CODE_SYSTEM = "http://hl7.org/fhir/CodeSystem/task-code"
PRACTICE_SYSTEM = "urn:referwell:practice"
STATUS_SYSTEM = "urn:referwell:referral-status"
PRACTICE_ID = "practice"
REFERRAL_CATEGORY = {"system": SNOMED_SYSTEM, "code": "3457005", "display": "Patient referral"}
PROVIDER_TYPE = {
    "system": ORGANIZATION_TYPE_SYSTEM,
    "code": "prov",
    "display": "Healthcare Provider",
}
RESOURCE_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")
REFERENCE = re.compile(r"(?:^|/)([A-Z][A-Za-z]+)/([A-Za-z0-9\-.]{1,64})(?:/_history/[^/]+)?$")
REFERWELL_SYSTEM = re.compile(r"^urn:referwell:([A-Za-z0-9_-]+):(partner|referral)$")
NAME_PREFIXES = {"dr", "mr", "mrs", "ms", "mx", "miss", "prof", "dokter"}

S = Status
# ServiceRequest.status follows the Task's (itself the state machine's, see states.py): a
# request is a draft until it is ready to be acted on, then active until it is completed, or
# revoked when declined or cancelled.
SERVICE_REQUEST_STATUS_OF_TASK = {
    "draft": "draft",
    "requested": "active",
    "received": "active",
    "accepted": "active",
    "in-progress": "active",
    "failed": "active",
    "completed": "completed",
    "rejected": "revoked",
    "cancelled": "revoked",
}
SERVICE_REQUEST_STATUS = {
    status: SERVICE_REQUEST_STATUS_OF_TASK[task] for status, task in FHIR_TASK_STATUS.items()
}

# From another system, the closest referral status of each Task or ServiceRequest status,
# for a referral in and (only for files Referwell wrote without a business status) out.
# None: not imported (entered in error).
IN_STATUS_OF_TASK: dict[str, str | None] = {
    "draft": S.RECEIVED,
    "requested": S.RECEIVED,
    "received": S.RECEIVED,
    "ready": S.ACCEPTED,
    "accepted": S.ACCEPTED,
    "on-hold": S.ACCEPTED,
    "rejected": S.DECLINED,
    "in-progress": S.SEEN,
    "completed": S.CLOSED,
    "cancelled": S.CANCELLED,
    "failed": S.CANCELLED,
    "entered-in-error": None,
}
OUT_STATUS_OF_TASK: dict[str, str | None] = {
    "draft": S.DRAFT,
    "requested": S.SENT,
    "received": S.RECEIVED,
    "ready": S.ACCEPTED,
    "accepted": S.ACCEPTED,
    "on-hold": S.ACCEPTED,
    "rejected": S.DECLINED,
    "in-progress": S.SEEN,
    "completed": S.CLOSED,
    "cancelled": S.CANCELLED,
    "failed": S.NO_RESPONSE,
    "entered-in-error": None,
}
IN_STATUS_OF_SERVICE_REQUEST: dict[str, str | None] = {
    "draft": S.RECEIVED,
    "active": S.RECEIVED,
    "on-hold": S.RECEIVED,
    "unknown": S.RECEIVED,
    "completed": S.CLOSED,
    "revoked": S.CANCELLED,
    "entered-in-error": None,
}
OUT_STATUS_OF_SERVICE_REQUEST: dict[str, str | None] = {
    "draft": S.DRAFT,
    "active": S.SENT,
    "on-hold": S.SENT,
    "unknown": S.SENT,
    "completed": S.CLOSED,
    "revoked": S.CANCELLED,
    "entered-in-error": None,
}

RefFn = Callable[[str, str | int], str]  # (resource type, id) → reference


def partner_system(practice_slug: str) -> str:
    return f"urn:referwell:{practice_slug}:partner"


def referral_system(practice_slug: str) -> str:
    return f"urn:referwell:{practice_slug}:referral"


def rest_ref(resource_type: str, resource_id: str | int) -> str:
    """A reference as the REST API gives it: relative to the server's base."""
    return f"{resource_type}/{resource_id}"


def bundle_ref(practice_slug: str) -> RefFn:
    """References inside an exported Bundle: stable urn:uuid names, the entries' fullUrls."""

    def ref(resource_type: str, resource_id: str | int) -> str:
        name = f"urn:referwell:{practice_slug}:{resource_type}/{resource_id}"
        return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, name)}"

    return ref


def instant(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _meta(updated: dt.datetime | None) -> dict[str, Any]:
    return {"lastUpdated": instant(updated)} if updated else {}


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def patient_display(first_name: str, last_name: str) -> str:
    """The client as other systems see them: first name and last initial, nothing more."""
    first = first_name.strip()
    last = last_name.strip()
    return f"{first} {last[0].upper()}." if last else first


def _address(street: str, city: str, state: str, zip_code: str) -> dict[str, Any] | None:
    address: dict[str, Any] = {"use": "work", "type": "physical"}
    if street:
        address["line"] = [street]
    if city:
        address["city"] = city
    if state:
        address["state"] = state
    if zip_code:
        address["postalCode"] = zip_code
    if len(address) == 2:
        return None
    address["country"] = "US"
    return address


def _telecom(phone: str, email: str, website: str = "") -> list[dict[str, str]]:
    points = []
    if phone:
        points.append({"system": "phone", "value": phone, "use": "work"})
    if email:
        points.append({"system": "email", "value": email, "use": "work"})
    if website:
        points.append({"system": "url", "value": website, "use": "work"})
    return points


def human_name(name: str, credentials: str = "") -> dict[str, Any]:
    """A HumanName whose text is the name as the practice wrote it, split for machines."""
    result: dict[str, Any] = {"use": "official", "text": name}
    words = name.replace(",", " ").split()
    prefixes = []
    while len(words) > 1 and words[0].rstrip(".").lower() in NAME_PREFIXES:
        prefixes.append(words.pop(0))
    if words:
        result["family"] = words[-1]
    if len(words) > 1:
        result["given"] = words[:-1]
    if prefixes:
        result["prefix"] = prefixes
    if credentials:
        result["suffix"] = _split(credentials)
    return result


def profession_concept(slug: str, name: str) -> dict[str, Any]:
    """A profession as a CodeableConcept: its first NUCC taxonomy code when it has one."""
    concept: dict[str, Any] = {"text": name}
    profession = kb.load().professions.get(slug)
    if profession and profession.nucc:
        concept["coding"] = [{"system": NUCC_SYSTEM, "code": profession.nucc[0], "display": name}]
    return concept


# ------------------------------------------------------------------ Referwell → FHIR


def practice_organization(practice: Practice) -> dict[str, Any]:
    """The practice itself: the requester of its referrals out, the performer of those in."""
    org: dict[str, Any] = {
        "resourceType": "Organization",
        "id": PRACTICE_ID,
        "meta": _meta(practice.created_at),
        "identifier": [{"system": PRACTICE_SYSTEM, "value": practice.slug}],
        "active": True,
        "type": [{"coding": [PROVIDER_TYPE]}],
        "name": practice.name,
    }
    telecom = _telecom(practice.phone, practice.email)
    if telecom:
        org["telecom"] = telecom
    address = _address(practice.street, practice.city, practice.state, practice.zip_code)
    if address:
        org["address"] = [address]
    return org


def _partner_identifiers(partner: Partner, practice_slug: str) -> list[dict[str, Any]]:
    identifiers: list[dict[str, Any]] = []
    if partner.npi:
        identifiers.append(
            {
                "use": "official",
                "type": {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/v2-0203",
                            "code": "NPI",
                            "display": "National provider identifier",
                        }
                    ]
                },
                "system": NPI_SYSTEM,
                "value": partner.npi,
            }
        )
    identifiers.append({"system": partner_system(practice_slug), "value": str(partner.pk)})
    return identifiers


def has_organization(partner: Partner) -> bool:
    return bool(partner.clinic)


def has_location(partner: Partner) -> bool:
    return bool(partner.street or partner.city or partner.state or partner.zip_code) or (
        partner.latitude is not None and partner.longitude is not None
    )


def partner_practitioner(partner: Partner, *, practice_slug: str) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Practitioner",
        "id": str(partner.pk),
        "meta": _meta(partner.updated_at),
        "identifier": _partner_identifiers(partner, practice_slug),
        "active": partner.stage != Stage.NOT_A_FIT,
        "name": [human_name(partner.name, partner.credentials)],
    }
    telecom = _telecom(partner.phone, partner.email, partner.website)
    if telecom:
        resource["telecom"] = telecom
    languages = _split(partner.languages)
    if languages:
        resource["communication"] = [{"text": language} for language in languages]
    return resource


def partner_role(
    partner: Partner,
    *,
    practice_slug: str,
    professions: Iterable[tuple[str, str]],
    ref: RefFn = rest_ref,
) -> dict[str, Any]:
    """`professions`: the partner's (slug, name) pairs, fetched by the caller."""
    resource: dict[str, Any] = {
        "resourceType": "PractitionerRole",
        "id": str(partner.pk),
        "meta": _meta(partner.updated_at),
        "identifier": _partner_identifiers(partner, practice_slug),
        "active": partner.stage != Stage.NOT_A_FIT,
        "practitioner": {"reference": ref("Practitioner", partner.pk), "display": partner.name},
    }
    if has_organization(partner):
        resource["organization"] = {
            "reference": ref("Organization", partner.pk),
            "display": partner.clinic,
        }
    codes = [profession_concept(slug, name) for slug, name in professions]
    if codes:
        resource["code"] = codes
    specialties = _split(partner.specialties)
    if specialties:
        resource["specialty"] = [{"text": specialty} for specialty in specialties]
    if has_location(partner):
        resource["location"] = [
            {"reference": ref("Location", partner.pk), "display": partner.clinic or partner.name}
        ]
    telecom = _telecom(partner.phone, partner.email)
    if telecom:
        resource["telecom"] = telecom
    return resource


def partner_organization(partner: Partner) -> dict[str, Any] | None:
    """The partner's clinic, or None when the partner names none."""
    if not has_organization(partner):
        return None
    org: dict[str, Any] = {
        "resourceType": "Organization",
        "id": str(partner.pk),
        "meta": _meta(partner.updated_at),
        "active": True,
        "type": [{"coding": [PROVIDER_TYPE]}],
        "name": partner.clinic,
    }
    if partner.website:
        org["telecom"] = [{"system": "url", "value": partner.website, "use": "work"}]
    address = _address(partner.street, partner.city, partner.state, partner.zip_code)
    if address:
        org["address"] = [address]
    return org


def partner_location(partner: Partner, *, ref: RefFn = rest_ref) -> dict[str, Any] | None:
    """Where the partner works: the address and the position, or None when unknown."""
    if not has_location(partner):
        return None
    location: dict[str, Any] = {
        "resourceType": "Location",
        "id": str(partner.pk),
        "meta": _meta(partner.updated_at),
        "status": "active",
        "name": partner.clinic or partner.name,
        "mode": "instance",
    }
    telecom = _telecom(partner.phone, "")
    if telecom:
        location["telecom"] = telecom
    address = _address(partner.street, partner.city, partner.state, partner.zip_code)
    if address:
        location["address"] = address
    if partner.latitude is not None and partner.longitude is not None:
        location["position"] = {"latitude": partner.latitude, "longitude": partner.longitude}
    if has_organization(partner):
        location["managingOrganization"] = {
            "reference": ref("Organization", partner.pk),
            "display": partner.clinic,
        }
    return location


def partner_resources(
    partner: Partner,
    *,
    practice_slug: str,
    professions: Iterable[tuple[str, str]],
    ref: RefFn = rest_ref,
) -> list[dict[str, Any]]:
    """All the resources of one partner, the Practitioner first."""
    resources = [
        partner_practitioner(partner, practice_slug=practice_slug),
        partner_role(partner, practice_slug=practice_slug, professions=professions, ref=ref),
        partner_organization(partner),
        partner_location(partner, ref=ref),
    ]
    return [r for r in resources if r is not None]


def _parties(
    referral: Referral, practice: Practice, ref: RefFn
) -> tuple[dict[str, str] | None, dict[str, str] | None]:
    """(requester, performer): we ask the partner for a referral out, they ask us for one in."""
    us = {"reference": ref("Organization", PRACTICE_ID), "display": practice.name}
    partner = referral.partner
    them: dict[str, str] | None = None
    if partner is not None:
        them = {"reference": ref("PractitionerRole", partner.pk), "display": partner.name}
    if referral.direction == Direction.OUT:
        return us, them
    if them is None and referral.referrer_name:
        # Someone who is not in the network (a friend, a business): named, never referenced.
        them = {"display": referral.referrer_name}
    return them, us


def _subject(referral: Referral) -> dict[str, str]:
    client = referral.client
    return {"type": "Patient", "display": patient_display(client.first_name, client.last_name)}


def referral_service_request(
    referral: Referral,
    *,
    practice: Practice,
    ref: RefFn = rest_ref,
    clinical: bool = True,
    events: Iterable[ReferralEvent] = (),
) -> dict[str, Any]:
    """The referral as a ServiceRequest. `clinical=False` (front desk) leaves out the reasons
    and the timeline's notes; `events`: the referral's timeline, for its notes."""
    requester, performer = _parties(referral, practice, ref)
    resource: dict[str, Any] = {
        "resourceType": "ServiceRequest",
        "id": str(referral.pk),
        "meta": _meta(referral.updated_at),
        "identifier": [{"system": referral_system(practice.slug), "value": str(referral.pk)}],
        "status": SERVICE_REQUEST_STATUS[referral.status],
        "intent": "order",
        "category": [{"coding": [REFERRAL_CATEGORY], "text": "Referral"}],
        "subject": _subject(referral),
        "authoredOn": instant(referral.created_at),
    }
    if referral.profession is not None:
        concept = profession_concept(referral.profession.slug, referral.profession.name)
        resource["code"] = {"text": f"Referral to: {referral.profession.name}"}
        resource["performerType"] = concept
    if referral.valid_visits:
        resource["quantityQuantity"] = {"value": referral.valid_visits, "unit": "visits"}
    if referral.valid_until:
        resource["occurrencePeriod"] = {"end": referral.valid_until.isoformat()}
    if requester:
        resource["requester"] = requester
    if performer:
        resource["performer"] = [performer]
    if clinical and referral.reasons:
        resource["reasonCode"] = [{"text": referral.reasons}]
    notes = []
    if referral.direction == Direction.IN and referral.referrer_client_id:
        notes.append({"text": "Referred by a client of the practice."})
    if clinical:
        notes += [
            {"time": instant(e.at), "text": f"{Status(e.to_status).label}: {e.note}"}
            for e in events
            if e.note
        ]
    if notes:
        resource["note"] = notes
    return resource


def referral_task(
    referral: Referral, *, practice: Practice, ref: RefFn = rest_ref
) -> dict[str, Any]:
    """The referral's fulfilment: a Task whose status is the state machine's FHIR status and
    whose businessStatus keeps Referwell's own, finer status."""
    requester, performer = _parties(referral, practice, ref)
    focus = {"reference": ref("ServiceRequest", referral.pk), "display": "Referral"}
    status = Status(referral.status)
    task: dict[str, Any] = {
        "resourceType": "Task",
        "id": str(referral.pk),
        "meta": _meta(referral.updated_at),
        "basedOn": [focus],
        "status": FHIR_TASK_STATUS[status],
        "businessStatus": {
            "coding": [{"system": STATUS_SYSTEM, "code": status.value, "display": status.label}],
            "text": status.label,
        },
        "intent": "order",
        "code": {
            "coding": [
                {
                    "system": TASK_CODE_SYSTEM,
                    "code": "fulfill",
                    "display": "Fulfill the focal request",
                }
            ]
        },
        "focus": focus,
        "for": _subject(referral),
        "authoredOn": instant(referral.created_at),
        "lastModified": instant(referral.updated_at),
    }
    start = referral.sent_at if referral.direction == Direction.OUT else referral.received_at
    period = {}
    if start:
        period["start"] = instant(start)
    if referral.closed_at:
        period["end"] = instant(referral.closed_at)
    if period:
        task["executionPeriod"] = period
    if requester:
        task["requester"] = requester
    if performer:
        task["owner"] = performer
    return task


def referral_resources(
    referral: Referral,
    *,
    practice: Practice,
    ref: RefFn = rest_ref,
    clinical: bool = True,
    events: Iterable[ReferralEvent] = (),
) -> list[dict[str, Any]]:
    return [
        referral_service_request(
            referral, practice=practice, ref=ref, clinical=clinical, events=events
        ),
        referral_task(referral, practice=practice, ref=ref),
    ]


def operation_outcome(code: str, message: str, severity: str = "error") -> dict[str, Any]:
    return {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": severity, "code": code, "diagnostics": message}],
    }


# ------------------------------------------------------------------ FHIR → Referwell


def reference_key(reference: str) -> str | None:
    """'Type/id' of a relative or absolute reference (a version suffix dropped), else None."""
    match = REFERENCE.search(reference or "")
    return f"{match.group(1)}/{match.group(2)}" if match else None


def _usable_identifiers(resource: dict[str, Any]) -> list[dict[str, Any]]:
    """Identifiers worth recording: never a social security number."""
    usable = []
    for identifier in resource.get("identifier") or []:
        codes = {c.get("code") for c in (identifier.get("type") or {}).get("coding") or []}
        if identifier.get("system") == SSN_SYSTEM or "SS" in codes:
            continue
        if identifier.get("system") and identifier.get("value"):
            usable.append(identifier)
    return usable


def identifier_keys(resource: dict[str, Any]) -> list[str]:
    """'system|value' of the resource's identifiers (an NPI too), Referwell's first."""
    keys = [f"{i['system']}|{i['value']}" for i in _usable_identifiers(resource)]
    return sorted(keys, key=lambda k: not k.startswith("urn:referwell:"))


def referwell_ids(resource: dict[str, Any], kind: str) -> list[tuple[str, int]]:
    """(practice slug, pk) of the Referwell identifiers of a partner or referral."""
    found = []
    for identifier in _usable_identifiers(resource):
        match = REFERWELL_SYSTEM.match(identifier["system"])
        value = str(identifier["value"])
        digits = value.isascii() and value.isdigit()  # "²".isdigit() is true
        if match and match.group(2) == kind and digits and len(value) <= 18:
            found.append((match.group(1), int(identifier["value"])))
    return found


def practice_slug_of(resource: dict[str, Any]) -> str | None:
    """The slug when the resource is a Referwell practice's own Organization."""
    if resource.get("resourceType") != "Organization":
        return None
    for identifier in resource.get("identifier") or []:
        if identifier.get("system") == PRACTICE_SYSTEM and identifier.get("value"):
            return str(identifier["value"])
    return None


def npi_of(resources: Iterable[dict[str, Any] | None]) -> str:
    for resource in resources:
        for identifier in (resource or {}).get("identifier") or []:
            value = str(identifier.get("value") or "")
            if identifier.get("system") == NPI_SYSTEM and _valid(validate_npi, value):
                return value
    return ""


def _valid(validator: Callable[[str], None], value: str) -> bool:
    try:
        validator(value)
    except (ValidationError, ValueError):  # ValueError: validate_npi's int() of "²"
        return False
    return True


def _concept_texts(concept: dict[str, Any] | None) -> list[str]:
    """A CodeableConcept for a person to read: its text, else its codings' displays."""
    if not concept:
        return []
    if concept.get("text"):
        return [concept["text"].strip()]
    return [c["display"].strip() for c in concept.get("coding") or [] if c.get("display")]


def _norm(text: str) -> str:
    return re.sub(r"[^a-z]+", " ", text.lower()).strip()


def professions_of(concepts: Iterable[dict[str, Any]]) -> list[str]:
    """Profession slugs named by CodeableConcepts, one per concept: a NUCC code of the
    knowledge base (the profession whose main code it is first, since a few codes are shared),
    or the profession's name ("Physical therapist") as text or display."""
    professions = kb.load().professions
    by_code: dict[str, list[tuple[int, str]]] = {}
    by_name: dict[str, str] = {}
    for slug, p in professions.items():
        for rank, code in enumerate(p.nucc):
            by_code.setdefault(code, []).append((rank, slug))
        by_name[_norm(slug)] = slug
        for part in p.name.split("/"):
            by_name.setdefault(_norm(part), slug)
    found: list[str] = []
    for concept in concepts:
        codings = concept.get("coding") or []
        texts = [concept.get("text") or "", *(c.get("display") or "" for c in codings)]
        named = [by_name[_norm(t)] for t in texts if t and _norm(t) in by_name]
        coded = [
            slug
            for c in codings
            if c.get("system") == NUCC_SYSTEM
            for _, slug in sorted(by_code.get(c.get("code") or "", []))
        ]
        if coded:
            slug = next((s for s in named if s in coded), coded[0])
        elif named:
            slug = named[0]
        else:
            continue
        if slug not in found and professions[slug].is_provider:
            found.append(slug)
    return found


def name_from_human_names(names: list[dict[str, Any]]) -> tuple[str, str]:
    """(name, credentials) of a person: the official name first; its text when it has one."""
    if not names:
        return "", ""
    ranked = sorted(names, key=lambda n: {"official": 0, "usual": 1}.get(n.get("use", ""), 2))
    chosen = ranked[0]
    credentials = ", ".join(s for s in chosen.get("suffix") or [] if s)
    if chosen.get("text"):
        return chosen["text"].strip(), credentials
    parts = [*(chosen.get("prefix") or []), *(chosen.get("given") or [])]
    if chosen.get("family"):
        parts.append(chosen["family"])
    return " ".join(p.strip() for p in parts if p and p.strip()), credentials


def _clip(text: str, length: int) -> str:
    text = text.strip()
    if len(text) <= length:
        return text
    cut = text[:length]
    return cut.rsplit(",", 1)[0].strip() if "," in cut else cut.strip()


@dataclass
class PartnerSource:
    """The resources that describe one professional, gathered by the importer."""

    label: str
    practitioner: dict[str, Any] | None = None
    roles: list[dict[str, Any]] = field(default_factory=list)
    organization: dict[str, Any] | None = None
    location: dict[str, Any] | None = None
    practitioner_display: str = ""
    organization_display: str = ""
    keys: list[str] = field(default_factory=list)


@dataclass
class PartnerData:
    """What the resources say, in the Partner's terms (empty values left out)."""

    fields: dict[str, str]
    professions: list[str]
    position: tuple[float, float] | None
    referwell_ids: list[tuple[str, int]]
    # Fields known only from another resource's reference display ("Adam Careful"): they
    # name a new partner but never overwrite what a partner already has.
    weak: set[str] = field(default_factory=set)


def _first_telecom(resources: Iterable[dict[str, Any] | None], system: str) -> str:
    for resource in resources:
        for point in (resource or {}).get("telecom") or []:
            value = str(point.get("value") or "").strip()
            if point.get("system") != system or not value or point.get("use") == "home":
                continue
            if system == "email" and not _valid(validate_email, value):
                continue
            if system == "url" and (len(value) > 200 or not _valid(URLValidator(), value)):
                continue
            if system == "phone" and len(value) > 40:
                continue
            return value
    return ""


def _address_fields(address: dict[str, Any]) -> dict[str, str]:
    fields = {
        "street": _clip(", ".join(address.get("line") or []), 200),
        "city": _clip(address.get("city") or "", 100),
    }
    country = (address.get("country") or "US").strip().upper()
    if country in {"US", "USA", "UNITED STATES"}:
        state = (address.get("state") or "").strip()
        if len(state) == 2 and state.isalpha():
            fields["state"] = state.upper()
        zip_code = (address.get("postalCode") or "").strip()
        if zip_code and len(zip_code) <= 10 and _valid(validate_us_zip, zip_code):
            fields["zip_code"] = zip_code
    return fields


def _position(location: dict[str, Any] | None) -> tuple[float, float] | None:
    position = (location or {}).get("position") or {}
    try:
        lat, lon = float(position["latitude"]), float(position["longitude"])
    except (KeyError, TypeError, ValueError):
        return None
    if -90 <= lat <= 90 and -180 <= lon <= 180:
        return lat, lon
    return None


def partner_data(source: PartnerSource) -> PartnerData:
    practitioner, roles = source.practitioner, source.roles
    org, location = source.organization, source.location
    weak = set()
    name, credentials = name_from_human_names((practitioner or {}).get("name") or [])
    if not name and source.practitioner_display:
        name = source.practitioner_display
        weak.add("name")
    clinic = (org or {}).get("name") or ""
    if not clinic and source.organization_display:
        clinic = source.organization_display
        weak.add("clinic")
    if not name and not practitioner and not roles:
        name = clinic or (location or {}).get("name") or ""
    person = [*roles, practitioner]
    fields: dict[str, str] = {
        "name": _clip(name, 200),
        "credentials": _clip(credentials, 100),
        "clinic": _clip(clinic or "", 200),
        "phone": _first_telecom([*person, location, org], "phone"),
        "email": _first_telecom([*person, location, org], "email"),
        "website": _first_telecom([*person, org, location], "url"),
        "npi": npi_of(person),
    }
    specialties: list[str] = []
    for role in roles:
        for concept in role.get("specialty") or []:
            for text in _concept_texts(concept):
                if text and text not in specialties:
                    specialties.append(text)
    fields["specialties"] = _clip(", ".join(specialties), 300)
    languages = [
        t for c in (practitioner or {}).get("communication") or [] for t in _concept_texts(c)
    ]
    fields["languages"] = _clip(", ".join(languages), 200)
    address = (location or {}).get("address")
    if not address and org and org.get("address"):
        address = org["address"][0]
    if not address and practitioner:
        work = [a for a in practitioner.get("address") or [] if a.get("use") == "work"]
        address = work[0] if work else None
    if address:
        fields.update(_address_fields(address))
    concepts = [
        c for role in roles for c in [*(role.get("code") or []), *(role.get("specialty") or [])]
    ]
    concepts += [
        q["code"] for q in (practitioner or {}).get("qualification") or [] if q.get("code")
    ]
    return PartnerData(
        fields={k: v for k, v in fields.items() if v},
        professions=professions_of(concepts),
        position=_position(location),
        referwell_ids=[i for r in person if r for i in referwell_ids(r, "partner")],
        weak=weak,
    )


def patient_name(display: str) -> tuple[str, str] | None:
    """(first name, last initial) from a display name: "Alice J.", "Peter James Chalmers",
    "Chalmers, Peter". Only the initial of the last name is kept: the minimum necessary."""
    display = " ".join((display or "").split())
    if "," in display:
        last, first = (part.strip() for part in display.split(",", 1))
        words = first.split()
    else:
        words = display.split()
        last = words.pop() if len(words) > 1 else ""
    while len(words) > 1 and words[0].rstrip(".").lower() in NAME_PREFIXES:
        words.pop(0)
    if not words or not last or not last[0].isalpha():
        return None
    return words[0][:100], f"{last[0].upper()}."


def patient_name_from_resource(patient: dict[str, Any]) -> tuple[str, str] | None:
    names = patient.get("name") or []
    ranked = sorted(names, key=lambda n: {"official": 0, "usual": 1}.get(n.get("use", ""), 2))
    for name in ranked:
        given = [g for g in name.get("given") or [] if g]
        if given and name.get("family"):
            return patient_name(f"{given[0]} {name['family']}")
        if name.get("text"):
            return patient_name(name["text"])
    return None


def _date(value: str) -> dt.date | None:
    try:
        return parse_date(value) if len(value) == 10 else None
    except ValueError:
        return None


def parse_instant(value: str | None) -> dt.datetime | None:
    """A FHIR dateTime as an aware datetime (a date alone: midnight, local time)."""
    if not value:
        return None
    try:
        parsed = parse_datetime(value)
        if parsed is None:
            day = parse_date(value)
            if day is None:
                return None
            parsed = dt.datetime.combine(day, dt.time())
    except ValueError:
        return None
    try:
        if timezone.is_naive(parsed):
            parsed = timezone.make_aware(parsed)
        # Stored in UTC: 9999-12-31T23:00-05:00 or 0001-01-01T00:00+14:00 would not fit.
        parsed.astimezone(dt.UTC)
    except (OverflowError, ValueError):
        return None
    return parsed


@dataclass
class ReferralData:
    reasons: str
    status_hint: str | None  # Referwell's own status, from a Task it wrote
    task_status: str | None
    request_status: str
    valid_until: dt.date | None
    valid_visits: int | None
    authored_on: dt.datetime | None
    started_at: dt.datetime | None
    closed_at: dt.datetime | None
    professions: list[str]
    referwell_ids: list[tuple[str, int]]


def referral_data(
    request: dict[str, Any], task: dict[str, Any] | None, *, written_by_referwell: bool
) -> ReferralData:
    """What a ServiceRequest (and the Task that fulfils it) says, in the Referral's terms."""
    reasons: list[str] = []
    for concept in request.get("reasonCode") or []:
        reasons += _concept_texts(concept)
    reasons += [r["display"] for r in request.get("reasonReference") or [] if r.get("display")]
    if not written_by_referwell:
        if not reasons:
            reasons += _concept_texts(request.get("code"))
        reasons += [n["text"] for n in request.get("note") or [] if n.get("text")]
    status_hint = None
    if task:
        for coding in (task.get("businessStatus") or {}).get("coding") or []:
            if coding.get("system") == STATUS_SYSTEM and coding.get("code") in S.values:
                status_hint = coding["code"]
    period = (task or {}).get("executionPeriod") or {}
    visits = (request.get("quantityQuantity") or {}).get("value")
    until = (request.get("occurrencePeriod") or {}).get("end") or ""
    return ReferralData(
        reasons="\n".join(r.strip() for r in reasons if r and r.strip()),
        status_hint=status_hint,
        task_status=(task or {}).get("status"),
        request_status=request.get("status", ""),
        valid_until=_date(until[:10]),
        valid_visits=int(visits)
        if isinstance(visits, int | float) and 0 < visits < 32768
        else None,
        authored_on=parse_instant(request.get("authoredOn")),
        started_at=parse_instant(period.get("start")),
        closed_at=parse_instant(period.get("end")),
        professions=professions_of(
            [request["performerType"]] if request.get("performerType") else []
        ),
        referwell_ids=referwell_ids(request, "referral"),
    )


def referral_status(data: ReferralData, direction: str) -> str | None:
    """The referral status to give an imported referral; None: not to be imported."""
    allowed = OUT_TRANSITIONS if direction == Direction.OUT else IN_TRANSITIONS
    if data.status_hint in allowed:
        return data.status_hint
    if data.task_status:
        table = OUT_STATUS_OF_TASK if direction == Direction.OUT else IN_STATUS_OF_TASK
        if data.task_status in table:
            return table[data.task_status]
    if direction == Direction.OUT:
        return OUT_STATUS_OF_SERVICE_REQUEST.get(data.request_status, S.SENT)
    return IN_STATUS_OF_SERVICE_REQUEST.get(data.request_status, S.RECEIVED)
