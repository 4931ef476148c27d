"""Domain events produced by pipeline operations, for the app to collect and publish.

Every event is a frozen attrs class with ``kind`` (a class-level string),
``entity_kind`` (``lead`` / ``opportunity``), ``entity_id`` and ``at``, and
converts to a JSON-ready payload with :meth:`DomainEvent.payload` (storage
keeps events as an envelope: entity kind, entity id, event kind, time, payload).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, ClassVar

import attrs

__all__ = [
    "DomainEvent",
    "LeadConverted",
    "OpportunityLost",
    "OpportunityOpened",
    "OpportunityReopened",
    "OpportunityWon",
    "PipelineChanged",
    "ProbabilityChanged",
    "StageChanged",
]


def _json(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, tuple | list):
        return [_json(v) for v in value]
    return value


@attrs.frozen
class DomainEvent:
    """Base of all pipeline domain events."""

    kind: ClassVar[str] = "event"

    entity_kind: str
    entity_id: str
    at: datetime

    def payload(self) -> dict[str, Any]:
        """The event's own fields (without kind, entity and time) as JSON-ready data."""
        skip = {"entity_kind", "entity_id", "at"}
        return {
            f.name: _json(getattr(self, f.name))
            for f in attrs.fields(type(self))
            if f.name not in skip
        }

    def envelope(self) -> dict[str, Any]:
        """The storage envelope: entity kind and id, event kind, time and payload."""
        return {
            "entity_kind": self.entity_kind,
            "entity_id": self.entity_id,
            "kind": self.kind,
            "at": self.at.isoformat(),
            "payload": self.payload(),
        }


@attrs.frozen
class StageChanged(DomainEvent):
    """An entity moved from one stage to another (one per history record)."""

    kind: ClassVar[str] = "stage_changed"

    pipeline: str
    from_stage: str | None
    to_stage: str
    event: str
    actor: str | None = None
    note: str | None = attrs.field(default=None, repr=False)


@attrs.frozen
class OpportunityWon(DomainEvent):
    """An opportunity entered a won stage."""

    kind: ClassVar[str] = "opportunity_won"

    pipeline: str
    stage: str
    actor: str | None = None


@attrs.frozen
class OpportunityLost(DomainEvent):
    """An opportunity entered a lost stage, with the reason and competitor if known."""

    kind: ClassVar[str] = "opportunity_lost"

    pipeline: str
    stage: str
    reason: str | None = None
    competitor: str | None = None
    actor: str | None = None


@attrs.frozen
class OpportunityReopened(DomainEvent):
    """A closed opportunity was reopened into an open stage."""

    kind: ClassVar[str] = "opportunity_reopened"

    pipeline: str
    from_stage: str
    to_stage: str
    actor: str | None = None


@attrs.frozen
class OpportunityOpened(DomainEvent):
    """A new opportunity entered its pipeline's first stage."""

    kind: ClassVar[str] = "opportunity_opened"

    pipeline: str
    stage: str
    lead_id: str | None = None
    actor: str | None = None


@attrs.frozen
class ProbabilityChanged(DomainEvent):
    """The effective probability (or its source) changed."""

    kind: ClassVar[str] = "probability_changed"

    old: Decimal
    new: Decimal
    source: str
    actor: str | None = None


@attrs.frozen
class LeadConverted(DomainEvent):
    """A lead was converted into an opportunity (new or existing); ``forced`` if unqualified."""

    kind: ClassVar[str] = "lead_converted"

    opportunity_id: str
    into_existing: bool
    forced: bool
    from_stage: str
    actor: str | None = None


@attrs.frozen
class PipelineChanged(DomainEvent):
    """An opportunity moved to another pipeline with an explicit stage mapping."""

    kind: ClassVar[str] = "pipeline_changed"

    from_pipeline: str
    to_pipeline: str
    from_stage: str
    to_stage: str
    actor: str | None = None
