"""Pardot-style grades: a letter from F to A+, moved in thirds by profile criteria.

Salesforce Account Engagement (Pardot) starts every prospect at D; each
profile criterion the prospect matches raises the grade by a third, two
thirds or a whole letter, each it does not match lowers it by its own
amount, and a criterion whose data is unknown leaves the grade alone.  The
thirteen steps are F, D-, D, D+, C-, C, C+, B-, B, B+, A-, A, A+ (ten
thirds from D to A+).

:func:`profile_grade` scores in thirds: the score is the grade's step (F = 0,
D = 2, A+ = 12) and the breakdown has a line for the starting letter plus
one per criterion, adding up exactly.  Until some criterion is known there
is no grade (``score=None``), rather than a D that looks like a judgement.
Criteria are the ICP ones (:func:`~pipelinekit.qualification.one_of`,
:func:`~pipelinekit.qualification.bands`, ...): a known value that earns
points matches, one that earns none (or is a knockout) does not.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

import attrs

from ..domain._checks import Checks
from ..domain.results import BreakdownLine, CriterionStatus, QualificationResult, Verdict
from ..errors import ValidationError
from ._fields import is_missing, observed
from .base import Band, StrategyBase, as_list, band_for, check_ascending, subject_id
from .icp.criteria import Criterion
from .limits import charge

__all__ = ["LETTERS", "ProfileCriterion", "graded", "profile_grade"]

#: Pardot's grades, worst first: a grade's index is its score in thirds.
LETTERS = ("F", "D-", "D", "D+", "C-", "C", "C+", "B-", "B", "B+", "A-", "A", "A+")
_ZERO = Decimal(0)
_TOP = Decimal(len(LETTERS) - 1)
_FRACTION = {1: "1/3", 2: "2/3", 3: "a whole letter"}


@attrs.frozen
class ProfileCriterion:
    """A criterion with how far it moves the grade.  Build one with :func:`graded`."""

    criterion: Criterion
    up: int
    down: int

    def config(self) -> dict[str, Any]:
        """This criterion as plain data."""
        return {"criterion": self.criterion.config(), "up": self.up, "down": self.down}


def graded(criterion: Criterion, up: int = 2, down: int | None = None) -> ProfileCriterion:
    """A profile criterion: a match raises the grade ``up`` thirds (1, 2 or 3).

    A known value that does not match lowers it ``down`` thirds (0 to 3;
    the same as ``up`` unless given).  Pardot's default profile moves two
    thirds per criterion.
    """
    checks = Checks()
    if not isinstance(criterion, Criterion):
        checks.add("$.criterion", "must be built with one_of, bands, pattern, present, ...")
    lowered = up if down is None else down
    for path, value, low in (("$.up", up, 1), ("$.down", lowered, 0)):
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= 3:
            checks.add(path, f"must be a number of thirds from {low} to 3, got {value!r}")
    if checks.problems:
        raise ValidationError("graded", checks.problems)
    return ProfileCriterion(criterion, up, lowered)


class _ProfileGrade(StrategyBase):
    version = "1"

    def __init__(
        self, name: str, criteria: tuple[ProfileCriterion, ...], start: str, bands: tuple[Band, ...]
    ) -> None:
        self.name = name
        self.criteria = criteria
        self.start = start
        self._start = Decimal(LETTERS.index(start))
        self._readers = [c.criterion.read() for c in criteria]
        self.bands = bands or (
            Band("F", 0, Verdict.DISQUALIFIED),
            Band("D", LETTERS.index("D-"), Verdict.NURTURE),
            Band("B", LETTERS.index("B-"), Verdict.REVIEW),
            Band("A", LETTERS.index("A-"), Verdict.QUALIFIED),
        )

    def config(self) -> dict[str, Any]:
        return {
            "kind": "grade",
            "name": self.name,
            "start": self.start,
            "criteria": [c.config() for c in self.criteria],
            "bands": [{"name": b.name, "min": b.min, "verdict": b.verdict} for b in self.bands],
        }

    def _evaluate(self, subject: Any, as_of: datetime, explain: bool) -> QualificationResult:
        lines = [
            BreakdownLine(
                "start", CriterionStatus.MATCH, self._start, f"every grade starts at {self.start}"
            )
        ]
        known = 0
        total = self._start
        for profile, read in zip(self.criteria, self._readers, strict=True):
            c = profile.criterion
            value = read(subject)
            status = CriterionStatus.UNKNOWN
            reason = "not known: the grade does not move"
            move = 0
            if value is not None and (c.presence or not is_missing(value)):
                found, points, why = c.classify(value)
                if found is not CriterionStatus.UNKNOWN:
                    known += 1
                    if points > 0 and found is not CriterionStatus.KNOCKOUT:
                        status, move = CriterionStatus.MATCH, profile.up
                        reason = f"{why}: matches, up {_FRACTION[move]}"
                    else:
                        status, move = CriterionStatus.NO_MATCH, -profile.down
                        reason = f"{why}: does not match, down {_FRACTION.get(-move, 'nothing')}"
                    total += move
            shown = None if c.presence or value is None else observed(value)
            lines.append(
                BreakdownLine(
                    c.name,
                    status,
                    Decimal(move),
                    reason,
                    observed=shown,
                    evidence=() if c.field is None else (f"$.{c.field}",),
                )
            )
        score: Decimal | None = None
        grade = band = None
        verdict = Verdict.INSUFFICIENT_DATA
        if known:
            score = min(max(total, _ZERO), _TOP)
            if score != total:
                what = "best grade, A+" if total > score else "worst grade, F"
                charge(lines, range(1, len(lines)), total - score, what)
            grade = LETTERS[int(score)]
            chosen = band_for(self.bands, score)
            band, verdict = chosen.name, chosen.verdict
        return QualificationResult(
            strategy=self.name,
            strategy_version=self.version,
            config_hash=self.config_hash,
            as_of=as_of,
            score=score,
            scale_min=_ZERO,
            scale_max=_TOP,
            verdict=verdict,
            coverage=(Decimal(known) / len(self.criteria)).quantize(Decimal("0.0001")),
            breakdown=tuple(lines) if explain and score is not None else (),
            grade=grade,
            band=band,
            subject_id=subject_id(subject),
        )


def profile_grade(
    name: str,
    criteria: Sequence[ProfileCriterion],
    *,
    start: str = "D",
    bands: Sequence[Band] = (),
) -> StrategyBase:
    """A Pardot-style grade: start at ``start`` (D), move in thirds per criterion.

    ``criteria`` are :func:`graded` ICP criteria.  The score is the grade's
    step in thirds (F = 0 .. A+ = 12; see :data:`LETTERS`), never beyond F or
    A+; ``result.grade`` is the letter.  Default bands: F disqualified, D-
    to C+ nurture, B- to B+ review, A- and up qualified (their ``min`` is
    in thirds).  No criterion known: no score and no grade.
    """
    checks = Checks()
    checks.text("$.name", name, required=True, max_length=200)
    given = as_list(checks, "$.criteria", criteria)
    if not given and not checks.problems:
        checks.add("$.criteria", "needs at least one criterion")
    names: set[str] = set()
    for i, c in enumerate(given):
        if not isinstance(c, ProfileCriterion):
            checks.add(f"$.criteria[{i}]", "must be built with graded(criterion, up, down)")
        elif c.criterion.name in names or c.criterion.name == "start":
            checks.add(f"$.criteria[{i}]", f"duplicate or reserved name {c.criterion.name!r}")
        else:
            names.add(c.criterion.name)
    if start not in LETTERS:
        checks.add("$.start", f"must be one of {', '.join(LETTERS)}; got {start!r}")
    bands = as_list(checks, "$.bands", bands)
    for i, band in enumerate(bands):
        if not isinstance(band, Band):
            checks.add(f"$.bands[{i}]", "must be a Band")
    if not checks.problems:
        check_ascending(checks, "$.bands", list(bands))
    if checks.problems:
        raise ValidationError("profile_grade", checks.problems)
    return _ProfileGrade(name, tuple(given), start, tuple(bands))
