"""Stored domain events: a generic envelope, independent of the event classes.

Any domain event is stored as an :class:`EventRecord`: which entity it is
about, what happened (``kind``), when, and a JSON payload.  The store assigns
``seq``, a number increasing in append order, to read events incrementally.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import attrs

from ..domain._checks import Checks, set_attr

__all__ = ["ENTITY_KINDS", "EventRecord"]

#: The kinds of entity storage knows about.
ENTITY_KINDS = ("lead", "prospect", "opportunity")


@attrs.frozen
class EventRecord:
    """One stored domain event.

    ``entity_kind`` is ``lead``, ``prospect`` or ``opportunity``; ``kind`` names
    the event (``stage_changed``, ``won``...); ``payload`` is JSON-compatible
    data (it is copied on construction).  ``seq`` is ``None`` until stored.
    """

    entity_kind: str
    entity_id: str
    kind: str
    at: datetime
    payload: dict[str, Any] = attrs.field(factory=dict, hash=False, repr=False)
    seq: int | None = None

    def __attrs_post_init__(self) -> None:
        checks = Checks()
        if self.entity_kind not in ENTITY_KINDS:
            checks.add("$.entity_kind", f"must be one of {', '.join(ENTITY_KINDS)}")
        checks.text("$.entity_id", self.entity_id, required=True, max_length=128)
        checks.text("$.kind", self.kind, required=True, max_length=100)
        at = checks.aware("$.at", self.at)
        payload: Any = self.payload
        if not isinstance(payload, dict):
            checks.add("$.payload", f"must be a dict, got {type(payload).__name__}")
        else:
            try:
                payload = json.loads(json.dumps(payload, allow_nan=False))
            except (TypeError, ValueError) as error:
                checks.add("$.payload", f"must be JSON-compatible: {error}")
        if self.seq is not None and (not isinstance(self.seq, int) or self.seq < 1):
            checks.add("$.seq", f"must be an int >= 1 or None, got {self.seq!r}")
        checks.done(self)
        set_attr(self, "at", at)
        set_attr(self, "payload", payload)

    @classmethod
    def of(cls, event: Any) -> EventRecord:
        """The envelope of a domain event (such as ``pipelinekit.pipelines.StageChanged``).

        Takes any object with ``kind``, ``entity_kind``, ``entity_id``, ``at``
        and a ``payload()`` method returning JSON-ready data, so storage does
        not depend on the event classes.
        """
        if isinstance(event, EventRecord):
            return event
        missing = [
            name
            for name in ("kind", "entity_kind", "entity_id", "at", "payload")
            if not hasattr(event, name)
        ]
        if missing or not callable(event.payload):
            raise TypeError(
                f"{type(event).__name__} is not a domain event: it needs kind, entity_kind, "
                f"entity_id, at and payload() (missing: {', '.join(missing) or 'payload()'})"
            )
        return cls(event.entity_kind, event.entity_id, event.kind, event.at, event.payload())
