"""The in-memory adapter: the reference behaviour of every port, with no dependency.

Use it in tests and prototypes (``memory_storage()``), and as the model the
SQL adapters are checked against.  Units of work are isolated: each sees the
committed state plus its own changes, and :meth:`commit` re-checks every
version it based a write on, so concurrent units of work (threads) get the
same :class:`~pipelinekit.storage.errors.ConcurrencyConflict` a database
would give.  Nothing survives the process.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterable, Sequence
from typing import Any, Generic, TypeVar

import attrs

from ..domain.history import StageChange
from ..domain.leads import Lead
from ..domain.opportunities import Opportunity
from ..domain.prospects import Prospect
from ..qualification.predictive import FrequencyRow, FrequencyTable
from ._kinds import INDEX, KIND_NAMES
from .errors import ConcurrencyConflict, DuplicateExternalId
from .match_keys import match_keys
from .ports import (
    EventStore,
    FrequencyStore,
    LeadRepository,
    OpportunityRepository,
    ProspectRepository,
    Repository,
    ResultStore,
    Storage,
    StoredResult,
    UnitOfWork,
    result_of,
)
from .queries import Criteria, Query, micros
from .records import EventRecord

__all__ = ["memory_storage"]

E = TypeVar("E", Lead, Prospect, Opportunity)
Q = TypeVar("Q", bound=Query)
_Key = tuple[str, str]


class _State:
    """The committed data shared by every unit of work of one memory storage."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.entities: dict[str, dict[str, Any]] = {k: {} for k in KIND_NAMES.values()}
        self.results: dict[_Key, list[StoredResult]] = {}
        self.events: list[EventRecord] = []
        self.seq = itertools.count(1)
        self.frequencies: dict[str, list[FrequencyRow]] = {}
        # the committed records under each match key, and each record's keys
        self.by_match_key: dict[str, set[_Key]] = {}
        self.match_keys: dict[_Key, frozenset[str]] = {}

    def index(self, kind: str, entity_id: str, entity: Any) -> None:
        """Move a committed record (``None``: deleted) to its match keys."""
        key = (kind, entity_id)
        for old in self.match_keys.pop(key, ()):
            holders = self.by_match_key[old]
            holders.discard(key)
            if not holders:
                del self.by_match_key[old]
        if entity is not None:
            fresh = match_keys(entity)
            if fresh:
                self.match_keys[key] = fresh
                for one in fresh:
                    self.by_match_key.setdefault(one, set()).add(key)


def memory_storage() -> Storage:
    """Return a new, empty in-memory storage."""
    return _MemoryStorage()


class _MemoryStorage(Storage):
    def __init__(self) -> None:
        self._state = _State()

    def unit_of_work(self, *, read_only: bool = False) -> UnitOfWork:
        uow = _MemoryUnitOfWork(self._state)
        uow.read_only = read_only
        return uow

    def __repr__(self) -> str:
        counts = ", ".join(f"{k}: {len(v)}" for k, v in self._state.entities.items())
        return f"<memory storage {counts}>"


class _MemoryUnitOfWork(UnitOfWork):
    def __init__(self, state: _State) -> None:
        self._shared = state
        self.leads = _Leads(self)
        self.prospects = _Prospects(self)
        self.opportunities = _Opportunities(self)
        self.events = _Events(self)
        self.results = _Results(self)
        self.frequencies: _Frequencies = _Frequencies(self)
        self._clear()

    def __repr__(self) -> str:
        return f"<memory unit of work ({self._state})>"

    def _clear(self) -> None:
        # kind -> id -> entity, or None for deleted
        self.pending: dict[str, dict[str, Any]] = {k: {} for k in KIND_NAMES.values()}
        # (kind, id) -> committed version a pending write was based on (None: absent)
        self.base: dict[_Key, int | None] = {}
        self.new_results: dict[_Key, list[StoredResult]] = {}
        self.replaced_results: dict[_Key, list[StoredResult]] = {}
        self.new_events: list[EventRecord] = []
        self.event_payloads: dict[int, dict[str, Any]] = {}
        # frequency changes in order: (model, keys, won, delta) or (model, rows)
        self.frequency_ops: list[tuple[Any, ...]] = []

    def _begin(self) -> None:
        self._clear()

    def _rollback(self) -> None:
        self._clear()

    def _end(self) -> None:
        self._clear()

    def view(self, kind: str, entity_id: str) -> Any:
        pending = self.pending[kind]
        if entity_id in pending:
            return pending[entity_id]
        with self._shared.lock:
            return self._shared.entities[kind].get(entity_id)

    def merged(self, kind: str) -> dict[str, Any]:
        with self._shared.lock:  # another thread may be committing
            out = dict(self._shared.entities[kind])
        for entity_id, entity in self.pending[kind].items():
            if entity is None:
                out.pop(entity_id, None)
            else:
                out[entity_id] = entity
        return out

    def records_by_match_keys(self, keys: Iterable[str]) -> list[Lead | Prospect | Opportunity]:
        wanted = frozenset(keys)
        with self._shared.lock:
            committed = {held for key in wanted for held in self._shared.by_match_key.get(key, ())}
        found: list[Lead | Prospect | Opportunity] = []
        for kind, entity_id in sorted(committed):
            if entity_id not in self.pending[kind]:
                entity = self.view(kind, entity_id)
                if entity is not None:
                    found.append(entity)
        for pending in self.pending.values():  # this unit of work's own writes
            found.extend(
                e
                for e in pending.values()
                if e is not None and not match_keys(e).isdisjoint(wanted)
            )
        return found

    def stage(self, kind: str, entity_id: str, entity: Any) -> None:
        key = (kind, entity_id)
        if key not in self.base:
            committed = self._shared.entities[kind].get(entity_id)
            self.base[key] = None if committed is None else committed.version
        self.pending[kind][entity_id] = entity

    def _commit(self) -> None:
        shared = self._shared
        with shared.lock:
            for (kind, entity_id), version in self.base.items():
                committed = shared.entities[kind].get(entity_id)
                now = None if committed is None else committed.version
                if now != version:
                    mine = self.pending[kind][entity_id]
                    expected = version or 0
                    if mine is not None:
                        expected = mine.version - 1
                    self._clear()
                    raise ConcurrencyConflict(kind, entity_id, expected, now)
            for kind, pending in self.pending.items():
                if not pending:
                    continue
                owners = {
                    e.external_id: e.id for e in shared.entities[kind].values() if e.external_id
                }
                for entity_id in pending:
                    old = shared.entities[kind].get(entity_id)
                    if old is not None and old.external_id:
                        owners.pop(old.external_id, None)
                for entity in pending.values():
                    if entity is None or not entity.external_id:
                        continue
                    holder = owners.get(entity.external_id)
                    if holder is not None and holder != entity.id:
                        self._clear()
                        raise DuplicateExternalId(kind, entity.external_id, holder)
                    owners[entity.external_id] = entity.id
            for kind, pending in self.pending.items():
                table = shared.entities[kind]
                for entity_id, entity in pending.items():
                    if entity is None:
                        table.pop(entity_id, None)
                    else:
                        table[entity_id] = entity
                    shared.index(kind, entity_id, entity)
            for key, items in self.replaced_results.items():
                shared.results[key] = items
            for key, items in self.new_results.items():
                stored = shared.results.setdefault(key, [])
                seen = {s.fingerprint for s in stored}
                stored.extend(s for s in items if s.fingerprint not in seen)
            if self.event_payloads:
                shared.events = [
                    attrs.evolve(r, payload=self.event_payloads[r.seq])
                    if r.seq in self.event_payloads
                    else r
                    for r in shared.events
                ]
            shared.events.extend(self.new_events)
            shared.events.sort(key=lambda r: r.seq or 0)
            for model in dict.fromkeys(op[0] for op in self.frequency_ops):
                shared.frequencies[model] = self.frequencies.replay(
                    model, shared.frequencies.get(model, [])
                )
        self._clear()


class _MemoryRepository(Repository[E, Q], Generic[E, Q]):
    _uow: _MemoryUnitOfWork

    def _get(self, entity_id: str) -> E | None:
        found: E | None = self._uow.view(self.kind, entity_id)
        return found

    def _get_by_external_ids(self, external_ids: Sequence[str]) -> dict[str, E]:
        wanted = set(external_ids)
        return {
            e.external_id: e
            for e in self._uow.merged(self.kind).values()
            if e.external_id in wanted
        }

    def _matches(self, criteria: Criteria) -> list[E]:
        index = INDEX[self.entity_type]
        found = [e for e in self._uow.merged(self.kind).values() if criteria.matches(index(e))]
        found.sort(key=lambda e: e.id)
        return found

    def _find(self, criteria: Criteria) -> list[E]:
        found = self._matches(criteria)
        if criteria.after is not None:
            after = criteria.after
            found = [e for e in found if e.id > after]
        return found if criteria.limit is None else found[: criteria.limit]

    def _count(self, criteria: Criteria) -> int:
        return len(self._matches(criteria))

    def _count_by_stage(self, criteria: Criteria) -> dict[str, int]:
        index = INDEX[self.entity_type]
        counts: dict[str, int] = {}
        for entity in self._matches(criteria):
            stage = index(entity).stage
            counts[stage] = counts.get(stage, 0) + 1
        return counts

    def _write(self, inserts: list[E], updates: list[tuple[int, E]]) -> None:
        uow, kind = self._uow, self.kind
        merged = uow.merged(kind)
        owners = {e.external_id: e.id for e in merged.values() if e.external_id}
        staged: dict[str, E] = {}

        def current(entity_id: str) -> Any:
            return staged[entity_id] if entity_id in staged else merged.get(entity_id)

        def claim(entity: E, previous: Any) -> None:
            if (
                previous is not None
                and previous.external_id
                and owners.get(previous.external_id) == entity.id
            ):
                del owners[previous.external_id]
            if entity.external_id:
                holder = owners.get(entity.external_id)
                if holder is not None and holder != entity.id:
                    raise DuplicateExternalId(kind, entity.external_id, holder)
                owners[entity.external_id] = entity.id
            staged[entity.id] = entity

        for entity in inserts:
            existing = current(entity.id)
            if existing is not None:
                raise ConcurrencyConflict(kind, entity.id, 0, existing.version)
            claim(entity, None)
        for expected, entity in updates:
            existing = current(entity.id)
            if existing is None or existing.version != expected:
                actual = None if existing is None else existing.version
                raise ConcurrencyConflict(kind, entity.id, expected, actual)
            claim(entity, existing)
        results = uow.results
        for entity in staged.values():
            uow.stage(kind, entity.id, entity)
            result = result_of(entity)
            if result is not None:
                assert isinstance(results, _Results)
                results._add([StoredResult.of(kind, entity.id, result)])

    def _delete(self, entity_id: str, expected_version: int) -> None:
        existing = self._uow.view(self.kind, entity_id)
        if existing is None or existing.version != expected_version:
            actual = None if existing is None else existing.version
            raise ConcurrencyConflict(self.kind, entity_id, expected_version, actual)
        self._uow.stage(self.kind, entity_id, None)

    def _history(self, entity_id: str) -> list[StageChange]:
        entity = self._uow.view(self.kind, entity_id)
        return [] if entity is None else list(entity.history)

    def _stage_changes(
        self, since: int | None, until: int | None, to_stage: str | None, pipeline: str | None
    ) -> list[tuple[str, StageChange]]:
        found: list[tuple[int, str, int, StageChange]] = []
        for entity in self._uow.merged(self.kind).values():
            for seq, change in enumerate(entity.history):
                at = micros(change.at)
                if since is not None and at < since:
                    continue
                if until is not None and at >= until:
                    continue
                if to_stage is not None and change.to_stage != to_stage:
                    continue
                if pipeline is not None and change.pipeline != pipeline:
                    continue
                found.append((at, entity.id, seq, change))
        found.sort(key=lambda row: row[:3])
        return [(entity_id, change) for _, entity_id, _, change in found]


class _Leads(_MemoryRepository[Lead, Any], LeadRepository):
    pass


class _Prospects(_MemoryRepository[Prospect, Any], ProspectRepository):
    pass


class _Opportunities(_MemoryRepository[Opportunity, Any], OpportunityRepository):
    pass


class _Results(ResultStore):
    _uow: _MemoryUnitOfWork

    def _for_subject(self, subject_kind: str, subject_id: str) -> list[StoredResult]:
        key = (subject_kind, subject_id)
        uow = self._uow
        if key in uow.replaced_results:
            stored = list(uow.replaced_results[key])
        else:
            with uow._shared.lock:
                stored = list(uow._shared.results.get(key, ()))
        seen = {s.fingerprint for s in stored}
        for item in uow.new_results.get(key, ()):
            if item.fingerprint not in seen:
                stored.append(item)
                seen.add(item.fingerprint)
        return stored

    def _add(self, items: list[StoredResult]) -> None:
        for item in items:
            key = (item.subject_kind, item.subject_id)
            if any(s.fingerprint == item.fingerprint for s in self._for_subject(*key)):
                continue
            self._uow.new_results.setdefault(key, []).append(item)

    def _replace(self, old: StoredResult, new: StoredResult) -> None:
        key = (old.subject_kind, old.subject_id)
        uow = self._uow
        pending = uow.new_results.get(key, [])
        if old in pending:
            pending[pending.index(old)] = new
            return
        committed = list(uow.replaced_results.get(key, uow._shared.results.get(key, [])))
        committed[committed.index(old)] = new
        uow.replaced_results[key] = committed


class _Events(EventStore):
    _uow: _MemoryUnitOfWork

    def _append(self, records: list[EventRecord]) -> list[int]:
        with self._uow._shared.lock:
            seqs = [next(self._uow._shared.seq) for _ in records]
        self._uow.new_events.extend(
            attrs.evolve(r, seq=s) for r, s in zip(records, seqs, strict=True)
        )
        return seqs

    def _read(
        self, entity_kind: str | None, entity_id: str | None, after: int | None, limit: int | None
    ) -> list[EventRecord]:
        uow = self._uow
        with uow._shared.lock:
            committed = list(uow._shared.events)
        everything = sorted([*committed, *uow.new_events], key=lambda r: r.seq or 0)
        out: list[EventRecord] = []
        for record in everything:
            assert record.seq is not None
            if entity_kind is not None and record.entity_kind != entity_kind:
                continue
            if entity_id is not None and record.entity_id != entity_id:
                continue
            if after is not None and record.seq <= after:
                continue
            if record.seq in uow.event_payloads:
                record = attrs.evolve(record, payload=uow.event_payloads[record.seq])
            out.append(record)
            if limit is not None and len(out) >= limit:
                break
        return out

    def _replace_payload(self, seq: int, payload: dict[str, Any]) -> None:
        for index, record in enumerate(self._uow.new_events):
            if record.seq == seq:
                self._uow.new_events[index] = attrs.evolve(record, payload=payload)
                return
        self._uow.event_payloads[seq] = payload


class _Frequencies(FrequencyStore):
    _uow: _MemoryUnitOfWork

    def replay(self, model: str, committed: list[FrequencyRow]) -> list[FrequencyRow]:
        """``committed`` with this unit of work's pending changes of ``model`` applied."""
        table = FrequencyTable(committed)
        for op in self._uow.frequency_ops:
            if op[0] != model:
                continue
            if len(op) == 2:
                table = FrequencyTable(op[1])
            else:
                table.add(op[1], won=op[2], delta=op[3])
        return table.rows()

    def _models(self) -> list[str]:
        with self._uow._shared.lock:
            names = list(self._uow._shared.frequencies)
        names += [op[0] for op in self._uow.frequency_ops]
        return [name for name in dict.fromkeys(names) if self._rows(name)]

    def _rows(self, model: str) -> list[FrequencyRow]:
        with self._uow._shared.lock:
            committed = list(self._uow._shared.frequencies.get(model, []))
        return self.replay(model, committed)

    def _add(
        self, model: str, keys: list[tuple[str | None, str, str]], won: bool, delta: int
    ) -> None:
        self._uow.frequency_ops.append((model, list(keys), won, delta))

    def _replace(self, model: str, rows: list[FrequencyRow]) -> None:
        self._uow.frequency_ops.append((model, list(rows)))
