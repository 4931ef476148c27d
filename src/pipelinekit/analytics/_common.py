"""Shared pieces: periods, pipeline lookup, an opportunity's state at a point in time, rates."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, Final, Literal, NamedTuple

from ..clock import ensure_aware
from ..domain._iso import CURRENCIES
from ..domain.leads import Lead
from ..domain.opportunities import Opportunity
from ..errors import Problem, ValidationError
from ..pipelines.compile import Pipeline
from ..pipelines.registry import PipelineSet
from ..pipelines.spec import PipelineSpec, StageKind
from .errors import MissingRate

__all__ = [
    "PERIODS",
    "Period",
    "PipelinesArg",
    "Rates",
    "State",
    "convert",
    "period_label",
    "specs_of",
    "state_at",
]

Period = Literal["day", "week", "month", "quarter", "year"]
PERIODS: Final = ("day", "week", "month", "quarter", "year")
PipelinesArg = Pipeline | PipelineSpec | PipelineSet | Iterable[Pipeline | PipelineSpec]
Rates = Mapping[str, Decimal | int | str]

_EPOCH_DAY: Final = date(1970, 1, 1)
_HUNDRED: Final = Decimal(100)
#: Rates are quantised to this many places: a rate is data, not a computation.
RATE_PLACES: Final = Decimal("0.0001")


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


def check_period(period: object) -> None:
    """Refuse an unknown period name with the choices."""
    if period not in PERIODS:
        raise ValidationError(
            "period", [Problem("$", f"must be one of {', '.join(PERIODS)}; got {period!r}")]
        )


def epoch_day(day: date) -> int:
    """Days since 1970-01-01."""
    return (day - _EPOCH_DAY).days


def from_epoch_day(days: int) -> date:
    """The date ``days`` after 1970-01-01."""
    return _EPOCH_DAY + timedelta(days=days)


def utc_day(moment: datetime) -> date:
    """The UTC calendar date of an aware datetime."""
    return moment.astimezone(UTC).date()


def specs_of(pipelines: PipelinesArg) -> dict[str, PipelineSpec]:
    """Pipeline key -> definition from a pipeline, a spec, a :class:`PipelineSet` or several."""
    single = isinstance(pipelines, Pipeline | PipelineSpec)
    items: Iterable[Any] = (pipelines,) if single else pipelines  # type: ignore[assignment]
    out: dict[str, PipelineSpec] = {}
    for item in items:
        spec = item.spec if isinstance(item, Pipeline) else item
        if not isinstance(spec, PipelineSpec):
            raise TypeError(f"expected a Pipeline or PipelineSpec, got {type(item).__name__}")
        out[spec.key] = spec
    if not out:
        raise ValidationError("pipelines", [Problem("$", "pass at least one pipeline")])
    return out


def aware(value: datetime | None, name: str) -> datetime | None:
    """``value`` in UTC (refusing naive datetimes), or ``None``."""
    return None if value is None else ensure_aware(value, name)


class State(NamedTuple):
    """Where an opportunity stood at a moment: the stage and since when."""

    stage: str
    since: datetime


def current_stage(entity: Opportunity | Lead) -> str:
    """An opportunity's ``stage`` or a lead's ``status``."""
    return entity.stage if isinstance(entity, Opportunity) else entity.status


def visits(entity: Opportunity | Lead) -> tuple[tuple[str, datetime], ...]:
    """Every stage visit ``(stage, entered)`` in order, from the history.

    An entity without recorded history counts as one visit of its current
    stage since it was created.
    """
    history = entity.history
    if not history:
        return ((current_stage(entity), entity.created_at),)
    return tuple((change.to_stage, change.at) for change in history)


def state_at(opportunity: Opportunity, moment: datetime | None) -> State | None:
    """The stage at ``moment`` (inclusive) from the history; ``None`` if it did not exist yet.

    ``moment=None`` means now: the current stage.
    """
    history = opportunity.history
    if moment is None:
        since = history[-1].at if history else opportunity.created_at
        return State(opportunity.stage, since)
    if not history:
        if opportunity.created_at <= moment:
            return State(opportunity.stage, opportunity.created_at)
        return None
    found: State | None = None
    for change in history:
        if change.at > moment:
            break
        found = State(change.to_stage, change.at)
    return found


def probability_at(opportunity: Opportunity, spec: PipelineSpec, stage: str) -> Decimal:
    """The win probability in percent the opportunity had in ``stage``.

    History records stage moves only, so in the opportunity's current stage its
    effective probability (manual, automated or default) is used; in any
    other stage the stage default; won stages 100 and lost 0, always.
    """
    kind = kind_of(spec, stage)
    if kind is StageKind.WON:
        return _HUNDRED
    if kind is StageKind.LOST or kind is None:
        return Decimal(0)
    if stage == opportunity.stage:
        return opportunity.probability
    return spec.stage(stage).probability


def kind_of(spec: PipelineSpec, stage: str) -> StageKind | None:
    """The kind of ``stage`` in ``spec`` (``None`` when the definition has no such stage)."""
    for candidate in spec.stages:
        if candidate.key == stage:
            return candidate.kind
    return None


def convert(amount: Decimal, currency: str, rates: Mapping[str, Decimal], target: str) -> Decimal:
    """``amount`` of ``currency`` in ``target``, at ``rates[currency]`` (1 for the target)."""
    if currency == target:
        return amount
    rate = rates.get(currency)
    if rate is None:
        raise MissingRate(currency, target)
    return amount * rate


def check_rates(
    rates: Rates | None, currency: str | None
) -> tuple[dict[str, Decimal] | None, str | None]:
    """Validate ``rates`` / ``currency`` together: rates as exact decimals, codes upper-cased.

    ``currency`` alone means every amount must already be in it (no rates).
    """
    if rates is None and currency is None:
        return None, None
    problems: list[Problem] = []
    if currency is None:
        problems.append(Problem("$.currency", "rates need a target currency: pass currency="))
    elif not isinstance(currency, str) or currency.strip().upper() not in CURRENCIES:
        problems.append(Problem("$.currency", f"unknown ISO 4217 currency code {currency!r}"))
    else:
        currency = currency.strip().upper()
    out: dict[str, Decimal] = {}
    if rates is not None and not isinstance(rates, Mapping):
        problems.append(
            Problem(
                "$.rates",
                f"must be a mapping of currency codes to rates, got {type(rates).__name__}",
            )
        )
        rates = None
    for code, raw in (rates or {}).items():
        if not isinstance(code, str):
            problems.append(Problem(f"$.rates[{code!r}]", "the currency code must be a string"))
            continue
        path = f"$.rates.{code}"
        if isinstance(raw, bool) or not isinstance(raw, Decimal | int | str):
            problems.append(
                Problem(path, f"must be a Decimal, int or string, got {type(raw).__name__}")
            )
            continue
        try:
            value = Decimal(raw)
        except ArithmeticError:
            problems.append(Problem(path, f"not a number: {raw!r}"))
            continue
        if not value.is_finite() or value <= 0:
            problems.append(Problem(path, f"must be a positive number, got {raw}"))
            continue
        out[code.upper()] = value
    if problems:
        raise ValidationError("rates", problems)
    return out, currency
