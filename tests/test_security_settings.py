"""Safe defaults: the Content-Security-Policy holds on every page (no inline script anywhere),
production settings pass `check --deploy`, and refuse to start without their secrets."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.urls import reverse

from tests.test_roles import marked  # noqa: F401  (the fixture: one of everything)
from tests.test_tenancy import OBJECTS, PAGES_WITHOUT_ID, app_patterns

ROOT = Path(__file__).resolve().parent.parent
INLINE_SCRIPT = re.compile(rb"<script(?![^>]*\bsrc=)[^>]*>", re.I)
EVENT_HANDLER = re.compile(rb"<[^>]+\son[a-z]+\s*=", re.I)
STYLE_ELEMENT = re.compile(rb"<style[\s>]", re.I)


@pytest.mark.django_db
def test_every_page_sends_the_policy_and_has_no_inline_script(alice_http, marked):  # noqa: F811
    checked = 0
    for _route, pattern in app_patterns():
        if pattern.name in OBJECTS:
            url = reverse(pattern.name, kwargs={"pk": marked[OBJECTS[pattern.name]].pk})
        elif pattern.name in PAGES_WITHOUT_ID:
            url = reverse(pattern.name)
        else:
            continue
        response = alice_http.get(url)
        if response.status_code != 200 or not response["Content-Type"].startswith("text/html"):
            continue
        checked += 1
        policy = response["Content-Security-Policy"]
        assert (
            "script-src 'self'" in policy
            and "unsafe-inline" not in policy.split("style-src-attr")[0]
        ), url
        assert "frame-ancestors 'none'" in policy
        assert not INLINE_SCRIPT.search(response.content), url
        assert not EVENT_HANDLER.search(response.content), url
        assert not STYLE_ELEMENT.search(response.content), url
        assert response["X-Content-Type-Options"] == "nosniff"
        assert response["X-Frame-Options"] == "DENY"
    assert checked >= 20


@pytest.mark.django_db
def test_public_pages_carry_the_policy_too(client, elm_grove):
    for url in (
        reverse("login"),
        reverse("refer_practice", kwargs={"practice_slug": elm_grove.slug}),
    ):
        response = client.get(url)
        assert response.status_code == 200, url
        assert "script-src 'self'" in response["Content-Security-Policy"]
        assert not INLINE_SCRIPT.search(response.content), url
        assert not STYLE_ELEMENT.search(response.content), url


def _production_env(tmp_path, **changes):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings_production",
        "SECRET_KEY": "k" * 20 + "a-long-random-production-secret-0123456789-xyz",
        "ENCRYPTION_KEYS": "s2OvbVAEpWdmYemhWLfqJGzTdHcTNNpUt7AI_qpRtuw=",
        "ALLOWED_HOSTS": "referwell.example",
        "REFERWELL_VAR_DIR": str(tmp_path),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'prod.sqlite3'}",
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
    }
    env.update(changes)
    # pytest-playwright sets it for the test process; a deployment never has it.
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    return env


def test_production_settings_pass_the_deploy_check(tmp_path):
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=_production_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_the_development_settings_do_warn_under_the_deploy_check(tmp_path):
    env = _production_env(tmp_path, DJANGO_SETTINGS_MODULE="config.settings", ENCRYPTION_KEYS="")
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    for check in ("security.W004", "security.W012", "referwell.W001"):
        assert check in result.stderr


@pytest.mark.parametrize("missing", ["SECRET_KEY", "ENCRYPTION_KEYS", "ALLOWED_HOSTS"])
def test_production_settings_refuse_to_start_without_their_secrets(tmp_path, missing):
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=_production_env(tmp_path, **{missing: ""}),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert f"{missing} must be set in the environment in production" in result.stderr


def test_no_secret_is_committed():
    """The repository holds no key: the development ones are generated into var/ (ignored)."""
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    assert not [f for f in tracked if f.startswith("var/") or f.endswith((".pem", ".key"))]
    ignored = (ROOT / ".gitignore").read_text()
    assert "var/" in ignored


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_browser_reports_no_policy_violation(page, live_server, alice, marked):  # noqa: F811
    from tests.test_browser import log_in

    violations = []
    page.on(
        "console",
        lambda msg: violations.append(msg.text) if "Content Security Policy" in msg.text else None,
    )
    log_in(page, live_server, "alice@example.com")
    for url in (
        "/",
        reverse("client_detail", kwargs={"pk": marked["client"].pk}),
        reverse("referral_detail", kwargs={"pk": marked["referral"].pk}),
        reverse("pipeline"),
        reverse("insights"),
        reverse("calendar_feed_page"),
    ):
        page.goto(live_server.url + url)
        page.wait_for_load_state("networkidle")
    # htmx works under the policy: the partner search swaps its results in.
    page.goto(live_server.url + reverse("partner_list"))
    with page.expect_response(lambda r: "q=Dana" in r.url):
        page.get_by_role("textbox", name="Search", exact=True).press_sequentially("Dana")
    page.wait_for_load_state("networkidle")
    assert page.get_by_text("Dr. Dana Spine").first.is_visible()
    # The practice's referral address selects itself on a click: app.js, no inline handler.
    page.goto(live_server.url + reverse("inbound_list"))
    field = page.locator("input[data-select-on-click]").first
    field.click()
    selected = page.evaluate(
        "() => { const f = document.querySelector('input[data-select-on-click]');"
        " return [f.selectionStart, f.selectionEnd, f.value.length]; }"
    )
    assert selected[0] == 0 and selected[1] == selected[2] > 0
    assert violations == []
