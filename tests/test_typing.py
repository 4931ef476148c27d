"""The public API type-checks as documented under ``mypy --strict`` (py.typed is shipped)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import pipelinekit

SNIPPET = """
from datetime import UTC, datetime
from decimal import Decimal

import pipelinekit as pk

now = datetime(2026, 1, 1, tzinfo=UTC)
price: pk.Money = pk.Money("19.90", "eur") + pk.Money(3, "EUR")
amount: Decimal = price.amount
source = pk.Source("referral")
person = pk.Person.of("Ada", email="ada@example.com", seniority="vp")
lead: pk.Lead = pk.Lead.create(contact=person, source=source, at=now)
lead_id: pk.LeadId = lead.id
deal = pk.Opportunity.create(
    name="Deal", pipeline="sales", stage="s", probability=pk.Probability.percent("12.5"), at=now
)
again: pk.Lead = pk.from_dict(pk.Lead, pk.to_dict(lead))
"""

BAD = """
import pipelinekit as pk

opp_id: pk.OpportunityId = pk.LeadId("x")
"""


def _mypy(tmp_path: Path, source: str) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "user_code.py"
    path.write_text(source, encoding="utf-8")
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", str(path)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )


def test_py_typed_is_shipped() -> None:
    assert (Path(pipelinekit.__file__).parent / "py.typed").is_file()


@pytest.mark.slow
def test_documented_usage_type_checks(tmp_path: Path) -> None:
    result = _mypy(tmp_path, SNIPPET)
    assert result.returncode == 0, result.stdout


@pytest.mark.slow
def test_typed_ids_are_not_interchangeable(tmp_path: Path) -> None:
    result = _mypy(tmp_path, BAD)
    assert result.returncode == 1
    assert "incompatible types" in result.stdout.lower()


STORAGE = """
from pipelinekit.aio import AsyncStorage
from pipelinekit.storage import UnitOfWork, memory_storage
from pipelinekit.storage.sql import SqlUnitOfWork, sqlite_storage

storage = sqlite_storage("app.db")


def own_rows(uow: SqlUnitOfWork) -> int:
    return len(uow.connection.exec_driver_sql("SELECT 1").all())


def count(uow: UnitOfWork) -> int:
    return uow.leads.count()


one: int = storage.run(own_rows)
two: int = storage.run(count)


async def later() -> int:
    astorage: AsyncStorage[SqlUnitOfWork] = AsyncStorage(storage)
    return await astorage.run(own_rows) + await astorage.run(count)


async def elsewhere() -> int:
    return await AsyncStorage(memory_storage()).run(count)
"""

NOT_SQL = """
from pipelinekit.aio import AsyncStorage
from pipelinekit.storage import UnitOfWork, memory_storage
from pipelinekit.storage.sql import SqlUnitOfWork


def own_rows(uow: SqlUnitOfWork) -> object:
    return uow.connection


def plain(uow: UnitOfWork) -> object:
    return uow.connection


async def run() -> object:
    return await AsyncStorage(memory_storage()).run(own_rows)
"""


@pytest.mark.slow
def test_the_sql_unit_of_work_and_its_connection_are_typed(tmp_path: Path) -> None:
    """Typed apps reach ``uow.connection`` through ``SqlUnitOfWork``, sync and async."""
    result = _mypy(tmp_path, STORAGE)
    assert result.returncode == 0, result.stdout
    refused = _mypy(tmp_path, NOT_SQL)
    assert refused.returncode == 1
    assert 'has no attribute "connection"' in refused.stdout  # not on the storage port
    assert "incompatible type" in refused.stdout  # a SQL function given to another storage
