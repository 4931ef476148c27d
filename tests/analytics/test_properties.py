"""Invariants of the analytics, on random pipelines' worth of deals (in memory)."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from decimal import Decimal

import attrs
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelinekit import Opportunity, StageChange, analytics
from pipelinekit.analytics import FORECAST_DIMENSIONS
from pipelinekit.testing.contracts.analytics import replayed_opportunity

from ._data import PIPELINES, T0, deal_lists, lead_lists, moments

_SETTINGS = settings(max_examples=60, deadline=None)


@_SETTINGS
@given(
    deals=deal_lists(max_size=20),
    leads=lead_lists(),
    moment=st.none() | moments,
    by=st.sampled_from([(), ("owner",), ("cohort",), ("source", "owner")]),
)
def test_funnel_counts_never_increase_down_the_stages(deals, leads, moment, by) -> None:
    report = analytics.funnel(deals, PIPELINES, as_of=moment, by=by, leads=leads)
    for steps in report.segments().values():
        entered = [step.entered for step in steps]
        assert entered == sorted(entered, reverse=True)
        for step in steps[:-1]:  # who went no further is still open there, or was lost
            assert step.drop_off == step.open + step.lost
    if not by:  # every deal that existed counts once, at the top of the pipeline it was in
        then = deals if moment is None else [replayed_opportunity(d, moment) for d in deals]
        for pipeline in PIPELINES:
            key = pipeline.key
            existed = sum(1 for d in then if d is not None and d.pipeline == key)
            assert report.entered(key)[pipeline.spec.first_stage.key] == existed


@_SETTINGS
@given(
    deals=deal_lists(currencies=("EUR", "USD", "JPY"), max_size=20),
    moment=st.none() | moments,
    by=st.lists(st.sampled_from(FORECAST_DIMENSIONS), min_size=1, max_size=3, unique=True),
)
def test_weighted_total_equals_the_sum_of_its_slices(deals, moment, by) -> None:
    whole = analytics.forecast(deals, PIPELINES, by=(), as_of=moment)
    sliced = analytics.forecast(deals, PIPELINES, by=by, as_of=moment)
    for value in ("weighted", "open_amount", "booked"):
        assert whole.totals_by_currency(value) == sliced.totals_by_currency(value)
    if moment is None:  # each currency's total is sum(amount x probability) over open deals
        expected: dict[str, Decimal] = {}
        for deal in deals:
            if deal.is_open and deal.amount is not None:
                code = deal.amount.currency
                weight = deal.amount.amount * deal.probability / 100
                expected[code] = expected.get(code, Decimal(0)) + weight
        got = {k: v.amount for k, v in whole.totals_by_currency().items()}
        assert {k: v for k, v in got.items() if v} == {k: v for k, v in expected.items() if v}
    counted = sum(line.open_deals + line.won_deals + line.lost_deals for line in sliced)
    assert counted == sum(1 for d in deals if moment is None or d.history[0].at <= moment)


def _extend(deal: Opportunity, after, moves: list[int]) -> Opportunity:
    """The deal with extra moves after ``after`` (its past left alone)."""
    spec = next(p.spec for p in PIPELINES if p.key == deal.pipeline)
    history = list(deal.history)
    at = max(after, history[-1].at)
    current = deal.stage
    for pick in moves:
        kind = spec.stage(current).kind
        choices = [
            s.key
            for s in spec.stages
            if s.key != current and (kind.value == "open" or s.kind.value == "open")
        ]
        target = choices[pick % len(choices)]
        at = at + timedelta(hours=1 + pick)
        history.append(StageChange(current, target, "later", at))
        current = target
    stage = spec.stage(current)
    outcome = stage.kind.value
    return deal.evolve(
        stage=current,
        history=tuple(history),
        probability=stage.probability,
        probability_source="stage_default",
        manual_probability=None,
        outcome=outcome,
        closed_at=at if outcome != "open" else None,
        lost_reason="later" if outcome == "lost" else None,
        updated_at=at,
    )


@settings(max_examples=60, deadline=None)
@given(
    deals=deal_lists(manual=False, max_size=15),
    later=deal_lists(manual=False, max_size=4),
    moves=st.lists(st.integers(0, 7), max_size=4),
    moment=moments,
)
def test_point_in_time_results_ignore_everything_after_the_moment(
    deals, later, moves, moment
) -> None:
    # history up to the moment: the deals as they stood then (nothing after it recorded yet)
    def cut(deal: Opportunity) -> Opportunity | None:
        replayed = replayed_opportunity(deal, moment)
        return None if replayed is None else _extend(replayed, moment, [])

    then = [d for d in (cut(d) for d in deals) if d is not None]
    future = [_extend(d, moment, moves) for d in deals]
    newcomers = [
        d.evolve(
            id=d.id + "-new",
            created_at=moment + timedelta(hours=1),
            updated_at=moment + timedelta(hours=1),
            history=tuple(
                attrs.evolve(c, at=moment + timedelta(hours=1 + i)) for i, c in enumerate(d.history)
            ),
            closed_at=None if d.closed_at is None else moment + timedelta(hours=len(d.history)),
        )
        for d in later
    ]
    now = future + newcomers
    assert analytics.funnel(now, PIPELINES, as_of=moment) == analytics.funnel(
        then, PIPELINES, as_of=moment
    )
    for by in (("category",), ("stage", "owner")):
        assert analytics.forecast(now, PIPELINES, as_of=moment, by=by) == analytics.forecast(
            then, PIPELINES, as_of=moment, by=by
        )
    assert analytics.stale_deals(now, PIPELINES, as_of=moment) == analytics.stale_deals(
        then, PIPELINES, as_of=moment
    )
    assert analytics.time_in_stages(now, PIPELINES, as_of=moment) == analytics.time_in_stages(
        then, PIPELINES, as_of=moment
    )
    start = T0 - timedelta(days=1)
    end = moment + timedelta(microseconds=1)
    assert analytics.sales_metrics(now, PIPELINES, start=start, end=end) == (
        analytics.sales_metrics(then, PIPELINES, start=start, end=end)
    )


@_SETTINGS
@given(deals=deal_lists(max_size=20), moment=moments)
def test_stale_deals_are_open_and_past_their_stage_threshold(deals, moment) -> None:
    stale = analytics.stale_deals(deals, PIPELINES, as_of=moment)
    counts = Counter(d.opportunity_id for d in stale)
    assert all(n == 1 for n in counts.values())
    for deal in stale:
        assert deal.in_stage > timedelta(days=deal.rotting_days)
        assert deal.overdue > timedelta(0)
    overdue = [d.overdue for d in stale]
    assert overdue == sorted(overdue, reverse=True)


@_SETTINGS
@given(deals=deal_lists(max_size=20), moment=moments)
def test_time_in_stage_statistics_are_ordered(deals, moment) -> None:
    for line in analytics.time_in_stages(deals, PIPELINES, as_of=moment):
        if line.visits:
            assert line.p90 is not None
            assert line.median is not None
            assert line.mean is not None
            assert timedelta(0) <= line.median <= line.p90
        else:
            assert line.mean is line.median is line.p90 is None


@_SETTINGS
@given(leads=lead_lists(), moment=st.none() | moments, by=st.sampled_from([(), ("source",)]))
def test_lead_funnel_counts_never_increase_and_each_lead_counts_once(leads, moment, by) -> None:
    report = analytics.lead_funnel(leads, as_of=moment, by=by)
    total = 0
    for steps in report.segments().values():
        entered = [step.entered for step in steps]
        assert entered == sorted(entered, reverse=True)
        total += entered[0]
    assert total <= len(leads)
