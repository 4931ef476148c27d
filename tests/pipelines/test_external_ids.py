"""Stage keys and event names are external ids: a CRM's own stage ids and API values work
through definition, transitions, storage, SQL analytics and diagrams."""

from __future__ import annotations

import itertools
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelinekit import Money, analytics, memory_storage
from pipelinekit.pipelines import (
    PipelineDefinitionError,
    compile_pipeline,
    pipeline_from_dict,
    to_markdown,
    to_mermaid,
)
from pipelinekit.pipelines.machine import safe_ids
from pipelinekit.storage.sql import SCHEMA_VERSION, sqlite_storage

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
KEYS = ["Prospecting", "Id. Decision Makers", "12345678", "Closed Won", "Closed Lost"]

external_ids = st.text(
    st.characters(codec="utf-8", categories=("L", "N", "P", "S", "Zs")), min_size=1, max_size=40
).filter(lambda s: s.strip() == s and s != "*" and s.isprintable())


def _definition(keys: list[str], events: tuple[str, str, str] = ("Next", "Won!", "Lost.")):
    *open_keys, won, lost = keys
    transitions = [
        {"event": events[0], "source": a, "target": b} for a, b in itertools.pairwise(open_keys)
    ]
    transitions += [
        {"event": events[1], "source": open_keys[-1], "target": won},
        {"event": events[2], "source": "*", "target": lost},
    ]
    stages = [{"key": k, "probability": 10 * (i + 1)} for i, k in enumerate(open_keys)]
    stages += [{"key": won, "kind": "won"}, {"key": lost, "kind": "lost"}]
    return {"key": "crm", "stages": stages, "transitions": transitions}


def _deals(pipeline, moves: list[int]):
    deals = []
    for n, steps in enumerate(moves):
        deal = pipeline.open(name=f"D{n}", amount=Money(100 * (n + 1), "EUR"), at=T0).entity
        later = T0 + timedelta(days=1)
        for _ in range(steps):
            if not deal.is_open:
                break
            events = pipeline.available_events(deal)
            event = events[0] if events[0] != "Lost." or len(events) == 1 else events[1]
            reason = "price" if event == "Lost." else None
            deal = pipeline.fire(deal, event, at=later, reason=reason).entity
        deals.append(deal)
    return deals


@settings(max_examples=25, deadline=None)
@given(
    st.lists(external_ids, min_size=3, max_size=5, unique=True),
    st.lists(st.integers(0, 5), min_size=1, max_size=6),
)
def test_any_printable_ids_move_store_and_forecast(keys: list[str], moves: list[int]) -> None:
    pipeline = compile_pipeline(pipeline_from_dict(_definition(keys)))
    deals = _deals(pipeline, moves)
    assert {d.stage for d in deals} <= set(keys)
    storage = memory_storage()
    with storage.unit_of_work() as uow:
        uow.opportunities.save_all(deals)
        uow.commit()
    with storage.unit_of_work(read_only=True) as uow:
        stored = analytics.forecast(uow, [pipeline], by=("stage",))
    assert stored == analytics.forecast(deals, [pipeline], by=("stage",))
    ids = safe_ids(keys, "st_")
    assert len(set(ids.values())) == len(keys)
    assert all(i.isidentifier() for i in ids.values())


def test_crm_ids_work_through_sql_storage_analytics_and_diagrams(tmp_path: Path) -> None:
    spec = pipeline_from_dict(_definition(KEYS))
    pipeline = compile_pipeline(spec)
    deals = _deals(pipeline, [0, 1, 2, 3, 1, 9])
    assert [d.stage for d in deals] == [
        "Prospecting",
        "Id. Decision Makers",
        "12345678",
        "Closed Won",
        "Id. Decision Makers",
        "Closed Won",
    ]
    assert pipeline.move(deals[1], "12345678").entity.stage == "12345678"
    moved = pipeline.bulk(deals[:3], "Next", at=T0 + timedelta(days=2))
    assert [d.stage for d in moved.moved] == ["Id. Decision Makers", "12345678"]
    storage = sqlite_storage(tmp_path / "crm.db")
    with storage.unit_of_work() as uow:
        saved = uow.opportunities.save_all(deals)
        uow.commit()
    with storage.unit_of_work(read_only=True) as uow:
        assert [uow.opportunities.get(d.id) for d in deals] == saved
        assert uow.opportunities.count_by_stage() == {
            "Prospecting": 1,
            "Id. Decision Makers": 2,
            "12345678": 1,
            "Closed Won": 2,
        }
        assert [c.to_stage for c in uow.opportunities.history(deals[3].id)] == KEYS[:4]
        for by in (("stage",), ("category",)):
            assert analytics.forecast(uow, [pipeline], by=by) == analytics.forecast(
                deals, [pipeline], by=by
            )
        assert analytics.funnel(uow, pipeline) == analytics.funnel(deals, pipeline)
    storage.close()
    mermaid = to_mermaid(pipeline, deals[1])
    assert 'state "Id. Decision Makers" as st_id_decision_makers' in mermaid
    assert "st_id_decision_makers --> st_12345678 : Next" in mermaid
    assert "st_id_decision_makers:::active" in mermaid
    assert "Closed Won" in to_markdown(pipeline)


@pytest.mark.parametrize(
    ("key", "fragment"),
    [("", "blank"), ("  ", "blank"), ("a\tb", "printable"), (" a", "spaces"), ("x" * 256, "255")],
)
def test_unusable_ids_are_refused_with_the_reason(key: str, fragment: str) -> None:
    data = _definition(["Prospecting", "Closed Won", "Closed Lost"])
    data["stages"].append({"key": key})
    with pytest.raises(PipelineDefinitionError) as caught:
        pipeline_from_dict(data)
    assert [(p.path, fragment in p.message) for p in caught.value.problems] == [
        ("$.stages[3].key", True)
    ]


def test_a_version_2_postgresql_schema_is_widened_for_long_ids() -> None:
    url = os.environ.get("PIPELINEKIT_POSTGRES_URL")
    if not url:
        pytest.skip("set PIPELINEKIT_POSTGRES_URL")
    from pipelinekit.storage.sql import postgres_storage

    schema = f"pk_ext_{os.getpid()}"
    engine = sa.create_engine(url)
    try:
        first = postgres_storage(url, schema=schema)
        assert first.schema_version() == SCHEMA_VERSION
        first.close()
        with engine.begin() as conn:  # what schema version 2 had
            conn.execute(
                sa.text(
                    f'ALTER TABLE "{schema}".pipelinekit_opportunities '
                    "ALTER COLUMN stage TYPE VARCHAR(200)"
                )
            )
            conn.execute(
                sa.text(
                    f'ALTER TABLE "{schema}".pipelinekit_opportunity_stage_changes '
                    "ALTER COLUMN to_stage TYPE VARCHAR(100)"
                )
            )
            for table in first.tables.entities.values():  # added by version 4
                conn.execute(sa.text(f'ALTER TABLE "{schema}".{table.name} DROP COLUMN result_fp'))
            # added by version 5: the probability history and from_pipeline
            probabilities = first.tables.probabilities.name
            conn.execute(sa.text(f'DROP TABLE "{schema}".{probabilities}'))
            for table in first.tables.history.values():
                conn.execute(
                    sa.text(f'ALTER TABLE "{schema}".{table.name} DROP COLUMN from_pipeline')
                )
            # added by version 6: the predictive frequency table
            frequencies = first.tables.frequencies.name
            conn.execute(sa.text(f'DROP TABLE "{schema}".{frequencies}'))
            # added by version 7: compact results' templates (the database is empty)
            templates = first.tables.templates.name
            conn.execute(sa.text(f'DROP TABLE "{schema}".{templates}'))
            # added by version 8: the duplicate lookup keys
            conn.execute(sa.text(f'DROP TABLE "{schema}".{first.tables.match_keys.name}'))
            conn.execute(sa.text(f'UPDATE "{schema}".pipelinekit_schema SET version = 2'))
        long_key = "Stage " + "x" * 240
        pipeline = compile_pipeline(pipeline_from_dict(_definition([long_key, "Won", "Lost"])))
        deal = pipeline.open(name="D", at=T0).entity
        reopened = postgres_storage(url, schema=schema)
        assert reopened.schema_version() == SCHEMA_VERSION
        with reopened.unit_of_work() as uow:
            uow.opportunities.save(deal)
            uow.commit()
        with reopened.unit_of_work(read_only=True) as uow:
            assert uow.opportunities.get(deal.id).stage == long_key
        reopened.close()
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        engine.dispose()
