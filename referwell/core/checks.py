"""Referwell's own system checks (`manage.py check`, and `check --deploy` for production)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured

from referwell.core.crypto import fernet


@checks.register(checks.Tags.security)
def encryption_keys_valid(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    try:
        fernet()
    except ImproperlyConfigured as exc:
        return [checks.Error(str(exc), id="referwell.E001")]
    return []


@checks.register(checks.Tags.security, deploy=True)
def encryption_keys_from_environment(
    app_configs: Any = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    if settings.ENCRYPTION_KEYS_FROM_ENV:
        return []
    return [
        checks.Warning(
            "ENCRYPTION_KEYS is not set: the key that encrypts clinical text is kept in "
            "var/encryption_key, on the same disk as the database.",
            hint="Set ENCRYPTION_KEYS from your secret store (docs/privacy.md).",
            id="referwell.W001",
        )
    ]
