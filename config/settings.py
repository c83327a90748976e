"""Referwell settings: one module, driven by the environment (see docs/configuration.md)."""

import os
import secrets
from datetime import timedelta
from pathlib import Path

import dj_database_url
import django_stubs_ext

from referwell.core.logging import logging_config

# Generic classes (ModelForm[Referral], QuerySet[Partner]…) subscriptable at run time, as the
# type checker reads them (mypy strict: docs/architecture.md, "Types").
django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("REFERWELL_VAR_DIR", BASE_DIR / "var"))


def env_bool(name: str, default: bool = False) -> bool:
    return os.environ.get(name, str(default)).strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def _secret_key() -> str:
    """SECRET_KEY from the environment, else one generated once and kept in var/ (never in git)."""
    if key := os.environ.get("SECRET_KEY"):
        return key
    path = VAR_DIR / "secret_key"
    if not path.exists():
        VAR_DIR.mkdir(mode=0o700, parents=True, exist_ok=True)
        path.touch(mode=0o600)  # never readable by others, not even before the chmod
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = _secret_key()


def _encryption_keys() -> list[str]:
    """Fernet keys for clinical text (referwell/core/crypto.py): the first encrypts, all decrypt.
    From ENCRYPTION_KEYS (comma-separated), else one generated once and kept in var/."""
    if keys := env_list("ENCRYPTION_KEYS", ""):
        return keys
    from cryptography.fernet import Fernet

    path = VAR_DIR / "encryption_key"
    if not path.exists():
        VAR_DIR.mkdir(mode=0o700, parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(Fernet.generate_key().decode() + "\n")
        path.chmod(0o600)
    return [line.strip() for line in path.read_text().splitlines() if line.strip()]


ENCRYPTION_KEYS = _encryption_keys()
ENCRYPTION_KEYS_FROM_ENV = bool(os.environ.get("ENCRYPTION_KEYS", "").strip())
DEBUG = env_bool("REFERWELL_DEBUG")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "template_partials",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "axes",
    "ninja",  # the API's docs page with its own scripts (static files), not a CDN's
    "django_tasks",
    "django_tasks_db",  # the task queue is a table of the practice's own database
    "referwell.core",
    "referwell.accounts",
    "referwell.audit",
    "referwell.directory",
    "referwell.clients",
    "referwell.referrals",
    "referwell.guidance",
    "referwell.outreach",
    "referwell.insights",
    "referwell.registry",
    "referwell.interop",
    "referwell.inbound",
    "referwell.site",  # the top layer: URL and API assembly, dashboard, demo, CLI
]

MIDDLEWARE = [
    # First: Server-Timing covers every other middleware (referwell/core/timing.py).
    "referwell.core.timing.ServerTimingMiddleware",
    "referwell.core.middleware.TrustedProxyMiddleware",
    # One log line per request (method, path, status, duration, user id): referwell/core/logging.py
    "referwell.core.logging.RequestLogMiddleware",
    # Before anything reads a body: 413 above REQUEST_MAX_BYTES (referwell/core/limits.py).
    "referwell.core.limits.RequestSizeLimitMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Below WhiteNoise (static files keep their caching): no-store on everything else.
    "referwell.core.middleware.NoStoreMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "referwell.accounts.middleware.SessionMaxAgeMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "referwell.accounts.middleware.CurrentPracticeMiddleware",
    "referwell.accounts.middleware.TwoFactorMiddleware",
    # A refusal a page's view let through (core.errors.ApplicationError): its message and a
    # way back, never a 500.
    "referwell.core.errors.ApplicationErrorMiddleware",
    # Last, as django-axes asks: turns a locked-out login into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "referwell.accounts.context_processors.practice",
            ],
        },
    },
]

# --- Database: SQLite in var/ unless DATABASE_URL says otherwise ----------------------------
DEFAULT_SQLITE = f"sqlite:///{VAR_DIR / 'referwell.sqlite3'}"
DATABASES = {"default": dj_database_url.parse(os.environ.get("DATABASE_URL", DEFAULT_SQLITE))}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # As healthchecks does: WAL for concurrent readers, a busy timeout instead of
    # "database is locked", IMMEDIATE transactions so writers queue rather than deadlock.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": (
            "PRAGMA journal_mode=WAL;"
            "PRAGMA synchronous=NORMAL;"
            "PRAGMA foreign_keys=ON;"
            "PRAGMA busy_timeout=5000;"
        ),
        "transaction_mode": "IMMEDIATE",
        "timeout": 5,
    }
    # Django's SQLite backend whose transactions wait their turn in a queue (a file lock)
    # instead of polling for SQLite's lock: no "database is locked" under many writers.
    DATABASES["default"]["ENGINE"] = "referwell.core.sqlite"
    if str(DATABASES["default"]["NAME"]).startswith(str(VAR_DIR)):
        VAR_DIR.mkdir(mode=0o700, parents=True, exist_ok=True)
else:
    DATABASES["default"]["CONN_MAX_AGE"] = int(os.environ.get("CONN_MAX_AGE", "60"))
    # No server-side cursors for QuerySet.iterator(): an iterator left unfinished (an error in
    # the middle of an export) is closed by the garbage collector whenever it runs — possibly in
    # the middle of another query on the same connection, where psycopg's connection lock makes
    # the close wait forever. Results are fetched whole instead (the largest, an audit CSV, is a
    # few MB); this also keeps transaction-pooling proxies (PgBouncer) usable.
    DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = True
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- Login: lockout (django-axes), two-factor (django-otp), sessions ----------------------------
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # first: refuses a locked-out account or address
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = int(os.environ.get("LOGIN_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = timedelta(minutes=int(os.environ.get("LOGIN_LOCKOUT_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]  # each on its own: per account, per address
AXES_USERNAME_FORM_FIELD = "username"  # Django's login form names the e-mail field "username"
AXES_USERNAME_CALLABLE = "referwell.accounts.security.axes_username"
AXES_LOCKOUT_CALLABLE = "referwell.accounts.security.lockout_response"
AXES_RESET_ON_SUCCESS = False  # a right password must not reset the count of wrong codes
AXES_VERBOSE = False
# Never stored in the clear in the attempts table (nor the password, always masked).
AXES_SENSITIVE_PARAMETERS = ["username", "ip_address", "code"]
OTP_TOTP_ISSUER = "Referwell"
# Idle timeout: the session cookie lasts this long and is renewed while it is used — at most
# once a minute (SessionMaxAgeMiddleware), not with a write on every request.
SESSION_COOKIE_AGE = int(os.environ.get("SESSION_IDLE_TIMEOUT", str(30 * 60)))
SESSION_SAVE_EVERY_REQUEST = False
# Absolute limit, however active the session (checked by SessionMaxAgeMiddleware).
SESSION_MAX_AGE = int(os.environ.get("SESSION_MAX_AGE", str(8 * 3600)))
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES")
CSRF_COOKIE_SECURE = env_bool("SECURE_COOKIES")
X_FRAME_OPTIONS = "DENY"
# Reverse proxies in front of the app (referwell/core/middleware.py): 0 = none, X-Forwarded-For
# ignored; 1 = one proxy (nginx, Caddy) that appends the client's address.
TRUSTED_PROXY_COUNT = int(os.environ.get("TRUSTED_PROXY_COUNT", "0"))

# Content-Security-Policy (django-csp): scripts and style sheets only from our own static files —
# no inline script anywhere; style attributes are allowed, <style> elements are not.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "style-src-attr": ["'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
        "base-uri": ["'none'"],
        "object-src": ["'none'"],
    }
}
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
# --- Uploads: bounded before they are read (issue #20; docs/configuration.md, "Limits") -------
# Each form checks its own files (CSV, vCard: 2 MB each; vCards: 10 files, 1,000 cards).
# The whole body of a request: above this Content-Length the answer is 413, the body unread
# (referwell/core/limits.py) — Django's own limit below does not count a form's files.
REQUEST_MAX_BYTES = 25 * 1024 * 1024
# A body without files (a form's fields, an API call's JSON) at most.
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
# An uploaded file larger than this waits in a temporary file (mode 600), not in memory.
FILE_UPLOAD_MAX_MEMORY_SIZE = int(2.5 * 1024 * 1024)
# Above this many files Django refuses the request (400); the vCard form says so from 11.
DATA_UPLOAD_MAX_NUMBER_FILES = 20
# var/ (database, keys, imports waiting) open to its owner only (mode 700; its files are 600).
try:
    if VAR_DIR.is_dir() and VAR_DIR.stat().st_mode & 0o077:
        VAR_DIR.chmod(0o700)
except OSError:  # not ours: the operator's choice
    pass

LANGUAGE_CODE = "en-us"
TIME_ZONE = os.environ.get("TIME_ZONE", "America/Chicago")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", VAR_DIR / "static"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
STATIC_ROOT.mkdir(parents=True, exist_ok=True)

# --- Audit trail: kept six years (HIPAA's retention of documentation), then prune-audit ----------
AUDIT_RETENTION_DAYS = int(os.environ.get("AUDIT_RETENTION_DAYS", str(6 * 365 + 2)))
# Signed checkpoints of every trail, outside the database: a cut tail is seen by verify-audit
# (referwell/audit/checkpoints.py). Keep it where the database's users cannot write.
AUDIT_CHECKPOINT_FILE = Path(
    os.environ.get("AUDIT_CHECKPOINT_FILE", VAR_DIR / "audit-checkpoints.jsonl")
)

# --- The Django admin: off unless REFERWELL_ADMIN=true, and then only for staff who log in
# with two-factor (config/urls.py). It shows every practice's records: an operator's tool.
ADMIN_ENABLED = env_bool("REFERWELL_ADMIN")

# --- E-mail: printed on the console unless an SMTP server is configured ------------------------
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS")
# A mail server that stops answering fails the send after this many seconds (the letter is not
# sent, nothing is recorded) instead of holding the request — and the database's writers — open.
EMAIL_TIMEOUT = int(os.environ.get("EMAIL_TIMEOUT", "10"))
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "Referwell <referwell@localhost>")
# The outbox (referwell/outreach/delivery.py): a message is written in the same transaction as
# what caused it, with a task row beside it; `referwell worker` (started by `referwell serve`)
# sends it outside any database lock, with retries. docs/operations.md: the worker.
TASKS = {
    "default": {
        "BACKEND": os.environ.get("REFERWELL_TASKS_BACKEND", "django_tasks_db.DatabaseBackend"),
        "QUEUES": ["default"],
    }
}
# Retries of a message that could not be sent: after 1, 5, 30 minutes, then it is failed.
OUTBOX_RETRY_MINUTES = (1, 5, 30)

# --- Cache (rate limits): Redis when REDIS_URL is set — shared by every app server — else this
# process's memory, right for one server on one machine (production falls back to the database).
REDIS_URL = os.environ.get("REDIS_URL", "")
# What is kept of the practices' data (referwell/accounts/kept.py) has a cache of its own, so
# that its many large entries never push the rate limits' counts out of theirs.
CACHES: dict[str, dict[str, object]]
if REDIS_URL:
    CACHES = {
        name: {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": prefix,
        }
        for name, prefix in (
            ("default", "referwell"),
            ("kept", "referwell-kept"),
            ("ratelimit", "referwell-rl"),
        )
    }
else:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
        "kept": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "kept",
            "OPTIONS": {"MAX_ENTRIES": 1000},
        },
        # Rate limits count across every worker and server: never one process's memory
        # (`referwell serve` runs several workers). The table is made by `referwell migrate`.
        "ratelimit": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "referwell_ratelimit",
        },
    }

# --- Logs on standard error: text, or JSON lines (LOG_FORMAT=json; production's default) ---------
LOG_FORMAT = os.environ.get("LOG_FORMAT", "text")
LOG_LEVEL = os.environ.get("LOG_LEVEL", "WARNING")
LOG_REQUESTS = env_bool("LOG_REQUESTS")
LOGGING = logging_config(fmt=LOG_FORMAT, level=LOG_LEVEL, requests=LOG_REQUESTS)
