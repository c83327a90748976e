"""Error pages belong to the app: its layout, the reason in plain words, a way back."""

from __future__ import annotations

from django.urls import reverse


def test_a_refusal_says_why_in_the_apps_layout(bob_http):
    response = bob_http.get(reverse("members"))  # an owner's page, and bob is the front desk
    assert response.status_code == 403
    page = response.content.decode()
    assert 'class="topbar"' in page and "This is not open to you" in page
    assert "Only an owner" in page and "Back to the dashboard" in page


def test_a_page_that_is_not_there_in_the_apps_layout(alice_http):
    response = alice_http.get("/clients/999999/")
    assert response.status_code == 404
    page = response.content.decode()
    assert 'class="topbar"' in page and "We could not find that" in page
    assert "another practice" in page


def test_a_server_error_page_needs_nothing_but_static_files(settings):
    from django.template.loader import get_template

    html = get_template("500.html").render()  # no request, no database: as Django renders it
    assert "Something went wrong on our side" in html and "nothing you saved" in html
