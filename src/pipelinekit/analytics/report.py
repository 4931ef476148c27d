"""The pipeline report: lead and sales funnel, conversion by source, open forecast, best leads.

One typed value with everything ``pipelinekit report`` and ``pipelinekit demo``
print (``to_dict()`` is their ``--json``), built from the reports of
:mod:`pipelinekit.analytics`::

    report = pipeline_report(leads, opportunities, top=5)
    for step in report.funnel:
        print(step.step, step.count, step.rate)

:func:`pipelinekit.analytics.charts.render_html` turns it into an HTML page.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from decimal import Decimal
from typing import Any, Final

import attrs

from ..domain import BreakdownLine, Lead, Opportunity, QualificationResult
from ..pipelines import Pipeline, PipelineSpec, sales_pipeline
from .forecast import forecast
from .funnel import funnel, lead_conversion
from .results import Forecast, Funnel, LeadConversion, rate

__all__ = [
    "OpenStage",
    "OpenTotal",
    "PipelineReport",
    "ReportStep",
    "TopLead",
    "pipeline_report",
    "score_reasons",
    "top_leads",
]

#: Lead statuses that count as qualified in the report's funnel.
_QUALIFIED: Final = frozenset({"qualified", "converted"})
_CONTACTED: Final = frozenset({"contacted", "nurturing"}) | _QUALIFIED


@attrs.frozen
class ReportStep:
    """One step of the report's funnel: how many got there, of all leads and of the step before.

    The first steps count leads (all, contacted, qualified, from the lead
    lifecycle history); the next ones are the sales pipeline's funnel steps.
    """

    step: str
    count: int
    rate: Decimal
    step_rate: Decimal | None

    def to_dict(self) -> dict[str, Any]:
        """The step as plain data (rates as floats, as ``--json`` prints them)."""
        return {
            "step": self.step,
            "count": self.count,
            "rate": float(self.rate),
            "step_rate": None if self.step_rate is None else float(self.step_rate),
        }


@attrs.frozen
class OpenStage:
    """The open opportunities of one stage in one currency: how many, their amount, weighted.

    ``currency`` is ``None`` for the deals without an amount (counted, adding nothing).
    """

    stage: str
    currency: str | None
    deals: int
    amount: Decimal
    weighted: Decimal


@attrs.frozen
class OpenTotal:
    """All open opportunities in one currency: their amount and weighted amount."""

    currency: str
    amount: Decimal
    weighted: Decimal


@attrs.frozen
class TopLead:
    """A best-scored lead: who, its score and verdict, and why it scored (``why``)."""

    lead_id: str
    external_id: str | None
    label: str
    status: str
    score: Decimal
    verdict: str
    why: str

    def to_dict(self) -> dict[str, Any]:
        """The lead as plain data."""
        return {
            "id": self.lead_id,
            "external_id": self.external_id,
            "lead": self.label,
            "status": self.status,
            "score": self.score,
            "verdict": self.verdict,
            "why": self.why,
        }


@attrs.frozen
class PipelineReport:
    """Everything the pipeline overview shows (see :func:`pipeline_report`).

    ``sales_funnel`` and ``monthly_forecast`` are the analytics results behind
    the charts of the HTML page.
    """

    leads: int
    opportunities: int
    lead_status: tuple[tuple[str, int], ...]
    funnel: tuple[ReportStep, ...]
    open_stages: tuple[OpenStage, ...]
    open_totals: tuple[OpenTotal, ...]
    won: tuple[tuple[str, Decimal], ...]
    by_source: LeadConversion
    top_leads: tuple[TopLead, ...]
    sales_funnel: Funnel = attrs.field(repr=False)
    monthly_forecast: Forecast = attrs.field(repr=False)

    def to_dict(self) -> dict[str, Any]:
        """The report as plain data: what ``pipelinekit report --json`` prints."""
        return {
            "leads": self.leads,
            "opportunities": self.opportunities,
            "lead_status": dict(self.lead_status),
            "funnel": [step.to_dict() for step in self.funnel],
            "forecast": {
                "stages": [
                    {
                        "stage": s.stage,
                        "currency": s.currency,
                        "count": s.deals,
                        "amount": str(s.amount),
                        "weighted": str(s.weighted),
                    }
                    for s in self.open_stages
                ],
                "open": {
                    t.currency: {"amount": str(t.amount), "weighted": str(t.weighted)}
                    for t in self.open_totals
                },
                "won": {currency: str(amount) for currency, amount in self.won},
            },
            "by_source": self.by_source.to_dicts(),
            "top_leads": [lead.to_dict() for lead in self.top_leads],
        }


def pipeline_report(
    leads: Iterable[Lead],
    opportunities: Iterable[Opportunity],
    *,
    pipeline: Pipeline | PipelineSpec | None = None,
    top: int = 10,
) -> PipelineReport:
    """The overview of leads and the opportunities of one sales ``pipeline`` (default: the
    built-in one): funnel, conversion by source, open forecast and the ``top`` best leads.

    The funnel's lead steps count every lead that ever reached them (from the
    lead lifecycle history); its sales steps come from
    :func:`~pipelinekit.analytics.funnel` (entered a stage or a later one).
    The forecast keeps currencies apart.
    """
    lead_list = list(leads)
    deals = list(opportunities)
    sales = pipeline if pipeline is not None else sales_pipeline()
    spec = sales.spec if isinstance(sales, Pipeline) else sales
    flow = funnel(deals, spec)
    by_stage = forecast(deals, spec, by="stage")
    order = {s.key: s.order for s in spec.stages}
    open_lines = sorted(
        (line for line in by_stage.lines if line.open_deals),
        key=lambda line: (
            order.get(line.key[0] or "", 99),
            line.currency is None,
            line.currency or "",
        ),
    )
    totals: dict[str, list[Decimal]] = {}
    booked: dict[str, Decimal] = {}
    for line in by_stage.lines:
        if line.currency is None:
            continue
        if line.won_deals:
            booked[line.currency] = booked.get(line.currency, Decimal(0)) + line.booked
        if line.open_deals:
            total = totals.setdefault(line.currency, [Decimal(0), Decimal(0)])
            total[0] += line.open_amount
            total[1] += line.weighted
    sources = lead_conversion(lead_list, deals, spec, by="source")
    ranked = sorted(
        sources.lines, key=lambda line: (-(line.lead_to_won or 0), str(line.segment[0]))
    )
    return PipelineReport(
        leads=len(lead_list),
        opportunities=len(deals),
        lead_status=tuple(sorted(Counter(lead.status for lead in lead_list).items())),
        funnel=_steps(lead_list, flow),
        open_stages=tuple(
            OpenStage(
                line.key[0] or "", line.currency, line.open_deals, line.open_amount, line.weighted
            )
            for line in open_lines
        ),
        open_totals=tuple(OpenTotal(c, t[0], t[1]) for c, t in sorted(totals.items())),
        won=tuple(sorted(booked.items())),
        by_source=attrs.evolve(sources, lines=tuple(ranked)),
        top_leads=top_leads(lead_list, top),
        sales_funnel=flow,
        monthly_forecast=forecast(deals, spec, by="period", period="month"),
    )


def _steps(leads: list[Lead], flow: Funnel) -> tuple[ReportStep, ...]:
    counts = [
        ("leads", len(leads)),
        ("contacted", sum(_reached(x, _CONTACTED) or _left(x, "contacted") for x in leads)),
        ("qualified", sum(_reached(x, _QUALIFIED) for x in leads)),
        *((step.stage, step.entered) for step in flow.steps),
    ]
    total = counts[0][1] or 1
    out = []
    previous: int | None = None
    for step, count in counts:
        step_rate = None if previous is None else rate(count, previous or 1)
        out.append(ReportStep(step, count, rate(count, total) or Decimal(0), step_rate))
        previous = count
    return tuple(out)


def _reached(lead: Lead, stages: frozenset[str]) -> bool:
    return lead.status in stages or any(change.to_stage in stages for change in lead.history)


def _left(lead: Lead, stage: str) -> bool:
    return any(change.from_stage == stage for change in lead.history)


def top_leads(leads: Iterable[Lead], count: int) -> tuple[TopLead, ...]:
    """The ``count`` best-scored leads (unscored leads never rank), best first, ties by id."""
    scored: list[tuple[Decimal, Lead, QualificationResult]] = []
    for lead in leads:
        result = lead.qualification
        if result is not None and result.score is not None:
            scored.append((result.score, lead, result))
    scored.sort(key=lambda item: (-item[0], item[1].id))
    return tuple(
        TopLead(
            lead.id,
            lead.external_id,
            _label(lead),
            lead.status,
            score,
            result.verdict.value,
            score_reasons(result),
        )
        for score, lead, result in scored[: max(count, 0)]
    )


def _label(lead: Lead) -> str:
    company = lead.company.name if lead.company else None
    title = lead.contact.job_title if lead.contact and lead.contact.job_title else None
    return " / ".join(x for x in (company, title) if x) or str(lead.id)


def score_reasons(result: QualificationResult | None, count: int = 3) -> str:
    """The ``count`` criteria that gave a result the most points, as one line.

    A composite's children are searched too; ``not scored`` without a result.
    """
    if result is None:
        return "not scored"
    lines: list[BreakdownLine] = []
    stack = [result]
    while stack:
        current = stack.pop()
        if current.children:
            stack.extend(current.children)
        else:
            lines.extend(current.breakdown)
    lines.sort(key=lambda line: -line.points)
    best = [
        f"{line.criterion} +{line.points.normalize():f} ({line.reason.split('; ')[0]})"
        for line in lines[:count]
        if line.points > 0
    ]
    return "; ".join(best) or "no criterion gave points"
