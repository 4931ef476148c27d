"""Stage history: one record per successful move of a lead or opportunity."""

from __future__ import annotations

from datetime import datetime

import attrs

from ._checks import Checks, set_attr

__all__ = ["StageChange"]


@attrs.frozen
class StageChange:
    """A move from one stage to another.

    ``from_stage`` is ``None`` for the entry into the first stage.  ``event``
    names what caused the move (``advance``, ``win``, ``lose``, ``reopen``,
    ``move_to``...).  ``note`` is free text and counts as personal data for
    erasure.  Time in stage is derived from consecutive records.
    """

    from_stage: str | None
    to_stage: str
    event: str
    at: datetime
    actor: str | None = None
    note: str | None = attrs.field(default=None, repr=False)  # personal data: never in reprs
    pipeline: str | None = None

    def __attrs_post_init__(self) -> None:
        checks = Checks()
        checks.text("$.from_stage", self.from_stage, required=False, max_length=100)
        checks.text("$.to_stage", self.to_stage, required=True, max_length=100)
        checks.text("$.event", self.event, required=True, max_length=100)
        at = checks.aware("$.at", self.at)
        checks.text("$.actor", self.actor, required=False, max_length=200)
        checks.free_text("$.note", self.note)
        checks.text("$.pipeline", self.pipeline, required=False, max_length=100)
        checks.done(self)
        if at is not self.at:
            set_attr(self, "at", at)
