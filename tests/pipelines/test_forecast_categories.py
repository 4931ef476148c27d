"""Forecast categories as data: the built-in set, categories a pipeline declares, and
analytics totalling by category alike in memory and SQL."""

from __future__ import annotations

import itertools
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelinekit import Money, analytics
from pipelinekit.pipelines import (
    BUILTIN_FORECAST_CATEGORIES,
    PipelineDefinitionError,
    compile_pipeline,
    dumps_pipeline,
    forecast_category,
    loads_pipeline,
    pipeline_from_dict,
)
from pipelinekit.storage.sql import sqlite_storage

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
DECLARED = [
    {"name": "upside", "label": "Upside", "order": 3},
    {"name": "signed", "label": "Signed", "order": 9, "closed": True},
]
NAMES = [c.name for c in BUILTIN_FORECAST_CATEGORIES] + [c["name"] for c in DECLARED]


def test_the_built_in_set_and_the_crm_names() -> None:
    assert {c.name for c in BUILTIN_FORECAST_CATEGORIES} == {
        "pipeline", "best_case", "commit", "most_likely", "closed", "omitted",
    }  # fmt: skip
    assert [c.name for c in BUILTIN_FORECAST_CATEGORIES if c.closed] == ["closed"]
    for crm, ours in {
        "BestCase": "best_case",
        "Best Case": "best_case",
        "Forecast": "commit",
        "Commit": "commit",
        "MostLikely": "most_likely",
        "Omitted": "omitted",
        "Pipeline": "pipeline",
        "Closed": "closed",
    }.items():
        assert forecast_category(crm) == ours
    assert forecast_category("Maybe") is None


def _spec(categories: list[str]):  # type: ignore[no-untyped-def]
    stages = [
        {"key": f"s{i}", "probability": 10 * (i + 1), "forecast": c}
        for i, c in enumerate(categories)
    ]
    stages += [{"key": "won", "kind": "won"}, {"key": "lost", "kind": "lost"}]
    keys = [s["key"] for s in stages[:-2]]
    transitions = [{"event": "go", "source": a, "target": b} for a, b in itertools.pairwise(keys)]
    transitions += [
        {"event": "win", "source": keys[-1], "target": "won"},
        {"event": "lose", "source": "*", "target": "lost"},
    ]
    return pipeline_from_dict(
        {
            "key": "deals",
            "forecast_categories": DECLARED,
            "stages": stages,
            "transitions": transitions,
        }
    )


@settings(max_examples=15, deadline=None)
@given(
    st.lists(st.sampled_from(NAMES), min_size=1, max_size=5),
    st.lists(st.integers(0, 6), min_size=1, max_size=8),
)
def test_forecast_by_category_agrees_in_memory_and_sql(
    categories: list[str], walks: list[int]
) -> None:
    spec = _spec(categories)
    assert loads_pipeline(dumps_pipeline(spec)) == spec
    pipeline = compile_pipeline(spec)
    deals = []
    for n, steps in enumerate(walks):
        deal = pipeline.open(name=f"D{n}", amount=Money(100 * (n + 1), "EUR"), at=T0).entity
        for _ in range(steps):
            events = [e for e in pipeline.available_events(deal) if e != "lose"]
            if not events:
                break
            deal = pipeline.fire(deal, events[0], at=T0 + timedelta(days=1)).entity
        deals.append(deal)
    memory = analytics.forecast(deals, [pipeline], by=("category",))
    # each open deal's weight lands in its stage's category
    for line in memory.lines:
        wanted = [d for d in deals if d.is_open and spec.stage(d.stage).forecast == line.key[0]]
        assert line.open_deals == len(wanted)
        assert line.weighted == sum(
            (d.amount.amount * d.probability / 100 for d in wanted if d.amount), 0
        )
    with tempfile.TemporaryDirectory() as folder:
        storage = sqlite_storage(Path(folder) / "f.db")
        with storage.unit_of_work() as uow:
            uow.opportunities.save_all(deals)
            uow.commit()
        with storage.unit_of_work(read_only=True) as uow:
            assert analytics.forecast(uow, [pipeline], by=("category",)) == memory
        storage.close()


def test_declared_categories_are_ordered_and_checked() -> None:
    spec = _spec(["upside", "commit"])
    assert [c.name for c in spec.categories] == [
        "omitted", "pipeline", "best_case", "most_likely", "upside", "commit", "closed", "signed",
    ]  # fmt: skip
    with pytest.raises(PipelineDefinitionError) as caught:
        pipeline_from_dict(
            {
                "key": "deals",
                "forecast_categories": [
                    {"name": "Up Side", "label": "x", "order": 1},
                    {"name": "later", "label": " ", "order": 2},
                ],
                "stages": [
                    {"key": "a", "forecast": "BestCase"},
                    {"key": "won", "kind": "won"},
                    {"key": "lost", "kind": "lost"},
                ],
                "transitions": [
                    {"event": "win", "source": "a", "target": "won"},
                    {"event": "lose", "source": "a", "target": "lost"},
                ],
            }
        )
    assert caught.value.paths == (
        "$.stages[0].forecast",
        "$.forecast_categories[0].name",
        "$.forecast_categories[1].label",
    )
    assert "did you mean 'best_case'?" in caught.value.problems[0].message
