"""Compact storage: each qualification result is stored once, and schema 2 databases migrate."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from pipelinekit.storage import LeadQuery, ProspectQuery, Storage
from pipelinekit.storage.sql import SCHEMA_VERSION, SqlStorage, postgres_storage, sqlite_storage
from pipelinekit.storage.sql.schema import RESULT_KEYS
from pipelinekit.testing.contracts.samples import at, lead, prospect, result

from ._undo import undo_version_7
from .conftest import postgres_url, unique_prefix


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def make(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    made: list[Storage] = []
    if request.param == "sqlite":
        path = tmp_path / "db.sqlite"

        def build() -> SqlStorage:
            made.append(sqlite_storage(path))
            return made[-1]

    else:
        schema, prefix = request.getfixturevalue("pg_schema"), unique_prefix()

        def build() -> SqlStorage:
            made.append(postgres_storage(postgres_url(), schema=schema, prefix=prefix))
            return made[-1]

    yield build
    for storage in made:
        storage.close()


def _rows(storage: SqlStorage, kind: str) -> dict[str, dict[str, Any]]:
    table = storage.tables.entities[kind]
    with storage.engine.connect() as conn:
        rows = conn.execute(sa.select(table.c.id, table.c.doc, table.c.result_fp)).all()
    return {r.id: {"doc": json.loads(r.doc), "result_fp": r.result_fp} for r in rows}


def _results(storage: SqlStorage) -> list[tuple[str, str, str]]:
    r = storage.tables.results
    with storage.engine.connect() as conn:
        rows = conn.execute(sa.select(r.c.subject_kind, r.c.subject_id, r.c.fingerprint)).all()
    return sorted((k, i, f) for k, i, f in rows)


def _sample() -> tuple[list[Any], list[Any]]:
    leads = [lead(n, qualification=result(n * 7 - 30, as_of=at(n))) for n in range(6)]
    leads.append(lead(6, qualification=None))  # never qualified
    prospects = [prospect(0, fit=result(42, as_of=at(3))), prospect(1, fit=None)]
    return leads, prospects


def test_a_result_is_stored_once_and_loads_back_into_its_entity(make: Any) -> None:
    storage = make()
    leads, prospects = _sample()
    with storage.unit_of_work() as uow:
        saved = uow.leads.save_all(leads)
        saved_prospects = uow.prospects.save_all(prospects)
        uow.commit()
    for kind in ("lead", "prospect"):
        for row in _rows(storage, kind).values():
            assert RESULT_KEYS[kind] not in row["doc"]
    fps = {i: r["result_fp"] for i, r in _rows(storage, "lead").items()}
    assert fps[leads[6].id] is None
    assert sum(fp is not None for fp in fps.values()) == 6
    assert [(k, i) for k, i, _ in _results(storage)] == sorted(
        [("lead", x.id) for x in leads[:6]] + [("prospect", prospects[0].id)]
    )
    with storage.unit_of_work(read_only=True) as uow:
        assert [uow.leads.get(x.id) for x in saved] == saved
        assert list(uow.leads.iterate(batch=2)) == sorted(saved, key=lambda x: x.id)
        scored = [x for x in saved if x.qualification and (x.qualification.score or 0) >= 0]
        assert uow.leads.find(LeadQuery(min_score=0)).items == tuple(
            sorted(scored, key=lambda x: x.id)
        )
        assert uow.leads.by_external_ids([x.external_id for x in saved]) == {  # type: ignore[misc]
            x.external_id: x for x in saved
        }
        assert list(uow.prospects.find(ProspectQuery()).items) == sorted(
            saved_prospects, key=lambda x: x.id
        )


def test_re_qualifying_moves_the_reference_and_keeps_every_result(make: Any) -> None:
    storage = make()
    first = lead(1, qualification=result(10, as_of=at(1)))
    with storage.unit_of_work() as uow:
        stored = uow.leads.save(first)
        again = uow.leads.save(stored.evolve(qualification=result(80, as_of=at(2))))
        same = uow.leads.save(again.evolve(owner="sam"))  # the result unchanged: stored once
        uow.commit()
    assert len(_results(storage)) == 2
    with storage.unit_of_work(read_only=True) as uow:
        assert uow.leads.get(first.id) == same
        assert [r.score for r in uow.results.for_subject("lead", first.id)] == [
            first.qualification.score,  # type: ignore[union-attr]
            same.qualification.score,  # type: ignore[union-attr]
        ]


def test_erasure_keeps_the_entity_pointing_at_its_rewritten_result(make: Any) -> None:
    storage = make()
    person = lead(1, qualification=result(55, as_of=at(1)))
    with storage.unit_of_work() as uow:
        uow.leads.save(person)
        uow.commit()
    with storage.unit_of_work() as uow:
        uow.erase_personal_data(person.id, at=at(9))
        uow.commit()
    with storage.unit_of_work(read_only=True) as uow:
        erased = uow.leads.get(person.id)
        assert erased.qualification is not None
        assert erased.qualification == uow.results.latest("lead", person.id)


def _downgrade_to_version_2(storage: SqlStorage, *, drop_a_result: str | None = None) -> None:
    """Rewrite a database the way schema version 2 stored it: results embedded in documents."""
    with storage.engine.begin() as conn:
        undo_version_7(conn, storage.tables)
        r = storage.tables.results
        for kind, key in RESULT_KEYS.items():
            table = storage.tables.entities[kind]
            rows = conn.execute(
                sa.select(table.c.id, table.c.doc, r.c.doc).select_from(
                    table.outerjoin(
                        r,
                        sa.and_(
                            r.c.subject_kind == kind,
                            r.c.subject_id == table.c.id,
                            r.c.fingerprint == table.c.result_fp,
                        ),
                    )
                )
            ).all()
            for entity_id, doc, result_doc in rows:
                data = json.loads(doc)
                data[key] = None if result_doc is None else json.loads(result_doc)
                conn.execute(
                    sa.update(table).where(table.c.id == entity_id).values(doc=json.dumps(data))
                )
        preparer = conn.dialect.identifier_preparer
        for table in storage.tables.entities.values():
            conn.execute(
                sa.text(f"ALTER TABLE {preparer.format_table(table)} DROP COLUMN result_fp")
            )
        # nor schema version 5's probability history and from_pipeline, nor version 6's
        # predictive frequencies, nor version 8's match keys
        storage.tables.frequencies.drop(conn)
        storage.tables.match_keys.drop(conn)
        storage.tables.probabilities.drop(conn)
        for table in storage.tables.history.values():
            name = preparer.format_table(table)
            conn.execute(sa.text(f"ALTER TABLE {name} DROP COLUMN from_pipeline"))
        if drop_a_result is not None:
            conn.execute(sa.delete(r).where(r.c.subject_id == drop_a_result))
        conn.execute(sa.update(storage.tables.version).values(version=2))
    storage.close()


def test_a_version_2_database_moves_its_embedded_results_out(make: Any) -> None:
    storage = make()
    leads, prospects = _sample()
    with storage.unit_of_work() as uow:
        saved = uow.leads.save_all(leads)
        saved_prospects = uow.prospects.save_all(prospects)
        uow.commit()
    before = _results(storage)
    # one result row missing (written by a version that did not record it): recreated
    _downgrade_to_version_2(storage, drop_a_result=saved[2].id)

    reopened = make()
    assert reopened.schema_version() == SCHEMA_VERSION
    assert _results(reopened) == before
    for kind in ("lead", "prospect"):
        rows = _rows(reopened, kind)
        for row in rows.values():  # (an unqualified one may keep its null)
            assert row["doc"].get(RESULT_KEYS[kind]) is None
    fps = {i: r["result_fp"] for i, r in _rows(reopened, "lead").items()}
    assert {i for i, fp in fps.items() if fp is not None} == {x.id for x in leads[:6]}
    with reopened.unit_of_work(read_only=True) as uow:
        assert [uow.leads.get(x.id) for x in saved] == saved
        assert [uow.prospects.get(x.id) for x in saved_prospects] == saved_prospects


def test_a_version_5_database_gains_the_predictive_frequency_table(make: Any) -> None:
    from pipelinekit.qualification import predictive

    storage = make()
    with storage.unit_of_work() as uow:
        uow.leads.save(lead(1))
        uow.commit()
    with storage.engine.begin() as conn:
        storage.tables.match_keys.drop(conn)  # version 8 (match keys)
        undo_version_7(conn, storage.tables)
        storage.tables.frequencies.drop(conn)
        conn.execute(sa.update(storage.tables.version).values(version=5))
    storage.close()

    reopened = make()
    assert reopened.schema_version() == SCHEMA_VERSION == 8
    model = predictive("m", stages=["new"], fields=["company.country"])
    with reopened.unit_of_work() as uow:
        assert uow.frequencies.rows("m") == []
        uow.frequencies.record(model, lead(2), won=True)
        uow.commit()
    with reopened.unit_of_work(read_only=True) as uow:
        assert [r.field for r in uow.frequencies.rows("m")] == ["company.country", "stage"]
