"""Everything a practice holds, as a zip of documented JSON; and its restore elsewhere.

`export_practice()` writes one JSON file per table (a list of objects), the letters of the
outbox as PDFs, a FHIR bundle when the FHIR exporter is installed, a README.txt and a
manifest.json (format, version, counts, what each file holds). Rows are numbered within the
archive: `id` is a row's number in its own file, and a reference to another row is that row's
number in the other file — database keys never appear, so an archive restores into any
instance and exporting a restored practice gives the same files again.

`import_practice()` recreates every row with new keys in one transaction, into an instance
that does not have the practice's slug yet. People are matched by e-mail address: a member
whose address has an account here keeps it; the others get an account with a password no one
knows, and reset it ("Forgot your password?" on the login page, or `referwell changepassword`).
Not exported, because they are secrets a new instance must not inherit: API tokens, calendar
feed addresses and partners' referral links — issue new ones after a restore.
"""

from __future__ import annotations

import datetime as dt
import importlib
import json
import logging
import secrets
import zipfile
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from django.apps import apps
from django.core.exceptions import ValidationError
from django.db import DatabaseError, connection, models, transaction
from django.utils import timezone

from referwell.accounts.kept import practice_touched
from referwell.accounts.models import Practice, User
from referwell.audit.services import audit_chain_rebuild, log_action
from referwell.core.limits import ZipMemberTooLarge, json_too_deep, megabytes, read_zip_member
from referwell.core.models import explicit_timestamps
from referwell.directory.models import Partner, Profession, new_referral_code
from referwell.directory.professions import professions_sync
from referwell.outreach.delivery import message_pdf

logger = logging.getLogger(__name__)

FORMAT = "referwell-practice-export"
VERSION = 1
FHIR_MODULE = "referwell.interop.fhir.exporter"
FHIR_FUNCTION = "bundle_for_practice"
# What a restore unpacks, at most (the JSON files; the letters' PDFs are not read): each file
# and all of them together. A zip that declares more, or unpacks to more than it declares, is
# refused before it fills the memory (a 300 KB zip can unpack to gigabytes).
MAX_UNPACKED_BYTES = 256 * 1024 * 1024
MAX_DEPTH = 64  # arrays and objects within one another in a JSON file


AnyField = models.Field[Any, Any]
Row = dict[str, Any]  # one object of a table's file
Tables = dict[str, list[Row]]  # each table's rows, by table name


class ArchiveError(Exception):
    """The archive cannot be restored; the message is one line for the person running it."""


@dataclass(frozen=True)
class Table:
    name: str
    model: str
    about: str


# In the order of a restore: every table after the tables it refers to.
TABLES: tuple[Table, ...] = (
    Table("practice", "accounts.Practice",
          "The practice itself (one object): name, slug, address, modalities, cadence "
          "overrides, what it treats and how to refer."),
    Table("members", "accounts.Member",
          "Who works there: `user` (e-mail), first_name, last_name, role (owner, therapist, "
          "front_desk), is_active, accepted_at (empty while an invitation is unanswered). "
          "No password hashes: restored members reset their password."),
    Table("niches", "directory.Niche", "The practice's niches (focused markets)."),
    Table("partners", "directory.Partner",
          "The network: every field of a partner; `professions` lists knowledge-base slugs "
          "(guidance/data/professions.json), `niches` ids of niches.json."),
    Table("touchpoints", "directory.Touchpoint",
          "Every contact with a partner; `partner` is an id of partners.json, `by` an e-mail."),
    Table("clients", "clients.Client",
          "Clients and their intake (health information); `source_partner` and "
          "`source_client` name who referred them."),
    Table("visits", "clients.Visit", "Every visit: date, service, fee, payer, notes."),
    Table("consents", "clients.Consent",
          "Clients' consents to share: with a partner or a profession (slug), scope, dates, "
          "revocation."),
    Table("referrals", "referrals.Referral",
          "Referrals both ways, with their status and timestamps."),
    Table("referral_events", "referrals.ReferralEvent",
          "Each referral's timeline: from which status to which, when, by whom."),
    Table("disclosures", "audit.Disclosure",
          "The accounting of disclosures: client information that left the practice."),
    Table("letter_templates", "outreach.LetterTemplate", "The practice's own letter texts."),
    Table("outgoing_messages", "outreach.OutgoingMessage",
          "The outbox: every letter and e-mail as sent; `letter` names its PDF in letters/."),
    Table("contact_plans", "outreach.ContactPlan", "Planned next steps with prospects."),
    Table("stream_costs", "insights.StreamCost", "What networking cost, per stream and month."),
    Table("referral_requests", "inbound.ReferralRequest",
          "Requests sent through the public referral pages (`ip_hash` is keyed with the "
          "old instance's secret and means nothing elsewhere)."),
    Table("audit_entries", "audit.AuditEntry",
          "The audit trail: `action`, `actor` (e-mail), `object_type` and `object_id` (an id "
          "in the file of that type, null when the row is not in the archive), `data` (ids "
          "under `client`, `partner` and `referral` are ids of those files). Without the "
          "hash chain, which covers database keys: a restore chains the entries anew."),
)  # fmt: skip

NOT_EXPORTED = {
    "accounts.ApiToken": "API tokens: secrets; members issue new ones.",
    "outreach.CalendarFeed": "calendar feed addresses: secrets; members make new ones.",
    "referrals.ReferralLink": "partners' links to referrals: expiring secrets; issue new ones.",
    "audit.AuditChain": "the audit trail's hash chain: made anew for the restored entries.",
    "accounts.DataChange": "a count of changes, for what is kept in memory: begins anew.",
    "core.ImportJob": "imports started from a page and how far they went: this server's work.",
}
# Set by the app when a row is saved; restored as they were (now when an archive lacks them).
STAMPS = ("created_at", "updated_at", "at")
# Audit payload keys that hold the key of a row, and the table of that row.
AUDIT_DATA_REFERENCES = {
    "client": "clients.Client",
    "partner": "directory.Partner",
    "referral": "referrals.Referral",
}
CONVENTIONS = """\
Conventions: each file is a JSON list of objects. `id` is the row's number within its file
(not a database key); a field that refers to another row holds that row's id in the other
file (a partner's `niches`, a visit's `client`…). People are e-mail addresses, professions are
slugs of the knowledge base. Dates are ISO 8601 (2026-03-05); times are ISO 8601 in UTC
(2026-03-05T14:30:00+00:00); amounts of money are strings ("95.00"). created_at / updated_at
are kept as they were.
"""


def _model(table: Table) -> type[models.Model]:
    return apps.get_model(table.model)


def _label(model: type[models.Model]) -> str:
    return model._meta.label


def _user_model() -> type[models.Model]:
    return apps.get_model("accounts.User")


def _dump(field: AnyField, value: Any) -> Any:
    if value is None:
        return None
    if isinstance(field, models.DateTimeField):
        return value.astimezone(dt.UTC).isoformat()
    if isinstance(field, models.DateField):
        return value.isoformat()
    if isinstance(field, models.DecimalField):
        return str(value)
    return value


def _load(field: AnyField, value: Any) -> Any:
    if value is None:
        return None
    if isinstance(field, (models.DateField, models.DecimalField)):  # DateTimeField included
        return field.to_python(value)
    return value


# The audit chain's hashes cover database keys: a restore chains the entries anew.
NOT_ARCHIVED_FIELDS = {"audit.AuditEntry": {"prev_hash", "hash"}}


def _fields(model: type[models.Model]) -> list[AnyField]:
    """Every stored field but the key and the practice (implied by the archive)."""
    skipped = NOT_ARCHIVED_FIELDS.get(model._meta.label, set())
    return [
        f
        for f in model._meta.concrete_fields
        if not f.primary_key
        and not (f.name == "practice" and _is_practice(f.related_model))
        and f.name not in skipped
    ]


def _is_practice(model: Any) -> bool:
    return model is not None and model._meta.label == "accounts.Practice"


def _kind_of_reference(field: AnyField) -> str:
    """user, profession, or the label of an exported table."""
    target = field.related_model
    if target is None:
        raise RuntimeError(f"{field} refers to no model.")
    if target is _user_model():
        return "user"
    if target._meta.label == "directory.Profession":
        return "profession"
    label = target._meta.label
    if label not in {t.model for t in TABLES}:
        raise RuntimeError(f"{field} refers to {label}, which the export does not know.")
    return label


def _label_of_type(object_type: str) -> str | None:
    """The table of an audit entry's object_type (a model name such as "partner")."""
    for table in TABLES:
        if _model(table)._meta.model_name == object_type:
            return table.model
    return None


# --------------------------------------------------------------------------- export


class _Snapshot:
    """The practice's rows, numbered per table, and how to write a row as JSON."""

    def __init__(self, practice: Practice) -> None:
        self.practice = practice
        self.numbers: dict[str, dict[Any, int]] = {}
        self.rows: dict[str, list[dict[str, Any]]] = {}
        self.objects: dict[str, list[Any]] = {}
        self.emails: dict[Any, str] = {}
        self.people: dict[Any, Any] = {}

    def build(self) -> None:
        fetched: dict[str, list[models.Model]] = {}
        user_ids: set[Any] = set()
        for table in TABLES:
            model = _model(table)
            objects: list[models.Model]
            if table.name == "practice":
                objects = [self.practice]
            else:
                objects = list(model._base_manager.filter(practice=self.practice).order_by("pk"))
            fetched[table.name] = objects
            for f in _fields(model):
                if f.is_relation and f.related_model is _user_model():
                    user_ids.update(getattr(o, f.attname) for o in objects)
        users = _user_model()._base_manager.filter(pk__in=[u for u in user_ids if u])
        self.emails = dict(users.values_list("pk", "email"))
        self.people = {u.pk: u for u in users}
        m2m = self._partner_links()
        for table in TABLES:
            model = _model(table)
            kept = [o for o in fetched[table.name] if self._complete(model, o)]
            self.numbers[_label(model)] = {o.pk: i for i, o in enumerate(kept, start=1)}
            self.objects[table.name] = kept
            self.rows[table.name] = [self._row(table, model, o, m2m) for o in kept]

    def _partner_links(self) -> dict[str, dict[Any, list[Any]]]:
        links: dict[str, dict[Any, list[Any]]] = {"professions": {}, "niches": {}}
        professions = Partner.professions.through.objects.filter(partner__practice=self.practice)
        for partner_id, slug in professions.values_list("partner_id", "profession_id"):
            links["professions"].setdefault(partner_id, []).append(slug)
        niches = Partner.niches.through.objects.filter(partner__practice=self.practice)
        for partner_id, niche_id in niches.values_list("partner_id", "niche_id"):
            links["niches"].setdefault(partner_id, []).append(niche_id)
        return links

    def _complete(self, model: type[models.Model], obj: Any) -> bool:
        """False for a row whose required reference is not in the archive (written while the
        export ran): left out, so that the archive always restores."""
        for f in _fields(model):
            if not f.is_relation or f.null:
                continue
            kind = _kind_of_reference(f)
            if kind in ("user", "profession") or kind == _label(model):
                continue
            if getattr(obj, f.attname) not in self.numbers.get(kind, {}):
                return False
        return True

    def _number(self, label: str, pk: Any) -> int | None:
        return self.numbers.get(label, {}).get(pk)

    def _row(
        self,
        table: Table,
        model: type[models.Model],
        obj: Any,
        m2m: dict[str, dict[Any, list[Any]]],
    ) -> Row:
        row: dict[str, Any] = {"id": self.numbers[_label(model)][obj.pk]}
        for f in _fields(model):
            value = getattr(obj, f.attname)
            if not f.is_relation:
                row[f.name] = _dump(f, value)
                continue
            kind = _kind_of_reference(f)
            if value is None:
                row[f.name] = None
            elif kind == "user":
                row[f.name] = self.emails.get(value)
            elif kind == "profession":
                row[f.name] = value
            else:
                row[f.name] = self._number(kind, value)
        if table.name == "members":
            person = self.people.get(obj.user_id)
            row["first_name"] = person.first_name if person else ""
            row["last_name"] = person.last_name if person else ""
        elif table.name == "partners":
            row["professions"] = sorted(m2m["professions"].get(obj.pk, []))
            niches = (self._number("directory.Niche", n) for n in m2m["niches"].get(obj.pk, []))
            row["niches"] = sorted(n for n in niches if n is not None)
        elif table.name == "audit_entries":
            row["object_id"] = self._audit_object(obj.object_type, obj.object_id)
            row["data"] = self._audit_data(obj.data)
        return row

    def _audit_object(self, object_type: str, object_id: str) -> int | None:
        label = _label_of_type(object_type)
        if label is None or not str(object_id).isdigit():
            return None
        return self._number(label, int(object_id))

    def _audit_data(self, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        out = dict(data)
        for key, label in AUDIT_DATA_REFERENCES.items():
            value = out.get(key)
            if isinstance(value, int) and not isinstance(value, bool):
                out[key] = self._number(label, value)
        return out


def _fhir_bundle(practice: Practice) -> tuple[dict[str, Any] | None, str]:
    """The FHIR exporter's bundle, or a note saying why there is none."""
    try:
        module = importlib.import_module(FHIR_MODULE)
    except ImportError as exc:
        return None, f"No FHIR bundle: {FHIR_MODULE} is not available ({exc})."
    build = getattr(module, FHIR_FUNCTION, None)
    if build is None:
        return None, f"No FHIR bundle: {FHIR_MODULE} has no {FHIR_FUNCTION}()."
    try:
        return build(practice), ""
    except Exception as exc:  # an extra of the archive must not cost the whole backup
        logger.exception("FHIR bundle failed for practice %s", practice.pk)
        return None, f"No FHIR bundle: it could not be built ({type(exc).__name__}: {exc})."


def readme_text(practice_name: str = "") -> str:
    title = f"Referwell export of {practice_name}" if practice_name else "Referwell export"
    lines = [
        f"{title} (format {FORMAT}, version {VERSION}).",
        "",
        "Restore it with: referwell import-practice FILE.zip",
        "",
        CONVENTIONS,
        "Files:",
        "  manifest.json — format, version, when, counts per file, notes.",
    ]
    lines += [f"  {t.name}.json — {t.about}" for t in TABLES]
    lines += [
        "  letters/NNNN.pdf — each outgoing message as a PDF letter (NNNN is its id in "
        "outgoing_messages.json).",
        "  fhir-bundle.json — the practice as a FHIR R4 bundle, when this instance can make one.",
        "",
        "Not included: " + " ".join(NOT_EXPORTED.values()),
        "Members have no passwords in the archive: after a restore they reset theirs.",
    ]
    return "\n".join(lines) + "\n"


def export_practice(
    practice: Practice, out: IO[bytes], *, by: User | None = None, via: str = "cli"
) -> dict[str, Any]:
    """Write the archive into `out` (a binary file); returns the manifest. Audited as
    referwell.practice.exported once written — the archive does not hold its own entry."""
    snapshot = _Snapshot(practice)
    if connection.vendor == "postgresql" and not connection.in_atomic_block:
        # One consistent picture of every table, while others keep working.
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            snapshot.build()
    else:
        snapshot.build()
    notes: list[str] = []
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        letters = 0
        for message, row in zip(
            snapshot.objects["outgoing_messages"], snapshot.rows["outgoing_messages"], strict=True
        ):
            message.practice = practice
            path = f"letters/{row['id']:04d}.pdf"
            try:
                archive.writestr(path, message_pdf(message))
            except Exception as exc:  # one odd letter must not cost the whole backup
                logger.exception("letter PDF failed for message %s", message.pk)
                notes.append(f"No PDF for outgoing message {row['id']}: {type(exc).__name__}.")
                row["letter"] = None
                continue
            row["letter"] = path
            letters += 1
        for table in TABLES:
            archive.writestr(f"{table.name}.json", _json(snapshot.rows[table.name]))
        bundle, fhir_note = _fhir_bundle(practice)
        if bundle is not None:
            archive.writestr("fhir-bundle.json", _json(bundle))
        else:
            notes.append(fhir_note)
        counts = {t.name: len(snapshot.rows[t.name]) for t in TABLES}
        readme = readme_text(practice.name)
        manifest = {
            "format": FORMAT,
            "version": VERSION,
            "exported_at": timezone.now().astimezone(dt.UTC).isoformat(),
            "practice": practice.slug,
            "counts": counts,
            "letters": letters,
            "fhir_bundle": bundle is not None,
            "files": {f"{t.name}.json": t.about for t in TABLES},
            "not_exported": NOT_EXPORTED,
            "notes": notes,
            "readme": readme,
        }
        archive.writestr("README.txt", readme)
        archive.writestr("manifest.json", _json(manifest))
    log_action(
        practice=practice,
        actor=by,
        action="referwell.practice.exported",
        obj=practice,
        data={"via": via, "counts": counts, "letters": letters},
    )
    return manifest


def _json(value: Any) -> str:
    return json.dumps(value, indent=1, ensure_ascii=False) + "\n"


# --------------------------------------------------------------------------- import


def read_archive(source: str | Path | IO[bytes]) -> tuple[dict[str, Any], Tables]:
    """The manifest and every table's rows, checked for shape; ArchiveError otherwise."""
    try:
        archive = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, OSError) as exc:
        raise ArchiveError(
            f"Not a Referwell export: cannot open it as a zip file ({exc})."
        ) from None
    with archive:
        names = set(archive.namelist())
        wanted = {"manifest.json"} | {f"{table.name}.json" for table in TABLES}
        members = {info.filename: info for info in archive.infolist() if info.filename in wanted}
        declared = sum(info.file_size for info in members.values())
        if declared > MAX_UNPACKED_BYTES:
            raise ArchiveError(
                f"This archive would unpack to {megabytes(declared)}, more than the "
                f"{megabytes(MAX_UNPACKED_BYTES)} a restore reads; it is not a Referwell export."
            )

        def read(name: str) -> Any:
            try:
                text = read_zip_member(archive, members[name], MAX_UNPACKED_BYTES).decode("utf-8")
                if json_too_deep(text, MAX_DEPTH):
                    raise ArchiveError(f"{name} is nested more than {MAX_DEPTH} deep.")
                return json.loads(text)
            except ZipMemberTooLarge as exc:
                raise ArchiveError(f"Not a Referwell export: {exc}") from None
            except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
                raise ArchiveError(f"{name} is damaged in the zip ({exc}).") from None
            except (ValueError, UnicodeDecodeError, RecursionError) as exc:
                raise ArchiveError(f"{name} is not valid JSON ({exc}).") from None

        if "manifest.json" not in names:
            raise ArchiveError("Not a Referwell export: there is no manifest.json in the zip.")
        manifest = read("manifest.json")
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
            raise ArchiveError(f"Not a Referwell export: manifest.json is not of {FORMAT}.")
        version = manifest.get("version")
        if not isinstance(version, int) or version > VERSION:
            raise ArchiveError(
                f"This export has version {version}; this Referwell reads up to {VERSION}."
            )
        counts = manifest.get("counts") or {}
        tables: Tables = {}
        for table in TABLES:
            name = f"{table.name}.json"
            if name not in names:
                if counts.get(table.name):
                    raise ArchiveError(f"{name} is missing from the archive.")
                tables[table.name] = []
                continue
            rows = read(name)
            if not isinstance(rows, list) or not all(
                isinstance(r, dict) and isinstance(r.get("id"), int) for r in rows
            ):
                raise ArchiveError(f"{name} is not a list of objects with an id.")
            tables[table.name] = rows
    if len(tables["practice"]) != 1 or not tables["practice"][0].get("slug"):
        raise ArchiveError("practice.json must hold exactly one practice, with its slug.")
    return manifest, tables


# What a restore reports as it goes: (tables restored, tables in all, what it is doing now).
Progress = Callable[[int, int, str], None]


def import_practice(
    source: str | Path | IO[bytes], *, progress: Progress | None = None
) -> dict[str, Any]:
    """Restore an archive; returns {"practice": slug, "created": {table: rows, "users": n},
    "new_users": [e-mails of the accounts created, who must reset their password]}.
    `progress`, if given, hears of each table as it is restored."""
    if progress is not None:
        progress(0, len(TABLES), "Reading the archive")
    _manifest, tables = read_archive(source)
    slug = tables["practice"][0]["slug"]
    if Practice.objects.filter(slug=slug).exists():
        raise ArchiveError(
            f"A practice with the slug '{slug}' already exists here; "
            "an export is only restored into an instance without it."
        )
    restore = _Restore(tables, progress)
    try:
        with transaction.atomic():
            restore.run()
            # Its rows were written in bulk (no signals): a version of its own from the start.
            practice_touched(restore.restored.pk)
    except ArchiveError:
        raise
    except (DatabaseError, ValidationError, ValueError, TypeError, KeyError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ArchiveError(f"Cannot restore {restore.current}.json: {first}") from None
    created = {t.name: len(tables[t.name]) for t in TABLES}
    created["users"] = len(restore.new_users)
    return {"practice": slug, "created": created, "new_users": restore.new_users}


class _Restore:
    def __init__(self, tables: Tables, progress: Progress | None = None) -> None:
        self.tables = tables
        self.progress = progress
        self.keys: dict[str, dict[int, Any]] = {}  # table label → archive id → new key
        self.users: dict[str, Any] = {}  # e-mail → user key
        self.new_users: list[str] = []
        self.current = "practice"
        self.practice: Practice | None = None

    @property
    def restored(self) -> Practice:
        """The practice restored (its row is the first written)."""
        if self.practice is None:
            raise ArchiveError("practice.json must hold exactly one practice, with its slug.")
        return self.practice

    def run(self) -> None:
        self._professions()
        # created_at / updated_at as the archive has them, not "now" (a command runs alone).
        with explicit_timestamps(*(_model(t) for t in TABLES)):
            self._tables()
        if self.progress is not None:
            self.progress(len(TABLES), len(TABLES), "Chaining the audit trail anew")
        audit_chain_rebuild(practice=self.restored)

    def _tables(self) -> None:
        for done, table in enumerate(TABLES):
            self.current = table.name
            if self.progress is not None:
                words = table.name.replace("_", " ")
                self.progress(done, len(TABLES), f"Restoring {words} ({table.name}.json)")
            model = _model(table)
            if table.name == "members":
                self._users()
            objects = self._create(table, model, self.tables[table.name])
            if table.name == "practice":
                self.practice = objects[0]
            if table.name == "partners":
                self._partner_links(objects, self.tables[table.name])

    # -- the knowledge base's professions, by slug; one unknown here is added under its slug
    def _professions(self) -> None:
        wanted = {s for p in self.tables["partners"] for s in p.get("professions") or []}
        for name in ("consents", "referrals"):
            wanted |= {r["profession"] for r in self.tables[name] if r.get("profession")}
        have = set(Profession.objects.filter(slug__in=wanted).values_list("slug", flat=True))
        if wanted - have:
            professions_sync()
            have = set(Profession.objects.filter(slug__in=wanted).values_list("slug", flat=True))
        for slug in sorted(wanted - have):
            Profession.objects.create(slug=slug, name=slug.replace("-", " ").capitalize())

    # -- people: an account per e-mail address, existing or new
    def _users(self) -> None:
        user_model: Any = _user_model()
        emails = {str(r.get("user") or "").strip().lower() for r in self.tables["members"]}
        for table in TABLES:
            model = _model(table)
            for f in _fields(model):
                if f.is_relation and f.related_model is user_model:
                    emails |= {
                        str(r[f.name]).lower() for r in self.tables[table.name] if r.get(f.name)
                    }
        emails.discard("")
        for pk, email in user_model._base_manager.filter(email__in=emails).values_list(
            "pk", "email"
        ):
            self.users[email.lower()] = pk
        for row in self.tables["members"]:
            email = str(row.get("user") or "").strip().lower()
            if not email:
                raise ArchiveError(f"members.json row {row['id']} has no e-mail address.")
            if email not in self.users:
                user = user_model.objects.create_user(
                    email=email,
                    # Nobody knows it: the member sets their own through "Forgot your password?"
                    password=secrets.token_urlsafe(32),
                    first_name=row.get("first_name", ""),
                    last_name=row.get("last_name", ""),
                )
                self.users[email] = user.pk
                self.new_users.append(email)

    def _reference(self, table: Table, row: Row, field: AnyField, label: str) -> Any:
        value = row[field.name]
        if value is None:
            return None
        key = self.keys.get(label, {}).get(value)
        if key is None:
            target = next(t.name for t in TABLES if t.model == label)
            raise ArchiveError(
                f"{table.name}.json row {row['id']}: {field.name} {value} is not in {target}.json."
            )
        return key

    def _create(self, table: Table, model: type[models.Model], rows: list[Row]) -> list[Any]:
        fields = _fields(model)
        label = _label(model)
        objects = []
        now = timezone.now()
        later: list[tuple[int, AnyField, Any]] = []  # references within the same table
        for index, row in enumerate(rows):
            values: dict[str, Any] = {}
            if table.name != "practice":
                values["practice_id"] = self.restored.pk
            for f in fields:
                if f.name not in row:
                    continue
                if not f.is_relation:
                    values[f.attname] = _load(f, row[f.name])
                    continue
                kind = _kind_of_reference(f)
                if kind == "user":
                    email = str(row[f.name] or "").lower()
                    values[f.attname] = self.users.get(email) if email else None
                elif kind == "profession":
                    values[f.attname] = row[f.name]
                elif kind == label:
                    values[f.attname] = None
                    if row[f.name] is not None:
                        later.append((index, f, row[f.name]))
                else:
                    values[f.attname] = self._reference(table, row, f, kind)
            if table.name == "audit_entries":
                self._audit(values, row)
            for name in STAMPS:
                if name in {f.name for f in fields} and values.get(name) is None:
                    values[name] = now
            if table.name == "members" and "accepted_at" not in row:
                # An archive from before invitations: its members had all been accepted.
                values["accepted_at"] = values.get("created_at") or now
            objects.append(model(**values))
        if table.name == "partners":
            self._fresh_codes(objects)
        model._base_manager.bulk_create(objects, batch_size=500)
        self.keys[label] = {row["id"]: obj.pk for row, obj in zip(rows, objects, strict=True)}
        if later:
            changed = []
            for index, field, value in later:
                key = self.keys[label].get(value)
                if key is None:
                    raise ArchiveError(
                        f"{table.name}.json row {rows[index]['id']}: {field.name} {value} "
                        f"is not in {table.name}.json."
                    )
                setattr(objects[index], field.attname, key)
                changed.append(objects[index])
            names = sorted({field.name for _, field, _ in later})
            model._base_manager.bulk_update(changed, names, batch_size=500)
        return objects

    def _fresh_codes(self, partners: Iterable[Any]) -> None:
        """A referral code names a public page; one already used here is replaced."""
        partners = list(partners)
        codes = [p.referral_code for p in partners]
        taken = set(
            Partner.objects.filter(referral_code__in=codes).values_list("referral_code", flat=True)
        )
        seen: set[str] = set()
        for p in partners:
            if not p.referral_code or p.referral_code in taken or p.referral_code in seen:
                p.referral_code = new_referral_code()
            seen.add(p.referral_code)

    def _partner_links(self, partners: list[Any], rows: list[Row]) -> None:
        professions, niches = Partner.professions.through, Partner.niches.through
        profession_links, niche_links = [], []
        niche_keys = self.keys.get("directory.Niche", {})
        for partner, row in zip(partners, rows, strict=True):
            for slug in row.get("professions") or []:
                profession_links.append(professions(partner_id=partner.pk, profession_id=slug))
            for number in row.get("niches") or []:
                if number not in niche_keys:
                    raise ArchiveError(
                        f"partners.json row {row['id']}: niche {number} is not in niches.json."
                    )
                niche_links.append(niches(partner_id=partner.pk, niche_id=niche_keys[number]))
        professions.objects.bulk_create(profession_links, batch_size=500)
        niches.objects.bulk_create(niche_links, batch_size=500)

    def _audit(self, values: dict[str, Any], row: Row) -> None:
        object_type = row.get("object_type") or ""
        label = _label_of_type(object_type)
        number = row.get("object_id")
        key = self.keys.get(label or "", {}).get(number) if isinstance(number, int) else None
        values["object_id"] = str(key) if key is not None else ""
        data = row.get("data")
        if isinstance(data, dict):
            data = dict(data)
            for name, target in AUDIT_DATA_REFERENCES.items():
                value = data.get(name)
                if isinstance(value, int) and not isinstance(value, bool):
                    data[name] = self.keys.get(target, {}).get(value)
        values["data"] = data if data is not None else {}
