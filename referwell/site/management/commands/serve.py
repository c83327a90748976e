from __future__ import annotations

import gc
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.management.base import CommandParser
from django.db import connections
from django.template import TemplateDoesNotExist, TemplateSyntaxError
from django.template.loader import get_template
from django.template.utils import get_app_template_dirs
from django.urls import reverse

import referwell
from referwell.core.geo import zip_centroid
from referwell.core.logging import JsonFormatter
from referwell.core.management.base import ReferwellCommand
from referwell.guidance import engine, kb
from referwell.site.management.commands.worker import uses_queue

if TYPE_CHECKING:
    import subprocess  # nosec B404 - for the type of the worker's process

    from django.core.handlers.wsgi import WSGIHandler


def warm_up() -> int:
    """Do once, before gunicorn forks its workers, what each would otherwise do on its first
    requests (about a second in all): the knowledge base and the engine's first suggestion, the
    URL patterns, every template compiled (the cached loader keeps them; the workers share
    them), the ZIP code table. Returns the number of templates."""
    kb.load()
    engine.suggest(engine.Intake(notes="Low back pain since a car accident three weeks ago."))
    reverse("dashboard")
    # Ours only (the admin's and the libraries' are compiled when first used).
    ours = Path(referwell.__file__).resolve().parent
    dirs = settings.TEMPLATES[0]["DIRS"]
    assert isinstance(dirs, list)  # config/settings.py lists them
    roots = [Path(d) for d in dirs]
    roots += [Path(d) for d in get_app_template_dirs("templates") if Path(d).is_relative_to(ours)]
    names = {str(path.relative_to(root)) for root in roots for path in root.rglob("*.html")}
    loaded = 0
    for name in sorted(names):
        try:
            get_template(name)
            loaded += 1
        except (TemplateDoesNotExist, TemplateSyntaxError):  # another engine's, or a library's
            continue
    zip_centroid("53122")  # the ZIP code table
    connections.close_all()  # no connection crosses the fork
    # What is loaded now lives as long as the process: the collector need not walk it again.
    # (Its full collections over these objects paused requests now and then: docs/performance.md,
    # "Measured choices".)
    gc.collect()
    gc.freeze()
    return loaded


class Command(ReferwellCommand):
    help = "Serve Referwell with gunicorn (static files by WhiteNoise)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--workers", type=int, default=2)
        parser.add_argument("--threads", type=int, default=4)

    def handle(self, *args: Any, **options: Any) -> None:
        from gunicorn.app.base import BaseApplication
        from gunicorn.glogging import Logger

        from config.wsgi import application

        bind = f"{options['host']}:{options['port']}"

        class JsonLogger(Logger):  # type: ignore[misc]  # gunicorn has no type information
            """gunicorn's own lines (starting, workers, errors) as JSON lines too."""

            def setup(self, cfg: Any) -> None:
                super().setup(cfg)
                for handler in self.error_log.handlers:
                    handler.setFormatter(JsonFormatter())

        class Server(BaseApplication):  # type: ignore[misc]  # gunicorn has no type information
            def load_config(self) -> None:
                self.cfg.set("bind", bind)
                self.cfg.set("workers", options["workers"])
                self.cfg.set("threads", options["threads"])
                self.cfg.set("accesslog", "-" if settings.DEBUG else None)
                self.cfg.set("proc_name", "referwell")
                if settings.LOG_FORMAT == "json":
                    self.cfg.set("logger_class", JsonLogger)

            def load(self) -> WSGIHandler:
                return application

        # Only the address printed: "0.0.0.0" (all interfaces, asked for) is shown as localhost.
        everywhere = ("0.0.0.0", "::")  # noqa: S104  # nosec B104
        host = options["host"] if options["host"] not in everywhere else "127.0.0.1"
        if settings.LOG_FORMAT != "json":  # for a person at a terminal; gunicorn logs it too
            self.stdout.write(f"Referwell is at http://{host}:{options['port']}/ (Ctrl+C stops it)")
            self.stdout.flush()
        warm_up()
        worker = _start_worker()
        try:
            Server().run()
        finally:
            if worker is not None:
                worker.terminate()
                worker.wait(timeout=10)


def _start_worker() -> subprocess.Popen[bytes] | None:
    """The outbox's worker beside the web server, so one command runs everything (`referwell
    worker` runs it alone, for a deployment that supervises it separately: docs/deployment.md).
    Not with REFERWELL_NO_WORKER=1 or when tasks run at once (no queue)."""
    import os
    import subprocess  # nosec B404 - our own command line, no shell
    import sys

    if os.environ.get("REFERWELL_NO_WORKER") == "1" or not uses_queue():
        return None
    return subprocess.Popen(  # noqa: S603  # nosec B603
        [sys.executable, "-m", "referwell.site.cli", "worker"], env=os.environ.copy()
    )
