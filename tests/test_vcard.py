"""Business cards: vCard import (real exports from phones and mail programs), export, duplicate
detection and the merge of two partners."""

import datetime as dt
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import vobject
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from referwell.audit.models import AuditEntry, Disclosure
from referwell.clients.models import Consent, ConsentScope
from referwell.core.phones import phone_key
from referwell.directory import services
from referwell.directory.duplicates import find_duplicates, name_key
from referwell.directory.models import HowMet, Niche, Partner, Stage, Touchpoint
from referwell.directory.services import partner_merge, vcards_import
from referwell.directory.vcard import CardData, card_to_vcard, parse_vcards
from referwell.referrals.models import Referral
from tests.conftest import SHARED_MISSING, shared
from tests.factories import ClientFactory, PartnerFactory, ReferralFactory

VCARDS = Path(__file__).resolve().parents[2] / "shared" / "testdata" / "vcards"
SHARED_FILES = sorted(VCARDS.glob("*.vcf")) or [
    pytest.param(None, marks=pytest.mark.skip(reason=SHARED_MISSING))
]
REFERWELL = Path(sys.executable).with_name("referwell")

# What each shared file gives, imported alone into an empty practice: (imported, merged,
# rejected). multiple.vcf is one person three times (same e-mail): one partner, two merges.
# Cards 1 and 2 of the Android export name no one (an e-mail address only): skipped, never
# imported under their address.
EXPECTED = {
    "John_Doe_ANDROID.vcf": (4, 0, 2),
    "John_Doe_EVOLUTION.vcf": (1, 0, 0),
    "John_Doe_GMAIL.vcf": (1, 0, 0),
    "John_Doe_IPHONE.vcf": (1, 0, 0),
    "John_Doe_MAC_ADDRESS_BOOK.vcf": (1, 0, 0),
    "John_Doe_MS_OUTLOOK.vcf": (1, 0, 0),
    "fullcontact.vcf": (1, 0, 0),
    "gmail-list.vcf": (3, 0, 0),
    "gmail-single2.vcf": (1, 0, 0),
    "multiple.vcf": (1, 2, 0),
    "outlook-2007.vcf": (1, 0, 0),
    "rfc6350-example.vcf": (1, 0, 0),
    "v21_japanese_2.vcf": (1, 0, 0),
    "v40_sort_as.vcf": (1, 0, 0),
}


def cards_in(raw: bytes) -> int:
    return raw.upper().count(b"BEGIN:VCARD")


def import_files(practice, *paths, by=None):
    shared("testdata", "vcards")
    return vcards_import(practice=practice, files=[(p.name, p.read_bytes()) for p in paths], by=by)


def vcf(*lines: str) -> bytes:
    return ("\r\n".join(lines) + "\r\n").encode("utf-8")


def simple_card(name: str, email: str = "", extra: tuple[str, ...] = ()) -> bytes:
    lines = ["BEGIN:VCARD", "VERSION:3.0", f"FN:{name}"]
    if email:
        lines.append(f"EMAIL:{email}")
    return vcf(*lines, *extra, "END:VCARD")


# ------------------------------------------------------------------ the shared exports


def test_the_shared_sample_files_are_there():
    assert {p.name for p in shared("testdata", "vcards").glob("*.vcf")} == set(EXPECTED)


@pytest.mark.django_db
@pytest.mark.parametrize("path", SHARED_FILES, ids=lambda p: getattr(p, "name", "no-shared"))
def test_every_shared_file_is_imported_card_by_card(elm_grove, path):
    raw = path.read_bytes()
    result = import_files(elm_grove, path)
    total = cards_in(raw)
    accounted = [row["card"] for row in result["partners"]]
    accounted += [row["card"] for row in result["rejected"]]
    assert sorted(accounted) == list(range(1, total + 1))  # every card, once
    assert result["imported"] + result["merged"] + len(result["rejected"]) == total
    assert all(row["reason"] and row["file"] == path.name for row in result["rejected"])
    expected = EXPECTED[path.name]
    assert (result["imported"], result["merged"], len(result["rejected"])) == expected
    assert Partner.objects.filter(practice=elm_grove).count() == result["imported"]


@pytest.mark.django_db
@pytest.mark.parametrize("path", SHARED_FILES, ids=lambda p: getattr(p, "name", "no-shared"))
def test_importing_the_same_file_twice_merges_instead_of_doubling(elm_grove, path):
    first = import_files(elm_grove, path)
    count = Partner.objects.filter(practice=elm_grove).count()
    again = import_files(elm_grove, path)
    assert again["imported"] == 0
    assert again["merged"] == first["imported"] + first["merged"]
    assert Partner.objects.filter(practice=elm_grove).count() == count


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("filename", "email", "phone"),
    [
        ("John_Doe_EVOLUTION.vcf", "john.doe@ibm.com", "905-666-1234"),
        ("John_Doe_GMAIL.vcf", "john.doe@ibm.com", "905-555-1234"),
        ("John_Doe_IPHONE.vcf", "john.doe@ibm.com", "905-555-1234"),
        ("John_Doe_MAC_ADDRESS_BOOK.vcf", "john.doe@ibm.com", "905-777-1234"),
        ("John_Doe_MS_OUTLOOK.vcf", "john.doe@ibm.cm", "(905) 555-1234"),  # sic, in the export
    ],
)
def test_john_doe_exports_give_john_doe(elm_grove, filename, email, phone):
    import_files(elm_grove, VCARDS / filename)
    partner = Partner.objects.get(practice=elm_grove)
    assert partner.name == "John Doe"  # N: prefix Mr., middle names and Sr. left out
    assert partner.email == email
    assert partner.phone == phone
    assert partner.clinic == "IBM"
    assert partner.credentials == ""  # TITLE is a job title, not credentials: kept in the notes
    assert partner.vetting_notes == "Job title on their business card: Money Counter"
    assert partner.stage == Stage.PROSPECT
    assert partner.how_met == HowMet.OTHER
    assert partner.how_met_detail == "business card"
    assert partner.website == "http://www.ibm.com"
    assert not partner.professions.exists()  # nothing on the card names a profession


@pytest.mark.django_db
def test_addresses_keep_us_zip_codes_and_two_letter_states_only(elm_grove):
    import_files(elm_grove, VCARDS / "John_Doe_IPHONE.vcf", VCARDS / "outlook-2007.vcf")
    doe = Partner.objects.get(practice=elm_grove, name="John Doe")
    assert (doe.street, doe.city, doe.state, doe.zip_code) == (
        "Silicon Alley 5",
        "New York",
        "NY",
        "12345",
    )
    assert doe.latitude is not None  # geocoded from the ZIP code
    mike = Partner.objects.get(practice=elm_grove, name="Michael Angstadt")
    assert (mike.city, mike.state) == ("New York", "NY")
    assert mike.zip_code == ""  # 99999 is no US ZIP code: left out, the card still imported
    assert mike.email == "mike.angstadt@gmail.com"


@pytest.mark.django_db
def test_the_android_export_imports_its_named_cards_despite_a_broken_photo(elm_grove):
    result = import_files(elm_grove, VCARDS / "John_Doe_ANDROID.vcf")
    assert result["imported"] == 4
    # Cards 1 and 2 carry only an e-mail address: skipped, never named after it.
    assert result["rejected"] == [
        {"file": "John_Doe_ANDROID.vcf", "card": n, "reason": "No name on this card."}
        for n in (1, 2)
    ]
    assert not Partner.objects.filter(name__contains="@").exists()
    names = [row["name"] for row in result["partners"]]
    assert names[0] == "Ñ Ñ Ñ Ñ"  # UTF-8 in quoted-printable, soft line breaks
    bob = Partner.objects.get(practice=elm_grove, email="bob@company.com")  # the bad photo
    assert bob.website == "https://www.company.com"
    assert bob.clinic == "Ñ" * 12
    assert bob.phone == "123456"


@pytest.mark.django_db
def test_multi_card_files_create_several_partners(elm_grove):
    import_files(elm_grove, VCARDS / "gmail-list.vcf")
    assert sorted(Partner.objects.filter(practice=elm_grove).values_list("name", "email")) == [
        ("Arnold Smith", "asmithk@gmail.com"),
        ("Chris Beatle", "chrisy55d@yahoo.com"),
        ("Doug White", "dwhite@gmail.com"),
    ]


@pytest.mark.django_db
def test_three_versions_of_one_card_make_one_partner(elm_grove):
    result = import_files(elm_grove, VCARDS / "multiple.vcf")
    assert (result["imported"], result["merged"]) == (1, 2)
    erika = Partner.objects.get(practice=elm_grove)
    assert erika.name == "Dr. Erika Mustermann"
    assert erika.email == "erika@mustermann.de"
    assert (erika.street, erika.city) == ("Heidestraße 17", "Köln")  # raw UTF-8
    assert erika.state == "" and erika.zip_code == ""  # a German address
    assert erika.website == "http://de.wikipedia.org/"  # filled from card 3 by the merge
    assert erika.phone == "+49-221-9999123"  # card 1's, not overwritten


@pytest.mark.django_db
def test_non_utf8_and_cjk_cards(elm_grove):
    import_files(elm_grove, VCARDS / "v21_japanese_2.vcf", VCARDS / "v40_sort_as.vcf")
    shift_jis = Partner.objects.get(practice=elm_grove, name="安藤 ロイド1")  # CHARSET=SHIFT_JIS
    assert shift_jis.street.startswith("東京都渋谷区")  # Shift_JIS in quoted-printable
    utf8 = Partner.objects.get(practice=elm_grove, name="安藤 ロイド")
    assert utf8.clinic == "グーグル"


@pytest.mark.django_db
def test_vcard_4_tel_uri_and_a_canadian_address(elm_grove):
    import_files(elm_grove, VCARDS / "rfc6350-example.vcf")
    simon = Partner.objects.get(practice=elm_grove)
    assert simon.name == "Simon Perreault"
    assert simon.phone == "+1-418-656-9254 ext. 102"
    assert simon.street == "2875 Laurier, Suite D2-630"
    assert (simon.city, simon.state, simon.zip_code) == ("Quebec", "", "")


@pytest.mark.django_db
def test_all_shared_files_at_once_merge_the_five_john_does(elm_grove, alice):
    files = sorted(shared("testdata", "vcards").glob("*.vcf"))
    result = import_files(elm_grove, *files, by=alice.user)
    total = sum(cards_in(p.read_bytes()) for p in files)
    assert result["imported"] + result["merged"] + len(result["rejected"]) == total
    assert Partner.objects.filter(practice=elm_grove, name="John Doe").count() == 1
    # gmail-single2's first phone is fullcontact's too, under another name: flagged, not merged;
    # the Android export's two cards without a name are skipped.
    nameless, flagged = result["rejected"][:2], result["rejected"][2]
    assert [(row["file"], row["card"]) for row in nameless] == [
        ("John_Doe_ANDROID.vcf", 1),
        ("John_Doe_ANDROID.vcf", 2),
    ]
    assert flagged["file"] == "gmail-single2.vcf" and "same phone" in flagged["reason"]
    assert len(result["rejected"]) == 3
    entry = AuditEntry.objects.get(action="referwell.partner.vcards_imported")
    assert entry.actor == alice.user and entry.data["imported"] == result["imported"]


# ------------------------------------------------------------------- malformed input


@pytest.mark.django_db
def test_bad_cards_are_rejected_by_number_and_the_good_ones_imported(elm_grove):
    latin1 = "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:José Müller\r\nEND:VCARD\r\n".encode("latin-1")
    raw = (
        simple_card("Ann First", "ann@example.com")
        + vcf("BEGIN:VCARD", "VERSION:3.0", "this is not a vCard line at all", "END:VCARD")
        + latin1
        + simple_card("Bea Last", "bea@example.com")
        + vcf("BEGIN:VCARD", "VERSION:3.0", "FN:Cut Short", "EMAIL:cut@exa")
    )
    result = vcards_import(practice=elm_grove, files=[("mixed.vcf", raw)], by=None)
    assert (result["imported"], result["merged"]) == (2, 0)
    reasons = {row["card"]: row["reason"] for row in result["rejected"]}
    assert set(reasons) == {2, 3, 5}
    assert "No name" in reasons[2] and "Unreadable" in reasons[2]
    assert "Not UTF-8" in reasons[3]
    assert "cut short" in reasons[5] and "END:VCARD" in reasons[5]
    names = set(Partner.objects.filter(practice=elm_grove).values_list("name", flat=True))
    assert names == {"Ann First", "Bea Last"}


@pytest.mark.django_db
def test_files_without_cards_are_reported_as_card_0(elm_grove):
    result = vcards_import(
        practice=elm_grove,
        files=[
            ("empty.vcf", b""),
            ("garbage.vcf", b"\x89PNG\r\n\x1a\n\x00\x00 not a card, just garbage \xff\xfe"),
            ("ok.vcf", simple_card("Cara Fine", "cara@example.com")),
        ],
        by=None,
    )
    assert result["imported"] == 1
    assert result["rejected"] == [
        {"file": "empty.vcf", "card": 0, "reason": "The file is empty."},
        {
            "file": "garbage.vcf",
            "card": 0,
            "reason": "No vCard in this file (no BEGIN:VCARD line).",
        },
    ]


@pytest.mark.django_db
def test_text_between_cards_is_reported_and_the_cards_imported(elm_grove):
    raw = simple_card("Dee One", "dee@example.com") + b"garbage here\r\n" + simple_card("Eve Two")
    result = vcards_import(practice=elm_grove, files=[("g.vcf", raw)], by=None)
    assert result["imported"] == 2
    assert result["rejected"] == [
        {
            "file": "g.vcf",
            "card": 0,
            "reason": "Text outside BEGIN:VCARD … END:VCARD (line 6) was not read.",
        }
    ]


def test_a_malformed_line_is_skipped_without_hanging_the_reader():
    # vobject's line pattern backtracks exponentially on this (a colon lost in transit).
    bad = "N;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE^" + "=C3=91=20" * 16
    (card,) = parse_vcards(simple_card("Still Read", "still@example.com", extra=(bad,))).cards
    assert card.data.name == "Still Read"


@pytest.mark.django_db
def test_a_declared_charset_is_honoured(elm_grove):
    raw = (
        "BEGIN:VCARD\r\nVERSION:2.1\r\nN;CHARSET=ISO-8859-1:Müller;José\r\n"
        "TITLE:Chiropractor\r\nEND:VCARD\r\n"
    ).encode("latin-1")
    result = vcards_import(practice=elm_grove, files=[("x.vcf", raw)], by=None)
    assert result["imported"] == 1
    partner = Partner.objects.get(practice=elm_grove)
    assert partner.name == "José Müller"
    assert [p.slug for p in partner.professions.all()] == ["chiropractor"]


@pytest.mark.django_db
def test_a_card_failing_at_save_leaves_no_half_partner(elm_grove, monkeypatch):
    real_create = services.partner_create

    def create_then_fail(**kwargs):
        partner = real_create(**kwargs)
        if partner.name == "Half Done":
            raise ValidationError({"email": ["Boom after the row was written."]})
        return partner

    monkeypatch.setattr(services, "partner_create", create_then_fail)
    raw = simple_card("Half Done", "half@example.com") + simple_card("Whole One", "w@example.com")
    result = vcards_import(practice=elm_grove, files=[("h.vcf", raw)], by=None)
    assert result["imported"] == 1
    assert result["rejected"] == [
        {"file": "h.vcf", "card": 1, "reason": "Half Done: email: Boom after the row was written."}
    ]
    assert list(Partner.objects.filter(practice=elm_grove).values_list("name", flat=True)) == [
        "Whole One"
    ]
    assert AuditEntry.objects.filter(action="referwell.partner.created").count() == 1


# --------------------------------------------------------------- fields and professions


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (("TITLE:Chiropractor",), ("chiropractor",)),
        (("TITLE:PT, DPT",), ("physical-therapist",)),
        (("TITLE:Physical Therapist",), ("physical-therapist",)),
        (("TITLE:DPM", "ORG:Foot & Ankle Associates"), ("podiatrist",)),
        (("ORG:Lakeside Podiatry",), ("podiatrist",)),
        (("ROLE:Licensed Massage Therapist",), ("massage-therapist",)),
        (("NOTE:Does sports chiropractic and acupuncture",), ("chiropractor", "acupuncturist")),
        (("TITLE:Money Counter", "ORG:IBM"), ()),
        (("ORG:DC Metro Consulting", "NOTE:PT cruiser owner"), ()),  # abbreviations need TITLE
    ],
)
def test_professions_are_guessed_only_when_a_keyword_clearly_matches(extra, expected):
    (card,) = parse_vcards(simple_card("Pat Guess", extra=extra)).cards
    assert card.data.professions == expected


def test_credentials_after_the_name_go_to_credentials():
    (card,) = parse_vcards(simple_card("Dr. Jane Smith, DC")).cards
    assert (card.data.name, card.data.credentials) == ("Dr. Jane Smith", "DC")
    assert card.data.professions == ("chiropractor",)


def test_npi_is_read_from_the_note_when_valid():
    (card,) = parse_vcards(simple_card("Nia Pi", extra=("NOTE:NPI: 1234567893",))).cards
    assert card.data.npi == "1234567893"
    (card,) = parse_vcards(simple_card("Nia Pi", extra=("NOTE:NPI: 1234567890",))).cards
    assert card.data.npi == ""  # wrong check digit


@pytest.mark.django_db
def test_a_merge_on_import_fills_empty_fields_and_never_overwrites(elm_grove):
    existing = PartnerFactory(
        practice=elm_grove,
        name="Dr. Kim Adjust",
        email="kim@adjust.example",
        clinic="Old Clinic",
        phone="",
        stage=Stage.TRUSTED,
    )
    raw = simple_card(
        "Kim Adjust", "KIM@adjust.example", extra=("ORG:New Clinic", "TEL:414-555-0199")
    )
    result = vcards_import(practice=elm_grove, files=[("k.vcf", raw)], by=None)
    assert (result["imported"], result["merged"]) == (0, 1)
    existing.refresh_from_db()
    assert existing.clinic == "Old Clinic"
    assert existing.phone == "414-555-0199"
    assert existing.stage == Stage.TRUSTED
    assert existing.name == "Dr. Kim Adjust"


# ---------------------------------------------------------------------------- export


@pytest.mark.django_db
def test_download_a_partner_as_a_vcard_that_round_trips(alice_http, elm_grove):
    partner = PartnerFactory(
        practice=elm_grove,
        name="Dr. Dana Spine",
        credentials="DC",
        clinic="Spine & Sport",
        street="1 Main St",
        city="Elm Grove",
        state="WI",
        zip_code="53122",
        phone="(262) 555-0100",
        email="dana@spine.example",
        website="https://spine.example",
        npi="1234567893",
        professions=["chiropractor"],
    )
    response = alice_http.get(reverse("partner_vcard", args=[partner.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "text/vcard; charset=utf-8"
    assert 'attachment; filename="dr-dana-spine.vcf"' == response["Content-Disposition"]
    text = response.content.decode()
    card = vobject.readOne(text)
    assert card.fn.value == "Dr. Dana Spine, DC"
    assert card.n.value.family == "Spine" and card.n.value.given == "Dana"
    assert card.email.value == "dana@spine.example"
    assert card.tel.value == "(262) 555-0100"
    assert card.org.value == ["Spine & Sport"]
    assert card.adr.value.city == "Elm Grove" and card.adr.value.code == "53122"
    assert card.role.value == "Chiropractor"
    # Read back by the importer: the very same fields.
    (parsed,) = parse_vcards(response.content).cards
    assert parsed.data == CardData(
        name="Dr. Dana Spine",
        credentials="DC",
        clinic="Spine & Sport",
        street="1 Main St",
        city="Elm Grove",
        state="WI",
        zip_code="53122",
        phone="(262) 555-0100",
        email="dana@spine.example",
        website="https://spine.example",
        npi="1234567893",
        professions=("chiropractor",),
    )
    # And imported again into the same practice: merged, not doubled.
    result = vcards_import(practice=elm_grove, files=[("d.vcf", response.content)], by=None)
    assert (result["imported"], result["merged"]) == (0, 1)


def test_export_of_a_unicode_name_round_trips():
    data = CardData(name="安藤 ロイド", clinic="グーグル", city="Köln")
    card = vobject.readOne(card_to_vcard(data))
    assert card.fn.value == "安藤 ロイド"
    (parsed,) = parse_vcards(card_to_vcard(data).encode()).cards
    assert parsed.data == data


# ------------------------------------------------------------------- duplicates


def test_phone_numbers_compare_in_e164():
    assert phone_key("(414) 555-0100") == "+14145550100"
    assert phone_key("+1 414.555.0100") == "+14145550100"
    assert phone_key("tel:+1-414-555-0100;ext=12") == "+14145550100"
    assert phone_key("123456") == ""  # too short to say anything


def test_names_compare_without_titles_credentials_and_case():
    assert name_key("Dr. Jane Smith, DC") == name_key("jane smith")
    assert name_key("Smith, Jane") == name_key("Jane Smith")
    assert name_key("Jane A. Smith").same_person(name_key("Jane Smith"))
    assert not name_key("Jane A. Smith").same_person(name_key("Jane B. Smith"))
    assert not name_key("Jane Smith").same_person(name_key("John Smith"))


@pytest.mark.django_db
class TestFindDuplicates:
    @pytest.fixture
    def jane(self, elm_grove):
        return PartnerFactory(
            practice=elm_grove,
            name="Dr. Jane Smith, DC",
            city="Elm Grove",
            email="Jane@Smith.example",
            phone="(262) 555-0142",
            npi="1234567893",
        )

    def test_by_email_in_any_case(self, elm_grove, jane):
        found = find_duplicates(practice=elm_grove, name="Someone", email="jane@smith.EXAMPLE")
        assert found == [jane] and found[0].duplicate_reason == "same e-mail"

    def test_by_phone_written_another_way(self, elm_grove, jane):
        assert find_duplicates(practice=elm_grove, name="X", phone="+1 262.555.0142") == [jane]

    def test_by_npi(self, elm_grove, jane):
        found = find_duplicates(practice=elm_grove, name="X", npi="1234567893")
        assert found == [jane] and found[0].duplicate_reason == "same NPI"

    def test_by_name_in_the_same_city(self, elm_grove, jane):
        assert find_duplicates(practice=elm_grove, name="Jane Smith", city="elm grove") == [jane]
        assert find_duplicates(practice=elm_grove, name="Jane Smith", city="Brookfield") == []

    def test_not_the_partner_itself_nor_another_practice(self, elm_grove, other_practice, jane):
        assert find_duplicates(practice=elm_grove, email=jane.email, exclude_pk=jane.pk) == []
        assert find_duplicates(practice=other_practice, email=jane.email, npi=jane.npi) == []


@pytest.mark.django_db
def test_the_create_form_warns_and_create_anyway_works(alice_http, elm_grove):
    jane = PartnerFactory(practice=elm_grove, name="Dr. Jane Smith, DC", city="Elm Grove")
    form = {
        "name": "Jane Smith",
        "city": "Elm Grove",
        "stage": "prospect",
        "professions": ["chiropractor"],
    }
    response = alice_http.post(reverse("partner_create"), form)
    assert response.status_code == 200
    body = response.content.decode()
    assert "may already be in your network" in body
    assert reverse("partner_detail", args=[jane.pk]) in body
    assert "same name and city" in body
    assert 'name="create_anyway"' in body and "Create anyway" in body
    assert 'value="Jane Smith"' in body  # what was typed is kept
    assert Partner.objects.filter(practice=elm_grove).count() == 1
    response = alice_http.post(reverse("partner_create"), {**form, "create_anyway": "1"})
    assert response.status_code == 302
    assert Partner.objects.filter(practice=elm_grove).count() == 2


# ------------------------------------------------------------------------ merge


def _history_of(partner, client, user):
    """A touchpoint, referrals both ways, a referred client, a consent, a disclosure, a letter
    and an inbound request, all about `partner`."""
    from referwell.inbound.models import ReferralRequest
    from referwell.outreach.models import OutgoingMessage

    Touchpoint.objects.create(
        practice=partner.practice, partner=partner, kind="call", date=dt.date(2026, 1, 5), by=user
    )
    out = ReferralFactory(practice=partner.practice, client=client, partner=partner)
    ReferralFactory(practice=partner.practice, client=client, partner=partner, direction="in")
    referred = ClientFactory(practice=partner.practice, source_partner=partner)
    Consent.objects.create(
        practice=partner.practice, client=client, partner=partner, scope=ConsentScope.TALK
    )
    Disclosure.objects.create(
        practice=partner.practice,
        client=client,
        partner=partner,
        referral=out,
        recipient=partner.name,
        channel="email",
        what="Referral",
    )
    OutgoingMessage.objects.create(
        practice=partner.practice,
        kind="referral",
        subject="Referral",
        body="…",
        status="printed",
        partner=partner,
    )
    ReferralRequest.objects.create(
        practice=partner.practice,
        partner=partner,
        referrer_name=partner.name,
        client_first_name="Ray",
        client_last_name="Ferred",
        reason="Neck pain.",
        client_agreed_to_be_contacted=True,
    )
    return referred


@pytest.mark.django_db
def test_merge_keeps_every_touchpoint_and_referral(alice_http, alice, elm_grove):
    client = ClientFactory(practice=elm_grove)
    keep = PartnerFactory(practice=elm_grove, name="Dr. Dana Spine", city="Elm Grove")
    duplicate = PartnerFactory(
        practice=elm_grove,
        name="Dana Spine, DC",
        city="Elm Grove",
        email="dana@spine.example",
        professions=["physical-therapist"],
        vetting_notes="Great with runners.",
    )
    niche = Niche.objects.create(practice=elm_grove, name="Runners")
    duplicate.niches.add(niche)
    _history_of(keep, client, alice.user)
    referred = _history_of(duplicate, client, alice.user)

    confirm = alice_http.get(reverse("partner_merge", args=[keep.pk]), {"duplicate": duplicate.pk})
    assert confirm.status_code == 200
    assert "Merge Dana Spine, DC into Dr. Dana Spine?" in confirm.content.decode()
    response = alice_http.post(
        reverse("partner_merge", args=[keep.pk]), {"duplicate": duplicate.pk}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("partner_detail", args=[keep.pk])

    assert not Partner.objects.filter(pk=duplicate.pk).exists()
    keep.refresh_from_db()
    assert Touchpoint.objects.filter(partner=keep).count() == 2
    assert Referral.objects.filter(partner=keep).count() == 4  # both ways, from both
    assert set(Referral.objects.filter(practice=elm_grove).values_list("partner", flat=True)) == {
        keep.pk
    }
    referred.refresh_from_db()
    assert referred.source_partner == keep
    assert Consent.objects.filter(partner=keep).count() == 2
    assert Disclosure.objects.filter(partner=keep).count() == 2
    assert keep.referral_requests.count() == 2
    assert keep.email == "dana@spine.example"  # filled from the duplicate
    assert keep.vetting_notes == "Great with runners."
    assert list(keep.niches.all()) == [niche]
    assert {p.slug for p in keep.professions.all()} == {"chiropractor", "physical-therapist"}
    entry = AuditEntry.objects.get(action="referwell.partner.merged")
    assert entry.object_id == str(keep.pk) and entry.actor == alice.user
    assert entry.data["duplicate"] == duplicate.pk
    # One credit: the partner list counts both referred clients on the kept partner.
    listed = {p.pk: p for p in services_partner_list(elm_grove)}
    assert listed[keep.pk].referrals_in == 2


def services_partner_list(practice):
    from referwell.directory.selectors import partner_list

    return partner_list(practice=practice)


@pytest.mark.django_db
def test_the_merge_page_suggests_likely_duplicates(alice_http, elm_grove):
    keep = PartnerFactory(practice=elm_grove, name="Dr. Dana Spine", email="dana@spine.example")
    other = PartnerFactory(practice=elm_grove, name="D. Spine", email="DANA@spine.example")
    body = alice_http.get(reverse("partner_merge", args=[keep.pk])).content.decode()
    assert f"?duplicate={other.pk}" in body and "same e-mail" in body


@pytest.mark.django_db
def test_partners_of_two_practices_are_never_merged(elm_grove, other_practice):
    mine = PartnerFactory(practice=elm_grove)
    theirs = PartnerFactory(practice=other_practice)
    with pytest.raises(ValidationError):
        partner_merge(keep=mine, duplicate=theirs, by=None)
    assert Partner.objects.filter(pk__in=[mine.pk, theirs.pk]).count() == 2


# ---------------------------------------------------------------------- the pages


def upload_then_import(http, files, picks=None):
    """Upload on the import page, read the preview, import the cards ticked there (or `picks`):
    the preview's and the result's responses."""
    upload = http.post(reverse("partner_import"), {"files": files})
    assert upload.status_code == 302, upload.content.decode()[:2000]
    preview = http.get(upload["Location"])
    assert preview.status_code == 200
    body = preview.content.decode()
    if picks is None:
        picks = re.findall(r'name="pick" value="([^"]+)"[^>]* checked', body)
    action = re.search(r'action="([^"]+/import/)"', body).group(1)
    return preview, http.post(action, {"pick": picks})


@pytest.mark.django_db
def test_import_page_shows_each_result(alice_http, alice, elm_grove, settings, tmp_path):
    settings.VAR_DIR = tmp_path
    page = alice_http.get(reverse("partner_list")).content.decode()
    assert reverse("partner_import") in page and "Import business cards" in page
    bad = vcf("BEGIN:VCARD", "VERSION:3.0", "FN:Cut Short")
    listed = shared("testdata", "vcards", "gmail-list.vcf").read_bytes()
    preview, response = upload_then_import(
        alice_http,
        [SimpleUploadedFile("list.vcf", listed), SimpleUploadedFile("bad.VCARD", bad)],
    )
    assert "Arnold Smith" in preview.content.decode()
    assert response.status_code == 200
    body = response.content.decode()
    assert "imported as prospects" in body
    assert "Arnold Smith" in body and "Doug White" in body
    assert "bad.VCARD" in body and "cut short" in body
    assert Partner.objects.filter(practice=elm_grove).count() == 3
    assert Partner.objects.filter(practice=elm_grove, name="Arnold Smith").get().stage == (
        Stage.PROSPECT
    )
    # The same cards again: possible duplicates, unticked; ticked, they are merged.
    preview, again = upload_then_import(
        alice_http, [SimpleUploadedFile("list.vcf", listed)], picks=["1-1", "1-2", "1-3"]
    )
    assert preview.content.decode().count("Possibly in your directory already") == 3
    assert b"merged into a partner already there" in again.content
    assert Partner.objects.filter(practice=elm_grove).count() == 3


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("upload", "error"),
    [
        (SimpleUploadedFile("notes.txt", b"BEGIN:VCARD"), "is not a vCard file"),
        (SimpleUploadedFile("huge.vcf", b"x" * (2 * 1024 * 1024 + 1)), "2 MB at most"),
        (None, "This field is required"),
    ],
)
def test_import_page_refuses_other_files_with_a_clear_error(alice_http, elm_grove, upload, error):
    response = alice_http.post(reverse("partner_import"), {"files": [upload] if upload else []})
    assert response.status_code == 200
    assert error in response.content.decode()
    assert not Partner.objects.filter(practice=elm_grove).exists()


@pytest.mark.django_db
def test_detail_page_links_to_vcard_and_merge(alice_http, partner):
    body = alice_http.get(reverse("partner_detail", args=[partner.pk])).content.decode()
    assert reverse("partner_vcard", args=[partner.pk]) in body and "Download vCard" in body
    assert reverse("partner_merge", args=[partner.pk]) in body and "Merge with…" in body


@pytest.mark.django_db
def test_charlie_gets_404_on_alices_vcard_and_merge(charlie_http, partner):
    for name in ("partner_vcard", "partner_merge"):
        url = reverse(name, args=[partner.pk])
        assert charlie_http.get(url).status_code == 404
    url = reverse("partner_merge", args=[partner.pk])
    assert charlie_http.post(url, {"duplicate": partner.pk}).status_code == 404
    assert Partner.objects.filter(pk=partner.pk).exists()


@pytest.mark.django_db
def test_charlie_cannot_merge_alices_partner_into_his(charlie_http, charlie, partner):
    his = PartnerFactory(practice=charlie.practice, name="Charlie's PT")
    response = charlie_http.post(reverse("partner_merge", args=[his.pk]), {"duplicate": partner.pk})
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert Partner.objects.filter(pk=partner.pk).exists()
    assert "Dana Spine" not in response.content.decode()


@pytest.mark.django_db
def test_charlie_imports_into_his_own_practice_only(
    charlie_http, charlie, elm_grove, partner, settings, tmp_path
):
    settings.VAR_DIR = tmp_path
    listed = shared("testdata", "vcards", "gmail-list.vcf").read_bytes()
    _preview, response = upload_then_import(charlie_http, [SimpleUploadedFile("list.vcf", listed)])
    assert response.status_code == 200
    assert Partner.objects.filter(practice=charlie.practice).count() == 3
    assert list(Partner.objects.filter(practice=elm_grove)) == [partner]
    # A card matching alice's partner does not reach it from charlie's practice.
    card = simple_card("Dr. Dana Spine", extra=("TEL:414-555-0100",))
    preview, _response = upload_then_import(charlie_http, [SimpleUploadedFile("d.vcf", card)])
    assert "Possibly in your directory" not in preview.content.decode()
    assert Partner.objects.filter(practice=charlie.practice, name="Dr. Dana Spine").count() == 1
    partner.refresh_from_db()
    assert partner.phone == ""


# ---------------------------------------------------------------------------- CLI


@pytest.fixture(scope="module")
def cli_env(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("vcard-cli")
    environ = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp / 'cli.sqlite3'}",
        "REFERWELL_VAR_DIR": str(tmp),
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }
    run(environ, "migrate", "--noinput")
    run(
        environ,
        "create-practice",
        "--slug",
        "cards",
        "--name",
        "Cards Massage",
        "--owner-email",
        "owner@cards.example",
        "--password",
        "a-long-password",
    )
    return environ


def run(environ, *args, check=True):
    result = subprocess.run(
        [str(REFERWELL), *args], env=environ, capture_output=True, text=True, timeout=120
    )
    if check:
        assert result.returncode == 0, result.stderr
    return result


def test_cli_json_prints_exactly_the_documented_object(cli_env, tmp_path):
    bad = tmp_path / "bad.vcf"
    bad.write_bytes(simple_card("Fine Card", "fine@example.com") + b"BEGIN:VCARD\r\nFN:Cut")
    listed = str(shared("testdata", "vcards", "gmail-list.vcf"))
    args = ["import-vcard", "--practice", "cards", listed, str(bad), "--json"]
    payload = json.loads(run(cli_env, *args).stdout)
    assert list(payload) == ["imported", "merged", "rejected"]
    assert (payload["imported"], payload["merged"]) == (4, 0)
    (rejected,) = payload["rejected"]
    assert list(rejected) == ["file", "card", "reason"]
    assert (
        rejected["file"] == str(bad) and rejected["card"] == 2 and "END:VCARD" in rejected["reason"]
    )
    again = json.loads(run(cli_env, *args).stdout)
    assert (again["imported"], again["merged"], len(again["rejected"])) == (0, 4, 1)
    human = run(cli_env, "import-vcard", "--practice", "cards", listed).stdout
    assert "merged into Arnold Smith" in human and "0 imported, 3 merged" in human


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (["import-vcard", "--practice", "cards", "/nowhere/cards.vcf"], "No such file"),
        (["import-vcard", "--practice", "nowhere", "x.vcf"], "No practice"),
        (["import-vcard", "--practice", "cards"], "required"),
    ],
)
def test_cli_bad_input_exits_non_zero_with_one_line(cli_env, args, reason):
    result = run(cli_env, *args, check=False)
    assert result.returncode != 0
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert reason in lines[0]
