"""Business cards: vCard files (2.1, 3.0, 4.0) read into plain data, and a partner written as one.

Pure functions over bytes, text and dataclasses (no ORM), so the importer is tested on real
exports and shared by the web page and the command line. vobject reads each card; this module
only splits a file into cards first, so that one broken card never costs the others, decodes
each card's bytes (UTF-8, or the CHARSET= the card declares), drops photos and other binary
data unread, and maps the properties a prospect needs onto partner fields.

A card's name is a person's name (FN or N) or nothing: a card without one is read with an
empty name, for the person importing it to name or skip, never named after its e-mail address.
TITLE is a job title, kept as such; credentials come only from after the name (N's honorific
suffixes, or FN's "Jane Smith, DC"). The phone is the card's preferred one (vCard 3
TYPE=pref, vCard 2.1 PREF, vCard 4 PREF=1…100), else its first that is not a fax or a pager.
"""

from __future__ import annotations

import codecs
import io
import json
import re
import unicodedata
from dataclasses import asdict, dataclass, fields
from functools import cache
from typing import Any

import vobject
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator, validate_email
from nameparser.config import CONSTANTS as NAME_CONSTANTS

from referwell.core.validators import validate_npi, validate_us_zip
from referwell.directory.professions import load_professions

# Lengths of the Partner fields a card fills.
MAX_LENGTHS = {
    "name": 200,
    "credentials": 100,
    "clinic": 200,
    "street": 200,
    "city": 100,
    "phone": 40,
    "email": 254,
    "website": 200,
}
# A job title is kept in the partner's notes (Partner has no field of its own for it).
TITLE_LENGTH = 100
# A business card has a few dozen properties; a "card" of thousands is not one, and reading
# vobject reads each one slowly enough that such an upload would hold a worker for long
# (docs/performance.md, "Measured choices").
MAX_PROPERTIES = 1000
# Photos, logos, sounds and keys are ignored: never decoded, so broken base64 cannot hurt.
IGNORED_PROPERTIES = {"PHOTO", "LOGO", "SOUND", "KEY"}

GENERATIONAL = {"jr", "sr", "jnr", "snr", "junior", "senior", "ii", "iii", "iv", "v", "2nd", "3rd"}
# Courtesy titles dropped from a name; "Dr." is kept, as the network writes doctors' names.
COURTESY_TITLES = {"mr", "mrs", "ms", "miss", "mx", "sir", "madam", "mme", "herr", "frau", "m"}
DOCTOR_TITLES = {"dr", "doctor", "prof", "professor"}

# Credentials that name one profession without doubt; read only from TITLE, ROLE and the
# credentials after a name, never from free text (where "PT" or "DC" may mean anything).
CREDENTIAL_PROFESSIONS = {
    "DC": "chiropractor",
    "PT": "physical-therapist",
    "DPT": "physical-therapist",
    "MPT": "physical-therapist",
    "MSPT": "physical-therapist",
    "DPM": "podiatrist",
    "OT": "occupational-therapist",
    "OTR": "occupational-therapist",
    "OTR/L": "occupational-therapist",
    "OTD": "occupational-therapist",
    "ATC": "athletic-trainer",
    "LAT": "athletic-trainer",
    "LMT": "massage-therapist",
    "CMT": "massage-therapist",
    "LMBT": "massage-therapist",
    "LMP": "massage-therapist",
    "RMT": "massage-therapist",
    "DDS": "dentist",
    "DMD": "dentist",
    "DO": "osteopath",
    "ND": "naturopath",
    "NMD": "naturopath",
    "LAC": "acupuncturist",
    "DAOM": "acupuncturist",
    "DACM": "acupuncturist",
    "RD": "nutritionist",
    "RDN": "nutritionist",
    "LPC": "psychotherapist",
    "LCPC": "psychotherapist",
    "LMHC": "psychotherapist",
    "LMFT": "psychotherapist",
    "LCSW": "psychotherapist",
    "PSYD": "psychologist",
    "CNM": "midwife-doula",
    "CPM": "midwife-doula",
}
# Job titles of the people who run an office rather than treat (an office manager at a
# chiropractic clinic is no chiropractor): their ORG and NOTE say what the clinic does, so the
# profession is guessed from their title, role and credentials only.
OFFICE_TITLE = re.compile(
    r"\b(?:manager|receptionist|front desk|billing|biller|bookkeeper|administrat\w*|"
    r"assistant|coordinator|scheduler|secretary|marketing|insurance|office)\b",
    re.IGNORECASE,
)
# Words and phrases, besides the professions' own names, that clearly name a profession.
PROFESSION_PHRASES = {
    "massage-therapist": ("massage therapy", "licensed massage", "massotherapist"),
    "chiropractor": ("chiropractic",),
    "physical-therapist": ("physical therapy", "physiotherapist", "physiotherapy"),
    "occupational-therapist": ("occupational therapy", "hand therapist"),
    "orthopedic-surgeon": ("orthopaedic surgeon", "orthopedic surgery", "orthopaedic surgery"),
    "primary-care-physician": ("family physician", "family medicine", "internal medicine"),
    "neurologist": ("neurology",),
    "dermatologist": ("dermatology",),
    "podiatrist": ("podiatry", "podiatric"),
    "dentist": ("dentistry", "dental"),
    "osteopath": ("osteopathic", "osteopath"),
    "naturopath": ("naturopathic", "naturopath"),
    "homeopath": ("homeopathic", "homeopathy"),
    "acupuncturist": ("acupuncture",),
    "nutritionist": ("dietician", "nutrition counseling"),
    "psychotherapist": (
        "psychotherapy",
        "mental health counselor",
        "licensed professional counselor",
        "marriage and family therapist",
    ),
    "psychiatrist": ("psychiatry",),
    "fertility-specialist": ("reproductive endocrinology", "fertility clinic"),
    "obstetrician-gynecologist": ("obstetrician", "gynecologist", "gynaecologist", "ob/gyn"),
    "midwife-doula": ("midwifery",),
    "reflexologist": ("reflexology",),
    "hypnotherapist": ("hypnotherapy",),
}

US_STATES = {
    "alabama": "AL", "alaska": "AK", "arizona": "AZ", "arkansas": "AR", "california": "CA",
    "colorado": "CO", "connecticut": "CT", "delaware": "DE", "district of columbia": "DC",
    "florida": "FL", "georgia": "GA", "hawaii": "HI", "idaho": "ID", "illinois": "IL",
    "indiana": "IN", "iowa": "IA", "kansas": "KS", "kentucky": "KY", "louisiana": "LA",
    "maine": "ME", "maryland": "MD", "massachusetts": "MA", "michigan": "MI",
    "minnesota": "MN", "mississippi": "MS", "missouri": "MO", "montana": "MT",
    "nebraska": "NE", "nevada": "NV", "new hampshire": "NH", "new jersey": "NJ",
    "new mexico": "NM", "new york": "NY", "north carolina": "NC", "north dakota": "ND",
    "ohio": "OH", "oklahoma": "OK", "oregon": "OR", "pennsylvania": "PA",
    "rhode island": "RI", "south carolina": "SC", "south dakota": "SD", "tennessee": "TN",
    "texas": "TX", "utah": "UT", "vermont": "VT", "virginia": "VA", "washington": "WA",
    "west virginia": "WV", "wisconsin": "WI", "wyoming": "WY", "puerto rico": "PR",
    "guam": "GU", "virgin islands": "VI", "american samoa": "AS",
    "northern mariana islands": "MP",
}  # fmt: skip
US_COUNTRY_NAMES = {"", "us", "usa", "united states", "united states of america", "america"}

# Not indented: an indented line continues the previous one (a folded NOTE may say anything).
_BEGIN = re.compile(rb"^BEGIN:VCARD\s*$", re.IGNORECASE)
_END = re.compile(rb"^END:VCARD\s*$", re.IGNORECASE)
_CHARSET = re.compile(rb";\s*CHARSET\s*=\s*\"?([A-Za-z0-9_\-]+)", re.IGNORECASE)
# A property's name and parameters, up to the colon. vobject's own pattern backtracks
# exponentially on a malformed line with many "=" (seconds for 150 characters), so a line is
# checked with this unambiguous one first and skipped as unreadable when it does not match.
_PARAM_VALUE = r'(?:"[^"]*"|[^";:,]*)'
_HEADER = re.compile(
    rf"(?:[A-Za-z0-9_-]+\.)?[A-Za-z0-9_-]+"
    rf"(?:;[A-Za-z0-9_-]+(?:={_PARAM_VALUE}(?:,{_PARAM_VALUE})*)?)*"
)
_ZIP = re.compile(r"^(\d{5})(?:[-\s]?\d{4})?$")
_NPI_IN_TEXT = re.compile(r"\bNPI\b\D{0,5}(\d{10})\b", re.IGNORECASE)
_ESCAPES = {"n": "\n", "N": "\n", ",": ",", ";": ";", ":": ":", "\\": "\\", '"': '"'}


class CardError(Exception):
    """Why one card cannot be read, in words for the person who uploaded it."""


@dataclass(frozen=True)
class CardData:
    """What a business card says, in the Partner's terms; `name` is empty when the card names
    no one, `title` is the card's job title (TITLE), `phone_preferred` whether the card marked
    the phone chosen as its preferred one, `other_phones` the numbers not chosen."""

    name: str
    credentials: str = ""
    title: str = ""
    clinic: str = ""
    street: str = ""
    city: str = ""
    state: str = ""
    zip_code: str = ""
    phone: str = ""
    email: str = ""
    website: str = ""
    npi: str = ""
    professions: tuple[str, ...] = ()  # profession slugs
    phone_preferred: bool = False
    other_phones: tuple[str, ...] = ()

    def partner_fields(self) -> dict[str, str]:
        """The Partner's fields; the job title goes into the notes, as a line of its own."""
        found = asdict(self)
        for key in ("professions", "title", "phone_preferred", "other_phones"):
            del found[key]
        if self.title:
            found["vetting_notes"] = title_note(self.title)
        return found


def title_note(title: str) -> str:
    return f"Job title on their business card: {title}"


@dataclass(frozen=True)
class ParsedCard:
    number: int  # position in the file, from 1
    data: CardData | None
    error: str = ""  # why the card could not be read, when data is None


@dataclass(frozen=True)
class ParsedFile:
    cards: tuple[ParsedCard, ...]
    problem: str = ""  # about the file as a whole: empty, no card in it, text outside cards


def dump_files(files: list[tuple[str, ParsedFile]]) -> str:
    """Read files as JSON (what waits between the preview and the import: the cards as read,
    never the file itself with its photos and notes)."""
    return json.dumps(
        [
            {
                "name": name,
                "problem": parsed.problem,
                "cards": [
                    {
                        "number": card.number,
                        "error": card.error,
                        "data": None if card.data is None else asdict(card.data),
                    }
                    for card in parsed.cards
                ],
            }
            for name, parsed in files
        ]
    )


_TUPLES = {f.name for f in fields(CardData) if str(f.type).startswith("tuple")}


def load_files(text: str) -> list[tuple[str, ParsedFile]]:
    """The files dump_files wrote; ValueError when the text is not such a dump."""
    try:
        files = []
        for item in json.loads(text):
            cards = []
            for card in item["cards"]:
                data = card["data"]
                if data is not None:
                    values: dict[str, Any] = {
                        k: tuple(v) if k in _TUPLES else v for k, v in data.items()
                    }
                    data = CardData(**values)
                cards.append(ParsedCard(number=card["number"], data=data, error=card["error"]))
            files.append((item["name"], ParsedFile(cards=tuple(cards), problem=item["problem"])))
    except (KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"not a dump of read vCard files: {exc}") from None
    return files


# --------------------------------------------------------------------------- reading


def parse_vcards(raw: bytes) -> ParsedFile:
    """Every card of a .vcf file, each read on its own: a card that cannot be read carries the
    reason, the others their data."""
    raw = _to_utf8_if_utf16(raw)
    if raw.startswith(codecs.BOM_UTF8):
        raw = raw[len(codecs.BOM_UTF8) :]
    if not raw.strip():
        return ParsedFile(cards=(), problem="The file is empty.")
    chunks, stray_line = _split_cards(raw)
    if not chunks:
        return ParsedFile(cards=(), problem="No vCard in this file (no BEGIN:VCARD line).")
    cards = []
    for number, (first_line, chunk, complete) in enumerate(chunks, start=1):
        try:
            if not complete:
                raise CardError(
                    f"The card starting on line {first_line} is cut short: no END:VCARD."
                )
            data = card_data(_read_card(chunk, first_line))
        except CardError as exc:
            cards.append(ParsedCard(number=number, data=None, error=str(exc)))
        except Exception as exc:  # noqa: BLE001 - one odd card must not stop the others
            error = f"The card starting on line {first_line} could not be read: {_one_line(exc)}"
            cards.append(ParsedCard(number=number, data=None, error=error))
        else:
            cards.append(ParsedCard(number=number, data=data))
    problem = ""
    if stray_line:
        problem = f"Text outside BEGIN:VCARD … END:VCARD (line {stray_line}) was not read."
    return ParsedFile(cards=tuple(cards), problem=problem)


def count_cards(raw: bytes) -> int:
    """The number of BEGIN:VCARD lines, without reading the cards (to refuse a file of too
    many before the slow part)."""
    return sum(1 for line in _to_utf8_if_utf16(raw).splitlines() if _BEGIN.match(line))


def count_properties(raw: bytes) -> int:
    """The number of property lines (folded continuations and photos' base64 lines not
    counted): what reading costs, known before reading."""
    return sum(
        1 for line in _to_utf8_if_utf16(raw).splitlines() if line and line[:1] not in (b" ", b"\t")
    )


def _to_utf8_if_utf16(raw: bytes) -> bytes:
    # Some Windows programs export UTF-16 with a byte-order mark.
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return raw.decode("utf-16").encode("utf-8")
        except UnicodeDecodeError:
            return raw
    return raw


def _split_cards(raw: bytes) -> tuple[list[tuple[int, bytes, bool]], int]:
    """(first line number, bytes, has END:VCARD) per card, and the first line of stray text."""
    chunks: list[tuple[int, bytes, bool]] = []
    current: list[bytes] | None = None
    start = 0
    stray = 0
    for number, line in enumerate(raw.splitlines(keepends=True), start=1):
        if _BEGIN.match(line):
            if current is not None:  # a card that never ended
                chunks.append((start, b"".join(current), False))
            current, start = [line], number
        elif current is not None:
            current.append(line)
            if _END.match(line):
                chunks.append((start, b"".join(current), True))
                current = None
        elif line.strip() and not stray:
            stray = number
    if current is not None:
        chunks.append((start, b"".join(current), False))
    return chunks, stray


def _decode(chunk: bytes, first_line: int) -> str:
    try:
        return chunk.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = first_line + chunk[: exc.start].count(b"\n")
        declared = []
        for name in _CHARSET.findall(chunk):
            charset = name.decode("ascii").lower()
            if charset not in ("utf-8", "utf8", "us-ascii", "ascii") and charset not in declared:
                declared.append(charset)
        if not declared:
            raise CardError(
                f"Not UTF-8 text (byte 0x{chunk[exc.start]:02X} on line {line}), and the card "
                "names no other CHARSET=; export it again as UTF-8."
            ) from None
        for charset in declared:
            try:
                return chunk.decode(charset)
            except (LookupError, UnicodeDecodeError):
                continue
        raise CardError(
            f"The text on line {line} is neither UTF-8 nor {', '.join(declared).upper()}."
        ) from None


STRUCTURED_PROPERTIES = {"n", "adr", "org"}


@dataclass(frozen=True)
class _Card:
    component: Any  # vobject's, for the structured N, ADR and ORG
    # The other properties as read (quoted-printable decoded, escapes left in): vobject keeps
    # only the text before an unescaped comma, and vCard 2.1 does not escape commas.
    raw: dict[str, list[Any]]
    unreadable: list[str]  # lines skipped because they could not be read


def _read_card(chunk: bytes, first_line: int) -> _Card:
    text = _decode(chunk, first_line).replace("\r\n", "\n").replace("\r", "\n")
    kept: list[str] = []
    raw: dict[str, list[Any]] = {}
    unreadable: list[str] = []
    has_version = False
    # vobject's own reader unfolds lines and joins quoted-printable soft line breaks.
    for count, (line, number) in enumerate(
        vobject.base.getLogicalLines(io.StringIO(text), allowQP=True), start=1
    ):
        if count > MAX_PROPERTIES:
            raise CardError(
                f"The card starting on line {first_line} has more than {MAX_PROPERTIES} "
                "lines: not a business card."
            )
        try:
            if not _well_formed(line):
                raise CardError(f"not a vCard property: {line[:60]!r}")
            content = vobject.base.textLineToContentLine(line, number)
        except Exception as exc:  # noqa: BLE001 - untrusted input: a bad line is skipped
            unreadable.append(f"line {first_line + number - 1}: {_one_line(exc)}")
            continue
        if content.name in IGNORED_PROPERTIES:
            continue
        has_version = has_version or content.name == "VERSION"
        kept.append(line)
        raw.setdefault(content.name.lower(), []).append(content)
    if not has_version:
        kept.insert(1, "VERSION:3.0")
    try:
        # A blank line between logical lines ends any quoted-printable run, as in the file.
        card = vobject.readOne("\n\n".join(kept) + "\n", allowQP=True)
    except Exception as exc:  # noqa: BLE001 - vobject raises several kinds on bad input
        raise CardError(f"vobject could not read the card: {_one_line(exc)}") from None
    return _Card(component=card, raw=raw, unreadable=unreadable)


def _well_formed(line: str) -> bool:
    colon = line.find(":")
    quote = line.find('"', 0, colon)
    if quote != -1:  # a quoted parameter value may hold a colon: find the one after it
        colon = -1
        in_quotes = False
        for index, char in enumerate(line):
            if char == '"':
                in_quotes = not in_quotes
            elif char == ":" and not in_quotes:
                colon = index
                break
    return colon > 0 and _HEADER.fullmatch(line, 0, colon) is not None


def _one_line(exc: Exception) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text[:150]


def card_data(card: _Card) -> CardData:
    """The partner fields of one card."""
    fn = _text(_first_value(card, "fn"))
    n = _first_value(card, "n")
    titles = [_text(v) for v in _values(card, "title")]
    roles = [_text(v) for v in _values(card, "role")]
    notes = [_text(v) for v in _values(card, "note")]
    orgs = [_org_parts(v) for v in _values(card, "org")]
    clinic = next((parts[0] for parts in orgs if parts), "")

    email = _first_email(card)
    if _is_email(fn):  # some programs write the address as the name of a nameless contact
        fn = ""
    name, credentials = _person_name(fn, n)
    phones = _phones(card)
    if not (name or clinic or email or phones):
        problem = "No name (FN or N), organisation (ORG), e-mail address or phone on the card."
        if card.unreadable:
            problem += f" Unreadable: {card.unreadable[0]}."
        raise CardError(problem)

    title = next((t for t in titles if t), "")
    if _plain(title) == _plain(credentials):  # our own export writes the credentials there too
        title = ""
    office_title = bool(title and OFFICE_TITLE.search(title))
    texts = [*titles, *roles]
    if not office_title:
        texts += [*notes, *(" ".join(parts) for parts in orgs)]
    address = _first_address(card)
    phone, preferred = phones[0] if phones else ("", False)
    return CardData(
        name=_cut(name, "name"),
        credentials=_cut(credentials, "credentials"),
        title=_cut_to(title, TITLE_LENGTH),
        clinic=_cut(clinic, "clinic"),
        phone=_cut(phone, "phone"),
        phone_preferred=preferred,
        other_phones=tuple(_cut(number, "phone") for number, _ in phones[1:]),
        email=email,
        website=_first_website(card),
        npi=_npi(card, notes),
        professions=guess_professions(credentials=[credentials, *titles, *roles], texts=texts),
        **address,
    )


def _values(card: _Card, name: str) -> list[Any]:
    if name in STRUCTURED_PROPERTIES:
        return [line.value for line in card.component.contents.get(name, [])]
    return [line.value for line in card.raw.get(name, [])]


def _first_value(card: _Card, name: str) -> Any:
    values = _values(card, name)
    return values[0] if values else ""


def _unescape(value: str) -> str:
    """Undo vCard text escapes (\\, \\; \\n…): the raw values are read before vobject's text
    handling, and vobject leaves them in properties it does not know as text (URL)."""
    return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), m.group(0)), value)


def _text(value: Any) -> str:
    if isinstance(value, list | tuple):
        value = ", ".join(_text(v) for v in value if _text(v))
    return " ".join(_unescape(str(value or "")).split())


def _lines(value: Any) -> list[str]:
    if isinstance(value, list | tuple):
        value = "\n".join(str(v) for v in value)
    lines = (" ".join(line.split()).strip(" ,;") for line in str(value or "").splitlines())
    return [line for line in lines if line]


def _cut(value: str, field: str) -> str:
    return _cut_to(value, MAX_LENGTHS[field])


def _cut_to(value: str, limit: int) -> str:
    return value if len(value) <= limit else value[: limit - 1].rstrip() + "…"


def _org_parts(value: Any) -> list[str]:
    parts = value if isinstance(value, list | tuple) else [value]
    return [t for t in (_text(p) for p in parts) if t]


def _types(line: Any) -> set[str]:
    found = {p.lower() for p in line.singletonparams}
    for value in line.params.get("TYPE", []):
        found.update(t.strip().lower() for t in value.split(","))
    return found


# ------------------------------------------------------------------------- names


def _plain(token: str) -> str:
    return token.strip(" .,;").replace(".", "").lower()


def is_credential(token: str) -> bool:
    """DC, PT, Ph.D., M.Sc.… — not Jr. or Sr., which belong to the name."""
    plain = _plain(token)
    if not plain or plain in GENERATIONAL:
        return False
    return plain in NAME_CONSTANTS.suffix_acronyms or plain.upper() in CREDENTIAL_PROFESSIONS


def _is_name_suffix(token: str) -> bool:
    return is_credential(token) or _plain(token) in GENERATIONAL


def _written_as_suffix(token: str) -> bool:
    return sum(c.isupper() for c in token) >= 2 or token.endswith(".")


def split_name(text: str) -> tuple[str, str]:
    """("Dr. Jane Smith", "DC") from "Dr. Jane Smith, DC": courtesy titles (Mr., Ms.) dropped,
    doctors' "Dr." kept, credentials split off, generational suffixes (Jr.) dropped."""
    text = " ".join(text.split())
    parts = [p.strip() for p in text.split(",")]
    name_parts = [parts[0]]
    credentials: list[str] = []
    for part in parts[1:]:
        tokens = part.split()
        if tokens and all(_is_name_suffix(t) for t in tokens):
            credentials.extend(t for t in tokens if is_credential(t))
        elif part:
            name_parts.append(part)
    tokens = ", ".join(name_parts).split()
    prefix = ""
    while len(tokens) > 1 and _plain(tokens[0]) in COURTESY_TITLES | DOCTOR_TITLES:
        if _plain(tokens[0]) in DOCTOR_TITLES:
            prefix = "Dr."
        tokens.pop(0)
    trailing: list[str] = []
    # Without a comma only what is written like a credential goes ("DC", "Ph.D.", "Jr."):
    # "Anh Nguyen Do" keeps the family name Do.
    while len(tokens) > 2 and _is_name_suffix(tokens[-1]) and _written_as_suffix(tokens[-1]):
        trailing.insert(0, tokens.pop())
    credentials = [t for t in trailing if is_credential(t)] + credentials
    name = " ".join(([prefix] if prefix else []) + tokens).strip(" ,")
    return name, ", ".join(t.strip(" ,") for t in credentials)


def _person_name(fn: str, n: Any) -> tuple[str, str]:
    if n and not isinstance(n, str):
        given = _text(n.given)
        family = _text(n.family)
        prefix = _text(n.prefix)
        suffixes = [s for s in re.split(r"[,\s]+", _text(n.suffix)) if s]
        credentials = ", ".join(s for s in suffixes if is_credential(s))
        if given or family:
            # Family name first when the card's FN writes it so (安藤 ロイド).
            compact_fn, compact_given = fn.replace(" ", ""), given.replace(" ", "")
            compact_family = family.replace(" ", "")
            family_first = bool(
                given
                and family
                and -1 < compact_fn.find(compact_family) < compact_fn.find(compact_given)
            )
            words = [family, given] if family_first else [given, family]
            name = " ".join(w for w in words if w)
            if _plain(prefix) in DOCTOR_TITLES:
                name = f"Dr. {name}"
            if not credentials and fn:
                credentials = split_name(fn)[1]
            return name, credentials
    if fn:
        return split_name(fn)
    return "", ""


# ---------------------------------------------------------------- contact fields


def _first_email(card: _Card) -> str:
    for value in _values(card, "email"):
        email = _text(value).removeprefix("mailto:")
        try:
            validate_email(email)
        except ValidationError:
            continue
        if len(email) <= MAX_LENGTHS["email"]:
            return email
    return ""


def _is_email(text: str) -> bool:
    if "@" not in text:
        return False
    try:
        validate_email(text.removeprefix("mailto:"))
    except ValidationError:
        return False
    return True


# A preference vCard 4 can give (PREF=1 is the most preferred, 100 the least); vCard 3's
# TYPE=pref and vCard 2.1's PREF say "the preferred one", taken as 1.
NO_PREFERENCE = 101


def _preference(line: Any) -> int:
    for value in line.params.get("PREF", []):
        try:
            rank = int(str(value).strip())
        except ValueError:
            continue
        if 1 <= rank <= 100:
            return rank
    return 1 if "pref" in _types(line) else NO_PREFERENCE


def _phones(card: _Card) -> list[tuple[str, bool]]:
    """(number, marked preferred) of every phone that is not a fax or a pager, the preferred
    first (by PREF=, then in the card's order); tel: URIs as the number they hold."""
    phones = []
    for position, line in enumerate(card.raw.get("tel", [])):
        number = _text(line.value)
        number = re.sub(r"^tel:", "", number, flags=re.IGNORECASE)
        number = re.sub(r";ext=", " ext. ", number, flags=re.IGNORECASE)
        if number and not _types(line) & {"fax", "pager"}:
            phones.append((_preference(line), position, number))
    phones.sort()
    return [(number, rank < NO_PREFERENCE) for rank, _, number in phones]


_url_validator = URLValidator(schemes=["http", "https"])


def _first_website(card: _Card) -> str:
    for value in _values(card, "url"):
        url = _text(value)
        if url and "://" not in url:
            url = "https://" + url
        if len(url) > MAX_LENGTHS["website"]:
            continue
        try:
            _url_validator(url)
        except ValidationError:
            continue
        return url
    return ""


def _first_address(card: _Card) -> dict[str, str]:
    for value in _values(card, "adr"):
        if isinstance(value, str):
            continue
        street_lines = _lines(value.street) + _lines(value.extended) + _lines(value.box)
        city = _text(value.city)
        region = _text(value.region)
        code = _text(value.code)
        country = _text(value.country)
        if not (street_lines or city or region or code):
            continue
        state = zip_code = ""
        if country.lower().strip(" .").replace(".", "") in US_COUNTRY_NAMES:
            state = _us_state(region)
            zip_code = _us_zip(code)
        return {
            "street": _cut(", ".join(street_lines), "street"),
            "city": _cut(city, "city"),
            "state": state,
            "zip_code": zip_code,
        }
    return {"street": "", "city": "", "state": "", "zip_code": ""}


def _us_state(region: str) -> str:
    region = region.strip().rstrip(".")
    if len(region) == 2 and region.upper() in US_STATES.values():
        return region.upper()
    return US_STATES.get(region.lower(), "")


def _us_zip(code: str) -> str:
    """The 5-digit ZIP, or nothing when the code is not a US ZIP code we know."""
    match = _ZIP.match(code.strip())
    if not match:
        return ""
    try:
        validate_us_zip(match.group(1))
    except ValidationError:
        return ""
    return match.group(1)


def _npi(card: _Card, notes: list[str]) -> str:
    candidates = [_text(v) for v in _values(card, "x-npi")]
    candidates += [m.group(1) for note in notes for m in _NPI_IN_TEXT.finditer(note)]
    for candidate in candidates:
        digits = re.sub(r"\D", "", candidate)
        try:
            validate_npi(digits)
        except ValidationError:
            continue
        if digits:
            return digits
    return ""


# ------------------------------------------------------------------- professions


def _fold(text: str) -> str:
    text = unicodedata.normalize("NFKD", text)
    return "".join(c for c in text if not unicodedata.combining(c)).casefold()


@cache
def _profession_patterns() -> tuple[tuple[str, re.Pattern[str]], ...]:
    patterns = []
    for row in load_professions():
        if not row.get("is_provider", True):
            continue
        slug = row["slug"]
        names = re.split(r"\s*/\s*|\s+or\s+", row["name"].lower())
        phrases = sorted({*names, *PROFESSION_PHRASES.get(slug, ())})
        alternatives = "|".join(re.escape(_fold(p)) for p in phrases if p)
        patterns.append((slug, re.compile(rf"\b(?:{alternatives})s?\b")))
    return tuple(patterns)


def guess_professions(*, credentials: list[str], texts: list[str]) -> tuple[str, ...]:
    """Profession slugs that the card names clearly: a profession's name or a well-known
    phrase in TITLE, ROLE, ORG or NOTE, or a credential (DC, DPT, DPM…) after the name or in
    TITLE or ROLE. Nothing when nothing matches clearly."""
    found: list[str] = []
    for text in credentials:
        for token in re.split(r"[,;\s]+", text or ""):
            plain = token.strip(".").replace(".", "")
            # Credentials are written in capitals (L.Ac. and Psy.D. aside): "do" is a verb.
            if plain.upper() in ("LAC", "PSYD") or (plain.isupper() and len(plain) >= 2):
                slug = CREDENTIAL_PROFESSIONS.get(plain.upper())
                if slug and slug not in found:
                    found.append(slug)
    folded = [_fold(t) for t in texts if t]
    for slug, pattern in _profession_patterns():
        if slug not in found and any(pattern.search(t) for t in folded):
            found.append(slug)
    return tuple(found)


@cache
def profession_names() -> dict[str, str]:
    """The professions' names by slug, from the knowledge base."""
    return {row["slug"]: row["name"] for row in load_professions()}


# ------------------------------------------------------------------------- writing


def card_to_vcard(card: CardData) -> str:
    """A vCard 3.0 of a partner, which this module reads back to the same fields."""
    from nameparser import HumanName

    out = vobject.vCard()
    credential_tokens = [t for t in re.split(r"[,\s]+", card.credentials) if t]
    acronyms_only = bool(credential_tokens) and all(is_credential(t) for t in credential_tokens)
    out.add("fn").value = f"{card.name}, {card.credentials}" if acronyms_only else card.name
    parsed = HumanName(card.name)
    out.add("n").value = vobject.vcard.Name(
        family=parsed.last or card.name,
        given=parsed.first if parsed.last else "",
        additional=parsed.middle,
        prefix=parsed.title,
        suffix=card.credentials if acronyms_only else "",
    )
    if card.clinic:
        out.add("org").value = [card.clinic]
    if card.credentials:
        out.add("title").value = card.credentials
    names = profession_names()
    roles = [names[slug] for slug in card.professions if slug in names]
    if roles:
        out.add("role").value = ", ".join(roles)
    if card.phone:
        tel = out.add("tel")
        tel.value = card.phone
        tel.type_param = ["WORK", "VOICE"]
    if card.email:
        email = out.add("email")
        email.value = card.email
        email.type_param = ["INTERNET", "WORK"]
    if card.website:
        out.add("url").value = card.website
    if card.street or card.city or card.state or card.zip_code:
        adr = out.add("adr")
        adr.value = vobject.vcard.Address(
            street=card.street,
            city=card.city,
            region=card.state,
            code=card.zip_code,
            country="USA" if (card.state or card.zip_code) else "",
        )
        adr.type_param = ["WORK"]
    if card.npi:
        out.add("note").value = f"NPI {card.npi}"
        out.add("x-npi").value = card.npi
    text: str = out.serialize()
    return text
