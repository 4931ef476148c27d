"""PostgreSQL as pipelinekit storage, through psycopg 3 (the ``postgres`` extra).

Units of work run at READ COMMITTED: an update waits for a concurrent writer
of the same row, then re-checks the version, so a stale write is reported as
:class:`~pipelinekit.storage.errors.ConcurrencyConflict`.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.engine import make_url

from ...errors import Problem, ValidationError
from ._driver import translate
from .adapter import SqlStorage
from .schema import build_tables

__all__ = ["postgres_storage"]

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


def postgres_storage(
    url: str,
    *,
    schema: str | None = None,
    prefix: str = "pipelinekit_",
    pool_size: int = 5,
    engine_options: dict[str, Any] | None = None,
) -> SqlStorage:
    """Storage in a PostgreSQL database (``postgresql+psycopg://user@host/db``).

    ``schema`` puts the tables in that PostgreSQL schema (created if
    missing); ``prefix`` starts every table name.  Nothing connects until the
    first unit of work.
    """
    problems: list[Problem] = []
    try:
        parsed = make_url(url)
    except Exception as error:
        raise ValidationError(
            "postgres_storage()", [Problem("$.url", f"not a database URL: {error}")]
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
    return _PostgresStorage(parsed.render_as_string(hide_password=False), schema, prefix, options)


class _PostgresStorage(SqlStorage):
    def __init__(self, url: str, schema: str | None, prefix: str, options: dict[str, Any]) -> None:
        shown = make_url(url).render_as_string(hide_password=True)
        super().__init__(url, build_tables(prefix, schema), display=shown)
        self._options = options

    def _create_engine(self) -> Engine:
        return create_engine(self._url, **self._options)

    def _read_only_options(self) -> dict[str, Any]:
        return {"pipelinekit_read_only": True, "postgresql_readonly": True}

    def compact(self) -> None:
        """VACUUM the pipelinekit tables (dead row versions keep old data until then)."""
        with translate("compacting"), self.engine.connect() as conn:
            conn = conn.execution_options(isolation_level="AUTOCOMMIT")
            for table in self.tables.metadata.sorted_tables:
                name = table.name if table.schema is None else f'{table.schema}"."{table.name}'
                conn.execute(text(f'VACUUM "{name}"'))

    def _after_erasure(self, conn: Connection) -> None:
        """Nothing to do at once; see :meth:`compact` for dead row versions."""
