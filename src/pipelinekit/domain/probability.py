"""A win probability with its unit made explicit.

CRMs disagree on units: HubSpot writes ``0.2`` (a fraction), Salesforce and
pipelinekit's own entities ``20`` (percent).  A bare number cannot say which
it is, so every pipelinekit API that *takes* a probability takes a
:class:`Probability`, built with the unit spelt out::

    Probability.percent(35)        # 35 %
    Probability.fraction("0.35")   # the same value
    Probability.of("0.35", "fraction")  # the unit as data (definitions, imports)

The canonical form is an exact percentage (:attr:`Probability.as_percent`,
a ``Decimal`` from 0 to 100), which is what entities and storage keep.
"""

from __future__ import annotations

import enum
from decimal import Decimal
from typing import Any

import attrs

from ._checks import Checks, to_decimal

__all__ = ["Probability", "ProbabilityUnit", "check_probability", "range_problem"]

_HUNDRED = Decimal(100)
_ONE = Decimal(1)
_ZERO = Decimal(0)


class ProbabilityUnit(enum.StrEnum):
    """The unit a probability is written in: ``percent`` (0-100) or ``fraction`` (0-1)."""

    PERCENT = "percent"
    FRACTION = "fraction"

    @property
    def top(self) -> Decimal:
        """The largest value in this unit (100 or 1)."""
        return _HUNDRED if self is ProbabilityUnit.PERCENT else _ONE

    def to_percent(self, value: Decimal) -> Decimal:
        """``value`` (written in this unit) as an exact percentage."""
        if self is ProbabilityUnit.PERCENT:
            return value
        return _normal(value * _HUNDRED)


def _normal(value: Decimal) -> Decimal:
    # 0.35 * 100 is Decimal("35.00"): keep the value, drop the trailing zeros
    # the unit change added, so equal probabilities print alike
    if value == value.to_integral_value():
        return value.quantize(_ONE)
    return value.normalize()


@attrs.frozen(init=False, order=True)
class Probability:
    """A probability from 0 to 100 % (see the module docs); build it with
    :meth:`percent`, :meth:`fraction` or :meth:`of`.

    Instances compare and order by value: ``Probability.percent(35) ==
    Probability.fraction("0.35")``.
    """

    as_percent: Decimal

    def __init__(self, value: Any, unit: ProbabilityUnit | str) -> None:
        checks = Checks()
        chosen = checks.choice("$.unit", ProbabilityUnit, unit)
        number = to_decimal(checks, "$.value", value)
        if chosen is not None and number is not None:
            problem = range_problem(number, chosen)
            if problem is not None:
                checks.add("$.value", problem)
        checks.done(type(self))
        assert chosen is not None
        assert number is not None
        self.__attrs_init__(chosen.to_percent(number))

    @classmethod
    def percent(cls, value: Decimal | int | str) -> Probability:
        """A probability written in percent: ``Probability.percent(35)``."""
        return cls(value, ProbabilityUnit.PERCENT)

    @classmethod
    def fraction(cls, value: Decimal | int | str) -> Probability:
        """A probability written as a fraction of 1: ``Probability.fraction("0.35")``."""
        return cls(value, ProbabilityUnit.FRACTION)

    @classmethod
    def of(cls, value: Decimal | int | str, unit: ProbabilityUnit | str) -> Probability:
        """A probability written in ``unit`` (``"percent"`` or ``"fraction"``)."""
        return cls(value, unit)

    @property
    def as_fraction(self) -> Decimal:
        """The value as an exact fraction of 1 (``Decimal("0.35")``)."""
        return (self.as_percent / _HUNDRED).normalize() if self.as_percent else _ZERO

    def __str__(self) -> str:
        return f"{self.as_percent} %"


def range_problem(value: Decimal, unit: ProbabilityUnit) -> str | None:
    """Why ``value`` is not a probability in ``unit`` (``None`` if it is one)."""
    if _ZERO <= value <= unit.top:
        return None
    if unit is ProbabilityUnit.FRACTION and _ZERO <= value <= _HUNDRED:
        return (
            f"must be a fraction from 0 to 1, got {value}; it looks like a percentage "
            "(use percent / probability_unit = 'percent')"
        )
    return f"must be a number from 0 to {unit.top} ({unit.value}), got {value}"


def check_probability(checks: Checks, path: str, value: object) -> Probability | None:
    """``value`` if it is a :class:`Probability`; ``None`` for ``None``.  Anything else (a bare
    number above all, whose unit cannot be known) is recorded as a problem at ``path`` naming
    the two ways to say the unit.  Every API that takes a probability checks it here."""
    if value is None or isinstance(value, Probability):
        return value
    if isinstance(value, int | float | str | Decimal) and not isinstance(value, bool):
        checks.add(
            path,
            f"a bare number ({value!r}) does not say its unit: pass "
            f"Probability.percent({value!r}) or Probability.fraction({value!r})",
        )
    else:
        checks.add(path, f"must be a Probability, got {type(value).__name__}")
    return None
