"""Checkpoints of the audit trails, kept outside the database, so that cutting a trail's tail
is seen.

The hash chain (audit/chain.py) shows an entry changed, deleted from the middle, inserted or
reordered. It cannot show the newest entries deleted with the chain's head moved back to the
last one kept: what is left is a whole chain. A checkpoint records, for each practice, how many
entries its trail has had in all (pruned ones included) and the hash of the last, signed with a
key derived from SECRET_KEY (which is not in the database). Checkpoints are appended, one JSON
line each, to AUDIT_CHECKPOINT_FILE (var/, mode 600) and written to the log; `referwell sweep`
takes one a day, `referwell backup` one with each backup, `referwell audit-checkpoint` on
demand. `referwell verify-audit` then checks that each practice's latest checkpoint is still
in its trail: the entry it names is there, at the same position.

What it does not see: entries written after the latest checkpoint and cut before the next
(hence a checkpoint a day at least), nor someone who can also write the checkpoint file and
knows SECRET_KEY (docs/privacy.md).
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac

from referwell.audit.models import AuditChain, AuditEntry

logger = logging.getLogger("referwell.audit")

_SALT = "referwell.audit.checkpoint"


def _signature(practice_id: int, entries: int, head: str, at: str) -> str:
    value = f"{practice_id}|{entries}|{head}|{at}"
    return salted_hmac(_SALT, value, algorithm="sha256").hexdigest()


@dataclass(frozen=True)
class Checkpoint:
    practice_id: int
    entries: int  # in all, pruned ones included
    head: str
    at: str

    def line(self) -> str:
        data = {
            "practice": self.practice_id,
            "entries": self.entries,
            "head": self.head,
            "at": self.at,
            "sig": _signature(self.practice_id, self.entries, self.head, self.at),
        }
        return json.dumps(data, sort_keys=True)


def checkpoint_file() -> Path:
    return Path(settings.AUDIT_CHECKPOINT_FILE)


def checkpoint_of(*, practice_id: int) -> Checkpoint:
    """Where the practice's trail stands now."""
    chain = AuditChain.objects.filter(practice_id=practice_id).first()
    kept = AuditEntry.objects.filter(practice_id=practice_id).count()
    pruned = chain.pruned_count if chain else 0
    return Checkpoint(
        practice_id=practice_id,
        entries=pruned + kept,
        head=chain.head_hash if chain else "",
        at=timezone.now().isoformat(timespec="seconds"),
    )


def checkpoints_take(practice_ids: Iterable[int]) -> list[Checkpoint]:
    """Append a checkpoint of each practice's trail to the file (created mode 600) and log it."""
    taken = [checkpoint_of(practice_id=pk) for pk in practice_ids]
    path = checkpoint_file()
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    with os.fdopen(fd, "a", encoding="utf-8") as out:
        for checkpoint in taken:
            line = checkpoint.line()
            out.write(line + "\n")
            logger.info("audit checkpoint %s", line)
    return taken


def checkpoints_latest(path: Path | None = None) -> dict[int, Checkpoint | None]:
    """The latest checkpoint of each practice in the file; None for a practice whose latest
    line does not carry a valid signature (forged or damaged)."""
    path = path or checkpoint_file()
    latest: dict[int, Checkpoint | None] = {}
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return latest
    for raw in text.splitlines():
        try:
            data: dict[str, Any] = json.loads(raw)
            checkpoint = Checkpoint(
                practice_id=int(data["practice"]),
                entries=int(data["entries"]),
                head=str(data["head"]),
                at=str(data["at"]),
            )
        except (ValueError, KeyError, TypeError):
            continue
        c = checkpoint
        signed = _signature(c.practice_id, c.entries, c.head, c.at)
        latest[checkpoint.practice_id] = (
            checkpoint if constant_time_compare(signed, str(data.get("sig", ""))) else None
        )
    return latest


def checkpoint_problem(checkpoint: Checkpoint | None) -> str:
    """Why the practice's trail no longer holds its checkpoint; "" when it does."""
    if checkpoint is None:
        return "the latest checkpoint's signature is not valid: the checkpoint file was altered"
    if not checkpoint.head:
        return ""
    chain = AuditChain.objects.filter(practice_id=checkpoint.practice_id).first()
    pruned = chain.pruned_count if chain else 0
    entry = (
        AuditEntry.objects.filter(practice_id=checkpoint.practice_id, hash=checkpoint.head)
        .values_list("id", flat=True)
        .first()
    )
    if entry is None:
        # Not even the retention removes it unseen: the pruning commands take a checkpoint
        # after they prune, so the latest one names an entry still there. (A count of pruned
        # entries is no excuse: it lives in the database, where the cut was made.)
        return (
            f"deleted entries: the trail had {checkpoint.entries} entries at the checkpoint of "
            f"{checkpoint.at}, and the last of them is missing (its newest entries were cut)"
        )
    position = (
        pruned
        + AuditEntry.objects.filter(practice_id=checkpoint.practice_id, id__lte=entry).count()
    )
    if position != checkpoint.entries:
        return (
            f"the checkpoint of {checkpoint.at} counted {checkpoint.entries} entries up to its "
            f"last, the trail now has {position}"
        )
    return ""
