"""The knowledge base is data: it must be complete, consistent and validated at load."""

import csv

import pytest

from referwell.guidance import kb
from tests.conftest import shared

PRODUCT_SLUGS = [
    "massage-therapist", "chiropractor", "physical-therapist", "occupational-therapist",
    "athletic-trainer", "orthopedic-surgeon", "sports-medicine-physician",
    "primary-care-physician", "neurologist", "dermatologist", "podiatrist", "dentist",
    "osteopath", "naturopath", "homeopath", "acupuncturist", "nutritionist", "personal-trainer",
    "exercise-physiologist", "psychotherapist", "psychologist", "psychiatrist",
    "fertility-specialist", "obstetrician-gynecologist", "midwife-doula", "reflexologist",
    "hypnotherapist", "emergency-care",
]  # fmt: skip


def test_every_profession_of_the_product_is_described():
    base = kb.load()
    assert sorted(base.professions) == sorted(PRODUCT_SLUGS)
    for p in base.professions.values():
        assert p.does and p.reasons and p.summary


def test_nucc_codes_exist_in_the_official_code_set():
    path = shared("data", "nucc_taxonomy_251.csv")
    with path.open(encoding="utf-8") as fh:
        codes = {row["Code"] for row in csv.DictReader(fh)}
    base = kb.load()
    for p in base.professions.values():
        assert set(p.nucc) <= codes, p.slug
    assert "225700000X" in base.professions["massage-therapist"].nucc
    assert "111N00000X" in base.professions["chiropractor"].nucc
    assert base.professions["personal-trainer"].nucc == []
    assert base.professions["emergency-care"].is_provider is False


def test_every_profession_but_emergency_is_reachable_from_a_finding():
    base = kb.load()
    reachable = {slug for cf in base.findings for slug in cf.finding.professions}
    reachable |= {slug for flag in base.combinations for slug in flag.professions}
    assert reachable == set(PRODUCT_SLUGS)


def test_red_flags_cover_the_issue_list():
    ids = {cf.finding.id: cf.finding.urgency for cf in kb.load().findings}
    for emergency in ("heart-attack-signs", "stroke-signs", "suicidal"):
        assert ids[emergency] == "emergency"
    for soon in ("unexplained-weight-loss", "changing-mole", "dvt-signs"):
        assert ids[soon] == "soon"


def test_sensitive_professions_are_the_mental_health_ones():
    sensitive = {p.slug for p in kb.load().professions.values() if p.sensitive}
    assert sensitive == {"psychotherapist", "psychologist", "psychiatrist"}


def test_a_finding_naming_an_unknown_profession_is_refused(monkeypatch, tmp_path):
    bad = tmp_path / "findings.toml"
    bad.write_text(
        'version = 1\n[[finding]]\nid = "x"\nlabel = "X"\nprofessions = ["wizard"]\n'
        'reason = "r"\nphrases = ["magic"]\n'
    )
    (tmp_path / "professions.json").write_text((kb.DATA / "professions.json").read_text())
    monkeypatch.setattr(kb, "DATA", tmp_path)
    kb.load.cache_clear()
    try:
        with pytest.raises(kb.KnowledgeBaseError, match="unknown profession 'wizard'"):
            kb.load()
    finally:
        monkeypatch.undo()
        kb.load.cache_clear()


@pytest.mark.parametrize("pattern", [".. pain", "pain ..", "_|a word"])
def test_malformed_patterns_are_refused(pattern):
    with pytest.raises(kb.KnowledgeBaseError):
        kb.compile_pattern(pattern)


def test_an_emergency_must_send_to_emergency_care():
    with pytest.raises(ValueError, match="emergency-care"):
        kb.Finding(
            id="x",
            label="X",
            professions=["chiropractor"],
            reason="r",
            phrases=["p"],
            urgency="emergency",
        )


def test_alternatives_of_several_words_go_in_parentheses():
    assert kb.expand("(rolled|twisted|went over) .. ankle|knee") == [
        "rolled|twisted .. ankle|knee",
        "went over .. ankle|knee",
    ]
    assert kb.expand("(wont|will not) need (more|any more)") == [
        "wont need more",
        "wont need any more",
        "will not need more",
        "will not need any more",
    ]


@pytest.mark.parametrize("pattern", ["(a b|c", "a|(b c|d)", "(one) word", "x (a|) y"])
def test_malformed_groups_are_refused(pattern):
    with pytest.raises(kb.KnowledgeBaseError):
        kb.compile_patterns([pattern])


def test_no_phrase_in_the_knowledge_base_mixes_positions_and_phrases():
    """'went over|going over' reads as three positions and never matches 'went over'.

    The sign: two neighbouring positions that offer the same word ("over|going", "over").
    """
    import tomllib

    suspicious = []
    for name in ("findings.toml", "combinations.toml"):
        raw = tomllib.loads((kb.DATA / name).read_text(encoding="utf-8"))
        for rows in raw.values():
            for row in rows if isinstance(rows, list) else []:
                for key in ("phrases", "exclude", "requires"):
                    for pattern in kb.compile_patterns(row.get(key, [])):
                        pairs = zip(pattern.slots, pattern.slots[1:], strict=False)
                        if any(
                            a and b and a.words & b.words and len(a.words | b.words) > 1
                            for a, b in pairs
                        ):
                            suspicious.append(pattern.text)
    assert suspicious == []
