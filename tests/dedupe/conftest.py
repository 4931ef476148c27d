"""Storages for the merge tests: in memory, a SQLite file, a PostgreSQL schema."""

from __future__ import annotations

import itertools
import os
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from pipelinekit.storage import Storage, memory_storage

_count = itertools.count()


def _postgres(url: str) -> Iterator[Callable[[], Storage]]:
    try:
        import psycopg
        import sqlalchemy as sa
        from sqlalchemy.engine import make_url

        from pipelinekit.storage.sql import postgres_storage
    except ImportError as error:  # pragma: no cover - the test extra installs both
        pytest.skip(str(error))
    parsed = make_url(url)
    try:
        psycopg.connect(
            host=parsed.host, port=parsed.port or 5432, user=parsed.username,
            password=parsed.password, dbname=parsed.database, connect_timeout=3,
        ).close()  # fmt: skip
    except psycopg.Error as error:
        if os.environ.get("PIPELINEKIT_REQUIRE_POSTGRES"):
            pytest.fail(f"no PostgreSQL server: {error}")
        pytest.skip(f"no PostgreSQL server: {error}")
    schema = f"pk_dedupe_{uuid.uuid4().hex[:10]}"
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    made: list[Storage] = []

    def make() -> Storage:
        storage = postgres_storage(url, schema=schema, prefix=f"d{os.getpid()}_{next(_count)}_")
        made.append(storage)
        return storage

    try:
        yield make
    finally:
        for storage in made:
            storage.close()
        with engine.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        engine.dispose()


@pytest.fixture(
    scope="module",
    params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)],
)
def make_storage(request: pytest.FixtureRequest) -> Iterator[Callable[[], Storage]]:
    """A factory of fresh, empty storages of one adapter."""
    if request.param == "memory":
        yield memory_storage
    elif request.param == "sqlite":
        from pipelinekit.storage.sql import sqlite_storage

        with tempfile.TemporaryDirectory() as directory:
            made: list[Storage] = []

            def make() -> Storage:
                storage = sqlite_storage(Path(directory) / f"{next(_count)}.db")
                made.append(storage)
                return storage

            yield make
            for storage in made:
                storage.close()
    else:
        url = os.environ.get(
            "PIPELINEKIT_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
        )
        yield from _postgres(url)
