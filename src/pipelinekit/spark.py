"""Scoring and bulk moves over Spark dataframes, through ``mapInArrow``.

Needs the ``spark`` extra (``pip install "pipelinekit[spark]"``: PySpark, which
needs Java 17 or later).  Each partition reaches the Python workers as Arrow
record batches in the pipelinekit schema (:mod:`pipelinekit.arrow`), is scored
or moved there with the same results as in one process, and goes back as
Arrow.  The strategy and the pipeline travel to the executors as their
configuration and definition and are rebuilt there: pipelinekit, and any
plugin qualifier or custom guard they use, must be installed on the executors.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from typing import Any

from .arrow._errors import ArrowDependencyError

try:
    import pyarrow as pa
    from pyspark.sql import DataFrame, SparkSession
    from pyspark.sql.pandas.types import from_arrow_schema
except ImportError as error:  # pragma: no cover - exercised without the extra
    raise ArrowDependencyError("spark", "pyspark and pyarrow") from error

from .arrow._convert import kind_from_columns, to_arrow
from .arrow._schema import SCHEMAS
from .arrow._shipping import ShippedPipeline, ShippedStrategy, ship_pipeline, ship_strategy
from .arrow._tables import OUTCOME, SCORES, advance_table, advanced_rows, score_table
from .clock import ensure_aware
from .domain.leads import Lead
from .domain.opportunities import Opportunity
from .domain.prospects import Prospect
from .pipelines.pipeline import Pipeline
from .qualification.base import Strategy

__all__ = ["advance_dataframe", "score_dataframe", "to_spark"]

_Batches = Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]


def to_spark(
    spark: SparkSession,
    entities: Iterable[Lead] | Iterable[Prospect] | Iterable[Opportunity],
) -> DataFrame:
    """A Spark dataframe of ``entities`` in the pipelinekit Arrow schema."""
    table = to_arrow(entities)
    return spark.createDataFrame(table, schema=_spark_schema(table.schema))


def _spark_schema(schema: pa.Schema) -> Any:
    return from_arrow_schema(schema, prefer_timestamp_ntz=False)


def _scorer(
    shipped: ShippedStrategy, as_of: datetime, flags: tuple[bool, bool], kind: str
) -> _Batches:
    explain, results = flags

    def score(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        strategy = shipped.build()
        for batch in batches:
            table = pa.Table.from_batches([batch])
            yield from score_table(
                strategy, table, as_of=as_of, explain=explain, results=results, kind=kind
            ).to_batches()

    return score


def _mover(shipped: ShippedPipeline, event: str, options: dict[str, Any], kind: str) -> _Batches:
    def move(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        pipeline = shipped.build()
        for batch in batches:
            table = pa.Table.from_batches([batch])
            moved = advance_table(pipeline, table, event, kind=kind, **options)
            yield from advanced_rows(table, moved, kind).to_batches()

    return move


def _extended(df: DataFrame, kind: str, added: pa.Schema) -> Any:
    # the dataframe's own columns (pipelinekit's schema, plus any others) and the new ones
    own = {f.name for f in added}
    base = df.schema
    known = SCHEMAS[kind]
    fields = [f for f in base.fields if f.name not in own]
    schema = _spark_schema(
        pa.schema([known.field(f.name) for f in fields if f.name in known.names])
    )
    typed = {f.name: f for f in schema.fields}
    out = [typed.get(f.name, f) for f in fields]
    out.extend(_spark_schema(added).fields)
    return type(base)(out)


def score_dataframe(
    df: DataFrame,
    strategy: Strategy,
    *,
    as_of: datetime,
    explain: bool = False,
    results: bool = False,
    kind: type[Any] | str | None = None,
) -> DataFrame:
    """``df`` with the score columns of :func:`pipelinekit.arrow.score_table` (lazy;
    ``explain`` and ``results`` as there).

    ``df`` holds leads or prospects in the pipelinekit Arrow schema (see
    :func:`to_spark`); ``kind`` defaults to what its columns say.  Bad rows
    fail the Spark job with the :class:`~pipelinekit.ValidationError` of their
    batch.
    """
    when = ensure_aware(as_of, "as_of")
    name = kind_from_columns(df.columns, kind)
    skipped = {name for name, on in (("breakdown", explain), ("result", results)) if not on}
    added = pa.schema([f for f in SCORES if f.name not in skipped])
    scorer = _scorer(ship_strategy(strategy), when, (explain, results), name)
    return df.mapInArrow(scorer, _extended(df, name, added))


def advance_dataframe(
    df: DataFrame,
    pipeline: Pipeline,
    event: str,
    *,
    at: datetime,
    to: str | None = None,
    actor: str | None = None,
    note: str | None = None,
    reason: str | None = None,
    competitor: str | None = None,
    kind: type[Any] | str | None = None,
) -> DataFrame:
    """Every row of ``df`` after ``event`` at ``at``, as ``pipeline.bulk`` moves them (lazy).

    The result has the columns of the pipelinekit schema: moved rows carry
    their new stage, probability and history, refused rows are unchanged, and
    ``moved``, ``error`` and ``message`` say which and why (as
    :func:`pipelinekit.dask.advance_dataframe`).
    """
    when = ensure_aware(at, "at")
    name = kind_from_columns(df.columns, kind)
    options: dict[str, Any] = {
        "at": when,
        "to": to,
        "actor": actor,
        "note": note,
        "reason": reason,
        "competitor": competitor,
    }
    mover = _mover(ship_pipeline(pipeline), event, options, name)
    schema = pa.schema([*SCHEMAS[name], *OUTCOME])
    return df.mapInArrow(mover, _spark_schema(schema))
