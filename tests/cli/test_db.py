"""``pipelinekit db upgrade | check``: the schema as a deployment step."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelinekit.cli import ExitCode, main
from pipelinekit.storage.sql import SCHEMA_VERSION, sqlite_storage


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.chdir(tmp_path)
    for name in ("PIPELINEKIT_DB", "PIPELINEKIT_CONFIG"):
        monkeypatch.delenv(name, raising=False)


def test_upgrade_creates_the_schema_once_and_check_reports_it(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    db = str(tmp_path / "app.db")
    assert main(["--db", db, "db", "check"]) == ExitCode.STORAGE
    assert "pipelinekit --db URL db upgrade" in capsys.readouterr().err
    assert main(["--db", db, "db", "upgrade"]) == 0
    assert f"created the storage schema (version {SCHEMA_VERSION})" in capsys.readouterr().out
    assert main(["--db", db, "db", "upgrade"]) == 0
    assert "up to date" in capsys.readouterr().out
    assert main(["--db", db, "db", "check"]) == 0
    strict = sqlite_storage(db, auto_schema=False)
    with strict, strict.unit_of_work() as uow:
        assert uow.leads.count() == 0
