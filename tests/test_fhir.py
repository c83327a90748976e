"""FHIR R4: the read/search API at /fhir/R4/, the export and the import, checked against the
official HL7 example resources (read from shared/testdata/fhir, never copied) and with a real
FHIR client library (fhirpy) against the live server."""

import io
import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.test import Client as HttpClient
from fhir.resources.R4B import get_fhir_model_class

from referwell.accounts.models import ApiToken
from referwell.clients.models import Client
from referwell.core.validators import validate_npi
from referwell.directory.models import Partner
from referwell.interop.fhir import mapping
from referwell.interop.fhir.exporter import fhir_export
from referwell.interop.fhir.importer import FhirImportError, fhir_import, parse_fhir_json
from referwell.referrals.models import Direction, Referral
from referwell.referrals.states import FHIR_TASK_STATUS, Status
from tests.conftest import shared
from tests.factories import ClientFactory, PartnerFactory, PracticeFactory, ReferralFactory

FHIR_JSON = "application/fhir+json"
RESOURCE_TYPES = [
    "Practitioner",
    "PractitionerRole",
    "Organization",
    "Location",
    "ServiceRequest",
    "Task",
]


def example(name):
    return json.loads(shared("testdata", "fhir", name).read_text(encoding="utf-8"))


def bundle_of(*resources):
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": r} for r in resources],
    }


def valid_npi(first_nine):
    for digit in "0123456789":
        try:
            validate_npi(first_nine + digit)
        except Exception:  # noqa: BLE001
            continue
        return first_nine + digit
    raise AssertionError(first_nine)


def validate(resource):
    """Every resource we produce is valid FHIR (R4B models, which read R4 4.0.1)."""
    get_fhir_model_class(resource["resourceType"]).model_validate(resource)
    for entry in resource.get("entry", []):
        validate(entry["resource"])
    return resource


@pytest.fixture
def network(elm_grove, partner, referral, client_alice_jones):
    """Alice's network: five partners (NPIs on three), referrals out and in."""
    partner.npi = valid_npi("123456789")
    partner.clinic = "Spine & Sport"
    partner.street = "820 Elm Grove Rd"
    partner.city = "Elm Grove"
    partner.state = "WI"
    partner.phone = "(262) 555-0101"
    partner.email = "dana@spine.example"
    partner.specialties = "Whiplash, sports injuries"
    partner.save()
    pt = PartnerFactory(
        practice=elm_grove,
        name="Pat Stretch",
        credentials="PT, DPT",
        professions=["physical-therapist"],
        npi=valid_npi("198765432"),
        specialties="Running, gait analysis",
    )
    acu = PartnerFactory(
        practice=elm_grove,
        name="Ann Needle",
        professions=["acupuncturist"],
        npi=valid_npi("111122223"),
        zip_code="",
        latitude=None,
        longitude=None,
    )
    PartnerFactory(practice=elm_grove, name="Ned Nutrition", professions=["nutritionist"])
    PartnerFactory(practice=elm_grove, name="Olga Osteo", professions=["osteopath"])
    other_client = ClientFactory(practice=elm_grove, first_name="Bruno", last_name="Keller")
    ReferralFactory(
        practice=elm_grove,
        client=other_client,
        partner=pt,
        status=Status.SENT,
        profession_id="physical-therapist",
    )
    ReferralFactory(
        practice=elm_grove,
        client=client_alice_jones,
        partner=acu,
        status=Status.CLOSED,
        profession_id="acupuncturist",
    )
    ReferralFactory(
        practice=elm_grove,
        client=other_client,
        partner=pt,
        direction=Direction.IN,
        status=Status.SEEN,
        valid_visits=6,
        valid_until="2027-03-01",
    )
    ReferralFactory(
        practice=elm_grove,
        client=client_alice_jones,
        partner=None,
        direction=Direction.IN,
        status=Status.RECEIVED,
        referrer_name="Gym down the road",
        profession_id=None,
    )
    return {"partner": partner, "pt": pt, "acu": acu, "referral": referral}


# ------------------------------------------------------------------ the HL7 examples


def test_every_official_example_parses_with_fhir_resources():
    files = sorted(shared("testdata", "fhir").glob("*.json"))
    assert len(files) == 27
    for path in files:
        data = json.loads(path.read_text(encoding="utf-8"))
        model = get_fhir_model_class(data["resourceType"]).model_validate(data)
        assert model.get_resource_type() == data["resourceType"]


def test_directory_examples_become_one_partner_put_together_by_references(elm_grove):
    bundle = bundle_of(
        example("practitioner-example.json"),
        example("practitionerrole-example.json"),
        example("organization-example-f001-burgers.json"),
        example("location-example.json"),
    )
    report = fhir_import(practice=elm_grove, data=bundle)
    assert (report.created, report.updated, report.skipped) == (1, 0, [])
    adam = Partner.objects.get(practice=elm_grove)
    assert adam.name == "Dr Adam Careful"
    assert adam.clinic == "Burgers University Medical Center"
    assert adam.specialties == "General medical practice"
    assert (adam.phone, adam.email) == ("(03) 5555 6473", "adam.southern@example.org")
    # A Dutch address: the street and city are kept, not a ZIP code that is not a US one.
    assert (adam.street, adam.city, adam.zip_code) == (
        "Galapagosweg 91, Building A",
        "Den Burg",
        "",
    )
    assert (adam.latitude, adam.longitude) == (42.25475478, -83.6945691)
    assert adam.fhir_identifier == "Practitioner/example"
    # The same file again: nothing new, said so.
    again = fhir_import(practice=elm_grove, data=bundle)
    assert (again.created, again.updated) == (0, 0)
    assert [s["resource"] for s in again.skipped] == ["Practitioner/example"]
    assert "already in the network" in again.skipped[0]["reason"]
    assert Partner.objects.filter(practice=elm_grove).count() == 1


def test_official_directory_files_import_idempotently_with_reasons(elm_grove):
    practitioners = example("practitioner-examples-general.json")
    report = fhir_import(practice=elm_grove, data=practitioners)
    assert (report.created, report.updated, report.skipped) == (59, 0, [])
    crusher = Partner.objects.get(practice=elm_grove, fhir_identifier="Practitioner/1")
    # Its NPI fails the check digit: left out. Social security numbers are never kept.
    assert crusher.npi == ""
    assert not Partner.objects.filter(fhir_identifier__contains="us-ssn").exists()
    # Practitioner/1 and /13 share a social security number: still two partners.
    assert (
        Partner.objects.filter(fhir_identifier__in=["Practitioner/1", "Practitioner/13"]).count()
        == 2
    )

    single = fhir_import(practice=elm_grove, data=example("practitioner-example.json"))
    assert single.created == 1
    roles = fhir_import(practice=elm_grove, data=example("practitionerrole-examples-general.json"))
    # 15 roles of 13 practitioners: three roles of Practitioner/example make one partner,
    # who was already there; the 12 others are new.
    assert (roles.created, roles.updated, roles.skipped) == (12, 1, [])
    adam = Partner.objects.get(practice=elm_grove, fhir_identifier="Practitioner/example")
    assert adam.name == "Dr Adam Careful"  # a role's display never renames a partner
    assert adam.email == "dr.adam.careful@example.org"
    juri = Partner.objects.get(practice=elm_grove, fhir_identifier="Practitioner/f203")
    assert [p.slug for p in juri.professions.all()] == ["physical-therapist"]
    assert juri.clinic == "AUMC"

    org = fhir_import(
        practice=elm_grove, data=example("organization-example-good-health-care.json")
    )
    assert org.created == 1
    clinic = Partner.objects.get(practice=elm_grove, fhir_identifier__startswith="Organization/")
    assert (clinic.name, clinic.clinic) == ("Good Health Clinic", "Good Health Clinic")

    place = fhir_import(practice=elm_grove, data=example("location-example-hl7hq.json"))
    assert place.created == 0
    assert place.skipped == [
        {
            "resource": "Location/hl7",
            "reason": "a Location alone is a place, not a professional: it is read as the "
            "address of a PractitionerRole or an Organization",
        }
    ]
    consent = fhir_import(practice=elm_grove, data=example("consent-example.json"))
    assert consent.skipped[0]["resource"] == "Consent/consent-example-basic"
    assert "not imported" in consent.skipped[0]["reason"]

    count = Partner.objects.filter(practice=elm_grove).count()
    for name in (
        "practitioner-examples-general.json",
        "practitionerrole-examples-general.json",
        "practitioner-example.json",
        "organization-example-good-health-care.json",
    ):
        again = fhir_import(practice=elm_grove, data=example(name))
        assert again.created == 0, name
    assert Partner.objects.filter(practice=elm_grove).count() == count


def test_official_service_requests_become_referrals_in(elm_grove):
    requests = [
        example(name)
        for name in (
            "servicerequest-example.json",
            "servicerequest-example-pt.json",
            "servicerequest-example-ambulation.json",
            "servicerequest-example-subrequest.json",
        )
    ]
    bundle = bundle_of(*requests, example("patient-example.json"))
    report = fhir_import(practice=elm_grove, data=bundle)
    assert report.created == 3
    assert report.skipped == [
        {
            "resource": "ServiceRequest/subrequest",
            "reason": "its subject (Patient/dicom) gives no client name: no display with a "
            "first and a last name, and no such Patient in the file",
        }
    ]
    referrals = {r.fhir_identifier: r for r in Referral.objects.filter(practice=elm_grove)}
    assert set(referrals) == {
        "ServiceRequest/example",
        "ServiceRequest/physical-therapy",
        "ServiceRequest/ambulation",
    }
    pt = referrals["ServiceRequest/physical-therapy"]
    assert pt.direction == Direction.IN
    assert pt.status == Status.CLOSED  # completed
    assert pt.referrer_name == "Ollie Ortho, MD"
    assert pt.reasons == "assessment of mobility limitations due to osteoarthritis"
    assert referrals["ServiceRequest/ambulation"].reasons == "Blood Pressure"
    assert referrals["ServiceRequest/example"].reasons == "Computed tomography of head"
    # One client, minimal: Peter James Chalmers is "Peter C.".
    clients = Client.objects.filter(practice=elm_grove)
    assert [(c.first_name, c.last_name) for c in clients] == [("Peter", "C.")]
    assert clients[0].date_of_birth is None and clients[0].phone == ""

    again = fhir_import(practice=elm_grove, data=bundle)
    assert (again.created, again.updated) == (0, 0)
    assert sorted(s["resource"] for s in again.skipped) == [
        "ServiceRequest/ambulation",
        "ServiceRequest/example",
        "ServiceRequest/physical-therapy",
        "ServiceRequest/subrequest",
    ]
    assert Referral.objects.filter(practice=elm_grove).count() == 3


def test_a_requester_known_from_an_earlier_import_becomes_the_partner(elm_grove):
    fhir_import(practice=elm_grove, data=example("practitioner-example.json"))
    request = example("servicerequest-example-subrequest.json")
    request["subject"]["display"] = "Jane Doe"
    report = fhir_import(practice=elm_grove, data=request)
    assert report.created == 1
    referral = Referral.objects.get(practice=elm_grove)
    assert referral.partner.name == "Dr Adam Careful"
    assert referral.status == Status.RECEIVED  # active
    assert (referral.client.first_name, referral.client.last_name) == ("Jane", "D.")


def test_official_tasks_alone_are_skipped_with_reasons(elm_grove):
    bundle = bundle_of(
        *(example(f"task-example{n}.json") for n in (1, 2, 3, 6)),
    )
    report = fhir_import(practice=elm_grove, data=bundle)
    assert report.created == 0
    reasons = {s["resource"]: s["reason"] for s in report.skipped}
    assert reasons == {
        "Task/example1": "the referral it fulfils (ServiceRequest/lipid) is not in the file",
        "Task/example2": "it names no ServiceRequest it fulfils (no focus)",
        "Task/example3": "its focus (MedicationRequest/medrx002) is a MedicationRequest, "
        "not a referral",
        "Task/example6": "the referral it fulfils (ServiceRequest/lipid) is not in the file",
    }


def test_bundles_of_other_kinds_are_read_entry_by_entry(elm_grove):
    report = fhir_import(practice=elm_grove, data=example("bundle-transaction.json"))
    assert report.created == 0
    reasons = [s["reason"] for s in report.skipped]
    assert "no resource (DELETE Patient/234)" in reasons
    assert any(r.startswith("a Patient is read only") for r in reasons)
    searchset = fhir_import(practice=elm_grove, data=example("bundle-example.json"))
    assert [s["resource"] for s in searchset.skipped] == [
        "MedicationRequest/3123",
        "Medication/example",
    ]


def test_an_invalid_resource_is_skipped_and_the_rest_imported(elm_grove):
    bad = {
        "resourceType": "Practitioner",
        "id": "bad",
        "active": "perhaps",
        "name": [{"text": "X"}],
    }
    bundle = bundle_of(bad, example("practitioner-example.json"))
    report = fhir_import(practice=elm_grove, data=bundle)
    assert report.created == 1
    assert report.skipped[0]["resource"] == "Practitioner/bad"
    assert report.skipped[0]["reason"].startswith("not valid FHIR R4: active")


@pytest.mark.parametrize(
    "raw",
    [b"not json at all", b"[1, 2]", b'{"name": "no resourceType"}', b'{"resourceType": "Nope"}'],
)
def test_what_is_not_fhir_json_is_refused(raw):
    with pytest.raises(FhirImportError):
        parse_fhir_json(raw)


# ------------------------------------------------------------------ export and round trip


def test_export_is_a_valid_collection_with_the_minimum_about_clients(elm_grove, network):
    bundle = validate(fhir_export(practice=elm_grove))
    assert bundle["type"] == "collection"
    kinds = Counter(e["resource"]["resourceType"] for e in bundle["entry"])
    assert kinds == {
        "Practitioner": 5,
        "PractitionerRole": 5,
        "Organization": 2,  # the practice and Dana's clinic
        "Location": 4,  # Ann has no address
        "ServiceRequest": 5,
        "Task": 5,
    }
    text = json.dumps(bundle)
    assert "Jones" not in text and "Keller" not in text  # last names never leave
    assert "Alice J." in text and "Bruno K." in text
    urls = [e["fullUrl"] for e in bundle["entry"]]
    assert len(set(urls)) == len(urls) and all(u.startswith("urn:uuid:") for u in urls)
    role = next(
        e["resource"]
        for e in bundle["entry"]
        if e["resource"]["resourceType"] == "PractitionerRole"
        and e["resource"]["id"] == str(network["pt"].pk)
    )
    assert role["code"][0]["coding"][0] == {
        "system": mapping.NUCC_SYSTEM,
        "code": "225100000X",
        "display": "Physical therapist",
    }
    assert role["practitioner"]["reference"] in urls
    assert {"system": mapping.NPI_SYSTEM, "value": network["pt"].npi}.items() <= role["identifier"][
        0
    ].items()
    assert role["identifier"][1] == {
        "system": "urn:referwell:elm-grove:partner",
        "value": str(network["pt"].pk),
    }


def test_export_then_import_into_another_practice_round_trips(
    elm_grove, other_practice, network, tmp_path
):
    out = tmp_path / "elm-grove.json"
    call_command("export_fhir", "--practice", "elm-grove", "--out", str(out), stdout=io.StringIO())
    stdout = io.StringIO()
    call_command("import_fhir", "--practice", "lakeside", str(out), "--json", stdout=stdout)
    report = json.loads(stdout.getvalue())
    assert report == {"created": 10, "updated": 0, "skipped": []}

    def summary(practice):
        partners = Partner.objects.filter(practice=practice)
        referrals = Referral.objects.filter(practice=practice)
        return (
            sorted(p.name for p in partners),
            sorted(p.npi for p in partners if p.npi),
            sorted((p.name, tuple(sorted(x.slug for x in p.professions.all()))) for p in partners),
            Counter((r.direction, r.status) for r in referrals),
            sorted(r.reasons for r in referrals),
        )

    assert summary(other_practice) == summary(elm_grove)
    copied = Referral.objects.get(practice=other_practice, valid_visits=6)
    assert copied.partner.name == "Pat Stretch" and copied.partner.practice == other_practice
    assert str(copied.valid_until) == "2027-03-01"
    gym = Referral.objects.get(practice=other_practice, referrer_name="Gym down the road")
    assert gym.direction == Direction.IN and gym.partner is None
    dana = Partner.objects.get(practice=other_practice, name="Dr. Dana Spine")
    assert dana.fhir_identifier == f"urn:referwell:elm-grove:partner|{network['partner'].pk}"
    assert (dana.clinic, dana.city, dana.phone) == ("Spine & Sport", "Elm Grove", "(262) 555-0101")

    # Twice: nothing new, every resource accounted for.
    stdout = io.StringIO()
    call_command("import_fhir", "--practice", "lakeside", str(out), "--json", stdout=stdout)
    again = json.loads(stdout.getvalue())
    assert (again["created"], again["updated"]) == (0, 0)
    assert len(again["skipped"]) == 10
    assert all("nothing new" in s["reason"] for s in again["skipped"])
    assert summary(other_practice) == summary(elm_grove)
    # Alice's own practice reads its export back as itself: nothing new either.
    own = fhir_import(practice=elm_grove, data=json.loads(out.read_text()))
    assert (own.created, own.updated) == (0, 0)


def test_import_command_refuses_what_is_not_fhir(elm_grove, tmp_path):
    bad = tmp_path / "notes.txt"
    bad.write_text("Dear Dr. Spine,\nthank you.\n")
    with pytest.raises(CommandError) as exc:
        call_command("import_fhir", "--practice", "elm-grove", str(bad))
    assert "not FHIR JSON" in str(exc.value) and "\n" not in str(exc.value)
    with pytest.raises(CommandError, match="No such file"):
        call_command("import_fhir", "--practice", "elm-grove", str(tmp_path / "missing.json"))


def test_cli_exit_codes_and_json_output(tmp_path):
    referwell = Path(sys.executable).with_name("referwell")
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.sqlite3'}",
        "REFERWELL_VAR_DIR": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }

    def run(*args):
        return subprocess.run(
            [str(referwell), *args], env=env, capture_output=True, text=True, timeout=120
        )

    assert run("migrate", "--noinput").returncode == 0
    made = run(
        "create-practice",
        "--slug",
        "elm-grove",
        "--name",
        "Elm Grove",
        "--owner-email",
        "alice@example.com",
        "--password",
        "a-long-password-1",
    )
    assert made.returncode == 0, made.stderr
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    result = run("import-fhir", "--practice", "elm-grove", str(bad))
    assert result.returncode != 0
    assert len(result.stderr.strip().splitlines()) == 1 and "not FHIR JSON" in result.stderr
    good = run(
        "import-fhir",
        "--practice",
        "elm-grove",
        str(shared("testdata", "fhir", "practitioner-example.json")),
        "--json",
    )
    assert good.returncode == 0, good.stderr
    assert json.loads(good.stdout) == {"created": 1, "updated": 0, "skipped": []}
    out = tmp_path / "out.json"
    exported = run("export-fhir", "--practice", "elm-grove", "--out", str(out))
    assert exported.returncode == 0, exported.stderr
    assert json.loads(out.read_text())["type"] == "collection"


# ------------------------------------------------------------------ the REST API


def test_metadata_lists_the_resources_and_search_parameters(client):
    response = client.get("/fhir/R4/metadata")
    assert response.status_code == 200
    assert response["Content-Type"].startswith(FHIR_JSON)
    statement = validate(response.json())
    assert statement["fhirVersion"] == "4.0.1"
    resources = {r["type"]: r for r in statement["rest"][0]["resource"]}
    assert list(resources) == RESOURCE_TYPES
    for resource in resources.values():
        params = {p["name"] for p in resource["searchParam"]}
        assert {"_id", "_lastUpdated"} <= params
        assert {i["code"] for i in resource["interaction"]} == {"read", "search-type"}
    assert {"name", "specialty", "identifier"} <= {
        p["name"] for p in resources["Practitioner"]["searchParam"]
    }
    assert "specialty" in {p["name"] for p in resources["PractitionerRole"]["searchParam"]}


def test_without_a_valid_token_it_is_401_operation_outcome(client, alice, network):
    for url in ("/fhir/R4/Practitioner", f"/fhir/R4/Practitioner/{network['partner'].pk}"):
        for headers in ({}, {"Authorization": "Bearer not-a-token"}, {"Authorization": "Basic x"}):
            response = client.get(url, headers=headers)
            assert response.status_code == 401
            assert response["Content-Type"].startswith(FHIR_JSON)
            assert response["WWW-Authenticate"].startswith("Bearer")
            assert validate(response.json())["resourceType"] == "OperationOutcome"
    # A logged-in browser session is not a token.
    client.force_login(alice.user)
    assert client.get("/fhir/R4/Practitioner").status_code == 401
    row, token = ApiToken.issue(member=alice)
    row.revoke()
    revoked = client.get("/fhir/R4/Practitioner", headers={"Authorization": f"Bearer {token}"})
    assert revoked.status_code == 401


def test_alice_reads_each_kind_of_resource(alice_api, network):
    partner, referral = network["partner"], network["referral"]
    for kind, pk in [
        ("Practitioner", partner.pk),
        ("PractitionerRole", partner.pk),
        ("Organization", partner.pk),
        ("Organization", "practice"),
        ("Location", partner.pk),
        ("ServiceRequest", referral.pk),
        ("Task", referral.pk),
    ]:
        response = alice_api.get(f"/fhir/R4/{kind}/{pk}")
        assert response.status_code == 200, (kind, response.content)
        assert response["Content-Type"].startswith(FHIR_JSON)
        resource = validate(response.json())
        assert (resource["resourceType"], resource["id"]) == (kind, str(pk))
    role = alice_api.get(f"/fhir/R4/PractitionerRole/{partner.pk}").json()
    assert role["code"][0]["coding"][0]["code"] == "111N00000X"  # chiropractor, NUCC
    assert [s["text"] for s in role["specialty"]] == ["Whiplash", "sports injuries"]
    assert {"system": "phone", "value": "(262) 555-0101", "use": "work"} in role["telecom"]
    assert role["location"][0]["reference"] == f"Location/{partner.pk}"
    location = alice_api.get(f"/fhir/R4/Location/{partner.pk}").json()
    assert location["position"] == {"latitude": 43.0479, "longitude": -88.0854}
    request = alice_api.get(f"/fhir/R4/ServiceRequest/{referral.pk}").json()
    assert request["status"] == "draft" and request["intent"] == "order"
    assert request["subject"] == {"type": "Patient", "display": "Alice J."}
    assert request["requester"]["reference"] == "Organization/practice"
    assert request["performer"][0]["reference"] == f"PractitionerRole/{partner.pk}"
    assert request["reasonCode"] == [{"text": referral.reasons}]
    task = alice_api.get(f"/fhir/R4/Task/{referral.pk}").json()
    assert task["status"] == FHIR_TASK_STATUS[referral.status]
    assert task["focus"]["reference"] == f"ServiceRequest/{referral.pk}"
    assert task["owner"]["reference"] == f"PractitionerRole/{partner.pk}"
    assert task["intent"] == "order" and task["authoredOn"]
    # No clinic or no address: no Organization or Location for that partner.
    assert alice_api.get(f"/fhir/R4/Location/{network['acu'].pk}").status_code == 404


def test_front_desk_sees_referrals_without_their_reasons(bob, network):
    _, token = ApiToken.issue(member=bob)
    http = HttpClient(headers={"Authorization": f"Bearer {token}"})
    request = http.get(f"/fhir/R4/ServiceRequest/{network['referral'].pk}").json()
    assert "reasonCode" not in request
    assert network["referral"].reasons not in json.dumps(request)


def test_charlie_gets_404_for_alices_resources_and_sees_none(charlie_api, charlie, network):
    PartnerFactory(practice=charlie.practice, name="Charlie's own PT", clinic="Lakeside PT")
    ids = {
        "Practitioner": network["partner"].pk,
        "PractitionerRole": network["partner"].pk,
        "Organization": network["partner"].pk,
        "Location": network["partner"].pk,
        "ServiceRequest": network["referral"].pk,
        "Task": network["referral"].pk,
    }
    for kind, pk in ids.items():
        response = charlie_api.get(f"/fhir/R4/{kind}/{pk}")
        assert response.status_code == 404, kind
        assert validate(response.json())["resourceType"] == "OperationOutcome"
        assert b"Dana" not in response.content
    for kind in RESOURCE_TYPES:
        for query in ("", "?_count=100", f"?_id={ids[kind]}", "?name=Dana", "?_lastUpdated=ge2000"):
            if "name" in query and kind not in ("Practitioner", "Organization", "Location"):
                continue
            response = charlie_api.get(f"/fhir/R4/{kind}{query}")
            assert response.status_code == 200, (kind, query, response.content)
            body = json.dumps(response.json().get("entry", []))
            assert "Dana" not in body and "Jones" not in body and "Alice J." not in body
    names = [
        e["resource"]["name"][0]["text"]
        for e in charlie_api.get("/fhir/R4/Practitioner").json()["entry"]
    ]
    assert names == ["Charlie's own PT"]
    assert charlie_api.get("/fhir/R4/ServiceRequest").json()["total"] == 0


def test_search_by_id_name_specialty_and_last_updated(alice_api, network):
    partner, pt = network["partner"], network["pt"]

    def names(url):
        response = alice_api.get(url)
        assert response.status_code == 200, response.content
        bundle = validate(response.json())
        assert bundle["type"] == "searchset"
        return sorted(
            e["resource"].get("name", [{}])[0].get("text", "")
            if e["resource"]["resourceType"] == "Practitioner"
            else e["resource"]["practitioner"]["display"]
            for e in bundle.get("entry", [])
        )

    assert names(f"/fhir/R4/Practitioner?_id={partner.pk}") == ["Dr. Dana Spine"]
    assert names(f"/fhir/R4/Practitioner?_id={partner.pk},{pt.pk}") == [
        "Dr. Dana Spine",
        "Pat Stretch",
    ]
    assert names("/fhir/R4/Practitioner?name=stretch") == ["Pat Stretch"]
    assert names("/fhir/R4/Practitioner?name:exact=Pat") == []
    assert names("/fhir/R4/Practitioner?specialty=gait") == ["Pat Stretch"]
    assert names("/fhir/R4/PractitionerRole?specialty=225100000X") == ["Pat Stretch"]
    assert names(f"/fhir/R4/PractitionerRole?role={mapping.NUCC_SYSTEM}|111N00000X") == [
        "Dr. Dana Spine"
    ]
    assert names(f"/fhir/R4/Practitioner?identifier={mapping.NPI_SYSTEM}|{pt.npi}") == [
        "Pat Stretch"
    ]
    assert len(names("/fhir/R4/Practitioner?_lastUpdated=ge2020-01-01")) == 5
    assert names("/fhir/R4/Practitioner?_lastUpdated=lt2001-01-01") == []
    Partner.objects.filter(pk=pt.pk).update(updated_at="2025-06-15T12:00:00Z")
    assert names("/fhir/R4/Practitioner?_lastUpdated=2025-06") == ["Pat Stretch"]
    assert names("/fhir/R4/Practitioner?_lastUpdated=ge2025-06-01&_lastUpdated=lt2025-07") == [
        "Pat Stretch"
    ]
    orgs = alice_api.get("/fhir/R4/Organization?name=spine").json()
    assert [e["resource"]["name"] for e in orgs["entry"]] == ["Spine & Sport"]
    closed = alice_api.get("/fhir/R4/ServiceRequest?status=completed").json()
    assert closed["total"] == 1
    task = alice_api.get(f"/fhir/R4/Task?focus=ServiceRequest/{network['referral'].pk}").json()
    assert [e["resource"]["id"] for e in task["entry"]] == [str(network["referral"].pk)]


def test_count_pages_with_self_and_next_links(alice_api, network):
    first = alice_api.get("/fhir/R4/Practitioner?_count=2").json()
    assert first["total"] == 5 and len(first["entry"]) == 2
    links = {link["relation"]: link["url"] for link in first["link"]}
    assert links["self"].startswith("http://testserver/fhir/R4/Practitioner?")
    seen = [e["resource"]["id"] for e in first["entry"]]
    url = links.get("next")
    while url:
        page = alice_api.get(url.replace("http://testserver", "")).json()
        seen += [e["resource"]["id"] for e in page["entry"]]
        url = {link["relation"]: link["url"] for link in page["link"]}.get("next")
    assert len(seen) == len(set(seen)) == 5
    assert "entry" not in alice_api.get("/fhir/R4/Practitioner?_count=0").json()


@pytest.mark.parametrize(
    "url",
    [
        "/fhir/R4/Practitioner?colour=blue",
        "/fhir/R4/Practitioner?_count=many",
        "/fhir/R4/Practitioner?_count=-1",
        "/fhir/R4/Practitioner?_lastUpdated=yesterday",
        "/fhir/R4/Practitioner?_lastUpdated=sa2026-01-01",
        "/fhir/R4/Practitioner?_lastUpdated=2026-13-01",
        "/fhir/R4/Practitioner?name:missing=true",
        "/fhir/R4/Task?name=Dana",
        "/fhir/R4/Practitioner?_sort=name",
    ],
)
def test_bad_search_parameters_are_400_operation_outcome(alice_api, url):
    response = alice_api.get(url)
    assert response.status_code == 400, response.content
    assert response["Content-Type"].startswith(FHIR_JSON)
    outcome = validate(response.json())
    assert outcome["issue"][0]["severity"] == "error"


@pytest.mark.parametrize(
    "url",
    [
        "/fhir/R4/Patient",
        "/fhir/R4/Patient/1",
        "/fhir/R4/Practitioner/999999",
        "/fhir/R4/Practitioner/abc",
        "/fhir/R4/Organization/nope",
        "/fhir/R4/Practitioner/1/_history/1",
        "/fhir/R4/",
    ],
)
def test_unknown_types_and_ids_are_404_operation_outcome(alice_api, url):
    response = alice_api.get(url)
    assert response.status_code == 404
    assert response["Content-Type"].startswith(FHIR_JSON)
    assert validate(response.json())["resourceType"] == "OperationOutcome"


def test_writes_are_refused_as_405(alice_api, network):
    response = alice_api.post(
        "/fhir/R4/Practitioner",
        data=json.dumps({"resourceType": "Practitioner"}),
        content_type=FHIR_JSON,
    )
    assert response.status_code == 405
    assert validate(response.json())["resourceType"] == "OperationOutcome"
    assert alice_api.delete(f"/fhir/R4/Practitioner/{network['partner'].pk}").status_code == 405


# ------------------------------------------------------------------ a real FHIR client


@pytest.mark.django_db(transaction=True)
def test_fhirpy_searches_reads_and_pages_against_the_live_server(live_server):
    from fhirpy import SyncFHIRClient
    from fhirpy.base.exceptions import ResourceNotFound

    from referwell.accounts.models import Role
    from tests.factories import MemberFactory, UserFactory

    practice = PracticeFactory(slug="elm-grove", name="Elm Grove Massage")
    member = MemberFactory(
        user=UserFactory(email="alice@example.com"), practice=practice, role=Role.OWNER
    )
    other = PracticeFactory(slug="lakeside", name="Lakeside")
    PartnerFactory(practice=other, name="Not Alice's")
    for n in range(5):
        PartnerFactory(
            practice=practice, name=f"Partner {n}", specialties="sports" if n % 2 else ""
        )
    _, token = ApiToken.issue(member=member)
    fhir = SyncFHIRClient(f"{live_server.url}/fhir/R4", authorization=f"Bearer {token}")

    everyone = fhir.resources("Practitioner").limit(2).fetch_all()  # three pages of _count=2
    assert sorted(p["name"][0]["text"] for p in everyone) == [f"Partner {n}" for n in range(5)]
    assert fhir.resources("Practitioner").count() == 5
    first_page = fhir.resources("Practitioner").limit(2).fetch()
    assert len(first_page) == 2
    sporty = fhir.resources("Practitioner").search(specialty="sports").fetch_all()
    assert sorted(p["name"][0]["text"] for p in sporty) == ["Partner 1", "Partner 3"]
    named = fhir.resources("Practitioner").search(name="Partner 4").first()
    read = fhir.reference("Practitioner", named.id).to_resource()
    assert read["name"][0]["text"] == "Partner 4"
    get_fhir_model_class("Practitioner").model_validate(read.serialize())
    with pytest.raises(ResourceNotFound):
        fhir.reference("Practitioner", str(Partner.objects.get(practice=other).pk)).to_resource()
    anonymous = SyncFHIRClient(f"{live_server.url}/fhir/R4")
    from fhirpy.base.exceptions import AuthorizationError

    with pytest.raises(AuthorizationError):
        anonymous.resources("Practitioner").fetch()


ODD_URLS = [
    "/fhir/R4/Practitioner/99999999999999999999999",
    "/fhir/R4/ServiceRequest/99999999999999999999999",
    "/fhir/R4/Practitioner?_id=99999999999999999999999,abc,-1",
    "/fhir/R4/Practitioner?_offset=99999999999999999999999",
    "/fhir/R4/Practitioner?_count=99999999999999999999999",
    "/fhir/R4/Practitioner?identifier=urn:referwell:elm-grove:partner|99999999999999999999",
    "/fhir/R4/Practitioner?_lastUpdated=ge9999",
    "/fhir/R4/Practitioner?_lastUpdated=ge0000-01-01",
    "/fhir/R4/Practitioner?_lastUpdated=ge2026-01-01T25:00:00Z",
    "/fhir/R4/Practitioner?_lastUpdated=ge2026-01-01T10:00:00%2B99:00",
    "/fhir/R4/Organization?_lastUpdated=ne2026",
    "/fhir/R4/Organization?_id=practice,1",
    "/fhir/R4/PractitionerRole?practitioner=Practitioner/abc",
    "/fhir/R4/PractitionerRole?specialty=|",
    "/fhir/R4/Task?focus=ServiceRequest/99999999999999999999999",
    "/fhir/R4/Location?address-postalcode=53122,53005",
    "/fhir/R4/Practitioner?_format=xml",
    "/fhir/R4/Practitioner?name=%00",
    "/fhir/R4/Practitioner/%20",
    "/fhir/R4/ServiceRequest?status=active,draft",
]


@pytest.mark.parametrize("url", ODD_URLS)
def test_odd_requests_never_give_a_500(alice_api, network, url):
    response = alice_api.get(url)
    assert response.status_code < 500, response.content
    assert response["Content-Type"].startswith(FHIR_JSON)
    validate(response.json())
