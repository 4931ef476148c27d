"""Preview a draft configuration: how would scores, grades and verdicts change if adopted?

For each subject the preview sets the draft's result next to the current
one (a ``current=`` strategy evaluated at the same ``as_of``, or the result
stored on the subject) and says what moved and why:

* score, grade and verdict moves, counted (``raised``/``lowered``,
  ``grade_moves``, ``transitions``);
* the causes: which breakdown lines differ and by how much (:class:`Cause`);
* a *band shift*: the verdict moved although the score did not move that
  way (the draft's bands or its range moved, not the subject);
* time apart from the rules: a stored result is from an earlier ``as_of``,
  so the draft is also evaluated at that time; the rule change is the
  difference at the same moment (``rule_delta``), and what decay did since
  is ``time_delta``;
* a stored result of another strategy (BANT results against a fit draft)
  is refused, not compared.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

import attrs

from ..clock import ensure_aware
from ..errors import Problem, ValidationError
from .base import Strategy
from .results import QualificationResult, Verdict

__all__ = ["Cause", "Change", "Preview", "preview"]

_ZERO = Decimal(0)
_RANK = {
    Verdict.DISQUALIFIED: 0,
    Verdict.INSUFFICIENT_DATA: 1,
    Verdict.NURTURE: 2,
    Verdict.REVIEW: 3,
    Verdict.QUALIFIED: 4,
}


@attrs.frozen
class Cause:
    """One breakdown line that differs: its points before and after (``None``: no line)."""

    criterion: str
    before: Decimal | None
    after: Decimal | None

    @property
    def delta(self) -> Decimal:
        """The line's change in points (a missing line counts as 0)."""
        return (self.after or _ZERO) - (self.before or _ZERO)


def _causes(before: QualificationResult | None, after: QualificationResult) -> tuple[Cause, ...]:
    old = {} if before is None else {line.criterion: line.points for line in before.breakdown}
    new = {line.criterion: line.points for line in after.breakdown}
    names = list(new) + [name for name in old if name not in new]
    return tuple(
        Cause(name, old.get(name), new.get(name))
        for name in names
        if old.get(name) != new.get(name)
    )


@attrs.frozen
class Change:
    """One subject before and after: ``before`` is ``None`` when it had no result.

    ``then`` is the draft evaluated at ``before.as_of`` when that differs from
    the preview's ``as_of`` (else ``None``): it splits the score change into
    the rules' part and time's part.
    """

    subject_id: str | None
    before: QualificationResult | None
    after: QualificationResult
    then: QualificationResult | None = None

    @property
    def delta(self) -> Decimal | None:
        """Score change, or ``None`` when either side is unscored."""
        if self.before is None or self.before.score is None or self.after.score is None:
            return None
        return self.after.score - self.before.score

    @property
    def rule_delta(self) -> Decimal | None:
        """The part of :attr:`delta` the draft's rules make (both sides at the same time)."""
        if self.then is None:
            return self.delta
        if self.before is None or self.before.score is None or self.then.score is None:
            return None
        return self.then.score - self.before.score

    @property
    def time_delta(self) -> Decimal:
        """The part of :attr:`delta` time makes (decay since the stored result); 0 if none."""
        if self.then is None or self.then.score is None or self.after.score is None:
            return _ZERO
        return self.after.score - self.then.score

    @property
    def verdict_changed(self) -> bool:
        """Whether the verdict differs (a missing result counts as a change)."""
        return self.before is None or self.before.verdict is not self.after.verdict

    @property
    def grade_changed(self) -> bool:
        """Whether the grade differs (A1 -> B1, B -> C)."""
        return self.before is not None and self.before.grade != self.after.grade

    @property
    def band_shift(self) -> bool:
        """The verdict moved while the score did not move that way: the bands moved."""
        if self.before is None or not self.verdict_changed or self.delta is None:
            return False
        up = _RANK[self.after.verdict] > _RANK[self.before.verdict]
        return self.delta <= 0 if up else self.delta >= 0

    @property
    def causes(self) -> tuple[Cause, ...]:
        """The breakdown lines that differ (draft at the stored time against the stored one)."""
        return _causes(self.before, self.then or self.after)


@attrs.frozen
class Preview:
    """The effect of a draft on a set of subjects.

    ``raised``/``lowered``/``unchanged`` count the rules' effect
    (:attr:`Change.rule_delta`); ``faded`` counts subjects whose score time
    alone lowered since their stored result.  ``transitions`` counts
    ``(verdict before, verdict after)`` pairs and ``grade_moves``
    ``(grade before, grade after)`` pairs that differ; ``band_shifts`` lists
    subjects whose verdict moved against their score; ``range_moved`` says
    the draft's scale differs from the stored results'; ``newly_unscored``
    lists subjects that had a score and would lose it.
    """

    draft: str
    draft_hash: str
    changes: tuple[Change, ...] = attrs.field(repr=False)
    transitions: Mapping[tuple[Verdict | None, Verdict], int]
    raised: int
    lowered: int
    unchanged: int
    newly_unscored: tuple[str | None, ...]
    grade_moves: Mapping[tuple[str | None, str | None], int] = attrs.field(factory=dict)
    band_shifts: tuple[str | None, ...] = ()
    range_moved: bool = False
    faded: int = 0

    @property
    def verdict_changes(self) -> tuple[Change, ...]:
        """The subjects whose verdict would change."""
        return tuple(c for c in self.changes if c.verdict_changed)

    def causes(self) -> Mapping[str, Decimal]:
        """Per criterion, the total change in points over all subjects (largest first)."""
        totals: dict[str, Decimal] = {}
        for change in self.changes:
            for cause in change.causes:
                totals[cause.criterion] = totals.get(cause.criterion, _ZERO) + cause.delta
        return dict(sorted(totals.items(), key=lambda kv: (-abs(kv[1]), kv[0])))

    def summary(self) -> str:
        """A few lines for a person deciding whether to publish the draft."""
        moved = [
            f"  {before.value if before else 'unscored'} -> {after.value}: {count}"
            for (before, after), count in sorted(
                self.transitions.items(), key=lambda kv: (str(kv[0][0]), kv[0][1].value)
            )
            if before is not after
        ]
        head = (
            f"{self.draft}: {len(self.changes)} subjects, {self.raised} scored higher, "
            f"{self.lowered} lower, {self.unchanged} unchanged"
        )
        if self.newly_unscored:
            head += f", {len(self.newly_unscored)} would become unscored"
        lines = [head + ("" if moved else "; no verdict changes"), *moved]
        lines += [
            f"  grade {before or '-'} -> {after or '-'}: {count}"
            for (before, after), count in sorted(self.grade_moves.items(), key=str)
        ]
        if self.faded:
            lines.append(f"  {self.faded} lower from decay alone since their stored result")
        if self.band_shifts:
            lines.append(
                f"  {len(self.band_shifts)} verdict(s) moved against the score: the bands moved"
            )
        if self.range_moved:
            lines.append("  the draft's score range differs from the stored results'")
        causes = [f"{name} {'+' if d > 0 else ''}{d}" for name, d in self.causes().items() if d]
        if causes:
            lines.append("  by criterion: " + ", ".join(causes[:8]))
        return "\n".join(lines)

    def table(self) -> str:
        """One row per subject whose score, grade or verdict would change."""
        rows = [("subject", "score", "grade", "verdict", "causes")]
        for c in self.changes:
            if not (c.verdict_changed or c.grade_changed or c.delta):
                continue
            b = c.before
            rows.append(
                (
                    str(c.subject_id),
                    f"{_show(b.score if b else None)} -> {_show(c.after.score)}",
                    f"{(b.grade if b else None) or '-'} -> {c.after.grade or '-'}",
                    f"{b.verdict.value if b else '-'} -> {c.after.verdict.value}",
                    ", ".join(
                        f"{x.criterion} {'+' if x.delta > 0 else ''}{x.delta}" for x in c.causes
                    ),
                )
            )
        widths = [max(len(row[i]) for row in rows) for i in range(4)]
        return "\n".join(
            "  ".join(cell.ljust(w) for cell, w in zip(row[:4], widths, strict=True))
            + "  "
            + row[4]
            for row in rows
        ).rstrip()


def _show(score: Decimal | None) -> str:
    return "unscored" if score is None else str(score)


def _stored(subject: Any) -> QualificationResult | None:
    found = getattr(subject, "qualification", None)
    if found is None:
        found = getattr(subject, "fit", None)
    return found if isinstance(found, QualificationResult) else None


def preview(
    draft: Strategy | Mapping[str, Any],
    subjects: Iterable[Any],
    *,
    as_of: datetime,
    current: Strategy | None = None,
) -> Preview:
    """Compare ``draft`` (a strategy or a configuration mapping) with the current scoring.

    The current side is ``current`` evaluated at the same ``as_of``, or each
    subject's stored result (``lead.qualification`` / ``prospect.fit``),
    which must come from a strategy of the draft's name (else a
    :class:`~pipelinekit.ValidationError` lists the subjects).  A stored
    result from an earlier time is also compared with the draft at that
    time, so the rules' effect and decay's are told apart.  Nothing is
    written: this only reports.
    """
    as_of = ensure_aware(as_of, "as_of")
    problems = []
    if not isinstance(draft, Mapping | Strategy):
        problems.append(
            Problem("$.draft", f"expected a strategy or a mapping, got {type(draft).__name__}")
        )
    if isinstance(subjects, str | bytes) or not isinstance(subjects, Iterable):
        problems.append(Problem("$.subjects", f"must be a list, got {type(subjects).__name__}"))
    if current is not None and not isinstance(current, Strategy):
        problems.append(Problem("$.current", f"expected a strategy, got {type(current).__name__}"))
    if problems:
        raise ValidationError("preview", problems)
    if isinstance(draft, Mapping):
        from .config import build

        strategy = build(draft)
    else:
        strategy = draft
    changes: list[Change] = []
    for i, subject in enumerate(subjects):
        after = strategy.evaluate(subject, as_of=as_of)
        then = None
        before: QualificationResult | None
        if current is not None:
            before = current.evaluate(subject, as_of=as_of)
        else:
            before = _stored(subject)
            if before is not None and before.strategy != strategy.name:
                problems.append(
                    Problem(
                        f"$.subjects[{i}]",
                        f"its stored result is from {before.strategy!r}, not {strategy.name!r}: "
                        "compare with current=<that strategy> or a draft of the same name",
                    )
                )
                continue
            if before is not None and before.as_of != as_of:
                then = strategy.evaluate(subject, as_of=before.as_of)
        changes.append(Change(after.subject_id, before, after, then))
    if problems:
        raise ValidationError("preview", problems)
    return _report(strategy, changes)


def _report(strategy: Strategy, changes: list[Change]) -> Preview:
    transitions: Counter[tuple[Verdict | None, Verdict]] = Counter()
    grades: Counter[tuple[str | None, str | None]] = Counter()
    raised = lowered = unchanged = faded = 0
    unscored: list[str | None] = []
    shifts: list[str | None] = []
    ranged = False
    for change in changes:
        before, after = change.before, change.after
        transitions[(before.verdict if before else None, after.verdict)] += 1
        if change.grade_changed:
            grades[(before.grade if before else None, after.grade)] += 1
        delta = change.rule_delta
        if not delta:
            unchanged += 1
        elif delta > 0:
            raised += 1
        else:
            lowered += 1
        if change.time_delta < 0:
            faded += 1
        if change.band_shift:
            shifts.append(change.subject_id)
        if before is not None and (before.scale_min, before.scale_max) != (
            after.scale_min,
            after.scale_max,
        ):
            ranged = True
        if before is not None and before.score is not None and after.score is None:
            unscored.append(after.subject_id)
    return Preview(
        draft=strategy.name,
        draft_hash=strategy.config_hash,
        changes=tuple(changes),
        transitions=dict(transitions),
        raised=raised,
        lowered=lowered,
        unchanged=unchanged,
        newly_unscored=tuple(unscored),
        grade_moves=dict(grades),
        band_shifts=tuple(shifts),
        range_moved=ranged,
        faded=faded,
    )
