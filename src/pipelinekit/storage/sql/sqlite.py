"""SQLite as embedded pipelinekit storage: one file, WAL, foreign keys on.

Every connection sets ``journal_mode=WAL`` (readers never block the writer),
``foreign_keys=ON``, ``synchronous=NORMAL``, ``secure_delete=ON`` (deleted
and overwritten content is zeroed) and a busy timeout.  Units of work start
with ``BEGIN IMMEDIATE``: SQLite has one writer at a time, and taking the
write lock up front makes concurrent processes wait (up to the busy timeout)
instead of failing mid-transaction.  Read-only units of work start with
``BEGIN DEFERRED`` and read a consistent snapshot without any lock.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event

from ...errors import Problem, ValidationError
from ..errors import StorageBusy
from ._driver import translate
from .adapter import SqlStorage
from .schema import build_tables

__all__ = ["sqlite_storage"]


def sqlite_storage(
    path: str | os.PathLike[str],
    *,
    prefix: str = "pipelinekit_",
    busy_timeout: float = 30.0,
) -> SqlStorage:
    """Storage in the SQLite file at ``path`` (created with its schema on first use).

    ``prefix`` starts every table name; ``busy_timeout`` is how many seconds
    a unit of work waits for another process's write lock before raising
    :class:`~pipelinekit.storage.errors.StorageBusy`.
    """
    problems: list[Problem] = []
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
    if problems:
        raise ValidationError("sqlite_storage()", problems)
    file = Path(path).expanduser().resolve()
    return _SqliteStorage(file, build_tables(prefix), busy_timeout)


class _SqliteStorage(SqlStorage):
    def __init__(self, file: Path, tables: Any, busy_timeout: float) -> None:
        super().__init__(f"sqlite:///{file}", tables, display=f"sqlite file {file.name!r}")
        self.file = file
        self._busy_ms = int(busy_timeout * 1000)

    def _create_engine(self) -> Engine:
        engine = create_engine(
            self._url, connect_args={"timeout": self._busy_ms / 1000, "isolation_level": None}
        )
        busy_ms = self._busy_ms

        @event.listens_for(engine, "connect")
        def _configure(dbapi_connection: Any, _record: Any) -> None:
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

        return engine

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

    def compact(self) -> None:
        """VACUUM the file and truncate the WAL (no free page keeps old data).

        Raises :class:`~pipelinekit.storage.errors.StorageBusy` if another
        connection keeps the WAL in use longer than the busy timeout.
        """
        with translate("compacting"), self.engine.connect() as conn:
            raw = conn.connection.dbapi_connection
            assert raw is not None
            raw.execute("VACUUM")
            self._truncate_wal(raw, "the file is compacted")
