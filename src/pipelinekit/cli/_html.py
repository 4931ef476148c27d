"""A standalone HTML report (no external assets): funnel bars, forecast and top leads."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from html import escape
from typing import Any

from ..domain import Opportunity

__all__ = ["charts_svg", "render_html"]

_STYLE = """
body{font-family:system-ui,sans-serif;margin:2rem;color:#222;max-width:60rem}
table{border-collapse:collapse;margin:1rem 0}
td,th{padding:.3rem .7rem;border-bottom:1px solid #ddd;text-align:left}
td.n{text-align:right}.bar{background:#4a7bd0;height:1rem}
"""


def _svg_body(svg: str) -> str:
    # drop the XML prolog and doctype: the <svg> element embeds as is
    start = svg.find("<svg")
    return svg[start:] if start >= 0 else ""


def _table(headers: list[str], rows: list[list[str]], numeric: set[int]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="n">{cell}</td>' if i in numeric else f"<td>{cell}</td>"
            for i, cell in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def charts_svg(opportunities: Iterable[Opportunity]) -> list[str]:
    """The funnel and forecast-by-month charts as inline SVG (``report`` extra), else none."""
    from .. import analytics
    from ..analytics import charts
    from ..pipelines import sales_pipeline

    deals = list(opportunities)
    if not deals:
        return []
    sales = sales_pipeline()
    try:
        figures = [charts.funnel_chart(analytics.funnel(deals, sales), title="Funnel")]
        by_month = analytics.forecast(deals, sales, by="period", period="month")
        if len(by_month.currencies()) == 1:
            figures.append(charts.forecast_chart(by_month, title="Forecast by month"))
        return [charts.to_svg(figure) for figure in figures]
    except charts.ChartDependencyError:
        return []


def render_html(data: dict[str, Any], *, title: str, charts: Sequence[str] = ()) -> str:
    """Render the report data (as ``pipelinekit report --json`` prints it) as one HTML page.

    ``charts`` are inline SVG documents shown first (see :func:`charts_svg`).
    """
    funnel = data["funnel"]
    top = max((row["count"] for row in funnel), default=0) or 1
    funnel_rows = [
        [
            escape(row["step"]),
            str(row["count"]),
            f"{row['rate']:.1%}",
            f'<div class="bar" style="width:{300 * row["count"] // top}px"></div>',
        ]
        for row in funnel
    ]
    forecast = data["forecast"]
    forecast_rows = [
        [
            escape(r["stage"]),
            str(r["count"]),
            f"{r['amount']} {escape(r['currency'])}",
            f"{r['weighted']} {escape(r['currency'])}",
        ]
        for r in forecast["stages"]
    ]
    for currency, totals in forecast["open"].items():
        forecast_rows.append(
            [
                "<b>total</b>",
                "",
                f"<b>{totals['amount']} {escape(currency)}</b>",
                f"<b>{totals['weighted']} {escape(currency)}</b>",
            ]
        )
    won = (
        ", ".join(f"{amount} {escape(c)}" for c, amount in forecast["won"].items()) or "nothing yet"
    )
    lead_rows = [
        [escape(r["lead"]), f"{float(r['score']):.1f}", escape(r["status"]), escape(r["why"])]
        for r in data["top_leads"]
    ]
    source_rows = [
        [escape(str(r["source"])), str(r["leads"]), str(r["opportunities"]), str(r["won"]),
         f"{float(r['lead_to_won']):.1%}"]
        for r in data.get("by_source", [])
    ]  # fmt: skip
    return (
        f"<!doctype html><html lang=en><head><meta charset=utf-8><title>{escape(title)}</title>"
        f"<style>{_STYLE}</style></head><body><h1>{escape(title)}</h1>"
        f"<p>{data['leads']} leads, {data['opportunities']} opportunities.</p>"
        + "".join(f"<figure>{_svg_body(svg)}</figure>" for svg in charts)
        + (
            ""
            if charts
            else '<p><i>Install the report extra (pip install "pipelinekit[report]") '
            "for charts.</i></p>"
        )
        + ""
        f"<h2>Funnel</h2>{_table(['step', 'count', 'of leads', ''], funnel_rows, {1, 2})}"
        f"<h2>Lead conversion by source</h2>"
        + _table(
            ["source", "leads", "opportunities", "won", "lead to won"], source_rows, {1, 2, 3, 4}
        )
        + "<h2>Forecast (open opportunities)</h2>"
        f"{_table(['stage', 'deals', 'amount', 'weighted'], forecast_rows, {1, 2, 3})}"
        f"<p>Won so far: {won}</p>"
        f"<h2>Best leads</h2>{_table(['lead', 'score', 'status', 'why'], lead_rows, {1})}"
        "</body></html>\n"
    )
