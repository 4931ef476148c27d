from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from pipelinekit import Company, Lead, Money, Person
from pipelinekit.pipelines import Pipeline, lead_lifecycle, sales_pipeline

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def at(days: float) -> datetime:
    return T0 + timedelta(days=days)


@pytest.fixture
def sales() -> Pipeline:
    return sales_pipeline()


@pytest.fixture
def lifecycle() -> Pipeline:
    return lead_lifecycle()


@pytest.fixture
def lead() -> Lead:
    return Lead.create(
        contact=Person.of("Ada Lovelace", email="ada@example.com"),
        company=Company("Analytical Engines Ltd"),
        owner="ana",
        tags={"webinar"},
        custom={"plan": "pro", "seats": 12},
        at=T0,
    )


@pytest.fixture
def amount() -> Money:
    return Money(5000, "EUR")
