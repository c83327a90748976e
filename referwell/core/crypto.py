"""Encryption at rest of clinical text: intake, visit notes, referral reasons, letters, reports.

The text is encrypted with Fernet (AES-128-CBC with an HMAC-SHA256 tag, from the
`cryptography` package) before it reaches the database, and decrypted when it is read. A copy of
the database file, a backup or a dump holds only tokens.

Keys come from the environment: `ENCRYPTION_KEYS`, comma-separated Fernet keys, the first one
encrypts, every one decrypts (this is how a key is rotated: put the new key first, run
`referwell rotate-key`, then drop the old one). Without it, a key is generated once and kept in
var/encryption_key (mode 600) — fine for a demo on one machine, not for production, where the
key must not sit beside the database (`manage.py check --deploy` says so).

An empty text stays empty (a blank field tells nothing about a client). A value that is not a
Fernet token is read as it is: rows written before encryption was switched on, until the
migration or `rotate-key` rewrites them.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.apps import apps
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models, transaction
from django.db.models.expressions import Combinable

# Every Fernet token starts with the version byte 0x80, "gAAAAA" in URL-safe base64.
TOKEN_PREFIX = "gAAAAA"


class DecryptionError(ImproperlyConfigured):
    """Stored text that none of the configured keys can open."""


def generate_key() -> str:
    return Fernet.generate_key().decode()


@functools.lru_cache(maxsize=4)
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    if not keys:
        raise ImproperlyConfigured("ENCRYPTION_KEYS is empty: at least one key is needed.")
    try:
        return MultiFernet([Fernet(key.encode()) for key in keys])
    except (ValueError, TypeError) as exc:
        raise ImproperlyConfigured(
            "ENCRYPTION_KEYS holds a value that is not a Fernet key (32 bytes, URL-safe "
            "base64; make one with `referwell rotate-key --new-key`)."
        ) from exc


def fernet() -> MultiFernet:
    return _fernet(tuple(settings.ENCRYPTION_KEYS))


def encrypt(text: str) -> str:
    return fernet().encrypt(text.encode("utf-8")).decode("ascii")


def is_token(value: str) -> bool:
    return value.startswith(TOKEN_PREFIX)


def decrypt(value: str) -> str:
    if not is_token(value):
        return value
    try:
        return fernet().decrypt(value.encode("ascii")).decode("utf-8")
    except (InvalidToken, UnicodeError) as exc:
        raise DecryptionError(
            "Stored text cannot be decrypted with the configured ENCRYPTION_KEYS: the key that "
            "encrypted it is missing (see docs/privacy.md, 'Encryption keys')."
        ) from exc


class EncryptedTextField(models.TextField[str | Combinable, str]):
    """A TextField whose content is stored encrypted. It cannot be searched in the database."""

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return encrypt(value)

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        if value is None or value == "":
            return value
        return decrypt(value)


def encrypted_fields() -> Iterator[tuple[type[models.Model], list[str]]]:
    """Each model with encrypted text, and the names of those fields."""
    for model in apps.get_models():
        names = [f.name for f in model._meta.concrete_fields if isinstance(f, EncryptedTextField)]
        if names:
            yield model, names


def reencrypt_model(model: type[models.Model], names: list[str], batch: int = 500) -> int:
    """Rewrite every non-empty encrypted value of one model with the current (first) key.

    Reads decrypt with any configured key; writes encrypt with the first. Values still in
    plain text (written before encryption) are encrypted on the way."""
    manager = model._base_manager
    changed = 0
    pending: list[models.Model] = []
    non_empty = models.Q()
    for name in names:
        non_empty |= ~models.Q(**{name: ""})
    rows = manager.filter(non_empty).only("pk", *names).order_by("pk")
    for obj in rows.iterator(chunk_size=batch):
        pending.append(obj)
        if len(pending) >= batch:
            manager.bulk_update(pending, names)
            changed += len(pending)
            pending.clear()
    if pending:
        manager.bulk_update(pending, names)
        changed += len(pending)
    return changed


def rotate_all() -> dict[str, int]:
    """Re-encrypt everything with the first key, in one transaction: all or nothing."""
    counts: dict[str, int] = {}
    with transaction.atomic():
        for model, names in encrypted_fields():
            counts[model._meta.label] = reencrypt_model(model, names)
    return counts


def migration_operation(app_label: str, model_name: str, *names: str) -> Any:
    """RunPython for the migration that turns fields into EncryptedTextField: encrypts the rows
    written before, and on the way back (the fields plain again) decrypts them."""
    from django.db.migrations import RunPython

    def forward(state_apps: Any, schema_editor: Any) -> None:
        reencrypt_model(state_apps.get_model(app_label, model_name), list(names))

    def backward(state_apps: Any, schema_editor: Any) -> None:
        # The fields are still encrypted in this state: reading decrypts; the plain text is
        # written as a bare value, which the encrypting field does not touch.
        model = state_apps.get_model(app_label, model_name)
        for row in model._base_manager.values("pk", *names).iterator(chunk_size=500):
            plain = {n: models.Value(row[n], output_field=models.TextField()) for n in names}
            model._base_manager.filter(pk=row["pk"]).update(**plain)

    return RunPython(forward, backward)
