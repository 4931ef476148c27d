"""The contract: the SQL pushdown gives exactly the in-memory results, on random data."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipelinekit import analytics
from pipelinekit.storage.sql import SqlStorage
from pipelinekit.storage.sql import analytics as sql_analytics

from ._data import PIPELINES, T0, deal_lists, lead_lists, moments

_SETTINGS = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _reset(storage: SqlStorage) -> None:
    tables = storage.tables
    with storage.engine.begin() as conn:
        for table in (
            tables.history["opportunity"],
            tables.history["lead"],
            tables.entities["opportunity"],
            tables.entities["lead"],
        ):
            conn.execute(sa.delete(table))


@_SETTINGS
@given(
    deals=deal_lists(currencies=("EUR", "USD")),
    leads=lead_lists(),
    moment=st.none() | moments,
    by=st.sampled_from([(), ("owner",), ("cohort",), ("source",)]),
    slices=st.sampled_from([("category",), ("stage", "owner"), ("period", "pipeline")]),
)
def test_sql_and_memory_agree(sql_storage, deals, leads, moment, by, slices) -> None:
    storage = sql_storage
    _reset(storage)
    with storage.unit_of_work() as uow:
        uow.leads.save_all(leads)
        uow.opportunities.save_all(deals)
        uow.commit()
    at = moment or T0 + timedelta(days=90)
    start = T0 - timedelta(days=1)
    with storage.unit_of_work(read_only=True) as uow:
        assert sql_analytics.funnel(
            uow, PIPELINES, as_of=moment, by=by, period="week"
        ) == analytics.funnel(deals, PIPELINES, as_of=moment, by=by, period="week", leads=leads)
        assert sql_analytics.forecast(
            uow, PIPELINES, as_of=moment, by=slices, period="quarter"
        ) == analytics.forecast(deals, PIPELINES, as_of=moment, by=slices, period="quarter")
        rates = {"USD": "0.9"}
        assert sql_analytics.forecast(
            uow, PIPELINES, as_of=moment, rates=rates, currency="EUR"
        ) == analytics.forecast(deals, PIPELINES, as_of=moment, rates=rates, currency="EUR")
        assert sql_analytics.lead_funnel(uow, as_of=moment, by=by) == analytics.lead_funnel(
            leads, as_of=moment, by=by
        )
        lead_by = by and (tuple(name for name in by if name != "cohort") or ("cohort",))
        assert sql_analytics.lead_conversion(
            uow, PIPELINES, as_of=moment, by=lead_by
        ) == analytics.lead_conversion(leads, deals, PIPELINES, as_of=moment, by=lead_by)
        assert sql_analytics.sales_metrics(
            uow, PIPELINES, start=start, end=at, by=("owner", "pipeline"), **rates_kw()
        ) == analytics.sales_metrics(
            deals, PIPELINES, start=start, end=at, by=("owner", "pipeline"), **rates_kw()
        )
        assert sql_analytics.time_in_stages(uow, PIPELINES, as_of=at) == analytics.time_in_stages(
            deals, PIPELINES, as_of=at
        )
        assert sql_analytics.stale_deals(uow, PIPELINES, as_of=at) == analytics.stale_deals(
            deals, PIPELINES, as_of=at
        )


def test_lead_conversion_agrees_on_empty_data_and_an_early_moment(sql_storage) -> None:
    storage = sql_storage
    _reset(storage)
    with storage.unit_of_work(read_only=True) as uow:
        for moment in (None, T0 - timedelta(days=365)):
            for by in ((), ("owner",)):
                assert sql_analytics.lead_conversion(
                    uow, PIPELINES, as_of=moment, by=by
                ) == analytics.lead_conversion([], [], PIPELINES, as_of=moment, by=by)


def test_sql_and_memory_name_the_same_missing_rate(sql_storage) -> None:
    import pytest

    from pipelinekit import Money
    from pipelinekit.analytics import MissingRate
    from pipelinekit.testing.contracts.samples import opportunity

    storage = sql_storage
    _reset(storage)
    deals = [
        opportunity(n, amount=Money(Decimal(100 + n), code))
        for n, code in enumerate(("USD", "JPY", "EUR", "GBP", "USD"))
    ]
    with storage.unit_of_work() as uow:
        deals = uow.opportunities.save_all(deals)
        uow.commit()
    named = []
    with storage.unit_of_work(read_only=True) as uow:
        for run in (
            lambda: analytics.forecast(deals, PIPELINES, currency="EUR"),
            lambda: analytics.forecast(list(reversed(deals)), PIPELINES, currency="EUR"),
            lambda: sql_analytics.forecast(uow, PIPELINES, currency="EUR"),
            lambda: sql_analytics.forecast(uow, PIPELINES, rates={"GBP": "1.2"}, currency="EUR"),
        ):
            with pytest.raises(MissingRate) as caught:
                run()
            named.append(caught.value.currency)
    assert named == ["GBP", "GBP", "GBP", "JPY"]


def rates_kw() -> dict[str, object]:
    return {"rates": {"USD": "1.1"}, "currency": "EUR"}


def test_sql_analytics_needs_a_sql_unit_of_work() -> None:
    import pytest

    from pipelinekit.storage import memory_storage

    with memory_storage().unit_of_work() as uow, pytest.raises(TypeError, match="SQL storage"):
        sql_analytics.funnel(uow, PIPELINES)
