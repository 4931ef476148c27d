"""Fixtures for the analytics tests: SQL storages (SQLite, and PostgreSQL when reachable)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def _postgres_reason(url: str) -> str | None:
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


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def sql_storage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[object]:
    """An empty SQL storage: a SQLite file, or a throwaway PostgreSQL schema."""
    from pipelinekit.storage.sql import postgres_storage, sqlite_storage

    if request.param == "sqlite":
        storage = sqlite_storage(tmp_path / "analytics.db")
        yield storage
        storage.close()
        return
    url = os.environ.get("PIPELINEKIT_POSTGRES_URL", DEFAULT_URL)
    reason = _postgres_reason(url)
    if reason is not None and os.environ.get("PIPELINEKIT_REQUIRE_POSTGRES"):
        pytest.fail(reason + " (PIPELINEKIT_REQUIRE_POSTGRES is set: CI must run these tests)")
    if reason is not None:
        pytest.skip(reason + " (set PIPELINEKIT_POSTGRES_URL or start the server)")
    import sqlalchemy as sa

    schema = f"pk_analytics_{uuid.uuid4().hex[:12]}"
    storage = postgres_storage(url, schema=schema)
    try:
        yield storage
    finally:
        storage.close()
        engine = sa.create_engine(url)
        with engine.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        engine.dispose()


@pytest.fixture(scope="session")
def pg_url_and_schema() -> Iterator[tuple[str, str]]:
    """A PostgreSQL URL and a schema of its own for this session, dropped at the end."""
    url = os.environ.get("PIPELINEKIT_POSTGRES_URL", DEFAULT_URL)
    reason = _postgres_reason(url)
    if reason is not None and os.environ.get("PIPELINEKIT_REQUIRE_POSTGRES"):
        pytest.fail(reason + " (PIPELINEKIT_REQUIRE_POSTGRES is set: CI must run these tests)")
    if reason is not None:
        pytest.skip(reason + " (set PIPELINEKIT_POSTGRES_URL or start the server)")
    import sqlalchemy as sa

    schema = f"pk_analytics_{uuid.uuid4().hex[:12]}"
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        yield url, schema
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        engine.dispose()
