"""Reliability with real processes: concurrent writers, SIGKILLed imports, erasure on disk."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from pipelinekit import FrozenMap, to_dict
from pipelinekit.storage import EventRecord, LeadQuery, Storage
from pipelinekit.testing.contracts.samples import at, lead, opportunity, prospect

from .conftest import postgres_url, unique_prefix

WORKER = Path(__file__).with_name("_workers.py")
ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


def _spawn(job: str, args: dict[str, Any]) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(WORKER.parent)}
    return subprocess.Popen(
        [sys.executable, str(WORKER), job, json.dumps(args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def _finish(process: subprocess.Popen[str], timeout: float = 300) -> dict[str, Any]:
    out, err = process.communicate(timeout=timeout)
    assert process.returncode == 0, err
    return json.loads(out.strip().splitlines()[-1])  # type: ignore[no-any-return]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, Any]:
    if request.param == "sqlite":
        return {"sqlite": str(tmp_path / "reliability.db")}
    schema = request.getfixturevalue("pg_schema")
    return {"postgres": postgres_url(), "schema": schema, "prefix": unique_prefix()}


@pytest.fixture
def storage(target: dict[str, Any]) -> Iterator[Storage]:
    sys.path.insert(0, str(WORKER.parent))
    try:
        from _workers import open_storage
    finally:
        sys.path.remove(str(WORKER.parent))
    made = open_storage(target)
    yield made
    made.close()


def test_concurrent_updates_land_or_conflict_and_none_is_lost(
    target: dict[str, Any], storage: Storage
) -> None:
    opportunities = [opportunity(n, custom=FrozenMap({"counter": 0})) for n in range(3)]
    with storage.unit_of_work() as uow:
        uow.opportunities.save_all(opportunities)
        uow.commit()
    ids = [o.id for o in opportunities]
    start_at = time.time() + 1.5
    workers = [
        _spawn(
            "update_counters",
            {"target": target, "ids": ids, "updates": 60, "seed": seed, "start_at": start_at},
        )
        for seed in range(4)
    ]
    reports = [_finish(w) for w in workers]
    landed = {i: sum(r["landed"].get(i, 0) for r in reports) for i in ids}
    conflicts = sum(r["conflicts"] for r in reports)
    assert sum(r["busy"] for r in reports) == 0
    assert sum(landed.values()) + conflicts == 4 * 60
    assert conflicts > 0, "the workers never collided: the test did not exercise conflicts"
    with storage.unit_of_work() as uow:
        for opp_id in ids:
            stored = uow.opportunities.get(opp_id)
            assert stored.custom["counter"] == landed[opp_id]
            assert stored.version == 1 + landed[opp_id]


def _check_import_consistent(storage: Storage, total: int, batch: int) -> int:
    with storage.unit_of_work() as uow:
        leads = uow.leads.find(LeadQuery(limit=None)).items
        firsts = {r.payload["first"] for r in uow.events.read(entity_kind="lead")}
        histories = sum(len(uow.leads.history(e.id)) for e in leads)
        results = sum(len(uow.results.for_subject("lead", e.id)) for e in leads)
    numbers = sorted(int(e.external_id.removeprefix("crm-")) for e in leads if e.external_id)
    assert len(numbers) == len(set(numbers)) == len(leads)
    for start in range(0, total, batch):
        present = [n for n in numbers if start <= n < start + batch]
        assert len(present) in (0, min(batch, total - start)), f"batch {start} is partial"
        assert bool(present) == (start in firsts), f"batch {start}: rows and event disagree"
    assert histories == len(leads)  # every lead has its one history row, no orphans
    assert results == len(leads)
    assert all(e.version == 1 for e in leads)
    return len(leads)


def test_a_killed_bulk_import_stays_consistent_and_a_rerun_completes(
    target: dict[str, Any], storage: Storage
) -> None:
    total, batch = 12000, 400
    args = {"target": target, "total": total, "batch": batch}
    seed = random.randrange(1 << 30)
    rng = random.Random(seed)
    with storage.unit_of_work():
        pass  # create the schema before the workers race to
    counts = []
    for _ in range(3):
        worker = _spawn("bulk_import", args)
        assert worker.stdout is not None
        assert worker.stdout.readline().strip() == "ready"
        time.sleep(rng.uniform(0.0, 0.8))
        worker.send_signal(signal.SIGKILL)
        worker.communicate(timeout=30)
        assert worker.returncode == -signal.SIGKILL
        counts.append(_check_import_consistent(storage, total, batch))
    assert counts[0] < total, f"the import finished before the kill (seed {seed}): add rows"
    _finish(_spawn("bulk_import", args))
    assert _check_import_consistent(storage, total, batch) == total


SECRETS = [
    "Ada Lovelace 7",
    "ada7@example.com",
    "+44 20 7946 0007",
    "+442079460007",
    "Met Ada 7 at the conference",
    "imported 7",
    "call went well",
    "Ada wants a callback tomorrow",
]


def _fill_and_erase(storage: Storage) -> None:
    person = lead(7, notes="Ada wants a callback tomorrow")
    pros = prospect(7)
    opp = opportunity(7, lead_id=person.id)
    person = person.evolve(prospect_id=pros.id, opportunity_id=opp.id)
    with storage.unit_of_work() as uow:
        uow.leads.save_all([lead(n) for n in range(30) if n != 7])
        saved = uow.leads.save(person)
        uow.prospects.save(pros)
        uow.opportunities.save(opp)
        uow.events.append(
            EventRecord("lead", person.id, "form", at(7), {"email": "ada7@example.com"})
        )
        uow.commit()
        # Older versions of the row (now free space, WAL frames) must not keep the data either.
        saved = uow.leads.save(saved.evolve(owner="kim"))
        uow.leads.save(saved.evolve(owner="lee"))
        uow.commit()
    with storage.unit_of_work() as uow:
        uow.erase_personal_data(person.id, at=at(90))
        uow.commit()


def test_erased_strings_are_gone_from_the_sqlite_files(tmp_path: Path) -> None:
    from pipelinekit.storage.sql import sqlite_storage

    path = tmp_path / "erase.db"
    storage = sqlite_storage(path)
    _fill_and_erase(storage)
    raw = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("erase.db"))
    storage.close()
    raw += b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("erase.db"))
    assert b"ada8@example.com" in raw  # the scan sees data that was not erased
    for secret in SECRETS:
        assert secret.encode() not in raw, secret


def test_erasure_does_not_report_success_while_a_reader_keeps_the_data_in_the_wal(
    tmp_path: Path,
) -> None:
    from pipelinekit.storage import StorageBusy
    from pipelinekit.storage.sql import sqlite_storage

    path = tmp_path / "erase.db"
    storage = sqlite_storage(path, busy_timeout=0.2)
    person = lead(7)
    with storage.unit_of_work() as uow:
        uow.leads.save(person)
        uow.commit()

    def on_disk() -> bytes:
        return b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("erase"))

    try:
        with storage.unit_of_work(read_only=True) as reader:
            reader.leads.count()  # holds a snapshot from before the erasure
            with storage.unit_of_work() as uow:
                uow.erase_personal_data(person.id, at=at(90))
                with pytest.raises(StorageBusy, match="compact"):
                    uow.commit()
            assert b"ada7@example.com" in on_disk()  # the error told the truth
        with storage.unit_of_work(read_only=True) as uow:
            erased = uow.leads.get(person.id)  # the erasure itself is committed
            assert "ada7@example.com" not in json.dumps(to_dict(erased))
        storage.compact()
        assert b"ada7@example.com" not in on_disk()
    finally:
        storage.close()


@pytest.mark.postgres
def test_erased_strings_are_gone_from_the_postgres_tables(pg_schema: str) -> None:
    from pipelinekit.storage.sql import postgres_storage

    prefix = unique_prefix()
    storage = postgres_storage(postgres_url(), schema=pg_schema, prefix=prefix)
    _fill_and_erase(storage)
    storage.compact()  # VACUUM: no dead row version keeps the old text either
    engine = sa.create_engine(postgres_url())
    dump = []
    with engine.connect() as conn:
        tables = conn.execute(
            sa.text(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_schema = :s AND table_name LIKE :p"
            ),
            {"s": pg_schema, "p": prefix + "%"},
        ).scalars()
        for table in tables:
            rows = conn.execute(sa.text(f'SELECT t::text FROM "{pg_schema}"."{table}" t'))
            dump.extend(rows.scalars())
    engine.dispose()
    storage.close()
    text = "\n".join(dump)
    assert "ada8@example.com" in text
    for secret in SECRETS:
        assert secret not in text, secret
