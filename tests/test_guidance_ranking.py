"""Ranking partners for a suggested profession: every component visible, best first."""

import pytest

from referwell.guidance.ranking import ClientContext, PartnerFacts, rank

ELM_GROVE = (43.0479, -88.0854)
MILWAUKEE = (43.0389, -87.9065)
MADISON = (43.0731, -89.4012)


def facts(id, name, stage="trusted", at=ELM_GROVE, **kw):
    return PartnerFacts(
        id=id,
        name=name,
        professions=kw.pop("professions", frozenset({"chiropractor"})),
        stage=stage,
        latitude=at[0] if at else None,
        longitude=at[1] if at else None,
        **kw,
    )


def ctx(**kw):
    return ClientContext(latitude=ELM_GROVE[0], longitude=ELM_GROVE[1], **kw)


def test_trust_responsiveness_and_distance_order_the_list():
    partners = [
        facts(1, "Far and silent", stage="contacted", at=MADISON, referrals_sent=4),
        facts(2, "Near and trusted", referrals_sent=4, referrals_answered=4, vetting_done=4),
        facts(3, "Near, never answers", referrals_sent=4, referrals_answered=0),
    ]
    ranked = rank(partners, "chiropractor", ctx())
    assert [r.name for r in ranked] == ["Near and trusted", "Near, never answers", "Far and silent"]
    top = {c.name: c for c in ranked[0].components}
    assert set(top) == {"trust", "responsiveness", "distance", "fit", "insurance", "reciprocity"}
    assert top["responsiveness"].why == "answered 4 of 4 referrals"
    assert top["distance"].why == "0.0 miles from the client"
    far = {c.name: c for c in ranked[2].components}
    assert "miles from the client" in far["distance"].why and far["distance"].score < 0.2


def test_score_is_the_weighted_sum_of_its_components():
    ranked = rank([facts(1, "A", referrals_received=2)], "chiropractor", ctx())
    r = ranked[0]
    assert abs(r.score - sum(c.score * c.weight for c in r.components)) < 0.001
    assert abs(sum(c.weight for c in r.components) - 1.0) < 1e-9


def test_not_a_fit_and_other_professions_are_left_out():
    partners = [
        facts(1, "Not a fit", stage="not_a_fit"),
        facts(2, "A podiatrist", professions=frozenset({"podiatrist"})),
        facts(3, "Fine"),
    ]
    assert [r.name for r in rank(partners, "chiropractor", ctx())] == ["Fine"]


def test_niche_insurance_and_reciprocity_count():
    plain = facts(1, "Plain")
    matched = facts(
        2,
        "Runner specialist",
        niches=frozenset({"Endurance runners"}),
        insurance=frozenset({"workers' compensation"}),
        referrals_received=3,
    )
    ranked = rank(
        [plain, matched],
        "chiropractor",
        ctx(niches=frozenset({"Endurance runners"}), insurance="Workers' compensation"),
    )
    assert ranked[0].name == "Runner specialist"
    why = {c.name: c.why for c in ranked[0].components}
    assert why["fit"] == "serves your Endurance runners niche"
    assert why["insurance"] == "takes Workers' compensation"
    assert why["reciprocity"] == "sent us 3 clients"


def test_another_massage_therapist_must_complement_not_compete():
    mt = frozenset({"massage-therapist"})
    same = facts(1, "Same as us", professions=mt, modalities=frozenset({"swedish", "deep tissue"}))
    other = facts(
        2,
        "Lymphatic specialist",
        professions=mt,
        modalities=frozenset({"lymphatic drainage", "swedish"}),
    )
    c = ctx(
        wanted_modalities=frozenset({"lymphatic drainage"}),
        practice_modalities=frozenset({"swedish", "deep tissue"}),
    )
    ranked = rank([same, other], "massage-therapist", c)
    assert ranked[0].name == "Lymphatic specialist"
    fit = {r.name: next(x for x in r.components if x.name == "fit") for r in ranked}
    assert fit["Same as us"].score == 0.0 and "competing" in fit["Same as us"].why
    assert fit["Lymphatic specialist"].why == "offers lymphatic drainage"


def test_unknown_location_is_neutral_and_said():
    ranked = rank([facts(1, "Nowhere", at=None)], "chiropractor", ClientContext())
    dist = next(c for c in ranked[0].components if c.name == "distance")
    assert dist.score == 0.5 and dist.why == "distance unknown"


def test_limit_keeps_the_best():
    partners = [facts(i, f"P{i}", referrals_sent=10, referrals_answered=i) for i in range(10)]
    ranked = rank(partners, "chiropractor", ctx(), limit=3)
    assert [r.partner_id for r in ranked] == [9, 8, 7]
    assert ranked[0].score > ranked[1].score > ranked[2].score


def test_the_fast_score_is_the_sum_of_the_explained_components():
    import random

    from referwell.guidance.ranking import _components, _score

    rng = random.Random(3)
    for i in range(500):
        p = facts(
            i,
            f"P{i}",
            stage=rng.choice(["prospect", "researched", "contacted", "met", "trusted"]),
            referrals_received=rng.randint(0, 5),
        )
        p = PartnerFacts(
            **{
                **p.__dict__,
                "referrals_sent": (sent := rng.randint(0, 6)),
                "referrals_answered": rng.randint(0, sent),
                "median_answer_days": rng.choice([None, 1.0, 4.0, 12.0]),
                "insurance": frozenset(rng.sample(["aetna", "cigna", "auto"], rng.randint(0, 2))),
                "niches": frozenset(rng.sample(["Runners", "Office workers"], rng.randint(0, 1))),
                "modalities": frozenset(rng.sample(["thai", "swedish"], rng.randint(0, 2))),
                "latitude": rng.choice([None, 43.1]),
                "vetting_done": rng.randint(0, 4),
            }
        )
        for c in (ctx(), ClientContext(insurance="Aetna", niches=frozenset({"Runners"}))):
            for slug in ("chiropractor", "massage-therapist"):
                explained = sum(x.score * x.weight for x in _components(p, slug, c))
                assert _score(p, slug, c) == pytest.approx(explained)


def test_ranking_each_profession_at_once_ranks_as_one_at_a_time():
    from referwell.guidance.ranking import rank_each

    both_kinds = frozenset({"chiropractor", "massage-therapist"})
    partners = [
        facts(
            i, f"P{i}", referrals_received=i % 4, **({"professions": both_kinds} if i % 2 else {})
        )
        for i in range(30)
    ]
    both = rank_each(partners, ["chiropractor", "massage-therapist"], ctx(), limit=3)
    assert both["chiropractor"] == rank(partners, "chiropractor", ctx(), limit=3)
    assert both["massage-therapist"] == rank(partners, "massage-therapist", ctx(), limit=3)
