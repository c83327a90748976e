"""Ranking the practice's partners for a suggested profession — every score explained.

Pure Python over plain data (PartnerFacts), so it is fast and testable without a database;
guidance/selectors.py builds the facts from the database in a fixed number of queries.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass, field

STAGE_TRUST = {
    "trusted": 1.0,
    "met": 0.7,
    "contacted": 0.4,
    "researched": 0.3,
    "prospect": 0.2,
}
STAGE_WORDS = {
    "trusted": "trusted",
    "met": "met in person",
    "contacted": "contacted, not met yet",
    "researched": "researched only",
    "prospect": "a prospect",
}
WEIGHTS = {
    "trust": 0.30,
    "responsiveness": 0.20,
    "distance": 0.20,
    "fit": 0.15,
    "insurance": 0.05,
    "reciprocity": 0.10,
}


@dataclass(frozen=True)
class PartnerFacts:
    id: int
    name: str
    professions: frozenset[str]
    stage: str
    latitude: float | None = None
    longitude: float | None = None
    niches: frozenset[str] = frozenset()
    modalities: frozenset[str] = frozenset()  # lower-case specialties / modalities
    insurance: frozenset[str] = frozenset()  # lower-case plan names
    vetting_done: int = 0  # of the four checklist items
    referrals_sent: int = 0  # our referrals to them that were sent
    referrals_answered: int = 0  # of those, the ones they acknowledged (accepted, declined, …)
    referrals_received: int = 0  # clients they sent us
    median_answer_days: float | None = None  # how fast they acknowledge


@dataclass(frozen=True)
class ClientContext:
    latitude: float | None = None
    longitude: float | None = None
    niches: frozenset[str] = frozenset()  # practice niches the client belongs to
    insurance: str = ""
    wanted_modalities: frozenset[str] = frozenset()  # e.g. {"lymphatic drainage"}
    practice_modalities: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Component:
    name: str
    score: float  # 0..1
    weight: float
    why: str


@dataclass
class RankedPartner:
    partner_id: int
    name: str
    score: float
    components: list[Component] = field(default_factory=list)

    @property
    def summary(self) -> str:
        best = sorted(self.components, key=lambda c: c.score * c.weight, reverse=True)[:3]
        return "; ".join(c.why for c in best)


def _miles(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 3958.8 * 2 * math.asin(math.sqrt(h))


def _components(p: PartnerFacts, profession: str, ctx: ClientContext) -> list[Component]:
    trust = min(1.0, STAGE_TRUST.get(p.stage, 0.0) + 0.05 * p.vetting_done)
    out = [
        Component(
            "trust",
            trust,
            WEIGHTS["trust"],
            f"{STAGE_WORDS.get(p.stage, p.stage)}, vetting {p.vetting_done}/4",
        )
    ]
    if p.referrals_sent:
        rate = p.referrals_answered / p.referrals_sent
        why = f"answered {p.referrals_answered} of {p.referrals_sent} referrals"
        if p.median_answer_days is not None:
            why += f", in a median of {p.median_answer_days:g} days"
            # Slow answers count for less: a week or more halves the score.
            rate *= 1 / (1 + max(0.0, p.median_answer_days - 2) / 5)
    else:
        rate, why = 0.5, "no referral sent yet: responsiveness unknown"
    out.append(Component("responsiveness", rate, WEIGHTS["responsiveness"], why))
    if (
        p.latitude is not None
        and p.longitude is not None
        and ctx.latitude is not None
        and ctx.longitude is not None
    ):
        miles = _miles(ctx.latitude, ctx.longitude, p.latitude, p.longitude)
        out.append(
            Component(
                "distance",
                1 / (1 + miles / 10),
                WEIGHTS["distance"],
                f"{miles:.1f} miles from the client",
            )
        )
    else:
        out.append(Component("distance", 0.5, WEIGHTS["distance"], "distance unknown"))
    out.append(_fit(p, profession, ctx))
    if ctx.insurance:
        takes = any(
            ctx.insurance.lower() in plan or plan in ctx.insurance.lower() for plan in p.insurance
        )
        out.append(
            Component(
                "insurance",
                1.0 if takes else 0.0,
                WEIGHTS["insurance"],
                f"takes {ctx.insurance}" if takes else f"not known to take {ctx.insurance}",
            )
        )
    else:
        out.append(Component("insurance", 0.5, WEIGHTS["insurance"], "client's insurance unknown"))
    recip = min(1.0, p.referrals_received / 3)
    why = (
        f"sent us {p.referrals_received} client{'s' if p.referrals_received != 1 else ''}"
        if p.referrals_received
        else "has not referred to us yet"
    )
    out.append(Component("reciprocity", recip, WEIGHTS["reciprocity"], why))
    return out


def _fit(p: PartnerFacts, profession: str, ctx: ClientContext) -> Component:
    if profession == "massage-therapist":
        # Another massage therapist must complement the practice, not compete with it.
        offers_wanted = ctx.wanted_modalities & p.modalities
        own = p.modalities - ctx.practice_modalities
        if offers_wanted:
            return Component(
                "fit", 1.0, WEIGHTS["fit"], f"offers {', '.join(sorted(offers_wanted))}"
            )
        if p.modalities and not own:
            return Component(
                "fit",
                0.0,
                WEIGHTS["fit"],
                "offers only what you offer: competing, not complementary",
            )
        if own:
            return Component(
                "fit", 0.6, WEIGHTS["fit"], f"complementary: {', '.join(sorted(own)[:3])}"
            )
        return Component("fit", 0.3, WEIGHTS["fit"], "modalities unknown")
    shared = ctx.niches & p.niches
    if shared:
        return Component(
            "fit", 1.0, WEIGHTS["fit"], f"serves your {', '.join(sorted(shared))} niche"
        )
    if p.niches:
        return Component("fit", 0.4, WEIGHTS["fit"], f"serves {', '.join(sorted(p.niches)[:2])}")
    return Component("fit", 0.3, WEIGHTS["fit"], "no niche recorded")


def _score(p: PartnerFacts, profession: str, ctx: ClientContext) -> float:
    """The sum of `_components` weighted, without the words: every partner is scored, only the
    best few are explained (tests hold the two equal)."""
    trust = min(1.0, STAGE_TRUST.get(p.stage, 0.0) + 0.05 * p.vetting_done)
    if p.referrals_sent:
        rate = p.referrals_answered / p.referrals_sent
        if p.median_answer_days is not None:
            rate *= 1 / (1 + max(0.0, p.median_answer_days - 2) / 5)
    else:
        rate = 0.5
    if (
        p.latitude is not None
        and p.longitude is not None
        and ctx.latitude is not None
        and ctx.longitude is not None
    ):
        near = 1 / (1 + _miles(ctx.latitude, ctx.longitude, p.latitude, p.longitude) / 10)
    else:
        near = 0.5
    if ctx.insurance:
        plan = ctx.insurance.lower()
        takes = 1.0 if any(plan in mine or mine in plan for mine in p.insurance) else 0.0
    else:
        takes = 0.5
    return (
        trust * WEIGHTS["trust"]
        + rate * WEIGHTS["responsiveness"]
        + near * WEIGHTS["distance"]
        + _fit(p, profession, ctx).score * WEIGHTS["fit"]
        + takes * WEIGHTS["insurance"]
        + min(1.0, p.referrals_received / 3) * WEIGHTS["reciprocity"]
    )


def rank_each(
    partners: list[PartnerFacts], professions: list[str], ctx: ClientContext, limit: int = 5
) -> dict[str, list[RankedPartner]]:
    """The best partners of each profession for this client, best first; not-a-fit excluded.
    One pass over the network sorts the partners by profession; each is scored, and only the
    best `limit` of a profession get their explained components."""
    groups: dict[str, list[PartnerFacts]] = {slug: [] for slug in professions}
    wanted = frozenset(professions)
    for p in partners:
        if p.stage in STAGE_TRUST:
            for slug in p.professions & wanted:
                groups[slug].append(p)
    ranked: dict[str, list[RankedPartner]] = {}
    for slug, group in groups.items():
        scored = [(round(_score(p, slug, ctx), 3), p) for p in group]
        best = heapq.nsmallest(limit, scored, key=lambda sp: (-sp[0], sp[1].name))
        ranked[slug] = [
            RankedPartner(p.id, p.name, score, _components(p, slug, ctx)) for score, p in best
        ]
    return ranked


def rank(
    partners: list[PartnerFacts], profession: str, ctx: ClientContext, limit: int = 5
) -> list[RankedPartner]:
    """The best partners of one profession for this client, best first; not-a-fit excluded."""
    return rank_each(partners, [profession], ctx, limit)[profession]
