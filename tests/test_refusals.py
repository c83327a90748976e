"""One refusal exception (referwell/core/errors.py ApplicationError), handled once: on a page,
its message and a way back; in the API, a 400 with the reason; never a 500."""

import json

import pytest
from django.http import HttpResponse
from django.test import RequestFactory
from django.urls import path

from config.urls import urlpatterns as site_urls
from referwell.core.errors import ApplicationError, ApplicationErrorMiddleware
from referwell.outreach.letters import LetterTemplateError
from referwell.referrals.states import TransitionError
from referwell.site.api import api

REASON = "This referral was already sent; nothing was changed."


def refuse(request):
    raise ApplicationError(REASON, extra={"referral": 1})


def refuse_move(request):
    raise TransitionError("Choose one of the next steps.")


def refuse_letter(request):
    raise LetterTemplateError("unknown variable", part="body", line=3)


urlpatterns = [
    path("test/refuse/", refuse),
    path("test/refuse-move/", refuse_move),
    path("test/refuse-letter/", refuse_letter),
    *site_urls,
]
pytestmark = [pytest.mark.django_db, pytest.mark.urls(__name__)]


def test_a_post_refused_goes_back_to_its_page_with_the_reason(alice_http, partner):
    page = f"http://testserver/partners/{partner.pk}/"
    response = alice_http.post("/test/refuse/", HTTP_REFERER=page)
    assert response.status_code == 302 and response["Location"] == page
    shown = alice_http.get(response["Location"]).content.decode()
    assert 'class="topbar"' in shown and "already sent; nothing was changed" in shown


@pytest.mark.parametrize(
    "referer",
    ["", "https://evil.example/partners/", "//evil.example/", "javascript:alert(1)"],
    ids=["none", "another-site", "protocol-relative", "javascript"],
)
def test_without_a_page_of_this_site_to_go_back_to_it_is_the_dashboard(alice_http, referer):
    extra = {"HTTP_REFERER": referer} if referer else {}
    response = alice_http.post("/test/refuse/", **extra)
    assert response.status_code == 302 and response["Location"] == "/"
    assert "already sent" in alice_http.get("/").content.decode()


def test_an_htmx_post_is_sent_back_whole(alice_http):
    response = alice_http.post(
        "/test/refuse/", HTTP_HX_REQUEST="true", HTTP_REFERER="http://testserver/outreach/"
    )
    assert response.status_code == 204
    assert response["HX-Redirect"] == "http://testserver/outreach/"


def test_a_get_refused_is_a_400_page_in_the_apps_layout(alice_http):
    response = alice_http.get("/test/refuse/", HTTP_REFERER="http://testserver/clients/")
    assert response.status_code == 400
    page = response.content.decode()
    assert 'class="topbar"' in page and "This cannot be done" in page
    assert REASON in page
    assert 'href="http://testserver/clients/"' in page and "Back to the dashboard" in page


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("/test/refuse-move/", "Choose one of the next steps."),
        ("/test/refuse-letter/", "Body template, line 3: unknown variable"),
    ],
)
def test_the_states_and_the_letters_refuse_the_same_way(alice_http, url, reason):
    assert issubclass(TransitionError, ApplicationError)
    assert issubclass(LetterTemplateError, ApplicationError)
    assert issubclass(LetterTemplateError, ValueError)  # callers that catch ValueError still do
    response = alice_http.get(url)
    assert response.status_code == 400 and reason in response.content.decode()
    response = alice_http.post(url)
    assert response.status_code == 302
    assert reason in alice_http.get(response["Location"]).content.decode()


def test_other_exceptions_are_left_to_django():
    middleware = ApplicationErrorMiddleware(lambda request: HttpResponse())
    request = RequestFactory().post("/")
    assert middleware.process_exception(request, ValueError("a bug")) is None


def test_the_api_answers_400_with_the_reason():
    request = RequestFactory().post("/api/v1/referrals/1/transitions")
    response = api.on_exception(request, ApplicationError(REASON))
    assert response.status_code == 400
    assert json.loads(response.content) == {"detail": REASON}
    # A move the states refuse keeps its own answer, a conflict.
    response = api.on_exception(request, TransitionError("Choose one of the next steps."))
    assert response.status_code == 409
    assert json.loads(response.content) == {"detail": "Choose one of the next steps."}
