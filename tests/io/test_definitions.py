"""Importers for real CRM definitions: HubSpot pipelines API JSON and Salesforce
OpportunityStage metadata XML become pipelines that compile and forecast."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelinekit import Money, analytics
from pipelinekit.io import ImportGraph, read_hubspot, read_odoo, read_salesforce
from pipelinekit.pipelines import (
    PipelineDefinitionError,
    StageKind,
    compile_pipeline,
    dumps_pipeline,
    loads_pipeline,
)

EXAMPLES = Path(__file__).parents[2] / "docs" / "examples" / "crm"
HUBSPOT = EXAMPLES / "hubspot-deal-pipelines.json"
SALESFORCE = EXAMPLES / "OpportunityStage.standardValueSet-meta.xml"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _forecast_runs(spec) -> analytics.Forecast:  # type: ignore[no-untyped-def]
    pipeline = compile_pipeline(spec)
    deals = []
    for n in range(len(spec.stages)):
        deal = pipeline.open(name=f"D{n}", amount=Money(1000, "USD"), at=T0).entity
        for _ in range(n):
            if deal.is_open and "advance" in pipeline.available_events(deal):
                deal = pipeline.fire(deal, "advance", at=T0 + timedelta(days=n)).entity
        deals.append(deal)
    won = pipeline.win(deals[-1], at=T0 + timedelta(days=30)).entity
    lost = pipeline.lose(deals[0], reason="no budget", at=T0 + timedelta(days=30)).entity
    return analytics.forecast([*deals[1:-1], won, lost], [pipeline], by=("category", "stage"))


def test_the_hubspot_example_round_trips_into_pipelines_that_forecast() -> None:
    sales, renewals = read_hubspot(HUBSPOT)
    assert sales.key == "default"
    assert [(s.key, s.label, s.probability, s.kind) for s in sales.stages][:2] == [
        ("appointmentscheduled", "Appointment Scheduled", 20, StageKind.OPEN),
        ("qualifiedtobuy", "Qualified To Buy", 40, StageKind.OPEN),
    ]
    assert sales.stage("closedwon").kind is StageKind.WON
    assert sales.stage("closedlost").kind is StageKind.LOST
    # custom numeric ids are keys as they are; the archived stage is left out
    assert renewals.key == "hubspot_87654321"
    assert renewals.stage_keys == ("12345678", "12345679", "12345680", "12345681")
    assert renewals.stage("12345679").probability == 75
    for spec in (sales, renewals):
        for unit in ("percent", "fraction"):
            assert loads_pipeline(dumps_pipeline(spec, probability_unit=unit)) == spec
        result = _forecast_runs(spec)
        assert result.total("booked") == Money(1000, "USD")
        for line in result.lines:
            stage = spec.stage(str(line.key[1]))
            assert line.weighted == line.open_amount * stage.probability / 100
    # the same data parsed or read from disk gives the same pipelines
    assert read_hubspot(json.loads(HUBSPOT.read_text())) == (sales, renewals)


def test_the_salesforce_example_keeps_ids_probabilities_and_forecast_categories() -> None:
    spec = read_salesforce(SALESFORCE, key="sf_deals", label="Deals")
    assert spec.stage_keys[:3] == ("Prospecting", "Needs Analysis", "Id. Decision Makers")
    assert {s.key: s.forecast for s in spec.stages} == {
        "Prospecting": "pipeline",
        "Needs Analysis": "pipeline",
        "Id. Decision Makers": "best_case",
        "Proposal/Price Quote": "most_likely",
        "Negotiation/Review": "commit",
        "Closed Won": "closed",
        "Closed Lost": "omitted",
    }
    assert spec.stage("Negotiation/Review").probability == 90
    assert loads_pipeline(dumps_pipeline(spec)) == spec
    result = _forecast_runs(spec)
    assert {line.key[0] for line in result.lines} >= {"best_case", "commit", "closed"}


def test_the_default_graph_and_its_options() -> None:
    spec = read_salesforce(SALESFORCE)
    moves = {(t.event, s, t.target) for t in spec.transitions for s in spec.sources_of(t)}
    assert ("advance", "Prospecting", "Needs Analysis") in moves
    assert ("back", "Needs Analysis", "Prospecting") in moves
    assert ("win", "Negotiation/Review", "Closed Won") in moves
    assert ("win", "Prospecting", "Closed Won") not in moves
    assert ("lose", "Prospecting", "Closed Lost") in moves
    assert not any(event == "reopen" for event, _, _ in moves)
    wide = read_salesforce(SALESFORCE, graph=ImportGraph(back=False, win_from="any", reopen=True))
    wide_moves = {(t.event, s, t.target) for t in wide.transitions for s in wide.sources_of(t)}
    assert ("win", "Prospecting", "Closed Won") in wide_moves
    assert ("reopen", "Closed Lost", "Prospecting") in wide_moves
    assert not any(event == "back" for event, _, _ in wide_moves)


def test_a_malformed_hubspot_file_lists_all_its_problems() -> None:
    data = json.loads(HUBSPOT.read_text())
    bad = copy.deepcopy(data)
    stages = bad["results"][0]["stages"]
    stages[0]["metadata"]["probability"] = "20"  # a percentage where HubSpot has fractions
    stages[1]["metadata"]["isClosed"] = "maybe"
    stages[2]["label"] = ""
    stages[5]["metadata"]["probability"] = "0.5"  # closed, neither won nor lost
    del bad["results"][1]["label"]
    with pytest.raises(PipelineDefinitionError) as caught:
        read_hubspot(bad)
    assert caught.value.paths == (
        "$.results[0].stages[0].metadata.probability",
        "$.results[0].stages[1].metadata.isClosed",
        "$.results[0].stages[2].label",
        "$.results[0].stages[5].metadata.probability",
        "$.results[1].label",
    )
    with pytest.raises(PipelineDefinitionError, match="invalid JSON at line 1"):
        read_hubspot(b"{nope")
    with pytest.raises(PipelineDefinitionError, match="cannot read"):
        read_hubspot(EXAMPLES / "missing.json")


def test_a_hubspot_pipeline_without_a_won_stage_is_reported_at_the_pipeline() -> None:
    data = json.loads(HUBSPOT.read_text())
    data["results"][1]["stages"] = [
        s for s in data["results"][1]["stages"] if s["metadata"]["probability"] != "1.0"
    ]
    with pytest.raises(PipelineDefinitionError) as caught:
        read_hubspot(data)
    assert [str(p) for p in caught.value.problems] == [
        "$.results[1]: needs a won stage (kind = 'won')"
    ]


def test_a_malformed_salesforce_file_lists_all_its_problems() -> None:
    text = SALESFORCE.read_text()
    text = text.replace("<probability>20</probability>", "<probability>0.2x</probability>", 1)
    text = text.replace("<forecastCategory>BestCase<", "<forecastCategory>Upsidish<", 1)
    text = text.replace("<fullName>Negotiation/Review</fullName>", "", 1)
    text = text.replace("<closed>true</closed>\n        <forecastCategory>Closed", "<closed>"
                        "yes</closed>\n        <forecastCategory>Closed", 1)  # fmt: skip
    with pytest.raises(PipelineDefinitionError) as caught:
        read_salesforce(text.encode())
    assert caught.value.paths == (
        "$.standardValue[1].probability",
        "$.standardValue[2].forecastCategory",
        "$.standardValue[4].fullName",
        "$.standardValue[5].closed",
    )
    with pytest.raises(PipelineDefinitionError, match="invalid XML at line 1"):
        read_salesforce(b"<StandardValueSet><standardValue>")


def test_xml_entity_tricks_are_refused() -> None:
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        b'<!ENTITY lol2 "&lol;&lol;&lol;">]><StandardValueSet>&lol2;</StandardValueSet>'
    )
    with pytest.raises(PipelineDefinitionError, match="refused XML"):
        read_salesforce(bomb)


fractions = st.decimals(min_value=0, max_value=1, places=4).filter(lambda d: 0 < d < 1)


@settings(max_examples=40, deadline=None)
@given(st.lists(fractions, min_size=1, max_size=6), st.sampled_from(["percent", "fraction"]))
def test_any_hubspot_pipeline_keeps_its_probabilities_exactly(
    values: list[Decimal], unit: str
) -> None:
    stages = [
        {"id": str(10_000_000 + n), "label": f"Stage {n}", "displayOrder": n,
         "metadata": {"isClosed": "false", "probability": str(v)}}
        for n, v in enumerate(values)
    ]  # fmt: skip
    stages += [
        {"id": "won", "label": "Won", "displayOrder": 98,
         "metadata": {"isClosed": "true", "probability": "1.0"}},
        {"id": "lost", "label": "Lost", "displayOrder": 99,
         "metadata": {"isClosed": "true", "probability": "0.0"}},
    ]  # fmt: skip
    (spec,) = read_hubspot({"id": "default", "label": "Deals", "stages": stages[::-1]})
    assert [s.probability / 100 for s in spec.stages[: len(values)]] == values
    assert loads_pipeline(dumps_pipeline(spec, probability_unit=unit)) == spec


def test_the_odoo_example_gets_a_lost_stage_and_its_lost_reasons() -> None:
    reasons = ["Too expensive", "Not enough stock", "other"]
    spec = read_odoo(EXAMPLES / "odoo-crm-stages.csv", key="odoo", lost_reasons=reasons)
    assert [(s.key, s.label, s.kind) for s in spec.stages] == [
        ("crm.stage_lead1", "New", StageKind.OPEN),
        ("crm.stage_lead2", "Qualified", StageKind.OPEN),
        ("crm.stage_lead3", "Proposition", StageKind.OPEN),
        ("crm.stage_lead4", "Won", StageKind.WON),
        ("lost", "Lost", StageKind.LOST),
    ]
    assert spec.lost_reasons == tuple(reasons)
    assert loads_pipeline(dumps_pipeline(spec)) == spec
    # the labels of Odoo's default export work too, ordered by sequence then name
    labelled = b"Stage Name,Sequence,Is Won Stage?\nB,2,False\nWon,9,True\nA,2,False\n"
    assert read_odoo(labelled).stage_keys == ("A", "B", "Won", "lost")
    bad = b"name,sequence,is_won\nNew,first,False\n,2,maybe\n"
    with pytest.raises(PipelineDefinitionError) as caught:
        read_odoo(bad)
    assert caught.value.paths == ("$.line[2].sequence", "$.line[3].name", "$.line[3].is_won")
