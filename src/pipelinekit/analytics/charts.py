"""Charts of analytics results: funnel, forecast by period, time in stage (``report`` extra).

Drawn with matplotlib's object-oriented API (no ``pyplot``, no global state,
no display needed) and saved as PNG or SVG; :func:`render_html`, the one HTML
renderer of pipelinekit (``pipelinekit report --html`` uses it too), puts
charts (as inline SVG) and tables into one self-contained HTML page::

    from pipelinekit.analytics import charts

    figure = charts.funnel_chart(report)
    charts.save(figure, "funnel.png")
    Path("report.html").write_text(charts.render_html(report, forecast, title="Q1"))

matplotlib is imported only when a chart is drawn; without it every function
raises :class:`ChartDependencyError` naming the extra to install.
"""

from __future__ import annotations

import functools
import html
import io
import itertools
from collections.abc import Callable, Sequence
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeGuard

from ..errors import PipelinekitError
from .report import PipelineReport, ReportStep, format_amount, key_label, report_date
from .results import Forecast, Funnel, StageTimes, days

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "ChartDependencyError",
    "ChartsMode",
    "forecast_chart",
    "funnel_chart",
    "render_html",
    "report_step_chart",
    "save",
    "stage_time_chart",
    "to_svg",
]

_COLOURS = ("#2f6690", "#3a7ca5", "#81c3d7", "#d9dcd6", "#16425b")
#: Colours that stay apart from each other (and from white) for series drawn together.
_BOOKED, _WEIGHTED = "#16425b", "#f4a259"
_P90, _MEDIAN, _MEAN = "#a9d6e5", "#2f6690", "#d1495b"
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


class ChartDependencyError(PipelinekitError, ImportError):
    """Charts need matplotlib: ``pip install "pipelinekit[report]"``."""

    def __init__(self) -> None:
        super().__init__(
            "charts need matplotlib: install the report extra with "
            '`pip install "pipelinekit[report]"`'
        )


def _figure(width: float = 7.0, height: float = 4.0) -> Figure:
    try:
        from matplotlib.figure import Figure
    except ImportError as error:
        raise ChartDependencyError() from error
    return Figure(figsize=(width, height), layout="constrained")


def funnel_chart(
    funnel: Funnel,
    *,
    pipeline: str | None = None,
    segment: tuple[str | None, ...] = (),
    title: str | None = None,
    size: tuple[float, float] | None = None,
) -> Figure:
    """A horizontal funnel: deals that entered each stage, with conversion to the next.

    The title names the pipeline, the segment and the report's ``as_of``;
    ``size`` is the figure's width and height in inches (by default 7 wide
    and as tall as the stages need)."""
    segments = funnel.segments()
    if pipeline is None:
        pipelines = sorted({key[0] for key in segments if key[0] is not None})
        if len(pipelines) != 1:
            raise ValueError(f"name one pipeline of {', '.join(pipelines) or 'none'}")
        pipeline = pipelines[0]
    steps = segments.get((pipeline, *segment))
    if steps is None:
        raise ValueError(f"no funnel for pipeline {pipeline!r} and segment {segment!r}")
    shown = ", ".join(
        f"{name}={value if value is not None else '(none)'}"
        for name, value in zip(funnel.by, segment, strict=False)
    )
    return _steps_figure(
        [step.label for step in steps],
        [step.entered for step in steps],
        [step.conversion for step in steps],
        title=title
        or f"Funnel: {pipeline}" + (f" ({shown})" if shown else "") + _when(funnel.as_of),
        xlabel="opportunities that entered the stage",
        size=size,
    )


def _steps_figure(
    labels: Sequence[str],
    counts: Sequence[int],
    onward: Sequence[Decimal | None],
    *,
    title: str,
    xlabel: str,
    size: tuple[float, float] | None = None,
) -> Figure:
    """Horizontal bars, first step on top, each with its count and the share that went on
    (``size`` in inches; by default 7 wide and as tall as the steps need)."""
    figure = _figure(*(size or (7.0, max(2.2, 0.5 * len(labels) + 1.2))))
    axes = figure.add_subplot()
    positions = list(range(len(labels)))[::-1]
    axes.barh(positions, counts, color=_COLOURS[0])
    axes.set_yticks(positions, labels)
    top = max(counts, default=0) or 1
    for y, count, share in zip(positions, counts, onward, strict=True):
        note = f"{count:,}"
        if share is not None:
            note += f"  ({_percent(share)} to next)"
        axes.text(count + top * 0.01, y, note, va="center", fontsize=9)
    axes.set_xlim(0, top * 1.45)
    axes.set_xlabel(xlabel)
    axes.set_title(title, loc="left")
    axes.spines[["top", "right"]].set_visible(False)
    return figure


def report_step_chart(steps: Sequence[ReportStep], *, title: str, xlabel: str) -> Figure:
    """A funnel chart of a report's steps (its lead funnel or its deal funnel)."""
    onward = [after.step_rate for after in steps[1:]] + [None]
    return _steps_figure(
        [step.label for step in steps],
        [step.count for step in steps],
        onward[: len(steps)],
        title=title,
        xlabel=xlabel,
    )


def forecast_chart(
    forecast: Forecast,
    *,
    currency: str | None = None,
    title: str | None = None,
    size: tuple[float, float] = (7.0, 4.0),
) -> Figure:
    """Booked and weighted amounts per period (the forecast must be sliced by ``period``).

    Period labels read ``Mar 2026``, ``2026 W10`` or ``2026 Q1`` and are
    turned or thinned until none overlaps, at any span; amounts carry
    thousands separators and the currency; the legend sits above the plot;
    the title names the period, the other slices and ``as_of``.  ``size`` is
    the figure's width and height in inches."""
    if "period" not in forecast.by:
        raise ValueError("forecast_chart needs a forecast sliced by period (by=('period', ...))")
    codes = forecast.currencies()
    if currency is None:
        if len(codes) > 1:
            raise ValueError(f"pick one currency of {', '.join(codes)} (currency=)")
        currency = codes[0] if codes else ""
    at = forecast.by.index("period")
    booked: dict[str, Decimal] = {}
    weighted: dict[str, Decimal] = {}
    for line in forecast.lines:
        if line.currency != currency:
            continue
        label = line.key[at] or "no date"
        booked[label] = booked.get(label, Decimal(0)) + line.booked
        weighted[label] = weighted.get(label, Decimal(0)) + line.weighted
    periods = sorted(set(booked) | set(weighted), key=lambda p: (p == "no date", p))

    # periods with nothing at either end say nothing: leave them out
    def empty(p: str) -> bool:
        return not booked.get(p) and not weighted.get(p)

    while periods and empty(periods[0]):
        periods.pop(0)
    while periods and empty(periods[-1]):
        periods.pop()
    figure = _figure(*size)
    axes = figure.add_subplot()
    low = [float(booked.get(p, 0)) for p in periods]
    high = [float(weighted.get(p, 0)) for p in periods]
    positions = list(range(len(periods)))
    axes.bar(positions, low, color=_BOOKED, label="booked (won)")
    axes.bar(positions, high, bottom=low, color=_WEIGHTED, label="weighted (open)")
    _money_axis(axes, currency)
    _legend_outside(figure, axes)
    others = [name for name in forecast.by if name != "period"]
    sliced = f" (by {', '.join(others)})" if others else ""
    axes.set_title(
        title or f"Forecast by {forecast.period}{sliced}{_when(forecast.as_of)}", loc="left"
    )
    axes.spines[["top", "right"]].set_visible(False)
    _period_axis(figure, axes, positions, [_period_text(p) for p in periods])
    return figure


def _when(moment: Any) -> str:
    """``", as of 2026-03-10 09:00 UTC"`` for a report of a past moment (nothing for now)."""
    if moment is None:
        return ""
    return f", as of {moment.strftime('%Y-%m-%d %H:%M')} {moment.tzname() or ''}".rstrip()


def _period_text(label: str) -> str:
    """A period label as read on an axis: ``Mar 2026``, ``2026 W10``, ``2026 Q1``."""
    year, _, rest = label.partition("-")
    if rest.isdigit() and len(rest) == 2 and 1 <= int(rest) <= 12:
        return f"{_MONTHS[int(rest) - 1]} {year}"
    if rest.startswith(("W", "Q")):
        return f"{year} {rest}"
    return label


def _money_axis(axes: Any, currency: str | None) -> None:
    """Amounts with thousands separators, never an offset or ``1e6`` notation."""
    from matplotlib.ticker import FuncFormatter

    axes.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:,.0f}"))
    axes.set_ylabel(f"amount ({currency})" if currency else "amount")


def _legend_outside(figure: Figure, axes: Any) -> None:
    """The legend above the plot, framed, never over the data."""
    handles, labels = axes.get_legend_handles_labels()
    if handles:
        figure.legend(handles, labels, loc="outside upper center", ncols=len(handles), frameon=True)


def _period_axis(figure: Figure, axes: Any, positions: list[int], labels: list[str]) -> None:
    """Period ticks that never overlap (measured on the drawn figure): every label
    when they fit level, else turned, and every n-th one when even that is too dense."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    renderer = FigureCanvasAgg(figure).get_renderer()  # type: ignore[no-untyped-call]

    def fits(step: int, rotation: int) -> bool:
        shown = positions[::step]
        axes.set_xticks(
            shown,
            [labels[i] for i in shown],
            rotation=rotation,
            ha="right" if rotation else "center",
            rotation_mode="anchor",
        )
        figure.draw(renderer)
        boxes = [t.get_window_extent(renderer) for t in axes.get_xticklabels() if t.get_text()]
        return not any(a.overlaps(b) for a, b in itertools.pairwise(boxes))

    if fits(1, 0):
        return
    for step in range(1, len(positions) + 1):
        if fits(step, 45):
            return


def stage_time_chart(
    times: StageTimes, *, title: str | None = None, size: tuple[float, float] = (7.0, 4.0)
) -> Figure:
    """Median and 90th percentile days per stage (the mean as a marker), the legend
    above the plot and ``as_of`` in the title; ``size`` in inches."""
    lines = list(times.lines)
    pipelines = {line.pipeline for line in lines}
    labels = [
        line.label if len(pipelines) == 1 else f"{line.pipeline}: {line.label}" for line in lines
    ]
    figure = _figure(*size)
    axes = figure.add_subplot()
    positions = list(range(len(lines)))[::-1]
    p90 = [float(days(line.p90) or 0) for line in lines]
    median = [float(days(line.median) or 0) for line in lines]
    mean = [float(days(line.mean) or 0) for line in lines]
    axes.barh(positions, p90, color=_P90, label="90th percentile")
    axes.barh(positions, median, color=_MEDIAN, label="median")
    axes.scatter(
        mean, positions, color=_MEAN, edgecolors="white", marker="D", zorder=3, label="mean"
    )
    axes.set_yticks(positions, labels)
    axes.set_xlabel("days in stage")
    _legend_outside(figure, axes)
    axes.set_title(title or f"Time in stage{_when(times.as_of)}", loc="left")
    axes.spines[["top", "right"]].set_visible(False)
    return figure


def save(figure: Figure, path: str | Path) -> Path:
    """Write ``figure`` to ``path``; the suffix picks the format (``.png`` or ``.svg``)."""
    target = Path(path)
    kind = target.suffix.lower().lstrip(".")
    if kind not in ("png", "svg"):
        raise ValueError(f"save as .png or .svg, not {target.suffix or 'no suffix'!r}")
    from matplotlib import rc_context

    with rc_context({"svg.hashsalt": "pipelinekit"}):
        figure.savefig(target, format=kind, metadata=_metadata(kind), dpi=150)
    return target


def to_svg(figure: Figure) -> str:
    """The figure as an SVG document (deterministic: no date, fixed ids)."""
    from matplotlib import rc_context

    buffer = io.StringIO()
    with rc_context({"svg.hashsalt": "pipelinekit"}):
        figure.savefig(buffer, format="svg", metadata=_metadata("svg"))
    return buffer.getvalue()


def _metadata(kind: str) -> dict[str, Any]:
    return {"Date": None} if kind == "svg" else {"Software": "pipelinekit"}


def _percent(value: Decimal) -> str:
    return f"{(value * 100).quantize(Decimal('0.1'))} %"


# -- the HTML page --------------------------------------------------------------------------------

#: How :func:`render_html` treats charts: draw them (matplotlib required), draw them if
#: matplotlib is installed (else say how to get them), or leave them out.
ChartsMode = Literal["always", "if-available", "never"]

_STYLE = (
    "body{font-family:system-ui,sans-serif;margin:2rem;color:#222;max-width:60rem}"
    "table{border-collapse:collapse;margin:1rem 0}"
    "th,td{padding:.3rem .7rem;border-bottom:1px solid #ddd;text-align:left}"
    "th{background:#f3f3f3}td.n{text-align:right}.bar{background:#4a7bd0;height:1rem}"
    "svg{max-width:100%;height:auto}p.meta{color:#555;margin-top:-.5rem}"
    "section{margin-top:2rem}"
)
_NO_CHARTS = (
    '<p><i>Install the report extra (pip install "pipelinekit[report]") for charts.</i></p>'
)


def render_html(
    *items: object,
    title: str = "Pipeline report",
    charts: ChartsMode = "always",
    locale: str | None = None,
) -> str:
    """One self-contained HTML page (no external assets): for each item a heading, a chart, a table.

    An item is an analytics result (a funnel, a forecast, time in stage,
    metrics, stale deals...), a :class:`~pipelinekit.analytics.report.PipelineReport`
    (its date, lead funnel and deal funnel with charts, the forecast by month
    of expected close, conversion by source and best leads), a matplotlib
    figure, or a ``(heading, item)`` pair.  Funnels of one pipeline and
    segment, forecasts by period and time in stage get a chart; every result
    gets its table; every text is escaped.  Amounts are written as
    ``locale`` writes money (:func:`~pipelinekit.analytics.format_amount`).

    ``charts="always"`` draws charts (raising :class:`ChartDependencyError`
    without matplotlib), ``"if-available"`` draws them when matplotlib is
    installed and otherwise says how to install it, ``"never"`` leaves them out.
    """
    page = _Page(charts, locale)
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style>",
        f"</head><body><h1>{html.escape(title)}</h1>",
    ]
    for item in items:
        if isinstance(item, PipelineReport):
            parts.extend(page.report(item))
            continue
        heading, content = item if isinstance(item, tuple) else (_heading(item), item)
        parts.append(f"<section><h2>{html.escape(heading)}</h2>")
        parts.extend(page.chart(functools.partial(_chart_for, content)))
        if hasattr(content, "to_rows"):
            parts.append(_result_table(content))
        parts.append("</section>")
    parts.append("</body></html>\n")
    return "\n".join(parts)


class _Page:
    """Charts as the page's mode wants them (inline SVG, or a note when they cannot be drawn)."""

    def __init__(self, mode: ChartsMode, locale: str | None = None) -> None:
        if mode not in ("always", "if-available", "never"):
            raise ValueError(f"charts must be 'always', 'if-available' or 'never', got {mode!r}")
        self.mode = mode
        self.locale = locale
        self.noted = False

    def chart(self, draw: Callable[[], Figure | None]) -> list[str]:
        """The figure ``draw()`` makes as inline SVG (none if it makes none), or the note."""
        if self.mode == "never":
            return []
        try:
            figure = draw()
        except ChartDependencyError:
            if self.mode == "always":
                raise
            noted, self.noted = self.noted, True
            return [] if noted else [_NO_CHARTS]  # said once per page
        return [] if figure is None else [_svg_element(to_svg(figure))]

    def money(self, amount: Decimal, currency: str | None) -> str:
        """An amount as the page's locale writes it, escaped."""
        return html.escape(format_amount(amount, currency, locale=self.locale))

    def report(self, report: PipelineReport) -> list[str]:
        """The sections of a pipeline report."""
        out = [
            f'<p class="meta">{html.escape(report_date(report.as_of, locale=self.locale))}'
            f" &middot; {report.leads:,} leads, {report.opportunities:,} opportunities"
            f" in the {html.escape(report.pipeline)} pipeline</p>"
        ]
        out += self._funnel(
            "Lead funnel",
            "Leads by the furthest step they reached: new, contacted, qualified, "
            "converted (into an opportunity).",
            report.lead_funnel,
            "leads",
            "of leads",
        )
        out += self._funnel(
            f"Deal funnel: {report.pipeline} pipeline",
            "Opportunities that entered each stage (or a later one), in pipeline order.",
            report.deal_funnel,
            "opportunities",
            "of opportunities",
        )
        out.append("<section><h2>Forecast by month of expected close</h2>")
        if report.opportunities and len(report.monthly_forecast.currencies()) == 1:
            out += self.chart(
                lambda: forecast_chart(
                    report.monthly_forecast, title="Won, and open weighted by stage probability"
                )
            )
        forecast_rows = [
            [
                html.escape(line.label or key_label(line.stage)),
                f"{line.deals:,}",
                self.money(line.amount, line.currency),
                self.money(line.weighted, line.currency),
            ]
            for line in report.open_stages
        ]
        forecast_rows += [
            [
                "<b>Total</b>",
                "",
                f"<b>{self.money(total.amount, total.currency)}</b>",
                f"<b>{self.money(total.weighted, total.currency)}</b>",
            ]
            for total in report.open_totals
        ]
        headers = ["Stage", "Open deals", "Amount", "Weighted"]
        out.append("<h3>Open opportunities</h3>" + _table(headers, forecast_rows, {1, 2, 3}))
        won = ", ".join(self.money(amount, currency) for currency, amount in report.won)
        out.append(f"<p>Won so far: {won or 'nothing yet'}</p></section>")
        source_rows = [
            [
                html.escape(key_label(str(line.segment[0]))),
                f"{line.leads:,}",
                f"{line.opportunities:,}",
                f"{line.won:,}",
                f"{line.lead_to_won or 0:.1%}",
            ]
            for line in report.by_source.lines
        ]
        headers = ["Source", "Leads", "Opportunities", "Won", "Lead to won"]
        out.append(
            "<section><h2>Lead conversion by source</h2>"
            + _table(headers, source_rows, {1, 2, 3, 4})
            + "</section>"
        )
        lead_rows = [
            [
                html.escape(lead.label),
                f"{lead.score:.1f}",
                html.escape(key_label(lead.status)),
                html.escape(lead.why),
            ]
            for lead in report.top_leads
        ]
        headers = ["Lead", "Score", "Status", "Why it scored"]
        out.append("<section><h2>Best leads</h2>" + _table(headers, lead_rows, {1}) + "</section>")
        return out

    def _funnel(
        self, heading: str, note: str, steps: Sequence[ReportStep], noun: str, share: str
    ) -> list[str]:
        out = [f"<section><h2>{html.escape(heading)}</h2><p>{html.escape(note)}</p>"]
        if steps and steps[0].count:
            out += self.chart(
                lambda: report_step_chart(steps, title=heading, xlabel=f"{noun} per step")
            )
        rows = [
            [
                html.escape(step.label),
                f"{step.count:,}",
                f"{step.rate:.1%}",
                "" if step.step_rate is None else f"{step.step_rate:.1%}",
            ]
            for step in steps
        ]
        out.append(
            _table(["Step", noun.capitalize(), share, "of the step before"], rows, {1, 2, 3})
        )
        out.append("</section>")
        return out


def _svg_element(svg: str) -> str:
    # drop the XML prolog and doctype: the <svg> element embeds as is
    start = svg.find("<svg")
    return f"<figure>{svg[start:]}</figure>" if start >= 0 else ""


def _table(headers: list[str], rows: list[list[str]], numeric: set[int]) -> str:
    """A table of already escaped cells; ``numeric`` columns are right-aligned."""
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
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


def _result_table(result: Any) -> str:
    rows = result.to_rows()
    numeric = {
        i
        for row in rows
        for i, value in enumerate(row)
        if isinstance(value, int | Decimal | float) and not isinstance(value, bool)
    }
    cells = [[html.escape(_cell(v)) for v in row] for row in rows]
    return _table([str(c) for c in result.columns], cells, numeric)


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, tuple):
        return ", ".join(_cell(v) for v in value)
    return str(value)


def _chart_for(result: object) -> Figure | None:
    if _is_figure(result):
        return result
    if isinstance(result, Funnel):
        keys = list(result.segments())
        if len(keys) == 1:
            return funnel_chart(result, pipeline=keys[0][0], segment=tuple(keys[0][1:]))
        return None
    if isinstance(result, Forecast) and "period" in result.by and len(result.currencies()) <= 1:
        return forecast_chart(result)
    if isinstance(result, StageTimes):
        return stage_time_chart(result)
    return None


def _heading(item: object) -> str:
    names = {
        "Funnel": "Funnel",
        "Forecast": "Weighted forecast",
        "StageTimes": "Time in stage",
        "SalesMetrics": "Sales metrics",
        "StaleDeals": "Stale deals",
        "LeadConversion": "Lead conversion",
    }
    return names.get(type(item).__name__, "Chart")


def _is_figure(item: object) -> TypeGuard[Figure]:
    return type(item).__name__ == "Figure" and hasattr(item, "savefig")
