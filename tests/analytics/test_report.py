"""The pipeline report (what ``pipelinekit report`` shows) and the one HTML renderer."""

from __future__ import annotations

import sys
from decimal import Decimal

import pytest

from pipelinekit import Company, Lead, Money, StageChange, analytics
from pipelinekit.analytics import charts, pipeline_report, score_reasons, top_leads
from pipelinekit.pipelines import sales_pipeline
from pipelinekit.testing.contracts.samples import at, lead, opportunity, result


def _leads() -> list[Lead]:
    new = lead(1)
    contacted = lead(2).evolve(
        status="contacted",
        history=(
            StageChange(None, "new", "create", at(2)),
            StageChange("new", "contacted", "call", at(3)),
        ),
    )
    qualified = lead(3, qualification=result(90)).evolve(
        status="qualified",
        history=(
            StageChange(None, "new", "create", at(3)),
            StageChange("new", "qualified", "fit", at(4)),
        ),
    )
    unscored = lead(4, qualification=None)
    return [new, contacted, qualified, unscored]


def test_the_report_counts_the_funnel_the_open_forecast_and_the_best_leads() -> None:
    leads = _leads()
    priced = opportunity(1, lead_id=leads[2].id)
    dollars = opportunity(2, amount=Money(Decimal("500"), "USD"))
    unpriced = opportunity(3, amount=None)
    report = pipeline_report(leads, [priced, dollars, unpriced], top=2)
    assert (report.leads, report.opportunities) == (4, 3)
    assert dict(report.lead_status) == {"contacted": 1, "new": 2, "qualified": 1}
    lead_steps = {step.step: step for step in report.lead_funnel}
    assert [(s.label, s.count) for s in report.lead_funnel] == [
        ("New", 4),
        ("Contacted", 2),
        ("Qualified", 1),
        ("Converted", 0),
    ]
    assert lead_steps["contacted"].rate == Decimal("0.5")
    assert lead_steps["qualified"].step_rate == Decimal("0.5")
    assert lead_steps["new"].step_rate is None
    # the deal funnel: the sales pipeline's stages in order, counted from the deals
    assert [s.step for s in report.deal_funnel] == [
        "initial_contact", "qualification", "meeting", "proposal", "closed_won"
    ]  # fmt: skip
    deal_steps = {step.step: step for step in report.deal_funnel}
    assert deal_steps["qualification"].count == 3  # every deal sits in qualification
    assert deal_steps["qualification"].label == "Qualification"
    assert deal_steps["initial_contact"].rate == 1
    assert report.pipeline == "Sales"
    assert report.as_of == max(x.updated_at for x in [*leads, priced, dollars, unpriced])
    # deals without an amount are counted, in a line of their own; currencies never mix
    assert [(s.stage, s.currency, s.deals) for s in report.open_stages] == [
        ("qualification", "EUR", 1),
        ("qualification", "USD", 1),
        ("qualification", None, 1),
    ]
    assert [(t.currency, t.amount) for t in report.open_totals] == [
        ("EUR", Decimal("1000.00")),
        ("USD", Decimal("500")),
    ]
    assert [t.label for t in report.top_leads] == ["Analytical Engines / CTO"] * 2
    assert [t.lead_id for t in report.top_leads] == [leads[2].id, leads[1].id]
    data = report.to_dict()
    assert data["forecast"]["stages"][0] == {
        "stage": "qualification",
        "label": "Qualification",
        "currency": "EUR",
        "count": 1,
        "amount": "1000.00",
        "weighted": "200.00",
    }
    assert data["lead_funnel"][1] == {
        "step": "contacted",
        "label": "Contacted",
        "count": 2,
        "rate": 0.5,
        "step_rate": 0.5,
    }
    assert data["deal_funnel"][0]["step"] == "initial_contact"
    assert data["as_of"] == report.as_of.isoformat()
    assert data["top_leads"][0]["score"] == Decimal(90)
    assert data["by_source"] == report.by_source.to_dicts()


def test_top_leads_skip_unscored_and_break_ties_by_id() -> None:
    tied = [lead(n, qualification=result(50)) for n in (5, 6, 7)]
    unscored = lead(8, qualification=result(None))
    best = top_leads([*tied, unscored], 10)
    assert [t.lead_id for t in best] == sorted(x.id for x in tied)
    assert top_leads(tied, 0) == ()
    assert score_reasons(None) == "not scored"
    assert score_reasons(result(40)) == "Budget: fits (+30); Need: asked for a demo (+10)"
    assert score_reasons(result(40), count=1) == "top 1 of 2 criteria: Budget: fits (+30)"


def test_the_html_page_escapes_text_and_draws_charts_as_asked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pytest.importorskip("matplotlib")
    leads = [lead(1).evolve(company=Company("<Acme & Co>"))]
    report = pipeline_report(leads, [opportunity(1)], top=1)
    page = charts.render_html(report, title="Q1 <draft>")
    assert page.startswith("<!doctype html>")
    assert "<title>Q1 &lt;draft&gt;</title>" in page
    assert "<td>&lt;Acme &amp; Co&gt; / CTO</td>" in page
    assert page.count("<svg") == 3  # the lead funnel, the deal funnel, the forecast by month
    for heading in (
        "Lead funnel",
        "Deal funnel: Sales pipeline",
        "Forecast by month of expected close",
        "Lead conversion by source",
        "Best leads",
    ):
        assert f"<h2>{heading}</h2>" in page
    assert "Won so far: nothing yet" in page
    assert "<svg" not in charts.render_html(report, charts="never")
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    without = charts.render_html(report, charts="if-available")
    assert "<svg" not in without
    assert without.count('pip install "pipelinekit[report]"') == 1  # said once
    with pytest.raises(charts.ChartDependencyError):
        charts.render_html(report)
    times = analytics.time_in_stages([opportunity(1)], sales_pipeline(), as_of=at(60))
    assert "<svg" not in charts.render_html(times, charts="if-available")


def test_a_report_of_nothing() -> None:
    report = pipeline_report([], [])
    assert report.lead_funnel[0].rate == report.deal_funnel[0].rate == 0
    assert report.as_of is None
    assert report.open_stages == report.open_totals == report.won == ()
    page = charts.render_html(report, charts="if-available")
    assert "No data yet. &middot; 0 leads, 0 opportunities" in page
    assert "<svg" not in page
