"""Where an import's rows wait, and the one transaction that merges them into the registry.

The rows of a whole file are staged first, then merged with a few set-based statements: an
import is all or nothing (a killed or failed import leaves the registry as it was), and a
monthly re-import rewrites only the rows whose values changed (their fingerprint, a hash of
the values written, tells). How the rows are staged depends on the database:

- SQLite, a database file, outside a transaction (the command): ADBC writes the Arrow batches
  into a staging file beside the database at C speed; the database then ATTACHes it.
  (Referwell's own connection never shares a file with ADBC's copy of SQLite.)
- SQLite otherwise (an in-memory database, inside a transaction — the tests): a TEMP table
  filled with `executemany`.
- PostgreSQL: a TEMP table filled with COPY, from CSV written by polars.

The SQL below is built from our own table and column names (the model's, quoted, and this
module's constants); every value is a parameter or staged data.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import polars as pl
from django.db import connection, models, transaction

from referwell.registry.layout import ENTRY_SCHEMA, Counts
from referwell.registry.models import RegistryEntry

# The registry's columns: its primary key, the NPI as a number, then the values.
COLUMNS = ["id", *ENTRY_SCHEMA]
_TYPES = {pl.String: "text", pl.Int64: "bigint", pl.Float64: "double precision"}


def fingerprinted(frame: pl.DataFrame, seed: int) -> pl.DataFrame:
    """The frame as the registry's rows: `id` (the NPI as a number) first, and `fingerprint`
    a 64-bit hash of the values it writes (stable for a given polars version; a new version
    rewrites each row once)."""
    values = [column for column in ENTRY_SCHEMA if column != "fingerprint"]
    return frame.select(
        pl.col("npi").cast(pl.Int64).alias("id"),
        *values,
        fingerprint=pl.struct(values).hash(seed).reinterpret(signed=True),
    )


def _postgres_columns() -> str:
    """PostgreSQL: the staging table's columns, typed as the registry's."""
    special = {"last_updated_on": "date", "deactivated_on": "date", "taxonomies": "jsonb"}
    return "id bigint, " + ", ".join(
        f"{name} {special.get(name, _TYPES[dtype])}" for name, dtype in ENTRY_SCHEMA.items()
    )


def _sqlite_staging_ddl(table: str, registry: str, temp: bool = False) -> tuple[str, list[str]]:
    """SQLite: `twin_ddl` of the registry's definition in the database."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT type, sql FROM sqlite_master WHERE tbl_name = %s AND sql IS NOT NULL",
            [registry.strip('"')],
        )
        return twin_ddl(cursor.fetchall(), table, registry, temp)


def twin_ddl(
    schema: list[tuple[str, str]], table: str, registry: str, temp: bool = False
) -> tuple[str, list[str]]:
    """From the registry's rows of SQLite's `sqlite_master` (type, sql): its own CREATE TABLE,
    for a staging table of that name, and its CREATE INDEX statements (for that table). The
    same columns, types and constraints make `INSERT INTO registry SELECT * FROM staging` into
    an empty registry copy the records and index entries as they are (SQLite's transfer
    optimisation) instead of decoding and encoding them. One change: a second row with the
    same NPI replaces the first (the file's last row counts)."""
    create = next(sql for kind, sql in schema if kind == "table")
    head, columns = create.split("(", 1)
    key = '"id" integer NOT NULL PRIMARY KEY AUTOINCREMENT'
    if registry not in head or key not in columns:
        raise RuntimeError(f"unexpected registry table: {create[:200]}")
    table_sql = f"CREATE {'TEMP ' if temp else ''}TABLE {table} (" + columns.replace(
        key, '"id" integer NOT NULL PRIMARY KEY ON CONFLICT REPLACE'
    )
    indexes = [
        sql.replace('CREATE INDEX "', 'CREATE INDEX "nppes_', 1).replace(
            f" ON {registry} ", f" ON {table} "
        )
        for kind, sql in schema
        if kind == "index"
    ]
    return table_sql, indexes


STAGING_PREFIX = ".nppes-staging-"


def _remove_dead_staging(directory: Path) -> None:
    """Staging files of imports that were killed (their process is gone)."""
    for path in directory.glob(f"{STAGING_PREFIX}*"):
        pid = path.name.removeprefix(STAGING_PREFIX).split("-", 1)[0]
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            path.unlink(missing_ok=True)
        except (ValueError, PermissionError):
            continue  # not ours, or a live process of another user


def _database_file() -> str | None:
    """The SQLite database's path when it is a plain file we may open beside Django."""
    name = str(connection.settings_dict["NAME"])
    if connection.vendor != "sqlite" or connection.in_atomic_block:
        return None
    if name.startswith("file:") or ":memory:" in name or not Path(name).is_file():
        return None
    return name


def _column(name: str) -> str:
    """The registry's column of a field."""
    field = RegistryEntry._meta.get_field(name)
    if not isinstance(field, models.Field) or not field.column:
        raise RuntimeError(f"{name} is not a column of the registry")
    return field.column


def _search_indexes() -> list[tuple[str, str]]:
    """(CREATE, DROP) statements of the registry's secondary indexes (plain column lists)."""
    quote = connection.ops.quote_name
    table = quote(RegistryEntry._meta.db_table)
    statements = []
    for index in RegistryEntry._meta.indexes:
        columns = ", ".join(quote(_column(name)) for name in index.fields)
        statements.append(
            (
                f"CREATE INDEX {quote(index.name)} ON {table} ({columns})",
                f"DROP INDEX {quote(index.name)}",
            )
        )
    return statements


class Staging:
    """The rows of one import, staged; `merge` writes them into the registry."""

    def __init__(self) -> None:
        self.registry = connection.ops.quote_name(RegistryEntry._meta.db_table)
        self.npis: list[pl.Series] = []
        self.rows = 0
        self._adbc: Any = None
        self._writer: ThreadPoolExecutor | None = None
        self._pending: Future[None] | None = None
        self._file: str | None = None
        sqlite = connection.vendor == "sqlite"
        if sqlite:
            # Into an empty registry, the staged rows are copied as they are, index entries
            # included (see _sqlite_staging_ddl): the staging table gets the registry's
            # indexes once its rows are in (built in the staging file, not in the database,
            # whose write lock is taken after). Otherwise only the changed rows are written.
            with connection.cursor() as cursor:
                cursor.execute(f"SELECT 1 FROM {self.registry} LIMIT 1")  # noqa: S608  # nosec B608
                empty = cursor.fetchone() is None
        self.twin = sqlite and empty  # the staging table gets the registry's indexes
        database = _database_file()
        # The staging table: in a file beside the database (ADBC), else a TEMP table.
        self.table = "nppes_staging.entries" if database is not None else "nppes_entries"
        twin_sql, self._twin_indexes = (
            _sqlite_staging_ddl(self.table.split(".")[-1], self.registry, temp=database is None)
            if sqlite
            else ("", [])
        )
        if database is not None:
            import adbc_driver_sqlite.dbapi

            _remove_dead_staging(Path(database).parent)
            handle, self._file = tempfile.mkstemp(
                prefix=f"{STAGING_PREFIX}{os.getpid()}-",
                suffix=".sqlite3",
                dir=Path(database).parent,
            )
            os.close(handle)
            os.unlink(self._file)  # ADBC creates it
            self._adbc = adbc_driver_sqlite.dbapi.connect(self._file, autocommit=True)
            with self._adbc.cursor() as cursor:
                # A scratch file, removed after the merge (and by the next import if this
                # one dies): no journal, no waiting for the disk.
                cursor.execute("PRAGMA journal_mode = OFF")
                cursor.execute("PRAGMA synchronous = OFF")
                # The registry's CHECKs (an entity type not below 0, taxonomies as valid
                # JSON) hold for every row the import makes — 1 or 2, a JSON list of codes —
                # and are part of the twin only so that SQLite may copy its records as they
                # are; not evaluating them for each staged row saves a fifth of its cost.
                cursor.execute("PRAGMA ignore_check_constraints = ON")
                cursor.execute(twin_sql)
            self._writer = ThreadPoolExecutor(1, thread_name_prefix="nppes-staging")
        else:
            with connection.cursor() as cursor:
                cursor.execute(f"DROP TABLE IF EXISTS {self.table}")
                if sqlite:
                    cursor.execute(twin_sql)
                else:
                    cursor.execute(
                        f"CREATE TEMP TABLE {self.table} ({_postgres_columns()}, seq bigserial)"
                    )

    def add(self, frame: pl.DataFrame) -> None:
        if not frame.height:
            return
        self.npis.append(frame.get_column("id"))
        if self._adbc is not None:
            # Written by a thread (ADBC lets go of the GIL) while the next batch is parsed;
            # one batch at a time.
            if self._pending is not None:
                self._pending.result()
            if self._writer is None:
                raise RuntimeError("the staging file is closed")
            self._pending = self._writer.submit(self._ingest, frame)
        elif connection.vendor == "postgresql":
            columns = ", ".join(COLUMNS)
            with connection.cursor() as cursor:
                with cursor.copy(f"COPY {self.table} ({columns}) FROM STDIN (FORMAT csv)") as copy:
                    copy.write(frame.write_csv(include_header=False))
        else:
            marks = ", ".join(["%s"] * len(COLUMNS))
            with connection.cursor() as cursor:
                cursor.executemany(
                    f"INSERT INTO {self.table} ({', '.join(frame.columns)}) "  # noqa: S608  # nosec B608 — our names
                    f"VALUES ({marks})",
                    frame.rows(),
                )
        self.rows += frame.height

    def _ingest(self, frame: pl.DataFrame) -> None:
        with self._adbc.cursor() as cursor:
            cursor.adbc_ingest("entries", frame, mode="append")

    def _wait(self) -> None:
        if self._pending is not None:
            pending, self._pending = self._pending, None
            pending.result()

    def close(self) -> None:
        """Drop what was staged (after a merge, or instead of one)."""
        if self._writer is not None:
            try:
                self._wait()
            except Exception:  # noqa: S110 — closing after a failure: the failure is reported
                pass
            self._writer.shutdown()
            self._writer = None
        if self._adbc is not None:
            self._adbc.close()
            self._adbc = None
        if self._file is not None:
            for suffix in ("", "-journal", "-wal", "-shm"):
                Path(self._file + suffix).unlink(missing_ok=True)
            self._file = None
        elif connection.connection is not None:
            with connection.cursor() as cursor:
                cursor.execute(f"DROP TABLE IF EXISTS {self.table}")
                cursor.execute("DROP TABLE IF EXISTS nppes_deactivations")

    # ------------------------------------------------------------------------ the merge

    def merge(
        self,
        deactivations: dict[str, str],
        counts: Counts,
        while_writing: Callable[[], None] | None = None,
        before_commit: Callable[[], None] | None = None,
    ) -> None:
        """One transaction: count, then insert or update the staged rows, then mark the
        deactivated NPIs that are in the registry (and not among the staged rows); then
        `before_commit`, whose exception undoes it all. `while_writing` is called as the
        transaction begins (for work that may run beside SQLite's, on another core)."""
        npis = pl.concat(self.npis) if self.npis else pl.Series("id", [], pl.Int64)
        unique = npis.n_unique()
        if deactivations:
            frame = pl.DataFrame(
                {"npi": list(deactivations), "day": list(deactivations.values())},
                schema={"npi": pl.String, "day": pl.String},
            )
            frame = frame.filter(~pl.col("npi").cast(pl.Int64).is_in(npis.implode()))
            deactivations = dict(frame.iter_rows())
        if self._adbc is not None:
            self._wait()
            if self.twin:
                with self._adbc.cursor() as cursor:
                    # SQLite sorts the index's keys with helper threads when allowed to.
                    cursor.execute(f"PRAGMA threads = {min(os.cpu_count() or 1, 4)}")
                    for statement in self._twin_indexes:
                        cursor.execute(statement)
            self._adbc.close()
            self._adbc = None
            with connection.cursor() as cursor:
                cursor.execute("ATTACH DATABASE %s AS nppes_staging", [self._file])
        elif self.twin:
            with connection.cursor() as cursor:
                for statement in self._twin_indexes:
                    cursor.execute(statement)
        try:
            with transaction.atomic():
                if while_writing is not None:
                    while_writing()
                self._merge(unique, unique < len(npis), deactivations, counts)
                if before_commit is not None:
                    before_commit()
        finally:
            if self._file is not None:
                with connection.cursor() as cursor:
                    cursor.execute("DETACH DATABASE nppes_staging")

    def _merge(
        self, unique: int, duplicates: bool, deactivations: dict[str, str], counts: Counts
    ) -> None:
        registry, staged = self.registry, self.table
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                # One merge at a time, as SQLite's one writer: what is counted below is what
                # is written. Searches read on.
                cursor.execute(f"LOCK TABLE {registry} IN SHARE ROW EXCLUSIVE MODE")
                if duplicates:  # the same NPI twice in the file: its last row counts
                    cursor.execute(
                        f"DELETE FROM {staged} a USING {staged} b "  # noqa: S608  # nosec B608
                        "WHERE a.id = b.id AND a.seq < b.seq"
                    )
            # (In SQLite's staging table, a row replaced the earlier one of its NPI.)
            cursor.execute(f"SELECT 1 FROM {registry} LIMIT 1")  # noqa: S608  # nosec B608
            empty = cursor.fetchone() is None
            if empty:  # a first import: every staged NPI is new
                total, existing, unchanged = unique, 0, 0
            else:
                cursor.execute(
                    f"SELECT count(*), count(r.id), "  # noqa: S608  # nosec B608
                    "coalesce(sum(CASE WHEN r.fingerprint = s.fingerprint THEN 1 ELSE 0 END), 0) "
                    f"FROM {staged} s LEFT JOIN {registry} r ON r.id = s.id"
                )
                total, existing, unchanged = cursor.fetchone()
            counts.created += total - existing
            counts.updated += existing - unchanged
            counts.unchanged += unchanged
            if deactivations and not empty:  # (an empty registry has no entry to deactivate)
                self._deactivate(cursor, deactivations, counts)
            if total == unchanged:
                return
            if empty and self.twin:
                # The staging table is the registry's twin, indexes included: SQLite copies
                # its records and index entries as they are (the transfer optimisation).
                cursor.execute(f"INSERT INTO {registry} SELECT * FROM {staged}")  # noqa: S608  # nosec B608
                return
            columns = ", ".join(COLUMNS)
            updates = ", ".join(f"{c} = excluded.{c}" for c in COLUMNS if c not in ("id", "npi"))
            changed = (
                f"NOT EXISTS (SELECT 1 FROM {registry} r WHERE r.id = s.id "  # noqa: S608
                "AND r.fingerprint = s.fingerprint)"
                if unchanged
                else "true"  # SQLite needs a WHERE before ON CONFLICT
            )
            # Into an empty registry, the search index is built once after the rows (a bulk
            # load, as the SQLite and PostgreSQL manuals advise) instead of row by row.
            indexes = _search_indexes() if empty else []
            for _create, drop in indexes:
                cursor.execute(drop)
            # None of the rows in the registry yet (a first import): a plain insert, cheaper.
            upsert = f" WHERE {changed} ON CONFLICT (id) DO UPDATE SET {updates}"
            if not existing:
                upsert = ""
            cursor.execute(
                f"INSERT INTO {registry} ({columns}) "  # noqa: S608  # nosec B608
                f"SELECT {columns} FROM {staged} s{upsert}"
            )
            if indexes and connection.vendor == "sqlite":
                # SQLite sorts the index's keys with helper threads when allowed to.
                cursor.execute(f"PRAGMA threads = {min(os.cpu_count() or 1, 4)}")
            for create, _drop in indexes:
                cursor.execute(create)

    def _deactivate(self, cursor: Any, deactivations: dict[str, str], counts: Counts) -> None:
        registry = self.registry
        day = "date" if connection.vendor == "postgresql" else "text"
        cursor.execute("DROP TABLE IF EXISTS nppes_deactivations")
        cursor.execute(f"CREATE TEMP TABLE nppes_deactivations (id bigint PRIMARY KEY, day {day})")
        cursor.executemany(
            "INSERT INTO nppes_deactivations VALUES (%s, %s)",
            [(int(npi), day) for npi, day in deactivations.items()],
        )
        cursor.execute(
            "SELECT count(*), coalesce(sum(CASE WHEN r.deactivated_on IS NULL THEN 1 "  # noqa: S608  # nosec B608
            f"ELSE 0 END), 0) FROM nppes_deactivations d JOIN {registry} r ON r.id = d.id"
        )
        found, newly = cursor.fetchone()
        counts.kept += found
        counts.deactivated += newly
        cursor.execute(
            f"UPDATE {registry} SET deactivated_on = "  # noqa: S608  # nosec B608
            "(SELECT d.day FROM nppes_deactivations d WHERE d.id = "
            f"{registry}.id), fingerprint = 0 "
            "WHERE deactivated_on IS NULL AND id IN (SELECT id FROM nppes_deactivations)"
        )
        cursor.execute("DROP TABLE nppes_deactivations")
