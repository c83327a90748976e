"""The guidance engine: from what a client said to which professions could help, why, how
urgently and when to bring it up. Rules over the knowledge base own the red flags; a meaning
reader compares the note with labelled example notes (library.py). No database.

    >>> result = suggest(Intake(notes="Rear-ended three weeks ago, neck pain."))
    >>> result.suggestions[0].profession
    'chiropractor'
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from dataclasses import asdict, dataclass, field, replace
from functools import cache, lru_cache
from typing import Any, TypeVar

from referwell.guidance import library, meaning
from referwell.guidance.kb import (
    MAX_GAP,
    URGENCY_RANK,
    Combination,
    CompiledConcept,
    CompiledFinding,
    Finding,
    KnowledgeBase,
    Pattern,
    Slot,
    load,
)
from referwell.guidance.text import Speller, Token, sentences, tokenize

# Modalities a practice offers when it has not said (the CLI has no practice).
DEFAULT_MODALITIES = (
    "swedish",
    "deep tissue",
    "relaxation",
    "sports massage",
    "prenatal massage",
    "pregnancy massage",
    "trigger point",
)
RETURNING_CLIENT = 2
MIN_WORDS_TO_READ = 3  # words of more than three letters the meaning reader needs
MIN_WORDS_FOR_AN_EMERGENCY = 6  # ...and to call an emergency on likeness alone
FIRST_VISIT = 1

NEGATION_CUES = frozenset(
    "no not denies denied deny denying without never nor none neither negative dont doesnt "
    "didnt isnt wasnt arent werent hasnt havent hadnt wont aint non ruledout nil".split()
)
PSEUDO_NEGATIONS = {
    ("not", "only"),
    ("not", "just"),
    ("no", "doubt"),
    ("not", "sure"),
    ("or", "not"),
    ("no", "matter"),
    ("not", "certain"),
    ("no", "idea"),
    ("not", "herself"),
    ("not", "himself"),
    ("not", "themselves"),
    # "hasn't gone, going into his arm": what has not stopped is still there
    ("hasnt", "gone"),
    ("hasnt", "stopped"),
    ("hasnt", "eased"),
    ("hasnt", "settled"),
    ("wont", "go"),
    ("wont", "stop"),
    ("not", "gone"),
    ("not", "stopped"),
    ("not", "easing"),
    ("not", "settling"),
}
# Words a negation reaches; "denies" opens a list ("denies any thoughts of self-harm or
# suicide", "denies CP, SOB, numbness, tingling") and reaches further.
NEGATION_WINDOW = 6
LIST_NEGATIONS = frozenset("denies denied deny denying negative".split())
LIST_NEGATION_WINDOW = 10
POST_NEGATIONS = frozenset("ruled denied resolved negative absent".split())
FORM_ANSWERS_NO = frozenset("no none nil nope negative denies denied n".split())
FAMILY_CUES = frozenset(
    "mother mom mum mommy mama father dad daddy papa sister brother sibling siblings grandmother "
    "toddler infant newborn teen teenager teenage stepson stepdaughter grandkid grandkids "
    "grandchild grandchildren "
    "dog cat horse puppy kitten pet vet inlaw "
    "nan nana nanna gran grandad granddad grampa gramps missus hubby partner bf gf "
    "grandfather grandma grandpa granny aunt uncle cousin parent parents son daughter kid kids "
    "child children husband wife spouse boyfriend girlfriend friend friends neighbor neighbour "
    "coworker colleague family relative relatives niece nephew fiance fiancee fhx fh "
    "hereditary".split()
)
SCOPE_BREAKERS = frozenset(
    "but however although though except yet still which who whose because while apart aside "
    "currently now today lately recently whereas since then".split()
)
# In "her son, who made the soccer team", the relative clause is still about the son.
SUBJECT_CHANGE = frozenset(
    "but however although though whereas since then she he i ive im id client pt patient "
    # "the hubby reckons I've got a gammy leg": the relative reports, the client has it.
    "says said reckons reckoned thinks thought told tells noticed mentioned worries worried".split()
)
DOUBLE_NEGATIVE = frozenset("cant cannot couldnt never".split())
VERBAL_NEGATIONS = frozenset("wont cant cannot couldnt wouldnt".split())
PRONOUNS = frozenset("she he i ive im id shes hes".split())
CLAUSE_JOINS = frozenset(", and but so then while because".split())
CLAUSE_STARTERS = frozenset(
    "wants want wanted has have had is was are were reports reported complains complained feels "
    "felt says said notes noted mentions mentioned states stated would will plans hopes asks "
    "asked likes needs gets got describes shows seems presents admits she he they i we client pt "
    "patient her his also just looking hoping asking wanting keen needing".split()
)
RESOLVED = [
    ("fully", "recovered"), ("completely", "recovered"), ("recovered",), ("resolved",),
    ("healed",), ("cleared", "up"), ("went", "away"), ("no", "longer"), ("used", "to"),
    ("all", "better"), ("back", "to", "normal"), ("no", "problems", "since"),
    ("no", "issues", "since"), ("no", "pain", "since"), ("fine", "since"), ("fine", "now"),
    ("better", "now"), ("gone", "now"), ("long", "ago"), ("childhood",), ("in", "remission"),
    ("no", "lasting"), ("no", "residual"), ("fine", "ever", "since"), ("behind", "her"),
    ("behind", "him"), ("rehabbed",), ("rehabilitated",), ("made", "peace"), ("at", "peace"),
    ("come", "to", "terms"), ("nothing", "since"),
    # "turned out to be reflux", not a leg "turned out"
    ("turned", "out", "to"), ("turns", "out", "to"), ("turned", "out", "it"),
    ("turned", "out", "fine"), ("turned", "out", "ok"), ("turned", "out", "nothing"),
    ("no", "issues", "now"), ("no", "problems", "now"), ("gone", "completely"),
    ("full", "recovery"), ("totally", "gone"), ("all", "gone"), ("gone", "after"),
    ("cleared", "her"), ("cleared", "him"), ("cleared", "for"), ("doing", "great"),
    ("came", "off", "them"), ("came", "off", "it"), ("finished", "rehab"),
    ("finished", "cardiac", "rehab"), ("completed", "rehab"), ("completed", "cardiac", "rehab"),
    ("completely", "gone"), ("all", "clear"), ("has", "cleared"), ("it", "cleared"),
    ("cleared", "completely"), ("rash", "cleared"), ("benign",), ("been", "clear"),
    ("no", "current"), ("worked", "through"), ("settled", "now"), ("feels", "settled"),
    ("mood", "good"), ("off", "meds"), ("settled",), ("cleared", "with"), ("cleared", "after"),
    ("clear", "now"), ("on", "top", "of", "things"), ("happy", "now"), ("doing", "well", "now"),
    ("fully", "back"), ("no", "problems", "at", "all"), ("has", "lifted"), ("lifted",),
    ("like", "myself", "again"), ("like", "herself", "again"), ("like", "himself", "again"),
    ("back", "to", "herself"), ("back", "to", "himself"), ("finished", "counselling"),
    ("finished", "counseling"), ("finished", "therapy"), ("sorted", "out", "now"),
]  # fmt: skip
# Said in the next sentence, these close what the previous one opened.
STRONG_RESOLVED = [
    seq for seq in RESOLVED if seq not in {("used", "to"), ("no", "longer"), ("long", "ago")}
] + [("gone",), ("settled",)]
STILL_RELEVANT = frozenset(
    "still lingering ongoing continues continuing persists persistent persisting recurring "
    "recurs flares flare flared again lately worse worsening".split()
)
NOT_OFFERED = [
    ("dont", "offer"),
    ("do", "not", "offer"),
    ("not", "offer"),
    ("doesnt", "offer"),
    ("dont", "do"),
    ("do", "not", "do"),
    ("not", "trained"),
    ("isnt", "something"),
    ("not", "something"),
    ("dont", "provide"),
    ("not", "offered"),
    ("no", "one", "here"),
    ("outside", "my"),
    ("outside", "our"),
    ("not", "my", "specialty"),
    ("cant", "offer"),
    ("we", "dont"),
    ("i", "dont"),
    ("not", "certified"),
]
NUMBER_WORDS = {
    "a": 1,
    "an": 1,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "fifteen": 15,
    "twenty": 20,
    "thirty": 30,
    "few": 3,
    "several": 3,
    "many": 5,
    "couple": 2,
}
_NUM = (
    # "2.5 wks ago" is two and a half weeks, not five
    r"(?<![\d.])(\d+(?:\.\d+)?|a|an|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty"
    r"|thirty|a few|few|several|many|a couple of|couple of|a couple)"
)
_UNITS = r"(day|days|week|weeks|wk|wks|month|months|mo|mos|year|years|yr|yrs|decade|decades)"
_WHEN = re.compile(
    _NUM + r"\s+" + _UNITS + r"\s+(ago|back|prior)"
    r"|\b(last|this past)\s+(week|weekend|month|year|night|spring|summer|fall|winter)\b"
    r"|\byesterday\b",
    re.I,
)
_LONG_AGO = re.compile(
    _NUM + r"\s+(year|years|yr|yrs|decade|decades)\s+(ago|back|prior)"
    r"|\bas an? (child|kid|teen|teenager|toddler|baby)\b"
    r"|\bin (high school|college|her twenties|his twenties)\b"
    r"|\byears (ago|back)\b|\bback in (19|20)\d\d\b|\bin (19|20)\d\d\b",
    re.I,
)
_BARE_YEAR = re.compile(
    r"(?<!since )(?<!from )(?<!till )(?<!until )(?<!dx )(?<!diagnosed )(?<!diagnosed in )"
    r"\b((?:19|20)\d\d)\b",
    re.I,
)
_PAST_EPISODE = re.compile(
    r"\blast (year|yr|fall|autumn|spring|summer|winter|christmas|xmas|month|term|semester)\b"
    r"|\b\d+\s*(months?|mos?|mths?|years?|yrs?)\s+(ago|back)\b|\b(in|back in) (19|20)\d\d\b"
    r"|\bscare\b",
    re.I,
)
NOW_WORDS = frozenset("now today tonight currently this again since".split())
# Who examines a limb: a finding of theirs explains a sign beside it (the limp after a sprain
# is the sprain's). A chiropractor's finding does not: after a car accident the spine is the
# chiropractor's and the limp still wants a physical therapist's gait work (Alice, in the
# articles).
BODY_PROFESSIONS = frozenset(
    "physical-therapist orthopedic-surgeon sports-medicine-physician primary-care-physician "
    "neurologist podiatrist emergency-care".split()
)
# A sign that has been there a long time (for a concept that counts only when new).
_LONGSTANDING = re.compile(
    r"\bfor (many |several |a few |a couple of |\d+ )?(years|yrs|decades|ages)\b"
    r"|\b(long ?standing|lifelong|always had|all (her|his|my|their) life|since (childhood|birth))\b"
    r"|\bno change\b|\bunchanged\b|\bnothing new\b",
    re.I,
)
_RECENT = re.compile(
    r"\b(yesterday|today|this morning|this afternoon|last night|this week|earlier|at breakfast"
    r"|at lunch|on the way|on the (bus|train|drive|walk)|in the car)\b"
    r"|\b(\d+|a few|few|a couple of|couple of|two|three|several) (hours|hrs|hr|days) ago\b",
    re.I,
)
SENSITIVE_ADVICE = (
    "Sensitive: build trust first and choose the moment with care. Raise it with diplomacy, "
    "after the session when the client is dressed and seated — never while they are on the "
    "table. Coming from someone they do not trust yet, this suggestion is hard to hear."
)


@dataclass(frozen=True)
class Intake:
    """What the engine reads: free-text notes and the structured intake fields."""

    notes: str = ""
    complaints: str = ""
    goals: str = ""
    history: str = ""
    visit_number: int = RETURNING_CLIENT
    needs_assessment: bool = False
    offered_modalities: tuple[str, ...] = DEFAULT_MODALITIES
    today: dt.date | None = None

    def texts(self) -> list[tuple[str, str]]:
        return [
            (name, value)
            for name, value in (
                ("complaints", self.complaints),
                ("goals", self.goals),
                ("history", self.history),
                ("notes", self.notes),
            )
            if value and value.strip()
        ]


@dataclass(frozen=True)
class Match:
    finding: str
    label: str
    quote: str
    field: str
    when: str
    urgency: str
    professions: tuple[str, ...]
    position: int


@dataclass(frozen=True)
class Ignored:
    finding: str
    label: str
    quote: str
    why: str


@dataclass
class Suggestion:
    profession: str
    name: str
    reasons: list[str]
    urgency: str
    sensitive: bool
    timing: str
    timing_reason: str
    findings: list[str] = field(default_factory=list)
    non_invasive: bool = False
    position: int = 0
    # For a professional's eyes (the referral letter): what was found, in plain clinical words,
    # without the matching trace of `reasons` ("Car accident (three weeks ago); limp").
    clinical: str = ""
    # A question to ask the client before this referral ("has a physician examined it?").
    ask: str = ""

    def public(self) -> dict[str, Any]:
        """The documented JSON shape of one suggestion."""
        return {
            "profession": self.profession,
            "reasons": self.reasons,
            "urgency": self.urgency,
            "sensitive": self.sensitive,
            "timing": self.timing,
            "timing_reason": self.timing_reason,
        }


@dataclass
class Result:
    suggestions: list[Suggestion]
    findings: list[Match]
    ignored: list[Ignored]
    kb_version: str

    @property
    def emergency(self) -> bool:
        return any(s.urgency == "emergency" for s in self.suggestions)

    def to_dict(self, *, detail: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {"suggestions": [s.public() for s in self.suggestions]}
        if detail:
            out["findings"] = [asdict(m) for m in self.findings]
            out["ignored"] = [asdict(i) for i in self.ignored]
            out["knowledge_base_version"] = self.kb_version
        return out


# --- Matching --------------------------------------------------------------------------------


# What owns patterns: a finding (CompiledFinding) or a concept of the combinations.
_Owner = TypeVar("_Owner", CompiledFinding, CompiledConcept)


def _by_first_word(
    owners: list[_Owner],
) -> tuple[
    dict[str, list[tuple[_Owner, Pattern]]], dict[str, list[tuple[_Owner, Pattern]]], list[int]
]:
    """(owner, pattern) pairs by the literal words and the prefixes a pattern can start with."""
    by_word: dict[str, list[tuple[_Owner, Pattern]]] = defaultdict(list)
    by_prefix: dict[str, list[tuple[_Owner, Pattern]]] = defaultdict(list)
    for owner in owners:
        for pattern in owner.patterns:
            first = pattern.slots[0]
            assert first is not None
            for word in first.words:
                by_word[word].append((owner, pattern))
            for prefix in first.prefixes:
                by_prefix[prefix].append((owner, pattern))
    return by_word, by_prefix, sorted({len(p) for p in by_prefix})


class _Index:
    """Patterns indexed by their first word, so a note is scanned once, not once per phrase:
    the findings', and the concepts' of the combinations (data/combinations.toml)."""

    def __init__(self, kb: KnowledgeBase) -> None:
        self.by_word, self.by_prefix, self.prefix_lengths = _by_first_word(kb.findings)
        (
            self.concepts_by_word,
            self.concepts_by_prefix,
            self.concept_prefix_lengths,
        ) = _by_first_word(kb.concepts)
        self.speller = Speller(
            kb.vocabulary,
            kb.stems,
            keep=NEGATION_CUES | FAMILY_CUES | SCOPE_BREAKERS | CLAUSE_STARTERS | STILL_RELEVANT,
        )

    def candidates(self, token: str) -> list[tuple[CompiledFinding, Pattern]]:
        return _starting(token, self.by_word, self.by_prefix, self.prefix_lengths)

    def concept_candidates(self, token: str) -> list[tuple[CompiledConcept, Pattern]]:
        return _starting(
            token, self.concepts_by_word, self.concepts_by_prefix, self.concept_prefix_lengths
        )


def _starting(
    token: str,
    by_word: dict[str, list[tuple[_Owner, Pattern]]],
    by_prefix: dict[str, list[tuple[_Owner, Pattern]]],
    lengths: list[int],
) -> list[tuple[_Owner, Pattern]]:
    found = list(by_word.get(token, ()))
    for n in lengths:
        if n > len(token):
            break
        found.extend(by_prefix.get(token[:n], ()))
    return found


@cache
def _index() -> _Index:
    return _Index(load())


def _match_at(slots: tuple[Slot | None, ...], words: list[str], si: int, ti: int) -> int:
    """Index just past the match of slots[si:] starting at token ti, or -1."""
    if si == len(slots):
        return ti
    slot = slots[si]
    if slot is None:
        for skip in range(MAX_GAP + 1):
            if ti + skip > len(words):
                break
            end = _match_at(slots, words, si + 1, ti + skip)
            if end >= 0:
                return end
        return -1
    if ti < len(words) and words[ti] != "," and slot.matches(words[ti]):
        end = _match_at(slots, words, si + 1, ti + 1)
        if end >= 0:
            return end
    if slot.optional:
        return _match_at(slots, words, si + 1, ti)
    return -1


def _find(pattern: Pattern, words: list[str]) -> tuple[int, int] | None:
    for start in range(len(words)):
        end = _match_at(pattern.slots, words, 0, start)
        if end > start:
            return start, end
    return None


def _has_sequence(words: list[str], seqs: list[tuple[str, ...]]) -> int:
    """Position of the first of seqs found in words, or -1."""
    by_first = _by_first_word_of(tuple(seqs))
    for i, word in enumerate(words):
        for seq in by_first.get(word, ()):
            if tuple(words[i : i + len(seq)]) == seq:
                return i
    return -1


@lru_cache(maxsize=128)
def _by_first_word_of(seqs: tuple[tuple[str, ...], ...]) -> dict[str, list[tuple[str, ...]]]:
    by_first: dict[str, list[tuple[str, ...]]] = defaultdict(list)
    for seq in seqs:
        by_first[seq[0]].append(seq)
    return dict(by_first)


def _is_cue(word: str, cues: frozenset[str]) -> bool:
    # "dad's side" is normalised to "dads": possessives and plurals count too.
    return word in cues or (word.endswith("s") and word[:-1] in cues)


def _in_scope(
    words: list[str],
    cues: frozenset[str],
    start: int,
    window: int,
    breakers: frozenset[str] = SCOPE_BREAKERS,
) -> bool:
    """Whether a cue before `start` reaches it: NegEx-style scope ending at clause breaks.

    The window counts words, not commas, so "denies CP, SOB, numbness, tingling" negates all.
    """
    seen = 0
    crossed_comma = False
    for i in range(start - 1, -1, -1):
        word = words[i]
        if word == ",":
            crossed_comma = True
        else:
            seen += 1
            if seen > window:
                return False
        if word in breakers:
            # "her husband jokes he's pregnant": a pronoun only changes the subject after a
            # clause break ("…, she has…", "… and she has…").
            if word in PRONOUNS and i > 0 and words[i - 1] not in CLAUSE_JOINS:
                continue
            return False
        if _is_cue(word, cues):
            if i + 1 < len(words) and (word, words[i + 1]) in PSEUDO_NEGATIONS:
                return False
            # "doesn't (really) matter, everybody will be better off…" negates nothing after it
            if "matter" in words[i + 1 : i + 3]:
                return False
            # "an ache that won't ease, sweat soaking his shirt": a verb's own negation ends at
            # the comma (a list after "no" or "denies" does not).
            if crossed_comma and (word in VERBAL_NEGATIONS or _negates_a_doing(words, i)):
                return False
            # "can't talk about him without falling apart": the falling apart happens.
            if word == "without" and any(w in DOUBLE_NEGATIVE for w in words[max(0, i - 8) : i]):
                return False
            return True
        if word == "," and i + 1 < start and words[i + 1] in CLAUSE_STARTERS:
            return False
        if word in ("and", "or") and i + 1 < start and words[i + 1] in CLAUSE_STARTERS:
            return False
    return False


# "not sweating at all, threw up once": a negated doing ends at the comma; "not having any
# numbness, tingling" is a list (these verbs introduce what is had or felt).
_LISTING_VERBS = frozenset(
    "having getting feeling experiencing noticing reporting complaining showing".split()
)


# "never got to the session, slipped on the ice", "not touched by paracetamol, seeing zigzags":
# a deed that did not happen ends at the comma too. Not after "no" or "denies", which open a
# list ("no altered sensation, saddle numbness"; "denies left-sided weakness, facial droop"),
# nor after a verb that introduces what was had or felt ("never had chest pain, SOB").
_DONE = frozenset("got went made came did ran took gave".split())
_LISTING_PAST = frozenset("had felt noticed reported experienced complained".split())


def _negates_a_doing(words: list[str], i: int) -> bool:
    following = words[i + 1] if i + 1 < len(words) else ""
    # A list after "no" or "denies" runs on: "denies radiating pain, numbness, bowel changes".
    if words[i] in LIST_NEGATIONS or words[i] == "no":
        return False
    if following.endswith("ing"):
        return len(following) > 4 and following not in _LISTING_VERBS
    if following in _LISTING_PAST:
        return False
    return following in _DONE or (len(following) > 4 and following.endswith("ed"))


# "Explained: saddle numbness, bladder changes = go to ED. She has none of these." The sentence
# after a list answers for the whole of it.
_NONE_OF_THESE = re.compile(
    r"^(?:(?:she|he|they|client|cl|pt|patient|i)\s+)?(?:has|have|had|reports|reported|denies|denied)"
    r"\s+(?:none|neither)\s+of\s+(?:these|them|those|the above)(?:\s+(?:today|now))?"
    r"(?:\s+(?:just|only)\b.*)?$"
    r"|^(?:(?:she|he|they|client|cl|pt|patient)\s+)?(?:denies|denied)\s+(?:all|any|each)\s+"
    r"(?:of\s+)?(?:these|them|those|the above)(?:\s+(?:today|now))?$"
)


def _answers_no(words: list[str], question: _Sentence | None = None) -> bool:
    """A sentence that only answers no: "No.", "- 'no'", "None"; or one that says the client has
    none of what the sentence before listed ("She has none of these"); or, after a question
    ("Self-harm?"), one that opens with its no ("'no, nothing like that'")."""
    said = {w for w in words if w != ","}
    if bool(said) and said <= FORM_ANSWERS_NO:
        return True
    # "She has none of these" (and nothing more: "none of this is normal for her" is no denial).
    if _NONE_OF_THESE.match(" ".join(w for w in words if w != ",")):
        return True
    # "Self-harm? 'no, nothing like that'": a bare no, or a no and a comma ("no one", "no
    # previous headaches", "never had this" answer nothing); on a form, the answer before the
    # next question.
    return (
        question is not None
        and bool(question.tokens)
        and question.text[question.tokens[-1].end :].lstrip(" '\"’”)").startswith("?")
        and bool(words)
        and words[0] in {"no", "nope", "nil", "none", "negative", "n"}
        and (
            len(words) == 1
            or words[1] == ","
            # a form's answer before its next question: "Pregnant? N/A  Any new injuries? N"
            or (words[0] in {"n", "none", "nil"} and words[1] != "of")
        )
    )


def _negated(words: list[str], start: int, end: int, pattern: Pattern | None = None) -> bool:
    # "non-" negates its own word only: a "non-tender lump" is a lump.
    words = [w if w != "non" or i == start - 1 else "" for i, w in enumerate(words)]
    # A phrase that opens with its own negation ("couldn't find his words") starts a new scope.
    own = words[start] in NEGATION_CUES | DOUBLE_NEGATIVE
    if not own and _in_scope(words, NEGATION_CUES, start, window=NEGATION_WINDOW):
        return True
    # "chest pain [ ] numbness [ ] - all unchecked": the form line says no to what comes before.
    if _has_sequence(words[end:], ALL_UNTICKED) >= 0:
        return True
    # "nothing hurts", "nothing sore": "nothing" denies the word right after it only ("nothing
    # helps the pain" is pain).
    if start > 0 and words[start - 1] == "nothing":
        return True
    if _in_scope(words, LIST_NEGATIONS, start, window=LIST_NEGATION_WINDOW):
        return True
    # "Pregnant: no", "Numbness - none", "Numb/tingly - no".
    if end < len(words) and words[end] in FORM_ANSWERS_NO:
        return True
    if len(words) <= 5 and end < len(words) and words[-1] in FORM_ANSWERS_NO:
        return True
    # A negation inside the phrase, matched by a gap: "periods regular, no pain".
    if pattern is not None:
        literal = {w for slot in pattern.slots if slot is not None for w in slot.words}
        if any(w in NEGATION_CUES and w not in literal for w in words[start + 1 : end]):
            return True
    return (
        any(w in POST_NEGATIONS for w in words[end : end + 3])
        or _denied_after(words, end)
        or _answered_no(words, start, end)
    )


ASKED = frozenset("asked ask asking screened".split())
SAID = frozenset("said says answered answers replied replies".split())
# A question about whether someone has seen to it is not a question about the thing itself
# ("asked if she has seen anyone about the saddle numbness, says no").
ASKED_ABOUT_CARE = frozenset("seen see seeing anyone anybody doctor gp checked told".split())
# "says no change", "no worse", "no one": a "no" that begins another statement.
NO_THAT_GOES_ON = frozenset(
    "change changes worse better different one idea longer more improvement difference".split()
)


def _answered_no(words: list[str], start: int, end: int) -> bool:
    """A question about it answered no: "asked him straight out about hurting himself - said
    no", "asked if she has thoughts of it, she said no"."""
    question = words[max(0, start - 8) : start]
    if not any(w in ASKED for w in question) or any(w in ASKED_ABOUT_CARE for w in question):
        return False
    tail = words[end : end + 6] + [","]
    return any(
        w in SAID and tail[i + 1] in FORM_ANSWERS_NO and tail[i + 2] not in NO_THAT_GOES_ON
        for i, w in enumerate(tail[:-2])
    )


# "Asked re chest pain/SOB/dizziness - denies all": a list asked about, then denied as a whole.
DENIALS = LIST_NEGATIONS
DENIED_WHOLE = frozenset("all any both them these those everything".split())
DENIED_AFTER_WINDOW = 8


def _denied_after(words: list[str], end: int) -> bool:
    """Whether the phrase ending at `end` is followed, within a short list, by a denial of
    the whole list ("… – denies all", "… all denied"), not of a next thing ("denies fever")."""
    for i in range(end, min(len(words), end + DENIED_AFTER_WINDOW)):
        if words[i] == "but":
            return False
        if words[i] in DENIALS:
            after = words[i + 1] if i + 1 < len(words) else ","
            return after == "," or after in DENIED_WHOLE or words[i - 1] in DENIED_WHOLE
    return False


# "his wife, who's been very down", "her son has been having panic attacks": the relative is
# the subject of what follows, even for findings a relative's name alone does not make someone
# else's ("since her mum passed" is the client's grief).
RELATIVE_VERBS = frozenset(
    "who whos that has had is was s been keeps kept gets got having being very really so quite "
    "feeling felt".split()
)


def _relative_is_subject(words: list[str], start: int) -> bool:
    for i in range(start - 1, max(-1, start - 6), -1):
        if _is_cue(words[i], FAMILY_CUES):
            between = words[i + 1 : start]
            return bool(between) and all(w in RELATIVE_VERBS for w in between)
        if words[i] not in RELATIVE_VERBS:
            return False
    return False


# "picked up her toddler awkwardly - low back pain": the relative is what the client lifted.
OBJECT_VERBS = frozenset(
    "picked picking pick lifting lifted lift lifts carrying carried carry carries holding held "
    "hold chasing chased bathing bathed feeding fed pushing pushed up".split()
)


def _objects_masked(words: list[str]) -> list[str]:
    out = list(words)
    for i, word in enumerate(words):
        if not _is_cue(word, FAMILY_CUES):
            continue
        prev1 = words[i - 1] if i >= 1 else ""
        prev2 = words[i - 2] if i >= 2 else ""
        prev3 = words[i - 3] if i >= 3 else ""
        if (
            # "picked up her toddler": whom the client lifted
            (prev1 in DETERMINERS and prev2 in OBJECT_VERBS)
            # "me and my husband have been trying", "my husband and I": the client is one of them
            or (prev1 in DETERMINERS and prev2 == "and" and prev3 in _CLIENT_TOO)
            or (prev1 in DETERMINERS and words[i + 1 : i + 3] in (["and", "i"], ["and", "me"]))
            # "brought in by daughter", "came with her son": who came along
            or prev1 in {"by", "with"}
            or (prev1 in DETERMINERS and prev2 in {"by", "with"})
            # "Nan (84) brought in by her daughter": the client named by her role
            or (
                i <= 1
                and i + 1 < len(words)
                and words[i + 1].isdigit()
                and bool(set(words[i + 2 : i + 4]) & {"brought", "booked", "came", "comes", "here"})
            )
        ):
            out[i] = "_"
    return out


DETERMINERS = frozenset({"her", "his", "my", "the", "their", "a"})
_CLIENT_TOO = frozenset({"me", "i", "she", "he"})
ALL_UNTICKED = [
    ("all", "unchecked"),
    ("all", "unticked"),
    ("none", "checked"),
    ("none", "ticked"),
    ("nothing", "checked"),
    ("nothing", "ticked"),
    ("no", "boxes", "checked"),
    ("no", "boxes", "ticked"),
]


def _other_pronoun_after_relative(words: list[str], start: int) -> bool:
    """ "her son's football - he rolled his ankle": after "her <relative>", "he" is the
    relative (and after "his <relative>", "she")."""
    for i in range(1, start):
        if _is_cue(words[i], FAMILY_CUES):
            # "my husband … his foot": written in the first person, he or she is the relative.
            other = (
                HIS | HER
                if words[i - 1] == "my"
                else HIS
                if words[i - 1] in HER
                else HER
                if words[i - 1] in HIS
                else None
            )
            clause = words[i + 1 : start + 2]  # "… since her mum died": her is the wife
            if other and any(w in other for w in clause) and not {"client", "pt"} & set(clause):
                return True
    return False


def _someone_else(words: list[str], start: int) -> bool:
    words = _objects_masked(words)
    if _other_pronoun_after_relative(words, start):
        return True
    if _in_scope(words, FAMILY_CUES, start, window=10, breakers=SUBJECT_CHANGE):
        return True
    if "runs" in words and any(_is_cue(w, FAMILY_CUES) for w in words):
        return True
    return (
        _has_sequence(
            words,
            [
                ("runs", "in", "the", "family"),
                ("runs", "in", "her", "family"),
                ("runs", "in", "his", "family"),
                ("in", "the", "family"),
                ("family", "history"),
            ],
        )
        >= 0
    )


def _resolved(
    words: list[str],
    sentence: str,
    acute: bool,
    start: int = 0,
    cues: list[tuple[str, ...]] | None = None,
    end: int = 0,
    today: dt.date | None = None,
) -> bool:
    if any(
        w in STILL_RELEVANT and (i == 0 or words[i - 1] not in NEGATION_CUES)
        for i, w in enumerate(words)
    ):
        return False
    if (
        _has_sequence(
            words,
            [
                ("not", "fully"),
                ("never", "fully"),
                ("hasnt", "fully"),
                ("havent", "fully"),
                ("ever", "since"),
                ("since", "then"),
                ("not", "recovered"),
                ("hasnt", "recovered"),
            ],
        )
        >= 0
    ):
        return False
    # A cue inside the matched words is part of the finding ("can no longer do up buttons").
    outside = words[:start] + ["|"] * (end - start) + words[end:] if end > start else words
    at = _has_sequence(outside, cues or RESOLVED)
    # "a shade came down over her eye and hasn't lifted": a resolution denied is no resolution.
    if at > 0 and outside[at - 1] in NEGATION_CUES and outside[at] not in NEGATION_CUES:
        return False
    if at >= 0:
        # "used to" speaks of what came after it: "used to smoke", not "reflexology, which
        # he used to enjoy".
        # And "used to be a glass, now it's a bottle": what comes after "now" is today's.
        if tuple(words[at : at + 2]) == ("used", "to"):
            return at < start and "now" not in words[at + 2 : start]
        return True
    if acute:
        # "DVT R leg 2021 after a flight, treated": a year two or more back is history.
        year = (today or dt.date.today()).year
        if any(int(y) <= year - 2 for y in _BARE_YEAR.findall(sentence)):
            return True
        m = _LONG_AGO.search(sentence)
        if m:
            number = (
                (m.group(1) or "")
                .lower()
                .replace("a couple of", "couple")
                .replace("couple of", "couple")
                .replace("a couple", "couple")
                .replace("a few", "few")
            )
            amount = int(number) if number.isdigit() else NUMBER_WORDS.get(number, 2)
            unit = (m.group(2) or "").lower()
            if not unit or unit.startswith("decade") or amount >= 2:
                return True
    return False


def _offered(quote: str, sentence: str, offered: tuple[str, ...]) -> bool:
    """Whether the modality asked for (in the quote) is one the practice offers."""
    q = set(quote.lower().replace("-", " ").split()) - {"massage", "therapy"}
    text = " ".join(sentence.lower().replace("-", " ").split())
    return any(mod.lower() in text and q & set(mod.lower().split()) for mod in offered)


# "thought it was gone" means it is back.
HOPED = frozenset("thought thinks hoped believed assumed".split())
REFERS_BACK = frozenset(
    "it its that this which both they these those she he shes hes gone all".split()
)


@dataclass
class _Sentence:
    field: str
    text: str  # the whole field's text, for quoting
    sentence: str
    tokens: list[Token]
    words: list[str]


def _sentences(intake: Intake, index: _Index) -> list[_Sentence]:
    out = []
    for field_name, text in intake.texts():
        for offset, sentence in sentences(text):
            tokens = tokenize(sentence, offset)
            words = [index.speller.correct(t.text) for t in tokens]
            if words:
                out.append(_Sentence(field_name, text, sentence, tokens, words))
    role = _client_role(out[:2])
    if role:
        # "Daughter booked for her mom (81). Mom slipped…": after that, "mom" is the client.
        for sent in out[1:]:
            sent.words = ["client" if w == role else w for w in sent.words]
    return out


BOOKED_FOR = frozenset("booked booking books brought bringing brings".split())


def _client_role(first: list[_Sentence]) -> str | None:
    """The relative a note is about, when someone else booked: "Daughter booked for her mom"."""
    for sent in first:
        words = sent.words
        for i, word in enumerate(words):
            if not _is_cue(word, FAMILY_CUES) or i < 2:
                continue
            before = words[max(0, i - 4) : i]
            # "booked for her mom", "son brought mother (81)"; not "came in with her son".
            if BOOKED_FOR & set(before) and not {"with", "by"} & set(before):
                return word
    return None


def _required(cf: CompiledFinding, note: list[_Sentence]) -> bool:
    for other in note:
        for p in cf.requires:
            hit = _find(p, other.words)
            if hit and not _negated(other.words, hit[0], hit[1], p):
                return True
    return False


OFFERED = [("we", "offer"), ("we", "do", "offer"), ("do", "offer"), ("we", "do", "it"),
           ("we", "provide"), ("we", "have", "it")]  # fmt: skip


def _says_offered(words: list[str]) -> bool:
    """ "yes, we offer it" — but not "asked if we offer Rolfing"."""
    at = _has_sequence(words, OFFERED)
    return at >= 0 and not any(
        w in {"if", "whether", "asked", "asks", "ask"} for w in words[max(0, at - 2) : at]
    )


HIS = frozenset("his he hes him".split())
HER = frozenset("her she shes hers".split())


def _about_the_relative(note: list[_Sentence], sent: _Sentence) -> bool:
    """ "Her husband had a stroke; his speech is slurred": a sentence that opens with the
    pronoun of the other sex than the client's, right after one about "her husband" (or "his
    mother"), goes on about the relative."""
    at = next((i for i, other in enumerate(note) if other is sent), 0)
    if at == 0 or note[at - 1].field != sent.field or not sent.words:
        return False
    opener = sent.words[0]
    previous = note[at - 1].words
    for i, word in enumerate(previous[:-1]):
        if _is_cue(previous[i + 1], FAMILY_CUES):
            if (word in HER and opener in HIS) or (word in HIS and opener in HER):
                return True
    return False


NOT_ASKED = "nothing says the client wants to change it"


def _why_ignored(
    cf: CompiledFinding,
    sent: _Sentence,
    following: _Sentence | None,
    ti: int,
    end: int,
    quote: str,
    intake: Intake,
    note: list[_Sentence],
    pattern: Pattern | None = None,
) -> str:
    f, words = cf.finding, sent.words
    if any(_find(p, words) for p in cf.excludes):
        return "the sentence says it is something else"
    # A smoker is only referred when they want to stop: the wish must be somewhere in the note.
    if cf.requires and not _required(cf, note):
        return NOT_ASKED
    if f.negatable and (
        _negated(words, ti, end, pattern)
        # "Numbness? No."
        or (following is not None and _answers_no(following.words, sent))
    ):
        return "negated"
    if f.experiencer and (_someone_else(words, ti) or _about_the_relative(note, sent)):
        return "about someone else (family history)"
    if _relative_is_subject(words, ti) or _other_pronoun_after_relative(words, ti):
        return "about someone else (a relative's)"
    if f.negatable and _hypothetical(words, ti):
        return "a hypothetical (if it ever happens), not what the client has"
    if f.resolvable:
        if _resolved(words, sent.sentence, f.acute, start=ti, end=end, today=intake.today):
            return "in the past, resolved"
        # "Had plantar fasciitis last year; it's gone now." — the next sentence may close it.
        if (
            following is not None
            and not any(w in STILL_RELEVANT | HOPED for w in words + following.words)
            and _has_sequence(following.words[:8], STRONG_RESOLVED) >= 0
        ):
            return "in the past, resolved"
    # "Chest pains last fall -> 2 stents": an emergency of another season is history now.
    if (
        f.urgency == "emergency"
        and _PAST_EPISODE.search(" ".join(words[max(0, ti - 3) : end + 4]))
        and not any(w in STILL_RELEVANT | NOW_WORDS for w in words)
    ):
        return "in the past, over"
    if (
        f.id == "massage-modality"
        and (_offered(quote, sent.sentence, intake.offered_modalities) or _says_offered(words))
        and _has_sequence(words, NOT_OFFERED) < 0
        and not (following is not None and _has_sequence(following.words, NOT_OFFERED) >= 0)
    ) or (
        f.id == "massage-modality"
        and following is not None
        and _says_offered(following.words)
        and _has_sequence(words + following.words, NOT_OFFERED) < 0
    ):
        return "the practice offers it"
    return ""


# Hypotheticals: "what should she do if she ever gets chest pain" is not chest pain.
HYPOTHETICAL = [
    ("in", "case"), ("what", "if"), ("what", "to", "do", "if"), ("what", "should"),
    ("what", "she", "should"), ("what", "he", "should"), ("what", "i", "should"), ("do", "if"),
    ("if", "ever"), ("if", "she", "ever"), ("if", "he", "ever"), ("if", "i", "ever"),
    ("if", "they", "ever"), ("should", "she", "ever"), ("should", "he", "ever"),
    ("if", "she", "gets"), ("if", "he", "gets"), ("if", "she", "becomes"), ("if", "i", "get"),
    ("if", "she", "got"), ("if", "they", "get"), ("thinking", "about", "trying"),
    ("watch", "out", "for"), ("look", "out", "for"), ("god", "forbid"), ("hypothetically",),
    ("worried", "she", "might"), ("worried", "he", "might"), ("afraid", "of", "getting"),
    ("scared", "of", "getting"), ("worried", "about", "getting"), ("risk", "of"),
    ("to", "prevent"), ("to", "avoid"), ("prevention",), ("might", "think"),
    ("might", "try"), ("one", "day"), ("some", "day"), ("someday",), ("in", "a", "couple", "of"),
    ("in", "a", "few", "years"), ("just", "curious"),
    ("whether", "massage", "is"), ("is", "massage", "safe"), ("is", "massage", "ok"),
    ("if", "this"), ("if", "the", "test"), ("comes", "back", "positive"), ("what", "would"),
]  # fmt: skip


# "Wondering if I get enough protein" asks about now.
ASKING = frozenset("wondering wonders wondered asking asks asked checking unsure sure know".split())


def _hypothetical(words: list[str], start: int) -> bool:
    window = words[max(0, start - 10) : start]
    at = _has_sequence(window, HYPOTHETICAL)
    # ("Asked if he ever thought about ending it" is the therapist's question: still not his.)
    if at > 0 and window[at] == "if" and window[at - 1] in ASKING and "ever" not in window:
        return False
    return at >= 0 or ("if" in window and "ever" in window)


# "fell asleep", "fell pregnant", "fell ill": no fall.
_FELL = frozenset("fell fall falls falling fallen".split())
_NOT_A_FALL = frozenset("asleep ill pregnant apart short sick".split())


def _fell_asleep(words: list[str], end: int) -> bool:
    return (end < len(words) and words[end - 1] in _FELL and words[end] in _NOT_A_FALL) or words[
        end - 1 : end + 2
    ] in (["fell", "in", "love"], ["falling", "in", "love"])


@dataclass(frozen=True)
class _Hit:
    """A red-flag concept found about the client, now."""

    concept: str
    sentence: int
    quote: str
    position: int


def _concept_hits(
    sents: list[_Sentence], starts: list[int], today: dt.date | None = None
) -> dict[str, list[_Hit]]:
    """Every concept of the red-flag catalogue the note affirms of the client, in order."""
    index = _index()
    hits: dict[str, list[_Hit]] = defaultdict(list)
    for si, sent in enumerate(sents):
        words = sent.words
        following = (
            sents[si + 1] if si + 1 < len(sents) and sents[si + 1].field == sent.field else None
        )
        answered_no = following is not None and _answers_no(following.words, sent)
        for ti, word in enumerate(words):
            for cc, pattern in index.concept_candidates(word):
                cid = cc.concept.id
                if any(h.sentence == si and h.position == starts[si] + ti for h in hits[cid]):
                    continue
                end = _match_at(pattern.slots, words, 0, ti)
                if end <= ti:
                    continue
                if (
                    (cc.concept.negatable and (answered_no or _negated(words, ti, end, pattern)))
                    or (
                        cc.concept.experiencer
                        and (_someone_else(words, ti) or _about_the_relative(sents, sent))
                    )
                    or _relative_is_subject(words, ti)
                    or _other_pronoun_after_relative(words, ti)
                    # A red flag is about now: "as a teenager", "years ago" are history.
                    or (
                        cc.concept.resolvable
                        and _resolved(words, sent.sentence, True, start=ti, end=end, today=today)
                        and not (cc.concept.transient and _RECENT.search(sent.sentence))
                    )
                    or _hypothetical(words, ti)
                    # "floaters for years, no change": not new, so no red flag.
                    or (cc.concept.new and _LONGSTANDING.search(sent.sentence))
                    or _fell_asleep(words, end)
                ):
                    continue
                quote = sent.text[sent.tokens[ti].start : sent.tokens[end - 1].end]
                hits[cid].append(_Hit(cid, si, quote, starts[si] + ti))
    return {cid: found for cid, found in hits.items() if found}


def _fires(
    flag: Combination,
    hits: dict[str, list[_Hit]],
    windows: list[dict[str, list[_Hit]]],
) -> list[_Hit]:
    """The hits of the concepts that make the combination, or [] when it does not fire.
    `windows` are the hits of each sentence with the one before it, for `scope = "sentence"`
    ("Golfer, three times a week; inside of the elbow sore")."""
    if flag.scope in ("sentence", "one-sentence"):
        for in_window in windows if flag.scope == "sentence" else _windows(hits, previous=False):
            used = _fires_in(flag, in_window)
            if used:
                return used
        return []
    return _fires_in(flag, hits)


def _windows(hits: dict[str, list[_Hit]], *, previous: bool = True) -> list[dict[str, list[_Hit]]]:
    """The hits of each sentence, with the sentence before it unless `previous` is False."""
    by_sentence: dict[int, dict[str, list[_Hit]]] = defaultdict(lambda: defaultdict(list))
    for concept, found in hits.items():
        for h in found:
            by_sentence[h.sentence][concept].append(h)
    windows = []
    for si in sorted(by_sentence):
        merged: dict[str, list[_Hit]] = defaultdict(list)
        for sj in (si - 1, si) if previous else (si,):
            for concept, found in by_sentence.get(sj, {}).items():
                merged[concept].extend(found)
        windows.append(dict(merged))
    return windows


def _fires_in(flag: Combination, hits: dict[str, list[_Hit]]) -> list[_Hit]:
    if any(c in hits for c in flag.unless):
        return []
    for combo in flag.all:
        if all(c in hits for c in combo):
            used = [hits[c][0] for c in combo]
            # Two concepts of one combination must not be the very same words.
            if len({(h.position, h.quote) for h in used}) == len(combo):
                return used
    if flag.at_least:
        found = [hits[c][0] for c in flag.of if c in hits]
        if len(found) >= flag.at_least:
            return found
    return []


def _red_flags(
    sents: list[_Sentence], starts: list[int], kb: KnowledgeBase, today: dt.date | None = None
) -> list[tuple[Match, set[int]]]:
    """The combinations of the knowledge base that the note's concepts make (red flags, and
    complaints told as region + symptom + activity), each with its sentences."""
    hits = _concept_hits(sents, starts, today)
    if not hits:
        return []
    windows = _windows(hits)
    fired: dict[str, tuple[Match, set[int]]] = {}
    for flag in kb.combinations:
        used = sorted(_fires(flag, hits, windows), key=lambda h: h.position)
        if not used:
            continue
        quotes = list(dict.fromkeys(h.quote for h in used))
        in_sentences = {h.sentence for h in used}
        when = next(
            (m.group(0) for si in sorted(in_sentences) if (m := _WHEN.search(sents[si].sentence))),
            "",
        )
        match = Match(
            finding=flag.id,
            label=flag.label,
            quote=" … ".join(quotes),
            field=sents[used[0].sentence].field,
            when=when,
            urgency=flag.urgency,
            professions=tuple(flag.professions),
            position=used[0].position,
        )
        fired[flag.id] = (match, in_sentences)
    for flag in kb.combinations:
        if flag.id in fired:
            for other in flag.overrides:
                fired.pop(other, None)
    return list(fired.values())


def _scan(intake: Intake) -> tuple[list[Match], list[Ignored]]:
    index = _index()
    matches: dict[str, Match] = {}
    ignored: list[Ignored] = []
    emergency_sentences: set[int] = set()
    found_in: dict[str, int] = {}
    spans: dict[str, tuple[int, int, int]] = {}
    position = 0
    sents = _sentences(intake, index)
    starts: list[int] = []
    for si, sent in enumerate(sents):
        starts.append(position)
        following = (
            sents[si + 1] if si + 1 < len(sents) and sents[si + 1].field == sent.field else None
        )
        tried: set[tuple[str, str]] = set()
        for ti, word in enumerate(sent.words):
            # The longest phrase of each finding starting here: "crushing chest pain",
            # not "crushing chest".
            hits: dict[str, tuple[CompiledFinding, int, Pattern]] = {}
            for cf, pattern in index.candidates(word):
                key = (cf.finding.id, pattern.text)
                if key in tried:
                    continue
                end = _match_at(pattern.slots, sent.words, 0, ti)
                if end <= ti:
                    continue
                tried.add(key)
                best = hits.get(cf.finding.id)
                if best is None or end > best[1]:
                    hits[cf.finding.id] = (cf, end, pattern)
            for cf, end, pattern in hits.values():
                f = cf.finding
                quote = sent.text[sent.tokens[ti].start : sent.tokens[end - 1].end]
                why = _why_ignored(cf, sent, following, ti, end, quote, intake, sents, pattern)
                if why:
                    ignored.append(Ignored(f.id, f.label, quote, why))
                    continue
                if f.urgency != "routine":
                    emergency_sentences.add(si)
                if f.id in matches:
                    # Overlapping phrases of one finding widen its quote.
                    first_si, first_ti, first_end = spans[f.id]
                    if first_si == si and ti <= first_end and end > first_end:
                        spans[f.id] = (si, first_ti, end)
                        wide = sent.text[sent.tokens[first_ti].start : sent.tokens[end - 1].end]
                        matches[f.id] = replace(matches[f.id], quote=wide)
                    continue
                spans[f.id] = (si, ti, end)
                when = _WHEN.search(sent.sentence)
                found_in[f.id] = si
                matches[f.id] = Match(
                    finding=f.id,
                    label=f.label,
                    quote=quote,
                    field=sent.field,
                    when=when.group(0) if when else "",
                    urgency=f.urgency,
                    professions=tuple(f.professions),
                    position=position + ti,
                )
        position += len(sent.tokens) + 1
    # Red flags made of several findings, possibly in several sentences (data/combinations.toml);
    # one that asks for a physician soon adds nothing where a finding already says emergency.
    emergency_found = {found_in[m.finding] for m in matches.values() if m.urgency == "emergency"}
    for match, in_sentences in _red_flags(sents, starts, load(), intake.today):
        if (
            match.urgency == "soon"
            and in_sentences & emergency_found
            # ...unless it is the finer reading of that very emergency: chest pain on
            # exertion that settles with rest is angina, for a physician within days.
            and not set(_finding(match.finding).overrides) & set(matches)
        ):
            continue
        if match.finding not in matches:
            matches[match.finding] = match
            found_in[match.finding] = min(in_sentences)
            if match.urgency != "routine":
                emergency_sentences.update(in_sentences)
            if match.urgency == "emergency":
                # What an emergency is told with is its description, not another referral
                # ("can't grip with the left hand" in a stroke, "lips swelling" in anaphylaxis).
                # (Care for the mind afterwards stays: it is the follow-up, not the description.)
                for fid, m in list(matches.items()):
                    sensitive = any(load().professions[p].sensitive for p in m.professions)
                    if (
                        m.urgency == "routine"
                        and not sensitive
                        and found_in.get(fid) in in_sentences
                    ):
                        ignored.append(
                            Ignored(fid, m.label, m.quote, "part of an emergency's description")
                        )
                        del matches[fid]
                        found_in.pop(fid, None)
    # In a sentence that describes an emergency, the other words are its symptoms
    # ("pressure in her chest going up into her jaw" is not a dental problem).
    for fid, si in list(found_in.items()):
        if si in emergency_sentences and _finding(fid).symptom:
            m = matches.pop(fid)
            ignored.append(Ignored(fid, m.label, m.quote, "part of an emergency's description"))
    # A sign beside the finding that explains it is part of that finding (a limp after a
    # sprain); a limp alone still counts.
    for fid, si in list(found_in.items()):
        if (
            fid in matches
            and _finding(fid).secondary
            and any(
                abs(other - si) <= 1
                and sents[other].field == sents[si].field
                and not _finding(ofid).secondary
                and set(_finding(ofid).professions) & BODY_PROFESSIONS
                for ofid, other in found_in.items()
                if ofid != fid and ofid in matches
            )
        ):
            m = matches.pop(fid)
            found_in.pop(fid)
            ignored.append(Ignored(fid, m.label, m.quote, "explained by another finding beside it"))
    # Findings that only mean something together ("a heart condition" + "wants to exercise").
    for fid in list(matches):
        needs = _finding(fid).with_findings
        if needs and not any(n in matches for n in needs):
            m = matches.pop(fid)
            ignored.append(
                Ignored(fid, m.label, m.quote, "only relevant together with another finding")
            )
    overridden = {o for fid in matches for o in _finding(fid).overrides}
    for fid in overridden & set(matches):
        m = matches.pop(fid)
        ignored.append(Ignored(fid, m.label, m.quote, "covered by a more specific finding"))
    # A finding ignored in one sentence but found in another is found.
    ignored = [i for i in ignored if i.finding not in matches]
    unique: dict[tuple[str, str], Ignored] = {(i.finding, i.why): i for i in ignored}
    return sorted(matches.values(), key=lambda m: m.position), list(unique.values())


# --- From findings to suggestions -----------------------------------------------------------


# After an accident, a fall or a blow, a physician rules out what bodywork must not meet.
PHYSICIAN_FIRST = (
    "Ask whether a physician has examined this since it happened. If not — and at once with "
    "headache, dizziness, nausea, numbness, weakness or pain that keeps getting worse — a "
    "physician comes first; say so in the letter."
)


def _clinical(m: Match) -> str:
    """One finding in plain words for a letter: its label — for a combination, with what the
    client said of each part — and when."""
    text = m.label
    if m.finding in _combinations_by_id():
        text += ": " + ", ".join(q.strip() for q in m.quote.split(" … "))
    return f"{text} ({m.when})" if m.when and m.when.lower() not in text.lower() else text


def _timing(s: Suggestion, intake: Intake, small_one: str | None) -> tuple[str, str]:
    if s.urgency in ("emergency", "soon"):
        return "now", (
            "Red flag: it overrides every timing rule. Raise it today"
            + (" and get help now." if s.urgency == "emergency" else "; a visit within days.")
        )
    first_day = intake.visit_number <= FIRST_VISIT or intake.needs_assessment
    day = (
        "the first appointment"
        if intake.visit_number <= FIRST_VISIT
        else "the needs-assessment day"
    )
    if first_day:
        if s.profession == small_one:
            return "now", (
                f"On {day} hold back referral talk, except one small, non-invasive suggestion: "
                "this one. Offer it after the session and see how the client takes it."
            )
        return "later", (
            f"Not on {day}: get to know the client's needs first and raise it at a later visit"
            " (red flags excepted)."
        )
    if s.sensitive:
        return "now", SENSITIVE_ADVICE
    return (
        "now",
        "A returning client: suggest it after the session, when the client is dressed"
        " — never on the table.",
    )


def suggest(intake: Intake) -> Result:
    """Which professions could help this client, why, how urgently, and when to say so."""
    kb = load()
    matches, ignored = _scan(intake)
    suppressed = {slug for m in matches for slug in _finding(m.finding).suppresses}
    in_care = _in_care(intake)
    by_profession: dict[str, Suggestion] = {}
    for m in matches:
        finding = _finding(m.finding)
        for slug in m.professions:
            if slug in suppressed and m.urgency == "routine":
                continue
            prof = kb.professions[slug]
            s = by_profession.get(slug)
            if s is None:
                s = by_profession[slug] = Suggestion(
                    profession=slug,
                    name=prof.name,
                    reasons=[],
                    urgency=m.urgency,
                    sensitive=prof.sensitive,
                    timing="",
                    timing_reason="",
                    non_invasive=prof.non_invasive,
                    position=m.position,
                )
            when = f" ({m.when})" if m.when and m.when.lower() not in m.quote.lower() else ""
            s.reasons.append(f"“{m.quote}”{when} → {_lower_first(m.label)}: {finding.reason}")
            s.findings.append(m.finding)
            s.clinical = "; ".join(x for x in (s.clinical, _clinical(m)) if x)
            # An accident, a fall or a blow: has a physician seen it? (Not for a loss, which is
            # an event too, but no injury: the talking professions are not asked it.)
            if finding.acute and m.urgency == "routine" and not s.ask and not prof.sensitive:
                s.ask = PHYSICIAN_FIRST
            if URGENCY_RANK[m.urgency] < URGENCY_RANK[s.urgency]:
                s.urgency = m.urgency
    # In an emergency the one thing to do is get help now: other referrals would only
    # distract, and wait until the client is safe.
    if any(s.urgency == "emergency" for s in by_profession.values()):
        by_profession = {k: s for k, s in by_profession.items() if s.urgency == "emergency"}
    else:
        _read_by_meaning(intake, by_profession, matches, ignored)
    # "OB says everything looks great", "her physio has her on exercises": a routine referral to
    # someone already caring for the client adds nothing (a red flag still goes back to them).
    for slug, quote in in_care.items():
        s = by_profession.get(slug)
        if s is not None and s.urgency == "routine":
            del by_profession[slug]
            ignored.append(Ignored(slug, s.name, quote, "already in their care"))
    _offer_alongside(by_profession, suppressed | set(in_care))
    suggestions = sorted(
        by_profession.values(),
        key=lambda s: (URGENCY_RANK[s.urgency], -len(s.reasons), s.position),
    )
    small_one = next(
        (
            s.profession
            for s in suggestions
            if s.urgency == "routine" and s.non_invasive and not s.sensitive
        ),
        None,
    )
    for s in suggestions:
        s.timing, s.timing_reason = _timing(s, intake, small_one)
    return Result(suggestions, matches, ignored, kb.version)


def _offer_alongside(by_profession: dict[str, Suggestion], left_out: set[str]) -> None:
    """Name beside a routine suggestion the professions that do much the same work for it
    (`alongside` in professions.json): a stiff neck after a collision is a chiropractor's or a
    physical therapist's, and the client chooses. Not beside a red flag, not where the note
    points to the one profession (`alongside = false`: a marriage in trouble), and not one the
    client already sees, or that the note says did not help. (A suggestion with findings of
    both kinds, a marriage in trouble and a grief, has the second profession.)"""
    kb = load()
    for slug, s in list(by_profession.items()):
        if s.urgency != "routine" or (
            s.findings and not any(_finding(f).alongside for f in s.findings)
        ):
            continue
        for other in kb.professions[slug].alongside:
            if other in by_profession or other in left_out:
                continue
            prof = kb.professions[other]
            by_profession[other] = Suggestion(
                profession=other,
                name=prof.name,
                reasons=[
                    f"Beside {_a(s.name)}, for the same complaint: {_a(prof.name)} does much "
                    "the same work for it, and the client can choose"
                ],
                urgency="routine",
                sensitive=prof.sensitive,
                timing="",
                timing_reason="",
                non_invasive=prof.non_invasive,
                position=s.position,
                clinical=s.clinical,
                ask=s.ask,
            )


# Words around a professional's name that say the client is in their care now.
CARE_BEFORE = frozenset(
    "her his my their your own sees seeing saw seen under with attends attending booked "
    "managed".split()
)
CARE_AFTER = frozenset(
    "says said knows know aware cleared okayed okd happy following follows monitoring monitors "
    "managing manages checked checks confirmed told tells thinks thought diagnosed dx referred "
    "recommended recommends prescribed gave wants reviews reviewed reviewing".split()
)
# "her old psychiatrist retired", "lost her psychiatrist", "sign-off from her doctor",
# "back home I'd see my chiro": a care that ended, is wanted, or is elsewhere.
CARE_ENDED = frozenset(
    "old former previous ex lost without find found new needs need wanted from ask asks asked "
    "get call id would used left retired moved quit stopped died gone closed".split()
)


@cache
def _callings() -> dict[str, list[tuple[tuple[str, ...], list[str]]]]:
    """What professionals are called, by first word: "ob" → [(("ob",), [obstetrician…]), …]."""
    names: dict[tuple[str, ...], list[str]] = defaultdict(list)
    for slug, prof in load().professions.items():
        for name in prof.called:
            names[tuple(name.split())].append(slug)
    by_first: dict[str, list[tuple[tuple[str, ...], list[str]]]] = defaultdict(list)
    for seq, slugs in names.items():
        by_first[seq[0]].append((seq, slugs))
    return dict(by_first)


def _in_care(intake: Intake) -> dict[str, str]:
    """The professions the note says already care for the client, with the words that say so."""
    found: dict[str, str] = {}
    for sent in _sentences(intake, _index()):
        words = sent.words
        for i, word in enumerate(words):
            for seq, slugs in _callings().get(word, ()):
                if tuple(words[i : i + len(seq)]) != seq:
                    continue
                end = i + len(seq)
                before = words[max(0, i - 2) : i]
                after = words[end : end + 3]
                if not (CARE_BEFORE & set(before) or CARE_AFTER & set(after)):
                    continue
                if CARE_ENDED & set(words[max(0, i - 4) : end + 2]):
                    continue
                if _in_scope(words, NEGATION_CUES, i, window=NEGATION_WINDOW) or _someone_else(
                    words, i
                ):
                    continue
                first = sent.tokens[i - 1 if i and words[i - 1] in CARE_BEFORE else i]
                last = sent.tokens[min(end + 2, len(sent.tokens) - 1)]
                for slug in slugs:
                    found.setdefault(slug, sent.text[first.start : last.end])
    return found


def _read_by_meaning(
    intake: Intake,
    by_profession: dict[str, Suggestion],
    matches: list[Match],
    ignored: list[Ignored],
) -> None:
    """Compare the note with the example library by meaning (see library.py): add the
    professions most of the closest notes went to, and drop a routine suggestion of the
    rules that almost none of them did. Red flags stay with the rules: this never adds an
    emergency, and never drops a suggestion that is not routine. What the rules read as
    denied, someone else's, hypothetical or over is not read again: a sentence where that is
    all there is is left out, and no profession only such words point to is added."""
    if not library.available():
        return
    text = _what_counts(intake, matches, ignored)
    # What is left must say something: "hasn't had any" alone reads like anything.
    words = [t for t in tokenize(text) if len(t.text) > 3]
    reading = _reading(text) if len(words) >= MIN_WORDS_TO_READ else None
    if reading is None:
        return
    kb = load()
    if (
        reading.shares.get(library.EMERGENCY, 0.0) >= library.EMERGENCY_SHARE
        and _emergency_closeness(reading) >= library.EMERGENCY_CLOSENESS
        # The closest note decides a tie of likenesses: a note almost the same as a routine one
        # ("7/40 pregnant, c/o fatigue and nausea") is not an emergency for its neighbours'.
        and library.EMERGENCY in reading.neighbours[0][1].professions
        # A few words ("since the birth, sex has been painful") are too little to call 911 on
        # their likeness alone.
        and len(words) >= MIN_WORDS_FOR_AN_EMERGENCY
        # Only where the rules saw no danger at all: a red flag they graded "soon" keeps the
        # grade the published list gives it, and an emergency is something new.
        and all(s.urgency == "routine" for s in by_profession.values())
        and not _LONGSTANDING.search(text)
        # "says he'd never do anything, no plan": asked directly, denied (Columbia triage).
        and not _denies_a_plan(text)
    ):
        # Most of the closest notes were emergencies told another way than the rules know:
        # say so, with what to look for, rather than stay silent.
        closest = next(ex for _, ex in reading.neighbours if library.EMERGENCY in ex.professions)
        prof = kb.professions[library.EMERGENCY]
        by_profession.clear()
        by_profession[library.EMERGENCY] = Suggestion(
            profession=library.EMERGENCY,
            name=prof.name,
            reasons=[
                f"Read by meaning: {reading.votes_for(library.EMERGENCY)} of the "
                f"{len(reading.neighbours)} example notes most like this one were emergencies "
                f"(the closest: “{_shorten(closest.notes)}”). Check the warning signs with "
                "the client now: call 911 if they are there (988 for thoughts of suicide)."
            ],
            urgency="emergency",
            sensitive=False,
            timing="",
            timing_reason="",
            position=0,
            clinical=_closest_sentence(intake, [closest]),
        )
        return
    rules_said = dict(by_profession)
    # "Maintenance session, nothing new": where the rules found nothing and the therapist says
    # all is well, the closest notes add nothing either.
    if not rules_said and _ALL_WELL.search(text):
        return
    drop = {
        slug
        for slug, s in by_profession.items()
        if reading.routine_shares
        and s.urgency == "routine"
        and reading.routine_shares.get(slug, 0.0) < library.KEEP
        and not _sentence_reads_so(slug, text, matches)
    }
    # The physician a finding names beside another profession ("the physician beside
    # hypnotherapy": the medicines that most help a smoker quit) is the safe part of it: while
    # the other stays, so does the physician.
    kept_whole = {
        slug
        for slug in drop & {PHYSICIAN}
        for finding in by_profession[slug].findings
        if any(p in by_profession and p not in drop for p in _finding(finding).professions)
    }
    for slug, s in list(by_profession.items()):
        if slug in drop - kept_whole:
            del by_profession[slug]
            for finding in dict.fromkeys(s.findings):
                ignored.append(
                    Ignored(
                        finding=finding,
                        label=_finding(finding).label,
                        quote=s.name,
                        why=(
                            f"{_SET_ASIDE_BY_MEANING} went to other professions "
                            f"({reading.votes_for(slug)} of {len(reading.neighbours)} "
                            f"to {_a(s.name)})"
                        ),
                    )
                )
    # Professions only words read as not the client's, not now or not real point to. (A habit
    # nobody asked to change is not among them: "smoker" beside a cough that brings up blood is
    # still a note for the physician.)
    set_aside = {
        slug
        for i in ignored
        if i.finding in _findings_by_id()
        and i.why.startswith((*_CONTEXT_WHYS, "the practice offers it"))
        and i.why != NOT_ASKED
        for slug in _finding(i.finding).professions
    }
    # What a red flag holds back ("no massage of the limb" until a bone that may be broken has
    # been X-rayed) the closest notes do not bring back.
    held_back = {
        slug for m in matches if m.urgency != "routine" for slug in _finding(m.finding).suppresses
    }
    added = [
        slug
        for slug, share in sorted(reading.shares.items(), key=lambda kv: -kv[1])
        if share >= library.SHARE
        and slug not in by_profession
        and slug not in set_aside
        and slug in kb.professions
        and slug != library.EMERGENCY
        and slug not in held_back
    ]
    if not by_profession and not added:
        # The closest notes disagree with the rules but agree on nothing else either: the
        # rules' reading stands (a complaint is never left with no suggestion for that).
        by_profession.update(rules_said)
        ignored[:] = [i for i in ignored if not i.why.startswith(_SET_ASIDE_BY_MEANING)]
        return
    for slug in added:
        prof = kb.professions[slug]
        voters = [ex for _, ex in reading.neighbours if slug in ex.professions]
        closest = voters[0]
        by_profession[slug] = Suggestion(
            profession=slug,
            name=prof.name,
            reasons=[
                f"Read by meaning: {reading.votes_for(slug)} of the {len(reading.neighbours)} "
                f"example notes most like this one went to {_a(prof.name)} "
                f"(the closest: “{_shorten(closest.notes)}”)"
            ],
            urgency="routine",
            sensitive=prof.sensitive,
            timing="",
            timing_reason="",
            findings=[],
            non_invasive=prof.non_invasive,
            position=len(text),
            clinical=_closest_sentence(intake, voters),
        )


_SET_ASIDE_BY_MEANING = "the example notes most like this one"
PHYSICIAN = "primary-care-physician"
_ALL_WELL = re.compile(
    r"\b(?:maintenance|maintainance)\b(?! (?:worker|man|crew|staff|job|engineer))"
    r"|\b(?:nothing new|nothing else|no new|no (?:issues|concerns|complaints|changes|problems)"
    r"|that'?s it|nothing to (?:do|refer)|(?:he|she)'?s good)\b"
    r"|\b(?:feels? (?:good|great)|doing (?:well|great))(?=\s*(?:[.,;!]|$))",
    re.IGNORECASE,
)


def _denies_a_plan(text: str) -> bool:
    denial = next(c for c in load().concepts if c.concept.id == "no-plan-intent")
    for _, sentence in sentences(text):
        words = [t.text for t in tokenize(sentence)]
        if any(_find(p, words) for p in denial.patterns):
            return True
    return False


def _emergency_closeness(reading: library.Reading) -> float:
    """How close, on average, the emergencies among the closest notes are."""
    sims = [sim for sim, ex in reading.neighbours if library.EMERGENCY in ex.professions]
    return sum(sims) / len(sims) if sims else 0.0


def _lower_first(label: str) -> str:
    """ "Signs of Parkinson's disease" → "signs of Parkinson's disease" (and BE-FAST stays)."""
    return label[:1].lower() + label[1:]


def _a(name: str) -> str:
    """The name with its article: "a physical therapist", "an osteopath"."""
    name = name.lower()
    return f"{'an' if name[:1] in 'aeiou' else 'a'} {name}"


def _sentence_reads_so(slug: str, text: str, matches: list[Match]) -> bool:
    """Whether a sentence a finding for `slug` was found in, read on its own, is close to
    notes that went to `slug`."""
    quotes = [_fragments(m.quote) for m in matches if slug in m.professions]
    for _, sentence in sentences(text):
        low = sentence.lower()
        if any(all(f in low for f in frags) for frags in quotes):
            alone = _reading(sentence.strip())
            if alone and alone.routine_shares.get(slug, 0.0) >= library.KEEP:
                return True
    return False


def _what_counts(intake: Intake, matches: list[Match], ignored: list[Ignored]) -> str:
    """The intake without its history and without the clauses whose every finding the rules
    set aside ("no numbness, but she wants to lose weight" reads as "but she wants to lose
    weight")."""
    counted = [_fragments(m.quote) for m in matches]
    aside = [_fragments(i.quote) for i in ignored if i.why.startswith(_CONTEXT_WHYS)]
    kept = []
    # What the client brings now; the history (an occupation, old conditions) is the rules'
    # to read, and would only blur a short note's meaning.
    fields = [(name, value) for name, value in intake.texts() if name != "history"]
    for _, value in fields or intake.texts():
        for _, sentence in sentences(value):
            clauses = [c.strip() for c in _CLAUSE.split(sentence) if c and c.strip()]
            left = []
            for clause in clauses:
                low = clause.lower()
                has_aside = any(all(f in low for f in frags) for frags in aside)
                has_counted = any(f in low for frags in counted for f in frags)
                # "Her shoulder is fine": a clause that only says all is well says nothing
                # to read ("shoulder" would read like notes of shoulder pain).
                if not has_counted and _FINE_CLAUSE.match(clause):
                    continue
                if has_counted or not has_aside:
                    left.append(clause)
            if left:
                kept.append(", ".join(left))
    return ". ".join(kept)


# What the rules set aside as not the client's, not now or not real — not what they set aside
# as covered by another finding or as offered by the practice.
_CONTEXT_WHYS = (
    "negated",
    "about someone else",
    "a hypothetical",
    "in the past",
    "the sentence says it is something else",
    NOT_ASKED,
)
_CLAUSE = re.compile(r"[,;:]|\s[-–—]\s|\bbut\b", re.IGNORECASE)
_FINE_CLAUSE = re.compile(
    r"^(?:[\w'/]+\s+){0,4}(?:is|are|was|were|feels?|feeling|looks?|seems?|now|all|been)?\s*"
    r"(?:fine|ok|okay|good|great|normal|no problems?|no issues?|no complaints?|full rom)[.!]*$"
    # A social history that says nothing is wrong: "drinks socially", "etoh occasionally".
    r"|^(?:drinks?|drinking|alcohol|etoh|wine|beer)\s+(?:socially|occasionally|rarely|"
    r"moderately|in moderation)[.!]*$",
    re.IGNORECASE,
)


def _fragments(quote: str) -> list[str]:
    return [f.strip().lower() for f in quote.split("…") if f.strip()]


@lru_cache(maxsize=512)
def _reading(text: str, floor: float = library.FLOOR) -> library.Reading | None:
    # The client's page, the draft and the API read the same note again and again.
    return library.read(text, floor)


def forget_readings() -> None:
    """Forget the notes read by meaning (for a benchmark of a first reading)."""
    _reading.cache_clear()
    meaning.forget()


def _closest_sentence(intake: Intake, examples: list[library.Example]) -> str:
    """The note's sentence closest in meaning to the example notes behind a suggestion: the
    reason, in the note's own words, for a professional."""
    fields = [(name, value) for name, value in intake.texts() if name != "history"]
    candidates = [s.strip() for _, value in fields or intake.texts() for _, s in sentences(value)]
    # A sentence that tells a complaint ("my shoulder clicks") before one that sets the
    # scene ("bouldering twice a week"), however close the scene is to the examples.
    complaints = [c for c in candidates if _tells_a_complaint(c)]
    candidates = complaints or candidates
    if len(candidates) <= 1:
        return _shorten(candidates[0] if candidates else "", 200)
    return _shorten(candidates[library.closest_to(candidates, examples)], 200)


_COMPLAINT_CONCEPTS = frozenset({"msk-symptom", "pain", "region-any"})


@lru_cache(maxsize=512)
def _tells_a_complaint(sentence: str) -> bool:
    sents = _sentences(Intake(notes=sentence), _index())
    return bool(_concept_hits(sents, [0] * len(sents)).keys() & _COMPLAINT_CONCEPTS)


def _shorten(text: str, limit: int = 90) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rsplit(" ", 1)[0] + "…"


@cache
def _combinations_by_id() -> dict[str, Combination]:
    return {c.id: c for c in load().combinations}


@cache
def _findings_by_id() -> dict[str, Finding]:
    kb = load()
    return {cf.finding.id: cf.finding for cf in kb.findings} | {
        flag.id: flag.as_finding() for flag in kb.combinations
    }


def _finding(finding_id: str) -> Finding:
    return _findings_by_id()[finding_id]
