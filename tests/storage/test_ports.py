"""Port-level behaviour that needs no database: query and record validation, upsert details."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from pipelinekit import Probability, ValidationError
from pipelinekit.storage import (
    ConcurrencyConflict,
    DuplicateExternalId,
    EventRecord,
    LeadQuery,
    NotFound,
    OpportunityQuery,
    SchemaVersionError,
    memory_storage,
)
from pipelinekit.storage.erasure import ERASED
from pipelinekit.testing.contracts.samples import T0, at, lead, opportunity


def test_queries_report_every_problem_with_its_path() -> None:
    with pytest.raises(ValidationError) as caught:
        LeadQuery(
            limit=0,
            updated_since=datetime(2026, 1, 1),  # naive
            min_score=Decimal(5),
            max_score=1,
            status="",
        )
    assert set(caught.value.paths) == {"$.limit", "$.updated_since", "$.max_score", "$.status"}
    with pytest.raises(ValidationError) as floats:
        OpportunityQuery(min_probability=0.5)  # type: ignore[arg-type]
    assert floats.value.paths == ("$.min_probability",)
    with pytest.raises(ValidationError) as bare:
        OpportunityQuery(min_probability=50)  # type: ignore[arg-type]
    assert "Probability.percent(50)" in str(bare.value)
    with pytest.raises(ValidationError) as crossed:
        OpportunityQuery(
            min_probability=Probability.fraction("0.6"), max_probability=Probability.percent(50)
        )
    assert crossed.value.paths == ("$.max_probability",)


def test_event_records_must_be_json_and_about_a_known_kind() -> None:
    with pytest.raises(ValidationError) as caught:
        EventRecord("customer", "x", "", T0, {"when": T0})  # type: ignore[dict-item]
    assert set(caught.value.paths) == {"$.entity_kind", "$.kind", "$.payload"}
    record = EventRecord("lead", "x", "seen", T0, {"a": [1, "b"]})
    assert "payload" not in repr(record)


def test_errors_carry_their_data_and_pickle() -> None:
    import pickle

    for error in (
        ConcurrencyConflict("lead", "L1", 3, 4),
        DuplicateExternalId("lead", "crm-1", "L0"),
        NotFound("opportunity", "O1"),
        SchemaVersionError(3, 2),
    ):
        copy = pickle.loads(pickle.dumps(error))
        assert type(copy) is type(error)
        assert str(copy) == str(error)
    assert ConcurrencyConflict("lead", "L1", 3, 4).retryable
    assert "already stored" in str(ConcurrencyConflict("lead", "L1", 0, 2))
    assert "not stored" in str(ConcurrencyConflict("lead", "L1", 2, None))


def test_repositories_refuse_other_entity_types() -> None:
    with memory_storage().unit_of_work() as uow, pytest.raises(TypeError, match="Lead"):
        uow.leads.save(opportunity(1))  # type: ignore[arg-type]


def test_upsert_ignores_a_changed_update_time_alone() -> None:
    storage = memory_storage()
    with storage.unit_of_work() as uow:
        first = uow.leads.upsert(lead(1))
        again = uow.leads.upsert(lead(1, updated_at=at(500)))
        changed = uow.leads.upsert(lead(1, owner="kim", updated_at=at(600)))
    assert again == first
    assert (changed.version, changed.updated_at, changed.id) == (2, at(600), first.id)


def test_erasure_leaves_other_people_alone() -> None:
    storage = memory_storage()
    ada = lead(1)
    other_contact = opportunity(2)  # a deal of this lead, but with someone else as contact
    ada = ada.evolve(opportunity_id=other_contact.id)
    with storage.unit_of_work() as uow:
        uow.leads.save(ada)
        uow.opportunities.save(other_contact.evolve(lead_id=ada.id))
        uow.erase_personal_data(ada.id, at=T0 + timedelta(days=1))
        uow.commit()
    with storage.unit_of_work() as uow:
        opp = uow.opportunities.get(other_contact.id)
        assert opp.contact == other_contact.contact
        assert opp.notes is None
        erased = uow.leads.get(ada.id)
        assert erased.contact is not None
        assert erased.contact.name == ERASED
        assert erased.custom == ada.custom  # plan, seats, budget are not personal
        assert erased.engagement == ada.engagement


def test_pipeline_domain_events_are_stored_as_envelopes() -> None:
    from pipelinekit import Money
    from pipelinekit.pipelines import sales_pipeline

    sales = sales_pipeline()
    opened = sales.open(name="Acme rollout", amount=Money(12_000, "EUR"), actor="ana", at=T0)
    moved = sales.fire(opened.entity, "advance", actor="ana", note="call", at=at(60))
    storage = memory_storage()
    with storage.unit_of_work() as uow:
        uow.opportunities.save(moved.entity)
        stored = uow.events.append_all([*opened.events, *moved.events])
        uow.commit()
    events = [*opened.events, *moved.events]
    assert [(r.kind, r.entity_kind, r.entity_id, r.at) for r in stored] == [
        (e.kind, e.entity_kind, e.entity_id, e.at) for e in events
    ]
    assert [r.payload for r in stored] == [e.payload() for e in events]
    with pytest.raises(TypeError, match="not a domain event"), storage.unit_of_work() as uow:
        uow.events.append(object())


def test_erasure_drops_external_ids_and_source_details_holding_personal_data() -> None:
    from pipelinekit import Channel, Source

    storage = memory_storage()
    keyed_by_email = lead(3, external_id="ada3@example.com").evolve(
        source=Source(Channel.REFERRAL, detail="referred by Ada Lovelace 3")
    )
    with storage.unit_of_work() as uow:
        uow.leads.save(keyed_by_email)
        uow.erase_personal_data(keyed_by_email.id, at=at(99))
        erased = uow.leads.get(keyed_by_email.id)
    assert erased.external_id is None
    assert erased.source == Source(Channel.REFERRAL, detail="referred by [erased]")
    assert "memory storage lead: 0" in repr(storage)


def test_storage_misuse_is_a_validation_error_with_a_path() -> None:
    from pipelinekit.storage.sql import postgres_storage, sql_storage, sqlite_storage

    cases: list[tuple[Callable[[], object], list[str]]] = [
        (lambda: sqlite_storage(":memory:", busy_timeout=-1), ["$.path", "$.busy_timeout"]),
        (lambda: postgres_storage("sqlite:///x.db", schema="a;b"), ["$.url", "$.schema"]),
        (lambda: sql_storage("mysql://x"), ["$.url"]),
    ]
    with memory_storage().unit_of_work() as uow:
        cases += [
            (lambda: list(uow.leads.iterate(batch=0)), ["$.batch"]),
            (lambda: uow.events.read(limit=0), ["$.limit"]),
            (lambda: uow.events.read(entity_kind="person"), ["$.entity_kind"]),
            (lambda: uow.results.for_subject("person", "p1"), ["$.subject_kind"]),
        ]
        for call, paths in cases:
            with pytest.raises(ValidationError) as caught:
                call()
            assert [p.path for p in caught.value.problems] == paths


def test_plan_erasure_reads_and_writes_nothing_and_the_old_function_is_deprecated() -> None:
    from pipelinekit.storage import erasure

    ada = lead(1)
    plan = erasure.plan_erasure(ada, None, [], now=T0 + timedelta(days=1))
    assert plan.subjects == (("lead", ada.id),)
    assert plan.lead.contact is not None
    assert plan.lead.contact.name == ERASED
    assert plan.lead.version == ada.version  # not saved: the unit of work saves it
    assert plan.event_payload({"email": "x", "stage": "new"}) == {"stage": "new"}
    storage = memory_storage()
    with storage.unit_of_work() as uow:
        uow.leads.save(ada)
        with pytest.warns(DeprecationWarning, match=r"uow\.erase_personal_data"):
            report = erasure.erase_personal_data(uow, ada.id, at=T0 + timedelta(days=1))
        assert report.lead_id == ada.id
        assert uow.leads.get(ada.id).contact == plan.lead.contact
