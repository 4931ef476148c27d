"""What analytics reads from, and the optional capability of computing it where the data lives.

Every report of :mod:`pipelinekit.analytics` takes its data from a *source*:

* the entities themselves (any iterable: a list, ``uow.opportunities.iterate()``), or
* an :class:`AnalyticsSource`: anything with ``leads`` and ``opportunities``
  that ``iterate()``, such as an open unit of work of any storage adapter.

A source that also implements :class:`AnalyticsQueries` (an optional
protocol; the SQL adapters do) is asked for the report's *aggregates*, so the
database groups and sums and only a few rows come back.  Every other source
is read entity by entity and aggregated in memory.  Either way pipelinekit
checks the arguments, and finishes the aggregates into the same typed result
(rates, conversions, percentiles, ordering), so both paths give equal results.

This module is the one an adapter author imports: the protocol, the rows
its methods return, and the helpers that define funnel steps and periods.
The protocol is re-exported by :mod:`pipelinekit.storage` for adapter authors.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Final, Literal, NamedTuple, Protocol, TypeVar, runtime_checkable

from ..domain import Lead, Opportunity
from ..pipelines import Pipeline, PipelineSet, PipelineSpec, StageKind
from .results import StaleDeal

__all__ = [
    "PERIODS",
    "AnalyticsQueries",
    "AnalyticsSource",
    "ConversionRow",
    "Entities",
    "FunnelRow",
    "ForecastRow",
    "LeadSource",
    "MetricsRow",
    "OpportunitySource",
    "Period",
    "PipelinesArg",
    "ReportCounts",
    "ReportQueries",
    "Segment",
    "StageVisit",
    "funnel_steps",
    "period_label",
    "step_index",
]

T_co = TypeVar("T_co", covariant=True)

#: The period lengths a report can group by (cohorts, close dates).
Period = Literal["day", "week", "month", "quarter", "year"]
PERIODS: Final = ("day", "week", "month", "quarter", "year")
#: The values of a report's ``by`` dimensions, in order (``None`` for a missing value).
Segment = tuple[str | None, ...]
#: The pipelines a report covers: one pipeline or definition, a PipelineSet, or several.
PipelinesArg = Pipeline | PipelineSpec | PipelineSet | Iterable[Pipeline | PipelineSpec]


class Entities(Protocol[T_co]):
    """Something that yields stored entities one by one (a repository)."""

    def iterate(self) -> Iterator[T_co]:
        """Every entity, in any order."""
        ...


@runtime_checkable
class AnalyticsSource(Protocol):
    """A source of leads and opportunities: an open unit of work of any storage adapter."""

    @property
    def leads(self) -> Entities[Lead]:
        """The stored leads."""
        ...

    @property
    def opportunities(self) -> Entities[Opportunity]:
        """The stored opportunities."""
        ...


#: What a report about opportunities accepts: the entities, or a source holding them.
OpportunitySource = Iterable[Opportunity] | AnalyticsSource
#: What a report about leads accepts: the entities, or a source holding them.
LeadSource = Iterable[Lead] | AnalyticsSource


def period_label(day: date, period: Period) -> str:
    """``2026-03-02`` as ``2026-03-02`` (day), ``2026-W10`` (ISO week), ``2026-03`` (month),
    ``2026-Q1`` (quarter) or ``2026`` (year).  Labels sort in time order."""
    if period == "month":
        return f"{day.year:04d}-{day.month:02d}"
    if period == "quarter":
        return f"{day.year:04d}-Q{(day.month - 1) // 3 + 1}"
    if period == "year":
        return f"{day.year:04d}"
    if period == "week":
        year, week, _ = day.isocalendar()
        return f"{year:04d}-W{week:02d}"
    return day.isoformat()


def funnel_steps(spec: PipelineSpec) -> tuple[tuple[str, str], ...]:
    """The funnel's steps ``(stage, label)``: the open stages in order, then the first won stage."""
    steps = [(s.key, s.label) for s in spec.stages if s.kind is StageKind.OPEN]
    won = next(s for s in spec.stages if s.kind is StageKind.WON)
    return (*steps, (won.key, won.label))


def step_index(spec: PipelineSpec) -> dict[str, int]:
    """``stage -> step`` for the open stages; every won stage maps to the last step."""
    opens = [s.key for s in spec.stages if s.kind is StageKind.OPEN]
    index = {key: i for i, key in enumerate(opens)}
    for stage in spec.stages:
        if stage.kind is StageKind.WON:
            index[stage.key] = len(opens)
    return index


class FunnelRow(NamedTuple):
    """``entities`` of one pipeline and segment that got to the same step.

    ``level`` is the furthest open step (:func:`step_index`) the entity
    reached by the moment, from its stage history (its current stage when it
    has none); an entity in a won stage at the moment is at the last step
    (``len(funnel_steps(spec)) - 1``).  Entities that reached no step are left
    out.  ``kind`` is the kind of the stage it is in at the moment (``None``
    for a stage its definition does not have).
    """

    pipeline: str
    segment: Segment
    level: int
    kind: StageKind | None
    entities: int


class ForecastRow(NamedTuple):
    """``deals`` opportunities sharing a forecast key, currency, stage kind and probability.

    ``key`` holds the values of the ``by`` dimensions (``category``: the
    stage's forecast category, ``omitted`` for a stage its definition does not
    have; ``period``: :func:`period_label` of the expected close date for open
    deals, of the day the deal entered its stage otherwise).  ``probability``
    is the win probability in percent at the moment: the deal's own in its
    current open stage, the stage default in an open stage it has since left,
    100 won, 0 lost or unknown.  ``amount`` sums their amounts (0 when
    ``currency`` is ``None``: deals without an amount).
    """

    key: Segment
    currency: str | None
    kind: StageKind | None
    probability: Decimal
    deals: int
    amount: Decimal


class ConversionRow(NamedTuple):
    """Leads of one segment created by the moment: how many converted, how many were won."""

    segment: Segment
    leads: int
    converted: int
    won: int


class MetricsRow(NamedTuple):
    """Raw sums of one segment (and currency) over a period ``[start, end)``.

    ``created``: opportunities created in the period; ``won`` / ``lost``:
    those whose last stage change before ``end`` happened in the period into a
    won / lost stage; ``cycle_us``: the sum, over the won ones, of the
    microseconds from creation to that change; ``won_amount``: the sum of the
    won ones' amounts in ``currency``, and ``priced`` how many had one;
    ``open``: opportunities in an open stage at ``end`` (for velocity).
    """

    segment: Segment
    created: int
    won: int
    lost: int
    cycle_us: int
    currency: str | None
    won_amount: Decimal
    priced: int
    open: int = 0


class ReportCounts(NamedTuple):
    """The totals of a pipeline report: how many leads and opportunities, leads per status.

    ``lead_status`` maps each lead status to its number of leads (statuses
    with none are absent); ``latest`` is the latest ``updated_at`` of any
    lead or opportunity (``None`` when nothing is stored).
    """

    leads: int
    opportunities: int
    lead_status: Mapping[str, int]
    latest: datetime | None


class StageVisit(NamedTuple):
    """One visit of an open stage that started by the moment, and its length so far."""

    pipeline: str
    stage: str
    duration_us: int


@runtime_checkable
class AnalyticsQueries(Protocol):
    """An optional storage capability: the aggregates of each report, computed by the storage.

    A unit of work that implements every method is asked for the aggregates
    instead of being read entity by entity.  A method may return ``None`` to
    let pipelinekit compute that report in memory (for a query the backend
    cannot express).  Arguments arrive checked: ``pipelines`` maps pipeline
    keys to definitions (only those pipelines count), ``by`` names known
    dimensions, times are aware UTC datetimes, ``as_of=None`` means now.
    Rows may come in any order, and rows with equal keys are added up.
    :mod:`pipelinekit.testing.contracts` checks that an implementation agrees
    with the in-memory computation.
    """

    def funnel_rows(
        self,
        pipelines: Mapping[str, PipelineSpec],
        *,
        entities: Literal["opportunities", "leads"],
        by: tuple[str, ...],
        as_of: datetime | None,
        period: Period,
    ) -> Iterable[FunnelRow] | None:
        """Funnel levels of the opportunities (or of the leads through their lifecycle).

        ``by`` takes ``owner``, ``cohort`` (:func:`period_label` of the creation
        day) and ``source`` (the lead's channel; for opportunities, the channel
        of the lead they came from).
        """
        ...

    def forecast_rows(
        self,
        pipelines: Mapping[str, PipelineSpec],
        *,
        by: tuple[str, ...],
        as_of: datetime | None,
        period: Period,
    ) -> Iterable[ForecastRow] | None:
        """Forecast groups; ``by`` takes category, stage, owner, pipeline and period."""
        ...

    def conversion_rows(
        self,
        pipelines: Mapping[str, PipelineSpec],
        *,
        by: tuple[str, ...],
        as_of: datetime | None,
        period: Period,
    ) -> Iterable[ConversionRow] | None:
        """Lead conversion per segment of the leads (``owner``, ``cohort``, ``source``).

        A lead *converted* if an opportunity linked to it existed at the
        moment, and was *won* if one of them was in a won stage of its pipeline
        then.
        """
        ...

    def metrics_rows(
        self,
        pipelines: Mapping[str, PipelineSpec],
        *,
        by: tuple[str, ...],
        start: datetime,
        end: datetime,
    ) -> Iterable[MetricsRow] | None:
        """Sales-metric sums per segment (``owner``, ``pipeline``) and currency."""
        ...

    def stage_visits(
        self, pipelines: Mapping[str, PipelineSpec], *, as_of: datetime
    ) -> Iterable[StageVisit] | None:
        """Every visit of an open stage started by ``as_of``, with its length (up to ``as_of``)."""
        ...

    def stale_deal_rows(
        self, pipelines: Mapping[str, PipelineSpec], *, as_of: datetime
    ) -> Iterable[StaleDeal] | None:
        """Open opportunities in their stage at ``as_of`` for longer than its ``rotting_days``."""
        ...


@runtime_checkable
class ReportQueries(Protocol):
    """An optional storage capability: what the pipeline report needs beyond the aggregates.

    With :class:`AnalyticsQueries`, a unit of work that also implements
    these methods gives :func:`~pipelinekit.analytics.pipeline_report` every
    number without reading the leads one by one: its memory then does not
    depend on how many are stored.  A method may return ``None`` to let
    pipelinekit read the entities instead.
    """

    def report_counts(self) -> ReportCounts | None:
        """The stored leads and opportunities counted, leads per status, the latest change."""
        ...

    def best_scored_leads(self, count: int) -> Iterable[Lead] | None:
        """At least the ``count`` best-scored leads (highest score first, ties by lowest id).

        More may come back (pipelinekit ranks them exactly and keeps
        ``count``); unscored leads never rank.  Every scored lead when fewer
        than ``count`` are stored.
        """
        ...
