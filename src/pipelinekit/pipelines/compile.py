"""Compiling a :class:`PipelineSpec` into a strict python-statemachine class, once per version.

:func:`compile_pipeline` returns a :class:`Pipeline`: the spec, the generated
``StateChart`` class (strict flags on: unknown events and guard errors raise
instead of being swallowed) and a ``(stage, event) -> candidates`` table
*derived from that class* (targets and guards read back from its
transitions), which the bulk path uses so the two cannot drift.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypeVar

import attrs
from statemachine import Event, State, StateChart
from statemachine.exceptions import InvalidDefinition

from ..clock import Clock
from ..errors import Problem
from .errors import GuardFailed, PipelineDefinitionError
from .guards import Guard, GuardRegistry, Subject, default_guards
from .spec import PipelineSpec, StageKind, StageSpec

if TYPE_CHECKING:
    from ..domain.leads import Lead
    from ..domain.money import Money
    from ..domain.opportunities import Opportunity
    from .bulk import BulkResult
    from .errors import InvalidTransition
    from .operations import Conversion, Moved

__all__ = ["Candidate", "Pipeline", "compile_pipeline"]

E = TypeVar("E", "Lead", "Opportunity")

_STRICT = {
    "allow_event_without_transition": False,
    "catch_errors_as_events": False,
    "enable_self_transition_entries": False,
    "atomic_configuration_update": True,
    # A closed stage that can be reopened is not a *final* state for the
    # library, so its "path to a final state" check would refuse valid
    # pipelines; check_definition() checks "every open stage can close" instead.
    "validate_final_reachability": False,
}


@attrs.frozen
class Candidate:
    """One way an event can leave a stage: the target and the guards that must all pass."""

    target: str
    guards: tuple[Guard, ...]

    def first_failure(self, subject: Subject) -> tuple[Guard, str] | None:
        """The first guard that refuses ``subject`` and its reason, or ``None``."""
        for guard in self.guards:
            why = guard.check(subject)
            if why is not None:
                return guard, why
        return None


def _guard_cond(guard: Guard) -> Callable[..., bool]:
    check = guard.check

    def cond(model: Any) -> bool:
        return check(model.subject) is None

    cond.__name__ = guard.label
    cond._pk_guard = guard  # type: ignore[attr-defined]
    return cond


def _target_cond(target: str) -> Callable[..., bool]:
    def cond(to: str | None = None) -> bool:
        return to is None or to == target

    cond.__name__ = f"to={target}"
    cond._pk_target = target  # type: ignore[attr-defined]
    return cond


def _state_attr(key: str) -> str:
    return f"st_{key}"


def _event_attr(event: str) -> str:
    return f"ev_{event}"


def _class_name(key: str) -> str:
    return "".join(part.capitalize() for part in key.split("_")) + "Pipeline"


def _build_class(spec: PipelineSpec, registry: GuardRegistry) -> type[StateChart]:  # type: ignore[type-arg]
    problems: list[Problem] = []
    resolved: dict[int, list[Guard]] = {}
    for index, transition in enumerate(spec.transitions):
        guards: list[Guard] = []
        target = spec.stage(transition.target)
        for field in target.required_fields:
            guards.append(registry.resolve("field_present", {"field": field}))
        for position, guard_spec in enumerate(transition.guards):
            path = f"$.transitions[{index}].guards[{position}]"
            found = registry.problems(guard_spec.name, guard_spec.kwargs, path)
            if found:
                problems.extend(found)
            else:
                guards.append(registry.resolve(guard_spec.name, guard_spec.kwargs))
        resolved[index] = guards
    if problems:
        raise PipelineDefinitionError(spec.key, problems)

    has_exit = dict.fromkeys(spec.stage_keys, False)
    for transition in spec.transitions:
        for source in spec.sources_of(transition):
            has_exit[source] = True
    states: dict[str, State] = {}
    for position, stage in enumerate(spec.stages):
        states[stage.key] = State(
            stage.label,
            value=stage.key,
            initial=position == 0,
            final=stage.kind.is_closed and not has_exit[stage.key],
        )
    # Several transitions for one (stage, event) to different targets: the
    # caller picks with ``to=``; without it the first whose guards pass wins.
    targets_of: dict[tuple[str, str], set[str]] = {}
    for transition in spec.transitions:
        for source in spec.sources_of(transition):
            targets_of.setdefault((source, transition.event), set()).add(transition.target)
    namespace: dict[str, Any] = {_state_attr(k): s for k, s in states.items()}
    lists: dict[str, Any] = {}
    for index, transition in enumerate(spec.transitions):
        guard_conds = [_guard_cond(g) for g in resolved[index]]
        for source in spec.sources_of(transition):
            conds = list(guard_conds)
            if len(targets_of[(source, transition.event)]) > 1:
                conds.insert(0, _target_cond(transition.target))
            built = states[source].to(states[transition.target], cond=conds or None)
            previous = lists.get(transition.event)
            lists[transition.event] = built if previous is None else previous | built
    for event, transitions in lists.items():
        namespace[_event_attr(event)] = Event(transitions, name=event)
    namespace.update(_STRICT)
    namespace["__doc__"] = (
        f"State machine compiled from pipeline {spec.key!r} ({spec.version[:12]})."
    )
    try:
        return type(StateChart)(_class_name(spec.key), (StateChart,), namespace)  # type: ignore[misc, no-any-return]
    except InvalidDefinition as error:  # pragma: no cover - the spec checks catch these first
        raise PipelineDefinitionError(spec.key, [Problem("$", str(error))]) from error


def derive_table(
    machine_class: type[StateChart],  # type: ignore[type-arg]
) -> dict[tuple[str, str], tuple[Candidate, ...]]:
    """Read ``(stage, event) -> candidates`` back from a compiled class, in the order the
    machine tries them."""
    table: dict[tuple[str, str], list[Candidate]] = {}
    for state in machine_class.states:
        for transition in state.transitions:
            guards = tuple(
                spec.func._pk_guard for spec in transition.cond if hasattr(spec.func, "_pk_guard")
            )
            target = transition.target
            assert target is not None
            for event in transition.events:
                table.setdefault((state.value, _event_name(str(event))), []).append(
                    Candidate(target.value, guards)
                )
    return {key: tuple(value) for key, value in table.items()}


def _event_name(event_id: str) -> str:
    return event_id.removeprefix("ev_")


class Pipeline:
    """A compiled pipeline: the spec, its strict state-machine class and the derived table.

    Get one with :func:`compile_pipeline` (cached per spec version).  The
    methods move leads and opportunities; each returns a new entity plus the
    domain events, and leaves the input untouched when it raises.
    """

    def __init__(self, spec: PipelineSpec, registry: GuardRegistry) -> None:
        self.spec = spec
        self.machine_class = _build_class(spec, registry)
        self.table = derive_table(self.machine_class)
        self.stages: Mapping[str, StageSpec] = {s.key: s for s in spec.stages}
        allowed: dict[str, list[str]] = {key: [] for key in spec.stage_keys}
        for stage, event in self.table:
            allowed[stage].append(event)
        order = {event: i for i, event in enumerate(spec.events)}
        self._allowed = {
            key: tuple(sorted(events, key=order.__getitem__)) for key, events in allowed.items()
        }

    # -- introspection ---------------------------------------------------------

    @property
    def key(self) -> str:
        """The pipeline's key."""
        return self.spec.key

    @property
    def version(self) -> str:
        """The spec's content hash, recorded on opportunities as ``pipeline_version``."""
        return self.spec.version

    @property
    def first_stage(self) -> StageSpec:
        """Where new entities start."""
        return self.spec.first_stage

    def allowed_events(self, stage: str) -> tuple[str, ...]:
        """Events that leave ``stage`` (guards not evaluated); empty for unknown stages."""
        return self._allowed.get(stage, ())

    def candidates(self, stage: str, event: str) -> tuple[Candidate, ...]:
        """The ways ``event`` can leave ``stage``, in the order the machine tries them."""
        return self.table.get((stage, event), ())

    def guard_failure(
        self,
        entity_kind: str,
        entity_id: str,
        stage: str,
        event: str,
        candidates: Sequence[Candidate],
        subject: Subject,
    ) -> GuardFailed | None:
        """The :class:`GuardFailed` for the first candidate whose guard refuses ``subject``."""
        for candidate in candidates:
            failure = candidate.first_failure(subject)
            if failure is not None:
                guard, why = failure
                return GuardFailed(
                    entity_kind=entity_kind,
                    entity_id=entity_id,
                    pipeline=self.key,
                    stage=stage,
                    event=event,
                    allowed=self.allowed_events(stage),
                    guard=guard.label,
                    why=why,
                    target=candidate.target,
                )
        return None

    def stages_of_kind(self, kind: StageKind | str) -> tuple[StageSpec, ...]:
        """The stages of one kind, in order."""
        wanted = StageKind(kind)
        return tuple(s for s in self.spec.stages if s.kind is wanted)

    def __repr__(self) -> str:
        return f"Pipeline({self.key!r}, version={self.version[:12]!r}, stages={len(self.stages)})"

    # -- operations (the functions in pipelinekit.pipelines.operations) -------------

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
        """Fire ``event`` on a lead or opportunity (see :func:`~.operations.fire`)."""
        from .operations import fire

        return fire(
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
        """Why ``fire`` would refuse ``event`` now, or ``None`` (:func:`~.operations.explain`)."""
        from .operations import explain

        return explain(self, entity, event, to=to, reason=reason, competitor=competitor)

    def available_events(self, entity: Lead | Opportunity) -> tuple[str, ...]:
        """Events ``fire`` would accept for ``entity`` now, guards evaluated."""
        from .operations import available_events

        return available_events(self, entity)

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
        """Move to stage ``to`` through an allowed transition (see :func:`~.operations.move`)."""
        from .operations import move

        return move(self, entity, to, event=event, actor=actor, note=note, at=at, clock=clock)

    def win(
        self,
        entity: E,
        *,
        actor: str | None = None,
        note: str | None = None,
        at: datetime | None = None,
        clock: Clock | None = None,
    ) -> Moved[E]:
        """Close won (see :func:`~.operations.win`)."""
        from .operations import win

        return win(self, entity, actor=actor, note=note, at=at, clock=clock)

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
        """Close lost with a reason (see :func:`~.operations.lose`)."""
        from .operations import lose

        return lose(
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
        """Reopen a closed entity into open stage ``to`` (see :func:`~.operations.reopen`)."""
        from .operations import reopen

        return reopen(self, entity, to=to, actor=actor, note=note, at=at, clock=clock)

    def open(
        self,
        *,
        name: str,
        amount: Money | None = None,
        actor: str | None = None,
        note: str | None = None,
        at: datetime | None = None,
        clock: Clock | None = None,
        **fields: Any,
    ) -> Moved[Opportunity]:
        """Create an opportunity in the first stage (see :func:`~.operations.open_opportunity`)."""
        from .operations import open_opportunity

        return open_opportunity(
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
        """Set a probability layer (see :func:`~.operations.set_probability`)."""
        from .operations import set_probability

        return set_probability(
            self,
            opportunity,
            manual=manual,
            automated=automated,
            clear_manual=clear_manual,
            actor=actor,
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
    ) -> BulkResult[E]:
        """Apply ``event`` to many entities, no machine each (see :func:`~.bulk.fire_many`)."""
        from .bulk import fire_many

        return fire_many(
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
        """Convert a lead moving through this lifecycle (see :func:`~.operations.convert`)."""
        from .operations import convert

        return convert(
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


_CACHE: dict[tuple[str, GuardRegistry], Pipeline] = {}
_LOCK = threading.Lock()


def compile_pipeline(spec: PipelineSpec, *, guards: GuardRegistry | None = None) -> Pipeline:
    """Compile ``spec`` (once per spec version and guard registry) into a :class:`Pipeline`.

    Unknown guards or bad guard parameters raise :class:`PipelineDefinitionError`.
    """
    registry = guards if guards is not None else default_guards()
    key = (spec.version, registry)
    with _LOCK:
        cached = _CACHE.get(key)
        if cached is None:
            cached = _CACHE[key] = Pipeline(spec, registry)
        return cached
