"""SQLite under concurrent writers: no "database is locked", no lost write.

Six processes with the settings of a real install (config.settings: WAL, IMMEDIATE
transactions, a busy timeout) write for eight seconds through the app's services — a referral
created, moved from draft to discussed, a touchpoint — on a SQLite file of their own, migrated
once. bench/sqlite_writers_bench.py runs them (the same script `make bench` runs longer); the
database is then counted here, with sqlite3 alone, against the writes the processes reported.

Without the writers' queue of referwell/core/sqlite/ (SQLite's busy handler alone), this run
on two busy cores had its slowest write wait 4.8 s and two fail after the 5 s busy timeout.
"""

import fcntl
import json
import os
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WRITERS = 6
SECONDS = 8


def test_concurrent_writers_get_no_lock_error_and_lose_no_write(tmp_path):
    db = tmp_path / "writers.sqlite3"
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "sqlite_writers_bench.py"),
            "--writers",
            str(WRITERS),
            "--seconds",
            str(SECONDS),
            "--db",
            str(db),
            "--json",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    report = json.loads(result.stdout.strip().splitlines()[-1])
    written = report["written"]

    assert report["errors"] == 0, report["error_messages"]
    # Every writer wrote, and many times: they really ran side by side.
    assert len(report["per_writer"]) == WRITERS
    assert all(n >= 3 for n in report["per_writer"]), report["per_writer"]
    assert written["referrals"] >= WRITERS * 2

    with closing(sqlite3.connect(db)) as conn:

        def count(sql: str) -> int:
            return conn.execute(sql).fetchone()[0]

        assert count("PRAGMA journal_mode") == "wal"
        assert count("SELECT count(*) FROM referrals_referral") == written["referrals"]
        assert (
            count("SELECT count(*) FROM referrals_referral WHERE status = 'discussed'")
            == written["transitions"]
        )
        # One event per creation and one per move.
        assert (
            count("SELECT count(*) FROM referrals_referralevent")
            == written["referrals"] + written["transitions"]
        )
        assert count("SELECT count(*) FROM directory_touchpoint") == written["touchpoints"]
        # One audit entry per write, each chained to the one before: the chain is whole.
        assert count("SELECT count(*) FROM audit_auditentry") == report["audit_before"] + sum(
            written.values()
        )
    assert report["audit_chain_ok"] is True
    assert report["lost"] == 0
    assert result.returncode == 0, result.stderr[-2000:]


def test_two_migrations_at_once_on_a_new_sqlite_file_apply_each_migration_once(tmp_path):
    """Two processes running `referwell migrate` at the same moment (two services started
    together): a lock file beside the database lets one at a time; Django's migrate alone
    would fail with "table … already exists" and record migrations twice."""
    db = tmp_path / "new.sqlite3"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": f"sqlite:///{db}",
        "REFERWELL_VAR_DIR": str(tmp_path),
    }
    env.pop("REDIS_URL", None)
    procs = [
        subprocess.Popen(
            [str(Path(sys.executable).with_name("referwell")), "migrate", "--noinput"],
            env=env,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [proc.communicate(timeout=120) for proc in procs]
    assert [proc.returncode for proc in procs] == [0, 0], [err[-2000:] for _, err in outputs]
    assert sorted("Applying " in out for out, _ in outputs) == [False, True]
    with closing(sqlite3.connect(db)) as conn:
        total, distinct = conn.execute(
            "SELECT count(*), count(DISTINCT app || '.' || name) FROM django_migrations"
        ).fetchone()
    assert total == distinct > 50


def test_a_transaction_holds_the_writer_lock_until_commit_or_rollback(tmp_path, db):
    from django.db.utils import ConnectionHandler

    path = tmp_path / "lock.sqlite3"
    handler = ConnectionHandler(
        {
            "default": {
                "ENGINE": "referwell.core.sqlite",
                "NAME": str(path),
                "OPTIONS": {"transaction_mode": "IMMEDIATE"},
            }
        }
    )
    conn = handler["default"]

    def lock_is_free() -> bool:
        with open(f"{path}.writer-lock", "a") as other:
            try:
                fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return False
            fcntl.flock(other, fcntl.LOCK_UN)
            return True

    try:
        for end in (conn.commit, conn.rollback):
            conn.set_autocommit(False, force_begin_transaction_with_broken_autocommit=True)
            conn.cursor().execute("CREATE TABLE IF NOT EXISTS t (x)")
            assert not lock_is_free()
            end()
            conn.set_autocommit(True)
            assert lock_is_free()
        # A statement outside a transaction does not take it.
        conn.cursor().execute("INSERT INTO t VALUES (1)")
        assert lock_is_free()
    finally:
        conn.close()
