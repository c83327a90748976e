"""Backups of the whole database, and their restore (`referwell backup`, `referwell restore`).

A backup is one file and, beside it, a manifest (`<file>.manifest.json`) that says what the
file holds: the engine, the migrations applied, the rows of every table and the file's SHA-256.

- SQLite: the online backup API (`sqlite3.Connection.backup`) copies the database in one step,
  a consistent snapshot taken while the app keeps running (WAL: readers and writers are not
  stopped). The copy is switched to a rollback journal, so that it is one self-contained file,
  and checked with `PRAGMA integrity_check`; the manifest's counts are read from the copy.
- PostgreSQL: `pg_dump --format=custom` from PATH. A read-only REPEATABLE READ transaction
  exports its snapshot, pg_dump dumps that snapshot (`--snapshot`) and the rows are counted in
  it, so the manifest describes exactly what the dump holds although the app keeps writing.

A restore refuses a file whose SHA-256 differs from its manifest's before touching anything,
saves the database as it is (`pre-restore-…` beside the other backups) when it holds data,
restores (SQLite: the backup API into the configured database; PostgreSQL: `pg_restore
--clean --single-transaction`, all or nothing), then verifies: every table's row count equals
the manifest's, the migrations are the manifest's and, on SQLite, `PRAGMA integrity_check` is ok.

Files are written beside their target and renamed when complete (never half a backup), with
mode 600 in a directory of mode 700: a backup holds health information.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import tempfile
import time
from collections.abc import Iterable
from contextlib import closing
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from django.db.backends.base.base import BaseDatabaseWrapper

FORMAT = "referwell-backup"
FORMAT_VERSION = 1
MANIFEST_SUFFIX = ".manifest.json"
EXTENSIONS = {"sqlite": ".sqlite3", "postgresql": ".dump"}
# Tables `referwell migrate` fills on its own: rows there are not "data" a restore would lose.
BOOKKEEPING_TABLES = frozenset(
    {"django_migrations", "django_content_type", "auth_permission", "directory_profession"}
)
PG_TIMEOUT = 6 * 3600  # seconds; a hung pg_dump must not hang a nightly job for ever


class BackupError(Exception):
    """A backup or restore that cannot be done, or did not verify; the message is one line."""


# ---------------------------------------------------------------------------- small helpers


def engine_of(connection: BaseDatabaseWrapper) -> str:
    if connection.vendor in EXTENSIONS:
        return str(connection.vendor)
    raise BackupError(f"Backups support SQLite and PostgreSQL, not {connection.vendor}.")


def manifest_path(backup: Path) -> Path:
    return backup.with_name(backup.name + MANIFEST_SUFFIX)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def backups_dir() -> Path:
    from django.conf import settings

    return Path(settings.VAR_DIR) / "backups"


def default_backup_path(engine: str, prefix: str = "referwell", folder: Path | None = None) -> Path:
    """var/backups/referwell-YYYYmmdd-HHMMSS.sqlite3 (or .dump); -2, -3… when that exists."""
    folder = backups_dir() if folder is None else folder
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    path = folder / f"{prefix}-{stamp}{EXTENSIONS[engine]}"
    n = 2
    while path.exists() or manifest_path(path).exists():
        path = folder / f"{prefix}-{stamp}-{n}{EXTENSIONS[engine]}"
        n += 1
    return path


def _backups_folder() -> Path:
    folder = backups_dir()
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise BackupError(f"Cannot create {folder}: {exc.strerror or exc}") from None
    return folder


def safety_backup_path(engine: str) -> Path:
    """Where a restore saves the database it replaces: var/backups/pre-restore-…"""
    return default_backup_path(engine, "pre-restore", _backups_folder())


def resolve_out(out: str | None, engine: str) -> Path:
    """Where to write: the default name in var/backups/, the default name inside a directory
    given as --out, or the file given. An existing file is never overwritten."""
    if out is None:
        return default_backup_path(engine, folder=_backups_folder())
    path = Path(out).expanduser()
    if path.is_dir():
        return default_backup_path(engine, folder=path)
    if not path.parent.is_dir():
        raise BackupError(f"No such directory: {path.parent}")
    if path.exists() or manifest_path(path).exists():
        raise BackupError(f"{path} already exists; a backup never overwrites a file.")
    return path


def _write_json(path: Path, payload: dict[str, Any]) -> None:
    fd, partial = tempfile.mkstemp(prefix=".manifest-", suffix=".partial", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(payload, handle, indent=2, sort_keys=False)
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(partial, path)
    finally:
        if os.path.exists(partial):
            os.unlink(partial)


def _fsync(path: Path) -> None:
    with path.open("rb") as handle:
        os.fsync(handle.fileno())


def _referwell_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("referwell")
    except PackageNotFoundError:
        return "unknown"


def key_ids() -> list[str]:
    """Short SHA-256 prints of the configured encryption keys (not the keys): the manifest
    says which keys the backup's clinical text needs, a restore checks one of them is here."""
    from django.conf import settings

    keys = getattr(settings, "ENCRYPTION_KEYS", None) or []
    return [hashlib.sha256(str(key).encode()).hexdigest()[:16] for key in keys]


def _migrations(rows: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    applied: dict[str, list[str]] = {}
    for app, name in rows:
        applied.setdefault(app, []).append(name)
    return {app: sorted(names) for app, names in sorted(applied.items())}


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _count_sql(quoted_table: str) -> str:
    # The table's name comes from the database's own catalogue and is quoted by the caller.
    return f"SELECT COUNT(*) FROM {quoted_table}"  # noqa: S608 # nosec B608


# ---------------------------------------------------------------------------- SQLite


def _sqlite_tables(db: sqlite3.Connection) -> list[str]:
    rows = db.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' "
        "ESCAPE '\\' ORDER BY name"
    ).fetchall()
    return [row[0] for row in rows]


def _sqlite_describe(db: sqlite3.Connection) -> tuple[dict[str, int], dict[str, list[str]], str]:
    """(rows per table, migrations applied, integrity_check's verdict) of a SQLite database."""
    tables = _sqlite_tables(db)
    counts = {t: db.execute(_count_sql(_quote(t))).fetchone()[0] for t in tables}
    migrations = (
        _migrations(db.execute("SELECT app, name FROM django_migrations").fetchall())
        if "django_migrations" in counts
        else {}
    )
    verdicts = [row[0] for row in db.execute("PRAGMA integrity_check").fetchall()]
    return counts, migrations, "ok" if verdicts == ["ok"] else "; ".join(verdicts)[:500]


def _sqlite_source_exists(connection: BaseDatabaseWrapper) -> None:
    name = str(connection.settings_dict["NAME"])
    in_memory = name == ":memory:" or "mode=memory" in name
    if not in_memory and not Path(name).is_file():
        raise BackupError(f"No database at {name}: nothing to back up.")


def _sqlite_backup(connection: BaseDatabaseWrapper, partial: Path) -> dict[str, Any]:
    _sqlite_source_exists(connection)
    connection.ensure_connection()
    source = connection.connection
    with closing(sqlite3.connect(partial)) as copy:
        # pages=-1: one step, so the copy is one snapshot even while the app writes.
        source.backup(copy, pages=-1)
        # The copy's header says WAL, like its source: make it one self-contained file.
        copy.execute("PRAGMA journal_mode = DELETE")
        counts, migrations, integrity = _sqlite_describe(copy)
    return {"tables": counts, "migrations": migrations, "integrity_check": integrity}


def _sqlite_restore(connection: BaseDatabaseWrapper, backup: Path) -> None:
    uri = backup.resolve().as_uri() + "?mode=ro"
    connection.close()
    connection.ensure_connection()
    target = connection.connection
    with closing(sqlite3.connect(uri, uri=True)) as source:
        # One step under the write lock: readers see the old database or the new one.
        source.backup(target, pages=-1)
    connection.close()


def _sqlite_check_backup(backup: Path, manifest: dict[str, Any]) -> None:
    """Before a restore: the file opens, is sound and holds what its manifest says."""
    uri = backup.resolve().as_uri() + "?mode=ro"
    try:
        with closing(sqlite3.connect(uri, uri=True)) as db:
            counts, _, integrity = _sqlite_describe(db)
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{backup.name} is not a readable SQLite database ({exc}).") from None
    if integrity != "ok":
        raise BackupError(f"{backup.name} fails PRAGMA integrity_check: {integrity}")
    wrong = _count_differences(manifest["tables"], counts)
    if wrong:
        raise BackupError(
            f"{backup.name} does not hold what its manifest says ({wrong[0]}); "
            "nothing was restored."
        )


# ---------------------------------------------------------------------------- PostgreSQL


def _pg_env(settings_dict: dict[str, Any]) -> dict[str, str]:
    """libpq's environment for pg_dump and pg_restore: the password never on a command line."""
    env = dict(os.environ)
    for key, var in (
        ("HOST", "PGHOST"),
        ("PORT", "PGPORT"),
        ("USER", "PGUSER"),
        ("PASSWORD", "PGPASSWORD"),
        ("NAME", "PGDATABASE"),
    ):
        if settings_dict.get(key):
            env[var] = str(settings_dict[key])
    options = settings_dict.get("OPTIONS") or {}
    for key, var in (
        ("sslmode", "PGSSLMODE"),
        ("sslrootcert", "PGSSLROOTCERT"),
        ("sslcert", "PGSSLCERT"),
        ("sslkey", "PGSSLKEY"),
        ("passfile", "PGPASSFILE"),
        ("service", "PGSERVICE"),
    ):
        if options.get(key):
            env[var] = str(options[key])
    return env


def pg_dump_command(partial: Path, snapshot: str | None = None) -> list[str]:
    command = ["pg_dump", "--format=custom", "--no-password", f"--file={partial}"]
    if snapshot:
        command.append(f"--snapshot={snapshot}")
    return command


def pg_restore_command(backup: Path, database: str) -> list[str]:
    # --single-transaction: a restore that fails half-way leaves the database as it was.
    return [
        "pg_restore",
        "--clean",
        "--if-exists",
        "--no-owner",
        "--no-privileges",
        "--single-transaction",
        "--exit-on-error",
        "--no-password",
        f"--dbname={database}",
        str(backup),
    ]


def _run_tool(command: list[str], env: dict[str, str]) -> None:
    tool = command[0]
    if shutil.which(tool) is None:
        raise BackupError(
            f"{tool} is not installed or not on PATH (it comes with PostgreSQL's client "
            "tools, e.g. the Debian package postgresql-client)."
        )
    try:
        result = subprocess.run(  # noqa: S603 - a fixed tool, arguments built here
            command, env=env, capture_output=True, text=True, timeout=PG_TIMEOUT, check=False
        )
    except subprocess.TimeoutExpired:
        raise BackupError(f"{tool} did not finish within {PG_TIMEOUT // 3600} hours.") from None
    if result.returncode != 0:
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        first = lines[0] if lines else f"exit status {result.returncode}"
        raise BackupError(f"{tool} failed: {first}")


def _pg_describe(cursor: Any) -> tuple[dict[str, int], dict[str, list[str]]]:
    cursor.execute(
        "SELECT schemaname, tablename FROM pg_tables "
        "WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1, 2"
    )
    names = [(schema, table) for schema, table in cursor.fetchall()]
    counts: dict[str, int] = {}
    for schema, table in names:
        key = table if schema == "public" else f"{schema}.{table}"
        cursor.execute(_count_sql(f"{_quote(schema)}.{_quote(table)}"))
        counts[key] = cursor.fetchone()[0]
    migrations: dict[str, list[str]] = {}
    if "django_migrations" in counts:
        cursor.execute("SELECT app, name FROM django_migrations")
        migrations = _migrations(cursor.fetchall())
    return counts, migrations


def _pg_backup(connection: BaseDatabaseWrapper, partial: Path) -> dict[str, Any]:
    import psycopg

    raw = psycopg.connect(**connection.get_connection_params())
    try:
        raw.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        raw.read_only = True
        with raw.cursor() as cursor:
            cursor.execute("SELECT pg_export_snapshot()")
            row = cursor.fetchone()
            assert row is not None  # the function returns one row
            snapshot = row[0]
            # The dump and the counts read the same snapshot, however busy the app is.
            _run_tool(pg_dump_command(partial, snapshot), _pg_env(connection.settings_dict))
            counts, migrations = _pg_describe(cursor)
        raw.rollback()
    finally:
        raw.close()
    return {"tables": counts, "migrations": migrations, "integrity_check": None}


def _pg_restore(connection: BaseDatabaseWrapper, backup: Path) -> None:
    connection.close()  # no session of ours holds a lock pg_restore --clean waits for
    database = str(connection.settings_dict["NAME"])
    try:
        _run_tool(pg_restore_command(backup, database), _pg_env(connection.settings_dict))
    except BackupError as exc:
        raise BackupError(f"{exc} (one transaction: the database is as it was)") from None


# ---------------------------------------------------------------------------- backup


def create_backup(out: Path, *, using: str = "default") -> dict[str, Any]:
    """Write the database's backup to `out` and its manifest beside it; return the manifest.
    An integrity_check that is not ok is recorded (and the backup kept): the caller says so."""
    from django.db import connections

    connection = connections[using]
    engine = engine_of(connection)
    started = time.monotonic()
    fd, name = tempfile.mkstemp(prefix=f".{out.name}-", suffix=".partial", dir=out.parent)
    os.close(fd)
    partial = Path(name)
    try:
        os.chmod(partial, 0o600)
        if engine == "sqlite":
            # Into the empty file of mode 600 (an empty file is an empty SQLite database).
            described = _sqlite_backup(connection, partial)
        else:
            described = _pg_backup(connection, partial)
        _fsync(partial)
        os.replace(partial, out)
    except OSError as exc:
        raise BackupError(f"Cannot write {out}: {exc.strerror or exc}") from None
    except sqlite3.Error as exc:
        raise BackupError(f"SQLite could not back up the database: {exc}") from None
    finally:
        for leftover in (partial, Path(f"{partial}-journal"), Path(f"{partial}-wal")):
            if leftover.exists():
                leftover.unlink()
    tables = described["tables"]
    manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "referwell_version": _referwell_version(),
        "engine": engine,
        "file": out.name,
        "size": out.stat().st_size,
        "sha256": sha256_file(out),
        "integrity_check": described["integrity_check"],
        "encryption_key_ids": key_ids(),
        "migrations": described["migrations"],
        "tables": tables,
        "rows": sum(tables.values()),
        "seconds": round(time.monotonic() - started, 3),
    }
    try:
        _write_json(manifest_path(out), manifest)
        os.chmod(manifest_path(out), 0o600)
    except OSError as exc:
        raise BackupError(f"Cannot write {manifest_path(out)}: {exc.strerror or exc}") from None
    return manifest


# ---------------------------------------------------------------------------- restore


def read_manifest(path: str | Path) -> tuple[Path, dict[str, Any]]:
    """The backup file and its manifest, from the path of either."""
    given = Path(path).expanduser()
    if given.name.endswith(MANIFEST_SUFFIX):
        backup, manifest_file = given.with_name(given.name[: -len(MANIFEST_SUFFIX)]), given
    else:
        backup, manifest_file = given, manifest_path(given)
    if not backup.is_file():
        raise BackupError(f"No such file: {backup}")
    if not manifest_file.is_file():
        raise BackupError(
            f"No manifest beside {backup.name} ({manifest_file.name}): a backup is restored "
            "only with the manifest that checks it."
        )
    try:
        manifest = json.loads(manifest_file.read_text(encoding="utf-8"))
    except (OSError, UnicodeError, ValueError) as exc:
        raise BackupError(f"{manifest_file.name} cannot be read as JSON ({exc}).") from None
    needed = ("format", "engine", "sha256", "size", "tables", "migrations")
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError(f"{manifest_file.name} is not a Referwell backup manifest.")
    if missing := [key for key in needed if key not in manifest]:
        raise BackupError(f"{manifest_file.name} lacks {', '.join(missing)}.")
    if manifest.get("format_version", 0) > FORMAT_VERSION:
        raise BackupError(f"{backup.name} was made by a newer Referwell; upgrade first.")
    return backup, manifest


def verify_checksum(backup: Path, manifest: dict[str, Any]) -> str:
    """The file's SHA-256, which must be the manifest's; else BackupError (nothing changed)."""
    size = backup.stat().st_size
    digest = sha256_file(backup)
    if size != manifest["size"] or digest != manifest["sha256"]:
        raise BackupError(
            f"{backup.name} is damaged or was altered: its SHA-256 is not the one in its "
            "manifest; nothing was restored."
        )
    return digest


def check_content(backup: Path, manifest: dict[str, Any]) -> None:
    """Before anything is touched: the file is what its manifest describes. SQLite: it opens,
    passes integrity_check and holds the manifest's rows; PostgreSQL: pg_restore reads its
    table of contents."""
    if manifest["engine"] == "sqlite":
        _sqlite_check_backup(backup, manifest)
    else:
        _run_tool(["pg_restore", "--list", str(backup)], dict(os.environ))


def rows_of_data(*, using: str = "default") -> int:
    """Rows in the database outside the tables `migrate` fills (0: nothing a restore loses)."""
    from django.db import connections

    connection = connections[using]
    if connection.vendor == "sqlite":
        try:
            _sqlite_source_exists(connection)
        except BackupError:
            return 0  # no database yet: the restore creates it
    total = 0
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            if table in BOOKKEEPING_TABLES or table.startswith("sqlite_"):
                continue
            cursor.execute(_count_sql(connection.ops.quote_name(table)))
            total += cursor.fetchone()[0]
    return total


def check_compatible(manifest: dict[str, Any], *, using: str = "default") -> list[str]:
    """Refuse (BackupError) what cannot be restored here; return notes for what can."""
    from django.db import connections
    from django.db.migrations.loader import MigrationLoader

    connection = connections[using]
    engine = engine_of(connection)
    if manifest["engine"] != engine:
        raise BackupError(
            f"This is a {manifest['engine']} backup and the configured database is {engine}; "
            "restore it into a database of the same kind."
        )
    wanted = set(manifest.get("encryption_key_ids") or [])
    here = set(key_ids())
    if wanted and here and not wanted & here:
        raise BackupError(
            "The backup's clinical text was encrypted with a key that is not among the "
            "configured ENCRYPTION_KEYS (key id "
            f"{sorted(wanted)[0]}); configure that key first (see docs/privacy.md)."
        )
    known = set(MigrationLoader(None, ignore_no_migrations=True).disk_migrations)
    applied = {(app, name) for app, names in manifest["migrations"].items() for name in names}
    if unknown := sorted(applied - known):
        app, name = unknown[0]
        raise BackupError(
            f"The backup was made by a newer Referwell (migration {app}.{name} is unknown "
            "here); upgrade Referwell, then restore."
        )
    notes = []
    if known - applied:
        notes.append(
            "This version has migrations the backup had not applied: run `referwell migrate`."
        )
    return notes


def _count_differences(expected: dict[str, int], found: dict[str, int]) -> list[str]:
    wrong = []
    for table, rows in sorted(expected.items()):
        if table not in found:
            wrong.append(f"table {table} is missing")
        elif found[table] != rows:
            wrong.append(f"{table} has {found[table]} rows, the manifest says {rows}")
    return wrong


def describe_database(*, using: str = "default") -> dict[str, Any]:
    """Rows per table, migrations and (SQLite) integrity_check of the configured database."""
    from django.db import connections

    connection = connections[using]
    connection.close()
    connection.ensure_connection()
    if connection.vendor == "sqlite":
        counts, migrations, integrity = _sqlite_describe(connection.connection)
        return {"tables": counts, "migrations": migrations, "integrity_check": integrity}
    with connection.cursor() as cursor:
        counts, migrations = _pg_describe(cursor)
    return {"tables": counts, "migrations": migrations, "integrity_check": None}


def restore_backup(
    backup: Path, manifest: dict[str, Any], *, using: str = "default"
) -> dict[str, Any]:
    """Replace the configured database by the backup, then report its verification. The caller
    has run verify_checksum, check_compatible and check_content, and made its safety copy."""
    from django.db import connections

    connection = connections[using]
    engine = engine_of(connection)
    started = time.monotonic()
    try:
        if engine == "sqlite":
            _sqlite_restore(connection, backup)
        else:
            _pg_restore(connection, backup)
    except sqlite3.Error as exc:
        raise BackupError(f"SQLite could not restore the database: {exc}") from None
    seconds = round(time.monotonic() - started, 3)
    found = describe_database(using=using)
    wrong_counts = _count_differences(manifest["tables"], found["tables"])
    migrations_match = found["migrations"] == manifest["migrations"]
    problems = list(wrong_counts)
    if not migrations_match:
        problems.append("the migrations applied are not the manifest's")
    if engine == "sqlite" and found["integrity_check"] != "ok":
        problems.append(f"PRAGMA integrity_check: {found['integrity_check']}")
    return {
        "tables": len(manifest["tables"]),
        "rows": sum(manifest["tables"].values()),
        "counts_match": not wrong_counts,
        "migrations_match": migrations_match,
        "integrity_check": found["integrity_check"],
        "extra_tables": sorted(set(found["tables"]) - set(manifest["tables"])),
        "problems": problems,
        "seconds": seconds,
    }
