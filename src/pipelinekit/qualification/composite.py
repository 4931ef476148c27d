"""Composite strategies: a weighted blend, the fit x engagement matrix (A1..C3), the
additive combined score (fit points + engagement points), gates.

Each composite evaluates its children and keeps their results
(``result.children``); its own breakdown has one line per child, adding up
exactly to the composite score.  A child's knockout disqualifies the
composite and is listed as ``<child>.<criterion>``.
"""

from __future__ import annotations

import decimal
from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from ..domain._checks import Checks, to_decimal
from ..errors import ValidationError
from .base import Band, Strategy, StrategyBase, as_list, band_for, check_ascending, subject_id
from .limits import charge
from .results import BreakdownLine, CriterionStatus, QualificationResult, Verdict

__all__ = ["DEFAULT_GRID", "combined", "gate", "matrix", "normalized", "weighted"]

_ZERO = Decimal(0)
_ONE = Decimal(1)
_HUNDRED = Decimal(100)
_CENT = Decimal("0.01")

#: The default verdict per cell of the fit (A-C) x engagement (1-3) matrix.
DEFAULT_GRID: Mapping[str, Verdict] = {
    "A1": Verdict.QUALIFIED,
    "A2": Verdict.QUALIFIED,
    "B1": Verdict.QUALIFIED,
    "A3": Verdict.REVIEW,
    "B2": Verdict.REVIEW,
    "C1": Verdict.REVIEW,
    "B3": Verdict.NURTURE,
    "C2": Verdict.NURTURE,
    "C3": Verdict.DISQUALIFIED,
}

_STATUS = {
    Verdict.QUALIFIED: CriterionStatus.MATCH,
    Verdict.REVIEW: CriterionStatus.PARTIAL,
    Verdict.NURTURE: CriterionStatus.PARTIAL,
    Verdict.DISQUALIFIED: CriterionStatus.NO_MATCH,
    Verdict.INSUFFICIENT_DATA: CriterionStatus.UNKNOWN,
}


def normalized(result: QualificationResult) -> Decimal | None:
    """A result's score on a 0-100 scale (rounded down to 0.01), or ``None`` when unscored."""
    if result.score is None:
        return None
    span = result.scale_max - result.scale_min
    if not span:
        return _HUNDRED
    value = (result.score - result.scale_min) * _HUNDRED / span
    return value.quantize(_CENT, rounding=decimal.ROUND_FLOOR)


def _num(value: Decimal) -> str:
    return format(value.normalize(), "f") if value else "0"


def _child_status(result: QualificationResult) -> CriterionStatus:
    if result.knockouts:
        return CriterionStatus.KNOCKOUT
    return _STATUS[result.verdict]


class _Composite(StrategyBase):
    version = "1"
    kind = "composite"

    def __init__(self, name: str, children: Sequence[Strategy]) -> None:
        self.name = name
        self.children = tuple(children)

    def _children(self, subject: Any, as_of: datetime, explain: bool) -> list[QualificationResult]:
        return [c.evaluate(subject, as_of=as_of, explain=explain) for c in self.children]

    def _base_config(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "name": self.name,
            "children": [
                {"name": c.name, "version": c.version, "config": c.config()} for c in self.children
            ],
        }

    def _result(
        self,
        subject: Any,
        as_of: datetime,
        children: list[QualificationResult],
        score: Decimal | None,
        verdict: Verdict,
        lines: list[BreakdownLine],
        *,
        scale_max: Decimal,
        scale_min: Decimal = _ZERO,
        grade: str | None = None,
        band: str | None = None,
        explain: bool,
    ) -> QualificationResult:
        knockouts = tuple(f"{c.strategy}.{k}" for c in children for k in c.knockouts)
        if knockouts:  # whatever the other children returned, scored or not
            verdict = Verdict.DISQUALIFIED
        known = sum(1 for c in children if c.score is not None)
        return QualificationResult(
            strategy=self.name,
            strategy_version=self.version,
            config_hash=self.config_hash,
            as_of=as_of,
            score=score,
            scale_min=scale_min,
            scale_max=scale_max,
            verdict=verdict,
            coverage=(Decimal(known) / len(children)).quantize(Decimal("0.0001")),
            breakdown=tuple(lines) if explain else (),
            grade=grade,
            band=band,
            knockouts=knockouts,
            subject_id=subject_id(subject),
            children=tuple(children),
            stale=any(c.stale for c in children),
        )


class _Weighted(_Composite):
    kind = "weighted"

    def __init__(
        self,
        name: str,
        children: Sequence[Strategy],
        weights: Sequence[Decimal],
        missing: str,
        bands: tuple[Band, ...],
    ) -> None:
        super().__init__(name, children)
        total = sum(weights, _ZERO)
        self.weights = tuple(weights)
        self.shares = tuple(w / total for w in weights)
        self.missing = missing
        self.bands = bands or (
            Band("low", _ZERO, Verdict.DISQUALIFIED),
            Band("medium", Decimal(40), Verdict.NURTURE),
            Band("high", Decimal(70), Verdict.QUALIFIED),
        )

    def config(self) -> dict[str, Any]:
        base = self._base_config()
        children = base.pop("children")
        return {
            **base,
            "parts": [
                {"strategy": child, "weight": weight}
                for child, weight in zip(children, self.weights, strict=True)
            ],
            "missing": self.missing,
            "bands": [{"name": b.name, "min": b.min, "verdict": b.verdict} for b in self.bands],
        }

    def _blend(
        self, children: list[QualificationResult]
    ) -> tuple[Decimal | None, list[BreakdownLine]]:
        lines: list[BreakdownLine] = []
        score: Decimal | None = _ZERO
        for child, weight, share in zip(children, self.weights, self.shares, strict=True):
            value = normalized(child)
            if value is None:
                if self.missing == "block":
                    score = None
                points = _ZERO
                reason = f"{child.strategy}: not scored ({self.missing})"
            else:
                points = (value * share).quantize(_CENT, rounding=decimal.ROUND_FLOOR)
                reason = (
                    f"{child.strategy}: {_num(value)}/100"
                    f"{f' (grade {child.grade})' if child.grade else ''}"
                    f" x weight {_num(weight)} of {_num(sum(self.weights, _ZERO))}"
                )
            if score is not None:
                score += points
            lines.append(
                BreakdownLine(
                    criterion=child.strategy,
                    status=_child_status(child),
                    points=points,
                    reason=reason,
                    observed=value,
                    evidence=(f"child:{child.strategy}",),
                )
            )
        return score, lines

    def _evaluate(self, subject: Any, as_of: datetime, explain: bool) -> QualificationResult:
        children = self._children(subject, as_of, explain)
        score, lines = self._blend(children)
        band: str | None = None
        if score is None:
            verdict = Verdict.INSUFFICIENT_DATA
        else:
            chosen = band_for(self.bands, score)
            band, verdict = chosen.name, chosen.verdict
        return self._result(
            subject, as_of, children, score, verdict, lines,
            scale_max=_HUNDRED, band=band, explain=explain,
        )  # fmt: skip


class _Matrix(_Weighted):
    kind = "matrix"

    def __init__(
        self,
        name: str,
        fit: Strategy,
        engagement: Strategy,
        weights: Sequence[Decimal],
        fit_cuts: tuple[Decimal, Decimal],
        engagement_cuts: tuple[Decimal, Decimal],
        grid: Mapping[str, Verdict],
        missing: str,
        cuts_in: str,
    ) -> None:
        super().__init__(name, [fit, engagement], weights, missing, ())
        self.fit_cuts = fit_cuts
        self.engagement_cuts = engagement_cuts
        self.grid = dict(grid)
        self.cuts_in = cuts_in

    def config(self) -> dict[str, Any]:
        base = self._base_config()
        children = base.pop("children")
        return {
            **base,
            "fit": children[0],
            "engagement": children[1],
            "weights": list(self.weights),
            "missing": self.missing,
            "fit_cuts": list(self.fit_cuts),
            "engagement_cuts": list(self.engagement_cuts),
            "grid": {k: v.value for k, v in self.grid.items()},
            "cuts_in": self.cuts_in,
        }

    def _evaluate(self, subject: Any, as_of: datetime, explain: bool) -> QualificationResult:
        children = self._children(subject, as_of, explain)
        score, lines = self._blend(children)
        fit, eng = (self._position(c) for c in children)
        grade: str | None = None
        if fit is not None and eng is not None:
            letter = "A" if fit >= self.fit_cuts[0] else "B" if fit >= self.fit_cuts[1] else "C"
            digit = (
                "1"
                if eng >= self.engagement_cuts[0]
                else "2"
                if eng >= self.engagement_cuts[1]
                else "3"
            )
            grade = letter + digit
        verdict = Verdict.INSUFFICIENT_DATA
        if score is not None and grade is not None:
            verdict = self.grid[grade]
        return self._result(
            subject, as_of, children, score, verdict, lines,
            scale_max=_HUNDRED, grade=grade, band=grade, explain=explain,
        )  # fmt: skip

    def _position(self, child: QualificationResult) -> Decimal | None:
        """Where a child stands against its cuts: 0-100, or its own points.

        An unscored child counts as 0 when ``missing="zero"`` (so the subject
        still gets a letter and a digit), else it has no position.
        """
        if child.score is None:
            return _ZERO if self.missing == "zero" else None
        if self.cuts_in == "points":
            return child.score
        return normalized(child)


class _Combined(_Composite):
    kind = "combined"

    def __init__(
        self,
        name: str,
        fit: Strategy,
        engagement: Strategy,
        limit: Decimal | None,
        floor: Decimal | None,
        bands: tuple[Band, ...],
        missing: str,
    ) -> None:
        super().__init__(name, [fit, engagement])
        self.limit = limit
        self.floor = floor
        self.missing = missing
        top = limit if limit is not None else _HUNDRED
        self.bands = bands or (
            Band("cold", floor if floor is not None and floor < 0 else _ZERO, Verdict.NURTURE),
            Band("warm", (top * Decimal("0.4")).quantize(_CENT), Verdict.REVIEW),
            Band("hot", (top * Decimal("0.7")).quantize(_CENT), Verdict.QUALIFIED),
        )

    def config(self) -> dict[str, Any]:
        base = self._base_config()
        children = base.pop("children")
        return {
            **base,
            "fit": children[0],
            "engagement": children[1],
            "limit": self.limit,
            "floor": self.floor,
            "bands": [{"name": b.name, "min": b.min, "verdict": b.verdict} for b in self.bands],
            "missing": self.missing,
        }

    def _evaluate(self, subject: Any, as_of: datetime, explain: bool) -> QualificationResult:
        children = self._children(subject, as_of, explain)
        lines: list[BreakdownLine] = []
        score: Decimal | None = _ZERO
        low = high = _ZERO
        for child in children:
            # an unscored child may count as 0 (missing="zero"): the scale spans 0 for each
            low += min(child.scale_min, _ZERO)
            high += max(child.scale_max, _ZERO)
            if child.score is None:
                if self.missing == "block":
                    score = None
                points, reason = _ZERO, f"{child.strategy}: not scored ({self.missing})"
            else:
                points = child.score
                reason = f"{child.strategy}: {_num(points)} points"
                if child.grade:
                    reason += f" (grade {child.grade})"
            if score is not None:
                score += points
            lines.append(
                BreakdownLine(
                    criterion=child.strategy,
                    status=_child_status(child),
                    points=points,
                    reason=reason,
                    observed=None if child.score is None else child.score,
                    evidence=(f"child:{child.strategy}",),
                )
            )
        if self.floor is not None:
            low = self.floor
        if self.limit is not None:
            high = self.limit
        band: str | None = None
        if score is None:
            verdict = Verdict.INSUFFICIENT_DATA
        else:
            kept = min(max(score, low), high)
            if kept != score and explain:
                what = f"limit of {_num(high)}" if score > kept else f"floor of {_num(low)}"
                charge(lines, range(len(lines)), score - kept, what)
            score = kept
            chosen = band_for(self.bands, score)
            band, verdict = chosen.name, chosen.verdict
        return self._result(
            subject, as_of, children, score, verdict, lines,
            scale_max=high, scale_min=low, band=band, explain=explain,
        )  # fmt: skip


_ORDER = [
    Verdict.DISQUALIFIED,
    Verdict.INSUFFICIENT_DATA,
    Verdict.NURTURE,
    Verdict.REVIEW,
    Verdict.QUALIFIED,
]


class _Gate(_Composite):
    kind = "gate"

    def __init__(self, name: str, children: Sequence[Strategy], mode: str) -> None:
        super().__init__(name, children)
        self.mode = mode

    def config(self) -> dict[str, Any]:
        return {**self._base_config(), "mode": self.mode}

    def _evaluate(self, subject: Any, as_of: datetime, explain: bool) -> QualificationResult:
        children = self._children(subject, as_of, explain)
        verdicts = [c.verdict for c in children]
        if self.mode == "all":
            verdict = min(verdicts, key=_ORDER.index)
        else:
            verdict = max(verdicts, key=_ORDER.index)
        lines = []
        if explain:
            need = "every" if self.mode == "all" else "any"
            for c in children:
                passed = c.verdict is Verdict.QUALIFIED
                lines.append(
                    BreakdownLine(
                        criterion=c.strategy,
                        status=_child_status(c),
                        points=_ONE if passed else _ZERO,
                        reason=f"{c.strategy}: {c.verdict.value} ({need} child must qualify)",
                        observed=c.verdict.value,
                        evidence=(f"child:{c.strategy}",),
                    )
                )
        score = Decimal(sum(1 for v in verdicts if v is Verdict.QUALIFIED))
        return self._result(
            subject, as_of, children, score, verdict, lines,
            scale_max=Decimal(len(children)), explain=explain,
        )  # fmt: skip


def _check_children(checks: Checks, children: Sequence[Any], path: str = "$.children") -> None:
    if not children:
        checks.add(path, "needs at least one child strategy")
    names: set[str] = set()
    for i, child in enumerate(children):
        if not isinstance(child, Strategy):
            checks.add(f"{path}[{i}]", "must be a strategy (evaluate, name, version, config)")
        elif child.name in names:
            checks.add(f"{path}[{i}]", f"two children named {child.name!r}: rename one")
        else:
            names.add(child.name)


def weighted(
    name: str,
    parts: Mapping[Strategy, Decimal | int | str] | Sequence[tuple[Strategy, Decimal | int | str]],
    *,
    missing: str = "block",
    bands: Sequence[Band] = (),
) -> StrategyBase:
    """A weighted blend of children's scores, each normalised to 0-100 first.

    ``parts`` pairs each child with its weight (``[(icp, 3), (bant_, 1)]``).
    ``missing="block"`` leaves the blend unscored when a child is;
    ``"zero"`` counts that child as 0.  Default bands: low (disqualified),
    medium (nurture) from 40, high (qualified) from 70.
    """
    checks = Checks()
    checks.text("$.name", name, required=True, max_length=200)
    pairs: list[Any] = []
    given = list(parts.items()) if isinstance(parts, Mapping) else as_list(checks, "$.parts", parts)
    for i, pair in enumerate(given):
        if isinstance(pair, tuple | list) and len(pair) == 2:
            pairs.append(pair)
        else:
            checks.add(f"$.parts[{i}]", "must be a (strategy, weight) pair")
    weights: list[Decimal] = []
    if len(pairs) == len(given):  # with shapes wrong, their paths would not line up
        _check_children(checks, [p[0] for p in pairs], "$.parts")
        weights = _weights(checks, [p[1] for p in pairs])
    if missing not in ("block", "zero"):
        checks.add("$.missing", f"must be 'block' or 'zero', got {missing!r}")
    bands = as_list(checks, "$.bands", bands)
    for i, band in enumerate(bands):
        if not isinstance(band, Band):
            checks.add(f"$.bands[{i}]", "must be a Band")
    if not checks.problems:
        check_ascending(checks, "$.bands", list(bands))
    if checks.problems:
        raise ValidationError("weighted", checks.problems)
    return _Weighted(name, [p[0] for p in pairs], weights, missing, tuple(bands))


def _weights(checks: Checks, raw: Sequence[Any], path: str = "$.parts") -> list[Decimal]:
    out = []
    for i, value in enumerate(raw):
        weight = to_decimal(checks, f"{path}[{i}].weight", value)
        if weight is not None and weight <= 0:
            checks.add(f"{path}[{i}].weight", f"must be > 0, got {weight}")
        out.append(weight if weight is not None else _ONE)
    return out


def _pair(checks: Checks, path: str, value: Any, default: Any) -> Any:
    """``value`` when it is a pair (list or tuple of two), else a problem and ``default``."""
    if isinstance(value, list | tuple) and len(value) == 2:
        return value
    if isinstance(value, list | tuple):
        shown = f"{len(value)} value" + ("" if len(value) == 1 else "s")
    else:
        shown = repr(value)
    checks.add(path, f"must be a pair of two numbers, got {shown}")
    return default


def matrix(
    name: str,
    fit: Strategy,
    engagement: Strategy,
    *,
    weights: tuple[Decimal | int | str, Decimal | int | str] = (1, 1),
    fit_cuts: tuple[Decimal | int | str, Decimal | int | str] = (70, 40),
    engagement_cuts: tuple[Decimal | int | str, Decimal | int | str] = (70, 40),
    grid: Mapping[str, Verdict | str] | None = None,
    missing: str = "block",
    cuts_in: str = "percent",
) -> StrategyBase:
    """HubSpot-style combined score: fit letter (A-C) x engagement digit (1-3).

    ``fit_cuts`` are the A and B thresholds, ``engagement_cuts`` the 1 and 2
    thresholds: on each child's 0-100 rescaled score (``cuts_in="percent"``,
    the default) or on its configured points (``cuts_in="points"``, as
    HubSpot's thresholds are set).  The grade (``"A1"`` .. ``"C3"``) picks
    the verdict from ``grid`` (default :data:`DEFAULT_GRID`); the score is
    the weighted blend of both.  With ``missing="zero"`` an unscored child
    counts as 0 for the blend and for its letter or digit.  For HubSpot's
    additive total (fit points + engagement points) use :func:`combined`.
    """
    checks = Checks()
    checks.text("$.name", name, required=True, max_length=200)
    _check_children(checks, [fit, engagement], "$.children")
    blend = _weights(checks, _pair(checks, "$.weights", weights, (1, 1)), "$.weights")
    cuts: dict[str, tuple[Decimal, Decimal]] = {}
    for label, raw in (("fit_cuts", fit_cuts), ("engagement_cuts", engagement_cuts)):
        pair = _pair(checks, f"$.{label}", raw, None)
        if pair is None:
            continue
        high = to_decimal(checks, f"$.{label}[0]", pair[0])
        low = to_decimal(checks, f"$.{label}[1]", pair[1])
        if high is not None and low is not None:
            if cuts_in == "points" and not low < high:
                checks.add(f"$.{label}", f"need second < first, got {high}, {low}")
            elif cuts_in != "points" and not 0 <= low < high <= 100:
                checks.add(f"$.{label}", f"need 0 <= second < first <= 100, got {high}, {low}")
            cuts[label] = (high, low)
    cells: dict[str, Verdict] = dict(DEFAULT_GRID)
    if grid is not None and not isinstance(grid, Mapping):
        checks.add("$.grid", f"must be a mapping of cells to verdicts, got {type(grid).__name__}")
        grid = None
    for key, value in (grid or {}).items():
        if key not in DEFAULT_GRID:
            checks.add(f"$.grid.{key}", "cells are A1..C3")
            continue
        try:
            cells[key] = Verdict(value)
        except ValueError:
            choices = ", ".join(v.value for v in Verdict)
            checks.add(f"$.grid.{key}", f"must be one of {choices}; got {value!r}")
    if missing not in ("block", "zero"):
        checks.add("$.missing", f"must be 'block' or 'zero', got {missing!r}")
    if cuts_in not in ("percent", "points"):
        checks.add("$.cuts_in", f"must be 'percent' or 'points', got {cuts_in!r}")
    if checks.problems:
        raise ValidationError("matrix", checks.problems)
    return _Matrix(
        name,
        fit,
        engagement,
        blend,
        cuts["fit_cuts"],
        cuts["engagement_cuts"],
        cells,
        missing,
        cuts_in,
    )


def combined(
    name: str,
    fit: Strategy,
    engagement: Strategy,
    *,
    limit: Decimal | int | str | None = 100,
    floor: Decimal | int | str | None = None,
    bands: Sequence[Band] = (),
    missing: str = "block",
) -> StrategyBase:
    """HubSpot's combined score: fit points plus engagement points, side by side.

    The score is the sum of both children's scores in their own points (no
    rescaling), kept within ``[floor, limit]`` (HubSpot's total limit, 100 by
    default; ``None`` for none; ``floor`` is at most 0, the lowest total negative
    points can bring); each child's own result stays in
    ``result.children``.  Default bands: cold (nurture), warm (review) from
    40 % and hot (qualified) from 70 % of ``limit`` (of 100 without one).
    ``missing="block"`` leaves the total unscored when a child is;
    ``"zero"`` counts that child as 0.  A child's knockout disqualifies.
    """
    checks = Checks()
    checks.text("$.name", name, required=True, max_length=200)
    _check_children(checks, [fit, engagement], "$.children")
    top = None if limit is None else to_decimal(checks, "$.limit", limit)
    if top is not None and top <= 0:
        checks.add("$.limit", f"must be > 0, got {top}")
    low = None if floor is None else to_decimal(checks, "$.floor", floor)
    if low is not None and low > 0:
        # a floor lifts a low total by giving back points of negative lines; above 0
        # there may be none to give back, and the breakdown could not add up
        checks.add("$.floor", f"must be <= 0, got {low}")
    if missing not in ("block", "zero"):
        checks.add("$.missing", f"must be 'block' or 'zero', got {missing!r}")
    bands = as_list(checks, "$.bands", bands)
    for i, band in enumerate(bands):
        if not isinstance(band, Band):
            checks.add(f"$.bands[{i}]", "must be a Band")
    if not checks.problems:
        check_ascending(checks, "$.bands", list(bands))
    if checks.problems:
        raise ValidationError("combined", checks.problems)
    return _Combined(name, fit, engagement, top, low, tuple(bands), missing)


def gate(name: str, children: Sequence[Strategy], *, mode: str = "all") -> StrategyBase:
    """Qualified when ``all`` (or ``any``) children are.

    With ``all`` the verdict is the lowest child verdict (disqualified <
    insufficient data < nurture < review < qualified); with ``any`` the
    highest.  The score counts the qualified children (0..n).
    """
    checks = Checks()
    checks.text("$.name", name, required=True, max_length=200)
    children = as_list(checks, "$.children", children)
    if children or not checks.problems:
        _check_children(checks, children)
    if mode not in ("all", "any"):
        checks.add("$.mode", f"must be 'all' or 'any', got {mode!r}")
    if checks.problems:
        raise ValidationError("gate", checks.problems)
    return _Gate(name, children, mode)
