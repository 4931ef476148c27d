"""The three entity kinds: their names, and which of them move through pipelines.

Storage keys rows by kind name; pipelines move the kinds that have a stage
field (a lead's ``status`` in its lifecycle, an opportunity's ``stage``).
"""

from __future__ import annotations

import attrs

from ..errors import Problem, ValidationError
from .leads import Lead
from .opportunities import Opportunity
from .prospects import Prospect

__all__ = ["KINDS", "LEAD", "OPPORTUNITY", "PROSPECT", "EntityKind", "kind_of", "moving_kind_of"]


@attrs.frozen
class EntityKind:
    """How an entity class takes part in storage and pipelines.

    ``stage_field`` names the field that holds its pipeline stage (``None`` for
    a kind that does not move); ``closable`` kinds have an outcome, a close
    time and probability layers.
    """

    name: str
    cls: type[Lead] | type[Prospect] | type[Opportunity]
    stage_field: str | None
    closable: bool

    @property
    def moves(self) -> bool:
        """Whether entities of this kind move through pipelines."""
        return self.stage_field is not None


LEAD = EntityKind("lead", Lead, "status", closable=False)
PROSPECT = EntityKind("prospect", Prospect, None, closable=False)
OPPORTUNITY = EntityKind("opportunity", Opportunity, "stage", closable=True)
KINDS: tuple[EntityKind, ...] = (LEAD, PROSPECT, OPPORTUNITY)
_BY_CLASS: dict[type, EntityKind] = {kind.cls: kind for kind in KINDS}


def kind_of(entity: object) -> EntityKind:
    """The kind of ``entity``; :class:`~pipelinekit.ValidationError` for anything else."""
    try:
        return _BY_CLASS[type(entity)]
    except (KeyError, TypeError):
        raise ValidationError(
            "entity",
            [
                Problem(
                    "$.entity",
                    f"expected a Lead, Prospect or Opportunity, got {type(entity).__name__}",
                )
            ],
        ) from None


def moving_kind_of(entity: object) -> EntityKind:
    """The kind of a lead or opportunity; :class:`~pipelinekit.ValidationError` otherwise."""
    kind = _BY_CLASS.get(type(entity))
    if kind is None or not kind.moves:
        raise ValidationError(
            "entity",
            [
                Problem(
                    "$.entity",
                    "only Lead and Opportunity move through pipelines, "
                    f"got {type(entity).__name__}",
                )
            ],
        )
    return kind
