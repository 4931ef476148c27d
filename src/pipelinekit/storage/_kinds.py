"""What storage needs to know about each entity kind: its name and its indexed values.

The kinds themselves are :mod:`pipelinekit.domain.kinds`; unchecked copies are
built by the one slot-level code generator, :mod:`pipelinekit._slots`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import attrs

from .._slots import replacer
from ..domain.kinds import KINDS
from ..domain.leads import Lead
from ..domain.opportunities import Opportunity
from ..domain.prospects import Prospect
from .queries import IndexRow, micros

Entity = Lead | Prospect | Opportunity
E = TypeVar("E", Lead, Prospect, Opportunity)


def _lead_row(e: Lead) -> IndexRow:
    score = e.qualification.score if e.qualification is not None else None
    return IndexRow(
        e.id,
        e.external_id,
        e.status,
        None,
        e.owner,
        None,
        None if score is None else float(score),
        micros(e.updated_at),
    )


def _prospect_row(e: Prospect) -> IndexRow:
    score = e.fit.score if e.fit is not None else None
    return IndexRow(
        e.id,
        e.external_id,
        e.persona,
        None,
        e.owner,
        None,
        None if score is None else float(score),
        micros(e.updated_at),
    )


def _opportunity_row(e: Opportunity) -> IndexRow:
    return IndexRow(
        e.id,
        e.external_id,
        e.stage,
        e.pipeline,
        e.owner,
        e.lead_id,
        float(e.probability),
        micros(e.updated_at),
    )


INDEX: dict[type, Callable[[Any], IndexRow]] = {
    Lead: _lead_row,
    Prospect: _prospect_row,
    Opportunity: _opportunity_row,
}
KIND_NAMES: dict[type, str] = {kind.cls: kind.name for kind in KINDS}


def with_version(entity: E, version: int) -> E:
    """A copy of ``entity`` with ``version`` set, skipping re-validation (nothing else changes)."""
    copy: E = replacer(type(entity), ("version",))(entity, version)
    return copy


def replace_unchecked(entity: E, **changes: Any) -> E:
    """A copy with ``changes`` set without validation (callers validate if it is kept)."""
    copy: E = replacer(type(entity), tuple(changes))(entity, *changes.values())
    return copy


def validated(entity: E) -> E:
    """Run the entity's checks again (after :func:`replace_unchecked`)."""
    return attrs.evolve(entity)
