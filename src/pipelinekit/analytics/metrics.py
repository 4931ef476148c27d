"""Win rate, average deal size, sales cycle length and sales velocity over a period."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal, localcontext
from typing import Final, Literal

import attrs

from ..clock import ensure_aware
from ..domain import Money, Opportunity
from ..errors import Problem, ValidationError
from ..pipelines import PipelineSpec, StageKind
from ._common import (
    PipelinesArg,
    Rates,
    aggregated,
    check_by,
    check_rates,
    convert,
    opportunities_of,
    specs_of,
    visits,
)
from .errors import MixedCurrencies
from .ports import MetricsRow, OpportunitySource
from .results import SalesMetrics, SalesMetricsLine, plain_amount
from .screening import UnknownStages, screen_stages

__all__ = ["METRIC_DIMENSIONS", "VELOCITY_DEFINITIONS", "Tally", "Velocity", "sales_metrics"]

#: The dimensions sales metrics can be sliced by.
METRIC_DIMENSIONS: Final = ("owner", "pipeline")
#: How sales velocity is computed: ``standard`` (open opportunities at the end of
#: the period) or ``created`` (opportunities created in the period).
Velocity = Literal["standard", "created"]
VELOCITY_DEFINITIONS: Final = ("standard", "created")

_MICRO: Final = timedelta(microseconds=1)
_DAY_US: Final = Decimal(86_400_000_000)


class Tally:
    """Raw sums for one segment (shared by the in-memory and SQL paths)."""

    __slots__ = ("created", "cycle_us", "lost", "open", "won", "won_amounts", "won_priced")

    def __init__(self) -> None:
        self.created = 0
        self.open = 0
        self.won = 0
        self.lost = 0
        self.cycle_us = 0
        self.won_amounts: dict[str, Decimal] = {}
        self.won_priced: dict[str, int] = {}

    def add_won(self, currency: str | None, amount: Decimal | None, count: int = 1) -> None:
        """Add won deals (their amount sum, if they have amounts)."""
        if currency is None or amount is None:
            return
        self.won_amounts[currency] = self.won_amounts.get(currency, Decimal(0)) + amount
        self.won_priced[currency] = self.won_priced.get(currency, 0) + count


def sales_metrics(
    opportunities: OpportunitySource,
    pipelines: PipelinesArg,
    *,
    start: datetime,
    end: datetime,
    by: str | Sequence[str] = (),
    rates: Rates | None = None,
    currency: str | None = None,
    velocity: Velocity = "standard",
    unknown_stages: UnknownStages = "raise",
) -> SalesMetrics:
    """Win rate, average deal size, sales cycle length and velocity over ``[start, end)``.

    ``opportunities`` is the entities, or a unit of work (a storage that
    offers :class:`~pipelinekit.analytics.ports.AnalyticsQueries` sums them itself).

    * ``created``: opportunities created in the period;
    * ``won`` / ``lost``: opportunities whose close (entering a won or lost
      stage) happened in the period and that were still closed at ``end``;
    * ``win_rate = won / (won + lost)``;
    * ``average_deal``: mean amount of the won deals that have an amount;
    * ``cycle``: mean time from creation to close of the won deals;
    * ``velocity`` (money per day), by default the standard formula
      ``open x average_deal x win_rate / cycle`` where ``open`` counts the
      opportunities in an open stage at ``end`` and ``cycle`` is in days
      (the figure Salesforce and HubSpot velocity reports give);
      ``velocity="created"`` uses the opportunities created in the period
      instead of the open ones (the definition of earlier releases, which
      grows with the length of the period).  ``None`` without a won deal with
      an amount or with a cycle of 0; rounded to cents (half even).

    Only history before ``end`` counts, so a past period gives the figures it
    had then (with current amounts).  Amounts in several currencies need
    ``rates`` and ``currency``; otherwise :class:`MixedCurrencies` is raised.
    ``by`` slices by ``owner`` or ``pipeline``.
    """
    names = check_by(by, METRIC_DIMENSIONS, "metrics")
    if velocity not in VELOCITY_DEFINITIONS:
        raise ValidationError(
            "velocity",
            [
                Problem(
                    "$.velocity",
                    f"must be one of {', '.join(VELOCITY_DEFINITIONS)}; got {velocity!r}",
                )
            ],
        )
    lo, hi = check_span(start, end)
    specs = specs_of(pipelines)
    checked, currency = check_rates(rates, currency)
    screened, skipped = screen_stages(opportunities, specs, unknown_stages)
    tallies = aggregated(
        screened,
        lambda queries: queries.metrics_rows(specs, by=names, start=lo, end=hi),
        fold_metrics,
        lambda: _tally(opportunities_of(screened), specs, names, lo, hi),
    )
    made = finish_metrics(tallies, names, lo, hi, checked, currency, velocity)
    return attrs.evolve(made, skipped=skipped) if skipped else made


def fold_metrics(rows: Iterable[MetricsRow]) -> dict[tuple[str | None, ...], Tally]:
    """Tallies from the rows an :class:`~pipelinekit.analytics.ports.AnalyticsQueries` gave."""
    tallies: dict[tuple[str | None, ...], Tally] = {}
    for row in rows:
        segment, created, won, lost, cycle_us, currency, amount, priced, *rest = row
        tally = tallies.setdefault(tuple(segment), Tally())
        tally.created += int(created)
        tally.open += int(rest[0]) if rest else 0
        tally.won += int(won)
        tally.lost += int(lost)
        tally.cycle_us += int(cycle_us)
        if int(priced):
            tally.add_won(currency, Decimal(amount), int(priced))
    return tallies


def _tally(
    opportunities: Iterable[Opportunity],
    specs: Mapping[str, PipelineSpec],
    names: tuple[str, ...],
    lo: datetime,
    hi: datetime,
) -> dict[tuple[str | None, ...], Tally]:
    kinds = {(key, stage.key): stage.kind for key, spec in specs.items() for stage in spec.stages}
    tallies: dict[tuple[str | None, ...], Tally] = {}
    for opp in opportunities:
        seen = visits(opp)
        before = [v for v in seen if v.at < hi]
        # the pipeline it was in at the end of the period (where it began, if not yet recorded)
        pipeline = (before[-1] if before else seen[0]).pipeline
        if pipeline not in specs:
            continue
        segment = tuple(opp.owner if name == "owner" else pipeline for name in names)
        created = opp.created_at
        tally: Tally | None = None
        if lo <= created < hi:
            tally = tallies.setdefault(segment, Tally())
            tally.created += 1
        last = (before[-1].stage, before[-1].at) if before else None
        if last is not None and kinds.get((pipeline, last[0])) is StageKind.OPEN:
            tally = tally or tallies.setdefault(segment, Tally())
            tally.open += 1
        if last is None or last[1] < lo:
            continue
        kind = kinds.get((pipeline, last[0]))
        if kind is StageKind.WON:
            tally = tally or tallies.setdefault(segment, Tally())
            tally.won += 1
            tally.cycle_us += (last[1] - created) // _MICRO
            amount = opp.amount
            if amount is not None:
                tally.add_won(amount.currency, amount.amount)
        elif kind is StageKind.LOST:
            tally = tally or tallies.setdefault(segment, Tally())
            tally.lost += 1
    return tallies


def check_span(start: datetime, end: datetime) -> tuple[datetime, datetime]:
    """Both aware and ``start < end``."""
    lo, hi = ensure_aware(start, "start"), ensure_aware(end, "end")
    if not lo < hi:
        raise ValidationError("period", [Problem("$.end", "must be after start")])
    return lo, hi


def finish_metrics(
    tallies: Mapping[tuple[str | None, ...], Tally],
    names: tuple[str, ...],
    start: datetime,
    end: datetime,
    rates: Mapping[str, Decimal] | None,
    target: str | None,
    definition: Velocity = "standard",
) -> SalesMetrics:
    """Compute the metrics from raw tallies (shared by the in-memory and SQL paths)."""
    if rates is None:
        found = {code for t in tallies.values() for code in t.won_amounts}
        if len(found) > 1:
            raise MixedCurrencies(found, "won amount")
    lines = []
    with localcontext() as context:
        context.prec = 60
        for segment, t in sorted(
            tallies.items(), key=lambda kv: tuple((x is None, x or "") for x in kv[0])
        ):
            total = Decimal(0)
            priced = 0
            code: str | None = None
            for cur, amount in t.won_amounts.items():
                if rates is not None and target is not None:
                    amount = convert(amount, cur, rates, target)
                    cur = target
                total += amount
                code = cur
            priced = sum(t.won_priced.values())
            won_amount = None if code is None else Money(plain_amount(total), code)
            average = None if code is None or not priced else Money(total / priced, code).rounded()
            cycle = None
            velocity = None
            if t.won:
                mean_us = (Decimal(t.cycle_us) / t.won).quantize(Decimal(1), ROUND_HALF_EVEN)
                cycle = timedelta(microseconds=int(mean_us))
                if code is not None and priced and t.cycle_us > 0:
                    count = t.open if definition == "standard" else t.created
                    exact = (
                        Decimal(count)
                        * (total / priced)
                        * Decimal(t.won)
                        / Decimal(t.won + t.lost)
                        / (Decimal(t.cycle_us) / t.won / _DAY_US)
                    )
                    velocity = Money(exact, code).rounded()
            lines.append(
                SalesMetricsLine(
                    segment, t.created, t.won, t.lost, won_amount, average, cycle, velocity
                )
            )
    if not names and not lines:
        lines.append(SalesMetricsLine((), 0, 0, 0, None, None, None, None))
    return SalesMetrics(start, end, names, tuple(lines))
