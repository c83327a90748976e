"""Backups, run as an administrator runs them: `referwell backup` and `referwell restore` in
subprocesses, each on a database of its own (never var/, never the suite's test database).

- The round trip runs on the suite's engine: its own SQLite file, or, when the suite runs on
  PostgreSQL (DATABASE_URL=postgres://…), a database of its own on that server, created and
  dropped here — so `make test` and the PostgreSQL run of CI each prove their engine's path.
- The other tests choose SQLite explicitly: the online backup API under a busy writer, the
  refusals, and an NPPES import killed with SIGKILL while staging and while merging.
"""

import hashlib
import json
import os
import secrets
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from cryptography.fernet import Fernet

from referwell.core import backup
from tests.conftest import shared

ROOT = Path(__file__).resolve().parent.parent
REFERWELL = Path(sys.executable).with_name("referwell")
SUITE_URL = os.environ.get("DATABASE_URL", "")
ON_POSTGRES = SUITE_URL.startswith(("postgres://", "postgresql://"))
KEY = Fernet.generate_key().decode()


def child_env(tmp: Path, url: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": url,
        "REFERWELL_VAR_DIR": str(tmp),
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "SECRET_KEY": "backup-tests-not-secret",
        "ENCRYPTION_KEYS": KEY,
    }


def sqlite_env(tmp: Path, name: str = "referwell.sqlite3") -> dict[str, str]:
    return child_env(tmp, f"sqlite:///{tmp / name}")


def run(env, *args, check=True, timeout=300):
    result = subprocess.run(
        [str(REFERWELL), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,  # not a terminal: restore must not ask, only refuse
    )
    if check:
        assert result.returncode == 0, result.stderr
    return result


def one_line_error(result) -> str:
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


def db_path(env) -> Path:
    return Path(env["DATABASE_URL"].removeprefix("sqlite:///"))


def table_counts(env) -> dict[str, int]:
    """Rows per table, read without Referwell's code."""
    url = env["DATABASE_URL"]
    if url.startswith("sqlite"):
        with closing(sqlite3.connect(db_path(env))) as db:
            names = [
                row[0]
                for row in db.execute(
                    "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'"
                )
            ]
            return {n: db.execute(f'SELECT COUNT(*) FROM "{n}"').fetchone()[0] for n in names}
    import psycopg

    with psycopg.connect(url) as db:
        names = [
            row[0]
            for row in db.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        ]
        return {n: db.execute(f'SELECT COUNT(*) FROM "{n}"').fetchone()[0] for n in names}


def applied_migrations(env) -> dict[str, list[str]]:
    url = env["DATABASE_URL"]
    query = "SELECT app, name FROM django_migrations"
    if url.startswith("sqlite"):
        with closing(sqlite3.connect(db_path(env))) as db:
            rows = db.execute(query).fetchall()
    else:
        import psycopg

        with psycopg.connect(url) as db:
            rows = db.execute(query).fetchall()
    applied: dict[str, list[str]] = {}
    for app, name in rows:
        applied.setdefault(app, []).append(name)
    return {app: sorted(names) for app, names in applied.items()}


def sql(env, statement: str) -> None:
    url = env["DATABASE_URL"]
    if url.startswith("sqlite"):
        with closing(sqlite3.connect(db_path(env))) as db:
            db.execute(statement)
            db.commit()
        return
    import psycopg

    with psycopg.connect(url) as db:
        db.execute(statement)


@pytest.fixture
def suite_engine_env(tmp_path):
    """An empty database of the suite's engine for the child processes."""
    if not ON_POSTGRES:
        yield sqlite_env(tmp_path)
        return
    import psycopg

    parts = urlsplit(SUITE_URL)
    name = f"referwell_backup_{secrets.token_hex(4)}"
    admin_url = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield child_env(tmp_path, urlunsplit(parts._replace(path=f"/{name}")))
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def migrated_sqlite(tmp_path_factory) -> Path:
    """A migrated, empty SQLite database, copied by the tests that need one."""
    tmp = tmp_path_factory.mktemp("migrated")
    env = sqlite_env(tmp)
    run(env, "migrate", "--noinput")
    return db_path(env)


def copy_database(source: Path, target: Path) -> None:
    with closing(sqlite3.connect(source)) as src, closing(sqlite3.connect(target)) as dst:
        src.backup(dst)


# ---------------------------------------------------------------------------- the round trip


def test_backup_then_restore_round_trip_on_the_suites_engine(suite_engine_env, tmp_path):
    env = suite_engine_env
    engine = "postgresql" if ON_POSTGRES else "sqlite"
    run(env, "migrate", "--noinput")
    run(env, "demo", "--json")
    before = table_counts(env)
    assert before["clients_client"] > 0 and before["directory_touchpoint"] > 0

    folder = tmp_path / "backups"
    folder.mkdir()
    made = json.loads(run(env, "backup", "--out", str(folder), "--json").stdout)
    path = Path(made["backup"])
    assert path.parent == folder and path.name.startswith("referwell-")
    assert path.suffix == (".dump" if ON_POSTGRES else ".sqlite3")
    manifest = json.loads(Path(made["manifest"]).read_text())
    assert manifest["engine"] == made["engine"] == engine
    assert manifest["sha256"] == made["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert manifest["size"] == path.stat().st_size
    assert manifest["tables"] == before
    assert manifest["migrations"] == applied_migrations(env)
    assert manifest["integrity_check"] == (None if ON_POSTGRES else "ok")
    # Health information: readable by its owner only.
    assert path.stat().st_mode & 0o777 == 0o600
    assert Path(made["manifest"]).stat().st_mode & 0o777 == 0o600

    # Life goes on: a practice is added, the touchpoints are deleted.
    run(env, "create-practice", "--slug", "after-backup", "--name", "After", "--owner-email",
        "after@example.com", "--password", "a-long-password")  # fmt: skip
    sql(env, "DELETE FROM directory_touchpoint")
    changed = table_counts(env)
    assert changed != before and changed["directory_touchpoint"] == 0

    # Not a terminal and the database holds data: refused without --yes, nothing changed.
    refused = one_line_error(run(env, "restore", str(path), check=False))
    assert "--yes" in refused
    assert table_counts(env) == changed

    # A damaged copy is refused before anything is touched.
    damaged = folder / "damaged" / path.name
    damaged.parent.mkdir()
    shutil.copy(path, damaged)
    shutil.copy(backup.manifest_path(path), backup.manifest_path(damaged))
    data = bytearray(damaged.read_bytes())
    data[len(data) // 2] ^= 0xFF
    damaged.write_bytes(bytes(data))
    error = one_line_error(run(env, "restore", str(damaged), "--yes", check=False))
    assert "damaged or was altered" in error and "nothing was restored" in error
    assert table_counts(env) == changed

    restored = json.loads(run(env, "restore", str(path), "--yes", "--json").stdout)
    assert restored["checksum"] == "ok" and restored["sha256"] == manifest["sha256"]
    assert restored["counts_match"] and restored["migrations_match"]
    assert restored["integrity_check"] == (None if ON_POSTGRES else "ok")
    assert restored["rows"] == sum(before.values())
    # Checked again here, without Referwell's code: the database is the backup's.
    assert table_counts(env) == before
    assert applied_migrations(env) == manifest["migrations"]
    # The database as it was before the restore was saved first, and is itself restorable.
    safety = Path(restored["safety_backup"])
    safety_manifest = json.loads(backup.manifest_path(safety).read_text())
    assert safety.name.startswith("pre-restore-")
    assert safety_manifest["tables"] == changed
    assert safety_manifest["sha256"] == hashlib.sha256(safety.read_bytes()).hexdigest()

    # The human-readable restore prints its verification.
    out = run(env, "restore", str(path), "--yes").stdout
    assert "Checksum: ok" in out and "Verified: row counts of" in out
    assert ("integrity_check: ok" in out) is (not ON_POSTGRES)


# ---------------------------------------------------------------------------- SQLite specifics


def test_backup_under_a_busy_writer_is_one_consistent_snapshot(migrated_sqlite, tmp_path):
    """The online backup copies one snapshot while another process keeps committing."""
    env = sqlite_env(tmp_path)
    copy_database(migrated_sqlite, db_path(env))
    with closing(sqlite3.connect(db_path(env))) as db:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("CREATE TABLE load_test (n INTEGER NOT NULL, batch INTEGER NOT NULL)")
    stop = tmp_path / "stop"
    writer_code = (
        "import sqlite3, sys, pathlib\n"
        "db = sqlite3.connect(sys.argv[1], timeout=10, isolation_level=None)\n"
        "db.execute('PRAGMA busy_timeout=10000')\n"
        "batch = 0\n"
        "while not pathlib.Path(sys.argv[2]).exists():\n"
        "    db.execute('BEGIN IMMEDIATE')\n"
        "    db.executemany('INSERT INTO load_test VALUES (?, ?)', [(i, batch) for i in range(100)])\n"
        "    db.execute('COMMIT')\n"
        "    batch += 1\n"
        "print(batch)\n"
    )
    writer = subprocess.Popen(
        [sys.executable, "-c", writer_code, str(db_path(env)), str(stop)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        seen = []
        for i in range(3):
            made = json.loads(
                run(env, "backup", "--out", str(tmp_path / f"b{i}.sqlite3"), "--json").stdout
            )
            assert made["integrity_check"] == "ok"
            rows = json.loads(backup.manifest_path(Path(made["backup"])).read_text())["tables"]
            with closing(sqlite3.connect(made["backup"])) as copy:
                in_copy = copy.execute("SELECT COUNT(*) FROM load_test").fetchone()[0]
                batches = copy.execute("SELECT COUNT(DISTINCT batch) FROM load_test").fetchone()[0]
                mode = copy.execute("PRAGMA journal_mode").fetchone()[0]
            # Whole transactions only, and the manifest counts what the file holds.
            assert in_copy == rows["load_test"] == 100 * batches
            assert mode == "delete"  # one self-contained file, no -wal beside it
            seen.append(in_copy)
    finally:
        stop.touch()
        out, err = writer.communicate(timeout=60)
    # The writer never waited for a lock long enough to fail, and kept writing meanwhile.
    assert writer.returncode == 0, err
    committed = int(out)
    assert seen == sorted(seen) and seen[-1] < 100 * committed


def test_refusals_are_one_line_and_change_nothing(migrated_sqlite, tmp_path):
    env = sqlite_env(tmp_path)
    copy_database(migrated_sqlite, db_path(env))
    run(env, "create-practice", "--slug", "kept", "--name", "Kept", "--owner-email",
        "kept@example.com", "--password", "a-long-password")  # fmt: skip
    before = table_counts(env)

    assert "No such directory" in one_line_error(
        run(env, "backup", "--out", str(tmp_path / "nowhere" / "b.sqlite3"), check=False)
    )
    existing = tmp_path / "existing.sqlite3"
    existing.write_text("precious")
    assert "never overwrites" in one_line_error(
        run(env, "backup", "--out", str(existing), check=False)
    )
    assert existing.read_text() == "precious"
    missing_db = sqlite_env(tmp_path, "absent.sqlite3")
    assert "No database at" in one_line_error(
        run(missing_db, "backup", "--out", str(tmp_path), check=False)
    )
    assert not db_path(missing_db).exists()

    made = json.loads(run(env, "backup", "--out", str(tmp_path / "good.sqlite3"), "--json").stdout)
    good = Path(made["backup"])
    assert "No such file" in one_line_error(
        run(env, "restore", str(tmp_path / "absent.sqlite3"), "--yes", check=False)
    )
    lonely = tmp_path / "lonely.sqlite3"
    shutil.copy(good, lonely)
    assert "No manifest" in one_line_error(run(env, "restore", str(lonely), "--yes", check=False))

    # A manifest edited to say something else: the checksum still matches, the content does
    # not; refused before the database is touched.
    liar = tmp_path / "liar.sqlite3"
    shutil.copy(good, liar)
    manifest = json.loads(backup.manifest_path(good).read_text())
    manifest["tables"]["accounts_practice"] += 1
    backup.manifest_path(liar).write_text(json.dumps(manifest))
    error = one_line_error(run(env, "restore", str(liar), "--yes", check=False))
    assert "does not hold what its manifest says" in error
    # A backup from a newer Referwell, with a migration this version does not know.
    newer = tmp_path / "newer.sqlite3"
    shutil.copy(good, newer)
    manifest = json.loads(backup.manifest_path(good).read_text())
    manifest["migrations"]["clients"].append("9999_from_the_future")
    backup.manifest_path(newer).write_text(json.dumps(manifest))
    assert "newer Referwell" in one_line_error(
        run(env, "restore", str(newer), "--yes", check=False)
    )
    assert table_counts(env) == before
    assert not (tmp_path / "backups").exists()  # no safety copy was made for a refusal

    # On a terminal it asks instead; anything but "yes" restores nothing.
    assert answer_on_a_terminal(env, good, "no\n").returncode == 1
    assert table_counts(env) == before
    sql(env, "DELETE FROM accounts_practice WHERE slug = 'kept'")
    said_yes = answer_on_a_terminal(env, good, "yes\n")
    assert said_yes.returncode == 0, said_yes.stderr
    assert "Type 'yes' to go on" in said_yes.stdout and "Verified:" in said_yes.stdout
    assert table_counts(env) == before


def answer_on_a_terminal(env, path: Path, answer: str) -> subprocess.CompletedProcess:
    import pty

    terminal, child_side = pty.openpty()
    try:
        proc = subprocess.Popen(
            [str(REFERWELL), "restore", str(path)],
            env=env,
            stdin=child_side,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        os.write(terminal, answer.encode())
        out, err = proc.communicate(timeout=120)
    finally:
        os.close(child_side)
        os.close(terminal)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def test_restore_into_a_new_database_needs_no_confirmation(migrated_sqlite, tmp_path):
    """Disaster recovery on a new machine: nothing there yet, nothing to confirm or save."""
    env = sqlite_env(tmp_path)
    copy_database(migrated_sqlite, db_path(env))
    run(env, "create-practice", "--slug", "elsewhere", "--name", "Elsewhere", "--owner-email",
        "e@example.com", "--password", "a-long-password")  # fmt: skip
    made = json.loads(run(env, "backup", "--out", str(tmp_path / "b.sqlite3"), "--json").stdout)
    fresh = sqlite_env(tmp_path / "new-machine", "fresh.sqlite3")
    Path(fresh["REFERWELL_VAR_DIR"]).mkdir()
    # Without the key that encrypted its clinical text, a backup is refused: nothing readable.
    other_key = {**fresh, "ENCRYPTION_KEYS": Fernet.generate_key().decode()}
    error = one_line_error(run(other_key, "restore", made["backup"], check=False))
    assert "not among the configured ENCRYPTION_KEYS" in error
    assert not db_path(fresh).exists()
    restored = json.loads(run(fresh, "restore", made["backup"], "--json").stdout)
    assert restored["safety_backup"] is None and restored["counts_match"]
    assert table_counts(fresh) == table_counts(env)
    with closing(sqlite3.connect(db_path(fresh))) as db:
        assert db.execute("SELECT slug FROM accounts_practice").fetchall() == [("elsewhere",)]


def test_postgres_tools_get_the_password_from_the_environment_only(tmp_path):
    settings_dict = {
        "NAME": "referwell",
        "USER": "rw",
        "PASSWORD": "s3cret",
        "HOST": "db.example",
        "PORT": 5433,
        "OPTIONS": {"sslmode": "require"},
    }
    env = backup._pg_env(settings_dict)
    assert (env["PGHOST"], env["PGPORT"], env["PGUSER"], env["PGDATABASE"]) == (
        "db.example",
        "5433",
        "rw",
        "referwell",
    )
    assert env["PGPASSWORD"] == "s3cret" and env["PGSSLMODE"] == "require"
    dump = backup.pg_dump_command(tmp_path / "x.dump", "00000003-1")
    restore = backup.pg_restore_command(tmp_path / "x.dump", "referwell")
    assert "--format=custom" in dump and "--snapshot=00000003-1" in dump
    assert {"--clean", "--single-transaction", "--exit-on-error"} <= set(restore)
    assert not any("s3cret" in arg for arg in dump + restore)


# ---------------------------------------------------------------------------- kill -9


ROWS = 20_000  # ~25 MB in the real layout

# The real command, paused (a flag file, then a long sleep) at a chosen point so that the
# SIGKILL lands there: after the whole file is staged, or inside the merge's transaction
# after every row has been written but before COMMIT.
PAUSED_IMPORT = """
import os, sys, time
import django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup()  # store imports the registry's models
from referwell.registry import store
where, flag = sys.argv[2], sys.argv[3]
original = getattr(store.Staging, where)
def paused(self, *args, **kwargs):
    if where == "_merge":
        original(self, *args, **kwargs)
    open(flag, "w").close()
    time.sleep(120)
    return original(self, *args, **kwargs)
setattr(store.Staging, where, paused)
from referwell.site.cli import main
main(["referwell", "import-nppes", sys.argv[1], "--json"])
"""


def registry_rows(path: Path) -> list[tuple]:
    with closing(sqlite3.connect(path)) as db:
        return db.execute(
            "SELECT npi, name, profession, taxonomy, taxonomies, address, zip_code, latitude,"
            " deactivated_on, fingerprint FROM registry_registryentry ORDER BY npi"
        ).fetchall()


@pytest.mark.parametrize("where", ["merge", "_merge"], ids=["staged", "merging"])
def test_an_import_killed_with_sigkill_writes_nothing_and_can_be_rerun(
    migrated_sqlite, tmp_path, where
):
    """What the importer guarantees (referwell/registry/store.py): a whole file is staged,
    then merged in one transaction. Killed after staging, or inside the merge with every row
    written but not committed, it leaves the registry as it was, in a sound database; the
    next import removes the dead run's staging file and loads the same registry as a clean
    import."""
    shared("data", "npidata_pfile_header_v2.csv")  # the NPPES layout the file is written in
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from bench.nppes_bench import generate_file

    source = tmp_path / "npidata_pfile_20250101-20250131.csv"
    generate_file(source, ROWS, seed=9)
    env = sqlite_env(tmp_path)
    database = db_path(env)
    copy_database(migrated_sqlite, database)
    flag = tmp_path / "paused"
    child = subprocess.Popen(
        [sys.executable, "-c", PAUSED_IMPORT, str(source), where, str(flag)],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    deadline = time.monotonic() + 120
    try:
        while not flag.exists() and child.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        assert flag.exists(), f"the import did not pause: {child.stderr.read()}"
        assert list(database.parent.glob(".nppes-staging-*")), "staged beside the database"
    finally:
        os.killpg(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL

    with closing(sqlite3.connect(database)) as db:
        assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        statuses = db.execute("SELECT status FROM registry_importrun").fetchall()
    assert registry_rows(database) == []  # nothing of the killed import
    assert statuses == [("running",)]  # the killed run could not record its end

    rerun = json.loads(run(env, "import-nppes", str(source), "--json").stdout)
    assert rerun["created"] == rerun["kept"] > 0
    assert rerun["updated"] == 0
    assert not list(database.parent.glob(".nppes-staging-*"))  # the dead run's file is gone
    with closing(sqlite3.connect(database)) as db:
        assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        # The killed run is no longer shown as running: the rerun recorded the interruption.
        assert db.execute(
            "SELECT status, error FROM registry_importrun WHERE status != 'done'"
        ).fetchall() == [("failed", "Interrupted before it finished; nothing of it was written.")]

    clean_env = sqlite_env(tmp_path, "clean.sqlite3")
    copy_database(migrated_sqlite, db_path(clean_env))
    clean = json.loads(run(clean_env, "import-nppes", str(source), "--json").stdout)
    assert clean["created"] == clean["kept"] == rerun["kept"]
    assert registry_rows(database) == registry_rows(db_path(clean_env))
