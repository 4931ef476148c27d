"""What a repository can be asked: filters, keyset pagination and pages of results.

Queries are immutable values.  Results are ordered by entity id (new ids are
UUIDv7, so this is creation order) and paginated by *keyset*: a page's
:attr:`Page.next` is the same query continuing after the last id returned,
which stays correct while rows are added or changed between pages (unlike
``OFFSET``)::

    query = LeadQuery(status="new", limit=500)
    while query is not None:
        page = uow.leads.find(query)
        ...
        query = page.next

Score bounds are inclusive and compare as IEEE doubles in every adapter (the
exact :class:`~decimal.Decimal` is kept in the stored entity).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Generic, NamedTuple, TypeVar

import attrs

from ..domain._checks import Checks
from ..domain.probability import Probability, check_probability

__all__ = ["LeadQuery", "OpportunityQuery", "Page", "ProspectQuery", "Query"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICRO = timedelta(microseconds=1)


def micros(value: datetime) -> int:
    """Microseconds since the Unix epoch of an aware datetime (exact, no float)."""
    return (value - _EPOCH) // _MICRO


@attrs.frozen(kw_only=True)
class Criteria:
    """The adapter-facing form of every query (one set of indexed columns for all kinds)."""

    stage: str | None = None
    pipeline: str | None = None
    owner: str | None = None
    lead_id: str | None = None
    min_score: float | None = None
    max_score: float | None = None
    updated_since: int | None = None
    after: str | None = None
    limit: int | None = None

    def matches(self, row: IndexRow) -> bool:
        """Whether one entity's index values pass the filters (not ``after``/``limit``)."""
        if self.stage is not None and row.stage != self.stage:
            return False
        if self.pipeline is not None and row.pipeline != self.pipeline:
            return False
        if self.owner is not None and row.owner != self.owner:
            return False
        if self.lead_id is not None and row.lead_id != self.lead_id:
            return False
        if self.min_score is not None and (row.score is None or row.score < self.min_score):
            return False
        if self.max_score is not None and (row.score is None or row.score > self.max_score):
            return False
        return self.updated_since is None or row.updated_us >= self.updated_since


class IndexRow(NamedTuple):
    """The indexed columns of one stored entity (shared by every adapter).

    A named tuple: adapters build one per saved entity, so it must be cheap.
    """

    id: str
    external_id: str | None
    stage: str
    pipeline: str | None
    owner: str | None
    lead_id: str | None
    score: float | None
    updated_us: int


def _check_common(self: Any, checks: Checks) -> None:
    checks.text("$.owner", self.owner, required=False, max_length=200)
    checks.aware("$.updated_since", self.updated_since, optional=True)
    checks.text("$.after", self.after, required=False, max_length=128)
    if self.limit is not None and (
        not isinstance(self.limit, int) or isinstance(self.limit, bool) or self.limit < 1
    ):
        checks.add("$.limit", f"must be an int >= 1 or None (no limit), got {self.limit!r}")


def _bound(checks: Checks, path: str, value: object) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        checks.add(path, f"must be a Decimal or an int, got {type(value).__name__}")
        return None
    if isinstance(value, Decimal) and not value.is_finite():
        checks.add(path, "must be a finite number")
        return None
    return float(value)


def _range(checks: Checks, lo_name: str, lo: object, hi_name: str, hi: object) -> None:
    low = _bound(checks, f"$.{lo_name}", lo)
    high = _bound(checks, f"$.{hi_name}", hi)
    if low is not None and high is not None and low > high:
        checks.add(f"$.{hi_name}", f"must be >= {lo_name} ({lo}), got {hi}")


def _criteria(self: Any, **extra: Any) -> Criteria:
    since = self.updated_since
    return Criteria(
        owner=self.owner,
        updated_since=None if since is None else micros(since),
        after=self.after,
        limit=self.limit,
        **extra,
    )


def _float(value: Decimal | int | None) -> float | None:
    return None if value is None else float(value)


@attrs.frozen(kw_only=True)
class Query:
    """Filters every repository understands; ``None`` means "any".

    ``updated_since`` is inclusive.  ``limit`` is the page size (``None``
    returns every match in one page); ``after`` is the keyset cursor (an
    entity id) and is normally taken from :attr:`Page.next`.
    """

    owner: str | None = None
    updated_since: datetime | None = None
    limit: int | None = 100
    after: str | None = None

    def __attrs_post_init__(self) -> None:
        checks = Checks()
        _check_common(self, checks)
        checks.done(self)

    def criteria(self) -> Criteria:
        """The adapter-facing form of this query."""
        return _criteria(self)


@attrs.frozen(kw_only=True)
class LeadQuery(Query):
    """Which leads to return: by lifecycle ``status``, owner, score range, update time."""

    status: str | None = None
    min_score: Decimal | int | None = None
    max_score: Decimal | int | None = None

    def __attrs_post_init__(self) -> None:
        checks = Checks()
        _check_common(self, checks)
        checks.text("$.status", self.status, required=False, max_length=100)
        _range(checks, "min_score", self.min_score, "max_score", self.max_score)
        checks.done(self)

    def criteria(self) -> Criteria:
        """The adapter-facing form of this query."""
        return _criteria(
            self,
            stage=self.status,
            min_score=_float(self.min_score),
            max_score=_float(self.max_score),
        )


@attrs.frozen(kw_only=True)
class ProspectQuery(Query):
    """Which prospects to return: by persona, owner, fit score range, update time."""

    persona: str | None = None
    min_score: Decimal | int | None = None
    max_score: Decimal | int | None = None

    def __attrs_post_init__(self) -> None:
        checks = Checks()
        _check_common(self, checks)
        checks.text("$.persona", self.persona, required=False, max_length=200)
        _range(checks, "min_score", self.min_score, "max_score", self.max_score)
        checks.done(self)

    def criteria(self) -> Criteria:
        """The adapter-facing form of this query."""
        return _criteria(
            self,
            stage=self.persona,
            min_score=_float(self.min_score),
            max_score=_float(self.max_score),
        )


@attrs.frozen(kw_only=True)
class OpportunityQuery(Query):
    """Which opportunities to return: by pipeline, stage, lead, owner, probability, update time.

    ``min_probability`` / ``max_probability`` are :class:`~pipelinekit.domain.Probability`
    values (``Probability.percent(50)``), so the unit is always said.
    """

    pipeline: str | None = None
    stage: str | None = None
    lead_id: str | None = None
    min_probability: Probability | None = None
    max_probability: Probability | None = None

    def __attrs_post_init__(self) -> None:
        checks = Checks()
        _check_common(self, checks)
        checks.text("$.pipeline", self.pipeline, required=False, max_length=100)
        checks.text("$.stage", self.stage, required=False, max_length=255)
        checks.text("$.lead_id", self.lead_id, required=False, max_length=128)
        low = check_probability(checks, "$.min_probability", self.min_probability)
        high = check_probability(checks, "$.max_probability", self.max_probability)
        if low is not None and high is not None and low > high:
            checks.add("$.max_probability", f"must be >= min_probability ({low}), got {high}")
        checks.done(self)

    def criteria(self) -> Criteria:
        """The adapter-facing form of this query."""
        return _criteria(
            self,
            stage=self.stage,
            pipeline=self.pipeline,
            lead_id=self.lead_id,
            min_score=None
            if self.min_probability is None
            else _float(self.min_probability.as_percent),
            max_score=None
            if self.max_probability is None
            else _float(self.max_probability.as_percent),
        )


E = TypeVar("E")
Q = TypeVar("Q", bound=Query)


@attrs.frozen
class Page(Generic[E, Q]):
    """One page of results, in id order.

    ``next`` is the query for the following page, or ``None`` when this is
    the last one.
    """

    items: tuple[E, ...]
    next: Q | None = None

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self) -> Iterator[E]:
        return iter(self.items)
