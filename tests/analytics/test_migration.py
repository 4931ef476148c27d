"""Schema migrations of an older database: version 2's analytics columns (backfilled from
the documents), 3's wider stage columns, 4's results stored once and 5's probability history."""

from __future__ import annotations

import importlib.util
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from pipelinekit import Channel, Company, Lead, Money, Probability, Source, analytics
from pipelinekit.pipelines import PipelineBuilder, compile_pipeline, sales_pipeline
from pipelinekit.storage.sql import SCHEMA_VERSION, sqlite_storage
from pipelinekit.storage.sql.schema import (
    ANALYTICS_COLUMNS,
    RESULT_KEYS,
    analytics_values,
    build_tables,
)


def _load_undo() -> Any:
    """``tests/storage/_undo.py`` (another test package: loaded by path, whatever ran first)."""
    path = Path(__file__).resolve().parents[1] / "storage" / "_undo.py"
    spec = importlib.util.spec_from_file_location("_pipelinekit_tests_undo", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


undo_version_7 = _load_undo().undo_version_7
SALES = sales_pipeline()
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
_TABLES = ("leads", "prospects", "opportunities")
_PLURAL = {"lead": "leads", "prospect": "prospects"}


def _undo_version_8(conn: sa.Connection) -> None:
    """Back to version 7 (before match keys): no match keys table."""
    conn.execute(sa.text("DROP TABLE pipelinekit_match_keys"))


def _undo_version_7(conn: sa.Connection) -> None:
    """Back to version 6: verbose results, lead documents with their history."""
    undo_version_7(conn, build_tables())


def _undo_version_6(conn: sa.Connection) -> None:
    """Back to version 5: no predictive frequency table."""
    conn.execute(sa.text("DROP TABLE pipelinekit_predictive_frequencies"))


def _undo_version_5(conn: sa.Connection) -> None:
    """Back to version 4: no probability history table, no ``from_pipeline`` column."""
    conn.execute(sa.text("DROP TABLE pipelinekit_opportunity_probability_changes"))
    for kind in ("lead", "opportunity"):
        table = f"pipelinekit_{kind}_stage_changes"
        conn.execute(sa.text(f"ALTER TABLE {table} DROP COLUMN from_pipeline"))


def _undo_version_4(conn: sa.Connection) -> None:
    """Back to version 3: each result embedded in its entity's document, no ``result_fp``."""
    for kind, key in RESULT_KEYS.items():
        table = f"pipelinekit_{_PLURAL[kind]}"
        rows = conn.execute(
            sa.text(
                f"SELECT t.id, t.doc, r.doc FROM {table} t LEFT JOIN "
                "pipelinekit_qualification_results r ON r.subject_kind = :kind "
                "AND r.subject_id = t.id AND r.fingerprint = t.result_fp"
            ),
            {"kind": kind},
        ).all()
        for entity_id, doc, result_doc in rows:
            data = json.loads(doc)
            data[key] = None if result_doc is None else json.loads(result_doc)
            conn.execute(
                sa.text(f"UPDATE {table} SET doc = :doc WHERE id = :id"),
                {"doc": json.dumps(data), "id": entity_id},
            )
    for table in _TABLES:
        conn.execute(sa.text(f"ALTER TABLE pipelinekit_{table} DROP COLUMN result_fp"))


def _undo_version_3(conn: sa.Connection) -> None:
    """Back to version 2: SQLite never enforced the stage columns' width, nothing to undo."""


def _undo_version_2(conn: sa.Connection) -> None:
    """Back to version 1: no analytics columns."""
    for table in _TABLES:
        for column in ANALYTICS_COLUMNS:
            conn.execute(sa.text(f"ALTER TABLE pipelinekit_{table} DROP COLUMN {column}"))


_UNDO = {
    8: _undo_version_8,
    7: _undo_version_7,
    6: _undo_version_6,
    5: _undo_version_5,
    4: _undo_version_4,
    3: _undo_version_3,
    2: _undo_version_2,
}


def _downgrade(path: Path, version: int) -> None:
    """Rewrite the SQLite database at ``path`` the way schema ``version`` stored it."""
    assert set(_UNDO) == set(range(2, SCHEMA_VERSION + 1))  # a new version needs its undo
    engine = sa.create_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        for step in range(SCHEMA_VERSION, version, -1):
            _UNDO[step](conn)
        conn.execute(sa.text("UPDATE pipelinekit_schema SET version = :v"), {"v": version})
    engine.dispose()


def test_opening_a_version_1_database_adds_and_backfills_the_columns(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    deals = []
    for n in range(7):
        deal = SALES.open(name=f"d{n}", amount=Money(f"{n}00.5", "EUR"), at=T0).entity
        for _ in range(n % 4):
            deal = SALES.fire(deal, "advance", at=T0 + timedelta(days=n)).entity
        deals.append(deal.evolve(owner="ana", expected_close=(T0 + timedelta(days=30)).date()))
    lead = Lead.create(company=Company("Acme"), source=Source(Channel.EVENT), at=T0)
    storage = sqlite_storage(path)
    with storage.unit_of_work() as uow:
        uow.opportunities.save_all(deals)
        uow.leads.save(lead)
        uow.commit()
    storage.close()
    _downgrade(path, 1)

    reopened = sqlite_storage(path)
    assert reopened.schema_version() == SCHEMA_VERSION == 8
    table = reopened.tables.entities["opportunity"]
    with reopened.engine.connect() as conn:
        rows = {
            r["id"]: r
            for r in conn.execute(sa.select(table.c.id, *(table.c[c] for c in ANALYTICS_COLUMNS)))
            .mappings()
            .all()
        }
        leads = reopened.tables.entities["lead"]
        source = conn.execute(sa.select(leads.c.source)).scalar_one()
    assert source == "event"
    for deal in deals:
        stored = {k: v for k, v in rows[deal.id].items() if k != "id"}
        assert stored == analytics_values(deal)
    with reopened.unit_of_work(read_only=True) as uow:
        assert analytics.forecast(uow, SALES, by="stage") == analytics.forecast(
            deals, SALES, by="stage"
        )
        assert analytics.funnel(uow, SALES) == analytics.funnel(deals, SALES)
    reopened.close()


@pytest.mark.parametrize("version", [1, 2, 3, 4])
def test_an_older_database_gains_the_probability_history(tmp_path: Path, version: int) -> None:
    path = tmp_path / f"v{version}.db"
    storage = sqlite_storage(path)
    storage.schema_version()
    storage.close()
    _downgrade(path, version)
    deal = SALES.open(name="d", amount=Money(1000, "EUR"), at=T0).entity
    deal = SALES.set_probability(
        deal, manual=Probability.percent(70), actor="ana", at=T0 + timedelta(days=1)
    ).entity
    deal = SALES.fire(deal, "advance", at=T0 + timedelta(days=2)).entity
    partners = compile_pipeline(
        PipelineBuilder("partners")
        .stage("pilot", probability=50)
        .stage("signed", kind="won")
        .stage("dropped", kind="lost")
        .transition("sign", "pilot", "signed")
        .transition("drop", "pilot", "dropped")
        .build()
    )
    deal = SALES.change_pipeline(
        deal, partners, mapping={"qualification": "pilot"}, at=T0 + timedelta(days=3)
    ).entity
    reopened = sqlite_storage(path)
    with reopened.unit_of_work() as uow:
        uow.opportunities.save(deal)
        uow.commit()
    assert reopened.schema_version() == SCHEMA_VERSION
    with reopened.unit_of_work(read_only=True) as uow:
        (stored,) = list(uow.opportunities.iterate())
        assert stored.probability_history == deal.probability_history
        assert stored.history == deal.history
        assert stored.history[-1].from_pipeline == "sales"
        for day in (0, 1, 2, 3):
            moment = T0 + timedelta(days=day, hours=1)
            assert analytics.forecast(uow, (SALES, partners), as_of=moment) == analytics.forecast(
                [deal], (SALES, partners), as_of=moment
            )
    reopened.close()
