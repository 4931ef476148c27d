"""Roll-up scores: a company (or an account, a prospect) scored from its members' results.

HubSpot scores a company's engagement from its associated contacts' actions.
:func:`rollup` evaluates one strategy on each member of a subject (the
members are read from an attribute, ``contacts`` by default, or the subject
is itself a list of members) and adds their scores (``"sum"``) or keeps the
best one (``"max"``), under an optional ``limit``.  The breakdown has one
line per member, adding up exactly; members' own results are kept in
``result.children``.  A member's knockout does not disqualify the group:
one unsuitable contact does not make the company so.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from ..domain._checks import Checks, to_decimal
from ..errors import ValidationError
from .base import Band, Strategy, StrategyBase, as_list, band_for, check_ascending, subject_id
from .limits import charge, num
from .results import BreakdownLine, CriterionStatus, QualificationResult, Verdict

__all__ = ["rollup"]

_ZERO = Decimal(0)
_HUNDRED = Decimal(100)
_CENT = Decimal("0.01")


class _Rollup(StrategyBase):
    version = "1"

    def __init__(
        self,
        name: str,
        child: Strategy,
        members: str,
        aggregate: str,
        limit: Decimal | None,
        bands: tuple[Band, ...],
    ) -> None:
        self.name = name
        self.child = child
        self.members = members
        self.aggregate = aggregate
        self.limit = limit
        top = limit if limit is not None else _HUNDRED
        self.bands = bands or (
            Band("cold", _ZERO, Verdict.NURTURE),
            Band("warm", (top * Decimal("0.4")).quantize(_CENT), Verdict.REVIEW),
            Band("hot", (top * Decimal("0.7")).quantize(_CENT), Verdict.QUALIFIED),
        )

    def config(self) -> dict[str, Any]:
        return {
            "kind": "rollup",
            "name": self.name,
            "strategy": {
                "name": self.child.name,
                "version": self.child.version,
                "config": self.child.config(),
            },
            "members": self.members,
            "aggregate": self.aggregate,
            "limit": self.limit,
            "bands": [{"name": b.name, "min": b.min, "verdict": b.verdict} for b in self.bands],
        }

    def _members(self, subject: Any) -> list[Any]:
        found = getattr(subject, self.members, None)
        if found is None and isinstance(subject, Sequence) and not isinstance(subject, str):
            found = subject
        if found is None:
            return []
        if isinstance(found, str | bytes) or not isinstance(found, Iterable):
            raise TypeError(f"{self.members} must be a list of members, got {type(found).__name__}")
        return list(found)

    def _evaluate(self, subject: Any, as_of: datetime, explain: bool) -> QualificationResult:
        results = [
            self.child.evaluate(m, as_of=as_of, explain=explain) for m in self._members(subject)
        ]
        scored = [(i, r) for i, r in enumerate(results) if r.score is not None]
        lines: list[BreakdownLine] = []
        score: Decimal | None = None
        band: str | None = None
        verdict = Verdict.INSUFFICIENT_DATA
        best = max(scored, key=lambda ir: (ir[1].score, -ir[0]))[0] if scored else None
        for i, r in enumerate(results):
            label = r.subject_id or f"member {i + 1}"
            if r.score is None:
                points, reason = _ZERO, f"{label}: not scored"
            elif self.aggregate == "max" and i != best:
                points, reason = _ZERO, f"{label}: {num(r.score)} (not the best)"
            else:
                points, reason = r.score, f"{label}: {num(r.score)}"
            lines.append(
                BreakdownLine(
                    criterion=f"{i + 1}. {label}"[:200],
                    status=CriterionStatus.UNKNOWN if r.score is None else CriterionStatus.MATCH,
                    points=points,
                    reason=reason,
                    observed=None if r.score is None else r.score,
                    evidence=(f"member:{label}",),
                )
            )
        if scored:
            raw = sum((line.points for line in lines), _ZERO)
            score = raw if self.limit is None else min(raw, self.limit)
            if score < raw and explain:
                charge(lines, range(len(lines)), raw - score, f"limit of {num(score)}")
            chosen = band_for(self.bands, score)
            band, verdict = chosen.name, chosen.verdict
        low = min([_ZERO, *(r.scale_min for r in results)])
        high = self.limit if self.limit is not None else max([score or _ZERO, _HUNDRED])
        return QualificationResult(
            strategy=self.name,
            strategy_version=self.version,
            config_hash=self.config_hash,
            as_of=as_of,
            score=score,
            scale_min=min(low, score if score is not None else low),
            scale_max=max(high, score if score is not None else high),
            verdict=verdict,
            coverage=(Decimal(len(scored)) / len(results)).quantize(Decimal("0.0001"))
            if results
            else _ZERO,
            breakdown=tuple(lines) if explain and score is not None else (),
            band=band,
            subject_id=subject_id(subject),
            children=tuple(results),
            stale=any(r.stale for r in results),
        )


def rollup(
    name: str,
    strategy: Strategy,
    *,
    members: str = "contacts",
    aggregate: str = "sum",
    limit: Decimal | int | str | None = 100,
    bands: Sequence[Band] = (),
) -> StrategyBase:
    """Score a subject from its members' results (a company from its contacts).

    ``strategy`` is evaluated on each of ``subject.<members>`` (or on the
    subject's items when it is itself a list); ``aggregate="sum"`` adds
    their scores (HubSpot's company engagement), ``"max"`` keeps the best.
    The total stays under ``limit`` (``None``: none).  No scored member: no
    score.  Default bands: cold (nurture), warm (review) from 40 % and hot
    (qualified) from 70 % of ``limit`` (of 100 without one).
    """
    checks = Checks()
    checks.text("$.name", name, required=True, max_length=200)
    if not isinstance(strategy, Strategy):
        checks.add("$.strategy", "must be a strategy (evaluate, name, version, config)")
    if not isinstance(members, str) or not members.isidentifier():
        checks.add("$.members", f"must be an attribute name such as 'contacts', got {members!r}")
    if aggregate not in ("sum", "max"):
        checks.add("$.aggregate", f"must be 'sum' or 'max', got {aggregate!r}")
    top = None if limit is None else to_decimal(checks, "$.limit", limit)
    if top is not None and top <= 0:
        checks.add("$.limit", f"must be > 0, got {top}")
    bands = as_list(checks, "$.bands", bands)
    for i, band in enumerate(bands):
        if not isinstance(band, Band):
            checks.add(f"$.bands[{i}]", "must be a Band")
    if not checks.problems:
        check_ascending(checks, "$.bands", list(bands))
    if checks.problems:
        raise ValidationError("rollup", checks.problems)
    return _Rollup(name, strategy, members, aggregate, top, tuple(bands))
