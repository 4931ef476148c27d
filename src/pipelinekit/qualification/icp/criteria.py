"""The ICP criterion model, one cohesive module: the criterion base and its five kinds.

Criteria read contact, company and lead fields by path (``company.employees``,
``contact.job_title``, ``custom.plan``) and give points: per category
(:func:`one_of`), per numeric band (:func:`bands`), per pattern
(:func:`pattern`), for a field being present (:func:`present`), or from an
app-supplied predicate (:func:`predicate`).  A per-criterion missing-data
policy (:class:`MissingData`) decides what an unknown value does.

Each kind is a public factory over a private class: the factory checks every
setting and raises one :class:`~pipelinekit.ValidationError` listing every
problem, then builds the criterion from the checked values, so its fields
hold exactly the types they declare.
"""

from __future__ import annotations

import abc
import enum
import itertools
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any, ClassVar

import attrs

from ...domain._checks import Checks, to_decimal
from ...domain.money import Money
from ...domain.results import CriterionStatus
from ...errors import ValidationError
from .._fields import getter, is_missing, observed, path_problem
from ..base import subject_id
from ..errors import EvaluationError

__all__ = [
    "Criterion",
    "all_of",
    "MissingData",
    "NumericBand",
    "bands",
    "one_of",
    "pattern",
    "predicate",
    "present",
]

_ZERO = Decimal(0)
_ONE = Decimal(1)
_M = CriterionStatus.MATCH
_P = CriterionStatus.PARTIAL
_N = CriterionStatus.NO_MATCH
_U = CriterionStatus.UNKNOWN
_K = CriterionStatus.KNOCKOUT

#: What ``classify`` returns: status, unweighted points and the reason.
Classified = tuple[CriterionStatus, Decimal, str]
Points = Decimal | int | str


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


def num(value: Decimal) -> str:
    """A number as breakdown reasons show it (``12.5``, ``0``)."""
    return format(value.normalize(), "f") if value else "0"


def signed(points: Decimal) -> str:
    """Points with their sign (``+20``, ``-5``, ``0``)."""
    text = num(points)
    return f"+{text}" if points > 0 else text


def _points(checks: Checks, path: str, value: object) -> Decimal:
    number = to_decimal(checks, path, value)
    return _ZERO if number is None else number


def _derive(criterion: Criterion, name: str, value: object) -> None:
    # a derived (init=False) field, computed once from the checked settings
    object.__setattr__(criterion, name, value)


@attrs.frozen
class _Common:
    weight: Decimal
    missing: MissingData
    penalty: Decimal


def _common(
    checks: Checks,
    *,
    name: object,
    field: object,
    weight: object,
    group: object,
    missing: object,
    penalty: object,
    required: object,
    needs_field: bool = True,
) -> _Common:
    """Check the settings every criterion has; return the normalised ones."""
    checks.text("$.name", name, required=True, max_length=200)
    if needs_field:
        problem = path_problem(field)
        if problem:
            checks.add("$.field", problem)
    factor = to_decimal(checks, "$.weight", weight)
    if factor is not None and factor <= 0:
        checks.add("$.weight", f"must be > 0, got {factor}")
    checks.text("$.group", group, required=False, max_length=100)
    policy = MissingData.NEUTRAL
    if isinstance(missing, MissingData):
        policy = missing
    elif isinstance(missing, str) and missing in {m.value for m in MissingData}:
        policy = MissingData(missing)
    else:
        choices = ", ".join(m.value for m in MissingData)
        checks.add("$.missing", f"must be one of {choices}; got {missing!r}")
    subtract = _points(checks, "$.penalty", penalty)
    if subtract < 0:
        checks.add("$.penalty", "give the penalty as a positive number of points to subtract")
    if policy is MissingData.PENALTY and not subtract:
        checks.add("$.penalty", "missing='penalty' needs penalty points > 0")
    if not isinstance(required, bool):
        checks.add("$.required", f"must be true or false, got {required!r}")
    return _Common(factor if factor is not None else _ONE, policy, subtract)


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
    #: Whether the criterion looks at presence only (never at the value itself).
    presence: ClassVar[bool] = False

    name: str
    field: str | None = None
    weight: Decimal = _ONE
    group: str | None = None
    missing: MissingData = MissingData.NEUTRAL
    penalty: Decimal = _ZERO
    required: bool = False

    @abc.abstractmethod
    def classify(self, value: Any) -> Classified:
        """Status, unweighted points and reason for a known value of the field."""

    @abc.abstractmethod
    def _point_values(self) -> Iterable[Decimal]:
        """Every unweighted point value a known value can get."""

    @abc.abstractmethod
    def _settings(self) -> dict[str, object]:
        """The kind-specific configuration."""

    def read(self) -> Callable[[object], object]:
        """A function reading the value this criterion classifies from a subject."""
        assert self.field is not None
        return getter(self.field)

    def understood(self) -> tuple[Any, ...]:
        """Values of :attr:`field` this criterion classifies (``()``: any value it may hold)."""
        return ()

    def config(self) -> dict[str, object]:
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

    def understood(self) -> tuple[Any, ...]:
        values = sorted({*self.points, *self.knockout})
        if self.field == "tags":  # a set of tags holds them
            return tuple(frozenset([v]) for v in values)
        return tuple(values)

    def __attrs_post_init__(self) -> None:
        fold: Callable[[str], str] = (lambda s: s) if self.case_sensitive else str.casefold
        _derive(self, "_lookup", {fold(k): v for k, v in self.points.items()})
        _derive(self, "_knock", frozenset(fold(k) for k in self.knockout))
        _derive(self, "_best", max([*self.points.values(), self.default]))

    def _key(self, value: object) -> str:
        text = value.value if isinstance(value, enum.Enum) else str(value)
        return text if self.case_sensitive else text.casefold()

    def classify(self, value: Any) -> Classified:
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

    def _settings(self) -> dict[str, object]:
        return {
            "points": dict(self.points),
            "default": self.default,
            "knockout": sorted(self.knockout),
            "case_sensitive": self.case_sensitive,
        }


def one_of(
    name: str,
    field: str,
    points: Mapping[str, Points],
    *,
    default: Points = 0,
    knockout: Iterable[str] = (),
    case_sensitive: bool = False,
    weight: Points = 1,
    group: str | None = None,
    missing: MissingData | str = MissingData.NEUTRAL,
    penalty: Points = 0,
    required: bool = False,
) -> Criterion:
    """Points per categorical value (``{"software": 20, "fintech": 15}``).

    Matching ignores case unless ``case_sensitive``.  A collection field such
    as ``tags`` gets the best-scoring member.  Values in ``knockout``
    disqualify; any other value gets ``default``.
    """
    checks = Checks()
    common = _common(
        checks, name=name, field=field, weight=weight, group=group, missing=missing,
        penalty=penalty, required=required,
    )  # fmt: skip
    table: dict[str, Decimal] = {}
    if not isinstance(points, Mapping) or not points:
        checks.add("$.points", "must map values to points, e.g. {'software': 20}")
    else:
        for key, value in points.items():
            if not isinstance(key, str) or not key:
                checks.add(f"$.points[{key!r}]", "values must be non-empty strings")
                continue
            table[key] = _points(checks, f"$.points.{key}", value)
    otherwise = _points(checks, "$.default", default)
    knock: frozenset[str] = frozenset()
    if isinstance(knockout, str) or not isinstance(knockout, Iterable):
        checks.add("$.knockout", "must be a list of values")
    else:
        given = frozenset(knockout)
        if all(isinstance(k, str) and k for k in given):
            knock = given
        else:
            checks.add("$.knockout", "values must be non-empty strings")
    both = sorted(set(table) & knock)
    if both:
        checks.add("$.knockout", f"{both} also give points: a value is one or the other")
    checks.done(_OneOf)
    return _OneOf(
        name=name, field=field, weight=common.weight, group=group, missing=common.missing,
        penalty=common.penalty, required=required, points=table, default=otherwise,
        knockout=knock, case_sensitive=case_sensitive,
    )  # fmt: skip


# --- bands ----------------------------------------------------------------------------


@attrs.frozen(init=False)
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

    def __init__(
        self,
        low: Points | None = None,
        high: Points | None = None,
        points: Points = 0,
        label: str | None = None,
        knockout: bool = False,
    ) -> None:
        checks = Checks()
        bottom = None if low is None else to_decimal(checks, "$.low", low)
        top = None if high is None else to_decimal(checks, "$.high", high)
        value = _points(checks, "$.points", points)
        if low is None and high is None:
            checks.add("$", "a band needs low, high or both")
        if bottom is not None and top is not None and bottom >= top:
            checks.add("$.high", f"must be greater than low ({bottom}), got {top}")
        checks.text("$.label", label, required=False, max_length=100)
        checks.done(type(self))
        self.__attrs_init__(bottom, top, value, label, knockout)

    def describe(self) -> str:
        """``50-200``, ``>= 1000`` or ``< 10``, or the label."""
        if self.label:
            return self.label
        if self.low is not None and self.high is not None:
            return f"{self.low}-{self.high}"
        if self.low is not None:
            return f">= {self.low}"
        return f"< {self.high}"

    def config(self) -> dict[str, object]:
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
        _derive(self, "_best", max([*(b.points for b in self.bands), self.default]))

    def classify(self, value: Any) -> Classified:
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

    def _settings(self) -> dict[str, object]:
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
    default: Points = 0,
    currency: str | None = None,
    weight: Points = 1,
    group: str | None = None,
    missing: MissingData | str = MissingData.NEUTRAL,
    penalty: Points = 0,
    required: bool = False,
) -> Criterion:
    """Points per numeric band: ``[(None, 10, 0), (10, 200, 10), (200, None, 20)]``.

    Each band is a :class:`NumericBand`, a mapping of its fields, or a tuple
    ``(low, high, points)``; ``low`` is inclusive, ``high`` exclusive.  Money
    fields (``company.annual_revenue``) compare their amount; with ``currency``
    set, an amount in another currency is unknown, never converted.
    """
    bands: Any = ranges  # not a list: refused below with its path
    if isinstance(ranges, Iterable) and not isinstance(ranges, str | bytes):
        bands = [NumericBand(*band) if isinstance(band, tuple) else band for band in ranges]
    checks = Checks()
    common = _common(
        checks, name=name, field=field, weight=weight, group=group, missing=missing,
        penalty=penalty, required=required,
    )  # fmt: skip
    built: list[NumericBand] = []
    items: Iterable[object] = bands
    if isinstance(bands, str | bytes) or not isinstance(bands, Iterable):
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
                checks.add(f"$.bands[{i}]", f"takes low, high, points, label, knockout ({error})")
        else:
            checks.add(f"$.bands[{i}]", "must be a NumericBand or a mapping")
    if not built and not any(p.path.startswith("$.bands") for p in checks.problems):
        checks.add("$.bands", "needs at least one band")
    ordered = sorted(built, key=lambda b: b.low if b.low is not None else Decimal("-Infinity"))
    for prev, band in itertools.pairwise(ordered):
        if prev.high is None or band.low is None or band.low < prev.high:
            checks.add("$.bands", f"bands {prev.describe()} and {band.describe()} overlap")
    otherwise = _points(checks, "$.default", default)
    code = currency
    if currency is not None:
        if not isinstance(currency, str) or len(currency) != 3:
            checks.add("$.currency", "must be an ISO 4217 code like 'EUR'")
        else:
            code = currency.upper()
    checks.done(_Bands)
    return _Bands(
        name=name, field=field, weight=common.weight, group=group, missing=common.missing,
        penalty=common.penalty, required=required, bands=tuple(ordered), default=otherwise,
        currency=code,
    )  # fmt: skip


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
        _derive(self, "_best", max([*(r.points for r in self.patterns), self.default]))

    def classify(self, value: Any) -> Classified:
        text = value.value if isinstance(value, enum.Enum) else str(value)
        for rule in self.patterns:
            if rule.compiled.search(text):
                if rule.knockout:
                    return _K, _ZERO, f"matches knockout pattern {rule.label}"
                return _status(rule.points, self._best), rule.points, f"matches {rule.label}"
        return _status(self.default, self._best), self.default, "matches no pattern"

    def _point_values(self) -> Iterable[Decimal]:
        return [*(r.points for r in self.patterns), self.default]

    def _settings(self) -> dict[str, object]:
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
    patterns: Mapping[str, Points] | Sequence[Mapping[str, Any]],
    *,
    default: Points = 0,
    case_sensitive: bool = False,
    weight: Points = 1,
    group: str | None = None,
    missing: MissingData | str = MissingData.NEUTRAL,
    penalty: Points = 0,
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
        points = _points(checks, f"{path}.points", spec.get("points", 0))
        label = spec.get("label") or f"/{regex}/"
        if not isinstance(label, str):
            checks.add(f"{path}.label", "must be a string")
            label = f"/{regex}/"
        knockout = spec.get("knockout", False)
        if not isinstance(knockout, bool):
            checks.add(f"{path}.knockout", "must be true or false")
            knockout = False
        rules.append(_Rule(regex, points, label, knockout, compiled))
    common = _common(
        checks, name=name, field=field, weight=weight, group=group, missing=missing,
        penalty=penalty, required=required,
    )  # fmt: skip
    otherwise = _points(checks, "$.default", default)
    if not specs:
        checks.add("$.patterns", "needs at least one pattern")
    checks.done(_Pattern)
    return _Pattern(
        name=name, field=field, weight=common.weight, group=group, missing=common.missing,
        penalty=common.penalty, required=required, patterns=tuple(rules), default=otherwise,
    )  # fmt: skip


# --- present --------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class _Present(Criterion):
    kind: ClassVar[str] = "present"
    presence: ClassVar[bool] = True

    points: Decimal = _ONE
    absent: Decimal = _ZERO

    def read(self) -> Callable[[object], object]:
        # Read presence, not the value: outcomes are cached per value, and a
        # value such as an email address is different for every lead.
        get = super().read()
        return lambda subject: not is_missing(get(subject))

    def classify(self, value: Any) -> Classified:
        if value is False or is_missing(value):
            return _status(self.absent, self.points), self.absent, f"{self.field} is missing"
        return _status(self.points, self.points), self.points, f"{self.field} is present"

    def _point_values(self) -> Iterable[Decimal]:
        return [self.points, self.absent]

    def _settings(self) -> dict[str, object]:
        return {"points": self.points, "absent": self.absent}


def present(
    name: str,
    field: str,
    *,
    points: Points = 1,
    absent: Points = 0,
    weight: Points = 1,
    group: str | None = None,
    required: bool = False,
) -> Criterion:
    """Points when ``field`` has a value (a work email, a phone number); ``absent`` otherwise.

    Presence is what this criterion checks, so a missing value is a no-match,
    not unknown, and the value itself is never shown (only whether it is there).
    """
    checks = Checks()
    common = _common(
        checks, name=name, field=field, weight=weight, group=group,
        missing=MissingData.NEUTRAL, penalty=0, required=required,
    )  # fmt: skip
    present_points = _points(checks, "$.points", points)
    absent_points = _points(checks, "$.absent", absent)
    checks.done(_Present)
    return _Present(
        name=name, field=field, weight=common.weight, group=group, required=required,
        points=present_points, absent=absent_points,
    )  # fmt: skip


# --- predicate ------------------------------------------------------------------------

#: An app-supplied test: True, False, or None when it cannot tell.
Test = Callable[[Any], bool | None]


@attrs.frozen(kw_only=True)
class _Predicate(Criterion):
    kind: ClassVar[str] = "predicate"

    test: Test = attrs.field(eq=False)
    points: Decimal = _ONE
    otherwise: Decimal = _ZERO
    knockout: bool = False
    description: str | None = None

    def read(self) -> Callable[[object], object]:
        test = self.test
        name = self.name

        def read(subject: object) -> object:
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

    def classify(self, value: Any) -> Classified:
        what = self.description or self.name
        if value:
            return _status(self.points, self.points), self.points, f"{what}: yes"
        if self.knockout:
            return _K, _ZERO, f"{what}: no (knockout)"
        return _status(self.otherwise, self.points), self.otherwise, f"{what}: no"

    def _point_values(self) -> Iterable[Decimal]:
        return [self.points, self.otherwise]

    def _settings(self) -> dict[str, object]:
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
    test: Test,
    *,
    points: Points = 1,
    otherwise: Points = 0,
    knockout: bool = False,
    description: str | None = None,
    weight: Points = 1,
    group: str | None = None,
    missing: MissingData | str = MissingData.NEUTRAL,
    penalty: Points = 0,
    required: bool = False,
) -> Criterion:
    """An app-supplied test: ``test(subject)`` returns True (``points``), False
    (``otherwise``, or a knockout with ``knockout=True``) or None (unknown).

    The test must be deterministic; it is named by its qualified name in the
    configuration hash.  An exception inside it becomes an
    :class:`~pipelinekit.qualification.errors.EvaluationError` naming the subject.
    """
    checks = Checks()
    common = _common(
        checks, name=name, field=None, weight=weight, group=group, missing=missing,
        penalty=penalty, required=required, needs_field=False,
    )  # fmt: skip
    if not callable(test):
        checks.add("$.test", "must be a callable taking the subject, returning True/False/None")
    yes = _points(checks, "$.points", points)
    no = _points(checks, "$.otherwise", otherwise)
    checks.done(_Predicate)
    return _Predicate(
        name=name, weight=common.weight, group=group, missing=common.missing,
        penalty=common.penalty, required=required, test=test, points=yes, otherwise=no,
        knockout=knockout, description=description,
    )  # fmt: skip


# --- all_of ---------------------------------------------------------------------------


def matched(criterion: Criterion, value: Any) -> bool | None:
    """Whether ``criterion`` matches a subject's ``value``: ``None`` when it is unknown.

    A known value matches when it earns points (and is not a knockout).
    """
    if value is None or (is_missing(value) and not criterion.presence):
        return None
    status, points, _ = criterion.classify(value)
    if status is _U:
        return None
    return points > 0 and status is not _K


@attrs.frozen(kw_only=True)
class _AllOf(Criterion):
    kind: ClassVar[str] = "all_of"

    criteria: tuple[Criterion, ...]
    points: Decimal = _ONE
    otherwise: Decimal = _ZERO
    knockout: bool = False

    def read(self) -> Callable[[object], object]:
        readers = [(c, c.read()) for c in self.criteria]

        def read(subject: object) -> object:
            unknown = False
            for c, get in readers:
                answer = matched(c, get(subject))
                if answer is False:
                    return False
                unknown = unknown or answer is None
            return None if unknown else True

        return read

    def classify(self, value: Any) -> Classified:
        names = " and ".join(c.name for c in self.criteria)
        if value:
            return _status(self.points, self.points), self.points, f"{names}: all match"
        if self.knockout:
            return _K, _ZERO, f"{names}: not all match (knockout)"
        return _status(self.otherwise, self.points), self.otherwise, f"{names}: not all match"

    def _point_values(self) -> Iterable[Decimal]:
        return [self.points, self.otherwise]

    def _settings(self) -> dict[str, object]:
        return {
            "criteria": [c.config() for c in self.criteria],
            "points": self.points,
            "otherwise": self.otherwise,
            "knockout": self.knockout,
        }


def all_of(
    name: str,
    criteria: Sequence[Criterion],
    *,
    points: Points = 1,
    otherwise: Points = 0,
    knockout: bool = False,
    weight: Points = 1,
    group: str | None = None,
    missing: MissingData | str = MissingData.NEUTRAL,
    penalty: Points = 0,
    required: bool = False,
) -> Criterion:
    """An AND-rule: ``points`` when every one of ``criteria`` matches.

    A sub-criterion matches when the subject's value earns it points; when
    one does not match the rule gives ``otherwise`` (or knocks out with
    ``knockout=True``); when none fails but one is unknown, the rule is
    unknown (the ``missing`` policy applies).  The sub-criteria's own points,
    weights and groups are not counted: they only say match or not.
    """
    checks = Checks()
    common = _common(
        checks, name=name, field=None, weight=weight, group=group, missing=missing,
        penalty=penalty, required=required, needs_field=False,
    )  # fmt: skip
    parts: tuple[Any, ...] = ()
    if isinstance(criteria, str) or not isinstance(criteria, Sequence) or len(criteria) < 2:
        checks.add("$.criteria", "needs at least two criteria (one_of, bands, pattern, ...)")
    else:
        parts = tuple(criteria)
        for i, c in enumerate(parts):
            if not isinstance(c, Criterion):
                checks.add(f"$.criteria[{i}]", "must be built with one_of, bands, pattern, ...")
    yes = _points(checks, "$.points", points)
    no = _points(checks, "$.otherwise", otherwise)
    checks.done(_AllOf)
    return _AllOf(
        name=name, weight=common.weight, group=group, missing=common.missing,
        penalty=common.penalty, required=required, criteria=parts, points=yes, otherwise=no,
        knockout=knockout,
    )  # fmt: skip
