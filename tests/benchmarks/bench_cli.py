"""CLI benchmarks: ``pipelinekit import`` vs the storage adapter's bulk save of the same rows.

* ``cli_import``: import ``n`` CSV rows into a fresh SQLite file with the
  import engine behind ``pipelinekit import`` (read, map columns, validate
  each row, upsert by external id in batches of 1000, one transaction per
  batch) vs a hand-written loop that reads the same file with
  ``csv.DictReader``, builds the same leads and calls ``uow.leads.save_all``
  per batch of 1000 into a fresh SQLite file.  Both end with the same rows
  stored; the extra figures report rows/s for each side.
* ``qualify_cli``: ``pipelinekit qualify`` in-process over ``n`` stored leads of
  varied data (tests/benchmarks/leads_csv.py, imported once; every round starts
  from a fresh copy of that file) vs the scoring itself (``score_many`` of the
  same leads, already loaded) plus a hand-written ``executemany`` of the
  results' rows, serialised beforehand.  Both store the same scores (checked).
"""

from __future__ import annotations

import atexit
import csv
import itertools
import shutil
import sqlite3
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


# -- qualify_cli ----------------------------------------------------------------------------------

AS_OF = "2026-06-01T00:00:00+00:00"


def _imported(n: int) -> Path:
    """A SQLite file holding ``n`` imported varied leads (built once per run)."""
    from leads_csv import write

    path = _WORK / f"imported-{n}.sqlite3"
    if not path.exists():
        csv_path = write(_WORK / f"varied-{n}.csv", n)
        storage = sqlite_storage(str(path))
        import_leads(csv_path, storage, at=T0, batch_size=5000)
        storage.close()
    return path


def _copy(path: Path) -> Path:
    target = _WORK / f"copy-{next(_files)}.sqlite3"
    shutil.copyfile(path, target)
    return target


def _stored_scores(path: Path) -> dict[str, float | None]:
    conn = sqlite3.connect(path)
    try:
        return dict(conn.execute("SELECT id, score FROM pipelinekit_leads").fetchall())
    finally:
        conn.close()


@benchmark(
    "qualify_cli",
    target=3.0,
    size=100_000,
    quick_size=2_000,
    baseline="score_many of the loaded leads + sqlite3 executemany of their result rows",
    rounds=3,
)
def qualify_cli(n: int) -> Pair:
    import contextlib
    import io
    import json

    from pipelinekit.cli import main
    from pipelinekit.demo import demo_scorer
    from pipelinekit.storage.ports import StoredResult
    from pipelinekit.storage.sql.schema import result_row

    base = _imported(n)
    copies = [_copy(base) for _ in range(8)]
    storage = sqlite_storage(str(base))
    with storage.unit_of_work(read_only=True) as uow:
        leads = list(uow.leads.iterate())
    storage.close()
    scorer = demo_scorer()
    when = datetime.fromisoformat(AS_OF)
    # the rows pipelinekit stores (compact results and their shared templates), serialised
    # before the clock starts
    templates: dict[str, Any] = {}
    rows = [
        (row["subject_kind"], row["subject_id"], row["fingerprint"], row["strategy"],
         row["as_of_us"], row["score"], row["doc"])
        for row in (
            result_row(StoredResult.of("lead", lead.id, r), templates)
            for lead, r in zip(leads, scorer.evaluate_many(leads, as_of=when), strict=True)
        )
    ]  # fmt: skip
    template_rows = [
        (key, json.dumps(body, separators=(",", ":"))) for key, body in templates.items()
    ]
    insert = (
        "INSERT INTO pipelinekit_qualification_results (subject_kind, subject_id, fingerprint, "
        "strategy, as_of_us, score, doc) VALUES (?, ?, ?, ?, ?, ?, ?)"
    )

    def ours() -> Path:
        path = copies.pop()
        with contextlib.redirect_stdout(io.StringIO()):
            code = main(["--db", str(path), "qualify", "--as-of", AS_OF, "--json"])
        assert code == 0
        return path

    def theirs() -> Path:
        path = copies.pop()
        scores = scorer.score_many(leads, as_of=when)
        conn = sqlite3.connect(path, isolation_level=None)
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(
            "INSERT OR IGNORE INTO pipelinekit_result_templates (key, body) VALUES (?, ?)",
            template_rows,
        )
        conn.executemany(insert, rows)
        conn.executemany(
            "UPDATE pipelinekit_leads SET score = ? WHERE id = ?",
            [
                (None if s is None else float(s), lead.id)
                for s, lead in zip(scores, leads, strict=True)
            ],
        )
        conn.execute("COMMIT")
        conn.close()
        return path

    assert _stored_scores(ours()) == _stored_scores(theirs())
    copies.extend(_copy(base) for _ in range(8 - len(copies)))
    return Pair(pipelinekit=ours, baseline=theirs, extra=lambda: {"leads": n})
