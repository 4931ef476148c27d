"""Engagement scoring from events, with daily caps and decay.

Rules give points per matching :class:`~pipelinekit.Event` (a kind plus
property filters); a rule may count at most ``daily_cap`` events per UTC day
(Marketo: 20) and at most ``cap`` points in all.  Positive points fade with
age through a :class:`Decay`: exponential half-life ``0.5 ** (age / h)``,
HubSpot-like steps ``max(0, 1 - r * floor(age / period))``, a Marketo-like
window (full inside N days, nothing after), or none.  Negative rules
(unsubscribes, bounces) never fade, so the passing of time can only lower a
score.  Each breakdown line cites the events behind it.

A subject with no matching event is unscored (``None``), never 0.
"""

from __future__ import annotations

import decimal
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import attrs

from ..domain._checks import Checks, to_decimal
from ..domain.engagement import Event
from ..errors import ValidationError
from .base import Band, StrategyBase, as_list, band_for, check_ascending, subject_id
from .results import BreakdownLine, CriterionStatus, QualificationResult, Verdict

__all__ = [
    "Decay",
    "Rule",
    "engagement",
    "half_life",
    "no_decay",
    "rule",
    "step_decay",
    "window",
]

_ZERO = Decimal(0)
_ONE = Decimal(1)
_HALF = Decimal("0.5")
_CENT = Decimal("0.01")
_FACTOR = Decimal("0.000001")
_CONTEXT = decimal.Context(prec=28, rounding=decimal.ROUND_HALF_EVEN)
_US_PER_DAY = 86_400_000_000
_RANK = {
    Verdict.DISQUALIFIED: 0,
    Verdict.NURTURE: 1,
    Verdict.REVIEW: 2,
    Verdict.QUALIFIED: 3,
    Verdict.INSUFFICIENT_DATA: -1,
}


def _micros(delta: timedelta) -> int:
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


@attrs.frozen
class Decay:
    """How much of an event's points remain at a given age (a factor from 0 to 1).

    Build one with :func:`half_life`, :func:`step_decay`, :func:`window` or
    :func:`no_decay`.  Factors are rounded down to 6 decimal places, so they
    never grow with age.
    """

    form: str
    days: Decimal = _ZERO
    rate: Decimal = _ZERO

    def factor(self, age: timedelta) -> Decimal:
        """The share of points left after ``age`` (``age`` >= 0)."""
        if self.form == "none":
            return _ONE
        micros = Decimal(_micros(age))
        period = self.days * _US_PER_DAY
        if self.form == "window":
            return _ONE if micros < period else _ZERO
        if self.form == "step":
            steps = (micros / period).to_integral_value(rounding=decimal.ROUND_FLOOR)
            return max(_ZERO, _ONE - self.rate * steps)
        exponent = _CONTEXT.divide(micros, period)
        value = _CONTEXT.power(_HALF, exponent)
        return value.quantize(_FACTOR, rounding=decimal.ROUND_FLOOR)

    def describe(self) -> str:
        """A short phrase for breakdown reasons."""
        if self.form == "none":
            return "no decay"
        if self.form == "window":
            return f"counted for {_num(self.days)} days"
        if self.form == "step":
            return f"-{_num(self.rate * 100)} % every {_num(self.days)} days"
        return f"half-life {_num(self.days)} days"

    def config(self) -> dict[str, Any]:
        """This decay as plain data."""
        return {"form": self.form, "days": self.days, "rate": self.rate}


def _num(value: Decimal) -> str:
    return format(value.normalize(), "f") if value else "0"


def _positive_days(days: Decimal | int | str, what: str) -> Decimal:
    checks = Checks()
    value = to_decimal(checks, "$.days", days)
    if value is not None and value <= 0:
        checks.add("$.days", f"must be > 0, got {value}")
    if checks.problems:
        raise ValidationError(what, checks.problems)
    assert value is not None
    return value


def half_life(days: Decimal | int | str) -> Decay:
    """Exponential decay: points halve every ``days`` days (``0.5 ** (age / days)``)."""
    return Decay("half_life", _positive_days(days, "half_life"))


def step_decay(rate: Decimal | str, every_days: Decimal | int | str) -> Decay:
    """HubSpot-like decay: lose ``rate`` (``"0.25"`` = 25 %) every ``every_days`` days."""
    checks = Checks()
    value = to_decimal(checks, "$.rate", rate)
    if value is not None and not 0 < value <= 1:
        checks.add("$.rate", f"must be between 0 (exclusive) and 1, got {value}")
    if checks.problems:
        raise ValidationError("step_decay", checks.problems)
    assert value is not None
    return Decay("step", _positive_days(every_days, "step_decay"), value)


def window(days: Decimal | int | str) -> Decay:
    """Marketo-like rolling window: full points inside ``days`` days, none after."""
    return Decay("window", _positive_days(days, "window"))


def no_decay() -> Decay:
    """Points never fade."""
    return Decay("none")


@attrs.frozen
class Rule:
    """Points per matching event.  Build one with :func:`rule`."""

    name: str
    kinds: frozenset[str]
    points: Decimal
    where: Mapping[str, tuple[Any, ...]] = attrs.field(factory=dict)
    daily_cap: int | None = None
    cap: Decimal | None = None

    def matches(self, event: Event) -> bool:
        """Whether ``event`` is of one of the kinds and passes every property filter."""
        if event.kind not in self.kinds:
            return False
        return all(event.properties.get(k) in allowed for k, allowed in self.where.items())

    def config(self) -> dict[str, Any]:
        """This rule as plain data."""
        return {
            "name": self.name,
            "kinds": sorted(self.kinds),
            "points": self.points,
            "where": {k: list(v) for k, v in self.where.items()},
            "daily_cap": self.daily_cap,
            "cap": self.cap,
        }


def rule(
    name: str,
    kind: str | Iterable[str],
    points: Decimal | int | str,
    *,
    where: Mapping[str, Any] | None = None,
    daily_cap: int | None = None,
    cap: Decimal | int | str | None = None,
) -> Rule:
    """A scoring rule: ``points`` per event of ``kind`` (one kind or several).

    ``where`` filters on event properties: ``{"url": "/pricing"}`` or a list of
    accepted values ``{"url": ["/pricing", "/demo"]}``.  ``daily_cap`` counts
    at most that many events per UTC day; ``cap`` limits the rule's points.
    """
    checks = Checks()
    checks.text("$.name", name, required=True, max_length=200)
    kinds: frozenset[Any] = frozenset()
    if isinstance(kind, str):
        kinds = frozenset([kind])
    elif isinstance(kind, Iterable):
        try:
            kinds = frozenset(kind)
        except TypeError:  # unhashable members: reported below
            kinds = frozenset()
    if not kinds or not all(isinstance(k, str) and k for k in kinds):
        checks.add("$.kind", "name at least one event kind, e.g. 'website_visit'")
    value = to_decimal(checks, "$.points", points)
    if value is not None and not value:
        checks.add("$.points", "must not be 0")
    filters: dict[str, tuple[Any, ...]] = {}
    if where is not None and not isinstance(where, Mapping):
        checks.add("$.where", "must map property names to a value or a list of values")
        where = None
    for key, accepted in (where or {}).items():
        filters[key] = tuple(accepted) if isinstance(accepted, list | tuple) else (accepted,)
    if daily_cap is not None and (
        isinstance(daily_cap, bool) or not isinstance(daily_cap, int) or daily_cap < 1
    ):
        checks.add("$.daily_cap", f"must be a whole number >= 1, got {daily_cap!r}")
    limit = None if cap is None else to_decimal(checks, "$.cap", cap)
    if limit is not None and limit <= 0:
        checks.add("$.cap", f"must be > 0, got {limit}")
    if limit is not None and value is not None and value < 0:
        checks.add("$.cap", "caps apply to positive rules only")
    if checks.problems:
        raise ValidationError("rule", checks.problems)
    assert value is not None
    return Rule(name, kinds, value, filters, daily_cap, limit)


def _evidence(index: int, event: Event) -> str:
    ident = event.properties.get("id")
    return f"event:{ident}" if ident is not None else f"$.engagement[{index}]"


class _Engagement(StrategyBase):
    version = "1"

    def __init__(
        self,
        name: str,
        rules: tuple[Rule, ...],
        decay: Decay,
        total_cap: Decimal,
        floor: Decimal,
        bands: tuple[Band, ...],
        unmatched: str,
    ) -> None:
        self.name = name
        self.rules = rules
        self.decay = decay
        self.total_cap = total_cap
        self.floor = floor
        self.unmatched = unmatched
        span = total_cap - floor
        self.bands = bands or (
            Band("cold", floor, Verdict.NURTURE),
            Band("warm", floor + (span * Decimal("0.4")).quantize(_CENT), Verdict.REVIEW),
            Band("hot", floor + (span * Decimal("0.7")).quantize(_CENT), Verdict.QUALIFIED),
        )

    def config(self) -> dict[str, Any]:
        return {
            "kind": "engagement",
            "name": self.name,
            "rules": [r.config() for r in self.rules],
            "decay": self.decay.config(),
            "total_cap": self.total_cap,
            "floor": self.floor,
            "bands": [{"name": b.name, "min": b.min, "verdict": b.verdict} for b in self.bands],
            "unmatched": self.unmatched,
        }

    def _tally(
        self, events: Sequence[Event], as_of: datetime
    ) -> list[tuple[Rule, list[int], int, Decimal, Decimal]]:
        """Per rule: counted event indexes, events over the daily cap, points, undecayed."""
        out = []
        order = sorted(range(len(events)), key=lambda i: (events[i].at, i))
        for r in self.rules:
            counted: list[int] = []
            per_day: dict[Any, int] = {}
            skipped = 0
            points = fresh = _ZERO
            for i in order:
                event = events[i]
                if event.at > as_of or not r.matches(event):
                    continue
                if r.daily_cap is not None:
                    day = event.at.date()
                    seen = per_day.get(day, 0)
                    if seen >= r.daily_cap:
                        skipped += 1
                        continue
                    per_day[day] = seen + 1
                counted.append(i)
                fresh += r.points
                if r.points > 0:
                    points += r.points * self.decay.factor(as_of - event.at)
                else:
                    points += r.points
            if counted or skipped:
                points = points.quantize(_CENT, rounding=decimal.ROUND_FLOOR)
                if r.cap is not None:
                    points = min(points, r.cap)
                    fresh = min(fresh, r.cap)
                out.append((r, counted, skipped, points, fresh))
        return out

    def _clamp(self, total: Decimal) -> Decimal:
        return min(max(total, self.floor), self.total_cap)

    def _evaluate(self, subject: Any, as_of: datetime, explain: bool) -> QualificationResult:
        events: Sequence[Event] = getattr(subject, "engagement", None) or ()
        tally = self._tally(events, as_of)
        matched = any(counted for _, counted, _, _, _ in tally)
        score: Decimal | None
        lines: list[BreakdownLine] = []
        stale = False
        band: str | None = None
        if not matched and self.unmatched == "null":
            score, verdict = None, Verdict.INSUFFICIENT_DATA
        else:
            raw = sum((t[3] for t in tally), _ZERO)
            score = self._clamp(raw)
            undecayed = self._clamp(sum((t[4] for t in tally), _ZERO))
            chosen = band_for(self.bands, score)
            band, verdict = chosen.name, chosen.verdict
            stale = _RANK[verdict] < _RANK[band_for(self.bands, undecayed).verdict]
            if explain:
                lines = [self._line(events, t) for t in tally]
                _trim(lines, raw - score)
        return QualificationResult(
            strategy=self.name,
            strategy_version=self.version,
            config_hash=self.config_hash,
            as_of=as_of,
            score=score,
            scale_min=self.floor,
            scale_max=self.total_cap,
            verdict=verdict,
            coverage=_ONE if matched else _ZERO,
            breakdown=tuple(lines),
            band=band,
            subject_id=subject_id(subject),
            stale=stale,
        )

    def _line(
        self, events: Sequence[Event], item: tuple[Rule, list[int], int, Decimal, Decimal]
    ) -> BreakdownLine:
        r, counted, skipped, points, fresh = item
        parts = [f"{len(counted)} x {'/'.join(sorted(r.kinds))} at {_num(r.points)} each"]
        if counted:
            last = events[counted[-1]].at.date().isoformat()
            parts.append(f"last on {last}")
        if skipped:
            parts.append(f"{skipped} more over the daily cap of {r.daily_cap} not counted")
        if r.points > 0 and self.decay.form != "none":
            parts.append(f"{_num(fresh)} before decay ({self.decay.describe()})")
        if r.cap is not None and points == r.cap:
            parts.append(f"limited by the rule cap of {_num(r.cap)}")
        status = (
            CriterionStatus.MATCH
            if points > 0
            else CriterionStatus.NO_MATCH
            if counted
            else CriterionStatus.UNKNOWN
        )
        return BreakdownLine(
            criterion=r.name,
            status=status,
            points=points,
            reason="; ".join(parts),
            observed=len(counted),
            cap=r.cap if r.cap is not None and points == r.cap else None,
            evidence=tuple(_evidence(i, events[i]) for i in counted),
        )


def _trim(lines: list[BreakdownLine], excess: Decimal) -> None:
    """Take ``excess`` (positive: over the cap; negative: under the floor) off the lines."""
    if not excess:
        return
    sign = 1 if excess > 0 else -1
    left = abs(excess)
    for j in reversed(range(len(lines))):
        if left <= 0:
            break
        line = lines[j]
        if (line.points > 0) != (sign > 0) or not line.points:
            continue
        cut = min(abs(line.points), left)
        left -= cut
        kept = line.points - sign * cut
        what = "total cap" if sign > 0 else "floor"
        lines[j] = attrs.evolve(
            line,
            points=kept,
            reason=f"{line.reason}; {_num(line.points)} limited to {_num(kept)} by the {what}",
        )


def engagement(
    name: str,
    rules: Sequence[Rule],
    *,
    decay: Decay | None = None,
    total_cap: Decimal | int | str = 100,
    floor: Decimal | int | str = 0,
    bands: Sequence[Band] = (),
    unmatched: str = "null",
) -> StrategyBase:
    """An engagement strategy over ``subject.engagement`` events.

    ``decay`` defaults to :func:`no_decay`.  The score is kept within
    ``[floor, total_cap]`` (HubSpot's limit is 100); lines are trimmed so they
    still add up.  ``bands`` default to cold (nurture), warm (review) from 40 %
    and hot (qualified) from 70 % of the scale.  ``unmatched="null"`` (the
    default) leaves a subject without any matching event unscored;
    ``"zero"`` scores it 0.  When decay alone lowers the verdict below what the
    undecayed points would give, the result is marked ``stale``.
    """
    checks = Checks()
    checks.text("$.name", name, required=True, max_length=200)
    built = tuple(rules) if isinstance(rules, Sequence) and not isinstance(rules, str) else ()
    if not built:
        checks.add("$.rules", "needs at least one rule")
    names: set[str] = set()
    for i, r in enumerate(built):
        if not isinstance(r, Rule):
            checks.add(f"$.rules[{i}]", "must be built with rule(...)")
        elif r.name in names:
            checks.add(f"$.rules[{i}].name", f"duplicate rule name {r.name!r}")
        else:
            names.add(r.name)
    if decay is not None and not isinstance(decay, Decay):
        checks.add("$.decay", "must be built with half_life, step_decay, window or no_decay")
    cap = to_decimal(checks, "$.total_cap", total_cap)
    low = to_decimal(checks, "$.floor", floor)
    if cap is not None and low is not None and cap <= low:
        checks.add("$.total_cap", f"must be greater than the floor ({low}), got {cap}")
    if low is not None and low > 0:
        checks.add("$.floor", "must be <= 0")
    if unmatched not in ("null", "zero"):
        checks.add("$.unmatched", f"must be 'null' or 'zero', got {unmatched!r}")
    bands = as_list(checks, "$.bands", bands)
    for i, band in enumerate(bands):
        if not isinstance(band, Band):
            checks.add(f"$.bands[{i}]", "must be a Band")
    if not checks.problems:
        check_ascending(checks, "$.bands", list(bands))
    if checks.problems:
        raise ValidationError("engagement", checks.problems)
    assert cap is not None
    assert low is not None
    return _Engagement(name, built, decay or no_decay(), cap, low, tuple(bands), unmatched)
