"""Checking a record at the door: the same pairs as ``find``, for warn or block on create."""

from __future__ import annotations

import pickle
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipelinekit.dedupe import (
    DuplicateChecker,
    DuplicateRefused,
    check,
    default_rules,
    find_pairs,
    rules_from_dict,
)
from pipelinekit.domain import Company, EmailAddress, Lead, LeadId, Person, PhoneNumber
from pipelinekit.errors import PipelinekitError, ValidationError
from pipelinekit.storage import Storage, memory_storage

from ._data import T0, lead_sets, rule_sets


def _lead(i: int, name: str | None = None, email: str | None = None, **kw: Any) -> Lead:
    phone = kw.pop("phone", None)
    company = kw.pop("company", None)
    domain = kw.pop("domain", None)
    person = None
    if name or email or phone:
        person = Person(
            name,
            email=EmailAddress(email) if email else None,
            phone=PhoneNumber(phone) if phone else None,
        )
    at = T0 + timedelta(hours=i)
    return Lead(
        id=LeadId(f"lead-{i:04d}"),
        created_at=at,
        updated_at=at,
        contact=person,
        company=Company(company, domain=domain) if company else None,
        **kw,
    )


def _store(storage: Storage, leads: list[Lead]) -> list[Lead]:
    with storage.unit_of_work() as uow:
        saved = uow.leads.save_all(leads)
        uow.commit()
    return saved


@given(
    lead_sets(min_size=1, max_size=20),
    rule_sets(),
    st.sampled_from([None, (3, 2)]),
    st.data(),
)
def test_check_finds_exactly_the_pairs_find_makes_with_the_record(
    leads: list[Lead], data: dict[str, Any], block: tuple[int, int] | None, draw: st.DataObject
) -> None:
    if block is not None:  # small blocks: the sorted-neighbourhood path too
        data = {**data, "max_block": block[0], "window": block[1]}
    rules = rules_from_dict(data)
    at = draw.draw(st.integers(0, len(leads) - 1))
    entity = leads[at]
    storage = memory_storage()
    stored = _store(storage, leads[:at] + leads[at + 1 :])
    if draw.draw(st.booleans()):  # checking an edit of a stored record: it replaces the stored one
        _store(storage, [entity])
        stored = [*stored, entity]
    others = [s for s in stored if s.id != entity.id]
    expected = [
        p for p in find_pairs([*others, entity], rules) if entity.id in (p.left.id, p.right.id)
    ]
    found = check(entity, storage, rules)
    assert sorted(found.matches) == sorted(expected)
    # a checker whose pool grows record by record (an import's rows) gives the same answer
    checker = DuplicateChecker((), rules)
    for record in draw.draw(st.permutations(stored)):
        checker.add(record)
    assert checker.check(entity) == found
    assert found.duplicate == bool(expected)
    assert entity.id not in {r.id for r in found.records}
    scores = [p.score for p in found.matches]
    assert scores == sorted(scores, reverse=True)
    for pair in found.matches:
        assert pair.score >= rules.threshold
        assert sum(part.points for part in pair.parts) == pair.score


def test_warn_on_create_lists_the_stored_duplicate_with_its_explanation() -> None:
    storage = memory_storage()
    _store(
        storage,
        [
            _lead(1, "Ada Lovelace", "ada@acme.io", company="Acme", domain="acme.io"),
            _lead(2, "Alan Turing", "alan@initech.com"),
        ],
    )
    new = _lead(3, "Ada Lovelace", "ADA@acme.io", company="ACME Inc.", domain="acme.io")
    found = check(new, storage)
    assert found.duplicate
    assert [str(r) for r in found.records] == ["lead:lead-0001"]
    (pair,) = found.matches
    assert {part.rule for part in pair.parts} >= {"email", "company_domain"}
    assert found.explain().splitlines()[0] == "lead:lead-0003: 1 possible duplicate(s)"
    assert pair.explain() in found.explain()
    with storage.unit_of_work() as uow:
        uow.leads.save(new)
        uow.commit()
        assert uow.leads.lookup("lead-0003") is not None


def test_block_on_create_refuses_inside_the_unit_of_work_and_sees_its_writes() -> None:
    storage = memory_storage()

    def create(lead: Lead) -> Lead:
        def write(uow: Any) -> Lead:
            check(lead, uow).refuse()
            return uow.leads.save(lead)

        return storage.run(write)

    create(_lead(1, "Grace Hopper", "grace@navy.mil", phone="+1 415 555 0100"))
    with pytest.raises(DuplicateRefused) as caught:
        create(_lead(2, "G. Hopper", "grace@navy.mil"))
    assert isinstance(caught.value, PipelinekitError)
    assert [str(r) for r in caught.value.check.records] == ["lead:lead-0001"]
    assert "lead:lead-0002 duplicates lead:lead-0001" in str(caught.value)
    assert pickle.loads(pickle.dumps(caught.value)).check == caught.value.check
    with storage.unit_of_work(read_only=True) as uow:
        assert [lead.id for lead in uow.leads.iterate()] == ["lead-0001"]
    # a record that matches nothing goes through
    create(_lead(3, "Alan Turing", "alan@initech.com"))


def test_checking_a_stored_record_does_not_match_it_with_itself() -> None:
    storage = memory_storage()
    (ada,) = _store(storage, [_lead(1, "Ada Lovelace", "ada@acme.io")])
    found = check(ada.evolve(notes="called"), storage)
    assert not found.duplicate
    assert found.explain() == "lead:lead-0001: no duplicate"
    found.refuse()  # nothing to refuse


def test_a_merged_lead_matches_nothing_and_is_matched_by_nothing() -> None:
    storage = memory_storage()
    _store(storage, [_lead(1, "Ada Lovelace", "ada@acme.io", status="merged")])
    assert not check(_lead(2, "Ada Lovelace", "ada@acme.io"), storage).duplicate
    assert not check(_lead(3, "Ada Lovelace", "ada@acme.io", status="merged"), storage).duplicate


def test_check_works_on_every_adapter(make_storage: Callable[[], Storage]) -> None:
    storage = make_storage()
    _store(storage, [_lead(1, "Ada Lovelace", "ada@acme.io"), _lead(2, "Alan", "alan@x.org")])
    found = check(_lead(3, "Ada Lovelace", "ada@acme.io"), storage, default_rules())
    assert [str(r) for r in found.records] == ["lead:lead-0001"]
    assert found.records[0].version == 1


def test_erasing_a_person_removes_their_match_keys_too(
    make_storage: Callable[[], Storage],
) -> None:
    storage = make_storage()
    _store(storage, [_lead(1, "Ada Lovelace", "ada@acme.io", phone="+44 20 7946 0958")])
    with storage.unit_of_work() as uow:
        assert [e.id for e in uow.records_by_match_keys({"email:ada@acme.io"})] == ["lead-0001"]
        uow.erase_personal_data("lead-0001", at=T0 + timedelta(days=1))
        uow.commit()
    with storage.unit_of_work(read_only=True) as uow:
        assert uow.records_by_match_keys({"email:ada@acme.io", "phone:0958"}) == []
    assert not check(_lead(2, "Ada Lovelace", "ada@acme.io"), storage).duplicate


def test_bad_arguments_are_refused_with_every_path() -> None:
    with pytest.raises(ValidationError) as caught:
        check("lead-1", "storage", {"rules": []})  # type: ignore[arg-type]
    assert caught.value.paths == ("$.entity", "$.store", "$.rules")


def test_check_reads_only_the_records_sharing_a_match_key(monkeypatch: pytest.MonkeyPatch) -> None:
    from pipelinekit.storage.ports import Repository

    storage = memory_storage()
    _store(
        storage,
        [
            _lead(1, "Ada Lovelace", "ada@acme.io", company="Acme", domain="acme.io"),
            _lead(2, "Grace Hopper", "grace@navy.mil", phone="+1 415 555 0100"),
            *(_lead(10 + i, f"Someone {i}", f"p{i}@elsewhere{i}.example") for i in range(50)),
        ],
    )
    read: list[list[str]] = []
    looked_up = type(storage.unit_of_work()).records_by_match_keys

    def spy(uow: Any, keys: Any) -> Any:
        found = looked_up(uow, keys)
        read.append(sorted(str(e.id) for e in found))
        return found

    def no_scan(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("check() read the whole store")

    monkeypatch.setattr(type(storage.unit_of_work()), "records_by_match_keys", spy)
    monkeypatch.setattr(Repository, "iterate", no_scan)
    found = check(_lead(3, "Ada Lovelace", "ADA@acme.io"), storage)
    assert [str(r) for r in found.records] == ["lead:lead-0001"]
    found = check(_lead(4, "G. Hopper", phone="+14155550100", company="Navy"), storage)
    assert not found.duplicate  # the phone alone (0.7) stays under the threshold
    assert read == [["lead-0001"], ["lead-0002"]]
    # a custom rule brings candidates no key covers: every record is read
    rules = rules_from_dict({"rules": [{"kind": "custom", "field": "vat_id", "weight": 1}]})
    with pytest.raises(AssertionError, match="whole store"):
        check(_lead(5, "Ada Lovelace", "ada@acme.io", custom={"vat_id": "DE1"}), storage, rules)


def test_an_import_checker_over_a_store_sees_the_rows_added_before_and_their_changes() -> None:
    storage = memory_storage()
    _store(storage, [_lead(1, "Ada Lovelace", "ada@acme.io", company="Acme", domain="acme.io")])
    with storage.unit_of_work() as uow:
        checker = DuplicateChecker.of_store(uow)
        row = _lead(2, "Alan Turing", "alan@initech.com")
        assert not checker.check(row).duplicate
        checker.add(row)  # not written to the store: only the checker knows it
        assert [
            str(r) for r in checker.check(_lead(3, "Alan Turing", "ALAN@initech.com")).records
        ] == ["lead:lead-0002"]
        # a stored record changed by the import: its new keys count, not the stored ones
        moved = _lead(1, "Ada Lovelace", "ada@babbage.io")
        checker.add(moved)
        assert not checker.check(_lead(4, "Ada Lovelace", "ada@acme.io")).duplicate
        assert checker.check(_lead(5, "Ada Lovelace", "ada@babbage.io")).duplicate
