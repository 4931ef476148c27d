"""Stage history: one record per successful move of a lead or opportunity."""

from __future__ import annotations

from datetime import datetime

import attrs

from ._checks import Checks

__all__ = ["StageChange"]


@attrs.frozen(init=False)
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

    def __init__(
        self,
        from_stage: str | None,
        to_stage: str,
        event: str,
        at: datetime,
        actor: str | None = None,
        note: str | None = None,
        pipeline: str | None = None,
    ) -> None:
        checks = Checks()
        checks.text("$.from_stage", from_stage, required=False, max_length=255)
        checks.text("$.to_stage", to_stage, required=True, max_length=255)
        checks.text("$.event", event, required=True, max_length=255)
        when = checks.aware("$.at", at)
        checks.text("$.actor", actor, required=False, max_length=200)
        checks.free_text("$.note", note)
        checks.text("$.pipeline", pipeline, required=False, max_length=100)
        checks.done(type(self))
        assert when is not None
        self.__attrs_init__(from_stage, to_stage, event, when, actor, note, pipeline)
