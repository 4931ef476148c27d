"""Moving opportunities and leads one at a time through the state machine."""

from __future__ import annotations

import itertools
import pickle
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from pipelinekit import (
    FixedClock,
    Lead,
    Money,
    Opportunity,
    Outcome,
    Probability,
    ProbabilitySource,
    ValidationError,
    to_dict,
)
from pipelinekit.pipelines import (
    ConversionError,
    GuardFailed,
    InvalidTransition,
    Pipeline,
    PipelineBuilder,
    PipelineMismatch,
    StaleTime,
    compile_pipeline,
    guard,
    stage_durations,
    time_in_stage,
)

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def at(days: float) -> datetime:
    return T0 + timedelta(days=days)


def _open(sales: Pipeline, amount: Money | None = None) -> Opportunity:
    return sales.open(name="Acme rollout", amount=amount, actor="ana", at=T0).entity


def test_open_puts_an_opportunity_in_the_first_stage_with_its_default(sales: Pipeline) -> None:
    moved = sales.open(name="Acme", amount=Money(100, "EUR"), actor="ana", note="inbound", at=T0)
    opp = moved.entity
    assert (opp.pipeline, opp.stage, opp.pipeline_version) == (
        "sales",
        "initial_contact",
        sales.version,
    )
    assert opp.probability == sales.first_stage.probability
    assert opp.probability_source is ProbabilitySource.STAGE_DEFAULT
    assert [(c.from_stage, c.to_stage, c.event, c.actor, c.note) for c in opp.history] == [
        (None, "initial_contact", "open", "ana", "inbound")
    ]
    assert [e.kind for e in moved.events] == ["opportunity_opened", "stage_changed"]


def test_every_path_of_the_sales_pipeline_with_history(sales: Pipeline) -> None:
    opp = _open(sales, Money(5000, "EUR"))
    for day, stage in enumerate(["qualification", "meeting", "proposal"], start=1):
        opp = sales.fire(opp, "advance", actor="ana", at=at(day)).entity
        assert opp.stage == stage
        assert opp.probability == sales.stages[stage].probability
    won = sales.win(opp, actor="bo", note="signed", at=at(4))
    assert won.entity.stage == "closed_won"
    assert won.entity.outcome is Outcome.WON
    assert won.entity.closed_at == at(4)
    assert won.entity.probability == 100
    assert won.entity.probability_source is ProbabilitySource.CLOSED
    assert [e.kind for e in won.events] == [
        "stage_changed",
        "opportunity_won",
        "probability_changed",
    ]
    history = won.entity.history
    assert [c.to_stage for c in history] == [
        "initial_contact",
        "qualification",
        "meeting",
        "proposal",
        "closed_won",
    ]
    assert all(a.to_stage == b.from_stage for a, b in itertools.pairwise(history))
    assert history[-1].note == "signed"
    assert won.change == history[-1]
    # lost from every open stage
    for stage in ("initial_contact", "qualification", "meeting", "proposal"):
        entity = opp.evolve(stage=stage)
        lost = sales.lose(entity, reason="budget cut", competitor="Globex", at=at(5))
        assert lost.entity.stage == "closed_lost"
        assert (lost.entity.outcome, lost.entity.probability) == (Outcome.LOST, 0)
        assert (lost.entity.lost_reason, lost.entity.competitor) == ("budget cut", "Globex")
        lost_event = lost.events[1]
        assert lost_event.payload()["reason"] == "budget cut"


def test_reopen_is_explicit_recorded_and_restores_probability(sales: Pipeline) -> None:
    opp = sales.move(_open(sales), "qualification", at=at(1)).entity
    opp = sales.set_probability(opp, automated=Probability.percent(35), at=at(1)).entity
    lost = sales.lose(opp, reason="no budget", at=at(2)).entity
    assert lost.automated_probability == 35
    assert lost.probability == 0
    reopened = sales.reopen(lost, to="meeting", actor="ana", note="budget found", at=at(3))
    entity = reopened.entity
    assert entity.stage == "meeting"
    assert entity.outcome is Outcome.OPEN
    assert entity.closed_at is None
    assert entity.lost_reason is None
    assert (entity.probability, entity.probability_source) == (35, ProbabilitySource.AUTOMATED)
    assert entity.history[-1].event == "reopen"
    assert entity.history[-1].note == "budget found"
    assert "opportunity_reopened" in [e.kind for e in reopened.events]
    with pytest.raises(InvalidTransition, match="is not closed"):
        sales.reopen(entity, to="proposal", at=at(4))
    with pytest.raises(InvalidTransition, match="not an open stage"):
        sales.reopen(lost, to="closed_won", at=at(4))


def test_invalid_transition_names_entity_stage_event_and_allowed(sales: Pipeline) -> None:
    opp = _open(sales)
    before = to_dict(opp)
    with pytest.raises(InvalidTransition) as caught:
        sales.fire(opp, "win", at=at(1))
    error = caught.value
    assert not isinstance(error, GuardFailed)
    assert (error.entity_kind, error.entity_id, error.stage, error.event) == (
        "opportunity",
        opp.id,
        "initial_contact",
        "win",
    )
    assert error.allowed == ("advance", "lose")
    assert opp.id in str(error)
    assert "allowed events from 'initial_contact': advance, lose" in str(error)
    assert pickle.loads(pickle.dumps(error)).allowed == error.allowed
    with pytest.raises(InvalidTransition, match="unknown event"):
        sales.fire(opp, "teleport", at=at(1))
    with pytest.raises(
        InvalidTransition, match="no transition from 'initial_contact' to 'proposal'"
    ):
        sales.move(opp, "proposal", at=at(1))
    with pytest.raises(InvalidTransition, match="no transition from 'initial_contact' to a won"):
        sales.win(opp, at=at(1))
    assert to_dict(opp) == before


def test_guard_failed_says_which_guard_and_why(sales: Pipeline) -> None:
    opp = _open(sales)
    with pytest.raises(GuardFailed) as caught:
        sales.fire(opp, "lose", at=at(1))
    assert caught.value.guard == "lost_reason_given"
    assert "lost reason is required" in caught.value.why
    assert caught.value.target == "closed_lost"
    with pytest.raises(ValidationError) as bad:
        sales.lose(opp, reason="  ", at=at(1))
    assert bad.value.paths == ("$.reason",)


def _guarded() -> Pipeline:
    spec = (
        PipelineBuilder("guarded")
        .stage("lead_in", probability=10)
        .stage("negotiation", probability=50, required_fields=["contact"])
        .stage("won", kind="won")
        .stage("lost", kind="lost")
        .transition(
            "advance",
            "lead_in",
            "negotiation",
            guards=[guard("field_compare", field="amount", op=">=", value=1000)],
        )
        .transition("win", "negotiation", "won")
        .transition("lose", "*", "lost")
        .build()
    )
    return compile_pipeline(spec)


def test_guards_and_required_fields_refuse_moves_without_changing_anything(lead: Lead) -> None:
    pipeline = _guarded()
    opp = pipeline.open(name="Deal", amount=Money(999, "EUR"), contact=lead.contact, at=T0).entity
    with pytest.raises(GuardFailed) as caught:
        pipeline.fire(opp, "advance", at=at(1))
    assert caught.value.guard == "field_compare(field='amount', op='>=', value=1000)"
    assert caught.value.why == "amount must be >= 1000"
    no_contact = opp.evolve(amount=Money(1000, "EUR"), contact=None)
    with pytest.raises(GuardFailed) as missing:
        pipeline.fire(no_contact, "advance", at=at(1))
    assert missing.value.guard == "field_present(field='contact')"
    assert missing.value.why == "contact is required"
    assert opp.stage == no_contact.stage == "lead_in"
    assert len(opp.history) == 1
    ok = pipeline.fire(no_contact.evolve(contact=lead.contact), "advance", at=at(1))
    assert ok.entity.stage == "negotiation"


def test_a_stage_change_never_overwrites_a_manual_probability(sales: Pipeline) -> None:
    opp = _open(sales)
    opp = sales.set_probability(opp, automated=Probability.percent("42.5"), at=at(1)).entity
    assert (opp.probability, opp.probability_source) == (
        Decimal("42.5"),
        ProbabilitySource.AUTOMATED,
    )
    manual = sales.set_probability(opp, manual=Probability.fraction("0.7"), actor="ana", at=at(1))
    assert [e.kind for e in manual.events] == ["probability_changed"]
    opp = manual.entity
    opp = sales.fire(opp, "advance", at=at(2)).entity
    assert (opp.probability, opp.probability_source) == (70, ProbabilitySource.MANUAL)
    won = sales.win(
        sales.move(sales.move(opp, "meeting", at=at(3)).entity, "proposal", at=at(3)).entity,
        at=at(4),
    ).entity
    assert (won.probability, won.manual_probability) == (100, 70)
    still = sales.set_probability(won, manual=Probability.percent(10), at=at(5)).entity
    assert still.probability == 100
    assert still.probability_source is ProbabilitySource.CLOSED
    cleared = sales.set_probability(opp, clear_manual=True, at=at(5)).entity
    assert (cleared.probability, cleared.probability_source) == (
        Decimal("42.5"),
        ProbabilitySource.AUTOMATED,
    )
    with pytest.raises(ValidationError) as bad:
        sales.set_probability(opp, manual=Decimal("0.35"), automated="x", at=at(5))  # type: ignore[arg-type]
    assert set(bad.value.paths) == {"$.manual", "$.automated"}


def test_time_comes_from_the_clock_and_must_not_go_backwards(sales: Pipeline) -> None:
    clock = FixedClock(at(2))
    opp = sales.fire(_open(sales), "advance", clock=clock).entity
    assert opp.history[-1].at == at(2)
    assert opp.updated_at == at(2)
    with pytest.raises(StaleTime, match="before the last recorded change") as stale:
        sales.fire(opp, "advance", at=at(1))
    assert not isinstance(stale.value, ValidationError)  # a race, not bad input
    assert stale.value.retryable
    assert (stale.value.at, stale.value.last) == (at(1), at(2))
    with pytest.raises(ValidationError, match="naive"):
        sales.fire(opp, "advance", at=datetime(2026, 3, 9))


def test_unknown_stage_and_other_pipelines_are_refused(sales: Pipeline) -> None:
    opp = _open(sales)
    with pytest.raises(InvalidTransition, match="not a stage of this pipeline"):
        sales.fire(opp.evolve(stage="renamed"), "advance", at=at(1))
    with pytest.raises(PipelineMismatch):
        sales.fire(opp.evolve(pipeline="other"), "advance", at=at(1))
    with pytest.raises(ValidationError, match="only Lead and Opportunity"):
        sales.fire("not an entity", "advance", at=at(1))  # type: ignore[arg-type]


def test_change_pipeline_maps_stages_explicitly(sales: Pipeline) -> None:
    other = _guarded()
    opp = sales.move(_open(sales), "qualification", at=at(1)).entity
    mapping = {"initial_contact": "lead_in", "qualification": "lead_in", "closed_won": "won"}
    moved = sales.change_pipeline(opp, other, mapping=mapping, actor="ana", at=at(2))
    entity = moved.entity
    assert (entity.pipeline, entity.stage, entity.pipeline_version) == (
        "guarded",
        "lead_in",
        other.version,
    )
    assert entity.probability == 10
    assert entity.history[-1].event == "change_pipeline"
    assert entity.history[-1].pipeline == "guarded"
    assert [e.kind for e in moved.events] == ["pipeline_changed", "stage_changed"]
    with pytest.raises(ValidationError) as bad:
        sales.change_pipeline(
            opp, other, mapping={"qualification": "won", "meeting": "nowhere"}, at=at(2)
        )
    assert set(bad.value.paths) == {"$.mapping.qualification", "$.mapping.meeting"}
    with pytest.raises(ValidationError, match="current stage"):
        sales.change_pipeline(opp, other, mapping={"meeting": "lead_in"}, at=at(2))


def test_time_in_stage_and_rotting_come_from_history(sales: Pipeline) -> None:
    opp = sales.fire(_open(sales), "advance", at=at(3)).entity
    assert time_in_stage(opp, as_of=at(10)) == timedelta(days=7)
    assert stage_durations(opp, as_of=at(10)) == [
        ("initial_contact", timedelta(days=3)),
        ("qualification", timedelta(days=7)),
    ]
    assert not sales.is_rotting(opp, as_of=at(10))  # qualification rots after 21 days
    assert sales.is_rotting(opp, as_of=at(25))


def test_durations_and_rotting_refuse_a_naive_as_of(sales: Pipeline) -> None:
    opp = _open(sales)
    naive = datetime(2026, 4, 1)
    for call in (
        lambda: time_in_stage(opp, as_of=naive),
        lambda: stage_durations(opp, as_of=naive),
        lambda: sales.is_rotting(opp, as_of=naive),
    ):
        with pytest.raises(ValidationError, match="naive"):
            call()


def test_losing_a_lead_records_the_reason(lifecycle: Pipeline, lead: Lead) -> None:
    moved = lifecycle.lose(lead, reason="no budget", actor="ana", at=at(1))
    assert moved.entity.status == "disqualified"
    assert moved.change is not None
    assert moved.change.note == "lost: no budget"
    assert moved.entity.history[-1].note == "lost: no budget"
    assert [e.note for e in moved.events if e.kind == "stage_changed"] == ["lost: no budget"]
    with_note = lifecycle.lose(lead, reason="no budget", note="called twice", at=at(1))
    assert with_note.entity.history[-1].note == "called twice (lost: no budget)"
    # the bulk path records it the same way
    bulk = lifecycle.bulk([lead], "disqualify", reason="no budget", at=at(1))
    assert bulk.moved[0].history[-1].note == "lost: no budget"


def test_ordinary_mistakes_get_validation_errors_with_paths(
    sales: Pipeline, lifecycle: Pipeline, lead: Lead
) -> None:
    def paths(call: object) -> tuple[str, ...]:
        with pytest.raises(ValidationError) as error:
            call()  # type: ignore[operator]
        return error.value.paths

    assert paths(lambda: sales.open(name="x", stage="proposal", at=T0)) == ("$.stage",)
    assert paths(lambda: sales.open(name="x", probability=50, at=T0)) == ("$.probability",)
    assert paths(lambda: sales.open(name="x", amout=Money(1, "EUR"), at=T0)) == ("$.amout",)
    opp = _open(sales)
    assert paths(lambda: sales.change_pipeline(opp, sales, mapping=None, at=at(1))) == (
        "$.mapping",
    )
    assert "$.mapping.1" in paths(
        lambda: sales.change_pipeline(opp, sales, mapping={1: 2}, at=at(1))  # type: ignore[dict-item]
    )
    lost = sales.lose(opp, reason="price", at=at(1)).entity
    assert paths(lambda: sales.reopen(lost, to=["meeting"], at=at(2))) == ("$.to",)
    assert paths(lambda: sales.fire({"id": 1}, "advance", at=at(1))) == ("$.entity",)
    assert paths(lambda: lifecycle.convert(opp, pipeline=sales, at=at(1))) == ("$.lead",)
    assert paths(
        lambda: lifecycle.set_probability(lead, manual=Probability.percent(50), at=at(1))  # type: ignore[arg-type]
    ) == ("$.opportunity",)
    # nothing was half-changed
    assert opp.stage == "initial_contact"
    assert lost.stage == "closed_lost"


def test_arguments_of_the_wrong_type_are_refused_before_anything_moves(
    sales: Pipeline, lifecycle: Pipeline, lead: Lead
) -> None:
    def paths(call: object) -> tuple[str, ...]:
        with pytest.raises(ValidationError) as error:
            call()  # type: ignore[operator]
        return error.value.paths

    opp = _open(sales)
    qualified = lifecycle.fire(lead, "qualify", at=at(1)).entity
    assert paths(lambda: lifecycle.convert(qualified, into=lead, at=at(2))) == ("$.into",)
    assert paths(lambda: lifecycle.convert(qualified, pipeline="sales", at=at(2))) == (
        "$.pipeline",
    )
    assert paths(
        lambda: lifecycle.change_pipeline(lead, lifecycle, mapping={"new": "new"}, at=at(1))  # type: ignore[arg-type]
    ) == ("$.opportunity",)
    assert paths(lambda: lifecycle.lose(lead, reason="x", note=5, at=at(1))) == ("$.note",)
    assert paths(lambda: sales.set_probability(opp, clear_manual="yes", at=at(1))) == (
        "$.clear_manual",
    )
    assert paths(lambda: sales.bulk([opp], ["advance"], at=at(1))) == ("$.event",)
    assert paths(lambda: stage_durations(None, as_of=at(1))) == ("$.entity",)  # type: ignore[arg-type]
    assert paths(lambda: time_in_stage(None, as_of=at(1))) == ("$.entity",)  # type: ignore[arg-type]
    assert qualified.opportunity_id is None


def test_domain_events_convert_to_a_storage_envelope(sales: Pipeline) -> None:
    moved = sales.lose(_open(sales), reason="price", competitor="Globex", actor="ana", at=at(1))
    envelope = moved.events[1].envelope()
    assert envelope == {
        "entity_kind": "opportunity",
        "entity_id": moved.entity.id,
        "kind": "opportunity_lost",
        "at": at(1).isoformat(),
        "payload": {
            "pipeline": "sales",
            "stage": "closed_lost",
            "reason": "price",
            "competitor": "Globex",
            "actor": "ana",
        },
    }
    change = moved.events[2].payload()
    assert change == {"old": "10", "new": "0", "source": "closed", "actor": "ana"}


# -- leads ---------------------------------------------------------------------


def test_leads_move_through_the_lifecycle_on_status(lifecycle: Pipeline, lead: Lead) -> None:
    contacted = lifecycle.fire(lead, "contact", actor="ana", at=at(1)).entity
    assert contacted.status == "contacted"
    nurtured = lifecycle.fire(contacted, "nurture", at=at(2)).entity
    disqualified = lifecycle.fire(nurtured, "disqualify", at=at(3)).entity
    recycled = lifecycle.fire(disqualified, "recycle", at=at(4)).entity
    assert recycled.status == "nurturing"
    assert [c.event for c in recycled.history] == [
        "create",
        "contact",
        "nurture",
        "disqualify",
        "recycle",
    ]
    qualified = lifecycle.fire(recycled, "qualify", at=at(5)).entity
    with pytest.raises(InvalidTransition, match="use convert"):
        lifecycle.fire(qualified, "convert", at=at(6))


def test_conversion_creates_a_linked_opportunity(
    lifecycle: Pipeline, sales: Pipeline, lead: Lead, amount: Money
) -> None:
    qualified = lifecycle.fire(lead, "qualify", at=at(1)).entity
    result = lifecycle.convert(qualified, pipeline=sales, amount=amount, actor="ana", at=at(2))
    converted, opp = result.lead, result.opportunity
    assert not result.forced
    assert converted.status == "converted"
    assert converted.history[-1].event == "convert"
    assert converted.opportunity_id == opp.id
    assert opp.lead_id == lead.id
    assert (opp.stage, opp.amount, opp.contact, opp.company) == (
        "initial_contact",
        amount,
        lead.contact,
        lead.company,
    )
    assert opp.custom == lead.custom
    assert opp.owner == "ana"
    assert opp.tags == lead.tags
    assert opp.name == "Analytical Engines Ltd"
    kinds = [e.kind for e in result.events]
    assert kinds == ["stage_changed", "opportunity_opened", "stage_changed", "lead_converted"]
    with pytest.raises(ConversionError, match="already converted"):
        lifecycle.convert(converted, pipeline=sales, at=at(3))


def test_conversion_into_an_existing_opportunity_fills_gaps(
    lifecycle: Pipeline, sales: Pipeline, lead: Lead
) -> None:
    qualified = lifecycle.fire(lead, "qualify", at=at(1)).entity
    existing = sales.open(
        name="Existing", amount=Money(9, "EUR"), custom={"seats": 40}, at=T0
    ).entity
    result = lifecycle.convert(qualified, into=existing, at=at(2))
    opp = result.opportunity
    assert opp.id == existing.id
    assert opp.lead_id == lead.id
    assert opp.contact == lead.contact
    assert opp.amount == Money(9, "EUR")
    assert opp.custom == {"plan": "pro", "seats": 40}
    assert result.events[-1].payload()["into_existing"] is True
    other = existing.evolve(lead_id="someone-else")
    with pytest.raises(ConversionError, match="already linked"):
        lifecycle.convert(qualified, into=other, at=at(2))
    with pytest.raises(ConversionError, match="exactly one"):
        lifecycle.convert(qualified, at=at(2))


def test_unqualified_leads_convert_only_when_forced_and_it_is_recorded(
    lifecycle: Pipeline, sales: Pipeline, lead: Lead
) -> None:
    with pytest.raises(ConversionError, match="not qualified") as caught:
        lifecycle.convert(lead, pipeline=sales, at=at(1))
    assert isinstance(caught.value.__cause__, InvalidTransition)
    forced = lifecycle.convert(lead, pipeline=sales, force=True, note="CEO asked", at=at(1))
    assert forced.forced
    assert forced.lead.status == "converted"
    assert forced.lead.history[-1].note == "forced conversion from 'new': CEO asked"
    assert forced.events[-1].payload()["forced"] is True


def test_conversion_meaning_comes_from_kinds_not_names(sales: Pipeline, lead: Lead) -> None:
    renamed = compile_pipeline(
        PipelineBuilder("leads2")
        .stage("fresh")
        .stage("ready")
        .stage("customer", kind="won")
        .stage("dropped", kind="lost")
        .transition("ready_up", "fresh", "ready")
        .transition("sign", "ready", "customer", guards=[guard("field_present", field="company")])
        .transition("drop", "*", "dropped")
        .build()
    )
    ready = renamed.fire(lead.evolve(status="fresh"), "ready_up", at=at(1)).entity
    result = renamed.convert(ready, pipeline=sales, at=at(2))
    assert result.lead.status == "customer"
    assert result.lead.history[-1].event == "sign"
    no_company = ready.evolve(company=None)
    with pytest.raises(ConversionError, match="field_present"):
        renamed.convert(no_company, pipeline=sales, at=at(2))


def test_several_pipelines_side_by_side_with_versions(
    sales: Pipeline, lifecycle: Pipeline, lead: Lead
) -> None:
    from pipelinekit.pipelines import PipelineSet, UnknownPipeline, pipeline_from_dict

    data = sales.spec.as_dict()
    data["stages"][0]["probability"] = 15
    sales_v2 = compile_pipeline(pipeline_from_dict(data))
    pipelines = PipelineSet(sales, _guarded(), lifecycle=lifecycle)
    old = _open(sales)
    pipelines.add(sales_v2)
    assert pipelines.versions("sales") == (sales.version, sales_v2.version)
    assert pipelines["sales"] is sales_v2
    assert pipelines.for_entity(old) is sales  # the version it recorded
    assert pipelines.for_entity(lead) is lifecycle
    assert pipelines.for_entity(old.evolve(pipeline_version=None)) is sales_v2
    assert sorted(p.key for p in pipelines) == ["guarded", "sales"]
    with pytest.raises(UnknownPipeline, match="unknown pipeline 'nope'"):
        pipelines.get("nope")
    migrated = sales.change_pipeline(
        old, sales_v2, mapping={"initial_contact": "initial_contact"}, at=at(1)
    )
    assert migrated.entity.pipeline_version == sales_v2.version
    assert migrated.entity.probability == 15
    assert pipelines.for_entity(migrated.entity) is sales_v2
    assert pickle.loads(pickle.dumps(UnknownPipeline("x", None, ("a",)))).known == ("a",)


@pytest.mark.parametrize("status", ["new", "contacted", "nurturing", "qualified", "disqualified"])
def test_only_qualified_leads_convert_unforced_and_never_twice(
    lifecycle: Pipeline, sales: Pipeline, lead: Lead, status: str
) -> None:
    entity = lead.evolve(status=status)
    if status == "qualified":
        result = lifecycle.convert(entity, pipeline=sales, at=at(1))
        assert not result.forced
    else:
        with pytest.raises(ConversionError):
            lifecycle.convert(entity, pipeline=sales, at=at(1))
        result = lifecycle.convert(entity, pipeline=sales, force=True, at=at(1))
        assert result.forced
    assert result.lead.status == "converted"
    assert result.lead.history[-1].from_stage == status
    for force in (False, True):
        with pytest.raises(ConversionError, match="already converted"):
            lifecycle.convert(result.lead, pipeline=sales, force=force, at=at(2))
