"""``--db postgresql://...``: the same commands against PostgreSQL (skips without a server)."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipelinekit.cli import main

pytestmark = pytest.mark.postgres
URL = os.environ.get(
    "PIPELINEKIT_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A database URL whose search_path is a throwaway schema (dropped afterwards)."""
    sa = pytest.importorskip("sqlalchemy")
    engine = sa.create_engine(URL, connect_args={"connect_timeout": 3})
    schema = f"pk_cli_{uuid.uuid4().hex[:10]}"
    try:
        with engine.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    except sa.exc.OperationalError as error:
        engine.dispose()
        if os.environ.get("PIPELINEKIT_REQUIRE_POSTGRES"):
            pytest.fail(f"no PostgreSQL server (PIPELINEKIT_REQUIRE_POSTGRES is set): {error}")
        pytest.skip(f"no PostgreSQL server at PIPELINEKIT_POSTGRES_URL: {error}")
    try:
        yield f"{URL}?options=-csearch_path%3D{schema}"
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        engine.dispose()


def test_demo_import_and_report_on_postgresql(
    pg_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--db", pg_url, "demo", "--leads", "60", "--json"]) == 0
    demo = json.loads(capsys.readouterr().out)
    source = tmp_path / "in.csv"
    source.write_text("id,company,employees\nx1,Acme,12\nx2,Bad,-1\n")
    assert main(["--db", pg_url, "import", str(source), "--json"]) == 1
    summary = json.loads(capsys.readouterr().out)
    assert (summary["inserted"], summary["rejected"]) == (1, 1)
    assert main(["--db", pg_url, "report", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["leads"] == demo["leads"] + 1 == 61
    counts = [(row["step"], row["count"]) for row in report["deal_funnel"]]
    assert counts == [(row["step"], row["count"]) for row in demo["deal_funnel"]]
    assert report["lead_funnel"][0]["count"] == demo["lead_funnel"][0]["count"] + 1
    assert "password" not in json.dumps(report)
