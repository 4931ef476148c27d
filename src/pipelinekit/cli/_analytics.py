"""The figures ``pipelinekit demo`` and ``pipelinekit report`` print: funnel, forecast, top leads.

A small, self-contained adapter over stored leads and opportunities (it
reads only public entity fields), kept in one module so it can be swapped
for the analytics package's functions without touching the commands.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from ..domain import Lead, Opportunity
from ..pipelines import Pipeline, StageKind

__all__ = ["forecast", "funnel", "top_leads"]

_QUALIFIED = {"qualified", "converted"}


def _reached(entity: Lead | Opportunity, stages: set[str]) -> bool:
    current = entity.status if isinstance(entity, Lead) else entity.stage
    return current in stages or any(change.to_stage in stages for change in entity.history)


def funnel(
    leads: Iterable[Lead], opportunities: Iterable[Opportunity], sales: Pipeline
) -> list[dict[str, Any]]:
    """Counts per funnel step: leads, contacted, qualified, opportunities, each open stage, won.

    A step counts every entity that ever reached it (from the stage
    history), so a deal lost at the proposal still counts as having had a
    meeting.  ``rate`` is the share of all leads, ``step_rate`` the share of
    the step before.
    """
    lead_list = list(leads)
    deals = [o for o in opportunities if o.pipeline == sales.key]
    stages = sorted(sales.spec.stages, key=lambda s: s.order)
    open_keys = [s.key for s in stages if s.kind is StageKind.OPEN]
    won_keys = {s.key for s in stages if s.kind is StageKind.WON}
    rows: list[tuple[str, int]] = [
        ("leads", len(lead_list)),
        (
            "contacted",
            sum(
                _reached(x, {"contacted", "nurturing"} | _QUALIFIED)
                or (
                    x.status == "disqualified"
                    and any(c.from_stage == "contacted" for c in x.history)
                )
                for x in lead_list
            ),
        ),
        ("qualified", sum(_reached(x, _QUALIFIED) for x in lead_list)),
        ("opportunities", len(deals)),
    ]
    for index, key in enumerate(open_keys):
        if index == 0:
            continue  # every opportunity starts in the first stage
        later = set(open_keys[index:]) | won_keys
        rows.append((key, sum(_reached(d, later) for d in deals)))
    rows.append(("won", sum(d.outcome == "won" for d in deals)))
    total = rows[0][1] or 1
    out = []
    previous = None
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


def forecast(opportunities: Iterable[Opportunity], sales: Pipeline) -> dict[str, Any]:
    """Open pipeline per stage (count, amount, weighted = amount x probability), and won so far.

    Amounts are summed per currency and never mixed; opportunities without
    an amount count but add nothing.
    """
    order = {s.key: s.order for s in sales.spec.stages}
    stages: dict[tuple[str, str], dict[str, Any]] = {}
    won: dict[str, Decimal] = defaultdict(Decimal)
    for deal in opportunities:
        if deal.pipeline != sales.key:
            continue
        currency = deal.amount.currency if deal.amount is not None else ""
        amount = deal.amount.amount if deal.amount is not None else Decimal(0)
        if deal.outcome == "won":
            if currency:
                won[currency] += amount
            continue
        if deal.outcome != "open":
            continue
        row = stages.setdefault(
            (deal.stage, currency),
            {
                "stage": deal.stage,
                "currency": currency,
                "count": 0,
                "amount": Decimal(0),
                "weighted": Decimal(0),
            },
        )
        row["count"] += 1
        row["amount"] += amount
        row["weighted"] += (amount * Decimal(deal.probability) / 100).quantize(Decimal("0.01"))
    rows = sorted(stages.values(), key=lambda r: (order.get(r["stage"], 99), r["currency"]))
    totals: dict[str, dict[str, Decimal]] = {}
    for row in rows:
        if row["currency"]:
            t = totals.setdefault(row["currency"], {"amount": Decimal(0), "weighted": Decimal(0)})
            t["amount"] += row["amount"]
            t["weighted"] += row["weighted"]
    return {
        "stages": [{**r, "amount": str(r["amount"]), "weighted": str(r["weighted"])} for r in rows],
        "open": {c: {k: str(v) for k, v in t.items()} for c, t in sorted(totals.items())},
        "won": {c: str(v) for c, v in sorted(won.items())},
    }


def top_leads(leads: Iterable[Lead], count: int) -> list[Lead]:
    """The ``count`` best-scored leads (unscored leads never rank), best first, ties by id."""
    scored = [x for x in leads if x.qualification is not None and x.qualification.score is not None]
    scored.sort(key=lambda x: (-x.qualification.score, x.id))  # type: ignore[union-attr, operator]
    return scored[:count]
