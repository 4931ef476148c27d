"""From a verdict to a proposed lead lifecycle event, with hysteresis and staleness.

The lead lifecycle (stages ``new``, ``contacted``, ``nurturing``,
``qualified``, ``disqualified``, ``converted``) is a pipeline machine; this
module *proposes* the event (``qualify``, ``disqualify``, ``nurture``,
``recycle``) a result calls for, and :func:`~pipelinekit.lifecycle.apply_proposal`
fires it through the machine, which validates it and records the history.

Rules: knockouts disqualify; a score inside the hysteresis band keeps the
current stage (no flapping around a threshold); a qualified lead whose
engagement merely decayed is marked *stale*, never demoted; a lead that cannot
be scored gets no proposal; converted leads are left alone.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

import attrs

from ..domain._checks import Checks, to_decimal
from ..domain.results import QualificationResult, Verdict
from ..errors import Problem, ValidationError

__all__ = ["Hysteresis", "Proposal", "check_subject", "propose", "propose_many"]

_OPEN = frozenset(["new", "contacted", "nurturing"])
_TARGET = {
    "qualify": "qualified",
    "disqualify": "disqualified",
    "nurture": "nurturing",
    "recycle": "nurturing",
}


@attrs.frozen(init=False)
class Hysteresis:
    """Two thresholds on the score around the qualified band.

    A lead qualifies at ``qualify_at`` or above, and once qualified stays so
    until its score falls below ``keep_above`` (lower than ``qualify_at``):
    a score wobbling between the two changes nothing.
    """

    qualify_at: Decimal
    keep_above: Decimal

    def __init__(self, qualify_at: Decimal | int | str, keep_above: Decimal | int | str) -> None:
        checks = Checks()
        high = to_decimal(checks, "$.qualify_at", qualify_at)
        low = to_decimal(checks, "$.keep_above", keep_above)
        if high is not None and low is not None and low > high:
            checks.add("$.keep_above", f"must be <= qualify_at ({high}), got {low}")
        checks.done(type(self))
        assert high is not None
        assert low is not None
        self.__attrs_init__(high, low)


@attrs.frozen
class Proposal:
    """What a result proposes for a lead: a lifecycle ``event`` or nothing, and why.

    ``event`` is ``None`` when the lead should stay where it is; ``stale`` is
    true when a qualified lead's engagement has faded (flag it, do not demote
    it).  ``target`` is the stage the event leads to.
    """

    lead_id: str | None
    current: str
    event: str | None
    target: str | None
    verdict: Verdict
    score: Decimal | None
    reason: str
    stale: bool = False

    @property
    def changes_stage(self) -> bool:
        """Whether applying the proposal moves the lead to another stage."""
        return self.event is not None


def _proposal(
    lead: Any, result: QualificationResult, event: str | None, reason: str, stale: bool = False
) -> Proposal:
    ident = getattr(lead, "id", None)
    return Proposal(
        lead_id=None if ident is None else str(ident),
        current=str(getattr(lead, "status", "new")),
        event=event,
        target=_TARGET.get(event) if event else None,
        verdict=result.verdict,
        score=result.score,
        reason=reason,
        stale=stale,
    )


def check_subject(lead: object, result: QualificationResult) -> list[Problem]:
    """A result about another subject must not qualify (or be stored on) ``lead``."""
    ident = getattr(lead, "id", None)
    subject = result.subject_id
    if subject is None or ident is None or subject == str(ident):
        return []
    return [Problem("$.subject_id", f"the result is for subject {subject}, not lead {ident}")]


def propose(
    lead: Any, result: QualificationResult, *, hysteresis: Hysteresis | None = None
) -> Proposal:
    """The lifecycle event ``result`` proposes for ``lead`` (read from ``lead.status``).

    A result whose ``subject_id`` is set and names another subject than
    ``lead.id`` is refused with a :class:`~pipelinekit.ValidationError`.
    """
    problems: list[Problem] = []
    if not isinstance(result, QualificationResult):
        problems.append(
            Problem("$.result", f"expected a QualificationResult, got {type(result).__name__}")
        )
    if hysteresis is not None and not isinstance(hysteresis, Hysteresis):
        problems.append(
            Problem("$.hysteresis", f"expected a Hysteresis, got {type(hysteresis).__name__}")
        )
    if problems:
        raise ValidationError("propose", problems)
    problems = check_subject(lead, result)
    if problems:
        raise ValidationError("QualificationResult", problems)
    status = str(getattr(lead, "status", "new"))
    verdict = result.verdict
    score = result.score
    if status == "converted":
        return _proposal(lead, result, None, "converted leads are not re-qualified")
    if result.knockouts:
        if status == "disqualified":
            return _proposal(lead, result, None, "already disqualified (knockout)")
        knocked = ", ".join(result.knockouts)
        return _proposal(lead, result, "disqualify", f"knocked out by {knocked}")
    if score is None or verdict is Verdict.INSUFFICIENT_DATA:
        return _proposal(lead, result, None, "cannot decide: not enough data to score")
    effective = verdict
    note = ""
    if hysteresis is not None:
        if status == "qualified" and score >= hysteresis.keep_above:
            if verdict is not Verdict.QUALIFIED:
                note = f" (score {score} is still above {hysteresis.keep_above}: hysteresis)"
            effective = Verdict.QUALIFIED
        elif (
            status != "qualified"
            and verdict is Verdict.QUALIFIED
            and score < (hysteresis.qualify_at)
        ):
            effective = Verdict.REVIEW
            note = f" (score {score} has not reached {hysteresis.qualify_at}: hysteresis)"
    if status == "qualified":
        if effective is Verdict.QUALIFIED:
            return _proposal(lead, result, None, f"stays qualified{note}")
        if result.stale:
            return _proposal(
                lead,
                result,
                None,
                "engagement has decayed: marked stale instead of demoted",
                stale=True,
            )
        if effective is Verdict.DISQUALIFIED:
            return _proposal(lead, result, "disqualify", f"verdict {verdict.value}{note}")
        return _proposal(
            lead, result, None, f"verdict {verdict.value}: a qualified lead is not demoted; review"
        )
    if status == "disqualified":
        if effective is Verdict.QUALIFIED:
            return _proposal(lead, result, "recycle", f"qualifies again: back to nurturing{note}")
        return _proposal(lead, result, None, f"stays disqualified (verdict {verdict.value})")
    if status not in _OPEN:
        return _proposal(lead, result, None, f"unknown lifecycle stage {status!r}: no proposal")
    if effective is Verdict.QUALIFIED:
        return _proposal(lead, result, "qualify", f"verdict qualified{note}")
    if effective is Verdict.DISQUALIFIED:
        return _proposal(lead, result, "disqualify", f"verdict disqualified{note}")
    if effective is Verdict.NURTURE:
        if status == "nurturing":
            return _proposal(lead, result, None, "already nurturing")
        return _proposal(lead, result, "nurture", f"verdict nurture{note}")
    return _proposal(
        lead, result, None, f"verdict {effective.value}: needs a person's review{note}"
    )


def propose_many(
    pairs: Iterable[tuple[Any, QualificationResult]], *, hysteresis: Hysteresis | None = None
) -> list[Proposal]:
    """:func:`propose` for ``(lead, result)`` pairs, in order."""
    if isinstance(pairs, str | bytes) or not isinstance(pairs, Iterable):
        raise ValidationError(
            "propose_many", [Problem("$.pairs", f"must be a list, got {type(pairs).__name__}")]
        )
    out = []
    for i, pair in enumerate(pairs):
        if not isinstance(pair, tuple | list) or len(pair) != 2:
            raise ValidationError(
                "propose_many", [Problem(f"$.pairs[{i}]", "must be a (lead, result) pair")]
            )
        out.append(propose(pair[0], pair[1], hysteresis=hysteresis))
    return out
