"""Business cards with a preview (issue 23, item 7): upload → every card as it would be
imported (its name or "No name on this card", organisation, job title, credentials, guessed
profession, the phone kept, possible duplicates) → "Import selected" imports the ticked cards
only → a report of every card. The upload waits encrypted, as the CSV import's file waits."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse

from referwell.accounts.models import Role
from referwell.audit.models import AuditEntry
from referwell.directory import views
from referwell.directory.models import Partner, Stage
from referwell.directory.services import vcards_preview
from referwell.directory.vcard import parse_vcards
from tests.conftest import _logged_in, shared
from tests.factories import MemberFactory, PartnerFactory
from tests.test_browser import log_in


def vcf(*lines: str) -> bytes:
    return ("\r\n".join(lines) + "\r\n").encode("utf-8")


# A chiropractor's card, vCard 3.0: credentials after the name (N's honorific suffix), a
# clinic title that is no credential, two phones of which the second is the preferred one.
RITA = vcf(
    "BEGIN:VCARD",
    "VERSION:3.0",
    "N:Moreno;Rita;;Dr.;DC",
    "FN:Dr. Rita Moreno\\, DC",
    "ORG:Spine Works Chiropractic",
    "TITLE:Clinic Director",
    "TEL;TYPE=WORK,VOICE:(262) 555-0190",
    "TEL;TYPE=CELL,VOICE,pref:(262) 555-0191",
    "TEL;TYPE=WORK,FAX:(262) 555-0192",
    "EMAIL;TYPE=INTERNET,WORK:rita@spineworks.example",
    "ADR;TYPE=WORK:;;1 Main St;Brookfield;WI;53005;USA",
    "END:VCARD",
)
# A physical therapist's card, vCard 4.0: tel: URIs, PREF=1 on the second number.
SAM = vcf(
    "BEGIN:VCARD",
    "VERSION:4.0",
    "FN:Sam Patel, DPT",
    "N:Patel;Sam;;;DPT",
    "ORG:Lakeside Physical Therapy",
    'TEL;VALUE=uri;TYPE="work,voice";PREF=2:tel:+1-414-555-0170',
    'TEL;VALUE=uri;TYPE="cell,voice";PREF=1:tel:+1-414-555-0171',
    "EMAIL;TYPE=work:sam@lakeside-pt.example",
    "END:VCARD",
)
# An office manager at a chiropractic clinic: a title, no credentials, no profession.
OLGA = vcf(
    "BEGIN:VCARD",
    "VERSION:3.0",
    "N:Brandt;Olga;;;",
    "FN:Olga Brandt",
    "ORG:Lakeside Chiropractic",
    "TITLE:Office Manager",
    "TEL;TYPE=WORK:414-555-0150",
    "EMAIL:olga@lakeside-chiro.example",
    "END:VCARD",
)
# No FN, no N: what Android exports for a contact saved with an e-mail address only.
NAMELESS = vcf(
    "BEGIN:VCARD",
    "VERSION:2.1",
    "EMAIL;PREF:john.doe@company.com",
    "CATEGORIES:My Contacts",
    "END:VCARD",
)
# Dr. Dana Spine is in the directory already (same e-mail, written in capitals here).
DANA = vcf(
    "BEGIN:VCARD",
    "VERSION:3.0",
    "FN:Dana Spine, DC",
    "N:Spine;Dana;;;DC",
    "EMAIL:DANA@spine.example",
    "TEL;TYPE=WORK:(262) 555-0100",
    "END:VCARD",
)
UNREADABLE = vcf("BEGIN:VCARD", "VERSION:3.0", "FN:Cut Short", "EMAIL:cut@example.com")

# The upload of the tests: one file of five cards, and a second file with a broken card.
CARDS = RITA + SAM + OLGA + NAMELESS + DANA
KEYS = {"rita": "1-1", "sam": "1-2", "olga": "1-3", "nameless": "1-4", "dana": "1-5"}


@pytest.fixture(autouse=True)
def _own_var_dir(settings, tmp_path):
    """The waiting uploads in a directory of the test's own."""
    settings.VAR_DIR = tmp_path


@pytest.fixture
def dana(elm_grove):
    return PartnerFactory(
        practice=elm_grove,
        name="Dr. Dana Spine",
        email="dana@spine.example",
        phone="",
        clinic="Spine & Sport",
        professions=["chiropractor"],
    )


def upload(http, *files):
    files = files or (("cards.vcf", CARDS), ("broken.vcf", UNREADABLE))
    return http.post(
        reverse("partner_import"),
        {
            "files": [
                SimpleUploadedFile(name, raw, content_type="text/vcard") for name, raw in files
            ]
        },
    )


def preview_url(http, *files):
    response = upload(http, *files)
    assert response.status_code == 302, response.content.decode()[:3000]
    return response["Location"]


def token_of(url):
    return url.rstrip("/").rsplit("/", 1)[-1]


def card_html(body, key):
    """The preview's item for one card."""
    match = re.search(
        rf'<li class="card" id="card-{key}".*?</li>\s*(?=<li class="card"|</ol>)', body, re.S
    )
    assert match, f"no card {key} in the preview"
    return match.group(0)


def is_ticked(html, key):
    box = re.search(rf'<input type="checkbox" name="pick" value="{key}"[^>]*>', html).group(0)
    return " checked" in box


def pending_files(tmp_path):
    return sorted((tmp_path / "imports").glob("*")) if (tmp_path / "imports").exists() else []


# --------------------------------------------------------------------------- reading the cards


def card(raw):
    (parsed,) = parse_vcards(raw).cards
    return parsed.data


def test_a_job_title_is_a_title_and_credentials_come_from_after_the_name():
    olga = card(OLGA)
    assert (olga.name, olga.title, olga.credentials) == ("Olga Brandt", "Office Manager", "")
    # Her clinic is a chiropractic one; she is not a chiropractor.
    assert olga.professions == ()
    assert olga.partner_fields()["vetting_notes"] == (
        "Job title on their business card: Office Manager"
    )
    assert "title" not in olga.partner_fields()
    rita = card(RITA)
    assert (rita.name, rita.credentials, rita.title) == ("Dr. Rita Moreno", "DC", "Clinic Director")
    assert rita.professions == ("chiropractor",)
    sam = card(SAM)
    assert (sam.name, sam.credentials) == ("Sam Patel", "DPT")
    assert sam.professions == ("physical-therapist",)
    # A title made of credentials is still a title: credentials are what follows the name.
    md = card(vcf("BEGIN:VCARD", "VERSION:3.0", "FN:Ann Lee", "TITLE:MD", "END:VCARD"))
    assert (md.credentials, md.title) == ("", "MD")
    suffixed = card(vcf("BEGIN:VCARD", "VERSION:3.0", "FN:Ann Lee, MD", "END:VCARD"))
    assert (suffixed.name, suffixed.credentials, suffixed.title) == ("Ann Lee", "MD", "")


def test_the_preferred_phone_wins_in_vcard_3_and_4_and_a_fax_never():
    rita = card(RITA)  # vCard 3: TYPE=pref on the second number
    assert rita.phone == "(262) 555-0191" and rita.phone_preferred
    assert rita.other_phones == ("(262) 555-0190",)  # the fax is no phone to call
    sam = card(SAM)  # vCard 4: PREF=1 beats PREF=2 written first
    assert sam.phone == "+1-414-555-0171" and sam.phone_preferred
    assert sam.other_phones == ("+1-414-555-0170",)
    bare = card(  # vCard 2.1: a bare PREF parameter
        vcf("BEGIN:VCARD", "VERSION:2.1", "FN:Bo Bare", "TEL;HOME:111-555-0101",
            "TEL;CELL;PREF:111-555-0102", "END:VCARD")
    )  # fmt: skip
    assert bare.phone == "111-555-0102"
    plain = card(OLGA)  # no preference: the first number
    assert (plain.phone, plain.phone_preferred) == ("414-555-0150", False)
    fax = card(vcf("BEGIN:VCARD", "VERSION:3.0", "FN:Fay Fax", "TEL;TYPE=FAX,pref:1-555-0100",
                   "TEL;TYPE=WORK:1-555-0101", "END:VCARD"))  # fmt: skip
    assert fax.phone == "1-555-0101" and not fax.phone_preferred


def test_a_card_without_a_name_is_read_without_one_never_with_its_address():
    nameless = card(NAMELESS)
    assert nameless.name == "" and nameless.email == "john.doe@company.com"
    # Some programs write the address as the name of a nameless contact: no name either.
    written = card(vcf("BEGIN:VCARD", "VERSION:3.0", "FN:jane.doe@company.com",
                       "EMAIL:jane.doe@company.com", "END:VCARD"))  # fmt: skip
    assert written.name == ""


# --------------------------------------------------------------------------- the preview page


@pytest.mark.django_db
def test_the_upload_leads_to_a_preview_of_every_card_and_saves_nothing(alice_http, dana, tmp_path):
    url = preview_url(alice_http)
    assert url.startswith("/partners/import/")
    response = alice_http.get(url)
    assert response.status_code == 200
    body = response.content.decode()

    rita = card_html(body, KEYS["rita"])
    assert "Dr. Rita Moreno" in rita and "Spine Works Chiropractic" in rita
    assert "Clinic Director" in rita and "DC" in rita
    assert "Chiropractor" in rita and "(guessed)" in rita
    assert "(262) 555-0191" in rita and "preferred" in rita and "1 other number not kept" in rita
    assert "new prospect" in rita and is_ticked(rita, KEYS["rita"])

    sam = card_html(body, KEYS["sam"])
    assert "Sam Patel" in sam and "Physical therapist" in sam and "+1-414-555-0171" in sam
    assert is_ticked(sam, KEYS["sam"])

    olga = card_html(body, KEYS["olga"])
    assert re.search(r"<dt>Title</dt><dd>Office Manager</dd>", olga)
    assert "<dt>Credentials</dt>" not in olga
    assert "not clear from the card" in olga  # no profession guessed from her clinic's name
    assert is_ticked(olga, KEYS["olga"])

    nameless = card_html(body, KEYS["nameless"])
    assert "No name on this card" in nameless and "john.doe@company.com" in nameless
    assert f'name="name-{KEYS["nameless"]}"' in nameless  # a name can be typed
    assert not is_ticked(nameless, KEYS["nameless"])

    duplicate = card_html(body, KEYS["dana"])
    assert "Possibly in your directory already" in duplicate
    assert reverse("partner_detail", args=[dana.pk]) in duplicate and "same e-mail" in duplicate
    assert "merged into Dr. Dana Spine" in duplicate
    assert not is_ticked(duplicate, KEYS["dana"])

    broken = card_html(body, "2-1")
    assert "cannot be read" in broken and "END:VCARD" in broken
    assert 'name="pick"' not in broken

    assert list(Partner.objects.values_list("name", flat=True)) == ["Dr. Dana Spine"]
    # The upload waits encrypted (the cards as read, no plain text on disk).
    waiting = pending_files(tmp_path)
    assert len(waiting) == 2
    assert all(
        b"Moreno" not in p.read_bytes() and b"john.doe" not in p.read_bytes() for p in waiting
    )


@pytest.mark.django_db
def test_import_selected_imports_the_ticked_cards_only_and_reports_every_card(
    alice_http, alice, elm_grove, dana, tmp_path
):
    url = preview_url(alice_http)
    token = token_of(url)
    picks = [KEYS["rita"], KEYS["olga"], KEYS["nameless"]]  # Sam left out, Dana left unticked
    response = alice_http.post(
        reverse("partner_import_confirm", args=[token]),
        {"pick": picks, f"name-{KEYS['nameless']}": "  John   Doe  "},
    )
    assert response.status_code == 200
    names = set(Partner.objects.filter(practice=elm_grove).values_list("name", flat=True))
    assert names == {"Dr. Dana Spine", "Dr. Rita Moreno", "Olga Brandt", "John Doe"}

    rita = Partner.objects.get(name="Dr. Rita Moreno")
    assert (rita.credentials, rita.phone, rita.clinic) == (
        "DC",
        "(262) 555-0191",
        "Spine Works Chiropractic",
    )
    assert [p.slug for p in rita.professions.all()] == ["chiropractor"]
    assert (rita.stage, rita.how_met_detail) == (Stage.PROSPECT, "business card")
    assert rita.vetting_notes == "Job title on their business card: Clinic Director"
    olga = Partner.objects.get(name="Olga Brandt")
    assert olga.credentials == "" and not olga.professions.exists()
    assert "Office Manager" in olga.vetting_notes
    john = Partner.objects.get(name="John Doe")
    assert john.email == "john.doe@company.com"
    dana.refresh_from_db()
    assert dana.phone == ""  # not ticked: not merged

    body = response.content.decode()
    report = re.search(r'<ol aria-labelledby="report-heading".*?</ol>', body, re.S).group(0)
    items = re.findall(r'<li class="card".*?</li>', report, re.S)
    assert len(items) == 6  # every card of both files
    by_card = {}
    for item in items:
        where = re.search(r"(cards\.vcf|broken\.vcf), (card \d+|the file)", item).group(0)
        by_card[where] = " ".join(re.sub(r"<[^>]+>", " ", item).split())
    assert by_card["cards.vcf, card 1"].startswith("imported Dr. Rita Moreno")
    assert by_card["cards.vcf, card 2"].startswith("skipped Sam Patel")
    assert "Not selected." in by_card["cards.vcf, card 2"]
    assert by_card["cards.vcf, card 3"].startswith("imported Olga Brandt")
    assert by_card["cards.vcf, card 4"].startswith("imported John Doe")
    dana_row = by_card["cards.vcf, card 5"]
    assert dana_row.startswith("skipped Dana Spine")
    assert (
        "Possibly already in your directory as Dr. Dana Spine (same e-mail); not selected."
        in dana_row
    )
    assert (
        by_card["broken.vcf, card 1"].startswith("not read")
        and "END:VCARD" in by_card["broken.vcf, card 1"]
    )
    assert re.search(r'<div class="figure">3</div><div class="label">imported as prospects', body)

    entry = AuditEntry.objects.get(action="referwell.partner.vcards_imported")
    assert entry.actor == alice.user
    assert (entry.data["imported"], entry.data["merged"], entry.data["skipped"]) == (3, 0, 2)
    # Imported once: the upload is deleted, and the same address imports nothing again.
    assert pending_files(tmp_path) == []
    again = alice_http.post(reverse("partner_import_confirm", args=[token]), {"pick": picks})
    assert again.status_code == 404
    assert alice_http.get(url).status_code == 404


@pytest.mark.django_db
def test_a_ticked_duplicate_is_merged_and_a_ticked_nameless_card_needs_a_name(
    alice_http, elm_grove, dana
):
    token = token_of(preview_url(alice_http))
    response = alice_http.post(
        reverse("partner_import_confirm", args=[token]),
        {"pick": [KEYS["dana"], KEYS["nameless"]], f"name-{KEYS['nameless']}": ""},
    )
    body = " ".join(re.sub(r"<[^>]+>", " ", response.content.decode()).split())
    assert "merged into Dr. Dana Spine" in body
    assert "No name on this card, and none was typed." in body
    assert "No name on this card; not selected." not in body
    dana.refresh_from_db()
    assert dana.phone == "(262) 555-0100"  # an empty field filled
    assert dana.clinic == "Spine & Sport"  # nothing overwritten
    assert Partner.objects.filter(practice=elm_grove).count() == 1
    assert not Partner.objects.filter(name__contains="@").exists()
    assert re.search(
        r'<div class="figure">1</div><div class="label">merged', response.content.decode()
    )


@pytest.mark.django_db
def test_nothing_ticked_imports_nothing_and_says_why_for_each_card(alice_http, elm_grove, dana):
    token = token_of(preview_url(alice_http))
    response = alice_http.post(reverse("partner_import_confirm", args=[token]), {})
    body = " ".join(re.sub(r"<[^>]+>", " ", response.content.decode()).split())
    assert body.count("Not selected.") == 3  # Rita, Sam, Olga
    assert "No name on this card; not selected." in body
    assert Partner.objects.filter(practice=elm_grove).count() == 1
    # A key that names no card of the upload is ignored.
    token = token_of(preview_url(alice_http))
    response = alice_http.post(
        reverse("partner_import_confirm", args=[token]), {"pick": ["9-9", "x"]}
    )
    assert response.status_code == 200 and Partner.objects.filter(practice=elm_grove).count() == 1


@pytest.mark.django_db
def test_cancel_deletes_the_waiting_upload(alice_http, tmp_path):
    token = token_of(preview_url(alice_http))
    assert pending_files(tmp_path)
    response = alice_http.post(reverse("partner_import_cancel", args=[token]))
    assert response.status_code == 302 and response["Location"] == reverse("partner_import")
    assert pending_files(tmp_path) == []
    assert alice_http.get(reverse("partner_import_preview", args=[token])).status_code == 404


@pytest.mark.django_db
def test_the_caps_stay_and_a_refused_upload_keeps_nothing(alice_http, tmp_path):
    assert (views.MAX_VCARD_FILES, views.MAX_VCARD_CARDS, views.MAX_VCARD_LINES) == (
        10,
        1000,
        30_000,
    )
    eleven = [(f"c{i}.vcf", OLGA) for i in range(11)]
    response = upload(alice_http, *eleven)
    assert response.status_code == 200
    assert "You chose 11 files; at most 10" in response.content.decode()
    many = b"".join(
        vcf("BEGIN:VCARD", "VERSION:3.0", f"FN:Card Person{i}", "END:VCARD") for i in range(1001)
    )
    response = upload(alice_http, ("many.vcf", many))
    assert "These files hold 1,001 cards; at most 1,000" in response.content.decode()
    assert pending_files(tmp_path) == []


# --------------------------------------------------------------------------- who may see it


@pytest.mark.django_db
def test_another_practice_or_member_gets_404_and_the_front_desk_imports_as_before(
    alice_http, charlie_http, bob_http, elm_grove, dana, tmp_path
):
    url = preview_url(alice_http)
    token = token_of(url)
    therapist = _logged_in(MemberFactory(practice=elm_grove, role=Role.THERAPIST))
    for http in (charlie_http, therapist):
        assert http.get(url).status_code == 404
        assert (
            http.post(
                reverse("partner_import_confirm", args=[token]), {"pick": ["1-1"]}
            ).status_code
            == 404
        )
        assert http.post(reverse("partner_import_cancel", args=[token])).status_code == 404
    assert list(Partner.objects.values_list("name", flat=True)) == ["Dr. Dana Spine"]
    assert len(pending_files(tmp_path)) == 2  # still alice's to import
    # A forged or mangled address is no import either.
    assert alice_http.get(reverse("partner_import_preview", args=[token + "x"])).status_code == 404

    # The front desk imports business cards, as it always could (the CSV import is not theirs).
    desk_url = preview_url(bob_http, ("olga.vcf", OLGA))
    assert bob_http.get(desk_url).status_code == 200
    done = bob_http.post(
        reverse("partner_import_confirm", args=[token_of(desk_url)]), {"pick": ["1-1"]}
    )
    assert done.status_code == 200
    assert Partner.objects.filter(practice=elm_grove, name="Olga Brandt").exists()


@pytest.mark.django_db
def test_a_csv_import_waiting_is_no_vcard_import(alice_http):
    csv = SimpleUploadedFile("p.csv", b"Name,City\nAnn Lee,Elm Grove\n", content_type="text/csv")
    response = alice_http.post(reverse("csv_import"), {"kind": "partners", "file": csv})
    assert response.status_code == 302
    token = token_of(response["Location"])
    assert alice_http.get(reverse("partner_import_preview", args=[token])).status_code == 404
    response = alice_http.post(reverse("partner_import_confirm", args=[token]), {"pick": ["1-1"]})
    assert response.status_code == 404
    assert not Partner.objects.exists()


# --------------------------------------------------------------------------- the command line


@pytest.mark.django_db
def test_import_vcard_dry_run_prints_the_preview_and_imports_nothing(elm_grove, dana, tmp_path):
    path = tmp_path / "cards.vcf"
    path.write_bytes(CARDS + UNREADABLE)
    out = io.StringIO()
    call_command("import_vcard", "--practice", "elm-grove", "--dry-run", str(path), stdout=out)
    text = out.getvalue()
    assert f"{path}, card 1: Dr. Rita Moreno, DC" in text
    assert "organisation: Spine Works Chiropractic · title: Clinic Director" in text
    assert "profession: Chiropractor (guessed)" in text
    assert "phone: (262) 555-0191 (preferred; 1 other not kept)" in text
    assert "title: Office Manager · profession: —" in text
    assert f"{path}, card 4: NO NAME ON THIS CARD" in text
    assert "e-mail: john.doe@company.com" in text
    assert "→ skipped: No name on this card." in text
    assert f"possibly already there: Dr. Dana Spine (partner #{dana.pk}, same e-mail)" in text
    assert f"→ would be merged: into Dr. Dana Spine (partner #{dana.pk})" in text
    assert f"{path}, card 6: cannot be read" in text
    assert text.rstrip().endswith(
        "Dry run, nothing imported: 3 would be imported, 1 merged, 1 skipped, 1 cannot be read."
    )
    assert list(Partner.objects.values_list("name", flat=True)) == ["Dr. Dana Spine"]

    out = io.StringIO()
    call_command(
        "import_vcard", "--practice", "elm-grove", "--dry-run", "--json", str(path), stdout=out
    )
    payload = json.loads(out.getvalue())
    assert payload["dry_run"] is True
    assert (payload["imported"], payload["merged"], payload["skipped"], payload["unreadable"]) == (
        3,
        1,
        1,
        1,
    )
    olga = payload["cards"][2]
    assert (olga["name"], olga["title"], olga["credentials"], olga["professions"]) == (
        "Olga Brandt", "Office Manager", "", []
    )  # fmt: skip
    assert payload["cards"][3]["nameless"] is True
    assert payload["cards"][4]["duplicates"] == [
        {"partner": dana.pk, "name": "Dr. Dana Spine", "reason": "same e-mail"}
    ]
    assert not AuditEntry.objects.filter(action="referwell.partner.vcards_imported").exists()

    # Without --dry-run: what the dry run said.
    out = io.StringIO()
    call_command("import_vcard", "--practice", "elm-grove", str(path), stdout=out)
    assert "3 imported, 1 merged, 2 not imported." in out.getvalue()
    assert f"{path}, card 4: not imported: No name on this card." in out.getvalue()
    assert Partner.objects.filter(practice=elm_grove).count() == 4


# --------------------------------------------------------------------------- real exports


VCARDS = Path(__file__).resolve().parents[2] / "shared" / "testdata" / "vcards"


@pytest.mark.django_db
def test_the_real_exports_of_the_conformance_layer_preview_card_by_card(alice_http, elm_grove):
    """Every shared vCard file through the preview: every card listed once, readable ones with
    their data; Android's two cards without a name flagged, never named by their address."""
    folder = shared("testdata", "vcards")
    paths = sorted(folder.glob("*.vcf"))
    assert paths
    for path in paths:
        raw = path.read_bytes()
        files = [(path.name, parse_vcards(raw))]
        previews = [p for p in vcards_preview(practice=elm_grove, files=files) if p.number]
        assert [p.number for p in previews] == list(range(1, raw.upper().count(b"BEGIN:VCARD") + 1))
        for p in previews:
            assert p.readable, (path.name, p.number, p.error)
            assert "@" not in p.data.name
            assert p.checked == (bool(p.data.name) and not p.duplicates)
    android = parse_vcards((folder / "John_Doe_ANDROID.vcf").read_bytes()).cards
    assert [c.data.name for c in android[:2]] == ["", ""]
    doe = parse_vcards((folder / "John_Doe_IPHONE.vcf").read_bytes()).cards[0].data
    assert (doe.title, doe.credentials, doe.phone, doe.phone_preferred) == (
        "Money Counter", "", "905-555-1234", True
    )  # fmt: skip

    # And through the page, ten files at a time (the cap), every card on it.
    for batch in (paths[:10], paths[10:]):
        url = preview_url(alice_http, *[(p.name, p.read_bytes()) for p in batch])
        body = alice_http.get(url).content.decode()
        cards = sum(p.read_bytes().upper().count(b"BEGIN:VCARD") for p in batch)
        assert body.count('<li class="card" id="card-') == cards
        if any(p.name == "John_Doe_ANDROID.vcf" for p in batch):
            assert body.count("No name on this card") >= 2
    assert not Partner.objects.filter(practice=elm_grove).exists()


# --------------------------------------------------------------------------- in a browser

SHOTS = Path("/tmp/shots")


def _no_horizontal_scroll(page, what):
    """Nothing of the page's own content reaches past the window's right edge. (The site's
    header is the base template's, checked by test_browser's dashboard test.)"""
    past_the_edge = page.evaluate(
        """() => {
            const width = document.documentElement.clientWidth;
            return Array.from(document.querySelectorAll("main, main *"))
              .filter((e) => e.getBoundingClientRect().right > width + 1)
              .map((e) => `${e.tagName.toLowerCase()}${e.id ? "#" + e.id : ""}`
                + ` ends at ${Math.round(e.getBoundingClientRect().right)}px`);
        }"""
    )
    width = page.evaluate("document.documentElement.clientWidth")
    assert past_the_edge == [], f"{what}, {width}px wide: {past_the_edge[:5]}"
    main = page.evaluate(
        "(() => { const m = document.querySelector('main'); return [m.scrollWidth, m.clientWidth]; })()"
    )
    assert main[0] <= main[1] + 1, f"{what}: its content scrolls sideways ({main})"


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("width", "height"), [(390, 844), (1280, 900)], ids=["phone", "desktop"])
def test_upload_preview_and_import_in_a_browser(
    page, live_server, alice, elm_grove, dana, width, height
):
    from playwright.sync_api import expect

    SHOTS.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": width, "height": height})
    log_in(page, live_server, "alice@example.com")

    page.goto(f"{live_server.url}{reverse('partner_import')}")
    expect(page.get_by_role("heading", level=1)).to_have_text("Import business cards")
    page.screenshot(path=SHOTS / f"vcard-1-upload-{width}.png", full_page=True)
    _no_horizontal_scroll(page, "the upload page")
    page.locator("#id_files").set_input_files(
        [
            {"name": "cards.vcf", "mimeType": "text/vcard", "buffer": CARDS},
            {"name": "broken.vcf", "mimeType": "text/vcard", "buffer": UNREADABLE},
        ]
    )
    page.get_by_role("button", name="Preview the cards").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Import business cards: preview")
    expect(page.get_by_role("checkbox", name="Dr. Rita Moreno")).to_be_checked()
    expect(page.get_by_role("checkbox", name="Olga Brandt")).to_be_checked()
    expect(page.get_by_role("checkbox", name="Dana Spine")).not_to_be_checked()
    nameless = page.get_by_role("checkbox", name="No name on this card")
    expect(nameless).not_to_be_checked()
    expect(page.locator("#card-1-3")).to_contain_text("Office Manager")
    expect(page.locator("#card-1-5")).to_contain_text("Possibly in your directory already")
    page.screenshot(path=SHOTS / f"vcard-2-preview-{width}.png", full_page=True)
    _no_horizontal_scroll(page, "the preview")

    page.get_by_label("Name to import it under").fill("John Doe")
    nameless.check()
    page.get_by_role("checkbox", name="Sam Patel").uncheck()
    page.get_by_role("button", name="Import selected").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Business cards: the result")
    report = page.get_by_role("list", name="Every card")
    expect(report.get_by_role("listitem")).to_have_count(6)
    expect(report).to_contain_text("Not selected.")
    page.screenshot(path=SHOTS / f"vcard-3-result-{width}.png", full_page=True)
    _no_horizontal_scroll(page, "the result")
    names = set(Partner.objects.filter(practice=elm_grove).values_list("name", flat=True))
    assert names == {"Dr. Dana Spine", "Dr. Rita Moreno", "Olga Brandt", "John Doe"}
