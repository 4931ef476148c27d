"""Stages a pipeline does not know: every report refuses them with paths, or skips and counts.

In memory (entities as a list), over a storage read entity by entity, and over
SQL pushdown (SQLite, PostgreSQL) the answer is the same: the same problems
(paths naming the opportunity and the field), or the same report with the same
``skipped`` count as the report of the clean opportunities alone.
"""

from __future__ import annotations

import itertools
import tempfile
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipelinekit import Opportunity, ValidationError, analytics
from pipelinekit.storage import Storage, memory_storage
from pipelinekit.testing.contracts.samples import opportunity

from ._data import PIPELINES, T0, deal_lists

_names = itertools.count()
AS_OF = T0 + timedelta(days=90)
GHOST = "ghost_stage"

REPORTS: dict[str, Callable[..., Any]] = {
    "funnel": lambda src, **kw: analytics.funnel(src, PIPELINES, **kw),
    "funnel as of": lambda src, **kw: analytics.funnel(src, PIPELINES, as_of=AS_OF, **kw),
    "forecast": lambda src, **kw: analytics.forecast(src, PIPELINES, by=("stage",), **kw),
    "forecast as of": lambda src, **kw: analytics.forecast(src, PIPELINES, as_of=AS_OF, **kw),
    "sales_metrics": lambda src, **kw: analytics.sales_metrics(
        src, PIPELINES, start=T0 - timedelta(days=1), end=AS_OF, **kw
    ),
    "time_in_stages": lambda src, **kw: analytics.time_in_stages(src, PIPELINES, as_of=AS_OF, **kw),
    "stale_deals": lambda src, **kw: analytics.stale_deals(src, PIPELINES, as_of=AS_OF, **kw),
}


def _corrupt(deal: Opportunity, where: int) -> Opportunity:
    """``deal`` naming a stage its pipeline lacks: now (0), or in its history (1)."""
    if where == 0 or not deal.history:
        return deal.evolve(stage=GHOST)
    history = list(deal.history)
    history[0] = attrs.evolve(history[0], to_stage=GHOST)
    return deal.evolve(history=tuple(history))


def _paths(error: ValidationError) -> list[str]:
    return [p.path for p in error.problems]


def _sqlite() -> Storage:
    from pipelinekit.storage.sql import sqlite_storage

    return sqlite_storage(Path(tempfile.mkdtemp()) / f"unknown-{next(_names)}.db")


def _stored(make: Callable[[], Storage], deals: list[Opportunity]) -> Storage:
    storage = make()
    with storage.unit_of_work() as uow:
        uow.opportunities.save_all(deals)
        uow.commit()
    return storage


@pytest.fixture(
    params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)],
)
def make_storage(request: pytest.FixtureRequest) -> Iterator[Callable[[], Storage]]:
    if request.param == "memory":
        yield memory_storage
    elif request.param == "sqlite":
        yield _sqlite
    else:
        yield from _postgres()


def _postgres() -> Iterator[Callable[[], Storage]]:
    """Storages in a throwaway PostgreSQL schema (``PIPELINEKIT_POSTGRES_URL``)."""
    import os
    import uuid

    import sqlalchemy as sa

    from pipelinekit.storage import StorageError
    from pipelinekit.storage.sql import postgres_storage

    url = os.environ.get(
        "PIPELINEKIT_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    )
    schema = f"pk_unknown_{uuid.uuid4().hex[:12]}"
    try:
        postgres_storage(url, schema=schema).close()
        with postgres_storage(url, schema=schema).unit_of_work(read_only=True):
            pass
    except StorageError as error:
        if os.environ.get("PIPELINEKIT_REQUIRE_POSTGRES"):
            pytest.fail(f"no PostgreSQL server: {error}")
        pytest.skip(f"no PostgreSQL server: {error}")
    try:
        yield lambda: postgres_storage(url, schema=schema, prefix=f"u{next(_names)}_")
    finally:
        engine = sa.create_engine(url)
        with engine.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        engine.dispose()


@pytest.mark.parametrize("report", list(REPORTS))
def test_an_unknown_stage_is_refused_with_the_opportunity_and_field_in_the_path(
    report: str,
) -> None:
    deals = [opportunity(1), _corrupt(opportunity(2), 0), opportunity(3)]
    with pytest.raises(ValidationError) as caught:
        REPORTS[report](deals)
    assert _paths(caught.value) == ["$.opportunities[1].stage"]
    assert GHOST in str(caught.value)
    assert deals[1].id in str(caught.value)
    assert "'sales'" in str(caught.value)


def test_every_unknown_stage_is_reported_at_once() -> None:
    deals = [_corrupt(opportunity(0), 0), opportunity(1), _corrupt(opportunity(2), 1)]
    with pytest.raises(ValidationError) as caught:
        analytics.forecast(deals, PIPELINES)
    assert _paths(caught.value) == [
        "$.opportunities[0].stage",
        "$.opportunities[2].history[0].to_stage",
    ]


def test_skip_leaves_them_out_and_counts_them() -> None:
    clean = [opportunity(1), opportunity(3)]
    deals = [clean[0], _corrupt(opportunity(2), 1), clean[1]]
    for name, report in REPORTS.items():
        skipped = report(deals, unknown_stages="skip")
        assert skipped.skipped == 1, name
        assert skipped == attrs.evolve(report(clean), skipped=1), name
        assert report(clean, unknown_stages="skip").skipped == 0, name


def test_opportunities_of_other_pipelines_are_not_looked_at() -> None:
    elsewhere = opportunity(1, pipeline="renewals", stage=GHOST)
    assert analytics.forecast([elsewhere], PIPELINES).skipped == 0


def test_a_bad_mode_is_refused_with_its_path() -> None:
    with pytest.raises(ValidationError) as caught:
        analytics.forecast([], PIPELINES, unknown_stages="ignore")  # type: ignore[arg-type]
    assert _paths(caught.value) == ["$.unknown_stages"]


def test_a_storage_names_the_opportunity_by_id(make_storage: Callable[[], Storage]) -> None:
    bad = _corrupt(opportunity(2), 1)
    storage = _stored(make_storage, [opportunity(1), bad, _corrupt(opportunity(4), 0)])
    try:
        with storage.unit_of_work(read_only=True) as uow:
            for name, report in REPORTS.items():
                with pytest.raises(ValidationError) as caught:
                    report(uow)
                assert len(_paths(caught.value)) == 2, name
                assert f"$.opportunities[{bad.id!r}].history[0].to_stage" in _paths(caught.value)
    finally:
        storage.close()


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    deals=deal_lists(max_size=8),
    picks=st.lists(st.tuples(st.integers(0, 7), st.integers(0, 1)), max_size=3),
)
def test_memory_and_sql_pushdown_agree_on_unknown_stages(
    deals: list[Opportunity], picks: list[tuple[int, int]]
) -> None:
    bad: dict[int, Opportunity] = {}
    for index, where in picks:
        if index < len(deals):
            bad[index] = _corrupt(deals[index], where)
    mixed = [bad.get(i, deal) for i, deal in enumerate(deals)]
    clean = [deal for i, deal in enumerate(deals) if i not in bad]
    storages = [_stored(memory_storage, mixed), _stored(_sqlite, mixed)]
    try:
        for name, report in REPORTS.items():
            expected = report(clean)
            if bad:
                expected = attrs.evolve(expected, skipped=len(bad))
            assert report(mixed, unknown_stages="skip") == expected, name
            refused: list[list[str]] = []
            for storage in storages:
                with storage.unit_of_work(read_only=True) as uow:
                    assert report(uow, unknown_stages="skip") == expected, name
                    try:
                        report(uow)
                    except ValidationError as error:
                        refused.append(sorted(_paths(error)))
            if bad:
                assert len(refused) == 2, name
                assert refused[0] == refused[1], name
                assert {p.split("]")[0] + "]" for p in refused[0]} == {
                    f"$.opportunities[{d.id!r}]" for d in bad.values()
                }
            else:
                assert refused == [], name
    finally:
        for storage in storages:
            storage.close()


def _leaves_a_ghost(deal: Opportunity) -> Opportunity:
    """``deal`` whose first recorded move leaves a stage its pipeline lacks."""
    history = list(deal.history)
    history[0] = attrs.evolve(history[0], from_stage=GHOST)
    return deal.evolve(history=tuple(history))


def _moved_away(deal: Opportunity) -> Opportunity:
    """``deal`` now in a pipeline no report asks about, its history in sales naming a ghost."""
    history = list(deal.history)
    history[-1] = attrs.evolve(history[-1], to_stage=GHOST)
    return deal.evolve(pipeline="renewals", stage="anything", history=tuple(history))


CASES: dict[str, tuple[Callable[[Opportunity], Opportunity], str]] = {
    "only the current stage": (lambda d: _corrupt(d, 0), "stage"),
    "only a stage in the history": (lambda d: _corrupt(d, 1), "history[0].to_stage"),
    "only the stage the first move left": (_leaves_a_ghost, "history[0].from_stage"),
    "a history row in a report's pipeline, now elsewhere": (_moved_away, "history[1].to_stage"),
}


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("report", ["funnel", "forecast", "funnel as of"])
def test_where_the_unknown_stage_is_found_is_the_same_in_memory_and_in_each_storage(
    case: str, report: str, make_storage: Callable[[], Storage]
) -> None:
    corrupt, where = CASES[case]
    bad = corrupt(opportunity(2))
    clean = [opportunity(1), opportunity(3)]
    deals = [clean[0], bad, clean[1]]
    run = REPORTS[report]
    with pytest.raises(ValidationError) as in_memory:
        run(deals)
    assert _paths(in_memory.value) == [f"$.opportunities[1].{where}"]
    expected = attrs.evolve(run(clean), skipped=1)
    assert run(deals, unknown_stages="skip") == expected
    storage = _stored(make_storage, deals)
    try:
        with storage.unit_of_work(read_only=True) as uow:
            with pytest.raises(ValidationError) as stored:
                run(uow)
            assert _paths(stored.value) == [f"$.opportunities[{bad.id!r}].{where}"]
            assert run(uow, unknown_stages="skip") == expected
    finally:
        storage.close()


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_the_deprecated_sql_functions_pass_unknown_stages_through() -> None:
    from pipelinekit.storage.sql import analytics as sql_analytics

    deals = [opportunity(1), _corrupt(opportunity(2), 1)]
    storage = _stored(_sqlite, deals)
    old: dict[str, Callable[..., Any]] = {
        "funnel": lambda uow, **kw: sql_analytics.funnel(uow, PIPELINES, **kw),
        "forecast": lambda uow, **kw: sql_analytics.forecast(uow, PIPELINES, **kw),
        "sales_metrics": lambda uow, **kw: sql_analytics.sales_metrics(
            uow, PIPELINES, start=T0 - timedelta(days=1), end=AS_OF, **kw
        ),
        "time_in_stages": lambda uow, **kw: sql_analytics.time_in_stages(
            uow, PIPELINES, as_of=AS_OF, **kw
        ),
        "stale_deals": lambda uow, **kw: sql_analytics.stale_deals(
            uow, PIPELINES, as_of=AS_OF, **kw
        ),
    }
    try:
        with storage.unit_of_work(read_only=True) as uow:
            for name, report in old.items():
                assert report(uow, unknown_stages="skip").skipped == 1, name
                with pytest.raises(ValidationError):
                    report(uow)
    finally:
        storage.close()
