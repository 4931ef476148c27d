"""``pipelinekit export --format parquet`` and ``pipelinekit import-results``, end to end."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from pipelinekit.arrow import from_arrow, score_table
from pipelinekit.cli import ExitCode, main
from pipelinekit.qualification import bant
from pipelinekit.storage.sql import sqlite_storage

AS_OF = datetime(2026, 9, 1, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _here(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    for name in ("PIPELINEKIT_DB", "PIPELINEKIT_CONFIG", "PIPELINEKIT_CURRENCY"):
        monkeypatch.delenv(name, raising=False)


def test_export_score_and_import_results(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    db = str(tmp_path / "crm.sqlite3")
    assert main(["--db", db, "demo", "--leads", "30", "--seed", "4"]) == 0
    assert main(["--db", db, "export", "--format", "parquet", "--out", "leads.parquet"]) == 0
    storage = sqlite_storage(db)
    with storage.unit_of_work(read_only=True) as uow:
        stored = list(uow.leads.iterate())
    table = pq.read_table("leads.parquet")
    assert from_arrow(table) == stored

    strategy = bant()
    pq.write_table(score_table(strategy, table, as_of=AS_OF, results=True), "scores.parquet")
    capsys.readouterr()
    assert main(["--db", db, "import-results", "scores.parquet"]) == 0
    assert "30 rows" in capsys.readouterr().err
    assert main(["--db", db, "import-results", "scores.parquet"]) == 0  # idempotent
    with storage.unit_of_work(read_only=True) as uow:
        for lead in stored:
            results = uow.results.for_subject("lead", lead.id)
            assert results.count(strategy.evaluate(lead, as_of=AS_OF, explain=False)) == 1
    storage.close()


def test_the_commands_refuse_what_they_cannot_do(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    db = str(tmp_path / "crm.sqlite3")
    assert main(["--db", db, "demo", "--leads", "5"]) == 0
    assert main(["--db", db, "export", "--format", "parquet"]) == ExitCode.USAGE
    assert main(["--db", db, "import-results", "missing.parquet"]) != 0
    Path("bad.parquet").write_text("not parquet", encoding="utf-8")
    capsys.readouterr()
    code = main(["--db", db, "import-results", "bad.parquet"])
    assert code != 0
    assert "bad.parquet" in capsys.readouterr().err
