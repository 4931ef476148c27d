"""What a qualification strategy returns, and the fast way strategies build it.

The result types are domain values (:mod:`pipelinekit.domain.results`),
re-exported here because strategies return them.  :func:`trusted_result` and
:func:`trusted_line` build results from parts a strategy has already checked
(its configuration was validated once), for batch scoring; they keep the two
promises that vary per result (the score lies in the scale; the breakdown adds
up exactly to it) and raise :class:`~.errors.EvaluationError` for a strategy bug.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import NoReturn

from .._slots import builder
from ..domain.custom import CustomValue
from ..domain.results import (
    BreakdownLine,
    CriterionStatus,
    QualificationResult,
    Verdict,
    names_ok,
)
from .errors import EvaluationError

__all__ = [
    "BreakdownLine",
    "CriterionStatus",
    "QualificationResult",
    "ResultMaker",
    "Verdict",
    "result_maker",
    "trusted_line",
    "trusted_result",
]

_POINTS = operator.attrgetter("points")
_ZERO = Decimal(0)
_build_result = builder(QualificationResult)
_build_line = builder(BreakdownLine)
_PROBE_TIME = datetime(2000, 1, 1, tzinfo=UTC)


def _promise_broken(
    score: Decimal, scale_min: Decimal, scale_max: Decimal, breakdown: tuple[BreakdownLine, ...]
) -> str | None:
    """What is wrong with a score a strategy computed, or ``None`` (a strategy bug if not)."""
    if not scale_min <= score <= scale_max:
        return f"score {score} is outside the scale [{scale_min}, {scale_max}]"
    if breakdown:
        total = sum(map(_POINTS, breakdown), _ZERO)
        if total != score:
            return f"breakdown adds up to {total} but the score is {score}"
    return None


#: ``make(as_of, score, verdict, coverage, breakdown, grade, band, knockouts, subject_id)``
ResultMaker = Callable[
    [
        datetime,
        Decimal | None,
        Verdict,
        Decimal,
        tuple[BreakdownLine, ...],
        str | None,
        str | None,
        tuple[str, ...],
        str | None,
    ],
    QualificationResult,
]


def result_maker(
    strategy: str,
    strategy_version: str,
    config_hash: str,
    scale_min: Decimal,
    scale_max: Decimal,
) -> ResultMaker:
    """A function building one strategy's results in batch: what is constant is checked once.

    The names and the scale go through the validating constructor here (a
    :class:`~pipelinekit.ValidationError` if they are wrong); each result
    still gets the two per-result promises checked (the score lies in the
    scale, the breakdown adds up exactly to it) and raises
    :class:`~pipelinekit.qualification.errors.EvaluationError` when one is
    broken.  The other parts (a UTC ``as_of``, enum values, lines of the
    right type) are the strategy's to guarantee.
    """
    QualificationResult(
        strategy, strategy_version, config_hash, _PROBE_TIME, None, scale_min, scale_max,
        Verdict.REVIEW, _ZERO,
    )  # fmt: skip
    build = builder(
        QualificationResult,
        fixed={
            "strategy": strategy, "strategy_version": strategy_version, "config_hash": config_hash,
            "scale_min": scale_min, "scale_max": scale_max, "children": (), "stale": False,
            "logit": None,
        },
    )  # fmt: skip
    lo, hi = scale_min, scale_max

    def make(
        as_of: datetime,
        score: Decimal | None,
        verdict: Verdict,
        coverage: Decimal,
        breakdown: tuple[BreakdownLine, ...],
        grade: str | None,
        band: str | None,
        knockouts: tuple[str, ...],
        subject_id: str | None,
    ) -> QualificationResult:
        if score is not None and not (
            lo <= score <= hi and (not breakdown or sum(map(_POINTS, breakdown), _ZERO) == score)
        ):
            _refuse(strategy, subject_id, score, lo, hi, breakdown)
        result: QualificationResult = build(
            as_of, score, verdict, coverage, breakdown, grade, band, knockouts, subject_id
        )
        return result

    return make


def _refuse(
    strategy: str,
    subject_id: str | None,
    score: Decimal,
    scale_min: Decimal,
    scale_max: Decimal,
    breakdown: tuple[BreakdownLine, ...],
) -> NoReturn:
    problem = _promise_broken(score, scale_min, scale_max, breakdown) or "unexpected score"
    raise EvaluationError(strategy, subject_id, problem)


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
    logit: Decimal | None = None,
) -> QualificationResult:
    """Build a result from parts a strategy has already validated, for batch scoring.

    The strategy guarantees what is constant for it (names, scale, the coverage
    table, a UTC ``as_of``, enum values); this still enforces the two promises
    that vary per result: the score lies within the scale and the breakdown
    adds up *exactly* to it.  A violation is a strategy bug and raises
    :class:`~pipelinekit.qualification.errors.EvaluationError`.
    """
    if logit is not None or not names_ok(strategy, strategy_version, config_hash):
        # A log-odds result, or names a valid strategy never stamps: the validating
        # constructor checks the logit's promises and says what is wrong.
        return QualificationResult(
            strategy, strategy_version, config_hash, as_of, score, scale_min, scale_max,
            verdict, coverage, breakdown, grade, band, knockouts, subject_id, children, stale,
            logit,
        )  # fmt: skip
    if score is not None:
        problem = _promise_broken(score, scale_min, scale_max, breakdown)
        if problem is not None:
            raise EvaluationError(strategy, subject_id, problem)
    result: QualificationResult = _build_result(
        strategy, strategy_version, config_hash, as_of, score, scale_min, scale_max, verdict,
        coverage, breakdown, grade, band, knockouts, subject_id, children, stale, None,
    )  # fmt: skip
    return result


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
        or type(criterion) is not str
        or not 0 < len(criterion) <= 200
        or criterion.isspace()
        or not points.is_finite()
        or (cap is not None and (type(cap) is not Decimal or not cap.is_finite()))
    ):
        return BreakdownLine(criterion, status, points, reason, observed, cap, group, evidence)
    line: BreakdownLine = _build_line(
        criterion, status, points, reason, observed, cap, group, evidence
    )
    return line
