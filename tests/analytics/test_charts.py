"""Charts stay readable: period labels never overlap, money reads as money, legends stay out."""

from __future__ import annotations

import itertools
from datetime import date, timedelta
from typing import Any

import pytest

from pipelinekit import Money, analytics
from pipelinekit.analytics import charts

from ._data import SALES, T0

pytest.importorskip("matplotlib")

SIZES = ((5.0, 3.0), (7.0, 4.0), (12.0, 5.0))


def _deals(count: int, spacing: timedelta) -> list[Any]:
    """Open deals closing one per ``spacing``, with large amounts, plus a few won ones."""
    start = date(2026, 1, 5)
    deals = []
    for n in range(count):
        deal = SALES.open(name=f"D{n}", amount=Money(1_250_000 + n * 10_000, "EUR"), at=T0).entity
        deals.append(deal.evolve(expected_close=start + spacing * n))
    for n in range(3):
        won = SALES.open(name=f"W{n}", amount=Money(2_000_000, "EUR"), at=T0).entity
        for _ in range(3):
            won = SALES.fire(won, "advance", at=T0 + timedelta(days=1)).entity
        deals.append(SALES.win(won, at=T0 + timedelta(days=2 + 40 * n)).entity)
    return deals


def _overlaps(figure: Any, axis: str = "x") -> list[tuple[str, str]]:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    renderer = FigureCanvasAgg(figure).get_renderer()
    figure.draw(renderer)
    (axes,) = figure.axes
    labels = axes.get_xticklabels() if axis == "x" else axes.get_yticklabels()
    shown = [t for t in labels if t.get_text() and t.get_visible()]
    boxes = [(t.get_text(), t.get_window_extent(renderer)) for t in shown]
    return [(a, b) for (a, box_a), (b, box_b) in itertools.pairwise(boxes) if box_a.overlaps(box_b)]


@pytest.mark.parametrize(
    ("period", "count", "spacing"),
    [
        ("month", 12, timedelta(days=31)),
        ("week", 52, timedelta(days=7)),
        ("quarter", 8, timedelta(days=92)),
    ],
)
@pytest.mark.parametrize("size", SIZES)
def test_period_labels_never_overlap(period: str, count: int, spacing: timedelta, size) -> None:
    report = analytics.forecast(_deals(count, spacing), SALES, by="period", period=period)
    periods = {line.key[0] for line in report.lines}
    assert len(periods) >= count  # every period is there to label
    figure = charts.forecast_chart(report, size=size)
    assert _overlaps(figure) == []
    (axes,) = figure.axes
    texts = [t.get_text() for t in axes.get_xticklabels()]
    assert texts, "some periods are labelled"
    if period == "month":
        assert "Jan 2026" in texts
    elif period == "quarter":
        assert "2026 Q1" in texts
    else:
        assert all(t.startswith(("2026 W", "2027 W")) for t in texts)


def test_money_axes_read_as_money_and_the_legend_sits_outside_the_data() -> None:
    report = analytics.forecast(
        _deals(12, timedelta(days=31)), SALES, by="period", as_of=T0 + timedelta(days=200)
    )
    figure = charts.forecast_chart(report)
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    renderer = FigureCanvasAgg(figure).get_renderer()
    figure.draw(renderer)
    (axes,) = figure.axes
    money = [t.get_text() for t in axes.get_yticklabels() if t.get_text()]
    assert any("," in text for text in money), money  # thousands separators
    assert all("e" not in text for text in money)
    assert axes.yaxis.get_offset_text().get_text() == ""  # no 1e6 offset
    assert "EUR" in axes.get_ylabel()
    assert axes.get_legend() is None  # no legend drawn over the bars
    (legend,) = figure.legends
    assert legend.get_frame_on()
    plot = axes.get_window_extent(renderer)
    assert not legend.get_window_extent(renderer).overlaps(plot)
    colours = {patch.get_facecolor() for patch in axes.patches}
    assert len(colours) == 2  # booked and weighted stand apart
    assert "as of 2026-07-24 09:00 UTC" in axes.get_title("left")


def test_the_time_in_stage_legend_leaves_the_top_bar_visible() -> None:
    deals = _deals(4, timedelta(days=31))
    times = analytics.time_in_stages(deals, SALES, as_of=T0 + timedelta(days=90))
    for size in SIZES:
        figure = charts.stage_time_chart(times, size=size)
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        renderer = FigureCanvasAgg(figure).get_renderer()
        figure.draw(renderer)
        (axes,) = figure.axes
        (legend,) = figure.legends
        assert not legend.get_window_extent(renderer).overlaps(axes.get_window_extent(renderer))
        assert _overlaps(figure, "y") == []
        assert "as of" in axes.get_title("left")


def test_the_funnel_title_names_the_segment_and_the_moment() -> None:
    deals = [d.evolve(owner="ana") for d in _deals(3, timedelta(days=31))]
    report = analytics.funnel(deals, SALES, by="owner", as_of=T0 + timedelta(days=3))
    figure = charts.funnel_chart(report, pipeline="sales", segment=("ana",))
    title = figure.axes[0].get_title("left")
    assert "owner=ana" in title
    assert "as of 2026-01-08 09:00 UTC" in title
