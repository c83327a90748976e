"""The outreach pipeline: prospects by stage, each with a score shown with its parts, and the
niches the practice serves with the professions that cover them (or are missing)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, NamedTuple, TypedDict

from django.db.models import Count, Prefetch, Q

from referwell.accounts.models import Practice
from referwell.core.geo import miles_between, zip_centroid
from referwell.directory.models import Niche, Partner, Stage
from referwell.guidance.kb import load
from referwell.outreach.models import ContactPlan
from referwell.referrals.models import Direction

if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations

BOARD_STAGES: list[str] = [
    Stage.PROSPECT,
    Stage.RESEARCHED,
    Stage.CONTACTED,
    Stage.MET,
    Stage.TRUSTED,
]
# Who tends to send clients to a massage therapist (article 003's medical stream first).
LIKELY = {
    "chiropractor": 1.0, "physical-therapist": 1.0, "primary-care-physician": 1.0,
    "orthopedic-surgeon": 0.9, "sports-medicine-physician": 0.9, "obstetrician-gynecologist": 0.9,
    "midwife-doula": 0.9, "podiatrist": 0.8, "osteopath": 0.8, "occupational-therapist": 0.8,
    "acupuncturist": 0.7, "naturopath": 0.7, "psychotherapist": 0.7, "psychologist": 0.6,
    "fertility-specialist": 0.7, "personal-trainer": 0.7, "athletic-trainer": 0.8,
    "nutritionist": 0.6, "exercise-physiologist": 0.6, "massage-therapist": 0.5,
}  # fmt: skip
WEIGHTS = {"likely": 0.30, "niche": 0.20, "distance": 0.20, "values": 0.20, "mutual": 0.10}


@dataclass(frozen=True)
class Part:
    name: str
    score: float
    weight: float
    why: str


class _Counts(TypedDict):
    """What the board counts for each partner."""

    referrals_in: int  # the clients they sent us
    mutual_clients: int  # the clients referred either way


@dataclass
class Card:
    partner: Partner
    score: float
    parts: list[Part] = field(default_factory=list)
    next_plan: ContactPlan | None = None  # the next open contact plan, if any


def niche_professions() -> dict[str, set[str]]:
    """For each niche word of the knowledge base, the professions its findings call for."""
    out: dict[str, set[str]] = {}
    for cf in load().findings:
        for word in cf.finding.niche_words:
            out.setdefault(word[:5].lower(), set()).update(
                p for p in cf.finding.professions if p != "emergency-care"
            )
    return out


def professions_for_niche(name: str) -> set[str]:
    table = niche_professions()
    words = [w[:5].lower() for w in name.replace("-", " ").split() if len(w) >= 4]
    found: set[str] = set()
    for w in words:
        found |= table.get(w, set())
    return found


def _parts(
    p: WithAnnotations[Partner, _Counts],
    *,
    origin: tuple[float, float] | None,
    niche_slugs: set[str],
    practice_niches: set[str],
) -> list[Part]:
    slugs = {x.slug for x in p.professions.all()}
    likely = max((LIKELY.get(s, 0.4) for s in slugs), default=0.3)
    why = "a profession that often refers" if likely >= 0.8 else "refers now and then"
    if p.referrals_in:
        likely, why = (
            1.0,
            f"already sent you {p.referrals_in} client{'s' if p.referrals_in > 1 else ''}",
        )
    parts = [Part("likely to refer", likely, WEIGHTS["likely"], why)]
    shared = practice_niches & {n.name for n in p.niches.all()}
    if shared:
        parts.append(
            Part("niche fit", 1.0, WEIGHTS["niche"], f"serves your {', '.join(sorted(shared))}")
        )
    elif slugs & niche_slugs:
        parts.append(Part("niche fit", 0.6, WEIGHTS["niche"], "a profession your niches need"))
    else:
        parts.append(Part("niche fit", 0.2, WEIGHTS["niche"], "outside your niches"))
    if origin and p.latitude is not None and p.longitude is not None:  # geocoded together
        miles = miles_between(origin, (p.latitude, p.longitude))
        parts.append(
            Part("distance", 1 / (1 + miles / 10), WEIGHTS["distance"], f"{miles:.1f} miles away")
        )
    else:
        parts.append(Part("distance", 0.5, WEIGHTS["distance"], "distance unknown"))
    checks = [p.website_reviewed, p.values_fit, p.would_send_mother, p.visited_as_client]
    parts.append(Part("values fit", sum(checks) / 4, WEIGHTS["values"], f"vetting {sum(checks)}/4"))
    mutual = p.mutual_clients
    parts.append(
        Part(
            "mutual contacts",
            min(1.0, mutual / 3),
            WEIGHTS["mutual"],
            f"{mutual} client{'s' if mutual != 1 else ''} in common"
            if mutual
            else "no client in common yet",
        )
    )
    return parts


def board(*, practice: Practice) -> dict[str, list[Card]]:
    """Partners by stage, best score first; a fixed number of queries."""
    origin = zip_centroid(practice.zip_code) if practice.zip_code else None
    practice_niches = [n.name for n in Niche.objects.for_practice(practice)]
    niche_slugs: set[str] = set()
    for name in practice_niches:
        niche_slugs |= professions_for_niche(name)
    partners = (
        Partner.objects.for_practice(practice)
        .annotate(
            referrals_in=Count(
                "referrals", filter=Q(referrals__direction=Direction.IN), distinct=True
            ),
            mutual_clients=Count("referrals__client", distinct=True),
        )
        .prefetch_related(
            "professions",
            "niches",
            # Only the open plans: the board shows each partner's next one.
            Prefetch(
                "contact_plans",
                queryset=ContactPlan.objects.for_practice(practice).filter(done_on__isnull=True),
            ),
        )
    )
    columns: dict[str, list[Card]] = {s: [] for s in [*BOARD_STAGES, Stage.NOT_A_FIT]}
    for p in partners:
        parts = _parts(
            p, origin=origin, niche_slugs=niche_slugs, practice_niches=set(practice_niches)
        )
        next_plan = next((c for c in p.contact_plans.all() if c.done_on is None), None)
        score = round(sum(x.score * x.weight for x in parts) * 100)
        columns[p.stage].append(Card(p, score, parts, next_plan))
    for cards in columns.values():
        cards.sort(key=lambda c: (-c.score, c.partner.name))
    return columns


class PartnerRef(NamedTuple):
    pk: int
    name: str


@dataclass
class NicheCoverage:
    niche: Niche
    covered: list[tuple[str, list[PartnerRef]]]  # profession name, trusted partners in the niche
    partly: list[tuple[str, list[PartnerRef]]]  # trusted partners of the profession, not tagged
    gaps: list[str]


def niche_coverage(*, practice: Practice) -> list[NicheCoverage]:
    kb = load()
    niches = list(Niche.objects.for_practice(practice))
    needed = {niche.pk: professions_for_niche(niche.name) for niche in niches}
    wanted = set().union(*needed.values()) if needed else set()
    if not wanted:
        return [NicheCoverage(niche, [], [], []) for niche in niches]
    # The trusted partners' professions and niches as pairs of keys (a large network has
    # hundreds of trusted partners: no model instance, no prefetch per partner).
    trusted = Partner.objects.for_practice(practice).filter(stage=Stage.TRUSTED)
    slugs: dict[int, set[str]] = defaultdict(set)
    for partner_id, slug in Partner.professions.through.objects.filter(
        partner__in=trusted, profession_id__in=wanted
    ).values_list("partner_id", "profession_id"):
        slugs[partner_id].add(slug)
    tagged: dict[int, set[int]] = defaultdict(set)
    for partner_id, niche_id in Partner.niches.through.objects.filter(
        partner__in=trusted, niche__in=niches
    ).values_list("partner_id", "niche_id"):
        tagged[partner_id].add(niche_id)
    facts = [
        (PartnerRef(pk, name), slugs[pk], tagged[pk])
        for pk, name in trusted.filter(pk__in=list(slugs)).values_list("pk", "name")
    ]
    out = []
    for niche in niches:
        covered, partly, gaps = [], [], []
        for slug in sorted(needed[niche.pk]):
            name = kb.professions[slug].name
            of_prof = [(p, niches) for p, slugs_, niches in facts if slug in slugs_]
            in_niche = [p for p, niches in of_prof if niche.pk in niches]
            if in_niche:
                covered.append((name, in_niche))
            elif of_prof:
                partly.append((name, [p for p, _ in of_prof]))
            else:
                gaps.append(name)
        out.append(NicheCoverage(niche, covered, partly, gaps))
    return out
