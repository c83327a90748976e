"""The audit trail's hash chain, as pure functions (used by the services, the verifier and the
migration that chained the entries written before it).

Each entry stores `prev_hash` (the hash of the practice's previous entry, or the chain's anchor)
and `hash` = SHA-256 over a canonical serialisation of its content and `prev_hash`. Changing,
deleting, inserting or reordering an entry breaks the chain at that entry.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any, Protocol

VERSION = "v1"
GENESIS = ""  # the prev_hash of a practice's first entry


class ChainedEntry(Protocol):
    """What the chain reads of an entry: an AuditEntry, or the historical model of a migration."""

    @property
    def practice_id(self) -> int: ...
    @property
    def actor_id(self) -> int | None: ...
    @property
    def action(self) -> str: ...
    @property
    def object_type(self) -> str: ...
    @property
    def object_id(self) -> str: ...
    @property
    def data(self) -> Any: ...
    @property
    def ip_address(self) -> str | None: ...
    @property
    def at(self) -> dt.datetime: ...
    @property
    def prev_hash(self) -> str: ...


def canonical_data(data: Any) -> Any:
    """The payload as the database gives it back: JSON types only, keys as strings."""
    return json.loads(json.dumps(data if data is not None else {}, default=str))


def canonical_at(at: dt.datetime) -> str:
    return at.astimezone(dt.UTC).isoformat(timespec="microseconds")


def content_prefix(
    *,
    practice_id: int,
    actor_id: int | None,
    action: str,
    object_type: str,
    object_id: str,
    data: Any,
    ip_address: str | None,
) -> str:
    """The serialisation of an entry up to its time and `prev_hash`, its last two values: the
    hashed text is this, then `hash_tail(at, prev_hash)`. (On PostgreSQL the tail is added and
    the whole hashed by the database, while the chain's head is locked: audit/services.py.)"""
    content = [
        VERSION,
        int(practice_id),
        int(actor_id) if actor_id is not None else None,
        action,
        object_type or "",
        object_id or "",
        canonical_data(data),
        ip_address or None,
    ]
    serialised = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return serialised[:-1] + ","  # the list left open


def hash_tail(at: dt.datetime, prev_hash: str) -> str:
    """`"<time>","<prev_hash>"]`: neither value holds a character JSON escapes."""
    return json.dumps([canonical_at(at), prev_hash or GENESIS], separators=(",", ":"))[1:]


def entry_hash(*, at: dt.datetime, prev_hash: str, **content: Any) -> str:
    return _sha256(content_prefix(**content) + hash_tail(at, prev_hash))


def prefix_of(entry: ChainedEntry) -> str:
    """`content_prefix` of an entry (an AuditEntry, or a historical model in a migration)."""
    return content_prefix(
        practice_id=entry.practice_id,
        actor_id=entry.actor_id,
        action=entry.action,
        object_type=entry.object_type,
        object_id=entry.object_id,
        data=entry.data,
        ip_address=entry.ip_address,
    )


def hash_of(entry: ChainedEntry) -> str:
    """The hash an entry should have."""
    return _sha256(prefix_of(entry) + hash_tail(entry.at, entry.prev_hash))


def _sha256(serialised: str) -> str:
    return hashlib.sha256(serialised.encode("utf-8")).hexdigest()
