"""Turning free text into sentences of normalised tokens, with small typos corrected."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from rapidfuzz.distance import OSA
from rapidfuzz.process import extractOne

_SENTENCE_END = re.compile(r"[.!?;\n]+(?=\s|$)|\n|(?<=[a-z])\.(?=[A-Z])")
# A dash between spaces ("hurt it at the gym - wants exercises") parts clauses like a comma.
# A box left empty on a form ("[ ] Chest pain", "☐ Diabetes") answers no to what follows it.
# Boxes that come before their items: the line (or its part after a heading's colon) opens
# with one ("[ ] Chest pain [ ] Diabetes", "Intake form: ☐ Chest pain").
_BOX_FIRST = re.compile(r"\s*(?:[^\[☐☑☒:]*:\s*)?(?:\[\s*[xX✓✔]?\s*\]|[☐☑☒])")
_TOKEN = re.compile(r"[a-z0-9]+(?:'[a-z]+)?|,|(?<=\s)[-–—]+(?=\s)|\[\s*\]|☐")
# Clinical shorthand written with a slash: r/o DVT, h/o MI, s/p TKA, c/o LBP, 30/40, 3/52.
_SLASH_FORMS = {
    ("r", "o"): ("ruledout",),
    ("h", "o"): ("history", "of"),
    ("s", "p"): ("status", "post"),
    ("c", "o"): ("complains", "of"),
    ("n", "a"): ("none",),
    ("w", "o"): ("without",),
}
_SLASH_UNITS = {"40": ("weeks", "pregnant"), "52": ("weeks",), "12": ("months",), "7": ("days",)}


@dataclass(frozen=True)
class Token:
    text: str  # normalised
    start: int  # offsets in the original text
    end: int


def normalise_pattern(text: str) -> str:
    text = text.lower().replace("’", "'").replace("'", "")
    return re.sub(r"(?<=[a-z0-9*])-(?=[a-z0-9])", " ", text)


def sentences(text: str) -> list[tuple[int, str]]:
    """Split into (offset, sentence) pairs; a clinical note rarely needs more than this."""
    out, start = [], 0
    for m in _SENTENCE_END.finditer(text):
        if m.start() > start:
            out.append((start, text[start : m.start()]))
        start = m.end()
    if start < len(text):
        out.append((start, text[start:]))
    return [(o, s) for o, s in out if s.strip()]


def tokenize(sentence: str, offset: int = 0) -> list[Token]:
    lowered = sentence.lower().replace("’", "'").replace("‘", "'")
    tokens: list[Token] = []
    for m in _TOKEN.finditer(lowered):
        word = m.group()
        if word[0] in "-–—":
            word = ","
        elif word[0] in "[☐":
            # Only where the boxes come before their items ("[ ] Chest pain [ ] Diabetes"):
            # after them ("Chest pain [ ]") the box belongs to what came before.
            if not _BOX_FIRST.match(sentence):
                continue
            word = "no"
        # "chest's" is "chest", "dad's" is "dad"; "doesn't" stays "doesnt".
        word = word[:-2] if word.endswith("'s") else word.replace("'", "")
        token = Token(word, offset + m.start(), offset + m.end())
        prev = tokens[-1] if tokens else None
        if prev is not None and prev.end == token.start - 1 and lowered[m.start() - 1] == "/":
            if (prev.text, word) in _SLASH_FORMS:
                tokens.pop()
                tokens.extend(
                    Token(w, prev.start, token.end) for w in _SLASH_FORMS[(prev.text, word)]
                )
                continue
            if prev.text.isdigit() and word in _SLASH_UNITS:
                tokens.extend(Token(w, prev.start, token.end) for w in _SLASH_UNITS[word])
                continue
        # "nowhere near the worst ever" denies it ("out of nowhere" does not).
        if prev is not None and prev.text == "nowhere" and word in ("near", "close"):
            tokens[-1] = Token("not", prev.start, prev.end)
        tokens.append(token)
    return tokens


@lru_cache(maxsize=1)
def english_words() -> frozenset[str]:
    """Real English words are never "corrected" (tamping is not taping)."""
    from spellchecker import SpellChecker

    return frozenset(SpellChecker(distance=1).word_frequency.dictionary)


# Common misspellings of frequent words, which one-typo correction against the knowledge base's
# vocabulary would misread ("realy" is one letter from "ready") or miss (words under five
# letters are never corrected).
MISSPELLINGS = {
    "realy": "really",
    "relly": "really",
    "reely": "really",
    "breth": "breath",
    "brethe": "breathe",
    "brething": "breathing",
    "breahing": "breathing",
    "breating": "breathing",
    "cheast": "chest",
    "chesst": "chest",
    "hedache": "headache",
    "headach": "headache",
    "hedaches": "headaches",
    "vission": "vision",
    "feaver": "fever",
    "fevor": "fever",
    "temprature": "temperature",
    "nausious": "nauseous",
    "nauseus": "nauseous",
    "dizzyness": "dizziness",
    "numbess": "numbness",
    "wierd": "weird",
}


class Speller:
    """Corrects a word to the knowledge base's vocabulary when it is one typo away.

    Only longer words are corrected, the first letter must agree, and ordinary words of
    massage notes are never touched, so "tight" does not become "fight".
    """

    KEEP = frozenset(
        "tight tights sight light right night might fight weight height eight neck necks back "
        "backs pain pains sore hurts hurt shoulder shoulders tension tense relax relaxed "
        "relaxing stress stressed massage session sessions client clients therapist pressure "
        "deep tissue muscle muscles knots knot glutes hamstrings quads calves traps lower upper "
        "since about after before during really little still works worked working office "
        "desk daily weekly monthly wants wanted would could should their there these those "
        "likes liked loves loved feels feeling felt better worse great today yesterday morning "
        "evening always usually sometimes often mother father sister brother husband wife "
        "daughter family friend friends people person patient patients general regular "
        "routine monthly stretch stretching stretches posture sitting standing walking "
        "running runner runners cyclist hiking swimming golfing training trainer coach "
        "between spends spent hours minutes weeks months years sleep sleeping asleep tired "
        "energy mostly slightly mildly moderate severe chronic acute recent recently other "
        "another mention mentioned reports reported states stated notes noted comes coming "
        "returns return returning first second third every nothing complaints complaint "
        "relaxation maintenance focus focused focusing areas area tight tightness tender "
        "tenderness stiff stiffness achy aching trigger points point release upper lower "
        "shoulder blade blades forearms forearm wrists ankles ankle knees hips thighs "
        "spouse partner partners children kids grandson granddaughter planning plans hoping "
        "likes enjoys enjoy vacation holiday holidays wedding birthday gardening garden "
        "bought moving moved house home job jobs boss coworker coworkers meeting meetings "
        "computer laptop screen phone driving drive drove commute travel traveled flight "
        "rayed rays xray xrayed releve releves plie plies pointe barre tendu tendus jete "
        "jetes degage fouette fouettes arabesque".split()
    )

    def __init__(
        self, vocabulary: frozenset[str], stems: tuple[str, ...], keep: frozenset[str] = frozenset()
    ) -> None:
        self.vocabulary = vocabulary
        self.keep = self.KEEP | keep | english_words()
        self.long_words = sorted(w for w in vocabulary if len(w) >= 5)
        self.stems = tuple(s for s in stems if len(s) >= 5)

    def known(self, word: str) -> bool:
        return word in self.vocabulary or any(word.startswith(s) for s in self.stems)

    @lru_cache(maxsize=20_000)  # noqa: B019 - one Speller per process, built once
    def correct(self, word: str) -> str:
        if word in MISSPELLINGS:
            return MISSPELLINGS[word]
        if len(word) < 5 or word.isdigit() or word in self.keep or self.known(word):
            return word
        limit = 1 if len(word) < 9 else 2
        candidates = [w for w in self.long_words if w[0] == word[0]]
        best = extractOne(word, candidates, scorer=OSA.distance, score_cutoff=limit)
        if best is not None:
            # Between equally close words prefer the one with the same letters ("wirst" is
            # "wrist", not "worst").
            ties = [w for w in candidates if OSA.distance(word, w) == best[1]]
            same = [w for w in ties if sorted(w) == sorted(word)]
            return (same or ties)[0]
        for stem in self.stems:
            if stem[0] == word[0] and len(word) >= len(stem):
                if OSA.distance(word[: len(stem)], stem) <= 1:
                    return stem + word[len(stem) :]
        return word
