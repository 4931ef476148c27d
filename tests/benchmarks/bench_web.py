"""Web-app load: concurrent single-deal writes from the threads of one process.

* ``sqlite_write_fairness``: 16 threads each run ``n / 16`` read-modify-write
  units of work on one of 4 hot opportunities through one shared storage's
  ``run`` (writers of one process queue first come, first served on the
  storage's lock) vs the same units of work through one storage per thread,
  whose writers meet only at the file and wait on SQLite's busy handler
  (sleep and retry), as every writer did before the queue.  The time ratio
  compares throughput; the figure the benchmark is about is each side's
  p99 / p50 latency of one write, reported as extras.
* ``async_ping_under_writes``: an event loop serves a ping (a 2 ms timer,
  the cheapest endpoint there is) while ``n`` read-modify-write units of work
  on 4 hot opportunities run 8 at a time from coroutines, through
  ``AsyncStorage.run`` (worker threads) vs ``storage.run`` called from the
  coroutines directly, which blocks the loop for every query.  The time ratio
  compares throughput; the figure the benchmark is about is the ping's
  median latency while the writes run over its median when the loop is idle,
  reported as extras (target: 2).
"""

from __future__ import annotations

import asyncio
import atexit
import itertools
import shutil
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from _harness import Pair, benchmark

from pipelinekit import FrozenMap
from pipelinekit.aio import AsyncStorage
from pipelinekit.storage import UnitOfWork
from pipelinekit.storage.sql import sqlite_storage
from pipelinekit.testing.contracts.samples import opportunity

THREADS = 16
HOT = 4
_WORK = Path(tempfile.mkdtemp(prefix="pk-bench-web-"))
atexit.register(shutil.rmtree, _WORK, ignore_errors=True)
_files = itertools.count()


def _p99_over_p50(latencies: list[float]) -> float:
    ordered = sorted(latencies)
    p50 = statistics.median(ordered)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return p99 / p50


def _threads(work: Any) -> list[float]:
    latencies: list[float] = []
    lock = threading.Lock()

    def worker(index: int) -> None:
        mine = work(index)
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies


@benchmark(
    "sqlite_write_fairness",
    target=1.5,
    size=3_200,
    quick_size=320,
    baseline="the same units of work, one storage per thread (SQLite's busy handler)",
    rounds=3,
)
def sqlite_write_fairness(n: int) -> Pair:
    each = n // THREADS
    figures: dict[str, list[float]] = {"pipelinekit": [], "baseline": []}

    def run_all(*, shared: bool) -> int:
        path = _WORK / f"fair-{next(_files)}.db"
        storage = sqlite_storage(path)
        deals = [opportunity(i).evolve(custom=FrozenMap({"n": 0})) for i in range(HOT)]
        storage.run(lambda uow: uow.opportunities.save_all(deals))
        ids = [deal.id for deal in deals]
        own = [storage if shared else sqlite_storage(path, busy_timeout=60) for _ in range(THREADS)]

        def work(index: int) -> list[float]:
            mine = own[index]
            out = []
            for k in range(each):
                deal_id = ids[(index + k) % HOT]

                def increment(uow: UnitOfWork, deal_id: str = deal_id) -> None:
                    read = uow.opportunities.get(deal_id)
                    count = read.custom["n"]
                    assert isinstance(count, int)
                    uow.opportunities.save(read.evolve(custom=FrozenMap({"n": count + 1})))

                start = time.perf_counter()
                mine.run(increment)
                out.append(time.perf_counter() - start)
            return out

        latencies = _threads(work)
        total = storage.run(
            lambda uow: sum(uow.opportunities.get(i).custom["n"] for i in ids),  # type: ignore[misc]
            read_only=True,
        )
        for one in {id(s): s for s in [storage, *own]}.values():
            one.close()
        assert total == each * THREADS
        figures["pipelinekit" if shared else "baseline"].append(_p99_over_p50(latencies))
        return total

    def ours() -> int:
        return run_all(shared=True)

    def raw() -> int:
        return run_all(shared=False)

    def extra() -> dict[str, Any]:
        return {
            "p99/p50 pipelinekit": round(statistics.median(figures["pipelinekit"]), 1),
            "p99/p50 baseline (busy handler)": round(statistics.median(figures["baseline"]), 1),
        }

    return Pair(pipelinekit=ours, baseline=raw, extra=extra)


PING = 0.002
IN_FLIGHT = 8


async def _ping_while(work: Any) -> list[float]:
    """Ping latencies (seconds) measured while ``work`` (a coroutine) runs."""
    latencies: list[float] = []
    done = asyncio.Event()

    async def ping() -> None:
        while not done.is_set():
            start = time.perf_counter()
            await asyncio.sleep(PING)
            latencies.append(time.perf_counter() - start)

    async def run_work() -> None:
        try:
            await work
        finally:
            done.set()

    await asyncio.gather(ping(), run_work())
    return latencies


@benchmark(
    "async_ping_under_writes",
    target=1.5,
    size=800,
    quick_size=80,
    baseline="the same units of work, storage.run called from the coroutines (blocks the loop)",
    rounds=3,
)
def async_ping_under_writes(n: int) -> Pair:
    figures: dict[str, list[float]] = {"idle": [], "pipelinekit": [], "baseline": []}

    def run_all(*, threaded: bool) -> int:
        path = _WORK / f"ping-{next(_files)}.db"
        storage = sqlite_storage(path)
        astorage = AsyncStorage(storage)
        deals = [opportunity(i).evolve(custom=FrozenMap({"n": 0})) for i in range(HOT)]
        storage.run(lambda uow: uow.opportunities.save_all(deals))
        ids = [deal.id for deal in deals]

        def increment(uow: UnitOfWork, deal_id: str) -> None:
            read = uow.opportunities.get(deal_id)
            count = read.custom["n"]
            assert isinstance(count, int)
            uow.opportunities.save(read.evolve(custom=FrozenMap({"n": count + 1})))

        async def writes() -> None:
            slots = asyncio.Semaphore(IN_FLIGHT)

            async def one(k: int) -> None:
                async with slots:

                    def fn(uow: UnitOfWork, deal_id: str = ids[k % HOT]) -> None:
                        increment(uow, deal_id)

                    if threaded:
                        await astorage.run(fn)
                    else:
                        storage.run(fn)

            await asyncio.gather(*(one(k) for k in range(n)))

        async def idle() -> None:
            await asyncio.sleep(PING * 50)

        figures["idle"].append(statistics.median(asyncio.run(_ping_while(idle()))))
        busy = statistics.median(asyncio.run(_ping_while(writes())))
        figures["pipelinekit" if threaded else "baseline"].append(busy)
        total = storage.run(
            lambda uow: sum(uow.opportunities.get(i).custom["n"] for i in ids),  # type: ignore[misc]
            read_only=True,
        )
        storage.close()
        assert total == n
        return total

    def ours() -> int:
        return run_all(threaded=True)

    def raw() -> int:
        return run_all(threaded=False)

    def extra() -> dict[str, Any]:
        idle = statistics.median(figures["idle"])
        return {
            "ping p50 idle ms": round(idle * 1000, 2),
            "ping p50 / idle, AsyncStorage.run (target 2)": round(
                statistics.median(figures["pipelinekit"]) / idle, 2
            ),
            "ping p50 / idle, storage.run in the coroutine": round(
                statistics.median(figures["baseline"]) / idle, 1
            ),
        }

    return Pair(pipelinekit=ours, baseline=raw, extra=extra)
