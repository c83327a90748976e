"""Server-Timing: every response says how long Django took, from the first middleware on."""

from __future__ import annotations

import re
import time

from django.conf import settings
from django.http import HttpResponse
from django.test import RequestFactory

from referwell.core.timing import ServerTimingMiddleware

APP = re.compile(r"^app;dur=(\d+(?:\.\d+)?)")


def test_it_is_the_first_middleware():
    assert settings.MIDDLEWARE[0] == "referwell.core.timing.ServerTimingMiddleware"


def test_every_response_carries_the_app_time(client, alice_http):
    for http, url, status in (
        (client, "/health/", 200),
        (client, "/", 302),  # anonymous: the redirect to the login page
        (client, "/no-such-page/", 404),
        (alice_http, "/", 200),
        (alice_http, "/partners/", 200),
    ):
        response = http.get(url)
        assert response.status_code == status, url
        match = APP.match(response.headers["Server-Timing"])
        assert match, (url, response.headers["Server-Timing"])
        assert float(match.group(1)) >= 0


def test_the_duration_is_the_time_inside_django():
    def slow_view(request):
        time.sleep(0.05)
        return HttpResponse("ok")

    response = ServerTimingMiddleware(slow_view)(RequestFactory().get("/"))
    duration = float(APP.match(response.headers["Server-Timing"]).group(1))
    assert 50 <= duration < 5000


def test_an_entry_set_by_the_view_is_kept_after_ours():
    def view(request):
        response = HttpResponse("ok")
        response.headers["Server-Timing"] = 'db;dur=3.0;desc="queries"'
        return response

    response = ServerTimingMiddleware(view)(RequestFactory().get("/"))
    header = response.headers["Server-Timing"]
    assert APP.match(header)
    assert header.endswith(', db;dur=3.0;desc="queries"')
