"""Issue 20, items 12, 15, 16 and 17: password-reset rate limits, a cut audit tail seen, the
Django admin off (and behind two-factor when on), production refusing an e-mail backend that
sends nothing, rate limits in a shared cache, the API docs without a CDN."""

import importlib
import io
import json
import subprocess
import sys

import pytest
from django.core import mail
from django.core.management import call_command
from django.test import Client as HttpClient
from django.test import override_settings
from django.urls import clear_url_caches, reverse

from referwell.audit.checkpoints import checkpoints_take
from referwell.audit.models import AuditChain, AuditEntry
from referwell.audit.services import log_action
from tests.factories import UserFactory
from tests.test_audit import _verify
from tests.test_security_settings import ROOT, _production_env

pytestmark = pytest.mark.django_db


# ----------------------------------------------------------------- 12: password reset


def test_password_reset_sends_at_most_three_links_an_hour_to_one_address(alice):
    http = HttpClient()
    for _ in range(6):
        response = http.post(reverse("password_reset"), {"email": "alice@example.com"})
        assert response.status_code == 302  # the same answer every time: nothing revealed
    assert len(mail.outbox) == 3


def test_password_reset_from_one_address_is_slowed_down(db):
    http = HttpClient()
    statuses = [
        http.post(reverse("password_reset"), {"email": f"p{i}@example.com"}).status_code
        for i in range(12)
    ]
    assert statuses[:10] == [302] * 10
    assert statuses[10] == 429
    response = http.post(reverse("password_reset"), {"email": "x@example.com"})
    assert b"Too many reset requests" in response.content


# ----------------------------------------------------------------- 15: a cut tail


def _entries(practice, n):
    return [
        log_action(practice=practice, actor=None, action=f"referwell.test.step{i}", data={"i": i})
        for i in range(n)
    ]


def _cut_tail(practice, keep):
    """What an attacker with the database does: delete the newest, move the head back."""
    entries = list(AuditEntry.objects.filter(practice=practice).order_by("id"))
    AuditEntry.objects.filter(pk__in=[e.pk for e in entries[keep:]]).delete()
    AuditChain.objects.filter(practice=practice).update(head_hash=entries[keep - 1].hash)


def test_a_cut_tail_is_seen_against_the_latest_checkpoint(elm_grove, other_practice):
    _entries(elm_grove, 5)
    _entries(other_practice, 2)
    checkpoints_take([elm_grove.pk, other_practice.pk])
    assert _verify()[0] == 0
    _cut_tail(elm_grove, keep=3)
    code, report = _verify()
    assert code == 1
    (broken,) = report["broken"]
    assert broken["practice"] == "elm-grove"
    assert "newest entries were cut" in broken["reason"]


def test_entries_after_the_checkpoint_and_pruning_are_no_false_alarm(elm_grove):
    _entries(elm_grove, 3)
    checkpoints_take([elm_grove.pk])
    _entries(elm_grove, 2)
    assert _verify()[0] == 0
    # The retention, as the pruning commands run it: the trail is pruned, then checkpointed.
    with override_settings(AUDIT_RETENTION_DAYS=-1):
        call_command("prune_audit", stdout=io.StringIO())
    assert _verify()[0] == 0


def test_a_pruned_count_raised_in_the_database_does_not_excuse_a_cut(elm_grove):
    _entries(elm_grove, 5)
    checkpoints_take([elm_grove.pk])
    _cut_tail(elm_grove, keep=3)
    AuditChain.objects.filter(practice=elm_grove).update(pruned_count=100_000)
    code, report = _verify()
    assert code == 1 and "cut" in report["broken"][0]["reason"]


def test_a_forged_checkpoint_line_is_reported(elm_grove, settings):
    _entries(elm_grove, 3)
    checkpoints_take([elm_grove.pk])
    path = settings.AUDIT_CHECKPOINT_FILE
    line = json.loads(path.read_text().splitlines()[-1])
    line["entries"] = 2
    path.write_text(path.read_text() + json.dumps(line) + "\n")
    code, report = _verify()
    assert code == 1 and "signature" in report["broken"][0]["reason"]


def test_sweep_takes_a_checkpoint_file_only_its_owner_reads(elm_grove, settings):
    _entries(elm_grove, 2)
    call_command("sweep", stdout=io.StringIO())
    path = settings.AUDIT_CHECKPOINT_FILE
    (line,) = path.read_text().splitlines()
    assert json.loads(line)["entries"] == 2 and json.loads(line)["practice"] == elm_grove.pk
    assert path.stat().st_mode & 0o777 == 0o600


# ----------------------------------------------------------------- 16: the admin


def test_the_admin_is_off_by_default(db):
    staff = UserFactory(email="op@example.com", is_staff=True, is_superuser=True)
    http = HttpClient()
    http.force_login(staff)
    assert http.get("/admin/").status_code == 404


def test_when_turned_on_the_admin_wants_two_factor(db):
    from django.contrib import admin
    from django_otp.admin import OTPAdminSite

    import config.urls

    staff = UserFactory(email="op@example.com", is_staff=True, is_superuser=True)
    original = admin.site.__class__
    try:
        with override_settings(ADMIN_ENABLED=True):
            importlib.reload(config.urls)
            clear_url_caches()
            assert isinstance(admin.site, OTPAdminSite)
            http = HttpClient()
            http.force_login(staff)  # a password, no second factor
            with override_settings(ROOT_URLCONF=config.urls):
                response = http.get("/admin/clients/client/")
            assert response.status_code == 302 and "/admin/login/" in response.url
    finally:
        admin.site.__class__ = original
        importlib.reload(config.urls)
        clear_url_caches()


# ----------------------------------------------------------------- 17: configuration


@pytest.mark.parametrize("backend", ["console", "locmem", "filebased"])
def test_production_refuses_an_email_backend_that_sends_nothing(tmp_path, backend):
    env = _production_env(
        tmp_path, EMAIL_BACKEND=f"django.core.mail.backends.{backend}.EmailBackend"
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "EMAIL_BACKEND" in result.stderr and "smtp" in result.stderr


def test_rate_limits_count_in_a_shared_cache_in_every_setting(tmp_path):
    for module in ("config.settings", "config.settings_production"):
        env = _production_env(tmp_path, DJANGO_SETTINGS_MODULE=module, REDIS_URL="")
        result = subprocess.run(
            [
                sys.executable,
                "-c",
                "import django; django.setup(); from django.conf import settings; "
                "print(settings.CACHES['ratelimit']['BACKEND'])",
            ],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == "django.core.cache.backends.db.DatabaseCache", module


def test_the_api_docs_load_their_scripts_from_the_app(alice_http):
    response = alice_http.get("/api/v1/docs")
    assert response.status_code == 200
    page = response.content.decode()
    assert "/static/ninja/swagger-ui-bundle.js" in page
    assert "cdn." not in page and "https://" not in page.split("<body")[0]
    assert alice_http.get("/static/ninja/swagger-ui-bundle.js").status_code == 200


def test_a_mail_server_that_never_answers_fails_the_send_in_seconds(tmp_path, settings):
    """EMAIL_TIMEOUT is set in every setting (10 s by default), so a silent SMTP server fails
    the send instead of holding the request, and the database's writers, open."""
    import socket
    import time

    env = _production_env(tmp_path, DJANGO_SETTINGS_MODULE="config.settings")
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from django.conf import settings; "
            "print(settings.EMAIL_TIMEOUT)",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "10"

    from django.core.mail import send_mail

    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(1)  # accepts the connection, never sends the SMTP greeting
    try:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", silent.getsockname()[1]
        settings.EMAIL_TIMEOUT = 1
        started = time.monotonic()
        with pytest.raises(OSError):
            send_mail("s", "b", "a@example.com", ["b@example.com"])
        assert time.monotonic() - started < 10
    finally:
        silent.close()
