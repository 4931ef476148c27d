"""Scoring and bulk moves over Dask dataframes of Arrow-backed partitions.

Needs the ``dask`` extra (``pip install "pipelinekit[dask]"``: Dask's
dataframe with pyarrow).  Each partition is turned into an Arrow table in the
pipelinekit schema (:mod:`pipelinekit.arrow`) and scored or moved there, with
the same results as in one process.  The strategy and the pipeline travel to
the workers as their configuration and definition and are rebuilt there:
plugin qualifiers and custom guards must be installed on the workers too.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from .arrow._errors import ArrowDependencyError

try:
    import dask.dataframe as dd
    import pandas as pd
    import pyarrow as pa
except ImportError as error:  # pragma: no cover - exercised without the extra
    raise ArrowDependencyError("dask", "dask[dataframe] and pyarrow") from error

from .arrow._convert import kind_from_columns, to_arrow
from .arrow._shipping import ShippedPipeline, ShippedStrategy, ship_pipeline, ship_strategy
from .arrow._tables import advance_table, advanced_rows, score_table
from .clock import ensure_aware
from .domain.leads import Lead
from .domain.opportunities import Opportunity
from .domain.prospects import Prospect
from .pipelines.pipeline import Pipeline
from .qualification.base import Strategy

__all__ = ["advance_dataframe", "score_dataframe", "to_dask"]


def to_dask(
    entities: Iterable[Lead] | Iterable[Prospect] | Iterable[Opportunity], *, npartitions: int
) -> dd.DataFrame:
    """A Dask dataframe of ``entities`` in the pipelinekit Arrow schema, Arrow-backed columns."""
    frame = to_arrow(entities).to_pandas(types_mapper=pd.ArrowDtype)
    return dd.from_pandas(frame, npartitions=npartitions, sort=False)


def _table(frame: pd.DataFrame) -> pa.Table:
    return pa.Table.from_pandas(frame, preserve_index=False)


def _frame(table: pa.Table, index: pd.Index) -> pd.DataFrame:
    frame: pd.DataFrame = table.to_pandas(types_mapper=pd.ArrowDtype)
    frame.index = index
    return frame


def _score_partition(
    frame: pd.DataFrame,
    shipped: ShippedStrategy,
    as_of: datetime,
    flags: tuple[bool, bool],
    kind: str,
) -> pd.DataFrame:
    explain, results = flags
    scored = score_table(
        shipped.build(), _table(frame), as_of=as_of, explain=explain, results=results, kind=kind
    )
    return _frame(scored, frame.index)


def score_dataframe(
    df: dd.DataFrame,
    strategy: Strategy,
    *,
    as_of: datetime,
    explain: bool = False,
    results: bool = False,
    kind: type[Any] | str | None = None,
) -> dd.DataFrame:
    """``df`` with the score columns of :func:`pipelinekit.arrow.score_table`, per partition
    (``explain`` and ``results`` as there).

    ``df`` holds leads or prospects in the pipelinekit Arrow schema (see
    :func:`to_dask`); ``kind`` defaults to what its columns say.  Lazy, like
    any Dask dataframe: bad rows raise :class:`~pipelinekit.ValidationError`
    when the partition holding them is computed.
    """
    when = ensure_aware(as_of, "as_of")
    shipped = ship_strategy(strategy)
    name = kind_from_columns(df.columns, kind)
    flags = (explain, results)
    meta = _score_partition(df._meta, shipped, when, flags, name)
    return df.map_partitions(_score_partition, shipped, when, flags, name, meta=meta)


def _advance_partition(
    frame: pd.DataFrame,
    shipped: ShippedPipeline,
    event: str,
    options: dict[str, Any],
    kind: str,
) -> pd.DataFrame:
    table = _table(frame)
    move = advance_table(shipped.build(), table, event, kind=kind, **options)
    return _frame(advanced_rows(table, move, kind), frame.index)


def advance_dataframe(
    df: dd.DataFrame,
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
) -> dd.DataFrame:
    """Every row of ``df`` after ``event`` at ``at``, as :func:`pipelinekit.arrow.advance_table`
    and ``pipeline.bulk`` move them.

    Moved rows carry their new stage, probability and history; refused rows are
    unchanged.  Three columns say which: ``moved`` (bool), and for refused rows
    ``error`` (the exception's class name) and ``message``.
    """
    when = ensure_aware(at, "at")
    shipped = ship_pipeline(pipeline)
    name = kind_from_columns(df.columns, kind)
    options: dict[str, Any] = {
        "at": when,
        "to": to,
        "actor": actor,
        "note": note,
        "reason": reason,
        "competitor": competitor,
    }
    meta = _advance_partition(df._meta, shipped, event, options, name)
    return df.map_partitions(_advance_partition, shipped, event, options, name, meta=meta)
