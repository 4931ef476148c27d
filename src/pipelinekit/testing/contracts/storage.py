"""The storage contract, one suite: what every adapter must do, as pytest test classes.

Subclass :class:`StorageContract` in your test suite and implement
:meth:`~StorageContract.make_storage` returning a *fresh, empty* storage;
pytest then runs every contract test against your adapter::

    from pipelinekit.testing.contracts import StorageContract

    class TestMyAdapter(StorageContract):
        def make_storage(self):
            return my_storage(...)

The in-memory adapter is the reference behaviour; the tests below spell it out.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from datetime import timedelta
from decimal import Decimal
from typing import ClassVar

import pytest

from pipelinekit import Lead, Money, Opportunity, Probability, Prospect, ValidationError, to_dict
from pipelinekit.domain import EmailAddress, Person
from pipelinekit.storage import (
    ConcurrencyConflict,
    DuplicateExternalId,
    EventRecord,
    LeadQuery,
    NotFound,
    OpportunityQuery,
    ProspectQuery,
    ReadOnlyUnitOfWork,
    Storage,
    UnitOfWork,
    UnitOfWorkClosed,
)

from .frequencies import FrequencyContract
from .samples import T0, at, lead, opportunity, prospect, result

__all__ = ["StorageContract"]


class StorageContract(FrequencyContract):
    """Contract tests every storage adapter must pass (subclass and implement ``make_storage``)."""

    #: Whether two writable units of work of one storage may be open at once.  Set it
    #: to ``False`` for an adapter whose writers exclude each other for the whole unit
    #: of work (SQLite's ``BEGIN IMMEDIATE``): no update can then be lost, and the
    #: interleaving tests check that exclusion instead.
    writers_can_overlap: ClassVar[bool] = True
    #: Whether two open units of work may both hold an uncommitted write of one entity.
    #: Set it to ``False`` when the second writer waits for the first (a row lock, as in
    #: PostgreSQL): it then sees the committed version, and no update can be lost (the
    #: test that saves everything first checks that wait instead).
    uncommitted_writes_can_overlap: ClassVar[bool] = True

    def make_storage(self) -> Storage:
        """Return a new, empty storage of the adapter under test (the per-test setup)."""
        raise NotImplementedError("subclasses return a fresh, empty storage")

    def release_storage(self, storage: Storage) -> None:
        """Clean up after one test (the per-test teardown): closes the storage.

        Override it to remove what ``make_storage`` created (a directory, a schema),
        calling ``super().release_storage(storage)`` first.
        """
        storage.close()

    @pytest.fixture
    def storage(self) -> Iterator[Storage]:
        """A fresh storage per test, released afterwards."""
        made = self.make_storage()
        try:
            yield made
        finally:
            self.release_storage(made)

    # -- round trips and versions --------------------------------------------------------------

    def test_saved_entities_round_trip_exactly(self, storage: Storage) -> None:
        one, two, three = lead(1), prospect(1), opportunity(1)
        entities: list[object] = [one, two, three]
        with storage.unit_of_work() as uow:
            saved = [uow.leads.save(one), uow.prospects.save(two), uow.opportunities.save(three)]
            uow.commit()
        with storage.unit_of_work() as uow:
            loaded = [
                uow.leads.get(one.id),
                uow.prospects.get(two.id),
                uow.opportunities.get(three.id),
            ]
        assert loaded == saved
        for original, back in zip(entities, loaded, strict=True):
            assert to_dict(back) == {**to_dict(original), "version": 1}

    def test_long_precision_amounts_and_probabilities_round_trip(self, storage: Storage) -> None:
        precise = opportunity(
            1,
            amount=Money(Decimal("1." + "1" * 90), "EUR"),
            probability=Decimal("33." + "3" * 45),
        )
        with storage.unit_of_work() as uow:
            saved = uow.opportunities.save(precise)
            uow.commit()
        with storage.unit_of_work(read_only=True) as uow:
            assert uow.opportunities.get(precise.id) == saved
        assert saved.amount == precise.amount
        assert saved.probability == precise.probability

    def test_save_returns_the_entity_with_the_next_version(self, storage: Storage) -> None:
        original = lead(1)
        with storage.unit_of_work() as uow:
            first = uow.leads.save(original)
            second = uow.leads.save(first.evolve(owner="kim"))
            uow.commit()
        assert (original.version, first.version, second.version) == (0, 1, 2)
        with storage.unit_of_work() as uow:
            assert uow.leads.get(original.id) == second

    def test_missing_entities(self, storage: Storage) -> None:
        with storage.unit_of_work() as uow:
            assert uow.leads.lookup("nope") is None
            assert uow.opportunities.by_external_id("nope") is None
            with pytest.raises(NotFound) as caught:
                uow.prospects.get("nope")
        assert (caught.value.kind, caught.value.key) == ("prospect", "nope")

    # -- unit of work ------------------------------------------------------------------------

    def test_changes_are_discarded_unless_committed(self, storage: Storage) -> None:
        with storage.unit_of_work() as uow:
            uow.leads.save(lead(1))
            uow.events.append(EventRecord("lead", "x", "seen", T0))

        def fail_midway() -> None:
            with storage.unit_of_work() as uow:
                uow.leads.save(lead(2))
                raise RuntimeError("boom")

        with pytest.raises(RuntimeError):
            fail_midway()
        with storage.unit_of_work() as uow:
            assert uow.leads.count() == 0
            assert uow.events.read() == []

    def test_rollback_keeps_earlier_commits(self, storage: Storage) -> None:
        with storage.unit_of_work() as uow:
            uow.leads.save(lead(1))
            uow.commit()
            uow.leads.save(lead(2))
            uow.rollback()
            uow.leads.save(lead(3))
            uow.commit()
        with storage.unit_of_work() as uow:
            assert {e.external_id for e in uow.leads.find().items} == {"crm-1", "crm-3"}

    def test_committed_changes_are_visible_to_other_units_of_work(self, storage: Storage) -> None:
        with storage.unit_of_work() as writer:
            writer.leads.save(lead(1))
            writer.commit()
        with storage.unit_of_work() as reader:
            assert reader.leads.by_external_id("crm-1") is not None

    def test_a_unit_of_work_is_usable_only_inside_its_block(self, storage: Storage) -> None:
        uow = storage.unit_of_work()
        with pytest.raises(UnitOfWorkClosed):
            uow.leads.lookup("x")
        with uow:
            pass
        with pytest.raises(UnitOfWorkClosed):
            uow.commit()
        with pytest.raises(UnitOfWorkClosed), uow:
            pass

    def test_a_read_only_unit_of_work_reads_but_refuses_every_write(self, storage: Storage) -> None:
        with storage.unit_of_work() as uow:
            stored = uow.leads.save(lead(1))
            uow.commit()
        with storage.unit_of_work(read_only=True) as uow:
            assert uow.read_only
            assert uow.leads.get(stored.id) == stored
            assert uow.leads.count_by_stage() == {"new": 1}
            writes: list[Callable[[], object]] = [
                lambda: uow.leads.save(lead(2)),
                lambda: uow.leads.upsert(lead(3)),
                lambda: uow.leads.delete(stored),
                lambda: uow.events.append(EventRecord("lead", stored.id, "seen", T0)),
                lambda: uow.results.add("lead", stored.id, result(1)),
                lambda: uow.erase_personal_data(stored.id, at=at(9)),
            ]
            for write in writes:
                with pytest.raises(ReadOnlyUnitOfWork):
                    write()
        with storage.unit_of_work() as uow:  # a later unit of work writes as usual
            uow.leads.save(lead(4))
            uow.commit()
        with storage.unit_of_work(read_only=True) as uow:
            assert uow.leads.count() == 2
            assert uow.leads.get(stored.id) == stored

    # -- optimistic concurrency ---------------------------------------------------------------

    def test_a_stale_update_conflicts_and_changes_nothing(self, storage: Storage) -> None:
        with storage.unit_of_work() as uow:
            stored = uow.leads.save(lead(1))
            uow.commit()
        with storage.unit_of_work() as uow:
            newer = uow.leads.save(stored.evolve(owner="kim"))
            uow.commit()
        with storage.unit_of_work() as uow:
            with pytest.raises(ConcurrencyConflict) as caught:
                uow.leads.save(stored.evolve(owner="lee"))
            assert (caught.value.expected, caught.value.actual) == (1, 2)
            assert uow.leads.get(stored.id) == newer
            uow.commit()
        with storage.unit_of_work() as uow:
            assert uow.leads.get(stored.id) == newer

    def test_inserting_a_stored_id_again_conflicts(self, storage: Storage) -> None:
        original = opportunity(1)
        with storage.unit_of_work() as uow:
            uow.opportunities.save(original)
            uow.commit()
        with storage.unit_of_work() as uow, pytest.raises(ConcurrencyConflict) as caught:
            uow.opportunities.save(original.evolve(external_id="other"))
        assert (caught.value.kind, caught.value.expected, caught.value.actual) == (
            "opportunity",
            0,
            1,
        )

    def test_updating_an_unsaved_or_deleted_entity_conflicts(self, storage: Storage) -> None:
        with storage.unit_of_work() as uow, pytest.raises(ConcurrencyConflict) as caught:
            uow.leads.save(lead(1).evolve(version=3))
        assert caught.value.actual is None

    def test_a_failed_batch_writes_nothing_and_the_unit_of_work_goes_on(
        self, storage: Storage
    ) -> None:
        with storage.unit_of_work() as uow:
            stored = uow.leads.save(lead(1))
            uow.commit()
            uow.leads.save(stored.evolve(owner="kim"))
            uow.commit()
            with pytest.raises(ConcurrencyConflict):
                uow.leads.save_all([lead(2), lead(3), stored.evolve(owner="stale")])
            assert uow.leads.count() == 1
            uow.leads.save(lead(4))
            uow.commit()
        with storage.unit_of_work() as uow:
            assert {e.external_id for e in uow.leads.find().items} == {"crm-1", "crm-4"}
            assert uow.leads.get(stored.id).owner == "kim"

    def test_concurrent_units_of_work_cannot_both_update_one_version(
        self, storage: Storage
    ) -> None:
        with storage.unit_of_work() as uow:
            stored = uow.opportunities.save(opportunity(1))
            uow.commit()
        errors: list[BaseException] = []

        def other() -> None:
            try:
                with storage.unit_of_work() as uow:
                    uow.opportunities.save(stored.evolve(name="by the other"))
                    uow.commit()
            except BaseException as error:  # pragma: no cover - reported below
                errors.append(error)

        with storage.unit_of_work() as uow:
            read = uow.opportunities.get(stored.id)
        thread = threading.Thread(target=other)
        thread.start()
        thread.join(60)
        assert not errors

        def save_stale() -> None:
            # The conflict may surface at save (SQL) or at commit (memory): both are fine.
            with storage.unit_of_work() as uow:
                uow.opportunities.save(read.evolve(name="mine"))
                uow.commit()

        with pytest.raises(ConcurrencyConflict):
            save_stale()
        with storage.unit_of_work() as uow:
            assert uow.opportunities.get(stored.id).name == "by the other"

    @pytest.mark.parametrize("saves_first", [False, True])
    @pytest.mark.parametrize("open_at_once", [2, 3])
    def test_interleaved_units_of_work_never_lose_an_update(
        self, storage: Storage, open_at_once: int, saves_first: bool
    ) -> None:
        """Units of work open at once, all reading one entity and each saving a change,
        committing in every order (each saving just before its commit, or all saving
        first): the first commit wins and every other one raises
        :class:`ConcurrencyConflict` (at its save or its commit), changing nothing."""
        if not self.writers_can_overlap:
            _writers_exclude_each_other(storage)  # what the adapter declares instead
            return
        if saves_first and not self.uncommitted_writes_can_overlap:
            _second_writer_of_a_row_waits(storage)  # what the adapter declares instead
            return
        orders = list(itertools.permutations(range(open_at_once)))
        with storage.unit_of_work() as uow:
            stored = [uow.leads.save(lead(n)) for n in range(len(orders))]
            uow.commit()
        for n, order in enumerate(orders):
            stored_id = stored[n].id
            outcomes: dict[int, str] = {}
            with ExitStack() as stack:
                units: list[UnitOfWork] = [
                    stack.enter_context(storage.unit_of_work()) for _ in range(open_at_once)
                ]
                reads = [unit.leads.get(stored_id) for unit in units]
                changes = [read.evolve(owner=f"writer {i}") for i, read in enumerate(reads)]
                if saves_first:
                    for i in order:
                        outcomes[i] = _attempt(units[i].leads.save, changes[i])
                for i in order:
                    if outcomes.get(i, "committed") == "committed":
                        if not saves_first:
                            outcomes[i] = _attempt(units[i].leads.save, changes[i])
                        if outcomes[i] == "committed":
                            outcomes[i] = _attempt(units[i].commit)
            winner = order[0]
            expected = {i: "committed" if i == winner else "ConcurrencyConflict" for i in order}
            assert outcomes == expected, (
                f"{open_at_once} units of work read version 1, "
                + ("all saved, then " if saves_first else "")
                + f"committed in the order {order}: got {outcomes}; an update is lost "
                "unless only the first commits"
            )
            with storage.unit_of_work(read_only=True) as uow:
                final = uow.leads.get(stored_id)
            assert (final.owner, final.version) == (f"writer {winner}", 2), (
                f"after the commits in the order {order} the lead is {final.owner!r} at "
                f"version {final.version}, not 'writer {winner}' at version 2"
            )

    def test_interleaved_units_of_work_see_only_their_own_uncommitted_changes(
        self, storage: Storage
    ) -> None:
        """A unit of work reads its own uncommitted writes; another open one does not,
        and sees them once committed (in a unit of work begun after the commit)."""
        if not self.writers_can_overlap:
            _writers_exclude_each_other(storage)  # what the adapter declares instead
            return
        mine, theirs = lead(1), prospect(2)
        with storage.unit_of_work() as first, storage.unit_of_work() as second:
            first.leads.save(mine)
            first.events.append(EventRecord("lead", mine.id, "seen", T0))
            assert first.leads.lookup(mine.id) is not None
            assert second.leads.lookup(mine.id) is None
            assert [r.kind for r in second.events.read()] == []
            second.prospects.save(theirs)
            first.commit()
            second.commit()
        with storage.unit_of_work(read_only=True) as uow:
            assert uow.leads.lookup(mine.id) is not None
            assert uow.prospects.lookup(theirs.id) is not None
            assert [r.kind for r in uow.events.read()] == ["seen"]

    # -- external ids and upserts -------------------------------------------------------------

    def test_external_ids_are_unique_per_kind(self, storage: Storage) -> None:
        with storage.unit_of_work() as uow:
            first = uow.leads.save(lead(1))
            uow.opportunities.save(opportunity(1, external_id="crm-1"))
            with pytest.raises(DuplicateExternalId) as caught:
                uow.leads.save(lead(2, external_id="crm-1"))
            assert caught.value.existing_id == first.id
            assert uow.leads.count() == 1

    def test_a_batch_with_repeated_ids_is_refused_before_writing(self, storage: Storage) -> None:
        one = lead(1)
        with storage.unit_of_work() as uow:
            with pytest.raises(ValidationError) as caught:
                uow.leads.save_all([one, lead(2), one])
            with pytest.raises(ValidationError):
                uow.leads.upsert_all([lead(3), lead(4, external_id="crm-3")])
            assert uow.leads.count() == 0
        assert caught.value.paths == ("$[2].id", "$[2].external_id")

    def test_upsert_inserts_then_updates_by_external_id(self, storage: Storage) -> None:
        with storage.unit_of_work() as uow:
            first = uow.leads.upsert(lead(1))
            uow.commit()
        reimported = lead(1, owner="kim")  # a new id: the app's import knows only crm-1
        with storage.unit_of_work() as uow:
            second = uow.leads.upsert(reimported)
            uow.commit()
        assert second.id == first.id
        assert second.created_at == first.created_at
        assert (second.owner, second.version) == ("kim", 2)
        with storage.unit_of_work() as uow:
            assert uow.leads.count() == 1
            assert uow.leads.get(first.id) == second

    def test_upsert_is_idempotent(self, storage: Storage) -> None:
        batch = [lead(n) for n in range(5)]
        with storage.unit_of_work() as uow:
            first = uow.leads.upsert_all(batch)
            uow.commit()
        with storage.unit_of_work() as uow:
            again = uow.leads.upsert_all(batch)
            uow.commit()
        assert again == first
        assert {e.version for e in again} == {1}
        with storage.unit_of_work() as uow:
            assert uow.leads.count() == 5

    def test_by_external_ids_returns_the_known_ones(self, storage: Storage) -> None:
        with storage.unit_of_work() as uow:
            saved = uow.leads.save_all([lead(n) for n in range(3)])
            uow.opportunities.save(opportunity(1, external_id="crm-9"))
            uow.commit()
        with storage.unit_of_work(read_only=True) as uow:
            wanted = [saved[0].external_id, "unknown", saved[2].external_id, "crm-9"]
            found = uow.leads.by_external_ids(x for x in wanted if x is not None)
            assert found == {
                saved[0].external_id: saved[0],
                saved[2].external_id: saved[2],
            }
            assert uow.leads.by_external_ids([]) == {}

    def test_upsert_needs_an_external_id(self, storage: Storage) -> None:
        with storage.unit_of_work() as uow, pytest.raises(ValidationError) as caught:
            uow.leads.upsert(lead(1, external_id=None))
        assert caught.value.paths == ("$[0].external_id",)

    # -- delete --------------------------------------------------------------------------------

    def test_delete_checks_the_version(self, storage: Storage) -> None:
        with storage.unit_of_work() as uow:
            stored = uow.opportunities.save(opportunity(1))
            newer = uow.opportunities.save(stored.evolve(name="renamed"))
            with pytest.raises(ConcurrencyConflict):
                uow.opportunities.delete(stored)
            uow.opportunities.delete(newer)
            uow.commit()
        with storage.unit_of_work() as uow:
            assert uow.opportunities.lookup(stored.id) is None
            assert uow.opportunities.history(stored.id) == ()
            assert uow.opportunities.by_external_id("o-1") is None

    # -- lookup by match keys (duplicate checks) ------------------------------------------------

    def test_records_are_found_by_their_match_keys_as_a_scan_would_find_them(
        self, storage: Storage
    ) -> None:
        def ids(found: list[Lead | Prospect | Opportunity]) -> list[tuple[str, str]]:
            return sorted((type(e).__name__, str(e.id)) for e in found)

        def scanned(uow: UnitOfWork, keys: set[str]) -> list[tuple[str, str]]:
            return ids(UnitOfWork.records_by_match_keys(uow, keys))  # the scanning default

        with storage.unit_of_work() as uow:
            first, second = uow.leads.save_all([lead(1), lead(2)])
            person = uow.prospects.save(prospect(2))
            deal = uow.opportunities.save(opportunity(3))
            uow.commit()
        with storage.unit_of_work() as uow:
            asks = [
                {"email:ada2@example.com"},
                {"domain:engines.example"},
                {"domain:example.com"},
                {f"phone:{'0001'}", "email:ada3@example.com"},
                {"email:nobody@example.com"},
                set(),
            ]
            for keys in asks:
                assert ids(uow.records_by_match_keys(keys)) == scanned(uow, keys), keys
            assert ids(uow.records_by_match_keys({"email:ada2@example.com"})) == [
                ("Lead", second.id),
                ("Prospect", person.id),
            ]
            # this unit of work's own writes are seen: a new key, a key moved, a delete
            changed = uow.leads.get(first.id)
            contact = Person("Ada Lovelace 1", email=EmailAddress("new@elsewhere.example"))
            uow.leads.save(changed.evolve(contact=contact))
            uow.leads.save(lead(4))
            uow.opportunities.delete(deal)
            for keys in [*asks, {"email:new@elsewhere.example"}, {"email:ada1@example.com"}]:
                assert ids(uow.records_by_match_keys(keys)) == scanned(uow, keys), keys
            uow.commit()
        with storage.unit_of_work(read_only=True) as uow:
            assert ids(uow.records_by_match_keys({"email:new@elsewhere.example"})) == [
                ("Lead", first.id)
            ]
            assert uow.records_by_match_keys({"email:ada1@example.com"}) == []
            assert uow.records_by_match_keys({"email:ada3@example.com"}) == []

    # -- queries -------------------------------------------------------------------------------

    def test_find_filters_leads(self, storage: Storage) -> None:
        leads = [
            lead(
                n,
                status="new" if n % 2 else "contacted",
                owner=f"o{n % 3}",
                qualification=result(n * 10, as_of=at(n)),
                updated_at=at(n),
            )
            for n in range(1, 10)
        ]
        with storage.unit_of_work() as uow:
            uow.leads.save_all(leads)
            uow.commit()
        with storage.unit_of_work() as uow:

            def ids(query: LeadQuery) -> list[str]:
                return [e.id for e in uow.leads.find(query).items]

            def expected(keep: Callable[[Lead], bool]) -> list[str]:
                return sorted(e.id for e in leads if keep(e))

            def score(e: Lead) -> Decimal:
                assert e.qualification is not None  # every lead here is scored
                assert e.qualification.score is not None
                return e.qualification.score

            assert ids(LeadQuery(status="new")) == expected(lambda e: e.status == "new")
            assert ids(LeadQuery(owner="o1")) == expected(lambda e: e.owner == "o1")
            assert ids(LeadQuery(min_score=Decimal(30), max_score=60)) == expected(
                lambda e: 30 <= score(e) <= 60
            )
            assert ids(LeadQuery(updated_since=at(7))) == expected(lambda e: e.updated_at >= at(7))
            assert ids(LeadQuery(status="contacted", owner="o0", min_score=50)) == expected(
                lambda e: e.status == "contacted" and e.owner == "o0" and score(e) >= 50
            )
            assert uow.leads.count(LeadQuery(status="new")) == 5
            assert uow.leads.count_by_stage() == {"new": 5, "contacted": 4}
            assert uow.leads.count_by_stage(LeadQuery(owner="o1")) == {"new": 2, "contacted": 1}

    def test_unscored_leads_never_match_a_score_range(self, storage: Storage) -> None:
        with storage.unit_of_work() as uow:
            uow.leads.save_all([lead(1, qualification=None), lead(2, qualification=result(None))])
            assert uow.leads.find(LeadQuery(min_score=-100)).items == ()
            assert uow.leads.count(LeadQuery(max_score=100)) == 0

    def test_find_filters_opportunities_and_prospects(self, storage: Storage) -> None:
        opps = [
            opportunity(1),
            opportunity(2, stage="proposal", probability=Decimal(60), lead_id="L1"),
            opportunity(3, pipeline="renewals", stage="proposal", lead_id="L1"),
        ]
        with storage.unit_of_work() as uow:
            uow.opportunities.save_all(opps)
            uow.prospects.save_all([prospect(1), prospect(2, persona="cfo", fit=result(10))])
            find = uow.opportunities.find
            assert [o.id for o in find(OpportunityQuery(stage="proposal")).items] == sorted(
                [opps[1].id, opps[2].id]
            )
            assert find(OpportunityQuery(pipeline="sales", stage="proposal")).items == (
                uow.opportunities.get(opps[1].id),
            )
            assert len(find(OpportunityQuery(lead_id="L1")).items) == 2
            assert len(find(OpportunityQuery(min_probability=Probability.percent(50))).items) == 1
            assert uow.opportunities.count_by_stage(OpportunityQuery(pipeline="sales")) == {
                "qualification": 1,
                "proposal": 1,
            }
            assert [p.persona for p in uow.prospects.find(ProspectQuery(max_score=20)).items] == [
                "cfo"
            ]
            assert uow.prospects.count_by_stage() == {"cto": 1, "cfo": 1}

    def test_keyset_pages_cover_every_match_once_in_id_order(self, storage: Storage) -> None:
        leads = [lead(n, status="new" if n % 3 else "lost") for n in range(23)]
        with storage.unit_of_work() as uow:
            uow.leads.save_all(leads[::-1])  # stored out of id order: pages must sort
            uow.commit()
        seen: list[str] = []
        query: LeadQuery | None = LeadQuery(status="new", limit=4)
        pages = 0
        with storage.unit_of_work() as uow:
            while query is not None:
                page = uow.leads.find(query)
                assert 1 <= len(page) <= 4
                seen.extend(e.id for e in page)
                query = page.next
                pages += 1
        assert seen == sorted(e.id for e in leads if e.status == "new")
        assert pages == 4  # 15 matches: 4 + 4 + 4 + 3

    def test_iterate_yields_every_match_in_batches(self, storage: Storage) -> None:
        leads = [lead(n, owner="kim" if n % 2 else "sam") for n in range(11)]
        with storage.unit_of_work() as uow:
            uow.leads.save_all(leads[::-1])
            found = [e.id for e in uow.leads.iterate(LeadQuery(owner="kim", limit=None), batch=2)]
            assert [e.id for e in uow.leads.iterate(batch=3)] == sorted(e.id for e in leads)
        assert found == sorted(e.id for e in leads if e.owner == "kim")

    def test_a_page_ending_exactly_at_the_last_match_has_no_next(self, storage: Storage) -> None:
        with storage.unit_of_work() as uow:
            uow.leads.save_all([lead(n) for n in range(4)])
            assert uow.leads.find(LeadQuery(limit=4)).next is None
            assert uow.leads.find(LeadQuery(limit=None)).next is None
            assert len(uow.leads.find(LeadQuery(limit=None))) == 4

    def test_a_query_of_the_wrong_kind_is_refused(self, storage: Storage) -> None:
        with storage.unit_of_work() as uow, pytest.raises(TypeError):
            uow.leads.find(OpportunityQuery())  # type: ignore[arg-type]  # the wrong kind, on purpose

    # -- history, results, events ------------------------------------------------------------

    def test_stage_history_is_stored_and_readable(self, storage: Storage) -> None:
        opp = opportunity(1)
        with storage.unit_of_work() as uow:
            stored = uow.opportunities.save(opp)
            assert uow.opportunities.history(opp.id) == opp.history
            moved = stored.evolve(
                stage="meeting",
                history=(
                    *stored.history,
                    opp.history[-1].__class__(
                        "qualification", "meeting", "advance", at(5), actor="kim", pipeline="sales"
                    ),
                ),
            )
            uow.opportunities.save(moved)
            uow.commit()
        with storage.unit_of_work() as uow:
            assert uow.opportunities.history(opp.id) == moved.history
            assert uow.leads.history("unknown") == ()

    def test_stage_changes_of_every_entity_are_readable_for_reports(self, storage: Storage) -> None:
        # Each sample's two moves happen at the same time; two deals share their times.
        opps = [opportunity(n) for n in (3, 1, 2, 5)] + [opportunity(5, external_id="o-5b")]
        expected = [
            (o.id, change)
            for o in sorted(opps, key=lambda o: (o.created_at, o.id))
            for change in o.history
        ]
        with storage.unit_of_work() as uow:
            uow.opportunities.save_all(opps)
            uow.leads.save(lead(1))
            assert uow.opportunities.stage_changes() == expected
            moved = uow.opportunities.stage_changes(to_stage="qualification", pipeline="sales")
            assert moved == [row for row in expected if row[1].to_stage == "qualification"]
            assert uow.opportunities.stage_changes(since=at(2), until=at(3)) == [
                (opps[2].id, opps[2].history[0]),
                (opps[2].id, opps[2].history[1]),
            ]
            assert uow.opportunities.stage_changes(pipeline="renewals") == []
            assert [c.to_stage for _, c in uow.leads.stage_changes()] == ["new"]

    def test_qualification_results_are_stored_as_computed_once(self, storage: Storage) -> None:
        first = lead(1)
        assert first.qualification is not None
        rescored = result(75, as_of=at(30), why="rescored")
        with storage.unit_of_work() as uow:
            stored = uow.leads.save(first)
            stored = uow.leads.save(stored.evolve(owner="kim"))  # same result: stored once
            uow.leads.save(stored.evolve(qualification=rescored))
            uow.results.add("lead", first.id, rescored)  # already there: no-op
            uow.results.add("prospect", "p9", result(5))
            uow.commit()
        with storage.unit_of_work() as uow:
            assert uow.results.for_subject("lead", first.id) == [first.qualification, rescored]
            assert uow.results.latest("lead", first.id) == rescored
            assert uow.results.latest("prospect", "p9") == result(5)
            assert uow.results.latest("opportunity", "none") is None

    def test_a_refused_result_or_event_leaves_the_unit_of_work_usable(
        self, storage: Storage
    ) -> None:
        with storage.unit_of_work() as uow:
            uow.leads.save(lead(1))
            with pytest.raises(ValidationError) as refused:
                uow.results.add("lead", "x" * 200, result(5))
            assert [p.path for p in refused.value.problems] == ["$.subject_id"]
            with pytest.raises(ValidationError) as refused:
                uow.results.add("person", " ", "no result")  # type: ignore[arg-type]  # on purpose
            assert [p.path for p in refused.value.problems] == [
                "$.subject_kind",
                "$.subject_id",
                "$.result",
            ]
            with pytest.raises(ValidationError):
                uow.events.append(EventRecord("lead", "x" * 200, "noted", at(1)))
            uow.results.add("lead", "l2", result(6))
            uow.events.append(EventRecord("lead", "l2", "noted", at(2)))
            uow.commit()
        with storage.unit_of_work(read_only=True) as uow:
            assert uow.leads.count() == 1
            assert uow.results.latest("lead", "l2") == result(6)
            assert [r.kind for r in uow.events.read()] == ["noted"]

    def test_domain_events_are_appended_in_order_and_filtered(self, storage: Storage) -> None:
        records = [
            EventRecord("opportunity", f"o{n % 2}", "stage_changed", at(n), {"to": f"s{n}"})
            for n in range(5)
        ]
        with storage.unit_of_work() as uow:
            stored = uow.events.append_all(records)
            uow.commit()
        seqs = [r.seq or 0 for r in stored]
        assert all(s >= 1 for s in seqs)
        assert seqs == sorted(seqs)
        assert len(set(seqs)) == 5
        with storage.unit_of_work() as uow:
            assert uow.events.read() == stored
            assert uow.events.read(entity_kind="opportunity", entity_id="o1") == stored[1::2]
            assert uow.events.read(after=seqs[1], limit=2) == stored[2:4]
            assert uow.events.read(entity_kind="lead") == []
        assert stored[0].payload == {"to": "s0"}
        assert stored[0].at == at(0)

    # -- merging duplicates -------------------------------------------------------------------

    def test_merging_leads_then_undoing_it_restores_what_was_stored(self, storage: Storage) -> None:
        from pipelinekit.dedupe import MERGED_INTO, merge, unmerge

        def snapshot(uow: UnitOfWork) -> dict[str, object]:
            state: dict[str, object] = {}
            for kind, repository in (("lead", uow.leads), ("opportunity", uow.opportunities)):
                for entity in repository.iterate():
                    doc = to_dict(entity)
                    doc.pop("version")
                    state[f"{kind}:{entity.id}"] = doc
            for stored in uow.leads.iterate():
                state[f"history:{stored.id}"] = uow.leads.history(stored.id)
                state[f"results:{stored.id}"] = uow.results.for_subject("lead", stored.id)
            return state

        first, second = lead(1), lead(2, owner="kim")
        deal = opportunity(1, lead_id=second.id)
        with storage.unit_of_work() as uow:
            uow.leads.save_all([first, second])
            uow.opportunities.save(deal)
            uow.commit()
        with storage.unit_of_work() as uow:
            before = snapshot(uow)
            merged = merge(uow, [first.id, second.id], into=first.id, at=at(90))
            uow.commit()
        with storage.unit_of_work(read_only=True) as uow:
            archived = uow.leads.get(second.id)
            assert archived.status == "merged"
            assert archived.custom[MERGED_INTO] == first.id
            assert uow.leads.history(second.id)[:-1] == second.history
            assert uow.opportunities.get(deal.id).lead_id == first.id
            assert uow.leads.get(first.id).version == 2
        with storage.unit_of_work() as uow:
            unmerge(uow, merged.merge_id, at=at(91))
            uow.commit()
        with storage.unit_of_work(read_only=True) as uow:
            assert snapshot(uow) == before
            kinds = [e.kind for e in uow.events.read(entity_kind="lead", entity_id=first.id)]
            assert kinds[-2:] == ["merged", "unmerged"]

    # -- personal data ------------------------------------------------------------------------

    def test_erasure_removes_personal_data_everywhere_and_keeps_the_facts(
        self, storage: Storage
    ) -> None:
        person_lead = lead(7)
        assert person_lead.contact is not None
        pros = prospect(7)
        opp = opportunity(7, lead_id=person_lead.id, name="Deal with Ada Lovelace 7")
        person_lead = person_lead.evolve(prospect_id=pros.id, opportunity_id=opp.id)
        with storage.unit_of_work() as uow:
            uow.leads.save(person_lead)
            uow.prospects.save(pros)
            uow.opportunities.save(opp)
            uow.events.append(
                EventRecord(
                    "lead",
                    person_lead.id,
                    "form_submitted",
                    at(7),
                    {
                        "email": "ada7@example.com",
                        "text": "hi",
                        "plan": "gold",
                        "summary": "Ada Lovelace 7 asked for a demo",
                    },
                )
            )
            uow.commit()
        with storage.unit_of_work() as uow:
            report = uow.erase_personal_data(person_lead.id, at=at(60))
            uow.commit()
        assert report.prospect_ids == (pros.id,)
        assert report.opportunity_ids == (opp.id,)
        secrets = [
            "Ada Lovelace 7",
            "ada7@example.com",
            "7946 0007",
            "+442079460007",
            "Met Ada 7",
            "imported 7",
            "call went well",
        ]
        with storage.unit_of_work() as uow:
            erased = uow.leads.get(person_lead.id)
            stored_pros = uow.prospects.get(pros.id)
            stored_opp = uow.opportunities.get(opp.id)
            everything = repr(
                [
                    to_dict(erased),
                    to_dict(stored_pros),
                    to_dict(stored_opp),
                    uow.events.read(),
                    [e.payload for e in uow.events.read()],
                    [to_dict(r) for r in uow.results.for_subject("lead", erased.id)],
                    uow.leads.history(erased.id),
                    uow.opportunities.history(opp.id),
                ]
            )
            for secret in secrets:
                assert secret not in everything
            # The non-personal facts stay.
            assert erased.contact is not None
            assert erased.contact.job_title == "CTO"
            assert (erased.status, erased.owner, erased.company) == (
                "new",
                "sam",
                person_lead.company,
            )
            assert erased.qualification is not None
            assert person_lead.qualification is not None
            assert erased.qualification.score == person_lead.qualification.score
            assert [c.to_stage for c in erased.history] == ["new"]
            assert erased.version == 2
            assert erased.updated_at == at(60)
            assert stored_opp.amount == opp.amount
            assert stored_opp.stage == opp.stage
            payload = uow.events.read(entity_kind="lead", entity_id=erased.id)[0].payload
            assert payload == {"plan": "gold", "summary": "[erased] asked for a demo"}
            assert uow.events.read()[-1].kind == "personal_data_erased"
            assert len(uow.results.for_subject("lead", erased.id)) == 1

    def test_erasing_an_unknown_lead_raises_not_found(self, storage: Storage) -> None:
        with storage.unit_of_work() as uow, pytest.raises(NotFound):
            uow.erase_personal_data("missing", at=T0 + timedelta(days=1))


def _writers_exclude_each_other(storage: Storage) -> None:
    """A second writing unit of work (another thread) begins only once the first has ended,
    then reads what the first committed: no update is lost."""
    with storage.unit_of_work() as uow:
        stored = uow.leads.save(lead(0))
        uow.commit()
    entered = threading.Event()
    outcome: dict[str, object] = {}

    def second() -> None:
        try:
            with storage.unit_of_work() as uow:
                entered.set()
                read = uow.leads.get(stored.id)
                uow.leads.save(read.evolve(owner="second"))
                uow.commit()
                outcome["done"] = True
        except Exception as error:  # reported below
            outcome["error"] = error

    with storage.unit_of_work() as first:
        read = first.leads.get(stored.id)
        worker = threading.Thread(target=second)
        worker.start()
        began = entered.wait(0.3)
        first_outcome = _attempt(first.leads.save, read.evolve(owner="first"))
        if first_outcome == "committed":
            first_outcome = _attempt(first.commit)
    worker.join(60)
    assert not began, (
        "a second writing unit of work began while the first was open: the adapter "
        "declares writers_can_overlap = False, which it does not keep"
    )
    assert first_outcome == "committed", f"the first writer got {first_outcome}"
    assert outcome == {"done": True}, f"the waiting writer failed: {outcome}"
    with storage.unit_of_work(read_only=True) as uow:
        final = uow.leads.get(stored.id)
    assert (final.owner, final.version) == ("second", 3), (
        f"after two writers one after the other the lead is {final.owner!r} at version "
        f"{final.version}, not 'second' at version 3"
    )


def _second_writer_of_a_row_waits(storage: Storage) -> None:
    """While one unit of work holds an uncommitted write of an entity, another that read
    the entity before that commit ends in ConcurrencyConflict: the update is not lost."""
    with storage.unit_of_work() as uow:
        stored = uow.leads.save(lead(0))
        uow.commit()
    has_read = threading.Event()
    outcome: dict[str, str] = {}

    def second() -> None:
        try:
            with storage.unit_of_work() as uow:
                read = uow.leads.get(stored.id)
                has_read.set()
                outcome["result"] = _attempt(uow.leads.save, read.evolve(owner="second"))
                if outcome["result"] == "committed":
                    outcome["result"] = _attempt(uow.commit)
        except Exception as error:  # reported below
            has_read.set()
            outcome["result"] = repr(error)

    with storage.unit_of_work() as first:
        read = first.leads.get(stored.id)
        first.leads.save(read.evolve(owner="first"))
        worker = threading.Thread(target=second)
        worker.start()
        assert has_read.wait(60), "the second unit of work could not read the lead"
        first.commit()
    worker.join(60)
    assert outcome == {"result": "ConcurrencyConflict"}, (
        "a writer that read version 1 while another held an uncommitted write of the lead "
        f"got {outcome.get('result')!r} instead of ConcurrencyConflict: an update is lost"
    )
    with storage.unit_of_work(read_only=True) as uow:
        final = uow.leads.get(stored.id)
    assert (final.owner, final.version) == ("first", 2)


def _attempt(run: Callable[..., object], *args: object) -> str:
    try:
        run(*args)
    except ConcurrencyConflict:
        return "ConcurrencyConflict"
    return "committed"
