from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _optimize_sqlite(using: str = "default", **_: object) -> None:
    """Keep SQLite's query planner statistics fresh (a no-op elsewhere)."""
    from django.db import connections

    connection = connections[using]
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA optimize")


class CoreConfig(AppConfig):
    name = "referwell.core"
    label = "core"

    def ready(self) -> None:
        from referwell.core import checks  # noqa: F401  (registers the checks)

        post_migrate.connect(_optimize_sqlite, dispatch_uid="referwell_optimize_sqlite")
