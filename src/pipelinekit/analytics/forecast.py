"""The weighted pipeline: amount x probability by category, stage, owner, pipeline and period."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, tzinfo
from decimal import Decimal, localcontext
from typing import Final

import attrs

from ..domain import Opportunity
from ..pipelines import PipelineSpec, StageKind
from ._common import (
    PipelinesArg,
    Rates,
    aggregated,
    aware,
    check_by,
    check_period,
    check_rates,
    check_tz,
    convert,
    opportunities_of,
    probability_at,
    specs_of,
    state_at,
    utc_day,
)
from .errors import MissingRate
from .ports import ForecastRow, OpportunitySource, Period, period_label
from .results import Forecast, ForecastLine, plain_amount
from .screening import Screen, UnknownStages, screening_for

__all__ = ["FORECAST_DIMENSIONS", "forecast"]

#: The dimensions a forecast can be sliced by.
FORECAST_DIMENSIONS: Final = ("category", "stage", "owner", "pipeline", "period")

_HUNDRED: Final = Decimal(100)
_OPEN, _WON, _LOST = 0, 1, 2
_KIND_CODE = {StageKind.OPEN: _OPEN, StageKind.WON: _WON, StageKind.LOST: _LOST}
#: A stage its definition does not have counts as open (weighing its probability, 0).
_ROW_CODE: dict[StageKind | None, int] = {
    StageKind.OPEN: _OPEN,
    StageKind.WON: _WON,
    StageKind.LOST: _LOST,
    None: _OPEN,
}

#: ``(key, currency, kind code, probability) -> [deals, amount sum]`` (see :func:`finish`).
Groups = dict[tuple[tuple[str | None, ...], str | None, int, Decimal], list[int | Decimal]]


def stage_table(
    specs: Mapping[str, PipelineSpec],
) -> dict[tuple[str, str], tuple[int, str, Decimal]]:
    """``(pipeline, stage) -> (kind code, forecast category, default probability)``."""
    return {
        (key, stage.key): (_KIND_CODE[stage.kind], stage.forecast, stage.probability)
        for key, spec in specs.items()
        for stage in spec.stages
    }


#: What a stage missing from its definition counts as: open, omitted, weighing nothing.
UNKNOWN_STAGE: Final = (_OPEN, "omitted", Decimal(0))


def forecast(
    opportunities: OpportunitySource,
    pipelines: PipelinesArg,
    *,
    by: str | Sequence[str] = ("category",),
    as_of: datetime | None = None,
    period: Period = "month",
    rates: Rates | None = None,
    currency: str | None = None,
    tz: tzinfo | str | None = None,
    unknown_stages: UnknownStages = "raise",
) -> Forecast:
    """The weighted pipeline of ``opportunities``, sliced by ``by``.

    ``opportunities`` is the entities, or a unit of work (its stored
    opportunities; a storage that offers
    :class:`~pipelinekit.analytics.ports.AnalyticsQueries` groups and sums them itself).
    ``by`` takes any of ``category`` (the stage's forecast category),
    ``stage``, ``owner``, ``pipeline`` and ``period`` (the expected close date's
    period for open deals, the close date's for closed ones; ``period=`` picks
    day, week, month, quarter or year; a closed deal's date is taken in
    ``tz``, UTC by default, so a deal won at 20:00 in New York on 31 January
    is in February unless ``tz="America/New_York"``).  Only opportunities of
    the given ``pipelines`` count.

    Open deals add ``amount x probability / 100`` to ``weighted``; won deals
    add their amount to ``booked``; lost deals weigh nothing (they are only
    counted).  With ``as_of=`` the stage each deal was in at that moment is
    read from its history with the pipeline it was in then (deals created
    later are left out), and an open deal weighs the probability in force
    then: the manual or automated probability recorded in its
    ``probability_history``, else the stage's default (its own probability
    when nothing was recorded after ``as_of``).  Amounts, owners and expected
    close dates are the current ones.

    Every line keeps its currency, so several currencies are never added:
    pass ``rates`` (``{"USD": Decimal("0.92")}``: how many ``currency`` one
    unit is worth) with ``currency="EUR"`` to convert everything.

    ``unknown_stages`` says what to do with an opportunity naming a stage its
    pipeline does not know: ``"raise"`` a :class:`~pipelinekit.ValidationError`
    with every such stage's path, or ``"skip"`` it and count it in ``skipped``
    (see :mod:`pipelinekit.analytics.screening`).
    """
    names = check_by(by, FORECAST_DIMENSIONS, "forecast")
    check_period(period)
    moment = aware(as_of, "as_of")
    specs = specs_of(pipelines)
    checked, currency = check_rates(rates, currency)
    zone = check_tz(tz)
    screen, screened, skipped = screening_for(opportunities, specs, unknown_stages, zone=zone)
    groups = aggregated(
        screened,
        lambda queries: queries.forecast_rows(specs, by=names, as_of=moment, period=period),
        fold_forecast,
        lambda: _group(opportunities_of(screened), specs, names, moment, period, zone, screen),
        zone=zone,
    )
    if screen is not None:
        skipped = screen.finish()
    made = finish(groups, names, moment, period, checked, currency)
    return attrs.evolve(made, skipped=skipped) if skipped else made


def fold_forecast(rows: Iterable[ForecastRow]) -> Groups:
    """Groups from the rows an :class:`~pipelinekit.analytics.ports.AnalyticsQueries` gave."""
    groups: Groups = {}
    for key, currency, kind, probability, deals, amount in rows:
        gkey = (tuple(key), currency, _ROW_CODE[kind], Decimal(probability))
        slot = groups.get(gkey)
        if slot is None:
            groups[gkey] = [int(deals), Decimal(amount)]
        else:
            slot[0] += int(deals)
            slot[1] += Decimal(amount)
    return groups


def _group(
    opportunities: Iterable[Opportunity],
    specs: Mapping[str, PipelineSpec],
    names: tuple[str, ...],
    moment: datetime | None,
    period: Period,
    zone: tzinfo | None = None,
    screen: Screen | None = None,
) -> Groups:
    """Deals and amount sums per (key, currency, kind, probability), in one pass.

    With ``screen``, each opportunity's stages are checked in the same pass (now:
    an unknown current stage is the stage table's miss; the history is read
    only for that check)."""
    if screen is not None and moment is not None:  # the history is read for the state anyway
        opportunities = screen.admitted(opportunities)
        screen = None
    history_known = screen.history_known if screen is not None else None
    groups: Groups = {}
    table = stage_table(specs)
    zero = Decimal(0)
    # Keys made of stage facts only (category, stage, pipeline) are built once per stage.
    static = not {"owner", "period"} & set(names)
    fixed = {
        pair: _stage_key(names, pair[0], pair[1], category) if static else ()
        for pair, (_, category, _) in table.items()
    }
    for position, opp in enumerate(opportunities):
        since: datetime | None = None
        if moment is None:
            pipeline, stage = opp.pipeline, opp.stage
            state = None
            if history_known is not None and not history_known(opp):
                assert screen is not None
                if screen.reject(opp, position):
                    continue
        else:
            state = state_at(opp, moment)
            if state is None:
                continue
            pipeline, stage, since = state
        if pipeline not in specs:
            continue
        pair = (pipeline, stage)
        info = table.get(pair)
        if info is None and screen is not None and screen.reject(opp, position):
            continue
        if info is None:  # a stage its definition does not have: omitted, weighing nothing
            code, category, probability = UNKNOWN_STAGE
        elif info[0] != _OPEN:
            code, category, _ = info
            probability = _HUNDRED if code == _WON else zero
        else:
            code, category, _ = info
            if state is None:
                probability = opp.probability
            else:
                probability = probability_at(opp, specs[pipeline], state, moment)
        if static and info is not None:
            key = fixed[pair]
        else:
            key = _key(names, opp, pipeline, category, stage, code, since, period, zone)
        amount = opp.amount
        gkey: tuple[tuple[str | None, ...], str | None, int, Decimal]
        if amount is None:
            gkey = (key, None, code, probability)
            slot = groups.get(gkey)
            if slot is None:
                groups[gkey] = [1, zero]
            else:
                slot[0] += 1
            continue
        gkey = (key, amount.currency, code, probability)
        slot = groups.get(gkey)
        if slot is None:
            groups[gkey] = [1, amount.amount]
        else:
            slot[0] += 1
            slot[1] += amount.amount
    return groups


def _stage_key(
    names: tuple[str, ...], pipeline: str, stage: str, category: str
) -> tuple[str | None, ...]:
    values = {"category": category, "stage": stage, "pipeline": pipeline}
    return tuple(values[name] for name in names)


def _key(
    names: tuple[str, ...],
    opp: Opportunity,
    pipeline: str,
    category: str,
    stage: str,
    code: int,
    since: datetime | None,
    period: Period,
    zone: tzinfo | None,
) -> tuple[str | None, ...]:
    out: list[str | None] = []
    for name in names:
        if name == "category":
            out.append(category)
        elif name == "stage":
            out.append(stage)
        elif name == "owner":
            out.append(opp.owner)
        elif name == "pipeline":
            out.append(pipeline)
        else:
            out.append(_period_of(opp, code, since, period, zone))
    return tuple(out)


def _period_of(
    opp: Opportunity, code: int, since: datetime | None, period: Period, zone: tzinfo | None
) -> str | None:
    if code == _OPEN:
        return None if opp.expected_close is None else period_label(opp.expected_close, period)
    if since is None:  # now: the entry into the current stage
        since = opp.history[-1].at if opp.history else opp.created_at
    return period_label(utc_day(since, zone), period)


def finish(
    groups: Groups,
    names: tuple[str, ...],
    moment: datetime | None,
    period: Period,
    rates: Mapping[str, Decimal] | None,
    target: str | None,
) -> Forecast:
    """Turn grouped sums into forecast lines (shared by the in-memory and SQL paths)."""
    lines: dict[tuple[tuple[str | None, ...], str | None], list[int | Decimal]] = {}
    if rates is not None and target is not None:
        # name the same missing rate whatever order the groups came in (memory or SQL)
        missing = {c for _, c, _, _ in groups if c is not None and c != target and c not in rates}
        if missing:
            raise MissingRate(min(missing), target)
    with localcontext() as context:
        context.prec = 60
        for (key, code_currency, code, probability), (deals, amount) in groups.items():
            currency = code_currency
            value = Decimal(amount)
            if currency is not None and rates is not None and target is not None:
                value = convert(value, currency, rates, target)
                currency = target
            line = lines.setdefault((key, currency), [0, Decimal(0), Decimal(0), 0, Decimal(0), 0])
            if code == _WON:
                line[3] += int(deals)
                line[4] += value
            elif code == _LOST:
                line[5] += int(deals)
            else:
                line[0] += int(deals)
                line[1] += value
                line[2] += value * probability / _HUNDRED
    out = tuple(
        ForecastLine(
            key,
            currency,
            int(v[0]),
            plain_amount(v[1]),
            plain_amount(v[2]),
            int(v[3]),
            plain_amount(v[4]),
            int(v[5]),
        )
        for (key, currency), v in sorted(lines.items(), key=_order)
    )
    return Forecast(moment, names, period, target if rates is not None else None, out)


def _order(item: tuple[tuple[tuple[str | None, ...], str | None], object]) -> tuple[object, ...]:
    (key, currency), _ = item
    return (tuple((v is None, v or "") for v in key), currency is None, currency or "")
