"""The pipeline report: lead and sales funnel, conversion by source, open forecast, best leads.

One typed value with everything ``pipelinekit report`` and ``pipelinekit demo``
print (``to_dict()`` is their ``--json``), built from the reports of
:mod:`pipelinekit.analytics`::

    report = pipeline_report(leads, opportunities, top=5)   # or pipeline_report(uow, top=5)
    for step in report.funnel:
        print(step.step, step.count, step.rate)

:func:`pipelinekit.analytics.charts.render_html` turns it into an HTML page.
"""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any, Final, overload

import attrs

from ..domain import BreakdownLine, Lead, Opportunity, QualificationResult
from ..errors import Problem, ValidationError
from ..pipelines import Pipeline, PipelineSpec, sales_pipeline
from .forecast import forecast
from .funnel import funnel, lead_conversion, lead_funnel
from .ports import AnalyticsSource, ReportCounts, ReportQueries
from .results import Forecast, Funnel, FunnelStep, LeadConversion, rate

__all__ = [
    "OpenStage",
    "OpenTotal",
    "PipelineReport",
    "ReportStep",
    "TopLead",
    "format_amount",
    "key_label",
    "pipeline_report",
    "report_date",
    "score_reasons",
    "top_leads",
]

#: The lead lifecycle steps the report's lead funnel shows (nurturing is a side track).
LEAD_STEPS: Final = ("new", "contacted", "qualified", "converted")


@attrs.frozen
class ReportStep:
    """One step of a report funnel: how many got there, of the first step and of the one before.

    ``step`` is the stage key and ``label`` its name for people; ``rate`` is
    the share of the funnel's first step, ``step_rate`` of the step before
    (``None`` on the first step).
    """

    step: str
    label: str
    count: int
    rate: Decimal
    step_rate: Decimal | None

    def to_dict(self) -> dict[str, Any]:
        """The step as plain data (rates as floats, as ``--json`` prints them)."""
        return {
            "step": self.step,
            "label": self.label,
            "count": self.count,
            "rate": float(self.rate),
            "step_rate": None if self.step_rate is None else float(self.step_rate),
        }


@attrs.frozen
class OpenStage:
    """The open opportunities of one stage in one currency: how many, their amount, weighted.

    ``currency`` is ``None`` for the deals without an amount (counted, adding nothing);
    ``label`` is the stage's name for people.
    """

    stage: str
    currency: str | None
    deals: int
    amount: Decimal
    weighted: Decimal
    label: str = ""


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

    ``as_of`` is the moment the report describes (``None`` when not given and
    there is no data).  ``lead_funnel`` follows leads (new, contacted,
    qualified, converted) and ``deal_funnel`` the opportunities through the
    sales pipeline's stages, in order; ``pipeline`` names that pipeline.
    ``sales_funnel`` and ``monthly_forecast`` are the analytics results
    behind the charts of the HTML page.
    """

    leads: int
    opportunities: int
    lead_status: tuple[tuple[str, int], ...]
    lead_funnel: tuple[ReportStep, ...]
    deal_funnel: tuple[ReportStep, ...]
    open_stages: tuple[OpenStage, ...]
    open_totals: tuple[OpenTotal, ...]
    won: tuple[tuple[str, Decimal], ...]
    by_source: LeadConversion
    top_leads: tuple[TopLead, ...]
    sales_funnel: Funnel = attrs.field(repr=False)
    monthly_forecast: Forecast = attrs.field(repr=False)
    as_of: datetime | None = None
    pipeline: str = "Sales"

    def to_dict(self) -> dict[str, Any]:
        """The report as plain data: what ``pipelinekit report --json`` prints."""
        return {
            "as_of": None if self.as_of is None else self.as_of.isoformat(),
            "pipeline": self.pipeline,
            "leads": self.leads,
            "opportunities": self.opportunities,
            "lead_status": dict(self.lead_status),
            "lead_funnel": [step.to_dict() for step in self.lead_funnel],
            "deal_funnel": [step.to_dict() for step in self.deal_funnel],
            "forecast": {
                "stages": [
                    {
                        "stage": s.stage,
                        "label": s.label,
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


@overload
def pipeline_report(
    source: AnalyticsSource,
    /,
    *,
    pipeline: Pipeline | PipelineSpec | None = None,
    top: int = 10,
    as_of: datetime | None = None,
) -> PipelineReport: ...


@overload
def pipeline_report(
    leads: Iterable[Lead],
    opportunities: Iterable[Opportunity],
    /,
    *,
    pipeline: Pipeline | PipelineSpec | None = None,
    top: int = 10,
    as_of: datetime | None = None,
) -> PipelineReport: ...


def pipeline_report(
    leads: Iterable[Lead] | AnalyticsSource,
    opportunities: Iterable[Opportunity] | None = None,
    /,
    *,
    pipeline: Pipeline | PipelineSpec | None = None,
    top: int = 10,
    as_of: datetime | None = None,
) -> PipelineReport:
    """The overview of leads and the opportunities of one sales ``pipeline`` (default: the
    built-in one): two funnels, conversion by source, open forecast and the ``top`` best leads.

    Pass the leads and the opportunities, or a unit of work
    (``pipeline_report(uow)``).  A unit of work of a storage that offers
    :class:`~pipelinekit.analytics.ports.AnalyticsQueries` and
    :class:`~pipelinekit.analytics.ports.ReportQueries` (the SQL adapters do)
    computes every number in the database and loads only the best leads, so
    the report's memory does not grow with the data; any other unit of work
    is read entity by entity, keeping only the best leads.  Both give the
    report computed from the same entities in memory.

    The lead funnel counts every lead that ever reached new, contacted,
    qualified and converted (:func:`~pipelinekit.analytics.lead_funnel`); the
    deal funnel the opportunities that entered each stage or a later one
    (:func:`~pipelinekit.analytics.funnel`).  The forecast keeps currencies
    apart.  ``as_of`` is recorded as the moment the report describes; without
    it, the latest change in the data is used.
    """
    sales = pipeline if pipeline is not None else sales_pipeline()
    spec = sales.spec if isinstance(sales, Pipeline) else sales
    if isinstance(leads, AnalyticsSource):
        if opportunities is not None:
            raise ValidationError(
                "pipeline_report",
                [
                    Problem(
                        "$.opportunities",
                        "a unit of work brings its own opportunities: call pipeline_report(uow)",
                    )
                ],
            )
        source = leads
        totals, best = _stored_totals(source, top)
        return _assemble(
            spec,
            totals,
            best,
            top,
            as_of,
            flow=funnel(source, spec),
            by_stage=forecast(source, spec, by="stage"),
            sources=lead_conversion(source, spec, by="source"),
            lead_steps=lead_funnel(source),
            monthly=forecast(source, spec, by="period", period="month"),
        )
    if opportunities is None:
        raise ValidationError(
            "pipeline_report",
            [Problem("$.opportunities", "pass the opportunities after the leads")],
        )
    lead_list = list(leads)
    deals = list(opportunities)
    changes = [x.updated_at for x in lead_list] + [x.updated_at for x in deals]
    totals = ReportCounts(
        len(lead_list),
        len(deals),
        Counter(lead.status for lead in lead_list),
        max(changes, default=None),
    )
    return _assemble(
        spec,
        totals,
        lead_list,
        top,
        as_of,
        flow=funnel(deals, spec),
        by_stage=forecast(deals, spec, by="stage"),
        sources=lead_conversion(lead_list, deals, spec, by="source"),
        lead_steps=lead_funnel(lead_list),
        monthly=forecast(deals, spec, by="period", period="month"),
    )


def _stored_totals(source: AnalyticsSource, top: int) -> tuple[ReportCounts, Iterable[Lead]]:
    """The counts and the best-lead candidates of a unit of work: asked, else read once."""
    if isinstance(source, ReportQueries):
        totals = source.report_counts()
        best = source.best_scored_leads(max(top, 0))
        if totals is not None and best is not None:
            return totals, best
    statuses: Counter[str] = Counter()
    latest: datetime | None = None
    kept = BestScored(top)
    for lead in source.leads.iterate():
        statuses[lead.status] += 1
        latest = lead.updated_at if latest is None else max(latest, lead.updated_at)
        kept.offer(lead)
    deals = 0
    for deal in source.opportunities.iterate():
        deals += 1
        latest = deal.updated_at if latest is None else max(latest, deal.updated_at)
    totals = ReportCounts(sum(statuses.values()), deals, statuses, latest)
    return totals, kept.leads()


class BestScored:
    """The ``top`` best-scored leads offered so far (ties: the smaller id), in bounded memory."""

    def __init__(self, top: int) -> None:
        self.top = top
        # a min-heap on (score, reversed id): its root is the first to drop
        self._heap: list[tuple[Decimal, _Desc, Lead]] = []

    def offer(self, lead: Lead) -> None:
        """Keep ``lead`` if it has a score among the ``top`` best so far."""
        result = lead.qualification
        if result is None or result.score is None or self.top <= 0:
            return
        item = (result.score, _Desc(lead.id), lead)
        if len(self._heap) < self.top:
            heapq.heappush(self._heap, item)
        elif item[:2] > self._heap[0][:2]:
            heapq.heapreplace(self._heap, item)

    def leads(self) -> list[Lead]:
        """The leads kept (at most ``top``), in no particular order."""
        return [lead for _, _, lead in self._heap]


class _Desc:
    """An id that sorts in reverse (so a min-heap drops the larger id of two equal scores)."""

    __slots__ = ("value",)

    def __init__(self, value: str) -> None:
        self.value = value

    def __lt__(self, other: _Desc) -> bool:
        return self.value > other.value

    def __gt__(self, other: _Desc) -> bool:
        return self.value < other.value

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Desc) and self.value == other.value

    def __hash__(self) -> int:
        return hash(self.value)


def _assemble(
    spec: PipelineSpec,
    totals: ReportCounts,
    best: Iterable[Lead],
    top: int,
    as_of: datetime | None,
    *,
    flow: Funnel,
    by_stage: Forecast,
    sources: LeadConversion,
    lead_steps: Funnel,
    monthly: Forecast,
) -> PipelineReport:
    """The report from its parts (the same whether memory or the database computed them)."""
    order = {s.key: s.order for s in spec.stages}
    labels = {s.key: s.label for s in spec.stages}
    open_lines = sorted(
        (line for line in by_stage.lines if line.open_deals),
        key=lambda line: (
            order.get(line.key[0] or "", 99),
            line.currency is None,
            line.currency or "",
        ),
    )
    amounts: dict[str, list[Decimal]] = {}
    booked: dict[str, Decimal] = {}
    for line in by_stage.lines:
        if line.currency is None:
            continue
        if line.won_deals:
            booked[line.currency] = booked.get(line.currency, Decimal(0)) + line.booked
        if line.open_deals:
            total = amounts.setdefault(line.currency, [Decimal(0), Decimal(0)])
            total[0] += line.open_amount
            total[1] += line.weighted
    ranked = sorted(
        sources.lines, key=lambda line: (-(line.lead_to_won or 0), str(line.segment[0]))
    )
    steps = {step.stage: step for step in lead_steps.steps}
    return PipelineReport(
        leads=totals.leads,
        opportunities=totals.opportunities,
        lead_status=tuple(sorted((k, v) for k, v in totals.lead_status.items() if v)),
        lead_funnel=_steps(
            [(key, _entered(steps.get(key), totals.leads)) for key in LEAD_STEPS],
            {key: key_label(key) for key in LEAD_STEPS},
        ),
        deal_funnel=_steps([(step.stage, step.entered) for step in flow.steps], labels),
        open_stages=tuple(
            OpenStage(
                line.key[0] or "",
                line.currency,
                line.open_deals,
                line.open_amount,
                line.weighted,
                labels.get(line.key[0] or "", key_label(line.key[0] or "")),
            )
            for line in open_lines
        ),
        open_totals=tuple(OpenTotal(c, t[0], t[1]) for c, t in sorted(amounts.items())),
        won=tuple(sorted(booked.items())),
        by_source=attrs.evolve(sources, lines=tuple(ranked)),
        top_leads=top_leads(best, top),
        sales_funnel=flow,
        monthly_forecast=monthly,
        as_of=as_of if as_of is not None else totals.latest,
        pipeline=spec.label,
    )


def _entered(step: FunnelStep | None, leads: int) -> int:
    # every lead starts new: the first step counts them all (lead_funnel leaves out the
    # leads disqualified straight from new, whose history never names 'new' as entered)
    if step is None or step.stage == LEAD_STEPS[0]:
        return leads
    return step.entered


def _steps(counts: list[tuple[str, int]], labels: dict[str, str]) -> tuple[ReportStep, ...]:
    total = counts[0][1] if counts else 0
    out = []
    previous: int | None = None
    for step, count in counts:
        step_rate = None if previous is None else rate(count, previous) or Decimal(0)
        label = labels.get(step) or key_label(step)
        out.append(ReportStep(step, label, count, rate(count, total) or Decimal(0), step_rate))
        previous = count
    return tuple(out)


def key_label(key: str) -> str:
    """A key as people read it: ``closed_won`` is ``Closed won``, ``cold_email`` ``Cold email``."""
    words = key.replace("_", " ").replace(".", " ").strip()
    return words[:1].upper() + words[1:]


def report_date(as_of: datetime | None, *, locale: str | None = None) -> str:
    """The header line of a report: ``Report of 29 November 2026, as of 11:55 UTC``."""
    if as_of is None:
        return "No data yet."
    try:
        from babel.dates import format_date
    except ImportError:
        day = f"{as_of.day} {as_of:%B %Y}"
    else:
        try:
            day = str(format_date(as_of, format="long", locale=locale or "en_US"))
        except ValueError:
            day = f"{as_of.day} {as_of:%B %Y}"
    zone = as_of.tzname() or "UTC"
    return f"Report of {day}, as of {as_of:%Y-%m-%d %H:%M} {zone}"


def format_amount(amount: Decimal, currency: str | None, *, locale: str | None = None) -> str:
    """An amount for people, grouped and rounded as ``locale`` writes money.

    With Babel installed (the ``report`` extra), ``locale`` (``"de_DE"``,
    ``"en_US"``; default ``"en_US"``) decides separators, symbol and its
    place: ``1.234,50 €`` in German, ``€1,234.50`` in US English.  Without
    Babel, or for an unknown locale: ``1,234.50 EUR``.  ``currency=None`` (an
    amount of no currency) is grouped the same way without a symbol.
    """
    try:
        from babel.core import UnknownLocaleError
        from babel.numbers import format_currency, format_decimal
    except ImportError:
        return f"{amount:,.2f} {currency or ''}".strip()
    try:
        if currency is None:
            return str(format_decimal(amount, format="#,##0.00", locale=locale or "en_US"))
        return str(format_currency(amount, currency, locale=locale or "en_US"))
    except (UnknownLocaleError, ValueError):
        return f"{amount:,.2f} {currency or ''}".strip()


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
    """Why a result scored, in words: the ``count`` criteria that added the most.

    Every criterion is shown when there are ``count`` or fewer; otherwise the
    line says so: ``top 3 of 9 criteria: job title matches CEO, CTO or VP
    (+16.7); ...``.  The points are each criterion's share of the result's
    own score, so a composite's children (a weighted ICP fit and BANT) are
    weighed as the composite weighs them.  ``not scored`` without a result.
    """
    if result is None:
        return "not scored"
    shares = _shares(result, Decimal(1))
    shares.sort(key=lambda item: -item[1])
    best = [(line, points) for line, points in shares if points > 0][: max(count, 0)]
    if not best:
        return "no criterion gave points"
    said = "; ".join(f"{_in_words(line)} (+{_points(points)})" for line, points in best)
    if len(shares) <= count:
        return said
    return f"top {len(best)} of {len(shares)} criteria: {said}"


def _shares(result: QualificationResult, factor: Decimal) -> list[tuple[BreakdownLine, Decimal]]:
    """Each leaf criterion and the points it adds to the outermost score."""
    if not result.children:
        return [(line, line.points * factor) for line in result.breakdown]
    out: list[tuple[BreakdownLine, Decimal]] = []
    for child in result.children:
        line = next(
            (
                x
                for x in result.breakdown
                if f"child:{child.strategy}" in x.evidence or x.criterion == child.strategy
            ),
            None,
        )
        if line is None or not child.score:
            scale = factor if line is None else Decimal(0)
        else:
            scale = factor * line.points / child.score
        out.extend(_shares(child, scale))
    return out


def _points(value: Decimal) -> str:
    return f"{value.quantize(Decimal('0.1')).normalize():f}"


def _in_words(line: BreakdownLine) -> str:
    """A breakdown line for people: ``job title matches CEO, CTO or VP``."""
    reason = line.reason.split("; ")[0]
    field = next((e[2:] for e in line.evidence if e.startswith("$.")), None)
    if field is None:
        return f"{key_label(line.criterion)}: {reason}"
    parts = field.split(".")
    subject = key_label(parts[-1]).lower()
    reason = reason.replace(field, subject)
    if subject in reason.lower():
        return reason
    joiner = " " if reason.startswith(("matches", "in band", "is ")) else ": "
    return f"{subject}{joiner}{reason}"
