"""Embedding in an application: the schema step, the app's own transaction, retries, locks."""

from __future__ import annotations

import multiprocessing
import sys
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import DeclarativeBase, Session

from pipelinekit import FrozenMap, ValidationError
from pipelinekit.storage import (
    ConcurrencyConflict,
    SchemaNotReady,
    Storage,
    StorageBusy,
    StorageError,
    UnitOfWork,
    memory_storage,
)
from pipelinekit.storage.sql import (
    SCHEMA_VERSION,
    SqlStorage,
    postgres_storage,
    sqlite_storage,
)
from pipelinekit.testing.contracts.samples import lead, opportunity

from .conftest import postgres_url, unique_prefix

WORKERS = Path(__file__).with_name("_workers.py")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[dict[str, Any]]:
    """An engine the application owns, and how to make a storage on it."""
    made: list[SqlStorage] = []
    if request.param == "sqlite":
        engine = sa.create_engine(f"sqlite:///{tmp_path / 'app.db'}")
        schema = None

        def build(**options: Any) -> SqlStorage:
            made.append(sqlite_storage(engine, **options))
            return made[-1]

    else:
        schema = request.getfixturevalue("pg_schema")
        engine = sa.create_engine(postgres_url())
        prefix = unique_prefix()

        def build(**options: Any) -> SqlStorage:
            made.append(postgres_storage(engine, schema=schema, prefix=prefix, **options))
            return made[-1]

    metadata = sa.MetaData(schema=schema)
    orders = sa.Table(
        f"orders_{uuid.uuid4().hex[:8]}",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("lead_id", sa.String(64), nullable=False),
    )
    storage = build()
    with storage.unit_of_work():
        pass  # creates the pipelinekit schema
    with engine.begin() as conn:
        metadata.create_all(conn)
    yield {"engine": engine, "storage": storage, "orders": orders, "build": build}
    for one in made:
        one.close()
    engine.dispose()


def _orders(db: dict[str, Any]) -> list[str]:
    orders = db["orders"]
    with db["engine"].connect() as conn:
        return list(conn.execute(sa.select(orders.c.lead_id).order_by(orders.c.id)).scalars())


def _lead_ids(storage: Storage) -> set[str]:
    with storage.unit_of_work(read_only=True) as uow:
        return {one.id for one in uow.leads.find().items}


# -- the schema step ---------------------------------------------------------------------------


def test_auto_schema_false_refuses_an_empty_database_and_names_the_command(
    tmp_path: Path,
) -> None:
    storage = sqlite_storage(tmp_path / "new.db", auto_schema=False)
    try:
        with pytest.raises(SchemaNotReady) as caught, storage.unit_of_work():
            pass
        assert caught.value.found == 0
        assert caught.value.needed == SCHEMA_VERSION
        assert "pipelinekit --db URL db upgrade" in str(caught.value)
        with pytest.raises(SchemaNotReady):
            storage.check_schema()
        assert storage.create_schema() == 0
        assert storage.create_schema() == SCHEMA_VERSION  # idempotent
        storage.check_schema()
        with storage.unit_of_work() as uow:
            uow.leads.save(lead(1))
            uow.commit()
    finally:
        storage.close()
    reopened = sqlite_storage(tmp_path / "new.db", auto_schema=False)
    with reopened, reopened.unit_of_work(read_only=True) as uow:
        assert uow.leads.count() == 1


def test_auto_schema_false_refuses_an_older_schema(db: dict[str, Any]) -> None:
    storage: SqlStorage = db["storage"]
    version = storage.tables.version
    with db["engine"].begin() as conn:
        conn.execute(sa.update(version).values(version=SCHEMA_VERSION - 1))
    strict = db["build"](auto_schema=False)
    with pytest.raises(SchemaNotReady) as caught:
        strict.check_schema()
    assert caught.value.found == SCHEMA_VERSION - 1
    with pytest.raises(SchemaNotReady), strict.unit_of_work():
        pass


def test_bad_storage_options_are_reported_together(tmp_path: Path) -> None:
    with pytest.raises(ValidationError) as caught:
        sqlite_storage(tmp_path / "x.db", busy_timeout=-1, auto_schema="yes")  # type: ignore[arg-type]
    assert {p.path for p in caught.value.problems} == {"$.busy_timeout", "$.auto_schema"}
    engine = sa.create_engine(postgres_url())
    with pytest.raises(ValidationError) as refused:
        postgres_storage(engine, pool_size=2)
    assert [p.path for p in refused.value.problems] == ["$.pool_size"]
    engine.dispose()


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_processes_opening_fresh_databases_at_once_never_fail(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """4 processes start together on each of 20 new databases; half open, half migrate."""
    rounds = 20
    if kind == "sqlite":
        targets = [{"sqlite": str(tmp_path / f"fresh{n}.db")} for n in range(rounds)]
    else:
        base = request.getfixturevalue("pg_schema")
        targets = [
            {"postgres": postgres_url(), "schema": f"{base}_{n}", "prefix": "pipelinekit_"}
            for n in range(rounds)
        ]
    sys.path.insert(0, str(WORKERS.parent))
    try:
        from _workers import open_fresh_databases

        context = multiprocessing.get_context("spawn")  # no fork of a threaded test runner
        barrier = context.Barrier(4)
        failures = context.Queue()
        workers = [
            context.Process(
                target=open_fresh_databases, args=(targets, n % 2 == 0, barrier, failures)
            )
            for n in range(4)
        ]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(300)
        for target in targets:
            check = (
                sqlite_storage(target["sqlite"], auto_schema=False)
                if kind == "sqlite"
                else postgres_storage(postgres_url(), schema=target["schema"], auto_schema=False)
            )
            check.check_schema()
            check.close()
    finally:
        sys.path.remove(str(WORKERS.parent))
        if kind == "postgres":
            engine = sa.create_engine(postgres_url())
            with engine.begin() as conn:
                for target in targets:
                    conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{target["schema"]}" CASCADE'))
            engine.dispose()
    found = []
    while not failures.empty():
        found.append(failures.get())
    assert [w.exitcode for w in workers] == [0, 0, 0, 0]
    assert found == []


# -- the application's transaction -------------------------------------------------------------


def test_the_apps_row_and_the_pipeline_change_commit_and_roll_back_together(
    db: dict[str, Any],
) -> None:
    engine, storage, orders = db["engine"], db["storage"], db["orders"]
    kept, dropped = lead(1), lead(2)
    with engine.begin() as conn:
        conn.execute(sa.insert(orders).values(lead_id=kept.id))
        with storage.unit_of_work(connection=conn) as uow:
            uow.leads.save(kept)
            uow.commit()
        # pipelinekit committed nothing: the application's transaction is still open
        assert _lead_ids(storage) == set()

    def fails_after_the_pipeline_change() -> None:
        with engine.begin() as conn:
            conn.execute(sa.insert(orders).values(lead_id=dropped.id))
            with storage.unit_of_work(connection=conn) as uow:
                uow.leads.save(dropped)
                uow.commit()
            raise RuntimeError("the application fails after the pipeline change")

    with pytest.raises(RuntimeError):
        fails_after_the_pipeline_change()
    assert _lead_ids(storage) == {kept.id}
    assert _orders(db) == [kept.id]


def test_an_orm_session_shares_its_transaction(db: dict[str, Any]) -> None:
    engine, storage, orders = db["engine"], db["storage"], db["orders"]

    class Base(DeclarativeBase):
        pass

    class Order(Base):
        __table__ = orders

    kept, dropped = lead(1), lead(2)
    with Session(engine) as session:
        session.add(Order(lead_id=kept.id))
        session.flush()
        with storage.unit_of_work(connection=session.connection()) as uow:
            uow.leads.save(kept)
            uow.commit()
        session.commit()
    with Session(engine) as session:
        with storage.unit_of_work(connection=session.connection()) as uow:
            uow.leads.save(dropped)
            uow.commit()
        session.add(Order(lead_id=dropped.id))
        session.flush()
        session.rollback()
    assert _lead_ids(storage) == {kept.id}
    assert _orders(db) == [kept.id]


def test_a_failed_unit_of_work_undoes_only_its_own_changes(db: dict[str, Any]) -> None:
    engine, storage, orders = db["engine"], db["storage"], db["orders"]
    first = lead(1)
    with storage.unit_of_work() as uow:
        uow.leads.save(first)
        uow.commit()
    with engine.begin() as conn:
        conn.execute(sa.insert(orders).values(lead_id=first.id))
        with storage.unit_of_work(connection=conn) as uow:
            uow.leads.save(lead(2))
            with pytest.raises(ConcurrencyConflict):
                uow.leads.save(first)  # stale: version 0 of a stored lead
        fourth = lead(4)
        with storage.unit_of_work(connection=conn) as uow:
            uow.leads.save(lead(3))
            uow.rollback()
            uow.leads.save(fourth)
            uow.commit()
    assert _lead_ids(storage) == {first.id, fourth.id}
    assert _orders(db) == [first.id]


def test_the_storage_leaves_the_apps_engine_open(db: dict[str, Any]) -> None:
    db["storage"].close()
    with db["engine"].connect() as conn:
        assert conn.execute(sa.select(1)).scalar() == 1
    assert _lead_ids(db["storage"]) == set()  # and reconnects itself


# -- locks and pools ---------------------------------------------------------------------------


def test_a_second_writer_in_the_same_thread_is_refused_at_once(tmp_path: Path) -> None:
    storage = sqlite_storage(tmp_path / "self.db", busy_timeout=5)
    try:
        with storage.unit_of_work() as outer:
            outer.leads.save(lead(1))
            with pytest.raises(StorageError) as caught, storage.unit_of_work():
                pass
            assert not isinstance(caught.value, StorageBusy)
            assert "connection=" in str(caught.value)
            with storage.unit_of_work(read_only=True) as reader:  # readers take no lock
                assert reader.leads.count() == 0
            outer.commit()
        with storage.unit_of_work() as again:  # the lock was released
            assert again.leads.count() == 1
    finally:
        storage.close()


def test_a_writer_waiting_on_another_thread_of_this_process_says_so(tmp_path: Path) -> None:
    storage = sqlite_storage(tmp_path / "queue.db", busy_timeout=0.1)
    holding, release = threading.Event(), threading.Event()

    def hold() -> None:
        with storage.unit_of_work():
            holding.set()
            release.wait(30)

    thread = threading.Thread(target=hold)
    thread.start()
    try:
        assert holding.wait(30)
        with pytest.raises(StorageBusy) as caught, storage.unit_of_work():
            pass
        assert caught.value.retryable
        assert "in this process" in str(caught.value)
    finally:
        release.set()
        thread.join()
        storage.close()


@pytest.mark.postgres
def test_an_exhausted_connection_pool_is_busy_and_retryable(pg_schema: str) -> None:
    storage = postgres_storage(
        postgres_url(),
        schema=pg_schema,
        prefix=unique_prefix(),
        pool_size=1,
        engine_options={"max_overflow": 0, "pool_timeout": 0.1},
    )
    try:
        with storage.unit_of_work(), pytest.raises(StorageBusy) as caught:
            storage.unit_of_work().__enter__()
        assert caught.value.retryable
        assert "pool" in str(caught.value)
    finally:
        storage.close()


# -- retries -----------------------------------------------------------------------------------


def _counter_storage(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> Storage:
    if kind == "memory":
        return memory_storage()
    if kind == "sqlite":
        return sqlite_storage(tmp_path / f"run{uuid.uuid4().hex[:6]}.db")
    return postgres_storage(
        postgres_url(), schema=request.getfixturevalue("pg_schema"), prefix=unique_prefix()
    )


def _increment(opp_id: str) -> Callable[[UnitOfWork], int]:
    def step(uow: UnitOfWork) -> int:
        read = uow.opportunities.get(opp_id)
        count = read.custom["n"]
        assert isinstance(count, int)
        uow.opportunities.save(read.evolve(custom=FrozenMap({"n": count + 1})))
        return count + 1

    return step


@pytest.mark.parametrize(
    "kind", ["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
@settings(
    max_examples=5,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(threads=st.integers(2, 6), each=st.integers(1, 4))
def test_threads_incrementing_through_run_lose_nothing(
    kind: str, threads: int, each: int, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    storage = _counter_storage(kind, tmp_path, request)
    deal = opportunity(1).evolve(custom=FrozenMap({"n": 0}))
    storage.run(lambda uow: uow.opportunities.save(deal))
    results: list[int] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(each):
                results.append(storage.run(_increment(deal.id), retries=1000, backoff=0))
        except BaseException as error:  # reported below
            errors.append(error)

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    try:
        assert errors == []
        final = storage.run(lambda uow: uow.opportunities.get(deal.id), read_only=True)
        assert final.custom["n"] == threads * each
        assert sorted(results) == list(range(1, threads * each + 1))
    finally:
        storage.close()


def test_run_retries_conflicts_and_gives_up_after_the_limit() -> None:
    storage = memory_storage()
    deal = storage.run(lambda uow: uow.opportunities.save(opportunity(1)))
    calls: list[int] = []

    def always_stale(uow: UnitOfWork) -> None:
        calls.append(1)
        uow.opportunities.save(deal.evolve(owner="kim"))  # stays at the first version
        with storage.unit_of_work() as other:  # someone else moves it on meanwhile
            current = other.opportunities.get(deal.id)
            other.opportunities.save(current.evolve(owner=f"o{len(calls)}"))
            other.commit()

    with pytest.raises(ConcurrencyConflict):
        storage.run(always_stale, retries=3, backoff=0)
    assert len(calls) == 4


def test_run_does_not_retry_other_errors_or_commit_them() -> None:
    storage = memory_storage()
    calls: list[int] = []

    def fails(uow: UnitOfWork) -> None:
        calls.append(1)
        uow.leads.save(lead(1))
        raise KeyError("the application's own bug")

    with pytest.raises(KeyError):
        storage.run(fails)
    assert calls == [1]
    assert storage.run(lambda uow: uow.leads.count(), read_only=True) == 0
    with pytest.raises(ValidationError) as caught:
        storage.run(fails, retries=-1, backoff=-2)
    assert [p.path for p in caught.value.problems] == ["$.retries", "$.backoff"]


def test_the_apps_rows_ride_on_the_unit_of_works_connection_and_its_retries(
    db: dict[str, Any],
) -> None:
    storage, orders = db["storage"], db["orders"]

    class Base(DeclarativeBase):
        pass

    class Order(Base):
        __table__ = orders

    kept, dropped = lead(1), lead(2)

    def place(uow: UnitOfWork) -> None:
        uow.leads.save(kept)
        with Session(bind=uow.connection) as session:  # type: ignore[attr-defined]
            session.add(Order(lead_id=kept.id))
            session.commit()  # joins the unit of work's transaction: commits nothing yet
        with storage.unit_of_work(read_only=True) as other:  # a snapshot: sees nothing yet
            seen = other.connection.execute(sa.select(orders.c.lead_id)).all()  # type: ignore[attr-defined]
            assert (seen, other.leads.count()) == ([], 0)

    storage.run(place)
    with storage.unit_of_work() as uow:
        uow.leads.save(dropped)
        uow.connection.execute(sa.insert(orders).values(lead_id=dropped.id))  # type: ignore[attr-defined]
        uow.rollback()
    assert _lead_ids(storage) == {kept.id}
    assert _orders(db) == [kept.id]


def test_writers_of_one_process_are_served_in_arrival_order() -> None:
    from pipelinekit.storage.sql.sqlite import _Queue

    queue = _Queue()
    assert queue.acquire(timeout=1)
    order: list[int] = []
    threads = []
    for n in range(5):

        def wait(n: int = n) -> None:
            assert queue.acquire(timeout=30)
            order.append(n)
            queue.release()

        threads.append(threading.Thread(target=wait))
        threads[-1].start()
        while len(queue._waiters) < n + 1:  # parked in arrival order before the next starts
            threads[-1].join(0.001)
    assert not queue.acquire(timeout=0.01)  # a timed-out waiter leaves the queue
    assert len(queue._waiters) == 5
    queue.release()
    for thread in threads:
        thread.join()
    assert order == [0, 1, 2, 3, 4]
    assert queue.acquire(timeout=0)  # free again


def test_run_retries_a_time_taken_before_a_concurrent_change() -> None:
    from pipelinekit import FixedClock
    from pipelinekit.pipelines import StaleTime, sales_pipeline
    from pipelinekit.testing.contracts.samples import at

    sales = sales_pipeline()
    storage = memory_storage()
    deal = storage.run(lambda uow: uow.opportunities.save(opportunity(1)))  # moved at at(1)
    taken_early = at(2)  # the handler read the clock first...

    def meanwhile(uow: UnitOfWork) -> None:  # ...another request moved the deal later
        moved = sales.fire(uow.opportunities.get(deal.id), "advance", at=at(3))
        uow.opportunities.save(moved.entity)

    storage.run(meanwhile)
    times = iter([taken_early, at(4)])
    attempts: list[int] = []

    def advance(uow: UnitOfWork) -> str:
        attempts.append(1)
        current = uow.opportunities.get(deal.id)
        moved = sales.fire(current, "advance", clock=FixedClock(next(times)))
        return uow.opportunities.save(moved.entity).stage

    storage.run(advance, backoff=0)
    assert len(attempts) == 2  # the first raised StaleTime, retryable: read again, retried

    def always_early(uow: UnitOfWork) -> None:
        attempts.append(1)
        raise StaleTime("move", at(0), at(1))

    attempts.clear()
    with pytest.raises(StaleTime) as stale:
        storage.run(always_early, retries=2, backoff=0)
    assert stale.value.retryable
    assert len(attempts) == 3
