"""`referwell migrate`: Django's migrate, safe when several app servers start at once.

Every server of a deploy may run it as it starts. On PostgreSQL the migrations run under a
session-level advisory lock, so a second server waits for the first to finish, then finds
nothing left to do; on SQLite a lock file beside the database does the same for the processes
of one machine. Afterwards the cache table is created when the cache is the database's
(production without REDIS_URL); with any other cache that step does nothing.
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from django.core.management import call_command
from django.core.management.commands.migrate import Command as DjangoMigrateCommand
from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper

# pg_advisory_lock's key: any 64-bit number, the same for every server of the deploy.
MIGRATE_LOCK_KEY = 0x52_65_66_65_72_77_65_6C  # "Referwel"


@contextmanager
def migrate_lock(connection: BaseDatabaseWrapper) -> Iterator[None]:
    """Only one `referwell migrate` at a time against this database."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s)", [MIGRATE_LOCK_KEY])
        try:
            yield
        finally:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [MIGRATE_LOCK_KEY])
        return
    name = str(connection.settings_dict["NAME"])
    if connection.vendor != "sqlite" or name == ":memory:" or name.startswith("file:"):
        yield
        return
    # Not the database file itself: closing another descriptor on it would drop SQLite's locks.
    with Path(f"{name}.migrate-lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


class Command(DjangoMigrateCommand):
    help = (
        "Create or update the database tables, one server at a time (a lock), then the "
        "cache table if the cache is the database's."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        database = options["database"]
        with migrate_lock(connections[database]):
            super().handle(*args, **options)
            if not (options["plan"] or options["check_unapplied"] or options["prune"]):
                call_command("createcachetable", database=database, verbosity=0)
