"""Opening an opportunity in a pipeline, and moving one to another pipeline."""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from ...clock import Clock, resolve_time
from ...domain._checks import Checks
from ...domain.history import StageChange
from ...domain.money import Money
from ...domain.opportunities import Opportunity
from ...domain.probability import Probability
from ...errors import Problem, ValidationError
from ..errors import StaleTime
from ..events import DomainEvent, OpportunityOpened, PipelineChanged, StageChanged
from ..machine import PipelineMachine
from ..outcomes import Moved

__all__ = ["Opening"]

_SET_BY_PIPELINE = {
    "pipeline": "set by the pipeline: open it through the pipeline you want",
    "pipeline_version": "set by the pipeline",
    "stage": "set by the pipeline (its first stage); move it afterwards",
    "probability": "set by the pipeline (stage default); use set_probability() afterwards",
    "clock": "pass at= or clock= as keywords of this call",
}
_OPEN_FIELDS: list[frozenset[str]] = []


def _open_fields() -> frozenset[str]:
    """The keyword fields ``open`` passes on to ``Opportunity.create``."""
    if not _OPEN_FIELDS:
        names = inspect.signature(Opportunity.create).parameters
        _OPEN_FIELDS.append(frozenset(names) - {"name", "amount", "at", *_SET_BY_PIPELINE})
    return _OPEN_FIELDS[0]


class Opening(PipelineMachine):
    """Opening opportunities here, and moving them to another pipeline."""

    def open(
        self: PipelineMachine,
        *,
        name: str,
        amount: Money | None = None,
        actor: str | None = None,
        note: str | None = None,
        at: datetime | None = None,
        clock: Clock | None = None,
        **fields: Any,
    ) -> Moved[Opportunity]:
        """Create an opportunity in the first stage with its default probability and an
        entry history record.  ``fields`` go to :meth:`~pipelinekit.Opportunity.create`."""
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
            raise ValidationError("open", checks.problems)
        first = self.first_stage
        created = Opportunity.create(
            name=name,
            pipeline=self.key,
            stage=first.key,
            pipeline_version=self.version,
            amount=amount,
            probability=Probability.percent(first.probability),
            at=when,
            **fields,
        )
        change = StageChange(None, first.key, "open", when, actor, note, self.key)
        opportunity = created.evolve(history=(change,))
        lead_id = fields.get("lead_id")
        events: tuple[DomainEvent, ...] = (
            OpportunityOpened(
                "opportunity", opportunity.id, when, self.key, first.key, lead_id, actor
            ),
            StageChanged(
                "opportunity", opportunity.id, when, self.key, None, first.key, "open", actor, note
            ),
        )
        return Moved(opportunity, events, change)

    def change_pipeline(
        self: PipelineMachine,
        opportunity: Opportunity,
        target: PipelineMachine,
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
        _, stage = self.locate(opportunity, "change_pipeline")
        checks = Checks()
        for old, new in mapping.items():
            here = f"$.mapping.{old}"
            if not isinstance(old, str) or not isinstance(new, str):
                checks.add(here, f"stage keys are strings, got {old!r} -> {new!r}")
            elif old not in self.stages:
                checks.add(here, f"{old!r} is not a stage of {self.key!r}")
            elif new not in target.stages:
                checks.add(here, f"{new!r} is not a stage of {target.key!r}")
            elif self.stages[old].kind is not target.stages[new].kind:
                checks.add(
                    here,
                    f"{old!r} is {self.stages[old].kind.value} but {new!r} is "
                    f"{target.stages[new].kind.value}",
                )
        if stage not in mapping:
            checks.add("$.mapping", f"must map the current stage {stage!r}")
        if checks.problems:
            raise ValidationError("change_pipeline", checks.problems)
        new_stage = mapping[stage]
        last = opportunity.history[-1].at if opportunity.history else opportunity.created_at
        if when < last:
            raise StaleTime("change_pipeline", when, last)
        change = StageChange(
            stage, new_stage, "change_pipeline", when, actor, note, target.key, self.key
        )
        probability, origin = target.stages[new_stage].effective_probability(
            opportunity.manual_probability, opportunity.automated_probability
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
                "opportunity", opportunity.id, when, self.key, target.key, stage, new_stage, actor
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
