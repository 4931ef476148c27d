"""Dask: scoring and bulk moves over partitions give the in-process results, row for row."""

from __future__ import annotations

import pickle
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import pipelinekit as pk
from pipelinekit import Lead, ValidationError
from pipelinekit.arrow._shipping import ShippedStrategy, ship_pipeline, ship_strategy
from pipelinekit.dask import advance_dataframe, score_dataframe, to_dask
from pipelinekit.pipelines import compile_pipeline
from pipelinekit.pipelines.builtins import sales_pipeline
from pipelinekit.qualification import bant, evaluate_many, icp_fit, one_of, present
from pipelinekit.testing.pipelines import opportunities_in, pipeline_specs
from pipelinekit.testing.strategies import leads

AS_OF = datetime(2026, 6, 1, tzinfo=UTC)
ICP = icp_fit(
    "fit",
    [
        one_of("industry", "company.industry", {"software": 20, "fintech": 10}, default=1),
        one_of("country", "company.country", {"DE": 10, "FR": 5}),
        present("email", "contact.email", points=5),
    ],
)
FEW = settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FEW
@given(
    entities=st.lists(leads(), min_size=1, max_size=8),
    strategy=st.sampled_from([ICP, bant()]),
    parts=st.integers(1, 3),
    scheduler=st.sampled_from(["synchronous", "threads"]),
)
def test_score_dataframe_equals_evaluate_many(
    entities: list[Lead], strategy: Any, parts: int, scheduler: str
) -> None:
    frame = score_dataframe(to_dask(entities, npartitions=parts), strategy, as_of=AS_OF)
    got = frame.compute(scheduler=scheduler)
    results = evaluate_many(strategy, entities, as_of=AS_OF, explain=False)
    assert list(got["id"]) == [e.id for e in entities]
    assert [None if pd_na(s) else s for s in got["score"]] == [
        None if r.score is None else str(r.score) for r in results
    ]
    assert list(got["verdict"]) == [r.verdict.value for r in results]
    assert [None if pd_na(g) else g for g in got["grade"]] == [r.grade for r in results]


def pd_na(value: object) -> bool:
    import pandas as pd

    return value is None or value is pd.NA


EVENTS = ("advance", "win", "lose", "reopen", "nope")


@FEW
@given(data=st.data(), spec=pipeline_specs(), event=st.sampled_from(EVENTS))
def test_advance_dataframe_equals_the_bulk_path(data: st.DataObject, spec: Any, event: str) -> None:
    pipeline = compile_pipeline(spec)
    opps = data.draw(st.lists(opportunities_in(pipeline), min_size=1, max_size=6))
    frame = advance_dataframe(
        to_dask(opps, npartitions=2), pipeline, event, at=AS_OF, reason="price"
    ).compute(scheduler="synchronous")
    bulk = pipeline.bulk(opps, event, at=AS_OF, reason="price")
    refused = {f.index: f for f in bulk.failures}
    moved = iter(bulk.moved)
    for index, opp in enumerate(opps):
        row = frame.iloc[index]
        assert row["id"] == opp.id
        if index in refused:
            assert not row["moved"]
            assert row["stage"] == opp.stage
            assert row["error"] == type(refused[index].error).__name__
            assert row["message"] == str(refused[index].error)
        else:
            after = next(moved)
            assert row["moved"]
            assert (row["stage"], row["probability"], row["outcome"]) == (
                after.stage,
                str(after.probability),
                after.outcome.value,
            )
            assert len(row["history"]) == len(after.history)


def test_bad_rows_surface_when_computed() -> None:
    lead = Lead.create(company=pk.Company("Acme"), at=AS_OF)
    frame = to_dask([lead, lead.evolve(id="x")], npartitions=1)
    frame["status"] = frame["status"].where(frame["id"] != "x", " ")
    scored = score_dataframe(frame, ICP, as_of=AS_OF)
    with pytest.raises(ValidationError) as caught:
        scored.compute(scheduler="synchronous")
    assert caught.value.paths == ("$[1].status",)


def test_strategies_and_pipelines_travel_as_configuration() -> None:
    shipped = ship_strategy(ICP)
    again = pickle.loads(pickle.dumps(shipped))
    assert again.build().config_hash == ICP.config_hash
    pipeline = pickle.loads(pickle.dumps(ship_pipeline(sales_pipeline()))).build()
    assert pipeline.version == sales_pipeline().version
    forged = ShippedStrategy(shipped.config, "sha256:other")
    with pytest.raises(ValidationError) as caught:
        forged.build()
    assert caught.value.paths == ("$.config_hash",)


def test_the_kind_is_read_from_the_columns_or_checked() -> None:
    lead = Lead.create(company=pk.Company("Acme"), at=AS_OF)
    frame = to_dask([lead], npartitions=1)
    assert list(score_dataframe(frame, ICP, as_of=AS_OF, kind=Lead).compute()["id"]) == [lead.id]
    with pytest.raises(ValidationError) as caught:
        score_dataframe(frame, ICP, as_of=AS_OF, kind="account")
    assert caught.value.paths == ("$.kind",)
    with pytest.raises(ValidationError):
        score_dataframe(frame, ICP, as_of=AS_OF, kind=dict)
