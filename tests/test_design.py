"""The shared parts of every page: the manifest, the icons, the favicon, the menu, and the
design page (owners, or anyone in DEBUG)."""

import json

import pytest
from django.test import override_settings

pytestmark = pytest.mark.django_db


def test_the_manifest_lets_a_therapist_add_referwell_to_the_home_screen(client):
    response = client.get("/manifest.webmanifest")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/manifest+json"
    data = json.loads(response.content)
    assert data["name"] == "Referwell"
    assert data["start_url"] == "/"
    assert data["display"] == "standalone"
    sizes = {icon["sizes"] for icon in data["icons"]}
    assert {"192x192", "512x512"} <= sizes
    assert any(icon.get("purpose") == "maskable" for icon in data["icons"])
    for icon in data["icons"]:
        assert client.get(icon["src"]).status_code == 200, icon["src"]


def test_the_favicon_is_served_at_the_root(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/x-icon"
    assert b"".join(response.streaming_content)[:4] == b"\x00\x00\x01\x00"  # an ICO file


def test_every_page_links_the_icons_and_manifest_and_has_a_menu_button(client, alice):
    client.force_login(alice.user)
    html = client.get("/").content.decode()
    assert 'rel="manifest" href="/manifest.webmanifest"' in html
    assert 'rel="icon"' in html and 'rel="apple-touch-icon"' in html
    assert (
        'class="menu-button secondary" type="button" aria-expanded="false" aria-controls="site-menu"'
        in html
    )
    assert 'id="site-menu"' in html
    assert 'href="#main"' in html and 'id="main"' in html


def test_the_account_menu_shows_owner_links_to_owners_only(client, alice, bob):
    client.force_login(alice.user)
    html = client.get("/").content.decode()
    assert "/practice/members/" in html and "/audit/" in html
    client.force_login(bob.user)
    html = client.get("/").content.decode()
    assert "/practice/members/" not in html and 'href="/audit/"' not in html
    assert "Log out" in html


def test_the_design_page_is_for_owners(client, alice, bob):
    client.force_login(alice.user)
    response = client.get("/design/")
    assert response.status_code == 200
    assert b'class="stack"' in response.content and b'class="menu"' in response.content
    client.force_login(bob.user)
    assert client.get("/design/").status_code == 403


def test_in_debug_any_member_sees_the_design_page(client, bob):
    client.force_login(bob.user)
    with override_settings(DEBUG=True):
        assert client.get("/design/").status_code == 200


def test_the_design_page_shows_no_practice_data_to_another_practice(client, charlie, alice):
    client.force_login(charlie.user)
    response = client.get("/design/")
    assert response.status_code == 200
    assert alice.practice.name.encode() not in response.content


def test_anonymous_visitors_are_sent_to_log_in_for_the_design_page(client):
    response = client.get("/design/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
