"""Analytics over a unit of work equals analytics over the entities, whoever computes it.

The shipped :class:`AnalyticsContract` runs against pipelinekit's own adapters in
tests/storage/test_contracts.py (the SQL ones push the aggregation down); here it
runs against a third-party-style adapter that does not implement
:class:`AnalyticsQueries` (read entity by entity), and against deliberately broken
pushdowns it must catch.
"""

from __future__ import annotations

import itertools
import tempfile
import warnings
from collections.abc import Callable, Iterable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, Phase, settings

from pipelinekit import ValidationError, analytics
from pipelinekit.analytics.ports import AnalyticsQueries, AnalyticsSource, StageKind
from pipelinekit.storage import Storage, UnitOfWork, memory_storage
from pipelinekit.storage.sql import analytics as sql_analytics
from pipelinekit.storage.sql import sqlite_storage
from pipelinekit.testing.contracts import AnalyticsContract
from pipelinekit.testing.contracts.samples import lead, opportunity

from ._data import PIPELINES, T0

_names = itertools.count()
LATER = T0 + timedelta(days=90)


def _sqlite(directory: Path | None) -> Storage:
    folder = directory or Path(tempfile.mkdtemp())
    return sqlite_storage(folder / f"analytics-{next(_names)}.db")


class _WrappedUnitOfWork(UnitOfWork):
    """A third party's unit of work over the in-memory adapter: no AnalyticsQueries."""

    def __init__(self, inner: UnitOfWork, *, read_only: bool) -> None:
        self._inner = inner
        self.read_only = read_only

    def _begin(self) -> None:
        self._inner.__enter__()
        self.leads = self._inner.leads
        self.prospects = self._inner.prospects
        self.opportunities = self._inner.opportunities
        self.events = self._inner.events
        self.results = self._inner.results

    def _commit(self) -> None:
        self._inner.commit()

    def _rollback(self) -> None:
        self._inner.rollback()

    def _end(self) -> None:
        self._inner.__exit__(None, None, None)


class ThirdPartyStorage(Storage):
    """A storage adapter written outside pipelinekit, wrapping the in-memory one."""

    def __init__(self) -> None:
        self._inner = memory_storage()

    def unit_of_work(self, *, read_only: bool = False) -> UnitOfWork:
        return _WrappedUnitOfWork(
            self._inner.unit_of_work(read_only=read_only), read_only=read_only
        )


class TestThirdPartyAnalytics(AnalyticsContract):
    def make_storage(self) -> Storage:
        return ThirdPartyStorage()


def _reads(uow: UnitOfWork) -> list[str]:
    """Record every ``uow.opportunities.iterate()`` call."""
    read: list[str] = []
    real = uow.opportunities.iterate

    def tracked(*args: Any, **kwargs: Any) -> Any:
        read.append("iterate")
        return real(*args, **kwargs)

    uow.opportunities.iterate = tracked  # type: ignore[method-assign]
    return read


def test_sql_pushes_down_and_a_storage_without_the_capability_is_read(tmp_path: Path) -> None:
    deals = [opportunity(n) for n in range(3)]
    for storage, pushes in ((_sqlite(tmp_path), True), (ThirdPartyStorage(), False)):
        with storage.unit_of_work() as uow:
            uow.opportunities.save_all(deals)
            uow.commit()
        with storage.unit_of_work(read_only=True) as uow:
            assert isinstance(uow, AnalyticsSource)
            assert isinstance(uow, AnalyticsQueries) is pushes
            read = _reads(uow)
            report = analytics.forecast(uow, PIPELINES)
            assert report == analytics.forecast(deals, PIPELINES)
            assert read == ([] if pushes else ["iterate"])
        storage.close()


def test_a_query_may_decline_and_the_report_is_computed_in_memory(tmp_path: Path) -> None:
    storage = _sqlite(tmp_path)
    deals = [opportunity(n) for n in range(4)]
    with storage.unit_of_work() as uow:
        uow.opportunities.save_all(deals)
        uow.commit()
    with storage.unit_of_work(read_only=True) as uow:
        declining = _Mutant(uow, "stale_deal_rows", lambda rows: None)
        assert analytics.stale_deals(declining, PIPELINES, as_of=T0) == analytics.stale_deals(
            deals, PIPELINES, as_of=T0
        )
        assert declining.calls == ["stale_deal_rows"]
    storage.close()


def test_sources_are_checked() -> None:
    storage = memory_storage()
    with pytest.raises(ValidationError, match=r"\$\.opportunities: must be the opportunities"):
        analytics.funnel(storage, PIPELINES)  # type: ignore[arg-type]
    with storage.unit_of_work(read_only=True) as uow:
        with pytest.raises(ValidationError, match="brings its own leads"):
            analytics.funnel(uow, PIPELINES, leads=[])
        with pytest.raises(ValidationError, match="brings its own opportunities"):
            analytics.lead_conversion(uow, [], PIPELINES)  # type: ignore[call-overload]
        assert analytics.lead_conversion(uow, PIPELINES) == analytics.lead_conversion(
            [], [], PIPELINES
        )
    with pytest.raises(ValidationError, match=r"\$\.pipelines"):
        analytics.lead_conversion([], [])  # type: ignore[call-overload]


_REPORTS: list[tuple[str, Callable[[Any], object]]] = [
    ("opportunities", lambda items: analytics.forecast(items, PIPELINES)),
    ("opportunities", lambda items: analytics.funnel(items, PIPELINES)),
    ("opportunities", lambda items: analytics.time_in_stages(items, PIPELINES, as_of=T0)),
    ("opportunities", lambda items: analytics.stale_deals(items, PIPELINES, as_of=T0)),
    (
        "opportunities",
        lambda items: analytics.sales_metrics(items, PIPELINES, start=T0, end=LATER),
    ),
    ("leads", lambda items: analytics.funnel([], PIPELINES, leads=items, by="source")),
    ("leads", lambda items: analytics.lead_funnel(items)),
    ("leads", lambda items: analytics.lead_conversion(items, [], PIPELINES)),
    ("opportunities", lambda items: analytics.lead_conversion([], items, PIPELINES)),
]


@pytest.mark.parametrize(("what", "report"), _REPORTS)
def test_items_of_the_wrong_kind_are_problems_with_their_index(
    what: str, report: Callable[[Any], object]
) -> None:
    good = opportunity(1) if what == "opportunities" else lead(1)
    wrong = lead(2) if what == "opportunities" else opportunity(2)
    kind = "an Opportunity" if what == "opportunities" else "a Lead"
    # a list: every wrong item at once
    with pytest.raises(ValidationError) as caught:
        report([good, 7, wrong, None])
    assert [(p.path, p.message) for p in caught.value.problems] == [
        (f"$.{what}[1]", f"must be {kind}, got int"),
        (f"$.{what}[2]", f"must be {kind}, got {type(wrong).__name__}"),
        (f"$.{what}[3]", f"must be {kind}, got NoneType"),
    ]
    # any other iterable: from the first wrong item on (a report that lists it first: all)
    with pytest.raises(ValidationError) as caught:
        report(iter([good, "x", 8]))
    paths = [p.path for p in caught.value.problems]
    assert paths in ([f"$.{what}[1]"], [f"$.{what}[1]", f"$.{what}[2]"])


def test_a_long_list_of_wrong_items_is_summarised() -> None:
    with pytest.raises(ValidationError) as caught:
        analytics.forecast(list(range(25)), PIPELINES)
    problems = caught.value.problems
    assert len(problems) == 21
    assert problems[19].path == "$.opportunities[19]"
    assert (problems[20].path, problems[20].message) == (
        "$.opportunities",
        "5 more items are not opportunities",
    )


def test_the_sql_functions_are_deprecated_and_still_agree(tmp_path: Path) -> None:
    storage = _sqlite(tmp_path)
    deals = [opportunity(n) for n in range(3)]
    with storage.unit_of_work() as uow:
        uow.opportunities.save_all(deals)
        uow.commit()
    calls: list[tuple[Callable[..., object], Callable[..., object], dict[str, Any]]] = [
        (sql_analytics.funnel, analytics.funnel, {}),
        (sql_analytics.forecast, analytics.forecast, {"by": "stage"}),
        (sql_analytics.time_in_stages, analytics.time_in_stages, {"as_of": T0}),
        (sql_analytics.stale_deals, analytics.stale_deals, {"as_of": T0}),
        (sql_analytics.sales_metrics, analytics.sales_metrics, {"start": T0, "end": LATER}),
    ]
    with storage.unit_of_work(read_only=True) as uow:
        for old, new, options in calls:
            with pytest.warns(DeprecationWarning, match=r"call pipelinekit\.analytics\."):
                assert old(uow, PIPELINES, **options) == new(deals, PIPELINES, **options)
        with pytest.warns(DeprecationWarning, match="lead_funnel"):
            assert sql_analytics.lead_funnel(uow) == analytics.lead_funnel([])
        with pytest.warns(DeprecationWarning, match="lead_conversion"):
            assert sql_analytics.lead_conversion(uow, PIPELINES) == analytics.lead_conversion(
                [], deals, PIPELINES
            )
    storage.close()
    with memory_storage().unit_of_work() as uow, warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(TypeError, match="SQL storage"):
            sql_analytics.funnel(uow, PIPELINES)


# -- mutants: broken pushdowns the contract must catch ---------------------------------------------


class _Mutant:
    """A SQL unit of work whose ``method`` answers ``mutate(correct rows)``."""

    def __init__(self, inner: Any, method: str, mutate: Callable[[Any], Any]) -> None:
        self._inner = inner
        self._method = method
        self._mutate = mutate
        self.calls: list[str] = []
        self.leads = inner.leads
        self.opportunities = inner.opportunities

    def _answer(self, name: str, *args: Any, **kwargs: Any) -> Any:
        rows = getattr(self._inner, name)(*args, **kwargs)
        if name != self._method:
            return rows
        self.calls.append(name)
        return self._mutate(list(rows))

    def funnel_rows(self, *args: Any, **kwargs: Any) -> Any:
        return self._answer("funnel_rows", *args, **kwargs)

    def forecast_rows(self, *args: Any, **kwargs: Any) -> Any:
        return self._answer("forecast_rows", *args, **kwargs)

    def conversion_rows(self, *args: Any, **kwargs: Any) -> Any:
        return self._answer("conversion_rows", *args, **kwargs)

    def metrics_rows(self, *args: Any, **kwargs: Any) -> Any:
        return self._answer("metrics_rows", *args, **kwargs)

    def stage_visits(self, *args: Any, **kwargs: Any) -> Any:
        return self._answer("stage_visits", *args, **kwargs)

    def stale_deal_rows(self, *args: Any, **kwargs: Any) -> Any:
        return self._answer("stale_deal_rows", *args, **kwargs)


class _MutantStorage(Storage):
    def __init__(self, inner: Storage, method: str, mutate: Callable[[Any], Any]) -> None:
        self._inner, self._method, self._mutate = inner, method, mutate

    def unit_of_work(self, *, read_only: bool = False) -> Any:
        uow = self._inner.unit_of_work(read_only=read_only)
        if not read_only:
            return uow  # the contract saves through a writable one and reports on a read-only one
        return _MutantUnitOfWork(uow, self._method, self._mutate)

    def close(self) -> None:
        self._inner.close()


class _MutantUnitOfWork(_Mutant):
    def __enter__(self) -> _MutantUnitOfWork:
        self._inner.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._inner.__exit__(*exc)


def _rows(mutate_row: Callable[[Any], Any]) -> Callable[[Iterable[Any]], list[Any]]:
    return lambda rows: [r for r in map(mutate_row, rows) if r is not None]


MUTANTS = {
    "lost deals counted as open": (
        "forecast_rows",
        _rows(lambda r: r._replace(kind=StageKind.OPEN) if r.kind is StageKind.LOST else r),
        "forecast",
    ),
    "skipped stages not counted as passed": (
        "funnel_rows",
        _rows(lambda r: r._replace(level=min(r.level, 1)) if r.kind is StageKind.OPEN else r),
        "funnel",
    ),
    "won leads not counted": (
        "conversion_rows",
        _rows(lambda r: r._replace(won=0)),
        "lead_conversion",
    ),
    "sales cycle halved": (
        "metrics_rows",
        _rows(lambda r: r._replace(cycle_us=r.cycle_us // 2)),
        "sales_metrics",
    ),
    "open deals not counted for velocity": (
        "metrics_rows",
        _rows(lambda r: r._replace(open=0)),
        "sales_metrics",
    ),
    "stage visits in milliseconds": (
        "stage_visits",
        _rows(lambda r: r._replace(duration_us=r.duration_us // 1000)),
        "time_in_stages",
    ),
    "overdue deals dropped": (
        "stale_deal_rows",
        lambda rows: rows[1:],
        "stale_deals",
    ),
}


@pytest.mark.parametrize("defect", list(MUTANTS))
def test_the_contract_catches_a_broken_pushdown(defect: str, tmp_path: Path) -> None:
    method, mutate, report = MUTANTS[defect]

    class Broken(AnalyticsContract):
        analytics_settings = settings(
            max_examples=100,
            derandomize=True,
            database=None,
            deadline=None,
            phases=[Phase.generate],  # the first failing example is enough: no shrinking
            suppress_health_check=[HealthCheck.too_slow],
        )

        def make_storage(self) -> Storage:
            return _MutantStorage(_sqlite(tmp_path), method, mutate)

    with pytest.raises(AssertionError, match=rf"^{report}\(.* from a unit of work differs"):
        Broken().test_every_report_agrees_with_the_entities()


# -- mutants of the SQL frame: reports as of a moment must equal the replayed entities -----------


def _no_layers(tables: Any, moment_us: int) -> tuple[Any, Any, Any]:
    """Past probabilities from stage defaults only (probability history ignored)."""
    return sa.null(), sa.null(), sa.literal(False)


def _where_it_began(sub: Any, stages: Any) -> tuple[Any, Any]:
    """A deal counted in the pipeline it began in, whatever it was moved to."""
    stage_ix = sql_analytics._case(sub.c.stage, stages.index, stages.unknown)
    return stage_ix, sa.and_(sub.c.visible, sub.c.first_pipeline == stages.spec.key)


FRAME_MUTANTS = {
    "past probabilities ignore their history": ("_layers_at", _no_layers, "forecast"),
    "deals reported in the pipeline they began in": ("_in_pipeline", _where_it_began, "forecast"),
    "leads that had not moved yet dropped": (
        "funnel_rows",
        _rows(lambda r: None if r.level == 0 and r.pipeline == "lead_lifecycle" else r),
        "lead_funnel",
    ),
}


@pytest.mark.parametrize("defect", list(FRAME_MUTANTS))
def test_the_replay_contract_catches_a_broken_frame(
    defect: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    name, replacement, report = FRAME_MUTANTS[defect]

    class Broken(AnalyticsContract):
        analytics_settings = settings(
            max_examples=100,
            derandomize=True,
            database=None,
            deadline=None,
            phases=[Phase.generate],
            suppress_health_check=[HealthCheck.too_slow],
        )

        def make_storage(self) -> Storage:
            if name.endswith("_rows"):
                return _MutantStorage(_sqlite(tmp_path), name, replacement)
            return _sqlite(tmp_path)

    if not name.endswith("_rows"):
        monkeypatch.setattr(sql_analytics, name, replacement)
    with pytest.raises(AssertionError, match=rf"^{report}\b.* as of .* from a unit of work"):
        Broken().test_reports_as_of_a_moment_equal_reports_over_the_entities_replayed_to_it()
