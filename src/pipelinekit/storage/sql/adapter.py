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
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from decimal import Decimal
from operator import itemgetter
from typing import Any, Generic, TypeVar, cast

import attrs
from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    Select,
    Table,
    and_,
    bindparam,
    case,
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
from ...errors import Problem, ValidationError
from ...qualification.predictive import DOCUMENT_VERSION, FrequencyRow, PredictiveStrategy
from ...serialization import SCHEMA_VERSION as ENTITY_VERSION
from ...serialization import from_dict, json_writer
from ...validation import decode_json
from .._kinds import INDEX
from ..errors import (
    ConcurrencyConflict,
    CorruptRecord,
    DuplicateExternalId,
    SchemaNotReady,
    SchemaVersionError,
    StorageError,
    UnitOfWorkClosed,
)
from ..match_keys import match_keys
from ..ports import (
    EventStore,
    FrequencyStore,
    LeadRepository,
    OpportunityRepository,
    ProspectRepository,
    Repository,
    ResultStore,
    Storage,
    StoredEntities,
    StoredResult,
    UnitOfWork,
)
from ..queries import Criteria, IndexRow, Query, micros
from ..records import EventRecord
from ._compact import LEAD_LEFT_OUT, expand, put_back_columns
from ._driver import translate, when
from .analytics import SqlAnalyticsQueries
from .schema import (
    ANALYTICS_COLUMNS,
    RESULT_KEYS,
    SCHEMA_VERSION,
    Tables,
    analytics_values,
    dumps,
    ensure_schema,
    result_row,
    store_templates,
    stored_version,
)

__all__ = ["SqlStorage"]

E = TypeVar("E", Lead, Prospect, Opportunity)
Q = TypeVar("Q", bound=Query)
T = TypeVar("T")

#: Rows per executemany / IN (...) list.
BATCH = 5000
#: Compact results' templates kept in memory per storage (a strategy configuration has one).
_TEMPLATE_CACHE = 10_000


_dumps = dumps


class SqlStorage(Storage):
    """A SQL database used as pipelinekit storage (SQLite or PostgreSQL).

    Made by :func:`~pipelinekit.storage.sql.sqlite_storage`,
    :func:`~pipelinekit.storage.sql.postgres_storage` or
    :func:`~pipelinekit.storage.sql.sql_storage`, from a path or URL (the
    storage then owns its engine) or from an :class:`~sqlalchemy.Engine` the
    application already has (the application owns it: :meth:`close` leaves it
    open).  No connection is made until the first unit of work; the schema is
    created (or migrated forward) then, unless the storage was made with
    ``auto_schema=False`` (see :meth:`create_schema`).  Use it as a context
    manager, or call :meth:`close` at shutdown.
    """

    def __init__(
        self,
        url: str,
        tables: Tables,
        *,
        display: str,
        engine: Engine | None = None,
        auto_schema: bool = True,
    ) -> None:
        self._url = url
        self.tables = tables
        self._display = display
        self._given = engine
        self._auto_schema = auto_schema
        self._engine: Engine | None = None
        self._ready = False
        self._disposer: weakref.finalize[[], Any] | None = None
        self._lock = threading.Lock()
        # compact results' templates read so far (content-addressed: never stale)
        self._templates: dict[str, Any] = {}

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self._display}>"

    @abc.abstractmethod
    def _create_engine(self) -> Engine:
        """Create the engine (with dialect-specific connection setup)."""

    def _bare_engine(self) -> Engine:
        """The engine, created on first use, with no schema step (call under ``_lock``)."""
        if self._engine is None:
            if self._given is not None:
                self._engine = self._given
            else:
                self._engine = engine = self._create_engine()
                # A storage dropped without close() still closes its pooled
                # connections when it is collected, instead of leaving them
                # to the garbage collector (an unclosed-database warning).
                self._disposer = weakref.finalize(self, engine.dispose)
        return self._engine

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine (created, and the schema ensured or checked, on first access)."""
        if not self._ready:
            with self._lock:
                if not self._ready:
                    engine = self._bare_engine()
                    try:
                        if self._auto_schema:
                            self._ensure(engine, "opening the database")
                        else:
                            self._check(engine)
                    except BaseException:
                        self._dispose()
                        raise
                    self._ready = True
        assert self._engine is not None
        return self._engine

    def _ensure(self, engine: Engine, doing: str = "creating the schema") -> int:
        with translate(doing), engine.begin() as conn:
            return ensure_schema(conn, self.tables)

    def _check(self, engine: Engine) -> None:
        with translate("reading the schema version"), engine.connect() as conn:
            found = stored_version(conn, self.tables)
        self._check_version(found)

    @staticmethod
    def _check_version(found: int | None) -> None:
        if found is None or found < SCHEMA_VERSION:
            raise SchemaNotReady(found or 0, SCHEMA_VERSION)
        if found > SCHEMA_VERSION:
            raise SchemaVersionError(found, SCHEMA_VERSION)

    def create_schema(self) -> int:
        """Create the schema, or migrate it forward; return the version found (0: none).

        Idempotent and safe when several processes run it at once (they queue
        on a lock: PostgreSQL's advisory lock, SQLite's write lock); what
        ``pipelinekit db upgrade`` runs in a deployment step.  Raises
        :class:`~pipelinekit.storage.errors.SchemaVersionError` for a database
        written by a newer pipelinekit.
        """
        with self._lock:
            engine = self._bare_engine()
            found = self._ensure(engine)
            self._ready = True
        return found

    def check_schema(self) -> None:
        """Raise unless the database has exactly the schema version this pipelinekit uses.

        :class:`~pipelinekit.storage.errors.SchemaNotReady` says which command
        to run for a missing or older schema;
        :class:`~pipelinekit.storage.errors.SchemaVersionError` reports a newer
        one.  Changes nothing.
        """
        with self._lock:
            self._check(self._bare_engine())

    def _prepare_joined(self, conn: Connection) -> None:
        """Ensure (or check) the schema on the application's connection, inside its savepoint.

        Done there, not on a second connection: on SQLite the application's
        transaction may hold the write lock, which a second connection would
        wait for until the busy timeout.  Created in the application's
        transaction, the schema is marked ready only once a later unit of work
        finds it committed.
        """
        if self._ready:
            return
        with translate("reading the schema version"):
            found = stored_version(conn, self.tables)
        if found == SCHEMA_VERSION:
            self._ready = True
            return
        if not self._auto_schema:
            self._check_version(found)
        with translate("creating the schema"):
            ensure_schema(conn, self.tables)

    def schema_version(self) -> int:
        """The storage schema version recorded in the database."""
        with translate("reading the schema version"), self.engine.connect() as conn:
            found = stored_version(conn, self.tables)
        return SCHEMA_VERSION if found is None else found

    def run(
        self,
        fn: Callable[[SqlUnitOfWork], T],
        *,
        retries: int = 5,
        backoff: float = 0.01,
        read_only: bool = False,
    ) -> T:
        """:meth:`Storage.run <pipelinekit.storage.Storage.run>`, whose ``fn`` gets a
        :class:`SqlUnitOfWork` (so typed code can use ``uow.connection``)."""
        typed = cast(Callable[[UnitOfWork], T], fn)  # every unit of work made here is one
        return super().run(typed, retries=retries, backoff=backoff, read_only=read_only)

    def unit_of_work(
        self, *, read_only: bool = False, connection: Connection | None = None
    ) -> SqlUnitOfWork:
        """Return a new unit of work (one connection and transaction while it is open).

        With ``connection`` (a SQLAlchemy :class:`~sqlalchemy.Connection` the
        application holds, such as an ORM ``session.connection()``), the unit
        of work joins that connection's transaction instead: its work runs in
        a savepoint, :meth:`~pipelinekit.storage.UnitOfWork.commit` releases
        the savepoint into the application's transaction and rollback (or
        leaving the ``with`` block on an error) undoes only the unit of
        work's changes.  pipelinekit never commits, rolls back or closes a
        transaction it did not begin: the application commits both together.
        """
        uow = SqlUnitOfWork(self, connection)
        uow.read_only = read_only
        return uow

    def _read_only_options(self) -> dict[str, Any]:
        """Execution options for the connection of a read-only unit of work."""
        return {"pipelinekit_read_only": True}

    def _acquire_writer(self) -> None:
        """Hook: a writing unit of work starts (SQLite queues writers of one process here)."""

    def _release_writer(self) -> None:
        """Hook: a writing unit of work ended."""

    def close(self) -> None:
        """Close pooled connections; the storage reconnects if used again.

        An engine the application passed in is left open (it owns it).  Call
        this at shutdown: on SQLite the last connection to close also
        checkpoints and removes the ``-wal`` file.
        """
        with self._lock:
            self._dispose()

    def _dispose(self) -> None:
        if self._disposer is not None:
            self._disposer.detach()
            self._disposer = None
        if self._engine is not None and self._given is None:
            self._engine.dispose()
        self._engine = None
        self._ready = False

    @abc.abstractmethod
    def compact(self, *, full: bool = False) -> None:
        """Reclaim space and physically remove deleted or overwritten data (VACUUM).

        ``full=True`` asks for the thorough form where the database has one
        (PostgreSQL's ``VACUUM FULL``: every table rewritten, locked meanwhile).
        """

    def _after_erasure(self, conn: Connection) -> None:
        """Hook run after a commit that erased personal data."""


class SqlUnitOfWork(SqlAnalyticsQueries, UnitOfWork):
    """A unit of work of a :class:`SqlStorage`: the port's repositories and stores, plus
    :attr:`connection`, the SQLAlchemy connection it runs in (for the application's own rows).

    Annotate a function given to :meth:`SqlStorage.run` with it
    (``def fn(uow: SqlUnitOfWork)``) to use ``uow.connection`` in typed code.
    """

    def __init__(self, storage: SqlStorage, joined: Connection | None = None) -> None:
        self.storage = storage
        self.tables = storage.tables
        self._joined = joined
        self._savepoint: Any = None
        self._writer = False
        self._conn: Connection | None = None
        self._erasure = False
        self.leads = _Leads(self)
        self.prospects = _Prospects(self)
        self.opportunities = _Opportunities(self)
        self.events = _Events(self)
        self.results = _Results(self)
        self.frequencies = _Frequencies(self)

    def __repr__(self) -> str:
        return f"<unit of work on {self.storage!r} ({self._state})>"

    @property
    def conn(self) -> Connection:
        if self._conn is None:
            raise UnitOfWorkClosed("this unit of work has no connection; use it inside `with`")
        return self._conn

    @property
    def connection(self) -> Connection:
        """The SQLAlchemy connection this unit of work runs in, for the application's own rows.

        Statements on it (Core, or an ORM ``Session(bind=uow.connection)``,
        which joins the open transaction) are committed or rolled back with the
        unit of work's changes: :meth:`commit` makes both durable together.
        """
        return self.conn

    @property
    def dialect(self) -> str:
        return self.conn.dialect.name

    def templates(self, keys: Iterable[str]) -> Mapping[str, Any]:
        """The stored templates of compact results (read once per storage, then cached)."""
        cache = self.storage._templates
        missing = [k for k in dict.fromkeys(keys) if k not in cache]
        if missing:
            if len(cache) + len(missing) > _TEMPLATE_CACHE:
                cache.clear()
            t = self.tables.templates
            with translate("reading qualification result templates"):
                for chunk in _chunks(missing):
                    for key, body in self.conn.execute(
                        select(t.c.key, t.c.body).where(t.c.key.in_(chunk))
                    ):
                        cache[key] = json.loads(body)
        return cache

    def result_doc(self, stored: Any, subject_id: Any, templates: Mapping[str, Any]) -> Any:
        """A result's document from its stored JSON (compact or verbose); ``ValueError``
        when a compact one has no stored template or does not fit it."""
        if not isinstance(stored, list):
            return stored
        if len(stored) != 2 or not isinstance(stored[0], str) or stored[0] not in templates:
            raise ValueError("a stored result refers to no stored template")
        return expand(stored[1], templates[stored[0]], subject_id)

    def store_templates(self, templates: Mapping[str, Any]) -> None:
        """Store compact results' templates (those already stored are kept as they are)."""
        store_templates(self.conn, self.tables.templates, templates)

    def records_by_match_keys(self, keys: Iterable[str]) -> list[Lead | Prospect | Opportunity]:
        wanted = sorted(set(keys))
        if not wanted:
            return []
        found: list[Lead | Prospect | Opportunity] = []
        for repository in (self.leads, self.prospects, self.opportunities):
            assert isinstance(repository, _SqlRepository)
            found.extend(repository.by_match_keys(wanted))
        return found

    def _load_leads(self, where: Sequence[ColumnElement[bool]], *, limit: int | None) -> list[Lead]:
        repository = self.leads
        assert isinstance(repository, _Leads)
        stmt = repository._documents().where(*where).order_by(repository.table.c.id)
        if limit is not None:
            stmt = stmt.limit(limit)
        with translate("reading leads"):
            rows = self.conn.execute(stmt).all()
        return repository._load(rows)

    def _begin(self) -> None:
        if self._joined is not None:
            with translate("starting a savepoint"):
                self._savepoint = self._joined.begin_nested()
                self._conn = self._joined
            try:
                self.storage._prepare_joined(self._joined)
            except BaseException:
                self._savepoint.rollback()
                self._savepoint = self._conn = None
                raise
            return
        engine = self.storage.engine
        if not self.read_only:
            self.storage._acquire_writer()
            self._writer = True
        try:
            with translate("connecting"):
                self._conn = engine.connect()
                if self.read_only:
                    self._conn.execution_options(**self.storage._read_only_options())
                # begun now, so an ORM Session bound to `connection` joins this transaction
                # instead of beginning (and committing) its own
                self._conn.begin()
        except BaseException:
            try:
                if self._conn is not None:
                    self._conn.close()
                    self._conn = None
            finally:
                self._release()
            raise

    def _release(self) -> None:
        if self._writer:
            self._writer = False
            self.storage._release_writer()

    def _commit(self) -> None:
        if self._failed():
            # PostgreSQL would answer COMMIT with a silent ROLLBACK: say so instead
            self._rollback()
            raise StorageError(
                "commit failed: a statement failed in this transaction and the database "
                "discarded it; nothing since the last commit was stored"
            )
        if self._joined is not None:
            with translate("releasing the savepoint"):
                self._savepoint.commit()
                self._savepoint = self._joined.begin_nested()
            self._erasure = False  # purged when the application commits; see compact()
            return
        with translate("commit"):
            self.conn.commit()
        if self._erasure:
            self._erasure = False
            with translate("purging erased data"):
                self.storage._after_erasure(self.conn)

    def _rollback(self) -> None:
        self._erasure = False
        if self._joined is not None:
            with translate("rolling back to the savepoint"):
                if self._savepoint is not None and self._savepoint.is_active:
                    self._savepoint.rollback()
                self._savepoint = self._joined.begin_nested()
            return
        with translate("rollback"):
            self.conn.rollback()

    def _end(self) -> None:
        if self._joined is not None:
            savepoint, self._savepoint, self._conn = self._savepoint, None, None
            if savepoint is not None and savepoint.is_active:
                with translate("releasing the savepoint"):
                    savepoint.commit()  # empty: __exit__ rolled back what was not committed
            return
        try:
            if self._conn is not None:
                conn, self._conn = self._conn, None
                with translate("closing the connection"):
                    conn.close()
        finally:
            self._release()

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


#: The columns of the rows :meth:`_SqlRepository._rows` and ``_probability_rows`` build, in order.
_ENTITY_COLUMNS = (
    "id", "external_id", "stage", "pipeline", "owner", "lead_id", "score", "updated_us",
    "version", "doc", *ANALYTICS_COLUMNS, "result_fp",
)  # fmt: skip
_HISTORY_COLUMNS = (
    "entity_id", "seq", "from_stage", "to_stage", "event", "at_us", "actor", "note",
    "pipeline", "from_pipeline",
)  # fmt: skip
_PROBABILITY_COLUMNS = ("entity_id", "seq", "layer", "from_value", "to_value", "at_us", "actor")
_analytics: Callable[[dict[str, Any]], tuple[Any, ...]] = itemgetter(*ANALYTICS_COLUMNS)
if IndexRow._fields != _ENTITY_COLUMNS[: len(IndexRow._fields)]:  # pragma: no cover
    raise ImportError("the entity rows start with the indexed columns, in IndexRow's order")

_INSERTS: dict[tuple[str, Table, tuple[str, ...]], tuple[str, tuple[int, ...] | None]] = {}


#: The match keys table's columns, in the order of :func:`_match_key_rows`' tuples.
_MATCH_KEY_COLUMNS = ("kind", "id", "key")


def _match_key_rows(
    kind: str, entities: Sequence[Lead | Prospect | Opportunity]
) -> list[tuple[str, str, str]]:
    """The match keys table rows of ``entities`` (of one ``kind``)."""
    return [(kind, entity.id, key) for entity in entities for key in sorted(match_keys(entity))]


def _insert_many(
    conn: Connection, table: Table, columns: tuple[str, ...], rows: Sequence[tuple[Any, ...]]
) -> None:
    """Insert ``rows`` (tuples of the ``columns`` values) into ``table``, in batches.

    On PostgreSQL (psycopg) the rows are streamed with ``COPY ... FROM STDIN``;
    elsewhere one ``executemany`` of a plain INSERT per batch.  The statement is
    built once per table, dialect and columns and handed to the driver directly:
    SQLAlchemy's per-row parameter processing would cost more than the insert
    itself, and these values need no type conversion.
    """
    if not rows:
        return
    if conn.dialect.name == "postgresql" and _copy(conn, table, columns, rows):
        return
    key = (conn.dialect.name, table, columns)
    compiled = _INSERTS.get(key)
    if compiled is None:
        statement = insert(table).values({name: bindparam(name) for name in columns})
        done = statement.compile(dialect=conn.dialect)
        order = tuple(done.positiontup) if done.positional and done.positiontup else None
        places = None if order is None else tuple(columns.index(name) for name in order)
        compiled = _INSERTS[key] = (str(done), places)
    sql, places = compiled
    for chunk in _chunks(rows):
        if places is None:  # named parameters
            conn.exec_driver_sql(sql, [dict(zip(columns, row, strict=True)) for row in chunk])
        elif places == tuple(range(len(columns))):
            conn.exec_driver_sql(sql, list(chunk))
        else:  # pragma: no cover - SQLAlchemy binds the values in the order given
            conn.exec_driver_sql(sql, [tuple(row[i] for i in places) for row in chunk])


def _copy(
    conn: Connection, table: Table, columns: tuple[str, ...], rows: Sequence[tuple[Any, ...]]
) -> bool:
    """``COPY`` ``rows`` into ``table`` through psycopg; ``False`` for a driver without it.

    The driver's errors are raised as SQLAlchemy's (an ``IntegrityError`` for a
    duplicate key), as if SQLAlchemy had run the statement.
    """
    driver = conn.connection.driver_connection
    cursor_of = getattr(driver, "cursor", None)
    if cursor_of is None:  # pragma: no cover - an async or unknown driver connection
        return False
    preparer = conn.dialect.identifier_preparer
    sql = (
        f"COPY {preparer.format_table(table)} "
        f"({', '.join(preparer.quote(name) for name in columns)}) FROM STDIN"
    )
    with cursor_of() as cursor:
        if not hasattr(cursor, "copy"):  # pragma: no cover - not psycopg 3
            return False
        try:
            with cursor.copy(sql) as copy:
                write = copy.write_row
                for row in rows:
                    write(row)
        except conn.dialect.loaded_dbapi.Error as error:
            raise sa_exc.DBAPIError.instance(
                sql, None, error, conn.dialect.loaded_dbapi.Error
            ) from error
    return True


class _SqlRepository(Repository[E, Q], Generic[E, Q]):
    _uow: SqlUnitOfWork

    @property
    def table(self) -> Table:
        return self._uow.tables.entities[self.kind]

    @property
    def history_table(self) -> Table | None:
        return self._uow.tables.history.get(self.kind)

    @property
    def probability_table(self) -> Table | None:
        return self._uow.tables.probabilities if self.kind == "opportunity" else None

    def _documents(self) -> Select[tuple[str, str | None]]:
        """SELECT of each entity's document and its qualification result's (joined back)."""
        t = self.table
        r = self._uow.tables.results
        # a correlated lookup (one unique-index probe per row) leaves the entity
        # query's own plan as it is, whatever the planner knows about the results
        result = (
            select(r.c.doc)
            .where(
                r.c.subject_kind == self.kind,
                r.c.subject_id == t.c.id,
                r.c.fingerprint == t.c.result_fp,
            )
            .scalar_subquery()
        )
        # the columns a lead document leaves out (see leave_out_columns)
        return select(
            t.c.doc, result, t.c.id, t.c.created_us, t.c.updated_us, t.c.version, t.c.stage,
            t.c.external_id,
        )  # fmt: skip

    def _load(self, rows: Sequence[Any]) -> list[E]:
        cls = self.entity_type
        loads = json.loads
        key = RESULT_KEYS.get(self.kind)
        try:
            datas = [loads(row[0]) for row in rows]
            if self.kind == "lead":
                for data, row in zip(datas, rows, strict=True):
                    put_back_columns(data, row)
            if key is not None:
                raws = [None if row[1] is None else loads(row[1]) for row in rows]
                self._attach_results(datas, raws, key)
            self._attach_history(datas)
            return [from_dict(cls, data) for data in datas]
        except (ValueError, TypeError, RecursionError, AttributeError, KeyError):
            pass  # ValidationError and JSONDecodeError are ValueErrors: find the bad one
        out: list[E] = []
        for row in rows:
            doc, result_doc = row[0], row[1]
            found: Any = None
            try:
                found = decode_json(doc, cls.__name__) if isinstance(doc, str | bytes) else doc
                if self.kind == "lead" and isinstance(found, dict) and len(row) > 2:
                    put_back_columns(found, row)
                if key is not None and isinstance(found, dict) and key not in found:
                    raw = None if result_doc is None else decode_json(result_doc, key)
                    try:
                        self._attach_results([found], [raw], key)
                    except ValueError as error:
                        raise ValidationError(key, [Problem(f"$.{key}", str(error))]) from None
                if isinstance(found, dict) and isinstance(found.get("id"), str):
                    self._attach_history([found])
                out.append(from_dict(cls, found))
            except ValidationError as error:
                raise CorruptRecord(self.table.name, self._id_of(doc, found), str(error)) from None
        return out  # pragma: no cover - the fast path refused what this read

    def _attach_results(self, datas: list[Any], raws: list[Any], key: str) -> None:
        """Put each stored result (compact or verbose) back into its entity's document."""
        keys = [r[0] for r in raws if isinstance(r, list) and r and isinstance(r[0], str)]
        templates = self._uow.templates(keys) if keys else {}
        result_doc = self._uow.result_doc
        for data, raw in zip(datas, raws, strict=True):
            if key not in data:
                data[key] = None if raw is None else result_doc(raw, data["id"], templates)

    def _attach_history(self, datas: list[Any]) -> None:
        """Put the stage history back into lead documents (stored in the history table)."""
        if self.kind != "lead":
            return
        ids = [data["id"] for data in datas if "history" not in data]
        if not ids:
            return
        h = self.history_table
        assert h is not None
        found: dict[str, list[dict[str, Any]]] = {i: [] for i in ids}
        with translate(f"reading {self.kind} history"):
            for chunk in _chunks(ids):
                for row in self._uow.conn.execute(
                    select(
                        h.c.entity_id,
                        h.c.from_stage,
                        h.c.to_stage,
                        h.c.event,
                        h.c.at_us,
                        h.c.actor,
                        h.c.note,
                        h.c.pipeline,
                        h.c.from_pipeline,
                    )
                    .where(h.c.entity_id.in_(chunk))
                    .order_by(h.c.entity_id, h.c.seq)
                ):
                    found[row[0]].append(
                        {
                            "from_stage": row[1],
                            "to_stage": row[2],
                            "event": row[3],
                            "at": when(row[4]).isoformat(),
                            "actor": row[5],
                            "note": row[6],
                            "pipeline": row[7],
                            "from_pipeline": row[8],
                        }
                    )
        for data in datas:
            if "history" not in data:
                data["history"] = found[data["id"]]

    def _id_of(self, doc: Any, data: Any) -> str | None:
        """The id of a stored document that cannot be read as an entity."""
        if isinstance(data, dict) and isinstance(data.get("id"), str):
            return str(data["id"])
        t = self.table
        with translate(f"reading {self.kind}"):
            found = self._uow.conn.execute(select(t.c.id).where(t.c.doc == doc)).first()
        return None if found is None else str(found[0])

    def _get(self, entity_id: str) -> E | None:
        t = self.table
        with translate(f"reading {self.kind}"):
            row = self._uow.conn.execute(self._documents().where(t.c.id == entity_id)).first()
        return None if row is None else self._load([row])[0]

    def by_match_keys(self, keys: Sequence[str]) -> list[E]:
        """The records of this kind indexed under at least one of ``keys``."""
        t = self.table
        m = self._uow.tables.match_keys
        found: dict[str, E] = {}
        with translate(f"reading {self.kind}s by match key"):
            for chunk in _chunks(keys):
                ids = select(m.c.id).where(m.c.kind == self.kind, m.c.key.in_(chunk))
                rows = self._uow.conn.execute(self._documents().where(t.c.id.in_(ids))).all()
                found.update((e.id, e) for e in self._load(rows))
        return list(found.values())

    def _get_by_external_ids(self, external_ids: Sequence[str]) -> dict[str, E]:
        t = self.table
        found: dict[str, E] = {}
        with translate(f"reading {self.kind}s by external id"):
            for chunk in _chunks(list(dict.fromkeys(external_ids))):
                rows = self._uow.conn.execute(
                    self._documents().where(t.c.external_id.in_(chunk))
                ).all()
                for entity in self._load(rows):
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

    def select_for(self, criteria: Criteria) -> Select[tuple[str, str | None]]:
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
        stmt = self._documents().where(*self._where(criteria)).order_by(order)
        if criteria.limit is not None:
            stmt = stmt.limit(criteria.limit)
        return stmt

    def _find(self, criteria: Criteria) -> list[E]:
        with translate(f"querying {self.kind}s"):
            rows = self._uow.conn.execute(self.select_for(criteria)).all()
        return self._load(rows)

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
    ) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], list[StoredResult]]:
        """Entity rows (``_ENTITY_COLUMNS``), stage history rows (``_HISTORY_COLUMNS``) and
        stored results of ``entities``.

        Each document is written in one pass (:func:`~pipelinekit.serialization.json_writer`:
        the text ``to_dict`` + ``json.dumps`` would give) without the qualification
        result, which is stored once, in the results table, and referenced by the row;
        a lead's also without its history and what its row's columns give back
        (``LEAD_LEFT_OUT``; a read puts them back).
        """
        index = INDEX[self.entity_type]
        kind = self.kind
        key = RESULT_KEYS.get(kind)
        omit: tuple[str, ...] = () if key is None else (key,)
        if kind == "lead":  # the history table and the row's columns hold these
            omit += LEAD_LEFT_OUT
        write = json_writer(self.entity_type, frozenset(omit))
        has_history = self.history_table is not None
        rows: list[tuple[Any, ...]] = []
        history: list[tuple[Any, ...]] = []
        results: list[StoredResult] = []
        for entity in entities:
            ix: IndexRow = index(entity)
            result = None if key is None else getattr(entity, key)
            fingerprint = None
            if result is not None:
                stored = StoredResult.of(kind, ix.id, result)
                results.append(stored)
                fingerprint = stored.fingerprint
            version: int = entity.version
            analytics: tuple[Any, ...] = _analytics(analytics_values(entity))
            rows.append((*ix, version, write(entity), *analytics, fingerprint))
            if has_history:
                for seq, change in enumerate(getattr(entity, "history", ())):
                    history.append(
                        (
                            ix.id,
                            seq,
                            change.from_stage,
                            change.to_stage,
                            change.event,
                            micros(change.at),
                            change.actor,
                            change.note,
                            change.pipeline,
                            change.from_pipeline,
                        )
                    )
        return rows, history, results

    @staticmethod
    def _probability_rows(entities: Sequence[E]) -> list[tuple[Any, ...]]:
        """The probability history rows of opportunities (``_PROBABILITY_COLUMNS``; exact
        decimal text)."""
        return [
            (
                entity.id,
                seq,
                change.layer,
                None if change.from_value is None else str(change.from_value),
                None if change.to_value is None else str(change.to_value),
                micros(change.at),
                change.actor,
            )
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
                keys = self._uow.tables.match_keys
                kind = self.kind
                if inserts:
                    rows, history, results = self._rows(inserts)
                    _insert_many(conn, t, _ENTITY_COLUMNS, rows)
                    _insert_many(conn, keys, _MATCH_KEY_COLUMNS, _match_key_rows(kind, inserts))
                    if history_table is not None:
                        _insert_many(conn, history_table, _HISTORY_COLUMNS, history)
                    if chances is not None:
                        _insert_many(
                            conn, chances, _PROBABILITY_COLUMNS, self._probability_rows(inserts)
                        )
                    self._uow.results._add(results)
                if updates:
                    values, history, results = self._rows([e for _, e in updates])
                    named: list[dict[str, Any]] = []
                    for row, (expected, _) in zip(values, updates, strict=True):
                        one = dict(zip(_ENTITY_COLUMNS, row, strict=True))
                        one["b_id"] = one["id"]
                        one["b_expected"] = expected
                        named.append(one)
                    stmt = update(t).where(
                        t.c.id == bindparam("b_id"), t.c.version == bindparam("b_expected")
                    )
                    for chunk in _chunks(named):
                        if conn.dialect.supports_sane_multi_rowcount:
                            changed = conn.execute(stmt, chunk).rowcount
                        else:  # pragma: no cover - both supported dialects count
                            changed = sum(conn.execute(stmt, row).rowcount for row in chunk)
                        if changed != len(chunk):
                            raise _Mismatch
                    ids = [e.id for _, e in updates]
                    for table, columns, fresh in (
                        (history_table, _HISTORY_COLUMNS, history),
                        (
                            chances,
                            _PROBABILITY_COLUMNS,
                            self._probability_rows([e for _, e in updates]),
                        ),
                    ):
                        if table is None:
                            continue
                        for id_chunk in _chunks(ids):
                            conn.execute(delete(table).where(table.c.entity_id.in_(id_chunk)))
                        _insert_many(conn, table, columns, fresh)
                    for id_chunk in _chunks(ids):
                        conn.execute(
                            delete(keys).where(keys.c.kind == kind, keys.c.id.in_(id_chunk))
                        )
                    updated = [e for _, e in updates]
                    _insert_many(conn, keys, _MATCH_KEY_COLUMNS, _match_key_rows(kind, updated))
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
            keys = self._uow.tables.match_keys
            conn.execute(delete(keys).where(keys.c.kind == self.kind, keys.c.id == entity_id))

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


_result_row = result_row


class _Results(ResultStore):
    _uow: SqlUnitOfWork

    def _add(self, items: list[StoredResult]) -> None:
        if not items:
            return
        conn = self._uow.conn
        stmt = self._uow.insert_ignore(self._uow.tables.results)
        templates: dict[str, Any] = {}
        rows = [_result_row(i, templates) for i in items]
        with translate("storing qualification results"), conn.begin_nested():
            self._uow.store_templates(templates)
            for chunk in _chunks(rows):
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
        raws = [(fp, json.loads(doc)) for fp, doc in rows]
        keys = [r[0] for _, r in raws if isinstance(r, list) and r and isinstance(r[0], str)]
        templates = self._uow.templates(keys) if keys else {}
        try:
            return [
                StoredResult(
                    subject_kind, subject_id, fp, self._uow.result_doc(raw, subject_id, templates)
                )
                for fp, raw in raws
            ]
        except ValueError as error:
            raise CorruptRecord(self._uow.tables.results.name, subject_id, str(error)) from None

    def _replace(self, old: StoredResult, new: StoredResult) -> None:
        r = self._uow.tables.results
        conn = self._uow.conn
        mine = and_(r.c.subject_kind == old.subject_kind, r.c.subject_id == old.subject_id)
        with translate("rewriting a qualification result"), conn.begin_nested():
            entities = self._uow.tables.entities.get(old.subject_kind)
            if entities is not None:  # the entity's reference follows its result
                conn.execute(
                    update(entities)
                    .where(entities.c.id == old.subject_id, entities.c.result_fp == old.fingerprint)
                    .values(result_fp=new.fingerprint)
                )
            clash = conn.execute(
                select(r.c.rid).where(mine, r.c.fingerprint == new.fingerprint)
            ).first()
            if clash is not None:
                conn.execute(delete(r).where(mine, r.c.fingerprint == old.fingerprint))
                return
            templates: dict[str, Any] = {}
            row = _result_row(new, templates)
            self._uow.store_templates(templates)
            conn.execute(
                update(r)
                .where(mine, r.c.fingerprint == old.fingerprint)
                .values(fingerprint=row["fingerprint"], score=row["score"], doc=row["doc"])
            )


class _Events(EventStore):
    _uow: SqlUnitOfWork

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


_TENTH = Decimal("0.1")


class _Frequencies(FrequencyStore):
    """Counts in tenths: a deal moves a row with one atomic UPDATE (no lost update on
    PostgreSQL, where concurrent writers wait for the row lock; keys are updated in
    one order so two writers cannot deadlock)."""

    _uow: SqlUnitOfWork

    def _models(self) -> list[str]:
        t = self._uow.tables.frequencies
        with translate("reading predictive frequencies"):
            return list(self._uow.conn.execute(select(t.c.model).distinct()).scalars())

    def _rows(self, model: str) -> list[FrequencyRow]:
        t = self._uow.tables.frequencies
        stmt = select(
            t.c.segment, t.c.field, t.c.value, t.c.won_tenths, t.c.lost_tenths, t.c.closed
        ).where(t.c.model == model)
        with translate("reading predictive frequencies"):
            rows = self._uow.conn.execute(stmt).all()
        return [
            FrequencyRow(
                segment or None, field, value, Decimal(won) * _TENTH, Decimal(lost) * _TENTH, closed
            )
            for segment, field, value, won, lost, closed in rows
        ]

    def _learn(self, fresh: PredictiveStrategy, deals: Iterable[Any]) -> int:
        """Stored opportunities (``uow.opportunities.iterate()``, untouched) are counted
        from their documents' few keys, not structured whole (see ``learn_documents``)."""
        repo = cast(_Opportunities, self._uow.opportunities)
        if (
            not isinstance(deals, StoredEntities)
            or deals.started
            or deals.repository is not repo
            or ENTITY_VERSION != DOCUMENT_VERSION
        ):
            return fresh.learn(deals)
        deals.started = True  # read here: the iterator itself yields nothing more
        deals._pages = iter(())
        criteria = attrs.evolve(deals.query.criteria(), limit=deals.batch)
        conn = self._uow.conn
        loads = json.loads

        def documents() -> Iterator[tuple[Any, Any]]:
            page: Any = criteria
            while page is not None:
                with translate("reading opportunities"):
                    rows = conn.execute(repo.select_for(page)).all()
                data: Any = None
                for row in rows:
                    try:
                        data = loads(cast(str, row[0]))
                    except (ValueError, TypeError, RecursionError):
                        data = None  # structuring it reports the corrupt record
                    yield data, row
                if len(rows) < deals.batch:
                    return
                last = data.get("id") if isinstance(data, dict) else None
                if not isinstance(last, str):
                    last = repo._load([rows[-1]])[0].id
                page = attrs.evolve(page, after=last)

        return fresh.learn_documents(documents(), lambda row: repo._load([row])[0])

    def _add(
        self, model: str, keys: list[tuple[str | None, str, str]], won: bool, delta: int
    ) -> None:
        if not keys:
            return
        t = self._uow.tables.frequencies
        conn = self._uow.conn
        ordered = sorted({(s or "", f, v) for s, f, v in keys})
        params = [
            {"b_model": model, "b_segment": s, "b_field": f, "b_value": v} for s, f, v in ordered
        ]
        column = t.c.won_tenths if won else t.c.lost_tenths
        moved = column + 10 * delta
        closed = t.c.closed + delta
        mine = and_(
            t.c.model == bindparam("b_model"),
            t.c.segment == bindparam("b_segment"),
            t.c.field == bindparam("b_field"),
            t.c.value == bindparam("b_value"),
        )
        with translate("counting a closed deal"), conn.begin_nested():
            conn.execute(
                self._uow.insert_ignore(t),
                [
                    {
                        "model": model, "segment": s, "field": f, "value": v,
                        "won_tenths": 1, "lost_tenths": 1, "closed": 0,
                    }
                    for s, f, v in ordered
                ],
            )  # fmt: skip
            conn.execute(
                update(t)
                .where(mine)
                .values(
                    {
                        column.name: case((moved > 0, moved), else_=1),
                        "closed": case((closed > 0, closed), else_=0),
                    }
                ),
                params,
            )
            if delta < 0:  # a row back where it started is gone (as a rebuild has it)
                conn.execute(
                    delete(t).where(
                        mine, t.c.won_tenths == 1, t.c.lost_tenths == 1, t.c.closed == 0
                    ),
                    params,
                )

    def _replace(self, model: str, rows: list[FrequencyRow]) -> None:
        t = self._uow.tables.frequencies
        conn = self._uow.conn
        values = [
            {
                "model": model,
                "segment": r.segment or "",
                "field": r.field,
                "value": r.value,
                "won_tenths": int(r.won * 10),
                "lost_tenths": int(r.lost * 10),
                "closed": r.closed,
            }
            for r in rows
        ]
        with translate("rebuilding predictive frequencies"), conn.begin_nested():
            conn.execute(delete(t).where(t.c.model == model))
            for chunk in _chunks(values):
                conn.execute(insert(t), list(chunk))
