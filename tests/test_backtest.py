"""Backtesting: point-in-time snapshots, a time split, and metrics checked by hand."""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

import pipelinekit as pk
from pipelinekit.backtest import BacktestDependencyError, backtest, lead_as_of
from pipelinekit.domain.history import StageChange
from pipelinekit.domain.results import QualificationResult
from pipelinekit.qualification import StrategyBase, predictive

T0 = datetime(2026, 1, 1, tzinfo=UTC)
SPLIT = datetime(2026, 3, 1, tzinfo=UTC)


def make_lead(country: str, *, converted_at: datetime | None, created: datetime = T0) -> pk.Lead:
    lead = pk.Lead.create(company=pk.Company("Acme", country=country), at=created)
    if converted_at is None:
        return lead
    change = StageChange("new", "converted", "convert", converted_at)
    return lead.evolve(status="converted", history=(change,), updated_at=converted_at)


class ByStatus(StrategyBase):
    """Reads a field set only at conversion: the textbook leak."""

    name = "status"

    def config(self) -> dict[str, Any]:
        return {"kind": "status"}

    def _evaluate(self, subject: Any, as_of: datetime, explain: bool) -> QualificationResult:
        score = Decimal(100 if subject.status == "converted" else 0)
        return QualificationResult(
            self.name, self.version, self.config_hash, as_of, score, 0, 100, "review", 1
        )


class ByCountry(StrategyBase):
    """Belgian leads first: a fair, pre-contact signal."""

    name = "country"

    def config(self) -> dict[str, Any]:
        return {"kind": "country"}

    def _evaluate(self, subject: Any, as_of: datetime, explain: bool) -> QualificationResult:
        score = Decimal(90 if subject.company.country == "BE" else 10)
        return QualificationResult(
            self.name, self.version, self.config_hash, as_of, score, 0, 100, "review", 1
        )


def history() -> list[pk.Lead]:
    later = SPLIT + timedelta(days=10)
    leads = [make_lead("BE", converted_at=later) for _ in range(6)]
    leads += [make_lead("BE", converted_at=None) for _ in range(4)]
    leads += [make_lead("FR", converted_at=later) for _ in range(2)]
    leads += [make_lead("FR", converted_at=None) for _ in range(28)]
    leads.append(make_lead("BE", converted_at=SPLIT - timedelta(days=1)))  # decided before
    leads.append(make_lead("BE", converted_at=None, created=SPLIT + timedelta(days=1)))  # too new
    return leads


class TestSnapshots:
    def test_a_lead_as_it_stood_before_its_conversion(self) -> None:
        lead = make_lead("BE", converted_at=SPLIT + timedelta(days=3))
        past = lead_as_of(lead, SPLIT)
        assert past is not None
        assert (past.status, past.history, past.opportunity_id) == ("new", (), None)
        assert lead_as_of(lead, T0 - timedelta(days=1)) is None

    def test_only_open_leads_that_existed_at_the_split_are_scored(self) -> None:
        report = backtest([ByCountry()], history(), split=SPLIT)
        assert (report.leads, report.positives) == (40, 8)
        assert report.base_rate == pytest.approx(0.2)


class TestMetrics:
    def test_hand_computed_ranking_metrics(self) -> None:
        (m,) = backtest([ByCountry()], history(), split=SPLIT).metrics
        # 10 BE (6 positive) score 90, 30 FR (2 positive) score 10.
        # ROC-AUC: a positive outranks a negative in 6*28 pairs, ties (score equal) count
        # half: (6*28 + 0.5*(6*4 + 2*28)) / (8*32) = 208 / 256
        assert m.roc_auc == pytest.approx(208 / 256)
        # the top tenth (4 leads) are BE leads: 6 of 10 BE leads convert
        # (equal scores keep the input order: the 6 converting BE leads come first)
        assert m.lift_top_decile == pytest.approx((4 / 4) / 0.2)
        assert m.gains[-1] == pytest.approx(1.0)
        assert m.brier == pytest.approx((6 * 0.01 + 4 * 0.81 + 2 * 0.81 + 28 * 0.01) / 40)

    def test_a_leaking_field_is_perfect_on_current_data_and_useless_on_snapshots(self) -> None:
        leads = history()
        current = backtest([ByStatus()], leads, mode="current", seed=3)
        snap = backtest([ByStatus()], leads, split=SPLIT)
        assert current.metrics[0].roc_auc == 1.0
        assert snap.metrics[0].roc_auc == 0.5  # at the split, every open lead looks the same

    def test_side_by_side_with_a_winner_per_metric(self) -> None:
        report = backtest([ByStatus(), ByCountry()], history(), split=SPLIT)
        assert report.winners()["roc_auc"] == "country"
        text = report.table()
        assert "ROC-AUC" in text
        assert "best roc_auc: country" in text


class TestLearning:
    def _deal(self, country: str, won: bool, closed: datetime) -> pk.Opportunity:
        deal = pk.Opportunity.create(
            name="d", pipeline="sales", stage="new", company=pk.Company("A", country=country),
            at=T0,
        )  # fmt: skip
        if won:
            return deal.evolve(outcome="won", probability=100, closed_at=closed)
        return deal.evolve(outcome="lost", lost_reason="price", probability=0, closed_at=closed)

    def test_the_model_learns_only_what_had_closed_by_the_split(self) -> None:
        model = predictive(stages=["new"], fields=["company.country"])
        before = [self._deal("BE", True, T0), self._deal("FR", False, T0)]
        after = [self._deal("FR", True, SPLIT + timedelta(days=1)) for _ in range(20)]
        one = backtest([model], history(), split=SPLIT, deals=before)
        two = backtest([model], history(), split=SPLIT, deals=before + after)
        assert one.metrics == two.metrics
        assert len(model.table) == 0  # the caller's model was not trained

    def test_predictive_against_a_rule_on_the_same_snapshots(self) -> None:
        model = predictive(stages=["new"], fields=["company.country"])
        deals = [self._deal("BE", True, T0)] * 6 + [self._deal("FR", False, T0)] * 6
        report = backtest([model, ByCountry()], history(), split=SPLIT, deals=deals)
        learnt, rule = report.metrics
        assert learnt.roc_auc == pytest.approx(rule.roc_auc)  # the same ranking, learnt
        assert learnt.brier is not None


class TestRefusals:
    def test_every_problem_at_once(self) -> None:
        with pytest.raises(pk.ValidationError) as info:
            backtest([], [], mode="sideways", outcome="maybe")  # type: ignore[arg-type]
        assert set(info.value.paths) == {"$.strategies", "$.mode", "$.outcome"}

    def test_a_snapshot_needs_a_split(self) -> None:
        with pytest.raises(pk.ValidationError) as info:
            backtest([ByCountry()], [])
        assert info.value.paths == ("$.split",)

    def test_without_scikit_learn_the_extra_is_named(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setitem(sys.modules, "sklearn.metrics", None)
        with pytest.raises(BacktestDependencyError, match=r"pipelinekit\[backtest\]"):
            backtest([ByCountry()], history(), split=SPLIT)


class TestRollingSplits:
    SECOND = SPLIT + timedelta(days=30)

    def leads(self) -> list[pk.Lead]:
        first = SPLIT + timedelta(days=10)  # converted in the first window
        later = self.SECOND + timedelta(days=10)  # ... in the second
        leads = [make_lead("BE", converted_at=first) for _ in range(3)]
        leads += [make_lead("FR", converted_at=later) for _ in range(3)]
        leads += [make_lead("BE", converted_at=None) for _ in range(2)]
        leads += [make_lead("FR", converted_at=None) for _ in range(12)]
        return leads

    def test_each_window_counts_only_its_own_conversions(self) -> None:
        from pipelinekit.backtest import rolling_backtest

        report = rolling_backtest([ByCountry()], self.leads(), splits=[SPLIT, self.SECOND])
        first, second = report.windows
        # first window: all 20 leads open at the split, the 3 Belgian ones convert by SECOND
        assert (first.split, first.until, first.leads, first.positives) == (
            SPLIT,
            self.SECOND,
            20,
            3,
        )
        # 3 positives (BE, 90) against 17 negatives: 15 French (10) below, 2 Belgian tied
        assert first.metrics[0].roc_auc == pytest.approx((3 * 15 + 0.5 * 3 * 2) / (3 * 17))
        # second window: the 3 converted leads are decided; the 3 French ones convert now
        assert (second.leads, second.positives, second.until) == (17, 3, None)
        # 3 French positives (10): below the 2 Belgian negatives, tied with 12 French
        assert second.metrics[0].roc_auc == pytest.approx(0.5 * 3 * 12 / (3 * 14))
        mean = report.mean("country", "roc_auc")
        assert mean == pytest.approx((48 / 51 + 18 / 42) / 2)
        text = report.table()
        assert "2026-03-01 -> 2026-03-31" in text
        assert "mean" in text

    def test_a_window_end_bounds_the_positives_of_a_single_backtest(self) -> None:
        bounded = backtest([ByCountry()], self.leads(), split=SPLIT, until=self.SECOND)
        open_ended = backtest([ByCountry()], self.leads(), split=SPLIT)
        assert (bounded.positives, open_ended.positives) == (3, 6)

    def test_splits_must_be_aware_and_increasing(self) -> None:
        from pipelinekit.backtest import rolling_backtest

        with pytest.raises(pk.ValidationError) as info:
            rolling_backtest([ByCountry()], [], splits=[self.SECOND, SPLIT])
        assert info.value.paths == ("$.splits",)
        with pytest.raises(pk.ValidationError) as info:
            rolling_backtest([ByCountry()], [], splits=[datetime(2026, 1, 1)])
        assert info.value.paths == ("$.splits[0]",)
        with pytest.raises(pk.ValidationError) as info:
            backtest([ByCountry()], [], split=self.SECOND, until=SPLIT)
        assert info.value.paths == ("$.until",)


class TestHtml:
    def test_the_page_has_the_metrics_and_both_charts_and_no_script(self) -> None:
        report = backtest([ByCountry(), ByStatus()], history(), split=SPLIT)
        page = report.html(title="Q1 <leads>")
        assert page.startswith("<!DOCTYPE html>")
        assert "<script" not in page
        assert "Q1 &lt;leads&gt;" in page  # text is escaped
        assert page.count("<svg") == 2  # cumulative gains and calibration
        for metric in ("ROC-AUC", "PR-AUC", "lift top 10%", "Brier"):
            assert metric in page
        # every strategy draws its gains curve: one polyline each, plus the axes and diagonal
        assert page.count("<title>country</title>") == 1
        assert page.count("<title>status</title>") == 1
        lift = report.metrics[0].lift_top_decile
        assert f'<td class="best">{lift:.3f}</td>' in page  # the winner is marked

    def test_calibration_points_sit_where_the_bins_say(self) -> None:
        report = backtest([ByCountry()], history(), split=SPLIT)
        page = report.html()
        for predicted, observed in report.metrics[0].calibration:
            assert f"predicted {predicted:.1%}, observed {observed:.1%}" in page

    def test_a_rolling_report_has_one_section_per_window(self) -> None:
        from pipelinekit.backtest import rolling_backtest

        second = SPLIT + timedelta(days=5)
        report = rolling_backtest([ByCountry()], history(), splits=[SPLIT, second])
        page = report.html()
        assert page.count("<h2>") == 2
        assert "2026-03-01 to 2026-03-06" in page
