"""The demo behind ``python -m pipelinekit demo``: deterministic for a given seed."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TextIO

from .clock import FixedClock
from .domain import Channel, Company, Lead, Money, Opportunity, Person, Source, StageChange

_COMPANIES = [
    ("Northwind Traders", "northwind.example", "retail", 180, "DE"),
    ("Contoso Analytics", "contoso.example", "software", 1200, "US"),
    ("Fabrikam Tools", "fabrikam.example", "manufacturing", 45, "FR"),
    ("Tailspin Travel", "tailspin.example", "travel", 9, "GB"),
    ("Wingtip Health", "wingtip.example", "health", 640, "NL"),
]
_TITLES = ["CTO", "Head of Sales", "Office Manager", "VP Operations", "Intern"]


def build_leads(seed: int, clock: FixedClock) -> list[Lead]:
    """Build one lead per demo company, reproducibly for ``seed``."""
    rng = random.Random(seed)
    leads = []
    for name, domain, industry, employees, country in _COMPANIES:
        clock.advance(hours=rng.randrange(1, 48))
        first = rng.choice(["Ada", "Grace", "Alan", "Edsger", "Barbara"])
        leads.append(
            Lead.create(
                contact=Person.of(
                    f"{first} {name.split()[0]}",
                    email=f"{first.lower()}@{domain}",
                    job_title=rng.choice(_TITLES),
                ),
                company=Company(
                    name,
                    domain=domain,
                    industry=industry,
                    employees=employees,
                    annual_revenue=Money(Decimal(employees) * 95_000, "EUR"),
                    country=country,
                ),
                source=Source(rng.choice(list(Channel)), "demo"),
                clock=clock,
            )
        )
    return leads


def run_demo(*, seed: int, out: TextIO) -> None:
    """Print a small lead-to-opportunity walk-through."""
    clock = FixedClock(datetime(2026, 1, 5, 9, tzinfo=UTC))
    leads = build_leads(seed, clock)
    out.write(f"Built {len(leads)} leads:\n")
    for lead in leads:
        company = lead.company
        assert company is not None
        out.write(f"  {company.name:20} {company.industry:14} {company.employees:>6} staff\n")
    # Until the qualification engine lands: the largest company is the qualified one.
    best = max(leads, key=lambda lead: (lead.company.employees or 0) if lead.company else 0)
    clock.advance(timedelta(days=2))
    now = clock.now()
    opportunity = Opportunity.create(
        name=f"{best.company.name if best.company else 'Deal'}: first order",
        pipeline="sales",
        stage="initial_contact",
        lead_id=best.id,
        contact=best.contact,
        company=best.company,
        amount=Money("24000.00", "EUR"),
        probability=Decimal(10),
        at=now,
    )
    opportunity = opportunity.evolve(
        history=(StageChange(None, "initial_contact", "convert", now, actor="demo"),)
    )
    best = best.evolve(status="converted", opportunity_id=opportunity.id, updated_at=now)
    out.write(
        f"\nConverted {best.company.name if best.company else best.id} into an opportunity:\n"
    )
    out.write(f"  {opportunity.name} | {opportunity.amount} | stage {opportunity.stage} ")
    out.write(f"| weighted {opportunity.weighted_amount}\n")
