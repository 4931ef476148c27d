"""Setting an opportunity's probability layers and recomputing the effective probability."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from ...clock import Clock, resolve_time
from ...domain._checks import Checks
from ...domain.history import ProbabilityChange
from ...domain.opportunities import Opportunity
from ...domain.probability import Probability, check_probability
from ...errors import Problem, ValidationError
from ..events import DomainEvent, ProbabilityChanged
from ..machine import PipelineMachine
from ..outcomes import Moved

__all__ = ["Probabilities"]


class Probabilities(PipelineMachine):
    """An opportunity's probability layers."""

    def set_probability(
        self,
        opportunity: Opportunity,
        *,
        manual: Probability | None = None,
        automated: Probability | None = None,
        clear_manual: bool = False,
        actor: str | None = None,
        at: datetime | None = None,
        clock: Clock | None = None,
    ) -> Moved[Opportunity]:
        """Set the manual and/or automated probability layer (or clear the manual one) and
        recompute the effective probability; a closed opportunity stays at 100 / 0.
        Only opportunities have a probability: anything else is refused.  Each layer
        that changes is recorded in ``probability_history`` with ``at`` and ``actor``
        (in the canonical percent form, whichever unit it was given in).

        ``manual`` and ``automated`` are :class:`~pipelinekit.domain.Probability`
        values, so the unit is always said: ``manual=Probability.percent(35)`` or
        ``manual=Probability.fraction("0.35")``.  A bare number is refused with
        both spellings in the message (``0.35`` could mean either).
        """
        when = resolve_time(at, clock)
        if not isinstance(opportunity, Opportunity):
            raise ValidationError(
                "set_probability",
                [
                    Problem(
                        "$.opportunity",
                        f"only an Opportunity has a probability, got {type(opportunity).__name__}",
                    )
                ],
            )
        kind, stage = self.locate(opportunity, "set_probability")
        checks = Checks()
        values: dict[str, Decimal] = {}
        for name, raw in (("manual", manual), ("automated", automated)):
            given = check_probability(checks, f"$.{name}", raw)
            if given is not None:
                values[name] = given.as_percent
        checks.instance("$.clear_manual", clear_manual, bool, optional=False)
        if clear_manual and manual is not None:
            checks.add("$.clear_manual", "cannot both set and clear the manual probability")
        if checks.problems:
            raise ValidationError("set_probability", checks.problems)
        new_manual = None if clear_manual else values.get("manual", opportunity.manual_probability)
        new_automated = values.get("automated", opportunity.automated_probability)
        probability, origin = self.stages[stage].effective_probability(new_manual, new_automated)
        records = tuple(
            ProbabilityChange(layer, before, after, when, actor)
            for layer, before, after in (
                ("manual", opportunity.manual_probability, new_manual),
                ("automated", opportunity.automated_probability, new_automated),
            )
            if before != after
        )
        updated = opportunity.evolve(
            probability_history=(*opportunity.probability_history, *records),
            manual_probability=new_manual,
            automated_probability=new_automated,
            probability=probability,
            probability_source=origin,
            updated_at=when if when > opportunity.updated_at else opportunity.updated_at,
        )
        events: tuple[DomainEvent, ...] = ()
        if probability != opportunity.probability or origin != opportunity.probability_source:
            events = (
                ProbabilityChanged(
                    kind.name,
                    opportunity.id,
                    when,
                    opportunity.probability,
                    probability,
                    origin.value,
                    actor,
                ),
            )
        return Moved(updated, events, None)
