"""The shipped contract suites, run against the in-memory, SQLite-file and PostgreSQL adapters.

The analytics contract (every report over a unit of work equals the report over
the entities) runs here too: the SQL adapters push the aggregation down, the
in-memory one is read entity by entity.  tests/analytics/test_agreement.py adds a
third-party-style adapter and broken pushdowns the contract must catch.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import pytest

from pipelinekit.storage import (
    ConcurrencyConflict,
    Storage,
    StorageError,
    UnitOfWork,
    memory_storage,
)
from pipelinekit.storage.sql import postgres_storage, sqlite_storage
from pipelinekit.testing.contracts import (
    AnalyticsContract,
    StatefulStorageContract,
    StorageContract,
)
from pipelinekit.testing.contracts.concurrency import ConcurrencyContract

from .conftest import postgres_url, unique_prefix


class TestMemoryContract(StorageContract, AnalyticsContract):
    def make_storage(self) -> Storage:
        return memory_storage()


class TestSqliteContract(StorageContract, StatefulStorageContract, AnalyticsContract):
    writers_can_overlap = False  # BEGIN IMMEDIATE: one writer at a time

    @pytest.fixture(autouse=True)
    def _directory(self, tmp_path: Path) -> None:
        self.directory = tmp_path

    def make_storage(self) -> Storage:
        directory = getattr(self, "directory", None) or Path(tempfile.mkdtemp())
        return sqlite_storage(directory / f"{unique_prefix()}.db")


@pytest.mark.postgres
class TestPostgresContract(StorageContract, StatefulStorageContract, AnalyticsContract):
    uncommitted_writes_can_overlap = False  # the second writer waits for the row lock

    @pytest.fixture(autouse=True)
    def _schema(self, pg_schema: str) -> None:
        self.schema = pg_schema

    def make_storage(self) -> Storage:
        return postgres_storage(postgres_url(), schema=self.schema, prefix=unique_prefix())


# -- the concurrency contract, and a broken adapter it must catch ---------------------------------


class TestMemoryConcurrency(ConcurrencyContract):
    def make_storage(self) -> Storage:
        return memory_storage()


class TestSqliteConcurrency(ConcurrencyContract):
    @pytest.fixture(autouse=True)
    def _directory(self, tmp_path: Path) -> None:
        self.directory = tmp_path

    def make_storage(self) -> Storage:
        return sqlite_storage(self.directory / f"{unique_prefix()}.db")


@pytest.mark.postgres
class TestPostgresConcurrency(ConcurrencyContract):
    @pytest.fixture(autouse=True)
    def _schema(self, pg_schema: str) -> None:
        self.schema = pg_schema

    def make_storage(self) -> Storage:
        return postgres_storage(postgres_url(), schema=self.schema, prefix=unique_prefix())


class _ConflictsAsPlainErrors(Storage):
    """A mutant: reports a stale write as a non-retryable StorageError."""

    def __init__(self) -> None:
        self.inner = memory_storage()

    def unit_of_work(self, *, read_only: bool = False) -> UnitOfWork:
        uow = self.inner.unit_of_work(read_only=read_only)
        for owner, name in ((uow, "commit"), (uow.opportunities, "save_all")):
            setattr(owner, name, _plain(getattr(owner, name)))
        return uow


def _plain(method: Any) -> Any:
    def call(*args: Any) -> Any:
        try:
            return method(*args)
        except ConcurrencyConflict as error:
            raise StorageError(str(error)) from None

    return call


def test_the_concurrency_contract_catches_conflicts_that_are_not_retryable() -> None:
    # (the lost-update test cannot be relied on here: threads of the in-memory adapter
    # may happen not to collide; the stale-write test forces the conflict)
    with pytest.raises(AssertionError, match="not retryable"):
        ConcurrencyContract().test_a_stale_write_is_a_retryable_error(_ConflictsAsPlainErrors())
