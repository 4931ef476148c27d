"""The :class:`Pipeline`: the one public way to move leads and opportunities.

A thin facade over the compiled :class:`~.machine.PipelineMachine`: each
method hands its arguments to the operation that implements it
(:mod:`pipelinekit.pipelines.operations`), which works on the machine alone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal

from ..clock import Clock
from ..domain.leads import Lead
from ..domain.money import Money
from ..domain.opportunities import Opportunity
from .errors import InvalidTransition
from .machine import PipelineMachine
from .operations import bulk, conversion, opening, probability, timing, transitions
from .outcomes import BulkResult, Conversion, E, Moved

__all__ = ["Pipeline"]


class Pipeline(PipelineMachine):
    """A compiled pipeline: move leads and opportunities through its stages.

    Get one with :func:`~pipelinekit.pipelines.compile_pipeline` (cached per
    spec version and guard registry).  Each method returns a new entity plus
    the domain events, and leaves the input untouched when it raises.
    Introspection (``spec``, ``stages``, ``allowed_events``, ``candidates``,
    ``machine_class``) comes from :class:`~.machine.PipelineMachine`.
    """

    def fire(
        self,
        entity: E,
        event: str,
        *,
        to: str | None = None,
        actor: str | None = None,
        note: str | None = None,
        at: datetime | None = None,
        clock: Clock | None = None,
        reason: str | None = None,
        competitor: str | None = None,
    ) -> Moved[E]:
        """Fire ``event`` on a lead or opportunity through the compiled state machine.

        ``to`` picks the target when the event has several from this stage.
        ``reason`` / ``competitor`` are recorded when the move enters a lost
        stage (guards see them as ``lost_reason`` / ``competitor``; for a lead
        the reason goes into the note, see :meth:`lose`).  A lead enters its
        lifecycle's won stage only through :meth:`convert`.  A refused move
        raises :class:`~.errors.InvalidTransition` or
        :class:`~.errors.GuardFailed` naming the entity, its stage, the event
        and the events allowed from there.
        """
        return transitions.fire(
            self,
            entity,
            event,
            to=to,
            actor=actor,
            note=note,
            at=at,
            clock=clock,
            reason=reason,
            competitor=competitor,
        )

    def explain(
        self,
        entity: Lead | Opportunity,
        event: str,
        *,
        to: str | None = None,
        reason: str | None = None,
        competitor: str | None = None,
    ) -> InvalidTransition | None:
        """Why :meth:`fire` would refuse ``event`` now (the same error it would raise), or
        ``None`` if it would go ahead; nothing is moved.  For buttons and previews."""
        return transitions.explain(self, entity, event, to=to, reason=reason, competitor=competitor)

    def available_events(self, entity: Lead | Opportunity) -> tuple[str, ...]:
        """Events :meth:`fire` would accept for ``entity`` now, guards evaluated."""
        return transitions.available_events(self, entity)

    def move(
        self,
        entity: E,
        to: str,
        *,
        event: str | None = None,
        actor: str | None = None,
        note: str | None = None,
        at: datetime | None = None,
        clock: Clock | None = None,
    ) -> Moved[E]:
        """Move to stage ``to`` through the first allowed event that leads there (or through
        ``event``).  Use :meth:`lose` to close lost with a reason."""
        return transitions.move(
            self, entity, to, event=event, actor=actor, note=note, at=at, clock=clock
        )

    def win(
        self,
        entity: E,
        *,
        actor: str | None = None,
        note: str | None = None,
        at: datetime | None = None,
        clock: Clock | None = None,
    ) -> Moved[E]:
        """Close won through the transition that leads to a won stage from here."""
        return transitions.win(self, entity, actor=actor, note=note, at=at, clock=clock)

    def lose(
        self,
        entity: E,
        *,
        reason: str,
        competitor: str | None = None,
        actor: str | None = None,
        note: str | None = None,
        at: datetime | None = None,
        clock: Clock | None = None,
    ) -> Moved[E]:
        """Close lost with ``reason`` (required) and optionally the ``competitor``.

        An opportunity keeps them as ``lost_reason`` / ``competitor``.  A lead
        has no such fields: its history record and ``StageChanged`` event get
        the note ``"lost: <reason>"`` (appended as ``"<note> (lost: <reason>)"``
        to a given note).
        """
        return transitions.lose(
            self,
            entity,
            reason=reason,
            competitor=competitor,
            actor=actor,
            note=note,
            at=at,
            clock=clock,
        )

    def reopen(
        self,
        entity: E,
        *,
        to: str,
        actor: str | None = None,
        note: str | None = None,
        at: datetime | None = None,
        clock: Clock | None = None,
    ) -> Moved[E]:
        """Reopen a closed entity into the open stage ``to`` (explicit, and recorded)."""
        return transitions.reopen(self, entity, to=to, actor=actor, note=note, at=at, clock=clock)

    def open(
        self,
        *,
        name: str,
        amount: Money | None = None,
        actor: str | None = None,
        note: str | None = None,
        at: datetime | None = None,
        clock: Clock | None = None,
        **fields: object,
    ) -> Moved[Opportunity]:
        """Create an opportunity in the first stage with its default probability and an
        entry history record.  ``fields`` go to :meth:`~pipelinekit.Opportunity.create`."""
        return opening.open_opportunity(
            self, name=name, amount=amount, actor=actor, note=note, at=at, clock=clock, **fields
        )

    def set_probability(
        self,
        opportunity: Opportunity,
        *,
        manual: Decimal | int | str | None = None,
        automated: Decimal | int | str | None = None,
        clear_manual: bool = False,
        actor: str | None = None,
        at: datetime | None = None,
        clock: Clock | None = None,
    ) -> Moved[Opportunity]:
        """Set the manual and/or automated probability layer (or clear the manual one) and
        recompute the effective probability; a closed opportunity stays at 100 / 0."""
        return probability.set_probability(
            self,
            opportunity,
            manual=manual,
            automated=automated,
            clear_manual=clear_manual,
            actor=actor,
            at=at,
            clock=clock,
        )

    def change_pipeline(
        self,
        opportunity: Opportunity,
        target: Pipeline,
        *,
        mapping: Mapping[str, str],
        actor: str | None = None,
        note: str | None = None,
        at: datetime | None = None,
        clock: Clock | None = None,
    ) -> Moved[Opportunity]:
        """Move ``opportunity`` from this pipeline to ``target`` with an explicit stage
        ``mapping`` (stage key here -> stage key there, of the same kind).  The whole
        mapping is checked; the move is recorded in history."""
        return opening.change_pipeline(
            self, target, opportunity, mapping=mapping, actor=actor, note=note, at=at, clock=clock
        )

    def convert(
        self,
        lead: Lead,
        *,
        pipeline: Pipeline | None = None,
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
        stage does not allow conversion (or whose conversion guards fail) is
        refused unless ``force=True``; a forced conversion is noted in the
        history record and the ``LeadConverted`` event.
        """
        return conversion.convert(
            self,
            lead,
            pipeline=pipeline,
            into=into,
            name=name,
            amount=amount,
            force=force,
            actor=actor,
            note=note,
            at=at,
            clock=clock,
        )

    def bulk(
        self,
        entities: Sequence[E],
        event: str,
        *,
        to: str | None = None,
        actor: str | None = None,
        note: str | None = None,
        at: datetime | None = None,
        clock: Clock | None = None,
        reason: str | None = None,
        competitor: str | None = None,
        strict: bool = False,
        verify: bool = False,
    ) -> BulkResult[E]:
        """Apply ``event`` to every entity (all leads or all opportunities) at time ``at``,
        without building a state machine for each.

        Each entity is checked on its own; refused ones are reported in
        ``failures`` with the same error :meth:`fire` raises.  With
        ``strict=True`` any refusal raises :class:`~.errors.BulkTransitionError`
        and nothing is returned.  A lead never converts in bulk (use
        :meth:`convert`).  ``verify=True`` rebuilds every moved entity through
        its validating constructor (slower; for debugging).
        """
        return bulk.fire_many(
            self,
            entities,
            event,
            to=to,
            actor=actor,
            note=note,
            at=at,
            clock=clock,
            reason=reason,
            competitor=competitor,
            strict=strict,
            verify=verify,
        )

    def is_rotting(self, entity: Lead | Opportunity, *, as_of: datetime) -> bool:
        """True when ``entity`` sits in an open stage longer than the stage's
        ``rotting_days`` (time in stage comes from its history)."""
        return timing.is_rotting(self, entity, as_of=as_of)
