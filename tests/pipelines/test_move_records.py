"""Every move, written out: the moved entity, its history record and its events.

For any pipeline, any opportunity or lead in any stage and any event with any
inputs (actor, note, lost reason, competitor), a move that goes ahead must
produce exactly what the documentation describes: one history record, the
closing fields of the target stage's kind, the layered probability, and the
events in order.  The bulk path must produce the same entities, field for field.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from pipelinekit import Lead, Opportunity, Outcome, Person, PipelinekitError, ProbabilitySource
from pipelinekit.domain.history import StageChange
from pipelinekit.pipelines import (
    DomainEvent,
    OpportunityLost,
    OpportunityReopened,
    OpportunityWon,
    Pipeline,
    ProbabilityChanged,
    StageChanged,
    StageKind,
    default_guards,
    lead_lifecycle,
)
from pipelinekit.testing.pipelines import opportunities_in, pipelines

EVENTS = ("advance", "skip", "back", "escalate", "review", "win", "lose", "reopen")
LIFECYCLE = lead_lifecycle()
inputs = st.fixed_dictionaries(
    {
        "actor": st.none() | st.just("ana"),
        "note": st.none() | st.just("called"),
        "reason": st.none() | st.just("price"),
        "competitor": st.none() | st.just("Globex"),
    }
)


def _rule(stage_kind: StageKind, default: Decimal, opp: Opportunity) -> tuple[Any, Any]:
    if stage_kind is StageKind.WON:
        return Decimal(100), ProbabilitySource.CLOSED
    if stage_kind is StageKind.LOST:
        return Decimal(0), ProbabilitySource.CLOSED
    if opp.manual_probability is not None:
        return opp.manual_probability, ProbabilitySource.MANUAL
    if opp.automated_probability is not None:
        return opp.automated_probability, ProbabilitySource.AUTOMATED
    return default, ProbabilitySource.STAGE_DEFAULT


def expected_move(
    pipeline: Pipeline, opp: Opportunity, target: str, event: str, at: Any, kw: dict[str, Any]
) -> tuple[dict[str, Any], list[DomainEvent]]:
    """The fields a move of ``opp`` into ``target`` sets, and its events, from the docs."""
    source = opp.stage
    kind = pipeline.stages[target].kind
    actor, note = kw["actor"], kw["note"]
    reason, competitor = kw["reason"], kw["competitor"]
    change = StageChange(source, target, event, at, actor, note, pipeline.key)
    probability, origin = _rule(kind, pipeline.stages[target].probability, opp)
    fields: dict[str, Any] = {
        "stage": target,
        "history": (*opp.history, change),
        "updated_at": max(at, opp.updated_at),
        "pipeline_version": pipeline.version,
        "probability": probability,
        "probability_source": origin,
        "outcome": {StageKind.WON: Outcome.WON, StageKind.LOST: Outcome.LOST}.get(
            kind, Outcome.OPEN
        ),
        "closed_at": at if kind.is_closed else None,
        "lost_reason": reason if kind is StageKind.LOST else None,
        "competitor": competitor if kind.is_closed and competitor else opp.competitor,
    }
    events: list[DomainEvent] = [
        StageChanged("opportunity", opp.id, at, pipeline.key, source, target, event, actor, note)
    ]
    if kind is StageKind.WON:
        events.append(OpportunityWon("opportunity", opp.id, at, pipeline.key, target, actor))
    elif kind is StageKind.LOST:
        events.append(
            OpportunityLost(
                "opportunity", opp.id, at, pipeline.key, target, reason, competitor, actor
            )
        )
    elif pipeline.stages[source].is_closed:
        events.append(
            OpportunityReopened("opportunity", opp.id, at, pipeline.key, source, target, actor)
        )
    if (probability, origin) != (opp.probability, opp.probability_source):
        events.append(
            ProbabilityChanged(
                "opportunity", opp.id, at, opp.probability, probability, origin.value, actor
            )
        )
    return fields, events


def _fire(pipeline: Pipeline, entity: Any, event: str, at: Any, kw: dict[str, Any]) -> Any:
    try:
        return pipeline.fire(entity, event, at=at, **kw)
    except PipelinekitError as refused:
        return refused


@settings(max_examples=200, deadline=None)
@given(
    data=st.data(),
    pipeline=pipelines(),
    event=st.sampled_from(EVENTS),
    kw=inputs,
    minutes=st.integers(0, 20_000),
)
def test_a_move_records_exactly_what_the_docs_say(
    data: st.DataObject, pipeline: Pipeline, event: str, kw: dict[str, Any], minutes: int
) -> None:
    # built now rather than compile_pipeline's cached one: the machinery as the code builds it
    pipeline = Pipeline(pipeline.spec, default_guards())
    opp = data.draw(opportunities_in(pipeline))
    at = opp.created_at - timedelta(minutes=10_000) + timedelta(minutes=minutes)
    moved = _fire(pipeline, opp, event, at, kw)
    if isinstance(moved, PipelinekitError):
        explained = pipeline.explain(opp, event, reason=kw["reason"], competitor=kw["competitor"])
        assert explained is not None or at < opp.history[-1].at
        # the bulk path refuses it with the same error
        bulk = pipeline.bulk([opp], event, at=at, **kw)
        assert bulk.moved == []
        assert type(bulk.failures[0].error) is type(moved)
        assert str(bulk.failures[0].error) == str(moved)
        return
    assert at >= opp.history[-1].at
    target = moved.entity.stage
    assert target in {c.target for c in pipeline.candidates(opp.stage, event)}
    fields, events = expected_move(pipeline, opp, target, event, at, kw)
    new = moved.entity
    assert {name: getattr(new, name) for name in fields} == fields
    assert moved.change == fields["history"][-1]
    assert list(moved.events) == events
    # nothing else changed
    assert new.evolve(**{n: getattr(opp, n) for n in fields}) == opp
    # the bulk path builds the same entity, with or without the validating rebuild
    for verify in (False, True):
        assert pipeline.bulk([opp], event, at=at, verify=verify, **kw).moved == [new]


LEAD_EVENTS = ("contact", "nurture", "qualify", "disqualify", "recycle", "convert")


@settings(max_examples=100, deadline=None)
@given(
    status=st.sampled_from(LIFECYCLE.spec.stage_keys),
    event=st.sampled_from(LEAD_EVENTS),
    kw=inputs,
    hours=st.integers(-2, 2),
)
def test_a_lead_move_keeps_its_lost_reason_in_the_note(
    status: str, event: str, kw: dict[str, Any], hours: int
) -> None:
    from datetime import UTC, datetime

    t0 = datetime(2026, 3, 2, tzinfo=UTC)
    lifecycle = Pipeline(LIFECYCLE.spec, default_guards())
    lead = Lead.create(contact=Person.of("Ada"), at=t0).evolve(status=status)
    at = t0 + timedelta(hours=hours)
    moved = _fire(lifecycle, lead, event, at, kw)
    if isinstance(moved, PipelinekitError):
        bulk = lifecycle.bulk([lead], event, at=at, **kw)
        assert bulk.moved == []
        assert type(bulk.failures[0].error) is type(moved)
        assert str(bulk.failures[0].error) == str(moved)
        return
    target = moved.entity.status
    note, reason = kw["note"], kw["reason"]
    if reason is not None and lifecycle.stages[target].kind is StageKind.LOST:
        note = f"lost: {reason}" if note is None else f"{note} (lost: {reason})"
    change = StageChange(status, target, event, at, kw["actor"], note, lifecycle.key)
    assert moved.change == change
    assert moved.entity == lead.evolve(
        status=target, history=(*lead.history, change), updated_at=max(at, lead.updated_at)
    )
    assert moved.events == (
        StageChanged("lead", lead.id, at, lifecycle.key, status, target, event, kw["actor"], note),
    )
    for verify in (False, True):
        assert lifecycle.bulk([lead], event, at=at, verify=verify, **kw).moved == [moved.entity]


def test_bulk_reports_the_refusal_fire_meets_first_not_the_stale_time() -> None:
    # regression: bulk checked the time before the lost reason and the conversion,
    # so an entity with two problems got another error than fire() raises
    from datetime import UTC, datetime

    from pipelinekit.pipelines import PipelineBuilder, compile_pipeline

    t0 = datetime(2026, 3, 2, tzinfo=UTC)
    deals = compile_pipeline(
        PipelineBuilder("deals")
        .stage("open")
        .stage("won", kind="won")
        .stage("lost", kind="lost")
        .transition("win", "open", "won")
        .transition("lose", "open", "lost")
        .build()
    )
    opp = deals.open(name="Deal", at=t0).entity
    before = t0 - timedelta(days=1)
    single = _fire(deals, opp, "lose", before, {})
    assert "lost reason is required" in str(single)
    [failure] = deals.bulk([opp], "lose", at=before).failures
    assert (type(failure.error), str(failure.error)) == (type(single), str(single))
    lead = LIFECYCLE.fire(Lead.create(contact=Person.of("Ada"), at=t0), "qualify", at=t0).entity
    single = _fire(LIFECYCLE, lead, "convert", before, {})
    assert "use convert()" in str(single)
    [failure] = LIFECYCLE.bulk([lead], "convert", at=before).failures
    assert (type(failure.error), str(failure.error)) == (type(single), str(single))
