"""The `referwell` console script, run as a user runs it: a subprocess on a throw-away database."""

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REFERWELL = Path(sys.executable).with_name("referwell")


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("cli")
    environ = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp / 'cli.sqlite3'}",
        "REFERWELL_VAR_DIR": str(tmp),
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }
    run(environ, "migrate", "--noinput")
    return environ


def run(environ, *args, check=True):
    result = subprocess.run(
        [str(REFERWELL), *args], env=environ, capture_output=True, text=True, timeout=120
    )
    if check:
        assert result.returncode == 0, result.stderr
    return result


def test_database_is_sqlite_in_wal_mode_with_foreign_keys(env):
    code = (
        "from django.db import connection\n"
        "c = connection.cursor()\n"
        "print(c.execute('PRAGMA journal_mode').fetchone()[0],"
        " c.execute('PRAGMA foreign_keys').fetchone()[0],"
        " c.execute('PRAGMA busy_timeout').fetchone()[0])"
    )
    out = run(env, "shell", "--no-imports", "-c", code).stdout.split()
    assert out == ["wal", "1", "5000"]


def test_demo_json_prints_exactly_one_object_and_is_idempotent(env):
    first = run(env, "demo", "--json")
    payload = json.loads(first.stdout)
    assert payload["practice"] == "elm-grove"
    roles = {login["role"] for login in payload["logins"]}
    assert {"owner", "front_desk"} <= roles
    assert all(login["email"] and login["password"] for login in payload["logins"])
    again = json.loads(run(env, "demo", "--json").stdout)
    assert again == payload


def test_create_practice_then_token_then_api(env):
    run(
        env,
        "create-practice",
        "--slug",
        "north-shore",
        "--name",
        "North Shore Massage",
        "--owner-email",
        "owner@northshore.example",
        "--password",
        "a-long-password",
    )
    out = run(
        env, "token", "--practice", "north-shore", "--email", "owner@northshore.example", "--json"
    ).stdout
    token = json.loads(out)["token"]
    assert token.startswith("rw_")
    code = (
        "from django.test import Client\n"
        f"auth = {{'Authorization': 'Bearer {token}'}}\n"
        "r = Client(SERVER_NAME='localhost', headers=auth).get('/api/v1/partners')\n"
        "print(r.status_code)"
    )
    assert run(env, "shell", "--no-imports", "-c", code).stdout.strip() == "200"


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (
            [
                "create-practice",
                "--slug",
                "Bad Slug",
                "--name",
                "x",
                "--owner-email",
                "a@b.example",
                "--password",
                "long-enough",
            ],
            "not a valid slug",
        ),
        (
            [
                "create-practice",
                "--slug",
                "elm-grove",
                "--name",
                "x",
                "--owner-email",
                "a@b.example",
                "--password",
                "long-enough",
            ],
            "already exists",
        ),
        (
            [
                "create-practice",
                "--slug",
                "ok",
                "--name",
                "x",
                "--owner-email",
                "not-an-email",
                "--password",
                "long-enough",
            ],
            "not an e-mail",
        ),
        (["token", "--practice", "nowhere", "--email", "a@b.example"], "No practice"),
        (["token", "--practice", "elm-grove", "--email", "stranger@b.example"], "No active member"),
        (["token", "--practice", "elm-grove"], "required"),
    ],
)
def test_bad_input_exits_non_zero_with_one_line_on_stderr(env, args, reason):
    run(env, "demo")
    result = run(env, *args, check=False)
    assert result.returncode != 0
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert reason in lines[0]


def test_serve_answers_http(env, tmp_path):
    import socket
    import time
    import urllib.request

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [str(REFERWELL), "serve", "--port", str(port), "--workers", "1"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.time() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health/", timeout=2) as r:  # noqa: S310
                    assert json.loads(r.read()) == {"status": "ok"}
                    break
            except OSError:
                assert time.time() < deadline, "the server did not answer within 30 s"
                time.sleep(0.3)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/accounts/login/", timeout=5) as r:  # noqa: S310
            page = r.read().decode()
        assert "Log in to Referwell" in page
        css = urllib.request.urlopen(f"http://127.0.0.1:{port}/static/referwell/app.css", timeout=5)  # noqa: S310
        assert css.status == 200
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_suggest_needs_no_database_and_prints_the_documented_json(tmp_path):
    environ = {
        **os.environ,
        # A database that does not exist: `suggest` must not touch one.
        "DATABASE_URL": "postgres://nobody@127.0.0.1:9/nowhere",
        "REFERWELL_VAR_DIR": str(tmp_path),
    }
    notes = "Rear-ended 3 weeks ago, neck pain. Denies numbness. Marriage in trouble."
    out = run(environ, "suggest", "--notes", notes, "--json").stdout
    payload = json.loads(out)
    assert list(payload) == ["suggestions"]
    by = {s["profession"]: s for s in payload["suggestions"]}
    assert set(by) == {"chiropractor", "physical-therapist", "psychotherapist"}
    for s in payload["suggestions"]:
        assert list(s) == [
            "profession",
            "reasons",
            "urgency",
            "sensitive",
            "timing",
            "timing_reason",
        ]
        assert s["urgency"] in ("emergency", "soon", "routine") and s["timing"] in ("now", "later")
    assert by["psychotherapist"]["sensitive"] is True
    assert by["chiropractor"]["timing"] == "now"  # default: a returning client
    first = json.loads(
        run(environ, "suggest", "--notes", notes, "--visit-number", "1", "--json").stdout
    )
    assert {s["timing"] for s in first["suggestions"]} == {"later"}
    emergency = json.loads(
        run(environ, "suggest", "--notes", "slurred speech and a drooping face", "--json").stdout
    )
    assert emergency["suggestions"][0] == {
        **emergency["suggestions"][0],
        "profession": "emergency-care",
        "urgency": "emergency",
        "timing": "now",
    }
    bad = run(environ, "suggest", "--notes", "x", "--visit-number", "0", check=False)
    assert bad.returncode != 0 and len(bad.stderr.strip().splitlines()) == 1


def test_a_database_that_is_not_set_up_is_one_line_not_a_traceback(tmp_path):
    environ = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'empty.sqlite3'}",
        "REFERWELL_VAR_DIR": str(tmp_path),
    }
    result = run(environ, "today", "--practice", "elm-grove", "--json", check=False)
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.strip().splitlines() == [
        "referwell: database error: no such table: accounts_practice (run `referwell migrate`?)"
    ]


def test_today_command_contract(env):
    run(env, "demo")
    # The demo keeps up: a week from now its Today has items (due by then, or overdue).
    a_week_on = (dt.date.today() + dt.timedelta(days=7)).isoformat()
    payload = json.loads(
        run(env, "today", "--practice", "elm-grove", "--on", a_week_on, "--json").stdout
    )
    assert list(payload) == ["items"] and payload["items"]
    for item in payload["items"]:
        assert list(item) == ["kind", "due", "overdue_days", "partner", "referral", "title"]
    bad = run(env, "today", "--practice", "elm-grove", "--on", "tomorrow", check=False)
    assert bad.returncode != 0 and "not a date" in bad.stderr
