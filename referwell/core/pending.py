"""Uploads waiting between two steps of an import: the CSV import's file (upload → mapping →
dry run → confirm) and the business cards read for their preview.

An upload waits under VAR_DIR/imports as two files named by a random token: the text, and a
sidecar saying whose it is (the practice's and the member's ids), what it holds (`kind`), the
file's name and what the steps chose since (`state`, the CSV mapping). Both are encrypted with
the clinical text's key (Fernet, referwell/core/crypto.py) and readable by their owner only
(mode 600, in a directory of 700). The address carries the token signed with a timestamp, so
it expires; `pending_get` answers 404 for another practice's or member's upload, another kind's
(a CSV page given the business cards' address, or the reverse), an expired or forged address
and an upload already imported or cancelled. The caller removes the upload once imported or
cancelled; uploads older than the lifetime are swept on each new upload and by
`referwell sweep`.

The kernel knows no domain: the caller names the kind and hands in the ids.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import time
from collections.abc import Collection
from pathlib import Path
from typing import Any, TypedDict

from cryptography.fernet import InvalidToken
from django.conf import settings
from django.core import signing
from django.http import Http404
from django.utils import timezone

from referwell.core import crypto
from referwell.core.limits import private_dir

# The salt and the files' names are those of the CSV import, where this store began: an
# address given before the move still opens.
SIGNING_SALT = "referwell.interop.csv.import"
LIFETIME_SECONDS = 3600
TOKEN_PATTERN = re.compile(r"[A-Za-z0-9_-]{20,40}")
# The waiting text and its sidecar; both hold a Fernet token, never the text itself.
DATA, META = ".csv.enc", ".json.enc"


def pending_dir() -> Path:
    return Path(settings.VAR_DIR) / "imports"


def _write_private(path: Path, text: str) -> None:
    """The text encrypted, in a file of mode 600 (created so: never readable by others)."""
    token = crypto.fernet().encrypt(text.encode("utf-8"))
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(token)


def _read_private(path: Path) -> str:
    """The text of a file written by _write_private; ValueError once it is older than the
    lifetime (Fernet tokens carry their time) or when it cannot be decrypted."""
    try:
        return crypto.fernet().decrypt(path.read_bytes(), ttl=LIFETIME_SECONDS).decode("utf-8")
    except InvalidToken:
        raise ValueError(f"{path.name} cannot be decrypted, or has expired") from None


def sweep_pending_imports() -> int:
    """Delete the waiting files older than their lifetime (and what a crash left behind);
    returns how many files were deleted. Run on each upload and by `referwell sweep`."""
    directory = pending_dir()
    if not directory.is_dir():
        return 0
    cutoff = time.time() - LIFETIME_SECONDS
    deleted = 0
    for path in directory.glob("*.*"):
        try:
            if path.stat().st_mtime < cutoff:
                path.unlink()
                deleted += 1
        except OSError:
            pass  # another request removed it first
    return deleted


class PendingMeta(TypedDict):
    """The sidecar: whose upload it is, what it holds, what the steps chose since."""

    practice: int
    member: int
    kind: str
    filename: str
    state: dict[str, Any]
    uploaded_at: str


def pending_store(*, practice_id: int, member_id: int, kind: str, filename: str, text: str) -> str:
    """Keep an upload for its next step; returns the signed token for its address."""
    directory = private_dir(pending_dir())
    sweep_pending_imports()
    token = secrets.token_urlsafe(18)
    _write_private(directory / f"{token}{DATA}", text)
    meta: PendingMeta = {
        "practice": practice_id,
        "member": member_id,
        "kind": kind,
        "filename": filename[:200],
        "state": {},
        "uploaded_at": timezone.now().isoformat(),
    }
    _write_private(directory / f"{token}{META}", json.dumps(meta))
    return signing.TimestampSigner(salt=SIGNING_SALT).sign(token)


class PendingUpload:
    """An upload waiting for its next step."""

    def __init__(self, token: str, signed: str, meta: PendingMeta) -> None:
        self.token = token
        self.signed = signed
        self.meta = meta

    @property
    def kind(self) -> str:
        return self.meta["kind"]

    @property
    def state(self) -> dict[str, Any]:
        return self.meta.get("state") or {}

    def text(self) -> str:
        try:
            return _read_private(pending_dir() / f"{self.token}{DATA}")
        except (OSError, ValueError):
            raise Http404("No such import (the link may have expired).") from None

    def save_state(self, state: dict[str, Any]) -> None:
        self.meta["state"] = state
        _write_private(pending_dir() / f"{self.token}{META}", json.dumps(self.meta))

    def remove(self) -> None:
        for suffix in (DATA, META):
            (pending_dir() / f"{self.token}{suffix}").unlink(missing_ok=True)


def pending_get(
    signed: str, *, practice_id: int, member_id: int, kinds: Collection[str]
) -> PendingUpload:
    """The member's own waiting upload of one of `kinds`, or 404: another practice's (or
    member's) upload, another kind's, an expired or forged address, an upload already
    imported or cancelled do not exist here."""
    try:
        token = signing.TimestampSigner(salt=SIGNING_SALT).unsign(signed, max_age=LIFETIME_SECONDS)
    except signing.BadSignature:
        raise Http404("No such import (the link may have expired).") from None
    if not TOKEN_PATTERN.fullmatch(token):
        raise Http404("No such import.")
    try:
        meta: PendingMeta = json.loads(_read_private(pending_dir() / f"{token}{META}"))
    except (OSError, ValueError):
        raise Http404("No such import (already imported or cancelled?).") from None
    if meta.get("practice") != practice_id or meta.get("member") != member_id:
        raise Http404("No such import.")
    if meta.get("kind") not in kinds:
        raise Http404("No such import.")
    if not (pending_dir() / f"{token}{DATA}").is_file():
        raise Http404("No such import.")
    return PendingUpload(token, signed, meta)
