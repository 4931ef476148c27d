"""Probability units: a definition declares its unit, every API takes a ``Probability``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelinekit import Money, Probability, ValidationError, analytics
from pipelinekit.pipelines import (
    PipelineBuilder,
    PipelineDefinitionError,
    compile_pipeline,
    loads_pipeline,
)

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
fractions = st.decimals(min_value=0, max_value=1, places=3)


def _toml(unit: str | None, values: list[str], won: str) -> str:
    lines = ['key = "deals"']
    if unit is not None:
        lines.append(f'probability_unit = "{unit}"')
    for index, value in enumerate(values):
        lines += ["[[stages]]", f'key = "s{index}"', f"probability = {value}"]
    lines += ["[[stages]]", 'key = "won"', 'kind = "won"', f"probability = {won}"]
    lines += ["[[stages]]", 'key = "lost"', 'kind = "lost"', "probability = 0"]
    for index in range(len(values)):
        after = f"s{index + 1}" if index + 1 < len(values) else "won"
        lines += ["[[transitions]]", 'event = "advance"', f'source = "s{index}"']
        lines += [f'target = "{after}"']
    lines += ["[[transitions]]", 'event = "lose"', 'source = "*"', 'target = "lost"']
    return "\n".join(lines) + "\n"


@settings(max_examples=60, deadline=None)
@given(st.lists(fractions, min_size=1, max_size=5), st.lists(st.integers(0, 6), max_size=8))
def test_a_fraction_pipeline_forecasts_exactly_like_its_percent_twin(
    values: list[Decimal], walks: list[int]
) -> None:
    in_fractions = loads_pipeline(_toml("fraction", [str(v) for v in values], "1.0"))
    as_percent = [str(Probability.fraction(v).as_percent) for v in values]
    in_percent = loads_pipeline(_toml("percent", as_percent, "100"))
    assert in_fractions == in_percent
    assert in_fractions.version == in_percent.version
    results = []
    for spec in (in_fractions, in_percent):
        pipeline = compile_pipeline(spec)
        deals = []
        for n, steps in enumerate(walks):
            deal = pipeline.open(name=f"D{n}", amount=Money(1000 + n, "EUR"), at=T0).entity
            for _ in range(min(steps, len(values))):
                deal = pipeline.fire(deal, "advance", at=T0 + timedelta(hours=1)).entity
            deals.append(deal)
        results.append(analytics.forecast(deals, [spec], by=("stage",)))
    assert results[0] == results[1]


def test_fractions_without_the_unit_are_refused_naming_probability_unit() -> None:
    with pytest.raises(PipelineDefinitionError) as caught:
        loads_pipeline(_toml(None, ["0.2", "0.6"], "1.0"))
    by_path = {p.path: p.message for p in caught.value.problems}
    assert set(by_path) == {"$.stages[2].probability", "$.probability_unit"}
    assert all("probability_unit = 'fraction'" in m for m in by_path.values())
    # only fractions below 1 look like fractions: a percent pipeline at 0 and 1 % stands
    assert loads_pipeline(_toml(None, ["0", "1"], "100")).stage("s1").probability == 1


def test_percentages_under_the_fraction_unit_are_refused() -> None:
    with pytest.raises(PipelineDefinitionError) as caught:
        loads_pipeline(_toml("fraction", ["20", "0.5"], "100"))
    messages = {p.path: p.message for p in caught.value.problems}
    assert set(messages) == {"$.stages[0].probability", "$.stages[2].probability"}
    assert "looks like a percentage" in messages["$.stages[0].probability"]


def test_the_builder_takes_the_unit_or_probability_values() -> None:
    def build(unit: str | None, first: object) -> Decimal:
        spec = (
            PipelineBuilder("deals", probability_unit=unit)
            .stage("open", probability=first)  # type: ignore[arg-type]
            .stage("won", kind="won")
            .stage("lost", kind="lost")
            .transition("win", "open", "won")
            .transition("lose", "*", "lost")
            .build()
        )
        return spec.stage("open").probability

    assert build("fraction", "0.25") == build(None, 25) == 25
    assert build("fraction", Probability.percent(25)) == build(None, Probability.fraction("0.25"))


@given(st.decimals(min_value=0, max_value=1, places=6))
def test_probability_units_round_trip_exactly(value: Decimal) -> None:
    made = Probability.fraction(value)
    assert made.as_fraction == value
    assert made == Probability.percent(made.as_percent)
    assert Probability.of(str(value), "fraction") == made


@pytest.mark.parametrize(
    ("value", "unit", "path"),
    [(101, "percent", "$.value"), ("1.5", "fraction", "$.value"), (1, "ppm", "$.unit")],
)
def test_out_of_range_probabilities_are_refused(value: object, unit: str, path: str) -> None:
    with pytest.raises(ValidationError) as caught:
        Probability.of(value, unit)  # type: ignore[arg-type]
    assert caught.value.paths == (path,)
