"""move, win, lose, reopen, explain: what each passes on, and the words of each refusal."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from pipelinekit import Lead, Opportunity, Person, ValidationError
from pipelinekit.clock import FixedClock
from pipelinekit.pipelines import (
    InvalidTransition,
    PipelineBuilder,
    compile_pipeline,
    lead_lifecycle,
    sales_pipeline,
)

T0 = datetime(2026, 3, 2, tzinfo=UTC)
LATER = T0 + timedelta(days=1)
SALES = sales_pipeline()
LIFECYCLE = lead_lifecycle()


def _opp(stage: str = "initial_contact") -> Opportunity:
    opp = SALES.open(name="Deal", at=T0).entity
    while opp.stage != stage:
        opp = SALES.fire(opp, "advance", at=T0).entity
    return opp


def _refused(call: object) -> InvalidTransition:
    with pytest.raises(InvalidTransition) as refused:
        call()  # type: ignore[operator]
    return refused.value


def _names(error: InvalidTransition | None, entity: Opportunity | Lead) -> None:
    """A refusal names the entity (kind, id), its stage and its pipeline."""
    assert error is not None
    stage = entity.stage if isinstance(entity, Opportunity) else entity.status
    kind = "opportunity" if isinstance(entity, Opportunity) else "lead"
    assert (error.entity_kind, error.entity_id, error.stage) == (kind, entity.id, stage)


def _problems(call: object) -> tuple[str, list[tuple[str, str]]]:
    with pytest.raises(ValidationError) as refused:
        call()  # type: ignore[operator]
    return refused.value.subject, [(p.path, p.message) for p in refused.value.problems]


def test_every_move_passes_actor_note_and_clock_on() -> None:
    clock = FixedClock(LATER)
    opp = _opp("proposal")
    for moved in (
        SALES.fire(opp, "win", actor="ana", note="n", clock=clock),
        SALES.move(opp, "closed_won", actor="ana", note="n", clock=clock),
        SALES.win(opp, actor="ana", note="n", clock=clock),
        SALES.lose(opp, reason="price", competitor="Globex", actor="ana", note="n", clock=clock),
        SALES.move(opp, "closed_lost", reason="price", actor="ana", note="n", clock=clock),
    ):
        change = moved.change
        assert change is not None
        assert (change.at, change.actor, change.note) == (LATER, "ana", "n")
    lost = SALES.lose(opp, reason="price", competitor="Globex", at=T0).entity
    assert (lost.lost_reason, lost.competitor) == ("price", "Globex")
    reopened = SALES.reopen(lost, to="meeting", actor="ana", note="back", clock=clock)
    assert reopened.change is not None
    assert (reopened.change.at, reopened.change.actor, reopened.change.note) == (
        LATER,
        "ana",
        "back",
    )
    assert (reopened.change.event, reopened.entity.stage) == ("reopen", "meeting")
    moved = SALES.move(opp, "closed_lost", reason="price", competitor="Initech", at=LATER)
    assert (moved.entity.lost_reason, moved.entity.competitor) == ("price", "Initech")


def test_move_refusals() -> None:
    opp = _opp()
    error = _refused(lambda: SALES.move(opp, "meeting", at=T0))
    assert (error.event, error.reason) == (
        "move",
        "no transition from 'initial_contact' to 'meeting'",
    )
    error = _refused(lambda: SALES.move(opp, "qualification", event="lose", at=T0))
    assert (error.event, error.reason) == (
        "lose",
        "no transition from 'initial_contact' to 'qualification'",
    )
    error = _refused(lambda: SALES.move(opp, "qualification", event="advanse", at=T0))
    assert error.event == "advanse"
    assert error.reason.startswith("unknown event; did you mean 'advance'?")
    error = _refused(lambda: SALES.move(opp, "nowhere", at=T0))
    assert (error.event, error.stage) == ("move", "initial_contact")
    assert error.reason.startswith("unknown stage 'nowhere'")
    error = _refused(lambda: SALES.move(opp, "nowhere", event="advance", at=T0))
    assert error.event == "advance"
    error = _refused(lambda: SALES.move(opp.evolve(stage="gone"), "meeting", at=T0))
    assert (error.event, error.stage) == ("move", "gone")
    # through the named event
    moved = SALES.move(opp, "qualification", event="advance", at=T0)
    assert moved.change is not None
    assert moved.change.event == "advance"


def test_win_and_lose_refusals() -> None:
    opp = _opp()
    error = _refused(lambda: SALES.win(opp, at=T0))
    assert (error.event, error.stage, error.reason) == (
        "win",
        "initial_contact",
        "no transition from 'initial_contact' to a won stage",
    )
    won = SALES.win(_opp("proposal"), at=T0).entity
    error = _refused(lambda: SALES.lose(won, reason="price", at=T0))
    assert (error.event, error.reason) == (
        "lose",
        "no transition from 'closed_won' to a lost stage",
    )
    assert _refused(lambda: SALES.win(opp.evolve(stage="gone"), at=T0)).event == "win"
    assert _refused(lambda: SALES.lose(opp.evolve(stage="gone"), reason="x", at=T0)).event == (
        "lose"
    )
    assert _problems(
        lambda: SALES.lose(opp, reason="r" * 501, competitor="c" * 201, note=3, at=T0)  # type: ignore[arg-type]
    ) == (
        "lose",
        [
            ("$.reason", "must be at most 500 characters, got 501"),
            ("$.competitor", "must be at most 200 characters, got 201"),
            ("$.note", "must be a str, got int"),
        ],
    )
    assert _problems(lambda: SALES.lose(opp, reason=None, at=T0)) == (  # type: ignore[arg-type]
        "lose",
        [("$.reason", "is required")],
    )
    longest = SALES.lose(opp, reason="r" * 500, competitor="c" * 200, at=T0).entity
    assert (len(longest.lost_reason or ""), len(longest.competitor or "")) == (500, 200)


def test_reopen_refusals() -> None:
    opp = _opp()
    lost = SALES.lose(opp, reason="price", at=T0).entity
    assert _problems(lambda: SALES.reopen(lost, to=["meeting"], at=T0)) == (  # type: ignore[arg-type]
        "reopen",
        [("$.to", "expected a stage key, got list")],
    )
    error = _refused(lambda: SALES.reopen(opp, to="meeting", at=T0))
    assert (error.event, error.reason) == ("reopen", "'initial_contact' is not closed")
    error = _refused(lambda: SALES.reopen(lost, to="closed_won", at=T0))
    assert (error.event, error.reason) == ("reopen", "'closed_won' is not an open stage")
    error = _refused(lambda: SALES.reopen(lost, to="nowhere", at=T0))
    assert error.event == "reopen"
    assert error.reason.startswith("unknown stage 'nowhere'")
    assert _refused(lambda: SALES.reopen(lost.evolve(stage="gone"), to="meeting", at=T0)).event == (
        "reopen"
    )


def test_explain_and_available_events() -> None:
    opp = _opp()
    assert SALES.explain(opp, "advance") is None
    assert SALES.explain(opp, "win").reason == "no transition from 'initial_contact'"  # type: ignore[union-attr]
    assert SALES.explain(opp, "advance", to="meeting").reason == (  # type: ignore[union-attr]
        "'advance' does not lead to 'meeting' from here"
    )
    gone = SALES.explain(opp.evolve(stage="gone"), "advance")
    assert gone is not None
    assert gone.stage == "gone"
    assert SALES.explain(opp, "lose", reason="price") is None
    assert SALES.explain(opp, "lose").guard == "lost_reason_given"  # type: ignore[union-attr]
    assert SALES.available_events(opp) == ("advance",)
    assert SALES.available_events(opp.evolve(stage="gone")) == ()
    # a lead never enters its converted stage by fire(): explain says so
    lead = LIFECYCLE.fire(Lead.create(contact=Person.of("Ada"), at=T0), "qualify", at=T0).entity
    refusal = LIFECYCLE.explain(lead, "convert")
    assert refusal is not None
    assert (refusal.event, refusal.stage) == ("convert", "qualified")
    assert refusal.reason == (
        "'converted' is the lifecycle's converted stage: use convert() so an opportunity is "
        "created and linked"
    )
    assert "convert" not in LIFECYCLE.available_events(lead)
    assert LIFECYCLE.available_events(lead) == ("disqualify",)
    # a pipeline that requires a lost reason but has no guard: explain names the setting
    deals = compile_pipeline(
        PipelineBuilder("deals")
        .stage("open")
        .stage("won", kind="won")
        .stage("lost", kind="lost")
        .transition("win", "open", "won")
        .transition("lose", "open", "lost")
        .build()
    )
    deal = deals.open(name="Deal", at=T0).entity
    missing = deals.explain(deal, "lose")
    assert missing is not None
    assert "lost reason is required" in missing.reason
    assert deals.explain(deal, "lose", reason="price") is None
    assert deals.available_events(deal) == ("win",)


def test_explain_judges_the_entity_and_the_pending_inputs() -> None:
    from pipelinekit import Money
    from pipelinekit.pipelines import guard

    pipeline = compile_pipeline(
        PipelineBuilder("explained")
        .stage("a")
        .stage("b")
        .stage("won", kind="won")
        .stage("lost", kind="lost")
        .transition(
            "go", "a", "b", guards=[guard("field_compare", field="amount", op=">=", value=1000)]
        )
        .transition("win", "*", "won")
        .transition("lose", "*", "lost", guards=[guard("field_present", field="competitor")])
        .build()
    )
    big = pipeline.open(name="Deal", amount=Money(2000, "EUR"), at=T0).entity
    small = big.evolve(amount=Money(10, "EUR"))
    assert pipeline.explain(big, "go") is None
    assert pipeline.explain(small, "go").why == "amount must be >= 1000"  # type: ignore[union-attr]
    assert pipeline.explain(big, "lose", reason="price", competitor="Globex") is None
    assert pipeline.explain(big, "lose", reason="price").guard == (  # type: ignore[union-attr]
        "field_present(field='competitor')"
    )
    missing = pipeline.explain(big, "lose", competitor="Globex")
    assert missing is not None
    assert (missing.entity_id, missing.stage, missing.event) == (big.id, "a", "lose")
    assert "lost reason is required" in missing.reason
    gone = pipeline.explain(big.evolve(stage="gone"), "go")
    assert gone is not None
    assert (gone.entity_id, gone.stage, gone.event) == (big.id, "gone", "go")
    lead = LIFECYCLE.fire(Lead.create(contact=Person.of("Ada"), at=T0), "qualify", at=T0).entity
    refusal = LIFECYCLE.explain(lead, "convert")
    assert refusal is not None
    assert (refusal.entity_id, refusal.entity_kind) == (lead.id, "lead")


def test_every_refusal_names_the_entity_and_its_stage() -> None:
    opp = _opp()
    lost = SALES.lose(opp, reason="price", at=T0).entity
    gone = opp.evolve(stage="gone")
    for entity, call in [
        (opp, lambda: SALES.move(opp, "meeting", at=T0)),
        (opp, lambda: SALES.move(opp, "nowhere", at=T0)),
        (opp, lambda: SALES.move(opp, "qualification", event="advanse", at=T0)),
        (opp, lambda: SALES.win(opp, at=T0)),
        (lost, lambda: SALES.lose(lost, reason="price", at=T0)),
        (opp, lambda: SALES.reopen(opp, to="meeting", at=T0)),
        (lost, lambda: SALES.reopen(lost, to="nowhere", at=T0)),
        (lost, lambda: SALES.reopen(lost, to="closed_won", at=T0)),
        (opp, lambda: SALES.fire(opp, "lose", at=T0)),
        (gone, lambda: SALES.fire(gone, "advance", at=T0)),
    ]:
        _names(_refused(call), entity)
    for event, kwargs in [("win", {}), ("lose", {}), ("advance", {"to": "meeting"}), ("go", {})]:
        explained = SALES.explain(opp, event, **kwargs)  # type: ignore[arg-type]
        _names(explained, opp)
        assert explained is not None
        assert explained.event == event
    lead = LIFECYCLE.fire(Lead.create(contact=Person.of("Ada"), at=T0), "qualify", at=T0).entity
    _names(LIFECYCLE.explain(lead, "convert"), lead)
    _names(_refused(lambda: LIFECYCLE.fire(lead, "convert", at=T0)), lead)


def test_win_and_lose_take_their_own_target_of_a_shared_event() -> None:
    # one event "close" leads to both closed stages, in either order: win() and lose()
    # pick the won or lost one, never just the first the event would take
    pipeline = compile_pipeline(
        PipelineBuilder("closing")
        .stage("a")
        .stage("b")
        .stage("won", kind="won")
        .stage("lost", kind="lost")
        .transition("next", "a", "b")
        .transition("close", "a", "won")
        .transition("close", "a", "lost")
        .transition("close", "b", "lost")
        .transition("close", "b", "won")
        .build()
    )
    a = pipeline.open(name="Deal", at=T0).entity
    b = pipeline.fire(a, "next", at=T0).entity
    assert pipeline.fire(a, "close", at=T0).entity.stage == "won"  # the first, without to=
    assert pipeline.fire(b, "close", reason="price", at=T0).entity.stage == "lost"
    assert pipeline.lose(a, reason="price", at=T0).entity.stage == "lost"
    assert pipeline.win(b, at=T0).entity.stage == "won"


def test_times_an_entity_without_history_and_a_later_update() -> None:
    from pipelinekit.pipelines import StaleTime

    opp = _opp()
    # an entity without history (built by hand) dates its last change at its creation
    bare = opp.evolve(history=())
    with pytest.raises(StaleTime) as early:
        SALES.fire(bare, "advance", at=T0 - timedelta(hours=1))
    assert early.value.last == T0
    assert SALES.fire(bare, "advance", at=T0).entity.history[-1].at == T0
    [failure] = SALES.bulk([bare], "advance", at=T0 - timedelta(hours=1)).failures
    assert isinstance(failure.error, StaleTime)
    # a move dated before the last update (not the last stage change) keeps updated_at
    touched = opp.evolve(updated_at=T0 + timedelta(days=2))
    moved = SALES.fire(touched, "advance", at=LATER).entity
    assert (moved.history[-1].at, moved.updated_at) == (LATER, T0 + timedelta(days=2))
    assert SALES.bulk([touched], "advance", at=LATER).moved == [moved]
    lost = SALES.lose(touched, reason="price", at=LATER).entity
    assert lost.updated_at == T0 + timedelta(days=2)


def test_guards_see_the_competitor_of_the_move() -> None:
    from pipelinekit.pipelines import GuardFailed, guard

    pipeline = compile_pipeline(
        PipelineBuilder("rivals")
        .stage("a")
        .stage("won", kind="won")
        .stage("lost", kind="lost")
        .transition("win", "a", "won")
        .transition("lose", "a", "lost", guards=[guard("field_present", field="competitor")])
        .build()
    )
    opp = pipeline.open(name="Deal", at=T0).entity
    lost = pipeline.lose(opp, reason="price", competitor="Globex", at=T0).entity
    assert lost.competitor == "Globex"
    with pytest.raises(GuardFailed):
        pipeline.lose(opp, reason="price", at=T0)


def test_closing_fields_of_won_and_lost_moves() -> None:
    proposal = _opp("proposal")
    won = SALES.fire(proposal, "win", competitor="Globex", at=LATER).entity
    assert (won.outcome.value, won.closed_at, won.lost_reason, won.competitor) == (
        "won",
        LATER,
        None,
        "Globex",
    )
    lost = SALES.lose(proposal, reason="price", competitor="Initech", at=T0).entity
    reopened = SALES.reopen(lost, to="proposal", at=T0).entity
    assert (reopened.competitor, reopened.lost_reason, reopened.closed_at) == (
        "Initech",
        None,
        None,
    )
    rewon = SALES.win(reopened, at=LATER).entity
    assert (rewon.competitor, rewon.lost_reason) == ("Initech", None)
    relost = SALES.fire(reopened, "lose", reason="timing", at=LATER).entity
    assert (relost.competitor, relost.lost_reason, relost.closed_at) == ("Initech", "timing", LATER)


def test_a_win_reports_who_won_what_where() -> None:
    from pipelinekit.pipelines import OpportunityWon

    proposal = _opp("proposal")
    moved = SALES.win(proposal, actor="ana", at=LATER)
    won = [e for e in moved.events if isinstance(e, OpportunityWon)]
    assert won == [OpportunityWon("opportunity", proposal.id, LATER, "sales", "closed_won", "ana")]
