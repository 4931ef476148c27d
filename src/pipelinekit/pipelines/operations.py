"""Moving one lead or opportunity through a pipeline (the state-machine path).

Every operation takes the entity, the actor, an optional note and the time
(``at=``, else ``clock.now()``), and returns a :class:`Moved`: the new entity,
the history record it gained and the domain events to publish.  Entities are
immutable, so the input is untouched whatever happens; a refused move raises
:class:`InvalidTransition` or :class:`GuardFailed` (a subclass) naming the
entity, its stage, the event and the events allowed from there.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import attrs
from statemachine.exceptions import TransitionNotAllowed

from ..clock import Clock, ensure_aware, resolve_time
from ..domain._checks import Checks, to_decimal
from ..domain.history import StageChange
from ..domain.leads import Lead
from ..domain.money import Money
from ..domain.opportunities import Opportunity, Outcome, ProbabilitySource
from ..errors import Problem, ValidationError
from ._kinds import LEAD, OPPORTUNITY, EntityKind, kind_of
from .compile import Candidate, _event_attr
from .errors import ConversionError, InvalidTransition, PipelineMismatch
from .events import (
    DomainEvent,
    LeadConverted,
    OpportunityLost,
    OpportunityOpened,
    OpportunityReopened,
    OpportunityWon,
    PipelineChanged,
    ProbabilityChanged,
    StageChanged,
)
from .guards import Subject
from .spec import StageKind, StageSpec

if TYPE_CHECKING:
    from .compile import Pipeline

__all__ = [
    "Conversion",
    "Moved",
    "available_events",
    "change_pipeline",
    "convert",
    "explain",
    "fire",
    "is_rotting",
    "layered_probability",
    "lose",
    "move",
    "open_opportunity",
    "reopen",
    "set_probability",
    "stage_durations",
    "time_in_stage",
    "win",
]

E = TypeVar("E", Lead, Opportunity)
_HUNDRED = Decimal(100)
_ZERO = Decimal(0)


@attrs.frozen
class Moved(Generic[E]):
    """The outcome of one operation: the new ``entity``, the history record it gained
    (``change``, ``None`` when no stage changed) and the domain ``events`` to publish."""

    entity: E
    events: tuple[DomainEvent, ...]
    change: StageChange | None


@attrs.frozen
class Conversion:
    """The outcome of converting a lead: the converted lead, the (new or updated)
    opportunity, whether it was forced, and the domain events."""

    lead: Lead
    opportunity: Opportunity
    events: tuple[DomainEvent, ...]
    forced: bool


class _Model:
    """The object a machine is bound to: the stage field plus what guards look at."""

    __slots__ = ("stage", "subject")

    def __init__(self, stage: str, subject: Subject) -> None:
        self.stage = stage
        self.subject = subject


def layered_probability(
    stage: StageSpec, manual: Decimal | None, automated: Decimal | None
) -> tuple[Decimal, ProbabilitySource]:
    """The effective probability and its source: closed > manual > automated > stage default."""
    if stage.kind is StageKind.WON:
        return _HUNDRED, ProbabilitySource.CLOSED
    if stage.kind is StageKind.LOST:
        return _ZERO, ProbabilitySource.CLOSED
    if manual is not None:
        return manual, ProbabilitySource.MANUAL
    if automated is not None:
        return automated, ProbabilitySource.AUTOMATED
    return stage.probability, ProbabilitySource.STAGE_DEFAULT


def _stage_of(pipeline: Pipeline, entity: Any, event: str) -> tuple[EntityKind, str]:
    kind = kind_of(entity)
    if kind is OPPORTUNITY and entity.pipeline != pipeline.key:
        raise PipelineMismatch(
            entity_id=entity.id, entity_pipeline=entity.pipeline, pipeline=pipeline.key
        )
    stage = getattr(entity, kind.stage_field)
    if stage not in pipeline.machine_class.states_map:
        raise InvalidTransition(
            entity_kind=kind.name,
            entity_id=entity.id,
            pipeline=pipeline.key,
            stage=stage,
            event=event,
            allowed=(),
            reason=f"stage {stage!r} is not a stage of this pipeline version "
            f"({', '.join(pipeline.spec.stage_keys)}); map it with change_pipeline()",
        )
    return kind, stage


def _refuse(
    pipeline: Pipeline, kind: EntityKind, entity: Any, stage: str, event: str, reason: str
) -> InvalidTransition:
    return InvalidTransition(
        entity_kind=kind.name,
        entity_id=entity.id,
        pipeline=pipeline.key,
        stage=stage,
        event=event,
        allowed=pipeline.allowed_events(stage),
        reason=reason,
    )


def _guard_failure(
    pipeline: Pipeline,
    kind: EntityKind,
    entity: Any,
    stage: str,
    event: str,
    candidates: tuple[Candidate, ...],
    subject: Subject,
) -> InvalidTransition:
    failure = pipeline.guard_failure(kind.name, entity.id, stage, event, candidates, subject)
    if failure is not None:
        return failure
    return _refuse(pipeline, kind, entity, stage, event, "the state machine refused the move")


def _selected(
    pipeline: Pipeline, kind: EntityKind, entity: Any, stage: str, event: str, to: str | None
) -> tuple[Candidate, ...] | InvalidTransition:
    """The transitions ``event`` (towards ``to``) can take from ``stage``, or why there are none."""
    if event not in pipeline.spec.events:
        return _refuse(
            pipeline,
            kind,
            entity,
            stage,
            event,
            f"unknown event; this pipeline's events are {', '.join(pipeline.spec.events)}",
        )
    candidates = pipeline.candidates(stage, event)
    if to is not None:
        candidates = tuple(c for c in candidates if c.target == to)
        if not candidates:
            return _refuse(
                pipeline, kind, entity, stage, event, f"{event!r} does not lead to {to!r} from here"
            )
    if not candidates:
        return _refuse(pipeline, kind, entity, stage, event, f"no transition from {stage!r}")
    return candidates


def fire(
    pipeline: Pipeline,
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
    """Fire ``event`` on ``entity`` through the compiled state machine.

    ``to`` picks the target when the event has several from this stage.
    ``reason`` / ``competitor`` are recorded when the move enters a lost stage
    (guards see them as ``lost_reason`` / ``competitor``; for a lead the reason
    goes into the note, see :func:`lose`).  A lead enters its
    lifecycle's won stage only through :func:`convert`.
    """
    when = resolve_time(at, clock)
    kind, stage = _stage_of(pipeline, entity, event)
    candidates = _selected(pipeline, kind, entity, stage, event, to)
    if isinstance(candidates, InvalidTransition):
        raise candidates
    return _run_machine(
        pipeline, kind, entity, stage, event, candidates, to, actor, note, when, reason, competitor
    )


def explain(
    pipeline: Pipeline,
    entity: Lead | Opportunity,
    event: str,
    *,
    to: str | None = None,
    reason: str | None = None,
    competitor: str | None = None,
) -> InvalidTransition | None:
    """Why :func:`fire` would refuse ``event`` now (the same error it would raise), or
    ``None`` if it would go ahead; nothing is moved.  For buttons and previews."""
    try:
        kind, stage = _stage_of(pipeline, entity, event)
    except InvalidTransition as error:
        return error
    candidates = _selected(pipeline, kind, entity, stage, event, to)
    if isinstance(candidates, InvalidTransition):
        return candidates
    overrides: dict[str, object] = {}
    if reason is not None:
        overrides["lost_reason"] = reason
    if competitor is not None:
        overrides["competitor"] = competitor
    subject = Subject(entity, overrides)
    for candidate in candidates:
        if candidate.first_failure(subject) is None:
            if kind is LEAD and pipeline.stages[candidate.target].kind is StageKind.WON:
                return _refuse(
                    pipeline, kind, entity, stage, event, _convert_only(candidate.target)
                )
            return None
    return _guard_failure(pipeline, kind, entity, stage, event, candidates, subject)


def available_events(pipeline: Pipeline, entity: Lead | Opportunity) -> tuple[str, ...]:
    """The events :func:`fire` would accept for ``entity`` right now (guards evaluated)."""
    try:
        _, stage = _stage_of(pipeline, entity, "")
    except InvalidTransition:
        return ()
    return tuple(e for e in pipeline.allowed_events(stage) if explain(pipeline, entity, e) is None)


def _convert_only(target: str) -> str:
    return (
        f"{target!r} is the lifecycle's converted stage: use convert() so an "
        "opportunity is created and linked"
    )


def _run_machine(
    pipeline: Pipeline,
    kind: EntityKind,
    entity: Any,
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
) -> Moved[Any]:
    overrides: dict[str, object] = {}
    if reason is not None:
        overrides["lost_reason"] = reason
    if competitor is not None:
        overrides["competitor"] = competitor
    subject = Subject(entity, overrides)
    model = _Model(stage, subject)
    machine = pipeline.machine_class(model=model, state_field="stage")
    try:
        machine.send(_event_attr(event), to=to)
    except TransitionNotAllowed:
        raise _guard_failure(pipeline, kind, entity, stage, event, candidates, subject) from None
    target = model.stage
    target_stage = pipeline.stages[target]
    if kind is LEAD and target_stage.kind is StageKind.WON and not converting:
        raise _refuse(
            pipeline,
            kind,
            entity,
            stage,
            event,
            _convert_only(target),
        )
    return apply_move(
        pipeline, kind, entity, stage, target, event, when, actor, note, reason, competitor
    )


def apply_move(
    pipeline: Pipeline,
    kind: EntityKind,
    entity: Any,
    source: str,
    target: str,
    event: str,
    at: datetime,
    actor: str | None,
    note: str | None,
    reason: str | None = None,
    competitor: str | None = None,
) -> Moved[Any]:
    """Build the moved entity, its history record and the domain events (already validated)."""
    last = entity.history[-1].at if entity.history else entity.created_at
    if at < last:
        raise ValidationError(
            "move",
            [
                Problem(
                    "$.at",
                    f"{at.isoformat()} is before the last recorded change ({last.isoformat()})",
                )
            ],
        )
    if (
        not kind.closable
        and isinstance(reason, str)
        and (note is None or isinstance(note, str))
        and pipeline.stages[target].kind is StageKind.LOST
    ):
        # a lead has no lost_reason field: the reason goes into the history
        # record and the StageChanged event, so disqualifying with one keeps it
        note = f"lost: {reason}" if not note else f"{note} (lost: {reason})"
    change = StageChange(source, target, event, at, actor, note, pipeline.key)
    changes: dict[str, Any] = {
        kind.stage_field: target,
        "history": (*entity.history, change),
        "updated_at": at if at > entity.updated_at else entity.updated_at,
    }
    events: list[DomainEvent] = [
        StageChanged(kind.name, entity.id, at, pipeline.key, source, target, event, actor, note)
    ]
    if kind.closable:
        target_stage = pipeline.stages[target]
        source_stage = pipeline.stages[source]
        changes["pipeline_version"] = pipeline.version
        probability, origin = layered_probability(
            target_stage, entity.manual_probability, entity.automated_probability
        )
        changes["probability"] = probability
        changes["probability_source"] = origin
        if target_stage.kind is StageKind.WON:
            changes.update(outcome=Outcome.WON, closed_at=at, lost_reason=None)
            if competitor is not None:
                changes["competitor"] = competitor
            events.append(OpportunityWon(kind.name, entity.id, at, pipeline.key, target, actor))
        elif target_stage.kind is StageKind.LOST:
            changes.update(outcome=Outcome.LOST, closed_at=at, lost_reason=reason)
            if competitor is not None:
                changes["competitor"] = competitor
            events.append(
                OpportunityLost(
                    kind.name, entity.id, at, pipeline.key, target, reason, competitor, actor
                )
            )
        else:
            changes.update(outcome=Outcome.OPEN, closed_at=None, lost_reason=None)
            if source_stage.is_closed:
                events.append(
                    OpportunityReopened(
                        kind.name, entity.id, at, pipeline.key, source, target, actor
                    )
                )
        if probability != entity.probability or origin != entity.probability_source:
            events.append(
                ProbabilityChanged(
                    kind.name, entity.id, at, entity.probability, probability, origin.value, actor
                )
            )
    return Moved(entity.evolve(**changes), tuple(events), change)


def _closing_choice(pipeline: Pipeline, stage: str, wanted: StageKind) -> tuple[str, str] | None:
    for event in pipeline.allowed_events(stage):
        for candidate in pipeline.candidates(stage, event):
            if pipeline.stages[candidate.target].kind is wanted:
                return event, candidate.target
    return None


def win(
    pipeline: Pipeline,
    entity: E,
    *,
    actor: str | None = None,
    note: str | None = None,
    at: datetime | None = None,
    clock: Clock | None = None,
) -> Moved[E]:
    """Close ``entity`` won through the transition that leads to a won stage from here."""
    kind, stage = _stage_of(pipeline, entity, "win")
    choice = _closing_choice(pipeline, stage, StageKind.WON)
    if choice is None:
        raise _refuse(
            pipeline, kind, entity, stage, "win", f"no transition from {stage!r} to a won stage"
        )
    event, target = choice
    return fire(pipeline, entity, event, to=target, actor=actor, note=note, at=at, clock=clock)


def lose(
    pipeline: Pipeline,
    entity: E,
    *,
    reason: str,
    competitor: str | None = None,
    actor: str | None = None,
    note: str | None = None,
    at: datetime | None = None,
    clock: Clock | None = None,
) -> Moved[E]:
    """Close ``entity`` lost with ``reason`` (required) and optionally the ``competitor``.

    An opportunity keeps them as ``lost_reason`` / ``competitor``.  A lead has
    no such fields: its history record and ``StageChanged`` event get the note
    ``"lost: <reason>"`` (appended as ``"<note> (lost: <reason>)"`` to a given
    note).
    """
    checks = Checks()
    checks.text("$.reason", reason, required=True, max_length=500)
    checks.text("$.competitor", competitor, required=False, max_length=200)
    checks.instance("$.note", note, str, optional=True)
    if checks.problems:
        raise ValidationError("lose", checks.problems)
    kind, stage = _stage_of(pipeline, entity, "lose")
    choice = _closing_choice(pipeline, stage, StageKind.LOST)
    if choice is None:
        raise _refuse(
            pipeline, kind, entity, stage, "lose", f"no transition from {stage!r} to a lost stage"
        )
    event, target = choice
    return fire(
        pipeline,
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
    pipeline: Pipeline,
    entity: E,
    *,
    to: str,
    actor: str | None = None,
    note: str | None = None,
    at: datetime | None = None,
    clock: Clock | None = None,
) -> Moved[E]:
    """Reopen a closed entity into the open stage ``to`` (explicit, and recorded in history)."""
    if not isinstance(to, str):
        raise ValidationError(
            "reopen", [Problem("$.to", f"expected a stage key, got {type(to).__name__}")]
        )
    kind, stage = _stage_of(pipeline, entity, "reopen")
    if not pipeline.stages[stage].is_closed:
        raise _refuse(pipeline, kind, entity, stage, "reopen", f"{stage!r} is not closed")
    if to not in pipeline.stages or pipeline.stages[to].is_closed:
        raise _refuse(pipeline, kind, entity, stage, "reopen", f"{to!r} is not an open stage")
    return move(pipeline, entity, to, actor=actor, note=note, at=at, clock=clock)


def move(
    pipeline: Pipeline,
    entity: E,
    to: str,
    *,
    event: str | None = None,
    actor: str | None = None,
    note: str | None = None,
    at: datetime | None = None,
    clock: Clock | None = None,
) -> Moved[E]:
    """Move ``entity`` to stage ``to`` through the first allowed event that leads there
    (or through ``event``).  Use :func:`lose` to close lost with a reason."""
    kind, stage = _stage_of(pipeline, entity, event or "move")
    options = [
        name
        for name in pipeline.allowed_events(stage)
        if (event is None or name == event)
        and any(c.target == to for c in pipeline.candidates(stage, name))
    ]
    if not options:
        raise _refuse(
            pipeline,
            kind,
            entity,
            stage,
            event or "move",
            f"no transition from {stage!r} to {to!r}",
        )
    return fire(pipeline, entity, options[0], to=to, actor=actor, note=note, at=at, clock=clock)


_SET_BY_PIPELINE = {
    "pipeline": "set by the pipeline: open it through the pipeline you want",
    "pipeline_version": "set by the pipeline",
    "stage": "set by the pipeline (its first stage); move it afterwards",
    "probability": "set by the pipeline (stage default); use set_probability() afterwards",
    "clock": "pass at= or clock= as keywords of this call",
}
_OPEN_FIELDS: list[frozenset[str]] = []


def _open_fields() -> frozenset[str]:
    """The keyword fields :func:`open_opportunity` passes on to ``Opportunity.create``."""
    if not _OPEN_FIELDS:
        names = inspect.signature(Opportunity.create).parameters
        _OPEN_FIELDS.append(frozenset(names) - {"name", "amount", "at", *_SET_BY_PIPELINE})
    return _OPEN_FIELDS[0]


def open_opportunity(
    pipeline: Pipeline,
    *,
    name: str,
    amount: Money | None = None,
    actor: str | None = None,
    note: str | None = None,
    at: datetime | None = None,
    clock: Clock | None = None,
    **fields: Any,
) -> Moved[Opportunity]:
    """Create an opportunity in ``pipeline``'s first stage with its default probability and
    an entry history record.  ``fields`` go to :meth:`Opportunity.create`."""
    when = resolve_time(at, clock)
    checks = Checks()
    for key in sorted(fields):
        if key in _SET_BY_PIPELINE:
            checks.add(f"$.{key}", _SET_BY_PIPELINE[key])
        elif key not in _open_fields():
            checks.add(
                f"$.{key}",
                f"unknown field; an opportunity takes {', '.join(sorted(_open_fields()))}",
            )
    if checks.problems:
        raise ValidationError("open_opportunity", checks.problems)
    first = pipeline.first_stage
    created = Opportunity.create(
        name=name,
        pipeline=pipeline.key,
        stage=first.key,
        pipeline_version=pipeline.version,
        amount=amount,
        probability=first.probability,
        at=when,
        **fields,
    )
    change = StageChange(None, first.key, "open", when, actor, note, pipeline.key)
    opportunity = created.evolve(history=(change,))
    lead_id = fields.get("lead_id")
    events: tuple[DomainEvent, ...] = (
        OpportunityOpened(
            "opportunity", opportunity.id, when, pipeline.key, first.key, lead_id, actor
        ),
        StageChanged(
            "opportunity", opportunity.id, when, pipeline.key, None, first.key, "open", actor, note
        ),
    )
    return Moved(opportunity, events, change)


def set_probability(
    pipeline: Pipeline,
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
    recompute the effective probability; a closed opportunity stays at 100 / 0.
    Only opportunities have a probability: anything else is refused."""
    when = resolve_time(at, clock)
    if not isinstance(opportunity, Opportunity):
        raise ValidationError(
            "set_probability",
            [
                Problem(
                    "$.opportunity",
                    f"only an Opportunity has a probability, got {type(opportunity).__name__}",
                )
            ],
        )
    kind, stage = _stage_of(pipeline, opportunity, "set_probability")
    checks = Checks()
    values: dict[str, Decimal | None] = {}
    for name, raw in (("manual", manual), ("automated", automated)):
        if raw is None:
            continue
        value = to_decimal(checks, f"$.{name}", raw)
        if value is not None and not _ZERO <= value <= _HUNDRED:
            checks.add(f"$.{name}", f"must be between 0 and 100, got {value}")
        values[name] = value
    checks.instance("$.clear_manual", clear_manual, bool, optional=False)
    if clear_manual and manual is not None:
        checks.add("$.clear_manual", "cannot both set and clear the manual probability")
    if checks.problems:
        raise ValidationError("set_probability", checks.problems)
    new_manual = None if clear_manual else values.get("manual", opportunity.manual_probability)
    new_automated = values.get("automated", opportunity.automated_probability)
    probability, origin = layered_probability(pipeline.stages[stage], new_manual, new_automated)
    updated = opportunity.evolve(
        manual_probability=new_manual,
        automated_probability=new_automated,
        probability=probability,
        probability_source=origin,
        updated_at=when if when > opportunity.updated_at else opportunity.updated_at,
    )
    events: tuple[DomainEvent, ...] = ()
    if probability != opportunity.probability or origin != opportunity.probability_source:
        events = (
            ProbabilityChanged(
                kind.name,
                opportunity.id,
                when,
                opportunity.probability,
                probability,
                origin.value,
                actor,
            ),
        )
    return Moved(updated, events, None)


def convert(
    lifecycle: Pipeline,
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
    """Convert a qualified ``lead`` into a new opportunity in ``pipeline``'s first stage,
    or ``into`` an existing opportunity, and move the lead to its lifecycle's won stage.

    Contact, company, owner, tags and custom fields are carried over (an
    existing opportunity keeps its own values and gains the ones it lacks);
    both are linked (``lead.opportunity_id`` / ``opportunity.lead_id``).
    Converting twice is refused.  A lead from whose stage the lifecycle does
    not allow conversion (or whose conversion guards fail) is refused unless
    ``force=True``; a forced conversion is noted in the history record and the
    :class:`LeadConverted` event.
    """
    when = resolve_time(at, clock)
    if not isinstance(lead, Lead):
        raise ValidationError(
            "convert", [Problem("$.lead", f"expected a Lead, got {type(lead).__name__}")]
        )
    if (pipeline is None) == (into is None):
        raise ConversionError(lead.id, "pass exactly one of pipeline= (new) or into= (existing)")
    from .compile import Pipeline as _Pipeline

    wrong: list[Problem] = []
    if pipeline is not None and not isinstance(pipeline, _Pipeline):
        wrong.append(Problem("$.pipeline", f"expected a Pipeline, got {type(pipeline).__name__}"))
    if into is not None and not isinstance(into, Opportunity):
        wrong.append(Problem("$.into", f"expected an Opportunity, got {type(into).__name__}"))
    if wrong:
        raise ValidationError("convert", wrong)
    if lead.opportunity_id is not None:
        raise ConversionError(
            lead.id, f"it was already converted into opportunity {lead.opportunity_id}"
        )
    kind, stage = _stage_of(lifecycle, lead, "convert")
    won = lifecycle.stages_of_kind(StageKind.WON)
    if lifecycle.stages[stage].kind is StageKind.WON:
        raise ConversionError(lead.id, f"it is already in the converted stage {stage!r}")
    if into is not None and into.lead_id is not None and into.lead_id != lead.id:
        raise ConversionError(
            lead.id, f"opportunity {into.id} is already linked to lead {into.lead_id}"
        )
    choice = _closing_choice(lifecycle, stage, StageKind.WON)
    forced = False
    moved: Moved[Lead] | None = None
    refusal: InvalidTransition | None = None
    if choice is None:
        refusal = _refuse(lifecycle, kind, lead, stage, "convert", f"no conversion from {stage!r}")
    else:
        event, target = choice
        try:
            moved = _run_machine(
                lifecycle,
                kind,
                lead,
                stage,
                event,
                lifecycle.candidates(stage, event),
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
        moved = apply_move(
            lifecycle, kind, lead, stage, won[0].key, event, when, actor, forced_note
        )
    events: list[DomainEvent] = list(moved.events)
    if into is None:
        assert pipeline is not None
        opened = open_opportunity(
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
        LeadConverted("lead", lead.id, when, opportunity.id, into is not None, forced, stage, actor)
    )
    return Conversion(converted, opportunity, tuple(events), forced)


def _name_for(lead: Lead) -> str:
    if lead.company is not None:
        return lead.company.name
    assert lead.contact is not None
    return str(lead.contact.name or lead.contact.email or lead.id)


def change_pipeline(
    source: Pipeline,
    target: Pipeline,
    opportunity: Opportunity,
    *,
    mapping: Mapping[str, str],
    actor: str | None = None,
    note: str | None = None,
    at: datetime | None = None,
    clock: Clock | None = None,
) -> Moved[Opportunity]:
    """Move ``opportunity`` from pipeline ``source`` to ``target`` with an explicit stage
    ``mapping`` (source stage key -> target stage key of the same kind).  The whole mapping
    is checked; the move is recorded in history."""
    when = resolve_time(at, clock)
    if not isinstance(opportunity, Opportunity):
        raise ValidationError(
            "change_pipeline",
            [
                Problem(
                    "$.opportunity",
                    f"only an Opportunity changes pipeline, got {type(opportunity).__name__}",
                )
            ],
        )
    if not isinstance(mapping, Mapping):
        raise ValidationError(
            "change_pipeline",
            [Problem("$.mapping", f"expected a mapping, got {type(mapping).__name__}")],
        )
    _, stage = _stage_of(source, opportunity, "change_pipeline")
    checks = Checks()
    for old, new in mapping.items():
        here = f"$.mapping.{old}"
        if not isinstance(old, str) or not isinstance(new, str):
            checks.add(here, f"stage keys are strings, got {old!r} -> {new!r}")
        elif old not in source.stages:
            checks.add(here, f"{old!r} is not a stage of {source.key!r}")
        elif new not in target.stages:
            checks.add(here, f"{new!r} is not a stage of {target.key!r}")
        elif source.stages[old].kind is not target.stages[new].kind:
            checks.add(
                here,
                f"{old!r} is {source.stages[old].kind.value} but {new!r} is "
                f"{target.stages[new].kind.value}",
            )
    if stage not in mapping:
        checks.add("$.mapping", f"must map the current stage {stage!r}")
    if checks.problems:
        raise ValidationError("change_pipeline", checks.problems)
    new_stage = mapping[stage]
    last = opportunity.history[-1].at if opportunity.history else opportunity.created_at
    if when < last:
        raise ValidationError(
            "change_pipeline", [Problem("$.at", "is before the last recorded change")]
        )
    change = StageChange(stage, new_stage, "change_pipeline", when, actor, note, target.key)
    probability, origin = layered_probability(
        target.stages[new_stage], opportunity.manual_probability, opportunity.automated_probability
    )
    updated = opportunity.evolve(
        pipeline=target.key,
        pipeline_version=target.version,
        stage=new_stage,
        probability=probability,
        probability_source=origin,
        history=(*opportunity.history, change),
        updated_at=when if when > opportunity.updated_at else opportunity.updated_at,
    )
    events: tuple[DomainEvent, ...] = (
        PipelineChanged(
            "opportunity", opportunity.id, when, source.key, target.key, stage, new_stage, actor
        ),
        StageChanged(
            "opportunity",
            opportunity.id,
            when,
            target.key,
            stage,
            new_stage,
            "change_pipeline",
            actor,
            note,
        ),
    )
    return Moved(updated, events, change)


def stage_durations(entity: Lead | Opportunity, *, as_of: datetime) -> list[tuple[str, timedelta]]:
    """Time spent in each stage visit, from history: ``[(stage, duration), ...]`` in order;
    the current visit runs until ``as_of`` (timezone-aware)."""
    as_of = ensure_aware(as_of, "as_of")
    kind_of(entity)
    out: list[tuple[str, timedelta]] = []
    history = entity.history
    for index, change in enumerate(history):
        end = history[index + 1].at if index + 1 < len(history) else as_of
        out.append((change.to_stage, end - change.at))
    return out


def time_in_stage(entity: Lead | Opportunity, *, as_of: datetime) -> timedelta:
    """How long ``entity`` has been in its current stage (since creation without history)."""
    as_of = ensure_aware(as_of, "as_of")
    kind_of(entity)
    entered = entity.history[-1].at if entity.history else entity.created_at
    return as_of - entered


def is_rotting(pipeline: Pipeline, entity: Lead | Opportunity, *, as_of: datetime) -> bool:
    """True when ``entity`` sits in an open stage longer than the stage's ``rotting_days``."""
    as_of = ensure_aware(as_of, "as_of")
    kind = kind_of(entity)
    stage = pipeline.stages.get(getattr(entity, kind.stage_field))
    if stage is None or stage.is_closed or stage.rotting_days is None:
        return False
    return time_in_stage(entity, as_of=as_of) > timedelta(days=stage.rotting_days)
