"""SQLite as embedded pipelinekit storage: one file, WAL, foreign keys on.

Every connection sets ``journal_mode=WAL`` (readers never block the writer),
``foreign_keys=ON``, ``synchronous=NORMAL``, ``secure_delete=ON`` (deleted
and overwritten content is zeroed) and a busy timeout.  Units of work start
with ``BEGIN IMMEDIATE``: SQLite has one writer at a time, and taking the
write lock up front makes concurrent processes wait (up to the busy timeout)
instead of failing mid-transaction.  Read-only units of work start with
``BEGIN DEFERRED`` and read a consistent snapshot without any lock.

Writing units of work of one process queue on a lock of the storage object
before they touch the file, so threads are served in turn instead of each
sleeping and retrying on SQLite's busy handler; a thread that already holds
a writing unit of work and opens another is refused at once (it would wait
for itself until the busy timeout).
"""

from __future__ import annotations

import os
import threading
import time
import weakref
from collections import deque
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event

from ...errors import Problem, ValidationError
from ..errors import StorageBusy, StorageError
from ._driver import translate
from .adapter import SqlStorage
from .schema import build_tables

__all__ = ["sqlite_storage"]


def sqlite_storage(
    path: str | os.PathLike[str] | Engine,
    *,
    prefix: str = "pipelinekit_",
    busy_timeout: float = 30.0,
    auto_schema: bool = True,
) -> SqlStorage:
    """Storage in the SQLite file at ``path`` (created with its schema on first use).

    ``path`` may also be a SQLAlchemy :class:`~sqlalchemy.Engine` on a SQLite
    file that the application already uses for its own tables; pipelinekit
    then configures it as it would its own (the connection settings and
    ``BEGIN IMMEDIATE`` described above, for connections made from now on)
    and leaves it open on :meth:`~SqlStorage.close`.

    ``prefix`` starts every table name; ``busy_timeout`` is how many seconds
    a unit of work waits for the write lock (held by another process, or by
    another unit of work of this one) before raising
    :class:`~pipelinekit.storage.errors.StorageBusy`.  With
    ``auto_schema=False`` the storage does not create or migrate the schema
    but refuses a database without the current one
    (:class:`~pipelinekit.storage.errors.SchemaNotReady`): for deployments
    that run ``pipelinekit db upgrade`` as their own step.
    """
    problems: list[Problem] = []
    engine = path if isinstance(path, Engine) else None
    if isinstance(path, Engine):
        if path.dialect.name != "sqlite":
            problems.append(Problem("$.path", f"needs a SQLite engine, got {path.dialect.name}"))
        path = path.url.database or ""
    if str(path) == ":memory:" or not str(path):
        problems.append(
            Problem(
                "$.path",
                "needs a file path (an in-memory database would be empty for every "
                "connection); use pipelinekit.storage.memory_storage() instead",
            )
        )
    if (
        isinstance(busy_timeout, bool)
        or not isinstance(busy_timeout, int | float)
        or not busy_timeout >= 0
    ):
        problems.append(Problem("$.busy_timeout", f"must be >= 0 seconds, got {busy_timeout!r}"))
    if not isinstance(auto_schema, bool):
        problems.append(Problem("$.auto_schema", f"must be True or False, got {auto_schema!r}"))
    if problems:
        raise ValidationError("sqlite_storage()", problems)
    file = Path(path).expanduser().resolve()
    return _SqliteStorage(file, build_tables(prefix), busy_timeout, engine, auto_schema)


class _Queue:
    """A first-come, first-served lock: a release hands it to the longest waiter.

    ``threading.Lock`` lets the releasing thread take it straight back, so
    under load a few writers starve; here each waiter parks on a lock of its
    own and is woken in arrival order.
    """

    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self._waiters: deque[threading.Lock] = deque()
        self._held = False

    def acquire(self, timeout: float) -> bool:
        with self._mutex:
            if not self._held:
                self._held = True
                return True
            waiter = threading.Lock()
            waiter.acquire()
            self._waiters.append(waiter)
        if waiter.acquire(timeout=timeout):
            return True  # handed over by release()
        with self._mutex:
            if waiter in self._waiters:
                self._waiters.remove(waiter)
                return False
        return True  # handed over between the timeout and the mutex: it is ours

    def release(self) -> None:
        with self._mutex:
            if self._waiters:
                self._waiters.popleft().release()  # still held: now by that waiter
            else:
                self._held = False


#: Engines passed in by the application that already carry pipelinekit's listeners.
_CONFIGURED: weakref.WeakSet[Engine] = weakref.WeakSet()


class _SqliteStorage(SqlStorage):
    def __init__(
        self,
        file: Path,
        tables: Any,
        busy_timeout: float,
        engine: Engine | None,
        auto_schema: bool,
    ) -> None:
        super().__init__(
            f"sqlite:///{file}",
            tables,
            display=f"sqlite file {file.name!r}",
            engine=engine,
            auto_schema=auto_schema,
        )
        self.file = file
        self._busy_ms = int(busy_timeout * 1000)
        self._writers = _Queue()
        self._writer_thread: int | None = None
        if engine is not None and engine not in _CONFIGURED:
            _CONFIGURED.add(engine)  # once per engine, however many storages share it
            self._configure(engine)
            engine.dispose()  # idle pooled connections predate the settings: reconnect

    def _acquire_writer(self) -> None:
        me = threading.get_ident()
        if self._writer_thread == me:
            raise StorageError(
                f"this thread already has a writing unit of work open on {self.file.name}; "
                "a second one would wait for the first until the busy timeout: do the work "
                "in the open unit of work, or pass its connection to join it "
                "(unit_of_work(connection=...))"
            )
        if not self._writers.acquire(timeout=self._busy_ms / 1000):
            raise StorageBusy(
                f"another unit of work in this process kept the write lock of {self.file.name} "
                f"for longer than the busy timeout ({self._busy_ms / 1000:g} s); retry"
            )
        self._writer_thread = me

    def _release_writer(self) -> None:
        self._writer_thread = None
        self._writers.release()

    def _create_engine(self) -> Engine:
        engine = create_engine(
            self._url, connect_args={"timeout": self._busy_ms / 1000, "isolation_level": None}
        )
        self._configure(engine)
        return engine

    def _configure(self, engine: Engine) -> None:
        busy_ms = self._busy_ms

        @event.listens_for(engine, "connect")
        def _connect(dbapi_connection: Any, _record: Any) -> None:
            # transactions are begun by the "begin" listener below, not by the driver
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            for pragma in (
                f"busy_timeout={busy_ms}",
                "journal_mode=WAL",
                "foreign_keys=ON",
                "synchronous=NORMAL",
                "secure_delete=ON",
            ):
                cursor.execute(f"PRAGMA {pragma}")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _begin(conn: Connection) -> None:
            # A reader takes a WAL snapshot and no lock: it neither waits nor blocks.
            read_only = conn.get_execution_options().get("pipelinekit_read_only", False)
            conn.exec_driver_sql("BEGIN DEFERRED" if read_only else "BEGIN IMMEDIATE")

    def _ensure(self, engine: Engine, doing: str = "creating the schema") -> int:
        # Creating the schema is idempotent, and SQLite can refuse it at once (without
        # waiting in its busy handler) while other processes open the same new file:
        # retried here until the busy timeout, as any other wait for a lock is.
        deadline = time.monotonic() + self._busy_ms / 1000
        pause = 0.01
        while True:
            try:
                return super()._ensure(engine, doing)
            except StorageBusy:
                if time.monotonic() + pause >= deadline:
                    raise
            time.sleep(pause)
            pause = min(pause * 2, 0.25)

    def _after_erasure(self, conn: Connection) -> None:
        # Copy the erased pages into the main file and empty the WAL, so no old
        # page image with the erased data is left in the -wal file.
        raw = conn.connection.dbapi_connection
        assert raw is not None
        self._truncate_wal(raw, "the erasure is committed")

    def _truncate_wal(self, raw: Any, done: str) -> None:
        """Checkpoint and empty the WAL; :class:`StorageBusy` if a reader keeps it in use.

        SQLite cannot reset the WAL while another connection reads an older
        snapshot: it answers "busy" (the first column) and leaves old page
        images in the file.  Retried until the busy timeout.
        """
        deadline = time.monotonic() + self._busy_ms / 1000
        while True:
            busy = raw.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
            if not busy:
                return
            if time.monotonic() >= deadline:
                raise StorageBusy(
                    f"{done}, but another connection still reads an older snapshot, so "
                    f"old copies of the data remain in {self.file.name}-wal: close the other "
                    "readers and call compact() to remove them"
                )
            time.sleep(0.05)

    def compact(self, *, full: bool = False) -> None:
        """VACUUM the file and truncate the WAL (no free page keeps old data).

        SQLite's VACUUM always rewrites the whole file, so ``full`` (there for
        the PostgreSQL adapter's ``VACUUM FULL``) changes nothing here.

        Raises :class:`~pipelinekit.storage.errors.StorageBusy` if another
        connection keeps the WAL in use longer than the busy timeout.
        """
        with translate("compacting"), self.engine.connect() as conn:
            raw = conn.connection.dbapi_connection
            assert raw is not None
            raw.execute("VACUUM")
            self._truncate_wal(raw, "the file is compacted")
