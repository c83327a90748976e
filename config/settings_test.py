"""Test settings: the same as production but fast hashing and an in-memory mail outbox."""

import os
import tempfile
from pathlib import Path

os.environ.setdefault("SECRET_KEY", "test-only-not-secret")
# A fixed key for tests only (Fernet); production keys come from the environment.
os.environ.setdefault("ENCRYPTION_KEYS", "s2OvbVAEpWdmYemhWLfqJGzTdHcTNNpUt7AI_qpRtuw=")

from config.settings import *  # noqa: E402,F403
from config.settings import DATABASES  # noqa: E402

# Never the user's var/ (tests/conftest.py gives each test a file of its own).
AUDIT_CHECKPOINT_FILE = Path(tempfile.gettempdir()) / f"referwell-checkpoints-{os.getpid()}.jsonl"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# A task runs when it is enqueued, inside the test's transaction (tests/test_outbox.py switches
# to the database backend and runs the worker to test the queue itself).
TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
if DATABASES["default"]["ENGINE"] == "referwell.core.sqlite":
    # Tests never touch the user's database in var/: each test process has its own in memory
    # (named ":memory:" so that pytest-xdist's workers do not turn it into a file name).
    DATABASES["default"]["TEST"] = {"NAME": ":memory:"}
# Each test run counts its rate limits on its own, whatever REDIS_URL the shell has.
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    "kept": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "kept"},
    "ratelimit": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "rl"},
}
