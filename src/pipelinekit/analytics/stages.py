"""Time in stage (mean, median, 90th percentile) and stale deals, as of a moment."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Final

import attrs

from ..clock import Clock, resolve_time
from ..domain import Opportunity
from ..pipelines import PipelineSpec, StageKind
from ._common import PipelinesArg, aggregated, opportunities_of, specs_of, state_at, visits
from .ports import OpportunitySource, StageVisit
from .results import StageTime, StageTimes, StaleDeal, StaleDeals
from .screening import UnknownStages, screen_stages

__all__ = ["stale_deals", "summarize", "time_in_stages"]

_MICRO: Final = timedelta(microseconds=1)


def summarize(durations_us: Sequence[int]) -> tuple[int, int | None, int | None, int | None]:
    """``(count, mean, median, p90)`` of durations in microseconds (``None`` when empty).

    The mean and an even count's median round half to even to the
    microsecond; the 90th percentile is the nearest-rank one (the smallest
    value with at least 90 % of the visits at or below it).
    """
    n = len(durations_us)
    if not n:
        return 0, None, None, None
    ordered = sorted(durations_us)
    mean = int((Decimal(sum(ordered)) / n).quantize(Decimal(1), ROUND_HALF_EVEN))
    middle = n // 2
    if n % 2:
        median = ordered[middle]
    else:
        pair = Decimal(ordered[middle - 1] + ordered[middle]) / 2
        median = int(pair.quantize(Decimal(1), ROUND_HALF_EVEN))
    rank = -(-9 * n // 10)  # ceil(0.9 n)
    return n, mean, median, ordered[rank - 1]


def _td(us: int | None) -> timedelta | None:
    return None if us is None else timedelta(microseconds=us)


def finish_times(
    durations: Mapping[tuple[str, str], Sequence[int]],
    specs: Mapping[str, PipelineSpec],
    moment: datetime,
) -> StageTimes:
    """Lines per open stage from ``(pipeline, stage) -> durations`` (shared by both paths)."""
    lines = []
    for key, spec in specs.items():
        for stage in spec.stages:
            if stage.kind is not StageKind.OPEN:
                continue
            n, mean, median, p90 = summarize(durations.get((key, stage.key), ()))
            lines.append(
                StageTime(key, stage.key, stage.label, n, _td(mean), _td(median), _td(p90))
            )
    return StageTimes(moment, tuple(lines))


def time_in_stages(
    opportunities: OpportunitySource,
    pipelines: PipelinesArg,
    *,
    as_of: datetime | None = None,
    clock: Clock | None = None,
    unknown_stages: UnknownStages = "raise",
) -> StageTimes:
    """How long opportunities stay in each open stage, per visit, as of ``as_of``.

    ``opportunities`` is the entities, or a unit of work (a storage that
    offers :class:`~pipelinekit.analytics.ports.AnalyticsQueries` measures
    the visits itself; the percentiles are always taken here).  Every visit
    that started by ``as_of`` counts: a finished one with its length, the
    current one with its length so far (so deals stuck in a stage show).  A
    deal that returns to a stage makes a second visit.  ``as_of`` defaults to
    ``clock.now()``.

    ``unknown_stages`` says what to do with an opportunity naming a stage its
    pipeline does not know: ``"raise"`` a :class:`~pipelinekit.ValidationError`
    with every such stage's path, or ``"skip"`` it and count it in ``skipped``
    (see :mod:`pipelinekit.analytics.screening`).
    """
    moment = resolve_time(as_of, clock)
    specs = specs_of(pipelines)
    screened, skipped = screen_stages(opportunities, specs, unknown_stages)
    durations = aggregated(
        screened,
        lambda queries: queries.stage_visits(specs, as_of=moment),
        fold_visits,
        lambda: _visits(opportunities_of(screened), specs, moment),
    )
    made = finish_times(durations, specs, moment)
    return attrs.evolve(made, skipped=skipped) if skipped else made


def fold_visits(rows: Iterable[StageVisit]) -> dict[tuple[str, str], list[int]]:
    """Durations from the rows an :class:`~pipelinekit.analytics.ports.AnalyticsQueries` gave."""
    durations: dict[tuple[str, str], list[int]] = {}
    for pipeline, stage, length in rows:
        durations.setdefault((pipeline, stage), []).append(int(length))
    return durations


def _visits(
    opportunities: Iterable[Opportunity], specs: Mapping[str, PipelineSpec], moment: datetime
) -> dict[tuple[str, str], list[int]]:
    opens = {
        (key, s.key) for key, spec in specs.items() for s in spec.stages if s.kind is StageKind.OPEN
    }
    durations: dict[tuple[str, str], list[int]] = {}
    for opp in opportunities:
        seen = visits(opp)
        for i, (pipeline, stage, at) in enumerate(seen):
            if at > moment:
                break
            end = seen[i + 1].at if i + 1 < len(seen) else moment
            end = min(end, moment)
            key = (pipeline, stage)
            if key in opens:
                durations.setdefault(key, []).append((end - at) // _MICRO)
    return durations


def stale_deals(
    opportunities: OpportunitySource,
    pipelines: PipelinesArg,
    *,
    as_of: datetime | None = None,
    clock: Clock | None = None,
    unknown_stages: UnknownStages = "raise",
) -> StaleDeals:
    """Open opportunities in a stage longer than its ``rotting_days``, as of ``as_of``.

    ``opportunities`` is the entities, or a unit of work (a storage that
    offers :class:`~pipelinekit.analytics.ports.AnalyticsQueries` finds them
    itself).  The stage and the time it was entered come from the history at
    ``as_of`` (default ``clock.now()``); the most overdue come first.

    ``unknown_stages`` says what to do with an opportunity naming a stage its
    pipeline does not know: ``"raise"`` a :class:`~pipelinekit.ValidationError`
    with every such stage's path, or ``"skip"`` it and count it in ``skipped``
    (see :mod:`pipelinekit.analytics.screening`).
    """
    moment = resolve_time(as_of, clock)
    specs = specs_of(pipelines)
    screened, skipped = screen_stages(opportunities, specs, unknown_stages)
    found = aggregated(
        screened,
        lambda queries: queries.stale_deal_rows(specs, as_of=moment),
        list,
        lambda: _stale(opportunities_of(screened), specs, moment),
    )
    found.sort(key=lambda d: (-(d.overdue // _MICRO), d.opportunity_id))
    return StaleDeals(moment, tuple(found), skipped=skipped)


def _stale(
    opportunities: Iterable[Opportunity], specs: Mapping[str, PipelineSpec], moment: datetime
) -> list[StaleDeal]:
    limits = {
        (key, s.key): s.rotting_days
        for key, spec in specs.items()
        for s in spec.stages
        if s.kind is StageKind.OPEN and s.rotting_days is not None
    }
    found = []
    for opp in opportunities:
        state = state_at(opp, moment)
        if state is None:
            continue
        days = limits.get((state.pipeline, state.stage))
        if days is None:
            continue
        waited = moment - state.since
        if waited > timedelta(days=days):
            found.append(
                StaleDeal(opp.id, state.pipeline, state.stage, opp.owner, state.since, waited, days)
            )
    return found
