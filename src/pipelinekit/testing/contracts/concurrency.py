"""The concurrency contract: retryable errors flagged as such, and ``Storage.run`` losing nothing.

:meth:`pipelinekit.storage.Storage.run` retries exactly the errors whose
``retryable`` is true, so an adapter must raise
:class:`~pipelinekit.storage.ConcurrencyConflict` (retryable) for a stale
write, whether at ``save`` or at ``commit``, and must let concurrent units of
work of one storage run from several threads.  Subclass
:class:`ConcurrencyContract` beside :class:`~.storage.StorageContract`::

    from pipelinekit.testing.contracts.concurrency import ConcurrencyContract

    class TestMyAdapterConcurrency(ConcurrencyContract):
        def make_storage(self):
            return my_storage(...)
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from pipelinekit import FrozenMap, PipelinekitError
from pipelinekit.storage import Storage, UnitOfWork

from .samples import opportunity

__all__ = ["ConcurrencyContract"]


def _count(uow: UnitOfWork, deal_id: str) -> int:
    value = uow.opportunities.get(deal_id).custom["n"]
    assert isinstance(value, int)
    return value


class ConcurrencyContract:
    """Concurrency tests for every storage adapter (subclass and implement ``make_storage``)."""

    #: Threads and increments per thread of the lost-update test.
    threads = 4
    increments = 5

    def make_storage(self) -> Storage:
        """Return a new, empty storage of the adapter under test."""
        raise NotImplementedError("subclasses return a fresh, empty storage")

    @pytest.fixture
    def storage(self) -> Iterator[Storage]:
        """A fresh storage per test, closed afterwards."""
        made = self.make_storage()
        try:
            yield made
        finally:
            made.close()

    def test_a_stale_write_is_a_retryable_error(self, storage: Storage) -> None:
        deal = opportunity(1).evolve(custom=FrozenMap({"n": 0}))
        storage.run(lambda uow: uow.opportunities.save(deal))
        with storage.unit_of_work(read_only=True) as reader:
            stale = reader.opportunities.get(deal.id)
        storage.run(lambda uow: uow.opportunities.save(stale.evolve(custom=FrozenMap({"n": 1}))))

        def stale_write() -> None:
            with storage.unit_of_work() as uow:
                uow.opportunities.save(stale.evolve(custom=FrozenMap({"n": 2})))
                uow.commit()

        with pytest.raises(PipelinekitError) as caught:
            stale_write()
        assert caught.value.retryable, f"{type(caught.value).__name__} is not retryable"
        assert storage.run(lambda uow: _count(uow, deal.id), read_only=True) == 1

    def test_threads_incrementing_through_run_lose_nothing(self, storage: Storage) -> None:
        deal = opportunity(1).evolve(custom=FrozenMap({"n": 0}))
        storage.run(lambda uow: uow.opportunities.save(deal))
        seen: list[int] = []
        errors: list[BaseException] = []
        start = threading.Barrier(self.threads)

        def increment(uow: UnitOfWork) -> int:
            read = uow.opportunities.get(deal.id)
            count = _count(uow, deal.id) + 1
            uow.opportunities.save(read.evolve(custom=FrozenMap({"n": count})))
            return count

        def work() -> None:
            try:
                start.wait(30)
                for _ in range(self.increments):
                    seen.append(storage.run(increment, retries=1000, backoff=0))
            except BaseException as error:  # reported below
                errors.append(error)

        workers = [threading.Thread(target=work) for _ in range(self.threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        assert errors == []
        total = self.threads * self.increments
        assert storage.run(lambda uow: _count(uow, deal.id), read_only=True) == total
        assert sorted(seen) == list(range(1, total + 1))  # each increment landed once
