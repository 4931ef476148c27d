"""The Lead entity: a contact or account not yet qualified."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import attrs

from ..clock import Clock, resolve_time
from ..qualification.results import QualificationResult
from ._checks import Checks, set_attr
from ._entity import check_common, check_tuple
from .companies import Company
from .contacts import Person
from .custom import EMPTY, FrozenMap
from .engagement import Event
from .history import StageChange
from .ids import LeadId, OpportunityId, ProspectId, new_id
from .sources import Source

__all__ = ["Lead"]


@attrs.frozen
class Lead:
    """A contact or account not yet qualified.

    A lead has a person, a company, or both.  ``status`` is its stage in the
    lead lifecycle pipeline (``new`` by default).  Leads are immutable: every
    change returns a new instance (see :meth:`evolve`); ``version`` counts the
    stored revisions and is managed by storage adapters.

    Build one with :meth:`create`, which assigns a sortable id and the times::

        lead = Lead.create(contact=Person.of("Ada", email="ada@example.com"), at=now)
    """

    id: LeadId
    created_at: datetime
    updated_at: datetime
    contact: Person | None = None
    company: Company | None = None
    source: Source | None = None
    status: str = "new"
    owner: str | None = None
    tags: frozenset[str] = frozenset()
    custom: FrozenMap = EMPTY
    external_id: str | None = None
    prospect_id: ProspectId | None = None
    opportunity_id: OpportunityId | None = None
    engagement: tuple[Event, ...] = ()
    qualification: QualificationResult | None = None
    history: tuple[StageChange, ...] = ()
    notes: str | None = attrs.field(default=None, repr=False)
    version: int = 0

    def __attrs_post_init__(self) -> None:
        checks = Checks()
        check_common(self, checks)
        checks.instance("$.contact", self.contact, Person, optional=True)
        checks.instance("$.company", self.company, Company, optional=True)
        if self.contact is None and self.company is None:
            checks.add("$", "a lead needs a contact, a company, or both")
        checks.instance("$.source", self.source, Source, optional=True)
        checks.text("$.status", self.status, required=True, max_length=100)
        checks.text("$.prospect_id", self.prospect_id, required=False, max_length=128)
        checks.text("$.opportunity_id", self.opportunity_id, required=False, max_length=128)
        engagement = check_tuple(checks, "$.engagement", self.engagement, Event)
        history = check_tuple(checks, "$.history", self.history, StageChange)
        checks.instance("$.qualification", self.qualification, QualificationResult, optional=True)
        checks.done(self)
        if engagement is not self.engagement:
            set_attr(self, "engagement", engagement)
        if history is not self.history:
            set_attr(self, "history", history)

    @classmethod
    def create(
        cls,
        *,
        contact: Person | None = None,
        company: Company | None = None,
        source: Source | None = None,
        owner: str | None = None,
        tags: Iterable[str] = (),
        custom: FrozenMap | dict[str, Any] | None = None,
        external_id: str | None = None,
        notes: str | None = None,
        at: datetime | None = None,
        clock: Clock | None = None,
    ) -> Lead:
        """Create a new lead with a fresh id, ``status="new"`` and both times set to ``at``."""
        now = resolve_time(at, clock)
        return cls(
            id=LeadId(new_id(now)),
            created_at=now,
            updated_at=now,
            contact=contact,
            company=company,
            source=source,
            owner=owner,
            tags=tags,  # type: ignore[arg-type]  # validated and frozen by the constructor
            custom=custom,  # type: ignore[arg-type]
            external_id=external_id,
            notes=notes,
        )

    def evolve(self, **changes: Any) -> Lead:
        """Return a copy with ``changes`` applied and validated (``version`` is left to storage)."""
        return attrs.evolve(self, **changes)
