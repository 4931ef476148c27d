"""The SQL adapter (SQLAlchemy 2 Core), one adapter shared by SQLite and PostgreSQL.

Writes are batched (one ``executemany`` per table and batch, inside a
savepoint so a failed batch leaves the unit of work usable and nothing
written); reads select the JSON documents and build entities with
``pipelinekit.from_dict``.  Driver errors are translated into
:mod:`pipelinekit.storage.errors` at this boundary (the driver's exception is
kept as ``__cause__``).
"""

from __future__ import annotations

import abc
import json
import threading
import weakref
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    Select,
    Table,
    and_,
    bindparam,
    delete,
    func,
    insert,
    select,
    update,
)
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects import postgresql, sqlite

from ...domain.history import StageChange
from ...domain.leads import Lead
from ...domain.opportunities import Opportunity
from ...domain.prospects import Prospect
from ...serialization import from_dict, to_dict
from .._kinds import INDEX
from ..errors import (
    ConcurrencyConflict,
    DuplicateExternalId,
    StorageError,
    UnitOfWorkClosed,
)
from ..ports import (
    EventStore,
    LeadRepository,
    OpportunityRepository,
    ProspectRepository,
    Repository,
    ResultStore,
    Storage,
    StoredResult,
    UnitOfWork,
)
from ..queries import Criteria, Query, micros
from ..records import EventRecord
from ._driver import translate, when
from .analytics import SqlAnalyticsQueries
from .schema import SCHEMA_VERSION, Tables, analytics_values, ensure_schema, stored_version

__all__ = ["SqlStorage"]

E = TypeVar("E", Lead, Prospect, Opportunity)
Q = TypeVar("Q", bound=Query)
T = TypeVar("T")

#: Rows per executemany / IN (...) list.
BATCH = 5000


def _dumps(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


class SqlStorage(Storage):
    """A SQL database used as pipelinekit storage (SQLite or PostgreSQL).

    Made by :func:`~pipelinekit.storage.sql.sqlite_storage` or
    :func:`~pipelinekit.storage.sql.postgres_storage`.  No engine or
    connection exists until the first unit of work; the schema is created
    (or migrated forward) then.
    """

    def __init__(self, url: str, tables: Tables, *, display: str) -> None:
        self._url = url
        self.tables = tables
        self._display = display
        self._engine: Engine | None = None
        self._disposer: weakref.finalize[[], Any] | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self._display}>"

    @abc.abstractmethod
    def _create_engine(self) -> Engine:
        """Create the engine (with dialect-specific connection setup)."""

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine (created, and the schema ensured, on first access)."""
        if self._engine is None:
            with self._lock:
                if self._engine is None:
                    engine = self._create_engine()
                    try:
                        with translate("creating the schema"), engine.begin() as conn:
                            ensure_schema(conn, self.tables)
                    except BaseException:
                        engine.dispose()
                        raise
                    self._engine = engine
                    # A storage dropped without close() still closes its pooled
                    # connections when it is collected, instead of leaving them
                    # to the garbage collector (an unclosed-database warning).
                    self._disposer = weakref.finalize(self, engine.dispose)
        return self._engine

    def schema_version(self) -> int:
        """The storage schema version recorded in the database."""
        with translate("reading the schema version"), self.engine.connect() as conn:
            found = stored_version(conn, self.tables)
        return SCHEMA_VERSION if found is None else found

    def unit_of_work(self, *, read_only: bool = False) -> UnitOfWork:
        """Return a new unit of work (one connection and transaction while it is open)."""
        uow = _SqlUnitOfWork(self)
        uow.read_only = read_only
        return uow

    def _read_only_options(self) -> dict[str, Any]:
        """Execution options for the connection of a read-only unit of work."""
        return {"pipelinekit_read_only": True}

    def close(self) -> None:
        """Close pooled connections; the storage reconnects if used again."""
        with self._lock:
            if self._engine is not None:
                if self._disposer is not None:
                    self._disposer.detach()
                    self._disposer = None
                self._engine.dispose()
                self._engine = None

    @abc.abstractmethod
    def compact(self) -> None:
        """Reclaim space and physically remove deleted or overwritten data (VACUUM)."""

    def _after_erasure(self, conn: Connection) -> None:
        """Hook run after a commit that erased personal data."""


class _SqlUnitOfWork(SqlAnalyticsQueries, UnitOfWork):
    def __init__(self, storage: SqlStorage) -> None:
        self.storage = storage
        self.tables = storage.tables
        self._conn: Connection | None = None
        self._erasure = False
        self.leads = _Leads(self)
        self.prospects = _Prospects(self)
        self.opportunities = _Opportunities(self)
        self.events = _Events(self)
        self.results = _Results(self)

    def __repr__(self) -> str:
        return f"<unit of work on {self.storage!r} ({self._state})>"

    @property
    def conn(self) -> Connection:
        if self._conn is None:
            raise UnitOfWorkClosed("this unit of work has no connection; use it inside `with`")
        return self._conn

    @property
    def dialect(self) -> str:
        return self.conn.dialect.name

    def _begin(self) -> None:
        engine = self.storage.engine
        with translate("connecting"):
            self._conn = engine.connect()
            if self.read_only:
                self._conn.execution_options(**self.storage._read_only_options())

    def _commit(self) -> None:
        if self._failed():
            # PostgreSQL would answer COMMIT with a silent ROLLBACK: say so instead
            with translate("rollback"):
                self.conn.rollback()
            self._erasure = False
            raise StorageError(
                "commit failed: a statement failed in this transaction and the database "
                "discarded it; nothing since the last commit was stored"
            )
        with translate("commit"):
            self.conn.commit()
        if self._erasure:
            self._erasure = False
            with translate("purging erased data"):
                self.storage._after_erasure(self.conn)

    def _rollback(self) -> None:
        self._erasure = False
        with translate("rollback"):
            self.conn.rollback()

    def _end(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            with translate("closing the connection"):
                conn.close()

    def _erased(self) -> None:
        self._erasure = True

    def _failed(self) -> bool:
        """Whether the database transaction is aborted (PostgreSQL refuses all but ROLLBACK)."""
        if self.dialect != "postgresql" or self._conn is None:
            return False
        try:
            driver = self._conn.connection.driver_connection
            if driver is None:  # pragma: no cover - a detached connection
                return False
            status = driver.info.transaction_status
        except (AttributeError, sa_exc.SQLAlchemyError):  # pragma: no cover - not psycopg
            return False
        return getattr(status, "name", "") == "INERROR"

    def insert_ignore(self, table: Table) -> Any:
        module = postgresql if self.dialect == "postgresql" else sqlite
        return module.insert(table).on_conflict_do_nothing()


class _Mismatch(Exception):
    """Raised inside a savepoint to undo a batch whose version checks failed."""


def _chunks(items: Sequence[T], size: int = BATCH) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


_INSERTS: dict[tuple[str, Table], tuple[str, tuple[str, ...] | None]] = {}


def _insert_many(conn: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """``executemany`` of a plain INSERT of ``rows`` (all with every column), in batches.

    The statement is compiled once per table and dialect and handed to the
    driver directly: SQLAlchemy's per-row parameter processing would cost more
    than the insert itself, and these columns need no type conversion.
    """
    if not rows:
        return
    key = (conn.dialect.name, table)
    compiled = _INSERTS.get(key)
    if compiled is None:
        statement = insert(table).values({c.name: bindparam(c.name) for c in table.columns})
        done = statement.compile(dialect=conn.dialect)
        order = tuple(done.positiontup) if done.positional and done.positiontup else None
        compiled = _INSERTS[key] = (str(done), order)
    sql, order = compiled
    for chunk in _chunks(rows):
        if order is None:
            conn.exec_driver_sql(sql, list(chunk))
        else:
            conn.exec_driver_sql(sql, [tuple(row[name] for name in order) for row in chunk])


class _SqlRepository(Repository[E, Q], Generic[E, Q]):
    _uow: _SqlUnitOfWork

    @property
    def table(self) -> Table:
        return self._uow.tables.entities[self.kind]

    @property
    def history_table(self) -> Table | None:
        return self._uow.tables.history.get(self.kind)

    @property
    def probability_table(self) -> Table | None:
        return self._uow.tables.probabilities if self.kind == "opportunity" else None

    def _load(self, docs: Sequence[Any]) -> list[E]:
        cls = self.entity_type
        loads = json.loads
        return [from_dict(cls, loads(doc)) for doc in docs]

    def _get(self, entity_id: str) -> E | None:
        t = self.table
        with translate(f"reading {self.kind}"):
            doc = self._uow.conn.execute(select(t.c.doc).where(t.c.id == entity_id)).scalar()
        return None if doc is None else self._load([doc])[0]

    def _get_by_external_ids(self, external_ids: Sequence[str]) -> dict[str, E]:
        t = self.table
        found: dict[str, E] = {}
        with translate(f"reading {self.kind}s by external id"):
            for chunk in _chunks(list(dict.fromkeys(external_ids))):
                docs = self._uow.conn.execute(
                    select(t.c.doc).where(t.c.external_id.in_(chunk))
                ).scalars()
                for entity in self._load(list(docs)):
                    assert entity.external_id is not None
                    found[entity.external_id] = entity
        return found

    def _where(self, criteria: Criteria) -> list[ColumnElement[bool]]:
        c = self.table.c
        clauses: list[ColumnElement[bool]] = []
        if criteria.stage is not None:
            clauses.append(c.stage == criteria.stage)
        if criteria.pipeline is not None:
            clauses.append(c.pipeline == criteria.pipeline)
        if criteria.owner is not None:
            clauses.append(c.owner == criteria.owner)
        if criteria.lead_id is not None:
            clauses.append(c.lead_id == criteria.lead_id)
        if criteria.min_score is not None:
            clauses.append(c.score >= criteria.min_score)
        if criteria.max_score is not None:
            clauses.append(c.score <= criteria.max_score)
        if criteria.updated_since is not None:
            clauses.append(c.updated_us >= criteria.updated_since)
        if criteria.after is not None:
            clauses.append(c.id > criteria.after)
        return clauses

    def select_for(self, criteria: Criteria) -> Select[tuple[str]]:
        """The SELECT a query runs (public to the test suite for query-plan checks)."""
        t = self.table
        order: ColumnElement[Any] = t.c.id
        ranged = (criteria.min_score, criteria.max_score, criteria.updated_since) != (None,) * 3
        equal = (criteria.stage, criteria.pipeline, criteria.owner, criteria.lead_id) != (None,) * 4
        if ranged and not equal and self._uow.dialect == "sqlite":
            # SQLite's planner has no range statistics: left alone it walks the whole
            # primary key to return rows in id order.  An expression it cannot take
            # from an index makes it search the range index and sort the matches.
            order = t.c.id + ""
        stmt = select(t.c.doc).where(*self._where(criteria)).order_by(order)
        if criteria.limit is not None:
            stmt = stmt.limit(criteria.limit)
        return stmt

    def _find(self, criteria: Criteria) -> list[E]:
        with translate(f"querying {self.kind}s"):
            docs = self._uow.conn.execute(self.select_for(criteria)).scalars().all()
        return self._load(docs)

    def _count(self, criteria: Criteria) -> int:
        stmt = select(func.count()).select_from(self.table).where(*self._where(criteria))
        with translate(f"counting {self.kind}s"):
            return int(self._uow.conn.execute(stmt).scalar_one())

    def _count_by_stage(self, criteria: Criteria) -> dict[str, int]:
        c = self.table.c
        stmt = select(c.stage, func.count()).where(*self._where(criteria)).group_by(c.stage)
        with translate(f"counting {self.kind}s per stage"):
            return {stage: int(n) for stage, n in self._uow.conn.execute(stmt)}

    # -- writing -----------------------------------------------------------------------------

    def _rows(
        self, entities: Sequence[E]
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[StoredResult]]:
        """Entity rows, stage history rows and stored results of ``entities``."""
        index = INDEX[self.entity_type]
        kind = self.kind
        has_history = self.history_table is not None
        rows: list[dict[str, Any]] = []
        history: list[dict[str, Any]] = []
        results: list[StoredResult] = []
        for entity in entities:
            data = to_dict(entity)
            ix = index(entity)
            rows.append(
                {
                    "id": ix.id,
                    "external_id": ix.external_id,
                    "stage": ix.stage,
                    "pipeline": ix.pipeline,
                    "owner": ix.owner,
                    "lead_id": ix.lead_id,
                    "score": ix.score,
                    "updated_us": ix.updated_us,
                    "version": entity.version,
                    "doc": _dumps(data),
                    **analytics_values(entity),
                }
            )
            if has_history:
                for seq, change in enumerate(getattr(entity, "history", ())):
                    history.append(
                        {
                            "entity_id": ix.id,
                            "seq": seq,
                            "from_stage": change.from_stage,
                            "to_stage": change.to_stage,
                            "event": change.event,
                            "at_us": micros(change.at),
                            "actor": change.actor,
                            "note": change.note,
                            "pipeline": change.pipeline,
                            "from_pipeline": change.from_pipeline,
                        }
                    )
            result_doc = data.get("qualification") if kind == "lead" else data.get("fit")
            if result_doc is not None:
                results.append(StoredResult.from_doc(kind, ix.id, result_doc))
        return rows, history, results

    @staticmethod
    def _probability_rows(entities: Sequence[E]) -> list[dict[str, Any]]:
        """The probability history rows of opportunities (exact decimal text)."""
        return [
            {
                "entity_id": entity.id,
                "seq": seq,
                "layer": change.layer,
                "from_value": None if change.from_value is None else str(change.from_value),
                "to_value": None if change.to_value is None else str(change.to_value),
                "at_us": micros(change.at),
                "actor": change.actor,
            }
            for entity in entities
            for seq, change in enumerate(getattr(entity, "probability_history", ()))
        ]

    def _write(self, inserts: list[E], updates: list[tuple[int, E]]) -> None:
        conn = self._uow.conn
        t = self.table
        history_table = self.history_table
        chances = self.probability_table
        try:
            with translate(f"saving {self.kind}s"), conn.begin_nested():
                if inserts:
                    rows, history, results = self._rows(inserts)
                    _insert_many(conn, t, rows)
                    if history_table is not None:
                        _insert_many(conn, history_table, history)
                    if chances is not None:
                        _insert_many(conn, chances, self._probability_rows(inserts))
                    self._uow.results._add(results)
                if updates:
                    rows, history, results = self._rows([e for _, e in updates])
                    for row, (expected, _) in zip(rows, updates, strict=True):
                        row["b_id"] = row["id"]
                        row["b_expected"] = expected
                    stmt = update(t).where(
                        t.c.id == bindparam("b_id"), t.c.version == bindparam("b_expected")
                    )
                    for chunk in _chunks(rows):
                        if conn.dialect.supports_sane_multi_rowcount:
                            changed = conn.execute(stmt, chunk).rowcount
                        else:  # pragma: no cover - both supported dialects count
                            changed = sum(conn.execute(stmt, row).rowcount for row in chunk)
                        if changed != len(chunk):
                            raise _Mismatch
                    ids = [e.id for _, e in updates]
                    for table, fresh in (
                        (history_table, history),
                        (chances, self._probability_rows([e for _, e in updates])),
                    ):
                        if table is None:
                            continue
                        for id_chunk in _chunks(ids):
                            conn.execute(delete(table).where(table.c.entity_id.in_(id_chunk)))
                        _insert_many(conn, table, fresh)
                    self._uow.results._add(results)
        except _Mismatch:
            self._raise_conflict(inserts, updates, None)
        except StorageError as error:
            cause = error.__cause__
            if isinstance(cause, sa_exc.IntegrityError):
                self._raise_conflict(inserts, updates, cause)
            raise

    def _raise_conflict(
        self,
        inserts: list[E],
        updates: list[tuple[int, E]],
        cause: BaseException | None,
    ) -> None:
        """Find which entity made a batch fail, raise the matching error from ``cause``."""
        conn = self._uow.conn
        c = self.table.c
        with translate(f"checking a failed save of {self.kind}s"):
            ids = [e.id for e in inserts] + [e.id for _, e in updates]
            stored: dict[str, int] = {}
            for chunk in _chunks(ids):
                stored.update(conn.execute(select(c.id, c.version).where(c.id.in_(chunk))).all())
            for entity in inserts:
                if entity.id in stored:
                    raise ConcurrencyConflict(self.kind, entity.id, 0, stored[entity.id]) from cause
            for expected, entity in updates:
                if stored.get(entity.id) != expected:
                    raise ConcurrencyConflict(
                        self.kind, entity.id, expected, stored.get(entity.id)
                    ) from cause
            batch: list[E] = inserts + [e for _, e in updates]
            externals: list[str] = [e.external_id for e in batch if e.external_id is not None]
            held: dict[str, str] = {}
            for some in _chunks(externals):
                held.update(
                    conn.execute(select(c.external_id, c.id).where(c.external_id.in_(some))).all()
                )
            for one in batch:
                holder = held.get(one.external_id) if one.external_id else None
                if holder is not None and holder != one.id:
                    assert one.external_id is not None
                    raise DuplicateExternalId(self.kind, one.external_id, holder) from cause
        raise StorageError(f"saving {self.kind}s failed") from cause  # pragma: no cover

    def _delete(self, entity_id: str, expected_version: int) -> None:
        c = self.table.c
        conn = self._uow.conn
        with translate(f"deleting {self.kind}"):
            with conn.begin_nested():
                deleted = conn.execute(
                    delete(self.table).where(and_(c.id == entity_id, c.version == expected_version))
                ).rowcount
            if deleted != 1:
                actual = conn.execute(select(c.version).where(c.id == entity_id)).scalar()
                raise ConcurrencyConflict(self.kind, entity_id, expected_version, actual)

    def _history(self, entity_id: str) -> list[StageChange]:
        h = self.history_table
        assert h is not None
        stmt = select(h).where(h.c.entity_id == entity_id).order_by(h.c.seq)
        with translate(f"reading {self.kind} history"):
            rows = self._uow.conn.execute(stmt).mappings().all()
        return [_stage_change(r) for r in rows]

    def _stage_changes(
        self, since: int | None, until: int | None, to_stage: str | None, pipeline: str | None
    ) -> list[tuple[str, StageChange]]:
        h = self.history_table
        assert h is not None
        stmt = select(h).order_by(h.c.at_us, h.c.entity_id, h.c.seq)
        if since is not None:
            stmt = stmt.where(h.c.at_us >= since)
        if until is not None:
            stmt = stmt.where(h.c.at_us < until)
        if to_stage is not None:
            stmt = stmt.where(h.c.to_stage == to_stage)
        if pipeline is not None:
            stmt = stmt.where(h.c.pipeline == pipeline)
        with translate(f"reading {self.kind} stage changes"):
            rows = self._uow.conn.execute(stmt).mappings().all()
        return [(r["entity_id"], _stage_change(r)) for r in rows]


def _stage_change(row: Any) -> StageChange:
    return StageChange(
        from_stage=row["from_stage"],
        to_stage=row["to_stage"],
        event=row["event"],
        at=when(row["at_us"]),
        actor=row["actor"],
        note=row["note"],
        pipeline=row["pipeline"],
        from_pipeline=row["from_pipeline"],
    )


class _Leads(_SqlRepository[Lead, Any], LeadRepository):
    pass


class _Prospects(_SqlRepository[Prospect, Any], ProspectRepository):
    pass


class _Opportunities(_SqlRepository[Opportunity, Any], OpportunityRepository):
    pass


def _result_row(item: StoredResult) -> dict[str, Any]:
    doc = item.doc
    score = doc.get("score")
    as_of = datetime.fromisoformat(doc["as_of"])
    return {
        "subject_kind": item.subject_kind,
        "subject_id": item.subject_id,
        "fingerprint": item.fingerprint,
        "strategy": doc["strategy"],
        "as_of_us": micros(as_of),
        "score": None if score is None else float(score),
        "doc": _dumps(doc),
    }


class _Results(ResultStore):
    _uow: _SqlUnitOfWork

    def _add(self, items: list[StoredResult]) -> None:
        if not items:
            return
        conn = self._uow.conn
        stmt = self._uow.insert_ignore(self._uow.tables.results)
        with translate("storing qualification results"), conn.begin_nested():
            for chunk in _chunks([_result_row(i) for i in items]):
                conn.execute(stmt, list(chunk))

    def _for_subject(self, subject_kind: str, subject_id: str) -> list[StoredResult]:
        r = self._uow.tables.results
        stmt = (
            select(r.c.fingerprint, r.c.doc)
            .where(r.c.subject_kind == subject_kind, r.c.subject_id == subject_id)
            .order_by(r.c.rid)
        )
        with translate("reading qualification results"):
            rows = self._uow.conn.execute(stmt).all()
        return [StoredResult(subject_kind, subject_id, fp, json.loads(doc)) for fp, doc in rows]

    def _replace(self, old: StoredResult, new: StoredResult) -> None:
        r = self._uow.tables.results
        conn = self._uow.conn
        mine = and_(r.c.subject_kind == old.subject_kind, r.c.subject_id == old.subject_id)
        with translate("rewriting a qualification result"), conn.begin_nested():
            clash = conn.execute(
                select(r.c.rid).where(mine, r.c.fingerprint == new.fingerprint)
            ).first()
            if clash is not None:
                conn.execute(delete(r).where(mine, r.c.fingerprint == old.fingerprint))
                return
            row = _result_row(new)
            conn.execute(
                update(r)
                .where(mine, r.c.fingerprint == old.fingerprint)
                .values(fingerprint=row["fingerprint"], score=row["score"], doc=row["doc"])
            )


class _Events(EventStore):
    _uow: _SqlUnitOfWork

    def _append(self, records: list[EventRecord]) -> list[int]:
        t = self._uow.tables.events
        rows = [
            {
                "entity_kind": r.entity_kind,
                "entity_id": r.entity_id,
                "kind": r.kind,
                "at_us": micros(r.at),
                "payload": _dumps(r.payload),
            }
            for r in records
        ]
        seqs: list[int] = []
        stmt = insert(t).returning(t.c.seq, sort_by_parameter_order=True)
        conn = self._uow.conn
        with translate("appending domain events"), conn.begin_nested():
            for chunk in _chunks(rows):
                seqs.extend(conn.execute(stmt, list(chunk)).scalars())
        return seqs

    def _read(
        self, entity_kind: str | None, entity_id: str | None, after: int | None, limit: int | None
    ) -> list[EventRecord]:
        t = self._uow.tables.events
        stmt = select(t).order_by(t.c.seq)
        if entity_kind is not None:
            stmt = stmt.where(t.c.entity_kind == entity_kind)
        if entity_id is not None:
            stmt = stmt.where(t.c.entity_id == entity_id)
        if after is not None:
            stmt = stmt.where(t.c.seq > after)
        if limit is not None:
            stmt = stmt.limit(limit)
        with translate("reading domain events"):
            rows = self._uow.conn.execute(stmt).mappings().all()
        return [
            EventRecord(
                r["entity_kind"],
                r["entity_id"],
                r["kind"],
                when(r["at_us"]),
                json.loads(r["payload"]),
                r["seq"],
            )
            for r in rows
        ]

    def _replace_payload(self, seq: int, payload: dict[str, Any]) -> None:
        t = self._uow.tables.events
        conn = self._uow.conn
        with translate("rewriting a domain event"), conn.begin_nested():
            conn.execute(update(t).where(t.c.seq == seq).values(payload=_dumps(payload)))
