"""pipelinekit.aio: storage from coroutines without blocking the event loop."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest

from pipelinekit import FrozenMap, ValidationError
from pipelinekit.aio import AsyncStorage
from pipelinekit.storage import NotFound, UnitOfWork, UnitOfWorkClosed
from pipelinekit.storage.sql import sqlite_storage
from pipelinekit.testing.contracts.samples import lead, opportunity


def test_a_waiting_writer_leaves_the_event_loop_free(tmp_path: Path) -> None:
    storage = sqlite_storage(tmp_path / "loop.db")
    astorage = AsyncStorage(storage)
    holding, release = threading.Event(), threading.Event()

    def hold() -> None:
        with storage.unit_of_work() as uow:  # another request holds the write lock
            uow.leads.save(lead(1))
            uow.commit()
            holding.set()
            release.wait(30)

    async def scenario() -> list[str]:
        seen: list[str] = []
        holder = threading.Thread(target=hold)
        holder.start()
        await asyncio.to_thread(holding.wait, 30)
        write = asyncio.create_task(astorage.run(lambda uow: uow.leads.save(lead(2))))
        for n in range(3):  # a ping endpoint: the loop keeps running
            await asyncio.sleep(0.01)
            seen.append(f"ping {n}, write done: {write.done()}")
        release.set()
        saved = await write
        seen.append(f"saved version {saved.version}")
        await asyncio.to_thread(holder.join)
        await astorage.aclose()
        return seen

    assert asyncio.run(scenario()) == [
        "ping 0, write done: False",
        "ping 1, write done: False",
        "ping 2, write done: False",
        "saved version 1",
    ]


def test_an_async_unit_of_work_runs_every_call_on_one_thread_of_its_own(tmp_path: Path) -> None:
    storage = sqlite_storage(tmp_path / "uow.db")
    deal = opportunity(1).evolve(custom=FrozenMap({"n": 0}))

    async def scenario() -> None:
        async with AsyncStorage(storage) as astorage:
            async with astorage.unit_of_work() as uow:
                saved = await uow.opportunities.save(deal)
                threads = {await uow.call(lambda _: threading.get_ident()) for _ in range(3)}
                await uow.commit()
            assert len(threads) == 1
            assert threading.get_ident() not in threads
            assert saved.version == 1
            async with astorage.unit_of_work(read_only=True) as reader:
                assert (await reader.opportunities.get(deal.id)).version == 1
                with pytest.raises(NotFound):
                    await reader.leads.get("nope")
                with pytest.raises(AttributeError, match=r"uow\.call"):
                    reader.leads.iterate  # noqa: B018 - the attribute access is the test
            async with astorage.unit_of_work() as uow:
                await uow.leads.save(lead(1))  # left without commit: rolled back
            assert await astorage.run(lambda uow: uow.leads.count(), read_only=True) == 0
            closed = astorage.unit_of_work()
            with pytest.raises(UnitOfWorkClosed):
                await closed.commit()

    asyncio.run(scenario())


def test_async_run_retries_conflicts_like_storage_run(tmp_path: Path) -> None:
    storage = sqlite_storage(tmp_path / "retry.db")
    deal = opportunity(1).evolve(custom=FrozenMap({"n": 0}))
    storage.run(lambda uow: uow.opportunities.save(deal))

    def increment(uow: UnitOfWork) -> None:
        read = uow.opportunities.get(deal.id)
        count = read.custom["n"]
        assert isinstance(count, int)
        uow.opportunities.save(read.evolve(custom=FrozenMap({"n": count + 1})))

    async def scenario() -> None:
        async with AsyncStorage(storage) as astorage:
            await asyncio.gather(*(astorage.run(increment, backoff=0) for _ in range(20)))

    asyncio.run(scenario())
    final = storage.run(lambda uow: uow.opportunities.get(deal.id), read_only=True)
    assert final.custom["n"] == 20
    storage.close()


def test_async_storage_needs_a_storage() -> None:
    with pytest.raises(ValidationError):
        AsyncStorage("sqlite:///x.db")  # type: ignore[arg-type]
