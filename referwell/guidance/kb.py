"""The knowledge base: professions and findings, read from data/ and validated at load.

Phrases are compiled once into small token patterns (see the header of data/findings.toml).
Nothing here touches the database.
"""

from __future__ import annotations

import json
import re
import tomllib
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from referwell.guidance.text import normalise_pattern

DATA = Path(__file__).resolve().parent / "data"
Urgency = Literal["routine", "soon", "emergency"]
URGENCY_RANK = {"emergency": 0, "soon": 1, "routine": 2}
MAX_GAP = 5


class KnowledgeBaseError(ValueError):
    """The knowledge base files are inconsistent; the message names the entry."""


class Profession(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    slug: str
    name: str
    # What clients and therapists call them in a note ("her OB", "my physio"), lower case.
    called: list[str] = Field(default_factory=list)
    nucc: list[str] = Field(default_factory=list)
    summary: str
    does: str
    may_not: str = ""
    reasons: list[str] = Field(min_length=1)
    is_provider: bool = True
    non_invasive: bool = False
    sensitive: bool = False
    # Professions that do much the same work for a routine complaint, named beside this one so
    # the client can choose (a chiropractor or a physical therapist for a stiff neck).
    alongside: list[str] = Field(default_factory=list)

    @field_validator("nucc")
    @classmethod
    def _nucc_codes(cls, codes: list[str]) -> list[str]:
        for code in codes:
            if len(code) != 10 or not code.endswith("X") or not code[:9].isalnum():
                raise ValueError(f"'{code}' is not a NUCC taxonomy code")
        return codes


class Finding(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    label: str
    professions: list[str] = Field(min_length=1)
    reason: str
    phrases: list[str] = Field(min_length=1)
    exclude: list[str] = Field(default_factory=list)
    urgency: Urgency = "routine"
    negatable: bool = True
    experiencer: bool = True
    acute: bool = False
    resolvable: bool = True
    suppresses: list[str] = Field(default_factory=list)
    overrides: list[str] = Field(default_factory=list)
    requires: list[str] = Field(default_factory=list)
    with_findings: list[str] = Field(default_factory=list)
    symptom: bool = False
    # A sign that another finding beside it explains (a limp after a sprain, tingling fingers
    # from work at a production line): it counts alone, not next to its explanation.
    secondary: bool = False
    niche_words: list[str] = Field(default_factory=list)
    # False where its profession is the one that fits, not one of several that do much the same
    # work (couples counselling is a counsellor's): professions.json's `alongside` stays away.
    alongside: bool = True

    @model_validator(mode="after")
    def _red_flags_go_somewhere(self) -> Finding:
        if self.urgency == "emergency" and self.professions != ["emergency-care"]:
            raise ValueError("an emergency red flag sends to emergency-care only")
        return self


class Concept(BaseModel):
    """One element of a combination (data/combinations.toml), recognised from phrases."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    phrases: list[str] = Field(min_length=1)
    negatable: bool = True
    experiencer: bool = True
    resolvable: bool = True  # false where "no lasting change" is the point, not a resolution
    # A sign that went away still counts when it was recent: a face that drooped yesterday
    # "then back to normal" is a transient ischaemic attack, a stroke's warning.
    transient: bool = False
    # A sign that counts only when it is new: "floaters for years, no change" or "double vision
    # when tired, for years" is no red flag (AAO, NHS: flashes and floaters that appear suddenly).
    new: bool = False


class Combination(BaseModel):
    """A finding made of concepts found together (data/combinations.toml): a red flag, or an
    everyday complaint told as a region, a symptom and an activity."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    label: str
    urgency: Urgency
    professions: list[str] = Field(min_length=1)
    reason: str
    all: list[list[str]] = Field(default_factory=list)
    at_least: int = 0
    of: list[str] = Field(default_factory=list)
    overrides: list[str] = Field(default_factory=list)
    suppresses: list[str] = Field(default_factory=list)
    # Concepts that, found with it, mean it is something else (a grip that is a climber's).
    unless: list[str] = Field(default_factory=list)
    # "note": the concepts anywhere in the intake (a red flag's parts are often told apart);
    # "sentence": together in one sentence (a region, its symptom and the activity behind it),
    # or in two in a row; "one-sentence": within the very same sentence, whatever its clauses
    # ("Headache hit him like a bat - 10/10, worst he's ever had").
    scope: Literal["note", "sentence", "one-sentence"] = "note"

    @model_validator(mode="after")
    def _fires_somehow(self) -> Combination:
        if not self.all and not (self.at_least and self.of):
            raise ValueError("a combination needs `all` lists or `at_least` of `of`")
        if self.urgency == "emergency" and self.professions != ["emergency-care"]:
            raise ValueError("an emergency red flag sends to emergency-care only")
        return self

    @property
    def concepts(self) -> set[str]:
        return {c for combo in self.all for c in combo} | set(self.of) | set(self.unless)

    def as_finding(self) -> Finding:
        return Finding(
            id=self.id,
            label=self.label,
            professions=self.professions,
            reason=self.reason,
            phrases=sorted(self.concepts),
            urgency=self.urgency,
            suppresses=self.suppresses,
            overrides=self.overrides,
            # A routine complaint told inside an emergency's description is its symptom.
            symptom=self.urgency == "routine",
        )


# --- Token patterns --------------------------------------------------------------------------


@dataclass(frozen=True)
class Slot:
    """One position of a pattern: literal words, word prefixes, optionally empty."""

    words: frozenset[str]
    prefixes: tuple[str, ...]
    optional: bool

    def matches(self, token: str) -> bool:
        return token in self.words or any(token.startswith(p) for p in self.prefixes)


@dataclass(frozen=True)
class Pattern:
    text: str
    # Each element is a Slot, or None for a gap of up to MAX_GAP tokens.
    slots: tuple[Slot | None, ...]


def _slot(spec: str) -> Slot:
    words, prefixes, optional = set(), [], False
    for alt in spec.split("|"):
        alt = alt.strip().lower().replace("?", "")
        if alt == "_":
            optional = True
        elif alt.endswith("*"):
            prefixes.append(alt[:-1])
        elif alt:
            words.add(alt)
    if not words and not prefixes:
        raise KnowledgeBaseError(f"empty word in pattern part '{spec}'")
    return Slot(frozenset(words), tuple(prefixes), optional)


_GROUP = re.compile(r"\(([^()]*)\)")


def expand(text: str) -> list[str]:
    """Spell out "(went over|going over)": alternatives of several words, in parentheses.

    Without parentheses a space separates positions, so "went over|going over" would mean
    "went", then "over" or "going", then "over", and silently never match "went over".
    """
    m = _GROUP.search(text)
    if m is None:
        if "(" in text or ")" in text:
            raise KnowledgeBaseError(f"pattern '{text}' has an unclosed parenthesis")
        return [text]
    before, after = text[: m.start()], text[m.end() :]
    if before[-1:] not in ("", " ") or after[:1] not in ("", " "):
        raise KnowledgeBaseError(f"pattern '{text}': put a space around a group in parentheses")
    alternatives = [alt.strip() for alt in m.group(1).split("|")]
    if len(alternatives) < 2 or not all(alternatives):
        raise KnowledgeBaseError(f"pattern '{text}': a group needs two or more alternatives")
    singles = [alt for alt in alternatives if " " not in alt]
    if len(singles) > 1:  # one position, not one pattern each
        alternatives = ["|".join(singles)] + [alt for alt in alternatives if " " in alt]
    return [
        expanded
        for alt in alternatives
        for expanded in expand(" ".join(f"{before} {alt} {after}".split()))
    ]


def compile_patterns(texts: list[str]) -> tuple[Pattern, ...]:
    return tuple(compile_pattern(t) for text in texts for t in expand(text))


def compile_pattern(text: str) -> Pattern:
    parts = normalise_pattern(text).split()
    if not parts or parts[0] == ".." or parts[-1] == "..":
        raise KnowledgeBaseError(f"pattern '{text}' must start and end with a word")
    slots: list[Slot | None] = [None if p == ".." else _slot(p) for p in parts]
    if slots[0] is not None and slots[0].optional:
        raise KnowledgeBaseError(f"pattern '{text}' must not start with an optional word")
    return Pattern(text, tuple(slots))


@dataclass(frozen=True)
class CompiledFinding:
    finding: Finding
    patterns: tuple[Pattern, ...]
    excludes: tuple[Pattern, ...]
    requires: tuple[Pattern, ...] = ()


@dataclass(frozen=True)
class CompiledConcept:
    concept: Concept
    patterns: tuple[Pattern, ...]


@dataclass
class KnowledgeBase:
    version: str
    professions: dict[str, Profession]
    findings: list[CompiledFinding]
    vocabulary: frozenset[str] = field(default_factory=frozenset)
    stems: tuple[str, ...] = ()
    concepts: list[CompiledConcept] = field(default_factory=list)
    combinations: list[Combination] = field(default_factory=list)


def _load_combinations(
    professions: dict[str, Profession], finding_ids: set[str]
) -> tuple[int, list[CompiledConcept], list[Combination]]:
    raw = tomllib.loads((DATA / "combinations.toml").read_text(encoding="utf-8"))
    concepts: list[CompiledConcept] = []
    for row in raw["concept"]:
        try:
            concept = Concept(**row)
        except ValueError as exc:
            raise KnowledgeBaseError(f"concept {row.get('id')}: {exc}") from exc
        if concept.id in {c.concept.id for c in concepts}:
            raise KnowledgeBaseError(f"concept {concept.id} is listed twice")
        patterns = compile_patterns(concept.phrases)
        concepts.append(CompiledConcept(concept, patterns))
    known = {c.concept.id for c in concepts}
    flags: list[Combination] = []
    for row in raw["combination"]:
        try:
            flag = Combination(**row)
        except ValueError as exc:
            raise KnowledgeBaseError(f"combination {row.get('id')}: {exc}") from exc
        if flag.id in finding_ids or flag.id in {f.id for f in flags}:
            raise KnowledgeBaseError(f"combination {flag.id}: the id is taken")
        if unknown := flag.concepts - known:
            raise KnowledgeBaseError(f"combination {flag.id}: unknown concepts {sorted(unknown)}")
        for slug in flag.professions + flag.suppresses:
            if slug not in professions:
                raise KnowledgeBaseError(f"combination {flag.id}: unknown profession '{slug}'")
        flags.append(flag)
    ids = {f.id for f in flags} | finding_ids  # a combination may override a finding too
    for flag in flags:
        if unknown_flags := set(flag.overrides) - ids:
            raise KnowledgeBaseError(f"combination {flag.id}: unknown {sorted(unknown_flags)}")
    return raw["version"], concepts, flags


def _load_professions() -> tuple[int, dict[str, Profession]]:
    raw = json.loads((DATA / "professions.json").read_text(encoding="utf-8"))
    professions: dict[str, Profession] = {}
    for row in raw["professions"]:
        try:
            p = Profession(**row)
        except ValueError as exc:
            raise KnowledgeBaseError(f"profession {row.get('slug')}: {exc}") from exc
        if p.slug in professions:
            raise KnowledgeBaseError(f"profession {p.slug} is listed twice")
        professions[p.slug] = p
    return raw["version"], professions


@cache
def load() -> KnowledgeBase:
    """Read and validate the knowledge base once per process."""
    prof_version, professions = _load_professions()
    raw = tomllib.loads((DATA / "findings.toml").read_text(encoding="utf-8"))
    compiled: list[CompiledFinding] = []
    seen: set[str] = set()
    words: set[str] = set()
    stems: set[str] = set()
    for row in raw["finding"]:
        try:
            finding = Finding(**row)
        except ValueError as exc:
            raise KnowledgeBaseError(f"finding {row.get('id')}: {exc}") from exc
        if finding.id in seen:
            raise KnowledgeBaseError(f"finding {finding.id} is listed twice")
        seen.add(finding.id)
        for slug in finding.professions + finding.suppresses:
            if slug not in professions:
                raise KnowledgeBaseError(f"finding {finding.id}: unknown profession '{slug}'")
        patterns = compile_patterns(finding.phrases)
        excludes = compile_patterns(finding.exclude)
        requires = compile_patterns(finding.requires)
        for pattern in patterns:
            for slot in pattern.slots:
                if slot is not None:
                    words.update(slot.words)
                    stems.update(slot.prefixes)
        compiled.append(CompiledFinding(finding, patterns, excludes, requires))
    for prof in professions.values():
        for slug in prof.alongside:
            if slug not in professions or slug == prof.slug:
                raise KnowledgeBaseError(f"profession {prof.slug}: unknown alongside '{slug}'")
    flags_version, concepts, flags = _load_combinations(professions, seen)
    known = seen | {flag.id for flag in flags}
    for cf in compiled:
        for other in cf.finding.overrides + cf.finding.with_findings:
            if other not in known:
                raise KnowledgeBaseError(f"finding {cf.finding.id}: unknown finding '{other}'")
    for cc in concepts:
        for pattern in cc.patterns:
            for slot in pattern.slots:
                if slot is not None:
                    words.update(slot.words)
                    stems.update(slot.prefixes)
    return KnowledgeBase(
        version=f"{raw['version']}.{prof_version}.{flags_version}",
        professions=professions,
        findings=compiled,
        vocabulary=frozenset(words),
        stems=tuple(sorted(stems, key=len, reverse=True)),
        concepts=concepts,
        combinations=flags,
    )
