"""What pipeline operations return: the moved entity with its history record and events.

Entities are immutable, so every operation returns a new one: :class:`Moved`
for one entity, :class:`Conversion` for a converted lead and its opportunity,
:class:`BulkResult` for a bulk move (with one :class:`BulkFailure` per refused
entity).  Each carries the domain events to publish.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

import attrs

from ..domain.history import StageChange
from ..domain.leads import Lead
from ..domain.opportunities import Opportunity, Outcome
from ..errors import PipelinekitError
from .events import DomainEvent, OpportunityLost, OpportunityReopened, OpportunityWon, StageChanged

__all__ = ["BulkFailure", "BulkResult", "Conversion", "E", "Moved"]

#: A lead or an opportunity (what moves through pipelines).
E = TypeVar("E", Lead, Opportunity)


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


class BulkFailure:
    """One entity the bulk path refused: its position in the input, its id and why.

    ``error`` is the same exception the single-entity path raises; it is
    built on first access, so refusing many entities stays cheap.
    """

    __slots__ = ("_build", "_error", "entity_id", "index")

    def __init__(
        self,
        index: int,
        entity_id: str,
        error: PipelinekitError | None = None,
        build: Callable[[], PipelinekitError] | None = None,
    ) -> None:
        self.index = index
        self.entity_id = entity_id
        self._error = error
        self._build = build

    @property
    def error(self) -> PipelinekitError:
        """The refusal as an exception (InvalidTransition, GuardFailed, ...)."""
        if self._error is None:
            assert self._build is not None
            self._error = self._build()
            self._build = None
        return self._error

    def __repr__(self) -> str:
        return (
            f"BulkFailure(index={self.index}, entity_id={self.entity_id!r}, error={self.error!r})"
        )


@attrs.frozen
class BulkResult(Generic[E]):
    """What a bulk move (:meth:`~pipelinekit.pipelines.Pipeline.bulk`) did: ``moved``
    holds the new entities (input order, refused ones left out), ``failures`` one
    :class:`BulkFailure` per refused entity."""

    moved: list[E] = attrs.field(repr=lambda v: f"<{len(v)} entities>")
    failures: list[BulkFailure] = attrs.field(repr=lambda v: f"<{len(v)} failures>")
    pipeline: str
    event: str
    closed_stages: frozenset[str] = frozenset()

    def events(self) -> Iterator[DomainEvent]:
        """The domain events of every move, derived from each moved entity's new history
        record (stage changed, then won / lost / reopened)."""
        for entity in self.moved:
            change = entity.history[-1]
            kind = "lead" if isinstance(entity, Lead) else "opportunity"
            yield StageChanged(
                kind,
                entity.id,
                change.at,
                self.pipeline,
                change.from_stage,
                change.to_stage,
                change.event,
                change.actor,
                change.note,
            )
            if isinstance(entity, Opportunity):
                if entity.outcome is Outcome.WON:
                    yield OpportunityWon(
                        kind, entity.id, change.at, self.pipeline, change.to_stage, change.actor
                    )
                elif entity.outcome is Outcome.LOST:
                    yield OpportunityLost(
                        kind,
                        entity.id,
                        change.at,
                        self.pipeline,
                        change.to_stage,
                        entity.lost_reason,
                        entity.competitor,
                        change.actor,
                    )
                elif change.from_stage in self.closed_stages:
                    yield OpportunityReopened(
                        kind,
                        entity.id,
                        change.at,
                        self.pipeline,
                        change.from_stage,
                        change.to_stage,
                        change.actor,
                    )
