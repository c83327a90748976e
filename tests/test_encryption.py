"""Clinical text is encrypted at rest, readable through the models, and its key can be rotated."""

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet, InvalidToken
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test import override_settings

from referwell.clients.models import Client, Visit
from referwell.core import crypto
from referwell.inbound.models import ReferralRequest
from referwell.outreach.models import OutgoingMessage
from referwell.referrals.models import Referral, ReferralEvent
from tests.factories import VisitFactory

REFERWELL = Path(sys.executable).with_name("referwell")
KEY_A = Fernet.generate_key().decode()
KEY_B = Fernet.generate_key().decode()


def raw(model, field, pk):
    table = model._meta.db_table
    column = model._meta.get_field(field).column
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {table} WHERE id = %s", [pk])
        return cursor.fetchone()[0]


def test_the_clinical_fields_are_the_encrypted_ones():
    fields = {
        (model._meta.label, name) for model, names in crypto.encrypted_fields() for name in names
    }
    assert fields == {
        ("clients.Client", "complaints"),
        ("clients.Client", "goals"),
        ("clients.Client", "history"),
        ("clients.Client", "notes"),
        ("clients.Visit", "notes"),
        ("clients.Consent", "signed_form"),  # the signed consent form (PDF or photo)
        ("referrals.Referral", "reasons"),
        # The referral letter left ready for the front desk (it carries the reasons).
        ("referrals.Referral", "letter_subject"),
        ("referrals.Referral", "letter_body"),
        ("referrals.ReferralEvent", "note"),
        ("outreach.OutgoingMessage", "body"),
        ("inbound.ReferralRequest", "reason"),
    }


@pytest.mark.django_db
def test_intake_is_stored_as_a_token_and_read_back_as_text(client_alice_jones):
    client_alice_jones.history = "Herniated disc L4-L5 in 2019."
    client_alice_jones.save()
    stored = raw(Client, "history", client_alice_jones.pk)
    assert stored.startswith("gAAAAA")
    assert "disc" not in stored
    assert Fernet(os.environ["ENCRYPTION_KEYS"].split(",")[0]).decrypt(stored.encode()) == (
        b"Herniated disc L4-L5 in 2019."
    )
    again = Client.objects.get(pk=client_alice_jones.pk)
    assert again.history == "Herniated disc L4-L5 in 2019."
    assert again.complaints == "Low back and neck pain since being rear-ended."
    # values() goes through the field too; an empty text stays empty, not a token.
    assert Client.objects.filter(pk=again.pk).values_list("history", "goals").get() == (
        "Herniated disc L4-L5 in 2019.",
        "",
    )
    assert raw(Client, "goals", again.pk) == ""


@pytest.mark.django_db
def test_notes_reasons_events_and_letters_are_encrypted(elm_grove, referral, client_alice_jones):
    visit = VisitFactory(practice=elm_grove, client=client_alice_jones, notes="Tender QL, left.")
    referral.reasons = "Radiating pain, numbness in the left foot."
    referral.save()
    event = ReferralEvent.objects.create(
        practice=elm_grove,
        referral=referral,
        to_status="declined",
        at=referral.created_at,
        note="No openings until March.",
    )
    message = OutgoingMessage.objects.create(
        practice=elm_grove,
        kind="progress_report",
        subject="Progress",
        status="sent",
        body="Alice reports less pain after four sessions.",
    )
    request = ReferralRequest.objects.create(
        practice=elm_grove,
        referrer_name="Dr. Lee",
        client_first_name="Ann",
        client_last_name="Bell",
        reason="Post-surgical scar tissue, right knee.",
    )
    for model, field, obj, text in [
        (Visit, "notes", visit, "Tender QL"),
        (Referral, "reasons", referral, "numbness"),
        (ReferralEvent, "note", event, "openings"),
        (OutgoingMessage, "body", message, "sessions"),
        (ReferralRequest, "reason", request, "scar"),
    ]:
        stored = raw(model, field, obj.pk)
        assert stored.startswith("gAAAAA") and text not in stored, (model, field)
        assert text in getattr(model.objects.get(pk=obj.pk), field)


@pytest.mark.django_db
def test_rotation_rewrites_everything_with_the_new_key(elm_grove, client_alice_jones, referral):
    with override_settings(ENCRYPTION_KEYS=[KEY_A]):
        client_alice_jones.notes = "Prefers light pressure."
        client_alice_jones.save()
        referral.reasons = "Jaw pain, clicking."
        referral.save()
    before = raw(Client, "notes", client_alice_jones.pk)
    Fernet(KEY_A).decrypt(before.encode())  # written with A

    # A plain-text row from before encryption is encrypted by the rotation as well.
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {Client._meta.db_table} SET goals = %s WHERE id = %s",
            ["Sleep through the night", client_alice_jones.pk],
        )

    with override_settings(ENCRYPTION_KEYS=[KEY_B, KEY_A]):
        assert Client.objects.get(pk=client_alice_jones.pk).goals == "Sleep through the night"
        call_command("rotate_key", "--json", stdout=(out := _Out()))
    payload = json.loads(out.text)
    assert payload["rewritten"]["clients.Client"] >= 1
    assert payload["rewritten"]["referrals.Referral"] >= 1
    assert payload["total"] == sum(payload["rewritten"].values())

    after = raw(Client, "notes", client_alice_jones.pk)
    assert after != before
    assert Fernet(KEY_B).decrypt(after.encode()) == b"Prefers light pressure."
    with pytest.raises(InvalidToken):
        Fernet(KEY_A).decrypt(after.encode())
    assert Fernet(KEY_B).decrypt(raw(Client, "goals", client_alice_jones.pk).encode()) == (
        b"Sleep through the night"
    )
    # The old key can go: everything reads with the new one alone.
    with override_settings(ENCRYPTION_KEYS=[KEY_B]):
        fresh = Client.objects.get(pk=client_alice_jones.pk)
        assert (fresh.notes, fresh.goals) == ("Prefers light pressure.", "Sleep through the night")
        assert Referral.objects.get(pk=referral.pk).reasons == "Jaw pain, clicking."
    # Without the key that wrote it, the text is not readable, and the error says why.
    with override_settings(ENCRYPTION_KEYS=[KEY_A]), pytest.raises(crypto.DecryptionError) as err:
        Client.objects.get(pk=client_alice_jones.pk)
    assert "ENCRYPTION_KEYS" in str(err.value)


@pytest.mark.django_db
def test_rotation_with_a_malformed_key_changes_nothing(client_alice_jones):
    before = raw(Client, "complaints", client_alice_jones.pk)
    with override_settings(ENCRYPTION_KEYS=["not-a-key"]), pytest.raises(CommandError) as err:
        call_command("rotate_key")
    assert "not a Fernet key" in str(err.value)
    assert raw(Client, "complaints", client_alice_jones.pk) == before


@pytest.mark.django_db
def test_rotation_is_all_or_nothing_when_a_text_cannot_be_opened(elm_grove, client_alice_jones):
    other = Client.objects.create(practice=elm_grove, first_name="Ben", last_name="Ode")
    with override_settings(ENCRYPTION_KEYS=[KEY_A]):
        other.notes = "Written with a key that will be lost."
        other.save()
    before = raw(Client, "complaints", client_alice_jones.pk)
    with override_settings(ENCRYPTION_KEYS=[KEY_B]), pytest.raises(CommandError) as err:
        call_command("rotate_key")
    assert "cannot be decrypted" in str(err.value)
    assert raw(Client, "complaints", client_alice_jones.pk) == before


@pytest.mark.django_db
def test_deploy_check_warns_when_the_key_is_not_from_the_environment():
    from referwell.core.checks import encryption_keys_from_environment, encryption_keys_valid

    with override_settings(ENCRYPTION_KEYS_FROM_ENV=False):
        assert [m.id for m in encryption_keys_from_environment()] == ["referwell.W001"]
    with override_settings(ENCRYPTION_KEYS_FROM_ENV=True):
        assert encryption_keys_from_environment() == []
    with override_settings(ENCRYPTION_KEYS=["short"]):
        assert [m.id for m in encryption_keys_valid()] == ["referwell.E001"]


class _Out:
    def __init__(self):
        self.text = ""

    def write(self, text):
        self.text += text

    def flush(self):
        pass


def test_migrations_encrypt_existing_rows_and_decrypt_on_the_way_back(tmp_path):
    """On a real database file, as a deploy runs them: rows written before encryption are
    encrypted by the migration; migrating back leaves plain text again."""
    db = tmp_path / "m.sqlite3"
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{db}",
        "REFERWELL_VAR_DIR": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "ENCRYPTION_KEYS": KEY_A,
    }

    def referwell(*args):
        result = subprocess.run(
            [str(REFERWELL), *args], env=env, capture_output=True, text=True, timeout=300
        )
        assert result.returncode == 0, result.stderr
        return result

    referwell("migrate", "--noinput")
    referwell("demo")
    con = sqlite3.connect(db)
    query = "SELECT id, complaints FROM clients_client WHERE complaints != '' ORDER BY id"
    encrypted = con.execute(query).fetchall()
    assert encrypted and all(value.startswith("gAAAAA") for _, value in encrypted)

    referwell("migrate", "clients", "0002", "--noinput")
    plain = con.execute(query).fetchall()
    assert [pk for pk, _ in plain] == [pk for pk, _ in encrypted]
    assert plain == [(pk, Fernet(KEY_A).decrypt(v.encode()).decode()) for pk, v in encrypted]
    assert not any(value.startswith("gAAAAA") for _, value in plain)

    referwell("migrate", "--noinput")
    again = con.execute(query).fetchall()
    assert all(value.startswith("gAAAAA") for _, value in again)
    assert [Fernet(KEY_A).decrypt(v.encode()).decode() for _, v in again] == [v for _, v in plain]
    con.close()
