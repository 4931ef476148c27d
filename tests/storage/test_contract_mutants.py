"""The storage contract catches adapters that lose data.

Each mutant is the in-memory adapter with one mistake real adapter authors
make; the shipped contract (example tests and the state machine) must fail
every one, and pass the correct adapter.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, ClassVar

import pytest
from hypothesis import HealthCheck, Phase, settings

from pipelinekit import Lead, StageChange
from pipelinekit.qualification import FrequencyTable
from pipelinekit.storage import Storage, StoredResult, UnitOfWork
from pipelinekit.storage.memory import (
    _Events,
    _Frequencies,
    _Leads,
    _MemoryStorage,
    _MemoryUnitOfWork,
    _Results,
)
from pipelinekit.testing.contracts import StatefulStorageContract, StorageContract


class NoCommitRecheck(_MemoryUnitOfWork):
    """Checks versions when saving, but not again when committing."""

    def _commit(self) -> None:
        self.base.clear()
        super()._commit()


class _BlindUpsertLeads(_Leads):
    def _get_by_external_ids(self, external_ids: Any) -> dict[str, Lead]:
        return {}  # "upsert = insert, the database will sort it out"


class BlindUpsert(_MemoryUnitOfWork):
    def __init__(self, state: Any) -> None:
        super().__init__(state)
        self.leads = _BlindUpsertLeads(self)


class _LatestOnlyLeads(_Leads):
    def _history(self, entity_id: str) -> list[StageChange]:
        return super()._history(entity_id)[-1:]  # keeps the current stage's entry only


class LostHistory(_MemoryUnitOfWork):
    def __init__(self, state: Any) -> None:
        super().__init__(state)
        self.leads = _LatestOnlyLeads(self)


class _KeptEvents(_Events):
    def _replace_payload(self, seq: int, payload: dict[str, Any]) -> None:
        pass  # events are append-only, "so erasure cannot touch them"


class ErasureKeepsEvents(_MemoryUnitOfWork):
    def __init__(self, state: Any) -> None:
        super().__init__(state)
        self.events = _KeptEvents(self)


class _DroppedResults(_Results):
    def _add(self, items: list[StoredResult]) -> None:
        pass


class ResultsDropped(_MemoryUnitOfWork):
    def __init__(self, state: Any) -> None:
        super().__init__(state)
        self.results = _DroppedResults(self)


class _UnsortedLeads(_Leads):
    def _matches(self, criteria: Any) -> list[Lead]:
        index = self._index()
        return [e for e in self._uow.merged(self.kind).values() if criteria.matches(index(e))]

    def _index(self) -> Callable[[Lead], Any]:
        from pipelinekit.storage._kinds import INDEX

        return INDEX[Lead]


class FindUnsorted(_MemoryUnitOfWork):
    def __init__(self, state: Any) -> None:
        super().__init__(state)
        self.leads = _UnsortedLeads(self)


class RollbackKeepsWrites(_MemoryUnitOfWork):
    def _rollback(self) -> None:
        self._commit()  # "flush on close"


class _EagerFrequencies(_Frequencies):
    def _add(self, model: str, keys: Any, won: bool, delta: int) -> None:
        shared = self._uow._shared  # "counters need no transaction"
        table = FrequencyTable(shared.frequencies.get(model, []))
        table.add(keys, won=won, delta=delta)
        shared.frequencies[model] = table.rows()


class CountsOutsideTheUnitOfWork(_MemoryUnitOfWork):
    def __init__(self, state: Any) -> None:
        super().__init__(state)
        self.frequencies = _EagerFrequencies(self)


class _GrowingFrequencies(_Frequencies):
    def _add(self, model: str, keys: Any, won: bool, delta: int) -> None:
        if delta > 0:  # "a closed deal stays counted"
            super()._add(model, keys, won, delta)


class ReopenedDealsStayCounted(_MemoryUnitOfWork):
    def __init__(self, state: Any) -> None:
        super().__init__(state)
        self.frequencies = _GrowingFrequencies(self)


class MatchKeysOfCommittedRecordsOnly(_MemoryUnitOfWork):
    def records_by_match_keys(self, keys: Any) -> list[Any]:
        pending, self.pending = self.pending, {k: {} for k in self.pending}
        try:  # "the index is updated on commit, so a check sees committed records only"
            return super().records_by_match_keys(keys)
        finally:
            self.pending = pending


def _storage_of(unit: type[_MemoryUnitOfWork]) -> Callable[[], Storage]:
    class MutantStorage(_MemoryStorage):
        def unit_of_work(self, *, read_only: bool = False) -> UnitOfWork:
            uow = unit(self._state)
            uow.read_only = read_only
            return uow

    return MutantStorage


MUTANTS: dict[str, type[_MemoryUnitOfWork]] = {
    "no commit-time version re-check": NoCommitRecheck,
    "blind upsert": BlindUpsert,
    "lost history": LostHistory,
    "erasure that keeps events": ErasureKeepsEvents,
    "results dropped": ResultsDropped,
    "find unsorted": FindUnsorted,
    "rollback that keeps writes": RollbackKeepsWrites,
    "predictive counts outside the unit of work": CountsOutsideTheUnitOfWork,
    "reopened deals stay counted": ReopenedDealsStayCounted,
    "match keys of committed records only": MatchKeysOfCommittedRecordsOnly,
}

_FAST = settings(
    max_examples=30,
    stateful_step_count=20,
    derandomize=True,
    database=None,
    deadline=None,
    phases=[Phase.generate],  # the first failing run is enough: no shrinking
    suppress_health_check=[HealthCheck.too_slow],
)


def _failures(make: Callable[[], Storage]) -> dict[str, str]:
    """Run every test of both contracts against storages from ``make``; failures by name."""

    class Examples(StorageContract):
        def make_storage(self) -> Storage:
            return make()

    class Machine(StatefulStorageContract):
        state_machine_settings: ClassVar[settings] = _FAST

        def make_storage(self) -> Storage:
            return make()

    failed: dict[str, str] = {}
    suite = Examples()
    for name in sorted(n for n in dir(suite) if n.startswith("test_")):
        test = getattr(suite, name)
        params = inspect.signature(test).parameters
        variants: list[dict[str, Any]] = [{}]
        if "open_at_once" in params:
            variants = [
                {"open_at_once": n, "saves_first": first} for n in (2, 3) for first in (False, True)
            ]
        for extra in variants:
            storage = make()
            try:
                test(storage=storage, **extra)
            except pytest.skip.Exception:
                pass
            except (Exception, pytest.fail.Exception) as error:
                failed[f"{name}{extra or ''}"] = f"{type(error).__name__}: {error}"
            finally:
                storage.close()
    try:
        Machine().test_agrees_with_the_in_memory_model()
    except (Exception, pytest.fail.Exception) as error:
        failed["stateful machine"] = f"{type(error).__name__}: {error}"
    return failed


def test_the_correct_memory_adapter_passes_both_contracts() -> None:
    assert _failures(_storage_of(_MemoryUnitOfWork)) == {}


# The erased payloads the machine appends hold no personal data: the example tests
# catch an erasure that keeps events, the machine catches every other defect on its own.
CAUGHT_BY_THE_EXAMPLES_ONLY = {
    "erasure that keeps events",
    # the machine does not drive predictive models: the frequency examples catch these
    "predictive counts outside the unit of work",
    "reopened deals stay counted",
    # nor look records up by match key
    "match keys of committed records only",
}


@pytest.mark.parametrize("defect", list(MUTANTS))
def test_the_contract_catches_an_adapter_that_loses_data(defect: str) -> None:
    failed = _failures(_storage_of(MUTANTS[defect]))
    assert failed, f"both storage contracts passed an adapter with this defect: {defect}"
    if defect not in CAUGHT_BY_THE_EXAMPLES_ONLY:
        assert "stateful machine" in failed, f"the state machine passed: {defect}"


def test_an_adapter_claiming_exclusive_writers_must_keep_the_claim() -> None:
    """The memory adapter lets writers overlap: declaring they exclude each other is caught."""

    class Claims(StorageContract):
        writers_can_overlap = False

    storage = _storage_of(_MemoryUnitOfWork)()
    try:
        with pytest.raises(AssertionError, match="writers_can_overlap = False"):
            Claims().test_interleaved_units_of_work_see_only_their_own_uncommitted_changes(
                storage=storage
            )
    finally:
        storage.close()
