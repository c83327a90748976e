"""Django's SQLite backend, with the writers of every process served in turn.

With IMMEDIATE transactions, each `transaction.atomic()` starts by taking SQLite's write lock;
a writer that finds it taken sleeps in SQLite's busy handler, which polls ever more slowly (up
to every 100 ms) until the busy timeout. Under steady writes from several processes, a writer
can lose every poll to the others for the whole timeout and fail with "database is locked"
(measured: 6 writing processes, 2 cores, 10 s — the slowest write waited 4.8 s and 2 failed).

So before BEGIN IMMEDIATE, a transaction takes an exclusive flock(2) on a file beside the
database (`<database>.writer-lock`) and holds it until its COMMIT or ROLLBACK: waiting writers
sleep in the kernel and are woken as soon as it is released, instead of polling (the same run:
the slowest write waited 0.2 s, none failed, and more writes went through). As with a row lock
in PostgreSQL, a write waits for its turn rather than failing. Only Django's transactions take
the lock; statements outside a transaction, and other programs, still meet SQLite's own lock
and busy timeout, so nothing can wait on both in a cycle. In-memory databases (the tests') have
no file and no lock.
"""

from __future__ import annotations

import fcntl
import os
from typing import IO, Any

from django.db.backends.sqlite3 import base

from referwell.core.limits import private_file


class DatabaseWrapper(base.DatabaseWrapper):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._writer_lock: IO[str] | None = None
        self._writer_lock_pid = 0
        self._writer_lock_held = False

    def get_new_connection(self, conn_params: dict[str, Any]) -> Any:
        # The database file readable by its owner only: created empty with mode 600 (an empty
        # file is an empty SQLite database), or made 600 if it was not; SQLite gives its -wal
        # and -shm files the database's mode, and those of an older database are made 600 too.
        name = str(self.settings_dict["NAME"])
        if not self.is_in_memory_db() and not name.startswith("file:"):
            private_file(name)
            for suffix in ("-wal", "-shm", "-journal"):
                if os.path.exists(name + suffix):
                    private_file(name + suffix)
        return super().get_new_connection(conn_params)

    def _writer_lock_file(self) -> IO[str] | None:
        if self.is_in_memory_db():
            return None
        # Opened once per process: a descriptor inherited through fork() (gunicorn's workers)
        # would share its lock with the parent's instead of excluding it.
        if self._writer_lock is None or self._writer_lock_pid != os.getpid():
            path = f"{self.settings_dict['NAME']}.writer-lock"
            private_file(path)
            self._writer_lock = open(path, "a")
            self._writer_lock_pid = os.getpid()
        return self._writer_lock

    def _release_writer_lock(self) -> None:
        if self._writer_lock_held and self._writer_lock is not None:
            self._writer_lock_held = False
            fcntl.flock(self._writer_lock, fcntl.LOCK_UN)

    def _start_transaction_under_autocommit(self) -> None:
        lock = self._writer_lock_file()
        if lock is not None and not self._writer_lock_held:
            fcntl.flock(lock, fcntl.LOCK_EX)
            self._writer_lock_held = True
        try:
            # Django's backends have _start_transaction_under_autocommit; the stubs leave it out.
            super()._start_transaction_under_autocommit()  # type: ignore[misc]
        except BaseException:
            self._release_writer_lock()
            raise

    def _commit(self) -> None:
        try:
            # Django's backends have _commit; the stubs leave it out.
            super()._commit()  # type: ignore[misc]
        finally:
            self._release_writer_lock()

    def _rollback(self) -> None:
        try:
            # Django's backends have _rollback; the stubs leave it out.
            super()._rollback()  # type: ignore[misc]
        finally:
            self._release_writer_lock()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._release_writer_lock()
