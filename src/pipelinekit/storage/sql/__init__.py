"""SQL storage adapters (SQLAlchemy 2 Core): SQLite files and PostgreSQL.

Needs the ``sql`` extra (``pip install "pipelinekit[sql]"``); PostgreSQL also
needs the ``postgres`` extra (psycopg 3).  Nothing connects at import time::

    from pipelinekit.storage.sql import sqlite_storage

    storage = sqlite_storage("pipeline.db")
    with storage.unit_of_work() as uow:
        ...
"""

from __future__ import annotations

try:
    import sqlalchemy as _sqlalchemy  # noqa: F401
except ImportError as error:  # pragma: no cover - depends on the environment
    raise ImportError(
        "pipelinekit.storage.sql needs SQLAlchemy 2: install the extra with "
        '`pip install "pipelinekit[sql]"` (and "pipelinekit[postgres]" for PostgreSQL)'
    ) from error

from ...errors import Problem, ValidationError
from .adapter import SqlStorage
from .postgres import postgres_storage
from .schema import MIGRATIONS, SCHEMA_VERSION
from .sqlite import sqlite_storage

__all__ = [
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "SqlStorage",
    "postgres_storage",
    "sql_storage",
    "sqlite_storage",
]


def sql_storage(url: str, **options: object) -> SqlStorage:
    """Storage for a database URL: ``sqlite:///path/to/file.db`` or ``postgresql://...``.

    ``options`` go to :func:`sqlite_storage` or :func:`postgres_storage`.
    """
    if url.startswith("sqlite:///"):
        return sqlite_storage(url.removeprefix("sqlite:///"), **options)  # type: ignore[arg-type]
    if url.startswith(("postgresql://", "postgresql+psycopg://", "postgres://")):
        if url.startswith("postgres://"):
            url = "postgresql://" + url.removeprefix("postgres://")
        return postgres_storage(url, **options)  # type: ignore[arg-type]
    scheme = url.split(":", 1)[0]
    raise ValidationError(
        "sql_storage()",
        [
            Problem(
                "$.url", f"unsupported storage URL {scheme!r}: use sqlite:///path or postgresql://"
            )
        ],
    )
