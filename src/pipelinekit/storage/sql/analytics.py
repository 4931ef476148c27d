"""The SQL adapters' analytics pushdown, one cohesive module: every report's aggregates in SQL.

:class:`SqlAnalyticsQueries` is the SQL units of work's implementation of
:class:`pipelinekit.analytics.ports.AnalyticsQueries`, so
``pipelinekit.analytics.funnel(uow, sales)`` on a SQLite or PostgreSQL unit of
work lets the database read the stage history, find each opportunity's stage
at the report's moment, group and sum; only the grouped rows come back (a few
per stage, owner or period, not one per deal).  pipelinekit checks the
arguments and finishes the rows (rates, conversions, percentages) exactly as
for the in-memory computation, so both agree.  Time in stage brings one row
per visit back (the database computes the lengths; the percentiles are taken
in Python).

Money stays exact: amounts are summed as integers of ten-thousandths
(``amount_units``), and the rare amount that does not fit is summed from its
exact text.

The module-level functions (``funnel(uow, ...)`` and the others) are
deprecated: call :mod:`pipelinekit.analytics` with the unit of work.
"""

from __future__ import annotations

import abc
import warnings
from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from itertools import pairwise
from typing import Any, Final, Literal

from sqlalchemy import (
    ColumnElement,
    Connection,
    Subquery,
    and_,
    case,
    func,
    literal,
    null,
    or_,
    select,
    union_all,
)

from ...analytics import (
    Forecast,
    Funnel,
    LeadConversion,
    SalesMetrics,
    StageTimes,
    StaleDeal,
    StaleDeals,
)
from ...analytics import forecast as _forecast
from ...analytics import funnel as _funnel
from ...analytics import lead_conversion as _lead_conversion
from ...analytics import lead_funnel as _lead_funnel
from ...analytics import sales_metrics as _sales_metrics
from ...analytics import stale_deals as _stale
from ...analytics import time_in_stages as _time_in_stages
from ...analytics.ports import (
    ConversionRow,
    ForecastRow,
    FunnelRow,
    MetricsRow,
    Period,
    PipelinesArg,
    ReportCounts,
    StageVisit,
    funnel_steps,
    period_label,
    step_index,
)
from ...analytics.screening import UnknownStageRow, UnknownStages
from ...clock import Clock
from ...domain import Lead
from ...domain.history import PROBABILITY_LAYERS
from ...pipelines import LEAD_LIFECYCLE, Pipeline, PipelineSpec, StageKind
from ..ports import UnitOfWork
from ..queries import micros
from ._driver import translate, when
from .schema import Tables, amount_of

__all__ = [
    "SqlAnalyticsQueries",
    "forecast",
    "funnel",
    "lead_conversion",
    "lead_funnel",
    "sales_metrics",
    "stale_deals",
    "time_in_stages",
]

_DAY_US: Final = 86_400_000_000
_EPOCH_DAY: Final = date(1970, 1, 1)
_OPEN, _WON, _LOST, _OTHER = 0, 1, 2, 3
_CODES: Final = {StageKind.OPEN: _OPEN, StageKind.WON: _WON, StageKind.LOST: _LOST}
_KINDS: Final = {_OPEN: StageKind.OPEN, _WON: StageKind.WON, _LOST: StageKind.LOST}


def _case(column: ColumnElement[Any], mapping: Mapping[str, Any], default: Any) -> Any:
    """``CASE column WHEN key THEN value ... ELSE default END`` (``default`` if empty)."""
    if not mapping:
        return literal(default) if default is not None else null()
    return case(
        {key: literal(value) for key, value in mapping.items()},
        value=column,
        else_=literal(default) if default is not None else null(),
    )


class _Stages:
    """One pipeline's stages as numbers the database can carry: index, kind, step."""

    def __init__(self, spec: PipelineSpec) -> None:
        self.spec = spec
        self.keys = spec.stage_keys
        self.index = {key: i for i, key in enumerate(self.keys)}
        self.unknown = len(self.keys)
        self.width = len(self.keys) + 1
        self.kinds = {s.key: _CODES[s.kind] for s in spec.stages}
        self.steps = {k: v for k, v in step_index(spec).items() if self.kinds[k] == _OPEN}
        self.top = len(funnel_steps(spec)) - 1

    def stage_of(self, index: int) -> str | None:
        return self.keys[index] if 0 <= index < len(self.keys) else None

    def code_of_index(self, index: int) -> int:
        stage = self.stage_of(index)
        return _OTHER if stage is None else self.kinds[stage]


def _greater(a: Any, b: Any) -> Any:
    """The larger of two nullable integers (``NULL`` only when both are)."""
    return case((a.is_(None), b), (b.is_(None), a), (a >= b, a), else_=b)


def _frame(
    tables: Tables,
    moment_us: int | None,
    *,
    inclusive: bool = True,
    stages: _Stages | None = None,
    extra: Sequence[ColumnElement[Any]] = (),
    kind: str = "opportunity",
) -> Subquery:
    """One row per entity with where it stood at the moment (``None``: now).

    Columns: ``id``, ``created_us``, ``pipeline`` and ``stage`` (where it
    stood: the last history row at or before the moment, in the pipeline that
    row names, else the entity's current one), ``since_us`` (when it got
    there), ``visible`` (whether it existed), ``first_pipeline`` (the
    pipeline of its first visit), ``later`` (history rows after the moment)
    and, with ``stages``, ``level_open``: the furthest open step of that
    pipeline reached by its visits there.  An entity without history is in
    its current stage since its creation; a history whose first row leaves
    a stage starts with a visit of that stage since the creation (or that
    row, if earlier).  Leads count every row in their lifecycle.
    """
    o = tables.entities[kind]
    h = tables.history[kind]
    lead = kind == "lead"

    def seen(at: Any) -> Any:
        if moment_us is None:
            return literal(True)
        return at <= moment_us if inclusive else at < moment_us

    def vis(value: Any) -> Any:
        return value if moment_us is None else case((seen(h.c.at_us), value), else_=null())

    def home(row: Any) -> Any:
        return o.c.pipeline if lead else func.coalesce(row.c.pipeline, o.c.pipeline)

    aggregates: list[Any] = [
        h.c.entity_id,
        func.min(h.c.seq).label("first_seq"),
        func.max(vis(h.c.seq)).label("last_seq"),
    ]
    if moment_us is not None:
        aggregates.append(func.count(case((~seen(h.c.at_us), 1), else_=null())).label("later"))
    else:
        aggregates.append(literal(0).label("later"))
    if stages is not None:
        step = _case(h.c.to_stage, stages.steps, None)
        if not lead:
            step = case((home(h) == stages.spec.key, step), else_=null())
        aggregates.append(func.max(vis(step)).label("level_rows"))
    agg = (
        select(*aggregates)
        .select_from(h.join(o, o.c.id == h.c.entity_id))
        .group_by(h.c.entity_id)
        .subquery()
    )
    first = h.alias(f"{h.name}_first")
    last = h.alias(f"{h.name}_last")
    has_hist = agg.c.first_seq.is_not(None)
    some = last.c.seq.is_not(None)
    implicit_at = case((first.c.at_us < o.c.created_us, first.c.at_us), else_=o.c.created_us)
    implicit = and_(has_hist, first.c.from_stage.is_not(None), seen(implicit_at))
    # the pipeline of the first visit: the one the first row leaves, or enters
    began = home(first) if lead else func.coalesce(first.c.from_pipeline, home(first))
    began = case((first.c.from_stage.is_not(None), began), else_=home(first))
    first_pipeline = case((has_hist, began), else_=o.c.pipeline)
    if moment_us is None:
        pipeline: Any = o.c.pipeline
        stage: Any = o.c.stage
        since: Any = o.c.stage_since_us
        visible: Any = literal(True)
    else:
        pipeline = case((~has_hist, o.c.pipeline), (some, home(last)), else_=began)
        stage = case((~has_hist, o.c.stage), (some, last.c.to_stage), else_=first.c.from_stage)
        since = case((~has_hist, o.c.created_us), (some, last.c.at_us), else_=implicit_at)
        visible = case((~has_hist, seen(o.c.created_us)), (some, literal(True)), else_=implicit)
    columns: list[Any] = [
        o.c.id,
        o.c.created_us,
        pipeline.label("pipeline"),
        stage.label("stage"),
        since.label("since_us"),
        visible.label("visible"),
        first_pipeline.label("first_pipeline"),
        func.coalesce(agg.c.later, 0).label("later"),
        *extra,
    ]
    if stages is not None:
        start = case(
            (
                and_(implicit, first_pipeline == stages.spec.key) if not lead else implicit,
                _case(first.c.from_stage, stages.steps, None),
            ),
            else_=null(),
        )
        current = _case(stage, stages.steps, None)
        if not lead:
            current = case((pipeline == stages.spec.key, current), else_=null())
        level = _greater(agg.c.level_rows, start)
        columns.append(case((level.is_(None), current), else_=level).label("level_open"))
    joined = o.outerjoin(agg, agg.c.entity_id == o.c.id).outerjoin(
        first, and_(first.c.entity_id == o.c.id, first.c.seq == agg.c.first_seq)
    )
    if moment_us is not None:  # now, the entity's own columns say where it is
        joined = joined.outerjoin(
            last, and_(last.c.entity_id == o.c.id, last.c.seq == agg.c.last_seq)
        )
    return select(*columns).select_from(joined).subquery()


def _in_pipeline(sub: Subquery, stages: _Stages) -> tuple[Any, Any]:
    """``(stage index, condition)``: the frame's stage in ``stages``, and that it is
    visible in that pipeline."""
    stage_ix = _case(sub.c.stage, stages.index, stages.unknown)
    return stage_ix, and_(sub.c.visible, sub.c.pipeline == stages.spec.key)


# -- queries --------------------------------------------------------------------------------------


def _unknown_in(pipelines: Mapping[str, PipelineSpec], pipeline: Any, stage: Any) -> Any:
    """1 if ``stage`` (not ``NULL``) is not a stage of ``pipeline``, one of
    ``pipelines``; else 0 (a ``CASE``: a database matches it faster than ``NOT IN``)."""
    return case(
        {
            key: case({k: literal(0) for k in spec.stage_keys}, value=stage, else_=literal(1))
            for key, spec in pipelines.items()
        },
        value=pipeline,
        else_=literal(0),
    )


def _unknown_rows(tables: Tables, pipelines: Mapping[str, PipelineSpec]) -> tuple[Any, Any]:
    """``(the opportunity's current stage is unknown, this history row names an unknown
    stage)``, each 1 or 0 (the first history row, ``seq`` 0, also for the stage it
    leaves), as :func:`pipelinekit.analytics.screening.unknown_stages_of` checks them."""
    o, h = tables.entities["opportunity"], tables.history["opportunity"]
    moved_in = func.coalesce(h.c.pipeline, o.c.pipeline)
    left = func.coalesce(h.c.from_pipeline, moved_in)
    row = case(
        (h.c.to_stage.is_(None), literal(0)),
        (_unknown_in(pipelines, moved_in, h.c.to_stage) == 1, literal(1)),
        (
            and_(h.c.seq == 0, h.c.from_stage.is_not(None)),
            _unknown_in(pipelines, left, h.c.from_stage),
        ),
        else_=literal(0),
    )
    return _unknown_in(pipelines, o.c.pipeline, o.c.stage), row


def _now_frame(
    tables: Tables,
    stages: _Stages,
    extra: Sequence[ColumnElement[Any]],
    kind: str,
    screen: Mapping[str, PipelineSpec] | None,
) -> Subquery:
    """One row per entity in ``stages``' pipeline now (every lead, for the lifecycle):
    ``stage``, ``level_open`` as :func:`_frame` computes it, the ``extra``
    columns and, with ``screen``, ``bad``: 1 if the opportunity names a stage
    its pipeline (one of ``screen``) does not know, now or in its history.

    Each entity's history rows are read once, in the same grouped pass (the
    entity table drives, its history is found through its primary key); the
    first row of a history is the one with ``seq`` 0, as the adapter writes it.
    """
    o = tables.entities[kind]
    h = tables.history[kind]
    lead = kind == "lead"
    key = stages.spec.key
    moved_in: Any = o.c.pipeline if lead else func.coalesce(h.c.pipeline, o.c.pipeline)
    step: Any = _case(h.c.to_stage, stages.steps, None)
    implicit: Any = and_(h.c.seq == 0, h.c.from_stage.is_not(None))
    if not lead:
        step = case((moved_in == key, step), else_=null())
        implicit = and_(implicit, func.coalesce(h.c.from_pipeline, moved_in) == key)
    start = case((implicit, _case(h.c.from_stage, stages.steps, None)), else_=null())
    columns: list[Any] = [
        o.c.stage.label("stage"),
        func.max(step).label("level_rows"),
        func.max(start).label("start"),
        *extra,
    ]
    if screen is not None:
        current, row = _unknown_rows(tables, screen)
        bad = func.coalesce(func.max(row), 0)
        columns.append(case((current == 1, 1), else_=bad).label("bad"))
    grouped = select(*columns).select_from(o.outerjoin(h, h.c.entity_id == o.c.id))
    if not lead:
        grouped = grouped.where(o.c.pipeline == key)
    g = grouped.group_by(o.c.id).subquery()
    visited, begun = g.c.level_rows, g.c.start
    reached = case((or_(begun.is_(None), visited >= begun), visited), else_=begun)
    level: Any = func.coalesce(reached, _case(g.c.stage, stages.steps, None))
    if lead:  # a lead starts in the lifecycle's first status
        level = func.coalesce(level, 0)
    code = _case(g.c.stage, stages.kinds, _OTHER)
    outer: list[Any] = [
        *(g.c[c.name] for c in extra),
        case((code == _WON, stages.top), else_=level).label("level"),
        code.label("code"),
    ]
    if screen is not None:
        outer.append(g.c.bad)
    return select(*outer).subquery()


def _funnel_rows(
    conn: Connection,
    tables: Tables,
    stages: _Stages,
    extra: Sequence[Any],
    names: Sequence[str],
    moment_us: int | None,
    period: Period,
    kind: str = "opportunity",
    screen: Mapping[str, PipelineSpec] | None = None,
) -> tuple[list[FunnelRow], int]:
    """One pipeline's funnel levels, counted in the database, and (with ``screen``,
    now only) how many of its opportunities name a stage unknown to their
    pipeline: those are left out of the levels."""
    key = stages.spec.key
    if moment_us is None:
        inner_q = _now_frame(tables, stages, extra, kind, screen)
    else:
        screen = None
        sub = _frame(tables, moment_us, stages=stages, extra=extra, kind=kind)
        stage_ix, where = _in_pipeline(sub, stages)
        if kind == "lead":
            where = sub.c.visible
        code = _case_int(stage_ix, {i: stages.code_of_index(i) for i in range(stages.width)})
        level = case((code == _WON, stages.top), else_=sub.c.level_open)
        if kind == "lead":  # a lead starts in the lifecycle's first status
            level = case((code == _WON, stages.top), else_=func.coalesce(sub.c.level_open, 0))
        segs = [sub.c[f"seg_{i}"] for i in range(len(names))]
        inner = select(*segs, level.label("level"), code.label("code"))
        inner_q = inner.where(where).subquery()
    group = [
        *(inner_q.c[f"seg_{i}"] for i in range(len(names))),
        inner_q.c.level,
        inner_q.c.code,
    ]
    counted: ColumnElement[bool] = inner_q.c.level.is_not(None)
    if screen is not None:
        group.append(inner_q.c.bad)
        counted = or_(counted, inner_q.c.bad == 1)
    stmt = select(*group, func.count()).where(counted).group_by(*group)
    with translate("computing the funnel"):
        rows = conn.execute(stmt).all()
    out = []
    bad = 0
    for row in rows:
        if screen is not None:
            *values, level_value, code_value, flag, n = row
            if flag:
                bad += int(n)
                continue
        else:
            *values, level_value, code_value, n = row
        segment = tuple(_segment_value(names[i], v, period) for i, v in enumerate(values))
        out.append(FunnelRow(key, segment, int(level_value), _KINDS.get(int(code_value)), int(n)))
    return out, bad


def _unknown_elsewhere(
    conn: Connection, tables: Tables, pipelines: Mapping[str, PipelineSpec]
) -> int:
    """Opportunities now in none of ``pipelines`` whose history names a stage one of
    them does not know (the funnel's own queries see only its pipelines' ones)."""
    o, h = tables.entities["opportunity"], tables.history["opportunity"]
    keys = sorted(pipelines)
    _, row = _unknown_rows(tables, pipelines)
    # the opportunities in none of them, found as ranges of the pipeline index (a
    # ``NOT IN`` would read the whole index): none when every deal is in a report's pipeline
    ranges = [o.c.pipeline.is_(None), o.c.pipeline < keys[0], o.c.pipeline > keys[-1]]
    ranges += [and_(o.c.pipeline > a, o.c.pipeline < b) for a, b in pairwise(keys)]
    elsewhere = union_all(*(select(o.c.id).where(r) for r in ranges))
    stmt = (
        select(func.count(func.distinct(h.c.entity_id)))
        .select_from(h.join(o, o.c.id == h.c.entity_id))
        .where(
            o.c.id.in_(elsewhere),
            or_(h.c.pipeline.in_(keys), h.c.from_pipeline.in_(keys)),
            row == 1,
        )
    )
    with translate("checking the stages of the opportunities"):
        return int(conn.execute(stmt).scalar() or 0)


def _case_int(column: Any, mapping: Mapping[int, int]) -> Any:
    return case({k: literal(v) for k, v in mapping.items()}, value=column, else_=literal(_OTHER))


def _segment_columns(tables: Tables, names: Sequence[str], o: Any) -> list[Any]:
    out: list[Any] = []
    for i, name in enumerate(names):
        if name == "owner":
            out.append(o.c.owner.label(f"seg_{i}"))
        elif name == "cohort":
            out.append((o.c.created_us // _DAY_US).label(f"seg_{i}"))
        else:
            leads = tables.entities["lead"]
            out.append(
                select(leads.c.source)
                .where(leads.c.id == o.c.lead_id)
                .scalar_subquery()
                .label(f"seg_{i}")
            )
    return out


def _segment_value(name: str, value: Any, period: Period) -> str | None:
    if value is None:
        return None
    if name in ("cohort", "period"):
        return period_label(_EPOCH_DAY + timedelta(days=int(value)), period)
    return str(value)


# -- forecast -------------------------------------------------------------------------------------


def _forecast_rows(
    conn: Connection,
    tables: Tables,
    specs: Mapping[str, PipelineSpec],
    names: Sequence[str],
    moment_us: int | None,
    period: Period,
) -> list[ForecastRow]:
    """Deals and amount sums per forecast key, currency, stage kind and probability."""
    o = tables.entities["opportunity"]
    out: list[ForecastRow] = []
    for key, spec in specs.items():
        stages = _Stages(spec)
        if moment_us is None:
            stage_ix: Any = _case(o.c.stage, stages.index, stages.unknown)
            since: Any = o.c.stage_since_us
            source: Any = o
            visible: Any = o.c.pipeline == key
            cols: Any = o.c
        else:
            manual, automated, changed = _layers_at(tables, moment_us)
            extra = [
                o.c.owner,
                o.c.probability,
                o.c.amount_units,
                o.c.amount,
                o.c.currency,
                o.c.expected_day,
                manual.label("manual"),
                automated.label("automated"),
                changed.label("changed"),
            ]
            source = _frame(tables, moment_us, extra=extra)
            stage_ix, visible = _in_pipeline(source, stages)
            since = source.c.since_us
            cols = source.c
        code = _case_int(stage_ix, {i: stages.code_of_index(i) for i in range(stages.width)})
        default = {
            i: ("100" if stages.code_of_index(i) == _WON else str(spec.stages[i].probability))
            if stages.code_of_index(i) in (_OPEN, _WON)
            else "0"
            for i in range(len(stages.keys))
        }
        if moment_us is None:
            probability = case(
                (code == _WON, literal("100")),
                (code != _OPEN, literal("0")),
                else_=cols.probability,
            )
        else:  # the own probability unless something changed later, else the layers then
            probability = case(
                (code == _WON, literal("100")),
                (code != _OPEN, literal("0")),
                (and_(cols.later == 0, ~cols.changed), cols.probability),
                (cols.manual.is_not(None), cols.manual),
                (cols.automated.is_not(None), cols.automated),
                else_=_case_int_text(stage_ix, default),
            )
        dims: list[Any] = []
        for name in names:
            if name == "category":
                categories = {i: s.forecast for i, s in enumerate(spec.stages)}
                dims.append(_case_text(stage_ix, categories, "omitted"))
            elif name == "stage":
                dims.append(_case_text(stage_ix, dict(enumerate(stages.keys)), None))
            elif name == "owner":
                dims.append(cols.owner)
            elif name == "pipeline":
                dims.append(cols.pipeline)
            else:
                dims.append(case((code == _OPEN, cols.expected_day), else_=since // _DAY_US))
        inexact = case((cols.amount_units.is_(None), cols.amount), else_=null())
        labelled = [d.label(f"d{i}") for i, d in enumerate(dims)]
        inner = (
            select(
                *labelled,
                cols.currency.label("currency"),
                code.label("code"),
                probability.label("probability"),
                inexact.label("inexact"),
                cols.amount_units.label("units"),
            )
            .select_from(source)
            .where(visible)
            .subquery()
        )
        group = [inner.c[f"d{i}"] for i in range(len(dims))]
        stmt = select(
            *group,
            inner.c.currency,
            inner.c.code,
            inner.c.probability,
            inner.c.inexact,
            func.count(),
            func.sum(inner.c.units),
        ).group_by(*group, inner.c.currency, inner.c.code, inner.c.probability, inner.c.inexact)
        with translate("computing the forecast"):
            rows = conn.execute(stmt).all()
        for row in rows:
            *values, cur, code_value, prob, exact_text, n, units = row
            segment = tuple(_forecast_value(names[i], v, period) for i, v in enumerate(values))
            amount = (
                Decimal(exact_text) * int(n)
                if exact_text is not None
                else amount_of(None if units is None else int(units), None)
            )
            kind = _KINDS.get(int(code_value))
            out.append(ForecastRow(segment, cur, kind, Decimal(prob), int(n), amount))
    return out


def _layers_at(tables: Tables, moment_us: int) -> tuple[Any, Any, Any]:
    """``(manual, automated, changed)`` of each opportunity at the moment, as correlated
    subqueries: each layer's value then (the last change at or before the moment, else
    what its first change replaced, else unset) and whether a probability change was
    recorded after the moment."""
    o = tables.entities["opportunity"]
    pc = tables.probabilities
    ours = pc.c.entity_id == o.c.id
    layers = []
    for layer in PROBABILITY_LAYERS:
        mine = and_(ours, pc.c.layer == layer)
        before = and_(mine, pc.c.at_us <= moment_us)
        value = (
            select(pc.c.to_value).where(before).order_by(pc.c.seq.desc()).limit(1)
        ).scalar_subquery()
        replaced = (
            select(pc.c.from_value).where(mine).order_by(pc.c.seq).limit(1)
        ).scalar_subquery()
        layers.append(case((select(pc.c.seq).where(before).exists(), value), else_=replaced))
    changed = select(pc.c.seq).where(ours, pc.c.at_us > moment_us).exists()
    return layers[0], layers[1], changed


def _case_text(column: Any, mapping: Mapping[int, str], default: str | None) -> Any:
    return case(
        {k: literal(v) for k, v in mapping.items()},
        value=column,
        else_=literal(default) if default is not None else null(),
    )


def _case_int_text(column: Any, mapping: Mapping[int, str]) -> Any:
    return case({k: literal(v) for k, v in mapping.items()}, value=column, else_=literal("0"))


def _forecast_value(name: str, value: Any, period: Period) -> str | None:
    if name == "period":
        return _segment_value("period", value, period)
    return None if value is None else str(value)


# -- sales metrics --------------------------------------------------------------------------------


def _metrics_rows(
    conn: Connection,
    tables: Tables,
    specs: Mapping[str, PipelineSpec],
    names: Sequence[str],
    lo_us: int,
    hi_us: int,
) -> list[MetricsRow]:
    """Created, won and lost counts, cycle and won amount sums per segment and currency."""
    o = tables.entities["opportunity"]
    out: list[MetricsRow] = []
    for spec in specs.values():
        stages = _Stages(spec)
        extra = [o.c.owner, o.c.amount_units, o.c.amount, o.c.currency]
        sub = _frame(tables, hi_us, inclusive=False, extra=extra)
        stage_ix = _case(sub.c.stage, stages.index, stages.unknown)
        since, visible = sub.c.since_us, sub.c.visible
        # the pipeline it was in at the end of the period (where it began, if not yet recorded)
        pipeline = case((visible, sub.c.pipeline), else_=sub.c.first_pipeline)
        code = _case_int(stage_ix, {i: stages.code_of_index(i) for i in range(stages.width)})
        closed = and_(visible, since >= lo_us)
        won = and_(closed, code == _WON)
        lost = and_(closed, code == _LOST)
        created = and_(sub.c.created_us >= lo_us, sub.c.created_us < hi_us)
        still_open = and_(visible, code == _OPEN)
        dims = [sub.c.owner if name == "owner" else pipeline for name in names]
        inexact = case((sub.c.amount_units.is_(None), sub.c.amount), else_=null())
        stmt = (
            select(
                *dims,
                sub.c.currency,
                inexact,
                func.sum(case((created, 1), else_=0)),
                func.sum(case((won, 1), else_=0)),
                func.sum(case((lost, 1), else_=0)),
                func.sum(case((won, since - sub.c.created_us), else_=0)),
                func.sum(case((won, sub.c.amount_units), else_=null())),
                func.sum(case((and_(won, sub.c.amount.is_not(None)), 1), else_=0)),
                func.sum(case((still_open, 1), else_=0)),
            )
            .where(pipeline == spec.key, or_(created, won, lost, still_open))
            .group_by(*dims, sub.c.currency, inexact)
        )
        with translate("computing sales metrics"):
            rows = conn.execute(stmt).all()
        for row in rows:
            *values, cur, exact_text, n_created, n_won, n_lost, cycle, units, priced, n_open = row
            segment = tuple(None if v is None else str(v) for v in values)
            amount = Decimal(0)
            if int(priced):
                amount = (
                    Decimal(exact_text) * int(priced)
                    if exact_text is not None
                    else amount_of(int(units), None)
                )
            out.append(
                MetricsRow(
                    segment,
                    int(n_created),
                    int(n_won),
                    int(n_lost),
                    int(cycle or 0),
                    cur,
                    amount,
                    int(priced),
                    int(n_open or 0),
                )
            )
    return out


# -- lead conversion ------------------------------------------------------------------------------


def _conversion_rows(
    conn: Connection,
    tables: Tables,
    specs: Mapping[str, PipelineSpec],
    names: Sequence[str],
    moment_us: int | None,
    period: Period,
) -> list[ConversionRow]:
    """Leads, converted and won per segment of the leads."""
    o = tables.entities["opportunity"]
    leads = tables.entities["lead"]
    frame = _frame(tables, moment_us, extra=[o.c.lead_id])
    f = frame.c
    won_pairs = [
        and_(
            f.pipeline == key,
            f.stage.in_([s.key for s in spec.stages if s.kind is StageKind.WON]),
        )
        for key, spec in specs.items()
    ]
    status = case((or_(*won_pairs), 2), else_=1) if won_pairs else literal(1)
    reached = (
        select(f.lead_id, func.max(status).label("status"))
        .where(f.lead_id.is_not(None), f.visible)
        .group_by(f.lead_id)
        .subquery()
    )
    dims: list[Any] = []
    for name in names:
        if name == "owner":
            dims.append(leads.c.owner)
        elif name == "cohort":
            dims.append(leads.c.created_us // _DAY_US)
        else:
            dims.append(leads.c.source)
    stmt = (
        select(
            *dims,
            func.count(),
            func.count(reached.c.status),
            func.sum(case((reached.c.status == 2, 1), else_=0)),
        )
        .select_from(leads.outerjoin(reached, reached.c.lead_id == leads.c.id))
        .group_by(*dims)
    )
    if moment_us is not None:
        stmt = stmt.where(leads.c.created_us <= moment_us)
    with translate("computing lead conversion"):
        rows = conn.execute(stmt).all()
    out: list[ConversionRow] = []
    for row in rows:
        *values, n, converted, won = row
        if not n:
            continue  # without ``by`` the aggregate has a row even with no leads
        segment = tuple(_segment_value(names[i], v, period) for i, v in enumerate(values))
        out.append(ConversionRow(segment, int(n), int(converted), int(won or 0)))
    return out


# -- time in stage and stale deals ----------------------------------------------------------------


def _stage_visits(
    conn: Connection, tables: Tables, specs: Mapping[str, PipelineSpec], moment_us: int
) -> list[StageVisit]:
    """Every visit of an open stage that started by the moment, with its length (a window)."""
    o = tables.entities["opportunity"]
    h = tables.history["opportunity"]
    first = h.alias(f"{h.name}_first")
    home = func.coalesce(h.c.pipeline, o.c.pipeline)
    out: list[StageVisit] = []
    for key, spec in specs.items():
        opens = [s.key for s in spec.stages if s.kind is StageKind.OPEN]
        following = func.lead(h.c.at_us).over(partition_by=h.c.entity_id, order_by=h.c.seq)
        visits = (
            select(
                h.c.to_stage.label("stage"),
                home.label("pipeline"),
                h.c.at_us,
                following.label("next_at"),
            )
            .join(o, o.c.id == h.c.entity_id)
            .where(h.c.at_us <= moment_us)
            .subquery()
        )
        with_history = select(h.c.entity_id).where(h.c.entity_id == o.c.id).exists()
        lengths = select(
            visits.c.stage, func.coalesce(visits.c.next_at, moment_us) - visits.c.at_us
        ).where(visits.c.pipeline == key, visits.c.stage.in_(opens))
        bare = select(o.c.stage, moment_us - o.c.created_us).where(
            o.c.pipeline == key,
            o.c.stage.in_(opens),
            o.c.created_us <= moment_us,
            ~with_history,
        )
        # a history whose first row leaves a stage: that stage since the creation
        start = case((first.c.at_us < o.c.created_us, first.c.at_us), else_=o.c.created_us)
        end = case((first.c.at_us < moment_us, first.c.at_us), else_=moment_us)
        earliest = select(func.min(h.c.seq)).where(h.c.entity_id == o.c.id).scalar_subquery()
        implicit = (
            select(first.c.from_stage, end - start)
            .select_from(o.join(first, first.c.entity_id == o.c.id))
            .where(
                first.c.seq == earliest,
                func.coalesce(first.c.from_pipeline, first.c.pipeline, o.c.pipeline) == key,
                first.c.from_stage.in_(opens),
                start <= moment_us,
            )
        )
        with translate("computing time in stage"):
            for stmt in (lengths, bare, implicit):
                out.extend(
                    StageVisit(key, stage, int(length)) for stage, length in conn.execute(stmt)
                )
    return out


def _stale_deals(
    conn: Connection, tables: Tables, specs: Mapping[str, PipelineSpec], moment: datetime
) -> list[StaleDeal]:
    """Open opportunities past their stage's rotting threshold at the moment (any order)."""
    moment_us = micros(moment)
    o = tables.entities["opportunity"]
    found: list[StaleDeal] = []
    for key, spec in specs.items():
        stages = _Stages(spec)
        limits = {
            i: s.rotting_days * _DAY_US
            for i, s in enumerate(spec.stages)
            if s.kind is StageKind.OPEN and s.rotting_days is not None
        }
        if not limits:
            continue
        sub = _frame(tables, moment_us, extra=[o.c.owner])
        stage_ix, visible = _in_pipeline(sub, stages)
        since = sub.c.since_us
        threshold = case({k: literal(v) for k, v in limits.items()}, value=stage_ix, else_=null())
        stmt = select(sub.c.id, stage_ix, sub.c.owner, since).where(
            visible, threshold.is_not(None), moment_us - since > threshold
        )
        with translate("finding stale deals"):
            rows = conn.execute(stmt).all()
        for entity_id, index, owner, since_us in rows:
            stage = spec.stages[int(index)]
            entered = when(int(since_us))
            assert stage.rotting_days is not None
            found.append(
                StaleDeal(
                    entity_id, key, stage.key, owner, entered, moment - entered, stage.rotting_days
                )
            )
    return found


# -- the capability --------------------------------------------------------------------------------


def _unknown_stages(
    conn: Connection, tables: Tables, pipelines: Mapping[str, PipelineSpec]
) -> list[UnknownStageRow]:
    o, h = tables.entities["opportunity"], tables.history["opportunity"]

    def unknown(pipeline: Any, stage: Any) -> Any:
        return _unknown_in(pipelines, pipeline, stage) == 1

    moved_in = func.coalesce(h.c.pipeline, o.c.pipeline)
    left = func.coalesce(h.c.from_pipeline, moved_in)
    queries = [
        select(o.c.id, literal("stage"), o.c.pipeline, o.c.stage).where(
            unknown(o.c.pipeline, o.c.stage)
        ),
        select(h.c.entity_id, h.c.seq, moved_in, h.c.to_stage)
        .join(o, o.c.id == h.c.entity_id)
        .where(unknown(moved_in, h.c.to_stage)),
        select(h.c.entity_id, literal(-1), left, h.c.from_stage)
        .join(o, o.c.id == h.c.entity_id)
        .where(h.c.seq == 0, h.c.from_stage.is_not(None), unknown(left, h.c.from_stage)),
    ]
    out: list[UnknownStageRow] = []
    with translate("checking the stages of the opportunities"):
        for query in queries:
            for entity_id, where, pipeline, stage in conn.execute(query):
                if where == -1:
                    where = "history[0].from_stage"
                elif where != "stage":
                    where = f"history[{where}].to_stage"
                out.append(UnknownStageRow(entity_id, where, pipeline, stage))
    return out


class SqlAnalyticsQueries(abc.ABC):
    """The SQL units of work's :class:`~pipelinekit.analytics.ports.AnalyticsQueries`
    and :class:`~pipelinekit.analytics.ports.ReportQueries`.

    Every report is aggregated by the database in the unit of work's
    transaction (a read-only unit of work is best for reports).
    """

    tables: Tables

    @abc.abstractmethod
    def _load_leads(self, where: Sequence[ColumnElement[bool]], *, limit: int | None) -> list[Lead]:
        """The stored leads matching ``where`` in id order (at most ``limit``)."""

    def report_counts(self) -> ReportCounts:
        """Leads per status, opportunities and the latest change, counted by the database."""
        leads = self.tables.entities["lead"]
        deals = self.tables.entities["opportunity"]
        with translate("counting for the report"):
            statuses = {
                str(status): int(n)
                for status, n in self.conn.execute(
                    select(leads.c.stage, func.count()).group_by(leads.c.stage)
                )
            }
            n_deals, deals_latest = self.conn.execute(
                select(func.count(), func.max(deals.c.updated_us))
            ).one()
            leads_latest = self.conn.execute(select(func.max(leads.c.updated_us))).scalar()
        stamps = [int(x) for x in (leads_latest, deals_latest) if x is not None]
        latest = when(max(stamps)) if stamps else None
        return ReportCounts(sum(statuses.values()), int(n_deals), statuses, latest)

    def best_scored_leads(self, count: int) -> list[Lead]:
        """The leads whose score column reaches the ``count``-th best, ranked exactly.

        Scores are indexed as floats, which order like the exact scores but
        may tie where those do not: every lead above the ``count``-th float
        is loaded, and the leads tied at it are read a page at a time keeping
        only the best, so memory holds about ``count`` leads.
        """
        if count <= 0:
            return []
        table = self.tables.entities["lead"]
        score = table.c.score
        with translate("finding the best-scored leads"):
            threshold = self.conn.execute(
                select(score)
                .where(score.is_not(None))
                .order_by(score.desc())
                .limit(1)
                .offset(count - 1)
            ).scalar()
        if threshold is None:  # fewer scored leads than asked for
            return self._load_leads([score.is_not(None)], limit=None)
        above = self._load_leads([score > threshold], limit=None)
        room = count - len(above)
        ties: list[tuple[Decimal, str, Lead]] = []
        after = ""
        while True:
            page = self._load_leads([score == threshold, table.c.id > after], limit=1000)
            for lead in page:
                exact = lead.qualification.score if lead.qualification else None
                assert exact is not None
                ties.append((-exact, lead.id, lead))
            if len(ties) > room:
                ties.sort(key=lambda item: item[:2])
                del ties[room:]
            if len(page) < 1000:
                break
            after = page[-1].id
        return above + [lead for _, _, lead in ties]

    @property
    @abc.abstractmethod
    def conn(self) -> Connection:
        """The unit of work's open connection."""

    def funnel_rows(
        self,
        pipelines: Mapping[str, PipelineSpec],
        *,
        entities: Literal["opportunities", "leads"],
        by: tuple[str, ...],
        as_of: datetime | None,
        period: Period,
    ) -> list[FunnelRow]:
        """Funnel levels per pipeline and segment (``source`` joins the leads table)."""
        tables = self.tables
        moment_us = None if as_of is None else micros(as_of)
        if entities == "leads":
            leads = tables.entities["lead"]
            columns: dict[str, Any] = {
                "owner": leads.c.owner,
                "source": leads.c.source,
                "cohort": leads.c.created_us // _DAY_US,
            }
            extra = [columns[name].label(f"seg_{i}") for i, name in enumerate(by)]
            kind = "lead"
        else:
            extra = _segment_columns(tables, by, tables.entities["opportunity"])
            kind = "opportunity"
        out: list[FunnelRow] = []
        for spec in pipelines.values():
            stages = _Stages(spec)
            out += _funnel_rows(self.conn, tables, stages, extra, by, moment_us, period, kind)[0]
        return out

    def screened_funnel_rows(
        self,
        pipelines: Mapping[str, PipelineSpec],
        *,
        by: tuple[str, ...],
        as_of: datetime | None,
        period: Period,
    ) -> tuple[list[FunnelRow], int] | None:
        """The opportunities' funnel of now and its stage check in the same queries:
        the levels of the opportunities whose stages their pipelines all know, and
        how many opportunities name one they do not (``None`` with ``as_of``:
        check first with :meth:`unknown_stage_rows`, then ask :meth:`funnel_rows`).
        """
        if as_of is not None:
            return None
        tables = self.tables
        extra = _segment_columns(tables, by, tables.entities["opportunity"])
        out: list[FunnelRow] = []
        bad = _unknown_elsewhere(self.conn, tables, pipelines)
        for spec in pipelines.values():
            rows, unknown = _funnel_rows(
                self.conn, tables, _Stages(spec), extra, by, None, period, screen=pipelines
            )
            out += rows
            bad += unknown
        return out, bad

    def forecast_rows(
        self,
        pipelines: Mapping[str, PipelineSpec],
        *,
        by: tuple[str, ...],
        as_of: datetime | None,
        period: Period,
    ) -> list[ForecastRow]:
        """Forecast groups, summed by the database."""
        moment_us = None if as_of is None else micros(as_of)
        return _forecast_rows(self.conn, self.tables, pipelines, by, moment_us, period)

    def conversion_rows(
        self,
        pipelines: Mapping[str, PipelineSpec],
        *,
        by: tuple[str, ...],
        as_of: datetime | None,
        period: Period,
    ) -> list[ConversionRow]:
        """Lead conversion per segment, counted by the database."""
        moment_us = None if as_of is None else micros(as_of)
        return _conversion_rows(self.conn, self.tables, pipelines, by, moment_us, period)

    def metrics_rows(
        self,
        pipelines: Mapping[str, PipelineSpec],
        *,
        by: tuple[str, ...],
        start: datetime,
        end: datetime,
    ) -> list[MetricsRow]:
        """Sales-metric sums per segment and currency, summed by the database."""
        return _metrics_rows(self.conn, self.tables, pipelines, by, micros(start), micros(end))

    def stage_visits(
        self, pipelines: Mapping[str, PipelineSpec], *, as_of: datetime
    ) -> list[StageVisit]:
        """Every open-stage visit's length, measured by the database."""
        return _stage_visits(self.conn, self.tables, pipelines, micros(as_of))

    def stale_deal_rows(
        self, pipelines: Mapping[str, PipelineSpec], *, as_of: datetime
    ) -> list[StaleDeal]:
        """Stale opportunities, found by the database."""
        return _stale_deals(self.conn, self.tables, pipelines, as_of)

    def unknown_stage_rows(self, pipelines: Mapping[str, PipelineSpec]) -> list[UnknownStageRow]:
        """Stages of stored opportunities (current or in their history) unknown to their pipeline.

        The check every opportunity report makes first
        (:mod:`pipelinekit.analytics.screening`), answered by the database.
        """
        return _unknown_stages(self.conn, self.tables, pipelines)


# -- deprecated: the functions of pipelinekit.analytics take the unit of work ---------------------


def _sql(uow: UnitOfWork, name: str) -> UnitOfWork:
    if not isinstance(uow, SqlAnalyticsQueries):
        raise TypeError(
            "pipelinekit.storage.sql.analytics needs a unit of work of a SQL storage; "
            f"got {type(uow).__name__} (use pipelinekit.analytics on the entities instead)"
        )
    warnings.warn(
        f"pipelinekit.storage.sql.analytics.{name}(uow, ...) is deprecated: call "
        f"pipelinekit.analytics.{name}(uow, ...), which lets the database aggregate",
        DeprecationWarning,
        stacklevel=3,
    )
    return uow


def funnel(
    uow: UnitOfWork,
    pipelines: PipelinesArg,
    *,
    as_of: datetime | None = None,
    by: str | Sequence[str] = (),
    period: Period = "month",
    unknown_stages: UnknownStages = "raise",
) -> Funnel:
    """Deprecated: :func:`pipelinekit.analytics.funnel` with the unit of work."""
    return _funnel(
        _sql(uow, "funnel"),
        pipelines,
        as_of=as_of,
        by=by,
        period=period,
        unknown_stages=unknown_stages,
    )


def lead_funnel(
    uow: UnitOfWork,
    lifecycle: Pipeline | PipelineSpec = LEAD_LIFECYCLE,
    *,
    as_of: datetime | None = None,
    by: str | Sequence[str] = (),
    period: Period = "month",
) -> Funnel:
    """Deprecated: :func:`pipelinekit.analytics.lead_funnel` with the unit of work."""
    source = _sql(uow, "lead_funnel")
    return _lead_funnel(source, lifecycle, as_of=as_of, by=by, period=period)


def forecast(
    uow: UnitOfWork,
    pipelines: PipelinesArg,
    *,
    by: str | Sequence[str] = ("category",),
    as_of: datetime | None = None,
    period: Period = "month",
    rates: Mapping[str, Decimal | int | str] | None = None,
    currency: str | None = None,
    unknown_stages: UnknownStages = "raise",
) -> Forecast:
    """Deprecated: :func:`pipelinekit.analytics.forecast` with the unit of work."""
    return _forecast(
        _sql(uow, "forecast"),
        pipelines,
        by=by,
        as_of=as_of,
        period=period,
        rates=rates,
        currency=currency,
        unknown_stages=unknown_stages,
    )


def sales_metrics(
    uow: UnitOfWork,
    pipelines: PipelinesArg,
    *,
    start: datetime,
    end: datetime,
    by: str | Sequence[str] = (),
    rates: Mapping[str, Decimal | int | str] | None = None,
    currency: str | None = None,
    unknown_stages: UnknownStages = "raise",
) -> SalesMetrics:
    """Deprecated: :func:`pipelinekit.analytics.sales_metrics` with the unit of work."""
    return _sales_metrics(
        _sql(uow, "sales_metrics"),
        pipelines,
        start=start,
        end=end,
        by=by,
        rates=rates,
        currency=currency,
        unknown_stages=unknown_stages,
    )


def lead_conversion(
    uow: UnitOfWork,
    pipelines: PipelinesArg,
    *,
    as_of: datetime | None = None,
    by: str | Sequence[str] = (),
    period: Period = "month",
) -> LeadConversion:
    """Deprecated: :func:`pipelinekit.analytics.lead_conversion` with the unit of work."""
    source = _sql(uow, "lead_conversion")
    return _lead_conversion(source, pipelines, as_of=as_of, by=by, period=period)


def time_in_stages(
    uow: UnitOfWork,
    pipelines: PipelinesArg,
    *,
    as_of: datetime | None = None,
    clock: Clock | None = None,
    unknown_stages: UnknownStages = "raise",
) -> StageTimes:
    """Deprecated: :func:`pipelinekit.analytics.time_in_stages` with the unit of work."""
    source = _sql(uow, "time_in_stages")
    return _time_in_stages(
        source, pipelines, as_of=as_of, clock=clock, unknown_stages=unknown_stages
    )


def stale_deals(
    uow: UnitOfWork,
    pipelines: PipelinesArg,
    *,
    as_of: datetime | None = None,
    clock: Clock | None = None,
    unknown_stages: UnknownStages = "raise",
) -> StaleDeals:
    """Deprecated: :func:`pipelinekit.analytics.stale_deals` with the unit of work."""
    source = _sql(uow, "stale_deals")
    return _stale(source, pipelines, as_of=as_of, clock=clock, unknown_stages=unknown_stages)
