"""The bulk path: validate and apply one event to many entities without a machine each.

``Pipeline.bulk`` looks every entity's move up in the ``(stage, event) ->
candidates`` table that compilation derived from the state-machine class (so
the two cannot drift), runs the same guards, and builds each moved entity
directly: every replaced value is checked once per batch (actor, note, time,
reason) or per entity (time order), so the full constructor validation is not
needed.  ``verify=True`` rebuilds through the validating constructor instead
(slower; useful while debugging).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal
from functools import partial
from typing import Any

import attrs

from ..._slots import replacer
from ...clock import Clock, resolve_time
from ...domain._checks import Checks
from ...domain.history import StageChange
from ...domain.kinds import LEAD, OPPORTUNITY, EntityKind
from ...domain.leads import Lead
from ...domain.opportunities import Opportunity, Outcome, ProbabilitySource
from ...errors import PipelinekitError, Problem, ValidationError
from ..errors import BulkTransitionError, InvalidTransition, PipelineMismatch, StaleTime
from ..guards import GuardCheck, Subject
from ..machine import Candidate, PipelineMachine
from ..outcomes import BulkFailure, BulkResult, E
from ..spec import StageKind, StageSpec

__all__ = ["Bulk"]

_HUNDRED = Decimal(100)
_ZERO = Decimal(0)
_OPP_FIELDS = (
    "stage",
    "history",
    "updated_at",
    "pipeline_version",
    "probability",
    "probability_source",
    "outcome",
    "closed_at",
    "lost_reason",
    "competitor",
)
_LEAD_FIELDS = ("status", "history", "updated_at")


@attrs.frozen
class _Plan:
    candidates: tuple[Candidate, ...]
    # (candidate, its guard checks, the shared immutable history record, target stage)
    options: tuple[tuple[Candidate, tuple[GuardCheck, ...], StageChange, StageSpec], ...]


class Bulk(PipelineMachine):
    """One event applied to many entities, without a state machine for each."""

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
        pipeline = self
        when = resolve_time(at, clock)
        checks = Checks()
        checks.instance("$.event", event, str, optional=False)
        checks.instance("$.to", to, str, optional=True)
        checks.text("$.actor", actor, required=False, max_length=200)
        checks.instance("$.note", note, str, optional=True)
        checks.text("$.reason", reason, required=False, max_length=500)
        checks.text("$.competitor", competitor, required=False, max_length=200)
        if not isinstance(entities, Sequence):
            if isinstance(entities, Iterable):
                entities = list(entities)  # read once: a generator is not consumed twice
            else:
                checks.add(
                    "$.entities", f"must be a list of entities, got {type(entities).__name__}"
                )
        if checks.problems:
            raise ValidationError("bulk", checks.problems)
        moved: list[Any] = []
        failures: list[BulkFailure] = []
        if not entities:
            return BulkResult(moved, failures, pipeline.key, event, pipeline.closed_stages())
        # the kind comes from the first entity that moves at all; anything else,
        # first or not, is reported as a failure
        first = next((e for e in entities if type(e) in (Lead, Opportunity)), None)
        kind = OPPORTUNITY if isinstance(first, Opportunity) else LEAD
        overrides: dict[str, object] = {}
        if reason is not None:
            overrides["lost_reason"] = reason
        if competitor is not None:
            overrides["competitor"] = competitor
        plans: dict[str, _Plan | None] = {}
        stages = pipeline.stages

        def _note_for(target: str) -> str | None:
            # as in apply_move: a lead keeps its lost reason in the note
            if kind is LEAD and reason is not None and stages[target].kind is StageKind.LOST:
                return f"lost: {reason}" if not note else f"{note} (lost: {reason})"
            return note

        def plan_for(stage: str) -> _Plan | None:
            candidates = pipeline.candidates(stage, event)
            if to is not None:
                candidates = tuple(c for c in candidates if c.target == to)
            if not candidates:
                return None
            options = tuple(
                (
                    c,
                    tuple(g.check for g in c.guards),
                    StageChange(
                        stage, c.target, event, when, actor, _note_for(c.target), pipeline.key
                    ),
                    stages[c.target],
                )
                for c in candidates
            )
            return _Plan(candidates, options)

        version = pipeline.version
        # the one reason of this batch, checked once against the lost-reason settings
        lost_problem = pipeline.spec.lost_reason_problem(reason)
        key = pipeline.key
        field = kind.stage_field
        is_lead = kind is LEAD
        assert field is not None
        subject = Subject(None, overrides)
        items: Sequence[Any] = entities
        entity_cls: Any = kind.cls
        replace = replacer(entity_cls, _LEAD_FIELDS if is_lead else _OPP_FIELDS)
        open_kind, won_kind, lost_kind = StageKind.OPEN, StageKind.WON, StageKind.LOST
        manual_src, automated_src = ProbabilitySource.MANUAL, ProbabilitySource.AUTOMATED
        default_src, closed_src = ProbabilitySource.STAGE_DEFAULT, ProbabilitySource.CLOSED
        open_outcome = Outcome.OPEN
        append = moved.append
        for index, entity in enumerate(items):
            if type(entity) is not entity_cls:
                failures.append(
                    BulkFailure(index, str(getattr(entity, "id", "?")), _type_error(kind, entity))
                )
                continue
            if not is_lead and entity.pipeline != key:
                failures.append(
                    BulkFailure(
                        index,
                        entity.id,
                        PipelineMismatch(
                            entity_id=entity.id, entity_pipeline=entity.pipeline, pipeline=key
                        ),
                    )
                )
                continue
            stage = getattr(entity, field)
            try:
                plan = plans[stage]
            except KeyError:
                plan = plans[stage] = plan_for(stage) if stage in stages else None
            if plan is None:
                failures.append(
                    BulkFailure(
                        index,
                        entity.id,
                        build=partial(_invalid, pipeline, kind, entity, stage, event, to),
                    )
                )
                continue
            subject.entity = entity
            chosen = None
            for option in plan.options:
                for check in option[1]:
                    if check(subject) is not None:
                        break
                else:
                    chosen = option
                    break
            if chosen is None:
                failures.append(
                    BulkFailure(
                        index,
                        entity.id,
                        build=partial(
                            _guard_error, pipeline, kind, entity, stage, event, plan, overrides
                        ),
                    )
                )
                continue
            _, _, change, target_stage = chosen
            target = target_stage.key
            target_kind = target_stage.kind
            # refusals in the order fire() meets them: conversion, lost reason, then time
            if is_lead and target_kind is won_kind:
                failures.append(
                    BulkFailure(
                        index,
                        entity.id,
                        build=partial(_no_bulk_conversion, pipeline, entity, stage, event, target),
                    )
                )
                continue
            if lost_problem is not None and not is_lead and target_kind is lost_kind:
                failures.append(
                    BulkFailure(
                        index,
                        entity.id,
                        pipeline.refusal(kind, entity.id, stage, event, lost_problem),
                    )
                )
                continue
            history: tuple[StageChange, ...] = entity.history
            last = history[-1].at if history else entity.created_at
            if when < last:
                failures.append(
                    BulkFailure(index, entity.id, build=partial(_too_early, when, last))
                )
                continue
            updated_at = when if when > entity.updated_at else entity.updated_at
            if is_lead:
                if verify:
                    append(
                        entity.evolve(
                            status=target, history=(*history, change), updated_at=updated_at
                        )
                    )
                else:
                    append(replace(entity, target, (*history, change), updated_at))
                continue
            if target_kind is open_kind:
                if entity.manual_probability is not None:
                    probability, origin = entity.manual_probability, manual_src
                elif entity.automated_probability is not None:
                    probability, origin = entity.automated_probability, automated_src
                else:
                    probability, origin = target_stage.probability, default_src
                values: tuple[Any, ...] = (
                    probability,
                    origin,
                    open_outcome,
                    None,
                    None,
                    entity.competitor,
                )
            elif target_kind is won_kind:
                values = (
                    _HUNDRED,
                    closed_src,
                    Outcome.WON,
                    when,
                    None,
                    entity.competitor if competitor is None else competitor,
                )
            else:
                values = (
                    _ZERO,
                    closed_src,
                    Outcome.LOST,
                    when,
                    reason,
                    entity.competitor if competitor is None else competitor,
                )
            if verify:
                append(
                    entity.evolve(
                        lost_reason_optional=not pipeline.spec.require_lost_reason,
                        **dict(
                            zip(
                                _OPP_FIELDS,
                                (target, (*history, change), updated_at, version, *values),
                                strict=True,
                            )
                        ),
                    )
                )
            else:
                append(replace(entity, target, (*history, change), updated_at, version, *values))
        if strict and failures:
            raise BulkTransitionError((f.index, f.error) for f in failures)
        return BulkResult(moved, failures, pipeline.key, event, pipeline.closed_stages())


def _too_early(at: datetime, last: datetime) -> PipelinekitError:
    return StaleTime("move", at, last)


def _no_bulk_conversion(
    pipeline: PipelineMachine, entity: Any, stage: str, event: str, target: str
) -> PipelinekitError:
    return InvalidTransition(
        entity_kind="lead",
        entity_id=entity.id,
        pipeline=pipeline.key,
        stage=stage,
        event=event,
        allowed=pipeline.allowed_events(stage),
        reason=f"{target!r} is the lifecycle's converted stage: use convert() so an "
        "opportunity is created and linked",
    )


def _type_error(kind: EntityKind, entity: object) -> PipelinekitError:
    name = kind.cls.__name__
    article = "an" if name[:1] in "AEIOU" else "a"
    return ValidationError(
        "bulk", [Problem("$", f"expected {article} {name}, got {type(entity).__name__}")]
    )


def _invalid(
    pipeline: PipelineMachine,
    kind: EntityKind,
    entity: Any,
    stage: str,
    event: str,
    to: str | None,
) -> InvalidTransition:
    # the refusal fire() raises: built by the same code, so the words cannot drift
    if stage not in pipeline.stages:
        return InvalidTransition(
            entity_kind=kind.name,
            entity_id=entity.id,
            pipeline=pipeline.key,
            stage=stage,
            event=event,
            allowed=(),
            reason=pipeline.foreign_stage(stage),
        )
    refused = pipeline.select(kind, entity.id, stage, event, to)
    assert isinstance(refused, InvalidTransition), "the plan found no candidate, so select none"
    return refused


def _guard_error(
    pipeline: PipelineMachine,
    kind: EntityKind,
    entity: Any,
    stage: str,
    event: str,
    plan: _Plan,
    overrides: dict[str, object],
) -> InvalidTransition:
    # fire()'s own report of a refused move (a guard whose answer changed in between,
    # which only an app's guard reading outside state can do, gets the same one)
    subject = Subject(entity, overrides)
    return pipeline.blocked(kind, entity.id, stage, event, plan.candidates, subject)
