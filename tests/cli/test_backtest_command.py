"""``pipelinekit backtest`` end to end on a stored history."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import pipelinekit as pk
from pipelinekit.cli import ExitCode, main
from pipelinekit.domain.history import StageChange
from pipelinekit.storage.sql import sqlite_storage

START = datetime(2026, 1, 1, tzinfo=UTC)
SPLIT = datetime(2026, 3, 1, tzinfo=UTC)

BELGIUM = """
kind = "icp"
name = "belgium"
criteria = [{kind = "one_of", name = "country", field = "company.country", points = {BE = 100}}]
"""
FRANCE = BELGIUM.replace("belgium", "france").replace("BE = 100", "FR = 100")


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.chdir(tmp_path)
    for name in ("PIPELINEKIT_DB", "PIPELINEKIT_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    path = tmp_path / "crm.sqlite3"
    leads = []
    for i in range(40):
        lead = pk.Lead.create(
            company=pk.Company("Acme", country="BE" if i < 10 else "FR"), at=START
        )
        if i < 6 or 10 <= i < 12:
            when = SPLIT + timedelta(days=5)
            change = StageChange("new", "converted", "convert", when)
            lead = lead.evolve(status="converted", history=(change,), updated_at=when)
        leads.append(lead)
    with sqlite_storage(path) as storage, storage.unit_of_work() as uow:
        uow.leads.save_all(leads)
        uow.commit()
    Path("belgium.toml").write_text(BELGIUM, encoding="utf-8")
    Path("france.toml").write_text(FRANCE, encoding="utf-8")
    return str(path)


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_two_strategies_side_by_side(capsys: pytest.CaptureFixture[str], db: str) -> None:
    code, out, _ = run(
        capsys, "--db", db, "backtest", "--strategy", "belgium.toml",
        "--strategy", "france.toml", "--split", "2026-03-01",
    )  # fmt: skip
    assert code == ExitCode.OK
    assert "40 leads, 8 positives, base rate 20.00%" in out
    assert "best roc_auc: belgium" in out


def test_json_has_the_metrics_and_winners(capsys: pytest.CaptureFixture[str], db: str) -> None:
    code, out, _ = run(
        capsys, "--db", db, "backtest", "--strategy", "belgium.toml", "--split", "2026-03-01",
        "--json",
    )  # fmt: skip
    assert code == ExitCode.OK
    data = json.loads(out)
    (metrics,) = data["metrics"]
    # 6 of the 8 positives are Belgian: (6*28 + 0.5*(6*4 + 2*28)) / (8*32)
    assert metrics["roc_auc"] == pytest.approx(208 / 256)
    assert data["winners"]["roc_auc"] == "belgium"


def test_usage_mistakes(capsys: pytest.CaptureFixture[str], db: str) -> None:
    code, _, err = run(capsys, "--db", db, "backtest", "--strategy", "belgium.toml")
    assert code == ExitCode.USAGE
    assert "--split" in err
    code, _, err = run(capsys, "--db", db, "backtest", "--split", "2026-03-01", "--outcome", "x")
    assert code == ExitCode.USAGE
    code, _, err = run(
        capsys, "--db", db, "backtest", "--strategy", "belgium.toml",
        "--strategy", "belgium.toml", "--split", "2026-03-01",
    )  # fmt: skip
    assert code == ExitCode.USAGE
    assert "distinct names" in err


def test_html_report_with_charts(capsys: pytest.CaptureFixture[str], db: str) -> None:
    code, _, _ = run(
        capsys, "--db", db, "backtest", "--strategy", "belgium.toml",
        "--strategy", "france.toml", "--split", "2026-03-01", "--html", "report.html",
    )  # fmt: skip
    assert code == ExitCode.OK
    page = Path("report.html").read_text(encoding="utf-8")
    assert page.count("<svg") == 2
    assert "belgium" in page
    assert "france" in page
    assert "<script" not in page


def test_repeated_splits_give_rolling_windows(capsys: pytest.CaptureFixture[str], db: str) -> None:
    code, out, _ = run(
        capsys, "--db", db, "backtest", "--strategy", "belgium.toml",
        "--split", "2026-02-01", "--split", "2026-03-01", "--json",
    )  # fmt: skip
    assert code == ExitCode.OK
    first, second = json.loads(out)["windows"]
    # every conversion happens after 2026-03-01: none falls in the first window
    assert (first["leads"], first["positives"]) == (40, 0)
    assert (second["leads"], second["positives"]) == (40, 8)
    code, _, err = run(
        capsys, "--db", db, "backtest", "--split", "2026-03-01", "--split", "2026-02-01",
    )  # fmt: skip
    assert code == ExitCode.USAGE
    assert "increase" in err
