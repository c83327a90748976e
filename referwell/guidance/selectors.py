"""Reads that feed the guidance engine from the database; the engine itself stays pure."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace

from django.db.models import Count, Q

from referwell.accounts.kept import Kept
from referwell.accounts.models import Practice
from referwell.clients.models import Client
from referwell.core.geo import zip_centroid
from referwell.directory.models import Niche, Partner, Stage
from referwell.directory.selectors import responsiveness_for
from referwell.guidance.engine import Intake, Result, suggest
from referwell.guidance.ranking import ClientContext, PartnerFacts, RankedPartner, rank_each
from referwell.referrals.models import Direction
from referwell.referrals.states import Status

ANSWERED = [
    Status.RECEIVED,
    Status.ACCEPTED,
    Status.DECLINED,
    Status.SEEN,
    Status.REPORTED,
    Status.CLOSED,
]
SENT_OR_LATER = [*ANSWERED, Status.SENT, Status.NO_RESPONSE]


def _split(text: str) -> frozenset[str]:
    return frozenset(part.strip().lower() for part in text.split(",") if part.strip())


_facts_kept: Kept[list[PartnerFacts]] = Kept("guidance-facts", size=128)
_ranked_kept: Kept[dict[str, list[RankedPartner]]] = Kept("guidance-ranked", size=256)


def partner_facts(*, practice: Practice, professions: list[str]) -> list[PartnerFacts]:
    """Everything ranking needs about the partners of these professions, kept while the
    practice's data version holds (counting every referral to thousands of partners takes
    0.1–0.3 s on a client's page): a partner or referral added, changed or removed, a referral
    answered, counts again at once."""
    if not professions:
        return []
    wanted = tuple(sorted(set(professions)))
    return _facts_kept.get(
        practice_id=practice.pk,
        parts=wanted,
        slot=wanted,
        make=lambda: _partner_facts(practice=practice, professions=list(wanted)),
    )


def _partner_facts(*, practice: Practice, professions: list[str]) -> list[PartnerFacts]:
    """Everything ranking needs about the partners of these professions: 3 queries."""
    out_ = Q(referrals__direction=Direction.OUT)
    partners = list(
        Partner.objects.for_practice(practice)
        .filter(professions__slug__in=professions)
        .exclude(stage=Stage.NOT_A_FIT)
        .annotate(
            sent=Count(
                "referrals", filter=out_ & Q(referrals__status__in=SENT_OR_LATER), distinct=True
            ),
            answered=Count(
                "referrals", filter=out_ & Q(referrals__status__in=ANSWERED), distinct=True
            ),
            received=Count("referrals", filter=Q(referrals__direction=Direction.IN), distinct=True),
        )
        .prefetch_related("professions", "niches")
        .distinct()
    )
    speed = responsiveness_for(practice=practice, partner_ids=[p.pk for p in partners])
    return [
        PartnerFacts(
            id=p.pk,
            name=p.name,
            professions=frozenset(x.slug for x in p.professions.all()),
            stage=p.stage,
            latitude=p.latitude,
            longitude=p.longitude,
            niches=frozenset(n.name for n in p.niches.all()),
            modalities=_split(p.specialties),
            insurance=_split(p.insurance_accepted),
            vetting_done=p.vetting_done,
            referrals_sent=p.sent,
            referrals_answered=p.answered,
            referrals_received=p.received,
            median_answer_days=speed[p.pk].median_days,
        )
        for p in partners
    ]


def _client_niches(practice: Practice, text: str) -> frozenset[str]:
    """Practice niches whose words (runners, fertility, office…) appear in the client's text."""
    stems = {w[:5] for w in text.lower().replace("-", " ").split() if len(w) >= 5}
    found = set()
    for niche in Niche.objects.for_practice(practice):
        words = [w for w in niche.name.lower().replace("-", " ").split() if len(w) >= 5]
        if any(w[:5] in stems for w in words):
            found.add(niche.name)
    return frozenset(found)


@dataclass
class Guidance:
    result: Result
    partners: dict[str, list[RankedPartner]]
    session: int = 0  # the number of today's session, when the guidance is a client's


def guidance_for(
    *,
    practice: Practice,
    intake: Intake,
    zip_code: str = "",
    insurance: str = "",
    limit: int = 3,
) -> Guidance:
    """Suggestions for an intake, with this practice's partners ranked for each profession."""
    result = suggest(intake)
    slugs = [s.profession for s in result.suggestions if s.profession != "emergency-care"]
    if not slugs:  # no profession to rank partners for (no suggestion, or an emergency only)
        return Guidance(result, {})
    point = zip_centroid(zip_code) if zip_code else None
    text = " ".join(value for _, value in intake.texts())
    wanted = frozenset(m.quote.lower() for m in result.findings if m.finding == "massage-modality")
    ctx = ClientContext(
        latitude=point[0] if point else None,
        longitude=point[1] if point else None,
        niches=_client_niches(practice, text),
        insurance=insurance,
        wanted_modalities=wanted,
        practice_modalities=frozenset(practice.modality_list),
    )

    def ranked() -> dict[str, list[RankedPartner]]:
        facts = partner_facts(practice=practice, professions=slugs)
        return rank_each(facts, list(slugs), ctx, limit=limit)

    # The same professions for the same place, plan, niches and modalities rank the same
    # partners while the data holds: ranked once (hundreds of partners a profession), kept.
    # What is kept names partners only, under a digest of what was asked — no client.
    key = (
        tuple(slugs),
        limit,
        ctx.latitude,
        ctx.longitude,
        insurance,
        *(tuple(sorted(values)) for values in (ctx.niches, wanted, ctx.practice_modalities)),
    )
    partners = _ranked_kept.get(practice_id=practice.pk, parts=key, slot=key, make=ranked)
    return Guidance(result, partners)


def todays_session(*, visit_days: list[dt.date], today: dt.date) -> int:
    """The number of today's session: the visits recorded, and today's if it is not yet (a
    client seen once before and here today is at their second, not their first)."""
    return len(visit_days) + (0 if today in visit_days else 1)


def guidance_for_client(
    *, practice: Practice, client: Client, visit_days: list[dt.date], today: dt.date
) -> Guidance:
    intake = Intake(
        notes=client.notes,
        complaints=client.complaints,
        goals=client.goals,
        history=client.history,
        visit_number=todays_session(visit_days=visit_days, today=today),
        needs_assessment=client.needs_assessment_on == today,
        offered_modalities=practice.modality_list,
    )
    guidance = guidance_for(
        practice=practice, intake=intake, zip_code=client.zip_code, insurance=client.insurance
    )
    return replace(guidance, session=intake.visit_number)
