"""Compiling a :class:`PipelineSpec` into its machinery: a strict state chart and a move table.

A :class:`PipelineMachine` holds the spec, the generated python-statemachine
``StateChart`` class (strict flags on: unknown events and guard errors raise
instead of being swallowed) and a ``(stage, event) -> candidates`` table
*derived from that class* (targets and guards read back from its
transitions), which the bulk path uses so the two cannot drift.  It also
answers the questions every move asks: where an entity stands, which
transitions an event may take from there, and why one was refused.

The operations (:mod:`pipelinekit.pipelines.operations`) work on a machine;
:class:`~pipelinekit.pipelines.Pipeline` is the public face on top of it.
"""

from __future__ import annotations

import difflib
import re
import types
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import cast

import attrs
from statemachine import Event, State, StateChart
from statemachine.exceptions import InvalidDefinition
from statemachine.transition_list import TransitionList

from ..domain.kinds import EntityKind, moving_kind_of
from ..domain.leads import Lead
from ..domain.opportunities import Opportunity
from ..errors import Problem
from .errors import GuardFailed, InvalidTransition, PipelineDefinitionError, PipelineMismatch
from .guards import Guard, GuardRegistry, Subject
from .spec import PipelineSpec, StageKind, StageSpec

__all__ = ["Candidate", "Model", "PipelineMachine"]

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


class Model:
    """The object a state chart is bound to: the stage field plus what guards look at."""

    __slots__ = ("stage", "subject")

    def __init__(self, stage: str, subject: Subject) -> None:
        self.stage = stage
        self.subject = subject


Chart = StateChart[Model]


_PLAIN = re.compile(r"^[A-Za-z0-9_]+$")


def safe_ids(names: Iterable[str], prefix: str) -> dict[str, str]:
    """A distinct Python identifier (``prefix`` + the name made safe) for each name.

    Stage keys and event names are external ids (``"12345678"``, ``"Closed
    Won"``); the state chart, Mermaid and DOT need identifiers.  A name made of
    letters, digits and underscores keeps its spelling (``st_closed_won``);
    any other is reduced to those characters, and a clash gets a number.
    """
    ordered = list(dict.fromkeys(names))
    out: dict[str, str] = {}
    used: set[str] = set()
    plain = [n for n in ordered if _PLAIN.match(n)]
    for name in plain:
        out[name] = f"{prefix}{name}"
        used.add(out[name])
    for name in ordered:
        if name in out:
            continue
        base = f"{prefix}{re.sub(r'[^A-Za-z0-9]+', '_', name).strip('_').lower() or 'x'}"
        ident, n = base, 1
        while ident in used:
            n += 1
            ident = f"{base}_{n}"
        out[name] = ident
        used.add(ident)
    return out


class PipelineMachine:
    """A compiled pipeline: the spec, its strict state-chart class and the derived table.

    Build one with :func:`~pipelinekit.pipelines.compile_pipeline`, which returns
    the :class:`~pipelinekit.pipelines.Pipeline` facade built on this class.
    """

    def __init__(self, spec: PipelineSpec, registry: GuardRegistry) -> None:
        self.spec = spec
        #: stage key -> the state's identifier, event name -> the event's identifier
        self.state_ids = safe_ids(spec.stage_keys, "st_")
        self.event_ids = safe_ids(spec.events, "ev_")
        self.machine_class, guard_of = _build_class(spec, registry, self.state_ids, self.event_ids)
        event_of = {ident: event for event, ident in self.event_ids.items()}
        self.table = _derive_table(self.machine_class, guard_of, event_of)
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

    def stages_of_kind(self, kind: StageKind | str) -> tuple[StageSpec, ...]:
        """The stages of one kind, in order."""
        wanted = StageKind(kind)
        return tuple(s for s in self.spec.stages if s.kind is wanted)

    def closed_stages(self) -> frozenset[str]:
        """The keys of the won and lost stages."""
        return frozenset(key for key, stage in self.stages.items() if stage.is_closed)

    def __repr__(self) -> str:
        name = type(self).__name__
        return f"{name}({self.key!r}, version={self.version[:12]!r}, stages={len(self.stages)})"

    # -- what every move asks -----------------------------------------------------

    def locate(self, entity: Lead | Opportunity, event: str) -> tuple[EntityKind, str]:
        """The kind of ``entity`` and its current stage, which must be one of this machine's."""
        kind = moving_kind_of(entity)
        if isinstance(entity, Opportunity) and entity.pipeline != self.key:
            raise PipelineMismatch(
                entity_id=entity.id, entity_pipeline=entity.pipeline, pipeline=self.key
            )
        stage = stage_of(entity)
        if stage not in self.machine_class.states_map:
            raise InvalidTransition(
                entity_kind=kind.name,
                entity_id=entity.id,
                pipeline=self.key,
                stage=stage,
                event=event,
                allowed=(),
                reason=self.foreign_stage(stage),
            )
        return kind, stage

    def foreign_stage(self, stage: str) -> str:
        """The refusal reason for an entity standing in ``stage``, not one of this version's."""
        return (
            f"stage {stage!r} is not a stage of this pipeline version "
            f"({', '.join(self.spec.stage_keys)}); map it with change_pipeline()"
        )

    def refusal(
        self, kind: EntityKind, entity_id: str, stage: str, event: str, reason: str
    ) -> InvalidTransition:
        """The :class:`InvalidTransition` refusing ``event`` from ``stage``, with ``reason``."""
        return InvalidTransition(
            entity_kind=kind.name,
            entity_id=entity_id,
            pipeline=self.key,
            stage=stage,
            event=event,
            allowed=self.allowed_events(stage),
            reason=reason,
        )

    def unknown_stage(self, name: object) -> str | None:
        """Why ``name`` is not a stage of this pipeline (``None`` if it is one).

        A stage's label given where its key is expected names the key; a
        misspelt key names the nearest one."""
        if isinstance(name, str) and name in self.stages:
            return None
        if isinstance(name, str):
            wanted = name.strip().casefold()
            for stage in self.spec.stages:
                if stage.label.strip().casefold() == wanted:
                    return (
                        f"unknown stage {name!r}; did you mean key {stage.key!r} "
                        f"for label {stage.label!r}?"
                    )
            close = difflib.get_close_matches(name, list(self.spec.stage_keys), n=1)
            if close:
                return f"unknown stage {name!r}; did you mean {close[0]!r}?"
        return f"unknown stage {name!r}; this pipeline's stages are " + ", ".join(
            repr(k) for k in self.spec.stage_keys
        )

    def unknown_event(self, event: object) -> str:
        """The refusal reason for an event this pipeline does not have."""
        names = list(self.spec.events)
        close = difflib.get_close_matches(event, names, n=1) if isinstance(event, str) else []
        hint = f"did you mean {close[0]!r}? " if close else ""
        return f"unknown event; {hint}this pipeline's events are {', '.join(names)}"

    def select(
        self, kind: EntityKind, entity_id: str, stage: str, event: str, to: str | None
    ) -> tuple[Candidate, ...] | InvalidTransition:
        """The transitions ``event`` (towards ``to``) can take from ``stage``, or why none."""
        if event not in self.spec.events:
            return self.refusal(kind, entity_id, stage, event, self.unknown_event(event))
        if to is not None:
            unknown = self.unknown_stage(to)
            if unknown is not None:
                return self.refusal(kind, entity_id, stage, event, unknown)
        candidates = self.candidates(stage, event)
        if to is not None:
            candidates = tuple(c for c in candidates if c.target == to)
            if not candidates:
                return self.refusal(
                    kind, entity_id, stage, event, f"{event!r} does not lead to {to!r} from here"
                )
        if not candidates:
            return self.refusal(kind, entity_id, stage, event, f"no transition from {stage!r}")
        return candidates

    def lost_refusal(
        self, kind: EntityKind, entity_id: str, stage: str, event: str, target: str, reason: object
    ) -> InvalidTransition | None:
        """The refusal of closing a deal as lost in ``target`` with ``reason``, if this
        pipeline's lost-reason settings refuse it (leads have no lost reason)."""
        if not kind.closable or self.stages[target].kind is not StageKind.LOST:
            return None
        why = self.spec.lost_reason_problem(reason)
        return None if why is None else self.refusal(kind, entity_id, stage, event, why)

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

    def blocked(
        self,
        kind: EntityKind,
        entity_id: str,
        stage: str,
        event: str,
        candidates: Sequence[Candidate],
        subject: Subject,
    ) -> InvalidTransition:
        """Why the machine refused a move it had candidates for (a guard, as a rule)."""
        failure = self.guard_failure(kind.name, entity_id, stage, event, candidates, subject)
        if failure is not None:
            return failure
        return self.refusal(kind, entity_id, stage, event, "the state machine refused the move")

    def bind(self, stage: str, subject: Subject) -> tuple[Chart, Model]:
        """A state chart instance standing in ``stage``, with guards looking at ``subject``."""
        model = Model(stage, subject)
        return self.machine_class(model=model, state_field="stage"), model


def stage_of(entity: Lead | Opportunity) -> str:
    """The stage ``entity`` stands in (a lead's ``status``, an opportunity's ``stage``)."""
    return entity.stage if isinstance(entity, Opportunity) else entity.status


def _guard_cond(guard: Guard) -> Callable[[Model], bool]:
    check = guard.check

    def cond(model: Model) -> bool:
        return check(model.subject) is None

    cond.__name__ = guard.label
    return cond


def _target_cond(target: str) -> Callable[..., bool]:
    def cond(to: str | None = None) -> bool:
        return to is None or to == target

    cond.__name__ = f"to={target}"
    return cond


def _class_name(key: str) -> str:
    return "".join(part.capitalize() for part in re.split(r"[^A-Za-z0-9]+", key)) + "Pipeline"


def _build_class(
    spec: PipelineSpec,
    registry: GuardRegistry,
    state_ids: Mapping[str, str],
    event_ids: Mapping[str, str],
) -> tuple[type[Chart], dict[Callable[..., bool], Guard]]:
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
    namespace: dict[str, object] = {state_ids[k]: s for k, s in states.items()}
    lists: dict[str, TransitionList] = {}
    guard_of: dict[Callable[..., bool], Guard] = {}
    for index, transition in enumerate(spec.transitions):
        guard_conds = []
        for guard in resolved[index]:
            cond = _guard_cond(guard)
            guard_of[cond] = guard
            guard_conds.append(cond)
        for source in spec.sources_of(transition):
            conds: list[Callable[..., bool]] = list(guard_conds)
            if len(targets_of[(source, transition.event)]) > 1:
                conds.insert(0, _target_cond(transition.target))
            built = states[source].to(states[transition.target], cond=conds or None)
            previous = lists.get(transition.event)
            lists[transition.event] = built if previous is None else previous | built
    for event, transitions in lists.items():
        namespace[event_ids[event]] = Event(transitions, name=event)
    namespace.update(_STRICT)
    namespace["__doc__"] = (
        f"State machine compiled from pipeline {spec.key!r} ({spec.version[:12]})."
    )
    try:
        made = types.new_class(
            _class_name(spec.key), (StateChart,), exec_body=lambda body: body.update(namespace)
        )
    except InvalidDefinition as error:  # pragma: no cover - the spec checks catch these first
        raise PipelineDefinitionError(spec.key, [Problem("$", str(error))]) from error
    return cast("type[Chart]", made), guard_of


def _derive_table(
    machine_class: type[Chart],
    guard_of: Mapping[Callable[..., bool], Guard],
    event_of: Mapping[str, str],
) -> dict[tuple[str, str], tuple[Candidate, ...]]:
    """Read ``(stage, event) -> candidates`` back from a compiled class, in the order the
    machine tries them."""
    table: dict[tuple[str, str], list[Candidate]] = {}
    for state in machine_class.states:
        for transition in state.transitions:
            guards = tuple(guard_of[spec.func] for spec in transition.cond if spec.func in guard_of)
            target = transition.target
            assert target is not None
            for event in transition.events:
                table.setdefault((state.value, event_of[str(event)]), []).append(
                    Candidate(target.value, guards)
                )
    return {key: tuple(value) for key, value in table.items()}
