"""Partners and clients from a CSV file: reading it, mapping its columns, checking each row.

No database here: the caller hands in the practice's existing partners or clients (as plain
rows) and the known professions; this module says what would become of every row of the file
— created, skipped as a duplicate, or rejected with its reasons — and the fields to create it
with. Rows are checked by the model's own validation (`full_clean`, without the uniqueness
queries), so a ZIP code, an NPI or a website is refused here exactly as the forms refuse it.

Row numbers are the spreadsheet's: the header is row 1, the first record row 2 (a quoted cell
over several lines is still one row).
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.core.validators import validate_email

from referwell.clients.models import Client, Stream
from referwell.core.phones import phone_display
from referwell.directory.duplicates import (
    SHARED_PHONE,
    Contact,
    DuplicateIndex,
    is_duplicate,
    normalize_email,
)
from referwell.directory.models import Partner, Stage

MAX_BYTES = 2 * 1024 * 1024
MAX_ROWS = 5000
MAX_COLUMNS = 100

PARTNERS = "partners"
CLIENTS = "clients"
KINDS = {PARTNERS: "Partners", CLIENTS: "Clients"}

CREATE = "create"
DUPLICATE = "duplicate-skip"
REJECT = "reject"


class CsvProblem(ValueError):
    """The file as a whole cannot be read; the message is for the person who uploaded it."""


# --------------------------------------------------------------------------- reading


def decode(raw: bytes) -> str:
    """The file's text: UTF-8 (with or without the byte-order mark Excel writes), else
    Windows-1252, the encoding of Excel's plain "CSV" on Windows."""
    if len(raw) > MAX_BYTES:
        raise CsvProblem(f"The file is larger than {MAX_BYTES // (1024 * 1024)} MB.")
    if not raw.strip():
        raise CsvProblem("The file is empty.")
    if b"\x00" in raw:
        raise CsvProblem(
            "This is not a CSV text file (it looks binary: an Excel workbook, or UTF-16 text). "
            "In Excel, use Save As → “CSV UTF-8 (Comma delimited)”."
        )
    if raw.startswith(codecs.BOM_UTF8):
        raw = raw[len(codecs.BOM_UTF8) :]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        try:
            text = raw.decode("cp1252")
        except UnicodeDecodeError:
            raise CsvProblem(
                "The file is neither UTF-8 nor Windows-1252 text. Save it as “CSV UTF-8”."
            ) from None
    if any(unicodedata.category(c) == "Cc" and c not in "\t\r\n\f" for c in text):
        raise CsvProblem(
            "This is not a CSV text file: it holds control characters. Save it as “CSV UTF-8”."
        )
    return text


@dataclass(frozen=True)
class Row:
    number: int
    cells: tuple[str, ...]


@dataclass(frozen=True)
class Table:
    headers: tuple[str, ...]
    rows: tuple[Row, ...]
    delimiter: str = ","

    def samples(self, index: int, count: int = 3) -> list[str]:
        """The first few non-empty values of a column, for the mapping page."""
        found = []
        for row in self.rows:
            if index < len(row.cells) and row.cells[index].strip():
                found.append(row.cells[index].strip())
                if len(found) == count:
                    break
        return found


def _delimiter(text: str) -> str:
    """Comma, or what the header line clearly uses instead (Excel writes ';' in some
    locales, and tab-separated text is pasted from spreadsheets)."""
    first = text.split("\n", 1)[0]
    counts = {d: first.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] > counts[","] else ","


def read_table(text: str) -> Table:
    delimiter = _delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    headers: tuple[str, ...] = ()
    rows: list[Row] = []
    try:
        for number, cells in enumerate(reader, start=1):
            if number == 1:
                headers = tuple(
                    cell.strip() or f"Column {i}" for i, cell in enumerate(cells, start=1)
                )
                continue
            if not any(cell.strip() for cell in cells):
                continue  # a blank line; its number still counts, as in the spreadsheet
            if len(rows) == MAX_ROWS:
                raise CsvProblem(
                    f"The file has more than {MAX_ROWS} rows: split it into smaller files."
                )
            rows.append(Row(number, tuple(cells)))
    except csv.Error as exc:
        raise CsvProblem(
            f"The file cannot be read as CSV near line {reader.line_num}: {exc}."
        ) from None
    if not headers or not any(h for h in headers if not h.startswith("Column ")):
        raise CsvProblem("The file has no header row: its first row must name the columns.")
    if len(headers) > MAX_COLUMNS:
        raise CsvProblem(f"The file has more than {MAX_COLUMNS} columns.")
    if not rows:
        raise CsvProblem("The file has a header row but no rows to import.")
    return Table(headers=headers, rows=tuple(rows), delimiter=delimiter)


# --------------------------------------------------------------------------- mapping


@dataclass(frozen=True)
class Field:
    key: str
    label: str
    required: bool = False
    aliases: tuple[str, ...] = ()


_CONTACT = (
    Field("phone", "Phone", aliases=("telephone", "tel", "phone number", "office phone",
                                     "work phone", "mobile", "cell", "cell phone")),
    Field("email", "E-mail", aliases=("e mail", "email address", "e mail address", "mail")),
)  # fmt: skip
_ZIP = Field("zip_code", "ZIP code", aliases=("zip", "zipcode", "postal code", "postcode"))

FIELDS: dict[str, tuple[Field, ...]] = {
    PARTNERS: (
        Field("name", "Name", True, ("full name", "partner", "contact", "contact name",
                                     "provider", "provider name", "practitioner")),
        Field("credentials", "Credentials", aliases=("credential", "degree", "degrees",
                                                     "suffix")),
        Field("professions", "Professions", aliases=("profession", "provider type", "type",
                                                     "discipline", "category")),
        Field("specialties", "Specialties", aliases=("specialty", "speciality",
                                                     "specialities", "modalities", "focus")),
        Field("clinic", "Clinic", aliases=("clinic name", "practice", "company",
                                           "organization", "organisation", "office",
                                           "business")),
        Field("street", "Street", aliases=("address", "street address", "address 1",
                                           "address line 1")),
        Field("city", "City", aliases=("town",)),
        Field("state", "State", aliases=("st", "province")),
        _ZIP,
        *_CONTACT,
        Field("website", "Website", aliases=("web", "web site", "url", "site", "homepage")),
        Field("npi", "NPI", aliases=("npi number",)),
        Field("languages", "Languages", aliases=("language",)),
        Field("insurance_accepted", "Insurance accepted", aliases=("insurance", "insurances",
                                                                   "plans", "payers")),
        Field("stage", "Stage", aliases=("status",)),
        Field("vetting_notes", "Notes", aliases=("note", "notes", "comments", "comment")),
    ),
    CLIENTS: (
        Field("first_name", "First name", True, ("first", "firstname", "given name",
                                                 "forename")),
        Field("last_name", "Last name", True, ("last", "lastname", "surname", "family name")),
        *_CONTACT,
        Field("date_of_birth", "Date of birth", aliases=("dob", "birthdate", "birth date",
                                                         "birthday")),
        _ZIP,
        Field("insurance", "Insurance", aliases=("insurer", "plan", "insurance plan",
                                                 "payer")),
        Field("stream", "How they found you", aliases=("stream", "source", "referral source",
                                                       "came through")),
        Field("first_seen", "First visit", aliases=("first seen", "client since", "since",
                                                    "first appointment")),
        Field("complaints", "Main complaints", aliases=("complaint", "main complaint",
                                                        "reason for visit", "concerns")),
        Field("goals", "Goals", aliases=("goal",)),
        Field("history", "Health history", aliases=("medical history",)),
        Field("notes", "Intake notes", aliases=("note", "notes", "comments", "comment")),
    ),
}  # fmt: skip


def fields_for(kind: str) -> tuple[Field, ...]:
    return FIELDS[kind]


def _header_key(text: str) -> str:
    text = unicodedata.normalize("NFKD", text).casefold()
    return " ".join(re.sub(r"[^a-z0-9]+", " ", text).split())


def guess_mapping(kind: str, headers: Sequence[str]) -> list[str]:
    """A field key (or "" to ignore) for each header, guessed from its name; a field is
    given to the first column that names it."""
    lookup: dict[str, str] = {}
    for f in FIELDS[kind]:
        for name in (f.key, f.label, *f.aliases):
            lookup.setdefault(_header_key(name), f.key)
    mapping, taken = [], set()
    for header in headers:
        key = lookup.get(_header_key(header), "")
        if key in taken:
            key = ""
        taken.add(key)
        mapping.append(key)
    return mapping


def mapping_errors(kind: str, headers: Sequence[str], mapping: Sequence[str]) -> list[str]:
    errors = []
    labels = {f.key: f.label for f in FIELDS[kind]}
    columns: dict[str, list[str]] = {}
    for header, key in zip(headers, mapping, strict=True):
        if key:
            if key not in labels:
                errors.append(f"Unknown field for the column {header}.")
                continue
            columns.setdefault(key, []).append(header)
    for key, headers_of_key in columns.items():
        if len(headers_of_key) > 1:
            errors.append(
                f"{labels[key]} is chosen for more than one column: {', '.join(headers_of_key)}."
            )
    for f in FIELDS[kind]:
        if f.required and f.key not in columns:
            errors.append(f"Choose the column that holds the {f.label.lower()} (required).")
    return errors


# --------------------------------------------------------------------------- normalising


def normalise_email(raw: str) -> str:
    value = re.sub(r"^mailto:", "", raw.strip(), flags=re.IGNORECASE).lower()
    try:
        validate_email(value)
    except ValidationError:
        raise ValueError(f"“{raw}” is not an e-mail address") from None
    return value


def normalise_zip(raw: str) -> str:
    value = raw.strip()
    if re.fullmatch(r"\d{4}", value):
        value = "0" + value  # Excel drops the leading zero of New England ZIP codes
    return value


US_STATES = {
    "alabama": "AL", "alaska": "AK", "arizona": "AZ", "arkansas": "AR", "california": "CA",
    "colorado": "CO", "connecticut": "CT", "delaware": "DE", "district of columbia": "DC",
    "florida": "FL", "georgia": "GA", "hawaii": "HI", "idaho": "ID", "illinois": "IL",
    "indiana": "IN", "iowa": "IA", "kansas": "KS", "kentucky": "KY", "louisiana": "LA",
    "maine": "ME", "maryland": "MD", "massachusetts": "MA", "michigan": "MI", "minnesota": "MN",
    "mississippi": "MS", "missouri": "MO", "montana": "MT", "nebraska": "NE", "nevada": "NV",
    "new hampshire": "NH", "new jersey": "NJ", "new mexico": "NM", "new york": "NY",
    "north carolina": "NC", "north dakota": "ND", "ohio": "OH", "oklahoma": "OK",
    "oregon": "OR", "pennsylvania": "PA", "rhode island": "RI", "south carolina": "SC",
    "south dakota": "SD", "tennessee": "TN", "texas": "TX", "utah": "UT", "vermont": "VT",
    "virginia": "VA", "washington": "WA", "west virginia": "WV", "wisconsin": "WI",
    "wyoming": "WY", "puerto rico": "PR",
}  # fmt: skip


def normalise_state(raw: str) -> str:
    value = raw.strip().rstrip(".")
    return US_STATES.get(" ".join(value.casefold().split()), value.upper())


def normalise_website(raw: str) -> str:
    value = raw.strip()
    if value and not re.match(r"^[a-z][a-z0-9+.-]*://", value, flags=re.IGNORECASE):
        value = "https://" + value
    return value


def parse_date(raw: str) -> dt.date:
    """ISO (2024-03-05), US (3/5/2024) or 2024/03/05."""
    value = raw.strip()
    for pattern in ("%Y-%m-%d", "%m/%d/%Y", "%Y/%m/%d", "%m-%d-%Y"):
        try:
            return dt.datetime.strptime(value, pattern).date()
        except ValueError:
            continue
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}[T ].*", value):
        try:
            return dt.datetime.fromisoformat(value).date()
        except ValueError:
            pass
    raise ValueError(f"“{raw}” is not a date (write 2024-03-05 or 3/5/2024)")


def _choice(raw: str, choices: Iterable[tuple[str, str]], what: str) -> str:
    wanted = _header_key(raw)
    for value, label in choices:
        if wanted in (_header_key(value), _header_key(label)):
            return value
    allowed = ", ".join(label for _, label in choices)
    raise ValueError(f"“{raw}” is not a {what} ({allowed})")


@dataclass(frozen=True)
class ProfessionLookup:
    """Profession slugs by every way the knowledge base names them: the slug, the name, each
    part of a name such as "Nutritionist / dietitian", case and punctuation aside."""

    by_name: dict[str, str]

    @classmethod
    def from_pairs(cls, pairs: Iterable[tuple[str, str]]) -> ProfessionLookup:
        by_name: dict[str, str] = {}
        for slug, name in pairs:
            names = [slug, name, *re.split(r"\s*(?:/|\bor\b|\()\s*", name)]
            for each in names:
                key = _header_key(each)
                if key:
                    by_name.setdefault(key, slug)
                    by_name.setdefault(key.rstrip("s"), slug)
        return cls(by_name)

    def find(self, raw: str) -> str | None:
        key = _header_key(raw)
        return self.by_name.get(key) or self.by_name.get(key.rstrip("s"))


# --------------------------------------------------------------------------- checking rows


@dataclass
class RowFate:
    number: int
    label: str
    fate: str = CREATE
    reasons: list[str] = field(default_factory=list)
    fields: dict[str, Any] = field(default_factory=dict)
    professions: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def is_created(self) -> bool:
        return self.fate == CREATE


def _values(row: Row, headers: Sequence[str], mapping: Sequence[str]) -> dict[str, str]:
    values = {}
    for index, key in enumerate(mapping):
        if key and index < len(row.cells):
            values[key] = row.cells[index].strip()
    return values


def _label(kind: str, values: dict[str, str]) -> str:
    if kind == PARTNERS:
        return values.get("name", "")
    return " ".join(v for v in (values.get("first_name"), values.get("last_name")) if v)


def check_row(
    kind: str,
    row: Row,
    headers: Sequence[str],
    mapping: Sequence[str],
    professions: ProfessionLookup,
) -> RowFate:
    """The row's fields, normalised and validated by the model; reasons when it is bad."""
    values = _values(row, headers, mapping)
    fate = RowFate(number=row.number, label=_label(kind, values))
    extra = [c for c in row.cells[len(headers) :] if c.strip()]
    if extra:
        fate.fate = REJECT
        fate.reasons.append(
            f"too many columns: {len(row.cells)} cells, but the header names {len(headers)}"
        )
        return fate
    labels = {f.key: f.label for f in FIELDS[kind]}
    bad: set[str] = set()
    for f in FIELDS[kind]:
        if f.required and not values.get(f.key):
            fate.reasons.append(f"{f.label.lower()} is missing")
            bad.add(f.key)
    fields: dict[str, Any] = {}
    for key, raw in values.items():
        if not raw:
            continue
        try:
            fields[key] = _convert(kind, key, raw, fate, professions)
        except ValueError as exc:
            fate.reasons.append(f"{labels[key].lower()}: {exc}")
            bad.add(key)
    fields.pop("professions", None)
    fate.reasons.extend(_model_errors(kind, fields, labels, skip=bad))
    fate.fields = {k: v for k, v in fields.items() if k not in bad}
    if fate.reasons:
        fate.fate = REJECT
    return fate


def _convert(kind: str, key: str, raw: str, fate: RowFate, professions: ProfessionLookup) -> Any:
    if key == "phone":
        return phone_display(raw)
    if key == "email":
        return normalise_email(raw)
    if key == "zip_code":
        return normalise_zip(raw)
    if key == "state":
        return normalise_state(raw)
    if key == "website":
        return normalise_website(raw)
    if key == "npi":
        npi = re.sub(r"[\s-]", "", raw)
        if not npi.isascii():  # "123456789²": digits to str.isdigit, not to int()
            raise ValueError(f"“{raw}” is not an NPI (10 digits, 0 to 9)")
        return npi
    if key in ("date_of_birth", "first_seen"):
        return parse_date(raw)
    if key == "stage":
        return _choice(raw, Stage.choices, "stage")
    if key == "stream":
        return _choice(raw, Stream.choices, "stream")
    if key == "professions":
        unknown = []
        for name in re.split(r"[;,|]", raw):
            if not name.strip():
                continue
            slug = professions.find(name)
            if slug is None:
                unknown.append(name.strip())
            elif slug not in fate.professions:
                fate.professions.append(slug)
        if unknown:
            raise ValueError(
                "not a profession we know: " + ", ".join(f"“{name}”" for name in unknown)
            )
        return raw
    return raw


def _model_errors(
    kind: str, fields: dict[str, Any], labels: dict[str, str], *, skip: set[str]
) -> list[str]:
    model = Partner if kind == PARTNERS else Client
    instance = model(**fields)
    try:
        instance.full_clean(
            exclude=["practice", *skip], validate_unique=False, validate_constraints=False
        )
    except ValidationError as exc:
        reasons = []
        for key, messages in exc.message_dict.items():
            label = "row" if key == NON_FIELD_ERRORS else labels.get(key, key.replace("_", " "))
            reasons.append(f"{label.lower()}: {' '.join(messages)}")
        return reasons
    return []


# --------------------------------------------------------------------------- duplicates


def _fold(text: str) -> str:
    text = unicodedata.normalize("NFKD", text or "")
    text = "".join(c for c in text if not unicodedata.combining(c)).casefold()
    return " ".join(re.sub(r"[^\w\s]", " ", text).split())


@dataclass(frozen=True)
class Known:
    """A partner or client already there (or a row accepted earlier in the same file)."""

    label: str
    name: str = ""
    first_name: str = ""
    last_name: str = ""
    city: str = ""
    email: str = ""
    phone: str = ""
    npi: str = ""
    date_of_birth: dt.date | None = None


def _contact(k: Known) -> Contact:
    return Contact(name=k.name, city=k.city, email=k.email, phone=k.phone, npi=k.npi)


class PartnerIndex:
    """Who a new partner would duplicate, by the directory's one rule (directory/duplicates.py):
    the same NPI or e-mail; the same phone and family name, or the same name and city. A phone
    shared with someone of another family name is a colleague on the office's line: not a
    duplicate (`shares_phone` says with whom)."""

    def __init__(self, known: Iterable[Known] = ()) -> None:
        self.index: DuplicateIndex[Known] = DuplicateIndex()
        for k in known:
            self.add(k)

    def add(self, k: Known) -> None:
        self.index.add(_contact(k), k)

    def match(self, k: Known) -> tuple[str, Known] | None:
        for reason, other in self.index.matches(_contact(k)):
            if is_duplicate(reason):
                return reason, other
        return None

    def shares_phone(self, k: Known) -> Known | None:
        for reason, other in self.index.matches(_contact(k)):
            if reason == SHARED_PHONE:
                return other
        return None


class ClientIndex:
    """A client is already there when the first and last names are the same and nothing
    tells them apart: no other date of birth, no other e-mail address."""

    def __init__(self, known: Iterable[Known] = ()) -> None:
        self.by_name: dict[tuple[str, str], list[Known]] = {}
        for k in known:
            self.add(k)

    def add(self, k: Known) -> None:
        self.by_name.setdefault((_fold(k.first_name), _fold(k.last_name)), []).append(k)

    def match(self, k: Known) -> tuple[str, Known] | None:
        for other in self.by_name.get((_fold(k.first_name), _fold(k.last_name)), []):
            if k.date_of_birth and other.date_of_birth and k.date_of_birth != other.date_of_birth:
                continue
            mine, theirs = normalize_email(k.email), normalize_email(other.email)
            if mine and theirs and mine != theirs:
                continue
            return "same name", other
        return None


def _known_from_fields(kind: str, fields: dict[str, Any], label: str) -> Known:
    keys = ("name", "first_name", "last_name", "city", "email", "phone", "npi", "date_of_birth")
    return Known(label=label, **{k: fields[k] for k in keys if k in fields})


def plan(
    kind: str,
    table: Table,
    mapping: Sequence[str],
    *,
    existing: Iterable[Known],
    professions: ProfessionLookup,
) -> list[RowFate]:
    """Every row's fate, in the file's order. A row that repeats an earlier row of the same
    file is a duplicate of that row."""
    partners = PartnerIndex(existing) if kind == PARTNERS else None
    index: PartnerIndex | ClientIndex = partners or ClientIndex(existing)
    fates = []
    for row in table.rows:
        fate = check_row(kind, row, table.headers, mapping, professions)
        if fate.fate == CREATE:
            me = _known_from_fields(kind, fate.fields, f"row {row.number}")
            found = index.match(me)
            if found is not None:
                reason, other = found
                fate.fate = DUPLICATE
                fate.reasons.append(f"already there ({reason}): {other.label}")
            else:
                colleague = partners.shares_phone(me) if partners is not None else None
                if colleague is not None:
                    fate.notes.append(f"shares a phone number with {colleague.label}")
                index.add(me)
        fates.append(fate)
    return fates


def summary(fates: Iterable[RowFate]) -> dict[str, int]:
    """{"create": n, "duplicate": n, "reject": n}."""
    names = {CREATE: "create", DUPLICATE: "duplicate", REJECT: "reject"}
    counts = dict.fromkeys(names.values(), 0)
    for fate in fates:
        counts[names[fate.fate]] += 1
    return counts
