"""Engagement: decay forms, daily caps, caps, null-not-0, cited events, staleness."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelinekit import Event, ValidationError
from pipelinekit.qualification import (
    Decay,
    Verdict,
    engagement,
    half_life,
    no_decay,
    rule,
    step_decay,
    window,
)
from pipelinekit.testing.qualification import engagement_events

from .conftest import AS_OF, make_lead


def demo_at(age: timedelta, decay: Decay) -> Decimal | None:
    strategy = engagement("e", [rule("demo", "demo_request", 40)], decay=decay)
    lead = make_lead(engagement=(Event("demo_request", AS_OF - age),))
    return strategy.evaluate(lead, as_of=AS_OF).score


@pytest.mark.parametrize(
    ("decay", "age_days", "expected"),
    [
        # 0.5 ** (age / h)
        (half_life(30), 0, "40"),
        (half_life(30), 30, "20"),
        (half_life(30), 60, "10"),
        # max(0, 1 - r * floor(age / period))
        (step_decay("0.25", 30), 29, "40"),
        (step_decay("0.25", 30), 45, "30"),
        (step_decay("0.25", 30), 130, "0"),
        # 1 inside N days, else 0
        (window(30), 29, "40"),
        (window(30), 30, "0"),
        (no_decay(), 3650, "40"),
    ],
)
def test_decay_formulas(decay: Decay, age_days: int, expected: str) -> None:
    assert demo_at(timedelta(days=age_days), decay) == Decimal(expected)


def test_half_life_between_whole_periods_is_close_to_the_formula() -> None:
    score = demo_at(timedelta(days=10), half_life(30))
    assert score is not None
    assert abs(float(score) - 40 * 0.5 ** (10 / 30)) < 0.011


def test_no_matching_event_is_null_not_zero() -> None:
    strategy = engagement("e", [rule("demo", "demo_request", 40)])
    lead = make_lead(engagement=(Event("email_open", AS_OF),))
    result = strategy.evaluate(lead, as_of=AS_OF)
    assert result.score is None
    assert result.verdict is Verdict.INSUFFICIENT_DATA
    zero = engagement("e", [rule("demo", "demo_request", 40)], unmatched="zero")
    assert zero.evaluate(lead, as_of=AS_OF).score == 0


def test_events_after_as_of_are_ignored() -> None:
    strategy = engagement("e", [rule("demo", "demo_request", 40)])
    lead = make_lead(engagement=(Event("demo_request", AS_OF + timedelta(seconds=1)),))
    assert strategy.evaluate(lead, as_of=AS_OF).score is None


def test_daily_cap_counts_at_most_n_per_day_and_lines_cite_events() -> None:
    day = AS_OF - timedelta(days=1)
    pricing = [
        Event("website_visit", day + timedelta(minutes=i), {"url": "/pricing", "id": f"ev{i}"})
        for i in range(5)
    ]
    events = (*pricing, Event("website_visit", day, {"url": "/blog"}))
    strategy = engagement(
        "e", [rule("pricing", "website_visit", 5, where={"url": "/pricing"}, daily_cap=3)]
    )
    result = strategy.evaluate(make_lead(engagement=events), as_of=AS_OF)
    line = result.breakdown[0]
    assert result.score == 15
    assert line.observed == 3
    assert line.evidence == ("event:ev0", "event:ev1", "event:ev2")
    assert "2 more over the daily cap of 3" in line.reason


def test_rule_cap_and_total_cap() -> None:
    events = tuple(Event("email_open", AS_OF - timedelta(hours=i)) for i in range(30))
    events += (Event("demo_request", AS_OF),)
    strategy = engagement(
        "e", [rule("opens", "email_open", 2, cap=20), rule("demo", "demo_request", 90)]
    )
    result = strategy.evaluate(make_lead(engagement=events), as_of=AS_OF)
    assert result.score == 100
    opens, demo = result.breakdown
    # 20 (capped) + 90 = 110: the smaller line gives up the 10 over the total cap
    assert opens.cap == 20
    assert (opens.points, demo.points) == (10, 90)
    assert "20 points, 10 counted under the total cap of 100" in opens.reason


def test_negative_rules_do_not_decay_and_the_floor_holds() -> None:
    events = (Event("unsubscribe", AS_OF - timedelta(days=300)),)
    strategy = engagement(
        "e", [rule("unsub", "unsubscribe", -30), rule("demo", "demo_request", 40)],
        decay=half_life(7), floor=-20,
    )  # fmt: skip
    result = strategy.evaluate(make_lead(engagement=events), as_of=AS_OF)
    assert result.score == -20
    assert result.breakdown[0].points == -20
    assert "floor" in result.breakdown[0].reason


def test_decay_alone_marks_a_result_stale() -> None:
    strategy = engagement("e", [rule("demo", "demo_request", 80)], decay=half_life(30))
    lead = make_lead(engagement=(Event("demo_request", AS_OF),))
    fresh = strategy.evaluate(lead, as_of=AS_OF)
    later = strategy.evaluate(lead, as_of=AS_OF + timedelta(days=90))
    assert fresh.verdict is Verdict.QUALIFIED
    assert not fresh.stale
    assert later.verdict is not Verdict.QUALIFIED
    assert later.stale


def test_configuration_problems_are_listed() -> None:
    with pytest.raises(ValidationError) as caught:
        rule("", [], 0, daily_cap=0)
    assert set(caught.value.paths) == {"$.name", "$.kind", "$.points", "$.daily_cap"}
    with pytest.raises(ValidationError):
        half_life(0)
    with pytest.raises(ValidationError):
        step_decay("1.5", 30)


def test_a_rule_kind_or_filter_of_the_wrong_type_is_reported_with_its_path() -> None:
    for kind in (None, 5, [["website_visit"]]):
        with pytest.raises(ValidationError) as caught:
            rule("v", kind, 5)  # type: ignore[arg-type]
        assert caught.value.paths == ("$.kind",)
    with pytest.raises(ValidationError) as caught:
        rule("v", "website_visit", 5, where=[("url", "/pricing")])  # type: ignore[arg-type]
    assert caught.value.paths == ("$.where",)


DECAYS = st.sampled_from([half_life(30), half_life(3), step_decay("0.1", 7), window(30),
                          no_decay()])  # fmt: skip


@settings(max_examples=150, deadline=None)
@given(
    decay=DECAYS,
    events=engagement_events(max_size=20, before=AS_OF),
    later=st.integers(min_value=0, max_value=400 * 24 * 60),
    more=st.integers(min_value=0, max_value=400 * 24 * 60),
)
def test_decay_never_increases_a_score_as_time_passes(
    decay: Decay, events: tuple[Event, ...], later: int, more: int
) -> None:
    strategy = engagement(
        "e",
        [
            rule("visits", "website_visit", 3, daily_cap=4),
            rule("pricing", "website_visit", 5, where={"url": "/pricing"}),
            rule("opens", ["email_open", "email_click"], 1, cap=15),
            rule("demo", "demo_request", 30),
            rule("unsub", "unsubscribe", -25),
        ],
        decay=decay,
    )
    lead = make_lead(engagement=events)
    first: datetime = AS_OF + timedelta(minutes=later)
    second = first + timedelta(minutes=more)
    a = strategy.evaluate(lead, as_of=first)
    b = strategy.evaluate(lead, as_of=second)
    assert (a.score is None) == (b.score is None)
    if a.score is not None and b.score is not None:
        assert b.score <= a.score
        assert sum(line.points for line in b.breakdown) == b.score


@settings(max_examples=100, deadline=None)
@given(events=engagement_events(max_size=8, before=AS_OF))
def test_engagement_is_unscored_exactly_when_no_rule_matches(events: tuple[Event, ...]) -> None:
    strategy = engagement("e", [rule("demo", "demo_request", 40), rule("open", "email_open", 2)])
    result = strategy.evaluate(make_lead(engagement=events), as_of=AS_OF)
    matched = any(e.kind in ("demo_request", "email_open") for e in events)
    assert (result.score is None) == (not matched)
