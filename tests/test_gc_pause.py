"""The collector pause around batches is safe for nested and concurrent batches."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator

import pytest

from pipelinekit import _gc


@pytest.fixture(autouse=True)
def _collector_enabled() -> Iterator[None]:
    gc.enable()
    yield
    gc.enable()


def _divide(items: list[int]) -> None:
    with _gc.paused():
        for item in items:
            _ = 1 / item


def test_restores_the_collector_after_a_batch_and_after_an_error() -> None:
    with _gc.paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(ZeroDivisionError):
        _divide([1, 0])
    assert gc.isenabled()


def test_nested_batches_restore_only_when_the_last_ends() -> None:
    with _gc.paused():
        with _gc.paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the outer batch is still running
    assert gc.isenabled()


def test_a_disabled_collector_stays_disabled() -> None:
    gc.disable()
    with _gc.paused():
        pass
    assert not gc.isenabled()


def test_overlapping_threads_leave_the_collector_enabled() -> None:
    inside = threading.Barrier(2)

    def work() -> None:
        with _gc.paused():
            inside.wait()  # both threads are inside the pause at once

    threads = [threading.Thread(target=work) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert gc.isenabled()


def test_evaluate_many_leaves_the_collector_as_it_found_it() -> None:
    from datetime import UTC, datetime

    import pipelinekit as pk
    from pipelinekit.qualification import bant

    lead = pk.Lead.create(company=pk.Company("Acme"), at=datetime(2026, 1, 1, tzinfo=UTC))
    bant().evaluate_many([lead, lead], as_of=datetime(2026, 1, 2, tzinfo=UTC))
    assert gc.isenabled()
