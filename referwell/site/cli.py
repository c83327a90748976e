"""`referwell`: the project's command line, a thin front to Django's management commands.

`referwell create-practice …` runs the `create_practice` command; every Django command works
(`referwell migrate`, `referwell createsuperuser`…).
"""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv if argv is None else argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    if len(argv) > 1 and not argv[1].startswith("-"):
        argv[1] = argv[1].replace("-", "_")
    argv[0] = "referwell"
    from django.core.management import execute_from_command_line
    from django.db.utils import OperationalError, ProgrammingError

    try:
        execute_from_command_line(argv)
    except (OperationalError, ProgrammingError) as exc:
        # A database that is not there or not migrated: one line, not a traceback.
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        sys.stderr.write(f"referwell: database error: {first} (run `referwell migrate`?)\n")
        sys.exit(1)


if __name__ == "__main__":
    main()
