"""One update helper under the `*_update` services (audit.services.update_with_audit): the
allowed fields set, only the changed columns saved, one audit entry naming the changed fields
(never their values)."""

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from referwell.audit.models import AuditEntry
from referwell.clients.models import Client
from referwell.clients.services import client_update
from referwell.directory.models import Partner
from referwell.directory.services import partner_update
from referwell.referrals.services import referral_update

pytestmark = pytest.mark.django_db


def _updates(queries):
    return [q["sql"] for q in queries if q["sql"].lstrip().upper().startswith("UPDATE")]


def _last(action):
    return AuditEntry.objects.filter(action=action).latest("pk")


def test_the_client_page_saves_and_names_only_what_changed(bob_http, client_alice_jones):
    with CaptureQueriesContext(connection) as queries:
        response = bob_http.post(
            reverse("client_edit", args=[client_alice_jones.pk]),
            {"first_name": "Alice", "last_name": "Jones", "phone": "414-555-0100"},
        )
    assert response.status_code == 302
    client_alice_jones.refresh_from_db()
    assert client_alice_jones.phone == "414-555-0100"
    assert "rear-ended" in client_alice_jones.complaints
    assert _last("referwell.client.changed").data == {"fields": ["phone"]}
    [update] = [sql for sql in _updates(queries) if Client._meta.db_table in sql]
    assert '"phone"' in update and '"first_name"' not in update and '"complaints"' not in update


def test_clinical_text_is_named_never_written_in_the_trail(client_alice_jones, alice):
    client_update(
        client=client_alice_jones, by=alice.user, fields={"complaints": "Migraines since May."}
    )
    entry = _last("referwell.client.changed")
    assert entry.data == {"fields": ["complaints"]}
    assert "Migraines" not in json.dumps(entry.data)
    client_alice_jones.refresh_from_db()
    assert client_alice_jones.complaints == "Migraines since May."  # stored (encrypted)


def test_nothing_changed_saves_nothing_and_says_so(partner, alice):
    with CaptureQueriesContext(connection) as queries:
        partner_update(partner=partner, by=alice.user, fields={"name": partner.name})
    assert not [sql for sql in _updates(queries) if Partner._meta.db_table in sql]
    assert _last("referwell.partner.changed").data == {"fields": []}


def test_a_value_the_form_already_put_on_the_instance_still_counts(partner, alice):
    partner.phone = "(262) 555-0100"  # as a ModelForm does before the service runs
    partner_update(
        partner=partner, by=alice.user, fields={"phone": "(262) 555-0100", "name": partner.name}
    )
    assert _last("referwell.partner.changed").data == {"fields": ["phone"]}
    assert Partner.objects.get(pk=partner.pk).phone == "(262) 555-0100"


def test_what_a_service_derives_is_saved_too(partner, alice):
    partner_update(partner=partner, by=alice.user, fields={"zip_code": "53005"})
    stored = Partner.objects.get(pk=partner.pk)
    assert stored.zip_code == "53005"
    assert (stored.latitude, stored.longitude) == (partner.latitude, partner.longitude)
    assert stored.latitude != pytest.approx(43.0479, abs=1e-4)  # moved from Elm Grove
    assert _last("referwell.partner.changed").data == {"fields": ["zip_code"]}


def test_a_referral_update_sets_only_the_allowed_fields(referral, alice):
    referral_update(referral=referral, by=alice.user, fields={"valid_visits": 6})
    assert _last("referwell.referral.changed").data == {"fields": ["valid_visits"]}
    for refused in ({"status": "closed"}, {"practice": referral.practice}, {"created_at": None}):
        with pytest.raises(ValueError, match="cannot be changed here"):
            referral_update(referral=referral, by=alice.user, fields=refused)
    referral.refresh_from_db()
    assert referral.status == "draft" and referral.valid_visits == 6
