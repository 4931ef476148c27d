"""The shipped contract suites, run against the in-memory, SQLite-file and PostgreSQL adapters.

The analytics contract (every report over a unit of work equals the report over
the entities) runs here too: the SQL adapters push the aggregation down, the
in-memory one is read entity by entity.  tests/analytics/test_agreement.py adds a
third-party-style adapter and broken pushdowns the contract must catch.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from pipelinekit.storage import Storage, memory_storage
from pipelinekit.storage.sql import postgres_storage, sqlite_storage
from pipelinekit.testing.contracts import (
    AnalyticsContract,
    StatefulStorageContract,
    StorageContract,
)

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
