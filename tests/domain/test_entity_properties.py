"""Entities as properties: construction, normalisation, invariants and every problem's path.

Lead, Prospect and Opportunity share identity, times, version, owner, tags, custom
fields and notes; each adds its own fields.  Sortable ids are UUIDv7 (RFC 9562).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipelinekit import (
    Channel,
    Company,
    Event,
    FixedClock,
    FrozenMap,
    Lead,
    Money,
    Opportunity,
    Outcome,
    Person,
    Probability,
    ProbabilitySource,
    Prospect,
    QualificationResult,
    Source,
    StageChange,
    ValidationError,
    custom_fields,
)
from pipelinekit.domain import new_id, uuid7
from pipelinekit.testing import strategies as pks

T0 = datetime(2026, 1, 1, tzinfo=UTC)
CET = timezone(timedelta(hours=1))
ADA = Person.of("Ada", email="ada@example.com")
ACME = Company("Acme")


def problems(make: Callable[[], object]) -> dict[str, str]:
    with pytest.raises(ValidationError) as info:
        make()
    return {p.path: p.message for p in info.value.problems}


def problem_list(make: Callable[[], object]) -> list[tuple[str, str]]:
    with pytest.raises(ValidationError) as info:
        make()
    return [(p.path, p.message) for p in info.value.problems]


def subject(make: Callable[[], object]) -> str:
    with pytest.raises(ValidationError) as info:
        make()
    return info.value.subject


# -- ids ---------------------------------------------------------------------------


@given(pks.aware_datetimes())
def test_uuid7_carries_its_time_version_and_variant(at: datetime) -> None:
    value = uuid7(at)
    assert value.version == 7
    assert value.variant == uuid.RFC_4122
    assert value.int >> 80 == int(at.timestamp() * 1000) & ((1 << 48) - 1)
    text = new_id(at)
    assert uuid.UUID(text).version == 7
    assert uuid.UUID(text).int >> 80 == value.int >> 80


def test_uuid7_lays_out_the_random_bits_as_rfc_9562(monkeypatch: pytest.MonkeyPatch) -> None:
    pattern = bytes.fromhex("13579bdf2468ace13579bdf2468ace0f")
    rand = pattern[:10]  # RFC 9562 needs 74 random bits: ten bytes, the last one odd
    monkeypatch.setattr(os, "urandom", lambda n: pattern[:n])
    value = uuid7(T0).int
    bits = int.from_bytes(rand, "big")
    assert value >> 80 == int(T0.timestamp() * 1000)
    assert (value >> 76) & 0xF == 7
    assert (value >> 64) & 0xFFF == (bits >> 62) & 0xFFF  # rand_a
    assert (value >> 62) & 0b11 == 0b10
    assert value & ((1 << 62) - 1) == bits & ((1 << 62) - 1)  # rand_b


def test_uuid7_wraps_times_before_1970_into_48_bits() -> None:
    at = datetime(1960, 1, 1, tzinfo=UTC)
    assert uuid7(at).int >> 80 == int(at.timestamp() * 1000) % (1 << 48)


@given(
    st.lists(
        pks.aware_datetimes(), min_size=2, max_size=6, unique_by=lambda d: int(d.timestamp() * 1000)
    )
)
def test_ids_sort_by_creation_time(times: list[datetime]) -> None:
    by_id = sorted(times, key=lambda at: new_id(at))
    assert [int(t.timestamp() * 1000) for t in by_id] == sorted(
        int(t.timestamp() * 1000) for t in times
    )


def test_ids_made_at_the_same_time_differ() -> None:
    assert len({new_id(T0) for _ in range(200)}) == 200


# -- the fields every entity has -------------------------------------------------------

ENTITIES: dict[str, Callable[..., Any]] = {
    "Lead": lambda **kw: Lead(
        **{"id": "l-1", "created_at": T0, "updated_at": T0, "contact": ADA, **kw}
    ),
    "Prospect": lambda **kw: Prospect(
        **{"id": "p-1", "created_at": T0, "updated_at": T0, "persona": "cto", "person": ADA, **kw}
    ),
    "Opportunity": lambda **kw: Opportunity(
        **{
            "id": "o-1",
            "created_at": T0,
            "updated_at": T0,
            "name": "Deal",
            "pipeline": "sales",
            "stage": "qualified",
            **kw,
        }
    ),
}
each_entity = pytest.mark.parametrize("kind", list(ENTITIES))


@each_entity
def test_common_fields_are_normalised(kind: str) -> None:
    entity = ENTITIES[kind](
        created_at=T0.astimezone(CET),
        updated_at=(T0 + timedelta(hours=1)).astimezone(CET),
        tags=["b", "a", "a"],
        custom={"plan": "pro"},
        owner="ana",
        external_id="crm-1",
        notes="",
        version=3,
    )
    assert entity.created_at == T0
    assert entity.created_at.tzinfo is UTC
    assert entity.updated_at.tzinfo is UTC
    assert entity.tags == frozenset({"a", "b"})
    assert isinstance(entity.tags, frozenset)
    assert isinstance(entity.custom, FrozenMap)
    assert entity.custom == {"plan": "pro"}
    assert (entity.owner, entity.external_id, entity.notes, entity.version) == (
        "ana",
        "crm-1",
        "",
        3,
    )
    same = ENTITIES[kind](tags=entity.tags, custom=entity.custom)
    assert same.tags is entity.tags
    assert same.custom is entity.custom


@each_entity
def test_common_field_problems_are_all_reported(kind: str) -> None:
    found = problems(
        lambda: ENTITIES[kind](
            id=" ",
            created_at=T0,
            updated_at=T0 - timedelta(seconds=1),
            version=-1,
            owner="",
            external_id="x" * 201,
            notes=3,
            tags=["ok", ""],
            custom={"k": 1.5},
        )
    )
    assert found == {
        "$.id": "must be a non-empty string of at most 128 characters, got ' '",
        "$.updated_at": "must not be before created_at",
        "$.version": "must be an int >= 0, got -1",
        "$.owner": "must not be empty or blank",
        "$.external_id": "must be at most 200 characters, got 201",
        "$.notes": "must be a string, got int",
        "$.tags": "tags must be non-empty strings, got ''",
        "$.custom.k": "unsupported value type float: use str, int, bool, Decimal, date, datetime "
        "or None",
    }
    assert subject(lambda: ENTITIES[kind](id="")) == kind


@each_entity
@pytest.mark.parametrize(
    ("changes", "path", "message"),
    [
        ({"id": 7}, "$.id", "must be a non-empty string of at most 128 characters, got 7"),
        (
            {"id": "i" * 129},
            "$.id",
            f"must be a non-empty string of at most 128 characters, got {'i' * 129!r}",
        ),
        ({"version": True}, "$.version", "must be an int >= 0, got True"),
        ({"version": "1"}, "$.version", "must be an int >= 0, got '1'"),
        (
            {"created_at": datetime(2026, 1, 1)},
            "$.created_at",
            "naive datetime refused: pass a timezone-aware one, e.g. tzinfo=UTC",
        ),
        ({"updated_at": None}, "$.updated_at", "is required"),
        ({"tags": "vip"}, "$.tags", "must be a collection of strings (e.g. a set), got str"),
        ({"tags": b"vip"}, "$.tags", "must be a collection of strings (e.g. a set), got bytes"),
        ({"tags": {"a": 1}}, "$.tags", "must be a collection of strings (e.g. a set), got dict"),
        ({"tags": 5}, "$.tags", "must be a collection of strings (e.g. a set), got int"),
        ({"tags": None}, "$.tags", "must be a collection of strings (e.g. a set), got NoneType"),
        ({"tags": [["a"]]}, "$.tags", "tags must be strings"),
        ({"tags": frozenset({3})}, "$.tags", "tags must be non-empty strings, got 3"),
        ({"custom": [1]}, "$.custom", "must be a mapping of names to values, got list"),
        (
            {"notes": "a\x00"},
            "$.notes",
            "must not contain NUL characters (databases such as PostgreSQL cannot store them)",
        ),
        ({"owner": "o" * 201}, "$.owner", "must be at most 200 characters, got 201"),
    ],
)
def test_each_common_problem(kind: str, changes: dict[str, Any], path: str, message: str) -> None:
    assert problems(lambda: ENTITIES[kind](**changes)) == {path: message}


@each_entity
def test_common_bounds_are_inclusive(kind: str) -> None:
    entity = ENTITIES[kind](
        id="i" * 128, owner="o" * 200, version=0, updated_at=T0, tags=(), custom=None
    )
    assert entity.custom == {}
    assert entity.tags == frozenset()
    assert entity.id == "i" * 128


@each_entity
def test_times_are_not_normalised_when_other_fields_are_wrong(kind: str) -> None:
    # nothing is half-built: a refused entity reports problems, it is not mutated
    with pytest.raises(ValidationError):
        ENTITIES[kind](created_at=T0.astimezone(CET), owner="")


# -- leads -------------------------------------------------------------------------


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pks.leads())
def test_generated_leads_rebuild_equal(lead: Lead) -> None:
    assert lead.evolve() == lead
    assert lead.evolve(owner="someone").owner == "someone"


def test_lead_create_sets_identity_times_and_status() -> None:
    lead = Lead.create(
        contact=ADA,
        company=ACME,
        source=Source(Channel.REFERRAL),
        owner="ana",
        tags={"vip"},
        custom={"seats": 3},
        external_id="x-1",
        notes="met at fair",
        at=T0.astimezone(CET),
    )
    assert uuid.UUID(lead.id).version == 7
    assert uuid.UUID(lead.id).int >> 80 == int(T0.timestamp() * 1000)
    assert lead.created_at == lead.updated_at == T0
    assert lead.status == "new"
    assert lead.version == 0
    assert (lead.contact, lead.company, lead.source, lead.owner) == (
        ADA,
        ACME,
        Source(Channel.REFERRAL),
        "ana",
    )
    assert (lead.tags, dict(lead.custom), lead.external_id, lead.notes) == (
        {"vip"},
        {"seats": 3},
        "x-1",
        "met at fair",
    )
    assert Lead.create(company=ACME, clock=FixedClock(T0)).created_at == T0


def test_lead_engagement_and_history_become_tuples() -> None:
    event = Event("website_visit", T0)
    change = StageChange(None, "new", "create", T0)
    lead = ENTITIES["Lead"](engagement=[event], history=[change])
    assert lead.engagement == (event,)
    assert lead.history == (change,)
    kept = (event,)
    assert ENTITIES["Lead"](engagement=kept).engagement is kept


def test_lead_problems_are_all_reported() -> None:
    found = problems(
        lambda: Lead(
            id="l",
            created_at=T0,
            updated_at=T0,
            contact="Ada",
            company=3,  # type: ignore[arg-type]
            source="web",
            status="",
            prospect_id="",
            opportunity_id="o" * 129,  # type: ignore[arg-type]
            engagement=[Event("a", T0), "visit"],
            history=5,
            qualification="good",  # type: ignore[arg-type, list-item]
        )
    )
    assert found == {
        "$.contact": "must be a Person, got str",
        "$.company": "must be a Company, got int",
        "$.source": "must be a Source, got str",
        "$.status": "must not be empty or blank",
        "$.prospect_id": "must not be empty or blank",
        "$.opportunity_id": "must be at most 128 characters, got 129",
        "$.engagement[1]": "must be a Event, got str",
        "$.history": "must be a sequence of StageChange, got int",
        "$.qualification": "must be a QualificationResult, got str",
    }


def test_lead_needs_a_contact_or_a_company() -> None:
    assert problems(lambda: Lead(id="l", created_at=T0, updated_at=T0)) == {
        "$": "a lead needs a contact, a company, or both"
    }
    assert ENTITIES["Lead"](contact=None, company=ACME).company == ACME
    assert ENTITIES["Lead"](status="s" * 100).status == "s" * 100
    assert set(problems(lambda: ENTITIES["Lead"](status=None))) == {"$.status"}


# -- prospects ---------------------------------------------------------------------


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pks.prospects())
def test_generated_prospects_rebuild_equal(prospect: Prospect) -> None:
    assert prospect.evolve() == prospect


def test_prospect_create_and_problems() -> None:
    prospect = Prospect.create(
        persona="cto",
        company=ACME,
        owner="ana",
        tags=["t"],
        custom={"a": 1},
        external_id="e",
        at=T0,
    )
    assert uuid.UUID(prospect.id).version == 7
    assert prospect.created_at == prospect.updated_at == T0
    assert (prospect.persona, prospect.company, prospect.person, prospect.fit) == (
        "cto",
        ACME,
        None,
        None,
    )
    assert (prospect.owner, prospect.tags, dict(prospect.custom), prospect.external_id) == (
        "ana",
        {"t"},
        {"a": 1},
        "e",
    )
    assert Prospect.create(persona="p", person=ADA, clock=FixedClock(T0)).created_at == T0
    found = problems(
        lambda: Prospect(
            id="p", created_at=T0, updated_at=T0, persona=" ", person="x", company=1, fit=2
        )  # type: ignore[arg-type]
    )
    assert found == {
        "$.persona": "must not be empty or blank",
        "$.person": "must be a Person, got str",
        "$.company": "must be a Company, got int",
        "$.fit": "must be a QualificationResult, got int",
    }
    assert problems(lambda: Prospect(id="p", created_at=T0, updated_at=T0, persona="p")) == {
        "$": "a prospect needs a person, a company, or both"
    }
    assert problems(lambda: ENTITIES["Prospect"](persona="p" * 201)) == {
        "$.persona": "must be at most 200 characters, got 201"
    }
    assert ENTITIES["Prospect"](persona="p" * 200).persona == "p" * 200


@settings(max_examples=20)
@given(pks.qualification_results())
def test_prospect_create_keeps_its_fit(fit: QualificationResult) -> None:
    prospect = Prospect.create(persona="cto", company=ACME, fit=fit, at=T0)
    assert prospect.fit == fit
    assert prospect.evolve().fit == fit


@pytest.mark.parametrize(
    ("kind", "field"),
    [
        ("Prospect", "persona"),
        ("Opportunity", "name"),
        ("Opportunity", "pipeline"),
        ("Opportunity", "stage"),
        ("Lead", "status"),
    ],
)
def test_required_text_fields_may_not_be_none(kind: str, field: str) -> None:
    assert problems(lambda: ENTITIES[kind](**{field: None})) == {f"$.{field}": "is required"}


def test_prospect_evolve_validates() -> None:
    prospect = ENTITIES["Prospect"]()
    assert prospect.evolve(persona="vp").persona == "vp"
    with pytest.raises(ValidationError):
        prospect.evolve(persona="")


# -- opportunities -----------------------------------------------------------------

OPP = ENTITIES["Opportunity"]
percent = st.decimals(min_value=0, max_value=100, places=2)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pks.opportunities())
def test_generated_opportunities_keep_their_invariants(opp: Opportunity) -> None:
    assert opp.evolve() == opp
    assert Decimal(0) <= opp.probability <= Decimal(100)
    assert opp.is_open is (opp.outcome is Outcome.OPEN)
    if not opp.is_open:
        assert opp.probability_source is ProbabilitySource.CLOSED
        assert opp.closed_at is not None
        assert opp.probability == (100 if opp.outcome is Outcome.WON else 0)
    else:
        assert opp.closed_at is None


@given(pks.money(min_amount=0), percent)
def test_weighted_amount_is_amount_times_probability(amount: Money, probability: Decimal) -> None:
    opp = OPP(amount=amount, probability=probability)
    weighted = opp.weighted_amount
    assert weighted is not None
    assert weighted == Money(amount.amount * probability / 100, amount.currency)
    assert weighted <= amount
    assert OPP(probability=probability).weighted_amount is None


@given(percent, percent, percent)
def test_probabilities_become_decimals(p: Decimal, manual: Decimal, automated: Decimal) -> None:
    opp = OPP(
        probability=str(p), manual_probability=str(manual), automated_probability=str(automated)
    )
    assert (opp.probability, opp.manual_probability, opp.automated_probability) == (
        p,
        manual,
        automated,
    )
    assert all(
        type(v) is Decimal
        for v in (opp.probability, opp.manual_probability, opp.automated_probability)
    )
    assert type(OPP(probability=50).probability) is Decimal
    assert OPP().manual_probability is None
    assert OPP().automated_probability is None


@pytest.mark.parametrize("name", ["probability", "manual_probability", "automated_probability"])
@pytest.mark.parametrize("value", ["-0.01", "100.01", -1, 101])
def test_probabilities_are_percentages(name: str, value: object) -> None:
    assert problems(lambda: OPP(**{name: value})) == {
        f"$.{name}": f"must be between 0 and 100, got {Decimal(value)}"
    }


@pytest.mark.parametrize("name", ["probability", "manual_probability", "automated_probability"])
def test_probability_bounds_are_inclusive_and_typed(name: str) -> None:
    assert getattr(OPP(**{name: 0}), name) == 0
    assert getattr(OPP(**{name: "100"}), name) == 100
    assert problems(lambda: OPP(**{name: 0.5})) == {
        f"$.{name}": "floats are refused (inexact): pass a Decimal or a string like '12.50'"
    }


def test_probability_may_not_be_none() -> None:
    assert problems(lambda: OPP(probability=None)) == {
        "$.probability": "must be a Decimal, int or numeric string, got NoneType"
    }


def test_enums_from_text() -> None:
    opp = OPP(probability_source="manual", outcome="open")
    assert opp.probability_source is ProbabilitySource.MANUAL
    assert opp.outcome is Outcome.OPEN
    found = problems(lambda: OPP(probability_source="guess", outcome="maybe"))
    assert found == {
        "$.probability_source": (
            "must be one of closed, manual, automated, stage_default; got 'guess'"
        ),
        "$.outcome": "must be one of open, won, lost; got 'maybe'",
    }


@pytest.mark.parametrize(("outcome", "probability"), [("won", 100), ("lost", 0)])
def test_closed_opportunities(outcome: str, probability: int) -> None:
    closed = OPP(
        outcome=outcome,
        probability=probability,
        closed_at=T0.astimezone(CET),
        probability_source="manual",
        lost_reason="price" if outcome == "lost" else None,
    )
    assert closed.outcome == outcome
    assert not closed.is_open
    assert closed.probability_source is ProbabilitySource.CLOSED
    assert closed.closed_at == T0
    assert closed.closed_at.tzinfo is UTC
    wrong = 50
    found = problems(
        lambda: OPP(
            outcome=outcome, probability=wrong, created_at=T0, closed_at=T0 - timedelta(days=1)
        )
    )
    assert found == {
        "$.probability": f"a {outcome} opportunity has probability {probability}",
        "$.closed_at": "must not be before created_at",
    }
    assert problems(lambda: OPP(outcome=outcome, probability=probability)) == {
        "$.closed_at": f"a {outcome} opportunity needs closed_at"
    }


def test_only_a_lost_opportunity_has_a_lost_reason() -> None:
    message = "only a lost opportunity has a lost reason"
    assert problems(lambda: OPP(lost_reason="price")) == {"$.lost_reason": message}
    assert problems(lambda: OPP(outcome="won", probability=100, closed_at=T0, lost_reason="x")) == {
        "$.lost_reason": message
    }
    assert problems(lambda: OPP(closed_at=T0)) == {
        "$.closed_at": "must be empty while the opportunity is open"
    }


def test_opportunity_field_problems_are_all_reported() -> None:
    found = problem_list(
        lambda: OPP(
            name="",
            pipeline=" ",
            stage=None,
            pipeline_version="v" * 129,
            lead_id="",
            prospect_id=3,
            contact="c",
            company="c",
            amount=5,
            expected_close=T0,
            closed_at=datetime(2026, 1, 1),
            lost_reason="r" * 501,
            competitor="c" * 201,
            history=[1],
        )
    )
    assert found == [
        ("$.name", "must not be empty or blank"),
        ("$.pipeline", "must not be empty or blank"),
        ("$.stage", "is required"),
        ("$.pipeline_version", "must be at most 128 characters, got 129"),
        ("$.lead_id", "must not be empty or blank"),
        ("$.prospect_id", "must be a string, got int"),
        ("$.contact", "must be a Person, got str"),
        ("$.company", "must be a Company, got str"),
        ("$.amount", "must be a Money, got int"),
        ("$.expected_close", "must be a date (not a datetime)"),
        ("$.closed_at", "naive datetime refused: pass a timezone-aware one, e.g. tzinfo=UTC"),
        ("$.lost_reason", "must be at most 500 characters, got 501"),
        ("$.competitor", "must be at most 200 characters, got 201"),
        ("$.history[0]", "must be a StageChange, got int"),
        ("$.closed_at", "must be empty while the opportunity is open"),
        ("$.lost_reason", "only a lost opportunity has a lost reason"),
    ]
    assert problems(lambda: OPP(expected_close="2026-01-01")) == {
        "$.expected_close": "must be a date (not a datetime)"
    }


def test_opportunity_optional_fields_are_kept() -> None:
    change = StageChange(None, "qualified", "open", T0)
    opp = OPP(
        name="n" * 300,
        pipeline="p" * 100,
        stage="s" * 100,
        pipeline_version="v1",
        lead_id="l",
        prospect_id="p",
        contact=ADA,
        company=ACME,
        amount=Money(1, "EUR"),
        expected_close=date(2026, 2, 1),
        competitor="c" * 200,
        history=[change],
    )
    assert opp.history == (change,)
    assert (opp.pipeline_version, opp.lead_id, opp.prospect_id) == ("v1", "l", "p")
    assert opp.expected_close == date(2026, 2, 1)


def test_opportunity_create() -> None:
    opp = Opportunity.create(
        name="Deal",
        pipeline="sales",
        stage="qualified",
        pipeline_version="3",
        lead_id="l",
        prospect_id="p",
        contact=ADA,
        company=ACME,
        amount=Money(10, "EUR"),
        probability=Probability.percent("25"),
        expected_close=date(2026, 3, 1),
        owner="ana",
        tags=["t"],
        custom={"k": "v"},
        external_id="e",
        at=T0,
    )
    assert uuid.UUID(opp.id).version == 7
    assert opp.created_at == opp.updated_at == T0
    assert (opp.name, opp.pipeline, opp.stage, opp.pipeline_version) == (
        "Deal",
        "sales",
        "qualified",
        "3",
    )
    assert (opp.lead_id, opp.prospect_id, opp.contact, opp.company) == ("l", "p", ADA, ACME)
    assert (opp.amount, opp.probability, opp.expected_close) == (
        Money(10, "EUR"),
        Decimal(25),
        date(2026, 3, 1),
    )
    assert (opp.owner, opp.tags, dict(opp.custom), opp.external_id) == (
        "ana",
        {"t"},
        {"k": "v"},
        "e",
    )
    assert opp.outcome is Outcome.OPEN
    assert opp.probability_source is ProbabilitySource.STAGE_DEFAULT
    assert (
        Opportunity.create(name="n", pipeline="p", stage="s", clock=FixedClock(T0)).created_at == T0
    )
    assert Opportunity.create(name="n", pipeline="p", stage="s", at=T0).probability == 0
    assert opp.evolve(stage="won").stage == "won"


def test_custom_fields_are_shared_not_copied() -> None:
    fields = custom_fields(a=1)
    assert OPP(custom=fields).custom is fields


LOST = {"outcome": "lost", "probability": 0, "closed_at": T0}
TEXT_LIMITS = [
    ("Lead", "owner", 200, {}),
    ("Lead", "external_id", 200, {}),
    ("Lead", "status", 255, {}),
    ("Lead", "prospect_id", 128, {}),
    ("Lead", "opportunity_id", 128, {}),
    ("Prospect", "persona", 200, {}),
    ("Prospect", "owner", 200, {}),
    ("Opportunity", "name", 300, {}),
    ("Opportunity", "pipeline", 100, {}),
    ("Opportunity", "stage", 255, {}),
    ("Opportunity", "pipeline_version", 128, {}),
    ("Opportunity", "lead_id", 128, {}),
    ("Opportunity", "prospect_id", 128, {}),
    ("Opportunity", "competitor", 200, {}),
    ("Opportunity", "lost_reason", 500, LOST),
    ("Opportunity", "external_id", 200, {}),
]


@pytest.mark.parametrize(("kind", "field", "limit", "extra"), TEXT_LIMITS)
def test_text_fields_are_limited_to_their_length(
    kind: str, field: str, limit: int, extra: dict[str, Any]
) -> None:
    make = ENTITIES[kind]
    assert getattr(make(**extra, **{field: "x" * limit}), field) == "x" * limit
    assert problems(lambda: make(**extra, **{field: "x" * (limit + 1)})) == {
        f"$.{field}": f"must be at most {limit} characters, got {limit + 1}"
    }
    assert problems(lambda: make(**extra, **{field: " "})) == {
        f"$.{field}": "must not be empty or blank"
    }


@pytest.mark.parametrize("field", ["probability", "manual_probability", "automated_probability"])
def test_int_subclass_probabilities_become_decimals(field: str) -> None:
    class Percent(int):
        pass

    value = getattr(OPP(**{field: Percent(40)}), field)
    assert type(value) is Decimal
    assert value == 40


@pytest.mark.parametrize(("outcome", "right"), [("won", 100), ("lost", 0)])
def test_a_closed_probability_is_checked_whatever_number_type(outcome: str, right: int) -> None:
    class Percent(int):
        pass

    extra = {"outcome": outcome, "closed_at": T0}
    assert OPP(**extra, probability=Percent(right)).probability == right
    assert problems(lambda: OPP(**extra, probability=Percent(50))) == {
        "$.probability": f"a {outcome} opportunity has probability {right}"
    }
