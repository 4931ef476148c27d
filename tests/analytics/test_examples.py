"""Documented behaviour: the worked example's printed figures, errors, rows, charts, migration."""

from __future__ import annotations

import contextlib
import io
import json
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from pipelinekit import Money, ValidationError, analytics
from pipelinekit.analytics import MissingRate, MixedCurrencies
from pipelinekit.pipelines import sales_pipeline

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "analytics.md"
_FENCE = re.compile(r"^```(\w+)[^\n]*\n(.*?)^```", re.MULTILINE | re.DOTALL)
SALES = sales_pipeline()
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def test_the_worked_example_prints_what_the_page_shows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every ```text block right after a ```python block is that block's exact output."""
    monkeypatch.chdir(tmp_path)
    fences = [(m.group(1), m.group(2)) for m in _FENCE.finditer(PAGE.read_text("utf-8"))]
    namespace: dict[str, object] = {"__name__": "docs_analytics"}
    checked = 0
    for index, (kind, body) in enumerate(fences):
        if kind != "python":
            continue
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            exec(compile(body, f"analytics.md block {index}", "exec"), namespace)
        following = fences[index + 1] if index + 1 < len(fences) else None
        if following is not None and following[0] == "text":
            assert out.getvalue() == following[1], f"block {index}"
            checked += 1
    assert checked >= 6


def _deal(amount: Money | None, *, at: datetime = T0):
    return SALES.open(name="d", amount=amount, at=at).entity


def test_one_total_over_several_currencies_is_refused_and_rates_convert() -> None:
    deals = [_deal(Money(100, "EUR")), _deal(Money(200, "USD")), _deal(None)]
    report = analytics.forecast(deals, SALES)
    assert report.totals_by_currency() == {"EUR": Money(10, "EUR"), "USD": Money(20, "USD")}
    with pytest.raises(MixedCurrencies) as caught:
        report.total()
    assert caught.value.currencies == ("EUR", "USD")
    converted = analytics.forecast(deals, SALES, rates={"usd": "0.5"}, currency="eur")
    assert converted.total() == Money(20, "EUR")
    assert converted.currencies() == ("EUR",)
    assert sum(line.open_deals for line in converted) == 3  # the deal without an amount counts
    with pytest.raises(MissingRate) as missing:
        analytics.forecast(deals, SALES, rates={"GBP": "1.1"}, currency="EUR")
    assert (missing.value.currency, missing.value.target) == ("USD", "EUR")


def test_sales_metrics_refuse_mixed_currencies_without_rates() -> None:
    def won(amount: Money):
        deal = _deal(amount)
        for _ in range(3):
            deal = SALES.fire(deal, "advance", at=T0).entity
        return SALES.win(deal, at=T0 + timedelta(days=3)).entity

    won = [won(Money(100, "EUR")), won(Money(100, "USD"))]
    span = {"start": T0, "end": T0 + timedelta(days=10)}
    with pytest.raises(MixedCurrencies):
        analytics.sales_metrics(won, SALES, **span)
    line = analytics.sales_metrics(won, SALES, rates={"USD": 2}, currency="EUR", **span).overall
    assert line.won_amount == Money(300, "EUR")
    assert line.average_deal == Money(150, "EUR")
    assert line.cycle == timedelta(days=3)
    assert line.velocity == Money(0, "EUR")  # nothing left open to sell
    created = analytics.sales_metrics(
        won, SALES, rates={"USD": 2}, currency="EUR", velocity="created", **span
    ).overall
    # 2 created x 150 x 100 % / 3 days
    assert created.velocity == Money(100, "EUR")


def test_bad_arguments_are_reported_together_with_paths() -> None:
    with pytest.raises(ValidationError) as caught:
        analytics.forecast([], SALES, by=("colour", "stage", "stage"))
    assert caught.value.paths == ("$.by[0]", "$.by[2]")
    with pytest.raises(ValidationError) as caught:
        analytics.forecast([], SALES, rates={"USD": 1.1, "GBP": "-1"})
    assert set(caught.value.paths) == {"$.currency", "$.rates.USD", "$.rates.GBP"}
    with pytest.raises(ValidationError) as caught:
        analytics.forecast([], SALES, currency="EURO")
    assert caught.value.paths == ("$.currency",)
    with pytest.raises(ValidationError):
        analytics.funnel([], SALES, period="fortnight")  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        analytics.funnel([], SALES, as_of=datetime(2026, 1, 1))  # naive
    with pytest.raises(ValidationError):
        analytics.sales_metrics([], SALES, start=T0, end=T0)


def test_rows_and_dicts_follow_the_columns() -> None:
    deals = [_deal(Money("12.50", "EUR")), _deal(Money(10, "EUR"))]
    for result in (
        analytics.forecast(deals, SALES, by=("stage", "owner")),
        analytics.funnel(deals, SALES, by="cohort"),
        analytics.time_in_stages(deals, SALES, as_of=T0 + timedelta(days=30)),
        analytics.stale_deals(deals, SALES, as_of=T0 + timedelta(days=30)),
        analytics.sales_metrics(deals, SALES, start=T0, end=T0 + timedelta(days=1)),
    ):
        rows = result.to_rows()
        assert rows
        assert all(len(row) == len(result.columns) for row in rows)
        assert result.to_dicts() == [dict(zip(result.columns, row, strict=True)) for row in rows]
    forecast = analytics.forecast(deals, SALES, by=("stage", "owner"))
    assert forecast.to_dicts() == [
        {
            "stage": "initial_contact",
            "owner": None,
            "currency": "EUR",
            "open_deals": 2,
            "open_amount": Decimal("22.50"),
            "weighted": Decimal("2.25"),
            "won_deals": 0,
            "booked": Decimal("0.00"),
            "lost_deals": 0,
        }
    ]


def test_deals_of_other_pipelines_and_later_deals_are_left_out() -> None:
    deal = _deal(Money(100, "EUR"))
    other = deal.evolve(pipeline="partners")
    assert analytics.funnel([deal, other], SALES).entered()["initial_contact"] == 1
    before = T0 - timedelta(seconds=1)
    assert analytics.forecast([deal], SALES, as_of=before).lines == ()
    assert analytics.funnel([deal], SALES, as_of=before).entered()["initial_contact"] == 0


def test_importing_analytics_loads_neither_matplotlib_nor_sqlalchemy() -> None:
    code = (
        "import sys, json, pipelinekit.analytics, pipelinekit.analytics.charts; "
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    loaded = set(json.loads(out.stdout))
    assert loaded.isdisjoint({"matplotlib", "sqlalchemy", "pandas", "hypothesis"})


def test_charts_without_matplotlib_name_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    from pipelinekit.analytics import charts

    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    with pytest.raises(charts.ChartDependencyError, match=r"pipelinekit\[report\]"):
        charts.funnel_chart(analytics.funnel([_deal(None)], SALES))


def test_charts_save_png_and_svg_and_embed_in_html(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    from pipelinekit.analytics import charts

    deals = [_deal(Money(100, "EUR")), _deal(Money(50, "EUR"), at=T0 + timedelta(days=40))]
    funnel = analytics.funnel(deals, SALES)
    png = charts.save(charts.funnel_chart(funnel), tmp_path / "f.png")
    assert png.read_bytes().startswith(b"\x89PNG")
    by_month = analytics.forecast(deals, SALES, by="period")
    svg = charts.save(charts.forecast_chart(by_month), tmp_path / "f.svg")
    assert "<svg" in svg.read_text()
    times = analytics.time_in_stages(deals, SALES, as_of=T0 + timedelta(days=50))
    assert charts.to_svg(charts.stage_time_chart(times)) == charts.to_svg(
        charts.stage_time_chart(times)
    )  # deterministic output
    page = charts.render_html(("Funnel <all>", funnel), by_month, times, title="Q1 & Q2")
    assert page.count("<svg") == 3
    assert "Funnel &lt;all&gt;" in page
    assert "<title>Q1 &amp; Q2</title>" in page
    with pytest.raises(ValueError, match="period"):
        charts.forecast_chart(analytics.forecast(deals, SALES))
    with pytest.raises(ValueError, match=r"\.png or \.svg"):
        charts.save(charts.funnel_chart(funnel), tmp_path / "f.pdf")


def test_reopened_deals_count_once_and_won_means_won_at_the_moment() -> None:
    deal = _deal(Money(100, "EUR"))
    for day in (1, 2, 3):
        deal = SALES.fire(deal, "advance", at=T0 + timedelta(days=day)).entity
    won = SALES.win(deal, at=T0 + timedelta(days=4)).entity
    reopened = SALES.reopen(won, to="qualification", at=T0 + timedelta(days=5)).entity
    lost = SALES.lose(reopened, reason="gone", at=T0 + timedelta(days=6)).entity
    again = SALES.reopen(lost, to="meeting", at=T0 + timedelta(days=7)).entity
    assert analytics.funnel([again], SALES).entered() == {
        "initial_contact": 1,
        "qualification": 1,
        "meeting": 1,
        "proposal": 1,
        "closed_won": 0,  # it was won once, but is open again
    }
    on_day_4 = analytics.funnel([again], SALES, as_of=T0 + timedelta(days=4))
    assert on_day_4.entered()["closed_won"] == 1
    step = analytics.funnel([again], SALES).steps[2]
    assert (step.stage, step.open, step.lost) == ("meeting", 0, 0)  # went further than meeting
    assert analytics.funnel([lost], SALES).steps[3].lost == 1  # lost after reaching the proposal


def test_bad_exchange_rates_are_one_validation_error_listing_every_problem() -> None:
    rates = {"USD": None, "GBP": [1], 1: "1.1", "CHF": True, "JPY": "-2"}
    with pytest.raises(ValidationError) as caught:
        analytics.forecast([], SALES, rates=rates, currency="EUR")  # type: ignore[dict-item]
    assert [p.path for p in caught.value.problems] == [
        "$.rates.USD",
        "$.rates.GBP",
        "$.rates[1]",
        "$.rates.CHF",
        "$.rates.JPY",
    ]
    with pytest.raises(ValidationError, match=r"\$\.rates: must be a mapping"):
        analytics.forecast([], SALES, rates=["USD"], currency="EUR")  # type: ignore[arg-type]


def test_analytics_errors_pickle_with_their_data() -> None:
    import pickle

    mixed = pickle.loads(pickle.dumps(MixedCurrencies(["USD", "EUR"], "won amount")))
    assert (mixed.currencies, mixed.what) == (("EUR", "USD"), "won amount")
    missing = pickle.loads(pickle.dumps(MissingRate("GBP", "EUR")))
    assert (missing.currency, missing.target) == ("GBP", "EUR")
    # reducers registered with copyreg for every exception (tblib's, which
    # dask.distributed installs) call __reduce__ itself, not __reduce_ex__
    for error in (MixedCurrencies(["USD", "EUR"], "won amount"), MissingRate("GBP", "EUR")):
        rebuild, args = error.__reduce__()[:2]
        assert vars(rebuild(*args)) == vars(error)
