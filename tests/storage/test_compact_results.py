"""Schema version 7: results stored as a shared template and positional values, lead
documents without their history or defaults; every read returns what it returned."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st

import pipelinekit as pk
from pipelinekit.demo import demo_scorer
from pipelinekit.storage import LeadQuery
from pipelinekit.storage.sql import SCHEMA_VERSION, SqlStorage, postgres_storage, sqlite_storage
from pipelinekit.storage.sql._compact import compact, expand, slim_lead, stored_text
from pipelinekit.testing import strategies as pks
from pipelinekit.testing.contracts.samples import at, lead

from ._undo import undo_version_7
from .conftest import postgres_url, unique_prefix


@given(pks.qualification_results(), st.text(min_size=1, max_size=40))
@settings(max_examples=200)
def test_a_compact_result_expands_to_exactly_its_document(
    result: pk.QualificationResult, subject_id: str
) -> None:
    doc = pk.to_dict(result)
    key, values, templates = compact(doc, subject_id)
    stored = json.loads(stored_text(key, values))  # through JSON, as stored
    template = json.loads(json.dumps(templates[key]))
    assert stored[0] == key
    assert expand(stored[1], template, subject_id) == doc
    assert pk.from_dict(pk.QualificationResult, expand(stored[1], template, subject_id)) == result


@given(pks.leads())
@settings(max_examples=100)
def test_a_slim_lead_document_loads_as_the_lead_without_its_history(lead_: pk.Lead) -> None:
    doc = pk.to_dict(lead_)
    slim = slim_lead(json.loads(json.dumps(doc)))
    assert "history" not in slim
    assert pk.from_dict(pk.Lead, {**slim, "history": doc["history"]}) == lead_


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def make(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    made: list[SqlStorage] = []
    if request.param == "sqlite":

        def build() -> SqlStorage:
            made.append(sqlite_storage(tmp_path / "db.sqlite"))
            return made[-1]

    else:
        schema, prefix = request.getfixturevalue("pg_schema"), unique_prefix()

        def build() -> SqlStorage:
            made.append(postgres_storage(postgres_url(), schema=schema, prefix=prefix))
            return made[-1]

    yield build
    for storage in made:
        storage.close()


def _qualified(n: int) -> list[pk.Lead]:
    scorer = demo_scorer()
    leads = []
    for i in range(n):
        one = lead(i).evolve(custom={"bant.budget": ["none", "high", "low"][i % 3]})
        moved = pk.lead_lifecycle().fire(one, "contact", at=at(60)).entity if i % 2 else one
        leads.append(moved.evolve(qualification=scorer.evaluate(moved, as_of=at(70 + i % 2))))
    return leads


def _reads(storage: SqlStorage, leads: list[pk.Lead]) -> Any:
    with storage.unit_of_work(read_only=True) as uow:
        return (
            [uow.leads.get(x.id) for x in leads],
            list(uow.leads.iterate(batch=3)),
            uow.leads.find(LeadQuery(min_score=0)).items,
            [uow.results.for_subject("lead", x.id) for x in leads],
            [uow.leads.history(x.id) for x in leads],
        )


def test_results_and_leads_are_stored_compact_and_read_back_as_saved(make: Any) -> None:
    storage = make()
    leads = _qualified(8)
    with storage.unit_of_work() as uow:
        saved = uow.leads.save_all(leads)
        # a second result for one lead, and an unchanged re-save writing no result
        later = saved[0].evolve(qualification=demo_scorer().evaluate(saved[0], as_of=at(90)))
        saved[0] = uow.leads.save(later)
        uow.commit()
    r, t = storage.tables.results, storage.tables.templates
    with storage.engine.connect() as conn:
        docs = [json.loads(d) for d in conn.execute(sa.select(r.c.doc)).scalars()]
        n_templates = conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one()
        lead_docs = [
            json.loads(d)
            for d in conn.execute(sa.select(storage.tables.entities["lead"].c.doc)).scalars()
        ]
    assert len(docs) == 9
    assert all(isinstance(d, list) for d in docs)
    assert 1 <= n_templates <= 4  # shared by every lead the strategy scored
    assert all("history" not in d and "qualification" not in d for d in lead_docs)
    gets, iterated, found, results, histories = _reads(storage, saved)
    assert gets == saved
    assert iterated == sorted(saved, key=lambda x: x.id)
    assert [x.qualification for x in gets] == [rs[-1] for rs in results]
    assert results[0][0] == leads[0].qualification
    assert len(results[0]) == 2
    assert histories == [x.history for x in saved]
    assert found == tuple(sorted(saved, key=lambda x: x.id))


def test_a_version_6_database_migrates_and_reads_every_result_identically(make: Any) -> None:
    storage = make()
    leads = _qualified(7)
    with storage.unit_of_work() as uow:
        saved = uow.leads.save_all(leads)
        uow.results.add("lead", saved[1].id, leads[2].qualification)  # another subject's
        uow.commit()
    before = _reads(storage, saved)
    with storage.engine.begin() as conn:
        storage.tables.match_keys.drop(conn)  # version 8 (match keys)
        undo_version_7(conn, storage.tables)
        conn.execute(sa.update(storage.tables.version).values(version=6))
        verbose = conn.execute(sa.select(storage.tables.results.c.doc)).scalars().all()
        long_fps = conn.execute(sa.select(storage.tables.results.c.fingerprint)).scalars().all()
    assert all(isinstance(json.loads(d), dict) for d in verbose)
    assert {len(fp) for fp in long_fps} == {32}
    storage.close()

    reopened = make()
    assert reopened.schema_version() == SCHEMA_VERSION == 8
    assert _reads(reopened, saved) == before
    with reopened.engine.connect() as conn:
        docs = conn.execute(sa.select(reopened.tables.results.c.doc)).scalars().all()
        sizes = sum(map(len, docs))
        fps = conn.execute(sa.select(reopened.tables.results.c.fingerprint)).scalars().all()
        leads = reopened.tables.entities["lead"]
        refs = conn.execute(sa.select(leads.c.result_fp)).scalars().all()
    assert sorted(fps) == sorted(fp[:16] for fp in long_fps)
    assert set(refs) <= set(fps)
    assert len(set(refs)) == len(saved)
    assert all(isinstance(json.loads(d), list) for d in docs)
    assert sizes < sum(map(len, verbose)) / 3
    # version 8 filled the match keys from the (by then slim) lead documents
    from pipelinekit.storage.match_keys import match_keys

    with reopened.engine.connect() as conn:
        t = reopened.tables.match_keys
        stored = {tuple(row) for row in conn.execute(sa.select(t.c.kind, t.c.id, t.c.key))}
    expected = {("lead", x.id, key) for x in saved for key in match_keys(x)}
    assert stored == expected
    assert len(expected) >= 3 * len(saved)


def test_a_result_whose_template_is_missing_is_a_corrupt_record(make: Any) -> None:
    storage = make()
    (one,) = _qualified(1)
    with storage.unit_of_work() as uow:
        uow.leads.save(one)
        uow.commit()
    with storage.engine.begin() as conn:
        conn.execute(sa.delete(storage.tables.templates))
    storage._templates.clear()
    with storage.unit_of_work(read_only=True) as uow:
        with pytest.raises(pk.storage.CorruptRecord) as caught:
            uow.leads.get(one.id)
        with pytest.raises(pk.storage.CorruptRecord):
            uow.results.for_subject("lead", one.id)
    assert caught.value.entity_id == one.id


def test_two_open_units_of_work_store_the_same_new_template_without_waiting(
    pg_schema: str,
) -> None:
    """A template is shared by every result of a strategy: a unit of work storing it must
    not wait for another, still open, that stored it first (web requests, interleaved
    units of work in one thread)."""
    import threading

    storage = postgres_storage(postgres_url(), schema=pg_schema, prefix=unique_prefix())
    first, second = _qualified(2)
    try:
        with storage.unit_of_work() as a:
            a.leads.save(first)  # its template stored, not committed
            done: list[str] = []

            def other() -> None:
                with storage.unit_of_work() as b:
                    b.leads.save(second)
                    b.commit()
                done.append(second.id)

            thread = threading.Thread(target=other, daemon=True)
            thread.start()
            thread.join(timeout=30)
            assert done == [second.id], "the second unit of work waited for the first"
            a.commit()
        with storage.unit_of_work(read_only=True) as uow:
            assert uow.leads.get(first.id) == first.evolve(version=1)
            assert uow.leads.get(second.id) == second.evolve(version=1)
    finally:
        storage.close()
