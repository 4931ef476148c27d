"""The ICP fit strategy: the sum of its criteria's points, explained line by line.

Points are weighted, summed per group under the group's cap and under a total
cap; required criteria and knockout values disqualify; bands and grades turn
the score into a verdict.  Scoring runs through the functions the code
generator (:mod:`.codegen`) writes for the strategy's criteria.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from ...clock import ensure_aware
from ...domain._checks import Checks, to_decimal
from ...domain.results import BreakdownLine, CriterionStatus, QualificationResult, Verdict
from ...errors import PipelinekitError, Problem, ValidationError
from ..base import (
    _UNREADABLE,
    Band,
    Grade,
    StrategyBase,
    band_for,
    check_ascending,
    grade_for,
)
from ..limits import charge
from ..results import result_maker
from .codegen import BLOCK, CACHE_LIMIT, KO, UNCONFIRMED, Plan, generate
from .criteria import Criterion, num

__all__ = ["icp_fit"]

_ZERO = Decimal(0)
_K = CriterionStatus.KNOCKOUT
_KO, _BLOCK, _UNCONFIRMED, _CACHE_LIMIT = KO, BLOCK, UNCONFIRMED, CACHE_LIMIT


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
        scale: str = "points",
        floor: Decimal | None = None,
    ) -> None:
        self.name = name
        self.scale = scale
        self.floor = floor
        self.criteria = tuple(criteria)
        self.groups = dict(groups)
        self.total_cap = total_cap
        self.min_coverage = min_coverage
        names = list(self.groups)
        self._group_caps: list[Decimal | None] = [self.groups[g] for g in names]
        self._group_names = names
        self._plans = [
            Plan(c, names.index(c.group) if c.group is not None else -1) for c in self.criteria
        ]
        for plan in self._plans:
            plan.outcomes[plan.key(None)] = plan.missing_outcome
            plan.explained[plan.key(None)] = plan.missing_line
        caps = self._group_caps
        self._run_scores = generate(
            self._plans, caps, total_cap, False, generate(self._plans, caps, total_cap, False)
        )
        self._run_lines = generate(
            self._plans, caps, total_cap, True, generate(self._plans, caps, total_cap, True)
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
        if floor is not None:
            low = max(low, floor)
        self.scale_min, self.scale_max = low, max(high, low)
        # Default cuts: shares of the configured points (0 up to the total cap, or
        # up to the most the criteria can give), so negative rules never lift a
        # lead with nothing known into a middle band; "relative" takes shares
        # of the whole range from the lowest possible score instead.
        base = low if scale == "relative" else _ZERO
        top = high if scale == "relative" or total_cap is None else total_cap
        top = max(top, base)
        self.bands = bands or tuple(
            b
            for b in (
                Band("low", self.scale_min, Verdict.DISQUALIFIED),
                Band("medium", _pct(base, top, "0.4"), Verdict.NURTURE),
                Band("high", _pct(base, top, "0.7"), Verdict.QUALIFIED),
            )
            if b.name == "low" or b.min > self.scale_min
        )
        self.grades = grades or tuple(
            g
            for g in (
                Grade("D", self.scale_min),
                Grade("C", _pct(base, top, "0.25")),
                Grade("B", _pct(base, top, "0.5")),
                Grade("A", _pct(base, top, "0.75")),
            )
            if g.letter == "D" or g.min > self.scale_min
        )
        self._lowest_grade = self.grades[0].letter
        self._graded: dict[Decimal, tuple[str, Verdict, str | None]] = {}
        self._check_coverage = min_coverage > 0
        count = len(self.criteria)
        self._coverage = [
            (Decimal(k) / count).quantize(Decimal("0.0001")) for k in range(count + 1)
        ]
        # names, scale and coverage table are checked once, here
        self._make = result_maker(
            self.name, self.version, self.config_hash, self.scale_min, self.scale_max
        )

    def reads(self) -> Mapping[str, tuple[Any, ...]]:
        """Each criterion's field with the values it classifies (nothing when a
        :func:`~pipelinekit.qualification.predicate` reads what its function reads)."""
        fields: dict[str, tuple[Any, ...]] = {}
        for criterion in self.criteria:
            if criterion.field is None:
                return {}
            fields[criterion.field] = (
                *fields.get(criterion.field, ()),
                *criterion.understood(),
            )
        return fields

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
            "scale": self.scale,
            "floor": self.floor,
        }

    # score-only fast path: no BreakdownLine objects at all
    def _score(self, subject: Any) -> tuple[Decimal | None, int, int]:
        _, flags, known, total, _ = self._run_scores(subject)
        if flags & _BLOCK:
            return None, flags, known
        if self.floor is not None and total < self.floor:
            total = self.floor
        return total, flags, known

    def _trim(self, lines: list[BreakdownLine]) -> list[BreakdownLine]:
        """Trim lines so each group stays under its cap and the total under the total cap."""
        total = _ZERO
        loose = _ZERO
        for i, cap in enumerate(self._group_caps):
            members = self._members[i]
            value = sum((lines[j].points for j in members), _ZERO)
            if cap is not None and value > cap:
                what = f"group {self._group_names[i]!r} cap of {num(cap)}"
                charge(lines, members, value - cap, what, mark_cap=cap)
                value = cap
            total += value
        for j, plan in enumerate(self._plans):
            if plan.group < 0:
                loose += lines[j].points
        total += loose
        if self.total_cap is not None and total > self.total_cap:
            what = f"total cap of {num(self.total_cap)}"
            charge(lines, self._everyone, total - self.total_cap, what, mark_cap=self.total_cap)
        elif self.floor is not None and total < self.floor:
            charge(lines, self._everyone, total - self.floor, f"floor of {num(self.floor)}")
        return lines

    def _evaluate(self, subject: Any, as_of: datetime, explain: bool) -> QualificationResult:
        if explain:
            return self._explained(subject, as_of, *self._run_lines(subject))
        each, flags, known, total, _ = self._run_scores(subject)
        if self.floor is not None and total < self.floor:
            total = self.floor
        knockouts: tuple[str, ...] = ()
        if flags & _KO:
            knockouts = tuple(c.name for c, f in zip(self.criteria, each, strict=True) if f & _KO)
        return self._result(subject, as_of, (), knockouts, flags, known, total)

    def _explained(
        self,
        subject: Any,
        as_of: datetime,
        breakdown: tuple[BreakdownLine, ...],
        flags: int,
        known: int,
        total: Decimal,
        over: bool,
    ) -> QualificationResult:
        if self.floor is not None and total < self.floor:
            total, over = self.floor, True
        if over:
            breakdown = tuple(self._trim(list(breakdown)))
        knockouts: tuple[str, ...] = ()
        if flags & _KO:
            knockouts = tuple(line.criterion for line in breakdown if line.status is _K)
        return self._result(subject, as_of, breakdown, knockouts, flags, known, total)

    def _result(
        self,
        subject: Any,
        as_of: datetime,
        breakdown: tuple[BreakdownLine, ...],
        knockouts: tuple[str, ...],
        flags: int,
        known: int,
        total: Decimal,
    ) -> QualificationResult:
        coverage = self._coverage[known]
        score: Decimal | None = total
        band: str | None = None
        grade: str | None = None
        if flags & _BLOCK:
            score = None
            verdict = Verdict.INSUFFICIENT_DATA
        else:
            band, verdict, grade = self._graded_for(total)
            if flags & _KO:
                verdict, grade = Verdict.DISQUALIFIED, self._lowest_grade
            elif flags & _UNCONFIRMED or (self._check_coverage and coverage < self.min_coverage):
                verdict = Verdict.INSUFFICIENT_DATA
        ident = getattr(subject, "id", None)
        return self._make(
            as_of,
            score,
            verdict,
            coverage,
            breakdown,
            grade,
            band,
            knockouts,
            None if ident is None else str(ident),
        )

    def _graded_for(self, total: Decimal) -> tuple[str, Verdict, str | None]:
        graded = self._graded.get(total)
        if graded is None:
            chosen = band_for(self.bands, total)
            graded = (chosen.name, chosen.verdict, grade_for(self.grades, total))
            if len(self._graded) < _CACHE_LIMIT:
                self._graded[total] = graded
        return graded

    def _batch(self, as_of: datetime, explain: bool) -> Callable[[Any], QualificationResult]:
        if not explain:
            return super()._batch(as_of, explain)
        # The explained batch path with everything it needs bound locally: a subject
        # within its caps, not knocked out and fully known goes straight to its result.
        run, explained, make = self._run_lines, self._explained, self._make
        coverage_of, graded_for, graded_get = self._coverage, self._graded_for, self._graded.get
        unusual = _BLOCK | _UNCONFIRMED
        full = len(self._coverage) - 1
        unchecked = not self._check_coverage
        disqualified, knockout, lowest = Verdict.DISQUALIFIED, _K, self._lowest_grade
        floor = self.floor

        def one(subject: Any) -> QualificationResult:
            breakdown, flags, known, total, over = run(subject)
            if (
                over
                or flags & unusual
                or not (unchecked or known == full)
                or (floor is not None and total < floor)
            ):
                return explained(subject, as_of, breakdown, flags, known, total, over)
            band, verdict, grade = graded_get(total) or graded_for(total)
            knockouts: tuple[str, ...] = ()
            if flags & _KO:
                verdict, grade = disqualified, lowest
                knockouts = tuple(line.criterion for line in breakdown if line.status is knockout)
            ident = getattr(subject, "id", None)
            return make(
                as_of, total, verdict, coverage_of[known], breakdown, grade, band, knockouts,
                ident if ident is None or ident.__class__ is str else str(ident),
            )  # fmt: skip

        return one

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


def icp_fit(
    name: str,
    criteria: Sequence[Criterion],
    *,
    groups: Mapping[str, Decimal | int | str | None] | None = None,
    total_cap: Decimal | int | str | None = None,
    bands: Sequence[Band] = (),
    grades: Sequence[Grade] = (),
    min_coverage: Decimal | int | str = 0,
    scale: str = "points",
    floor: Decimal | int | str | None = None,
) -> StrategyBase:
    """An ICP fit strategy: the sum of its criteria's points, explained line by line.

    ``groups`` maps group names to caps (``None``: uncapped); a criterion's
    points count toward its group's cap, and all points toward ``total_cap``
    (HubSpot's default limit is 100).  A capped line says so and keeps the
    breakdown adding up exactly.  ``bands`` (ascending) set the verdict by
    score; the default is *low* (disqualified) below 40 % of the points,
    *medium* (nurture) from 40 %, *high* (qualified) from 70 %.  ``grades``
    (ascending) default to D, C, B, A at 0/25/50/75 %.  With
    ``scale="points"`` (the default) those shares are of the configured
    points, from 0 up to ``total_cap`` (or, without one, the most the
    criteria can give); ``scale="relative"`` takes them of the whole range
    from the lowest possible score.  A knocked-out subject gets the lowest
    grade.  Which lines lose points to a cap follows
    :mod:`pipelinekit.qualification.limits` (the smallest first, whatever
    the criteria's order).  ``floor`` is the lowest score negative criteria
    can bring (HubSpot's minimum for fit scores).  Below ``min_coverage`` (the share of criteria
    with known data) the verdict is insufficient data.
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
    lowest = None if floor is None else to_decimal(checks, "$.floor", floor)
    if lowest is not None and lowest > 0:
        checks.add("$.floor", f"must be <= 0, got {lowest}")
    if scale not in ("points", "relative"):
        checks.add("$.scale", f"must be 'points' or 'relative', got {scale!r}")
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
        scale,
        lowest,
    )
