"""Keeps the Profession table equal to the knowledge base's professions.json."""

import json
from pathlib import Path
from typing import Any

from referwell.directory.models import Profession

PROFESSIONS_FILE = Path(__file__).resolve().parent.parent / "guidance" / "data" / "professions.json"


def load_professions() -> list[dict[str, Any]]:
    data = json.loads(PROFESSIONS_FILE.read_text(encoding="utf-8"))
    return list(data["professions"])


def professions_sync(**_: Any) -> int:
    """Upsert every profession of the knowledge base (run after each migrate)."""
    rows = load_professions()
    for row in rows:
        Profession.objects.update_or_create(
            slug=row["slug"],
            defaults={
                "name": row["name"],
                "nucc_codes": row.get("nucc", []),
                "summary": row.get("summary", ""),
                "is_provider": row.get("is_provider", True),
            },
        )
    return len(rows)
