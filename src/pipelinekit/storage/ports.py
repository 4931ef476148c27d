"""The storage ports, one cohesive contract: repositories, stores, the unit of work, storage.

The domain never imports these; adapters implement them.  Each port is a small
template (Cosmic Python style): the public methods here do the checks and the
version arithmetic every adapter shares, and call a few ``_primitive`` methods
each adapter implements.  That keeps adapters narrow, and the shipped contract
suite (:mod:`pipelinekit.testing.contracts`) checks that they agree.

Optimistic concurrency: an entity's ``version`` is 0 until stored.  Saving
an entity writes it *only if* the stored version is still the one it was read
at; otherwise :class:`~pipelinekit.storage.errors.ConcurrencyConflict` is
raised and nothing changes.  On success the stored version is one higher and
the saved entity (with its new ``version``) is returned.
"""

from __future__ import annotations

import abc
import hashlib
import json
import random
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime
from types import TracebackType
from typing import Any, ClassVar, Generic, Self, TypeVar

import attrs

from ..analytics.ports import AnalyticsQueries
from ..clock import Clock, resolve_time
from ..domain._checks import Checks
from ..domain.history import StageChange
from ..domain.leads import Lead
from ..domain.opportunities import Opportunity
from ..domain.prospects import Prospect
from ..errors import PipelinekitError, Problem, ValidationError
from ..qualification.predictive import FrequencyRow, PredictiveStrategy, closed_outcome
from ..qualification.results import QualificationResult
from ..serialization import from_dict, to_dict
from ._kinds import INDEX, replace_unchecked, validated, with_version
from .erasure import ErasureReport, plan_erasure
from .errors import NotFound, ReadOnlyUnitOfWork, UnitOfWorkClosed
from .match_keys import match_keys
from .queries import (
    Criteria,
    IndexRow,
    LeadQuery,
    OpportunityQuery,
    Page,
    ProspectQuery,
    Query,
    micros,
)
from .records import ENTITY_KINDS, EventRecord

__all__ = [
    "AnalyticsQueries",
    "EventStore",
    "FrequencyStore",
    "LeadRepository",
    "OpportunityRepository",
    "ProspectRepository",
    "Repository",
    "ResultStore",
    "Storage",
    "StoredEntities",
    "StoredResult",
    "UnitOfWork",
]

E = TypeVar("E", Lead, Prospect, Opportunity)
Q = TypeVar("Q", bound=Query)
T = TypeVar("T")

# The library's own generator for retry jitter: the process-wide `random` state is the app's.
_JITTER = random.Random()


def result_fingerprint(doc: dict[str, Any]) -> str:
    """A stable digest of a result's stored form (the same result is stored once).

    64 bits of SHA-256: it tells apart the results of one subject (since storage
    schema version 7; 128 bits before).
    """
    text = json.dumps(doc, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def index_row(entity: Lead | Prospect | Opportunity) -> IndexRow:
    """The indexed values of an entity, as every adapter filters on them (see ``Criteria``)."""
    return INDEX[type(entity)](entity)


def result_of(entity: object) -> QualificationResult | None:
    """The qualification result an entity carries (``Lead.qualification``, ``Prospect.fit``)."""
    if isinstance(entity, Lead):
        return entity.qualification
    if isinstance(entity, Prospect):
        return entity.fit
    return None


class Repository(abc.ABC, Generic[E, Q]):
    """Stores and finds one kind of entity inside a :class:`UnitOfWork`.

    Obtain one from a unit of work (``uow.leads``); it is valid while the unit
    of work is open.
    """

    #: The entity class stored (``Lead``, ``Prospect`` or ``Opportunity``).
    entity_type: ClassVar[type]
    #: The entity kind's name (``lead``, ``prospect``, ``opportunity``).
    kind: ClassVar[str]
    #: The query class :meth:`find` takes.
    query_type: ClassVar[type[Query]]

    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    def __repr__(self) -> str:
        return f"<{type(self).__name__} of {self._uow!r}>"

    # -- reading -----------------------------------------------------------------------------

    def get(self, entity_id: str) -> E:
        """Return the stored entity with ``entity_id``; raise :class:`NotFound` if there is none."""
        found = self.lookup(entity_id)
        if found is None:
            raise NotFound(self.kind, entity_id)
        return found

    def lookup(self, entity_id: str) -> E | None:
        """Return the stored entity with ``entity_id``, or ``None``."""
        self._uow._check_open()
        return self._get(entity_id)

    def by_external_id(self, external_id: str) -> E | None:
        """Return the stored entity with this ``external_id`` (your system's id), or ``None``."""
        self._uow._check_open()
        return self._get_by_external_ids([external_id]).get(external_id)

    def by_external_ids(self, external_ids: Iterable[str]) -> dict[str, E]:
        """Return the stored entities among ``external_ids``, keyed by external id.

        Ids that match nothing are left out; one round trip per call, so an import
        can tell new rows from known ones a batch at a time.
        """
        self._uow._check_open()
        wanted = list(dict.fromkeys(external_ids))
        return self._get_by_external_ids(wanted) if wanted else {}

    def find(self, query: Q | None = None) -> Page[E, Q]:
        """Return one page of matching entities in id order (see :mod:`~.queries`)."""
        self._uow._check_open()
        q: Any = self._query(query)
        criteria = q.criteria()
        if criteria.limit is None:
            return Page(tuple(self._find(criteria)))
        rows = self._find(attrs.evolve(criteria, limit=criteria.limit + 1))
        if len(rows) <= criteria.limit:
            return Page(tuple(rows))
        items = tuple(rows[: criteria.limit])
        return Page(items, attrs.evolve(q, after=items[-1].id))

    def iterate(self, query: Q | None = None, *, batch: int = 1000) -> Iterator[E]:
        """Yield every match in id order, loading ``batch`` at a time (keyset pages).

        For exports and reports over more entities than should sit in memory
        at once; ``query.limit`` is replaced by ``batch``.
        """
        if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
            raise ValidationError(
                "iterate", [Problem("$.batch", f"must be an int >= 1, got {batch!r}")]
            )
        return StoredEntities(self, self._query(query), batch)

    def count(self, query: Q | None = None) -> int:
        """How many entities match ``query`` (its ``limit`` and ``after`` are ignored)."""
        self._uow._check_open()
        criteria = attrs.evolve(self._query(query).criteria(), limit=None, after=None)
        return self._count(criteria)

    def count_by_stage(self, query: Q | None = None) -> dict[str, int]:
        """Matching entities per stage (lead status, prospect persona, opportunity stage).

        The stage filter of ``query`` (if any) still applies; stages with no
        entity are absent.  For opportunities, filter by ``pipeline`` to keep
        pipelines apart.
        """
        self._uow._check_open()
        criteria = attrs.evolve(self._query(query).criteria(), limit=None, after=None)
        return self._count_by_stage(criteria)

    # -- writing -----------------------------------------------------------------------------

    def save(self, entity: E) -> E:
        """Store ``entity`` (insert at version 0, else update) and return it with its new version.

        Raises :class:`ConcurrencyConflict` if the stored version is not
        ``entity.version`` and :class:`DuplicateExternalId` if another entity
        holds its external id; nothing is written then.
        """
        return self.save_all([entity])[0]

    def save_all(self, entities: Iterable[E]) -> list[E]:
        """Save many entities at once (batched); all are written or, on any error, none."""
        self._uow._check_writable()
        items = self._checked(entities)
        if not items:
            return []
        saved = [with_version(e, e.version + 1) for e in items]
        inserts = [e for e in saved if e.version == 1]
        updates = [(e.version - 1, e) for e in saved if e.version > 1]
        self._store(inserts, updates)
        return saved

    def upsert(self, entity: E) -> E:
        """Insert ``entity``, or update the stored one with the same ``external_id``.

        Idempotent: upserting the same content again (``updated_at`` aside)
        writes nothing and returns the stored entity.  When one is stored, its ``id``,
        ``created_at`` and ``version`` are kept (the given ones are ignored),
        so re-running an import never duplicates.  Use the returned entity's id.
        """
        return self.upsert_all([entity])[0]

    def upsert_all(self, entities: Iterable[E]) -> list[E]:
        """:meth:`upsert` many entities in one batch (all or nothing); results in input order."""
        self._uow._check_writable()
        items = self._checked(entities, by_external_id=True)
        if not items:
            return []
        stored = self._get_by_external_ids([e.external_id for e in items if e.external_id])
        results: list[E] = []
        inserts: list[E] = []
        updates: list[tuple[int, E]] = []
        for entity in items:
            old = stored.get(entity.external_id) if entity.external_id else None
            if old is None:
                new = with_version(entity, 1)
                inserts.append(new)
            else:
                candidate = replace_unchecked(
                    entity, id=old.id, created_at=old.created_at, version=old.version
                )
                if replace_unchecked(candidate, updated_at=old.updated_at) == old:
                    results.append(old)  # nothing but the time changed: keep the stored one
                    continue
                new = with_version(validated(candidate), old.version + 1)
                updates.append((old.version, new))
            results.append(new)
        if inserts or updates:
            self._store(inserts, updates)
        return results

    def delete(self, entity: E) -> None:
        """Delete the stored ``entity`` and its stage history if still at ``entity.version``.

        Stored qualification results and domain events about it are kept.
        """
        self._uow._check_writable()
        self._checked([entity])
        if entity.version == 0:
            raise NotFound(self.kind, entity.id)
        self._delete(entity.id, entity.version)

    # -- helpers -----------------------------------------------------------------------------

    def _store(self, inserts: list[E], updates: list[tuple[int, E]]) -> None:
        """``_write``, and the followed predictive models' counts of deals (and leads) whose
        outcome changed.

        The counting is planned (and validated) before anything is written, and
        applied after the write succeeded, in the same unit of work.
        """
        frequencies = getattr(self._uow, "frequencies", None)
        if self.kind == "prospect" or not isinstance(frequencies, FrequencyStore):
            self._write(inserts, updates)
            return
        if not frequencies.followed:
            self._write(inserts, updates)
            return
        plan: list[_Step] = []
        for entity in inserts:
            plan.extend(frequencies._plan(None, entity))
        for _expected, entity in updates:
            plan.extend(frequencies._plan(self._get(entity.id), entity))
        self._write(inserts, updates)
        for model, keys, won, delta in plan:
            frequencies._add(model, keys, won, delta)

    def _query(self, query: Q | None) -> Query:
        if query is None:
            return self.query_type()
        if not isinstance(query, self.query_type):
            raise TypeError(
                f"{type(self).__name__}.find() takes a {self.query_type.__name__}, "
                f"not {type(query).__name__}"
            )
        return query

    def _checked(self, entities: Iterable[E], *, by_external_id: bool = False) -> list[E]:
        items = list(entities)
        problems: list[Problem] = []
        ids: dict[str, int] = {}
        externals: dict[str, int] = {}
        for index, entity in enumerate(items):
            if type(entity) is not self.entity_type:
                raise TypeError(
                    f"{type(self).__name__} stores {self.entity_type.__name__} objects, "
                    f"got {type(entity).__name__} at index {index}"
                )
            if entity.id in ids:
                problems.append(Problem(f"$[{index}].id", f"duplicates $[{ids[entity.id]}].id"))
            ids.setdefault(entity.id, index)
            ext = entity.external_id
            if ext is None:
                if by_external_id:
                    problems.append(Problem(f"$[{index}].external_id", "is required to upsert"))
                continue
            if ext in externals:
                problems.append(
                    Problem(
                        f"$[{index}].external_id", f"duplicates $[{externals[ext]}].external_id"
                    )
                )
            externals.setdefault(ext, index)
        if problems:
            raise ValidationError(f"batch of {self.entity_type.__name__}", problems)
        return items

    # -- what each adapter implements --------------------------------------------------------

    @abc.abstractmethod
    def _get(self, entity_id: str) -> E | None:
        """Return the entity with this id (as this unit of work sees it) or ``None``."""

    @abc.abstractmethod
    def _get_by_external_ids(self, external_ids: Sequence[str]) -> dict[str, E]:
        """Return the stored entities holding these external ids, keyed by external id."""

    @abc.abstractmethod
    def _find(self, criteria: Criteria) -> list[E]:
        """Return matches with id > ``criteria.after`` in id order, at most ``criteria.limit``."""

    @abc.abstractmethod
    def _count(self, criteria: Criteria) -> int:
        """Count the matches (``after`` and ``limit`` are None)."""

    @abc.abstractmethod
    def _count_by_stage(self, criteria: Criteria) -> dict[str, int]:
        """Count the matches per stage column."""

    @abc.abstractmethod
    def _write(self, inserts: list[E], updates: list[tuple[int, E]]) -> None:
        """Atomically insert (stored version must not exist) and update (stored version must be
        the given one) these entities, which already carry their new version; also store their
        stage history and record their qualification result.  Inserts go first, then updates,
        in order; the first failure raises and leaves nothing written."""

    @abc.abstractmethod
    def _delete(self, entity_id: str, expected_version: int) -> None:
        """Delete the entity if stored at ``expected_version``, else raise ConcurrencyConflict."""


class _HistoryMixin(Generic[E, Q], Repository[E, Q]):
    def history(self, entity_id: str) -> tuple[StageChange, ...]:
        """The stored stage history of ``entity_id``, oldest first (empty if it has none)."""
        self._uow._check_open()
        return tuple(self._history(entity_id))

    def stage_changes(
        self,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        to_stage: str | None = None,
        pipeline: str | None = None,
    ) -> list[tuple[str, StageChange]]:
        """Every stored move of every entity, as ``(entity_id, change)``, for transition reports.

        ``since`` is inclusive and ``until`` exclusive; ordered by time, then
        entity id, then position in the entity's history.
        """
        self._uow._check_open()
        checks = Checks()
        low = checks.aware("$.since", since, optional=True)
        high = checks.aware("$.until", until, optional=True)
        checks.done(self)
        return self._stage_changes(
            None if low is None else micros(low),
            None if high is None else micros(high),
            to_stage,
            pipeline,
        )

    @abc.abstractmethod
    def _history(self, entity_id: str) -> list[StageChange]:
        """Read the stage-history rows of one entity in order."""

    @abc.abstractmethod
    def _stage_changes(
        self, since: int | None, until: int | None, to_stage: str | None, pipeline: str | None
    ) -> list[tuple[str, StageChange]]:
        """Read matching history rows (times in epoch microseconds) in (at, id, seq) order."""


class LeadRepository(_HistoryMixin[Lead, LeadQuery]):
    """Leads: by id, external id, lifecycle status, owner, score range and update time."""

    entity_type = Lead
    kind = "lead"
    query_type = LeadQuery


class ProspectRepository(Repository[Prospect, ProspectQuery]):
    """Prospects: by id, external id, persona, owner, fit-score range and update time."""

    entity_type = Prospect
    kind = "prospect"
    query_type = ProspectQuery


class OpportunityRepository(_HistoryMixin[Opportunity, OpportunityQuery]):
    """Opportunities: by id, external id, pipeline and stage, lead, owner, probability, time."""

    entity_type = Opportunity
    kind = "opportunity"
    query_type = OpportunityQuery


class StoredEntities(Iterator[E]):
    """What :meth:`Repository.iterate` returns: an iterator over the stored matches.

    It also tells which repository, query and batch it reads, so a consumer
    of the whole sequence (``uow.frequencies.rebuild``) can read the stored
    rows itself, as long as nothing was taken from the iterator yet.
    """

    def __init__(self, repository: Repository[E, Any], query: Any, batch: int) -> None:
        self.repository: Repository[E, Any] = repository
        self.query = query
        self.batch = batch
        self.started = False
        self._pages: Iterator[E] | None = None

    def __iter__(self) -> Self:
        return self

    def __next__(self) -> E:
        if self._pages is None:
            self.started = True
            self._pages = self._read()
        return next(self._pages)

    def _read(self) -> Iterator[E]:
        page_query: Any = attrs.evolve(self.query, limit=self.batch)
        while page_query is not None:
            page = self.repository.find(page_query)
            yield from page.items
            page_query = page.next


@attrs.frozen
class StoredResult:
    """A qualification result as stored for one subject (``doc`` is its ``to_dict`` form)."""

    subject_kind: str
    subject_id: str
    fingerprint: str
    doc: dict[str, Any] = attrs.field(hash=False, repr=False)

    @classmethod
    def of(cls, subject_kind: str, subject_id: str, result: QualificationResult) -> StoredResult:
        """Prepare ``result`` for storing."""
        doc = to_dict(result)
        return cls(subject_kind, subject_id, result_fingerprint(doc), doc)

    @classmethod
    def from_doc(cls, subject_kind: str, subject_id: str, doc: dict[str, Any]) -> StoredResult:
        """Prepare an already serialised result for storing."""
        return cls(subject_kind, subject_id, result_fingerprint(doc), doc)

    def result(self) -> QualificationResult:
        """The stored result, exactly as computed."""
        return from_dict(QualificationResult, self.doc)


class ResultStore(abc.ABC):
    """Qualification results with their breakdowns, stored exactly as computed.

    Saving a lead with a ``qualification`` (or a prospect with a ``fit``)
    records that result automatically; :meth:`add` stores others (previews,
    results of other strategies).  The same result for the same subject is
    stored once.
    """

    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    def add(self, subject_kind: str, subject_id: str, result: QualificationResult) -> None:
        """Store ``result`` for the subject (a no-op if it is already stored)."""
        self._uow._check_writable()
        checks = Checks()
        if subject_kind not in ENTITY_KINDS:
            checks.add("$.subject_kind", f"must be one of {', '.join(ENTITY_KINDS)}")
        checks.text("$.subject_id", subject_id, required=True, max_length=128)
        checks.instance("$.result", result, QualificationResult, optional=False)
        if checks.problems:
            raise ValidationError("qualification result", checks.problems)
        self._add([StoredResult.of(subject_kind, subject_id, result)])

    def for_subject(self, subject_kind: str, subject_id: str) -> list[QualificationResult]:
        """Every result stored for the subject, in the order they were first stored."""
        self._uow._check_open()
        _check_kind(subject_kind, "$.subject_kind")
        return [stored.result() for stored in self._for_subject(subject_kind, subject_id)]

    def latest(self, subject_kind: str, subject_id: str) -> QualificationResult | None:
        """The result stored last for the subject, or ``None``."""
        results = self.for_subject(subject_kind, subject_id)
        return results[-1] if results else None

    @abc.abstractmethod
    def _add(self, items: list[StoredResult]) -> None:
        """Store these results, skipping any (subject, fingerprint) already stored."""

    @abc.abstractmethod
    def _for_subject(self, subject_kind: str, subject_id: str) -> list[StoredResult]:
        """The subject's stored results in storing order."""

    @abc.abstractmethod
    def _replace(self, old: StoredResult, new: StoredResult) -> None:
        """Replace one stored result's content in place (used by erasure)."""


class EventStore(abc.ABC):
    """Domain events as generic :class:`EventRecord` envelopes, appended in order."""

    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    def append(self, record: Any) -> EventRecord:
        """Store one event and return its record with its ``seq``.

        ``record`` is an :class:`EventRecord` or a domain event (see
        :meth:`EventRecord.of`), such as the ``events`` a pipeline move returns.
        """
        return self.append_all([record])[0]

    def append_all(self, records: Iterable[Any]) -> list[EventRecord]:
        """Store events (records or domain events) in order; return records with ``seq``."""
        self._uow._check_writable()
        items = [EventRecord.of(record) for record in records]
        if not items:
            return []
        seqs = self._append(items)
        return [attrs.evolve(r, seq=s) for r, s in zip(items, seqs, strict=True)]

    def read(
        self,
        *,
        entity_kind: str | None = None,
        entity_id: str | None = None,
        after: int | None = None,
        limit: int | None = None,
    ) -> list[EventRecord]:
        """Events in ``seq`` order, optionally of one entity, after ``seq`` ``after``."""
        self._uow._check_open()
        if entity_kind is not None:
            _check_kind(entity_kind)
        if limit is not None and (
            isinstance(limit, bool) or not isinstance(limit, int) or limit < 1
        ):
            raise ValidationError(
                "read", [Problem("$.limit", f"must be an int >= 1 or None, got {limit!r}")]
            )
        return self._read(entity_kind, entity_id, after, limit)

    @abc.abstractmethod
    def _append(self, records: list[EventRecord]) -> list[int]:
        """Store the records and return their new ``seq`` numbers."""

    @abc.abstractmethod
    def _read(
        self, entity_kind: str | None, entity_id: str | None, after: int | None, limit: int | None
    ) -> list[EventRecord]:
        """Read records in seq order."""

    @abc.abstractmethod
    def _replace_payload(self, seq: int, payload: dict[str, Any]) -> None:
        """Overwrite one stored event's payload (used by erasure)."""


_Key = tuple[str | None, str, str]
_Step = tuple[str, list[_Key], bool, int]


class FrequencyStore(abc.ABC):
    """The won/lost counts of predictive models, kept in storage and updated in the unit of work.

    Each model (a :func:`~pipelinekit.qualification.predictive` strategy) keeps
    its :class:`~pipelinekit.qualification.predictive.FrequencyRow` rows under
    its ``name``.  :meth:`follow` a model in a unit of work and every
    opportunity saved in it whose outcome changes (won, lost, reopened), and
    every lead disqualified or requalified (a lost lead, as Odoo counts it),
    updates the counts in the same transaction, before anything is scored
    again, as Odoo does on won and lost.  :meth:`trained` gives the model with the
    stored counts; :meth:`rebuild` recounts them from the deals' history.

    The stored counts always equal a rebuild from the stored deals: a deal
    counted once is taken back when it is reopened (or when a closed deal's
    counted values change) before it is counted again.
    """

    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow
        self._followed: dict[str, PredictiveStrategy] = {}

    @property
    def followed(self) -> tuple[PredictiveStrategy, ...]:
        """The models this unit of work keeps up to date as deals are saved."""
        return tuple(self._followed.values())

    def follow(self, strategy: PredictiveStrategy) -> None:
        """Keep ``strategy``'s stored counts up to date as this unit of work saves deals."""
        self._uow._check_writable()
        self._followed[_model(strategy)] = strategy

    def rows(self, model: str) -> list[FrequencyRow]:
        """The stored rows of ``model`` (a strategy's name), by segment, field and value."""
        self._uow._check_open()
        if not isinstance(model, str) or not model.strip() or len(model) > 200:
            raise ValidationError(
                "frequencies", [Problem("$.model", f"must be a model name, got {model!r}")]
            )
        return sorted(self._rows(model), key=lambda r: (r.segment or "", r.field, r.value))

    def trained(self, strategy: PredictiveStrategy) -> PredictiveStrategy:
        """A copy of ``strategy`` holding the stored counts (score with it)."""
        return strategy.with_rows(self.rows(_model(strategy)))

    def record(
        self, strategy: PredictiveStrategy, deal: Any, *, won: bool, stage: str | None = None
    ) -> None:
        """Count one deal that was just won or lost (see ``PredictiveStrategy.record``)."""
        self._uow._check_writable()
        self._add(_model(strategy), _counted(strategy, deal, won, stage), won, 1)

    def forget(
        self, strategy: PredictiveStrategy, deal: Any, *, won: bool, stage: str | None = None
    ) -> None:
        """Take back one counted outcome (see ``PredictiveStrategy.forget``)."""
        self._uow._check_writable()
        self._add(_model(strategy), _counted(strategy, deal, won, stage), won, -1)

    def rebuild(self, strategy: PredictiveStrategy, deals: Iterable[Any]) -> int:
        """Replace the stored counts by those of the closed ``deals``; return how many counted.

        ``deals`` is typically every stored opportunity (``uow.opportunities.iterate()``)
        closed since a start date: Odoo's nightly recount.
        """
        self._uow._check_writable()
        model = _model(strategy)
        fresh = strategy.untrained()
        counted = self._learn(fresh, deals)
        self._replace(model, fresh.table.rows())
        return counted

    def _plan(self, before: Any, after: Any) -> list[_Step]:
        steps: list[_Step] = []
        for model, strategy in self._followed.items():
            old, new = _contribution(strategy, before), _contribution(strategy, after)
            if old == new:
                continue
            if old is not None:
                steps.append((model, old[1], old[0], -1))
            if new is not None:
                steps.append((model, new[1], new[0], 1))
        return steps

    def _learn(self, fresh: PredictiveStrategy, deals: Iterable[Any]) -> int:
        """Count ``deals`` into ``fresh`` (a storage may read its own stored rows faster)."""
        return fresh.learn(deals)

    @abc.abstractmethod
    def _models(self) -> list[str]:
        """The names of the models that have rows, as this unit of work sees them."""

    @abc.abstractmethod
    def _rows(self, model: str) -> list[FrequencyRow]:
        """The model's rows as this unit of work sees them."""

    @abc.abstractmethod
    def _add(self, model: str, keys: list[_Key], won: bool, delta: int) -> None:
        """``FrequencyTable.add`` on the model's stored rows (each key once)."""

    @abc.abstractmethod
    def _replace(self, model: str, rows: list[FrequencyRow]) -> None:
        """Replace every row of the model by ``rows``."""


def _model(strategy: Any) -> str:
    if not isinstance(strategy, PredictiveStrategy):
        raise ValidationError(
            "frequencies",
            [
                Problem(
                    "$.strategy", f"must be a predictive strategy, got {type(strategy).__name__}"
                )
            ],
        )
    if len(strategy.name) > 200:
        raise ValidationError("frequencies", [Problem("$.strategy.name", "is longer than 200")])
    return strategy.name


def _contribution(strategy: PredictiveStrategy, deal: Any) -> tuple[bool, list[_Key]] | None:
    if deal is None:
        return None
    outcome = closed_outcome(deal)
    if outcome is None:
        return None
    won = outcome == "won"
    return won, sorted(_counted(strategy, deal, won, None), key=lambda k: (k[0] or "", k[1], k[2]))


#: The longest segment, field and value a storage keeps.
_KEY_LIMITS = (("segment", 255), ("field", 255), ("value", 1000))


def _counted(strategy: PredictiveStrategy, deal: Any, won: bool, stage: str | None) -> list[_Key]:
    keys = strategy.counted(deal, won=won, stage=stage)
    problems = [
        Problem(f"$.{name}", f"{text[:40]!r}... is longer than {limit} characters")
        for key in keys
        for (name, limit), text in zip(_KEY_LIMITS, key, strict=True)
        if text is not None and len(text) > limit
    ]
    if problems:
        raise ValidationError("frequencies", problems)
    return keys


def _check_kind(kind: str, path: str = "$.entity_kind") -> None:
    if kind not in ENTITY_KINDS:
        raise ValidationError(
            "entity kind",
            [Problem(path, f"must be one of {', '.join(ENTITY_KINDS)}, got {kind!r}")],
        )


class UnitOfWork(abc.ABC):
    """One atomic piece of work against storage: a context manager.

    Changes are committed only by :meth:`commit`; leaving the ``with`` block
    without committing (or with an exception) rolls back whatever was not
    committed.  ``commit()`` may be called several times (one transaction
    per batch of an import, for example)::

        with storage.unit_of_work() as uow:
            lead = uow.leads.get(lead_id)
            uow.leads.save(lead.evolve(owner="sam", updated_at=now))
            uow.commit()
    """

    leads: LeadRepository
    prospects: ProspectRepository
    opportunities: OpportunityRepository
    events: EventStore
    results: ResultStore
    frequencies: FrequencyStore

    _state: str = "new"
    #: Whether this unit of work refuses writes (see :meth:`Storage.unit_of_work`).
    read_only: bool = False

    def __enter__(self) -> Self:
        if self._state != "new":
            raise UnitOfWorkClosed("a unit of work can be entered only once; create a new one")
        self._begin()
        self._state = "open"
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if self._state == "open":
                self._rollback()
        finally:
            self._state = "closed"
            self._end()

    def commit(self) -> None:
        """Make every change since the last commit durable and visible to others."""
        self._check_open()
        self._commit()

    def rollback(self) -> None:
        """Discard every change since the last commit."""
        self._check_open()
        self._rollback()

    def records_by_match_keys(self, keys: Iterable[str]) -> list[Lead | Prospect | Opportunity]:
        """The stored records (uncommitted writes of this unit of work included) indexed under
        at least one of ``keys``, each once, in no particular order.

        The keys are those :func:`~pipelinekit.storage.match_keys.match_keys`
        gives (``email:...``, ``domain:...``, ``phone:...``): a duplicate
        check asks for the records sharing one with the record checked.  The
        built-in adapters read an index; this default, which third-party
        adapters inherit, reads every record and keeps those that share a key.
        """
        wanted = frozenset(keys)
        if not wanted:
            return []
        found: list[Lead | Prospect | Opportunity] = []
        for repository in (self.leads, self.prospects, self.opportunities):
            found.extend(e for e in repository.iterate() if not match_keys(e).isdisjoint(wanted))
        return found

    def erase_personal_data(
        self, lead_id: str, *, at: datetime | None = None, clock: Clock | None = None
    ) -> ErasureReport:
        """Remove a lead's personal data everywhere it was copied; keep the non-personal facts.

        Rewrites the lead, its prospect and its opportunities (each gets a new
        version and ``updated_at``), their stored qualification results and
        domain events, and appends a ``personal_data_erased`` event for the
        lead; :mod:`pipelinekit.storage.erasure` says what counts as personal.
        Raises :class:`~pipelinekit.storage.errors.NotFound` for an unknown
        lead.  Takes effect on :meth:`commit`.

        A lead that took part in a merge (:func:`pipelinekit.dedupe.merge`) is
        the same person as the others: the leads merged into it (listed by its
        ``merged`` events) and the lead it was merged into (its ``merged_into``
        custom field) are erased too, and theirs in turn.  The report is the
        one of ``lead_id``.
        """
        self._check_writable()
        now = resolve_time(at, clock)
        report = self._erase(lead_id, now)
        seen = {lead_id}
        queue = self._merge_partners(lead_id)
        while queue:
            other = queue.pop()
            if other in seen or self.leads.lookup(other) is None:
                continue
            seen.add(other)
            self._erase(other, now)
            queue.extend(self._merge_partners(other))
        return report

    def _merge_partners(self, lead_id: str) -> list[str]:
        """The leads merged into ``lead_id`` and the one it was merged into."""
        found = [
            str(other)
            for event in self.events.read(entity_kind="lead", entity_id=lead_id)
            if event.kind == "merged" and isinstance(event.payload.get("merged"), list)
            for other in event.payload["merged"]
        ]
        lead = self.leads.lookup(lead_id)
        into = lead.custom.get("merged_into") if lead is not None else None
        if isinstance(into, str):
            found.append(into)
        return found

    def _erase(self, lead_id: str, now: datetime) -> ErasureReport:
        lead = self.leads.get(lead_id)
        prospect = self.prospects.lookup(lead.prospect_id) if lead.prospect_id else None
        linked = self.opportunities.find(OpportunityQuery(lead_id=lead_id, limit=None)).items
        deals = {opp.id: opp for opp in linked}
        if lead.opportunity_id and lead.opportunity_id not in deals:
            other = self.opportunities.lookup(lead.opportunity_id)
            if other is not None:
                deals[other.id] = other
        erasure = plan_erasure(lead, prospect, deals.values(), now=now)
        # Results first, so saving the erased entities finds their result already stored.
        results = events = 0
        for kind, entity_id in erasure.subjects:
            for stored in self.results._for_subject(kind, entity_id):
                doc = erasure.result_doc(stored.doc)
                if doc != stored.doc:
                    self.results._replace(stored, type(stored).from_doc(kind, entity_id, doc))
                    results += 1
        for kind, entity_id in erasure.subjects:
            for record in self.events.read(entity_kind=kind, entity_id=entity_id):
                payload = erasure.event_payload(record.payload)
                if payload != record.payload:
                    assert record.seq is not None  # stored events always carry their seq
                    self.events._replace_payload(record.seq, payload)
                    events += 1
        self.leads.save(erasure.lead)
        if erasure.prospect is not None:
            self.prospects.save(erasure.prospect)
        for opp in erasure.opportunities:
            self.opportunities.save(opp)
        # After the saves: the models followed here have moved the erased deals' counts.
        for model in self.frequencies._models():
            rows = erasure.frequency_rows(self.frequencies._rows(model))
            if rows is not None:
                self.frequencies._replace(model, rows)
        self.events.append(EventRecord("lead", lead.id, "personal_data_erased", now, {}))
        self._erased()
        return ErasureReport(
            lead.id,
            () if prospect is None else (prospect.id,),
            tuple(deals),
            events,
            results,
        )

    def _erased(self) -> None:  # noqa: B027 - an optional hook
        """Hook: personal data was erased in this unit of work (adapters may purge remnants)."""

    def _check_open(self) -> None:
        if self._state != "open":
            where = "before its with block" if self._state == "new" else "after it was closed"
            raise UnitOfWorkClosed(f"this unit of work is used {where}; use `with` around it")

    def _check_writable(self) -> None:
        self._check_open()
        if self.read_only:
            raise ReadOnlyUnitOfWork(
                "this unit of work is read-only; use storage.unit_of_work() to change data"
            )

    @abc.abstractmethod
    def _begin(self) -> None:
        """Acquire what the unit of work needs (a connection...)."""

    @abc.abstractmethod
    def _commit(self) -> None:
        """Commit the current transaction."""

    @abc.abstractmethod
    def _rollback(self) -> None:
        """Roll the current transaction back."""

    @abc.abstractmethod
    def _end(self) -> None:
        """Release resources (always called on exit)."""


class Storage(abc.ABC):
    """A configured store: makes units of work.  Cheap to create; connects on first use."""

    def run(
        self,
        fn: Callable[[UnitOfWork], T],
        *,
        retries: int = 5,
        backoff: float = 0.01,
        read_only: bool = False,
    ) -> T:
        """Run ``fn(uow)`` in a new unit of work and commit; retry it on retryable errors.

        ``fn`` reads what it needs through ``uow`` and writes; when it returns,
        the unit of work is committed and ``fn``'s result returned.  If it (or
        the commit) raises a :class:`~pipelinekit.PipelinekitError` whose
        ``retryable`` is true (:class:`ConcurrencyConflict`, :class:`StorageBusy`,
        a serialization failure, a lost connection, a
        :class:`~pipelinekit.pipelines.StaleTime` from a time taken too early), the
        unit of work is rolled back and ``fn`` runs again in a new one, up to
        ``retries`` more times, after ``backoff`` seconds doubled at each try
        (with jitter).  ``fn`` must therefore re-read everything it changes
        and have no effect outside the unit of work.  Any other error is
        raised at once, as is the last retryable one.  A ``read_only`` unit
        of work is not committed.
        """
        problems: list[Problem] = []
        if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
            problems.append(Problem("$.retries", f"must be an int >= 0, got {retries!r}"))
        if (
            isinstance(backoff, bool)
            or not isinstance(backoff, int | float)
            or not 0 <= backoff <= 60
        ):
            problems.append(Problem("$.backoff", f"must be 0 to 60 seconds, got {backoff!r}"))
        if not callable(fn):
            problems.append(Problem("$.fn", f"must be callable, got {type(fn).__name__}"))
        if problems:
            raise ValidationError("Storage.run()", problems)
        attempt = 0
        while True:
            try:
                with self.unit_of_work(read_only=read_only) as uow:
                    result = fn(uow)
                    if not read_only:
                        uow.commit()
                return result
            except PipelinekitError as error:
                if not error.retryable or attempt >= retries:
                    raise
            time.sleep(backoff * (2**attempt) * (0.5 + _JITTER.random()))
            attempt += 1

    @abc.abstractmethod
    def unit_of_work(self, *, read_only: bool = False) -> UnitOfWork:
        """Return a new, not yet entered, unit of work.

        A ``read_only`` one refuses every write with :class:`ReadOnlyUnitOfWork`;
        adapters may run it more cheaply (on SQLite it does not take the write
        lock, so it never waits for, nor blocks, a writer).
        """

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release pooled connections (the storage can still be used afterwards)."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
