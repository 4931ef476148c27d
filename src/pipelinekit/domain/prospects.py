"""The Prospect entity: a person or company that fits a buyer persona / ICP."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

import attrs

from ..clock import Clock, resolve_time
from ._checks import Checks
from ._entity import check_common
from .companies import Company
from .contacts import Person
from .custom import EMPTY, FrozenMap
from .ids import ProspectId, new_id
from .results import QualificationResult

__all__ = ["Prospect"]


@attrs.frozen(init=False)
class Prospect:
    """Whoever matches one of your buyer personas: a matter of *fit*, not of process.

    A prospect may exist without any lead (a target-account list); a lead
    links to its prospect through ``Lead.prospect_id``.  ``persona`` names the
    ICP / persona matched and ``fit`` keeps the result that showed the match.
    """

    id: ProspectId
    created_at: datetime
    updated_at: datetime
    persona: str
    person: Person | None = None
    company: Company | None = None
    fit: QualificationResult | None = None
    owner: str | None = None
    tags: frozenset[str] = frozenset()
    custom: FrozenMap = EMPTY
    external_id: str | None = None
    notes: str | None = attrs.field(default=None, repr=False)
    version: int = 0

    def __init__(
        self,
        id: ProspectId,
        created_at: datetime,
        updated_at: datetime,
        persona: str,
        person: Person | None = None,
        company: Company | None = None,
        fit: QualificationResult | None = None,
        owner: str | None = None,
        tags: Iterable[str] = frozenset(),
        custom: Mapping[str, object] | None = EMPTY,
        external_id: str | None = None,
        notes: str | None = None,
        version: int = 0,
    ) -> None:
        checks = Checks()
        common = check_common(
            checks, id, created_at, updated_at, version, owner, external_id, notes, tags, custom
        )
        checks.text("$.persona", persona, required=True, max_length=200)
        checks.instance("$.person", person, Person, optional=True)
        checks.instance("$.company", company, Company, optional=True)
        if person is None and company is None:
            checks.add("$", "a prospect needs a person, a company, or both")
        checks.instance("$.fit", fit, QualificationResult, optional=True)
        checks.done(type(self))
        self.__attrs_init__(
            id, common.created_at, common.updated_at, persona, person, company, fit, owner,
            common.tags, common.custom, external_id, notes, version,
        )  # fmt: skip

    @classmethod
    def create(
        cls,
        *,
        persona: str,
        person: Person | None = None,
        company: Company | None = None,
        fit: QualificationResult | None = None,
        owner: str | None = None,
        tags: Iterable[str] = (),
        custom: Mapping[str, object] | None = None,
        external_id: str | None = None,
        at: datetime | None = None,
        clock: Clock | None = None,
    ) -> Prospect:
        """Create a new prospect with a fresh id and both times set to ``at``."""
        now = resolve_time(at, clock)
        return cls(
            id=ProspectId(new_id(now)),
            created_at=now,
            updated_at=now,
            persona=persona,
            person=person,
            company=company,
            fit=fit,
            owner=owner,
            tags=tags,
            custom=custom,
            external_id=external_id,
        )

    def evolve(self, **changes: Any) -> Prospect:
        """Return a copy with ``changes`` applied and validated."""
        return attrs.evolve(self, **changes)
