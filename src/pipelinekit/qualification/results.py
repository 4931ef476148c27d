"""What a qualification strategy returns: a score that explains itself.

Invariant: when a result has both a score and a breakdown, the breakdown's
points add up *exactly* to the score (checked on construction).  A subject
that cannot be scored has ``score=None``, never 0.
"""

from __future__ import annotations

import enum
import operator
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import attrs

from ..domain._checks import Checks, set_attr, to_decimal
from ..domain._entity import check_tuple
from ..domain.custom import CustomValue, value_problem

__all__ = ["BreakdownLine", "CriterionStatus", "QualificationResult", "Verdict"]

_POINTS = operator.attrgetter("points")
# Observed values the fast path accepts without further checks (Decimal and
# datetime need a finiteness / timezone check, so they take the full path).
_PLAIN_OBSERVED = frozenset({str, int, bool, date, type(None)})
_ZERO = Decimal(0)
_ONE = Decimal(1)


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


@attrs.frozen
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

    def __attrs_post_init__(self) -> None:
        if self._canonical():
            return
        checks = Checks()
        checks.text("$.criterion", self.criterion, required=True, max_length=200)
        if not isinstance(self.status, CriterionStatus):
            try:
                set_attr(self, "status", CriterionStatus(self.status))
            except ValueError:
                checks.add("$.status", f"unknown criterion status {self.status!r}")
        points = to_decimal(checks, "$.points", self.points)
        cap = None if self.cap is None else to_decimal(checks, "$.cap", self.cap)
        checks.instance("$.reason", self.reason, str, optional=False)
        problem = value_problem(self.observed)
        if problem is not None:
            checks.add("$.observed", problem)
        checks.text("$.group", self.group, required=False, max_length=200)
        evidence = check_tuple(checks, "$.evidence", self.evidence, str)
        checks.done(self)
        if points is not self.points:
            set_attr(self, "points", points)
        if cap is not self.cap:
            set_attr(self, "cap", cap)
        if evidence is not self.evidence:
            set_attr(self, "evidence", evidence)

    def _canonical(self) -> bool:
        # Fast path for lines strategies build in bulk: the same checks on values
        # that are already of their final types.
        criterion, points, cap = self.criterion, self.points, self.cap
        return (
            type(criterion) is str
            and 0 < len(criterion) <= 200
            and not criterion.isspace()
            and type(self.status) is CriterionStatus
            and type(points) is Decimal
            and points.is_finite()
            and (cap is None or (type(cap) is Decimal and cap.is_finite()))
            and type(self.reason) is str
            and type(self.observed) in _PLAIN_OBSERVED
            and (self.group is None or type(self.group) is str)
            and type(self.evidence) is tuple
        )


@attrs.frozen
class QualificationResult:
    """A strategy's evaluation of one subject at one point in time.

    ``stale`` is true when the verdict is lower than it would be without
    decay: the subject has not been disqualified, its engagement has faded
    (a lifecycle proposal marks it stale instead of demoting it).
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

    def __attrs_post_init__(self) -> None:
        if self._canonical():
            return
        checks = Checks()
        checks.text("$.strategy", self.strategy, required=True, max_length=200)
        checks.text("$.strategy_version", self.strategy_version, required=True, max_length=50)
        checks.text("$.config_hash", self.config_hash, required=True, max_length=128)
        as_of = checks.aware("$.as_of", self.as_of)
        lo = to_decimal(checks, "$.scale_min", self.scale_min)
        hi = to_decimal(checks, "$.scale_max", self.scale_max)
        score = None if self.score is None else to_decimal(checks, "$.score", self.score)
        coverage = to_decimal(checks, "$.coverage", self.coverage)
        if not isinstance(self.verdict, Verdict):
            try:
                set_attr(self, "verdict", Verdict(self.verdict))
            except ValueError:
                checks.add("$.verdict", f"unknown verdict {self.verdict!r}")
        if lo is not None and hi is not None:
            if lo > hi:
                checks.add("$.scale_max", f"must be >= scale_min ({lo}), got {hi}")
            elif score is not None and not lo <= score <= hi:
                checks.add("$.score", f"{score} is outside the scale [{lo}, {hi}]")
        if coverage is not None and not 0 <= coverage <= 1:
            checks.add("$.coverage", f"must be between 0 and 1, got {coverage}")
        breakdown = check_tuple(checks, "$.breakdown", self.breakdown, BreakdownLine)
        knockouts = check_tuple(checks, "$.knockouts", self.knockouts, str)
        children = check_tuple(checks, "$.children", self.children, QualificationResult)
        checks.text("$.grade", self.grade, required=False, max_length=20)
        checks.text("$.band", self.band, required=False, max_length=100)
        checks.text("$.subject_id", self.subject_id, required=False, max_length=128)
        if not isinstance(self.stale, bool):
            checks.add("$.stale", f"must be true or false, got {type(self.stale).__name__}")
        lines_ok = all(isinstance(line, BreakdownLine) for line in breakdown)
        if score is not None and breakdown and lines_ok:
            total = sum((line.points for line in breakdown), Decimal(0))
            if total != score:
                checks.add(
                    "$.breakdown",
                    f"points add up to {total} but the score is {score}: a breakdown must "
                    "explain the score exactly",
                )
        checks.done(self)
        for name, old, new in (
            ("as_of", self.as_of, as_of),
            ("scale_min", self.scale_min, lo),
            ("scale_max", self.scale_max, hi),
            ("score", self.score, score),
            ("coverage", self.coverage, coverage),
            ("breakdown", self.breakdown, breakdown),
            ("knockouts", self.knockouts, knockouts),
            ("children", self.children, children),
        ):
            if new is not old:
                set_attr(self, name, new)

    def _canonical(self) -> bool:
        # Fast path for results strategies build in bulk: every check of the slow
        # path, on values that already have their final types (UTC, Decimal, enum).
        lo, hi, cov, score = self.scale_min, self.scale_max, self.coverage, self.score
        if not (
            type(lo) is Decimal
            and type(hi) is Decimal
            and type(cov) is Decimal
            and type(self.verdict) is Verdict
            and type(self.as_of) is datetime
            and self.as_of.tzinfo is UTC
            and _names_ok(self.strategy, self.strategy_version, self.config_hash)
            and type(self.breakdown) is tuple
            and type(self.knockouts) is tuple
            and type(self.children) is tuple
            and type(self.stale) is bool
            and all(type(line) is BreakdownLine for line in self.breakdown)
            and all(type(name) is str for name in self.knockouts)
            and all(type(child) is QualificationResult for child in self.children)
            and (self.grade is None or type(self.grade) is str)
            and (self.band is None or type(self.band) is str)
            and (self.subject_id is None or type(self.subject_id) is str)
            and lo.is_finite()
            and hi.is_finite()
            and cov.is_finite()
            and lo <= hi
            and _ZERO <= cov <= _ONE
        ):
            return False
        if score is None:
            return True
        if type(score) is not Decimal or not score.is_finite() or not lo <= score <= hi:
            return False
        if self.breakdown:
            return sum(map(_POINTS, self.breakdown), _ZERO) == score
        return True

    @property
    def scored(self) -> bool:
        """Whether a score could be computed (``score`` is not ``None``)."""
        return self.score is not None


def _short(text: object, limit: int) -> bool:
    return type(text) is str and 0 < len(text) <= limit and not text.isspace()


# (strategy, version, config hash) triples already checked: a strategy stamps the
# same three strings on every result it builds, so each is checked once.
_CHECKED_NAMES: set[tuple[str, str, str]] = set()


def _names_ok(strategy: object, version: object, config_hash: object) -> bool:
    key = (strategy, version, config_hash)
    try:
        if key in _CHECKED_NAMES:
            return True
    except TypeError:
        return False
    ok = _short(strategy, 200) and _short(version, 50) and _short(config_hash, 128)
    if ok and len(_CHECKED_NAMES) < 4096:
        _CHECKED_NAMES.add(key)  # type: ignore[arg-type]
    return ok


def _slot_builder(cls: type) -> Any:
    """A generated ``build(v0, v1, ...)`` setting every slot of ``cls`` in field order.

    Like attrs' own generated ``__init__``, minus validation: only for values the
    caller has checked.  Slot descriptors are called directly (no frozen
    ``__setattr__`` lookup).
    """
    names = [field.name for field in attrs.fields(cls)]
    namespace: dict[str, Any] = {"_new": object.__new__, "_cls": cls}
    lines = [f"def build({', '.join(f'v{i}' for i in range(len(names)))}):", "    new = _new(_cls)"]
    for i, name in enumerate(names):
        namespace[f"_s{i}"] = cls.__dict__[name].__set__
        lines.append(f"    _s{i}(new, v{i})")
    lines.append("    return new")
    exec("\n".join(lines), namespace)
    return namespace["build"]


_build_result = _slot_builder(QualificationResult)


def trusted_result(
    strategy: str,
    strategy_version: str,
    config_hash: str,
    as_of: datetime,
    score: Decimal | None,
    scale_min: Decimal,
    scale_max: Decimal,
    verdict: Verdict,
    coverage: Decimal,
    breakdown: tuple[BreakdownLine, ...] = (),
    grade: str | None = None,
    band: str | None = None,
    knockouts: tuple[str, ...] = (),
    subject_id: str | None = None,
    children: tuple[QualificationResult, ...] = (),
    stale: bool = False,
) -> QualificationResult:
    """Build a result from parts a strategy has already validated, for batch scoring.

    The strategy guarantees what is constant for it (names, scale, the coverage
    table, a UTC ``as_of``, enum values); this still enforces the two promises
    that vary per result: the score lies within the scale and the breakdown
    adds up *exactly* to it.  A violation is a strategy bug and raises
    :class:`~pipelinekit.qualification.errors.EvaluationError`.
    """
    if not _names_ok(strategy, strategy_version, config_hash):
        # Not reached by a valid strategy; the validating constructor says what is wrong.
        return QualificationResult(
            strategy, strategy_version, config_hash, as_of, score, scale_min, scale_max,
            verdict, coverage, breakdown, grade, band, knockouts, subject_id, children, stale,
        )  # fmt: skip
    if score is not None:
        problem = None
        if not scale_min <= score <= scale_max:
            problem = f"score {score} is outside the scale [{scale_min}, {scale_max}]"
        elif breakdown and sum(map(_POINTS, breakdown), _ZERO) != score:
            total = sum(map(_POINTS, breakdown), _ZERO)
            problem = f"breakdown adds up to {total} but the score is {score}"
        if problem is not None:
            from .errors import EvaluationError

            raise EvaluationError(strategy, subject_id, problem)
    return _build_result(  # type: ignore[no-any-return]
        strategy, strategy_version, config_hash, as_of, score, scale_min, scale_max, verdict,
        coverage, breakdown, grade, band, knockouts, subject_id, children, stale,
    )  # fmt: skip


_build_line = _slot_builder(BreakdownLine)


def trusted_line(
    criterion: str,
    status: CriterionStatus,
    points: Decimal,
    reason: str,
    observed: CustomValue = None,
    cap: Decimal | None = None,
    group: str | None = None,
    evidence: tuple[str, ...] = (),
) -> BreakdownLine:
    """Build a breakdown line from parts a strategy took from its validated configuration.

    Falls back to the validating constructor unless the parts already have their
    final types, so a wrong value is reported as usual.
    """
    if (
        type(points) is not Decimal
        or type(status) is not CriterionStatus
        or type(reason) is not str
        or not _short(criterion, 200)
        or not points.is_finite()
        or (cap is not None and (type(cap) is not Decimal or not cap.is_finite()))
    ):
        return BreakdownLine(criterion, status, points, reason, observed, cap, group, evidence)
    return _build_line(  # type: ignore[no-any-return]
        criterion, status, points, reason, observed, cap, group, evidence
    )
