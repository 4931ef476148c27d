"""The figures ``pipelinekit demo`` and ``pipelinekit report`` print: funnel, forecast, top leads.

Built on :mod:`pipelinekit.analytics` (forecast, funnel, lead conversion);
this module only adds the lead-lifecycle steps in front of the sales funnel
and shapes the figures for tables and ``--json``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from .. import analytics
from ..domain import Lead, Opportunity
from ..pipelines import Pipeline

__all__ = ["conversion_by_source", "forecast", "funnel", "top_leads"]

_QUALIFIED = {"qualified", "converted"}


def _reached(entity: Lead | Opportunity, stages: set[str]) -> bool:
    current = entity.status if isinstance(entity, Lead) else entity.stage
    return current in stages or any(change.to_stage in stages for change in entity.history)


def funnel(
    leads: Iterable[Lead], opportunities: Iterable[Opportunity], sales: Pipeline
) -> list[dict[str, Any]]:
    """Counts per funnel step: leads, contacted, qualified, then the sales pipeline's steps.

    The lead steps count every lead that ever reached them (from the lead
    lifecycle history); the opportunity steps come from
    :func:`pipelinekit.analytics.funnel` (entered a stage or a later one).
    ``rate`` is the share of all leads, ``step_rate`` the share of the step before.
    """
    lead_list = list(leads)
    contacted = {"contacted", "nurturing"} | _QUALIFIED
    rows: list[tuple[str, int]] = [
        ("leads", len(lead_list)),
        ("contacted", sum(_reached(x, contacted) or _left(x, "contacted") for x in lead_list)),
        ("qualified", sum(_reached(x, _QUALIFIED) for x in lead_list)),
    ]
    flow = analytics.funnel(opportunities, sales)
    rows.extend((step.stage, step.entered) for step in flow)
    total = rows[0][1] or 1
    out = []
    previous: int | None = None
    for step, count in rows:
        out.append(
            {
                "step": step,
                "count": count,
                "rate": round(count / total, 4),
                "step_rate": None if previous is None else round(count / (previous or 1), 4),
            }
        )
        previous = count
    return out


def _left(lead: Lead, stage: str) -> bool:
    return any(change.from_stage == stage for change in lead.history)


def forecast(opportunities: Iterable[Opportunity], sales: Pipeline) -> dict[str, Any]:
    """Open pipeline per stage (deals, amount, weighted), totals per currency, and booked (won).

    From :func:`pipelinekit.analytics.forecast` by stage; currencies are never mixed.
    """
    order = {s.key: s.order for s in sales.spec.stages}
    report = analytics.forecast(opportunities, sales, by="stage")
    lines = [row for row in report.to_dicts() if row["open_deals"]]
    lines.sort(key=lambda row: (order.get(row["stage"], 99), row["currency"]))
    booked: dict[str, Decimal] = defaultdict(Decimal)
    totals: dict[str, dict[str, Decimal]] = {}
    for row in report.to_dicts():
        if row["won_deals"]:
            booked[row["currency"]] += row["booked"]
        if row["open_deals"]:
            t = totals.setdefault(row["currency"], {"amount": Decimal(0), "weighted": Decimal(0)})
            t["amount"] += row["open_amount"]
            t["weighted"] += row["weighted"]
    return {
        "stages": [
            {
                "stage": r["stage"],
                "currency": r["currency"],
                "count": r["open_deals"],
                "amount": str(r["open_amount"]),
                "weighted": str(r["weighted"]),
            }
            for r in lines
        ],
        "open": {c: {k: str(v) for k, v in t.items()} for c, t in sorted(totals.items())},
        "won": {c: str(v) for c, v in sorted(booked.items())},
    }


def conversion_by_source(
    leads: Iterable[Lead], opportunities: Iterable[Opportunity], sales: Pipeline
) -> list[dict[str, Any]]:
    """Lead -> opportunity -> won per source (:func:`pipelinekit.analytics.lead_conversion`)."""
    rates = analytics.lead_conversion(leads, opportunities, sales, by="source")
    rows = rates.to_dicts()
    rows.sort(key=lambda row: (-row["lead_to_won"], str(row["source"])))
    return rows


def top_leads(leads: Iterable[Lead], count: int) -> list[Lead]:
    """The ``count`` best-scored leads (unscored leads never rank), best first, ties by id."""
    scored = [x for x in leads if x.qualification is not None and x.qualification.score is not None]
    scored.sort(key=lambda x: (-x.qualification.score, x.id))  # type: ignore[union-attr, operator]
    return scored[:count]
