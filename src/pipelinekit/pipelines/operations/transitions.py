"""Moving one lead or opportunity along a transition (the state-machine path).

``fire`` runs the compiled state chart; ``move``, ``win``, ``lose`` and
``reopen`` pick the event for it; ``explain`` and ``available_events`` ask
the same questions without moving anything.  Every move is checked by the
machine, recorded as a :class:`~pipelinekit.StageChange` and reported as
domain events; the input entity is never changed.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from statemachine.exceptions import TransitionNotAllowed

from ..._slots import replacer
from ...clock import Clock, resolve_time
from ...domain._checks import Checks
from ...domain.history import StageChange
from ...domain.kinds import LEAD, EntityKind
from ...domain.leads import Lead
from ...domain.opportunities import Opportunity, Outcome
from ...errors import Problem, ValidationError
from ..errors import InvalidTransition, StaleTime
from ..events import (
    DomainEvent,
    OpportunityLost,
    OpportunityReopened,
    OpportunityWon,
    ProbabilityChanged,
    StageChanged,
)
from ..guards import Subject
from ..machine import Candidate, PipelineMachine
from ..outcomes import E, Moved
from ..spec import StageKind

__all__ = ["Transitions", "apply_move", "chart_target", "closing_choice", "run_machine"]


def _overrides(reason: str | None, competitor: str | None) -> dict[str, object]:
    # the move's own inputs, as guards see them
    overrides: dict[str, object] = {}
    if reason is not None:
        overrides["lost_reason"] = reason
    if competitor is not None:
        overrides["competitor"] = competitor
    return overrides


def _convert_only(target: str) -> str:
    return (
        f"{target!r} is the lifecycle's converted stage: use convert() so an "
        "opportunity is created and linked"
    )


def run_machine(
    machine: PipelineMachine,
    kind: EntityKind,
    entity: E,
    stage: str,
    event: str,
    candidates: tuple[Candidate, ...],
    to: str | None,
    actor: str | None,
    note: str | None,
    when: datetime,
    reason: str | None,
    competitor: str | None,
    *,
    converting: bool = False,
) -> Moved[E]:
    """Take the transition the compiled state chart would take for ``event``; build the move.

    The chart's choice is read from the ``(stage, event) -> candidates`` table
    derived from its class when the pipeline was compiled (the transitions in
    the order the chart tries them, each with its guards; ``candidates`` is
    already narrowed to ``to``): the first whose guards all pass wins, as the
    chart decides, without building a chart instance for every move.
    """
    subject = Subject(entity, _overrides(reason, competitor))
    target = None
    for candidate in candidates:
        for guard in candidate.guards:
            if guard.check(subject) is not None:
                break
        else:
            target = candidate.target
            break
    if target is None:
        raise machine.blocked(kind, entity.id, stage, event, candidates, subject)
    if kind is LEAD and machine.stages[target].kind is StageKind.WON and not converting:
        raise machine.refusal(kind, entity.id, stage, event, _convert_only(target))
    unreasoned = machine.lost_refusal(kind, entity.id, stage, event, target, reason)
    if unreasoned is not None:
        raise unreasoned
    return apply_move(
        machine, kind, entity, stage, target, event, when, actor, note, reason, competitor
    )


def chart_target(
    machine: PipelineMachine, stage: str, event: str, to: str | None, subject: Subject
) -> str | None:
    """The stage a state chart instance of the compiled class moves to (``None``: refused).

    The reference the move table is checked against (slow: one chart per call).
    """
    chart, model = machine.bind(stage, subject)
    try:
        chart.send(machine.event_ids[event], to=to)
    except TransitionNotAllowed:
        return None
    return model.stage


def apply_move(
    machine: PipelineMachine,
    kind: EntityKind,
    entity: E,
    source: str,
    target: str,
    event: str,
    at: datetime,
    actor: str | None,
    note: str | None,
    reason: str | None = None,
    competitor: str | None = None,
) -> Moved[E]:
    """Build the moved entity, its history record and the domain events (already validated)."""
    last = entity.history[-1].at if entity.history else entity.created_at
    if at < last:
        raise StaleTime("move", at, last)
    if (
        not kind.closable
        and isinstance(reason, str)
        and (note is None or isinstance(note, str))
        and machine.stages[target].kind is StageKind.LOST
    ):
        # a lead has no lost_reason field: the reason goes into the history
        # record and the StageChanged event, so disqualifying with one keeps it
        note = f"lost: {reason}" if not note else f"{note} (lost: {reason})"
    change = StageChange(source, target, event, at, actor, note, machine.key)
    assert kind.stage_field is not None
    changes: dict[str, Any] = {
        kind.stage_field: target,
        "history": (*entity.history, change),
        "updated_at": at if at > entity.updated_at else entity.updated_at,
    }
    events: list[DomainEvent] = [
        StageChanged(kind.name, entity.id, at, machine.key, source, target, event, actor, note)
    ]
    if isinstance(entity, Opportunity):
        target_stage = machine.stages[target]
        source_stage = machine.stages[source]
        changes["pipeline_version"] = machine.version
        probability, origin = target_stage.effective_probability(
            entity.manual_probability, entity.automated_probability
        )
        changes["probability"] = probability
        changes["probability_source"] = origin
        if target_stage.kind is StageKind.WON:
            changes.update(outcome=Outcome.WON, closed_at=at, lost_reason=None)
            if competitor is not None:
                changes["competitor"] = competitor
            events.append(OpportunityWon(kind.name, entity.id, at, machine.key, target, actor))
        elif target_stage.kind is StageKind.LOST:
            changes.update(outcome=Outcome.LOST, closed_at=at, lost_reason=reason)
            if competitor is not None:
                changes["competitor"] = competitor
            events.append(
                OpportunityLost(
                    kind.name, entity.id, at, machine.key, target, reason, competitor, actor
                )
            )
        else:
            changes.update(outcome=Outcome.OPEN, closed_at=None, lost_reason=None)
            if source_stage.is_closed:
                events.append(
                    OpportunityReopened(
                        kind.name, entity.id, at, machine.key, source, target, actor
                    )
                )
        if probability != entity.probability or origin != entity.probability_source:
            events.append(
                ProbabilityChanged(
                    kind.name, entity.id, at, entity.probability, probability, origin.value, actor
                )
            )
    if reason is None and competitor is None:
        # every replaced value is valid by construction: the target and probability come
        # from the compiled pipeline, the history record validated itself, the time was
        # checked; set them without re-running the entity's checks (as the bulk path does)
        names = tuple(changes)
        moved: E = replacer(type(entity), names)(entity, *changes.values())
        return Moved(moved, tuple(events), change)
    if isinstance(entity, Opportunity):
        optional = not machine.spec.require_lost_reason
        return Moved(entity.evolve(lost_reason_optional=optional, **changes), tuple(events), change)
    return Moved(entity.evolve(**changes), tuple(events), change)


def closing_choice(
    machine: PipelineMachine, stage: str, wanted: StageKind
) -> tuple[str, str] | None:
    """The first ``(event, target)`` leading from ``stage`` to a stage of kind ``wanted``."""
    for event in machine.allowed_events(stage):
        for candidate in machine.candidates(stage, event):
            if machine.stages[candidate.target].kind is wanted:
                return event, candidate.target
    return None


class Transitions(PipelineMachine):
    """Moves along a transition: ``fire`` and the moves that pick its event."""

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
        when = resolve_time(at, clock)
        kind, stage = self.locate(entity, event)
        candidates = self.select(kind, entity.id, stage, event, to)
        if isinstance(candidates, InvalidTransition):
            raise candidates
        return run_machine(
            self, kind, entity, stage, event, candidates, to, actor, note, when, reason, competitor
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
        try:
            kind, stage = self.locate(entity, event)
        except InvalidTransition as error:
            return error
        candidates = self.select(kind, entity.id, stage, event, to)
        if isinstance(candidates, InvalidTransition):
            return candidates
        subject = Subject(entity, _overrides(reason, competitor))
        for candidate in candidates:
            if candidate.first_failure(subject) is None:
                if kind is LEAD and self.stages[candidate.target].kind is StageKind.WON:
                    return self.refusal(
                        kind, entity.id, stage, event, _convert_only(candidate.target)
                    )
                return self.lost_refusal(kind, entity.id, stage, event, candidate.target, reason)
        return self.blocked(kind, entity.id, stage, event, candidates, subject)

    def available_events(self, entity: Lead | Opportunity) -> tuple[str, ...]:
        """Events :meth:`fire` would accept for ``entity`` now, guards evaluated."""
        try:
            _, stage = self.locate(entity, "")
        except InvalidTransition:
            return ()
        return tuple(e for e in self.allowed_events(stage) if self.explain(entity, e) is None)

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
        reason: str | None = None,
        competitor: str | None = None,
    ) -> Moved[E]:
        """Move to stage ``to`` through the first allowed event that leads there (or through
        ``event``).  Moving into a lost stage takes the ``reason`` (and ``competitor``) as
        :meth:`lose` does; a pipeline that requires a lost reason refuses the move without
        one."""
        kind, stage = self.locate(entity, event or "move")
        unknown = self.unknown_stage(to)
        if unknown is not None:
            raise self.refusal(kind, entity.id, stage, event or "move", unknown)
        if event is not None and event not in self.spec.events:
            raise self.refusal(kind, entity.id, stage, event, self.unknown_event(event))
        options = [
            name
            for name in self.allowed_events(stage)
            if (event is None or name == event)
            and any(c.target == to for c in self.candidates(stage, name))
        ]
        if not options:
            raise self.refusal(
                kind, entity.id, stage, event or "move", f"no transition from {stage!r} to {to!r}"
            )
        return self.fire(
            entity,
            options[0],
            to=to,
            actor=actor,
            note=note,
            at=at,
            clock=clock,
            reason=reason,
            competitor=competitor,
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
        kind, stage = self.locate(entity, "win")
        choice = closing_choice(self, stage, StageKind.WON)
        if choice is None:
            raise self.refusal(
                kind, entity.id, stage, "win", f"no transition from {stage!r} to a won stage"
            )
        event, target = choice
        return self.fire(entity, event, to=target, actor=actor, note=note, at=at, clock=clock)

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
        checks = Checks()
        checks.text("$.reason", reason, required=True, max_length=500)
        checks.text("$.competitor", competitor, required=False, max_length=200)
        checks.instance("$.note", note, str, optional=True)
        if checks.problems:
            raise ValidationError("lose", checks.problems)
        kind, stage = self.locate(entity, "lose")
        choice = closing_choice(self, stage, StageKind.LOST)
        if choice is None:
            raise self.refusal(
                kind, entity.id, stage, "lose", f"no transition from {stage!r} to a lost stage"
            )
        event, target = choice
        return self.fire(
            entity,
            event,
            to=target,
            actor=actor,
            note=note,
            at=at,
            clock=clock,
            reason=reason,
            competitor=competitor,
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
        if not isinstance(to, str):
            raise ValidationError(
                "reopen", [Problem("$.to", f"expected a stage key, got {type(to).__name__}")]
            )
        kind, stage = self.locate(entity, "reopen")
        if not self.stages[stage].is_closed:
            raise self.refusal(kind, entity.id, stage, "reopen", f"{stage!r} is not closed")
        unknown = self.unknown_stage(to)
        if unknown is not None:
            raise self.refusal(kind, entity.id, stage, "reopen", unknown)
        if self.stages[to].is_closed:
            raise self.refusal(kind, entity.id, stage, "reopen", f"{to!r} is not an open stage")
        return self.move(entity, to, actor=actor, note=note, at=at, clock=clock)
