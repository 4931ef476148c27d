"""History records: one per stage move of a lead or opportunity, one per probability change."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import attrs

from ._checks import Checks, to_decimal

__all__ = ["PROBABILITY_LAYERS", "ProbabilityChange", "StageChange"]

#: The probability layers a person or a scorer sets (see ``ProbabilitySource``).
PROBABILITY_LAYERS = ("manual", "automated")


@attrs.frozen(init=False)
class StageChange:
    """A move from one stage to another.

    ``from_stage`` is ``None`` for the entry into the first stage.  ``event``
    names what caused the move (``advance``, ``win``, ``lose``, ``reopen``,
    ``move_to``...).  ``note`` is free text and counts as personal data for
    erasure.  Time in stage is derived from consecutive records.

    ``pipeline`` is the pipeline ``to_stage`` belongs to and ``from_pipeline``
    the one ``from_stage`` belongs to when they differ: a ``change_pipeline``
    record moves from ``from_stage`` of ``from_pipeline`` to ``to_stage`` of
    ``pipeline``, so every record says where the entity stood from then on.
    A record without a pipeline counts as in the entity's current pipeline.
    A history whose first record has a ``from_stage`` means the entity was in
    that stage from its creation.
    """

    from_stage: str | None
    to_stage: str
    event: str
    at: datetime
    actor: str | None = None
    note: str | None = attrs.field(default=None, repr=False)  # personal data: never in reprs
    pipeline: str | None = None
    from_pipeline: str | None = None

    def __init__(
        self,
        from_stage: str | None,
        to_stage: str,
        event: str,
        at: datetime,
        actor: str | None = None,
        note: str | None = None,
        pipeline: str | None = None,
        from_pipeline: str | None = None,
    ) -> None:
        checks = Checks()
        checks.text("$.from_stage", from_stage, required=False, max_length=255)
        checks.text("$.to_stage", to_stage, required=True, max_length=255)
        checks.text("$.event", event, required=True, max_length=255)
        when = checks.aware("$.at", at)
        checks.text("$.actor", actor, required=False, max_length=200)
        checks.free_text("$.note", note)
        checks.text("$.pipeline", pipeline, required=False, max_length=100)
        checks.text("$.from_pipeline", from_pipeline, required=False, max_length=100)
        checks.done(type(self))
        assert when is not None
        self.__attrs_init__(from_stage, to_stage, event, when, actor, note, pipeline, from_pipeline)


@attrs.frozen(init=False)
class ProbabilityChange:
    """A change of an opportunity's ``manual`` or ``automated`` probability layer.

    ``layer`` names the layer; ``from_value`` and ``to_value`` are the layer
    before and after (``None``: not set, or cleared), in the same form as
    ``Opportunity.manual_probability`` / ``automated_probability``.  Together
    with the stage history they say which probability was in force at any
    moment, so a forecast of a past moment uses it.
    """

    layer: str
    from_value: Decimal | None
    to_value: Decimal | None
    at: datetime
    actor: str | None = None

    def __init__(
        self,
        layer: str,
        from_value: Decimal | int | str | None,
        to_value: Decimal | int | str | None,
        at: datetime,
        actor: str | None = None,
    ) -> None:
        checks = Checks()
        if layer not in PROBABILITY_LAYERS:
            checks.add("$.layer", f"must be one of {', '.join(PROBABILITY_LAYERS)}, got {layer!r}")
        before = None if from_value is None else to_decimal(checks, "$.from_value", from_value)
        after = None if to_value is None else to_decimal(checks, "$.to_value", to_value)
        when = checks.aware("$.at", at)
        checks.text("$.actor", actor, required=False, max_length=200)
        checks.done(type(self))
        assert when is not None
        self.__attrs_init__(layer, before, after, when, actor)
