"""The conversion funnel, counted from the stage history, and lead -> opportunity -> won rates.

How a linear funnel counts (the choices users of a funnel report expect):

* An opportunity **entered** a stage if it ever reached that stage *or a later
  one* by the report's moment: a deal moved straight from initial contact to
  the proposal counts as having passed qualification and meeting.  So counts
  never increase down the stages.
* The last step is **won**: a deal counts there if it is in a won stage at the
  report's moment.  Lost deals stay counted in every stage they reached.
* Every opportunity counts **once** per step, however often it was reopened or
  moved back: a deal lost in the meeting, reopened into qualification and
  moved on to the proposal entered each of those stages once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, tzinfo
from typing import Final, TypeVar, overload

import attrs

from ..domain import Lead, Opportunity
from ..errors import Problem, ValidationError
from ..pipelines import LEAD_LIFECYCLE, Pipeline, PipelineSpec, StageKind
from ._common import (
    PipelinesArg,
    aggregated,
    aware,
    check_by,
    check_period,
    check_tz,
    current_stage,
    leads_of,
    opportunities_of,
    specs_of,
    state_at,
    utc_day,
    visits,
)
from .ports import (
    AnalyticsQueries,
    AnalyticsSource,
    ConversionRow,
    FunnelRow,
    LeadSource,
    OpportunitySource,
    Period,
    funnel_steps,
    period_label,
    step_index,
)
from .results import Funnel, FunnelStep, LeadConversion, LeadConversionLine, rate
from .screening import UnknownStages, admitted, check_mode, raise_unknown, screening_for

__all__ = ["FUNNEL_DIMENSIONS", "LEAD_DIMENSIONS", "funnel", "lead_conversion", "lead_funnel"]

E = TypeVar("E", Lead, Opportunity)

#: The dimensions a funnel can be sliced by (the pipeline always is).
FUNNEL_DIMENSIONS: Final = ("cohort", "owner", "source")
#: The dimensions lead conversion can be sliced by.
LEAD_DIMENSIONS: Final = ("cohort", "owner", "source")

_OPEN, _WON, _LOST, _OTHER = 0, 1, 2, 3
_CODE_OF: Final = {StageKind.OPEN: _OPEN, StageKind.WON: _WON, StageKind.LOST: _LOST, None: _OTHER}

#: ``(pipeline, segment, level, kind code at the moment) -> opportunities``.
Counts = dict[tuple[str, tuple[str | None, ...], int, int], int]


def kind_codes(spec: PipelineSpec) -> dict[str, int]:
    """``stage -> kind code`` (open 0, won 1, lost 2)."""
    return {s.key: _CODE_OF[s.kind] for s in spec.stages}


def sources_of(leads: Iterable[Lead] | None) -> dict[str, str | None]:
    """``lead id -> source channel`` for slicing opportunities by their lead's source."""
    if leads is None:
        return {}
    return {lead.id: None if lead.source is None else lead.source.channel.value for lead in leads}


def funnel(
    opportunities: OpportunitySource,
    pipelines: PipelinesArg,
    *,
    as_of: datetime | None = None,
    by: str | Sequence[str] = (),
    period: Period = "month",
    leads: Iterable[Lead] | None = None,
    tz: tzinfo | str | None = None,
    unknown_stages: UnknownStages = "raise",
) -> Funnel:
    """The funnel of each pipeline in ``pipelines`` from the opportunities' stage history.

    ``opportunities`` is the entities, or a unit of work (its stored
    opportunities; a storage that offers
    :class:`~pipelinekit.analytics.ports.AnalyticsQueries` counts them itself).
    See the module documentation for how skipped stages, lost and reopened
    deals count.  ``by`` slices by ``cohort`` (the period the opportunity was
    created in; ``period=`` picks its length), ``owner`` (the current owner)
    and ``source`` (the channel of the lead it came from: pass ``leads=``, or
    a unit of work, which brings its leads).  With ``as_of=`` only history up
    to that moment counts.  Cohorts are calendar dates in ``tz`` (UTC by
    default).

    ``unknown_stages`` says what to do with an opportunity naming a stage its
    pipeline does not know: ``"raise"`` a :class:`~pipelinekit.ValidationError`
    with every such stage's path, or ``"skip"`` it and count it in ``skipped``
    (see :mod:`pipelinekit.analytics.screening`).
    """
    names = check_by(by, FUNNEL_DIMENSIONS, "funnel")
    check_period(period)
    zone = check_tz(tz)
    moment = aware(as_of, "as_of")
    specs = specs_of(pipelines)
    source = isinstance(opportunities, AnalyticsSource)
    if source and leads is not None:
        raise ValidationError(
            "funnel",
            [Problem("$.leads", "a unit of work brings its own leads: pass leads= with entities")],
        )
    if leads is not None:
        leads = leads_of(leads)

    together = _screened_rows(opportunities, specs, names, moment, period, zone, unknown_stages)
    if together is not None:  # the storage counted and checked in the same queries
        counts, skipped = together
        made = finish_funnel(counts, specs, names, moment, period)
        return attrs.evolve(made, skipped=skipped) if skipped else made
    screen, screened, skipped = screening_for(opportunities, specs, unknown_stages, zone=zone)

    def compute() -> Counts:
        sources: dict[str, str | None] = {}
        if "source" in names:
            sources = sources_of(leads_of(opportunities) if source else leads)
        return _count(
            ((None, opp) for opp in admitted(screen, screened)),
            specs,
            moment,
            lambda opp: tuple(_value(name, opp, sources, period, zone) for name in names),
        )

    counts = aggregated(
        screened,
        lambda queries: queries.funnel_rows(
            specs, entities="opportunities", by=names, as_of=moment, period=period
        ),
        fold_funnel,
        compute,
        zone=zone,
    )
    if screen is not None:
        skipped = screen.finish()
    made = finish_funnel(counts, specs, names, moment, period)
    return attrs.evolve(made, skipped=skipped) if skipped else made


def _screened_rows(
    source: object,
    specs: Mapping[str, PipelineSpec],
    names: tuple[str, ...],
    moment: datetime | None,
    period: Period,
    zone: tzinfo | None,
    mode: UnknownStages,
) -> tuple[Counts, int] | None:
    """The counts and the skipped opportunities from a storage that checks the
    stages in the funnel's own queries (``screened_funnel_rows``), else ``None``."""
    ask = getattr(source, "screened_funnel_rows", None)
    if zone is not None or not isinstance(source, AnalyticsQueries) or not callable(ask):
        return None
    check_mode(mode)
    answer = ask(specs, by=names, as_of=moment, period=period)
    if answer is None:
        return None
    rows, unknown = answer
    if unknown and mode == "raise":
        finder = getattr(source, "unknown_stage_rows", None)
        raise_unknown(finder(specs) if callable(finder) else [])
    return fold_funnel(rows), int(unknown)


def fold_funnel(rows: Iterable[FunnelRow]) -> Counts:
    """Counts from the rows an :class:`~pipelinekit.analytics.ports.AnalyticsQueries` gave."""
    counts: Counts = {}
    for pipeline, segment, level, kind, count in rows:
        key = (pipeline, tuple(segment), int(level), _CODE_OF[kind])
        counts[key] = counts.get(key, 0) + int(count)
    return counts


def lead_funnel(
    leads: LeadSource,
    lifecycle: Pipeline | PipelineSpec = LEAD_LIFECYCLE,
    *,
    as_of: datetime | None = None,
    by: str | Sequence[str] = (),
    period: Period = "month",
    tz: tzinfo | str | None = None,
) -> Funnel:
    """The funnel of leads through their lifecycle (``Lead.status`` and its history).

    ``leads`` is the entities or a unit of work.  Counts like :func:`funnel`:
    the steps are the lifecycle's open stages in order (``new``,
    ``contacted``, ``nurturing``, ``qualified`` for the built-in one) and then
    its won stage (``converted``); a lead qualified straight from ``new``
    counts as having passed ``contacted`` and ``nurturing``; a disqualified
    lead stays counted where it got to; a recycled lead counts once.  Every
    lead counts from its creation, at least in the first step (a lead
    without a recorded entry was in the first status of its history, or in
    its current status, since it was created), so the first step holds as
    many leads as :func:`lead_conversion` counts at the same moment.  ``by``
    slices by ``cohort``, ``owner`` and ``source`` (the lead's channel).
    """
    names = check_by(by, FUNNEL_DIMENSIONS, "lead funnel")
    check_period(period)
    zone = check_tz(tz)
    moment = aware(as_of, "as_of")
    specs = specs_of(lifecycle)
    (key,) = specs
    counts = aggregated(
        leads,
        lambda queries: queries.funnel_rows(
            specs, entities="leads", by=names, as_of=moment, period=period
        ),
        fold_funnel,
        lambda: _count(
            ((key, lead) for lead in leads_of(leads)),
            specs,
            moment,
            lambda lead: tuple(_lead_value(name, lead, period, zone) for name in names),
        ),
        zone=zone,
    )
    return finish_funnel(counts, specs, names, moment, period)


def _count(
    entities: Iterable[tuple[str | None, E]],
    specs: Mapping[str, PipelineSpec],
    moment: datetime | None,
    segment_of: Callable[[E], tuple[str | None, ...]],
) -> Counts:
    """Per entity: the pipeline it is in at the moment, the furthest step of that
    pipeline it reached by then and its stage's kind then; counted.

    ``entities`` pairs each entity with its pipeline for leads (their
    lifecycle) or ``None`` for opportunities (whose history names it).
    """
    steps = {key: step_index(spec) for key, spec in specs.items()}
    kinds = {key: kind_codes(spec) for key, spec in specs.items()}
    tops = {key: len(funnel_steps(spec)) - 1 for key, spec in specs.items()}
    counts: Counts = {}
    for home, entity in entities:
        seen = [v for v in visits(entity, home) if moment is None or v.at <= moment]
        if not seen:
            continue
        pipeline, last = seen[-1].pipeline, seen[-1].stage
        if moment is None:  # now: where it is (the same as its last move, when it has history)
            last = current_stage(entity)
            if home is None and isinstance(entity, Opportunity):
                pipeline = entity.pipeline
        index = steps.get(pipeline)
        if index is None:
            continue
        top = tops[pipeline]
        level = -1
        for visit in seen:
            step = index.get(visit.stage) if visit.pipeline == pipeline else None
            if step is not None and level < step < top:
                level = step
        step = index.get(last)
        if level < 0 and step is not None and step < top:
            level = step
        if home is not None and level < 0:  # a lead starts in the lifecycle's first status
            level = 0
        code = kinds[pipeline].get(last, _OTHER)
        if code == _WON:
            level = top
        if level < 0:
            continue
        key = (pipeline, segment_of(entity), level, code)
        counts[key] = counts.get(key, 0) + 1
    return counts


def _value(
    name: str,
    opp: Opportunity,
    sources: Mapping[str, str | None],
    period: Period,
    zone: tzinfo | None,
) -> str | None:
    if name == "owner":
        return opp.owner
    if name == "cohort":
        return period_label(utc_day(opp.created_at, zone), period)
    return None if opp.lead_id is None else sources.get(opp.lead_id)


def finish_funnel(
    counts: Counts,
    specs: Mapping[str, PipelineSpec],
    names: tuple[str, ...],
    moment: datetime | None,
    period: Period,
) -> Funnel:
    """Turn per-level counts into funnel steps (shared by the in-memory and SQL paths)."""
    grouped: dict[tuple[str, tuple[str | None, ...]], dict[tuple[int, int], int]] = {}
    for (pipeline, segment, level, code), n in counts.items():
        slot = grouped.setdefault((pipeline, segment), {})
        slot[(level, code)] = slot.get((level, code), 0) + n
    if not names:  # an unsliced funnel always shows every pipeline asked for
        for key in specs:
            grouped.setdefault((key, ()), {})
    out: list[FunnelStep] = []
    order = list(specs)
    for pipeline, segment in sorted(
        grouped, key=lambda k: (order.index(k[0]), tuple((v is None, v or "") for v in k[1]))
    ):
        per = grouped[(pipeline, segment)]
        labels = funnel_steps(specs[pipeline])
        top = len(labels) - 1
        at_level = [0] * (top + 1)
        open_at = [0] * (top + 1)
        lost_at = [0] * (top + 1)
        for (level, code), n in per.items():
            at_level[level] += n
            if level < top and code == _OPEN:
                open_at[level] += n
            elif level < top and code == _LOST:
                lost_at[level] += n
        entered = [sum(at_level[i:]) for i in range(top + 1)]
        for i, (stage, label) in enumerate(labels):
            following = entered[i + 1] if i < top else None
            out.append(
                FunnelStep(
                    pipeline,
                    segment,
                    stage,
                    label,
                    entered[i],
                    following,
                    open_at[i],
                    lost_at[i],
                    None if following is None else rate(following, entered[i]),
                    rate(entered[i], entered[0]),
                )
            )
    return Funnel(moment, names, period, tuple(out))


@overload
def lead_conversion(
    source: AnalyticsSource,
    pipelines: PipelinesArg,
    /,
    *,
    as_of: datetime | None = None,
    by: str | Sequence[str] = (),
    period: Period = "month",
    tz: tzinfo | str | None = None,
) -> LeadConversion: ...


@overload
def lead_conversion(
    leads: Iterable[Lead],
    opportunities: Iterable[Opportunity],
    pipelines: PipelinesArg,
    *,
    as_of: datetime | None = None,
    by: str | Sequence[str] = (),
    period: Period = "month",
    tz: tzinfo | str | None = None,
) -> LeadConversion: ...


def lead_conversion(
    leads: Iterable[Lead] | AnalyticsSource,
    opportunities: Iterable[Opportunity] | PipelinesArg,
    pipelines: PipelinesArg | None = None,
    *,
    as_of: datetime | None = None,
    by: str | Sequence[str] = (),
    period: Period = "month",
    tz: tzinfo | str | None = None,
) -> LeadConversion:
    """How many leads became opportunities, and how many of those were won.

    Pass the leads, the opportunities and the pipelines, or a unit of work
    and the pipelines (``lead_conversion(uow, sales)``).  A lead counts once:
    it *converted* if an opportunity linked to it (``Opportunity.lead_id``)
    existed at the moment, and it was *won* if one of them was in a won stage
    of its pipeline then.  ``by`` slices by ``cohort`` (the period the lead
    was created in, as a calendar date in ``tz``, UTC by default), ``owner``
    and ``source`` (the lead's channel).  With
    ``as_of=`` leads and opportunities created later, and moves after it,
    are left out.
    """
    source = leads if isinstance(leads, AnalyticsSource) else None
    if source is not None and pipelines is not None:
        raise ValidationError(
            "lead_conversion",
            [
                Problem(
                    "$.opportunities",
                    "a unit of work brings its own opportunities: "
                    "call lead_conversion(uow, pipelines)",
                )
            ],
        )
    if source is None and pipelines is None:
        raise ValidationError(
            "lead_conversion", [Problem("$.pipelines", "pass the pipelines after the entities")]
        )
    names = check_by(by, LEAD_DIMENSIONS, "lead conversion")
    check_period(period)
    zone = check_tz(tz)
    moment = aware(as_of, "as_of")
    specs = specs_of(opportunities if source is not None else pipelines)
    tallies = aggregated(
        source,
        lambda queries: queries.conversion_rows(specs, by=names, as_of=moment, period=period),
        fold_conversion,
        lambda: _tally_conversion(
            leads_of(leads),
            opportunities_of(source if source is not None else opportunities),
            specs,
            names,
            moment,
            period,
            zone,
        ),
        zone=zone,
    )
    return finish_conversion(tallies, names, moment, period)


def fold_conversion(rows: Iterable[ConversionRow]) -> dict[tuple[str | None, ...], list[int]]:
    """Tallies from the rows an :class:`~pipelinekit.analytics.ports.AnalyticsQueries` gave."""
    tallies: dict[tuple[str | None, ...], list[int]] = {}
    for segment, count, converted, won in rows:
        slot = tallies.setdefault(tuple(segment), [0, 0, 0])
        slot[0] += int(count)
        slot[1] += int(converted)
        slot[2] += int(won)
    return tallies


def _tally_conversion(
    leads: Iterable[Lead],
    opportunities: Iterable[Opportunity],
    specs: Mapping[str, PipelineSpec],
    names: tuple[str, ...],
    moment: datetime | None,
    period: Period,
    zone: tzinfo | None = None,
) -> dict[tuple[str | None, ...], list[int]]:
    kinds = {key: kind_codes(spec) for key, spec in specs.items()}
    status: dict[str, int] = {}  # lead id -> 1 converted, 2 won
    for opp in opportunities:
        if opp.lead_id is None:
            continue
        last = state_at(opp, moment)
        if last is None:
            continue
        codes = kinds.get(last.pipeline)
        won = codes is not None and codes.get(last.stage) == _WON
        status[opp.lead_id] = max(status.get(opp.lead_id, 0), 2 if won else 1)
    tallies: dict[tuple[str | None, ...], list[int]] = {}
    for lead in leads:
        if moment is not None and lead.created_at > moment:
            continue
        segment = tuple(_lead_value(name, lead, period, zone) for name in names)
        slot = tallies.setdefault(segment, [0, 0, 0])
        slot[0] += 1
        reached = status.get(lead.id, 0)
        if reached:
            slot[1] += 1
        if reached == 2:
            slot[2] += 1
    return tallies


def _lead_value(name: str, lead: Lead, period: Period, zone: tzinfo | None) -> str | None:
    if name == "owner":
        return lead.owner
    if name == "cohort":
        return period_label(utc_day(lead.created_at, zone), period)
    return None if lead.source is None else lead.source.channel.value


def finish_conversion(
    tallies: Mapping[tuple[str | None, ...], Sequence[int]],
    names: tuple[str, ...],
    moment: datetime | None,
    period: Period,
) -> LeadConversion:
    """Lines from ``segment -> (leads, converted, won)`` (shared by both paths)."""
    lines = tuple(
        LeadConversionLine(segment, v[0], v[1], v[2])
        for segment, v in sorted(
            tallies.items(), key=lambda kv: tuple((x is None, x or "") for x in kv[0])
        )
    )
    return LeadConversion(moment, names, period, lines)
