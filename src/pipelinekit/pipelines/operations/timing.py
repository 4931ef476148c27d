"""Whether an entity has sat in its stage too long (the stage's ``rotting_days``)."""

from __future__ import annotations

from datetime import datetime, timedelta

from ...clock import ensure_aware
from ...domain.kinds import moving_kind_of
from ...domain.leads import Lead
from ...domain.opportunities import Opportunity
from ...domain.timing import time_in_stage
from ..machine import PipelineMachine, stage_of

__all__ = ["Timing"]


class Timing(PipelineMachine):
    """Time in stage against each stage's ``rotting_days``."""

    def is_rotting(self, entity: Lead | Opportunity, *, as_of: datetime) -> bool:
        """True when ``entity`` sits in an open stage longer than the stage's
        ``rotting_days`` (time in stage comes from its history)."""
        as_of = ensure_aware(as_of, "as_of")
        moving_kind_of(entity)
        stage = self.stages.get(stage_of(entity))
        if stage is None or stage.is_closed or stage.rotting_days is None:
            return False
        return time_in_stage(entity, as_of=as_of) > timedelta(days=stage.rotting_days)
