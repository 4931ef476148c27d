from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import attrs
import pytest
from hypothesis import HealthCheck, given, settings

from pipelinekit import (
    Company,
    FixedClock,
    Lead,
    Money,
    Opportunity,
    Outcome,
    Person,
    Probability,
    Prospect,
    ValidationError,
)
from pipelinekit.testing import strategies as pks

NOW = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)


def test_create_assigns_sortable_ids_and_times_from_the_clock() -> None:
    clock = FixedClock(NOW)
    first = Lead.create(company=Company("Acme"), clock=clock)
    clock.advance(seconds=1)
    second = Lead.create(company=Company("Beta"), clock=clock)
    assert first.created_at == first.updated_at == NOW
    assert first.id < second.id  # UUIDv7 sorts by creation time
    assert first.status == "new"
    assert first.version == 0


def test_naive_at_is_refused() -> None:
    with pytest.raises(ValidationError):
        Lead.create(company=Company("Acme"), at=datetime(2026, 1, 1))


def test_lead_needs_a_contact_or_a_company() -> None:
    with pytest.raises(ValidationError) as info:
        Lead.create(at=NOW)
    assert info.value.paths == ("$",)


def test_lead_lists_every_problem() -> None:
    with pytest.raises(ValidationError) as info:
        Lead(
            id="",  # type: ignore[arg-type]
            created_at=NOW,
            updated_at=NOW - timedelta(days=1),
            company=Company("Acme"),
            status="",
            tags=frozenset({""}),
            version=-1,
        )
    assert info.value.paths == ("$.id", "$.updated_at", "$.version", "$.tags", "$.status")


def test_evolve_revalidates() -> None:
    lead = Lead.create(company=Company("Acme"), at=NOW)
    assert lead.evolve(owner="sam").owner == "sam"
    with pytest.raises(ValidationError):
        lead.evolve(company=None)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        lead.owner = "sam"  # type: ignore[misc]


def test_tags_and_custom_fields_are_frozen_on_construction() -> None:
    lead = Lead.create(company=Company("Acme"), tags=["vip", "vip"], custom={"seats": 3}, at=NOW)
    assert lead.tags == frozenset({"vip"})
    assert lead.custom["seats"] == 3
    assert hash(lead) == hash(lead.evolve())


def test_lead_repr_hides_personal_data() -> None:
    lead = Lead.create(
        contact=Person.of("Ada Lovelace", email="ada@example.com", phone="+44 20 7946 0958"),
        notes="Met Ada at the conference",
        at=NOW,
    )
    text = repr(lead)
    for secret in ("Lovelace", "ada@", "7946", "conference"):
        assert secret not in text


def test_prospect_needs_persona_and_someone() -> None:
    with pytest.raises(ValidationError) as info:
        Prospect.create(persona=" ", at=NOW)
    assert info.value.paths == ("$.persona", "$")
    assert Prospect.create(persona="smb", company=Company("Acme"), at=NOW).persona == "smb"


class TestOpportunity:
    def test_closed_outcomes_must_be_consistent(self) -> None:
        opp = Opportunity.create(name="Deal", pipeline="sales", stage="proposal", at=NOW)
        with pytest.raises(ValidationError) as info:
            opp.evolve(outcome=Outcome.WON, probability=Decimal(80))
        assert info.value.paths == ("$.closed_at", "$.probability")
        with pytest.raises(ValidationError) as info:
            opp.evolve(lost_reason="price")
        assert info.value.paths == ("$.lost_reason",)
        won = opp.evolve(outcome="won", probability=100, closed_at=NOW)
        assert won.outcome is Outcome.WON
        assert not won.is_open

    def test_probability_range_and_type(self) -> None:
        with pytest.raises(ValidationError) as info:
            Opportunity.create(
                name="Deal",
                pipeline="sales",
                stage="s",
                probability=Decimal("0.35"),
                at=NOW,  # type: ignore[arg-type]
            )
        assert info.value.paths == ("$.probability",)
        assert "Probability.percent(Decimal('0.35')) or Probability.fraction(" in str(info.value)
        with pytest.raises(ValidationError) as info:
            Probability.percent(101)
        assert info.value.paths == ("$.value",)
        made = Opportunity.create(
            name="Deal",
            pipeline="sales",
            stage="s",
            probability=Probability.fraction("0.35"),
            at=NOW,
        )
        assert made.probability == Decimal(35)
        with pytest.raises(ValidationError):
            Opportunity.create(name="Deal", pipeline="sales", stage="s", probability=0.5, at=NOW)  # type: ignore[arg-type]

    def test_expected_close_must_be_a_date(self) -> None:
        with pytest.raises(ValidationError) as info:
            Opportunity.create(
                name="Deal",
                pipeline="sales",
                stage="s",
                expected_close=NOW,
                at=NOW,  # type: ignore[arg-type]
            )
        assert info.value.paths == ("$.expected_close",)

    def test_weighted_amount(self) -> None:
        opp = Opportunity.create(
            name="Deal",
            pipeline="sales",
            stage="s",
            amount=Money("1000.00", "EUR"),
            probability=Probability.percent(25),
            at=NOW,
        )
        assert opp.weighted_amount == Money("250", "EUR")
        assert opp.evolve(amount=None).weighted_amount is None


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pks.leads())
def test_generated_leads_survive_evolve(lead: Lead) -> None:
    assert lead.evolve() == lead


@given(pks.opportunities())
def test_weighted_amount_never_exceeds_amount(opp: Opportunity) -> None:
    if opp.amount is not None and opp.weighted_amount is not None:
        assert abs(opp.weighted_amount.amount) <= abs(opp.amount.amount)
        if opp.outcome is Outcome.LOST:
            assert opp.weighted_amount.amount == 0
