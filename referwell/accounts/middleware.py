import time
from collections.abc import Callable
from typing import Any, cast
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django_htmx.http import HttpResponseClientRedirect

from referwell.accounts.http import MaybeMemberRequest
from referwell.accounts.models import Member
from referwell.accounts.security import LOGIN_AT_SESSION_KEY
from referwell.accounts.selectors import two_factor_state


class CurrentPracticeMiddleware:
    """Sets request.member and request.practice for a logged-in user (None otherwise).

    A user with several memberships works in the one chosen in the session, else the first.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request = cast(MaybeMemberRequest, request)  # what this middleware adds to it
        request.member = None
        request.practice = None
        if request.user.is_authenticated:
            members = Member.objects.active().filter(user=request.user).select_related("practice")
            chosen = request.session.get("practice_id")
            member = (members.filter(practice_id=chosen).first() if chosen else None) or (
                members.order_by("id").first()
            )
            if member is not None:
                request.member = member
                request.practice = member.practice
            else:
                # Someone who works nowhere yet may have been invited: sent to answer it.
                request.has_invitations = (
                    Member.objects.invited().filter(user=request.user).exists()
                )
        return self.get_response(request)


# A session in use is saved again (its expiry pushed SESSION_COOKIE_AGE ahead) when its last
# save is this old: one write a minute, not one per request (which, on SQLite, took the
# database's single write lock for every page).
RENEW_EVERY = 60
RENEWED_SESSION_KEY = "referwell_renewed_at"


class SessionMaxAgeMiddleware:
    """Ends a session SESSION_MAX_AGE seconds after its login, however active it was, and keeps
    an active one alive: the idle timeout is Django's SESSION_COOKIE_AGE, renewed at most
    RENEW_EVERY seconds late."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated:
            now = int(time.time())
            login_at = request.session.setdefault(LOGIN_AT_SESSION_KEY, now)
            if now - int(login_at) > settings.SESSION_MAX_AGE:
                logout(request)
            elif now - int(request.session.get(RENEWED_SESSION_KEY, 0)) >= RENEW_EVERY:
                request.session[RENEWED_SESSION_KEY] = now  # saved by SessionMiddleware
        return self.get_response(request)


# Pages open to a user who still owes a code (or, if their practice requires two-factor, a
# device): the code and setup pages, logging out, and what authenticates by its own token.
TWO_FACTOR_OPEN_URL_NAMES = {"two_factor_verify", "logout", "health"}
TWO_FACTOR_OPEN_PREFIXES = ("/static/", "/api/", "/fhir/", "/l/", "/calendar/", "/refer/")


class TwoFactorMiddleware:
    """After the password, a user with two-factor sees nothing but the code page until
    request.user.is_verified(); a member whose practice requires two-factor and who has no
    device sees nothing but the setup page. Sets request.two_factor_pending for templates."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request = cast(MaybeMemberRequest, request)  # what this middleware adds to it
        request.two_factor_pending = None
        user = request.user
        # django-otp's OTPMiddleware gives the user is_verified() at run time; no stub has it.
        if user.is_authenticated and not user.is_verified():  # type: ignore[attr-defined]
            has_two_factor, required = two_factor_state(user)
            if has_two_factor:
                request.two_factor_pending = "verify"
            elif required:
                request.two_factor_pending = "setup"
        return self.get_response(request)

    def process_view(
        self, request: HttpRequest, view_func: Callable[..., Any], args: Any, kwargs: Any
    ) -> HttpResponse | None:
        pending = getattr(request, "two_factor_pending", None)
        if pending is None:
            return None
        match = request.resolver_match
        name = match.url_name if match is not None else None
        if name in TWO_FACTOR_OPEN_URL_NAMES or request.path.startswith(TWO_FACTOR_OPEN_PREFIXES):
            return None
        if pending == "setup" and name == "two_factor":
            return None
        if pending == "verify":
            url = f"{reverse('two_factor_verify')}?{urlencode({'next': request.get_full_path()})}"
        else:
            url = reverse("two_factor")
        if getattr(request, "htmx", False):
            return HttpResponseClientRedirect(url)
        return redirect(url)
