"""set_probability as properties: the layering law, a complete layer history, one event.

Whatever layers an opportunity had and whatever a call sets or clears, the
result must follow the documented rule (closed > manual > automated > stage
default), record exactly the layers that changed (before, after, time, actor)
in ``probability_history``, and report one ``ProbabilityChanged`` exactly when
the effective probability or its source changed.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipelinekit import Lead, Opportunity, Person, Probability, ProbabilitySource, ValidationError
from pipelinekit.domain.history import ProbabilityChange
from pipelinekit.pipelines import ProbabilityChanged, StageKind, sales_pipeline

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
SALES = sales_pipeline()
DEFAULTS = sorted({s.probability for s in SALES.spec.stages})
# values equal to a stage default make "same probability, other source" cases likely
layer_values = st.none() | st.sampled_from(DEFAULTS) | st.decimals(0, 100, places=1)


def _p(value: Decimal | None, fraction: bool = False) -> Probability | None:
    if value is None:
        return None
    return Probability.fraction(value / 100) if fraction else Probability.percent(value)


def _in_stage(stage: str, manual: Decimal | None, automated: Decimal | None) -> Opportunity:
    opp = SALES.open(name="Deal", at=T0).entity
    if stage == "closed_lost":
        opp = SALES.lose(opp, reason="price", at=T0).entity
    walk_to = "proposal" if stage == "closed_won" else stage
    while opp.is_open and opp.stage != walk_to:
        opp = SALES.fire(opp, "advance", at=T0).entity
    if stage == "closed_won":
        opp = SALES.win(opp, at=T0).entity
    return SALES.set_probability(
        opp, manual=_p(manual), automated=_p(automated), actor="setup", at=T0
    ).entity


def _rule(stage: str, manual: Decimal | None, automated: Decimal | None) -> tuple[Any, Any]:
    spec = SALES.stages[stage]
    if spec.kind is StageKind.WON:
        return Decimal(100), ProbabilitySource.CLOSED
    if spec.kind is StageKind.LOST:
        return Decimal(0), ProbabilitySource.CLOSED
    if manual is not None:
        return manual, ProbabilitySource.MANUAL
    if automated is not None:
        return automated, ProbabilitySource.AUTOMATED
    return spec.probability, ProbabilitySource.STAGE_DEFAULT


@given(
    stage=st.sampled_from(SALES.spec.stage_keys),
    before=st.tuples(layer_values, layer_values),
    manual=layer_values,
    automated=layer_values,
    clear=st.booleans(),
    fraction=st.booleans(),
    actor=st.none() | st.sampled_from(["ana", "bot"]),
    hours=st.integers(-3, 3),
)
def test_setting_layers_follows_the_rule_and_records_every_change(
    stage: str,
    before: tuple[Decimal | None, Decimal | None],
    manual: Decimal | None,
    automated: Decimal | None,
    clear: bool,
    fraction: bool,
    actor: str | None,
    hours: int,
) -> None:
    opp = _in_stage(stage, *before)
    assert (opp.probability, opp.probability_source) == _rule(stage, *before)
    if clear:
        manual = None
    at = opp.updated_at + timedelta(hours=hours)
    moved = SALES.set_probability(
        opp,
        manual=_p(manual, fraction),
        automated=_p(automated, fraction),
        clear_manual=clear,
        actor=actor,
        at=at,
    )
    new = moved.entity
    want_manual = None if clear else (manual if manual is not None else before[0])
    want_automated = automated if automated is not None else before[1]
    assert (new.manual_probability, new.automated_probability) == (want_manual, want_automated)
    assert (new.probability, new.probability_source) == _rule(stage, want_manual, want_automated)
    # the stage, outcome and stage history do not move
    assert (new.stage, new.outcome, new.closed_at, new.history) == (
        opp.stage,
        opp.outcome,
        opp.closed_at,
        opp.history,
    )
    assert moved.change is None
    assert new.updated_at == max(at, opp.updated_at)
    # every layer that changed, and only those, in layer order
    expected = [
        ProbabilityChange(layer, old, value, at, actor)
        for layer, old, value in (
            ("manual", before[0], want_manual),
            ("automated", before[1], want_automated),
        )
        if old != value
    ]
    assert new.probability_history == (*opp.probability_history, *expected)
    changed = (new.probability, new.probability_source) != (opp.probability, opp.probability_source)
    if changed:
        assert moved.events == (
            ProbabilityChanged(
                "opportunity",
                opp.id,
                at,
                opp.probability,
                new.probability,
                new.probability_source.value,
                actor,
            ),
        )
    else:
        assert moved.events == ()
    # setting the same layers again changes nothing more
    again = SALES.set_probability(new, manual=_p(want_manual), automated=_p(want_automated), at=at)
    assert again.events == ()
    assert again.entity.probability_history == new.probability_history


def test_a_layer_equal_to_the_stage_default_changes_only_the_source() -> None:
    opp = SALES.open(name="Deal", at=T0).entity
    default = SALES.stages[opp.stage].probability
    moved = SALES.set_probability(opp, automated=Probability.percent(default), at=T0)
    assert moved.entity.probability == opp.probability == default
    assert moved.entity.probability_source is ProbabilitySource.AUTOMATED
    [event] = moved.events
    assert isinstance(event, ProbabilityChanged)
    assert (event.old, event.new, event.source) == (default, default, "automated")


def test_only_an_opportunity_has_a_probability() -> None:
    lead = Lead.create(contact=Person.of("Ada"), at=T0)
    with pytest.raises(ValidationError) as refused:
        SALES.set_probability(lead, manual=Probability.percent(10), at=T0)  # type: ignore[arg-type]
    assert refused.value.subject == "set_probability"
    [problem] = refused.value.problems
    assert (problem.path, problem.message) == (
        "$.opportunity",
        "only an Opportunity has a probability, got Lead",
    )


def test_clear_manual_must_be_a_boolean() -> None:
    opp = SALES.open(name="Deal", at=T0).entity
    with pytest.raises(ValidationError) as refused:
        SALES.set_probability(opp, clear_manual=None, at=T0)  # type: ignore[arg-type]
    assert refused.value.paths == ("$.clear_manual",)
    with pytest.raises(ValidationError) as both:
        SALES.set_probability(opp, manual=Probability.percent(5), clear_manual=True, at=T0)
    assert [p.message for p in both.value.problems] == [
        "cannot both set and clear the manual probability"
    ]


def test_the_clock_dates_the_change_and_refusals_name_the_operation() -> None:
    from pipelinekit.clock import FixedClock
    from pipelinekit.pipelines import InvalidTransition

    opp = SALES.open(name="Deal", at=T0).entity
    later = T0 + timedelta(days=3)
    moved = SALES.set_probability(opp, manual=Probability.percent(55), clock=FixedClock(later))
    assert moved.entity.probability_history[-1].at == later
    assert moved.entity.updated_at == later
    with pytest.raises(ValidationError) as refused:
        SALES.set_probability(opp, manual=Decimal("0.35"), at=T0)  # type: ignore[arg-type]
    assert refused.value.subject == "set_probability"
    with pytest.raises(InvalidTransition) as elsewhere:
        SALES.set_probability(opp.evolve(stage="gone"), manual=Probability.percent(5), at=T0)
    assert (elsewhere.value.event, elsewhere.value.stage) == ("set_probability", "gone")
