"""SQLite under concurrent writers: N processes write through the app's real services for a
bounded time; each counts its writes and any OperationalError ("database is locked").

    python bench/sqlite_writers_bench.py [--writers 8] [--seconds 30] [--db PATH] [--json]

A fresh SQLite database (a temporary file unless --db) is migrated once with
`referwell migrate`, seeded with a practice, a client and a partner, then every writer, in a
process of its own (DJANGO_SETTINGS_MODULE=config.settings, so WAL, IMMEDIATE transactions and
the busy timeout of production), loops until the deadline over one cycle:

    referral_create (a referral out, draft)  →  referral_transition (draft → discussed)
    →  touchpoint_create (a call with the partner)

each a transaction with its audit entry chained to the practice's previous one. At the end the
rows in the database are counted and compared with the writes the writers reported, and the
audit chain is verified. One summary line — writes per second, the 99th percentile and the
longest time one write took (its wait for the lock included), errors, lost writes; with
--json, one JSON object (tests/test_sqlite_concurrency.py uses it).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PRACTICE = "sqlite-writers"
# A fixed key for the benchmark's throw-away database only.
BENCH_KEY = "s2OvbVAEpWdmYemhWLfqJGzTdHcTNNpUt7AI_qpRtuw="


def child_env(db: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    return env | {
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": f"sqlite:///{db}",
        "REFERWELL_VAR_DIR": str(db.parent),
        "SECRET_KEY": "sqlite-writers-bench",
        "ENCRYPTION_KEYS": BENCH_KEY,
        "PYTHONPATH": str(ROOT),
    }


def setup_django() -> None:
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def seed() -> None:
    """The practice, its owner, a client and a partner every writer writes about."""
    setup_django()
    from referwell.accounts.services import practice_create
    from referwell.clients.services import client_create
    from referwell.directory.services import partner_create

    practice = practice_create(
        slug=PRACTICE, name="SQLite writers", owner_email="owner@writers.example", password="x" * 12
    )
    client_create(practice=practice, by=None, fields={"first_name": "Ann", "last_name": "Lee"})
    partner_create(practice=practice, by=None, fields={"name": "Dr. Kim Park"})


def worker(number: int, seconds: float) -> None:
    """One writer: says "ready", waits for "go", loops over the cycle for `seconds`, then
    prints its counts as JSON."""
    setup_django()
    from django.db import OperationalError, close_old_connections

    from referwell.accounts.models import Practice, User
    from referwell.clients.models import Client
    from referwell.directory.models import Partner, TouchpointKind
    from referwell.directory.services import touchpoint_create
    from referwell.referrals.services import referral_create, referral_transition
    from referwell.referrals.states import Status

    practice = Practice.objects.get(slug=PRACTICE)
    user = User.objects.get(email="owner@writers.example")
    client = Client.objects.get(practice=practice)
    partner = Partner.objects.get(practice=practice)
    counts = {"referrals": 0, "transitions": 0, "touchpoints": 0}
    errors: list[str] = []
    print("ready", flush=True)
    sys.stdin.readline()  # "go": every writer starts at the same moment
    deadline = time.monotonic() + seconds
    waits: list[float] = []  # seconds per write, waiting for the lock included
    while time.monotonic() < deadline:
        step = "referrals"
        began = time.monotonic()
        try:
            referral = referral_create(
                practice=practice,
                by=user,
                fields={
                    "direction": "out",
                    "client": client,
                    "partner": partner,
                    "reasons": "Low back pain after lifting",
                },
            )
            counts["referrals"] += 1
            waits.append(time.monotonic() - began)
            step, began = "transitions", time.monotonic()
            referral_transition(referral=referral, to=Status.DISCUSSED, by=user)
            counts["transitions"] += 1
            waits.append(time.monotonic() - began)
            step, began = "touchpoints", time.monotonic()
            touchpoint_create(
                partner=partner, by=user, kind=TouchpointKind.CALL, date=dt.date(2026, 1, number)
            )
            counts["touchpoints"] += 1
            waits.append(time.monotonic() - began)
        except OperationalError as exc:
            errors.append(f"{step}: {exc}")
            close_old_connections()
    print(json.dumps({"worker": number, **counts, "errors": errors, "waits": waits}), flush=True)


def count_rows() -> dict[str, object]:
    """What the database holds after the run, and whether the audit chain is whole."""
    setup_django()
    from referwell.audit.models import AuditEntry
    from referwell.directory.models import Touchpoint
    from referwell.referrals.models import Referral, ReferralEvent
    from referwell.referrals.states import Status

    rows = {
        "referrals": Referral.objects.filter(practice__slug=PRACTICE).count(),
        "transitions": Referral.objects.filter(
            practice__slug=PRACTICE, status=Status.DISCUSSED
        ).count(),
        "events": ReferralEvent.objects.filter(practice__slug=PRACTICE).count(),
        "touchpoints": Touchpoint.objects.filter(practice__slug=PRACTICE).count(),
        "audit_entries": AuditEntry.objects.filter(practice__slug=PRACTICE).count(),
    }
    return rows


def run(*, writers: int, seconds: float, db: Path) -> dict[str, object]:
    env = child_env(db)
    me = [sys.executable, str(Path(__file__).resolve())]
    subprocess.run(
        [sys.executable, "-m", "referwell.site.cli", "migrate", "--noinput", "-v0"],
        env=env,
        cwd=ROOT,
        check=True,
    )
    subprocess.run([*me, "--seed", "--db", str(db)], env=env, cwd=ROOT, check=True)
    audit_before = json.loads(
        subprocess.run(
            [*me, "--count", "--db", str(db)],
            env=env,
            cwd=ROOT,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    )["audit_entries"]
    procs = [
        subprocess.Popen(
            [*me, "--worker", str(n), "--seconds", str(seconds)],
            env=env,
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for n in range(1, writers + 1)
    ]
    # Django's start-up takes a second or two per process: the clock starts once all are up.
    for proc in procs:
        assert proc.stdout is not None
        if proc.stdout.readline().strip() != "ready":
            raise SystemExit("a writer did not start")
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.flush()
    reports = []
    for proc in procs:
        out, _ = proc.communicate(timeout=seconds + 120)
        if proc.returncode != 0:
            raise SystemExit(f"a writer failed (exit status {proc.returncode})")
        reports.append(json.loads(out.strip().splitlines()[-1]))
    written = {k: sum(r[k] for r in reports) for k in ("referrals", "transitions", "touchpoints")}
    errors = [e for r in reports for e in r["errors"]]
    waits = sorted(w for r in reports for w in r["waits"]) or [0.0]
    rows = json.loads(
        subprocess.run(
            [*me, "--count", "--db", str(db)],
            env=env,
            cwd=ROOT,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    )
    verify = subprocess.run(
        [sys.executable, "-m", "referwell.site.cli", "verify-audit", "--json"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    writes = sum(written.values())
    return {
        "writers": writers,
        "seconds": seconds,
        "written": written,
        "writes": writes,
        "writes_per_second": round(writes / seconds, 1),
        "errors": len(errors),
        "p99_ms": round(waits[int(len(waits) * 0.99)] * 1000, 1),
        "max_ms": round(waits[-1] * 1000, 1),
        "error_messages": errors[:5],
        "per_writer": [sum(r[k] for k in written) for r in reports],
        "rows": rows,
        "audit_before": audit_before,
        "audit_chain_ok": verify.returncode == 0 and json.loads(verify.stdout)["ok"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--writers", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--db", type=Path, help="a new SQLite file (default: a temporary one)")
    parser.add_argument("--json", action="store_true")
    # Internal: the roles of the child processes.
    parser.add_argument("--seed", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--count", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.seed:
        return seed()
    if args.count:
        print(json.dumps(count_rows()))
        return None
    if args.worker is not None:
        return worker(args.worker, args.seconds)

    with tempfile.TemporaryDirectory(prefix="referwell-writers-") as tmp:
        db = args.db or Path(tmp) / "writers.sqlite3"
        if db.exists():
            raise SystemExit(f"{db} exists: give a new file")
        result = run(writers=args.writers, seconds=args.seconds, db=db)
    rows = result["rows"]
    written = result["written"]
    lost = sum(written[k] - rows[k] for k in written)  # type: ignore[index]
    if args.json:
        print(json.dumps(result | {"lost": lost}))
    else:
        print(
            f"sqlite writers: {result['writers']} processes × {result['seconds']:g} s: "
            f"{result['writes']} writes ({result['writes_per_second']}/s; referrals "
            f"{written['referrals']}, transitions {written['transitions']}, touchpoints "
            f"{written['touchpoints']}; p99 {result['p99_ms']} ms, max {result['max_ms']} ms), "
            f"{result['errors']} 'database is locked' errors, "
            f"{lost} lost writes, audit chain {'whole' if result['audit_chain_ok'] else 'BROKEN'}"
        )
    sys.exit(1 if result["errors"] or lost or not result["audit_chain_ok"] else 0)


if __name__ == "__main__":
    main()
