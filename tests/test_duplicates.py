"""One rule for duplicate partners (referwell/directory/duplicates.py), asked by the partner
form, the vCard preview and import, the merge page and the CSV import alike."""

import csv
import dataclasses
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from referwell.directory.duplicates import (
    SAME_EMAIL,
    SAME_NAME_AND_CITY,
    SAME_NPI,
    SAME_PHONE,
    SHARED_PHONE,
    Contact,
    DuplicateIndex,
    compare,
    find_duplicates,
    is_duplicate,
)
from referwell.interop.csv import importer
from tests.factories import PartnerFactory

NPI = "1234567893"  # a valid NPI (its check digit holds)

# (new partner, one already there, the rule's answer)
CASES = [
    (Contact(name="A", npi=NPI), Contact(name="B", npi=NPI), SAME_NPI),
    (Contact(name="A", npi="123-456-7893"), Contact(name="B", npi=NPI), SAME_NPI),
    (Contact(name="A", npi="12345"), Contact(name="B", npi="12345"), None),  # not an NPI
    (
        Contact(name="A", email=" Dana@Spine.example "),
        Contact(name="B", email="dana@spine.example"),
        SAME_EMAIL,
    ),
    (  # an NPI outranks the rest
        Contact(name="Dana Spine", email="d@x.example", npi=NPI),
        Contact(name="Dana Spine", email="d@x.example", npi=NPI),
        SAME_NPI,
    ),
    (  # the same phone, written two ways, and the same family name: likely the same
        Contact(name="Dr. Rita Moreno, DC", phone="262.555.0190"),
        Contact(name="R. Moreno", phone="+1 (262) 555-0190"),
        SAME_PHONE,
    ),
    (  # the same phone under another name: a colleague on the office's line
        Contact(name="Olga Brandt", phone="(262) 555-0190"),
        Contact(name="Rita Moreno", phone="262-555-0190"),
        SHARED_PHONE,
    ),
    (  # the same phone without a name to tell: no more than a shared phone
        Contact(name="", phone="(262) 555-0190"),
        Contact(name="Rita Moreno", phone="262-555-0190"),
        SHARED_PHONE,
    ),
    (Contact(name="A B", phone="n/a"), Contact(name="C B", phone="n/a"), None),  # no number
    (  # titles, credentials, punctuation, accents and case aside, in the same city
        Contact(name="Dr. José Núñez, DC", city="Elm Grove"),
        Contact(name="jose nunez", city="ELM GROVE"),
        SAME_NAME_AND_CITY,
    ),
    (
        Contact(name="Spine, Dana", city="Brookfield"),
        Contact(name="Dana Spine", city="Brookfield"),
        SAME_NAME_AND_CITY,
    ),
    (  # a middle initial only counts when both have one
        Contact(name="Jane A. Smith", city="Waukesha"),
        Contact(name="Jane Smith", city="Waukesha"),
        SAME_NAME_AND_CITY,
    ),
    (
        Contact(name="Jane A. Smith", city="Waukesha"),
        Contact(name="Jane B. Smith", city="Waukesha"),
        None,
    ),
    (
        Contact(name="Jane Smith", city="Waukesha"),
        Contact(name="Jane Smith", city="Elm Grove"),
        None,
    ),
    (Contact(name="Jane Smith"), Contact(name="Jane Smith"), SAME_NAME_AND_CITY),  # no city: one
    (Contact(name="Jane Smith", city="X"), Contact(name="John Smith", city="X"), None),
    (Contact(), Contact(), None),
]


@pytest.mark.parametrize(("new", "other", "expected"), CASES)
def test_the_rule(new, other, expected):
    assert compare(new, other) == expected
    index = DuplicateIndex([(other, "there")])
    assert index.matches(new) == ([(expected, "there")] if expected else [])


@pytest.mark.django_db
@pytest.mark.parametrize(("new", "other", "expected"), CASES)
def test_find_duplicates_reads_the_directory_by_the_same_rule(elm_grove, new, other, expected):
    there = PartnerFactory(
        practice=elm_grove,
        name=other.name or "x",
        city=other.city,
        email=other.email,
        phone=other.phone,
        npi=other.npi,
    )
    if not other.name:
        expected = compare(new, dataclasses.replace(other, name="x"))
    found = find_duplicates(
        practice=elm_grove,
        name=new.name,
        city=new.city,
        email=new.email,
        phone=new.phone,
        npi=new.npi,
    )
    assert [(p, p.duplicate_reason) for p in found] == ([(there, expected)] if expected else [])


def test_only_the_first_four_rules_make_a_duplicate():
    assert all(is_duplicate(r) for r in (SAME_NPI, SAME_EMAIL, SAME_PHONE, SAME_NAME_AND_CITY))
    assert not is_duplicate(SHARED_PHONE) and not is_duplicate("")


def test_the_index_lists_the_strongest_match_first():
    index = DuplicateIndex(
        [
            (Contact(name="Olga Brandt", phone="262-555-0190"), "colleague"),
            (Contact(name="Rita Moreno", city="Brookfield"), "name and city"),
            (Contact(name="R. M.", email="rita@spine.example"), "e-mail"),
        ]
    )
    new = Contact(
        name="Rita Moreno", city="Brookfield", phone="(262) 555-0190", email="RITA@spine.example"
    )
    assert index.matches(new) == [
        (SAME_EMAIL, "e-mail"),
        (SAME_NAME_AND_CITY, "name and city"),
        (SHARED_PHONE, "colleague"),
    ]


# ------------------------------------------------------- the CSV import and the vCard preview

# (name, city, e-mail, phone, NPI): each one tried by both imports.
PEOPLE = [
    ("Daniel Other", "Waukesha", "", "", NPI),  # Dana's NPI
    ("Dee Somebody", "Waukesha", "DANA@spine.example", "", ""),  # Dana's e-mail
    ("Sam Moreno", "Waukesha", "", "+1 262 555 0190", ""),  # Rita's phone, her family name
    ("Olga Brandt", "Brookfield", "", "262.555.0190", ""),  # Rita's phone, another name
    ("Dana Spine", "Elm Grove", "", "", ""),  # Dana's name, in her city
    ("Dana Spine", "Waukesha", "", "", ""),  # Dana's name, another city
    ("Nobody New", "Pewaukee", "", "(414) 555-0177", ""),
]
FLAGGED = {1, 2, 3, 5}  # the positions (from 1) of the duplicates


def _csv(people):
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["Name", "City", "Zip", "E-mail", "Phone", "NPI"])
    for name, city, email, phone, npi in people:
        writer.writerow([name, city, "53122", email, phone, npi])
    return out.getvalue().encode()


def _vcards(people):
    lines = []
    for name, city, email, phone, npi in people:
        first, last = name.split()
        lines += ["BEGIN:VCARD", "VERSION:3.0", f"N:{last};{first};;;", f"FN:{name}"]
        lines.append(f"ADR;TYPE=WORK:;;1 Main St;{city};WI;53122;USA")
        if email:
            lines.append(f"EMAIL;TYPE=WORK:{email}")
        if phone:
            lines.append(f"TEL;TYPE=WORK:{phone}")
        if npi:
            lines.append(f"X-NPI:{npi}")
        lines.append("END:VCARD")
    return ("\r\n".join(lines) + "\r\n").encode()


@pytest.fixture
def directory(elm_grove):
    dana = PartnerFactory(
        practice=elm_grove,
        name="Dr. Dana Spine",
        city="Elm Grove",
        email="dana@spine.example",
        phone="(262) 555-0100",
        npi=NPI,
    )
    rita = PartnerFactory(
        practice=elm_grove, name="Rita Moreno", city="Brookfield", phone="(262) 555-0190"
    )
    return dana, rita


@pytest.mark.django_db
def test_the_csv_import_and_the_vcard_preview_flag_the_same_rows(
    alice_http, directory, settings, tmp_path
):
    settings.VAR_DIR = tmp_path
    dana, rita = directory

    upload = alice_http.post(
        reverse("csv_import"),
        {"kind": "partners", "file": SimpleUploadedFile("people.csv", _csv(PEOPLE))},
    )
    assert upload.status_code == 302, upload.content.decode()[:2000]
    token = upload["Location"].strip("/").split("/")[-1]
    mapping = ["name", "city", "zip_code", "email", "phone", "npi"]
    alice_http.post(
        reverse("csv_import_map", kwargs={"token": token}),
        {f"column_{i}": key for i, key in enumerate(mapping)},
    )
    fates = alice_http.get(reverse("csv_import_preview", kwargs={"token": token})).context["fates"]
    assert [f.fate for f in fates if f.fate == importer.REJECT] == [], [f.reasons for f in fates]
    csv_flagged = {i for i, f in enumerate(fates, start=1) if f.fate == importer.DUPLICATE}

    upload = alice_http.post(
        reverse("partner_import"),
        {"files": [SimpleUploadedFile("people.vcf", _vcards(PEOPLE), content_type="text/vcard")]},
    )
    assert upload.status_code == 302, upload.content.decode()[:2000]
    cards = alice_http.get(upload["Location"]).context["cards"]
    assert [c.data.name for c in cards] == [p[0] for p in PEOPLE]
    vcard_flagged = {c.number for c in cards if c.likely_duplicate}

    assert csv_flagged == vcard_flagged == FLAGGED
    # The same partner, for the same reason.
    csv_reasons = [f.reasons for f in fates if f.fate == importer.DUPLICATE]
    vcard_reasons = [(c.target, c.target.duplicate_reason) for c in cards if c.likely_duplicate]
    assert vcard_reasons == [
        (dana, SAME_NPI),
        (dana, SAME_EMAIL),
        (rita, SAME_PHONE),
        (dana, SAME_NAME_AND_CITY),
    ]
    assert csv_reasons == [
        [f"already there ({reason}): {partner.name} (partner #{partner.pk})"]
        for partner, reason in vcard_reasons
    ]
    # The colleague on Rita's line: a word in both, created by the CSV, ticked on the preview.
    olga_row, olga_card = fates[3], cards[3]
    assert olga_row.is_created
    assert olga_row.notes == [f"shares a phone number with Rita Moreno (partner #{rita.pk})"]
    assert olga_card.checked and olga_card.target is None
    assert [(p, p.duplicate_reason) for p in olga_card.duplicates] == [(rita, SHARED_PHONE)]
