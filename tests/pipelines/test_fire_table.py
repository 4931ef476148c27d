"""``fire`` takes the transition a state chart of the compiled class would take.

``fire`` reads the chart's choice from the move table derived from the compiled
python-statemachine class instead of building a chart for every move; for any
pipeline (random guards, several targets per event, ``to=``) and any entity,
the stage it moves to, or its refusal, is the chart's.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipelinekit import Money, Opportunity
from pipelinekit.pipelines import (
    InvalidTransition,
    Pipeline,
    PipelineBuilder,
    StageKind,
    compile_pipeline,
    guard,
)
from pipelinekit.pipelines.guards import Subject
from pipelinekit.pipelines.operations.transitions import chart_target
from pipelinekit.testing.pipelines import opportunities_in, pipelines

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


@st.composite
def _moves(draw: st.DrawFn) -> tuple[Pipeline, Opportunity, str, str | None, str | None]:
    pipeline = draw(pipelines())
    opp = draw(opportunities_in(pipeline))
    event = draw(st.sampled_from(pipeline.spec.events))
    to = draw(st.none() | st.sampled_from(pipeline.spec.stage_keys))
    reason = draw(st.none() | st.just("price"))
    return pipeline, opp, event, to, reason


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_moves())
def test_fire_moves_where_the_state_chart_moves(
    move: tuple[Pipeline, Opportunity, str, str | None, str | None],
) -> None:
    pipeline, opp, event, to, reason = move
    at = opp.created_at + timedelta(days=1)
    kind, stage = pipeline.locate(opp, event)
    selected = pipeline.select(kind, opp.id, stage, event, to)
    if isinstance(selected, InvalidTransition):  # no candidate: refused before any chart
        with pytest.raises(InvalidTransition) as raised:
            pipeline.fire(opp, event, to=to, at=at, reason=reason)
        assert str(raised.value) == str(selected)
        return
    subject = Subject(opp, {} if reason is None else {"lost_reason": reason})
    expected = chart_target(pipeline, stage, event, to, subject)
    if expected is None:
        with pytest.raises(InvalidTransition):
            pipeline.fire(opp, event, to=to, at=at, reason=reason)
        return
    if pipeline.stages[expected].kind is StageKind.LOST and reason is None:
        return  # the chart allows the move; a required lost reason may still refuse it
    moved = pipeline.fire(opp, event, to=to, at=at, reason=reason).entity
    assert moved.stage == expected
    assert moved.evolve() == moved  # built without re-validation, yet valid as constructed


def _routing(first_guarded: bool) -> Pipeline:
    builder = PipelineBuilder("routing")
    for key in ("a", "big", "small"):
        builder.stage(key, probability=10)
    builder.stage("won", kind="won").stage("lost", kind="lost")
    big = {"guards": [guard("field_compare", field="amount", op=">=", value=1000)]}
    routes = [("big", big), ("small", {})]
    for target, extra in routes if first_guarded else routes[::-1]:
        builder.transition("route", "a", target, **extra)
    builder.transition("win", "*", "won").transition("lose", "*", "lost")
    return compile_pipeline(builder.build())


@pytest.mark.parametrize("first_guarded", [True, False])
@pytest.mark.parametrize("amount", [10, 5000])
def test_of_several_transitions_the_first_the_chart_allows_is_taken(
    first_guarded: bool, amount: int
) -> None:
    pipeline = _routing(first_guarded)
    opp = pipeline.open(name="D", amount=Money(amount, "EUR"), at=T0).entity
    expected = chart_target(pipeline, "a", "route", None, Subject(opp, {}))
    assert pipeline.fire(opp, "route", at=T0).entity.stage == expected
    # the definition order decides when both are allowed
    assert expected == ("big" if first_guarded and amount >= 1000 else "small")
