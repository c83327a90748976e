"""Reading FHIR R4 into a practice: directory entries become partners and ServiceRequests
become referrals, from Referwell's own export or from another system.

- Every resource is validated with fhir.resources (R4B models, which read R4 4.0.1) first;
  an invalid one is skipped with the reason.
- The resources that describe one professional are put together by their references: a
  Practitioner, the PractitionerRoles pointing at it, their Organization and Location. An
  Organization that no role points at is a partner of its own (a clinic); a Location alone is
  a place, not a partner.
- Idempotent by identifiers, never by names: the Referwell identifier (the same practice: the
  same row), the NPI, or the key recorded on the object (`fhir_identifier`: the Referwell
  identifier of another practice, else the resource's `Type/id`, else its identifier).
- A ServiceRequest is a referral in (the requester referred the client to us), unless
  Referwell wrote it for a referral out (the requester is the practice's own Organization).
  Referwell's own status comes back from the Task's businessStatus; another system's
  statuses are mapped to the closest referral status.
- The client is matched or created from the subject's display name (or the Patient in the
  file): the first name and the last initial only.
- All or nothing: the whole import is one transaction; a resource that cannot be saved is
  skipped (its savepoint rolled back) and reported.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from fhir.resources.R4B import get_fhir_model_class
from pydantic import ValidationError as PydanticValidationError

from referwell.accounts.kept import practice_touched
from referwell.accounts.models import Practice, User
from referwell.audit.services import log_action
from referwell.clients.models import Client
from referwell.clients.services import client_create
from referwell.core.limits import json_too_deep
from referwell.directory.models import HowMet, Partner, Profession
from referwell.directory.services import partner_create, partner_update
from referwell.interop.fhir import mapping
from referwell.referrals.models import Direction, Referral, ReferralEvent
from referwell.referrals.services import referral_create, referral_update
from referwell.referrals.states import FINAL, transitions

IMPORTED_TYPES = "Practitioner, PractitionerRole, Organization, Location and ServiceRequest"
# Arrays and objects within one another, at most: FHIR resources nest a dozen or so deep (a
# Bundle's entry, its resource, an extension of an extension…); Python's parser would recurse
# until it fails on a file nested thousands deep.
MAX_DEPTH = 64


class FhirImportError(ValueError):
    """The input is not FHIR JSON: nothing was imported."""


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    skipped: list[dict[str, str]] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {"created": self.created, "updated": self.updated, "skipped": self.skipped}


def parse_fhir_json(raw: bytes | str) -> dict[str, Any]:
    """The FHIR resource (or Bundle) in a file, or FhirImportError saying why it is not one."""
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise FhirImportError("it is not FHIR JSON: not UTF-8 text") from None
    if json_too_deep(raw, MAX_DEPTH):
        raise FhirImportError(
            f"it is not FHIR JSON: its arrays and objects are nested more than {MAX_DEPTH} deep"
        )
    try:
        # NUL characters have no place in FHIR strings, and PostgreSQL refuses them.
        data = json.loads(raw, object_hook=_without_nul)
    except json.JSONDecodeError as exc:
        raise FhirImportError(
            f"it is not FHIR JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        ) from None
    except RecursionError:  # json_too_deep() should have said so first
        raise FhirImportError("it is not FHIR JSON: it is nested too deeply") from None
    if not isinstance(data, dict) or not isinstance(data.get("resourceType"), str):
        raise FhirImportError("it is JSON but not a FHIR resource: no resourceType")
    try:
        get_fhir_model_class(data["resourceType"])
    except ValueError:
        raise FhirImportError(
            f"it is not FHIR JSON: '{data['resourceType']}' is not a FHIR resource type"
        ) from None
    if data["resourceType"] == "Bundle" and not isinstance(data.get("entry", []), list):
        raise FhirImportError("it is not a valid FHIR Bundle: its entry is not a list")
    return data


def _without_nul(obj: dict[str, Any]) -> dict[str, Any]:
    def clean(value: Any) -> Any:
        if isinstance(value, str):
            return value.replace("\x00", "")
        if isinstance(value, list):
            return [clean(v) for v in value]
        return value

    return {key: clean(value) for key, value in obj.items()}


@dataclass(eq=False)
class Entry:
    number: int  # the position in the file, from 1
    resource: dict[str, Any]
    full_url: str = ""
    used: bool = False

    @property
    def type(self) -> str:
        return str(self.resource.get("resourceType", ""))

    @property
    def id(self) -> str:
        return str(self.resource.get("id") or "")

    @property
    def key(self) -> str:
        """How the resource names itself: Type/id, else its fullUrl."""
        return f"{self.type}/{self.id}" if self.id else self.full_url

    @property
    def label(self) -> str:
        return self.key if self.id else f"{self.type} (entry {self.number})"


class Index:
    """Resolves references between the resources of one file."""

    def __init__(self, entries: list[Entry]) -> None:
        self.by_name: dict[str, Entry] = {}
        self.contained: dict[tuple[int, str], Entry] = {}
        for entry in entries:
            if entry.full_url:
                self.by_name.setdefault(entry.full_url, entry)
            if entry.id:
                self.by_name.setdefault(entry.key, entry)

    def resolve(self, reference: Any, origin: Entry) -> Entry | None:
        if not isinstance(reference, dict) or not isinstance(reference.get("reference"), str):
            return None
        target = reference["reference"]
        if target.startswith("#"):
            return self._contained(origin, target[1:])
        if target in self.by_name:
            return self.by_name[target]
        key = mapping.reference_key(target)
        return self.by_name.get(key) if key else None

    def _contained(self, origin: Entry, local_id: str) -> Entry | None:
        if (origin.number, local_id) not in self.contained:
            for resource in origin.resource.get("contained") or []:
                if isinstance(resource, dict) and resource.get("id") == local_id:
                    self.contained[(origin.number, local_id)] = Entry(origin.number, resource)
        return self.contained.get((origin.number, local_id))


@dataclass(eq=False)
class Group:
    """The entries that make one partner."""

    source: mapping.PartnerSource
    entries: list[Entry] = field(default_factory=list)
    practitioner: Entry | None = None
    roles: list[Entry] = field(default_factory=list)
    organization: Entry | None = None
    dangling: str = ""  # "Practitioner/x" a role points at that is not in the file


def _validation_reason(exc: ValidationError) -> str:
    if hasattr(exc, "error_dict"):
        return "; ".join(
            f"{name.replace('_', ' ')}: {' '.join(messages)}"
            for name, messages in exc.message_dict.items()
        )
    return " ".join(exc.messages)


def fhir_import(
    *, practice: Practice, data: dict[str, Any], by: User | None = None
) -> ImportReport:
    """Import a Bundle or a single resource (see parse_fhir_json) into the practice."""
    with transaction.atomic():
        importer = Importer(practice=practice, by=by)
        importer.run(data)
        log_action(
            practice=practice,
            actor=by,
            action="referwell.fhir.imported",
            data={
                "created": importer.report.created,
                "updated": importer.report.updated,
                "skipped": len(importer.report.skipped),
            },
        )
    return importer.report


class Importer:
    def __init__(self, *, practice: Practice, by: User | None) -> None:
        self.practice = practice
        self.by = by
        self.report = ImportReport()
        self._skips: list[tuple[int, dict[str, str]]] = []
        self.partner_of: dict[Entry | str, Partner] = {}

    # ---------------------------------------------------------------- reading

    def skip(self, entry: Entry | None, reason: str, label: str = "") -> None:
        name = label or (entry.label if entry else "the file")
        self._skips.append((entry.number if entry else 0, {"resource": name, "reason": reason}))
        if entry is not None:
            entry.used = True

    def entries(self, data: dict[str, Any]) -> list[Entry]:
        if data["resourceType"] != "Bundle":
            raw = [(1, {"resource": data})]
        else:
            raw = list(enumerate(data.get("entry") or [], start=1))
        entries = []
        for number, item in raw:
            if not isinstance(item, dict) or not isinstance(item.get("resource"), dict):
                request = item.get("request") if isinstance(item, dict) else None
                what = ""
                if isinstance(request, dict):
                    what = f" ({request.get('method', '')} {request.get('url', '')})".rstrip()
                self._skips.append(
                    (number, {"resource": f"entry {number}", "reason": f"no resource{what}"})
                )
                continue
            entry = Entry(number, item["resource"], str(item.get("fullUrl") or ""))
            reason = self._invalid(entry.resource)
            if reason:
                self.skip(entry, reason)
                continue
            entries.append(entry)
        return entries

    @staticmethod
    def _invalid(resource: dict[str, Any]) -> str:
        kind = resource.get("resourceType")
        if not isinstance(kind, str):
            return "not a FHIR resource: no resourceType"
        try:
            get_fhir_model_class(kind).model_validate(resource)
        except ValueError as exc:
            if isinstance(exc, PydanticValidationError) and exc.errors():
                first = exc.errors()[0]
                where = ".".join(str(part) for part in first["loc"])
                return f"not valid FHIR R4: {where}: {first['msg']}"
            return f"not valid FHIR R4: {exc}"
        return ""

    def run(self, data: dict[str, Any]) -> None:
        entries = self.entries(data)
        self.index = Index(entries)
        for group in self.groups(entries):
            self.import_partner(group)
        self.import_referrals(entries)
        for entry in entries:
            if not entry.used:
                self.skip(entry, self._why_not(entry))
        self.report.skipped = [row for _, row in sorted(self._skips, key=lambda s: s[0])]

    def _why_not(self, entry: Entry) -> str:
        if entry.type == "Location":
            return (
                "a Location alone is a place, not a professional: it is read as the address "
                "of a PractitionerRole or an Organization"
            )
        if entry.type == "Patient":
            return "a Patient is read only to name the client of a ServiceRequest"
        if entry.type == "Task":
            focus = str((entry.resource.get("focus") or {}).get("reference") or "")
            if not focus:
                return "it names no ServiceRequest it fulfils (no focus)"
            kind = (mapping.reference_key(focus) or "/").split("/")[0]
            if kind and kind != "ServiceRequest":
                return f"its focus ({focus}) is a {kind}, not a referral"
            return f"the referral it fulfils ({focus}) is not in the file"
        if entry.type == "Bundle":
            return "a Bundle inside a Bundle is not read"
        return f"{entry.type} is not imported: Referwell reads {IMPORTED_TYPES} (with its Task)"

    # ---------------------------------------------------------------- partners

    def groups(self, entries: list[Entry]) -> list[Group]:
        groups: dict[Entry | str, Group] = {}

        def practitioner_group(entry: Entry) -> Group:
            if entry not in groups:
                source = mapping.PartnerSource(entry.label, practitioner=entry.resource)
                groups[entry] = Group(source, [entry], practitioner=entry)
            entry.used = True
            return groups[entry]

        for entry in entries:
            if entry.type == "Practitioner":
                practitioner_group(entry)
        for role in (e for e in entries if e.type == "PractitionerRole"):
            pointer = role.resource.get("practitioner") or {}
            target = self.index.resolve(pointer, role)
            if target is not None and target.type == "Practitioner":
                group = practitioner_group(target)
            else:
                dangling = mapping.reference_key(pointer.get("reference") or "") or ""
                key: Entry | str = dangling if dangling.startswith("Practitioner/") else role
                if key not in groups:
                    label = key if isinstance(key, str) else role.label
                    groups[key] = Group(mapping.PartnerSource(label), dangling=dangling)
                group = groups[key]
            role.used = True
            group.roles.append(role)
            group.entries.append(role)
            group.source.roles.append(role.resource)
            if not group.source.practitioner_display and pointer.get("display"):
                group.source.practitioner_display = str(pointer["display"])
            self._attach(group, role)
        for org in (e for e in entries if e.type == "Organization"):
            if mapping.practice_slug_of(org.resource):
                continue  # the practice that wrote the file: read with its ServiceRequests
            if org.used:
                continue
            source = mapping.PartnerSource(org.label, organization=org.resource)
            group = Group(source, [org], organization=org)
            org.used = True
            for place in (e for e in entries if e.type == "Location" and not e.used):
                manager = self.index.resolve(place.resource.get("managingOrganization"), place)
                if manager is org:
                    place.used = True
                    group.entries.append(place)
                    if source.location is None:
                        source.location = place.resource
            groups[org] = group
        return sorted(groups.values(), key=lambda g: min(e.number for e in g.entries or g.roles))

    def _attach(self, group: Group, role: Entry) -> None:
        """A role's Organization (the clinic) and first Location (the address)."""
        pointer = role.resource.get("organization") or {}
        org = self.index.resolve(pointer, role)
        if org is not None and org.type == "Organization":
            if not mapping.practice_slug_of(org.resource):
                org.used = True
                if group.source.organization is None:
                    group.source.organization = org.resource
        elif pointer.get("display") and not group.source.organization_display:
            group.source.organization_display = str(pointer["display"])
        for pointer in role.resource.get("location") or []:
            place = self.index.resolve(pointer, role)
            if place is not None and place.type == "Location":
                place.used = True
                if group.source.location is None:
                    group.source.location = place.resource

    @staticmethod
    def partner_keys(group: Group) -> list[str]:
        """What identifies the partner, the one to record first: only the person's resources
        count (a clinic's id is shared by everyone who works there)."""
        person = [e for e in [group.practitioner, *group.roles] if e is not None]
        if not person and group.organization is not None:
            person = [group.organization]
        keys = [k for e in person for k in mapping.identifier_keys(e.resource)]
        first = [k for k in keys if k.startswith("urn:referwell:")]
        if group.practitioner is not None:
            first.append(group.practitioner.key)
        elif group.dangling:
            first.append(group.dangling)
        ordered = first + [e.key for e in person] + keys
        unique: list[str] = []
        for key in ordered:
            if key and len(key) <= 200 and key not in unique:
                unique.append(key)
        return unique

    def find_partner(
        self, data: mapping.PartnerData, keys: list[str]
    ) -> tuple[Partner | None, bool]:
        """(partner, whether it is this practice's own row named by its Referwell id)."""
        partners = Partner.objects.for_practice(self.practice).prefetch_related("professions")
        for slug, pk in data.referwell_ids:
            if slug == self.practice.slug:
                own = partners.filter(pk=pk).first()
                if own is not None:
                    return own, True
        npi = data.fields.get("npi")
        if npi:
            same = partners.filter(npi=npi).order_by("pk").first()
            if same is not None:
                return same, False
        if keys:
            found = {p.fhir_identifier: p for p in partners.filter(fhir_identifier__in=keys)}
            for key in keys:
                if key in found:
                    return found[key], False
        return None, False

    def import_partner(self, group: Group) -> None:
        data = mapping.partner_data(group.source)
        label = group.source.label
        first = group.entries[0] if group.entries else None
        if not data.fields.get("name"):
            self.skip(first, "no name: neither the Practitioner's nor its role's", label)
            return
        keys = self.partner_keys(group)
        partner, own = self.find_partner(data, keys)
        try:
            with transaction.atomic():
                if partner is None:
                    partner = self._create_partner(data, keys)
                    self.report.created += 1
                    self.report.lines.append(
                        f"created partner #{partner.pk} {partner.name} from {label}"
                    )
                elif self._update_partner(partner, data, keys, own):
                    self.report.updated += 1
                    self.report.lines.append(
                        f"updated partner #{partner.pk} {partner.name} from {label}"
                    )
                else:
                    self._skips.append(
                        (
                            first.number if first else 0,
                            {
                                "resource": label,
                                "reason": f"already in the network as partner #{partner.pk} "
                                f"({partner.name}); nothing new",
                            },
                        )
                    )
        except ValidationError as exc:
            self.skip(first, f"not imported: {_validation_reason(exc)}", label)
            return
        for entry in group.entries:
            self.partner_of[entry] = partner
        if group.dangling:
            self.partner_of[group.dangling] = partner

    def _create_partner(self, data: mapping.PartnerData, keys: list[str]) -> Partner:
        fields: dict[str, Any] = {
            **data.fields,
            "how_met": HowMet.OTHER,
            "how_met_detail": "Imported from FHIR",
            "fhir_identifier": keys[0] if keys else "",
        }
        professions = list(Profession.objects.filter(slug__in=data.professions))
        partner = partner_create(
            practice=self.practice, by=self.by, fields=fields, professions=professions
        )
        self._place(partner, data.position)
        return partner

    def _update_partner(
        self, partner: Partner, data: mapping.PartnerData, keys: list[str], own: bool
    ) -> bool:
        """The file wins for what it says; what it leaves out stays. False: nothing new."""
        changes: dict[str, Any] = {
            k: v
            for k, v in data.fields.items()
            if getattr(partner, k) != v and not (k in data.weak and getattr(partner, k))
        }
        if not own and not partner.fhir_identifier and keys:
            changes["fhir_identifier"] = keys[0]
        current = [p.slug for p in partner.professions.all()]
        added = [slug for slug in data.professions if slug not in current]
        moved = data.position is not None and (partner.latitude, partner.longitude) != data.position
        if not changes and not added and not moved:
            return False
        professions = None
        if added:
            professions = list(Profession.objects.filter(slug__in=current + added))
        if changes or added:
            partner_update(partner=partner, by=self.by, fields=changes, professions=professions)
        self._place(partner, data.position)
        return True

    @staticmethod
    def _place(partner: Partner, position: tuple[float, float] | None) -> None:
        """The Location's position is more precise than the ZIP code's centroid."""
        if position is None or (partner.latitude, partner.longitude) == position:
            return
        partner.latitude, partner.longitude = position
        Partner.objects.filter(pk=partner.pk).update(latitude=position[0], longitude=position[1])
        practice_touched(partner.practice_id)

    def partner_for(self, reference: dict[str, Any], entry: Entry | None) -> Partner | None:
        """The partner a requester or performer reference names: from this file, or one
        imported before under that Type/id."""
        if entry is not None:
            if entry in self.partner_of:
                return self.partner_of[entry]
            if entry.type not in ("Practitioner", "PractitionerRole", "Organization"):
                return None
        key = mapping.reference_key(str(reference.get("reference") or ""))
        if not key:
            return None
        if key in self.partner_of:
            return self.partner_of[key]
        return (
            Partner.objects.for_practice(self.practice)
            .filter(fhir_identifier=key)
            .order_by("pk")
            .first()
        )

    # ---------------------------------------------------------------- referrals

    def import_referrals(self, entries: list[Entry]) -> None:
        task_for: dict[Entry, Entry] = {}
        for task in (e for e in entries if e.type == "Task"):
            for pointer in [task.resource.get("focus"), *(task.resource.get("basedOn") or [])]:
                target = self.index.resolve(pointer, task)
                if target is not None and target.type == "ServiceRequest":
                    task.used = True
                    task_for.setdefault(target, task)
                    break
        for entry in entries:
            if entry.type == "Organization" and mapping.practice_slug_of(entry.resource):
                entry.used = True
            if entry.type == "ServiceRequest":
                entry.used = True
                self.import_request(entry, task_for.get(entry))

    def _patient(self, entry: Entry) -> tuple[tuple[str, str] | None, str]:
        """(first name, last initial) of the ServiceRequest's subject, or the reason why not."""
        subject = entry.resource.get("subject") or {}
        pointer = str(subject.get("reference") or "")
        kind = subject.get("type") or (mapping.reference_key(pointer) or "/").split("/")[0]
        if kind and kind != "Patient":
            return None, f"its subject is a {kind}, not a client"
        if subject.get("display"):
            name = mapping.patient_name(str(subject["display"]))
            if name:
                return name, ""
        target = self.index.resolve(subject, entry)
        if target is not None and target.type == "Patient":
            target.used = True
            name = mapping.patient_name_from_resource(target.resource)
            if name:
                return name, ""
        return None, (
            f"its subject ({pointer or 'no reference'}) gives no client name: no display with "
            "a first and a last name, and no such Patient in the file"
        )

    def _client(self, first: str, last: str) -> Client:
        clients = Client.objects.for_practice(self.practice)
        same = clients.filter(first_name__iexact=first, last_name__iexact=last).order_by("pk")
        found = same.first()
        if found is not None:
            return found
        if len(last) == 2 and last.endswith("."):
            candidates = list(
                clients.filter(first_name__iexact=first, last_name__istartswith=last[0])[:2]
            )
            if len(candidates) == 1:
                return candidates[0]
        return client_create(
            practice=self.practice, by=self.by, fields={"first_name": first, "last_name": last}
        )

    @staticmethod
    def request_keys(entry: Entry) -> list[str]:
        keys = mapping.identifier_keys(entry.resource)
        first = [k for k in keys if k.startswith("urn:referwell:")]
        unique: list[str] = []
        for key in [*first, entry.key, *keys]:
            if key and len(key) <= 200 and key not in unique:
                unique.append(key)
        return unique

    def find_referral(
        self, data: mapping.ReferralData, keys: list[str]
    ) -> tuple[Referral | None, bool]:
        referrals = Referral.objects.for_practice(self.practice)
        for slug, pk in data.referwell_ids:
            if slug == self.practice.slug:
                own = referrals.filter(pk=pk).first()
                if own is not None:
                    return own, True
        if keys:
            found = {r.fhir_identifier: r for r in referrals.filter(fhir_identifier__in=keys)}
            for key in keys:
                if key in found:
                    return found[key], False
        return None, False

    def import_request(self, entry: Entry, task_entry: Entry | None) -> None:
        request = entry.resource
        task = task_entry.resource if task_entry else None
        if request.get("status") == "entered-in-error" or (
            task and task.get("status") == "entered-in-error"
        ):
            self.skip(entry, "entered in error")
            return
        data = mapping.referral_data(
            request, task, written_by_referwell=bool(mapping.referwell_ids(request, "referral"))
        )
        requester_pointer = request.get("requester") or {}
        requester = self.index.resolve(requester_pointer, entry)
        referrer_name = ""
        if requester is not None and mapping.practice_slug_of(requester.resource):
            direction = Direction.OUT
            partner = None
            for pointer in request.get("performer") or []:
                partner = self.partner_for(pointer, self.index.resolve(pointer, entry))
                if partner is not None:
                    break
        else:
            direction = Direction.IN
            partner = self.partner_for(requester_pointer, requester)
            if partner is None:
                referrer_name = str(requester_pointer.get("display") or "")[:200]
        status = mapping.referral_status(data, direction)
        if status is None:
            self.skip(entry, "entered in error")
            return
        keys = self.request_keys(entry)
        referral, own = self.find_referral(data, keys)
        name, why = self._patient(entry)
        try:
            with transaction.atomic():
                if referral is None:
                    if name is None:
                        self.skip(entry, why)
                        return
                    profession = Profession.objects.filter(slug__in=data.professions).first()
                    if direction == Direction.OUT and partner is None and profession is None:
                        self.skip(
                            entry, "a referral out that names neither a partner nor a profession"
                        )
                        return
                    referral = self._create_referral(
                        entry,
                        data,
                        status,
                        direction,
                        partner,
                        profession,
                        referrer_name,
                        name,
                        keys,
                    )
                    self.report.created += 1
                    self.report.lines.append(
                        f"created referral #{referral.pk} ({direction}, {status}) "
                        f"from {entry.label}"
                    )
                elif self._update_referral(referral, data, status, partner, keys, own):
                    self.report.updated += 1
                    self.report.lines.append(
                        f"updated referral #{referral.pk} ({referral.status}) from {entry.label}"
                    )
                else:
                    self._skips.append(
                        (
                            entry.number,
                            {
                                "resource": entry.label,
                                "reason": f"already imported as referral #{referral.pk}; "
                                "nothing new",
                            },
                        )
                    )
        except ValidationError as exc:
            self.skip(entry, f"not imported: {_validation_reason(exc)}")

    def _create_referral(
        self,
        entry: Entry,
        data: mapping.ReferralData,
        status: str,
        direction: str,
        partner: Partner | None,
        profession: Profession | None,
        referrer_name: str,
        name: tuple[str, str],
        keys: list[str],
    ) -> Referral:
        fields: dict[str, Any] = {
            "direction": direction,
            "client": self._client(*name),
            "partner": partner,
            "reasons": data.reasons or f"Imported from {entry.label}.",
            "referrer_name": referrer_name,
            "valid_until": data.valid_until,
            "valid_visits": data.valid_visits,
            "fhir_identifier": keys[0] if keys else "",
        }
        if profession is not None:
            fields["profession"] = profession
        referral = referral_create(practice=self.practice, by=self.by, fields=fields)
        self._set_status(referral, status, entry)
        now = timezone.now()
        started = data.started_at or data.authored_on or now
        dates: dict[str, Any] = {"created_at": data.authored_on or referral.created_at}
        if direction == Direction.IN:
            dates["received_at"] = started
        elif data.started_at:
            dates["sent_at"] = data.started_at
        if status in FINAL:
            dates["closed_at"] = data.closed_at or now
        Referral.objects.filter(pk=referral.pk).update(**dates)
        practice_touched(referral.practice_id)
        return referral

    def _update_referral(
        self,
        referral: Referral,
        data: mapping.ReferralData,
        status: str,
        partner: Partner | None,
        keys: list[str],
        own: bool,
    ) -> bool:
        changes: dict[str, Any] = {}
        if data.reasons and data.reasons != referral.reasons:
            changes["reasons"] = data.reasons
        if partner is not None and partner.pk != referral.partner_id:
            changes["partner"] = partner
        if data.valid_until and data.valid_until != referral.valid_until:
            changes["valid_until"] = data.valid_until
        if data.valid_visits and data.valid_visits != referral.valid_visits:
            changes["valid_visits"] = data.valid_visits
        if not own and not referral.fhir_identifier and keys:
            changes["fhir_identifier"] = keys[0]
        allowed = status != referral.status and status in transitions(referral.direction)
        if not changes and not allowed:
            return False
        if changes:
            referral_update(referral=referral, by=self.by, fields=changes)
        if allowed:
            self._set_status(referral, status, None)
        return True

    def _set_status(self, referral: Referral, status: str, entry: Entry | None) -> None:
        """The status the file gives: set as it is (the file is the record), on the timeline."""
        if status == referral.status:
            return
        ReferralEvent.objects.create(
            practice=referral.practice,
            referral=referral,
            from_status=referral.status,
            to_status=status,
            at=timezone.now(),
            by=self.by,
            note="Imported from FHIR.",
        )
        Referral.objects.filter(pk=referral.pk).update(status=status)
        practice_touched(referral.practice_id)
        referral.status = status
        log_action(
            practice=referral.practice,
            actor=self.by,
            action="referwell.referral.imported",
            obj=referral,
            data={"status": status},
        )
