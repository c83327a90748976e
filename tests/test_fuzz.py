"""Bad input, tried: every importer and parser fed mutated real files and random bytes.

The property is the same everywhere: a bad input gives the module's own error (or a report
of the rejected rows, each with its reason), never an unexpected exception, and nothing
half-written stays in the database (all-or-nothing imports leave the counts as they were;
imports that keep the good rows keep exactly those).

The seeds are the real third-party files of ../shared/testdata (vCards, FHIR examples, the
NPPES sample), mutated by truncation, byte flips, other encodings, huge fields, lost lines
and wrong JSON types; random text and bytes besides. Derandomized: the same examples on
every run.
"""

from __future__ import annotations

import codecs
import copy
import csv
import io
import json
import os
import zipfile
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from referwell.clients.models import Client
from referwell.directory.models import Partner
from referwell.directory.services import vcards_import
from referwell.directory.vcard import MAX_LENGTHS, parse_vcards
from referwell.interop.csv import importer
from referwell.interop.fhir.importer import FhirImportError, fhir_import, parse_fhir_json
from referwell.outreach.letters import (
    LETTER_KINDS,
    LetterTemplateError,
    default_template,
    render_letter,
    validate_template,
)
from referwell.referrals.models import Referral
from referwell.registry import layout, nppes
from referwell.registry.models import ImportRun, ImportStatus, RegistryEntry
from tests.conftest import SHARED, SHARED_MISSING  # noqa: E402

if not SHARED.is_dir():
    pytest.skip(SHARED_MISSING, allow_module_level=True)
TESTDATA = SHARED / "testdata"
HEADER_FILE = SHARED / "data" / "npidata_pfile_header_v2.csv"


def _shared(folder: str, pattern: str) -> list[Path]:
    files = sorted((TESTDATA / folder).glob(pattern))
    assert files, f"../shared/testdata/{folder} is missing: the fuzz tests mutate its files"
    return files


VCARDS = {path.name: path.read_bytes() for path in _shared("vcards", "*.vcf")}
FHIR_FILES = {path.name: path.read_bytes() for path in _shared("fhir", "*.json")}
NPPES_SAMPLE = (TESTDATA / "nppes" / "sample.csv").read_bytes()

# FUZZ_EXAMPLES=2000 for a longer local hunt; CI runs the default, derandomized.
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "150"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
FUZZ_DB = settings(FUZZ, max_examples=max(EXAMPLES // 2, 1))

# --------------------------------------------------------------------------- mutations

ENCODINGS = ("utf-16", "utf-16-be", "utf-32", "latin-1", "cp1252", "shift_jis", "cp037")


def _flip(raw: bytes, flips: list[tuple[int, int]]) -> bytes:
    data = bytearray(raw)
    for position, value in flips:
        if data:
            data[position % len(data)] = value
    return bytes(data)


def _insert(raw: bytes, position: int, junk: bytes) -> bytes:
    position = position % (len(raw) + 1)
    return raw[:position] + junk + raw[position:]


def _drop_lines(raw: bytes, drops: list[int]) -> bytes:
    lines = raw.splitlines(keepends=True)
    for index in drops:
        if lines:
            del lines[index % len(lines)]
    return b"".join(lines)


def _reencode(raw: bytes, encoding: str) -> bytes:
    return raw.decode("utf-8", "replace").encode(encoding, "replace")


JUNK = st.one_of(
    st.binary(max_size=40),
    st.sampled_from(
        [
            b"\x00",
            b"\xff\xfe",
            codecs.BOM_UTF8,
            b'"',
            b'""",',
            b"\r",
            b"\n\n",
            b"\\",
            b";CHARSET=x-unknown:",
            b"=\r\n",
            b"\xed\xa0\x80",  # a UTF-16 surrogate written as UTF-8
            b"A" * 70_000,  # a huge field
            "123456789²".encode(),  # digits to str.isdigit, not to int()
        ]
    ),
    st.text(max_size=20).map(lambda t: t.encode("utf-8", "surrogatepass")),
)


def mutation(raw: bytes) -> st.SearchStrategy[bytes]:
    """One change to a real file."""
    size = max(len(raw), 1)
    return st.one_of(
        st.integers(0, size).map(lambda n: raw[: len(raw) - n]),  # cut short, by n bytes
        st.lists(st.tuples(st.integers(0, size), st.integers(0, 255)), min_size=1, max_size=8).map(
            lambda flips: _flip(raw, flips)
        ),
        st.tuples(st.integers(0, size), JUNK).map(lambda p: _insert(raw, *p)),
        st.lists(st.integers(0, 10_000), min_size=1, max_size=5).map(
            lambda drops: _drop_lines(raw, drops)
        ),
        st.sampled_from(ENCODINGS).map(lambda enc: _reencode(raw, enc)),
    )


@st.composite
def mutated(draw: st.DrawFn, seeds: dict[str, bytes]) -> bytes:
    """A seed file with one to three mutations, or random bytes or text."""
    if draw(st.integers(0, 9)) == 9:  # (not 0: what Hypothesis draws most)
        return draw(st.one_of(st.binary(max_size=300), st.text(max_size=300).map(str.encode)))
    raw = seeds[draw(st.sampled_from(sorted(seeds)))]
    for _ in range(draw(st.integers(1, 3))):
        raw = draw(mutation(raw))
    return raw


def _fresh() -> None:
    """Each example starts from an empty network: the database outlives the examples."""
    Referral.objects.all().delete()
    Client.objects.all().delete()
    Partner.objects.all().delete()


# --------------------------------------------------------------------------- vCard


def _check_card_lengths(parsed) -> None:
    for card in parsed.cards:
        if card.data is None:
            assert card.error.strip(), card
            continue
        fields = card.data.partner_fields()
        # A card without a name is read without one (never named after its e-mail address),
        # as long as something else on it says whom it is about.
        assert fields["name"].strip() or fields["email"] or fields["clinic"] or fields["phone"]
        assert not fields["name"] or fields["name"].lower() != fields["email"].lower()
        for name, limit in MAX_LENGTHS.items():
            assert len(fields[name]) <= limit, (name, fields[name][:80])
        assert len(fields["state"]) <= 2
        assert len(fields["zip_code"]) <= 10
        assert len(fields["npi"]) <= 10


@FUZZ
@given(raw=mutated(VCARDS))
@example(raw=b"BEGIN:VCARD\nVERSION:3.0\nFN:" + b"x" * 500 + b"\nEND:VCARD\n")
@example(raw=b"\xff\xfeB\x00E\x00")  # a UTF-16 mark with odd bytes after it
def test_vcard_parser_reads_or_explains(raw):
    parsed = parse_vcards(raw)
    assert parsed.cards or parsed.problem
    _check_card_lengths(parsed)


@pytest.mark.django_db
@FUZZ_DB
@given(raw=mutated(VCARDS))
def test_vcard_import_keeps_exactly_the_good_cards(alice, raw):
    _fresh()
    before = set(Partner.objects.values_list("pk", flat=True))
    result = vcards_import(practice=alice.practice, files=[("cards.vcf", raw)], by=alice.user)
    created = set(Partner.objects.values_list("pk", flat=True)) - before
    reported = {p["partner_id"] for p in result["partners"] if p["outcome"] == "imported"}
    assert created == reported
    assert result["imported"] == len(reported)
    event(f"vcard: imported {result['imported']}, merged {result['merged']}")
    for rejection in result["rejected"]:
        assert rejection["reason"].strip()
    cards = len(parse_vcards(raw).cards)
    card_rejections = [r for r in result["rejected"] if r["card"]]
    assert result["imported"] + result["merged"] + len(card_rejections) == cards


# --------------------------------------------------------------------------- CSV

PARTNERS_CSV = (
    "Full Name,Profession,Clinic,Street,City,State,Zip,Phone Number,E-mail Address,NPI,"
    "Website,Stage,Notes\n"
    "Dr. Rita Moreno,Chiropractor,Spine Works,1 Main St,Brookfield,WI,53005,262-555-0190,"
    "rita@spineworks.example,1234567893,spineworks.example,prospect,Met at the 5k\n"
    "Sam Lee,physical-therapist,Move PT,,Waukesha,Wisconsin,53186,+1 (262) 555 0191,"
    'sam@movept.example,,https://movept.example,contacted,"Runs a clinic, ""good"""\n'
    "Ana Díaz,Acupuncturist,,,Milwaukee,wi,53202,414.555.0102,ana@needles.example,,,trusted,\n"
).encode()
CLIENTS_CSV = (
    "First name,Last name,Email,Phone,Date of birth,Zip,Insurance,How they found you,"
    "First visit,Main complaints,Notes\n"
    "Jamie,Doe,jamie@example.com,414-555-0100,1980-02-03,53005,Aetna,,3/5/2024,"
    "lower back pain,\n"
    "Chris,Park,,262 555 0101,12/31/1975,53186,,,2024-01-02,neck,quiet\n"
    "Zoë,Łukasz,zoe@example.com,,,,,,,,\n"
).encode()
CSV_SEEDS = {
    "partners.csv": PARTNERS_CSV,
    "partners-cp1252.csv": PARTNERS_CSV.decode().encode("cp1252", "replace"),
    "partners-semicolon.csv": PARTNERS_CSV.replace(b",", b";"),
    "clients.csv": CLIENTS_CSV,
    "clients-bom.csv": codecs.BOM_UTF8 + CLIENTS_CSV,
}
PROFESSIONS = importer.ProfessionLookup.from_pairs(
    [
        ("chiropractor", "Chiropractor"),
        ("physical-therapist", "Physical therapist"),
        ("acupuncturist", "Acupuncturist"),
    ]
)


def _kind(raw: bytes) -> str:
    return importer.CLIENTS if b"First name" in raw[:200] else importer.PARTNERS


@pytest.mark.django_db  # the rows are checked by the models' full_clean (no queries)
@FUZZ
@given(raw=mutated(CSV_SEEDS))
@example(raw=b"Name\n" + b'"' + b"x" * 200_000 + b'"\n')  # a field over csv's limit
@example(raw=b"Name,City\n\x85a,b\n")  # a byte that is a line break in cp1252
def test_csv_reader_reads_or_explains(raw):
    try:
        table = importer.read_table(importer.decode(raw))
    except importer.CsvProblem as exc:
        assert str(exc).strip()
        return
    kind = _kind(raw)
    mapping = importer.guess_mapping(kind, table.headers)
    importer.mapping_errors(kind, table.headers, mapping)
    fates = importer.plan(kind, table, mapping, existing=[], professions=PROFESSIONS)
    assert [f.number for f in fates] == [row.number for row in table.rows]
    for fate in fates:
        assert fate.fate in (importer.CREATE, importer.DUPLICATE, importer.REJECT)
        if not fate.is_created:
            assert fate.reasons and all(r.strip() for r in fate.reasons)


@pytest.fixture
def imports_in_tmp(settings, tmp_path):
    settings.VAR_DIR = tmp_path


def _csv_upload(http, raw: bytes, kind: str):
    return http.post(
        reverse("csv_import"),
        {"kind": kind, "file": SimpleUploadedFile("list.csv", raw, content_type="text/csv")},
    )


@pytest.mark.django_db
@FUZZ_DB
@given(raw=mutated(CSV_SEEDS))
def test_csv_import_creates_exactly_the_good_rows_or_nothing(alice_http, imports_in_tmp, raw):
    _fresh()
    kind = _kind(raw)
    model = Partner if kind == importer.PARTNERS else Client
    before = model.objects.count()
    upload = _csv_upload(alice_http, raw, kind)
    if upload.status_code == 200:  # the form again, with the reason
        event("csv: refused at upload")
        assert b"errorlist" in upload.content
        assert model.objects.count() == before
        return
    assert upload.status_code == 302
    token = upload["Location"].strip("/").split("/")[-1]
    table = importer.read_table(importer.decode(raw))
    mapping = importer.guess_mapping(kind, table.headers)
    if importer.mapping_errors(kind, table.headers, mapping):
        event("csv: a required column is missing")
        return  # the mapping page asks for the columns; nothing is written before confirm
    form = {f"column_{i}": key for i, key in enumerate(mapping)}
    assert (
        alice_http.post(reverse("csv_import_map", kwargs={"token": token}), form).status_code == 302
    )
    preview = alice_http.get(reverse("csv_import_preview", kwargs={"token": token}))
    assert preview.status_code == 200
    good = [f for f in preview.context["fates"] if f.is_created]
    done = alice_http.post(reverse("csv_import_confirm", kwargs={"token": token}))
    assert done.status_code == 200
    created = model.objects.count() - before
    event(f"csv: {len(good)} good rows of {len(preview.context['fates'])}")
    if "created" in done.context:
        assert created == len(good)
    else:  # all or nothing: one row could not be saved, so none was
        assert "Nothing was imported" in done.context["error"]
        assert created == 0


# --------------------------------------------------------------------------- FHIR

WRONG_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=30),
    st.just("x" * 20_000),
    st.just("\x00"),
    st.just("1900-13-45"),
    st.sampled_from(["9999-12-31T23:59:59-05:00", "0001-01-01T00:00:00+14:00", "2020", "2020-02"]),
    st.just("Practitioner/"),
    st.lists(st.one_of(st.integers(), st.text(max_size=5), st.none()), max_size=3),
    st.dictionaries(st.text(max_size=8), st.one_of(st.integers(), st.text(max_size=5)), max_size=3),
    st.just({"reference": "#nowhere"}),
    st.just({"reference": 12}),
    st.just([{"system": "http://hl7.org/fhir/sid/us-npi", "value": "1234567893"}] * 2),
    st.just([{"system": "http://hl7.org/fhir/sid/us-npi", "value": "123456789²"}]),
    st.just([{"system": "urn:referwell:elm-grove:partner", "value": "²"}]),
)


def _slots(node, slots: list) -> list:
    """Every (container, key) of a JSON document."""
    items = node.items() if isinstance(node, dict) else enumerate(node)
    for key, value in items:
        slots.append((node, key))
        if isinstance(value, dict | list):
            _slots(value, slots)
    return slots


@st.composite
def mutated_fhir(draw: st.DrawFn) -> bytes:
    """A real FHIR example with wrong types, missing keys or broken bytes."""
    name = draw(st.sampled_from(sorted(FHIR_FILES)))
    raw = FHIR_FILES[name]
    if draw(st.integers(0, 3)) == 3:
        return draw(mutation(raw))
    doc = json.loads(raw)
    for _ in range(draw(st.integers(1, 5))):
        slots = _slots(doc, [])
        if not slots:
            break
        # Spread over the document: Hypothesis draws small indexes most (the resourceType).
        container, key = slots[(draw(st.integers(0, len(slots) - 1)) * 7919 + 1) % len(slots)]
        if draw(st.booleans()):
            container[key] = copy.deepcopy(draw(WRONG_VALUES))
        elif isinstance(container, dict):
            del container[key]
        else:
            container[key] = copy.deepcopy(container[key])  # a duplicate entry
            container.append(container[key])
    return json.dumps(doc).encode()


def _counts() -> tuple[int, int, int]:
    return Partner.objects.count(), Referral.objects.count(), Client.objects.count()


@pytest.mark.django_db
@settings(FUZZ, max_examples=max(EXAMPLES * 3 // 4, 1))
@given(raw=mutated_fhir())
@example(raw=b'{"resourceType": "Bundle", "entry": [{"resource": {"resourceType": 5}}]}')
@example(raw=b'{"resourceType": "Practitioner", "name": [{"family": "' + b"x" * 5000 + b'"}]}')
def test_fhir_import_reports_every_resource_and_saves_only_what_it_reports(alice, raw):
    _fresh()
    before = _counts()
    try:
        data = parse_fhir_json(raw)
    except FhirImportError as exc:
        event("fhir: not FHIR JSON")
        assert str(exc).startswith("it is")
        assert _counts() == before
        return
    report = fhir_import(practice=alice.practice, data=data, by=alice.user)
    partners, referrals, _clients = (after - b for after, b in zip(_counts(), before, strict=True))
    assert partners + referrals == report.created
    event(f"fhir: created {report.created}, skipped {len(report.skipped)}")
    for skipped in report.skipped:
        assert skipped["reason"].strip() and skipped["resource"].strip()


# --------------------------------------------------------------------------- NPPES

NPPES_HEADER, _, NPPES_BODY = NPPES_SAMPLE.partition(b"\n")
LAYOUT = layout.Layout.from_header(HEADER_FILE.read_bytes().splitlines()[0])


SELECTION = layout.Selection.from_knowledge_base()


def _selection() -> layout.Selection:
    return SELECTION


def _good_rows() -> list[bytes]:
    """Sample rows that the import keeps (in the knowledge base's professions), one per NPI."""
    selection = _selection()
    rows, seen = [], set()
    for line in NPPES_BODY.splitlines():
        parsed = nppes.parse_chunk(line, LAYOUT, selection)
        if parsed.entries and parsed.entries[0][0] not in seen:
            seen.add(parsed.entries[0][0])
            rows.append(line)
    return rows


GOOD_ROWS = _good_rows()
_NAMES = next(csv.reader([HEADER_FILE.read_text(encoding="utf-8").splitlines()[0]]))
# The columns the import reads: most of the bad values go there.
READ_COLUMNS = [
    _NAMES.index(name)
    for name in (
        *layout.FIELD_COLUMNS,
        layout.COL_TAXONOMY.format(1),
        layout.COL_TAXONOMY.format(2),
        layout.COL_PRIMARY.format(1),
        layout.COL_PRIMARY.format(2),
    )
]
BAD_CELLS = st.sampled_from(
    [
        "",
        "13/45/2020",
        "01/01/99999999999999999999",
        "02/30/2020",
        "1/2",
        "x" * 5000,
        "3",
        "123456789",
        "12345678901234567890",
        "123456789²",
        "Ω",
        '"',
        "\x00",
    ]
)


@st.composite
def nppes_row(draw: st.DrawFn, row: bytes) -> bytes:
    """A real row with one value replaced (in the real quoting) or its bytes mutated."""
    if draw(st.booleans()):
        return draw(mutation(row)).replace(b"\n", b" ")
    values = next(csv.reader([row.decode("utf-8")]))
    column = draw(st.one_of(st.sampled_from(READ_COLUMNS), st.integers(0, len(values) - 1)))
    values[column] = draw(BAD_CELLS)
    out = io.StringIO()
    csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="").writerow(values)
    return out.getvalue().encode("utf-8")


@st.composite
def nppes_file(draw: st.DrawFn) -> tuple[bytes, list[bytes], list[bytes]]:
    """(file, untouched rows, mutated rows) in the real 330-column layout."""
    picks = draw(
        st.lists(st.sampled_from(range(len(GOOD_ROWS))), min_size=1, max_size=8, unique=True)
    )
    untouched, changed = [], []
    for index in picks:
        row = GOOD_ROWS[index]
        if draw(st.booleans()):
            changed.append(draw(nppes_row(row)))
        else:
            untouched.append(row)
    rows = draw(st.permutations(untouched + changed))
    return NPPES_HEADER + b"\n" + b"\n".join(rows) + b"\n", untouched, changed


@FUZZ
@given(
    chunk=st.one_of(
        nppes_file().map(lambda f: f[0].partition(b"\n")[2]), mutated({"s": NPPES_BODY[:20_000]})
    )
)
def test_nppes_chunk_parser_rejects_with_a_reason(chunk):
    parsed = nppes.parse_chunk(chunk, LAYOUT, _selection())
    assert parsed.rejected >= len(parsed.problems)
    for problem in parsed.problems:
        assert problem.reason.strip()
    for entry in parsed.entries:
        assert len(entry) == len(layout.ENTRY_COLUMNS)


@FUZZ
@given(header=mutated({"header": HEADER_FILE.read_bytes()}))
def test_nppes_header_is_read_or_refused_with_a_reason(header):
    try:
        layout.Layout.from_header(header.splitlines()[0] if header.strip() else header)
    except layout.NppesFormatError as exc:
        assert str(exc).strip()


@pytest.mark.django_db
@FUZZ_DB
@given(generated=nppes_file())
def test_nppes_import_keeps_exactly_the_good_rows(tmp_path_factory, generated):
    """Whichever reader takes the file (polars, or the Python reader for a file polars
    refuses), every good row is stored with the reference's values, every mutated row is
    stored or rejected with a reason, and nothing else is stored."""
    content, untouched, changed = generated
    RegistryEntry.objects.all().delete()
    path = tmp_path_factory.mktemp("nppes") / "npidata_pfile_fuzz.csv"
    path.write_bytes(content)
    run = nppes.nppes_import(path, workers=0)
    assert run.status == ImportStatus.DONE
    # Every row is read, except blank lines at the file's end (a mutated row can be empty).
    body = content.partition(b"\n")[2].rstrip(b"\r\n")
    assert run.read == (body.count(b"\n") + 1 if body else 0)
    columns = [c for c in layout.ENTRY_COLUMNS if c != "fingerprint"]
    stored = {row[0]: row for row in RegistryEntry.objects.values_list(*columns)}
    for row in untouched:  # a bad row never costs the good ones
        (entry,) = nppes.parse_chunk(row, LAYOUT, _selection()).entries
        values = dict(zip(layout.ENTRY_COLUMNS, entry, strict=True))
        got = dict(zip(columns, stored[entry[0]], strict=True))
        for day in ("last_updated_on", "deactivated_on"):
            got[day] = got[day] and got[day].isoformat()
        assert got == {c: values[c] for c in columns} | {"taxonomies": got["taxonomies"]}
        assert got["taxonomies"] == json.loads(values["taxonomies"])
    others = set(stored) - {
        nppes.parse_chunk(r, LAYOUT, _selection()).entries[0][0] for r in untouched
    }
    assert all(npi.encode() in b"".join(changed) for npi in others)  # nothing invented
    assert len(others) + run.rejected <= len(changed)
    assert len(run.problems) == run.rejected
    assert all(problem["reason"].strip() for problem in run.problems)
    event(f"nppes: {len(stored)} stored, {run.rejected} rejected")


def _zipped(content: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("npidata_pfile_20240101-20240107.csv", content)
    return out.getvalue()


SAMPLE_ZIP = _zipped(b"\n".join(NPPES_SAMPLE.splitlines()[:150]) + b"\n")


@pytest.mark.django_db
@FUZZ_DB
@given(
    flips=st.lists(
        st.tuples(st.integers(0, len(SAMPLE_ZIP) - 1), st.integers(0, 255)), min_size=1, max_size=4
    )
)
def test_nppes_import_of_a_damaged_zip_is_a_format_error(tmp_path_factory, flips):
    path = tmp_path_factory.mktemp("zip") / "NPPES_Data_Dissemination.zip"
    path.write_bytes(_flip(SAMPLE_ZIP, flips))
    try:
        run = nppes.nppes_import(path, workers=0)
    except layout.NppesFormatError as exc:
        assert str(exc).strip()
        assert ImportRun.objects.filter(status=ImportStatus.FAILED, error=str(exc)).exists()
    else:
        assert run.status == ImportStatus.DONE


@pytest.mark.django_db
def test_nppes_import_of_a_zip_with_a_bad_crc_is_a_format_error(tmp_path):
    """zipfile.BadZipFile (and zlib.error, EOFError) escaped the import as tracebacks."""
    path = tmp_path / "NPPES_Data_Dissemination.zip"
    path.write_bytes(_flip(SAMPLE_ZIP, [(len(SAMPLE_ZIP) // 2, 0)]))
    with pytest.raises(layout.NppesFormatError, match="zip file is damaged"):
        nppes.nppes_import(path, workers=0)
    assert ImportRun.objects.get().status == ImportStatus.FAILED


@pytest.mark.django_db
def test_nppes_import_of_a_file_that_is_not_one_fails_cleanly(tmp_path):
    path = tmp_path / "npidata_pfile_bad.csv"
    path.write_bytes(b'"NPI","Entity Type Code"\n"1234567893","1"\n')
    with pytest.raises(layout.NppesFormatError, match="no .* column"):
        nppes.nppes_import(path, workers=0)
    assert not RegistryEntry.objects.exists()
    assert ImportRun.objects.get().status == ImportStatus.FAILED


# --------------------------------------------------------------------------- letters

TAG_PIECES = st.sampled_from(
    [
        "{% if partner.name %}",
        "{% endif %}",
        "{% for x in client.first_name %}",
        "{% endfor %}",
        "{% with a=partner.name %}",
        "{% endwith %}",
        "{{ partner.name|default:'friend' }}",
        "{{ today|date:'N j, Y' }}",
        "{{ referral.date|timesince }}",
        "{% now 'Y' %}",
        "{% widthratio 5 0 100 %}",
        "{% cycle 'a' 'b' %}",
        "{% firstof a b 'c' %}",
        "{% regroup x by y as z %}",
        "{% templatetag openblock %}",
        "{% filter upper %}",
        "{% endfilter %}",
        "{% spaceless %}",
        "{% autoescape on %}",
        "{% load static %}",
        "{% include 'x.html' %}",
        "{% debug %}",
        "{{ 1|add:'x' }}",
        "{{ 'abc'|slice:'a:b' }}",
        "{{ 'a'|ljust:'9999' }}",
        "{{ 'a b'|wordwrap:'0' }}",
        "{{ 1.5|floatformat:'-9999' }}",
        "{{ 1e308|floatformat:'9999' }}",
        "{{ 'x'|stringformat:'%s%s' }}",
        "{{ client|dictsort:'x' }}",
        "{{ x|join:y }}",
        "{{ 'abc'|get_digit:'x' }}",
        "{{ 9999|filesizeformat }}",
        "{{ today|date:'\\' }}",
        "{% if %}",
        "{% for %}",
        "{{ }}",
        "{% %}",
        "{#",
        "{{",
        "}}",
        "{%",
        "%}",
        "|",
        ":",
        "'",
    ]
)


@st.composite
def letter_template(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(sorted(LETTER_KINDS)))
    subject, body = default_template(kind)
    source = draw(st.sampled_from([subject, body]))
    for _ in range(draw(st.integers(1, 4))):
        position = draw(st.integers(0, len(source)))
        if draw(st.integers(0, 3)) == 0:
            source = source[:position]
        else:
            piece = draw(st.one_of(TAG_PIECES, st.text(max_size=20)))
            source = source[:position] + piece + source[position:]
    return source


LETTER_CONTEXT = {
    "practice": {"name": "Elm Grove Massage", "phone": "555-0100", "email": "a@b.example"},
    "therapist": {"name": "Alice Owner"},
    "partner": {"name": "Dr. Rivera", "clinic": "Riverside"},
    "client": {"first_name": "Jamie", "last_name": "Doe"},
    "referral": {"reasons": "low back pain", "date": "2025-03-04"},
    "report": {"text": "Better", "visits": 3, "period": "March"},
    "referrer": {"name": "Dr. Rivera", "is_professional": True},
    "client_agreed_to_be_named": True,
    "today": "2025-03-04",
}


@FUZZ
@given(source=st.one_of(letter_template(), st.text(max_size=400)))
@example(source="{% if a %}" * 900 + "x" + "{% endif %}" * 900)  # nesting beyond recursion
@example(source="{{ 1e308|floatformat:'9999' }}")
@example(
    source="{% for a in 'xxxx' %}{% for b in 'xx' %}{% for c in 'x' %}{% endfor %}{% endfor %}{% endfor %}"
)
def test_letter_templates_render_or_explain(source):
    try:
        validate_template(source, source)
        letter = render_letter(
            kind="referral", context=LETTER_CONTEXT, subject_template=source, body_template=source
        )
    except LetterTemplateError as exc:
        assert str(exc).strip()
        return
    assert isinstance(letter.subject, str) and isinstance(letter.body, str)


# --------------------------------------------------------------------------- regressions


@pytest.mark.django_db
@pytest.mark.parametrize("when", ["9999-12-31T23:59:59-05:00", "0001-01-01T00:00:00+14:00"])
def test_fhir_dates_at_the_calendars_edges_are_ignored_not_a_crash(alice, when):
    """Valid FHIR dateTimes that do not fit a UTC datetime were an OverflowError on save."""
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {
                "resource": {
                    "resourceType": "ServiceRequest",
                    "id": "edge",
                    "status": "active",
                    "intent": "order",
                    "subject": {"display": "Peter Chalmers"},
                    "requester": {"display": "Dr Adam Careful"},
                    "authoredOn": when,
                }
            },
            {
                "resource": {
                    "resourceType": "Task",
                    "id": "edge-task",
                    "status": "completed",
                    "intent": "order",
                    "focus": {"reference": "ServiceRequest/edge"},
                    "executionPeriod": {"start": when, "end": when},
                }
            },
        ],
    }
    report = fhir_import(
        practice=alice.practice, data=parse_fhir_json(json.dumps(bundle)), by=alice.user
    )
    assert report.created == 1
    referral = Referral.objects.get()
    assert referral.created_at.year not in (1, 9999)  # the unusable date is left out


def _row_with(values: dict[str, str]) -> bytes:
    row = next(csv.reader([GOOD_ROWS[0].decode("utf-8")]))
    for name, value in values.items():
        row[_NAMES.index(name)] = value
    out = io.StringIO()
    csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="").writerow(row)
    return out.getvalue().encode("utf-8")


def test_nppes_date_with_a_twenty_digit_year_is_a_rejected_row():
    """int() of the year overflowed datetime.date: OverflowError, not ValueError."""
    row = _row_with({layout.COL_LAST_UPDATE: "01/01/99999999999999999999"})
    parsed = nppes.parse_chunk(row + b"\n" + GOOD_ROWS[1], LAYOUT, SELECTION)
    assert parsed.rejected == 1 and parsed.kept == 1
    assert "is not a date" in parsed.problems[0].reason


def test_nppes_header_with_a_huge_field_is_a_format_error():
    """csv's field size limit raised _csv.Error out of Layout.from_header."""
    with pytest.raises(layout.NppesFormatError, match="header is not CSV"):
        layout.Layout.from_header(b'"NPI","' + b"x" * 200_000 + b'"\n')


def test_deeply_nested_letter_template_is_refused_not_a_recursion_error():
    """Django parses blocks recursively: ~900 nested ifs exhausted the stack."""
    source = "{% if a %}" * 900 + "x" + "{% endif %}" * 900
    with pytest.raises(LetterTemplateError, match="nested at most"):
        validate_template("Hello", source)
    validate_template("Hello", "{% if a %}" * 30 + "x" + "{% endif %}" * 30)


def test_letter_loops_are_bounded():
    """Two nested loops over a long text ran for minutes in a request."""
    source = "{% for a in report.text %}{% for b in report.text %}{% endfor %}{% endfor %}"
    context = {**LETTER_CONTEXT, "report": {"text": "x" * 10_000}}
    with pytest.raises(LetterTemplateError, match="loops run more than"):
        render_letter(
            kind="progress_report", context=context, subject_template="Hi", body_template=source
        )
    unpacking = "{% for a, b in pairs %}{% for c, d in pairs %}{% endfor %}{% endfor %}"
    with pytest.raises(LetterTemplateError, match="loops run more than"):
        render_letter(
            kind="progress_report",
            context={**LETTER_CONTEXT, "pairs": [("x", "y")] * 1000},
            subject_template="Hi",
            body_template=unpacking,
        )
    small = {**LETTER_CONTEXT, "report": {"text": "abc"}}
    letter = render_letter(
        kind="progress_report",
        context=small,
        subject_template="Hi",
        body_template="{% for a in report.text %}{{ a }}{% endfor %}",
    )
    assert letter.body == "abc\n"


def test_nppes_npi_with_superscript_digits_is_a_rejected_row():
    """ "²".isdigit() is true but int("²") fails: a ValueError escaped parse_chunk."""
    row = _row_with({layout.COL_NPI: "123456789²"})
    parsed = nppes.parse_chunk(row + b"\n" + GOOD_ROWS[1], LAYOUT, SELECTION)
    assert parsed.rejected == 1 and parsed.kept == 1
    assert "not 10 digits" in parsed.problems[0].reason


@pytest.mark.django_db
def test_csv_npi_with_superscript_digits_is_a_rejected_row():
    raw = "Name,NPI\nDr. Rita Moreno,123456789²\nSam Lee,1234567893\n".encode()
    table = importer.read_table(importer.decode(raw))
    mapping = importer.guess_mapping(importer.PARTNERS, table.headers)
    fates = importer.plan(importer.PARTNERS, table, mapping, existing=[], professions=PROFESSIONS)
    assert [f.fate for f in fates] == [importer.REJECT, importer.CREATE]
    assert "is not an NPI" in fates[0].reasons[0]


@pytest.mark.django_db
def test_fhir_identifiers_with_superscript_digits_are_ignored(alice):
    practitioner = {
        "resourceType": "Practitioner",
        "id": "odd",
        "identifier": [
            {"system": "http://hl7.org/fhir/sid/us-npi", "value": "123456789²"},
            {"system": f"urn:referwell:{alice.practice.slug}:partner", "value": "²"},
        ],
        "name": [{"family": "Careful", "given": ["Adam"]}],
    }
    report = fhir_import(
        practice=alice.practice, data=parse_fhir_json(json.dumps(practitioner)), by=alice.user
    )
    assert report.created == 1
    assert Partner.objects.get().npi == ""


def test_a_card_of_thousands_of_lines_is_refused_quickly():
    """One 2 MB "card" of short lines took vobject about 20 seconds to read."""
    raw = b"BEGIN:VCARD\nVERSION:3.0\nFN:Dr. Rita Moreno\n" + b"NOTE:x\n" * 300_000
    parsed = parse_vcards(raw + b"END:VCARD\n" + VCARDS["rfc6350-example.vcf"])
    first, second = parsed.cards
    assert first.data is None and "not a business card" in first.error
    assert second.data is not None  # the next card is still read
