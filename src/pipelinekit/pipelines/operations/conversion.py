"""Converting a qualified lead into an opportunity (new or existing)."""

from __future__ import annotations

from datetime import datetime

from ...clock import Clock, resolve_time
from ...domain.leads import Lead
from ...domain.money import Money
from ...domain.opportunities import Opportunity
from ...errors import Problem, ValidationError
from ..errors import ConversionError, InvalidTransition
from ..events import DomainEvent, LeadConverted
from ..machine import PipelineMachine
from ..outcomes import Conversion, Moved
from ..spec import StageKind
from .opening import Opening
from .transitions import apply_move, closing_choice, run_machine

__all__ = ["Conversions"]


class Conversions(PipelineMachine):
    """A lead moving through this lifecycle becomes an opportunity."""

    def convert(
        self,
        lead: Lead,
        *,
        pipeline: PipelineMachine | None = None,
        into: Opportunity | None = None,
        name: str | None = None,
        amount: Money | None = None,
        force: bool = False,
        actor: str | None = None,
        note: str | None = None,
        at: datetime | None = None,
        clock: Clock | None = None,
    ) -> Conversion:
        """Convert a qualified ``lead`` moving through this lifecycle into a new opportunity
        in ``pipeline``'s first stage, or ``into`` an existing opportunity, and move the
        lead to the lifecycle's won stage.

        Contact, company, owner, tags and custom fields are carried over (an
        existing opportunity keeps its own values and gains the ones it
        lacks); both are linked.  Converting twice is refused.  A lead whose
        stage does not allow conversion (or whose conversion guards fail), or
        an ``into`` opportunity that is already closed, is refused unless
        ``force=True``; a forced conversion is noted in the history record and
        the ``LeadConverted`` event.
        """
        when = resolve_time(at, clock)
        if not isinstance(lead, Lead):
            raise ValidationError(
                "convert", [Problem("$.lead", f"expected a Lead, got {type(lead).__name__}")]
            )
        if (pipeline is None) == (into is None):
            raise ConversionError(
                lead.id, "pass exactly one of pipeline= (new) or into= (existing)"
            )
        wrong: list[Problem] = []
        if pipeline is not None and not isinstance(pipeline, PipelineMachine):
            wrong.append(
                Problem("$.pipeline", f"expected a Pipeline, got {type(pipeline).__name__}")
            )
        if into is not None and not isinstance(into, Opportunity):
            wrong.append(Problem("$.into", f"expected an Opportunity, got {type(into).__name__}"))
        if wrong:
            raise ValidationError("convert", wrong)
        if lead.opportunity_id is not None:
            raise ConversionError(
                lead.id, f"it was already converted into opportunity {lead.opportunity_id}"
            )
        kind, stage = self.locate(lead, "convert")
        won = self.stages_of_kind(StageKind.WON)
        if self.stages[stage].kind is StageKind.WON:
            raise ConversionError(lead.id, f"it is already in the converted stage {stage!r}")
        if into is not None and into.lead_id is not None and into.lead_id != lead.id:
            raise ConversionError(
                lead.id, f"opportunity {into.id} is already linked to lead {into.lead_id}"
            )
        forced = False
        if into is not None and not into.is_open:
            if not force:
                raise ConversionError(
                    lead.id,
                    f"opportunity {into.id} is already closed {into.outcome.value}; pass "
                    "force=True to convert into it anyway (it will be recorded)",
                )
            forced = True
            note = f"forced conversion into closed {into.outcome.value} opportunity {into.id}" + (
                f": {note}" if note else ""
            )
        choice = closing_choice(self, stage, StageKind.WON)
        moved: Moved[Lead] | None = None
        refusal: InvalidTransition | None = None
        if choice is None:
            refusal = self.refusal(kind, lead.id, stage, "convert", f"no conversion from {stage!r}")
        else:
            event, target = choice
            try:
                moved = run_machine(
                    self,
                    kind,
                    lead,
                    stage,
                    event,
                    self.candidates(stage, event),
                    target,
                    actor,
                    note,
                    when,
                    None,
                    None,
                    converting=True,
                )
            except InvalidTransition as error:
                refusal = error
        if moved is None:
            if not force:
                assert refusal is not None
                raise ConversionError(
                    lead.id,
                    f"it is not qualified for conversion ({refusal.reason}); pass force=True to "
                    "convert anyway (it will be recorded)",
                ) from refusal
            forced = True
            event = choice[0] if choice else "convert"
            forced_note = f"forced conversion from {stage!r}" + (f": {note}" if note else "")
            moved = apply_move(self, kind, lead, stage, won[0].key, event, when, actor, forced_note)
        events: list[DomainEvent] = list(moved.events)
        if into is None:
            assert pipeline is not None
            opened = Opening.open(
                pipeline,
                name=name or _name_for(lead),
                amount=amount,
                actor=actor,
                note=note,
                at=when,
                lead_id=lead.id,
                contact=lead.contact,
                company=lead.company,
                owner=lead.owner,
                tags=lead.tags,
                custom=lead.custom,
            )
            opportunity = opened.entity
            events.extend(opened.events)
        else:
            opportunity = into.evolve(
                lead_id=lead.id,
                contact=into.contact or lead.contact,
                company=into.company or lead.company,
                amount=into.amount or amount,
                owner=into.owner or lead.owner,
                tags=into.tags | lead.tags,
                custom={**lead.custom, **into.custom},
                updated_at=when if when > into.updated_at else into.updated_at,
            )
        converted = moved.entity.evolve(opportunity_id=opportunity.id)
        events.append(
            LeadConverted(
                "lead", lead.id, when, opportunity.id, into is not None, forced, stage, actor
            )
        )
        return Conversion(converted, opportunity, tuple(events), forced)


def _name_for(lead: Lead) -> str:
    if lead.company is not None:
        return lead.company.name
    assert lead.contact is not None
    return str(lead.contact.name or lead.contact.email or lead.id)
