"""Preview a draft configuration: how would scores and verdicts change if it were adopted?"""

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

__all__ = ["Change", "Preview", "preview"]


@attrs.frozen
class Change:
    """One subject before and after: ``before`` is ``None`` when it had no result."""

    subject_id: str | None
    before: QualificationResult | None
    after: QualificationResult

    @property
    def delta(self) -> Decimal | None:
        """Score change, or ``None`` when either side is unscored."""
        if self.before is None or self.before.score is None or self.after.score is None:
            return None
        return self.after.score - self.before.score

    @property
    def verdict_changed(self) -> bool:
        """Whether the verdict differs (a missing result counts as a change)."""
        return self.before is None or self.before.verdict is not self.after.verdict


@attrs.frozen
class Preview:
    """The effect of a draft on a set of subjects.

    ``transitions`` counts ``(verdict before, verdict after)`` pairs (``None``
    before means no earlier result); ``newly_unscored`` lists subjects that
    had a score and would lose it.
    """

    draft: str
    draft_hash: str
    changes: tuple[Change, ...] = attrs.field(repr=False)
    transitions: Mapping[tuple[Verdict | None, Verdict], int]
    raised: int
    lowered: int
    unchanged: int
    newly_unscored: tuple[str | None, ...]

    @property
    def verdict_changes(self) -> tuple[Change, ...]:
        """The subjects whose verdict would change."""
        return tuple(c for c in self.changes if c.verdict_changed)

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
        return "\n".join([head, *moved]) if moved else head + "; no verdict changes"


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
    subject's stored result (``lead.qualification`` / ``prospect.fit``).
    Nothing is written: this only reports.
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
    transitions: Counter[tuple[Verdict | None, Verdict]] = Counter()
    raised = lowered = unchanged = 0
    unscored: list[str | None] = []
    for subject in subjects:
        after = strategy.evaluate(subject, as_of=as_of)
        before = current.evaluate(subject, as_of=as_of) if current is not None else _stored(subject)
        change = Change(after.subject_id, before, after)
        changes.append(change)
        transitions[(before.verdict if before else None, after.verdict)] += 1
        delta = change.delta
        if delta is None or not delta:
            unchanged += 1
        elif delta > 0:
            raised += 1
        else:
            lowered += 1
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
    )
