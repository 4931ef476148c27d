"""The predictive frequency table in storage: part of :class:`StorageContract`.

A storage keeps each predictive model's won/lost counts, updates them in the
unit of work when a followed model sees a deal won, lost or reopened, and
always holds what a rebuild from the stored deals gives.  The numbers are
Odoo's, replayed by hand in ``docs/predictive.md``.
"""

from __future__ import annotations

import itertools
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipelinekit import Company, EmailAddress, Lead, Opportunity, Person, ValidationError
from pipelinekit.qualification import PredictiveStrategy, predictive
from pipelinekit.storage import ConcurrencyConflict, Storage

from .samples import T0

__all__ = ["FrequencyContract"]

STAGES = ("new", "qualified", "proposal")
_FIELDS = ("email_quality", "phone_quality", "company.country", "owner", "tags")
_names = itertools.count()


def _model(**options: Any) -> PredictiveStrategy:
    return predictive(f"model-{next(_names)}", stages=STAGES, fields=["company.country"], **options)


def _deal(n: int, country: str | None, stage: str = "new") -> Opportunity:
    return Opportunity.create(
        name=f"deal {n}",
        pipeline="sales",
        stage=stage,
        company=Company("Acme", country=country) if country else None,
        at=T0,
    )


def _close(deal: Opportunity, outcome: str) -> Opportunity:
    if outcome == "won":
        return deal.evolve(outcome="won", probability=100, closed_at=T0, lost_reason=None)
    if outcome == "lost":
        return deal.evolve(outcome="lost", lost_reason="price", probability=0, closed_at=T0)
    return deal.evolve(outcome="open", probability=10, closed_at=None, lost_reason=None)


#: Odoo's scenario of docs/predictive.md: two won, three lost at new, proposal, qualified.
HISTORY = (("BE", "new", "won"), ("FR", "new", "won"), ("BE", "new", "lost"),
           ("FR", "proposal", "lost"), ("FR", "qualified", "lost"))  # fmt: skip


class FrequencyContract:
    """The predictive frequency table of a storage (mixed into ``StorageContract``)."""

    def test_a_followed_model_counts_deals_as_they_close_and_scores_as_odoo(
        self, storage: Storage
    ) -> None:
        model = _model()
        with storage.unit_of_work() as uow:
            uow.frequencies.follow(model)
            for n, (country, stage, outcome) in enumerate(HISTORY):
                opened = uow.opportunities.save(_deal(n, country, stage))
                uow.opportunities.save(_close(opened, outcome))
            uow.commit()
        with storage.unit_of_work(read_only=True) as uow:
            trained = uow.frequencies.trained(model)
            rows = uow.frequencies.rows(model.name)
        counts = {(r.field, r.value): (r.won, r.lost, r.closed) for r in rows}
        assert counts[("stage", "new")] == (Decimal("2.1"), Decimal("3.1"), 5)
        assert counts[("stage", "proposal")] == (Decimal("2.1"), Decimal("1.1"), 3)
        assert counts[("company.country", "FR")] == (Decimal("1.1"), Decimal("2.1"), 3)
        # P(won) = 2.1/5.2; BE: pw = 1.1/2.2, pl = 1.1/3.2 -> 1.05 / 2.115625
        lead = Lead.create(company=Company("Acme", country="BE"), at=T0)
        assert trained.score(lead, as_of=T0) == Decimal("49.63")
        # stage proposal: pl = 1.1/3.1; FR: pw = 0.5, pl = 2.1/3.2 -> 1.05 / 1.771875
        assert trained.score(_deal(9, "FR", "proposal"), as_of=T0) == Decimal("59.26")

    def test_the_stored_table_is_what_the_model_learns_in_memory(self, storage: Storage) -> None:
        model = _model(segment="owner")
        deals = [
            _close(_deal(n, c, s), o).evolve(owner="kim" if n % 2 else None)
            for n, (c, s, o) in enumerate(HISTORY)
        ]
        with storage.unit_of_work() as uow:
            assert uow.frequencies.rebuild(model, deals) == 5
            uow.commit()
        reference = model.untrained()
        reference.learn(deals)
        with storage.unit_of_work(read_only=True) as uow:
            assert uow.frequencies.rows(model.name) == reference.table.rows()
            assert uow.frequencies.rows("another model") == []

    def test_reopening_a_deal_takes_its_outcome_back_before_it_is_counted_again(
        self, storage: Storage
    ) -> None:
        model = _model()
        with storage.unit_of_work() as uow:
            uow.frequencies.follow(model)
            won = uow.opportunities.save(_close(_deal(1, "BE"), "won"))
            assert {r.value for r in uow.frequencies.rows(model.name)} >= {"BE"}
            reopened = uow.opportunities.save(_close(won, "open"))
            assert uow.frequencies.rows(model.name) == []  # back to never counted
            uow.opportunities.save(_close(reopened, "lost"))
            uow.commit()
        with storage.unit_of_work(read_only=True) as uow:
            rows = uow.frequencies.rows(model.name)
        assert {(r.field, r.value): (r.won, r.lost) for r in rows} == {
            ("company.country", "BE"): (Decimal("0.1"), Decimal("1.1")),
            ("stage", "new"): (Decimal("0.1"), Decimal("1.1")),
        }

    def test_a_disqualified_lead_counts_as_lost_at_the_first_stage(self, storage: Storage) -> None:
        model = _model()
        lead = Lead.create(company=Company("Acme", country="FR"), at=T0)
        with storage.unit_of_work() as uow:
            uow.frequencies.follow(model)
            stored = uow.leads.save(lead)
            assert uow.frequencies.rows(model.name) == []  # an open lead counts nothing
            lost = uow.leads.save(stored.evolve(status="disqualified"))
            uow.commit()
        with storage.unit_of_work() as uow:
            rows = uow.frequencies.rows(model.name)
            assert {(r.field, r.value): (r.won, r.lost, r.closed) for r in rows} == {
                ("company.country", "FR"): (Decimal("0.1"), Decimal("1.1"), 1),
                ("stage", "new"): (Decimal("0.1"), Decimal("1.1"), 1),
            }
            uow.frequencies.follow(model)
            uow.leads.save(lost.evolve(status="nurturing"))  # requalified: taken back
            assert uow.frequencies.rows(model.name) == []

    def test_counts_roll_back_with_the_unit_of_work(self, storage: Storage) -> None:
        model = _model()
        with storage.unit_of_work() as uow:
            uow.frequencies.follow(model)
            uow.opportunities.save(_close(_deal(1, "BE"), "won"))
            uow.frequencies.record(model, _close(_deal(2, "FR"), "won"), won=True)
        with storage.unit_of_work(read_only=True) as uow:
            assert uow.frequencies.rows(model.name) == []

    def test_a_refused_save_counts_nothing(self, storage: Storage) -> None:
        model = _model()
        deal = _deal(1, "BE")
        with storage.unit_of_work() as uow:
            stored = uow.opportunities.save(deal)
            uow.opportunities.save(stored.evolve(name="moved on"))
            uow.commit()
        with storage.unit_of_work() as uow:
            uow.frequencies.follow(model)
            with pytest.raises(ConcurrencyConflict):
                uow.opportunities.save(_close(stored, "won"))  # stale version 1
            assert uow.frequencies.rows(model.name) == []

    def test_bad_input_is_refused_with_paths(self, storage: Storage) -> None:
        with storage.unit_of_work() as uow:
            with pytest.raises(ValidationError) as info:
                uow.frequencies.follow("not a model")  # type: ignore[arg-type]
            assert info.value.paths == ("$.strategy",)
            long = predictive("long", stages=STAGES, fields=["owner"])
            with pytest.raises(ValidationError) as info:
                uow.frequencies.record(long, SimpleNamespace(owner="x" * 1001), won=True)
            assert info.value.paths == ("$.value",)
            with pytest.raises(ValidationError):
                uow.frequencies.record(_model(), _deal(1, "BE"), won=False, stage="gone")
            uow.commit()

    @settings(
        max_examples=10,
        deadline=None,
        database=None,
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.function_scoped_fixture,
            HealthCheck.differing_executors,
        ],
    )
    @given(
        fields=st.sampled_from([_FIELDS, (*_FIELDS, "company.employees")]),
        segment=st.sampled_from([None, "owner"]),
        changes=st.lists(
            st.tuples(
                st.integers(0, 4),
                st.sampled_from(["won", "lost", "open"]),
                st.sampled_from(["BE", "FR", None]),
                st.sampled_from([*STAGES, "elsewhere"]),
                st.frozensets(st.sampled_from(["vip", "trial", "event"]), max_size=2),
                st.sampled_from([None, "kim", "lee"]),
                st.booleans(),
            ),
            max_size=12,
        ),
    )
    def test_live_counts_equal_a_rebuild_from_the_stored_deals(
        self,
        storage: Storage,
        fields: tuple[str, ...],
        segment: str | None,
        changes: list[tuple[int, str, str | None, str, frozenset[str], str | None, bool]],
    ) -> None:
        model = predictive(
            f"model-{next(_names)}", stages=STAGES, fields=fields, segment=segment, tag_minimum=0
        )
        with storage.unit_of_work() as uow:
            uow.frequencies.follow(model)
            deals: dict[int, Opportunity] = {}
            for n, outcome, country, stage, tags, owner, reachable in changes:
                company = Company("Acme", country=country, employees=n) if country else None
                contact = Person(f"P {n}", email=EmailAddress("p@acme.io") if reachable else None)
                current = deals.get(n)
                if current is None:
                    current = uow.opportunities.save(_deal(n, country, stage))
                # an edit of any deal, closed or not, then an outcome
                current = current.evolve(
                    company=company, stage=stage, tags=tags, owner=owner, contact=contact
                )
                deals[n] = uow.opportunities.save(_close(current, outcome))
            uow.commit()
        with storage.unit_of_work() as uow:
            live = uow.frequencies.rows(model.name)
            stored = [uow.opportunities.get(deal.id) for deal in deals.values()]
            reference = model.untrained()  # the in-memory model over the stored deals
            counted = reference.learn(stored)
            assert uow.frequencies.rebuild(model, stored) == counted
            assert uow.frequencies.rows(model.name) == live == reference.table.rows()
            # the storage's own reading of every stored deal counts as the model in memory
            everything = model.untrained()
            counted = everything.learn(list(uow.opportunities.iterate()))
            assert uow.frequencies.rebuild(model, uow.opportunities.iterate(batch=2)) == counted
            assert uow.frequencies.rows(model.name) == everything.table.rows()

    def test_erasure_renames_counted_personal_values_and_keeps_a_rebuilds_counts(
        self, storage: Storage
    ) -> None:
        # Two people whose deals were tagged with their email addresses; the model that
        # counted the tags is not followed when they are erased (one at a time).
        model = predictive(f"model-{next(_names)}", stages=STAGES, fields=["tags"], tag_minimum=0)
        people = []
        with storage.unit_of_work() as uow:
            for n, outcome in ((1, "lost"), (2, "won"), (3, "lost")):
                email = f"person{n}@mail.example"
                lead = uow.leads.save(
                    Lead.create(contact=Person(f"Person {n}", email=EmailAddress(email)), at=T0)
                )
                deal = _deal(n, "BE").evolve(lead_id=lead.id, tags={f"mail:{email}", "vip"})
                uow.opportunities.save(_close(uow.opportunities.save(deal), outcome))
                people.append(lead.id)
            uow.frequencies.rebuild(model, uow.opportunities.iterate())
            uow.commit()
        for lead_id in people[:2]:
            with storage.unit_of_work() as uow:
                uow.erase_personal_data(lead_id, at=T0)
                uow.commit()
        with storage.unit_of_work(read_only=True) as uow:
            rows = uow.frequencies.rows(model.name)
            reference = model.untrained()
            reference.learn(list(uow.opportunities.iterate()))
        assert rows == reference.table.rows()
        values = {r.value for r in rows}
        assert "mail:person3@mail.example" in values  # not erased: kept
        assert not {"mail:person1@mail.example", "mail:person2@mail.example"} & values
        erased = {(r.value, r.closed) for r in rows if "person3" not in r.value}
        assert ("mail:[erased]", 2) in erased  # two people's rows became one, added up

    def test_a_rebuild_reads_the_stored_deals_iterated_or_already_taken_from(
        self, storage: Storage
    ) -> None:
        model = _model()
        with storage.unit_of_work() as uow:
            for n, (country, stage, outcome) in enumerate(HISTORY):
                uow.opportunities.save(_close(_deal(n, country, stage), outcome))
            uow.commit()
        with storage.unit_of_work() as uow:
            deals = uow.opportunities.iterate(batch=2)
            next(deals)  # one deal already taken: the rebuild counts the rest only
            assert uow.frequencies.rebuild(model, deals) == len(HISTORY) - 1
            assert list(deals) == []
            assert uow.frequencies.rebuild(model, uow.opportunities.iterate()) == len(HISTORY)
            everything = uow.opportunities.iterate()
            assert uow.frequencies.rebuild(model, everything) == len(HISTORY)
            assert list(everything) == []  # consumed by the rebuild, as any iterator
