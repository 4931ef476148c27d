"""ICP fit scoring: how closely a lead or prospect matches an ideal customer profile.

Criteria read contact, company and lead fields by path (``company.employees``,
``contact.job_title``, ``custom.plan``) and give points: per category
(:func:`one_of`), per numeric band (:func:`bands`), per pattern
(:func:`pattern`), for a field being present (:func:`present`), or from an
app-supplied predicate (:func:`predicate`).  Points are weighted, summed per
group under the group's cap and under a total cap; required criteria and
knockout values disqualify; a per-criterion missing-data policy decides what
an unknown value does.  Every line of the breakdown says why.
"""

from __future__ import annotations

import abc
import enum
import itertools
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any, ClassVar

import attrs

from ..clock import ensure_aware
from ..domain._checks import Checks, to_decimal
from ..domain.money import Money
from ..errors import PipelinekitError, Problem, ValidationError
from ._fields import PERSONAL, getter, is_missing, observed, path_problem
from .base import (
    _UNREADABLE,
    Band,
    Grade,
    StrategyBase,
    band_for,
    check_ascending,
    grade_for,
    subject_id,
)
from .errors import EvaluationError
from .results import (
    BreakdownLine,
    CriterionStatus,
    QualificationResult,
    Verdict,
    trusted_line,
    trusted_result,
)

__all__ = [
    "Criterion",
    "MissingData",
    "NumericBand",
    "bands",
    "icp_fit",
    "one_of",
    "pattern",
    "predicate",
    "present",
]

_ZERO = Decimal(0)
_ONE = Decimal(1)
_CACHE_LIMIT = 100_000  # outcomes/lines kept per criterion (flyweights)

# flags an outcome carries
_KNOWN = 1
_KO = 2
_BLOCK = 4
_UNCONFIRMED = 8

_M = CriterionStatus.MATCH
_P = CriterionStatus.PARTIAL
_N = CriterionStatus.NO_MATCH
_U = CriterionStatus.UNKNOWN
_K = CriterionStatus.KNOCKOUT


class MissingData(enum.StrEnum):
    """What a criterion does when the subject's value is unknown.

    ``neutral``: nothing (0 points, status unknown); ``zero``: counts as a
    no-match (so a required criterion knocks out); ``penalty``: subtracts the
    criterion's ``penalty`` points; ``block``: the subject cannot be scored
    (``score=None``, verdict insufficient data).
    """

    NEUTRAL = "neutral"
    ZERO = "zero"
    PENALTY = "penalty"
    BLOCK = "block"


def _num(value: Decimal) -> str:
    return format(value.normalize(), "f") if value else "0"


def _fmt(points: Decimal) -> str:
    text = _num(points)
    return f"+{text}" if points > 0 else text


def _check_points(checks: Checks, path: str, value: Any) -> Decimal:
    number = to_decimal(checks, path, value)
    return _ZERO if number is None else number


def _frozen_setattr(obj: object, name: str, value: object) -> None:
    object.__setattr__(obj, name, value)


@attrs.frozen(kw_only=True)
class Criterion(abc.ABC):
    """One rule of an ICP.  Build criteria with :func:`one_of`, :func:`bands`,
    :func:`pattern`, :func:`present` or :func:`predicate`.

    Common settings: ``weight`` multiplies the points; ``group`` puts the
    criterion under a group cap; ``missing`` is the missing-data policy
    (:class:`MissingData`) with ``penalty`` points for ``penalty``;
    ``required=True`` turns a no-match into a knockout.
    """

    kind: ClassVar[str] = "criterion"

    name: str
    field: str | None = None
    weight: Decimal = _ONE
    group: str | None = None
    missing: MissingData = MissingData.NEUTRAL
    penalty: Decimal = _ZERO
    required: bool = False

    def _check_common(self, checks: Checks, *, needs_field: bool = True) -> None:
        checks.text("$.name", self.name, required=True, max_length=200)
        if needs_field:
            problem = path_problem(self.field)
            if problem:
                checks.add("$.field", problem)
        weight = to_decimal(checks, "$.weight", self.weight)
        if weight is not None and weight <= 0:
            checks.add("$.weight", f"must be > 0, got {weight}")
        _frozen_setattr(self, "weight", weight if weight is not None else _ONE)
        checks.text("$.group", self.group, required=False, max_length=100)
        missing = self.missing
        if not isinstance(missing, MissingData):
            try:
                missing = MissingData(missing)
            except ValueError:
                choices = ", ".join(m.value for m in MissingData)
                checks.add("$.missing", f"must be one of {choices}; got {self.missing!r}")
                missing = MissingData.NEUTRAL
        _frozen_setattr(self, "missing", missing)
        penalty = _check_points(checks, "$.penalty", self.penalty)
        if penalty < 0:
            checks.add("$.penalty", "give the penalty as a positive number of points to subtract")
        _frozen_setattr(self, "penalty", penalty)
        if missing is MissingData.PENALTY and not penalty:
            checks.add("$.penalty", "missing='penalty' needs penalty points > 0")
        if not isinstance(self.required, bool):
            checks.add("$.required", f"must be true or false, got {self.required!r}")

    @abc.abstractmethod
    def _classify(self, value: Any) -> tuple[CriterionStatus, Decimal, str]:
        """Status, unweighted points and reason for a known value."""

    @abc.abstractmethod
    def _point_values(self) -> Iterable[Decimal]:
        """Every unweighted point value a known value can get."""

    @abc.abstractmethod
    def _settings(self) -> dict[str, Any]:
        """The kind-specific configuration."""

    def _read(self) -> Callable[[Any], Any]:
        assert self.field is not None
        return getter(self.field)

    def config(self) -> dict[str, Any]:
        """This criterion's configuration as plain data."""
        return {
            "kind": self.kind,
            "name": self.name,
            "field": self.field,
            "weight": self.weight,
            "group": self.group,
            "missing": self.missing.value,
            "penalty": self.penalty,
            "required": self.required,
            **self._settings(),
        }

    def bounds(self) -> tuple[Decimal, Decimal]:
        """The lowest and highest weighted points this criterion can give."""
        values = [v * self.weight for v in self._point_values()]
        values.append(_ZERO)
        if self.missing is MissingData.PENALTY:
            values.append(-self.penalty)
        return min(values), max(values)


def _status(points: Decimal, best: Decimal) -> CriterionStatus:
    if points <= 0:
        return _N
    return _M if points >= best else _P


# --- one_of ---------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class _OneOf(Criterion):
    kind: ClassVar[str] = "one_of"

    points: Mapping[str, Decimal]
    default: Decimal = _ZERO
    knockout: frozenset[str] = frozenset()
    case_sensitive: bool = False
    _lookup: dict[str, Decimal] = attrs.field(init=False, eq=False, repr=False)
    _knock: frozenset[str] = attrs.field(init=False, eq=False, repr=False)
    _best: Decimal = attrs.field(init=False, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        checks = Checks()
        self._check_common(checks)
        table: dict[str, Decimal] = {}
        if not isinstance(self.points, Mapping) or not self.points:
            checks.add("$.points", "must map values to points, e.g. {'software': 20}")
        else:
            for key, value in self.points.items():
                if not isinstance(key, str) or not key:
                    checks.add(f"$.points[{key!r}]", "values must be non-empty strings")
                    continue
                table[key] = _check_points(checks, f"$.points.{key}", value)
        _frozen_setattr(self, "points", table)
        _frozen_setattr(self, "default", _check_points(checks, "$.default", self.default))
        knock = self.knockout
        if isinstance(knock, str) or not isinstance(knock, Iterable):
            checks.add("$.knockout", "must be a list of values")
            knock = frozenset()
        else:
            knock = frozenset(knock)
        if not all(isinstance(k, str) and k for k in knock):
            checks.add("$.knockout", "values must be non-empty strings")
            knock = frozenset()
        both = sorted(set(table) & knock)
        if both:
            checks.add("$.knockout", f"{both} also give points: a value is one or the other")
        _frozen_setattr(self, "knockout", knock)
        checks.done(self)
        fold = (lambda s: s) if self.case_sensitive else str.casefold
        _frozen_setattr(self, "_lookup", {fold(k): v for k, v in table.items()})
        _frozen_setattr(self, "_knock", frozenset(fold(k) for k in knock))
        _frozen_setattr(self, "_best", max([*table.values(), self.default]))

    def _key(self, value: Any) -> str:
        text = value.value if isinstance(value, enum.Enum) else str(value)
        return text if self.case_sensitive else text.casefold()

    def _classify(self, value: Any) -> tuple[CriterionStatus, Decimal, str]:
        items = value if isinstance(value, frozenset | set | tuple | list) else (value,)
        best: Decimal | None = None
        hit = ""
        for item in items:
            key = self._key(item)
            if key in self._knock:
                return _K, _ZERO, f"{observed(item)!s} is a knockout value"
            got = self._lookup.get(key)
            if got is not None and (best is None or got > best):
                best, hit = got, str(observed(item))
        if best is None:
            return _status(self.default, self._best), self.default, "not one of the listed values"
        return _status(best, self._best), best, f"{hit} is listed"

    def _point_values(self) -> Iterable[Decimal]:
        return [*self.points.values(), self.default]

    def _settings(self) -> dict[str, Any]:
        return {
            "points": dict(self.points),
            "default": self.default,
            "knockout": sorted(self.knockout),
            "case_sensitive": self.case_sensitive,
        }


def one_of(
    name: str,
    field: str,
    points: Mapping[str, Decimal | int | str],
    *,
    default: Decimal | int | str = 0,
    knockout: Iterable[str] = (),
    case_sensitive: bool = False,
    weight: Decimal | int | str = 1,
    group: str | None = None,
    missing: MissingData | str = MissingData.NEUTRAL,
    penalty: Decimal | int | str = 0,
    required: bool = False,
) -> Criterion:
    """Points per categorical value (``{"software": 20, "fintech": 15}``).

    Matching ignores case unless ``case_sensitive``.  A collection field such
    as ``tags`` gets the best-scoring member.  Values in ``knockout``
    disqualify; any other value gets ``default``.
    """
    return _OneOf(
        name=name,
        field=field,
        points=points,  # type: ignore[arg-type]
        default=default,  # type: ignore[arg-type]
        knockout=knockout,  # type: ignore[arg-type]
        case_sensitive=case_sensitive,
        weight=weight,  # type: ignore[arg-type]
        group=group,
        missing=missing,  # type: ignore[arg-type]
        penalty=penalty,  # type: ignore[arg-type]
        required=required,
    )


# --- bands ----------------------------------------------------------------------------


@attrs.frozen
class NumericBand:
    """Points for values from ``low`` (inclusive) up to ``high`` (exclusive); ``None`` is open.

    At least one of ``low`` and ``high`` is needed.

    ``knockout=True`` makes a value in the band disqualify.
    """

    low: Decimal | None = None
    high: Decimal | None = None
    points: Decimal = _ZERO
    label: str | None = None
    knockout: bool = False

    def __attrs_post_init__(self) -> None:
        checks = Checks()
        low = None if self.low is None else to_decimal(checks, "$.low", self.low)
        high = None if self.high is None else to_decimal(checks, "$.high", self.high)
        points = _check_points(checks, "$.points", self.points)
        if self.low is None and self.high is None:
            checks.add("$", "a band needs low, high or both")
        if low is not None and high is not None and low >= high:
            checks.add("$.high", f"must be greater than low ({low}), got {high}")
        checks.text("$.label", self.label, required=False, max_length=100)
        checks.done(self)
        _frozen_setattr(self, "low", low)
        _frozen_setattr(self, "high", high)
        _frozen_setattr(self, "points", points)

    def describe(self) -> str:
        """``50-200``, ``>= 1000`` or ``< 10``, or the label."""
        if self.label:
            return self.label
        if self.low is not None and self.high is not None:
            return f"{self.low}-{self.high}"
        if self.low is not None:
            return f">= {self.low}"
        return f"< {self.high}"

    def config(self) -> dict[str, Any]:
        """This band as plain data."""
        return {
            "low": self.low,
            "high": self.high,
            "points": self.points,
            "label": self.label,
            "knockout": self.knockout,
        }


@attrs.frozen(kw_only=True)
class _Bands(Criterion):
    kind: ClassVar[str] = "bands"

    bands: tuple[NumericBand, ...]
    default: Decimal = _ZERO
    currency: str | None = None
    _best: Decimal = attrs.field(init=False, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        checks = Checks()
        self._check_common(checks)
        built: list[NumericBand] = []
        items = self.bands
        if isinstance(items, str | bytes) or not isinstance(items, Iterable):
            checks.add("$.bands", "must be a list of bands")
            items = ()
        for i, band in enumerate(items):
            if isinstance(band, NumericBand):
                built.append(band)
            elif isinstance(band, Mapping):
                try:
                    built.append(NumericBand(**band))
                except ValidationError as error:
                    checks.nested(f"$.bands[{i}]", error)
                except TypeError as error:
                    checks.add(
                        f"$.bands[{i}]", f"takes low, high, points, label, knockout ({error})"
                    )
            else:
                checks.add(f"$.bands[{i}]", "must be a NumericBand or a mapping")
        if not built and not any(p.path.startswith("$.bands") for p in checks.problems):
            checks.add("$.bands", "needs at least one band")
        ordered = sorted(built, key=lambda b: b.low if b.low is not None else Decimal("-Infinity"))
        for prev, band in itertools.pairwise(ordered):
            if prev.high is None or band.low is None or band.low < prev.high:
                checks.add("$.bands", f"bands {prev.describe()} and {band.describe()} overlap")
        _frozen_setattr(self, "bands", tuple(ordered))
        _frozen_setattr(self, "default", _check_points(checks, "$.default", self.default))
        if self.currency is not None and (
            not isinstance(self.currency, str) or len(self.currency) != 3
        ):
            checks.add("$.currency", "must be an ISO 4217 code like 'EUR'")
        checks.done(self)
        if self.currency is not None:
            _frozen_setattr(self, "currency", self.currency.upper())
        _frozen_setattr(self, "_best", max([*(b.points for b in ordered), self.default]))

    def _classify(self, value: Any) -> tuple[CriterionStatus, Decimal, str]:
        if isinstance(value, Money):
            if self.currency is not None and value.currency != self.currency:
                return (
                    _U,
                    _ZERO,
                    f"amount in {value.currency}, bands are in {self.currency} (never converted)",
                )
            number = value.amount
        elif isinstance(value, bool) or not isinstance(value, int | Decimal):
            return _U, _ZERO, f"{type(value).__name__} is not a number"
        else:
            number = Decimal(value)
        for band in self.bands:
            if (band.low is None or number >= band.low) and (
                band.high is None or number < band.high
            ):
                if band.knockout:
                    return _K, _ZERO, f"{number} is in knockout band {band.describe()}"
                return _status(band.points, self._best), band.points, f"in band {band.describe()}"
        return _status(self.default, self._best), self.default, "outside every band"

    def _point_values(self) -> Iterable[Decimal]:
        return [*(b.points for b in self.bands), self.default]

    def _settings(self) -> dict[str, Any]:
        return {
            "bands": [b.config() for b in self.bands],
            "default": self.default,
            "currency": self.currency,
        }


def bands(
    name: str,
    field: str,
    ranges: Sequence[NumericBand | Mapping[str, Any] | tuple[Any, ...]],
    *,
    default: Decimal | int | str = 0,
    currency: str | None = None,
    weight: Decimal | int | str = 1,
    group: str | None = None,
    missing: MissingData | str = MissingData.NEUTRAL,
    penalty: Decimal | int | str = 0,
    required: bool = False,
) -> Criterion:
    """Points per numeric band: ``[(None, 10, 0), (10, 200, 10), (200, None, 20)]``.

    Each band is a :class:`NumericBand`, a mapping of its fields, or a tuple
    ``(low, high, points)``; ``low`` is inclusive, ``high`` exclusive.  Money
    fields (``company.annual_revenue``) compare their amount; with ``currency``
    set, an amount in another currency is unknown, never converted.
    """
    items: Any = ranges  # not a list: _Bands refuses it with its path
    if isinstance(ranges, Iterable) and not isinstance(ranges, str | bytes):
        items = [NumericBand(*band) if isinstance(band, tuple) else band for band in ranges]
    return _Bands(
        name=name,
        field=field,
        bands=items,
        default=default,  # type: ignore[arg-type]
        currency=currency,
        weight=weight,  # type: ignore[arg-type]
        group=group,
        missing=missing,  # type: ignore[arg-type]
        penalty=penalty,  # type: ignore[arg-type]
        required=required,
    )


# --- pattern --------------------------------------------------------------------------


@attrs.frozen
class _Rule:
    regex: str
    points: Decimal
    label: str
    knockout: bool
    compiled: re.Pattern[str] = attrs.field(eq=False, repr=False)


@attrs.frozen(kw_only=True)
class _Pattern(Criterion):
    kind: ClassVar[str] = "pattern"

    patterns: tuple[_Rule, ...]
    default: Decimal = _ZERO
    _best: Decimal = attrs.field(init=False, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        checks = Checks()
        self._check_common(checks)
        _frozen_setattr(self, "default", _check_points(checks, "$.default", self.default))
        if not self.patterns:
            checks.add("$.patterns", "needs at least one pattern")
        checks.done(self)
        _frozen_setattr(self, "_best", max([*(r.points for r in self.patterns), self.default]))

    def _classify(self, value: Any) -> tuple[CriterionStatus, Decimal, str]:
        text = value.value if isinstance(value, enum.Enum) else str(value)
        for rule in self.patterns:
            if rule.compiled.search(text):
                if rule.knockout:
                    return _K, _ZERO, f"matches knockout pattern {rule.label}"
                return _status(rule.points, self._best), rule.points, f"matches {rule.label}"
        return _status(self.default, self._best), self.default, "matches no pattern"

    def _point_values(self) -> Iterable[Decimal]:
        return [*(r.points for r in self.patterns), self.default]

    def _settings(self) -> dict[str, Any]:
        return {
            "patterns": [
                {"regex": r.regex, "points": r.points, "label": r.label, "knockout": r.knockout}
                for r in self.patterns
            ],
            "default": self.default,
        }


def pattern(
    name: str,
    field: str,
    patterns: Mapping[str, Decimal | int | str] | Sequence[Mapping[str, Any]],
    *,
    default: Decimal | int | str = 0,
    case_sensitive: bool = False,
    weight: Decimal | int | str = 1,
    group: str | None = None,
    missing: MissingData | str = MissingData.NEUTRAL,
    penalty: Decimal | int | str = 0,
    required: bool = False,
) -> Criterion:
    """Points for the first matching regular expression, e.g. job title to seniority.

    ``patterns`` maps regex to points (``{r"\\b(cto|ceo|vp)\\b": 20}``) or is a
    list of ``{"regex": ..., "points": ..., "label": ..., "knockout": ...}``;
    they are tried in order and searched anywhere in the text (case-insensitive
    unless ``case_sensitive``).
    """
    checks = Checks()
    specs: list[Mapping[str, Any]]
    if isinstance(patterns, Mapping):
        specs = [{"regex": k, "points": v} for k, v in patterns.items()]
    elif isinstance(patterns, str) or not isinstance(patterns, Sequence):
        checks.add("$.patterns", "must map regular expressions to points")
        specs = []
    else:
        specs = list(patterns)
    rules: list[_Rule] = []
    flags = 0 if case_sensitive else re.IGNORECASE
    for i, spec in enumerate(specs):
        path = f"$.patterns[{i}]"
        if not isinstance(spec, Mapping):
            checks.add(path, "must be a mapping with regex and points")
            continue
        unknown = set(spec) - {"regex", "points", "label", "knockout"}
        if unknown:
            checks.add(path, f"unknown keys {sorted(unknown)}: use regex, points, label, knockout")
        regex = spec.get("regex")
        if not isinstance(regex, str) or not regex:
            checks.add(f"{path}.regex", "must be a non-empty regular expression")
            continue
        try:
            compiled = re.compile(regex, flags)
        except re.error as error:
            checks.add(f"{path}.regex", f"invalid regular expression: {error}")
            continue
        points = _check_points(checks, f"{path}.points", spec.get("points", 0))
        label = spec.get("label") or f"/{regex}/"
        if not isinstance(label, str):
            checks.add(f"{path}.label", "must be a string")
            label = f"/{regex}/"
        knockout = spec.get("knockout", False)
        if not isinstance(knockout, bool):
            checks.add(f"{path}.knockout", "must be true or false")
            knockout = False
        rules.append(_Rule(regex, points, label, knockout, compiled))
    try:
        built = _Pattern(
            name=name,
            field=field,
            patterns=tuple(rules),
            default=default,  # type: ignore[arg-type]
            weight=weight,  # type: ignore[arg-type]
            group=group,
            missing=missing,  # type: ignore[arg-type]
            penalty=penalty,  # type: ignore[arg-type]
            required=required,
        )
    except ValidationError as error:
        checks.problems.extend(p for p in error.problems if p.path != "$.patterns" or specs == [])
    checks.done(_Pattern)
    return built


# --- present --------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class _Present(Criterion):
    kind: ClassVar[str] = "present"

    points: Decimal = _ONE
    absent: Decimal = _ZERO

    def __attrs_post_init__(self) -> None:
        checks = Checks()
        self._check_common(checks)
        _frozen_setattr(self, "points", _check_points(checks, "$.points", self.points))
        _frozen_setattr(self, "absent", _check_points(checks, "$.absent", self.absent))
        checks.done(self)

    def _read(self) -> Callable[[Any], Any]:
        # Read presence, not the value: outcomes are cached per value, and a
        # value such as an email address is different for every lead.
        get = super()._read()
        return lambda subject: not is_missing(get(subject))

    def _classify(self, value: Any) -> tuple[CriterionStatus, Decimal, str]:
        if value is False or is_missing(value):
            return _status(self.absent, self.points), self.absent, f"{self.field} is missing"
        return _status(self.points, self.points), self.points, f"{self.field} is present"

    def _point_values(self) -> Iterable[Decimal]:
        return [self.points, self.absent]

    def _settings(self) -> dict[str, Any]:
        return {"points": self.points, "absent": self.absent}


def present(
    name: str,
    field: str,
    *,
    points: Decimal | int | str = 1,
    absent: Decimal | int | str = 0,
    weight: Decimal | int | str = 1,
    group: str | None = None,
    required: bool = False,
) -> Criterion:
    """Points when ``field`` has a value (a work email, a phone number); ``absent`` otherwise.

    Presence is what this criterion checks, so a missing value is a no-match,
    not unknown, and the value itself is never shown (only whether it is there).
    """
    return _Present(
        name=name,
        field=field,
        points=points,  # type: ignore[arg-type]
        absent=absent,  # type: ignore[arg-type]
        weight=weight,  # type: ignore[arg-type]
        group=group,
        required=required,
    )


# --- predicate ------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class _Predicate(Criterion):
    kind: ClassVar[str] = "predicate"

    test: Callable[[Any], bool | None] = attrs.field(eq=False)
    points: Decimal = _ONE
    otherwise: Decimal = _ZERO
    knockout: bool = False
    description: str | None = None

    def __attrs_post_init__(self) -> None:
        checks = Checks()
        self._check_common(checks, needs_field=False)
        if not callable(self.test):
            checks.add("$.test", "must be a callable taking the subject, returning True/False/None")
        _frozen_setattr(self, "points", _check_points(checks, "$.points", self.points))
        _frozen_setattr(self, "otherwise", _check_points(checks, "$.otherwise", self.otherwise))
        checks.done(self)

    def _read(self) -> Callable[[Any], Any]:
        test = self.test
        name = self.name

        def read(subject: Any) -> Any:
            try:
                answer = test(subject)
            except Exception as error:
                raise EvaluationError(
                    f"predicate {name!r}", subject_id(subject), f"{type(error).__name__}: {error}"
                ) from error
            if answer is not None and not isinstance(answer, bool):
                raise EvaluationError(
                    f"predicate {name!r}",
                    subject_id(subject),
                    f"must return True, False or None, got {type(answer).__name__}",
                )
            return answer

        return read

    def _classify(self, value: Any) -> tuple[CriterionStatus, Decimal, str]:
        what = self.description or self.name
        if value:
            return _status(self.points, self.points), self.points, f"{what}: yes"
        if self.knockout:
            return _K, _ZERO, f"{what}: no (knockout)"
        return _status(self.otherwise, self.points), self.otherwise, f"{what}: no"

    def _point_values(self) -> Iterable[Decimal]:
        return [self.points, self.otherwise]

    def _settings(self) -> dict[str, Any]:
        test = self.test
        label = f"{getattr(test, '__module__', '?')}.{getattr(test, '__qualname__', repr(test))}"
        return {
            "test": label,
            "points": self.points,
            "otherwise": self.otherwise,
            "knockout": self.knockout,
            "description": self.description,
        }


def predicate(
    name: str,
    test: Callable[[Any], bool | None],
    *,
    points: Decimal | int | str = 1,
    otherwise: Decimal | int | str = 0,
    knockout: bool = False,
    description: str | None = None,
    weight: Decimal | int | str = 1,
    group: str | None = None,
    missing: MissingData | str = MissingData.NEUTRAL,
    penalty: Decimal | int | str = 0,
    required: bool = False,
) -> Criterion:
    """An app-supplied test: ``test(subject)`` returns True (``points``), False
    (``otherwise``, or a knockout with ``knockout=True``) or None (unknown).

    The test must be deterministic; it is named by its qualified name in the
    configuration hash.  An exception inside it becomes an
    :class:`~pipelinekit.qualification.errors.EvaluationError` naming the subject.
    """
    return _Predicate(
        name=name,
        test=test,
        points=points,  # type: ignore[arg-type]
        otherwise=otherwise,  # type: ignore[arg-type]
        knockout=knockout,
        description=description,
        weight=weight,  # type: ignore[arg-type]
        group=group,
        missing=missing,  # type: ignore[arg-type]
        penalty=penalty,  # type: ignore[arg-type]
        required=required,
    )


# --- compiled criteria ----------------------------------------------------------------

_Outcome = tuple[Decimal, int]  # weighted points, flags
_Explained = tuple[BreakdownLine, int]


class _Plan:
    """One criterion prepared for fast evaluation: a reader and two outcome caches."""

    __slots__ = (
        "criterion",
        "explained",
        "group",
        "hide",
        "missing_line",
        "missing_outcome",
        "outcomes",
        "read",
        "tagged",
    )

    def __init__(self, criterion: Criterion, group: int) -> None:
        self.criterion = criterion
        self.group = group
        self.read = criterion._read()
        self.hide = criterion.field in PERSONAL
        field = criterion.field or ""
        self.tagged = field.startswith("custom.") and not isinstance(criterion, _Present)
        self.outcomes: dict[Any, _Outcome] = {}
        self.explained: dict[Any, _Explained] = {}
        status, points, reason, flags = self._unknown()
        self.missing_outcome: _Outcome = (points, flags)
        self.missing_line: _Explained = (self._line(status, points, reason, None), flags)

    def _unknown(self) -> tuple[CriterionStatus, Decimal, str, int]:
        c = self.criterion
        policy = c.missing
        if isinstance(c, _Present):
            status, points, reason = c._classify(None)
            points = points * c.weight
            if c.required and status is _N:
                return _K, points, reason + "; required", _KO
            return status, points, reason, _KNOWN
        if policy is MissingData.ZERO:
            if c.required:
                return _K, _ZERO, "no data, counted as no match; required", _KO
            return _N, _ZERO, "no data, counted as no match", 0
        if policy is MissingData.PENALTY:
            flags = _UNCONFIRMED if c.required else 0
            return _U, -c.penalty, f"no data: penalty {_fmt(-c.penalty)}", flags
        if policy is MissingData.BLOCK:
            return _U, _ZERO, "no data: this criterion is needed to score", _BLOCK
        flags = _UNCONFIRMED if c.required else 0
        return _U, _ZERO, "no data (neutral)", flags

    def _known(self, value: Any) -> tuple[CriterionStatus, Decimal, str, int]:
        c = self.criterion
        status, points, reason = c._classify(value)
        if status is _U:
            policy_status, policy_points, policy_reason, flags = self._unknown()
            return policy_status, policy_points, f"{reason}; {policy_reason}", flags
        weighted = points * c.weight
        if c.weight != _ONE and points:
            reason = f"{reason} ({_fmt(points)} x weight {_num(c.weight)})"
        if status is _K:
            return _K, weighted, reason, _KNOWN | _KO
        if c.required and status is _N:
            return _K, weighted, f"{reason}; required", _KNOWN | _KO
        return status, weighted, reason, _KNOWN

    def _line(
        self, status: CriterionStatus, points: Decimal, reason: str, value: Any
    ) -> BreakdownLine:
        c = self.criterion
        if isinstance(c, _Present):
            shown: Any = value is not None and value is not False and not is_missing(value)
        elif self.hide:
            shown = None if value is None else not is_missing(value)
        else:
            shown = observed(value)
        if isinstance(c, _Predicate):
            shown = value
        evidence = (f"$.{c.field}",) if c.field else ()
        return trusted_line(c.name, status, points, reason, shown, None, c.group, evidence)

    def key(self, value: Any) -> Any:
        # Custom fields mix types, and True == 1 == Decimal(1) in a dict: key
        # their outcomes by type as well so each keeps its own line.
        return (value.__class__, value) if self.tagged else value

    def outcome(self, value: Any) -> _Outcome:
        if value is None:
            return self.missing_outcome
        try:
            key = self.key(value)
            found = self.outcomes.get(key)
        except TypeError:
            found, cacheable = None, False
        else:
            cacheable = True
        if found is None:
            if is_missing(value) and not isinstance(self.criterion, _Present):
                found = self.missing_outcome
            else:
                _, points, _, flags = self._known(value)
                found = (points, flags)
            if cacheable and len(self.outcomes) < _CACHE_LIMIT:
                self.outcomes[key] = found
        return found

    def explain(self, value: Any) -> _Explained:
        if value is None:
            return self.missing_line
        try:
            key = self.key(value)
            found = self.explained.get(key)
        except TypeError:
            found, cacheable = None, False
        else:
            cacheable = True
        if found is None:
            if is_missing(value) and not isinstance(self.criterion, _Present):
                found = self.missing_line
            else:
                status, points, reason, flags = self._known(value)
                found = (self._line(status, points, reason, value), flags)
            if cacheable and len(self.explained) < _CACHE_LIMIT:
                self.explained[key] = found
        return found


def _expr(plan: _Plan, i: int, env: dict[str, Any], direct: bool) -> tuple[str, set[str]]:
    """Source for reading criterion ``i``'s value, and the subject roots it needs.

    ``direct`` reads nested attributes with plain attribute access (fast, for the
    domain's own types); otherwise with ``getattr(..., None)`` (any object).
    """
    field = plan.criterion.field
    if field is None:  # predicates read the subject themselves
        env[f"R{i}"] = plan.read
        return f"R{i}(subject)", set()
    if isinstance(plan.criterion, _Present):  # presence, as a bool (see _Present._read)
        inner, roots = _expr_path(field, i, env, direct)
        env["_COLLECTIONS"] = (frozenset, set, tuple, list)
        return (
            f"(_t{i} := {inner}) is not None"
            f" and not (_t{i}.__class__ is str and not _t{i}.strip())"
            f" and not (_t{i}.__class__ in _COLLECTIONS and not _t{i})",
            roots,
        )
    return _expr_path(field, i, env, direct)


def _expr_path(field: str, i: int, env: dict[str, Any], direct: bool) -> tuple[str, set[str]]:
    root, _, rest = field.partition(".")
    if root == "custom":
        env[f"K{i}"] = rest
        return f"(None if _custom is None else _custom.get(K{i}))", {"custom"}
    if not rest:
        return f"getattr(subject, {root!r}, None)", set()
    var = f"_{root}"
    expr = var
    for part in rest.split("."):
        read = f"{expr}.{part}" if direct else f"getattr({expr}, {part!r}, None)"
        expr = f"(None if {expr} is None else {read})"
    return expr, {root}


def _generate(
    plans: Sequence[_Plan],
    caps: Sequence[Decimal | None],
    total_cap: Decimal | None,
    explain: bool,
    safe: Callable[[Any], Any] | None = None,
) -> Callable[[Any], Any]:
    """Compile the per-subject loop into one function (no call per criterion on cache hits).

    Returns ``(items, flags, known, score, over)``: items are breakdown lines
    (``explain``) or each criterion's flags; ``score`` has every cap applied; ``over`` says
    whether a cap cut anything (then the lines still need trimming).  Given a
    ``safe`` variant, nested fields are read with plain attribute access and a
    subject lacking one falls back to ``safe``.
    """
    direct = safe is not None
    env: dict[str, Any] = {"_ZERO": _ZERO, "TOTAL": total_cap}
    groups = len(caps)
    body = ["def run(subject):"]
    roots: set[str] = set()
    reads = []
    for i, plan in enumerate(plans):
        expr, needs = _expr(plan, i, env, direct)
        roots |= needs
        reads.append(expr)
        env[f"C{i}"] = plan.explained if explain else plan.outcomes
        env[f"S{i}"] = plan.explain if explain else plan.outcome
    if "contact" in roots:
        body.append("    _contact = getattr(subject, 'contact', None)")
        body.append("    if _contact is None: _contact = getattr(subject, 'person', None)")
    for root in sorted(roots - {"contact", "custom"}):
        body.append(f"    _{root} = getattr(subject, {root!r}, None)")
    if "custom" in roots:
        body.append("    _custom = getattr(subject, 'custom', None)")
    for i, (expr, plan) in enumerate(zip(reads, plans, strict=True)):
        body.append(f"    v{i} = ({expr})")
        # each criterion's own key style (see _Plan.key); an unhashable value
        # (a list in a field) misses the cache and goes to the safe reader
        key = f"(v{i}.__class__, v{i})" if plan.tagged else f"v{i}"
        body.append("    try:")
        body.append(f"        o{i} = C{i}.get({key})")
        body.append("    except TypeError:")
        body.append(f"        o{i} = None")
        body.append(f"    if o{i} is None: o{i} = S{i}(v{i})")
        body.append(f"    i{i} = o{i}[0]")
        body.append(f"    f{i} = o{i}[1]")
    n = len(plans)
    suffix = ".points" if explain else ""

    def value(i: int) -> str:
        return f"i{i}{suffix}"

    # explained: the breakdown lines; scores only: each criterion's flags
    items = ", ".join(f"i{i}" if explain else f"f{i}" for i in range(n))
    flags = " | ".join(f"f{i}" for i in range(n))
    known = " + ".join(f"(f{i} & 1)" for i in range(n))
    terms = [value(i) for i, p in enumerate(plans) if p.group < 0]
    over = []
    for g in range(groups):
        members = [value(i) for i, p in enumerate(plans) if p.group == g]
        body.append(f"    g{g} = {' + '.join(members) if members else '_ZERO'}")
        if caps[g] is None:
            terms.append(f"g{g}")
        else:
            env[f"CAP{g}"] = caps[g]
            terms.append(f"(g{g} if g{g} <= CAP{g} else CAP{g})")
            over.append(f"g{g} > CAP{g}")
    body.append(f"    t = {' + '.join(terms) if terms else '_ZERO'}")
    if total_cap is not None:
        over.append("t > TOTAL")
        body.append("    over = " + (" or ".join(over)))
        body.append("    if t > TOTAL: t = TOTAL")
    else:
        body.append("    over = " + (" or ".join(over) if over else "False"))
    body.append(f"    return ({items},), {flags}, {known}, t, over")
    if safe is not None:
        env["SAFE"] = safe
        body = [body[0], "    try:", *("    " + line for line in body[1:])]
        body += ["    except AttributeError:", "        return SAFE(subject)"]
    exec(compile("\n".join(body), "<pipelinekit icp>", "exec"), env)
    return env["run"]  # type: ignore[no-any-return]


# --- the strategy ---------------------------------------------------------------------


def _pct(scale_min: Decimal, scale_max: Decimal, share: str) -> Decimal:
    return (scale_min + (scale_max - scale_min) * Decimal(share)).quantize(Decimal("0.01"))


class _IcpFit(StrategyBase):
    version = "1"

    def __init__(
        self,
        name: str,
        criteria: Sequence[Criterion],
        groups: Mapping[str, Decimal | None],
        total_cap: Decimal | None,
        bands: tuple[Band, ...],
        grades: tuple[Grade, ...],
        min_coverage: Decimal,
    ) -> None:
        self.name = name
        self.criteria = tuple(criteria)
        self.groups = dict(groups)
        self.total_cap = total_cap
        self.min_coverage = min_coverage
        names = list(self.groups)
        self._group_caps: list[Decimal | None] = [self.groups[g] for g in names]
        self._group_names = names
        self._plans = [
            _Plan(c, names.index(c.group) if c.group is not None else -1) for c in self.criteria
        ]
        for plan in self._plans:
            plan.outcomes[plan.key(None)] = plan.missing_outcome
            plan.explained[plan.key(None)] = plan.missing_line
        caps = self._group_caps
        self._run_scores = _generate(
            self._plans, caps, total_cap, False, _generate(self._plans, caps, total_cap, False)
        )
        self._run_lines = _generate(
            self._plans, caps, total_cap, True, _generate(self._plans, caps, total_cap, True)
        )
        self._members = [
            [j for j, p in enumerate(self._plans) if p.group == i] for i in range(len(names))
        ]
        self._everyone = list(range(len(self._plans)))
        self._capped = total_cap is not None or any(cap is not None for cap in self._group_caps)
        low = high = _ZERO
        per_group_high = [_ZERO] * len(names)
        for c, plan in zip(self.criteria, self._plans, strict=True):
            lo, hi = c.bounds()
            low += lo
            if plan.group >= 0:
                per_group_high[plan.group] += hi
            else:
                high += hi
        for i, hi in enumerate(per_group_high):
            cap = self._group_caps[i]
            high += hi if cap is None else min(hi, cap)
        if total_cap is not None:
            high = min(high, total_cap)
        self.scale_min, self.scale_max = low, max(high, low)
        self.bands = bands or tuple(
            b
            for b in (
                Band("low", self.scale_min, Verdict.DISQUALIFIED),
                Band("medium", _pct(low, high, "0.4"), Verdict.NURTURE),
                Band("high", _pct(low, high, "0.7"), Verdict.QUALIFIED),
            )
            if b.name == "low" or b.min > self.scale_min
        )
        self.grades = grades or (
            Grade("D", self.scale_min),
            Grade("C", _pct(low, high, "0.25")),
            Grade("B", _pct(low, high, "0.5")),
            Grade("A", _pct(low, high, "0.75")),
        )
        self._graded: dict[Decimal, tuple[str, Verdict, str | None]] = {}
        self._check_coverage = min_coverage > 0
        count = len(self.criteria)
        self._coverage = [
            (Decimal(k) / count).quantize(Decimal("0.0001")) for k in range(count + 1)
        ]

    def config(self) -> dict[str, Any]:
        return {
            "kind": "icp",
            "name": self.name,
            "criteria": [c.config() for c in self.criteria],
            "groups": self.groups,
            "total_cap": self.total_cap,
            "bands": [{"name": b.name, "min": b.min, "verdict": b.verdict} for b in self.bands],
            "grades": [{"letter": g.letter, "min": g.min} for g in self.grades],
            "min_coverage": self.min_coverage,
        }

    # score-only fast path: no BreakdownLine objects at all
    def _score(self, subject: Any) -> tuple[Decimal | None, int, int]:
        _, flags, known, total, _ = self._run_scores(subject)
        if flags & _BLOCK:
            return None, flags, known
        return total, flags, known

    def _trim(self, lines: list[BreakdownLine]) -> list[BreakdownLine]:
        """Trim lines so each group stays under its cap and the total under the total cap."""
        total = _ZERO
        loose = _ZERO
        for i, cap in enumerate(self._group_caps):
            members = self._members[i]
            value = sum((lines[j].points for j in members), _ZERO)
            if cap is not None and value > cap:
                what = f"group {self._group_names[i]!r} cap"
                _cap_lines(lines, members, value - cap, cap, what)
                value = cap
            total += value
        for j, plan in enumerate(self._plans):
            if plan.group < 0:
                loose += lines[j].points
        total += loose
        if self.total_cap is not None and total > self.total_cap:
            _cap_lines(lines, self._everyone, total - self.total_cap, self.total_cap, "total cap")
        return lines

    def _evaluate(self, subject: Any, as_of: datetime, explain: bool) -> QualificationResult:
        if explain:
            breakdown, flags, known, total, over = self._run_lines(subject)
            if over:
                breakdown = tuple(self._trim(list(breakdown)))
            knockouts: tuple[str, ...] = ()
            if flags & _KO:
                knockouts = tuple(line.criterion for line in breakdown if line.status is _K)
        else:
            each, flags, known, total, over = self._run_scores(subject)
            breakdown = ()
            knockouts = ()
            if flags & _KO:
                knockouts = tuple(
                    c.name for c, f in zip(self.criteria, each, strict=True) if f & _KO
                )
        coverage = self._coverage[known]
        score: Decimal | None = total
        band: str | None = None
        grade: str | None = None
        if flags & _BLOCK:
            score = None
            verdict = Verdict.INSUFFICIENT_DATA
        else:
            graded = self._graded.get(total)
            if graded is None:
                chosen = band_for(self.bands, total)
                graded = (chosen.name, chosen.verdict, grade_for(self.grades, total))
                if len(self._graded) < _CACHE_LIMIT:
                    self._graded[total] = graded
            band, verdict, grade = graded
            if flags & _KO:
                verdict = Verdict.DISQUALIFIED
            elif flags & _UNCONFIRMED or (self._check_coverage and coverage < self.min_coverage):
                verdict = Verdict.INSUFFICIENT_DATA
        ident = getattr(subject, "id", None)
        # The strategy's names, scale and coverage table were validated when it
        # was built; trusted_result still checks the scale and the exact sum.
        return trusted_result(
            self.name,
            self.version,
            self._hash or self.config_hash,
            as_of,
            score,
            self.scale_min,
            self.scale_max,
            verdict,
            coverage,
            breakdown,
            grade,
            band,
            knockouts,
            None if ident is None else str(ident),
        )

    def score_many(self, subjects: Iterable[Any], *, as_of: datetime) -> list[Decimal | None]:
        """Just the scores, through the fast path (no results, no breakdown lines)."""
        ensure_aware(as_of, "as_of")
        if isinstance(subjects, str | bytes) or not isinstance(subjects, Iterable):
            raise ValidationError(
                "score_many",
                [Problem("$.subjects", f"must be a list, got {type(subjects).__name__}")],
            )
        run = self._score
        last: Any = None
        try:
            return [run(last := s)[0] for s in subjects]
        except PipelinekitError:
            raise
        except _UNREADABLE as error:
            raise self._unreadable(last, error) from error


def _cap_lines(
    lines: list[BreakdownLine], members: list[int], excess: Decimal, cap: Decimal, what: str
) -> None:
    """Trim ``excess`` positive points from the last ``members`` lines backwards."""
    for j in reversed(members):
        if excess <= 0:
            break
        line = lines[j]
        if line.points <= 0:
            continue
        cut = min(line.points, excess)
        excess -= cut
        kept = line.points - cut
        lines[j] = attrs.evolve(
            line,
            points=kept,
            cap=cap,
            reason=f"{line.reason}; {_num(line.points)} points limited to {_num(kept)} "
            f"by the {what} of {_num(cap)}",
        )


def icp_fit(
    name: str,
    criteria: Sequence[Criterion],
    *,
    groups: Mapping[str, Decimal | int | str | None] | None = None,
    total_cap: Decimal | int | str | None = None,
    bands: Sequence[Band] = (),
    grades: Sequence[Grade] = (),
    min_coverage: Decimal | int | str = 0,
) -> StrategyBase:
    """An ICP fit strategy: the sum of its criteria's points, explained line by line.

    ``groups`` maps group names to caps (``None``: uncapped); a criterion's
    points count toward its group's cap, and all points toward ``total_cap``
    (HubSpot's default limit is 100).  A capped line says so and keeps the
    breakdown adding up exactly.  ``bands`` (ascending) set the verdict by
    score; the default is *low* (disqualified) below 40 % of the scale,
    *medium* (nurture) from 40 %, *high* (qualified) from 70 %.  ``grades``
    (ascending) default to D, C, B, A at 0/25/50/75 %.  Below
    ``min_coverage`` (the share of criteria with known data) the verdict is
    insufficient data.
    """
    checks = Checks()
    checks.text("$.name", name, required=True, max_length=200)
    caps: dict[str, Decimal | None] = {}
    if groups is not None and not isinstance(groups, Mapping):
        checks.add("$.groups", f"must map group names to caps, got {type(groups).__name__}")
        groups = None
    for key, cap in (groups or {}).items():
        if not isinstance(key, str) or not key:
            checks.add("$.groups", f"group names are non-empty strings, got {key!r}")
            continue
        if cap is None:
            caps[key] = None
            continue
        value = to_decimal(checks, f"$.groups.{key}", cap)
        if value is not None and value <= 0:
            checks.add(f"$.groups.{key}", f"a cap must be > 0, got {value}")
        caps[key] = value
    total = None if total_cap is None else to_decimal(checks, "$.total_cap", total_cap)
    if total is not None and total <= 0:
        checks.add("$.total_cap", f"must be > 0, got {total}")
    coverage = to_decimal(checks, "$.min_coverage", min_coverage)
    if coverage is not None and not 0 <= coverage <= 1:
        checks.add("$.min_coverage", f"must be between 0 and 1, got {coverage}")
    seen: set[str] = set()
    if isinstance(criteria, str) or not isinstance(criteria, Sequence) or not criteria:
        checks.add("$.criteria", "needs at least one criterion")
        criteria = ()
    for i, criterion in enumerate(criteria):
        if not isinstance(criterion, Criterion):
            checks.add(f"$.criteria[{i}]", "must be built with one_of, bands, pattern, ...")
            continue
        if criterion.name in seen:
            checks.add(f"$.criteria[{i}].name", f"duplicate criterion name {criterion.name!r}")
        seen.add(criterion.name)
        if criterion.group is not None and criterion.group not in caps:
            listed = ", ".join(sorted(caps)) or "none declared"
            checks.add(
                f"$.criteria[{i}].group",
                f"unknown group {criterion.group!r} (groups: {listed}); declare it in groups",
            )
    for label, items in (("bands", bands), ("grades", grades)):
        if isinstance(items, str) or not isinstance(items, Sequence):
            checks.add(f"$.{label}", f"must be a list, got {type(items).__name__}")
            continue
        for i, item in enumerate(items):
            wanted = Band if label == "bands" else Grade
            if not isinstance(item, wanted):
                checks.add(f"$.{label}[{i}]", f"must be a {wanted.__name__}")
    if not checks.problems:
        check_ascending(checks, "$.bands", list(bands))
        check_ascending(checks, "$.grades", list(grades))
    if checks.problems:
        raise ValidationError("icp_fit", checks.problems)
    return _IcpFit(
        name,
        criteria,
        caps,
        total,
        tuple(bands),
        tuple(grades),
        coverage if coverage is not None else _ZERO,
    )
