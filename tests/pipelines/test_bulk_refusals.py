"""Bulk refusals: each failure is the error fire() raises for that entity, in the same words."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelinekit import Lead, Opportunity, Person, PipelinekitError, ValidationError
from pipelinekit.pipelines import (
    BulkTransitionError,
    GuardFailed,
    Pipeline,
    PipelineMismatch,
    default_guards,
    lead_lifecycle,
    sales_pipeline,
)
from pipelinekit.testing.pipelines import opportunities_in, pipelines

WHEN = datetime(2026, 6, 1, tzinfo=UTC)
EVENTS = ("advance", "skip", "back", "win", "lose", "reopen", "advanse")


def _fire(pipeline: Pipeline, entity: Any, event: str, **kwargs: Any) -> Any:
    try:
        return pipeline.fire(entity, event, at=WHEN, **kwargs).entity
    except PipelinekitError as refused:
        return refused


def _problems(error: object) -> list[tuple[str, str]]:
    assert isinstance(error, ValidationError)
    assert error.subject == "bulk"
    return [(p.path, p.message) for p in error.problems]


@st.composite
def _batch(draw: st.DrawFn, pipeline: Pipeline) -> list[Opportunity]:
    opps = draw(st.lists(opportunities_in(pipeline), min_size=1, max_size=4))
    odd = draw(st.sampled_from([None, "pipeline", "stage"]))
    if odd == "pipeline":
        opps.append(opps[0].evolve(pipeline="elsewhere"))
    elif odd == "stage":
        opps.append(opps[0].evolve(stage="gone"))
    return opps


@settings(max_examples=150, deadline=None)
@given(
    data=st.data(),
    pipeline=pipelines(),
    event=st.sampled_from(EVENTS),
    reason=st.sampled_from([None, "price"]),
    competitor=st.sampled_from([None, "Globex"]),
)
def test_every_bulk_failure_is_the_single_refusal(
    data: st.DataObject,
    pipeline: Pipeline,
    event: str,
    reason: str | None,
    competitor: str | None,
) -> None:
    pipeline = Pipeline(pipeline.spec, default_guards())  # built now, not the cached one
    opps = data.draw(_batch(pipeline))
    to = data.draw(st.none() | st.sampled_from([*pipeline.spec.stage_keys, "nowhere"]))
    kwargs = {"to": to, "reason": reason, "competitor": competitor, "actor": "bot"}
    result = pipeline.bulk(opps, event, at=WHEN, **kwargs)
    assert (result.pipeline, result.event) == (pipeline.key, event)
    assert result.closed_stages == pipeline.closed_stages()
    failures = {f.index: f for f in result.failures}
    assert sorted(failures) == [f.index for f in result.failures]  # in input order
    moved = iter(result.moved)
    for index, opp in enumerate(opps):
        single = _fire(pipeline, opp, event, **kwargs)
        if isinstance(single, Opportunity):
            assert index not in failures
            assert next(moved) == single
            continue
        failure = failures[index]
        assert failure.entity_id == opp.id
        assert type(failure.error) is type(single)
        assert str(failure.error) == str(single)
        if isinstance(single, GuardFailed):
            assert (failure.error.guard, failure.error.why, failure.error.target) == (  # type: ignore[attr-defined]
                single.guard,
                single.why,
                single.target,
            )
        if isinstance(single, PipelineMismatch):
            assert vars(failure.error) == vars(single)
    assert next(moved, None) is None
    if result.failures:
        with pytest.raises(BulkTransitionError) as strict:
            pipeline.bulk(opps, event, at=WHEN, strict=True, **kwargs)
        assert [(i, str(e)) for i, e in strict.value.failures] == [
            (f.index, str(f.error)) for f in result.failures
        ]
    else:
        assert pipeline.bulk(opps, event, at=WHEN, strict=True, **kwargs).moved == result.moved


def test_bulk_checks_its_inputs_once_with_paths() -> None:
    sales = sales_pipeline()
    opp = sales.open(name="Deal", at=WHEN).entity
    with pytest.raises(ValidationError) as bad:
        sales.bulk(
            [opp],
            3,  # type: ignore[arg-type]
            to=4,  # type: ignore[arg-type]
            actor="a" * 201,
            note=5,  # type: ignore[arg-type]
            reason="r" * 501,
            competitor="c" * 201,
            at=WHEN,
        )
    assert bad.value.subject == "bulk"
    assert bad.value.paths == ("$.event", "$.to", "$.actor", "$.note", "$.reason", "$.competitor")
    # the longest accepted values
    ok = sales.bulk([opp], "lose", actor="a" * 200, reason="r" * 500, competitor="c" * 200, at=WHEN)
    assert ok.moved[0].lost_reason == "r" * 500
    with pytest.raises(ValidationError) as not_a_list:
        sales.bulk(42, "advance", at=WHEN)  # type: ignore[arg-type]
    assert [(p.path, p.message) for p in not_a_list.value.problems] == [
        ("$.entities", "must be a list of entities, got int")
    ]


def test_an_empty_batch_and_a_batch_of_strangers() -> None:
    sales = sales_pipeline()
    empty = sales.bulk([], "advance", at=WHEN)
    assert (empty.moved, empty.failures, empty.pipeline, empty.event) == (
        [],
        [],
        "sales",
        "advance",
    )
    assert empty.closed_stages == frozenset({"closed_won", "closed_lost"})
    lead = Lead.create(contact=Person.of("Ada"), at=WHEN)
    opp = sales.open(name="Deal", at=WHEN).entity
    # the kind comes from the first lead or opportunity, whatever stands before it
    mixed = sales.bulk(["x", opp, lead], "advance", at=WHEN)  # type: ignore[list-item]
    assert [m.stage for m in mixed.moved] == ["qualification"]
    assert [(f.index, f.entity_id) for f in mixed.failures] == [(0, "?"), (2, lead.id)]
    assert [_problems(f.error) for f in mixed.failures] == [
        [("$", "expected an Opportunity, got str")],
        [("$", "expected an Opportunity, got Lead")],
    ]
    lifecycle = lead_lifecycle()
    leads = lifecycle.bulk([lead, opp], "contact", at=WHEN)
    assert [m.status for m in leads.moved] == ["contacted"]
    assert _problems(leads.failures[0].error) == [("$", "expected a Lead, got Opportunity")]
    assert lifecycle.bulk(iter([lead]), "contact", at=WHEN + timedelta(hours=1)).moved[
        0
    ].status == ("contacted")


def test_a_bulk_guard_failure_looks_at_the_entity_and_the_batch_inputs() -> None:
    from pipelinekit import Money
    from pipelinekit.pipelines import PipelineBuilder, compile_pipeline, guard

    pipeline = compile_pipeline(
        PipelineBuilder("guarded_lose")
        .stage("a")
        .stage("won", kind="won")
        .stage("lost", kind="lost")
        .transition("win", "a", "won")
        .transition(
            "lose",
            "a",
            "lost",
            guards=[
                guard("lost_reason_given"),
                guard("field_compare", field="amount", op=">=", value=1000),
            ],
        )
        .build()
    )
    opp = pipeline.open(name="Deal", amount=Money(500, "EUR"), at=WHEN).entity
    [failure] = pipeline.bulk([opp], "lose", reason="price", at=WHEN).failures
    error = failure.error
    assert isinstance(error, GuardFailed)
    # the reason passed the first guard; the amount (of this entity) failed the second
    assert error.guard == "field_compare(field='amount', op='>=', value=1000)"
    assert error.why == "amount must be >= 1000"
    assert str(error) == str(_fire(pipeline, opp, "lose", reason="price"))


def test_a_guard_that_changes_its_mind_gets_the_same_refusal_single_and_bulk() -> None:
    # an app's guard may read outside state, so its answer can change between the move
    # and the report of the refusal: both paths then report the machine's refusal
    from pipelinekit.pipelines import (
        InvalidTransition,
        PipelineBuilder,
        Subject,
        compile_pipeline,
        default_guards,
        guard,
    )

    calls: list[int] = []

    def flip() -> object:
        def check(subject: Subject) -> str | None:
            calls.append(1)
            return "not now" if len(calls) % 2 else None

        return check

    registry = default_guards().copy()
    registry.register("flip", flip)
    pipeline = compile_pipeline(
        PipelineBuilder("moody")
        .stage("a")
        .stage("b")
        .stage("won", kind="won")
        .stage("lost", kind="lost")
        .transition("go", "a", "b", guards=[guard("flip")])
        .transition("win", "*", "won")
        .transition("lose", "*", "lost")
        .build(guards=registry),
        guards=registry,
    )
    opp = pipeline.open(name="Deal", at=WHEN).entity
    calls.clear()
    single = _fire(pipeline, opp, "go")
    assert type(single) is InvalidTransition
    assert (single.entity_kind, single.entity_id, single.stage, single.event) == (
        "opportunity",
        opp.id,
        "a",
        "go",
    )
    assert single.reason == "the state machine refused the move"
    assert single.allowed == ("go", "win", "lose")
    calls.clear()
    [failure] = pipeline.bulk([opp], "go", at=WHEN).failures
    assert type(failure.error) is InvalidTransition
    assert str(failure.error) == str(single)
    calls.clear()
    explained = pipeline.explain(opp, "go")
    assert explained is not None
    assert explained.reason == "the state machine refused the move"


def test_bulk_inputs_reach_the_guards_the_notes_and_the_clock() -> None:
    from pipelinekit.clock import FixedClock
    from pipelinekit.pipelines import PipelineBuilder, compile_pipeline, guard

    pipeline = compile_pipeline(
        PipelineBuilder("rivals_bulk")
        .stage("a")
        .stage("won", kind="won")
        .stage("lost", kind="lost")
        .transition("win", "a", "won")
        .transition("lose", "a", "lost", guards=[guard("field_present", field="competitor")])
        .build()
    )
    opp = pipeline.open(name="Deal", at=WHEN).entity
    later = WHEN + timedelta(days=1)
    done = pipeline.bulk(
        [opp], "lose", reason="price", competitor="Globex", clock=FixedClock(later)
    )
    assert [(m.stage, m.competitor, m.closed_at) for m in done.moved] == [("lost", "Globex", later)]
    assert isinstance(
        pipeline.bulk([opp], "lose", reason="price", at=WHEN).failures[0].error, GuardFailed
    )
    # a lead disqualified with a note and a reason keeps both in its note
    lifecycle = lead_lifecycle()
    lead = Lead.create(contact=Person.of("Ada"), at=WHEN)
    [moved] = lifecycle.bulk([lead], "disqualify", note="called", reason="price", at=WHEN).moved
    assert moved.history[-1].note == "called (lost: price)"
    [plain] = lifecycle.bulk([lead], "disqualify", reason="price", at=WHEN).moved
    assert plain.history[-1].note == "lost: price"
    # a batch without any lead or opportunity: every item is a failure, nothing raises
    strangers = pipeline.bulk(["x", None], "win", at=WHEN)  # type: ignore[list-item]
    assert (strangers.moved, [f.index for f in strangers.failures]) == ([], [0, 1])
    with pytest.raises(ValidationError) as no_event:
        pipeline.bulk([opp], None, at=WHEN)  # type: ignore[arg-type]
    assert [(p.path, p.message) for p in no_event.value.problems] == [("$.event", "is required")]


def test_each_kind_of_bulk_failure_names_its_item_and_the_batch_goes_on() -> None:
    from pipelinekit.pipelines import PipelineBuilder, StaleTime, compile_pipeline

    deals = compile_pipeline(
        PipelineBuilder("deals_batch")
        .stage("open")
        .stage("won", kind="won")
        .stage("lost", kind="lost")
        .transition("win", "open", "won")
        .transition("lose", "open", "lost")
        .build()
    )
    early = deals.open(name="A", at=WHEN).entity
    late = deals.open(name="B", at=WHEN + timedelta(days=2)).entity
    bare = early.evolve(
        history=(), created_at=WHEN + timedelta(days=3), updated_at=WHEN + timedelta(days=3)
    )
    at = WHEN + timedelta(days=1)
    # stale items (by history, or by creation without history) do not stop the batch
    result = deals.bulk([late, bare, early], "win", at=at)
    assert [(f.index, f.entity_id, type(f.error)) for f in result.failures] == [
        (0, late.id, StaleTime),
        (1, bare.id, StaleTime),
    ]
    assert [m.id for m in result.moved] == [early.id]
    # a missing lost reason refuses every item, each under its own index and id
    lost = deals.bulk([early, late], "lose", at=WHEN + timedelta(days=3))
    assert [(f.index, f.entity_id) for f in lost.failures] == [(0, early.id), (1, late.id)]
    assert all("lost reason is required" in str(f.error) for f in lost.failures)
    # a lead that would convert is refused, and the next lead still moves
    lifecycle = lead_lifecycle()
    lead = Lead.create(contact=Person.of("Ada"), at=WHEN)
    qualified = lifecycle.fire(lead, "qualify", at=WHEN).entity
    other = lifecycle.fire(
        Lead.create(contact=Person.of("Bob"), at=WHEN), "qualify", at=WHEN
    ).entity
    converted = lifecycle.bulk([qualified, other], "convert", at=WHEN)
    assert [(f.index, f.entity_id) for f in converted.failures] == [
        (0, qualified.id),
        (1, other.id),
    ]
    mixed = lifecycle.bulk([qualified, lead], "disqualify", at=WHEN)
    assert [m.id for m in mixed.moved] == [qualified.id, lead.id]
