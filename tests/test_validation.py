"""One validation path: the machinery, and every loader reporting the same way."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs
import pytest

from pipelinekit import ValidationError, from_dict
from pipelinekit.domain import Company
from pipelinekit.pipelines import PipelineDefinitionError, pipeline_from_dict
from pipelinekit.qualification import build
from pipelinekit.validation import Invalid, Structurer, structure, unknown_field


@attrs.frozen(kw_only=True)
class Band:
    low: Decimal
    high: Decimal | None = None


@attrs.frozen(kw_only=True)
class Settings:
    name: str
    size: int = 1
    ratio: Decimal | None = None
    bands: tuple[Band, ...] = ()
    pair: tuple[int, int] = (0, 0)
    weights: dict[str, Decimal] = attrs.field(factory=dict)
    tags: frozenset[str] = frozenset()
    section: str = attrs.field(default="x", metadata={"key": "class"})


def _problems(data: Any) -> dict[str, str]:
    with pytest.raises(ValidationError) as caught:
        structure(data, Settings)
    return {p.path: p.message for p in caught.value.problems}


def test_every_problem_is_reported_at_once_with_its_path() -> None:
    found = _problems(
        {
            "nmae": "x",
            "size": "many",
            "ratio": 0.5,
            "bands": [{"low": 1}, {"low": "lots", "hihg": 2}],
            "pair": [1],
            "weights": {"a": "1.5", "b": "heavy"},
            "tags": ["ok", 7],
            "class": 3,
        }
    )
    assert found == {
        "$.name": "is required",
        "$.nmae": "unknown field 'nmae'; did you mean 'name'?",
        "$.size": "must be a whole number, got a string",
        "$.ratio": "must be a decimal string like '12.50' (floats are inexact)",
        "$.bands[1].low": "must be a decimal number, got 'lots'",
        "$.bands[1].hihg": "unknown field 'hihg'; did you mean 'high'?",
        "$.pair": "must be a list of 2 items, got a list",
        "$.weights.b": "must be a decimal number, got 'heavy'",
        "$.tags[1]": "must be a string, got a number",
        "$.class": "must be a string, got a number",
    }


def test_valid_data_is_structured_into_exact_types() -> None:
    settings = structure(
        {"name": "n", "ratio": "0.5", "bands": [{"low": 1, "high": None}], "class": "y"}, Settings
    )
    assert settings.ratio == Decimal("0.5")
    assert settings.bands == (Band(low=Decimal(1)),)
    assert settings.section == "y"


def test_salvage_keeps_the_valid_fields_for_later_checks() -> None:
    good, problems = Structurer().salvage({"name": "n", "size": "x", "extra": 1}, Settings, "$.s")
    assert good == {"name": "n"}
    assert [p.path for p in problems] == ["$.s.size", "$.s.extra"]
    assert Structurer().salvage([], Settings)[1][0].message == "must be a mapping, got a list"


def test_hooks_raise_invalid_for_a_value_or_below_it() -> None:
    def parse(value: Any) -> Band:
        if not isinstance(value, str):
            raise Invalid("must be written as 'low-high'")
        low, _, high = value.partition("-")
        if not high.isdigit():
            raise Invalid("must be a number", at="high")
        return Band(low=Decimal(low), high=Decimal(high))

    structurer = Structurer()
    structurer.register(Band, parse)
    assert structurer.structure({"name": "n", "bands": ["1-2"]}, Settings).bands[0].high == 2
    _, problems = structurer.problems({"name": "n", "bands": ["1-x", 3]}, Settings)
    assert [(p.path, p.message) for p in problems] == [
        ("$.bands[0].high", "must be a number"),
        ("$.bands[1]", "must be written as 'low-high'"),
    ]


def test_suggestions_name_the_nearest_field_or_list_them_all() -> None:
    assert unknown_field("colour", ["color", "size"]) == (
        "unknown field 'colour'; did you mean 'color'?"
    )
    assert unknown_field("zzz", ["b", "a"]) == "unknown field 'zzz'; expected one of a, b"


def _message(error: ValidationError | PipelineDefinitionError, path: str) -> str:
    return next(p.message for p in error.problems if p.path == path)


def test_every_loader_reports_a_misspelt_key_in_the_same_words(tmp_path: Path) -> None:
    from pipelinekit.cli.settings import ConfigError, load_settings

    with pytest.raises(ValidationError) as entity:
        from_dict(Company, {"name": "Acme", "employes": 3})
    stages = [{"key": "a", "lable": "A"}, {"key": "w", "kind": "won"}, {"key": "l", "kind": "lost"}]
    with pytest.raises(PipelineDefinitionError) as pipeline:
        pipeline_from_dict({"key": "p", "stages": stages, "transitions": []})
    with pytest.raises(ValidationError) as qualifier:
        build({"kind": "bant", "polcy": "sum"})
    (tmp_path / "pipelinekit.toml").write_text('dbb = "x.db"\n')
    with pytest.raises(ConfigError) as settings:
        load_settings(environ={}, cwd=tmp_path)
    assert _message(entity.value, "$.employes") == (
        "unknown field 'employes'; did you mean 'employees'?"
    )
    assert _message(pipeline.value, "$.stages[0].lable") == (
        "unknown field 'lable'; did you mean 'label'?"
    )
    assert _message(qualifier.value, "$.polcy") == "unknown field 'polcy'; did you mean 'policy'?"
    assert settings.value.problems[0].message == "unknown field 'dbb'; did you mean 'db'?"


def test_every_loader_reports_a_wrong_type_in_the_same_words(tmp_path: Path) -> None:
    from pipelinekit.cli.settings import ConfigError, load_settings

    with pytest.raises(ValidationError) as entity:
        from_dict(Company, {"name": "Acme", "employees": "many"})
    stages = [{"key": "a", "order": "first"}, {"key": "w", "kind": "won"}]
    with pytest.raises(PipelineDefinitionError) as pipeline:
        pipeline_from_dict({"key": "p", "stages": stages, "transitions": []})
    with pytest.raises(ValidationError) as qualifier:
        build({"kind": "bant", "k": "three"})
    (tmp_path / "pipelinekit.toml").write_text('[import]\nbatch_size = "many"\n')
    with pytest.raises(ConfigError) as settings:
        load_settings(environ={}, cwd=tmp_path)
    expected = "must be a whole number, got a string"
    assert _message(entity.value, "$.employees") == expected
    assert _message(pipeline.value, "$.stages[0].order") == expected
    assert _message(qualifier.value, "$.k") == expected
    assert settings.value.problems[0].message == expected
