"""The compiled machinery: identifiers, the chart class, introspection and refusal words."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from pipelinekit import Opportunity
from pipelinekit.pipelines import (
    LEAD_LIFECYCLE,
    SALES,
    GuardFailed,
    GuardRegistry,
    InvalidTransition,
    Pipeline,
    PipelineBuilder,
    PipelineSpec,
    StageKind,
    Subject,
    default_guards,
    guard,
)
from pipelinekit.pipelines.machine import safe_ids
from pipelinekit.pipelines.operations.transitions import chart_target

T0 = datetime(2026, 3, 2, tzinfo=UTC)


def fresh(spec: PipelineSpec, guards: GuardRegistry | None = None) -> Pipeline:
    """A pipeline built now, not compile_pipeline's cached one, so that these tests look at
    the machinery as the code builds it today (a mutation run forks after the cache filled)."""
    return Pipeline(spec, guards if guards is not None else default_guards())


@pytest.fixture
def sales() -> Pipeline:
    return fresh(SALES)


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


def test_the_chart_class_is_named_documented_and_marks_initial_and_final_states(
    sales: Pipeline,
) -> None:
    lifecycle = fresh(LEAD_LIFECYCLE)
    assert lifecycle.machine_class.__name__ == "LeadLifecyclePipeline"
    assert sales.machine_class.__name__ == "SalesPipeline"
    assert sales.machine_class.__doc__ == (
        f"State machine compiled from pipeline 'sales' ({sales.version[:12]})."
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
    assert sales.state_ids["closed_won"] == "st_closed_won"
    assert sales.event_ids["advance"] == "ev_advance"


def test_introspection(sales: Pipeline) -> None:
    assert repr(sales) == f"Pipeline('sales', version={sales.version[:12]!r}, stages=6)"
    assert (sales.key, sales.version, sales.first_stage.key) == (
        "sales",
        sales.spec.version,
        "initial_contact",
    )
    assert [s.key for s in sales.stages_of_kind("won")] == ["closed_won"]
    assert [s.key for s in sales.stages_of_kind(StageKind.OPEN)] == [
        "initial_contact",
        "qualification",
        "meeting",
        "proposal",
    ]
    assert sales.closed_stages() == frozenset({"closed_won", "closed_lost"})
    # allowed events in the definition's order, whatever the transitions' order
    assert sales.allowed_events("proposal") == ("win", "lose")
    assert sales.allowed_events("closed_won") == ("reopen",)
    assert sales.allowed_events("nowhere") == ()
    assert sales.candidates("nowhere", "advance") == ()
    assert [c.target for c in sales.candidates("closed_lost", "reopen")] == [
        "initial_contact",
        "qualification",
        "meeting",
        "proposal",
    ]


def test_unknown_names_are_explained(sales: Pipeline) -> None:
    assert sales.unknown_stage("meeting") is None
    assert sales.unknown_stage(3) == f"unknown stage 3; this pipeline's stages are {STAGES}"
    assert sales.unknown_stage("zzzz") == (
        f"unknown stage 'zzzz'; this pipeline's stages are {STAGES}"
    )
    assert sales.unknown_stage(" closed WON ") == (
        "unknown stage ' closed WON '; did you mean key 'closed_won' for label 'Closed won'?"
    )
    assert sales.unknown_stage("meetin") == "unknown stage 'meetin'; did you mean 'meeting'?"
    assert sales.unknown_event(3) == (
        "unknown event; this pipeline's events are advance, win, lose, reopen"
    )
    assert sales.unknown_event("advanec") == (
        "unknown event; did you mean 'advance'? this pipeline's events are advance, win, "
        "lose, reopen"
    )


def test_refusals_name_the_entity_stage_event_and_allowed_events(sales: Pipeline) -> None:
    opp = sales.open(name="Deal", at=T0).entity
    with pytest.raises(InvalidTransition) as refused:
        sales.fire(opp, "win", at=T0)
    error = refused.value
    assert (error.entity_kind, error.entity_id, error.pipeline) == ("opportunity", opp.id, "sales")
    assert (error.stage, error.event, error.allowed) == (
        "initial_contact",
        "win",
        ("advance", "lose"),
    )
    assert error.reason == "no transition from 'initial_contact'"
    with pytest.raises(InvalidTransition) as wrong_target:
        sales.fire(opp, "advance", to="meeting", at=T0)
    assert wrong_target.value.reason == "'advance' does not lead to 'meeting' from here"
    with pytest.raises(InvalidTransition) as nowhere:
        sales.fire(opp.evolve(stage="gone"), "advance", at=T0)
    assert nowhere.value.reason == (
        "stage 'gone' is not a stage of this pipeline version (initial_contact, "
        "qualification, meeting, proposal, closed_won, closed_lost); map it with "
        "change_pipeline()"
    )
    assert (nowhere.value.allowed, nowhere.value.event) == ((), "advance")
    with pytest.raises(GuardFailed) as guarded:
        sales.fire(opp, "lose", at=T0)
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


def test_the_chart_is_strict(sales: Pipeline) -> None:
    subject = Subject(sales.open(name="Deal", at=T0).entity, {})
    # an event without a transition from here is refused, not ignored
    assert chart_target(sales, "closed_won", "advance", None, subject) is None
    assert chart_target(sales, "initial_contact", "advance", None, subject) == "qualification"
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
    pipeline = fresh(spec, registry)
    opp = pipeline.open(name="Deal", at=T0).entity
    assert isinstance(opp, Opportunity)
    with pytest.raises(RuntimeError, match="guard bug"):
        chart_target(pipeline, "a", "win", None, Subject(opp, {}))


def test_several_targets_for_one_event_are_picked_with_to_and_guards() -> None:
    from pipelinekit import Money

    pipeline = fresh(
        PipelineBuilder("routes")
        .stage("a")
        .stage("b")
        .stage("c")
        .stage("won", kind="won")
        .stage("lost", kind="lost")
        .transition(
            "go", "a", "b", guards=[guard("field_compare", field="amount", op=">=", value=1000)]
        )
        .transition("go", "a", "c")
        .transition("win", "*", "won")
        .transition("lose", "*", "lost")
        .build()
    )
    big = pipeline.open(name="Deal", amount=Money(2000, "EUR"), at=T0).entity
    small = big.evolve(amount=Money(10, "EUR"))
    for target, to, deal in [
        ("b", None, big),
        ("c", None, small),
        ("c", "c", big),
        ("c", "c", small),
        ("b", "b", big),
        (None, "b", small),
    ]:
        assert chart_target(pipeline, "a", "go", to, Subject(deal, {})) == target
        moved = pipeline.explain(deal, "go", to=to)
        assert (moved is None) is (target is not None)
        if target is not None:
            assert pipeline.fire(deal, "go", to=to, at=T0).entity.stage == target
    # the table the moves use was read back from the chart, in its order, with its guards
    [first, second] = pipeline.candidates("a", "go")
    assert (first.target, [g.label for g in first.guards]) == (
        "b",
        ["field_compare(field='amount', op='>=', value=1000)"],
    )
    assert (second.target, second.guards) == ("c", ())
    assert pipeline.allowed_events("a") == ("go", "win", "lose")


def test_required_fields_become_guards_and_any_key_names_a_class() -> None:
    from pipelinekit import Money

    pipeline = fresh(
        PipelineBuilder("partner_deals_2")
        .stage("a")
        .stage("b", required_fields=["amount"])
        .stage("won", kind="won")
        .stage("lost", kind="lost")
        .transition("go", "a", "b")
        .transition("win", "*", "won")
        .transition("lose", "*", "lost")
        .build()
    )
    assert pipeline.machine_class.__name__ == "PartnerDeals2Pipeline"
    [candidate] = pipeline.candidates("a", "go")
    assert [g.label for g in candidate.guards] == ["field_present(field='amount')"]
    opp = pipeline.open(name="Deal", at=T0).entity
    with pytest.raises(GuardFailed) as refused:
        pipeline.fire(opp, "go", at=T0)
    assert (refused.value.guard, refused.value.why) == (
        "field_present(field='amount')",
        "amount is required",
    )
    funded = opp.evolve(amount=Money(5, "EUR"))
    assert pipeline.fire(funded, "go", at=T0).entity.stage == "b"


def test_a_guard_the_registry_lacks_is_refused_with_its_path() -> None:
    from pipelinekit.pipelines import PipelineDefinitionError

    registry = default_guards().copy()
    registry.register("never", lambda: lambda subject: "no")
    spec = (
        PipelineBuilder("strange")
        .stage("a")
        .stage("won", kind="won")
        .stage("lost", kind="lost")
        .transition("win", "a", "won")
        .transition("lose", "a", "lost", guards=[guard("lost_reason_given"), guard("never")])
        .build(guards=registry)
    )
    with pytest.raises(PipelineDefinitionError) as refused:
        fresh(spec)  # the default registry has no "never"
    assert refused.value.pipeline == "strange"
    assert [p.path for p in refused.value.problems] == ["$.transitions[1].guards[1].name"]
    assert "unknown guard 'never'" in refused.value.problems[0].message
