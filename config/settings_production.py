"""Production settings: the defaults of config/settings.py, hardened for a server on the internet.

    DJANGO_SETTINGS_MODULE=config.settings_production

Behind a reverse proxy that terminates TLS (docs/deployment.md). Required from the environment:
SECRET_KEY, ENCRYPTION_KEYS and ALLOWED_HOSTS; `manage.py check --deploy` is clean with them.
"""

import os

from django.core.exceptions import ImproperlyConfigured

for _name in ("SECRET_KEY", "ENCRYPTION_KEYS", "ALLOWED_HOSTS"):
    if not os.environ.get(_name, "").strip():
        raise ImproperlyConfigured(f"{_name} must be set in the environment in production.")

from config.settings import *  # noqa: E402,F403
from config.settings import env_bool  # noqa: E402
from referwell.core.logging import logging_config  # noqa: E402

DEBUG = False
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
# The proxy says which requests came over HTTPS; plain HTTP is redirected.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
# The health check is asked by the proxy or the orchestrator over plain HTTP.
SECURE_REDIRECT_EXEMPT = [r"^health/$"]
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", str(365 * 24 * 3600)))
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)

# Letters, invitations and password-reset links must reach people, never the logs.
_NOT_SENDING = ("console", "locmem", "dummy", "filebased")
if set(EMAIL_BACKEND.split(".")[:-1]) & set(_NOT_SENDING):  # noqa: F405
    raise ImproperlyConfigured(
        f"EMAIL_BACKEND is {EMAIL_BACKEND}, which sends nothing: in production set "  # noqa: F405
        "EMAIL_BACKEND=django.core.mail.backends.smtp.EmailBackend and EMAIL_HOST (letters and "
        "password-reset links would otherwise land in the logs or on disk)."
    )

# Several app servers (or several gunicorn workers) must share the rate limits' counts: Redis
# when REDIS_URL is set, else the database (a table `referwell migrate` creates), never one
# process's memory. Sessions are in the database already (Django's default), shared as well.
if not REDIS_URL:  # noqa: F405
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "referwell_cache",
        },
        # What is kept of the practices' data, apart (see config/settings.py).
        "kept": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "referwell_kept",
            "OPTIONS": {"MAX_ENTRIES": 2000},
        },
        "ratelimit": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "referwell_ratelimit",
        },
    }

# JSON lines on standard error, one per request too, for the log collector (docs/deployment.md).
LOG_FORMAT = os.environ.get("LOG_FORMAT", "json")
LOG_REQUESTS = env_bool("LOG_REQUESTS", True)
LOGGING = logging_config(fmt=LOG_FORMAT, level=LOG_LEVEL, requests=LOG_REQUESTS)  # noqa: F405
