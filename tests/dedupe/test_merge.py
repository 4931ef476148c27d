"""Merging leads keeps everything, and undoing a merge restores storage exactly."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipelinekit import to_dict
from pipelinekit.dedupe import (
    MERGED_INTO,
    MergePolicy,
    MergeRefused,
    UnmergeRefused,
    find,
    merge,
    merges_of,
    unmerge,
)
from pipelinekit.domain import (
    Company,
    EmailAddress,
    Event,
    Lead,
    LeadId,
    Money,
    Opportunity,
    OpportunityId,
    Person,
)
from pipelinekit.errors import ValidationError
from pipelinekit.storage import ConcurrencyConflict, Storage, UnitOfWork, memory_storage
from pipelinekit.testing.strategies import leads

from ._data import T0

LATER = T0 + timedelta(days=400)


def _lead(i: int, name: str, email: str | None = None, **kw: Any) -> Lead:
    at = T0 + timedelta(days=i)
    return Lead(
        id=LeadId(f"lead-{i}"),
        created_at=at,
        updated_at=at,
        contact=Person(name, email=EmailAddress(email) if email else None),
        **kw,
    )


def _deal(i: int, lead_id: str) -> Opportunity:
    return Opportunity(
        id=OpportunityId(f"deal-{i}"), created_at=T0, updated_at=T0, name=f"Deal {i}",
        pipeline="sales", stage="meeting", lead_id=LeadId(lead_id),
        amount=Money(Decimal("1000"), "EUR"),
    )  # fmt: skip


def _snapshot(uow: UnitOfWork) -> dict[str, Any]:
    """Everything stored except versions and domain events."""
    state: dict[str, Any] = {}
    for lead in uow.leads.iterate():
        doc = to_dict(lead)
        doc.pop("version")
        state[f"lead:{lead.id}"] = doc
        state[f"lead-history:{lead.id}"] = [to_dict(h) for h in uow.leads.history(lead.id)]
        state[f"lead-results:{lead.id}"] = [
            to_dict(r) for r in uow.results.for_subject("lead", lead.id)
        ]
    for deal in uow.opportunities.iterate():
        doc = to_dict(deal)
        doc.pop("version")
        state[f"opportunity:{deal.id}"] = doc
    return state


def _stored(storage: Storage, *entities: Lead | Opportunity) -> None:
    with storage.unit_of_work() as uow:
        uow.leads.save_all([e for e in entities if isinstance(e, Lead)])
        uow.opportunities.save_all([e for e in entities if isinstance(e, Opportunity)])
        uow.commit()


def test_the_converted_lead_survives_and_takes_everyones_tags_custom_fields_and_events(
    make_storage: Callable[[], Storage],
) -> None:
    storage = make_storage()
    click = Event("email_click", T0 + timedelta(days=3))
    old = _lead(1, "Ada Lovelace", "ada@acme.io", tags={"vip"}, custom={"plan": "gold", "seats": 3},
                opportunity_id=OpportunityId("deal-1"))  # fmt: skip
    new = _lead(2, "Ada King Lovelace", "ada@acme.io", tags={"webinar"}, owner="sam",
                custom={"plan": "silver", "source_list": "fair"}, engagement=(click,),
                company=Company("Acme", domain="acme.io"))  # fmt: skip
    _stored(storage, old, new, _deal(1, "lead-1"), _deal(2, "lead-2"))
    with storage.unit_of_work() as uow:
        [cluster] = find(uow.leads.iterate())
        result = merge(uow, cluster, at=LATER, actor="sam")
        uow.commit()
    survivor = result.survivor
    assert survivor.id == "lead-1"  # converted first, though lead-2 is newer
    assert survivor.tags == {"vip", "webinar"}
    assert dict(survivor.custom) == {"plan": "gold", "seats": 3, "source_list": "fair"}
    assert survivor.owner == "sam"
    assert survivor.company == Company("Acme", domain="acme.io")
    assert survivor.contact is not None
    assert survivor.contact.name == "Ada Lovelace"
    assert survivor.engagement == (click,)
    assert result.conflicts == {"contact.name": "lead-1", "custom.plan": "lead-1"}
    [archived] = result.archived
    assert archived.status == "merged"
    assert archived.custom[MERGED_INTO] == "lead-1"
    assert archived.custom["plan"] == "silver"  # the value not kept stays on the archived lead
    assert archived.history[-1].to_stage == "merged"
    assert archived.history[-1].actor == "sam"
    assert [d.id for d in result.opportunities] == ["deal-2"]
    with storage.unit_of_work(read_only=True) as uow:
        assert uow.opportunities.get("deal-2").lead_id == "lead-1"
        assert uow.leads.get("lead-2").status == "merged"
        assert [e.payload["merge_id"] for e in merges_of(uow, "lead-1")] == [result.merge_id]
        assert find(uow.leads.iterate()) == []  # archived leads are never candidates again


def test_a_policy_picks_per_field_and_refuses_unknown_fields_and_strategies() -> None:
    storage = memory_storage()
    a = _lead(1, "Ada", "ada@acme.io", owner="sam")
    b = _lead(2, "Ada Lovelace", "ada@acme.io", owner="kim")
    _stored(storage, a, b)
    policy = MergePolicy(default="newest", fields={"contact.name": "longest"})
    with storage.unit_of_work() as uow:
        result = merge(uow, ["lead-1", "lead-2"], into="lead-1", policy=policy, at=LATER)
    assert result.survivor.id == "lead-1"
    assert result.survivor.owner == "kim"  # newest
    assert result.survivor.contact is not None
    assert result.survivor.contact.name == "Ada Lovelace"  # longest
    with pytest.raises(ValidationError) as caught:
        MergePolicy(default="oldest", fields={"colour": "newest", "owner": "random"})
    assert caught.value.paths == ("$.default", "$.fields.colour", "$.fields.owner")


def test_merges_that_cannot_be_done_are_refused_before_anything_is_written(
    make_storage: Callable[[], Storage],
) -> None:
    storage = make_storage()
    _stored(storage, _lead(1, "Ada", "ada@acme.io"), _lead(2, "Ada", "ada@acme.io"))
    with storage.unit_of_work() as uow:
        before = _snapshot(uow)
        [cluster] = find(uow.leads.iterate())
        with pytest.raises(MergeRefused):
            merge(uow, ["lead-1"], at=LATER)
        with pytest.raises(MergeRefused):
            merge(uow, ["lead-1", "lead-1"], at=LATER)
        with pytest.raises(MergeRefused):
            merge(uow, cluster, into="lead-9", at=LATER)
        with pytest.raises(ValidationError):
            merge(uow, "lead-1", at=LATER)
        assert _snapshot(uow) == before
    with storage.unit_of_work() as uow:  # someone changes a lead after it was found
        lead = uow.leads.get("lead-2")
        uow.leads.save(lead.evolve(owner="kim"))
        uow.commit()
    with storage.unit_of_work() as uow:
        with pytest.raises(ConcurrencyConflict):
            merge(uow, cluster, at=LATER)
        merge(uow, find(uow.leads.iterate())[0], at=LATER)
        uow.commit()
    with storage.unit_of_work() as uow, pytest.raises(MergeRefused):
        merge(uow, ["lead-1", "lead-2"], at=LATER)


def test_an_undo_is_refused_once_a_record_changed_or_when_it_was_done(
    make_storage: Callable[[], Storage],
) -> None:
    storage = make_storage()
    _stored(storage, _lead(1, "Ada", "ada@acme.io"), _lead(2, "Ada", "ada@acme.io"))
    with storage.unit_of_work() as uow:
        result = merge(uow, ["lead-1", "lead-2"], at=LATER)
        uow.commit()
    with storage.unit_of_work() as uow:
        survivor = uow.leads.get(result.survivor.id)
        uow.leads.save(survivor.evolve(owner="kim"))
        with pytest.raises(UnmergeRefused) as caught:
            unmerge(uow, result, at=LATER)
        assert caught.value.changed == (f"lead:{survivor.id}",)
    with storage.unit_of_work() as uow:  # the change was rolled back: the undo goes through
        unmerge(uow, result.merge_id, at=LATER)
        uow.commit()
    with storage.unit_of_work() as uow:
        with pytest.raises(UnmergeRefused, match="already undone"):
            unmerge(uow, result.event, at=LATER)
        with pytest.raises(UnmergeRefused, match="no merge"):
            unmerge(uow, "no-such-merge", at=LATER)


# -- the identity property, on every adapter ---------------------------------------------------


@st.composite
def merge_cases(draw: st.DrawFn) -> tuple[list[Lead], list[Opportunity]]:
    group = draw(
        st.lists(
            leads(), min_size=2, max_size=4, unique_by=(lambda x: x.id, lambda x: x.external_id)
        )
    )
    group = [attrs.evolve(lead, version=0, external_id=None) if i else attrs.evolve(lead, version=0)
             for i, lead in enumerate(group)]  # fmt: skip
    deals = [_deal(i, lead.id) for i, lead in enumerate(group) if draw(st.booleans())]
    return group, deals


@settings(
    max_examples=15,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(case=merge_cases(), into=st.none() | st.integers(0, 3))
def test_merge_keeps_everything_and_unmerge_is_the_identity_on_storage(
    make_storage: Callable[[], Storage],
    case: tuple[list[Lead], list[Opportunity]],
    into: int | None,
) -> None:
    group, deals = case
    storage = make_storage()
    _stored(storage, *group, *deals)
    ids = [lead.id for lead in group]
    at = max(max(lead.updated_at for lead in group), T0) + timedelta(days=1)
    with storage.unit_of_work() as uow:
        before = _snapshot(uow)
        chosen = ids[into] if into is not None and into < len(ids) else None
        result = merge(uow, ids, into=chosen, at=at)
        uow.commit()
    with storage.unit_of_work(read_only=True) as uow:
        survivor = uow.leads.get(result.survivor.id)
        assert chosen is None or survivor.id == chosen
        for lead in group:
            stored = uow.leads.get(lead.id)
            # nothing lost: every tag, custom key and engagement event reaches the survivor ...
            assert lead.tags <= survivor.tags
            assert set(lead.custom) <= set(survivor.custom)
            assert set(lead.engagement) <= set(survivor.engagement)
            if lead.id == survivor.id:
                continue
            # ... and each archived lead is the lead as it was, plus the merge marks
            assert stored.status == "merged"
            assert stored.custom[MERGED_INTO] == survivor.id
            assert stored.history[:-1] == lead.history
            assert uow.leads.history(lead.id)[:-1] == lead.history
            unmarked = attrs.evolve(
                stored,
                status=lead.status,
                custom=stored.custom.remove(MERGED_INTO) if MERGED_INTO not in lead.custom
                else stored.custom.set(MERGED_INTO, lead.custom[MERGED_INTO]),
                history=lead.history,
                updated_at=lead.updated_at,
                version=lead.version,
            )  # fmt: skip
            assert unmarked == lead
        for deal in deals:
            assert uow.opportunities.get(deal.id).lead_id == survivor.id
    with storage.unit_of_work() as uow:
        unmerge(uow, result.merge_id, at=at)
        uow.commit()
    with storage.unit_of_work(read_only=True) as uow:
        assert _snapshot(uow) == before
        kinds = [e.kind for e in uow.events.read(entity_kind="lead", entity_id=survivor.id)]
        assert kinds[-2:] == ["merged", "unmerged"]


@pytest.mark.parametrize("erased", ["lead-1", "lead-2"])
def test_erasing_a_merged_person_erases_every_copy(
    make_storage: Callable[[], Storage], erased: str
) -> None:
    storage = make_storage()
    _stored(
        storage,
        _lead(1, "Ada Lovelace", "ada@acme.io"),
        _lead(2, "Ada Lovelace", "ada.lovelace@acme.io"),
        _lead(3, "Grace Hopper", "grace@navy.mil"),
    )
    with storage.unit_of_work() as uow:
        merge(uow, ["lead-1", "lead-2"], into="lead-1", at=LATER)
        uow.commit()
    with storage.unit_of_work() as uow:
        uow.erase_personal_data(erased, at=LATER + timedelta(days=1))
        uow.commit()
    with storage.unit_of_work(read_only=True) as uow:
        for lead_id in ("lead-1", "lead-2"):
            contact = uow.leads.get(lead_id).contact
            assert contact is not None
            assert (contact.name, contact.email) == ("[erased]", None)
        for event in uow.events.read(entity_kind="lead", entity_id="lead-1"):
            assert "ada" not in str(event.payload).lower()
        assert uow.leads.get("lead-3").contact == Person(
            "Grace Hopper", email=EmailAddress("grace@navy.mil")
        )
