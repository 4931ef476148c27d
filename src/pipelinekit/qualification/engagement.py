"""Engagement scoring from events: rules, frequency rules, groups with limits, decay.

Rules give points per matching :class:`~pipelinekit.Event` (a kind plus
property filters); a rule may count at most ``daily_cap`` events per UTC day
(Marketo: 20), only the first event (``first_only``), or give its points once
when the number of events is ``exactly`` / ``between`` / ``at_least`` /
``at_most`` some count (``times``, HubSpot's frequency criteria).  A positive
rule may give at most ``cap`` points, a negative one at least ``minimum``.

Rules may sit in :func:`event_group` groups, each with its own ``limit``,
``minimum`` and :class:`Decay` (HubSpot decays and limits per group); rules
outside a group use the strategy's decay.  The score is then kept within
``[floor, total_cap]``.

Decay gives the share of an event's points left at its age, in days, weeks
or calendar months: exponential half-life ``0.5 ** (age / h)``, HubSpot's
steps ``max(0, 1 - r * floor(age / period))`` ("50 % every month"), a
continuous linear fade ``max(0, 1 - r * age / period)``, a Marketo-like
window (full inside N periods, nothing after), or none.  Negative rules
(unsubscribes, bounces) do not fade unless ``decay_negative=True``.

Exactness: each event's decay factor is rounded down to 6 decimal places;
a line's decayed points are summed exactly and rounded once, to the cent
(half to even); limits then move whole cents between lines
(:mod:`~pipelinekit.qualification.limits`), so the breakdown always adds up
to the score.  A subject with no matching event is unscored (``None``),
never 0.
"""

from __future__ import annotations

import decimal
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from operator import attrgetter, itemgetter
from typing import Any

import attrs

from .._slots import builder
from ..domain._checks import Checks, to_decimal
from ..domain.engagement import Event, citations
from ..domain.results import names_ok
from ..errors import ValidationError
from .base import Band, StrategyBase, as_list, band_for, check_ascending, subject_id
from .limits import charge
from .results import (
    BreakdownLine,
    CriterionStatus,
    QualificationResult,
    Verdict,
    trusted_line,
    trusted_result,
)

__all__ = [
    "Decay",
    "EventGroup",
    "Rule",
    "engagement",
    "event_group",
    "half_life",
    "linear_decay",
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
_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
_UNITS = {"days": 1, "weeks": 7, "months": 0}
_TIMES = ("exactly", "between", "at_least", "at_most")
_FIRST = itemgetter(0)
_POINTS = attrgetter("points")
_BUILD_LINE = builder(BreakdownLine)
_EVEN = decimal.ROUND_HALF_EVEN
_MATCH, _NO_MATCH = CriterionStatus.MATCH, CriterionStatus.NO_MATCH
_UNKNOWN = CriterionStatus.UNKNOWN
_RANK = {
    Verdict.DISQUALIFIED: 0,
    Verdict.NURTURE: 1,
    Verdict.REVIEW: 2,
    Verdict.QUALIFIED: 3,
    Verdict.INSUFFICIENT_DATA: -1,
}


def _micros(delta: timedelta) -> int:
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def _add_months(moment: datetime, months: int) -> datetime:
    """``moment`` moved by whole calendar months (the day clamped to the month's end)."""
    index = moment.year * 12 + moment.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    following = datetime(year + (month == 12), month % 12 + 1, 1)
    last = (following - timedelta(days=1)).day
    return moment.replace(year=year, month=month, day=min(moment.day, last))


def calendar_months(start: datetime, end: datetime) -> Decimal:
    """Calendar months from ``start`` to ``end`` (>= start): whole months plus a fraction.

    A month after 15 January is 15 February; after 31 January, 28 (or 29)
    February: the day is kept, or the month's last day when it has fewer.
    The fraction is the share of the next month-long period already gone.
    """
    whole = (end.year - start.year) * 12 + end.month - start.month
    while whole > 0 and _add_months(start, whole) > end:
        whole -= 1
    anchor = _add_months(start, whole)
    span = _micros(_add_months(start, whole + 1) - anchor)
    return Decimal(whole) + _CONTEXT.divide(Decimal(_micros(end - anchor)), Decimal(span))


@attrs.frozen
class Decay:
    """How much of an event's points remain at a given age (a factor from 0 to 1).

    Build one with :func:`half_life`, :func:`step_decay`, :func:`linear_decay`,
    :func:`window` or :func:`no_decay`.  ``every`` counts ``unit`` (days,
    weeks or calendar months).  Factors are rounded down to 6 decimal
    places, so they never grow with age.
    """

    form: str
    every: Decimal = _ZERO
    rate: Decimal = _ZERO
    unit: str = "days"
    _whole_us: int = attrs.field(init=False, eq=False, repr=False, default=0)
    _period_us: float = attrs.field(init=False, eq=False, repr=False, default=0.0)

    def __attrs_post_init__(self) -> None:
        if self.unit == "months" or self.form == "none":
            return
        period = self.every * _UNITS[self.unit] * _US_PER_DAY
        object.__setattr__(self, "_period_us", float(period))
        if period == period.to_integral_value():
            object.__setattr__(self, "_whole_us", int(period))

    def age(self, at: datetime, as_of: datetime) -> Decimal:
        """How many periods (``every`` units) old an event at ``at`` is at ``as_of``."""
        if self.unit == "months":
            return _CONTEXT.divide(calendar_months(at, as_of), self.every)
        period = self.every * _UNITS[self.unit] * _US_PER_DAY
        return _CONTEXT.divide(Decimal(_micros(as_of - at)), period)

    def factor_at(self, at: datetime, as_of: datetime) -> Decimal:
        """The share of points left for an event at ``at``, seen at ``as_of``."""
        if self.form == "none":
            return _ONE
        if self._period_us and self.form == "half_life":
            # 0.5 ** x in binary floating point is within 1e-15 of the exact value,
            # so its 6 decimal places rounded down are exact unless it lies within
            # 1e-6 of a multiple of 1e-6: only then is the exact power computed.
            delta = as_of - at
            micros = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
            scaled = 0.5 ** (micros / self._period_us) * 1e6
            whole = math.floor(scaled)
            if 1e-6 < scaled - whole < 1 - 1e-6:
                return Decimal(whole).scaleb(-6, _CONTEXT)
        if self._whole_us:  # days or weeks, a whole number of them: integer arithmetic
            whole = _micros(as_of - at) // self._whole_us
            if self.form == "window":
                return _ONE if whole < 1 else _ZERO
            if self.form == "step":
                return max(_ZERO, _ONE - self.rate * whole)
        periods = self.age(at, as_of)
        if self.form == "window":
            return _ONE if periods < 1 else _ZERO
        if self.form == "step":
            steps = periods.to_integral_value(rounding=decimal.ROUND_FLOOR)
            return max(_ZERO, _ONE - self.rate * steps)
        if self.form == "linear":
            value = max(_ZERO, _ONE - self.rate * periods)
        else:
            value = _CONTEXT.power(_HALF, periods)
        return value.quantize(_FACTOR, rounding=decimal.ROUND_FLOOR)

    def total_factor(self, moments: Iterable[datetime], as_of: datetime) -> Decimal:
        """The sum of :meth:`factor_at` over events at ``moments`` (exact, one call)."""
        period = self._period_us
        if not period or self.form != "half_life":
            factor = self.factor_at
            return sum([factor(at, as_of) for at in moments], _ZERO)
        millionths = 0
        slow = _ZERO
        floor = math.floor
        for at in moments:
            delta = as_of - at
            micros = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
            scaled = 0.5 ** (micros / period) * 1e6
            whole = floor(scaled)
            if 1e-6 < scaled - whole < 1 - 1e-6:
                millionths += whole
            else:  # too close to a cut for the float: the exact power
                slow += self.factor_at(at, as_of)
        return Decimal(millionths).scaleb(-6, _CONTEXT) + slow

    def factor(self, age: timedelta) -> Decimal:
        """The share of points left after ``age`` (``age`` >= 0).

        Calendar months depend on the dates, so for them this counts from
        1 January 2000; :meth:`factor_at` takes the real dates.
        """
        return self.factor_at(_EPOCH, _EPOCH + age)

    def describe(self) -> str:
        """A short phrase for breakdown reasons."""
        period = self.unit[:-1] if self.every == 1 else f"{_num(self.every)} {self.unit}"
        if self.form == "none":
            return "no decay"
        if self.form == "window":
            return f"counted for {period}"
        if self.form == "step":
            return f"-{_num(self.rate * 100)} % every {period}"
        if self.form == "linear":
            return f"-{_num(self.rate * 100)} % per {period}, linearly"
        return f"half-life {period}"

    def config(self) -> dict[str, Any]:
        """This decay as plain data (what the configuration builder accepts)."""
        if self.form == "none":
            return {"form": "none"}
        out: dict[str, Any] = {"form": self.form, "every": self.every, "unit": self.unit}
        if self.form in ("step", "linear"):
            out["rate"] = self.rate
        return out


_SHOWN: dict[Decimal, str] = {}


def _cents(value: Decimal) -> str:
    """:func:`_num` of a value rounded to the cent (``18.50`` shows as ``18.5``), without
    a memo: decayed points rarely repeat."""
    if not value:
        return "0"
    text = str(value)  # two decimal places: never in exponent notation
    return text.rstrip("0").rstrip(".")


def _num(value: Decimal) -> str:
    shown = _SHOWN.get(value)
    if shown is None:
        shown = format(value.normalize(), "f") if value else "0"
        if len(_SHOWN) < 4096:  # points repeat; decayed values mostly do not
            _SHOWN[value] = shown
    return shown


def _period(
    what: str, every: Decimal | int | str, unit: str, rate: Decimal | int | str | None = None
) -> tuple[Decimal, Decimal]:
    checks = Checks()
    value = to_decimal(checks, "$.every", every)
    if value is not None and value <= 0:
        checks.add("$.every", f"must be > 0, got {value}")
    if unit not in _UNITS:
        checks.add("$.unit", f"must be one of {', '.join(_UNITS)}; got {unit!r}")
    share = _ZERO
    if rate is not None:
        got = to_decimal(checks, "$.rate", rate)
        if got is not None and not 0 < got <= 1:
            checks.add("$.rate", f"must be between 0 (exclusive) and 1, got {got}")
        share = got if got is not None else _ZERO
    if checks.problems:
        raise ValidationError(what, checks.problems)
    assert value is not None
    return value, share


def half_life(every: Decimal | int | str, unit: str = "days") -> Decay:
    """Exponential decay: points halve every ``every`` days (weeks, months)."""
    return Decay("half_life", _period("half_life", every, unit)[0], _ZERO, unit)


def step_decay(rate: Decimal | str, every: Decimal | int | str, unit: str = "days") -> Decay:
    """HubSpot's decay: lose ``rate`` (``"0.5"`` = 50 %) at the end of every period.

    ``step_decay("0.5", 1, "months")``: full points for a month, half for
    the second, none after two months.
    """
    value, share = _period("step_decay", every, unit, rate)
    return Decay("step", value, share, unit)


def linear_decay(rate: Decimal | str, every: Decimal | int | str, unit: str = "days") -> Decay:
    """A continuous fade: lose ``rate`` per period, in proportion to the time gone."""
    value, share = _period("linear_decay", every, unit, rate)
    return Decay("linear", value, share, unit)


def window(every: Decimal | int | str, unit: str = "days") -> Decay:
    """Marketo-like rolling window (HubSpot's time frame): full points inside the window."""
    return Decay("window", _period("window", every, unit)[0], _ZERO, unit)


def no_decay() -> Decay:
    """Points never fade."""
    return Decay("none")


@attrs.frozen
class EventGroup:
    """A group of rules with its own limits and decay.  Build one with :func:`event_group`."""

    name: str
    limit: Decimal | None = None
    minimum: Decimal | None = None
    decay: Decay | None = None
    decay_negative: bool = False

    def config(self) -> dict[str, Any]:
        """This group as plain data."""
        return {
            "name": self.name,
            "limit": self.limit,
            "minimum": self.minimum,
            "decay": None if self.decay is None else self.decay.config(),
            "decay_negative": self.decay_negative,
        }


def event_group(
    name: str,
    *,
    limit: Decimal | int | str | None = None,
    minimum: Decimal | int | str | None = None,
    decay: Decay | None = None,
    decay_negative: bool = False,
) -> EventGroup:
    """A group of engagement rules (HubSpot's score group).

    Its rules' points together count at most ``limit`` and at least
    ``minimum`` (<= 0, HubSpot's ``minValue``).  ``decay`` replaces the
    strategy's decay for these rules; ``decay_negative=True`` lets negative
    points fade too.
    """
    checks = Checks()
    checks.text("$.name", name, required=True, max_length=200)
    high = None if limit is None else to_decimal(checks, "$.limit", limit)
    if high is not None and high <= 0:
        checks.add("$.limit", f"must be > 0, got {high}")
    low = None if minimum is None else to_decimal(checks, "$.minimum", minimum)
    if low is not None and low > 0:
        checks.add("$.minimum", f"must be <= 0, got {low}")
    if decay is not None and not isinstance(decay, Decay):
        checks.add("$.decay", "must be built with half_life, step_decay, linear_decay, ...")
    if not isinstance(decay_negative, bool):
        checks.add("$.decay_negative", f"must be true or false, got {decay_negative!r}")
    if checks.problems:
        raise ValidationError("event_group", checks.problems)
    return EventGroup(name, high, low, decay, decay_negative)


@attrs.frozen
class Rule:
    """Points per matching event.  Build one with :func:`rule`."""

    name: str
    kinds: frozenset[str]
    points: Decimal
    where: Mapping[str, tuple[Any, ...]] = attrs.field(factory=dict)
    daily_cap: int | None = None
    cap: Decimal | None = None
    minimum: Decimal | None = None
    group: str | None = None
    times: tuple[str, int, int | None] | None = None
    first_only: bool = False

    def matches(self, event: Event) -> bool:
        """Whether ``event`` is of one of the kinds and passes every property filter."""
        if event.kind not in self.kinds:
            return False
        return all(event.properties.get(k) in allowed for k, allowed in self.where.items())

    def fires(self, count: int) -> bool:
        """Whether a frequency rule gives its points for ``count`` events (count >= 1)."""
        if self.times is None:
            return count > 0
        op, n, m = self.times
        if count < 1:
            return False
        if op == "exactly":
            return count == n
        if op == "at_least":
            return count >= n
        if op == "at_most":
            return count <= n
        assert m is not None
        return n <= count <= m

    def config(self) -> dict[str, Any]:
        """This rule as plain data (what the configuration builder accepts)."""
        out: dict[str, Any] = {
            "name": self.name,
            "kind": sorted(self.kinds),
            "points": self.points,
            "where": {k: list(v) for k, v in self.where.items()},
            "daily_cap": self.daily_cap,
            "cap": self.cap,
        }
        extra = {
            "minimum": self.minimum,
            "group": self.group,
            "times": None if self.times is None else [x for x in self.times if x is not None],
            "first_only": self.first_only or None,
        }
        out.update({k: v for k, v in extra.items() if v is not None})
        return out


def _times(checks: Checks, value: Any) -> tuple[str, int, int | None] | None:
    if value is None:
        return None
    shape = "e.g. ['at_least', 4], ['between', 1, 3], ['exactly', 1] or ['at_most', 3]"
    if not isinstance(value, list | tuple) or not value or value[0] not in _TIMES:
        checks.add("$.times", f"must name a comparison and counts, {shape}")
        return None
    op, counts = value[0], list(value[1:])
    wanted = 2 if op == "between" else 1
    if len(counts) != wanted or not all(
        isinstance(c, int) and not isinstance(c, bool) and c >= 1 for c in counts
    ):
        checks.add("$.times", f"{op!r} takes {wanted} whole count(s) >= 1, {shape}")
        return None
    if op == "between" and counts[0] > counts[1]:
        checks.add("$.times", f"'between' needs the lower count first, got {counts}")
        return None
    return (op, counts[0], counts[1] if op == "between" else None)


def rule(
    name: str,
    kind: str | Iterable[str],
    points: Decimal | int | str,
    *,
    where: Mapping[str, Any] | None = None,
    daily_cap: int | None = None,
    cap: Decimal | int | str | None = None,
    minimum: Decimal | int | str | None = None,
    group: str | None = None,
    times: Sequence[Any] | None = None,
    first_only: bool = False,
) -> Rule:
    """A scoring rule: ``points`` per event of ``kind`` (one kind or several).

    ``where`` filters on event properties: ``{"url": "/pricing"}`` or a list of
    accepted values ``{"url": ["/pricing", "/demo"]}``.  ``daily_cap`` counts
    at most that many events per UTC day; ``cap`` limits a positive rule's
    points, ``minimum`` a negative rule's (``-20``: it takes at most 20).
    ``group`` puts the rule in an :func:`event_group`.  ``times`` makes it a
    frequency rule: its points count once when the number of matching
    events is ``["exactly", n]``, ``["between", n, m]``, ``["at_least", n]``
    or ``["at_most", n]`` (never for no event), decayed by the age of the
    latest one.  ``first_only=True`` counts only the first matching event.
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
        checks.add("$.cap", "caps apply to positive rules only; use minimum")
    lowest = None if minimum is None else to_decimal(checks, "$.minimum", minimum)
    if lowest is not None and lowest >= 0:
        checks.add("$.minimum", f"must be < 0, got {lowest}")
    if lowest is not None and value is not None and value > 0:
        checks.add("$.minimum", "minimums apply to negative rules only; use cap")
    if group is not None and (not isinstance(group, str) or not group):
        checks.add("$.group", f"must be a group name, got {group!r}")
    frequency = _times(checks, times)
    if not isinstance(first_only, bool):
        checks.add("$.first_only", f"must be true or false, got {first_only!r}")
    elif first_only and frequency is not None:
        checks.add("$.first_only", "a frequency rule (times) already counts once")
    if checks.problems:
        raise ValidationError("rule", checks.problems)
    assert value is not None
    return Rule(name, kinds, value, filters, daily_cap, limit, lowest, group, frequency, first_only)


class _Tally:
    """One rule's events at ``as_of``: what counted, and its points."""

    __slots__ = ("counted", "decay", "fired", "fresh", "points", "raw", "rule", "skipped")

    def __init__(
        self,
        rule: Rule,
        counted: list[int],
        skipped: int,
        raw: Decimal,
        points: Decimal,
        fresh: Decimal,
        decay: Decay,
        fired: bool,
    ) -> None:
        self.rule = rule
        self.counted = counted
        self.skipped = skipped
        self.raw = raw  # decayed, rounded to the cent, before the rule's cap / minimum
        self.points = points  # after the rule's cap / minimum
        self.fresh = fresh  # undecayed, after the rule's cap / minimum
        self.decay = decay
        self.fired = fired  # a frequency rule: whether the count matched


#: ``line(j, events, counted, skipped, fired, raw, points, day)`` (see ``_line_maker``)
_LineMaker = Callable[
    [int, Sequence[Event], list[int], int, bool, Decimal, Decimal, str], BreakdownLine
]
#: ``make(subject, score, verdict, breakdown, band, stale)`` (see ``_maker``)
_ResultMaker = Callable[
    [Any, Decimal, Verdict, tuple[BreakdownLine, ...], str, bool], QualificationResult
]


def _bounded(value: Decimal, low: Decimal | None, high: Decimal | None) -> Decimal:
    if high is not None and value > high:
        value = high
    if low is not None and value < low:
        value = low
    return value


class _Engagement(StrategyBase):
    version = "2"

    def __init__(
        self,
        name: str,
        rules: tuple[Rule, ...],
        decay: Decay,
        total_cap: Decimal,
        floor: Decimal,
        bands: tuple[Band, ...],
        unmatched: str,
        groups: tuple[EventGroup, ...],
        decay_negative: bool,
    ) -> None:
        self.name = name
        self.rules = rules
        self.decay = decay
        self.total_cap = total_cap
        self.floor = floor
        self.unmatched = unmatched
        self.groups = groups
        self.decay_negative = decay_negative
        by_name = {g.name: g for g in groups}
        # per rule: (decay, whether negative points fade), from its group or the strategy
        self._decays = [
            (
                by_name[r.group].decay or decay if r.group else decay,
                by_name[r.group].decay_negative if r.group else decay_negative,
            )
            for r in rules
        ]
        self._texts = {
            r.name: self._describe(r, d, fades)
            for r, (d, fades) in zip(rules, self._decays, strict=True)
        }
        self._filters = [tuple(r.where.items()) for r in rules]
        self._group_rules = [[r.name for r in rules if r.group == g.name] for g in groups]
        self._by_kind: dict[str, list[int]] = {}
        for j, r in enumerate(rules):
            for k in sorted(r.kinds):
                self._by_kind.setdefault(k, []).append(j)
        span = total_cap - floor
        self.bands = bands or (
            Band("cold", floor, Verdict.NURTURE),
            Band("warm", floor + (span * Decimal("0.4")).quantize(_CENT), Verdict.REVIEW),
            Band("hot", floor + (span * Decimal("0.7")).quantize(_CENT), Verdict.QUALIFIED),
        )

    def config(self) -> dict[str, Any]:
        out = {
            "kind": "engagement",
            "name": self.name,
            "rules": [r.config() for r in self.rules],
            "decay": self.decay.config(),
            "total_cap": self.total_cap,
            "floor": self.floor,
            "bands": [{"name": b.name, "min": b.min, "verdict": b.verdict} for b in self.bands],
            "unmatched": self.unmatched,
        }
        if self.groups:
            out["groups"] = [g.config() for g in self.groups]
        if self.decay_negative:
            out["decay_negative"] = True
        return out

    def _tally(self, events: Sequence[Event], as_of: datetime) -> list[_Tally]:
        """Per rule that saw an event: what counted and its points at ``as_of``."""
        by_kind = self._by_kind
        # by time; simultaneous events in their given order
        timed = sorted([(e.at, i) for i, e in enumerate(events) if e.kind in by_kind])
        wanted = [i for at, i in timed if at <= as_of]
        if not wanted:
            return []
        filters = self._filters
        found: dict[int, list[int]] = {}
        for i in wanted:
            event = events[i]
            for j in by_kind[event.kind]:
                where = filters[j]
                if where:
                    get = event.properties.get
                    if not all(get(k) in allowed for k, allowed in where):
                        continue
                if j in found:
                    found[j].append(i)
                else:
                    found[j] = [i]
        return [self._rule_tally(j, events, found[j], as_of) for j in sorted(found)]

    def _rule_tally(
        self, j: int, events: Sequence[Event], matching: list[int], as_of: datetime
    ) -> _Tally:
        """Rule ``j``'s tally from the indexes of its matching events, oldest first."""
        r = self.rules[j]
        decay, fades = self._decays[j]
        counted, skipped = self._counted(r, events, matching)
        fired = True
        if r.times is not None:
            fired = r.fires(len(counted))
            # one award, as old as the latest event it rests on
            basis = [counted[-1]] if fired else []
        else:
            basis = counted
        points = r.points
        fresh = points * len(basis)
        if decay.form != "none" and (points > 0 or fades):
            exact = decay.total_factor([events[i].at for i in basis], as_of) * points
            raw = exact.quantize(_CENT, rounding=decimal.ROUND_HALF_EVEN)
        else:
            raw = fresh.quantize(_CENT, rounding=decimal.ROUND_HALF_EVEN)
        kept = _bounded(raw, r.minimum, r.cap)
        fresh = _bounded(fresh, r.minimum, r.cap)
        return _Tally(r, counted, skipped, raw, kept, fresh, decay, fired)

    @staticmethod
    def _counted(r: Rule, events: Sequence[Event], matching: list[int]) -> tuple[list[int], int]:
        if r.first_only:
            return matching[:1], len(matching) - 1
        if r.daily_cap is None:
            return matching, 0
        counted: list[int] = []
        per_day: dict[Any, int] = {}
        skipped = 0
        for i in matching:
            day = events[i].at.date()
            seen = per_day.get(day, 0)
            if seen >= r.daily_cap:
                skipped += 1
                continue
            per_day[day] = seen + 1
            counted.append(i)
        return counted, skipped

    def _scores(self, tally: list[_Tally]) -> tuple[Decimal, Decimal]:
        """The score and the undecayed score: group limits, then the total cap and floor."""
        if not self.groups:
            return (
                self._clamp(sum([t.points for t in tally], _ZERO)),
                self._clamp(sum([t.fresh for t in tally], _ZERO)),
            )
        total = fresh = _ZERO
        grouped: dict[str, list[Decimal]] = {}
        for t in tally:
            group = t.rule.group
            if group is None:
                total += t.points
                fresh += t.fresh
            else:
                sums = grouped.get(group)
                if sums is None:
                    grouped[group] = [t.points, t.fresh]
                else:
                    sums[0] += t.points
                    sums[1] += t.fresh
        for g in self.groups:
            sums = grouped.get(g.name)
            if sums is not None:
                total += _bounded(sums[0], g.minimum, g.limit)
                fresh += _bounded(sums[1], g.minimum, g.limit)
        return self._clamp(total), self._clamp(fresh)

    def _clamp(self, total: Decimal) -> Decimal:
        return min(max(total, self.floor), self.total_cap)

    def _evaluate(self, subject: Any, as_of: datetime, explain: bool) -> QualificationResult:
        events: Sequence[Event] = getattr(subject, "engagement", None) or ()
        return self._finish(subject, events, self._tally(events, as_of), as_of, explain, self._line)

    def _batch(self, as_of: datetime, explain: bool) -> Callable[[Any], QualificationResult]:
        """The same results as :meth:`_evaluate`, with what a batch shares worked out once
        (the rules each event kind reaches, each rule's decay at ``as_of``, the fixed parts
        of the reasons, the dates shown), and one pass per subject: no object per rule
        but its breakdown line."""
        plan = self._plan()
        rules, groups, bands = self.rules, self.groups, self.bands
        clamp, finish, line_of = self._clamp, self._finish, self._line
        position = {g.name: k for k, g in enumerate(groups)}
        specs = [
            (
                r,
                r.points,
                -1 if r.group is None else position[r.group],
                self._summed(decay, as_of)
                if decay.form != "none" and (r.points > 0 or fades)
                else None,
            )
            for r, (decay, fades) in zip(rules, self._decays, strict=True)
        ]
        plain = [r.times is None and not r.first_only and r.daily_cap is None for r in rules]
        bounded = [r.cap is not None or r.minimum is not None for r in rules]
        limits = [(g.minimum, g.limit) for g in groups]
        make = self._maker(as_of)
        line = self._line_maker() if explain else None
        days: dict[date, str] = {}

        def run(subject: Any) -> QualificationResult:
            events: Sequence[Event] = getattr(subject, "engagement", None) or ()
            # each rule's matching events, oldest first (simultaneous ones in their order)
            timed = [(e.at, i) for i, e in enumerate(events) if e.kind in plan]
            timed.sort(key=_FIRST)
            found: dict[int, list[int]] = {}
            for at, i in timed:
                if at > as_of:
                    break
                event = events[i]
                key, targets = plan[event.kind]
                if key is not None:  # every filter of the kind reads this one property
                    value = event.properties.get(key)
                    for j, allowed, _ in targets:
                        if allowed is not None and value not in allowed:
                            continue
                        matching = found.get(j)
                        if matching is None:
                            found[j] = [i]
                        else:
                            matching.append(i)
                    continue
                for j, _, where in targets:
                    if where:
                        get = event.properties.get
                        if not all(get(k) in allowed for k, allowed in where):
                            continue
                    matching = found.get(j)
                    if matching is None:
                        found[j] = [i]
                    else:
                        matching.append(i)
            if not found:  # nothing matched: the one-by-one path, as cheap here
                return finish(subject, events, [], as_of, explain, line_of)
            total = fresh_total = _ZERO
            sums: list[list[Decimal] | None] = [None] * len(limits)
            lines: list[BreakdownLine] = []
            members: list[list[int]] = [[] for _ in limits]
            for j in sorted(found):
                r, points, slot, summed = specs[j]
                counted = found[j]
                skipped, fired = 0, True
                if plain[j]:
                    basis = counted
                else:
                    counted, skipped = self._counted(r, events, counted)
                    basis = counted
                    if r.times is not None:
                        fired = r.fires(len(counted))
                        # one award, as old as the latest event it rests on
                        basis = [counted[-1]] if fired else []
                fresh = points * len(basis)
                if summed is not None:
                    raw = (summed(events, basis) * points).quantize(_CENT, rounding=_EVEN)
                else:
                    raw = fresh.quantize(_CENT, rounding=_EVEN)
                kept = raw
                if bounded[j]:
                    kept = _bounded(raw, r.minimum, r.cap)
                    fresh = _bounded(fresh, r.minimum, r.cap)
                if slot < 0:
                    total += kept
                    fresh_total += fresh
                else:
                    pair = sums[slot]
                    if pair is None:
                        sums[slot] = [kept, fresh]
                    else:
                        pair[0] += kept
                        pair[1] += fresh
                    members[slot].append(len(lines))
                if line is not None:
                    at = events[counted[-1]].at
                    day = at.date()
                    shown = days.get(day)
                    if shown is None:
                        shown = days[day] = day.isoformat()
                    lines.append(line(j, events, counted, skipped, fired, raw, kept, shown))
            for (low, high), pair in zip(limits, sums, strict=True):
                if pair is not None:
                    total += _bounded(pair[0], low, high)
                    fresh_total += _bounded(pair[1], low, high)
            score, undecayed = clamp(total), clamp(fresh_total)
            chosen = band_for(bands, score)
            verdict = chosen.verdict
            stale = _RANK[verdict] < _RANK[band_for(bands, undecayed).verdict]
            if lines:
                self._charge_limits(lines, members)
            return make(subject, score, verdict, tuple(lines), chosen.name, stale)

        return run

    def _summed(
        self, decay: Decay, as_of: datetime
    ) -> Callable[[Sequence[Event], list[int]], Decimal]:
        """The sum of ``decay``'s factors at ``as_of`` over the events at the given indexes
        (:meth:`Decay.total_factor`): half-lives and whole steps of days or weeks inline."""
        whole_us, rate, period = decay._whole_us, decay.rate, decay._period_us
        if decay.form == "step" and whole_us:
            factors: dict[int, Decimal] = {}  # per whole number of steps

            def stepped(events: Sequence[Event], basis: list[int]) -> Decimal:
                total = _ZERO
                for i in basis:
                    delta = as_of - events[i].at
                    micros = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
                    steps = micros // whole_us
                    factor = factors.get(steps)
                    if factor is None:
                        factor = factors[steps] = max(_ZERO, _ONE - rate * steps)
                    total += factor
                return total

            return stepped
        if decay.form == "half_life" and period:
            floor, exact = math.floor, decay.factor_at

            def halved(events: Sequence[Event], basis: list[int]) -> Decimal:
                millionths = 0
                slow = _ZERO
                for i in basis:
                    at = events[i].at
                    delta = as_of - at
                    micros = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
                    scaled = 0.5 ** (micros / period) * 1e6
                    whole = floor(scaled)
                    if 1e-6 < scaled - whole < 1 - 1e-6:
                        millionths += whole
                    else:  # too close to a cut for the float: the exact power
                        slow += exact(at, as_of)
                return Decimal(millionths).scaleb(-6, _CONTEXT) + slow

            return halved
        total_factor = decay.total_factor
        return lambda events, basis: total_factor([events[i].at for i in basis], as_of)

    def _plan(self) -> dict[str, tuple[str | None, list[tuple[int, Any, Any]]]]:
        """Per event kind: the property all its rules' filters read (if just one), and
        per rule its index, the values that one property may take, and its filters."""
        plan: dict[str, tuple[str | None, list[tuple[int, Any, Any]]]] = {}
        for kind, indexes in self._by_kind.items():
            wheres = [self._filters[j] for j in indexes]
            keys = {k for where in wheres for k, _ in where}
            key = next(iter(keys)) if len(keys) == 1 and all(len(w) <= 1 for w in wheres) else None
            plan[kind] = (
                key,
                [
                    (j, where[0][1] if key is not None and where else None, where)
                    for j, where in zip(indexes, wheres, strict=True)
                ],
            )
        return plan

    def _finish(
        self,
        subject: Any,
        events: Sequence[Event],
        tally: list[_Tally],
        as_of: datetime,
        explain: bool,
        line: Callable[[Sequence[Event], _Tally], BreakdownLine],
    ) -> QualificationResult:
        matched = any(t.counted for t in tally)
        score: Decimal | None
        lines: list[BreakdownLine] = []
        stale = False
        band: str | None = None
        if not matched and self.unmatched == "null":
            score, verdict = None, Verdict.INSUFFICIENT_DATA
        else:
            score, undecayed = self._scores(tally)
            chosen = band_for(self.bands, score)
            band, verdict = chosen.name, chosen.verdict
            stale = _RANK[verdict] < _RANK[band_for(self.bands, undecayed).verdict]
            if explain:
                lines = self._lines(events, tally, line)
        # the configuration was checked once; the score and breakdown are checked here
        return trusted_result(
            self.name,
            self.version,
            self.config_hash,
            as_of,
            score,
            self.floor,
            self.total_cap,
            verdict,
            _ONE if matched else _ZERO,
            tuple(lines),
            band=band,
            subject_id=subject_id(subject),
            stale=stale,
        )

    def _lines(
        self,
        events: Sequence[Event],
        tally: list[_Tally],
        line: Callable[[Sequence[Event], _Tally], BreakdownLine],
    ) -> list[BreakdownLine]:
        lines = [line(events, t) for t in tally]
        index = {line.criterion: j for j, line in enumerate(lines)}
        members = [[index[n] for n in names if n in index] for names in self._group_rules]
        self._charge_limits(lines, members)
        return lines

    def _charge_limits(self, lines: list[BreakdownLine], members: list[list[int]]) -> None:
        """Trim ``lines`` to the group limits (``members``: each group's lines, in rule order)
        and to the total cap and floor, so they add up to the score."""
        total = _ZERO
        for g, chosen in zip(self.groups, members, strict=True):
            value = sum((lines[j].points for j in chosen), _ZERO)
            kept = _bounded(value, g.minimum, g.limit)
            if kept != value:
                over = value > kept
                bound = (g.limit if over else g.minimum) or _ZERO
                label = "limit" if over else "minimum"
                what = f"group {g.name!r} {label} of {_num(bound)}"
                charge(lines, chosen, value - kept, what, mark_cap=g.limit if over else None)
            total += kept
        total += sum((line.points for line in lines if line.group is None), _ZERO)
        kept = self._clamp(total)
        if kept != total:
            what = (
                f"total cap of {_num(self.total_cap)}"
                if total > kept
                else f"floor of {_num(self.floor)}"
            )
            charge(lines, range(len(lines)), total - kept, what)

    def _line(self, events: Sequence[Event], t: _Tally) -> BreakdownLine:
        r, counted, points = t.rule, t.counted, t.points
        head, decayed = self._texts[r.name]
        if r.times is not None:
            verb = "matches" if t.fired else "does not match"
            parts = [f"{len(counted)} x {head.format(verb=verb)}"]
            if t.fired:
                parts.append(f"{_num(r.points)} once")
        else:
            parts = [f"{len(counted)} x {head}"]
        if counted:
            parts.append(f"last on {events[counted[-1]].at.date().isoformat()}")
        if t.skipped and not r.first_only:
            parts.append(f"{t.skipped} more over the daily cap of {r.daily_cap} not counted")
        if decayed and t.fired:
            before = _num(r.points * (1 if r.times else len(counted)))
            parts.append(f"{before} before decay ({decayed}), {_cents(t.raw)} after")
        clipped = r.cap is not None and t.raw > r.cap
        if clipped:
            parts.append(f"limited by the rule cap of {_num(r.cap)}")  # type: ignore[arg-type]
        if r.minimum is not None and t.raw < r.minimum:
            parts.append(f"limited by the rule minimum of {_num(r.minimum)}")
        status = _MATCH if points > 0 else _NO_MATCH if counted else _UNKNOWN
        return trusted_line(
            r.name,
            status,
            points,
            "; ".join(parts),
            len(counted),
            r.cap if clipped else None,
            r.group,
            citations(events, counted),
        )

    def _line_maker(self) -> _LineMaker:
        """``line(j, events, counted, skipped, fired, raw, points, day)``: rule ``j``'s line,
        as :meth:`_line` builds it, with the parts of its reason fixed by the rule and the
        number of events worked out once per batch."""
        rules, texts = self.rules, [self._texts[r.name] for r in self.rules]
        heads: list[dict[int, tuple[str, str]]] = [{} for _ in rules]
        # names trusted_line would pass to the validating constructor keep that path
        build = (
            _BUILD_LINE
            if all(0 < len(r.name) <= 200 and not r.name.isspace() for r in rules)
            else trusted_line
        )

        def line(
            j: int,
            events: Sequence[Event],
            counted: list[int],
            skipped: int,
            fired: bool,
            raw: Decimal,
            points: Decimal,
            day: str,
        ) -> BreakdownLine:
            r = rules[j]
            n = len(counted)
            known = heads[j].get(n)
            if known is None:  # the count decides whether a frequency rule fired
                head, decayed = texts[j]
                if r.times is not None:
                    verb = "matches" if fired else "does not match"
                    first = f"{n} x {head.format(verb=verb)}"
                    if fired:
                        first += f"; {_num(r.points)} once"
                else:
                    first = f"{n} x {head}"
                before = ""
                if decayed and fired:
                    before = (
                        f"; {_num(r.points * (1 if r.times else n))} before decay ({decayed}), "
                    )
                known = heads[j][n] = (f"{first}; last on ", before)
            reason, before = known
            reason += day
            if skipped and not r.first_only:
                reason += f"; {skipped} more over the daily cap of {r.daily_cap} not counted"
            if before:
                reason = f"{reason}{before}{_cents(raw)} after"
            cap, minimum = r.cap, r.minimum
            clipped = cap is not None and raw > cap
            if clipped:
                reason += f"; limited by the rule cap of {_num(cap)}"  # type: ignore[arg-type]
            if minimum is not None and raw < minimum:
                reason += f"; limited by the rule minimum of {_num(minimum)}"
            line: BreakdownLine = build(
                r.name,
                _MATCH if points > 0 else _NO_MATCH,
                points,
                reason,
                n,
                cap if clipped else None,
                r.group,
                citations(events, counted),
            )
            return line

        return line

    def _maker(self, as_of: datetime) -> _ResultMaker:
        """``make(subject, score, verdict, breakdown, band, stale)``: a scored result, as
        :func:`trusted_result` builds it, with what is the same for the batch checked once."""
        name, version, digest = self.name, self.version, self.config_hash
        low, high = self.floor, self.total_cap

        def checked(
            subject: Any,
            score: Decimal,
            verdict: Verdict,
            breakdown: tuple[BreakdownLine, ...],
            band: str,
            stale: bool,
        ) -> QualificationResult:
            return trusted_result(
                name, version, digest, as_of, score, low, high, verdict, _ONE, breakdown,
                band=band, subject_id=subject_id(subject), stale=stale,
            )  # fmt: skip

        if not names_ok(name, version, digest):
            return checked
        build = builder(
            QualificationResult,
            fixed={
                "strategy": name, "strategy_version": version, "config_hash": digest,
                "as_of": as_of, "scale_min": low, "scale_max": high, "coverage": _ONE,
                "grade": None, "knockouts": (), "children": (), "logit": None,
            },
        )  # fmt: skip

        def make(
            subject: Any,
            score: Decimal,
            verdict: Verdict,
            breakdown: tuple[BreakdownLine, ...],
            band: str,
            stale: bool,
        ) -> QualificationResult:
            if not (
                low <= score <= high
                and (not breakdown or sum(map(_POINTS, breakdown), _ZERO) == score)
            ):  # a broken promise: trusted_result says which
                return checked(subject, score, verdict, breakdown, band, stale)
            ident = getattr(subject, "id", None)
            result: QualificationResult = build(
                score, verdict, breakdown, band, None if ident is None else str(ident), stale
            )
            return result

        return make

    def _describe(self, r: Rule, decay: Decay, fades: bool) -> tuple[str, str]:
        """The fixed parts of a rule's reason: what it counts, and its decay (or '')."""
        kinds = "/".join(sorted(r.kinds))
        if r.times is not None:
            op, n, m = r.times
            wanted = f"{n}-{m}" if op == "between" else f"{op.replace('_', ' ')} {n}"
            head = f"{kinds} {{verb}} {wanted} times"
        else:
            first = " (first only)" if r.first_only else ""
            head = f"{kinds}{first} at {_num(r.points)} each"
        decayed = decay.describe() if decay.form != "none" and (r.points > 0 or fades) else ""
        return head, decayed


def engagement(
    name: str,
    rules: Sequence[Rule],
    *,
    decay: Decay | None = None,
    total_cap: Decimal | int | str = 100,
    floor: Decimal | int | str = 0,
    bands: Sequence[Band] = (),
    unmatched: str = "null",
    groups: Sequence[EventGroup] = (),
    decay_negative: bool = False,
) -> StrategyBase:
    """An engagement strategy over ``subject.engagement`` events.

    ``decay`` (default :func:`no_decay`) applies to rules outside a group and
    to groups without their own; ``decay_negative=True`` lets negative
    points fade too.  ``groups`` (:func:`event_group`) limit their rules'
    points together.  The score is kept within ``[floor, total_cap]``
    (HubSpot's limit is 100); lines are trimmed so they still add up (see
    :mod:`~pipelinekit.qualification.limits` for which).  ``bands`` default
    to cold (nurture), warm (review) from 40 % and hot (qualified) from 70 %
    of the scale.  ``unmatched="null"`` (the default) leaves a subject
    without any matching event unscored; ``"zero"`` scores it 0.  When decay
    alone lowers the verdict below what the undecayed points would give, the
    result is marked ``stale``.
    """
    checks = Checks()
    checks.text("$.name", name, required=True, max_length=200)
    built = tuple(rules) if isinstance(rules, Sequence) and not isinstance(rules, str) else ()
    if not built:
        checks.add("$.rules", "needs at least one rule")
    sets = as_list(checks, "$.groups", groups)
    declared: set[str] = set()
    for i, g in enumerate(sets):
        if not isinstance(g, EventGroup):
            checks.add(f"$.groups[{i}]", "must be built with event_group(...)")
        elif g.name in declared:
            checks.add(f"$.groups[{i}].name", f"duplicate group name {g.name!r}")
        else:
            declared.add(g.name)
    names: set[str] = set()
    for i, r in enumerate(built):
        if not isinstance(r, Rule):
            checks.add(f"$.rules[{i}]", "must be built with rule(...)")
            continue
        if r.name in names:
            checks.add(f"$.rules[{i}].name", f"duplicate rule name {r.name!r}")
        names.add(r.name)
        if r.group is not None and r.group not in declared:
            listed = ", ".join(sorted(declared)) or "none declared"
            checks.add(f"$.rules[{i}].group", f"unknown group {r.group!r} (groups: {listed})")
    if decay is not None and not isinstance(decay, Decay):
        checks.add(
            "$.decay", "must be built with half_life, step_decay, linear_decay, window or no_decay"
        )
    if not isinstance(decay_negative, bool):
        checks.add("$.decay_negative", f"must be true or false, got {decay_negative!r}")
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
    return _Engagement(
        name,
        built,
        decay or no_decay(),
        cap,
        low,
        tuple(bands),
        unmatched,
        tuple(sets),
        decay_negative,
    )
