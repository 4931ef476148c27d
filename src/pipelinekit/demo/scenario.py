"""The demo's sales story: qualify the synthetic leads, convert the best, work the deals.

:func:`demo_scorer` is the fit score the demo uses (an ICP fit score and BANT,
blended); :func:`run_scenario` walks every lead through the lead lifecycle and
every opportunity through the classic five-stage sales pipeline, with seeded
outcomes driven by each lead's hidden intent: about one lead in 25 ends up a
paying customer, as sales guides report.  Everything goes through the public
pipeline and qualification APIs, so the histories, results and domain events
are the real thing.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from decimal import Decimal

import attrs

from ..domain import Lead, Money, Opportunity
from ..lifecycle import apply_proposal, propose
from ..pipelines import DomainEvent, Pipeline, lead_lifecycle, sales_pipeline
from ..qualification import Strategy, bands, bant, icp_fit, one_of, pattern, present, weighted

__all__ = ["DemoOutcome", "demo_icp", "demo_scorer", "run_scenario"]

_LOST = (
    ("no budget this year", None),
    ("went with a competitor", "Globex"),
    ("went with a competitor", "Initech"),
    ("no decision", None),
    ("bad timing", None),
)


def demo_icp() -> Strategy:
    """The demo's ideal customer profile: mid-sized software/fintech buyers with authority."""
    return icp_fit(
        "icp",
        [
            one_of(
                "industry",
                "company.industry",
                {"software": 25, "fintech": 22, "health": 15, "manufacturing": 10, "logistics": 10},
                knockout=["gambling"],
                group="firmographic",
            ),
            bands(
                "size",
                "company.employees",
                [(None, 10, 0), (10, 50, 8), (50, 2000, 25), (2000, None, 12)],
                group="firmographic",
            ),
            one_of(
                "country",
                "company.country",
                {"DE": 10, "GB": 10, "NL": 10, "FR": 8, "US": 8, "ES": 6},
            ),
            pattern(
                "seniority",
                "contact.job_title",
                [
                    {"regex": r"\b(ceo|cto|vp)\b", "points": 25, "label": "CEO, CTO or VP"},
                    {"regex": r"\bhead of\b", "points": 20, "label": "head of"},
                    {"regex": r"\bmanager\b", "points": 8, "label": "manager"},
                ],
            ),
            present("email", "contact.email", points=10),
        ],
        groups={"firmographic": 45},
        total_cap=100,
    )


def demo_scorer() -> Strategy:
    """The fit score of the demo: ICP fit (weight 3) blended with BANT (weight 2).

    A lead nobody talked to has no BANT answers; it still gets a fit score
    (``missing="zero"`` counts unknown BANT as 0), so it lands in nurture
    rather than qualified.
    """
    return weighted("fit-score", [(demo_icp(), 3), (bant(), 2)], missing="zero")


@attrs.frozen
class DemoOutcome:
    """What :func:`run_scenario` produced: the leads, the opportunities and the domain events."""

    leads: tuple[Lead, ...]
    opportunities: tuple[Opportunity, ...]
    events: tuple[DomainEvent, ...]
    as_of: datetime

    def __repr__(self) -> str:
        return (
            f"<DemoOutcome {len(self.leads)} leads, {len(self.opportunities)} opportunities, "
            f"{sum(o.outcome == 'won' for o in self.opportunities)} won, as of "
            f"{self.as_of.isoformat()}>"
        )


def _intent(lead: Lead) -> float:
    value = lead.custom.get("demo.intent")
    return float(value) if isinstance(value, Decimal | int | float) else 0.3


def _amount(lead: Lead, currency: str, rng: random.Random) -> Money:
    employees = lead.company.employees if lead.company and lead.company.employees else 10
    seats = max(5, min(400, employees // 4))
    return Money(Decimal(seats * rng.choice((90, 120, 150)) // 100 * 100), currency)


def run_scenario(
    leads: Sequence[Lead],
    *,
    as_of: datetime,
    seed: int = 25,
    scorer: Strategy | None = None,
    sales: Pipeline | None = None,
    currency: str = "EUR",
    progress: Callable[[int, int], None] | None = None,
) -> DemoOutcome:
    """Qualify, convert and work ``leads`` up to ``as_of``, reproducibly for ``seed``.

    Leads tagged ``contacted`` are contacted two days after they arrive;
    every lead is scored a week after arriving (``scorer``, by default
    :func:`demo_scorer`) and the verdict's proposal is applied through the
    lead lifecycle.  Qualified leads convert into the ``sales`` pipeline
    (by default :func:`~pipelinekit.pipelines.sales_pipeline`) three days
    later; each deal then advances, is lost (with a reason) or won, one step
    every one to three weeks, with chances that rise with the lead's hidden
    intent.  Nothing happens after ``as_of``, so recent deals stay open.
    Each deal gets an expected close date one to four months after it is
    created; an open deal whose date has passed by ``as_of`` is pushed out
    (one week to two and a half months after ``as_of``).
    ``progress(done, total)`` is called every 100 leads, if given.
    The same leads and ``seed`` give the same story; only the new
    opportunities' ids differ from run to run.
    """
    rng = random.Random(seed * 7919 + 1)
    dates = random.Random(
        seed * 7919 + 2
    )  # expected close dates: the story's draws stay as they were
    scorer = scorer if scorer is not None else demo_scorer()
    sales = sales if sales is not None else sales_pipeline()
    lifecycle = lead_lifecycle()
    out_leads: list[Lead] = []
    opportunities: list[Opportunity] = []
    events: list[DomainEvent] = []
    for index, lead in enumerate(leads, start=1):
        if progress is not None and index % 100 == 0:
            progress(index, len(leads))
        if lead.created_at > as_of:
            continue
        intent = _intent(lead)
        now = lead.created_at
        if "contacted" in lead.tags and now + timedelta(days=2) <= as_of:
            now += timedelta(days=2)
            moved = lifecycle.fire(lead, "contact", actor="sdr", at=now)
            lead, events = moved.entity, [*events, *moved.events]
        scored_at = lead.created_at + timedelta(days=7)
        if scored_at > as_of:
            out_leads.append(lead)
            continue
        result = scorer.evaluate(lead, as_of=scored_at)
        applied = apply_proposal(propose(lead, result), lead, at=scored_at, result=result)
        if applied is None:
            lead = lead.evolve(qualification=result, updated_at=scored_at)
        else:
            lead = applied.entity
            events.extend(applied.events)
        now = scored_at + timedelta(days=3)
        if lead.status != "qualified" or now > as_of:
            out_leads.append(lead)
            continue
        conversion = lifecycle.convert(
            lead, pipeline=sales, amount=_amount(lead, currency, rng), actor="ae", at=now
        )
        lead, deal = conversion.lead, conversion.opportunity
        # the account executive's first estimate: one to four months out
        deal = deal.evolve(expected_close=(now + timedelta(days=dates.randint(30, 120))).date())
        events.extend(conversion.events)
        out_leads.append(lead)
        while deal.outcome == "open":
            now += timedelta(days=rng.randint(7, 21), hours=rng.randint(0, 8))
            if now > as_of:
                break
            step = sales.available_events(deal)
            roll = rng.random()
            if "win" in step:
                if roll < 0.3 + 0.55 * intent:
                    moved_deal = sales.win(deal, actor="ae", at=now)
                else:
                    reason, competitor = rng.choice(_LOST)
                    moved_deal = sales.lose(
                        deal, reason=reason, competitor=competitor, actor="ae", at=now
                    )
            elif roll < 0.45 + 0.5 * intent:
                moved_deal = sales.fire(deal, "advance", actor="ae", at=now)
            else:
                reason, competitor = rng.choice(_LOST)
                moved_deal = sales.lose(
                    deal, reason=reason, competitor=competitor, actor="ae", at=now
                )
            deal = moved_deal.entity
            events.extend(moved_deal.events)
        if deal.outcome == "open" and deal.expected_close and deal.expected_close <= as_of.date():
            # an open deal past its date has been pushed out by its owner, as in any CRM
            pushed = (as_of + timedelta(days=dates.randint(7, 75))).date()
            deal = deal.evolve(expected_close=pushed)
        opportunities.append(deal)
    return DemoOutcome(tuple(out_leads), tuple(opportunities), tuple(events), as_of)
