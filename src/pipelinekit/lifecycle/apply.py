"""Applying a proposal: firing its event through the lead lifecycle machine.

This is where qualification and pipelines meet: a :class:`~.proposals.Proposal`
made from a result becomes a move of the lead through the lifecycle
:class:`~pipelinekit.pipelines.Pipeline`, which validates it and records it.
"""

from __future__ import annotations

from datetime import datetime

from ..clock import Clock
from ..domain.leads import Lead
from ..domain.results import QualificationResult
from ..errors import Problem, ValidationError
from ..pipelines import Moved, Pipeline, lead_lifecycle
from .proposals import Proposal, check_subject

__all__ = ["apply_proposal"]


def apply_proposal(
    proposal: Proposal,
    lead: Lead,
    *,
    at: datetime | None = None,
    clock: Clock | None = None,
    result: QualificationResult | None = None,
    pipeline: Pipeline | None = None,
    actor: str | None = "qualification",
) -> Moved[Lead] | None:
    """Fire the proposal's event on ``lead`` through the lead lifecycle machine.

    The move is recorded at ``at``, else at ``clock.now()`` (else the system
    clock's), taken when called: pass ``clock`` and call it after reading
    the lead, inside the unit of work.

    Returns the pipeline's ``Moved`` outcome (the moved lead, its history
    record, the domain events), or ``None`` when the proposal changes no
    stage.  With ``result``, the moved lead also keeps it as
    ``lead.qualification``.  ``pipeline`` is the lifecycle to fire through
    (the built-in :func:`~pipelinekit.pipelines.lead_lifecycle` by default).
    A proposal made for another lead, or for a stage the lead has since left,
    or a ``result`` about another subject, is refused with a
    :class:`~pipelinekit.ValidationError`; the machine refuses transitions it
    does not allow (:class:`~pipelinekit.pipelines.InvalidTransition`).
    """
    wrong: list[Problem] = []
    if not isinstance(proposal, Proposal):
        wrong.append(Problem("$.proposal", f"expected a Proposal, got {type(proposal).__name__}"))
    if not isinstance(lead, Lead):
        wrong.append(Problem("$.lead", f"expected a Lead, got {type(lead).__name__}"))
    if result is not None and not isinstance(result, QualificationResult):
        wrong.append(
            Problem("$.result", f"expected a QualificationResult, got {type(result).__name__}")
        )
    if wrong:
        raise ValidationError("apply_proposal", wrong)
    problems = []
    if proposal.lead_id is not None and proposal.lead_id != str(lead.id):
        problems.append(Problem("$.lead_id", f"the proposal is for lead {proposal.lead_id}"))
    if proposal.current != lead.status:
        problems.append(
            Problem(
                "$.current",
                f"the proposal was made in stage {proposal.current!r}, the lead is now in "
                f"{lead.status!r}: evaluate and propose again",
            )
        )
    if result is not None:
        problems.extend(check_subject(lead, result))
    if problems:
        raise ValidationError("Proposal", problems)
    if proposal.event is None:
        return None
    if result is not None:
        lead = lead.evolve(qualification=result)
    lifecycle = pipeline if pipeline is not None else lead_lifecycle()
    return lifecycle.fire(
        lead, proposal.event, at=at, clock=clock, actor=actor, note=proposal.reason
    )
