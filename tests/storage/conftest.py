"""Fixtures for the storage tests: SQLite files in tmp dirs, a throwaway PostgreSQL schema."""

from __future__ import annotations

import itertools
import os
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
_counter = itertools.count()


def postgres_url() -> str:
    """The server the PostgreSQL tests use (``PIPELINEKIT_POSTGRES_URL``)."""
    return os.environ.get("PIPELINEKIT_POSTGRES_URL", DEFAULT_URL)


def _reachable(url: str) -> str | None:
    try:
        import psycopg
        from sqlalchemy.engine import make_url
    except ImportError as error:  # pragma: no cover - the test extra installs both
        return f"psycopg/sqlalchemy not installed ({error})"
    parsed = make_url(url)
    try:
        with psycopg.connect(
            host=parsed.host,
            port=parsed.port or 5432,
            user=parsed.username,
            password=parsed.password,
            dbname=parsed.database,
            connect_timeout=3,
        ):
            return None
    except psycopg.Error as error:
        return f"no PostgreSQL server at {parsed.render_as_string(hide_password=True)}: {error}"


@pytest.fixture(scope="session")
def pg_schema() -> Iterator[str]:
    """A unique PostgreSQL schema for this test session, dropped at the end."""
    url = postgres_url()
    reason = _reachable(url)
    if reason is not None and os.environ.get("PIPELINEKIT_REQUIRE_POSTGRES"):
        pytest.fail(reason + " (PIPELINEKIT_REQUIRE_POSTGRES is set: CI must run these tests)")
    if reason is not None:
        pytest.skip(reason + " (set PIPELINEKIT_POSTGRES_URL or start the server)")
    import sqlalchemy as sa

    schema = f"pk_test_{uuid.uuid4().hex[:12]}"
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        yield schema
    finally:
        _drop_schema(engine, schema)
        engine.dispose()


def _drop_schema(engine: Any, schema: str, batch: int = 100) -> None:
    """Drop ``schema`` ``batch`` tables per transaction, then the schema itself.

    The session's schema holds the tables of every storage the tests made
    (thousands of relations); one ``DROP SCHEMA ... CASCADE`` locks them all
    in one transaction and outgrows the server's lock table
    (``max_locks_per_transaction`` x ``max_connections``).
    """
    import sqlalchemy as sa

    with engine.connect() as conn:
        tables = (
            conn.execute(
                sa.text("SELECT tablename FROM pg_tables WHERE schemaname = :s ORDER BY 1"),
                {"s": schema},
            )
            .scalars()
            .all()
        )
    for start in range(0, len(tables), batch):
        names = ", ".join(f'"{schema}"."{name}"' for name in tables[start : start + batch])
        with engine.begin() as conn:
            conn.execute(sa.text(f"DROP TABLE IF EXISTS {names} CASCADE"))
    with engine.begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))


def unique_prefix() -> str:
    """A table prefix no other storage of this session uses."""
    return f"t{os.getpid()}_{next(_counter)}_"
