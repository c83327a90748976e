"""`referwell generate`: a big, made-up practice for benchmarks and the insights page.

Unlike the demo (`referwell.site.demo`), which goes through the services row by row, this
writes straight to the tables with `bulk_create` in one transaction: no audit entries, no
geocoding per row (ZIP centroids are looked up once), one ReferralEvent per referral.

Everything is fictional: names, clinics, street numbers, 555-01xx phone numbers and .example
e-mail domains; the ZIP codes are real ones of south-east Wisconsin, Madison and northern
Illinois so that distances on the map make sense. The same `seed` gives the same data (apart
from the owner's password and the partners' referral codes, which must stay secret / unique).

Shapes follow what a real network looks like: a few partners send most referrals (Zipf,
weight 1/rank^1.1, the trusted ones first), most clients come once to three times while a few
regulars come weekly for years, visits and referrals are spread over the last three years.

`xlarge` (and `--practices N`) makes many practices of one profile, SLUG-001…, each with its
own seed, for the many-tenants case; no row of one points at a row of another.
"""

from __future__ import annotations

import bisect
import datetime as dt
import itertools
import random
import secrets
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, NotRequired, TypedDict, TypeVar

from django.apps import apps
from django.db import connection, transaction
from django.utils import timezone
from django.utils.text import slugify

from referwell.accounts.models import Practice, User
from referwell.accounts.services import AccountError, practice_create
from referwell.clients.models import Client, Consent, Visit
from referwell.core.apps import _optimize_sqlite
from referwell.core.geo import miles_between, zip_centroid, zip_place
from referwell.core.models import explicit_timestamps
from referwell.directory.models import Niche, Partner, Profession, Touchpoint
from referwell.directory.professions import professions_sync
from referwell.referrals.models import Referral, ReferralEvent

DEFAULT_SLUG = "large-practice"
DEFAULT_SEED = 2026
BATCH = 5000
YEARS = 3
PRACTICE_ZIP = "53186"


@dataclass(frozen=True)
class Size:
    partners: int
    clients: int
    visits: int
    referrals: int


SIZES = {
    "small": Size(partners=200, clients=800, visits=12_000, referrals=4_000),
    "large": Size(partners=5_000, clients=20_000, visits=300_000, referrals=100_000),
}
# Sizes made of several practices: (the profile of each, how many by default).
MULTI = {"xlarge": ("large", 200)}
CHOICES = (*SIZES, *MULTI)


class GenerateError(ValueError):
    """Bad input for the generator; the message is for a person."""


# --------------------------------------------------------------------------- vocabulary

# fmt: off
FIRST_NAMES = (
    "Aaron", "Abigail", "Adrian", "Aisha", "Alan", "Alicia", "Amara", "Andre", "Angela", "Ben",
    "Bianca", "Brian", "Camila", "Carlos", "Caroline", "Chloe", "Chris", "Daniel", "Dana",
    "Deborah", "Derek", "Diana", "Elena", "Emily", "Eric", "Ethan", "Fatima", "Gabriel",
    "Grace", "Hannah", "Hector", "Ian", "Irene", "Isaac", "Jamal", "Jasmine", "Jenna", "Joel",
    "Julia", "Karen", "Kevin", "Laura", "Leah", "Liam", "Lucia", "Marcus", "Maria", "Megan",
    "Michael", "Mina", "Nadia", "Nathan", "Nicole", "Omar", "Paul", "Priya", "Rachel", "Raj",
    "Rebecca", "Ruth", "Samuel", "Sara", "Sean", "Sofia", "Tessa", "Thomas", "Victor", "Wei",
    "Yusuf", "Zoe",
)
LAST_NAMES = (
    "Abernathy", "Adeyemi", "Alvarez", "Andersen", "Baker", "Bauer", "Bell", "Brenner",
    "Brooks", "Castillo", "Chen", "Collins", "Dahl", "Diaz", "Dubois", "Ellis", "Erikson",
    "Fischer", "Flores", "Foster", "Garcia", "Gill", "Gomez", "Gray", "Hansen", "Hartman",
    "Hoffmann", "Hughes", "Ibrahim", "Jansen", "Jensen", "Johnson", "Kaminski", "Kaur",
    "Keller", "Kim", "Klein", "Kowalczyk", "Krueger", "Larsen", "Lee", "Lindqvist", "Lopez",
    "Maddox", "Martin", "Meyer", "Miller", "Morales", "Murphy", "Nguyen", "Novak", "Nwosu",
    "Okafor", "Olson", "Ortiz", "Patel", "Petersen", "Petrakis", "Pike", "Quinn", "Raman",
    "Reyes", "Richter", "Rivera", "Robinson", "Rossi", "Sandoval", "Schmidt", "Schultz",
    "Shah", "Silva", "Stroud", "Sullivan", "Tanaka", "Thompson", "Torres", "Vogel", "Wagner",
    "Walsh", "Weber", "Whitfield", "Williams", "Wilson", "Wojcik", "Wright", "Yamamoto",
    "Young", "Zielinski", "Zimmerman", "Zhang",
)
# Real ZIP codes: Milwaukee / Waukesha area, Racine / Kenosha, Madison, northern Illinois.
ZIP_CODES = (
    "53122", "53045", "53005", "53186", "53188", "53189", "53151", "53146", "53213", "53226",
    "53202", "53211", "53214", "53072", "53066", "53051", "53092", "53150", "53029", "53132",
    "53129", "53130", "53154", "53110", "53207", "53215", "53217", "53218", "53219", "53220",
    "53221", "53222", "53223", "53225", "53227", "53228", "53097", "53012", "53022", "53024",
    "53403", "53405", "53406", "53140", "53142", "53144", "53703", "53704", "53705", "53711",
    "53713", "53717", "60002", "60030", "60035", "60045", "60048", "60060", "60061", "60085",
    "60089", "60091", "60093", "60201",
)
STREETS = (
    "W Bluemound Rd", "E Moreland Blvd", "N Grandview Blvd", "Elm Grove Rd", "W North Ave",
    "W National Ave", "N Lake Dr", "W Wisconsin Ave", "Capitol Dr", "Watertown Plank Rd",
    "N Sunnyslope Rd", "W Main St", "S Moorland Rd", "W Greenfield Ave", "N Mayfair Rd",
    "E Sunset Dr", "W Layton Ave", "N Port Washington Rd", "University Ave", "Sheridan Rd",
    "Green Bay Rd", "Milwaukee Ave", "State St", "Washington Ave",
)
CLINIC_WORDS = (
    "Bluemound", "Lakeview", "Riverbend", "Willow", "Cedar", "Northshore", "Prairie",
    "Oak Creek", "Fox River", "Lakeshore", "Summit", "Clearwater", "Harbor", "Maple",
    "Meadow", "Pinecrest", "Westside", "Brookside", "Heartland", "Stillwater", "Kettle Moraine",
    "Menomonee", "Pewaukee", "Tosa",
)
# slug: (weight, credentials, clinic kind, specialties)
PROFESSIONS: dict[str, tuple[int, tuple[str, ...], str, tuple[str, ...]]] = {
    "chiropractor": (14, ("DC",), "Chiropractic", (
        "Gentle adjusting", "Activator", "Whiplash care", "Sports chiropractic", "Pregnancy care")),
    "physical-therapist": (14, ("PT, DPT", "PT", "DPT, OCS"), "Physical Therapy", (
        "Running injuries", "Post-surgical rehab", "Vestibular rehab", "Pelvic floor",
        "Dry needling")),
    "massage-therapist": (8, ("LMT", "LMT, BCTMB"), "Bodywork", (
        "Lymphatic drainage", "Oncology massage", "Myofascial release", "Thai massage")),
    "primary-care-physician": (8, ("MD", "DO", "NP", "PA-C"), "Family Medicine", (
        "Family medicine", "Preventive care", "Chronic disease management")),
    "acupuncturist": (6, ("LAc", "LAc, Dipl. OM"), "Acupuncture", (
        "Fertility acupuncture", "Pain", "Stress and sleep")),
    "personal-trainer": (6, ("CPT", "CPT, CSCS"), "Fitness Studio", (
        "Strength for beginners", "Weight loss", "Post-rehab fitness", "Seniors")),
    "occupational-therapist": (4, ("OTR/L", "OTR/L, CHT"), "Hand & Ergonomics", (
        "Hand therapy", "Ergonomics", "Carpal tunnel")),
    "sports-medicine-physician": (4, ("MD", "DO"), "Sports Medicine", (
        "Runners", "Stress fractures", "Concussion")),
    "orthopedic-surgeon": (4, ("MD",), "Orthopedic & Spine", (
        "Spine", "Knee and hip", "Shoulder", "Conservative care first")),
    "osteopath": (4, ("DO",), "Osteopathic Care", ("Osteopathic manipulation", "Family medicine")),
    "naturopath": (4, ("ND",), "Naturopathic Clinic", (
        "Nutrition", "Chronic pain and fatigue", "Whole-person care")),
    "psychotherapist": (4, ("LMFT", "LCSW", "LPC"), "Counseling", (
        "Anxiety", "Trauma", "Couples counseling", "Grief")),
    "podiatrist": (3, ("DPM",), "Foot & Ankle", ("Plantar fasciitis", "Orthotics", "Runners")),
    "nutritionist": (3, ("RDN", "RD, CSSD"), "Nutrition", (
        "Sports nutrition", "Weight management", "Fertility nutrition")),
    "athletic-trainer": (3, ("ATC", "LAT, ATC"), "Athletic Training", (
        "High-school athletes", "Injury prevention")),
    "obstetrician-gynecologist": (3, ("MD", "DO"), "Women's Health", (
        "Prenatal care", "Postpartum care")),
    "midwife-doula": (3, ("CNM", "CD (DONA)", "CPM"), "Birth Collective", (
        "Birth doula", "Postpartum support", "Home birth")),
    "dentist": (2, ("DDS", "DMD"), "Dental Care", ("TMJ disorders", "Night guards")),
    "neurologist": (2, ("MD",), "Neurology", ("Headache and migraine", "Neuropathy")),
    "psychologist": (2, ("PhD", "PsyD"), "Psychology", ("Chronic pain", "Anxiety")),
    "exercise-physiologist": (2, ("MS, ACSM-EP",), "Exercise Science", (
        "Cardiac rehab", "Exercise testing")),
    "fertility-specialist": (2, ("MD",), "Fertility Center", ("Reproductive endocrinology", "IVF")),
    "dermatologist": (1, ("MD",), "Dermatology", ("Skin checks", "Eczema")),
    "psychiatrist": (1, ("MD",), "Psychiatry", ("Depression", "Anxiety")),
    "reflexologist": (1, ("CR",), "Reflexology", ("Foot reflexology",)),
    "hypnotherapist": (1, ("CHt",), "Hypnotherapy", ("Stress", "Habits")),
    "homeopath": (1, ("CCH",), "Homeopathy", ("Classical homeopathy",)),
}
NICHES = ("Endurance runners", "Fertility support", "Office workers", "Car-accident recovery")
NICHE_FIT = {
    "physical-therapist": (0, 2, 3), "chiropractor": (0, 2, 3), "podiatrist": (0,),
    "sports-medicine-physician": (0,), "personal-trainer": (0, 2), "athletic-trainer": (0,),
    "exercise-physiologist": (0,), "acupuncturist": (1,), "fertility-specialist": (1,),
    "naturopath": (1,), "midwife-doula": (1,), "obstetrician-gynecologist": (1,),
    "nutritionist": (0, 1), "occupational-therapist": (2,), "psychotherapist": (2,),
    "orthopedic-surgeon": (3,), "osteopath": (3,), "massage-therapist": (1, 3),
}
# Most of the network is still to be met; few are trusted.
STAGES = (("prospect", 38), ("researched", 22), ("contacted", 14), ("met", 13),
          ("trusted", 8), ("not_a_fit", 5))
STAGE_RANK = {"trusted": 0, "met": 1, "contacted": 2, "researched": 3, "prospect": 4,
              "not_a_fit": 4}
SENDER_STAGES = {"trusted", "met", "contacted", "researched", "not_a_fit"}
RECEIVER_STAGES = {"trusted", "met", "contacted", "not_a_fit"}
TOUCHPOINTS_MEAN = {"prospect": 0.6, "researched": 1.0, "contacted": 2.2, "met": 4.0,
                    "trusted": 8.0, "not_a_fit": 1.5}
HOW_MET = (("client", 20), ("colleague", 20), ("event", 15), ("web", 15), ("registry", 15),
           ("referred_to_us", 10), ("other", 5))
TOUCH_KINDS = (("email", 25), ("call", 18), ("meeting", 12), ("letter", 10), ("thank_you", 12),
               ("office_visit", 10), ("gift", 4), ("demo_massage", 4), ("event", 5))
TOUCH_NOTES = ("", "", "", "Dropped off business cards.", "Short call about a shared client.",
               "Coffee; talked about how we each work.", "Sent our new brochure.",
               "Thanked them for the referral.", "Met at the running club clinic night.")
NOT_A_FIT = ("Sells long prepaid packages.", "Never answers referral letters.",
             "Too far from most of our clients.", "Dismissive of massage as part of care.")
INSURERS = ("Self-pay", "HSA/FSA", "Aetna", "Anthem", "UnitedHealthcare", "Quartz",
            "Medicare", "Medicaid")

STREAMS = (("medical", 35), ("current_clients", 22), ("people_you_know", 18),
           ("walk_in_web", 15), ("business", 10))
PEOPLE = ("A friend from book club", "Her sister", "A neighbor", "His running partner",
          "A coworker", "Church friend")
BUSINESSES = ("Brookfield Running Co.", "Elm Grove Yoga", "The salon on Main St",
              "Pewaukee Bike Shop", "Harbor Fitness front desk", "A local pharmacy")
# kind: ((share among clients with 4–40 visits, share among the others), complaints)
CLIENT_KINDS: dict[str, tuple[tuple[float, float], tuple[str, ...]]] = {
    "standard": ((0.70, 0.80), (
        "Neck and shoulder tension from desk work.", "Low back pain, worse after long drives.",
        "Stress and poor sleep.", "Tension headaches most afternoons.",
        "Tight hips and hamstrings.", "General relaxation; busy job.")),
    "sports": ((0.10, 0.10), (
        "Training for a marathon; tight calves.", "Plantar fasciitis, runs 30 miles a week.",
        "Shoulder soreness from swimming.")),
    "prenatal": ((0.05, 0.06), (
        "Pregnant, 24 weeks; low back and hip pain.", "Swelling in the feet, third trimester.")),
    "mvc": ((0.09, 0.025), (
        "Neck and upper back pain since being rear-ended.",
        "Whiplash after a car accident; headaches.")),
    "wc": ((0.06, 0.015), (
        "Shoulder strain lifting at the warehouse.", "Wrist and forearm pain from assembly work.")),
}
CLIENT_INSURANCE = {"mvc": "Auto insurance (med-pay)", "wc": "Workers' compensation"}
GOALS = ("", "", "Sleep better.", "Run the fall half-marathon.", "Work without pain.",
         "Fewer headaches.", "Lift the kids without hurting.")
# kind: [(service, base fee, weight)]; fees rise by $5 a year.
SERVICES: dict[str, tuple[tuple[str, int, int], ...]] = {
    "standard": (("Massage, 60 minutes", 90, 75), ("Massage, 90 minutes", 130, 20),
                 ("Chair massage, 30 minutes", 45, 5)),
    "sports": (("Sports massage, 60 minutes", 95, 70), ("Massage, 90 minutes", 130, 30)),
    "prenatal": (("Prenatal massage, 60 minutes", 95, 100),),
    "mvc": (("Massage, 60 minutes (motor-vehicle collision)", 90, 100),),
    "wc": (("Massage, 60 minutes (workers' comp)", 90, 100),),
}
VISIT_NOTES = ("", "", "", "", "Neck, shoulders and upper back; less tension at the end.",
               "Low back and hips.", "Full-body relaxation session.",
               "Pain 5/10 before, 3/10 after.", "Calves and hamstrings; race in two weeks.")
OUT_REASONS = (
    "Low back pain not improving after four sessions; asking for an assessment.",
    "Numbness in the fingers; please check for nerve involvement.",
    "Knee pain when running; gait assessment requested.",
    "Ongoing stress and low mood; client asked for someone to talk to.",
    "Jaw clenching and headaches; TMJ evaluation.",
    "Wants help with strength and posture after rehab.",
    "Heel pain every morning; possible plantar fasciitis.",
    "Neck pain after a car accident; spinal assessment.",
)
IN_REASONS = (
    "Neck and shoulder tension; massage as part of care.",
    "Post-surgical scar tissue and stiffness.",
    "Low back pain; soft-tissue work between our visits.",
    "Stress and sleep; relaxation massage recommended.",
    "Whiplash after a motor-vehicle collision.",
    "Work injury, shoulder; workers' compensation case.",
    "Prenatal massage for hip pain.",
    "Runner with tight calves before the marathon.",
)
# fmt: on

# Referral statuses by the referral's age in days: the young ones are still open.
IN_STATUS = (
    (14, (("received", 45), ("accepted", 30), ("seen", 18), ("declined", 4), ("cancelled", 3))),
    (90, (("accepted", 15), ("seen", 30), ("reported", 22), ("closed", 26), ("declined", 3),
          ("cancelled", 4))),
    (None, (("closed", 72), ("reported", 8), ("seen", 7), ("accepted", 3), ("declined", 4),
            ("cancelled", 6))),
)  # fmt: skip
OUT_STATUS = (
    (14, (("draft", 14), ("discussed", 10), ("consented", 10), ("sent", 25), ("received", 15),
          ("accepted", 16), ("declined", 4), ("cancelled", 3), ("no-response", 3))),
    (90, (("sent", 3), ("received", 5), ("no-response", 12), ("accepted", 12), ("seen", 18),
          ("reported", 14), ("closed", 24), ("declined", 6), ("cancelled", 6))),
    (None, (("closed", 54), ("no-response", 12), ("cancelled", 8), ("declined", 7),
            ("reported", 6), ("seen", 4), ("accepted", 2), ("received", 1), ("sent", 1),
            ("draft", 2), ("discussed", 1), ("consented", 2))),
)  # fmt: skip
AT_OR_PAST_SENT = {"sent", "received", "accepted", "declined", "seen", "reported", "closed",
                   "no-response"}  # fmt: skip
AT_OR_PAST_RECEIVED = {"received", "accepted", "declined", "seen", "reported", "closed"}
ANSWERED_OR_CLOSED = {"accepted", "declined", "seen", "reported", "closed"}
CONSENTED_OR_PAST = AT_OR_PAST_SENT | {"consented"}


# --------------------------------------------------------------------------- helpers


_T = TypeVar("_T")


def _table(pairs: Sequence[tuple[_T, float]]) -> tuple[list[_T], list[float]]:
    """Values and cumulative weights, for rng.choices(values, cum_weights=…)."""
    values = [v for v, _ in pairs]
    return values, list(itertools.accumulate(w for _, w in pairs))


def _zipf_cum(n: int, exponent: float) -> list[float]:
    return list(itertools.accumulate(1 / (rank**exponent) for rank in range(1, n + 1)))


_Table = tuple[list[str], list[float]]  # statuses and their cumulative weights


def _by_age(tables: Sequence[tuple[int | None, _Table]], age: int) -> _Table:
    """The (statuses, cumulative weights) for a referral `age` days old."""
    for limit, table in tables:
        if limit is None or age < limit:
            return table
    raise AssertionError("unreachable")


IN_TABLES = [(limit, _table(pairs)) for limit, pairs in IN_STATUS]
OUT_TABLES = [(limit, _table(pairs)) for limit, pairs in OUT_STATUS]


def _chunks(items: Sequence[_T], size: int = BATCH) -> Iterator[Sequence[_T]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


class _Partner(TypedDict):
    """A partner as planned, before its row is written."""

    first: str
    last: str
    professions: list[str]  # slugs, the main one first
    stage: str
    how_met: str
    zip: str
    created: int  # day offset from the start
    created_at: NotRequired[dt.datetime]  # set when its row is made


# A referral as planned: (direction, partner index, client index, status, created, sent,
# received, answered, closed, thanked); the times after `created` are None when not reached.
_Times = tuple[
    str, dt.datetime, dt.datetime | None, dt.datetime | None, dt.datetime | None,
    dt.datetime | None, dt.datetime | None,
]  # fmt: skip
_Referral = tuple[
    str, int, int, str, dt.datetime, dt.datetime | None, dt.datetime | None,
    dt.datetime | None, dt.datetime | None, dt.datetime | None,
]  # fmt: skip


@dataclass
class _Client:
    kind: str
    count: int
    dates: list[dt.date]
    stream: str = ""
    source_partner: int | None = None  # partner index
    source_client: int | None = None  # client index
    created: dt.date | None = None


# --------------------------------------------------------------------------- entry point


def generate(
    *,
    size: str,
    slug: str = DEFAULT_SLUG,
    seed: int = DEFAULT_SEED,
    today: dt.date | None = None,
) -> dict[str, Any]:
    """Create practice `slug` filled with `size` ("small" or "large") made-up data.

    Returns {"practice", "size", "partners", "clients", "visits", "referrals", "seconds",
    "login": {"email", "password"}}. Raises GenerateError for bad input.
    """
    if size not in SIZES:
        raise GenerateError(f"Unknown size '{size}'; use one of: {', '.join(SIZES)}.")
    _check_slugs(slug, [slug])
    result = _generate_one(size=size, slug=slug, seed=seed, today=today)
    fresh_statistics()
    return result


def fresh_statistics() -> None:
    """Planner statistics after a bulk load: without them PostgreSQL guesses a few rows per
    table and picks nested loops over 100,000 referrals (and its autovacuum, when it is on,
    comes minutes later). Outside a transaction PostgreSQL also VACUUMs the tables: their
    visibility map lets a count read an index alone (the referral list's count of 100,000
    referrals, 15 → 4 ms)."""

    if connection.vendor == "postgresql":
        tables = [
            model._meta.db_table
            for label in ("accounts", "directory", "clients", "referrals")
            for model in apps.get_app_config(label).get_models(include_auto_created=True)
        ]
        names = ", ".join(connection.ops.quote_name(t) for t in tables)
        with connection.cursor() as cursor:
            if connection.in_atomic_block:
                cursor.execute("ANALYZE " + names)
            else:
                cursor.execute("VACUUM (ANALYZE) " + names)
    _optimize_sqlite()


def practice_slugs(slug: str, count: int) -> list[str]:
    """SLUG-001 … SLUG-200: the slugs of a multi-practice run, in order."""
    width = max(3, len(str(count)))
    return [f"{slug}-{i:0{width}d}" for i in range(1, count + 1)]


def generate_many(
    *,
    size: str,
    slug: str = DEFAULT_SLUG,
    seed: int = DEFAULT_SEED,
    practices: int | None = None,
    today: dt.date | None = None,
    progress: Callable[[int, int, dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Create `practices` practices SLUG-001, SLUG-002… of one profile, each its own tenant.

    `size` is "xlarge" (the large profile, 200 practices by default) or "small" / "large" (one
    practice by default). Practice i (from 1) is made with seed `seed + i - 1`, so the first is
    the one `generate(seed=seed)` makes and no two are alike. Each practice is written in its
    own transaction and `progress(i, total, result)` is called after each one. Every slug is
    checked before anything is written. Returns {"size", "profile", "practices": [result of
    generate() for each], "seconds"}.
    """
    if size in MULTI:
        profile, default_count = MULTI[size]
    elif size in SIZES:
        profile, default_count = size, 1
    else:
        raise GenerateError(f"Unknown size '{size}'; use one of: {', '.join(CHOICES)}.")
    count = default_count if practices is None else practices
    if count < 1:
        raise GenerateError("--practices must be at least 1.")
    slugs = practice_slugs(slug, count)
    _check_slugs(slug, slugs)
    started = time.perf_counter()
    results = []
    for i, each in enumerate(slugs, start=1):
        result = _generate_one(size=profile, slug=each, seed=seed + i - 1, today=today)
        results.append(result)
        if progress is not None:
            progress(i, count, result)
    fresh_statistics()
    return {
        "size": size,
        "profile": profile,
        "practices": results,
        "seconds": round(time.perf_counter() - started, 2),
    }


def _check_slugs(slug: str, new: Sequence[str]) -> None:
    """`slug` must be a valid slug and none of the `new` ones taken yet."""

    if not slug or slugify(slug) != slug:
        raise GenerateError(f"'{slug}' is not a valid slug (lowercase letters, digits, hyphens).")
    taken = Practice.objects.filter(slug__in=new).order_by("slug").values_list("slug", flat=True)
    if first := taken.first():
        raise GenerateError(
            f"A practice with the slug '{first}' already exists; choose another --practice."
        )


def _generate_one(*, size: str, slug: str, seed: int, today: dt.date | None) -> dict[str, Any]:
    started = time.perf_counter()
    email = f"owner@{slug}.example"
    password = secrets.token_urlsafe(12)
    with transaction.atomic():
        counts = _Builder(
            size=SIZES[size],
            slug=slug,
            rng=random.Random(seed),
            today=today or timezone.localdate(),
        ).build(email=email, password=password)
    return {
        "practice": slug,
        "size": size,
        **counts,
        "seconds": round(time.perf_counter() - started, 2),
        "login": {"email": email, "password": password},
    }


class _Builder:
    def __init__(self, *, size: Size, slug: str, rng: random.Random, today: dt.date) -> None:
        self.size = size
        self.slug = slug
        self.rng = rng
        self.today = today
        self.start = today - dt.timedelta(days=365 * YEARS)
        self.span = (today - self.start).days
        self.now = timezone.now()
        self.tz = timezone.get_current_timezone()

    # ------------------------------------------------------------------ small helpers

    def at(self, day: dt.date, lo: int = 8, hi: int = 18) -> dt.datetime:
        """A moment of office hours on `day`, never in the future."""
        moment = dt.datetime(
            day.year,
            day.month,
            day.day,
            self.rng.randint(lo, hi),
            self.rng.randrange(0, 60, 5),
            tzinfo=self.tz,
        )
        return min(moment, self.now)

    def day(self, offset: int) -> dt.date:
        return self.start + dt.timedelta(days=max(0, min(self.span, offset)))

    def later(self, moment: dt.datetime, lo_hours: float, hi_hours: float) -> dt.datetime:
        return min(moment + dt.timedelta(hours=self.rng.uniform(lo_hours, hi_hours)), self.now)

    def phone(self) -> str:
        return (
            f"({self.rng.choice(('262', '414', '608', '847'))}) 555-01{self.rng.randrange(100):02d}"
        )

    # ------------------------------------------------------------------ build

    def build(self, *, email: str, password: str) -> dict[str, int]:
        if not Profession.objects.exists():
            professions_sync()
        known = set(Profession.objects.filter(is_provider=True).values_list("slug", flat=True))
        self.professions = {s: spec for s, spec in PROFESSIONS.items() if s in known}
        if not self.professions:
            raise GenerateError("The Profession table is empty; run `referwell migrate` first.")

        self.places = {}
        for z in ZIP_CODES:
            centroid, place = zip_centroid(z), zip_place(z)
            if centroid and place:
                self.places[z] = (*centroid, place[0].title(), place[1])
        here = self.places[PRACTICE_ZIP]
        # Nearby ZIP codes are the likelier ones (weight falls with distance).
        self.zip_values, self.zip_cum = _table(
            [(z, 1 / (1 + miles_between(here[:2], p[:2]) / 8)) for z, p in self.places.items()]
        )

        # --- the practice and its owner: the one place that goes through a service
        existing_user = User.objects.filter(email=email).first()
        try:
            practice = practice_create(
                slug=self.slug,
                name=self.slug.replace("-", " ").title(),
                owner_email=email,
                password=password,
                owner_first_name="Owner",
            )
        except AccountError as exc:
            raise GenerateError(str(exc)) from None
        owner = User.objects.get(email=email)
        if existing_user is not None:
            owner.set_password(password)
            owner.save(update_fields=["password"])
        Practice.objects.filter(pk=practice.pk).update(
            city=here[2],
            state=here[3],
            zip_code=PRACTICE_ZIP,
            street="1200 E Moreland Blvd",
            phone="(262) 555-0100",
            email=f"hello@{self.slug}.example",
            created_at=self.at(self.start - dt.timedelta(days=60)),
        )
        self.practice = practice
        self.owner = owner

        # --- plan everything in memory first (dates depend on each other)
        partners = self.plan_partners()
        clients = self.plan_clients()
        referrals = self.plan_referrals(partners, clients)
        for c in clients:
            c.created = min(
                c.created or c.dates[0], c.dates[0] - dt.timedelta(days=self.rng.randint(0, 6))
            )

        with explicit_timestamps(
            Niche, Partner, Touchpoint, Client, Visit, Consent, Referral, ReferralEvent
        ):
            founded = self.at(self.start - dt.timedelta(days=60))
            niche_rows = Niche.objects.bulk_create(
                [
                    Niche(practice=practice, name=name, created_at=founded, updated_at=founded)
                    for name in NICHES
                ]
            )
            partner_ids = self.insert_partners(partners, niche_rows, Partner, Touchpoint)
            client_ids = self.insert_clients(clients, partner_ids, Client)
            visits = self.insert_visits(clients, client_ids, Visit)
            self.insert_referrals(
                referrals, partner_ids, client_ids, partners, Referral, ReferralEvent, Consent
            )
        return {
            "partners": len(partner_ids),
            "clients": len(client_ids),
            "visits": visits,
            "referrals": len(referrals),
        }

    # ------------------------------------------------------------------ partners (plan)

    def plan_partners(self) -> list[_Partner]:
        rng = self.rng
        n = self.size.partners
        combos = len(FIRST_NAMES) * len(LAST_NAMES)
        picks = rng.sample(range(combos), n) if n <= combos else rng.choices(range(combos), k=n)
        prof_values, prof_cum = _table([(s, spec[0]) for s, spec in self.professions.items()])
        stage_values, stage_cum = _table(STAGES)
        how_values, how_cum = _table(HOW_MET)
        partners: list[_Partner] = []
        for pick in picks:
            first, last = FIRST_NAMES[pick // len(LAST_NAMES)], LAST_NAMES[pick % len(LAST_NAMES)]
            profs = [rng.choices(prof_values, cum_weights=prof_cum)[0]]
            if rng.random() < 0.08:
                second = rng.choices(prof_values, cum_weights=prof_cum)[0]
                if second != profs[0]:
                    profs.append(second)
            stage = rng.choices(stage_values, cum_weights=stage_cum)[0]
            partners.append(
                {
                    "first": first,
                    "last": last,
                    "professions": profs,
                    "stage": stage,
                    "how_met": (
                        rng.choice(("", "registry", "web"))
                        if stage == "prospect"
                        else rng.choices(how_values, cum_weights=how_cum)[0]
                    ),
                    "zip": rng.choices(self.zip_values, cum_weights=self.zip_cum)[0],
                    "created": rng.randint(0, self.span),  # day offset, moved earlier below
                }
            )
        # The referral order: trusted partners first, then met…, shuffled within a stage.
        keys = [(STAGE_RANK[p["stage"]], rng.random()) for p in partners]
        order = sorted(range(n), key=keys.__getitem__)
        # Referrals in come from anyone but a prospect; we send only to partners we have met
        # or at least contacted (and, in the past, to some who turned out not to be a fit).
        self.senders = [i for i in order if partners[i]["stage"] in SENDER_STAGES] or order
        self.receivers = [i for i in order if partners[i]["stage"] in RECEIVER_STAGES] or order
        return partners

    def pick_partner(self, order: list[int], cum: list[float]) -> int:
        """A partner index drawn by Zipf rank over `order`."""
        rank = bisect.bisect_right(cum, self.rng.random() * cum[-1])
        return order[min(rank, len(order) - 1)]

    # ------------------------------------------------------------------ clients (plan)

    def visit_counts(self, n: int, total: int) -> list[int]:
        """Long tail: many clients come 1–3 times, some monthly, a few weekly for years."""
        rng = self.rng
        cap = self.span // 7
        counts = []
        for cat in rng.choices(range(4), weights=(45, 35, 15, 5), k=n):
            if cat == 0:
                counts.append(rng.choices((1, 2, 3), weights=(5, 3, 2))[0])
            elif cat == 1:
                counts.append(rng.randint(4, 15))
            elif cat == 2:
                counts.append(rng.randint(16, 49))
            else:
                counts.append(min(cap, int(50 * rng.paretovariate(1.6))))
        diff = total - sum(counts)
        while diff:
            # The regulars absorb the difference (weighted by what they have).
            for i in rng.choices(range(n), weights=counts, k=min(abs(diff), n)):
                if diff > 0 and counts[i] < cap:
                    counts[i] += 1
                    diff -= 1
                elif diff < 0 and counts[i] > 1:
                    counts[i] -= 1
                    diff += 1
                if not diff:
                    break
        return counts

    def visit_dates(self, count: int) -> list[dt.date]:
        rng = self.rng
        if count <= 3:
            gap = rng.uniform(30, 240)
        elif count <= 15:
            gap = rng.uniform(21, 80)
        elif count <= 49:
            gap = rng.uniform(10, 30)
        else:
            gap = rng.uniform(6, 9)
        if count > 1:
            gap = min(gap, self.span / (count - 1))
        first = rng.uniform(0, self.span - gap * (count - 1))
        offsets = sorted(
            max(0, min(self.span, round(first + k * gap + rng.uniform(-2, 2))))
            for k in range(count)
        )
        return [self.start + dt.timedelta(days=o) for o in offsets]

    def plan_clients(self) -> list[_Client]:
        rng = self.rng
        # Accident and work-injury clients mostly come for a plan of 4–40 visits.
        plan_kinds = _table([(k, v[0][0]) for k, v in CLIENT_KINDS.items()])
        other_kinds = _table([(k, v[0][1]) for k, v in CLIENT_KINDS.items()])
        stream_values, stream_cum = _table(STREAMS)
        zipf = _zipf_cum(len(self.senders), 1.1)
        clients = []
        for count in self.visit_counts(self.size.clients, self.size.visits):
            values, cum = plan_kinds if 4 <= count <= 40 else other_kinds
            kind = rng.choices(values, cum_weights=cum)[0]
            c = _Client(kind=kind, count=count, dates=self.visit_dates(count))
            if kind in CLIENT_INSURANCE and rng.random() < 0.8:
                c.stream = "medical"
            else:
                c.stream = rng.choices(stream_values, cum_weights=stream_cum)[0]
            if c.stream == "medical":
                c.source_partner = self.pick_partner(self.senders, zipf)
            clients.append(c)
        # A client recommended by a client who came before.
        by_first = sorted(range(len(clients)), key=lambda i: clients[i].dates[0])
        for pos, i in enumerate(by_first):
            if clients[i].stream == "current_clients":
                if pos == 0:
                    clients[i].stream = "walk_in_web"
                else:
                    clients[i].source_client = by_first[rng.randrange(pos)]
        return clients

    # ------------------------------------------------------------------ referrals (plan)

    def plan_referrals(self, partners: list[_Partner], clients: list[_Client]) -> list[_Referral]:
        """(direction, partner index, client index, status, created, sent, received, answered,
        closed, thanked) for every referral, in date order."""
        rng = self.rng
        n_in = round(self.size.referrals * 0.4)
        n_out = self.size.referrals - n_in
        zipf_in = _zipf_cum(len(self.senders), 1.1)
        zipf_out = _zipf_cum(len(self.receivers), 1.0)
        visit_cum = list(itertools.accumulate(c.count for c in clients))
        by_source: dict[int, list[int]] = {}
        for i, c in enumerate(clients):
            if c.source_partner is not None:
                by_source.setdefault(c.source_partner, []).append(i)

        def any_client() -> int:
            """A client, the regulars likelier (weighted by visits)."""
            return bisect.bisect_right(visit_cum, rng.random() * visit_cum[-1])

        plan_in: list[tuple[int, int, dt.date]] = []
        # The referral that brought each medical client, a few days before the first visit.
        for i, c in enumerate(clients):
            if c.source_partner is not None and len(plan_in) < n_in:
                day = c.dates[0] - dt.timedelta(days=rng.randint(1, 10))
                plan_in.append((c.source_partner, i, max(day, self.start)))
        # Renewals and further referrals, mostly from the top referrers.
        while len(plan_in) < n_in:
            p = self.pick_partner(self.senders, zipf_in)
            own = by_source.get(p)
            i = rng.choice(own) if own and rng.random() < 0.6 else any_client()
            day = rng.choice(clients[i].dates) - dt.timedelta(days=rng.randint(0, 14))
            plan_in.append((p, i, max(day, self.start)))
        plan_out = []
        for _ in range(n_out):
            i = any_client()
            plan_out.append(
                (self.pick_partner(self.receivers, zipf_out), i, rng.choice(clients[i].dates))
            )

        rows: list[_Referral] = []
        for p, i, day in plan_in:
            rows.append(("in", p, i, *self.in_times(day)))
        for p, i, day in plan_out:
            rows.append(("out", p, i, *self.out_times(day)))
        rows.sort(key=lambda r: r[4])
        # A partner is in the list before its first referral; a client before theirs.
        for row in rows:
            first = (row[4].date() - self.start).days - rng.randint(1, 30)
            partner = partners[row[1]]
            partner["created"] = min(partner["created"], first)
            client = clients[row[2]]
            if row[0] == "in" and (client.created is None or row[4].date() < client.created):
                client.created = row[4].date()
        for c in clients:
            if c.source_partner is not None:
                first = (c.dates[0] - self.start).days - rng.randint(1, 30)
                partners[c.source_partner]["created"] = min(
                    partners[c.source_partner]["created"], first
                )
        return rows

    def in_times(self, day: dt.date) -> _Times:
        rng = self.rng
        values, cum = _by_age(IN_TABLES, (self.today - day).days)
        status = rng.choices(values, cum_weights=cum)[0]
        created = self.at(day)
        closed = None
        if status == "closed":
            closed = self.later(created, 24 * 20, 24 * 120)
        elif status == "cancelled":
            closed = self.later(created, 24 * 1, 24 * 20)
        thanked = None
        if rng.random() < 0.88:
            thanked = self.later(created, 20, 24 * 5)
            if thanked >= self.now:
                thanked = None  # still owed
        # received_at is when it arrived; answered_at is for referrals out only.
        return status, created, None, created, None, closed, thanked

    def out_times(self, day: dt.date) -> _Times:
        rng = self.rng
        values, cum = _by_age(OUT_TABLES, (self.today - day).days)
        status = rng.choices(values, cum_weights=cum)[0]
        created = self.at(day, 9, 19)
        sent = received = answered = closed = None
        if status in AT_OR_PAST_SENT or (status == "cancelled" and rng.random() < 0.5):
            sent = self.later(created, 1, 72)
            if status == "no-response" and (self.now - sent).days < 8:
                status = "sent"  # the sweep has not had its five business days yet
        # Each status below was reached through the one before: its time is set.
        if status in AT_OR_PAST_RECEIVED:
            assert sent is not None
            received = self.later(sent, 2, 72)
        if status in ANSWERED_OR_CLOSED:
            assert received is not None
            answered = self.later(received, 4, 24 * 6)
        if status == "closed":
            assert answered is not None
            closed = self.later(answered, 24 * 7, 24 * 60)
        elif status == "cancelled":
            closed = self.later(sent or created, 24, 24 * 20)
        return status, created, sent, received, answered, closed, None

    # ------------------------------------------------------------------ inserts

    def insert_partners(
        self,
        partners: list[_Partner],
        niches: list[Niche],
        Partner: type[Partner],
        Touchpoint: type[Touchpoint],
    ) -> list[int]:
        rng = self.rng
        practice = self.practice
        rows = []
        for p in partners:
            z = p["zip"]
            lat, lon, city, state = self.places[z]
            slug = p["professions"][0]
            _, creds, clinic_kind, specialties = self.professions[slug]
            stage = p["stage"]
            # May be a few weeks before the three years: the first referral needs its partner.
            created = self.at(self.start + dt.timedelta(days=min(p["created"], self.span)))
            p["created_at"] = created
            clinic = f"{rng.choice(CLINIC_WORDS)} {clinic_kind}"
            domain = "".join(ch for ch in clinic.lower() if ch.isalnum()) + ".example"
            trusted, met = stage == "trusted", stage in ("trusted", "met")
            rows.append(
                Partner(
                    practice_id=practice.pk,
                    name=f"{p['first']} {p['last']}",
                    credentials=rng.choice(creds),
                    specialties=", ".join(rng.sample(specialties, min(2, len(specialties)))),
                    clinic=clinic,
                    street=f"{rng.randint(100, 19999)} {rng.choice(STREETS)}",
                    city=city,
                    state=state,
                    zip_code=z,
                    latitude=round(lat + rng.uniform(-0.01, 0.01), 6),
                    longitude=round(lon + rng.uniform(-0.01, 0.01), 6),
                    phone=self.phone(),
                    email=f"{p['first'][0].lower()}{p['last'].lower()}@{domain}",
                    website=f"https://{domain}/" if rng.random() < 0.8 else "",
                    languages="English" if rng.random() < 0.85 else "English, Spanish",
                    insurance_accepted=", ".join(rng.sample(INSURERS, rng.randint(1, 4))),
                    how_met=p["how_met"],
                    stage=stage,
                    not_a_fit_reason=rng.choice(NOT_A_FIT) if stage == "not_a_fit" else "",
                    website_reviewed=stage != "prospect",
                    values_fit=trusted or (met and rng.random() < 0.5),
                    would_send_mother=trusted and rng.random() < 0.8,
                    visited_as_client=trusted and rng.random() < 0.4,
                    created_at=created,
                    updated_at=created,
                )
            )
        ids = []
        for chunk in _chunks(rows):
            ids += [row.pk for row in Partner.objects.bulk_create(chunk, batch_size=BATCH)]

        # professions and niches (the M2M through tables)
        PP = Partner.professions.through
        PN = Partner.niches.through
        prof_links, niche_links = [], []
        for pid, p in zip(ids, partners, strict=True):
            for slug in p["professions"]:
                prof_links.append(PP(partner_id=pid, profession_id=slug))
            fits = NICHE_FIT.get(p["professions"][0], ())
            if fits and rng.random() < 0.55:
                for k in rng.sample(fits, 2 if len(fits) > 1 and rng.random() < 0.2 else 1):
                    niche_links.append(PN(partner_id=pid, niche_id=niches[k].pk))
        PP.objects.bulk_create(prof_links, batch_size=BATCH)
        PN.objects.bulk_create(niche_links, batch_size=BATCH)

        # touchpoints: ~2 per partner, many more with the trusted ones
        kind_values, kind_cum = _table(TOUCH_KINDS)
        touch = []
        for pid, p in zip(ids, partners, strict=True):
            mean = TOUCHPOINTS_MEAN[p["stage"]]
            k = int(mean * 2 * rng.random() + 0.5) if p["created"] < self.span else 0
            first = min(self.span, max(0, p["created"] + 1))  # the day after it was added
            for _ in range(k):
                when = self.day(rng.randint(first, self.span))
                moment = self.at(when)
                touch.append(
                    Touchpoint(
                        practice_id=self.practice.pk,
                        partner_id=pid,
                        kind=rng.choices(kind_values, cum_weights=kind_cum)[0],
                        date=when,
                        note=rng.choice(TOUCH_NOTES),
                        by_id=self.owner.pk,
                        created_at=moment,
                        updated_at=moment,
                    )
                )
            if len(touch) >= BATCH:
                Touchpoint.objects.bulk_create(touch, batch_size=BATCH)
                touch = []
        Touchpoint.objects.bulk_create(touch, batch_size=BATCH)
        return ids

    def insert_clients(
        self, clients: list[_Client], partner_ids: list[int], Client: type[Client]
    ) -> list[int]:
        rng = self.rng
        rows = []
        for c in clients:
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            assert c.created is not None  # set by build() for every client
            created = self.at(c.created, 7, 7)  # before the day's referrals and visits
            birth = self.today - dt.timedelta(days=rng.randint(18 * 365, 85 * 365))
            source_name = ""
            if c.stream == "people_you_know":
                source_name = rng.choice(PEOPLE)
            elif c.stream == "business":
                source_name = rng.choice(BUSINESSES)
            rows.append(
                Client(
                    practice_id=self.practice.pk,
                    first_name=first,
                    last_name=last,
                    email=f"{first.lower()}.{last.lower()}{rng.randrange(100)}@mail.example",
                    phone=self.phone(),
                    date_of_birth=birth,
                    zip_code=rng.choices(self.zip_values, cum_weights=self.zip_cum)[0],
                    insurance=CLIENT_INSURANCE.get(c.kind, ""),
                    complaints=rng.choice(CLIENT_KINDS[c.kind][1]),
                    goals=rng.choice(GOALS),
                    stream=c.stream,
                    source_partner_id=(
                        partner_ids[c.source_partner] if c.source_partner is not None else None
                    ),
                    source_name=source_name,
                    first_seen=c.dates[0],
                    may_tell_referrer=c.stream in ("medical", "current_clients")
                    and rng.random() < 0.8,
                    created_at=created,
                    updated_at=created,
                )
            )
        ids = []
        for chunk in _chunks(rows):
            ids += [row.pk for row in Client.objects.bulk_create(chunk, batch_size=BATCH)]
        # Clients recommended by another client: now that every client has an id.
        recommended = []
        for row, c in zip(rows, clients, strict=True):
            if c.source_client is not None:
                row.source_client_id = ids[c.source_client]
                recommended.append(row)
        Client.objects.bulk_update(recommended, ["source_client"], batch_size=1000)
        return ids

    def insert_visits(
        self, clients: list[_Client], client_ids: list[int], Visit: type[Visit]
    ) -> int:
        rng = self.rng
        services = {
            kind: _table([((name, fee), w) for name, fee, w in options])
            for kind, options in SERVICES.items()
        }
        fees: dict[int, Decimal] = {}
        batch, total = [], 0
        for cid, c in zip(client_ids, clients, strict=True):
            values, cum = services[c.kind]
            for day in c.dates:
                name, base = rng.choices(values, cum_weights=cum)[0]
                fee = base + 5 * min(YEARS - 1, (day - self.start).days // 365)
                if fee not in fees:
                    fees[fee] = Decimal(fee).quantize(Decimal("0.01"))
                moment = dt.datetime(day.year, day.month, day.day, 19, tzinfo=self.tz)
                batch.append(
                    Visit(
                        practice_id=self.practice.pk,
                        client_id=cid,
                        date=day,
                        service=name,
                        fee=fees[fee],
                        notes=rng.choice(VISIT_NOTES),
                        created_at=moment,
                        updated_at=moment,
                    )
                )
            if len(batch) >= BATCH:
                Visit.objects.bulk_create(batch, batch_size=BATCH)
                total += len(batch)
                batch = []
        Visit.objects.bulk_create(batch, batch_size=BATCH)
        return total + len(batch)

    def insert_referrals(
        self,
        rows: list[_Referral],
        partner_ids: list[int],
        client_ids: list[int],
        partners: list[_Partner],
        Referral: type[Referral],
        ReferralEvent: type[ReferralEvent],
        Consent: type[Consent],
    ) -> None:
        rng = self.rng
        consented: set[tuple[int, int | None]] = set()
        for chunk in _chunks(rows):
            referrals = []
            for (
                direction,
                p,
                i,
                status,
                created,
                sent,
                received,
                answered,
                closed,
                thanked,
            ) in chunk:
                last = max(t for t in (created, sent, received, answered, closed) if t)
                is_in = direction == "in"
                reasons = rng.choice(IN_REASONS if is_in else OUT_REASONS)
                valid = is_in and rng.random() < 0.25
                interval = 30 if is_in and rng.random() < 0.2 else None
                referrals.append(
                    Referral(
                        practice_id=self.practice.pk,
                        direction=direction,
                        client_id=client_ids[i],
                        partner_id=partner_ids[p],
                        profession_id=partners[p]["professions"][0],
                        reasons=reasons,
                        status=status,
                        valid_until=(created + dt.timedelta(days=rng.randint(60, 180))).date()
                        if valid
                        else None,
                        valid_visits=rng.randint(6, 12) if valid else None,
                        report_interval_days=interval,
                        last_report_at=(
                            self.later(created, 24 * 14, 24 * 30)
                            if interval and status in ("reported", "closed")
                            else None
                        ),
                        thanked_at=thanked,
                        received_at=received,
                        answered_at=answered,
                        sent_at=sent,
                        closed_at=closed,
                        followup_done_at=(
                            self.later(sent, 24 * 7, 24 * 10)
                            # (a referral with no response was sent: `sent` is set)
                            if sent is not None and status == "no-response" and rng.random() < 0.5
                            else None
                        ),
                        created_by_id=None if is_in else self.owner.pk,
                        created_at=created,
                        updated_at=last,
                    )
                )
            Referral.objects.bulk_create(referrals, batch_size=BATCH)
            events, consents = [], []
            for r in referrals:
                events.append(
                    ReferralEvent(
                        practice_id=self.practice.pk,
                        referral_id=r.pk,
                        from_status="",
                        to_status=r.status,
                        at=r.updated_at,
                        by_id=r.created_by_id,
                        created_at=r.updated_at,
                        updated_at=r.updated_at,
                    )
                )
                pair = (r.client_id, r.partner_id)
                if r.direction == "out" and r.status in CONSENTED_OR_PAST and pair not in consented:
                    consented.add(pair)
                    consents.append(
                        Consent(
                            practice_id=self.practice.pk,
                            client_id=r.client_id,
                            partner_id=r.partner_id,
                            # Sent or later: a letter went out, which needs written consent.
                            scope="report" if r.status in AT_OR_PAST_SENT else "talk",
                            purpose="Referral: " + r.reasons[:150],
                            given_on=r.created_at.date(),
                            created_at=r.created_at,
                            updated_at=r.created_at,
                        )
                    )
            ReferralEvent.objects.bulk_create(events, batch_size=BATCH)
            Consent.objects.bulk_create(consents, batch_size=BATCH)
