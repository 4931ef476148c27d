"""Worker processes for the reliability tests (run as ``python _workers.py JOB JSON-ARGS``)."""

from __future__ import annotations

import json
import random
import sys
import time
from typing import Any

from pipelinekit import FrozenMap
from pipelinekit.storage import ConcurrencyConflict, EventRecord, Storage, StorageBusy
from pipelinekit.storage.sql import postgres_storage, sqlite_storage
from pipelinekit.testing.contracts.samples import at, lead


def open_storage(target: dict[str, Any]) -> Storage:
    """Open the storage a test described (``{"sqlite": path}`` or ``{"postgres": url, ...}``)."""
    if "sqlite" in target:
        return sqlite_storage(target["sqlite"], busy_timeout=60)
    return postgres_storage(target["postgres"], schema=target["schema"], prefix=target["prefix"])


def update_counters(args: dict[str, Any]) -> dict[str, Any]:
    """Increment the ``counter`` custom field of random opportunities; report what landed."""
    storage = open_storage(args["target"])
    rng = random.Random(args["seed"])
    landed: dict[str, int] = {}
    conflicts = busy = 0
    while time.time() < args["start_at"]:
        time.sleep(0.001)
    for _ in range(args["updates"]):
        opp_id = rng.choice(args["ids"])
        with storage.unit_of_work() as uow:
            read = uow.opportunities.get(opp_id)
        time.sleep(rng.random() * 0.002)  # think time: another process may write meanwhile
        counter = read.custom["counter"]
        assert isinstance(counter, int)
        changed = read.evolve(custom=FrozenMap({"counter": counter + 1}))
        try:
            with storage.unit_of_work() as uow:
                uow.opportunities.save(changed)
                uow.commit()
        except ConcurrencyConflict:
            conflicts += 1
            continue
        except StorageBusy:
            busy += 1
            continue
        landed[opp_id] = landed.get(opp_id, 0) + 1
    storage.close()
    return {"landed": landed, "conflicts": conflicts, "busy": busy}


def bulk_import(args: dict[str, Any]) -> dict[str, Any]:
    """Upsert ``total`` leads in batches, one unit of work (and one event) per batch."""
    storage = open_storage(args["target"])
    size = args["batch"]
    with storage.unit_of_work() as uow:
        print("ready", flush=True)
        for start in range(0, args["total"], size):
            batch = [lead(n) for n in range(start, min(start + size, args["total"]))]
            saved = uow.leads.upsert_all(batch)
            uow.events.append(
                EventRecord("lead", saved[0].id, "batch_imported", at(0), {"first": start})
            )
            uow.commit()
    storage.close()
    return {"done": True}


def open_fresh_databases(
    targets: list[dict[str, Any]], explicit: bool, barrier: Any, failures: Any
) -> None:
    """For each target in turn, start together with the others (``barrier``) and open it.

    ``explicit`` workers run ``create_schema()``, the others their first unit of
    work (the schema is then created on first use); every failure is put on
    ``failures`` as text.
    """
    for target in targets:
        storage = open_storage(target)
        barrier.wait(300)
        try:
            if explicit:
                storage.create_schema()  # type: ignore[attr-defined]
            else:
                with storage.unit_of_work() as uow:
                    uow.leads.count()
        except Exception as error:  # reported to the test, which fails on any
            failures.put(f"{target}: {type(error).__name__}: {error}")
        finally:
            storage.close()


if __name__ == "__main__":
    job, raw = sys.argv[1], sys.argv[2]
    result = {"update_counters": update_counters, "bulk_import": bulk_import}[job](json.loads(raw))
    print(json.dumps(result))
