"""Small, deterministic entity builders used by the contract suite (and handy in your tests)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from pipelinekit import (
    BreakdownLine,
    Channel,
    Company,
    CriterionStatus,
    Event,
    FrozenMap,
    Lead,
    Money,
    Opportunity,
    Person,
    Probability,
    Prospect,
    QualificationResult,
    Source,
    StageChange,
    Verdict,
)

__all__ = ["T0", "at", "lead", "opportunity", "prospect", "result"]

#: The base time of every sample.
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def at(minutes: int) -> datetime:
    """``T0`` plus ``minutes``."""
    return T0 + timedelta(minutes=minutes)


def result(
    score: Decimal | int | None = 40, *, as_of: datetime = T0, why: str = "fits"
) -> QualificationResult:
    """A qualification result whose two-line breakdown sums to ``score``."""
    if score is None:
        return QualificationResult(
            strategy="bant",
            strategy_version="1",
            config_hash="c0ffee",
            as_of=as_of,
            score=None,
            scale_min=Decimal(0),
            scale_max=Decimal(100),
            verdict=Verdict.INSUFFICIENT_DATA,
            coverage=Decimal(0),
        )
    value = Decimal(score)
    lines = (
        BreakdownLine("budget", CriterionStatus.MATCH, value - 10, why, observed="50k"),
        BreakdownLine("need", CriterionStatus.PARTIAL, Decimal(10), "asked for a demo"),
    )
    return QualificationResult(
        strategy="bant",
        strategy_version="1",
        config_hash="c0ffee",
        as_of=as_of,
        score=value,
        scale_min=Decimal(-100),
        scale_max=Decimal(100),
        verdict=Verdict.QUALIFIED if value >= 50 else Verdict.NURTURE,
        coverage=Decimal("0.75"),
        breakdown=lines,
        band="b",
    )


def lead(n: int = 0, **changes: Any) -> Lead:
    """A fully populated lead number ``n`` (distinct id, external id and contact per ``n``)."""
    made = Lead.create(
        contact=Person.of(
            f"Ada Lovelace {n}",
            email=f"ada{n}@example.com",
            phone=f"+44 20 7946 {n:04d}",
            job_title="CTO",
        ),
        company=Company(
            "Analytical Engines",
            domain="engines.example",
            employees=12,
            annual_revenue=Money(Decimal("1500000.00"), "GBP"),
            country="GB",
        ),
        source=Source(Channel.INBOUND_FORM, detail="spring campaign"),
        owner="sam",
        tags={"vip", "q1"},
        custom={"plan": "gold", "seats": n, "budget": Decimal("12.50")},
        external_id=f"crm-{n}",
        notes=f"Met Ada {n} at the conference",
        at=at(n),
    )
    base = made.evolve(
        engagement=(Event("website_visit", at(n), FrozenMap({"url": "/pricing"})),),
        history=(StageChange(None, "new", "create", at(n), actor="sam", note=f"imported {n}"),),
        qualification=result(40 + n % 50, as_of=at(n)),
    )
    return base.evolve(**changes) if changes else base


def prospect(n: int = 0, **changes: Any) -> Prospect:
    """A prospect number ``n`` with a person, a company and a fit result."""
    made = Prospect.create(
        persona="cto",
        person=Person.of(f"Ada Lovelace {n}", email=f"ada{n}@example.com"),
        company=Company("Analytical Engines", domain="engines.example"),
        fit=result(60, as_of=at(n)),
        owner="sam",
        external_id=f"p-{n}",
        at=at(n),
    )
    return made.evolve(**changes) if changes else made


def opportunity(n: int = 0, **changes: Any) -> Opportunity:
    """An open opportunity number ``n`` in the sales pipeline."""
    made = Opportunity.create(
        name=f"Engines deal {n}",
        pipeline="sales",
        stage="qualification",
        contact=Person.of(f"Ada Lovelace {n}", email=f"ada{n}@example.com"),
        company=Company("Analytical Engines"),
        amount=Money(Decimal("1000.00"), "EUR"),
        probability=Probability.percent(20),
        owner="sam",
        external_id=f"o-{n}",
        at=at(n),
    )
    made = made.evolve(
        history=(
            StageChange(None, "initial_contact", "open", at(n), pipeline="sales"),
            StageChange(
                "initial_contact",
                "qualification",
                "advance",
                at(n),
                note="call went well",
                pipeline="sales",
            ),
        )
    )
    return made.evolve(**changes) if changes else made
