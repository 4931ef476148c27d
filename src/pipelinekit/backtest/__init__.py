"""Backtesting: how well would a strategy have ranked last year's leads?

:func:`backtest` scores **point-in-time snapshots**: every lead open at the split
time ``t``, as it was at ``t`` (its status, conversion, engagement and stored
result from before ``t`` only).  A learning strategy, such as the predictive
one, is trained afresh (from its ``untrained()`` copy) on the deals closed by
``t`` and the leads disqualified by then (lost leads, as Odoo counts them).
A lead is a positive when it converted after ``t`` (or, with ``outcome="won"``,
when its deal was won).  Per strategy it reports ROC-AUC,
PR-AUC, the lift in the top decile, cumulative gains, the conversion rate per
band and, for probability-like scores (0-100), the Brier score and calibration
bins; side by side, with a winner per metric.

``mode="current"`` scores the leads as they are *now*, on a seeded random half:
the common mistake that lets fields set after conversion leak into the test
(a strategy reading ``status`` looks perfect there and ordinary on snapshots).

The metrics come from scikit-learn, in the ``backtest`` extra
(``pip install "pipelinekit[backtest]"``).
"""

from __future__ import annotations

import importlib
import itertools
import random
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, Literal

import attrs

from ..clock import ensure_aware
from ..domain.leads import Lead
from ..domain.opportunities import Opportunity
from ..errors import PipelinekitError, Problem, ValidationError
from ..qualification.base import Strategy

__all__ = [
    "BacktestDependencyError",
    "BacktestReport",
    "Metrics",
    "RollingReport",
    "backtest",
    "lead_as_of",
    "rolling_backtest",
]

_CONVERTED = "converted"
_DISQUALIFIED = "disqualified"


class BacktestDependencyError(PipelinekitError, ImportError):
    """Backtesting needs scikit-learn: ``pip install "pipelinekit[backtest]"``."""

    def __init__(self) -> None:
        super().__init__(
            "backtesting needs scikit-learn: install the backtest extra with "
            '`pip install "pipelinekit[backtest]"`'
        )


def lead_as_of(lead: Lead, at: datetime) -> Lead | None:
    """``lead`` as it stood at ``at``; ``None`` if it did not exist yet.

    Status and conversion come from the lead's history, engagement events and
    the stored qualification result are kept only when they happened by ``at``.
    Other fields are not versioned by pipelinekit and are taken as they are.
    """
    when = ensure_aware(at, "at")
    if lead.created_at > when:
        return None
    past = [change for change in lead.history if change.at <= when]
    if past:
        status = past[-1].to_stage
    elif lead.history:
        status = lead.history[0].from_stage or "new"
    else:
        status = lead.status
    result = lead.qualification
    if result is not None and result.as_of > when:
        result = None
    return attrs.evolve(
        lead,
        status=status,
        history=tuple(past),
        engagement=tuple(e for e in lead.engagement if e.at <= when),
        qualification=result,
        opportunity_id=lead.opportunity_id if status == _CONVERTED else None,
        updated_at=max(lead.created_at, min(lead.updated_at, when)),
    )


@attrs.frozen
class Metrics:
    """How one strategy ranked the snapshots.

    ``lift_top_decile`` is the conversion rate of the best-scored tenth over the
    base rate (1 is random); ``gains`` the share of all positives found in the
    best 10 %, 20 %, ... 100 %; ``by_band`` the conversion rate per band or grade
    (``(name, leads, rate)`` in band order); ``brier`` and ``calibration`` (pairs
    of mean predicted and observed rate) only for scores on a 0-100 scale.
    """

    strategy: str
    scored: int
    unscored: int
    roc_auc: float | None
    pr_auc: float | None
    lift_top_decile: float | None
    gains: tuple[float, ...]
    by_band: tuple[tuple[str, int, float], ...]
    brier: float | None
    calibration: tuple[tuple[float, float], ...]


@attrs.frozen
class BacktestReport:
    """The result of :func:`backtest`: metrics per strategy and the winner per metric."""

    mode: str
    split: datetime | None
    leads: int
    positives: int
    base_rate: float
    metrics: tuple[Metrics, ...]
    until: datetime | None = None

    def winners(self) -> dict[str, str]:
        """The best strategy per metric (lower is better for Brier); ties go to the first."""
        best: dict[str, str] = {}
        metrics = (
            ("roc_auc", False),
            ("pr_auc", False),
            ("lift_top_decile", False),
            ("brier", True),
        )
        for name, lower in metrics:
            rated = [
                (getattr(m, name), m.strategy) for m in self.metrics if getattr(m, name) is not None
            ]
            if rated:
                pick = min(rated, key=lambda r: r[0]) if lower else max(rated, key=lambda r: r[0])
                best[name] = pick[1]
        return best

    def html(self, *, title: str = "Backtest") -> str:
        """A standalone HTML page: the metrics side by side, cumulative gains (lift) and
        calibration charts as inline SVG, and the conversion per band (no script, no
        dependency)."""
        from .html import page

        split = "" if self.split is None else f" at {self.split.date().isoformat()}"
        return page(title, [(f"{self.mode}{split}", self)])

    def table(self) -> str:
        """The metrics side by side as plain text, with the base rate and the winners."""
        names = [m.strategy for m in self.metrics]
        width = max([22, *(len(n) + 2 for n in names)])
        head = f"{'metric':<18}" + "".join(f"{n:>{width}}" for n in names)
        rows = [head, "-" * len(head)]

        def line(label: str, values: Iterable[object]) -> None:
            rows.append(f"{label:<18}" + "".join(f"{_fmt(v):>{width}}" for v in values))

        line("scored", (m.scored for m in self.metrics))
        line("ROC-AUC", (m.roc_auc for m in self.metrics))
        line("PR-AUC", (m.pr_auc for m in self.metrics))
        line("lift top 10%", (m.lift_top_decile for m in self.metrics))
        line("gains at 20%", (m.gains[1] if len(m.gains) > 1 else None for m in self.metrics))
        line("Brier", (m.brier for m in self.metrics))
        winners = self.winners()
        rows.append("")
        split = "" if self.split is None else f" split {self.split.isoformat()}"
        rows.append(
            f"{self.mode}{split}: {self.leads} leads, {self.positives} positives, "
            f"base rate {self.base_rate:.2%}"
        )
        rows.extend(f"best {metric}: {name}" for metric, name in winners.items())
        return "\n".join(rows)


def _fmt(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def backtest(
    strategies: Sequence[Strategy],
    leads: Iterable[Lead],
    *,
    split: datetime | None = None,
    deals: Iterable[Opportunity] = (),
    outcome: Literal["converted", "won"] = "converted",
    mode: Literal["snapshot", "current"] = "snapshot",
    seed: int = 0,
    until: datetime | None = None,
) -> BacktestReport:
    """Score the leads with every strategy and judge the scores against what happened.

    ``split`` is required for ``mode="snapshot"``: the leads open at ``split``
    are scored as they were then, learning strategies are trained afresh on the
    deals closed by then, and a lead is positive when it converted afterwards (with
    ``outcome="won"``: when the deal it converted into was won).  ``until``
    ends the window: only a conversion (a deal's close) by then counts, as
    :func:`rolling_backtest` uses it.  Raises
    :class:`~pipelinekit.ValidationError` for bad arguments and
    :class:`BacktestDependencyError` without the ``backtest`` extra.
    """
    problems: list[Problem] = []
    if isinstance(strategies, str) or not isinstance(strategies, Sequence) or not strategies:
        problems.append(Problem("$.strategies", "must list at least one strategy"))
    elif not all(isinstance(s, Strategy) for s in strategies):
        problems.append(Problem("$.strategies", "every item must be a strategy"))
    elif len({s.name for s in strategies}) != len(strategies):
        problems.append(Problem("$.strategies", "strategies need distinct names"))
    if mode not in ("snapshot", "current"):
        problems.append(Problem("$.mode", f"must be 'snapshot' or 'current', got {mode!r}"))
    if outcome not in ("converted", "won"):
        problems.append(Problem("$.outcome", f"must be 'converted' or 'won', got {outcome!r}"))
    when: datetime | None = None
    if mode == "snapshot":
        if split is None:
            problems.append(Problem("$.split", "is required for point-in-time snapshots"))
        else:
            try:
                when = ensure_aware(split, "split")
            except PipelinekitError as error:
                problems.append(Problem("$.split", str(error)))
    end: datetime | None = None
    if until is not None:
        try:
            end = ensure_aware(until, "until")
        except PipelinekitError as error:
            problems.append(Problem("$.until", str(error)))
        else:
            if when is not None and end <= when:
                problems.append(Problem("$.until", "must come after the split"))
            if mode == "current":
                problems.append(Problem("$.until", "needs point-in-time snapshots"))
    if problems:
        raise ValidationError("backtest", problems)
    metrics = _metrics_module()
    all_deals = list(deals)
    won = {d.id for d in all_deals if d.outcome == "won" and _closed_by(d, end) is not None}
    cases: list[tuple[Lead, bool]] = []
    lost_leads: list[Lead] = []  # disqualified by the split: what a model learns as lost
    for lead in leads:
        later = lead if end is None else lead_as_of(lead, end)
        positive = later is not None and _positive(later, outcome, won)
        if when is None:
            cases.append((lead, positive))
            if lead.status == _DISQUALIFIED:
                lost_leads.append(lead)
            continue
        past = lead_as_of(lead, when)
        if past is not None and past.status == _DISQUALIFIED:
            lost_leads.append(past)
        if past is None or past.status in (_CONVERTED, _DISQUALIFIED):
            continue  # not yet there, or already decided at the split
        cases.append((past, positive))
    if mode == "current":
        rnd = random.Random(seed)
        cases = [case for case in cases if rnd.random() < 0.5]
    closed = [d for d in (_closed_by(d, when) for d in all_deals) if d is not None]
    as_of = when if when is not None else max((c[0].updated_at for c in cases), default=None)
    report_metrics = []
    for strategy in strategies:
        untrained = getattr(strategy, "untrained", None)
        if callable(untrained):
            # a learning strategy is trained afresh on what had closed by the split,
            # so nothing it learnt later leaks in and the caller's model is untouched
            strategy = untrained()
            strategy.learn([*closed, *lost_leads])
        report_metrics.append(_judge(strategy, cases, as_of, metrics))
    positives = sum(1 for _, p in cases if p)
    return BacktestReport(
        mode=mode,
        split=when,
        leads=len(cases),
        positives=positives,
        base_rate=positives / len(cases) if cases else 0.0,
        metrics=tuple(report_metrics),
        until=end,
    )


def _closed_by(deal: Opportunity, when: datetime | None) -> Opportunity | None:
    """The deal if it had closed by ``when`` (what a learner may see then), else ``None``."""
    if deal.outcome == "open" or deal.closed_at is None:
        return None
    return deal if when is None or deal.closed_at <= when else None


def _positive(lead: Lead, outcome: str, won: set[Any]) -> bool:
    if outcome == "won":
        return lead.opportunity_id is not None and lead.opportunity_id in won
    return lead.status == _CONVERTED or lead.opportunity_id is not None


def _metrics_module() -> Any:
    try:
        return importlib.import_module("sklearn.metrics")
    except ImportError as error:
        raise BacktestDependencyError from error


def _judge(
    strategy: Strategy, cases: list[tuple[Lead, bool]], as_of: datetime | None, sk: Any
) -> Metrics:
    if as_of is None or not cases:
        return Metrics(strategy.name, 0, 0, None, None, None, (), (), None, ())
    results = strategy.evaluate_many([lead for lead, _ in cases], as_of=as_of, explain=False)
    pairs = [
        (float(r.score), positive, r.band or r.grade, r)
        for r, (_, positive) in zip(results, cases, strict=True)
        if r.score is not None
    ]
    unscored = len(results) - len(pairs)
    if not pairs:
        return Metrics(strategy.name, 0, unscored, None, None, None, (), (), None, ())
    scores = [p[0] for p in pairs]
    labels = [1 if p[1] else 0 for p in pairs]
    both = 0 < sum(labels) < len(labels)
    roc = float(sk.roc_auc_score(labels, scores)) if both else None
    pr = float(sk.average_precision_score(labels, scores)) if both else None
    ranked = sorted(zip(scores, labels, strict=True), key=lambda p: -p[0])
    total_pos = sum(labels)
    base = total_pos / len(labels)
    gains: list[float] = []
    for tenth in range(1, 11):
        top = ranked[: max(1, round(len(ranked) * tenth / 10))]
        gains.append(sum(lbl for _, lbl in top) / total_pos if total_pos else 0.0)
    top = ranked[: max(1, round(len(ranked) / 10))]
    lift = (sum(lbl for _, lbl in top) / len(top)) / base if base else None
    bands: dict[str, list[int]] = {}
    for _score, label, band, _ in pairs:
        if band is None:
            continue
        if band not in bands:
            bands[band] = []
        bands[band].append(label)
    lows = {band: min(s for s, _l, b, _r in pairs if b == band) for band in bands}
    by_band = tuple(
        (band, len(bands[band]), sum(bands[band]) / len(bands[band]))
        for band in sorted(bands, key=lambda b: lows[b])
    )
    brier: float | None = None
    calibration: tuple[tuple[float, float], ...] = ()
    probability = all(r.scale_min == 0 and r.scale_max == 100 for *_x, r in pairs)
    if probability and both:
        predicted = [s / 100 for s in scores]
        brier = float(sk.brier_score_loss(labels, predicted))
        calibration = _calibration(predicted, labels)
    return Metrics(
        strategy.name,
        len(pairs),
        unscored,
        roc,
        pr,
        lift,
        tuple(gains),
        by_band,
        brier,
        calibration,
    )


def _calibration(
    predicted: Sequence[float], labels: Sequence[int], bins: int = 10
) -> tuple[tuple[float, float], ...]:
    """(mean predicted, observed rate) per non-empty bin of equal width, as sklearn bins them."""
    calibration_curve = importlib.import_module("sklearn.calibration").calibration_curve
    observed, mean = calibration_curve(labels, predicted, n_bins=bins, strategy="uniform")
    return tuple((float(p), float(o)) for p, o in zip(mean, observed, strict=True))


@attrs.frozen
class RollingReport:
    """The result of :func:`rolling_backtest`: one :class:`BacktestReport` per window."""

    windows: tuple[BacktestReport, ...]

    def mean(self, strategy: str, metric: str) -> float | None:
        """The mean of one metric of ``strategy`` over the windows that have it."""
        values = [
            getattr(m, metric)
            for window in self.windows
            for m in window.metrics
            if m.strategy == strategy and getattr(m, metric) is not None
        ]
        return sum(values) / len(values) if values else None

    def table(self) -> str:
        """Per window: leads, positives and each strategy's ROC-AUC and lift; then the means."""
        names = [m.strategy for m in self.windows[0].metrics] if self.windows else []
        width = max([16, *(len(n) + 2 for n in names)])
        head = f"{'window':<26}{'leads':>8}{'pos':>6}" + "".join(
            f"{n + ' AUC':>{width}}{'lift':>8}" for n in names
        )
        rows = [head, "-" * len(head)]
        for window in self.windows:
            start = window.split.date().isoformat() if window.split else "-"
            end = window.until.date().isoformat() if window.until else "now"
            cells = "".join(
                f"{_fmt(m.roc_auc):>{width}}{_fmt(m.lift_top_decile):>8}" for m in window.metrics
            )
            rows.append(f"{start + ' -> ' + end:<26}{window.leads:>8}{window.positives:>6}{cells}")
        means = "".join(
            f"{_fmt(self.mean(n, 'roc_auc')):>{width}}{_fmt(self.mean(n, 'lift_top_decile')):>8}"
            for n in names
        )
        rows.append(f"{'mean':<40}{means}")
        return "\n".join(rows)

    def html(self, *, title: str = "Rolling backtest") -> str:
        """A standalone HTML page: the windows' table and each window's charts (inline SVG)."""
        from .html import page

        return page(title, [(_window_title(w), w) for w in self.windows])


def _window_title(window: BacktestReport) -> str:
    start = window.split.date().isoformat() if window.split else "-"
    end = window.until.date().isoformat() if window.until else "now"
    return f"{start} to {end}"


def rolling_backtest(
    strategies: Sequence[Strategy],
    leads: Iterable[Lead],
    *,
    splits: Sequence[datetime],
    deals: Iterable[Opportunity] = (),
    outcome: Literal["converted", "won"] = "converted",
) -> RollingReport:
    """Walk forward through time: one point-in-time backtest per window between ``splits``.

    Window *i* scores the leads open at ``splits[i]`` as they were then, trains
    learning strategies on the deals closed by then, and counts as positive a
    conversion (a win) by ``splits[i + 1]``; the last window runs to now.  How
    steady a strategy's ranking stays from one period to the next is what one
    split cannot show.  Raises :class:`~pipelinekit.ValidationError` unless
    ``splits`` are timezone-aware and strictly increasing.
    """
    problems: list[Problem] = []
    times: list[datetime] = []
    if isinstance(splits, str | bytes) or not isinstance(splits, Sequence) or not splits:
        problems.append(Problem("$.splits", "must list at least one split time"))
    else:
        for i, split in enumerate(splits):
            try:
                times.append(ensure_aware(split, "split"))
            except PipelinekitError as error:
                problems.append(Problem(f"$.splits[{i}]", str(error)))
        if not problems and any(b <= a for a, b in itertools.pairwise(times)):
            problems.append(Problem("$.splits", "must be strictly increasing"))
    if problems:
        raise ValidationError("rolling_backtest", problems)
    all_leads, all_deals = list(leads), list(deals)
    ends: list[datetime | None] = [*times[1:], None]
    return RollingReport(
        tuple(
            backtest(
                strategies, all_leads, split=start, until=end, deals=all_deals, outcome=outcome
            )
            for start, end in zip(times, ends, strict=True)
        )
    )
