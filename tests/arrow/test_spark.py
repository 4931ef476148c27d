"""Spark (local[2]): scoring and bulk moves through mapInArrow give the in-process results.

One session for the module: starting the JVM is the slow part.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

pytest.importorskip("pyspark")

from pyspark.sql import SparkSession, functions

import pipelinekit as pk
from pipelinekit import Lead, ValidationError
from pipelinekit.arrow import from_arrow
from pipelinekit.pipelines.builtins import sales_pipeline
from pipelinekit.qualification import evaluate_many, icp_fit, one_of, present
from pipelinekit.spark import advance_dataframe, score_dataframe, to_spark
from pipelinekit.testing.pipelines import opportunities_in
from pipelinekit.testing.strategies import leads

# PySpark checks the installed pandas even on its Arrow paths, which pipelinekit uses alone
pytestmark = pytest.mark.filterwarnings(
    "ignore:PySpark does not yet fully support pandas:FutureWarning"
)

AS_OF = datetime(2026, 6, 1, tzinfo=UTC)
ICP = icp_fit(
    "fit",
    [
        one_of("industry", "company.industry", {"software": 20, "fintech": 10}, default=1),
        one_of("country", "company.country", {"DE": 10, "FR": 5}),
        present("email", "contact.email", points=5),
    ],
)


@pytest.fixture(scope="module")
def spark() -> Iterator[SparkSession]:
    # the executors' Python is this one (PySpark reads the variable when the session starts)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PYSPARK_PYTHON", sys.executable)
        session = _session()
        yield session
        session.stop()


def _session() -> SparkSession:
    return (
        SparkSession.builder.master("local[2]")
        .appName("pipelinekit-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.sql.session.timeZone", "UTC")
        .getOrCreate()
    )


def _examples(strategy: Any, count: int) -> list[Any]:
    found: list[Any] = []
    from hypothesis import HealthCheck, given, settings

    @settings(max_examples=count, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(strategy)
    def collect(value: Any) -> None:
        found.append(value)

    collect()
    return found


def test_score_dataframe_equals_evaluate_many(spark: SparkSession) -> None:
    entities = _examples(leads(), 150)
    entities = list({e.id: e for e in entities}.values())
    df = to_spark(spark, entities)
    rows = {r["id"]: r for r in score_dataframe(df, ICP, as_of=AS_OF, explain=True).collect()}
    results = evaluate_many(ICP, entities, as_of=AS_OF, explain=True)
    assert len(rows) == len(entities)
    for lead, result in zip(entities, results, strict=True):
        row = rows[lead.id]
        assert row["score"] == (None if result.score is None else str(result.score))
        assert (row["verdict"], row["grade"], row["coverage"]) == (
            result.verdict.value,
            result.grade,
            str(result.coverage),
        )
        assert [line["points"] for line in row["breakdown"]] == [
            str(line.points) for line in result.breakdown
        ]


def test_entities_survive_the_trip_through_spark(spark: SparkSession) -> None:
    entities = list({e.id: e for e in _examples(leads(), 60)}.values())
    table = to_spark(spark, entities).toArrow()
    assert from_arrow(table, Lead) == entities


def test_advance_dataframe_equals_the_bulk_path(spark: SparkSession) -> None:
    pipeline = sales_pipeline()
    opps = list({o.id: o for o in _examples(opportunities_in(pipeline), 60)}.values())
    df = advance_dataframe(to_spark(spark, opps), pipeline, "advance", at=AS_OF)
    rows = {r["id"]: r for r in df.collect()}
    bulk = pipeline.bulk(opps, "advance", at=AS_OF)
    moved = {o.id: o for o in bulk.moved}
    refused = {opps[f.index].id: f.error for f in bulk.failures}
    assert set(moved) | set(refused) == set(rows)
    for ident, row in rows.items():
        if ident in moved:
            after = moved[ident]
            assert row["moved"]
            assert (row["stage"], row["probability"]) == (after.stage, str(after.probability))
            assert row["history"][-1]["to_stage"] == after.history[-1].to_stage
        else:
            assert not row["moved"]
            assert row["message"] == str(refused[ident])


def test_bad_rows_fail_the_job_with_their_problems(spark: SparkSession) -> None:
    lead = Lead.create(company=pk.Company("Acme"), at=AS_OF)
    df = to_spark(spark, [lead]).withColumn("status", functions.lit(" "))
    with pytest.raises(Exception, match=r"\$\[0\]\.status") as caught:
        score_dataframe(df, ICP, as_of=AS_OF).collect()
    assert not isinstance(caught.value, ValidationError)  # Spark wraps the worker's error
