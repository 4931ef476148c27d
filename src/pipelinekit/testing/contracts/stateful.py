"""A Hypothesis state machine: an adapter and the in-memory reference, side by side.

Every rule performs the same operation on both storages (same entities, same
times) and checks that both give the same outcome: the same returned values,
or the same error type.  After every step both must hold the same leads.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any, ClassVar

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from pipelinekit import Lead, PipelinekitError, StageChange
from pipelinekit.storage import (
    EventRecord,
    LeadQuery,
    OpportunityQuery,
    ProspectQuery,
    Storage,
    UnitOfWork,
    memory_storage,
)

from .samples import T0, lead, opportunity, prospect, result

__all__ = ["StatefulStorageContract", "storage_state_machine"]

_STATUSES = st.sampled_from(["new", "contacted", "qualified"])
_OWNERS = st.sampled_from([None, "sam", "kim"])
# Few distinct values, shared by scores and bounds, so range edges are hit often.
_SCORES = st.sampled_from([None, 10, 35, 50])
_BOUNDS = st.sampled_from([None, 10, 35, 50])
_NUMBERS = st.integers(min_value=0, max_value=12)


def _outcome(run: Callable[[UnitOfWork], Any], uow: UnitOfWork) -> tuple[str, Any]:
    try:
        return ("ok", run(uow))
    except PipelinekitError as error:
        return ("error", type(error).__name__)


_OTHER_KINDS = st.sampled_from(["prospect", "opportunity"])
_MAKERS: dict[str, Callable[..., Any]] = {"prospect": prospect, "opportunity": opportunity}
_REPOSITORIES = {"lead": "leads", "prospect": "prospects", "opportunity": "opportunities"}


def storage_state_machine(
    make_storage: Callable[[], Storage],
    release_storage: Callable[[Storage], None] | None = None,
    *,
    writers_can_overlap: bool = True,
    uncommitted_writes_can_overlap: bool = True,
) -> type[RuleBasedStateMachine]:
    """A state machine class comparing storages from ``make_storage`` with ``memory_storage()``.

    ``release_storage`` cleans up after each run (default: close the storage).  The
    two flags say which interleavings of units of work your backend allows (see
    :class:`~pipelinekit.testing.contracts.StorageContract`); the others are not run.
    """
    release = release_storage if release_storage is not None else _close

    class StorageAgreesWithMemory(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.model = memory_storage()
            self.real = make_storage()
            self.ids: list[str] = []
            self.others: list[tuple[str, str]] = []
            self.clock = 0

        def teardown(self) -> None:
            release(self.real)

        def both(self, run: Callable[[UnitOfWork], Any], *, commit: bool = True) -> Any:
            outcomes: list[tuple[Any, ...]] = []
            for storage in (self.model, self.real):
                with storage.unit_of_work() as uow:
                    outcome: tuple[Any, ...] = _outcome(run, uow)
                    if commit:
                        outcome = (*outcome, _outcome(lambda u: u.commit(), uow))
                outcomes.append(outcome)
            assert outcomes[0] == outcomes[1], f"memory {outcomes[0]!r} != adapter {outcomes[1]!r}"
            return outcomes[0][1] if outcomes[0][0] == "ok" else None

        def tick(self) -> Any:
            self.clock += 1
            return T0 + timedelta(minutes=self.clock)

        @initialize()
        def start(self) -> None:
            self.clock = 100

        @rule(n=_NUMBERS, status=_STATUSES, owner=_OWNERS, score=_SCORES, commit=st.booleans())
        def save_new(
            self, n: int, status: str, owner: str | None, score: int | None, commit: bool
        ) -> None:
            made = lead(n, status=status, owner=owner, qualification=result(score))
            saved = self.both(lambda u: u.leads.save(made), commit=commit)
            if saved is not None and commit:
                self.ids.append(saved.id)

        @precondition(lambda self: self.ids)
        @rule(
            data=st.data(),
            status=_STATUSES,
            owner=_OWNERS,
            score=_SCORES,
            delta=st.sampled_from([0, 0, 0, -1, 1]),
            note=st.booleans(),
        )
        def update(
            self,
            data: st.DataObject,
            status: str,
            owner: str | None,
            score: int | None,
            delta: int,
            note: bool,
        ) -> None:
            entity_id = data.draw(st.sampled_from(self.ids))
            read = self.both(lambda u: u.leads.lookup(entity_id), commit=False)
            if read is None:
                return
            now = self.tick()
            history = read.history
            if status != read.status:
                change = StageChange(
                    read.status, status, "move", now, note="moved" if note else None
                )
                history = (*history, change)
            changed = read.evolve(
                status=status,
                owner=owner,
                qualification=result(score, as_of=now),
                updated_at=now,
                history=history,
                version=max(0, read.version + delta),
            )
            self.both(lambda u: u.leads.save(changed))

        @rule(n=_NUMBERS, owner=_OWNERS, score=_SCORES)
        def upsert(self, n: int, owner: str | None, score: int | None) -> None:
            made = lead(n, owner=owner, qualification=result(score))
            saved = self.both(lambda u: u.leads.upsert(made))
            if saved is not None and saved.id not in self.ids:
                self.ids.append(saved.id)

        @precondition(lambda self: self.ids)
        @rule(data=st.data(), delta=st.sampled_from([0, 0, 1]))
        def delete(self, data: st.DataObject, delta: int) -> None:
            entity_id = data.draw(st.sampled_from(self.ids))
            read: Lead | None = self.both(lambda u: u.leads.lookup(entity_id), commit=False)
            if read is not None:
                stale = read.evolve(version=read.version + delta)
                self.both(lambda u: u.leads.delete(stale))

        @precondition(lambda self: self.ids)
        @rule(data=st.data())
        def erase(self, data: st.DataObject) -> None:
            entity_id = data.draw(st.sampled_from(self.ids))
            now = self.tick()
            self.both(lambda u: u.erase_personal_data(entity_id, at=now))

        @precondition(lambda self: self.ids)
        @rule(data=st.data(), kind=st.sampled_from(["seen", "called"]), commit=st.booleans())
        def append_event(self, data: st.DataObject, kind: str, commit: bool) -> None:
            entity_id = data.draw(st.sampled_from(self.ids))
            record = EventRecord("lead", entity_id, kind, self.tick(), {"by": "sam"})
            self.both(lambda u: u.events.append(record).kind, commit=commit)

        @rule(
            status=st.none() | _STATUSES,
            owner=_OWNERS,
            low=_BOUNDS,
            high=_BOUNDS,
            limit=st.sampled_from([None, 1, 2, 5]),
        )
        def query(
            self,
            status: str | None,
            owner: str | None,
            low: int | None,
            high: int | None,
            limit: int | None,
        ) -> None:
            if low is not None and high is not None and low > high:
                low, high = high, low
            start = LeadQuery(
                status=status, owner=owner, min_score=low, max_score=high, limit=limit
            )

            def run(u: UnitOfWork) -> Any:
                pages = []
                q: LeadQuery | None = start
                while q is not None:
                    page = u.leads.find(q)
                    pages.append(page.items)
                    q = page.next
                return pages, u.leads.count(start), u.leads.count_by_stage(start)

            self.both(run, commit=False)

        @rule(since=st.sampled_from([None, 100, 105, 110]), to_stage=st.none() | _STATUSES)
        def stage_changes(self, since: int | None, to_stage: str | None) -> None:
            start = None if since is None else T0 + timedelta(minutes=since)
            self.both(lambda u: u.leads.stage_changes(since=start, to_stage=to_stage), commit=False)

        @rule(kind=_OTHER_KINDS, n=_NUMBERS, owner=_OWNERS, commit=st.booleans())
        def save_other(self, kind: str, n: int, owner: str | None, commit: bool) -> None:
            made = _MAKERS[kind](n, owner=owner)
            repository = _REPOSITORIES[kind]
            saved = self.both(lambda u: getattr(u, repository).save(made), commit=commit)
            if saved is not None and commit:
                self.others.append((kind, saved.id))

        @precondition(lambda self: self.others)
        @rule(data=st.data(), owner=_OWNERS, delta=st.sampled_from([0, 0, -1, 1]))
        def update_other(self, data: st.DataObject, owner: str | None, delta: int) -> None:
            kind, entity_id = data.draw(st.sampled_from(self.others))
            repository = _REPOSITORIES[kind]
            read = self.both(lambda u: getattr(u, repository).lookup(entity_id), commit=False)
            if read is None:
                return
            changed = read.evolve(
                owner=owner, updated_at=self.tick(), version=max(0, read.version + delta)
            )
            self.both(lambda u: getattr(u, repository).save(changed))

        @rule(kind=_OTHER_KINDS, n=_NUMBERS, owner=_OWNERS)
        def upsert_other(self, kind: str, n: int, owner: str | None) -> None:
            made = _MAKERS[kind](n, owner=owner)
            repository = _REPOSITORIES[kind]
            saved = self.both(lambda u: getattr(u, repository).upsert(made))
            if saved is not None and (kind, saved.id) not in self.others:
                self.others.append((kind, saved.id))

        @precondition(lambda self: self.ids or self.others)
        @rule(data=st.data(), score=_SCORES, commit=st.booleans())
        def add_result(self, data: st.DataObject, score: int | None, commit: bool) -> None:
            kind, entity_id = data.draw(
                st.sampled_from([("lead", i) for i in self.ids] + self.others)
            )
            made = result(score, as_of=self.tick())
            self.both(lambda u: u.results.add(kind, entity_id, made), commit=commit)

        @precondition(lambda self: self.ids and writers_can_overlap)
        @rule(
            data=st.data(),
            first_commits=st.booleans(),
            saves_first=st.booleans() if uncommitted_writes_can_overlap else st.just(False),
        )
        def interleave(self, data: st.DataObject, first_commits: bool, saves_first: bool) -> None:
            """Two units of work read one lead and each save a change; both storages must
            give the same outcomes (one commit wins, the other conflicts)."""
            entity_id = data.draw(st.sampled_from(self.ids))
            now = self.tick()
            outcomes = []
            for storage in (self.model, self.real):
                outcomes.append(_interleaved(storage, entity_id, now, first_commits, saves_first))
            assert outcomes[0] == outcomes[1], (
                f"two units of work saving lead {entity_id} (first commits first: "
                f"{first_commits}, both save first: {saves_first}): memory {outcomes[0]} != "
                f"adapter {outcomes[1]}"
            )

        @invariant()
        def same_leads_and_events(self) -> None:
            def run(u: UnitOfWork) -> Any:
                leads = u.leads.find(LeadQuery(limit=None)).items
                events = [(r.entity_id, r.kind, r.at, r.payload) for r in u.events.read()]
                results = [u.results.for_subject("lead", e.id) for e in leads]
                history = [u.leads.history(e.id) for e in leads]
                return leads, events, results, history, u.leads.stage_changes()

            self.both(run, commit=False)

        @invariant()
        def same_prospects_opportunities_and_results(self) -> None:
            def run(u: UnitOfWork) -> Any:
                prospects = u.prospects.find(ProspectQuery(limit=None)).items
                deals = u.opportunities.find(OpportunityQuery(limit=None)).items
                results = [u.results.for_subject("prospect", e.id) for e in prospects]
                results += [u.results.for_subject("opportunity", e.id) for e in deals]
                return prospects, deals, results, u.opportunities.stage_changes()

            self.both(run, commit=False)

    return StorageAgreesWithMemory


def _close(storage: Storage) -> None:
    storage.close()


def _interleaved(
    storage: Storage, entity_id: str, now: Any, first_commits: bool, saves_first: bool
) -> list[tuple[str, Any]]:
    with storage.unit_of_work() as one, storage.unit_of_work() as two:
        units = [one, two]
        reads = [unit.leads.lookup(entity_id) for unit in units]
        changes = [
            r.evolve(owner=f"writer {i}", updated_at=now)
            for i, r in enumerate(reads)
            if r is not None
        ]
        if len(changes) < len(units):
            return [("missing", None)]
        order = [0, 1] if first_commits else [1, 0]
        outcome: list[tuple[str, Any]] = []

        def save(i: int) -> tuple[str, Any]:
            change = changes[i]
            return _outcome(lambda u: u.leads.save(change).version, units[i])

        if saves_first:
            for i in order:
                outcome.append(save(i))
        for i in order:
            if saves_first and outcome[order.index(i)][0] == "error":
                continue
            if not saves_first:
                saved = save(i)
                outcome.append(saved)
                if saved[0] == "error":
                    continue
            outcome.append(_outcome(lambda u: u.commit(), units[i]))
    return outcome


class StatefulStorageContract:
    """Runs :func:`storage_state_machine` against ``make_storage()`` (subclass and implement it).

    ``make_storage`` is called once per generated example and must return a
    fresh, empty storage each time.
    """

    #: Hypothesis settings for the run; override to explore more.
    state_machine_settings: ClassVar[settings] = settings(
        max_examples=25,
        stateful_step_count=25,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    )

    def make_storage(self) -> Storage:
        """Return a new, empty storage of the adapter under test (set up per example)."""
        raise NotImplementedError("subclasses return a fresh, empty storage")

    def release_storage(self, storage: Storage) -> None:
        """Clean up after one example (default: close the storage)."""
        storage.close()

    def test_agrees_with_the_in_memory_model(self) -> None:
        """Random operations on your adapter and on the in-memory reference agree."""
        machine = storage_state_machine(
            self.make_storage,
            self.release_storage,
            writers_can_overlap=getattr(self, "writers_can_overlap", True),
            uncommitted_writes_can_overlap=getattr(self, "uncommitted_writes_can_overlap", True),
        )
        run_state_machine_as_test(machine, settings=self.state_machine_settings)
