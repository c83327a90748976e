"""Past one machine: two app servers, one PostgreSQL database, one Redis.

Run as an administrator would deploy, with the production settings (config.settings_production)
and whatever the suite's own DATABASE_URL: a PostgreSQL database of this test's own
(h9b_deploy, created and dropped here) and a Redis database of its own (number 9, flushed).

- `referwell migrate` started by two processes at once: one applies the migrations, the other
  waits on the advisory lock and finds nothing left to do; no migration is recorded twice.
- Without REDIS_URL, production's cache is the database's: `referwell migrate` creates its table.
- `referwell serve` twice, on two ports: a partner written through one server's API is read
  through the other's; a login on one is a login on the other (sessions in the database); a
  rate limit counted on one is reached on the other (the cache is shared); /health/ answers on
  both; every line either server logs is a JSON object, without query strings or tokens.
"""

import http.client
import json
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

import pytest
import redis
from cryptography.fernet import Fernet

from tests.conftest import psql

ROOT = Path(__file__).resolve().parent.parent
REFERWELL = Path(sys.executable).with_name("referwell")
DATABASE = "h9b_deploy"
DATABASE_URL = f"postgres://postgres@127.0.0.1:5432/{DATABASE}"
REDIS_URL = "redis://127.0.0.1:6379/9"
OWNER = "owner@deploy.example"
PASSWORD = "deploy-password-1234"
LINK_LIMIT = 30  # referwell/referrals/public.py: LIMIT_PER_TEN_MINUTES


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def production_env(tmp: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "LOG_"))}
    return (
        env
        | {
            "DJANGO_SETTINGS_MODULE": "config.settings_production",
            "DATABASE_URL": DATABASE_URL,
            "REDIS_URL": REDIS_URL,
            "SECRET_KEY": "deploy-test-" + "x" * 50,
            "ENCRYPTION_KEYS": Fernet.generate_key().decode(),
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "REFERWELL_VAR_DIR": str(tmp / "var"),
            "STATIC_ROOT": str(tmp / "static"),
            "PYTHONUNBUFFERED": "1",
            "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        }
        | extra
    )


def referwell(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [str(REFERWELL), *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result


class Server:
    """`referwell serve` in a subprocess, asked over HTTP as the reverse proxy would."""

    def __init__(self, env: dict[str, str], tmp: Path, name: str) -> None:
        self.port = free_port()
        self.log_path = tmp / f"{name}.log"
        self.log = self.log_path.open("w")
        self.proc = subprocess.Popen(
            [str(REFERWELL), "serve", "--port", str(self.port), "--workers", "1", "--threads", "2"],
            env=env,
            cwd=ROOT,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    def request(self, method, path, *, headers=None, body=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            # The proxy terminates TLS and says so; without it, production redirects to HTTPS.
            conn.request(
                method, path, body=body, headers={"X-Forwarded-Proto": "https", **(headers or {})}
            )
            response = conn.getresponse()
            return response.status, response.headers, response.read()
        finally:
            conn.close()

    def wait_healthy(self, timeout: float = 40) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, self.log_path.read_text()[-3000:]
            try:
                # Plain HTTP, no X-Forwarded-Proto: /health/ is exempt from the HTTPS redirect.
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                conn.request("GET", "/health/")
                response = conn.getresponse()
                if response.status == 200 and json.loads(response.read()) == {"status": "ok"}:
                    return
            except OSError:
                pass
            time.sleep(0.25)
        raise AssertionError(f"server on {self.port} not healthy:\n{self.log_path.read_text()}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def cookies(headers) -> dict[str, str]:
    found = {}
    for value in headers.get_all("Set-Cookie") or []:
        name, _, rest = value.partition("=")
        found[name.strip()] = rest.split(";", 1)[0]
    return found


@pytest.fixture
def deploy_database():
    psql(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
    psql(f"CREATE DATABASE {DATABASE}")
    cache = redis.Redis.from_url(REDIS_URL)
    cache.flushdb()
    yield
    cache.flushdb()
    cache.close()
    psql(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")


def test_two_app_servers_share_one_postgresql_and_one_redis(deploy_database, tmp_path):
    env = production_env(tmp_path)

    # --- `referwell migrate` on deploy, from two servers starting at the same moment.
    migrations = [
        subprocess.Popen(
            [str(REFERWELL), "migrate", "--noinput"],
            env=env,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [proc.communicate(timeout=120) for proc in migrations]
    for proc, (_out, err) in zip(migrations, outputs, strict=True):
        assert proc.returncode == 0, err[-3000:]
    applied = sorted("Applying " in out for out, _ in outputs)
    assert applied == [False, True], [out[-500:] for out, _ in outputs]
    assert any("No migrations to apply." in out for out, _ in outputs)
    recorded = psql("SELECT count(*), count(DISTINCT (app, name)) FROM django_migrations", DATABASE)
    total, distinct = map(int, recorded.split("|"))
    assert total == distinct > 50

    # Production without Redis: the cache is a table, made by `referwell migrate`.
    no_redis = production_env(tmp_path, REDIS_URL="")
    for table in ("referwell_cache", "referwell_kept"):
        assert psql(f"SELECT to_regclass('{table}') IS NULL", DATABASE) == "t"
    referwell(no_redis, "migrate", "--noinput")
    for table in ("referwell_cache", "referwell_kept"):
        assert psql(f"SELECT to_regclass('{table}') IS NOT NULL", DATABASE) == "t"

    referwell(
        env,
        "create-practice",
        "--slug",
        "deploy",
        "--name",
        "Deploy Massage",
        "--owner-email",
        OWNER,
        "--password",
        PASSWORD,
    )
    token = json.loads(
        referwell(env, "token", "--practice", "deploy", "--email", OWNER, "--json").stdout
    )["token"]

    one, two = Server(env, tmp_path, "one"), Server(env, tmp_path, "two")
    try:
        one.wait_healthy()
        two.wait_healthy()
        api = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

        # --- A write through one server, read through the other.
        status, _, body = one.request(
            "POST", "/api/v1/partners", headers=api, body=json.dumps({"name": "Dr. Rosa Diaz"})
        )
        assert status in (200, 201), body
        partner_id = json.loads(body)["id"]
        status, _, body = two.request("GET", f"/api/v1/partners/{partner_id}", headers=api)
        assert status == 200, body
        assert json.loads(body)["name"] == "Dr. Rosa Diaz"
        status, _, body = two.request("GET", "/api/v1/partners?q=Rosa", headers=api)
        assert [p["id"] for p in json.loads(body)["items"]] == [partner_id]

        # --- A login on one server is a login on the other: the session is in the database.
        status, headers, body = one.request("GET", "/accounts/login/")
        assert status == 200
        csrf_cookie = cookies(headers)["csrftoken"]
        form_token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', body).group(1)
        status, headers, body = one.request(
            "POST",
            "/accounts/login/",
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "Cookie": f"csrftoken={csrf_cookie}",
                "Referer": f"https://127.0.0.1:{one.port}/accounts/login/",
            },
            body=urlencode(
                {
                    "username": OWNER,
                    "password": PASSWORD,
                    "csrfmiddlewaretoken": form_token.decode(),
                }
            ),
        )
        assert status == 302, body[:2000]
        session = cookies(headers)["sessionid"]
        assert "Secure" in " ".join(headers.get_all("Set-Cookie"))
        status, _, body = two.request(
            "GET", "/partners/", headers={"Cookie": f"sessionid={session}"}
        )
        assert status == 200
        assert b"Dr. Rosa Diaz" in body
        # Without the cookie, the same page sends to the login page.
        status, headers, _ = two.request("GET", "/partners/")
        assert status == 302 and "/accounts/login/" in headers["Location"]

        # --- A rate limit counted on one server is reached on the other: the cache is shared.
        for _ in range(LINK_LIMIT):
            status, _, _ = one.request("GET", "/l/not-a-real-token/")
            assert status == 404
        status, _, _ = two.request("GET", "/l/not-a-real-token/")
        assert status == 429

        # --- Plain HTTP is redirected to HTTPS, the health check is not.
        conn = http.client.HTTPConnection("127.0.0.1", two.port, timeout=10)
        conn.request("GET", "/partners/")
        assert conn.getresponse().status == 301
        conn.close()
    finally:
        one.stop()
        two.stop()

    # --- The logs (standard output and error, as journald gets them): one JSON object per
    # line, one line per request, nothing from the client.
    for server, writes in ((one, True), (two, False)):
        lines = [line for line in server.log_path.read_text().splitlines() if line.strip()]
        assert lines
        records = [json.loads(line) for line in lines]  # every line is JSON
        for record in records:
            assert {"time", "level", "logger", "message"} <= record.keys()
        requests = [r for r in records if r["logger"] == "referwell.request"]
        assert requests
        for record in requests:
            assert {"method", "path", "status", "duration_ms", "user_id"} <= record.keys()
            assert "?" not in record["path"]
        if writes:
            post = next(r for r in requests if r["method"] == "POST" and "partners" in r["path"])
            assert post["status"] in (200, 201) and post["user_id"] is not None
            links = [r for r in requests if r["path"].startswith("/l/")]
            assert links and all(r["path"] == "/l/<token>/" for r in links)
        text = server.log_path.read_text()
        assert "Rosa" not in text and "not-a-real-token" not in text and token not in text
        assert any(r["logger"].startswith("gunicorn") for r in records)


def test_serve_warms_up_before_the_workers_fork(monkeypatch):
    """Every template of ours compiles (the cached loader keeps them for the workers), the
    database connections are closed (none may be shared across the fork), and what was loaded
    is frozen out of the garbage collector's way."""
    import gc
    from pathlib import Path

    from django.db import connections

    import referwell
    from referwell.site.management.commands.serve import warm_up

    closed = []
    monkeypatch.setattr(connections, "close_all", lambda: closed.append(True))
    root = Path(referwell.__file__).resolve().parent
    ours = list(root.rglob("templates/**/*.html")) + list(
        (root.parent / "templates").glob("*.html")
    )
    try:
        assert warm_up() == len(ours) > 40
        assert closed == [True]
        assert gc.get_freeze_count() > 10_000
    finally:
        gc.unfreeze()
