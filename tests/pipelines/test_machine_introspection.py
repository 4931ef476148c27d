"""The compiled machinery: identifiers, the chart class, introspection and refusal words."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from pipelinekit import Opportunity
from pipelinekit.pipelines import (
    GuardFailed,
    InvalidTransition,
    PipelineBuilder,
    StageKind,
    Subject,
    compile_pipeline,
    default_guards,
    guard,
    lead_lifecycle,
    sales_pipeline,
)
from pipelinekit.pipelines.machine import safe_ids
from pipelinekit.pipelines.operations.transitions import chart_target

T0 = datetime(2026, 3, 2, tzinfo=UTC)
SALES = sales_pipeline()
STAGES = "'initial_contact', 'qualification', 'meeting', 'proposal', 'closed_won', 'closed_lost'"


def test_safe_ids_keep_plain_names_and_number_clashes() -> None:
    names = ["Closed Won", "closed_won", "st", "12345678", "  Ab--c ", "_x_", "!!", "é"]
    assert safe_ids([*names, "Closed Won"], "st_") == {
        "closed_won": "st_closed_won",
        "st": "st_st",
        "12345678": "st_12345678",
        "_x_": "st__x_",
        "Closed Won": "st_closed_won_2",
        "  Ab--c ": "st_ab_c",
        "!!": "st_x",
        "é": "st_x_2",
    }
    assert safe_ids(["a b", "a-b", "a.b"], "ev_") == {
        "a b": "ev_a_b",
        "a-b": "ev_a_b_2",
        "a.b": "ev_a_b_3",
    }


def test_the_chart_class_is_named_documented_and_marks_initial_and_final_states() -> None:
    lifecycle = lead_lifecycle()
    assert lifecycle.machine_class.__name__ == "LeadLifecyclePipeline"
    assert SALES.machine_class.__name__ == "SalesPipeline"
    assert SALES.machine_class.__doc__ == (
        f"State machine compiled from pipeline 'sales' ({SALES.version[:12]})."
    )
    flags = {s.value: (s.initial, s.final) for s in lifecycle.machine_class.states}
    # a closed stage with a way out (disqualified -> recycle) is not final
    assert flags == {
        "new": (True, False),
        "contacted": (False, False),
        "nurturing": (False, False),
        "qualified": (False, False),
        "disqualified": (False, False),
        "converted": (False, True),
    }
    assert SALES.state_ids["closed_won"] == "st_closed_won"
    assert SALES.event_ids["advance"] == "ev_advance"


def test_introspection() -> None:
    assert repr(SALES) == f"Pipeline('sales', version={SALES.version[:12]!r}, stages=6)"
    assert (SALES.key, SALES.version, SALES.first_stage.key) == (
        "sales",
        SALES.spec.version,
        "initial_contact",
    )
    assert [s.key for s in SALES.stages_of_kind("won")] == ["closed_won"]
    assert [s.key for s in SALES.stages_of_kind(StageKind.OPEN)] == [
        "initial_contact",
        "qualification",
        "meeting",
        "proposal",
    ]
    assert SALES.closed_stages() == frozenset({"closed_won", "closed_lost"})
    # allowed events in the definition's order, whatever the transitions' order
    assert SALES.allowed_events("proposal") == ("win", "lose")
    assert SALES.allowed_events("closed_won") == ("reopen",)
    assert SALES.allowed_events("nowhere") == ()
    assert SALES.candidates("nowhere", "advance") == ()
    assert [c.target for c in SALES.candidates("closed_lost", "reopen")] == [
        "initial_contact",
        "qualification",
        "meeting",
        "proposal",
    ]


def test_unknown_names_are_explained() -> None:
    assert SALES.unknown_stage("meeting") is None
    assert SALES.unknown_stage(3) == f"unknown stage 3; this pipeline's stages are {STAGES}"
    assert SALES.unknown_stage("zzzz") == (
        f"unknown stage 'zzzz'; this pipeline's stages are {STAGES}"
    )
    assert SALES.unknown_stage(" closed WON ") == (
        "unknown stage ' closed WON '; did you mean key 'closed_won' for label 'Closed won'?"
    )
    assert SALES.unknown_stage("meetin") == "unknown stage 'meetin'; did you mean 'meeting'?"
    assert SALES.unknown_event(3) == (
        "unknown event; this pipeline's events are advance, win, lose, reopen"
    )
    assert SALES.unknown_event("advanec") == (
        "unknown event; did you mean 'advance'? this pipeline's events are advance, win, "
        "lose, reopen"
    )


def test_refusals_name_the_entity_stage_event_and_allowed_events() -> None:
    opp = SALES.open(name="Deal", at=T0).entity
    with pytest.raises(InvalidTransition) as refused:
        SALES.fire(opp, "win", at=T0)
    error = refused.value
    assert (error.entity_kind, error.entity_id, error.pipeline) == ("opportunity", opp.id, "sales")
    assert (error.stage, error.event, error.allowed) == (
        "initial_contact",
        "win",
        ("advance", "lose"),
    )
    assert error.reason == "no transition from 'initial_contact'"
    with pytest.raises(InvalidTransition) as wrong_target:
        SALES.fire(opp, "advance", to="meeting", at=T0)
    assert wrong_target.value.reason == "'advance' does not lead to 'meeting' from here"
    with pytest.raises(InvalidTransition) as nowhere:
        SALES.fire(opp.evolve(stage="gone"), "advance", at=T0)
    assert nowhere.value.reason == (
        "stage 'gone' is not a stage of this pipeline version (initial_contact, "
        "qualification, meeting, proposal, closed_won, closed_lost); map it with "
        "change_pipeline()"
    )
    assert (nowhere.value.allowed, nowhere.value.event) == ((), "advance")
    with pytest.raises(GuardFailed) as guarded:
        SALES.fire(opp, "lose", at=T0)
    failure = guarded.value
    assert (failure.guard, failure.target, failure.stage, failure.event) == (
        "lost_reason_given",
        "closed_lost",
        "initial_contact",
        "lose",
    )
    assert (failure.entity_id, failure.pipeline, failure.allowed) == (
        opp.id,
        "sales",
        ("advance", "lose"),
    )


def test_the_chart_is_strict() -> None:
    subject = Subject(SALES.open(name="Deal", at=T0).entity, {})
    # an event without a transition from here is refused, not ignored
    assert chart_target(SALES, "closed_won", "advance", None, subject) is None
    assert chart_target(SALES, "initial_contact", "advance", None, subject) == "qualification"
    # a guard that raises is not turned into an error event
    registry = default_guards().copy()

    def broken() -> object:
        def check(subject: Subject) -> str | None:
            raise RuntimeError("guard bug")

        return check

    registry.register("broken", broken)
    spec = (
        PipelineBuilder("strict")
        .stage("a")
        .stage("won", kind="won")
        .stage("lost", kind="lost")
        .transition("win", "a", "won", guards=[guard("broken")])
        .transition("lose", "a", "lost")
        .build(guards=registry)
    )
    pipeline = compile_pipeline(spec, guards=registry)
    opp = pipeline.open(name="Deal", at=T0).entity
    assert isinstance(opp, Opportunity)
    with pytest.raises(RuntimeError, match="guard bug"):
        chart_target(pipeline, "a", "win", None, Subject(opp, {}))


def test_several_targets_for_one_event_are_picked_with_to() -> None:
    pipeline = compile_pipeline(
        PipelineBuilder("routes")
        .stage("a")
        .stage("b")
        .stage("c")
        .stage("won", kind="won")
        .stage("lost", kind="lost")
        .transition("go", "a", "b")
        .transition("go", "a", "c")
        .transition("win", "*", "won")
        .transition("lose", "*", "lost")
        .build()
    )
    subject = Subject(pipeline.open(name="Deal", at=T0).entity, {})
    assert chart_target(pipeline, "a", "go", None, subject) == "b"
    assert chart_target(pipeline, "a", "go", "c", subject) == "c"
    assert chart_target(pipeline, "a", "go", "b", subject) == "b"
