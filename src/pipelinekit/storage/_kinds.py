"""What storage needs to know about each entity kind: its name and its indexed values."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import attrs

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
KIND_NAMES: dict[type, str] = {Lead: "lead", Prospect: "prospect", Opportunity: "opportunity"}


_COPIERS: dict[type, Callable[[Any], Any]] = {}


def _copier(cls: type) -> Callable[[Any], Any]:
    """A function copying every slot of a frozen attrs instance, without validation.

    ``copy.copy`` goes through ``__reduce_ex__`` and ``__setstate__`` (several
    times slower); bulk saves copy every entity once to set its new version.
    """
    names = tuple(a.name for a in attrs.fields(cls))
    new_, set_ = object.__new__, object.__setattr__

    def copy(old: Any) -> Any:
        new: Any = new_(cls)
        for name in names:
            set_(new, name, getattr(old, name))
        return new

    return copy


def with_version(entity: E, version: int) -> E:
    """A copy of ``entity`` with ``version`` set, skipping re-validation (nothing else changes)."""
    cls = type(entity)
    copier = _COPIERS.get(cls)
    if copier is None:
        copier = _COPIERS[cls] = _copier(cls)
    new: E = copier(entity)
    object.__setattr__(new, "version", version)
    return new


def replace_unchecked(entity: E, **changes: Any) -> E:
    """A copy with ``changes`` set without validation (callers validate if it is kept)."""
    new = with_version(entity, entity.version)
    for name, value in changes.items():
        object.__setattr__(new, name, value)
    return new


def validated(entity: E) -> E:
    """Run the entity's checks again (after :func:`replace_unchecked`)."""
    return attrs.evolve(entity)
