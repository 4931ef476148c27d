"""Dask: on a local distributed cluster of two worker processes, the in-process results."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipelinekit.dask import advance_dataframe, score_dataframe, to_dask
from pipelinekit.pipelines.builtins import lead_lifecycle
from pipelinekit.qualification import bant, evaluate_many, icp_fit, one_of, present
from pipelinekit.qualification.icp import bands
from pipelinekit.testing.strategies import leads

distributed = pytest.importorskip("distributed")

AS_OF = datetime(2026, 6, 1, tzinfo=UTC)
ICP = icp_fit(
    "fit",
    [
        one_of("industry", "company.industry", {"software": 20, "finance": 10}, default=1),
        bands("size", "company.employees", [(None, 10, 0), (10, 500, 10), (500, None, 15)]),
        one_of("country", "company.country", {"DE": 10, "FR": 5}, knockout=["US"]),
        present("email", "contact.email", points=5),
    ],
    total_cap=30,
)


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    # worker processes: the strategy and the pipeline really travel to another interpreter
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
        ) as cluster,
        distributed.Client(cluster, set_as_default=False) as connected,
    ):
        yield connected


FEW = settings(
    max_examples=6,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
LEADS = st.lists(leads(), min_size=1, max_size=12)


def _text(value: object) -> str | None:
    import pandas as pd

    return None if value is None or value is pd.NA else str(value)


@FEW
@given(entities=LEADS, strategy=st.sampled_from([ICP, bant()]))
def test_scores_on_two_workers_equal_evaluate_many(
    client: Any, entities: list[Any], strategy: Any
) -> None:
    frame = score_dataframe(to_dask(entities, npartitions=2), strategy, as_of=AS_OF)
    got = client.compute(frame).result()
    results = evaluate_many(strategy, entities, as_of=AS_OF)
    assert list(got["id"]) == [e.id for e in entities]
    assert [_text(s) for s in got["score"]] == [_text(r.score) for r in results]
    assert list(got["verdict"]) == [r.verdict.value for r in results]
    assert [_text(g) for g in got["grade"]] == [r.grade for r in results]
    assert list(got["coverage"]) == [str(r.coverage) for r in results]


@FEW
@given(entities=LEADS, event=st.sampled_from(["contact", "qualify", "nope"]))
def test_moves_on_two_workers_equal_the_bulk_path(
    client: Any, entities: list[Any], event: str
) -> None:
    pipeline = lead_lifecycle()
    frame = advance_dataframe(to_dask(entities, npartitions=2), pipeline, event, at=AS_OF)
    got = client.compute(frame).result()
    bulk = pipeline.bulk(entities, event, at=AS_OF)
    refused = {f.index: f for f in bulk.failures}
    moved = iter(bulk.moved)
    assert list(got["id"]) == [e.id for e in entities]
    for index, lead in enumerate(entities):
        row = got.iloc[index]
        if index in refused:
            assert not row["moved"]
            assert row["status"] == lead.status
            assert row["error"] == type(refused[index].error).__name__
        else:
            after = next(moved)
            assert row["moved"]
            assert row["status"] == after.status
            assert len(row["history"]) == len(after.history)
    assert next(moved, None) is None
