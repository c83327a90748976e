"""One refusal exception, handled once (HackSoft's ApplicationError).

A service that refuses what it is asked — a move the states forbid, a letter template that
cannot be used, a record in the wrong state — raises `ApplicationError` (or a subclass:
referrals' `TransitionError`, outreach's `LetterTemplateError`) with a message for a person to
read. A view need not catch it:

- on a page, `ApplicationErrorMiddleware` turns it into that message and a way back: after a
  POST (any method that changes something), `messages.error` and a redirect to the page the
  form was on (the Referer, when it is of this site; else the dashboard; an htmx request is
  sent there whole, by `HX-Redirect`); after a GET, a 400 page in the app's layout that says
  why;
- in the API (site/api.py), a 400 with {"detail": message}.

A view still catches it when it does more than that: shows the message beside a form, or says
more about what was (not) done.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


class ApplicationError(Exception):
    """What was asked cannot be done: `message` says why, in plain words; `extra` holds what a
    caller may want besides (never shown)."""

    def __init__(self, message: str, extra: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.extra = extra or {}


def back_url(request: HttpRequest) -> str | None:
    """The page the request came from, when it is one of this site's (the Referer, checked
    like a login's `next`); None otherwise."""
    referer: str = request.META.get("HTTP_REFERER", "")
    if referer and url_has_allowed_host_and_scheme(
        referer, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return referer
    return None


class ApplicationErrorMiddleware:
    """An ApplicationError a page's view let through: its message and a way back, never a 500
    (the module's docstring says how)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, ApplicationError):
            return None
        back = back_url(request)
        if request.method in SAFE_METHODS:
            return render(
                request,
                "core/refused.html",
                {"message": exception.message, "back_url": back},
                status=400,
            )
        messages.error(request, exception.message)
        target = back or reverse("dashboard")
        if request.headers.get("HX-Request") == "true":
            response = HttpResponse(status=204)  # nothing swapped: the page is left whole
            response["HX-Redirect"] = target
            return response
        return HttpResponseRedirect(target)
