"""SQL-adapter specifics: lazy connection, schema versions and migrations, indexes, errors."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from pipelinekit import ValidationError
from pipelinekit.storage import (
    CorruptRecord,
    LeadQuery,
    OpportunityQuery,
    ProspectQuery,
    SchemaVersionError,
    Storage,
    StorageBusy,
    StorageError,
)
from pipelinekit.storage.sql import SCHEMA_VERSION, SqlStorage, postgres_storage, sqlite_storage
from pipelinekit.storage.sql import schema as schema_module
from pipelinekit.testing.contracts.samples import at, lead, opportunity, prospect, result

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


def _version_table(storage: SqlStorage) -> sa.Table:
    return storage.tables.version


# -- connection and schema ---------------------------------------------------------------------


def test_nothing_connects_until_the_first_unit_of_work(tmp_path: Path) -> None:
    path = tmp_path / "lazy.db"
    storage = sqlite_storage(path)
    assert not path.exists()
    with storage.unit_of_work():
        assert path.exists()
    storage.close()


def test_unreachable_servers_fail_on_use_with_a_storage_error() -> None:
    storage = postgres_storage("postgresql+psycopg://nobody@127.0.0.1:1/none")
    with pytest.raises(StorageError) as caught:
        storage.unit_of_work().__enter__()
    assert caught.value.retryable
    assert isinstance(caught.value.__cause__, sa.exc.DBAPIError)
    assert "nobody@127.0.0.1:1" in repr(storage)


def test_urls_and_paths_are_checked_up_front() -> None:
    with pytest.raises(ValueError, match="postgresql URL"):
        postgres_storage("sqlite:///x.db")
    with pytest.raises(ValueError, match="identifier"):
        postgres_storage(postgres_url(), schema="drop table;")
    with pytest.raises(ValueError, match="memory_storage"):
        sqlite_storage(":memory:")


def test_sql_storage_dispatches_on_the_url(tmp_path: Path) -> None:
    from pipelinekit.storage.sql import sql_storage

    assert "sqlite file" in repr(sql_storage(f"sqlite:///{tmp_path / 'a.db'}"))
    assert "postgresql+psycopg" in repr(sql_storage("postgres://u@h/db"))
    with pytest.raises(ValueError, match="unsupported"):
        sql_storage("mysql://u@h/db")
    prefixed = sql_storage(f"sqlite:///{tmp_path / 'b.db'}", prefix="crm_", busy_timeout=1)
    assert prefixed.tables.entities["lead"].name == "crm_leads"
    with pytest.raises(ValidationError) as caught:
        sql_storage(f"sqlite:///{tmp_path / 'c.db'}", schema="sales", pool_size=2)
    assert caught.value.paths == ("$.schema", "$.pool_size")
    with pytest.raises(ValidationError, match="SQLite option") as wrong:
        sql_storage("postgresql://u@h/db", busy_timeout=3)
    assert wrong.value.paths == ("$.busy_timeout",)


def test_the_schema_is_created_once_with_its_version(make: Any) -> None:
    first = make()
    with first.unit_of_work() as uow:
        uow.leads.save(lead(1))
        uow.commit()
    second = make()  # a second process opening the same database
    with second.unit_of_work() as uow:
        assert uow.leads.count() == 1
    assert second.schema_version() == SCHEMA_VERSION


def test_a_database_from_a_newer_pipelinekit_is_refused(make: Any) -> None:
    first = make()
    with first.engine.begin() as conn:
        conn.execute(sa.update(_version_table(first)).values(version=SCHEMA_VERSION + 1))
    with pytest.raises(SchemaVersionError) as caught:
        make().unit_of_work().__enter__()
    assert (caught.value.found, caught.value.supported) == (SCHEMA_VERSION + 1, SCHEMA_VERSION)


def test_older_databases_are_migrated_forward_once(
    make: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = make()
    with old.unit_of_work() as uow:
        uow.leads.save(lead(1))
        uow.commit()
    calls: list[int] = []

    def add_column(conn: sa.Connection, tables: Any) -> None:
        calls.append(1)
        name = tables.entities["lead"].name
        qualified = f'"{tables.metadata.schema}"."{name}"' if tables.metadata.schema else name
        conn.execute(sa.text(f"ALTER TABLE {qualified} ADD COLUMN region VARCHAR(20)"))

    monkeypatch.setattr(schema_module, "SCHEMA_VERSION", SCHEMA_VERSION + 1)
    monkeypatch.setitem(schema_module.MIGRATIONS, SCHEMA_VERSION, add_column)
    upgraded = make()
    with upgraded.unit_of_work() as uow:
        assert uow.leads.count() == 1
    assert upgraded.schema_version() == SCHEMA_VERSION + 1
    again = make()
    with again.unit_of_work():
        pass
    assert calls == [1]
    with again.engine.connect() as conn:
        columns = sa.inspect(conn).get_columns(
            upgraded.tables.entities["lead"].name, schema=upgraded.tables.metadata.schema
        )
    assert "region" in {c["name"] for c in columns}


def test_a_failing_migration_changes_nothing(make: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    old = make()
    with old.unit_of_work():
        pass

    def broken(conn: sa.Connection, tables: Any) -> None:
        conn.execute(sa.text("CREATE TABLE pk_half_done (x INTEGER)"))
        raise RuntimeError("migration bug")

    monkeypatch.setattr(schema_module, "SCHEMA_VERSION", SCHEMA_VERSION + 1)
    monkeypatch.setitem(schema_module.MIGRATIONS, SCHEMA_VERSION, broken)
    with pytest.raises(RuntimeError):
        make().unit_of_work().__enter__()
    monkeypatch.setattr(schema_module, "SCHEMA_VERSION", SCHEMA_VERSION)
    assert make().schema_version() == SCHEMA_VERSION
    with old.engine.connect() as conn:
        assert not sa.inspect(conn).has_table("pk_half_done")


# -- indexes -----------------------------------------------------------------------------------

QUERIES: list[tuple[str, Any, tuple[str, ...]]] = [
    ("lead", LeadQuery(status="s3"), ("_leads_stage",)),
    ("lead", LeadQuery(owner="o4"), ("_leads_owner",)),
    ("lead", LeadQuery(min_score=10, max_score=12), ("_leads_score",)),
    ("lead", LeadQuery(updated_since=at(395)), ("_leads_updated",)),
    (
        "opportunity",
        OpportunityQuery(pipeline="p1", stage="st2"),
        ("_opportunities_pipeline", "_opportunities_stage"),
    ),
    ("opportunity", OpportunityQuery(lead_id="L7"), ("_opportunities_lead",)),
    ("prospect", ProspectQuery(persona="p3"), ("_prospects_stage",)),
]


def _plan(storage: SqlStorage, kind: str, query: Any) -> str:
    with storage.unit_of_work() as uow:
        repo = {"lead": uow.leads, "opportunity": uow.opportunities, "prospect": uow.prospects}[
            kind
        ]
        stmt = repo.select_for(query.criteria())  # type: ignore[attr-defined]
        conn = uow.conn  # type: ignore[attr-defined]
        sql = str(stmt.compile(conn, compile_kwargs={"literal_binds": True}))
        if conn.dialect.name == "sqlite":
            rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql).all()
            return "\n".join(str(r[-1]) for r in rows)
        # Whether an index serves the query, not whether the planner prefers it on a
        # table of a few pages: a sequential scan stays possible, only priced out.
        conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
        return "\n".join(r[0] for r in conn.exec_driver_sql("EXPLAIN " + sql).all())


@pytest.fixture(scope="module")
def varied() -> tuple[list[Any], ...]:
    leads = [
        lead(
            n,
            status=f"s{n % 10}",
            owner=f"o{n % 10}",
            qualification=result(n % 100 - 50, as_of=at(n)),
            updated_at=at(n),
        )
        for n in range(400)
    ]
    opps = [
        opportunity(n, pipeline=f"p{n % 5}", stage=f"st{n % 7}", lead_id=f"L{n % 40}")
        for n in range(400)
    ]
    # Prospects carry no copy of their fit (it lives in the results table), so their
    # table is small: a persona holding 1 in 40 keeps the index worth using there.
    return leads, opps, [prospect(n, persona=f"p{n % 40}") for n in range(400)]


@pytest.mark.parametrize(("kind", "query", "indexes"), QUERIES, ids=[q[2][0] for q in QUERIES])
def test_filtered_queries_use_their_index(
    make: Any, varied: Any, kind: str, query: Any, indexes: tuple[str, ...]
) -> None:
    storage = make()
    leads, opps, prospects = varied
    with storage.unit_of_work() as uow:
        uow.leads.save_all(leads)
        uow.opportunities.save_all(opps)
        uow.prospects.save_all(prospects)
        uow.commit()
    with storage.engine.begin() as conn:
        for table in storage.tables.entities.values():
            name = f'"{table.schema}"."{table.name}"' if table.schema else f'"{table.name}"'
            conn.exec_driver_sql(f"ANALYZE {name}")
    plan = _plan(storage, kind, query)
    assert any(index in plan for index in indexes), plan
    assert "SCAN " not in plan.replace("INDEX", "")  # SQLite: no full table scan
    assert "Seq Scan" not in plan


# -- errors ------------------------------------------------------------------------------------


def test_a_locked_sqlite_file_raises_storage_busy(tmp_path: Path) -> None:
    path = tmp_path / "busy.db"
    holder = sqlite_storage(path)
    waiter = sqlite_storage(path, busy_timeout=0.2)
    with waiter.unit_of_work():
        pass
    locked = threading.Event()
    release = threading.Event()

    def hold() -> None:
        with holder.unit_of_work() as uow:
            uow.leads.save(lead(1))  # BEGIN IMMEDIATE: takes the write lock
            locked.set()
            release.wait(10)

    thread = threading.Thread(target=hold)
    thread.start()
    try:
        assert locked.wait(10)
        with pytest.raises(StorageBusy) as caught, waiter.unit_of_work() as uow:
            uow.leads.count()
        assert caught.value.retryable
        assert isinstance(caught.value.__cause__, sa.exc.OperationalError)
    finally:
        release.set()
        thread.join()
        holder.close()
        waiter.close()


def test_a_read_only_unit_of_work_neither_waits_for_nor_blocks_a_writer(tmp_path: Path) -> None:
    path = tmp_path / "snapshot.db"
    writer = sqlite_storage(path, busy_timeout=0.2)
    reader = sqlite_storage(path, busy_timeout=0.2)
    try:
        with writer.unit_of_work() as uow:
            first = uow.leads.save(lead(1))
            uow.commit()
        with reader.unit_of_work(read_only=True) as snapshot:
            assert snapshot.leads.count() == 1  # the snapshot starts here
            with writer.unit_of_work() as uow:  # would raise StorageBusy if the reader locked
                uow.leads.save(first.evolve(owner="kim"))
                uow.leads.save(lead(2))
                uow.commit()
            assert snapshot.leads.count() == 1
            assert snapshot.leads.get(first.id).owner == "sam"
        with reader.unit_of_work(read_only=True) as fresh:
            assert fresh.leads.count() == 2
    finally:
        writer.close()
        reader.close()


def test_a_file_that_is_not_a_database_raises_a_storage_error(tmp_path: Path) -> None:
    path = tmp_path / "garbage.db"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StorageError, match="not a database") as caught:
        sqlite_storage(path).unit_of_work().__enter__()
    assert isinstance(caught.value.__cause__, sa.exc.DBAPIError)


@pytest.mark.postgres
def test_driver_data_errors_are_translated(pg_schema: str) -> None:
    storage = postgres_storage(postgres_url(), schema=pg_schema, prefix=unique_prefix())
    try:
        # The domain refuses NUL characters; force one past it to make the driver fail.
        smuggled = lead(1)
        object.__setattr__(smuggled, "owner", "nul\x00byte")
        with storage.unit_of_work() as uow, pytest.raises(StorageError) as caught:
            uow.leads.save(smuggled)
        assert isinstance(caught.value.__cause__, sa.exc.DBAPIError | ValueError)
    finally:
        storage.close()


# -- imports -----------------------------------------------------------------------------------


def _modules_after(statement: str) -> set[str]:
    code = f"import sys, json; {statement}; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    return {m.split(".")[0] for m in json.loads(out.stdout)}


def test_ports_and_memory_import_no_database_library() -> None:
    loaded = _modules_after("import pipelinekit.storage")
    assert loaded.isdisjoint({"sqlalchemy", "psycopg", "sqlite3", "hypothesis", "pytest"})


def test_the_sql_adapter_imports_no_driver_until_used() -> None:
    loaded = _modules_after("import pipelinekit.storage.sql")
    assert "sqlalchemy" in loaded
    assert "psycopg" not in loaded


def test_a_missing_sqlalchemy_names_the_extra_to_install() -> None:
    code = (
        "import sys; sys.modules['sqlalchemy'] = None\n"
        "try:\n    import pipelinekit.storage.sql\n"
        "except ImportError as e:\n    print(e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    assert 'pip install "pipelinekit[sql]"' in out.stdout


def test_batches_larger_than_one_statement_are_split_and_stay_atomic(make: Any) -> None:
    from pipelinekit import Company, Lead
    from pipelinekit.storage import ConcurrencyConflict
    from pipelinekit.storage.sql.adapter import BATCH

    count = 2 * BATCH + 7
    leads = [
        Lead.create(company=Company(f"Account {n}"), external_id=f"acct-{n}", at=at(n % 500))
        for n in range(count)
    ]
    storage = make()
    with storage.unit_of_work() as uow:
        saved = uow.leads.save_all(leads)
        uow.commit()
    renamed = [e.evolve(owner="kim") for e in saved]
    stale = renamed[-1].evolve(version=0)
    with storage.unit_of_work() as uow:
        with pytest.raises(ConcurrencyConflict):
            uow.leads.save_all([*renamed[:-1], stale.evolve(version=5)])
        assert uow.leads.count(LeadQuery(owner="kim")) == 0  # nothing of the failed batch
        updated = uow.leads.save_all(renamed)
        # The same content under other ids: found by external id, nothing written.
        again = uow.leads.upsert_all([e.evolve(owner="kim") for e in leads])
        uow.commit()
    assert {e.version for e in updated} == {2}
    assert again == updated
    with storage.unit_of_work(read_only=True) as uow:
        assert uow.leads.count(LeadQuery(owner="kim")) == count
        assert sum(1 for _ in uow.leads.iterate(batch=BATCH)) == count


# -- failed statements -------------------------------------------------------------------------


def test_a_failed_results_or_events_statement_keeps_the_unit_of_work(make: Any) -> None:
    from pipelinekit.storage.ports import StoredResult
    from pipelinekit.storage.records import EventRecord

    storage = make()
    good = StoredResult.of("lead", "l1", result(5))
    bad = StoredResult("lead", "l1", "f" * 64, {**good.doc, "strategy": None})
    event = EventRecord("lead", "l1", "noted", at(1))
    broken = EventRecord("lead", "l1", "noted", at(1))
    object.__setattr__(broken, "kind", None)  # past validation: the database refuses it
    with storage.unit_of_work() as uow:
        uow.leads.save(lead(1))
        with pytest.raises(StorageError):
            uow.results._add([bad])
        with pytest.raises(StorageError):
            uow.events._append([event, broken])
        uow.results._add([good])
        uow.commit()
    with storage.unit_of_work(read_only=True) as uow:
        assert uow.leads.count() == 1
        assert uow.results.latest("lead", "l1") == result(5)
        assert uow.events.read() == []


@pytest.mark.postgres
def test_commit_refuses_a_transaction_postgresql_aborted(pg_schema: str) -> None:
    storage = postgres_storage(postgres_url(), schema=pg_schema, prefix=unique_prefix())
    try:
        with storage.unit_of_work() as uow:
            uow.leads.save(lead(1))
            with pytest.raises(sa.exc.DBAPIError):
                uow.conn.exec_driver_sql("SELECT 1 / 0")  # type: ignore[attr-defined]
            with pytest.raises(StorageError, match="discarded"):
                uow.commit()
            uow.leads.save(lead(2))  # the unit of work goes on with a fresh transaction
            uow.commit()
        with storage.unit_of_work(read_only=True) as uow:
            assert [e.external_id for e in uow.leads.find().items] == ["crm-2"]
    finally:
        storage.close()


@pytest.mark.parametrize(
    "doc",
    ['{"id": "x", "version": 1', '{"company": 3}', "[" * 5000 + "]" * 5000],
    ids=["not-json", "not-a-lead", "nested"],
)
def test_a_corrupt_document_is_a_corrupt_record_and_the_others_stay_readable(
    make: Any, doc: str
) -> None:
    storage = make()
    bad, good = lead(1), lead(2)
    with storage.unit_of_work() as uow:
        uow.leads.save_all([bad, good])
        uow.commit()
    table = storage.tables.entities["lead"]
    with storage.unit_of_work() as uow:
        uow.conn.execute(sa.update(table).where(table.c.id == bad.id).values(doc=doc))
        uow.commit()
    with storage.unit_of_work() as uow:
        with pytest.raises(CorruptRecord) as caught:
            uow.leads.get(bad.id)
        assert (caught.value.table, caught.value.entity_id) == (table.name, bad.id)
        with pytest.raises(CorruptRecord):
            list(uow.leads.find())
        assert uow.leads.get(good.id).id == good.id


@pytest.mark.parametrize(
    "doc",
    ['{"id": "x", "version": 1', '{"company": 3}', "[" * 5000 + "]" * 5000],
    ids=["not-json", "not-an-opportunity", "nested"],
)
def test_a_rebuild_over_a_corrupt_stored_deal_is_a_corrupt_record_and_changes_nothing(
    make: Any, doc: str
) -> None:
    from pipelinekit.qualification import predictive

    storage = make()
    model = predictive("model", stages=["qualification"], fields=["owner"])
    deals = [
        opportunity(n).evolve(outcome="lost", lost_reason="price", probability=0, closed_at=at(9))
        for n in range(3)
    ]
    with storage.unit_of_work() as uow:
        uow.opportunities.save_all(deals)
        assert uow.frequencies.rebuild(model, uow.opportunities.iterate(batch=2)) == 3
        uow.commit()
    with storage.unit_of_work(read_only=True) as uow:
        before = uow.frequencies.rows(model.name)
    table = storage.tables.entities["opportunity"]
    bad = sorted(d.id for d in deals)[1]
    with storage.unit_of_work() as uow:
        uow.conn.execute(sa.update(table).where(table.c.id == bad).values(doc=doc))
        uow.commit()
    with storage.unit_of_work() as uow:
        with pytest.raises(CorruptRecord) as caught:
            uow.frequencies.rebuild(model, uow.opportunities.iterate(batch=2))
        assert caught.value.entity_id == bad
        assert uow.frequencies.rows(model.name) == before
