"""Findings made of combinations (guidance/data/combinations.toml): red flags recognised from
their parts, told in any order and across sentences, and everyday complaints told as a body
region, a symptom and an activity — plus hypotheticals, the clinical sentence for a letter, the
question to ask after an accident, and today's session."""

import datetime as dt

import pytest

from referwell.guidance import engine
from referwell.guidance.engine import Intake, suggest
from referwell.guidance.kb import Combination, load
from referwell.guidance.selectors import todays_session


def _professions(notes: str, **kw) -> dict[str, str]:
    return {s.profession: s.urgency for s in suggest(Intake(notes=notes, **kw)).suggestions}


@pytest.mark.parametrize(
    "notes",
    [
        "Walking uphill gives him a tight chest that spreads to his jaw; it eases when he stops.",
        "Hit her head on the cupboard door yesterday, threw up twice and keeps asking the same questions.",
        "She said she has been saving up her pills and that the family would be better off without her.",
        "Fever since Tuesday, stiff neck, and the light hurts her eyes.",
        "Pt c/o CP on exertion, SOB.",
        "Says the headache came on suddenly this afternoon, the worst of her life.",
        "34 weeks pregnant. Headache that won't shift and her vision is blurry, seeing spots.",
        "Back pain since the weekend; today she can't feel the toilet paper when wiping.",
        "Her face looks droopy on the left and her speech is slurred, started 20 minutes ago.",
        # A crash hours ago with tingling in both arms: the Canadian C-spine rule's danger.
        "Rear-ended on the highway an hour ago, neck sore, now pins and needles down both arms.",
        # Carbon monoxide: the household's headaches count, it is the same air.
        "The whole family has had headaches and felt sick since the old gas heater went on.",
        "300 burpees as punishment Monday; thighs swollen and rock hard, pee looks like Coke.",
        "He's been looking up how many of his pain pills it'd take; kids better off with the insurance.",
        "Gave his fishing gear to his nephew, sorted all the paperwork, wife left in January.",
        "Got a belt of a hurley to the side of the head Sunday; today vomited 3 times, drowsy.",
        "Nan (84) brought in by daughter: slipped this morning, R leg looks shorter.",
        "Yesterday her R hand went useless and the words came out all wrong for ten minutes.",
        "Keeps looking at the beam in the woolshed thinking it'd hold me.",
        "Just tired of being here; I've been putting away my sleeping tablets.",
        "Cancelled his 10-pack, gave his road bike to his nephew, thanked me; oddly calm.",
        "Some nights I think about walking into the sea, they'd all be fine without me.",
        "On the bus here her right hand went numb and her words came out jumbled, then back to normal.",
        "Kidney infection 2 wks ago, fever now, back pain at night, his R leg keeps giving out.",
        "Doesn't really matter, everybody will be better off not having to deal with me soon.",
        "Back pain a week, fever and chills now, his legs are 'not listening', tripped twice.",
        "Took a boot to the head Sat; headache worse and worse, sick twice this morning.",
        "Tight band across chest on the climb, went off; came back walking in, hasn't gone, into L arm.",
        "This morning my right hand went numb and I could not find the words, 15 minutes, now gone.",
        "33 wks w/ 2nd bub, headache, seeing zigzags, rings don't fit, face puffed up overnight.",
    ],
)
def test_red_flags_told_as_their_parts_are_emergencies(notes):
    found = _professions(notes)
    assert found.get("emergency-care") == "emergency", found
    # Their parts are symptoms of the emergency, not routine referrals.
    assert "dentist" not in found and "chiropractor" not in found


@pytest.mark.parametrize(
    "notes",
    [
        "Fell on the ice yesterday, hit her head, headache and nausea since.",
        "82 year old, has fallen twice this month and gets dizzy when she stands up.",
        "Ankles swollen by evening and she gets breathless lying flat, sleeps on three pillows.",
        "Low back has ached for two weeks and she has had a fever and chills since Sunday.",
        "Type 2 diabetic; a blister on the sole of his foot that isn't healing.",
        # Orthopnoea is heart failure, for a physician soon: not "can't breathe" of an attack.
        "Both ankles pitting by evening, propped on 3 pillows as he can't breathe lying flat.",
        # Chest tightness on exertion that settles with rest is angina (NICE CG95): soon.
        "Chest goes tight walking up the hill to the bus stop, eases after a couple of mins still.",
        "Calves cramp after two blocks of walking, has to stand a few minutes, then fine again.",
        "Lots of bruises on her arms she can't explain, and her gums bleed when she brushes.",
        "Felt a firm, non-tender lump in her armpit, about the size of a grape.",
        "Cough for over 2 months, streaks of blood in the tissue, drenching sweats at night.",
    ],
)
def test_urgent_red_flags_ask_for_a_physician_soon_and_come_first(notes):
    result = suggest(Intake(notes=notes))
    first = result.suggestions[0]
    assert first.urgency == "soon", [(s.profession, s.urgency) for s in result.suggestions]
    assert not result.emergency


def test_a_head_injury_puts_a_physician_before_the_chiropractor():
    found = _professions("Fell on the ice yesterday, hit her head, headache and nausea since.")
    assert found == {"primary-care-physician": "soon"}


@pytest.mark.parametrize(
    "notes",
    [
        "What should she do if she ever gets chest pain during a session?",
        "Her husband had a stroke last year; his speech is still slurred.",
        "Denies chest pain, no shortness of breath, no calf swelling.",
        "No fever, no stiff neck, light doesn't bother her.",
        # Words that name a danger elsewhere, meaning something ordinary here.
        "Parking was a nightmare again. Wanted lighter pressure than last time.",
        "Cyclist, kneecaps ache going down stairs, worse since she raised her saddle.",
        "Hip stiff for years, painkillers not touching it.",
        "Kept pressure very light; puffed out on the stairs coming up to the studio.",
        "Panic attacks: racing heart, can't breathe, sure she's dying; ECGs at A&E normal.",
        # An emergency of another season is history now.
        "Chest pains last fall -> 2 stents, finished cardiac rehab, cleared for massage.",
        "Chest pain scare last yr, angiogram clear. Today: pecs sore from his bench PB.",
    ],
)
def test_hypotheticals_negations_and_other_people_raise_no_flag(notes):
    assert "emergency-care" not in _professions(notes)


@pytest.mark.parametrize(
    ("notes", "profession"),
    [
        ("Shoulder pinches when she presses weights overhead.", "physical-therapist"),
        ("Shins sore since she started running again.", "physical-therapist"),
        ("Knee aches after every netball match.", "physical-therapist"),
        ("Elbow sore from gripping tools all day at work.", "occupational-therapist"),
        ("Wrist aches by the end of a day of typing.", "occupational-therapist"),
        ("Heel hurts with the first steps in the morning.", "podiatrist"),
        ("Pain shooting from the buttock down to the foot.", "physical-therapist"),
        ("Rounded shoulders, wants exercises to fix her posture.", "physical-therapist"),
        ("Reflux most nights, asking what she should eat.", "nutritionist"),
        ("Twisted at netball, heard a pop, knee ballooned within the hour.", "orthopedic-surgeon"),
        (
            "13yo, one shoulder blade sticks out, skirt hangs uneven, growth spurt.",
            "orthopedic-surgeon",
        ),
        (
            "Fresh thin cuts on her forearm; she says it helps when things get too much.",
            "psychotherapist",
        ),
        ("Since the stroke, buttons and cutting up food take forever.", "occupational-therapist"),
        (
            "Convinced his neighbour is pumping gas through the vents, hasn't slept in 3 nights.",
            "psychiatrist",
        ),
        (
            "19, very thin, only eats fruit and rice cakes, periods stopped, runs twice a day.",
            "psychologist",
        ),
        (
            "24, LBP 8 months, stiff over an hour every morning, loosens once moving, wakes at 4am.",
            "primary-care-physician",
        ),
        (
            "22 wks pregnant, wants prenatal massage; I'm not prenatal certified.",
            "massage-therapist",
        ),
        (
            "Handwriting has gone tiny, a tremor of the hand at rest, shuffling steps.",
            "neurologist",
        ),
        (
            "Baby 4 months ago; leaks when she sneezes, a gap in her belly muscles.",
            "physical-therapist",
        ),
        ("Says her back feels like it needs a crack; used to get adjusted.", "chiropractor"),
        (
            "Panic attacks on the subway; ECG and bloods normal every time at the ER.",
            "psychologist",
        ),
    ],
)
def test_a_complaint_told_as_region_symptom_and_activity(notes, profession, rules_only):
    # The rules' own reading; the meaning reader may prefer another profession of the same
    # field (tests/test_guidance_meaning.py).
    assert profession in _professions(notes)


def test_a_region_and_an_activity_in_different_sentences_do_not_combine():
    found = _professions("Her shoulder is fine. She loves running and is training for a 10k.")
    assert "physical-therapist" not in found


def test_the_letters_sentence_has_no_matching_trace():
    result = suggest(Intake(notes="Was rear-ended three weeks ago; his neck has been sore since."))
    chiro = next(s for s in result.suggestions if s.profession == "chiropractor")
    assert "→" in chiro.reasons[0]  # the page's trace, for the therapist
    assert chiro.clinical == "Car accident (three weeks ago)"
    assert "→" not in chiro.clinical and "“" not in chiro.clinical


def test_after_an_accident_the_guidance_asks_whether_a_physician_has_seen_it():
    result = suggest(Intake(notes="Was rear-ended three weeks ago; his neck has been sore since."))
    chiro = next(s for s in result.suggestions if s.profession == "chiropractor")
    assert "physician" in chiro.ask


def test_todays_session_counts_today_when_it_is_not_recorded_yet():
    today = dt.date(2026, 12, 6)
    assert todays_session(visit_days=[], today=today) == 1
    assert todays_session(visit_days=[dt.date(2026, 11, 1)], today=today) == 2
    assert todays_session(visit_days=[today], today=today) == 1
    assert todays_session(visit_days=[today, dt.date(2026, 11, 1)], today=today) == 2


def test_the_catalogue_is_checked_when_loaded():
    kb = load()
    assert {c.id for c in kb.combinations} >= {"rf-stroke", "rf-cardiac", "rf-meningitis"}
    with pytest.raises(ValueError, match="emergency-care only"):
        Combination(
            id="x",
            label="x",
            urgency="emergency",
            professions=["chiropractor"],
            reason="x",
            all=[["fever"]],
        )
    with pytest.raises(ValueError, match="needs"):
        Combination(id="x", label="x", urgency="soon", professions=["dentist"], reason="x")


@pytest.mark.parametrize(
    ("notes", "not_suggested"),
    [
        ("My dad had a stroke last yr so I'm a bit paranoid about neck cracking.", "psychiatrist"),
        (
            "Her pregnant friend asks whether massage is safe in the second trimester.",
            "obstetrician-gynecologist",
        ),
        (
            "22 wks pregnant, wants prenatal massage; I'm not prenatal certified.",
            "obstetrician-gynecologist",
        ),
        ("GP sent her for a neck MRI for arm tingling, came back normal.", "neurologist"),
        (
            "Panic attacks on the subway; ECG and bloods normal every time at the ER.",
            "emergency-care",
        ),
        (
            "Had 2 stents in 2021, cardiologist happy, walks 3 mi a day. Just here for shoulders.",
            "exercise-physiologist",
        ),
        (
            "Regular, full body relax, snoring 10 min in; chatted about her tomatoes.",
            "emergency-care",
        ),
        (
            "27 weeks pregnant, pubic bone pain rolling over in bed; baby moving fine.",
            "emergency-care",
        ),
        ("No idea where to start at the gym, scared of hurting himself.", "emergency-care"),
        (
            "Son (16) sprained his ankle at rugby; the school's trainer looks after it.",
            "sports-medicine-physician",
        ),
        ("Husband has cancer; she already sees a counsellor through work.", "psychotherapist"),
    ],
)
def test_words_that_name_a_problem_elsewhere_suggest_nothing_here(notes, not_suggested):
    assert not_suggested not in _professions(notes)


@pytest.mark.parametrize(
    "notes",
    [
        # "not sweating at all," negates the sweating, not the vomiting after the comma.
        "104 out, fixing fence all afternoon. confused, asking me the same q 3 times, skin hot "
        "red and dry like hes not sweating at all, threw up once.",
        "a rattler got him on the ankle walking out to the barn 40 min ago, ankle swelling fast.",
        "Broke her shin 3 days ago, cast on; tonight her toes look pale and she can barely wiggle "
        "them.",
        "Cast on since Monday; pain way worse tonight, nothing touches it, not even the T3s.",
    ],
)
def test_more_emergencies_from_published_lists(notes):
    assert _professions(notes).get("emergency-care") == "emergency"


@pytest.mark.parametrize(
    "notes",
    [
        "JV football, got his bell rung friday. headache every day since, light bothers him, "
        "foggy in class. no vomiting.",
        "took a hit 2nd period Sat, didnt black out. since then headaches and a bit dizzy.",
    ],
)
def test_a_suspected_concussion_in_sport_goes_to_a_physician_soon(notes):
    found = _professions(notes)
    assert found.get("sports-medicine-physician") == "soon"
    assert "emergency-care" not in found


def test_thoughts_of_death_with_no_plan_or_intent_are_soon_not_911():
    found = _professions(
        "Since the layoff he says he'd be better off if he just didn't wake up. Asked directly: "
        "no plan, says he'd never do anything, has his kids."
    )
    assert found == {"psychotherapist": "soon", "primary-care-physician": "soon"}
    # Means at hand keep it an emergency, whatever is said of a plan.
    assert _professions("She wants to kill herself and has the pills ready, no plan for when.") == {
        "emergency-care": "emergency"
    }


def test_bruises_like_fingers_under_a_fall_story_are_abuse_signs_not_a_chiropractor():
    found = _professions(
        "bruises on both upper arms look like fingers, one on her neck. said she fell off the "
        "horse, last time it was the stairs. husband called 4 times during the session."
    )
    assert "psychotherapist" in found
    assert "chiropractor" not in found


@pytest.mark.parametrize(
    ("notes", "in_care"),
    [
        ("20 wks pregnant, OB says everything looks great. low back achy.", True),
        ("Prenatal 22 wks, uncomplicated, midwife knows she's coming.", True),
        ("12 weeks pregnant, hasn't seen an OB yet.", False),
        ("12 weeks pregnant; her old OB retired and she needs a new one.", False),
        ("12 weeks pregnant; her sister's OB says the clinic is good.", False),
    ],
)
def test_a_routine_referral_to_someone_already_caring_for_the_client_is_left_out(notes, in_care):
    result = suggest(Intake(notes=notes))
    suggested = {s.profession for s in result.suggestions}
    assert ("obstetrician-gynecologist" not in suggested) == in_care
    assert any(i.why == "already in their care" for i in result.ignored) == in_care


@pytest.mark.parametrize(
    "notes",
    [
        "Two deep dives off the reef this morning; now achy in both shoulders and elbows, blotchy "
        "tingly patches on skin, a bit dizzy. Flight home tomorrow.",
        "got pounded on the sandbar this morning, hit my head on the bottom. neck really stiff "
        "and both hands have pins and needles since.",
        "Grounds crew, out in the heat all morning. he's confused, skin hot and dry, stumbling.",
        # Someone else booked: after "booked for her mom", "Mom" is the client.
        "Daughter booked for her mom (81). Mom slipped in the tub yesterday and bumped the back "
        "of her head. Today much sleepier, keeps asking the same questions. On warfarin.",
    ],
)
def test_red_flags_told_in_round_fifteens_words(notes):
    assert _professions(notes).get("emergency-care") == "emergency"


@pytest.mark.parametrize(
    "notes",
    [
        "Went scuba diving in Mexico last year, loved it. Shoulders tight from desk work.",
        "Intake form: chest pain? - 'no'. SOB? - 'no'. Pecs sore after his first bench session.",
        "If I ever got one of those calf cramps at night again, who would I see? Had one last "
        "summer.",
        "Her daughter booked the session as a gift. Her mom had a stroke years ago.",
    ],
)
def test_no_emergency_in_words_that_only_look_like_one(notes):
    assert "emergency-care" not in _professions(notes)


def test_numb_thumb_and_fingers_at_night_is_carpal_tunnel_not_a_neurologist():
    found = _professions(
        "bartender. both hands go numb at night, mostly thumb, pointer and middle finger, has to "
        "shake them out. dropping glasses."
    )
    assert "occupational-therapist" in found
    assert "neurologist" not in found


@pytest.mark.parametrize(
    "notes",
    [
        "Climbed the stairs 30 min ago; L arm aching and heavy. Sweaty, grey, keeps rubbing his "
        "sternum, 'feels like somebody's sitting on me'.",
        "Son brought mother (81), slipped in the yard 2 hrs ago. Can't put any weight on the R "
        "leg, leg looks shorter.",
        "Kicked in the belly by a cow yesterday. Today L shoulder tip pain, went dizzy getting "
        "out of the jeep, looks very pale.",
        "Very low for months, hopeless. When I asked, she said she has a plan.",
    ],
)
def test_round_fifteens_last_emergencies(notes):
    assert _professions(notes).get("emergency-care") == "emergency"


def test_a_plan_for_the_knee_is_not_a_plan_to_die():
    assert "emergency-care" not in _professions(
        "Seeing PT 2x/wk for patellar tendinopathy. Everything going fine, PT has a plan."
    )


def test_asked_directly_and_denied_the_meaning_reader_raises_no_emergency():
    found = _professions(
        "Farmer 55, the bank on his back. Said 'sometimes I wonder what's the point of any of "
        "it'. Says he'd never do anything, 'the wife and kids'. Flat, not sleeping."
    )
    assert "emergency-care" not in found
    assert found.get("psychotherapist") == "soon"


@pytest.mark.parametrize(
    "notes",
    [
        # the spinal cord pressed by a cancer (NICE NG234)
        "Breast ca 2017 with bone mets. Upper back pain 3 wks, worse this week, and now both legs "
        "feel like jelly on the stairs.",
        # an acute abdomen days after an operation
        "Gallbladder out 4 days ago. Tummy hard as a board, pain 9/10, threw up green twice.",
        # bleeding inside after a vehicle rolled onto him
        "Tractor tipped over on the slope and landed on him this morning. Belly swollen, pale, "
        "dizzy standing up.",
    ],
)
def test_round_sixteens_emergencies(notes):
    assert _professions(notes).get("emergency-care") == "emergency"


@pytest.mark.parametrize(
    ("notes", "professions"),
    [
        (
            "Chef, 60. Meat and rice catch halfway down lately, has to wash them down with water.",
            {"primary-care-physician"},
        ),
        (
            "Electrician 55, fingers numb and clumsy both hands, can't do up his buttons, and "
            "he's been unsteady on his feet for a couple of months.",
            {"primary-care-physician", "neurologist"},
        ),
        (
            "Sciatica R for a month. Since Monday the R foot drags and slaps on the floor.",
            {"primary-care-physician"},
        ),
        (
            "Slipped on the wet deck, landed on her outstretched hand on Sunday. Snuffbox very "
            "tender, grip weak.",
            {"primary-care-physician"},
        ),
        (
            "Taking oxy from a mate every day since the knee op, gets sick if she misses a day, "
            "tried to stop and can't.",
            {"primary-care-physician"},
        ),
    ],
)
def test_round_sixteens_urgent_flags_go_to_a_physician_soon(notes, professions):
    found = _professions(notes)
    assert {slug for slug, urgency in found.items() if urgency == "soon"} == professions
    assert "emergency-care" not in found


@pytest.mark.parametrize(
    "notes",
    [
        # a list asked about, then denied as a whole
        "Tight traps from moving furniture. Asked about chest pain/SOB/dizziness - denies all.",
        # a clot years ago, treated: history
        "DVT L calf 2019 after a long flight, treated, off thinners. Legs normal today.",
        # a wrist x-rayed clear after a fall
        "FOOSH off a scooter 3 wks ago, x-ray showed no fracture. Wrist still stiff, can't put "
        "weight through it.",
    ],
)
def test_round_sixteens_words_that_only_look_like_a_red_flag(notes):
    found = _professions(notes)
    assert "emergency-care" not in found
    assert "soon" not in found.values()


def test_used_to_then_now_is_todays():
    found = _professions(
        "Used to be one beer after work, now it's a bottle of wine most nights, shaky hands "
        "in the morning."
    )
    assert found.get("primary-care-physician") == "soon"
    assert "hypnotherapist" not in _professions("Used to smoke, quit in 2015. Feels great.")


def test_the_modality_the_session_already_has_asks_for_no_one():
    assert "massage-therapist" not in _professions(
        "Monthly relaxation. Loves the hot stones, medium pressure."
    )
    assert "massage-therapist" in _professions(
        "She would love a hot stone session, which we don't offer."
    )


def test_a_joint_that_hurts_and_limits_the_client_goes_to_a_physical_therapist():
    found = _professions(
        "Retired plumber. R shoulder stiff and sore for months, can't reach the top cupboard."
    )
    assert found.get("physical-therapist") == "routine"


@pytest.mark.parametrize(
    "notes",
    [
        "Low back pain since lifting the canoe, now into both legs. Numb 'down there' when wiping.",
        "Sore back since Tuesday, pain down both legs, hasn't peed since last night though he "
        "feels full.",
        "All four of them have had headaches for a week, better at school and work. Dizzy and "
        "sick today. New furnace put in last week.",
        "Scraped knee on the trail, redness spreading up the thigh, fever 39, shaking chills.",
    ],
)
def test_round_sixteens_second_pair_of_emergencies(notes):
    assert _professions(notes).get("emergency-care") == "emergency"


@pytest.mark.parametrize(
    ("notes", "professions"),
    [
        (
            "Tuesday her L hand went dead and she couldn't get her words out for about 10 "
            "minutes, then back to normal. Fine since.",
            {"primary-care-physician", "neurologist"},
        ),
        (
            "Fell off a chair onto her R hip 3 days ago, walking with a cane, deep groin pain, "
            "can't lift the leg off the bed.",
            {"primary-care-physician"},
        ),
    ],
)
def test_round_sixteens_second_pair_of_urgent_flags(notes, professions):
    found = _professions(notes)
    assert {slug for slug, urgency in found.items() if urgency == "soon"} == professions
    assert "emergency-care" not in found


def test_a_pregnancy_lost_weeks_ago_is_grief_not_a_warning_sign():
    found = _professions(
        "Miscarried at 10 wks a month ago, bleeding stopped, follow-up done. Can't stop crying."
    )
    assert "emergency-care" not in found


@pytest.mark.parametrize(
    "notes",
    [
        "38wks, first baby. Hasn't felt the baby move since last night, a little bleeding.",
        "Scrum collapsed on him this morning, pins and needles down both arms since, neck sore.",
    ],
)
def test_round_sixteens_emergencies_found_when_left_out_of_the_library(notes):
    assert _professions(notes).get("emergency-care") == "emergency"


def test_pregnancy_nausea_is_not_an_emergency_by_its_neighbours():
    assert "emergency-care" not in _professions(
        "S: Pt 31 yo F, 8/40 pregnant, c/o tiredness and nausea. O: NAD. P: side-lying."
    )


@pytest.mark.parametrize(
    "notes",
    [
        # a neck injury outranks myelopathy when there was a blow
        "Fell backwards off a ladder yesterday, hit the back of her head. Today both hands numb "
        "and clumsy, can't do her buttons, legs wobbly.",
        # low sodium after an endurance event
        "Ran an ultra yesterday, drank about 9 litres of plain water, no salt. Vomited twice, "
        "confused about the day.",
        "Hiking this morning, felt a sting at the ankle and heard a rattle. Two puncture marks, "
        "swelling up the shin.",
    ],
)
def test_round_sixteens_third_pair_of_emergencies(notes):
    assert _professions(notes).get("emergency-care") == "emergency"


@pytest.mark.parametrize(
    "notes",
    [
        "Last Thursday his R hand went numb and he couldn't get his words out for 10 mins, "
        "then it all came back. Fine today.",
        "Dry cough x5 wks that won't quit, soaks the sheets at night, chest aches when coughing.",
        "Told me she was assaulted at a party last term, hasn't told anyone. Jumpy when someone "
        "stands behind her.",
    ],
)
def test_round_sixteens_third_pair_of_look_alikes_are_not_911(notes):
    assert "emergency-care" not in _professions(notes)


# --- Round seventeen: professions that do much the same work are named side by side ----------


def test_a_stiff_neck_after_a_collision_names_a_chiropractor_and_a_physical_therapist():
    got = {
        s.profession: s
        for s in suggest(
            Intake(notes="Rear-ended at the lights 10 days ago, x-ray clear, neck stiff.")
        ).suggestions
    }
    assert set(got) == {"chiropractor", "physical-therapist"}
    beside = got["physical-therapist"]
    assert beside.reasons[0].startswith("Beside a chiropractor, for the same complaint")
    # The letter describes the client's problem, whoever it goes to.
    assert beside.clinical == got["chiropractor"].clinical != ""
    assert beside.ask == got["chiropractor"].ask != ""


def test_hand_therapy_and_talking_therapy_have_two_professions_too():
    wrist = _professions("Data entry all day, wrists ache and tingle by the afternoon.")
    assert {"occupational-therapist", "physical-therapist"} <= set(wrist)
    low = _professions("Anxious all the time since the restructure, can't switch off at night.")
    assert {"psychotherapist", "psychologist"} <= set(low)


def test_no_second_profession_beside_a_red_flag_a_marriage_or_one_already_seen():
    flag = "Rear-ended yesterday, hit her head, vomited twice and keeps repeating herself."
    assert _professions(flag) == {"emergency-care": "emergency"}
    marriage = _professions("Her marriage is in trouble, they fight every night.")
    assert "psychotherapist" in marriage and "psychologist" not in marriage
    seen = "Rear-ended 3 weeks ago, neck stiff. Her physio has her on exercises."
    assert "physical-therapist" not in _professions(seen)


def test_a_smoker_who_wants_to_quit_is_offered_the_physician_beside_hypnotherapy():
    got = _professions("Pack a day for 25 years, wants to finally quit, asked if hypnosis works.")
    assert {"primary-care-physician", "hypnotherapist"} <= set(got)


def test_a_smoker_nobody_asked_to_quit_still_gets_the_physician_for_blood_in_a_cough():
    result = suggest(
        Intake(notes="58, smoker 40 yrs. cough 2 months, hoarse, coughed up a bit of blood once.")
    )
    assert [(s.profession, s.urgency) for s in result.suggestions] == [
        ("primary-care-physician", "soon")
    ]
    assert [i.finding for i in result.ignored] == ["smoking"]


@pytest.mark.parametrize(
    "notes",
    [
        "Shearer. Got bit on the ankle in the shed 40 min ago, reckons it was a brown. Now a "
        "headache, feels crook, vision a bit blurry, sweaty.",
        "Came off her horse this morning, landed on her head. Neck really sore to move, pins n "
        "needles down both arms, hands feel weird and heavy.",
        "Outdoor festival, 94°F. Hot, red, dry skin, stopped sweating, confused about where she "
        "is, stumbling. Temp by forehead thermometer 104.6.",
        "T1D on a pump, skipped lunch. Sweaty, shaky, talking nonsense, CGM alarming 46. Gave "
        "juice, now very drowsy and can't hold the cup.",
    ],
)
def test_round_seventeen_emergencies(notes):
    assert _professions(notes) == {"emergency-care": "emergency"}


@pytest.mark.parametrize(
    "notes",
    [
        "Asked him straight out about hurting himself - said no, 'wouldn't do that to the missus'.",
        "Asked if she has thoughts of hurting herself, she said no. Low, not sleeping.",
    ],
)
def test_a_question_about_suicide_answered_no_is_no_emergency(notes):
    assert "emergency-care" not in _professions(notes)


def test_asked_and_answered_yes_stays_an_emergency():
    notes = "Asked about suicide, said yes, she has thought about it this week."
    assert _professions(notes) == {"emergency-care": "emergency"}


def test_a_headache_worse_on_coughing_or_waking_with_vomiting_is_for_the_physician_soon():
    notes = (
        "Headaches 4-5 wks, worst first thing in the morning, thrown up a couple of mornings, "
        "worse coughing or bending. Never had headaches before."
    )
    assert _professions(notes) == {"primary-care-physician": "soon"}
    # Waking with a headache and a grinding partner is the jaw's, not raised pressure.
    grinding = "Jaw clicks, wakes with temple headaches, partner hears her grinding at night."
    assert "primary-care-physician" not in _professions(grinding)


def test_a_ballet_word_is_not_corrected_into_a_trauma_word():
    notes = "Calves so sore after tech week (all those releves), getting better each day."
    assert _professions(notes) == {}


@pytest.mark.parametrize(
    "notes",
    [
        "Chronic LBP 1+ yr. Feels amazing for a day after massage and then it's back. Wants to "
        "actually fix it.",
        "Teacher, low back achy by 2 pm every day, wants to know what she can do besides massage.",
        "Headaches start in the neck and go up over the head after long days at the computer.",
    ],
)
def test_pain_that_returns_or_starts_in_the_neck_goes_to_a_physical_therapist(notes):
    assert _professions(notes).get("physical-therapist") == "routine"


def test_a_monthly_regular_coming_back_is_not_pain_coming_back():
    assert _professions("Monthly maintenance, comes back every month. Shoulders tight.") == {}


def test_a_mole_told_in_one_sentence_and_its_changes_in_the_next_is_seen_within_days():
    notes = (
        "Noticed a mole on her L scapula while working. Says it's gotten bigger since summer. "
        "Uneven edges, two colours, bled onto her bra strap last week."
    )
    assert _professions(notes) == {"dermatologist": "soon", "primary-care-physician": "soon"}


def test_a_bare_year_is_history_counted_from_the_day_of_the_session():
    notes = "DVT R leg 2024 after a long flight, treated with blood thinners."
    assert _professions(notes, today=dt.date(2026, 12, 7)) == {}
    assert _professions(notes, today=dt.date(2025, 3, 1)) == {"primary-care-physician": "soon"}


@pytest.mark.parametrize(
    "notes",
    [
        "Hurler, belt of a hurl on the front of the shin 3 hrs ago. Shin rock hard and shiny, "
        "pain way more than looks right, roars when I move his toes. Nurofen not touching it.",
        "Never got to the session - slipped on the ice by the doors. 84. Can't get up, L leg "
        "looks shorter and her foot is turned out.",
        "R foot ice cold and white since she woke up, very painful, can barely wiggle her toes. "
        "Hx a-fib, stopped her blood thinner.",
    ],
)
def test_round_seventeen_second_pair_emergencies(notes):
    assert _professions(notes) == {"emergency-care": "emergency"}


@pytest.mark.parametrize(
    "notes",
    [
        "Intake form: [ ] Chest pain  [ ] Shortness of breath  [ ] Dizziness  (none ticked). "
        "Here to relax.",
        "Husband died in Feb. Not eating much ('no point cooking for one'), stopped going to choir.",
        "Mum is in the hospice. Can't stop thinking about mom dying, can't concentrate at work.",
        "32/40. Hands more swollen than usual, rings tight. No headache, no vision changes.",
    ],
)
def test_round_seventeen_second_pair_no_false_emergency(notes):
    assert "emergency-care" not in _professions(notes)


def test_a_ticked_box_still_counts():
    assert _professions("Form: [x] Chest pain on exertion [ ] Diabetes.") == {
        "emergency-care": "emergency"
    }


def test_swelling_in_pregnancy_is_the_obstetricians_today_and_911_with_a_headache():
    assert _professions("31 wks pregnant. Face and hands puffy, rings don't fit. No headache.") == {
        "obstetrician-gynecologist": "soon"
    }
    notes = "34 wks pregnant, face and hands puffy, pounding headache, seeing sparkly spots."
    assert _professions(notes) == {"emergency-care": "emergency"}


def test_drinking_socially_says_nothing_is_wrong():
    assert _professions("Never smoked, drinks socially. Neck tight.") == {}


def test_pain_down_the_back_of_the_leg_goes_to_a_physical_therapist():
    notes = "LBP with ache down back of L thigh to knee x 2 wks. No numbness, bladder normal."
    assert _professions(notes) == {"physical-therapist": "routine"}


@pytest.mark.parametrize(
    "notes",
    [
        "Denies left sided weakness, facial droop or slurred speech.",
        "No altered sensation, saddle numbness or bladder changes. LBP 2 wks.",
        "Sprained ankle last week, still sore a bit on the outside of the ankle. Gets headaches "
        "from desk work.",
        "Tight calves, worked a bit on the left leg. Sweating a lot in the hot room.",
        "Pregnant, 24 wks. Blood pressure normal at her 20 week scan.",
        "Fell off a ladder 3 weeks ago, bruised hip. Legs feel heavy after standing all day.",
        "Raynaud's: fingers go white and numb in the cold, can barely feel them till they warm up.",
        "Physio hasn't helped, says there's no point in going anymore.",
        "Deadlifting way more than she should, back tight, thigh tight.",
    ],
)
def test_everyday_words_near_the_new_flags_are_no_emergency(notes):
    assert "emergency-care" not in _professions(notes)


@pytest.mark.parametrize(
    "notes",
    [
        # A question about having seen someone, or a "no" that goes on, is not a denial.
        "Asked if she has seen anyone about the saddle numbness, says no.",
        "Asked about the numbness in her saddle area, says no change since yesterday.",
        "Pregnant 34 wks, bp 165/112 at the midwife today.",
        "Kicked in the shin 3 hrs ago, shin tight and shiny. Nurofen not touching it.",
        "Thinking about her own death a lot lately.",
        # "not touched by paracetamol": the negated deed ends at its comma.
        "34 wks G1. Pounding HA x2 days not touched by paracetamol, seeing sparkly zigzags.",
    ],
)
def test_the_new_flags_still_fire_when_meant(notes):
    assert _professions(notes) == {"emergency-care": "emergency"}


def test_a_headache_worst_on_waking_with_vomiting_is_soon_and_a_back_worse_bending_is_not():
    waking = "Headaches for 3 weeks, worse in the morning, vomited twice this week."
    assert _professions(waking) == {"primary-care-physician": "soon"}
    back = "Occasional tension headaches. Low back pain worse bending to pick up her toddler."
    assert "primary-care-physician" not in _professions(back)


def test_a_box_after_its_item_does_not_answer_for_the_next_one():
    assert _professions("Diabetes [ ] Chest pain on exertion [x]") == {
        "emergency-care": "emergency"
    }


# --- Round eighteen -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "notes",
    [
        "Low back bad since Friday, legs heavy, numb sort of where you sit on a bike seat.",
        "Back pain since the weekend. Couldn't tell if she needed to pee and didn't make it to the "
        "bathroom in time this morning.",
    ],
)
def test_cauda_equina_told_in_everyday_words(notes):
    assert _professions(notes) == {"emergency-care": "emergency"}


@pytest.mark.parametrize(
    "notes",
    [
        "Asked what to watch for with her back. Explained: saddle numbness, bladder changes, "
        "weak legs = go to ED. She has none of these.",
        "Went over stroke signs with him: face droop, arm weakness, slurred speech. Has none of "
        "them.",
    ],
)
def test_warning_signs_explained_and_answered_none_are_no_emergency(notes):
    assert "emergency-care" not in _professions(notes)


def test_a_list_of_warning_signs_the_client_has_is_still_an_emergency():
    notes = (
        "Numb in the saddle area since this morning and can't pee. She has none of her usual pain."
    )
    assert _professions(notes) == {"emergency-care": "emergency"}


def test_a_passive_wish_not_to_wake_up_with_no_plan_goes_to_a_therapist_and_the_physician():
    notes = (
        "Said it would be easier if she just didn't wake up some mornings. Asked directly: no "
        "plan, no intent, her dog keeps her going."
    )
    assert _professions(notes) == {
        "psychotherapist": "soon",
        "primary-care-physician": "soon",
    }


def test_night_sweats_with_weight_loss_and_a_cough_of_weeks_go_to_the_physician():
    sweats = "Back stiff. Lost 20 lbs since summer, wasn't trying, wakes up soaked most nights."
    assert _professions(sweats) == {"primary-care-physician": "soon"}
    cough = "Dry cough for about six weeks that will not go away. Shoulders tight."
    assert "primary-care-physician" in _professions(cough)


def test_pain_with_sex_is_for_the_gynecologist():
    assert "obstetrician-gynecologist" in _professions("Since the birth sex has been painful.")


def test_signs_of_an_eating_disorder_bring_the_physician_beside_the_psychologist():
    notes = "Very thin, ribs showing, skips most meals and runs twice a day, dizzy sitting up."
    found = _professions(notes)
    assert found["psychologist"] == found["primary-care-physician"] == "soon"


def test_a_twisted_ankle_that_cannot_take_weight_is_an_x_ray_not_a_broken_hip():
    notes = "Fell down two steps yesterday, twisted her R ankle, couldn't put any weight on it."
    assert _professions(notes) == {"primary-care-physician": "soon"}


def test_an_ankle_tender_off_the_bone_is_no_fracture():
    notes = "Rolled L ankle Sunday, swollen, tender in front of the ankle bone but not on the bone."
    assert "primary-care-physician" not in _professions(notes)


def test_a_history_of_cancer_with_night_pain_holds_back_hands_on_treatment():
    notes = "Hx breast ca 2019. R thigh ache, constant, worse at night, now limping."
    assert _professions(notes) == {"primary-care-physician": "soon"}


def test_me_and_my_husband_trying_for_a_baby_is_the_clients_own_wish():
    notes = "Me and my husband have been trying to get pregnant for 14 months, I'm 37."
    assert "fertility-specialist" in _professions(notes)
    assert "fertility-specialist" not in _professions("Her sister has been trying for a baby.")


def _concepts(notes: str) -> set[str]:
    sents = engine._sentences(Intake(notes=notes), engine._index())
    return set(engine._concept_hits(sents, [0] * len(sents)))


def test_nothing_hurts_denies_the_pain_and_nothing_helps_does_not():
    assert "pain" not in _concepts("Golfer, knees tight after the tournament, nothing hurts.")
    assert "pain" in _concepts("Golfer, knee hurts on the downswing, nothing helps it.")


def test_a_hot_stone_session_asked_for_and_not_offered_goes_to_a_colleague():
    notes = "Loves the work but asks for hot stone. Not something I offer; a colleague does."
    assert "massage-therapist" in _professions(notes)
    assert "massage-therapist" not in _professions("Loves the hot stones, usual session.")


def test_a_hip_replacement_told_as_a_total_hip_gets_rehabilitation():
    notes = "s/p R total hip 6 wks, stopped PT, still weak and limping, wants to golf."
    assert "physical-therapist" in _professions(notes)


@pytest.mark.parametrize(
    "notes",
    [
        "Friends brought him in for a hangover massage; couldn't wake him properly, he took "
        "something at the club.",
        "Lips bluish, barely breathing, took something at the club last night.",
        "R foot and lower leg gone cold, white and mottled since about 10am, can barely feel "
        "me touching his toes.",
        "Hip replaced 2 wks ago. Since this morning sharp pain in her side when she breathes "
        "in, and breathless on the stairs.",
    ],
)
def test_round_eighteens_second_pair_of_emergencies(notes):
    assert _professions(notes) == {"emergency-care": "emergency"}


@pytest.mark.parametrize(
    "notes",
    [
        # Said no in the sentence after the question.
        "Self-harm? 'no, nothing like that.' Low for months, no appetite.",
        # A form line of empty boxes, all marked unchecked.
        "Form: chest pain [ ] numbness [ ] fainting [ ] - all unchecked. Shoulders tight.",
        # Fainting on standing up, better lying down: orthostatic, the physician soon.
        "Heart pounds when she stands up, nearly fainted twice, better lying down. 34F.",
        # "Wishes she wouldn't wake up" is a passive wish, not a client who cannot be woken.
        "Some mornings she wishes she just wouldn't wake up. No plan, no intent.",
        "Fell asleep within five minutes and snored, stopped breathing then gasped. Always "
        "tired, dozes off in meetings.",
    ],
)
def test_round_eighteens_second_pair_no_false_emergency(notes):
    assert "emergency-care" not in _professions(notes)


def test_fainting_on_standing_goes_to_the_physician_soon():
    notes = "Heart pounds when she stands up, nearly fainted twice, better lying down. 34F."
    assert _professions(notes) == {"primary-care-physician": "soon"}


def test_signs_of_depression_bring_the_physician_beside_a_therapist():
    notes = "Hasn't felt like herself in months, lost interest in everything, sleeping till noon."
    found = _professions(notes)
    assert {"psychotherapist", "primary-care-physician"} <= set(found)


def test_self_harm_without_a_plan_goes_to_a_therapist_and_the_physician():
    notes = "Saw fresh cuts on her forearms, says she does it to cope. No plan, no intent."
    found = _professions(notes)
    assert {"psychotherapist", "primary-care-physician"} <= set(found)
    assert "emergency-care" not in found


def test_an_older_client_unsteady_on_her_feet_sees_a_physical_therapist():
    notes = "82F, wobbly on her feet, walks holding the furniture around the house."
    assert "physical-therapist" in _professions(notes)


def test_a_smokers_physician_stays_beside_hypnotherapy():
    notes = "Smokes 20 a day, wants to stop, tried the patches, asked about a hypnotist."
    found = _professions(notes)
    assert {"hypnotherapist", "primary-care-physician"} <= set(found)


def test_a_client_asking_for_a_good_chiropractor_is_given_one_and_a_relative_is_not():
    assert "chiropractor" in _professions("Neck stiff. Asked if I know a good chiropractor.")
    husband = "Her husband has back trouble and she asked if a chiropractor would help him."
    assert "chiropractor" not in _professions(husband)


def test_fell_asleep_is_no_fall():
    assert "fell-now" not in _concepts("Fell asleep on the table within five minutes.")
    assert "fell-now" in _concepts("Fell on the ice yesterday.")


def test_waters_a_day_are_no_drinking_problem():
    assert "primary-care-physician" not in _professions(
        "Tension headaches at the end of the day. Drinks maybe 2 waters a day."
    )


# A review of round eighteen's rules: everyday wording that must not call 911, and emergencies
# that the new denials must not hide.


@pytest.mark.parametrize(
    "notes",
    [
        "Sudden slurred speech and her face drooping on the left during the session. None of "
        "this is normal for her.",
        "Crushing chest pain spreading to left arm and sweating. Neither of those has happened "
        "before.",
        "Worst headache of her life, came on suddenly on the table - a bleed? No previous "
        "history of headaches.",
        "Sudden weakness down her right side and slurred speech, stroke? Never had anything like "
        "this before.",
        "Crushing chest pain and sweating for 20 minutes, heart attack? No one with her.",
        "The headache is gone but she now has slurred speech and her face is drooping on one side.",
        "Numbness in the saddle area since yesterday, the feeling down there is gone.",
        "Worst headache of her life came on suddenly and she went all blank for a minute.",
        "Passed out at home when she stood up, heart racing since her covid, better lying down.",
        "84F fell in the garden this morning, leg shorter and turned out.",
        "27F. Sharp pain low in her tummy on the right, pain at the tip of her shoulder, nearly "
        "fainted. Period 2 weeks late.",
    ],
)
def test_the_new_denials_hide_no_emergency(notes):
    assert _professions(notes) == {"emergency-care": "emergency"}


@pytest.mark.parametrize(
    "notes",
    [
        "Client fell asleep on the table and we couldn't wake her at the end for a minute, very "
        "relaxed.",
        "Teen client, mum says she can't wake her before noon on weekends, knee pain.",
        "Stomach gurgling all through the massage. Skin mottled on her thighs in the cold.",
        "Practising resonance breathing at 6 breaths a minute. Skin mottled on legs, cold room.",
        "Raynaud's: her hand went white then blue during the session when the room was cold.",
        "Hand cold and white and numb from holding the ice pack today, can hardly feel her "
        "fingers.",
        "Gets numb on the bike seat after 3 hours, hip flexors tight.",
        "Low back pain from lifting. Nearly didn't make it in time for her appointment, traffic.",
        "Back ache after gardening. She couldn't tell if she needs to go to physio or just rest.",
        "Runner, 2 days post marathon, sharp pain on deep breath in ribs, breathless on stairs.",
        "Replaced her running shoes. Sharp pain breathing in after a fall onto her ribs, out of "
        "breath.",
        "Fell asleep snoring on the table, couldn't wake her at the end, very relaxed.",
    ],
)
def test_everyday_words_near_round_eighteens_flags_are_no_emergency(notes):
    assert "emergency-care" not in _professions(notes)


def test_a_form_answer_before_the_next_question_is_a_no():
    notes = "Any changes? N  Pregnant? N/A  Any new injuries? N. Usual tight traps."
    assert "obstetrician-gynecologist" not in _professions(notes)


def test_heavy_bleeding_with_faintness_is_911_not_fainting_on_standing():
    notes = (
        "6 days after the birth. Bleeding got heavy this morning, soaking a pad every hour, "
        "dizzy and faint when she stands up."
    )
    assert _professions(notes) == {"emergency-care": "emergency"}
    assert "emergency-care" not in _professions("Heavy periods for years, GP aware, tired.")


def test_a_list_after_denies_runs_on_past_a_word_in_ing():
    notes = (
        "LBP after shovelling snow. Denies radiating pain, numbness/tingling, bowel/bladder "
        "changes, fever, night pain."
    )
    assert "emergency-care" not in _professions(notes)
    # A negated doing still ends at its comma: the pain after it counts.
    assert "pain" in _concepts("Not radiating, pain in the low back.")


def test_a_crushed_forearm_with_pain_worse_than_it_looks_is_compartment_syndrome():
    notes = (
        "Forearm crushed between two containers this afternoon. Now swollen, tight and shiny, "
        "pain way worse than it looks, straightening his fingers is agony."
    )
    assert _professions(notes) == {"emergency-care": "emergency"}
