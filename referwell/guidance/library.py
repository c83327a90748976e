"""The example library: labelled intake notes a new note is compared with by meaning.

`data/examples.jsonl` holds intake notes written for the guidance's evaluation — in clients'
words, therapists' shorthand, run-on forms, with typos — each with the professions an
experienced therapist named for it (the minimal set: usually one). `data/examples.npz` holds
each note's sentence vector (see `meaning.py`) and the digest of the notes it was made from;
`referwell guidance-library` makes it anew after the notes change, and the load refuses a
stale one rather than compare with the wrong vectors.

`read(text)` finds the closest notes of the library and shares their professions out by
similarity: "4 of the 5 closest notes went to a physical therapist".
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np

from referwell.guidance import meaning
from referwell.guidance.kb import DATA

EXAMPLES = DATA / "examples.jsonl"
VECTORS = DATA / "examples.npz"

# The closest K notes vote, each by its similarity, if at least FLOOR similar (cosine);
# a profession is suggested when it holds SHARE of the votes. These were chosen on the
# older sets by leaving each set out of the library in turn (docs/guidance.md); the
# result is flat around them (K 3–7, FLOOR 0.40–0.50, SHARE 0.4–0.5).
K = 5
FLOOR = 0.45
SHARE = 0.4
# A routine suggestion of the rules that fewer than this share of the closest notes went
# to is read as a word that means something else here, and is not made.
KEEP = 0.2
# ...unless the sentence it was found in, read on its own, is close to notes that went
# there (a note about two things reads like notes about the main one).
EMERGENCY = "emergency-care"
# When this share of the closest notes were emergencies the rules did not recognise, the
# note is raised as one (never lowered: the rules' red flags stand whatever this says).
EMERGENCY_SHARE = 0.6
# ...and when those emergencies are, on average, at least this close: three loose likenesses
# ("puffed out on the stairs" beside chest pain on the stairs) are not an emergency.
EMERGENCY_CLOSENESS = 0.55


class LibraryError(RuntimeError):
    """The example vectors do not belong to the example notes."""


@dataclass(frozen=True)
class Example:
    notes: str
    professions: tuple[str, ...]
    index: int = 0  # its row in the vectors


@dataclass(frozen=True)
class Reading:
    """What the closest notes of the library say about a note."""

    shares: dict[str, float]  # profession → its share of the votes (0–1)
    neighbours: tuple[tuple[float, Example], ...]  # (similarity, note), closest first
    # The same among the closest notes that were not emergencies: a low-mood note near
    # notes of suicidal talk is not thereby a note for nobody.
    routine_shares: dict[str, float]

    def votes_for(self, slug: str) -> int:
        return sum(1 for _, ex in self.neighbours if slug in ex.professions)


@cache
def examples() -> tuple[Example, ...]:
    rows: list[Example] = []
    for n, line in enumerate(EXAMPLES.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        raw: dict[str, Any] = json.loads(line)
        if not raw.get("notes"):
            raise LibraryError(f"{EXAMPLES.name} line {n}: no notes")
        rows.append(
            Example(notes=raw["notes"], professions=tuple(raw["professions"]), index=len(rows))
        )
    return tuple(rows)


def digest() -> str:
    return hashlib.sha256(EXAMPLES.read_bytes()).hexdigest()


@cache
def _vectors() -> np.ndarray[Any, np.dtype[np.float32]]:
    if not VECTORS.exists():
        raise LibraryError(f"{VECTORS.name} is missing: run `referwell guidance-library`")
    with np.load(VECTORS) as saved:
        if str(saved["digest"]) != digest():
            raise LibraryError(
                f"{VECTORS.name} was made from other notes than {EXAMPLES.name}: "
                "run `referwell guidance-library`"
            )
        vectors: np.ndarray[Any, np.dtype[np.float32]] = saved["vectors"].astype(np.float32)
    if len(vectors) != len(examples()):
        raise LibraryError(f"{VECTORS.name} has {len(vectors)} vectors for {len(examples())} notes")
    return vectors


def build() -> int:
    """Encode every note of the library and save the vectors; returns how many."""
    vectors = meaning.encode([ex.notes for ex in examples()])
    np.savez_compressed(VECTORS, vectors=vectors.astype(np.float16), digest=np.array(digest()))
    _vectors.cache_clear()
    return len(vectors)


def closest_to(texts: list[str], examples: list[Example]) -> int:
    """Which of `texts` is closest in meaning to the examples (their mean): its position."""
    library = _vectors()
    centre = library[[ex.index for ex in examples]].mean(0)
    return int((meaning.encode(texts) @ centre).argmax())


def available() -> bool:
    return meaning.available() and VECTORS.exists()


def read(text: str, floor: float = FLOOR) -> Reading | None:
    """The closest notes to `text` and their professions' shares, or None when none is
    `floor` close."""
    if not text.strip():
        return None
    library = _vectors()
    vector = meaning.encode([text])[0]
    sims = library @ vector
    closest = np.argsort(-sims)[:K]
    neighbours = tuple((float(sims[i]), examples()[int(i)]) for i in closest if sims[i] >= floor)
    if not neighbours:
        return None
    routine = tuple((sim, ex) for sim, ex in neighbours if ex.professions != (EMERGENCY,))
    return Reading(
        shares=_shares(neighbours), neighbours=neighbours, routine_shares=_shares(routine)
    )


def _shares(neighbours: tuple[tuple[float, Example], ...]) -> dict[str, float]:
    total = sum(sim for sim, _ in neighbours)
    shares: dict[str, float] = {}
    for sim, ex in neighbours:
        for slug in ex.professions:
            shares[slug] = shares.get(slug, 0.0) + sim / total
    return shares
