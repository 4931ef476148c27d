"""The pipeline report of a unit of work: computed by the database, equal to the in-memory one."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from pipelinekit import Lead, ValidationError
from pipelinekit.analytics import pipeline_report
from pipelinekit.analytics.ports import ReportQueries
from pipelinekit.storage import Storage, memory_storage
from pipelinekit.storage.sql import sqlite_storage
from pipelinekit.testing.contracts.samples import at, lead, opportunity, result

# equal as floats (the indexed score), not as the exact scores they are
HIGH = Decimal("33.33333333333333333333333334")
LOW = Decimal("33.33333333333333333333333333")


@pytest.fixture(params=["sqlite", "memory"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Storage]:
    made = sqlite_storage(tmp_path / "db.sqlite") if request.param == "sqlite" else memory_storage()
    yield made
    made.close()


def _store(storage: Storage, leads: list[Lead], deals: list[Any]) -> None:
    with storage.unit_of_work() as uow:
        uow.leads.save_all(leads)
        uow.opportunities.save_all(deals)
        uow.commit()


def _not_iterated(uow: Any) -> None:
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the report read the entities one by one")

    uow.leads.iterate = refuse
    uow.opportunities.iterate = refuse


@pytest.mark.parametrize("top", [1, 2, 3, 5])
def test_scores_equal_only_as_floats_rank_by_their_exact_value(storage: Storage, top: int) -> None:
    # ids in the opposite order of the exact scores: ranking by id among float ties is wrong
    leads = [
        lead(1, qualification=result(LOW)),
        lead(2, qualification=result(HIGH)),
        lead(3, qualification=result(LOW)),
        lead(4, qualification=result(HIGH)),
        lead(5, qualification=result(10)),
    ]
    _store(storage, leads, [opportunity(1, lead_id=leads[0].id)])
    with storage.unit_of_work(read_only=True) as uow:
        stored = pipeline_report(uow, top=top)
        expected = pipeline_report(leads, [opportunity(1, lead_id=leads[0].id)], top=top)
    assert stored == expected
    ranked = sorted(leads, key=lambda x: (-x.qualification.score, x.id))  # type: ignore[union-attr]
    assert [t.lead_id for t in stored.top_leads] == [x.id for x in ranked[:top]]


def test_sql_storage_reports_without_reading_the_entities(tmp_path: Path) -> None:
    storage = sqlite_storage(tmp_path / "db.sqlite")
    leads = [lead(n, qualification=result(n * 10)) for n in range(8)]
    deals = [opportunity(n, lead_id=leads[n].id) for n in range(3)]
    _store(storage, leads, deals)
    with storage.unit_of_work(read_only=True) as uow:
        assert isinstance(uow, ReportQueries)
        _not_iterated(uow)
        report = pipeline_report(uow, top=3)
    storage.close()
    assert report == pipeline_report(leads, deals, top=3)
    assert (report.leads, report.opportunities) == (8, 3)
    assert report.as_of == max(x.updated_at for x in [*leads, *deals])


def test_the_latest_change_and_counts_of_an_empty_storage(storage: Storage) -> None:
    with storage.unit_of_work(read_only=True) as uow:
        report = pipeline_report(uow, top=3)
    assert report == pipeline_report([], [], top=3)
    assert report.as_of is None
    assert report.top_leads == ()


def test_a_unit_of_work_with_opportunities_or_entities_without_them_are_refused(
    storage: Storage,
) -> None:
    with storage.unit_of_work(read_only=True) as uow, pytest.raises(ValidationError) as refused:
        pipeline_report(uow, [], top=3)  # type: ignore[call-overload]
    assert refused.value.problems[0].path == "$.opportunities"
    with pytest.raises(ValidationError) as missing:
        pipeline_report([lead(1)], top=3)  # type: ignore[call-overload]
    assert missing.value.problems[0].path == "$.opportunities"


def test_a_later_moment_is_recorded_as_given(storage: Storage) -> None:
    _store(storage, [lead(1, qualification=result(20))], [])
    with storage.unit_of_work(read_only=True) as uow:
        assert pipeline_report(uow, as_of=at(10_000)).as_of == at(10_000)
