"""The demo practice "Elm Grove Massage": a year of made-up but believable activity.

Everything here is fictional: people, clinics, street numbers, phone numbers (the 555-01xx
range reserved for fiction) and e-mail domains (.example). ZIP codes are real ones of the
Milwaukee / Waukesha area so that distances on the map make sense.

`demo_load()` goes through the same services the app uses, so the audit trail, geocoding and
validation behave exactly as for real data. Only timestamps that no service lets us choose
(`created_at` of partners, clients and referrals, and the first "draft" event of a referral)
are moved into the past afterwards, so the timeline reads like a real year.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal
from typing import TypedDict

from django.db import transaction
from django.utils import timezone

from referwell.accounts.models import Practice, Role, User
from referwell.accounts.services import member_add, practice_create
from referwell.clients.models import Client
from referwell.clients.services import client_create, consent_create, visit_create
from referwell.directory.models import Partner, Profession
from referwell.directory.professions import professions_sync
from referwell.directory.services import niche_get_or_create, partner_create, touchpoint_create
from referwell.inbound.models import ReferralRequest
from referwell.inbound.services import request_receive
from referwell.insights.models import StreamCost
from referwell.outreach.cadence import DueItem, Rule, make_due_items, rules_for
from referwell.outreach.services import contact_plan_create
from referwell.referrals.models import Direction, Referral, ReferralEvent, Via
from referwell.referrals.services import referral_create, referral_note, referral_transition
from referwell.referrals.states import Status, can_move

DEMO_SLUG = "elm-grove"
DEMO_NAME = "Elm Grove Massage"
DEMO_ZIP = "53122"
SEED = 2026

OWNER_EMAIL = "maya@elmgrove.example"
OWNER_PASSWORD = "elmgrove-owner"
DESK_EMAIL = "frontdesk@elmgrove.example"
DESK_PASSWORD = "elmgrove-desk"

NICHES = ("Endurance runners", "Fertility support", "Office workers", "Car-accident recovery")
RUN, FERT, OFFICE, CAR = NICHES

CITIES = {
    "53122": "Elm Grove",
    "53045": "Brookfield",
    "53005": "Brookfield",
    "53186": "Waukesha",
    "53188": "Waukesha",
    "53189": "Waukesha",
    "53151": "New Berlin",
    "53146": "New Berlin",
    "53213": "Wauwatosa",
    "53226": "Wauwatosa",
    "53202": "Milwaukee",
    "53211": "Milwaukee",
    "53214": "West Allis",
    "53072": "Pewaukee",
    "53066": "Oconomowoc",
    "53051": "Menomonee Falls",
    "53092": "Mequon",
    "53150": "Muskego",
    "53029": "Hartland",
}
CLIENT_ZIPS = ("53122", "53122", "53122", "53045", "53005", "53186", "53151", "53213", "53226")

SERVICES = {
    "standard": [("Massage, 60 minutes", "95.00")] * 4 + [("Massage, 90 minutes", "135.00")],
    "sports": [("Sports massage, 60 minutes", "100.00"), ("Massage, 90 minutes", "135.00")],
    "prenatal": [("Prenatal massage, 60 minutes", "100.00")],
    "mvc": [("Massage, 60 minutes (motor-vehicle collision)", "95.00")],
    "wc": [("Massage, 60 minutes (workers' comp)", "95.00")],
}
VISIT_NOTES = {
    "standard": [
        "Worked neck, shoulders and upper back; less tension at the end.",
        "Focus on low back and hips; client slept well after the last session.",
        "Full-body relaxation session; stress lower this week.",
        "",
        "",
    ],
    "sports": [
        "Pre-race flush of calves and hamstrings.",
        "Recovery session after a long training week; IT band and calves.",
        "",
    ],
    "prenatal": [
        "Side-lying, pillows for support; hips and low back.",
        "Feet and lower legs for swelling; gentle pressure only.",
    ],
    "mvc": [
        "Gentle work around neck and upper back; range of motion a little better.",
        "Low back and glutes; pain 5/10 before, 3/10 after.",
    ],
    "wc": [
        "Shoulder and upper back; client on light duty this week.",
        "Low back; progress note sent to the case manager with consent.",
    ],
}


def demo_logins() -> list[dict[str, str]]:
    return [
        {"email": OWNER_EMAIL, "password": OWNER_PASSWORD, "role": "owner"},
        {"email": DESK_EMAIL, "password": DESK_PASSWORD, "role": "front_desk"},
    ]


# --------------------------------------------------------------------------- partners


@dataclass(frozen=True)
class _P:
    key: str
    name: str
    credentials: str
    professions: tuple[str, ...]
    specialties: str
    clinic: str
    street: str
    zip_code: str
    stage: str
    how_met: str
    how_met_detail: str = ""
    niches: tuple[str, ...] = ()
    languages: str = "English"
    insurance: str = ""
    not_a_fit_reason: str = ""
    billing_concerns: str = ""
    vetting_notes: str = ""


# fmt: off
PARTNERS: tuple[_P, ...] = (
    # --- trusted
    _P("okafor", "Daniel Okafor", "DC", ("chiropractor",),
       "Gentle adjusting, Activator, whiplash care", "Bluemound Family Chiropractic",
       "13105 W Bluemound Rd", "53005", "trusted", "client",
       "Several clients recommended him after car accidents", (CAR, RUN),
       vetting_notes="Had two adjustments myself. No prepaid packages; sends short updates."),
    _P("lindqvist", "Karen Lindqvist", "PT, DPT", ("physical-therapist",),
       "Running injuries, gait retraining, post-surgical rehab", "Lakeview Physical Therapy",
       "2100 E Moreland Blvd", "53186", "trusted", "event",
       "Met at the Waukesha County running expo", (RUN, CAR),
       vetting_notes="Watched a gait session; explains exercises clearly and follows up."),
    _P("raman", "Priya Raman", "ND", ("naturopath",),
       "Whole-person care, nutrition, chronic pain and fatigue", "Riverbend Naturopathic Clinic",
       "400 N Grandview Blvd", "53188", "trusted", "colleague",
       "Recommended by a massage colleague in Pewaukee", (FERT,), "English, Tamil",
       "Self-pay, HSA/FSA",
       vetting_notes="Good fit for clients wary of conventional medicine; sends to MDs."),
    _P("bell", "Marcus Bell", "CPT, CSCS", ("personal-trainer",),
       "Strength for beginners, weight loss, post-rehab fitness", "Forge Fitness Studio",
       "17800 W Bluemound Rd", "53045", "trusted", "client",
       "A regular client trains with him", (OFFICE, RUN), insurance="Self-pay",
       vetting_notes="Patient with beginners; asks for medical clearance after injuries."),
    _P("abernathy", "Ruth Abernathy", "LMFT", ("psychotherapist",),
       "Couples counseling, trauma, anxiety", "Clearwater Counseling",
       "900 Elm Grove Rd", "53122", "trusted", "colleague",
       "Introduced by Dr. Raman", (),
       vetting_notes="Warm and discreet; offers a free 15-minute phone call before booking."),
    _P("whitfield", "Samuel Whitfield", "MD", ("sports-medicine-physician",),
       "Runners, stress fractures, concussion", "Tosa Sports Medicine",
       "10400 W North Ave", "53226", "trusted", "event",
       "Spoke at a running club clinic night", (RUN,),
       vetting_notes="Answers referral letters within a week; respects massage as part of care."),
    _P("tanaka", "Grace Tanaka", "LAc", ("acupuncturist",),
       "Fertility acupuncture, pain, stress", "Willow Acupuncture",
       "15850 W National Ave", "53151", "trusted", "client",
       "A fertility client swore by her", (FERT,), "English, Japanese",
       "Self-pay, HSA/FSA, some Aetna plans",
       vetting_notes="Had a session as a client; calm clinic, careful intake."),
    _P("hoffmann", "Lena Hoffmann", "MD", ("fertility-specialist",),
       "Reproductive endocrinology, IVF", "Lakeshore Fertility Center",
       "2315 N Lake Dr", "53211", "trusted", "referred_to_us",
       "Her nurses started sending IVF patients for relaxation massage", (FERT,),
       vetting_notes="Clinic welcomes massage between cycles; clear guidance on timing."),
    _P("morales", "Jenna Morales", "CD (DONA)", ("midwife-doula",),
       "Birth doula, postpartum support", "Hearth Birth Collective",
       "222 W Wisconsin Ave", "53066", "trusted", "event",
       "Met at a baby and family fair", (FERT,), "English, Spanish", "Self-pay, HSA/FSA"),
    _P("brenner", "Tom Brenner", "OTR/L, CHT", ("occupational-therapist",),
       "Hand therapy, ergonomics, carpal tunnel", "Workwell Hand & Ergonomics",
       "N17 W24222 Riverwood Dr", "53188", "trusted", "web",
       "Found while searching for hand therapists", (OFFICE,),
       vetting_notes="Does workstation visits; workers' comp friendly."),
    # --- met
    _P("chen", "Olivia Chen", "DDS", ("dentist",),
       "TMJ disorders, night guards", "Elm Grove Dental Care",
       "13400 Watertown Plank Rd", "53122", "met", "client",
       "A client with jaw pain liked her approach", (), "English, Mandarin"),
    _P("kaminski", "Robert Kaminski", "DPM", ("podiatrist",),
       "Plantar fasciitis, orthotics, runners' feet", "Brookfield Foot & Ankle",
       "250 N Sunnyslope Rd", "53005", "met", "colleague", "", (RUN,)),
    _P("nwosu", "Amara Nwosu", "DO", ("osteopath",),
       "Osteopathic manipulation, family medicine", "Pewaukee Osteopathic Care",
       "1250 Capitol Dr", "53072", "met", "registry", "Looked up DOs near Elm Grove", (CAR,)),
    _P("petrakis", "Sofia Petrakis", "RDN", ("nutritionist",),
       "Sports nutrition, weight management, fertility nutrition", "Fuel Right Nutrition",
       "333 N Water St", "53202", "met", "event", "", (RUN, FERT), "English, Greek"),
    _P("stroud", "Michael Stroud", "MD", ("orthopedic-surgeon",),
       "Spine; tries conservative care first", "Westside Orthopedic & Spine",
       "9200 W Wisconsin Ave", "53226", "met", "colleague", "", (CAR,),
       vetting_notes="Only suggests surgery after months of conservative care."),
    _P("kowalczyk", "Anna Kowalczyk", "LMT", ("massage-therapist",),
       "Lymphatic drainage, oncology massage", "Still Water Bodywork",
       "301 W Main St", "53186", "met", "colleague",
       "Covers modalities we do not offer", (), "English, Polish", "Self-pay"),
    _P("hart", "Jessica Hart", "MD", ("obstetrician-gynecologist",),
       "Prenatal care, high-risk pregnancy", "Waukesha Women's Health",
       "721 American Ave", "53188", "met", "referred_to_us", "", (FERT,)),
    _P("ortiz", "Ben Ortiz", "ATC", ("athletic-trainer",),
       "High-school sports, taping, return to play", "Kettle Moraine Athletic Care",
       "600 Oakton Ave", "53072", "met", "event", "", (RUN,), "English, Spanish",
       "School program, self-pay"),
    _P("reyes", "Hannah Reyes", "PT, DPT", ("physical-therapist",),
       "Pelvic floor, pregnancy and postpartum", "Core Balance Pelvic Health",
       "20875 Crossroads Cir", "53186", "met", "web", "", (FERT,)),
    _P("siddiqui", "Farah Siddiqui", "MD", ("neurologist",),
       "Headache, neuropathy, nerve conduction studies", "Milwaukee Neurology Associates",
       "735 N Water St", "53202", "met", "registry", "", (OFFICE,), "English, Urdu"),
    # --- contacted
    _P("greer", "Nathan Greer", "MD", ("primary-care-physician",),
       "Family medicine, preventive care", "Brookfield Family Medicine",
       "13555 Bishops Ct", "53005", "contacted", "client"),
    _P("dubois", "Claire Dubois", "MS, CEP", ("exercise-physiologist",),
       "Clinical exercise, cardiac rehab", "Motion Lab Performance",
       "2400 N Mayfair Rd", "53226", "contacted", "web", "", (), "English, French"),
    _P("olson", "Greta Olson", "", ("reflexologist",),
       "Foot reflexology, relaxation", "Sole Harmony Reflexology",
       "N88 W16447 Main St", "53051", "contacted", "event", insurance="Self-pay"),
    _P("ames", "Victor Ames", "PhD", ("psychologist",),
       "Chronic pain psychology, CBT", "Crossroads Psychology Group",
       "1126 S 70th St", "53214", "contacted", "colleague", "", (CAR,)),
    _P("brandt", "Leah Brandt", "CPT", ("personal-trainer",),
       "Prenatal and postpartum fitness", "Mama Strong Fitness",
       "1600 Summit Ave", "53066", "contacted", "web", "", (FERT,), insurance="Self-pay"),
    # --- researched
    _P("jaworski", "Paul Jaworski", "DC", ("chiropractor",),
       "Sports chiropractic, instrument-assisted soft tissue", "Pewaukee Lake Chiropractic",
       "W240 N3065 Pewaukee Rd", "53072", "researched", "web", "", (RUN,)),
    _P("haddad", "Ibrahim Haddad", "MD", ("psychiatrist",),
       "Anxiety, depression, medication management", "Lakefront Psychiatry",
       "777 E Wisconsin Ave", "53202", "researched", "registry", "", (), "English, Arabic"),
    _P("ng", "Walter Ng", "CHt", ("hypnotherapist",),
       "Stress, smoking cessation", "Quiet Mind Hypnotherapy",
       "S74 W16853 Janesville Rd", "53150", "researched", "web", insurance="Self-pay"),
    _P("alvarez", "Monica Alvarez", "MD", ("dermatologist",),
       "Skin checks, eczema", "Brookfield Dermatology",
       "18525 W Capitol Dr", "53045", "researched", "client", "", (), "English, Spanish"),
    _P("lundgren", "Iris Lundgren", "LMT", ("massage-therapist",),
       "Sports massage, evening and weekend hours", "Trailhead Sports Massage",
       "10850 N Port Washington Rd", "53092", "researched", "web", "", (RUN,),
       insurance="Self-pay"),
    # --- prospect
    _P("orourke", "Kevin O'Rourke", "DC", ("chiropractor",),
       "Upper cervical care", "Summit Spine Center",
       "1410 Summit Ave", "53066", "prospect", "registry"),
    _P("matsuda", "Yuki Matsuda", "LAc", ("acupuncturist",),
       "Sports acupuncture, cupping", "Bamboo Path Acupuncture",
       "2625 N Downer Ave", "53211", "prospect", "web", "", (RUN,)),
    _P("stein", "Rachel Stein", "RD", ("nutritionist",),
       "Intuitive eating, eating-disorder recovery", "Nourish Nutrition Counseling",
       "4433 N Oakland Ave", "53211", "prospect", "web"),
    _P("mehta", "Arjun Mehta", "MD", ("sports-medicine-physician",),
       "Endurance athletes, ultrasound-guided injections", "Performance Sports Medicine",
       "W129 N7055 Northfield Dr", "53051", "prospect", "registry", "", (RUN,),
       "English, Hindi"),
    _P("becker", "Elise Becker", "DO", ("primary-care-physician", "osteopath"),
       "Integrative family medicine", "New Berlin Integrative Health",
       "15700 W Cleveland Ave", "53151", "prospect", "registry"),
    _P("quinn", "Tara Quinn", "CD", ("midwife-doula",),
       "Fertility doula, pregnancy-loss support", "Gentle Start Doulas",
       "1900 E North Ave", "53202", "prospect", "event", "", (FERT,), insurance="Self-pay"),
    # --- not a fit
    _P("lacey", "Brad Lacey", "DC", ("chiropractor",),
       "Spinal decompression, care plans", "Total Spine Wellness Center",
       "2200 S Moorland Rd", "53151", "not_a_fit", "web",
       not_a_fit_reason="Offered a 36-visit prepaid plan at the first visit.",
       billing_concerns="Long prepaid packages and X-rays for every new patient."),
    _P("pike", "Gordon Pike", "MD", ("orthopedic-surgeon",),
       "Knee and hip replacement", "Metro Joint Institute",
       "1200 N Jackson St", "53202", "not_a_fit", "registry",
       not_a_fit_reason="Three calls never returned; office does not take massage referrals."),
    _P("harlow", "Sunny Harlow", "", ("homeopath",),
       "Classical homeopathy", "Harmony Homeopathics",
       "245 E Capitol Dr", "53029", "not_a_fit", "event", insurance="Self-pay",
       not_a_fit_reason="Advised a client to stop prescribed medication; not our values."),
    _P("vance", "Derek Vance", "CPT", ("personal-trainer",),
       "Bootcamp, high-intensity intervals", "Ironclad Bootcamp",
       "1500 E Sunset Dr", "53189", "not_a_fit", "client", insurance="Self-pay",
       not_a_fit_reason="Two clients came back hurt; no experience with injured people."),
)
# fmt: on

_INSURERS = (
    "Anthem",
    "UnitedHealthcare",
    "Humana",
    "WEA Trust",
    "Quartz",
    "Aetna",
    "Cigna",
    "Network Health",
    "Medicare",
    "BadgerCare Plus",
)
_AUTO = {"chiropractor", "physical-therapist", "orthopedic-surgeon", "osteopath"}
_WORK = {"occupational-therapist", "physical-therapist", "orthopedic-surgeon"}

# (probability) of each checklist item per stage:
# website reviewed, values fit, would send my mother, visited as a client
_VETTING = {
    "prospect": (0.0, 0.0, 0.0, 0.0),
    "researched": (1.0, 0.3, 0.0, 0.0),
    "contacted": (0.8, 0.4, 0.1, 0.0),
    "met": (0.9, 0.7, 0.4, 0.2),
    "trusted": (1.0, 1.0, 0.9, 0.6),
    "not_a_fit": (1.0, 0.0, 0.0, 0.3),
}

# Touchpoint plans per stage: (first contact kinds, later kinds, how many later, first day ago)
_TOUCH_PLAN = {
    "contacted": (("call", "email", "letter"), ("call", "email"), (0, 1), (20, 200)),
    "met": (
        ("call", "email"),
        ("meeting", "office_visit", "event", "demo_massage"),
        (1, 2),
        (120, 330),
    ),
    "trusted": (
        ("call", "letter", "email"),
        ("meeting", "office_visit", "demo_massage", "gift", "call", "event"),
        (2, 3),
        (220, 360),
    ),
    "not_a_fit": (("call", "email"), ("meeting", "office_visit", "call"), (0, 1), (60, 300)),
}
_TOUCH_NOTES = {
    "call": [
        "Called the front desk to ask what kinds of patients they see.",
        "Short call to introduce the practice and ask how they like to receive referrals.",
        "Phone catch-up; asked whether they need anything from us.",
    ],
    "email": [
        "Sent a short introduction and our brochure.",
        "E-mailed to ask for a time to meet over coffee.",
    ],
    "letter": [
        "Mailed an introduction letter with two business cards.",
        "Letter introducing our services for car-accident recovery.",
    ],
    "meeting": [
        "Coffee meeting; talked about their approach and the clients they want.",
        "Lunch meeting; agreed to send each other a note after referrals.",
        "Met to compare notes on how we each handle shared clients.",
    ],
    "office_visit": [
        "Dropped by the clinic; toured the treatment rooms and met the staff.",
        "Brought cards and a plate of cookies for the front desk.",
    ],
    "demo_massage": [
        "Gave a 20-minute chair massage demo to the staff.",
        "Offered a complimentary session so they know our work first-hand.",
    ],
    "gift": [
        "Holiday card and a small plant for the office.",
        "Sent a gift basket to the staff to say thanks for the year.",
    ],
    "event": [
        "Saw them at the chamber of commerce breakfast.",
        "Shared a booth at the community health fair.",
    ],
    "thank_you": ["Thank-you card for a referral (no client details in the card)."],
}

# --------------------------------------------------------------------------- clients


@dataclass(frozen=True)
class _C:
    key: str
    first: str
    last: str
    age: int
    stream: str
    complaints: str
    goals: str = ""
    history: str = ""
    notes: str = ""
    # visits: (first visit, days before today; days between visits; count or 0 = until today)
    visits: tuple[int, int, int] | None = (60, 21, 3)
    service: str = "standard"
    source_partner: str = ""
    source_client: str = ""
    in_reason: str = ""


def _alice(today: dt.date) -> _C:
    accident = today - dt.timedelta(days=21)
    when = f"{accident:%B} {accident.day}, {accident.year}"
    return _C(
        "alice",
        "Alice",
        "Jones",
        42,
        "current_clients",
        complaints=(
            "Low back pain and neck pain since she was rear-ended in a car accident three "
            f"weeks ago ({when}). Walks with a limp, favoring the right leg."
        ),
        goals="Be out of pain; get fit, lose weight and feel good in her body again.",
        history=(
            f"Car accident on {when}: rear-ended at a stop light, whiplash-type injury, not "
            "hospitalized. Has seen many doctors over the years and no longer trusts "
            "conventional medicine. Possible leg-length difference."
        ),
        notes=(
            "Talked about trouble in her marriage and a lot of stress at home. Prefers natural, "
            "non-drug approaches. Wants a fresh start: new look, more energy."
        ),
        visits=(4, 0, 1),
        service="mvc",
        source_client="maria",
    )


# fmt: off
CLIENTS: tuple[_C, ...] = (
    _C("maria", "Maria", "Santos", 51, "people_you_know",
       "Upper back and shoulder tension; stress from managing a busy office.",
       "Keep stress down and sleep better.", "Mild hypertension, controlled.",
       "Neighbor of the owner; comes every week and sends friends our way.",
       visits=(362, 7, 0)),
    _C("eric", "Eric", "Lindholm", 38, "medical",
       "Heel pain on the first steps in the morning (plantar foot pain), tight calves.",
       "Run the Lakefront Marathon under 3:30.", "Marathon runner, 50 miles a week.",
       "Training for a fall marathon.", visits=(300, 14, 12), service="sports",
       source_partner="lindqvist",
       in_reason="Plantar fascia rehab; asked for calf and foot soft-tissue work."),
    _C("nadia", "Nadia", "Farouk", 34, "business",
       "Tingling in thumb and index finger at night; forearm ache after long days typing.",
       "Work without pain; stop waking up at night.",
       "Claims analyst, 9 hours a day at the keyboard.",
       "Her HR manager recommended us after our lunch-and-learn.", visits=(240, 21, 6)),
    _C("jasmine", "Jasmine", "Carter", 29, "medical",
       "Low back and hip pain in pregnancy, ankle swelling.",
       "Stay comfortable and active until the birth.",
       "Pregnant with her first child (24 weeks at intake); no complications.",
       visits=(150, 14, 6), service="prenatal", source_partner="hart",
       in_reason="Prenatal patient with low-back pain; OB cleared prenatal massage."),
    _C("emily", "Emily", "Novak", 36, "medical",
       "Neck and shoulder tension, stress, poor sleep.",
       "Stay calm and relaxed during fertility treatment.",
       "In fertility treatment (IVF); no other conditions.",
       visits=(200, 21, 5), source_partner="tanaka",
       in_reason="Fertility patient; relaxation massage alongside acupuncture."),
    _C("greg", "Greg", "Halvorsen", 45, "current_clients",
       "Jaw clenching, morning headaches, tight neck.",
       "Fewer headaches.", "Grinds his teeth at night according to his wife.",
       "Sales manager; high-pressure quarter.", visits=(280, 28, 7), source_client="maria"),
    _C("dave", "Dave", "Mueller", 47, "medical",
       "Right shoulder strain from lifting at the warehouse; workers' comp claim open.",
       "Get back to full duty.", "Shoulder strain at work, on light duty.",
       visits=(110, 10, 6), service="wc", source_partner="nwosu",
       in_reason="Work injury, shoulder strain; soft-tissue work approved by the claim."),
    _C("linda", "Linda", "Schroeder", 68, "people_you_know",
       "Stiff, achy knees (osteoarthritis); feels unsteady on stairs.",
       "Keep gardening and walking with her grandkids.",
       "Knee osteoarthritis; two near-falls last winter.",
       "Friend from church.", visits=(330, 21, 0)),
    _C("kevin", "Kevin", "Russo", 41, "current_clients",
       "Tight IT band and outer-knee pain on long rides and runs.",
       "Finish a half Ironman this summer.", "Triathlete.",
       visits=(300, 14, 0), service="sports", source_client="eric"),
    _C("sarah", "Sarah", "Whitaker", 39, "business",
       "Neck pain and forward head posture from ten-hour days at a desk.",
       "Get through the workday without a headache.", "Office worker; no injuries.",
       visits=(340, 28, 0), source_partner="bell",
       in_reason="Gym member with desk-related neck pain; suggested massage with training."),
    _C("rosa", "Rosa", "Jimenez", 44, "current_clients",
       "Low back pain after lifting, aching into the left buttock.",
       "Keep working without pain.", "Housecleaner; physically demanding work.",
       "Prefers Spanish for paperwork.", visits=(180, 30, 4), source_client="maria"),
    _C("paul", "Paul", "Decker", 33, "medical",
       "Neck pain and headaches after a car accident four months ago.",
       "Drive without tensing up; turn his head fully again.",
       "Car accident (T-boned) five months ago; whiplash; no fractures.",
       "Nervous behind the wheel since the crash.", visits=(150, 7, 8), service="mvc",
       source_partner="okafor",
       in_reason="Whiplash after a collision; massage between adjustments."),
    _C("megan", "Megan", "Foley", 27, "medical",
       "Shin pain on runs longer than 5 km.", "Run her first half marathon.",
       "New runner; ramped mileage quickly.", visits=(200, 14, 4), service="sports",
       source_partner="kaminski", in_reason="Shin splints; soft tissue for calves and shins."),
    _C("chloe", "Chloe", "Bauer", 31, "medical",
       "Upper back and neck pain from nursing and carrying the baby.",
       "Feel like herself again.", "Gave birth three months before intake; C-section.",
       visits=(120, 21, 4), source_partner="morales",
       in_reason="Postpartum client with upper-back pain."),
    _C("aaron", "Aaron", "Fischer", 30, "business",
       "Wrist and forearm pain from mouse use; rounded shoulders.",
       "Build strength and fix his posture.", "Software developer.",
       "His company's wellness coordinator sent a group flyer.", visits=(210, 30, 5)),
    _C("diane", "Diane", "Walsh", 55, "medical",
       "Widespread aching, fatigue, poor sleep (fibromyalgia).",
       "Have more good days than bad days.", "Fibromyalgia diagnosed six years ago.",
       "Feels low and isolated some weeks.", visits=(300, 28, 0), source_partner="raman",
       in_reason="Fibromyalgia; gentle massage as part of a wellness plan."),
    _C("omar", "Omar", "Khalil", 50, "medical",
       "Low back strain lifting at a construction site; workers' comp.",
       "Return to work.", "Disc bulge on MRI, no surgery planned.",
       visits=(90, 10, 5), service="wc", source_partner="stroud",
       in_reason="Lumbar strain; conservative care, massage before return to work."),
    _C("beth", "Beth Ann", "Kruger", 48, "medical",
       "Tension headaches more often over two months; new numbness in the right hand.",
       "Fewer headaches.", "History of migraine in her twenties.",
       visits=(160, 21, 5), source_partner="nwosu",
       in_reason="Tension-type headaches; neck and shoulder work."),
    _C("jake", "Jake", "Peterson", 19, "medical",
       "Hamstring strain playing soccer.", "Be ready for the fall season.",
       "College soccer player.", visits=(70, 7, 4), service="sports",
       source_partner="ortiz", in_reason="Hamstring strain, cleared for soft-tissue work."),
    _C("laura", "Laura", "Gruber", 52, "walk_in_web",
       "Insomnia and hot flashes; tight shoulders.",
       "Sleep through the night; natural approaches preferred.", "Menopause.",
       "Found us on the web with a gift certificate from her daughter.",
       visits=(250, 35, 4)),
    _C("nina", "Nina", "Petrovic", 37, "medical",
       "Neck and shoulder tension, anxiety.",
       "Stay calm through a second fertility treatment cycle.",
       "Second IVF cycle; one pregnancy loss last year.",
       "Feels overwhelmed; asked about someone to talk to.", visits=(130, 14, 6),
       source_partner="hoffmann",
       in_reason="IVF patient between cycles; stress relief."),
    _C("frank", "Frank", "Olszewski", 74, "medical",
       "Stiffness around the left hip six months after a hip replacement.",
       "Walk the dog a mile again.", "Total hip replacement, left; blood thinners.",
       visits=(200, 21, 6), source_partner="lindqvist",
       in_reason="Post hip replacement, done with PT; stiffness and scar tissue."),
    _C("kim", "Kim", "Tran", 24, "medical",
       "Ankle instability and calf tightness; rolls her ankle in class.",
       "Dance without fear of spraining again.", "Dancer; two ankle sprains.",
       visits=(160, 14, 4), service="sports", source_partner="ortiz",
       in_reason="Dancer with repeated ankle sprains; calf and foot work."),
    _C("jenny", "Jenny", "Albright", 42, "business",
       "Wrist tingling when typing, stiff neck.", "Work comfortably.",
       "Accountant; tax season is 60 hours a week.",
       "Met the owner at an Elm Grove chamber lunch.", visits=(80, 14, 3)),
    _C("steve", "Steve", "Marchetti", 58, "current_clients",
       "Low back pain and stiffness after golf rounds.", "Play 18 holes without pain.",
       "Golfer; no injuries.", visits=(230, 30, 5), source_client="greg"),
    _C("tessa", "Tessa", "Lund", 35, "people_you_know",
       "General tension, low energy.", "Lose 30 pounds and get strong.",
       "Teacher; sedentary over the winter.", "Sister-in-law of the front desk.",
       visits=(260, 28, 6)),
    _C("ryan", "Ryan", "Hughes", 32, "medical",
       "Achilles pain, worse on hills.", "Run a 50K trail race.",
       "Achilles tendinopathy; trail runner.", visits=(250, 14, 0), service="sports",
       source_partner="whitfield",
       in_reason="Achilles tendinopathy managed conservatively; calf work."),
    _C("irene", "Irene", "Castillo", 31, "medical",
       "Sciatica-like pain in pregnancy, right side.", "Sleep comfortably.",
       "Pregnant with her second child (30 weeks at intake).",
       visits=(60, 14, 4), service="prenatal", source_partner="hart",
       in_reason="Pregnant, sciatic-type pain; prenatal massage approved."),
    _C("mark", "Mark", "Jensen", 46, "current_clients",
       "Mid-back ache from long days sitting.", "Move better.", "Office worker.",
       visits=(190, 30, 4), source_client="sarah"),
    _C("alyssa", "Alyssa", "Brooks", 28, "medical",
       "Jaw clenching, clicking jaw, temple headaches.",
       "Stop clenching during the day.", "Wears a night guard.",
       visits=(100, 14, 4), source_partner="chen",
       in_reason="TMJ pain; night guard made, asked for jaw and neck massage."),
    _C("luis", "Luis", "Herrera", 40, "medical",
       "Neck pain since a car accident six weeks ago; tingling down the left arm.",
       "Get back to work as a driver.", "Car accident six weeks ago; whiplash.",
       "Spanish speaker; his son translates.", visits=(42, 7, 5), service="mvc",
       source_partner="okafor",
       in_reason="Whiplash six weeks ago; massage alongside chiropractic care."),
    _C("henry", "Henry", "Adler", 61, "medical",
       "Chronic neck tension, anxious about a new job.", "Relax and sleep better.",
       "No major history.", visits=None, source_partner="raman",
       in_reason="Neck tension and stress; would benefit from regular massage."),
)
# fmt: on

# --------------------------------------------------------------------------- referrals out


@dataclass(frozen=True)
class _R:
    client: str
    partner: str
    days_ago: int
    status: str  # final status: draft, sent, closed or cancelled
    reasons: str
    scope: str = "report"  # a letter went out: written consent (clients.services.CONSENT_FOR_KIND)
    note: str = ""


# fmt: off
REFERRALS_OUT: tuple[_R, ...] = (
    _R("eric", "kaminski", 260, "closed",
       "Heel pain on first steps for 6 weeks, plantar fascia tender → podiatry, orthotics?",
       "report", "Orthotics fitted; short report received."),
    _R("eric", "petrakis", 60, "sent",
       "Marathon block; fading on long runs → sports nutrition plan"),
    _R("nadia", "brenner", 200, "closed",
       "Night tingling in thumb and index finger, types all day → hand therapy, workstation",
       "report", "Splint at night and a new keyboard; tingling much better."),
    _R("nadia", "siddiqui", 30, "draft",
       "Tingling back after 6 months → nerve conduction study?"),
    _R("jasmine", "reyes", 120, "sent",
       "24 weeks pregnant; pubic and low-back pain when walking → pelvic-health PT"),
    _R("jasmine", "morales", 100, "closed",
       "First baby; wants birth support and comfort measures for labor",
       note="Client hired the doula."),
    _R("emily", "petrakis", 150, "sent", "In IVF; asked how to eat to support fertility"),
    _R("greg", "chen", 240, "closed",
       "Jaw clenching, morning headaches, worn teeth → dental check, night guard", "report",
       "Night guard made; headaches less frequent."),
    _R("linda", "lindqvist", 280, "closed",
       "Knee arthritis, two near-falls this winter → balance and strength program", "report",
       "Eight PT sessions completed."),
    _R("kevin", "whitfield", 45, "sent",
       "Outer-knee pain for 8 weeks despite rest → sports medicine evaluation", "report"),
    _R("kevin", "ortiz", 200, "cancelled",
       "Triathlon season; taping and return-to-run plan",
       note="Client chose to stay with his club's trainer."),
    _R("rosa", "okafor", 150, "sent",
       "Low back pain after lifting, aching into left buttock → chiropractic assessment"),
    _R("paul", "ames", 100, "draft",
       "Nervous driving and poor sleep since the crash → pain psychology, coping skills"),
    _R("megan", "lindqvist", 170, "closed",
       "Shin pain on runs over 5 km for a month → running gait analysis", "report",
       "Gait retrained; back to 10 km."),
    _R("chloe", "reyes", 90, "closed",
       "3 months postpartum, C-section, core feels weak → pelvic-floor PT",
       note="Client seen; exercise plan given."),
    _R("aaron", "bell", 170, "closed",
       "Desk worker with weak upper back → strength routine",
       note="Training twice a week now."),
    _R("diane", "abernathy", 120, "sent",
       "Long-term pain and low mood; asked for someone to talk to"),
    _R("beth", "siddiqui", 90, "sent",
       "Headaches more often over 2 months, new numbness in right hand → neurology", "report"),
    _R("nina", "abernathy", 40, "draft", "Second IVF cycle, overwhelmed; asked about counseling"),
    _R("nina", "tanaka", 100, "closed",
       "Asked about acupuncture alongside IVF; fertility clinic agrees",
       note="Client booked weekly sessions."),
    _R("tessa", "bell", 200, "sent", "Wants to lose weight and build strength safely"),
    _R("tessa", "petrakis", 180, "closed", "Weight-loss goal; wants an eating plan",
       note="Client seen twice; feels more energetic."),
    _R("luis", "stroud", 12, "sent",
       "Neck pain 6 weeks after a collision, not improving, arm tingling → spine opinion",
       "report"),
    _R("steve", "okafor", 150, "cancelled", "Low back stiff after golf rounds",
       note="Client decided to wait and see."),
    _R("laura", "raman", 200, "closed",
       "Menopause, insomnia; wants natural approaches → naturopathic consult",
       note="Client seen; sleep improving."),
    _R("jenny", "brenner", 20, "draft", "Wrist tingling when typing → ergonomic review"),
    _R("dave", "brenner", 80, "sent",
       "Shoulder strain at work, light duty → return-to-work plan", "report"),
)
# fmt: on


# --------------------------------------------------------------------------- helpers


class _Phones:
    """Unique fictional numbers (555-0100..0199) per area code, in a seeded order."""

    def __init__(self, rng: random.Random) -> None:
        self._pools = {area: rng.sample(range(100, 200), 100) for area in ("262", "414")}

    def take(self, zip_code: str) -> str:
        area = "414" if zip_code.startswith("532") else "262"
        return f"({area}) 555-{self._pools[area].pop():04d}"


def _aware(day: dt.date, rng: random.Random, start: int = 9, end: int = 17) -> dt.datetime:
    moment = dt.datetime.combine(day, dt.time(rng.randint(start, end), rng.choice((0, 15, 30, 45))))
    return timezone.make_aware(moment)


def _domain(clinic: str) -> str:
    words = [w for w in "".join(c if c.isalnum() else " " for c in clinic.lower()).split()]
    return "".join(words[:3]) + ".example"


def _insurance(spec: _P, rng: random.Random) -> str:
    if spec.insurance:
        return spec.insurance
    plans = sorted(rng.sample(_INSURERS, rng.randint(2, 4)), key=_INSURERS.index)
    if _AUTO & set(spec.professions):
        plans.append("Auto insurance (med-pay)")
    if _WORK & set(spec.professions):
        plans.append("Workers' compensation")
    return ", ".join(plans)


def _visit_dates(spec: _C, today: dt.date, rng: random.Random) -> list[dt.date]:
    if spec.visits is None:
        return []
    first_ago, every, count = spec.visits
    day = today - dt.timedelta(days=first_ago)
    dates = [day]
    while (count == 0 or len(dates) < count) and every:
        day = day + dt.timedelta(days=max(1, every + rng.randint(-2, 3)))
        if day >= today:
            break
        if count == 0 and rng.random() < 0.1:
            continue  # a missed week: holidays, a cold
        dates.append(day)
    return dates


# --------------------------------------------------------------------------- loader


class DemoResult(TypedDict):
    practice: str  # its slug
    created: bool  # False: it was there already
    logins: list[dict[str, str]]  # email, password, role


def demo_load(*, today: dt.date | None = None) -> DemoResult:
    """Create the demo practice "Elm Grove Massage" if it does not exist; idempotent.

    Returns {"practice": "elm-grove", "created": bool, "logins": [{email, password, role}]}.
    """

    result: DemoResult = {"practice": DEMO_SLUG, "created": False, "logins": demo_logins()}
    if Practice.objects.filter(slug=DEMO_SLUG).exists():
        return result
    with transaction.atomic():
        _build(today or timezone.localdate())
    result["created"] = True
    return result


def _build(today: dt.date) -> None:
    rng = random.Random(SEED)
    phones = _Phones(rng)

    def ago(days: int) -> dt.date:
        return today - dt.timedelta(days=days)

    # --- practice and members
    practice = practice_create(
        slug=DEMO_SLUG,
        name=DEMO_NAME,
        owner_email=OWNER_EMAIL,
        password=OWNER_PASSWORD,
        owner_first_name="Maya",
    )
    practice.email = "hello@elmgrove.example"
    practice.phone = phones.take(DEMO_ZIP)
    practice.street = "820 Elm Grove Rd"
    practice.city, practice.state, practice.zip_code = "Elm Grove", "WI", DEMO_ZIP
    practice.save()  # no practice_update service exists
    owner_member = practice.members.select_related("user").get()
    owner = owner_member.user
    if not owner.last_name:
        owner.last_name = "Lindberg"
        owner.save(update_fields=["last_name"])
    member_add(
        practice=practice,
        email=DESK_EMAIL,
        password=DESK_PASSWORD,
        role=Role.FRONT_DESK,
        first_name="Sam",
        last_name="Rivera",
        by=owner,
    )
    desk = practice.members.get(role=Role.FRONT_DESK).user

    # --- professions and niches
    wanted = {slug for spec in PARTNERS for slug in spec.professions}
    if Profession.objects.filter(slug__in=wanted).count() < len(wanted):
        professions_sync()
    professions = Profession.objects.in_bulk(list(wanted))
    niches = {name: niche_get_or_create(practice=practice, name=name) for name in NICHES}

    # --- partners
    partners: dict[str, Partner] = {}
    partner_since: dict[str, dt.date] = {}
    for spec in PARTNERS:
        first, last = spec.name.split(" ", 1)
        domain = _domain(spec.clinic)
        checks = [rng.random() < p for p in _VETTING[spec.stage]]
        fields = {
            "name": spec.name,
            "credentials": spec.credentials,
            "specialties": spec.specialties,
            "clinic": spec.clinic,
            "street": spec.street,
            "city": CITIES[spec.zip_code],
            "state": "WI",
            "zip_code": spec.zip_code,
            "phone": phones.take(spec.zip_code),
            "email": f"{first[0]}{last.replace(chr(39), '')}@{domain}".lower(),
            "website": f"https://www.{domain}",
            "languages": spec.languages,
            "insurance_accepted": _insurance(spec, rng),
            "how_met": spec.how_met,
            "how_met_detail": spec.how_met_detail,
            "stage": spec.stage,
            "not_a_fit_reason": spec.not_a_fit_reason,
            "website_reviewed": checks[0],
            "values_fit": checks[1],
            "would_send_mother": checks[2],
            "visited_as_client": checks[3],
            "billing_concerns": spec.billing_concerns,
            "vetting_notes": spec.vetting_notes,
        }
        partners[spec.key] = partner_create(
            practice=practice,
            by=owner,
            fields=fields,
            professions=[professions[s] for s in spec.professions],
            niches=[niches[n] for n in spec.niches],
        )

    # --- touchpoints along each relationship
    for spec in PARTNERS:
        partner = partners[spec.key]
        plan = _TOUCH_PLAN.get(spec.stage)
        if plan is None:
            partner_since[spec.key] = ago(rng.randint(5, 150))
            continue
        firsts, laters, (lo, hi), (start_lo, start_hi) = plan
        start = rng.randint(start_lo, start_hi)
        n_later = rng.randint(lo, hi)
        days = sorted(rng.sample(range(1, start), n_later), reverse=True)
        partner_since[spec.key] = ago(start + rng.randint(3, 30))
        kinds = [rng.choice(firsts)] + [rng.choice(laters) for _ in days]
        for kind, days_ago in zip(kinds, [start, *days], strict=True):
            touchpoint_create(
                partner=partner,
                by=desk if kind in ("gift", "email") and rng.random() < 0.5 else owner,
                kind=kind,
                date=ago(days_ago),
                note=rng.choice(_TOUCH_NOTES[kind]),
            )

    # --- clients and visits
    clients: dict[str, Client] = {}
    visits: dict[str, list[dt.date]] = {}
    for person in (*CLIENTS[:1], _alice(today), *CLIENTS[1:]):
        zip_code = rng.choice(CLIENT_ZIPS)
        birth = ago(person.age * 365 + rng.randint(0, 364))
        mail = rng.choice(("mail.example", "inbox.example", "post.example"))
        local = f"{person.first}.{person.last}".lower().replace(" ", "")
        client = client_create(
            practice=practice,
            by=owner,
            fields={
                "first_name": person.first,
                "last_name": person.last,
                "email": f"{local}@{mail}",
                "phone": phones.take(zip_code),
                "date_of_birth": birth,
                "zip_code": zip_code,
                "complaints": person.complaints,
                "goals": person.goals,
                "history": person.history,
                "notes": person.notes,
                "stream": person.stream,
                "source_partner": partners.get(person.source_partner),
                "source_client": clients.get(person.source_client),
            },
        )
        clients[person.key] = client
        dates = _visit_dates(person, today, rng)
        visits[person.key] = dates
        for day in dates:
            service, fee = rng.choice(SERVICES[person.service])
            visit_create(
                client=client,
                by=owner,
                date=day,
                service=service,
                fee=Decimal(fee),
                notes=rng.choice(VISIT_NOTES[person.service]),
                payer=_payer(service),
            )
        created = dates[0] - dt.timedelta(days=rng.randint(1, 7)) if dates else ago(3)
        Client.objects.filter(pk=client.pk).update(created_at=_aware(created, rng))

        # --- the referral that brought them (recorded with the client), and the thank-you
        if person.source_client:
            # A client who sent a friend: the referral arrived the day the friend came in.
            from_client = Referral.objects.get(client=client, direction=Direction.IN)
            morning = timezone.make_aware(dt.datetime.combine(created, dt.time(8, 30)))
            _backdate(Referral, ReferralEvent, from_client, morning)
        if person.source_partner:
            partner = partners[person.source_partner]
            sent_day = created - dt.timedelta(days=rng.randint(0, 5))
            referral = Referral.objects.get(client=client, direction=Direction.IN)
            Referral.objects.filter(pk=referral.pk).update(reasons=person.in_reason)
            arrived = _aware(sent_day, rng, 8, 10)
            _backdate(Referral, ReferralEvent, referral, arrived)
            in_path = IN_PATHS[len(visits) % len(IN_PATHS)] if dates else []
            if "reported" in in_path:
                consent_create(
                    client=client,
                    by=owner,
                    fields={
                        "partner": partner,
                        "scope": "report",
                        "purpose": f"Progress reports to {partner.name}",
                        "given_on": sent_day,
                    },
                )
                Referral.objects.filter(pk=referral.pk).update(report_interval_days=30)
            _walk(referral, in_path, by=owner, start=sent_day, today=today, rng=rng, after=arrived)
            if dates:
                thanks = dates[0] + dt.timedelta(days=rng.randint(1, 4))
                if thanks < today and len(visits) % 4:
                    touchpoint_create(
                        partner=partner,
                        by=owner,
                        kind="thank_you",
                        date=thanks,
                        note=rng.choice(_TOUCH_NOTES["thank_you"]),
                    )
                    Referral.objects.filter(pk=referral.pk).update(
                        thanked_at=_aware(thanks, rng, 9, 17)
                    )

    # --- referrals out, with consent before anything is sent
    for index, out in enumerate(REFERRALS_OUT):
        client, partner = clients[out.client], partners[out.partner]
        later_visits = visits[out.client][1:] or visits[out.client]
        target = ago(out.days_ago)
        day = min(later_visits, key=lambda d: (abs((d - target).days), d))
        referral = referral_create(
            practice=practice,
            by=owner,
            fields={
                "direction": Direction.OUT,
                "client": client,
                "partner": partner,
                "reasons": out.reasons,
            },
        )
        created = _aware(day, rng, 12, 16)
        _backdate(Referral, ReferralEvent, referral, created)
        if out.status == Status.DRAFT:
            continue
        if out.status == Status.CANCELLED and rng.random() < 0.5:
            _walk(
                referral,
                [Status.CANCELLED],
                by=owner,
                start=day,
                today=today,
                rng=rng,
                after=created,
            )
            continue
        consent_create(
            client=client,
            by=owner,
            fields={
                "partner": partner,
                "profession": referral.profession,
                "scope": out.scope,
                "purpose": f"Referral to {partner.name} ({partner.clinic})",
                "given_on": day,
                "expires_on": day + dt.timedelta(days=365),
            },
        )
        if out.status == Status.CLOSED:
            path = OUT_CLOSED_PATHS[index % len(OUT_CLOSED_PATHS)]
        elif out.status == Status.CANCELLED:
            path = [Status.DISCUSSED, Status.CONSENTED, Status.SENT, Status.CANCELLED]
        else:
            path = OUT_OPEN_PATHS[index % len(OUT_OPEN_PATHS)]
            if path[-1] in (Status.SENT, Status.RECEIVED):
                # Still waiting for an answer: sent this week, before it counts as silence.
                day = max(day, today - dt.timedelta(days=2))
        _walk(
            referral, path, by=owner, start=day, today=today, rng=rng, note=out.note, after=created
        )

    # --- prospects have their next steps planned (one today, one in four days, one in ten)
    prospects = [p for key, p in partners.items() if p.stage in ("prospect", "contacted")][:3]
    for prospect, (method, offset) in zip(
        prospects, (("meeting_request", 0), ("call", 4), ("visit", 10)), strict=False
    ):
        contact_plan_create(
            partner=prospect,
            by=owner,
            method=method,
            planned_on=today + dt.timedelta(days=offset),
            note="From the outreach plan",
        )

    # --- what networking cost, so insights can show the cost per new client

    for months_back, stream, amount, note in (
        (10, "medical", "180.00", "Business cards and lunch-and-learn for two clinics"),
        (6, "medical", "95.00", "Office visits: flowers and fresh cards"),
        (8, "business", "250.00", "Chamber of commerce breakfast"),
        (3, "people_you_know", "60.00", "Referral thank-you cards"),
        (2, "walk_in_web", "120.00", "Directory listing"),
    ):
        month = (today.replace(day=1) - dt.timedelta(days=30 * months_back)).replace(day=1)
        StreamCost.objects.create(
            practice=practice, stream=stream, month=month, amount=Decimal(amount), note=note
        )

    # --- partners and clients look like they were added over the year
    for key, since in partner_since.items():
        Partner.objects.filter(pk=partners[key].pk).update(created_at=_aware(since, rng))

    # --- the latest news (the dashboard's "Since you last looked"): partners' answers through
    # their secure link yesterday (or hours after the referral's last step), and two referrals
    # that came through the public pages. Last, and without random draws: the rest of the
    # demo is as it was.
    for client_key, partner_key, answer, note, hour in LINK_ANSWERS:
        answered = (
            Referral.objects.filter(
                practice=practice,
                direction=Direction.OUT,
                client=clients[client_key],
                partner=partners[partner_key],
            )
            .order_by("pk")
            .first()
        )
        if answered is not None:
            yesterday = timezone.make_aware(dt.datetime.combine(ago(1), dt.time(hour, 5)))
            _link_answer(answered, answer, note, not_before=yesterday)
    for partner_key, fields, hour in PUBLIC_REQUESTS:
        request = request_receive(
            practice=practice,
            partner=partners[partner_key] if partner_key else None,
            fields=fields,
            ip="192.0.2.10",
        )
        arrived = dt.datetime.combine(ago(1), dt.time(hour, 20))
        ReferralRequest.objects.filter(pk=request.pk).update(
            created_at=timezone.make_aware(arrived)
        )

    # --- a practice that keeps up: what the year asked was done on time, a few things are late
    # by days and a handful come this week (Today, and the dashboard's "What to do next").
    _keep_up(practice, by=owner, today=today)


# What partners answered through their secure link: (client, partner, answer, their note,
# the hour yesterday).
LINK_ANSWERS: tuple[tuple[str, str, str, str, int], ...] = (
    ("luis", "stroud", Status.SEEN,
     "Seen Tuesday; MRI ordered. Avoid deep pressure on the neck until the results are in.", 9),
    ("jasmine", "reyes", "note",
     "Pelvic belt fitted; she comes twice a week. Gentle side-lying work is fine.", 11),
    ("diane", "abernathy", Status.DECLINED,
     "My practice is full until February; Dr. Lena Moss in Brookfield takes new clients.", 14),
    ("rosa", "okafor", Status.ACCEPTED,
     "Booked for Thursday at 8. No deep work on the low back until I have examined her.", 16),
)  # fmt: skip

# Referrals through the public pages: (the partner whose page it came through, the form, hour).
PUBLIC_REQUESTS: tuple[tuple[str, dict[str, object], int], ...] = (
    ("reyes", {
        "referrer_name": "Hannah Reyes",
        "referrer_organization": "Lakeshore Physical Therapy",
        "referrer_email": "hreyes@lakeshorept.example",
        "client_first_name": "Marta",
        "client_last_name": "Kowalczyk",
        "client_phone": "(262) 555-0148",
        "reason": "Postpartum, 4 months; upper back and neck tension from feeding. Cleared for "
        "massage.",
        "client_agreed_to_be_contacted": True,
    }, 10),
    ("", {
        "referrer_name": "Dr. Alan Price",
        "referrer_organization": "Brookfield Family Medicine",
        "referrer_phone": "(262) 555-0192",
        "client_first_name": "Joe",
        "client_last_name": "Nakamura",
        "client_email": "joe.nakamura@mail.example",
        "reason": "Chronic low back pain, desk job; no red flags on exam.",
        "client_agreed_to_be_contacted": True,
    }, 15),
)  # fmt: skip


# What the demo leaves due on its day, by kind: days from that day (negative: late). Besides
# these, Today keeps what comes by itself: the follow-up of a referral sent this week, the
# planned steps with prospects, the thank-you owed for the latest referral in.
KEPT_DUE: dict[str, tuple[int, ...]] = {
    "report": (-1, 2),
    "keep_in_touch": (-3, 5),
    "office_visit": (3,),
}
WEEK = dt.timedelta(days=7)
_KEEP_IN_TOUCH = ("call", "email", "meeting", "event", "demo_massage")
_PLAN_METHODS = ("meeting_request", "call", "letter", "email")


def _keep_up(practice: Practice, *, by: User, today: dt.date) -> None:
    """Make the demo a practice that keeps up with its network: every item Today would show
    within a week of `today` is done on a past day — so that its next time comes later —, but
    for those KEPT_DUE names (done on the day that makes them due then) and those that come by
    themselves. Without random draws: the rest of the demo is as it was."""
    rules = rules_for(practice)
    wanted = {kind: list(offsets) for kind, offsets in KEPT_DUE.items()}
    kept: set[tuple[str, int | None, int | None]] = set()
    for _round in range(3):  # what one round did can bring another item into the week
        due = sorted(
            (i for i in make_due_items(practice=practice, on=today) if i.due <= today + WEEK),
            key=lambda i: (i.due, i.kind, i.key),
        )
        partners_due = Counter(i.partner for i in due)
        thanks = [i for i in due if i.kind == "thank_you"]
        latest_thanks = max(thanks, key=lambda i: (i.due, i.referral or 0)) if thanks else None
        for n, item in enumerate(due):
            which = (item.kind, item.partner, item.referral)
            offset = (item.due - today).days
            if which in kept or item.kind == "follow_up" or item.extra.get("plan"):
                continue  # left due, or due by itself
            if item is latest_thanks and offset >= -4:
                kept.add(which)
                continue
            targets = wanted.get(item.kind, [])
            # A contact done for another item of the partner would move its keep-in-touch.
            alone = item.kind != "keep_in_touch" or partners_due[item.partner] == 1
            if targets and alone and offset <= targets[0]:
                # Done on the day that makes it due on its target day.
                _item_done(
                    item,
                    practice=practice,
                    by=by,
                    today=today,
                    rules=rules,
                    due_on=today + dt.timedelta(days=targets.pop(0)),
                    n=n,
                )
                kept.add(which)
                continue
            _item_done(item, practice=practice, by=by, today=today, rules=rules, due_on=None, n=n)


def _item_done(
    item: DueItem,
    *,
    practice: Practice,
    by: User,
    today: dt.date,
    rules: dict[str, Rule],
    due_on: dt.date | None,
    n: int,
) -> None:
    """Do a due item on a past day: the day that makes it due again on `due_on`, or (None)
    a recent day that puts its next time past the coming week (`n` spreads them)."""
    partner = Partner.objects.get(pk=item.partner) if item.partner else None

    def touch(kind: str, day: dt.date) -> None:
        if partner is not None:
            notes = _TOUCH_NOTES[kind]
            touchpoint_create(
                partner=partner, by=by, kind=kind, date=day, note=notes[n % len(notes)]
            )

    if item.kind == "keep_in_touch":
        every = rules["keep_in_touch"].ideal
        touch(
            _KEEP_IN_TOUCH[n % len(_KEEP_IN_TOUCH)],
            due_on - dt.timedelta(days=every)
            if due_on
            else today - dt.timedelta(days=12 + n * 11 % 60),
        )
    elif item.kind == "office_visit":
        every = rules["office_visit"].ideal
        touch(
            "office_visit",
            due_on - dt.timedelta(days=every)
            if due_on
            else today - dt.timedelta(days=15 + n * 13 % 55),
        )
    elif item.kind == "year_end_gift":
        touch("gift", today - dt.timedelta(days=1 + n % 5))
    elif item.kind == "report" and item.referral:
        every = Referral.objects.get(pk=item.referral).report_interval_days or 30
        sent = (
            due_on - dt.timedelta(days=every)
            if due_on
            else today + dt.timedelta(days=8 + n * 5 % 18 - every)
        )
        Referral.objects.filter(pk=item.referral).update(
            last_report_at=timezone.make_aware(dt.datetime.combine(sent, dt.time(17, 30)))
        )
    elif item.kind == "thank_you" and item.referral:
        received = item.due - dt.timedelta(days=rules["thank_you"].ideal)
        day = min(received + dt.timedelta(days=1 + n % 3), today - dt.timedelta(days=1))
        if day < received:
            return  # came in today: thanked tomorrow
        Referral.objects.filter(pk=item.referral).update(
            thanked_at=timezone.make_aware(dt.datetime.combine(day, dt.time(16, 45)))
        )
        touch("thank_you", day)
    elif item.kind == "prospect" and partner is not None:
        contact_plan_create(
            partner=partner,
            by=by,
            method=_PLAN_METHODS[n % len(_PLAN_METHODS)],
            planned_on=today + dt.timedelta(days=9 + n * 7 % 40),
            note="From the outreach plan",
        )


def _link_answer(referral: Referral, answer: str, note: str, *, not_before: dt.datetime) -> None:
    """The partner's answer through the secure link (`answer`: a status, or "note"), as
    referrals.services.link_act records it (the referral marked received on the way): at
    `not_before`, or three hours after the referral's last step if that is later."""
    last = referral.events.order_by("-at", "-id").first()
    at = max(not_before, (last.at if last else referral.created_at) + dt.timedelta(hours=3))
    if answer != "note" and not can_move(referral.direction, referral.status, answer):
        return
    if can_move(referral.direction, referral.status, Status.RECEIVED):
        referral = referral_transition(
            referral=referral, to=Status.RECEIVED, by=None, at=at, via=Via.PARTNER_LINK
        )
    if answer == "note":
        event = referral_note(referral=referral, by=None, note=note, via=Via.PARTNER_LINK)
        ReferralEvent.objects.filter(pk=event.pk).update(at=at + dt.timedelta(minutes=2))
    elif answer != Status.RECEIVED:
        referral_transition(
            referral=referral,
            to=answer,
            by=None,
            note=note,
            at=at + dt.timedelta(minutes=2),
            via=Via.PARTNER_LINK,
        )


# Paths through the state machine, so the demo shows a referral in every state.
IN_PATHS: tuple[list[str], ...] = (
    ["accepted", "seen", "closed"],
    ["accepted", "seen", "reported", "closed"],
    ["accepted", "seen"],
    ["accepted"],
    [],
    ["accepted", "seen", "reported"],
)
OUT_CLOSED_PATHS = (
    ["discussed", "consented", "sent", "received", "accepted", "seen", "reported", "closed"],
    ["consented", "sent", "accepted", "seen", "closed"],
    ["consented", "sent", "declined", "closed"],
    ["consented", "sent", "no-response", "closed"],
)
OUT_OPEN_PATHS = (
    ["discussed"],
    ["discussed", "consented"],
    ["consented", "sent"],
    ["consented", "sent", "received"],
    ["consented", "sent", "accepted"],
    ["consented", "sent", "received", "accepted", "seen"],
    ["consented", "sent", "accepted", "seen", "reported"],
    ["consented", "sent", "no-response"],
    ["consented", "sent", "declined"],
)


def _payer(service: str) -> str:
    text = service.lower()
    if "motor" in text or "collision" in text:
        return "mvc"
    if "workers" in text:
        return "workers_comp"
    return "client"


def _walk(
    referral: Referral,
    path: list[str],
    *,
    by: User,
    start: dt.date,
    today: dt.date,
    rng: random.Random,
    note: str = "",
    after: dt.datetime | None = None,
) -> None:
    """Move a referral along `path`, a few days a step, never past yesterday, each step after
    the one before (and the first after `after`, the referral's creation): a timeline in
    order."""

    day = start
    last = after
    for i, status in enumerate(path):
        day = min(
            day + dt.timedelta(days=rng.randint(0, 6) if i else 0), today - dt.timedelta(days=1)
        )
        at = _aware(day, rng, 9, 18)
        if last is not None and at <= last:
            at = last + dt.timedelta(minutes=rng.randint(5, 90))
        last = at
        referral = referral_transition(
            referral=referral,
            to=status,
            by=None if status in ("received", "no-response") else by,
            at=at,
            note=note if i == len(path) - 1 else "",
        )


def _backdate(
    referral_model: type[Referral],
    event_model: type[ReferralEvent],
    referral: Referral,
    at: dt.datetime,
) -> None:
    """Move a new referral's creation (and its first 'draft' event) to `at`."""
    referral_model.objects.filter(pk=referral.pk).update(created_at=at)
    if referral.direction == "in":
        referral_model.objects.filter(pk=referral.pk).update(received_at=at)
    event_model.objects.filter(referral=referral, from_status="").update(at=at)
