"""CLI benchmarks: ``pipelinekit import`` vs the storage adapter's bulk save of the same rows.

* ``cli_import``: import ``n`` CSV rows into a fresh SQLite file with the
  import engine behind ``pipelinekit import`` (read, map columns, validate
  each row, upsert by external id in batches of 1000, one transaction per
  batch) vs a hand-written loop that reads the same file with
  ``csv.DictReader``, builds the same leads and calls ``uow.leads.save_all``
  per batch of 1000 into a fresh SQLite file.  Both end with the same rows
  stored; the extra figures report rows/s for each side.
"""

from __future__ import annotations

import atexit
import csv
import itertools
import shutil
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from _harness import Pair, benchmark

import pipelinekit as pk
from pipelinekit.io import import_leads
from pipelinekit.storage.sql import sqlite_storage

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
_WORK = Path(tempfile.mkdtemp(prefix="pk-bench-cli-"))
atexit.register(shutil.rmtree, _WORK, ignore_errors=True)
_files = itertools.count()
HEADER = ["external_id", "name", "email", "job_title", "company", "industry", "employees",
          "country", "source", "bant.budget"]  # fmt: skip


def write_csv(n: int) -> Path:
    """A CSV file of ``n`` lead rows in the import's default column names."""
    path = _WORK / f"leads-{n}.csv"
    if path.exists():
        return path
    industries = ("software", "fintech", "retail", "health")
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        for i in range(n):
            writer.writerow([f"crm-{i}", f"Person {i}", f"p{i}@example.com", "CTO",
                             f"Company {i % 997}", industries[i % 4], 10 + i % 900, "DE",
                             "referral", ("low", "high")[i % 2]])  # fmt: skip
    return path


def _fresh_db() -> Any:
    return sqlite_storage(str(_WORK / f"db-{next(_files)}.sqlite3"))


def _baseline(path: Path) -> int:
    storage = _fresh_db()
    count = 0
    with path.open(encoding="utf-8", newline="") as handle, storage.unit_of_work() as uow:
        batch = []
        for row in csv.DictReader(handle):
            batch.append(
                pk.Lead.create(
                    contact=pk.Person.of(
                        row["name"], email=row["email"], job_title=row["job_title"]
                    ),
                    company=pk.Company(
                        row["company"],
                        industry=row["industry"],
                        employees=int(row["employees"]),
                        country=row["country"],
                    ),
                    source=pk.Source(row["source"]),
                    custom={"bant.budget": row["bant.budget"]},
                    external_id=row["external_id"],
                    at=T0,
                )
            )
            if len(batch) == 1000:
                uow.leads.save_all(batch)
                uow.commit()
                count += len(batch)
                batch = []
        uow.leads.save_all(batch)
        uow.commit()
        count += len(batch)
    storage.close()
    return count


def _import(path: Path) -> int:
    storage = _fresh_db()
    summary = import_leads(path, storage, at=T0, batch_size=1000)
    storage.close()
    assert summary.inserted == summary.rows
    assert summary.rejected == 0
    return summary.inserted


@benchmark(
    "cli_import",
    target=1.5,
    size=100_000,
    quick_size=2_000,
    baseline="csv.DictReader + Lead.create + save_all per 1000 rows",
    rounds=3,
)
def cli_import(n: int) -> Pair:
    path = write_csv(n)
    assert _import(path) == _baseline(path) == n  # same rows stored by both sides

    def extra() -> dict[str, Any]:
        import time

        start = time.perf_counter()
        _import(path)
        mid = time.perf_counter()
        _baseline(path)
        end = time.perf_counter()
        return {
            "import_rows_per_s": round(n / (mid - start)),
            "bulk_save_rows_per_s": round(n / (end - mid)),
        }

    return Pair(pipelinekit=lambda: _import(path), baseline=lambda: _baseline(path), extra=extra)
