"""The public provider registry: the NPPES import (a synthetic file in the real 330-column
layout, its zip, the 1,000 real rows of the shared sample), the search, the page and the CLI."""

import csv
import io
import json
import os
import sqlite3
import subprocess
import sys
import zipfile
from contextlib import closing
from pathlib import Path

import pytest
from django.urls import reverse

from referwell.audit.models import AuditEntry
from referwell.core.geo import miles_between, zip_centroid
from referwell.directory.models import Partner
from referwell.registry import layout, nppes, store
from referwell.registry.models import ImportRun, RegistryEntry
from referwell.registry.selectors import SearchError, registry_search
from tests.conftest import SHARED, SHARED_MISSING
from tests.factories import PartnerFactory

pytestmark = pytest.mark.django_db

if not SHARED.is_dir():
    pytest.skip(SHARED_MISSING, allow_module_level=True)
HEADER_FILE = SHARED / "data" / "npidata_pfile_header_v2.csv"
SAMPLE = SHARED / "testdata" / "nppes" / "sample.csv"
COLUMNS = next(csv.reader([HEADER_FILE.read_text(encoding="utf-8").strip()]))
REFERWELL = Path(sys.executable).with_name("referwell")


def npi(first_nine: str) -> str:
    """A valid NPI: the Luhn check digit over 80840 + the first nine digits."""
    total = 0
    for i, char in enumerate(reversed("80840" + first_nine)):
        digit = int(char) * (2 if i % 2 == 0 else 1)
        total += digit - 9 if digit > 9 else digit
    return first_nine + str((10 - total % 10) % 10)


def bad_check_digit(number: str) -> str:
    return number[:9] + str((int(number[9]) + 1) % 10)


def quoted(values: list[str]) -> str:
    return ",".join('"' + v.replace('"', '""') + '"' for v in values) + "\n"


def row(number: str, *, taxonomies=(), **named) -> str:
    """One CMS row: every column quoted; `named` maps short names to columns."""
    short = {
        "entity": "Entity Type Code",
        "org": "Provider Organization Name (Legal Business Name)",
        "last": "Provider Last Name (Legal Name)",
        "first": "Provider First Name",
        "middle": "Provider Middle Name",
        "credential": "Provider Credential Text",
        "street": "Provider First Line Business Practice Location Address",
        "street2": "Provider Second Line Business Practice Location Address",
        "city": "Provider Business Practice Location Address City Name",
        "state": "Provider Business Practice Location Address State Name",
        "zip": "Provider Business Practice Location Address Postal Code",
        "phone": "Provider Business Practice Location Address Telephone Number",
        "updated": "Last Update Date",
        "deactivated": "NPI Deactivation Date",
        "reactivated": "NPI Reactivation Date",
        "mail_city": "Provider Business Mailing Address City Name",
        "mail_state": "Provider Business Mailing Address State Name",
    }
    values = [""] * len(COLUMNS)
    values[0] = number
    for key, value in named.items():
        values[COLUMNS.index(short[key])] = value
    for n, (code, switch) in enumerate(taxonomies, start=1):
        values[COLUMNS.index(f"Healthcare Provider Taxonomy Code_{n}")] = code
        values[COLUMNS.index(f"Healthcare Provider Primary Taxonomy Switch_{n}")] = switch
    return quoted(values)


def person(number, last, first, codes, *, state="WI", zip_code="531221234", **extra):
    fields = {
        "entity": "1",
        "last": last,
        "first": first,
        "credential": extra.pop("credential", "DC"),
        "street": "900 ELM GROVE RD",
        "city": extra.pop("city", "ELM GROVE"),
        "state": state,
        "zip": zip_code,
        "phone": extra.pop("phone", "2625550100"),
        "updated": "07/08/2024",
        "mail_city": "ELM GROVE",
        "mail_state": state,
    }
    fields.update(extra)
    return row(number, taxonomies=codes, **fields)


def deactivated(number, on="03/03/2025"):
    return row(number, deactivated=on)


CHIRO = npi("100000001")
MASSAGE_PT = npi("100000002")
CLINIC = npi("100000003")
ILLINOIS = npi("100000004")
NURSE = npi("100000005")
GONE = npi("100000006")
SHORT_ROW = npi("100000007")
BAD_NPI = bad_check_digit(npi("100000008"))
QUOTED = npi("100000009")
NEWCOMER = npi("100000010")


def first_file() -> str:
    short_row = person(SHORT_ROW, "SHORT", "ROW", [("111N00000X", "Y")])
    short_row = short_row.rsplit(",", 1)[0] + "\n"  # 329 columns
    return "".join(
        [
            '"' + '","'.join(COLUMNS) + '"\n',
            person(CHIRO, "SPINE", "DANA", [("111N00000X", "Y")], middle="Q"),
            # A PT who is mainly a massage therapist: the primary switch decides.
            person(
                MASSAGE_PT,
                "KNEAD",
                "KIM",
                [("225100000X", "N"), ("225700000X", "Y")],
                credential="PT, LMT",
                zip_code="53005",
                city="BROOKFIELD",
            ),
            row(
                CLINIC,
                taxonomies=[("193400000X", "N"), ("111N00000X", "Y")],
                entity="2",
                org="LAKE SHORE CHIROPRACTIC LLC",
                street="777 E WISCONSIN AVE",
                street2="SUITE 200",
                city="MILWAUKEE",
                state="WI",
                zip="532025300",
                phone="4145550199",
                updated="01/02/2025",
            ),
            person(ILLINOIS, "LOOP", "LEE", [("111N00000X", "Y")], state="IL", zip_code="60601"),
            person(NURSE, "CARE", "CASEY", [("163W00000X", "Y")], credential="RN"),
            deactivated(GONE),
            short_row,
            person(BAD_NPI, "WRONG", "DIGIT", [("111N00000X", "Y")]),
            person(QUOTED, 'O"NEIL', "PAT", [("111N00000X", "Y")], zip_code="53186"),
        ]
    )


def second_file() -> str:
    """A month later: Dana deactivated, Kim moved office, a newcomer, the rest the same."""
    lines = first_file().splitlines(keepends=True)
    kept = [line for line in lines if f'"{CHIRO}"' not in line and f'"{MASSAGE_PT}"' not in line]
    return "".join(
        [
            *kept,
            deactivated(CHIRO),
            person(
                MASSAGE_PT,
                "KNEAD",
                "KIM",
                [("225100000X", "N"), ("225700000X", "Y")],
                credential="PT, LMT",
                zip_code="53186",
                city="WAUKESHA",
                phone="2625550177",
            ),
            person(NEWCOMER, "NEW", "NOVA", [("111N00000X", "Y")], zip_code="53005"),
        ]
    )


@pytest.fixture
def first(tmp_path):
    path = tmp_path / "npidata_pfile_20050523-20250608.csv"
    path.write_text(first_file(), encoding="utf-8")
    return path


def counts(run):
    return {
        k: getattr(run, k)
        for k in ("read", "kept", "created", "updated", "unchanged", "deactivated", "rejected")
    }


# ---------------------------------------------------------------------------- the import


def test_import_keeps_the_professions_of_the_state_and_counts_every_row(first):
    run = nppes.nppes_import(first, states=["wi"])
    assert counts(run) == {
        "read": 9,
        "kept": 4,  # Dana, Kim, the clinic, Pat O"Neil
        "created": 4,
        "updated": 0,
        "unchanged": 0,
        "deactivated": 0,
        "rejected": 2,  # 329 columns; a wrong check digit
    }
    assert run.status == "done" and run.states == ["WI"]
    reasons = [p["reason"] for p in run.problems]
    assert [p["line"] for p in run.problems] == [8, 9]  # the header is line 1
    assert "fewer than 330 columns" in reasons[0]
    assert f"NPI '{BAD_NPI}'" in reasons[1] and "check digit" in reasons[1]
    assert set(RegistryEntry.objects.values_list("npi", flat=True)) == {
        CHIRO,
        MASSAGE_PT,
        CLINIC,
        QUOTED,
    }


def test_what_an_entry_holds(first):
    nppes.nppes_import(first)
    dana = RegistryEntry.objects.get(npi=CHIRO)
    assert dana.name == "Dana Q Spine"
    assert (dana.entity_type, dana.credentials, dana.profession) == (1, "DC", "chiropractor")
    assert (dana.address, dana.city, dana.state) == ("900 ELM GROVE RD", "ELM GROVE", "WI")
    assert dana.zip_code == "53122-1234"  # ZIP+4 as CMS gives it, with a dash
    assert dana.phone == "262-555-0100"
    assert (dana.latitude, dana.longitude) == zip_centroid("53122")
    assert str(dana.last_updated_on) == "2024-07-08"
    assert dana.deactivated_on is None
    kim = RegistryEntry.objects.get(npi=MASSAGE_PT)
    assert (kim.profession, kim.taxonomy) == ("massage-therapist", "225700000X")
    assert kim.taxonomies == ["225100000X", "225700000X"]
    clinic = RegistryEntry.objects.get(npi=CLINIC)
    assert clinic.entity_type == 2
    assert clinic.name == "LAKE SHORE CHIROPRACTIC LLC"
    assert clinic.address == "777 E WISCONSIN AVE, SUITE 200"
    assert clinic.taxonomies == ["111N00000X"]  # 193400000X (a group) is no profession of ours
    assert RegistryEntry.objects.get(npi=QUOTED).name == 'Pat O"Neil'
    assert RegistryEntry.objects.get(npi=ILLINOIS).state == "IL"  # no --state: every state


def test_reimport_updates_and_deactivates_without_doubling(first, tmp_path):
    nppes.nppes_import(first, states=["WI"])
    later = tmp_path / "npidata_pfile_20050523-20250706.csv"
    later.write_text(second_file(), encoding="utf-8")
    run = nppes.nppes_import(later, states=["WI"])
    assert counts(run) == {
        "read": 10,
        "kept": 5,  # Dana's deactivation, Kim, the clinic, Pat, Nova
        "created": 1,
        "updated": 1,
        "unchanged": 2,
        "deactivated": 1,
        "rejected": 2,
    }
    assert RegistryEntry.objects.count() == 5
    dana = RegistryEntry.objects.get(npi=CHIRO)
    assert str(dana.deactivated_on) == "2025-03-03"
    assert dana.name == "Dana Q Spine"  # the rest of the record is kept
    kim = RegistryEntry.objects.get(npi=MASSAGE_PT)
    assert (kim.city, kim.zip_code, kim.phone) == ("WAUKESHA", "53186", "262-555-0177")
    assert [r.npi for r in RegistryEntry.objects.filter(npi=GONE)] == []  # never kept
    # The same file again: nothing to do.
    again = nppes.nppes_import(later, states=["WI"])
    assert (again.created, again.updated, again.deactivated, again.unchanged) == (0, 0, 0, 4)
    assert again.kept == 5
    assert ImportRun.objects.count() == 3


def test_a_reactivated_npi_comes_back(first, tmp_path):
    nppes.nppes_import(first)
    gone = tmp_path / "gone.csv"
    gone.write_text(quoted(COLUMNS) + deactivated(CHIRO, "01/15/2025"), encoding="utf-8")
    assert nppes.nppes_import(gone).deactivated == 1
    back = tmp_path / "back.csv"
    back.write_text(
        quoted(COLUMNS)
        + person(
            CHIRO,
            "SPINE",
            "DANA",
            [("111N00000X", "Y")],
            deactivated="01/15/2025",
            reactivated="02/01/2025",
        ),
        encoding="utf-8",
    )
    run = nppes.nppes_import(back)
    assert (run.updated, run.deactivated) == (1, 0)
    assert RegistryEntry.objects.get(npi=CHIRO).deactivated_on is None


def test_the_zip_cms_distributes_is_read_as_a_stream(first, tmp_path):
    archive = tmp_path / "NPPES_Data_Dissemination_June_2025.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("npidata_pfile_20050523-20250608_fileheader.csv", quoted(COLUMNS))
        z.writestr("othername_pfile_20050523-20250608.csv", '"NPI","Other Name"\n')
        z.write(first, "npidata_pfile_20050523-20250608.csv")
        z.writestr("NPPES_Data_Dissemination_Readme.pdf", b"%PDF-1.4")
    run = nppes.nppes_import(archive, states=["WI"])
    assert (run.read, run.kept, run.created, run.rejected) == (9, 4, 4, 2)
    # Chunks of a zip are read by this process and handed to the worker processes.
    again = nppes.nppes_import(archive, states=["WI"], workers=1)
    assert (again.read, again.kept, again.unchanged, again.rejected) == (9, 4, 4, 2)
    assert [p["line"] for p in again.problems] == [8, 9]


def registry_snapshot() -> list[tuple]:
    """Every value the import writes, fingerprint included, by NPI."""
    columns = [f for f in layout.ENTRY_COLUMNS]
    return list(RegistryEntry.objects.order_by("npi").values_list(*columns))


def test_both_readers_store_the_same_registry(tmp_path):
    """polars reads a plain file; the Python reader (worker processes here) reads the zip.
    On the 1,000 real rows, with CRLF line ends too, they write the same rows, fingerprints
    included (a hash of the values written), so a switch of reader rewrites nothing."""
    sample = SAMPLE.read_bytes()
    plain = tmp_path / "npidata_pfile_20240101-20240107.csv"
    plain.write_bytes(sample)
    by_polars = nppes.nppes_import(plain)
    polars_rows = registry_snapshot()
    RegistryEntry.objects.all().delete()
    archive = tmp_path / "NPPES_Data_Dissemination.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.write(plain, plain.name)
    by_python = nppes.nppes_import(archive, workers=2)
    assert registry_snapshot() == polars_rows
    assert counts(by_python) == counts(by_polars)
    assert len(polars_rows) == by_polars.kept > 300
    crlf = tmp_path / "npidata_pfile_crlf.csv"
    crlf.write_bytes(sample.replace(b"\n", b"\r\n"))
    again = nppes.nppes_import(crlf)
    assert (again.created, again.updated, again.unchanged) == (0, 0, by_polars.kept)


def test_the_first_import_and_the_upsert_write_the_same_rows(tmp_path):
    """Into an empty registry the staged rows are copied as they are (SQLite's transfer
    optimisation, from a staging table made from the registry's own definition); into a
    registry with rows they go through the upsert. Both store the same values, of the same
    types, keyed by the NPI as a number."""
    plain = tmp_path / "npidata_pfile_20240101-20240107.csv"
    plain.write_bytes(SAMPLE.read_bytes())
    first = nppes.nppes_import(plain)
    copied = registry_snapshot()
    assert len(copied) == first.kept > 300
    ids = dict(RegistryEntry.objects.values_list("npi", "pk"))
    assert ids == {number: int(number) for number in ids}
    RegistryEntry.objects.all().delete()
    _entry(npi("200000001"), "Downtown Chiro", "53202")  # not in the file: the upsert's way
    again = nppes.nppes_import(plain)
    assert (again.created, again.updated) == (first.kept, 0)
    assert [r for r in registry_snapshot() if r[0] != npi("200000001")] == copied
    types = {tuple(type(value) for value in r) for r in registry_snapshot()[:3]}
    assert types == {tuple(type(value) for value in r) for r in copied[:3]}


def test_what_the_cli_import_stages_meets_the_registrys_checks(tmp_path):
    """The staging file does not evaluate the registry's CHECK constraints for each row (the
    import makes every value they check): what it copied into the registry meets them."""
    environ = fresh_cli_env(tmp_path)
    path = tmp_path / "npidata_pfile_20240101-20240107.csv"
    path.write_bytes(SAMPLE.read_bytes())
    cli(environ, "import-nppes", str(path), "--json")
    with closing(sqlite3.connect(tmp_path / "cli.sqlite3")) as db:
        total, failing = db.execute(
            "SELECT count(*), sum(NOT (entity_type IN (1, 2) AND json_valid(taxonomies) "
            "AND json_array_length(taxonomies) >= 1 AND id = CAST(npi AS INTEGER))) "
            "FROM registry_registryentry"
        ).fetchone()
    assert total > 300 and failing == 0


def test_the_same_npi_twice_in_a_file_keeps_its_last_row(tmp_path):
    header = HEADER_FILE.read_text(encoding="utf-8").strip()
    rows = [
        person(CHIRO, "SPINE", "DANA", [("111N00000X", "Y")]),
        person(MASSAGE_PT, "KNEAD", "KIM", [("225700000X", "Y")]),
        person(CHIRO, "SPINE-LATER", "DANA", [("111N00000X", "Y")]),
    ]
    path = tmp_path / "npidata_pfile_twice.csv"
    path.write_text(header + "\n" + "".join(rows), encoding="utf-8")
    run = nppes.nppes_import(path)
    assert (run.read, run.kept, run.created) == (3, 3, 2)
    assert RegistryEntry.objects.get(npi=CHIRO).name == "Dana Spine-Later"
    assert RegistryEntry.objects.count() == 2


def test_an_entry_saved_by_hand_is_keyed_by_its_npi():
    entry = _entry(npi("200000007"), "By Hand", "53122")
    assert entry.pk == int(entry.npi)
    assert RegistryEntry.objects.get(pk=int(npi("200000007"))).name == "By Hand"


@pytest.mark.parametrize(
    "number",
    [
        "+" + npi("100000012")[1:],
        " " + npi("100000012")[1:],
        "-" + npi("100000012")[1:],
        "0" + npi("100000012")[1:],
        npi("100000012")[:9] + "X",
        "1e9000000",
    ],
)
def test_an_npi_that_only_looks_like_a_number_is_judged_by_the_reference(tmp_path, number):
    """polars' fast path reads an NPI as a number; a sign, a space, a leading zero or an
    exponent would parse too. Such a row is not plain: both readers reject it the same way."""
    text = (
        '"' + '","'.join(COLUMNS) + '"\n' + person(number, "ODD", "NUMBER", [("111N00000X", "Y")])
    )
    text += person(CHIRO, "SPINE", "DANA", [("111N00000X", "Y")])
    plain = tmp_path / "npidata_pfile_odd.csv"
    plain.write_text(text, encoding="utf-8")
    by_polars = nppes.nppes_import(plain)
    stored = sorted(RegistryEntry.objects.values_list("npi", flat=True))
    RegistryEntry.objects.all().delete()
    archive = tmp_path / "odd.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.write(plain, plain.name)
    by_python = nppes.nppes_import(archive)
    assert counts(by_polars) == counts(by_python)
    assert by_polars.problems == by_python.problems
    assert stored == sorted(RegistryEntry.objects.values_list("npi", flat=True)) == [CHIRO]
    assert by_polars.rejected == 1


def with_odd_chiropractor(first, tmp_path, last_name, written):
    """`first` with, as its line 3, a chiropractor (NPI 100000011…) whose quoted last name is
    written as `written` in the file."""
    lines = first.read_text(encoding="utf-8").splitlines(keepends=True)
    odd = person(npi("100000011"), last_name, "ODD", [("111N00000X", "Y")])
    odd = odd.replace(f'"{last_name}"', written, 1)
    path = tmp_path / "npidata_pfile_odd_line.csv"
    path.write_text("".join([*lines[:2], odd, *lines[2:]]), encoding="utf-8")
    return path


def test_a_quote_left_open_is_read_row_by_row(first, tmp_path):
    """A value whose closing quote is missing makes polars join the next lines to it; the
    import notices (fewer rows than lines) and reads the file with the Python reader, which
    rejects that one line and keeps every good row after it."""
    path = with_odd_chiropractor(first, tmp_path, "OPEN", '"OPEN')
    run = nppes.nppes_import(path, states=["WI"])
    assert (run.read, run.kept, run.created, run.rejected) == (10, 4, 4, 3)
    assert [p["line"] for p in run.problems] == [3, 9, 10]
    assert "unbalanced quotes" in run.problems[0]["reason"]
    assert RegistryEntry.objects.filter(npi__in=[CHIRO, MASSAGE_PT, CLINIC, QUOTED]).count() == 4


def test_a_value_over_two_lines_undoes_polars_merge_and_is_read_row_by_row(
    first, tmp_path, monkeypatch
):
    """A quoted value with a line end in it is one row to polars but two lines of the file:
    counted while polars' rows were being merged, the difference undoes that merge, and the
    Python reader reads the file instead, rejecting those lines alone."""
    from referwell.registry import frames

    refused = []
    finish = frames.FrameReader.finish

    def noted(reader):
        try:
            return finish(reader)
        except frames.PolarsRefused as exc:
            refused.append((str(exc), RegistryEntry.objects.count()))
            raise

    monkeypatch.setattr(frames.FrameReader, "finish", noted)
    path = with_odd_chiropractor(first, tmp_path, "TWO", '"TW\nO"')
    run = nppes.nppes_import(path, states=["WI"])
    [(reason, merged)] = refused
    assert "11 lines but 10 rows" in reason and merged == 5  # the split row was among them
    assert (run.read, run.kept, run.created, run.rejected) == (11, 4, 4, 3)
    assert [p["line"] for p in run.problems] == [4, 10, 11]
    assert RegistryEntry.objects.count() == 4
    assert not RegistryEntry.objects.filter(npi=npi("100000011")).exists()


def test_crlf_line_ends_and_small_chunks(first):
    text = first.read_text(encoding="utf-8").replace("\n", "\r\n")
    selection = layout.Selection.from_knowledge_base(["WI"])
    parsed = list(nppes.iter_parsed(io.BytesIO(text.encode()), selection, chunk_size=1500))
    assert sum(p.read for p in parsed) == 9
    assert sum(p.kept for p in parsed) == 4
    assert sum(p.rejected for p in parsed) == 2
    assert [pr.line for p in parsed for pr in p.problems] == [8, 9]


def test_a_file_that_is_not_nppes_is_refused(tmp_path):
    other = tmp_path / "clients.csv"
    other.write_text('"name","phone"\n"Ann","1"\n', encoding="utf-8")
    with pytest.raises(layout.NppesFormatError, match="not an NPPES provider file"):
        nppes.nppes_import(other)
    assert ImportRun.objects.get().status == "failed"
    empty = tmp_path / "empty.csv"
    empty.write_text("", encoding="utf-8")
    with pytest.raises(layout.NppesFormatError, match="empty"):
        nppes.nppes_import(empty)


def _sample_oracle():
    """The sample's rows with a knowledge-base code, counted by the csv module alone."""
    from referwell.guidance import kb

    codes = {c for p in kb.load().professions.values() for c in p.nucc}
    with SAMPLE.open(encoding="latin-1", newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        slots = [header.index(f"Healthcare Provider Taxonomy Code_{n}") for n in range(1, 16)]
        rows = list(reader)
    matching = [r for r in rows if any(r[i] in codes for i in slots)]
    deactivated_rows = [r for r in rows if not r[1]]
    return rows, matching, deactivated_rows


def test_the_thousand_real_rows_of_the_sample_add_up():
    rows, matching, deactivated_rows = _sample_oracle()
    run = nppes.nppes_import(SAMPLE)
    assert run.read == len(rows) == 1000
    assert run.rejected == 0
    assert run.kept == run.created == len(matching)
    filtered = run.read - run.kept - run.rejected
    assert filtered == len(rows) - len(matching)
    assert len(deactivated_rows) == 79  # none in the registry yet: filtered, not kept
    both = RegistryEntry.objects.get(npi="1851394050")  # chiropractor and acupuncturist
    assert set(both.taxonomies) >= {"111N00000X", "171100000X"}
    taxonomies = RegistryEntry.objects.values_list("taxonomies", flat=True)
    assert sum("111N00000X" in codes for codes in taxonomies) == 14  # as SOURCES.md counts
    wiebe = RegistryEntry.objects.get(npi="1679576722")
    assert (wiebe.name, wiebe.credentials, wiebe.city, wiebe.state) == (
        "David A Wiebe",
        "M.D.",
        "KEARNEY",
        "NE",
    )
    again = nppes.nppes_import(SAMPLE)
    assert (again.created, again.updated, again.unchanged) == (0, 0, len(matching))


def test_sample_deactivations_reach_entries_already_in_the_registry():
    rows, _, deactivated_rows = _sample_oracle()
    gone = deactivated_rows[0][0]
    RegistryEntry.objects.create(
        npi=gone, entity_type=1, name="Was Here", profession="chiropractor", taxonomy="111N00000X"
    )
    run = nppes.nppes_import(SAMPLE)
    assert run.deactivated == 1
    assert RegistryEntry.objects.get(npi=gone).deactivated_on is not None


# ---------------------------------------------------------------------------- the search


def _entry(number, name, zip_code, profession="chiropractor", **extra):
    lat, lon = zip_centroid(zip_code)
    return RegistryEntry.objects.create(
        npi=number,
        entity_type=1,
        name=name,
        profession=profession,
        taxonomy="111N00000X",
        taxonomies=["111N00000X"],
        city="X",
        state="WI",
        zip_code=zip_code,
        latitude=lat,
        longitude=lon,
        **extra,
    )


@pytest.fixture
def registry():
    return {
        "milwaukee": _entry(npi("200000001"), "Downtown Chiro", "53202"),
        "elm_grove": _entry(npi("200000002"), "Elm Grove Chiro", "53122"),
        "brookfield": _entry(npi("200000003"), "Brookfield Chiro", "53005"),
        "chicago": _entry(npi("200000004"), "Chicago Chiro", "60601"),
        "pt": _entry(npi("200000005"), "Elm Grove PT", "53122", profession="physical-therapist"),
        "gone": _entry(npi("200000006"), "Gone Chiro", "53122", deactivated_on="2025-01-01"),
    }


def test_search_is_nearest_first_with_distances(registry):
    hits = registry_search(profession="chiropractor", zip_code="53122", miles=12)
    assert [h.entry.name for h in hits] == ["Elm Grove Chiro", "Brookfield Chiro", "Downtown Chiro"]
    origin = zip_centroid("53122")
    for hit in hits:
        expected = miles_between(origin, (hit.entry.latitude, hit.entry.longitude))
        assert hit.distance_miles == round(expected, 1)
    assert hits[0].distance_miles == 0.0
    assert 8 < hits[2].distance_miles < 12
    near = registry_search(profession="chiropractor", zip_code="53122", miles=5)
    assert [h.entry.name for h in near] == ["Elm Grove Chiro", "Brookfield Chiro"]
    assert len(registry_search(profession="chiropractor", zip_code="53122", miles=12, limit=1)) == 1


def test_search_refuses_an_unknown_profession_or_zip(registry):
    with pytest.raises(SearchError, match="not a profession"):
        registry_search(profession="wizard", zip_code="53122", miles=10)
    with pytest.raises(SearchError, match="ZIP code"):
        registry_search(profession="chiropractor", zip_code="00000", miles=10)


# ---------------------------------------------------------------------------- the page


def test_anonymous_visitors_are_sent_to_the_login_page(client, registry):
    for response in (
        client.get(reverse("registry_search")),
        client.post(reverse("registry_add", args=[registry["elm_grove"].npi])),
    ):
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))


def test_the_page_renders_and_searches_for_alice(alice_http, registry):
    page = alice_http.get(reverse("registry_search"))
    assert page.status_code == 200
    assert b"Find professionals near" in page.content
    results = alice_http.get(
        reverse("registry_search"), {"profession": "chiropractor", "zip": "53122", "miles": 10}
    )
    body = results.content.decode()
    assert body.index("Elm Grove Chiro") < body.index("Brookfield Chiro")
    assert "Downtown Chiro" in body and "Chicago Chiro" not in body and "Gone Chiro" not in body
    assert "Add to my network" in body
    fragment = alice_http.get(
        reverse("registry_search"),
        {"profession": "chiropractor", "zip": "53122", "miles": 10},
        headers={"HX-Request": "true"},
    )
    assert b'id="results"' in fragment.content and b"<html" not in fragment.content
    wrong = alice_http.get(reverse("registry_search"), {"profession": "chiropractor", "zip": "0"})
    assert b"is not a US ZIP code" in wrong.content


def test_add_to_network_creates_a_prospect_in_alices_practice_only(
    alice_http, alice, charlie_http, charlie, registry
):
    entry = registry["elm_grove"]
    response = alice_http.post(reverse("registry_add", args=[entry.npi]))
    partner = Partner.objects.get(practice=alice.practice)
    assert response.status_code == 302
    assert response["Location"] == reverse("partner_detail", args=[partner.pk])
    assert (partner.name, partner.npi, partner.stage, partner.how_met) == (
        "Elm Grove Chiro",
        entry.npi,
        "prospect",
        "registry",
    )
    assert [p.slug for p in partner.professions.all()] == ["chiropractor"]
    assert AuditEntry.objects.filter(
        action="referwell.partner.created", object_id=str(partner.pk), actor=alice.user
    ).exists()
    assert not Partner.objects.filter(practice=charlie.practice).exists()
    # Twice: the same partner, not a second one.
    again = alice_http.post(reverse("registry_add", args=[entry.npi]))
    assert again["Location"] == reverse("partner_detail", args=[partner.pk])
    assert Partner.objects.filter(practice=alice.practice).count() == 1
    # Charlie adds the same professional: his own partner, alice's untouched.
    charlie_http.post(reverse("registry_add", args=[entry.npi]))
    assert Partner.objects.filter(practice=charlie.practice, npi=entry.npi).count() == 1
    assert Partner.objects.filter(npi=entry.npi).count() == 2
    # The results now say who is in the network.
    body = alice_http.get(
        reverse("registry_search"), {"profession": "chiropractor", "zip": "53122", "miles": 5}
    ).content.decode()
    assert "In your network" in body


def test_add_links_to_the_partner_with_that_npi(alice_http, elm_grove, registry):
    entry = registry["brookfield"]
    mine = PartnerFactory(practice=elm_grove, name="Dr. Brook", npi=entry.npi)
    response = alice_http.post(
        reverse("registry_add", args=[entry.npi]), headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    assert reverse("partner_detail", args=[mine.pk]).encode() in response.content
    assert b"In your network" in response.content
    assert Partner.objects.filter(practice=elm_grove).count() == 1


def test_add_answers_404_for_an_unknown_or_deactivated_npi(alice_http, registry):
    assert alice_http.post(reverse("registry_add", args=["1234567893"])).status_code == 404
    gone = registry["gone"]
    assert alice_http.post(reverse("registry_add", args=[gone.npi])).status_code == 404
    assert alice_http.get(reverse("registry_add", args=[gone.npi])).status_code == 405


# ---------------------------------------------------------------------------- the CLI


@pytest.fixture(scope="module")
def cli_env(tmp_path_factory):
    return fresh_cli_env(tmp_path_factory.mktemp("registry-cli"))


def fresh_cli_env(tmp: Path) -> dict[str, str]:
    """The environment of the command on a new, migrated SQLite database in tmp."""
    environ = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp / 'cli.sqlite3'}",
        "REFERWELL_VAR_DIR": str(tmp),
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }
    cli(environ, "migrate", "--noinput")
    return environ


def cli(environ, *args, check=True):
    result = subprocess.run(
        [str(REFERWELL), *args], env=environ, capture_output=True, text=True, timeout=120
    )
    if check:
        assert result.returncode == 0, result.stderr
    return result


def test_cli_import_then_search_json_contracts(cli_env, tmp_path):
    path = tmp_path / "npidata_pfile_20050523-20250608.csv"
    path.write_text(first_file(), encoding="utf-8")
    out = cli(cli_env, "import-nppes", str(path), "--state", "WI", "--json")
    assert json.loads(out.stdout) == {
        "read": 9,
        "kept": 4,
        "created": 4,
        "updated": 0,
        "deactivated": 0,
        "rejected": 2,
    }
    assert out.stdout.count("\n") <= 1  # one object, nothing else on stdout
    assert "read 9 rows, kept 4" in out.stderr  # the progress line
    assert "line 8: " in out.stderr and "line 9: " in out.stderr
    again = json.loads(cli(cli_env, "import-nppes", str(path), "--json").stdout)
    assert (again["created"], again["updated"], again["kept"]) == (1, 0, 5)  # + Illinois

    found = cli(
        cli_env,
        "search-registry",
        "--profession",
        "chiropractor",
        "--zip",
        "53122",
        "--miles",
        "10",
        "--json",
    )
    results = json.loads(found.stdout)["results"]
    assert [r["npi"] for r in results] == [CHIRO, QUOTED, CLINIC]  # Waukesha, then downtown
    assert results[0] == {
        "npi": CHIRO,
        "name": "Dana Q Spine",
        "profession": "chiropractor",
        "taxonomy": "111N00000X",
        "city": "ELM GROVE",
        "state": "WI",
        "distance_miles": 0.0,
    }
    distances = [r["distance_miles"] for r in results]
    assert distances == sorted(distances) and all(isinstance(d, float) for d in distances)
    limited = cli(
        cli_env,
        "search-registry",
        "--profession",
        "chiropractor",
        "--zip",
        "53122",
        "--miles",
        "10",
        "--limit",
        "1",
        "--json",
    )
    assert len(json.loads(limited.stdout)["results"]) == 1
    human = cli(cli_env, "import-nppes", str(path))
    assert "9 rows read" in human.stdout and "unchanged" in human.stdout


@pytest.mark.parametrize(
    "args, message",
    [
        (["--profession", "wizard", "--zip", "53122", "--miles", "10"], "not a profession"),
        (["--profession", "chiropractor", "--zip", "00000", "--miles", "10"], "ZIP code"),
    ],
)
def test_cli_search_errors_are_one_line(cli_env, args, message):
    result = cli(cli_env, "search-registry", *args, "--json", check=False)
    assert result.returncode != 0
    assert result.stdout == ""
    assert message in result.stderr and result.stderr.strip().count("\n") == 0


def test_cli_import_errors_are_one_line(cli_env, tmp_path):
    missing = cli(cli_env, "import-nppes", str(tmp_path / "nope.csv"), check=False)
    assert missing.returncode != 0 and "No such file" in missing.stderr
    other = tmp_path / "other.csv"
    other.write_text('"a","b"\n', encoding="utf-8")
    wrong = cli(cli_env, "import-nppes", str(other), "--json", check=False)
    assert wrong.returncode != 0 and wrong.stdout == ""
    assert "not an NPPES provider file" in wrong.stderr
    assert wrong.stderr.strip().count("\n") == 0
    bad_state = cli(cli_env, "import-nppes", str(other), "--state", "Wisconsin", check=False)
    assert bad_state.returncode != 0 and "two-letter" in bad_state.stderr


def test_a_nul_character_in_a_row_is_dropped_not_fatal(tmp_path):
    """PostgreSQL cannot store a NUL in text or JSON: it never reaches the database."""
    header = HEADER_FILE.read_text(encoding="utf-8").strip()
    rows = [
        person(npi("100000001"), "SPI\x00NE", "DANA", [("111N00000X", "Y")]),
        person(npi("100000002"), "STRETCH", "PAT", [("225100000X", "Y")], updated="07/08/\x00x"),
    ]
    path = tmp_path / "npidata_pfile_nul.csv"
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    run = nppes.nppes_import(path, workers=0)
    assert run.status == "done"
    assert run.kept == 1 and run.rejected == 1
    assert RegistryEntry.objects.get().name == "Dana Spine"
    assert "\x00" not in str(run.problems)


def test_the_cli_import_keeps_the_last_row_of_an_npi_given_twice(tmp_path):
    """The command stages into a file beside the database (ADBC), whose table replaces an
    earlier row of the same NPI."""
    environ = fresh_cli_env(tmp_path)
    header = HEADER_FILE.read_text(encoding="utf-8").strip()
    rows = [
        person(CHIRO, "SPINE", "DANA", [("111N00000X", "Y")]),
        person(CHIRO, "SPINE-LATER", "DANA", [("111N00000X", "Y")]),
    ]
    path = tmp_path / "npidata_pfile_twice.csv"
    path.write_text(header + "\n" + "".join(rows), encoding="utf-8")
    out = json.loads(cli(environ, "import-nppes", str(path), "--json").stdout)
    assert (out["read"], out["kept"], out["created"]) == (2, 2, 1)
    with closing(sqlite3.connect(tmp_path / "cli.sqlite3")) as db:
        stored = db.execute("SELECT id, npi, name FROM registry_registryentry").fetchall()
    assert stored == [(int(CHIRO), CHIRO, "Dana Spine-Later")]
    assert not list(tmp_path.glob(".nppes-staging-*"))  # the staging file is gone


@pytest.mark.django_db(transaction=True)
def test_the_migration_keys_existing_entries_by_their_npi():
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    before, after = (
        [("registry", "0002_registryentry_no_timestamps")],
        [("registry", "0003_registryentry_id_is_the_npi")],
    )
    executor.migrate(before)
    old = executor.loader.project_state(before[0]).apps.get_model("registry", "RegistryEntry")
    for number in (CHIRO, MASSAGE_PT):
        old.objects.create(npi=number, entity_type=1, name=number, profession="chiropractor")
    assert sorted(old.objects.values_list("pk", flat=True)) == [1, 2]
    executor = MigrationExecutor(connection)
    executor.migrate(after)
    assert dict(RegistryEntry.objects.values_list("npi", "pk")) == {
        CHIRO: int(CHIRO),
        MASSAGE_PT: int(MASSAGE_PT),
    }


def test_sqlite_copies_the_staged_twin_into_an_empty_registry_as_it_is(tmp_path):
    """The first import's speed rests on SQLite's transfer optimisation: the statement copies
    records and index entries undecoded only when the staging table is the registry's twin,
    indexes included. SQLite's own program for the statement shows it (OP_RowData); without
    the twin's index it decodes every row."""
    fresh_cli_env(tmp_path)  # a migrated SQLite database, whatever the tests' database is
    with closing(sqlite3.connect(tmp_path / "cli.sqlite3")) as db:
        schema = db.execute(
            "SELECT type, sql FROM sqlite_master "
            "WHERE tbl_name = 'registry_registryentry' AND sql IS NOT NULL"
        ).fetchall()
        table_sql, indexes = store.twin_ddl(schema, "twin", '"registry_registryentry"')
        db.execute(table_sql)

        def program() -> list[str]:
            explain = 'EXPLAIN INSERT INTO "registry_registryentry" SELECT * FROM twin'
            return [row[1] for row in db.execute(explain)]

        assert indexes and "RowData" not in program()  # the search index only in the registry
        for statement in indexes:
            db.execute(statement)
        assert "RowData" in program()
        db.execute(
            "INSERT INTO twin (id, npi, entity_type, name, credentials, profession, taxonomy, "
            "taxonomies, address, city, state, zip_code, phone, fingerprint) VALUES "
            f"({int(CHIRO)}, '{CHIRO}', 1, 'A', '', 'chiropractor', '111N00000X', "
            "'[\"111N00000X\"]', '', '', 'WI', '', '', 0), "
            f"({int(CHIRO)}, '{CHIRO}', 1, 'B', '', 'chiropractor', '111N00000X', "
            "'[\"111N00000X\"]', '', '', 'WI', '', '', 0)"
        )
        db.execute('INSERT INTO "registry_registryentry" SELECT * FROM twin')
        assert db.execute('SELECT id, name FROM "registry_registryentry"').fetchall() == [
            (int(CHIRO), "B")  # the twin kept the later row of the NPI
        ]
