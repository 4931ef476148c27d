"""Personas: several ICPs at once, and turning a fitting lead into a Prospect."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

import attrs

from ..clock import Clock, resolve_time
from ..errors import Problem, ValidationError
from .base import Strategy
from .composite import normalized
from .results import QualificationResult, Verdict

if TYPE_CHECKING:  # the domain imports qualification.results: import it lazily
    from ..domain.leads import Lead
    from ..domain.prospects import Prospect

__all__ = ["PersonaMatch", "best_persona", "link_prospect", "to_prospect"]


@attrs.frozen
class PersonaMatch:
    """The persona a subject fits best, its result, and every persona's result."""

    persona: str
    result: QualificationResult
    results: Mapping[str, QualificationResult] = attrs.field(repr=False)


def best_persona(
    personas: Mapping[str, Strategy],
    subject: Any,
    *,
    as_of: datetime,
    accept: Collection[Verdict] = (Verdict.QUALIFIED,),
) -> PersonaMatch | None:
    """Evaluate every persona's ICP; return the best accepted fit, or ``None``.

    "Best" is the highest score on a 0-100 scale among results whose verdict
    is in ``accept``; ties go to the persona listed first.
    """
    if not isinstance(personas, Mapping):
        raise ValidationError(
            "best_persona",
            [Problem("$.personas", f"must map names to strategies, got {type(personas).__name__}")],
        )
    if not personas:
        raise ValidationError("best_persona", [Problem("$.personas", "name at least one persona")])
    wrong = [
        Problem(f"$.personas.{name}", "must be a strategy (evaluate, name, version, config)")
        for name, strategy in personas.items()
        if not isinstance(strategy, Strategy)
    ]
    if wrong:
        raise ValidationError("best_persona", wrong)
    results = {name: s.evaluate(subject, as_of=as_of) for name, s in personas.items()}
    best: tuple[str, QualificationResult] | None = None
    best_value = None
    for name, result in results.items():
        value = normalized(result)
        if result.verdict not in accept or value is None:
            continue
        if best_value is None or value > best_value:
            best, best_value = (name, result), value
    if best is None:
        return None
    return PersonaMatch(best[0], best[1], results)


def to_prospect(
    lead: Lead,
    match: PersonaMatch,
    *,
    at: datetime | None = None,
    clock: Clock | None = None,
    owner: str | None = None,
) -> tuple[Prospect, Lead]:
    """Create the Prospect a fitting lead stands for and link the lead to it.

    The prospect takes the lead's contact and company, the persona and the
    fit result; returns ``(prospect, linked_lead)``.  A lead already linked to
    a prospect is refused (use :func:`link_prospect` to re-link on purpose).
    Both are stamped ``at``, else ``clock.now()`` (else the system clock's),
    taken when called: in a unit of work, pass ``clock`` and call this after
    reading the lead.
    """
    from ..domain.leads import Lead

    wrong: list[Problem] = []
    if not isinstance(lead, Lead):
        wrong.append(Problem("$.lead", f"expected a Lead, got {type(lead).__name__}"))
    if not isinstance(match, PersonaMatch):
        wrong.append(Problem("$.match", f"expected a PersonaMatch, got {type(match).__name__}"))
    if wrong:
        raise ValidationError("to_prospect", wrong)
    when = resolve_time(at, clock)
    if lead.prospect_id is not None:
        raise ValidationError(
            "to_prospect",
            [Problem("$.prospect_id", f"the lead is already linked to {lead.prospect_id}")],
        )
    from ..domain.prospects import Prospect

    prospect = Prospect.create(
        persona=match.persona,
        person=lead.contact,
        company=lead.company,
        fit=match.result,
        owner=owner if owner is not None else lead.owner,
        at=when,
    )
    return prospect, link_prospect(lead, prospect, at=when)


def link_prospect(
    lead: Lead, prospect: Prospect, *, at: datetime | None = None, clock: Clock | None = None
) -> Lead:
    """Return ``lead`` linked to an existing ``prospect`` (its fit kept as the lead's result).

    The lead's ``updated_at`` becomes ``at``, else ``clock.now()`` (else the
    system clock's), unless the lead was updated later than that.
    """
    when = resolve_time(at, clock)
    changes: dict[str, Any] = {"prospect_id": prospect.id, "updated_at": max(when, lead.updated_at)}
    if prospect.fit is not None and lead.qualification is None:
        changes["qualification"] = prospect.fit
    return lead.evolve(**changes)
