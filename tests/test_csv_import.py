"""CSV in (upload → mapping → dry run → confirm) and out (every list), practice by practice."""

import codecs
import csv
import io

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from referwell.accounts.models import Role
from referwell.audit.models import AuditEntry
from referwell.clients.models import Client
from referwell.core.phones import phone_display
from referwell.directory.models import Partner
from referwell.interop.csv import importer
from tests.factories import ClientFactory, MemberFactory, PartnerFactory, UserFactory

pytestmark = pytest.mark.django_db

PARTNERS_CSV = """\
Full Name,Profession,Clinic,City,State,Zip,Phone Number,E-mail Address,Favourite colour
Dr. Rita Moreno,Chiropractor,Spine Works,Brookfield,WI,53005,262-555-0190,RMoreno@SpineWorks.example,blue
Sam Lee,physical-therapist; Personal trainers,Move PT,Waukesha,Wisconsin,53186,+1 (262) 555 0191,sam@movept.example,
Rita Moreno again,Chiropractor,,,,53005,,rmoreno@spineworks.example,
Dana at the old address,Chiropractor,,,,53122,,dana@spine.example,
Bad Email Person,Chiropractor,,,,53122,,not-an-email,
Zip Wrong,Chiropractor,,,,00000,,,
,Chiropractor,Nameless Clinic,,,53122,,,
Too Many,Chiropractor,,,,53122,,a@b.example,,surplus
"""


@pytest.fixture(autouse=True)
def _imports_in_tmp(settings, tmp_path):
    settings.VAR_DIR = tmp_path


def _upload(http, content, *, kind="partners", name="network.csv"):
    data = content.encode() if isinstance(content, str) else content
    return http.post(
        reverse("csv_import"),
        {"kind": kind, "file": SimpleUploadedFile(name, data, content_type="text/csv")},
    )


def _token(response):
    assert response.status_code == 302, response.content.decode()[:2000]
    return response["Location"].strip("/").split("/")[-1]


def _map(http, token, mapping):
    data = {f"column_{i}": key for i, key in enumerate(mapping)}
    return http.post(reverse("csv_import_map", kwargs={"token": token}), data)


# --------------------------------------------------------------------------- pure parts


def test_mapping_is_guessed_from_the_header_names():
    headers = [
        "Full Name",
        "E-mail Address",
        "Phone Number",
        "ZIP",
        "Profession",
        "Notes",
        "Favourite colour",
        "email",
    ]
    assert importer.guess_mapping("partners", headers) == [
        "name",
        "email",
        "phone",
        "zip_code",
        "professions",
        "vetting_notes",
        "",
        "",  # a field goes to the first column that names it
    ]
    assert importer.guess_mapping("clients", ["Surname", "First Name", "DOB", "Mobile"]) == [
        "last_name",
        "first_name",
        "date_of_birth",
        "phone",
    ]
    assert importer.mapping_errors("clients", ["A", "B"], ["first_name", ""]) == [
        "Choose the column that holds the last name (required)."
    ]


def test_phone_and_email_are_normalised():
    assert phone_display("262.555.0190") == "(262) 555-0190"
    assert phone_display("+1 262 555 0190 ext. 12") == "(262) 555-0190 ext. 12"
    assert phone_display("+44 20 7946 0958") == "+44 20 7946 0958"
    with pytest.raises(ValueError):
        phone_display("call me")
    assert importer.normalise_email(" Jane@Example.COM ") == "jane@example.com"
    with pytest.raises(ValueError):
        importer.normalise_email("jane@")


def test_excel_files_are_read_utf8_with_bom_cp1252_and_semicolons():
    bom = codecs.BOM_UTF8 + "Name;City\nJosé Núñez;Milwaukee\n".encode()
    table = importer.read_table(importer.decode(bom))
    assert table.headers == ("Name", "City") and table.rows[0].cells == ("José Núñez", "Milwaukee")
    cp1252 = "Name,City\nRenée Müller,Wauwatosa\n".encode("cp1252")
    assert importer.read_table(importer.decode(cp1252)).rows[0].cells[0] == "Renée Müller"


# --------------------------------------------------------------------------- the import


def test_dry_run_lists_every_fate_and_creates_nothing_then_confirm_creates_the_good_rows(
    alice_http, elm_grove, alice
):
    PartnerFactory(practice=elm_grove, name="Dana Spine", email="dana@spine.example")
    before = Partner.objects.count()
    token = _token(_upload(alice_http, PARTNERS_CSV))

    page = alice_http.get(reverse("csv_import_map", kwargs={"token": token}))
    assert page.status_code == 200
    body = page.content.decode()
    assert '<option value="name" selected>' in body
    assert '<option value="zip_code" selected>' in body
    assert "Dr. Rita Moreno" in body  # a sample of the first values

    response = _map(
        alice_http,
        token,
        ["name", "professions", "clinic", "city", "state", "zip_code", "phone", "email", ""],
    )
    assert response.status_code == 302
    preview = alice_http.get(reverse("csv_import_preview", kwargs={"token": token}))
    assert preview.status_code == 200
    fates = {f.number: f for f in preview.context["fates"]}
    assert {n: f.fate for n, f in fates.items()} == {
        2: "create",
        3: "create",
        4: "duplicate-skip",
        5: "duplicate-skip",
        6: "reject",
        7: "reject",
        8: "reject",
        9: "reject",
    }
    assert "row 2" in fates[4].reasons[0] and "same e-mail" in fates[4].reasons[0]
    assert "Dana Spine (partner #" in fates[5].reasons[0]
    assert "not-an-email" in fates[6].reasons[0] and "e-mail" in fates[6].reasons[0]
    assert "zip code" in fates[7].reasons[0] and "00000" in fates[7].reasons[0]
    assert fates[8].reasons == ["name is missing"]
    assert "too many columns" in fates[9].reasons[0]
    page = preview.content.decode()
    assert "Rows with errors are skipped and listed" in page
    assert "all-or-nothing" in page
    assert "not-an-email" in page
    assert Partner.objects.count() == before  # a dry run

    done = alice_http.post(reverse("csv_import_confirm", kwargs={"token": token}))
    assert done.status_code == 200
    new = Partner.objects.filter(practice=elm_grove).exclude(name="Dana Spine")
    assert sorted(new.values_list("name", flat=True)) == ["Dr. Rita Moreno", "Sam Lee"]
    rita = new.get(name="Dr. Rita Moreno")
    assert rita.phone == "(262) 555-0190" and rita.email == "rmoreno@spineworks.example"
    assert rita.latitude is not None  # geocoded by the service
    sam = new.get(name="Sam Lee")
    assert sam.state == "WI" and sam.phone == "(262) 555-0191"
    assert sorted(p.slug for p in sam.professions.all()) == [
        "personal-trainer",
        "physical-therapist",
    ]
    created = AuditEntry.objects.filter(practice=elm_grove, action="referwell.partner.created")
    assert created.filter(actor=alice.user).count() == 2
    summary = AuditEntry.objects.get(practice=elm_grove, action="referwell.csv.imported")
    assert summary.data == {"kind": "partners", "created": 2, "duplicates": 2, "rejected": 4}
    # The file is gone: the same import cannot run twice.
    again = alice_http.post(reverse("csv_import_confirm", kwargs={"token": token}))
    assert again.status_code == 404
    assert not list(importer_dir().glob("*"))


def importer_dir():
    from django.conf import settings

    return settings.VAR_DIR / "imports"


def test_clients_import(alice_http, elm_grove):
    ClientFactory(practice=elm_grove, first_name="Maria", last_name="Santos")
    content = (
        "First Name,Last Name,Email,Phone,DOB,ZIP\n"
        "Ann,Baker,ann@mail.example,414 555 0123,3/5/1980,53122\n"
        "maria,SANTOS,,,,\n"
        "Bo,,bo@mail.example,,,\n"
        "Cy,Dunn,,,31/12/1990,\n"
    )
    token = _token(_upload(alice_http, content, kind="clients"))
    _map(
        alice_http,
        token,
        ["first_name", "last_name", "email", "phone", "date_of_birth", "zip_code"],
    )
    preview = alice_http.get(reverse("csv_import_preview", kwargs={"token": token}))
    fates = {f.number: f for f in preview.context["fates"]}
    assert [fates[n].fate for n in (2, 3, 4, 5)] == ["create", "duplicate-skip", "reject", "reject"]
    assert "Maria Santos (client #" in fates[3].reasons[0]
    assert fates[4].reasons == ["last name is missing"]
    assert "not a date" in fates[5].reasons[0]
    alice_http.post(reverse("csv_import_confirm", kwargs={"token": token}))
    ann = Client.objects.get(practice=elm_grove, last_name="Baker")
    assert ann.phone == "(414) 555-0123" and str(ann.date_of_birth) == "1980-03-05"
    assert Client.objects.filter(practice=elm_grove).count() == 2


def test_the_good_rows_are_all_or_nothing(alice_http, elm_grove, monkeypatch):
    from referwell.interop.csv import views

    calls = []
    real = views.partner_create

    def failing_second(**kwargs):
        calls.append(kwargs["fields"]["name"])
        if len(calls) == 2:
            raise ValidationError({"name": "Something went wrong."})
        return real(**kwargs)

    monkeypatch.setattr(views, "partner_create", failing_second)
    token = _token(_upload(alice_http, "Name,ZIP\nFirst One,53122\nSecond One,53122\n"))
    _map(alice_http, token, ["name", "zip_code"])
    response = alice_http.post(reverse("csv_import_confirm", kwargs={"token": token}))
    assert response.status_code == 200
    assert "Nothing was imported: row 3" in response.content.decode()
    assert not Partner.objects.filter(practice=elm_grove).exists()
    assert not AuditEntry.objects.filter(action="referwell.partner.created").exists()


def test_a_mapping_without_the_required_fields_is_refused(alice_http):
    token = _token(_upload(alice_http, "Who,Where\nAnn,Elm Grove\n", kind="clients"))
    response = _map(alice_http, token, ["first_name", "first_name"])
    assert response.status_code == 200
    body = response.content.decode()
    assert "First name is chosen for more than one column" in body
    assert "last name (required)" in body
    preview = alice_http.get(reverse("csv_import_preview", kwargs={"token": token}))
    assert preview.status_code == 302  # back to the mapping


def test_the_import_is_bound_to_the_practice_and_member(alice_http, charlie_http, elm_grove):
    token = _token(_upload(alice_http, "Name\nDr. Who\n"))
    _map(alice_http, token, ["name"])
    for name in ("csv_import_map", "csv_import_preview"):
        assert charlie_http.get(reverse(name, kwargs={"token": token})).status_code == 404
    for name in ("csv_import_map", "csv_import_confirm", "csv_import_cancel"):
        assert charlie_http.post(reverse(name, kwargs={"token": token})).status_code == 404
    assert not Partner.objects.filter(name="Dr. Who").exists()
    # Another member of alice's own practice does not see it either.
    therapist = MemberFactory(
        user=UserFactory(email="terry@example.com"), practice=elm_grove, role=Role.THERAPIST
    )
    from django.test import Client as HttpClient

    terry = HttpClient()
    terry.force_login(therapist.user)
    assert terry.get(reverse("csv_import_preview", kwargs={"token": token})).status_code == 404
    assert terry.get(reverse("csv_import")).status_code == 200  # therapists import
    # A forged or tampered address is no import at all.
    forged = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    assert alice_http.get(reverse("csv_import_map", kwargs={"token": forged})).status_code == 404
    assert alice_http.get(reverse("csv_import_preview", kwargs={"token": token})).status_code == 200


def test_front_desk_cannot_import_and_anonymous_must_log_in(bob_http, client):
    assert bob_http.get(reverse("csv_import")).status_code == 403
    assert _upload(bob_http, "Name\nX\n").status_code == 403
    response = client.get(reverse("csv_import"))
    assert response.status_code == 302 and "login" in response["Location"]


def test_cancel_removes_the_file(alice_http):
    token = _token(_upload(alice_http, "Name\nDr. Who\n"))
    assert alice_http.post(reverse("csv_import_cancel", kwargs={"token": token})).status_code == 302
    assert alice_http.get(reverse("csv_import_map", kwargs={"token": token})).status_code == 404
    assert not list(importer_dir().glob("*"))


@pytest.mark.parametrize(
    ("name", "content", "error"),
    [
        ("cards.xlsx", b"Name\nX\n", "Choose a .csv file"),
        ("book.csv", b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00", "not a CSV text file"),
        ("utf16.csv", "Name\nX\n".encode("utf-16"), "not a CSV text file"),
        ("odd.csv", b"Name\n\x81\x8d\x8f\x90\x9d\n", "neither UTF-8 nor Windows-1252"),
        ("big.csv", b"Name\n" + b"x" * (2 * 1024 * 1024), "larger than 2 MB"),
        ("empty.csv", b"", "empty"),
        ("header.csv", b"Name,City\n", "no rows to import"),
    ],
)
def test_a_file_that_is_not_a_readable_csv_gets_a_clear_form_error(
    alice_http, name, content, error
):
    response = _upload(alice_http, content, name=name)
    assert response.status_code == 200
    assert error in response.content.decode()
    assert not importer_dir().exists() or not list(importer_dir().glob("*"))


# --------------------------------------------------------------------------- lists out


def _rows(response):
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    text = response.content.decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text)))


@pytest.fixture
def two_practices(alice_objects, charlie):
    from referwell.outreach.models import OutgoingMessage
    from tests.factories import ReferralFactory

    own_partner = PartnerFactory(practice=charlie.practice, name="Charlie's PT")
    own_client = ClientFactory(practice=charlie.practice, first_name="Carl", last_name="Lakes")
    ReferralFactory(practice=charlie.practice, client=own_client, partner=own_partner)
    OutgoingMessage.objects.create(
        practice=charlie.practice,
        kind="referral",
        subject="To Charlie's PT",
        body="x",
        status="sent",
    )
    return alice_objects


@pytest.fixture
def alice_objects(elm_grove, partner, client_alice_jones, referral):
    from referwell.outreach.models import OutgoingMessage

    OutgoingMessage.objects.create(
        practice=elm_grove,
        kind="referral",
        subject="Referral: Alice Jones",
        body="Dear Dr. Dana Spine",
        status="printed",
        referral=referral,
    )
    return {"partner": partner, "client": client_alice_jones, "referral": referral}


EXPECTED_FIRST_HEADER = {"partners": "Name", "clients": "First name", "referrals": "Created",
                         "outbox": "When"}  # fmt: skip


@pytest.mark.parametrize("kind", ["partners", "clients", "referrals", "outbox"])
def test_every_list_exports_only_the_practices_rows(alice_http, charlie_http, two_practices, kind):
    url = reverse("csv_export", kwargs={"kind": kind})
    mine = _rows(alice_http.get(url))
    assert mine[0][0] == EXPECTED_FIRST_HEADER[kind]
    assert len(mine) == 2
    text = "\n".join(",".join(r) for r in mine)
    assert "Jones" in text or "Dana Spine" in text
    theirs = _rows(charlie_http.get(url))
    assert theirs[0] == mine[0] and len(theirs) == 2
    other = "\n".join(",".join(r) for r in theirs)
    assert "Jones" not in other and "Dana Spine" not in other
    assert AuditEntry.objects.filter(action="referwell.list.exported", data__list=kind).count() == 2


def test_partner_export_keeps_the_lists_filters_and_no_clinical_text(
    alice_http, elm_grove, partner
):
    PartnerFactory(practice=elm_grove, name="Prospect Pat", stage="prospect")
    rows = _rows(
        alice_http.get(reverse("csv_export", kwargs={"kind": "partners"}) + "?stage=prospect")
    )
    assert [r[0] for r in rows[1:]] == ["Prospect Pat"]
    ClientFactory(
        practice=elm_grove, last_name="Formula", first_name="=HYPERLINK(1)", history="secret"
    )
    rows = _rows(alice_http.get(reverse("csv_export", kwargs={"kind": "clients"}) + "?q=Formula"))
    assert rows[1][0] == "'=HYPERLINK(1)"  # not run as a formula by a spreadsheet
    assert "secret" not in str(rows) and "Health history" not in rows[0]
    assert alice_http.get("/imports/export/nothing.csv").status_code == 404


def test_each_list_page_links_its_csv(alice_http, alice_objects):
    pages = {
        "partner_list": "/imports/export/partners.csv",
        "client_list": "/imports/export/clients.csv",
        "referral_list": "/imports/export/referrals.csv",
        "outbox": "/imports/export/outbox.csv",
    }
    for name, link in pages.items():
        body = alice_http.get(
            reverse(name) + ("?stage=trusted" if name == "partner_list" else "")
        ).content.decode()
        assert link in body, name
    body = alice_http.get(reverse("partner_list") + "?stage=trusted").content.decode()
    assert "/imports/export/partners.csv?stage=trusted" in body
