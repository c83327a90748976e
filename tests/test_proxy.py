"""Behind a reverse proxy the client's address comes from X-Forwarded-For, and only then."""

import pytest
from django.test import override_settings
from django.urls import reverse

from referwell.audit.models import AuditEntry

pytestmark = pytest.mark.django_db


def _viewed_from(alice_http, client_alice_jones, **headers):
    alice_http.get(reverse("client_detail", kwargs={"pk": client_alice_jones.pk}), **headers)
    entry = AuditEntry.objects.filter(action="referwell.client.viewed").latest("id")
    return entry.ip_address


def test_without_a_proxy_the_header_is_ignored(alice_http, client_alice_jones):
    forged = {"HTTP_X_FORWARDED_FOR": "203.0.113.9", "REMOTE_ADDR": "198.51.100.7"}
    assert _viewed_from(alice_http, client_alice_jones, **forged) == "198.51.100.7"


@override_settings(TRUSTED_PROXY_COUNT=1)
def test_behind_one_proxy_the_last_hop_is_the_client(alice_http, client_alice_jones):
    # The client wrote the first address itself; the proxy appended the one it saw.
    headers = {"HTTP_X_FORWARDED_FOR": "10.9.9.9, 203.0.113.9", "REMOTE_ADDR": "127.0.0.1"}
    assert _viewed_from(alice_http, client_alice_jones, **headers) == "203.0.113.9"
    garbage = {"HTTP_X_FORWARDED_FOR": "not-an-address", "REMOTE_ADDR": "127.0.0.1"}
    assert _viewed_from(alice_http, client_alice_jones, **garbage) == "127.0.0.1"


@override_settings(TRUSTED_PROXY_COUNT=1, AXES_FAILURE_LIMIT=3)
def test_the_lockout_counts_the_client_address_behind_the_proxy(client, alice):
    url = reverse("login")
    for n in range(3):
        client.post(
            url,
            {"username": f"nobody{n}@example.com", "password": "wrong"},
            HTTP_X_FORWARDED_FOR="203.0.113.50",
            REMOTE_ADDR="127.0.0.1",
        )
    # Another client behind the same proxy is not locked out…
    other = client.post(
        url,
        {"username": "alice@example.com", "password": "password"},
        HTTP_X_FORWARDED_FOR="203.0.113.51",
        REMOTE_ADDR="127.0.0.1",
    )
    assert other.status_code == 302
    # …the one that failed is.
    client.logout()
    locked = client.post(
        url,
        {"username": "alice@example.com", "password": "password"},
        HTTP_X_FORWARDED_FOR="203.0.113.50",
        REMOTE_ADDR="127.0.0.1",
    )
    assert locked.status_code in (403, 429)


def test_api_reads_of_a_client_and_a_referral_are_audited_with_the_address(
    alice_api, client_alice_jones, referral
):
    alice_api.get(f"/api/v1/clients/{client_alice_jones.pk}", REMOTE_ADDR="198.51.100.8")
    alice_api.get(f"/api/v1/referrals/{referral.pk}", REMOTE_ADDR="198.51.100.8")
    for action, obj in (
        ("referwell.client.viewed", client_alice_jones),
        ("referwell.referral.viewed", referral),
    ):
        entry = AuditEntry.objects.filter(action=action, object_id=str(obj.pk)).latest("id")
        assert entry.ip_address == "198.51.100.8"
