"""Qualification results: a score that explains itself, as a domain value.

A lead keeps its latest result (``Lead.qualification``) and a prospect the one
that showed its fit (``Prospect.fit``), so the result is part of the domain;
the strategies that produce results live in :mod:`pipelinekit.qualification`.

Invariant: when a result has both a score and a breakdown, the breakdown's
points add up *exactly* to the score (checked on construction).  A
probability model explains itself in log-odds instead: its result carries
``logit``, the breakdown adds up exactly to ``logit``, and the score is
:func:`percent_from_logit` of it.  A subject
that cannot be scored has ``score=None``, never 0.
"""

from __future__ import annotations

import decimal
import enum
import math
import operator
from datetime import UTC, date, datetime
from decimal import Decimal

import attrs

from ._checks import Checks, to_decimal
from ._entity import check_tuple
from .custom import CustomValue, value_problem

__all__ = [
    "BreakdownLine",
    "CriterionStatus",
    "QualificationResult",
    "Verdict",
    "percent_from_logit",
]

_POINTS = operator.attrgetter("points")
# Observed values the fast path accepts without further checks (Decimal and
# datetime need a finiteness / timezone check, so they take the full path).
_PLAIN_OBSERVED = frozenset({str, int, bool, date, type(None)})
_ZERO = Decimal(0)
_ONE = Decimal(1)
_CENT = Decimal("0.01")
_FLOOR = Decimal("0.01")
_CEILING = Decimal("99.99")
_PRECISE = decimal.Context(prec=40)


def percent_from_logit(logit: Decimal) -> Decimal:
    """The probability in percent that log-odds ``logit`` stand for, as a score shows it.

    ``100 / (1 + e**-logit)``, rounded half-even to two decimals and kept within
    ``[0.01, 99.99]``, so a model's estimate never reads as a certain win or loss.
    Computed with 40 significant digits, the same on every platform.
    """
    if -300 < logit < 300:
        # Fast path: a float is exact enough unless the value sits within a hair of a
        # rounding edge (its error is below 1e-11 here, the margin kept is 1e-6 cent).
        cents = 10000 / (1 + math.exp(-float(logit)))
        nearest = math.floor(cents) + 0.5
        if abs(cents - nearest) > 1e-6:
            fast = Decimal(math.floor(cents) if cents < nearest else math.ceil(cents)).scaleb(-2)
            return min(max(fast, _FLOOR), _CEILING)
    with decimal.localcontext(_PRECISE):
        if logit < -300:
            raw = _ZERO
        elif logit > 300:
            raw = Decimal(100)
        else:
            raw = Decimal(100) / (_ONE + (-logit).exp())
    return min(max(raw.quantize(_CENT, rounding=decimal.ROUND_HALF_EVEN), _FLOOR), _CEILING)


class Verdict(enum.StrEnum):
    """What a result recommends."""

    QUALIFIED = "qualified"
    REVIEW = "review"
    NURTURE = "nurture"
    DISQUALIFIED = "disqualified"
    INSUFFICIENT_DATA = "insufficient_data"


class CriterionStatus(enum.StrEnum):
    """How one criterion matched."""

    MATCH = "match"
    PARTIAL = "partial"
    NO_MATCH = "no_match"
    UNKNOWN = "unknown"
    KNOCKOUT = "knockout"


@attrs.frozen(init=False)
class BreakdownLine:
    """One criterion's contribution to a score.

    ``points`` is what the criterion added after any ``cap`` applied;
    ``observed`` is the value the criterion looked at (``None`` when unknown);
    ``evidence`` cites what the points rest on (event ids, field paths).
    """

    criterion: str
    status: CriterionStatus
    points: Decimal
    reason: str
    observed: CustomValue = None
    cap: Decimal | None = None
    group: str | None = None
    evidence: tuple[str, ...] = ()

    def __init__(
        self,
        criterion: str,
        status: CriterionStatus | str,
        points: Decimal | int | str,
        reason: str,
        observed: CustomValue = None,
        cap: Decimal | int | str | None = None,
        group: str | None = None,
        evidence: tuple[str, ...] | list[str] = (),
    ) -> None:
        if (
            # Fast path for lines strategies build in bulk: the same checks on
            # values that already have their final types.
            type(status) is CriterionStatus
            and type(points) is Decimal
            and (cap is None or (type(cap) is Decimal and cap.is_finite()))
            and type(evidence) is tuple
            and type(criterion) is str
            and 0 < len(criterion) <= 200
            and not criterion.isspace()
            and points.is_finite()
            and type(reason) is str
            and type(observed) in _PLAIN_OBSERVED
            and (group is None or type(group) is str)
        ):
            self.__attrs_init__(criterion, status, points, reason, observed, cap, group, evidence)
            return
        checks = Checks()
        checks.text("$.criterion", criterion, required=True, max_length=200)
        kind = checks.choice("$.status", CriterionStatus, status)
        number = to_decimal(checks, "$.points", points)
        limit = None if cap is None else to_decimal(checks, "$.cap", cap)
        checks.instance("$.reason", reason, str, optional=False)
        problem = value_problem(observed)
        if problem is not None:
            checks.add("$.observed", problem)
        checks.text("$.group", group, required=False, max_length=200)
        cited = check_tuple(checks, "$.evidence", evidence, str)
        checks.done(type(self))
        assert kind is not None
        assert number is not None
        self.__attrs_init__(criterion, kind, number, reason, observed, limit, group, cited)


@attrs.frozen(init=False)
class QualificationResult:
    """A strategy's evaluation of one subject at one point in time.

    ``stale`` is true when the verdict is lower than it would be without
    decay: the subject has not been disqualified, its engagement has faded
    (a lifecycle proposal marks it stale instead of demoting it).

    ``logit`` is set by probability models (the predictive strategy): their
    breakdown lines are log-odds contributions that add up exactly to ``logit``,
    and ``score`` is :func:`percent_from_logit` of it.
    """

    strategy: str
    strategy_version: str
    config_hash: str
    as_of: datetime
    score: Decimal | None
    scale_min: Decimal
    scale_max: Decimal
    verdict: Verdict
    coverage: Decimal
    breakdown: tuple[BreakdownLine, ...] = ()
    grade: str | None = None
    band: str | None = None
    knockouts: tuple[str, ...] = ()
    subject_id: str | None = None
    children: tuple[QualificationResult, ...] = ()
    stale: bool = False
    logit: Decimal | None = None

    def __init__(
        self,
        strategy: str,
        strategy_version: str,
        config_hash: str,
        as_of: datetime,
        score: Decimal | int | str | None,
        scale_min: Decimal | int | str,
        scale_max: Decimal | int | str,
        verdict: Verdict | str,
        coverage: Decimal | int | str,
        breakdown: tuple[BreakdownLine, ...] | list[BreakdownLine] = (),
        grade: str | None = None,
        band: str | None = None,
        knockouts: tuple[str, ...] | list[str] = (),
        subject_id: str | None = None,
        children: tuple[QualificationResult, ...] | list[QualificationResult] = (),
        stale: bool = False,
        logit: Decimal | int | str | None = None,
    ) -> None:
        if (
            # Fast path for results strategies build in bulk: every check of the
            # slow path, on values that already have their final types.
            logit is None
            and type(scale_min) is Decimal
            and type(scale_max) is Decimal
            and type(coverage) is Decimal
            and type(verdict) is Verdict
            and (score is None or type(score) is Decimal)
            and type(breakdown) is tuple
            and type(knockouts) is tuple
            and type(children) is tuple
            and type(as_of) is datetime
            and as_of.tzinfo is UTC
            and names_ok(strategy, strategy_version, config_hash)
            and type(stale) is bool
            and all(type(line) is BreakdownLine for line in breakdown)
            and all(type(name) is str for name in knockouts)
            and all(type(child) is QualificationResult for child in children)
            and (grade is None or type(grade) is str)
            and (band is None or type(band) is str)
            and (subject_id is None or type(subject_id) is str)
            and _scale_ok(score, scale_min, scale_max, coverage, breakdown)
        ):
            self.__attrs_init__(
                strategy, strategy_version, config_hash, as_of, score, scale_min, scale_max,
                verdict, coverage, breakdown, grade, band, knockouts, subject_id, children, stale,
            )  # fmt: skip
            return
        checks = Checks()
        checks.text("$.strategy", strategy, required=True, max_length=200)
        checks.text("$.strategy_version", strategy_version, required=True, max_length=50)
        checks.text("$.config_hash", config_hash, required=True, max_length=128)
        when = checks.aware("$.as_of", as_of)
        lo = to_decimal(checks, "$.scale_min", scale_min)
        hi = to_decimal(checks, "$.scale_max", scale_max)
        value = None if score is None else to_decimal(checks, "$.score", score)
        share = to_decimal(checks, "$.coverage", coverage)
        kind = checks.choice("$.verdict", Verdict, verdict)
        if lo is not None and hi is not None:
            if lo > hi:
                checks.add("$.scale_max", f"must be >= scale_min ({lo}), got {hi}")
            elif value is not None and not lo <= value <= hi:
                checks.add("$.score", f"{value} is outside the scale [{lo}, {hi}]")
        if share is not None and not 0 <= share <= 1:
            checks.add("$.coverage", f"must be between 0 and 1, got {share}")
        lines = check_tuple(checks, "$.breakdown", breakdown, BreakdownLine)
        knocked = check_tuple(checks, "$.knockouts", knockouts, str)
        nested = check_tuple(checks, "$.children", children, QualificationResult)
        checks.text("$.grade", grade, required=False, max_length=20)
        checks.text("$.band", band, required=False, max_length=100)
        checks.text("$.subject_id", subject_id, required=False, max_length=128)
        if not isinstance(stale, bool):
            checks.add("$.stale", f"must be true or false, got {type(stale).__name__}")
        odds = None if logit is None else to_decimal(checks, "$.logit", logit)
        if odds is not None and value is not None and value != percent_from_logit(odds):
            checks.add(
                "$.score",
                f"must be {percent_from_logit(odds)}, the percent of logit {odds}, got {value}",
            )
        if odds is not None and value is None:
            checks.add("$.logit", "must be null when the score is null (nothing was estimated)")
        explained = value if logit is None else odds
        if (
            explained is not None
            and lines
            and all(isinstance(line, BreakdownLine) for line in lines)
        ):
            total = sum((line.points for line in lines), _ZERO)
            if logit is not None and total != explained:
                checks.add(
                    "$.breakdown",
                    f"log-odds add up to {total} but the logit is {explained}: a breakdown must "
                    "explain the score exactly",
                )
            elif logit is None and total != value:
                checks.add(
                    "$.breakdown",
                    f"points add up to {total} but the score is {value}: a breakdown must "
                    "explain the score exactly",
                )
        checks.done(type(self))
        assert when is not None
        assert lo is not None
        assert hi is not None
        assert share is not None
        assert kind is not None
        self.__attrs_init__(
            strategy, strategy_version, config_hash, when, value, lo, hi, kind, share, lines,
            grade, band, knocked, subject_id, nested, stale, odds,
        )  # fmt: skip

    @property
    def scored(self) -> bool:
        """Whether a score could be computed (``score`` is not ``None``)."""
        return self.score is not None


def _scale_ok(
    score: Decimal | None,
    lo: Decimal,
    hi: Decimal,
    coverage: Decimal,
    breakdown: tuple[BreakdownLine, ...],
) -> bool:
    if not (
        lo.is_finite()
        and hi.is_finite()
        and coverage.is_finite()
        and lo <= hi
        and _ZERO <= coverage <= _ONE
    ):
        return False
    if score is None:
        return True
    if not score.is_finite() or not lo <= score <= hi:
        return False
    return not breakdown or sum(map(_POINTS, breakdown), _ZERO) == score


def _short(text: object, limit: int) -> bool:
    return type(text) is str and 0 < len(text) <= limit and not text.isspace()


# (strategy, version, config hash) triples already checked: a strategy stamps the
# same three strings on every result it builds, so each is checked once.
_CHECKED_NAMES: set[tuple[str, str, str]] = set()


def names_ok(strategy: object, version: object, config_hash: object) -> bool:
    """Whether the three strings a strategy stamps on its results are valid (cached)."""
    if type(strategy) is not str or type(version) is not str or type(config_hash) is not str:
        return False
    key = (strategy, version, config_hash)
    if key in _CHECKED_NAMES:
        return True
    ok = _short(strategy, 200) and _short(version, 50) and _short(config_hash, 128)
    if ok and len(_CHECKED_NAMES) < 4096:
        _CHECKED_NAMES.add(key)
    return ok
