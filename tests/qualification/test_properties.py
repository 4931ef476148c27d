"""Qualification behaviour as properties, through the public builders only.

Each strategy is compared with its documented rule written out plainly: checklist
sums and bands (with ``k_of_n``, gates and floors), engagement tallies (daily caps,
rule caps, the total cap, decay that only ever lowers a score), ICP points, and the
composites (``gate`` counts qualified children; ``weighted`` blends normalised
scores).  Every result's breakdown adds up to its score, and evaluating many
subjects agrees with evaluating them one by one.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelinekit import Event, Lead, QualificationResult, ValidationError, Verdict
from pipelinekit.qualification import (
    bant,
    checklist,
    engagement,
    gate,
    half_life,
    icp_fit,
    item,
    meddpicc,
    no_decay,
    normalized,
    one_of,
    present,
    rule,
    step_decay,
    weighted,
    window,
)

from .conftest import AS_OF, make_lead

LEVELS5 = ("none", "low", "medium", "high", "confirmed")
BANT = ("budget", "authority", "need", "timeline")
answers = st.one_of(
    st.none(), st.integers(0, 4), st.sampled_from(LEVELS5), st.sampled_from(["9", "maybe", "HIGH"])
)
RANK = {
    Verdict.DISQUALIFIED: 0,
    Verdict.INSUFFICIENT_DATA: 1,
    Verdict.NURTURE: 2,
    Verdict.REVIEW: 3,
    Verdict.QUALIFIED: 4,
}


def check_result(result: QualificationResult) -> None:
    """What every result promises."""
    if result.score is not None:
        assert result.scale_min <= result.score <= result.scale_max
        if result.breakdown:
            assert sum(line.points for line in result.breakdown) == result.score
    else:
        assert result.verdict is Verdict.INSUFFICIENT_DATA or result.breakdown == ()
    assert Decimal(0) <= result.coverage <= Decimal(1)


def _level(answer: Any) -> int | None:
    if answer is None or isinstance(answer, bool):
        return None
    if isinstance(answer, int):
        return answer if 0 <= answer <= 4 else None
    text = answer.strip().casefold()
    if text in LEVELS5:
        return LEVELS5.index(text)
    if text.isdecimal() and int(text) <= 4:
        return int(text)
    return None


def _bant_lead(values: dict[str, Any]) -> Lead:
    custom = {f"bant.{k}": v for k, v in values.items() if v is not None}
    return make_lead(custom=custom)


@settings(max_examples=150)
@given(st.fixed_dictionaries(dict.fromkeys(BANT, answers)))
def test_bant_sums_levels_into_quarter_bands(values: dict[str, Any]) -> None:
    result = bant().evaluate(_bant_lead(values), as_of=AS_OF)
    check_result(result)
    levels = {k: _level(v) for k, v in values.items()}
    known = [v for v in levels.values() if v is not None]
    assert result.coverage == Decimal(len(known)) / 4
    assert (result.scale_min, result.scale_max) == (0, 16)
    if not known:
        assert result.score is None
        assert result.verdict is Verdict.INSUFFICIENT_DATA
        return
    total = sum(known)
    assert result.score == total
    band = (
        "unqualified"
        if total <= 4
        else "nurture"
        if total <= 8
        else "qualified"
        if total <= 12
        else "act_now"
    )
    assert result.band == band
    expected = {"unqualified": Verdict.DISQUALIFIED, "nurture": Verdict.NURTURE}.get(
        band, Verdict.QUALIFIED
    )
    assert result.verdict is expected
    assert [line.criterion for line in result.breakdown] == list(BANT)
    for line in result.breakdown:
        level = levels[line.criterion]
        assert line.points == (level or 0)
        assert line.status.value == (
            "unknown"
            if level is None
            else "match"
            if level == 4
            else "partial"
            if level
            else "no_match"
        )


@settings(max_examples=150)
@given(
    st.fixed_dictionaries({k: st.none() | st.integers(0, 4) for k in BANT}),
    st.integers(1, 4),
    st.integers(1, 4),
)
def test_bant_k_of_n_qualifies_on_met_items(
    values: dict[str, int | None], k: int, met_at: int
) -> None:
    result = bant(policy="k_of_n", k=k, met_at=met_at).evaluate(_bant_lead(values), as_of=AS_OF)
    check_result(result)
    known = [v for v in values.values() if v is not None]
    if not known:
        assert result.score is None
        return
    met = sum(1 for v in known if v >= met_at)
    total = sum(known)
    banded = (
        Verdict.DISQUALIFIED if total <= 4 else Verdict.NURTURE if total <= 8 else Verdict.QUALIFIED
    )
    if met >= k:
        assert result.verdict is Verdict.QUALIFIED
    else:
        assert result.verdict is (Verdict.NURTURE if banded is Verdict.QUALIFIED else banded)


@settings(max_examples=150)
@given(st.fixed_dictionaries({k: st.none() | st.integers(0, 4) for k in BANT}), st.integers(1, 4))
def test_gates_knock_out_and_floors_hold_back(values: dict[str, int | None], gate_at: int) -> None:
    lead = _bant_lead(values)
    gated = bant(gates=["budget", "authority"], gate_at=gate_at).evaluate(lead, as_of=AS_OF)
    check_result(gated)
    plain = bant().evaluate(lead, as_of=AS_OF)
    assert gated.score == plain.score
    low = [g for g in ("budget", "authority") if values[g] is not None and values[g] < gate_at]  # type: ignore[operator]
    unknown_gate = any(values[g] is None for g in ("budget", "authority"))
    if plain.score is None:
        return
    assert list(gated.knockouts) == low
    if low:
        assert gated.verdict is Verdict.DISQUALIFIED
    elif unknown_gate:
        assert gated.verdict is Verdict.INSUFFICIENT_DATA
    else:
        assert gated.verdict is plain.verdict
    floored = bant(floor=2).evaluate(lead, as_of=AS_OF)
    below = any(v is None or v < 2 for v in values.values())
    if below and plain.verdict is Verdict.QUALIFIED:
        assert floored.verdict is Verdict.NURTURE
    else:
        assert floored.verdict is plain.verdict


@given(st.lists(st.integers(0, 2), min_size=8, max_size=8), st.integers(1, 8))
def test_min_known_decides_when_there_is_a_score(levels: list[int], min_known: int) -> None:
    keys = [
        "metrics",
        "economic_buyer",
        "decision_criteria",
        "decision_process",
        "paper_process",
        "identified_pain",
        "champion",
        "competition",
    ]
    answered = dict(list(zip(keys, levels, strict=True))[: min_known - 1 or 1])
    lead = make_lead(custom={f"meddpicc.{k}": v for k, v in answered.items()})
    result = meddpicc(min_known=min_known).evaluate(lead, as_of=AS_OF)
    check_result(result)
    if len(answered) < min_known:
        assert result.score is None
    else:
        assert result.score == sum(answered.values())
    assert result.scale_max == 16


def test_custom_checklist_levels_and_prefix() -> None:
    strategy = checklist(
        "fit", [item("size", levels=["small", "large"]), item("fund", levels=3)], prefix="q"
    )
    lead = make_lead(custom={"q.size": "LARGE", "q.fund": 2})
    result = strategy.evaluate(lead, as_of=AS_OF)
    assert (result.score, result.scale_max, result.coverage) == (3, 3, 1)
    assert [line.observed for line in result.breakdown] == ["large", "2"]


# -- engagement ----------------------------------------------------------------------

KINDS = ("website_visit", "email_open", "demo_request")
events = st.lists(
    st.tuples(
        st.sampled_from(KINDS), st.integers(0, 60 * 24 * 20), st.sampled_from(["/pricing", "/blog"])
    ),
    max_size=25,
)


def _engaged(raw: list[tuple[str, int, str]]) -> Lead:
    start = AS_OF - timedelta(days=15)
    return make_lead(
        engagement=tuple(
            Event(kind, start + timedelta(minutes=m), {"url": url}) for kind, m, url in raw
        )
    )


RULES = [
    rule("visits", "website_visit", 2, daily_cap=3),
    rule("pricing", ["website_visit", "email_open"], 5, where={"url": "/pricing"}, cap=30),
    rule("demo", "demo_request", 40),
]


def _undecayed(raw: list[tuple[str, int, str]], as_of: datetime) -> Decimal:
    start = AS_OF - timedelta(days=15)
    visits: dict[Any, int] = {}
    total = Decimal(0)
    pricing = Decimal(0)
    for kind, minutes, url in sorted(raw, key=lambda e: e[1]):
        at = start + timedelta(minutes=minutes)
        if at > as_of:
            continue
        if kind == "website_visit" and visits.get(at.date(), 0) < 3:
            visits[at.date()] = visits.get(at.date(), 0) + 1
            total += 2
        if kind in ("website_visit", "email_open") and url == "/pricing":
            pricing += 5
        if kind == "demo_request":
            total += 40
    return min(total + min(pricing, Decimal(30)), Decimal(100))


@settings(max_examples=150)
@given(events, st.integers(0, 20))
def test_engagement_without_decay_is_the_capped_tally(
    raw: list[tuple[str, int, str]], days: int
) -> None:
    as_of = AS_OF - timedelta(days=days)
    result = engagement("e", RULES, decay=no_decay()).evaluate(_engaged(raw), as_of=as_of)
    check_result(result)
    counted = [
        (kind, url)
        for kind, minutes, url in raw
        if AS_OF - timedelta(days=15) + timedelta(minutes=minutes) <= as_of
        and (kind in ("website_visit", "demo_request") or url == "/pricing")
    ]
    if not counted:
        assert result.score is None
        assert result.verdict is Verdict.INSUFFICIENT_DATA
        return
    score = _undecayed(raw, as_of)
    assert result.score == score
    expected = (
        Verdict.QUALIFIED if score >= 70 else Verdict.REVIEW if score >= 40 else Verdict.NURTURE
    )
    assert result.verdict is expected
    assert result.stale is False


@settings(max_examples=100)
@given(events, st.sampled_from([half_life(7), step_decay("0.5", 3), window(5)]))
def test_decay_only_ever_lowers_the_score(raw: list[tuple[str, int, str]], decay: Any) -> None:
    lead = _engaged(raw)
    decayed = engagement("e", RULES, decay=decay).evaluate(lead, as_of=AS_OF)
    fresh = engagement("e", RULES, decay=no_decay()).evaluate(lead, as_of=AS_OF)
    check_result(decayed)
    assert (decayed.score is None) is (fresh.score is None)
    if fresh.score is not None:
        assert decayed.score is not None
        assert decayed.score <= fresh.score
        assert decayed.stale is (RANK[decayed.verdict] < RANK[fresh.verdict])


@settings(max_examples=100)
@given(events, st.integers(1, 10))
def test_half_life_halves_the_weight_of_an_event(
    raw: list[tuple[str, int, str]], days: int
) -> None:
    at = AS_OF - timedelta(days=days)
    lead = make_lead(engagement=(Event("demo_request", at),))
    result = engagement("e", [rule("demo", "demo_request", 40)], decay=half_life(days)).evaluate(
        lead, as_of=AS_OF
    )
    assert result.score == Decimal(20)
    later = engagement("e", [rule("demo", "demo_request", 40)], decay=half_life(days)).evaluate(
        lead, as_of=AS_OF + timedelta(days=days)
    )
    assert later.score == Decimal(10)


@given(st.integers(-50, -1), st.integers(1, 5))
def test_negative_rules_pull_down_to_the_floor(points: int, count: int) -> None:
    lead = make_lead(
        engagement=tuple(Event("unsubscribe", AS_OF - timedelta(hours=h)) for h in range(count))
    )
    strategy = engagement("e", [rule("unsub", "unsubscribe", points)], floor=-20, unmatched="zero")
    result = strategy.evaluate(lead, as_of=AS_OF)
    check_result(result)
    assert result.score == max(Decimal(points * count), Decimal(-20))


# -- ICP -----------------------------------------------------------------------------

INDUSTRY_POINTS = {"software": 25, "fintech": 20, "retail": 5}


@given(st.sampled_from([*INDUSTRY_POINTS, "mining", None]), st.booleans())
def test_icp_scores_the_points_of_the_value(industry: str | None, with_email: bool) -> None:
    strategy = icp_fit(
        "fit",
        [
            one_of("industry", "company.industry", INDUSTRY_POINTS, default=1),
            present("email", "contact.email", points=10),
        ],
    )
    lead = make_lead(industry=industry, email="ada@acme.io" if with_email else None)
    result = strategy.evaluate(lead, as_of=AS_OF)
    check_result(result)
    industry_points = 0 if industry is None else INDUSTRY_POINTS.get(industry, 1)
    assert result.score == industry_points + (10 if with_email else 0)
    assert result.scale_max == 35


def test_icp_knockout_disqualifies() -> None:
    strategy = icp_fit(
        "fit", [one_of("industry", "company.industry", INDUSTRY_POINTS, knockout=["mining"])]
    )
    result = strategy.evaluate(make_lead(industry="Mining"), as_of=AS_OF)
    assert result.verdict is Verdict.DISQUALIFIED
    assert result.knockouts == ("industry",)
    ok = strategy.evaluate(make_lead(industry="software"), as_of=AS_OF)
    assert ok.knockouts == ()


# -- composites ----------------------------------------------------------------------

children = [bant(), engagement("e", RULES, decay=no_decay(), unmatched="zero")]


@settings(max_examples=100)
@given(
    st.fixed_dictionaries({k: st.none() | st.integers(0, 4) for k in BANT}),
    events,
    st.sampled_from(["all", "any"]),
)
def test_gate_counts_qualified_children(
    values: dict[str, int | None], raw: list[tuple[str, int, str]], mode: str
) -> None:
    lead = _bant_lead(values).evolve(engagement=_engaged(raw).engagement)
    results = [c.evaluate(lead, as_of=AS_OF) for c in children]
    combined = gate("g", children, mode=mode).evaluate(lead, as_of=AS_OF)
    check_result(combined)
    assert combined.score == sum(1 for r in results if r.verdict is Verdict.QUALIFIED)
    pick = min if mode == "all" else max
    assert combined.verdict is pick((r.verdict for r in results), key=RANK.__getitem__)


@settings(max_examples=100)
@given(
    st.fixed_dictionaries({k: st.integers(0, 4) for k in BANT}),
    events,
    st.integers(1, 5),
    st.integers(1, 5),
)
def test_weighted_blends_normalised_scores(
    values: dict[str, int], raw: list[tuple[str, int, str]], w1: int, w2: int
) -> None:
    lead = _bant_lead(values).evolve(engagement=_engaged(raw).engagement)
    parts = [(children[0], w1), (children[1], w2)]
    blend = weighted("w", parts).evaluate(lead, as_of=AS_OF)
    check_result(blend)
    norms = [normalized(c.evaluate(lead, as_of=AS_OF)) for c, _ in parts]
    assert None not in norms
    expected = (norms[0] * w1 + norms[1] * w2) / (w1 + w2)  # type: ignore[operator]
    assert blend.score is not None
    # each part's points are rounded down to the cent: never above the exact blend
    assert expected - Decimal("0.01") * len(parts) <= blend.score <= expected
    assert (blend.scale_min, blend.scale_max) == (0, 100)


@settings(max_examples=60)
@given(st.lists(st.fixed_dictionaries(dict.fromkeys(BANT, answers)), min_size=1, max_size=6))
def test_evaluate_many_agrees_with_one_by_one(batch: list[dict[str, Any]]) -> None:
    leads = [_bant_lead(v).evolve(id=f"lead-{i}") for i, v in enumerate(batch)]
    for strategy in (bant(), bant(policy="k_of_n", k=2), gate("g", children)):
        assert strategy.evaluate_many(leads, as_of=AS_OF) == [
            strategy.evaluate(x, as_of=AS_OF) for x in leads
        ]
        assert strategy.score_many(leads, as_of=AS_OF) == [
            strategy.score(x, as_of=AS_OF) for x in leads
        ]


@pytest.mark.parametrize(
    "make",
    [
        lambda: engagement("e", []),
        lambda: engagement("e", RULES, total_cap=0),
        lambda: rule("r", "x", 0),
        lambda: rule("r", "x", 5, daily_cap=0),
        lambda: rule("r", "x", -5, cap=3),
        lambda: step_decay("1.5", 2),
        lambda: half_life(0),
        lambda: gate("g", children, mode="some"),
        lambda: weighted("w", [(children[0], 0)]),
    ],
)
def test_bad_configuration_is_a_validation_error(make: Any) -> None:
    with pytest.raises(ValidationError):
        make()
