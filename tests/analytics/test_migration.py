"""Schema versions 2 and 3: an older database gains the analytics columns (backfilled from
the documents) and the probability history table."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

from pipelinekit import Channel, Company, Lead, Money, Source, analytics
from pipelinekit.pipelines import PipelineBuilder, compile_pipeline, sales_pipeline
from pipelinekit.storage.sql import SCHEMA_VERSION, sqlite_storage
from pipelinekit.storage.sql.schema import ANALYTICS_COLUMNS, analytics_values

SALES = sales_pipeline()
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _downgrade_version_3(conn: sa.Connection) -> None:
    conn.execute(sa.text("DROP TABLE pipelinekit_opportunity_probability_changes"))
    for kind in ("lead", "opportunity"):
        table = f"pipelinekit_{kind}_stage_changes"
        conn.execute(sa.text(f"ALTER TABLE {table} DROP COLUMN from_pipeline"))


def _downgrade_to_version_1(path: Path) -> None:
    engine = sa.create_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        for table in ("leads", "prospects", "opportunities"):
            for column in ANALYTICS_COLUMNS:
                conn.execute(sa.text(f"ALTER TABLE pipelinekit_{table} DROP COLUMN {column}"))
        _downgrade_version_3(conn)
        conn.execute(sa.text("UPDATE pipelinekit_schema SET version = 1"))
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
    _downgrade_to_version_1(path)

    reopened = sqlite_storage(path)
    assert reopened.schema_version() == SCHEMA_VERSION == 3
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


def test_a_version_2_database_gains_the_probability_history(tmp_path: Path) -> None:
    path = tmp_path / "v2.db"
    storage = sqlite_storage(path)
    storage.schema_version()
    storage.close()
    engine = sa.create_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        _downgrade_version_3(conn)
        conn.execute(sa.text("UPDATE pipelinekit_schema SET version = 2"))
    engine.dispose()
    deal = SALES.open(name="d", amount=Money(1000, "EUR"), at=T0).entity
    deal = SALES.set_probability(deal, manual=70, actor="ana", at=T0 + timedelta(days=1)).entity
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
    assert reopened.schema_version() == 3
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
