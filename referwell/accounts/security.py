"""Login security glue: the username django-axes counts failures under, and the audit entries
for logins, failures and lockouts (connected in AccountsConfig.ready)."""

from __future__ import annotations

import time
from typing import Any

from axes.conf import settings as axes_settings  # Django's settings, with axes' defaults
from axes.helpers import get_cool_off
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from referwell.accounts.models import Member, User
from referwell.audit.services import log_action

LOGIN_AT_SESSION_KEY = "referwell_login_at"


def normalize_email(value: object) -> str:
    return str(value or "").strip().lower()


def axes_username(request: HttpRequest | None, credentials: dict[str, Any] | None) -> str:
    """One counter per account, whatever the case or spaces typed (AXES_USERNAME_CALLABLE)."""
    credentials = credentials or {}
    value = credentials.get("username") or credentials.get("email")
    if value is None and request is not None:
        value = request.POST.get("username")
    return normalize_email(value)


def client_ip(request: HttpRequest | None) -> str | None:
    return request.META.get("REMOTE_ADDR") or None if request is not None else None


def log_auth(
    *,
    user: User | None,
    action: str,
    request: HttpRequest | None = None,
    data: dict[str, Any] | None = None,
) -> None:
    """Record an authentication event in the audit trail of each practice the user works in
    (accepted and not removed: an invitation or a former practice learns nothing of the
    person's logins).

    An address without an account has no practice, so nothing is recorded for it (the
    lockout still applies to it)."""
    if user is None:
        return
    members = Member.objects.active().filter(user=user).select_related("practice")
    practices = {m.practice for m in members}
    for practice in sorted(practices, key=lambda p: p.pk):
        log_action(
            practice=practice,
            actor=user,
            action=action,
            obj=user,
            data=data or {},
            ip_address=client_ip(request),
        )


def _user_for(username: object) -> User | None:
    email = normalize_email(username)
    return User.objects.filter(email=email).first() if email else None


def on_login_failed(
    sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **_: Any
) -> None:
    user = _user_for(axes_username(None, credentials))
    log_auth(
        user=user,
        action="referwell.auth.login_failed",
        request=request,
        data={"step": credentials.get("step", "password")},
    )


def on_locked_out(
    sender: Any, request: HttpRequest | None = None, username: Any = None, **_: Any
) -> None:
    log_auth(user=_user_for(username), action="referwell.auth.lockout", request=request)


def on_logged_in(sender: Any, request: HttpRequest | None, user: User, **_: Any) -> None:
    """Start the clock of the absolute session limit (SESSION_MAX_AGE)."""
    if request is not None and hasattr(request, "session"):
        request.session[LOGIN_AT_SESSION_KEY] = int(time.time())


def lockout_response(
    request: HttpRequest, original_response: Any = None, credentials: Any = None
) -> HttpResponse:
    """The lockout page (AXES_LOCKOUT_CALLABLE): the same words whether or not the address
    has an account, and no address shown back."""
    cool_off = get_cool_off(request)
    minutes = max(1, round(cool_off.total_seconds() / 60)) if cool_off else None
    return render(
        request,
        "accounts/locked_out.html",
        {"minutes": minutes, "practice": None, "member": None},
        status=axes_settings.AXES_HTTP_RESPONSE_CODE,
    )
