"""The typed results of every analytics report (one family), as rows and dicts.

Every result is an immutable value with a ``columns`` tuple; ``to_rows()``
gives one tuple per line in that column order and ``to_dicts()`` one dict per
line, ready for ``csv.writer``, a spreadsheet or ``pandas.DataFrame(...)``
(pipelinekit itself never imports pandas).  Money is split into an exact
``Decimal`` amount and a ``currency`` column; rates are ``Decimal`` fractions
(``0.25`` is 25 %) rounded to four places; durations are ``Decimal`` days
rounded to two places.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any, ClassVar

import attrs

from ..domain import Money
from .errors import MixedCurrencies

__all__ = [
    "Forecast",
    "ForecastLine",
    "Funnel",
    "FunnelStep",
    "LeadConversion",
    "LeadConversionLine",
    "SalesMetrics",
    "SalesMetricsLine",
    "StageTime",
    "StageTimes",
    "StaleDeal",
    "StaleDeals",
]

_RATE = Decimal("0.0001")
_DAYS = Decimal("0.01")
_DAY_US = Decimal(86_400_000_000)


_CENT = Decimal("0.01")


def plain_amount(value: int | Decimal) -> Decimal:
    """One spelling for equal sums whichever path computed them: cents, or as many places
    as the value needs."""
    d = Decimal(value)
    cents = d.quantize(_CENT)
    return cents if cents == d else d.normalize()


def rate(part: int, whole: int) -> Decimal | None:
    """``part / whole`` rounded to four places (``None`` when ``whole`` is 0)."""
    if whole == 0:
        return None
    return (Decimal(part) / Decimal(whole)).quantize(_RATE, ROUND_HALF_EVEN)


def days(value: timedelta | None) -> Decimal | None:
    """A duration in days, rounded to two places."""
    if value is None:
        return None
    micros = (value.days * 86_400 + value.seconds) * 1_000_000 + value.microseconds
    return (Decimal(micros) / _DAY_US).quantize(_DAYS, ROUND_HALF_EVEN)


class _Table:
    """Common behaviour: ``columns``, ``to_rows()``, ``to_dicts()``, iteration, ``len``."""

    @property
    def columns(self) -> tuple[str, ...]:
        """The row layout: the names of a row's values, in order."""
        raise NotImplementedError

    def _lines(self) -> Sequence[Any]:
        raise NotImplementedError

    def to_rows(self) -> list[tuple[Any, ...]]:
        """One plain tuple per line, in :attr:`columns` order (no header row)."""
        return [line.row() for line in self._lines()]

    def to_dicts(self) -> list[dict[str, Any]]:
        """One dict per line, keyed by :attr:`columns`."""
        names = self.columns
        return [dict(zip(names, line.row(), strict=True)) for line in self._lines()]

    def __iter__(self) -> Iterator[Any]:
        return iter(self._lines())

    def __len__(self) -> int:
        return len(self._lines())


# -- forecast -----------------------------------------------------------------------------------


@attrs.frozen
class ForecastLine:
    """One slice of a forecast, in one currency.

    ``key`` holds the values of the forecast's ``by`` dimensions (``None`` for
    a missing owner or expected close date).  ``weighted`` is the sum of
    amount x probability over the open deals, ``open_amount`` their plain sum;
    ``booked`` is the amount of the won deals; lost deals are only counted
    (they weigh nothing).  Deals without an amount are counted but add nothing.
    """

    key: tuple[str | None, ...]
    currency: str | None
    open_deals: int
    open_amount: Decimal
    weighted: Decimal
    won_deals: int
    booked: Decimal
    lost_deals: int

    @property
    def expected(self) -> Decimal:
        """``booked + weighted``: what the slice is expected to bring in."""
        return self.booked + self.weighted

    def row(self) -> tuple[Any, ...]:
        """The line as a plain tuple (see :attr:`Forecast.columns`)."""
        return (
            *self.key,
            self.currency,
            self.open_deals,
            self.open_amount,
            self.weighted,
            self.won_deals,
            self.booked,
            self.lost_deals,
        )


_FORECAST_VALUES = ("open_amount", "weighted", "booked", "expected")


@attrs.frozen
class Forecast(_Table):
    """The weighted pipeline, sliced by ``by`` (see :func:`~pipelinekit.analytics.forecast`).

    ``lines`` are sorted by key then currency.  Amounts keep their currency
    unless the forecast was made with ``rates=`` (then every line is in
    ``currency``); deals without an amount are counted on lines whose
    currency is ``None``.  :meth:`total` refuses to add several currencies.
    """

    as_of: datetime | None
    by: tuple[str, ...]
    period: str
    currency: str | None
    lines: tuple[ForecastLine, ...]
    #: Opportunities left out because a stage they name is unknown to their
    #: pipeline (``unknown_stages="skip"``; 0 otherwise).
    skipped: int = 0

    @property
    def columns(self) -> tuple[str, ...]:
        """The row layout: the ``by`` dimensions, then currency and the figures."""
        return (
            *self.by,
            "currency",
            "open_deals",
            "open_amount",
            "weighted",
            "won_deals",
            "booked",
            "lost_deals",
        )

    def _lines(self) -> Sequence[ForecastLine]:
        return self.lines

    def currencies(self) -> tuple[str, ...]:
        """Every currency that appears, sorted (deals without an amount have none)."""
        return tuple(sorted({line.currency for line in self.lines if line.currency is not None}))

    def totals_by_currency(self, value: str = "weighted") -> dict[str, Money]:
        """The sum of ``value`` (``weighted``, ``open_amount``, ``booked`` or ``expected``)
        per currency."""
        if value not in _FORECAST_VALUES:
            raise ValueError(f"value must be one of {', '.join(_FORECAST_VALUES)}; got {value!r}")
        sums: dict[str, Decimal] = {}
        for line in self.lines:
            if line.currency is None:  # deals without an amount
                continue
            sums[line.currency] = sums.get(line.currency, Decimal(0)) + getattr(line, value)
        return {code: Money(amount, code) for code, amount in sorted(sums.items())}

    def total(self, value: str = "weighted") -> Money | None:
        """The sum of ``value`` over every line as one amount.

        ``None`` when there are no amounts at all; raises
        :class:`~pipelinekit.analytics.MixedCurrencies` when the lines hold
        several currencies (forecast with ``rates=`` and ``currency=`` to
        convert, or use :meth:`totals_by_currency`).
        """
        totals = self.totals_by_currency(value)
        if len(totals) > 1:
            raise MixedCurrencies(totals, f"{value} total")
        return next(iter(totals.values()), None)

    def where(self, **values: str | None) -> Forecast:
        """The lines whose dimensions equal ``values`` (``forecast.where(stage="proposal")``)."""
        unknown = set(values) - set(self.by)
        if unknown:
            raise ValueError(f"not a dimension of this forecast: {', '.join(sorted(unknown))}")
        positions = {self.by.index(name): wanted for name, wanted in values.items()}
        kept = tuple(
            line
            for line in self.lines
            if all(line.key[i] == wanted for i, wanted in positions.items())
        )
        return attrs.evolve(self, lines=kept)


# -- funnel -------------------------------------------------------------------------------------


@attrs.frozen
class FunnelStep:
    """One stage of a funnel for one pipeline and segment.

    ``entered`` counts the distinct opportunities that reached this stage or
    a later one (a skipped stage counts as passed; a reopened deal counts
    once).  ``conversion`` is the share of them that reached the next step,
    ``from_start`` the share of the first step's opportunities that got here.
    Of those that went no further (``drop_off``), ``lost`` were lost and
    ``open`` are still open here.  The last step is the won step.
    """

    pipeline: str
    segment: tuple[str | None, ...]
    stage: str
    label: str
    entered: int
    next_entered: int | None
    open: int
    lost: int
    conversion: Decimal | None
    from_start: Decimal | None

    @property
    def drop_off(self) -> int:
        """How many went no further than this step (0 for the won step)."""
        return 0 if self.next_entered is None else self.entered - self.next_entered

    def row(self) -> tuple[Any, ...]:
        """The step as a plain tuple (see :attr:`Funnel.columns`)."""
        return (
            self.pipeline,
            *self.segment,
            self.stage,
            self.label,
            self.entered,
            self.conversion,
            self.from_start,
            self.drop_off,
            self.open,
            self.lost,
        )


@attrs.frozen
class Funnel(_Table):
    """Conversion through the stages of one or more pipelines, from the stage history.

    ``steps`` run in stage order per pipeline and segment (the values of the
    ``by`` dimensions).  See :func:`~pipelinekit.analytics.funnel`.
    """

    as_of: datetime | None
    by: tuple[str, ...]
    period: str
    steps: tuple[FunnelStep, ...]
    #: Opportunities left out because a stage they name is unknown to their
    #: pipeline (``unknown_stages="skip"``; 0 otherwise).
    skipped: int = 0

    @property
    def columns(self) -> tuple[str, ...]:
        """The row layout."""
        return (
            "pipeline",
            *self.by,
            "stage",
            "label",
            "entered",
            "conversion",
            "from_start",
            "drop_off",
            "open",
            "lost",
        )

    def _lines(self) -> Sequence[FunnelStep]:
        return self.steps

    def segments(self) -> dict[tuple[str | None, ...], tuple[FunnelStep, ...]]:
        """``(pipeline, *segment) -> steps``, in order."""
        out: dict[tuple[str | None, ...], list[FunnelStep]] = {}
        for step in self.steps:
            out.setdefault((step.pipeline, *step.segment), []).append(step)
        return {key: tuple(steps) for key, steps in out.items()}

    def entered(
        self, pipeline: str | None = None, segment: tuple[str | None, ...] = ()
    ) -> dict[str, int]:
        """``stage -> entered`` for one pipeline (the only one if not named) and segment."""
        pipelines = {step.pipeline for step in self.steps}
        if pipeline is None:
            if len(pipelines) > 1:
                raise ValueError(f"name one pipeline of {', '.join(sorted(pipelines))}")
            pipeline = next(iter(pipelines), None)
        return {
            step.stage: step.entered
            for step in self.steps
            if step.pipeline == pipeline and step.segment == segment
        }


@attrs.frozen
class LeadConversionLine:
    """Leads of one segment, and how many became opportunities and customers (won)."""

    segment: tuple[str | None, ...]
    leads: int
    opportunities: int
    won: int

    @property
    def lead_to_opportunity(self) -> Decimal | None:
        """Share of the leads converted into an opportunity."""
        return rate(self.opportunities, self.leads)

    @property
    def opportunity_to_won(self) -> Decimal | None:
        """Share of the converted leads whose opportunity is won."""
        return rate(self.won, self.opportunities)

    @property
    def lead_to_won(self) -> Decimal | None:
        """Share of the leads that became customers (sales guides' "1 in 25")."""
        return rate(self.won, self.leads)

    def row(self) -> tuple[Any, ...]:
        """The line as a plain tuple (see :attr:`LeadConversion.columns`)."""
        return (
            *self.segment,
            self.leads,
            self.opportunities,
            self.won,
            self.lead_to_opportunity,
            self.opportunity_to_won,
            self.lead_to_won,
        )


@attrs.frozen
class LeadConversion(_Table):
    """Lead -> opportunity -> won per segment (:func:`~pipelinekit.analytics.lead_conversion`)."""

    as_of: datetime | None
    by: tuple[str, ...]
    period: str
    lines: tuple[LeadConversionLine, ...]

    @property
    def columns(self) -> tuple[str, ...]:
        """The row layout."""
        return (
            *self.by,
            "leads",
            "opportunities",
            "won",
            "lead_to_opportunity",
            "opportunity_to_won",
            "lead_to_won",
        )

    def _lines(self) -> Sequence[LeadConversionLine]:
        return self.lines


# -- sales metrics ------------------------------------------------------------------------------


@attrs.frozen
class SalesMetricsLine:
    """Win rate, deal size, cycle length and velocity of one segment over the period.

    ``created`` counts the opportunities created in the period; ``won`` and
    ``lost`` those closed in it.  ``win_rate = won / (won + lost)``;
    ``average_deal`` is the mean amount of the won deals; ``cycle`` the mean
    time from creation to close of the won deals; ``velocity`` is, by
    default, ``open x average_deal x win_rate / cycle`` in money per day
    (``open``: opportunities open at the end of the period; see
    :func:`~pipelinekit.analytics.sales_metrics` for ``velocity="created"``).
    """

    segment: tuple[str | None, ...]
    created: int
    won: int
    lost: int
    won_amount: Money | None
    average_deal: Money | None
    cycle: timedelta | None
    velocity: Money | None

    @property
    def win_rate(self) -> Decimal | None:
        """``won / (won + lost)``, four places; ``None`` when nothing closed."""
        return rate(self.won, self.won + self.lost)

    def row(self) -> tuple[Any, ...]:
        """The line as a plain tuple (see :attr:`SalesMetrics.columns`)."""
        money = self.won_amount or self.average_deal or self.velocity
        return (
            *self.segment,
            None if money is None else money.currency,
            self.created,
            self.won,
            self.lost,
            self.win_rate,
            None if self.won_amount is None else self.won_amount.amount,
            None if self.average_deal is None else self.average_deal.amount,
            days(self.cycle),
            None if self.velocity is None else self.velocity.amount,
        )


@attrs.frozen
class SalesMetrics(_Table):
    """Sales metrics over ``[start, end)`` (see :func:`~pipelinekit.analytics.sales_metrics`)."""

    start: datetime
    end: datetime
    by: tuple[str, ...]
    lines: tuple[SalesMetricsLine, ...]
    #: Opportunities left out because a stage they name is unknown to their
    #: pipeline (``unknown_stages="skip"``; 0 otherwise).
    skipped: int = 0

    @property
    def columns(self) -> tuple[str, ...]:
        """The row layout."""
        return (
            *self.by,
            "currency",
            "created",
            "won",
            "lost",
            "win_rate",
            "won_amount",
            "average_deal",
            "cycle_days",
            "velocity_per_day",
        )

    def _lines(self) -> Sequence[SalesMetricsLine]:
        return self.lines

    @property
    def overall(self) -> SalesMetricsLine:
        """The single line of an unsliced report."""
        if self.by or len(self.lines) != 1:
            raise ValueError("this report is sliced: read .lines")
        return self.lines[0]


# -- time in stage ------------------------------------------------------------------------------


@attrs.frozen
class StageTime:
    """Time spent per visit of one stage: ``visits`` counted, mean, median and 90th percentile."""

    pipeline: str
    stage: str
    label: str
    visits: int
    mean: timedelta | None
    median: timedelta | None
    p90: timedelta | None

    def row(self) -> tuple[Any, ...]:
        """The line as a plain tuple (see :attr:`StageTimes.columns`)."""
        return (
            self.pipeline,
            self.stage,
            self.label,
            self.visits,
            days(self.mean),
            days(self.median),
            days(self.p90),
        )


@attrs.frozen
class StageTimes(_Table):
    """Time in stage per open stage (see :func:`~pipelinekit.analytics.time_in_stages`)."""

    as_of: datetime | None
    lines: tuple[StageTime, ...]
    #: Opportunities left out because a stage they name is unknown to their
    #: pipeline (``unknown_stages="skip"``; 0 otherwise).
    skipped: int = 0
    columns: ClassVar[tuple[str, ...]] = (
        "pipeline",
        "stage",
        "label",
        "visits",
        "mean_days",
        "median_days",
        "p90_days",
    )

    def _lines(self) -> Sequence[StageTime]:
        return self.lines

    def get(self, stage: str, pipeline: str | None = None) -> StageTime:
        """The line of ``stage`` (in ``pipeline`` when several are reported)."""
        for line in self.lines:
            if line.stage == stage and (pipeline is None or line.pipeline == pipeline):
                return line
        raise KeyError(stage)


@attrs.frozen
class StaleDeal:
    """An open opportunity that has sat in its stage longer than the stage's ``rotting_days``."""

    opportunity_id: str
    pipeline: str
    stage: str
    owner: str | None
    entered_at: datetime
    in_stage: timedelta
    rotting_days: int

    @property
    def overdue(self) -> timedelta:
        """How far past the threshold it is."""
        return self.in_stage - timedelta(days=self.rotting_days)

    def row(self) -> tuple[Any, ...]:
        """The deal as a plain tuple (see :attr:`StaleDeals.columns`)."""
        return (
            self.opportunity_id,
            self.pipeline,
            self.stage,
            self.owner,
            self.entered_at,
            days(self.in_stage),
            self.rotting_days,
            days(self.overdue),
        )


@attrs.frozen
class StaleDeals(_Table):
    """Stale deals, most overdue first (see :func:`~pipelinekit.analytics.stale_deals`)."""

    as_of: datetime
    deals: tuple[StaleDeal, ...]
    columns: ClassVar[tuple[str, ...]] = (
        "opportunity_id",
        "pipeline",
        "stage",
        "owner",
        "entered_at",
        "days_in_stage",
        "rotting_days",
        "days_overdue",
    )
    #: Opportunities left out because a stage they name is unknown to their
    #: pipeline (``unknown_stages="skip"``; 0 otherwise).
    skipped: int = 0

    def _lines(self) -> Sequence[StaleDeal]:
        return self.deals
