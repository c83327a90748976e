"""Login security: two-factor (django-otp), lockout (django-axes), session limits, a password
reset that reveals nothing, and the audit entries of each."""

from __future__ import annotations

import re
import time
from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.sessions.models import Session
from django.core import mail
from django.db import connection
from django.test import Client as HttpClient
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from referwell.accounts.security import LOGIN_AT_SESSION_KEY
from referwell.accounts.services import totp_device_pending, two_factor_confirm
from referwell.audit.models import AuditEntry

pytestmark = pytest.mark.django_db

PASSWORD = "password"
LOGIN = "/accounts/login/"
VERIFY = "/accounts/two-factor/verify/"
SETUP = "/accounts/two-factor/"


# --- helpers -------------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _no_code_throttling(settings):
    """django-otp waits 1, 2, 4… seconds after each wrong code before it accepts a right one;
    tests type faster than people (test_a_right_code_right_after_a_wrong_one_waits checks it)."""
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    settings.OTP_STATIC_THROTTLE_FACTOR = 0


def code_for(device: TOTPDevice) -> str:
    """A real TOTP code from the device's key: the current time step, or the one after the last
    step the device accepted (a code is never accepted twice)."""
    device.refresh_from_db()
    now_step = int((time.time() - device.t0) // device.step)
    step = max(now_step, device.last_t + 1)
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, drift=0)
    totp.time = device.t0 + step * device.step
    return f"{totp.token():0{device.digits}d}"


def wrong_code_for(device: TOTPDevice) -> str:
    """Six digits that no step near now (nor the device's drift) would accept."""
    device.refresh_from_db()
    now_step = int((time.time() - device.t0) // device.step)
    near = set()
    for step in range(now_step - 3, max(now_step, device.last_t) + 5):
        totp = TOTP(device.bin_key, device.step, device.t0, device.digits)
        totp.time = device.t0 + step * device.step
        near.add(f"{totp.token():06d}")
    return next(f"{n:06d}" for n in range(1_000_000) if f"{n:06d}" not in near)


def enable_two_factor(user) -> tuple[TOTPDevice, list[str]]:
    device = totp_device_pending(user=user)
    codes = two_factor_confirm(user=user, device=device, code=code_for(device))
    assert codes is not None
    device.refresh_from_db()
    return device, codes


def password_step(http: HttpClient, email: str, password: str = PASSWORD, ip="127.0.0.1", **data):
    return http.post(LOGIN, {"username": email, "password": password, **data}, REMOTE_ADDR=ip)


def login_fully(http: HttpClient, user, device: TOTPDevice) -> None:
    response = password_step(http, user.email)
    assert response.status_code == 302 and response.url.startswith(VERIFY)
    response = http.post(VERIFY, {"code": code_for(device)})
    assert response.status_code == 302 and response.url == "/"


def actions(practice, action: str):
    return AuditEntry.objects.filter(practice=practice, action=action)


def without_csrf(html: str) -> str:
    html = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", html)
    return re.sub(r'"X-CSRFToken": "[^"]+"', "", html)


# --- two-factor login ----------------------------------------------------------------------------


def test_login_without_two_factor_goes_straight_in_and_is_audited(alice, elm_grove):
    http = HttpClient()
    response = password_step(http, " Alice@Example.com")  # the address in any case
    assert response.status_code == 302 and response.url == "/"
    assert http.get("/").status_code == 200
    entry = actions(elm_grove, "referwell.auth.login").get()
    assert entry.actor == alice.user and entry.data == {"two_factor": False}
    assert entry.ip_address == "127.0.0.1"


def test_setup_shows_a_qr_code_and_the_key_and_needs_a_right_code(alice_http, alice, elm_grove):
    page = alice_http.get(SETUP)
    assert page.status_code == 200
    html = page.content.decode()
    assert "<svg" in html and "QR code to scan" in html
    device = TOTPDevice.objects.get(user=alice.user, confirmed=False)
    from base64 import b32encode

    secret = b32encode(device.bin_key).decode().rstrip("=")
    assert " ".join(secret[i : i + 4] for i in range(0, len(secret), 4)) in html
    assert "no-cache" in page["Cache-Control"] or "no-store" in page["Cache-Control"]

    # A wrong code: still off.
    response = alice_http.post(SETUP, {"action": "confirm", "code": wrong_code_for(device)})
    assert response.status_code == 200 and "does not match" in response.content.decode()
    assert not TOTPDevice.objects.filter(user=alice.user, confirmed=True).exists()
    assert not actions(elm_grove, "referwell.auth.2fa_enabled").exists()

    # Reloading the page keeps the same key (the app already scanned it).
    assert alice_http.get(SETUP).status_code == 200
    assert TOTPDevice.objects.filter(user=alice.user).count() == 1

    # The right code: on, with ten recovery codes shown once.
    response = alice_http.post(SETUP, {"action": "confirm", "code": code_for(device)})
    assert response.status_code == 200
    codes = re.findall(r"<li><code>([a-z2-7]{8})</code></li>", response.content.decode())
    assert len(codes) == 10 and len(set(codes)) == 10
    assert TOTPDevice.objects.get(user=alice.user).confirmed
    stored = StaticDevice.objects.get(user=alice.user).token_set.values_list("token", flat=True)
    assert sorted(stored) == sorted(codes)
    assert actions(elm_grove, "referwell.auth.2fa_enabled").filter(actor=alice.user).count() == 1
    # The session that set it up counts as verified: pages work, the management page shows.
    assert alice_http.get("/").status_code == 200
    manage = alice_http.get(SETUP).content.decode()
    assert "10 of 10 recovery codes left" in manage
    assert not any(code in manage for code in codes)  # shown once only


def test_with_two_factor_no_page_works_before_the_code(alice, elm_grove, client_alice_jones):
    device, _ = enable_two_factor(alice.user)
    http = HttpClient()
    response = password_step(http, "alice@example.com", next="/clients/")
    assert response.status_code == 302
    assert response.url == f"{VERIFY}?next=%2Fclients%2F"
    assert not actions(elm_grove, "referwell.auth.login").exists()

    # Logged in by password only: every page sends to the code step.
    for url in ("/", "/clients/", f"/clients/{client_alice_jones.pk}/", "/accounts/practice/"):
        response = http.get(url)
        assert response.status_code == 302, url
        assert response.url.startswith(VERIFY), url
    # htmx gets a client-side redirect.
    response = http.get("/clients/", headers={"HX-Request": "true"})
    assert response.status_code == 200 and response["HX-Redirect"].startswith(VERIFY)
    # The code page shows neither the practice nor its menu.
    page = http.get(VERIFY).content.decode()
    assert "Enter your code" in page and "Elm Grove" not in page and 'aria-label="Main"' not in page

    response = http.post(VERIFY, {"code": code_for(device), "next": "/clients/"})
    assert response.status_code == 302 and response.url == "/clients/"
    assert http.get("/clients/").status_code == 200
    entry = actions(elm_grove, "referwell.auth.login").get()
    assert entry.data == {"two_factor": True, "method": "totp"}


def test_a_wrong_code_is_refused_counted_and_audited(alice, elm_grove):
    device, _ = enable_two_factor(alice.user)
    http = HttpClient()
    password_step(http, "alice@example.com")
    wrong = wrong_code_for(device)
    response = http.post(VERIFY, {"code": wrong})
    assert response.status_code == 200 and "not right" in response.content.decode()
    assert http.get("/").status_code == 302
    attempt = AccessAttempt.objects.get(username="alice@example.com")
    assert attempt.failures_since_start == 1
    assert wrong not in attempt.post_data  # what was typed is masked
    failed = actions(elm_grove, "referwell.auth.login_failed").get()
    assert failed.data == {"step": "code"}


def test_a_right_code_right_after_a_wrong_one_waits(alice, settings):
    settings.OTP_TOTP_THROTTLE_FACTOR = 1  # the default
    device, _ = enable_two_factor(alice.user)
    http = HttpClient()
    password_step(http, "alice@example.com")
    assert http.post(VERIFY, {"code": wrong_code_for(device)}).status_code == 200
    assert http.post(VERIFY, {"code": code_for(device)}).status_code == 200
    assert http.get("/").status_code == 302


def test_an_unsafe_next_is_ignored_after_the_code(alice):
    device, _ = enable_two_factor(alice.user)
    http = HttpClient()
    password_step(http, "alice@example.com")
    response = http.post(VERIFY, {"code": code_for(device), "next": "https://evil.example/"})
    assert response.status_code == 302 and response.url == "/"


def test_a_recovery_code_works_once(alice, elm_grove):
    _, codes = enable_two_factor(alice.user)
    http = HttpClient()
    password_step(http, "alice@example.com")
    # Typed in capitals with a space, as people do.
    response = http.post(VERIFY, {"code": f"{codes[0][:4].upper()} {codes[0][4:].upper()}"})
    assert response.status_code == 302 and response.url == "/"
    assert http.get("/").status_code == 200
    used = actions(elm_grove, "referwell.auth.recovery_code_used").get()
    assert used.data == {"remaining": 9}
    assert actions(elm_grove, "referwell.auth.login").get().data["method"] == "recovery_code"

    http.post("/accounts/logout/")
    again = HttpClient()
    password_step(again, "alice@example.com")
    response = again.post(VERIFY, {"code": codes[0]})
    assert response.status_code == 200 and "not right" in response.content.decode()
    assert again.get("/").status_code == 302
    # Another one still works.
    assert again.post(VERIFY, {"code": codes[1]}).status_code == 302
    assert again.get("/").status_code == 200


def test_wrong_codes_lock_out_the_account_and_end_the_session(alice, elm_grove):
    device, _ = enable_two_factor(alice.user)
    http = HttpClient()
    password_step(http, "alice@example.com")
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert http.post(VERIFY, {"code": wrong_code_for(device)}).status_code == 200
    response = http.post(VERIFY, {"code": wrong_code_for(device)})
    assert response.status_code == 429
    assert "Too many attempts" in response.content.decode()
    # Logged out; the password alone no longer opens the code step either.
    assert http.get("/").status_code == 302 and http.get("/").url.startswith(LOGIN)
    response = password_step(HttpClient(), "alice@example.com", ip="10.9.9.9")
    assert response.status_code == 429
    assert actions(elm_grove, "referwell.auth.lockout").exists()


def test_regenerating_recovery_codes_voids_the_old_ones(alice, elm_grove):
    device, old_codes = enable_two_factor(alice.user)
    http = HttpClient()
    login_fully(http, alice.user, device)
    response = http.post(SETUP, {"action": "recovery_codes"})
    new_codes = re.findall(r"<li><code>([a-z2-7]{8})</code></li>", response.content.decode())
    assert len(new_codes) == 10 and not set(new_codes) & set(old_codes)
    assert actions(elm_grove, "referwell.auth.recovery_codes_regenerated").count() == 1

    other = HttpClient()
    password_step(other, "alice@example.com")
    assert other.post(VERIFY, {"code": old_codes[0]}).status_code == 200
    assert other.post(VERIFY, {"code": new_codes[0]}).status_code == 302


def test_turning_two_factor_off_needs_the_password(alice, elm_grove):
    device, _ = enable_two_factor(alice.user)
    http = HttpClient()
    login_fully(http, alice.user, device)
    response = http.post(SETUP, {"action": "disable", "password": "not-it"})
    assert response.status_code == 200 and "not your password" in response.content.decode()
    assert TOTPDevice.objects.filter(user=alice.user, confirmed=True).exists()

    response = http.post(SETUP, {"action": "disable", "password": PASSWORD})
    assert response.status_code == 302
    assert not TOTPDevice.objects.filter(user=alice.user).exists()
    assert not StaticDevice.objects.filter(user=alice.user).exists()
    assert actions(elm_grove, "referwell.auth.2fa_disabled").count() == 1
    # The next login needs no code.
    fresh = HttpClient()
    assert password_step(fresh, "alice@example.com").url == "/"


def test_two_factor_pages_need_a_login():
    for url in (SETUP, VERIFY):
        response = HttpClient().get(url)
        assert response.status_code == 302 and response.url.startswith(LOGIN)


# --- an owner requires two-factor ----------------------------------------------------------------


def test_only_an_owner_can_require_two_factor(bob_http, bob, elm_grove):
    enable_two_factor(bob.user)
    response = bob_http.post("/accounts/practice/two-factor/", {"require_two_factor": "on"})
    # bob's session predates his device: verify it first, then he is refused.
    assert response.status_code == 302 and response.url.startswith(VERIFY)
    device = TOTPDevice.objects.get(user=bob.user)
    bob_http.post(VERIFY, {"code": code_for(device)})
    response = bob_http.post("/accounts/practice/two-factor/", {"require_two_factor": "on"})
    assert response.status_code == 403
    elm_grove.refresh_from_db()
    assert not elm_grove.require_two_factor


def test_an_owner_turns_two_factor_on_for_herself_before_requiring_it(alice_http, alice, elm_grove):
    response = alice_http.post("/accounts/practice/two-factor/", {"require_two_factor": "on"})
    assert response.status_code == 302 and response.url == SETUP
    elm_grove.refresh_from_db()
    assert not elm_grove.require_two_factor


def test_required_two_factor_sends_members_without_a_device_to_setup(
    alice, bob, bob_http, charlie_http, elm_grove
):
    device, _ = enable_two_factor(alice.user)
    alice_http = HttpClient()
    login_fully(alice_http, alice.user, device)
    page = alice_http.get("/accounts/practice/").content.decode()
    assert "Require two-factor login for every member" in page
    response = alice_http.post("/accounts/practice/two-factor/", {"require_two_factor": "on"})
    assert response.status_code == 302
    elm_grove.refresh_from_db()
    assert elm_grove.require_two_factor
    assert actions(elm_grove, "referwell.practice.2fa_required").get().actor == alice.user
    assert alice_http.get("/").status_code == 200

    # bob has no device: every page but setup (and logging out) sends him to setup.
    for url in ("/", "/clients/", "/partners/", reverse("today"), reverse("practice_export")):
        response = bob_http.get(url)
        assert response.status_code == 302 and response.url == SETUP, url
    setup = bob_http.get(SETUP)
    assert setup.status_code == 200
    assert "Your practice requires two-factor login" in setup.content.decode()
    assert 'aria-label="Main"' not in setup.content.decode()
    # charlie's practice does not require it.
    assert charlie_http.get("/").status_code == 200

    # Once set up, bob works.
    device = TOTPDevice.objects.get(user=bob.user, confirmed=False)
    response = bob_http.post(SETUP, {"action": "confirm", "code": code_for(device)})
    assert response.status_code == 200
    assert bob_http.get("/clients/").status_code == 200

    # Logging out works for a member still owing setup.
    elm_grove_member = HttpClient()
    from tests.factories import MemberFactory, UserFactory

    carol = MemberFactory(user=UserFactory(email="carol@example.com"), practice=elm_grove)
    elm_grove_member.force_login(carol.user)
    assert elm_grove_member.get("/").url == SETUP
    assert elm_grove_member.post("/accounts/logout/").status_code == 302
    assert elm_grove_member.get("/").url.startswith(LOGIN)

    # And the owner can make it optional again.
    alice_http.post("/accounts/practice/two-factor/", {})
    elm_grove.refresh_from_db()
    assert not elm_grove.require_two_factor
    assert actions(elm_grove, "referwell.practice.2fa_optional").count() == 1


# --- lockout (django-axes) -----------------------------------------------------------------------


def test_lockout_per_account_from_any_address(alice, bob, elm_grove):
    limit = settings.AXES_FAILURE_LIMIT
    for i in range(limit):
        # Upper case and spaces are the same account.
        email = "Alice@Example.com " if i % 2 else "alice@example.com"
        response = password_step(HttpClient(), email, "wrong", ip=f"10.0.0.{i + 1}")
        assert response.status_code == (429 if i == limit - 1 else 200)
    # The right password, from an address never seen: still locked.
    response = password_step(HttpClient(), "alice@example.com", ip="10.0.1.1")
    assert response.status_code == 429
    assert "Too many attempts" in response.content.decode()
    assert "alice@example.com" not in response.content.decode()
    # bob, from the same addresses (one failure each), is not.
    assert password_step(HttpClient(), "bob@example.com", ip="10.0.0.1").status_code == 302
    # Each wrong password, and the right one refused while locked out, is a failure.
    failures = actions(elm_grove, "referwell.auth.login_failed").filter(actor=alice.user)
    assert failures.count() == limit + 1
    assert actions(elm_grove, "referwell.auth.lockout").filter(actor=alice.user).exists()


def test_lockout_per_address_whatever_the_account(alice):
    for i in range(settings.AXES_FAILURE_LIMIT):
        password_step(HttpClient(), f"someone{i}@example.com", "wrong", ip="10.0.0.7")
    assert password_step(HttpClient(), "alice@example.com", ip="10.0.0.7").status_code == 429
    assert password_step(HttpClient(), "alice@example.com", ip="10.0.0.8").status_code == 302


def test_the_lockout_page_is_the_same_for_an_unknown_address(alice):
    limit = settings.AXES_FAILURE_LIMIT
    for i in range(limit):
        known = password_step(HttpClient(), "alice@example.com", "wrong", ip=f"10.1.0.{i}")
        unknown = password_step(HttpClient(), "nobody@example.com", "wrong", ip=f"10.2.0.{i}")
        assert known.status_code == unknown.status_code
        # The form shows back what was typed; apart from that, the same page.
        known_page = without_csrf(known.content.decode()).replace("alice@", "EMAIL@")
        unknown_page = without_csrf(unknown.content.decode()).replace("nobody@", "EMAIL@")
        assert known_page == unknown_page
    assert known.status_code == 429
    assert "15 minutes" in known.content.decode()
    assert "nobody@example.com" not in unknown.content.decode()


def test_the_lockout_ends_after_the_cooloff(alice):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        password_step(HttpClient(), "alice@example.com", "wrong", ip="10.0.0.9")
    assert password_step(HttpClient(), "alice@example.com", ip="10.0.0.9").status_code == 429
    AccessAttempt.objects.update(
        attempt_time=timezone.now() - settings.AXES_COOLOFF_TIME - timedelta(seconds=1)
    )
    response = password_step(HttpClient(), "alice@example.com", ip="10.0.0.9")
    assert response.status_code == 302 and response.url == "/"


def test_lockout_settings_defaults():
    assert settings.AXES_FAILURE_LIMIT == 5
    assert settings.AXES_COOLOFF_TIME == timedelta(minutes=15)
    assert settings.AXES_LOCKOUT_PARAMETERS == ["username", "ip_address"]
    assert settings.AUTHENTICATION_BACKENDS[0] == "axes.backends.AxesStandaloneBackend"


# --- sessions ------------------------------------------------------------------------------------


def _session_row(http: HttpClient) -> Session:
    return Session.objects.get(session_key=http.cookies[settings.SESSION_COOKIE_NAME].value)


def test_the_session_expires_after_idle_time_and_is_renewed_while_used(alice):
    from referwell.accounts.middleware import RENEW_EVERY, RENEWED_SESSION_KEY

    assert settings.SESSION_COOKIE_AGE == 30 * 60
    http = HttpClient()
    password_step(http, "alice@example.com")

    def last_renewed(seconds_ago):
        session = http.session
        session[RENEWED_SESSION_KEY] = int(time.time()) - seconds_ago
        session.save()
        Session.objects.filter(pk=_session_row(http).pk).update(
            expire_date=timezone.now() + timedelta(minutes=1)
        )

    # Active, last saved a minute ago or more: this request pushes the expiry 30 minutes ahead.
    last_renewed(RENEW_EVERY)
    assert http.get("/").status_code == 200
    expiry = _session_row(http).expire_date - timezone.now()
    assert timedelta(minutes=29) < expiry <= timedelta(minutes=30)
    assert http.cookies[settings.SESSION_COOKIE_NAME]["max-age"] == 30 * 60

    # Saved less than a minute ago: no write for the session (at most a minute late).
    last_renewed(RENEW_EVERY - 10)
    with CaptureQueriesContext(connection) as queries:
        assert http.get("/").status_code == 200
    assert not [
        q
        for q in queries.captured_queries
        if "django_session" in q["sql"] and q["sql"].startswith("UPDATE")
    ]
    assert _session_row(http).expire_date - timezone.now() <= timedelta(minutes=1)

    # Idle past the timeout: logged out.
    Session.objects.filter(pk=_session_row(http).pk).update(
        expire_date=timezone.now() - timedelta(seconds=1)
    )
    response = http.get("/")
    assert response.status_code == 302 and response.url.startswith(LOGIN)


def test_the_session_ends_after_the_absolute_limit_however_active(alice):
    assert settings.SESSION_MAX_AGE == 8 * 3600
    http = HttpClient()
    password_step(http, "alice@example.com")
    session = http.session
    assert abs(session[LOGIN_AT_SESSION_KEY] - time.time()) < 60
    session[LOGIN_AT_SESSION_KEY] = int(time.time()) - settings.SESSION_MAX_AGE - 1
    session.save()
    response = http.get("/")
    assert response.status_code == 302 and response.url.startswith(LOGIN)
    assert http.get("/").status_code == 302


def test_logging_out_clears_the_session(alice):
    device, _ = enable_two_factor(alice.user)
    http = HttpClient()
    login_fully(http, alice.user, device)
    key = http.cookies[settings.SESSION_COOKIE_NAME].value
    assert Session.objects.filter(session_key=key).exists()
    response = http.post("/accounts/logout/")
    assert response.status_code == 302
    assert not Session.objects.filter(session_key=key).exists()
    assert http.get("/").status_code == 302


# --- password reset ------------------------------------------------------------------------------


def test_password_reset_reveals_nothing_about_which_addresses_exist(alice):
    known = HttpClient().post("/accounts/password-reset/", {"email": "alice@example.com"})
    unknown = HttpClient().post("/accounts/password-reset/", {"email": "nobody@example.com"})
    assert known.status_code == unknown.status_code == 302
    assert known.url == unknown.url == "/accounts/password-reset/sent/"
    done_known = HttpClient().get(known.url).content.decode()
    done_unknown = HttpClient().get(unknown.url).content.decode()
    assert without_csrf(done_known) == without_csrf(done_unknown)
    # Mail only to the address that has an account.
    assert [m.to for m in mail.outbox] == [["alice@example.com"]]
