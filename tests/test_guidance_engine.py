"""The guidance engine as a therapist relies on it: findings, negation, family history,
past vs present, typos, red flags, sensitivity and timing. No database needed."""

import pytest

from referwell.guidance.engine import Intake, suggest


def professions(notes, **kw):
    return [s.profession for s in suggest(Intake(notes=notes, **kw)).suggestions]


def by_profession(notes, **kw):
    return {s.profession: s for s in suggest(Intake(notes=notes, **kw)).suggestions}


def test_alice_gets_the_articles_referrals():
    notes = (
        "Rear-ended three weeks ago; low back and neck pain and she limps. Her marriage is in "
        "trouble. She wants to get fit and lose weight. She has seen a boatload of doctors and "
        "does not trust them."
    )
    assert set(professions(notes)) == {
        "chiropractor",
        "physical-therapist",
        "psychotherapist",
        "personal-trainer",
        "nutritionist",
        "naturopath",
    }


def test_each_reason_cites_the_words_it_matched_and_when():
    s = by_profession("Client was rear-ended 3 weeks ago, neck is stiff.")["chiropractor"]
    assert "rear-ended”" in s.reasons[0]
    assert "3 weeks ago" in s.reasons[0]


@pytest.mark.parametrize(
    ("notes", "absent"),
    [
        ("Denies numbness or tingling.", "neurologist"),
        ("No chest pain, no shortness of breath.", "emergency-care"),
        ("Not pregnant. Wants deep relaxation.", "obstetrician-gynecologist"),
        ("Never smoked.", "hypnotherapist"),
        ("No history of an eating disorder.", "psychologist"),
    ],
)
def test_negated_findings_are_not_suggested(notes, absent):
    assert absent not in professions(notes)


def test_negation_scope_stops_at_a_new_clause():
    found = professions("No numbness, but she wants to lose weight.")
    assert "neurologist" not in found and "personal-trainer" in found


@pytest.mark.parametrize(
    "notes",
    [
        "Her mother had a stroke last year.",
        "Dad died of a heart attack; she is fine.",
        "Type 2 diabetes runs in the family; her own labs are normal.",
        "Sister has an eating disorder.",
    ],
)
def test_family_history_is_not_the_clients_finding(notes):
    assert professions(notes) == []


@pytest.mark.parametrize(
    ("notes", "expected"),
    [
        ("Car accident 15 years ago, fully recovered.", []),
        ("Quit smoking in 2010.", []),
        (
            "Hurt her back in a fall 10 years ago and it still flares up.",
            ["chiropractor", "physical-therapist"],
        ),
        # The physician beside hypnotherapy: the medicines that most help a smoker quit.
        ("Wants to quit smoking.", ["primary-care-physician", "hypnotherapist"]),
    ],
)
def test_past_and_resolved_versus_still_present(notes, expected):
    assert professions(notes) == expected


@pytest.mark.parametrize(
    ("notes", "expected"),
    [
        ("pt was rearended last wk", "chiropractor"),
        ("Numbnes in her left hand", "neurologist"),
        ("She is 20 weeks pregnent", "obstetrician-gynecologist"),
        ("wants help with wieght loss", "nutritionist"),
        ("MVA 2 wks ago", "chiropractor"),
    ],
)
def test_typos_and_abbreviations(notes, expected):
    assert expected in professions(notes)


def test_ordinary_words_are_not_corrected_into_findings():
    # "tamping" (espresso) is one letter from "taping" (athletic trainer).
    assert "athletic-trainer" not in professions("Barista, sore forearms from tamping coffee.")


@pytest.mark.parametrize(
    "notes",
    [
        "Crushing chest pain spreading to her left arm, sweating.",
        "Her face is drooping on one side and her speech is slurred.",
        "After the long flight one calf is swollen, red and warm, and she is short of breath.",
        "He said he wants to die and has a plan.",
        "Low back pain and since this morning he has lost control of his bladder.",
    ],
)
def test_emergencies_override_everything_even_on_the_first_visit(notes):
    result = suggest(Intake(notes=notes, visit_number=1))
    first = result.suggestions[0]
    assert first.profession == "emergency-care"
    assert first.urgency == "emergency" and first.timing == "now"
    assert result.emergency


def test_a_clot_without_breathlessness_is_a_physician_today_and_with_it_an_emergency():
    # NHS: suspected DVT is an urgent same-day appointment; 999 with breathlessness or chest pain.
    leg = by_profession("After the long flight one calf is swollen, red and warm.")
    assert set(leg) == {"primary-care-physician"}
    assert leg["primary-care-physician"].urgency == "soon"
    lungs = suggest(
        Intake(notes="After the long flight one calf is swollen and warm; now breathless.")
    )
    assert lungs.emergency


def test_in_an_emergency_nothing_else_is_suggested():
    result = suggest(
        Intake(
            notes="Bunions, never seen anyone. Today crushing chest pain into the jaw, sweating."
        )
    )
    assert [s.profession for s in result.suggestions] == ["emergency-care"]


def test_a_sign_beside_what_explains_it_is_not_another_referral():
    sprain = by_profession("Rolled his ankle at basketball, heard a pop, hobbling on it.")
    assert set(sprain) == {"sports-medicine-physician"}
    assert "physical-therapist" in by_profession("Walks with a limp on the right.")


def test_a_diet_related_condition_needs_a_word_about_food(rules_only):
    assert "nutritionist" not in by_profession("Type 2 diabetic, stabbing heel pain every morning.")
    assert "nutritionist" in by_profession(
        "Type 2 diabetic; her GP told her to change what she eats."
    )


def test_soon_red_flags_go_to_a_physician_within_days():
    s = by_profession("She has lost 20 pounds without trying.")["primary-care-physician"]
    assert s.urgency == "soon" and s.timing == "now"
    mole = by_profession("A mole on her back has grown and changed colour.")["dermatologist"]
    assert mole.urgency == "soon"


def test_a_symptom_of_an_emergency_is_not_a_separate_referral():
    found = professions(
        "Pressure in her chest that goes up into her jaw, clammy and short of breath."
    )
    assert found == ["emergency-care"]


def test_sensitive_referrals_are_flagged_with_advice():
    s = by_profession("Going through a divorce and crying a lot.")["psychotherapist"]
    assert s.sensitive
    assert "never while they are on the table" in s.timing_reason
    assert "trust" in s.timing_reason


def test_first_appointment_allows_one_small_non_invasive_referral_only():
    notes = "Rear-ended last week. Wants to lose weight. Going through a divorce."
    result = {s.profession: s for s in suggest(Intake(notes=notes, visit_number=1)).suggestions}
    now = [slug for slug, s in result.items() if s.timing == "now"]
    assert len(now) == 1 and now[0] in {"personal-trainer", "nutritionist"}
    assert result["chiropractor"].timing == "later"
    assert "first appointment" in result["chiropractor"].timing_reason
    assert result["psychotherapist"].timing == "later"


def test_needs_assessment_day_follows_the_same_rule():
    result = suggest(Intake(notes="Rear-ended last week.", visit_number=4, needs_assessment=True))
    assert result.suggestions[0].timing == "later"
    assert "needs-assessment" in result.suggestions[0].timing_reason


def test_a_returning_client_hears_it_now():
    assert by_profession("Rear-ended last week.")["chiropractor"].timing == "now"


def test_chiropractic_that_did_not_help_points_to_an_orthopedist_not_back_to_chiro():
    found = professions("Six months of adjustments for her low back and they haven't helped.")
    assert found == ["orthopedic-surgeon"]


def test_exercise_with_a_heart_condition_is_for_an_exercise_physiologist():
    found = professions("Had a stent last year; wants to start exercising safely.")
    assert found == ["exercise-physiologist"]


def test_a_modality_the_practice_offers_is_not_referred_out():
    assert professions("Asks for hot stone massage.", offered_modalities=("hot stone",)) == []
    assert professions("Asks for hot stone massage.") == ["massage-therapist"]
    assert professions("Wants Swedish, which we don't offer.") == ["massage-therapist"]


def test_nothing_to_find_gives_nothing():
    assert professions("Tight shoulders from desk work, wants to relax.") == []
    assert professions("") == []


def test_best_first_emergency_then_by_weight_of_evidence():
    notes = "Wants to lose weight. Slurred speech and a drooping face since this morning."
    assert professions(notes)[0] == "emergency-care"


def test_ignored_findings_are_explained():
    result = suggest(Intake(notes="Denies numbness. Her mother had breast cancer."))
    assert any(i.why == "negated" and i.finding == "numbness-tingling" for i in result.ignored)


def test_structured_intake_fields_are_read_too():
    result = suggest(Intake(goals="Lose 15 pounds", history="Type 2 diabetes, poor diet"))
    assert {"nutritionist", "personal-trainer"} <= {s.profession for s in result.suggestions}
    assert {m.field for m in result.findings} == {"goals", "history"}


def test_a_stroke_sign_that_went_away_yesterday_is_still_an_emergency():
    # A transient ischaemic attack: the face and arm came back, the risk did not.
    notes = "Yesterday his left arm went numb and his face felt rubbery for 15 min, then back to normal."
    assert suggest(Intake(notes=notes)).emergency
    old = "Had a small stroke in 2015, full recovery, no new symptoms. Tight shoulders."
    assert not suggest(Intake(notes=old)).emergency


def test_fever_with_confusion_after_an_operation_is_sepsis_even_told_as_not_herself():
    notes = "She is not herself - burning hot then shaking, breathing fast, unsure what day it is."
    assert suggest(Intake(notes=notes)).emergency


def test_a_relatives_own_clause_is_theirs():
    assert professions("He's worried about his wife who's been very down since her mum died.") == []
    assert professions("Her son's football - he rolled his ankle at training.") == []
    # The relative the client lifted is not the one in pain.
    lifted = by_profession(
        "Picked up her toddler awkwardly - now low back pain that shoots down the leg."
    )
    assert lifted


def test_what_would_she_do_if_is_a_hypothetical():
    notes = "What would I do if my calf ever swelled up after a flight? No symptoms now."
    assert professions(notes) == []


def test_a_sign_of_depression_without_the_word():
    notes = "Hasn't enjoyed anything in months, just goes through the motions."
    assert "psychotherapist" in by_profession(notes)


def test_a_possible_fracture_is_a_physician_today():
    notes = "Slipped on ice, caught herself on her hand; tender at the base of the thumb."
    s = by_profession(notes)["primary-care-physician"]
    assert s.urgency == "soon"


def emergency(notes):
    return suggest(Intake(notes=notes)).emergency


def flags(notes):
    return {m.finding for m in suggest(Intake(notes=notes)).findings}


def test_severe_constant_back_pain_with_a_fever_is_a_spinal_infection():
    assert "rf-spinal-infection-emergency" in flags(
        "Had a nerve block last week. Now feverish with chills; back pain is excruciating "
        "and no position helps."
    )
    assert "rf-spinal-infection-emergency" in flags(
        "Temperature of 39 since Sunday and her low back pain is constant and severe."
    )
    # Back pain with a fever that is gone, or an ordinary ache with a cold, is no emergency.
    assert not emergency("Back pain after a fever last month, gone now. Wants relaxation.")
    assert not emergency("Bit of a fever with a cold; back a little sore from the sofa.")


def test_a_calf_sore_and_puffy_with_breathlessness_or_pain_on_breathing_in_is_a_clot():
    assert "rf-pulmonary-embolism" in flags(
        "Drove 12 hours on Friday. Right calf puffy and sore since; sharp pain on a deep "
        "breath this morning."
    )
    assert "rf-pulmonary-embolism" in flags(
        "Calves puffy after the flight and now she is realy short of breth on the stairs."
    )
    # A calf sore from a run, with breath fine, is not.
    assert not emergency("Calf sore and tight after the half marathon, breathing fine.")


def test_common_misspellings_of_frequent_words_are_read():
    from referwell.guidance.engine import _index

    speller = _index().speller
    assert [speller.correct(w) for w in ("realy", "breth", "cheast")] == [
        "really",
        "breath",
        "chest",
    ]


def test_flashes_with_new_floaters_or_a_shadow_over_the_sight_is_a_retinal_emergency():
    assert "rf-retinal-detachment" in flags(
        "Since yesterday flashing lights in her left eye and a sudden burst of new floaters."
    )
    assert "rf-retinal-detachment" in flags(
        "A dark shadow is creeping across the bottom half of his vision; saw sparks of light "
        "at the edge earlier."
    )
    # Old floaters, a migraine's aura and hot flashes are not.
    assert not emergency("Floaters for years, no change. Neck tension from the desk.")
    assert not emergency("Floaters for years and the odd flash of light, no change.")
    assert not emergency(
        "Migraine with aura: flashing lights and a shadow over her vision, then a headache."
    )
    assert not emergency("Hot flashes at night since menopause; a few floaters she has always had.")


def test_a_headache_and_the_worst_ever_in_one_sentence_is_thunderclap_across_a_dash():
    assert "rf-thunderclap" in flags(
        "Headache started on the rowing machine - 9/10, worst she's ever had."
    )
    assert "rf-thunderclap" in flags("Headache hit her like a hammer halfway through the run.")
    # Nowhere near the worst, or the worst week ever in another sentence, is not.
    assert not emergency("Headache today, her usual one, nowhere near the worst ever.")
    assert not emergency("Worst week ever at work. Mild headache this afternoon.")


def test_a_leg_that_drags_with_double_vision_or_slurred_speech_is_a_stroke():
    assert "rf-stroke" in flags("Woke up with her right foot dragging and she is seeing double.")
    assert "rf-stroke" in flags("His left arm keeps giving way and his speech is slurred.")
    # Long-standing double vision, or a leg that drags after a knee operation, is not.
    assert not emergency("Double vision when tired, for years. Left knee sore.")
    assert not emergency(
        "Right leg drags a little since the knee replacement; doing her exercises."
    )


def test_a_resolution_denied_is_no_resolution():
    # "hasn't lifted" keeps the shade, and its sudden onset, current.
    assert "rf-vision-loss" in flags(
        "This morning a curtain came down over her left eye and it hasn't lifted."
    )
