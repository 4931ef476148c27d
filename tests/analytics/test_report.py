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
    steps = {step.step: step for step in report.funnel}
    assert [s.count for s in report.funnel][:3] == [4, 2, 1]  # leads, contacted, qualified
    assert steps["contacted"].rate == Decimal("0.5")
    assert steps["qualified"].step_rate == Decimal("0.5")
    assert steps["qualification"].count == 3  # every deal sits in qualification
    assert steps["leads"].step_rate is None
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
        "currency": "EUR",
        "count": 1,
        "amount": "1000.00",
        "weighted": "200.00",
    }
    assert data["funnel"][1] == {"step": "contacted", "count": 2, "rate": 0.5, "step_rate": 0.5}
    assert data["top_leads"][0]["score"] == Decimal(90)
    assert data["by_source"] == report.by_source.to_dicts()


def test_top_leads_skip_unscored_and_break_ties_by_id() -> None:
    tied = [lead(n, qualification=result(50)) for n in (5, 6, 7)]
    unscored = lead(8, qualification=result(None))
    best = top_leads([*tied, unscored], 10)
    assert [t.lead_id for t in best] == sorted(x.id for x in tied)
    assert top_leads(tied, 0) == ()
    assert score_reasons(None) == "not scored"
    assert score_reasons(result(40)).startswith("budget +30 (fits)")


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
    assert page.count("<svg") == 2  # the funnel and the forecast by month
    for heading in ("Funnel", "Lead conversion by source", "Forecast (open opportunities)"):
        assert f"<h2>{heading}</h2>" in page
    assert "Won so far: nothing yet" in page
    assert "<svg" not in charts.render_html(report, charts="never")
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    without = charts.render_html(report, charts="if-available")
    assert "<svg" not in without
    assert 'pip install "pipelinekit[report]"' in without
    with pytest.raises(charts.ChartDependencyError):
        charts.render_html(report)
    times = analytics.time_in_stages([opportunity(1)], sales_pipeline(), as_of=at(60))
    assert "<svg" not in charts.render_html(times, charts="if-available")


def test_a_report_of_nothing() -> None:
    report = pipeline_report([], [])
    assert report.funnel[0].rate == 0
    assert report.open_stages == report.open_totals == report.won == ()
    page = charts.render_html(report, charts="if-available")
    assert "0 leads, 0 opportunities." in page
    assert "<svg" not in page
