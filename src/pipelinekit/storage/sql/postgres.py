"""PostgreSQL as pipelinekit storage, through psycopg 3 (the ``postgres`` extra).

Units of work run at READ COMMITTED: an update waits for a concurrent writer
of the same row, then re-checks the version, so a stale write is reported as
:class:`~pipelinekit.storage.errors.ConcurrencyConflict`.
"""

from __future__ import annotations

import re
import time
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.engine import make_url

from ...errors import Problem, ValidationError
from ..errors import StorageBusy
from ._driver import translate
from .adapter import SqlStorage
from .schema import build_tables

__all__ = ["postgres_storage"]

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


def postgres_storage(
    url: str | Engine,
    *,
    schema: str | None = None,
    prefix: str = "pipelinekit_",
    pool_size: int = 5,
    engine_options: dict[str, Any] | None = None,
    auto_schema: bool = True,
) -> SqlStorage:
    """Storage in a PostgreSQL database (``postgresql+psycopg://user@host/db``).

    ``url`` may also be a SQLAlchemy :class:`~sqlalchemy.Engine` the
    application already has (its pool is then the application's:
    ``pool_size`` and ``engine_options`` are refused, and
    :meth:`~SqlStorage.close` leaves it open).  ``schema`` puts the tables in
    that PostgreSQL schema (created if missing); ``prefix`` starts every table
    name.  Nothing connects until the first unit of work.  With
    ``auto_schema=False`` the storage does not create or migrate the schema
    but refuses a database without the current one
    (:class:`~pipelinekit.storage.errors.SchemaNotReady`).
    """
    problems: list[Problem] = []
    engine = url if isinstance(url, Engine) else None
    if isinstance(url, Engine):
        if pool_size != 5 or engine_options:
            problems.append(
                Problem("$.pool_size", "is set on the engine you pass in, not here")
                if pool_size != 5
                else Problem("$.engine_options", "are set on the engine you pass in, not here")
            )
        url = url.url.render_as_string(hide_password=False)
    if not isinstance(auto_schema, bool):
        problems.append(Problem("$.auto_schema", f"must be True or False, got {auto_schema!r}"))
    try:
        parsed = make_url(url)
    except Exception as error:
        raise ValidationError(
            "postgres_storage()", [*problems, Problem("$.url", f"not a database URL: {error}")]
        ) from None
    if parsed.get_backend_name() != "postgresql":
        problems.append(Problem("$.url", f"needs a postgresql URL, got {parsed.drivername!r}"))
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    if schema is not None and not (isinstance(schema, str) and _NAME.match(schema)):
        problems.append(Problem("$.schema", f"must be a plain SQL identifier, got {schema!r}"))
    if not (isinstance(prefix, str) and re.match(r"^[A-Za-z0-9_]*$", prefix)):
        problems.append(
            Problem("$.prefix", f"must be letters, digits and underscores, got {prefix!r}")
        )
    if problems:
        raise ValidationError("postgres_storage()", problems)
    options = {"pool_size": pool_size, "pool_pre_ping": True, **(engine_options or {})}
    return _PostgresStorage(
        parsed.render_as_string(hide_password=False),
        schema,
        prefix,
        options,
        engine=engine,
        auto_schema=auto_schema,
    )


class _PostgresStorage(SqlStorage):
    def __init__(
        self,
        url: str,
        schema: str | None,
        prefix: str,
        options: dict[str, Any],
        *,
        engine: Engine | None,
        auto_schema: bool,
    ) -> None:
        shown = make_url(url).render_as_string(hide_password=True)
        super().__init__(
            url,
            build_tables(prefix, schema),
            display=shown,
            engine=engine,
            auto_schema=auto_schema,
        )
        self._options = options

    def _create_engine(self) -> Engine:
        return create_engine(self._url, **self._options)

    def _read_only_options(self) -> dict[str, Any]:
        return {"pipelinekit_read_only": True, "postgresql_readonly": True}

    def compact(self, *, full: bool = False) -> None:
        """VACUUM the pipelinekit tables; ``full=True`` runs ``VACUUM FULL``.

        After an update, a delete or an erasure, PostgreSQL keeps the old row
        versions (dead tuples) in the table's and its indexes' files until a
        VACUUM; a plain VACUUM makes their space reusable, but their bytes stay
        in the data files until something overwrites them.  ``VACUUM FULL``
        writes every table and index anew, holding only the live rows, and
        drops the old files; it locks each table exclusively while it runs
        (readers and writers wait), so run it in a quiet moment.  Copies in
        the server's write-ahead log, its archives, replicas and backups are
        outside pipelinekit's reach.

        No VACUUM removes a row version that a transaction still open may
        see: a snapshot in this database, or a transaction holding a
        transaction id in any database of the server.  ``full=True`` waits up
        to 10 seconds for such transactions begun before the call to end;
        if some remain, the tables are still rewritten but
        :class:`~pipelinekit.storage.errors.StorageBusy` (retryable) names
        those sessions: old row versions remain, so end them and call
        ``compact(full=True)`` again.
        """
        command = "VACUUM FULL" if full else "VACUUM"
        with translate("compacting"), self.engine.connect() as conn:
            conn = conn.execution_options(isolation_level="AUTOCOMMIT")
            horizon = conn.execute(text("SELECT txid_current()")).scalar_one() % 2**32
            if full:
                # Short transactions (an autovacuum's ANALYZE, another writer) are waited for.
                deadline = time.monotonic() + _SNAPSHOT_WAIT
                while _older_snapshots(conn, horizon) and time.monotonic() < deadline:
                    time.sleep(0.05)
            for table in self.tables.metadata.sorted_tables:
                name = table.name if table.schema is None else f'{table.schema}"."{table.name}'
                conn.execute(text(f'{command} "{name}"'))
            found = _older_snapshots(conn, horizon) if full else []
        if found:
            raise StorageBusy(
                "the tables are rewritten, but sessions "
                f"{', '.join(map(str, found))} hold snapshots older than compact(), so old "
                "row versions they may see remain: end those transactions and call "
                "compact(full=True) again"
            )

    def _after_erasure(self, conn: Connection) -> None:
        """Nothing to do at once; see :meth:`compact` for dead row versions."""


#: How long ``compact(full=True)`` waits for older snapshots to end before rewriting.
_SNAPSHOT_WAIT = 10.0


def _older_snapshots(conn: Connection, horizon: int) -> list[int]:
    """Sessions that keep row versions deleted before transaction ``horizon``.

    A snapshot older than ``horizon`` in this database, or a transaction holding
    a transaction id older than it in any database of the server: PostgreSQL
    computes what a VACUUM may remove from both.
    """
    return list(
        conn.execute(
            text(
                "SELECT pid FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND ("
                "(datname = current_database() AND backend_xmin IS NOT NULL "
                "AND age(backend_xmin) > age(CAST(CAST(:h AS text) AS xid))) OR "
                "(backend_xid IS NOT NULL "
                "AND age(backend_xid) > age(CAST(CAST(:h AS text) AS xid)))) ORDER BY pid"
            ),
            {"h": horizon},
        ).scalars()
    )
