"""Conversion in detail: what is recorded, what each refusal says, what a forced one notes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from pipelinekit import Company, Lead, Money, Person, ValidationError
from pipelinekit.pipelines import (
    ConversionError,
    LeadConverted,
    OpportunityOpened,
    Pipeline,
    PipelineBuilder,
    StageChanged,
    compile_pipeline,
    guard,
    lead_lifecycle,
    sales_pipeline,
)

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
SALES = sales_pipeline()
LIFECYCLE = lead_lifecycle()


def _lead(**kwargs: object) -> Lead:
    values: dict[str, object] = {
        "contact": Person.of("Ada", email="ada@example.com"),
        "company": Company("Acme"),
        "owner": "ana",
        "tags": {"vip"},
        "custom": {"seats": 5},
    }
    values.update(kwargs)
    return Lead.create(at=T0, **values)  # type: ignore[arg-type]


def _qualified(**kwargs: object) -> Lead:
    return LIFECYCLE.fire(_lead(**kwargs), "qualify", at=T0).entity


def _reason(call: object, lead_id: str | None = None) -> str:
    with pytest.raises(ConversionError) as refused:
        call()  # type: ignore[operator]
    if lead_id is not None:
        assert refused.value.lead_id == lead_id
    return refused.value.reason


def test_a_conversion_records_who_when_and_why_on_both_sides() -> None:
    lead = _qualified()
    at = T0 + timedelta(hours=2)
    done = LIFECYCLE.convert(
        lead, pipeline=SALES, amount=Money(7, "EUR"), actor="ana", note="signed", at=at
    )
    converted, opp = done.lead, done.opportunity
    change = converted.history[-1]
    assert (change.from_stage, change.to_stage, change.event, change.at) == (
        "qualified",
        "converted",
        "convert",
        at,
    )
    assert (change.actor, change.note, change.pipeline) == ("ana", "signed", LIFECYCLE.key)
    assert converted.updated_at == at
    assert converted.opportunity_id == opp.id
    assert (opp.lead_id, opp.created_at, opp.history[0].actor, opp.history[0].note) == (
        lead.id,
        at,
        "ana",
        "signed",
    )
    assert opp.amount == Money(7, "EUR")
    assert done.events == (
        StageChanged(
            "lead", lead.id, at, LIFECYCLE.key, "qualified", "converted", "convert", "ana", "signed"
        ),
        OpportunityOpened(
            "opportunity", opp.id, at, SALES.key, SALES.first_stage.key, lead.id, "ana"
        ),
        StageChanged(
            "opportunity",
            opp.id,
            at,
            SALES.key,
            None,
            SALES.first_stage.key,
            "open",
            "ana",
            "signed",
        ),
        LeadConverted("lead", lead.id, at, opp.id, False, False, "qualified", "ana"),
    )
    assert done.forced is False


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({}, "Acme"),
        ({"company": None}, "Ada"),
        ({"company": None, "contact": Person.of(email="ada@example.com")}, "ada@example.com"),
    ],
)
def test_a_new_opportunity_is_named_after_the_company_then_the_contact(
    kwargs: dict[str, object], name: str
) -> None:
    lead = _qualified(**kwargs)
    assert LIFECYCLE.convert(lead, pipeline=SALES, at=T0).opportunity.name == name
    assert LIFECYCLE.convert(lead, pipeline=SALES, name="Given", at=T0).opportunity.name == "Given"


def test_a_lead_without_a_contact_name_or_email_names_the_deal_by_its_id() -> None:
    lead = _qualified(company=None, contact=Person.of(phone="+44 20 7946 0958"))
    assert LIFECYCLE.convert(lead, pipeline=SALES, at=T0).opportunity.name == str(lead.id)


def test_converting_into_an_existing_opportunity_fills_only_its_gaps() -> None:
    lead = _qualified()
    bare = SALES.open(name="Bare", at=T0).entity
    at = T0 + timedelta(hours=1)
    done = LIFECYCLE.convert(lead, into=bare, amount=Money(3, "EUR"), actor="bob", at=at)
    opp = done.opportunity
    assert (opp.id, opp.name, opp.lead_id) == (bare.id, "Bare", lead.id)
    assert (opp.contact, opp.company, opp.owner, opp.amount) == (
        lead.contact,
        lead.company,
        "ana",
        Money(3, "EUR"),
    )
    assert (opp.tags, dict(opp.custom)) == ({"vip"}, {"seats": 5})
    assert opp.updated_at == at
    assert done.events[-1] == LeadConverted(
        "lead", lead.id, at, bare.id, True, False, "qualified", "bob"
    )
    assert not any(isinstance(e, OpportunityOpened) for e in done.events)
    # an opportunity already linked to this very lead may receive it
    linked = bare.evolve(lead_id=lead.id, updated_at=T0 + timedelta(days=1))
    again = LIFECYCLE.convert(lead, into=linked, at=at).opportunity
    assert again.updated_at == T0 + timedelta(days=1)  # never moves backwards


def test_every_refusal_says_why() -> None:
    lead = _qualified()
    opp = SALES.open(name="Deal", at=T0).entity
    exactly_one = "pass exactly one of pipeline= (new) or into= (existing)"
    assert _reason(lambda: LIFECYCLE.convert(lead, at=T0), lead.id) == exactly_one
    assert (
        _reason(lambda: LIFECYCLE.convert(lead, pipeline=SALES, into=opp, at=T0), lead.id)
        == exactly_one
    )
    assert (
        _reason(
            lambda: LIFECYCLE.convert(lead.evolve(opportunity_id="opp-1"), into=opp, at=T0), lead.id
        )
        == "it was already converted into opportunity opp-1"
    )
    assert (
        _reason(
            lambda: LIFECYCLE.convert(lead.evolve(status="converted"), into=opp, at=T0), lead.id
        )
        == "it is already in the converted stage 'converted'"
    )
    other = opp.evolve(lead_id="lead-9")
    assert (
        _reason(lambda: LIFECYCLE.convert(lead, into=other, at=T0), lead.id)
        == f"opportunity {opp.id} is already linked to lead lead-9"
    )
    won = opp
    for event in ("advance", "advance", "advance", "win"):
        won = SALES.fire(won, event, at=T0).entity
    assert _reason(lambda: LIFECYCLE.convert(lead, into=won, at=T0), lead.id) == (
        f"opportunity {opp.id} is already closed won; pass force=True to convert into it "
        "anyway (it will be recorded)"
    )
    assert _reason(lambda: LIFECYCLE.convert(_lead(), pipeline=SALES, at=T0)).startswith(
        "it is not qualified for conversion (no conversion from 'new'); pass force=True"
    )
    with pytest.raises(ValidationError) as wrong:
        LIFECYCLE.convert(lead, pipeline="sales", at=T0)  # type: ignore[arg-type]
    assert [(p.path, p.message) for p in wrong.value.problems] == [
        ("$.pipeline", "expected a Pipeline, got str")
    ]
    with pytest.raises(ValidationError) as wrong:
        LIFECYCLE.convert(lead, into="deal", at=T0)  # type: ignore[arg-type]
    assert [(p.path, p.message) for p in wrong.value.problems] == [
        ("$.into", "expected an Opportunity, got str")
    ]
    with pytest.raises(ValidationError) as not_a_lead:
        LIFECYCLE.convert(opp, pipeline=SALES, at=T0)  # type: ignore[arg-type]
    assert [(p.path, p.message) for p in not_a_lead.value.problems] == [
        ("$.lead", "expected a Lead, got Opportunity")
    ]
    assert not_a_lead.value.subject == "convert"


def test_forced_conversions_say_what_was_forced() -> None:
    lead = _qualified()
    opp = SALES.open(name="Deal", at=T0).entity
    lost = SALES.lose(opp, reason="price", at=T0).entity
    forced = LIFECYCLE.convert(lead, into=lost, force=True, note="re-signed", at=T0)
    assert forced.forced
    assert forced.lead.history[-1].note == (
        f"forced conversion into closed lost opportunity {opp.id}: re-signed"
    )
    assert forced.events[-1].forced is True  # type: ignore[attr-defined]
    plain = LIFECYCLE.convert(lead, into=lost, force=True, at=T0)
    assert plain.lead.history[-1].note == f"forced conversion into closed lost opportunity {opp.id}"
    assert plain.lead.history[-1].event == "convert"
    # from a stage with no conversion: recorded under the event "convert"
    fresh = _lead()
    moved = LIFECYCLE.convert(fresh, pipeline=SALES, force=True, actor="ana", at=T0)
    change = moved.lead.history[-1]
    assert (change.from_stage, change.to_stage, change.event) == ("new", "converted", "convert")
    assert (change.note, change.actor) == ("forced conversion from 'new'", "ana")
    assert moved.events[-1] == LeadConverted(
        "lead", fresh.id, T0, moved.opportunity.id, False, True, "new", "ana"
    )


def test_a_forced_conversion_past_a_guard_uses_the_guarded_event() -> None:
    guarded: Pipeline = compile_pipeline(
        PipelineBuilder("leads3")
        .stage("fresh")
        .stage("customer", kind="won")
        .stage("dropped", kind="lost")
        .transition("sign", "fresh", "customer", guards=[guard("field_present", field="company")])
        .transition("drop", "*", "dropped")
        .build()
    )
    lead = _lead(company=None).evolve(status="fresh")
    reason = _reason(lambda: guarded.convert(lead, pipeline=SALES, at=T0))
    assert reason.startswith("it is not qualified for conversion (")
    assert "field_present" in reason
    done = guarded.convert(lead, pipeline=SALES, force=True, note="ok", at=T0)
    change = done.lead.history[-1]
    assert (change.event, change.to_stage, change.note) == (
        "sign",
        "customer",
        "forced conversion from 'fresh': ok",
    )


def test_an_unqualified_refusal_keeps_the_machine_refusal_as_its_cause() -> None:
    from pipelinekit.clock import FixedClock
    from pipelinekit.pipelines import InvalidTransition

    fresh = _lead()
    with pytest.raises(ConversionError) as refused:
        LIFECYCLE.convert(fresh, pipeline=SALES, at=T0)
    assert refused.value.lead_id == fresh.id
    cause = refused.value.__cause__
    assert isinstance(cause, InvalidTransition)
    assert (cause.entity_kind, cause.entity_id, cause.stage, cause.event, cause.reason) == (
        "lead",
        fresh.id,
        "new",
        "convert",
        "no conversion from 'new'",
    )
    assert cause.allowed == ("contact", "nurture", "qualify", "disqualify")
    # a lead in a stage this lifecycle does not have: refused, naming the operation
    with pytest.raises(InvalidTransition) as elsewhere:
        LIFECYCLE.convert(fresh.evolve(status="gone"), pipeline=SALES, at=T0)
    assert (elsewhere.value.event, elsewhere.value.stage) == ("convert", "gone")
    with pytest.raises(ValidationError) as wrong:
        LIFECYCLE.convert(fresh, pipeline="sales", at=T0)  # type: ignore[arg-type]
    assert wrong.value.subject == "convert"
    # the clock dates both sides when no time is given
    later = T0 + timedelta(days=2)
    done = LIFECYCLE.convert(_qualified(), pipeline=SALES, clock=FixedClock(later))
    assert done.lead.history[-1].at == done.opportunity.created_at == later
