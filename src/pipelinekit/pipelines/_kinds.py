"""Which entity classes move through pipelines, and through which field."""

from __future__ import annotations

import attrs

from ..domain.leads import Lead
from ..domain.opportunities import Opportunity
from ..errors import Problem, ValidationError


@attrs.frozen
class EntityKind:
    """How an entity class takes part in pipelines."""

    name: str
    cls: type
    stage_field: str
    closable: bool  # has outcome / closed_at / probability layers


LEAD = EntityKind("lead", Lead, "status", closable=False)
OPPORTUNITY = EntityKind("opportunity", Opportunity, "stage", closable=True)
_BY_CLASS = {Lead: LEAD, Opportunity: OPPORTUNITY}


def kind_of(entity: object) -> EntityKind:
    """The kind of ``entity``; ``ValidationError`` for anything that does not move."""
    try:
        return _BY_CLASS[type(entity)]
    except (KeyError, TypeError):
        raise ValidationError(
            "entity",
            [
                Problem(
                    "$.entity",
                    "only Lead and Opportunity move through pipelines, "
                    f"got {type(entity).__name__}",
                )
            ],
        ) from None
