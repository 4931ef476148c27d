"""SQL storage adapters (SQLAlchemy 2 Core): SQLite files and PostgreSQL.

Needs the ``sql`` extra (``pip install "pipelinekit[sql]"``); PostgreSQL also
needs the ``postgres`` extra (psycopg 3).  Nothing connects at import time::

    from pipelinekit.storage.sql import sqlite_storage

    storage = sqlite_storage("pipeline.db")
    with storage.unit_of_work() as uow:
        ...
"""

from __future__ import annotations

from typing import Any

try:
    import sqlalchemy as _sqlalchemy  # noqa: F401
except ImportError as error:  # pragma: no cover - depends on the environment
    raise ImportError(
        "pipelinekit.storage.sql needs SQLAlchemy 2: install the extra with "
        '`pip install "pipelinekit[sql]"` (and "pipelinekit[postgres]" for PostgreSQL)'
    ) from error

from sqlalchemy import Engine

from ...errors import Problem, ValidationError
from .adapter import SqlStorage, SqlUnitOfWork
from .postgres import postgres_storage
from .schema import MIGRATIONS, SCHEMA_VERSION
from .sqlite import sqlite_storage

__all__ = [
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "SqlStorage",
    "SqlUnitOfWork",
    "postgres_storage",
    "sql_storage",
    "sqlite_storage",
]


def sql_storage(
    url: str | Engine,
    *,
    prefix: str = "pipelinekit_",
    busy_timeout: float | None = None,
    schema: str | None = None,
    pool_size: int | None = None,
    engine_options: dict[str, Any] | None = None,
    auto_schema: bool = True,
) -> SqlStorage:
    """Storage for a database URL: ``sqlite:///path/to/file.db`` or ``postgresql://...``.

    ``url`` may also be a SQLAlchemy :class:`~sqlalchemy.Engine` the
    application already has (see :func:`sqlite_storage` and
    :func:`postgres_storage`).  ``prefix`` starts every table name;
    ``auto_schema=False`` leaves creating the schema to a deployment step
    (``pipelinekit db upgrade``); ``busy_timeout`` is a
    :func:`sqlite_storage` option, ``schema``, ``pool_size`` and
    ``engine_options`` are :func:`postgres_storage` options (given for the
    other database they are refused, all problems at once).
    """
    if isinstance(url, Engine):
        engine = url
        if engine.dialect.name == "sqlite":
            if busy_timeout is None:
                return sqlite_storage(engine, prefix=prefix, auto_schema=auto_schema)
            return sqlite_storage(
                engine, prefix=prefix, busy_timeout=busy_timeout, auto_schema=auto_schema
            )
        return postgres_storage(engine, schema=schema, prefix=prefix, auto_schema=auto_schema)
    problems: list[Problem] = []
    sqlite = url.startswith("sqlite:///")
    postgres = url.startswith(("postgresql://", "postgresql+psycopg://", "postgres://"))
    if not sqlite and not postgres:
        scheme = url.split(":", 1)[0]
        problems.append(
            Problem(
                "$.url", f"unsupported storage URL {scheme!r}: use sqlite:///path or postgresql://"
            )
        )
    if postgres and busy_timeout is not None:
        problems.append(Problem("$.busy_timeout", "is a SQLite option"))
    postgres_only: dict[str, object] = {
        "schema": schema,
        "pool_size": pool_size,
        "engine_options": engine_options,
    }
    if sqlite:
        problems += [
            Problem(f"$.{name}", "is a PostgreSQL option")
            for name, value in postgres_only.items()
            if value is not None
        ]
    if problems:
        raise ValidationError("sql_storage()", problems)
    if sqlite:
        path = url.removeprefix("sqlite:///")
        if busy_timeout is None:
            return sqlite_storage(path, prefix=prefix, auto_schema=auto_schema)
        return sqlite_storage(
            path, prefix=prefix, busy_timeout=busy_timeout, auto_schema=auto_schema
        )
    if url.startswith("postgres://"):
        url = "postgresql://" + url.removeprefix("postgres://")
    return postgres_storage(
        url,
        schema=schema,
        prefix=prefix,
        pool_size=5 if pool_size is None else pool_size,
        engine_options=engine_options,
        auto_schema=auto_schema,
    )
