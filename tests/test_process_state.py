"""An embedded library changes nothing process-wide: batches leave the interpreter as found.

The qualification batch path once paused the cyclic garbage collector for the
whole process; it no longer touches it (nor logging, warnings filters, signal
handlers or interpreter limits), whatever the caller had set.
"""

from __future__ import annotations

import gc
import logging
import signal
import sys
import threading
import warnings
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

import pipelinekit as pk
from pipelinekit.pipelines import sales_pipeline
from pipelinekit.qualification import bands, bant, icp_fit, one_of

AT = datetime(2026, 1, 2, tzinfo=UTC)


def _state() -> dict[str, Any]:
    return {
        "gc": gc.isenabled(),
        "gc thresholds": gc.get_threshold(),
        "warnings filters": list(warnings.filters),
        "root handlers": list(logging.getLogger().handlers),
        "root level": logging.getLogger().level,
        "recursion limit": sys.getrecursionlimit(),
        "int digits": sys.get_int_max_str_digits(),
        "SIGINT": signal.getsignal(signal.SIGINT),
    }


class _Watcher:
    """A lead stand-in that records whether the collector runs while it is read."""

    def __init__(self, lead: pk.Lead, seen: list[bool]) -> None:
        self._lead = lead
        self._seen = seen

    def __getattr__(self, name: str) -> object:
        self._seen.append(gc.isenabled())
        return getattr(self._lead, name)


@pytest.fixture
def leads() -> list[pk.Lead]:
    at = datetime(2026, 1, 1, tzinfo=UTC)
    return [
        pk.Lead.create(company=pk.Company("Acme", industry="software", employees=n), at=at)
        for n in range(50)
    ]


@pytest.fixture(params=[True, False], ids=["collector on", "collector off"])
def collector(request: pytest.FixtureRequest) -> Iterator[bool]:
    was = gc.isenabled()
    if request.param:
        gc.enable()
    else:
        gc.disable()
    yield request.param
    if was:
        gc.enable()
    else:
        gc.disable()


def test_batches_leave_the_process_as_they_found_it(leads: list[pk.Lead], collector: bool) -> None:
    before = _state()
    fit = icp_fit(
        "fit",
        [
            one_of("industry", "company.industry", {"software": 10}),
            bands("size", "company.employees", [(None, 10, 0), (10, None, 5)]),
        ],
    )
    fit.evaluate_many(leads, as_of=AT)
    fit.score_many(leads, as_of=AT)  # type: ignore[attr-defined]
    bant().evaluate_many(leads, as_of=AT)
    sales = sales_pipeline()
    deals = [sales.open(name=f"Deal {i}", at=AT).entity for i in range(20)]
    sales.bulk(deals, "advance", at=AT)
    assert _state() == before
    assert gc.isenabled() is collector


def test_the_collector_keeps_running_while_a_batch_is_scored(leads: list[pk.Lead]) -> None:
    seen: list[bool] = []
    fit = icp_fit("fit", [one_of("industry", "company.industry", {"software": 10})])
    fit.evaluate_many([_Watcher(lead, seen) for lead in leads], as_of=AT)
    assert seen
    assert all(seen)


def test_concurrent_batches_never_switch_the_collector(
    leads: list[pk.Lead], monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []
    monkeypatch.setattr(gc, "disable", lambda: calls.append("disable"))
    monkeypatch.setattr(gc, "enable", lambda: calls.append("enable"))
    fit = icp_fit("fit", [one_of("industry", "company.industry", {"software": 10})])
    threads = [
        threading.Thread(target=lambda: fit.evaluate_many(leads, as_of=AT)) for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert calls == []
