"""Time in stage, read from an entity's stage history."""

from __future__ import annotations

from datetime import datetime, timedelta

from ..clock import ensure_aware
from .kinds import moving_kind_of
from .leads import Lead
from .opportunities import Opportunity

__all__ = ["stage_durations", "time_in_stage"]


def stage_durations(entity: Lead | Opportunity, *, as_of: datetime) -> list[tuple[str, timedelta]]:
    """Time spent in each stage visit, from history: ``[(stage, duration), ...]`` in order;
    the current visit runs until ``as_of`` (timezone-aware)."""
    as_of = ensure_aware(as_of, "as_of")
    moving_kind_of(entity)
    out: list[tuple[str, timedelta]] = []
    history = entity.history
    for index, change in enumerate(history):
        end = history[index + 1].at if index + 1 < len(history) else as_of
        out.append((change.to_stage, end - change.at))
    return out


def time_in_stage(entity: Lead | Opportunity, *, as_of: datetime) -> timedelta:
    """How long ``entity`` has been in its current stage (since creation without history)."""
    as_of = ensure_aware(as_of, "as_of")
    moving_kind_of(entity)
    entered = entity.history[-1].at if entity.history else entity.created_at
    return as_of - entered
