"""The guidance's meaning reader: the sentence model, the example library and how the engine
uses them behind the rule-based red flags (docs/guidance.md, "Reading by meaning")."""

import json
import math

import numpy as np
import pytest

from referwell.guidance import engine, library, meaning
from referwell.guidance.engine import Intake, suggest
from referwell.guidance.kb import load


def _professions(notes: str, **kw) -> dict[str, str]:
    return {s.profession: s.urgency for s in suggest(Intake(notes=notes, **kw)).suggestions}


def test_the_model_and_the_library_are_installed_here():
    # `make install` installs the model package; without it the guidance would be the rules
    # alone, and this suite must say so rather than pass quietly.
    assert meaning.available(), meaning.why_unavailable()
    assert library.available()


def test_encode_gives_unit_vectors_and_paraphrases_are_closer_than_strangers():
    v = meaning.encode(
        [
            "My shoulder pinches when I lift my arm overhead.",
            "Pain in the shoulder reaching up to a high shelf.",
            "She would like to eat better and lose some weight.",
        ]
    )
    assert v.shape == (3, 384)
    assert np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    assert v[0] @ v[1] > 0.5 > v[0] @ v[2]
    assert meaning.encode([]).shape == (0, 384)


def test_the_error_function_is_accurate():
    xs = np.linspace(-4, 4, 81, dtype=np.float32)
    got = meaning._erf(xs)
    want = np.array([math.erf(float(x)) for x in xs])
    assert np.max(np.abs(got - want)) < 1e-6


def test_the_vectors_belong_to_the_notes():
    # After editing data/examples.jsonl, `referwell guidance-library` makes the vectors anew.
    vectors = library._vectors()
    assert len(vectors) == len(library.examples()) > 3000
    sample = [0, len(vectors) // 2, len(vectors) - 1]
    fresh = meaning.encode([library.examples()[i].notes for i in sample])
    assert np.allclose(vectors[sample], fresh, atol=2e-3)  # stored as float16


def test_every_example_names_professions_of_the_product():
    slugs = set(load().professions)
    for ex in library.examples():
        assert set(ex.professions) <= slugs, ex


def test_stale_vectors_are_refused(tmp_path, monkeypatch):
    notes = tmp_path / "examples.jsonl"
    notes.write_text(json.dumps({"notes": "A new note.", "professions": []}) + "\n")
    monkeypatch.setattr(library, "EXAMPLES", notes)
    library.examples.cache_clear()
    library._vectors.cache_clear()
    try:
        with pytest.raises(library.LibraryError, match="guidance-library"):
            library.read("anything")
    finally:
        library.examples.cache_clear()
        library._vectors.cache_clear()


def test_a_reading_shares_the_closest_notes_professions():
    reading = library.read("Outer elbow sore from gripping tools all day, a carpenter.")
    assert reading is not None
    assert len(reading.neighbours) <= library.K
    assert reading.neighbours[0][0] >= reading.neighbours[-1][0] >= library.FLOOR
    assert math.isclose(sum(reading.shares.values()), 1.0) or any(
        len(ex.professions) != 1 for _, ex in reading.neighbours
    )
    assert max(reading.shares, key=reading.shares.get) == "physical-therapist"
    assert library.read("   ") is None


@pytest.mark.parametrize(
    ("notes", "fits"),
    [
        # Complaints the rules have no phrase for, told by body part and activity.
        (
            "Bouldering twice a week; the front of my shoulder clicks and catches on big reaches.",
            {"physical-therapist", "sports-medicine-physician", "athletic-trainer"},
        ),
        (
            "Violinist, left thumb base aches after long rehearsals, worse opening jars.",
            {"occupational-therapist", "physical-therapist"},
        ),
    ],
)
def test_a_complaint_without_a_phrase_is_read_by_meaning(notes, fits):
    result = suggest(Intake(notes=notes))
    found = {s.profession for s in result.suggestions}
    assert found & fits, found
    s = next(s for s in result.suggestions if s.profession in fits)
    assert s.urgency == "routine" and not result.emergency
    if s.reasons[0].startswith("Read by meaning"):
        # For a professional: the note's own sentence, no arrows or quoted fragments.
        assert s.clinical and "→" not in s.clinical and "“" not in s.clinical


def test_what_the_rules_set_aside_is_not_read_again():
    # A denied symptom reads like notes about that symptom; it is left out of the reading.
    assert "neurologist" not in _professions("Denies numbness or tingling.")
    found = _professions("No numbness, but she wants to lose weight.")
    assert "neurologist" not in found and found.keys() & {"personal-trainer", "nutritionist"}
    assert _professions("Her husband has terrible sciatica; she is fine, here to relax.") == {}


def test_a_note_about_several_things_keeps_each():
    found = _professions("Rear-ended last week. Wants to lose weight. Going through a divorce.")
    assert {"chiropractor", "psychotherapist"} <= found.keys()


def test_meaning_never_lowers_a_red_flag():
    # The rules' red flags stand: a "soon" flag keeps its grade, an emergency stays one.
    assert _professions("Fell on the ice yesterday, hit her head, headache and nausea since.") == {
        "primary-care-physician": "soon"
    }
    assert "emergency-care" in _professions("Crushing chest pain going down his left arm.")


def test_an_emergency_told_in_words_the_rules_lack_is_raised(monkeypatch):
    # Without the rules' red flags, a note most like the library's emergencies is raised as
    # one, with what to check.
    monkeypatch.setattr(engine, "_red_flags", lambda *a, **kw: [], raising=False)
    notes = "Client had a fit on the table, shaking for about 6 minutes, not coming round."
    result = suggest(Intake(notes=notes))
    assert result.emergency
    (s,) = result.suggestions
    assert s.profession == "emergency-care" and s.reasons[0].startswith("Read by meaning")
    assert "911" in s.reasons[0]


def test_an_old_problem_raises_no_emergency_by_meaning():
    assert not suggest(Intake(notes="Floaters for years and the odd flash, no change.")).emergency
    assert not suggest(Intake(notes="Nut allergy, carries an EpiPen, no reaction today.")).emergency


def test_the_reading_is_kept_for_the_same_note():
    engine.forget_readings()
    suggest(Intake(notes="Knee aches after every netball match."))
    hits = engine._reading.cache_info().hits
    suggest(Intake(notes="Knee aches after every netball match."))
    assert engine._reading.cache_info().hits > hits


def test_without_the_model_the_rules_still_answer(rules_only):
    assert "chiropractor" in _professions("Rear-ended three weeks ago, neck pain.")


def test_a_loss_is_not_asked_whether_a_physician_has_examined_it():
    grief = suggest(Intake(notes="Her mum died in the spring and she is not coping.")).suggestions
    assert [s.profession for s in grief] == ["psychotherapist", "psychologist"]
    assert all(s.ask == "" for s in grief)
    (s,) = [
        x
        for x in suggest(Intake(notes="Rear-ended three weeks ago, neck pain.")).suggestions
        if x.profession == "chiropractor"
    ]
    assert "physician" in s.ask


def test_a_reason_by_meaning_quotes_the_sentence_about_the_complaint():
    result = suggest(
        Intake(
            history="Accountant. Two children.",
            notes="Bouldering twice a week; the front of my shoulder clicks and catches on big "
            "reaches.",
        )
    )
    by_meaning = [s for s in result.suggestions if s.reasons[0].startswith("Read by meaning")]
    assert by_meaning
    assert all("shoulder" in s.clinical for s in by_meaning), [s.clinical for s in by_meaning]
