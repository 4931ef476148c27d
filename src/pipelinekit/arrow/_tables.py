"""Scoring and bulk moves over Arrow tables, with the in-process results exactly."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import attrs
import pyarrow as pa

from ..clock import ensure_aware
from ..domain.results import BreakdownLine, QualificationResult
from ..errors import Problem, ValidationError
from ..pipelines.pipeline import Pipeline
from ..qualification.base import Strategy, evaluate_many
from ..serialization import to_dict, to_json
from ._columnar import fast_scores
from ._convert import conform, from_arrow, kind_of, to_arrow
from ._schema import BREAKDOWN, HISTORY, SCHEMAS, TEXT

__all__ = [
    "FAILURES",
    "OUTCOME",
    "SCORES",
    "TableMove",
    "advance_table",
    "advanced_rows",
    "score_table",
]

#: The columns :func:`score_table` adds (``breakdown`` only with ``explain=True``).
SCORES = pa.schema(
    [
        ("score", TEXT),
        ("verdict", TEXT),
        ("grade", TEXT),
        ("coverage", TEXT),
        ("breakdown", pa.list_(BREAKDOWN)),
        ("result", TEXT),
    ]
)
#: The refused rows of :func:`advance_table`: input row, entity id, error class and message.
FAILURES = pa.schema(
    [("index", pa.int64()), ("entity_id", TEXT), ("error", TEXT), ("message", TEXT)]
)


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _line(line: BreakdownLine) -> dict[str, Any]:
    observed = to_dict(line).get("observed")
    return {
        "criterion": line.criterion,
        "status": line.status.value,
        "points": str(line.points),
        "reason": line.reason,
        "observed": None if observed is None else json.dumps(observed, ensure_ascii=False),
        "cap": _text(line.cap),
        "group": line.group,
        "evidence": list(line.evidence),
    }


def score_columns(
    results: list[QualificationResult], explain: bool, keep: bool = False
) -> dict[str, pa.Array]:
    """The score columns of ``results``, in their order (see :data:`SCORES`)."""
    columns = {
        "score": pa.array([_text(r.score) for r in results], TEXT),
        "verdict": pa.array([r.verdict.value for r in results], TEXT),
        "grade": pa.array([r.grade for r in results], TEXT),
        "coverage": pa.array([str(r.coverage) for r in results], TEXT),
    }
    if explain:
        columns["breakdown"] = pa.array(
            [[_line(line) for line in r.breakdown] for r in results], pa.list_(BREAKDOWN)
        )
    if keep:
        columns["result"] = pa.array([to_json(r) for r in results], TEXT)
    return columns


def score_table(
    strategy: Strategy,
    table: pa.Table,
    *,
    as_of: datetime,
    explain: bool = False,
    results: bool = False,
    kind: type[Any] | str | None = None,
    validate: bool = False,
) -> pa.Table:
    """Evaluate ``strategy`` on every row of ``table`` at ``as_of``; return the table with scores.

    The rows are leads or prospects in the pipelinekit Arrow schema (the kind
    from the table's metadata unless ``kind`` is given).  The result is
    ``table`` with the columns ``score`` and ``coverage`` (exact decimal text;
    ``score`` null when the row cannot be scored), ``verdict`` and ``grade``,
    and with ``explain=True`` a ``breakdown`` list of
    :data:`~pipelinekit.arrow.BREAKDOWN` structs, and with ``results=True`` a
    ``result`` column holding each complete result as JSON text (what
    :func:`~pipelinekit.arrow.import_results` stores); score columns already in
    ``table`` are replaced.  Row for row the values are those of
    ``evaluate_many(strategy, from_arrow(table), as_of=as_of)``.  Bad rows
    raise :class:`~pipelinekit.ValidationError` (paths start with the row
    index) and nothing is scored.

    An ICP fit strategy (:func:`~pipelinekit.qualification.icp_fit`) without
    ``explain`` or ``results`` is scored column-wise: rows are grouped by what
    each criterion reads, and one row per group is built and evaluated.  That
    path checks the table's schema version, columns and types, column-wise
    the columns every entity has (required values, ids, versions, the order
    of creation and update), and builds (so validates) a row for every
    distinct value a criterion reads and for every distinct value of each
    column holding at most 1024 of them (status, owner, source, tags...); on
    any problem there, every row is built and every bad row reported, as
    above.  A bad value elsewhere (a malformed email in a column no criterion
    reads, say) may then go unreported: ``validate=True`` builds every row
    whatever the strategy (the row-wise path, as :func:`from_arrow` does).
    """
    when = ensure_aware(as_of, "as_of")
    name = kind_of(table, kind) if isinstance(table, pa.Table) else "lead"
    columns = None
    if not (explain or results or validate):
        fast = fast_scores(strategy, conform(table, name), name, when)
        if fast is not None:
            found, groups = fast
            columns = {n: c.take(groups) for n, c in score_columns(found, False).items()}
    if columns is None:
        entities = from_arrow(table, name)
        found = evaluate_many(strategy, entities, as_of=when, explain=explain)
        columns = score_columns(found, explain, results)
    out: pa.Table = table
    for name, column in columns.items():
        if name in out.column_names:
            out = out.drop_columns([name])
        out = out.append_column(pa.field(name, column.type), column)
    return out


@attrs.frozen
class TableMove:
    """What :func:`advance_table` did, as three Arrow tables.

    ``moved`` holds the moved entities in the pipelinekit schema (input order,
    refused rows left out), ready to be written back; ``history`` the new stage
    record of each (:data:`~pipelinekit.arrow.HISTORY`, one row per moved
    entity); ``failures`` one row per refused entity: its input row ``index``,
    ``entity_id``, the ``error`` class name and its ``message``.
    """

    moved: pa.Table = attrs.field(repr=lambda t: f"<{t.num_rows} rows>")
    history: pa.Table = attrs.field(repr=lambda t: f"<{t.num_rows} rows>")
    failures: pa.Table = attrs.field(repr=lambda t: f"<{t.num_rows} rows>")


def advance_table(
    pipeline: Pipeline,
    table: pa.Table,
    event: str,
    *,
    at: datetime,
    to: str | None = None,
    actor: str | None = None,
    note: str | None = None,
    reason: str | None = None,
    competitor: str | None = None,
    kind: type[Any] | str | None = None,
) -> TableMove:
    """Apply ``event`` to every lead or opportunity row of ``table`` at ``at``.

    The same moves, refusals and history records as ``pipeline.bulk(...)`` on
    the entities of the table (see :class:`TableMove`).  Bad rows raise
    :class:`~pipelinekit.ValidationError` with the row index in each path, and
    nothing moves.
    """
    when = ensure_aware(at, "at")
    name = kind_of(table, kind) if isinstance(table, pa.Table) else "lead"
    if name == "prospect":
        raise ValidationError(
            "advance_table",
            [Problem("$.kind", "prospects have no pipeline: pass leads or opportunities")],
        )
    entities: list[Any] = from_arrow(table, name)
    result = pipeline.bulk(
        entities,
        event,
        to=to,
        actor=actor,
        note=note,
        at=when,
        reason=reason,
        competitor=competitor,
    )
    moved = to_arrow(result.moved) if result.moved else SCHEMAS[name].empty_table()
    records = [(e.id, e.history[-1]) for e in result.moved]
    history = pa.Table.from_pylist(
        [
            {
                "entity_id": ident,
                "from_stage": c.from_stage,
                "to_stage": c.to_stage,
                "event": c.event,
                "at": c.at,
                "actor": c.actor,
                "note": c.note,
                "pipeline": c.pipeline,
                "from_pipeline": c.from_pipeline,
            }
            for ident, c in records
        ],
        schema=HISTORY,
    )
    failures = pa.Table.from_pylist(
        [
            {
                "index": f.index,
                "entity_id": f.entity_id,
                "error": type(f.error).__name__,
                "message": str(f.error),
            }
            for f in result.failures
        ],
        schema=FAILURES,
    )
    return TableMove(moved, history, failures)


#: The columns :func:`advanced_rows` adds to every row.
OUTCOME = pa.schema([("moved", pa.bool_()), ("error", TEXT), ("message", TEXT)])


def advanced_rows(table: pa.Table, move: TableMove, kind: str) -> pa.Table:
    """Every row of ``table`` after ``move``: moved rows as they are now, refused rows as
    they were, in input order, with :data:`OUTCOME`'s columns saying which and why.

    What a distributed engine writes back in place of its partition.
    """
    rows = conform(table, kind)
    failed = move.failures["index"].to_pylist()
    refused = set(failed)
    kept = [i for i in range(rows.num_rows) if i not in refused]
    merged = pa.concat_tables([move.moved, rows.take(pa.array(failed, pa.int64()))])
    # moved rows come first, refused ones after: put each back at its input position
    order = pa.array(sorted(range(len(kept) + len(failed)), key=(kept + failed).__getitem__))
    out: pa.Table = merged.take(order) if merged.num_rows else merged
    count = out.num_rows
    errors = move.failures["error"].to_pylist()
    texts = move.failures["message"].to_pylist()
    messages = {i: (e, m) for i, e, m in zip(failed, errors, texts, strict=True)}
    out = out.append_column("moved", pa.array([i not in refused for i in range(count)]))
    out = out.append_column(
        "error", pa.array([messages[i][0] if i in refused else None for i in range(count)], TEXT)
    )
    return out.append_column(
        "message", pa.array([messages[i][1] if i in refused else None for i in range(count)], TEXT)
    )
