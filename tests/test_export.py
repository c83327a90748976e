"""Full export and restore: the round trip loses nothing, the command line keeps its contract,
only owners download, and every table of a practice is either exported or said not to be."""

import io
import json
import os
import subprocess
import sys
import types
import zipfile
from pathlib import Path

import pytest
from django.apps import apps
from django.core.management import call_command
from django.urls import reverse

from referwell.accounts.models import ApiToken, Member, Practice, Role, User
from referwell.audit.models import AuditEntry
from referwell.interop.export import archive
from tests.factories import MemberFactory, UserFactory

REFERWELL = Path(sys.executable).with_name("referwell")


def delete_practice(slug):
    """Rows that protect others go first (a disclosure protects its consent, a referral its
    partner), then the practice and everything under it."""
    from referwell.audit.models import Disclosure
    from referwell.referrals.models import Referral

    practice = Practice.objects.get(slug=slug)
    Disclosure.objects.filter(practice=practice).delete()
    Referral.objects.filter(practice=practice).delete()
    practice.delete()


def export_bytes(practice, **kwargs) -> bytes:
    out = io.BytesIO()
    archive.export_practice(practice, out, **kwargs)
    return out.getvalue()


def contents(data: bytes) -> dict:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return {
            name: (json.loads(zf.read(name)) if name.endswith(".json") else zf.read(name))
            for name in zf.namelist()
        }


@pytest.fixture
def demo(db):
    """The demo practice, plus a row in each table the demo leaves empty."""
    from referwell.inbound.models import ReferralRequest
    from referwell.outreach.models import CalendarFeed, LetterTemplate, OutgoingMessage
    from referwell.referrals.models import Referral, ReferralLink
    from referwell.site.demo import demo_load

    demo_load()
    practice = Practice.objects.get(slug="elm-grove")
    owner = Member.objects.get(practice=practice, role=Role.OWNER)
    referral = Referral.objects.filter(practice=practice, direction="out").first()
    LetterTemplate.objects.create(
        practice=practice, kind="referral", subject="Referral", body="Dear {{ partner }}"
    )
    OutgoingMessage.objects.create(
        practice=practice,
        kind="referral",
        to_name=str(referral.partner),
        subject=f"Referral: {referral.client}",
        body="Dear colleague,\n\nPlease see my client.",
        status="printed",
        referral=referral,
        partner=referral.partner,
        by=owner.user,
    )
    ReferralRequest.objects.create(
        practice=practice,
        partner=referral.partner,
        referrer_name="Front office",
        client_first_name="Nora",
        client_last_name="Quist",
        reason="Tension headaches.",
        client_agreed_to_be_contacted=True,
    )
    # Secrets, which are not exported.
    ApiToken.issue(member=owner)
    ReferralLink.issue(referral=referral)
    CalendarFeed.objects.create(practice=practice, member=owner, token_hash="f" * 64)
    return practice


@pytest.mark.django_db
def test_round_trip_export_delete_import_export_loses_nothing(demo):
    first = export_bytes(demo)
    a = contents(first)
    audited = AuditEntry.objects.filter(practice=demo, action="referwell.practice.exported")
    assert audited.count() == 1
    # The archive does not hold its own export's audit entry (it was written after).
    assert not [e for e in a["audit_entries.json"] if e["action"] == "referwell.practice.exported"]
    manifest = a["manifest.json"]
    assert manifest["format"] == archive.FORMAT and manifest["version"] == archive.VERSION
    assert manifest["counts"]["partners"] == 40 and manifest["counts"]["outgoing_messages"] == 1
    assert all(manifest["counts"][t.name] for t in archive.TABLES)  # every table has rows
    assert "partners.json" in manifest["readme"] and "members" in manifest["readme"]
    assert a["README.txt"].decode() == manifest["readme"]
    assert a["letters/0001.pdf"].startswith(b"%PDF")
    assert a["outgoing_messages.json"][0]["letter"] == "letters/0001.pdf"
    members = a["members.json"]
    assert {m["user"] for m in members} == {"maya@elmgrove.example", "frontdesk@elmgrove.example"}
    assert not any("password" in key for m in members for key in m)
    everything = json.dumps({k: v for k, v in a.items() if k.endswith(".json")})
    secrets = [t.token_hash for t in ApiToken.objects.all()] + ["f" * 64]
    assert not [s for s in secrets if s in everything] and "token_hash" not in everything

    delete_practice("elm-grove")
    users_before = User.objects.count()
    result = archive.import_practice(io.BytesIO(first))
    assert result["practice"] == "elm-grove"
    assert result["created"]["users"] == 0 and User.objects.count() == users_before
    restored = Practice.objects.get(slug="elm-grove")
    b = contents(export_bytes(restored))

    assert sorted(a) == sorted(b)
    for name in a:
        if name == "manifest.json":
            assert {k: v for k, v in a[name].items() if k != "exported_at"} == {
                k: v for k, v in b[name].items() if k != "exported_at"
            }
        elif name.endswith(".json") and name != "fhir-bundle.json":
            assert len(a[name]) == len(b[name]), name
            assert a[name] == b[name], name
    # New keys, the same people and the same timestamps.
    assert restored.pk != demo.pk
    owner = Member.objects.get(practice=restored, role=Role.OWNER)
    assert owner.user.email == "maya@elmgrove.example" and owner.user.check_password(
        "elmgrove-owner"
    )
    from referwell.directory.models import Partner

    okafor = Partner.objects.get(practice=restored, name="Daniel Okafor")
    assert okafor.created_at.isoformat() == a["partners.json"][0]["created_at"]


@pytest.mark.django_db
def test_restored_members_without_an_account_here_get_one_and_reset_their_password(demo):
    data = export_bytes(demo)
    delete_practice("elm-grove")
    User.objects.filter(email__endswith="@elmgrove.example").delete()
    result = archive.import_practice(io.BytesIO(data))
    assert result["created"]["users"] == 2
    assert sorted(result["new_users"]) == ["frontdesk@elmgrove.example", "maya@elmgrove.example"]
    maya = User.objects.get(email="maya@elmgrove.example")
    assert maya.has_usable_password()  # so "Forgot your password?" works…
    assert not maya.check_password("elmgrove-owner")  # …and is the only way in
    assert maya.first_name == "Maya"
    # The audit trail and the timelines point at the new accounts.
    restored = Practice.objects.get(slug="elm-grove")
    assert AuditEntry.objects.filter(practice=restored, actor=maya).exists()


@pytest.mark.django_db
def test_import_refuses_an_existing_slug_and_a_file_that_is_not_an_export(demo, tmp_path):
    data = export_bytes(demo)
    with pytest.raises(archive.ArchiveError, match="already exists"):
        archive.import_practice(io.BytesIO(data))
    with pytest.raises(archive.ArchiveError, match="zip"):
        archive.import_practice(io.BytesIO(b"not a zip"))
    empty = io.BytesIO()
    with zipfile.ZipFile(empty, "w") as zf:
        zf.writestr("hello.txt", "hi")
    with pytest.raises(archive.ArchiveError, match="manifest.json"):
        archive.import_practice(io.BytesIO(empty.getvalue()))


@pytest.mark.django_db
def test_a_broken_archive_restores_nothing(demo):
    files = contents(export_bytes(demo))
    files["visits.json"][0]["client"] = 9999  # a visit of a client not in the archive
    broken = io.BytesIO()
    with zipfile.ZipFile(broken, "w") as zf:
        for name, value in files.items():
            zf.writestr(name, json.dumps(value) if name.endswith(".json") else value)
    delete_practice("elm-grove")
    with pytest.raises(archive.ArchiveError, match=r"visits.json row 1: client 9999"):
        archive.import_practice(io.BytesIO(broken.getvalue()))
    assert not Practice.objects.filter(slug="elm-grove").exists()
    from referwell.directory.models import Partner

    assert not Partner.objects.exists()  # one transaction: nothing half restored


@pytest.mark.django_db
def test_fhir_bundle_is_included_when_the_exporter_exists(demo, monkeypatch):
    monkeypatch.setattr(archive, "FHIR_MODULE", "referwell.interop.fhir.not_written_yet")
    files = contents(export_bytes(demo))
    assert "fhir-bundle.json" not in files
    assert files["manifest.json"]["fhir_bundle"] is False
    assert any("FHIR" in note for note in files["manifest.json"]["notes"])

    fake = types.ModuleType("tests_fake_fhir_exporter")
    fake.bundle_for_practice = lambda practice: {"resourceType": "Bundle", "id": practice.slug}
    monkeypatch.setitem(sys.modules, "tests_fake_fhir_exporter", fake)
    monkeypatch.setattr(archive, "FHIR_MODULE", "tests_fake_fhir_exporter")
    files = contents(export_bytes(demo))
    assert files["fhir-bundle.json"] == {"resourceType": "Bundle", "id": "elm-grove"}
    assert files["manifest.json"]["fhir_bundle"] is True


def test_every_table_of_a_practice_is_exported_or_said_not_to_be():
    """A new model with a practice (or a member) escapes the export only on purpose."""
    exported = {t.model for t in archive.TABLES} | set(archive.NOT_EXPORTED)
    missing = []
    for model in apps.get_models():
        targets = {
            f.related_model._meta.label for f in model._meta.concrete_fields if f.is_relation
        }
        if targets & {"accounts.Practice", "accounts.Member"} and model._meta.label not in exported:
            missing.append(model._meta.label)
    assert not missing, f"add to archive.TABLES or archive.NOT_EXPORTED: {missing}"


# --------------------------------------------------------------------------- the web page


@pytest.mark.django_db
def test_owner_downloads_everything(alice_http, alice, elm_grove, partner):
    page = alice_http.get(reverse("practice_export"))
    assert page.status_code == 200 and "Download everything" in page.content.decode()
    response = alice_http.post(reverse("practice_export"))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert "elm-grove-export-" in response["Content-Disposition"]
    files = contents(b"".join(response.streaming_content))
    assert [p["name"] for p in files["partners.json"]] == ["Dr. Dana Spine"]
    entry = AuditEntry.objects.get(practice=elm_grove, action="referwell.practice.exported")
    assert entry.actor == alice.user and entry.data["via"] == "web"


@pytest.mark.django_db
def test_only_owners_export(bob_http, elm_grove, client):
    therapist = MemberFactory(
        user=UserFactory(email="terry@example.com"), practice=elm_grove, role=Role.THERAPIST
    )
    from django.test import Client as HttpClient

    terry = HttpClient()
    terry.force_login(therapist.user)
    for http in (bob_http, terry):
        assert http.get(reverse("practice_export")).status_code == 403
        assert http.post(reverse("practice_export")).status_code == 403
    assert not AuditEntry.objects.filter(action="referwell.practice.exported").exists()
    response = client.get(reverse("practice_export"))
    assert response.status_code == 302 and "login" in response["Location"]


@pytest.mark.django_db
def test_charlie_downloads_only_his_own(charlie_http, partner, client_alice_jones):
    response = charlie_http.post(reverse("practice_export"))
    files = contents(b"".join(response.streaming_content))
    assert files["practice.json"][0]["slug"] == "lakeside"
    assert files["partners.json"] == [] and files["clients.json"] == []
    assert b"Jones" not in b"".join(
        v if isinstance(v, bytes) else json.dumps(v).encode() for v in files.values()
    )


# --------------------------------------------------------------------------- the commands


@pytest.mark.django_db
def test_import_practice_json_contract(demo, tmp_path):
    path = tmp_path / "elm-grove.zip"
    out = io.StringIO()
    call_command(
        "export_practice", "--practice", "elm-grove", "--out", str(path), "--json", stdout=out
    )
    exported = json.loads(out.getvalue())
    assert exported["practice"] == "elm-grove" and exported["counts"]["partners"] == 40
    delete_practice("elm-grove")
    out = io.StringIO()
    call_command("import_practice", str(path), "--json", stdout=out)
    payload = json.loads(out.getvalue())
    assert list(payload) == ["practice", "created"]
    assert payload["practice"] == "elm-grove"
    assert payload["created"]["partners"] == 40
    assert {t.name for t in archive.TABLES} | {"users"} == set(payload["created"])
    assert payload["created"] == {**exported["counts"], "users": 0}


@pytest.fixture(scope="module")
def cli_env(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("export-cli")
    environ = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp / 'cli.sqlite3'}",
        "REFERWELL_VAR_DIR": str(tmp),
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }
    run(environ, "migrate", "--noinput")
    run(environ, "demo")
    return environ, tmp


def run(environ, *args, check=True):
    result = subprocess.run(
        [str(REFERWELL), *args], env=environ, capture_output=True, text=True, timeout=180
    )
    if check:
        assert result.returncode == 0, result.stderr
    return result


def test_cli_refuses_a_slug_that_exists_with_one_line(cli_env):
    environ, tmp = cli_env
    path = tmp / "export.zip"
    result = run(environ, "export-practice", "--practice", "elm-grove", "--out", str(path))
    assert "Wrote" in result.stdout and zipfile.is_zipfile(path)
    refused = run(environ, "import-practice", str(path), "--json", check=False)
    assert refused.returncode != 0 and refused.stdout == ""
    lines = refused.stderr.strip().splitlines()
    assert len(lines) == 1 and "already exists" in lines[0]
    missing = run(environ, "import-practice", str(tmp / "nope.zip"), check=False)
    assert missing.returncode != 0 and len(missing.stderr.strip().splitlines()) == 1
    nowhere = run(
        environ, "export-practice", "--practice", "nowhere", "--out", str(path), check=False
    )
    assert nowhere.returncode != 0 and "No practice" in nowhere.stderr


def test_cli_round_trip_through_a_fresh_instance(cli_env, tmp_path):
    environ, tmp = cli_env
    path = tmp / "to-move.zip"
    run(environ, "export-practice", "--practice", "elm-grove", "--out", str(path))
    fresh = {
        **environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'fresh.sqlite3'}",
        "REFERWELL_VAR_DIR": str(tmp_path),
    }
    run(fresh, "migrate", "--noinput")
    payload = json.loads(run(fresh, "import-practice", str(path), "--json").stdout)
    assert payload["practice"] == "elm-grove"
    assert payload["created"]["partners"] == 40 and payload["created"]["users"] == 2
    human = run(fresh, "import-practice", str(path), check=False)
    assert human.returncode != 0 and "already exists" in human.stderr
