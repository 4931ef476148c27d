"""Shared pieces: argument checks, the source of a report, pipeline lookup, states, rates."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta, tzinfo
from decimal import Decimal
from typing import Any, Final, NamedTuple, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..clock import ensure_aware
from ..domain import Lead, Money, Opportunity
from ..domain.history import PROBABILITY_LAYERS
from ..errors import Problem, ValidationError
from ..pipelines import Pipeline, PipelineSpec, StageKind
from .errors import MissingRate
from .ports import (
    PERIODS,
    AnalyticsQueries,
    AnalyticsSource,
    Period,
    PipelinesArg,
    period_label,
)

__all__ = [
    "PERIODS",
    "Period",
    "PipelinesArg",
    "Rates",
    "State",
    "Visit",
    "convert",
    "leads_of",
    "opportunities_of",
    "period_label",
    "aggregated",
    "specs_of",
    "state_at",
]

Rates = Mapping[str, Decimal | int | str]
R = TypeVar("R")
A = TypeVar("A")

_EPOCH_DAY: Final = date(1970, 1, 1)
_HUNDRED: Final = Decimal(100)
#: Rates are quantised to this many places: a rate is data, not a computation.
RATE_PLACES: Final = Decimal("0.0001")


def aggregated(
    source: object,
    ask: Callable[[AnalyticsQueries], Iterable[R] | None],
    fold: Callable[[Iterable[R]], A],
    compute: Callable[[], A],
    *,
    zone: tzinfo | None = None,
) -> A:
    """A report's aggregate: ``fold`` of the rows a source offering
    :class:`AnalyticsQueries` gives when ``ask``-ed, else (or when it declines)
    ``compute()`` in memory.  Periods in a time ``zone`` other than UTC are
    always bucketed in memory (the queries take UTC dates)."""
    asks = isinstance(source, AnalyticsQueries) and zone is None
    rows = ask(source) if asks and isinstance(source, AnalyticsQueries) else None
    return compute() if rows is None else fold(rows)


def opportunities_of(source: object, path: str = "$.opportunities") -> Iterable[Opportunity]:
    """The opportunities of a source: the iterable itself, or a unit of work's stored ones."""
    if isinstance(source, AnalyticsSource):
        return source.opportunities.iterate()
    return _given(source, "opportunities", path)


def leads_of(source: object, path: str = "$.leads") -> Iterable[Lead]:
    """The leads of a source: the iterable itself, or a unit of work's stored ones."""
    if isinstance(source, AnalyticsSource):
        return source.leads.iterate()
    return _given(source, "leads", path)


_KINDS: Final[dict[str, type]] = {"opportunities": Opportunity, "leads": Lead}
#: How many wrong items one error lists (the first ones, in order).
_MAX_LISTED: Final = 20


def _given(source: object, what: str, path: str) -> Iterable[Any]:
    """Entities given as an iterable, each checked to be of the report's kind.

    A list or tuple is checked at once (every wrong item reported, by index);
    any other iterable as it is read (the first wrong item stops the report).
    """
    if isinstance(source, Iterable) and not isinstance(source, str | bytes):
        kind = _KINDS[what]
        if isinstance(source, list | tuple):
            if not all(issubclass(t, kind) for t in set(map(type, source))):
                raise _wrong_items(
                    ((i, x) for i, x in enumerate(source) if not isinstance(x, kind)),
                    kind,
                    what,
                    path,
                )
            return source
        return _Checked(source, kind, what, path)
    raise ValidationError(
        "analytics source",
        [
            Problem(
                path,
                f"must be the {what} (a list, uow.{what}.iterate()) or an open unit of work, "
                f"got {type(source).__name__}",
            )
        ],
    )


def _article(name: str) -> str:
    return f"an {name}" if name[:1] in "AEIOU" else f"a {name}"


def _wrong_items(
    found: Iterable[tuple[int, object]], kind: type, what: str, path: str
) -> ValidationError:
    problems = [
        Problem(f"{path}[{i}]", f"must be {_article(kind.__name__)}, got {type(item).__name__}")
        for i, item in found
    ]
    return ValidationError(
        "analytics source",
        problems[:_MAX_LISTED]
        + (
            [Problem(path, f"{len(problems) - _MAX_LISTED} more items are not {what}")]
            if len(problems) > _MAX_LISTED
            else []
        ),
    )


class _Checked(Iterable[Any]):
    """An iterable of entities whose items are checked as they are read (each pass)."""

    __slots__ = ("_kind", "_path", "_source", "_what")

    def __init__(self, source: Iterable[Any], kind: type, what: str, path: str) -> None:
        self._source, self._kind, self._what, self._path = source, kind, what, path

    def __iter__(self) -> Iterator[Any]:
        kind = self._kind
        for i, item in enumerate(self._source):
            if not isinstance(item, kind):
                raise _wrong_items([(i, item)], kind, self._what, self._path)
            yield item


def check_by(by: str | Sequence[str], allowed: Sequence[str], what: str) -> tuple[str, ...]:
    """``by`` as a tuple of known dimension names (every unknown one reported)."""
    names = (by,) if isinstance(by, str) else tuple(by)
    problems = [
        Problem(f"$.by[{i}]", f"unknown {what} dimension {name!r}; use {', '.join(allowed)}")
        for i, name in enumerate(names)
        if name not in allowed
    ]
    problems += [
        Problem(f"$.by[{i}]", f"{name!r} given twice")
        for i, name in enumerate(names)
        if name in names[:i]
    ]
    if problems:
        raise ValidationError("by", problems)
    return names


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


def utc_day(moment: datetime, zone: tzinfo | None = None) -> date:
    """The calendar date of an aware datetime in ``zone`` (UTC when ``None``)."""
    return moment.astimezone(zone or UTC).date()


def check_tz(tz: object) -> tzinfo | None:
    """``tz=`` as a time zone for period bucketing: ``None`` for UTC (the default),
    else a ``tzinfo`` or an IANA name such as ``"America/New_York"``."""
    if tz is None:
        return None
    if isinstance(tz, str):
        try:
            zone: tzinfo = ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise ValidationError(
                "tz", [Problem("$.tz", f"unknown time zone {tz!r} (an IANA name, or a tzinfo)")]
            ) from error
    elif isinstance(tz, tzinfo):
        zone = tz
    else:
        raise ValidationError(
            "tz", [Problem("$.tz", f"must be a tzinfo or an IANA name, got {type(tz).__name__}")]
        )
    probe = datetime(2000, 1, 1, tzinfo=UTC)
    if zone is UTC or (zone.utcoffset(probe) == timedelta(0) and str(zone) in ("UTC", "Etc/UTC")):
        return None
    return zone


def specs_of(pipelines: PipelinesArg | object) -> dict[str, PipelineSpec]:
    """Pipeline key -> definition from a pipeline, a spec, a :class:`PipelineSet` or several."""
    if isinstance(pipelines, Pipeline | PipelineSpec) or not isinstance(pipelines, Iterable):
        items: Iterable[object] = (pipelines,)
    else:
        items = pipelines
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
    """Where an opportunity stood at a moment: the pipeline, the stage and since when."""

    pipeline: str
    stage: str
    since: datetime


class Visit(NamedTuple):
    """One stay in a stage: the pipeline it belongs to, the stage, and when it began."""

    pipeline: str
    stage: str
    at: datetime


def current_stage(entity: Opportunity | Lead) -> str:
    """An opportunity's ``stage`` or a lead's ``status``."""
    return entity.stage if isinstance(entity, Opportunity) else entity.status


def visits(entity: Opportunity | Lead, home: str | None = None) -> tuple[Visit, ...]:
    """Every stage visit in order, from the history.

    A record's pipeline is the one it names (``home``, or the opportunity's
    current pipeline, when it names none; leads always count in ``home``).
    An entity without recorded history counts as one visit of its current
    stage since it was created; a history whose first record leaves a stage
    (``from_stage`` set, as for a lead created before its entry was
    recorded) starts with a visit of that stage since the creation.
    """
    lead = not isinstance(entity, Opportunity)
    default = home or (entity.pipeline if isinstance(entity, Opportunity) else "")
    history = entity.history
    if not history:
        return (Visit(default, current_stage(entity), entity.created_at),)
    out = [
        Visit(default if lead or c.pipeline is None else c.pipeline, c.to_stage, c.at)
        for c in history
    ]
    first = history[0]
    if first.from_stage is not None:
        start = min(entity.created_at, first.at)
        home = out[0].pipeline if lead else first.from_pipeline or out[0].pipeline
        out.insert(0, Visit(home, first.from_stage, start))
    return tuple(out)


def state_at(opportunity: Opportunity, moment: datetime | None) -> State | None:
    """The pipeline and stage at ``moment`` (inclusive) from the history;
    ``None`` if it did not exist yet.  ``moment=None`` means now."""
    history = opportunity.history
    if moment is None:
        since = history[-1].at if history else opportunity.created_at
        return State(opportunity.pipeline, opportunity.stage, since)
    found: State | None = None
    for visit in visits(opportunity):
        if visit.at > moment:
            break
        found = State(*visit)
    return found


def changed_after(opportunity: Opportunity, moment: datetime) -> bool:
    """Whether a stage move or a probability change was recorded after ``moment``."""
    return any(c.at > moment for c in opportunity.history) or any(
        c.at > moment for c in opportunity.probability_history
    )


def layers_at(opportunity: Opportunity, moment: datetime) -> tuple[Decimal | None, Decimal | None]:
    """The manual and automated probability layers in force at ``moment``.

    A layer's value is the one its last change at or before the moment set;
    before its first recorded change, the value that change replaced;
    without any recorded change, unset.
    """
    out: dict[str, Decimal | None] = {}
    for layer in PROBABILITY_LAYERS:
        changes = [c for c in opportunity.probability_history if c.layer == layer]
        before = [c for c in changes if c.at <= moment]
        if before:
            out[layer] = before[-1].to_value
        elif changes:
            out[layer] = changes[0].from_value
        else:
            out[layer] = None
    return out["manual"], out["automated"]


def probability_at(
    opportunity: Opportunity, spec: PipelineSpec, state: State, moment: datetime | None
) -> Decimal:
    """The win probability the opportunity had at ``moment`` in ``state``.

    Won stages 100, lost and unknown ones 0.  In an open stage: when nothing
    was recorded after the moment, the opportunity's own probability;
    otherwise the layers in force then (:func:`layers_at`: manual, then
    automated) over the stage's default.
    """
    kind = kind_of(spec, state.stage)
    if kind is StageKind.WON:
        return _HUNDRED
    if kind is StageKind.LOST or kind is None:
        return Decimal(0)
    if moment is None or not changed_after(opportunity, moment):
        return opportunity.probability
    manual, automated = layers_at(opportunity, moment)
    if manual is not None:
        return manual
    if automated is not None:
        return automated
    return spec.stage(state.stage).probability


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
    elif not _known_currency(currency):
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


def _known_currency(code: object) -> bool:
    if not isinstance(code, str):
        return False
    try:
        Money(0, code.strip())
    except ValidationError:
        return False
    return True
