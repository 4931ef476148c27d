"""The bulk path agrees with the state machine and keeps no machine per entity."""

from __future__ import annotations

import gc
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from statemachine import StateChart

from pipelinekit import Lead, Money, Opportunity, ValidationError
from pipelinekit.pipelines import (
    BulkTransitionError,
    GuardFailed,
    InvalidTransition,
    Pipeline,
    PipelineMismatch,
    StaleTime,
    compile_pipeline,
)
from pipelinekit.testing.pipelines import opportunities_in, pipeline_specs

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
WHEN = datetime(2026, 6, 1, tzinfo=UTC)
EVENTS = ("advance", "skip", "back", "escalate", "review", "win", "lose", "reopen", "nope")


def _single(pipeline: Pipeline, opp: Opportunity, event: str, **kwargs: object) -> object:
    try:
        return pipeline.fire(opp, event, at=WHEN, actor="bot", **kwargs).entity  # type: ignore[arg-type]
    except InvalidTransition as error:
        return error


@settings(max_examples=300, deadline=None)
@given(
    data=st.data(),
    spec=pipeline_specs(),
    event=st.sampled_from(EVENTS),
    reason=st.sampled_from([None, "price"]),
)
def test_bulk_path_and_machine_agree(
    data: st.DataObject, spec: object, event: str, reason: str | None
) -> None:
    pipeline = compile_pipeline(spec)  # type: ignore[arg-type]
    opps = data.draw(st.lists(opportunities_in(pipeline), min_size=1, max_size=4))
    result = pipeline.bulk(opps, event, at=WHEN, actor="bot", reason=reason)
    moved = iter(result.moved)
    failures = {f.index: f.error for f in result.failures}
    for index, opp in enumerate(opps):
        single = _single(pipeline, opp, event, reason=reason)
        if isinstance(single, InvalidTransition):
            bulk_error = failures[index]
            assert type(bulk_error) is type(single)
            assert str(bulk_error) == str(single)
            if isinstance(single, GuardFailed):
                assert (bulk_error.guard, bulk_error.why) == (single.guard, single.why)  # type: ignore[attr-defined]
        else:
            assert index not in failures
            assert next(moved) == single
    assert next(moved, None) is None


@settings(max_examples=100, deadline=None)
@given(data=st.data(), spec=pipeline_specs(), event=st.sampled_from(EVENTS))
def test_fast_construction_equals_validated_construction(
    data: st.DataObject, spec: object, event: str
) -> None:
    pipeline = compile_pipeline(spec)  # type: ignore[arg-type]
    opps = data.draw(st.lists(opportunities_in(pipeline), min_size=1, max_size=5))
    fast = pipeline.bulk(opps, event, at=WHEN, reason="price", competitor="Globex")
    checked = pipeline.bulk(opps, event, at=WHEN, reason="price", competitor="Globex", verify=True)
    assert fast.moved == checked.moved
    for entity in fast.moved:
        # a fully validated rebuild accepts every field the fast path wrote
        assert entity.evolve() == entity


def test_bulk_reports_failures_and_strict_mode_applies_nothing(sales: Pipeline) -> None:
    base = sales.open(name="Deal", amount=Money(10, "EUR"), at=T0).entity
    opps = [
        base,
        base.evolve(stage="proposal"),
        base.evolve(pipeline="other"),
        base.evolve(stage="gone"),
    ]
    result = sales.bulk(opps, "advance", at=WHEN)
    assert [o.stage for o in result.moved] == ["qualification"]
    kinds = {f.index: type(f.error) for f in result.failures}
    assert kinds == {1: InvalidTransition, 2: PipelineMismatch, 3: InvalidTransition}
    assert result.failures[0].entity_id == base.id
    with pytest.raises(BulkTransitionError) as caught:
        sales.bulk(opps, "advance", at=WHEN, strict=True)
    assert [index for index, _ in caught.value.failures] == [1, 2, 3]
    with pytest.raises(ValidationError) as bad:
        sales.bulk(opps, "advance", at=WHEN, actor=" ", reason="x" * 600)
    assert set(bad.value.paths) == {"$.actor", "$.reason"}
    assert sales.bulk([], "advance", at=WHEN).moved == []


def test_bulk_events_match_the_single_path(sales: Pipeline) -> None:
    base = sales.open(name="Deal", at=T0).entity
    proposal = base.evolve(stage="proposal")
    lost = sales.lose(base, reason="price", at=T0 + timedelta(days=1)).entity
    single = [
        *sales.lose(proposal, reason="late", competitor="Globex", at=WHEN).events,
    ]
    bulk = list(
        sales.bulk([proposal], "lose", at=WHEN, reason="late", competitor="Globex").events()
    )
    assert bulk == [e for e in single if e.kind != "probability_changed"]
    reopened = list(sales.bulk([lost], "reopen", to="meeting", at=WHEN).events())
    assert [e.kind for e in reopened] == ["stage_changed", "opportunity_reopened"]


def test_bulk_moves_leads_but_never_converts_them(lifecycle: Pipeline, lead: Lead) -> None:
    qualified = lifecycle.fire(lead, "qualify", at=T0).entity
    result = lifecycle.bulk([lead, qualified], "disqualify", at=WHEN, actor="bot")
    assert [x.status for x in result.moved] == ["disqualified", "disqualified"]
    assert result.moved[0].history[-1].actor == "bot"
    refused = lifecycle.bulk([qualified], "convert", at=WHEN)
    assert "use convert()" in str(refused.failures[0].error)
    # a non-entity is a failure wherever it stands, first or not
    odd = lifecycle.bulk(["x", lead, None], "contact", at=WHEN)  # type: ignore[list-item]
    assert [f.index for f in odd.failures] == [0, 2]
    assert all(isinstance(f.error, ValidationError) for f in odd.failures)
    assert [x.status for x in odd.moved] == ["contacted"]


def test_bulk_reads_a_generator_once_and_refuses_a_non_iterable(
    lifecycle: Pipeline, lead: Lead
) -> None:
    result = lifecycle.bulk((x for x in [None, lead]), "contact", at=WHEN)  # type: ignore[arg-type]
    assert [f.index for f in result.failures] == [0]
    assert [x.status for x in result.moved] == ["contacted"]
    with pytest.raises(ValidationError) as caught:
        lifecycle.bulk(None, "contact", at=WHEN)  # type: ignore[arg-type]
    assert caught.value.paths == ("$.entities",)


def test_bulk_refuses_moves_dated_before_the_last_change(sales: Pipeline) -> None:
    opp = sales.open(name="Deal", at=WHEN).entity
    result = sales.bulk([opp], "advance", at=WHEN - timedelta(days=1))
    error = result.failures[0].error
    assert isinstance(error, StaleTime)  # the same error as a single move's, retryable
    assert (error.at, error.last, error.retryable) == (WHEN - timedelta(days=1), WHEN, True)


def test_bulk_keeps_no_machine_objects(sales: Pipeline) -> None:
    opp = sales.open(name="Deal", at=T0).entity
    gc.collect()
    before = sum(isinstance(o, StateChart) for o in gc.get_objects())
    gc.disable()
    try:
        result = sales.bulk([opp] * 2000, "advance", at=WHEN)
        during = sum(isinstance(o, StateChart) for o in gc.get_objects())
    finally:
        gc.enable()
    assert len(result.moved) == 2000
    assert during == before
    # the shared history record is immutable, so every moved entity may hold the same one
    assert result.moved[0].history[-1] is result.moved[1].history[-1]


LIFECYCLE_EVENTS = ("contact", "nurture", "qualify", "disqualify", "convert", "recycle", "nope")
STATUSES = ("new", "contacted", "nurturing", "qualified", "disqualified", "converted")


@pytest.mark.parametrize("status", STATUSES)
@pytest.mark.parametrize("event", LIFECYCLE_EVENTS)
def test_bulk_and_machine_agree_on_every_lead_status_and_event(
    lifecycle: Pipeline, lead: Lead, status: str, event: str
) -> None:
    entity = lead.evolve(status=status)
    bulk = lifecycle.bulk([entity], event, at=WHEN, actor="bot")
    single = _single(lifecycle, entity, event)  # type: ignore[arg-type]
    if isinstance(single, InvalidTransition):
        assert bulk.moved == []
        assert type(bulk.failures[0].error) is type(single)
        assert str(bulk.failures[0].error) == str(single)
    else:
        assert bulk.moved == [single]


@settings(max_examples=150, deadline=None)
@given(
    data=st.data(),
    spec=pipeline_specs(),
    event=st.sampled_from(EVENTS),
    reason=st.sampled_from([None, "price"]),
)
def test_explain_predicts_exactly_what_fire_does(
    data: st.DataObject, spec: object, event: str, reason: str | None
) -> None:
    pipeline = compile_pipeline(spec)  # type: ignore[arg-type]
    opp = data.draw(opportunities_in(pipeline))
    predicted = pipeline.explain(opp, event, reason=reason)
    single = _single(pipeline, opp, event, reason=reason)
    if predicted is None:
        assert isinstance(single, Opportunity)
    else:
        assert type(predicted) is type(single)
        assert str(predicted) == str(single)
    if reason is None:  # available_events asks without pending inputs
        assert (event in pipeline.available_events(opp)) is (predicted is None)
