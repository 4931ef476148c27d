"""The Lead entity: a contact or account not yet qualified."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

import attrs

from ..clock import Clock, resolve_time
from ._checks import Checks
from ._entity import check_common, check_tuple
from .companies import Company
from .contacts import Person
from .custom import EMPTY, FrozenMap
from .engagement import Event
from .history import StageChange
from .ids import LeadId, OpportunityId, ProspectId, new_id
from .results import QualificationResult
from .sources import Source

__all__ = ["Lead"]


@attrs.frozen(init=False)
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

    def __init__(
        self,
        id: LeadId,
        created_at: datetime,
        updated_at: datetime,
        contact: Person | None = None,
        company: Company | None = None,
        source: Source | None = None,
        status: str = "new",
        owner: str | None = None,
        tags: Iterable[str] = frozenset(),
        custom: Mapping[str, object] | None = EMPTY,
        external_id: str | None = None,
        prospect_id: ProspectId | None = None,
        opportunity_id: OpportunityId | None = None,
        engagement: tuple[Event, ...] | list[Event] = (),
        qualification: QualificationResult | None = None,
        history: tuple[StageChange, ...] | list[StageChange] = (),
        notes: str | None = None,
        version: int = 0,
    ) -> None:
        checks = Checks()
        common = check_common(
            checks, id, created_at, updated_at, version, owner, external_id, notes, tags, custom
        )
        checks.instance("$.contact", contact, Person, optional=True)
        checks.instance("$.company", company, Company, optional=True)
        if contact is None and company is None:
            checks.add("$", "a lead needs a contact, a company, or both")
        checks.instance("$.source", source, Source, optional=True)
        checks.text("$.status", status, required=True, max_length=255)
        checks.text("$.prospect_id", prospect_id, required=False, max_length=128)
        checks.text("$.opportunity_id", opportunity_id, required=False, max_length=128)
        events = check_tuple(checks, "$.engagement", engagement, Event)
        moves = check_tuple(checks, "$.history", history, StageChange)
        checks.instance("$.qualification", qualification, QualificationResult, optional=True)
        checks.done(type(self))
        self.__attrs_init__(
            id, common.created_at, common.updated_at, contact, company, source, status, owner,
            common.tags, common.custom, external_id, prospect_id, opportunity_id, events,
            qualification, moves, notes, version,
        )  # fmt: skip

    @classmethod
    def create(
        cls,
        *,
        contact: Person | None = None,
        company: Company | None = None,
        source: Source | None = None,
        owner: str | None = None,
        tags: Iterable[str] = (),
        custom: Mapping[str, object] | None = None,
        external_id: str | None = None,
        notes: str | None = None,
        at: datetime | None = None,
        clock: Clock | None = None,
    ) -> Lead:
        """Create a new lead with a fresh id, ``status="new"`` and both times set to ``at``.

        Its history starts with the entry into ``new`` (event ``create``), so
        every report counts the lead from its creation."""
        now = resolve_time(at, clock)
        return cls(
            id=LeadId(new_id(now)),
            created_at=now,
            updated_at=now,
            contact=contact,
            company=company,
            source=source,
            owner=owner,
            tags=tags,
            custom=custom,
            external_id=external_id,
            notes=notes,
            history=(StageChange(None, "new", "create", now),),
        )

    def evolve(self, **changes: Any) -> Lead:
        """Return a copy with ``changes`` applied and validated (``version`` is left to storage)."""
        return attrs.evolve(self, **changes)
