"""Refusals say what went wrong: unknown stage, unknown event, a label where a key is
expected and a disallowed move are four different messages; validate reports root causes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from pipelinekit import Company, Lead, Person, Source
from pipelinekit.pipelines import (
    ConversionError,
    InvalidTransition,
    PipelineDefinitionError,
    compile_pipeline,
    lead_lifecycle,
    loads_pipeline,
    pipeline_from_dict,
)

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
HUBSPOT_LIKE = compile_pipeline(
    pipeline_from_dict(
        {
            "key": "deals",
            "stages": [
                {"key": "appointmentscheduled", "label": "Appointment scheduled"},
                {"key": "qualifiedtobuy", "label": "Qualified to buy"},
                {"key": "closedwon", "label": "Closed won", "kind": "won"},
                {"key": "closedlost", "label": "Closed lost", "kind": "lost"},
            ],
            "transitions": [
                {"event": "advance", "source": "appointmentscheduled", "target": "qualifiedtobuy"},
                {"event": "win", "source": "qualifiedtobuy", "target": "closedwon"},
                {"event": "lose", "source": "*", "target": "closedlost"},
                {"event": "reopen", "source": "closedlost", "target": "appointmentscheduled"},
            ],
        }
    )
)


def _reason(call) -> str:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidTransition) as caught:
        call()
    return caught.value.reason


def test_four_refusals_four_messages() -> None:
    deal = HUBSPOT_LIKE.open(name="D", at=T0).entity
    unknown_stage = _reason(lambda: HUBSPOT_LIKE.move(deal, "closed_maybe", at=T0))
    label = _reason(lambda: HUBSPOT_LIKE.move(deal, "Qualified to buy", at=T0))
    unknown_event = _reason(lambda: HUBSPOT_LIKE.fire(deal, "advanse", at=T0))
    disallowed = _reason(lambda: HUBSPOT_LIKE.move(deal, "closedwon", at=T0))
    assert unknown_stage.startswith("unknown stage 'closed_maybe'")
    assert label == (
        "unknown stage 'Qualified to buy'; did you mean key 'qualifiedtobuy' "
        "for label 'Qualified to buy'?"
    )
    assert unknown_event.startswith("unknown event; did you mean 'advance'?")
    assert disallowed == "no transition from 'appointmentscheduled' to 'closedwon'"
    assert len({unknown_stage, label, unknown_event, disallowed}) == 4
    # the same words on the other paths that take a stage
    assert _reason(lambda: HUBSPOT_LIKE.fire(deal, "advance", to="Qualified to buy", at=T0)) == (
        label
    )
    bulk = HUBSPOT_LIKE.bulk([deal], "advance", to="Qualified to buy", at=T0)
    assert bulk.failures[0].error.reason == label  # type: ignore[attr-defined]
    lost = HUBSPOT_LIKE.lose(deal, reason="price", at=T0).entity
    assert _reason(lambda: HUBSPOT_LIKE.reopen(lost, to="closedlots", at=T0)).startswith(
        "unknown stage 'closedlots'; did you mean 'closedlost'?"
    )


def test_converting_into_a_closed_deal_needs_force_and_is_recorded() -> None:
    lifecycle = lead_lifecycle()
    lead = Lead.create(
        contact=Person.of("Ada", email="ada@example.com"),
        company=Company("Acme"),
        source=Source("website"),
        at=T0,
    )
    deal = HUBSPOT_LIKE.open(name="D", at=T0).entity
    won = HUBSPOT_LIKE.win(HUBSPOT_LIKE.fire(deal, "advance", at=T0).entity, at=T0).entity
    later = T0 + timedelta(days=1)
    with pytest.raises(ConversionError, match="already closed won; pass force=True"):
        lifecycle.convert(lead, into=won, at=later)
    done = lifecycle.convert(lead, into=won, force=True, actor="ana", at=later)
    assert done.forced
    assert f"forced conversion into closed won opportunity {won.id}" in str(
        done.lead.history[-1].note
    )
    assert done.opportunity.lead_id == lead.id


def test_validate_reports_root_causes_with_the_nearest_names() -> None:
    text = """
key = "deals"
[[stages]]
key = "prospecting"
probabilty = 10
[[stages]]
key = "signed"
kind = "wonn"
[[stages]]
key = "lost"
kind = "lost"
[[transitions]]
event = "sign"
source = "prospecting"
target = "signed"
[[transitions]]
event = "lose"
source = "*"
target = "lsot"
"""
    with pytest.raises(PipelineDefinitionError) as caught:
        loads_pipeline(text)
    assert [str(p) for p in caught.value.problems] == [
        "$.stages[0].probabilty: unknown field 'probabilty'; did you mean 'probability'?",
        "$.stages[1].kind: must be one of 'open', 'won', 'lost'; got 'wonn'; did you mean 'won'?",
        "$.transitions[1].target: unknown stage 'lsot'; did you mean 'lost'?",
    ]
