"""Reports as of a moment read every history exactly: lead entries, pipeline changes, probabilities.

Each case runs on the entities and through SQLite (the SQL pushdown), which must agree.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from pipelinekit import (
    Company,
    Lead,
    Money,
    Opportunity,
    Probability,
    ProbabilityChange,
    StageChange,
    ValidationError,
    analytics,
)
from pipelinekit.pipelines import LEAD_LIFECYCLE, compile_pipeline
from pipelinekit.storage.sql import sqlite_storage

from ._data import PARTNERS, PIPELINES, SALES, T0

LIFECYCLE = compile_pipeline(LEAD_LIFECYCLE)


def day(n: float) -> datetime:
    return T0 + timedelta(days=n)


@pytest.fixture
def both(tmp_path: Path) -> Iterator[Callable[..., list[Any]]]:
    """``both(leads, deals, report)``: the report over the entities, then through SQLite."""
    opened = []

    def run(leads: list[Lead], deals: list[Opportunity], report: Callable[[Any], Any]) -> list[Any]:
        storage = sqlite_storage(tmp_path / f"history-{len(opened)}.db")
        opened.append(storage)
        with storage.unit_of_work() as uow:
            uow.leads.save_all(leads)
            uow.opportunities.save_all(deals)
            uow.commit()
        with storage.unit_of_work(read_only=True) as uow:
            stored = report(uow)
        return [report((leads, deals)), stored]

    yield run
    for storage in opened:
        storage.close()


def _leads(source: Any) -> Any:
    return source[0] if isinstance(source, tuple) else source


def _deals(source: Any) -> Any:
    return source[1] if isinstance(source, tuple) else source


# -- leads: counted from their creation ------------------------------------------------------------


def test_a_created_lead_has_its_entry_and_counts_in_new_until_it_moves(both) -> None:
    waiting = Lead.create(company=Company("Waiting"), at=day(0))
    assert waiting.history == (StageChange(None, "new", "create", day(0)),)
    dropped = LIFECYCLE.fire(
        Lead.create(company=Company("Dropped"), at=day(0)), "disqualify", at=day(2)
    ).entity
    contacted = LIFECYCLE.fire(
        Lead.create(company=Company("Called"), at=day(1)), "contact", at=day(3)
    ).entity
    leads = [waiting, dropped, contacted]

    for report in both(leads, [], lambda s: analytics.lead_funnel(_leads(s), as_of=day(2.5))):
        entered = report.entered()
        assert entered["new"] == 3  # the lead disqualified straight from new stays counted there
        assert entered["contacted"] == 0  # nobody had been contacted yet
        (new_step,) = [s for s in report.steps if s.stage == "new"]
        assert (new_step.open, new_step.lost) == (2, 1)
    for report in both(leads, [], lambda s: analytics.lead_funnel(_leads(s), as_of=day(0.5))):
        assert report.entered()["new"] == 2  # existed but had not moved: counted in new


def test_a_lead_saved_before_entries_were_recorded_counts_from_its_creation(both) -> None:
    # older data: the history starts with the first move, not with the entry into new
    old = Lead(
        id="old-lead",
        created_at=day(0),
        updated_at=day(5),
        company=Company("Old"),
        status="contacted",
        history=(StageChange("new", "contacted", "contact", day(5)),),
    )

    def reports(source: Any) -> tuple[Any, Any]:
        leads = _leads(source)
        funnel = analytics.lead_funnel(leads, as_of=day(3))
        if isinstance(source, tuple):
            return funnel, analytics.lead_conversion(leads, [], PIPELINES, as_of=day(3))
        return funnel, analytics.lead_conversion(source, PIPELINES, as_of=day(3))

    for funnel, conversion in both([old], [], reports):
        assert funnel.entered()["new"] == 1 == conversion.lines[0].leads
        assert funnel.entered()["contacted"] == 0


# -- a deal moved to another pipeline --------------------------------------------------------------


def _moved_deal() -> Opportunity:
    deal = SALES.open(name="Moved", amount=Money(10_000, "EUR"), owner="ana", at=day(0)).entity
    deal = SALES.fire(deal, "advance", at=day(1)).entity
    deal = SALES.fire(deal, "advance", at=day(2)).entity  # meeting from day 2
    return SALES.change_pipeline(deal, PARTNERS, mapping={"meeting": "pilot"}, at=day(30)).entity


def test_reports_before_a_pipeline_change_see_the_deal_where_it_was(both) -> None:
    deal = _moved_deal()
    assert deal.pipeline == "partners"
    moved = deal.history[-1]
    assert (moved.from_pipeline, moved.from_stage, moved.pipeline, moved.to_stage) == (
        "sales",
        "meeting",
        "partners",
        "pilot",
    )
    by = ("pipeline", "category", "stage")
    for before in both(
        [], [deal], lambda s: analytics.forecast(_deals(s), PIPELINES, as_of=day(25), by=by)
    ):
        (line,) = before.lines
        assert line.key == ("sales", "best_case", "meeting")
        assert line.weighted == Decimal("4000.00")
    for after in both(
        [], [deal], lambda s: analytics.forecast(_deals(s), PIPELINES, as_of=day(31), by=by)
    ):
        (line,) = after.lines
        assert line.key == ("partners", "commit", "pilot")
        assert line.weighted == Decimal("5000.00")
    for funnel in both([], [deal], lambda s: analytics.funnel(_deals(s), PIPELINES, as_of=day(25))):
        assert funnel.entered("sales")["meeting"] == 1
        assert funnel.entered("partners")["intro"] == 0
    for stale in both(
        [], [deal], lambda s: analytics.stale_deals(_deals(s), PIPELINES, as_of=day(25))
    ):
        (late,) = stale.deals
        assert (late.pipeline, late.stage, late.in_stage) == (
            "sales",
            "meeting",
            timedelta(days=23),
        )
    for times in both(
        [], [deal], lambda s: analytics.time_in_stages(_deals(s), PIPELINES, as_of=day(31))
    ):
        spent = {(t.pipeline, t.stage): t.mean for t in times.lines if t.visits}
        assert spent[("sales", "meeting")] == timedelta(days=28)
        assert spent[("partners", "pilot")] == timedelta(days=1)
    for metrics in both(
        [],
        [deal],
        lambda s: analytics.sales_metrics(
            _deals(s), PIPELINES, start=day(0), end=day(25), by="pipeline"
        ),
    ):
        assert [line.segment for line in metrics.lines] == [("sales",)]


# -- probabilities in force at the moment ----------------------------------------------------------


def test_a_past_forecast_uses_the_manual_probability_in_force_then(both) -> None:
    deal = SALES.open(name="Manual", amount=Money(1000, "EUR"), at=day(0)).entity
    deal = SALES.set_probability(
        deal, manual=Probability.percent(70), actor="ana", at=day(1)
    ).entity
    deal = SALES.fire(deal, "advance", at=day(2)).entity  # the manual value stays in force
    deal = SALES.set_probability(deal, clear_manual=True, actor="bo", at=day(3)).entity
    deal = SALES.fire(deal, "advance", at=day(4)).entity
    assert deal.probability_history == (
        ProbabilityChange("manual", None, Decimal(70), day(1), actor="ana"),
        ProbabilityChange("manual", Decimal(70), None, day(3), actor="bo"),
    )
    expected = {0.5: "100.0", 1.5: "700", 2.5: "700", 3.5: "200", 4.5: "400"}
    for moment, weighted in expected.items():
        for report in both(
            [],
            [deal],
            lambda s, m=moment: analytics.forecast(_deals(s), SALES, as_of=day(m), by=()),
        ):
            assert report.lines[0].weighted == Decimal(weighted), moment


def test_an_unchanged_layer_is_not_recorded() -> None:
    deal = SALES.open(name="Same", amount=Money(1000, "EUR"), at=day(0)).entity
    deal = SALES.set_probability(deal, manual=Probability.percent(50), at=day(1)).entity
    again = SALES.set_probability(  # the same value in another unit is no change
        deal, manual=Probability.fraction("0.5"), automated=Probability.percent(30), at=day(2)
    ).entity
    assert [c.layer for c in again.probability_history] == ["manual", "automated"]


def test_the_history_keeps_the_canonical_percent_whatever_the_unit_given() -> None:
    deal = SALES.open(name="Units", amount=Money(1000, "EUR"), at=day(0)).entity
    deal = SALES.set_probability(deal, automated=Probability.fraction("0.35"), at=day(1)).entity
    deal = SALES.set_probability(deal, automated=Probability.percent("12.5"), at=day(2)).entity
    assert deal.probability_history == (
        ProbabilityChange("automated", None, Decimal(35), day(1)),
        ProbabilityChange("automated", Decimal(35), Decimal("12.5"), day(2)),
    )
    assert deal.automated_probability == Decimal("12.5")
    weighted = analytics.forecast([deal], SALES, as_of=day(1.5), by=()).lines[0].weighted
    assert weighted == Decimal(350)


# -- standard velocity -----------------------------------------------------------------------------


def test_velocity_counts_the_open_deals_not_the_new_ones(both) -> None:
    won = SALES.open(name="Won", amount=Money(9_000, "EUR"), at=day(0)).entity
    won = SALES.fire(SALES.fire(won, "advance", at=day(1)).entity, "advance", at=day(2)).entity
    won = SALES.fire(won, "advance", at=day(3)).entity
    won = SALES.win(won, at=day(10)).entity
    lost = SALES.lose(
        SALES.open(name="Lost", at=day(1)).entity, reason="no budget", at=day(5)
    ).entity
    waiting = [SALES.open(name=f"Open {n}", at=day(n)).entity for n in range(4)]
    deals = [won, lost, *waiting]

    def metrics(source: Any, start: float, end: float, **options: Any) -> Any:
        report = analytics.sales_metrics(
            _deals(source), SALES, start=day(start), end=day(end), **options
        )
        return report.overall

    # 4 open x 9,000 x 1/2 / 10 days, whatever the length of the period
    for line in both([], deals, lambda s: metrics(s, 0, 20)):
        assert line.velocity == Money(1_800, "EUR")
    for line in both([], deals, lambda s: metrics(s, -100, 20)):
        assert line.velocity == Money(1_800, "EUR")
    # a period with a win and a loss but no new deal still has a velocity
    for line in both([], deals, lambda s: metrics(s, 4.5, 20)):
        assert (line.created, line.won, line.lost) == (0, 1, 1)
        assert line.velocity == Money(1_800, "EUR")
    # the earlier definition by name: the 6 deals created in the period
    for line in both([], deals, lambda s: metrics(s, 0, 20, velocity="created")):
        assert line.velocity == Money(2_700, "EUR")
    with pytest.raises(ValidationError, match=r"\$\.velocity: must be one of standard, created"):
        analytics.sales_metrics(deals, SALES, start=day(0), end=day(1), velocity="fast")


# -- periods in a time zone ------------------------------------------------------------------------


def test_periods_are_utc_dates_unless_a_time_zone_is_given(both) -> None:
    new_york = ZoneInfo("America/New_York")
    evening = datetime(2026, 1, 31, 20, 0, tzinfo=new_york)  # 01:00 UTC on 1 February
    deal = SALES.open(name="Late", amount=Money(500, "EUR"), at=evening - timedelta(days=3)).entity
    for _ in range(3):
        deal = SALES.fire(deal, "advance", at=evening - timedelta(days=2)).entity
    deal = SALES.win(deal, at=evening).entity
    lead = Lead.create(company=Company("Late"), at=evening)

    def reports(source: Any, tz: Any) -> tuple[Any, ...]:
        deals, leads = _deals(source), _leads(source)
        forecast = analytics.forecast(deals, SALES, by="period", tz=tz)
        cohorts = analytics.lead_funnel(leads, by="cohort", tz=tz)
        return {line.key for line in forecast.lines}, {s.segment for s in cohorts.steps}

    for forecast, cohorts in both([lead], [deal], lambda s: reports(s, None)):
        assert (forecast, cohorts) == ({("2026-02",)}, {("2026-02",)})
    for tz in ("America/New_York", new_york):
        for forecast, cohorts in both([lead], [deal], lambda s, z=tz: reports(s, z)):
            assert (forecast, cohorts) == ({("2026-01",)}, {("2026-01",)})
    with pytest.raises(ValidationError, match=r"\$\.tz: unknown time zone 'Mars/Base'"):
        analytics.forecast([deal], SALES, by="period", tz="Mars/Base")
