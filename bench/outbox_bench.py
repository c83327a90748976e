"""Sending a referral while the mail server accepts connections and never answers.

    python bench/outbox_bench.py [--sends 40] [--json]

Two runs side by side on a fresh SQLite database (production settings: WAL, IMMEDIATE
transactions), each with a "silent" SMTP server (a socket that accepts and never speaks) and
EMAIL_TIMEOUT = 2 s:

- **inline** (the old way, tasks run at once inside the request's transaction: the send waits
  for the mail server while holding SQLite's write lock) — a few sends only, they are slow;
- **queued** (the outbox: the request writes the message and a task row; the worker sends).

Each send is `referral_send` (consent given, letter rendered, link issued, disclosure and audit
written) — what the "Send" button runs. Meanwhile another thread writes touchpoints (another
therapist at work) and its write times are recorded: with the send inside the lock, they wait.
Prints p50 / p95 per run, and the other writer's p95; target: queued send p95 < 150 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH_KEY = "s2OvbVAEpWdmYemhWLfqJGzTdHcTNNpUt7AI_qpRtuw="  # a throw-away database's only
TARGET_MS = 150


def p(values: list[float], q: float) -> float:
    values = sorted(values)
    return round(values[min(len(values) - 1, int(q * len(values)))] * 1000, 1)


def run(mode: str, sends: int) -> dict[str, object]:
    import datetime as dt

    from django.conf import settings
    from django.test.utils import override_settings

    from referwell.accounts.models import Practice, User
    from referwell.clients.models import Client
    from referwell.clients.services import consent_create
    from referwell.directory.models import Partner, TouchpointKind
    from referwell.directory.services import touchpoint_create
    from referwell.referrals.services import referral_create, referral_send, referral_transition
    from referwell.referrals.states import Status

    practice = Practice.objects.get(slug="outbox-bench")
    user = User.objects.get(email="owner@outbox.example")
    client = Client.objects.get(practice=practice)
    partner = Partner.objects.get(practice=practice)
    backend = (
        "django_tasks_db.DatabaseBackend"
        if mode == "queued"
        else "django_tasks.backends.immediate.ImmediateBackend"
    )
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(64)
    times: list[float] = []
    other: list[float] = []
    stop = threading.Event()

    def other_writer() -> None:
        from django.db import connection

        day = 1
        while not stop.is_set():
            began = time.perf_counter()
            touchpoint_create(
                partner=partner, by=user, kind=TouchpointKind.CALL, date=dt.date(2026, 1, day)
            )
            other.append(time.perf_counter() - began)
            day = day % 28 + 1
            time.sleep(0.02)
        connection.close()

    with override_settings(
        TASKS={"default": {"BACKEND": backend, "QUEUES": ["default"]}},
        EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=silent.getsockname()[1],
        EMAIL_TIMEOUT=2,
        OUTBOX_RETRY_MINUTES=(),  # one attempt: the bench measures the request, not retries
    ):
        assert settings.TASKS["default"]["BACKEND"] == backend
        thread = threading.Thread(target=other_writer)
        thread.start()
        for _ in range(sends):
            referral = referral_create(
                practice=practice,
                by=user,
                fields={"client": client, "partner": partner, "reasons": "Whiplash, 3 weeks"},
            )
            consent_create(client=client, by=None, fields={"partner": partner, "scope": "talk"})
            referral_transition(referral=referral, to=Status.CONSENTED, by=user)
            began = time.perf_counter()
            referral_send(referral=referral, by=user, base_url="http://bench.example/")
            times.append(time.perf_counter() - began)
        stop.set()
        thread.join()
    silent.close()
    return {
        "mode": mode,
        "sends": sends,
        "p50_ms": p(times, 0.5),
        "p95_ms": p(times, 0.95),
        "other_writer_p95_ms": p(other, 0.95) if other else None,
        "other_writer_max_ms": p(other, 1.0) if other else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sends", type=int, default=40)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="referwell-outbox-") as tmp:
        db = Path(tmp) / "outbox.sqlite3"
        env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"} | {
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DATABASE_URL": f"sqlite:///{db}",
            "REFERWELL_VAR_DIR": tmp,
            "SECRET_KEY": "outbox-bench",
            "ENCRYPTION_KEYS": BENCH_KEY,
            "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        }
        cli = [sys.executable, "-m", "referwell.site.cli"]
        subprocess.run([*cli, "migrate", "-v0"], env=env, check=True, cwd=ROOT)  # noqa: S603
        os.environ.update(env)
        sys.path.insert(0, str(ROOT))
        import django

        django.setup()
        from referwell.accounts.services import practice_create
        from referwell.clients.services import client_create
        from referwell.directory.services import partner_create

        practice = practice_create(
            slug="outbox-bench",
            name="Outbox",
            owner_email="owner@outbox.example",
            password="x" * 12,
        )
        client_create(practice=practice, by=None, fields={"first_name": "Ann", "last_name": "Lee"})
        partner_create(
            practice=practice, by=None, fields={"name": "Dr. Kim Park", "email": "kim@park.example"}
        )
        inline = run("inline", max(3, args.sends // 10))
        queued = run("queued", args.sends)
    ratio = round(inline["p95_ms"] / queued["p95_ms"], 1) if queued["p95_ms"] else None  # type: ignore[operator]
    if args.json:
        print(json.dumps({"inline": inline, "queued": queued, "ratio": ratio}))
    else:
        for r in (inline, queued):
            print(
                f"outbox, silent mail server: {r['mode']:7} send p50 {r['p50_ms']} ms, "
                f"p95 {r['p95_ms']} ms ({r['sends']} sends); another writer meanwhile: "
                f"p95 {r['other_writer_p95_ms']} ms, max {r['other_writer_max_ms']} ms"
            )
        print(f"queued send p95 {queued['p95_ms']} ms (target < {TARGET_MS} ms); {ratio}× faster")
    sys.exit(0 if queued["p95_ms"] < TARGET_MS else 1)  # type: ignore[operator]


if __name__ == "__main__":
    main()
