"""Gather the guidance's example library from the labelled sets.

    python bench/guidance_library.py && referwell guidance-library

Writes referwell/guidance/data/examples.jsonl from the sets below, in this order: each case's
notes and its expected professions (the minimal set an experienced therapist names). A blind
set joins the library only after it has been scored once, untuned (docs/guidance.md); the
sets still blind stay out. Then `referwell guidance-library` makes the vectors anew.
"""

from __future__ import annotations

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SETS = ROOT / "bench" / "guidance"
OUT = ROOT / "referwell" / "guidance" / "data" / "examples.jsonl"

SOURCES = [
    "cases",
    "holdout",
    *(f"blind{n}" for n in range(3, 50)),
    *(
        f"library/{name}"
        for name in (
            "msk",
            "urgent",
            "lifestyle",
            "context",
            "forms",
            "words",
            "msk2",
            "sensitive_lifestyle2",
            "urgent_context2",
            "redflags3",
            "msk_lifestyle3",
            "context_sensitive3",
            "clinic4",
            "sports4",
            "medical5",
            "spa5",
            "rural_forms6",
            "second_language6",
        )
    ),
]


def main() -> None:
    rows: list[str] = []
    seen: set[str] = set()
    for source in SOURCES:
        path = SETS / f"{source}.jsonl"
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            case = json.loads(line)
            if case["notes"] in seen:
                continue
            seen.add(case["notes"])
            rows.append(
                json.dumps(
                    {
                        "notes": case["notes"],
                        "professions": case["expected"],
                        "from": f"{source}/{case['id']}",
                    },
                    ensure_ascii=False,
                )
            )
    OUT.write_text("\n".join(rows) + "\n", encoding="utf-8")
    print(f"{len(rows)} example notes written to {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
