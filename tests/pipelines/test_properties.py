"""Pipeline behaviour as properties, through the public ``Pipeline`` methods only.

A random walk of operations on the built-in sales pipeline checks, after every step,
the invariants a user relies on: the layered probability (closed > manual >
automated > stage default), outcome and closing fields matching the stage kind, a
history chain that ends in the current stage, refused operations changing nothing,
and the bulk path agreeing with the single one.  Conversion is checked the same way.
"""

from __future__ import annotations

import contextlib
import itertools
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelinekit import (
    Company,
    Lead,
    Money,
    Opportunity,
    Outcome,
    Person,
    PipelinekitError,
    Probability,
    ProbabilitySource,
    ValidationError,
    to_dict,
)
from pipelinekit.pipelines import (
    ConversionError,
    InvalidTransition,
    LeadConverted,
    OpportunityLost,
    OpportunityOpened,
    OpportunityReopened,
    OpportunityWon,
    Pipeline,
    ProbabilityChanged,
    StageChanged,
    StageKind,
    lead_lifecycle,
    sales_pipeline,
)

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
SALES = sales_pipeline()
LIFECYCLE = lead_lifecycle()
OPEN = [s.key for s in SALES.spec.stages if s.kind is StageKind.OPEN]
percent = st.decimals(min_value=0, max_value=100, places=1)


def expected_probability(pipeline: Pipeline, opp: Opportunity) -> tuple[Decimal, ProbabilitySource]:
    """The layering rule, written out from the documentation."""
    stage = pipeline.stages[opp.stage]
    if stage.kind is StageKind.WON:
        return Decimal(100), ProbabilitySource.CLOSED
    if stage.kind is StageKind.LOST:
        return Decimal(0), ProbabilitySource.CLOSED
    if opp.manual_probability is not None:
        return opp.manual_probability, ProbabilitySource.MANUAL
    if opp.automated_probability is not None:
        return opp.automated_probability, ProbabilitySource.AUTOMATED
    return stage.probability, ProbabilitySource.STAGE_DEFAULT


def check_opportunity(pipeline: Pipeline, opp: Opportunity) -> None:
    stage = pipeline.stages[opp.stage]
    assert (opp.probability, opp.probability_source) == expected_probability(pipeline, opp)
    outcome = {StageKind.WON: Outcome.WON, StageKind.LOST: Outcome.LOST}.get(
        stage.kind, Outcome.OPEN
    )
    assert opp.outcome is outcome
    assert opp.is_open is (outcome is Outcome.OPEN)
    if outcome is Outcome.OPEN:
        assert opp.closed_at is None
        assert opp.lost_reason is None
    else:
        assert opp.closed_at == opp.history[-1].at
    if outcome is Outcome.LOST:
        assert opp.lost_reason is not None
    history = opp.history
    assert history[0].from_stage is None
    assert history[0].to_stage == pipeline.first_stage.key
    for before, after in itertools.pairwise(history):
        assert after.from_stage == before.to_stage
        assert after.at >= before.at
    assert history[-1].to_stage == opp.stage
    assert opp.pipeline == pipeline.key
    assert opp.updated_at >= history[-1].at


ACTIONS = st.one_of(
    st.tuples(st.just("fire"), st.sampled_from(["advance", "win", "lose", "reopen", "nope"])),
    st.tuples(st.just("move"), st.sampled_from([s.key for s in SALES.spec.stages])),
    st.tuples(st.just("win"), st.none()),
    st.tuples(st.just("lose"), st.sampled_from(["price", "timing"])),
    st.tuples(st.just("reopen"), st.sampled_from([*OPEN, "closed_won"])),
    st.tuples(st.just("manual"), percent),
    st.tuples(st.just("automated"), percent),
    st.tuples(st.just("clear_manual"), st.none()),
)


def _apply(opp: Opportunity, action: tuple[str, Any], at: datetime) -> Any:
    name, arg = action
    if name == "fire":
        reason = "price" if arg == "lose" else None
        return SALES.fire(opp, arg, at=at, reason=reason, actor="ana")
    if name == "move":
        return SALES.move(opp, arg, at=at)
    if name == "win":
        return SALES.win(opp, at=at)
    if name == "lose":
        return SALES.lose(opp, reason=arg, competitor="Globex", at=at)
    if name == "reopen":
        return SALES.reopen(opp, to=arg, at=at)
    if name == "manual":
        return SALES.set_probability(opp, manual=Probability.percent(arg), at=at)
    if name == "automated":
        return SALES.set_probability(opp, automated=Probability.percent(arg), at=at)
    return SALES.set_probability(opp, clear_manual=True, at=at)


@settings(max_examples=120)
@given(st.lists(ACTIONS, max_size=12), st.none() | st.integers(0, 10**6))
def test_random_walks_keep_the_invariants(
    actions: list[tuple[str, Any]], amount: int | None
) -> None:
    money = None if amount is None else Money(amount, "EUR")
    opened = SALES.open(name="Deal", amount=money, at=T0)
    opp = opened.entity
    assert opp.stage == SALES.first_stage.key
    assert OpportunityOpened in [type(e) for e in opened.events]
    check_opportunity(SALES, opp)
    now = T0
    for action in actions:
        now += timedelta(hours=1)
        snapshot = to_dict(opp)
        try:
            moved = _apply(opp, action, now)
        except PipelinekitError:
            assert to_dict(opp) == snapshot  # a refused operation changes nothing
            continue
        new = moved.entity
        check_opportunity(SALES, new)
        if moved.change is None:
            assert new.history == opp.history
        else:
            assert new.history == (*opp.history, moved.change)
            assert moved.change.at == now
            assert moved.change.from_stage == opp.stage
            assert new.updated_at == now
            kinds = [type(e) for e in moved.events]
            assert StageChanged in kinds
            closing = {StageKind.WON: OpportunityWon, StageKind.LOST: OpportunityLost}
            target_kind = SALES.stages[new.stage].kind
            if target_kind in closing:
                assert closing[target_kind] in kinds
            if not opp.is_open and new.is_open:
                assert OpportunityReopened in kinds
        # manual input survives every stage move; only clear_manual removes it
        if action[0] not in ("manual", "clear_manual"):
            assert new.manual_probability == opp.manual_probability
        opp = new


@settings(max_examples=80)
@given(
    st.lists(
        st.tuples(st.sampled_from(OPEN), st.none() | percent, st.none() | percent),
        min_size=1,
        max_size=5,
    ),
    st.sampled_from(["advance", "win", "lose", "reopen", "nope"]),
    st.sampled_from([None, "price"]),
)
def test_bulk_agrees_with_firing_one_by_one(
    specs: list[tuple[str, Decimal | None, Decimal | None]], event: str, reason: str | None
) -> None:
    opps = []
    for stage, manual, automated in specs:
        opp = _walk_to(SALES.open(name="D", at=T0).entity, stage)
        opp = SALES.set_probability(opp, manual=_p(manual), automated=_p(automated), at=T0).entity
        opps.append(opp)
    at = T0 + timedelta(days=1)
    result = SALES.bulk(opps, event, at=at, reason=reason, actor="bot")
    assert (result.pipeline, result.event) == (SALES.key, event)
    moved = iter(result.moved)
    failures = {f.index: f for f in result.failures}
    for index, opp in enumerate(opps):
        try:
            single = SALES.fire(opp, event, at=at, reason=reason, actor="bot").entity
        except InvalidTransition as error:
            refused = error
        else:
            assert index not in failures
            assert next(moved) == single
            continue
        assert failures[index].entity_id == opp.id
        assert str(failures[index].error) == str(refused)
    assert next(moved, None) is None
    assert len(list(result.events())) >= len(result.moved)


def _p(value: Decimal | None) -> Probability | None:
    return None if value is None else Probability.percent(value)


def _walk_to(opp: Opportunity, stage: str) -> Opportunity:
    while opp.stage != stage:
        opp = SALES.fire(opp, "advance", at=T0).entity
    return opp


@given(st.none() | percent, st.none() | percent, st.sampled_from(OPEN))
def test_set_probability_layers(
    manual: Decimal | None, automated: Decimal | None, stage: str
) -> None:
    opp = _walk_to(SALES.open(name="D", at=T0).entity, stage)
    moved = SALES.set_probability(
        opp, manual=_p(manual), automated=_p(automated), actor="ana", at=T0
    )
    new = moved.entity
    assert new.manual_probability == manual
    assert new.automated_probability == automated
    check_opportunity(SALES, new)
    changed = (new.probability, new.probability_source) != (opp.probability, opp.probability_source)
    assert [type(e) for e in moved.events] == ([ProbabilityChanged] if changed else [])
    if changed:
        event = moved.events[0]
        assert (event.old, event.new, event.source, event.actor) == (  # type: ignore[attr-defined]
            opp.probability,
            new.probability,
            new.probability_source.value,
            "ana",
        )
    cleared = SALES.set_probability(new, clear_manual=True, at=T0).entity
    assert cleared.manual_probability is None
    assert cleared.automated_probability == automated
    check_opportunity(SALES, cleared)


@pytest.mark.parametrize(
    ("kwargs", "paths"),
    [
        ({"manual": 101}, ["$.manual"]),
        ({"automated": "-1"}, ["$.automated"]),
        ({"manual": 1.5}, ["$.manual"]),
        ({"manual": Probability.percent(10), "clear_manual": True}, ["$.clear_manual"]),
        ({"manual": Decimal("0.35")}, ["$.manual"]),
        ({"clear_manual": "yes"}, ["$.clear_manual"]),
        ({"manual": 200, "automated": 300}, ["$.manual", "$.automated"]),
    ],
)
def test_set_probability_refuses_bad_layers(kwargs: dict[str, Any], paths: list[str]) -> None:
    opp = SALES.open(name="D", at=T0).entity
    with pytest.raises(ValidationError) as info:
        SALES.set_probability(opp, at=T0, **kwargs)
    assert list(info.value.paths) == paths


def test_a_closed_opportunity_keeps_its_closed_probability() -> None:
    won = SALES.win(_walk_to(SALES.open(name="D", at=T0).entity, "proposal"), at=T0).entity
    after = SALES.set_probability(
        won, manual=Probability.percent(30), automated=Probability.percent(40), at=T0
    ).entity
    assert (after.probability, after.probability_source) == (100, ProbabilitySource.CLOSED)
    assert (after.manual_probability, after.automated_probability) == (30, 40)
    reopened = SALES.reopen(after, to="meeting", at=T0 + timedelta(hours=1)).entity
    assert (reopened.probability, reopened.probability_source) == (30, ProbabilitySource.MANUAL)


# -- conversion --------------------------------------------------------------------

LIFECYCLE_EVENTS = ["contact", "nurture", "qualify", "disqualify", "recycle"]


@settings(max_examples=80)
@given(
    st.lists(st.sampled_from(LIFECYCLE_EVENTS), max_size=5),
    st.booleans(),
    st.none() | st.integers(1, 10**5),
)
def test_conversion_links_both_sides_and_carries_the_lead_over(
    events: list[str], force: bool, amount: int | None
) -> None:
    lead = Lead.create(
        contact=Person.of("Ada", email="ada@example.com"),
        company=Company("Acme"),
        owner="ana",
        tags={"vip"},
        custom={"seats": 5},
        at=T0,
    )
    for event in events:
        with contextlib.suppress(InvalidTransition):
            lead = LIFECYCLE.fire(lead, event, at=T0).entity
    money = None if amount is None else Money(amount, "EUR")
    at = T0 + timedelta(days=2)
    allowed = lead.status == "qualified"
    if not allowed and not force:
        with pytest.raises(ConversionError) as refused:
            LIFECYCLE.convert(lead, pipeline=SALES, amount=money, at=at)
        assert refused.value.lead_id == lead.id
        return
    conversion = LIFECYCLE.convert(lead, pipeline=SALES, amount=money, force=force, at=at)
    assert conversion.forced is (not allowed)
    converted, opp = conversion.lead, conversion.opportunity
    assert converted.status == "converted"
    assert converted.opportunity_id == opp.id
    assert opp.lead_id == lead.id
    assert (opp.contact, opp.company, opp.owner, opp.tags) == (
        lead.contact,
        lead.company,
        "ana",
        {"vip"},
    )
    assert dict(opp.custom) == {"seats": 5}
    assert opp.amount == money
    assert opp.name == "Acme"
    assert opp.stage == SALES.first_stage.key
    check_opportunity(SALES, opp)
    assert converted.history[-1].at == at
    assert converted.history[-1].from_stage == lead.status
    if conversion.forced:
        assert "forced conversion" in (converted.history[-1].note or "")
    [done] = [e for e in conversion.events if isinstance(e, LeadConverted)]
    assert done.forced is conversion.forced
    with pytest.raises(ConversionError):
        LIFECYCLE.convert(converted, pipeline=SALES, at=at)


def test_conversion_into_an_existing_opportunity_keeps_its_values() -> None:
    lead = Lead.create(
        contact=Person.of("Ada"),
        company=Company("Acme"),
        owner="ana",
        tags={"a"},
        custom={"x": 1, "y": 1},
        at=T0,
    )
    lead = LIFECYCLE.fire(lead, "qualify", at=T0).entity
    existing = SALES.open(
        name="Big deal", amount=Money(5, "EUR"), owner="bob", at=T0, tags={"b"}, custom={"y": 2}
    ).entity
    done = LIFECYCLE.convert(
        lead, into=existing, amount=Money(9, "EUR"), at=T0 + timedelta(hours=1)
    )
    opp = done.opportunity
    assert opp.id == existing.id
    assert (opp.name, opp.amount, opp.owner) == ("Big deal", Money(5, "EUR"), "bob")
    assert opp.tags == {"a", "b"}
    assert dict(opp.custom) == {"x": 1, "y": 2}
    assert opp.company == Company("Acme")
    assert opp.updated_at == T0 + timedelta(hours=1)
    with pytest.raises(ConversionError):
        LIFECYCLE.convert(lead, pipeline=SALES, into=existing, at=T0)
    with pytest.raises(ConversionError):
        LIFECYCLE.convert(lead, at=T0)
